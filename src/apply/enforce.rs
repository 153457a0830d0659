//! Applying actions: journal first, then each step, committing each config once.
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use super::nft::delete_rule;
use super::rpcd::{rc_init, to_value, uci};
use super::{ApplyError, Check, Entry, Executor, Failure, Journal, State};
use crate::bus::{status, BusError};
use crate::plan::{Action, Step};

/// What `enforce` and `revoke` report (docs/ubus-api.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub journal_id: Option<String>,
    pub actions: Vec<Action>,
    pub applied: usize,
    pub failed: Vec<Failure<Option<Action>>>,
    /// Waiting for a LuCI apply-with-rollback to end; the daemon retries them.
    pub pending: Vec<Action>,
    pub verified: Vec<Check>,
    /// ubus went away mid-way: the journal entry stays `applying` until `recover` rolls it back.
    #[serde(skip)]
    pub interrupted: bool,
}

impl Outcome {
    /// Nothing was applied (a dry run, no executor, ubus unreachable): `failed` says why.
    pub fn unchanged(actions: Vec<Action>, failed: Vec<Failure<Option<Action>>>) -> Outcome {
        Outcome {
            journal_id: None,
            actions,
            applied: 0,
            failed,
            pending: vec![],
            verified: vec![],
            interrupted: false,
        }
    }
}

impl Executor<'_> {
    /// Applies `actions`, journaled first. `dry_run`: only reports what would be done.
    pub fn enforce(
        &mut self,
        actions: Vec<Action>,
        reason: &str,
        now: u64,
        dry_run: bool,
    ) -> Outcome {
        let mut outcome = Outcome::unchanged(actions.clone(), vec![]);
        if dry_run || actions.is_empty() {
            return outcome;
        }
        let configs: BTreeSet<String> = actions
            .iter()
            .filter_map(|a| a.step.config().map(str::to_owned))
            .collect();
        let mut blocked: BTreeMap<String, String> = BTreeMap::new();
        let mut pending_configs: BTreeSet<String> = BTreeSet::new();
        for c in &configs {
            match self.check_committable(c) {
                Ok(()) => {}
                Err(ApplyError::PendingApply { .. }) => {
                    pending_configs.insert(c.clone());
                }
                Err(e) => {
                    blocked.insert(c.clone(), format!("{e}, then enforce again"));
                }
            }
        }
        let skip: BTreeSet<String> = blocked
            .keys()
            .chain(pending_configs.iter())
            .cloned()
            .collect();
        let before = match self.record_before(&actions, &skip) {
            Ok(b) => b,
            Err(e) => {
                outcome
                    .failed
                    .push(Failure::of_run(format!("{e}; nothing was changed")));
                return outcome;
            }
        };
        let journal = Journal::new(&self.root);
        let mut entry = Entry {
            id: journal.new_id(now),
            time: now,
            reason: reason.to_owned(),
            state: State::Applying,
            actions: actions.clone(),
            before,
            applied: vec![],
            failed: vec![],
            pending: vec![],
        };
        if let Err(error) = journal.write(&entry) {
            let e = ApplyError::Journal {
                dir: journal.dir().to_path_buf(),
                error,
            };
            outcome
                .failed
                .push(Failure::of_run(format!("{e}; nothing was changed")));
            return outcome;
        }

        let mut restart_miniupnpd = false;
        let mut dirty: BTreeSet<String> = BTreeSet::new();
        let mut interrupted: Option<BusError> = None;
        for (i, a) in actions.iter().enumerate() {
            if let Some(config) = a.step.config() {
                if let Some(why) = blocked.get(config) {
                    entry.failed.push(Failure {
                        action: i,
                        error: why.clone(),
                    });
                    continue;
                }
                if pending_configs.contains(config) {
                    entry.pending.push(i);
                    continue;
                }
            }
            match self.run(&a.step, &mut restart_miniupnpd) {
                Ok(()) => {
                    entry.applied.push(i);
                    if let Some(c) = a.step.config() {
                        dirty.insert(c.to_owned());
                    }
                }
                Err(ApplyError::Step(e)) if e.interrupts() => {
                    interrupted = Some(e);
                    break;
                }
                Err(e) => entry.failed.push(Failure {
                    action: i,
                    error: e.to_string(),
                }),
            }
            // Commit a config once its last UCI step has run, before anything that depends on it.
            let next_config = actions.get(i + 1).and_then(|n| n.step.config());
            if let Some(c) = a.step.config() {
                if next_config != Some(c) && dirty.remove(c) {
                    match uci(self.bus, "commit", json!({ "config": c })) {
                        Err(e) if e.interrupts() => {
                            interrupted = Some(e);
                            break;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            // The config's steps did not take: an apply-with-rollback started in
                            // between (they stay staged and the commit is retried later, never
                            // forced), or the commit failed.
                            let staged: Vec<usize> = entry
                                .applied
                                .iter()
                                .copied()
                                .filter(|&j| actions[j].step.config() == Some(c))
                                .collect();
                            entry.applied.retain(|j| !staged.contains(j));
                            if e == BusError::Status(status::PERMISSION_DENIED) {
                                entry.pending.extend(staged);
                            } else {
                                for j in staged {
                                    entry.failed.push(Failure {
                                        action: j,
                                        error: ApplyError::bus(
                                            format!("uci commit {c}"),
                                            e.clone(),
                                        )
                                        .to_string(),
                                    });
                                }
                                // Not left staged for anyone else's next `uci commit`: the
                                // config held nothing foreign when the enforcement began.
                                let _ = uci(self.bus, "revert", json!({ "config": c }));
                            }
                        }
                    }
                }
            }
        }
        if let Some(error) = interrupted {
            // The entry stays `applying`: what was staged or changed so far is rolled back by
            // `recover` once ubus answers again, as after a crash.
            let _ = journal.write(&entry);
            crate::log::warn(&format!(
                "enforcement {} interrupted ({error}); it is rolled back once ubus answers again",
                entry.id
            ));
            outcome.journal_id = Some(entry.id.clone());
            outcome.interrupted = true;
            let e = ApplyError::Interrupted {
                id: entry.id.clone(),
                error,
            };
            outcome.failed.push(Failure::of_run(e.to_string()));
            return outcome;
        }
        if restart_miniupnpd {
            // Fallback for a revoke without nft: miniupnpd rebuilds its rules from the edited
            // lease file (slow with many leases: its start-up replay is quadratic).
            if let Err(e) = rc_init(self.bus, "miniupnpd", "restart") {
                entry.failed.push(Failure {
                    action: actions.len(),
                    error: ApplyError::bus("restart miniupnpd".into(), e).to_string(),
                });
            }
        }
        entry.state = if entry.failed.is_empty() && entry.pending.is_empty() {
            State::Applied
        } else {
            State::Partial
        };
        if let Err(e) = journal.write(&entry) {
            crate::log::error(&format!("cannot update journal entry {}: {e}", entry.id));
        }
        outcome.journal_id = Some(entry.id.clone());
        outcome.applied = entry.applied.len();
        outcome.failed = entry
            .failed
            .iter()
            .map(|f| Failure {
                action: actions.get(f.action).cloned(),
                error: f.error.clone(),
            })
            .collect();
        outcome.pending = entry.pending.iter().map(|&i| actions[i].clone()).collect();
        outcome.verified = self.verify(&actions, &entry.applied);
        outcome
    }

    /// Runs one step.
    pub(super) fn run(
        &mut self,
        step: &Step,
        restart_miniupnpd: &mut bool,
    ) -> Result<(), ApplyError> {
        let r = match step {
            Step::UciSet {
                config,
                section,
                option,
                value,
            } => uci(
                self.bus,
                "set",
                json!({ "config": config, "section": section, "values": { option: to_value(value) } }),
            ),
            Step::UciDelete {
                config,
                section,
                option,
            } => {
                let mut args = json!({ "config": config, "section": section });
                if let Some(o) = option {
                    args["option"] = json!(o);
                }
                uci(self.bus, "delete", args)
            }
            Step::UciAdd {
                config,
                r#type,
                name,
                values,
            } => {
                let values: serde_json::Map<String, Value> = values
                    .iter()
                    .map(|(k, v)| (k.clone(), to_value(v)))
                    .collect();
                uci(
                    self.bus,
                    "add",
                    json!({ "config": config, "type": r#type, "name": name, "values": values }),
                )
            }
            Step::UciOrder { config, sections } => uci(
                self.bus,
                "order",
                json!({ "config": config, "sections": sections }),
            ),
            Step::Service { name, action } => rc_init(self.bus, name, action),
            Step::TruncateFile { path } => {
                return self.write_file(path, b"");
            }
            Step::RevokeMapping {
                proto,
                ext_port,
                int_addr,
                int_port,
                nft_handles,
            } => {
                self.remove_lease_lines(*proto, *ext_port, *int_addr, *int_port)?;
                let deleted = self.nft
                    && nft_handles
                        .iter()
                        .all(|(chain, handle)| delete_rule(chain, *handle).is_ok());
                if !deleted && !nft_handles.is_empty() || !self.nft {
                    *restart_miniupnpd = true;
                }
                return Ok(());
            }
        };
        r.map(|_| ()).map_err(ApplyError::Step)
    }
}
