//! JSON text, byte for byte as serde_json writes it (`to_string`, `to_string_pretty`): the
//! journal and state files written before stay the files written now, and `--json` output does
//! not change under its readers.
use std::fmt;
use std::io::{self, Write};

use serde::Serialize;

use super::{encode, Error, Sink};
use crate::json::Value;

/// Compact JSON.
pub fn to_writer<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> Result<(), Error> {
    encode(value, &mut JsonText::new(out, false))
}

/// JSON indented by two spaces, as serde_json's `to_writer_pretty`. Streams: nothing is built
/// before it is written.
pub fn to_writer_pretty<T: Serialize + ?Sized>(
    out: &mut dyn Write,
    value: &T,
) -> Result<(), Error> {
    encode(value, &mut JsonText::new(out, true))
}

pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(128);
    to_writer(&mut out, value)?;
    Ok(out)
}

pub fn to_vec_pretty<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(128);
    to_writer_pretty(&mut out, value)?;
    Ok(out)
}

pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    text(to_vec(value)?)
}

pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    text(to_vec_pretty(value)?)
}

/// A [`Value`] as JSON text, compact (`{}`) or indented by two spaces (`{:#}`), as serde_json
/// prints its values.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            to_string_pretty(self)
        } else {
            to_string(self)
        };
        f.write_str(&text.map_err(|_| fmt::Error)?)
    }
}

/// The writer puts out only whole `str`s and ASCII, so this never fails.
fn text(bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|_| Error::Io(io::ErrorKind::InvalidData.into()))
}

/// The JSON text sink.
struct JsonText<'w> {
    out: &'w mut dyn Write,
    pretty: bool,
    /// Open objects and arrays.
    depth: usize,
    /// The innermost open object or array has no member yet (serde_json's `has_value`, inverted).
    empty: bool,
    /// A key was written: the next value is its member's, not an array element.
    after_key: bool,
}

impl<'w> JsonText<'w> {
    fn new(out: &'w mut dyn Write, pretty: bool) -> Self {
        JsonText {
            out,
            pretty,
            depth: 0,
            empty: true,
            after_key: false,
        }
    }

    /// Before a key or an array element: the comma, and in pretty output a new line.
    fn next_member(&mut self) -> io::Result<()> {
        if !std::mem::replace(&mut self.empty, false) {
            self.out.write_all(b",")?;
        }
        self.new_line()
    }

    fn new_line(&mut self) -> io::Result<()> {
        if self.pretty {
            self.out.write_all(b"\n")?;
            for _ in 0..self.depth {
                self.out.write_all(b"  ")?;
            }
        }
        Ok(())
    }

    /// Before every value: a value outside an object member is an array element (or the whole).
    fn value(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.after_key) || self.depth == 0 {
            return Ok(());
        }
        self.next_member()
    }

    fn scalar(&mut self, text: &[u8]) -> Result<(), Error> {
        self.value()?;
        Ok(self.out.write_all(text)?)
    }

    fn open(&mut self, bracket: &[u8]) -> Result<(), Error> {
        self.value()?;
        self.out.write_all(bracket)?;
        self.depth += 1;
        self.empty = true;
        Ok(())
    }

    fn close(&mut self, bracket: &[u8]) -> Result<(), Error> {
        self.depth -= 1;
        // An empty one closes on its line: `[]`, `{}`.
        if !std::mem::replace(&mut self.empty, false) {
            self.new_line()?;
        }
        Ok(self.out.write_all(bracket)?)
    }
}

impl Sink for JsonText<'_> {
    fn begin_object(&mut self, _: Option<usize>) -> Result<(), Error> {
        self.open(b"{")
    }

    fn end_object(&mut self) -> Result<(), Error> {
        self.close(b"}")
    }

    fn begin_array(&mut self, _: Option<usize>) -> Result<(), Error> {
        self.open(b"[")
    }

    fn end_array(&mut self) -> Result<(), Error> {
        self.close(b"]")
    }

    fn key(&mut self, key: &str) -> Result<(), Error> {
        self.next_member()?;
        write_str(self.out, key)?;
        self.out.write_all(if self.pretty { b": " } else { b":" })?;
        self.after_key = true;
        Ok(())
    }

    fn str(&mut self, v: &str) -> Result<(), Error> {
        self.value()?;
        Ok(write_str(self.out, v)?)
    }

    fn i64(&mut self, v: i64) -> Result<(), Error> {
        self.value()?;
        Ok(write!(self.out, "{v}")?)
    }

    fn u64(&mut self, v: u64) -> Result<(), Error> {
        self.value()?;
        Ok(write!(self.out, "{v}")?)
    }

    fn f64(&mut self, v: f64) -> Result<(), Error> {
        // serde_json's own digits (zmij's shortest form, as `json::Number` prints them); NaN
        // and the infinities are null there too.
        if !v.is_finite() {
            return self.null();
        }
        self.scalar(zmij::Buffer::new().format_finite(v).as_bytes())
    }

    fn bool(&mut self, v: bool) -> Result<(), Error> {
        self.scalar(if v { b"true" } else { b"false" })
    }

    fn null(&mut self) -> Result<(), Error> {
        self.scalar(b"null")
    }
}

/// A JSON string as serde_json escapes it: `"`, `\`, and the control characters (`\b \f \n \r
/// \t`, the rest as `\u00XX`); nothing else, not `/` and not non-ASCII.
fn write_str(out: &mut dyn Write, s: &str) -> io::Result<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ],
            _ => continue,
        };
        out.write_all(&bytes[plain..i])?;
        out.write_all(short)?;
        plain = i + 1;
    }
    out.write_all(&bytes[plain..])?;
    out.write_all(b"\"")
}
