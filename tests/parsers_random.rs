//! Every state-file parser is fed random bytes and mutated real inputs: none may panic, and none
//! may let a raw control character through into text that reaches a terminal or LuCI.
//!
//! Deterministic (a fixed-seed PRNG), so a failure reproduces; the seed and iteration are in the
//! panic message. `CAMGUARD_RANDOM_ITERATIONS` raises the count for a longer soak.
use camguard::formats::dhcp::{parse_dnsmasq_leases, parse_odhcpd_leases, DhcpLease};
use camguard::formats::leases::{parse_leases, parse_leases6};
use camguard::formats::linefile::Parsed;
use camguard::formats::nft::{parse_ruleset, Ruleset};
use serde_json::{json, Value};

mod common;
use common::Rng;

fn iterations(default: usize) -> usize {
    std::env::var("CAMGUARD_RANDOM_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Bytes the formats are made of, so random input often gets past the first field.
const ALPHABET: &[u8] =
    b"0123456789abcdefABCDEF:;.-/ *#\t\r\nTCPUDPLITEipv4x\\\x00\x1b\x7f\xc3\xa9\xff";

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(600);
    let structured = rng.chance(70);
    (0..len)
        .map(|_| {
            if structured {
                *rng.pick(ALPHABET)
            } else {
                rng.next() as u8
            }
        })
        .collect()
}

const TOKENS: &[&[u8]] = &[
    b":",
    b";",
    b" ",
    b"\n",
    b"\r\n",
    b"0",
    b"65535",
    b"65536",
    b"4294967296",
    b"18446744073709551616",
    b"-1",
    b"192.168.1.100",
    b"2001:db8::1",
    b"::",
    b"*",
    b"-",
    b"# ",
    b"ipv4",
    b"duid",
    b"broken\\x20",
    b"\\x",
    b"\\x4",
    b"aa:bb:cc:dd:ee:ff",
    b"06-",
    b"T",
    b"/128",
    b"/",
    b"\x1b[2J",
    b"\xe2\x80\xae",
];

fn mutate(rng: &mut Rng, seeds: &[&[u8]]) -> Vec<u8> {
    let mut data = rng.pick(seeds).to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] = rng.next() as u8;
            }
            1 => data.insert(at, *rng.pick(ALPHABET)),
            2 if !data.is_empty() => {
                let end = (at + rng.below(20)).min(data.len());
                data.drain(at.min(end)..end);
            }
            3 => {
                let token = rng.pick(TOKENS);
                data.splice(at..at, token.iter().copied());
            }
            4 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + rng.below(40)).min(data.len());
                let copy = data[start..end].to_vec();
                data.splice(at..at, copy);
            }
            5 => {
                let other = rng.pick(seeds);
                let from = rng.below(other.len() + 1);
                data.splice(at..at, other[from..].iter().copied().take(80));
            }
            _ => {
                let i = rng.below(data.len() + 1);
                data.truncate(i);
            }
        }
    }
    data
}

fn assert_clean(text: &str, what: &str, context: &dyn Fn() -> String) {
    assert!(
        !text.chars().any(char::is_control),
        "{what} {text:?} holds a raw control character ({})",
        context()
    );
}

fn check_parsed<T>(
    parsed: &Parsed<T>,
    input: &[u8],
    one_entry_per_line: bool,
    context: &dyn Fn() -> String,
) {
    let lines = input.split(|&b| b == b'\n').count();
    for bad in &parsed.bad_lines {
        assert!(
            (1..=lines).contains(&bad.line),
            "bad line number {} of {lines} ({})",
            bad.line,
            context()
        );
        assert!(!bad.message.is_empty());
        assert_clean(&bad.message, "error message", context);
    }
    if one_entry_per_line {
        assert!(
            parsed.entries.len() + parsed.bad_lines.len() <= lines,
            "more results than lines ({})",
            context()
        );
    }
}

fn check_dhcp(
    parsed: &Parsed<DhcpLease>,
    input: &[u8],
    one_entry_per_line: bool,
    context: &dyn Fn() -> String,
) {
    check_parsed(parsed, input, one_entry_per_line, context);
    for lease in &parsed.entries {
        for text in lease.hostname.iter().chain(&lease.client_id) {
            assert_clean(text, "DHCP text", context);
        }
    }
}

fn check_ruleset(ruleset: &Ruleset, context: &dyn Fn() -> String) {
    for rule in &ruleset.rules {
        for text in rule.texts() {
            assert_clean(text, "nft text", context);
        }
        for &(lo, hi) in &rule.dports {
            assert!(lo <= hi, "port range {lo}-{hi} ({})", context());
        }
        if let Some(iifname) = &rule.iifname {
            assert_eq!(rule.iifnames, std::slice::from_ref(iifname));
        }
    }
    for redirect in ruleset.upnp_redirects() {
        let _ = (redirect.ext_port(), redirect.covers_ext_port(0));
    }
    let _ = ruleset.fw4_rule_names();
}

const LEASES: &[&[u8]] = &[
    include_bytes!("fixtures/leases/miniupnpd-live.leases"),
    b"TCP:33333:192.168.0.100:33333:1485578298:NAT-PMP 33333 tcp\n",
    b"TCP:1234:1.2.3.4:192.168.1.100:1234:1789054293:test\r\nUDP:5000::192.168.1.7:5001:0:game: lobby\r\n",
];

const LEASES6: &[&[u8]] = &[
    include_bytes!("fixtures/leases/miniupnpd-live.leases6"),
    b"UDP;2001:db8:1::100;8443;2001:db8:ff::99;5000;2;0;PCP MAP; nonce\n",
];

const DNSMASQ: &[&[u8]] = &[
    b"1795600000 4c:bd:8f:01:02:03 192.168.1.64 IPC-Front-Door 01:4c:bd:8f:01:02:03
0 ec:71:db:aa:bb:cc 192.168.1.20 * *
1795600100 06-00:11:22:33:44:55 192.168.1.21 tokenring *
duid 00:01:00:01:2c:1f:aa:bb:00:11:22:33:44:55
1795600200 1234567 2001:db8:1::64 cam 00:01:00:01:2a:00:00:01:4c:bd:8f:01:02:03
1795600300 T99 2001:db8:1::65 * 00:03:00:01:ec:71:db:aa:bb:cc
agent-info 192.168.1.64 01:02:03
",
];

const ODHCPD: &[&[u8]] = &[
    b"# br-lan 000100012a0000014cbd8f010203 1a2b3c4d IPC\\x20Front 1795600000 1f 128 2001:db8:1::1f/128 fd00::1f/128
# br-lan 00030001ec71dbaabbcc 1 - -1 2 128 2001:db8:1::2/128
# br-lan 000100012a000001aabbccddeeff 5 router2 1795600000 20 60 2001:db8:1:20::/60
# br-lan 4C:BD:8F:01:02:03 ipv4 IPC-Front-Door 1795600000 c0a80140 32 192.168.1.64/32
# br-lan ec:71:db:aa:bb:c ipv4 broken\\x20my\\x20nas 0 c0a80114 32 192.168.1.20/32
",
    b"192.168.1.64\tIPC-Front-Door.lan\tIPC-Front-Door
# br-lan 4cbd8f010203 ipv4 IPC-Front-Door 1795600000 c0a80140 32 192.168.1.64/32
",
];

const NFT: &[&[u8]] = &[
    include_bytes!("fixtures/nft/miniupnpd-live.json"),
    include_bytes!("fixtures/nft/fw4-openwrt-24.10.json"),
    include_bytes!("fixtures/nft/empty.json"),
];

#[test]
fn lease_parsers_survive_random_bytes() {
    let mut rng = Rng(0x5eed_0001);
    for i in 0..iterations(20_000) {
        let input = random_bytes(&mut rng);
        let context = || format!("iteration {i} of random bytes, input {input:?}");
        let v4 = parse_leases(&input);
        // Not one entry per line: miniupnpd reads an overlong line as several.
        check_parsed(&v4, &input, false, &context);
        for lease in &v4.entries {
            assert_clean(&lease.description, "lease text", &context);
            for forgery in &lease.forged {
                assert_clean(&forgery.to_string(), "forgery text", &context);
            }
        }
        let v6 = parse_leases6(&input);
        check_parsed(&v6, &input, true, &context);
        for pinhole in &v6.entries {
            assert_clean(&pinhole.description, "pinhole description", &context);
        }
    }
}

#[test]
fn lease_parsers_survive_mutated_real_files() {
    let mut rng = Rng(0x5eed_0002);
    let mut parsed_some = 0;
    for i in 0..iterations(20_000) {
        let v4 = mutate(&mut rng, LEASES);
        let context = || format!("iteration {i}, mutated lease file {v4:?}");
        let parsed = parse_leases(&v4);
        check_parsed(&parsed, &v4, false, &context);
        parsed_some += parsed.entries.len();
        for lease in &parsed.entries {
            assert_clean(&lease.description, "lease description", &context);
        }
        let v6 = mutate(&mut rng, LEASES6);
        let context = || format!("iteration {i}, mutated pinhole file {v6:?}");
        check_parsed(&parse_leases6(&v6), &v6, true, &context);
    }
    assert!(
        parsed_some > 0,
        "mutations never left a valid lease: the test exercises nothing"
    );
}

#[test]
fn dhcp_parsers_survive_random_bytes() {
    let mut rng = Rng(0x5eed_0003);
    for i in 0..iterations(20_000) {
        let input = random_bytes(&mut rng);
        let context = || format!("iteration {i} of random bytes, input {input:?}");
        check_dhcp(&parse_dnsmasq_leases(&input), &input, true, &context);
        check_dhcp(&parse_odhcpd_leases(&input), &input, false, &context);
    }
}

#[test]
fn dhcp_parsers_survive_mutated_real_files() {
    let mut rng = Rng(0x5eed_0004);
    let mut parsed_some = 0;
    for i in 0..iterations(20_000) {
        let dnsmasq = mutate(&mut rng, DNSMASQ);
        let context = || format!("iteration {i}, mutated dnsmasq file {dnsmasq:?}");
        let parsed = parse_dnsmasq_leases(&dnsmasq);
        parsed_some += parsed.entries.len();
        check_dhcp(&parsed, &dnsmasq, true, &context);
        let odhcpd = mutate(&mut rng, ODHCPD);
        let context = || format!("iteration {i}, mutated odhcpd file {odhcpd:?}");
        let parsed = parse_odhcpd_leases(&odhcpd);
        parsed_some += parsed.entries.len();
        check_dhcp(&parsed, &odhcpd, false, &context);
    }
    assert!(
        parsed_some > 0,
        "mutations never left a valid lease: the test exercises nothing"
    );
}

/// Lines of /proc/net/nf_conntrack in the kernel's format (relay connections and others).
const CONNTRACK: &[&[u8]] = &[
    b"ipv4     2 udp      17 175 src=192.168.1.64 dst=198.51.100.9 sport=40001 dport=32100 src=198.51.100.9 dst=203.0.113.2 sport=32100 dport=40001 [ASSURED] mark=0 zone=0 use=2\n",
    b"ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.71 dst=203.0.113.7 sport=50312 dport=9999 src=203.0.113.7 dst=198.51.100.2 sport=9999 dport=50312 [ASSURED] mark=0 zone=0 delta-time=5400 use=2\n",
    b"ipv6     10 udp      17 29 src=fd00:0000:0000:0000:0000:0000:0000:0049 dst=2001:0db8:0000:0000:0000:0000:0000:0007 sport=41000 dport=8900 [UNREPLIED] src=2001:0db8:0000:0000:0000:0000:0000:0007 dst=fd00:0000:0000:0000:0000:0000:0000:0049 sport=8900 dport=41000 mark=0 zone=0 use=2\n",
];

#[test]
fn conntrack_parser_survives_random_and_mutated_tables() {
    use camguard::formats::conntrack;
    use camguard::lan::conntrack::MAX_RELAY_FLOWS;
    let mut rng = Rng(0x5eed_000c);
    let mut kept = 0;
    for i in 0..iterations(20_000) {
        let input = if i % 2 == 0 {
            random_bytes(&mut rng)
        } else {
            mutate(&mut rng, CONNTRACK)
        };
        let table = conntrack::parse(&input, i % 3 == 0);
        assert!(table.flows.len() <= MAX_RELAY_FLOWS, "iteration {i}");
        assert!(table.bad_lines <= table.lines, "iteration {i}");
        for f in &table.flows {
            assert!(f
                .state
                .as_ref()
                .is_none_or(|s| s.len() <= 16 && !s.contains('<')));
            assert!(
                camguard::ports::relay_on(f.proto, f.dport).is_some(),
                "iteration {i}"
            );
        }
        kept += table.flows.len();
    }
    assert!(
        kept > 0,
        "mutations never left a relay connection: the test exercises nothing"
    );
}

#[test]
fn nft_reader_survives_random_and_mutated_bytes() {
    let mut rng = Rng(0x5eed_0005);
    for i in 0..iterations(3_000) {
        let input = if rng.chance(30) {
            random_bytes(&mut rng)
        } else {
            mutate(&mut rng, NFT)
        };
        let context = || format!("iteration {i}, input {:?}", String::from_utf8_lossy(&input));
        if let Ok(ruleset) = parse_ruleset(&input) {
            check_ruleset(&ruleset, &context);
        }
    }
}

/// Random JSON in the shape of `nft -j` output, so the reader's match and statement handling is
/// reached with every odd combination, not only the JSON parser's error paths.
#[test]
fn nft_reader_survives_random_rulesets() {
    let mut rng = Rng(0x5eed_0006);
    let mut rules_read = 0;
    for i in 0..iterations(2_000) {
        let items: Vec<Value> = (0..1 + rng.below(6))
            .map(|_| random_item(&mut rng))
            .collect();
        let document = json!({ "nftables": items });
        let bytes = serde_json::to_vec(&document).unwrap();
        let context = || format!("iteration {i}, ruleset {document}");
        let ruleset = parse_ruleset(&bytes).unwrap_or_else(|e| panic!("{e} ({})", context()));
        rules_read += ruleset.rules.len();
        check_ruleset(&ruleset, &context);
    }
    assert!(rules_read > 0);
}

fn random_item(rng: &mut Rng) -> Value {
    let family = *rng.pick(&["inet", "ip", "ip6", "bridge"]);
    let table = *rng.pick(&["fw4", "filter", ""]);
    match rng.below(4) {
        0 => {
            json!({ "set": { "family": family, "table": table, "name": rng.pick(&["cameras", "ports", "x"]).to_string(),
                              "elem": random_list(rng, 0) } })
        }
        1 => {
            json!({ "chain": { "family": family, "table": table, "name": "upnp_prerouting", "handle": rng.next() } })
        }
        _ => {
            let exprs: Vec<Value> = (0..rng.below(8)).map(|_| random_expr(rng)).collect();
            let mut rule = json!({ "family": family, "table": table,
                                   "chain": *rng.pick(&["upnp_prerouting", "upnp_forward", "dstnat_wan", "c"]),
                                   "handle": random_scalar(rng), "expr": exprs });
            if rng.chance(50) {
                rule["comment"] = random_scalar(rng);
            }
            json!({ "rule": rule })
        }
    }
}

fn random_expr(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0..=5 => {
            let op = *rng.pick(&["==", "!=", "in", "<", "<=", ">", ">=", "~", ""]);
            let mut m = json!({ "left": random_selector(rng), "right": random_value(rng, 0) });
            if !op.is_empty() {
                m["op"] = json!(op);
            }
            json!({ "match": m })
        }
        6 => {
            let kind = *rng.pick(&["dnat", "snat", "redirect", "masquerade"]);
            let mut body = json!({});
            if rng.chance(70) {
                body["addr"] = random_value(rng, 0);
            }
            if rng.chance(70) {
                body["port"] = random_value(rng, 0);
            }
            json!({ kind: if rng.chance(20) { Value::Null } else { body } })
        }
        7 => {
            let verdict = *rng.pick(&["accept", "drop", "reject", "return", "jump", "goto"]);
            json!({ verdict: if rng.chance(50) { json!({ "target": random_scalar(rng) }) } else { Value::Null } })
        }
        8 => json!({ "vmap": { "key": random_selector(rng), "data": random_value(rng, 0) } }),
        9 => json!({ "counter": { "packets": 0, "bytes": 0 } }),
        10 => random_value(rng, 0),
        _ => json!({ random_key(rng): random_value(rng, 0) }),
    }
}

fn random_selector(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 => {
            json!({ "meta": { "key": *rng.pick(&["l4proto", "iif", "iifname", "nfproto", "oifname"]) } })
        }
        1 => json!({ "payload": {
            "protocol": *rng.pick(&["tcp", "udp", "udplite", "th", "sctp", "ip", "ip6", "ether", "icmp", "icmpv6"]),
            "field": *rng.pick(&["dport", "sport", "daddr", "saddr", "protocol", "nexthdr", "type"]) } }),
        2 => json!({ "payload": { "base": *rng.pick(&["nh", "th", "ll"]),
                                  "offset": *rng.pick(&[72u64, 48, 128, 192, 16, 96, 64]),
                                  "len": *rng.pick(&[8u64, 16, 32, 128]) } }),
        3 => json!({ "&": [random_selector(rng), random_value(rng, 1)] }),
        _ => random_value(rng, 1),
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    if depth > 3 {
        return random_scalar(rng);
    }
    match rng.below(8) {
        0 => json!({ "set": random_list(rng, depth + 1) }),
        1 => random_list(rng, depth + 1),
        2 => json!({ "range": [random_value(rng, depth + 1), random_value(rng, depth + 1)] }),
        3 => json!({ "prefix": { "addr": random_scalar(rng), "len": random_scalar(rng) } }),
        4 => json!({ "elem": { "val": random_value(rng, depth + 1) } }),
        _ => random_scalar(rng),
    }
}

fn random_list(rng: &mut Rng, depth: usize) -> Value {
    Value::Array(
        (0..rng.below(5))
            .map(|_| random_value(rng, depth))
            .collect(),
    )
}

fn random_scalar(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => json!(rng.next()),
        1 => json!(rng.below(70_000)),
        2 => json!(-(rng.below(1000) as i64)),
        3 => json!(rng.below(1000) as f64 + 0.5),
        4 => Value::Null,
        5 => json!(rng.chance(50)),
        _ => json!(*rng.pick(&[
            "tcp",
            "udp",
            "udplite",
            "esp",
            "6",
            "17",
            "80",
            "65536",
            "@cameras",
            "@ports",
            "@missing",
            "wan",
            "192.168.1.100",
            "2001:db8::1",
            "0xc0a80164",
            "0x20010db8000100000000000000000100",
            "0x",
            "0xfffffffffffffffffffffffffffffffff",
            "aa:bb:cc:dd:ee:ff",
            "!fw4: cam\u{1b}[2J",
            "\u{202e}evil",
            "",
        ])),
    }
}

fn random_key(rng: &mut Rng) -> &'static str {
    const KEYS: &[&str] = &[
        "limit", "log", "mangle", "xt", "flow", "queue", "", "match", "dnat", "jump",
    ];
    KEYS[rng.below(KEYS.len())]
}

/// A line as miniupnpd's `lease_file_add` prints it (`"%s:%hu:%s:%hu:%u:%s\n"`, an address in
/// dotted-quad form, no control characters in the description from 2.3.11) is read back as
/// written and never taken for a forged one.
#[test]
fn lines_miniupnpd_writes_round_trip_and_are_never_forged() {
    use camguard::formats::leases::LINE_BUFFER;
    let mut rng = Rng(0x5eed_0010);
    for i in 0..iterations(20_000) {
        let proto = *rng.pick(&["TCP", "UDP", "UDPLITE"]);
        let ext = 1 + rng.below(65535) as u16;
        let int = rng.below(65536) as u16;
        let addr = std::net::Ipv4Addr::from(rng.next() as u32);
        let ts = if rng.chance(20) { 0 } else { rng.next() as u32 };
        let head = format!("{proto}:{ext}:{addr}:{int}:{ts}:");
        let room = LINE_BUFFER - 2 - head.len();
        // Short of text::lan_text's cut.
        let desc: String = (0..rng.below(room.min(200) + 1))
            .map(|_| char::from(0x20 + rng.below(0x5f) as u8))
            // A backslash comes out escaped (text::lan_text), which is not what this is about.
            .map(|c| if c == '\\' { '/' } else { c })
            .collect();
        let line = format!("{head}{desc}\n");
        let parsed = parse_leases(line.as_bytes());
        let context = || format!("iteration {i}, line {line:?}");
        assert!(
            parsed.bad_lines.is_empty(),
            "{:?} ({})",
            parsed.bad_lines,
            context()
        );
        let l = &parsed.entries[0];
        assert_eq!(
            (
                l.proto.as_str(),
                l.ext_port,
                l.int_addr,
                l.int_port,
                l.expires
            ),
            (proto, ext, addr, int, u64::from(ts)),
            "{}",
            context()
        );
        assert_eq!(l.description, desc.trim(), "{}", context());
        assert!(l.forged.is_empty(), "{:?} ({})", l.forged, context());
    }
}

/// Whatever number is written for a port, miniupnpd opens it modulo 2^16 (musl `atoi` into an
/// `unsigned short`), and the line is forged unless it is what `%hu` prints for a port above 0.
#[test]
fn written_ports_wrap_to_16_bits_and_mark_the_line_forged() {
    let mut rng = Rng(0x5eed_0011);
    for i in 0..iterations(20_000) {
        let n: u64 = match rng.below(3) {
            0 => rng.below(70_000) as u64,
            1 => rng.next() & 0xff_ffff_ffff,
            _ => rng.next() & 0x7fff_ffff,
        };
        let sign = *rng.pick(&["", "", "+", "-"]);
        let line = format!("TCP:{sign}{n}:192.168.1.5:80:0:x\n");
        let parsed = parse_leases(line.as_bytes());
        let l = &parsed.entries[0];
        let magnitude = (n % 65536) as u16;
        let want = if sign == "-" {
            magnitude.wrapping_neg()
        } else {
            magnitude
        };
        assert_eq!(l.ext_port, want, "iteration {i}, line {line:?}");
        let canonical = sign.is_empty() && (1..=65535).contains(&n);
        assert_eq!(
            l.is_forged(),
            !canonical,
            "iteration {i}, line {line:?}: {:?}",
            l.forged
        );
    }
}
