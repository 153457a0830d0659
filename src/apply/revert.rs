//! Undoing a journal entry, and rolling back the entries an interruption left `applying`.
use serde::Serialize;

use super::files::LeasePlace;
use super::journal::{Fingerprint, MAX_KEPT_BYTES};
use super::rpcd::{self, section_order};
use super::{ApplyError, Before, Entry, Executor, Journal, State};
use crate::bus::{status, BusError};
use crate::json::Value;
use crate::sorted::SortedSet;

/// What `revert` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reverted {
    pub journal_id: String,
    pub reverted: usize,
    pub failed: Vec<String>,
    /// Files not restored byte for byte, and why (restored by meaning instead).
    pub notes: Vec<String>,
}

/// What `restore_bytes` put back exactly.
#[derive(Default)]
struct Exact {
    /// Configs whose file holds its recorded bytes: their values need no restoring.
    configs: SortedSet<String>,
    /// Of those, the ones camguard had changed: procd must reload what reads them.
    reload: SortedSet<String>,
    /// Every file holding its recorded bytes.
    files: SortedSet<String>,
    /// A lease file was written back (miniupnpd replays it on a restart).
    lease: bool,
}

impl Exact {
    fn note(&mut self, path: &str, config: &Option<String>, changed: bool) {
        self.files.insert(path.to_owned());
        match config {
            Some(c) => {
                self.configs.insert(c.clone());
                if changed {
                    self.reload.insert(c.clone());
                }
            }
            None => self.lease |= changed,
        }
    }
}

impl Executor<'_> {
    /// Undoes a journal entry (the newest not yet reverted when `id` is None). A file that
    /// still holds what camguard wrote gets its recorded bytes back; one that someone changed
    /// since keeps their change and gets camguard's values restored by meaning, with a note.
    pub fn revert(&mut self, id: Option<&str>) -> Result<Reverted, ApplyError> {
        let journal = Journal::new(&self.root);
        let mut entry = entry_to_revert(&journal, id)?;
        let configs = uci_configs(&entry.before);
        for c in &configs {
            self.check_committable(c)?;
        }
        let mut tally = Tally::default();
        let exact = self.restore_bytes(&entry.before, &mut tally)?;
        let by_meaning: Vec<Before> = entry
            .before
            .iter()
            .filter(|b| !b.config().is_some_and(|c| exact.configs.contains(c)))
            .cloned()
            .collect();
        // Values first, then sections, then order: the order restore sees the final set.
        self.restore_options(&by_meaning, &mut tally);
        self.restore_section_tails(&by_meaning, &mut tally);
        self.restore_sections(&by_meaning, &mut tally);
        self.restore_orders(&by_meaning, &mut tally);
        for c in configs.iter().filter(|c| !exact.configs.contains(*c)) {
            tally.note_bus(rpcd::commit(self.bus, c), format!("commit {c}"));
        }
        // A file written back is not a commit: procd hears of it as rpcd's commit tells it.
        for c in &exact.reload {
            let r = rpcd::config_changed(self.bus, c);
            tally.note_bus(r, format!("reload after restoring /etc/config/{c}"));
        }
        let replay = self.restore_files(&by_meaning, &exact.files, &mut tally) || exact.lease;
        self.restore_services(&entry.before, replay, &mut tally);
        if let Some(error) = tally.interrupted {
            // Left as it was (`applying` stays `applying`): recovery runs it again, and every
            // step of a revert can run twice.
            return Err(ApplyError::RevertInterrupted {
                id: entry.id,
                error,
            });
        }
        entry.state = State::Reverted;
        entry.notes = tally.notes.clone();
        if let Err(e) = journal.write(&entry) {
            tally.failed.push(format!(
                "cannot mark journal entry {} reverted: {e}",
                entry.id
            ));
        }
        Ok(Reverted {
            journal_id: entry.id,
            reverted: tally.count,
            failed: tally.failed,
            notes: tally.notes,
        })
    }

    /// Writes back the kept bytes of every file that still holds what camguard left in it.
    /// Err (nothing more done) when a config gained staged changes that are not camguard's
    /// in the meantime: its bytes are not written under them.
    fn restore_bytes(&mut self, before: &[Before], tally: &mut Tally) -> Result<Exact, ApplyError> {
        let mut exact = Exact::default();
        for b in before {
            let Before::FileBytes {
                path,
                config,
                bytes,
                committed,
                ..
            } = b
            else {
                continue;
            };
            let now = self.fingerprint(path);
            let Some(kept) = bytes else {
                tally.notes.push(format!(
                    "{path} was larger than {} KiB, so its bytes were not kept: camguard's \
                     changes were undone by meaning (not byte-identical)",
                    MAX_KEPT_BYTES / 1024
                ));
                continue;
            };
            let original = Fingerprint::of(&kept.0);
            let changed_by_camguard = committed.as_ref().is_some_and(|c| *c != original);
            if now.as_ref() == Some(&original) {
                // As it was: never changed, or written back by a revert that was cut short.
                exact.note(path, config, changed_by_camguard);
                continue;
            }
            if now.is_none() || committed.is_none() || now != *committed {
                let why = match committed {
                    None => "camguard's change to it was not recorded (interrupted)",
                    Some(_) if now.is_none() => "it cannot be read",
                    Some(_) => "it was changed since camguard's change",
                };
                tally.notes.push(format!(
                    "{path}: {why}; camguard's changes were undone by meaning and every other \
                     change kept (not byte-identical)"
                ));
                continue;
            }
            if let Some(c) = config {
                // Never written under someone else's staged change (their commit would apply
                // it to bytes it was not made on); camguard's own leftovers are dropped.
                self.check_committable(c)?;
            }
            if tally.note(self.write_file(path, &kept.0), format!("restore {path}")) {
                exact.note(path, config, true);
            }
        }
        Ok(exact)
    }

    /// Options back to their values, or deleted where there was none; newest first.
    fn restore_options(&mut self, before: &[Before], tally: &mut Tally) {
        for b in before.iter().rev() {
            if let Before::Option {
                config,
                section,
                option,
                value,
            } = b
            {
                let r = match value {
                    Some(v) => rpcd::set(self.bus, config, section, option, v),
                    None => rpcd::delete(self.bus, config, section, Some(option)),
                };
                tally.note_bus(r, format!("restore {config}.{section}.{option}"));
            }
        }
    }

    /// Each recorded section tail cleared and set again in its order (see `SectionTail`).
    fn restore_section_tails(&mut self, before: &[Before], tally: &mut Tally) {
        for b in before {
            if let Before::SectionTail {
                config,
                section,
                options,
            } = b
            {
                for (option, _) in options {
                    let r = rpcd::delete(self.bus, config, section, Some(option));
                    tally.note_bus(r, format!("clear {config}.{section}.{option}"));
                }
                for (option, value) in options {
                    let r = rpcd::set(self.bus, config, section, option, value);
                    tally.note_bus(r, format!("restore {config}.{section}.{option}"));
                }
            }
        }
    }

    /// Sections camguard added are removed, those it deleted re-added; newest first.
    fn restore_sections(&mut self, before: &[Before], tally: &mut Tally) {
        for b in before.iter().rev() {
            match b {
                Before::AddedSection { config, section } => {
                    let r = match rpcd::delete(self.bus, config, section, None) {
                        // Not there: the interrupted enforcement never got to add it.
                        Err(BusError::Status(status::NOT_FOUND)) => Ok(Value::Null),
                        r => r,
                    };
                    tally.note_bus(r, format!("remove {config}.{section}"));
                }
                Before::DeletedSection {
                    config,
                    section,
                    r#type,
                    values,
                } => {
                    let values = values.iter().map(|(k, v)| (k, v));
                    let r = rpcd::add(self.bus, config, r#type, section, values);
                    tally.note_bus(r, format!("re-add {config}.{section}"));
                }
                _ => {}
            }
        }
    }

    /// The recorded order of each config's sections, for the sections still there; sections
    /// added since keep their place after them.
    fn restore_orders(&mut self, before: &[Before], tally: &mut Tally) {
        for b in before {
            if let Before::Order { config, sections } = b {
                let now = section_order(self.bus, config).unwrap_or_default();
                let mut order: Vec<&String> = sections.iter().filter(|s| now.contains(s)).collect();
                order.extend(now.iter().filter(|s| !sections.contains(s)));
                let r = rpcd::order(self.bus, config, &order);
                tally.note_bus(r, format!("restore the order of {config}"));
            }
        }
    }

    /// Emptied files and revoked lease lines back, but not into a file `exact` restored
    /// already; true when a lease file was restored.
    fn restore_files(
        &mut self,
        before: &[Before],
        exact: &SortedSet<String>,
        tally: &mut Tally,
    ) -> bool {
        let mut replay = false;
        let mut lease_lines: Vec<(&String, Vec<LeasePlace>)> = Vec::new();
        for b in before {
            match b {
                Before::File { path, content } => {
                    let r = self.write_file(path, content.as_bytes());
                    replay |= tally.note(r, format!("restore {path}"));
                }
                Before::LeaseLines { path, lines, after } if !exact.contains(path) => {
                    // Older entries recorded no place: after a line that cannot exist (no line
                    // holds a newline), so appended, as they were then.
                    let nowhere = Some("\n".to_owned());
                    let places = after.iter().cloned().chain(std::iter::repeat(nowhere));
                    let lines = lines.iter().cloned().zip(places);
                    match lease_lines.iter_mut().find(|(p, _)| *p == path) {
                        Some((_, all)) => all.extend(lines),
                        None => lease_lines.push((path, lines.collect())),
                    }
                }
                _ => {}
            }
        }
        for (path, lines) in lease_lines.into_iter().filter(|(_, l)| !l.is_empty()) {
            let r = self.restore_lease_lines(path, &lines);
            replay |= tally.note(r, format!("restore {path}"));
        }
        replay
    }

    /// Services enabled and running again where they were; `replay`: restarted, so miniupnpd
    /// replays the restored lease lines.
    fn restore_services(&mut self, before: &[Before], replay: bool, tally: &mut Tally) {
        for b in before {
            if let Before::Service {
                name,
                enabled,
                running,
            } = b
            {
                let mut actions = Vec::new();
                if *enabled == Some(true) {
                    actions.push("enable");
                }
                if *running == Some(true) {
                    actions.push(if replay { "restart" } else { "start" });
                }
                for action in actions {
                    let r = rpcd::rc_init_checked(self.bus, name, action);
                    tally.note_step(r, format!("{action} {name}"));
                }
            }
        }
    }

    /// After a crash, a power loss or ubus going away mid-enforce: entries still `applying` are
    /// reverted, so no half-applied state survives. What such an entry left staged in rpcd's
    /// savedir is discarded first, but only where every staged change is one the entry made.
    /// `stuck` is true when an entry could not be rolled back yet (ubus not back): call again.
    pub fn recover(&mut self) -> Recovery {
        let journal = Journal::new(&self.root);
        let stuck: Vec<Entry> = journal
            .newest_first()
            .filter(|e| e.state == State::Applying)
            .collect();
        let mut recovery = Recovery::default();
        for entry in stuck {
            let id = entry.id.clone();
            if let Err(e) = self.discard_staged_leftovers(&entry) {
                recovery.log.push(format!(
                    "could not roll back interrupted enforcement {id} yet: {e}"
                ));
                recovery.stuck = true;
                continue;
            }
            match self.revert(Some(&id)) {
                Ok(r) => recovery.log.push(format!(
                    "rolled back interrupted enforcement {id} ({} changes)",
                    r.reverted
                )),
                Err(e) => {
                    recovery.log.push(format!(
                        "could not roll back interrupted enforcement {id} yet: {e}"
                    ));
                    recovery.stuck = true;
                }
            }
        }
        recovery
    }
}

/// What `recover` did, and whether anything is left to roll back.
#[derive(Debug, Default)]
pub struct Recovery {
    pub log: Vec<String>,
    pub stuck: bool,
}

/// Counts what a revert restored and collects what it could not.
#[derive(Default)]
struct Tally {
    count: usize,
    failed: Vec<String>,
    notes: Vec<String>,
    /// Set when ubus went away: what follows failed for that reason alone.
    interrupted: Option<BusError>,
}

impl Tally {
    /// Records one result; true when it succeeded.
    fn note<T, E: std::fmt::Display>(&mut self, r: Result<T, E>, what: String) -> bool {
        match r {
            Ok(_) => {
                self.count += 1;
                true
            }
            Err(e) => {
                self.failed.push(format!("{what}: {e}"));
                false
            }
        }
    }

    /// [`Tally::note`] for a step that calls ubus, remembering an interruption.
    fn note_step(&mut self, r: Result<(), ApplyError>, what: String) -> bool {
        if let Err(ApplyError::Step(e)) = &r {
            if self.interrupted.is_none() {
                self.interrupted = e.interruption();
            }
        }
        self.note(r, what)
    }

    /// [`Tally::note`] for a ubus call, remembering an interruption.
    fn note_bus(&mut self, r: Result<Value, BusError>, what: String) -> bool {
        if let Err(e) = &r {
            if self.interrupted.is_none() {
                self.interrupted = e.interruption();
            }
        }
        self.note(r, what)
    }
}

/// The entry `id`, or the newest not yet reverted.
fn entry_to_revert(journal: &Journal, id: Option<&str>) -> Result<Entry, ApplyError> {
    let entry = match id {
        Some(id) => journal.read(id).map_err(ApplyError::NoEntry)?,
        None => journal
            .newest_first()
            .find(|e| e.state != State::Reverted)
            .ok_or(ApplyError::NothingToRevert)?,
    };
    if entry.state == State::Reverted {
        return Err(ApplyError::AlreadyReverted { id: entry.id });
    }
    Ok(entry)
}

/// The UCI configs whose recorded values a revert restores (and so commits).
fn uci_configs(before: &[Before]) -> SortedSet<String> {
    before
        .iter()
        .filter_map(|b| b.config().map(str::to_owned))
        .collect()
}
