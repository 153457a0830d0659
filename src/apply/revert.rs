//! Undoing a journal entry, and rolling back the entries an interruption left `applying`.
use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::rpcd::{self, section_order};
use super::{ApplyError, Before, Entry, Executor, Journal, State};
use crate::bus::{status, BusError};

/// What `revert` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reverted {
    pub journal_id: String,
    pub reverted: usize,
    pub failed: Vec<String>,
}

impl Executor<'_> {
    /// Undoes a journal entry (the newest not yet reverted when `id` is None).
    pub fn revert(&mut self, id: Option<&str>) -> Result<Reverted, ApplyError> {
        let journal = Journal::new(&self.root);
        let mut entry = entry_to_revert(&journal, id)?;
        let configs = uci_configs(&entry.before);
        for c in &configs {
            self.check_committable(c)?;
        }
        let mut tally = Tally::default();
        // Values first, then sections, then order: the order restore sees the final set.
        self.restore_options(&entry.before, &mut tally);
        self.restore_section_tails(&entry.before, &mut tally);
        self.restore_sections(&entry.before, &mut tally);
        self.restore_orders(&entry.before, &mut tally);
        for c in &configs {
            tally.note_bus(rpcd::commit(self.bus, c), format!("commit {c}"));
        }
        let replay = self.restore_files(&entry.before, &mut tally);
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
        })
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

    /// Emptied files and revoked lease lines back; true when a lease file was restored.
    fn restore_files(&mut self, before: &[Before], tally: &mut Tally) -> bool {
        let mut replay = false;
        for b in before {
            match b {
                Before::File { path, content } => {
                    let r = self.write_file(path, content.as_bytes());
                    replay |= tally.note(r, format!("restore {path}"));
                }
                Before::LeaseLines { path, lines } if !lines.is_empty() => {
                    let r = self.restore_lease_lines(path, lines);
                    replay |= tally.note(r, format!("restore {path}"));
                }
                _ => {}
            }
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
                if *enabled == Some(true) {
                    let r = rpcd::rc_init(self.bus, name, "enable");
                    tally.note_bus(r, format!("enable {name}"));
                }
                if *running == Some(true) {
                    let action = if replay { "restart" } else { "start" };
                    let r = rpcd::rc_init(self.bus, name, action);
                    tally.note_bus(r, format!("{action} {name}"));
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
            .entries()
            .into_iter()
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
            .entries()
            .into_iter()
            .find(|e| e.state != State::Reverted)
            .ok_or(ApplyError::NothingToRevert)?,
    };
    if entry.state == State::Reverted {
        return Err(ApplyError::AlreadyReverted { id: entry.id });
    }
    Ok(entry)
}

/// The UCI configs whose recorded values a revert restores (and so commits).
fn uci_configs(before: &[Before]) -> BTreeSet<String> {
    before
        .iter()
        .filter_map(|b| match b {
            Before::Option { config, .. }
            | Before::SectionTail { config, .. }
            | Before::AddedSection { config, .. }
            | Before::DeletedSection { config, .. }
            | Before::Order { config, .. } => Some(config.clone()),
            _ => None,
        })
        .collect()
}
