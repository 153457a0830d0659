//! A small builder for router snapshots in tests: files by router path, read through the same
//! offline source the CLI uses.
#![allow(dead_code)]

use camguard::audit::{self, Finding, Report};
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

#[derive(Default)]
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
        let entry = self.archive.files.entry(key).or_default();
        entry.extend_from_slice(b"\n");
        entry.extend_from_slice(text.as_bytes());
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

    pub fn snapshot(self) -> Snapshot {
        let nft = self.nft.map(|j| ("nft.json".to_owned(), j));
        offline::read(&ArchiveFiles::new("test", self.archive), NOW, nft)
    }

    pub fn audit(self) -> Report {
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
