//! camguard's logger behind the `log` facade: syslog (/dev/log, read by OpenWrt's logd;
//! `logread -e camguard`) for the daemon, stderr for the other commands and as the fallback.
//! logd restarts (sysupgrade tests, `service log restart`) close the socket under us, so a
//! failed send reconnects once and retries before falling back.
//!
//! Our own sink rather than the `syslog` crate: that one was measured at ~60 KB more on the
//! router, and it does not reconnect after logd restarts.
//!
//! Levels are syslog priorities: error 3, warn 4, info 6, debug and trace 7. State changes
//! (started, registered, applied, stopping) are notices, 5: [`crate::notice!`] logs them, an
//! info line with the target [`NOTICE`].
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The target that makes an info line a notice (priority 5).
pub const NOTICE: &str = "notice";

/// `log::info!` at syslog priority notice: a state change worth keeping in `logread`.
#[macro_export]
macro_rules! notice {
    ($($arg:tt)+) => {
        ::log::info!(target: $crate::syslog::NOTICE, $($arg)+)
    };
}

/// LOG_DAEMON.
const FACILITY: u8 = 3 << 3;

struct Syslog {
    path: PathBuf,
    socket: Option<UnixDatagram>,
}

impl Syslog {
    /// Sends one datagram, reconnecting once when logd went away. False when it could not.
    fn send(&mut self, line: &str) -> bool {
        for _attempt in 0..2 {
            if self.socket.is_none() {
                self.socket = connect(&self.path);
            }
            match &self.socket {
                Some(s) if s.send(line.as_bytes()).is_ok() => return true,
                _ => self.socket = None,
            }
        }
        false
    }
}

fn connect(path: &PathBuf) -> Option<UnixDatagram> {
    let socket = UnixDatagram::unbound().ok()?;
    socket.connect(path).ok()?;
    Some(socket)
}

/// Syslog once [`to_syslog`] names the socket, stderr until then.
struct Sink {
    syslog: Mutex<Option<Syslog>>,
}

static SINK: Sink = Sink {
    syslog: Mutex::new(None),
};

/// Logs to stderr (every command but `daemon`).
pub fn to_stderr() {
    install();
}

/// Sends log lines to the syslog socket at `path` from now on (default /dev/log).
pub fn to_syslog(path: PathBuf) {
    let mut syslog = SINK.syslog.lock().unwrap_or_else(|e| e.into_inner());
    *syslog = Some(Syslog { path, socket: None });
    drop(syslog);
    install();
}

fn install() {
    // Fails only when a logger is set already: this one, by an earlier call.
    let _ = log::set_logger(&SINK);
    log::set_max_level(LevelFilter::Info);
}

fn priority(record: &Record) -> u8 {
    match record.level() {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info if record.target() == NOTICE => 5,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

impl Log for Sink {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        let message = record.args();
        let mut syslog = self.syslog.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(syslog) = syslog.as_mut() {
            let line = format!(
                "<{}>camguard[{}]: {message}",
                FACILITY + priority(record),
                std::process::id(),
            );
            if syslog.send(&line) {
                return;
            }
        }
        eprintln!("camguard: {message}");
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_the_log_daemon_restarting() {
        let dir = std::env::temp_dir().join(format!("camguard-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let first = UnixDatagram::bind(&path).unwrap();
        to_syslog(path.clone());
        log::info!("before the restart");
        let mut buf = [0u8; 512];
        let n = first.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("before the restart"));
        // logd restarts: the old socket goes away and a new one is bound at the same path.
        drop(first);
        std::fs::remove_file(&path).unwrap();
        let second = UnixDatagram::bind(&path).unwrap();
        log::info!("after the restart");
        let n = second.recv(&mut buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        std::fs::remove_dir_all(&dir).ok();
        assert!(line.starts_with("<30>camguard["), "{line}");
        assert!(line.ends_with("]: after the restart"), "{line}");
        *SINK.syslog.lock().unwrap() = None;
    }

    #[test]
    fn levels_are_syslog_priorities_and_notices_keep_five() {
        let priority_of = |level, target| {
            priority(
                &Record::builder()
                    .level(level)
                    .target(target)
                    .args(format_args!("x"))
                    .build(),
            )
        };
        assert_eq!(priority_of(Level::Error, "camguard::apply"), 3);
        assert_eq!(priority_of(Level::Warn, "camguard::daemon"), 4);
        assert_eq!(priority_of(Level::Info, NOTICE), 5);
        assert_eq!(priority_of(Level::Info, "camguard::daemon"), 6);
        assert_eq!(priority_of(Level::Debug, "camguard::daemon"), 7);
    }
}
