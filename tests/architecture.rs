//! The house's rules (ARCHITECTURE.md), read off the source: each top-level module imports only
//! the modules below it, and the pure core (the LAN model, the formats, the snapshot, facts,
//! audit and plan) names no I/O API. Test modules inside a file are left out: a test may read a
//! fixture.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every top-level module of `src/` and its floor: a module imports only modules on lower floors
/// (ARCHITECTURE.md). The pure core climbs 3 → 8; the I/O side stands beside it.
const FLOORS: &[(&str, u8)] = &[
    // camguard's JSON value and parser, under everything that reads or writes JSON.
    ("json", 0),
    // Sorted Vecs where B-trees were: under everything that keeps a set or a map.
    ("sorted", 0),
    // Reading camguard's own JSON back: under the words whose readers use it.
    ("json_read", 1),
    // Words everything uses, and the OS.
    ("text", 2),
    ("mac", 2),
    ("passwords", 2),
    ("ports", 2),
    ("time", 2),
    ("encode", 2),
    ("sys", 2),
    ("netlink", 2),
    ("conntrack", 3),
    ("syslog", 2),
    ("statefile", 2),
    // The models.
    ("lan", 3),
    ("bus", 3),
    ("nftables", 3),
    ("formats", 4),
    ("snapshot", 5),
    // The pipeline.
    ("facts", 6),
    ("source", 6),
    ("audit", 7),
    ("plan", 8),
    ("probe", 8),
    ("report", 8),
    ("apply", 9),
    ("views", 9),
    // What people and programs use.
    ("daemon", 10),
    ("cli", 11),
    ("lib", 12),
    ("main", 12),
];

/// The pure core, and what it must never name.
const PURE: &[&str] = &[
    "json",
    "sorted",
    "json_read",
    "text",
    "mac",
    "passwords",
    "ports",
    "lan",
    "formats",
    "snapshot",
    "facts",
    "audit",
    "plan",
];
const IO_APIS: &[&str] = &[
    "std::fs",
    "std::process",
    "std::net::TcpStream",
    "std::net::UdpSocket",
    "std::os::unix::net",
    "SystemTime::now",
    "Instant::now",
    "std::env",
    "std::thread",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file belongs to: `src/facts/inventory.rs` → `facts`, `src/cli.rs` → `cli`.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The file's code without comments and without its test modules (a `#[cfg(test)]` followed by
/// `mod`, to the end of the file: camguard keeps test modules last) or a file that is wholly a
/// test module (`credentials/tests.rs`).
fn code(file: &Path) -> String {
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod "))
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn crate_references(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // `crate::notice!` is the syslog sink's macro, exported at the crate root.
        if name == "notice" {
            out.push("syslog".to_owned());
        } else if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

#[test]
fn each_module_imports_only_what_stands_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let floors: BTreeMap<&str, u8> = FLOORS.iter().copied().collect();
    let floor = |m: &str| {
        *floors
            .get(m)
            .unwrap_or_else(|| panic!("{m} is not in FLOORS: give it a place in the house"))
    };
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let module = top_module(&src, file);
        for used in crate_references(&code(file)) {
            if used != module && floor(&used) >= floor(&module) {
                wrong.push(format!("{} imports crate::{used}", file.display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports that run up the house:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_pure_core_names_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files
        .iter()
        .filter(|f| PURE.contains(&top_module(&src, f).as_str()))
    {
        let code = code(file);
        for api in IO_APIS {
            if code.contains(api) {
                wrong.push(format!("{} uses {api}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "I/O in the pure core:\n{}",
        wrong.join("\n")
    );
}
