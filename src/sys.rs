//! The few Linux system calls the daemon's event loop needs (poll, signalfd, inotify, a pipe),
//! through nix's checked wrappers, so camguard itself makes no raw calls. Only the nix
//! modules used here are built (Cargo.toml): a few KB on the router.
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags};
use nix::sys::signal::SigSet;
use nix::sys::signalfd::SfdFlags;

pub use nix::sys::signal::Signal;

/// One descriptor to wait on and what happened to it.
#[derive(Debug, Clone, Copy)]
pub struct PollEntry {
    pub fd: RawFd,
    pub readable: bool,
    pub hung_up: bool,
}

/// Waits until one of `fds` is readable or `timeout` passes (None: forever). Interrupted
/// waits return early with nothing ready, which the caller's loop treats like a timeout.
pub fn poll(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<Vec<PollEntry>> {
    let mut polled: Vec<PollFd> = fds
        .iter()
        .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    let interrupted = match nix::poll::poll(&mut polled, poll_timeout(timeout)) {
        Ok(_) => false,
        Err(Errno::EINTR) => true,
        Err(e) => return Err(e.into()),
    };
    Ok(polled
        .iter()
        .map(|p| {
            let events = match p.revents() {
                Some(events) if !interrupted => events,
                _ => PollFlags::empty(),
            };
            PollEntry {
                fd: p.as_fd().as_raw_fd(),
                readable: events.contains(PollFlags::POLLIN),
                hung_up: events
                    .intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL),
            }
        })
        .collect())
}

/// What a wait on one descriptor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
}

/// Waits until `fd` is ready for `interest`, hangs up, or `timeout` passes. The caller retries
/// its read or write in every case, so what woke the wait does not matter.
pub fn wait_until_ready(fd: BorrowedFd<'_>, interest: Interest, timeout: Duration) {
    let events = match interest {
        Interest::Read => PollFlags::POLLIN,
        Interest::Write => PollFlags::POLLOUT,
    };
    let _ = nix::poll::poll(&mut [PollFd::new(fd, events)], poll_timeout(Some(timeout)));
}

fn poll_timeout(timeout: Option<Duration>) -> PollTimeout {
    timeout.map_or(PollTimeout::NONE, |t| {
        PollTimeout::try_from(t).unwrap_or(PollTimeout::MAX)
    })
}

/// Signals delivered as readable events on a descriptor, so TERM and HUP are handled in the
/// poll loop instead of in an async-signal context.
pub struct SignalFd {
    fd: nix::sys::signalfd::SignalFd,
}

impl SignalFd {
    /// Blocks `signals` in the calling thread and opens a descriptor that receives them.
    ///
    /// Call it before the process starts any thread: a thread inherits the signal mask of the
    /// thread that spawns it, and a signal the kernel hands to a thread that does not block it
    /// takes its default action (TERM ends the daemon without unregistering) instead of reaching
    /// the descriptor. The mask is per thread (pthread_sigmask); sigprocmask is unspecified in a
    /// threaded process.
    pub fn new(signals: &[Signal]) -> io::Result<SignalFd> {
        let set: SigSet = signals.iter().copied().collect();
        set.thread_block()?;
        let fd = nix::sys::signalfd::SignalFd::with_flags(
            &set,
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )?;
        Ok(SignalFd { fd })
    }

    /// The next pending signal, if any.
    pub fn read(&self) -> Option<Signal> {
        let info = self.fd.read_signal().ok()??;
        Signal::try_from(i32::try_from(info.ssi_signo).ok()?).ok()
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// inotify: lease files and configs change by rename or rewrite, so directories are watched.
pub struct Inotify {
    inner: nix::sys::inotify::Inotify,
}

/// What a watch reports: a file closed after writing, moved in, created or deleted.
pub const WATCH_MASK: AddWatchFlags = AddWatchFlags::IN_CLOSE_WRITE
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_CREATE)
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_MODIFY);

impl Inotify {
    pub fn new() -> io::Result<Inotify> {
        let inner =
            nix::sys::inotify::Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        Ok(Inotify { inner })
    }

    /// Watches a directory; returns the watch descriptor.
    pub fn watch(&self, dir: &Path) -> io::Result<i32> {
        Ok(self.inner.add_watch(dir, WATCH_MASK)?.as_raw())
    }

    /// Drains pending events: (watch descriptor, file name) pairs. The name is empty for an
    /// event on the watched directory itself.
    pub fn read(&self) -> Vec<(i32, OsString)> {
        let mut out = Vec::new();
        // EAGAIN ends it: nothing more is pending.
        while let Ok(events) = self.inner.read_events() {
            if events.is_empty() {
                break;
            }
            out.extend(
                events
                    .into_iter()
                    .map(|e| (e.wd.as_raw(), e.name.unwrap_or_default())),
            );
        }
        out
    }
}

impl AsFd for Inotify {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// A non-blocking pipe (read end, write end): a worker thread wakes the poll loop through it.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?)
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
        let ready = poll(&[ino.as_fd()], Some(Duration::from_secs(2))).unwrap();
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
        let ready = poll(&[ino.as_fd()], Some(Duration::from_millis(10))).unwrap();
        assert!(!ready[0].readable);
    }
}
