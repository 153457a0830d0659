//! camguard's own JSON read back into its types by hand: journal entries, the state files, a
//! finding's subject from ubus. Each type has a `from_json(&Value)` next to it, built from the
//! readers here; serde's derived `Deserialize` would read the same JSON in tens of KB more
//! router flash.
//!
//! The JSON accepted is what serde's derives of these types accepted: fields in any order,
//! unknown fields ignored (and so the fields only another kind of an enum has), a field older
//! versions did not write read as its default ([`Fields::or_default`]), an optional one absent
//! or null ([`Fields::optional`]). Only serde's other form of a struct, a list of its field
//! values, which camguard never wrote, is refused. Errors say where and what was expected:
//! ``actions[2].finding.subject: missing field `kind` ``.
use std::fmt;
use std::str::FromStr;

use crate::json::{Map, Value};
use crate::sorted::SortedMap;

/// What could not be read, and where. Boxed: every field read returns one, and a small
/// `Result` is less code to move around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonReadError(Box<Detail>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Detail {
    /// The path to the value at fault (`actions[2].why`); empty for the value read itself.
    at: String,
    problem: String,
}

impl JsonReadError {
    #[cold]
    pub fn new(problem: impl Into<String>) -> JsonReadError {
        JsonReadError(Box::new(Detail {
            at: String::new(),
            problem: problem.into(),
        }))
    }

    /// `found` is not `what` was expected. The value itself is not quoted: it may be long.
    #[cold]
    pub fn expected(what: &str, found: &Value) -> JsonReadError {
        let found = match found {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        };
        JsonReadError::new(format!("expected {what}, found {found}"))
    }

    /// A name that is none of the `known` ones (serde's words for it).
    #[cold]
    pub fn unknown_variant(name: &str, known: &[&str]) -> JsonReadError {
        JsonReadError::new(format!(
            "unknown variant `{}`, expected one of `{}`",
            cut(name),
            known.join("`, `")
        ))
    }

    /// The same error seen from the value that holds it: `step` is a field name or `[index]`.
    #[cold]
    pub fn within(mut self, step: &str) -> JsonReadError {
        let at = &mut self.0.at;
        if !at.is_empty() && !at.starts_with('[') {
            at.insert(0, '.');
        }
        at.insert_str(0, cut(step));
        self
    }
}

/// The first 64 characters of a name the input chose (a field name, a kind), so that an error
/// stays short whatever the file or caller sent.
fn cut(name: &str) -> &str {
    name.char_indices()
        .nth(64)
        .map_or(name, |(end, _)| &name[..end])
}

impl fmt::Display for JsonReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.at.is_empty() {
            write!(f, "{}: ", self.0.at)?;
        }
        f.write_str(&self.0.problem)
    }
}

impl std::error::Error for JsonReadError {}

/// A JSON object's fields, read by name.
#[derive(Clone, Copy)]
pub struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    pub fn of(v: &'a Value) -> Result<Fields<'a>, JsonReadError> {
        v.as_object()
            .map(Fields)
            .ok_or_else(|| JsonReadError::expected("an object", v))
    }

    /// A field the type cannot do without.
    pub fn required<T>(
        self,
        key: &str,
        read: fn(&'a Value) -> Result<T, JsonReadError>,
    ) -> Result<T, JsonReadError> {
        match self.0.get(key) {
            Some(v) => read(v).map_err(|e| e.within(key)),
            None => Err(JsonReadError::new(format!("missing field `{key}`"))),
        }
    }

    /// A field that may be absent or null.
    pub fn optional<T>(
        self,
        key: &str,
        read: fn(&'a Value) -> Result<T, JsonReadError>,
    ) -> Result<Option<T>, JsonReadError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => read(v).map(Some).map_err(|e| e.within(key)),
        }
    }

    /// A field older versions did not write: absent, it is the default; present, it must be
    /// one (null included, as serde's `default` had it).
    pub fn or_default<T: Default>(
        self,
        key: &str,
        read: fn(&'a Value) -> Result<T, JsonReadError>,
    ) -> Result<T, JsonReadError> {
        match self.0.get(key) {
            None => Ok(T::default()),
            Some(v) => read(v).map_err(|e| e.within(key)),
        }
    }
}

pub fn text(v: &Value) -> Result<&str, JsonReadError> {
    v.as_str()
        .ok_or_else(|| JsonReadError::expected("a string", v))
}

pub fn string(v: &Value) -> Result<String, JsonReadError> {
    text(v).map(str::to_owned)
}

pub fn boolean(v: &Value) -> Result<bool, JsonReadError> {
    v.as_bool()
        .ok_or_else(|| JsonReadError::expected("true or false", v))
}

/// A whole number of the field's type (`u16`, `u64`, `usize` …); not a float, not negative.
pub fn uint<T: TryFrom<u64>>(v: &Value) -> Result<T, JsonReadError> {
    let n = v
        .as_u64()
        .ok_or_else(|| JsonReadError::expected("a non-negative integer", v))?;
    T::try_from(n).map_err(|_| JsonReadError::new(format!("{n} is out of range")))
}

/// A string in the type's own notation (an IP or MAC address).
pub fn parsed<T: FromStr>(v: &Value) -> Result<T, JsonReadError>
where
    T::Err: fmt::Display,
{
    text(v)?
        .parse()
        .map_err(|e: T::Err| JsonReadError::new(e.to_string()))
}

pub fn list<'a, T>(
    v: &'a Value,
    read: fn(&'a Value) -> Result<T, JsonReadError>,
) -> Result<Vec<T>, JsonReadError> {
    let items = v
        .as_array()
        .ok_or_else(|| JsonReadError::expected("a list", v))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(read(item).map_err(|e| e.within(&format!("[{i}]")))?);
    }
    Ok(out)
}

/// A two-element list, as serde writes a tuple: `["upnp_forward", 7]`.
pub fn pair<'a, A, B>(
    v: &'a Value,
    first: fn(&'a Value) -> Result<A, JsonReadError>,
    second: fn(&'a Value) -> Result<B, JsonReadError>,
) -> Result<(A, B), JsonReadError> {
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => Ok((
            first(a).map_err(|e| e.within("[0]"))?,
            second(b).map_err(|e| e.within("[1]"))?,
        )),
        _ => Err(JsonReadError::expected("a list of two", v)),
    }
}

/// An object as a map from its field names to their values, each read by `read`.
pub fn entries<'a, T>(
    v: &'a Value,
    read: fn(&'a Value) -> Result<T, JsonReadError>,
) -> Result<SortedMap<String, T>, JsonReadError> {
    let fields = v
        .as_object()
        .ok_or_else(|| JsonReadError::expected("an object", v))?;
    let mut out = Vec::with_capacity(fields.len());
    for (key, item) in fields {
        out.push((key.clone(), read(item).map_err(|e| e.within(key))?));
    }
    Ok(SortedMap::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::json;

    fn read<T>(v: &Value, reader: fn(&Value) -> Result<T, JsonReadError>) -> Result<T, String> {
        reader(v).map_err(|e| e.to_string())
    }

    #[test]
    fn fields_required_optional_and_defaulted() {
        let v = json!({"a": 1, "n": null, "s": "x"});
        let f = Fields::of(&v).unwrap();
        assert_eq!(f.required("a", uint::<u16>), Ok(1));
        assert_eq!(
            f.required("b", uint::<u16>).unwrap_err().to_string(),
            "missing field `b`"
        );
        assert_eq!(
            f.required("s", uint::<u16>).unwrap_err().to_string(),
            "s: expected a non-negative integer, found a string"
        );
        assert_eq!(f.optional("b", string), Ok(None));
        assert_eq!(f.optional("n", string), Ok(None));
        assert_eq!(f.optional("s", string), Ok(Some("x".into())));
        assert!(f.optional("a", string).is_err());
        assert_eq!(f.or_default("b", boolean), Ok(false));
        assert!(f.or_default("n", boolean).is_err(), "null is no default");
        assert_eq!(
            Fields::of(&json!([1])).err().unwrap().to_string(),
            "expected an object, found a list"
        );
    }

    #[test]
    fn numbers_are_whole_in_range_and_not_negative() {
        assert_eq!(read(&json!(65535), uint::<u16>), Ok(65535));
        assert_eq!(
            read(&json!(65536), uint::<u16>),
            Err("65536 is out of range".into())
        );
        assert!(read(&json!(-1), uint::<u64>).is_err());
        assert!(read(&json!(1.0), uint::<u64>).is_err());
        assert!(read(&json!("1"), uint::<u64>).is_err());
        assert_eq!(read(&json!(u64::MAX), uint::<u64>), Ok(u64::MAX));
    }

    #[test]
    fn nested_errors_name_their_path() {
        let v = json!({"xs": [["a", 1], ["b", "two"]]});
        let err = Fields::of(&v)
            .unwrap()
            .required("xs", |v| list(v, |p| pair(p, string, uint::<u64>)))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "xs[1][1]: expected a non-negative integer, found a string"
        );
        let v = json!({"o": {"k": {"n": null}}});
        let err = Fields::of(&v)
            .unwrap()
            .required("o", |v| {
                entries(v, |v| Fields::of(v)?.required("n", string))
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "o.k.n: expected a string, found null");
    }

    #[test]
    fn names_from_the_input_are_cut_short_in_errors() {
        let long = "é".repeat(1000);
        let v = json!({ long.as_str(): 1 });
        let err = entries(&v, string).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("{}: expected a string, found a number", "é".repeat(64))
        );
        let err = JsonReadError::unknown_variant(&long, &["a"]).to_string();
        assert_eq!(
            err.chars().count(),
            "unknown variant ``, expected one of `a`".len() + 64
        );
    }

    #[test]
    fn pairs_have_exactly_two() {
        let p = |v: &Value| pair(v, string, uint::<u64>);
        assert_eq!(p(&json!(["a", 1])), Ok(("a".into(), 1)));
        assert!(p(&json!(["a"])).is_err());
        assert!(p(&json!(["a", 1, 2])).is_err());
        assert!(p(&json!({"a": 1})).is_err());
    }

    #[test]
    fn parsed_values_say_why_not() {
        assert_eq!(
            read(&json!("10.0.0.1"), parsed::<std::net::IpAddr>),
            Ok([10, 0, 0, 1].into())
        );
        assert_eq!(
            read(&json!("10.0.0"), parsed::<std::net::IpAddr>),
            Err("invalid IP address syntax".into())
        );
        assert!(read(&json!(1), parsed::<std::net::IpAddr>).is_err());
        assert_eq!(
            JsonReadError::unknown_variant("x", &["a", "b"]).to_string(),
            "unknown variant `x`, expected one of `a`, `b`"
        );
    }
}
