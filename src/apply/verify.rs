//! The checks after applying: did what camguard applied take effect.
use serde::Serialize;
use serde_json::{json, Value};

use super::Executor;
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
    /// Checks that what was applied took effect.
    pub(super) fn verify(&mut self, actions: &[Action], applied: &[usize]) -> Vec<Check> {
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
        for &i in applied {
            if let Step::RevokeMapping {
                proto,
                ext_port,
                int_addr,
                int_port,
                nft_handles,
            } = &actions[i].step
            {
                let lines = self.lease_lines_matching(*proto, *ext_port, *int_addr, *int_port);
                checks.push(self.check_revoked(*proto, *ext_port, &lines, nft_handles));
            }
        }
        checks
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

    /// A revoked mapping's lease `lines` are gone and, where nft is used, its rules too.
    fn check_revoked(
        &self,
        proto: Protocol,
        ext_port: u16,
        lines: &[String],
        nft_handles: &[(String, u64)],
    ) -> Check {
        let mut detail = if lines.is_empty() {
            "lease line removed".to_owned()
        } else {
            "lease line still present".to_owned()
        };
        let mut ok = lines.is_empty();
        if self.nft && !nft_handles.is_empty() {
            if let Some(still) = live_handles_among(nft_handles) {
                ok &= still.is_empty();
                detail.push_str(if still.is_empty() {
                    "; its nft rules are gone"
                } else {
                    "; nft rules still live"
                });
            }
        }
        Check {
            check: format!("mapping {}/{ext_port} revoked", proto.as_str()),
            ok,
            detail,
        }
    }
}

/// fw4's upnp chains hold no rule (stop_service flushes them); None when nft cannot be read.
fn check_upnp_chains_empty() -> Option<Check> {
    let Ok(Some(json)) = crate::source::live::run_nft() else {
        return None;
    };
    let live = crate::formats::nft::parse_ruleset(&json).map(|r| {
        r.rules
            .iter()
            .filter(|x| x.table == "fw4" && x.chain.starts_with("upnp_"))
            .count()
    });
    Some(Check {
        check: "UPnP chains empty".into(),
        ok: live == Ok(0),
        detail: match live {
            Ok(0) => "upnp_prerouting, upnp_forward and upnp_postrouting are empty".into(),
            Ok(n) => format!("{n} rules are still live in the upnp chains"),
            Err(e) => e.to_string(),
        },
    })
}

/// Which of `handles` are still in the live ruleset; None when nft cannot be read.
fn live_handles_among(handles: &[(String, u64)]) -> Option<Vec<u64>> {
    let Ok(Some(json)) = crate::source::live::run_nft() else {
        return None;
    };
    Some(
        crate::formats::nft::parse_ruleset(&json)
            .map(|r| {
                r.rules
                    .iter()
                    .map(|x| x.handle)
                    .filter(|h| handles.iter().any(|(_, n)| n == h))
                    .collect()
            })
            .unwrap_or_default(),
    )
}
