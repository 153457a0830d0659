//! Asking cameras who they are through their own discovery protocols (issue 17, item 1):
//! Hikvision's SADP (UDP 37020) and Dahua's DHIP discovery (UDP 37810), whose replies name the
//! model and firmware without any login, a directed WS-Discovery probe (UDP 3702), whose
//! ONVIF scopes name the model, and a unicast SSDP M-SEARCH (UDP 1900), whose answer points to
//! a UPnP description naming the maker, model and device type.
//!
//! What devices announce by themselves (SSDP NOTIFY, SADP announcements, WS-Discovery Hello)
//! is heard by [`super::listen`], which sends nothing; the UPnP description a NOTIFY points to
//! is fetched here, like an M-SEARCH answer's.
//!
//! Two HTTP fetches follow, each only to the address that answered (the URL it gave must name
//! it): ONVIF's unauthenticated `GetDeviceInformation` at the device service a WS-Discovery
//! answer names, for cameras that named no firmware yet, and the UPnP description an SSDP
//! answer names, for devices no camera protocol answered. Bounded: [`FETCH_WITHIN`] and
//! [`wire::MAX_RESPONSE`] each, [`MAX_FETCHES`] and [`FETCHES_WITHIN`] per run.
//!
//! The inquiries go by unicast to each LAN address the probe is due for, never to a multicast
//! group: a router sending to 239.255.255.250 would send out of whichever interface its
//! routing table picks, the WAN included. Every address passes the [`LanGuard`] first, and a
//! reply counts only from the address the inquiry went to. The worker runs this under
//! `option probe '1'`, with the port probe, so each device is asked at most once a day.
// What LAN devices send is parsed here: it must not be able to panic the daemon (probe/mod.rs).
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
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::guard::LanGuard;
use super::wire::{self, Response};
use crate::formats::discovery::{
    dhip_inquiry, parse_dhip, parse_sadp, parse_ws_discovery, MAX_REPLY,
};
use crate::formats::onvif::{device_information_request, device_service, parse_device_information};
use crate::formats::ssdp::{
    description_request, lan_location, msearch, parse_description, search_response_location,
    SSDP_PORT,
};
use crate::lan::DeviceInfo;

/// Hikvision's SADP port (peers-and-camera-data §2.2, UniversalScanner Hikvision.cs).
pub const SADP_PORT: u16 = 37020;
/// Dahua's discovery port (peers-and-camera-data §2.2, UniversalScanner Dahua2.cs).
pub const DAHUA_PORT: u16 = 37810;
/// WS-Discovery's port (peers-and-camera-data [S38]); a directed probe goes to it by unicast.
pub const WS_DISCOVERY_PORT: u16 = 3702;
/// A WS-Discovery Probe for ONVIF video transmitters (WS-Discovery 1.0 as ONVIF uses it).
pub const WS_PROBE: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\" \
xmlns:w=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" \
xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\"><e:Header>\
<w:MessageID>uuid:5c0a8f1e-2b6d-4e3a-9c71-63616d677264</w:MessageID>\
<w:To e:mustUnderstand=\"true\">urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>\
<w:Action e:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action>\
</e:Header><e:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>";
/// The inquiry UniversalScanner sends (any UUID of the sender's choosing).
pub const SADP_INQUIRY: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Probe>\
<Uuid>5C0A8F1E-2B6D-4E3A-9C71-63616D677264</Uuid><Types>inquiry</Types></Probe>";
/// How long replies are waited for after the last inquiry.
pub const DEFAULT_WAIT: Duration = Duration::from_millis(1500);
/// Most addresses asked in one run.
pub const MAX_TARGETS: usize = 512;
/// Longest wait for one HTTP fetch (a UPnP description, ONVIF's device information),
/// connection included.
pub const FETCH_WITHIN: Duration = Duration::from_secs(2);
/// Most HTTP fetches in one run, and the longest all of them may take.
pub const MAX_FETCHES: usize = 64;
pub const FETCHES_WITHIN: Duration = Duration::from_secs(20);

/// Sends the SADP and Dahua inquiries, a WS-Discovery probe and an SSDP M-SEARCH to each IPv4
/// LAN address and returns what answered, one device record per address (a reply with a
/// firmware version wins over one without; a camera protocol's over a UPnP description).
/// Blocks for about `wait`, plus the description fetches. Network errors end the run with what
/// it has. `announced` are description URLs the addresses multicast in a NOTIFY: followed, on
/// the announcing address only, for an address asked now that gave no URL itself.
pub fn discover(
    targets: &[IpAddr],
    guard: &LanGuard,
    now: u64,
    wait: Duration,
    announced: &[(Ipv4Addr, String)],
) -> Vec<(IpAddr, DeviceInfo)> {
    let asked: Vec<Ipv4Addr> = targets
        .iter()
        .filter(|ip| guard.check(**ip).is_ok())
        .filter_map(|ip| match ip {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        })
        .take(MAX_TARGETS)
        .collect();
    let mut out: Vec<(IpAddr, DeviceInfo)> = Vec::new();
    if asked.is_empty() {
        return out;
    }
    let Ok(socket) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)) else {
        return out;
    };
    let dahua = dhip_inquiry();
    for ip in &asked {
        // A send that fails (no route, a full buffer) costs that address its answer only.
        let _ = socket.send_to(SADP_INQUIRY, SocketAddr::from((*ip, SADP_PORT)));
        let _ = socket.send_to(&dahua, SocketAddr::from((*ip, DAHUA_PORT)));
        let _ = socket.send_to(WS_PROBE, SocketAddr::from((*ip, WS_DISCOVERY_PORT)));
        let _ = socket.send_to(&msearch(*ip), SocketAddr::from((*ip, SSDP_PORT)));
    }
    // Where each address said its UPnP description and its ONVIF device service are (the
    // first answer's, on the address itself).
    let mut descriptions: Vec<(Ipv4Addr, u16, String)> = Vec::new();
    let mut services: Vec<(Ipv4Addr, u16, String)> = Vec::new();
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; MAX_REPLY + 64];
    let complete = |out: &[(IpAddr, DeviceInfo)]| {
        out.len() == asked.len() && out.iter().all(|(_, i)| i.firmware.is_some())
    };
    while !complete(&out) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            break;
        }
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            break;
        };
        let IpAddr::V4(source) = from.ip() else {
            continue;
        };
        if !asked.contains(&source) {
            continue;
        }
        let Some(datagram) = buf.get(..n) else {
            continue;
        };
        let remember = |list: &mut Vec<(Ipv4Addr, u16, String)>, found: Option<(u16, String)>| {
            if let Some((port, path)) = found {
                if !list.iter().any(|(ip, _, _)| *ip == source) {
                    list.push((source, port, path));
                }
            }
        };
        let info = match from.port() {
            SADP_PORT => parse_sadp(datagram, now).map(|r| r.info),
            WS_DISCOVERY_PORT => {
                remember(&mut services, device_service(datagram, source));
                parse_ws_discovery(datagram, now)
            }
            // An SSDP answer may come from any port (UDA 1.1 §1.3.3 names none), and so may a
            // Dahua reply, as before SSDP was asked: whichever the datagram is.
            _ => match search_response_location(datagram) {
                Some(url) => {
                    remember(&mut descriptions, lan_location(&url, source));
                    None
                }
                None => parse_dhip(datagram, now),
            },
        };
        if let Some(info) = info {
            merge(&mut out, IpAddr::V4(source), info);
        }
    }
    for (ip, url) in announced.iter().filter(|(ip, _)| asked.contains(ip)) {
        if !descriptions.iter().any(|(a, _, _)| a == ip) {
            if let Some((port, path)) = lan_location(url, *ip) {
                descriptions.push((*ip, port, path));
            }
        }
    }
    let started = Instant::now();
    let mut fetches = 0;
    let mut may_fetch = || {
        fetches += 1;
        fetches <= MAX_FETCHES && started.elapsed() < FETCHES_WITHIN
    };
    // ONVIF's device information, for cameras whose answers named no firmware.
    for (ip, port, path) in services {
        let known = out.iter().find(|(a, _)| *a == IpAddr::V4(ip));
        if known.is_some_and(|(_, i)| i.firmware.is_some()) {
            continue;
        }
        if !may_fetch() {
            break;
        }
        let request = device_information_request(ip, port, &path);
        if let Some(info) =
            fetch(ip, port, &request, guard).and_then(|b| parse_device_information(&b, now))
        {
            merge(&mut out, IpAddr::V4(ip), info);
        }
    }
    // UPnP descriptions, for devices no camera protocol answered.
    for (ip, port, path) in descriptions {
        if out.iter().any(|(a, _)| *a == IpAddr::V4(ip)) {
            continue;
        }
        if !may_fetch() {
            break;
        }
        let request = description_request(ip, port, &path);
        if let Some(info) =
            fetch(ip, port, &request, guard).and_then(|b| parse_description(&b, now))
        {
            out.push((IpAddr::V4(ip), info));
        }
    }
    out
}

/// One record per address: a reply naming a firmware version replaces one without, and ONVIF's
/// device information replaces the WS-Discovery scopes it follows (it names the maker too).
fn merge(out: &mut Vec<(IpAddr, DeviceInfo)>, ip: IpAddr, info: DeviceInfo) {
    match out.iter_mut().find(|(a, _)| *a == ip) {
        Some((_, known))
            if (known.firmware.is_none() && info.firmware.is_some())
                || (known.protocol == "WS-Discovery" && info.protocol == "ONVIF") =>
        {
            // ONVIF's answer names no type: the ProbeMatch's Types still say what it is.
            let device_type = info.device_type.clone().or(known.device_type.take());
            *known = DeviceInfo {
                device_type,
                ..info
            }
        }
        Some(_) => {}
        None => out.push((ip, info)),
    }
}

/// The body of a `200` answer to `request` from `ip:port`, within [`FETCH_WITHIN`] and at most
/// [`wire::MAX_RESPONSE`] bytes; None for anything else. `ip` is the address that answered
/// the inquiry, and the port and path were checked to be on it ([`lan_location`]).
fn fetch(ip: Ipv4Addr, port: u16, request: &[u8], guard: &LanGuard) -> Option<Vec<u8>> {
    guard.check(IpAddr::V4(ip)).ok()?;
    let deadline = Instant::now() + FETCH_WITHIN;
    let mut stream = wire::connect(SocketAddr::from((ip, port)), FETCH_WITHIN).ok()?;
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    let (bytes, _) = wire::exchange(&mut stream, request, left).ok()?;
    let response = Response::parse(&bytes)?;
    (response.status == 200 && !response.is_rtsp()).then_some(response.body)
}
