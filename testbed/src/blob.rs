//! Typed blobmsg values, encoded the way libubox encodes them.
//!
//! The stand-in answers field for field like rpcd, and rpcd chooses blobmsg types deliberately
//! (`.index` is INT32, `rc list`'s `start` is INT16, booleans are INT8). ubus-zero's builder has
//! no INT16, so replies are encoded here; incoming arguments are decoded with ubus-zero's
//! iterator and kept with their wire type, because rpcd ignores an argument whose type differs
//! from its policy (an INT64 `timeout` is not an INT32 one).

use ubus::{BlobIter, BlobType, BlobValue};

/// One blobmsg value with its wire type.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    Double(f64),
    Str(String),
    /// A STRING attribute with arbitrary bytes (file contents): blobmsg strings are bytes, and
    /// rpcd sends a file's bytes as they are.
    Bytes(Vec<u8>),
    Table(Vec<(String, V)>),
    Array(Vec<V>),
}

/// A table's fields, in the order they go on the wire.
pub type Fields = Vec<(String, V)>;

impl V {
    pub fn str(s: impl Into<String>) -> V {
        V::Str(s.into())
    }

    pub fn strs<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> V {
        V::Array(items.into_iter().map(|s| V::Str(s.into())).collect())
    }

    /// The blobmsg type id, as policies name it.
    pub fn ty(&self) -> Ty {
        match self {
            V::Null => Ty::Unspec,
            V::Bool(_) => Ty::Bool,
            V::I16(_) => Ty::Int16,
            V::I32(_) => Ty::Int32,
            V::I64(_) => Ty::Int64,
            V::Double(_) => Ty::Double,
            V::Str(_) | V::Bytes(_) => Ty::String,
            V::Table(_) => Ty::Table,
            V::Array(_) => Ty::Array,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_table(&self) -> Option<&Fields> {
        match self {
            V::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[V]> {
        match self {
            V::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Looks a key up in a table value (the last occurrence, as blobmsg_parse keeps it).
    pub fn get(&self, key: &str) -> Option<&V> {
        self.as_table()?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// Blobmsg types as they appear in method signatures (`ubus list`: 1 array, 2 table, 3 string,
/// 4 int64, 5 int32, 6 int16, 7 bool/int8, 8 double).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Unspec = 0,
    Array = 1,
    Table = 2,
    String = 3,
    Int64 = 4,
    Int32 = 5,
    Int16 = 6,
    Bool = 7,
    Double = 8,
}

const EXT_FLAG: u32 = 0x8000_0000;
const LEN_MASK: u32 = 0x00ff_ffff;

/// Encodes the contents of a table (what goes under UBUS_ATTR_DATA, without the outer wrapper).
pub fn encode_fields(fields: &[(String, V)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        put(&mut out, Some(name), value);
    }
    out
}

fn put(out: &mut Vec<u8>, name: Option<&str>, value: &V) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    // Name header: big-endian length, the name, a NUL, padded to 4 (libubox writes one even for
    // array elements, with length 0).
    let name = name.unwrap_or("").as_bytes();
    let name_len = name.len().min(u16::MAX as usize);
    out.extend_from_slice(&(name_len as u16).to_be_bytes());
    out.extend_from_slice(&name[..name_len]);
    out.push(0);
    pad(out);
    match value {
        V::Null => {}
        V::Bool(b) => out.push(u8::from(*b)),
        V::I16(n) => out.extend_from_slice(&n.to_be_bytes()),
        V::I32(n) => out.extend_from_slice(&n.to_be_bytes()),
        V::I64(n) => out.extend_from_slice(&n.to_be_bytes()),
        V::Double(d) => out.extend_from_slice(&d.to_bits().to_be_bytes()),
        V::Str(s) => put_cstr(out, s.as_bytes()),
        V::Bytes(b) => put_cstr(out, b),
        V::Table(fields) => {
            for (k, v) in fields {
                put(out, Some(k), v);
            }
        }
        V::Array(items) => {
            for v in items {
                put(out, None, v);
            }
        }
    }
    let len = (out.len() - start) as u32 & LEN_MASK;
    let id_len = EXT_FLAG | ((value.ty() as u32) << 24) | len;
    out[start..start + 4].copy_from_slice(&id_len.to_be_bytes());
    pad(out);
}

/// blobmsg strings end at the first NUL, as C's strlen ends them.
fn put_cstr(out: &mut Vec<u8>, bytes: &[u8]) {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    out.extend_from_slice(&bytes[..end]);
    out.push(0);
}

fn pad(out: &mut Vec<u8>) {
    while out.len() & 3 != 0 {
        out.push(0);
    }
}

/// Decodes table contents (an INVOKE's UBUS_ATTR_DATA). Errors on any malformed attribute, so the
/// caller can answer INVALID_ARGUMENT instead of guessing.
pub fn decode_fields(buf: &[u8]) -> Result<Fields, String> {
    decode_nested(buf, 0)
}

/// Nesting deeper than this is refused, so a hostile 1 MiB message of nested tables cannot
/// exhaust the stack (ubus-zero's JSON conversion draws the line at the same depth).
const MAX_DEPTH: usize = 64;

fn decode_nested(buf: &[u8], depth: usize) -> Result<Fields, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    let mut out = Vec::new();
    let mut it = BlobIter::new(buf);
    while let Some(attr) = it.try_next().map_err(|e| e.to_string())? {
        let name = attr.name.unwrap_or("").to_string();
        let value = attr.value().map_err(|e| e.to_string())?;
        out.push((name, decode_value(attr.ty, value, depth)?));
    }
    Ok(out)
}

fn decode_value(ty: BlobType, value: BlobValue<'_>, depth: usize) -> Result<V, String> {
    Ok(match value {
        BlobValue::String(s) => V::Str(s.to_string()),
        BlobValue::Int8(n) => V::Bool(n != 0),
        BlobValue::Int16(n) => V::I16(n),
        BlobValue::Int32(n) => V::I32(n),
        BlobValue::Int64(n) => V::I64(n),
        BlobValue::Double(d) => V::Double(d),
        BlobValue::Table(p) => V::Table(decode_nested(p, depth + 1)?),
        BlobValue::Array(p) => V::Array(
            decode_nested(p, depth + 1)?
                .into_iter()
                .map(|(_, v)| v)
                .collect(),
        ),
        BlobValue::Raw(_) if ty == BlobType::Unspec => V::Null,
        BlobValue::Raw(_) => return Err(format!("unsupported blobmsg type {ty:?}")),
    })
}

/// JSON to blobmsg the way libblobmsg_json does it: integers that fit in 32 bits become INT32,
/// larger ones INT64, booleans INT8. Used for state files a test writes (service instances, the
/// netifd dump), so that camguard reads them with the types the real daemons send.
pub fn from_json(value: &serde_json::Value) -> V {
    use serde_json::Value as J;
    match value {
        J::Null => V::Null,
        J::Bool(b) => V::Bool(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                match i32::try_from(i) {
                    Ok(small) => V::I32(small),
                    Err(_) => V::I64(i),
                }
            } else if let Some(u) = n.as_u64() {
                V::I64(i64::try_from(u).unwrap_or(i64::MAX))
            } else {
                V::Double(n.as_f64().unwrap_or(0.0))
            }
        }
        J::String(s) => V::Str(s.clone()),
        J::Array(items) => V::Array(items.iter().map(from_json).collect()),
        J::Object(map) => V::Table(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// Arguments of one call, looked up the way `blobmsg_parse` does: an attribute counts only when
/// its type is the policy's type, and the last one of a name wins.
pub struct Args {
    fields: Fields,
}

impl Args {
    pub fn new(fields: Fields) -> Args {
        Args { fields }
    }

    pub fn get(&self, name: &str, ty: Ty) -> Option<&V> {
        self.fields
            .iter()
            .rev()
            .find(|(k, v)| k == name && v.ty() == ty)
            .map(|(_, v)| v)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name, Ty::String).and_then(V::as_str)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name, Ty::Bool) {
            Some(V::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn i32(&self, name: &str) -> Option<i32> {
        match self.get(name, Ty::Int32) {
            Some(V::I32(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn table(&self, name: &str) -> Option<&Fields> {
        self.get(name, Ty::Table).and_then(V::as_table)
    }

    pub fn array(&self, name: &str) -> Option<&[V]> {
        self.get(name, Ty::Array).and_then(V::as_array)
    }

    /// The raw attribute of a table- or array-typed argument (for `values`, `match`).
    pub fn raw(&self, name: &str, ty: Ty) -> Option<&V> {
        self.get(name, ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_types() {
        let fields: Fields = vec![
            ("s".into(), V::str("x")),
            ("b".into(), V::Bool(true)),
            ("h".into(), V::I16(94)),
            ("i".into(), V::I32(-5)),
            ("l".into(), V::I64(1 << 40)),
            ("a".into(), V::strs(["p", "q"])),
            ("t".into(), V::Table(vec![("k".into(), V::str(""))])),
        ];
        let bytes = encode_fields(&fields);
        assert_eq!(decode_fields(&bytes).unwrap(), fields);
    }

    #[test]
    fn matches_ubus_zero_builder_bytes() {
        let ours = encode_fields(&[
            ("config".into(), V::str("upnpd")),
            ("n".into(), V::I32(7)),
            ("list".into(), V::strs(["a"])),
        ]);
        let theirs = ubus::BlobMsgTable::build(|b| {
            b.put_str(Some("config"), "upnpd");
            b.put_i32(Some("n"), 7);
            b.open_array(Some("list"));
            b.put_str(None, "a");
            b.close_array();
        });
        assert_eq!(ours.as_slice(), theirs.contents());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let mut v = V::str("x");
        for _ in 0..1000 {
            v = V::Array(vec![v]);
        }
        let bytes = encode_fields(&[("deep".into(), v)]);
        assert!(decode_fields(&bytes).is_err());
    }

    #[test]
    fn policy_lookup_ignores_other_types() {
        let args = Args::new(vec![
            ("timeout".into(), V::I64(5)),
            ("config".into(), V::I32(1)),
            ("config".into(), V::str("a")),
        ]);
        assert_eq!(args.i32("timeout"), None);
        assert_eq!(args.str("config"), Some("a"));
    }
}
