//! The `camguard` command line. Flags are documented next to their parsing, so `--help` and the
//! code cannot drift apart.
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::audit::Severity;
use crate::facts::{Facts, Inventory};
use crate::report;
use crate::snapshot::Snapshot;
use crate::source::{self, archive, ArchiveFiles, RootDir};
use crate::time::unix_now;

/// Exit codes: 0 fine, 1 a finding reached `--fail-on` (or the audit was incomplete), 2 usage or
/// unreadable input.
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

const USAGE: &str = "\
camguard — finds what exposes your network to the internet: UPnP, port forwards, cameras.

Usage:
  camguard audit --root DIR [options]     audit a router snapshot (a directory laid out like /)
  camguard audit --backup FILE [options]  audit a `sysupgrade -b` backup archive
  camguard status [--socket PATH] [--json] [--fail-on SEVERITY]
                                          the running daemon's report, else a one-shot live audit
  camguard daemon [--socket PATH] [--root DIR | --sysroot DIR] [--nft MODE]
                                          serve the ubus object `camguard`
  camguard plan [--root DIR] [--json]     what enforcing the policy would change, in words
                                          (--json: the actions, as ubus `camguard plan`)
  camguard enforce [--dry-run] [--finding ID]   apply the policy (journaled)
  camguard revoke PROTO EXT_PORT          remove one UPnP mapping (journaled)
  camguard revert [JOURNAL_ID]            undo an enforcement (default: the newest); byte-identical
                                          unless someone changed the file since
  camguard journal                        list what camguard changed
  camguard --version

Audit options:
  --root DIR           read the router's files under DIR (etc/config/…, var/run/miniupnpd.leases, …)
  --backup FILE        read a sysupgrade backup (.tar.gz) in memory
  --nft FILE           the router's `nft -j list ruleset` output (default: DIR/nft-ruleset.json)
  --json               print JSON (the shape of `ubus call camguard status`) instead of a report
  --fail-on SEVERITY   exit 1 when a finding is at least this severe (critical|high|medium|low|info),
                       or when the audit could not read everything
  --now UNIX_TIME      judge lease expiry and firmware support at this time (default: now)

Daemon and status options:
  --socket PATH        the ubus socket (default /var/run/ubus/ubus.sock)
  --root DIR           daemon: serve an offline snapshot instead of the live router, and watch it
  --sysroot DIR        stay live over ubus, but take every local path (leases, journal, /dev/log,
                       watches) under DIR: how the daemon runs against the test router-in-a-box
  --nft MODE           where the live ruleset comes from: `command` (run nft -j list table inet fw4;
                       the default on a router), `off` (the default with --sysroot or --root), or a
                       file holding an `nft -j` dump

Exit status: 0 no finding reached --fail-on, 1 one did or the audit was incomplete, 2 usage
error or unreadable input.
";

/// What stops a command before it can answer. Every one exits 2 with a line that says what to do.
#[derive(Debug)]
pub enum CliError {
    /// What the argument parser found wrong with the command line.
    Args(lexopt::Error),
    UnknownCommand(String),
    /// A flag's value camguard does not take, and what it takes.
    BadValue {
        flag: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A command used the wrong way: the usage that fits.
    Usage(&'static str),
    UnexpectedArgument {
        command: String,
        argument: String,
    },
    /// A file named on the command line could not be read.
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The snapshot root or backup archive is not one.
    Source {
        path: PathBuf,
        error: source::ReadError,
    },
    /// `--nft FILE` is not the output of `nft -j list ruleset`.
    Nft {
        path: PathBuf,
        error: crate::formats::FormatError,
    },
    /// ubus is not there.
    Unreachable {
        socket: String,
        error: crate::bus::BusError,
    },
    /// The daemon's method failed.
    Call {
        method: String,
        error: crate::bus::BusError,
    },
    DaemonNotRunning,
    Daemon(crate::daemon::DaemonError),
    Output(crate::encode::Error),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Args(e) => write!(f, "{e}; run `camguard --help`"),
            CliError::UnknownCommand(c) => {
                write!(f, "unknown command {c:?}; run `camguard --help`")
            }
            CliError::BadValue {
                flag,
                value,
                expected,
            } => write!(f, "{flag} {value:?}: expected {expected}"),
            CliError::Usage(usage) => f.write_str(usage),
            CliError::UnexpectedArgument { command, argument } => {
                write!(f, "camguard {command}: unexpected argument {argument:?}")
            }
            CliError::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            CliError::Source { path, error } => match error {
                source::ReadError::NotADirectory { .. }
                | source::ReadError::NotARouterRoot { .. }
                | source::ReadError::BackupGivenAsRoot { .. } => write!(f, "{error}"),
                _ => write!(f, "{}: {error}", path.display()),
            },
            CliError::Nft { path, error } => write!(
                f,
                "{}: {error}; pass the output of `nft -j list ruleset` from the router",
                path.display()
            ),
            CliError::Unreachable { socket, error } => write!(
                f,
                "cannot reach ubus at {socket} ({error}); is ubusd running? pass --socket PATH otherwise"
            ),
            CliError::Call { method, error } => write!(f, "ubus call camguard {method}: {error}"),
            CliError::DaemonNotRunning => f.write_str(
                "the camguard daemon is not running (start it with /etc/init.d/camguard start)",
            ),
            CliError::Daemon(e) => write!(f, "{e}"),
            CliError::Output(e) => write!(f, "cannot write the reply: {e}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<lexopt::Error> for CliError {
    fn from(e: lexopt::Error) -> Self {
        CliError::Args(e)
    }
}

impl From<crate::encode::Error> for CliError {
    fn from(e: crate::encode::Error) -> Self {
        CliError::Output(e)
    }
}

impl From<std::ffi::OsString> for CliError {
    /// A value that is not valid UTF-8 (lexopt's `string()`).
    fn from(value: std::ffi::OsString) -> Self {
        CliError::Args(lexopt::Error::NonUnicodeValue(value))
    }
}

/// `--fail-on VALUE`.
fn severity_arg(value: String) -> Result<Severity, CliError> {
    Severity::parse(&value).ok_or(CliError::BadValue {
        flag: "--fail-on",
        value,
        expected: "critical, high, medium, low or info",
    })
}

fn open_root(path: &std::path::Path) -> Result<RootDir, CliError> {
    RootDir::open(path).map_err(|error| CliError::Source {
        path: path.to_path_buf(),
        error,
    })
}

/// Runs the command line and returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    crate::syslog::to_stderr();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "camguard: {e}");
            EXIT_ERROR
        }
    }
}

fn run(args: Vec<OsString>) -> Result<i32, CliError> {
    let mut parser = lexopt::Parser::from_args(args);
    use lexopt::prelude::*;
    match parser.next()? {
        Some(Long("version") | Short('V')) => {
            println!("camguard {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Some(Long("help") | Short('h')) | None => {
            print!("{USAGE}");
            Ok(0)
        }
        Some(Value(cmd)) => match cmd.to_string_lossy().as_ref() {
            "audit" => audit_cmd(parser),
            "status" => status_cmd(parser),
            "plan" | "enforce" | "revoke" | "revert" | "journal" => {
                let cmd = cmd.to_string_lossy().into_owned();
                write_cmd(&cmd, parser)
            }
            "daemon" => daemon_cmd(parser),
            "help" => {
                print!("{USAGE}");
                Ok(0)
            }
            other => Err(CliError::UnknownCommand(other.to_owned())),
        },
        Some(arg) => Err(arg.unexpected().into()),
    }
}

struct AuditArgs {
    root: Option<PathBuf>,
    backup: Option<PathBuf>,
    nft: Option<PathBuf>,
    json: bool,
    fail_on: Option<Severity>,
    now: Option<u64>,
}

fn audit_cmd(mut parser: lexopt::Parser) -> Result<i32, CliError> {
    use lexopt::prelude::*;
    let mut a = AuditArgs {
        root: None,
        backup: None,
        nft: None,
        json: false,
        fail_on: None,
        now: None,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("root") => a.root = Some(parser.value()?.into()),
            Long("backup") => a.backup = Some(parser.value()?.into()),
            Long("nft") => a.nft = Some(parser.value()?.into()),
            Long("json") => a.json = true,
            Long("fail-on") => a.fail_on = Some(severity_arg(parser.value()?.string()?)?),
            Long("now") => {
                let value = parser.value()?.string()?;
                a.now = Some(value.parse().map_err(|_| CliError::BadValue {
                    flag: "--now",
                    value,
                    expected: "a Unix time in seconds",
                })?);
            }
            Long("help") | Short('h') => {
                print!("{USAGE}");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let snapshot = read_offline(&a)?;
    let inventory = Inventory::build(&snapshot);
    let (report, _) = crate::plan::report_and_plan(&Facts::new(&snapshot, &inventory));
    drop(inventory);
    drop(snapshot);
    Ok(print_audit(report, a.json, a.fail_on))
}

/// `plan`, `enforce`, `revoke`, `revert`, `journal`: the daemon's methods from the shell. The
/// daemon is the one writer on the router, so these ask it; `plan --root DIR` also works offline.
fn write_cmd(cmd: &str, mut parser: lexopt::Parser) -> Result<i32, CliError> {
    use lexopt::prelude::*;
    let mut socket = crate::bus::DEFAULT_SOCKET.to_owned();
    let mut args = crate::json::Map::new();
    let mut positional = Vec::new();
    let mut root: Option<PathBuf> = None;
    let mut json = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("socket") => socket = parser.value()?.string()?,
            Long("dry-run") if cmd == "enforce" => {
                args.insert("dry_run".into(), true.into());
            }
            Long("finding") if cmd == "enforce" => {
                args.insert("finding".into(), parser.value()?.string()?.into());
            }
            Long("root") if cmd == "plan" => root = Some(parser.value()?.into()),
            Long("json") if cmd == "plan" => json = true,
            Value(v) => positional.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    match (cmd, positional.as_slice()) {
        ("revoke", [proto, port]) => {
            let port: u16 = port.parse().map_err(|_| CliError::BadValue {
                flag: "EXT_PORT",
                value: port.clone(),
                expected: "a port number (0-65535)",
            })?;
            args.insert("proto".into(), proto.to_ascii_uppercase().into());
            args.insert("ext_port".into(), port.into());
        }
        ("revoke", _) => {
            return Err(CliError::Usage(
                "usage: camguard revoke PROTO EXT_PORT (e.g. camguard revoke tcp 554)",
            ))
        }
        ("revert", [id]) => {
            args.insert("id".into(), id.clone().into());
        }
        ("revert", []) | (_, []) => {}
        _ => {
            return Err(CliError::UnexpectedArgument {
                command: cmd.to_owned(),
                argument: positional[0].clone(),
            })
        }
    }
    if let Some(root) = root {
        let files = open_root(&root)?;
        let snapshot = source::offline::read(&files, unix_now(), None, &[]);
        let inventory = Inventory::build(&snapshot);
        let (report, plan) = crate::plan::report_and_plan(&Facts::new(&snapshot, &inventory));
        let report = (!json)
            .then(|| crate::encode::to_value(&report))
            .transpose()?;
        print_plan(&crate::encode::json!({ "actions": plan }), report.as_ref())?;
        return Ok(0);
    }
    let mut client = crate::bus::Client::connect(&socket, std::time::Duration::from_secs(30))
        .map_err(|error| CliError::Unreachable {
            socket: socket.clone(),
            error,
        })?;
    let reply = client.call("camguard", cmd, &crate::json::Value::Object(args));
    // The plan's words name what its actions fix and leave: the daemon's report, from the same
    // audit as its plan.
    let reply = match reply {
        Ok(plan) if cmd == "plan" && !json => client
            .call("camguard", "status", &crate::encode::json!({}))
            .map(|report| (plan, Some(report))),
        other => other.map(|reply| (reply, None)),
    };
    match reply {
        Ok((plan, Some(report))) => {
            print_plan(&plan, Some(&report))?;
            Ok(0)
        }
        Ok((reply, None)) => {
            println!("{}", crate::encode::to_string_pretty(&reply)?);
            let failed = reply
                .get("failed")
                .and_then(|f| f.as_array())
                .is_some_and(|f| !f.is_empty());
            Ok(if failed { EXIT_FINDINGS } else { 0 })
        }
        Err(crate::bus::BusError::Status(4)) if cmd != "revoke" && cmd != "revert" => {
            Err(CliError::DaemonNotRunning)
        }
        Err(error) => Err(CliError::Call {
            method: cmd.to_owned(),
            error,
        }),
    }
}

/// Colour only for a terminal that shows it, and never against NO_COLOR.
fn terminal_style() -> report::Style {
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
    report::Style { colour }
}

fn write_stdout(text: &str) {
    // A closed pipe (`camguard audit | head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `camguard plan`: the actions as JSON with `--json`, else in words next to the report they
/// come from.
fn print_plan(
    plan: &crate::json::Value,
    report: Option<&crate::json::Value>,
) -> Result<(), CliError> {
    let text = match report {
        None => crate::encode::to_string_pretty(plan)? + "\n",
        Some(report) => report::plan_terminal_from_json(plan, report, &terminal_style()),
    };
    write_stdout(&text);
    Ok(())
}

/// Prints a report (its JSON form, as the daemon sends it) and returns the exit code `--fail-on`
/// asks for.
fn print_report(report: &crate::json::Value, json: bool, fail_on: Option<Severity>) -> i32 {
    let text = if json {
        crate::encode::to_string_pretty(report).unwrap_or_default() + "\n"
    } else {
        report::terminal_from_json(report, &terminal_style())
    };
    write_stdout(&text);
    let worst = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["severity"].as_str().and_then(Severity::parse))
        .max();
    let incomplete = report["coverage"]["complete"] == crate::json::Value::Bool(false);
    exit_code(worst, incomplete, fail_on)
}

/// Prints a report computed here. `--json` is written as it is serialised, and the terminal
/// gets a JSON form without what it never shows (evidence, fixes): at 1,000 mappings a whole
/// `Value` tree of the report was the offline audit's peak.
fn print_audit(mut report: crate::audit::Report, json: bool, fail_on: Option<Severity>) -> i32 {
    let code = exit_code(report.worst(), !report.coverage.complete, fail_on);
    if json {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        // A closed pipe (`camguard audit --json | head`) is not an error worth a message.
        let _ = crate::encode::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        return code;
    }
    let findings: Vec<crate::json::Value> = std::mem::take(&mut report.findings)
        .into_iter()
        .map(|f| {
            crate::encode::json!({
                "id": f.id,
                "severity": f.severity,
                "title": f.title,
                "detail": f.detail,
                "remedy": f.remedy,
            })
        })
        .collect();
    let mut shown = crate::encode::to_value(&report).unwrap_or_default();
    drop(report);
    shown["findings"] = findings.into();
    write_stdout(&report::terminal_from_json(&shown, &terminal_style()));
    code
}

/// `--fail-on`: an audit that could not read everything cannot promise that nothing reaches the
/// threshold.
fn exit_code(worst: Option<Severity>, incomplete: bool, fail_on: Option<Severity>) -> i32 {
    let failed =
        fail_on.is_some_and(|threshold| incomplete || worst.is_some_and(|w| w >= threshold));
    if failed {
        EXIT_FINDINGS
    } else {
        0
    }
}

/// `camguard status`: the daemon's answer when it runs, else a one-shot live audit over rpcd.
fn status_cmd(mut parser: lexopt::Parser) -> Result<i32, CliError> {
    use lexopt::prelude::*;
    let mut socket = crate::bus::DEFAULT_SOCKET.to_owned();
    let (mut json, mut fail_on, mut sysroot, mut nft) = (false, None, PathBuf::from("/"), None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("socket") => socket = parser.value()?.string()?,
            Long("json") => json = true,
            Long("sysroot") => sysroot = parser.value()?.into(),
            Long("nft") => nft = Some(nft_mode(&parser.value()?.string()?)),
            Long("fail-on") => fail_on = Some(severity_arg(parser.value()?.string()?)?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let timeout = std::time::Duration::from_secs(3);
    let mut client =
        crate::bus::Client::connect(&socket, timeout).map_err(|error| CliError::Unreachable {
            socket: socket.clone(),
            error,
        })?;
    let report = match client.call("camguard", "status", &crate::encode::json!({})) {
        Ok(report) => report,
        Err(crate::bus::BusError::Status(crate::bus::status::NOT_FOUND)) => {
            let files = open_root(&sysroot)?;
            let nft = nft.unwrap_or(if sysroot == std::path::Path::new("/") {
                source::live::NftSource::Command
            } else {
                source::live::NftSource::Off
            });
            let snapshot = source::live::read(&mut client, &files, unix_now(), &nft, &[]);
            let inventory = Inventory::build(&snapshot);
            let (report, _) = crate::plan::report_and_plan(&Facts::new(&snapshot, &inventory));
            return Ok(print_audit(report, json, fail_on));
        }
        Err(error) => {
            return Err(CliError::Call {
                method: "status".into(),
                error,
            })
        }
    };
    Ok(print_report(&report, json, fail_on))
}

fn nft_mode(text: &str) -> source::live::NftSource {
    match text {
        "command" => source::live::NftSource::Command,
        "off" => source::live::NftSource::Off,
        path => source::live::NftSource::File(path.into()),
    }
}

/// `camguard daemon`: serve the ubus object until SIGTERM.
fn daemon_cmd(mut parser: lexopt::Parser) -> Result<i32, CliError> {
    use lexopt::prelude::*;
    let mut socket = crate::bus::DEFAULT_SOCKET.to_owned();
    let (mut root, mut sysroot, mut nft): (
        Option<PathBuf>,
        Option<PathBuf>,
        Option<source::live::NftSource>,
    ) = (None, None, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("socket") => socket = parser.value()?.string()?,
            Long("root") => root = Some(parser.value()?.into()),
            Long("sysroot") => sysroot = Some(parser.value()?.into()),
            Long("nft") => nft = Some(nft_mode(&parser.value()?.string()?)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let (source, default_nft, log_path) = match (root, sysroot) {
        (Some(_), Some(_)) => {
            return Err(CliError::Usage("give either --root or --sysroot, not both"))
        }
        (Some(root), None) => {
            open_root(&root)?;
            (
                crate::daemon::Source::Root(root),
                source::live::NftSource::Off,
                PathBuf::from("/dev/log"),
            )
        }
        (None, sysroot) => {
            let live_router = sysroot.is_none();
            let sysroot = sysroot.unwrap_or_else(|| PathBuf::from("/"));
            open_root(&sysroot)?;
            let nft = if live_router {
                source::live::NftSource::Command
            } else {
                source::live::NftSource::Off
            };
            let log_path = sysroot.join("dev/log");
            (crate::daemon::Source::Live { sysroot }, nft, log_path)
        }
    };
    crate::syslog::to_syslog(log_path);
    let opts = crate::daemon::Options {
        socket,
        source,
        nft: nft.unwrap_or(default_nft),
    };
    crate::daemon::run(opts).map_err(CliError::Daemon)?;
    Ok(0)
}

fn read_offline(a: &AuditArgs) -> Result<Snapshot, CliError> {
    let now = a.now.unwrap_or_else(unix_now);
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|error| CliError::Read {
            path: path.clone(),
            error,
        })
    };
    let nft = match &a.nft {
        Some(path) => {
            let bytes = read(path)?;
            // A ruleset that does not parse is bad input, like a missing one: exit 2.
            crate::formats::nft::parse_ruleset(&bytes).map_err(|error| CliError::Nft {
                path: path.clone(),
                error,
            })?;
            Some((path.display().to_string(), bytes))
        }
        None => None,
    };
    match (&a.root, &a.backup) {
        (Some(root), None) => {
            let files = open_root(root)?;
            Ok(source::offline::read(&files, now, nft, &[]))
        }
        (None, Some(path)) => {
            let backup_error = |error| CliError::Source {
                path: path.clone(),
                error,
            };
            let meta = std::fs::metadata(path).map_err(|error| CliError::Read {
                path: path.clone(),
                error,
            })?;
            if meta.len() > archive::MAX_COMPRESSED as u64 {
                return Err(backup_error(source::ReadError::BackupTooLarge {
                    bytes: usize::try_from(meta.len()).unwrap_or(usize::MAX),
                    limit: archive::MAX_COMPRESSED,
                }));
            }
            let archive = archive::read_backup(&read(path)?).map_err(backup_error)?;
            let files = ArchiveFiles::new(path.display().to_string(), archive);
            Ok(source::offline::read(&files, now, nft, &[]))
        }
        (Some(_), Some(_)) => Err(CliError::Usage("give either --root or --backup, not both")),
        (None, None) => Err(CliError::Usage(
            "nothing to audit: pass --root DIR (a router snapshot) or --backup FILE (a sysupgrade backup)",
        )),
    }
}
