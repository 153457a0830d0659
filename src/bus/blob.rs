//! camguard's values straight into blobmsg: replies are encoded from camguard's own types
//! without building a JSON tree first. A reply with 5,000 mappings is 75,000 values; allocating
//! each as a serde_json::Value and converting that again cost more than computing the answer.
//!
//! Encoding follows libblobmsg_json, as ubus-zero's JSON path does: integers as INT64, strings,
//! booleans as BOOL, null as an empty UNSPEC, objects as tables and sequences as arrays.
use ubus::{BlobBuilder, BlobMsgTable};

use crate::encode::{encode, Error, Sink};

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
    use serde_json::json;

    /// Whatever we encode must decode (through ubus-zero's blobmsg→JSON) to serde_json's view.
    fn same_as_json<T: Serialize>(value: &T) {
        let blob = to_blobmsg(value).unwrap();
        let back = ubus::json::blobmsg_to_json(blob.contents()).unwrap();
        assert_eq!(back, serde_json::to_value(value).unwrap());
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
        let back = ubus::json::blobmsg_to_json(blob.contents()).unwrap();
        assert_eq!(back["s"], "a\\x00b");
    }
}
