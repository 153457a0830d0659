//! Cameras on the LAN: which devices are camera-like, and whether they can reach the internet.

use super::{
    capitalised, finding, with_article, DeviceEvidence, DeviceRef, Evidence, Facts, Finding,
    Severity, Subject,
};
use std::sync::Arc;

use crate::encode::json;
use crate::facts::firmware::known_exploited;
use crate::facts::remote::{remote_viewing, RemoteViewing};
use crate::lan::{Confidence, Device, DeviceInfo};
use crate::snapshot::firewall::{Firewall, ZonePolicy};
use crate::snapshot::policy::Access;
use crate::snapshot::values::fw4_enum;

pub fn check(ctx: &Facts, out: &mut Vec<Finding>) {
    for d in ctx.inventory.cameras() {
        out.push(detected(ctx, d));
        out.extend(internet(ctx, d));
        out.extend(firmware_vulnerable(ctx, d));
    }
    if let Some(table) = &ctx.snap.lan.conntrack {
        for r in remote_viewing(ctx.inventory, table) {
            out.push(remote(&r));
        }
    }
    // The opt-in default-password check runs in the daemon's background worker; the audit
    // reports what its state file remembers, without touching the network.
    if let Some(state) = &ctx.snap.lan.credentials {
        out.extend(super::credentials::remembered_findings(
            ctx.inventory,
            state,
        ));
    }
}

fn subject(d: &Device) -> Subject {
    Subject::Device {
        ip: d.ips.first().copied(),
        mac: d.mac,
    }
}

fn detected(ctx: &Facts, d: &Arc<Device>) -> Finding {
    let c = &d.classification;
    let checking = ctx.policy.as_ref().ok().is_some_and(|p| p.credential_check);
    let password_check = checking
        .then(|| crate::facts::classify::login_refusal(c))
        .flatten()
        .map(|why| format!("the default-password check does not try it: {why}"));
    finding(
        "camera.detected",
        Severity::Info,
        subject(d),
        format!("{} detected: {}", capitalised(c.class.label()), d.display_name()),
        format!(
            "{} is classified as {} ({} confidence): {}.",
            d.describe(),
            with_article(c.class.label()),
            confidence_word(c.confidence),
            c.reasons.join("; ")
        ),
    )
    .typed_evidence(Evidence::Device(DeviceEvidence {
        device: DeviceRef(d.clone()),
        policy_blocks: None,
        password_check,
    }))
    .remedy(format!(
        "Make sure it has its own strong password and automatic firmware updates (in its app or web page). {}If \
         camguard got the class wrong, set the right one in Services → Camguard → Devices (a `config device` \
         section with `option class` in /etc/config/camguard).",
        if info_of(ctx, d).is_some_and(|i| i.firmware.is_some()) {
            ""
        } else {
            "camguard could not learn its firmware version: check it there against the maker's security \
             advisories. "
        }
    ))
}

/// What the device said about itself in a discovery reply, from the latest probe report of
/// one of its addresses.
pub fn info_of<'a>(ctx: &Facts<'a>, d: &Device) -> Option<&'a DeviceInfo> {
    ctx.snap
        .lan
        .probes
        .iter()
        .filter(|p| d.ips.contains(&p.ip))
        .filter_map(|p| p.info.as_ref())
        .max_by_key(|i| i.at)
}

/// NCSC step 2: a camera whose firmware has vulnerabilities on CISA's Known Exploited
/// Vulnerabilities catalog ([`crate::facts::kev`]).
fn firmware_vulnerable(ctx: &Facts, d: &Arc<Device>) -> Option<Finding> {
    let info = info_of(ctx, d)?;
    // SADP is Hikvision's own protocol: its reply names the maker whatever the OUI says.
    // ONVIF and UPnP name the maker themselves ("HIKVISION"); else the OUI's vendor.
    let vendor = match info.protocol.as_str() {
        "SADP" => "Hikvision",
        "Dahua discovery" => "Dahua",
        _ => info
            .manufacturer
            .as_deref()
            .or(d.classification.vendor.as_deref())?,
    };
    let rows = known_exploited(vendor, info);
    let first = rows.first()?;
    let label = d.classification.class.label();
    let firmware = info.firmware.as_deref().unwrap_or_default();
    let model = info.model.as_deref().unwrap_or_default();
    let cves: Vec<&str> = rows.iter().map(|r| r.cve).collect();
    let what: Vec<String> = rows
        .iter()
        .map(|r| format!("{}: an attacker {}; fixed in {}", r.cve, r.gets, r.fixed))
        .collect();
    let unconfirmed = if rows.iter().any(|r| !r.note.is_empty()) {
        " Part of this match rests on advisory details camguard could not confirm (see the evidence's notes); \
         the maker's advisory for the model decides."
    } else {
        ""
    };
    Some(
        finding(
            "camera.firmware_vulnerable",
            Severity::Critical,
            subject(d),
            format!(
                "The {label} {} runs firmware with exploited vulnerabilities ({})",
                d.display_name(),
                cves.join(", ")
            ),
            format!(
                "{} is a {model} with firmware {firmware} (from its {} reply, {}). Attackers are \
                 exploiting this firmware's vulnerabilities (CISA's Known Exploited Vulnerabilities \
                 catalog): {}.{unconfirmed}",
                d.describe(),
                info.protocol,
                crate::time::datetime(info.at),
                what.join("; ")
            ),
        )
        .evidence(json!({
            "device": DeviceRef(d.clone()),
            "model": model,
            "firmware": firmware,
            "protocol": info.protocol,
            "at": info.at,
            "vulnerabilities": rows.iter().map(|r| json!({
                "cve": r.cve, "kev_added": r.kev_added, "gets": r.gets, "fixed": r.fixed,
                "advisory": r.advisory, "note": r.note,
            })).collect::<Vec<_>>(),
        }))
        .remedy(format!(
            "Update the {label}'s firmware (fixed in {}) through the maker's app or the {label}'s web page \
             (or the maker's download site for the model). Until then, block its internet (the fix below) and \
             keep it off UPnP and port forwards: these flaws are attacked from the internet.",
            first.fixed
        )),
    )
}

fn confidence_word(c: Confidence) -> &'static str {
    match c {
        Confidence::Low => "low",
        Confidence::Medium => "medium",
        Confidence::High => "high",
    }
}

/// NCSC step 3: a camera that does not need remote viewing should not reach the internet. The LAN
/// reaches the WAN through a `forwarding` (or an ACCEPT default), unless a REJECT/DROP rule for
/// the device's MAC or address covers all its traffic.
fn internet(ctx: &Facts, d: &Arc<Device>) -> Option<Finding> {
    let fw = ctx.snap.firewall.as_ref()?;
    if !lan_reaches_wan(ctx, fw) || blocked(ctx, fw, d) {
        return None;
    }
    let policy_blocks = ctx.policy.as_ref().ok().is_some_and(|p| {
        p.camera_internet == Access::Block
            || d.mac.and_then(|m| p.device(m)).and_then(|dp| dp.internet) == Some(Access::Block)
    });
    let mut detail = format!(
        "{} can connect to the internet. Most cameras only need that for remote viewing and cloud features; \
         without it, a compromised camera cannot send video or join a botnet.",
        d.describe()
    );
    if policy_blocks {
        detail
            .push_str(" Your camguard policy blocks it, but enforcement has not applied that yet.");
    }
    Some(
        finding(
            "camera.internet",
            Severity::Low,
            subject(d),
            format!("The {} {} can reach the internet", d.classification.class.label(), d.display_name()),
            detail,
        )
        .typed_evidence(Evidence::Device(DeviceEvidence { device: DeviceRef(d.clone()), policy_blocks: Some(policy_blocks), password_check: None }))
        .remedy(
            "If you do not view this camera away from home, block its internet access: in Services → Camguard → \
             Devices (or camera_internet 'block' in Settings for every camera), then let camguard apply it. Keep it \
             if you rely on the vendor's app.",
        ),
    )
}

fn lan_reaches_wan(ctx: &Facts, fw: &Firewall) -> bool {
    fw.defaults.forward == ZonePolicy::Accept
        || fw
            .forwardings
            .iter()
            .any(|f| f.enabled && !ctx.is_wan_zone(&f.src) && ctx.is_wan_zone(&f.dest))
}

fn blocked(ctx: &Facts, fw: &Firewall, d: &Device) -> bool {
    fw.rules.iter().filter(|r| r.in_effect()).any(|r| {
        let towards_wan = r
            .dest
            .as_deref()
            .is_some_and(|z| z == "*" || ctx.is_wan_zone(z));
        let from_lan = r
            .src
            .as_deref()
            .is_some_and(|z| z == "*" || !ctx.is_wan_zone(z));
        let denies = matches!(
            fw4_enum(&r.target, &["accept", "reject", "drop"]),
            Some("reject" | "drop")
        );
        let all_traffic = r.dest_port.is_empty()
            && r.dest_ip.is_empty()
            && (r.protocols.iter().any(|p| p == "all")
                || (r.protocols.contains(&"tcp".into()) && r.protocols.contains(&"udp".into())));
        let this_device = r.src_mac.iter().any(|m| m.parse().ok() == d.mac)
            || r.src_ip
                .iter()
                .any(|ip| d.ips.iter().any(|a| a.to_string() == *ip));
        towards_wan && from_lan && denies && all_traffic && this_device
    })
}

/// NCSC step 3, seen in the router's connection tracking: the camera keeps a connection to its
/// vendor's cloud or P2P relay, which is how the vendor's app reaches it from outside.
fn remote(r: &RemoteViewing) -> Finding {
    let d = r.device;
    let label = d.classification.class.label();
    let first = r.flows.first();
    let reached = first.map_or(String::new(), |f| {
        format!(" ({} port {} at {})", f.proto, f.dport, f.dst)
    });
    let age = r.flows.iter().filter_map(|f| f.age).max();
    let up = match age {
        Some(secs) => format!(" It has been up for {}.", duration(secs)),
        None => " How long it has been up is unknown: the kernel dates connections only with \
                  net.netfilter.nf_conntrack_timestamp=1."
            .to_owned(),
    };
    let unconfirmed = if r.relay.confirmed {
        ""
    } else {
        " (camguard knows this service's port from a third party's list, not the vendor's: it \
         may be another service on the same port.)"
    };
    finding(
        "camera.remote_viewing",
        Severity::Medium,
        subject(d),
        format!(
            "The {label} {} has remote viewing switched on ({})",
            d.display_name(),
            r.relay.service
        ),
        format!(
            "{} keeps a connection to {}{reached}, the service {} use for viewing from outside \
             the home.{up} This is how the vendor's app reaches the {label} from anywhere; the \
             same path has let attackers in when the service or the firmware had a flaw.{unconfirmed}",
            d.describe(),
            r.relay.service,
            r.relay.used_by,
        ),
    )
    .evidence(json!({
        "device": DeviceRef(d.clone()),
        "service": r.relay.service,
        "used_by": r.relay.used_by,
        "source": r.relay.source,
        "confirmed": r.relay.confirmed,
        "connections": r.flows,
        "count": r.count,
        "age": age,
    }))
    .remedy(format!(
        "If you don't watch this {label} away from home, block its internet: Services → Camguard → \
         Devices, its internet 'block' (the fix below), or turn off P2P / remote access in its app. \
         Cloud recording and push alerts stop with it. If you use remote viewing, keep the {label}'s \
         firmware updated and its password strong."
    ))
}

/// "2 h 5 min", "3 days 4 h": how long a connection has been up.
fn duration(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, h) => format!("{h} h {minutes} min"),
        (1, h) => format!("1 day {h} h"),
        (d, h) => format!("{d} days {h} h"),
    }
}
