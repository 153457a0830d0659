//! Asking cameras who they are through their own discovery protocols (issue 17, item 1):
//! Hikvision's SADP (UDP 37020) and Dahua's DHIP discovery (UDP 37810), whose replies name the
//! model and firmware without any login, a directed WS-Discovery probe (UDP 3702), whose
//! ONVIF scopes name the model, and a unicast SSDP M-SEARCH (UDP 1900), whose answer points to
//! a UPnP description naming the maker, model and device type.
//!
//! A description is fetched only from the address that answered (the LOCATION must name it),
//! only for devices no camera protocol answered, and boundedly: [`DESCRIPTION_WITHIN`] and
//! [`crate::probe::wire::MAX_RESPONSE`] per device, [`MAX_DESCRIPTIONS`] and
//! [`DESCRIPTIONS_WITHIN`] per run.
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
/// Longest wait for one UPnP description, connection included.
pub const DESCRIPTION_WITHIN: Duration = Duration::from_secs(2);
/// Most descriptions fetched in one run, and the longest all of them may take.
pub const MAX_DESCRIPTIONS: usize = 64;
pub const DESCRIPTIONS_WITHIN: Duration = Duration::from_secs(20);

/// Sends the SADP and Dahua inquiries, a WS-Discovery probe and an SSDP M-SEARCH to each IPv4
/// LAN address and returns what answered, one device record per address (a reply with a
/// firmware version wins over one without; a camera protocol's over a UPnP description).
/// Blocks for about `wait`, plus the description fetches. Network errors end the run with what
/// it has.
pub fn discover(
    targets: &[IpAddr],
    guard: &LanGuard,
    now: u64,
    wait: Duration,
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
    // Where each address said its UPnP description is: the first answer's LOCATION.
    let mut locations: Vec<(Ipv4Addr, String)> = Vec::new();
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
        let info = match from.port() {
            SADP_PORT => parse_sadp(datagram, now).map(|r| r.info),
            WS_DISCOVERY_PORT => parse_ws_discovery(datagram, now),
            DAHUA_PORT => parse_dhip(datagram, now),
            // An SSDP answer may come from any port (UDA 1.1 §1.3.3 names none).
            _ => {
                if let Some(url) = search_response_location(datagram) {
                    if !locations.iter().any(|(ip, _)| *ip == source) {
                        locations.push((source, url));
                    }
                }
                None
            }
        };
        let Some(info) = info else { continue };
        match out.iter_mut().find(|(ip, _)| *ip == from.ip()) {
            Some((_, known)) if known.firmware.is_none() && info.firmware.is_some() => {
                *known = info
            }
            Some(_) => {}
            None => out.push((from.ip(), info)),
        }
    }
    let started = Instant::now();
    let unanswered: Vec<(Ipv4Addr, String)> = locations
        .into_iter()
        .filter(|(ip, _)| !out.iter().any(|(known, _)| *known == IpAddr::V4(*ip)))
        .take(MAX_DESCRIPTIONS)
        .collect();
    for (ip, url) in unanswered {
        if started.elapsed() >= DESCRIPTIONS_WITHIN {
            break;
        }
        if let Some(info) = description(ip, &url, guard, now) {
            out.push((IpAddr::V4(ip), info));
        }
    }
    out
}

/// The UPnP description at `url`, when it is on `ip` itself (never elsewhere) and answers in
/// time. Reads at most [`wire::MAX_RESPONSE`] bytes.
fn description(ip: Ipv4Addr, url: &str, guard: &LanGuard, now: u64) -> Option<DeviceInfo> {
    let (port, path) = lan_location(url, ip)?;
    guard.check(IpAddr::V4(ip)).ok()?;
    let deadline = Instant::now() + DESCRIPTION_WITHIN;
    let mut stream = wire::connect(SocketAddr::from((ip, port)), DESCRIPTION_WITHIN).ok()?;
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    let request = description_request(ip, port, &path);
    let (bytes, _) = wire::exchange(&mut stream, &request, left).ok()?;
    let response = Response::parse(&bytes)?;
    if response.status != 200 || response.is_rtsp() {
        return None;
    }
    parse_description(&response.body, now)
}
