//! Connections the router tracks for LAN devices, as far as camguard keeps them: those to a
//! vendor cloud or P2P relay ([`crate::ports::RELAYS`]). Read from `/proc/net/nf_conntrack`
//! by [`crate::formats::conntrack`]; [`crate::facts`] decides which belong to cameras.
use std::net::IpAddr;

use serde::Serialize;

use crate::ports::{Protocol, Relay};

/// One tracked connection, in the direction it was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub proto: Protocol,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// The TCP state (`ESTABLISHED`); None for UDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The other side answered (no `[UNREPLIED]`).
    pub replied: bool,
    /// `[ASSURED]`: traffic both ways, the kernel keeps it under pressure.
    pub assured: bool,
    /// Seconds before the kernel forgets it without more traffic.
    pub expires_in: u64,
    /// Seconds since it was opened: the kernel prints `delta-time` only with
    /// `net.netfilter.nf_conntrack_timestamp=1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<u64>,
    /// The relay its destination port belongs to.
    #[serde(skip)]
    pub relay: &'static Relay,
}

/// What the read stage took from the connection-tracking table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Conntrack {
    /// Connections to a relay, at most [`MAX_RELAY_FLOWS`].
    pub flows: Vec<Flow>,
    /// Lines read (every tracked connection, relay or not).
    pub lines: usize,
    /// Lines that were not the kernel's format (counted, not kept).
    pub bad_lines: usize,
    /// Only the first bytes of a very large table were read, or more relay connections than
    /// kept were found: the remote-viewing check saw part of the table.
    pub truncated: bool,
}

/// Relay connections kept: a handful per camera is plenty to name the service.
pub const MAX_RELAY_FLOWS: usize = 1024;
