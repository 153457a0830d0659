//! What the read stage looked at and how that went: every report carries it, so that an audit
//! of what could not be read never presents itself as clean.
use serde::Serialize;

/// A runtime file written longer ago than this before the audit's time is stale.
pub const STALE_AFTER: u64 = 24 * 3600;

/// How reading one source went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    Read,
    /// Not there, and that is normal (no miniupnpd installed, no leases yet).
    Absent,
    /// There (or required) but not read: a syntax error, a symbolic-link loop, not a regular
    /// file, no permission, rpcd not answering. The audit is incomplete.
    Unreadable,
    /// Read only up to a size bound: what lies beyond was not audited. Incomplete.
    Truncated,
    /// Read, but last written long before the audit's time: it may not be the router's state now.
    Stale,
    /// There, but camguard does not audit it (firewall include scripts, nft snippets).
    Unsupported,
}

impl SourceState {
    /// Whether the audit misses something it should have seen.
    pub fn leaves_a_gap(self) -> bool {
        matches!(self, SourceState::Unreadable | SourceState::Truncated)
    }
}

/// One thing the read stage looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// What it is, for people: "firewall config", "UPnP lease file".
    pub what: &'static str,
    /// Its path on the router, or the ubus call.
    pub path: String,
    pub state: SourceState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The report's account of what was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Nothing the audit needs was unreadable or cut short.
    pub complete: bool,
    /// Unix time of the newest router file read, when the source knows file times (a root
    /// directory, a backup): how old the snapshot is against the audit's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_file: Option<u64>,
    pub sources: Vec<Source>,
}
