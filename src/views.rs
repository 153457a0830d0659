//! The read-only ubus replies besides `status`: devices, mappings and forwards, shaped as
//! docs/ubus-api.md says. Pure functions of an audit context, like the checks; rows borrow from
//! it and are encoded straight to blobmsg, so a router with 5,000 mappings answers in
//! milliseconds.
use std::net::IpAddr;

use serde::Serialize;

use crate::audit::{DeviceRef, Subject};
use crate::facts::forwards::forwards_every_port;
use crate::facts::mappings::{mappings_unpaired, Mapping};
use crate::facts::Facts;
use crate::lan::Device;
use crate::ports::Protocol;
use crate::snapshot::firewall::NatTarget;
use crate::snapshot::policy::{Access, Policy};
use crate::snapshot::values::PortRange;

fn policy_of(ctx: &Facts) -> Policy {
    ctx.policy.cloned().unwrap_or_default()
}

/// The owner's `config device` section for a device, as the devices reply shows it.
#[derive(Debug, Serialize)]
pub struct DevicePolicyView {
    pub section: Option<String>,
    pub class: Option<crate::lan::DeviceClass>,
    pub internet: Access,
    pub upnp: &'static str,
}

#[derive(Debug, Serialize)]
pub struct DeviceRow<'a> {
    #[serde(flatten)]
    pub device: &'a Device,
    /// Model and firmware from the device's discovery reply, with the protocol and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<&'a crate::lan::DeviceInfo>,
    pub policy: DevicePolicyView,
}

/// Every LAN device with its class, the reasons, and the owner's section. Rows are made as
/// they are taken, so a reply builds only its page.
pub fn devices<'a>(ctx: &'a Facts) -> impl ExactSizeIterator<Item = DeviceRow<'a>> + 'a {
    let policy = policy_of(ctx);
    ctx.inventory.devices.iter().map(move |d| {
        let own = d.mac.and_then(|m| policy.device(m));
        DeviceRow {
            device: d,
            info: crate::audit::devices::info_of(ctx, d),
            policy: DevicePolicyView {
                section: own.map(|p| p.section.clone()),
                class: own.and_then(|p| p.class),
                internet: own.and_then(|p| p.internet).unwrap_or(Access::Allow),
                upnp: if own.is_some_and(|p| p.upnp_deny) {
                    "deny"
                } else {
                    "allow"
                },
            },
        }
    })
}

#[derive(Debug, Serialize)]
pub struct MappingRow<'a> {
    pub subject: Subject,
    pub proto: Protocol,
    pub ext_port: u16,
    pub every_port: bool,
    pub int_addr: IpAddr,
    pub int_port: u16,
    pub description: Option<&'a str>,
    pub expires: Option<u64>,
    pub seen_in: &'static str,
    pub live: bool,
    pub expired: bool,
    pub handle: Option<u64>,
    pub device: Option<DeviceRef>,
    pub violates: bool,
    pub why: Option<&'static str>,
}

/// One page of the live (and dormant) UPnP mappings, at most `limit` from the `offset`th, with
/// the device and the policy's verdict. One join of rules and lease lines, up to the page's last
/// row: only the page's rows are made, so a page holds its rows, never the router's every
/// mapping (the daemon counts them once per audit).
pub fn mappings_page<'a>(ctx: &'a Facts, offset: usize, limit: usize) -> Vec<MappingRow<'a>> {
    let policy = policy_of(ctx);
    mappings_unpaired(ctx.snap)
        .skip(offset)
        .take(limit)
        .map(|m| mapping_row(ctx, &policy, m))
        .collect()
}

fn mapping_row<'a>(ctx: &Facts, policy: &Policy, m: Mapping<'a>) -> MappingRow<'a> {
    let device = ctx.inventory.by_ip(m.int_addr);
    let camera = device.is_some_and(|d| d.classification.class.is_camera_like());
    let why = policy.mapping_violation(device.and_then(|d| d.mac), camera);
    MappingRow {
        subject: Subject::Mapping {
            proto: m.proto,
            ext_port: m.ext_port,
            int_addr: m.int_addr,
            int_port: m.int_port,
        },
        proto: m.proto,
        ext_port: m.ext_port,
        every_port: m.every_port,
        int_addr: m.int_addr,
        int_port: m.int_port,
        description: m.lease.map(|l| l.description.as_str()),
        expires: m.lease.map(|l| l.expires),
        seen_in: m.source,
        live: m.live,
        expired: m.expired,
        handle: m.handle,
        device: device.map(|d| DeviceRef(d.clone())),
        violates: why.is_some(),
        why,
    }
}

#[derive(Debug, Serialize)]
pub struct ForwardRow<'a> {
    pub subject: Subject,
    pub section: &'a str,
    pub name: Option<&'a str>,
    pub enabled: bool,
    pub invalid: Option<&'a str>,
    pub protocols: &'a [String],
    pub src_dport: Option<PortRange>,
    pub dest_ip: Option<&'a str>,
    pub dest_port: Option<PortRange>,
    pub every_port: bool,
    pub device: Option<DeviceRef>,
    pub allowed: bool,
    pub why: Option<&'static str>,
}

/// Every DNAT redirect from a WAN zone, disabled ones too, with the device it reaches and
/// whether the policy allows it.
pub fn forwards<'a>(ctx: &'a Facts) -> Vec<ForwardRow<'a>> {
    let policy = policy_of(ctx);
    let Some(fw) = &ctx.snap.firewall else {
        return Vec::new();
    };
    fw.redirects
        .iter()
        .filter(|r| {
            r.target == NatTarget::Dnat && r.src.as_deref().is_some_and(|z| ctx.is_wan_zone(z))
        })
        .map(|r| {
            let device = r.dest_ip.as_deref().and_then(|ip| ctx.device_at(ip));
            let camera = device.is_some_and(|d| d.classification.class.is_camera_like());
            let why = r
                .in_effect()
                .then(|| {
                    policy
                        .forward_undecided(r, &fw.redirects)
                        .or_else(|| policy.forward_violation(r, camera))
                })
                .flatten();
            ForwardRow {
                subject: Subject::Section {
                    config: "firewall".into(),
                    section: r.section.clone(),
                    label: r.label().to_owned(),
                },
                section: &r.section,
                name: r.name.as_deref(),
                enabled: r.in_effect(),
                invalid: r.invalid.as_deref(),
                protocols: &r.protocols,
                src_dport: r.src_dport,
                dest_ip: r.dest_ip.as_deref(),
                dest_port: r.internal_ports(),
                every_port: forwards_every_port(r),
                device: device.map(|d| DeviceRef(d.clone())),
                allowed: why.is_none(),
                why,
            }
        })
        .collect()
}
