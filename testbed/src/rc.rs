//! Stand-in for rpcd's `rc` object (rpcd 4476687, rc.c) over ROOT/etc/init.d.
//!
//! `list` reads the first lines of each script for START=, STOP= and USE_PROCD= (base 0 numbers,
//! as strtoul reads them), reports `enabled` when ROOT/etc/rc.d/S<NN><name> is executable, and
//! for procd scripts runs `<script> running` (3 s, as rpcd) for `running`. `init` runs
//! `<script> <action>` and answers when it exits. Scripts run with the testbed environment (see
//! `Ctx::script_env`) so they find the root; the helper they source is `HELPER`, written to
//! ROOT/var/run/testbed/rc.common at start-up.
//!
//! rpcd only trusts scripts owned by root:root; the testbed also accepts the stand-in's own
//! user and group, so a root copied by a non-root test run still lists.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::blob::{Args, Ty, V};
use crate::ctx::Shared;
use crate::provider::{
    log, Object, Reply, INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, UNKNOWN_ERROR,
};
use crate::util;

/// The rc.common stand-in testbed init scripts source (`. "$TESTBED_RC_COMMON"`).
pub const HELPER: &str = include_str!("../files/rc.common");

const RUNNING_TIMEOUT: Duration = Duration::from_secs(3);
/// rpcd waits for `rc init` indefinitely; the testbed gives up after a minute so a hung script
/// cannot wedge the object.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
const ACTIONS: [&str; 6] = ["disable", "enable", "stop", "start", "restart", "reload"];

pub fn object(ctx: Shared) -> Object {
    let (c1, c2) = (ctx.clone(), ctx);
    Object::new("rc")
        .method(
            "list",
            &[("name", Ty::String), ("skip_running_check", Ty::Bool)],
            move |a| list(&c1, a),
        )
        .method(
            "init",
            &[("name", Ty::String), ("action", Ty::String)],
            move |a| init(&c2, a),
        )
}

/// rpcd's `rc_check_script`: the script must exist, be executable by its owner, not be
/// world-writable, and belong to root (or, here, to whoever runs the testbed).
fn check_script(path: &Path) -> i32 {
    let Ok(meta) = fs::metadata(path) else {
        return NOT_FOUND;
    };
    // SAFETY: geteuid/getegid have no preconditions and cannot fail.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let mode = meta.permissions().mode();
    let owner_ok = meta.uid() == 0 || meta.uid() == euid;
    let group_ok = meta.gid() == 0 || meta.gid() == egid;
    if !owner_ok || !group_ok || mode & 0o100 == 0 || mode & 0o002 != 0 {
        return PERMISSION_DENIED;
    }
    0
}

/// `strtoul(s, NULL, 0)` truncated to int, as rpcd stores START/STOP.
fn strtoul0(s: &[u8]) -> i32 {
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || (b'\t'..=b'\r').contains(&s[i])) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let (radix, start) = if s[i..].starts_with(b"0x") || s[i..].starts_with(b"0X") {
        (16, i + 2)
    } else if s.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut n: u64 = 0;
    for &c in &s[start..] {
        let Some(d) = (c as char).to_digit(radix) else {
            break;
        };
        n = n.wrapping_mul(u64::from(radix)).wrapping_add(u64::from(d));
    }
    if negative {
        n = n.wrapping_neg();
    }
    n as i32
}

struct Header {
    start: i32,
    stop: i32,
    use_procd: bool,
}

/// Scans like rpcd: `fgets` into a 255-byte buffer, looking at line beginnings only, at most
/// 11 of them, and only while something is still missing.
fn scan_header(data: &[u8], skip_running_check: bool) -> Header {
    let mut h = Header {
        start: -1,
        stop: -1,
        use_procd: false,
    };
    let mut pos = 0;
    let mut count = 0;
    let mut beginning = true;
    while (h.start < 0 || h.stop < 0 || (!skip_running_check && !h.use_procd))
        && count <= 10
        && pos < data.len()
    {
        let end = data[pos..]
            .iter()
            .take(254)
            .position(|&c| c == b'\n')
            .map(|n| pos + n + 1)
            .unwrap_or((pos + 254).min(data.len()));
        let line = &data[pos..end];
        pos = end;
        if beginning {
            if let Some(v) = line.strip_prefix(b"START=") {
                h.start = strtoul0(v);
            } else if let Some(v) = line.strip_prefix(b"STOP=") {
                h.stop = strtoul0(v);
            } else if let (false, Some(v)) = (skip_running_check, line.strip_prefix(b"USE_PROCD="))
            {
                h.use_procd = strtoul0(v) != 0;
            }
            count += 1;
        }
        beginning = line.contains(&b'\n');
    }
    h
}

fn list(ctx: &Shared, a: &Args) -> Reply {
    let skip = a.bool("skip_running_check").unwrap_or(false);
    let wanted = a.str("name");
    let dir = ctx.root.join("/etc/init.d");
    let Ok(entries) = fs::read_dir(&dir) else {
        return Reply::status(UNKNOWN_ERROR);
    };
    let mut out = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if wanted.is_some_and(|w| w != name) {
            continue;
        }
        let Ok(path) = ctx.root.resolve(&format!("/etc/init.d/{name}"), true) else {
            continue;
        };
        if check_script(&path) != 0 {
            continue;
        }
        let header = scan_header(&fs::read(&path).unwrap_or_default(), skip);
        let mut enabled = false;
        if header.start >= 0 {
            let link = format!("/etc/rc.d/S{:02}{name}", header.start);
            enabled = ctx
                .root
                .resolve(&link, true)
                .ok()
                .and_then(|p| fs::metadata(p).ok())
                .is_some_and(|m| m.permissions().mode() & 0o100 != 0);
        }
        let mut fields = Vec::new();
        if header.start >= 0 {
            fields.push(("start".to_string(), V::I16(header.start as i16)));
        }
        if header.stop >= 0 {
            fields.push(("stop".to_string(), V::I16(header.stop as i16)));
        }
        fields.push(("enabled".to_string(), V::Bool(enabled)));
        if !skip && header.use_procd {
            let mut cmd = Command::new(&path);
            cmd.arg("running");
            ctx.script_env(&mut cmd);
            match util::run_quiet(cmd, RUNNING_TIMEOUT) {
                // rpcd drops a script whose `running` does not answer in time.
                Ok((_, true)) => {
                    log(&format!("timeout waiting for /etc/init.d/{name} running"));
                    continue;
                }
                Ok((status, false)) => {
                    let running = status.is_some_and(|s| s.success());
                    fields.push(("running".to_string(), V::Bool(running)));
                }
                Err(e) => {
                    log(&format!("/etc/init.d/{name} running: {e}"));
                    continue;
                }
            }
        }
        out.push((name, V::Table(fields)));
        if wanted.is_some() {
            break;
        }
    }
    Reply::data(out)
}

fn init(ctx: &Shared, a: &Args) -> Reply {
    let (Some(name), Some(action)) = (a.str("name"), a.str("action")) else {
        return Reply::status(INVALID_ARGUMENT);
    };
    if name.contains("..") || name.contains('/') {
        return Reply::status(INVALID_ARGUMENT);
    }
    let path = match ctx.root.resolve(&format!("/etc/init.d/{name}"), true) {
        Ok(p) => p,
        Err(_) => return Reply::status(NOT_FOUND),
    };
    let check = check_script(&path);
    if check != 0 {
        return Reply::status(check);
    }
    if !ACTIONS.contains(&action) {
        return Reply::status(INVALID_ARGUMENT);
    }
    let mut cmd = Command::new(&path);
    cmd.arg(action);
    ctx.script_env(&mut cmd);
    match util::run_quiet(cmd, INIT_TIMEOUT) {
        Ok((_, true)) => log(&format!(
            "/etc/init.d/{name} {action}: killed after {INIT_TIMEOUT:?}"
        )),
        Ok(_) => {}
        Err(e) => {
            log(&format!("/etc/init.d/{name} {action}: {e}"));
            return Reply::status(UNKNOWN_ERROR);
        }
    }
    Reply::ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_like_rpcd() {
        let h = scan_header(b"#!/bin/sh\nSTART=94\nSTOP=15\nUSE_PROCD=1\n", false);
        assert_eq!((h.start, h.stop, h.use_procd), (94, 15, true));
        let h = scan_header(b"#!/bin/sh\nSTART=019\n", false);
        assert_eq!(h.start, 1, "019 is octal: 01, and 9 ends the number");
        let late = format!("{}START=50\n", "#\n".repeat(11));
        assert_eq!(scan_header(late.as_bytes(), false).start, -1);
    }

    #[test]
    fn strtoul_base0() {
        assert_eq!(strtoul0(b"0x10"), 16);
        assert_eq!(strtoul0(b"010"), 8);
        assert_eq!(strtoul0(b"99\n"), 99);
        assert_eq!(strtoul0(b"-1"), -1);
    }
}
