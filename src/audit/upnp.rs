//! UPnP/NAT-PMP: is miniupnpd on, how loosely is it configured, and what has it opened.
use std::net::IpAddr;

use super::remedy;
use super::{
    capitalised, expiry_words, finding, with_article, DeviceMappingsEvidence, DeviceRef, Evidence,
    Facts, Finding, MappingEvidence, MappingSample, PolicyVerdict, Severity, Subject,
};
use crate::encode::json;
use crate::facts::mappings::{
    is_fw4, lost_mappings, mappings_iter, mappings_unpaired, replay, upnp_active, Replay,
};
use crate::ports::{self, PortKind};
use crate::snapshot::policy::UpnpPolicy;
use crate::snapshot::upnpd::PermAction;
use crate::sorted::SortedSet;

pub fn check(ctx: &Facts, out: &mut Vec<Finding>) {
    let snap = ctx.snap;
    let active = upnp_active(snap);
    if let Some(cfg) = &snap.upnp.config {
        if active {
            out.push(enabled(ctx, cfg));
            if !cfg.secure_mode {
                out.push(
                    finding(
                        "upnp.secure_mode_off",
                        Severity::High,
                        Subject::Service { name: "miniupnpd".into() },
                        "UPnP secure mode is off".into(),
                        "With secure_mode off any device on the LAN may open ports to any other device, so one \
                         compromised gadget can expose your cameras or computers."
                            .into(),
                    )
                    .evidence(json!({ "secure_mode": false }))
                    .remedy(format!(
                        "Turn secure mode on: in LuCI, {}, Advanced Settings, tick Enable secure mode, Save & Apply; \
                         or `uci set upnpd.config.secure_mode='1'; uci commit upnpd; /etc/init.d/miniupnpd restart`.",
                        remedy::LUCI_UPNP
                    )),
                );
            }
            check_acl(ctx, out);
        }
    }
    check_mappings(ctx, out);
    check_forged_leases(ctx, out);
    check_rules_lost(ctx, out);
    check_rules_without_daemon(ctx, out);
    if active {
        check_pinholes(ctx, out);
    }
}

/// One finding for the daemon, whichever of its protocols are on: UPnP IGD and NAT-PMP/PCP are
/// two doors of one miniupnpd, and switching it off closes both.
fn enabled(ctx: &Facts, cfg: &crate::snapshot::UpnpConfig) -> Finding {
    let svc = ctx.snap.upnp.service;
    let detail_extra = match (cfg.enabled, svc.enabled) {
        (false, _) => " miniupnpd is running although its config says enabled '0'.",
        (true, Some(false)) => {
            " Its init script is disabled, so it does not start at boot, but the next change to \
             the upnpd config (or a reload) starts it."
        }
        _ => "",
    };
    let severity = if cfg.enabled && svc.enabled == Some(false) && svc.running != Some(true) {
        Severity::Medium
    } else {
        Severity::High
    };
    let (title, doors) = match (cfg.enable_upnp, cfg.enable_natpmp) {
        (true, true) => (
            "UPnP and NAT-PMP/PCP are switched on",
            "miniupnpd lets any device on your network open ports in the firewall to the internet without asking \
             you, through UPnP IGD and through NAT-PMP/PCP (UDP port 5351)",
        ),
        (true, false) => (
            "UPnP is switched on",
            "miniupnpd lets any device on your network open ports in the firewall to the internet without asking you",
        ),
        _ => (
            "NAT-PMP/PCP is switched on",
            "miniupnpd answers NAT-PMP and PCP on UDP port 5351: any device on your network can open ports in the \
             firewall to the internet without asking you",
        ),
    };
    let verdict = ctx.snap.policy_file.as_ref().and(ctx.policy.ok()).map(|p| PolicyVerdict {
        allowed: p.upnp != UpnpPolicy::Off,
        why: match p.upnp {
            UpnpPolicy::Off => "against your camguard policy: upnp 'off'".to_owned(),
            UpnpPolicy::Restricted => {
                "kept by your camguard policy, restricted (upnp 'restricted'): cameras may not open ports"
                    .to_owned()
            }
            UpnpPolicy::Allow => "kept by your camguard policy (upnp 'allow')".to_owned(),
        },
    });
    let mut detail = format!(
        "{doors}; cameras and NVRs use it to make themselves reachable from outside.{detail_extra}"
    );
    if let Some(v) = &verdict {
        detail.push_str(&format!(" It is {}.", v.why));
    }
    let mut f = finding(
        "upnp.enabled",
        severity,
        Subject::Service { name: "miniupnpd".into() },
        title.into(),
        detail,
    )
    .evidence(json!({
        "enabled": cfg.enabled,
        "enable_upnp": cfg.enable_upnp,
        "enable_natpmp": cfg.enable_natpmp,
        "init_enabled": svc.enabled,
        "running": svc.running,
    }))
    .remedy(format!(
        "{} If a games console needs it, use camguard's upnp 'restricted' so that cameras can never open ports.",
        remedy::upnp_off()
    ));
    f.policy = verdict;
    f
}

/// Perm rules are evaluated first-match, and no match means accepted (openwrt-facts §1.3): only
/// the rules up to the first catch-all deny can ever decide, and without one everything passes.
fn check_acl(ctx: &Facts, out: &mut Vec<Finding>) {
    let Some(cfg) = &ctx.snap.upnp.config else {
        return;
    };
    let valid: Vec<_> = cfg
        .perm_rules
        .iter()
        .filter(|r| r.invalid.is_none())
        .collect();
    let reachable_end = valid.iter().position(|r| r.is_catch_all_deny());
    let reachable = &valid[..reachable_end.map_or(valid.len(), |i| i + 1)];
    let mut reasons = Vec::new();
    if valid.is_empty() {
        reasons.push("there are no permission rules, so every mapping is accepted".to_owned());
    } else if reachable_end.is_none() {
        reasons.push(
            "the rules do not end with a deny-all rule, so a mapping no rule matches is accepted"
                .to_owned(),
        );
    }
    for r in reachable.iter().filter(|r| r.action == PermAction::Allow) {
        if r.ext_ports.lo < 1024 || r.int_ports.lo < 1024 {
            reasons.push(format!(
                "rule {:?} allows ports below 1024 (external {}, internal {})",
                r.comment, r.ext_ports, r.int_ports
            ));
        }
    }
    if reasons.is_empty() {
        return;
    }
    out.push(
        finding(
            "upnp.acl_permissive",
            Severity::Medium,
            Subject::Config { config: "upnpd".into() },
            "UPnP permission rules are permissive".into(),
            format!("miniupnpd's access rules let devices open more than they should: {}.", reasons.join("; ")),
        )
        .evidence(json!({ "reasons": reasons, "rules": cfg.perm_rules }))
        .remedy(
            "Keep an allow rule for ports 1024-65535 only, deny each camera explicitly before it, and end the list \
             with the shipped 'Default deny' rule (deny 0-65535 0.0.0.0/0 0-65535).",
        ),
    );
}

/// Past this many mappings to one address, the address gets one `upnp.device_mappings` finding
/// that counts them instead of one `upnp.mapping` each: any LAN device can ask miniupnpd for
/// every port, and 65,535 findings would cost a small router its memory (issue 14) and tell the
/// owner nothing more than the count does.
pub const MAPPINGS_SHOWN_PER_DEVICE: usize = 16;

/// Across the router, at most this many mappings get a `upnp.mapping` finding each; the
/// addresses past it are counted like one past [`MAPPINGS_SHOWN_PER_DEVICE`]. Without it a LAN
/// of many devices, each under the per-device bound, cost a finding per mapping: 200 devices
/// with 16 each made 3,200 findings, 11 MB resident in the daemon on the router's libc.
pub const MAPPINGS_SHOWN: usize = 256;

/// How many of an aggregated device's mappings its finding lists.
const MAPPINGS_SAMPLED: usize = 16;

/// The mappings of one address past [`MAPPINGS_SHOWN_PER_DEVICE`], counted.
struct Aggregate {
    int_addr: IpAddr,
    count: usize,
    live: usize,
    expired: usize,
    severity: Severity,
    camera: bool,
    /// One of each known service: a few at most, however many mappings.
    services: SortedSet<&'static str>,
    sample: Vec<MappingSample>,
}

fn check_mappings(ctx: &Facts, out: &mut Vec<Finding>) {
    // Two passes over the join rather than holding every mapping: counted first, then judged.
    let mut per_addr: std::collections::HashMap<IpAddr, usize> = std::collections::HashMap::new();
    // Unpaired: which accept rule is a mapping's matters to a revoke, not to a finding.
    for m in mappings_unpaired(ctx.snap) {
        *per_addr.entry(m.int_addr).or_default() += 1;
    }
    let listed = listed_one_by_one(ctx, &per_addr);
    let mut aggregates: Vec<Aggregate> = Vec::new();
    let mut aggregate_of: std::collections::HashMap<IpAddr, usize> =
        std::collections::HashMap::new();
    let policy = ctx.snap.policy_file.as_ref().and(ctx.policy.ok());
    for m in mappings_unpaired(ctx.snap) {
        // A forged line is its own finding (check_forged_leases), whatever it maps.
        if m.lease.is_some_and(|l| l.is_forged()) {
            continue;
        }
        let device = ctx.inventory.by_ip(m.int_addr);
        if !listed.contains(&m.int_addr) {
            let camera = device.is_some_and(|d| d.classification.class.is_camera_like());
            let sensitive = ports::known_on(m.proto, m.int_port)
                .or_else(|| ports::known_on(m.proto, m.ext_port));
            let severity = if m.expired && !m.live {
                Severity::Low
            } else if camera || sensitive.is_some() {
                Severity::High
            } else {
                Severity::Medium
            };
            let at = match aggregate_of.get(&m.int_addr) {
                Some(&at) => at,
                None => {
                    aggregate_of.insert(m.int_addr, aggregates.len());
                    aggregates.push(Aggregate {
                        int_addr: m.int_addr,
                        count: 0,
                        live: 0,
                        expired: 0,
                        severity,
                        camera,
                        services: Default::default(),
                        sample: Vec::new(),
                    });
                    aggregates.len() - 1
                }
            };
            let a = &mut aggregates[at];
            a.count += 1;
            a.live += usize::from(m.live);
            a.expired += usize::from(m.expired);
            a.severity = a.severity.max(severity);
            if let Some(k) = sensitive {
                a.services.insert(k.name);
            }
            if a.sample.len() < MAPPINGS_SAMPLED {
                a.sample.push(MappingSample {
                    proto: m.proto,
                    ext_port: m.ext_port,
                    int_port: m.int_port,
                    live: m.live,
                });
            }
            continue;
        }
        let camera = device.filter(|d| d.classification.class.is_camera_like());
        let sensitive =
            ports::known_on(m.proto, m.int_port).or_else(|| ports::known_on(m.proto, m.ext_port));
        let severity = if m.expired && !m.live {
            Severity::Low
        } else if camera.is_some() || sensitive.is_some() {
            Severity::High
        } else {
            Severity::Medium
        };
        let who = device.map_or_else(|| m.int_addr.to_string(), |d| d.describe().to_owned());
        let title = match (camera, sensitive) {
            (Some(d), _) => format!(
                "{} opened port {}/{} to the internet through UPnP",
                capitalised(&with_article(d.classification.class.label())),
                m.ext_port,
                m.proto.as_str()
            ),
            (None, Some(k)) => format!(
                "UPnP opened {} (port {}/{}) to the internet",
                k.name,
                m.ext_port,
                m.proto.as_str()
            ),
            (None, None) => format!(
                "UPnP opened port {}/{} to the internet",
                m.ext_port,
                m.proto.as_str()
            ),
        };
        let description = m.lease.map(|l| l.description.as_str());
        let expiry = m.lease.map(|l| expiry_words(l.expires, ctx.snap.taken_at));
        let mut detail = if m.every_port {
            format!(
                "Anyone on the internet can reach {who} on every {} port.",
                m.proto.as_str()
            )
        } else {
            format!(
                "Anyone on the internet can reach {who} on port {} through external port {}.",
                m.int_port, m.ext_port
            )
        };
        if m.expired && !m.live {
            detail = format!(
                "miniupnpd's lease file still lists external port {} to {who} port {}, but the lease has run out: \
                 miniupnpd will not re-create it, and it forwards nothing now.",
                m.ext_port, m.int_port
            );
        } else if !m.live {
            detail = format!(
                "miniupnpd's lease file maps external port {} to {who} port {}. It is not in the live firewall now, \
                 but miniupnpd re-creates it when it restarts; a line no device asked for can be forged through a \
                 UPnP description.",
                m.ext_port, m.int_port
            );
        }
        if let Some(d) = description.filter(|d| !d.is_empty()) {
            detail.push_str(&format!(" The device described the mapping as \"{d}\"."));
        }
        if let Some(e) = &expiry {
            detail.push_str(&format!(" The mapping {e}."));
        }
        if sensitive.is_some_and(|k| k.kind == PortKind::Camera) {
            detail.push_str(" This is a camera video or control port.");
        }
        let verdict = policy.map(|p| {
            match p.mapping_violation(device.and_then(|d| d.mac), camera.is_some()) {
                Some(why) => PolicyVerdict {
                    allowed: false,
                    why: format!("against your camguard policy: {why}"),
                },
                None => PolicyVerdict {
                    allowed: true,
                    why: format!("kept by your camguard policy (upnp '{}')", p.upnp.as_str()),
                },
            }
        });
        if let Some(v) = &verdict {
            detail.push_str(&format!(" It is {}.", v.why));
        }
        let remedy = if camera.is_some() {
            format!(
                "{} Then keep the camera from opening ports again: camguard's upnp 'restricted' denies cameras (or \
                 'off'). To see it away from home, use its vendor's app or a VPN instead.",
                remedy::revoke(m.proto, m.ext_port)
            )
        } else {
            format!(
                "If you do not recognise this mapping: {}",
                remedy::revoke(m.proto, m.ext_port)
            )
        };
        let mut f = finding(
            "upnp.mapping",
            severity,
            Subject::Mapping {
                proto: m.proto,
                ext_port: m.ext_port,
                int_addr: m.int_addr,
                int_port: m.int_port,
            },
            title,
            detail,
        )
        .typed_evidence(Evidence::Mapping(MappingEvidence {
            proto: m.proto,
            ext_port: m.ext_port,
            int_addr: m.int_addr,
            int_port: m.int_port,
            description: description.map(str::to_owned),
            expires: m.lease.map(|l| l.expires),
            seen_in: m.source,
            live: m.live,
            expired: m.expired,
            service: sensitive.map(|k| k.name),
            device: device.map(|d| DeviceRef(d.clone())),
        }))
        .remedy(remedy);
        f.policy = verdict;
        out.push(f);
    }
    out.extend(aggregates.into_iter().map(|a| device_mappings(ctx, a)));
}

/// The addresses whose mappings get a finding each: at most [`MAPPINGS_SHOWN_PER_DEVICE`] of
/// their own and [`MAPPINGS_SHOWN`] in all, cameras first, then by address (the same router
/// always lists the same ones).
fn listed_one_by_one(
    ctx: &Facts,
    per_addr: &std::collections::HashMap<IpAddr, usize>,
) -> std::collections::HashSet<IpAddr> {
    let mut candidates: Vec<(bool, IpAddr, usize)> = per_addr
        .iter()
        .filter(|(_, &count)| count <= MAPPINGS_SHOWN_PER_DEVICE)
        .map(|(&addr, &count)| {
            let camera = ctx
                .inventory
                .by_ip(addr)
                .is_some_and(|d| d.classification.class.is_camera_like());
            (!camera, addr, count)
        })
        .collect();
    candidates.sort_unstable();
    let mut room = MAPPINGS_SHOWN;
    let mut listed = std::collections::HashSet::new();
    for (_, addr, count) in candidates {
        if count <= room {
            room -= count;
            listed.insert(addr);
        }
    }
    listed
}

/// One finding for an address whose mappings are counted, not listed: more than
/// [`MAPPINGS_SHOWN_PER_DEVICE`] of them, or past [`MAPPINGS_SHOWN`] on the router.
fn device_mappings(ctx: &Facts, a: Aggregate) -> Finding {
    let device = ctx.inventory.by_ip(a.int_addr);
    let who = device.map_or_else(|| a.int_addr.to_string(), |d| d.describe().to_owned());
    let mappings = if a.count == 1 { "mapping" } else { "mappings" };
    let why_counted = if a.count > MAPPINGS_SHOWN_PER_DEVICE {
        "So many mappings are the mark of a misbehaving or compromised device; camguard counts them here \
         rather than listing each."
            .to_owned()
    } else {
        format!(
            "The router holds more UPnP mappings than camguard lists one by one ({MAPPINGS_SHOWN}), so this \
             device's are counted here; the UPnP mappings list shows each."
        )
    };
    let mut detail = format!(
        "{who} holds {} UPnP {mappings} ({} live in the firewall now{}): anyone on the internet can reach it on \
         each of those ports. {why_counted}",
        a.count,
        a.live,
        if a.expired > 0 { format!(", {} expired", a.expired) } else { String::new() }
    );
    if !a.services.is_empty() {
        let names: Vec<&str> = a.services.iter().copied().collect();
        detail.push_str(&format!(" Among them: {}.", names.join(", ")));
    }
    finding(
        "upnp.device_mappings",
        a.severity,
        Subject::Device {
            ip: Some(a.int_addr),
            mac: device.and_then(|d| d.mac),
        },
        format!("{} holds {} UPnP {mappings} to the internet", capitalised(&who), a.count),
        detail,
    )
    .typed_evidence(Evidence::DeviceMappings(DeviceMappingsEvidence {
        int_addr: a.int_addr,
        mappings: a.count,
        live: a.live,
        expired: a.expired,
        camera: a.camera,
        services: a.services,
        sample: a.sample,
        device: device.map(|d| DeviceRef(d.clone())),
    }))
    .remedy(format!(
        "Find out why this device opens so many ports and disconnect it if you do not trust it; then switch UPnP \
         off or deny the device in miniupnpd's permission rules (camguard's upnp 'restricted' with the device \
         set to upnp_deny). Restarting miniupnpd (in LuCI, {}) drops the mappings of a device that is gone.",
        remedy::LUCI_UPNP
    ))
}

/// A lease line no UPnP client could have made miniupnpd write (formats::leases says how) is
/// someone writing to the file, through an injected description or by hand: miniupnpd replays it
/// at its next start as the port it reads, not the one written (70000 opens 4464). One finding
/// per line, naming that port; high while miniupnpd will open it or it is live.
fn check_forged_leases(ctx: &Facts, out: &mut Vec<Finding>) {
    let snap = ctx.snap;
    let fw4 = snap.nft.as_ref().is_some_and(is_fw4);
    // The lease lines a live rule was matched to, by address: looked up once per forged line.
    // Sorted once, then binary-searched per forged line.
    let live: SortedSet<*const crate::formats::leases::Lease> =
        if snap.upnp.leases.iter().any(|l| l.is_forged()) {
            mappings_iter(snap)
                .filter(|m| m.live)
                .filter_map(|m| m.lease.map(std::ptr::from_ref))
                .collect()
        } else {
            Default::default()
        };
    let (path, _) = snap.upnp_lease_paths();
    for l in snap.upnp.leases.iter().filter(|l| l.is_forged()) {
        // Only the ruleset says what is live; without it a lease counts as live only for the
        // ordinary mappings. A forged line still in the file has usually not been replayed yet:
        // miniupnpd unlinks the file on start and writes the ports back as it read them.
        let is_live = fw4 && live.contains(&std::ptr::from_ref(l));
        let device = ctx.inventory.by_ip(IpAddr::V4(l.int_addr));
        let who = device.map_or_else(|| l.int_addr.to_string(), |d| d.describe().to_owned());
        let proto = l.proto.as_str();
        let outcome = replay(snap, l);
        let (severity, what_happens) = match (is_live, outcome) {
            (true, _) => (
                Severity::High,
                format!("miniupnpd has already opened it: port {}/{proto} is forwarded to {who} port {} now.", l.ext_port, l.int_port),
            ),
            (false, Replay::Opens) => (
                Severity::High,
                format!("When miniupnpd next starts it opens port {}/{proto} to {who} port {}.", l.ext_port, l.int_port),
            ),
            (false, Replay::Denied(r)) => (
                Severity::Medium,
                format!(
                    "miniupnpd's permission rule {:?} refuses it, so it would not open port {}/{proto} at its next start.",
                    r.comment, l.ext_port
                ),
            ),
            (false, Replay::Expired) => (
                Severity::Medium,
                format!("Its expiry has passed, so miniupnpd skips it at its next start (it would have opened port {}/{proto}).", l.ext_port),
            ),
            (false, Replay::NotRunning) => (
                Severity::Medium,
                format!("miniupnpd is off, so nothing replays it now; switched on, it would open port {}/{proto} to {who} port {}.", l.ext_port, l.int_port),
            ),
        };
        let reasons: Vec<String> = l.forged.iter().map(ToString::to_string).collect();
        let described = if l.description.is_empty() {
            String::new()
        } else {
            format!(" Its description reads \"{}\".", l.description)
        };
        let detail = format!(
            "Line {} of {path} is not one miniupnpd writes for a UPnP or NAT-PMP request: {}. Someone wrote it \
             into the file — through a UPnP description carrying a line break, or with access to the router. {what_happens}{described}",
            l.line,
            reasons.join("; "),
        );
        out.push(
            finding(
                "upnp.forged_lease",
                severity,
                Subject::Mapping {
                    proto: l.proto,
                    ext_port: l.ext_port,
                    int_addr: IpAddr::V4(l.int_addr),
                    int_port: l.int_port,
                },
                format!("Forged UPnP lease on line {} opens port {}/{proto}", l.line, l.ext_port),
                detail,
            )
            .evidence(json!({
                "file": path,
                "line": l.line,
                "proto": l.proto,
                "ext_port": l.ext_port,
                "int_addr": l.int_addr,
                "int_port": l.int_port,
                "expires": l.expires,
                "description": l.description,
                "live": is_live,
                "replayed": matches!(outcome, Replay::Opens),
                "forged": l.forged,
                "reasons": reasons,
                "device": device.map(|d| DeviceRef(d.clone())),
            }))
            .remedy(format!(
                "{} That also deletes line {} from {path}. Then find out who wrote it: check the \
                 device's UPnP activity and the router's logins, and update miniupnpd (2.3.11 strips line breaks \
                 from descriptions).",
                remedy::revoke(l.proto, l.ext_port),
                l.line
            )),
        );
    }
}

/// A running miniupnpd whose mappings lost their rules: any firewall reload (LuCI's Save &
/// Apply, `fw4 reload`, an interface coming up) empties its chains, so what it granted stops
/// working while it believes it is open.
fn check_rules_lost(ctx: &Facts, out: &mut Vec<Finding>) {
    let lost = lost_mappings(ctx.snap);
    if lost.is_empty() {
        return;
    }
    let listed: Vec<String> = lost
        .iter()
        .take(5)
        .map(|m| {
            format!(
                "{}/{} to {}:{}",
                m.ext_port,
                m.proto.as_str(),
                m.int_addr,
                m.int_port
            )
        })
        .collect();
    out.push(
        finding(
            "upnp.rules_lost",
            Severity::Medium,
            Subject::Service { name: "miniupnpd".into() },
            format!("{} UPnP mapping(s) lost their firewall rules", lost.len()),
            format!(
                "miniupnpd still holds {} mapping(s) in its lease file ({}{}), but the firewall has no \
                 rules for them: a firewall reload rebuilds the firewall with miniupnpd's chains \
                 empty and does not tell miniupnpd. Games, calls or remote access that asked for \
                 these ports cannot be reached until miniupnpd re-creates them.",
                lost.len(),
                listed.join(", "),
                if lost.len() > listed.len() { ", …" } else { "" }
            ),
        )
        .evidence(json!({
            "lost": lost.len(),
            "mappings": lost.iter().take(MAPPINGS_SAMPLED).map(|m| json!({"proto": m.proto, "ext_port": m.ext_port, "int_addr": m.int_addr, "int_port": m.int_port})).collect::<Vec<_>>(),
        }))
        .remedy(
            "Restart miniupnpd (`/etc/init.d/miniupnpd restart` over SSH): it re-creates every mapping of its lease \
             file. camguard re-adds their rules itself, as miniupnpd writes them, after its own firewall changes and \
             on every audit with enforcement on.",
        ),
    );
}

/// miniupnpd never removes its rules on exit and a reload that disables it skips the flush
/// (pitfall 1), so UPnP DNATs can outlive the daemon.
fn check_rules_without_daemon(ctx: &Facts, out: &mut Vec<Finding>) {
    let snap = ctx.snap;
    let Some(ruleset) = snap.nft.as_ref().filter(|r| is_fw4(r)) else {
        return;
    };
    let svc = snap.upnp.service;
    let disabled = snap
        .upnp
        .config
        .as_ref()
        .is_none_or(|c| !c.enabled || !c.serves_anything());
    let down = disabled
        || svc.enabled == Some(false)
        || svc.running == Some(false)
        || svc.installed == Some(false);
    if !down || svc.running == Some(true) {
        return;
    }
    let rules = ruleset.upnp_rule_count();
    if rules == 0 {
        return;
    }
    let (mut sample, mut total) = (Vec::new(), 0);
    for m in mappings_iter(snap) {
        total += 1;
        if sample.len() < MAPPINGS_SAMPLED {
            sample.push(json!({"proto": m.proto, "ext_port": m.ext_port, "int_addr": m.int_addr, "int_port": m.int_port, "handle": m.handle}));
        }
    }
    out.push(
        finding(
            "upnp.rules_without_daemon",
            Severity::High,
            Subject::Service { name: "miniupnpd".into() },
            format!("{rules} UPnP firewall rule(s) are live although miniupnpd is off"),
            "miniupnpd was disabled or stopped without flushing its firewall chains, so the ports it opened are \
             still open and nothing will ever close them."
                .into(),
        )
        .evidence(json!({
            "rules": rules,
            "chains": ["upnp_prerouting", "upnp_forward", "upnp_postrouting"],
            // The first few: a device may have opened every port.
            "mappings": sample,
            "mappings_total": total,
        }))
        .remedy(
            "Run `/etc/init.d/miniupnpd stop` over SSH (its stop flushes the upnp chains), or let camguard do it with \
             upnp 'off' in Services → Camguard → Settings; a firewall reload (`/etc/init.d/firewall reload`) also \
             empties them.",
        ),
    );
}

fn check_pinholes(ctx: &Facts, out: &mut Vec<Finding>) {
    let pinholes = &ctx.snap.upnp.pinholes;
    for p in pinholes {
        let device = ctx.inventory.by_ip(IpAddr::V6(p.int_client));
        let who = device.map_or_else(|| p.int_client.to_string(), |d| d.describe().to_owned());
        out.push(
            finding(
                "upnp.ipv6_pinhole",
                Severity::Medium,
                Subject::Pinhole { proto: p.proto, int_client: IpAddr::V6(p.int_client), int_port: p.int_port },
                format!("An IPv6 pinhole lets the internet reach port {}/{}", p.int_port, p.proto.as_str()),
                format!("{who} opened port {} for IPv6 traffic from the internet through UPnP IGDv2/PCP.", p.int_port),
            )
            .evidence(json!({
                "proto": p.proto,
                "int_client": p.int_client,
                "int_port": p.int_port,
                "remote_client": p.remote_client,
                "description": p.description,
                "device": device.map(|d| DeviceRef(d.clone())),
            }))
            .remedy(format!(
                "miniupnpd has no IPv6 access rules, so stop it opening IPv6 pinholes: in LuCI, {}, Advanced \
                 Settings, tick Disable IPv6 mapping; or `uci set upnpd.config.ipv6_disable='1'; uci commit upnpd; \
                 /etc/init.d/miniupnpd restart`. Or switch UPnP off altogether.",
                remedy::LUCI_UPNP
            )),
        );
    }
}
