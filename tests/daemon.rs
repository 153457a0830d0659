//! `camguard daemon` driven as a user drives it: the real ubusd broker from crates.io
//! (scripts/install-ubus-tools puts it in .tools/bin) and `ubus-client call camguard …`.
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use camguard::daemon::METHODS;
use serde_json::{json, Map, Value};

#[path = "support/testbed.rs"]
mod testbed;
use testbed::{finding_keys, tool, wait_until};

/// A private broker on a socket in a temp dir, and whatever runs against it.
struct Bus {
    dir: PathBuf,
    socket: PathBuf,
    ubusd: Option<Child>,
    daemon: Option<Child>,
}

impl Bus {
    fn new(name: &str) -> Bus {
        let dir =
            std::env::temp_dir().join(format!("camguard-daemon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("ubus.sock");
        let mut bus = Bus {
            dir,
            socket,
            ubusd: None,
            daemon: None,
        };
        bus.start_ubusd();
        bus
    }

    fn start_ubusd(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let child = Command::new(tool("ubusd"))
            .arg(format!("--socket={}", self.socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ubusd starts");
        self.ubusd = Some(child);
        wait_until(Duration::from_secs(5), || self.socket.exists());
    }

    fn kill_ubusd(&mut self) {
        if let Some(mut c) = self.ubusd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Copies an example router into the temp dir (so tests may change it) and serves it.
    fn serve_copy_of(&mut self, example: &str) -> PathBuf {
        let root = self.dir.join("root");
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&src)
            .arg(&root)
            .status()
            .unwrap();
        assert!(status.success());
        self.start_daemon(&["--root", root.to_str().unwrap()]);
        root
    }

    fn start_daemon(&mut self, args: &[&str]) {
        let child = Command::new(env!("CARGO_BIN_EXE_camguard"))
            .arg("daemon")
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("camguard daemon starts");
        self.daemon = Some(child);
        assert!(
            self.wait_for_object(Duration::from_secs(5)),
            "camguard never registered"
        );
    }

    fn client(&self, args: &[&str]) -> Output {
        // A generous timeout: on a loaded CI machine the daemon may still be in its first
        // audit when the call arrives, and a timeout (status 7) is not what the tests ask about.
        Command::new(tool("ubus-client"))
            .arg("-s")
            .arg(&self.socket)
            .args(["-t", "30"])
            .args(args)
            .output()
            .unwrap()
    }

    fn call(&self, method: &str, args: &str) -> Value {
        let out = self.client(&["call", "camguard", method, args]);
        assert!(
            out.status.success(),
            "call {method}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn wait_for_object(&self, within: Duration) -> bool {
        wait_until(within, || {
            let out = self.client(&["list", "camguard"]);
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("camguard")
        })
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        for child in [self.daemon.as_mut(), self.ubusd.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn plan_from_the_daemon_reads_like_the_offline_plan() {
    let mut bus = Bus::new("plan");
    let root = bus.serve_copy_of("messy-home");
    let camguard = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_camguard"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let socket = bus.socket.to_str().unwrap();
    let json: Value =
        serde_json::from_str(&camguard(&["plan", "--json", "--socket", socket])).unwrap();
    assert_eq!(json, bus.call("plan", "{}"), "--json is the ubus reply");
    let live = camguard(&["plan", "--socket", socket]);
    let offline = camguard(&["plan", "--root", root.to_str().unwrap()]);
    // Past the header (the time each audit stands for), the same words.
    let body = |text: &str| text.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&live), body(&offline));
    assert!(
        live.contains("Disable port forward \"DVR remote\""),
        "{live}"
    );
}

#[test]
fn status_over_ubus_answers_what_camguard_audit_answers() {
    let mut bus = Bus::new("status");
    let root = bus.serve_copy_of("messy-home");
    let status = bus.call("status", "{}");
    let audit = Command::new(env!("CARGO_BIN_EXE_camguard"))
        .args(["audit", "--json", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    let audit: Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(finding_keys(&status), finding_keys(&audit));
    assert_eq!(status["score"], audit["score"]);
    // The other read methods answer in their documented shapes.
    let mappings = bus.call("mappings", "{}");
    let rtsp = mappings["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["ext_port"] == 554)
        .unwrap();
    assert_eq!(rtsp["device"]["class"], "camera");
    assert_eq!(
        rtsp["violates"], true,
        "upnp 'restricted' in this example's policy"
    );
    let forwards = bus.call("forwards", "{}");
    let dvr = forwards["forwards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "DVR remote")
        .unwrap();
    assert_eq!(
        (dvr["allowed"].as_bool(), dvr["every_port"].as_bool()),
        (Some(false), Some(true))
    );
    let devices = bus.call("devices", "{}");
    assert!(devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["vendor"] == "Dahua"));
    let high = bus.call("findings", r#"{"severity":"high"}"#);
    assert!(high["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "high" || f["severity"] == "critical"));
}

#[test]
fn bad_arguments_and_unknown_methods_get_ubus_statuses() {
    let mut bus = Bus::new("status-codes");
    bus.serve_copy_of("fresh-25.12");
    let bad = bus.client(&["call", "camguard", "findings", r#"{"severity":"urgent"}"#]);
    assert_eq!(bad.status.code(), Some(2), "invalid argument");
    let missing = bus.client(&["call", "camguard", "frobnicate", "{}"]);
    assert_eq!(missing.status.code(), Some(3), "method not found");
    // LuCI adds its session id to every call; reads accept it.
    let with_session = bus.client(&[
        "call",
        "camguard",
        "status",
        r#"{"ubus_rpc_session":"00000000000000000000000000000000"}"#,
    ]);
    assert!(with_session.status.success());
}

/// What `ubus -v list camguard` shows comes from the method table: every method, each argument
/// with its blobmsg type (7 Boolean, 5 Integer, 3 String, 2 Table), as rpcd's objects list theirs.
#[test]
fn the_listed_signature_gives_every_methods_argument_types() {
    let mut bus = Bus::new("signature");
    bus.serve_copy_of("fresh-25.12");
    let out = bus.client(&["list", "camguard"]);
    assert!(out.status.success());
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: Map<String, Value> = METHODS
        .iter()
        .map(|m| {
            let args: Map<String, Value> = m
                .args
                .iter()
                .map(|a| (a.name.to_owned(), json!(a.kind.blobmsg_type())))
                .collect();
            (m.name.to_owned(), Value::Object(args))
        })
        .collect();
    assert_eq!(listed[0]["methods"], Value::Object(expected));
}

/// docs/ubus-api.md promises the reason for status 2 in the daemon's log.
#[test]
fn an_invalid_argument_is_logged_with_its_reason() {
    let mut bus = Bus::new("bad-argument-log");
    bus.serve_copy_of("fresh-25.12");
    let bad = bus.client(&["call", "camguard", "enforce", r#"{"dry_run":"yes"}"#]);
    assert_eq!(bad.status.code(), Some(2), "invalid argument");
    let mut daemon = bus.daemon.take().unwrap();
    let _ = daemon.kill();
    let _ = daemon.wait();
    let mut log = String::new();
    daemon
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("enforce: invalid argument dry_run: expected Boolean, got String"),
        "{log}"
    );
}

#[test]
fn object_comes_back_within_two_seconds_after_ubusd_restarts() {
    let mut bus = Bus::new("restart");
    bus.serve_copy_of("fresh-25.12");
    bus.kill_ubusd();
    let restarted = Instant::now();
    bus.start_ubusd();
    assert!(
        bus.wait_for_object(Duration::from_secs(2)),
        "not back after {:?}",
        restarted.elapsed()
    );
    assert_eq!(bus.call("status", "{}")["score"], 100);
}

#[test]
fn a_camera_mapping_appended_to_the_lease_file_is_seen_and_announced_within_two_seconds() {
    let mut bus = Bus::new("inotify");
    let root = bus.serve_copy_of("messy-home");
    let mut listener = Command::new(tool("ubus-client"))
        .arg("-s")
        .arg(&bus.socket)
        .args(["-n", "1", "listen", "camguard.finding"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Asked before the change too: the reply encoded then must not be served after it.
    let before = bus.call("mappings", "{}");
    assert!(!before["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["ext_port"] == 8554));
    let lease = root.join("tmp/run/miniupnpd.leases");
    let appended = Instant::now();
    let mut text = std::fs::read_to_string(&lease).unwrap();
    text.push_str("TCP:8554:192.168.1.65:8554:0:garden cam rtsp\n");
    std::fs::write(&lease, text).unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = listener.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let event = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("a camguard.finding event within 2 s");
    let elapsed = appended.elapsed();
    let _ = listener.kill();
    let _ = listener.wait();
    let event: Value = serde_json::from_str(&event).unwrap();
    assert_eq!(event["event"], "camguard.finding");
    let finding = &event["data"]["finding"];
    assert_eq!(finding["id"], "upnp.mapping", "{event}");
    assert_eq!(finding["evidence"]["ext_port"], 8554);
    assert_eq!(finding["evidence"]["device"]["hostname"], "garden-cam");
    assert!(elapsed < Duration::from_secs(2));
    let mappings = bus.call("mappings", "{}");
    assert!(mappings["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["ext_port"] == 8554));
}

#[test]
fn sigterm_unregisters_and_exits() {
    let mut bus = Bus::new("term");
    bus.serve_copy_of("fresh-25.12");
    let mut daemon = bus.daemon.take().unwrap();
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let status = daemon.wait().unwrap();
    assert!(status.success());
    let out = bus.client(&["call", "camguard", "status", "{}"]);
    assert_eq!(out.status.code(), Some(4), "object gone");
}

#[test]
fn sighup_reloads_the_policy() {
    let mut bus = Bus::new("hup");
    let root = bus.serve_copy_of("messy-home");
    let before = bus.call("forwards", "{}");
    let plex = |v: &Value| {
        v["forwards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "Plex")
            .unwrap()["allowed"]
            .clone()
    };
    assert_eq!(plex(&before), true);
    // The owner switches forwards off and procd's reload trigger sends HUP (the inotify watch on
    // etc/config would notice the file too; either way the answer must change promptly).
    let cfg = root.join("etc/config/camguard");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("option forwards 'allowlist'", "option forwards 'off'");
    std::fs::write(&cfg, text).unwrap();
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(bus.daemon.as_ref().unwrap().id() as i32, libc::SIGHUP) };
    assert!(wait_until(Duration::from_secs(2), || plex(
        &bus.call("forwards", "{}")
    ) == false));
}

/// Only the files camguard reads start an audit: on a router the directory of
/// /tmp/dhcp.leases is all of /tmp, where LuCI and others write all the time.
#[test]
fn only_watched_files_start_an_audit() {
    use std::os::unix::net::UnixDatagram;
    let tb = testbed::Testbed::new("watch", &testbed::repo().join("examples/messy-home"));
    // The daemon logs to <sysroot>/dev/log: one line per audit.
    std::fs::create_dir_all(tb.root.join("dev")).unwrap();
    let log = UnixDatagram::bind(tb.root.join("dev/log")).unwrap();
    log.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let tb = tb.up();
    let audits_within = |within: Duration| {
        let start = Instant::now();
        let mut audits = 0;
        let mut buf = [0u8; 2048];
        while start.elapsed() < within {
            if let Ok(n) = log.recv(&mut buf) {
                audits += usize::from(String::from_utf8_lossy(&buf[..n]).contains("]: audit: "));
            }
        }
        audits
    };
    audits_within(Duration::from_secs(1));

    for i in 0..5 {
        std::fs::write(tb.root.join(format!("tmp/luci-indexcache.{i}")), "{}").unwrap();
        std::fs::write(
            tb.root.join("etc/config/luci"),
            format!("config core 'main{i}'\n"),
        )
        .unwrap();
    }
    assert_eq!(
        audits_within(Duration::from_secs(1)),
        0,
        "other files changed"
    );

    let leases = tb.root.join("tmp/dhcp.leases");
    let mut text = std::fs::read_to_string(&leases).unwrap();
    text.push_str("1795700000 02:11:22:33:44:55 192.168.1.99 new-laptop *\n");
    std::fs::write(&leases, text).unwrap();
    assert_eq!(
        audits_within(Duration::from_secs(2)),
        1,
        "a DHCP lease changed"
    );
}

/// A device opening mappings many times a second costs one audit for the burst, not one per
/// mapping: appends the policy has nothing against are judged by themselves and coalesced
/// (issue 14). A camera's mapping appended in the middle of such a burst is still revoked
/// promptly under `enforce '1'` and `upnp 'restricted'`.
#[test]
fn a_burst_of_appends_costs_one_audit_and_a_cameras_mapping_is_still_revoked() {
    use std::io::Write;
    use std::os::unix::net::UnixDatagram;
    let tb = testbed::Testbed::new("burst", &testbed::repo().join("examples/messy-home"))
        .miniupnpd_running()
        .enforcing();
    std::fs::create_dir_all(tb.root.join("dev")).unwrap();
    let log = UnixDatagram::bind(tb.root.join("dev/log")).unwrap();
    log.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let up = Instant::now();
    let tb = tb.up();
    let lease = tb.root.join("tmp/run/miniupnpd.leases");
    // The start-up enforcement revokes the example's camera mappings and commits the firewall,
    // which schedules two looks at miniupnpd's chains (3 s and 8 s later): let them pass.
    assert!(wait_until(Duration::from_secs(10), || tb
        .call("plan", "{}")["actions"]
        == json!([])));
    let count_audits = |buf: &mut [u8]| {
        log.recv(buf)
            .ok()
            .is_some_and(|n| String::from_utf8_lossy(&buf[..n]).contains("]: audit: "))
    };
    let mut buf = [0u8; 4096];
    // Quiet first: no audit for 9 s (longer than the last scheduled look), however long a
    // loaded machine takes to get there.
    let mut quiet_since = Instant::now();
    while up.elapsed() < Duration::from_secs(10) || quiet_since.elapsed() < Duration::from_secs(9) {
        assert!(
            up.elapsed() < Duration::from_secs(90),
            "the daemon never settled"
        );
        if count_audits(&mut buf) {
            quiet_since = Instant::now();
        }
    }

    let append = |line: String| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&lease)
            .unwrap();
        f.write_all(line.as_bytes()).unwrap();
    };
    // The NAS opens 30 mappings, 20 a second, as miniupnpd appends them.
    let burst = Instant::now();
    let mut audits_in_burst = 0;
    for i in 0..30u16 {
        append(format!(
            "UDP:{}:192.168.1.10:{}:0:nas {i}\n",
            40000 + i,
            40000 + i
        ));
        let next = Duration::from_millis(50) * u32::from(i + 1);
        while burst.elapsed() < next {
            audits_in_burst += usize::from(count_audits(&mut buf));
        }
    }
    assert_eq!(
        audits_in_burst, 0,
        "mappings the policy allows wait for one coalesced audit"
    );
    let mut audits_after = 0;
    let settled = Instant::now();
    while settled.elapsed() < Duration::from_secs(10) {
        audits_after += usize::from(count_audits(&mut buf));
    }
    assert_eq!(audits_after, 1, "the burst is audited once");
    let listed = tb.call("mappings", "{\"limit\":1000}");
    let nas = listed["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["int_addr"] == "192.168.1.10" && m["ext_port"].as_u64() >= Some(40000))
        .count();
    assert_eq!(nas, 30, "the coalesced audit saw every appended mapping");

    // Another burst, with the camera's mapping in the middle of it.
    let started = Instant::now();
    let mut camera_at = None;
    let mut revoked_after = None;
    for i in 0..40u16 {
        if i == 10 {
            append("TCP:8554:192.168.1.64:554:0:camera rtsp\n".into());
            camera_at = Some(Instant::now());
        } else {
            append(format!(
                "UDP:{}:192.168.1.10:{}:0:nas more {i}\n",
                41000 + i,
                41000 + i
            ));
        }
        let next = Duration::from_millis(50) * u32::from(i + 1);
        while started.elapsed() < next {
            std::thread::sleep(Duration::from_millis(5));
            if let (Some(at), None) = (camera_at, revoked_after) {
                if !std::fs::read_to_string(&lease)
                    .unwrap()
                    .contains("TCP:8554:")
                {
                    revoked_after = Some(at.elapsed());
                }
            }
        }
    }
    let at = camera_at.unwrap();
    let gone = revoked_after.is_some()
        || wait_until(Duration::from_secs(2).saturating_sub(at.elapsed()), || {
            !std::fs::read_to_string(&lease)
                .unwrap()
                .contains("TCP:8554:")
        });
    assert!(
        gone,
        "the camera's mapping is revoked within 2 s of its append"
    );
    let text = std::fs::read_to_string(&lease).unwrap();
    assert!(
        text.contains("UDP:41039:192.168.1.10:41039:"),
        "the NAS keeps its mappings"
    );
}

/// `camguard status` with no daemon running audits the router itself; it must see the same
/// router the daemon sees: the neighbour table, the seen-devices file and the password check's
/// memory included, not only the configs.
#[test]
fn status_without_a_daemon_gives_the_daemons_findings() {
    let mut tb = testbed::Testbed::new("status-same", &testbed::repo().join("examples/messy-home"));
    // A Hikvision camera known only from the neighbour table, a device the seen file remembers,
    // and a factory login the password check found on the garden camera.
    std::fs::create_dir_all(tb.root.join("proc/net")).unwrap();
    std::fs::write(
        tb.root.join("proc/net/arp"),
        "IP address       HW type     Flags       HW address            Mask     Device\n\
         192.168.1.200    0x1         0x2         4c:bd:8f:00:77:01     *        br-lan\n\
         10.0.0.1         0x1         0x2         00:11:22:33:44:55     *        wan\n",
    )
    .unwrap();
    std::fs::create_dir_all(tb.root.join("etc/camguard")).unwrap();
    std::fs::write(
        tb.root.join("etc/camguard/seen.json"),
        r#"{"version":1,"devices":[{"mac":"4c:bd:8f:22:10:aa","first_seen":1700000000,"last_seen":1700000000}]}"#,
    )
    .unwrap();
    std::fs::write(
        tb.root.join("etc/camguard/credcheck.json"),
        r#"{"version":1,"devices":{"4c:bd:8f:22:10:aa":{"works":{"vendor":"Hikvision","user":"admin","login":"Hikvision#0:admin","protocol":"HTTP","port":80,"first_found":1700000000,"confirmed":1700000000}}}}"#,
    )
    .unwrap();
    let policy = tb.root.join("etc/config/camguard");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        text.replace("option credential_check '0'", "option credential_check '1'"),
    )
    .unwrap();
    // With the password check on, the daemon's worker would probe the cameras. A LAN numbered
    // from TEST-NET-3 is public, so the LAN guard refuses every address: the test contacts no
    // machine, and the daemon learns nothing the one-shot audit could not know.
    let network = tb.root.join("etc/config/network");
    let text = std::fs::read_to_string(&network).unwrap();
    assert!(text.contains("option ipaddr '192.168.1.1'"), "{text}");
    std::fs::write(
        &network,
        text.replace("option ipaddr '192.168.1.1'", "option ipaddr '203.0.113.1'"),
    )
    .unwrap();
    tb = tb.up_without_daemon();

    let status = |tb: &testbed::Testbed| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_camguard"))
            .args(["status", "--json", "--nft", "off", "--socket"])
            .arg(&tb.socket)
            .arg("--sysroot")
            .arg(&tb.root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "camguard status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let alone = status(&tb);
    tb.start_daemon(&["--nft", "off"]);
    let daemon = tb.call("status", "{}");

    let ids = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for id in ["camera.default_credentials", "camera.detected"] {
        assert!(ids(&alone).iter().any(|i| i == id), "{id} missing alone");
    }
    assert!(
        alone["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["subject"]["ip"] == "192.168.1.200"),
        "the neighbour-table camera is audited without the daemon too"
    );
    assert_eq!(finding_keys(&alone), finding_keys(&daemon));
    let pairs = alone["findings"]
        .as_array()
        .unwrap()
        .iter()
        .zip(daemon["findings"].as_array().unwrap());
    for (a, d) in pairs {
        for (key, value) in a.as_object().unwrap() {
            assert_eq!(
                Some(value),
                d.get(key),
                "{} {key}: alone and from the daemon",
                a["id"]
            );
        }
    }
    assert_eq!(alone["score"], daemon["score"]);
}

/// Issue 14: 2,000 mappings over 1,000 addresses are 256 findings listed one by one and one
/// counting finding per other address, over 1,000 findings: a page of 1,000 of them is past
/// ubus's 1 MiB. The daemon answers with the rows that fit and says how many remain; walking on
/// from the rows received gives every finding once.
#[test]
fn a_findings_page_fits_one_ubus_message_and_says_how_many_remain() {
    let mut bus = Bus::new("pages");
    let root = bus.dir.join("root");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/messy-home");
    assert!(Command::new("cp")
        .arg("-a")
        .arg(&example)
        .arg(&root)
        .status()
        .unwrap()
        .success());
    let leases: String = (0..2000u32)
        .map(|i| {
            let (net, host) = (1 + i % 1000 / 250, 2 + i % 250);
            format!(
                "UDP:{}:192.168.{net}.{host}:{}:0:game {i}\n",
                10_000 + i,
                20_000 + i
            )
        })
        .collect();
    std::fs::write(root.join("tmp/run/miniupnpd.leases"), leases).unwrap();
    bus.start_daemon(&["--root", root.to_str().unwrap()]);

    let first = bus.call("findings", r#"{"limit": 1000}"#);
    let rows = first["findings"].as_array().unwrap().len();
    let total = first["total"].as_u64().unwrap() as usize;
    assert!(total > 1000, "{total}");
    assert!(rows > 0 && rows < 1000, "{rows} rows");
    assert_eq!(first["more"].as_u64().unwrap() as usize, total - rows);

    let mut seen = std::collections::BTreeSet::new();
    let mut offset = 0;
    loop {
        let page = bus.call(
            "findings",
            &format!(r#"{{"offset": {offset}, "limit": 1000}}"#),
        );
        let items = page["findings"].as_array().unwrap();
        for f in items {
            seen.insert((f["id"].to_string(), f["subject"].to_string()));
        }
        offset += items.len();
        assert_eq!(page["more"].as_u64().unwrap() as usize, total - offset);
        if items.is_empty() || page["more"] == 0 {
            break;
        }
    }
    assert_eq!(offset, total);
    assert_eq!(seen.len(), total, "every finding once");
}

/// Issue 14: the mappings list is counted once per audit and each page joins only up to its
/// last row. Pages asked in any order give the same total, `more` says what follows each, every
/// mapping comes once, and the next audit counts again.
#[test]
fn mapping_pages_in_any_order_list_every_mapping_once_and_recount_after_an_audit() {
    let mut bus = Bus::new("mapping-pages");
    let root = bus.dir.join("root");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/messy-home");
    assert!(Command::new("cp")
        .arg("-a")
        .arg(&example)
        .arg(&root)
        .status()
        .unwrap()
        .success());
    let lease = |i: u32| {
        format!(
            "UDP:{}:192.168.1.{}:{}:0:game {i}\n",
            10_000 + i,
            2 + i % 250,
            20_000 + i
        )
    };
    let leases = root.join("tmp/run/miniupnpd.leases");
    std::fs::write(&leases, (0..2500).map(lease).collect::<String>()).unwrap();
    bus.start_daemon(&["--root", root.to_str().unwrap()]);

    let page_at = |bus: &mut Bus, offset: usize| {
        let page = bus.call(
            "mappings",
            &format!(r#"{{"offset": {offset}, "limit": 300}}"#),
        );
        let ports: Vec<u64> = page["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["ext_port"].as_u64().unwrap())
            .collect();
        let total = page["total"].as_u64().unwrap() as usize;
        assert_eq!(
            page["more"].as_u64().unwrap() as usize,
            total.saturating_sub(offset + ports.len()),
            "offset {offset}"
        );
        (ports, total)
    };
    // A page in the middle first, then the rest from the start.
    let (middle, total) = page_at(&mut bus, 1200);
    assert_eq!(total, 2500);
    assert_eq!(middle.len(), 300);
    let mut seen = std::collections::BTreeSet::new();
    let mut offset = 0;
    while offset < total {
        let (ports, again) = page_at(&mut bus, offset);
        assert_eq!(again, total, "offset {offset}");
        if offset == 1200 {
            assert_eq!(ports, middle);
        }
        assert!(!ports.is_empty());
        offset += ports.len();
        seen.extend(ports);
    }
    assert_eq!(offset, total);
    assert_eq!(seen, (10_000..12_500).collect());

    let mut more = std::fs::OpenOptions::new()
        .append(true)
        .open(&leases)
        .unwrap();
    std::io::Write::write_all(
        &mut more,
        (2500..2510).map(lease).collect::<String>().as_bytes(),
    )
    .unwrap();
    bus.call("audit", "{}");
    let (last, total) = page_at(&mut bus, 2400);
    assert_eq!(total, 2510);
    assert_eq!(last, (12_400..12_510).collect::<Vec<u64>>());
}
