//! Where a [`crate::snapshot::Snapshot`] comes from.
//!
//! The offline source reads router files through [`RouterFiles`], so a root directory and a
//! backup archive are one code path; the live source (ubus) fills the same snapshot.
pub mod archive;
mod error;
pub mod live;
pub mod nftables;
pub mod offline;

pub use self::archive::Archive;
pub use self::error::{FileError, ReadError};

use std::io;
use std::path::{Path, PathBuf};

use crate::sorted::SortedMap;

/// Largest single file read from a snapshot (a lease file with 10,000 mappings is ~600 KB).
/// A longer one is read up to here and reported as truncated, never dropped.
pub const MAX_FILE: u64 = 16 << 20;

/// What reading one router file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRead {
    /// Not there: on a router that is normal for most files (no miniupnpd, no leases yet).
    Absent,
    Whole(Vec<u8>),
    /// Longer than [`MAX_FILE`]: its first bytes up to the last whole line, and its size.
    Truncated {
        bytes: Vec<u8>,
        size: u64,
    },
}

/// Read access to a router's files by their absolute path on the router (`/etc/config/dhcp`).
pub trait RouterFiles {
    /// The file's bytes, bounded. A FIFO, device or socket is refused without being opened,
    /// so a snapshot cannot make the audit wait forever.
    fn read(&self, path: &str) -> Result<FileRead, FileError>;
    /// Unix time the file was last written, where the source knows it.
    fn modified(&self, path: &str) -> Option<u64>;
    /// Whether a file or directory exists at this path.
    fn exists(&self, path: &str) -> bool;
    /// Entry names of a directory (empty when absent).
    fn list(&self, dir: &str) -> Vec<String>;
    /// For people: "root directory examples/home".
    fn describe(&self) -> String;
    /// The file as a stream, for a document read without holding its text (the nft dump, which
    /// grows with what the LAN maps). None: not a regular file here, or a source that only
    /// reads whole files; then [`RouterFiles::read`] it.
    fn stream(&self, _path: &str) -> Option<Box<dyn io::Read + '_>> {
        None
    }

    /// At most `limit` bytes from the start of a file, and whether it had more: for kernel
    /// tables under /proc, which report no size, so only reading stops at the bound.
    fn read_prefix(&self, path: &str, limit: usize) -> Result<Option<(Vec<u8>, bool)>, FileError> {
        Ok(prefix(self.read(path)?, limit))
    }
}

/// Resolves a router path inside a snapshot, following symbolic links the way the router
/// would (OpenWrt links /var to /tmp) but never leaving the snapshot: an absolute link target
/// is taken relative to the snapshot root and `..` stops at the root.
fn resolve(path: &str, link_target: impl Fn(&str) -> Option<String>) -> Option<String> {
    resolve_within(path, link_target).ok()
}

/// [`resolve`], telling a loop of links apart.
fn resolve_within(
    path: &str,
    link_target: impl Fn(&str) -> Option<String>,
) -> Result<String, FileError> {
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
                return Err(FileError::LinkLoop);
            }
            resolved.pop();
            if target.starts_with('/') {
                resolved.clear();
            }
            pending.extend(target.split('/').rev().map(str::to_owned));
        }
    }
    Ok(resolved.join("/"))
}

/// Bytes read up to `limit` ([`MAX_FILE`] for a whole file): the whole file, or its lines up
/// to the bound.
fn bounded(mut bytes: Vec<u8>, size: u64, limit: u64) -> FileRead {
    if bytes.len() as u64 <= limit {
        return FileRead::Whole(bytes);
    }
    bytes.truncate(limit as usize);
    // Line-oriented files lose a partial last line rather than misread half of it.
    let whole_lines = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(whole_lines);
    FileRead::Truncated { bytes, size }
}

/// The first `limit` bytes of what was read, and whether there was more.
fn prefix(read: FileRead, limit: usize) -> Option<(Vec<u8>, bool)> {
    match read {
        FileRead::Absent => None,
        FileRead::Whole(mut bytes) => {
            let more = bytes.len() > limit;
            bytes.truncate(limit);
            Some((bytes, more))
        }
        FileRead::Truncated { mut bytes, .. } => {
            bytes.truncate(limit);
            Some((bytes, true))
        }
    }
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
        self.resolve_host(router_path).ok()
    }

    fn resolve_host(&self, router_path: &str) -> Result<PathBuf, FileError> {
        let rel = resolve_within(router_path, |p| {
            let host = self.root.join(p);
            let meta = std::fs::symlink_metadata(&host).ok()?;
            if !meta.file_type().is_symlink() {
                return None;
            }
            std::fs::read_link(&host)
                .ok()
                .map(|t| t.to_string_lossy().into_owned())
        })?;
        Ok(self.root.join(rel))
    }
}

impl RootDir {
    /// The file's bytes up to `limit`; a FIFO, device or socket refused without being opened.
    fn read_up_to(&self, path: &str, limit: u64) -> Result<FileRead, FileError> {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        let host = self.resolve_host(path)?;
        let meta = match std::fs::metadata(&host) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FileRead::Absent),
            Err(e) => return Err(FileError::Io(e)),
            Ok(m) => m,
        };
        let kind = meta.file_type();
        if kind.is_dir() {
            return Ok(FileRead::Absent);
        }
        if !kind.is_file() {
            return Err(FileError::NotRegular(if kind.is_fifo() {
                "a FIFO"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "a device"
            }));
        }
        let mut bytes = Vec::new();
        match std::fs::File::open(&host) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FileRead::Absent),
            Err(e) => return Err(FileError::Io(e)),
            Ok(f) => f
                .take(limit + 1)
                .read_to_end(&mut bytes)
                .map_err(FileError::Io)?,
        };
        Ok(bounded(bytes, meta.len(), limit))
    }
}

impl RouterFiles for RootDir {
    fn stream(&self, path: &str) -> Option<Box<dyn io::Read + '_>> {
        let host = self.resolve_host(path).ok()?;
        if !std::fs::metadata(&host).ok()?.file_type().is_file() {
            return None;
        }
        Some(Box::new(std::fs::File::open(&host).ok()?))
    }

    fn read(&self, path: &str) -> Result<FileRead, FileError> {
        self.read_up_to(path, MAX_FILE)
    }

    fn modified(&self, path: &str) -> Option<u64> {
        let modified = std::fs::metadata(self.host_path(path)?)
            .ok()?
            .modified()
            .ok()?;
        modified
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())
    }

    fn read_prefix(&self, path: &str, limit: usize) -> Result<Option<(Vec<u8>, bool)>, FileError> {
        Ok(prefix(self.read_up_to(path, limit as u64)?, limit))
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

    fn files(&self) -> &SortedMap<String, Vec<u8>> {
        &self.archive.files
    }
}

impl RouterFiles for ArchiveFiles {
    fn read(&self, path: &str) -> Result<FileRead, FileError> {
        let key = resolve_within(path, |p| self.archive.symlinks.get(p).cloned())?;
        Ok(match self.files().get(&key) {
            Some(bytes) => bounded(bytes.clone(), bytes.len() as u64, MAX_FILE),
            None => FileRead::Absent,
        })
    }

    fn modified(&self, path: &str) -> Option<u64> {
        self.archive.modified.get(&self.key(path)?).copied()
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
