//! JSON text to [`Value`], accepting and refusing what serde_json's `from_slice` does (RFC 8259,
//! nothing more: no comments, no trailing commas, no byte order mark, at most 127 arrays and
//! objects inside each other) and reading the same values from it. Errors are serde_json's
//! words, at serde_json's line and column (bytes into the line, 1-based; the column of the byte
//! at fault, or of the last byte read when the input ran out).
//!
//! One parser serves slices and readers alike: it reads through a 16 KB window, so a stream
//! (the nft ruleset, [`Reader`]) is never held whole, and a slice costs one copy through the
//! window rather than a second parser in the binary.
use std::fmt;
use std::io::{self, Read};

use super::{Map, Number, Value};

/// serde_json's recursion limit: the 128th array or object inside the others is refused.
const MAX_DEPTH: u8 = 127;
const WINDOW: usize = 16 * 1024;

/// Why text is not JSON, and where; or why the text could not be read.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    line: usize,
    column: usize,
}

#[derive(Debug)]
enum Kind {
    Syntax(Code),
    Io(io::Error),
}

/// What was wrong (serde_json's `ErrorCode`s that parsing a `Value` can meet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    EofWhileParsingList,
    EofWhileParsingObject,
    EofWhileParsingString,
    EofWhileParsingValue,
    ExpectedColon,
    ExpectedListCommaOrEnd,
    ExpectedObjectCommaOrEnd,
    ExpectedSomeIdent,
    ExpectedSomeValue,
    InvalidEscape,
    InvalidNumber,
    NumberOutOfRange,
    InvalidUnicodeCodePoint,
    ControlCharacterWhileParsingString,
    KeyMustBeAString,
    LoneLeadingSurrogateInHexEscape,
    TrailingComma,
    TrailingCharacters,
    UnexpectedEndOfHexEscape,
    RecursionLimitExceeded,
}

impl Code {
    fn text(self) -> &'static str {
        match self {
            Code::EofWhileParsingList => "EOF while parsing a list",
            Code::EofWhileParsingObject => "EOF while parsing an object",
            Code::EofWhileParsingString => "EOF while parsing a string",
            Code::EofWhileParsingValue => "EOF while parsing a value",
            Code::ExpectedColon => "expected `:`",
            Code::ExpectedListCommaOrEnd => "expected `,` or `]`",
            Code::ExpectedObjectCommaOrEnd => "expected `,` or `}`",
            Code::ExpectedSomeIdent => "expected ident",
            Code::ExpectedSomeValue => "expected value",
            Code::InvalidEscape => "invalid escape",
            Code::InvalidNumber => "invalid number",
            Code::NumberOutOfRange => "number out of range",
            Code::InvalidUnicodeCodePoint => "invalid unicode code point",
            Code::ControlCharacterWhileParsingString => {
                "control character (\\u0000-\\u001F) found while parsing a string"
            }
            Code::KeyMustBeAString => "key must be a string",
            Code::LoneLeadingSurrogateInHexEscape => "lone leading surrogate in hex escape",
            Code::TrailingComma => "trailing comma",
            Code::TrailingCharacters => "trailing characters",
            Code::UnexpectedEndOfHexEscape => "unexpected end of hex escape",
            Code::RecursionLimitExceeded => "recursion limit exceeded",
        }
    }
}

impl Error {
    /// The line of the fault, from 1; 0 when the text could not be read.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column of the fault in bytes, from 1 (0: just after a line break, or unread).
    pub fn column(&self) -> usize {
        self.column
    }

    /// The text could not be read: the reader failed (not a fault in the text).
    pub fn is_io(&self) -> bool {
        matches!(self.kind, Kind::Io(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Io(e) => fmt::Display::fmt(e, f),
            Kind::Syntax(code) => write!(
                f,
                "{} at line {} column {}",
                code.text(),
                self.line,
                self.column
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The one JSON value in `bytes`, with nothing but whitespace around it.
pub fn from_slice(bytes: &[u8]) -> Result<Value, Error> {
    let mut src = bytes;
    let mut reader = Reader::with_window(&mut src, bytes.len().clamp(1, WINDOW));
    let value = reader.value()?;
    reader.end()?;
    Ok(value)
}

pub fn from_str(text: &str) -> Result<Value, Error> {
    from_slice(text.as_bytes())
}

/// JSON text read from a stream a value (or a part of one) at a time: the caller walks the
/// outer arrays and objects ([`Reader::open`], [`Reader::next_element`],
/// [`Reader::next_key`]) and reads ([`Reader::value`]) or skips ([`Reader::skip`]) what is in
/// them, so a large document never needs to be held as a whole.
pub struct Reader<'r> {
    src: &'r mut dyn Read,
    window: Box<[u8]>,
    /// The unread bytes are `window[pos..end]`.
    pos: usize,
    end: usize,
    /// Bytes read before `window[0]`.
    base: usize,
    /// The line being read, from 1, and the offset where it began.
    line: usize,
    line_start: usize,
    /// The most bytes taken from `src`: one more is an error ([`Reader::with_limit`]).
    limit: usize,
    /// Arrays and objects open.
    depth: u8,
    /// An array or object was just opened: its first element comes without a comma.
    fresh: bool,
}

impl<'r> Reader<'r> {
    pub fn new(src: &'r mut dyn Read) -> Reader<'r> {
        Reader::with_window(src, WINDOW)
    }

    /// A reader that takes at most `limit` + 1 bytes from `src`: reading past them is an
    /// error, and then [`Reader::bytes_read`] is over `limit`.
    pub fn with_limit(src: &'r mut dyn Read, limit: usize) -> Reader<'r> {
        Reader {
            limit,
            ..Reader::new(src)
        }
    }

    fn with_window(src: &'r mut dyn Read, size: usize) -> Reader<'r> {
        Reader {
            src,
            window: vec![0; size].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
            line: 1,
            line_start: 0,
            limit: usize::MAX,
            depth: 0,
            fresh: false,
        }
    }

    /// The bytes read so far (those looked at, not those waiting in the window).
    pub fn bytes_read(&self) -> usize {
        self.base + self.pos
    }

    /// The first byte of what comes next, past whitespace; None at the end of the text.
    pub fn peek_value(&mut self) -> Result<Option<u8>, Error> {
        self.whitespace()
    }

    /// The next value, whole.
    pub fn value(&mut self) -> Result<Value, Error> {
        self.parse(true)
    }

    /// Reads past the next value without keeping it. Like serde_json skipping a value, this
    /// checks the syntax only: a string's bytes and escapes are not decoded, a number not
    /// converted.
    pub fn skip(&mut self) -> Result<(), Error> {
        self.parse(false).map(drop)
    }

    /// Opens the array or object that [`Reader::peek_value`] saw begin.
    pub fn open(&mut self) -> Result<(), Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.peek_error(Code::RecursionLimitExceeded));
        }
        self.depth += 1;
        self.bump();
        self.fresh = true;
        Ok(())
    }

    /// In an open array: whether another element follows (read or skip it next); false once
    /// the array is closed.
    pub fn next_element(&mut self) -> Result<bool, Error> {
        self.next_item(true)
    }

    /// In an open object: the next member's name (read or skip its value next); None once the
    /// object is closed.
    pub fn next_key(&mut self) -> Result<Option<String>, Error> {
        self.next_member(true)
    }

    /// Only whitespace is left.
    pub fn end(&mut self) -> Result<(), Error> {
        match self.whitespace()? {
            Some(_) => Err(self.peek_error(Code::TrailingCharacters)),
            None => Ok(()),
        }
    }

    fn fill(&mut self) -> Result<bool, Error> {
        if self.pos < self.end {
            return Ok(true);
        }
        self.base += self.end;
        self.pos = 0;
        self.end = 0;
        if self.base > self.limit {
            return Err(Error {
                kind: Kind::Io(io::Error::other("input too large")),
                line: 0,
                column: 0,
            });
        }
        let room = (self.limit - self.base).saturating_add(1);
        let room = room.min(self.window.len());
        loop {
            match self.src.read(&mut self.window[..room]) {
                Ok(n) => {
                    self.end = n;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error {
                        kind: Kind::Io(e),
                        line: 0,
                        column: 0,
                    })
                }
            }
        }
    }

    #[inline]
    fn peek(&mut self) -> Result<Option<u8>, Error> {
        if self.pos == self.end && !self.fill()? {
            return Ok(None);
        }
        Ok(Some(self.window[self.pos]))
    }

    /// Takes the byte [`Reader::peek`] saw.
    #[inline]
    fn bump(&mut self) {
        let b = self.window[self.pos];
        self.pos += 1;
        if b == b'\n' {
            self.line += 1;
            self.line_start = self.base + self.pos;
        }
    }

    fn next(&mut self) -> Result<Option<u8>, Error> {
        let b = self.peek()?;
        if b.is_some() {
            self.bump();
        }
        Ok(b)
    }

    fn whitespace(&mut self) -> Result<Option<u8>, Error> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\n' | b'\t' | b'\r') => self.bump(),
                other => return Ok(other),
            }
        }
    }

    /// A fault at the last byte read.
    #[cold]
    fn error(&self, code: Code) -> Error {
        self.error_at(code, self.line, self.base + self.pos - self.line_start)
    }

    /// A fault at the next byte (at the end, the last one).
    #[cold]
    fn peek_error(&mut self, code: Code) -> Error {
        let column = self.base + self.pos - self.line_start;
        match self.peek() {
            Ok(Some(b'\n')) => self.error_at(code, self.line + 1, 0),
            Ok(Some(_)) => self.error_at(code, self.line, column + 1),
            _ => self.error_at(code, self.line, column),
        }
    }

    fn error_at(&self, code: Code, line: usize, column: usize) -> Error {
        Error {
            kind: Kind::Syntax(code),
            line,
            column,
        }
    }

    /// One value; with `keep` false nothing is built (null comes back) and only the syntax is
    /// checked, as serde_json checks what it skips.
    fn parse(&mut self, keep: bool) -> Result<Value, Error> {
        let Some(b) = self.whitespace()? else {
            return Err(self.peek_error(Code::EofWhileParsingValue));
        };
        Ok(match b {
            b'n' => {
                self.ident(b"null")?;
                Value::Null
            }
            b't' => {
                self.ident(b"true")?;
                Value::Bool(true)
            }
            b'f' => {
                self.ident(b"false")?;
                Value::Bool(false)
            }
            b'-' => {
                self.bump();
                self.number(false, keep)?
            }
            b'0'..=b'9' => self.number(true, keep)?,
            b'"' => {
                self.bump();
                Value::String(self.string(keep)?)
            }
            b'[' => {
                self.open()?;
                let mut items = Vec::new();
                while self.next_item(keep)? {
                    let item = self.parse(keep)?;
                    if keep {
                        items.push(item);
                    }
                }
                Value::Array(items)
            }
            b'{' => {
                self.open()?;
                let mut members = Map::new();
                while let Some(key) = self.next_member(keep)? {
                    let value = self.parse(keep)?;
                    if keep {
                        members.insert(key, value);
                    }
                }
                Value::Object(members)
            }
            _ => return Err(self.peek_error(Code::ExpectedSomeValue)),
        })
    }

    fn close(&mut self) {
        self.bump();
        self.depth -= 1;
        self.fresh = false;
    }

    /// `word` (`null`, `true`, `false`), whose first byte was peeked.
    fn ident(&mut self, word: &[u8]) -> Result<(), Error> {
        self.bump();
        for &want in &word[1..] {
            match self.next()? {
                None => return Err(self.error(Code::EofWhileParsingValue)),
                Some(b) if b != want => return Err(self.error(Code::ExpectedSomeIdent)),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Whether an element follows in the innermost (array) open; closes it at `]`.
    fn next_item(&mut self, keep: bool) -> Result<bool, Error> {
        match self.whitespace()? {
            None => Err(self.peek_error(Code::EofWhileParsingList)),
            Some(b']') => {
                self.close();
                Ok(false)
            }
            Some(_) if std::mem::take(&mut self.fresh) => Ok(true),
            Some(b',') => {
                self.bump();
                match self.whitespace()? {
                    // Skipping, serde_json looks for a value there, and says so.
                    Some(b']') if keep => Err(self.peek_error(Code::TrailingComma)),
                    Some(b']') => Err(self.peek_error(Code::ExpectedSomeValue)),
                    None => Err(self.peek_error(Code::EofWhileParsingValue)),
                    Some(_) => Ok(true),
                }
            }
            Some(_) => Err(self.peek_error(Code::ExpectedListCommaOrEnd)),
        }
    }

    /// The next member's name and its colon in the innermost (object) open; None when it
    /// closes.
    fn next_member(&mut self, keep: bool) -> Result<Option<String>, Error> {
        match self.whitespace()? {
            None => return Err(self.peek_error(Code::EofWhileParsingObject)),
            Some(b'}') => {
                self.close();
                return Ok(None);
            }
            Some(b) if std::mem::take(&mut self.fresh) => {
                if b != b'"' {
                    return Err(self.peek_error(Code::KeyMustBeAString));
                }
            }
            Some(b',') => {
                self.bump();
                let code = match self.whitespace()? {
                    Some(b'"') => None,
                    // Skipping, serde_json looks for a key there, and says so.
                    Some(b'}') if keep => Some(Code::TrailingComma),
                    None if keep => Some(Code::EofWhileParsingValue),
                    None => Some(Code::EofWhileParsingObject),
                    Some(_) => Some(Code::KeyMustBeAString),
                };
                if let Some(code) = code {
                    return Err(self.peek_error(code));
                }
            }
            Some(_) => return Err(self.peek_error(Code::ExpectedObjectCommaOrEnd)),
        }
        self.bump();
        let key = self.string(keep)?;
        match self.whitespace()? {
            Some(b':') => self.bump(),
            Some(_) => return Err(self.peek_error(Code::ExpectedColon)),
            None => return Err(self.peek_error(Code::EofWhileParsingObject)),
        }
        Ok(Some(key))
    }

    /// A string's content up to its closing quote (the opening one was read). With `keep`
    /// false the bytes are checked for control characters and escapes only (empty string back).
    fn string(&mut self, keep: bool) -> Result<String, Error> {
        let mut out = Vec::new();
        loop {
            if !self.fill()? {
                return Err(self.error(Code::EofWhileParsingString));
            }
            let run = &self.window[self.pos..self.end];
            let plain = run
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(run.len());
            if keep {
                out.extend_from_slice(&run[..plain]);
            }
            // No line break among them: that is a control character.
            self.pos += plain;
            if self.pos == self.end {
                continue;
            }
            let b = self.window[self.pos];
            self.bump();
            match b {
                b'"' => break,
                b'\\' => self.escape(&mut out, keep)?,
                _ => return Err(self.error(Code::ControlCharacterWhileParsingString)),
            }
        }
        String::from_utf8(out).map_err(|e| {
            // At the first bad byte, counted back from the closing quote (approximate when
            // escapes came before it, as in serde_json).
            let bad = e.as_bytes().len() - e.utf8_error().valid_up_to();
            let column = self.base + self.pos - self.line_start;
            self.error_at(
                Code::InvalidUnicodeCodePoint,
                self.line,
                column.saturating_sub(bad),
            )
        })
    }

    /// The escape after a backslash.
    fn escape(&mut self, out: &mut Vec<u8>, keep: bool) -> Result<(), Error> {
        let Some(b) = self.next()? else {
            return Err(self.error(Code::EofWhileParsingString));
        };
        let c = match b {
            b'"' | b'\\' | b'/' => b,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.unicode_escape(out, keep),
            _ => return Err(self.error(Code::InvalidEscape)),
        };
        out.push(c);
        Ok(())
    }

    /// `\uXXXX`, and a surrogate pair's second half. Skipping, serde_json pairs nothing.
    fn unicode_escape(&mut self, out: &mut Vec<u8>, keep: bool) -> Result<(), Error> {
        let first = self.hex4()?;
        if !keep {
            return Ok(());
        }
        let c = match first {
            // serde_json's words for a second half alone.
            0xdc00..=0xdfff => return Err(self.error(Code::LoneLeadingSurrogateInHexEscape)),
            0xd800..=0xdbff => {
                for want in [b'\\', b'u'] {
                    match self.next()? {
                        None => return Err(self.error(Code::EofWhileParsingString)),
                        Some(b) if b != want => {
                            return Err(self.error(Code::UnexpectedEndOfHexEscape))
                        }
                        Some(_) => {}
                    }
                }
                let second = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&second) {
                    return Err(self.error(Code::LoneLeadingSurrogateInHexEscape));
                }
                0x10000 + ((first - 0xd800) << 10 | (second - 0xdc00))
            }
            c => c,
        };
        // Never a surrogate here, always in range.
        let c = char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }

    /// Four hex digits, all read before any is judged.
    fn hex4(&mut self) -> Result<u32, Error> {
        let mut n = 0;
        let mut bad = false;
        for _ in 0..4 {
            let Some(b) = self.next()? else {
                return Err(self.error(Code::EofWhileParsingString));
            };
            match char::from(b).to_digit(16) {
                Some(d) => n = n * 16 + d,
                None => bad = true,
            }
        }
        if bad {
            return Err(self.error(Code::InvalidEscape));
        }
        Ok(n)
    }

    /// A number after its sign. serde_json's reading: the digits gathered into a `u64` while
    /// they fit (integer digits past that only count as a power of ten, fraction digits past
    /// it are dropped), the exponent added, then scaled by the nearest `f64` power of ten. Not
    /// always the nearest float to the decimal, but the one serde_json reads. Skipping, serde_json
    /// neither converts nor range-checks, and calls the end of the text an invalid number.
    fn number(&mut self, positive: bool, keep: bool) -> Result<Value, Error> {
        let eof = if keep {
            Code::EofWhileParsingValue
        } else {
            Code::InvalidNumber
        };
        let digit = |b: Option<u8>| match b {
            Some(b @ b'0'..=b'9') => Some(u64::from(b - b'0')),
            _ => None,
        };
        let mut significand = 0u64;
        let mut exponent = 0i32;
        // Digits were dropped from the integer part: it is no whole number.
        let mut dropped = false;
        match self.next()? {
            None => return Err(self.error(eof)),
            Some(b'0') => {
                if digit(self.peek()?).is_some() {
                    return Err(self.peek_error(Code::InvalidNumber));
                }
            }
            Some(b @ b'1'..=b'9') => {
                significand = u64::from(b - b'0');
                while let Some(d) = digit(self.peek()?) {
                    self.bump();
                    match significand.checked_mul(10).and_then(|s| s.checked_add(d)) {
                        Some(s) if !dropped => significand = s,
                        _ => {
                            dropped = true;
                            exponent = exponent.saturating_add(1);
                        }
                    }
                }
            }
            Some(_) => return Err(self.error(Code::InvalidNumber)),
        }
        let mut whole = !dropped;
        if self.peek()? == Some(b'.') {
            self.bump();
            whole = false;
            let mut any = false;
            let mut full = false;
            while let Some(d) = digit(self.peek()?) {
                self.bump();
                any = true;
                match significand.checked_mul(10).and_then(|s| s.checked_add(d)) {
                    Some(s) if !full => {
                        significand = s;
                        exponent -= 1;
                    }
                    _ => full = true,
                }
            }
            if !any {
                let code = match self.peek()? {
                    None if keep => Code::EofWhileParsingValue,
                    _ => Code::InvalidNumber,
                };
                return Err(self.peek_error(code));
            }
        }
        if let Some(b'e' | b'E') = self.peek()? {
            self.bump();
            whole = false;
            let negative = match self.peek()? {
                Some(b'-') => {
                    self.bump();
                    true
                }
                Some(b'+') => {
                    self.bump();
                    false
                }
                _ => false,
            };
            let mut e = match self.next()? {
                None => return Err(self.error(eof)),
                Some(b @ b'0'..=b'9') => i32::from(b - b'0'),
                Some(_) => return Err(self.error(Code::InvalidNumber)),
            };
            let mut huge = false;
            while let Some(d) = digit(self.peek()?) {
                self.bump();
                match e.checked_mul(10).and_then(|e| e.checked_add(d as i32)) {
                    Some(x) if !huge => e = x,
                    _ if huge || !keep => {}
                    // Past i32: out of range, or zero.
                    _ if significand != 0 && !negative => {
                        return Err(self.error(Code::NumberOutOfRange))
                    }
                    _ => huge = true,
                }
            }
            if huge {
                return Ok(Value::Number(float(if positive { 0.0 } else { -0.0 })));
            }
            exponent = if negative {
                exponent.saturating_sub(e)
            } else {
                exponent.saturating_add(e)
            };
        }
        if !keep {
            return Ok(Value::Null);
        }
        if whole {
            return Ok(Value::Number(match positive {
                true => Number::from(significand),
                // -0 is a float, and so is what lies below i64.
                false if significand == 0 || significand > 1 << 63 => float(-(significand as f64)),
                false => Number::from((significand as i64).wrapping_neg()),
            }));
        }
        let f = self.scale(significand as f64, exponent)?;
        Ok(Value::Number(float(if positive { f } else { -f })))
    }

    /// `f` × 10^`exponent`, as serde_json computes it; out of range when it is infinite.
    fn scale(&self, mut f: f64, mut exponent: i32) -> Result<f64, Error> {
        loop {
            let n = exponent.unsigned_abs();
            if n <= 308 {
                if exponent < 0 {
                    return Ok(f / pow10(n));
                }
                f *= pow10(n);
                if f.is_infinite() {
                    return Err(self.error(Code::NumberOutOfRange));
                }
                return Ok(f);
            }
            if f == 0.0 {
                return Ok(f);
            }
            if exponent >= 0 {
                return Err(self.error(Code::NumberOutOfRange));
            }
            f /= pow10(308);
            exponent += 308;
        }
    }
}

fn float(f: f64) -> Number {
    Number::from_f64(f).unwrap_or_else(|| Number::from(0u64))
}

/// The `f64` nearest to 10^`n` (`n` ≤ 308): the float literal `1e{n}` is. Computed rather
/// than tabled (a table is 2.4 KB of flash): exact products up to 10^22; past that 5^`n` in
/// 64-bit limbs, rounded to 53 bits half to even, times 2^`n`.
fn pow10(n: u32) -> f64 {
    if n <= 22 {
        return (0..n).fold(1.0, |p, _| p * 10.0);
    }
    // 5^308 has 716 bits.
    let mut limbs = [0u64; 12];
    limbs[0] = 1;
    let mut len = 1;
    let mut left = n;
    while left > 0 {
        // 5^27 is the largest power of five below 2^63.
        let k = left.min(27);
        left -= k;
        let m = u128::from(5u64.pow(k));
        let mut carry = 0u128;
        for limb in &mut limbs[..len] {
            let x = u128::from(*limb) * m + carry;
            *limb = x as u64;
            carry = x >> 64;
        }
        if carry != 0 {
            limbs[len] = carry as u64;
            len += 1;
        }
    }
    let top = limbs[len - 1];
    let zeros = top.leading_zeros();
    let next = if len > 1 { limbs[len - 2] } else { 0 };
    let high = if zeros == 0 {
        top
    } else {
        top << zeros | next >> (64 - zeros)
    };
    let rest = next << zeros != 0 || limbs[..len.saturating_sub(2)].iter().any(|&l| l != 0);
    let mut mantissa = high >> 11;
    let half = high >> 10 & 1 == 1;
    let sticky = high & 0x3ff != 0 || rest;
    if half && (sticky || mantissa & 1 == 1) {
        mantissa += 1;
    }
    // 10^n = mantissa × 2^(bits of 5^n − 53) × 2^n; both factors exact in an f64.
    let scale = (len as i32 * 64 - zeros as i32 - 53 + n as i32) as u64;
    mantissa as f64 * f64::from_bits((scale + 1023) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_ten_are_the_nearest_floats() {
        for n in 0..=308 {
            let literal: f64 = format!("1e{n}").parse().unwrap();
            assert_eq!(pow10(n).to_bits(), literal.to_bits(), "1e{n}");
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        let err = |text: &str| from_slice(text.as_bytes()).unwrap_err().to_string();
        assert_eq!(err(""), "EOF while parsing a value at line 1 column 0");
        assert_eq!(err("[1,]"), "trailing comma at line 1 column 4");
        assert_eq!(err("{\n  \"a\": x}"), "expected value at line 2 column 8");
        assert_eq!(
            err("\"a\nb\""),
            "control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0"
        );
        assert_eq!(err("1 2"), "trailing characters at line 1 column 3");
    }
}
