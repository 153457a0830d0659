//! DHCP lease files: dnsmasq's `/tmp/dhcp.leases` and odhcpd's state file (placeholder).
use std::net::IpAddr;

use serde::Serialize;

use crate::linefile::Parsed;
use crate::mac::Mac;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DhcpLease {
    pub line: usize,
    /// Absolute Unix expiry; 0 = infinite.
    pub expires: u64,
    /// None for DHCPv6 leases, which carry a DUID instead.
    pub mac: Option<Mac>,
    pub ip: IpAddr,
    /// Chosen by the client (cleaned); None when the file says `*` or `-`.
    pub hostname: Option<String>,
    /// Client id (DHCPv4) or DUID (DHCPv6), cleaned; None when `*`.
    pub client_id: Option<String>,
}

pub fn parse_dnsmasq_leases(_input: &[u8]) -> Parsed<DhcpLease> {
    Parsed::default()
}

pub fn parse_odhcpd_leases(_input: &[u8]) -> Parsed<DhcpLease> {
    Parsed::default()
}
