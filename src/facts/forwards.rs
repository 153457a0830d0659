//! Port forwards as the internet sees them: which redirects fw4 renders from a WAN zone, which
//! forward every port, and which camera or admin ports they reach.
use super::Facts;
use crate::ports::{self, PortKind};
use crate::snapshot::firewall::{NatTarget, Redirect};
use crate::snapshot::values::PortRange;

/// A DNAT from a WAN zone that fw4 renders: what the internet can reach.
pub fn is_wan_forward(ctx: &Facts, r: &Redirect) -> bool {
    r.in_effect()
        && r.target == NatTarget::Dnat
        && r.src.as_deref().is_some_and(|z| ctx.is_wan_zone(z))
}

/// No `src_dport` (or a negated one) on a port-carrying protocol forwards every port: an
/// exposed host, OpenWrt's "DMZ" (openwrt-facts §3.4).
pub fn forwards_every_port(r: &Redirect) -> bool {
    r.carries_ports() && r.src_dport.is_none_or(|p| p.negated)
}

/// Camera and admin ports the forward reaches (internal side, where the service listens; and
/// the external side, where scanners look).
pub fn sensitive_ports(r: &Redirect) -> Vec<&'static ports::KnownPort> {
    let mut found: Vec<&ports::KnownPort> = Vec::new();
    let mut add = |range: Option<PortRange>| {
        let Some(range) = range else { return };
        for (lo, hi) in range.effective() {
            for k in ports::sensitive_in_range(lo, hi) {
                if !found.iter().any(|f| f.port == k.port) {
                    found.push(k);
                }
            }
        }
    };
    if !forwards_every_port(r) {
        add(r.internal_ports());
        add(r.src_dport);
    }
    found.sort_by_key(|k| (k.kind != PortKind::Camera, k.port));
    found
}
