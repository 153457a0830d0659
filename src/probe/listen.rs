//! Listening to what LAN devices announce by themselves (issue 17, item 1): SSDP
//! `NOTIFY ssdp:alive` on UDP 1900, WS-Discovery `Hello` on UDP 3702 and Hikvision SADP
//! announcements on UDP 37020, all multicast to 239.255.255.250. Nothing is ever sent.
//!
//! On by default (`option listen '0'` turns it off), because it cannot disturb anything:
//! - Each socket is bound to the group address itself (239.255.255.250:port), not to
//!   0.0.0.0: the kernel hands it multicast datagrams to the group only, so a unicast
//!   M-SEARCH to the router's port 1900 still reaches miniupnpd alone. SO_REUSEADDR and
//!   SO_REUSEPORT let it share the port with miniupnpd, which sets SO_REUSEADDR itself
//!   (tests/e2e_miniupnpd.rs checks that `upnpc -s` still finds miniupnpd, whichever started
//!   first).
//! - Membership is asked on the LAN subnets' router addresses only (the snapshot's network
//!   config), and asked again after every audit: netifd recreating the bridge drops it, a
//!   repeated join of a live membership is refused harmlessly. A datagram counts only from an
//!   address of a LAN subnet (the router's own excepted) — with IP_MULTICAST_ALL on, a socket
//!   sees the group on any interface some other socket joined it on.
//! - Bounded: at most [`MAX_DATAGRAM`] bytes of a datagram are read (the kernel drops the
//!   rest), a token bucket per source and one for all sources drop the excess (counted),
//!   at most [`MAX_READS_PER_WAKE`] datagrams are read per socket before the poll loop serves
//!   ubus again, at most [`MAX_PROBE_RECORDS`] devices are remembered, and the daemon re-audits
//!   at most once per coalescing period for what was heard, never per datagram.
//!
//! What is heard becomes discovery evidence like the probe's (marked `passive`). A NOTIFY's
//! LOCATION is kept for the probe, which follows it only under `option probe '1'`, for an
//! address it is due to probe, through [`crate::formats::ssdp::lan_location`].
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
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Instant;

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};

use super::discovery::{SADP_PORT, WS_DISCOVERY_PORT};
use super::guard::LanGuard;
use crate::formats::discovery::{parse_sadp, parse_ws_hello};
use crate::formats::ssdp::{parse_notify, SSDP_PORT};
use crate::lan::seen::MAX_PROBE_RECORDS;
use crate::lan::{with_announcements, DeviceInfo, ProbeReport, PROBE_INTERVAL_SECS};

/// The SSDP / WS-Discovery / SADP multicast group (UDA 1.1 §1.1.2, WS-Discovery 1.1 §2.4).
pub const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// The ports listened on.
pub const PORTS: [u16; 3] = [SSDP_PORT, WS_DISCOVERY_PORT, SADP_PORT];
/// Most of a datagram read: announcements are 0.3 to 1.5 KB.
pub const MAX_DATAGRAM: usize = 2048;
/// Per source: a burst of this many datagrams, then this many a second. A device announces
/// each of its devices and services (a dozen NOTIFYs) at start-up and every few minutes.
pub const SOURCE_BURST: u64 = 32;
pub const SOURCE_PER_SEC: u64 = 2;
/// All sources together.
pub const TOTAL_BURST: u64 = 256;
pub const TOTAL_PER_SEC: u64 = 50;
/// Most sources with a bucket of their own (LAN addresses only).
pub const MAX_SOURCES: usize = 256;
/// Most datagrams read from one socket per wake of the poll loop.
pub const MAX_READS_PER_WAKE: usize = 64;
/// Longest LOCATION kept.
const MAX_LOCATION: usize = 300;

/// A token bucket in thousandths of a datagram.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli: u64,
    last: Instant,
}

impl Bucket {
    fn full(burst: u64, now: Instant) -> Bucket {
        Bucket {
            milli: burst * 1000,
            last: now,
        }
    }

    /// Takes one datagram's token; false when there is none.
    fn take(&mut self, now: Instant, burst: u64, per_sec: u64) -> bool {
        let ms =
            u64::try_from(now.saturating_duration_since(self.last).as_millis()).unwrap_or(u64::MAX);
        self.milli = self
            .milli
            .saturating_add(ms.saturating_mul(per_sec))
            .min(burst * 1000);
        self.last = now;
        if self.milli >= 1000 {
            self.milli -= 1000;
            true
        } else {
            false
        }
    }
}

/// What one LAN address announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    pub ip: Ipv4Addr,
    /// What it said it is (`passive` set); None when it only announced a LOCATION.
    pub info: Option<DeviceInfo>,
    /// Its UPnP description's URL, from a NOTIFY.
    pub location: Option<String>,
}

/// The listening sockets and what they heard.
pub struct Listener {
    sockets: Vec<(u16, UdpSocket)>,
    guard: LanGuard,
    /// The LAN addresses membership was asked on.
    joined: Vec<Ipv4Addr>,
    sources: Vec<(Ipv4Addr, Bucket)>,
    total: Bucket,
    heard: Vec<Heard>,
    /// Datagrams dropped by the rate limits, since start, and as far as the log has said.
    pub dropped: u64,
    logged_drops: u64,
    /// Ports whose socket could not be opened, logged once.
    told: Vec<u16>,
}

impl Default for Listener {
    fn default() -> Self {
        Listener {
            sockets: Vec::new(),
            guard: LanGuard::new(Vec::new()),
            joined: Vec::new(),
            sources: Vec::new(),
            total: Bucket::full(TOTAL_BURST, Instant::now()),
            heard: Vec::new(),
            dropped: 0,
            logged_drops: 0,
            told: Vec::new(),
        }
    }
}

/// A socket bound to the group on `port`, sharing it with miniupnpd, non-blocking. (Errors as
/// `std::io::Error`: its text comes from libc, where nix's `Display` would add its own table.)
fn open(port: u16) -> std::io::Result<UdpSocket> {
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    socket::setsockopt(&fd, sockopt::ReusePort, &true)?;
    socket::bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(SocketAddrV4::new(GROUP, port)),
    )?;
    Ok(UdpSocket::from(fd))
}

impl Listener {
    /// After an audit: listens on the router's LAN subnets (`enabled`), or closes everything.
    pub fn follow(&mut self, guard: LanGuard, enabled: bool) {
        let lan: Vec<Ipv4Addr> = guard
            .prefixes()
            .iter()
            .filter_map(|p| match p.router {
                IpAddr::V4(v4) if v4.is_private() || v4.is_link_local() => Some(v4),
                _ => None,
            })
            .collect();
        self.guard = guard;
        if self.dropped > self.logged_drops {
            log::warn!(
                "dropped {} LAN announcements above the rate limits since the last audit",
                self.dropped - self.logged_drops
            );
            self.logged_drops = self.dropped;
        }
        if !enabled || lan.is_empty() {
            self.sockets.clear();
            self.joined.clear();
            return;
        }
        if self.sockets.len() < PORTS.len() {
            self.joined.clear();
            self.sockets.clear();
            for port in PORTS {
                match open(port) {
                    Ok(s) => self.sockets.push((port, s)),
                    Err(e) if !self.told.contains(&port) => {
                        log::warn!("cannot listen on UDP {port} for announcements: {e}");
                        self.told.push(port);
                    }
                    Err(_) => {}
                }
            }
        }
        for (port, socket) in &self.sockets {
            for gone in self.joined.iter().filter(|a| !lan.contains(a)) {
                let _ = socket.leave_multicast_v4(&GROUP, gone);
            }
            for addr in &lan {
                match socket.join_multicast_v4(&GROUP, addr) {
                    // Already a member: the bridge is the one joined before.
                    Err(e) if e.raw_os_error() != Some(nix::libc::EADDRINUSE) => {
                        log::debug!("cannot join {GROUP} on {addr} for UDP {port}: {e}")
                    }
                    _ => {}
                }
            }
        }
        self.joined = lan;
    }

    /// The sockets, for the poll loop.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.sockets.iter().map(|(_, s)| s.as_fd()).collect()
    }

    /// Reads what is waiting (at most [`MAX_READS_PER_WAKE`] per socket). True when a device
    /// said something new about itself.
    pub fn read(&mut self, now_unix: u64) -> bool {
        let mut buf = [0u8; MAX_DATAGRAM];
        let mut received: Vec<(u16, Ipv4Addr, Vec<u8>)> = Vec::new();
        for (port, socket) in &self.sockets {
            for _ in 0..MAX_READS_PER_WAKE {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    break;
                };
                if let (IpAddr::V4(ip), Some(bytes)) = (from.ip(), buf.get(..n)) {
                    received.push((*port, ip, bytes.to_vec()));
                }
            }
        }
        let mut changed = false;
        for (port, ip, bytes) in received {
            changed |= self.take(port, ip, &bytes, now_unix, Instant::now());
        }
        changed
    }

    /// One datagram from `ip` to `port`: accepted from a LAN address within the rates, and
    /// recorded when it is an announcement. True when it taught something new.
    pub fn take(
        &mut self,
        port: u16,
        ip: Ipv4Addr,
        datagram: &[u8],
        at: u64,
        now: Instant,
    ) -> bool {
        if self.guard.check(IpAddr::V4(ip)).is_err() {
            return false;
        }
        if !self.admit(ip, now) {
            self.dropped += 1;
            return false;
        }
        let (info, location) = match port {
            SSDP_PORT => match parse_notify(datagram, at) {
                Some(n) => (n.info, n.location),
                None => return false,
            },
            WS_DISCOVERY_PORT => (parse_ws_hello(datagram, at), None),
            SADP_PORT => (parse_sadp(datagram, at).map(|r| r.info), None),
            _ => return false,
        };
        let info = info.map(|i| DeviceInfo { passive: true, ..i });
        let location = location.filter(|l| l.len() <= MAX_LOCATION);
        self.record(ip, info, location)
    }

    /// The per-source bucket, then the total one.
    fn admit(&mut self, ip: Ipv4Addr, now: Instant) -> bool {
        let i = match self.sources.iter().position(|(a, _)| *a == ip) {
            Some(i) => i,
            None => {
                let fresh = (ip, Bucket::full(SOURCE_BURST, now));
                if self.sources.len() < MAX_SOURCES {
                    self.sources.push(fresh);
                    self.sources.len() - 1
                } else {
                    // The source heard from longest ago makes room.
                    let Some((i, _)) = self
                        .sources
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, s)| s.1.last)
                    else {
                        return false;
                    };
                    if let Some(slot) = self.sources.get_mut(i) {
                        *slot = fresh;
                    }
                    i
                }
            }
        };
        let source_ok = self
            .sources
            .get_mut(i)
            .is_some_and(|(_, b)| b.take(now, SOURCE_BURST, SOURCE_PER_SEC));
        source_ok && self.total.take(now, TOTAL_BURST, TOTAL_PER_SEC)
    }

    /// Keeps what `ip` said: a record is replaced by one that says more (a firmware version,
    /// a camera protocol over SSDP), or by one as good once the old one is a day old, so a
    /// device repeating itself changes nothing.
    fn record(&mut self, ip: Ipv4Addr, info: Option<DeviceInfo>, location: Option<String>) -> bool {
        if info.is_none() && location.is_none() {
            return false;
        }
        if let Some(h) = self.heard.iter_mut().find(|h| h.ip == ip) {
            if h.location.is_none() {
                h.location = location;
            }
            let Some(new) = info else {
                return false;
            };
            let replace = match &h.info {
                None => true,
                Some(old) => {
                    new.rank() > old.rank()
                        || (new.rank() == old.rank()
                            && new.at.saturating_sub(old.at) >= PROBE_INTERVAL_SECS)
                }
            };
            if replace {
                h.info = Some(new);
            }
            return replace;
        }
        let taught = info.is_some();
        let heard = Heard { ip, info, location };
        if self.heard.len() < MAX_PROBE_RECORDS {
            self.heard.push(heard);
        } else if let Some(oldest) = self
            .heard
            .iter_mut()
            .min_by_key(|h| h.info.as_ref().map_or(0, |i| i.at))
        {
            *oldest = heard;
        }
        taught
    }

    /// What was heard, per address.
    pub fn heard(&self) -> &[Heard] {
        &self.heard
    }

    /// After an audit: listens on `snap`'s LAN subnets, when `enabled`.
    pub fn follow_router(&mut self, snap: &crate::snapshot::Snapshot, enabled: bool) {
        self.follow(LanGuard::for_router(snap), enabled);
    }

    /// The probe reports completed with what was heard ([`crate::lan::with_announcements`]).
    pub fn reports(&self, probes: &[ProbeReport]) -> Vec<ProbeReport> {
        with_announcements(
            probes,
            self.heard
                .iter()
                .filter_map(|h| Some((IpAddr::V4(h.ip), h.info.as_ref()?))),
        )
    }

    /// The description URLs announced, for the probe.
    pub fn locations(&self) -> Vec<(Ipv4Addr, String)> {
        self.heard
            .iter()
            .filter_map(|h| Some((h.ip, h.location.clone()?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::guard::LanPrefix;
    use std::time::Duration;

    const SADP: &[u8] = b"<ProbeMatch><DeviceDescription>DS-2CD2143G0-I</DeviceDescription>\
        <SoftwareVersion>V5.5.800build 210628</SoftwareVersion></ProbeMatch>";
    const NOTIFY: &[u8] = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\
        LOCATION: http://192.168.1.64:49152/d.xml\r\nNT: urn:schemas-upnp-org:device:Basic:1\r\n\
        NTS: ssdp:alive\r\nUSN: uuid:1::urn:schemas-upnp-org:device:Basic:1\r\n\r\n";

    fn listener() -> Listener {
        Listener {
            guard: LanGuard::new(vec![LanPrefix::parse("192.168.1.1/24").unwrap()]),
            ..Listener::default()
        }
    }

    const CAM: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 64);

    #[test]
    fn announcements_from_the_lan_are_kept_as_passive_evidence() {
        let mut l = listener();
        let now = Instant::now();
        assert!(l.take(SSDP_PORT, CAM, NOTIFY, 10, now));
        assert!(
            l.take(SADP_PORT, CAM, SADP, 11, now),
            "SADP says more than SSDP"
        );
        // Saying the same again, or less, changes nothing.
        assert!(!l.take(SADP_PORT, CAM, SADP, 12, now));
        assert!(!l.take(SSDP_PORT, CAM, NOTIFY, 13, now));
        let h = &l.heard()[0];
        let info = h.info.as_ref().unwrap();
        assert_eq!(info.model.as_deref(), Some("DS-2CD2143G0-I"));
        assert!(info.passive && info.at == 11);
        assert_eq!(
            h.location.as_deref(),
            Some("http://192.168.1.64:49152/d.xml")
        );
        // A day later the same announcement refreshes the record.
        assert!(l.take(SADP_PORT, CAM, SADP, 11 + PROBE_INTERVAL_SECS, now));
    }

    #[test]
    fn sources_outside_the_lan_the_router_and_other_ports_are_ignored() {
        let mut l = listener();
        let now = Instant::now();
        for ip in [
            Ipv4Addr::new(192, 168, 2, 64),
            Ipv4Addr::new(198, 51, 100, 7),
            Ipv4Addr::new(192, 168, 1, 1),
        ] {
            assert!(!l.take(SADP_PORT, ip, SADP, 1, now), "{ip}");
        }
        assert!(!l.take(37810, CAM, SADP, 1, now));
        assert!(
            !l.take(SSDP_PORT, CAM, SADP, 1, now),
            "a SADP body on the SSDP port"
        );
        assert!(l.heard().is_empty());
        assert_eq!(l.dropped, 0, "ignored, not rate-limited");
    }

    #[test]
    fn a_flood_from_one_source_is_dropped_above_its_rate_and_others_still_heard() {
        let mut l = listener();
        let now = Instant::now();
        let flooder = Ipv4Addr::new(192, 168, 1, 66);
        for _ in 0..1000 {
            l.take(SSDP_PORT, flooder, NOTIFY, 1, now);
        }
        assert_eq!(l.dropped, 1000 - SOURCE_BURST);
        assert!(
            l.take(SADP_PORT, CAM, SADP, 1, now),
            "another device is heard"
        );
        // The bucket refills at its rate.
        let later = now + Duration::from_secs(1);
        let admitted = (0..100).filter(|_| l.admit(flooder, later)).count() as u64;
        assert_eq!(admitted, SOURCE_PER_SEC);
        // Many sources at once hit the total bucket.
        let mut l = listener();
        let mut passed = 0;
        for i in 0..250u8 {
            for _ in 0..4 {
                passed += u64::from(l.admit(Ipv4Addr::new(192, 168, 1, i.max(2)), now));
            }
        }
        assert_eq!(passed, TOTAL_BURST);
    }

    #[test]
    fn devices_and_sources_remembered_are_bounded() {
        let mut l = Listener {
            guard: LanGuard::new(vec![LanPrefix::parse("10.0.0.1/16").unwrap()]),
            ..Listener::default()
        };
        let now = Instant::now();
        for i in 0..2000u32 {
            let ip = Ipv4Addr::from(0x0a00_0100 + i);
            l.take(
                SADP_PORT,
                ip,
                SADP,
                u64::from(i),
                now + Duration::from_secs(u64::from(i)),
            );
        }
        assert_eq!(l.heard().len(), MAX_PROBE_RECORDS);
        assert!(l.sources.len() <= MAX_SOURCES);
        assert!(l
            .heard()
            .iter()
            .any(|h| h.ip == Ipv4Addr::from(0x0a00_0100 + 1999)));
    }
}
