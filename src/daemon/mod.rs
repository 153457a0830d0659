//! `camguard daemon`: the `camguard` ubus object and the loop that keeps its answers current.
//!
//! One poll() loop over the provider connection, inotify (configs, lease files), a signalfd
//! (TERM: unregister and exit; HUP: reload the policy) and the timers (debounced re-audit, the
//! periodic audit, reconnect backoff). Outgoing calls (rpcd, events) use a second connection, as
//! ubus-zero needs. When ubusd restarts, both connections are re-established with backoff and
//! the object registered again.
mod appends;
mod methods;

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::apply::{Executor, Failure, Outcome};
use crate::audit::{Report, Severity, Subject};
use crate::bus::{Client, Provider};
use crate::encode::json;
use crate::facts::{Facts, Inventory};
use crate::json::Value;
use crate::plan::Action;
use crate::probe::{Listener, Worker};
use crate::snapshot::{Policy, Snapshot, CONFIGS};
use crate::sorted::{SortedMap, SortedSet};
use crate::source::live::{self, NftSource};
use crate::source::offline::{self, SEEN_FILE};
use crate::source::RootDir;
use crate::sys::{poll, Inotify, Signal, SignalFd};
use crate::time::unix_now;

/// The object's methods, one row each (docs/ubus-api.md).
pub use methods::{Access, Method, METHODS};

/// The broker's event for an object that registers: rpcd's coming up after camguard.
const OBJECT_ADDED: &str = "ubus.object.add";

/// A change is re-audited this long after the first event of a burst (a lease file rewritten
/// line by line, a commit touching several configs).
const DEBOUNCE: Duration = Duration::from_millis(200);
/// Mappings appended to the lease file that the policy has no objection to are audited at
/// most this long after the first of them: a device opening mappings many times a second
/// costs one audit per period, not one per mapping ([`appends`]). An audit at 5,000 mappings
/// costs ~0.2 s of CPU on the build machine: 10 s keeps a busy LAN under 5 % of a core.
const COALESCE: Duration = Duration::from_secs(10);
/// How long to wait before retrying actions a pending LuCI apply-with-rollback refused (LuCI's
/// default rollback timeout is 90 s; the owner usually confirms within seconds).
const RETRY_PENDING: Duration = Duration::from_secs(10);
/// After camguard commits the firewall config, procd reloads the firewall (its reload trigger
/// fires 1 s after config.change) and fw4's reload empties miniupnpd's chains (pitfall 3): look
/// for mappings that lost their rules this long after the commit, and once more for a slow
/// router.
const UPNP_CHECKS_AFTER_COMMIT: [Duration; 2] = [Duration::from_secs(3), Duration::from_secs(8)];
/// The journal reason of a restore after a firewall reload.
const RESTORE_UPNP: &str = "restore-upnp";
/// Each ubus call's deadline.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Reconnect backoff: first retry, and the longest wait between retries.
const BACKOFF_START: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(500);
/// Waits between attempts to roll back an interrupted enforcement: each attempt may block on
/// a hung rpcd for a call's deadline, so they thin out.
const RECOVER_START: Duration = Duration::from_millis(200);
const RECOVER_MAX: Duration = Duration::from_secs(30);

/// Where the daemon reads the router from.
#[derive(Debug, Clone)]
pub enum Source {
    /// An offline snapshot directory (demos, trying the LuCI app without a router).
    Root(PathBuf),
    /// The live router over ubus; local paths (leases, journal, watches, /dev/log) under `sysroot`.
    Live { sysroot: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub socket: String,
    pub source: Source,
    pub nft: NftSource,
}

impl Options {
    /// The directory local paths are taken relative to.
    fn local_root(&self) -> &Path {
        match &self.source {
            Source::Root(root) => root,
            Source::Live { sysroot } => sysroot,
        }
    }
}

/// What the last audit produced: everything the read-only methods answer from.
pub(crate) struct Audited {
    pub snapshot: Snapshot,
    pub inventory: Inventory,
    pub report: Report,
    /// What enforcement would do now.
    pub plan: Vec<Action>,
    /// The `status` reply, encoded once per audit: `status` is the hot call.
    pub status_blob: methods::Reply,
    /// Pages of the devices, mappings and forwards replies already encoded since the audit.
    pub list_replies: methods::ListReplies,
    /// See [`State::files_to_watch`].
    watched_files: SortedSet<PathBuf>,
}

impl Audited {
    fn new(snapshot: Snapshot) -> Audited {
        let inventory = Inventory::build(&snapshot);
        let (report, plan) = crate::plan::report_and_plan(&Facts::new(&snapshot, &inventory));
        Audited {
            status_blob: std::rc::Rc::new(status_reply(&report)),
            list_replies: methods::ListReplies::counted(&snapshot),
            snapshot,
            inventory,
            report,
            plan,
            watched_files: SortedSet::new(),
        }
    }

    /// The facts of the audited snapshot, for the methods that derive more from it.
    pub fn facts(&self) -> Facts<'_> {
        Facts::new(&self.snapshot, &self.inventory)
    }

    /// The policy the audit judged by (the shipped defaults when it is invalid).
    pub fn policy(&self) -> &Policy {
        static SHIPPED: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(Policy::default);
        self.snapshot.policy().unwrap_or(&SHIPPED)
    }
}

/// The outgoing ubus connection (calls to rpcd, events), connected on demand and dropped when
/// it breaks. The provider connection lives in [`run`]'s loop.
pub(crate) struct Links {
    socket: String,
    client: Option<Client>,
}

impl Links {
    /// The outgoing connection, connected on demand.
    pub fn client(&mut self) -> Option<&mut Client> {
        if self.client.is_none() {
            match Client::connect(&self.socket, CALL_TIMEOUT) {
                Ok(c) => self.client = Some(c),
                Err(e) => log::warn!("cannot connect to ubus at {}: {e}", self.socket),
            }
        }
        self.client.as_mut()
    }

    /// Forgets the connection; the next call connects afresh.
    pub fn drop_client(&mut self) {
        self.client = None;
    }

    /// Drops the connection if a call found it broken.
    fn drop_if_broken(&mut self) {
        if self.client.as_ref().is_some_and(Client::is_broken) {
            self.client = None;
        }
    }

    fn send_event(&mut self, name: &str, data: &Value) {
        if let Some(client) = self.client() {
            if let Err(e) = client.send_event(name, data) {
                log::warn!("cannot send {name}: {e}");
                self.client = None;
            }
        }
    }
}

/// Work the daemon owes besides answering calls, and when it is due.
#[derive(Default)]
struct Timers {
    /// Actions whose commit a pending LuCI apply-with-rollback refused, and when to try again.
    pending: Vec<Action>,
    /// The journal entry that holds them as `pending`, settled once they are applied.
    pending_entry: Option<String>,
    retry_due: Option<Instant>,
    /// When to try again to roll back an interrupted enforcement, and the wait after that.
    recover_due: Option<Instant>,
    recover_backoff: Duration,
    /// The last plan `enforce '1'` applied without full success: not retried on every audit.
    last_auto_plan: Option<Vec<Action>>,
    /// When to look for UPnP mappings a firewall reload after camguard's own commit emptied.
    upnp_checks: Vec<Instant>,
    /// A method changed the router and wants the next audit as soon as its reply is out.
    audit_now: bool,
}

impl Timers {
    fn schedule_recovery(&mut self) {
        let wait = self.recover_backoff.max(RECOVER_START);
        self.recover_backoff = (wait * 2).min(RECOVER_MAX);
        self.recover_due = Some(Instant::now() + wait);
    }

    /// rpcd's `uci` is back: a rollback waiting on its backoff runs now (the configs are
    /// half-applied until it does), once rpcd's other objects (`rc`) have registered too.
    fn recover_at_once(&mut self) {
        if self.recover_due.is_some() {
            self.recover_due = Some(Instant::now() + DEBOUNCE);
            self.recover_backoff = RECOVER_START;
        }
    }

    fn recovered(&mut self) {
        self.recover_due = None;
        self.recover_backoff = RECOVER_START;
    }

    fn schedule_upnp_checks(&mut self) {
        let now = Instant::now();
        self.upnp_checks = UPNP_CHECKS_AFTER_COMMIT.iter().map(|d| now + *d).collect();
    }

    /// The earliest moment something is due.
    fn next_due(&self) -> Option<Instant> {
        [
            self.retry_due,
            self.recover_due,
            self.upnp_checks.first().copied(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// The daemon: what the last audit produced, the bus links, the timers, and the LAN worker.
pub(crate) struct State {
    pub opts: Options,
    pub audited: Audited,
    pub links: Links,
    timers: Timers,
    /// Findings already announced, so that only new ones raise a `camguard.finding` event.
    announced: BTreeSet<(&'static str, Subject)>,
    first_audit_done: bool,
    /// The probe and password check (option probe, credential_check), off the poll loop.
    worker: Worker,
    /// What LAN devices announce by themselves (option listen): sockets on the poll loop.
    listener: Listener,
    /// How far miniupnpd's lease file has been read, so that appends are judged alone.
    lease_tail: appends::LeaseTail,
    /// Lines appended since the last audit want it now (a mapping to revoke, say).
    audit_urgent: bool,
}

impl State {
    fn new(opts: Options) -> Result<State, DaemonError> {
        let worker = Worker::new(opts.local_root()).map_err(|e| DaemonError::Os("pipe", e))?;
        let links = Links {
            socket: opts.socket.clone(),
            client: None,
        };
        Ok(State {
            opts,
            audited: Audited::new(Snapshot::new(unix_now(), "not audited yet")),
            links,
            timers: Timers::default(),
            announced: BTreeSet::new(),
            first_audit_done: false,
            worker,
            listener: Listener::default(),
            lease_tail: appends::LeaseTail::default(),
            audit_urgent: false,
        })
    }

    /// The read stage, for this daemon's source.
    fn read_snapshot(&mut self) -> Snapshot {
        let now = unix_now();
        let probes = &self.listener.reports(self.worker.probes());
        match &self.opts.source {
            Source::Root(root) => match RootDir::open(root) {
                Ok(files) => {
                    let nft = match &self.opts.nft {
                        NftSource::File(p) => {
                            std::fs::read(p).ok().map(|b| (p.display().to_string(), b))
                        }
                        _ => None,
                    };
                    offline::read(&files, now, nft, probes)
                }
                Err(e) => {
                    let mut s = Snapshot::new(now, root.display().to_string());
                    s.problem(root.display().to_string(), None, e.to_string());
                    s
                }
            },
            Source::Live { sysroot } => {
                let files = match RootDir::open(sysroot) {
                    Ok(f) => f,
                    Err(e) => {
                        let mut s = Snapshot::new(now, "live router");
                        s.problem(sysroot.display().to_string(), None, e.to_string());
                        return s;
                    }
                };
                let Some(client) = self.links.client() else {
                    let mut s = Snapshot::new(now, "live router");
                    s.problem(
                        "ubus".into(),
                        None,
                        format!("cannot connect to {}", self.opts.socket),
                    );
                    return s;
                };
                let snap = live::read(client, &files, now, &self.opts.nft, probes);
                // A dropped connection shows as problems on every call; start afresh next time.
                self.links.drop_if_broken();
                snap
            }
        }
    }

    /// Audits, and with `enforce '1'` applies the plan and audits again.
    pub fn audit(&mut self) {
        self.audit_once();
        let plan = &self.audited.plan;
        if self.audited.policy().enforce && !plan.is_empty() && self.executor_available() {
            if self.timers.last_auto_plan.as_ref() == Some(plan) {
                // The same plan already failed to take: do not hammer the router with it.
                return;
            }
            let actions = plan.clone();
            let outcome = self.enforce(actions.clone(), "enforce", false);
            // A plan that failed is not retried on every audit; one that waits for a LuCI apply is
            // retried on the retry timer.
            self.timers.last_auto_plan = (!outcome.failed.is_empty()).then_some(actions);
            self.audit_once();
        } else if plan.is_empty() {
            self.timers.last_auto_plan = None;
        }
    }

    fn audit_once(&mut self) {
        let started = Instant::now();
        let snapshot = self.read_snapshot();
        self.audited = Audited::new(snapshot);
        self.audited.watched_files = self.files_to_watch();
        self.follow_lease_file();
        self.remember_seen();
        let audited = &self.audited;
        self.listener
            .follow_router(&audited.snapshot, audited.policy().listen);
        self.worker.start_if_due(
            &audited.snapshot,
            &audited.inventory,
            audited.policy(),
            self.listener.locations(),
        );
        let new: Vec<Value> = audited
            .report
            .findings
            .iter()
            .filter(|f| {
                self.announced.insert((f.id, f.subject.clone())) && f.severity >= Severity::High
            })
            .map(|f| crate::encode::to_value(f).unwrap_or_default())
            .collect();
        // The first audit is the baseline; only what appears later is news.
        if self.first_audit_done {
            for finding in new {
                self.links
                    .send_event("camguard.finding", &json!({ "finding": finding }));
            }
        }
        self.first_audit_done = true;
        let report = &self.audited.report;
        let took = started.elapsed();
        log::info!(
            "audit: score {}, {} findings, {} problems, {} ms",
            report.score,
            report.findings.len(),
            report.problems.len(),
            // Not as_millis(): printing its u128 links a 128-bit division routine.
            took.as_secs() * 1000 + u64::from(took.subsec_millis())
        );
    }

    /// Takes note of where miniupnpd's lease file ends after an audit; lines that came after
    /// the audit read it are judged at once.
    fn follow_lease_file(&mut self) {
        let path = RootDir::open(self.opts.local_root())
            .ok()
            .and_then(|root| root.host_path(&self.audited.snapshot.upnp_lease_paths().0));
        let audited = &self.audited;
        let verdict = self.lease_tail.after_audit(
            path,
            &audited.snapshot,
            &audited.inventory,
            audited.policy(),
        );
        self.audit_urgent = verdict == appends::Verdict::Audit;
    }

    /// A watched file changed: when to audit. Appends to miniupnpd's lease file are judged by
    /// themselves ([`appends`]): at once when they want an audit, else within [`COALESCE`];
    /// any other change is audited after [`DEBOUNCE`].
    fn audit_due_after(&mut self, file: &Path) -> Option<Duration> {
        if self.lease_tail.path() != Some(file) {
            return Some(DEBOUNCE);
        }
        let audited = &self.audited;
        match self
            .lease_tail
            .changed(&audited.inventory, audited.policy())
        {
            appends::Verdict::Nothing => None,
            appends::Verdict::Stale => Some(COALESCE),
            // The appended lines are whole: no burst of writes to wait out.
            appends::Verdict::Audit => Some(Duration::ZERO),
        }
    }

    /// Records first and last seen in the seen-devices file (a live daemon only: an offline
    /// snapshot directory is not written to). The file is on flash, so it is written only when
    /// the merge asks for it.
    fn remember_seen(&self) {
        let Source::Live { sysroot } = &self.opts.source else {
            return;
        };
        let audited = &self.audited;
        let merged = crate::facts::seen::merge_seen(
            &audited.snapshot.lan.seen,
            audited.snapshot.taken_at,
            &audited.inventory.devices,
        );
        let lan = &audited.snapshot.lan;
        // The probe's reports are news for the file too: a restart must not probe again.
        let probes = &lan.probes;
        if merged.needs_save || !crate::lan::seen::same_probes(probes, &lan.saved_probes) {
            let path = sysroot.join(SEEN_FILE.trim_start_matches('/'));
            let bytes = crate::lan::seen::to_json(&merged.records, probes);
            if let Err(e) = crate::statefile::write(&path, &bytes) {
                log::warn!(
                    "cannot write {}: {e} (is /etc full or read-only?)",
                    path.display()
                );
            }
        }
    }

    /// Whether an object that just appeared is one the last audit could not read (rpcd's `uci`
    /// and its other objects come up after camguard at boot, or after rpcd restarts).
    fn reads_object(&self, event: &crate::bus::Event) -> bool {
        let path = event.data.get("path").and_then(Value::as_str);
        event.name == OBJECT_ADDED
            && matches!(self.opts.source, Source::Live { .. })
            && path.is_some_and(|p| crate::source::live::OBJECTS_READ.contains(&p))
            && !self.audited.snapshot.coverage_complete()
    }

    /// Whether this daemon can change the router (live, not an offline snapshot).
    pub fn executor_available(&self) -> bool {
        matches!(self.opts.source, Source::Live { .. })
    }

    /// The executor over the outgoing connection, for a live daemon with ubus reachable.
    pub fn executor(&mut self) -> Option<Executor<'_>> {
        let Source::Live { sysroot } = &self.opts.source else {
            return None;
        };
        let root = sysroot.clone();
        let nft = self.opts.nft == NftSource::Command;
        let lease_file = self.audited.snapshot.upnp_lease_paths().0;
        // Every caller audits right before it enforces, so the snapshot's ruleset is current.
        let upnp_before = nft
            .then(|| {
                self.audited
                    .snapshot
                    .nft
                    .as_ref()
                    .map(crate::apply::live_mappings_of)
            })
            .flatten();
        let bus = self.links.client()?;
        Some(Executor {
            bus,
            root,
            nft,
            lease_file,
            upnp_before,
        })
    }

    /// Applies actions through rpcd, journaled; sends `camguard.applied` when something changed.
    pub fn enforce(&mut self, actions: Vec<Action>, reason: &str, dry_run: bool) -> Outcome {
        let now = unix_now();
        let outcome = match self.executor() {
            Some(mut executor) => executor.enforce(actions, reason, now, dry_run),
            None => Outcome::unchanged(
                actions,
                vec![Failure::of_run(
                    "ubus is not reachable; nothing was changed",
                )],
            ),
        };
        if outcome.interrupted {
            // Interrupted mid-way (ubus went away): roll it back once ubus answers.
            self.links.drop_client();
            self.timers.schedule_recovery();
        }
        if !outcome.pending.is_empty() {
            crate::notice!(
                "{} actions wait for a LuCI apply with rollback to finish; retrying in {} s",
                outcome.pending.len(),
                RETRY_PENDING.as_secs()
            );
            self.timers.pending = outcome.pending.clone();
            self.timers.retry_due = Some(Instant::now() + RETRY_PENDING);
        }
        if let Some(id) = &outcome.journal_id {
            // The entry that held pending actions is done with them: this one applied them,
            // or holds them now.
            self.settle_pending(Some(id.clone()));
            if outcome.pending.is_empty() {
                self.timers.pending.clear();
                self.timers.retry_due = None;
            } else {
                self.timers.pending_entry = Some(id.clone());
            }
        }
        let firewall_committed = outcome.applied > 0
            && outcome
                .actions
                .iter()
                .any(|a| a.step.config() == Some("firewall"));
        if firewall_committed && reason != RESTORE_UPNP {
            self.timers.schedule_upnp_checks();
        }
        if let Some(id) = &outcome.journal_id {
            crate::notice!(
                "{reason}: journal {id}: {} applied, {} failed, {} pending",
                outcome.applied,
                outcome.failed.len(),
                outcome.pending.len()
            );
            let event = json!({ "journal_id": id, "actions": outcome.applied });
            if let Some(client) = self.links.client() {
                let _ = client.send_event("camguard.applied", &event);
            }
        }
        outcome
    }

    /// Marks the entry that held pending actions as done with them (`continued_in`: the entry
    /// that applied them), so no entry stays `partial` for actions since applied.
    fn settle_pending(&mut self, continued_in: Option<String>) {
        let Some(id) = self.timers.pending_entry.take() else {
            return;
        };
        if continued_in.as_deref() == Some(id.as_str()) {
            return;
        }
        let journal = crate::apply::Journal::new(self.opts.local_root());
        match journal.read(&id) {
            Ok(mut entry) => {
                entry.settle_pending(continued_in);
                if let Err(e) = journal.write(&entry) {
                    log::error!("cannot update journal entry {id}: {e}");
                }
            }
            Err(e) => log::warn!("journal entry {id} with pending actions: {e}"),
        }
    }

    /// After camguard's own commit (an enforce, a revert) procd reloads the firewall, and fw4's
    /// reload empties miniupnpd's chains but keeps conntrack. While the policy keeps UPnP on,
    /// the plan's fix for `upnp.rules_lost` is applied whatever `enforce` says, since camguard
    /// caused the loss; and a device camguard blocked loses the connections it had open, once
    /// its block rule is live.
    fn after_firewall_reload(&mut self) {
        self.timers.upnp_checks.remove(0);
        self.audit_once();
        let actions: Vec<Action> = self
            .audited
            .plan
            .iter()
            .filter(|a| {
                a.finding
                    .as_ref()
                    .is_some_and(|f| f.id == "upnp.rules_lost")
            })
            .cloned()
            .collect();
        if !actions.is_empty() && self.executor_available() {
            crate::notice!("a firewall reload emptied miniupnpd's chains; restoring its mappings");
            self.enforce(actions, RESTORE_UPNP, false);
            self.audit_once();
        }
        let blocked = self.blocked_with_live_rule();
        if !blocked.is_empty() && self.opts.nft == NftSource::Command {
            let check = crate::apply::cut_flows_to_internet(&blocked);
            crate::notice!(
                "blocked devices' connections: {}: {}",
                check.check,
                check.detail
            );
        }
    }

    /// The IPv4 addresses of devices whose camguard block rule fw4 has rendered into the live
    /// ruleset (its `!fw4: <name>` comment): cutting their flows earlier would let the next
    /// packet through the old rules again.
    fn blocked_with_live_rule(&self) -> Vec<std::net::Ipv4Addr> {
        let snap = &self.audited.snapshot;
        let (Some(fw), Some(ruleset)) = (&snap.firewall, &snap.nft) else {
            return Vec::new();
        };
        let live = ruleset.fw4_rule_names();
        let macs: Vec<crate::mac::Mac> = fw
            .rules
            .iter()
            .filter(|r| r.section.starts_with(crate::plan::OWN_PREFIX) && r.in_effect())
            .filter(|r| {
                r.target.eq_ignore_ascii_case("reject") || r.target.eq_ignore_ascii_case("drop")
            })
            .filter(|r| live.contains(r.label()))
            .flat_map(|r| r.src_mac.iter().filter_map(|m| m.parse().ok()))
            .collect();
        self.audited
            .inventory
            .devices
            .iter()
            .filter(|d| d.mac.is_some_and(|m| macs.contains(&m)))
            .flat_map(|d| d.ips.iter())
            .filter_map(|ip| match ip {
                std::net::IpAddr::V4(v4) => Some(*v4),
                std::net::IpAddr::V6(_) => None,
            })
            .collect()
    }

    /// Audits once the current reply is sent (a revoke's caller need not wait for it).
    pub fn audit_after_reply(&mut self) {
        self.timers.audit_now = true;
    }

    /// After a revert: its commits reload the firewall too.
    pub fn reverted(&mut self) {
        self.timers.schedule_upnp_checks();
    }

    /// Retries the actions a pending LuCI apply refused, as far as they are still planned.
    fn retry_pending(&mut self) {
        self.timers.retry_due = None;
        let pending = std::mem::take(&mut self.timers.pending);
        self.audit_once();
        let actions: Vec<_> = self
            .audited
            .plan
            .iter()
            .filter(|a| pending.contains(a))
            .cloned()
            .collect();
        if actions.is_empty() {
            // Someone else did it, or the policy changed: nothing is pending any more.
            self.settle_pending(None);
        } else {
            self.enforce(actions, "enforce", false);
            self.audit_once();
        }
    }

    /// Rolls back enforcement a crash or a lost ubus connection interrupted (journal entries
    /// still `applying`). What cannot be rolled back yet (rpcd not back) is tried again later,
    /// with backoff.
    fn recover(&mut self) {
        let Source::Live { sysroot } = &self.opts.source else {
            return;
        };
        let journal = crate::apply::Journal::new(sysroot);
        let stuck = match self.executor() {
            Some(mut executor) => {
                let recovery = executor.recover();
                for line in &recovery.log {
                    log::warn!("{line}");
                }
                recovery.stuck
            }
            None => journal
                .newest_first()
                .any(|e| e.state == crate::apply::State::Applying),
        };
        if stuck {
            self.timers.schedule_recovery();
        } else {
            self.timers.recovered();
        }
    }

    /// The files whose changes trigger a re-audit (host paths): the configs camguard reads and
    /// every lease file. Their directories are watched, since these files change by rename.
    /// They follow from the snapshot (upnpd and dhcp name the lease files), so they are worked
    /// out once per audit.
    fn files_to_watch(&self) -> SortedSet<PathBuf> {
        let Ok(root) = RootDir::open(self.opts.local_root()) else {
            return SortedSet::new();
        };
        let snap = &self.audited.snapshot;
        let (leases, leases6) = snap.upnp_lease_paths();
        let (dnsmasq, odhcpd) = snap.dhcp_lease_paths();
        let configs = CONFIGS.iter().map(|c| format!("/etc/config/{c}"));
        configs
            .chain([leases, leases6, dnsmasq, odhcpd])
            .filter_map(|router_path| root.host_path(&router_path))
            .collect()
    }
}

/// Most findings one reply carries: ubus messages are limited to 1 MiB, and a router with
/// thousands of mappings has thousands of findings. The worst come first; `truncated` says how
/// many more `findings {offset}` can page through.
pub const MAX_FINDINGS_IN_REPLY: usize = 400;

/// The `status` reply: the report, its findings capped at [`MAX_FINDINGS_IN_REPLY`].
fn status_reply(report: &Report) -> ubus::BlobMsgTable {
    #[derive(serde::Serialize)]
    struct Status<'a> {
        #[serde(flatten)]
        report: &'a Report,
        #[serde(skip_serializing_if = "Option::is_none")]
        truncated: Option<usize>,
    }
    let capped;
    let (report, truncated) = if report.findings.len() > MAX_FINDINGS_IN_REPLY {
        let mut r = report.clone();
        r.findings.truncate(MAX_FINDINGS_IN_REPLY);
        capped = r;
        (&capped, Some(report.findings.len() - MAX_FINDINGS_IN_REPLY))
    } else {
        (report, None)
    };
    crate::bus::blob::to_blobmsg(&Status { report, truncated }).unwrap_or_else(|e| {
        log::error!("cannot encode the status reply: {e}");
        ubus::BlobMsgTable::empty()
    })
}

/// Why the daemon could not run: a system facility its loop needs was refused. Everything the
/// daemon meets later (ubus away, a config unreadable) it survives and reports instead.
#[derive(Debug)]
pub enum DaemonError {
    /// The call (`signalfd`, `inotify`, `pipe`, `poll`) and the OS's answer.
    Os(&'static str, std::io::Error),
}

impl std::fmt::Display for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonError::Os(call, e) => write!(
                f,
                "{call}: {e} (camguard's daemon needs Linux signalfd, inotify and poll; run it on the router)"
            ),
        }
    }
}

impl std::error::Error for DaemonError {}

/// rpcd's `uci` object registering: what recovery waits for.
fn is_uci_added(event: &crate::bus::Event) -> bool {
    event.name == OBJECT_ADDED && event.data.get("path").and_then(Value::as_str) == Some("uci")
}

/// Runs until SIGTERM/SIGINT.
pub fn run(opts: Options) -> Result<(), DaemonError> {
    // First, before the LAN worker's thread exists, so that it inherits the blocked mask.
    let signals = SignalFd::new(&[Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP])
        .map_err(|e| DaemonError::Os("signalfd", e))?;
    let inotify = Inotify::new().map_err(|e| DaemonError::Os("inotify", e))?;
    // Watch descriptor → directory. Other files in these directories (all of /tmp for
    // /tmp/dhcp.leases) change too; only `State::watched_files` start an audit. A few
    // directories: a sorted Vec, not a hash table.
    let mut watched: SortedMap<i32, PathBuf> = SortedMap::new();
    let mut state = State::new(opts)?;
    state.recover();
    state.audit();

    let mut provider: Option<Provider> = None;
    let mut backoff = BACKOFF_START;
    let mut reconnect_at = Instant::now();
    let mut audit_due: Option<Instant> = None;
    let mut registered_before = false;
    let mut next_periodic =
        Instant::now() + Duration::from_secs(u64::from(state.audited.policy().audit_interval));
    crate::notice!(
        "started, serving ubus object camguard on {}",
        state.opts.socket
    );

    loop {
        let dirs: SortedSet<&Path> = state
            .audited
            .watched_files
            .iter()
            .filter_map(|f| f.parent())
            .collect();
        for dir in dirs {
            if !watched.values().any(|d| d == dir) && dir.is_dir() {
                match inotify.watch(dir) {
                    Ok(wd) => {
                        watched.insert(wd, dir.to_path_buf());
                    }
                    Err(e) => log::warn!("cannot watch {}: {e}", dir.display()),
                }
            }
        }
        if provider.is_none() && Instant::now() >= reconnect_at {
            match Provider::register(
                &state.opts.socket,
                "camguard",
                &methods::signature(),
                CALL_TIMEOUT,
            ) {
                Ok(mut p) => {
                    crate::notice!("registered ubus object camguard");
                    // rpcd may start after camguard (both come up at boot): when its objects
                    // appear, what could not be read is read at once, not at the next timer.
                    if let Err(e) = p.listen(OBJECT_ADDED) {
                        log::warn!("cannot listen for {OBJECT_ADDED}: {e}");
                    }
                    provider = Some(p);
                    backoff = BACKOFF_START;
                    // The broker may have restarted: the outgoing connection is stale too,
                    // and an enforcement it cut short is rolled back now.
                    state.links.drop_client();
                    state.recover();
                    // After a broker restart the objects the last audit read may be gone
                    // (rpcd does not reconnect): what status says must be read again.
                    if registered_before {
                        audit_due.get_or_insert(Instant::now() + DEBOUNCE);
                    }
                    registered_before = true;
                }
                Err(e) => {
                    if backoff == BACKOFF_START {
                        log::warn!("cannot register on {}: {e}; retrying", state.opts.socket);
                    }
                    reconnect_at = Instant::now() + backoff;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }

        // Lines appended while the last audit ran that want the next one soon.
        if std::mem::take(&mut state.audit_urgent) {
            let due = Instant::now();
            audit_due = Some(audit_due.map_or(due, |d| d.min(due)));
        }
        let now = Instant::now();
        let mut wake = next_periodic;
        if let Some(due) = audit_due {
            wake = wake.min(due);
        }
        if provider.is_none() {
            wake = wake.min(reconnect_at);
        }
        if let Some(due) = state.timers.next_due() {
            wake = wake.min(due);
        }
        let mut fds = vec![signals.as_fd(), inotify.as_fd(), state.worker.wake_fd()];
        if let Some(p) = provider.as_mut() {
            fds.push(p.fd());
        }
        let heard_at = fds.len();
        fds.extend(state.listener.fds());
        let ready = poll(&fds, Some(wake.saturating_duration_since(now)))
            .map_err(|e| DaemonError::Os("poll", e))?;

        if ready[0].readable {
            while let Some(sig) = signals.read() {
                match sig {
                    Signal::SIGHUP => {
                        crate::notice!("SIGHUP: reloading the policy");
                        audit_due = Some(Instant::now());
                    }
                    _ => {
                        if let Some(p) = provider.as_mut() {
                            p.unregister();
                        }
                        crate::notice!("stopping");
                        return Ok(());
                    }
                }
            }
        }
        if ready[1].readable {
            let changed: SortedSet<PathBuf> = inotify
                .read()
                .into_iter()
                .filter_map(|(wd, name)| Some(watched.get(&wd)?.join(name)))
                .filter(|file| state.audited.watched_files.contains(file))
                .collect();
            for file in changed {
                if let Some(wait) = state.audit_due_after(&file) {
                    // The earliest reason wins: an urgent change pulls a coalesced audit in.
                    let due = Instant::now() + wait;
                    audit_due = Some(audit_due.map_or(due, |d| d.min(due)));
                }
            }
        }

        if ready[2].readable && state.worker.collect() {
            audit_due.get_or_insert(Instant::now());
        }
        // Announcements: judged with the rest at most once per coalescing period.
        if ready
            .get(heard_at..)
            .is_some_and(|r| r.iter().any(|e| e.readable))
            && state.listener.read(crate::time::unix_now())
        {
            audit_due.get_or_insert(Instant::now() + COALESCE);
        }
        if let Some(entry) = ready.get(3).filter(|_| heard_at > 3) {
            if entry.readable || entry.hung_up {
                let p = provider.as_mut().expect("polled only when registered");
                match p.serve(|method, args| methods::handle(&mut state, method, args)) {
                    Ok(events) => {
                        if events.iter().any(|e| state.reads_object(e)) {
                            audit_due.get_or_insert(Instant::now() + DEBOUNCE);
                        }
                        if events.iter().any(is_uci_added) {
                            state.timers.recover_at_once();
                        }
                    }
                    Err(e) => {
                        log::warn!("ubus connection lost ({e}); reconnecting");
                        provider = None;
                        state.links.drop_client();
                        reconnect_at = Instant::now();
                    }
                }
            }
        }
        let now = Instant::now();
        if state.timers.recover_due.is_some_and(|due| now >= due) {
            state.recover();
        }
        if std::mem::take(&mut state.timers.audit_now) {
            audit_due = Some(now);
        }
        if state.timers.retry_due.is_some_and(|due| now >= due) {
            state.retry_pending();
        }
        if state
            .timers
            .upnp_checks
            .first()
            .is_some_and(|due| now >= *due)
        {
            state.after_firewall_reload();
        }
        if audit_due.is_some_and(|due| now >= due) || now >= next_periodic {
            audit_due = None;
            state.audit();
            next_periodic = Instant::now()
                + Duration::from_secs(u64::from(state.audited.policy().audit_interval));
        }
    }
}
