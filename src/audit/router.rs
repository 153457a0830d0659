//! The router itself: WAN zone policies, admin services reachable from the internet, firmware
//! support and the root password.

use super::{eol, finding, remedy, Facts, Finding, Severity, Subject};
use crate::encode::json;
use crate::facts::forwards::forwards_every_port;
use crate::snapshot::firewall::{Redirect, ZonePolicy};
use crate::snapshot::values::fw4_enum;
use crate::snapshot::RootPassword;

pub fn check(ctx: &Facts, out: &mut Vec<Finding>) {
    out.extend(zone_policies(ctx));
    out.extend(admin_rules(ctx));
    out.extend(firmware(ctx));
    out.extend(root_password(ctx));
}

fn zone_policies(ctx: &Facts) -> Vec<Finding> {
    let Some(fw) = &ctx.snap.firewall else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for z in fw.zones.iter().filter(|z| ctx.is_wan_zone(&z.name)) {
        let subject = || Subject::Section {
            config: "firewall".into(),
            section: z.section.clone(),
            label: z.name.clone(),
        };
        if z.input == ZonePolicy::Accept {
            out.push(
                finding(
                    "router.wan_input_accept",
                    Severity::Critical,
                    subject(),
                    format!("The router accepts every connection from the internet (zone {})", z.name),
                    format!(
                        "Zone \"{}\" faces the internet and its input policy is ACCEPT: every service on the router, \
                         including SSH and the web interface, is reachable from anywhere.",
                        z.name
                    ),
                )
                .evidence(json!({ "zone": z.name, "input": z.input }))
                .remedy(format!(
                    "Set the zone's input to reject: in LuCI, Network → Firewall → General Settings, zone {0}, Input \
                     'reject', Save & Apply; or `uci set firewall.{1}.input='REJECT'; uci commit firewall; \
                     /etc/init.d/firewall reload`.",
                    z.name, z.section
                )),
            );
        }
        if z.forward == ZonePolicy::Accept {
            out.push(
                finding(
                    "router.wan_forward_accept",
                    Severity::Critical,
                    subject(),
                    format!("The router forwards traffic from the internet freely (zone {})", z.name),
                    format!(
                        "Zone \"{}\" faces the internet and its forward policy is ACCEPT: routed traffic from outside is \
                         let through towards your devices.",
                        z.name
                    ),
                )
                .evidence(json!({ "zone": z.name, "forward": z.forward }))
                .remedy(format!(
                    "Set the zone's forward to reject: in LuCI, Network → Firewall → General Settings, zone {0}, \
                     Forward 'reject', Save & Apply; or `uci set firewall.{1}.forward='REJECT'; uci commit firewall; \
                     /etc/init.d/firewall reload`.",
                    z.name, z.section
                )),
            );
        }
    }
    out
}

/// Ports of the router's own admin services: dropbear's and uhttpd's, else 22/80/443.
fn admin_rules(ctx: &Facts) -> Vec<Finding> {
    let Some(fw) = &ctx.snap.firewall else {
        return Vec::new();
    };
    let admin = ctx.router_admin_ports();
    let mut out = Vec::new();
    for r in fw
        .rules
        .iter()
        .filter(|r| r.in_effect() && r.dest.is_none())
    {
        let from_wan = r
            .src
            .as_deref()
            .is_some_and(|z| z == "*" || ctx.is_wan_zone(z));
        let accepts = fw4_enum(
            &r.target,
            &[
                "accept", "reject", "drop", "notrack", "helper", "mark", "dscp",
            ],
        ) == Some("accept");
        if !from_wan || !accepts || !r.matches_tcp() {
            continue;
        }
        let opened: Vec<_> = admin.iter().filter(|(p, _)| r.matches_port(*p)).collect();
        if opened.is_empty() {
            continue;
        }
        let all_ports = r.dest_port.is_empty();
        let what = if all_ports {
            "every port of the router".to_owned()
        } else {
            opened
                .iter()
                .map(|(p, n)| format!("{n} on port {p}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let limited = !r.src_ip.is_empty();
        let mut detail = format!(
            "Firewall rule \"{}\" accepts connections from the internet to {what}.",
            r.label()
        );
        if limited {
            detail.push_str(&format!(
                " It is limited to {}, which narrows but does not remove the exposure.",
                r.src_ip.join(", ")
            ));
        }
        out.push(
            finding(
                "router.admin_from_wan",
                if limited { Severity::Medium } else { Severity::High },
                Subject::Section { config: "firewall".into(), section: r.section.clone(), label: r.label().to_owned() },
                format!("The router's {} can be reached from the internet", if all_ports { "services" } else { opened[0].1 }),
                detail,
            )
            .evidence(json!({
                "rule": r.section,
                "name": r.name,
                "src": r.src,
                "src_ip": r.src_ip,
                "dest_port": r.dest_port,
                "ports": opened.iter().map(|(p, n)| json!({"port": p, "service": n})).collect::<Vec<_>>(),
            }))
            .remedy({
                let ssh = opened.iter().any(|(_, n)| n.starts_with("SSH"));
                let keys = if ssh {
                    " If you must keep SSH open, allow keys only: System → Administration → SSH Access, untick \
                     Password authentication (`uci set dropbear.@dropbear[0].PasswordAuth='off'; uci commit \
                     dropbear; /etc/init.d/dropbear restart`)."
                } else {
                    " The web interface should never face the internet, with or without a password."
                };
                format!(
                    "Reach the router through a VPN (WireGuard) instead. {}{keys}",
                    remedy::disable_rule(r)
                )
            }),
        );
    }
    out
}

/// A DNAT without `dest_ip` redirects to the router itself (openwrt-facts §3.4); so does one to
/// the router's own LAN address.
pub fn redirect_to_router(ctx: &Facts, r: &Redirect) -> Option<Finding> {
    let every = forwards_every_port(r);
    let internal = r.internal_ports();
    let opened = ctx.router_admin_ports_reached(r);
    if opened.is_empty() {
        return None;
    }
    let what: Vec<_> = opened
        .iter()
        .map(|(p, n)| format!("{n} on port {p}"))
        .collect();
    Some(
        finding(
            "router.admin_from_wan",
            if every { Severity::Critical } else { Severity::High },
            Subject::Section { config: "firewall".into(), section: r.section.clone(), label: r.label().to_owned() },
            "A port forward exposes the router's own admin services".into(),
            format!(
                "Redirect \"{}\" {}: {} can be reached from the internet.",
                r.label(),
                match &r.dest_ip {
                    Some(ip) => format!("goes to {ip}, the router's own address"),
                    None => "has no internal address, so firewall4 redirects it to the router itself".to_owned(),
                },
                what.join(", ")
            ),
        )
        .evidence(json!({ "redirect": r.section, "name": r.name, "src_dport": r.src_dport, "dest_port": internal }))
        .remedy(format!("Reach the router through a VPN instead. {}", remedy::disable_redirect(r))),
    )
}

fn firmware(ctx: &Facts) -> Option<Finding> {
    let release = ctx.snap.system.release.as_ref()?;
    let (major, minor) = release.branch()?;
    if eol::support_unknown(major, minor, ctx.snap.taken_at) {
        return Some(
            finding(
                "router.firmware_support_unknown",
                Severity::Low,
                Subject::Router,
                format!("camguard cannot tell whether OpenWrt {} still gets security updates", release.version),
                format!(
                    "camguard's table of OpenWrt support dates ends on {} and knows no branch as new as {major}.{minor:02}; \
                     so long after that date, a newer release may have ended its support without camguard knowing.",
                    eol::TABLE_DATE
                ),
            )
            .evidence(json!({
                "version": release.version,
                "branch": format!("{major}.{minor:02}"),
                "table_date": eol::TABLE_DATE,
                "sources": eol::SOURCES,
            }))
            .remedy("Check the branch's status on https://openwrt.org/docs/guide-developer/security#support_status, and update camguard to get a newer table."),
        );
    }
    let branch = eol::end_of_life(major, minor, ctx.snap.taken_at)?;
    Some(
        finding(
            "router.firmware_eol",
            Severity::High,
            Subject::Router,
            format!("OpenWrt {} no longer receives security updates", release.version),
            format!(
                "The OpenWrt {major}.{minor:02} branch reached end of life on {} ({}). Vulnerabilities found since \
                 then are not fixed for this router.",
                branch.eol_date, branch.basis
            ),
        )
        .evidence(json!({
            "version": release.version,
            "branch": format!("{major}.{minor:02}"),
            "end_of_life": branch.eol_date,
            "basis": branch.basis,
            "table_date": eol::TABLE_DATE,
            "sources": eol::SOURCES,
        }))
        .remedy("Upgrade to a supported OpenWrt release (attended sysupgrade in LuCI, or the firmware selector at firmware-selector.openwrt.org), keeping your settings."),
    )
}

fn root_password(ctx: &Facts) -> Option<Finding> {
    (ctx.snap.system.root_password? == RootPassword::Empty).then(|| {
        finding(
            "router.root_password_empty",
            Severity::Critical,
            Subject::Router,
            "The router has no root password".into(),
            "Anyone who can reach the router's web interface or SSH can log in as root without a password.".into(),
        )
        .evidence(json!({ "root_password": "empty" }))
        .remedy("Set a password now: System → Administration in LuCI, or `passwd` over SSH. Three random words make a good one.")
    })
}
