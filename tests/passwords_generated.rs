//! The committed common-password table must be exactly what `scripts/gen-passwords` makes from
//! data/common-passwords.txt, so that a hand edit or an unregenerated data change cannot ship.
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_table_matches_the_generator() {
    let out = std::env::temp_dir().join(format!("camguard-passwords-{}.rs", std::process::id()));
    let run = Command::new("python3")
        .arg(repo().join("scripts/gen-passwords"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("python3 must be installed to run scripts/gen-passwords");
    assert!(
        run.status.success(),
        "scripts/gen-passwords failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let generated = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let committed = std::fs::read_to_string(repo().join("src/passwords.rs")).unwrap();
    assert!(
        generated == committed,
        "src/passwords.rs differs from the generator's output: run `python3 scripts/gen-passwords`"
    );
}

#[test]
fn the_table_knows_the_list_and_nothing_else() {
    let data = std::fs::read_to_string(repo().join("data/common-passwords.txt")).unwrap();
    let words: Vec<&str> = data
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(words.len(), 2000);
    for w in &words {
        assert!(camguard::passwords::is_common(w), "{w}");
    }
    assert!(camguard::passwords::is_common("PassWord"), "any case");
    for strong in [
        "correct horse battery staple",
        "kX9#vP2m!qL7@wR4",
        "garden-lamp-river",
    ] {
        assert!(!camguard::passwords::is_common(strong), "{strong}");
    }
}
