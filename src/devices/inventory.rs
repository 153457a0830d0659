//! The LAN inventory: one record per device, from everything the router knows about it.
//!
//! Sources: DHCP leases (dnsmasq, odhcpd), static hosts, luci-rpc host hints, and the UPnP
//! mappings and port forwards that point at an address. A MAC is the identity; an address that
//! only a mapping or forward names becomes an address-only record, so nothing is dropped.
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use super::{classify, Classification, Evidence};
use crate::mac::Mac;
use crate::policy::Policy;
use crate::snapshot::Snapshot;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub mac: Option<Mac>,
    pub ips: Vec<IpAddr>,
    /// Cleaned (LAN-controlled, except static host names).
    pub hostnames: Vec<String>,
    /// Where camguard saw it: "DHCP lease", "static host", "host hint", "UPnP mapping", "port forward".
    pub seen_in: Vec<&'static str>,
    #[serde(flatten)]
    pub classification: Classification,
    /// [`Device::describe`], computed once: findings quote it for every mapping and forward.
    #[serde(skip)]
    description: String,
}

impl Device {
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Shared with the findings that name them, so a device is described once however many
    /// mappings point at it.
    pub devices: Vec<Arc<Device>>,
    #[serde(skip)]
    by_ip: HashMap<IpAddr, usize>,
}

#[derive(Default)]
struct Draft {
    mac: Option<Mac>,
    ips: BTreeSet<IpAddr>,
    hostnames: Vec<String>,
    seen_in: Vec<&'static str>,
    ports: Vec<(u16, &'static str)>,
}

impl Draft {
    fn add(&mut self, ip: Option<IpAddr>, name: Option<&str>, source: &'static str) {
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
    pub fn build(snap: &Snapshot, policy: &Policy) -> Inventory {
        let mut drafts: Vec<Draft> = Vec::new();
        let mut by_mac: HashMap<Mac, usize> = HashMap::new();
        let mut by_ip: HashMap<IpAddr, usize> = HashMap::new();

        let mut record =
            |mac: Option<Mac>, ip: Option<IpAddr>, name: Option<&str>, source: &'static str| {
                let existing = mac
                    .and_then(|m| by_mac.get(&m).copied())
                    .or_else(|| ip.and_then(|i| by_ip.get(&i).copied()));
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
                draft.add(ip, name, source);
                if let Some(m) = mac {
                    by_mac.entry(m).or_insert(idx);
                }
                if let Some(i) = ip {
                    by_ip.entry(i).or_insert(idx);
                }
            };

        for host in &snap.dhcp.hosts {
            let ip = host.ip.as_deref().and_then(|i| i.parse().ok());
            if host.macs.is_empty() {
                record(None, ip, host.name.as_deref(), "static host");
            }
            for mac in &host.macs {
                record(Some(*mac), ip, host.name.as_deref(), "static host");
            }
        }
        for lease in &snap.dhcp_leases {
            record(
                lease.mac,
                Some(lease.ip),
                lease.hostname.as_deref(),
                "DHCP lease",
            );
        }
        for hint in &snap.host_hints {
            if hint.ips.is_empty() {
                record(Some(hint.mac), None, hint.name.as_deref(), "host hint");
            }
            for ip in &hint.ips {
                record(Some(hint.mac), Some(*ip), hint.name.as_deref(), "host hint");
            }
        }
        for lease in &snap.upnp.leases {
            record(None, Some(IpAddr::V4(lease.int_addr)), None, "UPnP mapping");
        }
        if let Some(fw) = &snap.firewall {
            for r in fw.redirects.iter().filter(|r| r.in_effect()) {
                if let Some(ip) = r.dest_ip.as_deref().and_then(|i| i.parse().ok()) {
                    record(None, Some(ip), None, "port forward");
                }
            }
        }

        // Service ports seen for each address: what the device serves is evidence of what it is.
        for lease in &snap.upnp.leases {
            if let Some(&idx) = by_ip.get(&IpAddr::V4(lease.int_addr)) {
                push_port(&mut drafts[idx].ports, lease.int_port, "UPnP mapping");
            }
        }
        if let Some(fw) = &snap.firewall {
            for r in fw.redirects.iter().filter(|r| r.in_effect()) {
                let ip = r.dest_ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok());
                if let (Some(ip), Some(ports)) = (ip, r.internal_ports()) {
                    if let (Some(&idx), false) = (by_ip.get(&ip), ports.negated) {
                        if ports.lo == ports.hi {
                            push_port(&mut drafts[idx].ports, ports.lo, "port forward");
                        }
                    }
                }
            }
        }

        let mut devices: Vec<Arc<Device>> = drafts
            .into_iter()
            .map(|d| {
                let owner_class = d.mac.and_then(|m| policy.device(m)).and_then(|p| p.class);
                let classification = classify(&Evidence {
                    mac: d.mac,
                    hostnames: d.hostnames.iter().map(String::as_str).collect(),
                    service_ports: d.ports.clone(),
                    owner_class,
                });
                let mut device = Device {
                    mac: d.mac,
                    ips: d.ips.into_iter().collect(),
                    hostnames: d.hostnames,
                    seen_in: d.seen_in,
                    classification,
                    description: String::new(),
                };
                device.description = device.compose_description();
                Arc::new(device)
            })
            .collect();
        devices.sort_by(|a, b| (a.ips.first(), a.mac).cmp(&(b.ips.first(), b.mac)));
        let mut inventory = Inventory {
            devices,
            by_ip: HashMap::new(),
        };
        for (idx, device) in inventory.devices.iter().enumerate() {
            for ip in &device.ips {
                inventory.by_ip.entry(*ip).or_insert(idx);
            }
        }
        inventory
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

fn push_port(ports: &mut Vec<(u16, &'static str)>, port: u16, how: &'static str) {
    if !ports.contains(&(port, how)) {
        ports.push((port, how));
    }
}
