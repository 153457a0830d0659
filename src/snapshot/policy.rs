//! The owner's policy: /etc/config/camguard (design.md §4), validated.
//!
//! An unknown value is an error that names the option and the allowed values: a typo in a
//! security policy must not silently mean "allow".

use serde::Serialize;

use super::firewall::Redirect;
use super::values::PortRange;
use crate::formats::uci::{Package, Section};
use crate::lan::DeviceClass;
use crate::mac::Mac;
use crate::snapshot::values::shell_bool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpnpPolicy {
    Off,
    Restricted,
    Allow,
}

impl UpnpPolicy {
    /// The value as /etc/config/camguard spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            UpnpPolicy::Off => "off",
            UpnpPolicy::Restricted => "restricted",
            UpnpPolicy::Allow => "allow",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardPolicy {
    Off,
    Allowlist,
    NoCameras,
    Allow,
}

impl ForwardPolicy {
    /// The value as /etc/config/camguard spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardPolicy::Off => "off",
            ForwardPolicy::Allowlist => "allowlist",
            ForwardPolicy::NoCameras => "no_cameras",
            ForwardPolicy::Allow => "allow",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Allow,
    Block,
}

const ACCESS: &[(&str, Access)] = &[("allow", Access::Allow), ("block", Access::Block)];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevicePolicy {
    pub section: String,
    pub mac: Mac,
    pub class: Option<DeviceClass>,
    /// `internet 'block'` cuts this device off from the WAN.
    pub internet: Option<Access>,
    /// `upnp 'deny'` (used by upnp=restricted).
    pub upnp_deny: bool,
}

/// One `config allow_forward` entry: a redirect by its `name` (or a named section), or — for an
/// unnamed redirect — by what it does: every option given must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowForward {
    pub section: String,
    pub redirect: Option<String>,
    pub proto: Option<String>,
    pub src_dport: Option<String>,
    pub dest_ip: Option<String>,
    pub dest_port: Option<String>,
    pub src_ip: Option<String>,
}

impl AllowForward {
    /// Whether the entry says what the forward does (rather than naming it).
    pub fn describes_content(&self) -> bool {
        self.src_dport.is_some() || self.dest_ip.is_some() || self.dest_port.is_some()
    }

    /// Whether this entry keeps the redirect.
    pub fn matches(&self, r: &Redirect) -> bool {
        if let Some(name) = &self.redirect {
            let by_name =
                r.name.as_deref() == Some(name.as_str()) || (!r.anonymous && r.section == *name);
            if !by_name {
                return false;
            }
        }
        if self.redirect.is_none() && !self.describes_content() {
            return false;
        }
        let port = |text: &Option<String>, actual: Option<PortRange>| {
            text.as_deref()
                .is_none_or(|t| PortRange::parse(t).is_some_and(|p| Some(p) == actual))
        };
        let proto_ok = self.proto.as_deref().is_none_or(|p| {
            let mut wanted = words_of(p);
            let mut actual = r.protocols.clone();
            wanted.sort();
            actual.sort();
            wanted == actual
        });
        proto_ok
            && port(&self.src_dport, r.src_dport)
            && port(&self.dest_port, r.internal_ports())
            && self
                .dest_ip
                .as_deref()
                .is_none_or(|ip| r.dest_ip.as_deref() == Some(ip))
            && self
                .src_ip
                .as_deref()
                .is_none_or(|ip| r.src_ip.as_deref() == Some(ip))
    }

    /// The entry in words: "redirect 'Plex'", "tcp port 8080 to 192.168.1.20:80".
    pub fn describe(&self) -> String {
        if let Some(name) = &self.redirect {
            return format!("redirect '{name}'");
        }
        let mut parts = Vec::new();
        if let Some(p) = &self.proto {
            parts.push(p.clone());
        }
        if let Some(p) = &self.src_dport {
            parts.push(format!("port {p}"));
        }
        match (&self.dest_ip, &self.dest_port) {
            (Some(ip), Some(p)) => parts.push(format!("to {ip}:{p}")),
            (Some(ip), None) => parts.push(format!("to {ip}")),
            (None, Some(p)) => parts.push(format!("to port {p}")),
            (None, None) => {}
        }
        if let Some(ip) = &self.src_ip {
            parts.push(format!("from {ip}"));
        }
        parts.join(" ")
    }
}

/// fw4's protocol words, expanded the way the firewall model expands them.
fn words_of(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in text.split_whitespace() {
        let w = w.to_ascii_lowercase();
        let expanded: Vec<String> = match w.as_str() {
            "tcpudp" => vec!["tcp".into(), "udp".into()],
            "any" | "*" => vec!["all".into()],
            _ => vec![w],
        };
        for e in expanded {
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

/// libuci names an anonymous section `cfg` and six hex digits (`cfg%02x%04x`).
pub fn looks_like_anonymous_id(name: &str) -> bool {
    name.len() == 9 && name.starts_with("cfg") && name[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub enabled: bool,
    pub enforce: bool,
    pub upnp: UpnpPolicy,
    pub forwards: ForwardPolicy,
    pub camera_internet: Access,
    pub audit_interval: u32,
    pub credential_check: bool,
    /// Probe LAN devices' camera ports (554, 8554, 80, 8000, 37777, 34567, 88) once a day to
    /// classify them; `credential_check` probes camera-like devices anyway.
    pub probe: bool,
    /// Listen to what LAN devices announce by themselves (SSDP NOTIFY, WS-Discovery Hello,
    /// SADP announcements) on the LAN interfaces: nothing is sent ([`crate::probe::listen`]).
    pub listen: bool,
    /// Redirects kept under `forwards 'allowlist'` (`config allow_forward`).
    pub allow_forwards: Vec<AllowForward>,
    pub devices: Vec<DevicePolicy>,
}

impl Default for Policy {
    /// The shipped files/etc/config/camguard: audit only, nothing enforced.
    fn default() -> Self {
        Policy {
            enabled: true,
            enforce: false,
            upnp: UpnpPolicy::Off,
            forwards: ForwardPolicy::Allowlist,
            camera_internet: Access::Allow,
            audit_interval: 300,
            credential_check: false,
            probe: false,
            listen: true,
            allow_forwards: Vec::new(),
            devices: Vec::new(),
        }
    }
}

/// A policy value camguard does not understand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    pub section: String,
    pub option: String,
    pub value: String,
    pub allowed: &'static str,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "/etc/config/camguard: option {} in section {} is {:?}; allowed: {}",
            self.option, self.section, self.value, self.allowed
        )
    }
}

impl std::error::Error for PolicyError {}

/// An option with a fixed set of values; `allowed` is how the error lists them.
fn choice<T: Copy>(
    s: &Section,
    option: &str,
    choices: &[(&str, T)],
    allowed: &'static str,
    default: T,
) -> Result<T, PolicyError> {
    let Some(value) = s.get(option) else {
        return Ok(default);
    };
    let text = value.joined();
    choices
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, v)| *v)
        .ok_or_else(|| PolicyError {
            section: s.name.clone(),
            option: option.to_owned(),
            value: text,
            allowed,
        })
}

fn flag(s: &Section, option: &str, default: bool) -> Result<bool, PolicyError> {
    match s.get_str(option) {
        None => Ok(default),
        Some(v @ ("0" | "1" | "on" | "off" | "true" | "false" | "yes" | "no")) => {
            Ok(shell_bool(Some(v), default))
        }
        Some(other) => Err(PolicyError {
            section: s.name.clone(),
            option: option.to_owned(),
            value: other.to_owned(),
            allowed: "0 | 1",
        }),
    }
}

impl Policy {
    pub fn from_uci(package: &Package) -> Result<Policy, PolicyError> {
        let mut policy = Policy::default();
        if let Some(main) = package.sections_of_type("camguard").next() {
            policy.enabled = flag(main, "enabled", true)?;
            policy.enforce = flag(main, "enforce", false)?;
            policy.credential_check = flag(main, "credential_check", false)?;
            policy.probe = flag(main, "probe", false)?;
            policy.listen = flag(main, "listen", true)?;
            policy.upnp = choice(
                main,
                "upnp",
                &[
                    ("off", UpnpPolicy::Off),
                    ("restricted", UpnpPolicy::Restricted),
                    ("allow", UpnpPolicy::Allow),
                ],
                "off | restricted | allow",
                policy.upnp,
            )?;
            policy.forwards = choice(
                main,
                "forwards",
                &[
                    ("off", ForwardPolicy::Off),
                    ("allowlist", ForwardPolicy::Allowlist),
                    ("no_cameras", ForwardPolicy::NoCameras),
                    ("allow", ForwardPolicy::Allow),
                ],
                "off | allowlist | no_cameras | allow",
                policy.forwards,
            )?;
            policy.camera_internet = choice(
                main,
                "camera_internet",
                ACCESS,
                "allow | block",
                Access::Allow,
            )?;
            if let Some(v) = main.get_str("audit_interval") {
                policy.audit_interval = v
                    .parse()
                    .ok()
                    .filter(|n| (10..=86_400).contains(n))
                    .ok_or_else(|| PolicyError {
                        section: main.name.clone(),
                        option: "audit_interval".into(),
                        value: v.to_owned(),
                        allowed: "a number of seconds from 10 to 86400",
                    })?;
            }
        }
        for s in package.sections_of_type("allow_forward") {
            let text = |o: &str| s.get_str(o).filter(|v| !v.is_empty()).map(str::to_owned);
            let entry = AllowForward {
                section: s.name.clone(),
                redirect: text("redirect"),
                proto: text("proto"),
                src_dport: text("src_dport"),
                dest_ip: text("dest_ip"),
                dest_port: text("dest_port"),
                src_ip: text("src_ip"),
            };
            if entry.redirect.is_some() || entry.describes_content() {
                policy.allow_forwards.push(entry);
            }
        }
        for s in package.sections_of_type("device") {
            let mac_text = s.get_str("mac").unwrap_or_default();
            let mac = mac_text.parse().map_err(|_| PolicyError {
                section: s.name.clone(),
                option: "mac".into(),
                value: mac_text.to_owned(),
                allowed: "a MAC address like 00:11:22:33:44:55",
            })?;
            let class = match s.get_str("class") {
                None => None,
                Some(c) => Some(DeviceClass::from_name(c).ok_or_else(|| PolicyError {
                    section: s.name.clone(),
                    option: "class".into(),
                    value: c.to_owned(),
                    allowed: "camera | doorbell | baby_monitor | nvr | other",
                })?),
            };
            let internet = s
                .get("internet")
                .map(|_| choice(s, "internet", ACCESS, "allow | block", Access::Allow))
                .transpose()?;
            let upnp_deny = choice(
                s,
                "upnp",
                &[("allow", false), ("deny", true)],
                "allow | deny",
                false,
            )?;
            policy.devices.push(DevicePolicy {
                section: s.name.clone(),
                mac,
                class,
                internet,
                upnp_deny,
            });
        }
        Ok(policy)
    }

    pub fn device(&self, mac: Mac) -> Option<&DevicePolicy> {
        self.devices.iter().find(|d| d.mac == mac)
    }

    /// Whether a redirect is on the allowlist. An entry that names an anonymous section's
    /// `cfg…` ID never counts: those IDs shift when an earlier section is added or removed, so
    /// it may name another forward by now (the audit reports such entries).
    pub fn forward_allowed(&self, r: &Redirect) -> bool {
        self.allow_forwards.iter().any(|a| a.matches(r))
    }

    /// Allowlist entries that name an anonymous section by its shifting ID, with the redirect
    /// the ID points at today, if any.
    pub fn ambiguous_allow_entries<'r>(
        &self,
        redirects: &'r [Redirect],
    ) -> Vec<(&AllowForward, Option<&'r Redirect>)> {
        self.allow_forwards
            .iter()
            .filter(|a| {
                a.redirect.as_deref().is_some_and(|name| {
                    looks_like_anonymous_id(name)
                        && !redirects.iter().any(|r| !r.anonymous && r.section == name)
                })
            })
            .map(|a| {
                let now = redirects
                    .iter()
                    .find(|r| Some(r.section.as_str()) == a.redirect.as_deref());
                (a, now)
            })
            .collect()
    }

    /// Why camguard neither keeps nor disables this redirect, if so: under an allowlist that
    /// holds an entry naming a shifting `cfg…` ID, any unnamed section may be the one the owner
    /// meant to keep, so plan and enforce leave unnamed forwards alone until the entry is
    /// rewritten by name or content (the audit reports the entry).
    pub fn forward_undecided(&self, r: &Redirect, redirects: &[Redirect]) -> Option<&'static str> {
        (self.forwards == ForwardPolicy::Allowlist
            && r.anonymous
            && !self.forward_allowed(r)
            && !self.ambiguous_allow_entries(redirects).is_empty())
        .then_some(
            "camguard cannot tell whether your allowlist keeps it: an allowlist entry names a section ID \
             that shifts, so camguard leaves unnamed forwards alone until that entry is rewritten",
        )
    }

    /// Why a port forward from the internet breaks the `forwards` policy, if it does. One place
    /// for the rule: the audit reports it, the planner disables what it flags, LuCI shows it.
    pub fn forward_violation(&self, r: &Redirect, to_camera: bool) -> Option<&'static str> {
        match self.forwards {
            ForwardPolicy::Allow => None,
            ForwardPolicy::Off => Some("your policy allows no port forwards (forwards 'off')"),
            ForwardPolicy::NoCameras => to_camera
                .then_some("your policy forbids forwards to cameras (forwards 'no_cameras')"),
            ForwardPolicy::Allowlist => (!self.forward_allowed(r))
                .then_some("it is not on camguard's allowlist (forwards 'allowlist')"),
        }
    }

    /// Why a UPnP mapping to this device breaks the `upnp` policy, if it does.
    pub fn mapping_violation(
        &self,
        device_mac: Option<Mac>,
        camera_like: bool,
    ) -> Option<&'static str> {
        match self.upnp {
            UpnpPolicy::Allow => None,
            UpnpPolicy::Off => Some("your policy switches UPnP off (upnp 'off')"),
            UpnpPolicy::Restricted if camera_like => {
                Some("cameras may not open ports through UPnP (upnp 'restricted')")
            }
            UpnpPolicy::Restricted => device_mac
                .and_then(|m| self.device(m))
                .filter(|d| d.upnp_deny)
                .map(|_| "this device is denied UPnP in /etc/config/camguard (upnp 'deny')"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::uci::{UciOption, Value};

    fn section(stype: &str, opts: &[(&str, &str)]) -> Section {
        Section {
            name: format!("s_{stype}"),
            section_type: stype.into(),
            anonymous: false,
            options: opts
                .iter()
                .map(|(n, v)| UciOption {
                    name: (*n).into(),
                    value: Value::Single((*v).into()),
                })
                .collect(),
        }
    }

    fn package(sections: Vec<Section>) -> Package {
        Package {
            name: "camguard".into(),
            sections,
        }
    }

    #[test]
    fn missing_config_means_the_shipped_defaults() {
        let p = Policy::from_uci(&package(vec![])).unwrap();
        assert_eq!(p, Policy::default());
        assert!(!p.enforce);
    }

    #[test]
    fn unknown_value_names_the_option_and_the_allowed_values() {
        let e = Policy::from_uci(&package(vec![section(
            "camguard",
            &[("upnp", "sometimes")],
        )]))
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("option upnp"), "{msg}");
        assert!(msg.contains("off | restricted | allow"), "{msg}");
    }

    #[test]
    fn devices_and_allowlist_are_read() {
        let p = Policy::from_uci(&package(vec![
            section("camguard", &[("forwards", "allowlist"), ("enforce", "1")]),
            section("allow_forward", &[("redirect", "Plex")]),
            section(
                "device",
                &[
                    ("mac", "3C:EF:8C:00:00:01"),
                    ("class", "nvr"),
                    ("internet", "block"),
                    ("upnp", "deny"),
                ],
            ),
        ]))
        .unwrap();
        assert!(p.enforce);
        let fw = crate::snapshot::Firewall::from_uci(&Package {
            name: "firewall".into(),
            sections: vec![section("redirect", &[("name", "Plex"), ("src", "wan")])],
        });
        assert!(p.forward_allowed(&fw.redirects[0]));
        let d = p.device("3c:ef:8c:00:00:01".parse().unwrap()).unwrap();
        assert_eq!(d.class, Some(DeviceClass::Nvr));
        assert_eq!(d.internet, Some(Access::Block));
        assert!(d.upnp_deny);
    }

    #[test]
    fn bad_device_mac_is_an_error() {
        assert!(Policy::from_uci(&package(vec![section("device", &[("mac", "cam")])])).is_err());
    }
}
