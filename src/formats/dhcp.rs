//! DHCP lease files: which device (MAC, hostname) holds which address.
//!
//! Two writers on OpenWrt, read from their source:
//!
//! - dnsmasq, `/tmp/dhcp.leases` (dnsmasq `src/lease.c` `lease_update_file`): DHCPv4 lines
//!   `<expiry|0> <hwaddr> <ipv4> <hostname|*> <client-id|*>`; then, when it serves DHCPv6, a
//!   `duid <server duid>` line and `<expiry> <[T]iaid> <ipv6> <hostname|*> <client duid|*>`; last,
//!   `agent-info …` and `vendorclass …` extras. The hwaddr is `aa:bb:…` for Ethernet and
//!   `<hwtype>-…` otherwise.
//! - odhcpd, `/tmp/hosts/odhcpd` (openwrt/odhcpd `src/statefiles.c` `statefiles_write_state6` /
//!   `statefiles_write_state4`, before Nov 2025 `src/dhcpv6-ia.c` `dhcpv6_ia_write_statefile`):
//!   `# <iface> <duid hex> <iaid hex> <hostname> <expiry> <host id hex> <prefix len> <addr/len>…`
//!   and for DHCPv4 `# <iface> <mac> ipv4 <hostname> <expiry> <addr hex> 32 <ipv4>/32`. Expiry
//!   is a Unix time, -1 for infinite, 0 for already expired. The MAC is `aabbccddeeff` up to
//!   commit 7fddd39 (2025-11-30), `ether_ntoa` output since (musl: `AA:BB:…`; glibc drops
//!   leading zeros). The hostname is `-` when absent, prefixed `broken\x20` when odhcpd found it
//!   invalid, and since commit 68f3826 (2026-06) every non-LDH byte is escaped as `\xNN`. Files
//!   before commit def8ade (2025-11-23) also carry hosts-file lines (`<addr>\t<name>…`), which
//!   repeat what the `#` lines say and are skipped.
//!
//! Hostnames and client ids are chosen by LAN clients, so they are cleaned with
//! [`crate::text::lan_text`].
use std::net::IpAddr;

use serde::Serialize;

use crate::formats::linefile::Parsed;
use crate::formats::linefile::{ascii, digits, parse_lines};
use crate::formats::{Expected, Field, FormatError, LineLayout};
use crate::mac::Mac;
use crate::text::lan_text;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DhcpLease {
    pub line: usize,
    /// Absolute Unix expiry; 0 = infinite.
    pub expires: u64,
    /// The client's hardware address. DHCPv6 leases carry a DUID instead; their MAC is known only
    /// when the DUID embeds it (DUID-LL or DUID-LLT of an Ethernet interface).
    pub mac: Option<Mac>,
    pub ip: IpAddr,
    /// Chosen by the client (cleaned); None when the file says `*` or `-`.
    pub hostname: Option<String>,
    /// Client id (DHCPv4) or DUID (DHCPv6), cleaned; None when `*`.
    pub client_id: Option<String>,
}

/// odhcpd writes 0 for a lease it keeps bound although it has expired; 0 means "infinite" in
/// [`DhcpLease::expires`], so such a lease gets the earliest time that is still in the past.
pub const EXPIRED_AT_UNKNOWN_TIME: u64 = 1;

/// Reads dnsmasq's lease file, DHCPv4 and DHCPv6 parts.
pub fn parse_dnsmasq_leases(input: &[u8]) -> Parsed<DhcpLease> {
    let parsed = parse_lines(input, parse_dnsmasq_line);
    Parsed {
        entries: parsed.entries.into_iter().flatten().collect(),
        bad_lines: parsed.bad_lines,
    }
}

/// Reads odhcpd's state file (`dhcp.odhcpd.leasefile`), any version since 2018. One DHCPv6
/// record may hold several addresses and becomes one lease per address; delegated prefixes
/// (length below 128) name a downstream router's network, not a host, and are left out.
pub fn parse_odhcpd_leases(input: &[u8]) -> Parsed<DhcpLease> {
    let parsed = parse_lines(input, parse_odhcpd_line);
    Parsed {
        entries: parsed.entries.into_iter().flatten().collect(),
        bad_lines: parsed.bad_lines,
    }
}

fn fields(line: &[u8]) -> Vec<&[u8]> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .collect()
}

/// `Ok(None)` for lines that are not leases but belong in the file (the server DUID, extras).
fn parse_dnsmasq_line(number: usize, line: &[u8]) -> Result<Option<DhcpLease>, FormatError> {
    let f = fields(line);
    match f.first().copied().unwrap_or_default() {
        b"duid" | b"agent-info" | b"vendorclass" => return Ok(None),
        _ => {}
    }
    if f.len() != 5 {
        return Err(FormatError::FieldCount {
            layout: LineLayout::DnsmasqLease,
            found: f.len(),
        });
    }
    let expires = digits(f[0])
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| FormatError::bad_field(Field::Expiry, f[0], Expected::UnixTime))?;
    let ip = ip_addr(f[2])?;
    // DHCPv6 lines have the IAID, optionally `T` for a temporary address, where DHCPv4 lines
    // have the hardware address.
    let iaid = f[1].strip_prefix(b"T").unwrap_or(f[1]);
    let (mac, client_id) = if ip.is_ipv6() && digits(iaid).is_some() {
        let duid = star_is_none(f[4]);
        (
            duid.and_then(|d| mac_from_duid(&hex_bytes(d)?)),
            duid.map(lan_text),
        )
    } else {
        (dnsmasq_hwaddr(f[1])?, star_is_none(f[4]).map(lan_text))
    };
    Ok(Some(DhcpLease {
        line: number,
        expires,
        mac,
        ip,
        hostname: star_is_none(f[3]).map(lan_text),
        client_id,
    }))
}

/// `aa:bb:cc:dd:ee:ff` is an Ethernet MAC; `<type>-<hex>` is another kind of hardware address
/// (dnsmasq prefixes the ARP hardware type), a valid lease without a MAC.
fn dnsmasq_hwaddr(field: &[u8]) -> Result<Option<Mac>, FormatError> {
    if let Some(mac) = ascii(field).and_then(|s| s.parse::<Mac>().ok()) {
        return Ok(Some(mac));
    }
    let typed = field.len() >= 3
        && field[2] == b'-'
        && hex_bytes(&field[..2]).is_some()
        && (field.len() == 3 || hex_bytes(&field[3..]).is_some());
    if typed || hex_bytes(field).is_some() {
        return Ok(None);
    }
    Err(FormatError::bad_field(
        Field::HardwareAddress,
        field,
        Expected::MacAddress,
    ))
}

fn parse_odhcpd_line(number: usize, line: &[u8]) -> Result<Vec<DhcpLease>, FormatError> {
    let Some(record) = line.strip_prefix(b"#") else {
        let first = fields(line).first().copied().unwrap_or_default();
        if ascii(first).is_some_and(|s| s.parse::<IpAddr>().is_ok()) {
            return Ok(Vec::new());
        }
        return Err(FormatError::NeitherLeaseNorHostsEntry);
    };
    let f = fields(record);
    if f.len() < 7 {
        return Err(FormatError::FieldCount {
            layout: LineLayout::OdhcpdRecord,
            found: f.len(),
        });
    }
    let expires = odhcpd_expiry(f[4])?;
    let hostname = odhcpd_hostname(f[3]);
    let is_ipv4 = f[2] == b"ipv4";
    let (mac, client_id) = if is_ipv4 {
        let mac = odhcpd_mac(f[1]).ok_or_else(|| {
            FormatError::bad_field(Field::HardwareAddress, f[1], Expected::MacAddress)
        })?;
        (Some(mac), None)
    } else {
        let duid = hex_bytes(f[1])
            .ok_or_else(|| FormatError::bad_field(Field::Duid, f[1], Expected::Hex))?;
        (mac_from_duid(&duid), Some(lan_text(f[1])))
    };
    let mut leases = Vec::new();
    for assigned in &f[7..] {
        let (addr, len) = match assigned.iter().position(|&b| b == b'/') {
            Some(slash) => (&assigned[..slash], Some(&assigned[slash + 1..])),
            None => (&assigned[..], None),
        };
        let ip = ip_addr(addr)?;
        let host_len = if ip.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(len) => digits(len)
                .and_then(|s| s.parse::<u8>().ok())
                .ok_or_else(|| {
                    FormatError::bad_field(Field::PrefixLength, assigned, Expected::Number)
                })?,
            None => host_len,
        };
        if len < host_len {
            continue;
        }
        leases.push(DhcpLease {
            line: number,
            expires,
            mac,
            ip,
            hostname: hostname.clone(),
            client_id: client_id.clone(),
        });
    }
    Ok(leases)
}

fn odhcpd_expiry(field: &[u8]) -> Result<u64, FormatError> {
    let value = ascii(field)
        .filter(|s| s.len() <= 20)
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| FormatError::bad_field(Field::Expiry, field, Expected::UnixTime))?;
    Ok(match value {
        -1 => 0,
        0 => EXPIRED_AT_UNKNOWN_TIME,
        v if v > 0 => v as u64,
        _ => {
            return Err(FormatError::bad_field(
                Field::Expiry,
                field,
                Expected::NonNegative,
            ))
        }
    })
}

/// The client's own name: odhcpd's `broken\x20` marker and `\xNN` escapes undone, then cleaned
/// for display, so a name reads the same whichever odhcpd wrote it.
fn odhcpd_hostname(field: &[u8]) -> Option<String> {
    if field == b"-" {
        return None;
    }
    let field = field.strip_prefix(br"broken\x20").unwrap_or(field);
    let mut raw = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && field.get(i + 1) == Some(&b'x') {
            if let Some(byte) = field.get(i + 2..i + 4).and_then(hex_bytes).map(|b| b[0]) {
                raw.push(byte);
                i += 4;
                continue;
            }
        }
        raw.push(field[i]);
        i += 1;
    }
    Some(lan_text(&raw))
}

/// `aabbccddeeff` (odhcpd before 2025-11) or `ether_ntoa` output: six groups of one or two hex
/// digits, either case.
fn odhcpd_mac(field: &[u8]) -> Option<Mac> {
    if field.len() == 12 {
        return hex_bytes(field)?.try_into().ok().map(Mac);
    }
    let mut octets = [0u8; 6];
    let mut groups = field.split(|&b| b == b':');
    for octet in &mut octets {
        let group = groups.next()?;
        if group.is_empty() || group.len() > 2 {
            return None;
        }
        *octet = u8::from_str_radix(ascii(group)?, 16).ok()?;
    }
    groups.next().is_none().then_some(Mac(octets))
}

/// The MAC inside a DUID-LLT (type 1) or DUID-LL (type 3) of an Ethernet interface (RFC 8415
/// §11.2, §11.4): the device's own hardware address, good for vendor lookups.
fn mac_from_duid(duid: &[u8]) -> Option<Mac> {
    let lladdr = match duid {
        [0, 1, 0, 1, _, _, _, _, rest @ ..] => rest,
        [0, 3, 0, 1, rest @ ..] => rest,
        _ => return None,
    };
    <[u8; 6]>::try_from(lladdr).ok().map(Mac)
}

/// Hex digits, optionally separated by `:` (dnsmasq) or not (odhcpd), as bytes.
fn hex_bytes(text: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.iter().copied().filter(|&b| b != b':').collect();
    if digits.is_empty() || digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn ip_addr(field: &[u8]) -> Result<IpAddr, FormatError> {
    ascii(field)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| FormatError::bad_field(Field::Address, field, Expected::IpAddress))
}

fn star_is_none(field: &[u8]) -> Option<&[u8]> {
    (field != b"*").then_some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(s: &str) -> Option<Mac> {
        Some(s.parse().unwrap())
    }

    const DNSMASQ: &str = "\
1795600000 4c:bd:8f:01:02:03 192.168.1.64 IPC-Front-Door 01:4c:bd:8f:01:02:03
0 ec:71:db:aa:bb:cc 192.168.1.20 * *
1795600100 06-00:11:22:33:44:55 192.168.1.21 tokenring *
duid 00:01:00:01:2c:1f:aa:bb:00:11:22:33:44:55
1795600200 1234567 2001:db8:1::64 IPC-Front-Door 00:01:00:01:2a:00:00:01:4c:bd:8f:01:02:03
1795600300 T99 2001:db8:1::65 * 00:02:00:00:ab:11:01:02
agent-info 192.168.1.64 01:02:03
";

    #[test]
    fn dnsmasq_v4_and_v6_leases_are_read() {
        let parsed = parse_dnsmasq_leases(DNSMASQ.as_bytes());
        assert!(parsed.bad_lines.is_empty(), "{:?}", parsed.bad_lines);
        let e = &parsed.entries;
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].mac, mac("4c:bd:8f:01:02:03"));
        assert_eq!(e[0].ip, "192.168.1.64".parse::<IpAddr>().unwrap());
        assert_eq!(e[0].hostname.as_deref(), Some("IPC-Front-Door"));
        assert_eq!(e[0].client_id.as_deref(), Some("01:4c:bd:8f:01:02:03"));
        assert_eq!(e[0].expires, 1795600000);
        assert_eq!(
            (
                e[1].expires,
                e[1].hostname.as_ref(),
                e[1].client_id.as_ref()
            ),
            (0, None, None)
        );
        assert_eq!(e[2].mac, None, "a non-Ethernet hardware address is no MAC");
        assert_eq!(e[3].line, 5);
        assert_eq!(e[3].ip, "2001:db8:1::64".parse::<IpAddr>().unwrap());
        assert_eq!(
            e[3].client_id.as_deref(),
            Some("00:01:00:01:2a:00:00:01:4c:bd:8f:01:02:03")
        );
        assert_eq!(
            e[3].mac,
            mac("4c:bd:8f:01:02:03"),
            "MAC taken from the DUID-LLT"
        );
        assert_eq!(e[4].mac, None, "a DUID-EN carries no MAC");
        assert_eq!(e[4].hostname, None);
    }

    #[test]
    fn dnsmasq_expiry_zero_means_infinite() {
        let parsed = parse_dnsmasq_leases(b"0 ec:71:db:aa:bb:cc 192.168.1.20 nas *\n");
        assert_eq!(parsed.entries[0].expires, 0);
    }

    #[test]
    fn dnsmasq_hostname_is_cleaned() {
        let parsed =
            parse_dnsmasq_leases(b"0 ec:71:db:aa:bb:cc 192.168.1.20 cam\x1b[31m\\evil *\r\n");
        assert_eq!(
            parsed.entries[0].hostname.as_deref(),
            Some("cam\\x1b[31m\\\\evil")
        );
    }

    #[test]
    fn dnsmasq_bad_line_is_reported_with_its_number_and_skipped() {
        let parsed = parse_dnsmasq_leases(
            b"0 ec:71:db:aa:bb:cc 192.168.1.20 nas *\nsoon ec:71:db:aa:bb:cc 192.168.1.21 a *\n\
              0 ec:71:db:aa:bb:cc 192.168.1.300 a *\n0 not-a-mac 192.168.1.22 a *\n0 ec:71:db:aa:bb:cc 192.168.1.23\n",
        );
        assert_eq!(parsed.entries.len(), 1);
        let bad: Vec<(usize, &str)> = parsed
            .bad_lines
            .iter()
            .map(|b| (b.line, b.message.as_str()))
            .collect();
        assert_eq!(
            bad,
            [
                (2, "expiry 'soon' is not a Unix time"),
                (3, "address '192.168.1.300' is not an IP address"),
                (4, "hardware address 'not-a-mac' is not a MAC address"),
                (5, "expected 5 fields (expiry, MAC or IAID, address, hostname, client id), found 3"),
            ]
        );
    }

    const ODHCPD_2026: &str = "\
# br-lan 000100012a0000014cbd8f010203 1a2b3c4d IPC\\x20Front\\x20Door 1795600000 1f 128 2001:db8:1::1f/128 fd00::1f/128
# br-lan 00030001ec71dbaabbcc 1 - -1 2 128 2001:db8:1::2/128
# br-lan 000100012a000001aabbccddeeff 5 router2 1795600000 20 60 2001:db8:1:20::/60
# br-lan 4C:BD:8F:01:02:03 ipv4 IPC-Front-Door 1795600000 c0a80140 32 192.168.1.64/32
# br-lan ec:71:db:aa:bb:c ipv4 broken\\x20my\\x20nas 0 c0a80114 32 192.168.1.20/32
";

    #[test]
    fn odhcpd_state_file_is_read() {
        let parsed = parse_odhcpd_leases(ODHCPD_2026.as_bytes());
        assert!(parsed.bad_lines.is_empty(), "{:?}", parsed.bad_lines);
        let e = &parsed.entries;
        let ips: Vec<String> = e.iter().map(|l| l.ip.to_string()).collect();
        assert_eq!(
            ips,
            [
                "2001:db8:1::1f",
                "fd00::1f",
                "2001:db8:1::2",
                "192.168.1.64",
                "192.168.1.20"
            ]
        );
        assert_eq!(e[0].hostname.as_deref(), Some("IPC Front Door"));
        assert_eq!(
            e[0].mac,
            mac("4c:bd:8f:01:02:03"),
            "MAC taken from the DUID-LLT"
        );
        assert_eq!(
            e[0].client_id.as_deref(),
            Some("000100012a0000014cbd8f010203")
        );
        assert_eq!(e[0].line, 1);
        assert_eq!(e[1].line, 1);
        assert_eq!(
            e[2].mac,
            mac("ec:71:db:aa:bb:cc"),
            "MAC taken from the DUID-LL"
        );
        assert_eq!(e[2].hostname, None);
        assert_eq!(e[3].mac, mac("4c:bd:8f:01:02:03"));
        assert_eq!(e[3].client_id, None);
        assert_eq!(e[3].hostname.as_deref(), Some("IPC-Front-Door"));
    }

    #[test]
    fn odhcpd_infinite_and_expired_leases_keep_their_meaning() {
        let e = parse_odhcpd_leases(ODHCPD_2026.as_bytes()).entries;
        assert_eq!(e[2].expires, 0, "-1 is infinite");
        assert_eq!(
            e[4].expires, EXPIRED_AT_UNKNOWN_TIME,
            "0 is already expired, not infinite"
        );
    }

    #[test]
    fn odhcpd_glibc_mac_without_leading_zeros_and_broken_hostname() {
        let e = parse_odhcpd_leases(ODHCPD_2026.as_bytes()).entries;
        assert_eq!(e[4].mac, mac("ec:71:db:aa:bb:0c"));
        assert_eq!(e[4].hostname.as_deref(), Some("my nas"));
    }

    #[test]
    fn odhcpd_delegated_prefix_is_not_a_host() {
        let e = parse_odhcpd_leases(ODHCPD_2026.as_bytes()).entries;
        assert!(e.iter().all(|l| l.hostname.as_deref() != Some("router2")));
    }

    #[test]
    fn odhcpd_file_from_before_the_2025_rework_is_read() {
        // Hex MAC without colons, raw hostnames, hosts lines interleaved.
        let old = "192.168.1.64\tIPC-Front-Door.lan\tIPC-Front-Door\n\
                   # br-lan 4cbd8f010203 ipv4 IPC-Front-Door 1795600000 c0a80140 32 192.168.1.64/32\n\
                   2001:db8:1::1f\tcam.lan\tcam\n\
                   # br-lan 000100012a0000014cbd8f010203 1a2b3c4d cam 1795600000 1f 128 2001:db8:1::1f/128\n";
        let parsed = parse_odhcpd_leases(old.as_bytes());
        assert!(parsed.bad_lines.is_empty(), "{:?}", parsed.bad_lines);
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(parsed.entries[0].mac, mac("4c:bd:8f:01:02:03"));
        assert_eq!(parsed.entries[0].line, 2);
        assert_eq!(parsed.entries[1].hostname.as_deref(), Some("cam"));
    }

    #[test]
    fn odhcpd_escaped_control_characters_stay_visible() {
        let e = parse_odhcpd_leases(
            b"# br-lan aa:bb:cc:dd:ee:ff ipv4 cam\\x0a\\x1b[2J 0 1 32 10.0.0.1/32",
        )
        .entries;
        assert_eq!(e[0].hostname.as_deref(), Some("cam\\x0a\\x1b[2J"));
    }

    #[test]
    fn odhcpd_bad_line_is_reported_with_its_number_and_skipped() {
        let parsed = parse_odhcpd_leases(
            b"# br-lan aa:bb:cc:dd:ee:ff ipv4 a 0 1 32 10.0.0.1/32\nhello world\n# br-lan zz ipv4 a 0 1 32 10.0.0.2/32\n\
              # br-lan 0001 1 a -5 1 128 2001:db8::1/128\n# br-lan aa:bb:cc:dd:ee:ff ipv4 a 0\n",
        );
        assert_eq!(parsed.entries.len(), 1);
        let bad: Vec<(usize, &str)> = parsed
            .bad_lines
            .iter()
            .map(|b| (b.line, b.message.as_str()))
            .collect();
        assert_eq!(
            bad[0],
            (
                2,
                "neither a lease record (starting with '# ') nor a hosts entry"
            )
        );
        assert_eq!(bad[1], (3, "hardware address 'zz' is not a MAC address"));
        assert_eq!(bad[2], (4, "expiry '-5' is negative"));
        assert_eq!(bad[3].0, 5);
        assert!(
            bad[3].1.starts_with("expected '# <interface>"),
            "{}",
            bad[3].1
        );
    }
}
