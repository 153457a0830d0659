//! The checks after applying: did what camguard applied take effect.
use serde::Serialize;
use serde_json::{json, Value};

use super::Executor;
use crate::plan::{Action, Step};

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
        let did = |pred: &dyn Fn(&Step) -> bool| applied.iter().any(|&i| pred(&actions[i].step));
        if did(
            &|s| matches!(s, Step::Service { name, action } if name == "miniupnpd" && action == "stop"),
        ) {
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
            checks.push(Check {
                check: "miniupnpd stopped".into(),
                ok: running != Some(true),
                detail: match running {
                    Some(true) => "procd still reports a running instance".into(),
                    Some(false) => "no running instance".into(),
                    None => "procd did not say".into(),
                },
            });
            if self.nft {
                if let Ok(Some(json)) = crate::source::live::run_nft() {
                    let live = crate::formats::nft::parse_ruleset(&json).map(|r| {
                        r.rules
                            .iter()
                            .filter(|x| x.table == "fw4" && x.chain.starts_with("upnp_"))
                            .count()
                    });
                    checks.push(Check {
                        check: "UPnP chains empty".into(),
                        ok: live == Ok(0),
                        detail: match live {
                            Ok(0) => "upnp_prerouting, upnp_forward and upnp_postrouting are empty"
                                .into(),
                            Ok(n) => format!("{n} rules are still live in the upnp chains"),
                            Err(e) => e.to_string(),
                        },
                    });
                }
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
                let mut detail = if lines.is_empty() {
                    "lease line removed".to_owned()
                } else {
                    "lease line still present".to_owned()
                };
                let mut ok = lines.is_empty();
                if self.nft && !nft_handles.is_empty() {
                    if let Ok(Some(json)) = crate::source::live::run_nft() {
                        let still: Vec<u64> = crate::formats::nft::parse_ruleset(&json)
                            .map(|r| {
                                r.rules
                                    .iter()
                                    .map(|x| x.handle)
                                    .filter(|h| nft_handles.iter().any(|(_, n)| n == h))
                                    .collect()
                            })
                            .unwrap_or_default();
                        ok &= still.is_empty();
                        detail.push_str(if still.is_empty() {
                            "; its nft rules are gone"
                        } else {
                            "; nft rules still live"
                        });
                    }
                }
                checks.push(Check {
                    check: format!("mapping {}/{ext_port} revoked", proto.as_str()),
                    ok,
                    detail,
                });
            }
        }
        checks
    }
}
