//! /etc/config/firewall as firewall4 understands it (openwrt-facts §3).
//!
//! Each section keeps its UCI name so that findings can point at it and the planner can change
//! it. A section fw4 would skip (invalid value, list for a scalar) is kept with the reason, so the
//! audit can tell "configured" from "in effect".
use serde::Serialize;

use super::values::{fw4_bool, fw4_enum, words, PortRange};
use crate::formats::uci::{Package, Section, Value};
use crate::ports::Protocol;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Firewall {
    pub defaults: Defaults,
    pub zones: Vec<Zone>,
    pub forwardings: Vec<Forwarding>,
    pub redirects: Vec<Redirect>,
    pub rules: Vec<Rule>,
    /// Paths of enabled `config include` sections: scripts or nft snippets fw4 loads.
    pub includes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ZonePolicy {
    Accept,
    Reject,
    Drop,
}

impl ZonePolicy {
    fn parse(value: &str) -> Option<ZonePolicy> {
        Some(match fw4_enum(value, &["accept", "reject", "drop"])? {
            "accept" => ZonePolicy::Accept,
            "reject" => ZonePolicy::Reject,
            _ => ZonePolicy::Drop,
        })
    }
}

/// The `defaults` section. fw4 uses DROP for a policy that is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Defaults {
    pub input: ZonePolicy,
    pub output: ZonePolicy,
    pub forward: ZonePolicy,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            input: ZonePolicy::Drop,
            output: ZonePolicy::Drop,
            forward: ZonePolicy::Drop,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    pub section: String,
    pub name: String,
    pub enabled: bool,
    pub networks: Vec<String>,
    pub devices: Vec<String>,
    /// Effective policies: the zone's own, else the defaults section's.
    pub input: ZonePolicy,
    pub output: ZonePolicy,
    pub forward: ZonePolicy,
    pub masq: bool,
    /// Why fw4 would skip this zone, if it would.
    pub invalid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forwarding {
    pub section: String,
    pub src: String,
    pub dest: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NatTarget {
    Dnat,
    Snat,
}

/// A `redirect` section: a port forward (DNAT) or source NAT (SNAT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redirect {
    pub section: String,
    /// An unnamed section: its `section` is a `cfg…` ID libuci made up, which shifts.
    pub anonymous: bool,
    /// The `name` option, if set.
    pub name: Option<String>,
    /// The name fw4 puts in the rule comment (`!fw4: <name>`): `name`, else `@redirect[N]`.
    pub fw4_name: String,
    pub enabled: bool,
    pub target: NatTarget,
    pub src: Option<String>,
    pub dest: Option<String>,
    /// Lower-case protocol names after fw4's expansion (`tcpudp` → tcp, udp; `all` kept).
    pub protocols: Vec<String>,
    pub src_ip: Option<String>,
    pub src_dip: Option<String>,
    /// The external port(s). `None` on a DNAT means every port: an exposed host (DMZ).
    pub src_dport: Option<PortRange>,
    /// The internal address; `None` on a DNAT redirects to the router itself.
    pub dest_ip: Option<String>,
    /// The internal port(s); fw4 defaults it to `src_dport`.
    pub dest_port: Option<PortRange>,
    /// Why fw4 would skip this section, if it would.
    pub invalid: Option<String>,
    /// Its place among the redirect sections, from 0 (`@redirect[N]`).
    pub index: usize,
    /// What it does in words, for an unnamed redirect (see [`Redirect::label`]).
    #[serde(skip)]
    description: String,
}

impl Redirect {
    /// How people name it: the `name` option, else what it does ("unnamed port forward wan
    /// tcp/80 → 192.168.16.235:80, 2nd redirect"). An anonymous section's `cfg…` ID changes when
    /// an earlier section is added or removed, so it is never offered as a name.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.description)
    }

    fn describe(&self) -> String {
        let protos = self.protocols.join("/");
        let ports =
            |p: Option<PortRange>| p.map_or_else(|| "every port".to_owned(), |p| p.to_string());
        let from = format!(
            "{} {protos}/{}",
            self.src.as_deref().unwrap_or("*"),
            ports(self.src_dport)
        );
        let to = match (&self.dest_ip, self.internal_ports()) {
            (Some(ip), Some(p)) if ip.contains(':') => format!("[{ip}]:{p}"),
            (Some(ip), Some(p)) => format!("{ip}:{p}"),
            (Some(ip), None) => ip.clone(),
            (None, _) => "the router".to_owned(),
        };
        let what = match self.target {
            NatTarget::Dnat => "port forward",
            NatTarget::Snat => "source NAT",
        };
        format!(
            "unnamed {what} {from} → {to}, {} redirect",
            ordinal(self.index + 1)
        )
    }

    /// The transport protocols it forwards (`all` forwards TCP and UDP among the rest).
    pub fn transports(&self) -> Vec<Protocol> {
        transports(&self.protocols)
    }

    /// Whether fw4 renders it: enabled and valid.
    pub fn in_effect(&self) -> bool {
        self.enabled && self.invalid.is_none()
    }

    /// Internal port(s) the forward reaches.
    pub fn internal_ports(&self) -> Option<PortRange> {
        self.dest_port.or(self.src_dport)
    }

    /// Whether the forward carries TCP or UDP (ports only apply to those).
    pub fn carries_ports(&self) -> bool {
        self.protocols
            .iter()
            .any(|p| p == "tcp" || p == "udp" || p == "all")
    }
}

/// A `rule` section (input, forward or output filter rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub section: String,
    pub name: Option<String>,
    pub enabled: bool,
    pub src: Option<String>,
    pub dest: Option<String>,
    pub protocols: Vec<String>,
    pub src_ip: Vec<String>,
    pub src_mac: Vec<String>,
    pub dest_ip: Vec<String>,
    /// Empty: every port.
    pub dest_port: Vec<PortRange>,
    /// Lower-case target (`accept`, `reject`, `drop`, …).
    pub target: String,
    /// `ipv4`, `ipv6` or `any` (fw4 also infers it from the addresses).
    pub family: String,
    pub invalid: Option<String>,
    /// Its place among the rule sections, from 0 (`@rule[N]`).
    pub index: usize,
    #[serde(skip)]
    description: String,
}

impl Rule {
    /// The `name` option, else what the rule does ("unnamed traffic rule wan → lan udp/500,
    /// 8th rule"); never the shifting `cfg…` ID.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.description)
    }

    fn describe(&self) -> String {
        let ports = if self.dest_port.is_empty() {
            "every port".to_owned()
        } else {
            self.dest_port
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut what = format!(
            "unnamed traffic rule {} → {} {}/{ports}",
            self.src.as_deref().unwrap_or("this device"),
            self.dest.as_deref().unwrap_or("this device"),
            self.protocols.join("/")
        );
        if !self.dest_ip.is_empty() {
            what.push_str(&format!(" to {}", self.dest_ip.join(", ")));
        }
        format!("{what}, {} rule", ordinal(self.index + 1))
    }

    /// The transport protocols it matches.
    pub fn transports(&self) -> Vec<Protocol> {
        transports(&self.protocols)
    }

    pub fn in_effect(&self) -> bool {
        self.enabled && self.invalid.is_none()
    }

    /// Whether the rule matches TCP traffic (fw4's default protocol is tcp+udp).
    pub fn matches_tcp(&self) -> bool {
        self.protocols.iter().any(|p| p == "tcp" || p == "all")
    }

    /// Whether it matches traffic to `port` (an empty port list matches every port).
    pub fn matches_port(&self, port: u16) -> bool {
        self.dest_port.is_empty() || self.dest_port.iter().any(|r| r.matches(port))
    }
}

impl Firewall {
    pub fn from_uci(package: &Package) -> Firewall {
        let defaults = package
            .sections_of_type("defaults")
            .next()
            .map(|s| Defaults {
                input: policy_or(s, "input", ZonePolicy::Drop).0,
                output: policy_or(s, "output", ZonePolicy::Drop).0,
                forward: policy_or(s, "forward", ZonePolicy::Drop).0,
            })
            .unwrap_or_default();
        let zones = package
            .sections_of_type("zone")
            .map(|s| zone(s, &defaults))
            .collect();
        let forwardings = package
            .sections_of_type("forwarding")
            .map(|s| Forwarding {
                section: s.name.clone(),
                src: s.get_str("src").unwrap_or_default().to_owned(),
                dest: s.get_str("dest").unwrap_or_default().to_owned(),
                enabled: s.get_str("enabled").and_then(fw4_bool).unwrap_or(true),
            })
            .collect();
        let redirects = package
            .sections_of_type("redirect")
            .enumerate()
            .map(|(i, s)| redirect(s, i))
            .collect();
        let rules = package
            .sections_of_type("rule")
            .enumerate()
            .map(|(i, s)| rule(s, i))
            .collect();
        let includes = package
            .sections_of_type("include")
            .filter(|s| s.get_str("enabled").and_then(fw4_bool).unwrap_or(true))
            .filter_map(|s| s.get_str("path").map(str::to_owned))
            .collect();
        Firewall {
            defaults,
            zones,
            forwardings,
            redirects,
            rules,
            includes,
        }
    }

    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones
            .iter()
            .find(|z| z.name == name && z.enabled && z.invalid.is_none())
    }
}

/// A policy option; the flag says whether the value was invalid.
fn policy_or(section: &Section, option: &str, fallback: ZonePolicy) -> (ZonePolicy, bool) {
    match section.get(option) {
        None => (fallback, false),
        Some(Value::Single(v)) => match ZonePolicy::parse(v) {
            Some(p) => (p, false),
            None => (fallback, true),
        },
        Some(Value::List(_)) => (fallback, true),
    }
}

fn zone(s: &Section, defaults: &Defaults) -> Zone {
    let mut invalid = Vec::new();
    let mut policy = |opt: &str, fallback| {
        let (p, bad) = policy_or(s, opt, fallback);
        if bad {
            invalid.push(format!("invalid {opt} policy"));
        }
        p
    };
    let input = policy("input", defaults.input);
    let output = policy("output", defaults.output);
    let forward = policy("forward", defaults.forward);
    let enabled = bool_option(s, "enabled", true, &mut invalid);
    let masq = bool_option(s, "masq", false, &mut invalid);
    let name = s.get_str("name").unwrap_or_default().to_owned();
    if name.is_empty() {
        invalid.push("zone has no name".into());
    }
    Zone {
        section: s.name.clone(),
        name,
        enabled,
        networks: words(s.get("network")),
        devices: words(s.get("device")),
        input,
        output,
        forward,
        masq,
        invalid: join_reasons(invalid),
    }
}

fn redirect(s: &Section, index: usize) -> Redirect {
    let mut invalid = Vec::new();
    let enabled = bool_option(s, "enabled", true, &mut invalid);
    // fw4 accepts only dnat/snat; anything else is warned about and treated as dnat (§3.4).
    let target = match s
        .get_str("target")
        .and_then(|t| fw4_enum(t, &["dnat", "snat"]))
    {
        Some("snat") => NatTarget::Snat,
        _ => NatTarget::Dnat,
    };
    let src_dport = scalar_port(s, "src_dport", &mut invalid);
    let dest_port = scalar_port(s, "dest_port", &mut invalid);
    let src = scalar(s, "src", &mut invalid);
    if target == NatTarget::Dnat && matches!(src.as_deref(), None | Some("*")) {
        invalid.push("a DNAT redirect needs a source zone".into());
    }
    let dest_ip = scalar(s, "dest_ip", &mut invalid);
    if dest_ip.as_deref().is_some_and(|ip| ip.starts_with('!')) {
        invalid.push("dest_ip must not be negated".into());
    }
    let src_ip = scalar(s, "src_ip", &mut invalid);
    for ip in dest_ip.iter().chain(&src_ip) {
        check_address(ip, &mut invalid);
    }
    let mut r = Redirect {
        section: s.name.clone(),
        anonymous: s.anonymous,
        name: s.get_str("name").map(str::to_owned),
        fw4_name: s
            .get_str("name")
            .map_or_else(|| format!("@redirect[{index}]"), str::to_owned),
        enabled,
        target,
        src,
        dest: scalar(s, "dest", &mut invalid),
        protocols: protocols(s.get("proto")),
        src_ip,
        src_dip: scalar(s, "src_dip", &mut invalid),
        src_dport,
        dest_ip,
        dest_port,
        invalid: join_reasons(invalid),
        index,
        description: String::new(),
    };
    r.description = r.describe();
    r
}

/// An address fw4 cannot parse makes it skip the section (openwrt-facts §3). Only what is
/// clearly meant as an address is judged: a word with letters and no `:` may be a hostname,
/// which fw4 resolves.
fn check_address(text: &str, invalid: &mut Vec<String>) {
    let word = text.strip_prefix('!').unwrap_or(text);
    let (addr, mask) = match word.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (word, None),
    };
    let ok = if addr.contains(':') {
        addr.parse::<std::net::Ipv6Addr>().is_ok()
            && mask.is_none_or(|m| m.parse::<u8>().is_ok_and(|m| m <= 128))
    } else if addr.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        addr.parse::<std::net::Ipv4Addr>().is_ok()
            && mask.is_none_or(|m| {
                m.parse::<u8>().is_ok_and(|m| m <= 32) || m.parse::<std::net::Ipv4Addr>().is_ok()
            })
    } else {
        true
    };
    if !ok {
        invalid.push(format!("{text:?} is not an address fw4 can parse"));
    }
}

fn rule(s: &Section, index: usize) -> Rule {
    let mut invalid = Vec::new();
    let enabled = bool_option(s, "enabled", true, &mut invalid);
    let mut dest_port = Vec::new();
    for w in words(s.get("dest_port")) {
        match PortRange::parse(&w) {
            Some(r) => dest_port.push(r),
            None => invalid.push(format!("invalid dest_port {w:?}")),
        }
    }
    let src_ip = words(s.get("src_ip"));
    let dest_ip = words(s.get("dest_ip"));
    for ip in src_ip.iter().chain(&dest_ip) {
        check_address(ip, &mut invalid);
    }
    let target = s.get_str("target").unwrap_or("drop").to_ascii_lowercase();
    let family = s.get_str("family").unwrap_or("any").to_ascii_lowercase();
    let mut r = Rule {
        section: s.name.clone(),
        name: s.get_str("name").map(str::to_owned),
        enabled,
        src: s.get_str("src").map(str::to_owned),
        dest: s.get_str("dest").map(str::to_owned),
        protocols: protocols(s.get("proto")),
        src_ip,
        src_mac: words(s.get("src_mac")),
        dest_ip,
        dest_port,
        target,
        family,
        invalid: join_reasons(invalid),
        index,
        description: String::new(),
    };
    r.description = r.describe();
    r
}

/// "1st", "2nd", "3rd", "11th", "22nd".
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// fw4's protocol names as transport protocols; `all` carries TCP and UDP too.
fn transports(protocols: &[String]) -> Vec<Protocol> {
    let mut out = Vec::new();
    for p in protocols {
        let found: &[Protocol] = match p.as_str() {
            "tcp" => &[Protocol::Tcp],
            "udp" => &[Protocol::Udp],
            "udplite" | "136" => &[Protocol::UdpLite],
            "all" => &[Protocol::Tcp, Protocol::Udp],
            _ => &[],
        };
        for f in found {
            if !out.contains(f) {
                out.push(*f);
            }
        }
    }
    out
}

/// fw4's protocol list: default tcp+udp, `tcpudp` expands, `any`/`*` mean all.
fn protocols(value: Option<&Value>) -> Vec<String> {
    let raw = words(value);
    if raw.is_empty() {
        return vec!["tcp".into(), "udp".into()];
    }
    let mut out: Vec<String> = Vec::new();
    for p in raw {
        let p = p.to_ascii_lowercase();
        let expanded: &[&str] = match p.as_str() {
            "tcpudp" => &["tcp", "udp"],
            "all" | "any" | "*" => &["all"],
            "6" => &["tcp"],
            "17" => &["udp"],
            _ => &[],
        };
        if expanded.is_empty() {
            push_unique(&mut out, &p);
        } else {
            for e in expanded {
                push_unique(&mut out, e);
            }
        }
    }
    out
}

fn push_unique(out: &mut Vec<String>, item: &str) {
    if !out.iter().any(|o| o == item) {
        out.push(item.to_owned());
    }
}

fn bool_option(s: &Section, option: &str, default: bool, invalid: &mut Vec<String>) -> bool {
    match s.get(option) {
        None => default,
        Some(Value::Single(v)) => fw4_bool(v).unwrap_or_else(|| {
            invalid.push(format!("invalid boolean {option} {v:?}"));
            default
        }),
        Some(Value::List(_)) => {
            invalid.push(format!("{option} must be a single value"));
            default
        }
    }
}

/// A scalar redirect option: a list (or, for addresses and ports, several words) is invalid.
fn scalar(s: &Section, option: &str, invalid: &mut Vec<String>) -> Option<String> {
    match s.get(option)? {
        Value::Single(v) if v.split_whitespace().count() <= 1 => {
            Some(v.trim().to_owned()).filter(|v| !v.is_empty())
        }
        _ => {
            invalid.push(format!("{option} must be a single value"));
            None
        }
    }
}

fn scalar_port(s: &Section, option: &str, invalid: &mut Vec<String>) -> Option<PortRange> {
    let text = scalar(s, option, invalid)?;
    let range = PortRange::parse(&text);
    if range.is_none() {
        invalid.push(format!("invalid {option} {text:?}"));
    }
    range
}

fn join_reasons(reasons: Vec<String>) -> Option<String> {
    (!reasons.is_empty()).then(|| reasons.join("; "))
}
