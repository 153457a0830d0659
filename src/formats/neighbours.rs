//! The kernel's neighbour table as an inventory source: devices that talk on the LAN without a
//! DHCP lease (static addresses, long-lived leases from before a reboot) still show up here.
//!
//! Two inputs, both parsed purely: `ip -j neigh` (iproute2's `ip-full` on OpenWrt; IPv4 and
//! IPv6) and `/proc/net/arp` (always there; IPv4 only). The table also holds the WAN gateway
//! and other non-LAN peers, so each entry keeps its interface: the caller keeps only those on
//! LAN interfaces ([`on_interfaces`]).
use std::net::IpAddr;

use crate::formats::{Document, FormatError};
use crate::lan::{NeighState, Neighbour};
use crate::mac::Mac;
use crate::text::lan_text;

/// Entries read at most: the kernel's default gc_thresh3 is 1024 per family.
pub const MAX_NEIGHBOURS: usize = 4096;
/// Most of `/proc/net/arp` read: [`MAX_NEIGHBOURS`] lines of the kernel's format (79
/// characters and the device name, net/ipv4/arp.c `arp_format_neigh_entry`), with room.
pub const MAX_PROC_NET_ARP_BYTES: usize = MAX_NEIGHBOURS * 128;

/// Parses `ip -j neigh show` (`ip -j -4 neigh`, `ip -j -6 neigh` alike). Entries without a
/// link-layer address (FAILED, INCOMPLETE), with an all-zero or multicast one, or NOARP are
/// left out. Errors only when the text is not the JSON array iproute2 prints.
pub fn parse_ip_neigh_json(input: &[u8]) -> Result<Vec<Neighbour>, FormatError> {
    let value: crate::json::Value =
        crate::json::from_slice(input).map_err(|e| FormatError::NotJson {
            document: Document::IpNeigh,
            detail: e.to_string(),
        })?;
    let entries = value.as_array().ok_or(FormatError::WrongShape {
        document: Document::IpNeigh,
    })?;
    let mut out = Vec::new();
    for e in entries.iter().take(MAX_NEIGHBOURS) {
        let Some(ip) = e
            .get("dst")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
        else {
            continue;
        };
        let Some(mac) = e
            .get("lladdr")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Mac>().ok())
            .filter(usable_mac)
        else {
            continue;
        };
        let states: Vec<&str> = match e.get("state") {
            Some(crate::json::Value::Array(a)) => a.iter().filter_map(|s| s.as_str()).collect(),
            Some(crate::json::Value::String(s)) => vec![s.as_str()],
            _ => Vec::new(),
        };
        let state = if states.contains(&"PERMANENT") {
            NeighState::Permanent
        } else if states.contains(&"REACHABLE") {
            NeighState::Reachable
        } else if states
            .iter()
            .any(|s| matches!(*s, "STALE" | "DELAY" | "PROBE"))
        {
            NeighState::Stale
        } else {
            continue; // FAILED, INCOMPLETE, NOARP, NONE or no state: no device behind it.
        };
        let dev = e
            .get("dev")
            .and_then(|v| v.as_str())
            .map(|d| lan_text(d.as_bytes()))
            .unwrap_or_default();
        out.push(Neighbour {
            ip,
            mac,
            dev,
            state,
        });
    }
    Ok(out)
}

/// Parses `/proc/net/arp`:
/// `IP address  HW type  Flags  HW address  Mask  Device`. Flags 0x2 (ATF_COM) marks a
/// resolved entry, 0x4 (ATF_PERM) a permanent one; unresolved entries are left out. Lines
/// that do not fit are skipped: the kernel writes this file, but a parser must not trust that.
pub fn parse_proc_net_arp(input: &[u8]) -> Vec<Neighbour> {
    let text = String::from_utf8_lossy(input);
    let mut out = Vec::new();
    for line in text.lines().skip(1).take(MAX_NEIGHBOURS) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            continue;
        }
        let (Ok(ip), Some(flags), Ok(mac)) = (
            f[0].parse::<IpAddr>(),
            f[2].strip_prefix("0x")
                .and_then(|h| u32::from_str_radix(h, 16).ok()),
            f[3].parse::<Mac>(),
        ) else {
            continue;
        };
        if flags & 0x2 == 0 || !usable_mac(&mac) {
            continue;
        }
        out.push(Neighbour {
            ip,
            mac,
            dev: lan_text(f[5].as_bytes()),
            state: if flags & 0x4 != 0 {
                NeighState::Permanent
            } else {
                NeighState::Stale
            },
        });
    }
    out
}

fn usable_mac(mac: &Mac) -> bool {
    mac.0 != [0; 6] && !mac.is_multicast()
}

/// The entries on these interfaces (the LAN bridge and other LAN devices), e.g. `["br-lan"]`.
pub fn on_interfaces(neighbours: Vec<Neighbour>, devs: &[&str]) -> Vec<Neighbour> {
    neighbours
        .into_iter()
        .filter(|n| devs.contains(&n.dev.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_json_keeps_resolved_entries() {
        // As iproute2 6.1 prints it (state is an array; router/proxy flags are extra keys).
        let json = br#"[
          {"dst":"192.168.1.64","dev":"br-lan","lladdr":"4c:bd:8f:3a:11:02","state":["REACHABLE"]},
          {"dst":"192.168.1.70","dev":"br-lan","lladdr":"ec:71:db:00:00:01","state":["STALE"]},
          {"dst":"fd00::64","dev":"br-lan","lladdr":"4c:bd:8f:3a:11:02","router":null,"state":["DELAY"]},
          {"dst":"192.168.1.99","dev":"br-lan","state":["FAILED"]},
          {"dst":"192.168.1.98","dev":"br-lan","lladdr":"00:00:00:00:00:00","state":["INCOMPLETE"]},
          {"dst":"192.168.1.2","dev":"br-lan","lladdr":"00:11:22:33:44:55","state":["PERMANENT"]},
          {"dst":"203.0.113.1","dev":"wan","lladdr":"02:00:00:00:00:01","state":["REACHABLE"]}
        ]"#;
        let n = parse_ip_neigh_json(json).unwrap();
        let got: Vec<(String, NeighState)> =
            n.iter().map(|x| (x.ip.to_string(), x.state)).collect();
        assert_eq!(
            got,
            [
                ("192.168.1.64".into(), NeighState::Reachable),
                ("192.168.1.70".into(), NeighState::Stale),
                ("fd00::64".into(), NeighState::Stale),
                ("192.168.1.2".into(), NeighState::Permanent),
                ("203.0.113.1".into(), NeighState::Reachable),
            ]
        );
        let lan = on_interfaces(n, &["br-lan"]);
        assert_eq!(lan.len(), 4, "the WAN gateway is not a LAN device");
        assert!(!lan[3].is_present());
    }

    #[test]
    fn ip_json_errors_say_what_was_expected() {
        assert!(parse_ip_neigh_json(b"Object \"neigh\" is unknown")
            .unwrap_err()
            .to_string()
            .contains("ip -j neigh"));
        assert!(parse_ip_neigh_json(b"{}").is_err());
        assert_eq!(parse_ip_neigh_json(b"[]").unwrap(), []);
        assert_eq!(
            parse_ip_neigh_json(br#"[1, null, {"dst":5}, {"dst":"x","lladdr":"y"}]"#).unwrap(),
            []
        );
    }

    #[test]
    fn proc_net_arp() {
        let text = b"IP address       HW type     Flags       HW address            Mask     Device
192.168.1.64     0x1         0x2         4c:bd:8f:3a:11:02     *        br-lan
192.168.1.65     0x1         0x0         00:00:00:00:00:00     *        br-lan
192.168.1.2      0x1         0x6         00:11:22:33:44:55     *        br-lan
203.0.113.1      0x1         0x2         02:00:00:00:00:01     *        wan
garbage line
192.168.1.66     0x1         0xZZ        4c:bd:8f:3a:11:03     *        br-lan
";
        let n = parse_proc_net_arp(text);
        assert_eq!(n.len(), 3);
        assert_eq!(n[0].mac.to_string(), "4c:bd:8f:3a:11:02");
        assert_eq!(n[0].state, NeighState::Stale);
        assert_eq!(n[1].state, NeighState::Permanent);
        assert_eq!(n[2].dev, "wan");
    }

    #[test]
    fn hostile_interface_names_are_cleaned() {
        let n = parse_proc_net_arp(b"header\n192.168.1.64 0x1 0x2 4c:bd:8f:3a:11:02 * br\x1b[2J\n");
        assert_eq!(n[0].dev, "br\\x1b[2J");
    }
}
