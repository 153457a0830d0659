//! Differential tests: camguard's UCI parser against the real `uci` CLI (libuci), built from the
//! C sources vendored in the libuci-sys crate by `scripts/build-uci`.
//!
//! For every file in tests/uci/ and every examples/*/etc/config/* file, `uci -c DIR export NAME`
//! must equal `parse(..).export()` byte for byte, `uci -X show NAME` must list the same section
//! names (anonymous `cfgXXYYYY` included), and a file uci rejects must be rejected with the same
//! reason, line and byte. Files named `err-*` are the corpus's deliberate syntax errors; uci must
//! reject exactly those, so a corpus file cannot silently stop testing what its name says.
//!
//! Invalid UTF-8: the parser decodes values lossily, so uci's output is compared after the same
//! lossy decoding (exact bytes whenever uci's output is valid UTF-8).

mod common;
use camguard::formats::uci::{parse, parse_with_libuci_position, Package, Value};
use common::Rng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real uci binary; a missing one fails the test (a differential suite that skips proves
/// nothing).
fn uci_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CAMGUARD_UCI") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "CAMGUARD_UCI={} is not a file: run scripts/build-uci first",
            p.display()
        );
        return p;
    }
    let p = repo().join(".tools/uci/bin/uci");
    assert!(
        p.is_file(),
        "the real uci CLI is missing ({}): run scripts/build-uci first (or set CAMGUARD_UCI)",
        p.display()
    );
    p
}

/// What the real CLI said about one file.
enum Verdict {
    Accepted {
        export: String,
        show: String,
    },
    Rejected {
        reason: String,
        line: usize,
        byte: usize,
    },
}

struct Uci {
    bin: PathBuf,
    scratch: PathBuf,
}

static SCRATCH: AtomicUsize = AtomicUsize::new(0);

impl Uci {
    fn new() -> Uci {
        let n = SCRATCH.fetch_add(1, Ordering::SeqCst);
        let scratch =
            std::env::temp_dir().join(format!("camguard-uci-diff-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&scratch).unwrap();
        Uci {
            bin: uci_binary(),
            scratch,
        }
    }

    fn run(&self, name: &str, content: &[u8]) -> Verdict {
        // libuci always merges staged changes from /tmp/.uci/<name> too; one there would leak in.
        let staged = Path::new("/tmp/.uci").join(name);
        assert!(
            !staged.exists(),
            "{} exists: uci would merge those staged changes",
            staged.display()
        );
        let conf = self.scratch.join("conf");
        let save = self.scratch.join("save");
        let _ = std::fs::remove_dir_all(&conf);
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(&save).unwrap();
        std::fs::write(conf.join(name), content).unwrap();
        let run = |args: &[&str]| {
            let mut cmd = Command::new(&self.bin);
            cmd.arg("-c").arg(&conf).arg("-t").arg(&save).args(args);
            cmd.output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()))
        };
        let export = run(&["export", name]);
        if export.status.success() {
            let show = run(&["-X", "show", name]);
            assert!(
                show.status.success(),
                "uci show failed after export succeeded on {name}"
            );
            return Verdict::Accepted {
                export: String::from_utf8_lossy(&export.stdout).into_owned(),
                show: String::from_utf8_lossy(&show.stdout).into_owned(),
            };
        }
        let stderr = String::from_utf8_lossy(&export.stderr);
        parse_uci_error(&stderr)
            .unwrap_or_else(|| panic!("uci failed on {name} without a parse error: {stderr}"))
    }
}

impl Drop for Uci {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// `<argv0>: Parse error (<reason>) at line <n>, byte <m>`
fn parse_uci_error(stderr: &str) -> Option<Verdict> {
    let start = stderr.find("Parse error (")? + "Parse error (".len();
    let end = stderr.rfind(") at line ")?;
    let reason = stderr.get(start..end)?.to_string();
    let rest = &stderr[end + ") at line ".len()..];
    let (line, rest) = rest.split_once(", byte ")?;
    let byte = rest.trim_end().parse().ok()?;
    Some(Verdict::Rejected {
        reason,
        line: line.parse().ok()?,
        byte,
    })
}

/// `uci -X show <package>` as the CLI renders it: the section names are what this checks.
fn show(p: &Package) -> String {
    fn quote(s: &str) -> String {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
    let mut out = String::new();
    for s in &p.sections {
        out += &format!("{}.{}={}\n", p.name, s.name, s.section_type);
        for o in &s.options {
            let v = match &o.value {
                Value::Single(v) => quote(v),
                Value::List(items) => items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(" "),
            };
            out += &format!("{}.{}.{}={}\n", p.name, s.name, o.name, v);
        }
    }
    out
}

/// Compares our parse of `content` with uci's verdict; `Err` describes the difference.
fn compare(uci: &Uci, name: &str, content: &[u8]) -> Result<Verdict, String> {
    let verdict = uci.run(name, content);
    let ours = parse_with_libuci_position(name, content);
    match (&verdict, ours) {
        (
            Verdict::Accepted {
                export,
                show: uci_show,
            },
            Ok(p),
        ) => {
            let ours = p.export();
            if &ours != export {
                return Err(format!("export differs\n--- uci\n{export}--- ours\n{ours}"));
            }
            let ours_show = show(&p);
            if &ours_show != uci_show {
                return Err(format!(
                    "show differs\n--- uci\n{uci_show}--- ours\n{ours_show}"
                ));
            }
        }
        (Verdict::Accepted { .. }, Err((e, _))) => {
            return Err(format!("uci accepts, we reject: {e}"))
        }
        (Verdict::Rejected { reason, line, byte }, Ok(_)) => {
            return Err(format!(
                "uci rejects ({reason}, line {line}, byte {byte}), we accept"
            ))
        }
        (Verdict::Rejected { reason, line, byte }, Err((e, raw))) => {
            let raw = raw.ok_or_else(|| format!("no libuci position in our error {e}"))?;
            if (raw.reason, raw.line, raw.byte) != (reason.as_str(), *line, *byte) {
                return Err(format!(
                    "uci: {reason} at line {line} byte {byte}; ours: {} at line {} byte {}",
                    raw.reason, raw.line, raw.byte
                ));
            }
            // The reported line is libuci's, or one more where libuci's counter lags (an error
            // on a last line that has no newline).
            if !(e.line == *line || e.line == *line + 1)
                || e.line == 0
                || !e.message.starts_with(reason)
            {
                return Err(format!(
                    "our error reads badly for uci's ({reason}, line {line}): {e}"
                ));
            }
        }
    }
    Ok(verdict)
}

/// A package name libuci accepts, from a file name.
fn package_name(file: &Path) -> String {
    let stem = file.file_name().unwrap().to_string_lossy();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("cg_{clean}")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// The corpus: tests/uci/*.conf (other files there, such as a README, are not configs).
fn corpus() -> Vec<PathBuf> {
    files_in(&repo().join("tests/uci"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect()
}

fn example_configs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(repo().join("examples")) {
        let mut dirs: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        dirs.sort();
        for d in dirs {
            out.extend(files_in(&d.join("etc/config")));
        }
    }
    out
}

#[test]
fn corpus_and_examples_match_real_uci() {
    let uci = Uci::new();
    let corpus = corpus();
    assert!(
        corpus.len() >= 60,
        "tests/uci/ should hold at least 60 files, has {}",
        corpus.len()
    );
    let mut failures = Vec::new();
    let mut rejected = 0;
    for file in corpus.iter().chain(example_configs().iter()) {
        let content = std::fs::read(file).unwrap();
        let name = package_name(file);
        let expect_error = file.starts_with(repo().join("tests/uci"))
            && file
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("err-");
        match compare(&uci, &name, &content) {
            Ok(Verdict::Rejected { .. }) if !expect_error => failures.push(format!(
                "{}: uci rejects a file not named err-*",
                file.display()
            )),
            Ok(Verdict::Accepted { .. }) if expect_error => failures.push(format!(
                "{}: named err-* but uci accepts it",
                file.display()
            )),
            Ok(Verdict::Rejected { .. }) => rejected += 1,
            Ok(Verdict::Accepted { .. }) => {}
            Err(why) => failures.push(format!("{}: {why}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        rejected >= 10,
        "the corpus should hold syntax errors uci rejects; found {rejected}"
    );
}

#[test]
fn examples_parse_without_error() {
    for file in example_configs() {
        let content = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(e) = parse(&name, &content) {
            panic!("{}: {e}", file.display());
        }
    }
}

/// Pieces that matter to libuci's tokenizer, so random files reach its corners quickly.
const PIECES: &[&[u8]] = &[
    b"config",
    b"option",
    b"list",
    b"package",
    b"c",
    b"o",
    b"l",
    b"p",
    b" ",
    b" ",
    b"\t",
    b"\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"'",
    b"\"",
    b"\\",
    b"#",
    b";",
    b"a",
    b"b",
    b"name",
    b"x y",
    b"cfg01a1b2",
    b"-",
    b".",
    b"=",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b"\x0b",
    b"'\\''",
    b"\\\n",
    b"\"\\\"\"",
];

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(4) {
            0 if !v.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(v.len());
                v.drain(at.min(end)..end);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                v.splice(at..at, piece.iter().copied());
            }
            2 if at < v.len() => v[at] = rng.next() as u8,
            _ => {
                // Duplicate a line-sized run: repeats sections, options and list items.
                let start = rng.below(v.len() + 1);
                let end = (start + rng.below(40)).min(v.len());
                let run = v[start..end].to_vec();
                v.splice(at..at, run);
            }
        }
    }
    v
}

fn random_tokens(rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..rng.below(40) {
        v.extend_from_slice(PIECES[rng.below(PIECES.len())]);
    }
    v
}

/// Mutated corpus files and random token soups, each checked against the real uci. The seed and
/// the input are printed on a difference, so it can become a corpus file.
#[test]
fn mutations_match_real_uci() {
    let uci = Uci::new();
    let bases: Vec<Vec<u8>> = corpus().iter().map(|f| std::fs::read(f).unwrap()).collect();
    // CAMGUARD_UCI_MUTATIONS and CAMGUARD_UCI_SEED run longer or different searches.
    let env = |key: &str| std::env::var(key).ok().and_then(|s| s.parse::<u64>().ok());
    let mut rng = Rng(env("CAMGUARD_UCI_SEED").unwrap_or(0x5eed_cafe_f00d_0001) | 1);
    let mut failures = Vec::new();
    let iterations = env("CAMGUARD_UCI_MUTATIONS").unwrap_or(1500);
    for i in 0..iterations {
        let input = if i % 3 == 0 {
            random_tokens(&mut rng)
        } else {
            let base = rng.below(bases.len());
            mutate(&mut rng, &bases[base])
        };
        if let Err(why) = compare(&uci, "cg_mutant", &input) {
            failures.push(format!(
                "iteration {i}, input {:?}:\n{why}",
                String::from_utf8_lossy(&input)
            ));
            if failures.len() >= 10 {
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Many more mutations than the differential test can afford, checked only for panics.
#[test]
fn mutated_corpus_never_panics() {
    let bases: Vec<Vec<u8>> = corpus().iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!bases.is_empty());
    let mut rng = Rng(0x0dd_ba11_u64);
    for _ in 0..50_000 {
        let base = rng.below(bases.len());
        let input = mutate(&mut rng, &bases[base]);
        if let Ok(p) = parse("mutant", &input) {
            let _ = p.export();
        }
    }
}
