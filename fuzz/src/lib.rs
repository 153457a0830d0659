//! What the fuzz targets share: the properties every parser of untrusted input must keep.
//!
//! A target fails on a panic (libFuzzer's crash), on a timeout or memory blow-up (the limits
//! scripts/fuzz passes), and on any of these assertions.
use serde::Serialize;
use serde_json::Value;

/// The time snapshots are judged at (the tests' `common::NOW`).
pub const NOW: u64 = 1_795_608_000;

/// Text that came from the LAN or a foreign file and reaches a terminal, JSON, ubus or LuCI must
/// hold no raw control character (camguard cleans it where it enters, see `camguard::text`).
pub fn assert_clean(text: &str, what: &str) {
    assert!(
        !text.chars().any(char::is_control),
        "{what} {text:?} holds a raw control character"
    );
}

/// Line-oriented parse results: bad-line numbers exist, messages are clean, and (for formats of
/// one entry per line) there are no more results than lines.
pub fn check_parsed<T>(parsed: &camguard::formats::linefile::Parsed<T>, input: &[u8], one_per_line: bool) {
    let lines = input.split(|&b| b == b'\n').count();
    for bad in &parsed.bad_lines {
        assert!((1..=lines).contains(&bad.line), "bad line {} of {lines}", bad.line);
        assert!(!bad.message.is_empty(), "a bad line without a message");
        assert_clean(&bad.message, "error message");
    }
    if one_per_line {
        assert!(
            parsed.entries.len() + parsed.bad_lines.len() <= lines,
            "more results than lines"
        );
    }
}

/// serde_json's view of a value as it must come back from blobmsg: libblobmsg_json's rules
/// (integers are signed 64-bit, larger unsigned ones clamp to i64::MAX; blobmsg strings are C
/// strings, so camguard's encoder writes NUL as the text `\x00`).
pub fn as_blobmsg_sees_it(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.as_u64().is_some_and(|u| u > i64::MAX as u64) => {
            Value::from(i64::MAX)
        }
        Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "\\x00")),
        Value::Array(items) => Value::Array(items.iter().map(as_blobmsg_sees_it).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), as_blobmsg_sees_it(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What the daemon does with a reply: encode it with `camguard::bus::blob::to_blobmsg`. The
/// encoding must succeed for an object and decode (through ubus-zero, as rpcd and the ubus CLI
/// would) to the same JSON serde_json makes of it.
pub fn assert_blob_round_trip<T: Serialize + ?Sized>(value: &T) {
    let json = serde_json::to_value(value).expect("serde_json serialises it");
    let blob = camguard::bus::blob::to_blobmsg(value).expect("an object always encodes");
    let back = ubus::json::blobmsg_to_json(blob.contents()).expect("our own encoding decodes");
    let want = as_blobmsg_sees_it(&json);
    assert!(
        same_json(&back, &want),
        "blobmsg round trip changed the value:\n  got {back}\n want {want}"
    );
}

/// Equal JSON, except that doubles may differ in the last bit: ubus-zero prints a blobmsg double
/// with 17 digits and serde_json (without its `float_roundtrip` feature) reads that back up to
/// one ULP off. camguard takes no double arguments and writes none, so that slack is upstream's
/// and harmless; everything else must match exactly.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= x.abs().max(y.abs()) * 4.0 * f64::EPSILON
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((kx, vx), (ky, vy))| kx == ky && same_json(vx, vy))
        }
        _ => a == b,
    }
}
