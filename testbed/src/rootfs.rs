//! Router paths mapped under the testbed root, never outside it.
//!
//! A router path like `/etc/config/firewall` names `ROOT/etc/config/firewall`. Symlinks are
//! followed the way they would be inside a chroot at ROOT: an absolute target starts again at
//! ROOT and `..` stops at ROOT, so no argument (and no symlink a test plants) reaches a host file.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The most symlinks one lookup follows, as Linux's ELOOP limit.
const MAX_LINKS: usize = 40;

#[derive(Clone, Debug)]
pub struct Root {
    pub dir: PathBuf,
}

impl Root {
    pub fn new(dir: PathBuf) -> Root {
        Root { dir }
    }

    /// The host path for router path `path`, following symlinks in every component (and in the
    /// last one when `follow_last`). A relative path is taken from `/`, rpcd's working directory.
    pub fn resolve(&self, path: &str, follow_last: bool) -> io::Result<PathBuf> {
        let mut pending: Vec<OsString> = components(Path::new(path));
        pending.reverse();
        let mut current: Vec<OsString> = Vec::new();
        let mut links = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                current.pop();
                continue;
            }
            if part == "." || part.is_empty() {
                continue;
            }
            let candidate = self.host(&current).join(&part);
            let is_last = pending.is_empty();
            let meta = fs::symlink_metadata(&candidate);
            let is_link = meta.map(|m| m.file_type().is_symlink()).unwrap_or(false);
            if is_link && (!is_last || follow_last) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = fs::read_link(&candidate)?;
                if target.is_absolute() {
                    current.clear();
                }
                let mut more = components(&target);
                more.reverse();
                pending.extend(more);
                continue;
            }
            current.push(part);
        }
        Ok(self.host(&current))
    }

    /// The host path of a router path, without following any symlink: for names the stand-in
    /// itself chooses (`/etc/config/<name>`, `/etc/rc.d/S94<name>`).
    pub fn join(&self, router_path: &str) -> PathBuf {
        self.host(&components(Path::new(router_path)))
    }

    fn host(&self, parts: &[OsString]) -> PathBuf {
        let mut p = self.dir.clone();
        for part in parts {
            if part != ".." && part != "." {
                p.push(part);
            }
        }
        p
    }
}

fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// rpcd's `rpc_canonicalize_path`: collapses `//`, `/./` and `/x/../` textually, drops a
/// trailing slash. The result is what rpcd reports back as `path`.
pub fn canonicalize(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let p = path.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'/' {
            if p.get(i + 1) == Some(&b'/') {
                i += 1;
                continue;
            }
            if p.get(i + 1) == Some(&b'.') {
                let c2 = p.get(i + 2);
                if c2.is_none() || c2 == Some(&b'/') {
                    i += 2;
                    continue;
                }
                if c2 == Some(&b'.') {
                    let c3 = p.get(i + 3);
                    if c3.is_none() || c3 == Some(&b'/') {
                        while let Some(last) = out.pop() {
                            if last == b'/' {
                                break;
                            }
                        }
                        i += 3;
                        continue;
                    }
                }
            }
        }
        out.push(p[i]);
        i += 1;
    }
    if out.len() > 1 && out.last() == Some(&b'/') {
        out.pop();
    } else if out.is_empty() {
        out.push(b'/');
    }
    String::from_utf8(out).ok()
}

/// User and group names the way the router would show them: from ROOT/etc/passwd and
/// ROOT/etc/group when the root has them, else from the host's.
pub fn user_name(root: &Root, uid: u32) -> Option<String> {
    id_name(root, "etc/passwd", uid)
}

pub fn group_name(root: &Root, gid: u32) -> Option<String> {
    id_name(root, "etc/group", gid)
}

fn id_name(root: &Root, file: &str, id: u32) -> Option<String> {
    let text = fs::read_to_string(root.dir.join(file))
        .or_else(|_| fs::read_to_string(Path::new("/").join(file)))
        .ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        let num: u32 = f.next()?.parse().ok()?;
        (num == id && !name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalize_like_rpcd() {
        assert_eq!(
            canonicalize("/etc//config/./firewall/").as_deref(),
            Some("/etc/config/firewall")
        );
        assert_eq!(
            canonicalize("/etc/x/../config").as_deref(),
            Some("/etc/config")
        );
        assert_eq!(canonicalize("/../etc").as_deref(), Some("/etc"));
        assert_eq!(canonicalize("/").as_deref(), Some("/"));
        assert_eq!(canonicalize("").as_deref(), None);
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("rootfs-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("etc")).unwrap();
        fs::write(dir.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", dir.join("etc/up")).unwrap();
        let root = Root::new(dir.clone());
        assert_eq!(root.resolve("/abs", true).unwrap(), dir.join("etc/passwd"));
        assert_eq!(root.resolve("/abs", false).unwrap(), dir.join("abs"));
        assert_eq!(
            root.resolve("/etc/up/passwd", true).unwrap(),
            dir.join("etc/passwd")
        );
        assert_eq!(
            root.resolve("/../../etc/passwd", true).unwrap(),
            dir.join("etc/passwd")
        );
        std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
        assert!(root.resolve("/loop", true).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
