//! A [`Value`] built from the events, equal to what `serde_json::to_value` builds: members in
//! the order written (serde_json's `preserve_order`), a repeated key keeping its first place and
//! its last value.
use serde::Serialize;

use crate::json::{Map, Value};

use super::{encode, Error, Sink};

pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    let mut builder = ValueBuilder::default();
    encode(value, &mut builder)?;
    Ok(builder.done.unwrap_or_default())
}

/// The `Value` sink.
#[derive(Default)]
struct ValueBuilder {
    /// Open objects and arrays, innermost last, each with the key it goes under in its parent.
    open: Vec<(Open, Option<String>)>,
    /// The key of the next member of the innermost open object.
    key: Option<String>,
    /// The whole value, once its last event came.
    done: Option<Value>,
}

enum Open {
    Array(Vec<Value>),
    Object(Map<String, Value>),
}

impl ValueBuilder {
    fn put(&mut self, v: Value) -> Result<(), Error> {
        match self.open.last_mut() {
            None => self.done = Some(v),
            Some((Open::Array(items), _)) => items.push(v),
            Some((Open::Object(members), _)) => {
                let key = self.key.take().ok_or(Error::ValueWithoutKey)?;
                members.insert(key, v);
            }
        }
        Ok(())
    }

    fn open(&mut self, open: Open) -> Result<(), Error> {
        self.open.push((open, self.key.take()));
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        // The Encoder closes only what it opened.
        let Some((open, key)) = self.open.pop() else {
            return Ok(());
        };
        self.key = key;
        self.put(match open {
            Open::Array(items) => Value::Array(items),
            Open::Object(members) => Value::Object(members),
        })
    }
}

impl Sink for ValueBuilder {
    fn begin_object(&mut self, len: Option<usize>) -> Result<(), Error> {
        self.open(Open::Object(Map::with_capacity(len.unwrap_or(0))))
    }

    fn end_object(&mut self) -> Result<(), Error> {
        self.close()
    }

    fn begin_array(&mut self, len: Option<usize>) -> Result<(), Error> {
        self.open(Open::Array(Vec::with_capacity(len.unwrap_or(0))))
    }

    fn end_array(&mut self) -> Result<(), Error> {
        self.close()
    }

    fn key(&mut self, key: &str) -> Result<(), Error> {
        self.key = Some(key.to_owned());
        Ok(())
    }

    fn str(&mut self, v: &str) -> Result<(), Error> {
        self.put(Value::String(v.to_owned()))
    }

    fn i64(&mut self, v: i64) -> Result<(), Error> {
        self.put(Value::from(v))
    }

    fn u64(&mut self, v: u64) -> Result<(), Error> {
        self.put(Value::from(v))
    }

    fn f64(&mut self, v: f64) -> Result<(), Error> {
        self.put(Value::from(v))
    }

    fn bool(&mut self, v: bool) -> Result<(), Error> {
        self.put(Value::Bool(v))
    }

    fn null(&mut self) -> Result<(), Error> {
        self.put(Value::Null)
    }
}

/// One member of a [`json!`] object, out of line: each member a macro writes is then a call.
#[doc(hidden)]
#[inline(never)]
pub fn member(members: &mut Map<String, Value>, key: impl Into<String>, value: Value) {
    members.insert(key.into(), value);
}

/// One value of a [`json!`], out of line; null if it cannot be encoded.
#[doc(hidden)]
#[inline(never)]
pub fn or_null<T: Serialize + ?Sized>(value: &T) -> Value {
    to_value(value).unwrap_or_default()
}

/// `serde_json::json!` for camguard's own `Value`: `{"key": value, …}` and `[value, …]` nested,
/// `null`, or one value, each value through [`to_value`]: serde_json's macro would compile
/// every interpolated type's `Serialize` for serde_json's own serializer as well. A value that
/// cannot be encoded is null (camguard's types always can). A key is any expression a `String`
/// is made `From`.
macro_rules! json {
    (@members $members:ident) => {};
    (@members $members:ident $($rest:tt)+) => {
        $crate::encode::json!(@key $members () $($rest)+);
    };
    // The key is every token before the colon.
    (@key $members:ident ($($key:tt)+) : null $(, $($rest:tt)*)?) => {
        $crate::encode::value::member(&mut $members, $($key)+, $crate::json::Value::Null);
        $crate::encode::json!(@members $members $($($rest)*)?);
    };
    (@key $members:ident ($($key:tt)+) : { $($inner:tt)* } $(, $($rest:tt)*)?) => {
        $crate::encode::value::member(&mut $members, $($key)+, $crate::encode::json!({ $($inner)* }));
        $crate::encode::json!(@members $members $($($rest)*)?);
    };
    (@key $members:ident ($($key:tt)+) : [ $($inner:tt)* ] $(, $($rest:tt)*)?) => {
        $crate::encode::value::member(&mut $members, $($key)+, $crate::encode::json!([ $($inner)* ]));
        $crate::encode::json!(@members $members $($($rest)*)?);
    };
    (@key $members:ident ($($key:tt)+) : $value:expr $(, $($rest:tt)*)?) => {
        $crate::encode::value::member(&mut $members, $($key)+, $crate::encode::json!($value));
        $crate::encode::json!(@members $members $($($rest)*)?);
    };
    (@key $members:ident ($($key:tt)*) $next:tt $($rest:tt)*) => {
        $crate::encode::json!(@key $members ($($key)* $next) $($rest)*);
    };
    // Array elements, gathered into one `vec!`.
    (@items [$($done:expr,)*]) => {
        ::std::vec![$($done),*]
    };
    (@items [$($done:expr,)*] null $(, $($rest:tt)*)?) => {
        $crate::encode::json!(@items [$($done,)* $crate::json::Value::Null,] $($($rest)*)?)
    };
    (@items [$($done:expr,)*] { $($inner:tt)* } $(, $($rest:tt)*)?) => {
        $crate::encode::json!(
            @items [$($done,)* $crate::encode::json!({ $($inner)* }),] $($($rest)*)?
        )
    };
    (@items [$($done:expr,)*] [ $($inner:tt)* ] $(, $($rest:tt)*)?) => {
        $crate::encode::json!(
            @items [$($done,)* $crate::encode::json!([ $($inner)* ]),] $($($rest)*)?
        )
    };
    (@items [$($done:expr,)*] $value:expr $(, $($rest:tt)*)?) => {
        $crate::encode::json!(@items [$($done,)* $crate::encode::json!($value),] $($($rest)*)?)
    };
    (null) => {
        $crate::json::Value::Null
    };
    ({ $($members:tt)* }) => {{
        #[allow(unused_mut)]
        let mut members = $crate::json::Map::new();
        $crate::encode::json!(@members members $($members)*);
        $crate::json::Value::Object(members)
    }};
    ([ $($items:tt)* ]) => {
        $crate::json::Value::Array($crate::encode::json!(@items [] $($items)*))
    };
    ($value:expr) => {
        $crate::encode::value::or_null(&$value)
    };
}
pub(crate) use json;

#[cfg(test)]
mod tests {
    use crate::ports::Protocol;

    /// camguard's json! builds what serde_json's builds, in every form camguard writes: the
    /// same text, members in the same order.
    #[test]
    fn json_builds_what_serde_jsons_json_builds() {
        let option = "values";
        let list = vec!["a".to_owned(), "b\u{1}".to_owned()];
        let proto = Protocol::Tcp;
        let nothing: Option<u16> = None;
        let rows = [1u8, 2].map(|n| super::json!({ "n": n }));
        let same = |ours: crate::json::Value, theirs: serde_json::Value| {
            assert_eq!(ours.to_string(), theirs.to_string());
        };
        same(super::json!({}), serde_json::json!({}));
        same(super::json!(list), serde_json::json!(list));
        same(super::json!(null), serde_json::json!(null));
        same(
            super::json!([null, [1, [true]], { "a": null }, {}, -2, "x",]),
            serde_json::json!([null, [1, [true]], { "a": null }, {}, -2, "x",]),
        );
        let ours = super::json!({
            "config": "upnpd",
            // A comment between members.
            "proto": proto,
            "nothing": nothing,
            "null": null,
            option: { "list": list, "empty": {}, "inner": { "deep": [] } },
            "chains": ["a", proto.as_str(), 7],
            "rows": rows,
            "objects": [{ "a": [{}] }, { "b": 1 }],
            ("computed".to_owned() + "key"): 1.5,
            option.to_uppercase(): [],
            "last": -1,
        });
        let theirs = serde_json::json!({
            "config": "upnpd",
            "proto": proto,
            "nothing": nothing,
            "null": null,
            option: { "list": list, "empty": {}, "inner": { "deep": [] } },
            "chains": ["a", proto.as_str(), 7],
            "rows": [{ "n": 1 }, { "n": 2 }],
            "objects": [{ "a": [{}] }, { "b": 1 }],
            ("computed".to_owned() + "key"): 1.5,
            option.to_uppercase(): [],
            "last": -1,
        });
        same(ours, theirs);
    }
}
