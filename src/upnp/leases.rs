//! miniupnpd lease files (placeholder until the parsers land).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::linefile::Parsed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "UDPLITE")]
    UdpLite,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::UdpLite => "UDPLITE",
        }
    }
}

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

pub fn parse_leases(_input: &[u8]) -> Parsed<Lease> {
    Parsed::default()
}

pub fn parse_leases6(_input: &[u8]) -> Parsed<Pinhole> {
    Parsed::default()
}
