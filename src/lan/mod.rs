//! The LAN model: devices, their classes and what camguard observed of them. Data only — no
//! I/O and no judgement: [`crate::facts`] builds the inventory and classifies over it, the read
//! stage fills the observations, the probe produces probe reports.
//!
//! Every policy in camguard hinges on knowing which device is a camera, so a classification
//! carries a class, a confidence and the reasons a person can check ("OUI 4C:BD:8F is
//! Hikvision").
pub mod conntrack;
pub mod credentials;
mod device;
mod error;
mod neighbour;
mod probe;
pub mod seen;

pub use conntrack::{Conntrack, Flow};
pub use credentials::CredState;
pub use device::{Classification, Confidence, Device};
pub use error::{StateFile, StateFileError};
pub use neighbour::{NeighState, Neighbour};
pub use probe::with_announcements;
pub use probe::{
    DeviceInfo, ProbeReport, Service, ServiceKind, VendorHint, ANSWERS_ON, HTTP_PORTS,
    INFO_MAX_CHARS, PROBE_INTERVAL_SECS, RTSP_PORTS,
};
pub use seen::SeenRecord;

use serde::Serialize;

/// What kind of device this is, as far as camguard's policies care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    Camera,
    Doorbell,
    BabyMonitor,
    /// Network/digital video recorders: they aggregate camera streams and are targeted alike.
    Nvr,
    Other,
}

impl DeviceClass {
    /// Cameras, doorbells, baby monitors and NVR/DVRs: everything the camera policies cover.
    pub fn is_camera_like(self) -> bool {
        self != DeviceClass::Other
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            DeviceClass::Camera => "camera",
            DeviceClass::Doorbell => "video doorbell",
            DeviceClass::BabyMonitor => "baby monitor",
            DeviceClass::Nvr => "NVR/DVR",
            DeviceClass::Other => "device",
        }
    }

    /// Parses the owner's `option class` in /etc/config/camguard and the JSON names.
    pub fn from_name(s: &str) -> Option<DeviceClass> {
        Some(match s {
            "camera" => DeviceClass::Camera,
            "doorbell" => DeviceClass::Doorbell,
            "baby_monitor" => DeviceClass::BabyMonitor,
            "nvr" | "dvr" => DeviceClass::Nvr,
            "other" => DeviceClass::Other,
            _ => return None,
        })
    }
}

/// What camguard knows about the LAN beyond the configs and lease files: read with the rest of
/// the snapshot, except the probe reports, which the daemon keeps between reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LanObservations {
    /// Neighbour-table entries on LAN interfaces ([`crate::formats::neighbours::on_interfaces`]).
    pub neighbours: Vec<Neighbour>,
    /// The latest camera-port probe of each address: the daemon's, completed with those of
    /// the seen-devices file.
    pub probes: Vec<ProbeReport>,
    /// The probe reports as the seen-devices file holds them: the daemon rewrites the file
    /// when [`Self::probes`] differ.
    #[serde(skip)]
    pub saved_probes: Vec<ProbeReport>,
    /// First/last-seen history from the state file ([`seen`]).
    pub seen: Vec<SeenRecord>,
    /// Connections to vendor clouds and P2P relays from `/proc/net/nf_conntrack`; None when the
    /// table was not there to read (no conntrack module, an offline root without it).
    pub conntrack: Option<Conntrack>,
    /// The default-password check's state file, when `credential_check` is on: the audit
    /// reports `camera.default_credentials` from it
    /// ([`crate::audit`]) without any network I/O.
    pub credentials: Option<CredState>,
}
