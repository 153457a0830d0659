//! Enforce, retry and recovery against a scripted rpcd: the races of staged changes.
use std::path::PathBuf;

use crate::encode::json;
use crate::json::Value;

use super::*;
use crate::bus::{status, Bus, BusError};
use crate::plan::{Action, Step, UciValue};

/// rpcd as a script: every call is recorded and answered by `answer`.
struct ScriptedRpcd<F: FnMut(&str, &str, &Value) -> Result<Value, BusError>> {
    answer: F,
    calls: Vec<(String, String, Value)>,
}

impl<F: FnMut(&str, &str, &Value) -> Result<Value, BusError>> Bus for ScriptedRpcd<F> {
    fn call(&mut self, object: &str, method: &str, args: &Value) -> Result<Value, BusError> {
        self.calls
            .push((object.to_owned(), method.to_owned(), args.clone()));
        (self.answer)(object, method, args)
    }
}

fn disable_redirect() -> Action {
    Action {
        step: Step::UciSet {
            config: "firewall".into(),
            section: "cfg083837".into(),
            option: "enabled".into(),
            value: UciValue::Single("0".into()),
        },
        why: "test".into(),
        finding: None,
    }
}

fn executor<'a>(bus: &'a mut dyn Bus, root: &std::path::Path) -> Executor<'a> {
    Executor {
        bus,
        root: root.to_path_buf(),
        nft: false,
        lease_file: "/var/run/miniupnpd.leases".into(),
        upnp_before: None,
    }
}

/// Enforces `disable_redirect` at `now` through `bus`.
fn disable_redirect_through(bus: &mut dyn Bus, root: &std::path::Path, now: u64) -> Outcome {
    executor(bus, root).enforce(vec![disable_redirect()], "enforce", now, false)
}

/// Enforces `disable_redirect` against an rpcd whose commit answers `refusal`.
fn enforce_with_commit_refused(
    root: &std::path::Path,
    refusal: i32,
) -> (Outcome, Vec<(String, String, Value)>) {
    let mut rpcd = ScriptedRpcd {
        answer: move |_: &str, method: &str, _: &Value| match method {
            "changes" => Ok(json!({ "changes": [] })),
            "get" => Err(BusError::Status(status::NOT_FOUND)),
            "commit" => Err(BusError::Status(refusal)),
            _ => Ok(json!({})),
        },
        calls: vec![],
    };
    let outcome = disable_redirect_through(&mut rpcd, root, 1_795_608_000);
    (outcome, rpcd.calls)
}

/// The config held staged changes that are not camguard's: nothing reverted, set or
/// committed, and the reply says why.
fn assert_left_alone(outcome: &Outcome, calls: &[(String, String, Value)]) {
    assert_eq!(outcome.applied, 0);
    assert!(outcome.failed[0].error.contains("not camguard's"));
    assert!(calls
        .iter()
        .all(|c| c.1 != "revert" && c.1 != "set" && c.1 != "commit"));
}

fn temp_root(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("camguard-apply-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A commit refused for another reason than a pending LuCI apply: camguard's staged set is
/// reverted, so no one else's next `uci commit` applies it behind the journal's back.
#[test]
fn a_failed_commit_does_not_leave_camguards_change_staged() {
    let root = temp_root("commit-fails");
    let (outcome, rpcd_calls) = enforce_with_commit_refused(&root, status::UNKNOWN_ERROR);
    let methods: Vec<&str> = rpcd_calls.iter().map(|c| c.1.as_str()).collect();
    let commit = methods
        .iter()
        .position(|m| *m == "commit")
        .expect("a commit");
    assert_eq!(
        methods[commit + 1..].first(),
        Some(&"revert"),
        "{methods:?}"
    );
    assert_eq!(rpcd_calls[commit + 1].2, json!({ "config": "firewall" }));
    assert_eq!(outcome.applied, 0);
    assert!(outcome.failed[0].error.starts_with("uci commit firewall"));
    std::fs::remove_dir_all(&root).ok();
}

/// ubus gone between the set and the commit: the entry stays `applying` for `recover`, and
/// `recover` discards the staged set first (it is the entry's own), then reverts.
#[test]
fn an_interrupted_enforcement_is_left_applying_and_recovered() {
    let root = temp_root("interrupted");
    let mut up = true;
    let mut rpcd = ScriptedRpcd {
        answer: move |_: &str, method: &str, _: &Value| match method {
            _ if !up => Err(BusError::Disconnected),
            "changes" => Ok(json!({ "changes": [] })),
            "get" => Err(BusError::Status(status::NOT_FOUND)),
            "commit" => {
                up = false;
                Err(BusError::Disconnected)
            }
            _ => Ok(json!({})),
        },
        calls: vec![],
    };
    let outcome = disable_redirect_through(&mut rpcd, &root, 1_795_608_000);
    assert!(outcome.interrupted);
    let id = outcome.journal_id.clone().unwrap();
    assert_eq!(
        Journal::new(&root).read(&id).unwrap().state,
        State::Applying
    );

    // ubus is back: the savedir still holds the set, and the entry made exactly that change.
    let mut staged = true;
    let mut rpcd = ScriptedRpcd {
        answer: move |_: &str, method: &str, args: &Value| match method {
            "changes" if staged && args["config"] == "firewall" => Ok(json!({
                "changes": [["set", "cfg083837", "enabled", "0"]]
            })),
            "changes" => Ok(json!({ "changes": [] })),
            "revert" => {
                staged = false;
                Ok(json!({}))
            }
            _ => Ok(json!({})),
        },
        calls: vec![],
    };
    let recovery = executor(&mut rpcd, &root).recover();
    assert!(!recovery.stuck, "{:?}", recovery.log);
    assert!(rpcd
        .calls
        .iter()
        .any(|c| c.1 == "revert" && c.2 == json!({ "config": "firewall" })));
    assert_eq!(
        Journal::new(&root).read(&id).unwrap().state,
        State::Reverted
    );
    std::fs::remove_dir_all(&root).ok();
}

/// A staged change the entry did not make (another option of the same section) keeps the
/// whole config out of the rollback: nothing of it is discarded, recovery waits.
#[test]
fn recovery_never_discards_a_change_the_entry_did_not_make() {
    let root = temp_root("foreign");
    let journal = Journal::new(&root);
    let entry = Entry {
        id: journal.new_id(1_795_608_000),
        time: 1_795_608_000,
        reason: "enforce".into(),
        state: State::Applying,
        actions: vec![disable_redirect()],
        before: vec![Before::Option {
            config: "firewall".into(),
            section: "cfg083837".into(),
            option: "enabled".into(),
            value: None,
        }],
        applied: vec![],
        failed: vec![],
        pending: vec![],
        continued_in: None,
        notes: vec![],
    };
    journal.write(&entry).unwrap();
    let mut rpcd = ScriptedRpcd {
        answer: |_: &str, method: &str, _: &Value| match method {
            "changes" => Ok(json!({ "changes": [
                ["set", "cfg083837", "enabled", "0"],
                ["set", "cfg083837", "dest_port", "8080"]
            ]})),
            _ => Ok(json!({})),
        },
        calls: vec![],
    };
    let recovery = executor(&mut rpcd, &root).recover();
    assert!(recovery.stuck);
    assert!(
        rpcd.calls
            .iter()
            .all(|c| c.1 != "revert" && c.1 != "commit"),
        "{:?}",
        rpcd.calls
    );
    assert_eq!(journal.read(&entry.id).unwrap().state, State::Applying);
    std::fs::remove_dir_all(&root).ok();
}

/// A LuCI apply-with-rollback starts between camguard's set and its commit: the set stays
/// staged and waits. Once the apply is confirmed, the retry finds that staged set, knows it
/// for its own, drops it and applies again; a staged change it did not make still blocks.
#[test]
fn a_set_staged_before_a_luci_apply_is_retried_not_taken_for_foreign() {
    let root = temp_root("pending-race");
    let (first, _) = enforce_with_commit_refused(&root, status::PERMISSION_DENIED);
    assert_eq!(first.pending.len(), 1, "{first:?}");

    let staged_then = |extra: Option<Value>| {
        let mut staged = true;
        move |_: &str, method: &str, _: &Value| match method {
            "changes" if staged => {
                let mut changes = vec![json!(["set", "cfg083837", "enabled", "0"])];
                changes.extend(extra.clone());
                Ok(json!({ "changes": changes }))
            }
            "changes" => Ok(json!({ "changes": [] })),
            "revert" => {
                staged = false;
                Ok(json!({}))
            }
            "get" => Err(BusError::Status(status::NOT_FOUND)),
            _ => Ok(json!({})),
        }
    };
    let mut rpcd = ScriptedRpcd {
        answer: staged_then(None),
        calls: vec![],
    };
    let retry = disable_redirect_through(&mut rpcd, &root, 1_795_608_060);
    assert_eq!(retry.applied, 1, "{retry:?}");
    assert!(
        retry.failed.is_empty() && retry.pending.is_empty(),
        "{retry:?}"
    );
    let methods: Vec<&str> = rpcd.calls.iter().map(|c| c.1.as_str()).collect();
    let revert = methods.iter().position(|m| *m == "revert").unwrap();
    let set = methods.iter().position(|m| *m == "set").unwrap();
    assert!(revert < set, "{methods:?}");

    // Applied since: the same set staged again is someone else's now, and blocks.
    let mut rpcd = ScriptedRpcd {
        answer: staged_then(None),
        calls: vec![],
    };
    let blocked = disable_redirect_through(&mut rpcd, &root, 1_795_608_120);
    assert_left_alone(&blocked, &rpcd.calls);
    std::fs::remove_dir_all(&root).ok();
}

/// The same race, and a staged change beside camguard's that it did not make: the config
/// is left alone, neither reverted nor committed.
#[test]
fn a_foreign_change_beside_camguards_pending_set_blocks_the_retry() {
    let root = temp_root("pending-foreign");
    let (first, _) = enforce_with_commit_refused(&root, status::PERMISSION_DENIED);
    assert_eq!(first.pending.len(), 1);
    let mut rpcd = ScriptedRpcd {
        answer: |_: &str, method: &str, _: &Value| match method {
            "changes" => Ok(json!({ "changes": [
                ["set", "cfg083837", "enabled", "0"],
                ["set", "cfg083837", "dest_port", "8080"]
            ]})),
            _ => Ok(json!({})),
        },
        calls: vec![],
    };
    let blocked = disable_redirect_through(&mut rpcd, &root, 1_795_608_060);
    assert_left_alone(&blocked, &rpcd.calls);
    std::fs::remove_dir_all(&root).ok();
}

/// The daemon answers NOT_FOUND for an entry that is missing or already reverted, and explains
/// a revert that staged changes of someone else's hold back.
#[test]
fn revert_tells_a_missing_entry_from_a_blocked_one() {
    let root = temp_root("revert-errors");
    let mut foreign_staged = false;
    let mut rpcd = ScriptedRpcd {
        answer: move |_: &str, method: &str, _: &Value| match method {
            "changes" if foreign_staged => Ok(json!({ "changes": [
                ["set", "cfg083837", "dest_port", "8080"]
            ]})),
            "changes" => Ok(json!({ "changes": [] })),
            "get" => Err(BusError::Status(status::NOT_FOUND)),
            "commit" => {
                foreign_staged = true;
                Ok(json!({}))
            }
            _ => Ok(json!({})),
        },
        calls: vec![],
    };
    let mut camguard = executor(&mut rpcd, &root);
    assert!(camguard.revert(None).unwrap_err().is_not_found());
    assert!(camguard.revert(Some("../x")).unwrap_err().is_not_found());

    let outcome = camguard.enforce(vec![disable_redirect()], "enforce", 1_795_608_000, false);
    let id = outcome.journal_id.expect("journaled");
    let blocked = camguard.revert(Some(&id)).unwrap_err();
    assert!(
        matches!(&blocked, ApplyError::ForeignChanges { config } if config == "firewall"),
        "{blocked:?}"
    );
    assert!(!blocked.is_not_found());
    assert!(blocked.to_string().contains("commit or revert them"));
    std::fs::remove_dir_all(&root).ok();
}

/// docs/ubus-api.md: a reply's `failed` item carries the action itself (or null for the run as a
/// whole), the journal's carries the action's index.
#[test]
fn a_failure_names_its_action_in_a_reply_and_its_index_in_the_journal() {
    let root = temp_root("failure-shape");
    let (outcome, _) = enforce_with_commit_refused(&root, status::UNKNOWN_ERROR);
    let reply = crate::encode::to_value(&outcome).unwrap();
    let error = outcome.failed[0].error.clone();
    assert_eq!(
        reply["failed"],
        json!([{ "action": disable_redirect(), "error": error }])
    );
    let journal = std::fs::read(
        Journal::new(&root)
            .dir()
            .join(format!("{}.json", outcome.journal_id.unwrap())),
    )
    .unwrap();
    let journal: Value = crate::json::from_slice(&journal).unwrap();
    assert_eq!(journal["failed"], json!([{ "action": 0, "error": error }]));
    assert_eq!(
        crate::encode::to_value(&Failure::of_run("nothing was changed")).unwrap(),
        json!({ "action": null, "error": "nothing was changed" })
    );
    std::fs::remove_dir_all(&root).ok();
}

/// An entry written by the version before byte-exact revert (no `file_bytes`, lease lines
/// without their place) still reverts as it did: values by meaning, lease lines appended.
#[test]
fn an_entry_of_the_previous_format_still_reverts() {
    let root = temp_root("old-format");
    let id = "20261125T120000Z-1";
    let old = json!({
        "id": id, "time": 1_795_608_000u64, "reason": "revoke", "state": "applied",
        "actions": [],
        "before": [
            { "what": "option", "config": "firewall", "section": "cfg083837",
              "option": "enabled", "value": null },
            { "what": "lease_lines", "path": "/var/run/miniupnpd.leases",
              "lines": ["UDP:3074:192.168.1.31:3074:0:Xbox"] }
        ],
        "applied": [], "failed": [], "pending": []
    });
    std::fs::create_dir_all(root.join(super::journal::JOURNAL_DIR)).unwrap();
    std::fs::write(
        Journal::new(&root).dir().join(format!("{id}.json")),
        old.to_string(),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("var/run")).unwrap();
    let lease = root.join("var/run/miniupnpd.leases");
    std::fs::write(&lease, "TCP:80:192.168.1.2:80:0:web\n").unwrap();
    let mut rpcd = ScriptedRpcd {
        answer: |_: &str, method: &str, _: &Value| match method {
            "changes" => Ok(json!({ "changes": [] })),
            _ => Ok(json!({})),
        },
        calls: vec![],
    };
    let reverted = executor(&mut rpcd, &root).revert(None).unwrap();
    assert_eq!(reverted.failed, Vec::<String>::new());
    assert_eq!(reverted.notes, Vec::<String>::new());
    let methods: Vec<&str> = rpcd.calls.iter().map(|c| c.1.as_str()).collect();
    assert!(
        methods.contains(&"delete") && methods.contains(&"commit"),
        "{methods:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&lease).unwrap(),
        "TCP:80:192.168.1.2:80:0:web\nUDP:3074:192.168.1.31:3074:0:Xbox\n"
    );
    assert_eq!(Journal::new(&root).read(id).unwrap().state, State::Reverted);
    std::fs::remove_dir_all(&root).ok();
}

/// Kept bytes survive the journal's JSON exactly, UTF-8 or not.
#[test]
fn kept_bytes_round_trip_through_json() {
    for bytes in [
        b"config x\n\t# tab\n".to_vec(),
        vec![0xff, 0x00, b'a', 0xc3],
    ] {
        let kept = super::journal::KeptBytes(bytes.clone());
        let text = crate::encode::to_string(&kept).unwrap();
        let back =
            crate::statefile::from_json(text.as_bytes(), super::journal::KeptBytes::from_json);
        assert_eq!(back.unwrap().0, bytes, "{text}");
    }
}

/// A config larger than the bound: the entry says its bytes were not kept, and revert restores
/// it by meaning (set back and committed through rpcd) with a note saying so.
#[test]
fn a_config_over_the_bound_is_reverted_by_meaning_with_a_note() {
    let root = temp_root("over-bound");
    std::fs::create_dir_all(root.join("etc/config")).unwrap();
    let big = format!(
        "config redirect 'cfg083837'\n\toption name 'x'\n{}",
        "# padding\n".repeat(30_000)
    );
    std::fs::write(root.join("etc/config/firewall"), &big).unwrap();
    let mut rpcd = ScriptedRpcd {
        answer: |_: &str, method: &str, _: &Value| match method {
            "changes" => Ok(json!({ "changes": [] })),
            "get" => Err(BusError::Status(status::NOT_FOUND)),
            _ => Ok(json!({})),
        },
        calls: vec![],
    };
    let outcome = disable_redirect_through(&mut rpcd, &root, 1_795_608_000);
    let id = outcome.journal_id.unwrap();
    let entry = Journal::new(&root).read(&id).unwrap();
    assert!(
        entry.before.iter().any(|b| matches!(b,
            Before::FileBytes { bytes: None, size, .. } if *size == big.len() as u64)),
        "{:?}",
        entry.before
    );
    rpcd.calls.clear();
    let reverted = executor(&mut rpcd, &root).revert(Some(&id)).unwrap();
    assert!(
        reverted.notes.len() == 1 && reverted.notes[0].contains("larger than 256 KiB"),
        "{:?}",
        reverted.notes
    );
    assert!(rpcd
        .calls
        .iter()
        .any(|c| c.1 == "commit" && c.2 == json!({ "config": "firewall" })));
    assert_eq!(Journal::new(&root).read(&id).unwrap().notes, reverted.notes);
    std::fs::remove_dir_all(&root).ok();
}
