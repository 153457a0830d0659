//! Enforcement through the router-in-a-box: `camguard daemon --sysroot` applying the plan over
//! the rpcd stand-in (real uci CLI), then reverting it. What a user sees with `ubus call`.
mod common;
#[path = "support/testbed.rs"]
mod testbed;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use camguard::formats::uci::{Package, Section, UciOption, Value as Uv};
use common::Rng;
use serde_json::Value;
use testbed::{repo, Testbed};

fn example(name: &str) -> std::path::PathBuf {
    repo().join("examples").join(name)
}

/// Enforce, check compliance, revert, and compare every UCI file byte for byte.
fn enforce_then_revert_is_byte_identical(tb: &Testbed) -> (Value, Value) {
    let before = tb.uci_files();
    let outcome = tb.call("enforce", "{}");
    assert_eq!(outcome["failed"], serde_json::json!([]), "{outcome:#}");
    assert_eq!(
        tb.call("plan", "{}")["actions"],
        serde_json::json!([]),
        "compliant after enforce"
    );
    let again = tb.call("enforce", "{}");
    assert!(
        again["journal_id"].is_null(),
        "enforcing twice changes nothing: {again:#}"
    );
    let journal = tb.call("journal", "{}");
    let reverted = tb.call("revert", "{}");
    assert_eq!(reverted["failed"], serde_json::json!([]), "{reverted:#}");
    let after = tb.uci_files();
    for (name, bytes) in &before {
        assert_eq!(
            String::from_utf8_lossy(&after[name]),
            String::from_utf8_lossy(bytes),
            "{name} differs after revert"
        );
    }
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    (outcome, journal)
}

#[test]
fn messy_home_is_enforced_journaled_and_reverted_exactly() {
    let tb = Testbed::new("messy", &example("messy-home"))
        .miniupnpd_running()
        .up();
    let leases_before = std::fs::read(tb.root.join("tmp/run/miniupnpd.leases")).unwrap();
    let plan = tb.call("plan", "{}");
    let kinds: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"revoke_mapping")
            && kinds.contains(&"uci_add")
            && kinds.contains(&"uci_set"),
        "{kinds:?}"
    );
    let (outcome, journal) = enforce_then_revert_is_byte_identical(&tb);
    let id = outcome["journal_id"].as_str().unwrap();
    assert!(
        tb.root
            .join(format!("etc/camguard/journal/{id}.json"))
            .exists(),
        "journal under etc/camguard"
    );
    let entry = &journal["entries"][0];
    assert_eq!(entry["id"], id);
    assert!(entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["what"] == "option" && c["option"] == "enabled"));
    // The revoked camera mappings came back with the revert, each on its own line again: the
    // lease file held what the revokes left in it, so its bytes were written back.
    let after = std::fs::read(tb.root.join("tmp/run/miniupnpd.leases")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&after),
        String::from_utf8_lossy(&leases_before)
    );
}

#[test]
fn every_example_router_reverts_byte_identical() {
    for name in ["fresh-25.12", "old-21.02"] {
        let tb = Testbed::new(&format!("ex-{name}"), &example(name)).up();
        if tb.call("plan", "{}")["actions"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            let before = tb.uci_files();
            let outcome = tb.call("enforce", "{}");
            assert!(
                outcome["journal_id"].is_null(),
                "{name}: nothing to do, nothing journaled"
            );
            assert_eq!(tb.uci_files(), before);
        } else {
            enforce_then_revert_is_byte_identical(&tb);
        }
    }
}

#[test]
fn foreign_staged_changes_are_never_committed() {
    let tb = Testbed::new("foreign", &example("old-21.02")).up();
    // Someone staged a change with the uci CLI and walked away.
    let uci = repo().join(".tools/uci/bin/uci");
    let st = std::process::Command::new(&uci)
        .arg("-c")
        .arg(tb.root.join("etc/config"))
        .arg("-t")
        .arg(tb.root.join("tmp/.uci"))
        .args(["set", "firewall.@zone[1].input=ACCEPT"])
        .status()
        .unwrap();
    assert!(st.success());
    let before = tb.uci_files();
    let outcome = tb.call("enforce", "{}");
    let failed = outcome["failed"].as_array().unwrap();
    assert!(!failed.is_empty());
    assert!(
        failed.iter().all(|f| f["error"]
            .as_str()
            .unwrap()
            .contains("firewall has staged changes")),
        "{outcome:#}"
    );
    assert_eq!(tb.uci_files(), before, "nothing committed");
}

#[test]
fn a_commit_refused_during_a_luci_apply_waits_and_is_never_forced() {
    let tb = Testbed::new("rollback", &example("old-21.02")).up();
    // LuCI's Save & Apply with rollback: a session apply that is not yet confirmed.
    let sid = "0123456789abcdef0123456789abcdef";
    let set = format!(
        r#"{{"config":"dhcp","section":"lan","values":{{"leasetime":"6h"}},"ubus_rpc_session":"{sid}"}}"#
    );
    assert!(tb.ubus(&["call", "uci", "set", &set]).status.success());
    let apply = format!(r#"{{"rollback":true,"timeout":60,"ubus_rpc_session":"{sid}"}}"#);
    assert!(tb.ubus(&["call", "uci", "apply", &apply]).status.success());
    let before = tb.uci_files();
    let outcome = tb.call("enforce", "{}");
    assert!(
        !outcome["pending"].as_array().unwrap().is_empty(),
        "{outcome:#}"
    );
    assert_eq!(
        tb.uci_files()["firewall"],
        before["firewall"],
        "the firewall was not committed"
    );
    // Confirmed: the next enforcement goes through.
    assert!(tb
        .ubus(&[
            "call",
            "uci",
            "confirm",
            &format!(r#"{{"ubus_rpc_session":"{sid}"}}"#)
        ])
        .status
        .success());
    let outcome = tb.call("enforce", "{}");
    assert_eq!(outcome["pending"], serde_json::json!([]), "{outcome:#}");
    assert_eq!(outcome["failed"], serde_json::json!([]), "{outcome:#}");
}

#[test]
fn revoke_removes_exactly_that_lease_line() {
    let tb = Testbed::new("revoke", &example("messy-home")).miniupnpd_running();
    // The example's Xbox lease has a fixed expiry; the daemon judges it by the clock, so it is
    // moved a day past now (an expired mapping is no longer there to revoke).
    let lease = tb.root.join("tmp/run/miniupnpd.leases");
    let expiry = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    let xbox = format!("UDP:3074:192.168.1.31:3074:{expiry}:Xbox");
    let text = std::fs::read_to_string(&lease).unwrap();
    std::fs::write(
        &lease,
        text.replace("UDP:3074:192.168.1.31:3074:1796203321:Xbox", &xbox),
    )
    .unwrap();
    let tb = tb.up();
    let before = String::from_utf8(std::fs::read(&lease).unwrap()).unwrap();
    let out = tb.call("revoke", r#"{"proto":"UDP","ext_port":3074}"#);
    assert_eq!(out["failed"], serde_json::json!([]), "{out:#}");
    let after = String::from_utf8(std::fs::read(&lease).unwrap()).unwrap();
    let removed: Vec<&str> = before
        .lines()
        .filter(|l| !after.lines().any(|a| a == *l))
        .collect();
    assert_eq!(removed, [xbox.as_str()]);
    let missing = tb.ubus(&[
        "call",
        "camguard",
        "revoke",
        r#"{"proto":"TCP","ext_port":1}"#,
    ]);
    assert_eq!(missing.status.code(), Some(4), "no such mapping");
}

#[test]
fn a_full_disk_refuses_enforcement_and_changes_nothing() {
    let tb = Testbed::new("nospace", &example("old-21.02")).up();
    // The journal directory cannot be created: enforcement must not start.
    std::fs::create_dir_all(tb.root.join("etc/camguard")).unwrap();
    std::fs::write(tb.root.join("etc/camguard/journal"), b"not a directory").unwrap();
    let before = tb.uci_files();
    let outcome = tb.call("enforce", "{}");
    assert!(outcome["journal_id"].is_null());
    assert!(
        outcome["failed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("nothing was changed"),
        "{outcome:#}"
    );
    assert_eq!(tb.uci_files(), before);
}

/// A generated router: forwards with `enabled` anywhere in the section, UPnP settings and perm
/// rules, DHCP leases of cameras and other devices, and a random policy. Written the way
/// `uci commit` writes files, as on a router that LuCI or camguard has saved once.
fn generated_root(rng: &mut Rng, dir: &Path) {
    let opt = |n: &str, v: &str| UciOption {
        name: n.into(),
        value: Uv::Single(v.into()),
    };
    let sec = |t: &str, name: Option<&str>, options: Vec<UciOption>| Section {
        name: name.unwrap_or_default().into(),
        section_type: t.into(),
        anonymous: name.is_none(),
        options,
    };
    let mut fw =
        camguard::formats::uci::parse("firewall", common::DEFAULT_FIREWALL.as_bytes()).unwrap();
    for i in 0..(1 + rng.below(5)) {
        let mut options = vec![opt("name", &format!("fwd{i}")), opt("src", "wan")];
        if rng.chance(70) {
            options.push(opt("src_dport", &(1000 + rng.below(60000)).to_string()));
        }
        if rng.chance(50) {
            // An existing enabled option in the middle: libuci may move it when it changes.
            let at = rng.below(options.len() + 1);
            options.insert(at, opt("enabled", "1"));
        }
        options.push(opt("dest", "lan"));
        options.push(opt(
            "dest_ip",
            &format!("192.168.1.{}", 10 + rng.below(5) * 7),
        ));
        options.push(opt("target", "DNAT"));
        fw.sections.push(sec("redirect", None, options));
    }
    let mut upnpd = Package {
        name: "upnpd".into(),
        sections: vec![],
    };
    let mut settings = vec![
        opt("enable_natpmp", "1"),
        opt("secure_mode", if rng.chance(50) { "1" } else { "0" }),
    ];
    if rng.chance(70) {
        settings.insert(rng.below(2), opt("enabled", "1"));
    }
    settings.push(opt("upnp_lease_file", "/var/run/miniupnpd.leases"));
    upnpd.sections.push(sec("upnpd", Some("config"), settings));
    upnpd.sections.push(sec(
        "perm_rule",
        None,
        vec![
            opt("action", "allow"),
            opt("ext_ports", "1024-65535"),
            opt("int_addr", "0.0.0.0/0"),
            opt("int_ports", "1024-65535"),
        ],
    ));
    if rng.chance(60) {
        upnpd.sections.push(sec(
            "perm_rule",
            None,
            vec![
                opt("action", "deny"),
                opt("ext_ports", "0-65535"),
                opt("int_addr", "0.0.0.0/0"),
                opt("int_ports", "0-65535"),
            ],
        ));
    }
    let upnp = rng
        .pick::<&str>(&["off", "restricted", "allow"])
        .to_string();
    let forwards = rng
        .pick::<&str>(&["off", "allowlist", "no_cameras", "allow"])
        .to_string();
    let internet = rng.pick::<&str>(&["allow", "block"]).to_string();
    let policy = Package {
        name: "camguard".into(),
        sections: vec![
            sec(
                "camguard",
                Some("main"),
                vec![
                    opt("upnp", &upnp),
                    opt("forwards", &forwards),
                    opt("camera_internet", &internet),
                ],
            ),
            sec("allow_forward", None, vec![opt("redirect", "fwd0")]),
        ],
    };
    std::fs::create_dir_all(dir.join("etc/config")).unwrap();
    std::fs::create_dir_all(dir.join("var/run")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    for p in [&fw, &upnpd, &policy] {
        // Package::export matches `uci export`; a commit writes it without the package line.
        let text = p.export();
        let committed = text.split_once('\n').unwrap().1;
        std::fs::write(dir.join("etc/config").join(&p.name), committed).unwrap();
    }
    std::fs::write(dir.join("etc/config/network"), common::DEFAULT_NETWORK).unwrap();
    let mut dhcp = String::new();
    let mut leases = String::new();
    for i in 0..5 {
        let oui = rng.pick(&["4c:bd:8f", "ec:71:db", "00:11:32", "7c:ed:8d"]);
        let ip = format!("192.168.1.{}", 10 + i * 7);
        dhcp.push_str(&format!("1795700000 {oui}:00:00:{i:02x} {ip} host{i} *\n"));
        if rng.chance(50) {
            let p = 1024 + rng.below(50000);
            leases.push_str(&format!("TCP:{p}:{ip}:{p}:0:mapping {i}\n"));
        }
    }
    std::fs::write(dir.join("tmp/dhcp.leases"), dhcp).unwrap();
    std::fs::write(dir.join("var/run/miniupnpd.leases"), leases).unwrap();
}

/// Property: enforce then revert leaves every UCI file byte-identical, over generated routers.
#[test]
fn enforce_then_revert_is_byte_identical_on_generated_routers() {
    let rounds: usize = std::env::var("CAMGUARD_ENFORCE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut rng = Rng(0x5eed_7e57);
    for round in 0..rounds {
        let src = std::env::temp_dir().join(format!("camguard-gen-{}-{round}", std::process::id()));
        let _ = std::fs::remove_dir_all(&src);
        generated_root(&mut rng, &src);
        let tb = Testbed::new(&format!("gen{round}"), &src).up();
        if !tb.call("plan", "{}")["actions"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            enforce_then_revert_is_byte_identical(&tb);
        }
        drop(tb);
        let _ = std::fs::remove_dir_all(&src);
    }
}

#[test]
fn with_enforce_on_a_cameras_new_mapping_is_revoked_within_two_seconds() {
    let tb = Testbed::new("auto", &example("messy-home"))
        .miniupnpd_running()
        .enforcing()
        .up();
    assert!(
        testbed::wait_until(std::time::Duration::from_secs(10), || tb.call("plan", "{}")
            ["actions"]
            == serde_json::json!([])),
        "the daemon enforces on its own at start"
    );
    let lease = tb.root.join("tmp/run/miniupnpd.leases");
    let mut text = std::fs::read_to_string(&lease).unwrap();
    text.push_str("TCP:8554:192.168.1.65:8554:0:garden cam rtsp\n");
    let appended = std::time::Instant::now();
    std::fs::write(&lease, text).unwrap();
    let gone = testbed::wait_until(std::time::Duration::from_secs(2), || {
        !std::fs::read_to_string(&lease)
            .unwrap()
            .contains("TCP:8554:")
    });
    assert!(gone, "not revoked within 2 s");
    println!(
        "camera mapping revoked {:?} after it appeared",
        appended.elapsed()
    );
    let journal = tb.call("journal", "{}");
    assert!(journal["entries"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "revoke_mapping" && a["ext_port"] == 8554));
}

#[test]
fn actions_a_luci_apply_held_back_are_retried_once_it_is_confirmed() {
    let tb = Testbed::new("retry", &example("old-21.02")).up();
    let sid = "fedcba9876543210fedcba9876543210";
    let set = format!(
        r#"{{"config":"dhcp","section":"lan","values":{{"leasetime":"6h"}},"ubus_rpc_session":"{sid}"}}"#
    );
    assert!(tb.ubus(&["call", "uci", "set", &set]).status.success());
    assert!(tb
        .ubus(&[
            "call",
            "uci",
            "apply",
            &format!(r#"{{"rollback":true,"timeout":60,"ubus_rpc_session":"{sid}"}}"#)
        ])
        .status
        .success());
    let outcome = tb.call("enforce", "{}");
    assert!(
        !outcome["pending"].as_array().unwrap().is_empty(),
        "{outcome:#}"
    );
    let entries = |tb: &Testbed| {
        tb.call("journal", "{}")["entries"]
            .as_array()
            .unwrap()
            .clone()
    };
    let held = entries(&tb);
    // The daemon retries every 10 s while the apply is pending: no retry journals anything.
    std::thread::sleep(std::time::Duration::from_secs(12));
    assert_eq!(
        entries(&tb).len(),
        held.len(),
        "a retry that changed nothing wrote no entry"
    );
    assert!(tb
        .ubus(&[
            "call",
            "uci",
            "confirm",
            &format!(r#"{{"ubus_rpc_session":"{sid}"}}"#)
        ])
        .status
        .success());
    assert!(
        testbed::wait_until(std::time::Duration::from_secs(20), || tb.call("plan", "{}")
            ["actions"]
            == serde_json::json!([])),
        "retried without being asked again"
    );
    let after = entries(&tb);
    assert_eq!(
        after.len(),
        held.len() + 1,
        "one entry for the retry that applied: {after:#?}"
    );
    for e in &after {
        assert_eq!(
            e["pending"],
            serde_json::json!([]),
            "no entry left pending: {e:#}"
        );
        assert_ne!(e["state"], "partial", "{e:#}");
    }
    // An entry that held actions back names the one that applied them (newest first).
    for e in &after[1..] {
        assert_eq!(e["continued_in"], after[0]["id"], "{e:#}");
    }
}

#[test]
fn enforcing_a_finding_the_audit_does_not_report_answers_not_found() {
    let tb = Testbed::new("enforce-unknown", &example("messy-home")).up();
    let reply = tb.ubus(&["call", "camguard", "enforce", r#"{"finding":"no.such.id"}"#]);
    assert_eq!(reply.status.code(), Some(4), "NOT_FOUND");
    let subject = r#"{"finding":"upnp.mapping","subject":{"kind":"service","name":"nosuchd"}}"#;
    let reply = tb.ubus(&["call", "camguard", "enforce", subject]);
    assert_eq!(
        reply.status.code(),
        Some(4),
        "NOT_FOUND for a subject no finding has"
    );
    assert_eq!(tb.call("journal", "{}")["entries"], serde_json::json!([]));
    // A finding that is reported is enforced as before.
    let dry = tb.call("enforce", r#"{"finding":"forward.dmz","dry_run":true}"#);
    assert!(!dry["actions"].as_array().unwrap().is_empty(), "{dry:#}");
}

/// The same router read live (through the testbed's rpcd stand-in) and offline (its files) must
/// give the same findings.
#[test]
fn status_over_the_testbed_answers_what_camguard_audit_answers() {
    for name in ["messy-home", "old-21.02", "fresh-25.12"] {
        // procd's view must match the config for the two to agree: miniupnpd runs where enabled.
        let tb = Testbed::new(&format!("same-{name}"), &example(name));
        let tb = if name == "messy-home" {
            tb.miniupnpd_running()
        } else {
            tb
        }
        .up();
        let live = tb.call("status", "{}");
        let offline = std::process::Command::new(env!("CARGO_BIN_EXE_camguard"))
            .args(["audit", "--json", "--root"])
            .arg(&tb.root)
            .output()
            .unwrap();
        let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
        assert_eq!(
            testbed::finding_keys(&live),
            testbed::finding_keys(&offline),
            "{name}"
        );
        assert_eq!(
            live["router"]["release"], offline["router"]["release"],
            "{name}"
        );
    }
}

/// OpenWrt's own stock /etc/config/firewall and upnpd of `branch` (../shared/corpus: comment
/// lines, tab-aligned options, values unquoted), on the old-21.02 example's LAN, with a camera
/// forward written in the same style and UPnP switched on by editing the text: a router whose
/// owner has never let libuci rewrite these files.
fn stock_root(branch: &str, dir: &Path) {
    let corpus = repo()
        .join("../shared/corpus")
        .join(branch)
        .join("etc/config");
    let _ = std::fs::remove_dir_all(dir);
    assert!(std::process::Command::new("cp")
        .arg("-a")
        .arg(example("old-21.02"))
        .arg(dir)
        .status()
        .unwrap()
        .success());
    let mut firewall = std::fs::read_to_string(corpus.join("firewall")).unwrap();
    firewall.push_str(
        "\n# The front door camera, for the app\nconfig redirect\n\toption name\t\tdoorbell\n\
         \toption src\t\twan\n\toption src_dport\t10554\n\toption dest\t\tlan\n\
         \toption dest_ip\t\t192.168.0.50\n\toption dest_port\t554\n\toption proto\t\ttcp\n\
         \toption target\t\tDNAT\n",
    );
    std::fs::write(dir.join("etc/config/firewall"), firewall).unwrap();
    let upnpd = std::fs::read_to_string(corpus.join("upnpd")).unwrap();
    let on = upnpd.replacen("option enabled\t\t0", "option enabled\t\t1", 1);
    assert_ne!(on, upnpd, "{branch}: the stock upnpd has `enabled 0`");
    std::fs::write(dir.join("etc/config/upnpd"), on).unwrap();
}

fn stock_testbed(name: &str, branch: &str) -> Testbed {
    let src = std::env::temp_dir().join(format!("camguard-stock-{name}-{}", std::process::id()));
    stock_root(branch, &src);
    let tb = Testbed::new(name, &src).miniupnpd_running().up();
    let _ = std::fs::remove_dir_all(&src);
    tb
}

/// Item 5 of issue 13: libuci rewrites a config on commit (comments gone, its own quoting and
/// layout), so a revert by meaning alone leaves the stock files changed; with the bytes kept in
/// the journal they come back exactly, on every release's stock files.
#[test]
fn stock_configs_with_comments_come_back_byte_identical() {
    for branch in [
        "openwrt-21.02",
        "openwrt-22.03",
        "openwrt-23.05",
        "openwrt-24.10",
        "openwrt-25.12",
        "main",
    ] {
        let tb = stock_testbed(&format!("stock-{branch}"), branch);
        let before = tb.uci_files();
        let outcome = tb.call("enforce", "{}");
        assert_eq!(
            outcome["failed"],
            serde_json::json!([]),
            "{branch}: {outcome:#}"
        );
        let after_enforce = tb.uci_files();
        for config in ["firewall", "upnpd"] {
            assert_ne!(
                after_enforce[config], before[config],
                "{branch}: {config} enforced"
            );
        }
        assert!(
            !String::from_utf8_lossy(&after_enforce["firewall"]).contains("# The front door"),
            "{branch}: libuci's commit dropped the comments (what the kept bytes are for)"
        );
        let journal = tb.call("journal", "{}");
        let changes = journal["entries"][0]["changes"].as_array().unwrap();
        let kept: Vec<&Value> = changes
            .iter()
            .filter(|c| c["what"] == "file_bytes")
            .collect();
        assert!(
            kept.iter()
                .all(|c| c["kept"] == true && c.get("bytes").is_none()),
            "{branch}: the listing says the bytes are kept without carrying them: {kept:#?}"
        );
        let reverted = tb.call("revert", "{}");
        assert_eq!(
            reverted["failed"],
            serde_json::json!([]),
            "{branch}: {reverted:#}"
        );
        assert_eq!(
            reverted["notes"],
            serde_json::json!([]),
            "{branch}: {reverted:#}"
        );
        let after = tb.uci_files();
        for (name, bytes) in &before {
            assert_eq!(
                String::from_utf8_lossy(&after[name]),
                String::from_utf8_lossy(bytes),
                "{branch}: {name} differs after revert"
            );
        }
        let staged = tb.ubus(&["call", "uci", "changes", "{}"]);
        let staged: Value = serde_json::from_slice(&staged.stdout).unwrap();
        assert!(
            staged["changes"].as_object().is_none_or(|c| c.is_empty()),
            "{branch}: nothing left staged: {staged:#}"
        );
        // What reads the restored files hears of them, as after a commit: the doorbell's
        // forward is back in the audit.
        assert!(
            testbed::wait_until(std::time::Duration::from_secs(5), || tb
                .call("status", "{}")["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("forward.")))),
            "{branch}: the audit after the revert sees the forward again"
        );
    }
}

/// Someone changes the firewall after camguard enforced (LuCI's Save, `uci commit`): revert
/// must not write the old bytes over their change. It undoes camguard's own changes by meaning,
/// keeps theirs, and says so; the file nobody touched still comes back byte for byte.
#[test]
fn a_config_changed_since_is_reverted_by_meaning_with_a_note() {
    let tb = stock_testbed("stock-changed", "openwrt-23.05");
    let before = tb.uci_files();
    let outcome = tb.call("enforce", "{}");
    assert_eq!(outcome["failed"], serde_json::json!([]), "{outcome:#}");
    let uci = |args: &[&str]| {
        let out = std::process::Command::new(repo().join(".tools/uci/bin/uci"))
            .arg("-c")
            .arg(tb.root.join("etc/config"))
            .arg("-t")
            .arg(tb.root.join("tmp/.uci"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "uci {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    uci(&["set", "firewall.@defaults[0].drop_invalid=1"]);
    uci(&["commit", "firewall"]);

    let reverted = tb.call("revert", "{}");
    assert_eq!(reverted["failed"], serde_json::json!([]), "{reverted:#}");
    let notes = reverted["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{reverted:#}");
    let note = notes[0].as_str().unwrap();
    assert!(
        note.contains("/etc/config/firewall") && note.contains("changed since"),
        "{note}"
    );
    assert_eq!(
        tb.call("journal", "{}")["entries"][0]["notes"],
        reverted["notes"],
        "the entry keeps the note"
    );
    let after = tb.uci_files();
    assert_eq!(
        after["upnpd"], before["upnpd"],
        "upnpd, untouched since, byte for byte"
    );
    assert_ne!(after["firewall"], before["firewall"]);
    assert_eq!(
        uci(&["get", "firewall.@defaults[0].drop_invalid"]),
        "1\n",
        "their change kept"
    );
    // camguard's own change is undone: the doorbell forward is as the owner had it.
    let show = uci(&["show", "firewall.@redirect[0]"]);
    assert!(show.contains("name='doorbell'"), "{show}");
    assert!(!show.contains(".enabled="), "{show}");
}

/// A revoke's lease line goes back to where it was, even when miniupnpd changed the file since
/// (a new mapping appended): that line is kept, and the note says the file was not restored
/// byte for byte.
#[test]
fn a_revoked_lease_line_goes_back_to_its_place() {
    let tb = Testbed::new("revoke-place", &example("messy-home")).miniupnpd_running();
    let lease = tb.root.join("tmp/run/miniupnpd.leases");
    let expiry = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    let text = std::fs::read_to_string(&lease).unwrap().replace(
        "UDP:3074:192.168.1.31:3074:1796203321:Xbox",
        &format!("UDP:3074:192.168.1.31:3074:{expiry}:Xbox"),
    );
    std::fs::write(&lease, &text).unwrap();
    let tb = tb.up();
    let out = tb.call("revoke", r#"{"proto":"UDP","ext_port":3074}"#);
    assert_eq!(out["failed"], serde_json::json!([]), "{out:#}");
    assert!(!std::fs::read_to_string(&lease).unwrap().contains(":Xbox"));
    // miniupnpd adds a mapping after the revoke.
    let added = "TCP:27015:192.168.1.31:27015:0:game server\n";
    let mut now = std::fs::read_to_string(&lease).unwrap();
    now.push_str(added);
    std::fs::write(&lease, &now).unwrap();

    let reverted = tb.call("revert", "{}");
    assert_eq!(reverted["failed"], serde_json::json!([]), "{reverted:#}");
    let notes = reverted["notes"].to_string();
    assert!(notes.contains("/var/run/miniupnpd.leases"), "{reverted:#}");
    assert_eq!(
        std::fs::read_to_string(&lease).unwrap(),
        format!("{text}{added}"),
        "the Xbox line in its place, the new mapping kept"
    );
}

/// A crash after the commits, before the entry was marked applied: the next start rolls it
/// back, and the stock files come back byte for byte too (the entry recorded what camguard's
/// commits left in them as it went).
#[test]
fn an_interrupted_enforcement_on_stock_configs_rolls_back_byte_identical() {
    let mut tb = stock_testbed("stock-crash", "openwrt-25.12");
    let before = tb.uci_files();
    let id = tb.call("enforce", "{}")["journal_id"]
        .as_str()
        .unwrap()
        .to_owned();
    tb.stop_daemon();
    let path = tb.root.join(format!("etc/camguard/journal/{id}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"state\": \"applied\"", "\"state\": \"applying\""),
    )
    .unwrap();
    assert_ne!(tb.uci_files(), before);
    tb.start_daemon(&[]);
    assert!(
        testbed::wait_until(std::time::Duration::from_secs(5), || tb.uci_files()
            == before),
        "rolled back byte for byte"
    );
    let entry = &tb.call("journal", "{}")["entries"][0];
    assert_eq!(entry["state"], "reverted");
    assert_eq!(entry["notes"], serde_json::json!([]), "{entry:#}");
}
