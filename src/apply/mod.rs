//! Apply and revert: the one stage that changes the router.
//!
//! Rules (openwrt-facts §4.2, pitfall 7): a config with staged changes that are not camguard's is
//! never committed (rpcd's commit without a session commits the whole shared delta); while a
//! LuCI apply-with-rollback is pending, commit and revert answer PERMISSION_DENIED, so camguard
//! probes with a no-op revert first and leaves such configs for later; the journal entry holding
//! every previous value is written before the first change.
//!
//! One file per job: `staged` (rpcd's uncommitted changes), `before` (the values the journal
//! keeps), `enforce`, `files` and `nft` (what changes locally), `restore` (UPnP rules a firewall
//! reload emptied, re-added over netlink), `verify`, `revert` (and recovery of interrupted
//! entries), `journal`, `rpcd` (the calls themselves), `error` (what a caller branches on).
mod before;
mod enforce;
mod error;
mod files;
mod flows;
pub mod journal;
mod nft;
mod restore;
mod revert;
mod rpcd;
mod staged;
mod verify;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::bus::Bus;
pub use enforce::Outcome;
pub use error::ApplyError;
pub use flows::cut_flows_to_internet;
pub use journal::{Before, Entry, Failure, Journal, State};
pub use nft::{live_mappings_of, LiveMapping};
pub use revert::{Recovery, Reverted};
pub use verify::Check;

/// Carries out actions on one router: UCI and services through rpcd over ubus, lease files and
/// nft rules locally (camguard runs on the router; with --sysroot under that directory).
pub struct Executor<'a> {
    pub bus: &'a mut dyn Bus,
    /// The router's root for local files and the journal ("/" on a router).
    pub root: PathBuf,
    /// Whether nft rules may be deleted by handle (false: fall back to restarting miniupnpd).
    pub nft: bool,
    /// miniupnpd's lease file (router path), as the snapshot read it.
    pub lease_file: String,
    /// miniupnpd's live mappings as the audit that planned the actions saw them
    /// ([`live_mappings_of`] its ruleset): what a revoke's verification checks the neighbours
    /// against. None: read from nft before the first revoke (nft listing is most of a revoke's
    /// time at thousands of mappings, so the daemon passes the one it just read).
    pub upnp_before: Option<Vec<LiveMapping>>,
}
