//! camguard's one serde `Serializer`. Every `Serialize` impl in camguard is compiled for
//! [`Encoder`] alone, which hands what it sees to a [`Sink`] behind one `dyn`: the blobmsg of
//! ubus replies (`bus::blob`), JSON text ([`text`]) and camguard's `json::Value` ([`value`], also
//! behind camguard's [`json!`]). Three serde serializers each compiled the ~112 types' code
//! again: tens of KB of router flash.
//!
//! The sinks see what serde_json's serializers see: newtypes and `Some` as their content,
//! unit variants as their name, the other variants as `{variant: content}`. Map keys are strings;
//! whole numbers, booleans, chars and unit variants as keys are written as their text, as
//! serde_json writes them. A fraction as a key is refused where serde_json writes its digits:
//! camguard has no such key.
pub mod text;
pub mod value;

use std::fmt::Display;
use std::io;

use serde::ser::{self, Serialize};

pub use text::{to_string, to_string_pretty, to_vec, to_vec_pretty, to_writer, to_writer_pretty};
pub(crate) use value::json;
pub use value::to_value;

/// Where an [`Encoder`] writes: the events of one value, in order. An object's members come as
/// [`Sink::key`] then the member's value.
pub trait Sink {
    /// `len` is the number of members when serde knows it.
    fn begin_object(&mut self, len: Option<usize>) -> Result<(), Error>;
    fn end_object(&mut self) -> Result<(), Error>;
    /// `len` is the number of elements when serde knows it.
    fn begin_array(&mut self, len: Option<usize>) -> Result<(), Error>;
    fn end_array(&mut self) -> Result<(), Error>;
    /// The name of the next value, inside an object.
    fn key(&mut self, key: &str) -> Result<(), Error>;
    fn str(&mut self, v: &str) -> Result<(), Error>;
    fn i64(&mut self, v: i64) -> Result<(), Error>;
    fn u64(&mut self, v: u64) -> Result<(), Error>;
    /// camguard's own types have no floats; a `json::Value` read from elsewhere may.
    fn f64(&mut self, v: f64) -> Result<(), Error>;
    fn bool(&mut self, v: bool) -> Result<(), Error>;
    fn null(&mut self) -> Result<(), Error>;
    /// Bytes as serde_json writes them: an array of numbers.
    fn bytes(&mut self, v: &[u8]) -> Result<(), Error> {
        self.begin_array(Some(v.len()))?;
        for &b in v {
            self.u64(u64::from(b))?;
        }
        self.end_array()
    }
}

/// Why a value could not be encoded. Two words: every event of every value returns a
/// `Result` of it, and one that fits in registers is less code at each `?` (8.5 KB of aarch64
/// when the error was four words).
#[derive(Debug)]
pub enum Error {
    /// A ubus reply is a table: the value was a scalar or an array.
    ReplyNotAnObject,
    /// A map value serialised before its key: a broken `Serialize` impl.
    ValueWithoutKey,
    /// A map key that cannot be an object member's name (an array, a table, null, a fraction…);
    /// the words by reference, one word.
    KeyNotAName(&'static &'static str),
    /// The JSON text could not be written.
    Io(io::Error),
    /// What a `Serialize` impl reported through serde's `ser::Error::custom`.
    #[allow(clippy::box_collection)] // one word, not a `String`'s three
    Custom(Box<String>),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::ReplyNotAnObject => f.write_str("a ubus reply must be an object"),
            Error::ValueWithoutKey => f.write_str("map value without a key"),
            Error::KeyNotAName(what) => write!(
                f,
                "a map key must be a string or a whole number, not {what}"
            ),
            Error::Io(e) => write!(f, "cannot write JSON: {e}"),
            Error::Custom(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Custom(Box::new(msg.to_string()))
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            other => io::Error::other(other),
        }
    }
}

/// Encodes `value` into `sink`. The sinks' own functions ([`to_value`], [`to_string_pretty`],
/// `bus::blob::to_blobmsg`) call this.
pub fn encode<T: Serialize + ?Sized>(value: &T, sink: &mut dyn Sink) -> Result<(), Error> {
    value.serialize(Encoder::value(sink))
}

/// The serde `Serializer`. Map keys go through it too (`key`), so a type used as a key is not
/// compiled for a second serializer either.
pub struct Encoder<'s> {
    sink: &'s mut dyn Sink,
    /// Serialising a map key: what names a member becomes [`Sink::key`], the rest is refused.
    key: bool,
}

impl<'s> Encoder<'s> {
    fn value(sink: &'s mut dyn Sink) -> Self {
        Encoder { sink, key: false }
    }

    /// A key written as the text of a number or boolean, as serde_json writes them.
    fn text_key(self, text: impl Display) -> Result<(), Error> {
        self.sink.key(&text.to_string())
    }

    fn refuse_key(&self, what: &'static &'static str) -> Result<(), Error> {
        if self.key {
            Err(Error::KeyNotAName(what))
        } else {
            Ok(())
        }
    }

    /// `{variant: …}` around a tuple or struct variant's content.
    fn open_variant(&mut self, variant: &'static str) -> Result<(), Error> {
        self.refuse_key(&"an enum with data")?;
        self.sink.begin_object(Some(1))?;
        self.sink.key(variant)
    }

    fn compound(self, close: Close) -> Compound<'s> {
        Compound {
            sink: self.sink,
            close,
            key_given: false,
        }
    }
}

/// An object or array being written.
pub struct Compound<'s> {
    sink: &'s mut dyn Sink,
    close: Close,
    /// A map key was written and its value not yet.
    key_given: bool,
}

/// What ending a [`Compound`] closes.
#[derive(Clone, Copy)]
enum Close {
    Array,
    Object,
    /// `{variant: [...]}` and `{variant: {...}}`: two levels.
    VariantArray,
    VariantObject,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Encoder::value(&mut *self.sink))
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.sink.key(key)?;
        self.element(value)
    }

    fn end(self) -> Result<(), Error> {
        match self.close {
            Close::Array => self.sink.end_array(),
            Close::Object => self.sink.end_object(),
            Close::VariantArray => {
                self.sink.end_array()?;
                self.sink.end_object()
            }
            Close::VariantObject => {
                self.sink.end_object()?;
                self.sink.end_object()
            }
        }
    }
}

macro_rules! integers {
    ($($f:ident $t:ty => $sink:ident $wide:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), Error> {
            let v = <$wide>::from(v);
            if self.key {
                return self.text_key(v);
            }
            self.sink.$sink(v)
        }
    )*};
}

impl<'s> ser::Serializer for Encoder<'s> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s>;
    type SerializeTuple = Compound<'s>;
    type SerializeTupleStruct = Compound<'s>;
    type SerializeTupleVariant = Compound<'s>;
    type SerializeMap = Compound<'s>;
    type SerializeStruct = Compound<'s>;
    type SerializeStructVariant = Compound<'s>;

    integers!(serialize_i8 i8 => i64 i64, serialize_i16 i16 => i64 i64,
        serialize_i32 i32 => i64 i64, serialize_i64 i64 => i64 i64,
        serialize_u8 u8 => u64 u64, serialize_u16 u16 => u64 u64,
        serialize_u32 u32 => u64 u64, serialize_u64 u64 => u64 u64);

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        if self.key {
            return self.text_key(v);
        }
        self.sink.bool(v)
    }

    // Widened: camguard serialises no f32 (serde_json would print its shortest f32 digits).
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.refuse_key(&"a number with a fraction")?;
        self.sink.f64(v)
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if self.key {
            return self.sink.key(v);
        }
        self.sink.str(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.refuse_key(&"bytes")?;
        self.sink.bytes(v)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.refuse_key(&"null")?;
        self.sink.null()
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant)?;
        value.serialize(Encoder::value(&mut *self.sink))?;
        self.sink.end_object()
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'s>, Error> {
        self.refuse_key(&"an array")?;
        self.sink.begin_array(len)?;
        Ok(self.compound(Close::Array))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'s>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'s>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'s>, Error> {
        self.open_variant(variant)?;
        self.sink.begin_array(Some(len))?;
        Ok(self.compound(Close::VariantArray))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'s>, Error> {
        self.refuse_key(&"a table")?;
        self.sink.begin_object(len)?;
        Ok(self.compound(Close::Object))
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'s>, Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'s>, Error> {
        self.open_variant(variant)?;
        self.sink.begin_object(Some(len))?;
        Ok(self.compound(Close::VariantObject))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(Encoder {
            sink: &mut *self.sink,
            key: true,
        })?;
        self.key_given = true;
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !std::mem::take(&mut self.key_given) {
            return Err(Error::ValueWithoutKey);
        }
        self.element(value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}
