//! Stand-in for rpcd's `file` object (rpcd 4476687, file.c), with router paths mapped under ROOT.
//!
//! Paths are canonicalised as rpcd does (the reply's `path` is that string) and then resolved
//! inside ROOT (see `rootfs`), so `/etc/config/firewall` is ROOT/etc/config/firewall and no path
//! or symlink leads out. `exec` runs only executables found under ROOT (a path, or a name looked
//! up in the router's PATH /usr/sbin:/usr/bin:/sbin:/bin under ROOT), with the testbed
//! environment. Limits as in rpcd: reads of 256 KiB or more and exec output past 256 KiB answer
//! NOT_SUPPORTED (8); exec is killed after 120 s (TIMEOUT, 7).

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::blob::{Args, Fields, Ty, V};
use crate::ctx::{bind, Shared};
use crate::provider::{
    Object, Reply, INVALID_ARGUMENT, NOT_FOUND, NOT_SUPPORTED, NO_DATA, PERMISSION_DENIED, TIMEOUT,
    UNKNOWN_ERROR,
};
use crate::rootfs::{self, canonicalize, Root};
use crate::uci::valid_session;
use crate::util;

/// RPC_FILE_MAX_SIZE: larger files are refused, command output is capped.
const MAX_SIZE: u64 = 4096 * 64;
/// RPC_FILE_MIN_SIZE: what rpcd reads from files that report size 0 (sysfs, procfs).
const MIN_SIZE: u64 = 4096;
const EXEC_TIMEOUT: Duration = Duration::from_secs(120);
const ROUTER_PATH: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

pub fn object(ctx: Shared) -> Object {
    use Ty::*;
    let s = "ubus_rpc_session";
    Object::new("file")
        .method(
            "read",
            &[("path", String), ("base64", Bool), (s, String)],
            bind(&ctx, read),
        )
        .method(
            "write",
            &[
                ("path", String),
                ("data", String),
                ("append", Bool),
                ("mode", Int32),
                ("base64", Bool),
                (s, String),
            ],
            bind(&ctx, write),
        )
        .method("list", &[("path", String), (s, String)], bind(&ctx, list))
        .method(
            "lstat",
            &[("path", String), (s, String)],
            bind(&ctx, |c, a| stat(c, a, false)),
        )
        .method(
            "stat",
            &[("path", String), (s, String)],
            bind(&ctx, |c, a| stat(c, a, true)),
        )
        .method("md5", &[("path", String), (s, String)], bind(&ctx, md5))
        .method(
            "remove",
            &[("path", String), (s, String)],
            bind(&ctx, remove),
        )
        .method(
            "exec",
            &[
                ("command", String),
                ("params", Array),
                ("env", Table),
                (s, String),
            ],
            bind(&ctx, exec),
        )
}

/// rpcd's `rpc_errno_status`.
fn errno_status(e: &io::Error) -> i32 {
    match e.raw_os_error() {
        Some(libc::EACCES) => PERMISSION_DENIED,
        Some(libc::ENOTDIR) | Some(libc::EINVAL) => INVALID_ARGUMENT,
        Some(libc::ENOENT) => NOT_FOUND,
        _ => match e.kind() {
            io::ErrorKind::NotFound => NOT_FOUND,
            io::ErrorKind::PermissionDenied => PERMISSION_DENIED,
            _ => UNKNOWN_ERROR,
        },
    }
}

/// rpcd's `rpc_check_path`: the canonical router path and its host path under ROOT.
fn check_path(ctx: &Shared, a: &Args, follow_last: bool) -> Result<(String, PathBuf), i32> {
    let Some(raw) = a.str("path") else {
        return Err(INVALID_ARGUMENT);
    };
    let Some(path) = canonicalize(raw) else {
        return Err(UNKNOWN_ERROR);
    };
    if a.str("ubus_rpc_session").is_some_and(|s| !valid_session(s)) {
        return Err(PERMISSION_DENIED);
    }
    let host = ctx
        .root
        .resolve(&path, follow_last)
        .map_err(|e| errno_status(&e))?;
    Ok((path, host))
}

fn read(ctx: &Shared, a: &Args) -> Reply {
    let (_, host) = match check_path(ctx, a, true) {
        Ok(p) => p,
        Err(st) => return Reply::status(st),
    };
    let meta = match fs::metadata(&host) {
        Ok(m) => m,
        Err(e) => return Reply::status(errno_status(&e)),
    };
    if meta.size() >= MAX_SIZE {
        return Reply::status(NOT_SUPPORTED);
    }
    let mut file = match File::open(&host) {
        Ok(f) => f,
        Err(e) => return Reply::status(errno_status(&e)),
    };
    let want = if meta.size() == 0 {
        MIN_SIZE
    } else {
        meta.size()
    } as usize;
    let mut buf = vec![0u8; want];
    // One read(2), like rpcd: a directory fails (EISDIR), an empty file reads 0; both NO_DATA.
    let n = match file.read(&mut buf) {
        Ok(n) if n > 0 => n,
        _ => return Reply::status(NO_DATA),
    };
    buf.truncate(n);
    let data = if a.bool("base64").unwrap_or(false) {
        V::str(util::base64_encode(&buf))
    } else {
        V::Bytes(buf)
    };
    Reply::data(vec![("data".into(), data)])
}

fn write(ctx: &Shared, a: &Args) -> Reply {
    let (_, host) = match check_path(ctx, a, true) {
        Ok(p) => p,
        Err(st) => return Reply::status(st),
    };
    let Some(data) = a.str("data") else {
        return Reply::status(INVALID_ARGUMENT);
    };
    let append = a.bool("append").unwrap_or(false);
    let mode = a.i32("mode").map(|m| m as u32).unwrap_or(0o666);
    let existed = fs::symlink_metadata(&host).is_ok();
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).mode(mode);
    if append {
        opts.append(true);
    } else {
        opts.truncate(true);
    }
    let mut file = match opts.open(&host) {
        Ok(f) => f,
        Err(e) => return Reply::status(errno_status(&e)),
    };
    // rpcd clears its umask around open(2): a new file gets exactly `mode`.
    if !existed {
        let _ = file.set_permissions(fs::Permissions::from_mode(mode & 0o7777));
    }
    let bytes = if a.bool("base64").unwrap_or(false) {
        match util::base64_decode(data) {
            Some(b) => b,
            None => return Reply::status(UNKNOWN_ERROR),
        }
    } else {
        data.as_bytes().to_vec()
    };
    if let Err(e) = file.write_all(&bytes).and_then(|()| file.sync_all()) {
        return Reply::status(errno_status(&e));
    }
    Reply::ok()
}

fn type_name(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        "file"
    } else if t.is_dir() {
        "directory"
    } else if t.is_char_device() {
        "char"
    } else if t.is_block_device() {
        "block"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_symlink() {
        "symlink"
    } else if t.is_socket() {
        "socket"
    } else {
        "unknown"
    }
}

/// rpcd's `_rpc_file_add_stat`, with rpcd's blobmsg widths (size INT64, the rest INT32).
fn stat_fields(root: &Root, meta: &Metadata) -> Fields {
    let mut f: Fields = vec![
        ("type".into(), V::str(type_name(meta))),
        ("size".into(), V::I64(meta.size() as i64)),
        ("mode".into(), V::I32(meta.mode() as i32)),
        ("atime".into(), V::I32(meta.atime() as i32)),
        ("mtime".into(), V::I32(meta.mtime() as i32)),
        ("ctime".into(), V::I32(meta.ctime() as i32)),
        ("inode".into(), V::I32(meta.ino() as i32)),
        ("uid".into(), V::I32(meta.uid() as i32)),
        ("gid".into(), V::I32(meta.gid() as i32)),
    ];
    if let Some(user) = rootfs::user_name(root, meta.uid()) {
        f.push(("user".into(), V::str(user)));
    }
    if let Some(group) = rootfs::group_name(root, meta.gid()) {
        f.push(("group".into(), V::str(group)));
    }
    f
}

fn list(ctx: &Shared, a: &Args) -> Reply {
    let (path, host) = match check_path(ctx, a, true) {
        Ok(p) => p,
        Err(st) => return Reply::status(st),
    };
    let entries = match fs::read_dir(&host) {
        Ok(e) => e,
        Err(e) => return Reply::status(errno_status(&e)),
    };
    let mut out = Vec::new();
    // Directory order, as readdir(3) returns it (rpcd does not sort).
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let mut fields: Fields = vec![("name".into(), V::str(name.clone()))];
        fields.extend(stat_fields(&ctx.root, &meta));
        if meta.file_type().is_symlink() {
            let target_name = fs::read_link(entry.path())
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut target: Fields = vec![("name".into(), V::str(target_name))];
            let router_entry = format!("{}/{name}", path.trim_end_matches('/'));
            match ctx.root.resolve(&router_entry, true).and_then(fs::metadata) {
                Ok(tmeta) => target.extend(stat_fields(&ctx.root, &tmeta)),
                Err(_) => target.push(("type".into(), V::str("broken"))),
            }
            fields.push(("target".into(), V::Table(target)));
        }
        out.push(V::Table(fields));
    }
    Reply::data(vec![("entries".into(), V::Array(out))])
}

fn stat(ctx: &Shared, a: &Args, follow: bool) -> Reply {
    let (path, host) = match check_path(ctx, a, follow) {
        Ok(p) => p,
        Err(st) => return Reply::status(st),
    };
    let meta = if follow {
        fs::metadata(&host)
    } else {
        fs::symlink_metadata(&host)
    };
    match meta {
        Ok(m) => {
            let mut fields: Fields = vec![("path".into(), V::str(path))];
            fields.extend(stat_fields(&ctx.root, &m));
            Reply::data(fields)
        }
        Err(e) => Reply::status(errno_status(&e)),
    }
}

fn md5(ctx: &Shared, a: &Args) -> Reply {
    let (_, host) = match check_path(ctx, a, true) {
        Ok(p) => p,
        Err(st) => return Reply::status(st),
    };
    match fs::metadata(&host) {
        Ok(m) if !m.is_file() => return Reply::status(NOT_SUPPORTED),
        Ok(_) => {}
        Err(e) => return Reply::status(errno_status(&e)),
    }
    match fs::read(&host) {
        Ok(data) => Reply::data(vec![("md5".into(), V::str(util::hex(&util::md5(&data))))]),
        Err(e) => Reply::status(errno_status(&e)),
    }
}

fn remove_recursive(dir: &Path) -> i32 {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errno_status(&e),
    };
    for entry in entries.filter_map(Result::ok) {
        let p = entry.path();
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        let err = if meta.is_dir() {
            remove_recursive(&p)
        } else {
            fs::remove_file(&p).map_or_else(|e| errno_status(&e), |()| 0)
        };
        if err != 0 {
            return err;
        }
    }
    fs::remove_dir(dir).map_or_else(|e| errno_status(&e), |()| 0)
}

fn remove(ctx: &Shared, a: &Args) -> Reply {
    let (_, host) = match check_path(ctx, a, false) {
        Ok(p) => p,
        Err(st) => return Reply::status(st),
    };
    if host == ctx.root.dir {
        // Removing "/" would remove the whole testbed root; rpcd would try. Refuse.
        return Reply::status(PERMISSION_DENIED);
    }
    match fs::symlink_metadata(&host) {
        Ok(m) if m.is_dir() => Reply::status(remove_recursive(&host)),
        Ok(_) => Reply::status(fs::remove_file(&host).map_or_else(|e| errno_status(&e), |()| 0)),
        Err(e) => Reply::status(errno_status(&e)),
    }
}

/// rpcd's `rpc_file_exec_lookup`, under ROOT: the command itself when it is a regular file, else
/// the first regular `<dir>/<command>` on the router's PATH.
fn exec_lookup(root: &Root, cmd: &str) -> Option<(String, PathBuf)> {
    let regular = |router: &str| -> Option<(String, PathBuf)> {
        let canon = canonicalize(router)?;
        let host = root.resolve(&canon, true).ok()?;
        fs::metadata(&host)
            .ok()
            .filter(|m| m.is_file())
            .map(|_| (canon, host))
    };
    if let Some(found) = regular(cmd) {
        return Some(found);
    }
    ROUTER_PATH
        .iter()
        .find_map(|dir| regular(&format!("{dir}/{cmd}")))
}

fn exec(ctx: &Shared, a: &Args) -> Reply {
    let Some(command) = a.str("command") else {
        return Reply::status(INVALID_ARGUMENT);
    };
    let sid = a.str("ubus_rpc_session");
    let env = a.table("env");
    if sid.is_some() && env.is_some() {
        return Reply::status(PERMISSION_DENIED);
    }
    let Some((router_path, host)) = exec_lookup(&ctx.root, command) else {
        return Reply::status(NOT_FOUND);
    };
    if sid.is_some_and(|s| !valid_session(s)) {
        return Reply::status(PERMISSION_DENIED);
    }
    let params: Vec<&str> = a
        .array("params")
        .unwrap_or_default()
        .iter()
        .filter_map(V::as_str)
        .collect();
    if params.len() > 253 {
        return Reply::status(INVALID_ARGUMENT);
    }
    let mut cmd = Command::new(&host);
    cmd.arg0(&router_path).args(&params);
    ctx.script_env(&mut cmd);
    for (k, v) in env.map(Vec::as_slice).unwrap_or_default() {
        if let Some(v) = v.as_str() {
            cmd.env(k, v);
        }
    }
    let done = match util::run(cmd, EXEC_TIMEOUT, MAX_SIZE as usize) {
        Ok(d) => d,
        Err(e) => return Reply::status(errno_status(&e)),
    };
    if done.timed_out {
        return Reply::status(TIMEOUT);
    }
    if done.truncated {
        return Reply::status(NOT_SUPPORTED);
    }
    // WEXITSTATUS: a signal-killed child reports 0, as in rpcd.
    let code = done
        .status
        .map(|s| s.code().unwrap_or_else(|| (s.into_raw() >> 8) & 0xff))
        .unwrap_or(0);
    let mut fields: Fields = vec![("code".into(), V::I32(code))];
    if !done.stdout.is_empty() {
        fields.push(("stdout".into(), V::Bytes(done.stdout)));
    }
    if !done.stderr.is_empty() {
        fields.push(("stderr".into(), V::Bytes(done.stderr)));
    }
    Reply::data(fields)
}
