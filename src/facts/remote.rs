//! Remote viewing that is switched on (NCSC step 3): a camera-like device with a connection to
//! a vendor cloud or P2P relay ([`crate::ports::RELAYS`]) in the router's connection tracking.
//! That connection is how the vendor's app reaches the camera from outside the home.
//!
//! Only camera-like devices count: a laptop running the same vendor's app makes the same
//! connection and is no camera finding. Only connections the device opened towards a public
//! address count: a relay port between two LAN hosts is not the vendor's cloud.
use std::net::IpAddr;
use std::sync::Arc;

use super::Inventory;
use crate::lan::{Conntrack, Device, Flow};
use crate::ports::Relay;

/// Connections of one device to one relay service, kept per finding.
pub const FLOWS_PER_FINDING: usize = 4;

#[derive(Debug, Clone)]
pub struct RemoteViewing<'a> {
    pub device: &'a Arc<Device>,
    pub relay: &'static Relay,
    /// Its first connections to the service in the table (at most [`FLOWS_PER_FINDING`]).
    pub flows: Vec<&'a Flow>,
    /// How many connections it has to the service in all.
    pub count: usize,
}

/// Each camera-like device and relay service it is connected to, in the table's order.
pub fn remote_viewing<'a>(
    inventory: &'a Inventory,
    table: &'a Conntrack,
) -> Vec<RemoteViewing<'a>> {
    let mut out: Vec<RemoteViewing<'a>> = Vec::new();
    for flow in &table.flows {
        if !is_public(flow.dst) {
            continue;
        }
        let Some(device) = inventory.by_ip(flow.src) else {
            continue;
        };
        if !device.classification.class.is_camera_like() {
            continue;
        }
        match out
            .iter_mut()
            .find(|r| Arc::ptr_eq(r.device, device) && std::ptr::eq(r.relay, flow.relay))
        {
            Some(r) => {
                r.count += 1;
                if r.flows.len() < FLOWS_PER_FINDING {
                    r.flows.push(flow);
                }
            }
            None => out.push(RemoteViewing {
                device,
                relay: flow.relay,
                flows: vec![flow],
                count: 1,
            }),
        }
    }
    out
}

/// An address on the internet: not private, loopback, link-local, unique-local or unspecified.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                // 100.64.0.0/10: carrier-grade NAT, the ISP's side, not a vendor's server.
                || (v4.octets()[0] == 100 && v4.octets()[1] & 0xc0 == 64))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_internet_addresses_are_public() {
        for ip in ["203.0.113.7", "2001:db8::7", "8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "192.168.1.1",
            "10.0.0.1",
            "100.64.1.1",
            "fd00::1",
            "fe80::1",
            "127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
