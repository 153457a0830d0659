//! The opt-in default-password check (`option credential_check '1'`): does a camera still
//! accept its maker's factory login? That is the NCSC guidance's first step, and the one an
//! owner cannot see from the router's settings.
//!
//! # Safety rules
//!
//! Guessing passwords on a camera can lock it: Hikvision locks the *source address* after 7
//! failed logins (5 for operators) for 30 minutes, and the router is that source for every
//! recorder or app relaying through it (peers-and-camera-data §2.4). So the check is built to
//! never be the one that locks a device:
//!
//! - **Cameras only.** A target whose classification is not camera-like (camera, doorbell,
//!   baby monitor, NVR/DVR) is skipped, whoever passed it in; the owner's class always wins.
//! - **LAN only.** Every connection passes [`LanGuard`]: inside the router's private LAN
//!   prefixes, never a WAN or public address.
//! - **Only the maker's own factory logins**, one or two per vendor ([`FACTORY_DEFAULTS`]);
//!   never a password list.
//! - **At most [`MAX_ATTEMPTS_PER_DAY`] credentialed requests per device per 24 hours**, at most
//!   one run per device per 24 hours, and at most [`MAX_FAILURES`] refused logins per device
//!   *ever* (until one succeeds). The last rule is stricter than a daily budget: a device whose
//!   failure counter never decays still sees at most two failures from camguard, below every
//!   lockout threshold documented (3 to 10).
//! - **Each attempt is recorded in the state file before it is sent**, so a crash or power cut
//!   in the middle cannot lead to a repeat beyond the budget.
//! - **Stop at the first lockout sign** — 403, 503, 423 or 429; a body saying the account is
//!   locked or that too many attempts were made; Hikvision's `<retryLoginTime>` saying one try
//!   or none is left; a 401 for a login that worked before — and **never try that device
//!   again** (remembered in the state file).
//! - Unauthenticated requests (to learn the realm and nonce) are not attempts: they carry no
//!   credentials and no camera counts them as failures.
//!
//! # No passwords anywhere
//!
//! The factory passwords live in [`FACTORY_DEFAULTS`] only, in a private field. Results,
//! findings, log lines, the state file and errors name the user and the vendor default it
//! matched ("admin with Hikvision's factory password"), never the password; a device's replies
//! are never logged (one could echo our Basic header).
//!
//! # How it talks
//!
//! HTTP: `GET` of a vendor path that demands a login; Digest (MD5, MD5-sess; qop auth) when
//! offered, else Basic. RTSP: `DESCRIBE` with Digest, on the connection that received the
//! challenge (RTSP servers keep the nonce per connection). The network is behind
//! [`Transport`], so the rules above are unit-tested against scripted cameras.
// What LAN devices send is parsed here: it must not be able to panic the daemon (probe/mod.rs).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::digest::{self, Challenge};
use super::guard::{LanGuard, Refused};
use super::wire::{self, Response};
use crate::audit::Finding;
use crate::facts::Inventory;
pub use crate::lan::credentials::{
    device_key, login_words, CredState, DeviceRecord, LockoutRecord, WorkingLogin,
};
use crate::lan::{Device, ProbeReport, ServiceKind};
use crate::statefile;

/// Credentialed requests per device in any 24 hours.
pub const MAX_ATTEMPTS_PER_DAY: u32 = 2;
/// Refused (or unanswered) credentialed requests per device, ever, until one succeeds.
pub const MAX_FAILURES: u32 = 2;
/// One run per device per this many seconds.
pub const RUN_INTERVAL_SECS: u64 = 24 * 3600;
/// Device records kept in the state file; lockout records are the last to go.
pub const MAX_RECORDS: usize = 512;

/// One factory login. The password is private to this module and never formatted.
pub struct Login {
    pub user: &'static str,
    password: &'static str,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Login {{ user: {:?}, password: <factory default> }}",
            self.user
        )
    }
}

const fn login(user: &'static str, password: &'static str) -> Login {
    Login { user, password }
}

/// A maker's factory logins and where its devices ask for them.
#[derive(Debug)]
pub struct FactoryDefaults {
    /// As people say it: "Hikvision".
    pub vendor: &'static str,
    /// The names the inventory gives this maker (OUI table, hostname brands, probe hints).
    pub aliases: &'static [&'static str],
    /// In the order tried; at most [`MAX_FAILURES`] of them are ever tried on one device.
    pub logins: &'static [Login],
    /// HTTP paths that demand a login on this maker's web server ("/" is tried after them).
    pub http_paths: &'static [&'static str],
    /// RTSP paths of its main stream ("/" is tried after them).
    pub rtsp_paths: &'static [&'static str],
}

/// The factory logins camguard checks, restated from peers-and-camera-data §2.4 (which cites
/// the manuals and public lists behind each). Only makers the inventory can recognise (OUI
/// table, hostname brands, probe hints) and whose devices answer HTTP or RTSP logins. Makers
/// whose current devices have no factory password (app-onboarded Ezviz, Tapo, Wyze, Ring,
/// Arlo, Nest, Blink, Eufy) are absent on purpose. Paths marked GUESS are from third-party
/// clients, not the vendor; a wrong path costs one unauthenticated request, never an attempt.
pub static FACTORY_DEFAULTS: &[FactoryDefaults] = &[
    // Documented in Hikvision's user manuals (v3.0.0) until firmware 5.3.0 (cameras) and 3.3.0
    // (recorders) made activation with a new password mandatory; upgraded devices keep it.
    FactoryDefaults {
        vendor: "Hikvision",
        aliases: &["Hikvision", "HiWatch (Hikvision)"],
        logins: &[login("admin", "12345")],
        http_paths: &[
            "/ISAPI/Security/userCheck",
            "/PSIA/Custom/SelfExt/userCheck",
        ],
        rtsp_paths: &["/Streaming/Channels/101"],
    },
    // admin/admin: Dahua's wiki (2016). 888888 is the legacy local account of older Dahua
    // recorders (credential dictionaries; no Dahua document found).
    FactoryDefaults {
        vendor: "Dahua",
        aliases: &["Dahua"],
        logins: &[login("admin", "admin"), login("888888", "888888")],
        http_paths: &["/cgi-bin/magicBox.cgi?action=getDeviceType"],
        rtsp_paths: &["/cam/realmonitor?channel=1&subtype=0"],
    },
    // UNCONFIRMED (Dahua-derived firmware); paths as Dahua's.
    FactoryDefaults {
        vendor: "Amcrest",
        aliases: &["Amcrest"],
        logins: &[login("admin", "admin")],
        http_paths: &["/cgi-bin/magicBox.cgi?action=getDeviceType"],
        rtsp_paths: &["/cam/realmonitor?channel=1&subtype=0"],
    },
    // UNCONFIRMED: a Lorex-family manual; paths GUESS (Dahua-made models).
    FactoryDefaults {
        vendor: "Lorex",
        aliases: &["Lorex"],
        logins: &[login("admin", "000000")],
        http_paths: &["/cgi-bin/magicBox.cgi?action=getDeviceType"],
        rtsp_paths: &["/cam/realmonitor?channel=1&subtype=0"],
    },
    // AXIS 2100/2120 manuals; later firmware makes the owner set a root password.
    FactoryDefaults {
        vendor: "Axis",
        aliases: &["Axis"],
        logins: &[login("root", "pass")],
        http_paths: &["/axis-cgi/param.cgi?action=list&group=Brand"],
        rtsp_paths: &["/axis-media/media.amp"],
    },
    // Public credential lists; paths GUESS.
    FactoryDefaults {
        vendor: "Hanwha",
        aliases: &["Hanwha Vision (Samsung Techwin)"],
        logins: &[login("admin", "4321")],
        http_paths: &["/stw-cgi/system.cgi?msubmenu=deviceinfo&action=view"],
        rtsp_paths: &["/profile1/media.smp"],
    },
    // UNCONFIRMED; RTSP path GUESS.
    FactoryDefaults {
        vendor: "Uniview",
        aliases: &["Uniview"],
        logins: &[login("admin", "123456")],
        http_paths: &[],
        rtsp_paths: &["/media/video1"],
    },
    // FI8918W manual: blank password. Foscam's web API takes credentials in the URL, which
    // camguard will not send, so RTSP only; path GUESS.
    FactoryDefaults {
        vendor: "Foscam",
        aliases: &["Foscam"],
        logins: &[login("admin", "")],
        http_paths: &[],
        rtsp_paths: &["/videoMain"],
    },
    // UNCONFIRMED blank password; Reolink's web login is a JSON API, so RTSP only; path GUESS.
    FactoryDefaults {
        vendor: "Reolink",
        aliases: &["Reolink"],
        logins: &[login("admin", "")],
        http_paths: &[],
        rtsp_paths: &["/h264Preview_01_main"],
    },
    // XMEye/NetSurveillance OEM firmware: admin with a blank password.
    FactoryDefaults {
        vendor: "Xiongmai",
        aliases: &["Xiongmai (XMEye)"],
        logins: &[login("admin", "")],
        http_paths: &[],
        rtsp_paths: &[],
    },
    FactoryDefaults {
        vendor: "Mobotix",
        aliases: &["Mobotix"],
        logins: &[login("admin", "meinsm")],
        http_paths: &[],
        rtsp_paths: &[],
    },
    FactoryDefaults {
        vendor: "ACTi",
        aliases: &["ACTi"],
        logins: &[login("admin", "123456")],
        http_paths: &[],
        rtsp_paths: &[],
    },
    FactoryDefaults {
        vendor: "Arecont Vision",
        aliases: &["Arecont Vision"],
        logins: &[login("admin", "")],
        http_paths: &[],
        rtsp_paths: &[],
    },
    FactoryDefaults {
        vendor: "GeoVision",
        aliases: &["GeoVision"],
        logins: &[login("admin", "admin")],
        http_paths: &[],
        rtsp_paths: &[],
    },
];

/// The factory logins of a vendor as the inventory names it.
pub fn defaults_for(vendor: &str) -> Option<&'static FactoryDefaults> {
    FACTORY_DEFAULTS
        .iter()
        .find(|d| d.aliases.contains(&vendor))
}

impl FactoryDefaults {
    /// Each login with its state-file key: the vendor, its place in the table and the user.
    fn keyed_logins(&self) -> impl Iterator<Item = (String, &'static Login)> + '_ {
        self.logins
            .iter()
            .enumerate()
            .map(|(index, l)| (format!("{}#{index}:{}", self.vendor, l.user), l))
    }
}

// ---------------------------------------------------------------------------------------------
// Targets

/// A device to check, with what the probe learnt about it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The state-file key: the MAC, else `ip:<address>`.
    pub key: String,
    pub device: Arc<Device>,
    pub ip: IpAddr,
    /// The classification's vendor, else the probe's hint.
    pub vendor: Option<String>,
    /// Ports that answered HTTP, and RTSP (from the probe; 80 and 554 when it has not run).
    pub http_ports: Vec<u16>,
    pub rtsp_ports: Vec<u16>,
}

/// The camera-like devices of the inventory as targets. Devices that are not camera-like are
/// never targets; [`check`] checks that again.
pub fn targets(inventory: &Inventory, probes: &[ProbeReport]) -> Vec<Target> {
    let mut out = Vec::new();
    for d in inventory.cameras() {
        let Some(ip) = d
            .ips
            .iter()
            .find(|ip| ip.is_ipv4())
            .or(d.ips.first())
            .copied()
        else {
            continue;
        };
        let probe = probes.iter().find(|p| d.ips.contains(&p.ip));
        let vendor = d.classification.vendor.clone().or_else(|| {
            probe
                .and_then(|p| p.vendor_hint())
                .map(|h| h.vendor.to_owned())
        });
        let (http_ports, rtsp_ports) = match probe {
            Some(p) => (p.ports_of(ServiceKind::Http), p.ports_of(ServiceKind::Rtsp)),
            None => (vec![80], vec![554]),
        };
        out.push(Target {
            key: device_key(d, ip),
            device: d.clone(),
            ip,
            vendor,
            http_ports,
            rtsp_ports,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// State

/// Why the check's memory could not be loaded; the check then does not run, because without
/// the record of past attempts it cannot keep to its attempt budget.
#[derive(Debug)]
pub enum StateNotLoaded {
    Damaged {
        path: std::path::PathBuf,
        error: crate::lan::StateFileError,
    },
    Unreadable {
        path: std::path::PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for StateNotLoaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateNotLoaded::Damaged { path, error } => write!(
                f,
                "{}: {error}. The default-password check is paused, because without this record \
                 it cannot keep to its attempt budget; delete the file to start afresh",
                path.display()
            ),
            StateNotLoaded::Unreadable { path, error } => write!(
                f,
                "cannot read {}: {error}; the default-password check is paused",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StateNotLoaded {}

impl CredState {
    /// Reads the state; a missing file is a fresh state. A damaged one is an error, and the
    /// check must not run on it: without the record of past attempts the budget cannot be kept.
    pub fn load(path: &Path) -> Result<CredState, StateNotLoaded> {
        let at = || path.to_path_buf();
        match statefile::read(path) {
            Ok(None) => Ok(CredState::default()),
            Ok(Some(bytes)) => CredState::parse(&bytes)
                .map_err(|error| StateNotLoaded::Damaged { path: at(), error }),
            Err(error) => Err(StateNotLoaded::Unreadable { path: at(), error }),
        }
    }

    pub fn save(&self, path: &Path) -> io::Result<()> {
        statefile::write(path, &self.to_json())
    }

    /// Keeps at most [`MAX_RECORDS`] records: the ones without a lockout and with the oldest
    /// run go first, so a LAN host cycling fake camera MACs cannot push out a lockout.
    fn bound(&mut self) {
        let excess = self.devices.len().saturating_sub(MAX_RECORDS);
        if excess == 0 {
            return;
        }
        let mut records: Vec<(String, DeviceRecord)> =
            std::mem::take(&mut self.devices).into_iter().collect();
        // Stable, from key order: of equal records the first key goes first.
        records.sort_by_key(|(_, r)| (r.lockout.is_some(), r.last_run.unwrap_or(0)));
        self.devices = records.into_iter().skip(excess).collect();
    }
}

// ---------------------------------------------------------------------------------------------
// Results

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The device accepts a factory login.
    DefaultLogin(WorkingLogin),
    /// Every factory login camguard may try was refused: the password has been changed.
    Refused {
        vendor: String,
        tried: usize,
    },
    /// The device showed a lockout sign; camguard will not try it again.
    Lockout(LockoutRecord),
    /// The check ran but could not decide (no login prompt found, authentication camguard does
    /// not speak, no answer); it runs again after a day.
    Inconclusive(String),
    Skipped(Skip),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NotACamera,
    /// Camera-like, but with low confidence or with evidence against it
    /// ([`crate::facts::classify::login_refusal`]): no login is sent.
    Doubtful(String),
    /// The guard refused the address.
    AddressRefused(Refused),
    /// No factory logins known for this vendor (or no vendor known).
    NoFactoryLogins(Option<String>),
    /// Checked less than a day ago and nothing is remembered; due again at this time.
    NotDue(u64),
    /// The attempt or failure budget is used up.
    Budget,
    /// The state file could not be written, so no attempt was sent.
    StateNotSaved(String),
}

#[derive(Debug, Clone)]
pub struct CredentialResult {
    pub key: String,
    pub device: Arc<Device>,
    pub ip: IpAddr,
    pub outcome: Outcome,
    /// Credentialed requests sent by this call.
    pub attempts: u32,
    /// The device showed its lockout sign during this call (a remembered lockout is not news:
    /// it is logged once, when it is found, not at every run or restart).
    pub new_lockout: bool,
}

impl CredentialResult {
    /// One line for the log. Names the device, the user and the vendor default; never a
    /// password, never a device's reply.
    pub fn log_line(&self) -> String {
        let who = self.device.describe();
        match &self.outcome {
            Outcome::DefaultLogin(w) => format!(
                "default-password check: {who} accepts {} over {} (port {})",
                login_words(&w.user, &w.vendor),
                w.protocol,
                w.port
            ),
            Outcome::Refused { vendor, tried } => format!(
                "default-password check: {who} refuses {vendor}'s factory login{} ({tried} tried)",
                if *tried == 1 { "" } else { "s" }
            ),
            Outcome::Lockout(l) => format!(
                "default-password check: {who} {}: stopped, and camguard will not try it again",
                l.sign
            ),
            Outcome::Inconclusive(why) => {
                format!("default-password check: {who}: no result ({why}); next try in a day")
            }
            Outcome::Skipped(s) => format!(
                "default-password check: {who} skipped: {}",
                match s {
                    Skip::NotACamera => "not a camera".to_owned(),
                    Skip::Doubtful(why) => why.clone(),
                    Skip::AddressRefused(why) => why.to_string(),
                    Skip::NoFactoryLogins(Some(v)) => format!("no factory login known for {v}"),
                    Skip::NoFactoryLogins(None) => "its maker is not known".to_owned(),
                    Skip::NotDue(at) => format!(
                        "checked recently; due again at {}",
                        crate::time::datetime(*at)
                    ),
                    Skip::Budget => "its attempt budget is used up".to_owned(),
                    Skip::StateNotSaved(e) =>
                        format!("the attempt could not be recorded first: {e}"),
                }
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Transport

/// The network, as the check needs it.
pub trait Transport {
    /// A TCP connection to a LAN device.
    fn connect(&mut self, addr: SocketAddr) -> io::Result<Box<dyn Connection>>;
    /// A fresh client nonce (hex) for Digest.
    fn cnonce(&mut self) -> String;
}

pub trait Connection {
    /// Sends one request and reads one response (bounded).
    fn exchange(&mut self, request: &[u8]) -> io::Result<Vec<u8>>;
}

/// The real network: TCP with timeouts, behind the LAN guard (checked again here, so a caller
/// that skipped [`check`]'s own guard still cannot reach a non-LAN address).
pub struct TcpTransport {
    pub guard: LanGuard,
    pub connect_timeout: Duration,
    pub exchange_timeout: Duration,
}

impl TcpTransport {
    pub fn new(guard: LanGuard) -> TcpTransport {
        TcpTransport {
            guard,
            connect_timeout: super::scan::CONNECT_TIMEOUT,
            exchange_timeout: Duration::from_secs(3),
        }
    }
}

struct TcpConnection {
    stream: std::net::TcpStream,
    timeout: Duration,
}

impl Connection for TcpConnection {
    fn exchange(&mut self, request: &[u8]) -> io::Result<Vec<u8>> {
        wire::exchange(&mut self.stream, request, self.timeout).map(|(bytes, _)| bytes)
    }
}

impl Transport for TcpTransport {
    fn connect(&mut self, addr: SocketAddr) -> io::Result<Box<dyn Connection>> {
        self.guard
            .check(addr.ip())
            .map_err(|r| io::Error::new(io::ErrorKind::PermissionDenied, r.to_string()))?;
        let stream = wire::connect(addr, self.connect_timeout)?;
        Ok(Box::new(TcpConnection {
            stream,
            timeout: self.exchange_timeout,
        }))
    }

    fn cnonce(&mut self) -> String {
        let mut bytes = [0u8; 8];
        let random = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| io::Read::read_exact(&mut f, &mut bytes));
        if random.is_err() {
            // No /dev/urandom (a jail without /dev): the time is unpredictable enough for a
            // client nonce, which only has to differ between requests.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            bytes = (t ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
        }
        digest::hex(&bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// The check

/// Runs the check on every target that is due, within the safety rules of the module notes,
/// and returns what is known about each target (freshly checked or remembered). `save` writes
/// the state; it is called before every credentialed request and at the end, and a failure
/// stops the check before anything is sent. Blocks for a few seconds per due camera: run it
/// off the daemon's event loop.
pub fn check(
    targets: &[Target],
    guard: &LanGuard,
    state: &mut CredState,
    now: u64,
    transport: &mut dyn Transport,
    save: &mut dyn FnMut(&CredState) -> io::Result<()>,
) -> Vec<CredentialResult> {
    let mut results = Vec::with_capacity(targets.len());
    let mut dirty = false;
    for t in targets {
        let mut rec = state.devices.get(&t.key).cloned().unwrap_or_default();
        let before = rec.clone();
        let (outcome, attempts) = {
            let key = t.key.clone();
            let mut persist = |r: &DeviceRecord| -> io::Result<()> {
                state.devices.insert(key.clone(), r.clone());
                save(state)
            };
            check_one(t, guard, &mut rec, now, transport, &mut persist)
        };
        let new_lockout = before.lockout.is_none() && rec.lockout.is_some();
        if rec != before {
            state.devices.insert(t.key.clone(), rec);
            dirty = true;
        }
        results.push(CredentialResult {
            key: t.key.clone(),
            device: t.device.clone(),
            ip: t.ip,
            outcome,
            attempts,
            new_lockout,
        });
    }
    if dirty {
        state.bound();
        let _ = save(state); // Every attempt was already saved before it was sent.
    }
    results
}

/// The remembered outcome of a device that is not checked now.
fn remembered(rec: &DeviceRecord, next: u64) -> Outcome {
    if let Some(l) = &rec.lockout {
        return Outcome::Lockout(l.clone());
    }
    if let Some(w) = &rec.works {
        return Outcome::DefaultLogin(w.clone());
    }
    Outcome::Skipped(Skip::NotDue(next))
}

fn check_one(
    t: &Target,
    guard: &LanGuard,
    rec: &mut DeviceRecord,
    now: u64,
    transport: &mut dyn Transport,
    persist: &mut dyn FnMut(&DeviceRecord) -> io::Result<()>,
) -> (Outcome, u32) {
    if !t.device.classification.class.is_camera_like() {
        return (Outcome::Skipped(Skip::NotACamera), 0);
    }
    if let Some(why) = crate::facts::classify::login_refusal(&t.device.classification) {
        return (Outcome::Skipped(Skip::Doubtful(why)), 0);
    }
    if let Err(r) = guard.check(t.ip) {
        return (Outcome::Skipped(Skip::AddressRefused(r)), 0);
    }
    if let Some(l) = &rec.lockout {
        return (Outcome::Lockout(l.clone()), 0);
    }
    let Some(defaults) = t.vendor.as_deref().and_then(defaults_for) else {
        return (Outcome::Skipped(Skip::NoFactoryLogins(t.vendor.clone())), 0);
    };
    // Attempts in the last 24 hours; one dated in the future (the clock went back) still counts.
    rec.attempts
        .retain(|&at| at > now || now - at < RUN_INTERVAL_SECS);
    // The logins to try: the one that worked (to see whether it still does), else the table's
    // logins not refused before.
    if rec
        .works
        .as_ref()
        .is_some_and(|w| w.vendor != defaults.vendor)
    {
        // Reclassified as another maker: the old login says nothing about this one's table.
        rec.works = None;
    }
    let logins: Vec<(String, &Login)> = match &rec.works {
        Some(w) => defaults
            .keyed_logins()
            .filter(|(key, _)| *key == w.login)
            .collect(),
        None => defaults
            .keyed_logins()
            .filter(|(key, _)| !rec.refused.contains(key))
            .collect(),
    };
    if logins.is_empty() {
        return (
            Outcome::Refused {
                vendor: defaults.vendor.to_owned(),
                tried: rec.refused.len(),
            },
            0,
        );
    }
    if let Some(last) = rec.last_run {
        if now < last || now - last < RUN_INTERVAL_SECS {
            return (remembered(rec, last.saturating_add(RUN_INTERVAL_SECS)), 0);
        }
    }
    let used = rec.attempts.len() as u32;
    let mut budget = MAX_ATTEMPTS_PER_DAY
        .saturating_sub(used)
        .min(MAX_FAILURES.saturating_sub(rec.failures));
    if budget == 0 {
        return (Outcome::Skipped(Skip::Budget), 0);
    }
    rec.last_run = Some(now);

    let endpoints = endpoints(t, defaults);
    let mut attempts = 0u32;
    let mut session: Option<Session> = None;
    for (key, l) in logins {
        if budget == 0 {
            break;
        }
        if session.as_ref().is_none_or(|s| s.challenge.is_none()) {
            match find_challenge(&endpoints, transport) {
                Found::Challenge(s) => session = Some(s),
                Found::Lockout(sign) => return (lockout(rec, now, sign), attempts),
                Found::Nothing(why) => return (Outcome::Inconclusive(why), attempts),
            }
        }
        let Some(s) = session.as_mut() else { break };
        let Some(challenge) = s.challenge.take() else {
            break;
        };
        let cnonce = transport.cnonce();
        let header = match digest::authorization(
            &challenge,
            &digest::Request {
                method: s.endpoint.method(),
                uri: &s.endpoint.uri(),
                user: l.user,
                password: l.password,
                cnonce: &cnonce,
            },
        ) {
            Ok(h) => h,
            Err(e) => {
                return (
                    Outcome::Inconclusive(format!(
                        "its login challenge is not one camguard answers: {e:?}"
                    )),
                    attempts,
                )
            }
        };
        // Recorded before it is sent: a crash after sending cannot lead to a repeat.
        rec.attempts.push(now);
        budget -= 1;
        if let Err(e) = persist(rec) {
            rec.attempts.pop();
            return (
                Outcome::Skipped(Skip::StateNotSaved(e.to_string())),
                attempts,
            );
        }
        attempts += 1;
        let reply = s.send(transport, Some(&header));
        match judge(&s.endpoint, reply) {
            Verdict::Accepted => {
                let first_found = rec
                    .works
                    .as_ref()
                    .filter(|w| w.login == key)
                    .map_or(now, |w| w.first_found);
                let w = WorkingLogin {
                    vendor: defaults.vendor.to_owned(),
                    user: l.user.to_owned(),
                    login: key,
                    protocol: s.endpoint.protocol().to_owned(),
                    port: s.endpoint.port,
                    first_found,
                    confirmed: now,
                };
                rec.works = Some(w.clone());
                rec.failures = 0;
                rec.refused.clear();
                return (Outcome::DefaultLogin(w), attempts);
            }
            Verdict::Refused(next) => {
                rec.failures += 1;
                if rec.works.take().is_some() {
                    return (
                        lockout(
                            rec,
                            now,
                            "refused the factory login it accepted before (its password was \
                             changed, or it is refusing logins)"
                                .into(),
                        ),
                        attempts,
                    );
                }
                rec.refused.push(key);
                s.challenge = next;
            }
            Verdict::Lockout(sign) => {
                rec.failures += 1;
                return (lockout(rec, now, sign), attempts);
            }
            Verdict::Unclear(why) => {
                // The request may have reached the device and counted as a failure there.
                rec.failures += 1;
                return (Outcome::Inconclusive(why), attempts);
            }
        }
    }
    let tried = rec.refused.len();
    if defaults
        .keyed_logins()
        .all(|(key, _)| rec.refused.contains(&key))
        || rec.failures >= MAX_FAILURES
    {
        (
            Outcome::Refused {
                vendor: defaults.vendor.to_owned(),
                tried,
            },
            attempts,
        )
    } else {
        (
            Outcome::Inconclusive(format!(
                "{tried} factory login{} refused; the rest wait for the next day's budget",
                if tried == 1 { "" } else { "s" }
            )),
            attempts,
        )
    }
}

fn lockout(rec: &mut DeviceRecord, now: u64, sign: String) -> Outcome {
    let l = LockoutRecord { at: now, sign };
    rec.lockout = Some(l.clone());
    rec.works = None;
    Outcome::Lockout(l)
}

/// Where a login prompt may be: HTTP paths on the HTTP ports, then RTSP paths on RTSP ports.
#[derive(Debug, Clone)]
struct Endpoint {
    rtsp: bool,
    host: String,
    addr: SocketAddr,
    port: u16,
    path: &'static str,
}

impl Endpoint {
    fn method(&self) -> &'static str {
        if self.rtsp {
            "DESCRIBE"
        } else {
            "GET"
        }
    }

    fn protocol(&self) -> &'static str {
        if self.rtsp {
            "RTSP"
        } else {
            "HTTP"
        }
    }

    /// The request target, as the request line and Digest's `uri` carry it.
    fn uri(&self) -> String {
        if self.rtsp {
            format!("rtsp://{}:{}{}", self.host, self.port, self.path)
        } else {
            self.path.to_owned()
        }
    }

    fn request(&self, cseq: u32, authorization: Option<&str>) -> String {
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        if self.rtsp {
            format!(
                "DESCRIBE {} RTSP/1.0\r\nCSeq: {cseq}\r\nAccept: application/sdp\r\nUser-Agent: camguard\r\n{auth}\r\n",
                self.uri()
            )
        } else {
            format!(
                "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: camguard\r\n{auth}Connection: close\r\n\r\n",
                self.path, self.host, self.port
            )
        }
    }
}

fn endpoints(t: &Target, defaults: &FactoryDefaults) -> Vec<Endpoint> {
    let host = match t.ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let mut out = Vec::new();
    let mut add = |rtsp: bool, ports: &[u16], paths: &'static [&'static str]| {
        for &port in ports {
            for &path in paths.iter().chain(std::iter::once(&"/")) {
                out.push(Endpoint {
                    rtsp,
                    host: host.clone(),
                    addr: SocketAddr::new(t.ip, port),
                    port,
                    path,
                });
            }
        }
    };
    add(false, &t.http_ports, defaults.http_paths);
    add(true, &t.rtsp_ports, defaults.rtsp_paths);
    out
}

/// A login prompt found: the endpoint, its challenge, and (RTSP) the connection it came on.
struct Session {
    endpoint: Endpoint,
    challenge: Option<Challenge>,
    connection: Option<Box<dyn Connection>>,
    cseq: u32,
}

impl Session {
    /// Sends the endpoint's request. RTSP reuses the connection of the challenge; HTTP opens a
    /// new one per request (`Connection: close`).
    fn send(
        &mut self,
        transport: &mut dyn Transport,
        authorization: Option<&str>,
    ) -> io::Result<Response> {
        self.cseq += 1;
        let request = self.endpoint.request(self.cseq, authorization);
        if !self.endpoint.rtsp || self.connection.is_none() {
            self.connection = Some(transport.connect(self.endpoint.addr)?);
        }
        let conn = self
            .connection
            .as_mut()
            .ok_or_else(|| io::Error::other("no connection"))?;
        let reply = conn.exchange(request.as_bytes());
        if !self.endpoint.rtsp {
            self.connection = None;
        }
        let bytes = reply?;
        Response::parse(&bytes).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not an {} reply", self.endpoint.protocol()),
            )
        })
    }
}

enum Found {
    Challenge(Session),
    Lockout(String),
    Nothing(String),
}

/// Asks each endpoint without credentials until one answers 401 with a challenge camguard can
/// answer (Digest MD5 preferred; Basic on HTTP only).
fn find_challenge(endpoints: &[Endpoint], transport: &mut dyn Transport) -> Found {
    if endpoints.is_empty() {
        return Found::Nothing("no web or RTSP port answered the probe".into());
    }
    let mut notes: Vec<String> = Vec::new();
    for e in endpoints {
        let mut s = Session {
            endpoint: e.clone(),
            challenge: None,
            connection: None,
            cseq: 0,
        };
        let reply = match s.send(transport, None) {
            Ok(r) => r,
            Err(err) => {
                notes.push(format!("{} port {}: {err}", e.protocol(), e.port));
                continue;
            }
        };
        if let Some(sign) = lockout_sign(&reply) {
            return Found::Lockout(sign);
        }
        if reply.status != 401 {
            continue;
        }
        match usable_challenge(&reply, e.rtsp) {
            Some(c) => {
                s.challenge = Some(c);
                return Found::Challenge(s);
            }
            None => notes.push(format!(
                "{} port {} asks for a login camguard does not speak",
                e.protocol(),
                e.port
            )),
        }
    }
    notes.dedup();
    Found::Nothing(if notes.is_empty() {
        "no login prompt found: its web and RTSP pages open without a login".into()
    } else {
        format!("no usable login prompt found ({})", notes.join("; "))
    })
}

fn usable_challenge(reply: &Response, rtsp: bool) -> Option<Challenge> {
    let challenges = reply.challenges();
    let probe = digest::Request {
        method: "GET",
        uri: "/",
        user: "x",
        password: "",
        cnonce: "00",
    };
    challenges
        .iter()
        .find(|c| c.scheme == "digest" && digest::authorization(c, &probe).is_ok())
        .or_else(|| challenges.iter().find(|c| !rtsp && c.scheme == "basic"))
        .cloned()
}

enum Verdict {
    Accepted,
    /// 401: refused; the reply's new challenge, if usable, serves the next login.
    Refused(Option<Challenge>),
    Lockout(String),
    Unclear(String),
}

fn judge(e: &Endpoint, reply: io::Result<Response>) -> Verdict {
    let r = match reply {
        Ok(r) => r,
        Err(err) => return Verdict::Unclear(format!("no answer to the login: {err}")),
    };
    if let Some(sign) = lockout_sign(&r) {
        return Verdict::Lockout(sign);
    }
    match r.status {
        200..=299 => Verdict::Accepted,
        300..=399 if !e.rtsp => Verdict::Accepted,
        // RTSP servers authenticate before they look the stream up: a 404 after a 401 for the
        // same URL means the login passed and only the path was wrong.
        404 if e.rtsp => Verdict::Accepted,
        401 => Verdict::Refused(usable_challenge(&r, e.rtsp)),
        other => Verdict::Unclear(format!("the login got status {other}")),
    }
}

/// A reply that says the device is locking logins, in camguard's words (never the device's
/// text). Pure.
///
/// Besides the status codes and words, any field of the body or any header that names a lock
/// state, an unlock time or a retry time counts, in whatever syntax the device writes it:
/// Hikvision's ISAPI XML (`<lockStatus>lock</lockStatus>`, `<unlockTime>1800</unlockTime>`),
/// the same in ISAPI JSON (`{"UserCheck":{…"lockStatus":"lock","unlockTime":1800…}}`, which a
/// camera answered a 401 with in the adversarial test of issue 17), form or header syntax
/// (`Retry-After: 30`, `X-Lock-Status: locked`). Hikvision's `retryLoginTime` is the number of
/// tries left, not a time: one or none left is the sign.
pub fn lockout_sign(r: &Response) -> Option<String> {
    match r.status {
        403 => return Some("answered 403 Forbidden, a lockout sign".into()),
        503 => return Some("answered 503 Service Unavailable, a lockout sign".into()),
        423 => return Some("answered 423 Locked".into()),
        429 => return Some("answered 429 Too Many Requests".into()),
        200..=299 => return None,
        _ => {}
    }
    for (name, value) in &r.headers {
        let name = name.to_ascii_lowercase();
        if name == "retry-after" && !value.trim().is_empty() {
            return Some("asked to retry later (Retry-After), a lockout sign".into());
        }
        if let Some(sign) = field_sign(&normal_name(&name), &value.to_ascii_lowercase()) {
            return Some(sign);
        }
    }
    let body = String::from_utf8_lossy(&r.body).to_ascii_lowercase();
    if let Some(sign) = body_fields(&body).find_map(|(name, value)| field_sign(&name, value)) {
        return Some(sign);
    }
    const WORDS: &[&str] = &[
        "locked",
        "lockout",
        "lock out",
        "too many",
        "try again later",
        "try again in",
        "retry after",
        "temporarily blocked",
        "exceeded",
    ];
    WORDS
        .iter()
        .find(|w| contains_word(&body, w))
        .map(|w| format!("said \"{w}\" in its reply, a lockout sign"))
}

/// Field names compared without case, `_` or `-`: `lock_status`, `lockStatus`, `Lock-Status`.
fn normal_name(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Names a lock: `lockStatus`, `isLocked`, `unlockTime`, `lockLeftTime` (not `clock`, `block`).
fn names_lock(name: &str) -> bool {
    name.match_indices("lock").any(|(i, _)| {
        !matches!(
            name.get(..i).and_then(|s| s.chars().last()),
            Some('c' | 'b')
        )
    })
}

/// A body field or header that says logins are locked or must wait, in camguard's words.
/// `name` is [`normal_name`]d, `value` lower case.
fn field_sign(name: &str, value: &str) -> Option<String> {
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let number = value.parse::<u64>().ok();
    // Tries left (Hikvision's retryLoginTime; other firmware's retryTimes, remainTimes).
    if matches!(
        name,
        "retrylogintime"
            | "retrytimes"
            | "remaintimes"
            | "retriesleft"
            | "attemptsleft"
            | "remainingattempts"
    ) {
        let left = number?;
        return (left <= 1).then(|| {
            format!(
                "said {left} login tr{} left before it locks",
                if left == 1 { "y is" } else { "ies are" }
            )
        });
    }
    let locked_word = matches!(value, "lock" | "locked" | "true" | "yes" | "on");
    if names_lock(name) {
        if let Some(n) = number.filter(|n| *n > 0) {
            let timed = [
                "time", "left", "remain", "duration", "second", "minute", "wait",
            ]
            .iter()
            .any(|w| name.contains(w));
            return Some(if timed {
                format!("said its logins are locked for a while ({n} more seconds or minutes)")
            } else {
                "said its logins are locked".into()
            });
        }
        return locked_word.then(|| "said its logins are locked".into());
    }
    if name.contains("retry") || name.contains("wait") {
        let later = number.is_some_and(|n| n > 0) || (number.is_none() && locked_word);
        return later
            .then(|| "named a time to wait before logging in again, a lockout sign".into());
    }
    None
}

/// Most fields [`body_fields`] reads of one reply.
const MAX_FIELDS: usize = 512;

/// Fields of a body in whatever syntax it has: `<name>value<`, `"name": value`,
/// `"name":"value"`, `name=value`. At most [`MAX_FIELDS`] of them, values at most 64 bytes;
/// never panics on any input.
fn body_fields(body: &str) -> impl Iterator<Item = (String, &str)> {
    let b = body.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut i = 0usize;
    std::iter::from_fn(move || {
        while i < b.len() {
            if !b.get(i).copied().is_some_and(ident) {
                i += 1;
                continue;
            }
            let start = i;
            while b.get(i).copied().is_some_and(ident) {
                i += 1;
            }
            // A closing tag `</name>` names no value.
            if start > 0 && b.get(start - 1) == Some(&b'/') {
                continue;
            }
            let mut j = i;
            if matches!(b.get(j), Some(b'"' | b'\'')) {
                j += 1;
            }
            while b.get(j).is_some_and(u8::is_ascii_whitespace) {
                j += 1;
            }
            if !matches!(b.get(j), Some(b'>' | b':' | b'=')) {
                continue;
            }
            j += 1;
            while b.get(j).is_some_and(u8::is_ascii_whitespace) {
                j += 1;
            }
            if matches!(b.get(j), Some(b'"' | b'\'')) {
                j += 1;
            }
            let value_start = j;
            while j - value_start < 64
                && b.get(j).is_some_and(|c| {
                    !matches!(
                        c,
                        b'<' | b'"' | b'\'' | b',' | b'}' | b']' | b'&' | b';' | b'\r' | b'\n'
                    )
                })
            {
                j += 1;
            }
            let (Some(name), Some(value)) = (body.get(start..i), body.get(value_start..j)) else {
                continue;
            };
            return Some((normal_name(name), value));
        }
        None
    })
    .take(MAX_FIELDS)
}

/// `needle` in `hay` not preceded or followed by a letter ("unlocked" is not "locked").
fn contains_word(hay: &str, needle: &str) -> bool {
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(i) = hay.get(from..).and_then(|rest| rest.find(needle)) {
        let start = from + i;
        let end = start + needle.len();
        let is_letter = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_alphabetic);
        let before = start == 0 || !is_letter(start - 1);
        let after = !is_letter(end);
        if before && after {
            return true;
        }
        from = end;
        if from >= hay.len() {
            break;
        }
    }
    false
}

/// `camera.default_credentials` (critical) for each device that accepts a factory login.
pub fn findings(results: &[CredentialResult]) -> Vec<Finding> {
    results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::DefaultLogin(w) => {
                Some(crate::audit::credentials::default_credentials(&r.device, w))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
