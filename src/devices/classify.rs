//! Device classification (placeholder until the classifier lands).
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

/// What is known about one device.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    pub mac: Option<Mac>,
    /// DHCP hostnames, static host names and host hints, already cleaned.
    pub hostnames: Vec<&'a str>,
    /// Ports the device is known to serve, with where that was seen ("UPnP mapping",
    /// "port forward", "answers on"), e.g. (554, "UPnP mapping").
    pub service_ports: Vec<(u16, &'a str)>,
    /// The owner's `option class` for this MAC in /etc/config/camguard: always wins.
    pub owner_class: Option<DeviceClass>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub class: DeviceClass,
    pub confidence: Confidence,
    /// The vendor, when the OUI or a hostname names one.
    pub vendor: Option<String>,
    /// Sentences a person can check, strongest first.
    pub reasons: Vec<String>,
}

pub fn classify(_evidence: &Evidence) -> Classification {
    Classification { class: DeviceClass::Other, confidence: Confidence::Low, vendor: None, reasons: Vec::new() }
}
