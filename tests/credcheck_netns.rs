//! The probe and the default-password check against real servers in network namespaces.
//!
//! Each test builds its own namespaces (names carry the pid and the test's tag) — a "router",
//! a "camera" LAN, an "other" LAN for a device that is no camera, and a "wan" side — joined by
//! veth pairs. Every address lives inside these namespaces; nothing is added to the host's.
//! The cameras are tests/fixtures/camera/camera_http.py (Python's http.server with Digest and
//! a lockout) and camera_rtsp.py (the real GStreamer RTSP server, Debian's
//! gir1.2-gst-rtsp-server-1.0). Both log every connection and login attempt, so the budget and
//! the lockouts are counted on the server's side. camguard's probe and check run in a thread
//! that has joined the router namespace (setns), as the daemon would run on the router.
//!
//! Root only (namespaces); CI runs as root. Needs `ip` (iproute2) and the packages
//! scripts/setup installs.
#![cfg(feature = "lan-probe")]
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use camguard::facts::Inventory;
use camguard::formats::dhcp::DhcpLease;
use camguard::lan::{DeviceClass, LanObservations, ProbeReport, ServiceKind};
use camguard::probe::credentials::{self, CredState, CredentialResult, Outcome, Skip, Target};
use camguard::probe::guard::{LanGuard, LanPrefix};
use camguard::probe::scan::{self, ProbeOptions};
use camguard::snapshot::policy::Policy;
use camguard::snapshot::Snapshot;
use serde_json::Value;

/// The inventory of `snap` with these observations and this policy.
fn build_with(snap: &Snapshot, policy: &Policy, obs: &LanObservations) -> Inventory {
    let mut snap = snap.clone();
    snap.policy_file = Some(Ok(policy.clone()));
    snap.lan = obs.clone();
    Inventory::build(&snap)
}

/// 2026-11-25 12:00 UTC.
const T0: u64 = 1_795_608_000;
const DAY: u64 = 86_400;
/// Hikvision's factory password: must never appear in anything camguard outputs.
const HIKVISION_DEFAULT: &str = "12345";

static RIGS: AtomicUsize = AtomicUsize::new(0);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/camera")
        .join(name)
}

/// Debian's python3 (the one with python3-gi), not a pyenv shim earlier in PATH.
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn require_root_and_tools() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!(
            "tests/credcheck_netns.rs needs root: it creates network namespaces. Run it as root \
             (CI does), e.g. `sudo -E cargo test --test credcheck_netns`."
        );
    }
    let ip = Command::new("ip").arg("-V").output();
    assert!(
        ip.is_ok_and(|o| o.status.success()),
        "`ip` (iproute2) is missing: run scripts/setup"
    );
    let gi = Command::new(python())
        .args([
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); \
             from gi.repository import GstRtspServer",
        ])
        .output();
    assert!(
        gi.is_ok_and(|o| o.status.success()),
        "the GStreamer RTSP server for Python is missing: run scripts/setup (apt packages \
         python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good)"
    );
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "{} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server's event log.
struct ServerLog {
    path: PathBuf,
}

impl ServerLog {
    fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn count(&self, event: &str) -> usize {
        self.events().iter().filter(|e| e["event"] == event).count()
    }

    fn attempts(&self) -> usize {
        self.count("attempt")
    }

    fn failures(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| e["event"] == "attempt" && e["ok"] == false)
            .count()
    }

    fn locked(&self) -> bool {
        self.count("locked") > 0
    }

    /// Connections and requests of every kind: what "touched" means.
    fn contacts(&self) -> usize {
        self.count("connection") + self.count("request")
    }
}

/// Namespaces and servers of one test, removed on drop (also when the test fails).
struct Rig {
    tag: String,
    dir: PathBuf,
    namespaces: Vec<String>,
    children: Vec<Child>,
}

impl Rig {
    /// router — camera LAN 10.231.1.0/24 (camera at .10 to .14), other LAN 10.231.2.0/24
    /// (device at .20), wan 198.51.100.0/24 and 10.99.0.0/24 (host at .2).
    fn new(name: &str) -> Rig {
        require_root_and_tools();
        let n = RIGS.fetch_add(1, Ordering::SeqCst);
        let tag = format!("cg{}{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("camguard-netns-{tag}-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut rig = Rig {
            tag,
            dir,
            namespaces: Vec::new(),
            children: Vec::new(),
        };
        for role in ["r", "c", "o", "w"] {
            let ns = rig.ns(role);
            run(&["ip", "netns", "add", &ns]);
            rig.namespaces.push(ns.clone());
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        let r = rig.ns("r");
        for (link, role, router_addrs, peer_addrs) in [
            (
                "c0",
                "c",
                &["10.231.1.1/24"][..],
                &[
                    "10.231.1.10/24",
                    "10.231.1.11/24",
                    "10.231.1.12/24",
                    "10.231.1.13/24",
                    "10.231.1.14/24",
                ][..],
            ),
            ("o0", "o", &["10.231.2.1/24"][..], &["10.231.2.20/24"][..]),
            (
                "w0",
                "w",
                &["198.51.100.1/24", "10.99.0.1/24"][..],
                &["198.51.100.2/24", "10.99.0.2/24"][..],
            ),
        ] {
            let peer = rig.ns(role);
            run(&[
                "ip", "-n", &r, "link", "add", link, "type", "veth", "peer", "name", "eth0",
                "netns", &peer,
            ]);
            for a in router_addrs {
                run(&["ip", "-n", &r, "addr", "add", a, "dev", link]);
            }
            for a in peer_addrs {
                run(&["ip", "-n", &peer, "addr", "add", a, "dev", "eth0"]);
            }
            run(&["ip", "-n", &r, "link", "set", link, "up"]);
            run(&["ip", "-n", &peer, "link", "set", "eth0", "up"]);
        }
        rig
    }

    fn ns(&self, role: &str) -> String {
        format!("{}{role}", self.tag)
    }

    /// The router's LAN prefixes: the camera LAN and the other LAN, not the WAN side.
    fn guard(&self) -> LanGuard {
        LanGuard::new(vec![
            LanPrefix::parse("10.231.1.1/24").unwrap(),
            LanPrefix::parse("10.231.2.1/24").unwrap(),
        ])
    }

    fn spawn(&mut self, role: &str, name: &str, script: &str, args: &[&str]) -> ServerLog {
        let log = self.dir.join(format!("{name}.log"));
        let stderr = std::fs::File::create(self.dir.join(format!("{name}.stderr"))).unwrap();
        let ns = self.ns(role);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, python()])
            .arg(fixture(script))
            .args(args)
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn a camera server");
        self.children.push(child);
        let server = ServerLog { path: log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.count("ready") == 0 {
            if let Some(status) = self.children.last_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{name} exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join(format!("{name}.stderr")))
                        .unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not start within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// camera_http.py on `addr:80`.
    fn http(&mut self, role: &str, name: &str, addr: &str, extra: &[&str]) -> ServerLog {
        let mut args = vec!["--bind", addr, "--port", "80"];
        args.extend_from_slice(extra);
        self.spawn(role, name, "camera_http.py", &args)
    }

    /// camera_rtsp.py on `addr:554`.
    fn rtsp(&mut self, role: &str, name: &str, addr: &str, extra: &[&str]) -> ServerLog {
        let mut args = vec!["--bind", addr, "--port", "554"];
        args.extend_from_slice(extra);
        self.spawn(role, name, "camera_rtsp.py", &args)
    }

    /// Runs `f` in a thread inside the router namespace (threads it spawns inherit it).
    fn in_router<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.ns("r"));
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path).expect("open the router namespace");
                use std::os::fd::AsRawFd;
                // SAFETY: a valid namespace fd; setns only changes this thread's namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("router thread")
        })
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("server logs kept in {}", self.dir.display());
        }
    }
}

/// A snapshot whose DHCP leases are these devices (MAC, address, hostname).
fn snapshot(devices: &[(&str, &str, &str)], now: u64) -> Snapshot {
    let mut snap = Snapshot::new(now, "netns test");
    for (i, (mac, ip, host)) in devices.iter().enumerate() {
        snap.dhcp_leases.push(DhcpLease {
            line: i + 1,
            expires: 0,
            mac: Some(mac.parse().unwrap()),
            ip: ip.parse().unwrap(),
            hostname: Some((*host).into()),
            client_id: None,
        });
    }
    snap
}

fn policy(uci: &str) -> Policy {
    Policy::from_uci(&camguard::formats::uci::parse("camguard", uci.as_bytes()).unwrap()).unwrap()
}

/// What camguard knows, as the daemon would hold it.
struct Checker {
    state: CredState,
    state_path: PathBuf,
    outputs: String,
}

impl Checker {
    fn new(rig: &Rig) -> Checker {
        Checker {
            state: CredState::default(),
            state_path: rig.dir.join("etc/camguard/credcheck.json"),
            outputs: String::new(),
        }
    }

    /// One check at `now`, inside the router namespace, saving the state file as the daemon
    /// would; everything it returns is kept for the no-password assertions.
    fn check(&mut self, rig: &Rig, targets: &[Target], now: u64) -> Vec<CredentialResult> {
        let guard = rig.guard();
        let path = self.state_path.clone();
        let state = &mut self.state;
        let results = rig.in_router(|| {
            let mut transport = credentials::TcpTransport::new(guard.clone());
            let mut save = |s: &CredState| s.save(&path);
            credentials::check(targets, &guard, state, now, &mut transport, &mut save)
        });
        for r in &results {
            self.outputs.push_str(&r.log_line());
            self.outputs.push('\n');
            self.outputs.push_str(&format!("{r:?}\n"));
        }
        for f in credentials::findings(&results) {
            self.outputs.push_str(&serde_json::to_string(&f).unwrap());
        }
        self.outputs
            .push_str(&std::fs::read_to_string(&self.state_path).unwrap_or_default());
        let reloaded = CredState::load(&self.state_path).unwrap();
        assert_eq!(
            reloaded, self.state,
            "the state file holds what the check knows"
        );
        results
    }
}

fn probe_in_router(rig: &Rig, ips: &[&str]) -> Vec<ProbeReport> {
    let ips: Vec<IpAddr> = ips.iter().map(|i| i.parse().unwrap()).collect();
    let guard = rig.guard();
    rig.in_router(|| scan::probe(&ips, &guard, T0, &ProbeOptions::default()))
}

#[test]
fn finds_the_factory_login_on_a_real_camera_and_keeps_to_its_budget() {
    let mut rig = Rig::new("found");
    let web = rig.http(
        "c",
        "hik-web",
        "10.231.1.10",
        &[
            "--password",
            HIKVISION_DEFAULT,
            "--xml",
            "--protected",
            "/ISAPI/Security/userCheck",
            "--lock-after",
            "3",
        ],
    );
    let rtsp = rig.rtsp(
        "c",
        "hik-rtsp",
        "10.231.1.10",
        &["--password", HIKVISION_DEFAULT, "--lock-after", "3"],
    );

    // The probe: RTSP answers OPTIONS, the web server names its maker, nothing logs in.
    let probes = probe_in_router(&rig, &["10.231.1.10"]);
    let report = &probes[0];
    assert_eq!(report.refused, None);
    assert_eq!(report.ports_of(ServiceKind::Rtsp), [554]);
    assert_eq!(report.ports_of(ServiceKind::Http), [80]);
    assert_eq!(
        report.vendor_hint().map(|h| h.vendor.as_str()),
        Some("Hikvision")
    );
    assert_eq!(
        (web.attempts(), rtsp.attempts()),
        (0, 0),
        "the probe sends no credentials"
    );

    // A Hikvision OUI with a generic hostname; the probe's RTSP adds evidence.
    let snap = snapshot(&[("4c:bd:8f:00:00:10", "10.231.1.10", "garden")], T0);
    let obs = LanObservations {
        probes: probes.clone(),
        ..LanObservations::default()
    };
    let inventory = build_with(&snap, &Policy::default(), &obs);
    let device = &inventory.devices[0];
    assert_eq!(device.classification.class, DeviceClass::Camera);
    assert!(device
        .classification
        .reasons
        .iter()
        .any(|r| r.starts_with("answers on port 554: RTSP")));
    let targets = credentials::targets(&inventory, &probes);
    assert_eq!(targets.len(), 1);

    let mut checker = Checker::new(&rig);
    let results = checker.check(&rig, &targets, T0);
    let Outcome::DefaultLogin(w) = &results[0].outcome else {
        panic!("{:?}", results[0].outcome)
    };
    assert_eq!(
        (
            w.user.as_str(),
            w.vendor.as_str(),
            w.protocol.as_str(),
            w.port
        ),
        ("admin", "Hikvision", "HTTP", 80)
    );
    let findings = credentials::findings(&results);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].id, "camera.default_credentials");
    assert!(findings[0]
        .detail
        .contains("accepts the login admin with Hikvision's factory password"));
    assert_eq!((web.attempts(), web.failures(), rtsp.attempts()), (1, 0, 0));

    // Every audit of the day: remembered, nothing sent.
    let contacts = (web.contacts(), rtsp.contacts());
    for minutes in [5, 60, 600] {
        let r = checker.check(&rig, &targets, T0 + minutes * 60);
        assert!(matches!(r[0].outcome, Outcome::DefaultLogin(_)));
    }
    assert_eq!(
        (web.contacts(), rtsp.contacts()),
        contacts,
        "nothing within the day"
    );

    // Three more days: one confirming attempt each, never more than two a day.
    let mut before = web.attempts() + rtsp.attempts();
    for day in 1..=3 {
        for hour in [0, 6, 12] {
            checker.check(&rig, &targets, T0 + day * DAY + hour * 3600);
        }
        let now = web.attempts() + rtsp.attempts();
        assert!(now - before <= 2, "day {day}: {} attempts", now - before);
        assert_eq!(now - before, 1, "day {day}: one confirming attempt");
        before = now;
    }
    assert!(!web.locked() && !rtsp.locked());
    assert_eq!(web.failures() + rtsp.failures(), 0);
    assert!(
        !checker.outputs.contains(HIKVISION_DEFAULT),
        "the factory password appeared in camguard's output:\n{}",
        checker.outputs
    );
}

#[test]
fn rtsp_describe_with_digest_on_the_real_gstreamer_server() {
    let mut rig = Rig::new("rtsp");
    let rtsp = rig.rtsp(
        "c",
        "rtsp-only",
        "10.231.1.11",
        &["--password", HIKVISION_DEFAULT, "--lock-after", "3"],
    );
    let probes = probe_in_router(&rig, &["10.231.1.11"]);
    assert_eq!(probes[0].ports_of(ServiceKind::Rtsp), [554]);
    assert!(probes[0].ports_of(ServiceKind::Http).is_empty());
    // With an unrelated OUI and a generic hostname, the real RTSP answer alone makes it a
    // camera (at low confidence); without the probe it is nothing.
    let generic = snapshot(&[("00:12:41:0a:0b:0c", "10.231.1.11", "wlan0")], T0);
    let obs = LanObservations {
        probes: probes.clone(),
        ..LanObservations::default()
    };
    let seen = build_with(&generic, &Policy::default(), &obs);
    assert_eq!(seen.devices[0].classification.class, DeviceClass::Camera);
    assert_eq!(
        seen.devices[0].classification.reasons,
        ["answers on port 554: RTSP, the protocol of camera video streams"]
    );
    let unseen = Inventory::build(&generic);
    assert_eq!(unseen.devices[0].classification.class, DeviceClass::Other);
    let snap = snapshot(&[("4c:bd:8f:00:00:11", "10.231.1.11", "IPCAM")], T0);
    let obs = LanObservations {
        probes: probes.clone(),
        ..LanObservations::default()
    };
    let inventory = build_with(&snap, &Policy::default(), &obs);
    let targets = credentials::targets(&inventory, &probes);
    let mut checker = Checker::new(&rig);
    let results = checker.check(&rig, &targets, T0);
    let Outcome::DefaultLogin(w) = &results[0].outcome else {
        panic!("{:?}", results[0].outcome)
    };
    assert_eq!((w.protocol.as_str(), w.port), ("RTSP", 554));
    assert_eq!((rtsp.attempts(), rtsp.failures()), (1, 0));
    assert!(
        !checker.outputs.contains(HIKVISION_DEFAULT),
        "{}",
        checker.outputs
    );
}

#[test]
fn a_camera_that_locks_after_three_failures_is_never_locked() {
    // A Dahua camera whose owner changed the password. Dahua has two factory logins; the web
    // server and the RTSP server each lock after three failures and never forget.
    let mut rig = Rig::new("nolock");
    let web = rig.http(
        "c",
        "dahua-web",
        "10.231.1.12",
        &[
            "--password",
            "Owner-Chosen-7",
            "--realm",
            "Login to 7K02D8APAZ1C3F9",
            "--server-header",
            "",
            "--protected",
            "/cgi-bin/magicBox.cgi?action=getDeviceType",
            "--lock-after",
            "3",
        ],
    );
    let rtsp = rig.rtsp(
        "c",
        "dahua-rtsp",
        "10.231.1.12",
        &[
            "--password",
            "Owner-Chosen-7",
            "--realm",
            "Login to 7K02D8APAZ1C3F9",
            "--path",
            "/cam/realmonitor",
            "--lock-after",
            "3",
        ],
    );
    let probes = probe_in_router(&rig, &["10.231.1.12"]);
    // Its web page and RTSP OPTIONS open without a login, so only the OUI names the maker.
    assert_eq!(probes[0].vendor_hint(), None);
    let snap = snapshot(&[("3c:ef:8c:00:00:12", "10.231.1.12", "IPC-HFW2431S")], T0);
    let obs = LanObservations {
        probes: probes.clone(),
        ..LanObservations::default()
    };
    let inventory = build_with(&snap, &Policy::default(), &obs);
    let targets = credentials::targets(&inventory, &probes);
    assert_eq!(targets[0].vendor.as_deref(), Some("Dahua"));

    let mut checker = Checker::new(&rig);
    let mut before = 0;
    for day in 0..10 {
        for hour in [0, 1, 13] {
            let r = checker.check(&rig, &targets, T0 + day * DAY + hour * 3600);
            assert!(
                matches!(
                    r[0].outcome,
                    Outcome::Refused { .. } | Outcome::Skipped(Skip::NotDue(_))
                ),
                "day {day}: {:?}",
                r[0].outcome
            );
        }
        let total = web.attempts() + rtsp.attempts();
        assert!(
            total - before <= 2,
            "day {day}: {} attempts",
            total - before
        );
        before = total;
    }
    assert!(
        web.attempts() + rtsp.attempts() <= 2,
        "at most two failures ever"
    );
    assert!(!web.locked(), "the web login locked");
    assert!(!rtsp.locked(), "the RTSP login locked");
    let last = checker.check(&rig, &targets, T0 + 30 * DAY);
    assert_eq!(
        last[0].outcome,
        Outcome::Refused {
            vendor: "Dahua".into(),
            tried: 2
        }
    );
    assert!(credentials::findings(&last).is_empty());
}

#[test]
fn a_camera_showing_a_lockout_is_left_alone_for_good() {
    let mut rig = Rig::new("locked");
    // Already locked by someone else: Hikvision-style XML on .13, a bare 503 on .14.
    let xml = rig.http(
        "c",
        "locked-xml",
        "10.231.1.13",
        &[
            "--password",
            HIKVISION_DEFAULT,
            "--xml",
            "--protected",
            "/ISAPI/Security/userCheck",
            "--start-locked",
        ],
    );
    let busy = rig.http(
        "c",
        "locked-503",
        "10.231.1.14",
        &[
            "--password",
            HIKVISION_DEFAULT,
            "--start-locked",
            "--lock-style",
            "503",
        ],
    );
    let snap = snapshot(
        &[
            ("4c:bd:8f:00:00:13", "10.231.1.13", "cam-a"),
            ("4c:bd:8f:00:00:14", "10.231.1.14", "cam-b"),
        ],
        T0,
    );
    let inventory = Inventory::build(&snap);
    // No probe: the check falls back to ports 80 and 554.
    let targets = credentials::targets(&inventory, &[]);
    let mut checker = Checker::new(&rig);
    let results = checker.check(&rig, &targets, T0);
    for r in &results {
        assert!(matches!(r.outcome, Outcome::Lockout(_)), "{:?}", r.outcome);
        assert_eq!(r.attempts, 0, "stopped at the sign, before any login");
    }
    assert_eq!((xml.attempts(), busy.attempts()), (0, 0));
    let contacts = (xml.contacts(), busy.contacts());
    for day in 1..5 {
        checker.check(&rig, &targets, T0 + day * DAY);
    }
    assert_eq!((xml.contacts(), busy.contacts()), contacts, "never again");
}

#[test]
fn devices_that_are_not_cameras_receive_nothing() {
    let mut rig = Rig::new("other");
    // The same camera servers, with the factory password, on a device that is no camera.
    let web = rig.http(
        "o",
        "other-web",
        "10.231.2.20",
        &["--password", HIKVISION_DEFAULT, "--xml"],
    );
    let rtsp = rig.rtsp(
        "o",
        "other-rtsp",
        "10.231.2.20",
        &["--password", HIKVISION_DEFAULT],
    );
    // A laptop by its OUI and name; and the same address as a Hikvision-OUI device that the
    // owner declared `class other` (the owner always wins).
    for (mac, host, uci) in [
        ("00:12:f0:00:00:20", "office-laptop", ""),
        (
            "4c:bd:8f:00:00:20",
            "dev-board",
            "config device\n\toption mac '4c:bd:8f:00:00:20'\n\toption class 'other'\n",
        ),
    ] {
        let snap = snapshot(&[(mac, "10.231.2.20", host)], T0);
        let inventory = build_with(&snap, &policy(uci), &LanObservations::default());
        assert_eq!(
            inventory.devices[0].classification.class,
            DeviceClass::Other
        );
        let targets = credentials::targets(&inventory, &[]);
        assert!(targets.is_empty(), "{host}: no target");
        // Even forced in by a caller, check refuses it.
        let forced = Target {
            key: mac.into(),
            device: Arc::clone(&inventory.devices[0]),
            ip: "10.231.2.20".parse().unwrap(),
            vendor: Some("Hikvision".into()),
            http_ports: vec![80],
            rtsp_ports: vec![554],
        };
        let mut checker = Checker::new(&rig);
        let r = checker.check(&rig, &[forced], T0);
        assert_eq!(r[0].outcome, Outcome::Skipped(Skip::NotACamera));
    }
    assert_eq!(web.contacts(), 0, "the web server was contacted");
    assert_eq!(rtsp.contacts(), 0, "the RTSP server was contacted");
}

#[test]
fn addresses_outside_the_lan_are_never_contacted() {
    let mut rig = Rig::new("wan");
    let public = rig.http(
        "w",
        "wan-public",
        "198.51.100.2",
        &["--password", HIKVISION_DEFAULT, "--xml"],
    );
    let private = rig.http(
        "w",
        "wan-private",
        "10.99.0.2",
        &["--password", HIKVISION_DEFAULT, "--xml"],
    );
    // Reachable from the router (the test proves it), but not LAN addresses.
    let reachable = rig.in_router(|| {
        std::net::TcpStream::connect_timeout(
            &"198.51.100.2:80".parse().unwrap(),
            Duration::from_secs(2),
        )
        .is_ok()
    });
    assert!(
        reachable,
        "the rig's WAN host must be reachable, or this test proves nothing"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while public.contacts() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let baseline = public.contacts();
    assert_eq!(baseline, 1, "the server logs connections");

    let probes = probe_in_router(&rig, &["198.51.100.2", "10.99.0.2"]);
    assert!(probes
        .iter()
        .all(|p| p.refused.is_some() && p.services.is_empty()));
    let snap = snapshot(
        &[
            ("4c:bd:8f:00:00:30", "198.51.100.2", "wan-cam"),
            ("4c:bd:8f:00:00:31", "10.99.0.2", "wan-cam-2"),
        ],
        T0,
    );
    let inventory = Inventory::build(&snap);
    let targets = credentials::targets(&inventory, &[]);
    assert_eq!(targets.len(), 2, "camera-like by their OUIs");
    let mut checker = Checker::new(&rig);
    for r in checker.check(&rig, &targets, T0) {
        assert!(
            matches!(r.outcome, Outcome::Skipped(Skip::AddressRefused(_))),
            "{:?}",
            r.outcome
        );
    }
    assert_eq!(public.contacts(), baseline);
    assert_eq!(private.contacts(), 0);
    assert_eq!(public.attempts() + private.attempts(), 0);
}

/// SADP and Dahua discovery against responders in the camera LAN: a camera's reply gives its
/// model and firmware, a hostile reply is cleaned and bounded, garbage is ignored, and the WAN
/// side gets nothing.
#[test]
fn discovery_inquiries_learn_model_and_firmware_from_lan_cameras_only() {
    use camguard::probe::discovery;
    let mut rig = Rig::new("sadp");
    let camera = rig.spawn("c", "sadp-cam", "sadp.py", &["--bind", "10.231.1.10"]);
    let hostile = rig.spawn(
        "c",
        "sadp-hostile",
        "sadp.py",
        &["--bind", "10.231.1.11", "--mode", "hostile"],
    );
    let garbage = rig.spawn(
        "c",
        "sadp-garbage",
        "sadp.py",
        &["--bind", "10.231.1.12", "--mode", "garbage"],
    );
    let wan = rig.spawn("w", "sadp-wan", "sadp.py", &["--bind", "198.51.100.2"]);
    let dahua = rig.spawn(
        "c",
        "dahua",
        "dahua_discovery.py",
        &["--bind", "10.231.1.13"],
    );
    let onvif = rig.spawn("c", "onvif", "ws_discovery.py", &["--bind", "10.231.1.14"]);
    let targets: Vec<IpAddr> = [
        "10.231.1.10",
        "10.231.1.11",
        "10.231.1.12",
        "10.231.1.13",
        "10.231.1.14",
        "198.51.100.2",
    ]
    .iter()
    .map(|i| i.parse().unwrap())
    .collect();
    let guard = rig.guard();
    let found =
        rig.in_router(|| discovery::discover(&targets, &guard, T0, Duration::from_secs(2), &[]));
    let of = |ip: &str| {
        found
            .iter()
            .find(|(a, _)| a.to_string() == ip)
            .map(|(_, i)| i)
    };
    let cam = of("10.231.1.10").expect("the camera answered");
    assert_eq!(cam.model.as_deref(), Some("DS-2CD2142FWD-I"));
    assert_eq!(cam.firmware.as_deref(), Some("V5.4.0 build 160530"));
    assert_eq!((cam.protocol.as_str(), cam.at), ("SADP", T0));
    let bad = of("10.231.1.11").expect("the hostile reply is kept, cleaned");
    let model = bad.model.as_deref().unwrap();
    assert!(
        !model.chars().any(char::is_control) && model.contains("\\u{202e}"),
        "{model}"
    );
    assert!(
        model.chars().count() < 400,
        "bounded: {} chars",
        model.chars().count()
    );
    assert!(!bad.firmware.as_deref().unwrap().contains('\n'));
    assert!(of("10.231.1.12").is_none(), "garbage is no reply");
    assert!(of("198.51.100.2").is_none());
    let dh = of("10.231.1.13").expect("the Dahua camera answered");
    assert_eq!(dh.model.as_deref(), Some("IPC-HDW1230S"));
    assert_eq!(dh.protocol, "Dahua discovery");
    assert_eq!(dahua.count("request"), 1);
    let ws = of("10.231.1.14").expect("the ONVIF camera answered");
    assert_eq!(
        (ws.model.as_deref(), ws.firmware.as_deref()),
        (Some("IPC-B2 Mini"), None)
    );
    assert_eq!(onvif.count("request"), 1);
    assert_eq!(wan.count("request"), 0, "nothing is sent outside the LAN");
    assert_eq!(camera.count("request"), 1, "one inquiry per device");
    assert_eq!(hostile.count("request") + garbage.count("request"), 2);
    // The firmware it named is on the KEV table.
    let rows = camguard::facts::firmware::known_exploited("Hikvision", cam);
    assert!(rows.iter().any(|r| r.cve == "CVE-2017-7921"));
}

/// SSDP against responders in the camera LAN (tests/fixtures/camera/ssdp.py, formats of UPnP
/// Device Architecture 1.1 §1.3.2, §1.3.3 and §2.3): a unicast M-SEARCH's answer points to a
/// description, fetched from the answering address only, within bounded time and size; a
/// LOCATION naming another host (on the LAN or not) is never followed; a device a camera
/// protocol answered costs no description fetch.
#[test]
fn ssdp_descriptions_are_fetched_from_the_answering_lan_address_only() {
    use camguard::probe::discovery;
    let mut rig = Rig::new("ssdp");
    let c = rig.ns("c");
    for extra in ["10.231.1.15/24", "10.231.1.16/24"] {
        run(&["ip", "-n", &c, "addr", "add", extra, "dev", "eth0"]);
    }
    let ssdp = |rig: &mut Rig, role: &str, name: &str, args: &[&str]| {
        rig.spawn(role, name, "ssdp.py", args)
    };
    let normal = ssdp(&mut rig, "c", "upnp-cam", &["--bind", "10.231.1.10"]);
    let hostile = ssdp(
        &mut rig,
        "c",
        "upnp-hostile",
        &["--bind", "10.231.1.11", "--mode", "hostile"],
    );
    let lan_other = ssdp(
        &mut rig,
        "o",
        "upnp-other",
        &["--bind", "10.231.2.20", "--http-only"],
    );
    let wan = ssdp(
        &mut rig,
        "w",
        "upnp-wan",
        &["--bind", "198.51.100.2", "--http-only"],
    );
    let to_lan = ssdp(
        &mut rig,
        "c",
        "upnp-to-lan",
        &[
            "--bind",
            "10.231.1.12",
            "--mode",
            "elsewhere",
            "--location-host",
            "10.231.2.20",
        ],
    );
    let to_wan = ssdp(
        &mut rig,
        "c",
        "upnp-to-wan",
        &[
            "--bind",
            "10.231.1.13",
            "--mode",
            "elsewhere",
            "--location-host",
            "198.51.100.2",
        ],
    );
    let drip = ssdp(
        &mut rig,
        "c",
        "upnp-drip",
        &["--bind", "10.231.1.14", "--mode", "drip"],
    );
    let flood = ssdp(
        &mut rig,
        "c",
        "upnp-flood",
        &["--bind", "10.231.1.15", "--mode", "flood"],
    );
    let both = ssdp(&mut rig, "c", "upnp-sadp", &["--bind", "10.231.1.16"]);
    rig.spawn("c", "sadp-too", "sadp.py", &["--bind", "10.231.1.16"]);
    let targets: Vec<IpAddr> = (10..=16)
        .map(|i| format!("10.231.1.{i}").parse().unwrap())
        .collect();
    let guard = rig.guard();
    let started = Instant::now();
    let found =
        rig.in_router(|| discovery::discover(&targets, &guard, T0, Duration::from_secs(2), &[]));
    let took = started.elapsed();
    let of = |ip: &str| {
        found
            .iter()
            .find(|(a, _)| a.to_string() == ip)
            .map(|(_, i)| i)
    };
    let cam = of("10.231.1.10").expect("the UPnP camera's description");
    assert_eq!(cam.manufacturer.as_deref(), Some("Hikvision"));
    assert_eq!(cam.model.as_deref(), Some("IP Camera DS-2CD2143G0-I"));
    assert_eq!(
        cam.device_type.as_deref(),
        Some("urn:schemas-upnp-org:device:Basic:1")
    );
    assert_eq!(
        (cam.protocol.as_str(), cam.firmware.as_deref()),
        ("SSDP", None)
    );
    assert_eq!(normal.count("request"), 1, "one M-SEARCH per device");
    assert_eq!(normal.count("http"), 1, "one description fetch per device");
    assert_eq!(
        normal
            .events()
            .iter()
            .find(|e| e["event"] == "http")
            .unwrap()["path"],
        "/rootDesc.xml"
    );

    let bad = of("10.231.1.11").expect("the hostile description is kept, cleaned");
    for text in [&bad.manufacturer, &bad.model, &bad.device_type] {
        let text = text.as_deref().unwrap();
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(
            text.chars().count() < 600,
            "bounded: {}",
            text.chars().count()
        );
    }
    assert!(bad.manufacturer.as_deref().unwrap().contains("\\u{202e}"));
    assert_eq!(hostile.count("http"), 1);

    // LOCATIONs naming other hosts: nothing is fetched, from either host.
    assert!(of("10.231.1.12").is_none() && of("10.231.1.13").is_none());
    assert_eq!(to_lan.count("request") + to_wan.count("request"), 2);
    assert_eq!(to_lan.count("http") + to_wan.count("http"), 0);
    assert_eq!(
        lan_other.count("http"),
        0,
        "a LAN host the device named is not contacted"
    );
    assert_eq!(wan.count("http"), 0, "nothing is sent outside the LAN");

    // A description that drips or floods gives nothing, within the bounds.
    assert!(of("10.231.1.14").is_none() && of("10.231.1.15").is_none());
    assert_eq!((drip.count("http"), flood.count("http")), (1, 1));
    assert!(
        took < Duration::from_secs(2) + discovery::FETCH_WITHIN * 2 + Duration::from_secs(2),
        "the run took {took:?}"
    );

    // SADP answered: its reply wins, and no description is fetched.
    let sadp = of("10.231.1.16").expect("the SADP reply");
    assert_eq!(sadp.protocol, "SADP");
    assert_eq!((both.count("request"), both.count("http")), (1, 0));
}

/// Description URLs devices announced in an SSDP NOTIFY (heard by the daemon's listener) are
/// followed by the probe's run like an M-SEARCH answer's: for an address it asks now, on that
/// address only. A device that answers no inquiry (a description server only) is learnt from
/// its announcement; a LOCATION naming another LAN host fetches nothing from it; an address
/// the probe is not due for is not contacted.
#[test]
fn announced_locations_are_fetched_on_the_announcing_address_only() {
    use camguard::probe::discovery;
    let mut rig = Rig::new("notify");
    let http_only = |rig: &mut Rig, role: &str, name: &str, addr: &str| {
        rig.spawn(role, name, "ssdp.py", &["--bind", addr, "--http-only"])
    };
    let quiet = http_only(&mut rig, "c", "announcer", "10.231.1.10");
    let named = http_only(&mut rig, "o", "named-host", "10.231.2.20");
    let not_due = http_only(&mut rig, "c", "not-due", "10.231.1.12");
    let targets: Vec<IpAddr> = ["10.231.1.10", "10.231.1.11"]
        .iter()
        .map(|i| i.parse().unwrap())
        .collect();
    let announced = [
        (
            "10.231.1.10".parse().unwrap(),
            "http://10.231.1.10:49152/rootDesc.xml".to_owned(),
        ),
        (
            "10.231.1.11".parse().unwrap(),
            "http://10.231.2.20:49152/rootDesc.xml".to_owned(),
        ),
        (
            "10.231.1.12".parse().unwrap(),
            "http://10.231.1.12:49152/rootDesc.xml".to_owned(),
        ),
    ];
    let guard = rig.guard();
    let found = rig.in_router(|| {
        discovery::discover(&targets, &guard, T0, Duration::from_secs(1), &announced)
    });
    let of = |ip: &str| {
        found
            .iter()
            .find(|(a, _)| a.to_string() == ip)
            .map(|(_, i)| i)
    };
    let cam = of("10.231.1.10").expect("the announced description");
    assert_eq!(cam.manufacturer.as_deref(), Some("Hikvision"));
    assert_eq!(cam.protocol, "SSDP");
    assert_eq!(quiet.count("http"), 1);
    assert!(of("10.231.1.11").is_none());
    assert_eq!(
        named.count("http"),
        0,
        "a host the LOCATION named is not contacted"
    );
    assert_eq!(
        not_due.count("http"),
        0,
        "an address not probed now is not contacted"
    );
}

/// ONVIF's GetDeviceInformation after WS-Discovery (tests/fixtures/camera/ws_discovery.py with
/// a device service): an open camera names maker, model and firmware; one that asks for a
/// login gets none and keeps its WS-Discovery model; a hostile answer is cleaned; a device
/// service on another host is never contacted; a camera whose SADP reply named its firmware is
/// not asked.
#[test]
fn onvif_device_information_is_asked_without_a_login_on_the_lan_address_only() {
    use camguard::probe::discovery;
    let mut rig = Rig::new("onvif");
    let ws = |rig: &mut Rig, name: &str, ip: &str, mode: &str| {
        let args = [
            "--bind",
            ip,
            "--service-port",
            "8899",
            "--service-mode",
            mode,
            "--xaddrs-host",
            "10.231.2.20",
        ];
        rig.spawn("c", name, "ws_discovery.py", &args)
    };
    let open = ws(&mut rig, "onvif-open", "10.231.1.10", "open");
    let auth = ws(&mut rig, "onvif-auth", "10.231.1.11", "auth");
    let hostile = ws(&mut rig, "onvif-hostile", "10.231.1.12", "hostile");
    let elsewhere = ws(&mut rig, "onvif-elsewhere", "10.231.1.13", "elsewhere");
    let other = rig.spawn(
        "o",
        "other-host",
        "ssdp.py",
        &[
            "--bind",
            "10.231.2.20",
            "--http-port",
            "8899",
            "--http-only",
        ],
    );
    let with_sadp = ws(&mut rig, "onvif-sadp", "10.231.1.14", "open");
    rig.spawn("c", "sadp", "sadp.py", &["--bind", "10.231.1.14"]);
    let targets: Vec<IpAddr> = (10..=14)
        .map(|i| format!("10.231.1.{i}").parse().unwrap())
        .collect();
    let guard = rig.guard();
    let found =
        rig.in_router(|| discovery::discover(&targets, &guard, T0, Duration::from_secs(2), &[]));
    let of = |ip: &str| {
        found
            .iter()
            .find(|(a, _)| a.to_string() == ip)
            .map(|(_, i)| i)
            .unwrap_or_else(|| panic!("{ip} answered: {found:?}"))
    };
    let cam = of("10.231.1.10");
    assert_eq!(cam.protocol, "ONVIF");
    assert_eq!(cam.manufacturer.as_deref(), Some("Dahua"));
    assert_eq!(cam.model.as_deref(), Some("IPC-HDW1230S"));
    assert_eq!(
        cam.firmware.as_deref(),
        Some("2.800.0000000.9.R, Build Date 2021-04-23")
    );
    let soap = open
        .events()
        .into_iter()
        .filter(|e| e["event"] == "soap")
        .collect::<Vec<_>>();
    assert_eq!(soap.len(), 1, "one request per camera");
    assert_eq!(soap[0]["path"], "/onvif/device_service");

    let locked = of("10.231.1.11");
    assert_eq!(
        (
            locked.protocol.as_str(),
            locked.model.as_deref(),
            locked.firmware.as_deref()
        ),
        ("WS-Discovery", Some("IPC-B2 Mini"), None)
    );
    assert_eq!(
        auth.count("soap"),
        1,
        "asked once, and not again with a login"
    );
    for log in [&open, &auth, &hostile] {
        assert!(
            log.events().iter().all(|e| e["authorization"] != true),
            "no credentials are sent"
        );
    }

    let bad = of("10.231.1.12");
    for text in [&bad.manufacturer, &bad.model, &bad.firmware] {
        let text = text.as_deref().unwrap();
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(
            text.chars().count() < 600,
            "bounded: {}",
            text.chars().count()
        );
    }
    assert!(bad.manufacturer.as_deref().unwrap().contains("\\u{202e}"));

    assert_eq!(of("10.231.1.13").protocol, "WS-Discovery");
    assert_eq!(elsewhere.count("soap"), 0);
    assert_eq!(
        other.count("http"),
        0,
        "a device service on another host is not contacted"
    );

    assert_eq!(of("10.231.1.14").protocol, "SADP");
    assert_eq!(
        with_sadp.count("soap"),
        0,
        "SADP named the firmware: nothing more to ask"
    );
}
