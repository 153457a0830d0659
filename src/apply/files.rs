//! Router files camguard edits itself, not through rpcd: the UPnP lease file and files it empties.
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::journal::{Fingerprint, KeptBytes, MAX_KEPT_BYTES};
use super::{ApplyError, Before, Executor};
use crate::formats::leases::parse_leases;
use crate::ports::Protocol;
use crate::source::RootDir;

impl Executor<'_> {
    pub(super) fn host_path(&self, router_path: &str) -> Option<PathBuf> {
        RootDir::open(&self.root).ok()?.host_path(router_path)
    }

    /// A router file's text; empty when it is missing or unreadable.
    pub(super) fn read_router_file(&self, router_path: &str) -> String {
        self.host_path(router_path)
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The raw lines of the lease file that are this mapping (every field compared).
    pub(super) fn lease_lines_matching(
        &self,
        proto: Protocol,
        ext: u16,
        addr: std::net::IpAddr,
        int: u16,
    ) -> Vec<String> {
        self.lease_lines_in_place(proto, ext, addr, int).0
    }

    /// [`Self::lease_lines_matching`], each with the line just before it (None: the first).
    pub(super) fn lease_lines_in_place(
        &self,
        proto: Protocol,
        ext: u16,
        addr: std::net::IpAddr,
        int: u16,
    ) -> (Vec<String>, Vec<Option<String>>) {
        let text = self.read_router_file(&self.lease_file);
        let mut previous = None;
        let mut found = (Vec::new(), Vec::new());
        for line in text.lines() {
            // Every mapping miniupnpd reads from the line, an overlong line's tail included.
            let matches = parse_leases(line.as_bytes()).entries.iter().any(|l| {
                l.proto == proto
                    && l.ext_port == ext
                    && std::net::IpAddr::V4(l.int_addr) == addr
                    && l.int_port == int
            });
            if matches {
                found.0.push(line.to_owned());
                found.1.push(previous.map(str::to_owned));
            }
            previous = Some(line);
        }
        found
    }

    /// A router file's bytes as the journal keeps them before camguard changes the file; None
    /// when it does not exist (nothing to restore byte for byte).
    pub(super) fn keep_bytes(&self, router_path: &str, config: Option<String>) -> Option<Before> {
        let path = self.host_path(router_path)?;
        let file = std::fs::File::open(path).ok()?;
        let size = file.metadata().ok()?.len();
        let mut bytes = Vec::new();
        let kept = if size > MAX_KEPT_BYTES {
            None
        } else {
            file.take(MAX_KEPT_BYTES + 1).read_to_end(&mut bytes).ok()?;
            // Grown past the bound while read: kept as too large, like a file that was.
            (bytes.len() as u64 <= MAX_KEPT_BYTES).then_some(KeptBytes(bytes))
        };
        Some(Before::FileBytes {
            path: router_path.to_owned(),
            config,
            size: kept.as_ref().map_or(size, |k| k.0.len() as u64),
            bytes: kept,
            committed: None,
        })
    }

    /// What a router file holds now, fingerprinted; None when it cannot be read.
    pub(super) fn fingerprint(&self, router_path: &str) -> Option<Fingerprint> {
        let bytes = std::fs::read(self.host_path(router_path)?).ok()?;
        Some(Fingerprint::of(&bytes))
    }

    /// Writes a router file atomically: a temporary file in the same directory with the old
    /// file's owner and mode, synced, then renamed over it (a reader sees the old bytes or the
    /// new ones; a power cut leaves one of them).
    pub(super) fn write_file(&self, router_path: &str, bytes: &[u8]) -> Result<(), ApplyError> {
        let path = self
            .host_path(router_path)
            .ok_or_else(|| ApplyError::OutsideRoot {
                path: router_path.to_owned(),
            })?;
        replace_file(&path, bytes).map_err(|error| ApplyError::File {
            path: router_path.to_owned(),
            error,
        })
    }

    /// Drops the mapping's lines from the lease file. miniupnpd appends to it and rewrites it
    /// through a rename, so the file is re-read right before the replace; lines it added in
    /// between are kept. The fingerprint of what it wrote, if it wrote anything.
    pub(super) fn remove_lease_lines(
        &self,
        proto: Protocol,
        ext: u16,
        addr: std::net::IpAddr,
        int: u16,
    ) -> Result<Option<Fingerprint>, ApplyError> {
        let Some(path) = self.host_path(&self.lease_file) else {
            return Ok(None);
        };
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(None);
        };
        let doomed = self.lease_lines_matching(proto, ext, addr, int);
        let text = String::from_utf8_lossy(&bytes);
        let kept: String = text
            .lines()
            .filter(|l| !doomed.iter().any(|d| d == l))
            .map(|l| format!("{l}\n"))
            .collect();
        self.write_file(&self.lease_file.clone(), kept.as_bytes())
            .map(|()| Some(Fingerprint::of(kept.as_bytes())))
    }

    /// Puts revoked lease lines back where they were: each right after the line that preceded
    /// it, while that line is still there; at the end otherwise (and for entries of older
    /// versions, which did not record the place). Lines the file has again are left as they are.
    pub(super) fn restore_lease_lines(
        &self,
        path: &str,
        lines: &[LeasePlace],
    ) -> Result<(), ApplyError> {
        let text = self.read_router_file(path);
        let restored = reinsert_lines(&text, lines);
        self.write_file(path, restored.as_bytes())
    }
}

/// A revoked lease line, and the line it followed (None: it was the first).
pub(super) type LeasePlace = (String, Option<String>);

/// `text` with each of `lines` (a line, and the line it followed) put back after its
/// predecessor; a line whose predecessor is gone too goes to the end. Lines are placed once
/// their predecessor is, so a run of removed lines comes back in its order.
fn reinsert_lines(text: &str, lines: &[LeasePlace]) -> String {
    let mut out: Vec<&str> = text.lines().collect();
    let mut todo: Vec<&LeasePlace> = lines
        .iter()
        .filter(|(l, _)| !out.contains(&l.as_str()))
        .collect();
    while !todo.is_empty() {
        let before = todo.len();
        todo.retain(|(line, previous)| {
            let at = match previous {
                None => Some(0),
                Some(p) => out.iter().position(|o| o == p).map(|i| i + 1),
            };
            match at {
                Some(i) => {
                    // Lines placed after the same predecessor earlier keep their order.
                    let mut i = i;
                    while i < out.len() && lines.iter().any(|(l, p)| l == out[i] && p == previous) {
                        i += 1;
                    }
                    out.insert(i, line);
                    false
                }
                None => true,
            }
        });
        if todo.len() == before {
            out.extend(todo.iter().map(|(l, _)| l.as_str()));
            break;
        }
    }
    out.iter().map(|l| format!("{l}\n")).collect()
}

/// Replaces `path` with `bytes` through a hidden temporary file next to it (libuci's own
/// commit does the same; a visible one in /etc/config would be read as a config), keeping the
/// old file's owner and mode.
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name")
    })?;
    let tmp = path.with_file_name(format!(".{}.camguard-tmp", name.to_string_lossy()));
    let old = std::fs::metadata(path).ok();
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if let Some(old) = &old {
            f.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))?;
            let meta = f.metadata()?;
            if (meta.uid(), meta.gid()) != (old.uid(), old.gid()) {
                std::os::unix::fs::fchown(&f, Some(old.uid()), Some(old.gid()))?;
            }
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(line: &str, after: Option<&str>) -> (String, Option<String>) {
        (line.to_owned(), after.map(str::to_owned))
    }

    #[test]
    fn revoked_lines_go_back_to_their_place() {
        // a, b, c, d, e; b and c were revoked (c followed b), e too; miniupnpd since added f.
        let now = "a\nd\nf\n";
        let back = [
            place("b", Some("a")),
            place("c", Some("b")),
            place("e", Some("d")),
        ];
        assert_eq!(reinsert_lines(now, &back), "a\nb\nc\nd\ne\nf\n");
        // The first line, and lines recorded out of order, come back in order too.
        let back = [
            place("c", Some("b")),
            place("b", Some("a")),
            place("a", None),
        ];
        assert_eq!(reinsert_lines("d\n", &back), "a\nb\nc\nd\n");
    }

    #[test]
    fn a_line_whose_neighbour_is_gone_is_appended_and_none_is_doubled() {
        let back = [place("x", Some("gone")), place("a", None)];
        assert_eq!(reinsert_lines("a\nb\n", &back), "a\nb\nx\n");
        // Entries of older versions: no place recorded, appended as before.
        assert_eq!(reinsert_lines("a\n", &[place("z", Some("?"))]), "a\nz\n");
    }

    #[test]
    fn a_replaced_file_keeps_owner_and_mode() {
        let dir = std::env::temp_dir().join(format!("camguard-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("firewall");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        replace_file(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["firewall"], "no temporary file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
