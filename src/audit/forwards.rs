//! Port forwards (`redirect` sections) from the internet, judged the way firewall4 renders them.
use std::collections::HashSet;

use serde_json::json;

use super::{
    finding, with_article, DeviceRef, Evidence, Facts, Finding, ForwardEvidence, SensitivePort,
    Severity, Subject,
};
use crate::facts::forwards::{forwards_every_port, is_wan_forward, sensitive_ports};
use crate::facts::mappings::is_fw4;
use crate::snapshot::firewall::{NatTarget, Redirect};
use crate::snapshot::policy::ForwardPolicy;

fn subject(r: &Redirect) -> Subject {
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
        out.extend(policy_violation(ctx, r));
    }
    out.extend(drift(ctx));
}

/// One finding per forward, for its worst property: every port, a camera, a sensitive port.
fn exposure(ctx: &Facts, r: &Redirect) -> Option<super::Finding> {
    let Some(dest_ip) = r.dest_ip.as_deref() else {
        return super::router::redirect_to_router(ctx, r);
    };
    let device = ctx.device_at(dest_ip);
    let camera = device.filter(|d| d.classification.class.is_camera_like());
    let who = device.map_or_else(|| dest_ip.to_owned(), |d| d.describe().to_owned());
    let sensitive: Vec<_> = sensitive_ports(r);
    let protos = r.protocols.join("/");
    let (id, severity, title) = if forwards_every_port(r) {
        (
            "forward.dmz",
            Severity::Critical,
            format!(
                "Every port is forwarded to {}",
                device.map_or(dest_ip.to_owned(), |d| d.display_name())
            ),
        )
    } else if let Some(d) = camera {
        (
            "forward.to_camera",
            Severity::High,
            format!(
                "A port forward exposes the {} {}",
                d.classification.class.label(),
                d.display_name()
            ),
        )
    } else if let Some(k) = sensitive.first() {
        (
            "forward.sensitive_port",
            Severity::High,
            format!("A port forward exposes {} on {}", k.name, who),
        )
    } else {
        (
            "forward.active",
            Severity::Low,
            format!("Port forward \"{}\" is open to the internet", r.label()),
        )
    };
    let mut detail = format!(
        "Redirect \"{}\" sends {} ({protos}) from the internet to {who}.",
        r.label(),
        ports_text(r)
    );
    if id == "forward.dmz" {
        detail.push_str(" With no external port set, firewall4 forwards every port: the device is fully exposed.");
    }
    if camera.is_some() && id != "forward.to_camera" {
        detail.push_str(&format!(
            " The target is {}.",
            camera.map_or(String::new(), |d| with_article(
                d.classification.class.label()
            ))
        ));
    }
    if !sensitive.is_empty() {
        let names: Vec<_> = sensitive
            .iter()
            .map(|k| format!("{} ({})", k.port, k.name))
            .collect();
        detail.push_str(&format!(
            " It reaches sensitive ports: {}.",
            names.join(", ")
        ));
    }
    if let Some(src_ip) = &r.src_ip {
        detail.push_str(&format!(" Only connections from {src_ip} are forwarded."));
    }
    let remedy = match id {
        "forward.dmz" => "Disable this redirect and forward only the single ports a service needs, or better, use a VPN.",
        "forward.to_camera" => {
            "Disable this forward (camguard policy forwards 'no_cameras' does it for every camera) and view the \
             camera through its vendor's app or a VPN instead."
        }
        "forward.sensitive_port" => "Disable this forward; reach the service through a VPN instead of opening it to the internet.",
        _ => "Keep it only if you use it; add it to camguard's allowlist to record that it is intended.",
    };
    Some(
        finding(id, severity, subject(r), title, detail)
            .typed_evidence(Evidence::Forward(ForwardEvidence {
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
            }))
            .remedy(remedy),
    )
}

fn policy_violation(ctx: &Facts, r: &Redirect) -> Option<super::Finding> {
    let policy = ctx.policy.as_ref().ok()?;
    let device = r.dest_ip.as_deref().and_then(|ip| ctx.device_at(ip));
    let camera = device.is_some_and(|d| d.classification.class.is_camera_like());
    let why = policy.forward_violation(&r.section, r.name.as_deref(), camera)?;
    let severity = if camera || policy.forwards == ForwardPolicy::Off {
        Severity::High
    } else {
        Severity::Medium
    };
    Some(
        finding(
            "forward.not_allowed",
            severity,
            subject(r),
            format!("Port forward \"{}\" is against your policy", r.label()),
            format!("Redirect \"{}\" ({}) is enabled, but {why}.", r.label(), ports_text(r)),
        )
        .evidence(json!({ "section": r.section, "name": r.name, "policy": policy.forwards, "camera": camera }))
        .remedy(format!(
            "Let camguard disable it (`camguard enforce`), or if you need it, add `config allow_forward` with \
             option redirect '{}' to /etc/config/camguard.",
            r.label()
        )),
    )
}

/// UCI and the live ruleset disagree: fw4 marks each redirect's rule `!fw4: <name>`.
fn drift(ctx: &Facts) -> Vec<super::Finding> {
    let (Some(fw), Some(ruleset)) = (
        &ctx.snap.firewall,
        ctx.snap.nft.as_ref().filter(|r| is_fw4(r)),
    ) else {
        return Vec::new();
    };
    let live: HashSet<&str> = ruleset
        .rules
        .iter()
        .filter(|r| r.table == "fw4" && r.chain.starts_with("dstnat") && r.nat.is_some())
        .filter_map(|r| r.comment.as_deref()?.strip_prefix("!fw4: "))
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
            .remedy("Reload the firewall (`/etc/init.d/firewall reload` or Save & Apply in LuCI) so config and reality agree."),
        );
    }
    out
}
