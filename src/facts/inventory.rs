//! The LAN inventory: one record per device, from everything the router knows about it.
//!
//! Sources: DHCP leases (dnsmasq, odhcpd), static hosts, luci-rpc host hints, the neighbour
//! table, and the UPnP mappings and port forwards that point at an address. A MAC is the
//! identity; an address that only a mapping or forward names becomes an address-only record,
//! so nothing is dropped. What camguard observed besides the configs and leases (neighbours,
//! probe replies, first/last-seen history) is the snapshot's [`crate::lan::LanObservations`].
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use super::classify::{classify, is_weighed_port, Evidence};
use crate::lan::{Device, SeenRecord};
use crate::mac::Mac;
use crate::snapshot::Snapshot;
use crate::sorted::{SortedMap, SortedSet};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Shared with the findings that name them, so a device is described once however many
    /// mappings point at it.
    pub devices: Vec<Arc<Device>>,
    /// Built once the devices are sorted: binary-searched, not a hash table.
    #[serde(skip)]
    by_ip: SortedMap<IpAddr, usize>,
}

/// What identifies a device while its records are merged.
#[derive(PartialEq, Eq, Hash)]
enum Id {
    Mac(Mac),
    Ip(IpAddr),
}

#[derive(Default)]
struct Draft {
    mac: Option<Mac>,
    /// Its addresses as observed, a repeat only where two drafts share one: made a set once,
    /// in `build`.
    ips: Vec<IpAddr>,
    hostnames: Vec<String>,
    seen_in: Vec<&'static str>,
    /// Only the ports classification weighs: a device may name all 65,535.
    ports: Vec<(u16, &'static str)>,
    present: bool,
}

impl Draft {
    fn push_port(&mut self, port: u16, how: &'static str) {
        if is_weighed_port(port) && !self.ports.contains(&(port, how)) {
            self.ports.push((port, how));
        }
    }

    fn add(&mut self, ip: Option<IpAddr>, name: Option<&str>, source: &'static str, present: bool) {
        self.present |= present;
        self.ips.extend(ip);
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            if !self.hostnames.iter().any(|h| h.eq_ignore_ascii_case(n)) {
                self.hostnames.push(n.to_owned());
            }
        }
        if !self.seen_in.contains(&source) {
            self.seen_in.push(source);
        }
    }
}

impl Inventory {
    /// The inventory of a snapshot, each device classified (the owner's classes from the
    /// policy win). Pure: the snapshot's `taken_at` is "now" for first/last seen.
    pub fn build(snap: &Snapshot) -> Inventory {
        let now = snap.taken_at;
        let obs = &snap.lan;
        let no_policy = Default::default();
        let policy = snap.policy().unwrap_or(&no_policy);
        let mut drafts: Vec<Draft> = Vec::new();
        // Filled while the drafts are merged, each record looked up first: a hash table, one
        // for MACs and addresses alike (one table type less in the binary).
        let mut by_id: HashMap<Id, usize> = HashMap::new();

        let mut record = |mac: Option<Mac>,
                          ip: Option<IpAddr>,
                          name: Option<&str>,
                          source: &'static str,
                          present: bool| {
            let existing = mac
                .and_then(|m| by_id.get(&Id::Mac(m)).copied())
                .or_else(|| ip.and_then(|i| by_id.get(&Id::Ip(i)).copied()));
            let idx = existing.unwrap_or_else(|| {
                drafts.push(Draft {
                    mac,
                    ..Draft::default()
                });
                drafts.len() - 1
            });
            let draft = &mut drafts[idx];
            if draft.mac.is_none() {
                draft.mac = mac;
            }
            // An address this draft is already known by is not noted again: a device's 65,535
            // mappings would otherwise note its one address 65,535 times.
            let ip_new = ip.filter(|i| by_id.get(&Id::Ip(*i)) != Some(&idx));
            draft.add(ip_new, name, source, present);
            if let Some(m) = mac {
                by_id.entry(Id::Mac(m)).or_insert(idx);
            }
            if let Some(i) = ip {
                by_id.entry(Id::Ip(i)).or_insert(idx);
            }
        };

        for host in &snap.dhcp.hosts {
            let ip = host.ip.as_deref().and_then(|i| i.parse().ok());
            if host.macs.is_empty() {
                record(None, ip, host.name.as_deref(), "static host", false);
            }
            for mac in &host.macs {
                record(Some(*mac), ip, host.name.as_deref(), "static host", false);
            }
        }
        for lease in &snap.dhcp_leases {
            let live = lease.expires == 0 || lease.expires > now;
            record(
                lease.mac,
                Some(lease.ip),
                lease.hostname.as_deref(),
                "DHCP lease",
                live,
            );
        }
        for hint in &snap.host_hints {
            if hint.ips.is_empty() {
                record(
                    Some(hint.mac),
                    None,
                    hint.name.as_deref(),
                    "host hint",
                    false,
                );
            }
            for ip in &hint.ips {
                record(
                    Some(hint.mac),
                    Some(*ip),
                    hint.name.as_deref(),
                    "host hint",
                    false,
                );
            }
        }
        // Before the mappings and forwards: the neighbour table ties their bare addresses to
        // a MAC, so a device a mapping names is one record, not two.
        for n in &obs.neighbours {
            record(
                Some(n.mac),
                Some(n.ip),
                None,
                "neighbour table",
                n.is_present(),
            );
        }
        for lease in &snap.upnp.leases {
            record(
                None,
                Some(IpAddr::V4(lease.int_addr)),
                None,
                "UPnP mapping",
                true,
            );
        }
        if let Some(fw) = &snap.firewall {
            for r in fw.redirects.iter().filter(|r| r.in_effect()) {
                if let Some(ip) = r.dest_ip.as_deref().and_then(|i| i.parse().ok()) {
                    record(None, Some(ip), None, "port forward", false);
                }
            }
        }

        // Service ports seen for each address: what the device serves is evidence of what it is.
        for lease in &snap.upnp.leases {
            if let Some(&idx) = by_id.get(&Id::Ip(IpAddr::V4(lease.int_addr))) {
                drafts[idx].push_port(lease.int_port, "UPnP mapping");
            }
        }
        if let Some(fw) = &snap.firewall {
            for r in fw.redirects.iter().filter(|r| r.in_effect()) {
                let ip = r.dest_ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok());
                if let (Some(ip), Some(ports)) = (ip, r.internal_ports()) {
                    if let (Some(&idx), false) = (by_id.get(&Id::Ip(ip)), ports.negated) {
                        if ports.lo == ports.hi {
                            drafts[idx].push_port(ports.lo, "port forward");
                        }
                    }
                }
            }
        }

        // What the probe found answering: evidence like the ports mappings and forwards name.
        for report in &obs.probes {
            if let Some(&idx) = by_id.get(&Id::Ip(report.ip)) {
                for (port, how) in report.service_ports() {
                    drafts[idx].push_port(port, how);
                }
            }
        }

        // Sorted once, then binary-searched per device (a later record of a MAC wins).
        let seen: SortedMap<Mac, &SeenRecord> = obs.seen.iter().map(|r| (r.mac, r)).collect();
        let mut devices: Vec<Arc<Device>> = drafts
            .into_iter()
            .map(|d| {
                let ips = SortedSet::from_vec(d.ips);
                let owner_class = d.mac.and_then(|m| policy.device(m)).and_then(|p| p.class);
                // The newest discovery reply of any of its addresses.
                let announced = obs
                    .probes
                    .iter()
                    .filter(|p| ips.contains(&p.ip))
                    .filter_map(|p| p.info.as_ref())
                    .max_by_key(|i| i.at);
                let classification = classify(&Evidence {
                    mac: d.mac,
                    hostnames: d.hostnames.iter().map(String::as_str).collect(),
                    service_ports: d.ports,
                    owner_class,
                    announced,
                });
                let mut device = Device::new(
                    d.mac,
                    ips.into_iter().collect(),
                    d.hostnames,
                    d.seen_in,
                    classification,
                );
                let before = d.mac.and_then(|m| seen.get(&m));
                device.present = d.present;
                device.first_seen = before
                    .map(|r| r.first_seen)
                    .or((d.present && d.mac.is_some()).then_some(now));
                device.last_seen = match (d.present, before) {
                    (true, Some(r)) => Some(now.max(r.last_seen)),
                    (true, None) => d.mac.map(|_| now),
                    (false, r) => r.map(|r| r.last_seen),
                };
                Arc::new(device)
            })
            .collect();
        devices.sort_by(|a, b| (a.ips.first(), a.mac).cmp(&(b.ips.first(), b.mac)));
        // The first device of an address wins: from_vec keeps a key's last entry, so the
        // devices go in backwards.
        let by_ip = devices
            .iter()
            .enumerate()
            .rev()
            .flat_map(|(idx, device)| device.ips.iter().map(move |ip| (*ip, idx)))
            .collect();
        Inventory { devices, by_ip }
    }

    pub fn by_ip(&self, ip: IpAddr) -> Option<&Arc<Device>> {
        self.by_ip.get(&ip).map(|&i| &self.devices[i])
    }

    pub fn by_ip_text(&self, ip: &str) -> Option<&Arc<Device>> {
        ip.parse().ok().and_then(|ip| self.by_ip(ip))
    }

    pub fn cameras(&self) -> impl Iterator<Item = &Arc<Device>> {
        self.devices
            .iter()
            .filter(|d| d.classification.class.is_camera_like())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::dhcp::DhcpLease;
    #[cfg(feature = "lan-probe")]
    use crate::lan::{DeviceClass, ProbeReport};
    use crate::lan::{LanObservations, NeighState, Neighbour};
    #[cfg(feature = "lan-probe")]
    use crate::probe::scan::interpret;
    use crate::snapshot::Policy;

    /// The inventory of `snap` with these observations and this policy.
    fn build_with(snap: &Snapshot, policy: &Policy, obs: &LanObservations) -> Inventory {
        let mut snap = snap.clone();
        snap.policy_file = Some(Ok(policy.clone()));
        snap.lan = obs.clone();
        Inventory::build(&snap)
    }

    const NOW: u64 = 1_795_608_000;

    fn lease(mac: &str, ip: &str, host: &str, expires: u64) -> DhcpLease {
        DhcpLease {
            line: 1,
            expires,
            mac: Some(mac.parse().unwrap()),
            ip: ip.parse().unwrap(),
            hostname: Some(host.into()),
            client_id: None,
        }
    }

    fn neighbour(mac: &str, ip: &str, state: NeighState) -> Neighbour {
        Neighbour {
            ip: ip.parse().unwrap(),
            mac: mac.parse().unwrap(),
            dev: "br-lan".into(),
            state,
        }
    }

    #[test]
    fn an_address_of_two_devices_is_the_first_ones() {
        let mut snap = Snapshot::new(NOW, "test");
        snap.dhcp_leases = vec![
            lease("02:00:00:00:00:02", "192.168.1.30", "b", 0),
            lease("02:00:00:00:00:01", "192.168.1.20", "a", 0),
            lease("02:00:00:00:00:02", "192.168.1.20", "b", 0),
        ];
        let inv = build_with(&snap, &Policy::default(), &LanObservations::default());
        let mac = |ip: &str| {
            inv.by_ip_text(ip)
                .and_then(|d| d.mac)
                .map(|m| m.to_string())
        };
        assert_eq!(inv.devices.len(), 2);
        assert_eq!(inv.devices[1].ips.len(), 2, "b holds both addresses");
        assert_eq!(mac("192.168.1.20").as_deref(), Some("02:00:00:00:00:01"));
        assert_eq!(mac("192.168.1.30").as_deref(), Some("02:00:00:00:00:02"));
        assert!(inv.by_ip_text("192.168.1.40").is_none());
    }

    #[test]
    fn neighbours_add_devices_and_tie_mappings_to_their_mac() {
        let mut snap = Snapshot::new(NOW, "test");
        snap.upnp.leases.push(
            crate::formats::leases::parse_leases(b"TCP:10554:192.168.1.77:554:0:cam\n").entries[0]
                .clone(),
        );
        let obs = LanObservations {
            neighbours: vec![neighbour(
                "00:12:41:0a:0b:0c",
                "192.168.1.77",
                NeighState::Stale,
            )],
            ..Default::default()
        };
        let inv = build_with(&snap, &Policy::default(), &obs);
        assert_eq!(
            inv.devices.len(),
            1,
            "one record, not a MAC one and an address one"
        );
        let d = &inv.devices[0];
        assert_eq!(d.seen_in, ["neighbour table", "UPnP mapping"]);
        assert!(d.present);
        // Without the neighbour table the mapping is an address-only record.
        let bare = Inventory::build(&snap);
        assert_eq!(bare.devices[0].mac, None);
    }

    #[cfg(feature = "lan-probe")]
    #[test]
    fn probe_replies_are_classification_evidence() {
        let mut snap = Snapshot::new(NOW, "test");
        snap.dhcp_leases
            .push(lease("00:12:41:0a:0b:0c", "192.168.1.77", "wlan0", 0));
        let obs = LanObservations {
            probes: vec![ProbeReport {
                ip: "192.168.1.77".parse().unwrap(),
                at: NOW,
                services: vec![
                    interpret(554, Some(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n")),
                    interpret(80, Some(b"HTTP/1.0 200 OK\r\n\r\n")),
                ],
                refused: None,
                info: None,
            }],
            ..Default::default()
        };
        let without = Inventory::build(&snap);
        assert_eq!(without.devices[0].classification.class, DeviceClass::Other);
        let with = build_with(&snap, &Policy::default(), &obs);
        let c = &with.devices[0].classification;
        assert_eq!(c.class, DeviceClass::Camera);
        assert!(
            c.reasons
                .iter()
                .any(|r| r.starts_with("answers on port 554: RTSP")),
            "{:?}",
            c.reasons
        );
    }

    #[test]
    fn first_and_last_seen() {
        let mut snap = Snapshot::new(NOW, "test");
        snap.dhcp_leases
            .push(lease("4c:bd:8f:00:00:01", "192.168.1.64", "cam", NOW + 600));
        snap.dhcp_leases
            .push(lease("4c:bd:8f:00:00:02", "192.168.1.65", "old", NOW - 600));
        snap.dhcp.hosts.push(crate::snapshot::network::StaticHost {
            section: "h".into(),
            name: Some("printer".into()),
            macs: vec!["00:00:48:00:00:01".parse().unwrap()],
            ip: Some("192.168.1.9".into()),
        });
        let seen = vec![SeenRecord {
            mac: "4c:bd:8f:00:00:02".parse().unwrap(),
            first_seen: NOW - 5000,
            last_seen: NOW - 600,
        }];
        let obs = LanObservations {
            seen,
            ..Default::default()
        };
        let inv = build_with(&snap, &Policy::default(), &obs);
        let by_mac = |m: &str| {
            inv.devices
                .iter()
                .find(|d| d.mac == Some(m.parse().unwrap()))
                .unwrap()
        };
        let live = by_mac("4c:bd:8f:00:00:01");
        assert_eq!(
            (live.first_seen, live.last_seen, live.present),
            (Some(NOW), Some(NOW), true)
        );
        let expired = by_mac("4c:bd:8f:00:00:02");
        assert_eq!(
            (expired.first_seen, expired.last_seen, expired.present),
            (Some(NOW - 5000), Some(NOW - 600), false)
        );
        let configured = by_mac("00:00:48:00:00:01");
        assert_eq!((configured.first_seen, configured.last_seen), (None, None));
        let json = crate::encode::to_value(&**live).unwrap();
        assert_eq!(json["first_seen"], NOW);
        assert!(json.get("present").is_none());
        // And back into records.
        let merged = crate::facts::seen::merge_seen(&obs.seen, NOW, &inv.devices);
        assert_eq!(merged.records.len(), 2);
        assert_eq!(merged.new_devices, ["4c:bd:8f:00:00:01".parse().unwrap()]);
    }
}
