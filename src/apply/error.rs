//! What can go wrong while applying or reverting, in terms a caller branches on. Each message
//! says what happened and, where there is one, what the owner does next.
use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::bus::BusError;

#[derive(Debug)]
pub enum ApplyError {
    /// A call camguard makes to rpcd failed; `call` names it as the message shows it
    /// (`uci commit firewall`, `restart miniupnpd`).
    Bus {
        call: String,
        error: BusError,
    },
    /// The ubus call of an action's step failed; the action it belongs to says what was asked.
    Step(BusError),
    /// `config` holds staged changes that are not camguard's: camguard neither commits nor
    /// discards them.
    ForeignChanges {
        config: String,
    },
    /// A LuCI apply-with-rollback is pending on `config`: rpcd refuses commits and reverts until
    /// it is confirmed or rolled back. Enforce leaves such actions pending; only revert says so.
    PendingApply {
        config: String,
    },
    /// The journal entry could not be written, so nothing may change.
    Journal {
        dir: PathBuf,
        error: io::Error,
    },
    /// A router path that does not resolve inside the router root.
    OutsideRoot {
        path: String,
    },
    /// A router file could not be written.
    File {
        path: String,
        error: io::Error,
    },
    /// rpcd ran the init script (it answers 0 whatever the script's exit status), but `rc list`
    /// shows the service not in the state the action was for: the script failed.
    ServiceState {
        name: String,
        action: String,
        /// What `rc list` shows instead ("not running", "not enabled", …).
        found: String,
    },
    /// A chain that is not one of miniupnpd's: camguard never edits it.
    ForeignChain {
        chain: String,
    },
    /// `nft` could not be run.
    Nft(io::Error),
    /// `nft` refused to delete the rules (one transaction: none of them was deleted).
    NftDelete {
        rules: Vec<(String, u64)>,
        stderr: String,
    },
    /// No journal entry with that id, or it cannot be read.
    NoEntry(io::Error),
    /// Every journal entry is reverted already.
    NothingToRevert,
    AlreadyReverted {
        id: String,
    },
    /// ubus went away mid-enforce: entry `id` stays `applying` until recovery rolls it back.
    Interrupted {
        id: String,
        error: BusError,
    },
    /// ubus went away mid-revert: entry `id` is left as it was, to be reverted again.
    RevertInterrupted {
        id: String,
        error: BusError,
    },
}

impl ApplyError {
    pub fn bus(call: String, error: BusError) -> ApplyError {
        ApplyError::Bus { call, error }
    }

    /// No such entry, or nothing left to revert (the daemon answers ubus NOT_FOUND).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ApplyError::NoEntry(_)
                | ApplyError::NothingToRevert
                | ApplyError::AlreadyReverted { .. }
        )
    }
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Bus { call, error } => write!(f, "{call}: {error}"),
            ApplyError::Step(error) => write!(f, "{error}"),
            ApplyError::ForeignChanges { config } => write!(
                f,
                "{config} has staged changes that are not camguard's (see `uci changes \
                 {config}`); commit or revert them"
            ),
            ApplyError::PendingApply { config } => write!(
                f,
                "a LuCI apply is pending on {config}; revert again once it is confirmed"
            ),
            ApplyError::Journal { dir, error } => {
                write!(f, "cannot write the journal in {} ({error})", dir.display())
            }
            ApplyError::OutsideRoot { path } => write!(f, "{path}: not inside the router root"),
            ApplyError::File { path, error } => write!(f, "{path}: {error}"),
            ApplyError::ServiceState {
                name,
                action,
                found,
            } => write!(
                f,
                "/etc/init.d/{name} {action} ran, but {name} is {found} afterwards: the init \
                 script failed (see `logread`)"
            ),
            ApplyError::ForeignChain { chain } => write!(
                f,
                "refusing to delete from chain {chain}: only the upnp chains are camguard's to edit"
            ),
            ApplyError::Nft(error) => write!(f, "nft: {error}"),
            ApplyError::NftDelete { rules, stderr } => {
                let rules: Vec<String> = rules
                    .iter()
                    .map(|(c, h)| format!("{c} handle {h}"))
                    .collect();
                write!(f, "nft delete rule {}: {stderr}", rules.join(", "))
            }
            ApplyError::NoEntry(error) => write!(f, "{error}"),
            ApplyError::NothingToRevert => f.write_str("nothing to revert: the journal is empty"),
            ApplyError::AlreadyReverted { id } => {
                write!(f, "journal entry {id} is already reverted")
            }
            ApplyError::Interrupted { id, error } => write!(
                f,
                "ubus went away mid-way ({error}); camguard rolls back journal entry {id} as \
                 soon as ubus answers again"
            ),
            ApplyError::RevertInterrupted { id, error } => write!(
                f,
                "ubus went away during the revert of {id} ({error}); run it again once ubus \
                 answers"
            ),
        }
    }
}

impl std::error::Error for ApplyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApplyError::Bus { error, .. }
            | ApplyError::Step(error)
            | ApplyError::Interrupted { error, .. }
            | ApplyError::RevertInterrupted { error, .. } => Some(error),
            ApplyError::Journal { error, .. }
            | ApplyError::File { error, .. }
            | ApplyError::Nft(error)
            | ApplyError::NoEntry(error) => Some(error),
            _ => None,
        }
    }
}
