//! Offline snapshots: a router's files (root directory or backup) into a [`Snapshot`].
//!
//! Missing files are normal (no miniupnpd, no leases yet) and simply leave their part empty;
//! unreadable or malformed ones become [`crate::snapshot::Problem`]s. Nothing here fails
//! except reading the snapshot container itself.
use super::RouterFiles;
use crate::formats::{conntrack, dhcp, leases, neighbours, nft, uci};
use crate::lan::{self, CredState, ProbeReport};
use crate::snapshot::{Release, RootPassword};
use crate::snapshot::{ServiceState, Snapshot, CONFIGS};

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

    let nft_json = nft_json.or_else(|| {
        read_file(files, &mut snap, NFT_DUMP_PATH).map(|b| (NFT_DUMP_PATH.to_owned(), b))
    });
    if let Some((source, bytes)) = nft_json {
        add_nft(&mut snap, source, &bytes);
    }
    snap
}

/// Takes in an `nft -j` dump, or records why it could not be read.
pub(crate) fn add_nft(snap: &mut Snapshot, source: String, bytes: &[u8]) {
    match nft::parse_ruleset(bytes) {
        Ok(ruleset) => snap.nft = Some(ruleset),
        Err(e) => snap.problem(source, None, e.to_string()),
    }
}

/// The router's own state files, read the same way offline and live (the daemon runs on the
/// router): release (unless the live source already knows it), root password, model, and the
/// UPnP and DHCP lease files named by the configs already in `snap`.
pub(crate) fn read_state_files(files: &dyn RouterFiles, snap: &mut Snapshot) {
    if snap.system.release.is_none() {
        snap.system.release = read_text(files, snap, "/etc/openwrt_release")
            .and_then(|t| Release::from_openwrt_release(&t))
            .or_else(|| {
                read_text(files, snap, "/usr/lib/os-release")
                    .and_then(|t| Release::from_os_release(&t))
            });
    }
    snap.system.root_password =
        read_text(files, snap, "/etc/shadow").and_then(|t| RootPassword::from_shadow(&t));
    if snap.system.model.is_none() {
        snap.system.model =
            read_text(files, snap, "/tmp/sysinfo/model").map(|m| m.trim().to_owned());
    }
    let (leases, leases6) = snap.upnp_lease_paths();
    if let Some(bytes) = read_file(files, snap, &leases) {
        snap.add_upnp_leases(&leases, leases::parse_leases(&bytes));
    }
    if let Some(bytes) = read_file(files, snap, &leases6) {
        snap.add_upnp_pinholes(&leases6, leases::parse_leases6(&bytes));
    }
    let (dnsmasq, odhcpd) = snap.dhcp_lease_paths();
    if let Some(bytes) = read_file(files, snap, &dnsmasq) {
        snap.add_dhcp_leases(&dnsmasq, dhcp::parse_dnsmasq_leases(&bytes));
    }
    if let Some(bytes) = read_file(files, snap, &odhcpd) {
        snap.add_dhcp_leases(&odhcpd, dhcp::parse_odhcpd_leases(&bytes));
    }
    read_lan(files, snap);
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

/// What camguard knows of the LAN beyond the configs and leases: the kernel's neighbour table
/// (devices without a lease), the connections to vendor clouds and P2P relays, its own record
/// of when each device was first and last seen and of what the probe found, and, when the
/// password check is on, what that check found.
fn read_lan(files: &dyn RouterFiles, snap: &mut Snapshot) {
    if let Some(arp) = read_file(files, snap, "/proc/net/arp") {
        let lan_devices = snap.lan_devices();
        let neighbours =
            neighbours::on_interfaces(neighbours::parse_proc_net_arp(&arp), &lan_devices);
        snap.lan.neighbours = neighbours;
    }
    match files.read_prefix(CONNTRACK_FILE, MAX_CONNTRACK_BYTES) {
        Ok(Some((bytes, more))) => {
            let table = conntrack::parse(&bytes, more);
            if table.truncated {
                snap.problem(
                    CONNTRACK_FILE.into(),
                    None,
                    format!(
                        "the table is larger than camguard reads ({} connections read, {} to \
                         relays kept): a camera's remote viewing may be missed",
                        table.lines,
                        table.flows.len()
                    ),
                );
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
        Ok(None) => {}
        Err(e) => snap.problem(CONNTRACK_FILE.into(), None, format!("cannot read it: {e}")),
    }
    if let Some(bytes) = read_file(files, snap, SEEN_FILE) {
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
        snap.lan.credentials = match read_file(files, snap, CREDCHECK_FILE) {
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
    let bytes = match files.read(&path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return,
        Err(e) => return snap.config_problem(name, path, None, format!("cannot read it: {e}")),
    };
    match uci::parse(name, &bytes) {
        Ok(package) => snap.set_config(package),
        Err(e) => snap.config_problem(
            name,
            path,
            Some(e.line),
            format!(
                "{}; camguard did not audit this config and will not change it",
                e.message
            ),
        ),
    }
}

fn read_file(files: &dyn RouterFiles, snap: &mut Snapshot, path: &str) -> Option<Vec<u8>> {
    match files.read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            snap.problem(path.to_owned(), None, format!("cannot read it: {e}"));
            None
        }
    }
}

fn read_text(files: &dyn RouterFiles, snap: &mut Snapshot, path: &str) -> Option<String> {
    read_file(files, snap, path).map(|b| String::from_utf8_lossy(&b).into_owned())
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
