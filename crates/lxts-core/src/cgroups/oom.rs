//! OOM kills of a container's memory cgroup: the counter (v1 `memory.oom_control`
//! `oom_kill`, v2 `memory.events` `oom_kill`) and a watcher that waits for it to move.
//!
//! v1: an eventfd registered once through `cgroup.event_control` on
//! `memory.oom_control` wakes the watcher (the kernel also signals it when the group
//! is removed). v2: `memory.events` is polled (every 100 ms) until the timeout.
//! Either way the caller loops with a timeout, so nothing blocks forever.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::detect::io_error;
use super::resources::Target;
use super::stats::flat_keyed;
use crate::{Code, Error, Result};

/// The memory directory of the container and which file holds the counter.
fn memory_dir(t: &Target) -> Option<(PathBuf, &'static str)> {
    if t.v2 {
        t.unified.clone().map(|d| (d, "memory.events"))
    } else {
        t.v1.iter().find(|(c, _)| c.iter().any(|c| c == "memory")).map(|(_, d)| (d.clone(), "memory.oom_control"))
    }
}

/// OOM kills so far; `None` when the group or the counter does not exist.
pub fn oom_kills(t: &Target) -> Option<u64> {
    let (dir, file) = memory_dir(t)?;
    counter(&dir, file)
}

fn counter(dir: &Path, file: &str) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    flat_keyed(&text).get("oom_kill").copied()
}

/// What one [`OomWatcher::wait`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OomWait {
    /// New OOM kills since the previous wait (or since the watcher was made).
    pub kills: u64,
    /// The memory cgroup is gone: stop watching.
    pub gone: bool,
}

/// Waits for OOM kills in one container's memory cgroup.
#[derive(Debug)]
pub struct OomWatcher {
    dir: PathBuf,
    file: &'static str,
    seen: u64,
    /// v1 only: the registered eventfd (kept open with `memory.oom_control`).
    efd: Option<(OwnedFd, std::fs::File)>,
}

impl OomWatcher {
    /// Start watching; an error when the container has no memory cgroup.
    pub fn new(t: &Target) -> Result<OomWatcher> {
        let (dir, file) =
            memory_dir(t).ok_or_else(|| Error::new(Code::Cgroup, "the container has no memory cgroup to watch for OOM kills"))?;
        let seen = counter(&dir, file).unwrap_or(0);
        let efd = if t.v2 { None } else { Some(register_v1(&dir)?) };
        Ok(OomWatcher { dir, file, seen, efd })
    }

    /// Wait up to `timeout` for an OOM kill or the group's removal.
    pub fn wait(&mut self, timeout: Duration) -> Result<OomWait> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.check() {
                return Ok(r);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(OomWait { kills: 0, gone: false });
            }
            match &self.efd {
                Some((efd, _)) => {
                    let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
                    let mut fds = [PollFd::new(efd.as_fd(), PollFlags::POLLIN)];
                    match poll(&mut fds, PollTimeout::from(ms)) {
                        Ok(0) | Err(Errno::EINTR) => {}
                        Ok(_) => {
                            let mut buf = [0u8; 8];
                            // SAFETY: reads 8 bytes from our own eventfd into a local buffer.
                            unsafe { libc::read(efd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
                            // The OOM event can precede the kill's accounting by a moment.
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(e) => return Err(Error::sys(Code::Syscall, "poll", None, e)),
                    }
                }
                None => std::thread::sleep(left.min(Duration::from_millis(100))),
            }
        }
    }

    /// A result when the counter moved or the group vanished.
    fn check(&mut self) -> Option<OomWait> {
        match counter(&self.dir, self.file) {
            None if !self.dir.exists() => Some(OomWait { kills: 0, gone: true }),
            Some(n) if n > self.seen => {
                let kills = n - self.seen;
                self.seen = n;
                Some(OomWait { kills, gone: false })
            }
            _ => None,
        }
    }
}

/// `eventfd` + `cgroup.event_control` `"<efd> <oom_control fd>"`.
fn register_v1(dir: &Path) -> Result<(OwnedFd, std::fs::File)> {
    let control = dir.join("memory.oom_control");
    let oom = std::fs::File::open(&control).map_err(|e| io_error("open", &control, &e))?;
    // SAFETY: eventfd with flags only; returns a new fd or -1.
    let rc = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if rc < 0 {
        return Err(Error::sys(Code::Syscall, "eventfd", None, Errno::last()));
    }
    // SAFETY: a fresh fd nobody else owns.
    let efd = unsafe { OwnedFd::from_raw_fd(rc) };
    let ec = dir.join("cgroup.event_control");
    std::fs::write(&ec, format!("{} {}", efd.as_raw_fd(), oom.as_raw_fd())).map_err(|e| io_error("write", &ec, &e))?;
    Ok((efd, oom))
}
