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
