//! Paths in from the internet that the firewall config opens: port forwards (`redirect`) and
//! traffic rules that accept WAN traffic to the LAN (IPv6's port forwards), judged the way
//! firewall4 renders them. One finding per path, for its worst property; the owner's policy
//! verdict is part of it, not a finding of its own.
use std::sync::Arc;

use super::remedy;
use super::{
    finding, with_article, DeviceRef, Evidence, Facts, Finding, ForwardEvidence, PolicyVerdict,
    SensitivePort, Severity, Subject,
};
use crate::encode::json;
use crate::facts::forwards::{
    is_wan_forward, is_wan_inbound_rule, redirect_reach, rule_devices, rule_reach,
    rule_sensitive_ports, sensitive_ports, width, Reach,
};
use crate::facts::mappings::is_fw4;
use crate::lan::Device;
use crate::ports::KnownPort;
use crate::snapshot::firewall::{NatTarget, Redirect, Rule};
use crate::sorted::SortedSet;

pub(super) fn subject(r: &Redirect) -> Subject {
    Subject::Section {
        config: "firewall".into(),
        section: r.section.clone(),
        label: r.label().to_owned(),
    }
}

fn rule_subject(r: &Rule) -> Subject {
    Subject::Section {
        config: "firewall".into(),
        section: r.section.clone(),
        label: r.label().to_owned(),
    }
}

fn ports_text(r: &Redirect) -> String {
    let ext = r
        .src_dport
        .map_or_else(|| "every port".to_owned(), |p| format!("port {p}"));
    match (r.internal_ports(), r.dest_port) {
        (Some(int), Some(_)) if Some(int) != r.src_dport => {
            format!("{ext} (to internal port {int})")
        }
        _ => ext,
    }
}

pub fn check(ctx: &Facts, out: &mut Vec<Finding>) {
    let Some(fw) = &ctx.snap.firewall else { return };
    for r in fw.redirects.iter().filter(|r| is_wan_forward(ctx, r)) {
        out.extend(exposure(ctx, r));
    }
    for r in fw.rules.iter().filter(|r| is_wan_inbound_rule(ctx, r)) {
        out.push(rule_exposure(ctx, r));
    }
    out.extend(ambiguous_allowlist(ctx));
    out.extend(drift(ctx));
}

/// The severity of what a path reaches: every port is critical, a camera or sensitive port
/// high, a wide range medium, a few ordinary ports low.
fn severity(reach: Reach) -> Severity {
    match reach {
        Reach::EveryPort => Severity::Critical,
        Reach::Camera | Reach::SensitivePort => Severity::High,
        Reach::WideRange => Severity::Medium,
        Reach::Ports => Severity::Low,
    }
}

/// A path open only to some source addresses (`src_ip`, not negated) is one step less severe:
/// it narrows who can reach the device, though a scanner inside that range still can.
fn limited_severity(reach: Reach, limited: bool) -> Severity {
    match (severity(reach), limited) {
        (Severity::Critical, true) => Severity::High,
        (Severity::High, true) => Severity::Medium,
        (Severity::Medium, true) => Severity::Low,
        (s, _) => s,
    }
}

fn limits_sources<'s>(src_ip: impl Iterator<Item = &'s String>) -> bool {
    let mut ips = src_ip.peekable();
    ips.peek().is_some() && ips.all(|ip| !ip.starts_with('!'))
}

fn sensitive_words(sensitive: &[&KnownPort]) -> String {
    let names: Vec<_> = sensitive
        .iter()
        .map(|k| format!("{} ({})", k.port, k.name))
        .collect();
    names.join(", ")
}

/// The owner's verdict on a redirect, when there is an owner's policy to judge by: a snapshot
/// without /etc/config/camguard has none, and camguard then claims none.
fn forward_verdict(ctx: &Facts, r: &Redirect, to_camera: bool) -> Option<PolicyVerdict> {
    ctx.snap.policy_file.as_ref()?;
    let policy = ctx.policy.ok()?;
    let redirects = ctx
        .snap
        .firewall
        .as_ref()
        .map_or(&[][..], |fw| &fw.redirects);
    if let Some(why) = policy.forward_undecided(r, redirects) {
        return Some(PolicyVerdict {
            allowed: false,
            why: why.to_owned(),
        });
    }
    Some(match policy.forward_violation(r, to_camera) {
        Some(why) => PolicyVerdict {
            allowed: false,
            why: format!("against your camguard policy: {why}"),
        },
        None => PolicyVerdict {
            allowed: true,
            why: format!(
                "kept by your camguard policy (forwards '{}')",
                policy.forwards.as_str()
            ),
        },
    })
}

/// One finding per forward, for its worst property: every port, a camera, a sensitive port.
fn exposure(ctx: &Facts, r: &Redirect) -> Option<Finding> {
    let to_router = ctx.redirects_to_router(r);
    if to_router {
        // Its admin services are their own finding; any other service of the router is an
        // exposure like a device's.
        if let Some(f) = super::router::redirect_to_router(ctx, r) {
            return Some(f);
        }
    }
    let device = r
        .dest_ip
        .as_deref()
        .filter(|_| !to_router)
        .and_then(|ip| ctx.device_at(ip));
    let camera = device.filter(|d| d.classification.class.is_camera_like());
    let (who, name) = match (device, r.dest_ip.as_deref()) {
        (Some(d), _) => (d.describe().to_owned(), d.display_name()),
        (None, Some(ip)) if to_router => {
            let words = format!("the router itself ({ip})");
            (words.clone(), words)
        }
        (None, Some(ip)) => (ip.to_owned(), ip.to_owned()),
        (None, None) => (
            "the router itself".to_owned(),
            "the router itself".to_owned(),
        ),
    };
    let sensitive = sensitive_ports(r);
    let reach = redirect_reach(ctx, r);
    let protos = r.protocols.join("/");
    let title = match reach {
        Reach::EveryPort => format!("Every port is forwarded to {name}"),
        Reach::Camera => format!(
            "A port forward exposes the {} {}",
            camera.map_or("camera", |d| d.classification.class.label()),
            name
        ),
        Reach::SensitivePort => format!(
            "A port forward exposes {} on {who}",
            sensitive.first().map_or("a sensitive service", |k| k.name)
        ),
        Reach::WideRange => format!(
            "Port forward \"{}\" opens {} ports to {name}",
            r.label(),
            width(r.src_dport.into_iter())
        ),
        Reach::Ports => format!("Port forward \"{}\" is open to the internet", r.label()),
    };
    let mut detail = format!(
        "Redirect \"{}\" sends {} ({protos}) from the internet to {who}.",
        r.label(),
        ports_text(r)
    );
    if reach == Reach::EveryPort {
        detail.push_str(
            " With no external port set, firewall4 forwards every port: the device is fully exposed.",
        );
    }
    if let (Some(d), false) = (camera, reach == Reach::Camera) {
        detail.push_str(&format!(
            " The target is {}.",
            with_article(d.classification.class.label())
        ));
    }
    if !sensitive.is_empty() {
        detail.push_str(&format!(
            " It reaches sensitive ports: {}.",
            sensitive_words(&sensitive)
        ));
    }
    let limited = limits_sources(r.src_ip.iter());
    if let Some(src_ip) = &r.src_ip {
        detail.push_str(&format!(" Only connections from {src_ip} are forwarded."));
    }
    let verdict = forward_verdict(ctx, r, camera.is_some());
    if let Some(v) = &verdict {
        detail.push_str(&format!(" It is {}.", v.why));
    }
    let remedy = forward_remedy(r, reach, verdict.as_ref());
    let mut f = finding(
        reach.finding_id(),
        limited_severity(reach, limited),
        subject(r),
        title,
        detail,
    )
    .typed_evidence(Evidence::Forward(ForwardEvidence {
        kind: "redirect",
        section: r.section.clone(),
        name: r.name.clone(),
        src: r.src.clone(),
        src_dport: r.src_dport,
        dest_ip: r.dest_ip.clone(),
        dest_port: r.internal_ports(),
        protocols: r.protocols.clone(),
        src_ip: r.src_ip.clone(),
        sensitive_ports: sensitive
            .iter()
            .map(|k| SensitivePort {
                port: k.port,
                service: k.name,
            })
            .collect(),
        device: device.map(|d| DeviceRef(d.clone())),
        devices: Vec::new(),
    }))
    .remedy(remedy);
    f.policy = verdict;
    Some(f)
}

fn forward_remedy(r: &Redirect, reach: Reach, verdict: Option<&PolicyVerdict>) -> String {
    let why = match reach {
        Reach::EveryPort => {
            "Forward only the single ports a service needs instead of every port, or better, use a VPN."
        }
        Reach::Camera => {
            "View the camera through its vendor's app or a VPN instead of a port forward (camguard policy forwards \
             'no_cameras' disables forwards to every camera)."
        }
        Reach::SensitivePort => {
            "Reach the service through a VPN instead of opening it to the internet."
        }
        Reach::WideRange | Reach::Ports => "Keep it only if you use it.",
    };
    let keep = match verdict {
        Some(v) if v.allowed => {
            " camguard keeps it because your policy does; remove it from the allowlist in Services → Camguard → \
             Settings when you no longer need it."
                .to_owned()
        }
        Some(_) => format!(
            " To keep it, add it to the allowlist in Services → Camguard → Settings ({}).",
            remedy::allow_entry(r)
        ),
        None => String::new(),
    };
    format!("{why} {}{keep}", remedy::disable_redirect(r))
}

/// A traffic rule that accepts WAN traffic to LAN devices: one finding per rule, with the
/// devices its `dest_ip` names (IPv6 addresses through odhcpd leases, DHCPv6 hints and the
/// neighbour table) and the same ids and severities as forwards.
fn rule_exposure(ctx: &Facts, r: &Rule) -> Finding {
    let devices = rule_devices(ctx, r);
    let reach = rule_reach(r, &devices);
    let sensitive = rule_sensitive_ports(r);
    let camera = devices
        .iter()
        .find(|d| d.classification.class.is_camera_like());
    let protos = r.protocols.join("/");
    let ports = if r.dest_port.is_empty() {
        "every port".to_owned()
    } else {
        let list: Vec<String> = r.dest_port.iter().map(ToString::to_string).collect();
        format!("port {}", list.join(", "))
    };
    let targets = targets_text(r, &devices);
    let title = match reach {
        Reach::EveryPort => format!("A traffic rule opens every port of {targets} to the internet"),
        Reach::Camera => format!(
            "A traffic rule exposes the {} {}",
            camera.map_or("camera", |d| d.classification.class.label()),
            camera.map_or_else(String::new, |d| d.display_name())
        ),
        Reach::SensitivePort => format!(
            "A traffic rule exposes {} on {targets}",
            sensitive.first().map_or("a sensitive service", |k| k.name)
        ),
        Reach::WideRange | Reach::Ports => {
            format!("Traffic rule \"{}\" opens {ports} to {targets}", r.label())
        }
    };
    let family = match r.family.as_str() {
        "ipv6" | "inet6" => " (IPv6)",
        "ipv4" | "inet" => " (IPv4)",
        _ => "",
    };
    let mut detail = format!(
        "Rule \"{}\" accepts {ports} ({protos}){family} from the internet to {targets}. On OpenWrt this is how a \
         port is opened to a device without NAT, as for IPv6.",
        r.label()
    );
    if r.dest_ip.is_empty() {
        detail.push_str(
            " It names no address, so every device of the destination zone is reachable.",
        );
    }
    if !sensitive.is_empty() {
        detail.push_str(&format!(
            " It reaches sensitive ports: {}.",
            sensitive_words(&sensitive)
        ));
    }
    if !r.src_ip.is_empty() {
        detail.push_str(&format!(
            " Only traffic from {} is accepted.",
            r.src_ip.join(", ")
        ));
    }
    let why = match reach {
        Reach::Camera => "View the camera through its vendor's app or a VPN instead.",
        Reach::EveryPort | Reach::SensitivePort => "Reach it through a VPN instead.",
        Reach::WideRange | Reach::Ports => "Keep it only if you use it.",
    };
    finding(
        reach.finding_id(),
        limited_severity(reach, limits_sources(r.src_ip.iter())),
        rule_subject(r),
        title,
        detail,
    )
    .typed_evidence(Evidence::Forward(ForwardEvidence {
        kind: "rule",
        section: r.section.clone(),
        name: r.name.clone(),
        src: r.src.clone(),
        src_dport: None,
        dest_ip: (!r.dest_ip.is_empty()).then(|| r.dest_ip.join(" ")),
        dest_port: r.dest_port.first().copied(),
        protocols: r.protocols.clone(),
        src_ip: (!r.src_ip.is_empty()).then(|| r.src_ip.join(" ")),
        sensitive_ports: sensitive
            .iter()
            .map(|k| SensitivePort {
                port: k.port,
                service: k.name,
            })
            .collect(),
        device: camera.or(devices.first()).map(|d| DeviceRef(d.clone())),
        devices: devices.iter().map(|d| DeviceRef(d.clone())).collect(),
    }))
    .remedy(format!("{why} {}", remedy::disable_rule(r)))
}

fn targets_text(r: &Rule, devices: &[Arc<Device>]) -> String {
    if r.dest_ip.is_empty() {
        return format!("every device in zone {}", r.dest.as_deref().unwrap_or("*"));
    }
    let mut named: Vec<String> = devices.iter().map(|d| d.describe().to_owned()).collect();
    for ip in &r.dest_ip {
        let known = devices
            .iter()
            .any(|d| d.ips.iter().any(|a| a.to_string() == *ip));
        if !known {
            named.push(ip.clone());
        }
    }
    named.join(", ")
}

/// `allow_forward` entries that name an anonymous section's `cfg…` ID: it shifts when an
/// earlier section is added or removed, so camguard never uses it to decide.
fn ambiguous_allowlist(ctx: &Facts) -> Vec<Finding> {
    let (Some(fw), Ok(policy), Some(_)) = (
        &ctx.snap.firewall,
        ctx.policy,
        ctx.snap.policy_file.as_ref(),
    ) else {
        return Vec::new();
    };
    policy
        .ambiguous_allow_entries(&fw.redirects)
        .into_iter()
        .map(|(entry, now)| {
            let id = entry.redirect.clone().unwrap_or_default();
            let today = now.map_or_else(
                || "It names no section today.".to_owned(),
                |r| format!("Today it points at {}.", r.label()),
            );
            let suggestion = now.map_or_else(
                || "a name or what the forward does".to_owned(),
                remedy::allow_entry,
            );
            finding(
                "policy.allow_forward_ambiguous",
                Severity::Medium,
                Subject::Section {
                    config: "camguard".into(),
                    section: entry.section.clone(),
                    label: format!("allow_forward '{id}'"),
                },
                format!("Allowlist entry '{id}' names a section ID that can change"),
                format!(
                    "/etc/config/camguard keeps the forward '{id}', an ID libuci gives an unnamed section; it \
                     changes when an earlier section is added or removed, so it may name another forward by now. \
                     {today} camguard does not use this entry, and until it is rewritten it neither keeps nor \
                     disables any unnamed forward, since it cannot tell which one you meant."
                ),
            )
            .evidence(json!({ "entry": entry.section, "redirect": id, "points_at": now.map(|r| &r.section) }))
            .remedy(format!(
                "Replace it with an entry that survives renumbering: in Services → Camguard → Settings, or \
                 `uci set camguard.{}.redirect=…` with {suggestion}; `uci commit camguard`.",
                entry.section
            ))
        })
        .collect()
}

/// UCI and the live ruleset disagree: fw4 marks each redirect's rule `!fw4: <name>`.
fn drift(ctx: &Facts) -> Vec<Finding> {
    let (Some(fw), Some(ruleset)) = (
        &ctx.snap.firewall,
        ctx.snap.nft.as_ref().filter(|r| is_fw4(r)),
    ) else {
        return Vec::new();
    };
    // Sorted once, then searched once per redirect.
    let live: SortedSet<&str> = ruleset
        .fw4_rules()
        .filter(|(_, r)| r.table == "fw4" && r.chain.starts_with("dstnat") && r.nat.is_some())
        .map(|(name, _)| name)
        .collect();
    let mut out = Vec::new();
    for r in fw.redirects.iter().filter(|r| r.target == NatTarget::Dnat) {
        let configured = r.in_effect();
        let is_live = live.contains(r.fw4_name.as_str());
        let detail = match (configured, is_live) {
            (false, true) => format!(
                "Redirect \"{}\" is disabled in /etc/config/firewall but its rule is still in the live firewall, \
                 so the port is still open. The firewall has not been reloaded since the change.",
                r.label()
            ),
            (true, false) => format!(
                "Redirect \"{}\" is enabled in /etc/config/firewall but not in the live firewall: the configuration \
                 has not been applied yet, and will open the port at the next reload.",
                r.label()
            ),
            _ => continue,
        };
        out.push(
            finding(
                "forward.drift",
                Severity::Medium,
                subject(r),
                format!("Port forward \"{}\" differs between config and live firewall", r.label()),
                detail,
            )
            .evidence(json!({ "section": r.section, "fw4_name": r.fw4_name, "configured": configured, "live": is_live }))
            .remedy(format!("Reload the firewall so config and reality agree: {}.", remedy::RELOAD_FIREWALL)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_port_is_critical_and_a_few_ports_low() {
        assert_eq!(severity(Reach::EveryPort), Severity::Critical);
        assert_eq!(severity(Reach::WideRange), Severity::Medium);
        assert_eq!(severity(Reach::Ports), Severity::Low);
    }
}
