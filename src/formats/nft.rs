//! The live nftables ruleset, read from `nft -j list ruleset`.
//!
//! UCI says what the owner configured; nft says what is in effect. fw4 reloads empty the UPnP
//! chains while the lease file still lists mappings, and a redirect disabled in UCI stays live
//! until fw4 reloads, so the audit cross-checks both (openwrt-facts §1.5, pitfalls 1 and 3).
//!
//! Each rule is reduced to the few things camguard decides on. Everything else is left out and
//! named in [`Rule::unmodelled`], so a rule here is never *more* specific than in the kernel: a
//! rule matching `ct status dnat` or `ip saddr 10.0.0.0/8` reads as broader than it is, and
//! the caller can see why. Matches understood:
//!
//! - protocol: `meta l4proto`, `ip protocol`, `ip6 nexthdr`, the protocol implied by
//!   `tcp|udp|udplite|sctp|dccp dport`, and miniupnpd's raw `@nh,72,8` (IPv4 protocol byte) and
//!   `@nh,48,8` (IPv6 next header);
//! - destination port: `tcp|udp|udplite|sctp|dccp|th dport`, `@th,16,16`, single ports, ranges,
//!   anonymous and named sets, `<`/`>` comparisons;
//! - destination address: `ip daddr`, `ip6 daddr` (single addresses), miniupnpd's `@nh,128,32`
//!   (IPv4) and `@nh,192,128` (IPv6);
//! - `iif`, `iifname` (names or sets), `ether saddr` (addresses or sets);
//! - statements `dnat`, `snat`, `redirect`, `masquerade` and the verdicts.
//!
//! miniupnpd builds its rules from raw expressions (miniupnp `netfilter_nft/nftnlrdr_misc.c`),
//! which is why nft shows them as `@nh,…` payloads; tests/fixtures/nft/miniupnpd-live.json holds
//! rules written by the real daemon.
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::formats::{Document, FormatError};
use crate::json::{self, Map, Value};
use crate::mac::Mac;
use crate::ports::Protocol;
use crate::sorted::SortedSet;
use crate::text::lan_text;

mod rules;
pub use rules::{Packed, RuleRef, Rules};

/// The largest `nft -j` output read. A router's ruleset is a few hundred KB; anything this big
/// is not one, and parsing it would cost a small router its memory.
pub const MAX_RULESET_BYTES: usize = 32 * 1024 * 1024;

/// The chain miniupnpd writes its DNATs to under fw4 (`upnp_nat_chain`, openwrt-facts §1.5).
pub const UPNP_PREROUTING: (&str, &str) = ("fw4", "upnp_prerouting");

/// fw4 marks every rule it renders with `!fw4: <name>` (openwrt-facts §10.2).
pub const FW4_COMMENT_PREFIX: &str = "!fw4: ";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ruleset {
    pub chains: Vec<Chain>,
    /// In dump order; miniupnpd's rules are held packed ([`Rules`]).
    pub rules: Rules,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    pub family: String,
    pub table: String,
    pub name: String,
    pub handle: u64,
}

/// One rule, reduced to what camguard decides on. Expressions it does not understand are
/// ignored, so a rule is never *more* specific here than in the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub handle: u64,
    /// fw4 marks its rules `!fw4: <section name>`; cleaned (miniupnpd stores client text).
    pub comment: Option<String>,
    /// Empty: any protocol.
    pub protocols: Vec<Protocol>,
    /// Protocols matched that [`Protocol`] cannot name (`icmp`, `esp`, numbers…). A rule with
    /// these and no `protocols` matches only them, not every protocol.
    pub other_protocols: Vec<String>,
    /// Destination port ranges matched (inclusive); empty: any port.
    pub dports: Vec<(u16, u16)>,
    /// IPv4/IPv6 destination address matched (miniupnpd's `@nh,128,32` raw match included).
    pub daddr: Option<IpAddr>,
    /// The one input interface matched (`iif` or `iifname`); None when any, or several (see
    /// `iifnames`).
    pub iifname: Option<String>,
    /// Every input interface name matched, sets included; empty: any interface.
    pub iifnames: Vec<String>,
    pub ether_saddr: Vec<Mac>,
    pub nat: Option<Nat>,
    pub verdict: Option<Verdict>,
    /// Matches and statements that narrow the rule but are not modelled above, as nft would
    /// print them (`ct status in dnat`, `ip saddr == 192.168.1.0/24`, `limit`). Empty: the fields
    /// above are the whole rule.
    pub unmodelled: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nat {
    pub kind: NatKind,
    /// The single address translated to; None when the statement names none (redirect,
    /// masquerade, port-only) or uses a map or range (then listed in `Rule::unmodelled`).
    pub addr: Option<IpAddr>,
    /// The single port translated to; None when unchanged or a range.
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NatKind {
    Dnat,
    Redirect,
    Snat,
    Masquerade,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accept,
    Drop,
    Reject,
    Jump(String),
    Goto(String),
    Return,
}

/// A DNAT that miniupnpd installed, as found in `upnp_prerouting`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpnpRedirect<'a> {
    pub handle: u64,
    /// None only for a hand-made rule that matches no single TCP/UDP/UDPLITE protocol.
    pub proto: Option<Protocol>,
    /// External ports matched; empty means every port — miniupnpd writes no port match at all
    /// for UDPLITE mappings.
    pub ext_ports: Cow<'a, [(u16, u16)]>,
    pub int_addr: IpAddr,
    /// None: the destination port is left as it came.
    pub int_port: Option<u16>,
}

impl UpnpRedirect<'_> {
    /// The one external port, when the rule matches exactly one.
    pub fn ext_port(&self) -> Option<u16> {
        match self.ext_ports[..] {
            [(lo, hi)] if lo == hi => Some(lo),
            _ => None,
        }
    }

    /// Whether traffic to `port` from outside is redirected by this rule.
    pub fn covers_ext_port(&self, port: u16) -> bool {
        self.ext_ports.is_empty()
            || self
                .ext_ports
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&port))
    }
}

impl Ruleset {
    pub fn chain(&self, table: &str, name: &str) -> Option<&Chain> {
        self.chains
            .iter()
            .find(|c| c.table == table && c.name == name)
    }

    /// The rules of one chain, in evaluation order (any address family).
    pub fn rules_in<'a>(
        &'a self,
        table: &'a str,
        chain: &'a str,
    ) -> impl Iterator<Item = Cow<'a, Rule>> + 'a {
        self.refs_in(table, chain).map(RuleRef::to_rule)
    }

    /// [`Ruleset::rules_in`], read in place: what the UPnP joins use, as the upnp chains hold
    /// two rules per mapping.
    pub fn refs_in<'a>(
        &'a self,
        table: &'a str,
        chain: &'a str,
    ) -> impl Iterator<Item = RuleRef<'a>> + 'a {
        self.rules
            .refs()
            .filter(move |r| r.table() == table && r.chain() == chain)
    }

    /// How many rules in fw4's upnp chains forward or accept anything: miniupnpd's, whether or
    /// not it still runs.
    pub fn upnp_rule_count(&self) -> usize {
        self.rules
            .refs()
            .filter(|r| {
                r.table() == "fw4"
                    && r.chain().starts_with("upnp_")
                    && (r.nat().is_some() || r.verdict().is_some())
            })
            .count()
    }

    /// miniupnpd's live port mappings: the DNATs in fw4's `upnp_prerouting`, in chain order.
    pub fn upnp_redirects(&self) -> Vec<UpnpRedirect<'_>> {
        self.upnp_redirects_iter().collect()
    }

    /// [`Ruleset::upnp_redirects`] as they are read.
    pub fn upnp_redirects_iter(&self) -> impl Iterator<Item = UpnpRedirect<'_>> {
        let (table, chain) = UPNP_PREROUTING;
        self.refs_in(table, chain).filter_map(|rule| {
            let nat = rule.nat().filter(|n| n.kind == NatKind::Dnat)?;
            let proto = match (rule.protocols(), rule.other_protocols().is_empty()) {
                ([one], true) => Some(*one),
                _ => None,
            };
            Some(UpnpRedirect {
                handle: rule.handle(),
                proto,
                ext_ports: Cow::Borrowed(rule.dports()),
                int_addr: nat.addr?,
                int_port: nat.port,
            })
        })
    }

    /// Rules fw4 rendered, with the UCI section name from their `!fw4: ` comment.
    pub fn fw4_rules(&self) -> impl Iterator<Item = (&str, &Rule)> {
        self.rules.whole().filter_map(|r| Some((r.fw4_name()?, r)))
    }

    /// The names fw4 rendered rules for: whether a UCI redirect or rule is live. One UCI section
    /// may render several rules (reflection adds `<name> (reflection)`).
    pub fn fw4_rule_names(&self) -> SortedSet<&str> {
        self.fw4_rules().map(|(name, _)| name).collect()
    }
}

impl Rule {
    /// The UCI section name when fw4 rendered this rule.
    pub fn fw4_name(&self) -> Option<&str> {
        self.comment.as_deref()?.strip_prefix(FW4_COMMENT_PREFIX)
    }

    /// Every free-text field this rule carries from the ruleset: what must reach output cleaned
    /// (miniupnpd writes client text into comments).
    pub fn texts(&self) -> impl Iterator<Item = &String> {
        let target = match &self.verdict {
            Some(Verdict::Jump(t) | Verdict::Goto(t)) => Some(t),
            _ => None,
        };
        self.comment
            .iter()
            .chain(&self.iifnames)
            .chain(&self.other_protocols)
            .chain(&self.unmodelled)
            .chain(target)
    }

    pub fn matches_protocol(&self, proto: Protocol) -> bool {
        RuleRef::Whole(self).matches_protocol(proto)
    }

    pub fn matches_dport(&self, port: u16) -> bool {
        RuleRef::Whole(self).matches_dport(port)
    }
}

/// Reads `nft -j list ruleset` (or `list table` / `list chain`: the same `{"nftables": […]}`).
///
/// The dump is read one item of the `nftables` array at a time (see [`parse_ruleset_from`]); no
/// tree of the whole document is ever built.
pub fn parse_ruleset(json: &[u8]) -> Result<Ruleset, FormatError> {
    if json.len() > MAX_RULESET_BYTES {
        return Err(FormatError::TooLarge {
            document: Document::NftRuleset,
            bytes: json.len(),
            limit: MAX_RULESET_BYTES,
        });
    }
    // Through the streaming parser's one copy: a second, over slices, cost its own code.
    parse_bounded(&mut &json[..], MAX_RULESET_BYTES)
}

/// The most bytes [`parse_ruleset_from`] reads: it holds one rule at a time, so a ruleset this
/// large costs time, not memory (a device holding all 65,535 ports makes nft print ~50 MB).
pub const MAX_STREAMED_RULESET_BYTES: usize = 256 * 1024 * 1024;

/// [`parse_ruleset`] straight from a file or nft's output, without holding the text: memory
/// grows with the rules kept, never with the size of the dump.
pub fn parse_ruleset_from(mut reader: impl std::io::Read) -> Result<Ruleset, FormatError> {
    parse_bounded(&mut reader, MAX_STREAMED_RULESET_BYTES)
}

/// One copy of the streaming parser for every source (file, nft's pipe, the netlink dump):
/// the source is reached only when the reader's 16 KB window runs dry, so `dyn` costs nothing
/// measurable, while a copy per source cost ~6 KB of code each on the router.
fn parse_bounded(reader: &mut dyn std::io::Read, limit: usize) -> Result<Ruleset, FormatError> {
    let mut reader = json::Reader::with_limit(reader, limit);
    match read_dump(&mut reader) {
        Err(_) if reader.bytes_read() > limit => Err(FormatError::TooLarge {
            document: Document::NftRuleset,
            bytes: reader.bytes_read(),
            limit,
        }),
        result => result,
    }
}

/// [`parse_ruleset`] for a source that hands over the items of the `nftables` array one at a
/// time (the netlink reader): each is parsed from its own bytes and folded in as a streamed
/// document's items are, without a reader that tracks lines and columns over the whole dump
/// (8 % of a live audit's CPU at 5,000 mappings). At most [`MAX_STREAMED_RULESET_BYTES`].
pub fn parse_ruleset_items(
    items: &mut dyn Iterator<Item = std::io::Result<String>>,
) -> Result<Ruleset, FormatError> {
    let not_json = |detail: String| FormatError::NotJson {
        document: Document::NftRuleset,
        detail,
    };
    let mut dump = Dump::default();
    dump.restart(true);
    let mut read = 0usize;
    for item in items {
        let item = item.map_err(|e| not_json(e.to_string()))?;
        read += item.len();
        if read > MAX_STREAMED_RULESET_BYTES {
            return Err(FormatError::TooLarge {
                document: Document::NftRuleset,
                bytes: read,
                limit: MAX_STREAMED_RULESET_BYTES,
            });
        }
        dump.item(json::from_slice(item.as_bytes()).map_err(|e| not_json(e.to_string()))?);
    }
    dump.finish().ok_or(FormatError::WrongShape {
        document: Document::NftRuleset,
    })
}

/// Reads the whole document, then checks nothing follows it. The top-level object's
/// `nftables` array is read item by item, each item a small tree folded into the [`Dump`] and
/// dropped; every other key, and anything that is not such an object, is skipped without
/// building it (a later `nftables` key replaces an earlier one, as in a JSON object). A scalar
/// where an object or array is expected carries nothing camguard reads: it is read and left.
fn read_dump(reader: &mut json::Reader) -> Result<Ruleset, FormatError> {
    let not_json = |e: json::Error| FormatError::NotJson {
        document: Document::NftRuleset,
        detail: e.to_string(),
    };
    let mut dump = Dump::default();
    walk_dump(reader, &mut dump).map_err(not_json)?;
    reader.end().map_err(not_json)?;
    dump.finish().ok_or(FormatError::WrongShape {
        document: Document::NftRuleset,
    })
}

fn walk_dump(reader: &mut json::Reader, dump: &mut Dump) -> Result<(), json::Error> {
    match reader.peek_value()? {
        Some(b'{') => {
            reader.open()?;
            while let Some(key) = reader.next_key()? {
                if key != "nftables" {
                    reader.skip()?;
                    continue;
                }
                dump.restart(false);
                match reader.peek_value()? {
                    Some(b'[') => {
                        reader.open()?;
                        dump.restart(true);
                        while reader.next_element()? {
                            dump.item(reader.value()?);
                        }
                    }
                    Some(b'{') => skip_members(reader)?,
                    _ => drop(reader.value()?),
                }
            }
        }
        Some(b'[') => {
            reader.open()?;
            while reader.next_element()? {
                reader.skip()?;
            }
        }
        _ => drop(reader.value()?),
    }
    Ok(())
}

/// An object whose members are skipped (its keys still read as names).
fn skip_members(reader: &mut json::Reader) -> Result<(), json::Error> {
    reader.open()?;
    while reader.next_key()?.is_some() {
        reader.skip()?;
    }
    Ok(())
}

/// The ruleset read so far, folded from the dump's items as they come.
#[derive(Default)]
struct Dump {
    ruleset: Ruleset,
    sets: HashMap<SetKey, Vec<Value>>,
    /// Rules that named a set the dump had not shown yet, by their place in `ruleset.rules`:
    /// read again at the end (nft lists sets before rules, so this stays empty in practice).
    deferred: Vec<(usize, Value)>,
    /// Whether the top-level object's (last) `nftables` was an array.
    seen_array: bool,
}

impl Dump {
    fn restart(&mut self, is_array: bool) {
        *self = Dump {
            seen_array: is_array,
            ..Dump::default()
        };
    }

    fn item(&mut self, item: Value) {
        if let Some(set) = item.get("set") {
            if let Some(key) = location(set, "name") {
                let elems = match set.get("elem") {
                    Some(Value::Array(elems)) => elems.clone(),
                    _ => Vec::new(),
                };
                self.sets.insert(key, elems);
            }
        }
        if let Some(chain) = item.get("chain") {
            if let Some((family, table, name)) = location(chain, "name") {
                self.ruleset.chains.push(Chain {
                    family,
                    table,
                    name,
                    handle: handle(chain),
                });
            }
        } else if let Some(rule) = item.get("rule") {
            if let Some((parsed, complete)) = read_rule(rule, &self.sets) {
                if !complete {
                    self.deferred.push((self.ruleset.rules.len(), item));
                }
                self.ruleset.rules.push(parsed);
            }
        }
    }

    fn finish(mut self) -> Option<Ruleset> {
        if !self.seen_array {
            return None;
        }
        for (at, item) in std::mem::take(&mut self.deferred) {
            if let Some((parsed, _)) = item.get("rule").and_then(|r| read_rule(r, &self.sets)) {
                self.ruleset.rules.set(at, parsed);
            }
        }
        self.ruleset.rules.shrink_to_fit();
        Some(self.ruleset)
    }
}

/// One `{"rule": …}` object; false when it named a set not (yet) known.
fn read_rule(rule: &Value, sets: &HashMap<SetKey, Vec<Value>>) -> Option<(Rule, bool)> {
    let (family, table, chain) = location(rule, "chain")?;
    let scope = SetScope {
        sets,
        family: &family,
        table: &table,
        missed: std::cell::Cell::new(false),
    };
    let mut parsed = Rule {
        handle: handle(rule),
        ..Rule::default()
    };
    parsed.comment = rule
        .get("comment")
        .and_then(Value::as_str)
        .map(|c| lan_text(c.as_bytes()));
    if let Some(exprs) = rule.get("expr").and_then(Value::as_array) {
        read_exprs(&mut parsed, exprs, &scope);
    }
    let complete = !scope.missed.get();
    parsed.family = family;
    parsed.table = table;
    parsed.chain = chain;
    Some((parsed, complete))
}

fn location(obj: &Value, name_key: &str) -> Option<(String, String, String)> {
    let get = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
    Some((get("family")?, get("table")?, get(name_key)?))
}

fn handle(obj: &Value) -> u64 {
    obj.get("handle").and_then(Value::as_u64).unwrap_or(0)
}

type SetKey = (String, String, String);

struct SetScope<'a> {
    sets: &'a HashMap<SetKey, Vec<Value>>,
    family: &'a str,
    table: &'a str,
    /// Set when a `@set` was not found, so the rule can be read again once the dump is.
    missed: std::cell::Cell<bool>,
}

impl SetScope<'_> {
    /// The elements a match's right-hand side stands for: one value, an anonymous set, or a named
    /// set of this table. None for a set that is not in the dump.
    fn elements<'v>(&self, right: &'v Value) -> Option<Vec<&'v Value>>
    where
        Self: 'v,
    {
        let list = match right {
            Value::Array(items) => items.iter().collect(),
            Value::Object(obj) => match obj.get("set") {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(_) => return None,
                None => vec![right],
            },
            Value::String(s) if s.starts_with('@') => {
                let key = (
                    self.family.to_owned(),
                    self.table.to_owned(),
                    s[1..].to_owned(),
                );
                match self.sets.get(&key) {
                    Some(elems) => elems.iter().collect(),
                    None => {
                        self.missed.set(true);
                        return None;
                    }
                }
            }
            _ => vec![right],
        };
        // Elements with a timeout or comment come wrapped: {"elem": {"val": …}}.
        Some(
            list.into_iter()
                .map(|v| v.get("elem").and_then(|e| e.get("val")).unwrap_or(v))
                .collect(),
        )
    }
}

fn read_exprs(rule: &mut Rule, exprs: &[Value], scope: &SetScope<'_>) {
    let mut protocols: Option<Vec<String>> = None;
    let mut dports: Option<Vec<(u16, u16)>> = None;
    for expr in exprs {
        let Some((key, body)) = expr.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        match key.as_str() {
            "match" => {
                let understood = read_match(rule, body, scope, &mut protocols, &mut dports);
                if !understood {
                    rule.unmodelled.push(describe_match(body));
                }
            }
            "accept" | "drop" | "reject" | "return" | "jump" | "goto" if rule.verdict.is_none() => {
                rule.verdict = verdict(key, body);
            }
            "dnat" | "snat" | "redirect" | "masquerade" if rule.nat.is_none() => {
                rule.nat = Some(read_nat(rule, key, body));
            }
            // Count, log, rewrite or offload: they do not decide which packets the rule takes.
            "counter" | "log" | "mangle" | "notrack" | "flow" | "ct helper" | "ct timeout"
            | "ct expectation" => {}
            // A verdict map (fw4's `ct state vmap { established : accept, … }`): the verdict
            // depends on the packet, so the rule gets none.
            "vmap" => {
                let on = body
                    .get("key")
                    .map_or_else(|| "?".to_owned(), describe_selector);
                rule.unmodelled
                    .push(lan_text(format!("{on} vmap").as_bytes()));
            }
            other => rule.unmodelled.push(lan_text(other.as_bytes())),
        }
    }
    for name in protocols.unwrap_or_default() {
        match Protocol::from_name(&name) {
            Some(p) => rule.protocols.push(p),
            None => rule.other_protocols.push(lan_text(name.as_bytes())),
        }
    }
    rule.protocols.sort();
    rule.protocols.dedup();
    rule.dports = dports.unwrap_or_default();
    if let [only] = &rule.iifnames[..] {
        rule.iifname = Some(only.clone());
    }
}

/// What the left-hand side of a match selects.
#[derive(Clone, Copy)]
enum Selector<'a> {
    Meta(&'a str),
    Field {
        protocol: &'a str,
        field: &'a str,
    },
    Raw {
        base: &'a str,
        offset: u64,
        len: u64,
    },
    Other,
}

fn selector(left: &Value) -> Selector<'_> {
    if let Some(key) = left
        .get("meta")
        .and_then(|m| m.get("key"))
        .and_then(Value::as_str)
    {
        return Selector::Meta(key);
    }
    if let Some(payload) = left.get("payload") {
        let text = |k: &str| payload.get(k).and_then(Value::as_str);
        if let (Some(protocol), Some(field)) = (text("protocol"), text("field")) {
            return Selector::Field { protocol, field };
        }
        let number = |k: &str| payload.get(k).and_then(Value::as_u64);
        if let (Some(base), Some(offset), Some(len)) =
            (text("base"), number("offset"), number("len"))
        {
            return Selector::Raw { base, offset, len };
        }
    }
    Selector::Other
}

/// Records a match the model covers; false when it must be listed as unmodelled instead.
fn read_match(
    rule: &mut Rule,
    body: &Value,
    scope: &SetScope<'_>,
    protocols: &mut Option<Vec<String>>,
    dports: &mut Option<Vec<(u16, u16)>>,
) -> bool {
    let (Some(left), Some(right)) = (body.get("left"), body.get("right")) else {
        return false;
    };
    let op = body.get("op").and_then(Value::as_str).unwrap_or("==");
    let positive = op == "==" || op == "in";
    let selected = selector(left);
    if let Selector::Field { protocol, .. } = selected {
        // Matching a header field matches that protocol only (nft lists the rule without the
        // `meta l4proto` it added, but the kernel has it), whatever the comparison.
        if let Some(implied) = implied_protocol(protocol) {
            constrain(protocols, Some(vec![implied.to_owned()]));
        }
    }
    match selected {
        Selector::Meta("l4proto")
        | Selector::Field {
            protocol: "ip",
            field: "protocol",
        }
        | Selector::Field {
            protocol: "ip6",
            field: "nexthdr",
        }
        | Selector::Raw {
            base: "nh",
            offset: 72,
            len: 8,
        }
        | Selector::Raw {
            base: "nh",
            offset: 48,
            len: 8,
        } => positive && constrain(protocols, protocol_names(scope.elements(right))),
        Selector::Field {
            protocol: "th" | "tcp" | "udp" | "udplite" | "sctp" | "dccp",
            field: "dport",
        } => constrain(dports, port_ranges(op, scope.elements(right))),
        Selector::Raw {
            base: "th",
            offset: 16,
            len: 16,
        } => constrain(dports, port_ranges(op, scope.elements(right))),
        Selector::Field {
            protocol: "ip" | "ip6",
            field: "daddr",
        } if positive && rule.daddr.is_none() => {
            rule.daddr = right.as_str().and_then(|s| s.parse().ok());
            rule.daddr.is_some()
        }
        Selector::Raw {
            base: "nh",
            offset: 128,
            len: 32,
        } if positive && rule.daddr.is_none() => {
            rule.daddr = raw_number(right)
                .and_then(|n| u32::try_from(n).ok())
                .map(|n| IpAddr::V4(Ipv4Addr::from(n)));
            rule.daddr.is_some()
        }
        Selector::Raw {
            base: "nh",
            offset: 192,
            len: 128,
        } if positive && rule.daddr.is_none() => {
            rule.daddr = raw_number(right).map(|n| IpAddr::V6(Ipv6Addr::from(n)));
            rule.daddr.is_some()
        }
        Selector::Meta("iif" | "iifname") if positive && rule.iifnames.is_empty() => {
            let names: Option<Vec<String>> = scope.elements(right).and_then(|e| {
                e.iter()
                    .map(|v| v.as_str().map(|s| lan_text(s.as_bytes())))
                    .collect()
            });
            match names {
                Some(names) if !names.is_empty() => {
                    rule.iifnames = names;
                    true
                }
                _ => false,
            }
        }
        Selector::Field {
            protocol: "ether",
            field: "saddr",
        } if positive && rule.ether_saddr.is_empty() => {
            let macs: Option<Vec<Mac>> = scope
                .elements(right)
                .and_then(|e| e.iter().map(|v| v.as_str()?.parse().ok()).collect());
            match macs {
                Some(macs) if !macs.is_empty() => {
                    rule.ether_saddr = macs;
                    true
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Narrows a constraint by one more match (a rule's matches all have to hold). A contradictory
/// rule, which matches nothing, keeps its first constraint: broader, never narrower.
fn constrain<T: Clone + Intersect>(current: &mut Option<Vec<T>>, new: Option<Vec<T>>) -> bool {
    let Some(new) = new else { return false };
    *current = Some(match current.take() {
        None => new,
        Some(old) => {
            let both = T::intersect(&old, &new);
            if both.is_empty() {
                old
            } else {
                both
            }
        }
    });
    true
}

trait Intersect: Sized {
    fn intersect(a: &[Self], b: &[Self]) -> Vec<Self>;
}

impl Intersect for String {
    fn intersect(a: &[String], b: &[String]) -> Vec<String> {
        a.iter().filter(|x| b.contains(x)).cloned().collect()
    }
}

impl Intersect for (u16, u16) {
    fn intersect(a: &[(u16, u16)], b: &[(u16, u16)]) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        for &(alo, ahi) in a {
            for &(blo, bhi) in b {
                let (lo, hi) = (alo.max(blo), ahi.min(bhi));
                if lo <= hi {
                    out.push((lo, hi));
                }
            }
        }
        out
    }
}

/// The IP protocol a header field belongs to, in nft's `meta l4proto` names.
fn implied_protocol(header: &str) -> Option<&'static str> {
    Some(match header {
        "tcp" => "tcp",
        "udp" => "udp",
        "udplite" => "udplite",
        "sctp" => "sctp",
        "dccp" => "dccp",
        "icmp" => "icmp",
        "icmpv6" => "ipv6-icmp",
        "igmp" => "igmp",
        "esp" => "esp",
        "ah" => "ah",
        "comp" => "comp",
        _ => return None,
    })
}

/// nft's protocol names, lower case; numbers named as nft names them.
fn protocol_names(elements: Option<Vec<&Value>>) -> Option<Vec<String>> {
    let names: Option<Vec<String>> = elements?
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Some(s.to_ascii_lowercase()),
            Value::Number(n) => Some(protocol_name(n.as_u64()?)),
            _ => None,
        })
        .collect();
    names.filter(|n| !n.is_empty())
}

fn protocol_name(number: u64) -> String {
    match Protocol::from_number(number) {
        Some(p) => p.as_str().to_ascii_lowercase(),
        None => match number {
            1 => "icmp".into(),
            2 => "igmp".into(),
            33 => "dccp".into(),
            47 => "gre".into(),
            50 => "esp".into(),
            51 => "ah".into(),
            58 => "ipv6-icmp".into(),
            132 => "sctp".into(),
            n => n.to_string(),
        },
    }
}

fn port_ranges(op: &str, elements: Option<Vec<&Value>>) -> Option<Vec<(u16, u16)>> {
    let elements = elements?;
    if op == "==" || op == "in" {
        let ranges: Option<Vec<(u16, u16)>> = elements.into_iter().map(port_range).collect();
        return ranges.filter(|r| !r.is_empty());
    }
    let [single] = elements[..] else { return None };
    let n = port(single)?;
    match op {
        "<" => Some((0, n.checked_sub(1)?)),
        "<=" => Some((0, n)),
        ">" => Some((n.checked_add(1)?, u16::MAX)),
        ">=" => Some((n, u16::MAX)),
        _ => None,
    }
    .map(|r| vec![r])
}

fn port_range(value: &Value) -> Option<(u16, u16)> {
    if let Some([lo, hi]) = value
        .get("range")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        let (lo, hi) = (port(lo)?, port(hi)?);
        return (lo <= hi).then_some((lo, hi));
    }
    port(value).map(|p| (p, p))
}

fn port(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => u16::try_from(n.as_u64()?).ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A raw payload value: a JSON number, or a hex string for values wider than 64 bits
/// (`"0x20010db8…"`, how nft prints `@nh,192,128`).
fn raw_number(value: &Value) -> Option<u128> {
    match value {
        Value::Number(n) => n.as_u64().map(u128::from),
        Value::String(s) => {
            let hex = s.strip_prefix("0x")?;
            (!hex.is_empty() && hex.len() <= 32)
                .then(|| u128::from_str_radix(hex, 16).ok())
                .flatten()
        }
        _ => None,
    }
}

fn verdict(key: &str, body: &Value) -> Option<Verdict> {
    let target = || {
        body.get("target")
            .and_then(Value::as_str)
            .map(|t| lan_text(t.as_bytes()))
    };
    Some(match key {
        "accept" => Verdict::Accept,
        "drop" => Verdict::Drop,
        "reject" => Verdict::Reject,
        "return" => Verdict::Return,
        "jump" => Verdict::Jump(target()?),
        "goto" => Verdict::Goto(target()?),
        _ => return None,
    })
}

fn read_nat(rule: &mut Rule, key: &str, body: &Value) -> Nat {
    let kind = match key {
        "dnat" => NatKind::Dnat,
        "snat" => NatKind::Snat,
        "redirect" => NatKind::Redirect,
        _ => NatKind::Masquerade,
    };
    let addr = body.get("addr");
    let parsed_addr = addr
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<IpAddr>().ok());
    if addr.is_some() && parsed_addr.is_none() {
        rule.unmodelled.push(lan_text(
            format!(
                "{key} to {}",
                describe_value(addr.unwrap_or(&Value::Null), 0)
            )
            .as_bytes(),
        ));
    }
    Nat {
        kind,
        addr: parsed_addr,
        port: body.get("port").and_then(port),
    }
}

/// A match as nft would roughly print it, for `Rule::unmodelled`.
fn describe_match(body: &Value) -> String {
    let op = body.get("op").and_then(Value::as_str).unwrap_or("==");
    let left = body
        .get("left")
        .map_or_else(|| "?".to_owned(), describe_selector);
    let right = body
        .get("right")
        .map_or_else(|| "?".to_owned(), |v| describe_value(v, 0));
    lan_text(format!("{left} {op} {right}").as_bytes())
}

fn describe_selector(left: &Value) -> String {
    match selector(left) {
        Selector::Meta(key) => format!("meta {key}"),
        Selector::Field { protocol, field } => format!("{protocol} {field}"),
        Selector::Raw { base, offset, len } => format!("@{base},{offset},{len}"),
        Selector::Other => match left
            .as_object()
            .and_then(|o| o.iter().next())
            .map(|(k, v)| (k.as_str(), v))
        {
            // Bitwise operations, e.g. fw4's `tcp flags & (fin | syn | rst | ack) == syn`.
            Some((op @ ("&" | "|" | "^" | "<<" | ">>"), Value::Array(operands))) => {
                let parts: Vec<String> = operands
                    .iter()
                    .map(|v| {
                        if v.is_object() {
                            describe_selector(v)
                        } else {
                            describe_value(v, 1)
                        }
                    })
                    .collect();
                parts.join(&format!(" {op} "))
            }
            Some((key, Value::Object(inner))) => match inner.get("key").and_then(Value::as_str) {
                Some(sub) => format!("{key} {sub}"),
                None => key.to_owned(),
            },
            Some((key, _)) => key.to_owned(),
            None => describe_value(left, 0),
        },
    }
}

fn describe_value(value: &Value, depth: usize) -> String {
    const MAX_SHOWN: usize = 8;
    if depth > 3 {
        return "…".into();
    }
    let list = |items: &Vec<Value>| {
        let mut shown: Vec<String> = items
            .iter()
            .take(MAX_SHOWN)
            .map(|v| describe_value(v, depth + 1))
            .collect();
        if items.len() > MAX_SHOWN {
            shown.push("…".into());
        }
        format!("{{ {} }}", shown.join(", "))
    };
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(items) => list(items),
        Value::Object(obj) => describe_object(obj, depth, list),
    }
}

fn describe_object(
    obj: &Map<String, Value>,
    depth: usize,
    list: impl Fn(&Vec<Value>) -> String,
) -> String {
    if let Some(Value::Array(items)) = obj.get("set") {
        return list(items);
    }
    if let Some(Value::Array(pair)) = obj.get("range") {
        if let [lo, hi] = &pair[..] {
            return format!(
                "{}-{}",
                describe_value(lo, depth + 1),
                describe_value(hi, depth + 1)
            );
        }
    }
    if let Some(prefix) = obj.get("prefix") {
        let addr = prefix
            .get("addr")
            .map_or_else(|| "?".to_owned(), |a| describe_value(a, depth + 1));
        let len = prefix
            .get("len")
            .map_or_else(|| "?".to_owned(), |l| describe_value(l, depth + 1));
        return format!("{addr}/{len}");
    }
    match obj.iter().next() {
        Some((key, _)) => format!("{key} …"),
        None => "{}".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Ruleset {
        let path = format!(
            "{}/tests/fixtures/nft/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        parse_ruleset(&std::fs::read(&path).unwrap()).unwrap()
    }

    fn fw4_rule<'a>(ruleset: &'a Ruleset, name: &str) -> &'a Rule {
        ruleset
            .fw4_rules()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no rule {name}"))
    }

    fn single_rule(exprs: &str) -> Rule {
        let json = format!(
            r#"{{"nftables":[{{"rule":{{"family":"inet","table":"fw4","chain":"c","handle":1,"expr":{exprs}}}}}]}}"#
        );
        parse_ruleset(json.as_bytes())
            .unwrap()
            .rules
            .iter()
            .next()
            .unwrap()
            .into_owned()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn miniupnpd_raw_payload_protocol_is_understood() {
        let ruleset = fixture("miniupnpd-live");
        let redirects = ruleset.upnp_redirects();
        type Mapping = (Option<Protocol>, Option<u16>, IpAddr, Option<u16>);
        let summary: Vec<Mapping> = redirects
            .iter()
            .map(|r| (r.proto, r.ext_port(), r.int_addr, r.int_port))
            .collect();
        let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            summary,
            [
                (
                    Some(Protocol::Tcp),
                    Some(18080),
                    v4("192.168.1.100"),
                    Some(8080)
                ),
                (
                    Some(Protocol::Udp),
                    Some(13478),
                    v4("192.168.1.100"),
                    Some(3478)
                ),
                (
                    Some(Protocol::Tcp),
                    Some(10554),
                    v4("192.168.1.101"),
                    Some(554)
                ),
                (
                    Some(Protocol::UdpLite),
                    None,
                    v4("192.168.1.102"),
                    Some(5004)
                ),
                (
                    Some(Protocol::Tcp),
                    Some(19000),
                    v4("192.168.1.100"),
                    Some(9000)
                ),
            ]
        );
        assert!(redirects.iter().all(|r| r.handle > 0));
    }

    #[test]
    fn miniupnpd_udplite_mapping_forwards_every_port() {
        let ruleset = fixture("miniupnpd-live");
        let redirects = ruleset.upnp_redirects();
        let udplite = redirects
            .iter()
            .find(|r| r.proto == Some(Protocol::UdpLite))
            .unwrap();
        assert!(udplite.ext_ports.is_empty());
        assert!(udplite.covers_ext_port(1) && udplite.covers_ext_port(65535));
    }

    #[test]
    fn miniupnpd_raw_destination_addresses_are_understood() {
        let ruleset = fixture("miniupnpd-live");
        let forward: Vec<Cow<Rule>> = ruleset.rules_in("fw4", "upnp_forward").collect();
        assert_eq!(forward[0].daddr, ip("192.168.1.100"));
        assert_eq!(forward[0].dports, [(8080, 8080)]);
        assert_eq!(forward[0].protocols, [Protocol::Tcp]);
        assert_eq!(forward[0].iifname.as_deref(), Some("wan"));
        assert_eq!(forward[0].verdict, Some(Verdict::Accept));
        assert!(
            forward[0].unmodelled.is_empty(),
            "{:?}",
            forward[0].unmodelled
        );
        // The remote-host restriction (@nh,96,32 = IPv4 saddr) is not modelled, and says so.
        assert_eq!(forward[2].unmodelled, ["@nh,96,32 == 3405803783"]);
        // IPv6 pinholes: @nh,192,128 is the IPv6 destination, @nh,48,8 the next header.
        let pinhole = forward.iter().find(|r| r.dports == [(8000, 8000)]).unwrap();
        assert_eq!(pinhole.daddr, ip("2001:db8:1::100"));
        assert_eq!(pinhole.protocols, [Protocol::Tcp]);
    }

    #[test]
    fn miniupnpd_udplite_filter_rule_is_not_made_more_specific() {
        // miniupnpd compares the port without loading it, so nft shows `iif` against a number
        // prefix; camguard ignores that match and says so rather than guessing.
        let ruleset = fixture("miniupnpd-live");
        let rule = ruleset
            .rules_in("fw4", "upnp_forward")
            .find(|r| r.protocols == [Protocol::UdpLite])
            .unwrap();
        assert!(rule.dports.is_empty());
        assert_eq!(rule.iifnames, ["wan"]);
        assert_eq!(rule.unmodelled, ["meta iif == 35859/16"]);
    }

    #[test]
    fn fw4_redirect_rules_are_read_with_their_names() {
        let ruleset = fixture("fw4-openwrt-24.10");
        let web = fw4_rule(&ruleset, "Web-Server");
        assert_eq!(
            (web.table.as_str(), web.chain.as_str()),
            ("fw4", "dstnat_wan")
        );
        assert_eq!(web.protocols, [Protocol::Tcp]);
        assert_eq!(web.dports, [(8080, 8080)]);
        assert_eq!(
            web.nat,
            Some(Nat {
                kind: NatKind::Dnat,
                addr: ip("192.168.1.20"),
                port: Some(80)
            })
        );
        assert_eq!(web.unmodelled, ["meta nfproto == ipv4"]);

        let plex = fw4_rule(&ruleset, "Plex");
        assert_eq!(plex.protocols, [Protocol::Tcp, Protocol::Udp]);
        assert_eq!(plex.dports, [(32400, 32400)]);

        let voip = fw4_rule(&ruleset, "VoIP");
        assert_eq!(voip.protocols, [Protocol::Udp]);
        assert_eq!(voip.dports, [(5060, 5060), (10000, 20000)]);
        assert_eq!(voip.nat.as_ref().unwrap().port, None);

        assert_eq!(fw4_rule(&ruleset, "Game-Range").dports, [(2000, 2010)]);
        assert_eq!(
            fw4_rule(&ruleset, "Web-Set").dports,
            [(80, 80), (443, 443), (8000, 8999)]
        );

        let ssh = fw4_rule(&ruleset, "SSH-alt");
        assert_eq!(
            ssh.nat,
            Some(Nat {
                kind: NatKind::Redirect,
                addr: None,
                port: Some(22)
            })
        );

        let v6 = fw4_rule(&ruleset, "HTTPS-v6");
        assert_eq!(v6.nat.as_ref().unwrap().addr, ip("2001:db8::1234"));
    }

    #[test]
    fn dmz_style_redirect_without_port_matches_every_port() {
        let ruleset = fixture("fw4-openwrt-24.10");
        let dmz = fw4_rule(&ruleset, "DVR-DMZ");
        assert!(dmz.dports.is_empty());
        assert!(dmz.matches_dport(1) && dmz.matches_dport(65535));
        assert_eq!(dmz.protocols, [Protocol::Tcp, Protocol::Udp]);
        let all = fw4_rule(&ruleset, "NVR-all-protocols");
        assert!(all.protocols.is_empty() && all.other_protocols.is_empty());
        assert!(all.matches_protocol(Protocol::UdpLite));
    }

    #[test]
    fn ether_saddr_block_rules_are_read_including_named_sets() {
        let ruleset = fixture("fw4-openwrt-24.10");
        let mac = |s: &str| s.parse::<Mac>().unwrap();
        let cams = fw4_rule(&ruleset, "Block-Cameras-Internet");
        assert_eq!(cams.chain, "forward_lan");
        assert_eq!(
            cams.ether_saddr,
            [mac("3c:ef:8c:aa:bb:cc"), mac("4c:bd:8f:01:02:03")]
        );
        assert_eq!(cams.verdict, Some(Verdict::Jump("handle_reject".into())));
        assert_eq!(
            fw4_rule(&ruleset, "Block-DVR").ether_saddr,
            [mac("00:12:34:56:78:9a")]
        );
        assert_eq!(fw4_rule(&ruleset, "Block-DVR").verdict, Some(Verdict::Drop));
        let set = fw4_rule(&ruleset, "Block-Camera-Set");
        assert_eq!(
            set.ether_saddr,
            [mac("9c:8e:cd:11:22:33"), mac("e0:50:8b:44:55:66")]
        );
    }

    #[test]
    fn rules_fw4_did_not_write_have_no_fw4_name() {
        let ruleset = fixture("fw4-openwrt-24.10");
        let jumps: Vec<Cow<Rule>> = ruleset.rules_in("fw4", "dstnat").collect();
        assert_eq!(
            jumps.last().unwrap().verdict,
            Some(Verdict::Jump("upnp_prerouting".into()))
        );
        assert_eq!(jumps.last().unwrap().fw4_name(), None);
        let names = ruleset.fw4_rule_names();
        assert!(names.contains("Web-Server") && names.contains("Web-Server (reflection)"));
        assert!(names.contains("SSH-from-WAN"));
    }

    #[test]
    fn fw4_redirects_are_not_upnp_redirects() {
        let ruleset = fixture("fw4-openwrt-24.10");
        assert!(ruleset.upnp_redirects().is_empty());
        assert!(ruleset.chain("fw4", "upnp_prerouting").is_some());
    }

    #[test]
    fn conditions_camguard_does_not_model_are_disclosed() {
        let ruleset = fixture("fw4-openwrt-24.10");
        let forwards = fw4_rule(&ruleset, "Accept port forwards");
        assert_eq!(forwards.verdict, Some(Verdict::Accept));
        assert_eq!(forwards.unmodelled, ["ct status in dnat"]);
        let flows = fw4_rule(&ruleset, "Handle forwarded flows");
        assert_eq!(flows.unmodelled, ["ct state vmap"]);
        let syn = fw4_rule(&ruleset, "Rate limit TCP syn packets");
        assert_eq!(
            syn.unmodelled,
            ["tcp flags & { fin, syn, rst, ack } == syn"]
        );
        assert_eq!(flows.verdict, None);
        let ping = fw4_rule(&ruleset, "Allow-Ping");
        assert_eq!(
            ping.other_protocols,
            ["icmp"],
            "an ICMP type match takes ICMP only"
        );
        assert_eq!(ping.unmodelled, ["icmp type == echo-request"]);
        let esp = fw4_rule(&ruleset, "Allow-IPSec-ESP");
        assert_eq!(esp.other_protocols, ["esp"]);
        assert!(
            !esp.matches_protocol(Protocol::Tcp),
            "an ESP-only rule does not take TCP"
        );
    }

    #[test]
    fn input_rules_keep_interface_protocol_and_port() {
        let ruleset = fixture("fw4-openwrt-24.10");
        let ssh = fw4_rule(&ruleset, "SSH-from-WAN");
        assert_eq!(
            (
                ssh.chain.as_str(),
                ssh.protocols.as_slice(),
                ssh.dports.as_slice()
            ),
            ("input_wan", &[Protocol::Tcp][..], &[(22, 22)][..])
        );
        let jump = fw4_rule(&ruleset, "Handle wan IPv4/IPv6 input traffic");
        assert_eq!(jump.iifname.as_deref(), Some("wan"));
        assert_eq!(jump.verdict, Some(Verdict::Jump("input_wan".into())));
        let masq = fw4_rule(&ruleset, "Masquerade IPv4 wan traffic");
        assert_eq!(
            masq.nat,
            Some(Nat {
                kind: NatKind::Masquerade,
                addr: None,
                port: None
            })
        );
        let reflection = fw4_rule(&ruleset, "Web-Server (reflection)");
        assert_eq!(reflection.daddr, ip("203.0.113.7"));
    }

    #[test]
    fn empty_ruleset_is_empty() {
        assert_eq!(fixture("empty"), Ruleset::default());
    }

    #[test]
    fn iifname_sets_keep_every_name() {
        let rule = single_rule(
            r#"[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":{"set":["pppoe-wan","wan6"]}}},{"jump":{"target":"input_wan"}}]"#,
        );
        assert_eq!(rule.iifnames, ["pppoe-wan", "wan6"]);
        assert_eq!(rule.iifname, None);
    }

    #[test]
    fn negated_and_compared_ports() {
        let rule = single_rule(
            r#"[{"match":{"op":"!=","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}},{"accept":null}]"#,
        );
        assert!(
            rule.dports.is_empty(),
            "a negated port match is not a port list"
        );
        assert_eq!(rule.protocols, [Protocol::Tcp]);
        assert_eq!(rule.unmodelled, ["tcp dport != 22"]);
        let rule = single_rule(
            r#"[{"match":{"op":">=","left":{"payload":{"protocol":"th","field":"dport"}},"right":1024}}]"#,
        );
        assert_eq!(rule.dports, [(1024, 65535)]);
        let rule = single_rule(
            r#"[{"match":{"op":"<","left":{"payload":{"protocol":"udp","field":"dport"}},"right":0}}]"#,
        );
        assert!(rule.dports.is_empty());
    }

    #[test]
    fn contradictory_protocol_matches_stay_broad() {
        let rule = single_rule(
            r#"[{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"udp"}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":80}}]"#,
        );
        assert_eq!(rule.protocols, [Protocol::Udp]);
    }

    #[test]
    fn unknown_named_set_is_not_a_restriction() {
        let rule = single_rule(
            r#"[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":"@missing"}}]"#,
        );
        assert!(rule.dports.is_empty());
        assert_eq!(rule.unmodelled, ["tcp dport == @missing"]);
    }

    #[test]
    fn dnat_to_a_map_has_no_address() {
        let rule = single_rule(
            r#"[{"dnat":{"family":"ip","addr":{"map":{"key":{"payload":{"protocol":"th","field":"dport"}},"data":{"set":[]}}}}}]"#,
        );
        assert_eq!(
            rule.nat,
            Some(Nat {
                kind: NatKind::Dnat,
                addr: None,
                port: None
            })
        );
        assert_eq!(rule.unmodelled, ["dnat to map …"]);
    }

    #[test]
    fn list_chain_output_is_read_too() {
        let json = br#"{"nftables":[{"metainfo":{"version":"1.0.6","json_schema_version":1}},{"chain":{"family":"inet","table":"fw4","name":"upnp_prerouting","handle":4}},{"rule":{"family":"inet","table":"fw4","chain":"upnp_prerouting","handle":17,"expr":[{"match":{"op":"==","left":{"meta":{"key":"iif"}},"right":"wan"}},{"match":{"op":"==","left":{"payload":{"base":"nh","offset":72,"len":8}},"right":6}},{"match":{"op":"==","left":{"payload":{"protocol":"th","field":"dport"}},"right":18080}},{"dnat":{"family":"ip","addr":"192.168.1.100","port":8080}}]}}]}"#;
        let ruleset = parse_ruleset(json).unwrap();
        let redirects = ruleset.upnp_redirects();
        assert_eq!(redirects.len(), 1);
        assert_eq!(
            (redirects[0].handle, redirects[0].ext_port()),
            (17, Some(18080))
        );
    }

    #[test]
    fn comments_are_cleaned() {
        let json = br#"{"nftables":[{"rule":{"family":"inet","table":"fw4","chain":"c","handle":1,"comment":"!fw4: cam\u001b[2J","expr":[]}}]}"#;
        let rule = parse_ruleset(json)
            .unwrap()
            .rules
            .iter()
            .next()
            .unwrap()
            .into_owned();
        assert_eq!(rule.fw4_name(), Some("cam\\x1b[2J"));
    }

    #[test]
    fn errors_say_what_was_expected() {
        let err = parse_ruleset(b"Error: Could not process rule")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("nft JSON: not valid JSON") && err.contains("nft -j list ruleset"),
            "{err}"
        );
        let err = parse_ruleset(br#"{"tables":[]}"#).unwrap_err().to_string();
        assert!(err.contains("no \"nftables\" array"), "{err}");
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let big = vec![b' '; MAX_RULESET_BYTES + 1];
        let err = parse_ruleset(&big).unwrap_err().to_string();
        assert!(err.contains("33554433 bytes, over the 32 MiB"), "{err}");
    }

    // ---- the whole-tree parser this module used before it streamed (issue 14) ----
    /// The parser before issue 14, which built the whole document as a `Value` tree: the oracle
    /// the streaming reader is held to.
    fn parse_ruleset_whole_tree(json: &[u8]) -> Result<Ruleset, FormatError> {
        if json.len() > MAX_RULESET_BYTES {
            return Err(FormatError::TooLarge {
                document: Document::NftRuleset,
                bytes: json.len(),
                limit: MAX_RULESET_BYTES,
            });
        }
        let root: Value = crate::json::from_slice(json).map_err(|e| FormatError::NotJson {
            document: Document::NftRuleset,
            detail: e.to_string(),
        })?;
        let items =
            root.get("nftables")
                .and_then(Value::as_array)
                .ok_or(FormatError::WrongShape {
                    document: Document::NftRuleset,
                })?;

        let sets = named_sets(items);
        let sets: HashMap<SetKey, Vec<Value>> =
            sets.into_iter().map(|(k, v)| (k, v.to_vec())).collect();
        let mut ruleset = Ruleset::default();
        for item in items {
            if let Some(chain) = item.get("chain") {
                if let Some((family, table, name)) = location(chain, "name") {
                    ruleset.chains.push(Chain {
                        family,
                        table,
                        name,
                        handle: handle(chain),
                    });
                }
            } else if let Some(rule) = item.get("rule") {
                if let Some((family, table, chain)) = location(rule, "chain") {
                    let scope = SetScope {
                        sets: &sets,
                        family: &family,
                        table: &table,
                        missed: std::cell::Cell::new(false),
                    };
                    let mut parsed = Rule {
                        handle: handle(rule),
                        ..Rule::default()
                    };
                    parsed.comment = rule
                        .get("comment")
                        .and_then(Value::as_str)
                        .map(|c| lan_text(c.as_bytes()));
                    if let Some(exprs) = rule.get("expr").and_then(Value::as_array) {
                        read_exprs(&mut parsed, exprs, &scope);
                    }
                    parsed.family = family;
                    parsed.table = table;
                    parsed.chain = chain;
                    ruleset.rules.push(parsed);
                }
            }
        }
        Ok(ruleset)
    }

    /// Named sets by (family, table, name), so `@set` references can be resolved.
    fn named_sets(items: &[Value]) -> HashMap<SetKey, &[Value]> {
        items
            .iter()
            .filter_map(|item| {
                let set = item.get("set")?;
                let elems = set
                    .get("elem")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice);
                Some((location(set, "name")?, elems))
            })
            .collect()
    }

    /// Every real dump, and the shapes the tests below build, read the same facts as before.
    #[test]
    fn streaming_reads_the_same_facts_as_the_whole_tree_parser() {
        let dir = format!("{}/tests/fixtures/nft", env!("CARGO_MANIFEST_DIR"));
        let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        assert!(inputs.len() >= 3);
        let fw4 = std::fs::read(format!("{dir}/fw4-openwrt-24.10.json")).unwrap();
        // The rules before the sets they name, a later `nftables` replacing an earlier one,
        // keys around the array.
        let mut tree: Value = crate::json::from_slice(&fw4).unwrap();
        tree["nftables"].as_array_mut().unwrap().reverse();
        inputs.push(crate::encode::to_vec(&tree).unwrap());
        inputs.push(br#"{"x":[1,{"y":2}],"nftables":[{"rule":{"family":"inet","table":"t","chain":"c"}}],"z":null}"#.to_vec());
        inputs.push(
            br#"{"nftables":[{"chain":{"family":"inet","table":"t","name":"a"}}],"nftables":[]}"#
                .to_vec(),
        );
        inputs.push(br#"{"nftables":{"rule":{}}}"#.to_vec());
        inputs.push(br#"{"nftables":[{"set":{"family":"inet","table":"t","name":"s","elem":[22]},"chain":{"family":"inet","table":"t","name":"c","handle":3}},{"rule":{"family":"inet","table":"t","chain":"c","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":"@s"}}]}}]}"#.to_vec());
        inputs.push(b"[]".to_vec());
        inputs.push(b"{\"nftables\":[]} x".to_vec());
        for input in &inputs {
            let old = parse_ruleset_whole_tree(input);
            let new = parse_ruleset(input);
            let streamed = parse_ruleset_from(&input[..]);
            let text = String::from_utf8_lossy(&input[..input.len().min(200)]).into_owned();
            assert_eq!(old.is_ok(), new.is_ok(), "{text}");
            if let Ok(old) = old {
                assert_eq!(new.unwrap(), old, "{text}");
                assert_eq!(streamed.unwrap(), old, "{text}");
            } else {
                assert!(streamed.is_err(), "{text}");
            }
        }
    }

    /// The netlink reader's path: the same items handed over one at a time read the same
    /// facts as the document, and a failing source or an item that is not JSON is an error.
    #[test]
    fn items_read_the_same_facts_as_the_document_they_come_from() {
        let dir = format!("{}/tests/fixtures/nft", env!("CARGO_MANIFEST_DIR"));
        let mut read = 0;
        for path in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let input = std::fs::read(&path).unwrap();
            let Ok(whole) = parse_ruleset(&input) else {
                continue;
            };
            let tree: Value = crate::json::from_slice(&input).unwrap();
            let mut items = tree["nftables"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| Ok(item.to_string()));
            assert_eq!(parse_ruleset_items(&mut items).unwrap(), whole, "{path:?}");
            read += 1;
        }
        assert!(read >= 3, "{read} fixtures");
        let failing = [
            Ok(r#"{"chain":{"family":"inet","table":"t","name":"a"}}"#.to_owned()),
            Err(std::io::Error::other("the dump broke off")),
        ];
        let err = parse_ruleset_items(&mut failing.into_iter()).unwrap_err();
        assert!(err.to_string().contains("the dump broke off"), "{err}");
        let mut garbled = [Ok("{\"rule\":".to_owned())].into_iter();
        assert!(matches!(
            parse_ruleset_items(&mut garbled),
            Err(FormatError::NotJson { .. })
        ));
    }

    #[test]
    fn a_stream_past_its_bound_is_refused() {
        let mut endless = std::io::Read::take(std::io::repeat(b' '), 5000);
        let err = parse_bounded(&mut endless, 4096).unwrap_err();
        assert!(err.to_string().contains("4097 bytes"), "{err}");
        assert!(matches!(err, FormatError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn deeply_nested_json_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_ruleset(deep.as_bytes()).is_err());
    }

    /// serde_json skipped any depth where the reader was not looking (other keys, a top-level
    /// array); camguard's reader holds skipped parts to the same 127 levels as the rest.
    #[test]
    fn nesting_past_the_limit_is_refused_even_where_it_is_skipped() {
        // The document's object is the first level.
        let deep = format!("{}{}", "[".repeat(126), "]".repeat(126));
        let doc = format!(r#"{{"x":{deep},"nftables":[]}}"#);
        assert!(parse_ruleset(doc.as_bytes()).is_ok());
        let deeper = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let doc = format!(r#"{{"x":{deeper},"nftables":[]}}"#);
        assert!(parse_bounded_serde_json(&mut doc.as_bytes(), MAX_RULESET_BYTES).is_ok());
        let err = parse_ruleset(doc.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("recursion limit exceeded"), "{err}");
    }

    // ---- the serde_json streaming reader this module used before camguard parsed JSON itself ----
    /// Counts what passes, and stops just past `limit`.
    struct Bounded<R> {
        inner: R,
        read: usize,
        limit: usize,
    }

    impl<R: std::io::Read> std::io::Read for Bounded<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.read > self.limit {
                return Err(std::io::Error::other("nft dump too large"));
            }
            let room = self.limit + 1 - self.read;
            let len = buf.len().min(room);
            let n = self.inner.read(&mut buf[..len])?;
            self.read += n;
            Ok(n)
        }
    }

    /// serde_json's streaming deserializer over the same bound, walked by serde visitors: the
    /// oracle [`parse_bounded`] is held to (the same rulesets, the same errors in the same words).
    fn parse_bounded_serde_json(
        reader: &mut dyn std::io::Read,
        limit: usize,
    ) -> Result<Ruleset, FormatError> {
        let mut bounded = Bounded {
            inner: std::io::BufReader::with_capacity(16 * 1024, reader),
            read: 0,
            limit,
        };
        let mut de = serde_json::Deserializer::from_reader(&mut bounded);
        let not_json = |e: serde_json::Error| FormatError::NotJson {
            document: Document::NftRuleset,
            detail: e.to_string(),
        };
        let mut dump = Dump::default();
        let result = serde::de::DeserializeSeed::deserialize(OldRoot(&mut dump), &mut de)
            .and_then(|()| de.end())
            .map_err(not_json)
            .and_then(|()| {
                dump.finish().ok_or(FormatError::WrongShape {
                    document: Document::NftRuleset,
                })
            });
        drop(de);
        match result {
            Err(_) if bounded.read > limit => Err(FormatError::TooLarge {
                document: Document::NftRuleset,
                bytes: bounded.read,
                limit,
            }),
            result => result,
        }
    }

    macro_rules! ignore_scalars {
        () => {
            fn visit_bool<E>(self, _: bool) -> Result<(), E> {
                Ok(())
            }
            fn visit_i64<E>(self, _: i64) -> Result<(), E> {
                Ok(())
            }
            fn visit_u64<E>(self, _: u64) -> Result<(), E> {
                Ok(())
            }
            fn visit_f64<E>(self, _: f64) -> Result<(), E> {
                Ok(())
            }
            fn visit_str<E>(self, _: &str) -> Result<(), E> {
                Ok(())
            }
            fn visit_unit<E>(self) -> Result<(), E> {
                Ok(())
            }
        };
    }

    struct OldRoot<'a>(&'a mut Dump);

    impl<'de> serde::de::DeserializeSeed<'de> for OldRoot<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> serde::de::Visitor<'de> for OldRoot<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("the output of `nft -j list ruleset`")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if key == "nftables" {
                    map.next_value_seed(OldItems(&mut *self.0))?;
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(())
        }
        ignore_scalars!();
    }

    struct OldItems<'a>(&'a mut Dump);

    impl<'de> serde::de::DeserializeSeed<'de> for OldItems<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            self.0.restart(false);
            d.deserialize_any(self)
        }
    }

    impl<'de> serde::de::Visitor<'de> for OldItems<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("the nftables array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            self.0.restart(true);
            while let Some(item) = seq.next_element::<serde_json::Value>()? {
                self.0.item(crate::json::from_serde(&item));
            }
            Ok(())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(())
        }
        ignore_scalars!();
    }

    /// The reader reads and refuses as the serde_json one did, in the same words: every real
    /// dump and the odd shapes above, every cut of a small dump, and thousands of mutations.
    #[test]
    fn the_stream_reads_and_refuses_as_serde_jsons_did() {
        let dir = format!("{}/tests/fixtures/nft", env!("CARGO_MANIFEST_DIR"));
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        seeds.push(br#"{"x":[1,{"y":"\u00e9\ud83d\ude00"}],"nftables":[{"rule":{"family":"inet","table":"t","chain":"c","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[22,80]}}}]}}],"z":null}"#.to_vec());
        seeds.push(
            br#"{"nftables":{"rule":{},"x":[1e400]}, "y": "\ud800", "nftables":[1, -0, 1.5e3]}"#
                .to_vec(),
        );
        seeds.push(b"[{\"a\":[]},2,\"\\u0041\"]".to_vec());
        let mut inputs = seeds.clone();
        let small = seeds.last().unwrap().clone();
        let dump = seeds[seeds.len() - 3].clone();
        for cut in 0..dump.len() {
            inputs.push(dump[..cut].to_vec());
        }
        inputs.extend((0..small.len()).map(|cut| small[..cut].to_vec()));
        let mut state = 0x6e66_7473_7472_6561u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        const INTERESTING: &[u8] = b"\"\\{}[],:0-e.nu \n\x00\x1f\xff\xc3";
        for _ in 0..3000 {
            let mut bytes = seeds[next(seeds.len())].clone();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len() + 1);
                match next(4) {
                    0 if at < bytes.len() => drop(bytes.remove(at)),
                    1 => bytes.insert(at, INTERESTING[next(INTERESTING.len())]),
                    2 if at < bytes.len() => bytes[at] = INTERESTING[next(INTERESTING.len())],
                    _ => bytes.truncate(at),
                }
            }
            inputs.push(bytes);
        }
        let (mut read, mut refused) = (0, 0);
        for input in &inputs {
            let ours = parse_ruleset_from(&input[..]);
            let theirs = parse_bounded_serde_json(&mut &input[..], MAX_STREAMED_RULESET_BYTES);
            let text = String::from_utf8_lossy(&input[..input.len().min(300)]).into_owned();
            assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{text}");
            if ours.is_ok() {
                read += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            read > 100 && refused > 2000,
            "{read} read, {refused} refused"
        );
        let mut endless = std::io::Read::take(std::io::repeat(b' '), 5000);
        let theirs = parse_bounded_serde_json(&mut endless, 4096);
        let mut endless = std::io::Read::take(std::io::repeat(b' '), 5000);
        assert_eq!(
            format!("{:?}", parse_bounded(&mut endless, 4096)),
            format!("{theirs:?}")
        );
    }
}
