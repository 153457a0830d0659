//! Where a [`crate::snapshot::Snapshot`] comes from.
//!
//! The offline source reads router files through [`RouterFiles`], so a root directory and a
//! backup archive are one code path; the live source (ubus) fills the same snapshot.
pub mod archive;
mod error;
pub mod live;
pub mod offline;

pub use self::archive::Archive;
pub use self::error::ReadError;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Largest single file read from a snapshot (a lease file with 10,000 mappings is ~600 KB).
pub const MAX_FILE: u64 = 16 << 20;

/// Read access to a router's files by their absolute path on the router (`/etc/config/dhcp`).
pub trait RouterFiles {
    /// `Ok(None)` when the file does not exist: on a router that is normal (no miniupnpd).
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>>;
    /// Whether a file or directory exists at this path.
    fn exists(&self, path: &str) -> bool;
    /// Entry names of a directory (empty when absent).
    fn list(&self, dir: &str) -> Vec<String>;
    /// For people: "root directory examples/home".
    fn describe(&self) -> String;
    /// At most `limit` bytes from the start of a file, and whether it had more: for kernel
    /// tables under /proc, which report no size, so [`MAX_FILE`] cannot protect memory.
    fn read_prefix(&self, path: &str, limit: usize) -> io::Result<Option<(Vec<u8>, bool)>> {
        Ok(self.read(path)?.map(|mut bytes| {
            let more = bytes.len() > limit;
            bytes.truncate(limit);
            (bytes, more)
        }))
    }
}

/// Resolves a router path inside a snapshot, following symbolic links the way the router
/// would (OpenWrt links /var to /tmp) but never leaving the snapshot: an absolute link target
/// is taken relative to the snapshot root and `..` stops at the root.
fn resolve(path: &str, link_target: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut pending: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(component) = pending.pop() {
        match component.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        resolved.push(component);
        let joined = resolved.join("/");
        if let Some(target) = link_target(&joined) {
            hops += 1;
            if hops > 32 {
                return None;
            }
            resolved.pop();
            if target.starts_with('/') {
                resolved.clear();
            }
            pending.extend(target.split('/').rev().map(str::to_owned));
        }
    }
    Some(resolved.join("/"))
}

/// A directory laid out like a router's root file system.
pub struct RootDir {
    root: PathBuf,
}

impl RootDir {
    /// Checks that `root` looks like a router root (has `etc/`), so that a typo is an error
    /// rather than an audit of nothing.
    pub fn open(root: &Path) -> Result<RootDir, ReadError> {
        if !root.is_dir() {
            let path = root.to_path_buf();
            return Err(if looks_like_backup(root) {
                ReadError::BackupGivenAsRoot { path }
            } else {
                ReadError::NotADirectory { path }
            });
        }
        if !root.join("etc").is_dir() {
            return Err(ReadError::NotARouterRoot {
                path: root.to_path_buf(),
            });
        }
        Ok(RootDir {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host path of a router path, symbolic links resolved inside the root.
    pub fn host_path(&self, router_path: &str) -> Option<PathBuf> {
        let rel = resolve(router_path, |p| {
            let host = self.root.join(p);
            let meta = std::fs::symlink_metadata(&host).ok()?;
            if !meta.file_type().is_symlink() {
                return None;
            }
            std::fs::read_link(&host)
                .ok()
                .map(|t| t.to_string_lossy().into_owned())
        })?;
        Some(self.root.join(rel))
    }
}

impl RouterFiles for RootDir {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(host) = self.host_path(path) else {
            return Ok(None);
        };
        match std::fs::metadata(&host) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
            Ok(m) if m.is_dir() => return Ok(None),
            Ok(m) if m.len() > MAX_FILE => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("larger than {MAX_FILE} bytes"),
                ))
            }
            Ok(_) => {}
        }
        match std::fs::read(&host) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_prefix(&self, path: &str, limit: usize) -> io::Result<Option<(Vec<u8>, bool)>> {
        use std::io::Read;
        let Some(host) = self.host_path(path) else {
            return Ok(None);
        };
        let file = match std::fs::File::open(&host) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if file.metadata()?.is_dir() {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
        let more = bytes.len() > limit;
        bytes.truncate(limit);
        Ok(Some((bytes, more)))
    }

    fn exists(&self, path: &str) -> bool {
        self.host_path(path).is_some_and(|p| p.exists())
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let Some(host) = self.host_path(dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = std::fs::read_dir(host)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn describe(&self) -> String {
        format!("root directory {}", self.root.display())
    }
}

/// A file named like a backup archive, or starting with gzip's magic bytes.
fn looks_like_backup(path: &Path) -> bool {
    let name = path.to_string_lossy();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        return true;
    }
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| magic == [0x1f, 0x8b])
}

/// A backup archive held in memory.
pub struct ArchiveFiles {
    name: String,
    archive: archive::Archive,
}

impl ArchiveFiles {
    pub fn new(name: impl Into<String>, archive: archive::Archive) -> ArchiveFiles {
        ArchiveFiles {
            name: name.into(),
            archive,
        }
    }

    fn key(&self, path: &str) -> Option<String> {
        resolve(path, |p| self.archive.symlinks.get(p).cloned())
    }

    fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.archive.files
    }
}

impl RouterFiles for ArchiveFiles {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.key(path).and_then(|k| self.files().get(&k).cloned()))
    }

    fn exists(&self, path: &str) -> bool {
        let Some(key) = self.key(path) else {
            return false;
        };
        let dir_prefix = format!("{key}/");
        self.files().contains_key(&key) || self.files().keys().any(|k| k.starts_with(&dir_prefix))
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let Some(key) = self.key(dir) else {
            return Vec::new();
        };
        let prefix = format!("{key}/");
        let mut names: Vec<String> = self
            .files()
            .keys()
            .chain(self.archive.symlinks.keys())
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn describe(&self) -> String {
        format!("backup {}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_snapshot() {
        let links = |p: &str| match p {
            "var" => Some("/tmp".to_owned()),
            "tmp/run" => Some("../tmp/real".to_owned()),
            _ => None,
        };
        assert_eq!(
            resolve("/var/run/miniupnpd.leases", links).unwrap(),
            "tmp/real/miniupnpd.leases"
        );
        assert_eq!(
            resolve("/../../etc/passwd", |_| None).unwrap(),
            "etc/passwd"
        );
    }

    #[test]
    fn a_directory_without_etc_is_not_a_router_root() {
        let dir = std::env::temp_dir().join(format!("camguard-not-a-root-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = RootDir::open(&dir).err().unwrap();
        std::fs::remove_dir(&dir).unwrap();
        assert!(matches!(&err, ReadError::NotARouterRoot { path } if *path == dir));
        assert!(err.to_string().ends_with(
            " is not a router root: no etc/ found (expected etc/config/firewall and friends)"
        ));
        let file = Path::new("Cargo.toml");
        assert!(matches!(
            RootDir::open(file).err().unwrap(),
            ReadError::NotADirectory { .. }
        ));
    }

    #[test]
    fn symlink_loops_end() {
        assert_eq!(
            resolve("/a/b", |p| (p == "a").then(|| "/a".to_owned())),
            None
        );
    }
}
