//! The kernel's connection-tracking table as `/proc/net/nf_conntrack` prints it, kept only
//! where a connection goes to a vendor cloud or P2P relay ([`crate::ports::RELAYS`]).
//!
//! One line per connection (net/netfilter/nf_conntrack_standalone.c, `ct_seq_show`):
//!
//! ```text
//! ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.64 dst=203.0.113.7 sport=50312 dport=9999 src=203.0.113.7 dst=198.51.100.2 sport=9999 dport=50312 [ASSURED] mark=0 zone=0 use=2
//! ipv4     2 udp      17 29 src=192.168.1.70 dst=198.51.100.9 sport=40001 dport=32100 [UNREPLIED] src=198.51.100.9 dst=198.51.100.2 sport=32100 dport=40001 mark=0 zone=0 use=2
//! ```
//!
//! The layer 3 name and number, the layer 4 name and number, the seconds until the entry
//! expires, the TCP state (TCP only), the original tuple, `packets=`/`bytes=` when accounting
//! is on, `[UNREPLIED]`, the reply tuple, its counters, `[OFFLOAD]`/`[HW_OFFLOAD]`,
//! `[ASSURED]`, `mark=`, `secctx=`, `zone=`, `delta-time=` when timestamps are on, `use=`.
//! IPv6 addresses are printed in full (`fd00:0000:…`). Only TCP and UDP lines can reach a
//! relay; others (ICMP, GRE) are counted and skipped.
//!
//! Any host on the LAN can fill this table (one UDP packet per entry), so the parser keeps at
//! most [`MAX_RELAY_FLOWS`] connections and never panics: its module denies the panicking
//! constructs, and the `conntrack` fuzz target runs it.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
use std::net::IpAddr;

use crate::lan::conntrack::{Conntrack, Flow, MAX_RELAY_FLOWS};
use crate::ports::{relay_on, Protocol};

/// The longest line the kernel prints is well under this (two IPv6 tuples with counters).
const MAX_LINE: usize = 1024;
/// The longest TCP state name (`SYN_SENT2`, `CLOSE_WAIT`, `TIME_WAIT`…).
const MAX_STATE: usize = 16;

/// Parses the table. `truncated` says the caller read only the first part of the file: the
/// last, possibly cut, line is then not counted as bad.
pub fn parse(input: &[u8], truncated: bool) -> Conntrack {
    let mut out = Conntrack {
        truncated,
        ..Conntrack::default()
    };
    let mut lines = input.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if truncated && lines.peek().is_none() {
            break;
        }
        out.lines += 1;
        match parse_line(line) {
            Line::Bad => out.bad_lines += 1,
            Line::Other => {}
            Line::Flow(flow) => {
                if flow.relay.udp.is_empty() && flow.relay.tcp.is_empty() {
                    continue;
                }
                if out.flows.len() < MAX_RELAY_FLOWS {
                    out.flows.push(flow);
                } else {
                    out.truncated = true;
                }
            }
        }
    }
    out
}

enum Line {
    /// Not the kernel's format.
    Bad,
    /// A well-formed line that is not a TCP/UDP connection to a relay.
    Other,
    Flow(Flow),
}

fn parse_line(line: &[u8]) -> Line {
    if line.len() > MAX_LINE {
        return Line::Bad;
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Line::Bad;
    };
    let mut words = text.split_ascii_whitespace();
    let (Some(l3), Some(_l3num), Some(_l4), Some(l4num), Some(timeout)) = (
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
    ) else {
        return Line::Bad;
    };
    if !matches!(l3, "ipv4" | "ipv6") {
        return Line::Bad;
    }
    let (Ok(l4num), Ok(expires_in)) = (l4num.parse::<u64>(), timeout.parse::<u64>()) else {
        return Line::Bad;
    };
    let proto = match Protocol::from_number(l4num) {
        Some(p @ (Protocol::Tcp | Protocol::Udp)) => p,
        _ => return Line::Other,
    };
    let mut state = None;
    let mut src = None;
    let mut dst = None;
    let mut sport = None;
    let mut dport = None;
    let mut replied = true;
    let mut assured = false;
    let mut age = None;
    for word in words {
        match word.split_once('=') {
            // The first of each key is the original direction; the reply tuple repeats them.
            Some(("src", v)) if src.is_none() => src = Some(v),
            Some(("dst", v)) if dst.is_none() => dst = Some(v),
            Some(("sport", v)) if sport.is_none() => sport = Some(v),
            Some(("dport", v)) if dport.is_none() => dport = Some(v),
            Some(("delta-time", v)) => age = v.parse::<u64>().ok(),
            Some(_) => {}
            None if word == "[UNREPLIED]" => replied = false,
            None if word == "[ASSURED]" => assured = true,
            None if word.starts_with('[') => {}
            // The TCP state comes before the first tuple.
            None if src.is_none()
                && proto == Protocol::Tcp
                && word.len() <= MAX_STATE
                && word
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit()) =>
            {
                state = Some(word.to_owned());
            }
            None => return Line::Bad,
        }
    }
    let (Some(src), Some(dst), Some(sport), Some(dport)) = (src, dst, sport, dport) else {
        return Line::Bad;
    };
    let (Ok(src), Ok(dst), Ok(sport), Ok(dport)) = (
        src.parse::<IpAddr>(),
        dst.parse::<IpAddr>(),
        sport.parse::<u16>(),
        dport.parse::<u16>(),
    ) else {
        return Line::Bad;
    };
    if (l3 == "ipv4") != src.is_ipv4() || src.is_ipv4() != dst.is_ipv4() {
        return Line::Bad;
    }
    let Some(relay) = relay_on(proto, dport) else {
        return Line::Other;
    };
    Line::Flow(Flow {
        proto,
        src,
        dst,
        sport,
        dport,
        state,
        replied,
        assured,
        expires_in,
        age,
        relay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines in the kernel's format (ct_seq_show), one for each relay the table can match.
    pub const FIXTURE: &str = "\
ipv4     2 udp      17 29 src=192.168.1.70 dst=198.51.100.9 sport=40001 dport=32100 [UNREPLIED] src=198.51.100.9 dst=198.51.100.2 sport=32100 dport=40001 mark=0 zone=0 use=2
ipv4     2 udp      17 175 src=192.168.1.70 dst=198.51.100.10 sport=40001 dport=32100 src=198.51.100.10 dst=198.51.100.2 sport=32100 dport=40001 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.71 dst=203.0.113.7 sport=50312 dport=9999 src=203.0.113.7 dst=198.51.100.2 sport=9999 dport=50312 [ASSURED] mark=0 zone=0 delta-time=5400 use=2
ipv4     2 udp      17 120 src=192.168.1.72 dst=203.0.113.80 sport=37810 dport=8900 packets=4 bytes=400 src=203.0.113.80 dst=198.51.100.2 sport=8900 dport=37810 packets=3 bytes=300 [ASSURED] mark=0 zone=0 use=2
ipv6     10 tcp      6 7431 ESTABLISHED src=fd00:0000:0000:0000:0000:0000:0000:0049 dst=2001:0db8:0000:0000:0000:0000:0000:0007 sport=41000 dport=8557 src=2001:0db8:0000:0000:0000:0000:0000:0007 dst=fd00:0000:0000:0000:0000:0000:0000:0049 sport=8557 dport=41000 [OFFLOAD] [ASSURED] mark=0 zone=0 use=3
ipv4     2 tcp      6 86399 ESTABLISHED src=192.168.1.20 dst=140.82.121.4 sport=51000 dport=443 src=140.82.121.4 dst=198.51.100.2 sport=443 dport=51000 [ASSURED] mark=0 zone=0 use=2
ipv4     2 icmp     1 29 src=192.168.1.20 dst=9.9.9.9 type=8 code=0 id=7 src=9.9.9.9 dst=198.51.100.2 type=0 code=0 id=7 mark=0 zone=0 use=2
ipv4     2 unknown  47 599 src=192.168.1.20 dst=203.0.113.1 src=203.0.113.1 dst=198.51.100.2 mark=0 zone=0 use=2
";

    #[test]
    fn real_lines_of_every_matchable_relay_are_read() {
        let ct = parse(FIXTURE.as_bytes(), false);
        assert_eq!(ct.lines, 8);
        assert_eq!(ct.bad_lines, 0, "ICMP and GRE lines are no errors");
        assert_eq!(ct.flows.len(), 5, "{:#?}", ct.flows);
        let pppp = &ct.flows[0];
        assert_eq!(pppp.proto, Protocol::Udp);
        assert_eq!(pppp.src.to_string(), "192.168.1.70");
        assert_eq!(pppp.dst.to_string(), "198.51.100.9");
        assert_eq!((pppp.sport, pppp.dport), (40001, 32100));
        assert!(!pppp.replied && !pppp.assured && pppp.state.is_none());
        assert!(pppp.relay.service.contains("PPPP"));
        let ring = &ct.flows[2];
        assert_eq!(ring.state.as_deref(), Some("ESTABLISHED"));
        assert_eq!((ring.age, ring.expires_in), (Some(5400), 431_999));
        assert!(ring.assured && ring.replied);
        assert!(
            ct.flows[3].relay.service.contains("Dahua"),
            "counters are skipped"
        );
        let v6 = &ct.flows[4];
        assert_eq!(v6.src.to_string(), "fd00::49");
        assert!(v6.relay.service.contains("Ring"));
        // Every relay with ports has a fixture line.
        for r in crate::ports::RELAYS
            .iter()
            .filter(|r| !r.udp.is_empty() || !r.tcp.is_empty())
        {
            assert!(
                ct.flows.iter().any(|f| std::ptr::eq(f.relay, r)),
                "{}",
                r.service
            );
        }
    }

    #[test]
    fn malformed_and_hostile_lines_are_counted_not_kept() {
        let input = "\
ipv4 2 tcp 6
ipv4 2 tcp 6 x ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=9999
ipv4 2 udp 17 30 src=192.168.1.70 dst=2.2.2.2 sport=1 dport=99999
ipv4 2 udp 17 30 src=fd00::1 dst=2.2.2.2 sport=1 dport=32100
ipv4 2 udp 17 30 src=192.168.1.70 dst=2.2.2.2 sport=1
ipx 2 udp 17 30 src=192.168.1.70 dst=2.2.2.2 sport=1 dport=32100
ipv4 2 tcp 6 30 <script> src=192.168.1.70 dst=2.2.2.2 sport=1 dport=9999
\u{fffd}\u{202e} 2 udp 17 30
";
        let ct = parse(input.as_bytes(), false);
        assert_eq!(ct.lines, 8);
        assert_eq!(ct.bad_lines, 8);
        assert!(ct.flows.is_empty());
        let mut huge = vec![b'a'; 5000];
        huge.extend(b"\nipv4 2 udp 17 30 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=32100\n");
        let ct = parse(&huge, false);
        assert_eq!((ct.bad_lines, ct.flows.len()), (1, 1));
        let _ = parse(&[0xff, 0x00, b'\n', b'='], false);
    }

    #[test]
    fn a_table_filled_by_one_host_is_bounded() {
        let line = "ipv4 2 udp 17 30 src=192.168.1.9 dst=2.2.2.2 sport=1 dport=32100\n";
        let ct = parse(line.repeat(MAX_RELAY_FLOWS + 50).as_bytes(), false);
        assert_eq!(ct.flows.len(), MAX_RELAY_FLOWS);
        assert!(ct.truncated);
        assert_eq!(ct.lines, MAX_RELAY_FLOWS + 50);
    }

    #[test]
    fn a_cut_last_line_of_a_partial_read_is_not_an_error() {
        let ct = parse(
            b"ipv4 2 udp 17 30 src=192.168.1.9 dst=2.2.2.2 sport=1 dport=32100\nipv4 2 ud",
            true,
        );
        assert_eq!((ct.lines, ct.bad_lines, ct.flows.len()), (1, 0, 1));
        assert!(ct.truncated);
    }
}
