//! Stand-in for rpcd's `uci` object (rpcd 4476687, uci.c), backed by the real `uci` CLI.
//!
//! Every read goes through `uci export` and every change through `uci set/add/add_list/delete/
//! rename/reorder/commit/revert`, so libuci itself parses the files, names anonymous sections
//! (`cfg0b3837`), records deltas and merges them on load. What rpcd adds on top is reproduced
//! here: argument policies, name validation, the order in which errors win, `.index`, the
//! `changes` tuples, session save directories and apply/confirm/rollback.
//!
//! Save directories, as rpcd chooses them: a call without `ubus_rpc_session` uses ROOT/tmp/.uci
//! (the directory the `uci` CLI on the router shares); a call with one uses
//! ROOT/var/run/rpcd/uci-<sid>. `state` adds ROOT/var/state.
//!
//! Two places where rpcd's return codes are surprising and kept: `get` of a section or option
//! that does not exist answers 0 with no data, and so does `rename` of one (rpcd sets NOT_FOUND
//! and then `uci_unload` clears it before it is returned).
//!
//! Sessions are not checked against ACLs (there is no `session` object here): any 32-hex-digit
//! id is a logged-in session with every grant; any other string is an unknown session (6).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::blob::{Args, Fields, Ty, V};
use crate::ctx::{ApplyState, Ctx, Shared};
use crate::provider::{
    log, Object, Reply, INVALID_ARGUMENT, NOT_FOUND, NO_DATA, PERMISSION_DENIED, UNKNOWN_ERROR,
};
use crate::util;

const SESSION_PREFIX: &str = "/var/run/rpcd/uci-";
const SNAPSHOT_FILES: &str = "/var/run/rpcd/snapshot-files";
const SNAPSHOT_DELTA: &str = "/var/run/rpcd/snapshot-delta";
const CONFIG_DIR: &str = "/etc/config";
const APPLY_TIMEOUT: u32 = 60;
/// Where libuci always looks for deltas, whatever `-t` says. Files there would leak the host's
/// staged changes into the testbed, so their presence is reported instead of merged silently.
const HOST_SAVEDIR: &str = "/tmp/.uci";

pub fn object(ctx: Shared) -> Object {
    use Ty::*;
    let s = "ubus_rpc_session";
    let get_policy: &[(&str, Ty)] = &[
        ("config", String),
        ("section", String),
        ("option", String),
        ("type", String),
        ("match", Table),
        (s, String),
    ];
    // Every method runs under the uci lock: rpcd is single-threaded, and the rollback timer must
    // not restore files in the middle of a call.
    let m = |name: &'static str,
             policy: &[(&'static str, Ty)],
             f: fn(&Shared, &mut ApplyState, &Args) -> Reply| {
        let c = ctx.clone();
        (name, policy.to_vec(), move |a: &Args| {
            let mut state = lock(&c);
            f(&c, &mut state, a)
        })
    };
    let methods = vec![
        m("configs", &[], |c, _, _| Uci(c).configs()),
        m("get", get_policy, |c, _, a| Uci(c).get(a, false)),
        m("state", get_policy, |c, _, a| Uci(c).get(a, true)),
        m(
            "add",
            &[
                ("config", String),
                ("type", String),
                ("name", String),
                ("values", Table),
                (s, String),
            ],
            |c, _, a| Uci(c).add(a),
        ),
        m(
            "set",
            &[
                ("config", String),
                ("section", String),
                ("type", String),
                ("match", Table),
                ("values", Table),
                (s, String),
            ],
            |c, _, a| Uci(c).set(a),
        ),
        m(
            "delete",
            &[
                ("config", String),
                ("section", String),
                ("type", String),
                ("match", Table),
                ("option", String),
                ("options", Array),
                (s, String),
            ],
            |c, _, a| Uci(c).delete(a),
        ),
        m(
            "rename",
            &[
                ("config", String),
                ("section", String),
                ("option", String),
                ("name", String),
                (s, String),
            ],
            |c, _, a| Uci(c).rename(a),
        ),
        m(
            "order",
            &[("config", String), ("sections", Array), (s, String)],
            |c, _, a| Uci(c).order(a),
        ),
        m("changes", &[("config", String), (s, String)], |c, _, a| {
            Uci(c).changes(a)
        }),
        m("revert", &[("config", String), (s, String)], |c, st, a| {
            Uci(c).revert_commit(st, a, false)
        }),
        m("commit", &[("config", String), (s, String)], |c, st, a| {
            Uci(c).revert_commit(st, a, true)
        }),
        m(
            "apply",
            &[("rollback", Bool), ("timeout", Int32), (s, String)],
            apply,
        ),
        m("confirm", &[(s, String)], confirm),
        m("rollback", &[(s, String)], rollback),
        m("reload_config", &[], |c, _, _| reload_config(c)),
    ];
    let mut obj = Object::new("uci");
    for (name, policy, handler) in methods {
        obj = obj.method(name, &policy, handler);
    }
    obj
}

// ---------------------------------------------------------------------------------------------
// Names, sessions, values

/// rpcd's `rpc_uci_verify_str`: `[A-Za-z0-9_]`, types also `-`; with `extended`, `@type[N]`.
fn verify_str(name: &str, extended: bool, is_type: bool) -> bool {
    let b = name.as_bytes();
    if b.is_empty() {
        return false;
    }
    let extended = extended && b[0] == b'@';
    let mut i = usize::from(extended);
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphanumeric() || c == b'_' || ((is_type || extended) && c == b'-')) {
            break;
        }
        i += 1;
    }
    if extended {
        if b.get(i) != Some(&b'[') {
            return false;
        }
        let rest = &name[i + 1..];
        let digits_end = strtol_end(rest);
        return digits_end > 0 && rest[digits_end..] == *"]";
    }
    i == b.len()
}

/// Length of the prefix `strtol(s, &e, 10)` consumes (0 when it parses nothing).
fn strtol_end(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] == b' ' || (b'\t'..=b'\r').contains(&b[i])) {
        i += 1;
    }
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        0
    } else {
        i
    }
}

fn verify_name(name: &str) -> bool {
    verify_str(name, false, false)
}

fn verify_type(name: &str) -> bool {
    verify_str(name, false, true)
}

fn verify_section(name: &str) -> bool {
    verify_str(name, true, false)
}

/// libuci's package names (`uci_validate_package`), minus a leading `-` that the CLI would read
/// as an option. rpcd itself passes any string to uci_load, absolute paths included; the testbed
/// refuses what is not a config name under ROOT/etc/config (answering NOT_FOUND, as rpcd does for
/// any file that is not there).
fn valid_package(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// libuci's `uci_validate_text`: no control characters but tab, CR and LF.
fn valid_text(value: &str) -> bool {
    value
        .bytes()
        .all(|c| c >= 32 || c == b'\t' || c == b'\n' || c == b'\r')
}

pub fn valid_session(sid: &str) -> bool {
    sid.len() == 32 && sid.bytes().all(|c| c.is_ascii_hexdigit())
}

/// rpcd's `rpc_uci_format_blob`: strings as they are, integers unsigned in decimal, booleans as
/// 0/1; anything else is not a uci value.
fn format_blob(v: &V) -> Option<String> {
    Some(match v {
        V::Str(s) => s.clone(),
        V::I64(n) => (*n as u64).to_string(),
        V::I32(n) => (*n as u32).to_string(),
        V::I16(n) => (*n as u16).to_string(),
        V::Bool(b) => u8::from(*b).to_string(),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The package model, read from `uci export`

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Opt {
    Str(String),
    List(Vec<String>),
}

#[derive(Clone, Debug)]
pub(crate) struct Section {
    pub name: String,
    pub stype: String,
    pub anonymous: bool,
    pub options: Vec<(String, Opt)>,
}

impl Section {
    pub fn opt(&self, name: &str) -> Option<&Opt> {
        self.options.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A string option's value (lists are not strings).
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.opt(name)? {
            Opt::Str(s) => Some(s),
            Opt::List(_) => None,
        }
    }

    /// An option's values: a list's items, or a string's words (as OpenWrt scripts split them).
    pub fn words(&self, name: &str) -> Vec<String> {
        match self.opt(name) {
            Some(Opt::List(items)) => items.clone(),
            Some(Opt::Str(s)) => s.split_whitespace().map(str::to_string).collect(),
            None => Vec::new(),
        }
    }
}

/// A package as other daemons read it through libuci: with the changes staged in ROOT/tmp/.uci
/// (`staged`, libuci's default, as rpcd-mod-luci reads dhcp) or as committed (netifd).
pub(crate) fn read_package(ctx: &Shared, package: &str, staged: bool) -> Option<Package> {
    let uci = Uci(ctx);
    let dirs = if staged {
        uci.dirs(None).ok()?
    } else {
        Dirs {
            extra: Vec::new(),
            save: ctx.root.join("/var/run/testbed/no-staged-changes"),
        }
    };
    uci.load(package, &dirs).ok()
}

pub(crate) struct Package {
    pub sections: Vec<Section>,
}

impl Package {
    /// libuci's lookup: a plain name, or (when the name starts with `@` and `extended`)
    /// `@type[N]` / `@[N]` counting sections of that type, negative from the end.
    fn find(&self, name: &str, extended: bool) -> Option<usize> {
        if extended && name.starts_with('@') {
            return self.find_extended(name);
        }
        self.sections.iter().position(|s| s.name == name)
    }

    fn find_extended(&self, name: &str) -> Option<usize> {
        let inner = &name[1..];
        let open = inner.find('[')?;
        let (stype, rest) = (&inner[..open], &inner[open + 1..]);
        let close = rest.find(']')?;
        if close + 1 != rest.len() {
            return None;
        }
        let idx: i64 = rest[..close].trim_start().parse().ok()?;
        let stype = (!stype.is_empty()).then_some(stype);
        if let Some(t) = stype {
            if !verify_type(t) {
                return None;
            }
        }
        let matching: Vec<usize> = self
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| stype.is_none_or(|t| s.stype == t))
            .map(|(i, _)| i)
            .collect();
        let idx = if idx < 0 {
            idx + matching.len() as i64
        } else {
            idx
        };
        usize::try_from(idx)
            .ok()
            .and_then(|i| matching.get(i).copied())
    }
}

struct ExportSection {
    stype: String,
    name: Option<String>,
    options: Vec<(String, Opt)>,
}

/// Parses `uci export` output. Values are single-quoted with `'` written as `'\''`, and may span
/// lines.
fn parse_export(text: &str) -> Result<Vec<ExportSection>, String> {
    let mut sections: Vec<ExportSection> = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    let word = |i: &mut usize| -> String {
        let start = *i;
        while *i < b.len() && b[*i] != b' ' && b[*i] != b'\n' {
            *i += 1;
        }
        text[start..*i].to_string()
    };
    let quoted = |i: &mut usize| -> Result<String, String> {
        if b.get(*i) != Some(&b'\'') {
            return Err(format!("expected a quote at byte {i}"));
        }
        *i += 1;
        let mut out = Vec::new();
        loop {
            match b.get(*i) {
                None => return Err("unterminated quote".into()),
                Some(b'\'') => {
                    if b.get(*i + 1..*i + 4) == Some(b"\\''") {
                        out.push(b'\'');
                        *i += 4;
                    } else {
                        *i += 1;
                        break;
                    }
                }
                Some(&c) => {
                    out.push(c);
                    *i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| "value is not UTF-8".to_string())
    };
    while i < b.len() {
        if b[i] == b'\n' {
            i += 1;
            continue;
        }
        if text[i..].starts_with("package ") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if text[i..].starts_with("config ") {
            i += "config ".len();
            let stype = word(&mut i);
            let name = if b.get(i) == Some(&b' ') {
                i += 1;
                Some(quoted(&mut i)?)
            } else {
                None
            };
            sections.push(ExportSection {
                stype,
                name,
                options: Vec::new(),
            });
            continue;
        }
        if b[i] == b'\t' {
            i += 1;
            let kind = word(&mut i);
            if b.get(i) != Some(&b' ') {
                return Err(format!("malformed line at byte {i}"));
            }
            i += 1;
            let name = word(&mut i);
            i += 1;
            let value = quoted(&mut i)?;
            let section = sections
                .last_mut()
                .ok_or_else(|| "option before any section".to_string())?;
            match kind.as_str() {
                "option" => section.options.push((name, Opt::Str(value))),
                "list" => match section.options.iter_mut().find(|(k, _)| *k == name) {
                    Some((_, Opt::List(items))) => items.push(value),
                    _ => section.options.push((name, Opt::List(vec![value]))),
                },
                other => return Err(format!("unknown export keyword {other:?}")),
            }
            continue;
        }
        return Err(format!("unexpected export text at byte {i}"));
    }
    Ok(sections)
}

// ---------------------------------------------------------------------------------------------
// Deltas, for `changes`

/// One entry of libuci's saved delta, as rpcd's `rpc_uci_dump_change` prints it.
#[derive(Debug, PartialEq)]
struct Change {
    cmd: &'static str,
    section: String,
    option: Option<String>,
    value: Option<String>,
}

impl Change {
    fn to_v(&self) -> V {
        let mut items = vec![V::str(self.cmd), V::str(self.section.clone())];
        if let Some(o) = &self.option {
            items.push(V::str(o.clone()));
        }
        if let Some(v) = &self.value {
            if self.cmd == "order" {
                let n = v
                    .trim_start()
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .fold(0u32, |acc, d| {
                        acc.wrapping_mul(10).wrapping_add(u32::from(d - b'0'))
                    });
                items.push(V::I32(n as i32));
            } else {
                items.push(V::str(v.clone()));
            }
        }
        V::Array(items)
    }
}

/// Parses a delta file the way libuci's `uci_parse_delta` does: one argument per line (quotes,
/// backslashes and multi-line quoted values as in config files), lines that do not parse or name
/// another package are skipped.
fn parse_delta(text: &str, package: &str) -> Vec<Change> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // One line: skip leading blanks, read one argument, require the rest to be blank.
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        let mut arg = String::new();
        let mut ok = true;
        let mut ended_line = false;
        while i < chars.len() {
            match chars[i] {
                '\n' => {
                    ended_line = true;
                    i += 1;
                    break;
                }
                c if c.is_whitespace() => break,
                '#' => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                    break;
                }
                ';' => {
                    ok = false;
                    break;
                }
                '\'' => {
                    i += 1;
                    while i < chars.len() && chars[i] != '\'' {
                        arg.push(chars[i]);
                        i += 1;
                    }
                    if i >= chars.len() {
                        ok = false;
                    }
                    i += 1;
                }
                '"' => {
                    i += 1;
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                            if chars[i] != '\n' {
                                arg.push(chars[i]);
                            }
                        } else {
                            arg.push(chars[i]);
                        }
                        i += 1;
                    }
                    if i >= chars.len() {
                        ok = false;
                    }
                    i += 1;
                }
                '\\' => {
                    i += 1;
                    if i < chars.len() && chars[i] != '\n' {
                        arg.push(chars[i]);
                    }
                    i += 1;
                }
                c => {
                    arg.push(c);
                    i += 1;
                }
            }
        }
        if !ended_line {
            // Anything after the argument must be blank up to the end of the line.
            while i < chars.len() && chars[i] != '\n' {
                if !chars[i].is_whitespace() {
                    ok = false;
                }
                i += 1;
            }
            i += 1;
        }
        if ok && !arg.is_empty() {
            if let Some(change) = parse_delta_tuple(&arg, package) {
                out.push(change);
            }
        }
    }
    out
}

fn parse_delta_tuple(arg: &str, package: &str) -> Option<Change> {
    let (cmd, rest) = match arg.chars().next()? {
        '+' => ("add", &arg[1..]),
        '-' => ("remove", &arg[1..]),
        '@' => ("rename", &arg[1..]),
        '^' => ("order", &arg[1..]),
        '|' => ("list-add", &arg[1..]),
        '~' => ("list-del", &arg[1..]),
        _ => ("set", arg),
    };
    let (path, value) = match rest.split_once('=') {
        Some((p, v)) => (p, Some(v.to_string())),
        None => (rest, None),
    };
    let mut parts = path.split('.');
    let pkg = parts.next()?;
    let section = parts.next()?;
    let option = parts.next();
    if parts.next().is_some() || pkg != package || !valid_package(pkg) {
        return None;
    }
    if !verify_name(section) {
        return None;
    }
    if option.is_some_and(|o| !verify_name(o)) {
        return None;
    }
    if value.as_deref().is_some_and(|v| !valid_text(v)) {
        return None;
    }
    if cmd != "remove" && value.is_none() {
        return None;
    }
    match cmd {
        "order" if option.is_some() => return None,
        "rename" if !value.as_deref().is_some_and(verify_name) => return None,
        "list-add" | "list-del" if option.is_none() => return None,
        _ => {}
    }
    Some(Change {
        cmd,
        section: section.to_string(),
        option: option.map(str::to_string),
        value,
    })
}

// ---------------------------------------------------------------------------------------------
// The CLI

/// Delta directories for one call: `-p` paths merged before `save`, which is `-t` (where
/// changes are written). `-t` rather than `-P`: the CLI ignores `commit` under `-P`.
struct Dirs {
    extra: Vec<PathBuf>,
    save: PathBuf,
}

/// One planned CLI change, run only once the whole call has been validated (rpcd discards a
/// call's changes when any part fails, by not saving them).
#[derive(Debug)]
enum Op {
    Set(String),
    AddList(String),
    Delete(String),
    Rename(String),
    Reorder(String),
}

struct Uci<'a>(&'a Shared);

impl Uci<'_> {
    fn ctx(&self) -> &Ctx {
        self.0
    }

    fn config_dir(&self) -> PathBuf {
        self.ctx().root.join(CONFIG_DIR)
    }

    /// The save directory rpcd would use: ROOT/tmp/.uci without a session, the session's own
    /// directory with one. `Err(6)` for a string that is no session id.
    fn savedir(&self, sid: Option<&str>) -> Result<PathBuf, i32> {
        match sid {
            None => Ok(self.ctx().root.join("/tmp/.uci")),
            Some(s) if valid_session(s) => {
                Ok(self.ctx().root.join(&format!("{SESSION_PREFIX}{s}")))
            }
            Some(_) => Err(PERMISSION_DENIED),
        }
    }

    fn dirs(&self, sid: Option<&str>) -> Result<Dirs, i32> {
        let save = self.savedir(sid)?;
        if let Some(parent) = save.parent() {
            let _ = fs::create_dir_all(parent);
        }
        Ok(Dirs {
            extra: Vec::new(),
            save,
        })
    }

    fn cli(&self, dirs: &Dirs, flags: &[&str], args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.ctx().uci_bin);
        cmd.arg("-c").arg(self.config_dir());
        for p in &dirs.extra {
            cmd.arg("-p").arg(p);
        }
        cmd.arg("-t").arg(&dirs.save);
        cmd.args(flags).args(args);
        cmd.current_dir(&self.ctx().root.dir);
        let done = util::run(cmd, Duration::from_secs(20), 64 << 20)
            .map_err(|e| format!("cannot run {}: {e}", self.ctx().uci_bin.display()))?;
        let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&done.stderr).trim().to_string();
        match done.status {
            Some(s) if s.success() => Ok(stdout),
            _ if done.timed_out => Err(format!("uci {} timed out", args.join(" "))),
            _ => Err(if stderr.is_empty() {
                format!("uci {} failed", args.join(" "))
            } else {
                stderr
            }),
        }
    }

    /// Runs planned changes; a failure here means the CLI disagreed with the validation above,
    /// which is a testbed bug worth a loud UNKNOWN_ERROR rather than a silent half-change.
    fn run_ops(&self, dirs: &Dirs, ops: &[Op]) -> Result<(), i32> {
        for op in ops {
            let (verb, arg) = match op {
                Op::Set(a) => ("set", a),
                Op::AddList(a) => ("add_list", a),
                Op::Delete(a) => ("delete", a),
                Op::Rename(a) => ("rename", a),
                Op::Reorder(a) => ("reorder", a),
            };
            if let Err(e) = self.cli(dirs, &[], &[verb, arg]) {
                log(&format!("uci {verb} {arg:?}: {e}"));
                return Err(UNKNOWN_ERROR);
            }
        }
        Ok(())
    }

    fn host_leak(&self, package: &str) -> bool {
        let host = Path::new(HOST_SAVEDIR).join(package);
        if self.ctx().root.dir != Path::new("/") && host.exists() {
            log(&format!(
                "{} exists: the uci CLI always merges the host's {HOST_SAVEDIR} into what it \
                 reads and commits, so the testbed refuses to touch package {package}; remove \
                 that file",
                host.display()
            ));
            return true;
        }
        false
    }

    /// `uci_load` through the CLI. Err carries the ubus status rpcd would answer.
    fn load(&self, package: &str, dirs: &Dirs) -> Result<Package, i32> {
        if !valid_package(package) {
            return Err(NOT_FOUND);
        }
        // The CLI follows symlinks on the host, so a symlinked config (or config directory)
        // could read or commit outside ROOT: only plain files count.
        let plain = |p: &Path, dir: bool| {
            fs::symlink_metadata(p)
                .map(|m| if dir { m.is_dir() } else { m.is_file() })
                .unwrap_or(false)
        };
        let file = self.config_dir().join(package);
        if !plain(&self.config_dir(), true) || !plain(&file, false) {
            if fs::symlink_metadata(&file).is_ok() {
                log(&format!(
                    "{}: not a plain file under the root; treated as missing",
                    file.display()
                ));
            }
            return Err(NOT_FOUND);
        }
        if self.host_leak(package) {
            return Err(UNKNOWN_ERROR);
        }
        let named = self
            .cli(dirs, &["-n"], &["export", package])
            .map_err(cli_status)?;
        let bare = self
            .cli(dirs, &["-N"], &["export", package])
            .map_err(cli_status)?;
        let named = parse_export(&named).map_err(|e| export_error(package, &e))?;
        let bare = parse_export(&bare).map_err(|e| export_error(package, &e))?;
        if named.len() != bare.len() {
            return Err(export_error(
                package,
                "the two exports differ (a concurrent change?)",
            ));
        }
        let mut sections = Vec::with_capacity(named.len());
        for (n, b) in named.into_iter().zip(bare) {
            let name = n
                .name
                .ok_or_else(|| export_error(package, "an unnamed section under -n"))?;
            sections.push(Section {
                name,
                stype: n.stype,
                anonymous: b.name.is_none(),
                options: n.options,
            });
        }
        Ok(Package { sections })
    }

    fn configs_list(&self) -> Option<Vec<String>> {
        let entries = fs::read_dir(self.config_dir()).ok()?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.') && valid_package(n))
            .collect();
        names.sort();
        (!names.is_empty()).then_some(names)
    }

    // -----------------------------------------------------------------------------------------
    // Methods

    fn configs(&self) -> Reply {
        match self.configs_list() {
            Some(names) => Reply::data(vec![("configs".into(), V::strs(names))]),
            None => Reply::status(NOT_FOUND),
        }
    }

    fn get(&self, a: &Args, state: bool) -> Reply {
        let Some(config) = a.str("config") else {
            return Reply::status(INVALID_ARGUMENT);
        };
        let mut dirs = match self.dirs(a.str("ubus_rpc_session")) {
            Ok(d) => d,
            Err(st) => return Reply::status(st),
        };
        if state {
            let base = std::mem::replace(&mut dirs.save, self.ctx().root.join("/var/state"));
            dirs.extra.push(base);
        }
        let pkg = match self.load(config, &dirs) {
            Ok(p) => p,
            Err(st) => return Reply::status(st),
        };
        let Some(section) = a.str("section") else {
            let ty = a.str("type");
            let matches = a.table("match");
            let values = pkg
                .sections
                .iter()
                .enumerate()
                .filter(|(_, s)| match_section(s, ty, matches))
                .map(|(i, s)| (s.name.clone(), dump_section(s, Some(i))))
                .collect();
            return Reply::data(vec![("values".into(), V::Table(values))]);
        };
        // rpcd answers 0 without data when the section or option is not there.
        let Some(idx) = pkg.find(section, true) else {
            return Reply::ok();
        };
        let s = &pkg.sections[idx];
        match a.str("option") {
            None => Reply::data(vec![("values".into(), dump_section(s, None))]),
            Some(option) => match s.opt(option) {
                Some(o) => Reply::data(vec![("value".into(), dump_opt(o))]),
                None => Reply::ok(),
            },
        }
    }

    fn add(&self, a: &Args) -> Reply {
        let (Some(config), Some(stype)) = (a.str("config"), a.str("type")) else {
            return Reply::status(INVALID_ARGUMENT);
        };
        let dirs = match self.dirs(a.str("ubus_rpc_session")) {
            Ok(d) => d,
            Err(st) => return Reply::status(st),
        };
        if !verify_type(stype) {
            return Reply::status(INVALID_ARGUMENT);
        }
        let name = a.str("name");
        if name.is_some_and(|n| !verify_name(n)) {
            return Reply::status(INVALID_ARGUMENT);
        }
        if let Err(st) = self.load(config, &dirs) {
            return Reply::status(st);
        }
        // Validate every value first: rpcd saves nothing (not even the section) when one fails,
        // and the first failure is the one it answers.
        let mut err = 0;
        let mut values: Vec<(String, Vec<String>, bool)> = Vec::new();
        for (opt, v) in a.table("values").map(Vec::as_slice).unwrap_or_default() {
            if !verify_name(opt) {
                if err == 0 {
                    err = INVALID_ARGUMENT;
                }
                continue;
            }
            match v {
                V::Array(items) => {
                    let mut list = Vec::new();
                    for item in items {
                        match format_blob(item) {
                            Some(s) => list.push(s),
                            None if err == 0 => err = INVALID_ARGUMENT,
                            None => {}
                        }
                    }
                    values.push((opt.clone(), list, true));
                }
                other => match format_blob(other) {
                    Some(s) => values.push((opt.clone(), vec![s], false)),
                    None if err == 0 => err = INVALID_ARGUMENT,
                    None => {}
                },
            }
        }
        if err != 0 {
            return Reply::status(err);
        }
        let section = match name {
            Some(n) => {
                if let Err(e) = self.cli(&dirs, &[], &["set", &format!("{config}.{n}={stype}")]) {
                    log(&format!("uci set {config}.{n}={stype}: {e}"));
                    return Reply::ok();
                }
                n.to_string()
            }
            None => match self.cli(&dirs, &[], &["add", config, stype]) {
                Ok(out) => out.trim().to_string(),
                Err(e) => {
                    log(&format!("uci add {config} {stype}: {e}"));
                    return Reply::status(cli_status(e));
                }
            },
        };
        let mut ops = Vec::new();
        for (opt, items, is_list) in values {
            for item in items.into_iter().filter(|s| valid_text(s)) {
                let arg = format!("{config}.{section}.{opt}={item}");
                ops.push(if is_list {
                    Op::AddList(arg)
                } else {
                    Op::Set(arg)
                });
            }
        }
        if let Err(st) = self.run_ops(&dirs, &ops) {
            return Reply::status(st);
        }
        Reply::data(vec![("section".into(), V::str(section))])
    }

    fn set(&self, a: &Args) -> Reply {
        let (Some(config), Some(values)) = (a.str("config"), a.table("values")) else {
            return Reply::status(INVALID_ARGUMENT);
        };
        let section_arg = a.str("section");
        let (ty, matches) = (a.str("type"), a.table("match"));
        if section_arg.is_none() && ty.is_none() && matches.is_none() {
            return Reply::status(INVALID_ARGUMENT);
        }
        let dirs = match self.dirs(a.str("ubus_rpc_session")) {
            Ok(d) => d,
            Err(st) => return Reply::status(st),
        };
        if section_arg.is_some_and(|s| !verify_section(s)) {
            return Reply::status(INVALID_ARGUMENT);
        }
        let mut pkg = match self.load(config, &dirs) {
            Ok(p) => p,
            Err(st) => return Reply::status(st),
        };
        let targets: Vec<Option<usize>> = match section_arg {
            Some(s) => vec![pkg.find(s, true)],
            None => pkg
                .sections
                .iter()
                .enumerate()
                .filter(|(_, s)| match_section(s, ty, matches))
                .map(|(i, _)| Some(i))
                .collect(),
        };
        let mut err = 0;
        let mut found_any = false;
        let mut ops = Vec::new();
        for target in targets {
            for (opt, v) in values {
                let rv = merge_set(config, &mut pkg, target, opt, v, &mut ops, &mut found_any);
                if rv != 0 {
                    err = rv;
                }
            }
        }
        if err == 0 && !found_any {
            err = NOT_FOUND;
        }
        if err != 0 {
            return Reply::status(err);
        }
        match self.run_ops(&dirs, &ops) {
            Ok(()) => Reply::ok(),
            Err(st) => Reply::status(st),
        }
    }

    fn delete(&self, a: &Args) -> Reply {
        let Some(config) = a.str("config") else {
            return Reply::status(INVALID_ARGUMENT);
        };
        let section_arg = a.str("section");
        let (ty, matches) = (a.str("type"), a.table("match"));
        if section_arg.is_none() && ty.is_none() && matches.is_none() {
            return Reply::status(INVALID_ARGUMENT);
        }
        let dirs = match self.dirs(a.str("ubus_rpc_session")) {
            Ok(d) => d,
            Err(st) => return Reply::status(st),
        };
        if ty.is_some_and(|t| !verify_type(t)) || section_arg.is_some_and(|s| !verify_section(s)) {
            return Reply::status(INVALID_ARGUMENT);
        }
        let mut pkg = match self.load(config, &dirs) {
            Ok(p) => p,
            Err(st) => return Reply::status(st),
        };
        // `options` wins over `option`, as in rpcd.
        let which = match (a.raw("options", Ty::Array), a.raw("option", Ty::String)) {
            (Some(v), _) | (None, Some(v)) => Some(v.clone()),
            (None, None) => None,
        };
        let mut ops = Vec::new();
        let mut err = 0;
        match section_arg {
            Some(s) => {
                let target = pkg.find(s, true);
                err = merge_delete(config, &mut pkg, target, which.as_ref(), &mut ops);
            }
            None => {
                let names: Vec<String> = pkg
                    .sections
                    .iter()
                    .filter(|s| match_section(s, ty, matches))
                    .map(|s| s.name.clone())
                    .collect();
                for name in &names {
                    let target = pkg.find(name, false);
                    err = merge_delete(config, &mut pkg, target, which.as_ref(), &mut ops);
                }
                if err == 0 && names.is_empty() {
                    err = NOT_FOUND;
                }
            }
        }
        if err != 0 {
            return Reply::status(err);
        }
        match self.run_ops(&dirs, &ops) {
            Ok(()) => Reply::ok(),
            Err(st) => Reply::status(st),
        }
    }

    fn rename(&self, a: &Args) -> Reply {
        let (Some(config), Some(section), Some(name)) =
            (a.str("config"), a.str("section"), a.str("name"))
        else {
            return Reply::status(INVALID_ARGUMENT);
        };
        let dirs = match self.dirs(a.str("ubus_rpc_session")) {
            Ok(d) => d,
            Err(st) => return Reply::status(st),
        };
        if !verify_name(name) {
            return Reply::status(INVALID_ARGUMENT);
        }
        let pkg = match self.load(config, &dirs) {
            Ok(p) => p,
            Err(st) => return Reply::status(st),
        };
        let option = a.str("option");
        // No extended names here (rpcd does not enable them for rename); a missing section or
        // option answers 0 and changes nothing, because uci_unload clears rpcd's NOT_FOUND.
        let Some(idx) = pkg.find(section, false) else {
            return Reply::ok();
        };
        let real = pkg.sections[idx].name.clone();
        let arg = match option {
            Some(o) if pkg.sections[idx].opt(o).is_none() => return Reply::ok(),
            Some(o) => format!("{config}.{real}.{o}={name}"),
            None => format!("{config}.{real}={name}"),
        };
        match self.run_ops(&dirs, &[Op::Rename(arg)]) {
            Ok(()) => Reply::ok(),
            Err(st) => Reply::status(st),
        }
    }

    fn order(&self, a: &Args) -> Reply {
        let (Some(config), Some(sections)) = (a.str("config"), a.array("sections")) else {
            return Reply::status(INVALID_ARGUMENT);
        };
        let dirs = match self.dirs(a.str("ubus_rpc_session")) {
            Ok(d) => d,
            Err(st) => return Reply::status(st),
        };
        let pkg = match self.load(config, &dirs) {
            Ok(p) => p,
            Err(st) => return Reply::status(st),
        };
        let mut err = 0;
        let mut ops = Vec::new();
        let mut pos = 0;
        for item in sections {
            let Some(name) = item.as_str() else {
                if err == 0 {
                    err = INVALID_ARGUMENT;
                }
                continue;
            };
            match pkg.find(name, false) {
                Some(idx) => {
                    ops.push(Op::Reorder(format!(
                        "{config}.{}={pos}",
                        pkg.sections[idx].name
                    )));
                    pos += 1;
                }
                None if err == 0 => err = NOT_FOUND,
                None => {}
            }
        }
        if err != 0 {
            return Reply::status(err);
        }
        match self.run_ops(&dirs, &ops) {
            Ok(()) => Reply::ok(),
            Err(st) => Reply::status(st),
        }
    }

    fn saved_changes(&self, dirs: &Dirs, package: &str) -> Vec<Change> {
        match fs::read_to_string(dirs.save.join(package)) {
            Ok(text) => parse_delta(&text, package),
            Err(_) => Vec::new(),
        }
    }

    fn changes(&self, a: &Args) -> Reply {
        let sid = a.str("ubus_rpc_session");
        if let Some(config) = a.str("config") {
            let dirs = match self.dirs(sid) {
                Ok(d) => d,
                Err(st) => return Reply::status(st),
            };
            if let Err(st) = self.load(config, &dirs) {
                return Reply::status(st);
            }
            let list = self
                .saved_changes(&dirs, config)
                .iter()
                .map(Change::to_v)
                .collect();
            return Reply::data(vec![("changes".into(), V::Array(list))]);
        }
        let Some(configs) = self.configs_list() else {
            return Reply::status(NOT_FOUND);
        };
        // rpcd skips every config an unknown session may not read: an empty table, not an error.
        let Ok(dirs) = self.dirs(sid) else {
            return Reply::data(vec![("changes".into(), V::Table(Vec::new()))]);
        };
        let mut table = Vec::new();
        for config in configs {
            if self.load(&config, &dirs).is_err() {
                continue;
            }
            let list: Vec<V> = self
                .saved_changes(&dirs, &config)
                .iter()
                .map(Change::to_v)
                .collect();
            if !list.is_empty() {
                table.push((config, V::Array(list)));
            }
        }
        Reply::data(vec![("changes".into(), V::Table(table))])
    }

    fn revert_commit(&self, state: &ApplyState, a: &Args, commit: bool) -> Reply {
        if state.apply_sid.is_some() {
            return Reply::status(PERMISSION_DENIED);
        }
        let Some(config) = a.str("config") else {
            return Reply::status(INVALID_ARGUMENT);
        };
        let dirs = match self.dirs(a.str("ubus_rpc_session")) {
            Ok(d) => d,
            Err(st) => return Reply::status(st),
        };
        if let Err(st) = self.load(config, &dirs) {
            return Reply::status(st);
        }
        let verb = if commit { "commit" } else { "revert" };
        if let Err(e) = self.cli(&dirs, &[], &[verb, config]) {
            log(&format!("uci {verb} {config}: {e}"));
        }
        if commit {
            crate::service::config_change(self.0, config);
        }
        Reply::ok()
    }
}

fn lock(ctx: &Ctx) -> std::sync::MutexGuard<'_, ApplyState> {
    ctx.uci.lock().unwrap_or_else(|p| p.into_inner())
}

fn cli_status(message: String) -> i32 {
    if message.contains("Entry not found") {
        NOT_FOUND
    } else if message.contains("Invalid argument") {
        INVALID_ARGUMENT
    } else {
        log(&message);
        UNKNOWN_ERROR
    }
}

fn export_error(package: &str, what: &str) -> i32 {
    log(&format!("cannot read `uci export {package}`: {what}"));
    UNKNOWN_ERROR
}

/// rpcd's `rpc_uci_match_section`.
fn match_section(s: &Section, ty: Option<&str>, matches: Option<&Fields>) -> bool {
    if ty.is_some_and(|t| s.stype != t) {
        return false;
    }
    let Some(matches) = matches else {
        return true;
    };
    let mut matched = false;
    let mut empty = true;
    for (key, v) in matches {
        let Some(cmp) = format_blob(v) else { continue };
        for (name, opt) in &s.options {
            if name != key {
                continue;
            }
            let hit = match opt {
                Opt::List(items) => items.contains(&cmp),
                Opt::Str(s) => s.split([' ', '\t']).any(|t| !t.is_empty() && t == cmp),
            };
            if !hit {
                return false;
            }
            matched = true;
        }
        empty = false;
    }
    empty || matched
}

fn dump_opt(o: &Opt) -> V {
    match o {
        Opt::Str(s) => V::str(s.clone()),
        Opt::List(items) => V::strs(items.clone()),
    }
}

/// rpcd's `rpc_uci_dump_section`: `.anonymous`, `.type`, `.name`, `.index` (whole-config dumps
/// only), then the options in file order.
fn dump_section(s: &Section, index: Option<usize>) -> V {
    let mut fields: Fields = vec![
        (".anonymous".into(), V::Bool(s.anonymous)),
        (".type".into(), V::str(s.stype.clone())),
        (".name".into(), V::str(s.name.clone())),
    ];
    if let Some(i) = index {
        fields.push((".index".into(), V::I32(i as i32)));
    }
    for (k, o) in &s.options {
        fields.push((k.clone(), dump_opt(o)));
    }
    V::Table(fields)
}

/// rpcd's `rpc_uci_merge_set`, planned against an in-memory copy so that later values see
/// earlier ones.
fn merge_set(
    config: &str,
    pkg: &mut Package,
    target: Option<usize>,
    opt: &str,
    v: &V,
    ops: &mut Vec<Op>,
    found_any: &mut bool,
) -> i32 {
    if !verify_name(opt) {
        return INVALID_ARGUMENT;
    }
    let Some(idx) = target else {
        return NOT_FOUND;
    };
    *found_any = true;
    let section = &mut pkg.sections[idx];
    let path = format!("{config}.{}.{opt}", section.name);
    let existing = section.options.iter().position(|(k, _)| k == opt);
    match v {
        V::Array(items) => {
            if let Some(pos) = existing {
                ops.push(Op::Delete(path.clone()));
                section.options.remove(pos);
            }
            let mut rv = INVALID_ARGUMENT;
            let mut list = Vec::new();
            for item in items {
                let Some(s) = format_blob(item) else { continue };
                rv = 0;
                if valid_text(&s) {
                    ops.push(Op::AddList(format!("{path}={s}")));
                    list.push(s);
                }
            }
            if !list.is_empty() {
                section.options.push((opt.to_string(), Opt::List(list)));
            }
            rv
        }
        _ => {
            // A list is deleted first and replaced by the string, unconditionally.
            if let Some(pos) = existing.filter(|&p| matches!(section.options[p].1, Opt::List(_))) {
                ops.push(Op::Delete(path.clone()));
                section.options.remove(pos);
            }
            let Some(s) = format_blob(v) else {
                return INVALID_ARGUMENT;
            };
            if section.opt(opt) != Some(&Opt::Str(s.clone())) && valid_text(&s) {
                ops.push(Op::Set(format!("{path}={s}")));
                // uci_set with an empty value deletes the option.
                section.options.retain(|(k, _)| k != opt || !s.is_empty());
                match section.options.iter_mut().find(|(k, _)| k == opt) {
                    Some((_, o)) => *o = Opt::Str(s),
                    None if s.is_empty() => {}
                    None => section.options.push((opt.to_string(), Opt::Str(s))),
                }
            }
            0
        }
    }
}

/// rpcd's `rpc_uci_merge_delete`.
fn merge_delete(
    config: &str,
    pkg: &mut Package,
    target: Option<usize>,
    which: Option<&V>,
    ops: &mut Vec<Op>,
) -> i32 {
    let Some(idx) = target else {
        return NOT_FOUND;
    };
    let name = pkg.sections[idx].name.clone();
    match which {
        None => {
            ops.push(Op::Delete(format!("{config}.{name}")));
            pkg.sections.remove(idx);
            0
        }
        Some(V::Array(items)) => {
            let mut rv = NOT_FOUND;
            for item in items {
                let Some(opt) = item.as_str() else { continue };
                let section = &mut pkg.sections[idx];
                if let Some(pos) = section.options.iter().position(|(k, _)| k == opt) {
                    ops.push(Op::Delete(format!("{config}.{name}.{opt}")));
                    section.options.remove(pos);
                    rv = 0;
                }
            }
            rv
        }
        Some(V::Str(opt)) => {
            let section = &mut pkg.sections[idx];
            match section.options.iter().position(|(k, _)| k == opt) {
                Some(pos) => {
                    ops.push(Op::Delete(format!("{config}.{name}.{opt}")));
                    section.options.remove(pos);
                    0
                }
                None => NOT_FOUND,
            }
        }
        Some(_) => INVALID_ARGUMENT,
    }
}

// ---------------------------------------------------------------------------------------------
// apply / confirm / rollback (rpcd's rpc_uci_apply and friends, paths under ROOT)

/// Non-dot entries of `dir`, sorted like glob(3). `None` when the directory cannot be read.
fn glob_dir(dir: &Path) -> Option<Vec<String>> {
    let entries = fs::read_dir(dir).ok()?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Some(names)
}

/// rpcd's `rpc_uci_apply_access`: NO_DATA unless at least one non-empty delta file exists.
/// (Every session has every grant here, so PERMISSION_DENIED cannot happen.)
fn apply_access(dir: &Path, names: Option<&Vec<String>>) -> i32 {
    let Some(names) = names else { return NO_DATA };
    let count = names
        .iter()
        .filter(|n| {
            fs::metadata(dir.join(n))
                .map(|m| m.len() > 0)
                .unwrap_or(false)
        })
        .count();
    if count == 0 {
        NO_DATA
    } else {
        0
    }
}

/// rpcd's `rpc_uci_copy_file`: the target is created (empty) even when the source is missing.
fn copy_file(src: &Path, dst: &Path) {
    let data = fs::read(src).unwrap_or_default();
    if let Err(e) = fs::write(dst, data) {
        log(&format!("copy {} -> {}: {e}", src.display(), dst.display()));
    }
}

fn purge_dir(dir: &Path) {
    if let Some(names) = glob_dir(dir) {
        for n in names {
            let p = dir.join(n);
            if fs::metadata(&p).map(|m| m.is_file()).unwrap_or(false) {
                let _ = fs::remove_file(p);
            }
        }
    }
    match fs::remove_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => log(&format!("rmdir {}: {e}", dir.display())),
    }
}

fn mkdir_0700(dir: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = dir.parent() {
        let _ = fs::create_dir_all(parent);
    }
    let _ = fs::DirBuilder::new().mode(0o700).create(dir);
}

/// rpcd's `rpc_uci_apply_config`: commit through the given save directory (a failed load
/// commits nothing) and announce the change either way.
fn apply_config(ctx: &Shared, dirs: Option<&Dirs>, config: &str) {
    let uci = Uci(ctx);
    if let Some(dirs) = dirs {
        if uci.load(config, dirs).is_ok() {
            if let Err(e) = uci.cli(dirs, &[], &["commit", config]) {
                log(&format!("uci commit {config}: {e}"));
            }
        }
    }
    crate::service::config_change(ctx, config);
}

fn apply(ctx: &Shared, state: &mut ApplyState, a: &Args) -> Reply {
    let rollback = a.bool("rollback").unwrap_or(false);
    if state.apply_sid.is_some() && rollback {
        return Reply::status(PERMISSION_DENIED);
    }
    let Some(sid) = a.str("ubus_rpc_session") else {
        return Reply::status(INVALID_ARGUMENT);
    };
    let timeout = a.i32("timeout").map(|t| t as u32).unwrap_or(APPLY_TIMEOUT);
    let root = &ctx.root;
    purge_dir(&root.join(SNAPSHOT_FILES));
    purge_dir(&root.join(SNAPSHOT_DELTA));
    if state.apply_sid.is_some() {
        return Reply::ok();
    }
    mkdir_0700(&root.join(SNAPSHOT_FILES));
    mkdir_0700(&root.join(SNAPSHOT_DELTA));
    // An id that is no session has no save directory: nothing to apply, as rpcd finds.
    let Ok(dirs) = Uci(ctx).dirs(Some(sid)) else {
        return Reply::status(NO_DATA);
    };
    let names = glob_dir(&dirs.save);
    let access = apply_access(&dirs.save, names.as_ref());
    if access != 0 {
        return Reply::status(access);
    }
    if rollback {
        state.apply_sid = Some(sid.to_string());
    }
    for config in names.unwrap_or_default() {
        let delta = dirs.save.join(&config);
        if !fs::metadata(&delta).map(|m| m.len() > 0).unwrap_or(false) {
            continue;
        }
        copy_file(
            &root.join(CONFIG_DIR).join(&config),
            &root.join(SNAPSHOT_FILES).join(&config),
        );
        copy_file(&delta, &root.join(SNAPSHOT_DELTA).join(&config));
        apply_config(ctx, Some(&dirs), &config);
    }
    if rollback {
        state.generation += 1;
        let generation = state.generation;
        let ctx = Arc::clone(ctx);
        thread::spawn(move || {
            thread::sleep(Duration::from_secs(u64::from(timeout)));
            let mut state = lock(&ctx);
            if state.generation == generation && state.apply_sid.is_some() {
                do_rollback(&ctx, &mut state);
            }
        });
    }
    Reply::ok()
}

/// rpcd's `rpc_uci_do_rollback`: restore the snapshotted files (and, while the session still
/// exists, its staged changes), announce each config, forget the pending apply.
fn do_rollback(ctx: &Shared, state: &mut ApplyState) {
    let root = &ctx.root;
    let files_dir = root.join(SNAPSHOT_FILES);
    let names = glob_dir(&files_dir);
    let session_dir = state
        .apply_sid
        .as_deref()
        .map(|sid| root.join(&format!("{SESSION_PREFIX}{sid}")));
    let deny = match &session_dir {
        Some(_) => apply_access(&files_dir, names.as_ref()) != 0,
        None => true,
    };
    if let (false, Some(dir)) = (deny, &session_dir) {
        mkdir_0700(dir);
    }
    for config in names.unwrap_or_default() {
        copy_file(
            &files_dir.join(&config),
            &root.join(CONFIG_DIR).join(&config),
        );
        // rpcd commits through /dev/null here, which finds no delta and writes nothing.
        apply_config(ctx, None, &config);
        if let (false, Some(dir)) = (deny, &session_dir) {
            copy_file(&root.join(SNAPSHOT_DELTA).join(&config), &dir.join(&config));
        }
    }
    purge_dir(&files_dir);
    purge_dir(&root.join(SNAPSHOT_DELTA));
    state.apply_sid = None;
    state.generation += 1;
}

fn confirm(ctx: &Shared, state: &mut ApplyState, a: &Args) -> Reply {
    let Some(sid) = a.str("ubus_rpc_session") else {
        return Reply::status(INVALID_ARGUMENT);
    };
    let Some(pending) = state.apply_sid.as_deref() else {
        return Reply::status(NO_DATA);
    };
    if pending != sid {
        return Reply::status(PERMISSION_DENIED);
    }
    purge_dir(&ctx.root.join(SNAPSHOT_FILES));
    purge_dir(&ctx.root.join(SNAPSHOT_DELTA));
    state.apply_sid = None;
    state.generation += 1;
    Reply::ok()
}

fn rollback(ctx: &Shared, state: &mut ApplyState, a: &Args) -> Reply {
    let Some(pending) = state.apply_sid.clone() else {
        return Reply::status(NO_DATA);
    };
    let Some(sid) = a.str("ubus_rpc_session") else {
        return Reply::status(INVALID_ARGUMENT);
    };
    if pending != sid {
        return Reply::status(PERMISSION_DENIED);
    }
    do_rollback(ctx, state);
    Reply::ok()
}

/// rpcd forks /sbin/reload_config two seconds later. The testbed does what that script does:
/// `uci show` every config, and send `config.change` for each whose checksum differs from the
/// previous run's (kept in ROOT/var/run/config.md5, as on the router).
fn reload_config(ctx: &Shared) -> Reply {
    let ctx = Arc::clone(ctx);
    thread::spawn(move || {
        thread::sleep(Duration::from_secs(2));
        let _state = lock(&ctx);
        let uci = Uci(&ctx);
        let Some(configs) = uci.configs_list() else {
            return;
        };
        let Ok(dirs) = uci.dirs(None) else { return };
        let md5_file = ctx.root.join("/var/run/config.md5");
        let previous = fs::read_to_string(&md5_file).ok();
        let mut lines = String::new();
        let mut changed = Vec::new();
        for config in configs {
            if uci.host_leak(&config) {
                continue;
            }
            let shown = uci.cli(&dirs, &[], &["show", &config]).unwrap_or_default();
            let sum = util::hex(&util::md5(shown.as_bytes()));
            let line = format!("{sum}  /var/run/config.check/{config}\n");
            if let Some(prev) = &previous {
                if !prev.lines().any(|l| format!("{l}\n") == line) {
                    changed.push(config.clone());
                }
            }
            lines.push_str(&line);
        }
        for config in changed {
            crate::service::config_change(&ctx, &config);
        }
        if let Some(parent) = md5_file.parent() {
            let _ = fs::create_dir_all(parent);
        }
        if let Err(e) = fs::write(&md5_file, lines) {
            log(&format!("{}: {e}", md5_file.display()));
        }
    });
    Reply::ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_rpcd() {
        assert!(verify_name("cfg0b3837"));
        assert!(!verify_name("a-b"));
        assert!(verify_type("a-b"));
        assert!(verify_section("@zone[1]"));
        assert!(verify_section("@zone[-1]"));
        assert!(verify_section("@[0]"));
        assert!(!verify_section("@zone[x]"));
        assert!(!verify_section("@zone[1]x"));
        assert!(!verify_name(""));
    }

    #[test]
    fn export_round_trip() {
        let text = "package t\n\nconfig zone 'cfg02dc81'\n\toption name 'it'\\''s'\n\tlist network 'a'\n\tlist network 'b'\n\toption multi 'x\ny'\n\nconfig defaults 'main'\n\n";
        let s = parse_export(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].options[0], ("name".into(), Opt::Str("it's".into())));
        assert_eq!(
            s[0].options[1],
            ("network".into(), Opt::List(vec!["a".into(), "b".into()]))
        );
        assert_eq!(s[0].options[2], ("multi".into(), Opt::Str("x\ny".into())));
        assert_eq!(s[1].name.as_deref(), Some("main"));
    }

    #[test]
    fn deltas_like_libuci() {
        let text = "upnpd.config.enabled='0'\n+firewall.cfg0e3837='redirect'\n-upnpd.config.port\n\
                    ^upnpd.config='2'\n|upnpd.config.l='it'\\''s'\n@upnpd.config='main'\nother.x.y='1'\n\
                    upnpd.config.m='a\nb'\n";
        let c = parse_delta(text, "upnpd");
        let v: Vec<V> = c.iter().map(Change::to_v).collect();
        assert_eq!(v[0], V::strs(["set", "config", "enabled", "0"]));
        assert_eq!(v[1], V::strs(["remove", "config", "port"]));
        assert_eq!(
            v[2],
            V::Array(vec![V::str("order"), V::str("config"), V::I32(2)])
        );
        assert_eq!(v[3], V::strs(["list-add", "config", "l", "it's"]));
        assert_eq!(v[4], V::strs(["rename", "config", "main"]));
        assert_eq!(v[5], V::strs(["set", "config", "m", "a\nb"]));
        assert_eq!(v.len(), 6);
    }
}
