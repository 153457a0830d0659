//! A `serde_json::Value` built from the events, equal to what `serde_json::to_value` builds:
//! members in the order written (serde_json's `preserve_order`), a repeated key keeping its
//! first place and its last value.
use serde::Serialize;
use serde_json::{Map, Value};

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
