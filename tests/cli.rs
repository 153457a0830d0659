//! The `camguard` binary as a user runs it: exit codes, output forms, errors that say what to do.
use std::process::{Command, Output};

fn camguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_camguard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .expect("camguard runs")
}

const NOW: &str = "1795608000";

#[test]
fn version_prints_the_crate_version() {
    let out = camguard(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("camguard {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn audit_json_is_the_report_and_exit_is_zero_without_fail_on() {
    let out = camguard(&[
        "audit",
        "--root",
        "examples/messy-home",
        "--json",
        "--now",
        NOW,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert!(v["score"].as_u64().unwrap() < 100);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "forward.dmz"));
}

#[test]
fn fail_on_sets_exit_one_when_reached() {
    let messy = camguard(&[
        "audit",
        "--root",
        "examples/messy-home",
        "--fail-on",
        "critical",
        "--now",
        NOW,
    ]);
    assert_eq!(messy.status.code(), Some(1));
    let fresh = camguard(&[
        "audit",
        "--root",
        "examples/fresh-25.12",
        "--fail-on",
        "info",
        "--now",
        NOW,
    ]);
    assert_eq!(fresh.status.code(), Some(0));
}

#[test]
fn terminal_report_never_carries_raw_control_characters() {
    let out = camguard(&["audit", "--root", "examples/messy-home", "--now", NOW]);
    let text = String::from_utf8(out.stdout).unwrap();
    // Not a TTY here: no colour either, so no escape byte at all.
    let bad: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c))
        .collect();
    assert!(bad.is_empty(), "raw control characters: {bad:?}");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("<img src=x onerror=alert(1)>"),
        "hostile text is shown, as text"
    );
    assert!(
        text.contains("\\x1b]0;pwned"),
        "the escape sequence is shown escaped"
    );
    assert!(
        text.contains("\\u{202e}"),
        "the RTL override is shown escaped"
    );
    assert!(text.contains("CRITICAL") && text.contains("forward.dmz"));
}

#[test]
fn usage_errors_exit_two_and_say_what_to_do() {
    for (args, hint) in [
        (vec!["audit"], "--root"),
        (vec!["audit", "--root", "no/such/dir"], "not a directory"),
        (vec!["audit", "--root", "src"], "not a router root"),
        (
            vec!["audit", "--root", "examples/messy-home", "--fail-on", "bad"],
            "critical",
        ),
        (vec!["audit", "--backup", "Cargo.toml"], "gzip"),
        (vec!["frobnicate"], "--help"),
    ] {
        let out = camguard(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(hint), "{args:?}: {err}");
    }
}

#[test]
fn a_backup_archive_audits_like_the_directory_it_came_from() {
    let dir = std::env::temp_dir().join(format!("camguard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let backup = dir.join("backup.tar.gz");
    // `sysupgrade -b` archives etc/ with relative paths; tar and gzip as the router does.
    let status = Command::new("tar")
        .args([
            "-czf",
            backup.to_str().unwrap(),
            "-C",
            "examples/old-21.02",
            "etc",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("tar runs");
    assert!(status.success());
    let from_backup = camguard(&[
        "audit",
        "--backup",
        backup.to_str().unwrap(),
        "--json",
        "--now",
        NOW,
    ]);
    let from_dir = camguard(&[
        "audit",
        "--root",
        "examples/old-21.02",
        "--json",
        "--now",
        NOW,
    ]);
    std::fs::remove_dir_all(&dir).ok();
    let ids = |o: &Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].clone(), f["subject"].clone()))
            .collect::<Vec<_>>()
    };
    let b = ids(&from_backup);
    // The backup has no lease files (they live in /tmp), so the directory may know more devices;
    // everything the backup reports, the directory reports too.
    assert!(!b.is_empty());
    let d = ids(&from_dir);
    for f in &b {
        assert!(d.contains(f), "{f:?} only in the backup");
    }
    assert!(b.iter().any(|(id, _)| id == "router.firmware_eol"));
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

#[test]
fn plan_says_in_words_what_changes_what_it_fixes_and_how_to_undo_it() {
    let out = camguard(&["plan", "--root", "examples/messy-home"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "not JSON by default"
    );
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        // The forward by its name and route, why, and the finding it fixes.
        "Disable port forward \"DVR remote\": wan tcp/udp every port → 192.168.1.108 (nvr-garage)",
        "it is not on camguard's allowlist",
        "Fixes: CRITICAL forward.dmz",
        "firewall.cfg093837.enabled 1 → 0",
        // The camera's mapping with its protocol and port.
        "Close TCP port 554 to the internet: revoke the UPnP mapping to reolink-front (192.168.1.64:554)",
        "`camguard revoke TCP 554`",
        "Deny UPnP to garden-cam",
        // What it keeps, with the policy's reason.
        "forward.active: Port forward \"Plex\" is open to the internet — kept by your camguard policy",
        "camguard enforce",
        "Services → Camguard",
        "camguard revert",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("Nothing needs changing"),
        "a plan with actions is not empty"
    );
    assert!(
        !text.contains('\x1b'),
        "not a terminal: no colour, no escape byte"
    );
}

#[test]
fn plan_json_is_the_documented_actions_reply() {
    let out = camguard(&["plan", "--root", "examples/messy-home", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let obj = plan.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["actions"]);
    let actions = plan["actions"].as_array().unwrap();
    // docs/ubus-api.md: every action has a kind from the list and a `why` for people.
    for a in actions {
        let kind = a["kind"].as_str().unwrap();
        assert!(
            [
                "uci_set",
                "uci_add",
                "uci_order",
                "uci_delete",
                "service",
                "truncate_file",
                "revoke_mapping"
            ]
            .contains(&kind),
            "{a}"
        );
        assert!(!a["why"].as_str().unwrap().is_empty(), "{a}");
    }
    let forward = actions
        .iter()
        .find(|a| a["finding"]["id"] == "forward.dmz")
        .expect("the catch-all forward is disabled");
    assert_eq!(
        (&forward["kind"], &forward["config"], &forward["section"]),
        (
            &serde_json::json!("uci_set"),
            &serde_json::json!("firewall"),
            &serde_json::json!("cfg093837")
        )
    );
    assert_eq!(
        (&forward["option"], &forward["value"]),
        (&"enabled".into(), &"0".into())
    );
    assert!(actions
        .iter()
        .any(|a| a["kind"] == "revoke_mapping" && a["proto"] == "TCP" && a["ext_port"] == 554));
    // The same actions the report attaches as fixes.
    let report = camguard(&["audit", "--root", "examples/messy-home", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let dmz = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "forward.dmz")
        .unwrap();
    assert_eq!(dmz["fix"]["actions"][0], *forward);
}

#[test]
fn an_empty_plan_on_a_router_that_complies_says_nothing_needs_changing() {
    let mut roots = vec!["examples/fresh-25.12".to_owned()];
    // Real upstream defaults (../shared/corpus/PROVENANCE.md), where the checkout has them.
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    match std::fs::read_dir(&corpus) {
        Ok(entries) => roots.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("etc/config/firewall").is_file())
                .map(|p| p.display().to_string()),
        ),
        Err(_) => eprintln!(
            "no {}: the shipped defaults are not checked",
            corpus.display()
        ),
    }
    for root in &roots {
        let json = camguard(&["plan", "--root", root, "--json"]);
        assert_eq!(json.status.code(), Some(0), "{root}");
        let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(plan, serde_json::json!({ "actions": [] }), "{root}");
        let text = stdout(&camguard(&["plan", "--root", root]));
        assert!(text.contains("Nothing needs changing"), "{root}:\n{text}");
        assert!(!text.contains("camguard revert"), "nothing to undo: {root}");
    }
}

#[test]
fn an_empty_plan_is_not_called_compliant_when_the_firewall_could_not_be_read() {
    let dir = std::env::temp_dir().join(format!("camguard-plan-{}", std::process::id()));
    let config = dir.join("etc/config");
    std::fs::create_dir_all(&config).unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fresh-25.12");
    for entry in std::fs::read_dir(shipped.join("etc/config")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), config.join(entry.file_name())).unwrap();
    }
    let firewall = std::fs::read_to_string(config.join("firewall")).unwrap();
    std::fs::write(
        config.join("firewall"),
        firewall + "\nconfig redirect\n\toption name 'never closed\n",
    )
    .unwrap();
    let root = dir.to_str().unwrap();
    let json = camguard(&["plan", "--root", root, "--json"]);
    let text = stdout(&camguard(&["plan", "--root", root]));
    std::fs::remove_dir_all(&dir).ok();
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(plan["actions"], serde_json::json!([]));
    assert!(!text.contains("Nothing needs changing"), "{text}");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("The firewall configuration could not be read: /etc/config/firewall"),
        "{text}"
    );
}
