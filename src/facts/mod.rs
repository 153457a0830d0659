//! Facts derived from a snapshot that the audit, the planner and the views all stand on: which
//! zones face the internet, which redirects are port forwards from there, which mappings are
//! live, and which device sits behind an address (the inventory, with each device classified).
//! Pure functions of the snapshot: no I/O, no clock.
pub mod classify;
pub mod firmware;
pub mod forwards;
pub mod inventory;
pub mod kev;
pub mod mappings;
pub mod oui;
pub mod remote;
pub mod seen;

pub use inventory::Inventory;

use std::net::IpAddr;
use std::sync::Arc;

use crate::lan::Device;
use crate::snapshot::policy::{Policy, PolicyError};
use crate::snapshot::Snapshot;

/// One snapshot with what every later stage derives from it.
pub struct Facts<'a> {
    pub snap: &'a Snapshot,
    /// The owner's policy (the shipped defaults without /etc/config/camguard); an invalid one
    /// is reported, never guessed.
    pub policy: Result<&'a Policy, &'a PolicyError>,
    pub inventory: &'a Inventory,
    /// Firewall zones that face the internet ([`wan_zones`]).
    pub wan_zones: Vec<&'a str>,
}

impl<'a> Facts<'a> {
    /// The facts of a snapshot around its inventory ([`Inventory::build`]).
    pub fn new(snap: &'a Snapshot, inventory: &'a Inventory) -> Facts<'a> {
        Facts {
            snap,
            policy: snap.policy(),
            inventory,
            wan_zones: wan_zones(snap),
        }
    }

    pub fn is_wan_zone(&self, zone: &str) -> bool {
        self.wan_zones.contains(&zone)
    }

    pub fn device_at(&self, ip: &str) -> Option<&'a Arc<Device>> {
        self.inventory.by_ip_text(ip)
    }

    pub fn device_by_ip(&self, ip: IpAddr) -> Option<&'a Arc<Device>> {
        self.inventory.by_ip(ip)
    }
}

/// Firewall zones that face the internet: named `wan`, masquerading, or covering a WAN
/// interface (openwrt-facts §3.2, §4.7).
pub fn wan_zones(snap: &Snapshot) -> Vec<&str> {
    let Some(fw) = &snap.firewall else {
        return Vec::new();
    };
    let wan_ifaces = snap.network.wan_interfaces();
    fw.zones
        .iter()
        .filter(|z| z.enabled && z.invalid.is_none())
        .filter(|z| {
            z.name == "wan" || z.masq || z.networks.iter().any(|n| wan_ifaces.contains(&n.as_str()))
        })
        .map(|z| z.name.as_str())
        .collect()
}
