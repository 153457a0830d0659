//! The typed model of one router's state at one moment: what every later stage reads.
//!
//! Two sources fill it — offline ([`crate::source::offline`]: a root directory or a backup) and
//! live (ubus) — through the same `set_config`/`add_*` methods, so audit and plan cannot tell
//! them apart. Nothing here does I/O.
pub mod coverage;
pub mod firewall;
pub mod network;
pub mod policy;
pub mod services;
pub mod system;
pub mod upnpd;
pub mod values;
pub mod wireless;

use std::net::IpAddr;

use serde::Serialize;

pub use firewall::Firewall;
pub use network::{DhcpConfig, Network};
pub use services::Dropbear;
pub use system::{Release, RootPassword, System};
pub use upnpd::UpnpConfig;
pub use wireless::Wireless;

pub use coverage::{Coverage, Source, SourceState};
pub use policy::{Policy, PolicyError};

use crate::formats::dhcp::DhcpLease;
use crate::formats::leases::{Lease, Pinhole};
use crate::formats::linefile::Parsed;
use crate::formats::nft::Ruleset;
use crate::formats::uci::Package;
use crate::lan::LanObservations;
use crate::mac::Mac;

/// Where miniupnpd keeps mappings when its config does not name a file (the shipped path).
pub const DEFAULT_UPNP_LEASE_FILE: &str = "/var/run/miniupnpd.leases";
pub const DEFAULT_UPNP_LEASE_FILE6: &str = "/var/run/miniupnpd.leases6";
pub const DEFAULT_DNSMASQ_LEASE_FILE: &str = "/tmp/dhcp.leases";
pub const DEFAULT_ODHCPD_LEASE_FILE: &str = "/tmp/hosts/odhcpd";

/// The UCI configs camguard reads.
pub const CONFIGS: &[&str] = &[
    "firewall", "upnpd", "dhcp", "network", "wireless", "dropbear", "uhttpd", "system", "camguard",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// Unix time the snapshot stands for; lease expiry is judged against it.
    pub taken_at: u64,
    /// Where it came from, for people ("root directory examples/home", "live router").
    pub origin: String,
    pub system: System,
    pub network: Network,
    pub dhcp: DhcpConfig,
    /// `None`: no firewall config (or an unreadable one, see `problems`).
    pub firewall: Option<Firewall>,
    pub upnp: UpnpState,
    pub wireless: Option<Wireless>,
    pub dropbear: Vec<Dropbear>,
    pub uhttpd_ports: Vec<u16>,
    pub dhcp_leases: Vec<DhcpLease>,
    /// luci-rpc getHostHints (live only).
    pub host_hints: Vec<HostHint>,
    /// The ruleset in effect, when it could be read.
    pub nft: Option<Ruleset>,
    /// /etc/config/camguard as the owner's policy: `None` without the file. [`Snapshot::policy`]
    /// is what the later stages use.
    #[serde(skip)]
    pub policy_file: Option<Result<Policy, PolicyError>>,
    /// Everything that could not be read, so that nothing is silently assumed.
    pub problems: Vec<Problem>,
    /// Every source the read stage looked at, and how that went.
    pub sources: Vec<Source>,
    /// The newest modification time among the router files read, where the source knows it.
    pub newest_file: Option<u64>,
    /// What the live daemon observed on the LAN (neighbours, probes, first/last seen, the
    /// default-password check's state); empty offline.
    #[serde(skip)]
    pub lan: LanObservations,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpnpState {
    /// `None`: no /etc/config/upnpd, i.e. miniupnpd is not installed (or the config is unreadable).
    pub config: Option<UpnpConfig>,
    pub service: ServiceState,
    pub leases: Vec<Lease>,
    /// How many bytes of whole lines of the lease file the read stage parsed, when it read the
    /// file as a stream: where the daemon picks up appends without reading every line again.
    #[serde(skip)]
    pub leases_read_to: Option<u64>,
    pub pinholes: Vec<Pinhole>,
}

/// What procd/rc know about a service; `None` where the source cannot tell (offline).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServiceState {
    pub installed: Option<bool>,
    /// The init script is enabled (`/etc/rc.d/S94miniupnpd` exists).
    pub enabled: Option<bool>,
    pub running: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostHint {
    pub mac: Mac,
    pub ips: Vec<IpAddr>,
    /// LAN-controlled (DHCP or reverse DNS): cleaned.
    pub name: Option<String>,
}

/// Something that could not be read. A config with a problem is not audited as if it were
/// absent: the audit reports it, and enforcement leaves that config alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// File path or ubus call.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
    /// The UCI config that could not be read as a whole, if that is what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

impl Snapshot {
    pub fn new(taken_at: u64, origin: impl Into<String>) -> Snapshot {
        Snapshot {
            taken_at,
            origin: origin.into(),
            ..Snapshot::default()
        }
    }

    /// Takes in one UCI package, typed by its name.
    pub fn set_config(&mut self, package: Package) {
        match package.name.as_str() {
            "firewall" => self.firewall = Some(Firewall::from_uci(&package)),
            "upnpd" => {
                self.upnp.config = UpnpConfig::from_uci(&package);
                if self.upnp.config.is_none() {
                    self.problem(
                        format!("/etc/config/{}", package.name),
                        None,
                        "no `config upnpd 'config'` section and no other upnpd section: \
                         miniupnpd's init script starts nothing",
                    );
                }
            }
            "network" => {
                let wan = self.network.wan.take();
                self.network = Network::from_uci(&package);
                self.network.wan = wan;
            }
            "dhcp" => self.dhcp = DhcpConfig::from_uci(&package),
            "wireless" => self.wireless = Some(Wireless::from_uci(&package)),
            "dropbear" => self.dropbear = services::dropbear_from_uci(&package),
            "uhttpd" => self.uhttpd_ports = services::uhttpd_ports(&package),
            "system" => {
                self.system.hostname = package
                    .sections_of_type("system")
                    .next()
                    .and_then(|s| s.get_str("hostname"))
                    .map(str::to_owned)
            }
            "camguard" => self.policy_file = Some(Policy::from_uci(&package)),
            _ => {}
        }
    }

    /// The owner's policy: /etc/config/camguard, or the shipped defaults without one.
    pub fn policy(&self) -> Result<&Policy, &PolicyError> {
        static SHIPPED: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(Policy::default);
        match &self.policy_file {
            Some(parsed) => parsed.as_ref(),
            None => Ok(&SHIPPED),
        }
    }

    /// Records how reading one source went.
    pub fn record(
        &mut self,
        what: &'static str,
        path: impl Into<String>,
        state: SourceState,
        detail: Option<String>,
    ) {
        self.sources.push(Source {
            what,
            path: path.into(),
            state,
            detail,
        });
    }

    /// Whether every source the audit needs was read whole.
    pub fn coverage_complete(&self) -> bool {
        !self.sources.iter().any(|s| s.state.leaves_a_gap())
    }

    /// The report's coverage.
    pub fn coverage(&self) -> Coverage {
        Coverage {
            complete: self.coverage_complete(),
            newest_file: self.newest_file,
            sources: self.sources.clone(),
        }
    }

    /// Records a config that exists but could not be read.
    pub fn config_problem(
        &mut self,
        config: &str,
        source: String,
        line: Option<usize>,
        message: String,
    ) {
        self.problems.push(Problem {
            source,
            line,
            message,
            config: Some(config.to_owned()),
        });
    }

    pub fn problem(&mut self, source: String, line: Option<usize>, message: impl Into<String>) {
        self.problems.push(Problem {
            source,
            line,
            message: message.into(),
            config: None,
        });
    }

    /// Whether a config was present but unreadable.
    pub fn config_unreadable(&self, config: &str) -> bool {
        self.problems
            .iter()
            .any(|p| p.config.as_deref() == Some(config))
    }

    pub fn add_upnp_leases(&mut self, source: &str, parsed: Parsed<Lease>) {
        // Moved, not copied, when it is the first file: it may hold 65,535 lines.
        if self.upnp.leases.is_empty() {
            self.upnp.leases = parsed.entries;
            self.upnp.leases.shrink_to_fit();
        } else {
            self.upnp.leases.extend(parsed.entries);
        }
        self.bad_lines(source, parsed.bad_lines);
    }

    pub fn add_upnp_pinholes(&mut self, source: &str, parsed: Parsed<Pinhole>) {
        self.upnp.pinholes.extend(parsed.entries);
        self.bad_lines(source, parsed.bad_lines);
    }

    pub fn add_dhcp_leases(&mut self, source: &str, parsed: Parsed<DhcpLease>) {
        self.dhcp_leases.extend(parsed.entries);
        self.bad_lines(source, parsed.bad_lines);
    }

    fn bad_lines(&mut self, source: &str, bad: Vec<crate::formats::linefile::BadLine>) {
        for b in bad {
            self.problem(source.to_owned(), Some(b.line), b.message);
        }
    }

    /// The lease files miniupnpd uses: as configured, else the shipped default paths.
    pub fn upnp_lease_paths(&self) -> (String, String) {
        let cfg = self.upnp.config.as_ref();
        (
            cfg.and_then(|c| c.lease_file.clone())
                .unwrap_or_else(|| DEFAULT_UPNP_LEASE_FILE.into()),
            cfg.and_then(|c| c.lease_file6.clone())
                .unwrap_or_else(|| DEFAULT_UPNP_LEASE_FILE6.into()),
        )
    }

    /// dnsmasq's and odhcpd's lease files: as configured, else the defaults.
    pub fn dhcp_lease_paths(&self) -> (String, String) {
        (
            self.dhcp
                .dnsmasq_leasefile
                .clone()
                .unwrap_or_else(|| DEFAULT_DNSMASQ_LEASE_FILE.into()),
            self.dhcp
                .odhcpd_leasefile
                .clone()
                .unwrap_or_else(|| DEFAULT_ODHCPD_LEASE_FILE.into()),
        )
    }

    /// The LAN interfaces' devices (`br-lan`), for filtering the neighbour table.
    pub fn lan_devices(&self) -> Vec<&str> {
        self.network
            .interfaces
            .iter()
            .filter(|i| !i.is_wan() && i.proto == "static" && i.name != "loopback")
            .filter_map(|i| i.device.as_deref())
            .collect()
    }
}
