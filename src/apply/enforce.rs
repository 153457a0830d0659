//! Applying actions: journal first, then each step, committing each config once.
use serde::Serialize;

use super::journal::Fingerprint;
use super::nft::{delete_rules, live_mappings};
use super::rpcd;
use super::{ApplyError, Before, Check, Entry, Executor, Failure, Journal, State};
use crate::bus::{status, BusError};
use crate::plan::{Action, Step};
use crate::sorted::{SortedMap, SortedSet};

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

/// The configs that cannot be committed now, found before anything is read or changed.
#[derive(Default)]
struct HeldBack {
    /// Staged changes that are not camguard's, or the check failed: why, per config.
    blocked: SortedMap<String, ApplyError>,
    /// A LuCI apply-with-rollback is pending: their actions wait for the retry.
    pending: SortedSet<String>,
}

impl HeldBack {
    fn configs(&self) -> SortedSet<String> {
        self.blocked.keys().chain(&self.pending).cloned().collect()
    }
}

/// What running the actions leaves to do.
#[derive(Default)]
struct Run {
    /// A revoke could not delete its nft rules itself, or lost rules could not be re-added.
    restart_miniupnpd: bool,
    /// What steps report beyond success: how lost UPnP rules were restored.
    notes: Vec<Check>,
    /// miniupnpd's live mappings before the first revoke: the neighbours verification checks.
    upnp_before: Option<Vec<super::nft::LiveMapping>>,
    /// ubus went away: the run stopped there.
    interrupted: Option<BusError>,
    /// What the last revoke left in the lease file, for the entry's `FileBytes`.
    lease_written: Option<Fingerprint>,
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
        if dry_run || actions.is_empty() {
            return Outcome::unchanged(actions, vec![]);
        }
        let held = self.hold_back(&actions);
        // Everything waits for a LuCI apply: nothing would change, so nothing is journaled
        // (the daemon retries every 10 s; an entry per retry would bury the real ones).
        if actions
            .iter()
            .all(|a| a.step.config().is_some_and(|c| held.pending.contains(c)))
        {
            return Outcome {
                pending: actions.clone(),
                ..Outcome::unchanged(actions, vec![])
            };
        }
        let journal = Journal::new(&self.root);
        let mut entry = match self.journal_first(&journal, &actions, &held, reason, now) {
            Ok(entry) => entry,
            Err(e) => {
                let failure = Failure::of_run(format!("{e}; nothing was changed"));
                return Outcome::unchanged(actions, vec![failure]);
            }
        };
        let run = self.run_actions(&journal, &actions, &held, &mut entry);
        if let Some(error) = run.interrupted {
            return left_for_recovery(&journal, entry, error);
        }
        if run.restart_miniupnpd {
            self.restart_miniupnpd(&mut entry);
        }
        self.finish(&journal, entry, run.upnp_before.as_deref(), run.notes)
    }

    /// Checks each config the actions change; camguard's own leftovers are dropped on the way.
    fn hold_back(&mut self, actions: &[Action]) -> HeldBack {
        let configs: SortedSet<&str> = actions.iter().filter_map(|a| a.step.config()).collect();
        let mut held = HeldBack::default();
        for config in configs {
            match self.check_committable(config) {
                Ok(()) => {}
                Err(ApplyError::PendingApply { .. }) => {
                    held.pending.insert(config.to_owned());
                }
                Err(e) => {
                    held.blocked.insert(config.to_owned(), e);
                }
            }
        }
        held
    }

    /// Records every value about to change and writes the entry, before the first change.
    fn journal_first(
        &mut self,
        journal: &Journal,
        actions: &[Action],
        held: &HeldBack,
        reason: &str,
        now: u64,
    ) -> Result<Entry, ApplyError> {
        let before = self.record_before(actions, &held.configs())?;
        let entry = Entry {
            id: journal.new_id(now),
            time: now,
            reason: reason.to_owned(),
            state: State::Applying,
            actions: actions.to_vec(),
            before,
            applied: vec![],
            failed: vec![],
            pending: vec![],
            continued_in: None,
            notes: vec![],
        };
        journal.write(&entry).map_err(|error| ApplyError::Journal {
            dir: journal.dir().to_path_buf(),
            error,
        })?;
        Ok(entry)
    }

    /// Runs the actions in order, noting each in `entry`, and commits each config once its
    /// last step has run, before anything that depends on it. Stops when ubus goes away.
    fn run_actions(
        &mut self,
        journal: &Journal,
        actions: &[Action],
        held: &HeldBack,
        entry: &mut Entry,
    ) -> Run {
        let mut run = Run::default();
        // The configs changed since their last commit: a few, so a list (a set's removal code
        // is KBs of router flash).
        let mut dirty: Vec<&str> = Vec::new();
        for (i, a) in actions.iter().enumerate() {
            let config = a.step.config();
            if let Some(why) = config.and_then(|c| held.blocked.get(c)) {
                entry.failed.push(Failure {
                    action: i,
                    error: format!("{why}, then enforce again"),
                });
                continue;
            }
            if config.is_some_and(|c| held.pending.contains(c)) {
                entry.pending.push(i);
                continue;
            }
            if matches!(a.step, Step::RevokeMapping { .. }) && self.nft && run.upnp_before.is_none()
            {
                run.upnp_before = self.upnp_before.take().or_else(live_mappings);
            }
            match self.run(&a.step, &mut run) {
                Ok(()) => {
                    entry.applied.push(i);
                    if let Some(c) = config.filter(|c| !dirty.contains(c)) {
                        dirty.push(c);
                    }
                    if let Some(written) = run.lease_written.take() {
                        note_committed(entry, &self.lease_file, written);
                    }
                }
                Err(ApplyError::Step(e)) if e.interrupts() => {
                    run.interrupted = Some(e);
                    break;
                }
                Err(e) => entry.failed.push(Failure {
                    action: i,
                    error: e.to_string(),
                }),
            }
            let next_config = actions.get(i + 1).and_then(|n| n.step.config());
            if let Some(c) = config.filter(|&c| next_config != Some(c) && take(&mut dirty, c)) {
                if let Err(e) = self.commit(c, actions, entry) {
                    run.interrupted = Some(e);
                    break;
                }
                self.note_commit(journal, c, entry);
            }
        }
        run
    }

    /// Records what the config's file holds after camguard's commit, at once: a crash later
    /// still leaves a revert that knows the file is camguard's.
    fn note_commit(&self, journal: &Journal, config: &str, entry: &mut Entry) {
        let path = format!("/etc/config/{config}");
        if let Some(committed) = self.fingerprint(&path) {
            if note_committed(entry, &path, committed) {
                if let Err(e) = journal.write(entry) {
                    log::error!("cannot update journal entry {}: {e}", entry.id);
                }
            }
        }
    }

    /// Commits `config`; Err only when ubus went away. When rpcd refuses, the config's steps
    /// did not take: an apply-with-rollback started in between (they stay staged and wait for
    /// the retry, never forced), or the commit failed.
    fn commit(
        &mut self,
        config: &str,
        actions: &[Action],
        entry: &mut Entry,
    ) -> Result<(), BusError> {
        let refusal = match rpcd::commit(self.bus, config) {
            Ok(_) => return Ok(()),
            Err(e) if e.interrupts() => return Err(e),
            Err(e) => e,
        };
        let staged: Vec<usize> = entry
            .applied
            .iter()
            .copied()
            .filter(|&j| actions[j].step.config() == Some(config))
            .collect();
        entry.applied.retain(|j| !staged.contains(j));
        if matches!(refusal, BusError::Status(status::PERMISSION_DENIED)) {
            entry.pending.extend(staged);
            return Ok(());
        }
        let why = ApplyError::bus(format!("uci commit {config}"), refusal).to_string();
        entry
            .failed
            .extend(staged.into_iter().map(|action| Failure {
                action,
                error: why.clone(),
            }));
        // Not left staged for anyone else's next `uci commit`: the config held nothing foreign
        // when the enforcement began.
        let _ = rpcd::revert(self.bus, config);
        Ok(())
    }

    /// Fallback for a revoke without nft: miniupnpd rebuilds its rules from the edited lease
    /// file (slow with many leases: its start-up replay is quadratic).
    fn restart_miniupnpd(&mut self, entry: &mut Entry) {
        if let Err(e) = rpcd::rc_init_checked(self.bus, "miniupnpd", "restart") {
            entry.failed.push(Failure {
                action: entry.actions.len(),
                error: format!("restart miniupnpd: {e}"),
            });
        }
    }

    /// Marks the entry applied (or partial) and reports it, with checks that it took effect.
    fn finish(
        &mut self,
        journal: &Journal,
        mut entry: Entry,
        upnp_before: Option<&[super::nft::LiveMapping]>,
        notes: Vec<Check>,
    ) -> Outcome {
        entry.state = if entry.failed.is_empty() && entry.pending.is_empty() {
            State::Applied
        } else {
            State::Partial
        };
        if let Err(e) = journal.write(&entry) {
            log::error!("cannot update journal entry {}: {e}", entry.id);
        }
        for id in journal.prune() {
            log::info!(
                "journal: removed entry {id} to stay within {} entries and {} bytes",
                super::journal::MAX_ENTRIES,
                super::journal::MAX_BYTES
            );
        }
        let actions = &entry.actions;
        let failed = entry
            .failed
            .iter()
            .map(|f| Failure {
                action: actions.get(f.action).cloned(),
                error: f.error.clone(),
            })
            .collect();
        let pending = entry.pending.iter().map(|&i| actions[i].clone()).collect();
        let mut verified = notes;
        verified.extend(self.verify(actions, &entry.applied, upnp_before, entry.time));
        Outcome {
            journal_id: Some(entry.id),
            applied: entry.applied.len(),
            failed,
            pending,
            verified,
            interrupted: false,
            actions: entry.actions,
        }
    }

    /// Runs one step; `run.restart_miniupnpd` is set when a revoke left nft rules behind or
    /// lost rules could not be re-added.
    fn run(&mut self, step: &Step, run: &mut Run) -> Result<(), ApplyError> {
        let reply = match step {
            Step::UciSet {
                config,
                section,
                option,
                value,
            } => rpcd::set(self.bus, config, section, option, value),
            Step::UciDelete {
                config,
                section,
                option,
            } => rpcd::delete(self.bus, config, section, option.as_deref()),
            Step::UciAdd {
                config,
                r#type,
                name,
                values,
            } => rpcd::add(self.bus, config, r#type, name, values),
            Step::UciOrder { config, sections } => rpcd::order(self.bus, config, sections),
            Step::Service { name, action } => return rpcd::rc_init_checked(self.bus, name, action),
            Step::TruncateFile { path } => return self.write_file(path, b""),
            Step::RevokeMapping {
                proto,
                ext_port,
                int_addr,
                int_port,
                nft_handles,
                rebuild,
            } => {
                run.lease_written =
                    self.remove_lease_lines(*proto, *ext_port, *int_addr, *int_port)?;
                let deleted = self.nft
                    && delete_rules(nft_handles)
                        .inspect_err(|e| log::warn!("{e}; miniupnpd rebuilds its rules instead"))
                        .is_ok();
                run.restart_miniupnpd |= *rebuild || !deleted;
                if deleted {
                    // The DNAT is gone, but connections it let in live on in conntrack.
                    super::flows::cut_mapping_flows(*proto, *ext_port, *int_addr, *int_port);
                }
                return Ok(());
            }
            Step::RestoreMappings { .. } => {
                let how = self.restore_mappings(&mut run.restart_miniupnpd);
                run.notes.push(how);
                return Ok(());
            }
        };
        reply.map(drop).map_err(ApplyError::Step)
    }
}

/// Sets the fingerprint of what `path` holds after camguard's change in the entry's
/// `FileBytes`; false when the entry keeps no bytes of it.
/// Whether `config` was in `dirty`, which no longer holds it.
fn take(dirty: &mut Vec<&str>, config: &str) -> bool {
    let at = dirty.iter().position(|&d| d == config);
    if let Some(i) = at {
        dirty.swap_remove(i);
    }
    at.is_some()
}

fn note_committed(entry: &mut Entry, path: &str, written: Fingerprint) -> bool {
    entry.before.iter_mut().any(|b| match b {
        Before::FileBytes {
            path: p, committed, ..
        } if p == path => {
            *committed = Some(written.clone());
            true
        }
        _ => false,
    })
}

/// ubus went away mid-way: the entry stays `applying`, and what was staged or changed so far
/// is rolled back by `recover` once ubus answers again, as after a crash.
fn left_for_recovery(journal: &Journal, entry: Entry, error: BusError) -> Outcome {
    let _ = journal.write(&entry);
    log::warn!(
        "enforcement {} interrupted ({error}); it is rolled back once ubus answers again",
        entry.id
    );
    let interrupted = ApplyError::Interrupted {
        id: entry.id.clone(),
        error,
    };
    Outcome {
        journal_id: Some(entry.id),
        interrupted: true,
        ..Outcome::unchanged(
            entry.actions,
            vec![Failure::of_run(interrupted.to_string())],
        )
    }
}
