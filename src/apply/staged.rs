//! rpcd's staged (uncommitted) UCI changes: whether a config's staged delta is camguard's,
//! reverting what is, and the no-op revert that detects a pending LuCI apply-with-rollback.
use crate::json::Value;

use super::rpcd::{self, uci};
use super::{ApplyError, Before, Entry, Executor, Journal, State};
use crate::bus::{status, BusError};
use crate::encode::json;
use crate::plan::Step;
use crate::sorted::SortedSet;

impl Executor<'_> {
    /// Ok when `config` can be committed now; else why not: `PendingApply` while a LuCI
    /// apply-with-rollback is pending, `ForeignChanges` when what is staged there is not
    /// camguard's. Changes camguard staged itself just before a LuCI apply-with-rollback
    /// refused their commit are dropped here, so the values read next are the committed ones
    /// and the steps run again.
    pub(super) fn check_committable(&mut self, config: &str) -> Result<(), ApplyError> {
        // With nothing staged the revert is a no-op: refused with PERMISSION_DENIED exactly
        // while an apply-with-rollback is pending, and unlike commit it sends no config.change
        // event.
        match self.revert_staged_if_ours(config, Self::pending_keys)? {
            Ok(_) => Ok(()),
            Err(BusError::Status(status::PERMISSION_DENIED)) => Err(ApplyError::PendingApply {
                config: config.to_owned(),
            }),
            Err(e) => Err(ApplyError::bus(format!("uci revert {config}"), e)),
        }
    }

    /// `uci revert {config}` when every change staged there is one of `ours` (asked for only
    /// when something is staged); the revert's own result, or `ForeignChanges`: those are
    /// someone else's, and camguard neither commits nor discards them.
    fn revert_staged_if_ours(
        &mut self,
        config: &str,
        ours: impl FnOnce(&Self) -> SortedSet<Key>,
    ) -> Result<Result<Value, BusError>, ApplyError> {
        let changes = uci(self.bus, "changes", json!({ "config": config }))
            .map_err(|e| ApplyError::bus(format!("uci changes {config}"), e))?;
        if let Some(changes) = changes["changes"].as_array().filter(|c| !c.is_empty()) {
            if !all_staged_are(&ours(self), config, changes) {
                return Err(ApplyError::ForeignChanges {
                    config: config.to_owned(),
                });
            }
        }
        Ok(rpcd::revert(self.bus, config))
    }

    /// What the newest journal entry with actions waiting for a LuCI apply staged for them,
    /// less what a later entry applied (then the staged value is no longer camguard's).
    fn pending_keys(&self) -> SortedSet<Key> {
        let mut applied_later = Vec::new();
        for entry in Journal::new(&self.root).newest_first() {
            if entry.state == State::Partial && !entry.pending.is_empty() {
                let applied_later = SortedSet::from_vec(applied_later);
                let mut keys = Vec::new();
                for a in entry.pending.iter().filter_map(|&i| entry.actions.get(i)) {
                    step_keys(&a.step, &mut keys);
                }
                keys.retain(|k| !applied_later.contains(k));
                return SortedSet::from_vec(keys);
            }
            for a in entry.applied.iter().filter_map(|&i| entry.actions.get(i)) {
                step_keys(&a.step, &mut applied_later);
            }
        }
        SortedSet::new()
    }

    /// Reverts the staged (uncommitted) changes an interrupted entry left in its configs. A
    /// config whose staged changes touch anything the entry does not is left alone: those
    /// changes may be someone else's, and are never committed or discarded by camguard.
    pub(super) fn discard_staged_leftovers(&mut self, entry: &Entry) -> Result<(), ApplyError> {
        let ours = entry_keys(entry);
        let configs: SortedSet<&str> = ours.iter().map(|(c, _, _)| c.as_str()).collect();
        for config in configs {
            self.revert_staged_if_ours(config, |_| ours.clone())?
                .map_err(|e| ApplyError::bus(format!("uci revert {config}"), e))?;
        }
        Ok(())
    }
}

/// (config, section, option) a change touches; option None for a whole section (added,
/// deleted, reordered).
type Key = (String, String, Option<String>);

fn add_key(keys: &mut Vec<Key>, config: &str, section: &str, option: Option<&str>) {
    keys.push((
        config.to_owned(),
        section.to_owned(),
        option.map(str::to_owned),
    ));
}

/// What a UCI step stages (repeats too: the set is made once all are in).
fn step_keys(step: &Step, keys: &mut Vec<Key>) {
    match step {
        Step::UciSet {
            config,
            section,
            option,
            ..
        } => add_key(keys, config, section, Some(option)),
        Step::UciDelete {
            config,
            section,
            option,
        } => add_key(keys, config, section, option.as_deref()),
        Step::UciAdd {
            config,
            name,
            values,
            ..
        } => {
            add_key(keys, config, name, None);
            for option in values.keys() {
                add_key(keys, config, name, Some(option));
            }
        }
        Step::UciOrder { config, sections } => {
            for section in sections {
                add_key(keys, config, section, None);
            }
        }
        _ => {}
    }
}

/// What reverting a recorded value stages.
fn before_keys(before: &Before, keys: &mut Vec<Key>) {
    match before {
        Before::Option {
            config,
            section,
            option,
            ..
        } => add_key(keys, config, section, Some(option)),
        Before::SectionTail {
            config,
            section,
            options,
        } => {
            for (option, _) in options {
                add_key(keys, config, section, Some(option));
            }
        }
        Before::AddedSection { config, section } => add_key(keys, config, section, None),
        Before::DeletedSection {
            config,
            section,
            values,
            ..
        } => {
            add_key(keys, config, section, None);
            for (option, _) in values {
                add_key(keys, config, section, Some(option));
            }
        }
        Before::Order { config, sections } => {
            for section in sections {
                add_key(keys, config, section, None);
            }
        }
        _ => {}
    }
}

/// Everything an entry's actions or its revert stage. Actions that never ran because their
/// config was blocked (foreign staged changes) or waited for a LuCI apply are left out: what is
/// staged there is not camguard's.
fn entry_keys(entry: &Entry) -> SortedSet<Key> {
    let held_back: SortedSet<usize> = entry
        .failed
        .iter()
        .map(|f| f.action)
        .chain(entry.pending.iter().copied())
        .collect();
    let mut keys = Vec::new();
    for (i, a) in entry.actions.iter().enumerate() {
        if !held_back.contains(&i) {
            step_keys(&a.step, &mut keys);
        }
    }
    for b in &entry.before {
        before_keys(b, &mut keys);
    }
    SortedSet::from_vec(keys)
}

/// Whether every change rpcd reports staged in `config` is one of `keys`.
fn all_staged_are(keys: &SortedSet<Key>, config: &str, changes: &[Value]) -> bool {
    changes.iter().all(|change| {
        staged_key(change).is_some_and(|(section, option)| {
            let key = |option: Option<&str>| {
                (
                    config.to_owned(),
                    section.to_owned(),
                    option.map(str::to_owned),
                )
            };
            keys.contains(&key(option)) || keys.contains(&key(None))
        })
    })
}

/// The (section, option) one entry of rpcd's `uci changes` touches: `["set", sec, opt, val]`,
/// `["remove", sec]`, `["add", sec, type]`, `["list-add", sec, opt, val]`, `["order", sec, n]`.
/// A section-level change (add, remove, order, a `set` of the section's type) has no option;
/// `rename` and anything unknown has no key and so is never taken for camguard's.
fn staged_key(change: &Value) -> Option<(&str, Option<&str>)> {
    let parts = change.as_array()?;
    let op = parts.first()?.as_str()?;
    let section = parts.get(1)?.as_str()?;
    let third = parts.get(2).and_then(Value::as_str);
    match (op, parts.len()) {
        ("set", 4) | ("list-add", 4) | ("list-del", 4) | ("remove", 3) => Some((section, third)),
        ("set", 3) | ("add", 3) | ("remove", 2) | ("order", 3) => Some((section, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_keys_follow_rpcds_change_tuples() {
        let key = |v: Value| staged_key(&v).map(|(s, o)| (s.to_owned(), o.map(str::to_owned)));
        let some = |s: &str, o: Option<&str>| Some((s.to_owned(), o.map(str::to_owned)));
        assert_eq!(
            key(json!(["set", "cfg1", "enabled", "0"])),
            some("cfg1", Some("enabled"))
        );
        assert_eq!(key(json!(["add", "cfg1", "redirect"])), some("cfg1", None));
        assert_eq!(key(json!(["remove", "cfg1"])), some("cfg1", None));
        assert_eq!(
            key(json!(["remove", "cfg1", "name"])),
            some("cfg1", Some("name"))
        );
        assert_eq!(
            key(json!(["list-add", "cfg1", "proto", "tcp"])),
            some("cfg1", Some("proto"))
        );
        assert_eq!(key(json!(["order", "cfg1", 2])), some("cfg1", None));
        assert_eq!(key(json!(["rename", "cfg1", "new"])), None);
        assert_eq!(key(json!("garbage")), None);
    }
}
