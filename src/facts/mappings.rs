//! The UPnP mappings of a router, joined from the live ruleset and miniupnpd's lease file, and
//! whether miniupnpd serves at all.
use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::formats::leases::Lease;
use crate::formats::nft::Ruleset;
use crate::ports::Protocol;
use crate::snapshot::Snapshot;

/// Whether miniupnpd is, or will be, serving: configured on and not known to be disabled or
/// stopped, or seen running whatever the config says.
pub fn upnp_active(snap: &Snapshot) -> bool {
    let svc = snap.upnp.service;
    if svc.running == Some(true) {
        return true;
    }
    let Some(cfg) = &snap.upnp.config else {
        // A config libuci cannot parse says nothing either way: what the lease file holds is
        // still what miniupnpd replays, unless it is known not to run.
        return snap.config_unreadable("upnpd")
            && svc.running != Some(false)
            && svc.installed != Some(false);
    };
    cfg.enabled
        && cfg.serves_anything()
        && svc.running != Some(false)
        && svc.installed != Some(false)
}

/// A port mapping, joined from the nft chain (ground truth) and the lease file (description
/// and expiry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping<'a> {
    pub proto: Protocol,
    pub ext_port: u16,
    /// The live rule matches every external port (miniupnpd writes no port match for UDPLITE).
    pub every_port: bool,
    pub int_addr: IpAddr,
    pub int_port: u16,
    /// In the live ruleset now. A lease line without a rule is not forwarding traffic, but
    /// miniupnpd re-creates it from the file at its next start (and a forged line is exactly
    /// that: pitfall 9).
    pub live: bool,
    /// Where it was seen: "nft" (a live rule) or "lease file".
    pub source: &'static str,
    /// The nft rule handle in `upnp_prerouting`, when live.
    pub handle: Option<u64>,
    pub lease: Option<&'a Lease>,
    /// Its lease has run out: miniupnpd drops it at its next cleanup and does not re-create it
    /// from the file, but a live rule forwards until then.
    pub expired: bool,
}

/// Whether this ruleset is firewall4's (an `inet fw4` table), so its UPnP chains are meaningful.
pub fn is_fw4(ruleset: &Ruleset) -> bool {
    ruleset
        .chains
        .iter()
        .any(|c| c.family == "inet" && c.table == "fw4")
}

fn lease_only(l: &Lease, live: bool, now: u64) -> Mapping<'_> {
    Mapping {
        expired: lease_expired(l, now),
        proto: l.proto,
        ext_port: l.ext_port,
        every_port: false,
        int_addr: IpAddr::V4(l.int_addr),
        int_port: l.int_port,
        live,
        source: "lease file",
        handle: None,
        lease: Some(l),
    }
}

fn lease_expired(l: &Lease, now: u64) -> bool {
    l.expires != 0 && l.expires <= now
}

/// The mappings of a router. With the live ruleset, its `upnp_prerouting` DNATs are the live
/// mappings (fw4 reloads empty the chains while the lease file still lists them, pitfall 3) and
/// lease lines without a rule are dormant; without it, the lease lines of a serving miniupnpd.
/// Dormant and lease-only mappings are only reported while miniupnpd serves; expired ones are
/// kept and marked. Linear in rules plus leases.
pub fn mappings(snap: &Snapshot) -> Vec<Mapping<'_>> {
    let active = upnp_active(snap);
    let now = snap.taken_at;
    let Some(ruleset) = snap.nft.as_ref().filter(|r| is_fw4(r)) else {
        if !active {
            return Vec::new();
        }
        // Without the ruleset an unexpired lease of a serving miniupnpd is taken as live; an
        // expired one is listed as expired, not left out.
        return snap
            .upnp
            .leases
            .iter()
            .map(|l| lease_only(l, !lease_expired(l, now), now))
            .collect();
    };
    let mut by_key: HashMap<(Protocol, u16, IpAddr), Vec<usize>> = HashMap::new();
    for (i, l) in snap.upnp.leases.iter().enumerate() {
        by_key
            .entry((l.proto, l.ext_port, IpAddr::V4(l.int_addr)))
            .or_default()
            .push(i);
    }
    let mut matched = vec![false; snap.upnp.leases.len()];
    let mut out = Vec::new();
    for r in ruleset.upnp_redirects() {
        let Some(proto) = r.proto else { continue };
        let lease_index = match r.ext_port() {
            Some(port) => by_key.get(&(proto, port, r.int_addr)).and_then(|ix| {
                ix.iter()
                    .copied()
                    .find(|&i| r.int_port.is_none_or(|p| p == snap.upnp.leases[i].int_port))
            }),
            // A rule for a range or every port: the lease of that protocol and host it covers.
            None => snap.upnp.leases.iter().position(|l| {
                l.proto == proto
                    && IpAddr::V4(l.int_addr) == r.int_addr
                    && r.covers_ext_port(l.ext_port)
            }),
        };
        if let Some(i) = lease_index {
            matched[i] = true;
        }
        let lease = lease_index.map(|i| &snap.upnp.leases[i]);
        let ext_port = r
            .ext_port()
            .or(lease.map(|l| l.ext_port))
            .unwrap_or(r.ext_ports.first().map_or(0, |p| p.0));
        out.push(Mapping {
            proto,
            ext_port,
            every_port: r.ext_ports.is_empty(),
            int_addr: r.int_addr,
            int_port: r.int_port.or(lease.map(|l| l.int_port)).unwrap_or(ext_port),
            live: true,
            source: "nft",
            handle: Some(r.handle),
            lease,
            expired: lease.is_some_and(|l| lease_expired(l, now)),
        });
    }
    if active {
        for (i, l) in snap.upnp.leases.iter().enumerate() {
            if !matched[i] {
                out.push(lease_only(l, false, now));
            }
        }
    }
    out
}

/// What miniupnpd does with a lease line when it next starts (`reload_from_lease_file`, then
/// `upnp_redirect`): skip it as expired, refuse it by a permission rule — which apply to replayed
/// lines, secure_mode does not — or open it. Not modelled: `port_in_use` (a port the router itself
/// listens on) and a second line for a port already mapped, which miniupnpd refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay<'a> {
    /// miniupnpd does not run with this config, so nothing replays the file.
    NotRunning,
    Expired,
    Denied(&'a crate::snapshot::upnpd::PermRule),
    Opens,
}

pub fn replay<'a>(snap: &'a Snapshot, lease: &Lease) -> Replay<'a> {
    if !upnp_active(snap) {
        return Replay::NotRunning;
    }
    if lease_expired(lease, snap.taken_at) {
        return Replay::Expired;
    }
    let rules = snap
        .upnp
        .config
        .as_ref()
        .map_or(&[][..], |c| c.perm_rules.as_slice());
    match rules
        .iter()
        .find(|r| r.matches(lease.ext_port, lease.int_addr, lease.int_port))
    {
        Some(r) if r.action == crate::snapshot::upnpd::PermAction::Deny => Replay::Denied(r),
        _ => Replay::Opens,
    }
}
