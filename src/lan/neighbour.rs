//! An entry of the kernel's neighbour table: a device that talks on the LAN, with or without a
//! DHCP lease. Parsed by [`crate::formats::neighbours`].
use std::net::IpAddr;

use serde::Serialize;

use crate::mac::Mac;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NeighState {
    /// Confirmed reachable recently.
    Reachable,
    /// Was reachable; not confirmed lately (STALE, DELAY, PROBE; /proc/net/arp's complete).
    Stale,
    /// Configured by hand (`ip neigh add … permanent`, /etc/ethers): says nothing about presence.
    Permanent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbour {
    pub ip: IpAddr,
    pub mac: Mac,
    /// The interface ("br-lan"), cleaned.
    pub dev: String,
    pub state: NeighState,
}

impl Neighbour {
    /// Whether the entry shows the device was on the network lately (for last seen).
    pub fn is_present(&self) -> bool {
        self.state != NeighState::Permanent
    }
}
