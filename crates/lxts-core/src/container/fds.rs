//! File descriptors the container gets: 0, 1, 2 and `--preserve-fds` (passed to
//! the helper as 4..4+N-1, after the control channel, and shifted down to
//! 3..3+N-1). Every other fd is marked close-on-exec with `close_range`.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use super::sys;
use crate::{Code, Error, Result};

/// First fd the helper's callers may use for preserved fds.
pub const PRESERVE_SOURCE: RawFd = 4;

/// Move an internal fd to a number at or above `min` (close-on-exec).
pub fn raise(fd: OwnedFd, min: RawFd) -> Result<OwnedFd> {
    if fd.as_raw_fd() >= min {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on an open fd returns a new fd we own.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    Ok(sys::owned(sys::cvt(n, Code::Syscall, "fcntl", Some("F_DUPFD_CLOEXEC"))?))
}

/// Shift preserved fds into place, close-on-exec everything else from 3+N up,
/// and make the stdio fds blocking (a parent's O_NONBLOCK must not leak in).
/// Internal fds must already have been [`raise`]d above `PRESERVE_SOURCE + n`.
pub fn prepare(n: u32) -> Result<()> {
    let n = n as RawFd;
    for i in 0..n {
        // SAFETY: dup2 between fd numbers; the target is the control slot or a
        // preserved fd already copied one slot lower.
        let ret = unsafe { libc::dup2(PRESERVE_SOURCE + i, 3 + i) };
        sys::cvt(ret, Code::Process, "dup2", Some("preserved fd"))
            .map_err(|e| e.context(format!("preserveFds: fd {}", PRESERVE_SOURCE + i)))?;
    }
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, (3 + n) as libc::c_uint, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if ret < 0 {
        // A seccomp profile loaded before this point (noNewPrivileges off) may deny
        // close_range (older profiles predate it): mark each possible fd instead.
        let first = Errno::last();
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit fills the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } < 0 {
            return Err(Error::sys(Code::Process, "close_range", None, first));
        }
        for fd in (3 + n)..(lim.rlim_cur.min(1 << 20) as RawFd) {
            // SAFETY: F_SETFD on a closed fd number fails with EBADF and changes nothing.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    for fd in 0..3 {
        // SAFETY: F_GETFL/F_SETFL on stdio fds; a closed one is skipped.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
            // SAFETY: as above.
            unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) };
        }
    }
    Ok(())
}
