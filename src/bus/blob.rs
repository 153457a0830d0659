//! serde straight into blobmsg: replies are encoded from camguard's own types without building a
//! JSON tree first. A reply with 5,000 mappings is 75,000 values; allocating each as a
//! serde_json::Value and converting that again cost more than computing the answer.
//!
//! Encoding follows libblobmsg_json, as ubus-zero's JSON path does: integers as INT64, strings,
//! booleans as BOOL, null as an empty UNSPEC, objects as tables and sequences as arrays.
use std::borrow::Cow;

use serde::ser::{self, Impossible, Serialize};
use ubus::{BlobBuilder, BlobMsgTable};

#[derive(Debug)]
pub enum BlobError {
    /// The value is not a struct or map: a ubus reply is a table.
    ReplyNotAnObject,
    /// A map value serialised before its key: a broken `Serialize` impl.
    ValueWithoutKey,
    /// What a `Serialize` impl reported through serde's `ser::Error::custom`.
    Custom(String),
}

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobError::ReplyNotAnObject => f.write_str("a ubus reply must be an object"),
            BlobError::ValueWithoutKey => f.write_str("map value without a key"),
            BlobError::Custom(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for BlobError {}

impl ser::Error for BlobError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        BlobError::Custom(msg.to_string())
    }
}

/// Encodes a struct or map as the contents of a ubus reply table.
pub fn to_blobmsg<T: Serialize + ?Sized>(value: &T) -> Result<BlobMsgTable, BlobError> {
    let mut b = BlobBuilder::new();
    b.open_table(None);
    // On an error the half-written tables are dropped unclosed, never finished.
    value.serialize(Ser {
        b: &mut b,
        name: None,
        top: true,
    })?;
    b.close_table();
    Ok(b.finish_table())
}

/// Serialises one value under `name` (None inside arrays). At the top level, a struct's fields go
/// straight into the reply table.
struct Ser<'b> {
    b: &'b mut BlobBuilder,
    // Borrowed for struct fields (every row of a page has them): no allocation per field.
    name: Option<Cow<'static, str>>,
    top: bool,
}

impl<'b> Ser<'b> {
    fn scalar_at_top(&self) -> Result<(), BlobError> {
        if self.top {
            Err(BlobError::ReplyNotAnObject)
        } else {
            Ok(())
        }
    }
}

/// A table or array being written.
pub struct Compound<'b> {
    b: &'b mut BlobBuilder,
    kind: Kind,
    key: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Table,
    Array,
    /// The reply's own table (opened by BlobMsgTable::build): nothing to close.
    Top,
    /// `{variant: [...]}` or `{variant: {...}}`: two levels to close.
    VariantArray,
    VariantTable,
}

impl<'b> Compound<'b> {
    fn end_inner(self) {
        match self.kind {
            Kind::Table => self.b.close_table(),
            Kind::Array => self.b.close_array(),
            Kind::Top => {}
            Kind::VariantArray => {
                self.b.close_array();
                self.b.close_table();
            }
            Kind::VariantTable => {
                self.b.close_table();
                self.b.close_table();
            }
        }
    }
}

macro_rules! int {
    ($($f:ident $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), BlobError> {
            self.scalar_at_top()?;
            self.b.put_i64(self.name.as_deref(), i64::try_from(v).unwrap_or(i64::MAX));
            Ok(())
        }
    )*};
}

impl<'b> ser::Serializer for Ser<'b> {
    type Ok = ();
    type Error = BlobError;
    type SerializeSeq = Compound<'b>;
    type SerializeTuple = Compound<'b>;
    type SerializeTupleStruct = Compound<'b>;
    type SerializeTupleVariant = Compound<'b>;
    type SerializeMap = Compound<'b>;
    type SerializeStruct = Compound<'b>;
    type SerializeStructVariant = Compound<'b>;

    int!(serialize_i8 i8, serialize_i16 i16, serialize_i32 i32, serialize_i64 i64,
         serialize_u8 u8, serialize_u16 u16, serialize_u32 u32, serialize_u64 u64);

    fn serialize_bool(self, v: bool) -> Result<(), BlobError> {
        self.scalar_at_top()?;
        self.b.put_bool(self.name.as_deref(), v);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result<(), BlobError> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), BlobError> {
        self.scalar_at_top()?;
        self.b.put_double(self.name.as_deref(), v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), BlobError> {
        self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), BlobError> {
        self.scalar_at_top()?;
        // blobmsg strings are C strings: an embedded NUL would cut them short.
        if v.contains('\0') {
            self.b
                .put_str(self.name.as_deref(), &v.replace('\0', "\\x00"));
        } else {
            self.b.put_str(self.name.as_deref(), v);
        }
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), BlobError> {
        self.serialize_str(&String::from_utf8_lossy(v))
    }

    fn serialize_none(self) -> Result<(), BlobError> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), BlobError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), BlobError> {
        self.scalar_at_top()?;
        self.b.put_null(self.name.as_deref());
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), BlobError> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), BlobError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), BlobError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), BlobError> {
        if !self.top {
            self.b.open_table(self.name.as_deref());
        }
        value.serialize(Ser {
            b: &mut *self.b,
            name: Some(Cow::Borrowed(variant)),
            top: false,
        })?;
        if !self.top {
            self.b.close_table();
        }
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'b>, BlobError> {
        self.scalar_at_top()?;
        self.b.open_array(self.name.as_deref());
        Ok(Compound {
            b: self.b,
            kind: Kind::Array,
            key: None,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'b>, BlobError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'b>, BlobError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'b>, BlobError> {
        self.scalar_at_top()?;
        self.b.open_table(self.name.as_deref());
        self.b.open_array(Some(variant));
        Ok(Compound {
            b: self.b,
            kind: Kind::VariantArray,
            key: None,
        })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'b>, BlobError> {
        if self.top {
            return Ok(Compound {
                b: self.b,
                kind: Kind::Top,
                key: None,
            });
        }
        self.b.open_table(self.name.as_deref());
        Ok(Compound {
            b: self.b,
            kind: Kind::Table,
            key: None,
        })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'b>, BlobError> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'b>, BlobError> {
        self.scalar_at_top()?;
        self.b.open_table(self.name.as_deref());
        self.b.open_table(Some(variant));
        Ok(Compound {
            b: self.b,
            kind: Kind::VariantTable,
            key: None,
        })
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = BlobError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BlobError> {
        value.serialize(Ser {
            b: &mut *self.b,
            name: None,
            top: false,
        })
    }

    fn end(self) -> Result<(), BlobError> {
        self.end_inner();
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = BlobError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BlobError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), BlobError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = BlobError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BlobError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), BlobError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = BlobError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BlobError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), BlobError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = BlobError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), BlobError> {
        self.key = Some(key.serialize(KeySer)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BlobError> {
        let name = self.key.take().ok_or(BlobError::ValueWithoutKey)?;
        value.serialize(Ser {
            b: &mut *self.b,
            name: Some(Cow::Owned(name)),
            top: false,
        })
    }

    fn end(self) -> Result<(), BlobError> {
        self.end_inner();
        Ok(())
    }
}

/// A map key as the name of a blobmsg attribute: strings as they are, numbers, booleans and unit
/// variants as JSON would write them as keys. Keys are names, so nothing else is one.
struct KeySer;

macro_rules! key_display {
    ($($f:ident $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<String, BlobError> {
            Ok(v.to_string())
        }
    )*};
}

impl ser::Serializer for KeySer {
    type Ok = String;
    type Error = BlobError;
    type SerializeSeq = Impossible<String, BlobError>;
    type SerializeTuple = Impossible<String, BlobError>;
    type SerializeTupleStruct = Impossible<String, BlobError>;
    type SerializeTupleVariant = Impossible<String, BlobError>;
    type SerializeMap = Impossible<String, BlobError>;
    type SerializeStruct = Impossible<String, BlobError>;
    type SerializeStructVariant = Impossible<String, BlobError>;

    key_display!(serialize_bool bool, serialize_i8 i8, serialize_i16 i16, serialize_i32 i32,
        serialize_i64 i64, serialize_u8 u8, serialize_u16 u16, serialize_u32 u32,
        serialize_u64 u64, serialize_char char, serialize_str &str);

    fn serialize_f32(self, _: f32) -> Result<String, BlobError> {
        Err(not_a_key("a number with a fraction"))
    }
    fn serialize_f64(self, _: f64) -> Result<String, BlobError> {
        Err(not_a_key("a number with a fraction"))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, BlobError> {
        Err(not_a_key("bytes"))
    }
    fn serialize_none(self) -> Result<String, BlobError> {
        Err(not_a_key("null"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, BlobError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, BlobError> {
        Err(not_a_key("null"))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, BlobError> {
        Err(not_a_key("null"))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, BlobError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, BlobError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, BlobError> {
        Err(not_a_key("an enum with data"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, BlobError> {
        Err(not_a_key("an array"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, BlobError> {
        Err(not_a_key("an array"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, BlobError> {
        Err(not_a_key("an array"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, BlobError> {
        Err(not_a_key("an array"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, BlobError> {
        Err(not_a_key("a table"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, BlobError> {
        Err(not_a_key("a table"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, BlobError> {
        Err(not_a_key("a table"))
    }
}

fn not_a_key(what: &str) -> BlobError {
    BlobError::Custom(format!(
        "a map key must be a string or a whole number, not {what}"
    ))
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = BlobError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), BlobError> {
        value.serialize(Ser {
            b: &mut *self.b,
            name: Some(Cow::Borrowed(key)),
            top: false,
        })
    }

    fn end(self) -> Result<(), BlobError> {
        self.end_inner();
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = BlobError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), BlobError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result<(), BlobError> {
        self.end_inner();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            Err(BlobError::Custom(_))
        ));
        #[derive(serde::Serialize)]
        struct Rows2<'a> {
            m: &'a std::collections::BTreeMap<(u8, u8), u8>,
        }
    }

    #[test]
    fn a_scalar_reply_is_refused() {
        assert!(to_blobmsg(&5u32).is_err());
        assert!(to_blobmsg(&"text").is_err());
        assert!(matches!(
            to_blobmsg(&[1, 2]),
            Err(BlobError::ReplyNotAnObject)
        ));
    }

    #[test]
    fn nul_cannot_cut_a_string_short() {
        let blob = to_blobmsg(&json!({ "s": "a\u{0}b" })).unwrap();
        let back = ubus::json::blobmsg_to_json(blob.contents()).unwrap();
        assert_eq!(back["s"], "a\\x00b");
    }
}
