//! The read-only ubus replies besides `status`: devices, mappings and forwards, shaped as
//! docs/ubus-api.md says. Pure functions of an audit context, like the checks.
use serde_json::{json, Value};

use crate::audit::upnp::mappings as router_mappings;
use crate::audit::{forwards::forwards_every_port, Context, DeviceRef, Subject};
use crate::policy::{Access, Policy};
use crate::snapshot::firewall::NatTarget;

fn policy_of(ctx: &Context) -> Policy {
    ctx.policy.clone().unwrap_or_default()
}

/// `{ "devices": [ … ] }`: every LAN device with its class, the reasons, and the owner's section.
pub fn devices(ctx: &Context) -> Value {
    let policy = policy_of(ctx);
    let devices: Vec<Value> = ctx
        .inventory
        .devices
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(&**d).unwrap_or_default();
            let own = d.mac.and_then(|m| policy.device(m));
            v["policy"] = json!({
                "section": own.map(|p| &p.section),
                "class": own.and_then(|p| p.class),
                "internet": own.and_then(|p| p.internet).unwrap_or(Access::Allow),
                "upnp": if own.is_some_and(|p| p.upnp_deny) { "deny" } else { "allow" },
            });
            v
        })
        .collect();
    json!({ "devices": devices })
}

/// `{ "mappings": [ … ] }`: live (and dormant) UPnP mappings with the device and the verdict.
pub fn mappings(ctx: &Context) -> Value {
    let policy = policy_of(ctx);
    let mappings: Vec<Value> = router_mappings(ctx.snap)
        .iter()
        .map(|m| {
            let device = ctx.inventory.by_ip(m.int_addr);
            let camera = device.is_some_and(|d| d.classification.class.is_camera_like());
            let why = policy.mapping_violation(device.and_then(|d| d.mac), camera);
            json!({
                "subject": Subject::Mapping { proto: m.proto, ext_port: m.ext_port, int_addr: m.int_addr, int_port: m.int_port },
                "proto": m.proto,
                "ext_port": m.ext_port,
                "every_port": m.every_port,
                "int_addr": m.int_addr,
                "int_port": m.int_port,
                "description": m.lease.map(|l| &l.description),
                "expires": m.lease.map(|l| l.expires),
                "seen_in": m.source,
                "live": m.live,
                "handle": m.handle,
                "device": device.map(|d| DeviceRef(d.clone())),
                "violates": why.is_some(),
                "why": why,
            })
        })
        .collect();
    json!({ "mappings": mappings })
}

/// `{ "forwards": [ … ] }`: every DNAT redirect from a WAN zone, disabled ones too, with the
/// device it reaches and whether the policy allows it.
pub fn forwards(ctx: &Context) -> Value {
    let policy = policy_of(ctx);
    let Some(fw) = &ctx.snap.firewall else {
        return json!({ "forwards": [] });
    };
    let forwards: Vec<Value> = fw
        .redirects
        .iter()
        .filter(|r| {
            r.target == NatTarget::Dnat && r.src.as_deref().is_some_and(|z| ctx.is_wan_zone(z))
        })
        .map(|r| {
            let device = r.dest_ip.as_deref().and_then(|ip| ctx.device_at(ip));
            let camera = device.is_some_and(|d| d.classification.class.is_camera_like());
            let why = r
                .in_effect()
                .then(|| policy.forward_violation(&r.section, r.name.as_deref(), camera))
                .flatten();
            json!({
                "subject": Subject::Section { config: "firewall".into(), section: r.section.clone(), label: r.label().to_owned() },
                "section": r.section,
                "name": r.name,
                "enabled": r.in_effect(),
                "invalid": r.invalid,
                "protocols": r.protocols,
                "src_dport": r.src_dport,
                "dest_ip": r.dest_ip,
                "dest_port": r.internal_ports(),
                "every_port": forwards_every_port(r),
                "device": device.map(|d| DeviceRef(d.clone())),
                "allowed": why.is_none(),
                "why": why,
            })
        })
        .collect();
    json!({ "forwards": forwards })
}
