//! The live router: rpcd, procd and netifd over ubus, plus the local files the daemon can read
//! because it runs on the router (lease files, /etc/shadow), plus the ruleset in effect.
//!
//! Every call has a deadline (the [`Bus`] enforces it) and a missing object — no luci-rpc, no
//! miniupnpd, no nft — leaves its part unknown, never an error.
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::offline::{add_ruleset, config_what, read_state_files, LIVE_RULESET, REQUIRED_CONFIGS};
use super::{ReadError, RouterFiles};
use crate::bus::{status, Bus, BusError};
use crate::encode::json;
use crate::formats::uci::Package;
use crate::json::Value;
use crate::lan::ProbeReport;
use crate::snapshot::network::WanStatus;
use crate::snapshot::{HostHint, Release, ServiceState, Snapshot, SourceState, CONFIGS};
use crate::text::lan_text;

/// Where the ruleset in effect comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NftSource {
    /// Read fw4's table from the kernel over nf_tables netlink ([`super::nftables`]); where
    /// netlink is refused, run `nft -j list table inet fw4` (on the router).
    Command,
    /// Read an `nft -j` dump from a file (tests, demos).
    File(PathBuf),
    /// Do not read it: the checks that need it are skipped.
    Off,
}

/// The command the live ruleset comes from.
const NFT_COMMAND: &str = "nft -j list table inet fw4";

/// How long `nft -j list` may take before it is abandoned.
const NFT_TIMEOUT: Duration = Duration::from_secs(3);

/// Reads the live router at Unix time `now`. `probes` are the camera-port probe's latest
/// reports (the daemon keeps them; none elsewhere).
pub fn read(
    bus: &mut dyn Bus,
    files: &dyn RouterFiles,
    now: u64,
    nft: &NftSource,
    probes: &[ProbeReport],
) -> Snapshot {
    let mut snap = Snapshot::new(now, "live router");
    snap.lan.probes = probes.to_vec();
    read_configs(bus, &mut snap);
    read_system(bus, &mut snap);
    snap.upnp.service = miniupnpd_service(bus, files, &mut snap);
    read_wan(bus, &mut snap);
    read_host_hints(bus, &mut snap);
    read_state_files(files, &mut snap);
    match nft {
        NftSource::Off => {}
        NftSource::File(path) => match std::fs::File::open(path) {
            Ok(file) => add_ruleset(
                &mut snap,
                path.display().to_string(),
                crate::formats::nft::parse_ruleset_from(file),
            ),
            Err(e) => {
                let path = path.display().to_string();
                snap.record(
                    LIVE_RULESET,
                    path.clone(),
                    SourceState::Unreadable,
                    Some(e.to_string()),
                );
                snap.problem(path, None, format!("cannot read it: {e}"));
            }
        },
        NftSource::Command => {
            let (source, read) = read_fw4();
            match read {
                Ok(Some(parsed)) => add_ruleset(&mut snap, source.into(), parsed),
                // No fw4 table (an iptables router), or no nft: nothing camguard can read there.
                Ok(None) => snap.record(LIVE_RULESET, source, SourceState::Absent, None),
                Err(e) => {
                    snap.record(
                        LIVE_RULESET,
                        source,
                        SourceState::Unreadable,
                        Some(e.to_string()),
                    );
                    snap.problem(source.into(), None, e.to_string());
                }
            }
        }
    }
    snap
}

/// The ubus objects a live audit reads: when one of them appears on the bus after an audit
/// that could not read it (rpcd starting after camguard), the daemon audits again.
pub const OBJECTS_READ: &[&str] = &[
    "uci",
    "rc",
    "service",
    "system",
    "network.interface",
    "luci-rpc",
];

/// `uci configs` tells a config that is absent from one libuci cannot parse (rpcd answers
/// `get` with NOT_FOUND for both). Without it — rpcd not (yet) running — nothing is known about
/// any config, and the coverage says so rather than taking every config as absent.
fn read_configs(bus: &mut dyn Bus, snap: &mut Snapshot) {
    let known: Vec<String> = match bus.call("uci", "configs", &json!({})) {
        Ok(v) => v
            .get("configs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        Err(e) => {
            let detail = format!("rpcd's uci object did not answer ({e}): is rpcd running?");
            for name in CONFIGS {
                let path = format!("/etc/config/{name}");
                snap.record(
                    config_what(name),
                    path,
                    SourceState::Unreadable,
                    Some(detail.clone()),
                );
            }
            snap.problem("ubus call uci configs".into(), None, detail);
            return;
        }
    };
    for name in CONFIGS {
        let what = config_what(name);
        let path = format!("/etc/config/{name}");
        let source = format!("ubus call uci get {{\"config\":\"{name}\"}}");
        match bus.call("uci", "get", &json!({ "config": name })) {
            Ok(reply) => match Package::from_rpcd(name, &reply) {
                Ok(package) => {
                    snap.record(what, path, SourceState::Read, None);
                    snap.set_config(package);
                }
                Err(e) => {
                    snap.record(what, path, SourceState::Unreadable, Some(e.to_string()));
                    snap.config_problem(name, source, None, e.to_string());
                }
            },
            Err(BusError::Status(status::NOT_FOUND)) if known.iter().any(|c| c == name) => {
                let message = "libuci cannot load it (a syntax error?); camguard did not audit this config and will not change it";
                snap.record(what, path, SourceState::Unreadable, Some(message.into()));
                snap.config_problem(name, source, None, message.into());
            }
            Err(BusError::Status(status::NOT_FOUND)) if REQUIRED_CONFIGS.contains(name) => {
                let detail = "rpcd does not know it, though every OpenWrt router has it";
                snap.record(what, path, SourceState::Unreadable, Some(detail.into()));
            }
            Err(BusError::Status(status::NOT_FOUND)) => {
                snap.record(what, path, SourceState::Absent, None);
            }
            Err(e) => {
                snap.record(what, path, SourceState::Unreadable, Some(e.to_string()));
                snap.config_problem(name, source, None, format!("could not be read: {e}"));
            }
        }
    }
}

fn read_system(bus: &mut dyn Bus, snap: &mut Snapshot) {
    let Some(board) = call(
        bus,
        snap,
        "board and release",
        "system",
        "board",
        Needed::Yes,
    ) else {
        return;
    };
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(release) = board.get("release") {
        if let Some(version) = text(release, "version") {
            snap.system.release = Some(Release {
                distribution: text(release, "distribution"),
                version,
                revision: text(release, "revision"),
                target: text(release, "target"),
                description: text(release, "description"),
            });
        }
    }
    snap.system.model = text(&board, "model");
    if snap.system.hostname.is_none() {
        snap.system.hostname = text(&board, "hostname");
    }
}

/// rc knows whether the init script exists and is enabled; procd whether an instance runs.
fn miniupnpd_service(
    bus: &mut dyn Bus,
    files: &dyn RouterFiles,
    snap: &mut Snapshot,
) -> ServiceState {
    let mut state = ServiceState::default();
    let what = "init scripts";
    if let Some(rc) = call_with(
        bus,
        snap,
        what,
        "rc",
        "list",
        json!({ "name": "miniupnpd" }),
        Needed::Yes,
    ) {
        match rc.get("miniupnpd") {
            Some(entry) => {
                state.installed = Some(true);
                state.enabled = entry.get("enabled").and_then(Value::as_bool);
            }
            // rpcd's rc list leaves out init scripts that are not executable and root-owned:
            // the daemon itself on disk still says installed.
            None => state.installed = Some(files.exists("/usr/sbin/miniupnpd")),
        }
    }
    let what = "running services";
    if let Some(list) = call_with(
        bus,
        snap,
        what,
        "service",
        "list",
        json!({ "name": "miniupnpd" }),
        Needed::Yes,
    ) {
        let running = list
            .get("miniupnpd")
            .and_then(|s| s.get("instances"))
            .and_then(Value::as_object)
            .is_some_and(|instances| {
                instances
                    .values()
                    .any(|i| i.get("running").and_then(Value::as_bool) == Some(true))
            });
        state.running = Some(running);
    }
    state
}

/// The WAN the way OpenWrt's network_find_wan finds it: the first interface (not loopback)
/// with a default route in the main table (openwrt-facts §4.7).
fn read_wan(bus: &mut dyn Bus, snap: &mut Snapshot) {
    let Some(dump) = call(
        bus,
        snap,
        "interface status",
        "network.interface",
        "dump",
        Needed::Yes,
    ) else {
        return;
    };
    let Some(interfaces) = dump.get("interface").and_then(Value::as_array) else {
        return;
    };
    let wan = interfaces.iter().find(|i| {
        i.get("interface").and_then(Value::as_str) != Some("loopback")
            && i.get("route")
                .and_then(Value::as_array)
                .is_some_and(|routes| {
                    routes.iter().any(|r| {
                        r.get("target").and_then(Value::as_str) == Some("0.0.0.0")
                            && r.get("mask").and_then(Value::as_u64) == Some(0)
                            && r.get("table").is_none()
                    })
                })
    });
    if let Some(w) = wan {
        snap.network.wan = Some(WanStatus {
            interface: w
                .get("interface")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            device: w
                .get("l3_device")
                .and_then(Value::as_str)
                .map(str::to_owned),
            address: w
                .get("ipv4-address")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|a| a.get("address"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
}

/// Whether a live audit misses something when an object does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needed {
    Yes,
    /// Its object is missing on routers without an optional package.
    No,
}

fn call(
    bus: &mut dyn Bus,
    snap: &mut Snapshot,
    what: &'static str,
    object: &str,
    method: &str,
    needed: Needed,
) -> Option<Value> {
    call_with(bus, snap, what, object, method, json!({}), needed)
}

/// One ubus call, recorded in the coverage with how it went.
fn call_with(
    bus: &mut dyn Bus,
    snap: &mut Snapshot,
    what: &'static str,
    object: &str,
    method: &str,
    args: Value,
    needed: Needed,
) -> Option<Value> {
    let path = format!("ubus call {object} {method}");
    match bus.call(object, method, &args) {
        Ok(reply) => {
            snap.record(what, path, SourceState::Read, None);
            Some(reply)
        }
        Err(BusError::Status(status::NOT_FOUND)) if needed == Needed::No => {
            snap.record(what, path, SourceState::Absent, None);
            None
        }
        Err(e) => {
            snap.record(what, path, SourceState::Unreadable, Some(e.to_string()));
            None
        }
    }
}

/// luci-rpc getHostHints, in both shapes: `ipaddrs`/`ip6addrs` arrays (since 2021) and the
/// older single `ipv4`/`ipv6` keys. Names come from DHCP clients and reverse DNS: cleaned.
fn read_host_hints(bus: &mut dyn Bus, snap: &mut Snapshot) {
    // luci-rpc comes with LuCI: a router without LuCI has no host hints, and that is normal.
    let Some(hints) = call(
        bus,
        snap,
        "host hints",
        "luci-rpc",
        "getHostHints",
        Needed::No,
    ) else {
        return;
    };
    let Some(hints) = hints.as_object() else {
        return;
    };
    for (mac, hint) in hints {
        let Ok(mac) = mac.parse() else { continue };
        let mut ips: Vec<std::net::IpAddr> = Vec::new();
        for key in ["ipaddrs", "ip6addrs", "ipv4", "ipv6"] {
            match hint.get(key) {
                Some(Value::Array(a)) => ips.extend(
                    a.iter()
                        .filter_map(|v| v.as_str()?.parse::<std::net::IpAddr>().ok()),
                ),
                Some(Value::String(s)) => ips.extend(s.parse::<std::net::IpAddr>().ok()),
                _ => {}
            }
        }
        let name = hint
            .get("name")
            .and_then(Value::as_str)
            .map(|n| lan_text(n.as_bytes()));
        snap.host_hints.push(HostHint { mac, ips, name });
    }
}

type Parsed = Result<crate::formats::nft::Ruleset, crate::formats::FormatError>;

/// What the coverage names as the source of a ruleset read over netlink.
const NETLINK_SOURCE: &str = "nf_tables netlink: table inet fw4";

/// fw4's table over netlink, or with nft where netlink is refused (no CAP_NET_ADMIN, a kernel
/// without nf_tables): where it came from, and the parsed ruleset (None: no fw4 table).
fn read_fw4() -> (&'static str, Result<Option<Parsed>, ReadError>) {
    use super::nftables::{read_table, Chains};
    match read_table("fw4", Chains::All, |dump| {
        crate::formats::nft::parse_ruleset_items(dump)
    }) {
        Ok(found) => (NETLINK_SOURCE, Ok(found)),
        Err(e) => {
            log::debug!("nf_tables netlink: {e}; listing with nft instead");
            (NFT_COMMAND, run_nft_parsed())
        }
    }
}

/// Only miniupnpd's chains of fw4's table, over netlink (nft where netlink is refused): what a
/// revoke's checks read. None: no fw4 table, or neither could be read.
pub(crate) fn read_upnp_chains() -> Option<crate::formats::nft::Ruleset> {
    use super::nftables::{read_table, Chains};
    const UPNP_CHAINS: &[&str] = &["upnp_forward", "upnp_prerouting", "upnp_postrouting"];
    match read_table("fw4", Chains::Only(UPNP_CHAINS), |dump| {
        crate::formats::nft::parse_ruleset_items(dump)
    }) {
        Ok(found) => found.and_then(Result::ok),
        Err(_) => run_nft_parsed().ok().flatten().and_then(Result::ok),
    }
}

/// `nft -j list table inet fw4`, parsed as nft prints it: its output is never held whole (with
/// every port mapped it is ~50 MB). No nft, or no fw4 table (an iptables router): `None`.
fn run_nft_parsed() -> Result<Option<Parsed>, ReadError> {
    run_nft_with(crate::formats::nft::parse_ruleset_from)
}

/// Runs nft and hands its output to `take` on a thread of its own, within [`NFT_TIMEOUT`].
fn run_nft_with<T: Send + 'static>(
    take: impl FnOnce(std::process::ChildStdout) -> T + Send + 'static,
) -> Result<Option<T>, ReadError> {
    let mut child = match Command::new("nft")
        .args(["-j", "list", "table", "inet", "fw4"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::NftNotStarted(e)),
    };
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(ReadError::NftWaitFailed(std::io::Error::other("no stdout")));
    };
    let reader = std::thread::spawn(move || take(stdout));
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let out = reader.join().map_err(|_| {
                    ReadError::NftWaitFailed(std::io::Error::other("reader failed"))
                })?;
                return Ok(status.success().then_some(out));
            }
            Ok(None) if started.elapsed() > NFT_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ReadError::NftTimedOut { after: NFT_TIMEOUT });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(ReadError::NftWaitFailed(e)),
        }
    }
}
