//! camguard's JSON parser and `Value` (`camguard::json`) against serde_json's, which they
//! replace on the router: the same bytes must be accepted or refused alike, read into the same
//! value (whole numbers as whole numbers, floats to the bit, members in the same order, a
//! repeated key where serde_json puts it) and refused with the same words at the same line and
//! column. Over every JSON file the repository and ../shared hold, camguard's own files written
//! by its writer, hostile inputs, and thousands of random and mutated documents.
mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use camguard::json::{self, Map, Value};

use common::{Rng, NOW};

/// A reader that hands over a few bytes at a time, so the parser's window is refilled at every
/// place in a document.
struct Trickle<'a> {
    bytes: &'a [u8],
    rng: Rng,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (1 + self.rng.below(7)).min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Both parsers on `bytes`: the same verdict, value and error text; and the streaming reader,
/// fed a few bytes at a time, the same as the parser over the slice.
#[track_caller]
fn same(what: &str, bytes: &[u8]) -> bool {
    let shown = || String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    let ours = json::from_slice(bytes);
    let theirs = serde_json::from_slice::<serde_json::Value>(bytes);
    match (&ours, &theirs) {
        (Ok(ours), Ok(theirs)) => same_value(ours, theirs, &format!("{what}: {}", shown())),
        (Err(ours), Err(theirs)) => {
            assert_eq!(ours.to_string(), theirs.to_string(), "{what}: {}", shown())
        }
        _ => panic!("{what}: ours {ours:?}, serde_json {theirs:?}: {}", shown()),
    }
    let mut trickle = Trickle {
        bytes,
        rng: Rng(bytes.len() as u64 + 1),
    };
    let mut reader = json::Reader::new(&mut trickle);
    let streamed = reader.value().and_then(|v| reader.end().map(|()| v));
    match (&ours, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}: streamed"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}: streamed"),
        _ => panic!("{what}: streamed {streamed:?}, whole {ours:?}: {}", shown()),
    }
    ours.is_ok()
}

/// The same value: kinds, numbers (every accessor, floats to the bit), strings, and members in
/// the same order; and the same text from both writers.
#[track_caller]
fn same_value(ours: &Value, theirs: &serde_json::Value, what: &str) {
    match (ours, theirs) {
        (Value::Null, serde_json::Value::Null) => {}
        (Value::Bool(a), serde_json::Value::Bool(b)) => assert_eq!(a, b, "{what}"),
        (Value::Number(a), serde_json::Value::Number(b)) => {
            assert_eq!(a.as_u64(), b.as_u64(), "{what}: {b}");
            assert_eq!(a.as_i64(), b.as_i64(), "{what}: {b}");
            assert_eq!(
                a.as_f64().map(f64::to_bits),
                b.as_f64().map(f64::to_bits),
                "{what}: {b}"
            );
            assert_eq!(
                (a.is_u64(), a.is_i64(), a.is_f64()),
                (b.is_u64(), b.is_i64(), b.is_f64())
            );
            assert_eq!(a.to_string(), b.to_string(), "{what}");
        }
        (Value::String(a), serde_json::Value::String(b)) => assert_eq!(a, b, "{what}"),
        (Value::Array(a), serde_json::Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{what}");
            for (a, b) in a.iter().zip(b) {
                same_value(a, b, what);
            }
        }
        (Value::Object(a), serde_json::Value::Object(b)) => {
            assert_eq!(a.len(), b.len(), "{what}");
            for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                assert_eq!(ka, kb, "{what}: member order");
                same_value(va, vb, what);
                assert!(a.get(kb).is_some() && a.contains_key(kb), "{what}: {kb}");
            }
        }
        _ => panic!("{what}: ours {ours:?}, serde_json {theirs:?}"),
    }
    assert_eq!(ours.to_string(), theirs.to_string(), "{what}: compact text");
    assert_eq!(
        format!("{ours:#}"),
        format!("{theirs:#}"),
        "{what}: pretty text"
    );
}

fn json_files(dir: &Path, all: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("node_modules") && !path.ends_with("target") {
                json_files(&path, all, out);
            }
        } else if all || path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Every JSON file in the repository (fixtures, examples, schemas, the package's files) and in
/// ../shared (the OpenWrt corpus, rpcd transcripts), and the fuzz seeds for the JSON readers
/// whatever their names.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in [
        "tests",
        "examples",
        "schema",
        "files",
        "openwrt-package",
        "../shared",
    ] {
        json_files(&repo.join(dir), false, &mut paths);
    }
    for dir in ["nft_json", "ubus_args", "lan_replies"] {
        json_files(&repo.join("fuzz/corpus").join(dir), true, &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.display().to_string(), bytes)
        })
        .collect()
}

#[test]
fn every_json_file_reads_as_serde_json_reads_it() {
    let files = corpus();
    let read = files
        .iter()
        .filter(|(what, bytes)| same(what, bytes))
        .count();
    assert!(files.len() >= 100, "{} files", files.len());
    assert!(read >= 100, "{read} of {} files are JSON", files.len());
}

/// What camguard writes and reads back: the report, plan, inventory and list replies of the
/// example routers and the OpenWrt corpus (as `--json` and the journal write them), the state
/// files, and a journal entry as `Journal::write` writes it. (Every state and journal file the
/// unit tests write or read is also held to serde_json, in `statefile`.)
#[test]
fn camguards_own_files_read_as_serde_json_reads_them() {
    use camguard::apply::journal::{Before, Entry, Failure, Journal, State};
    use camguard::facts::{Facts, Inventory};
    use camguard::source::{offline, RootDir};
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots: Vec<PathBuf> = ["examples", "../shared/corpus"]
        .iter()
        .flat_map(|d| std::fs::read_dir(repo.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("etc/config").is_dir())
        .collect();
    roots.sort();
    assert!(roots.len() >= 9, "{roots:?}");
    let mut written = 0;
    for root in &roots {
        let snap = offline::read(&RootDir::open(root).unwrap(), NOW, None, &[]);
        let inventory = Inventory::build(&snap);
        let facts = Facts::new(&snap, &inventory);
        let (report, plan) = camguard::plan::report_and_plan(&facts);
        let devices: Vec<_> = camguard::views::devices(&facts).collect();
        let texts = [
            camguard::report::json(&report).into_bytes(),
            camguard::encode::to_vec_pretty(&plan).unwrap(),
            camguard::encode::to_vec(&snap).unwrap(),
            camguard::encode::to_vec_pretty(&inventory).unwrap(),
            camguard::encode::to_vec(&devices).unwrap(),
            camguard::encode::to_vec(&camguard::views::mappings_page(&facts, 0, usize::MAX))
                .unwrap(),
            camguard::encode::to_vec(&camguard::views::forwards(&facts)).unwrap(),
        ];
        for text in texts {
            assert!(same(&root.display().to_string(), &text));
            written += 1;
        }
        // A journal entry for the plan, as the journal writes it.
        let dir = std::env::temp_dir().join(format!("camguard-json-{}", std::process::id()));
        let journal = Journal::new(&dir);
        let entry = Entry {
            id: journal.new_id(NOW),
            time: NOW,
            reason: "enforce".into(),
            state: State::Partial,
            before: vec![
                Before::Option {
                    config: "firewall".into(),
                    section: "cfg0c3837".into(),
                    option: "name \"\u{1}\u{7f}é😀".into(),
                    value: None,
                },
                Before::Order {
                    config: "upnpd".into(),
                    sections: vec!["a".into(), "b\\".into()],
                },
            ],
            applied: (0..plan.len()).collect(),
            failed: vec![Failure {
                action: 0,
                error: "rpcd said\nno".into(),
            }],
            pending: vec![0],
            continued_in: Some("20261125T120000Z-2".into()),
            notes: vec!["\u{feff}".into()],
            actions: plan,
        };
        journal.write(&entry).unwrap();
        let file = std::fs::read(journal.dir().join(format!("{}.json", entry.id))).unwrap();
        assert!(same("journal entry", &file));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(written >= 60, "{written}");
}

fn deep(open: &str, close: &str, n: usize) -> String {
    format!("{}1{}", open.repeat(n), close.repeat(n))
}

#[test]
fn hostile_inputs_are_refused_or_read_as_serde_json_does() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    // Nesting around serde_json's limit of 128.
    for n in [1, 126, 127, 128, 129, 1000] {
        inputs.push(deep("[", "]", n).into_bytes());
        inputs.push(deep("{\"a\":", "}", n).into_bytes());
        inputs.push(deep("[{\"a\":", "}]", n / 2).into_bytes());
        inputs.push("[".repeat(n).into_bytes());
    }
    let text: &[&str] = &[
        // Numbers: the edges of u64 and i64, -0, out of range, underflow, long digits.
        "0",
        "-0",
        "-0.0",
        "-0e3",
        "0e99999999999",
        "-0e-99999999999",
        "18446744073709551615",
        "18446744073709551616",
        "184467440737095516150",
        "18446744073709551615.5",
        "1844674407370955161.5e1",
        "-9223372036854775808",
        "-9223372036854775809",
        "-18446744073709551615",
        "-18446744073709551616",
        "9223372036854775807",
        "1e308",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.797693134862315807e308",
        "1.7976931348623159e308",
        "1e309",
        "1e400",
        "-1e400",
        "1e-400",
        "4.9e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "1e-2147483648",
        "1e2147483647",
        "1e2147483648",
        "1e-2147483649",
        "0.1",
        "0.30000000000000004",
        "1E+2",
        "1e-0",
        "123456789012345678901234567890",
        "0.000000000000000000000000000000000000000001",
        "2.2250738585072011e-308",
        "2.2250738585072014e-308",
        "9007199254740993",
        "9007199254740993.0",
        "1.00000000000000011102230246251565404236316680908203125",
        "01",
        "-01",
        "00",
        "-",
        "-a",
        "1.",
        "1.e1",
        ".1",
        "+1",
        "1e",
        "1e+",
        "1e-",
        "1ea",
        "1.5x",
        "Infinity",
        "-Infinity",
        "NaN",
        "0x10",
        "[1.]",
        "[1e]",
        "[-]",
        // Strings and escapes.
        r#""\u0041\u00e9\u4e2d""#,
        r#""\ud83d\ude00""#,
        r#""\ud83d""#,
        r#""\ude00""#,
        r#""\ud83dx""#,
        r#""\ud83d\u0041""#,
        r#""\ud83d\ud83d\ude00""#,
        r#""\ud83d\n""#,
        r#""\ud83d\"#,
        r#""\ud83d\u"#,
        r#""\u00""#,
        r#""\u00zz""#,
        r#""\uGGGG""#,
        r#""\x""#,
        r#""\""#,
        r#""\/\b\f\n\r\t\"\\""#,
        r#""\U0041""#,
        "\"\u{7f}\u{80}\u{10ffff}\"",
        "\"tab\there\"",
        "\"a\nb\"",
        "\"\u{1f}\"",
        "\"unterminated",
        "\"",
        // Structure.
        "",
        " ",
        "\t\r\n {}\n",
        "\u{c}{}",
        "{} x",
        "[]]",
        "1 2",
        "{}{}",
        "null,",
        "[1,]",
        "[1,\n]",
        "[,1]",
        "[1 2]",
        "[1}",
        "[",
        "[1",
        "[1,",
        "{",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\":1,",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1:2}",
        "{,}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1,\"b\":2,\"a\":3}",
        "{\"a\":{\"x\":1},\"b\":2,\"a\":{\"y\":2}}",
        "tru",
        "trUe",
        "nul",
        "nulll",
        "falsey",
        "n",
        "[true false]",
        "\n\n  [\n    1,\n    x\n  ]",
        "[\n1,\n2\n\n",
        "{\"a\":\n\"b\"\n,\n}",
        "[\"a\"\n\"b\"]",
    ];
    inputs.extend(text.iter().map(|t| t.as_bytes().to_vec()));
    let bytes: &[&[u8]] = &[
        b"\"\xff\"",
        b"\"a\xc3\"",
        b"\"\xc0\xaf\"",
        b"\"\xed\xa0\x80\"",
        b"\"\xf4\x90\x80\x80\"",
        b"\xff",
        b"\"\\n\xff\"",
        b"\"\\u00e9\xff\"",
        b"\"ok\",\xff",
        b"{\"\xff\":1}",
        b"\xef\xbb\xbf{}",
        b"\xef\xbb\xbf",
        b"\0",
        b"\"a\0b\"",
        b"{}\0",
        b"[\0]",
        b"[1,\xc3\xa9]",
    ];
    inputs.extend(bytes.iter().map(|b| b.to_vec()));
    // Many members, repeated keys among them, past the map's index.
    let mut members: Vec<String> = (0..2000).map(|i| format!("\"k{}\":{i}", i % 700)).collect();
    inputs.push(format!("{{{}}}", members.join(",")).into_bytes());
    members.reverse();
    inputs.push(format!("{{{}}}", members.join(",\n")).into_bytes());
    let mut read = 0;
    for input in &inputs {
        read += usize::from(same("hostile", input));
    }
    assert!(
        read > 40 && read < inputs.len() - 60,
        "{read} of {}",
        inputs.len()
    );
}

/// A random JSON text: every kind of value, nested, with whitespace, escapes, repeated keys
/// (from a small pool, so objects also grow past the map's index) and numbers of every shape.
fn document(rng: &mut Rng, depth: usize, out: &mut String) {
    let space = |rng: &mut Rng, out: &mut String| {
        out.push_str(rng.pick::<&str>(&["", "", "", " ", "\n", "\t", "\r\n  "]));
    };
    space(rng, out);
    match rng.below(if depth == 0 { 4 } else { 7 }) {
        0 => out.push_str(rng.pick::<&str>(&["null", "true", "false"])),
        1 | 2 => number(rng, out),
        3 => string(rng, out),
        4 | 5 => {
            out.push('{');
            let n = rng.pick(&[0, 1, 3, 12, 40]);
            for i in 0..*n {
                if i > 0 {
                    out.push(',');
                }
                space(rng, out);
                let key = format!("k{}", rng.below(20));
                if rng.chance(20) {
                    string(rng, out);
                } else {
                    out.push_str(&format!("\"{key}\""));
                }
                space(rng, out);
                out.push(':');
                document(rng, depth - 1, out);
            }
            space(rng, out);
            out.push('}');
        }
        _ => {
            out.push('[');
            for i in 0..rng.below(6) {
                if i > 0 {
                    out.push(',');
                }
                document(rng, depth - 1, out);
            }
            space(rng, out);
            out.push(']');
        }
    }
    space(rng, out);
}

fn digits(rng: &mut Rng, n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(char::from(b'0' + rng.below(10) as u8));
    }
}

fn number(rng: &mut Rng, out: &mut String) {
    if rng.chance(30) {
        out.push('-');
    }
    if rng.chance(10) {
        out.push_str(rng.pick::<&str>(&[
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775808",
            "9223372036854775809",
            "1844674407370955161",
            "0",
        ]));
    } else if rng.chance(20) {
        out.push('0');
    } else {
        out.push(char::from(b'1' + rng.below(9) as u8));
        let n = *rng.pick(&[0, 1, 3, 15, 18, 19, 20, 25, 40]);
        digits(rng, n, out);
    }
    if rng.chance(35) {
        out.push('.');
        let n = *rng.pick(&[1, 2, 5, 16, 17, 20, 30]);
        digits(rng, n, out);
    }
    if rng.chance(35) {
        out.push(*rng.pick(&['e', 'E']));
        out.push_str(rng.pick::<&str>(&["", "+", "-"]));
        let n = *rng.pick(&[1, 1, 2, 3, 3, 10, 12]);
        digits(rng, n, out);
    }
}

fn string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    for _ in 0..rng.below(10) {
        match rng.below(12) {
            0 => out.push_str(
                rng.pick::<&str>(&["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]),
            ),
            1 => {
                let c = loop {
                    let c = rng.below(0x10000) as u32;
                    if !(0xd800..0xe000).contains(&c) {
                        break c;
                    }
                };
                out.push_str(&format!("\\u{c:04x}"));
            }
            2 => {
                let c = 0x10000 + rng.below(0x100000) as u32;
                let (hi, lo) = (0xd800 + ((c - 0x10000) >> 10), 0xdc00 + (c & 0x3ff));
                out.push_str(&format!("\\u{hi:04X}\\u{lo:04x}"));
            }
            3 => out
                .push_str(rng.pick::<&str>(&["é", "监控", "😀", "\u{7f}", "\u{feff}", "\u{202e}"])),
            _ => out.push(char::from(b'a' + rng.below(26) as u8)),
        }
    }
    out.push('"');
}

/// One random change to a document: a byte dropped, added, changed or repeated, or the text cut.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    const INTERESTING: &[u8] = b"\"\\{}[],:0-+eE.nu \n\t\x00\x1f\x7f\xff\xc3\xed";
    let at = rng.below(bytes.len() + 1);
    match rng.below(5) {
        0 if at < bytes.len() => {
            bytes.remove(at);
        }
        1 => bytes.insert(at, *rng.pick(INTERESTING)),
        2 if at < bytes.len() => bytes[at] = *rng.pick(INTERESTING),
        3 => bytes.truncate(at),
        _ => {
            let end = (at + 1 + rng.below(8)).min(bytes.len());
            let piece = bytes[at.min(end)..end].to_vec();
            bytes.splice(at..at, piece);
        }
    }
}

#[test]
fn random_documents_read_as_serde_json_reads_them() {
    let mut rng = Rng(0x6a73_6f6e_2026);
    let mut read = 0;
    for i in 0..3000 {
        let mut text = String::new();
        let depth = rng.below(6);
        document(&mut rng, depth, &mut text);
        read += usize::from(same(&format!("document {i}"), text.as_bytes()));
    }
    assert!(read > 2000, "{read}");
    for i in 0..3000 {
        let mut text = String::new();
        number(&mut rng, &mut text);
        assert!(same(&format!("number {i}"), text.as_bytes()) || text.contains(['e', 'E']));
    }
}

#[test]
fn mutated_documents_are_refused_or_read_as_serde_json_does() {
    let mut rng = Rng(0x6d75_7461_7465);
    let mut seeds: Vec<Vec<u8>> = corpus()
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| b.len() < 64 * 1024)
        .collect();
    for _ in 0..200 {
        let mut text = String::new();
        document(&mut rng, 4, &mut text);
        seeds.push(text.into_bytes());
    }
    let (mut read, mut refused) = (0, 0);
    for i in 0..4000 {
        let mut bytes = rng.pick(&seeds).clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut bytes);
        }
        if same(&format!("mutation {i}"), &bytes) {
            read += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        read > 200 && refused > 2000,
        "{read} read, {refused} refused"
    );
}

/// The map keeps serde_json's `preserve_order` behaviour under every operation camguard uses:
/// the order members come in, a repeated key's first place and last value, `remove` moving the
/// last member into the gap, `shift_remove` closing it, `retain`; below and past its index.
#[test]
fn the_map_keeps_serde_jsons_order_under_every_operation() {
    let mut rng = Rng(0x6d61_7073);
    for round in 0..300 {
        let mut ours: Map<String, Value> = Map::new();
        let mut theirs = serde_json::Map::new();
        let keys = 1 + rng.below(if round % 2 == 0 { 12 } else { 300 });
        for step in 0..rng.below(600) {
            let key = format!("k{}", rng.below(keys));
            match rng.below(10) {
                0 => assert_eq!(ours.remove(&key).is_some(), theirs.remove(&key).is_some()),
                1 => assert_eq!(
                    ours.shift_remove(&key).is_some(),
                    theirs.shift_remove(&key).is_some()
                ),
                2 if rng.chance(10) => {
                    let cut = rng.below(keys);
                    let keep =
                        |k: &String| k.len() % 2 == 0 || k[1..].parse::<usize>().unwrap() < cut;
                    ours.retain(|k, _| keep(k));
                    theirs.retain(|k, _| keep(k));
                }
                3 => {
                    assert_eq!(
                        ours.get(&key).map(|v| v.as_u64()),
                        theirs.get(&key).map(|v| v.as_u64())
                    );
                    if let (Some(a), Some(b)) = (ours.get_mut(&key), theirs.get_mut(&key)) {
                        *a = Value::from(step);
                        *b = serde_json::Value::from(step);
                    }
                }
                _ => assert_eq!(
                    ours.insert(key.clone(), Value::from(step))
                        .and_then(|v| v.as_u64()),
                    theirs
                        .insert(key, serde_json::Value::from(step))
                        .and_then(|v| v.as_u64())
                ),
            }
        }
        let ours: Vec<(String, u64)> = ours
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        let theirs: Vec<(String, u64)> = theirs
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(ours, theirs, "round {round}");
    }
}

/// Values compare as serde_json's do: members in any order, whole numbers only with whole
/// numbers, -0.0 with 0.0; and index as serde_json's do.
#[test]
fn values_compare_and_index_as_serde_jsons_do() {
    let read = |t: &str| json::from_str(t).unwrap();
    assert_eq!(read(r#"{"a":1,"b":[2]}"#), read(r#"{"b":[2],"a":1}"#));
    assert_ne!(read("1"), read("1.0"));
    assert_eq!(read("-0.0"), read("0.0"));
    assert_eq!(read("-0"), read("0.0"));
    assert_ne!(read("-1"), read("-1.0"));
    assert_ne!(read(r#"{"a":1}"#), read(r#"{"a":1,"b":null}"#));
    let v = read(r#"{"a":[10,{"b":"x"}],"n":-5,"f":0.5,"t":true}"#);
    assert_eq!(v["a"][1]["b"], "x");
    assert_eq!(v["a"][0], 10);
    assert_eq!(v["n"], -5);
    assert_eq!(v["f"], 0.5);
    assert_eq!(v["t"], true);
    assert!(v["missing"]["deeper"][3].is_null());
    assert_eq!(
        v.get("a").and_then(|a| a.get(1)).and_then(|b| b.get("b")),
        Some(&Value::from("x"))
    );
    assert_eq!(v.get(0), None);
    let mut w = Value::Null;
    w["x"]["y"] = Value::from(1);
    assert_eq!(w.to_string(), r#"{"x":{"y":1}}"#);
    assert_eq!(
        format!("{w:?}"),
        format!("{:?}", serde_json::json!({"x": {"y": 1}}))
    );
}
