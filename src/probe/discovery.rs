//! Asking cameras who they are through their own discovery protocols (issue 17, item 1): so
//! far Hikvision's SADP, whose reply names the model and firmware without any login.
//!
//! The inquiry goes by unicast to each LAN address the probe is due for, never to a multicast
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
use crate::formats::discovery::{parse_sadp, MAX_REPLY};
use crate::lan::DeviceInfo;

/// Hikvision's SADP port (peers-and-camera-data §2.2, UniversalScanner Hikvision.cs).
pub const SADP_PORT: u16 = 37020;
/// The inquiry UniversalScanner sends (any UUID of the sender's choosing).
pub const SADP_INQUIRY: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Probe>\
<Uuid>5C0A8F1E-2B6D-4E3A-9C71-63616D677264</Uuid><Types>inquiry</Types></Probe>";
/// How long replies are waited for after the last inquiry.
pub const DEFAULT_WAIT: Duration = Duration::from_millis(1500);
/// Most addresses asked in one run.
pub const MAX_TARGETS: usize = 512;

/// Sends the SADP inquiry to each IPv4 LAN address and returns what answered, one reply per
/// address. Blocks for about `wait`. Network errors end the run with what it has.
pub fn sadp(
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
    for ip in &asked {
        // A send that fails (no route, a full buffer) costs that address its answer only.
        let _ = socket.send_to(SADP_INQUIRY, SocketAddr::from((*ip, SADP_PORT)));
    }
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; MAX_REPLY];
    while out.len() < asked.len() {
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
        if from.port() != SADP_PORT
            || !asked.contains(&source)
            || out.iter().any(|(ip, _)| *ip == from.ip())
        {
            continue;
        }
        if let Some(reply) = buf.get(..n).and_then(|d| parse_sadp(d, now)) {
            out.push((from.ip(), reply.info));
        }
    }
    out
}
