//! One apk v3 package from a directory, as `apk mkpkg --files DIR` makes it under OpenWrt's
//! build (apk-tools `src/app_mkpkg.c`, OpenWrt `include/package-pack.mk`).
//!
//! The ADB block holds the package info, every directory (the root one too) with its files'
//! names, permissions, sizes, mtimes and SHA-256 hashes, and the scripts; each non-empty file's
//! bytes follow in a DATA block headed by the 1-based indexes of its directory and file.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::adb::{self, Val, Writer, NULL};
use crate::schema::{self, info::Kind};
use crate::version::{valid_name, valid_version};
use crate::Error;

/// Length of the package id: the first 20 bytes of a SHA-256 over the ADB block, taken while
/// the id itself is still zeros ("sha256-160" in apk-tools).
pub const ID_LEN: usize = 20;

/// OpenWrt runs `apk mkpkg` under fakeroot: whoever builds, every path belongs to root.
const OWNER: &[u8] = b"root";

pub struct Spec {
    /// `--info NAME:VALUE`, in the order given.
    pub info: Vec<(String, String)>,
    /// `--script NAME:FILE`, contents already read.
    pub scripts: Vec<(String, Vec<u8>)>,
    pub files: PathBuf,
    /// Every file's mtime (apk takes SOURCE_DATE_EPOCH the same way); None keeps the files'.
    pub mtime: Option<u64>,
}

struct Dir {
    /// Relative to the package root, "" for the root itself.
    path: String,
    mode: u32,
    files: Vec<File>,
}

struct File {
    name: String,
    mode: u32,
    mtime: u64,
    data: Vec<u8>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io(format!("{}: {e}", path.display()))
}

/// Directories in apk's order: the root, then every other by its path's bytes.
fn scan(root: &Path, mtime: Option<u64>) -> Result<Vec<Dir>, Error> {
    let mut dirs = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        let path = root.join(&rel);
        let meta = fs::symlink_metadata(&path).map_err(io(&path))?;
        let mut entries: Vec<_> = fs::read_dir(&path)
            .map_err(io(&path))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io(&path))?;
        entries.sort();
        let mut files = Vec::new();
        for name in entries {
            let name = name.into_string().map_err(|n| {
                Error::Format(format!("{}: name {n:?} is not UTF-8", path.display()))
            })?;
            let child = path.join(&name);
            let m = fs::symlink_metadata(&child).map_err(io(&child))?;
            let sub = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if m.is_dir() {
                pending.push(sub);
            } else if m.is_file() {
                use std::os::unix::fs::MetadataExt;
                files.push(File {
                    mode: m.permissions().mode() & 0o7777,
                    mtime: mtime.unwrap_or(m.mtime().max(0) as u64),
                    data: fs::read(&child).map_err(io(&child))?,
                    name,
                });
            } else {
                // camguard ships neither links nor devices; say so rather than drop them.
                return Err(Error::Format(format!(
                    "{}: only files and directories are packed",
                    child.display()
                )));
            }
        }
        dirs.push(Dir {
            path: rel,
            mode: meta.permissions().mode() & 0o7777,
            files,
        });
    }
    dirs.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    Ok(dirs)
}

fn info_value(w: &mut Writer, field: &str, kind: Kind, value: &str) -> Result<Val, Error> {
    let bad = |why: &str| Error::Usage(format!("--info {field}:{value}: {why}"));
    Ok(match kind {
        Kind::Name if !valid_name(value) => return Err(bad("not a valid apk package name")),
        Kind::Version if !valid_version(value) => {
            return Err(bad(
                "not a valid apk version (OpenWrt's form is VERSION-rRELEASE)",
            ))
        }
        Kind::Name | Kind::Version | Kind::Text => w.blob(value.as_bytes()),
        Kind::Int => w.int(value.parse().map_err(|_| bad("not a number"))?),
        Kind::Dependencies => {
            // Each name is written, then its object; the array is sorted by name and
            // duplicates are dropped (apk's dependency array).
            let mut deps = Vec::new();
            for dep in value.split_whitespace() {
                if !valid_name(dep) {
                    return Err(bad(
                        "only plain package names are supported as dependencies",
                    ));
                }
                let name = w.blob(dep.as_bytes());
                deps.push((dep, w.object(&[name])));
            }
            deps.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            deps.dedup_by(|a, b| a.1 == b.1);
            w.object(&deps.iter().map(|d| d.1).collect::<Vec<_>>())
        }
    })
}

fn acl(w: &mut Writer, mode: u32) -> Val {
    let mode = w.int(mode as u64);
    let user = w.blob(OWNER);
    let group = w.blob(OWNER);
    w.object(&[mode, user, group])
}

/// The package file's bytes.
pub fn build(spec: &Spec) -> Result<Vec<u8>, Error> {
    let mut w = Writer::new();
    let mut info = vec![NULL; schema::info::COUNT];
    let mut given = vec![None; schema::info::COUNT];
    for (key, value) in &spec.info {
        let &(name, field, kind) = schema::info::FIELDS
            .iter()
            .find(|f| f.0 == key)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--info {key}: not a package info field apkpack writes"
                ))
            })?;
        given[field - 1] = Some((name, kind, value.as_str()));
    }
    for (field, name) in [
        (schema::info::NAME, "name"),
        (schema::info::VERSION, "version"),
    ] {
        if given[field - 1].is_none() {
            return Err(Error::Usage(format!("--info {name}: required")));
        }
    }
    // apk writes the info values in field order, whatever the order of the options.
    for (i, g) in given.iter().enumerate() {
        if let Some((name, kind, value)) = *g {
            info[i] = info_value(&mut w, name, kind, value)?;
        }
    }

    let dirs = scan(&spec.files, spec.mtime)?;
    let mut installed_size: u64 = 0;
    let mut paths = Vec::new();
    for dir in &dirs {
        let mut files = Vec::new();
        for f in &dir.files {
            // app_mkpkg.c's order: name, hash, mtime, size, then the permissions.
            let name = w.blob(f.name.as_bytes());
            let hash = w.blob(&Sha256::digest(&f.data));
            let mtime = w.int(f.mtime);
            let size = w.int(f.data.len() as u64);
            let acl = acl(&mut w, f.mode);
            let mut slots = [NULL; 5];
            slots[schema::file::NAME - 1] = name;
            slots[schema::file::ACL - 1] = acl;
            slots[schema::file::SIZE - 1] = size;
            slots[schema::file::MTIME - 1] = mtime;
            slots[schema::file::HASH - 1] = hash;
            files.push(w.object(&slots));
            installed_size += f.data.len() as u64;
        }
        let name = w.blob(dir.path.as_bytes());
        let acl = acl(&mut w, dir.mode);
        let files = w.object(&files);
        let mut slots = [NULL; 3];
        slots[schema::dir::NAME - 1] = name;
        slots[schema::dir::ACL - 1] = acl;
        slots[schema::dir::FILES - 1] = files;
        paths.push(w.object(&slots));
    }
    // An empty package still "installs" something: apk treats size 0 as a meta package.
    info[schema::info::INSTALLED_SIZE - 1] = w.int(installed_size.max(1));
    let (id, id_at) = w.placeholder(ID_LEN);
    info[schema::info::HASHES - 1] = id;
    let info = w.object(&info);
    let paths = w.object(&paths);

    let mut scripts = Vec::new();
    for (name, body) in &spec.scripts {
        if !schema::scripts::NAMES.contains(&name.as_str()) {
            return Err(Error::Usage(format!(
                "--script {name}: not a script apk runs"
            )));
        }
        scripts.push((name.as_str(), body));
    }
    let scripts = if scripts.is_empty() {
        NULL
    } else {
        let mut slots = Vec::new();
        for name in schema::scripts::NAMES {
            let body = scripts
                .iter()
                .rev()
                .find(|s| s.0 == name)
                .map_or(&[][..], |s| &s.1[..]);
            slots.push(w.blob(body));
        }
        w.object(&slots)
    };
    let root = w.object(&[info, paths, scripts]);
    let digest = Sha256::digest(w.finish(root));
    w.patch(id_at, &digest[..ID_LEN]);
    let block = w.finish(root).to_vec();

    let mut stream = adb::file_header(adb::SCHEMA_PACKAGE);
    adb::push_block(&mut stream, adb::BLOCK_ADB, &[&block])?;
    for (i, dir) in dirs.iter().enumerate() {
        for (j, f) in dir.files.iter().enumerate() {
            if f.data.is_empty() {
                continue;
            }
            let mut head = ((i + 1) as u32).to_le_bytes().to_vec();
            head.extend_from_slice(&((j + 1) as u32).to_le_bytes());
            adb::push_block(&mut stream, adb::BLOCK_DATA, &[&head, &f.data])?;
        }
    }
    Ok(adb::compress(&stream))
}

/// What `mkndx` needs of a package: its ADB block and its info object in it.
pub struct Read {
    pub block: Vec<u8>,
    pub info: Val,
}

pub fn read(file: &[u8]) -> Result<Read, Error> {
    let stream = adb::decompress(file)?;
    let (schema, blocks) = adb::parse(&stream)?;
    if schema != adb::SCHEMA_PACKAGE {
        return Err(Error::Format(format!(
            "schema {schema:#010x} is not a package's"
        )));
    }
    let first = blocks.first().filter(|b| b.kind == adb::BLOCK_ADB);
    let block = first
        .ok_or_else(|| Error::Format("no ADB block first".into()))?
        .payload
        .to_vec();
    let info = {
        let r = adb::Reader::new(&block)?;
        r.field(r.root(), schema::package::INFO)?
    };
    Ok(Read { block, info })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adb::Reader;

    fn tree() -> tempdir::Dir {
        let d = tempdir::Dir::new();
        d.file("etc/config/x", b"hello\n", 0o600);
        d.file("usr/sbin/x", b"#!/bin/sh\necho hi\n", 0o755);
        d.file("usr/sbin/empty", b"", 0o644);
        d
    }

    fn spec(dir: &Path, info: &[(&str, &str)]) -> Spec {
        Spec {
            info: info
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            scripts: vec![("post-install".into(), b"#!/bin/sh\necho post\n".to_vec())],
            files: dir.to_path_buf(),
            mtime: Some(1_700_000_000),
        }
    }

    const INFO: &[(&str, &str)] = &[
        ("name", "x"),
        ("version", "0.1.0-r1"),
        ("arch", "x86_64"),
        ("depends", "ubusd libc ubusd"),
    ];

    #[test]
    fn every_directory_file_mode_hash_and_data_block_reads_back() {
        let t = tree();
        let file = build(&spec(&t.path, INFO)).unwrap();
        let stream = adb::decompress(&file).unwrap();
        let (schema, blocks) = adb::parse(&stream).unwrap();
        assert_eq!(schema, adb::SCHEMA_PACKAGE);
        let r = Reader::new(blocks[0].payload).unwrap();
        let paths = r
            .fields(r.field(r.root(), schema::package::PATHS).unwrap())
            .unwrap();
        let names: Vec<_> = paths
            .iter()
            .map(|&p| r.blob(r.field(p, 1).unwrap()).unwrap())
            .collect();
        assert_eq!(
            names,
            [&b""[..], b"etc", b"etc/config", b"usr", b"usr/sbin"]
        );
        let sbin = r
            .fields(r.field(paths[4], schema::dir::FILES).unwrap())
            .unwrap();
        let empty = sbin[0];
        assert_eq!(
            r.blob(r.field(empty, schema::file::NAME).unwrap()).unwrap(),
            b"empty"
        );
        assert_eq!(
            r.blob(r.field(empty, schema::file::HASH).unwrap()).unwrap(),
            &Sha256::digest(b"")[..]
        );
        let x = sbin[1];
        let acl = r.field(x, schema::file::ACL).unwrap();
        assert_eq!(
            r.int(r.field(acl, schema::acl::MODE).unwrap()).unwrap(),
            0o755
        );
        assert_eq!(
            r.blob(r.field(acl, schema::acl::USER).unwrap()).unwrap(),
            b"root"
        );
        assert_eq!(
            r.int(r.field(x, schema::file::MTIME).unwrap()).unwrap(),
            1_700_000_000
        );
        // Data blocks: only non-empty files, addressed by 1-based directory and file index.
        let data: Vec<_> = blocks[1..]
            .iter()
            .map(|b| (b.kind, &b.payload[..8], &b.payload[8..]))
            .collect();
        assert_eq!(
            data,
            vec![
                (
                    adb::BLOCK_DATA,
                    &[3, 0, 0, 0, 1, 0, 0, 0][..],
                    &b"hello\n"[..]
                ),
                (
                    adb::BLOCK_DATA,
                    &[5, 0, 0, 0, 2, 0, 0, 0][..],
                    &b"#!/bin/sh\necho hi\n"[..]
                ),
            ]
        );
    }

    #[test]
    fn info_fields_dependencies_sorted_once_and_installed_size() {
        let t = tree();
        let file = build(&spec(&t.path, INFO)).unwrap();
        let p = read(&file).unwrap();
        let r = Reader::new(&p.block).unwrap();
        let field = |n| r.field(p.info, n).unwrap();
        assert_eq!(r.blob(field(schema::info::VERSION)).unwrap(), b"0.1.0-r1");
        let deps: Vec<_> = r
            .fields(field(schema::info::DEPENDS))
            .unwrap()
            .iter()
            .map(|&d| {
                r.blob(r.field(d, schema::dependency::NAME).unwrap())
                    .unwrap()
            })
            .collect();
        assert_eq!(deps, [&b"libc"[..], b"ubusd"]);
        assert_eq!(r.int(field(schema::info::INSTALLED_SIZE)).unwrap(), 6 + 18);
        let scripts = r.field(r.root(), schema::package::SCRIPTS).unwrap();
        assert_eq!(
            r.blob(r.field(scripts, 3).unwrap()).unwrap(),
            b"#!/bin/sh\necho post\n"
        );
        assert_eq!(r.field(scripts, 1).unwrap(), NULL);
    }

    #[test]
    fn package_id_is_sha256_of_the_block_with_the_id_zeroed() {
        let t = tree();
        let p = read(&build(&spec(&t.path, INFO)).unwrap()).unwrap();
        let r = Reader::new(&p.block).unwrap();
        let id = r
            .blob(r.field(p.info, schema::info::HASHES).unwrap())
            .unwrap();
        assert_eq!(id.len(), ID_LEN);
        let at = id.as_ptr() as usize - p.block.as_ptr() as usize;
        let mut zeroed = p.block.clone();
        zeroed[at..at + ID_LEN].fill(0);
        assert_eq!(id, &Sha256::digest(&zeroed)[..ID_LEN]);
    }

    #[test]
    fn same_tree_and_epoch_give_the_same_bytes() {
        let t = tree();
        assert_eq!(
            build(&spec(&t.path, INFO)).unwrap(),
            build(&spec(&t.path, INFO)).unwrap()
        );
    }

    #[test]
    fn ipk_style_version_and_unknown_fields_are_refused() {
        let t = tree();
        let err = build(&spec(&t.path, &[("name", "x"), ("version", "0.1.0-1")])).unwrap_err();
        assert!(err.to_string().contains("VERSION-rRELEASE"), "{err}");
        assert!(build(&spec(
            &t.path,
            &[("name", "x"), ("version", "1-r1"), ("installed-size", "3")]
        ))
        .is_err());
        assert!(build(&spec(&t.path, &[("name", "x")])).is_err());
    }

    /// A throwaway directory tree for the tests.
    mod tempdir {
        use std::os::unix::fs::PermissionsExt;
        use std::path::PathBuf;

        pub struct Dir {
            pub path: PathBuf,
        }

        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "apkpack-test-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&path).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
                Dir { path }
            }

            pub fn file(&self, rel: &str, data: &[u8], mode: u32) {
                let p = self.path.join(rel);
                let mut d = p.parent().unwrap().to_path_buf();
                std::fs::create_dir_all(&d).unwrap();
                while d != self.path {
                    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
                    d = d.parent().unwrap().to_path_buf();
                }
                std::fs::write(&p, data).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.path);
            }
        }
    }
}
