//! miniupnpd's lease files: the mappings it will re-create when it next starts.
//!
//! IPv4 lines are read exactly as miniupnpd reads them back on start (miniupnp/miniupnp
//! `miniupnpd/upnpredirect.c` `reload_from_lease_file`, unchanged from 2.2.1 to 2.3.11; OpenWrt
//! 21.02 ships 2.2.1, 22.03/23.05 2.3.3, 24.10/25.12 2.3.9), on OpenWrt's C library (musl):
//!
//! - `fgets` into `char line[320]` (2.3.8 on; 128 before): a line longer than 319 bytes is read as
//!   several lines, its tail as a line of its own. A NUL ends the line for every C string call.
//! - `PROTO:EXT_PORT:INT_ADDR:INT_PORT:TIMESTAMP:DESC`, split at the first five colons with
//!   `strchr`, so the description keeps any colons it holds. Fewer than five colons: "unrecognized
//!   data", skipped. The timestamp field has been required since the file was added (2011); an
//!   empty one reads as 0, "never expires".
//! - `PROTO`: `proto_atoi` (upnputils.c), `strcasecmp` against UDP and UDPLITE, anything else TCP.
//! - Ports: `(unsigned short)atoi(field)`: blanks, a sign, digits, then anything; the value wraps to
//!   16 bits (musl's `atoi` computes in `int`), so `70000` opens 4464 and `-1` opens 65535.
//! - `INT_ADDR`: `inet_aton` in `upnp_redirect` (a failure skips the line), and `inet_addr` for the
//!   nft rule: `192.168.1` is 192.168.0.1, `0xc0.0xa8.1.5` and `3232235781` are 192.168.1.5.
//! - `TIMESTAMP`: `(unsigned int)strtoul(field, NULL, 10)`, an absolute Unix time; a time already
//!   past skips the line ("already expired lease", judged in [`crate::facts::mappings`]).
//! - The description is trimmed with `isspace` at both ends.
//!
//! The writer (`lease_file_add`) prints `"%s:%hu:%s:%hu:%u:%s\n"` with `proto_itoa`, the
//! address a client gave in canonical dotted-quad form (AddPortMapping takes it through
//! `inet_pton`, or `inet_ntoa` after a host lookup) and, from 2.3.11, no byte below 0x20 in the
//! description. A line it could not have printed — a wrapped or signed port, external port 0, an
//! address form only `inet_aton` takes, a control character, the tail of an overlong line, a line
//! after a description that ended in CR — was forged or injected: [`Lease::forged`] says how.
//!
//! Not modelled: glibc (Debian, not OpenWrt) also accepts an address followed by a blank and
//! anything, and saturates ports past 2^63; on a 64-bit router a timestamp past 2^32 wraps
//! where a 32-bit one saturates (both are forged lines either way, read here as saturated).
//! miniupnpd after 2.3.11 (unreleased, commit 671e5c0) inserts a remote-host field; the released
//! reader takes such a line's address as its internal port, and so does this one.
//!
//! - IPv6 pinholes: `PROTO;INT_CLIENT;INT_PORT;REM_CLIENT;REM_PORT;UID;TIMESTAMP;DESC`
//!   (`upnppinhole.c` `lease_file6_add` / `reload_from_lease_file6`), read strictly.
use std::fmt;
use std::io::{self, BufRead};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Deref;

use serde::{Serialize, Serializer};

use crate::formats::linefile::{ascii, digits, parse_lines, BadLine, Parsed};
use crate::formats::{Expected, Field, FormatError, LineLayout};
pub use crate::ports::Protocol;
use crate::text::lan_text;

/// miniupnpd's `fgets` buffer for the IPv4 lease file since 2.3.8 (commit 20879ab): it reads at
/// most 319 bytes as one line.
pub const LINE_BUFFER: usize = 320;

/// One IPv4 mapping line, as miniupnpd will re-create it. 48 bytes, descriptions of up to
/// [`Description::INLINE`] bytes included: a LAN device may write 65,535 of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// 1-based line number in the file (a tail read as a line of its own keeps its line's number).
    pub line: u32,
    pub proto: Protocol,
    /// The port miniupnpd opens: the written number wrapped to 16 bits.
    pub ext_port: u16,
    pub int_addr: Ipv4Addr,
    pub int_port: u16,
    /// Absolute Unix time of expiry; 0 = permanent.
    pub expires: u64,
    /// Chosen by the LAN client: cleaned with [`crate::text::lan_text`].
    pub description: Description,
    /// Why miniupnpd could not have written this line itself; empty for a line it could have.
    #[serde(skip_serializing_if = "Forgeries::is_none")]
    pub forged: Forgeries,
}

/// A lease's description: held in the lease when short (most are a program's name and a port),
/// behind one pointer otherwise. Reads as a `&str`.
#[derive(Clone, PartialEq, Eq)]
pub struct Description(DescriptionRepr);

#[derive(Clone, PartialEq, Eq)]
enum DescriptionRepr {
    Inline {
        len: u8,
        bytes: [u8; Description::INLINE],
    },
    Boxed(Box<Box<str>>),
}

impl Description {
    /// The longest description held without an allocation of its own.
    pub const INLINE: usize = 14;

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always whole characters: copied from a `str` of exactly this length.
            DescriptionRepr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            DescriptionRepr::Boxed(text) => text,
        }
    }
}

impl From<String> for Description {
    fn from(text: String) -> Self {
        if text.len() <= Description::INLINE {
            let mut bytes = [0; Description::INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Description(DescriptionRepr::Inline {
                len: text.len() as u8,
                bytes,
            })
        } else {
            Description(DescriptionRepr::Boxed(Box::new(text.into_boxed_str())))
        }
    }
}

impl Deref for Description {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Description {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Description {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Description {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A lease's [`Forgery`] marks: one pointer, null for the line miniupnpd could have written
/// (nearly all of them). Reads as a slice.
#[derive(Clone, Default, PartialEq, Eq)]
// A thin pointer: a boxed slice would take 16 bytes of every lease.
#[allow(clippy::box_collection)]
pub struct Forgeries(Option<Box<Vec<Forgery>>>);

impl Forgeries {
    fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl From<Vec<Forgery>> for Forgeries {
    fn from(marks: Vec<Forgery>) -> Self {
        Forgeries((!marks.is_empty()).then(|| Box::new(marks)))
    }
}

impl Deref for Forgeries {
    type Target = [Forgery];
    fn deref(&self) -> &[Forgery] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<'a> IntoIterator for &'a Forgeries {
    type Item = &'a Forgery;
    type IntoIter = std::slice::Iter<'a, Forgery>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq<Vec<Forgery>> for Forgeries {
    fn eq(&self, other: &Vec<Forgery>) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Forgeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for Forgeries {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl Lease {
    /// miniupnpd writes 0 for a mapping that never expires.
    pub fn is_permanent(&self) -> bool {
        self.expires == 0
    }

    pub fn is_forged(&self) -> bool {
        !self.forged.is_empty()
    }
}

/// A mark no line written by miniupnpd carries. The texts are cleaned and cut short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Forgery {
    /// A port written other than as miniupnpd prints one (`%hu`): out of range, signed, padded,
    /// or followed by other text.
    Port {
        field: PortField,
        written: String,
        opens: u16,
    },
    /// External port 0: AddPortMapping refuses it (716 WildCardNotPermittedInExtPort).
    ExternalPortZero,
    /// An address form `inet_aton` accepts and AddPortMapping never writes.
    Address { written: String, opens: Ipv4Addr },
    /// Not TCP, UDP or UDPLITE as `proto_itoa` spells them; miniupnpd opens TCP.
    Protocol { written: String },
    /// Not an unsigned 32-bit decimal as `%u` prints it.
    Timestamp { written: String, reads: u64 },
    /// A byte below 0x20 other than the line's end: only a description carried in CDATA (before
    /// miniupnpd 2.3.11) or a hand edit puts one there.
    ControlCharacter,
    /// Bytes past miniupnpd's 319-byte read of an overlong line, which it reads as a line of its
    /// own: a description long enough to smuggle a line in.
    OverlongTail,
    /// Follows a line that ended in CR: the mark of a description that carried CR/LF and so
    /// wrote this line into the file.
    AfterCarriageReturn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortField {
    External,
    Internal,
}

impl fmt::Display for Forgery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Forgery::Port {
                field,
                written,
                opens,
            } => {
                let which = match field {
                    PortField::External => "external",
                    PortField::Internal => "internal",
                };
                write!(
                    f,
                    "{which} port written as '{written}', which miniupnpd reads as {opens}"
                )
            }
            Forgery::ExternalPortZero => f.write_str(
                "external port 0, which no UPnP client can request (AddPortMapping refuses it)",
            ),
            Forgery::Address { written, opens } => write!(
                f,
                "internal address written as '{written}', which miniupnpd takes as {opens} \
                 (a UPnP request is stored as a plain dotted quad)"
            ),
            Forgery::Protocol { written } => {
                write!(
                    f,
                    "protocol written as '{written}', which miniupnpd takes as TCP"
                )
            }
            Forgery::Timestamp { written, reads } => write!(
                f,
                "expiry written as '{written}', which miniupnpd reads as {reads}"
            ),
            Forgery::ControlCharacter => f.write_str(
                "a control character (CR, LF, tab, NUL…) that miniupnpd never writes for a UPnP \
                 client",
            ),
            Forgery::OverlongTail => write!(
                f,
                "the tail of a line longer than miniupnpd's {}-byte read, which it reads as a \
                 line of its own",
                LINE_BUFFER - 1
            ),
            Forgery::AfterCarriageReturn => f.write_str(
                "it follows a line that ends in a carriage return: a description carrying CR/LF \
                 wrote it into the file",
            ),
        }
    }
}

/// One IPv6 pinhole line (`PROTO;INT;INTPORT;REM;REMPORT;UID;TS;DESC`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pinhole {
    pub line: usize,
    pub proto: Protocol,
    pub int_client: Ipv6Addr,
    pub int_port: u16,
    pub remote_client: Option<IpAddr>,
    pub remote_port: u16,
    pub uid: u32,
    /// As written by miniupnpd; not a plain Unix time (openwrt-facts §1.6), so never used to
    /// decide that a pinhole has expired.
    pub timestamp: u64,
    pub description: String,
}

/// Reads miniupnpd's IPv4 lease file (`upnp_lease_file`, default `/var/run/miniupnpd.leases`)
/// as miniupnpd 2.3.8 and later read it. A line miniupnpd skips is a bad line that says so.
pub fn parse_leases(input: &[u8]) -> Parsed<Lease> {
    parse_leases_with_buffer(input, LINE_BUFFER)
}

/// As [`parse_leases`], for a miniupnpd reading with a `buffer`-byte `fgets` (128 before 2.3.8).
pub fn parse_leases_with_buffer(input: &[u8], buffer: usize) -> Parsed<Lease> {
    // Reading a slice cannot fail.
    read_leases_with_buffer(input, buffer, u64::MAX)
        .map(|read| read.parsed)
        .unwrap_or_default()
}

/// What [`read_leases`] read.
#[derive(Debug, Default)]
pub struct LeaseRead {
    pub parsed: Parsed<Lease>,
    /// Bytes of the whole lines read.
    pub bytes: u64,
    /// The file went on past the limit: the line it cuts through and everything after it were
    /// not read.
    pub cut: bool,
}

/// As [`parse_leases`], reading the file as it comes, one `fgets` at a time, so that its text is
/// never held next to the leases (a LAN device can write 65,535 lines). Reads the whole lines
/// within the first `limit` bytes.
pub fn read_leases(input: impl BufRead, limit: u64) -> io::Result<LeaseRead> {
    read_leases_with_buffer(input, LINE_BUFFER, limit)
}

fn read_leases_with_buffer(
    mut input: impl BufRead,
    buffer: usize,
    limit: u64,
) -> io::Result<LeaseRead> {
    let take = buffer.saturating_sub(1).max(1);
    let mut read = LeaseRead::default();
    let parsed = &mut read.parsed;
    let mut chunk = Vec::with_capacity(take);
    let mut after_cr = false;
    let mut number: u32 = 1;
    let mut tail = false;
    let mut consumed: u64 = 0;
    loop {
        fgets(&mut input, &mut chunk, take)?;
        if chunk.is_empty() {
            break;
        }
        consumed += chunk.len() as u64;
        if consumed > limit {
            // The line in progress is not whole: forget the pieces of it already read.
            while parsed.entries.last().is_some_and(|l| l.line == number) {
                parsed.entries.pop();
            }
            while parsed
                .bad_lines
                .last()
                .is_some_and(|b| b.line == number as usize)
            {
                parsed.bad_lines.pop();
            }
            read.cut = true;
            break;
        }
        let ends_line = chunk.last() == Some(&b'\n');
        match lease_line(number, &chunk, tail, after_cr) {
            Ok(lease) => parsed.entries.push(lease),
            Err(message) => parsed.bad_lines.push(message),
        }
        after_cr = chunk.ends_with(b"\r\n");
        if ends_line {
            number = number.saturating_add(1);
            tail = false;
            read.bytes = consumed;
        } else {
            tail = true;
        }
    }
    if !read.cut {
        read.bytes = consumed;
    }
    Ok(read)
}

/// One C `fgets` into `chunk`: up to `take` bytes, through the first newline.
fn fgets(input: &mut impl BufRead, chunk: &mut Vec<u8>, take: usize) -> io::Result<()> {
    chunk.clear();
    while chunk.len() < take {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let room = &available[..available.len().min(take - chunk.len())];
        let (used, ends) = match room.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (room.len(), false),
        };
        chunk.extend_from_slice(&room[..used]);
        input.consume(used);
        if ends {
            break;
        }
    }
    Ok(())
}

/// Reads miniupnpd's IPv6 pinhole file (`lease_file6`, default `/var/run/miniupnpd.leases6`).
pub fn parse_leases6(input: &[u8]) -> Parsed<Pinhole> {
    parse_lines(input, parse_pinhole_line)
}

/// One `fgets` result, as `reload_from_lease_file` reads it.
fn lease_line(number: u32, chunk: &[u8], tail: bool, after_cr: bool) -> Result<Lease, BadLine> {
    let skipped = |what: String| BadLine {
        line: number as usize,
        message: format!(
            "{}{what}; miniupnpd skips this line",
            if tail {
                "the tail of an overlong line, read by miniupnpd as a line of its own: "
            } else {
                ""
            }
        ),
    };
    // Every C string call stops at a NUL.
    let text = chunk.split(|&b| b == 0).next().unwrap_or_default();
    let mut fields: Vec<&[u8]> = text.splitn(6, |&b| b == b':').collect();
    if fields.len() < 6 {
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(skipped("a blank line".into()));
        }
        let e = FormatError::FieldCount {
            layout: LineLayout::UpnpLease,
            found: fields.len(),
        };
        return Err(skipped(e.to_string()));
    }
    let desc = fields.pop().unwrap_or_default();
    let (proto_text, eport_text, addr_text, iport_text, ts_text) =
        (fields[0], fields[1], fields[2], fields[3], fields[4]);
    let int_addr = inet_aton(addr_text).ok_or_else(|| {
        let e = FormatError::bad_field(Field::InternalAddress, addr_text, Expected::Ipv4Address);
        skipped(e.to_string())
    })?;
    let proto = proto_atoi(proto_text);
    let ext_port = atoi(eport_text) as u16;
    let int_port = atoi(iport_text) as u16;
    let expires = u64::from(strtoul32(ts_text));

    let mut forged = Vec::new();
    if !matches!(proto_text, b"TCP" | b"UDP" | b"UDPLITE") {
        forged.push(Forgery::Protocol {
            written: shown(proto_text),
        });
    }
    for (field, written, opens) in [
        (PortField::External, eport_text, ext_port),
        (PortField::Internal, iport_text, int_port),
    ] {
        if written != opens.to_string().as_bytes() {
            forged.push(Forgery::Port {
                field,
                written: shown(written),
                opens,
            });
        }
    }
    if ext_port == 0 {
        forged.push(Forgery::ExternalPortZero);
    }
    if addr_text != int_addr.to_string().as_bytes() {
        forged.push(Forgery::Address {
            written: shown(addr_text),
            opens: int_addr,
        });
    }
    if ts_text != expires.to_string().as_bytes() {
        forged.push(Forgery::Timestamp {
            written: shown(ts_text),
            reads: expires,
        });
    }
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    if body.iter().any(|&b| b < 0x20) {
        forged.push(Forgery::ControlCharacter);
    }
    if tail {
        forged.push(Forgery::OverlongTail);
    }
    if after_cr {
        forged.push(Forgery::AfterCarriageReturn);
    }
    Ok(Lease {
        line: number,
        proto,
        ext_port,
        int_addr,
        int_port,
        expires,
        description: description_text(desc).into(),
        forged: forged.into(),
    })
}

/// A written field for a message: cleaned like any LAN text and cut short.
fn shown(raw: &[u8]) -> String {
    const SHOWN: usize = 40;
    let mut text = lan_text(&raw[..raw.len().min(SHOWN)]);
    if raw.len() > SHOWN {
        text.push('…');
    }
    text
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// What C's number parsers read first: leading blanks, one optional sign, then the decimal
/// digits up to the first non-digit. Whether it was a minus, and the digits' values.
fn c_decimal(field: &[u8]) -> (bool, impl Iterator<Item = u8> + '_) {
    let start = field
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(field.len());
    let rest = field.get(start..).unwrap_or_default();
    let (negative, digits) = match rest.split_first() {
        Some((b'-', tail)) => (true, tail),
        Some((b'+', tail)) => (false, tail),
        _ => (false, rest),
    };
    let values = digits
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .map(|b| b - b'0');
    (negative, values)
}

/// musl's `atoi`: [`c_decimal`] computed in wrapping `int` arithmetic. Nothing is an error: no
/// digits is 0.
pub fn atoi(field: &[u8]) -> i32 {
    let (negative, digits) = c_decimal(field);
    let mut n: i32 = 0;
    for d in digits {
        n = n.wrapping_mul(10).wrapping_sub(i32::from(d));
    }
    if negative {
        n
    } else {
        n.wrapping_neg()
    }
}

/// `(unsigned int)strtoul(field, NULL, 10)` on a 32-bit router: [`c_decimal`]; past `ULONG_MAX`
/// it saturates, and a minus negates in unsigned arithmetic.
pub fn strtoul32(field: &[u8]) -> u32 {
    let (negative, digits) = c_decimal(field);
    let mut n: u32 = 0;
    for d in digits {
        match n.checked_mul(10).and_then(|n| n.checked_add(u32::from(d))) {
            Some(v) => n = v,
            // ERANGE: ULONG_MAX, and the sign is not applied.
            None => return u32::MAX,
        }
    }
    if negative {
        n.wrapping_neg()
    } else {
        n
    }
}

/// musl's `inet_aton`: one to four parts separated by dots, each starting with a digit and read
/// by `strtoul` in base 0 (`0x` hex, leading `0` octal); the last part fills the remaining bytes
/// (`a`, `a.b`, `a.b.c`, `a.b.c.d`). Nothing may follow the last part.
pub fn inet_aton(field: &[u8]) -> Option<Ipv4Addr> {
    let mut parts = [0u64; 4];
    let mut count = 0;
    for part in field.split(|&b| b == b'.') {
        if count == 4 {
            return None;
        }
        parts[count] = strtoul_base0(part)?;
        count += 1;
    }
    let (head, last) = (&parts[..count - 1], parts[count - 1]);
    if head.iter().any(|&p| p > 255) {
        return None;
    }
    let last_bits = 8 * (4 - head.len() as u32);
    if last >= 1u64 << last_bits {
        return None;
    }
    let mut value: u32 = 0;
    for (i, &p) in head.iter().enumerate() {
        value |= (p as u32) << (24 - 8 * i as u32);
    }
    Some(Ipv4Addr::from(value | last as u32))
}

/// One `inet_aton` part: a whole field read by `strtoul(part, &end, 0)` that must start with a
/// digit; `None` when it is empty or anything follows the number. Saturates like a 64-bit
/// `strtoul`, which is then too large for any part.
fn strtoul_base0(part: &[u8]) -> Option<u64> {
    if !part.first()?.is_ascii_digit() {
        return None;
    }
    let (radix, digits) = match part {
        [b'0', b'x' | b'X', rest @ ..] if rest.first().is_some_and(u8::is_ascii_hexdigit) => {
            (16, rest)
        }
        // "0x" with no hex digit: strtoul reads the "0" and stops at the "x".
        [b'0', b'x' | b'X', ..] => return None,
        [b'0', rest @ ..] => (8, rest),
        _ => (10, part),
    };
    let mut n: u64 = 0;
    for &b in digits {
        let d = char::from(b).to_digit(radix)?;
        n = n
            .saturating_mul(u64::from(radix))
            .saturating_add(u64::from(d));
    }
    Some(n)
}

fn parse_pinhole_line(number: usize, line: &[u8]) -> Result<Pinhole, FormatError> {
    let fields: Vec<&[u8]> = line.splitn(8, |&b| b == b';').collect();
    if fields.len() < 8 {
        return Err(FormatError::FieldCount {
            layout: LineLayout::UpnpPinhole,
            found: fields.len(),
        });
    }
    let proto = proto_atoi(fields[0]);
    let int_client = ascii(fields[1])
        .and_then(|s| s.parse::<Ipv6Addr>().ok())
        .ok_or_else(|| {
            FormatError::bad_field(Field::InternalClient, fields[1], Expected::Ipv6Address)
        })?;
    let int_port = port(fields[2], Field::InternalPort)?;
    // miniupnpd writes an empty field for "any remote host"; `*` is the UPnP wildcard.
    let remote_client = match fields[3] {
        b"" | b"*" => None,
        text => Some(
            ascii(text)
                .and_then(|s| s.parse::<IpAddr>().ok())
                .ok_or_else(|| {
                    FormatError::bad_field(Field::RemoteClient, text, Expected::IpAddress)
                })?,
        ),
    };
    let remote_port = port(fields[4], Field::RemotePort)?;
    let uid = digits(fields[5])
        .and_then(|s| s.parse::<u32>().ok())
        .ok_or_else(|| FormatError::bad_field(Field::PinholeId, fields[5], Expected::Number))?;
    let timestamp = unix_time(fields[6], Field::Timestamp)?;
    Ok(Pinhole {
        line: number,
        proto,
        int_client,
        int_port,
        remote_client,
        remote_port,
        uid,
        timestamp,
        description: description_text(fields[7]),
    })
}

/// miniupnpd trims the description with C's `isspace` when it reads the file back, so leading
/// and trailing blanks (and a stray CR) never reach the mapping.
fn description_text(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|&b| !is_c_space(b))
        .map_or(start, |i| i + 1);
    lan_text(&raw[start..end])
}

fn port(raw: &[u8], field: Field) -> Result<u16, FormatError> {
    digits(raw)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| FormatError::bad_field(field, raw, Expected::Port))
}

fn unix_time(raw: &[u8], field: Field) -> Result<u64, FormatError> {
    digits(raw)
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| FormatError::bad_field(field, raw, Expected::UnixTime))
}

/// As miniupnpd's `proto_atoi` reads a lease file: "UDP" and "UDPLITE" in any case, and
/// everything else — even an empty or garbled field — as TCP, because that is what the daemon
/// re-creates from such a line.
fn proto_atoi(field: &[u8]) -> Protocol {
    if field.eq_ignore_ascii_case(b"UDP") {
        Protocol::Udp
    } else if field.eq_ignore_ascii_case(b"UDPLITE") {
        Protocol::UdpLite
    } else {
        Protocol::Tcp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> Lease {
        let parsed = parse_leases(input.as_bytes());
        assert!(parsed.bad_lines.is_empty(), "{:?}", parsed.bad_lines);
        assert_eq!(parsed.entries.len(), 1);
        parsed.entries.into_iter().next().unwrap()
    }

    fn kinds(l: &Lease) -> Vec<&'static str> {
        l.forged
            .iter()
            .map(|f| match f {
                Forgery::Port {
                    field: PortField::External,
                    ..
                } => "ext",
                Forgery::Port {
                    field: PortField::Internal,
                    ..
                } => "int",
                Forgery::ExternalPortZero => "ext0",
                Forgery::Address { .. } => "addr",
                Forgery::Protocol { .. } => "proto",
                Forgery::Timestamp { .. } => "ts",
                Forgery::ControlCharacter => "ctl",
                Forgery::OverlongTail => "tail",
                Forgery::AfterCarriageReturn => "after-cr",
            })
            .collect()
    }

    #[test]
    fn line_miniupnpd_writes_is_read_and_not_forged() {
        let l = one("TCP:33333:192.168.0.100:33333:1485578298:NAT-PMP 33333 tcp\n");
        assert_eq!(l.proto, Protocol::Tcp);
        assert_eq!(l.ext_port, 33333);
        assert_eq!(l.int_addr, Ipv4Addr::new(192, 168, 0, 100));
        assert_eq!(l.int_port, 33333);
        assert_eq!(l.expires, 1485578298);
        assert_eq!(l.description, "NAT-PMP 33333 tcp");
        assert_eq!(l.line, 1);
        assert!(!l.is_forged(), "{:?}", l.forged);
    }

    #[test]
    fn description_with_colons_is_kept_whole() {
        let l =
            one("UDP:13478:192.168.1.100:3478:1796232030:Skype UDP at 192.168.1.5:23423 (2537)");
        assert_eq!(l.int_addr, Ipv4Addr::new(192, 168, 1, 100));
        assert_eq!(l.int_port, 3478);
        assert_eq!(l.description, "Skype UDP at 192.168.1.5:23423 (2537)");
        assert!(!l.is_forged());
        let l = one("TCP:80:192.168.1.5:8080:0:1.2.3.4:80:x");
        assert_eq!(l.int_port, 8080);
        assert_eq!(l.description, "1.2.3.4:80:x");
    }

    /// What miniupnpd 2.3.9 on musl does with each line (`reload_from_lease_file`, `atoi`,
    /// `strtoul`, `inet_aton`): `None` where it skips the line.
    #[test]
    fn differential_table_of_what_miniupnpd_reads() {
        type Row = (
            &'static str,
            Option<(Protocol, u16, [u8; 4], u16, u64)>,
            &'static [&'static str],
        );
        use Protocol::{Tcp, Udp, UdpLite};
        let table: &[Row] = &[
            // External port through atoi into 16 bits.
            (
                "TCP:70000:192.168.1.5:80:0:x",
                Some((Tcp, 4464, [192, 168, 1, 5], 80, 0)),
                &["ext"],
            ),
            (
                "TCP:65536:192.168.1.5:80:0:x",
                Some((Tcp, 0, [192, 168, 1, 5], 80, 0)),
                &["ext", "ext0"],
            ),
            (
                "TCP:-1:192.168.1.5:80:0:x",
                Some((Tcp, 65535, [192, 168, 1, 5], 80, 0)),
                &["ext"],
            ),
            (
                "TCP:+554:192.168.1.5:554:0:x",
                Some((Tcp, 554, [192, 168, 1, 5], 554, 0)),
                &["ext"],
            ),
            (
                "TCP: 554:192.168.1.5:554:0:x",
                Some((Tcp, 554, [192, 168, 1, 5], 554, 0)),
                &["ext"],
            ),
            (
                "TCP:0554:192.168.1.5:554:0:x",
                Some((Tcp, 554, [192, 168, 1, 5], 554, 0)),
                &["ext"],
            ),
            (
                "TCP:554abc:192.168.1.5:554:0:x",
                Some((Tcp, 554, [192, 168, 1, 5], 554, 0)),
                &["ext"],
            ),
            (
                "TCP:abc:192.168.1.5:554:0:x",
                Some((Tcp, 0, [192, 168, 1, 5], 554, 0)),
                &["ext", "ext0"],
            ),
            (
                "TCP::192.168.1.5:554:0:x",
                Some((Tcp, 0, [192, 168, 1, 5], 554, 0)),
                &["ext", "ext0"],
            ),
            (
                "TCP:0:192.168.1.5:554:0:x",
                Some((Tcp, 0, [192, 168, 1, 5], 554, 0)),
                &["ext0"],
            ),
            // 2^32 + 554 wraps in musl's int arithmetic.
            (
                "TCP:4294967850:192.168.1.5:554:0:x",
                Some((Tcp, 554, [192, 168, 1, 5], 554, 0)),
                &["ext"],
            ),
            // Internal port likewise; 0 is what AddPortMapping itself lets through.
            (
                "UDP:5000:192.168.1.5:70000:0:x",
                Some((Udp, 5000, [192, 168, 1, 5], 4464, 0)),
                &["int"],
            ),
            (
                "UDP:5000:192.168.1.5:0:0:x",
                Some((Udp, 5000, [192, 168, 1, 5], 0, 0)),
                &[],
            ),
            // Addresses inet_aton takes.
            (
                "TCP:8080:192.168.1:80:0:x",
                Some((Tcp, 8080, [192, 168, 0, 1], 80, 0)),
                &["addr"],
            ),
            (
                "TCP:8080:0xc0.0xa8.1.5:80:0:x",
                Some((Tcp, 8080, [192, 168, 1, 5], 80, 0)),
                &["addr"],
            ),
            (
                "TCP:8080:3232235781:80:0:x",
                Some((Tcp, 8080, [192, 168, 1, 5], 80, 0)),
                &["addr"],
            ),
            (
                "TCP:8080:0300.0250.01.05:80:0:x",
                Some((Tcp, 8080, [192, 168, 1, 5], 80, 0)),
                &["addr"],
            ),
            (
                "TCP:8080:192.168.001.005:80:0:x",
                Some((Tcp, 8080, [192, 168, 1, 5], 80, 0)),
                &["addr"],
            ),
            (
                "TCP:8080:10.1:80:0:x",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 0)),
                &["addr"],
            ),
            // ... and those it refuses: the line is skipped.
            ("TCP:8080:192.168.1.300:80:0:x", None, &[]),
            ("TCP:8080:192.168.1.5 :80:0:x", None, &[]),
            ("TCP:8080: 192.168.1.5:80:0:x", None, &[]),
            ("TCP:8080:192.168.1.08:80:0:x", None, &[]),
            ("TCP:8080:192.168.1.5.:80:0:x", None, &[]),
            ("TCP:8080:1.2.3.4.5:80:0:x", None, &[]),
            ("TCP:8080:0x:80:0:x", None, &[]),
            ("TCP:8080::80:0:x", None, &[]),
            ("TCP:8080:4294967296:80:0:x", None, &[]),
            ("TCP:8080:cam.lan:80:0:x", None, &[]),
            // Protocols: proto_atoi.
            (
                "udp:1:10.0.0.1:1:0:a",
                Some((Udp, 1, [10, 0, 0, 1], 1, 0)),
                &["proto"],
            ),
            (
                "udplite:3:10.0.0.1:3:0:c",
                Some((UdpLite, 3, [10, 0, 0, 1], 3, 0)),
                &["proto"],
            ),
            (
                "ICMP:4:10.0.0.1:4:0:d",
                Some((Tcp, 4, [10, 0, 0, 1], 4, 0)),
                &["proto"],
            ),
            (
                ":5:10.0.0.1:5:0:e",
                Some((Tcp, 5, [10, 0, 0, 1], 5, 0)),
                &["proto"],
            ),
            // Timestamps: strtoul; empty is 0 (never expires).
            (
                "TCP:8080:10.0.0.1:80::x",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 0)),
                &["ts"],
            ),
            (
                "TCP:8080:10.0.0.1:80:+1795630830:x",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 1795630830)),
                &["ts"],
            ),
            (
                "TCP:8080:10.0.0.1:80:1795630830s:x",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 1795630830)),
                &["ts"],
            ),
            (
                "TCP:8080:10.0.0.1:80:-1:x",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 4294967295)),
                &["ts"],
            ),
            (
                "TCP:8080:10.0.0.1:80:99999999999:x",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 4294967295)),
                &["ts"],
            ),
            (
                "TCP:8080:10.0.0.1:80:soon:x",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 0)),
                &["ts"],
            ),
            // Five colons are needed; the description may be empty.
            (
                "TCP:8080:10.0.0.1:80:0:",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 0)),
                &[],
            ),
            ("TCP:8080:10.0.0.1:80:0", None, &[]),
            ("not a lease", None, &[]),
            // The newer layout with a remote host (unreleased): the released reader takes the
            // remote host as the address and the address as the port, and the port as the time.
            (
                "TCP:1234:1.2.3.4:192.168.1.100:1234:1789054293:test",
                Some((Tcp, 1234, [1, 2, 3, 4], 192, 1234)),
                &["int"],
            ),
            // A NUL ends the line for strchr.
            (
                "TCP:8080:10.0.0.1:80:0:ok\0junk",
                Some((Tcp, 8080, [10, 0, 0, 1], 80, 0)),
                &["ctl"],
            ),
            ("TCP:8080\0:10.0.0.1:80:0:x", None, &[]),
        ];
        for (line, want, forged) in table {
            let parsed = parse_leases(line.as_bytes());
            match want {
                Some((proto, ext, addr, int, expires)) => {
                    assert!(
                        parsed.bad_lines.is_empty(),
                        "{line:?}: {:?}",
                        parsed.bad_lines
                    );
                    let l = &parsed.entries[0];
                    assert_eq!(
                        (l.proto, l.ext_port, l.int_addr, l.int_port, l.expires),
                        (*proto, *ext, Ipv4Addr::from(*addr), *int, *expires),
                        "{line:?}"
                    );
                    assert_eq!(kinds(l), *forged, "{line:?}");
                }
                None => {
                    assert!(parsed.entries.is_empty(), "{line:?}: {:?}", parsed.entries);
                    assert_eq!(parsed.bad_lines.len(), 1, "{line:?}");
                    assert!(parsed.bad_lines[0]
                        .message
                        .ends_with("miniupnpd skips this line"));
                }
            }
        }
    }

    #[test]
    fn atoi_and_strtoul_match_c() {
        assert_eq!(atoi(b"70000"), 70000);
        assert_eq!(atoi(b"\t -12x"), -12);
        assert_eq!(atoi(b"+-1"), 0);
        assert_eq!(atoi(b"2147483648"), i32::MIN);
        assert_eq!(
            atoi(b"99999999999999999999") as u16,
            (99999999999999999999u128 % 65536) as u16
        );
        assert_eq!(strtoul32(b" 42 "), 42);
        assert_eq!(strtoul32(b"-0"), 0);
        assert_eq!(strtoul32(b"4294967296"), u32::MAX);
    }

    #[test]
    fn expiry_zero_means_permanent() {
        let l = one("TCP:2222:192.168.1.1:22:0:forged by a LAN client");
        assert_eq!(l.expires, 0);
        assert!(l.is_permanent());
    }

    #[test]
    fn description_is_trimmed_like_miniupnpd_and_cleaned() {
        let l = one("TCP:19000:192.168.1.100:9000:1795630830:  <b>cam</b>\t \r\n");
        assert_eq!(l.description, "<b>cam</b>");
        assert_eq!(kinds(&l), ["ctl"]);
        let l = one("TCP:1:10.0.0.1:1:0:a\x1b[31mred\x07");
        assert_eq!(l.description, "a\\x1b[31mred\\x07");
        assert_eq!(kinds(&l), ["ctl"]);
    }

    #[test]
    fn line_after_a_description_ending_in_cr_is_injected() {
        // What miniupnpd 2.3.1 wrote for a CDATA description holding CR/LF (captured in
        // tests/fixtures/leases/miniupnpd-live.leases).
        let parsed = parse_leases(
            b"TCP:19000:192.168.1.100:9000:1795630830:  <b>cam</b>\r\nTCP:2222:192.168.1.1:22:0:forged\n",
        );
        assert!(parsed.bad_lines.is_empty());
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(kinds(&parsed.entries[0]), ["ctl"]);
        assert_eq!(parsed.entries[1].line, 2);
        assert_eq!(parsed.entries[1].ext_port, 2222);
        assert_eq!(kinds(&parsed.entries[1]), ["after-cr"]);
    }

    #[test]
    fn overlong_line_is_read_as_two_like_fgets_does() {
        // A description long enough that bytes 320 on look like a lease of their own.
        let head = "TCP:18080:192.168.1.100:8080:0:";
        let pad = "x".repeat(LINE_BUFFER - 1 - head.len());
        let file =
            format!("{head}{pad}TCP:2323:192.168.1.1:23:0:smuggled\nUDP:1:10.0.0.1:1:0:next\n");
        let parsed = parse_leases(file.as_bytes());
        assert!(parsed.bad_lines.is_empty(), "{:?}", parsed.bad_lines);
        let got: Vec<(u32, u16, Vec<&str>)> = parsed
            .entries
            .iter()
            .map(|l| (l.line, l.ext_port, kinds(l)))
            .collect();
        assert_eq!(
            got,
            [(1, 18080, vec![]), (1, 2323, vec!["tail"]), (2, 1, vec![])]
        );
        assert!(parsed.entries[0].description.starts_with("xxxx"));
        // Before 2.3.8 the buffer was 128 bytes: the same file splits elsewhere.
        let old = parse_leases_with_buffer(file.as_bytes(), 128);
        assert!(old.entries.len() + old.bad_lines.len() > 3);
        // A tail without five colons is skipped, and said so.
        let parsed = parse_leases(format!("{head}{pad}more words\n").as_bytes());
        assert_eq!(parsed.entries.len(), 1);
        assert!(parsed.bad_lines[0]
            .message
            .starts_with("the tail of an overlong line"));
    }

    #[test]
    fn blank_lines_are_counted_as_skipped() {
        let parsed = parse_leases(b"\nTCP:1:10.0.0.1:1:0:a\n   \nUDP:2:10.0.0.2:2:0:b\n");
        let lines: Vec<u32> = parsed.entries.iter().map(|l| l.line).collect();
        assert_eq!(lines, [2, 4]);
        let bad: Vec<(usize, &str)> = parsed
            .bad_lines
            .iter()
            .map(|b| (b.line, b.message.as_str()))
            .collect();
        assert_eq!(
            bad,
            [
                (1, "a blank line; miniupnpd skips this line"),
                (3, "a blank line; miniupnpd skips this line")
            ]
        );
    }

    #[test]
    fn skipped_line_is_reported_with_its_number() {
        let parsed = parse_leases(
            b"TCP:1:10.0.0.1:1:0:ok\nnot a lease\nTCP:70000:10.0.0.1:1:0:x\nTCP:1:10.0.0.300:1:0:x\nUDP:3:10.0.0.3:3:0:ok too",
        );
        assert_eq!(
            parsed.entries.iter().map(|l| l.line).collect::<Vec<_>>(),
            [1, 3, 5]
        );
        let bad: Vec<(usize, &str)> = parsed
            .bad_lines
            .iter()
            .map(|b| (b.line, b.message.as_str()))
            .collect();
        assert_eq!(
            bad,
            [
                (2, "expected PROTO:EXT_PORT:INT_ADDR:INT_PORT:EXPIRY:DESCRIPTION, found 1 colon-separated field; miniupnpd skips this line"),
                (4, "internal address '10.0.0.300' is not an IPv4 address; miniupnpd skips this line"),
            ]
        );
    }

    #[test]
    fn forgery_texts_name_what_miniupnpd_opens_and_never_carry_raw_control_characters() {
        let l = one("TCP:70000\x1b[2J:192.168.1:80:0:x");
        let texts: Vec<String> = l.forged.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "external port written as '70000\\x1b[2J', which miniupnpd reads as 4464",
                "internal address written as '192.168.1', which miniupnpd takes as 192.168.0.1 \
                 (a UPnP request is stored as a plain dotted quad)",
                "a control character (CR, LF, tab, NUL…) that miniupnpd never writes for a UPnP client",
            ]
        );
    }

    #[test]
    fn pinhole_line_is_read() {
        let parsed = parse_leases6(b"TCP;2001:db8:1::100;8000;;0;1;1795630830;IGD2 pinhole\n");
        assert!(parsed.bad_lines.is_empty(), "{:?}", parsed.bad_lines);
        let p = &parsed.entries[0];
        assert_eq!(p.proto, Protocol::Tcp);
        assert_eq!(p.int_client, "2001:db8:1::100".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.int_port, 8000);
        assert_eq!(p.remote_client, None);
        assert_eq!(p.remote_port, 0);
        assert_eq!(p.uid, 1);
        assert_eq!(p.timestamp, 1795630830);
        assert_eq!(p.description, "IGD2 pinhole");
    }

    #[test]
    fn pinhole_with_remote_client_and_semicolons_in_description() {
        let parsed = parse_leases6(
            b"UDP;2001:db8:1::100;8443;2001:db8:ff::99;5000;2;0;PCP MAP; nonce;x\r\n",
        );
        let p = &parsed.entries[0];
        assert_eq!(p.remote_client, Some("2001:db8:ff::99".parse().unwrap()));
        assert_eq!(p.remote_port, 5000);
        assert_eq!(p.description, "PCP MAP; nonce;x");
    }

    #[test]
    fn bad_pinhole_line_is_reported_with_its_number_and_skipped() {
        let parsed = parse_leases6(
            b"TCP;192.168.1.5;80;;0;1;0;x\nTCP;2001:db8::1;80;nowhere;0;1;0;x\nTCP;2001:db8::1;80\n",
        );
        assert!(parsed.entries.is_empty());
        let bad: Vec<(usize, &str)> = parsed
            .bad_lines
            .iter()
            .map(|b| (b.line, b.message.as_str()))
            .collect();
        assert_eq!(
            bad,
            [
                (1, "internal client '192.168.1.5' is not an IPv6 address"),
                (2, "remote client 'nowhere' is not an IP address"),
                (
                    3,
                    "expected PROTO;INT_CLIENT;INT_PORT;REM_CLIENT;REM_PORT;UID;TIMESTAMP;DESCRIPTION, \
                     found 3 semicolon-separated fields"
                ),
            ]
        );
    }

    #[test]
    fn captured_miniupnpd_files_parse_completely() {
        let v4 = parse_leases(include_bytes!(
            "../../tests/fixtures/leases/miniupnpd-live.leases"
        ));
        assert!(v4.bad_lines.is_empty(), "{:?}", v4.bad_lines);
        // The CDATA description with CR/LF, and the line it wrote.
        let forged: Vec<(u32, Vec<&str>)> = v4
            .entries
            .iter()
            .filter(|l| l.is_forged())
            .map(|l| (l.line, kinds(l)))
            .collect();
        assert_eq!(forged, [(5, vec!["ctl"]), (6, vec!["after-cr"])]);
        let summary: Vec<(Protocol, u16, u16, bool)> = v4
            .entries
            .iter()
            .map(|l| (l.proto, l.ext_port, l.int_port, l.is_permanent()))
            .collect();
        assert_eq!(
            summary,
            [
                (Protocol::Tcp, 18080, 8080, false),
                (Protocol::Udp, 13478, 3478, false),
                (Protocol::Tcp, 10554, 554, false),
                (Protocol::UdpLite, 15004, 5004, false),
                (Protocol::Tcp, 19000, 9000, false),
                (Protocol::Tcp, 2222, 22, true),
            ]
        );
        assert_eq!(
            v4.entries[1].description,
            "Skype UDP at 192.168.1.5:23423 (2537)"
        );
        assert_eq!(v4.entries[4].description, "<b>cam</b>");

        let v6 = parse_leases6(include_bytes!(
            "../../tests/fixtures/leases/miniupnpd-live.leases6"
        ));
        assert!(v6.bad_lines.is_empty(), "{:?}", v6.bad_lines);
        assert_eq!(v6.entries.len(), 2);
        assert_eq!(
            v6.entries[1].remote_client,
            Some("2001:db8:ff::99".parse().unwrap())
        );
    }

    /// Every lease file the tests and the fuzzer start from, and lines long enough to be read as
    /// several.
    fn sample_files() -> Vec<Vec<u8>> {
        let mut files: Vec<Vec<u8>> = Vec::new();
        for dir in ["tests/fixtures/leases", "fuzz/corpus/leases"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(&dir).unwrap() {
                files.push(std::fs::read(entry.unwrap().path()).unwrap());
            }
        }
        assert!(files.len() >= 10, "{} sample files", files.len());
        let long = "d".repeat(700);
        files.push(
            format!("TCP:1:10.0.0.1:1:0:{long}\r\nUDP:2:10.0.0.2:2:0:b\n\nnot a lease\nTCP:3:10.0.0.3:3:0:{long}")
                .into_bytes(),
        );
        files
    }

    #[test]
    fn streamed_read_gives_the_leases_of_the_whole_file_at_any_read_size() {
        for file in sample_files() {
            let whole = parse_leases(&file);
            for capacity in [1, 2, 7, 64, 319, 320, 4096] {
                let reader = std::io::BufReader::with_capacity(capacity, file.as_slice());
                let streamed = read_leases(reader, u64::MAX).unwrap();
                assert!(!streamed.cut);
                assert_eq!(streamed.bytes, file.len() as u64);
                assert_eq!(streamed.parsed, whole, "read {capacity} bytes at a time");
            }
        }
    }

    #[test]
    fn streamed_read_stops_at_the_last_whole_line_within_its_limit() {
        for file in sample_files() {
            for limit in [0, 1, 30, 100, 400, file.len().saturating_sub(1)] {
                let read = read_leases(file.as_slice(), limit as u64).unwrap();
                // What a bounded whole-file read keeps: the lines that end within the limit.
                let kept = file[..limit.min(file.len())]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let cut = limit < file.len();
                assert_eq!(read.cut, cut, "limit {limit}");
                if cut {
                    assert_eq!(read.bytes, kept as u64, "limit {limit}");
                    assert_eq!(read.parsed, parse_leases(&file[..kept]), "limit {limit}");
                }
            }
        }
    }

    #[test]
    fn short_descriptions_live_in_the_lease_and_long_ones_read_back_whole() {
        assert_eq!(std::mem::size_of::<Lease>(), 48);
        for text in [
            "",
            "cam",
            "mapping 70534",
            "NAT-PMP 51413 udp",
            &"é".repeat(40),
        ] {
            let d = Description::from(text.to_owned());
            assert_eq!(d, text);
            assert_eq!(d.to_string(), text);
            assert_eq!(crate::encode::to_value(&d).unwrap(), text);
        }
        let l = one("TCP:2222:192.168.1.1:22:0:forged by a LAN client");
        let json = crate::encode::to_value(&l).unwrap();
        assert_eq!(json["description"], "forged by a LAN client");
        assert!(json.get("forged").is_none(), "{json}");
        let f = one("TCP:070000:192.168.1.1:22:0:x");
        let json = crate::encode::to_value(&f).unwrap();
        assert_eq!(json["forged"][0]["kind"], "port", "{json}");
    }

    #[test]
    fn transcript_lease_file_parses() {
        let parsed = parse_leases(
            b"TCP:18080:192.168.1.100:8080:1796227181:rig test mapping\nUDP:13478:192.168.1.100:3478:1795625983:rig udp\n",
        );
        assert!(parsed.bad_lines.is_empty());
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(parsed.entries[1].description, "rig udp");
    }
}
