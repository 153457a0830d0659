//! Fault injection and hostile input against the daemon, through the router-in-a-box: a crash
//! mid-enforce, rpcd not answering, a lease file rewritten while it is read, an unreadable
//! firewall config, and LAN-controlled strings built to break every output.
#[path = "support/testbed.rs"]
mod testbed;

use std::io::Write;
use std::time::Duration;

use serde_json::Value;
use testbed::{repo, wait_until, Testbed};

fn example(name: &str) -> std::path::PathBuf {
    repo().join("examples").join(name)
}

fn pid_of_standin(tb: &Testbed) -> i32 {
    let dir = std::path::PathBuf::from(format!("{}.testbed", tb.socket.display()));
    let text = std::fs::read_to_string(dir.join("standin.pid"))
        .expect("scripts/testbed records the stand-in's pid");
    text.trim().parse().unwrap()
}

/// Enforces, then plays the daemon dying (power cut, OOM) after changing the router but before
/// marking its journal entry done: the daemon is stopped and the entry says "applying" again.
/// Returns the entry as `journal` showed it.
fn enforce_then_crash(tb: &mut Testbed) -> Value {
    let outcome = tb.call("enforce", "{}");
    let id = outcome["journal_id"].as_str().unwrap().to_owned();
    let entry = tb.call("journal", "{}")["entries"][0].clone();
    tb.stop_daemon();
    let path = tb.root.join(format!("etc/camguard/journal/{id}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"state\": \"applied\"", "\"state\": \"applying\"");
    std::fs::write(&path, text).unwrap();
    entry
}

#[test]
fn an_enforcement_interrupted_by_a_crash_is_rolled_back_at_the_next_start() {
    let mut tb = Testbed::new("crash", &example("old-21.02")).up();
    let before = tb.uci_files();
    enforce_then_crash(&mut tb);
    assert_ne!(tb.uci_files(), before, "enforcement changed the firewall");
    tb.start_daemon(&[]);
    assert!(
        wait_until(Duration::from_secs(5), || tb.uci_files() == before),
        "rolled back to exactly what it was"
    );
    let journal = tb.call("journal", "{}");
    assert_eq!(journal["entries"][0]["state"], "reverted");
}

/// A change someone else staged in a config the interrupted entry touched: recovery neither
/// commits nor discards it, and waits; once the owner reverts their change, it rolls back.
#[test]
fn recovery_leaves_foreign_staged_changes_alone_and_waits() {
    let mut tb = Testbed::new("crash-foreign", &example("old-21.02")).up();
    let before = tb.uci_files();
    let entry = enforce_then_crash(&mut tb);
    let configs: Vec<&str> = entry["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["config"].as_str())
        .collect();
    assert!(configs.contains(&"firewall"), "{entry:#}");
    // Someone stages a change of their own in the firewall (no session: rpcd's /tmp/.uci).
    let foreign = r#"{"config":"firewall","section":"cfg01e63d","values":{"drop_invalid":"1"}}"#;
    let set = tb.ubus(&["call", "uci", "set", foreign]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let enforced = tb.uci_files();

    tb.start_daemon(&[]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        tb.uci_files(),
        enforced,
        "nothing committed or rolled back meanwhile"
    );
    let staged = tb.ubus(&["call", "uci", "changes", r#"{"config":"firewall"}"#]);
    let staged: Value = serde_json::from_slice(&staged.stdout).unwrap();
    assert_eq!(
        staged["changes"],
        serde_json::json!([["set", "cfg01e63d", "drop_invalid", "1"]]),
        "the foreign change is still staged"
    );
    assert_eq!(tb.call("journal", "{}")["entries"][0]["state"], "applying");

    let revert = tb.ubus(&["call", "uci", "revert", r#"{"config":"firewall"}"#]);
    assert!(revert.status.success());
    assert!(
        wait_until(Duration::from_secs(40), || tb.uci_files() == before),
        "rolled back once the firewall had nothing foreign staged"
    );
    assert_eq!(tb.call("journal", "{}")["entries"][0]["state"], "reverted");
}

#[test]
fn rpcd_not_answering_fails_the_enforcement_cleanly() {
    let tb = Testbed::new("hang", &example("old-21.02")).up();
    let before = tb.uci_files();
    let standin = pid_of_standin(&tb);
    // SAFETY: plain kill(2) on the testbed's own stand-in process.
    unsafe { libc::kill(standin, libc::SIGSTOP) };
    let out = tb.ubus(&["-t", "30", "call", "camguard", "enforce", "{}"]);
    // SAFETY: as above.
    unsafe { libc::kill(standin, libc::SIGCONT) };
    assert!(
        out.status.success(),
        "camguard answered although rpcd did not: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        outcome["journal_id"].is_null(),
        "nothing journaled: {outcome:#}"
    );
    assert!(
        !outcome["failed"].as_array().unwrap().is_empty(),
        "{outcome:#}"
    );
    assert_eq!(tb.uci_files(), before, "nothing changed");
    // Once rpcd answers again, the same enforcement goes through.
    assert!(wait_until(Duration::from_secs(10), || tb
        .call("enforce", "{}")["journal_id"]
        .is_string()));
}

#[test]
fn an_unreadable_firewall_is_reported_and_left_alone() {
    let tb = Testbed::new("broken", &example("old-21.02"));
    let fw = tb.root.join("etc/config/firewall");
    let mut text = std::fs::read_to_string(&fw).unwrap();
    text.push_str("\nconfig rule\n\toption name 'unterminated\n");
    std::fs::write(&fw, &text).unwrap();
    let tb = tb.up();
    let status = tb.call("status", "{}");
    assert!(
        status["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "config.invalid" && f["subject"]["config"] == "firewall"),
        "{status:#}"
    );
    tb.call("enforce", "{}");
    assert_eq!(
        std::fs::read_to_string(&fw).unwrap(),
        text,
        "no enforcement on that config"
    );
}

#[test]
fn a_lease_file_rewritten_while_it_is_read_never_breaks_the_daemon() {
    let tb = Testbed::new("churn", &example("messy-home"))
        .miniupnpd_running()
        .up();
    let lease = tb.root.join("tmp/run/miniupnpd.leases");
    let original = std::fs::read(&lease).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (lease, stop) = (lease.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // miniupnpd's two ways: append in place, and rewrite through a rename; in between
                // a reader may see a truncated or half-written file.
                let mut f = std::fs::File::create(&lease).unwrap();
                f.write_all(&original[..original.len() / 2]).unwrap();
                f.write_all(&original[original.len() / 2..]).unwrap();
                writeln!(
                    f,
                    "TCP:{}:192.168.1.31:{}:0:churn {n}",
                    20000 + n % 1000,
                    20000 + n % 1000
                )
                .unwrap();
                drop(f);
                let tmp = lease.with_extension("tmp");
                std::fs::write(&tmp, &original).unwrap();
                std::fs::rename(&tmp, &lease).unwrap();
                n += 1;
            }
        })
    };
    for _ in 0..40 {
        let status = tb.call("status", "{}");
        assert!(status["score"].is_number());
        let m = tb.call("mappings", "{}");
        assert!(m["mappings"].is_array());
        std::thread::sleep(Duration::from_millis(25));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        tb.ubus(&["list", "camguard"]).status.success(),
        "the daemon is still there"
    );
}

/// Hostnames and UPnP descriptions a LAN device controls, crafted against each output: HTML,
/// ANSI escapes, newlines, NUL, invalid UTF-8, a bidi override and 64 kB.
#[test]
fn hostile_lan_strings_reach_no_output_raw() {
    let tb = Testbed::new("hostile", &example("messy-home")).miniupnpd_running();
    let long = "A".repeat(64 * 1024);
    let mut leases = Vec::new();
    leases.extend_from_slice(
        b"TCP:4000:192.168.1.77:4000:0:<script>alert(1)</script>\x1b[31m\x00nul\xff\xfe\n",
    );
    leases.extend_from_slice(format!("TCP:4001:192.168.1.77:4001:0:{long}\n").as_bytes());
    leases.extend_from_slice("UDP:4002:192.168.1.77:4002:0:pay\u{202e}gpj.exe\r\n".as_bytes());
    leases.extend_from_slice(b"TCP:4003:192.168.1.77:4003:0:line\rfeed\n");
    std::fs::write(tb.root.join("tmp/run/miniupnpd.leases"), &leases).unwrap();
    let mut dhcp = std::fs::read(tb.root.join("tmp/dhcp.leases")).unwrap();
    dhcp.extend_from_slice(
        b"1795700000 24:0a:c4:9e:11:03 192.168.1.78 <img/src=x/onerror=alert(1)>\x1b]0;x\x07 *\n",
    );
    dhcp.extend_from_slice(
        format!(
            "1795700000 24:0a:c4:9e:11:04 192.168.1.79 {} *\n",
            "h".repeat(70_000)
        )
        .as_bytes(),
    );
    std::fs::write(tb.root.join("tmp/dhcp.leases"), &dhcp).unwrap();
    let tb = tb.up();
    for method in [
        "status", "mappings", "devices", "findings", "forwards", "plan",
    ] {
        let out = tb.ubus(&["call", "camguard", method, "{}"]);
        assert!(out.status.success(), "{method}");
        let text = String::from_utf8(out.stdout).expect("valid UTF-8 JSON");
        let v: Value = serde_json::from_str(&text).unwrap();
        let mut strings = Vec::new();
        collect_strings(&v, &mut strings);
        for s in strings {
            assert!(
                !s.chars().any(|c| c.is_control()),
                "{method}: raw control character in {s:?}"
            );
            assert!(
                !s.contains('\u{202e}'),
                "{method}: raw bidi override in {s:?}"
            );
            assert!(s.len() < 4096, "{method}: a {}-byte string", s.len());
        }
        assert!(!text.contains("\\u0000"), "{method}: NUL");
    }
    let m = tb.call("mappings", "{}");
    let hostile = m["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["ext_port"] == 4000)
        .unwrap();
    let d = hostile["description"].as_str().unwrap();
    // miniupnpd reads the description as a C string: the NUL ends it.
    assert_eq!(
        d, "<script>alert(1)</script>\\x1b[31m",
        "kept as visible text, cut where miniupnpd cuts it"
    );
    let bidi = m["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["ext_port"] == 4002)
        .unwrap();
    assert_eq!(bidi["description"], "pay\\u{202e}gpj.exe");
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k);
            collect_strings(x, out)
        }),
        _ => {}
    }
}

/// ubusd dies while camguard is enforcing: whatever step it was at, once the broker is back
/// camguard rolls the interrupted entry back by itself (or, when the enforcement had finished,
/// the entry is complete and reverts exactly), nothing it staged is left uncommitted in rpcd's
/// savedir, and every config file is as before.
#[test]
fn ubusd_killed_in_the_middle_of_enforce_leaves_no_half_applied_state() {
    let tb = Testbed::new("ubusd-kill", &example("messy-home"))
        .miniupnpd_running()
        .up();
    let before = tb.uci_files();
    let journal = tb.root.join("etc/camguard/journal");
    let caller = {
        let socket = tb.socket.clone();
        std::thread::spawn(move || {
            std::process::Command::new(testbed::tool("ubus-client"))
                .arg("-s")
                .arg(&socket)
                .args(["-t", "30", "call", "camguard", "enforce", "{}"])
                .output()
                .unwrap()
        })
    };
    // The journal entry is written before the first change: from then on, enforcement runs.
    let started = std::time::Instant::now();
    while std::fs::read_dir(&journal).map_or(true, |mut d| d.next().is_none()) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "enforcement never started"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let out = std::process::Command::new(repo().join("scripts/testbed"))
        .arg("restart-ubusd")
        .arg(&tb.socket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = caller.join().unwrap();

    let state = || -> Option<String> {
        let out = tb.ubus(&["call", "camguard", "journal", "{}"]);
        let journal: Value = serde_json::from_slice(&out.stdout).ok()?;
        journal["entries"][0]["state"].as_str().map(str::to_owned)
    };
    assert!(
        wait_until(Duration::from_secs(15), || state()
            .is_some_and(|s| s != "applying")),
        "the interrupted entry is still applying: {:?}",
        state()
    );
    if state().as_deref() != Some("reverted") {
        // ubusd went away only after the last step: a whole entry, reverted on request.
        assert_eq!(state().as_deref(), Some("applied"));
        tb.call("revert", "{}");
    }
    let staged = tb.root.join("tmp/.uci");
    let leftovers: Vec<String> = std::fs::read_dir(&staged)
        .map(|d| {
            d.flatten()
                .filter(|e| e.metadata().is_ok_and(|m| m.len() > 0))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        leftovers.is_empty(),
        "staged changes left behind in {leftovers:?}"
    );
    assert_eq!(tb.uci_files(), before, "every config file is as before");
}

fn testbed_cmd(tb: &Testbed, command: &str) {
    let out = std::process::Command::new(repo().join("scripts/testbed"))
        .arg(command)
        .arg(&tb.socket)
        .env("CAMGUARD_UCI", repo().join(".tools/uci/bin/uci"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// At boot camguard can come up before rpcd: its first audit cannot read any config. It must
/// say so (never a clean 100), and audit again as soon as rpcd's objects appear on the bus —
/// not at the next timed audit.
#[test]
fn rpcd_starting_after_camguard_is_reported_then_read_at_once() {
    let mut tb = Testbed::new("late-rpcd", &example("messy-home")).up_without_daemon();
    testbed_cmd(&tb, "stop-standin");
    tb.start_daemon(&[]);
    let status = tb.call("status", "{}");
    assert_eq!(
        status["coverage"]["complete"], false,
        "{:#}",
        status["coverage"]
    );
    let firewall = status["coverage"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == "/etc/config/firewall")
        .cloned()
        .unwrap();
    assert_eq!(firewall["state"], "unreadable");
    assert!(
        firewall["detail"].as_str().unwrap().contains("rpcd"),
        "{firewall:#}"
    );
    // Enforcing on what could not be read changes nothing and says why.
    let outcome = tb.call("enforce", "{\"dry_run\":true}");
    assert!(
        outcome["failed"]
            .to_string()
            .contains("/etc/config/firewall could not be read"),
        "{outcome:#}"
    );

    testbed_cmd(&tb, "start-standin");
    // The timed audit is minutes away; the object-add event brings this within a second or two.
    assert!(
        wait_until(Duration::from_secs(5), || tb.call("status", "{}")
            ["coverage"]["complete"]
            == true),
        "still incomplete 5 s after rpcd came up: {:#}",
        tb.call("status", "{}")["coverage"]
    );
    let report = tb.call("status", "{}");
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "forward.dmz"));
}
