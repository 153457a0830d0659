//! What can be wrong with a router file or a command's output: one error type for every parser
//! in [`crate::formats`] (the UCI file parser keeps libuci's own [`super::uci::ParseError`]).
//! Each message names what was expected, so a person can find the fault in the file.
use std::fmt;

use crate::text::lan_text;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// A line without the fields its format has.
    FieldCount { layout: LineLayout, found: usize },
    /// A line of odhcpd's state file that is neither a `#` lease record nor a hosts entry.
    NeitherLeaseNorHostsEntry,
    /// A field that does not hold what its place in the line must. `value` is cleaned like any
    /// LAN text and cut short, so it is safe to show.
    BadField {
        field: Field,
        value: String,
        expected: Expected,
    },
    /// Not JSON at all; `detail` is the parser's account of where it broke, in serde_json's
    /// words ([`crate::json`]).
    NotJson { document: Document, detail: String },
    /// JSON, but not shaped like `document`.
    WrongShape { document: Document },
    /// rpcd's reply to `uci get` for `config` has no `values` object.
    UciReplyWithoutValues { config: String },
    /// A section of rpcd's reply to `uci get` that is not an object.
    UciSectionNotObject { config: String, section: String },
    /// Larger than any real `document`: refused before parsing, which would cost a small router
    /// its memory.
    TooLarge {
        document: Document,
        bytes: usize,
        limit: usize,
    },
}

/// The line formats, for [`FormatError::FieldCount`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineLayout {
    DnsmasqLease,
    OdhcpdRecord,
    /// miniupnpd's IPv4 lease line.
    UpnpLease,
    UpnpPinhole,
}

/// The fields of a line, for [`FormatError::BadField`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Expiry,
    HardwareAddress,
    Duid,
    /// Shown with its address (`10.0.0.1/x`): the length alone would not say where it is.
    PrefixLength,
    Address,
    InternalAddress,
    InternalClient,
    RemoteClient,
    PinholeId,
    ExternalPort,
    InternalPort,
    RemotePort,
    Timestamp,
}

/// What a field must hold, for [`FormatError::BadField`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    UnixTime,
    NonNegative,
    MacAddress,
    Hex,
    Number,
    IpAddress,
    Ipv4Address,
    Ipv6Address,
    Port,
}

/// The command outputs the parsers read as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `ip -j neigh`: an array of neighbour objects.
    IpNeigh,
    /// `nft -j list ruleset`: an object holding an `nftables` array.
    NftRuleset,
}

impl FormatError {
    /// A bad field, its bytes cleaned like any LAN text and cut short for the message.
    pub(crate) fn bad_field(field: Field, raw: &[u8], expected: Expected) -> FormatError {
        const SHOWN: usize = 40;
        let mut value = lan_text(&raw[..raw.len().min(SHOWN)]);
        if raw.len() > SHOWN {
            value.push('…');
        }
        FormatError::BadField {
            field,
            value,
            expected,
        }
    }
}

impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::Expiry => "expiry",
            Field::HardwareAddress => "hardware address",
            Field::Duid => "DUID",
            Field::PrefixLength => "prefix length in",
            Field::Address => "address",
            Field::InternalAddress => "internal address",
            Field::InternalClient => "internal client",
            Field::RemoteClient => "remote client",
            Field::PinholeId => "pinhole id",
            Field::ExternalPort => "external port",
            Field::InternalPort => "internal port",
            Field::RemotePort => "remote port",
            Field::Timestamp => "timestamp",
        }
    }
}

impl Expected {
    fn complaint(self) -> &'static str {
        match self {
            Expected::UnixTime => "is not a Unix time",
            Expected::NonNegative => "is negative",
            Expected::MacAddress => "is not a MAC address",
            Expected::Hex => "is not hexadecimal",
            Expected::Number => "is not a number",
            Expected::IpAddress => "is not an IP address",
            Expected::Ipv4Address => "is not an IPv4 address",
            Expected::Ipv6Address => "is not an IPv6 address",
            Expected::Port => "is not a port number (0-65535)",
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::FieldCount { layout, found } => {
                let s = if *found == 1 { "" } else { "s" };
                match layout {
                    LineLayout::DnsmasqLease => write!(
                        f,
                        "expected 5 fields (expiry, MAC or IAID, address, hostname, client id), \
                         found {found}"
                    ),
                    LineLayout::OdhcpdRecord => write!(
                        f,
                        "expected '# <interface> <DUID or MAC> <IAID or ipv4> <hostname> <expiry> \
                         <id> <length> <address/length>…', found {found} fields"
                    ),
                    LineLayout::UpnpLease => write!(
                        f,
                        "expected PROTO:EXT_PORT:INT_ADDR:INT_PORT:EXPIRY:DESCRIPTION, found \
                         {found} colon-separated field{s}"
                    ),
                    LineLayout::UpnpPinhole => write!(
                        f,
                        "expected PROTO;INT_CLIENT;INT_PORT;REM_CLIENT;REM_PORT;UID;TIMESTAMP;\
                         DESCRIPTION, found {found} semicolon-separated field{s}"
                    ),
                }
            }
            FormatError::NeitherLeaseNorHostsEntry => {
                f.write_str("neither a lease record (starting with '# ') nor a hosts entry")
            }
            FormatError::BadField {
                field,
                value,
                expected,
            } => write!(f, "{} '{value}' {}", field.label(), expected.complaint()),
            FormatError::NotJson { document, detail } => match document {
                Document::IpNeigh => write!(f, "not the JSON of `ip -j neigh`: {detail}"),
                Document::NftRuleset => write!(
                    f,
                    "nft JSON: not valid JSON ({detail}); expected the output of \
                     `nft -j list ruleset`"
                ),
            },
            FormatError::WrongShape { document } => f.write_str(match document {
                Document::IpNeigh => "not the JSON array `ip -j neigh` prints",
                Document::NftRuleset => {
                    "nft JSON: no \"nftables\" array at the top; expected the output of \
                     `nft -j list ruleset`"
                }
            }),
            FormatError::UciReplyWithoutValues { config } => {
                write!(f, "uci get {config}: reply has no \"values\" object")
            }
            FormatError::UciSectionNotObject { config, section } => {
                write!(f, "uci get {config}: section {section} is not an object")
            }
            FormatError::TooLarge {
                document,
                bytes,
                limit,
            } => match document {
                Document::IpNeigh => write!(
                    f,
                    "the `ip -j neigh` output is {bytes} bytes, over the {limit} camguard reads"
                ),
                Document::NftRuleset => write!(
                    f,
                    "nft JSON: the dump is {bytes} bytes, over the {} MiB camguard reads; a \
                     router's ruleset is far smaller, so this is not the output of \
                     `nft -j list ruleset`",
                    limit / (1024 * 1024)
                ),
            },
        }
    }
}

impl std::error::Error for FormatError {}
