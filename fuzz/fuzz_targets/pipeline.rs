//! The whole offline pipeline, as `camguard audit --backup` and the daemon run it: a router's
//! files (any bytes at any path, symlinks included) → `source::offline::read` → audit → plan →
//! fixes attached → the replies and renderings people and programs see.
//!
//! Input: a sequence of entries, each a header line then the file's bytes up to the next header:
//!
//! ```text
//! === /etc/config/firewall
//! config defaults
//! …
//! === /var -> tmp
//! ```
//!
//! `=== PATH` starts a file, `=== PATH -> TARGET` is a symlink (no content).
#![no_main]
use camguard::facts::{Facts, Inventory};
use camguard::plan::report_and_plan;
use camguard::report::{self, Style};
use camguard::source::{offline, Archive, ArchiveFiles};
use camguard_fuzz::{assert_blob_round_trip, NOW};
use libfuzzer_sys::fuzz_target;

fn archive(data: &[u8]) -> Archive {
    let mut archive = Archive::default();
    let mut input = b"\n".to_vec();
    input.extend_from_slice(data);
    let marker = b"\n=== ";
    let mut starts: Vec<usize> = input
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| *w == marker)
        .map(|(i, _)| i + marker.len())
        .collect();
    starts.push(input.len() + marker.len());
    for pair in starts.windows(2) {
        let entry = &input[pair[0]..pair[1] - marker.len()];
        let (header, body) = match entry.iter().position(|&b| b == b'\n') {
            Some(i) => (&entry[..i], &entry[i + 1..]),
            None => (entry, &[][..]),
        };
        let header = String::from_utf8_lossy(header);
        let key = |p: &str| {
            p.trim_start_matches("./")
                .trim_start_matches('/')
                .to_owned()
        };
        match header.split_once(" -> ") {
            Some((path, target)) => {
                archive.symlinks.insert(key(path), target.to_owned());
            }
            None => {
                archive.files.insert(key(&header), body.to_vec());
            }
        }
    }
    archive
}

fuzz_target!(|data: &[u8]| {
    let files = ArchiveFiles::new("fuzz", archive(data));
    let snap = offline::read(&files, NOW, None, &[]);

    // What the CLI and the daemon's audit do.
    let inventory = Inventory::build(&snap);
    let (report, actions) = report_and_plan(&Facts::new(&snap, &inventory));

    assert!(report.score <= 100);
    let c = &report.counts;
    assert_eq!(
        c.critical + c.high + c.medium + c.low + c.info,
        report.findings.len(),
        "counts do not add up to the findings"
    );
    // `camguard audit --json`, ubus `status` and `plan`.
    let _ = report::json(&report);
    assert_blob_round_trip(&report);
    assert_blob_round_trip(&serde_json::json!({ "actions": actions }));
    // The terminal report: whatever the files said, nothing in it may drive the terminal.
    let text = report::terminal(&report, &Style { colour: false });
    assert!(
        !text
            .chars()
            .any(|c| (c.is_control() && c != '\n') || camguard::text::is_bidi_control(c)),
        "the terminal report holds a control character:\n{text:?}"
    );
});
