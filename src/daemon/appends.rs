//! Lease-file appends judged on their own, so that a chatty LAN device does not cost a whole
//! audit per mapping it opens.
//!
//! miniupnpd appends one line per new mapping (and rewrites the file through a new one when it
//! removes one). A whole audit at 5,000 mappings costs tens of ms of CPU, and a device opening
//! mappings 20 times a second would keep a router core busy with them. So the daemon remembers
//! how far it has read the file; on a change it reads only the lines appended since and asks
//! the policy about each: a mapping the policy would revoke (a camera's, a denied device's, any
//! under `upnp 'off'`), a line miniupnpd could not have written, or a device the last audit did
//! not know wants the audit now; anything else only makes the report stale, and one audit
//! within [`super::COALESCE`] (10 s) catches up with all of it.
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::facts::Inventory;
use crate::formats::leases::{parse_leases, Lease};
use crate::ports::Protocol;
use crate::snapshot::policy::{Policy, UpnpPolicy};
use crate::snapshot::Snapshot;

/// Bytes before the read position that must be unchanged for a longer file to count as
/// appended to (a file rewritten in place, not by rename, fails this).
const TAIL: usize = 64;

/// What the lines appended to the lease file ask of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing new (a partial line, an unchanged file).
    Nothing,
    /// New mappings the policy has no objection to: the report is stale, no more.
    Stale,
    /// Audit now: a mapping to revoke or to look at, or a file that was not appended to.
    Audit,
}

type LeaseKey = (Protocol, u16, Ipv4Addr, u16);

fn key(l: &Lease) -> LeaseKey {
    (l.proto, l.ext_port, l.int_addr, l.int_port)
}

/// How far the daemon has read miniupnpd's lease file (host path), and the file's identity.
#[derive(Debug, Default)]
pub struct LeaseTail {
    path: Option<PathBuf>,
    inode: u64,
    read_to: u64,
    tail: Vec<u8>,
}

impl LeaseTail {
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// After an audit: reads the whole file once, takes note of where it ends, and judges the
    /// lines that came after the audit read it (the audit and this read are not one moment).
    pub fn after_audit(
        &mut self,
        path: Option<PathBuf>,
        snap: &Snapshot,
        inventory: &Inventory,
        policy: &Policy,
    ) -> Verdict {
        *self = LeaseTail { path, ..LeaseTail::default() };
        let Some(path) = self.path.clone() else {
            return Verdict::Nothing;
        };
        let Ok((inode, bytes)) = read_from(&path, 0) else {
            return Verdict::Nothing;
        };
        let whole = complete_lines(&bytes);
        self.remember(inode, 0, whole);
        let audited: HashSet<LeaseKey> = snap.upnp.leases.iter().map(key).collect();
        let parsed = parse_leases(whole);
        let new: Vec<&Lease> = parsed
            .entries
            .iter()
            .filter(|l| !audited.contains(&key(l)))
            .collect();
        // Lines miniupnpd cannot read were the audit's to report, if it saw them; a forged one
        // it can read is among `new`.
        judge(&new, false, inventory, policy)
    }

    /// The file changed: judges what was appended since it was last read.
    pub fn changed(&mut self, inventory: &Inventory, policy: &Policy) -> Verdict {
        let Some(path) = self.path.clone() else {
            return Verdict::Audit;
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            return Verdict::Audit;
        };
        if meta.ino() != self.inode || meta.len() < self.read_to {
            return Verdict::Audit;
        }
        if meta.len() == self.read_to {
            return Verdict::Nothing;
        }
        let from = self.read_to - self.tail.len() as u64;
        let Ok((inode, bytes)) = read_from(&path, from) else {
            return Verdict::Audit;
        };
        if inode != self.inode || !bytes.starts_with(&self.tail) {
            return Verdict::Audit;
        }
        let appended = complete_lines(&bytes[self.tail.len()..]);
        if appended.is_empty() {
            return Verdict::Nothing;
        }
        let parsed = parse_leases(appended);
        let judged = &bytes[..self.tail.len() + appended.len()];
        self.remember(inode, from, judged);
        let new: Vec<&Lease> = parsed.entries.iter().collect();
        judge(&new, !parsed.bad_lines.is_empty(), inventory, policy)
    }

    /// The file up to `start + bytes.len()` has been judged.
    fn remember(&mut self, inode: u64, start: u64, bytes: &[u8]) {
        self.inode = inode;
        self.read_to = start + bytes.len() as u64;
        self.tail = bytes[bytes.len().saturating_sub(TAIL)..].to_vec();
    }
}

/// The file from `offset` on, with its inode (of the file read, not of a later rename).
fn read_from(path: &Path, offset: u64) -> std::io::Result<(u64, Vec<u8>)> {
    let mut file = std::fs::File::open(path)?;
    let inode = file.metadata()?.ino();
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok((inode, bytes))
}

/// Up to the last newline: a line still being written is read when it is whole.
fn complete_lines(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&[][..], |end| &bytes[..=end])
}

/// What new lease lines ask of the daemon under `policy`.
fn judge(new: &[&Lease], bad_lines: bool, inventory: &Inventory, policy: &Policy) -> Verdict {
    if bad_lines {
        return Verdict::Audit;
    }
    if new.is_empty() {
        return Verdict::Nothing;
    }
    let urgent = new.iter().any(|l| {
        if l.is_forged() {
            return true;
        }
        match inventory.by_ip(IpAddr::V4(l.int_addr)) {
            Some(device) => policy
                .mapping_violation(device.mac, device.classification.class.is_camera_like())
                .is_some(),
            // A device the last audit did not know may be a camera once it is.
            None => policy.upnp != UpnpPolicy::Allow,
        }
    });
    if urgent {
        Verdict::Audit
    } else {
        Verdict::Stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_lines_are_read() {
        assert_eq!(complete_lines(b"a\nb\nc"), b"a\nb\n");
        assert_eq!(complete_lines(b"abc"), b"");
        assert_eq!(complete_lines(b""), b"");
    }
}
