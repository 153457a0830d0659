//! The journal: one JSON file per enforcement under /etc/camguard/journal/, written atomically
//! *before* anything changes, holding every value as it was, so that `revert` restores exactly
//! and a crash mid-way can be rolled back on the next start.
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::json::Value;
use crate::json_read::{boolean, list, pair, string, text, uint, Fields, JsonReadError};
use crate::plan::{Action, Step, UciValue};

/// Where entries live, relative to the (sys)root.
pub const JOURNAL_DIR: &str = "etc/camguard/journal";

/// The journal lives on the router's flash (/etc), and every enforcement and every revoke adds
/// an entry that may keep up to [`MAX_KEPT_BYTES`] of each file it changed: it keeps at most this
/// many entries and this many bytes, dropping revokes before changes ([`Journal::prune`]).
pub const MAX_ENTRIES: usize = 50;
pub const MAX_BYTES: u64 = 512 * 1024;

/// What one UCI option, section or order was before camguard touched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Lease lines removed by a revoke. `after`: for each line, the line that preceded it in the
    /// file (None: it was the first), where revert puts it back when the file's bytes cannot be
    /// (entries of older versions have none: their lines are appended).
    LeaseLines {
        path: String,
        lines: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        after: Vec<Option<String>>,
    },
    /// A file's bytes just before camguard first changed it: a UCI config it commits, the lease
    /// file a revoke edits. `committed` fingerprints what the file held right after camguard's
    /// last change to it; revert writes `bytes` back only while the file still holds exactly
    /// that, so nobody else's change is ever overwritten (otherwise the values above are
    /// restored by meaning, with a note).
    FileBytes {
        path: String,
        /// The UCI config this file is (its values are then restored from the bytes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<String>,
        /// None: larger than [`MAX_KEPT_BYTES`], restored by meaning only.
        bytes: Option<KeptBytes>,
        size: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        committed: Option<Fingerprint>,
    },
}

impl Before {
    /// As [`Serialize`] writes it: one object whose `what` says which fields count.
    pub fn from_json(v: &Value) -> Result<Before, JsonReadError> {
        let options = |v: &Value| list(v, |o| pair(o, string, UciValue::from_json));
        let f = Fields::of(v)?;
        Ok(match f.required("what", text)? {
            "option" => Before::Option {
                config: f.required("config", string)?,
                section: f.required("section", string)?,
                option: f.required("option", string)?,
                value: f.optional("value", UciValue::from_json)?,
            },
            "section_tail" => Before::SectionTail {
                config: f.required("config", string)?,
                section: f.required("section", string)?,
                options: f.required("options", options)?,
            },
            "added_section" => Before::AddedSection {
                config: f.required("config", string)?,
                section: f.required("section", string)?,
            },
            "deleted_section" => Before::DeletedSection {
                config: f.required("config", string)?,
                section: f.required("section", string)?,
                r#type: f.required("type", string)?,
                values: f.required("values", options)?,
            },
            "order" => Before::Order {
                config: f.required("config", string)?,
                sections: f.required("sections", |v| list(v, string))?,
            },
            "service" => Before::Service {
                name: f.required("name", string)?,
                enabled: f.optional("enabled", boolean)?,
                running: f.optional("running", boolean)?,
            },
            "file" => Before::File {
                path: f.required("path", string)?,
                content: f.required("content", string)?,
            },
            "lease_lines" => Before::LeaseLines {
                path: f.required("path", string)?,
                lines: f.required("lines", |v| list(v, string))?,
                after: f.or_default("after", |v| list(v, optional_string))?,
            },
            "file_bytes" => Before::FileBytes {
                path: f.required("path", string)?,
                config: f.optional("config", string)?,
                bytes: f.optional("bytes", KeptBytes::from_json)?,
                size: f.required("size", uint)?,
                committed: f.optional("committed", |v| string(v).map(Fingerprint))?,
            },
            other => {
                let kinds = [
                    "option",
                    "section_tail",
                    "added_section",
                    "deleted_section",
                    "order",
                    "service",
                    "file",
                    "lease_lines",
                    "file_bytes",
                ];
                return Err(JsonReadError::unknown_variant(other, &kinds).within("what"));
            }
        })
    }
}

/// A line, or null for none (`LeaseLines::after`).
fn optional_string(v: &Value) -> Result<Option<String>, JsonReadError> {
    match v {
        Value::Null => Ok(None),
        _ => string(v).map(Some),
    }
}

/// The largest entry file read back. An entry keeps at most [`MAX_KEPT_BYTES`] of each file it
/// changed, written as text (up to six bytes a byte when every byte needs a `\u00XX`) or hex:
/// this is room for ten such files, and keeps a damaged or foreign file from filling the RAM.
pub const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;

/// The largest file whose bytes a journal entry keeps: journal entries live on the router's
/// flash, and every entry is read whole when the journal is listed.
pub const MAX_KEPT_BYTES: u64 = 256 * 1024;

impl Before {
    /// The UCI config whose values this restores, if any.
    pub fn config(&self) -> Option<&str> {
        match self {
            Before::Option { config, .. }
            | Before::SectionTail { config, .. }
            | Before::AddedSection { config, .. }
            | Before::DeletedSection { config, .. }
            | Before::Order { config, .. } => Some(config),
            Before::FileBytes { config, .. } => config.as_deref(),
            _ => None,
        }
    }

    /// As the `journal` method lists it: a file's kept bytes are left out (a reply is limited
    /// to 1 MiB), and said to be kept or not.
    pub fn listed(&self) -> crate::json::Value {
        let mut v = crate::encode::to_value(self).unwrap_or_default();
        if let (Before::FileBytes { bytes, .. }, Some(map)) = (self, v.as_object_mut()) {
            map.remove("bytes");
            map.insert("kept".into(), bytes.is_some().into());
        }
        v
    }
}

/// A file's exact bytes in JSON: as text when they are UTF-8 (configs, lease files almost
/// always), in hex otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "Encoded")]
pub struct KeptBytes(pub Vec<u8>);

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Encoded {
    Text(String),
    Hex(String),
}

impl From<KeptBytes> for Encoded {
    fn from(k: KeptBytes) -> Encoded {
        match String::from_utf8(k.0) {
            Ok(text) => Encoded::Text(text),
            Err(e) => Encoded::Hex(e.as_bytes().iter().map(|b| format!("{b:02x}")).collect()),
        }
    }
}

impl KeptBytes {
    /// `{"text": …}` or `{"hex": …}`, exactly one of them.
    pub fn from_json(v: &Value) -> Result<KeptBytes, JsonReadError> {
        let only_field = v
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next());
        let Some((key, value)) = only_field else {
            return Err(JsonReadError::expected(
                "an object with one field, text or hex",
                v,
            ));
        };
        let bytes = match key.as_str() {
            "text" => string(value).map(String::into_bytes),
            "hex" => text(value).and_then(decode_hex),
            other => return Err(JsonReadError::unknown_variant(other, &["text", "hex"])),
        };
        bytes.map(KeptBytes).map_err(|e| e.within(key))
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, JsonReadError> {
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| JsonReadError::new(format!("bad hex at {i}")))
        })
        .collect()
}

/// What a file held, in a few bytes: its length and FNV-1a 64 hash. It tells "the file still
/// holds what camguard wrote" from "someone changed it"; it is no defence against a forger,
/// who would need to be root on the router already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(bytes: &[u8]) -> Fingerprint {
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Fingerprint(format!("{}:{hash:016x}", bytes.len()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure<A = usize> {
    pub action: A,
    pub error: String,
}

impl State {
    pub fn from_json(v: &Value) -> Result<State, JsonReadError> {
        match text(v)? {
            "applying" => Ok(State::Applying),
            "applied" => Ok(State::Applied),
            "partial" => Ok(State::Partial),
            "reverted" => Ok(State::Reverted),
            other => Err(JsonReadError::unknown_variant(
                other,
                &["applying", "applied", "partial", "reverted"],
            )),
        }
    }
}

impl Failure {
    pub fn from_json(v: &Value) -> Result<Failure, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(Failure {
            action: f.required("action", uint)?,
            error: f.required("error", string)?,
        })
    }
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// What the revert could not restore byte for byte, and why (see `FileBytes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Entry {
    /// As [`Serialize`] writes it; entries of older versions lack the defaulted fields.
    pub fn from_json(v: &Value) -> Result<Entry, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(Entry {
            id: f.required("id", string)?,
            time: f.required("time", uint)?,
            reason: f.required("reason", string)?,
            state: f.required("state", State::from_json)?,
            actions: f.required("actions", |v| list(v, Action::from_json))?,
            before: f.required("before", |v| list(v, Before::from_json))?,
            applied: f.or_default("applied", |v| list(v, uint))?,
            failed: f.or_default("failed", |v| list(v, Failure::from_json))?,
            pending: f.or_default("pending", |v| list(v, uint))?,
            continued_in: f.optional("continued_in", string)?,
            notes: f.or_default("notes", |v| list(v, string))?,
        })
    }

    /// It only revoked or restored UPnP mappings: no config, service or file of the owner's
    /// changed.
    fn only_mappings(&self) -> bool {
        !self.actions.is_empty()
            && self.actions.iter().all(|a| {
                matches!(
                    a.step,
                    Step::RevokeMapping { .. } | Step::RestoreMappings { .. }
                )
            })
    }

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
        let mut bytes = crate::encode::to_vec_pretty(entry)?;
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
        let bytes =
            crate::statefile::read_up_to(&self.path(id), MAX_ENTRY_BYTES)?.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no journal entry {id:?}"))
            })?;
        crate::statefile::from_json(&bytes, Entry::from_json)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{id}: {e}")))
    }

    /// Every entry, newest first, read one at a time; unreadable files are skipped (and named
    /// in the log). An entry keeps the bytes of the files it changed (up to [`MAX_KEPT_BYTES`]
    /// each), so a caller looking for one entry, or listing a summary of each, holds one entry
    /// in memory rather than the whole journal.
    pub fn newest_first(&self) -> impl Iterator<Item = Entry> + '_ {
        self.files_newest_first()
            .into_iter()
            .filter_map(|(id, _)| match self.read(&id) {
                Ok(e) => Some(e),
                Err(err) => {
                    log::warn!("journal entry {id} unreadable: {err}");
                    None
                }
            })
    }

    /// The entries' ids and file sizes, newest first.
    fn files_newest_first(&self) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let id = e.file_name().to_str()?.strip_suffix(".json")?.to_owned();
                let len = e.metadata().ok()?.len();
                valid_id(&id).then_some((id, len))
            })
            .collect();
        files.sort_by(|a, b| chronological(&b.0, &a.0));
        files
    }

    /// Removes settled entries until the journal is within [`MAX_ENTRIES`] and [`MAX_BYTES`], and
    /// returns their ids: the oldest entries that only revoked or restored UPnP mappings first,
    /// then the oldest of the rest. Any LAN device can make camguard revoke mappings, again and
    /// again; it must not push out the entry of a change the owner may want to revert.
    /// The newest entry stays whatever its size, and so does any that recovery or a waiting
    /// LuCI apply still needs (`applying`, or with `pending` actions). An entry that cannot be
    /// read stays too: camguard does not delete what it cannot tell is its own and settled.
    pub fn prune(&self) -> Vec<String> {
        let files = self.files_newest_first();
        let mut count = files.len();
        let mut bytes: u64 = files.iter().map(|(_, len)| len).sum();
        let within = |count: usize, bytes: u64| count <= MAX_ENTRIES && bytes <= MAX_BYTES;
        if within(count, bytes) {
            return Vec::new();
        }
        // Read one at a time, keeping only whether each may go and which kind it is.
        let mut settled: Vec<(bool, usize)> = files
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(at, (id, _))| {
                let e = self.read(id).ok()?;
                let settled = e.state != State::Applying && e.pending.is_empty();
                settled.then(|| (!e.only_mappings(), at))
            })
            .collect();
        // Revokes first, then the rest; the oldest (furthest from the newest) first in each.
        settled.sort_by_key(|&(changes, at)| (changes, std::cmp::Reverse(at)));
        let mut removed = Vec::new();
        for (_, at) in settled {
            if within(count, bytes) {
                break;
            }
            let (id, len) = &files[at];
            if std::fs::remove_file(self.path(id)).is_ok() {
                count -= 1;
                bytes -= len;
                removed.push(id.clone());
            }
        }
        removed
    }
}

/// Ids in the order they were made: by time, then by the counter of the same second (`…Z-10`
/// after `…Z-9`).
fn chronological(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |id: &str| -> (String, u64) {
        match id.rsplit_once('-') {
            Some((stamp, n)) => (stamp.to_owned(), n.parse().unwrap_or(0)),
            None => (id.to_owned(), 0),
        }
    };
    split(a).cmp(&split(b))
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

    /// A FIFO or a file past [`MAX_ENTRY_BYTES`] where an entry should be: refused at once and
    /// skipped by the listing, never waited on or read into RAM whole.
    #[test]
    fn a_fifo_or_an_oversized_entry_is_refused_not_waited_on() {
        let root = temp();
        let j = Journal::new(&root);
        std::fs::create_dir_all(j.dir()).unwrap();
        let fifo = j.new_id(1_795_608_100);
        nix::unistd::mkfifo(&j.path(&fifo), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let huge = j.new_id(1_795_608_200);
        let f = std::fs::File::create(j.path(&huge)).unwrap();
        f.set_len(MAX_ENTRY_BYTES + 1).unwrap();
        for (id, why) in [(&fifo, "not a regular file"), (&huge, "larger than")] {
            let err = j.read(id).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{id}: {err}");
            assert!(err.to_string().contains(why), "{id}: {err}");
        }
        assert_eq!(j.newest_first().count(), 0);
        std::fs::remove_dir_all(&root).ok();
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
            notes: vec![],
        };
        assert_eq!(e.id, "20261125T120000Z-1");
        j.write(&e).unwrap();
        let first = e.id.clone();
        e.id = j.new_id(1_795_608_000);
        assert_eq!(e.id, "20261125T120000Z-2");
        j.write(&e).unwrap();
        let ids: Vec<String> = j.newest_first().map(|e| e.id).collect();
        assert_eq!(ids, vec![e.id.clone(), first.clone()]);
        assert_eq!(j.read(&first).unwrap().before, e.before);
        std::fs::remove_dir_all(&root).ok();
    }

    /// The journal stays within its count and its bytes on the flash, newest kept; what
    /// recovery or a waiting apply needs, and what cannot be read, is never removed (but counts).
    #[test]
    fn the_journal_keeps_its_newest_entries_within_its_bounds() {
        let root = temp();
        let j = Journal::new(&root);
        let entry = |id: String, state: State, kept: usize| Entry {
            id,
            time: 1_795_608_000,
            reason: "revoke".into(),
            state,
            actions: vec![],
            before: vec![Before::FileBytes {
                path: "/var/run/miniupnpd.leases".into(),
                config: None,
                bytes: Some(KeptBytes(vec![b'x'; kept])),
                size: kept as u64,
                committed: None,
            }],
            applied: vec![],
            failed: vec![],
            pending: vec![],
            continued_in: None,
            notes: vec![],
        };
        // The oldest is still applying (a crash mid-way), the next unreadable; then 60 small
        // settled ones, twelve of them in one second (counter 10 is newer than 9).
        let applying = j.new_id(1_795_600_000);
        j.write(&entry(applying.clone(), State::Applying, 10))
            .unwrap();
        let unreadable = j.new_id(1_795_600_001);
        std::fs::create_dir_all(j.dir()).unwrap();
        std::fs::write(j.path(&unreadable), b"{not json").unwrap();
        let mut ids = Vec::new();
        for n in 0..60u64 {
            let id = j.new_id(1_795_608_000 + n / 12);
            j.write(&entry(id.clone(), State::Applied, 10)).unwrap();
            ids.push(id);
        }
        let removed = j.prune();
        assert_eq!(removed, ids[..12], "the oldest settled ones, oldest first");
        let left: Vec<String> = j.newest_first().map(|e| e.id).collect();
        assert_eq!(
            left.len(),
            MAX_ENTRIES - 1,
            "the 48 newest and the applying one (the unreadable file counts too)"
        );
        assert!(j.prune().is_empty(), "within its bounds now");
        assert_eq!(left[0], ids[59], "{left:?}");
        assert!(left.contains(&applying));
        assert!(j.path(&unreadable).exists());
        // Past the bytes: two entries of 300 KB, only the newest stays with what must.
        let big = |n: u64| {
            let id = j.new_id(1_795_700_000 + n);
            j.write(&entry(id.clone(), State::Reverted, 300_000))
                .unwrap();
            id
        };
        let (older, newest) = (big(0), big(1));
        let removed = j.prune();
        assert!(removed.contains(&older), "{removed:?}");
        assert!(!removed.contains(&newest));
        let left: Vec<String> = j.newest_first().map(|e| e.id).collect();
        assert_eq!(left, vec![newest, applying], "{left:?}");
        std::fs::remove_dir_all(&root).ok();
    }

    /// A LAN device that has camguard revoke its mappings again and again fills the journal with
    /// revokes: they go first, and the owner's enforcement stays revertible.
    #[test]
    fn revokes_leave_the_journal_before_the_changes_the_owner_may_revert() {
        let root = temp();
        let j = Journal::new(&root);
        let action = |step: Step| Action {
            step,
            why: String::new(),
            finding: None,
        };
        let revoke = |port: u16| {
            action(Step::RevokeMapping {
                proto: crate::ports::Protocol::Tcp,
                ext_port: port,
                int_addr: "192.168.1.20".parse().unwrap(),
                int_port: port,
                nft_handles: vec![],
                rebuild: false,
            })
        };
        let forward_off = action(Step::UciSet {
            config: "firewall".into(),
            section: "cfg0a1b2c".into(),
            option: "enabled".into(),
            value: UciValue::Single("0".into()),
        });
        let write = |time: u64, actions: Vec<Action>| {
            let id = j.new_id(time);
            let entry = Entry {
                id: id.clone(),
                time,
                reason: "enforce".into(),
                state: State::Applied,
                actions,
                before: vec![],
                applied: vec![0],
                failed: vec![],
                pending: vec![],
                continued_in: None,
                notes: vec![],
            };
            j.write(&entry).unwrap();
            id
        };
        let t = 1_795_608_000;
        let owner = write(t, vec![forward_off.clone()]);
        let mixed = write(t + 1, vec![revoke(8000), forward_off.clone()]);
        let restored = write(t + 2, vec![action(Step::RestoreMappings { lost: 3 })]);
        let revokes: Vec<String> = (0..55)
            .map(|n| write(t + 10 + n, vec![revoke(9000)]))
            .collect();
        let removed = j.prune();
        assert_eq!(removed.len(), 8, "{removed:?}");
        assert_eq!(removed[0], restored, "the oldest runtime entry first");
        assert_eq!(removed[1..], revokes[..7]);
        let left: Vec<String> = j.newest_first().map(|e| e.id).collect();
        assert!(left.contains(&owner) && left.contains(&mixed), "{left:?}");
        assert_eq!(left.len(), MAX_ENTRIES);

        // More changes than the bound: every revoke goes, then the oldest changes.
        let changes: Vec<String> = (0..52)
            .map(|n| write(t + 100 + n, vec![forward_off.clone()]))
            .collect();
        let removed = j.prune();
        assert_eq!(removed[..48], revokes[7..]);
        assert_eq!(
            removed[48..],
            [owner, mixed, changes[0].clone(), changes[1].clone()]
        );
        let left: Vec<String> = j.newest_first().map(|e| e.id).collect();
        assert_eq!(left, changes[2..].iter().rev().cloned().collect::<Vec<_>>());
        std::fs::remove_dir_all(&root).ok();
    }

    /// Every variant of what an entry holds, written by the derived Serialize and read back by
    /// the hand-written readers: nothing is lost or mixed up between variants.
    #[test]
    fn every_variant_reads_back_as_written() {
        use crate::audit::Subject;
        use crate::plan::{FindingRef, Step};
        use crate::ports::Protocol;
        let addr: std::net::IpAddr = "192.168.1.31".parse().unwrap();
        let list = UciValue::List(vec!["a".into(), "b".into()]);
        let before = vec![
            Before::Option {
                config: "upnpd".into(),
                section: "config".into(),
                option: "enabled".into(),
                value: Some("1".into()),
            },
            Before::Option {
                config: "upnpd".into(),
                section: "config".into(),
                option: "x".into(),
                value: None,
            },
            Before::SectionTail {
                config: "firewall".into(),
                section: "cfg01".into(),
                options: vec![("name".into(), "x".into()), ("proto".into(), list.clone())],
            },
            Before::AddedSection {
                config: "firewall".into(),
                section: "camguard_x".into(),
            },
            Before::DeletedSection {
                config: "firewall".into(),
                section: "camguard_y".into(),
                r#type: "rule".into(),
                values: vec![("target".into(), "REJECT".into())],
            },
            Before::Order {
                config: "firewall".into(),
                sections: vec!["a".into(), "b".into()],
            },
            Before::Service {
                name: "miniupnpd".into(),
                enabled: Some(true),
                running: None,
            },
            Before::File {
                path: "/tmp/f".into(),
                content: "x\n".into(),
            },
            Before::LeaseLines {
                path: "/var/run/miniupnpd.leases".into(),
                lines: vec!["UDP:1:192.168.1.31:1:0:x".into()],
                after: vec![None],
            },
            Before::FileBytes {
                path: "/etc/config/upnpd".into(),
                config: Some("upnpd".into()),
                bytes: Some(KeptBytes(vec![0xff, 0])),
                size: 2,
                committed: Some(Fingerprint::of(b"x")),
            },
        ];
        let finding = Some(FindingRef {
            id: "upnp.camera_mapping".into(),
            subject: Subject::Mapping {
                proto: Protocol::Tcp,
                ext_port: 8080,
                int_addr: addr,
                int_port: 80,
            },
        });
        let subjects = [
            Subject::Router,
            Subject::Service {
                name: "miniupnpd".into(),
            },
            Subject::Config {
                config: "upnpd".into(),
            },
            Subject::Section {
                config: "firewall".into(),
                section: "cfg01".into(),
                label: "x".into(),
            },
            Subject::Pinhole {
                proto: Protocol::Udp,
                int_client: "fd00::2".parse().unwrap(),
                int_port: 9,
            },
            Subject::Device {
                ip: Some(addr),
                mac: None,
            },
            Subject::Device {
                ip: None,
                mac: Some("4c:bd:8f:00:00:01".parse().unwrap()),
            },
            Subject::Device {
                ip: None,
                mac: None,
            },
        ];
        let steps = [
            Step::UciSet {
                config: "upnpd".into(),
                section: "config".into(),
                option: "enabled".into(),
                value: "0".into(),
            },
            Step::UciDelete {
                config: "firewall".into(),
                section: "camguard_x".into(),
                option: None,
            },
            Step::UciDelete {
                config: "firewall".into(),
                section: "camguard_x".into(),
                option: Some("src".into()),
            },
            Step::UciAdd {
                config: "firewall".into(),
                r#type: "rule".into(),
                name: "camguard_x".into(),
                values: [("proto".to_owned(), list)].into(),
            },
            Step::UciOrder {
                config: "firewall".into(),
                sections: vec!["a".into()],
            },
            Step::Service {
                name: "miniupnpd".into(),
                action: "stop".into(),
            },
            Step::TruncateFile {
                path: "/tmp/l".into(),
            },
            Step::RevokeMapping {
                proto: Protocol::Tcp,
                ext_port: 8080,
                int_addr: addr,
                int_port: 80,
                nft_handles: vec![("upnp_forward".into(), 7)],
                rebuild: true,
            },
            Step::RestoreMappings { lost: 3 },
        ];
        let mut actions: Vec<Action> = steps
            .into_iter()
            .map(|step| Action {
                step,
                why: "because".into(),
                finding: finding.clone(),
            })
            .collect();
        actions.extend(subjects.into_iter().map(|subject| Action {
            step: Step::RestoreMappings { lost: 0 },
            why: String::new(),
            finding: Some(FindingRef {
                id: "x".into(),
                subject,
            }),
        }));
        let entry = Entry {
            id: "20261125T120000Z-1".into(),
            time: 1,
            reason: "enforce".into(),
            state: State::Partial,
            actions,
            before,
            applied: vec![0],
            failed: vec![Failure {
                action: 1,
                error: "e".into(),
            }],
            pending: vec![2],
            continued_in: Some("20261125T120000Z-2".into()),
            notes: vec!["n".into()],
        };
        let json = crate::encode::to_vec(&entry).unwrap();
        let back = read(&json, Entry::from_json).unwrap();
        assert_eq!(back, entry);
        assert_eq!(crate::encode::to_vec(&back).unwrap(), json);
        for state in [
            State::Applying,
            State::Applied,
            State::Partial,
            State::Reverted,
        ] {
            let json = crate::encode::to_vec(&state).unwrap();
            assert_eq!(read(&json, State::from_json), Ok(state));
        }
    }

    fn read<T>(
        json: impl AsRef<[u8]>,
        reader: fn(&Value) -> Result<T, JsonReadError>,
    ) -> Result<T, String> {
        crate::statefile::from_json(json.as_ref(), reader).map_err(|e| e.to_string())
    }

    /// The JSON as earlier versions wrote it reads the same: fields in any order, the tag
    /// anywhere, fields they did not write or that may be left out absent.
    #[test]
    fn entries_of_earlier_versions_read() {
        use crate::plan::Step;
        let action = read(
            r#"{"why":"w","int_port":80,"kind":"revoke_mapping","proto":"TCP","ext_port":8080,
               "int_addr":"192.168.1.31","finding":{"subject":{"int_port":80,"kind":"mapping",
               "proto":"TCP","ext_port":8080,"int_addr":"192.168.1.31"},"id":"i"}}"#,
            Action::from_json,
        )
        .unwrap();
        assert_eq!(
            crate::encode::to_value(&action).unwrap(),
            crate::encode::json!({"kind": "revoke_mapping", "proto": "TCP", "ext_port": 8080,
                "int_addr": "192.168.1.31", "int_port": 80, "nft_handles": [], "why": "w",
                "finding": {"id": "i", "subject": {"kind": "mapping", "proto": "TCP",
                "ext_port": 8080, "int_addr": "192.168.1.31", "int_port": 80}}})
        );
        let before = read(
            r#"{"path":"/etc/config/upnpd","what":"file_bytes","bytes":{"text":"x"},"size":1}"#,
            Before::from_json,
        );
        assert_eq!(
            before,
            Ok(Before::FileBytes {
                path: "/etc/config/upnpd".into(),
                config: None,
                bytes: Some(KeptBytes(b"x".to_vec())),
                size: 1,
                committed: None,
            })
        );
        // Optional fields may also be null, and unknown fields are ignored.
        let before = read(
            r#"{"what":"lease_lines","path":"/p","lines":["l"],"later":1}"#,
            Before::from_json,
        );
        assert_eq!(
            before,
            Ok(Before::LeaseLines {
                path: "/p".into(),
                lines: vec!["l".into()],
                after: vec![],
            })
        );
        let before = read(
            r#"{"what":"option","config":"c","section":"s","option":"o","value":null}"#,
            Before::from_json,
        );
        assert!(matches!(before, Ok(Before::Option { value: None, .. })));
        let before = read(r#"{"what":"service","name":"m"}"#, Before::from_json);
        assert!(matches!(
            before,
            Ok(Before::Service {
                enabled: None,
                running: None,
                ..
            })
        ));
        let action = read(
            r#"{"kind":"uci_delete","config":"c","section":"s","why":"w","finding":null}"#,
            Action::from_json,
        );
        assert!(matches!(
            action,
            Ok(Action {
                step: Step::UciDelete { option: None, .. },
                finding: None,
                ..
            })
        ));
        let entry = read(
            r#"{"id":"20261125T120000Z-1","time":1,"reason":"enforce","state":"applied",
               "actions":[],"before":[]}"#,
            Entry::from_json,
        )
        .unwrap();
        assert_eq!(
            (entry.applied, entry.failed, entry.pending),
            (vec![], vec![], vec![])
        );
        assert_eq!((entry.continued_in, entry.notes), (None, vec![]));
    }

    /// What is not an entry is refused, and the error says where and why.
    #[test]
    fn bad_entries_say_where_and_why() {
        let action = |json: &str| read(json, Action::from_json).unwrap_err();
        let before = |json: &str| read(json, Before::from_json).unwrap_err();
        // Missing fields.
        assert_eq!(
            before(r#"{"what":"file_bytes","path":"/x"}"#),
            "missing field `size`"
        );
        assert_eq!(
            action(r#"{"kind":"uci_set","why":"w","config":"c"}"#),
            "missing field `section`"
        );
        assert_eq!(
            action(r#"{"kind":"restore_mappings","lost":1}"#),
            "missing field `why`"
        );
        assert_eq!(action(r#"{"why":"w"}"#), "missing field `kind`");
        // Unknown kinds.
        assert_eq!(
            before(r#"{"what":"rename","path":"/x"}"#),
            "what: unknown variant `rename`, expected one of `option`, `section_tail`, \
             `added_section`, `deleted_section`, `order`, `service`, `file`, `lease_lines`, \
             `file_bytes`"
        );
        assert!(action(r#"{"kind":"reboot","why":"w"}"#)
            .starts_with("kind: unknown variant `reboot`, expected one of `uci_set`"));
        // Wrong types, nested.
        assert_eq!(
            action(
                r#"{"kind":"uci_set","why":"w","config":"c","section":"s","option":"o","value":3}"#
            ),
            "value: expected a string or a list of strings, found a number"
        );
        assert_eq!(
            action(
                r#"{"kind":"uci_set","why":"w","config":"c","section":"s","option":"o","value":["a",1]}"#
            ),
            "value[1]: expected a string, found a number"
        );
        assert_eq!(
            action(
                r#"{"kind":"revoke_mapping","why":"w","proto":"TCP","ext_port":1,
                   "int_addr":"10.0.0.1","int_port":2,"nft_handles":[["c",7],["c"]]}"#
            ),
            "nft_handles[1]: expected a list of two, found a list"
        );
        assert_eq!(
            action(
                r#"{"kind":"revoke_mapping","why":"w","proto":"SCTP","ext_port":1,
                   "int_addr":"10.0.0.1","int_port":2}"#
            ),
            "proto: unknown variant `SCTP`, expected one of `TCP`, `UDP`, `UDPLITE`"
        );
        assert_eq!(
            action(
                r#"{"kind":"revoke_mapping","why":"w","proto":"TCP","ext_port":65536,
                   "int_addr":"10.0.0.1","int_port":2}"#
            ),
            "ext_port: 65536 is out of range"
        );
        assert_eq!(
            action(
                r#"{"kind":"revoke_mapping","why":"w","proto":"TCP","ext_port":1,
                   "int_addr":"10.0.0","int_port":2}"#
            ),
            "int_addr: invalid IP address syntax"
        );
        assert_eq!(
            action(r#"{"kind":"restore_mappings","lost":0,"why":"w","finding":{"id":"i"}}"#),
            "finding: missing field `subject`"
        );
        assert_eq!(
            before(r#"{"what":"lease_lines","path":"/p","lines":["l"],"after":null}"#),
            "after: expected a list, found null"
        );
        assert_eq!(
            before(r#"{"what":"service","name":"m","enabled":"yes"}"#),
            "enabled: expected true or false, found a string"
        );
        let entry = read(
            r#"{"id":"x","time":1,"reason":"r","state":"done","actions":[],"before":[]}"#,
            Entry::from_json,
        );
        assert_eq!(
            entry.unwrap_err(),
            "state: unknown variant `done`, expected one of `applying`, `applied`, `partial`, \
             `reverted`"
        );
        let entry = read(
            r#"{"id":"x","time":1,"reason":"r","state":"applied","before":[],
               "actions":[{"kind":"service","name":"m","action":"stop","why":"w"},
               {"kind":"service","name":"m","why":"w"}]}"#,
            Entry::from_json,
        );
        assert_eq!(entry.unwrap_err(), "actions[1]: missing field `action`");
        assert_eq!(
            read("[]", Entry::from_json).unwrap_err(),
            "expected an object, found a list"
        );
        assert!(read("{", Entry::from_json).unwrap_err().contains("EOF"));
    }

    /// A file's bytes come back as kept, text or hex; anything else is refused.
    #[test]
    fn kept_bytes_read_text_or_hex_only() {
        let kept = |json: &str| read(json, KeptBytes::from_json);
        assert_eq!(kept(r#"{"text":"x"}"#), Ok(KeptBytes(b"x".to_vec())));
        assert_eq!(kept(r#"{"hex":"ff00"}"#), Ok(KeptBytes(vec![0xff, 0])));
        assert_eq!(kept(r#"{"hex":""}"#), Ok(KeptBytes(vec![])));
        assert_eq!(kept(r#"{"hex":"f"}"#), Err("hex: bad hex at 0".into()));
        assert_eq!(kept(r#"{"hex":"ffzz"}"#), Err("hex: bad hex at 2".into()));
        assert_eq!(
            kept(r#"{"hex":1}"#),
            Err("hex: expected a string, found a number".into())
        );
        assert_eq!(
            kept(r#"{"base64":"eA=="}"#),
            Err("unknown variant `base64`, expected one of `text`, `hex`".into())
        );
        for bad in [r#"{"text":"x","hex":"78"}"#, "{}", r#""x""#] {
            assert!(kept(bad)
                .unwrap_err()
                .starts_with("expected an object with one field, text or hex"));
        }
        let fingerprint = read(
            r#"{"what":"file_bytes","path":"/p","size":0,"committed":"1:00"}"#,
            Before::from_json,
        );
        assert!(matches!(
            fingerprint,
            Ok(Before::FileBytes { committed: Some(Fingerprint(f)), .. }) if f == "1:00"
        ));
        let failure = |json: &str| read(json, Failure::from_json);
        assert_eq!(
            failure(r#"{"action":2,"error":"e"}"#),
            Ok(Failure {
                action: 2,
                error: "e".into()
            })
        );
        assert_eq!(
            failure(r#"{"action":-1,"error":"e"}"#),
            Err("action: expected a non-negative integer, found a number".into())
        );
    }

    #[test]
    fn ids_from_outside_cannot_escape_the_directory() {
        for bad in ["../../etc/passwd", "", "a/b", "-x", "x.json"] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert!(valid_id("20261125T120000Z-1"));
    }
}
