//! The planner: a pure function from an audited snapshot and the policy to the ordered actions
//! that make the router comply. Empty when it complies, so enforcing twice changes nothing.
//!
//! The mechanics follow openwrt-facts.md, not the obvious way: UPnP is switched off by committing
//! `enabled 0` *and* stopping the service (only stop_service flushes the nft chains) *and*
//! emptying the lease files (a restart replays them); cameras are denied by perm rules placed
//! before every allow rule (first match wins, no match accepts); a mapping is revoked by its lease
//! line and its nft rules, never by index; a user's section is disabled, never deleted.
use std::net::IpAddr;

use serde::Serialize;

use crate::audit::Subject;
use crate::facts::forwards::{is_wan_forward, redirect_finding_id};
use crate::facts::mappings::{
    is_fw4, lost_mappings, mappings_iter, upnp_active, ForwardRule, Mapping,
};
use crate::facts::Facts;
use crate::json::Value;
use crate::json_read::{
    boolean, entries, list, pair, parsed, string, text, uint, Fields, JsonReadError,
};
use crate::mac::Mac;
use crate::ports::Protocol;
use crate::snapshot::policy::{Access, Policy, UpnpPolicy};
use crate::snapshot::upnpd::PermAction;
use crate::sorted::{SortedMap, SortedSet};

/// Prefix of every section camguard adds: what is camguard's may be changed and removed by it;
/// everything else is the owner's and is at most disabled.
pub const OWN_PREFIX: &str = "camguard_";

/// A UCI value: a single string or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum UciValue {
    Single(String),
    List(Vec<String>),
}

impl UciValue {
    pub fn from_json(v: &Value) -> Result<UciValue, JsonReadError> {
        match v {
            Value::String(s) => Ok(UciValue::Single(s.clone())),
            Value::Array(_) => list(v, string).map(UciValue::List),
            _ => Err(JsonReadError::expected("a string or a list of strings", v)),
        }
    }
}

impl From<&str> for UciValue {
    fn from(s: &str) -> Self {
        UciValue::Single(s.to_owned())
    }
}

/// One change to the router. Read back only as part of an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    UciSet {
        config: String,
        section: String,
        option: String,
        value: UciValue,
    },
    /// Only for camguard's own sections and options.
    UciDelete {
        config: String,
        section: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        option: Option<String>,
    },
    /// Adds a named section of camguard's own.
    UciAdd {
        config: String,
        r#type: String,
        name: String,
        values: SortedMap<String, UciValue>,
    },
    UciOrder {
        config: String,
        sections: Vec<String>,
    },
    /// `rc init <name> <action>`: stop, disable, enable, start, restart, reload.
    Service { name: String, action: String },
    /// Empties a file (miniupnpd's lease files, which a restart would replay).
    TruncateFile { path: String },
    /// Removes one mapping: its lease line (matched on every field, never by position) and its
    /// rules in the upnp chains (by handle).
    RevokeMapping {
        proto: Protocol,
        ext_port: u16,
        int_addr: IpAddr,
        int_port: u16,
        #[serde(default)]
        nft_handles: Vec<(String, u64)>,
        /// Its accept rule could not be told from another mapping's: miniupnpd is restarted to
        /// rebuild the chains from the lease file rather than a rule deleted by guess.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rebuild: bool,
    },
    /// Re-adds the rules of mappings a firewall reload emptied while miniupnpd kept running, in
    /// the form miniupnpd writes them (src/nftables.rs): every unexpired lease without its rules
    /// when the step runs, after the revokes before it; `lost` is how many the audit saw. Where
    /// that cannot be done, miniupnpd is restarted to replay its lease file instead.
    RestoreMappings { lost: usize },
}

impl Step {
    /// The UCI config this step changes, if it is a UCI step.
    pub fn config(&self) -> Option<&str> {
        match self {
            Step::UciSet { config, .. }
            | Step::UciDelete { config, .. }
            | Step::UciAdd { config, .. }
            | Step::UciOrder { config, .. } => Some(config),
            _ => None,
        }
    }
}

/// Which finding an action fixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRef {
    pub id: String,
    pub subject: Subject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    #[serde(flatten)]
    pub step: Step,
    /// For people: what this does and why.
    pub why: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<FindingRef>,
}

impl FindingRef {
    pub fn from_json(v: &Value) -> Result<FindingRef, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(FindingRef {
            id: f.required("id", string)?,
            subject: f.required("subject", Subject::from_json)?,
        })
    }
}

impl Action {
    /// As [`Serialize`] writes it: the step's fields, and its `kind`, in the same object as
    /// `why` and `finding`.
    pub fn from_json(v: &Value) -> Result<Action, JsonReadError> {
        let f = Fields::of(v)?;
        let step = match f.required("kind", text)? {
            "uci_set" => Step::UciSet {
                config: f.required("config", string)?,
                section: f.required("section", string)?,
                option: f.required("option", string)?,
                value: f.required("value", UciValue::from_json)?,
            },
            "uci_delete" => Step::UciDelete {
                config: f.required("config", string)?,
                section: f.required("section", string)?,
                option: f.optional("option", string)?,
            },
            "uci_add" => Step::UciAdd {
                config: f.required("config", string)?,
                r#type: f.required("type", string)?,
                name: f.required("name", string)?,
                values: f.required("values", |v| entries(v, UciValue::from_json))?,
            },
            "uci_order" => Step::UciOrder {
                config: f.required("config", string)?,
                sections: f.required("sections", |v| list(v, string))?,
            },
            "service" => Step::Service {
                name: f.required("name", string)?,
                action: f.required("action", string)?,
            },
            "truncate_file" => Step::TruncateFile {
                path: f.required("path", string)?,
            },
            "revoke_mapping" => Step::RevokeMapping {
                proto: f.required("proto", Protocol::from_json)?,
                ext_port: f.required("ext_port", uint)?,
                int_addr: f.required("int_addr", parsed)?,
                int_port: f.required("int_port", uint)?,
                nft_handles: f.or_default("nft_handles", |v| list(v, |h| pair(h, string, uint)))?,
                rebuild: f.or_default("rebuild", boolean)?,
            },
            "restore_mappings" => Step::RestoreMappings {
                lost: f.required("lost", uint)?,
            },
            other => {
                let kinds = [
                    "uci_set",
                    "uci_delete",
                    "uci_add",
                    "uci_order",
                    "service",
                    "truncate_file",
                    "revoke_mapping",
                    "restore_mappings",
                ];
                return Err(JsonReadError::unknown_variant(other, &kinds).within("kind"));
            }
        };
        Ok(Action {
            step,
            why: f.required("why", string)?,
            finding: f.optional("finding", FindingRef::from_json)?,
        })
    }
}

fn action(step: Step, why: impl Into<String>, finding: Option<(&str, Subject)>) -> Action {
    Action {
        step,
        why: why.into(),
        finding: finding.map(|(id, subject)| FindingRef {
            id: id.to_owned(),
            subject,
        }),
    }
}

fn set(config: &str, section: &str, option: &str, value: &str) -> Step {
    Step::UciSet {
        config: config.into(),
        section: section.into(),
        option: option.into(),
        value: value.into(),
    }
}

fn miniupnpd() -> Subject {
    Subject::Service {
        name: "miniupnpd".into(),
    }
}

/// The actions that make the router comply with its policy, in the order they must run.
pub fn plan(ctx: &Facts) -> Vec<Action> {
    let Ok(policy) = &ctx.policy else {
        return Vec::new();
    };
    if !policy.enabled {
        return Vec::new();
    }
    let mut actions = Vec::new();
    if !ctx.snap.config_unreadable("upnpd") {
        match policy.upnp {
            UpnpPolicy::Off => upnp_off(ctx, &mut actions),
            UpnpPolicy::Restricted => upnp_restricted(ctx, policy, &mut actions),
            UpnpPolicy::Allow => {}
        }
        if policy.upnp != UpnpPolicy::Off {
            restore_lost_rules(ctx, &mut actions);
        }
    }
    if !ctx.snap.config_unreadable("firewall") {
        forwards(ctx, policy, &mut actions);
        internet_blocks(ctx, policy, &mut actions);
    }
    // Without /etc/config/camguard (a snapshot of a router without camguard) the reasons are
    // the shipped defaults', not the owner's: say so rather than claim a policy.
    if ctx.snap.policy_file.is_none() {
        for a in &mut actions {
            a.why.push_str(
                " — by camguard's default policy; this router has no /etc/config/camguard",
            );
        }
    }
    actions
}

fn upnp_off(ctx: &Facts, out: &mut Vec<Action>) {
    let snap = ctx.snap;
    let svc = snap.upnp.service;
    let live_rules = snap
        .nft
        .as_ref()
        .filter(|r| is_fw4(r))
        .is_some_and(|r| r.upnp_rule_count() > 0);
    let Some(cfg) = &snap.upnp.config else {
        if live_rules && svc.installed == Some(true) {
            out.push(action(
                Step::Service {
                    name: "miniupnpd".into(),
                    action: "stop".into(),
                },
                "flush the UPnP firewall chains that outlived miniupnpd",
                Some(("upnp.rules_without_daemon", miniupnpd())),
            ));
        }
        return;
    };
    if cfg.enabled {
        // The init script reads `enabled` from the section named `config` only; without one,
        // an `enabled '0'` elsewhere switches nothing off, so camguard adds that section.
        let step = if cfg.has_settings_section {
            set("upnpd", &cfg.section, "enabled", "0")
        } else {
            Step::UciAdd {
                config: "upnpd".into(),
                r#type: "upnpd".into(),
                name: cfg.section.clone(),
                values: SortedMap::from([("enabled".to_owned(), "0".into())]),
            }
        };
        out.push(action(
            step,
            "switch UPnP off in /etc/config/upnpd (upnp 'off')",
            Some(("upnp.enabled", miniupnpd())),
        ));
    }
    let installed = svc.installed != Some(false);
    let maybe_running = svc.running == Some(true) || (svc.running.is_none() && cfg.enabled);
    if installed && (maybe_running || live_rules) {
        let id = if cfg.enabled || svc.running == Some(true) {
            "upnp.enabled"
        } else {
            "upnp.rules_without_daemon"
        };
        out.push(action(
            Step::Service { name: "miniupnpd".into(), action: "stop".into() },
            "stop miniupnpd; its stop also flushes the UPnP firewall chains (a reload would leave them live)",
            Some((id, miniupnpd())),
        ));
    }
    // Unknown (an offline snapshot without /etc/rc.d): only while the config still says on.
    if installed && (svc.enabled == Some(true) || (svc.enabled.is_none() && cfg.enabled)) {
        out.push(action(
            Step::Service {
                name: "miniupnpd".into(),
                action: "disable".into(),
            },
            "keep miniupnpd from starting at boot or on a WAN hotplug event",
            Some(("upnp.enabled", miniupnpd())),
        ));
    }
    let (leases, leases6) = snap.upnp_lease_paths();
    if !snap.upnp.leases.is_empty() {
        out.push(action(
            Step::TruncateFile { path: leases },
            "empty the lease file, which miniupnpd would replay at its next start",
            Some(("upnp.enabled", miniupnpd())),
        ));
    }
    if !snap.upnp.pinholes.is_empty() {
        out.push(action(
            Step::TruncateFile { path: leases6 },
            "empty the IPv6 pinhole file, which miniupnpd would replay at its next start",
            Some(("upnp.enabled", miniupnpd())),
        ));
    }
}

/// The name of camguard's deny rule for one address.
fn deny_rule_name(ip: std::net::Ipv4Addr) -> String {
    format!("{OWN_PREFIX}deny_{}", ip.to_string().replace('.', "_"))
}

const FINAL_DENY: &str = "camguard_final_deny";

/// The most mappings one plan revokes. A LAN device may hold every port: 65,535 revokes would
/// neither fit the `plan` reply (a ubus message is at most 1 MiB) nor a small router's memory.
/// The deny rule planned with them keeps the device from opening more, and each revoke edits
/// the lease file, which starts the next audit: it plans the next ones.
pub const MAX_REVOKES_PER_PLAN: usize = 1000;

fn upnp_restricted(ctx: &Facts, policy: &Policy, out: &mut Vec<Action>) {
    let snap = ctx.snap;
    let Some(cfg) = &snap.upnp.config else { return };
    let mut uci = Vec::new();

    // Mappings of denied devices go first, so that a restart cannot resurrect them.
    let violating = mappings_iter(snap).filter_map(|m| {
        let device = ctx.inventory.by_ip(m.int_addr);
        let camera = device.is_some_and(|d| d.classification.class.is_camera_like());
        let why = policy.mapping_violation(device.and_then(|d| d.mac), camera)?;
        Some((m, why))
    });
    for (m, why) in violating.take(MAX_REVOKES_PER_PLAN) {
        out.push(action(
            revoke_step(&m),
            format!(
                "revoke UPnP mapping {}/{} to {}:{}: {why}",
                m.ext_port,
                m.proto.as_str(),
                m.int_addr,
                m.int_port
            ),
            Some((
                "upnp.mapping",
                Subject::Mapping {
                    proto: m.proto,
                    ext_port: m.ext_port,
                    int_addr: m.int_addr,
                    int_port: m.int_port,
                },
            )),
        ));
    }

    if !cfg.secure_mode {
        uci.push(action(
            set("upnpd", &cfg.section, "secure_mode", "1"),
            "let devices map ports only to themselves (secure_mode 1)",
            Some(("upnp.secure_mode_off", miniupnpd())),
        ));
    }

    // One deny rule per address of every denied device, ahead of every other rule.
    let mut wanted = Vec::new();
    for d in &ctx.inventory.devices {
        let camera = d.classification.class.is_camera_like();
        let denied = camera
            || d.mac
                .and_then(|m| policy.device(m))
                .is_some_and(|p| p.upnp_deny);
        if !denied {
            continue;
        }
        for ip in d.ips.iter().filter_map(|ip| match ip {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        }) {
            let values = SortedMap::from([
                ("action".to_owned(), "deny".into()),
                ("ext_ports".to_owned(), "0-65535".into()),
                ("int_addr".to_owned(), UciValue::Single(format!("{ip}/32"))),
                ("int_ports".to_owned(), "0-65535".into()),
                (
                    "comment".to_owned(),
                    UciValue::Single(format!("camguard: no UPnP for {}", d.display_name())),
                ),
            ]);
            wanted.push((
                deny_rule_name(ip),
                (
                    values,
                    Subject::Device {
                        ip: Some(IpAddr::V4(ip)),
                        mac: d.mac,
                    },
                ),
            ));
        }
    }
    let wanted = SortedMap::from_vec(wanted);
    let existing: Vec<&crate::snapshot::upnpd::PermRule> = cfg.perm_rules.iter().collect();
    for (name, (values, subject)) in &wanted {
        match existing.iter().find(|r| &r.section == name) {
            None => uci.push(action(
                Step::UciAdd {
                    config: "upnpd".into(),
                    r#type: "perm_rule".into(),
                    name: name.clone(),
                    values: values.clone(),
                },
                format!(
                    "deny UPnP to {} (a perm rule ahead of every allow rule)",
                    values_comment(values)
                ),
                Some(("upnp.mapping", subject.clone())),
            )),
            Some(rule) => {
                let ip_wanted = match &values["int_addr"] {
                    UciValue::Single(s) => s.clone(),
                    UciValue::List(_) => String::new(),
                };
                let current = format!("{}/{}", rule.int_addr, rule.int_prefix);
                if rule.action != PermAction::Deny || current != ip_wanted || rule.invalid.is_some()
                {
                    for (option, value) in values {
                        uci.push(action(
                            Step::UciSet {
                                config: "upnpd".into(),
                                section: name.clone(),
                                option: option.clone(),
                                value: value.clone(),
                            },
                            "correct camguard's own deny rule",
                            None,
                        ));
                    }
                }
            }
        }
    }
    for rule in existing
        .iter()
        .filter(|r| r.section.starts_with(OWN_PREFIX) && r.section != FINAL_DENY)
    {
        if !wanted.contains_key(&rule.section) {
            uci.push(action(
                Step::UciDelete {
                    config: "upnpd".into(),
                    section: rule.section.clone(),
                    option: None,
                },
                format!(
                    "remove camguard's deny rule {} (the device no longer needs it)",
                    rule.section
                ),
                None,
            ));
        }
    }
    // Without a deny-all rule, a mapping no rule matches is accepted.
    let has_final_deny = existing.iter().any(|r| r.is_catch_all_deny());
    if !has_final_deny {
        let values = SortedMap::from([
            ("action".to_owned(), "deny".into()),
            ("ext_ports".to_owned(), "0-65535".into()),
            ("int_addr".to_owned(), "0.0.0.0/0".into()),
            ("int_ports".to_owned(), "0-65535".into()),
            (
                "comment".to_owned(),
                "camguard: deny everything not allowed above".into(),
            ),
        ]);
        uci.push(action(
            Step::UciAdd {
                config: "upnpd".into(),
                r#type: "perm_rule".into(),
                name: FINAL_DENY.into(),
                values,
            },
            "end the permission rules with a deny-all rule",
            Some((
                "upnp.acl_permissive",
                Subject::Config {
                    config: "upnpd".into(),
                },
            )),
        ));
    }
    // The wanted order: settings and other sections as they are, camguard's deny rules first among
    // the perm rules, the owner's rules in their order, camguard's final deny last.
    let perm_names: Vec<&str> = existing.iter().map(|r| r.section.as_str()).collect();
    let mut order: Vec<String> = cfg
        .section_order
        .iter()
        .filter(|s| !perm_names.contains(&s.as_str()))
        .cloned()
        .collect();
    order.extend(wanted.keys().cloned());
    order.extend(
        existing
            .iter()
            .filter(|r| !r.section.starts_with(OWN_PREFIX))
            .map(|r| r.section.clone()),
    );
    if !has_final_deny || perm_names.contains(&FINAL_DENY) {
        order.push(FINAL_DENY.into());
    }
    let current: Vec<&str> = cfg.section_order.iter().map(String::as_str).collect();
    let wanted_present: Vec<&str> = order
        .iter()
        .map(String::as_str)
        .filter(|s| current.contains(s))
        .collect();
    let current_relevant: Vec<&str> = current
        .iter()
        .copied()
        .filter(|s| order.iter().any(|o| o == s))
        .collect();
    // libuci appends added sections, so an addition always needs the order restored.
    let adds = uci.iter().any(|a| matches!(a.step, Step::UciAdd { .. }));
    if (adds && !wanted.is_empty()) || wanted_present != current_relevant {
        uci.push(action(
            Step::UciOrder {
                config: "upnpd".into(),
                sections: order,
            },
            "put camguard's deny rules before every allow rule (first match wins)",
            None,
        ));
    }
    let changed = !uci.is_empty();
    out.extend(uci);
    if changed && upnp_active(snap) {
        out.push(action(
            Step::Service {
                name: "miniupnpd".into(),
                action: "reload".into(),
            },
            "make miniupnpd read the new permission rules",
            None,
        ));
    }
}

/// After a firewall reload emptied miniupnpd's chains, their rules are re-added as miniupnpd
/// writes them: instant, where a restart replays the lease file in quadratic time (5,000 leases:
/// minutes without any mapping). Runs after the revokes, so a revoked mapping stays out; a
/// planned restart or reload of miniupnpd replays the file anyway.
fn restore_lost_rules(ctx: &Facts, out: &mut Vec<Action>) {
    // Looked up once per lost mapping: up to 1,000 revokes against up to 65,535 lost mappings.
    // Sorted once, then binary-searched.
    let revoked: SortedSet<_> = out
        .iter()
        .filter_map(|a| match &a.step {
            Step::RevokeMapping {
                proto, ext_port, ..
            } => Some((*proto, *ext_port)),
            _ => None,
        })
        .collect();
    let lost = lost_mappings(ctx.snap)
        .iter()
        .filter(|m| !revoked.contains(&(m.proto, m.ext_port)))
        .count();
    let restarted = out.iter().any(|a| {
        matches!(&a.step, Step::Service { name, action }
            if name == "miniupnpd" && (action == "restart" || action == "reload"))
    });
    if lost == 0 || restarted {
        return;
    }
    // The reload emptied the IPv6 pinholes' accept rules too; only miniupnpd replays those.
    if !ctx.snap.upnp.pinholes.is_empty() {
        out.push(action(
            Step::Service {
                name: "miniupnpd".into(),
                action: "restart".into(),
            },
            format!(
                "restart miniupnpd so that it re-creates the firewall rules of {lost} mapping(s) and its IPv6 pinholes a firewall reload emptied"
            ),
            Some(("upnp.rules_lost", miniupnpd())),
        ));
        return;
    }
    out.push(action(
        Step::RestoreMappings { lost },
        format!(
            "re-add the firewall rules of {lost} UPnP mapping(s) a firewall reload emptied, as miniupnpd writes them"
        ),
        Some(("upnp.rules_lost", miniupnpd())),
    ));
}

fn values_comment(values: &SortedMap<String, UciValue>) -> String {
    match values.get("comment") {
        Some(UciValue::Single(c)) => c.trim_start_matches("camguard: no UPnP for ").to_owned(),
        _ => "a device".into(),
    }
}

/// Handles of a mapping's rules: its DNAT in upnp_prerouting and the accept in upnp_forward
/// that is its own ([`crate::facts::mappings::pair_forward_rules`]): with several identical
/// accept rules, one per mapping, never every rule that matches.
pub fn mapping_handles(m: &Mapping) -> Vec<(String, u64)> {
    let dnat = m.handle.map(|h| ("upnp_prerouting".to_owned(), h));
    let accept = m.forward.handle().map(|h| ("upnp_forward".to_owned(), h));
    dnat.into_iter().chain(accept).collect()
}

/// A revoke of `m`: its lease line and its own rules. When its accept rule cannot be told from
/// a neighbour's, none is deleted by guess: miniupnpd rebuilds its rules from the edited lease
/// file instead.
pub fn revoke_step(m: &Mapping) -> Step {
    Step::RevokeMapping {
        proto: m.proto,
        ext_port: m.ext_port,
        int_addr: m.int_addr,
        int_port: m.int_port,
        nft_handles: mapping_handles(m),
        rebuild: m.live && m.forward == ForwardRule::Ambiguous,
    }
}

fn forwards(ctx: &Facts, policy: &Policy, out: &mut Vec<Action>) {
    let Some(fw) = &ctx.snap.firewall else { return };
    for r in fw.redirects.iter().filter(|r| is_wan_forward(ctx, r)) {
        let device = r.dest_ip.as_deref().and_then(|ip| ctx.device_at(ip));
        let camera = device.is_some_and(|d| d.classification.class.is_camera_like());
        if policy.forward_undecided(r, &fw.redirects).is_some() {
            continue;
        }
        let Some(why) = policy.forward_violation(r, camera) else {
            continue;
        };
        out.push(action(
            set("firewall", &r.section, "enabled", "0"),
            format!("disable port forward \"{}\": {why}", r.label()),
            Some((
                redirect_finding_id(ctx, r),
                Subject::Section {
                    config: "firewall".into(),
                    section: r.section.clone(),
                    label: r.label().to_owned(),
                },
            )),
        ));
    }
}

fn block_rule_name(mac: Mac) -> String {
    format!("{OWN_PREFIX}block_{}", mac.to_string().replace(':', ""))
}

/// The LAN zone and the WAN zone a block rule goes between: the zone that forwards to the WAN
/// (fw4's shipped lan), else "lan".
fn lan_and_wan<'a>(ctx: &Facts<'a>) -> Option<(&'a str, &'a str)> {
    let fw = ctx.snap.firewall.as_ref()?;
    let wan = ctx.wan_zones.first().copied()?;
    let lan = fw
        .forwardings
        .iter()
        .find(|f| f.enabled && f.dest == wan && !ctx.is_wan_zone(&f.src))
        .map_or("lan", |f| f.src.as_str());
    Some((lan, wan))
}

/// The firewall rule that cuts one device off from the internet.
fn block_rule(lan: &str, wan: &str, mac: Mac, label: &str) -> Step {
    let values = SortedMap::from([
        (
            "name".to_owned(),
            UciValue::Single(format!("camguard: block internet for {label}")),
        ),
        ("src".to_owned(), lan.into()),
        ("dest".to_owned(), wan.into()),
        (
            "src_mac".to_owned(),
            UciValue::Single(mac.to_string().to_uppercase()),
        ),
        ("proto".to_owned(), "all".into()),
        ("target".to_owned(), "REJECT".into()),
    ]);
    Step::UciAdd {
        config: "firewall".into(),
        r#type: "rule".into(),
        name: block_rule_name(mac),
        values,
    }
}

/// The fix of a `camera.remote_viewing` or `camera.firmware_vulnerable` finding: cutting the
/// camera off from the internet. When
/// the policy already blocks it, the planned block; else the policy change that asks for it
/// (the device's `internet 'block'` in /etc/config/camguard) with the rule it leads to, so
/// that the next plan keeps the rule instead of removing it.
fn remote_viewing_fix(ctx: &Facts, actions: &[Action], f: &crate::audit::Finding) -> Vec<Action> {
    let planned: Vec<Action> = actions
        .iter()
        .filter(|a| {
            a.finding
                .as_ref()
                .is_some_and(|r| r.id == "camera.internet" && r.subject == f.subject)
        })
        .cloned()
        .collect();
    if !planned.is_empty() {
        return planned;
    }
    let Subject::Device { mac: Some(mac), .. } = &f.subject else {
        return Vec::new();
    };
    let (Some((lan, wan)), Ok(policy)) = (lan_and_wan(ctx), &ctx.policy) else {
        return Vec::new();
    };
    let label = ctx
        .inventory
        .devices
        .iter()
        .find(|d| d.mac == Some(*mac))
        .map_or_else(|| mac.to_string(), |d| d.display_name());
    let why = format!("block {label}'s internet in camguard's policy (its internet 'block')");
    let policy_step = match policy.device(*mac) {
        Some(dp) => set("camguard", &dp.section, "internet", "block"),
        None => Step::UciAdd {
            config: "camguard".into(),
            r#type: "device".into(),
            name: format!("{OWN_PREFIX}dev_{}", mac.to_string().replace(':', "")),
            values: SortedMap::from([
                ("mac".to_owned(), UciValue::Single(mac.to_string())),
                ("internet".to_owned(), "block".into()),
            ]),
        },
    };
    let finding = || Some((f.id, f.subject.clone()));
    vec![
        action(policy_step, why, finding()),
        action(
            block_rule(lan, wan, *mac, &label),
            format!("cut {label} off from the internet (its vendor's cloud, and attackers reaching it, with it)"),
            finding(),
        ),
    ]
}

fn internet_blocks(ctx: &Facts, policy: &Policy, out: &mut Vec<Action>) {
    let Some(fw) = &ctx.snap.firewall else { return };
    let Some((lan, wan)) = lan_and_wan(ctx) else {
        return;
    };
    let mut wanted: Vec<(String, (Mac, String, Subject))> = Vec::new();
    for d in &ctx.inventory.devices {
        let Some(mac) = d.mac else { continue };
        let own = policy.device(mac).and_then(|p| p.internet);
        let block = match own {
            Some(access) => access == Access::Block,
            None => {
                policy.camera_internet == Access::Block && d.classification.class.is_camera_like()
            }
        };
        if block {
            let subject = Subject::Device {
                ip: d.ips.first().copied(),
                mac: Some(mac),
            };
            wanted.push((block_rule_name(mac), (mac, d.display_name(), subject)));
        }
    }
    let wanted = SortedMap::from_vec(wanted);
    let existing: Vec<&crate::snapshot::firewall::Rule> = fw
        .rules
        .iter()
        .filter(|r| r.section.starts_with(OWN_PREFIX))
        .collect();
    for (name, (mac, label, subject)) in &wanted {
        let mac_text = mac.to_string().to_uppercase();
        let current = existing.iter().find(|r| &r.section == name);
        let up_to_date = current.is_some_and(|r| {
            r.in_effect()
                && r.src.as_deref() == Some(lan)
                && r.dest.as_deref() == Some(wan)
                && r.src_mac.iter().any(|m| m.eq_ignore_ascii_case(&mac_text))
                && r.target == "reject"
        });
        if up_to_date {
            continue;
        }
        if current.is_some() {
            out.push(action(
                Step::UciDelete {
                    config: "firewall".into(),
                    section: name.clone(),
                    option: None,
                },
                "replace camguard's outdated block rule",
                None,
            ));
        }
        out.push(action(
            block_rule(lan, wan, *mac, label),
            format!("cut {label} off from the internet (camera_internet 'block' or the device's internet 'block')"),
            Some(("camera.internet", subject.clone())),
        ));
    }
    for r in existing
        .iter()
        .filter(|r| r.section.starts_with(&format!("{OWN_PREFIX}block_")))
    {
        if !wanted.contains_key(&r.section) {
            out.push(action(
                Step::UciDelete {
                    config: "firewall".into(),
                    section: r.section.clone(),
                    option: None,
                },
                format!(
                    "remove camguard's block rule {} (the policy no longer blocks that device)",
                    r.section
                ),
                None,
            ));
        }
    }
}

/// Sets each finding's `fix` to the actions that would fix it.
/// The audit's report with each finding's fix attached, and the plan the fixes come from: what
/// `camguard audit`, the daemon's `status` and `camguard status` without a daemon all show.
pub fn report_and_plan(facts: &Facts) -> (crate::audit::Report, Vec<Action>) {
    let mut report = crate::audit::audit_with(facts);
    let actions = plan(facts);
    attach_fixes(&mut report.findings, &actions);
    for f in report
        .findings
        .iter_mut()
        .filter(|f| f.id == "camera.remote_viewing" || f.id == "camera.firmware_vulnerable")
    {
        let fixes = remote_viewing_fix(facts, &actions, f);
        if !fixes.is_empty() {
            f.fix = Some(crate::encode::json!({ "actions": fixes }));
        }
    }
    (report, actions)
}

pub fn attach_fixes(findings: &mut [crate::audit::Finding], actions: &[Action]) {
    for f in findings.iter_mut() {
        let fixes: Vec<&Action> = actions
            .iter()
            .filter(|a| {
                a.finding
                    .as_ref()
                    .is_some_and(|r| r.id == f.id && r.subject == f.subject)
            })
            .collect();
        if !fixes.is_empty() {
            f.fix = Some(crate::encode::json!({ "actions": fixes }));
        }
    }
}
