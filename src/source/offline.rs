//! Offline snapshots: a router's files (root directory or backup) into a [`Snapshot`].
//!
//! Missing files are normal (no miniupnpd, no leases yet) and simply leave their part empty;
//! unreadable or malformed ones become [`crate::snapshot::Problem`]s. Every file looked at is
//! recorded in the snapshot's coverage with how that went. Nothing here fails except reading
//! the snapshot container itself.
use super::{FileRead, RouterFiles};
use crate::formats::{conntrack, dhcp, leases, neighbours, nft, uci};
use crate::lan::{self, CredState, ProbeReport};
use crate::snapshot::{Release, RootPassword};
use crate::snapshot::{ServiceState, Snapshot, SourceState, CONFIGS};

/// Where an offline root may carry the router's `nft -j list ruleset` output.
pub const NFT_DUMP_PATH: &str = "/nft-ruleset.json";

/// Reads everything camguard audits from `files`, judged at Unix time `now`. `probes` are
/// the camera-port probe's latest reports (the daemon keeps them; none elsewhere).
pub fn read(
    files: &dyn RouterFiles,
    now: u64,
    nft_json: Option<(String, Vec<u8>)>,
    probes: &[ProbeReport],
) -> Snapshot {
    let mut snap = Snapshot::new(now, files.describe());
    snap.lan.probes = probes.to_vec();

    for name in CONFIGS {
        read_config(files, &mut snap, name);
    }
    snap.upnp.service = miniupnpd_service(files, snap.upnp.config.is_some());
    read_state_files(files, &mut snap);

    match (nft_json, files.stream(NFT_DUMP_PATH)) {
        (Some((source, bytes)), _) => add_nft(&mut snap, source, &bytes),
        // Streamed: at 10,000 mappings the dump is ~8 MB of text camguard need not hold.
        (None, Some(stream)) => {
            note_read(
                files,
                &mut snap,
                LIVE_RULESET,
                NFT_DUMP_PATH,
                Freshness::Runtime,
            );
            let parsed = nft::parse_ruleset_from(stream);
            add_ruleset(&mut snap, NFT_DUMP_PATH.to_owned(), parsed);
        }
        (None, None) => {
            if let Some(bytes) = read_file(
                files,
                &mut snap,
                LIVE_RULESET,
                NFT_DUMP_PATH,
                Freshness::Runtime,
            ) {
                add_nft(&mut snap, NFT_DUMP_PATH.to_owned(), &bytes);
            }
        }
    }
    read_includes(files, &mut snap);
    snap
}

/// What the coverage calls the `nft -j` dump.
pub(crate) const LIVE_RULESET: &str = "live firewall ruleset";

/// Takes in an `nft -j` dump, or records why it could not be read.
pub(crate) fn add_nft(snap: &mut Snapshot, source: String, bytes: &[u8]) {
    add_ruleset(snap, source, nft::parse_ruleset(bytes));
}

/// Takes in a parsed `nft -j` dump, or records why it could not be read.
pub(crate) fn add_ruleset(
    snap: &mut Snapshot,
    source: String,
    parsed: Result<nft::Ruleset, crate::formats::FormatError>,
) {
    match parsed {
        Ok(ruleset) => {
            snap.nft = Some(ruleset);
            snap.record(LIVE_RULESET, source, SourceState::Read, None);
        }
        Err(e) => {
            snap.record(
                LIVE_RULESET,
                source.clone(),
                SourceState::Unreadable,
                Some(e.to_string()),
            );
            snap.problem(source, None, e.to_string());
        }
    }
}

/// Firewall rules from outside /etc/config/firewall: `config include` scripts, the legacy
/// /etc/firewall.user and fw4's nft snippets in /etc/nftables.d. camguard reads only the
/// configs, so with no live ruleset to show their effect, they are listed as not audited.
fn read_includes(files: &dyn RouterFiles, snap: &mut Snapshot) {
    let mut candidates: Vec<String> = snap
        .firewall
        .as_ref()
        .map(|fw| fw.includes.clone())
        .unwrap_or_default();
    candidates.push("/etc/firewall.user".to_owned());
    candidates.extend(
        files
            .list("/etc/nftables.d")
            .into_iter()
            .filter(|n| n.ends_with(".nft"))
            .map(|n| format!("/etc/nftables.d/{n}")),
    );
    candidates.sort();
    candidates.dedup();
    for path in candidates {
        // Shipped files are comments only; only one with a rule in it opens anything.
        let has_rules = match files.read(&path) {
            Ok(FileRead::Whole(bytes) | FileRead::Truncated { bytes, .. }) => has_a_rule(&bytes),
            Ok(FileRead::Absent) | Err(_) => false,
        };
        if !has_rules {
            continue;
        }
        let (state, detail) = if snap.nft.is_some() {
            (
                SourceState::Read,
                "its rules are in the live ruleset camguard read",
            )
        } else {
            (
                SourceState::Unsupported,
                "not audited: camguard reads firewall configs, not include scripts or nft snippets; \
                 give it the live ruleset (--nft) to see what they open",
            )
        };
        snap.record("firewall include", path, state, Some(detail.to_owned()));
    }
}

/// Whether a script or nft snippet holds more than comments and blank lines.
fn has_a_rule(bytes: &[u8]) -> bool {
    bytes
        .split(|b| *b == b'\n')
        .map(|l| l.trim_ascii())
        .any(|l| !l.is_empty() && !l.starts_with(b"#"))
}

/// The router's own state files, read the same way offline and live (the daemon runs on the
/// router): release (unless the live source already knows it), root password, model, and the
/// UPnP and DHCP lease files named by the configs already in `snap`.
pub(crate) fn read_state_files(files: &dyn RouterFiles, snap: &mut Snapshot) {
    if snap.system.release.is_none() {
        let release = "OpenWrt release";
        snap.system.release = read_text(
            files,
            snap,
            release,
            "/etc/openwrt_release",
            Freshness::Config,
        )
        .and_then(|t| Release::from_openwrt_release(&t))
        .or_else(|| {
            read_text(
                files,
                snap,
                release,
                "/usr/lib/os-release",
                Freshness::Config,
            )
            .and_then(|t| Release::from_os_release(&t))
        });
    }
    snap.system.root_password = read_text(
        files,
        snap,
        "root account",
        "/etc/shadow",
        Freshness::Config,
    )
    .and_then(|t| RootPassword::from_shadow(&t));
    if snap.system.model.is_none() {
        snap.system.model = read_text(
            files,
            snap,
            "board name",
            "/tmp/sysinfo/model",
            Freshness::Config,
        )
        .map(|m| m.trim().to_owned());
    }
    let (leases, leases6) = snap.upnp_lease_paths();
    read_upnp_leases(files, snap, &leases);
    if let Some(bytes) = read_file(
        files,
        snap,
        "UPnP IPv6 pinhole file",
        &leases6,
        Freshness::Runtime,
    ) {
        snap.add_upnp_pinholes(&leases6, leases::parse_leases6(&bytes));
    }
    let (dnsmasq, odhcpd) = snap.dhcp_lease_paths();
    if let Some(bytes) = read_file(files, snap, "DHCP leases", &dnsmasq, Freshness::Runtime) {
        snap.add_dhcp_leases(&dnsmasq, dhcp::parse_dnsmasq_leases(&bytes));
    }
    if let Some(bytes) = read_file(files, snap, "DHCPv6 leases", &odhcpd, Freshness::Runtime) {
        snap.add_dhcp_leases(&odhcpd, dhcp::parse_odhcpd_leases(&bytes));
    }
    read_lan(files, snap);
}

/// miniupnpd's lease file, parsed as it is read where the source can stream it: a LAN device
/// can write 65,535 lines, whose text need not sit next to the parsed leases.
fn read_upnp_leases(files: &dyn RouterFiles, snap: &mut Snapshot, path: &str) {
    const WHAT: &str = "UPnP lease file";
    let Some(stream) = files.stream(path) else {
        if let Some(bytes) = read_file(files, snap, WHAT, path, Freshness::Runtime) {
            snap.add_upnp_leases(path, leases::parse_leases(&bytes));
        }
        return;
    };
    match leases::read_leases(std::io::BufReader::new(stream), super::MAX_FILE) {
        Ok(read) if read.cut => {
            note_time(files, snap, path);
            let detail = format!(
                "more than {} bytes; camguard read the first {} and did not audit the rest",
                super::MAX_FILE,
                read.bytes
            );
            snap.record(WHAT, path, SourceState::Truncated, Some(detail.clone()));
            snap.problem(path.to_owned(), None, detail);
            snap.add_upnp_leases(path, read.parsed);
        }
        Ok(read) => {
            note_read(files, snap, WHAT, path, Freshness::Runtime);
            snap.upnp.leases_read_to = Some(read.bytes);
            snap.add_upnp_leases(path, read.parsed);
        }
        Err(e) => {
            snap.record(WHAT, path, SourceState::Unreadable, Some(e.to_string()));
            snap.problem(path.to_owned(), None, format!("cannot read it: {e}"));
        }
    }
}

/// camguard's own record of devices seen (the daemon writes it).
pub const SEEN_FILE: &str = "/etc/camguard/seen.json";
/// The kernel's connection-tracking table: connections to vendor clouds and P2P relays.
pub const CONNTRACK_FILE: &str = "/proc/net/nf_conntrack";
/// Most of it read (about 9,000 connections): any LAN host can fill the table, and the daemon
/// has a few megabytes.
pub const MAX_CONNTRACK_BYTES: usize = 2 << 20;
/// The default-password check's memory (its worker writes it).
pub const CREDCHECK_FILE: &str = "/etc/camguard/credcheck.json";

/// The kernel's neighbour table, read up to [`neighbours::MAX_PROC_NET_ARP_BYTES`]: a LAN host
/// cycling addresses can grow it, and the parser keeps at most [`neighbours::MAX_NEIGHBOURS`].
fn read_neighbours(files: &dyn RouterFiles, snap: &mut Snapshot) {
    const WHAT: &str = "neighbour table";
    const ARP: &str = "/proc/net/arp";
    let arp = match files.read_prefix(ARP, neighbours::MAX_PROC_NET_ARP_BYTES) {
        Ok(Some((bytes, more))) => {
            if more {
                let detail = format!(
                    "the table is larger than camguard reads (the first {} bytes): devices \
                     after them are missed unless a lease names them",
                    neighbours::MAX_PROC_NET_ARP_BYTES
                );
                snap.record(WHAT, ARP, SourceState::Truncated, Some(detail.clone()));
                snap.problem(ARP.into(), None, detail);
            } else {
                note_read(files, snap, WHAT, ARP, Freshness::Runtime);
            }
            bytes
        }
        Ok(None) => return snap.record(WHAT, ARP, SourceState::Absent, None),
        Err(e) => {
            snap.record(WHAT, ARP, SourceState::Unreadable, Some(e.to_string()));
            return snap.problem(ARP.into(), None, format!("cannot read it: {e}"));
        }
    };
    let lan_devices = snap.lan_devices();
    snap.lan.neighbours =
        neighbours::on_interfaces(neighbours::parse_proc_net_arp(&arp), &lan_devices);
}

/// What camguard knows of the LAN beyond the configs and leases: the kernel's neighbour table
/// (devices without a lease), the connections to vendor clouds and P2P relays, its own record
/// of when each device was first and last seen and of what the probe found, and, when the
/// password check is on, what that check found.
fn read_lan(files: &dyn RouterFiles, snap: &mut Snapshot) {
    read_neighbours(files, snap);
    let what = "connection tracking";
    match files.read_prefix(CONNTRACK_FILE, MAX_CONNTRACK_BYTES) {
        Ok(Some((bytes, more))) => {
            let table = conntrack::parse(&bytes, more);
            if table.truncated {
                let detail = format!(
                    "the table is larger than camguard reads ({} connections read, {} to \
                     relays kept): a camera's remote viewing may be missed",
                    table.lines,
                    table.flows.len()
                );
                snap.record(
                    what,
                    CONNTRACK_FILE,
                    SourceState::Truncated,
                    Some(detail.clone()),
                );
                snap.problem(CONNTRACK_FILE.into(), None, detail);
            } else {
                snap.record(what, CONNTRACK_FILE, SourceState::Read, None);
            }
            if table.bad_lines > 0 {
                snap.problem(
                    CONNTRACK_FILE.into(),
                    None,
                    format!(
                        "{} of {} lines are not in the kernel's format and were skipped",
                        table.bad_lines, table.lines
                    ),
                );
            }
            snap.lan.conntrack = Some(table);
        }
        Ok(None) => snap.record(what, CONNTRACK_FILE, SourceState::Absent, None),
        Err(e) => {
            snap.record(
                what,
                CONNTRACK_FILE,
                SourceState::Unreadable,
                Some(e.to_string()),
            );
            snap.problem(CONNTRACK_FILE.into(), None, format!("cannot read it: {e}"));
        }
    }
    if let Some(bytes) = read_file(files, snap, "seen devices", SEEN_FILE, Freshness::Config) {
        match lan::seen::parse(&bytes) {
            Ok(file) => {
                snap.lan.seen = file.devices;
                snap.lan.probes = lan::seen::merge_probes(&snap.lan.probes, &file.probes);
                snap.lan.saved_probes = file.probes;
            }
            Err(e) => snap.problem(
                SEEN_FILE.into(),
                None,
                format!("{e}; delete it to start the device history afresh"),
            ),
        }
    }
    if snap.policy().is_ok_and(|p| p.credential_check) {
        let what = "password check's record";
        snap.lan.credentials = match read_file(files, snap, what, CREDCHECK_FILE, Freshness::Config)
        {
            None => Some(CredState::default()),
            Some(bytes) => match CredState::parse(&bytes) {
                Ok(state) => Some(state),
                Err(e) => {
                    snap.problem(
                        CREDCHECK_FILE.into(),
                        None,
                        format!("{e}; the default-password check is paused until it is deleted"),
                    );
                    None
                }
            },
        };
    }
}

/// libuci reads `/var/run/uci/<config>` instead of `/etc/config/<config>` when it exists
/// (pitfall 12), so a snapshot is read the same way.
fn read_config(files: &dyn RouterFiles, snap: &mut Snapshot, name: &str) {
    let override_path = format!("/var/run/uci/{name}");
    let path = if files.exists(&override_path) {
        override_path
    } else {
        format!("/etc/config/{name}")
    };
    let what = config_what(name);
    let bytes = match files.read(&path) {
        Ok(FileRead::Whole(bytes)) => bytes,
        Ok(FileRead::Absent) if REQUIRED_CONFIGS.contains(&name) => {
            let detail = "missing, though every OpenWrt router has it: this is not a whole router's snapshot";
            snap.record(what, path, SourceState::Unreadable, Some(detail.into()));
            return;
        }
        Ok(FileRead::Absent) => return snap.record(what, path, SourceState::Absent, None),
        // A config cut short cannot be parsed as what libuci reads: it is not audited.
        Ok(FileRead::Truncated { size, .. }) => {
            let message = format!("{size} bytes, more than a config can be");
            snap.record(
                what,
                path.clone(),
                SourceState::Unreadable,
                Some(message.clone()),
            );
            return snap.config_problem(name, path, None, message);
        }
        Err(e) => {
            snap.record(
                what,
                path.clone(),
                SourceState::Unreadable,
                Some(e.to_string()),
            );
            return snap.config_problem(name, path, None, format!("cannot read it: {e}"));
        }
    };
    note_time(files, snap, &path);
    match uci::parse(name, &bytes) {
        Ok(package) => {
            snap.record(what, path, SourceState::Read, None);
            snap.set_config(package);
        }
        Err(e) => {
            let message = format!(
                "{}; camguard did not audit this config and will not change it",
                e.message
            );
            let detail = format!("line {}: {}", e.line, e.message);
            snap.record(what, path.clone(), SourceState::Unreadable, Some(detail));
            snap.config_problem(name, path, Some(e.line), message);
        }
    }
}

/// Every OpenWrt router has these (first boot writes them): a snapshot without one is not a
/// router's whole state, and an audit of it must not call the router clean.
pub const REQUIRED_CONFIGS: &[&str] = &["firewall"];

/// What the coverage calls a config.
pub(crate) fn config_what(name: &str) -> &'static str {
    match name {
        "firewall" => "firewall config",
        "upnpd" => "UPnP config",
        "dhcp" => "DHCP config",
        "network" => "network config",
        "wireless" => "Wi-Fi config",
        "dropbear" => "SSH config",
        "uhttpd" => "web server config",
        "system" => "system config",
        "camguard" => "camguard policy",
        _ => "config",
    }
}

/// Whether a file says what the router does now (leases, the neighbour table, a ruleset dump)
/// or what it is configured to do: only the first goes stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    Runtime,
    Config,
}

pub use crate::snapshot::coverage::STALE_AFTER;

/// Records a file read whole: read, or stale when runtime state was last written long before.
fn note_read(
    files: &dyn RouterFiles,
    snap: &mut Snapshot,
    what: &'static str,
    path: &str,
    freshness: Freshness,
) {
    let modified = note_time(files, snap, path);
    let age = modified.map(|m| snap.taken_at.saturating_sub(m));
    match age.filter(|a| freshness == Freshness::Runtime && *a > STALE_AFTER) {
        Some(age) => {
            let detail = format!(
                "last written {}, {} before the audit's time",
                crate::time::datetime(snap.taken_at - age),
                crate::time::duration_words(age)
            );
            snap.record(what, path, SourceState::Stale, Some(detail));
        }
        None => snap.record(what, path, SourceState::Read, None),
    }
}

/// Reads one file and records how that went; returns what can be audited (a truncated file's
/// leading lines too).
pub(crate) fn read_file(
    files: &dyn RouterFiles,
    snap: &mut Snapshot,
    what: &'static str,
    path: &str,
    freshness: Freshness,
) -> Option<Vec<u8>> {
    match files.read(path) {
        Ok(FileRead::Absent) => {
            snap.record(what, path, SourceState::Absent, None);
            None
        }
        Ok(FileRead::Whole(bytes)) => {
            note_read(files, snap, what, path, freshness);
            Some(bytes)
        }
        Ok(FileRead::Truncated { bytes, size }) => {
            note_time(files, snap, path);
            let detail = format!(
                "{size} bytes; camguard read the first {} and did not audit the rest",
                bytes.len()
            );
            snap.record(what, path, SourceState::Truncated, Some(detail.clone()));
            snap.problem(path.to_owned(), None, detail);
            Some(bytes)
        }
        Err(e) => {
            snap.record(what, path, SourceState::Unreadable, Some(e.to_string()));
            snap.problem(path.to_owned(), None, format!("cannot read it: {e}"));
            None
        }
    }
}

/// Keeps the newest file time of the snapshot.
fn note_time(files: &dyn RouterFiles, snap: &mut Snapshot, path: &str) -> Option<u64> {
    let modified = files.modified(path);
    if let Some(m) = modified {
        snap.newest_file = Some(snap.newest_file.map_or(m, |n| n.max(m)));
    }
    modified
}

fn read_text(
    files: &dyn RouterFiles,
    snap: &mut Snapshot,
    what: &'static str,
    path: &str,
    freshness: Freshness,
) -> Option<String> {
    read_file(files, snap, what, path, freshness).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// What the files say about miniupnpd; running is unknowable offline.
fn miniupnpd_service(files: &dyn RouterFiles, has_config: bool) -> ServiceState {
    let installed = if files.exists("/usr/sbin/miniupnpd")
        || files.exists("/etc/init.d/miniupnpd")
        || has_config
    {
        Some(true)
    } else if files.exists("/usr/sbin") {
        Some(false)
    } else {
        None
    };
    let enabled = files.exists("/etc/rc.d").then(|| {
        files
            .list("/etc/rc.d")
            .iter()
            .any(|n| n.starts_with('S') && n.ends_with("miniupnpd"))
    });
    ServiceState {
        installed,
        enabled,
        running: None,
    }
}
