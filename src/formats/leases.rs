//! miniupnpd's lease files: the mappings it will re-create when it next starts.
//!
//! Formats, read from miniupnpd's source (miniupnp/miniupnp, `miniupnpd/upnpredirect.c`
//! `lease_file_add` / `reload_from_lease_file`, `miniupnpd/upnppinhole.c` `lease_file6_add` /
//! `reload_from_lease_file6`, `miniupnpd/upnputils.c` `proto_atoi`; tags 2.3.1 to 2.3.11):
//!
//! - IPv4, up to 2.3.11 (OpenWrt ships 2.3.9): `PROTO:EXT_PORT:INT_ADDR:INT_PORT:EXPIRY:DESC`.
//! - IPv4, after 2.3.11 (commit 671e5c0): `PROTO:EXT_PORT:RHOST:INT_ADDR:INT_PORT:EXPIRY:DESC`,
//!   RHOST empty for "any remote host".
//! - IPv6 pinholes: `PROTO;INT_CLIENT;INT_PORT;REM_CLIENT;REM_PORT;UID;TIMESTAMP;DESC`.
//!
//! The description is whatever a LAN client sent, written unescaped: it may hold colons (so the
//! two IPv4 formats cannot be told apart by counting fields, only by what the fields contain),
//! and before 2.3.11 even CR/LF, which lets a client forge whole extra lines. A forged line looks
//! exactly like a real one; the nft chains, not this file, say what is in effect (pitfall 3).
//!
//! Not modelled: miniupnpd reads with `fgets` into a fixed buffer (320 bytes from 2.3.8, 128
//! before; 128 for the IPv6 file), so it would split an overlong line and read its tail as a line
//! of its own. Here a line is a line.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::formats::linefile::{ascii, digits, parse_lines, Parsed};
use crate::formats::{Expected, Field, FormatError, LineLayout};
pub use crate::ports::Protocol;
use crate::text::lan_text;

/// One IPv4 mapping line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub line: usize,
    pub proto: Protocol,
    pub ext_port: u16,
    /// Only in the format after miniupnpd 2.3.11 (`PROTO:EXT:RHOST:…`); empty means any host.
    pub remote_host: Option<String>,
    pub int_addr: Ipv4Addr,
    pub int_port: u16,
    /// Absolute Unix time of expiry; 0 = permanent.
    pub expires: u64,
    /// Chosen by the LAN client: cleaned with [`crate::text::lan_text`].
    pub description: String,
}

impl Lease {
    /// miniupnpd writes 0 for a mapping that never expires.
    pub fn is_permanent(&self) -> bool {
        self.expires == 0
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

/// Reads miniupnpd's IPv4 lease file (`upnp_lease_file`, default `/var/run/miniupnpd.leases`),
/// either format, line by line.
pub fn parse_leases(input: &[u8]) -> Parsed<Lease> {
    parse_lines(input, parse_lease_line)
}

/// Reads miniupnpd's IPv6 pinhole file (`lease_file6`, default `/var/run/miniupnpd.leases6`).
pub fn parse_leases6(input: &[u8]) -> Parsed<Pinhole> {
    parse_lines(input, parse_pinhole_line)
}

fn parse_lease_line(number: usize, line: &[u8]) -> Result<Lease, FormatError> {
    // At most 7 pieces: the 7th is the newer format's description with any colons it holds.
    let fields: Vec<&[u8]> = line.splitn(7, |&b| b == b':').collect();
    if fields.len() < 6 {
        return Err(FormatError::FieldCount {
            layout: LineLayout::UpnpLease,
            found: fields.len(),
        });
    }
    let proto = proto_atoi(fields[0]);
    let ext_port = port(fields[1], Field::ExternalPort)?;

    // The old format has the internal port (digits) in the 4th field, the newer one the internal
    // address (dotted quad) there: the two never overlap, whatever the description holds.
    let Some(int_addr) = ipv4(fields[3]) else {
        let int_addr = ipv4(fields[2]).ok_or_else(|| {
            FormatError::bad_field(Field::InternalAddress, fields[2], Expected::Ipv4Address)
        })?;
        let int_port = port(fields[3], Field::InternalPort)?;
        let expires = unix_time(fields[4], Field::Expiry)?;
        // Everything after the 5th colon, colons included.
        let description = after_nth(line, b':', 5);
        return Ok(Lease {
            line: number,
            proto,
            ext_port,
            remote_host: None,
            int_addr,
            int_port,
            expires,
            description: description_text(description),
        });
    };
    if fields.len() < 7 {
        return Err(FormatError::FieldCount {
            layout: LineLayout::UpnpLeaseWithRemoteHost,
            found: fields.len(),
        });
    }
    let int_port = port(fields[4], Field::InternalPort)?;
    let expires = unix_time(fields[5], Field::Expiry)?;
    let remote_host = match fields[2] {
        b"" | b"*" => None,
        host => Some(lan_text(host)),
    };
    Ok(Lease {
        line: number,
        proto,
        ext_port,
        remote_host,
        int_addr,
        int_port,
        expires,
        description: description_text(fields[6]),
    })
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
    let is_c_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let start = raw.iter().position(|b| !is_c_space(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|b| !is_c_space(b))
        .map_or(start, |i| i + 1);
    lan_text(&raw[start..end])
}

/// The bytes after the `n`th `sep` (the caller knows there are at least `n`).
fn after_nth(line: &[u8], sep: u8, n: usize) -> &[u8] {
    let mut seen = 0;
    for (i, &b) in line.iter().enumerate() {
        if b == sep {
            seen += 1;
            if seen == n {
                return &line[i + 1..];
            }
        }
    }
    &[]
}

fn ipv4(field: &[u8]) -> Option<Ipv4Addr> {
    ascii(field)?.parse().ok()
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

    #[test]
    fn old_format_line_is_read() {
        let l = one("TCP:33333:192.168.0.100:33333:1485578298:NAT-PMP 33333 tcp\n");
        assert_eq!(l.proto, Protocol::Tcp);
        assert_eq!(l.ext_port, 33333);
        assert_eq!(l.remote_host, None);
        assert_eq!(l.int_addr, Ipv4Addr::new(192, 168, 0, 100));
        assert_eq!(l.int_port, 33333);
        assert_eq!(l.expires, 1485578298);
        assert_eq!(l.description, "NAT-PMP 33333 tcp");
        assert_eq!(l.line, 1);
    }

    #[test]
    fn description_with_colons_is_kept_whole() {
        let l =
            one("UDP:13478:192.168.1.100:3478:1796232030:Skype UDP at 192.168.1.5:23423 (2537)");
        assert_eq!(l.int_addr, Ipv4Addr::new(192, 168, 1, 100));
        assert_eq!(l.int_port, 3478);
        assert_eq!(l.description, "Skype UDP at 192.168.1.5:23423 (2537)");
        assert_eq!(l.remote_host, None);
    }

    #[test]
    fn old_format_description_that_looks_like_the_newer_format_stays_old() {
        // Seven colon-separated pieces, but the 4th is a port: old format, description intact.
        let l = one("TCP:80:192.168.1.5:8080:0:1.2.3.4:80:x");
        assert_eq!(l.int_addr, Ipv4Addr::new(192, 168, 1, 5));
        assert_eq!(l.int_port, 8080);
        assert_eq!(l.description, "1.2.3.4:80:x");
    }

    #[test]
    fn newer_format_with_remote_host_is_detected_by_field_types() {
        let l = one("TCP:1234:1.2.3.4:192.168.1.100:1234:1789054293:test");
        assert_eq!(l.remote_host.as_deref(), Some("1.2.3.4"));
        assert_eq!(l.int_addr, Ipv4Addr::new(192, 168, 1, 100));
        assert_eq!(l.int_port, 1234);
        assert_eq!(l.expires, 1789054293);
        assert_eq!(l.description, "test");
    }

    #[test]
    fn newer_format_with_empty_remote_host_means_any_host() {
        let l = one("UDP:5000::192.168.1.7:5001:0:game: lobby");
        assert_eq!(l.remote_host, None);
        assert_eq!(l.int_addr, Ipv4Addr::new(192, 168, 1, 7));
        assert_eq!(l.int_port, 5001);
        assert_eq!(l.description, "game: lobby");
    }

    #[test]
    fn expiry_zero_means_permanent() {
        let l = one("TCP:2222:192.168.1.1:22:0:forged by a LAN client");
        assert_eq!(l.expires, 0);
        assert!(l.is_permanent());
    }

    #[test]
    fn protocol_is_read_as_miniupnpd_reads_it() {
        let protos: Vec<Protocol> = parse_leases(
            b"udp:1:10.0.0.1:1:0:a\nUDPLITE:2:10.0.0.1:2:0:b\nudplite:3:10.0.0.1:3:0:c\nICMP:4:10.0.0.1:4:0:d\n:5:10.0.0.1:5:0:e",
        )
        .entries
        .iter()
        .map(|l| l.proto)
        .collect();
        assert_eq!(
            protos,
            [
                Protocol::Udp,
                Protocol::UdpLite,
                Protocol::UdpLite,
                Protocol::Tcp,
                Protocol::Tcp
            ]
        );
    }

    #[test]
    fn description_is_trimmed_like_miniupnpd_and_cleaned() {
        let l = one("TCP:19000:192.168.1.100:9000:1795630830:  <b>cam</b>\t \r\n");
        assert_eq!(l.description, "<b>cam</b>");
        let l = one("TCP:1:10.0.0.1:1:0:a\x1b[31mred\x07");
        assert_eq!(l.description, "a\\x1b[31mred\\x07");
    }

    #[test]
    fn forged_line_from_a_crlf_description_is_read_as_a_line() {
        // What miniupnpd 2.3.1 wrote for a CDATA description holding CR/LF (captured in
        // tests/fixtures/leases/miniupnpd-live.leases): indistinguishable from a real lease.
        let parsed = parse_leases(
            b"TCP:19000:192.168.1.100:9000:1795630830:  <b>cam</b>\r\nTCP:2222:192.168.1.1:22:0:forged\n",
        );
        assert!(parsed.bad_lines.is_empty());
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(parsed.entries[1].line, 2);
        assert_eq!(parsed.entries[1].ext_port, 2222);
    }

    #[test]
    fn crlf_line_endings_and_blank_lines_are_accepted_silently() {
        let parsed =
            parse_leases(b"\r\nTCP:1:10.0.0.1:1:0:a\r\n   \r\n\r\nUDP:2:10.0.0.2:2:0:b\r\n");
        assert!(parsed.bad_lines.is_empty(), "{:?}", parsed.bad_lines);
        let lines: Vec<usize> = parsed.entries.iter().map(|l| l.line).collect();
        assert_eq!(lines, [2, 5]);
        assert_eq!(parsed.entries[0].description, "a");
    }

    #[test]
    fn bad_line_is_reported_with_its_number_and_skipped() {
        let parsed = parse_leases(
            b"TCP:1:10.0.0.1:1:0:ok\nnot a lease\nTCP:70000:10.0.0.1:1:0:x\nTCP:1:10.0.0.300:1:0:x\nTCP:1:10.0.0.1:1:soon:x\nUDP:3:10.0.0.3:3:0:ok too",
        );
        assert_eq!(
            parsed.entries.iter().map(|l| l.line).collect::<Vec<_>>(),
            [1, 6]
        );
        let bad: Vec<(usize, &str)> = parsed
            .bad_lines
            .iter()
            .map(|b| (b.line, b.message.as_str()))
            .collect();
        assert_eq!(
            bad,
            [
                (2, "expected PROTO:EXT_PORT:INT_ADDR:INT_PORT:EXPIRY:DESCRIPTION, found 1 colon-separated field"),
                (3, "external port '70000' is not a port number (0-65535)"),
                (4, "internal address '10.0.0.300' is not an IPv4 address"),
                (5, "expiry 'soon' is not a Unix time"),
            ]
        );
    }

    #[test]
    fn newer_format_missing_its_description_field_is_a_bad_line() {
        let parsed = parse_leases(b"TCP:1:1.2.3.4:10.0.0.1:1:0");
        assert!(parsed.entries.is_empty());
        assert!(
            parsed.bad_lines[0].message.contains("newer"),
            "{}",
            parsed.bad_lines[0].message
        );
    }

    #[test]
    fn error_messages_never_carry_raw_control_characters() {
        let parsed = parse_leases(b"TCP:\x1b[2J:10.0.0.1:1:0:x");
        assert_eq!(
            parsed.bad_lines[0].message,
            "external port '\\x1b[2J' is not a port number (0-65535)"
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
