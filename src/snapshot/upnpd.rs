//! /etc/config/upnpd as miniupnpd's init script reads it (openwrt/packages
//! `net/miniupnpd/files/miniupnpd.init`, the same from 21.02 to 25.12; openwrt-facts §1.2–1.4).
//!
//! `start_service` runs `config_foreach upnpd upnpd`: one call, and so one procd instance, per
//! section of *type* `upnpd`, none without one. Every call reads its options from the section
//! *named* `config` (`config_get_bool enabled config enabled 1`, whatever section it was called
//! for), so an unnamed `config upnpd` with `enabled '0'` switches nothing off: without a section
//! named `config` every option takes the init default — on, secure mode on, both protocols, no
//! lease file. The shell helpers make a missing or unreadable value the *init* default, not the
//! shipped file's (pitfall 2). The `settings` schema of a pending rework (pitfall 13) is not what
//! any released init script reads, so it is not read here either.
use std::net::Ipv4Addr;

use serde::Serialize;

use super::values::{shell_bool, PortRange};
use crate::formats::uci::{Package, Section};

/// The section the init script reads every option from.
pub const SETTINGS_SECTION: &str = "config";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpnpConfig {
    /// The section the init reads (`config`), whether or not the file has it.
    pub section: String,
    /// The file has a section named `config`; without it every option is the init default.
    pub has_settings_section: bool,
    /// miniupnpd processes the init script starts: one per `upnpd`-type section while enabled
    /// (each reads the same generated config, so a second one only fights the first for its
    /// ports), none without such a section.
    pub instances: usize,
    pub enabled: bool,
    pub enable_upnp: bool,
    /// Covers NAT-PMP and PCP.
    pub enable_natpmp: bool,
    pub secure_mode: bool,
    pub internal_iface: Vec<String>,
    /// As configured (absolute router path); `None`: the init writes no lease file.
    pub lease_file: Option<String>,
    pub lease_file6: Option<String>,
    pub perm_rules: Vec<PermRule>,
    /// Every section of /etc/config/upnpd in file order (the planner reorders perm rules).
    pub section_order: Vec<String>,
}

impl UpnpConfig {
    /// miniupnpd exits at once when both protocols are off ("Why did you run me anyway?").
    pub fn serves_anything(&self) -> bool {
        self.enable_upnp || self.enable_natpmp
    }

    /// `None` when the file has no `upnpd`-type section and no `config` section: there is
    /// nothing the init script would start or read.
    pub fn from_uci(package: &Package) -> Option<UpnpConfig> {
        let settings = package.section(SETTINGS_SECTION);
        let sections = package.sections_of_type("upnpd").count();
        if settings.is_none() && sections == 0 {
            return None;
        }
        // config_get reads a section by name, whatever its type.
        let get = |o: &str| settings.and_then(|s| s.get_str(o));
        let enabled = shell_bool(get("enabled"), true);
        Some(UpnpConfig {
            section: SETTINGS_SECTION.to_owned(),
            has_settings_section: settings.is_some(),
            instances: if enabled { sections } else { 0 },
            // Nothing is started without an `upnpd`-type section, whatever `config` says.
            enabled: enabled && sections > 0,
            enable_upnp: shell_bool(get("enable_upnp"), true),
            enable_natpmp: shell_bool(get("enable_natpmp"), true),
            secure_mode: shell_bool(get("secure_mode"), true),
            // `config_get` gives the default for an empty value too.
            internal_iface: get("internal_iface")
                .filter(|v| !v.is_empty())
                .unwrap_or("lan")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            lease_file: get("upnp_lease_file")
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            lease_file6: get("upnp_lease_file6")
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            perm_rules: package
                .sections_of_type("perm_rule")
                .map(perm_rule)
                .collect(),
            section_order: package.sections.iter().map(|s| s.name.clone()).collect(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PermAction {
    Allow,
    Deny,
}

/// A `perm_rule`: `<action> <ext ports> <int addr/len> <int ports>`, first match wins and no
/// match means the mapping is accepted (openwrt-facts §1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermRule {
    pub section: String,
    pub action: PermAction,
    pub ext_ports: PortRange,
    pub int_addr: Ipv4Addr,
    pub int_prefix: u8,
    pub int_ports: PortRange,
    pub comment: String,
    /// Set when a value is malformed; miniupnpd would refuse the line.
    pub invalid: Option<String>,
}

impl PermRule {
    /// Whether this rule decides a mapping of `ext_port` to `addr:int_port`.
    pub fn matches(&self, ext_port: u16, addr: Ipv4Addr, int_port: u16) -> bool {
        self.invalid.is_none()
            && self.ext_ports.matches(ext_port)
            && self.int_ports.matches(int_port)
            && in_subnet(addr, self.int_addr, self.int_prefix)
    }

    /// A deny of everything: what the shipped "Default deny" rule is.
    pub fn is_catch_all_deny(&self) -> bool {
        self.invalid.is_none()
            && self.action == PermAction::Deny
            && self.int_prefix == 0
            && self.ext_ports == PortRange::ALL
            && self.int_ports == PortRange::ALL
    }
}

/// miniupnpd's verdict for a mapping under these rules (`true` = accepted).
pub fn perm_allows(rules: &[PermRule], ext_port: u16, addr: Ipv4Addr, int_port: u16) -> bool {
    rules
        .iter()
        .find(|r| r.matches(ext_port, addr, int_port))
        .is_none_or(|r| r.action == PermAction::Allow)
}

pub fn in_subnet(addr: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let mask = u32::MAX << (32 - u32::from(prefix.min(32)));
    u32::from(addr) & mask == u32::from(net) & mask
}

fn perm_rule(s: &Section) -> PermRule {
    let mut invalid = Vec::new();
    let action = match s.get_str("action").unwrap_or("deny") {
        "allow" => PermAction::Allow,
        "deny" => PermAction::Deny,
        other => {
            invalid.push(format!("unknown action {other:?}"));
            PermAction::Deny
        }
    };
    let mut ports = |option: &str| {
        let text = s.get_str(option).unwrap_or("0-65535");
        PortRange::parse(text)
            .filter(|r| !r.negated)
            .unwrap_or_else(|| {
                invalid.push(format!("invalid {option} {text:?}"));
                PortRange::ALL
            })
    };
    let ext_ports = ports("ext_ports");
    let int_ports = ports("int_ports");
    let addr_text = s.get_str("int_addr").unwrap_or("0.0.0.0/0");
    let (int_addr, int_prefix) = parse_cidr(addr_text).unwrap_or_else(|| {
        invalid.push(format!("invalid int_addr {addr_text:?}"));
        (Ipv4Addr::UNSPECIFIED, 0)
    });
    PermRule {
        section: s.name.clone(),
        action,
        ext_ports,
        int_addr,
        int_prefix,
        int_ports,
        comment: s.get_str("comment").unwrap_or("ACL").to_owned(),
        invalid: (!invalid.is_empty()).then(|| invalid.join("; ")),
    }
}

/// `a.b.c.d` (the init appends /32) or `a.b.c.d/len`.
pub fn parse_cidr(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok().filter(|l| *l <= 32)?),
        None => (text, 32),
    };
    Some((addr.parse().ok()?, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(action: PermAction, ext: &str, addr: &str, int: &str) -> PermRule {
        let (int_addr, int_prefix) = parse_cidr(addr).unwrap();
        PermRule {
            section: "r".into(),
            action,
            ext_ports: PortRange::parse(ext).unwrap(),
            int_addr,
            int_prefix,
            int_ports: PortRange::parse(int).unwrap(),
            comment: String::new(),
            invalid: None,
        }
    }

    #[test]
    fn first_matching_rule_wins_and_no_match_accepts() {
        let cam: Ipv4Addr = "192.168.1.64".parse().unwrap();
        let pc: Ipv4Addr = "192.168.1.20".parse().unwrap();
        let rules = vec![
            rule(PermAction::Deny, "0-65535", "192.168.1.64", "0-65535"),
            rule(PermAction::Allow, "1024-65535", "0.0.0.0/0", "1024-65535"),
        ];
        assert!(!perm_allows(&rules, 8554, cam, 8554));
        assert!(perm_allows(&rules, 8554, pc, 8554));
        // Nothing matches port 80 from the PC: accepted by default.
        assert!(perm_allows(&rules, 80, pc, 80));
    }

    #[test]
    fn bare_address_is_a_host_route() {
        assert_eq!(
            parse_cidr("10.0.0.1"),
            Some(("10.0.0.1".parse().unwrap(), 32))
        );
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert!(in_subnet(
            "192.168.1.7".parse().unwrap(),
            "192.168.1.0".parse().unwrap(),
            24
        ));
        assert!(!in_subnet(
            "192.168.2.7".parse().unwrap(),
            "192.168.1.0".parse().unwrap(),
            24
        ));
    }
}
