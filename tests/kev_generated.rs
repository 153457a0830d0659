//! The committed known-exploited firmware table must be exactly what `scripts/gen-kev` makes
//! from data/camera-kev.tsv: otherwise a hand edit, or a data change nobody regenerated, ships
//! unnoticed.
use std::path::PathBuf;
use std::process::Command;

use camguard::facts::kev::KNOWN_EXPLOITED;

#[test]
fn committed_table_matches_the_generator() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("camguard-kev-{}.rs", std::process::id()));
    let run = Command::new("python3")
        .arg(repo.join("scripts/gen-kev"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("python3 must be installed to run scripts/gen-kev");
    assert!(
        run.status.success(),
        "scripts/gen-kev failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let generated = std::fs::read_to_string(&out).expect("generator output");
    let _ = std::fs::remove_file(&out);
    let committed = std::fs::read_to_string(repo.join("src/facts/kev.rs")).expect("kev.rs");
    assert!(
        generated == committed,
        "src/facts/kev.rs differs from what scripts/gen-kev makes of data/camera-kev.tsv: run \
         python3 scripts/gen-kev"
    );
}

#[test]
fn every_row_cites_its_sources_and_says_what_is_unconfirmed() {
    assert!(!KNOWN_EXPLOITED.is_empty());
    for row in KNOWN_EXPLOITED {
        assert!(
            row.advisory.contains("KEV"),
            "{}: cite the KEV catalog",
            row.cve
        );
        assert!(!row.fixed.is_empty() && !row.gets.is_empty(), "{}", row.cve);
        assert!(
            row.note.is_empty() || row.note.starts_with("UNCONFIRMED"),
            "{}",
            row.cve
        );
    }
}
