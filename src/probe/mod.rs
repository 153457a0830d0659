//! The LAN probe and the default-password check: the only part of camguard that talks to LAN
//! devices, as one unit behind a narrow seam. The daemon starts a [`Worker`] after an audit and
//! takes its probe reports back when it is done; everything else about the network stays in
//! here. The cargo feature `lan-probe` (on by default) builds it; without it the worker does
//! nothing and the options `probe` and `credential_check` only log that they are unavailable.
//!
//! Every connection passes the [`guard::LanGuard`] first (LAN addresses only). What devices
//! answer is parsed by code that never panics: its modules deny the panicking constructs
//! (`unwrap`, `expect`, indexing and slicing, `panic!` and its kin) under clippy, which
//! scripts/test runs, and the `lan_replies` fuzz target runs their parsers. With `panic = "abort"` a panic would end the daemon (procd respawns it),
//! so it is kept out by construction rather than caught.
#[cfg(feature = "lan-probe")]
pub mod credentials;
#[cfg(feature = "lan-probe")]
pub mod digest;
#[cfg(feature = "lan-probe")]
pub mod discovery;
#[cfg(feature = "lan-probe")]
pub mod guard;
#[cfg(feature = "lan-probe")]
pub mod listen;
#[cfg(feature = "lan-probe")]
pub mod scan;
#[cfg(feature = "lan-probe")]
pub mod wire;

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::facts::Inventory;
use crate::lan::ProbeReport;
use crate::snapshot::{Policy, Snapshot};

/// The default-password check's memory, under the daemon's root.
pub const CREDCHECK_FILE: &str = "etc/camguard/credcheck.json";
/// The worker starts at most this often; each device is probed and checked at most daily anyway.
const WORKER_EVERY: Duration = Duration::from_secs(600);

/// Runs the probe and the password check on a thread of its own: they block on the network for
/// seconds, so they never run on the daemon's poll loop. The worker wakes the loop through a
/// pipe when it is done.
pub struct Worker {
    #[cfg_attr(not(feature = "lan-probe"), allow(dead_code))]
    root: PathBuf,
    /// The latest probe of each address: the read stage adds them to every snapshot.
    probes: Vec<ProbeReport>,
    running: Option<JoinHandle<Vec<ProbeReport>>>,
    last_started: Option<Instant>,
    wake_read: File,
    #[cfg_attr(not(feature = "lan-probe"), allow(dead_code))]
    wake_write: Arc<File>,
    #[cfg_attr(feature = "lan-probe", allow(dead_code))]
    told_unavailable: bool,
}

impl Worker {
    /// A worker whose state files live under `root` (the daemon's sysroot).
    pub fn new(root: &Path) -> std::io::Result<Worker> {
        let (wake_read, wake_write) = crate::sys::pipe()?;
        Ok(Worker {
            root: root.to_path_buf(),
            probes: Vec::new(),
            running: None,
            last_started: None,
            wake_read: File::from(wake_read),
            wake_write: Arc::new(File::from(wake_write)),
            told_unavailable: false,
        })
    }

    /// Readable when the worker has finished: poll it with the daemon's other descriptors.
    pub fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake_read.as_fd()
    }

    /// What the last probes found, for the read stage.
    pub fn probes(&self) -> &[ProbeReport] {
        &self.probes
    }

    /// After an audit: starts the worker when the policy asks for it and it is due. Cameras are
    /// probed for the password check; every device only when `probe` is on. `locations` are
    /// the UPnP description URLs LAN addresses announced ([`listen`]): followed like an
    /// M-SEARCH answer's, under `probe` only.
    pub fn start_if_due(
        &mut self,
        snap: &Snapshot,
        inventory: &Inventory,
        policy: &Policy,
        locations: Vec<(std::net::Ipv4Addr, String)>,
    ) {
        let wanted = policy.probe || policy.credential_check;
        let due = self
            .last_started
            .is_none_or(|t| t.elapsed() >= WORKER_EVERY);
        if !wanted || !due || self.running.is_some() {
            return;
        }
        #[cfg(feature = "lan-probe")]
        self.start(snap, inventory, policy, locations);
        #[cfg(not(feature = "lan-probe"))]
        {
            let _ = (snap, inventory, locations);
            if !self.told_unavailable {
                log::warn!("this camguard was built without the LAN probe: options probe and credential_check do nothing");
                self.told_unavailable = true;
            }
        }
    }

    #[cfg(feature = "lan-probe")]
    fn start(
        &mut self,
        snap: &Snapshot,
        inventory: &Inventory,
        policy: &Policy,
        locations: Vec<(std::net::Ipv4Addr, String)>,
    ) {
        use credentials::{CredState, TcpTransport};
        use guard::LanGuard;
        use scan::ProbeOptions;

        let guard = LanGuard::for_router(snap);
        if guard.prefixes().is_empty() {
            log::warn!("no static LAN subnet in /etc/config/network: the probe and password check stay off");
            return;
        }
        let now = snap.taken_at;
        let ips: Vec<std::net::IpAddr> = inventory
            .devices
            .iter()
            .filter(|d| policy.probe || d.classification.class.is_camera_like())
            .flat_map(|d| d.ips.iter().copied())
            .filter(|ip| {
                !snap
                    .lan
                    .probes
                    .iter()
                    .any(|p| p.ip == *ip && p.is_fresh(now))
            })
            .collect();
        let inventory = inventory.clone();
        // The snapshot's reports: this worker's and those the seen-devices file kept over a
        // restart, so that a restart does not probe every device again.
        let probes = snap.lan.probes.clone();
        let check = policy.credential_check;
        let probe_all = policy.probe;
        let cred_path = self.root.join(CREDCHECK_FILE);
        let wake = Arc::clone(&self.wake_write);
        self.last_started = Some(Instant::now());
        self.running = Some(std::thread::spawn(move || {
            let mut fresh = scan::probe(&ips, &guard, now, &ProbeOptions::default());
            if probe_all {
                // The same addresses, the same day: who they say they are (model, firmware).
                for (ip, info) in
                    discovery::discover(&ips, &guard, now, discovery::DEFAULT_WAIT, &locations)
                {
                    if let Some(report) = fresh.iter_mut().find(|r| r.ip == ip) {
                        report.info = Some(info);
                    }
                }
            }
            // A device that did not answer this time keeps what it said before.
            for r in fresh.iter_mut().filter(|r| r.info.is_none()) {
                r.info = probes
                    .iter()
                    .find(|p| p.ip == r.ip)
                    .and_then(|p| p.info.clone());
            }
            let mut all: Vec<ProbeReport> = probes
                .into_iter()
                .filter(|p| !fresh.iter().any(|f| f.ip == p.ip))
                .collect();
            all.extend(fresh);
            if check {
                match CredState::load(&cred_path) {
                    Ok(mut state) => {
                        let targets = credentials::targets(&inventory, &all);
                        let mut transport = TcpTransport::new(guard.clone());
                        let mut save = |s: &CredState| s.save(&cred_path);
                        let results = credentials::check(
                            &targets,
                            &guard,
                            &mut state,
                            now,
                            &mut transport,
                            &mut save,
                        );
                        // What changed is news; a remembered lockout was logged when found.
                        for r in results.iter().filter(|r| r.attempts > 0 || r.new_lockout) {
                            crate::notice!("{}", r.log_line());
                        }
                    }
                    Err(e) => log::warn!("{e}"),
                }
            }
            let _ = std::io::Write::write(&mut &*wake, b"x");
            all
        }));
    }

    /// The worker finished: keeps its probe reports. True when the router should be audited
    /// again with the new knowledge.
    pub fn collect(&mut self) -> bool {
        let mut buf = [0u8; 64];
        while matches!((&self.wake_read).read(&mut buf), Ok(n) if n > 0) {}
        let Some(worker) = self.running.take() else {
            return false;
        };
        // With panic = "abort" a panicking worker ends the process; join fails only in test
        // builds, where unwinding is on.
        match worker.join() {
            Ok(probes) => {
                self.probes = probes;
                true
            }
            Err(_) => false,
        }
    }
}

/// Listening to announcements: [`listen::Listener`], or nothing in a build without the probe.
#[cfg(feature = "lan-probe")]
pub use listen::Listener;

#[cfg(not(feature = "lan-probe"))]
#[derive(Default)]
pub struct Listener;

#[cfg(not(feature = "lan-probe"))]
impl Listener {
    pub fn follow_router(&mut self, _snap: &Snapshot, _enabled: bool) {}
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        Vec::new()
    }
    pub fn read(&mut self, _now: u64) -> bool {
        false
    }
    pub fn reports(&self, probes: &[ProbeReport]) -> Vec<ProbeReport> {
        probes.to_vec()
    }
    pub fn locations(&self) -> Vec<(std::net::Ipv4Addr, String)> {
        Vec::new()
    }
}
