//! What the daemon learns about the LAN beyond ubus: the neighbour table, first/last seen, and a
//! background worker for the opt-in camera-port probe and default-password check. The worker
//! blocks on the network for seconds, so it never runs on the poll loop; it wakes the loop
//! through a pipe when it is done.
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::devices::credentials::{self, CredState, CredentialResult, TcpTransport};
use crate::devices::probe::{self, ProbeOptions, ProbeReport};
use crate::devices::seen::{self, SeenRecord};
use crate::devices::{neighbours, Inventory, LanGuard};
use crate::log;
use crate::policy::Policy;
use crate::snapshot::Snapshot;

const SEEN_FILE: &str = "etc/camguard/seen.json";
const CREDCHECK_FILE: &str = "etc/camguard/credcheck.json";
/// The worker starts at most this often; each device is probed and checked at most daily anyway.
const WORKER_EVERY: Duration = Duration::from_secs(600);

type WorkerResult = (Vec<ProbeReport>, Vec<CredentialResult>);

pub struct Lan {
    root: PathBuf,
    /// Only a live daemon keeps state files (an offline snapshot directory is not written to).
    live: bool,
    probes: Vec<ProbeReport>,
    seen: Vec<SeenRecord>,
    worker: Option<JoinHandle<WorkerResult>>,
    last_started: Option<Instant>,
    wake_read: OwnedFd,
    wake_write: Arc<OwnedFd>,
}

impl Lan {
    pub fn new(root: &Path, live: bool) -> std::io::Result<Lan> {
        let (wake_read, wake_write) = crate::sys::pipe()?;
        let seen = if live {
            seen::load(&root.join(SEEN_FILE)).unwrap_or_else(|e| {
                log::warn(&format!("{SEEN_FILE}: {e}; first-seen times start afresh"));
                Vec::new()
            })
        } else {
            Vec::new()
        };
        Ok(Lan {
            root: root.to_path_buf(),
            live,
            probes: Vec::new(),
            seen,
            worker: None,
            last_started: None,
            wake_read,
            wake_write: Arc::new(wake_write),
        })
    }

    pub fn wake_fd(&self) -> RawFd {
        self.wake_read.as_raw_fd()
    }

    /// Adds what the daemon knows about the LAN to a freshly read snapshot.
    pub fn observe(&self, snap: &mut Snapshot) {
        let arp = std::fs::read(self.root.join("proc/net/arp")).unwrap_or_default();
        let lan_devices: Vec<String> = snap.lan_devices().iter().map(|d| (*d).to_owned()).collect();
        let devices: Vec<&str> = lan_devices.iter().map(String::as_str).collect();
        snap.lan.neighbours =
            neighbours::on_interfaces(neighbours::parse_proc_net_arp(&arp), &devices);
        snap.lan.probes = self.probes.clone();
        snap.lan.seen = self.seen.clone();
        let checking = snap
            .camguard
            .as_ref()
            .and_then(|p| Policy::from_uci(p).ok())
            .is_some_and(|p| p.credential_check);
        snap.lan.credentials = (checking && self.live).then(|| self.cred_state()).flatten();
    }

    fn cred_state(&self) -> Option<CredState> {
        let path = self.root.join(CREDCHECK_FILE);
        match CredState::load(&path) {
            Ok(s) => Some(s),
            Err(e) => {
                log::warn(&format!(
                    "{}: {e}; the default-password check is paused",
                    path.display()
                ));
                None
            }
        }
    }

    /// After each audit: record first/last seen, and start the worker when it is due.
    pub fn after_audit(&mut self, snap: &Snapshot, inventory: &Inventory, policy: &Policy) {
        if self.live {
            let merged = seen::merge_seen(&self.seen, snap.taken_at, &inventory.devices);
            if merged.needs_save {
                if let Err(e) = seen::save(&self.root.join(SEEN_FILE), &merged.records) {
                    log::warn(&format!("cannot save {SEEN_FILE}: {e}"));
                }
            }
            self.seen = merged.records;
        }
        let wanted = policy.probe || policy.credential_check;
        let due = self
            .last_started
            .is_none_or(|t| t.elapsed() >= WORKER_EVERY);
        if !self.live || !wanted || !due || self.worker.is_some() {
            return;
        }
        let guard = LanGuard::new(snap.lan_prefixes());
        if guard.prefixes().is_empty() {
            log::warn("no static LAN subnet in /etc/config/network: the probe and password check stay off");
            return;
        }
        let now = snap.taken_at;
        // Cameras are probed for the password check; every device only when `probe` is on.
        let ips: Vec<std::net::IpAddr> = inventory
            .devices
            .iter()
            .filter(|d| policy.probe || d.classification.class.is_camera_like())
            .flat_map(|d| d.ips.iter().copied())
            .filter(|ip| !self.probes.iter().any(|p| p.ip == *ip && p.is_fresh(now)))
            .collect();
        let inventory = inventory.clone();
        let probes = self.probes.clone();
        let check = policy.credential_check;
        let cred_path = self.root.join(CREDCHECK_FILE);
        let wake = Arc::clone(&self.wake_write);
        self.last_started = Some(Instant::now());
        self.worker = Some(std::thread::spawn(move || {
            let fresh = probe::probe(&ips, &guard, now, &ProbeOptions::default());
            let mut all: Vec<ProbeReport> = probes
                .into_iter()
                .filter(|p| !fresh.iter().any(|f| f.ip == p.ip))
                .collect();
            all.extend(fresh);
            let mut results = Vec::new();
            if check {
                match CredState::load(&cred_path) {
                    Ok(mut state) => {
                        let targets = credentials::targets(&inventory, &all);
                        let mut transport = TcpTransport::new(guard.clone());
                        let mut save = |s: &CredState| s.save(&cred_path);
                        results = credentials::check(
                            &targets,
                            &guard,
                            &mut state,
                            now,
                            &mut transport,
                            &mut save,
                        );
                    }
                    Err(e) => log::warn(&format!(
                        "{}: {e}; the default-password check is paused",
                        cred_path.display()
                    )),
                }
            }
            // SAFETY: one byte from a live buffer to the pipe's write end.
            unsafe { libc::write(wake.as_raw_fd(), b"x".as_ptr() as *const libc::c_void, 1) };
            (all, results)
        }));
    }

    /// The worker finished: keep its probes, log what the password check did. True when the
    /// router should be audited again with the new knowledge.
    pub fn collect(&mut self) -> bool {
        crate::sys::drain(&self.wake_read);
        let Some(worker) = self.worker.take() else {
            return false;
        };
        match worker.join() {
            Ok((probes, results)) => {
                self.probes = probes;
                for r in results.iter().filter(|r| {
                    r.attempts > 0 || matches!(r.outcome, credentials::Outcome::Lockout(_))
                }) {
                    log::notice(&r.log_line());
                }
                true
            }
            Err(_) => {
                log::error("the LAN worker stopped unexpectedly; it will run again later");
                false
            }
        }
    }
}
