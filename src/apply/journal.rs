//! The journal: one JSON file per enforcement under /etc/camguard/journal/, written atomically
//! *before* anything changes, holding every value as it was, so that `revert` restores exactly
//! and a crash mid-way can be rolled back on the next start.
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::{Action, UciValue};

/// Where entries live, relative to the (sys)root.
pub const JOURNAL_DIR: &str = "etc/camguard/journal";

/// What one UCI option, section or order was before camguard touched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Before {
    /// An option's value; `None`: the option did not exist.
    Option {
        config: String,
        section: String,
        option: String,
        value: Option<UciValue>,
    },
    /// A section's options from the first one camguard changed to its end, in libuci's order.
    /// libuci before b7ceda9 (OpenWrt ≤ 22.03, and the testbed's) moves a changed option to the
    /// end of its section; revert re-creates this tail in order, so the file comes back
    /// byte-identical on old and new libuci alike.
    SectionTail {
        config: String,
        section: String,
        options: Vec<(String, UciValue)>,
    },
    /// A section camguard added (revert deletes it).
    AddedSection { config: String, section: String },
    /// A section of camguard's own that it deleted: its type and values (revert re-adds it).
    DeletedSection {
        config: String,
        section: String,
        r#type: String,
        values: Vec<(String, UciValue)>,
    },
    /// The order of a config's sections.
    Order {
        config: String,
        sections: Vec<String>,
    },
    /// A service's state (`rc list`).
    Service {
        name: String,
        enabled: Option<bool>,
        running: Option<bool>,
    },
    /// A file's content before it was emptied.
    File { path: String, content: String },
    /// Lease lines removed by a revoke (appended back by revert).
    LeaseLines { path: String, lines: Vec<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Written before the first change; still so after a crash mid-way.
    Applying,
    Applied,
    /// Some actions failed or wait for a pending LuCI apply; see `failed`/`pending`.
    Partial,
    Reverted,
}

/// An action that failed, and why. The journal names the action by its index in the entry's
/// `actions`; a reply ([`super::Outcome`]) spells it out, or has `null` when the failure is the
/// run's as a whole (nothing, or nothing more, was done).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure<A = usize> {
    pub action: A,
    pub error: String,
}

impl Failure<Option<Action>> {
    /// A failure of the whole run rather than of one action.
    pub fn of_run(error: impl Into<String>) -> Self {
        Failure {
            action: None,
            error: error.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub time: u64,
    /// "enforce", "revoke".
    pub reason: String,
    pub state: State,
    pub actions: Vec<Action>,
    pub before: Vec<Before>,
    /// Index of each action that took effect.
    #[serde(default)]
    pub applied: Vec<usize>,
    #[serde(default)]
    pub failed: Vec<Failure>,
    /// Actions not applied because a LuCI apply-with-rollback was pending: retried later.
    #[serde(default)]
    pub pending: Vec<usize>,
    /// The entry that applied this one's pending actions once the LuCI apply was over (or
    /// `None` with `pending` emptied: the plan no longer needed them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued_in: Option<String>,
}

impl Entry {
    /// Its pending actions are done with: applied by `continued_in`, or no longer planned.
    /// The entry is then `applied` unless one of its own actions failed.
    pub fn settle_pending(&mut self, continued_in: Option<String>) {
        if self.state != State::Partial || self.pending.is_empty() {
            return;
        }
        self.pending.clear();
        self.continued_in = continued_in;
        if self.failed.is_empty() {
            self.state = State::Applied;
        }
    }
}

/// The journal directory of one router root.
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    pub fn new(root: &Path) -> Journal {
        Journal {
            dir: root.join(JOURNAL_DIR),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh id: the UTC time and a counter, e.g. `20261125T120000Z-1`.
    pub fn new_id(&self, now: u64) -> String {
        let date = crate::time::date(now).replace('-', "");
        let secs = now % 86_400;
        let stamp = format!(
            "{date}T{:02}{:02}{:02}Z",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        );
        (1..)
            .map(|n| format!("{stamp}-{n}"))
            .find(|id| !self.path(id).exists())
            .expect("some counter is free")
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Writes the entry atomically ([`crate::statefile::write`]): a reader sees the old entry
    /// or the new one, never half of it. Fails cleanly when the disk is full, before anything
    /// on the router has changed.
    pub fn write(&self, entry: &Entry) -> io::Result<()> {
        if !valid_id(&entry.id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid journal id",
            ));
        }
        let mut bytes = serde_json::to_vec_pretty(entry).map_err(io::Error::other)?;
        bytes.push(b'\n');
        crate::statefile::write(&self.path(&entry.id), &bytes)
    }

    pub fn read(&self, id: &str) -> io::Result<Entry> {
        if !valid_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no journal entry {id:?}"),
            ));
        }
        let bytes = std::fs::read(self.path(id))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{id}: {e}")))
    }

    /// Every entry, newest first. Unreadable files are skipped (and named in the log).
    pub fn entries(&self) -> Vec<Entry> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(str::to_owned)
            })
            .filter(|id| valid_id(id))
            .collect();
        ids.sort_by(|a, b| b.cmp(a));
        ids.iter()
            .filter_map(|id| match self.read(id) {
                Ok(e) => Some(e),
                Err(err) => {
                    log::warn!("journal entry {id} unreadable: {err}");
                    None
                }
            })
            .collect()
    }
}

/// Ids are camguard's own `YYYYMMDDTHHMMSSZ-N`; anything else (`../x`) is refused, since ids also
/// arrive over ubus.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() < 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !id.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "camguard-journal-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn entries_round_trip_and_list_newest_first() {
        let root = temp();
        let j = Journal::new(&root);
        let mut e = Entry {
            id: j.new_id(1_795_608_000),
            time: 1_795_608_000,
            reason: "enforce".into(),
            state: State::Applying,
            actions: vec![],
            before: vec![Before::Option {
                config: "upnpd".into(),
                section: "config".into(),
                option: "enabled".into(),
                value: None,
            }],
            applied: vec![],
            failed: vec![],
            pending: vec![],
            continued_in: None,
        };
        assert_eq!(e.id, "20261125T120000Z-1");
        j.write(&e).unwrap();
        let first = e.id.clone();
        e.id = j.new_id(1_795_608_000);
        assert_eq!(e.id, "20261125T120000Z-2");
        j.write(&e).unwrap();
        let ids: Vec<String> = j.entries().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![e.id.clone(), first.clone()]);
        assert_eq!(j.read(&first).unwrap().before, e.before);
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn ids_from_outside_cannot_escape_the_directory() {
        for bad in ["../../etc/passwd", "", "a/b", "-x", "x.json"] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert!(valid_id("20261125T120000Z-1"));
    }
}
