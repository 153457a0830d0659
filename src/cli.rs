//! The `camguard` command line. Flags are documented next to their parsing, so `--help` and the
//! code cannot drift apart.
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::audit::{self, Severity};
use crate::report;
use crate::snapshot::Snapshot;
use crate::source::{self, archive, ArchiveFiles, RootDir};

/// Exit codes: 0 fine, 1 a finding reached `--fail-on`, 2 usage or unreadable input.
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

const USAGE: &str = "\
camguard — finds what exposes your network to the internet: UPnP, port forwards, cameras.

Usage:
  camguard audit --root DIR [options]     audit a router snapshot (a directory laid out like /)
  camguard audit --backup FILE [options]  audit a `sysupgrade -b` backup archive
  camguard --version

Audit options:
  --root DIR           read the router's files under DIR (etc/config/…, var/run/miniupnpd.leases, …)
  --backup FILE        read a sysupgrade backup (.tar.gz) in memory
  --nft FILE           the router's `nft -j list ruleset` output (default: DIR/nft-ruleset.json)
  --json               print JSON (the shape of `ubus call camguard status`) instead of a report
  --fail-on SEVERITY   exit 1 when a finding is at least this severe (critical|high|medium|low|info)
  --now UNIX_TIME      judge lease expiry and firmware support at this time (default: now)

Exit status: 0 no finding reached --fail-on, 1 one did, 2 usage error or unreadable input.
";

#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// Runs the command line and returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(CliError(msg)) => {
            let _ = writeln!(std::io::stderr(), "camguard: {msg}");
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
            "help" => {
                print!("{USAGE}");
                Ok(0)
            }
            other => Err(CliError(format!(
                "unknown command {other:?}; run `camguard --help`"
            ))),
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
            Long("fail-on") => {
                let v = parser.value()?.string()?;
                a.fail_on = Some(Severity::parse(&v).ok_or_else(|| {
                    CliError(format!(
                        "--fail-on {v:?}: expected critical, high, medium, low or info"
                    ))
                })?);
            }
            Long("now") => {
                let v = parser.value()?.string()?;
                a.now = Some(v.parse().map_err(|_| {
                    CliError(format!("--now {v:?}: expected a Unix time in seconds"))
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
    let report = audit::audit(&snapshot);
    let text = if a.json {
        report::json(&report)
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        report::terminal(&report, &report::Style { colour })
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`camguard audit | head`) is not an error worth a message.
    let _ = stdout.write_all(text.as_bytes());
    let failed = a
        .fail_on
        .is_some_and(|threshold| report.worst().is_some_and(|w| w >= threshold));
    Ok(if failed { EXIT_FINDINGS } else { 0 })
}

fn read_offline(a: &AuditArgs) -> Result<Snapshot, CliError> {
    let now = a.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let nft = match &a.nft {
        Some(path) => Some((
            path.display().to_string(),
            std::fs::read(path)
                .map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?,
        )),
        None => None,
    };
    match (&a.root, &a.backup) {
        (Some(root), None) => {
            let files = RootDir::open(root).map_err(CliError)?;
            Ok(source::offline::read(&files, now, nft))
        }
        (None, Some(path)) => {
            let meta = std::fs::metadata(path).map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?;
            if meta.len() > archive::MAX_COMPRESSED as u64 {
                return Err(CliError(format!("{} is too large to be a sysupgrade backup", path.display())));
            }
            let bytes = std::fs::read(path).map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?;
            let archive =
                archive::read_backup(&bytes).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
            let files = ArchiveFiles::new(path.display().to_string(), archive);
            Ok(source::offline::read(&files, now, nft))
        }
        (Some(_), Some(_)) => Err(CliError("give either --root or --backup, not both".into())),
        (None, None) => Err(CliError(
            "nothing to audit: pass --root DIR (a router snapshot) or --backup FILE (a sysupgrade backup)".into(),
        )),
    }
}
