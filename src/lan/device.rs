//! One LAN device as camguard knows it: its addresses and names, where it was seen, and what
//! kind of device it is with the reasons. Built by [`crate::facts::Inventory`].
use std::net::IpAddr;

use serde::Serialize;

use super::DeviceClass;
use crate::mac::Mac;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub class: DeviceClass,
    pub confidence: Confidence,
    /// The vendor, when the OUI or a hostname names one.
    pub vendor: Option<String>,
    /// Sentences a person can check, strongest first.
    pub reasons: Vec<String>,
    /// Evidence against a camera-like class (an OUI of a computer maker, a hostname naming
    /// another kind of device): the default-password check sends such a device no login.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contradictions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub mac: Option<Mac>,
    pub ips: Vec<IpAddr>,
    /// Cleaned (LAN-controlled, except static host names).
    pub hostnames: Vec<String>,
    /// Where camguard saw it: "DHCP lease", "static host", "host hint", "neighbour table",
    /// "UPnP mapping", "port forward".
    pub seen_in: Vec<&'static str>,
    /// Unix time camguard first saw it on the network; None when it never was (a static host
    /// that has not connected) or it has no MAC to remember it by.
    pub first_seen: Option<u64>,
    /// Unix time it was last on the network (now, when it is).
    pub last_seen: Option<u64>,
    /// On the network at the snapshot's time: a live DHCP lease, a neighbour-table entry that
    /// is not permanent, or an active UPnP mapping. Static hosts, host hints and forwards are
    /// configuration, not presence.
    #[serde(skip)]
    pub present: bool,
    #[serde(flatten)]
    pub classification: Classification,
    /// [`Device::describe`], computed once: findings quote it for every mapping and forward.
    #[serde(skip)]
    description: String,
}

impl Device {
    /// A device record, for callers that build one without a snapshot (tests, tools).
    pub fn new(
        mac: Option<Mac>,
        ips: Vec<IpAddr>,
        hostnames: Vec<String>,
        seen_in: Vec<&'static str>,
        classification: Classification,
    ) -> Device {
        let mut device = Device {
            mac,
            ips,
            hostnames,
            seen_in,
            first_seen: None,
            last_seen: None,
            present: false,
            classification,
            description: String::new(),
        };
        device.description = device.compose_description();
        device
    }

    /// The name people know it by: its first hostname, else its address.
    pub fn display_name(&self) -> String {
        if let Some(h) = self.hostnames.first() {
            return h.clone();
        }
        match (self.ips.first(), self.mac) {
            (Some(ip), _) => ip.to_string(),
            (None, Some(mac)) => mac.to_string(),
            (None, None) => "unknown device".into(),
        }
    }

    /// "Dahua NVR/DVR \"dvr-garage\" (192.168.1.64, 3c:ef:8c:00:00:01)" — for finding texts.
    pub fn describe(&self) -> &str {
        &self.description
    }

    fn compose_description(&self) -> String {
        let c = &self.classification;
        let mut what = match (&c.vendor, c.class.is_camera_like()) {
            (Some(v), true) => format!("{v} {}", c.class.label()),
            (None, true) => c.class.label().to_owned(),
            (Some(v), false) => format!("{v} device"),
            (None, false) => "device".to_owned(),
        };
        if let Some(h) = self.hostnames.first() {
            what.push_str(&format!(" \"{h}\""));
        }
        let mut ids: Vec<String> = self.ips.iter().take(1).map(ToString::to_string).collect();
        ids.extend(self.mac.map(|m| m.to_string()));
        if !ids.is_empty() {
            what.push_str(&format!(" ({})", ids.join(", ")));
        }
        what
    }
}
