//! A small builder for router snapshots in tests: files by router path, read through the same
//! offline source the CLI uses.
#![allow(dead_code)]

use camguard::audit::{self, Finding, Report};
use camguard::facts::{Facts, Inventory};
use camguard::snapshot::Snapshot;
use camguard::source::{offline, Archive, ArchiveFiles};

/// 2026-11-25 12:00 UTC: the time every test snapshot stands for.
pub const NOW: u64 = 1_795_608_000;

/// The shipped OpenWrt firewall, trimmed to what the checks look at.
pub const DEFAULT_FIREWALL: &str = "\
config defaults
\toption input 'REJECT'
\toption output 'ACCEPT'
\toption forward 'REJECT'

config zone
\toption name 'lan'
\tlist network 'lan'
\toption input 'ACCEPT'
\toption output 'ACCEPT'
\toption forward 'ACCEPT'

config zone
\toption name 'wan'
\tlist network 'wan'
\tlist network 'wan6'
\toption input 'REJECT'
\toption output 'ACCEPT'
\toption forward 'REJECT'
\toption masq '1'

config forwarding
\toption src 'lan'
\toption dest 'wan'
";

pub const DEFAULT_NETWORK: &str = "\
config interface 'lan'
\toption device 'br-lan'
\toption proto 'static'
\toption ipaddr '192.168.1.1'

config interface 'wan'
\toption device 'wan'
\toption proto 'dhcp'
";

/// The shipped /etc/config/upnpd with `enabled` as given (None: option absent).
pub fn upnpd(enabled: Option<&str>) -> String {
    let enabled = enabled
        .map(|e| format!("\toption enabled '{e}'\n"))
        .unwrap_or_default();
    format!(
        "config upnpd 'config'\n{enabled}\toption enable_natpmp '0'\n\toption secure_mode '1'\n\
         \toption upnp_lease_file '/var/run/miniupnpd.leases'\n\n\
         config perm_rule\n\toption action 'allow'\n\toption ext_ports '1024-65535'\n\
         \toption int_addr '0.0.0.0/0'\n\toption int_ports '1024-65535'\n\toption comment 'Allow high ports'\n\n\
         config perm_rule\n\toption action 'deny'\n\toption ext_ports '0-65535'\n\
         \toption int_addr '0.0.0.0/0'\n\toption int_ports '0-65535'\n\toption comment 'Default deny'\n"
    )
}

#[derive(Default, Clone)]
pub struct Router {
    archive: Archive,
    nft: Option<Vec<u8>>,
}

impl Router {
    /// A router with the default firewall and network.
    pub fn new() -> Router {
        Router::default()
            .config("firewall", DEFAULT_FIREWALL)
            .config("network", DEFAULT_NETWORK)
    }

    /// A router with no configs at all.
    pub fn bare() -> Router {
        Router::default()
    }

    pub fn config(self, name: &str, text: &str) -> Router {
        self.file(&format!("/etc/config/{name}"), text.as_bytes())
    }

    /// Appends sections to a config.
    pub fn append(mut self, name: &str, text: &str) -> Router {
        let key = format!("etc/config/{name}");
        let mut bytes = self.archive.files.remove(&key).unwrap_or_default();
        bytes.extend_from_slice(b"\n");
        bytes.extend_from_slice(text.as_bytes());
        self.archive.files.insert(key, bytes);
        self
    }

    pub fn file(mut self, path: &str, bytes: &[u8]) -> Router {
        self.archive
            .files
            .insert(path.trim_start_matches('/').to_owned(), bytes.to_vec());
        self
    }

    pub fn leases(self, lines: &str) -> Router {
        self.file("/var/run/miniupnpd.leases", lines.as_bytes())
    }

    pub fn dhcp_leases(self, lines: &str) -> Router {
        self.file("/tmp/dhcp.leases", lines.as_bytes())
    }

    pub fn release(self, version: &str) -> Router {
        self.file(
            "/etc/openwrt_release",
            format!("DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='{version}'\n").as_bytes(),
        )
    }

    pub fn nft(mut self, json: &[u8]) -> Router {
        self.nft = Some(json.to_vec());
        self
    }

    pub fn snapshot(&self) -> Snapshot {
        let nft = self.nft.clone().map(|j| ("nft.json".to_owned(), j));
        offline::read(
            &ArchiveFiles::new("test", self.archive.clone()),
            NOW,
            nft,
            &[],
        )
    }

    /// The plan for this router as it is now.
    pub fn plan(&self) -> Vec<camguard::plan::Action> {
        let snap = self.snapshot();
        let inventory = Inventory::build(&snap);
        camguard::plan::plan(&Facts::new(&snap, &inventory))
    }

    pub fn audit(&self) -> Report {
        audit::audit(&self.snapshot())
    }
}

/// A redirect section from `key value` pairs.
pub fn redirect(opts: &[(&str, &str)]) -> String {
    section("redirect", opts)
}

pub fn section(stype: &str, opts: &[(&str, &str)]) -> String {
    let mut s = format!("config {stype}\n");
    for (k, v) in opts {
        s.push_str(&format!("\toption {k} '{v}'\n"));
    }
    s
}

/// Findings with this id.
pub fn with_id<'a>(report: &'a Report, id: &str) -> Vec<&'a Finding> {
    report.findings.iter().filter(|f| f.id == id).collect()
}

pub fn ids(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.id).collect()
}

/// xorshift64*: a deterministic generator for the fuzz-style tests, so a failure reproduces
/// from its seed. The seed must not be 0.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Up to `max` random bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Applies planned actions to the router's files the way rpcd + libuci + the init scripts would,
/// for tests of the pure planner (the real path over ubus is tested against the testbed).
pub mod offline_apply {
    use camguard::formats::uci::{self, Package, Section, UciOption, Value};
    use camguard::plan::{Action, Step, UciValue};

    use super::Router;

    fn value(v: &UciValue) -> Value {
        match v {
            UciValue::Single(s) => Value::Single(s.clone()),
            UciValue::List(l) => Value::List(l.clone()),
        }
    }

    fn set(section: &mut Section, option: &str, v: Value) {
        match section.options.iter_mut().find(|o| o.name == option) {
            Some(o) => o.value = v,
            None => section.options.push(UciOption {
                name: option.to_owned(),
                value: v,
            }),
        }
    }

    /// The file `uci commit` writes: the export without its `package` line.
    fn committed(p: &Package) -> Vec<u8> {
        let text = p.export();
        text.split_once('\n')
            .map_or(text.clone(), |(_, rest)| rest.to_owned())
            .into_bytes()
    }

    impl Router {
        pub fn read_file(&self, path: &str) -> Option<Vec<u8>> {
            self.archive
                .files
                .get(path.trim_start_matches('/'))
                .cloned()
        }

        pub fn apply(&mut self, actions: &[Action]) {
            for a in actions {
                if let Some(config) = a.step.config() {
                    let key = format!("etc/config/{config}");
                    let text = self.archive.files.get(&key).cloned().unwrap_or_default();
                    let mut p = uci::parse(config, &text).expect("config parses");
                    match &a.step {
                        Step::UciSet {
                            section,
                            option,
                            value: v,
                            ..
                        } => {
                            let s = p
                                .sections
                                .iter_mut()
                                .find(|s| &s.name == section)
                                .expect("section exists");
                            set(s, option, value(v));
                        }
                        Step::UciDelete {
                            section,
                            option: None,
                            ..
                        } => p.sections.retain(|s| &s.name != section),
                        Step::UciDelete {
                            section,
                            option: Some(o),
                            ..
                        } => {
                            if let Some(s) = p.sections.iter_mut().find(|s| &s.name == section) {
                                s.options.retain(|x| &x.name != o);
                            }
                        }
                        Step::UciAdd {
                            r#type,
                            name,
                            values,
                            ..
                        } => {
                            let mut s = Section {
                                name: name.clone(),
                                section_type: r#type.clone(),
                                anonymous: false,
                                options: vec![],
                            };
                            for (k, v) in values {
                                set(&mut s, k, value(v));
                            }
                            p.sections.push(s);
                        }
                        Step::UciOrder { sections, .. } => {
                            p.sections.sort_by_key(|s| {
                                sections
                                    .iter()
                                    .position(|n| n == &s.name)
                                    .unwrap_or(usize::MAX)
                            });
                        }
                        _ => unreachable!(),
                    }
                    self.archive.files.insert(key, committed(&p));
                    continue;
                }
                match &a.step {
                    Step::Service { name, action } if action == "disable" => {
                        let keys: Vec<String> = self
                            .archive
                            .files
                            .keys()
                            .filter(|k| k.starts_with("etc/rc.d/S") && k.ends_with(name.as_str()))
                            .cloned()
                            .collect();
                        for k in keys {
                            self.archive.files.remove(&k);
                        }
                    }
                    // Rules live in nft, which this model of the router does not change.
                    Step::Service { .. } | Step::RestoreMappings { .. } => {}
                    Step::TruncateFile { path } => {
                        self.archive
                            .files
                            .insert(path.trim_start_matches('/').to_owned(), Vec::new());
                    }
                    Step::RevokeMapping {
                        proto,
                        ext_port,
                        int_addr,
                        int_port,
                        ..
                    } => {
                        let key = "var/run/miniupnpd.leases".to_owned();
                        let text = String::from_utf8(
                            self.archive.files.get(&key).cloned().unwrap_or_default(),
                        )
                        .unwrap();
                        let kept: String = text
                            .lines()
                            .filter(|l| {
                                !l.starts_with(&format!(
                                    "{}:{ext_port}:{int_addr}:{int_port}:",
                                    proto.as_str()
                                ))
                            })
                            .map(|l| format!("{l}\n"))
                            .collect();
                        self.archive.files.insert(key, kept.into_bytes());
                    }
                    _ => unreachable!(),
                }
            }
        }
    }
}
