//! How a ruleset's rules are held: whole, or — the two shapes miniupnpd writes, two rules per
//! mapping — packed into a few bytes. Any LAN device can ask miniupnpd for every port, so these
//! rules are what grows with the LAN; a whole [`Rule`] costs ~600 bytes with its allocations, a
//! packed one 16 (issue 14).
//!
//! Packing is lossless: a rule is packed only when unpacking gives back the very same [`Rule`],
//! and everything that reads rules sees them through [`Rules::iter`] (whole rules, unpacked on
//! the fly) or [`RuleRef`] (the fields the UPnP joins read, without unpacking).
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::{Nat, NatKind, Rule, Verdict};
use crate::ports::Protocol;

/// The rules of a ruleset in dump order.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    slots: Vec<Slot>,
    /// The rules [`Slot::Whole`] points at: kept aside so that a slot stays 16 bytes.
    whole: Vec<Rule>,
    /// (family, table, chain) of the packed rules: a handful (the upnp chains).
    locations: Vec<(String, String, String)>,
    /// The interface names packed rules match (`iif "wan"`): a handful.
    interfaces: Vec<String>,
}

#[derive(Debug, Clone)]
enum Slot {
    /// An index into [`Rules::whole`].
    Whole(u32),
    Packed(Packed),
}

/// The distinct locations and interface names packed rules may refer to (what
/// [`Packed::shape`] has bits for): past these, rules are kept whole.
const MAX_LOCATIONS: usize = 16;
const MAX_INTERFACES: usize = 8;

/// miniupnpd's accept in `upnp_forward` (`iif`, protocol, port, IPv4 destination, accept) or
/// its DNAT in `upnp_prerouting` (`iif`, protocol, port, `dnat to addr:port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    /// nft numbers rules per table from 1; a handle past `u32` keeps the rule whole.
    handle: u32,
    addr: Ipv4Addr,
    /// The one destination port, as a range so that it reads as [`Rule::dports`].
    dport: (u16, u16),
    /// The DNAT's port; 0 for an accept.
    nat_port: u16,
    /// In an array so that it reads as [`Rule::protocols`].
    proto: [Protocol; 1],
    /// Where it is and what it does, in one byte: the index of its location (low 4 bits), of
    /// its interface (the next 3), and whether it is the DNAT (the top bit).
    shape: u8,
}

impl Packed {
    fn location(&self) -> usize {
        usize::from(self.shape & 0x0f)
    }

    fn interface(&self) -> usize {
        usize::from((self.shape >> 4) & 0x07)
    }

    fn dnat(&self) -> bool {
        self.shape & 0x80 != 0
    }
}

static ACCEPT: Verdict = Verdict::Accept;

impl Rules {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every rule, in dump order; packed ones are unpacked as they come.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            slots: self.slots.iter(),
            rules: self,
        }
    }

    /// The rule at `at` in dump order, read in place.
    pub fn get(&self, at: usize) -> RuleRef<'_> {
        self.at(&self.slots[at])
    }

    /// Every rule, read in place.
    pub fn refs(&self) -> impl Iterator<Item = RuleRef<'_>> {
        self.slots.iter().map(move |slot| self.at(slot))
    }

    /// The rules held whole: every rule that is not in one of miniupnpd's shapes (all that carry
    /// a comment, so all that fw4 rendered).
    pub fn whole(&self) -> impl Iterator<Item = &Rule> {
        self.whole.iter()
    }

    pub fn push(&mut self, rule: Rule) {
        let slot = self.slot(rule);
        self.slots.push(slot);
    }

    /// Replaces the rule at `at` (a rule read again once the sets it names are known).
    pub fn set(&mut self, at: usize, rule: Rule) {
        match (self.slots[at].clone(), self.pack(&rule)) {
            (Slot::Whole(i), None) => self.whole[i as usize] = rule,
            (Slot::Whole(i), Some(packed)) => {
                // Left in `whole` unreferenced it would still show in `whole()`: take it out.
                self.whole.remove(i as usize);
                for slot in &mut self.slots {
                    if let Slot::Whole(j) = slot {
                        if *j > i {
                            *j -= 1;
                        }
                    }
                }
                self.slots[at] = Slot::Packed(packed);
            }
            (Slot::Packed(_), _) => self.slots[at] = self.slot(rule),
        }
    }

    /// Gives back what growing by doubling reserved.
    pub fn shrink_to_fit(&mut self) {
        self.slots.shrink_to_fit();
        self.whole.shrink_to_fit();
    }

    fn at<'a>(&'a self, slot: &'a Slot) -> RuleRef<'a> {
        match slot {
            Slot::Whole(i) => RuleRef::Whole(&self.whole[*i as usize]),
            Slot::Packed(packed) => RuleRef::Packed(packed, self),
        }
    }

    fn slot(&mut self, rule: Rule) -> Slot {
        match self.pack(&rule) {
            Some(packed) => Slot::Packed(packed),
            None => {
                self.whole.push(rule);
                Slot::Whole(self.whole.len() as u32 - 1)
            }
        }
    }

    fn pack(&mut self, r: &Rule) -> Option<Packed> {
        let (addr, nat_port, dnat) = match (&r.nat, &r.verdict, r.daddr) {
            (None, Some(Verdict::Accept), Some(IpAddr::V4(addr))) => (addr, 0, false),
            (
                Some(Nat {
                    kind: NatKind::Dnat,
                    addr: Some(IpAddr::V4(addr)),
                    port: Some(port),
                }),
                None,
                None,
            ) => (*addr, *port, true),
            _ => return None,
        };
        let (&[proto], &[(lo, hi)], [interface]) =
            (&r.protocols[..], &r.dports[..], &r.iifnames[..])
        else {
            return None;
        };
        let handle = u32::try_from(r.handle).ok()?;
        let plain = r.comment.is_none()
            && r.other_protocols.is_empty()
            && r.ether_saddr.is_empty()
            && r.unmodelled.is_empty()
            && r.iifname.as_ref() == Some(interface)
            && lo == hi;
        if !plain {
            return None;
        }
        let location = shared(
            &mut self.locations,
            MAX_LOCATIONS,
            |(f, t, c)| (f, t, c) == (&r.family, &r.table, &r.chain),
            || (r.family.clone(), r.table.clone(), r.chain.clone()),
        )?;
        let interface = shared(
            &mut self.interfaces,
            MAX_INTERFACES,
            |i| i == interface,
            || interface.clone(),
        )?;
        Some(Packed {
            handle,
            addr,
            dport: (lo, hi),
            nat_port,
            shape: location | interface << 4 | u8::from(dnat) << 7,
            proto: [proto],
        })
    }
}

/// The index of the item of `list` that `is` picks, added by `make` if none; None once `list`
/// holds `max` items.
fn shared<T>(
    list: &mut Vec<T>,
    max: usize,
    is: impl Fn(&T) -> bool,
    make: impl FnOnce() -> T,
) -> Option<u8> {
    let at = match list.iter().position(is) {
        Some(at) => at,
        None if list.len() < max => {
            list.push(make());
            list.len() - 1
        }
        None => return None,
    };
    u8::try_from(at).ok()
}

/// Equal when they hold the same rules in the same order, however they are packed.
impl PartialEq for Rules {
    fn eq(&self, other: &Rules) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Rules {}

impl Serialize for Rules {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// [`Rules::iter`].
pub struct Iter<'a> {
    slots: std::slice::Iter<'a, Slot>,
    rules: &'a Rules,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Cow<'a, Rule>;
    fn next(&mut self) -> Option<Cow<'a, Rule>> {
        self.slots.next().map(|slot| self.rules.at(slot).to_rule())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl<'a> IntoIterator for &'a Rules {
    type Item = Cow<'a, Rule>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// One rule where it is held: the fields the UPnP joins read, without unpacking.
#[derive(Debug, Clone, Copy)]
pub enum RuleRef<'a> {
    Whole(&'a Rule),
    Packed(&'a Packed, &'a Rules),
}

impl<'a> RuleRef<'a> {
    pub fn table(self) -> &'a str {
        match self {
            RuleRef::Whole(r) => &r.table,
            RuleRef::Packed(p, rules) => &rules.locations[p.location()].1,
        }
    }

    pub fn chain(self) -> &'a str {
        match self {
            RuleRef::Whole(r) => &r.chain,
            RuleRef::Packed(p, rules) => &rules.locations[p.location()].2,
        }
    }

    pub fn handle(self) -> u64 {
        match self {
            RuleRef::Whole(r) => r.handle,
            RuleRef::Packed(p, _) => u64::from(p.handle),
        }
    }

    /// See [`Rule::protocols`].
    pub fn protocols(self) -> &'a [Protocol] {
        match self {
            RuleRef::Whole(r) => &r.protocols,
            RuleRef::Packed(p, _) => &p.proto,
        }
    }

    /// See [`Rule::other_protocols`].
    pub fn other_protocols(self) -> &'a [String] {
        match self {
            RuleRef::Whole(r) => &r.other_protocols,
            RuleRef::Packed(..) => &[],
        }
    }

    /// See [`Rule::dports`].
    pub fn dports(self) -> &'a [(u16, u16)] {
        match self {
            RuleRef::Whole(r) => &r.dports,
            RuleRef::Packed(p, _) => std::slice::from_ref(&p.dport),
        }
    }

    pub fn daddr(self) -> Option<IpAddr> {
        match self {
            RuleRef::Whole(r) => r.daddr,
            RuleRef::Packed(p, _) => (!p.dnat()).then_some(IpAddr::V4(p.addr)),
        }
    }

    /// See [`Rule::iifnames`].
    pub fn iifnames(self) -> &'a [String] {
        match self {
            RuleRef::Whole(r) => &r.iifnames,
            RuleRef::Packed(p, rules) => std::slice::from_ref(&rules.interfaces[p.interface()]),
        }
    }

    /// See [`Rule::unmodelled`].
    pub fn unmodelled(self) -> &'a [String] {
        match self {
            RuleRef::Whole(r) => &r.unmodelled,
            RuleRef::Packed(..) => &[],
        }
    }

    pub fn nat(self) -> Option<Nat> {
        match self {
            RuleRef::Whole(r) => r.nat.clone(),
            RuleRef::Packed(p, _) => p.dnat().then_some(Nat {
                kind: NatKind::Dnat,
                addr: Some(IpAddr::V4(p.addr)),
                port: Some(p.nat_port),
            }),
        }
    }

    pub fn verdict(self) -> Option<&'a Verdict> {
        match self {
            RuleRef::Whole(r) => r.verdict.as_ref(),
            RuleRef::Packed(p, _) => (!p.dnat()).then_some(&ACCEPT),
        }
    }

    /// Whether it matches packets of `proto`.
    pub fn matches_protocol(self, proto: Protocol) -> bool {
        self.protocols().contains(&proto)
            || (self.protocols().is_empty() && self.other_protocols().is_empty())
    }

    /// Whether it matches packets to destination port `port`.
    pub fn matches_dport(self, port: u16) -> bool {
        self.dports().is_empty()
            || self
                .dports()
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&port))
    }

    /// The whole rule: borrowed, or unpacked.
    pub fn to_rule(self) -> Cow<'a, Rule> {
        let (p, rules) = match self {
            RuleRef::Whole(r) => return Cow::Borrowed(r),
            RuleRef::Packed(p, rules) => (p, rules),
        };
        let (family, table, chain) = rules.locations[p.location()].clone();
        let interface = &rules.interfaces[p.interface()];
        Cow::Owned(Rule {
            family,
            table,
            chain,
            handle: u64::from(p.handle),
            protocols: p.proto.to_vec(),
            dports: vec![p.dport],
            daddr: self.daddr(),
            iifname: Some(interface.clone()),
            iifnames: vec![interface.clone()],
            nat: self.nat(),
            verdict: self.verdict().cloned(),
            ..Rule::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::read_rule;
    use super::*;
    use crate::json::Value;

    /// Every rule of every real dump, as the reader makes it before it is stored.
    fn fixture_rules() -> Vec<Rule> {
        let dir = format!("{}/tests/fixtures/nft", env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let tree: Value = crate::json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            for item in tree["nftables"].as_array().into_iter().flatten() {
                if let Some((rule, _)) = item
                    .get("rule")
                    .and_then(|r| read_rule(r, &Default::default()))
                {
                    out.push(rule);
                }
            }
        }
        out
    }

    #[test]
    fn a_packed_rule_reads_back_as_the_rule_it_was() {
        let all = fixture_rules();
        let mut rules = Rules::default();
        for rule in &all {
            rules.push(rule.clone());
        }
        let packed = rules
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Packed(_)))
            .count();
        // miniupnpd-live.json: four DNATs and three IPv4 accepts in miniupnpd's plain shape.
        assert!(packed >= 7, "{packed} packed");
        assert!(packed < all.len());
        assert_eq!(rules.iter().map(Cow::into_owned).collect::<Vec<_>>(), all);
        for (r, whole) in rules.refs().zip(&all) {
            assert_eq!(r.table(), whole.table);
            assert_eq!(r.chain(), whole.chain);
            assert_eq!(r.handle(), whole.handle);
            assert_eq!(r.protocols(), whole.protocols);
            assert_eq!(r.other_protocols(), whole.other_protocols);
            assert_eq!(r.dports(), whole.dports);
            assert_eq!(r.daddr(), whole.daddr);
            assert_eq!(r.iifnames(), whole.iifnames);
            assert_eq!(r.unmodelled(), whole.unmodelled);
            assert_eq!(r.nat(), whole.nat);
            assert_eq!(r.verdict(), whole.verdict.as_ref());
        }
    }

    #[test]
    fn a_packed_rule_costs_16_bytes_and_no_allocation() {
        assert!(
            std::mem::size_of::<Slot>() <= 16,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }

    #[test]
    fn a_rule_read_again_replaces_the_old_one_whole_or_packed() {
        let all = fixture_rules();
        let plain = all
            .iter()
            .find(|r| r.chain == "upnp_prerouting" && r.nat.is_some())
            .unwrap();
        let mut first = plain.clone();
        first.unmodelled = vec!["tcp dport @unknown".into()];
        let other = all.iter().find(|r| r.comment.is_some()).unwrap();
        let mut rules = Rules::default();
        rules.push(first);
        rules.push(other.clone());
        rules.set(0, plain.clone());
        assert_eq!(
            rules.iter().map(Cow::into_owned).collect::<Vec<_>>(),
            [plain.clone(), other.clone()]
        );
        assert_eq!(rules.whole().collect::<Vec<_>>(), [other]);
        rules.set(1, plain.clone());
        assert_eq!(rules.whole().count(), 0);
        assert_eq!(
            rules.iter().map(Cow::into_owned).collect::<Vec<_>>(),
            [plain.clone(), plain.clone()]
        );
    }

    #[test]
    fn rules_with_anything_more_than_miniupnpd_writes_stay_whole() {
        let all = fixture_rules();
        let remote_host = all
            .iter()
            .find(|r| {
                r.chain == "upnp_forward" && r.unmodelled.iter().any(|u| u.starts_with("@nh,96,32"))
            })
            .unwrap();
        let mut commented = all
            .iter()
            .find(|r| r.chain == "upnp_prerouting" && r.nat.is_some())
            .unwrap()
            .clone();
        commented.comment = Some("game".into());
        let mut rules = Rules::default();
        rules.push(remote_host.clone());
        rules.push(commented.clone());
        assert!(rules.slots.iter().all(|s| matches!(s, Slot::Whole(_))));
        assert_eq!(
            rules.iter().map(Cow::into_owned).collect::<Vec<_>>(),
            [remote_host.clone(), commented]
        );
    }

    #[test]
    fn past_a_handful_of_chains_rules_are_kept_whole_not_lost() {
        let accept = fixture_rules()
            .into_iter()
            .find(|r| {
                r.chain == "upnp_forward"
                    && r.unmodelled.is_empty()
                    && r.daddr.is_some_and(|a| a.is_ipv4())
            })
            .unwrap();
        let many: Vec<Rule> = (0..40)
            .map(|i| Rule {
                chain: format!("upnp_{i}"),
                ..accept.clone()
            })
            .collect();
        let mut rules = Rules::default();
        for r in &many {
            rules.push(r.clone());
        }
        let packed = rules
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Packed(_)))
            .count();
        assert_eq!(packed, MAX_LOCATIONS);
        assert_eq!(rules.iter().map(Cow::into_owned).collect::<Vec<_>>(), many);
    }
}
