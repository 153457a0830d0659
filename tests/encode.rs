//! camguard's one serializer (`camguard::encode`) against serde_json's: the JSON text byte for
//! byte (`to_string_pretty`, `to_vec`) and the `Value` (`to_value`), for the example routers,
//! the OpenWrt corpus in ../shared/corpus, a journal entry with every variant, every serde form
//! camguard's types use, hostile strings and random `Value`s.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use camguard::audit::Subject;
use camguard::encode;
use camguard::facts::{Facts, Inventory};
use camguard::snapshot::Snapshot;
use camguard::source::{offline, RootDir};
use serde::Serialize;
use serde_json::{json, Map, Number, Value};

use common::{Rng, Router, NOW};

/// Every output of the new serializer equals serde_json's for `value`.
#[track_caller]
fn same_as_serde_json<T: Serialize + ?Sized>(what: &str, value: &T) {
    let pretty = serde_json::to_string_pretty(value).unwrap();
    assert_eq!(
        encode::to_string_pretty(value).unwrap(),
        pretty,
        "{what}: pretty"
    );
    assert_eq!(
        encode::to_vec_pretty(value).unwrap(),
        pretty.as_bytes(),
        "{what}"
    );
    let mut streamed = Vec::new();
    encode::to_writer_pretty(&mut streamed, value).unwrap();
    assert_eq!(streamed, pretty.as_bytes(), "{what}: streamed");
    let compact = serde_json::to_vec(value).unwrap();
    assert_eq!(encode::to_vec(value).unwrap(), compact, "{what}: compact");
    assert_eq!(
        encode::to_string(value).unwrap().as_bytes(),
        compact,
        "{what}"
    );
    let tree = serde_json::to_value(value).unwrap();
    let ours = encode::to_value(value).unwrap();
    // camguard's `Value` seen through serde_json's serializer: number for number.
    assert_eq!(serde_json::to_value(&ours).unwrap(), tree, "{what}: value");
    // Equal maps can differ in order; their text cannot.
    assert_eq!(
        serde_json::to_vec(&ours).unwrap(),
        serde_json::to_vec(&tree).unwrap(),
        "{what}: value order"
    );
}

/// Everything camguard serialises of one router: what it read, the inventory, the report, the
/// plan and the daemon's list replies.
fn same_for_router(what: &str, snap: &Snapshot) {
    let inventory = Inventory::build(snap);
    let facts = Facts::new(snap, &inventory);
    let (report, plan) = camguard::plan::report_and_plan(&facts);
    same_as_serde_json(&format!("{what}: snapshot"), snap);
    same_as_serde_json(&format!("{what}: inventory"), &inventory);
    same_as_serde_json(&format!("{what}: report"), &report);
    same_as_serde_json(&format!("{what}: plan"), &plan);
    for f in &report.findings {
        same_as_serde_json(&format!("{what}: evidence of {}", f.id), &f.evidence);
    }
    let devices: Vec<_> = camguard::views::devices(&facts).collect();
    same_as_serde_json(&format!("{what}: devices"), &devices);
    let mappings = camguard::views::mappings_page(&facts, 0, usize::MAX);
    same_as_serde_json(&format!("{what}: mappings"), &mappings);
    same_as_serde_json(
        &format!("{what}: forwards"),
        &camguard::views::forwards(&facts),
    );
    // The report `camguard audit --json` prints.
    assert_eq!(
        camguard::report::json(&report),
        serde_json::to_string_pretty(&report).unwrap() + "\n",
        "{what}"
    );
}

fn root_snapshot(root: &Path) -> Snapshot {
    offline::read(&RootDir::open(root).unwrap(), NOW, None, &[])
}

#[test]
fn the_example_routers_encode_as_serde_json_encodes_them() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let root = entry.unwrap().path();
        if root.join("etc").is_dir() {
            same_for_router(&root.display().to_string(), &root_snapshot(&root));
            seen += 1;
        }
    }
    assert!(seen >= 3, "{seen} example routers");
}

#[test]
fn the_openwrt_corpus_encodes_as_serde_json_encodes_it() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut roots: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("../shared/corpus is there (CI has it too)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("etc/config/firewall").is_file())
        .collect();
    roots.sort();
    assert!(roots.len() >= 6, "{roots:?}");
    for root in roots {
        same_for_router(&root.display().to_string(), &root_snapshot(&root));
    }
}

/// Owner- and LAN-written text with everything JSON escapes, and everything it must not.
const HOSTILE: &[&str] = &[
    "",
    "quote \" backslash \\ slash / ",
    "controls \u{0}\u{1}\u{7}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{e}\u{1b}\u{1f}\u{7f} end",
    "unicode caméra 监控 \u{202e}bidi\u{202c} \u{1F4F7} \u{feff}",
    "<script>alert('x')</script>",
    "\\u0000 not an escape",
];

#[test]
fn a_router_full_of_hostile_text_encodes_as_serde_json_encodes_it() {
    let mut leases = String::new();
    let mut forwards = String::new();
    for (i, text) in HOSTILE.iter().enumerate() {
        let port = 8000 + i;
        leases.push_str(&format!("TCP:{port}:192.168.1.{}:554:0:{text}\n", 20 + i));
        forwards.push_str(&common::redirect(&[
            ("name", &text.replace('\'', "")),
            ("src", "wan"),
            ("src_dport", &port.to_string()),
            ("dest_ip", &format!("192.168.1.{}", 20 + i)),
            ("dest_port", "554"),
        ]));
    }
    let router = Router::new()
        .config("upnpd", &common::upnpd(Some("1")))
        .append("firewall", &forwards)
        .dhcp_leases(
            "1795700000 4c:bd:8f:22:10:aa 192.168.1.20 cam\u{1b}[31m\"era *\n\
             1795700000 00:00:48:00:00:01 192.168.1.21 caméra-监控 *\n",
        )
        .leases(&leases);
    same_for_router("hostile", &router.snapshot());
    same_as_serde_json("hostile strings", HOSTILE);
    for text in HOSTILE {
        same_as_serde_json("one hostile string", text);
    }
}

/// A journal entry with every variant of what it keeps: the file camguard writes before it
/// changes anything, and reads back on revert.
#[test]
fn a_journal_entry_encodes_as_serde_json_encodes_it() {
    use camguard::apply::journal::{Fingerprint, KeptBytes};
    use camguard::apply::{Before, Entry, Failure, State};
    use camguard::plan::{Action, FindingRef, Step, UciValue};
    use camguard::ports::Protocol;
    let addr: std::net::IpAddr = "192.168.1.31".parse().unwrap();
    let list = UciValue::List(vec!["a".into(), "b\"\n".into()]);
    let before = vec![
        Before::Option {
            config: "upnpd".into(),
            section: "config".into(),
            option: "enabled".into(),
            value: Some("1".into()),
        },
        Before::Option {
            config: "upnpd".into(),
            section: "config".into(),
            option: "x".into(),
            value: None,
        },
        Before::SectionTail {
            config: "firewall".into(),
            section: "cfg01".into(),
            options: vec![("name".into(), "x".into()), ("proto".into(), list.clone())],
        },
        Before::AddedSection {
            config: "firewall".into(),
            section: "camguard_x".into(),
        },
        Before::DeletedSection {
            config: "firewall".into(),
            section: "camguard_y".into(),
            r#type: "rule".into(),
            values: vec![],
        },
        Before::Order {
            config: "firewall".into(),
            sections: vec!["a".into(), "b".into()],
        },
        Before::Service {
            name: "miniupnpd".into(),
            enabled: Some(true),
            running: None,
        },
        Before::File {
            path: "/tmp/f".into(),
            content: "x\n\ty \u{1}".into(),
        },
        Before::LeaseLines {
            path: "/var/run/miniupnpd.leases".into(),
            lines: vec!["UDP:1:192.168.1.31:1:0:x".into()],
            after: vec![None, Some("UDP:2:192.168.1.31:2:0:y".into())],
        },
        Before::FileBytes {
            path: "/etc/config/upnpd".into(),
            config: Some("upnpd".into()),
            bytes: Some(KeptBytes(vec![0xff, 0])),
            size: 2,
            committed: Some(Fingerprint::of(b"x")),
        },
        Before::FileBytes {
            path: "/etc/config/firewall".into(),
            config: None,
            bytes: Some(KeptBytes(b"text".to_vec())),
            size: 4,
            committed: None,
        },
    ];
    let subjects = [
        Subject::Router,
        Subject::Service {
            name: "miniupnpd".into(),
        },
        Subject::Config {
            config: "upnpd".into(),
        },
        Subject::Section {
            config: "firewall".into(),
            section: "cfg01".into(),
            label: "x".into(),
        },
        Subject::Mapping {
            proto: Protocol::Tcp,
            ext_port: 8080,
            int_addr: addr,
            int_port: 80,
        },
        Subject::Pinhole {
            proto: Protocol::Udp,
            int_client: "fd00::2".parse().unwrap(),
            int_port: 9,
        },
        Subject::Device {
            ip: Some(addr),
            mac: Some("4c:bd:8f:00:00:01".parse().unwrap()),
        },
        Subject::Device {
            ip: None,
            mac: None,
        },
    ];
    let steps = [
        Step::UciSet {
            config: "upnpd".into(),
            section: "config".into(),
            option: "enabled".into(),
            value: "0".into(),
        },
        Step::UciDelete {
            config: "firewall".into(),
            section: "camguard_x".into(),
            option: None,
        },
        Step::UciAdd {
            config: "firewall".into(),
            r#type: "rule".into(),
            name: "camguard_x".into(),
            values: [("proto".to_owned(), list), ("x".to_owned(), "y".into())].into(),
        },
        Step::UciOrder {
            config: "firewall".into(),
            sections: vec![],
        },
        Step::Service {
            name: "miniupnpd".into(),
            action: "stop".into(),
        },
        Step::TruncateFile {
            path: "/tmp/l".into(),
        },
        Step::RevokeMapping {
            proto: Protocol::Udp,
            ext_port: 8080,
            int_addr: addr,
            int_port: 80,
            nft_handles: vec![("upnp_forward".into(), 7)],
            rebuild: true,
        },
        Step::RestoreMappings { lost: 3 },
    ];
    let mut actions: Vec<Action> = steps
        .into_iter()
        .map(|step| Action {
            step,
            why: "because".into(),
            finding: None,
        })
        .collect();
    actions.extend(subjects.into_iter().map(|subject| Action {
        step: Step::RestoreMappings { lost: 0 },
        why: String::new(),
        finding: Some(FindingRef {
            id: "x".into(),
            subject,
        }),
    }));
    let entry = Entry {
        id: "20261125T120000Z-1".into(),
        time: u64::MAX,
        reason: "enforce".into(),
        state: State::Partial,
        actions,
        before,
        applied: vec![0],
        failed: vec![Failure {
            action: 1,
            error: "e".into(),
        }],
        pending: vec![],
        continued_in: None,
        notes: vec!["n".into()],
    };
    same_as_serde_json("journal entry", &entry);
    for b in &entry.before {
        assert_eq!(
            serde_json::to_value(b.listed()).unwrap(),
            {
                let mut v = serde_json::to_value(b).unwrap();
                if let (Before::FileBytes { bytes, .. }, Some(map)) = (b, v.as_object_mut()) {
                    map.remove("bytes");
                    map.insert("kept".into(), bytes.is_some().into());
                }
                v
            },
            "{b:?}"
        );
    }
}

/// Every serde form, at the top and nested, including the ones camguard's types do not use
/// yet: a type added later must not change what the files and replies say.
#[test]
fn every_serde_form_encodes_as_serde_json_encodes_it() {
    #[derive(Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
    #[serde(rename_all = "snake_case")]
    enum Key {
        Lan,
        Wan,
    }
    #[derive(Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
    struct Named(String);
    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct Pair(u8, i8);
    #[derive(Serialize)]
    enum External {
        Unit,
        Newtype(u16),
        Empty(),
        Tuple(u16, String),
        Struct { a: Option<u8>, b: Vec<u8> },
        EmptyStruct {},
    }
    #[derive(Serialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Internal {
        Unit,
        Struct { port: u16, name: String },
        Newtype(Inner),
    }
    #[derive(Serialize)]
    #[serde(tag = "t", content = "c")]
    enum Adjacent {
        Unit,
        Newtype(String),
        Tuple(u8, u8),
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Untagged {
        Number(i64),
        Text(String),
        Inner(Inner),
        Nothing,
    }
    #[derive(Serialize)]
    struct Inner {
        x: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u32>,
    }
    #[derive(Serialize)]
    struct Flat {
        before: bool,
        #[serde(flatten)]
        inner: Inner,
        #[serde(flatten)]
        extra: BTreeMap<String, Value>,
        after: Option<Option<u8>>,
    }
    #[derive(Serialize)]
    struct All {
        unit: Unit,
        unit_tuple: (),
        pair: Pair,
        named: Named,
        tuple: (u8, &'static str, bool),
        chars: Vec<char>,
        extremes: (i64, i64, u64, i8, u8, i16, u16, i32, u32),
        externals: Vec<External>,
        internals: Vec<Internal>,
        adjacents: Vec<Adjacent>,
        untagged: Vec<Untagged>,
        flat: Flat,
        none: Option<u8>,
        some_none: Option<Option<u8>>,
        some_some: Option<Option<u8>>,
        some_empty: Option<Vec<u8>>,
        empty_vec: Vec<u8>,
        empty_map: BTreeMap<String, u8>,
        empty_nested: Vec<Vec<BTreeMap<String, Vec<u8>>>>,
        by_port: BTreeMap<u16, &'static str>,
        by_negative: BTreeMap<i32, u8>,
        by_bool: BTreeMap<bool, u8>,
        by_char: BTreeMap<char, u8>,
        by_key: BTreeMap<Key, Vec<Key>>,
        by_name: BTreeMap<Named, Named>,
        value: Value,
    }
    let all = All {
        unit: Unit,
        unit_tuple: (),
        pair: Pair(255, -128),
        named: Named("n\"ame".into()),
        tuple: (1, "two", false),
        chars: vec!['a', '"', '\\', '\n', '\u{0}', 'é', '\u{1F4F7}'],
        extremes: (
            i64::MIN,
            i64::MAX,
            u64::MAX,
            i8::MIN,
            u8::MAX,
            i16::MIN,
            u16::MAX,
            i32::MIN,
            u32::MAX,
        ),
        externals: vec![
            External::Unit,
            External::Newtype(7),
            External::Empty(),
            External::Tuple(1, "x".into()),
            External::Struct { a: None, b: vec![] },
            External::Struct {
                a: Some(1),
                b: vec![1, 2],
            },
            External::EmptyStruct {},
        ],
        internals: vec![
            Internal::Unit,
            Internal::Struct {
                port: 554,
                name: "rtsp".into(),
            },
            Internal::Newtype(Inner {
                x: 1,
                skipped: Some(2),
            }),
        ],
        adjacents: vec![
            Adjacent::Unit,
            Adjacent::Newtype("n".into()),
            Adjacent::Tuple(1, 2),
        ],
        untagged: vec![
            Untagged::Number(-1),
            Untagged::Text("t".into()),
            Untagged::Inner(Inner {
                x: 0,
                skipped: None,
            }),
            Untagged::Nothing,
        ],
        flat: Flat {
            before: true,
            inner: Inner {
                x: 3,
                skipped: None,
            },
            extra: [("e".to_owned(), json!([{}, []]))].into(),
            after: Some(None),
        },
        none: None,
        some_none: Some(None),
        some_some: Some(Some(0)),
        some_empty: Some(vec![]),
        empty_vec: vec![],
        empty_map: BTreeMap::new(),
        empty_nested: vec![
            vec![],
            vec![BTreeMap::new()],
            vec![[("k".into(), vec![])].into()],
        ],
        by_port: [(554, "rtsp"), (80, "http")].into(),
        by_negative: [(-1, 1), (0, 0)].into(),
        by_bool: [(true, 1), (false, 0)].into(),
        by_char: [('k', 1), ('\n', 2)].into(),
        by_key: [(Key::Lan, vec![Key::Wan]), (Key::Wan, vec![])].into(),
        by_name: [(Named("a\u{1}b".into()), Named("".into()))].into(),
        value: json!({"z": 1, "a": [null, true, -0.0, 0.1, 1e300, 5e-324, 2.5, -7, 18446744073709551615u64],
            "nested": {"empty": {}, "list": [[]], "s": "\u{1}"}}),
    };
    same_as_serde_json("every form", &all);
    // At the top as well as nested.
    same_as_serde_json("unit variant", &External::Unit);
    same_as_serde_json("newtype variant", &External::Newtype(1));
    same_as_serde_json("tuple variant", &External::Tuple(1, "x".into()));
    same_as_serde_json("struct variant", &External::Struct { a: None, b: vec![] });
    same_as_serde_json("empty struct variant", &External::EmptyStruct {});
    same_as_serde_json("unit", &());
    same_as_serde_json("none", &None::<u8>);
    same_as_serde_json("number", &-5i32);
    same_as_serde_json("empty array", &Vec::<u8>::new());
    same_as_serde_json("empty object", &Map::new());
    same_as_serde_json("float", &0.30000000000000004f64);
    // serde_json's writer takes `Some(key)` as the key, its to_value refuses it; the text is
    // what files and replies carry.
    let by_some: BTreeMap<Option<u8>, u8> = [(Some(1), 1)].into();
    assert_eq!(
        encode::to_vec_pretty(&by_some).unwrap(),
        serde_json::to_vec_pretty(&by_some).unwrap()
    );
}

/// What neither serializer can write as JSON stays an error, one a caller can tell apart.
#[test]
fn a_key_that_cannot_name_a_member_is_refused() {
    let by_pair: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
    assert!(serde_json::to_vec(&by_pair).is_err());
    assert!(matches!(
        encode::to_vec(&by_pair),
        Err(encode::Error::KeyNotAName(_))
    ));
    assert!(matches!(
        encode::to_value(&by_pair),
        Err(encode::Error::KeyNotAName(_))
    ));
    let by_unit: BTreeMap<(), u8> = [((), 3)].into();
    assert!(serde_json::to_vec(&by_unit).is_err());
    assert!(matches!(
        encode::to_vec(&by_unit),
        Err(encode::Error::KeyNotAName(_))
    ));
}

/// A random JSON value: strings of ASCII (control characters and escapes often), some
/// non-ASCII, integers and floats of every size, nesting with empty arrays and objects.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 4 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => Value::from(rng.next() as i64 >> rng.below(64)),
        3 => Value::from(rng.next() >> rng.below(64)),
        4 => {
            let f = f64::from_bits(rng.next());
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        5 => Value::String(random_text(rng)),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| (random_text(rng), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

fn random_text(rng: &mut Rng) -> String {
    const OTHER: &[char] = &['é', '监', '\u{202e}', '\u{1F4F7}', '\u{7f}', '\u{85}', '/'];
    (0..rng.below(12))
        .map(|_| {
            if rng.chance(80) {
                char::from(rng.below(0x80) as u8)
            } else {
                *rng.pick(OTHER)
            }
        })
        .collect()
}

#[test]
fn random_values_encode_as_serde_json_encodes_them() {
    let mut rng = Rng(0x5eed_cafe);
    for _ in 0..3000 {
        let v = random_value(&mut rng, 0);
        same_as_serde_json(&v.to_string(), &v);
    }
}

/// A `Serialize` impl that writes a map value without its key is an error in every sink
/// (serde_json's writer would write broken JSON, its to_value panic).
#[test]
fn a_value_without_a_key_is_an_error() {
    struct Broken;
    impl Serialize for Broken {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(None)?;
            m.serialize_value(&1)?;
            m.end()
        }
    }
    assert!(matches!(
        encode::to_vec(&Broken),
        Err(encode::Error::ValueWithoutKey)
    ));
    assert!(matches!(
        encode::to_value(&Broken),
        Err(encode::Error::ValueWithoutKey)
    ));
    assert!(matches!(
        camguard::bus::blob::to_blobmsg(&Broken),
        Err(encode::Error::ValueWithoutKey)
    ));
}
