//! Deleting a revoked mapping's rules from the live nft ruleset.
use std::process::Command;

/// `nft delete rule inet fw4 <chain> handle <n>`.
pub(super) fn delete_rule(chain: &str, handle: u64) -> Result<(), String> {
    if !chain.starts_with("upnp_") {
        return Err(format!(
            "refusing to delete from chain {chain}: only the upnp chains are camguard's to edit"
        ));
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
        .map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft delete rule {chain} handle {handle}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
