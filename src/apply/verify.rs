//! The checks after applying: did what camguard applied take effect.
use serde::Serialize;

use super::nft::LiveMapping;
use super::Executor;
use crate::encode::json;
use crate::formats::leases::parse_leases;
use crate::formats::nft::Ruleset;
use crate::json::Value;
use crate::plan::{Action, Step};
use crate::ports::Protocol;

/// One verification after applying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

impl Executor<'_> {
    /// Checks that what was applied took effect. `upnp_before`: miniupnpd's live mappings
    /// before the first revoke, when nft could be read.
    pub(super) fn verify(
        &mut self,
        actions: &[Action],
        applied: &[usize],
        upnp_before: Option<&[LiveMapping]>,
        now: u64,
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        let stopped_miniupnpd = applied.iter().any(|&i| {
            matches!(&actions[i].step,
                Step::Service { name, action } if name == "miniupnpd" && action == "stop")
        });
        if stopped_miniupnpd {
            checks.push(self.check_miniupnpd_stopped());
            if self.nft {
                checks.extend(check_upnp_chains_empty());
            }
        }
        let restored_upnp = applied.iter().any(|&i| {
            actions[i]
                .finding
                .as_ref()
                .is_some_and(|f| f.id == "upnp.rules_lost")
        });
        if restored_upnp && self.nft {
            checks.push(self.check_leases_have_rules(now));
        }
        let revoked: Vec<&Step> = applied
            .iter()
            .map(|&i| &actions[i].step)
            .filter(|s| matches!(s, Step::RevokeMapping { .. }))
            .collect();
        if revoked.is_empty() {
            return checks;
        }
        // One read of the ruleset serves every revoke's check and the neighbours'.
        let live = if self.nft { live_ruleset() } else { None };
        for step in &revoked {
            if let Step::RevokeMapping {
                proto,
                ext_port,
                int_addr,
                int_port,
                nft_handles,
                ..
            } = step
            {
                let lines = self.lease_lines_matching(*proto, *ext_port, *int_addr, *int_port);
                checks.push(check_revoked(
                    *proto,
                    *ext_port,
                    &lines,
                    nft_handles,
                    live.as_ref(),
                ));
                if live.is_some() {
                    checks.extend(super::flows::check_mapping_flows_cut(
                        *proto, *ext_port, *int_addr, *int_port,
                    ));
                }
            }
        }
        if let (Some(before), Some(live)) = (upnp_before, &live) {
            checks.push(check_neighbours_intact(before, &revoked, live));
        }
        checks
    }

    /// After a restart that restores mappings a firewall reload emptied: every unexpired lease
    /// has its DNAT and accept rule again. miniupnpd replays its lease file at start-up (in
    /// quadratic time), so this waits for it, up to 10 s.
    fn check_leases_have_rules(&self, now: u64) -> Check {
        let wanted: Vec<(Protocol, u16, std::net::IpAddr, u16)> =
            parse_leases(self.read_router_file(&self.lease_file).as_bytes())
                .entries
                .iter()
                .filter(|l| l.expires == 0 || l.expires > now)
                .map(|l| {
                    (
                        l.proto,
                        l.ext_port,
                        std::net::IpAddr::V4(l.int_addr),
                        l.int_port,
                    )
                })
                .collect();
        let started = std::time::Instant::now();
        let mut missing = wanted.len();
        while started.elapsed() < std::time::Duration::from_secs(10) {
            let live = super::nft::live_mappings().unwrap_or_default();
            missing = wanted
                .iter()
                .filter(|k| !live.iter().any(|(l, accept)| l == *k && *accept))
                .count();
            if missing == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Check {
            check: "UPnP mappings restored".into(),
            ok: missing == 0,
            detail: if missing == 0 {
                format!(
                    "all {} mappings of the lease file have their rules again",
                    wanted.len()
                )
            } else {
                format!(
                    "{missing} of {} mappings of the lease file still have no rules",
                    wanted.len()
                )
            },
        }
    }

    /// procd runs no miniupnpd instance.
    fn check_miniupnpd_stopped(&mut self) -> Check {
        let running = self
            .bus
            .call("service", "list", &json!({ "name": "miniupnpd" }))
            .ok()
            .and_then(|l| {
                l.get("miniupnpd")
                    .and_then(|s| s.get("instances"))
                    .and_then(Value::as_object)
                    .map(|i| i.values().any(|x| x["running"].as_bool() == Some(true)))
            });
        Check {
            check: "miniupnpd stopped".into(),
            ok: running != Some(true),
            detail: match running {
                Some(true) => "procd still reports a running instance".into(),
                Some(false) => "no running instance".into(),
                None => "procd did not say".into(),
            },
        }
    }
}

/// fw4's upnp chains hold no rule (stop_service flushes them); None when they cannot be read.
fn check_upnp_chains_empty() -> Option<Check> {
    let live = crate::source::live::read_upnp_chains()?
        .rules
        .iter()
        .filter(|x| x.table == "fw4" && x.chain.starts_with("upnp_"))
        .count();
    Some(Check {
        check: "UPnP chains empty".into(),
        ok: live == 0,
        detail: match live {
            0 => "upnp_prerouting, upnp_forward and upnp_postrouting are empty".into(),
            n => format!("{n} rules are still live in the upnp chains"),
        },
    })
}

/// miniupnpd's chains of the live fw4 ruleset, all a revoke's checks look at; None when they
/// cannot be read.
fn live_ruleset() -> Option<Ruleset> {
    crate::source::live::read_upnp_chains()
}

/// A revoked mapping's lease `lines` are gone and, where the ruleset could be read, its rules
/// too (handles are unique, so an identical neighbour rule does not count).
fn check_revoked(
    proto: Protocol,
    ext_port: u16,
    lines: &[String],
    nft_handles: &[(String, u64)],
    live: Option<&Ruleset>,
) -> Check {
    let mut detail = if lines.is_empty() {
        "lease line removed".to_owned()
    } else {
        "lease line still present".to_owned()
    };
    let mut ok = lines.is_empty();
    if let Some(live) = live.filter(|_| !nft_handles.is_empty()) {
        let still = live.rules.iter().any(|r| {
            nft_handles
                .iter()
                .any(|(c, h)| *c == r.chain && *h == r.handle)
        });
        ok &= !still;
        detail.push_str(if still {
            "; nft rules still live"
        } else {
            "; its nft rules are gone"
        });
    }
    Check {
        check: format!("mapping {}/{ext_port} revoked", proto.as_str()),
        ok,
        detail,
    }
}

/// Every mapping that was live before and was not revoked still has its DNAT, and its accept
/// rule when it had one: a revoke must not take a neighbour's identical rule with it.
fn check_neighbours_intact(before: &[LiveMapping], revoked: &[&Step], live: &Ruleset) -> Check {
    let is_revoked = |(proto, ext, ..): &(Protocol, u16, std::net::IpAddr, u16)| {
        revoked.iter().any(|s| {
            matches!(s, Step::RevokeMapping { proto: p, ext_port: e, .. } if p == proto && e == ext)
        })
    };
    let after: Vec<LiveMapping> = super::nft::live_mappings_of(live);
    let mut broken = Vec::new();
    let mut kept = 0;
    for (key, had_accept) in before.iter().filter(|(k, _)| !is_revoked(k)) {
        kept += 1;
        let now = after.iter().find(|(k, _)| k == key);
        let intact = now.is_some_and(|(_, has_accept)| *has_accept || !had_accept);
        if !intact {
            let (proto, ext, addr, port) = key;
            let what = if now.is_none() { "DNAT" } else { "accept rule" };
            broken.push(format!(
                "{}/{ext} to {addr}:{port} lost its {what}",
                proto.as_str()
            ));
        }
    }
    Check {
        check: "other UPnP mappings intact".into(),
        ok: broken.is_empty(),
        detail: if broken.is_empty() {
            format!("{kept} other mappings keep their DNAT and accept rule")
        } else {
            broken.join("; ")
        },
    }
}
