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
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::facts::Inventory;
use crate::formats::leases::{parse_leases, Lease};
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

    /// After an audit: takes note of where the file ends, and judges the lines that came
    /// after the last one the audit read (the audit and this read are not one moment). The
    /// file is read line by line, never held whole: a device may have written 65,535 lines.
    pub fn after_audit(
        &mut self,
        path: Option<PathBuf>,
        snap: &Snapshot,
        inventory: &Inventory,
        policy: &Policy,
    ) -> Verdict {
        *self = LeaseTail {
            path,
            ..LeaseTail::default()
        };
        let Some(path) = self.path.clone() else {
            return Verdict::Nothing;
        };
        // The audit's last lease line: lines after it are news (a bad line after it is the
        // audit's to report, and never counts).
        let audited_lines = snap.upnp.leases.last().map_or(0, |l| l.line as usize);
        let Ok(mut file) = std::fs::File::open(&path) else {
            return Verdict::Nothing;
        };
        let Ok(meta) = file.metadata() else {
            return Verdict::Nothing;
        };
        let inode = meta.ino();
        // Where the audit stopped reading, when it says: only the bytes before it that make up
        // the tail, and what came after, are read again (not 65,535 lines per audit).
        if let Some(to) = snap.upnp.leases_read_to.filter(|&to| to <= meta.len()) {
            let start = to.saturating_sub(TAIL as u64);
            let read = file
                .seek(SeekFrom::Start(start))
                .and_then(|_| read_from_open(&mut file));
            let Ok(bytes) = read else {
                return Verdict::Nothing;
            };
            let split = ((to - start) as usize).min(bytes.len());
            // Only at a line's end: the audit also parses a last line still being written.
            if split == 0 || bytes[split - 1] == b'\n' {
                let appended = complete_lines(&bytes[split..]);
                self.remember(inode, start, &bytes[..split + appended.len()]);
                let new = parse_leases(appended);
                let new: Vec<&Lease> = new.entries.iter().collect();
                return judge(&new, false, inventory, policy);
            }
            if file.seek(SeekFrom::Start(0)).is_err() {
                return Verdict::Nothing;
            }
        }
        let mut reader = BufReader::new(file);
        let (mut offset, mut lines) = (0u64, 0usize);
        let (mut line, mut last_bytes, mut after) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(n) if n > 0 && line.last() == Some(&b'\n') => {
                    lines += 1;
                    offset += n as u64;
                    if lines > audited_lines {
                        after.extend_from_slice(&line);
                    }
                    last_bytes.extend_from_slice(&line);
                    if last_bytes.len() > 4 * TAIL {
                        last_bytes.drain(..last_bytes.len() - TAIL);
                    }
                }
                // The end, or a line still being written: read when it is whole.
                _ => break,
            }
        }
        self.inode = inode;
        self.read_to = offset;
        self.tail = last_bytes[last_bytes.len().saturating_sub(TAIL)..].to_vec();
        let new = parse_leases(&after);
        let new: Vec<&Lease> = new.entries.iter().collect();
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
    Ok((inode, read_from_open(&mut file)?))
}

/// The rest of an open file, from where it stands.
fn read_from_open(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
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

    fn policy(upnp: UpnpPolicy) -> Policy {
        Policy {
            upnp,
            ..Policy::default()
        }
    }

    /// The file read from the start, as an audit reads it.
    fn audited(path: &Path) -> Snapshot {
        let mut snap = Snapshot::new(0, "test");
        snap.upnp.leases = parse_leases(&std::fs::read(path).unwrap()).entries;
        snap
    }

    fn append(path: &Path, text: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn appended_lines_are_judged_alone_and_a_rewrite_is_audited() {
        let dir = std::env::temp_dir().join(format!("camguard-appends-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("miniupnpd.leases");
        std::fs::write(
            &path,
            "UDP:20000:192.168.1.10:20000:0:a\nTCP:80:192.168.1.11:80:0:b\n",
        )
        .unwrap();
        let snap = audited(&path);
        let inventory = Inventory::build(&snap);
        let (allow, restricted) = (policy(UpnpPolicy::Allow), policy(UpnpPolicy::Restricted));
        let mut tail = LeaseTail::default();
        assert_eq!(
            tail.after_audit(Some(path.clone()), &snap, &inventory, &restricted),
            Verdict::Nothing,
            "the audit saw every line"
        );
        append(&path, "UDP:20001:192.168.1.10:20001:0:c\n");
        assert_eq!(tail.changed(&inventory, &allow), Verdict::Stale);
        // Under `upnp 'restricted'` a device the audit did not know may be a camera.
        append(&path, "UDP:20002:192.168.1.12:20002:0:d\n");
        assert_eq!(tail.changed(&inventory, &restricted), Verdict::Audit);
        append(&path, "UDP:20003:192.168.1.12:20003:0:e");
        assert_eq!(
            tail.changed(&inventory, &allow),
            Verdict::Nothing,
            "half a line"
        );
        append(&path, "\n");
        assert_eq!(
            tail.changed(&inventory, &allow),
            Verdict::Stale,
            "now whole"
        );
        assert_eq!(
            tail.changed(&inventory, &allow),
            Verdict::Nothing,
            "read already"
        );
        // Under `upnp 'off'` every new mapping is one to revoke.
        append(&path, "UDP:20004:192.168.1.10:20004:0:f\n");
        assert_eq!(
            tail.changed(&inventory, &policy(UpnpPolicy::Off)),
            Verdict::Audit
        );

        // Lines that came after the audit read the file are judged right after it.
        let snap = audited(&path);
        append(&path, "UDP:20005:192.168.1.13:20005:0:g\n");
        assert_eq!(
            tail.after_audit(Some(path.clone()), &snap, &inventory, &restricted),
            Verdict::Audit
        );
        assert_eq!(tail.changed(&inventory, &restricted), Verdict::Nothing);

        // miniupnpd removes a mapping by writing a new file: not an append.
        let text = std::fs::read_to_string(&path).unwrap();
        let new = dir.join("miniupnpd.leases.new");
        std::fs::write(&new, text.replace("UDP:20000:", "UDP:20009:")).unwrap();
        std::fs::rename(&new, &path).unwrap();
        assert_eq!(tail.changed(&inventory, &allow), Verdict::Audit);
        // Nor is a file rewritten in place with other bytes before the read position.
        let snap = audited(&path);
        tail.after_audit(Some(path.clone()), &snap, &inventory, &allow);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            format!(
                "{}UDP:20010:192.168.1.10:20010:0:h\n",
                text.replace(":h", ":x").replace(":g", ":y")
            ),
        )
        .unwrap();
        assert_eq!(tail.changed(&inventory, &allow), Verdict::Audit);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_whole_lines_are_read() {
        assert_eq!(complete_lines(b"a\nb\nc"), b"a\nb\n");
        assert_eq!(complete_lines(b"abc"), b"");
        assert_eq!(complete_lines(b""), b"");
    }
}
