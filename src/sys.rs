//! The few Linux system calls the daemon's event loop needs (poll, signalfd, inotify), wrapped
//! safely. libc bindings instead of a syscall framework: a few hundred bytes on the router.
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// One descriptor to wait on and what happened to it.
#[derive(Debug, Clone, Copy)]
pub struct PollEntry {
    pub fd: RawFd,
    pub readable: bool,
    pub hung_up: bool,
}

/// Waits until one of `fds` is readable or `timeout` passes (None: forever). Interrupted
/// waits return early with nothing ready, which the caller's loop treats like a timeout.
pub fn poll(fds: &[RawFd], timeout: Option<Duration>) -> io::Result<Vec<PollEntry>> {
    let mut raw: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
    // SAFETY: `raw` is a valid array of `raw.len()` pollfd structs for the duration of the call.
    let ret = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, ms) };
    if ret < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(fds
                .iter()
                .map(|&fd| PollEntry {
                    fd,
                    readable: false,
                    hung_up: false,
                })
                .collect());
        }
        return Err(err);
    }
    Ok(raw
        .iter()
        .map(|p| PollEntry {
            fd: p.fd,
            readable: p.revents & libc::POLLIN != 0,
            hung_up: p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0,
        })
        .collect())
}

/// Signals delivered as readable events on a descriptor, so TERM and HUP are handled in the
/// poll loop instead of in an async-signal context.
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks `signals` for the process and opens a descriptor that receives them.
    pub fn new(signals: &[libc::c_int]) -> io::Result<SignalFd> {
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it; sigprocmask and
        // signalfd only read it. The returned descriptor is owned from here on.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &s in signals {
                libc::sigaddset(&mut set, s);
            }
            check(libc::sigprocmask(
                libc::SIG_BLOCK,
                &set,
                std::ptr::null_mut(),
            ))?;
            let fd = check(libc::signalfd(
                -1,
                &set,
                libc::SFD_NONBLOCK | libc::SFD_CLOEXEC,
            ))?;
            Ok(SignalFd {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// The next pending signal, if any.
    pub fn read(&self) -> Option<libc::c_int> {
        // SAFETY: signalfd_siginfo is plain data; read writes at most its size into it.
        unsafe {
            let mut info: libc::signalfd_siginfo = std::mem::zeroed();
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            let n = libc::read(
                self.fd.as_raw_fd(),
                &mut info as *mut _ as *mut libc::c_void,
                size,
            );
            (n == size as isize).then_some(info.ssi_signo as libc::c_int)
        }
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// inotify: lease files and configs change by rename or rewrite, so directories are watched.
pub struct Inotify {
    fd: OwnedFd,
}

/// What a watch reports: a file closed after writing, moved in, created or deleted.
pub const WATCH_MASK: u32 =
    libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO | libc::IN_CREATE | libc::IN_DELETE | libc::IN_MODIFY;

impl Inotify {
    pub fn new() -> io::Result<Inotify> {
        // SAFETY: plain syscall; the descriptor is owned from here on.
        let fd = unsafe { check(libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC))? };
        // SAFETY: `fd` was just returned by the kernel and is not owned elsewhere.
        Ok(Inotify {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches a directory; returns the watch descriptor.
    pub fn watch(&self, dir: &Path) -> io::Result<i32> {
        let path = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
        unsafe {
            check(libc::inotify_add_watch(
                self.fd.as_raw_fd(),
                path.as_ptr(),
                WATCH_MASK,
            ))
        }
    }

    /// Drains pending events: (watch descriptor, file name) pairs.
    pub fn read(&self) -> Vec<(i32, String)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: `buf` is writable for its whole length.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                )
            };
            if n <= 0 {
                return out;
            }
            let mut pos = 0usize;
            let header = std::mem::size_of::<libc::inotify_event>();
            while pos + header <= n as usize {
                // SAFETY: the kernel wrote whole events; read_unaligned copes with the byte buffer.
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[pos..].as_ptr() as *const _) };
                let name_bytes =
                    &buf[pos + header..(pos + header + ev.len as usize).min(n as usize)];
                let end = name_bytes
                    .iter()
                    .position(|b| *b == 0)
                    .unwrap_or(name_bytes.len());
                out.push((
                    ev.wd,
                    String::from_utf8_lossy(&name_bytes[..end]).into_owned(),
                ));
                pos += header + ev.len as usize;
            }
        }
    }
}

impl AsRawFd for Inotify {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A non-blocking pipe (read end, write end): a worker thread wakes the poll loop through it.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Empties a non-blocking pipe's read end.
pub fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 64];
    // SAFETY: `buf` is writable for its length; the fd is a valid open pipe.
    while unsafe {
        libc::read(
            fd.as_raw_fd(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
        )
    } > 0
    {}
}

/// Resident set size of this process in KiB (from /proc/self/statm), for benchmarks and logs.
pub fn rss_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(0) as u64 / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inotify_reports_a_file_written_in_a_watched_directory() {
        let dir = std::env::temp_dir().join(format!("camguard-inotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ino = Inotify::new().unwrap();
        let wd = ino.watch(&dir).unwrap();
        std::fs::write(dir.join("leases"), b"x").unwrap();
        let ready = poll(&[ino.as_raw_fd()], Some(Duration::from_secs(2))).unwrap();
        assert!(ready[0].readable);
        let events = ino.read();
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            events.iter().any(|(w, name)| *w == wd && name == "leases"),
            "{events:?}"
        );
    }

    #[test]
    fn poll_times_out_with_nothing_ready() {
        let ino = Inotify::new().unwrap();
        let ready = poll(&[ino.as_raw_fd()], Some(Duration::from_millis(10))).unwrap();
        assert!(!ready[0].readable);
    }
}
