//! Apply and revert: the one stage that changes the router.
//!
//! Rules (openwrt-facts §4.2, pitfall 7): a config with staged changes that are not camguard's is
//! never committed (rpcd's commit without a session commits the whole shared delta); while a
//! LuCI apply-with-rollback is pending, commit and revert answer PERMISSION_DENIED, so camguard
//! probes with a no-op revert first and leaves such configs for later; the journal entry holding
//! every previous value is written before the first change.
pub mod journal;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde::Serialize;
use serde_json::{json, Value};

use crate::bus::Bus;
use crate::bus::{status, BusError};
use crate::formats::leases::parse_leases;
use crate::plan::{Action, Step, UciValue};
use crate::ports::Protocol;
use crate::source::RootDir;
pub use journal::{Before, Entry, Journal, State};

/// One verification after applying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

/// What `enforce` and `revoke` report (docs/ubus-api.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub journal_id: Option<String>,
    pub actions: Vec<Action>,
    pub applied: usize,
    pub failed: Vec<Value>,
    /// Waiting for a LuCI apply-with-rollback to end; the daemon retries them.
    pub pending: Vec<Action>,
    pub verified: Vec<Check>,
    /// ubus went away mid-way: the journal entry stays `applying` until `recover` rolls it back.
    #[serde(skip)]
    pub interrupted: bool,
}

impl Outcome {
    /// Nothing was applied (a dry run, no executor, ubus unreachable): `failed` says why.
    pub fn unchanged(actions: Vec<Action>, failed: Vec<Value>) -> Outcome {
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

/// What `revert` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reverted {
    pub journal_id: String,
    pub reverted: usize,
    pub failed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertError {
    /// No such entry, or nothing left to revert (ubus NOT_FOUND).
    NotFound(String),
    /// Foreign staged changes or a pending LuCI apply: try again later.
    Blocked(String),
}

impl std::fmt::Display for RevertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevertError::NotFound(m) | RevertError::Blocked(m) => f.write_str(m),
        }
    }
}

/// Carries out actions on one router: UCI and services through rpcd over ubus, lease files and
/// nft rules locally (camguard runs on the router; with --sysroot under that directory).
pub struct Executor<'a> {
    pub bus: &'a mut dyn Bus,
    /// The router's root for local files and the journal ("/" on a router).
    pub root: PathBuf,
    /// Whether nft rules may be deleted by handle (false: fall back to restarting miniupnpd).
    pub nft: bool,
    /// miniupnpd's lease file (router path), as the snapshot read it.
    pub lease_file: String,
}

fn uci(bus: &mut dyn Bus, method: &str, args: Value) -> Result<Value, BusError> {
    bus.call("uci", method, &args)
}

/// How long an init script may take: rpcd answers `rc init` only when the script exits, and
/// starting miniupnpd on a busy router takes longer than an ordinary call's deadline.
const INIT_SCRIPT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// `rc init {name, action}`.
fn rc_init(bus: &mut dyn Bus, name: &str, action: &str) -> Result<Value, BusError> {
    bus.call_within(
        "rc",
        "init",
        &json!({ "name": name, "action": action }),
        INIT_SCRIPT_DEADLINE,
    )
}

fn to_value(v: &UciValue) -> Value {
    match v {
        UciValue::Single(s) => json!(s),
        UciValue::List(l) => json!(l),
    }
}

fn from_value(v: &Value) -> Option<UciValue> {
    match v {
        Value::String(s) => Some(UciValue::Single(s.clone())),
        Value::Array(a) => Some(UciValue::List(
            a.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        )),
        _ => None,
    }
}

/// A config's sections in order (`uci get` answers with `.index`).
fn section_order(bus: &mut dyn Bus, config: &str) -> Result<Vec<String>, BusError> {
    let reply = uci(bus, "get", json!({ "config": config }))?;
    let mut sections: Vec<(u64, String)> = reply["values"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (v[".index"].as_u64().unwrap_or(u64::MAX), k.clone()))
                .collect()
        })
        .unwrap_or_default();
    sections.sort();
    Ok(sections.into_iter().map(|(_, n)| n).collect())
}

impl Executor<'_> {
    fn files(&self) -> Option<RootDir> {
        RootDir::open(&self.root).ok()
    }

    fn host_path(&self, router_path: &str) -> Option<PathBuf> {
        self.files()?.host_path(router_path)
    }

    /// Why a config cannot be committed now: foreign staged changes (Err) or a pending LuCI
    /// apply (Ok(true)); Ok(false) when it can. Changes camguard staged itself just before a
    /// LuCI apply-with-rollback refused their commit are dropped here, so the values read next
    /// are the committed ones and the steps run again.
    fn commit_blocked(&mut self, config: &str) -> Result<bool, String> {
        // With nothing staged the revert is a no-op: refused with PERMISSION_DENIED exactly
        // while an apply-with-rollback is pending, and unlike commit it sends no config.change
        // event.
        match self
            .revert_staged_if_ours(config, Self::pending_keys)
            .map_err(|foreign| format!("{foreign}, then enforce again"))?
        {
            Ok(_) => Ok(false),
            Err(BusError::Status(status::PERMISSION_DENIED)) => Ok(true),
            Err(e) => Err(format!("uci revert {config}: {e}")),
        }
    }

    /// `uci revert {config}` when every change staged there is one of `ours` (asked for only
    /// when something is staged); the revert's own result, or Err saying the staged changes
    /// are someone else's, which camguard neither commits nor discards.
    fn revert_staged_if_ours(
        &mut self,
        config: &str,
        ours: impl FnOnce(&Self) -> BTreeSet<Key>,
    ) -> Result<Result<Value, BusError>, String> {
        let changes = uci(self.bus, "changes", json!({ "config": config }))
            .map_err(|e| format!("uci changes {config}: {e}"))?;
        if let Some(changes) = changes["changes"].as_array().filter(|c| !c.is_empty()) {
            if !all_staged_are(&ours(self), config, changes) {
                return Err(format!(
                    "{config} has staged changes that are not camguard's (see `uci changes \
                     {config}`); commit or revert them"
                ));
            }
        }
        Ok(uci(self.bus, "revert", json!({ "config": config })))
    }

    /// What the newest journal entry with actions waiting for a LuCI apply staged for them,
    /// less what a later entry applied (then the staged value is no longer camguard's).
    fn pending_keys(&self) -> BTreeSet<Key> {
        let mut applied_later = BTreeSet::new();
        for entry in Journal::new(&self.root).entries() {
            if entry.state == State::Partial && !entry.pending.is_empty() {
                let mut keys = BTreeSet::new();
                for a in entry.pending.iter().filter_map(|&i| entry.actions.get(i)) {
                    step_keys(&a.step, &mut keys);
                }
                return keys.difference(&applied_later).cloned().collect();
            }
            for a in entry.applied.iter().filter_map(|&i| entry.actions.get(i)) {
                step_keys(&a.step, &mut applied_later);
            }
        }
        BTreeSet::new()
    }

    /// What is about to change, read just before changing it.
    fn record_before(
        &mut self,
        actions: &[Action],
        skip: &BTreeSet<String>,
    ) -> Result<Vec<Before>, String> {
        let mut before = Vec::new();
        let mut tails: BTreeMap<(String, String), Vec<(String, UciValue)>> = BTreeMap::new();
        let mut services_seen = BTreeSet::new();
        let mut orders_seen = BTreeSet::new();
        for a in actions {
            if a.step.config().is_some_and(|c| skip.contains(c)) {
                continue;
            }
            match &a.step {
                Step::UciSet {
                    config,
                    section,
                    option,
                    ..
                }
                | Step::UciDelete {
                    config,
                    section,
                    option: Some(option),
                } => {
                    let value = match uci(
                        self.bus,
                        "get",
                        json!({ "config": config, "section": section, "option": option }),
                    ) {
                        Ok(v) => from_value(&v["value"]),
                        Err(BusError::Status(status::NOT_FOUND)) => None,
                        Err(e) => return Err(format!("uci get {config}.{section}.{option}: {e}")),
                    };
                    if value.is_some() {
                        self.record_tail(&mut tails, config, section, option)?;
                    }
                    before.push(Before::Option {
                        config: config.clone(),
                        section: section.clone(),
                        option: option.clone(),
                        value,
                    });
                }
                Step::UciDelete {
                    config,
                    section,
                    option: None,
                } => {
                    let v = uci(
                        self.bus,
                        "get",
                        json!({ "config": config, "section": section }),
                    )
                    .map_err(|e| format!("uci get {config}.{section}: {e}"))?;
                    let values = v["values"].as_object().cloned().unwrap_or_default();
                    before.push(Before::DeletedSection {
                        config: config.clone(),
                        section: section.clone(),
                        r#type: values
                            .get(".type")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        values: values
                            .iter()
                            .filter(|(k, _)| !k.starts_with('.'))
                            .filter_map(|(k, v)| Some((k.clone(), from_value(v)?)))
                            .collect(),
                    });
                }
                Step::UciAdd { config, name, .. } => {
                    before.push(Before::AddedSection {
                        config: config.clone(),
                        section: name.clone(),
                    });
                }
                Step::UciOrder { config, .. } => {
                    if orders_seen.insert(config.clone()) {
                        let sections = section_order(self.bus, config)
                            .map_err(|e| format!("uci get {config}: {e}"))?;
                        before.push(Before::Order {
                            config: config.clone(),
                            sections,
                        });
                    }
                }
                Step::Service { name, .. } => {
                    if services_seen.insert(name.clone()) {
                        let rc = self.bus.call("rc", "list", &json!({ "name": name })).ok();
                        let entry = rc.as_ref().and_then(|r| r.get(name.as_str()));
                        before.push(Before::Service {
                            name: name.clone(),
                            enabled: entry.and_then(|e| e["enabled"].as_bool()),
                            running: entry.and_then(|e| e["running"].as_bool()),
                        });
                    }
                }
                Step::TruncateFile { path } => {
                    let content = self
                        .host_path(path)
                        .and_then(|p| std::fs::read(p).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    before.push(Before::File {
                        path: path.clone(),
                        content,
                    });
                }
                Step::RevokeMapping {
                    proto,
                    ext_port,
                    int_addr,
                    int_port,
                    ..
                } => {
                    let lines = self.lease_lines_matching(*proto, *ext_port, *int_addr, *int_port);
                    before.push(Before::LeaseLines {
                        path: self.lease_file.clone(),
                        lines,
                    });
                }
            }
        }
        before.extend(
            tails
                .into_iter()
                .map(|((config, section), options)| Before::SectionTail {
                    config,
                    section,
                    options,
                }),
        );
        Ok(before)
    }

    /// Remembers the section's options from `option` on (the longest tail wins when several
    /// options of one section change).
    fn record_tail(
        &mut self,
        tails: &mut BTreeMap<(String, String), Vec<(String, UciValue)>>,
        config: &str,
        section: &str,
        option: &str,
    ) -> Result<(), String> {
        let v = uci(
            self.bus,
            "get",
            json!({ "config": config, "section": section }),
        )
        .map_err(|e| format!("uci get {config}.{section}: {e}"))?;
        let options: Vec<(String, UciValue)> = v["values"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !k.starts_with('.'))
                    .filter_map(|(k, v)| Some((k.clone(), from_value(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        let Some(start) = options.iter().position(|(k, _)| k == option) else {
            return Ok(());
        };
        let tail = options[start..].to_vec();
        let key = (config.to_owned(), section.to_owned());
        if tails.get(&key).is_none_or(|t| t.len() < tail.len()) {
            tails.insert(key, tail);
        }
        Ok(())
    }

    /// The raw lines of the lease file that are this mapping (every field compared).
    fn lease_lines_matching(
        &self,
        proto: Protocol,
        ext: u16,
        addr: std::net::IpAddr,
        int: u16,
    ) -> Vec<String> {
        let Some(path) = self.host_path(&self.lease_file) else {
            return Vec::new();
        };
        let Ok(bytes) = std::fs::read(path) else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .filter(|line| {
                parse_leases(line.as_bytes())
                    .entries
                    .first()
                    .is_some_and(|l| {
                        l.proto == proto
                            && l.ext_port == ext
                            && std::net::IpAddr::V4(l.int_addr) == addr
                            && l.int_port == int
                    })
            })
            .map(str::to_owned)
            .collect()
    }

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
            match self.commit_blocked(c) {
                Ok(true) => {
                    pending_configs.insert(c.clone());
                }
                Ok(false) => {}
                Err(e) => {
                    blocked.insert(c.clone(), e);
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
                    .push(json!({ "action": null, "error": format!("{e}; nothing was changed") }));
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
        if let Err(e) = journal.write(&entry) {
            outcome.failed.push(json!({
                "action": null,
                "error": format!("cannot write the journal in {} ({e}); nothing was changed", journal.dir().display())
            }));
            return outcome;
        }

        let mut restart_miniupnpd = false;
        let mut dirty: BTreeSet<String> = BTreeSet::new();
        let mut interrupted: Option<BusError> = None;
        for (i, a) in actions.iter().enumerate() {
            if let Some(config) = a.step.config() {
                if let Some(why) = blocked.get(config) {
                    entry.failed.push(journal::Failure {
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
                Err(e) if e.interrupts() => {
                    interrupted = Some(e);
                    break;
                }
                Err(e) => entry.failed.push(journal::Failure {
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
                                    entry.failed.push(journal::Failure {
                                        action: j,
                                        error: format!("uci commit {c}: {e}"),
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
        if let Some(e) = interrupted {
            // The entry stays `applying`: what was staged or changed so far is rolled back by
            // `recover` once ubus answers again, as after a crash.
            let _ = journal.write(&entry);
            log::warn!(
                "enforcement {} interrupted ({e}); it is rolled back once ubus answers again",
                entry.id
            );
            outcome.journal_id = Some(entry.id.clone());
            outcome.interrupted = true;
            outcome.failed.push(json!({
                "action": null,
                "error": format!(
                    "ubus went away mid-way ({e}); camguard rolls back journal entry {} as soon as \
                     ubus answers again", entry.id)
            }));
            return outcome;
        }
        if restart_miniupnpd {
            // Fallback for a revoke without nft: miniupnpd rebuilds its rules from the edited
            // lease file (slow with many leases: its start-up replay is quadratic).
            if let Err(e) = rc_init(self.bus, "miniupnpd", "restart") {
                entry.failed.push(journal::Failure {
                    action: actions.len(),
                    error: format!("restart miniupnpd: {e}"),
                });
            }
        }
        entry.state = if entry.failed.is_empty() && entry.pending.is_empty() {
            State::Applied
        } else {
            State::Partial
        };
        if let Err(e) = journal.write(&entry) {
            log::error!("cannot update journal entry {}: {e}", entry.id);
        }
        outcome.journal_id = Some(entry.id.clone());
        outcome.applied = entry.applied.len();
        outcome.failed = entry
            .failed
            .iter()
            .map(|f| json!({ "action": actions.get(f.action), "error": f.error }))
            .collect();
        outcome.pending = entry.pending.iter().map(|&i| actions[i].clone()).collect();
        outcome.verified = self.verify(&actions, &entry.applied);
        outcome
    }

    /// Runs one step. Local file errors come back as `BusError::Other`.
    fn run(&mut self, step: &Step, restart_miniupnpd: &mut bool) -> Result<(), BusError> {
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
                return self.write_file(path, b"").map_err(BusError::Other);
            }
            Step::RevokeMapping {
                proto,
                ext_port,
                int_addr,
                int_port,
                nft_handles,
            } => {
                self.remove_lease_lines(*proto, *ext_port, *int_addr, *int_port)
                    .map_err(BusError::Other)?;
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
        r.map(|_| ())
    }

    /// Writes a router file atomically (temporary file in the same directory, then rename).
    fn write_file(&self, router_path: &str, bytes: &[u8]) -> Result<(), String> {
        let path = self
            .host_path(router_path)
            .ok_or_else(|| format!("{router_path}: not inside the router root"))?;
        let tmp = path.with_extension("camguard-tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("{router_path}: {e}")
            })
    }

    /// Drops the mapping's lines from the lease file. miniupnpd appends to it and rewrites it
    /// through a rename, so the file is re-read right before the replace; lines it added in
    /// between are kept.
    fn remove_lease_lines(
        &self,
        proto: Protocol,
        ext: u16,
        addr: std::net::IpAddr,
        int: u16,
    ) -> Result<(), String> {
        let Some(path) = self.host_path(&self.lease_file) else {
            return Ok(());
        };
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(());
        };
        let doomed = self.lease_lines_matching(proto, ext, addr, int);
        let text = String::from_utf8_lossy(&bytes);
        let kept: String = text
            .lines()
            .filter(|l| !doomed.iter().any(|d| d == l))
            .map(|l| format!("{l}\n"))
            .collect();
        self.write_file(&self.lease_file.clone(), kept.as_bytes())
    }

    /// Checks that what was applied took effect.
    fn verify(&mut self, actions: &[Action], applied: &[usize]) -> Vec<Check> {
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

    /// Undoes a journal entry (the newest not yet reverted when `id` is None).
    pub fn revert(&mut self, id: Option<&str>) -> Result<Reverted, RevertError> {
        let journal = Journal::new(&self.root);
        let mut entry = match id {
            Some(id) => journal
                .read(id)
                .map_err(|e| RevertError::NotFound(e.to_string()))?,
            None => journal
                .entries()
                .into_iter()
                .find(|e| e.state != State::Reverted)
                .ok_or_else(|| {
                    RevertError::NotFound("nothing to revert: the journal is empty".into())
                })?,
        };
        if entry.state == State::Reverted {
            return Err(RevertError::NotFound(format!(
                "journal entry {} is already reverted",
                entry.id
            )));
        }
        let configs: BTreeSet<String> = entry
            .before
            .iter()
            .filter_map(|b| match b {
                Before::Option { config, .. }
                | Before::SectionTail { config, .. }
                | Before::AddedSection { config, .. }
                | Before::DeletedSection { config, .. }
                | Before::Order { config, .. } => Some(config.clone()),
                _ => None,
            })
            .collect();
        for c in &configs {
            match self.commit_blocked(c) {
                Ok(false) => {}
                Ok(true) => {
                    return Err(RevertError::Blocked(format!(
                        "a LuCI apply is pending on {c}; revert again once it is confirmed"
                    )))
                }
                Err(e) => return Err(RevertError::Blocked(e)),
            }
        }
        let mut tally = Tally::default();
        // Values first, then sections, then order: the order restore sees the final set.
        for b in entry.before.iter().rev() {
            if let Before::Option {
                config,
                section,
                option,
                value,
            } = b
            {
                let r = match value {
                    Some(v) => uci(
                        self.bus,
                        "set",
                        json!({ "config": config, "section": section, "values": { option: to_value(v) } }),
                    ),
                    None => uci(
                        self.bus,
                        "delete",
                        json!({ "config": config, "section": section, "option": option }),
                    ),
                };
                tally.note_bus(r, format!("restore {config}.{section}.{option}"));
            }
        }
        for b in &entry.before {
            if let Before::SectionTail {
                config,
                section,
                options,
            } = b
            {
                for (option, _) in options {
                    let r = uci(
                        self.bus,
                        "delete",
                        json!({ "config": config, "section": section, "option": option }),
                    );
                    tally.note_bus(r, format!("clear {config}.{section}.{option}"));
                }
                for (option, value) in options {
                    let args = json!({ "config": config, "section": section, "values": { option: to_value(value) } });
                    let r = uci(self.bus, "set", args);
                    tally.note_bus(r, format!("restore {config}.{section}.{option}"));
                }
            }
        }
        for b in entry.before.iter().rev() {
            match b {
                Before::AddedSection { config, section } => {
                    let r = uci(
                        self.bus,
                        "delete",
                        json!({ "config": config, "section": section }),
                    );
                    // Not there: the interrupted enforcement never got to add it.
                    let r = match r {
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
                    let values: serde_json::Map<String, Value> = values
                        .iter()
                        .map(|(k, v)| (k.clone(), to_value(v)))
                        .collect();
                    let r = uci(
                        self.bus,
                        "add",
                        json!({ "config": config, "type": r#type, "name": section, "values": values }),
                    );
                    tally.note_bus(r, format!("re-add {config}.{section}"));
                }
                _ => {}
            }
        }
        for b in &entry.before {
            if let Before::Order { config, sections } = b {
                let now = section_order(self.bus, config).unwrap_or_default();
                let mut order: Vec<&String> = sections.iter().filter(|s| now.contains(s)).collect();
                order.extend(now.iter().filter(|s| !sections.contains(s)));
                let r = uci(
                    self.bus,
                    "order",
                    json!({ "config": config, "sections": order }),
                );
                tally.note_bus(r, format!("restore the order of {config}"));
            }
        }
        for c in &configs {
            let r = uci(self.bus, "commit", json!({ "config": c }));
            tally.note_bus(r, format!("commit {c}"));
        }
        let mut replay = false;
        for b in &entry.before {
            match b {
                Before::File { path, content } => {
                    let r = self.write_file(path, content.as_bytes());
                    replay |= tally.note(r, format!("restore {path}"));
                }
                Before::LeaseLines { path, lines } if !lines.is_empty() => {
                    let current = self
                        .host_path(path)
                        .and_then(|p| std::fs::read(p).ok())
                        .unwrap_or_default();
                    let mut text = String::from_utf8_lossy(&current).into_owned();
                    for l in lines {
                        if !text.lines().any(|x| x == l) {
                            text.push_str(l);
                            text.push('\n');
                        }
                    }
                    let r = self.write_file(path, text.as_bytes());
                    replay |= tally.note(r, format!("restore {path}"));
                }
                _ => {}
            }
        }
        for b in &entry.before {
            if let Before::Service {
                name,
                enabled,
                running,
            } = b
            {
                if *enabled == Some(true) {
                    let r = rc_init(self.bus, name, "enable");
                    tally.note_bus(r, format!("enable {name}"));
                }
                if *running == Some(true) {
                    // A restart makes miniupnpd replay the restored lease lines.
                    let action = if replay { "restart" } else { "start" };
                    let r = rc_init(self.bus, name, action);
                    tally.note_bus(r, format!("{action} {name}"));
                }
            }
        }
        if let Some(e) = tally.interrupted {
            // Left as it was (`applying` stays `applying`): recovery runs it again, and every
            // step of a revert can run twice.
            return Err(RevertError::Blocked(format!(
                "ubus went away during the revert of {} ({e}); run it again once ubus answers",
                entry.id
            )));
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

    /// Reverts the staged (uncommitted) changes an interrupted entry left in its configs. A
    /// config whose staged changes touch anything the entry does not is left alone: those
    /// changes may be someone else's, and are never committed or discarded by camguard.
    fn discard_staged_leftovers(&mut self, entry: &Entry) -> Result<(), String> {
        let ours = entry_keys(entry);
        let configs: BTreeSet<&str> = ours.iter().map(|(c, _, _)| c.as_str()).collect();
        for config in configs {
            self.revert_staged_if_ours(config, |_| ours.clone())?
                .map_err(|e| format!("uci revert {config}: {e}"))?;
        }
        Ok(())
    }
}

/// What `recover` did, and whether anything is left to roll back.
#[derive(Debug, Default)]
pub struct Recovery {
    pub log: Vec<String>,
    pub stuck: bool,
}

/// (config, section, option) a change touches; option None for a whole section (added,
/// deleted, reordered).
type Key = (String, String, Option<String>);

fn add_key(keys: &mut BTreeSet<Key>, config: &str, section: &str, option: Option<&str>) {
    keys.insert((
        config.to_owned(),
        section.to_owned(),
        option.map(str::to_owned),
    ));
}

/// What a UCI step stages.
fn step_keys(step: &Step, keys: &mut BTreeSet<Key>) {
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
fn before_keys(before: &Before, keys: &mut BTreeSet<Key>) {
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
fn entry_keys(entry: &Entry) -> BTreeSet<Key> {
    let held_back: BTreeSet<usize> = entry
        .failed
        .iter()
        .map(|f| f.action)
        .chain(entry.pending.iter().copied())
        .collect();
    let mut keys = BTreeSet::new();
    for (i, a) in entry.actions.iter().enumerate() {
        if !held_back.contains(&i) {
            step_keys(&a.step, &mut keys);
        }
    }
    for b in &entry.before {
        before_keys(b, &mut keys);
    }
    keys
}

/// Whether every change rpcd reports staged in `config` is one of `keys`.
fn all_staged_are(keys: &BTreeSet<Key>, config: &str, changes: &[Value]) -> bool {
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
            if e.interrupts() && self.interrupted.is_none() {
                self.interrupted = Some(e.clone());
            }
        }
        self.note(r, what)
    }
}

/// `nft delete rule inet fw4 <chain> handle <n>`.
fn delete_rule(chain: &str, handle: u64) -> Result<(), String> {
    if !chain.starts_with("upnp_") {
        return Err(format!(
            "refusing to delete from chain {chain}: only the upnp chains are camguard's to edit"
        ));
    }
    let out = Command::new("nft")
        .args([
            "delete",
            "rule",
            "inet",
            "fw4",
            chain,
            "handle",
            &handle.to_string(),
        ])
        .output()
        .map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft delete rule {chain} handle {handle}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rpcd as a script: every call is recorded and answered by `answer`.
    struct ScriptedRpcd<F: FnMut(&str, &str, &Value) -> Result<Value, BusError>> {
        answer: F,
        calls: Vec<(String, String, Value)>,
    }

    impl<F: FnMut(&str, &str, &Value) -> Result<Value, BusError>> Bus for ScriptedRpcd<F> {
        fn call(&mut self, object: &str, method: &str, args: &Value) -> Result<Value, BusError> {
            self.calls
                .push((object.to_owned(), method.to_owned(), args.clone()));
            (self.answer)(object, method, args)
        }
    }

    fn disable_redirect() -> Action {
        Action {
            step: Step::UciSet {
                config: "firewall".into(),
                section: "cfg083837".into(),
                option: "enabled".into(),
                value: UciValue::Single("0".into()),
            },
            why: "test".into(),
            finding: None,
        }
    }

    fn executor<'a>(bus: &'a mut dyn Bus, root: &std::path::Path) -> Executor<'a> {
        Executor {
            bus,
            root: root.to_path_buf(),
            nft: false,
            lease_file: "/var/run/miniupnpd.leases".into(),
        }
    }

    /// Enforces `disable_redirect` at `now` through `bus`.
    fn disable_redirect_through(bus: &mut dyn Bus, root: &std::path::Path, now: u64) -> Outcome {
        executor(bus, root).enforce(vec![disable_redirect()], "enforce", now, false)
    }

    /// Enforces `disable_redirect` against an rpcd whose commit answers `refusal`.
    fn enforce_with_commit_refused(
        root: &std::path::Path,
        refusal: i32,
    ) -> (Outcome, Vec<(String, String, Value)>) {
        let mut rpcd = ScriptedRpcd {
            answer: move |_: &str, method: &str, _: &Value| match method {
                "changes" => Ok(json!({ "changes": [] })),
                "get" => Err(BusError::Status(status::NOT_FOUND)),
                "commit" => Err(BusError::Status(refusal)),
                _ => Ok(json!({})),
            },
            calls: vec![],
        };
        let outcome = disable_redirect_through(&mut rpcd, root, 1_795_608_000);
        (outcome, rpcd.calls)
    }

    /// The config held staged changes that are not camguard's: nothing reverted, set or
    /// committed, and the reply says why.
    fn assert_left_alone(outcome: &Outcome, calls: &[(String, String, Value)]) {
        assert_eq!(outcome.applied, 0);
        assert!(outcome.failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("not camguard's"));
        assert!(calls
            .iter()
            .all(|c| c.1 != "revert" && c.1 != "set" && c.1 != "commit"));
    }

    fn temp_root(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("camguard-apply-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A commit refused for another reason than a pending LuCI apply: camguard's staged set is
    /// reverted, so no one else's next `uci commit` applies it behind the journal's back.
    #[test]
    fn a_failed_commit_does_not_leave_camguards_change_staged() {
        let root = temp_root("commit-fails");
        let (outcome, rpcd_calls) = enforce_with_commit_refused(&root, status::UNKNOWN_ERROR);
        let methods: Vec<&str> = rpcd_calls.iter().map(|c| c.1.as_str()).collect();
        let commit = methods
            .iter()
            .position(|m| *m == "commit")
            .expect("a commit");
        assert_eq!(
            methods[commit + 1..].first(),
            Some(&"revert"),
            "{methods:?}"
        );
        assert_eq!(rpcd_calls[commit + 1].2, json!({ "config": "firewall" }));
        assert_eq!(outcome.applied, 0);
        assert!(outcome.failed[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("uci commit firewall"));
        std::fs::remove_dir_all(&root).ok();
    }

    /// ubus gone between the set and the commit: the entry stays `applying` for `recover`, and
    /// `recover` discards the staged set first (it is the entry's own), then reverts.
    #[test]
    fn an_interrupted_enforcement_is_left_applying_and_recovered() {
        let root = temp_root("interrupted");
        let mut up = true;
        let mut rpcd = ScriptedRpcd {
            answer: move |_: &str, method: &str, _: &Value| match method {
                _ if !up => Err(BusError::Disconnected),
                "changes" => Ok(json!({ "changes": [] })),
                "get" => Err(BusError::Status(status::NOT_FOUND)),
                "commit" => {
                    up = false;
                    Err(BusError::Disconnected)
                }
                _ => Ok(json!({})),
            },
            calls: vec![],
        };
        let outcome = disable_redirect_through(&mut rpcd, &root, 1_795_608_000);
        assert!(outcome.interrupted);
        let id = outcome.journal_id.clone().unwrap();
        assert_eq!(
            Journal::new(&root).read(&id).unwrap().state,
            State::Applying
        );

        // ubus is back: the savedir still holds the set, and the entry made exactly that change.
        let mut staged = true;
        let mut rpcd = ScriptedRpcd {
            answer: move |_: &str, method: &str, args: &Value| match method {
                "changes" if staged && args["config"] == "firewall" => Ok(json!({
                    "changes": [["set", "cfg083837", "enabled", "0"]]
                })),
                "changes" => Ok(json!({ "changes": [] })),
                "revert" => {
                    staged = false;
                    Ok(json!({}))
                }
                _ => Ok(json!({})),
            },
            calls: vec![],
        };
        let recovery = executor(&mut rpcd, &root).recover();
        assert!(!recovery.stuck, "{:?}", recovery.log);
        assert!(rpcd
            .calls
            .iter()
            .any(|c| c.1 == "revert" && c.2 == json!({ "config": "firewall" })));
        assert_eq!(
            Journal::new(&root).read(&id).unwrap().state,
            State::Reverted
        );
        std::fs::remove_dir_all(&root).ok();
    }

    /// A staged change the entry did not make (another option of the same section) keeps the
    /// whole config out of the rollback: nothing of it is discarded, recovery waits.
    #[test]
    fn recovery_never_discards_a_change_the_entry_did_not_make() {
        let root = temp_root("foreign");
        let journal = Journal::new(&root);
        let entry = Entry {
            id: journal.new_id(1_795_608_000),
            time: 1_795_608_000,
            reason: "enforce".into(),
            state: State::Applying,
            actions: vec![disable_redirect()],
            before: vec![Before::Option {
                config: "firewall".into(),
                section: "cfg083837".into(),
                option: "enabled".into(),
                value: None,
            }],
            applied: vec![],
            failed: vec![],
            pending: vec![],
        };
        journal.write(&entry).unwrap();
        let mut rpcd = ScriptedRpcd {
            answer: |_: &str, method: &str, _: &Value| match method {
                "changes" => Ok(json!({ "changes": [
                    ["set", "cfg083837", "enabled", "0"],
                    ["set", "cfg083837", "dest_port", "8080"]
                ]})),
                _ => Ok(json!({})),
            },
            calls: vec![],
        };
        let recovery = executor(&mut rpcd, &root).recover();
        assert!(recovery.stuck);
        assert!(
            rpcd.calls
                .iter()
                .all(|c| c.1 != "revert" && c.1 != "commit"),
            "{:?}",
            rpcd.calls
        );
        assert_eq!(journal.read(&entry.id).unwrap().state, State::Applying);
        std::fs::remove_dir_all(&root).ok();
    }

    /// A LuCI apply-with-rollback starts between camguard's set and its commit: the set stays
    /// staged and waits. Once the apply is confirmed, the retry finds that staged set, knows it
    /// for its own, drops it and applies again; a staged change it did not make still blocks.
    #[test]
    fn a_set_staged_before_a_luci_apply_is_retried_not_taken_for_foreign() {
        let root = temp_root("pending-race");
        let (first, _) = enforce_with_commit_refused(&root, status::PERMISSION_DENIED);
        assert_eq!(first.pending.len(), 1, "{first:?}");

        let staged_then = |extra: Option<Value>| {
            let mut staged = true;
            move |_: &str, method: &str, _: &Value| match method {
                "changes" if staged => {
                    let mut changes = vec![json!(["set", "cfg083837", "enabled", "0"])];
                    changes.extend(extra.clone());
                    Ok(json!({ "changes": changes }))
                }
                "changes" => Ok(json!({ "changes": [] })),
                "revert" => {
                    staged = false;
                    Ok(json!({}))
                }
                "get" => Err(BusError::Status(status::NOT_FOUND)),
                _ => Ok(json!({})),
            }
        };
        let mut rpcd = ScriptedRpcd {
            answer: staged_then(None),
            calls: vec![],
        };
        let retry = disable_redirect_through(&mut rpcd, &root, 1_795_608_060);
        assert_eq!(retry.applied, 1, "{retry:?}");
        assert!(
            retry.failed.is_empty() && retry.pending.is_empty(),
            "{retry:?}"
        );
        let methods: Vec<&str> = rpcd.calls.iter().map(|c| c.1.as_str()).collect();
        let revert = methods.iter().position(|m| *m == "revert").unwrap();
        let set = methods.iter().position(|m| *m == "set").unwrap();
        assert!(revert < set, "{methods:?}");

        // Applied since: the same set staged again is someone else's now, and blocks.
        let mut rpcd = ScriptedRpcd {
            answer: staged_then(None),
            calls: vec![],
        };
        let blocked = disable_redirect_through(&mut rpcd, &root, 1_795_608_120);
        assert_left_alone(&blocked, &rpcd.calls);
        std::fs::remove_dir_all(&root).ok();
    }

    /// The same race, and a staged change beside camguard's that it did not make: the config
    /// is left alone, neither reverted nor committed.
    #[test]
    fn a_foreign_change_beside_camguards_pending_set_blocks_the_retry() {
        let root = temp_root("pending-foreign");
        let (first, _) = enforce_with_commit_refused(&root, status::PERMISSION_DENIED);
        assert_eq!(first.pending.len(), 1);
        let mut rpcd = ScriptedRpcd {
            answer: |_: &str, method: &str, _: &Value| match method {
                "changes" => Ok(json!({ "changes": [
                    ["set", "cfg083837", "enabled", "0"],
                    ["set", "cfg083837", "dest_port", "8080"]
                ]})),
                _ => Ok(json!({})),
            },
            calls: vec![],
        };
        let blocked = disable_redirect_through(&mut rpcd, &root, 1_795_608_060);
        assert_left_alone(&blocked, &rpcd.calls);
        std::fs::remove_dir_all(&root).ok();
    }

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
