//! The UPnP mappings of a router, joined from the live ruleset and miniupnpd's lease file, and
//! whether miniupnpd serves at all.
use std::cell::Cell;
use std::net::IpAddr;

use serde::Serialize;

use crate::formats::leases::Lease;
use crate::formats::nft::{RuleRef, Rules, Ruleset, UpnpRedirect, Verdict};
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
    /// Its accept rule in `upnp_forward` ([`pair_forward_rules`]).
    #[serde(skip)]
    pub forward: ForwardRule,
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
        forward: ForwardRule::Missing,
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
/// kept and marked. n log n in rules plus leases. One at a time: a device may hold 65,535 of
/// them, so callers that count or pick a few do not hold them all (issue 14).
pub fn mappings_iter(snap: &Snapshot) -> Box<dyn Iterator<Item = Mapping<'_>> + '_> {
    join(snap, true)
}

/// [`mappings_iter`] without pairing each DNAT with its accept rule (every `forward` is
/// [`ForwardRule::NotPaired`]), for listing and counting: the same mappings in the same order,
/// and the pairing was most of the join's cost.
pub fn mappings_unpaired(snap: &Snapshot) -> Box<dyn Iterator<Item = Mapping<'_>> + '_> {
    join(snap, false)
}

fn join(snap: &Snapshot, pair_forward: bool) -> Box<dyn Iterator<Item = Mapping<'_>> + '_> {
    let active = upnp_active(snap);
    let now = snap.taken_at;
    let leases = &snap.upnp.leases;
    let Some(ruleset) = snap.nft.as_ref().filter(|r| is_fw4(r)) else {
        // Without the ruleset an unexpired lease of a serving miniupnpd is taken as live; an
        // expired one is listed as expired, not left out.
        let listed = if active { &leases[..] } else { &[] };
        return Box::new(
            listed
                .iter()
                .map(move |l| lease_only(l, !lease_expired(l, now), now)),
        );
    };
    let lease_key = |l: &Lease| (l.proto, l.ext_port, l.int_addr);
    let host_key = |l: &Lease| (l.proto, l.int_addr);
    let by_key = SortedIndex::new(leases, lease_key);
    let by_host = SortedIndex::new(leases, host_key);
    // Which lease lines a live rule matched: marked while the rules are read, then the rest
    // are listed as dormant.
    let matched: std::rc::Rc<[Cell<bool>]> = leases.iter().map(|_| Cell::new(false)).collect();
    let marks = matched.clone();
    let redirects: Box<dyn Iterator<Item = (UpnpRedirect, ForwardRule)>> = if pair_forward {
        Box::new(pair_forward_rules(ruleset))
    } else {
        Box::new(
            ruleset
                .upnp_redirects_iter()
                .map(|d| (d, ForwardRule::NotPaired)),
        )
    };
    let mut live = redirects.filter_map(move |(r, forward)| {
        let proto = r.proto?;
        let lease_index = match (r.ext_port(), r.int_addr) {
            (Some(port), IpAddr::V4(addr)) => by_key
                .find(leases, &(proto, port, addr), lease_key)
                .find(|&i| r.int_port.is_none_or(|p| p == leases[i].int_port)),
            // miniupnpd's lease file holds IPv4 mappings only.
            (_, IpAddr::V6(_)) => None,
            // A rule for a range or every port: the lease of that protocol and host it covers.
            (None, IpAddr::V4(addr)) => by_host
                .find(leases, &(proto, addr), host_key)
                .find(|&i| r.covers_ext_port(leases[i].ext_port)),
        };
        if let Some(i) = lease_index {
            marks[i].set(true);
        }
        let lease = lease_index.map(|i| &leases[i]);
        let ext_port = r
            .ext_port()
            .or(lease.map(|l| l.ext_port))
            .unwrap_or(r.ext_ports.first().map_or(0, |p| p.0));
        Some(Mapping {
            proto,
            ext_port,
            every_port: r.ext_ports.is_empty(),
            int_addr: r.int_addr,
            int_port: r.int_port.or(lease.map(|l| l.int_port)).unwrap_or(ext_port),
            live: true,
            source: "nft",
            handle: Some(r.handle),
            forward,
            lease,
            expired: lease.is_some_and(|l| lease_expired(l, now)),
        })
    });
    let mut dormant = 0;
    Box::new(std::iter::from_fn(move || {
        if let Some(m) = live.next() {
            return Some(m);
        }
        while active && dormant < leases.len() {
            let i = dormant;
            dormant += 1;
            if !matched[i].get() {
                return Some(lease_only(&leases[i], false, now));
            }
        }
        None
    }))
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

/// Mappings a serving miniupnpd still holds (unexpired lease lines) with no rule in the live
/// ruleset: a firewall reload rebuilt fw4's table with miniupnpd's chains empty and did not tell
/// it (pitfall 3, openwrt/packages PR 30506). Empty without fw4's ruleset to compare with.
/// Unpaired: a mapping without its DNAT has no accept rule of its own to name.
pub fn lost_mappings(snap: &Snapshot) -> Vec<Mapping<'_>> {
    if !snap.nft.as_ref().is_some_and(is_fw4) {
        return Vec::new();
    }
    mappings_unpaired(snap)
        .filter(|m| !m.live && !m.expired && m.lease.is_some())
        .collect()
}

/// Which accept rule in `upnp_forward` belongs to a mapping. miniupnpd writes one per mapping,
/// matching the protocol and the internal address and port only, so two mappings to the same
/// host and port own two identical rules: either one is theirs, but never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardRule {
    /// This rule, one of its kind handed to this mapping alone.
    Owned(u64),
    /// Rules that could be this mapping's differ in what camguard cannot read (a remote host
    /// match, say): deleting one by guess could cut off a neighbour, so none is named.
    Ambiguous,
    /// No rule is left for it.
    #[default]
    Missing,
    /// Not looked for ([`mappings_unpaired`]).
    NotPaired,
}

impl ForwardRule {
    pub fn handle(self) -> Option<u64> {
        match self {
            ForwardRule::Owned(h) => Some(h),
            _ => None,
        }
    }
}

/// What makes forward rules interchangeable: everything a rule matches, so two rules with equal
/// keys let the same packets through and either may be deleted for the other.
type ForwardKey = (
    Vec<Protocol>,
    IpAddr,
    Vec<(u16, u16)>,
    Vec<String>,
    Vec<String>,
);

fn forward_key(r: RuleRef, daddr: IpAddr) -> ForwardKey {
    (
        r.protocols().to_vec(),
        daddr,
        r.dports().to_vec(),
        r.iifnames().to_vec(),
        r.unmodelled().to_vec(),
    )
}

/// Indices of `items` sorted by a key, so that the items with one key are found by binary
/// search: 4 bytes an item, where a map of lists costs ~90 (two of them per mapping, issue 14).
/// Items with equal keys keep their order.
struct SortedIndex {
    order: Vec<u32>,
}

impl SortedIndex {
    fn new<T, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> SortedIndex {
        Self::of(items, (0..items.len() as u32).collect(), key)
    }

    /// Only the items `order` names.
    fn of<T, K: Ord>(items: &[T], mut order: Vec<u32>, key: impl Fn(&T) -> K) -> SortedIndex {
        order.sort_by_key(|&i| key(&items[i as usize]));
        SortedIndex { order }
    }

    /// Where the items whose key is `wanted` are in `order`.
    fn range<T, K: Ord>(
        &self,
        items: &[T],
        wanted: &K,
        key: impl Fn(&T) -> K,
    ) -> std::ops::Range<usize> {
        let key = |i: &u32| key(&items[*i as usize]);
        let start = self.order.partition_point(|i| key(i) < *wanted);
        let end = start + self.order[start..].partition_point(|i| key(i) == *wanted);
        start..end
    }

    /// The indices of the items whose key is `wanted`, in their order in `items`.
    fn find<'a, T, K: Ord>(
        &'a self,
        items: &[T],
        wanted: &K,
        key: impl Fn(&T) -> K,
    ) -> impl Iterator<Item = usize> + 'a {
        let range = self.range(items, wanted, key);
        self.order[range].iter().map(|&i| i as usize)
    }
}

/// Pairs each DNAT in `upnp_prerouting` (chain order) with its own accept rule in
/// `upnp_forward`, each rule handed out once. Rules that could belong to a mapping are taken in
/// chain order among interchangeable ones; when the candidates are not all interchangeable the
/// mapping's rule is [`ForwardRule::Ambiguous`]. n log n in rules, also when one device maps
/// every port to the same one: candidates are found by (address, port), and a run of
/// interchangeable rules is handed out from a cursor.
pub fn pair_forward_rules(
    ruleset: &Ruleset,
) -> impl Iterator<Item = (UpnpRedirect<'_>, ForwardRule)> + '_ {
    let (table, chain) = UPNP_FORWARD;
    let accepts = Accepts {
        rules: &ruleset.rules,
        at: ruleset
            .rules
            .refs()
            .enumerate()
            .filter(|(_, r)| r.table() == table && r.chain() == chain)
            .filter(|(_, r)| r.verdict() == Some(&Verdict::Accept) && r.daddr().is_some())
            .map(|(at, _)| at as u32)
            .collect(),
    };
    // Rules for one internal port, by (address, port); port ranges and port-less rules (UDPLITE)
    // are few and searched in full.
    let (exact, wide): (Vec<u32>, Vec<u32>) =
        (0..accepts.len() as u32).partition(|&i| one_port(accepts.get(i as usize)).is_some());
    let by_port = SortedIndex::of(&accepts.at, exact, |&at| one_port(accepts.rule(at)));
    // By a run's start in `by_port.order`: one past the end for the empty run there.
    let mut runs = Runs {
        uniform: vec![None; accepts.len() + 1],
        cursor: vec![0; accepts.len() + 1],
    };
    let mut taken = vec![false; accepts.len()];
    ruleset.upnp_redirects_iter().map(move |d| {
        let forward = match d.proto {
            Some(proto) => {
                let port = d.int_port.or(d.ext_port());
                let range = port.map_or(0..0, |p| {
                    by_port.range(&accepts.at, &Some((d.int_addr, p)), |&at| {
                        one_port(accepts.rule(at))
                    })
                });
                let exact = &by_port.order[range.clone()];
                let matches = |i: usize| {
                    !taken[i]
                        && accepts.get(i).daddr() == Some(d.int_addr)
                        && accepts.get(i).matches_protocol(proto)
                        && port.is_none_or(|p| accepts.get(i).matches_dport(p))
                };
                let wide_open = wide.iter().any(|&i| matches(i as usize));
                if !wide_open && runs.is_uniform(&accepts, exact, range.start, d.int_addr) {
                    // Interchangeable rules: the first untaken one is this mapping's, if it
                    // matches at all (they all match alike).
                    let cursor = &mut runs.cursor[range.start];
                    let skip = exact[*cursor as usize..]
                        .iter()
                        .take_while(|&&i| taken[i as usize])
                        .count();
                    *cursor += skip as u32;
                    match exact.get(*cursor as usize).map(|&i| i as usize) {
                        Some(first) if matches(first) => {
                            taken[first] = true;
                            ForwardRule::Owned(accepts.get(first).handle())
                        }
                        _ => ForwardRule::Missing,
                    }
                } else {
                    let candidates: Vec<usize> = exact
                        .iter()
                        .chain(&wide)
                        .map(|&i| i as usize)
                        .filter(|&i| matches(i))
                        .collect();
                    choose(&accepts, &candidates, d.int_addr, &mut taken)
                }
            }
            None => ForwardRule::Ambiguous,
        };
        (d, forward)
    })
}

/// The one (address, port) an accept rule matches, when it names a single port.
fn one_port(r: RuleRef) -> Option<(IpAddr, u16)> {
    match (r.daddr(), r.dports()) {
        (Some(addr), [(lo, hi)]) if lo == hi => Some((addr, *lo)),
        _ => None,
    }
}

/// Per run of accept rules for one (address, port), by where the run starts: whether all its
/// rules are interchangeable, and how far its rules are taken.
struct Runs {
    uniform: Vec<Option<bool>>,
    cursor: Vec<u32>,
}

/// The accept rules of `upnp_forward`, by their place in the ruleset: 4 bytes each.
struct Accepts<'a> {
    rules: &'a Rules,
    at: Vec<u32>,
}

impl<'a> Accepts<'a> {
    fn len(&self) -> usize {
        self.at.len()
    }

    /// The `i`th accept rule.
    fn get(&self, i: usize) -> RuleRef<'a> {
        self.rule(self.at[i])
    }

    /// The rule at `at` in the ruleset.
    fn rule(&self, at: u32) -> RuleRef<'a> {
        self.rules.get(at as usize)
    }
}

impl Runs {
    fn is_uniform(&mut self, accepts: &Accepts, run: &[u32], start: usize, daddr: IpAddr) -> bool {
        let Some(&first) = run.first() else {
            return true;
        };
        *self.uniform[start].get_or_insert_with(|| {
            let key = forward_key(accepts.get(first as usize), daddr);
            run.iter()
                .all(|&i| forward_key(accepts.get(i as usize), daddr) == key)
        })
    }
}

fn choose(
    accepts: &Accepts,
    candidates: &[usize],
    daddr: IpAddr,
    taken: &mut [bool],
) -> ForwardRule {
    let Some(&first) = candidates.first() else {
        return ForwardRule::Missing;
    };
    let key = forward_key(accepts.get(first), daddr);
    if candidates[1..]
        .iter()
        .any(|&i| forward_key(accepts.get(i), daddr) != key)
    {
        return ForwardRule::Ambiguous;
    }
    taken[first] = true;
    ForwardRule::Owned(accepts.get(first).handle())
}

const UPNP_FORWARD: (&str, &str) = ("fw4", "upnp_forward");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::json;
    use crate::formats::nft::parse_ruleset;
    use crate::json::Value;

    /// A DNAT in upnp_prerouting in the shape miniupnpd writes it (tests/fixtures/nft/
    /// miniupnpd-live.json): iif, the IPv4 protocol byte, the external port, the DNAT.
    fn dnat(handle: u64, ext: u16, addr: &str, port: u16) -> Value {
        json!({"rule": {"family": "inet", "table": "fw4", "chain": "upnp_prerouting", "handle": handle, "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": "wan"}},
            {"match": {"op": "==", "left": {"payload": {"base": "nh", "offset": 72, "len": 8}}, "right": 6}},
            {"match": {"op": "==", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": ext}},
            {"dnat": {"family": "ip", "addr": addr, "port": port}}]}})
    }

    /// An accept in upnp_forward as miniupnpd writes it; `rhost` adds its remote-host match.
    fn accept(handle: u64, daddr: u32, port: u16, rhost: Option<u32>) -> Value {
        let mut expr = vec![
            json!({"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": "wan"}}),
            json!({"match": {"op": "==", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": port}}),
            json!({"match": {"op": "==", "left": {"payload": {"base": "nh", "offset": 128, "len": 32}}, "right": daddr}}),
        ];
        if let Some(r) = rhost {
            expr.push(json!({"match": {"op": "==", "left": {"payload": {"base": "nh", "offset": 96, "len": 32}}, "right": r}}));
        }
        expr.push(json!({"match": {"op": "==", "left": {"payload": {"base": "nh", "offset": 72, "len": 8}}, "right": 6}}));
        expr.push(json!({"accept": null}));
        json!({"rule": {"family": "inet", "table": "fw4", "chain": "upnp_forward", "handle": handle, "expr": expr}})
    }

    fn ruleset(rules: Vec<Value>) -> Ruleset {
        let mut items = vec![
            json!({"table": {"family": "inet", "name": "fw4", "handle": 1}}),
            json!({"chain": {"family": "inet", "table": "fw4", "name": "upnp_forward", "handle": 2}}),
            json!({"chain": {"family": "inet", "table": "fw4", "name": "upnp_prerouting", "handle": 4}}),
        ];
        items.extend(rules);
        parse_ruleset(json!({ "nftables": items }).to_string().as_bytes()).unwrap()
    }

    const PC: u32 = 0xc0a8_011f; // 192.168.1.31

    fn owned<'a>(
        pairs: impl Iterator<Item = (UpnpRedirect<'a>, ForwardRule)>,
    ) -> Vec<(u16, ForwardRule)> {
        pairs.map(|(d, f)| (d.ext_port().unwrap(), f)).collect()
    }

    #[test]
    fn identical_accept_rules_are_handed_out_one_per_mapping() {
        let r = ruleset(vec![
            dnat(13, 18080, "192.168.1.31", 8080),
            accept(14, PC, 8080, None),
            dnat(15, 18081, "192.168.1.31", 8080),
            accept(16, PC, 8080, None),
        ]);
        assert_eq!(
            owned(pair_forward_rules(&r)),
            vec![
                (18080, ForwardRule::Owned(14)),
                (18081, ForwardRule::Owned(16))
            ]
        );
    }

    #[test]
    fn a_mapping_without_an_accept_rule_of_its_own_takes_none_of_its_neighbours() {
        // Three DNATs to one host and port, two accept rules left (one was deleted by hand).
        let r = ruleset(vec![
            dnat(13, 18080, "192.168.1.31", 8080),
            dnat(15, 18081, "192.168.1.31", 8080),
            dnat(17, 18082, "192.168.1.31", 8080),
            accept(14, PC, 8080, None),
            accept(16, PC, 8080, None),
        ]);
        let pairs = owned(pair_forward_rules(&r));
        assert_eq!(pairs[2], (18082, ForwardRule::Missing));
        assert_ne!(pairs[0].1, pairs[1].1);
    }

    #[test]
    fn accept_rules_that_differ_in_a_remote_host_are_never_guessed() {
        let r = ruleset(vec![
            dnat(13, 18080, "192.168.1.31", 8080),
            dnat(15, 18081, "192.168.1.31", 8080),
            accept(14, PC, 8080, Some(0xcb00_7107)),
            accept(16, PC, 8080, None),
        ]);
        assert_eq!(
            owned(pair_forward_rules(&r)),
            vec![
                (18080, ForwardRule::Ambiguous),
                (18081, ForwardRule::Ambiguous)
            ]
        );
    }

    #[test]
    fn every_external_port_to_one_internal_port_gets_an_accept_rule_of_its_own() {
        // One device mapping many external ports to its port 8080, and a neighbour's mapping
        // to the same port number on another address in between.
        let mut rules = Vec::new();
        for i in 0..500u16 {
            rules.push(dnat(
                100 + 2 * u64::from(i),
                20_000 + i,
                "192.168.1.31",
                8080,
            ));
            rules.push(accept(101 + 2 * u64::from(i), PC, 8080, None));
        }
        rules.push(dnat(5000, 30_000, "192.168.1.32", 8080));
        rules.push(accept(5001, PC + 1, 8080, None));
        let r = ruleset(rules);
        let pairs = owned(pair_forward_rules(&r));
        assert_eq!(pairs.len(), 501);
        let mut handles: Vec<u64> = pairs.iter().filter_map(|(_, f)| f.handle()).collect();
        assert_eq!(handles.len(), 501, "every mapping owns a rule");
        assert_eq!(pairs[500], (30_000, ForwardRule::Owned(5001)));
        handles.sort_unstable();
        handles.dedup();
        assert_eq!(handles.len(), 501, "no rule is handed out twice");
    }

    #[test]
    fn other_hosts_and_ports_are_never_paired() {
        let r = ruleset(vec![
            dnat(13, 18080, "192.168.1.31", 8080),
            accept(14, PC, 8081, None),
            accept(16, PC + 1, 8080, None),
        ]);
        assert_eq!(
            owned(pair_forward_rules(&r)),
            vec![(18080, ForwardRule::Missing)]
        );
    }

    #[test]
    fn unpaired_mappings_are_the_paired_ones_in_the_same_order() {
        // Live rules with and without lease lines, a dormant and an expired lease line, and
        // rules of one host that the pairing hands out one by one.
        let mut snap = Snapshot::new(1_795_700_000, "test");
        snap.upnp.service.running = Some(true);
        snap.nft = Some(ruleset(vec![
            dnat(13, 18080, "192.168.1.31", 8080),
            accept(14, PC, 8080, None),
            dnat(15, 18081, "192.168.1.31", 8080),
            dnat(17, 18082, "192.168.1.32", 22),
            accept(16, PC, 8080, Some(0xcb00_7107)),
        ]));
        snap.upnp.leases = crate::formats::leases::parse_leases(
            b"TCP:18081:192.168.1.31:8080:0:second\nUDP:9:192.168.1.40:9:0:dormant\n\
              TCP:18080:192.168.1.31:8080:1795600000:expired\nTCP:7:192.168.1.41:7:0:other\n",
        )
        .entries;
        // A lease line without a rule has no accept rule to pair either way.
        fn without_pair(m: Mapping) -> Mapping {
            Mapping {
                forward: if m.live {
                    ForwardRule::NotPaired
                } else {
                    m.forward
                },
                ..m
            }
        }
        let paired: Vec<Mapping> = mappings_iter(&snap).map(without_pair).collect();
        assert_eq!(paired.len(), 5, "{paired:?}");
        assert!(mappings_iter(&snap).all(|m| m.forward != ForwardRule::NotPaired));
        assert_eq!(mappings_unpaired(&snap).collect::<Vec<_>>(), paired);
    }
}
