//! Deleting a revoked mapping's rules from the live nft ruleset, and reading miniupnpd's
//! mappings back to check what a revoke left.
use std::io::Write;
use std::process::{Command, Stdio};

use super::ApplyError;
use crate::facts::mappings::{pair_forward_rules, ForwardRule};
use crate::formats::nft::Ruleset;
use crate::ports::Protocol;

/// Deletes a revoked mapping's rules by handle in one nft transaction (`nft -f -`): either all
/// go or none does, and nft reads the ruleset once rather than once per rule (which at 5,000
/// mappings is most of a revoke's time).
pub(super) fn delete_rules(handles: &[(String, u64)]) -> Result<(), ApplyError> {
    if handles.is_empty() {
        return Ok(());
    }
    let mut script = String::new();
    for (chain, handle) in handles {
        if !chain.starts_with("upnp_") {
            return Err(ApplyError::ForeignChain {
                chain: chain.clone(),
            });
        }
        script.push_str(&format!("delete rule inet fw4 {chain} handle {handle}\n"));
    }
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(ApplyError::Nft)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(ApplyError::Nft)?;
    }
    let out = child.wait_with_output().map_err(ApplyError::Nft)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ApplyError::NftDelete {
            rules: handles.to_vec(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// A live mapping as the nft chains hold it: (protocol, external port, internal address,
/// internal port), and whether an accept rule of its own is there.
pub type LiveMapping = ((Protocol, u16, std::net::IpAddr, u16), bool);

/// miniupnpd's live mappings, each with whether it has its own accept rule; None when the
/// ruleset cannot be read.
pub(super) fn live_mappings() -> Option<Vec<LiveMapping>> {
    Some(live_mappings_of(&crate::source::live::read_upnp_chains()?))
}

/// The live mappings of a ruleset (see [`live_mappings`]).
pub fn live_mappings_of(ruleset: &Ruleset) -> Vec<LiveMapping> {
    pair_forward_rules(ruleset)
        .filter_map(|(d, forward)| {
            let proto = d.proto?;
            let ext = d.ext_port()?;
            let key = (proto, ext, d.int_addr, d.int_port.unwrap_or(ext));
            Some((key, forward != ForwardRule::Missing))
        })
        .collect()
}
