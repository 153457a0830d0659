//! camguard's values straight into blobmsg: replies are encoded from camguard's own types
//! without building a JSON tree first. A reply with 5,000 mappings is 75,000 values; allocating
//! each as a `json::Value` and converting that again cost more than computing the answer.
//!
//! Encoding follows libblobmsg_json, as ubus-zero's JSON path does: integers as INT64, strings,
//! booleans as BOOL, null as an empty UNSPEC, objects as tables and sequences as arrays.
//!
//! The other way, [`table_to_value`] reads a reply or a call's arguments straight into a
//! [`Value`], as libblobmsg_json's `blobmsg_format_json` reads them, without the JSON
//! text ubus-zero's `blobmsg_to_json` writes and parses again (and the second JSON parser that
//! costs on the router).
use ubus::{BlobBuilder, BlobIter, BlobMsgTable, BlobValue, UbusError};

use crate::encode::{encode, Error, Sink};
use crate::json::{Map, Number, Value};

/// Deepest nesting of tables and arrays read, as ubus-zero bounds it: a reply is the callee's,
/// and a call's arguments any local process's.
const MAX_DEPTH: usize = 64;

/// A table's contents (a reply, a call's arguments) as a JSON object. Every attribute is checked
/// first: a malformed one, or a double that is not finite, refuses the whole message.
pub fn table_to_value(table: &[u8]) -> Result<Value, UbusError> {
    read_table(table, 0).map(Value::Object)
}

fn read_table(buf: &[u8], depth: usize) -> Result<Map<String, Value>, UbusError> {
    let mut map = Map::new();
    let mut attrs = BlobIter::new(buf);
    while let Some(attr) = attrs.try_next()? {
        // A member without a name keeps its place under "" (libblobmsg_json would drop the key).
        let value = read_value(attr.value()?, depth)?;
        map.insert(attr.name.unwrap_or_default().to_owned(), value);
    }
    Ok(map)
}

fn read_value(value: BlobValue<'_>, depth: usize) -> Result<Value, UbusError> {
    Ok(match value {
        BlobValue::String(s) => Value::String(s.to_owned()),
        // libubox writes booleans as INT8.
        BlobValue::Int8(v) => Value::Bool(v != 0),
        BlobValue::Int16(v) => Value::from(v),
        BlobValue::Int32(v) => Value::from(v),
        BlobValue::Int64(v) => Value::from(v),
        BlobValue::Double(v) => double(v)?,
        BlobValue::Table(p) => Value::Object(read_table(p, nested(depth)?)?),
        BlobValue::Array(p) => {
            let depth = nested(depth)?;
            let mut items = Vec::new();
            let mut attrs = BlobIter::new(p);
            // Names inside an array are ignored, as blobmsg_format_json ignores them.
            while let Some(attr) = attrs.try_next()? {
                items.push(read_value(attr.value()?, depth)?);
            }
            Value::Array(items)
        }
        BlobValue::Raw(_) => Value::Null,
    })
}

fn nested(depth: usize) -> Result<usize, UbusError> {
    if depth >= MAX_DEPTH {
        return Err(UbusError::Malformed("blobmsg nesting exceeds 64 levels"));
    }
    Ok(depth + 1)
}

/// A double as libblobmsg_json prints it (`%.17g`) and a JSON reader reads that back: a whole
/// number below 10^17 has no point or exponent, so it reads as an integer.
fn double(v: f64) -> Result<Value, UbusError> {
    if !v.is_finite() {
        return Err(UbusError::Malformed("non-finite double in blobmsg"));
    }
    // -0 reads back as the float -0.0, not as an integer.
    if v.fract() == 0.0 && v.abs() < 1e17 && !(v == 0.0 && v.is_sign_negative()) {
        // Exact: below 10^17, and whole.
        return Ok(Value::from(v as i64));
    }
    Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
}

/// A call's arguments (or an event's data) as a ubus table. They must be an object; a string
/// with a NUL is refused, since blobmsg would cut it short and camguard's own arguments never
/// carry one.
pub fn args_to_blobmsg(args: &Value) -> Result<BlobMsgTable, UbusError> {
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    if !args.is_object() {
        return Err(UbusError::Method(
            "ubus arguments must be a JSON object".into(),
        ));
    }
    if has_nul(args) {
        return Err(UbusError::Method("ubus strings cannot contain NUL".into()));
    }
    to_blobmsg(args).map_err(|e| UbusError::Method(e.to_string()))
}

/// Encodes a struct or map as the contents of a ubus reply table.
pub fn to_blobmsg<T: serde::Serialize + ?Sized>(value: &T) -> Result<BlobMsgTable, Error> {
    let mut b = BlobBuilder::new();
    b.open_table(None);
    // On an error the half-written tables are dropped unclosed, never finished.
    encode(
        value,
        &mut BlobSink {
            b: &mut b,
            depth: 0,
            name: String::new(),
            named: false,
        },
    )?;
    b.close_table();
    Ok(b.finish_table())
}

/// The blobmsg sink. The outermost object's members go straight into the reply table.
struct BlobSink<'b> {
    b: &'b mut BlobBuilder,
    /// Open tables and arrays, the reply's own table included.
    depth: usize,
    /// The next value's name (the key just written); one buffer, so no allocation per member.
    name: String,
    /// `name` is set: values in arrays have none.
    named: bool,
}

impl BlobSink<'_> {
    /// Writes one attribute under the pending name.
    fn put(&mut self, write: impl FnOnce(&mut BlobBuilder, Option<&str>)) -> Result<(), Error> {
        if self.depth == 0 {
            return Err(Error::ReplyNotAnObject);
        }
        let name = std::mem::take(&mut self.named).then_some(self.name.as_str());
        write(self.b, name);
        Ok(())
    }
}

impl Sink for BlobSink<'_> {
    fn begin_object(&mut self, _: Option<usize>) -> Result<(), Error> {
        // The outermost object is the reply's table, opened by to_blobmsg.
        if self.depth > 0 {
            self.put(|b, name| b.open_table(name))?;
        }
        self.depth += 1;
        Ok(())
    }

    fn end_object(&mut self) -> Result<(), Error> {
        self.depth -= 1;
        if self.depth > 0 {
            self.b.close_table();
        }
        Ok(())
    }

    fn begin_array(&mut self, _: Option<usize>) -> Result<(), Error> {
        self.put(|b, name| b.open_array(name))?;
        self.depth += 1;
        Ok(())
    }

    fn end_array(&mut self) -> Result<(), Error> {
        self.depth -= 1;
        self.b.close_array();
        Ok(())
    }

    fn key(&mut self, key: &str) -> Result<(), Error> {
        self.name.clear();
        self.name.push_str(key);
        self.named = true;
        Ok(())
    }

    fn str(&mut self, v: &str) -> Result<(), Error> {
        // blobmsg strings are C strings: an embedded NUL would cut them short.
        if v.contains('\0') {
            let v = v.replace('\0', "\\x00");
            self.put(|b, name| b.put_str(name, &v))
        } else {
            self.put(|b, name| b.put_str(name, v))
        }
    }

    fn i64(&mut self, v: i64) -> Result<(), Error> {
        self.put(|b, name| b.put_i64(name, v))
    }

    fn u64(&mut self, v: u64) -> Result<(), Error> {
        self.i64(i64::try_from(v).unwrap_or(i64::MAX))
    }

    fn f64(&mut self, v: f64) -> Result<(), Error> {
        self.put(|b, name| b.put_double(name, v))
    }

    fn bool(&mut self, v: bool) -> Result<(), Error> {
        self.put(|b, name| b.put_bool(name, v))
    }

    fn null(&mut self) -> Result<(), Error> {
        self.put(|b, name| b.put_null(name))
    }

    /// Bytes as lossy text, as replies always carried them (serde_json writes numbers).
    fn bytes(&mut self, v: &[u8]) -> Result<(), Error> {
        self.str(&String::from_utf8_lossy(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    use crate::encode::json;

    /// Whatever we encode must decode to serde_json's view, through our reader and through
    /// ubus-zero's blobmsg→JSON text→serde_json path alike.
    fn same_as_json<T: Serialize>(value: &T) {
        let blob = to_blobmsg(value).unwrap();
        let back = table_to_value(blob.contents()).unwrap();
        assert_eq!(back, crate::encode::to_value(value).unwrap());
        assert_eq!(back, ubus::json::blobmsg_to_json(blob.contents()).unwrap());
    }

    #[test]
    fn nested_tables_arrays_and_scalars_round_trip() {
        same_as_json(&json!({
            "score": 42, "ok": true, "none": null, "name": "cam <b>",
            "list": [1, "two", {"three": [3]}], "nested": {"deep": {"deeper": -7}}
        }));
    }

    #[test]
    fn report_types_round_trip() {
        #[derive(serde::Serialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        enum Subject {
            Mapping { proto: &'static str, ext_port: u16 },
            Router,
        }
        #[derive(serde::Serialize)]
        struct Row {
            subject: Subject,
            other: Subject,
            maybe: Option<u64>,
            tuple: (String, u64),
        }
        same_as_json(&Row {
            subject: Subject::Mapping {
                proto: "TCP",
                ext_port: 554,
            },
            other: Subject::Router,
            maybe: None,
            tuple: ("upnp_forward".into(), 7),
        });
    }

    #[test]
    fn map_keys_are_named_as_json_names_them() {
        #[derive(serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
        #[serde(rename_all = "snake_case")]
        enum Zone {
            Lan,
            Wan,
        }
        let by_port: std::collections::BTreeMap<u16, &str> = [(554, "rtsp"), (80, "http")].into();
        let by_zone: std::collections::BTreeMap<Zone, u8> = [(Zone::Lan, 1), (Zone::Wan, 2)].into();
        let by_name: std::collections::BTreeMap<String, bool> =
            [("cam\u{e9}ra".into(), true)].into();
        same_as_json(&json!({"by_port": by_port, "by_zone": by_zone, "by_name": by_name}));
        #[derive(serde::Serialize)]
        struct Rows {
            by_port: std::collections::BTreeMap<u16, &'static str>,
            by_zone: std::collections::BTreeMap<Zone, u8>,
        }
        same_as_json(&Rows { by_port, by_zone });
        let by_pair: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        assert!(matches!(
            to_blobmsg(&Rows2 { m: &by_pair }),
            Err(Error::KeyNotAName(_))
        ));
        #[derive(serde::Serialize)]
        struct Rows2<'a> {
            m: &'a std::collections::BTreeMap<(u8, u8), u8>,
        }
    }

    #[test]
    fn variants_options_and_empty_containers_round_trip() {
        #[derive(serde::Serialize)]
        enum Variant {
            Unit,
            Newtype(u8),
            Tuple(u8, &'static str),
            Struct { a: Option<Option<u8>>, b: Vec<u8> },
        }
        #[derive(serde::Serialize)]
        struct Row {
            variants: Vec<Variant>,
            empty_list: Vec<u8>,
            empty_table: std::collections::BTreeMap<String, u8>,
            nested: Vec<Vec<Option<u8>>>,
        }
        same_as_json(&Row {
            variants: vec![
                Variant::Unit,
                Variant::Newtype(1),
                Variant::Tuple(2, "x"),
                Variant::Struct {
                    a: Some(None),
                    b: vec![],
                },
            ],
            empty_list: vec![],
            empty_table: Default::default(),
            nested: vec![vec![], vec![None, Some(3)]],
        });
        // At the top, `{variant: ...}` is the reply's own table.
        same_as_json(&Variant::Newtype(1));
        same_as_json(&Variant::Struct {
            a: None,
            b: vec![1],
        });
        assert!(matches!(
            to_blobmsg(&Variant::Unit),
            Err(Error::ReplyNotAnObject)
        ));
    }

    #[test]
    fn a_scalar_reply_is_refused() {
        assert!(to_blobmsg(&5u32).is_err());
        assert!(to_blobmsg(&"text").is_err());
        assert!(matches!(to_blobmsg(&[1, 2]), Err(Error::ReplyNotAnObject)));
    }

    #[test]
    fn nul_cannot_cut_a_string_short() {
        let blob = to_blobmsg(&json!({ "s": "a\u{0}b" })).unwrap();
        let back = table_to_value(blob.contents()).unwrap();
        assert_eq!(back["s"], "a\\x00b");
    }

    /// ubus-zero's reader: blobmsg to JSON text, then serde_json.
    fn theirs(blob: &[u8]) -> Option<Value> {
        ubus::json::blobmsg_to_json(blob)
            .ok()
            .map(|v| crate::json::from_serde(&v))
    }

    fn table(build: impl FnOnce(&mut BlobBuilder)) -> Vec<u8> {
        BlobMsgTable::build(build).contents().to_vec()
    }

    #[test]
    fn every_blobmsg_type_reads_as_ubus_zero_reads_it() {
        let blob = table(|b| {
            b.put_str(Some("s"), "caf\u{e9} \"q\" \\ \n\u{1}");
            b.put_bool(Some("yes"), true);
            b.put_bool(Some("no"), false);
            b.put_i64(Some("neg"), -42);
            b.put_i64(Some("max"), i64::MAX);
            b.put_i32(Some("i32"), -7);
            b.put_double(Some("whole"), 3.0);
            b.put_double(Some("negative_whole"), -12.0);
            b.put_double(Some("fraction"), 0.25);
            b.put_double(Some("big"), 1e17);
            b.put_double(Some("negative_zero"), -0.0);
            b.put_null(Some("nothing"));
            b.open_table(Some("t"));
            b.put_str(None, "unnamed member");
            b.put_str(Some("dup"), "first");
            b.put_str(Some("dup"), "second");
            b.close_table();
            b.open_array(Some("a"));
            b.put_i64(None, 1);
            b.open_table(None);
            b.close_table();
            b.open_array(None);
            b.close_array();
            b.close_array();
            b.put_str(Some(""), "empty key");
        });
        let ours = table_to_value(&blob).unwrap();
        assert_eq!(Some(&ours), theirs(&blob).as_ref());
        assert_eq!(ours["whole"], json!(3));
        assert_eq!(ours["fraction"], json!(0.25));
        assert_eq!(ours["t"][""], "unnamed member");
        assert_eq!(ours["t"]["dup"], "second");
        assert_eq!(ours["a"], json!([1, {}, []]));
    }

    #[test]
    fn nesting_is_bounded_where_ubus_zero_bounds_it() {
        for levels in [63, 64, 65] {
            let blob = table(|b| {
                for _ in 0..levels {
                    b.open_table(Some("t"));
                }
                for _ in 0..levels {
                    b.close_table();
                }
            });
            assert_eq!(table_to_value(&blob).ok(), theirs(&blob), "{levels} levels");
            assert_eq!(
                table_to_value(&blob).is_ok(),
                levels <= 64,
                "{levels} levels"
            );
        }
    }

    #[test]
    fn a_non_finite_double_refuses_the_message() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let blob = table(|b| b.put_double(Some("d"), v));
            assert!(table_to_value(&blob).is_err());
            assert!(theirs(&blob).is_none());
        }
    }

    /// Names inside an array are ignored, as libblobmsg_json's blobmsg_format_json ignores
    /// them; ubus-zero writes them into its JSON text, which then fails to parse.
    #[test]
    fn names_inside_an_array_are_ignored_as_libubox_ignores_them() {
        let blob = table(|b| {
            b.open_array(Some("a"));
            b.put_str(Some("named"), "x");
            b.close_array();
        });
        assert_eq!(table_to_value(&blob).unwrap(), json!({"a": ["x"]}));
        assert!(theirs(&blob).is_none());
    }

    /// Every byte of a real-shaped reply changed, one at a time, to each of a few values: the
    /// reader agrees with ubus-zero's on every result, refusal included.
    #[test]
    fn damaged_replies_read_as_ubus_zero_reads_them() {
        let reply = to_blobmsg(&json!({
            "values": {"wan": {".type": "zone", "name": "wan", "network": ["wan", "wan6"],
                               "input": "REJECT", "masq": "1"}},
            "count": 3, "ok": true, "none": null,
        }))
        .unwrap();
        let reply = reply.contents().to_vec();
        let mut compared = 0;
        for at in 0..reply.len() {
            for byte in [0x00, 0x01, 0x03, 0x04, 0x7f, 0x80, 0xe0, 0xff] {
                let mut damaged = reply.clone();
                damaged[at] = byte;
                let ours = table_to_value(&damaged).ok();
                match theirs(&damaged) {
                    None if ours.is_some() => assert!(
                        named_in_array(&damaged, false),
                        "byte {at} set to {byte:#x}: read, where ubus-zero refuses"
                    ),
                    expected => assert_eq!(ours, expected, "byte {at} set to {byte:#x}"),
                }
                compared += 1;
            }
        }
        assert!(compared > 1000);
    }

    /// Whether an array holds a named attribute: the one place the readers part.
    fn named_in_array(buf: &[u8], in_array: bool) -> bool {
        BlobIter::new(buf).any(|attr| {
            (in_array && attr.name.is_some())
                || match attr.value() {
                    Ok(BlobValue::Table(p)) => named_in_array(p, false),
                    Ok(BlobValue::Array(p)) => named_in_array(p, true),
                    _ => false,
                }
        })
    }

    #[test]
    fn arguments_must_be_an_object_without_nul() {
        assert!(args_to_blobmsg(&json!({"config": "firewall"})).is_ok());
        assert!(args_to_blobmsg(&json!(["firewall"])).is_err());
        assert!(args_to_blobmsg(&json!({"v": ["a\u{0}b"]})).is_err());
        assert!(args_to_blobmsg(&json!({"k\u{0}": 1})).is_err());
        let args = json!({"config": "firewall", "n": 5, "list": ["a", "b"], "t": {"x": null}});
        let ours = args_to_blobmsg(&args).unwrap();
        let theirs = ubus::json::json_to_blobmsg(&serde_json::to_value(&args).unwrap()).unwrap();
        assert_eq!(ours.contents(), theirs.contents());
    }
}
