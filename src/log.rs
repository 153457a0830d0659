//! Logging to syslog (/dev/log, read by OpenWrt's logd; `logread -e camguard`), with stderr as
//! the fallback. logd restarts (sysupgrade tests, `service log restart`) close the socket under
//! us, so a failed send reconnects once and retries before falling back.
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// LOG_DAEMON.
const FACILITY: u8 = 3 << 3;

struct Syslog {
    path: PathBuf,
    socket: Option<UnixDatagram>,
}

static TARGET: Mutex<Option<Syslog>> = Mutex::new(None);

/// Sends log lines to the syslog socket at `path` from now on (default /dev/log).
pub fn to_syslog(path: PathBuf) {
    let mut target = TARGET.lock().unwrap_or_else(|e| e.into_inner());
    *target = Some(Syslog { path, socket: None });
}

fn connect(path: &PathBuf) -> Option<UnixDatagram> {
    let socket = UnixDatagram::unbound().ok()?;
    socket.connect(path).ok()?;
    Some(socket)
}

pub fn log(level: Level, message: &str) {
    let line = format!(
        "<{}>camguard[{}]: {}",
        FACILITY + level as u8,
        std::process::id(),
        message
    );
    let mut target = TARGET.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(syslog) = target.as_mut() {
        for _attempt in 0..2 {
            if syslog.socket.is_none() {
                syslog.socket = connect(&syslog.path);
            }
            match &syslog.socket {
                Some(s) if s.send(line.as_bytes()).is_ok() => return,
                _ => syslog.socket = None,
            }
        }
    }
    eprintln!("camguard: {message}");
}

pub fn error(message: &str) {
    log(Level::Error, message);
}

pub fn warn(message: &str) {
    log(Level::Warning, message);
}

pub fn notice(message: &str) {
    log(Level::Notice, message);
}

pub fn info(message: &str) {
    log(Level::Info, message);
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
        info("before the restart");
        let mut buf = [0u8; 512];
        let n = first.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("before the restart"));
        // logd restarts: the old socket goes away and a new one is bound at the same path.
        drop(first);
        std::fs::remove_file(&path).unwrap();
        let second = UnixDatagram::bind(&path).unwrap();
        info("after the restart");
        let n = second.recv(&mut buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        std::fs::remove_dir_all(&dir).ok();
        assert!(line.starts_with("<30>camguard["), "{line}");
        assert!(line.ends_with("]: after the restart"), "{line}");
        *TARGET.lock().unwrap() = None;
    }
}
