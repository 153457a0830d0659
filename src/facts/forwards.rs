//! Every path in from the internet that the firewall config opens, judged the way firewall4
//! renders it: port forwards (DNAT redirects from a WAN zone) and traffic rules that accept
//! WAN traffic to the LAN — which is how OpenWrt opens a port to an IPv6 device, since IPv6 has
//! no NAT. What each path reaches (every port, a camera, a sensitive port, a wide range) decides
//! its finding; the audit words it and the planner names the same finding in its fixes.
use std::net::IpAddr;
use std::sync::Arc;

use super::Facts;
use crate::lan::Device;
use crate::ports::{self, KnownPort, PortKind, Protocol};
use crate::snapshot::firewall::{NatTarget, Redirect, Rule};
use crate::snapshot::values::{fw4_enum, PortRange};

/// More ports than this in one path is a wide opening, whatever services it holds.
pub const WIDE_RANGE: u32 = 100;

/// A DNAT from a WAN zone that fw4 renders: what the internet can reach.
pub fn is_wan_forward(ctx: &Facts, r: &Redirect) -> bool {
    r.in_effect()
        && r.target == NatTarget::Dnat
        && r.src.as_deref().is_some_and(|z| ctx.is_wan_zone(z))
}

/// A range this wide (`1-65535`, `1024-65535`) holds every service a host may run: as open as
/// no port match at all.
pub const ALMOST_EVERY_PORT: u32 = 60_000;

/// No `src_dport` (or a negated one) on a port-carrying protocol forwards every port: an
/// exposed host, OpenWrt's "DMZ" (openwrt-facts §3.4). So does a range of almost all ports.
pub fn forwards_every_port(r: &Redirect) -> bool {
    r.carries_ports()
        && r.src_dport
            .is_none_or(|p| p.negated || width(std::iter::once(p)) >= ALMOST_EVERY_PORT)
}

/// A traffic rule that accepts traffic from a WAN zone (or any zone) to a LAN zone on a
/// protocol with ports: a port opened to the internet without NAT, IPv6's port forward.
/// ICMP, ESP and the like carry no ports and reach no service, so they are not paths here.
pub fn is_wan_inbound_rule(ctx: &Facts, r: &Rule) -> bool {
    let from_wan = r
        .src
        .as_deref()
        .is_some_and(|z| z == "*" || ctx.is_wan_zone(z));
    let to_lan = r
        .dest
        .as_deref()
        .is_some_and(|z| z == "*" || !ctx.is_wan_zone(z));
    r.in_effect()
        && from_wan
        && to_lan
        && fw4_enum(&r.target, &["accept", "reject", "drop"]) == Some("accept")
        && !r.transports().is_empty()
        && !is_ipsec_passthrough(r)
        && !is_multicast_only(r)
}

/// IPTV and other multicast streams are let in with a rule to 224.0.0.0/4 (or ff00::/8): a
/// group address, not a host, so no LAN service becomes reachable through it.
fn is_multicast_only(r: &Rule) -> bool {
    !r.dest_ip.is_empty()
        && r.dest_ip.iter().all(|text| {
            let addr = text.split_once('/').map_or(text.as_str(), |(a, _)| a);
            addr.parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_multicast())
        })
}

/// OpenWrt ships `Allow-ISAKMP` (udp 500 from wan to lan) beside `Allow-IPSec-ESP` so that IPsec
/// VPN clients on the LAN work through NAT: IKE on UDP 500 and 4500, to no particular host. It
/// reaches a LAN device only if that device runs an IKE responder, and every stock router has it,
/// so it is not reported as an opening; a rule that names a host or other ports is.
fn is_ipsec_passthrough(r: &Rule) -> bool {
    r.dest_ip.is_empty()
        && r.transports() == [Protocol::Udp]
        && !r.dest_port.is_empty()
        && r.dest_port
            .iter()
            .all(|p| !p.negated && [500, 4500].contains(&p.lo) && p.lo == p.hi)
}

/// Camera and admin ports the forward reaches on its protocols (internal side, where the
/// service listens; and the external side, where scanners look).
pub fn sensitive_ports(r: &Redirect) -> Vec<&'static KnownPort> {
    if forwards_every_port(r) {
        return Vec::new();
    }
    let protos = r.transports();
    sensitive_in(
        &protos,
        [r.internal_ports(), r.src_dport].into_iter().flatten(),
    )
}

/// Camera and admin ports a rule opens on its protocols.
pub fn rule_sensitive_ports(r: &Rule) -> Vec<&'static KnownPort> {
    let protos = r.transports();
    if r.dest_port.is_empty() {
        return Vec::new();
    }
    sensitive_in(&protos, r.dest_port.iter().copied())
}

fn sensitive_in(
    protos: &[Protocol],
    ranges: impl Iterator<Item = PortRange>,
) -> Vec<&'static KnownPort> {
    let mut found: Vec<&KnownPort> = Vec::new();
    for range in ranges {
        for (lo, hi) in range.effective() {
            for k in ports::sensitive_in_range(protos, lo, hi) {
                if !found.iter().any(|f| f.port == k.port) {
                    found.push(k);
                }
            }
        }
    }
    found.sort_by_key(|k| (k.kind != PortKind::Camera, k.port));
    found
}

/// How many ports the ranges open.
pub fn width(ranges: impl Iterator<Item = PortRange>) -> u32 {
    ranges
        .flat_map(|r| r.effective())
        .map(|(lo, hi)| u32::from(hi) - u32::from(lo) + 1)
        .sum()
}

/// What one path in reaches, worst first: it decides the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every port of a host (a redirect without `src_dport`, a rule without `dest_port`).
    EveryPort,
    /// A camera, doorbell, baby monitor or NVR/DVR.
    Camera,
    /// A camera or admin port on one of the path's protocols.
    SensitivePort,
    /// More than [`WIDE_RANGE`] ports.
    WideRange,
    /// Some ports of an ordinary device.
    Ports,
}

impl Reach {
    /// The finding id: stable API (design.md §3), the same for redirects and rules.
    pub fn finding_id(self) -> &'static str {
        match self {
            Reach::EveryPort => "forward.dmz",
            Reach::Camera => "forward.to_camera",
            Reach::SensitivePort => "forward.sensitive_port",
            Reach::WideRange | Reach::Ports => "forward.active",
        }
    }
}

/// What a redirect reaches.
pub fn redirect_reach(ctx: &Facts, r: &Redirect) -> Reach {
    let device = r.dest_ip.as_deref().and_then(|ip| ctx.device_at(ip));
    let ranges = [r.src_dport].into_iter().flatten();
    reach(
        forwards_every_port(r),
        device,
        &sensitive_ports(r),
        width(ranges),
    )
}

/// The finding that reports a WAN forward, for the planner to attach its fix to: a redirect to
/// the router itself (no internal address, or one of the router's own) that reaches its admin
/// services is `router.admin_from_wan`.
pub fn redirect_finding_id(ctx: &Facts, r: &Redirect) -> &'static str {
    if ctx.redirects_to_router(r) && !ctx.router_admin_ports_reached(r).is_empty() {
        "router.admin_from_wan"
    } else {
        redirect_reach(ctx, r).finding_id()
    }
}

/// What a rule reaches, given the devices it reaches.
pub fn rule_reach(r: &Rule, devices: &[Arc<Device>]) -> Reach {
    let camera = devices
        .iter()
        .find(|d| d.classification.class.is_camera_like());
    let width = width(r.dest_port.iter().copied());
    reach(
        r.dest_port.is_empty() || width >= ALMOST_EVERY_PORT,
        camera,
        &rule_sensitive_ports(r),
        width,
    )
}

fn reach(
    every_port: bool,
    device: Option<&Arc<Device>>,
    sensitive: &[&KnownPort],
    width: u32,
) -> Reach {
    if every_port {
        Reach::EveryPort
    } else if device.is_some_and(|d| d.classification.class.is_camera_like()) {
        Reach::Camera
    } else if !sensitive.is_empty() {
        Reach::SensitivePort
    } else if width > WIDE_RANGE {
        Reach::WideRange
    } else {
        Reach::Ports
    }
}

/// The devices a rule's `dest_ip` list names: exact addresses (IPv4 or IPv6) and every device
/// inside a prefix. An empty list means every host of the destination zone.
pub fn rule_devices<'a>(ctx: &Facts<'a>, r: &Rule) -> Vec<Arc<Device>> {
    let mut out: Vec<Arc<Device>> = Vec::new();
    for text in &r.dest_ip {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()),
            None => (text.as_str(), None),
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            continue;
        };
        let matching: Vec<&Arc<Device>> = match len {
            None => ctx.device_by_ip(addr).into_iter().collect(),
            Some(len) => ctx
                .inventory
                .devices
                .iter()
                .filter(|d| d.ips.iter().any(|ip| in_prefix(*ip, addr, len)))
                .collect(),
        };
        for d in matching {
            if !out.iter().any(|o| Arc::ptr_eq(o, d)) {
                out.push(d.clone());
            }
        }
    }
    out
}

fn in_prefix(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}
