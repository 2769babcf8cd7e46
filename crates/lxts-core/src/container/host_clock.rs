//! Start times as the host sees them, for a helper that is about to enter another time
//! namespace.
//!
//! `/proc/<pid>/stat` field 22 (the start time Node records and checks before every signal)
//! is shifted by the boottime offset of the *reader's* time namespace. `setns` into a time
//! namespace moves the caller too (unlike pid), so a helper that joined a container's time
//! namespace (`linux.namespaces[time].path`, or `exec` into a container with one) would
//! report a start time no host process ever sees. Before that join, the helper forks this
//! reader: it stays in the caller's namespaces, answers one start time per pid it is sent
//! over a socketpair, and exits when the socket closes (PDEATHSIG if the helper dies). The
//! helper is single-threaded, so the forked reader may run ordinary Rust code. It holds
//! the helper's fds while it lives: it is dropped (closed and reaped) right after the read.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::sync;
use crate::{Code, Error, Result};

/// The forked reader: its end of the socketpair and its pid (reaped on drop).
pub struct HostClock {
    sock: OwnedFd,
    pid: libc::pid_t,
}

impl HostClock {
    /// Fork the reader; call it before any `setns` into a time namespace.
    pub fn spawn() -> Result<HostClock> {
        let (ours, theirs) = sync::pair()?;
        // SAFETY: fork in a single-threaded process; the child only reads procfs and exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Error::sys(Code::Process, "fork", None, nix::errno::Errno::last()).context("host clock reader"));
        }
        if pid == 0 {
            drop(ours);
            serve(&theirs)
        }
        drop(theirs);
        Ok(HostClock { sock: ours, pid })
    }

    /// Our end of the socketpair, for the close list of a child that must not keep it.
    pub fn raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The start time of `pid` (`/proc/<pid>/stat` field 22) as the host's time namespace shows it.
    pub fn start_time(&self, pid: i32) -> Option<u64> {
        let req = pid.to_ne_bytes();
        // SAFETY: a 4-byte buffer; MSG_NOSIGNAL avoids SIGPIPE if the reader is gone.
        let n = unsafe { libc::send(self.sock.as_raw_fd(), req.as_ptr().cast(), req.len(), libc::MSG_NOSIGNAL) };
        if n != req.len() as isize {
            return None;
        }
        let mut buf = [0u8; 8];
        loop {
            // SAFETY: `buf` is writable for its length.
            let n = unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n == buf.len() as isize {
                break;
            }
            if n < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                continue;
            }
            return None;
        }
        Some(u64::from_ne_bytes(buf)).filter(|t| *t != 0)
    }
}

impl Drop for HostClock {
    fn drop(&mut self) {
        // SAFETY: shutdown on our socket; the reader sees EOF and exits.
        unsafe { libc::shutdown(self.sock.as_raw_fd(), libc::SHUT_RDWR) };
        let mut status = 0;
        // SAFETY: waitpid on our own child, by its pid (never -1).
        while unsafe { libc::waitpid(self.pid, &mut status, 0) } < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {}
    }
}

/// The reader's loop: a pid in, its start time out (0: gone). Never returns.
fn serve(sock: &OwnedFd) -> ! {
    // SAFETY: prctl with integer arguments: die with the helper.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong)
    };
    let mut buf = [0u8; 4];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
            continue;
        }
        if n != buf.len() as isize {
            break;
        }
        let t = crate::proc::info(i32::from_ne_bytes(buf)).map_or(0, |i| i.start_time).to_ne_bytes();
        // SAFETY: an 8-byte buffer.
        if unsafe { libc::send(sock.as_raw_fd(), t.as_ptr().cast(), t.len(), libc::MSG_NOSIGNAL) } != t.len() as isize {
            break;
        }
    }
    // SAFETY: _exit skips the helper's destructors and atexit handlers.
    unsafe { libc::_exit(0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_start_times_like_the_caller() {
        let c = HostClock::spawn().unwrap();
        let me = std::process::id() as i32;
        assert_eq!(c.start_time(me), crate::proc::info(me).map(|i| i.start_time));
        assert_eq!(c.start_time(i32::MAX), None);
    }
}
