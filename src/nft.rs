//! The live nftables ruleset, read from `nft -j list ruleset` (placeholder until the reader lands).
//!
//! UCI says what the owner configured; nft says what is in effect. fw4 reloads empty the UPnP
//! chains while the lease file still lists mappings, and a redirect disabled in UCI stays live
//! until fw4 reloads, so the audit cross-checks both (openwrt-facts §1.5, pitfalls 1 and 3).
use std::net::IpAddr;

use serde::Serialize;

use crate::mac::Mac;
use crate::upnp::Protocol;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ruleset {
    pub chains: Vec<Chain>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    pub family: String,
    pub table: String,
    pub name: String,
    pub handle: u64,
}

/// One rule, reduced to what camguard decides on. Expressions it does not understand are
/// ignored, so a rule is never *more* specific here than in the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub handle: u64,
    /// fw4 marks its rules `!fw4: <section name>`; cleaned (miniupnpd stores client text).
    pub comment: Option<String>,
    /// Empty: any protocol.
    pub protocols: Vec<Protocol>,
    /// Destination port ranges matched (inclusive); empty: any port.
    pub dports: Vec<(u16, u16)>,
    /// IPv4/IPv6 destination address matched (miniupnpd's `@nh,128,32` raw match included).
    pub daddr: Option<IpAddr>,
    pub iifname: Option<String>,
    pub ether_saddr: Vec<Mac>,
    pub nat: Option<Nat>,
    pub verdict: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nat {
    pub kind: NatKind,
    pub addr: Option<IpAddr>,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NatKind {
    Dnat,
    Redirect,
    Snat,
    Masquerade,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accept,
    Drop,
    Reject,
    Jump(String),
    Goto(String),
    Return,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftError(pub String);

impl std::fmt::Display for NftError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "nft JSON: {}", self.0)
    }
}

impl std::error::Error for NftError {}

pub fn parse_ruleset(_json: &[u8]) -> Result<Ruleset, NftError> {
    Err(NftError("reader not implemented yet".into()))
}
