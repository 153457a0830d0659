//! LAN devices: who is on the network and which of them are cameras.
//!
//! Every policy in camguard hinges on knowing which device is a camera, so classification gives
//! a class, a confidence and the reasons a person can check ("OUI 4C:BD:8F is Hikvision").
pub mod classify;
pub mod credentials;
pub mod digest;
pub mod guard;
pub mod inventory;
pub mod neighbours;
pub mod oui;
pub mod probe;
pub mod seen;
pub mod statefile;
pub mod wire;

pub use classify::{classify, Classification, Confidence, Evidence};
pub use guard::{LanGuard, LanPrefix};
pub use inventory::{Device, Inventory, LanObservations};

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
