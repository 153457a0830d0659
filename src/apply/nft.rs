//! Deleting a revoked mapping's rules from the live nft ruleset.
use std::process::Command;

use super::ApplyError;

/// `nft delete rule inet fw4 <chain> handle <n>`.
fn delete_rule(chain: &str, handle: u64) -> Result<(), ApplyError> {
    if !chain.starts_with("upnp_") {
        return Err(ApplyError::ForeignChain {
            chain: chain.to_owned(),
        });
    }
    let out = Command::new("nft")
        .args([
            "delete",
            "rule",
            "inet",
            "fw4",
            chain,
            "handle",
            &handle.to_string(),
        ])
        .output()
        .map_err(ApplyError::Nft)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ApplyError::NftDelete {
            chain: chain.to_owned(),
            handle,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Deletes a revoked mapping's rules by handle; false when one could not be deleted (then
/// miniupnpd is restarted to rebuild its rules from the lease file).
pub(super) fn delete_rules(handles: &[(String, u64)]) -> bool {
    handles
        .iter()
        .all(|(chain, handle)| delete_rule(chain, *handle).is_ok())
}
