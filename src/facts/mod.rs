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
use crate::snapshot::firewall::Redirect;
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

    /// The router's own admin services: dropbear's and uhttpd's ports as configured, and the
    /// usual 22/80/443.
    pub fn router_admin_ports(&self) -> Vec<(u16, &'static str)> {
        let mut ports: Vec<(u16, &'static str)> = self
            .snap
            .dropbear
            .iter()
            .filter(|d| d.enabled)
            .map(|d| (d.port, "SSH (dropbear)"))
            .collect();
        ports.extend(
            self.snap
                .uhttpd_ports
                .iter()
                .map(|p| (*p, "web interface (uhttpd)")),
        );
        for p in crate::ports::ROUTER_ADMIN_DEFAULTS {
            if !ports.iter().any(|(q, _)| q == p) {
                ports.push((*p, if *p == 22 { "SSH" } else { "web interface" }));
            }
        }
        ports
    }

    /// The admin services a redirect to the router reaches.
    pub fn router_admin_ports_reached(&self, r: &Redirect) -> Vec<(u16, &'static str)> {
        let every = forwards::forwards_every_port(r);
        let internal = r.internal_ports();
        self.router_admin_ports()
            .into_iter()
            .filter(|(p, _)| every || internal.is_some_and(|i| i.matches(*p)))
            .collect()
    }

    /// Whether a redirect goes to the router itself: no `dest_ip`, or one of its addresses.
    pub fn redirects_to_router(&self, r: &Redirect) -> bool {
        r.dest_ip
            .as_deref()
            .is_none_or(|ip| self.is_router_address(ip))
    }

    /// Whether an address is one of the router's own (an interface's `ipaddr`): a forward to
    /// it reaches the router's services, not a device.
    pub fn is_router_address(&self, ip: &str) -> bool {
        self.snap.network.interfaces.iter().any(|i| {
            i.ipaddr.as_deref().is_some_and(|a| {
                a.split_whitespace()
                    .any(|w| w.split('/').next() == Some(ip))
            })
        })
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
