//! What LAN devices and the kernel answer camguard: neighbour tables (`/proc/net/arp`,
//! `ip -j neigh`), the connection-tracking table (`/proc/net/nf_conntrack`, which any LAN host
//! can fill), and HTTP/RTSP replies of cameras to the probe and the default-password check
//! (`wire::Response::parse`, `probe::interpret`, `credentials::lockout_sign`, the
//! `WWW-Authenticate` parser and the `Authorization` header built from a device's challenge),
//! and the discovery replies: SADP, Dahua DHIP, WS-Discovery, SSDP search responses (and the
//! LOCATION check), UPnP descriptions and ONVIF's XAddrs and GetDeviceInformation answers,
//! the announcements the daemon listens for (SSDP NOTIFY, WS-Discovery Hello, SADP, through
//! `Listener::take` on each port),
//! the firmware versions they name (`parse_version`, the known-exploited match) and strings
//! read back from seen.json (`lan_text_reloaded`).
//!
//! Input: the first two bytes are the port the reply came from, the rest is the reply.
#![no_main]
use camguard::facts::firmware::{known_exploited, parse_version};
use camguard::formats::conntrack;
use camguard::formats::discovery::{parse_dhip, parse_sadp, parse_ws_discovery, parse_ws_hello};
use camguard::formats::neighbours::{parse_ip_neigh_json, parse_proc_net_arp, MAX_NEIGHBOURS};
use camguard::formats::onvif::{device_service, parse_device_information};
use camguard::formats::ssdp::{
    lan_location, parse_description, parse_notify, search_response_location, MAX_PATH,
};
use camguard::lan::conntrack::MAX_RELAY_FLOWS;
use camguard::probe::credentials::lockout_sign;
use camguard::probe::digest::{self, parse_challenges};
use camguard::probe::guard::{LanGuard, LanPrefix};
use camguard::probe::listen::{Listener, PORTS};
use camguard::probe::scan::{interpret, vendor_hint};
use camguard::probe::wire::Response;
use camguard::text::lan_text_reloaded;
use camguard_fuzz::assert_clean;
use libfuzzer_sys::fuzz_target;

fn check_neighbours(list: &[camguard::lan::Neighbour]) {
    assert!(list.len() <= MAX_NEIGHBOURS);
    for n in list {
        assert_clean(&n.dev, "neighbour device");
        assert!(
            !n.mac.is_multicast() && n.mac.0 != [0; 6],
            "unusable MAC {:?} kept",
            n.mac
        );
    }
}

fn check_challenges(challenges: &[digest::Challenge]) {
    for method in ["GET", "DESCRIBE"] {
        let req = digest::Request {
            method,
            uri: "/ISAPI/Security/userCheck",
            user: "admin",
            password: "12345",
            cnonce: "0a4f113b",
        };
        for c in challenges {
            // The answer goes back to the device as a header line: whatever the challenge said,
            // it must not end the line or smuggle a control character in.
            if let Ok(header) = digest::authorization(c, &req) {
                assert!(
                    !header.chars().any(char::is_control),
                    "Authorization header {header:?} holds a control character"
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check_neighbours(&parse_proc_net_arp(data));
    if let Ok(list) = parse_ip_neigh_json(data) {
        check_neighbours(&list);
    }
    let sadp = parse_sadp(data, 0).map(|r| r.info);
    let notify = parse_notify(data, 0);
    let others = [
        parse_dhip(data, 0),
        parse_ws_discovery(data, 0),
        parse_ws_hello(data, 0),
        parse_description(data, 0),
        parse_device_information(data, 0),
        notify.and_then(|n| n.info),
    ];
    // The listener as the daemon runs it: one datagram on each port from a LAN address.
    if let Ok(prefix) = LanPrefix::parse("192.168.1.1/24") {
        let mut listener = Listener::default();
        listener.follow(LanGuard::new(vec![prefix]), false);
        let lan = std::net::Ipv4Addr::new(192, 168, 1, 64);
        for port in PORTS {
            listener.take(port, lan, data, 0, std::time::Instant::now());
        }
        assert!(listener.heard().len() <= 1);
        for h in listener.heard() {
            let info = h.info.as_ref();
            assert!(info.is_none_or(|i| i.passive), "{info:?}");
        }
    }
    for info in sadp.iter().chain(others.iter().flatten()) {
        let texts = [
            &info.model,
            &info.firmware,
            &info.manufacturer,
            &info.device_type,
        ];
        for text in texts.into_iter().flatten() {
            assert_clean(text, "discovery field");
        }
        // The firmware check reads the firmware string as the device wrote it.
        for vendor in ["Hikvision", "Dahua"] {
            let _ = known_exploited(vendor, info);
        }
    }
    // Version strings and seen.json strings straight from the input.
    let text = String::from_utf8_lossy(data);
    if let Some(v) = parse_version(&text) {
        assert!(v.numbers.len() >= 2 && v.build.is_none_or(|b| b < 1_000_000));
    }
    let reloaded = lan_text_reloaded(&text);
    assert_clean(&reloaded, "reloaded string");
    assert!(
        !reloaded.chars().any(camguard::text::is_bidi_control),
        "{reloaded:?}"
    );
    let from = std::net::Ipv4Addr::new(192, 168, 1, 64);
    if let Some((port, path)) = device_service(data, from) {
        assert!(port != 0 && path.starts_with('/') && path.len() <= MAX_PATH);
        assert!(path.bytes().all(|b| b.is_ascii_graphic()), "{path:?}");
    }
    if let Some(url) = search_response_location(data) {
        if let Some((port, path)) = lan_location(&url, from) {
            // Followed only to the answering address, with a path that keeps the request line.
            assert!(port != 0 && path.starts_with('/') && path.len() <= MAX_PATH);
            assert!(path.bytes().all(|b| b.is_ascii_graphic()), "{path:?}");
            let host = url.get(7..).unwrap_or_default();
            assert!(
                host.starts_with("192.168.1.64:")
                    || host.starts_with("192.168.1.64/")
                    || host == "192.168.1.64",
                "{url:?}"
            );
        }
    }
    for truncated in [false, true] {
        let table = conntrack::parse(data, truncated);
        assert!(table.flows.len() <= MAX_RELAY_FLOWS && table.bad_lines <= table.lines);
        for f in &table.flows {
            if let Some(state) = &f.state {
                assert_clean(state, "TCP state");
            }
        }
    }

    let (port, reply) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
        _ => (80, data),
    };
    if let Some(r) = Response::parse(reply) {
        assert!((100..=999).contains(&r.status));
        if let Some(sign) = lockout_sign(&r) {
            assert_clean(&sign, "lockout sign");
        }
        if let Some(server) = r.server() {
            assert_clean(&server, "server");
        }
        if let Some(hint) = vendor_hint(&r) {
            assert_clean(&hint.reason, "vendor hint");
        }
        let challenges = r.challenges();
        check_challenges(&challenges);
        let _ = r.is_rtsp();
    }
    let service = interpret(port, Some(reply));
    assert_eq!(service.port, port);
    for text in service
        .server
        .iter()
        .chain(&service.realm)
        .chain(&service.auth)
    {
        assert_clean(text, "probe text");
    }
    if let Some(hint) = &service.vendor_hint {
        assert_clean(&hint.reason, "vendor hint");
    }
    // Header values on their own, as a reply's lines would give them.
    let text = String::from_utf8_lossy(reply);
    check_challenges(&parse_challenges(text.split("\r\n")));
});
