//! How a ruleset's rules are held: whole, or — the two shapes miniupnpd writes, two rules per
//! mapping — packed into a few bytes. Any LAN device can ask miniupnpd for every port, so these
//! rules are what grows with the LAN; a whole [`Rule`] costs ~600 bytes with its allocations, a
//! packed one 32 (issue 14).
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
    /// (family, table, chain) of the packed rules: a handful (the upnp chains).
    locations: Vec<(String, String, String)>,
    /// The interface names packed rules match (`iif "wan"`): a handful.
    interfaces: Vec<String>,
}

#[derive(Debug, Clone)]
enum Slot {
    Whole(Box<Rule>),
    Packed(Packed),
}

/// The distinct locations and interface names packed rules may refer to: past these, rules are
/// kept whole, so looking one up stays a short scan.
const MAX_SHARED: usize = 16;

/// miniupnpd's accept in `upnp_forward` (`iif`, protocol, port, IPv4 destination, accept) or
/// its DNAT in `upnp_prerouting` (`iif`, protocol, port, `dnat to addr:port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    handle: u64,
    addr: Ipv4Addr,
    /// The one destination port, as a range so that it reads as [`Rule::dports`].
    dport: (u16, u16),
    /// The DNAT's port; 0 for an accept.
    nat_port: u16,
    location: u8,
    interface: u8,
    /// In an array so that it reads as [`Rule::protocols`].
    proto: [Protocol; 1],
    dnat: bool,
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

    /// Every rule, read in place.
    pub fn refs(&self) -> impl Iterator<Item = RuleRef<'_>> {
        self.slots.iter().map(move |slot| self.at(slot))
    }

    /// The rules held whole: every rule that is not in one of miniupnpd's shapes (all that carry
    /// a comment, so all that fw4 rendered).
    pub fn whole(&self) -> impl Iterator<Item = &Rule> {
        self.slots.iter().filter_map(|slot| match slot {
            Slot::Whole(rule) => Some(&**rule),
            Slot::Packed(_) => None,
        })
    }

    pub fn push(&mut self, rule: Rule) {
        let slot = self.slot(rule);
        self.slots.push(slot);
    }

    /// Replaces the rule at `at` (a rule read again once the sets it names are known).
    pub fn set(&mut self, at: usize, rule: Rule) {
        let slot = self.slot(rule);
        self.slots[at] = slot;
    }

    /// Gives back what growing by doubling reserved.
    pub fn shrink_to_fit(&mut self) {
        self.slots.shrink_to_fit();
    }

    fn at<'a>(&'a self, slot: &'a Slot) -> RuleRef<'a> {
        match slot {
            Slot::Whole(rule) => RuleRef::Whole(rule),
            Slot::Packed(packed) => RuleRef::Packed(packed, self),
        }
    }

    fn slot(&mut self, rule: Rule) -> Slot {
        match self.pack(&rule) {
            Some(packed) => Slot::Packed(packed),
            None => Slot::Whole(Box::new(rule)),
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
            |(f, t, c)| (f, t, c) == (&r.family, &r.table, &r.chain),
            || (r.family.clone(), r.table.clone(), r.chain.clone()),
        )?;
        let interface = shared(
            &mut self.interfaces,
            |i| i == interface,
            || interface.clone(),
        )?;
        Some(Packed {
            handle: r.handle,
            addr,
            dport: (lo, hi),
            nat_port,
            location,
            interface,
            proto: [proto],
            dnat,
        })
    }
}

/// The index of the item of `list` that `is` picks, added by `make` if none; None once `list`
/// holds [`MAX_SHARED`] items.
fn shared<T>(list: &mut Vec<T>, is: impl Fn(&T) -> bool, make: impl FnOnce() -> T) -> Option<u8> {
    let at = match list.iter().position(is) {
        Some(at) => at,
        None if list.len() < MAX_SHARED => {
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
            RuleRef::Packed(p, rules) => &rules.locations[usize::from(p.location)].1,
        }
    }

    pub fn chain(self) -> &'a str {
        match self {
            RuleRef::Whole(r) => &r.chain,
            RuleRef::Packed(p, rules) => &rules.locations[usize::from(p.location)].2,
        }
    }

    pub fn handle(self) -> u64 {
        match self {
            RuleRef::Whole(r) => r.handle,
            RuleRef::Packed(p, _) => p.handle,
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
            RuleRef::Packed(p, _) => (!p.dnat).then_some(IpAddr::V4(p.addr)),
        }
    }

    /// See [`Rule::iifnames`].
    pub fn iifnames(self) -> &'a [String] {
        match self {
            RuleRef::Whole(r) => &r.iifnames,
            RuleRef::Packed(p, rules) => {
                std::slice::from_ref(&rules.interfaces[usize::from(p.interface)])
            }
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
            RuleRef::Packed(p, _) => p.dnat.then_some(Nat {
                kind: NatKind::Dnat,
                addr: Some(IpAddr::V4(p.addr)),
                port: Some(p.nat_port),
            }),
        }
    }

    pub fn verdict(self) -> Option<&'a Verdict> {
        match self {
            RuleRef::Whole(r) => r.verdict.as_ref(),
            RuleRef::Packed(p, _) => (!p.dnat).then_some(&ACCEPT),
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
        let (family, table, chain) = rules.locations[usize::from(p.location)].clone();
        let interface = &rules.interfaces[usize::from(p.interface)];
        Cow::Owned(Rule {
            family,
            table,
            chain,
            handle: p.handle,
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
    use serde_json::Value;

    /// Every rule of every real dump, as the reader makes it before it is stored.
    fn fixture_rules() -> Vec<Rule> {
        let dir = format!("{}/tests/fixtures/nft", env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let tree: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
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
    fn a_packed_rule_costs_32_bytes_and_no_allocation() {
        assert!(
            std::mem::size_of::<Slot>() <= 32,
            "{}",
            std::mem::size_of::<Slot>()
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
        assert_eq!(packed, MAX_SHARED);
        assert_eq!(rules.iter().map(Cow::into_owned).collect::<Vec<_>>(), many);
    }
}
