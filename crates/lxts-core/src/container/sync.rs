//! The helper ↔ init sync socket (`SOCK_SEQPACKET`, one message per send):
//! the helper sends `go` once maps and cgroups are in place; the init answers
//! `ready` or a JSON error report.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::sys;
use crate::plan::Report;
use crate::{Code, Error, Result};

pub const GO: &[u8] = b"go";
pub const READY: &[u8] = b"ready";
/// Init → helper: paused before `pivot_root` for Node's createRuntime hooks.
pub const HOOKS: &[u8] = b"hooks";
/// Helper → init: the createRuntime hooks succeeded, carry on.
pub const RESUME: &[u8] = b"resume";

/// Init → helper: `idmap <index>`, then a message with the source's fd: make the idmapped
/// copy of `mounts[index]` in my mount namespace (`rootfs::idmap`); the helper answers with
/// a message carrying the copy's fd.
pub const IDMAP: &[u8] = b"idmap ";

/// Init → helper, without a mount namespace: `root <id>`, the unique id of the rootfs
/// self-bind made in the host's mount namespace ([`crate::hostmount`]).
pub const ROOT_MOUNT: &[u8] = b"root ";

/// Helper → init: the [`ROOT_MOUNT`] is recorded; the init mounts nothing more before this.
pub const ROOT_RECORDED: &[u8] = b"root-recorded";

/// The mount id of a [`ROOT_MOUNT`] message.
pub fn root_mount(msg: &[u8]) -> Option<u64> {
    std::str::from_utf8(msg.strip_prefix(ROOT_MOUNT)?).ok()?.parse().ok()
}

/// A connected pair: (helper end, init end), both close-on-exec.
pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds socketpair returns.
    let ret = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    sys::cvt(ret, Code::Syscall, "socketpair", None)?;
    Ok((sys::owned(fds[0]), sys::owned(fds[1])))
}

pub fn send(fd: &OwnedFd, msg: &[u8]) -> Result<()> {
    loop {
        // SAFETY: `msg` is a valid buffer of the given length; MSG_NOSIGNAL avoids SIGPIPE.
        let n = unsafe { libc::send(fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(());
        }
        if Errno::last() != Errno::EINTR {
            return Err(Error::sys(Code::Protocol, "send", Some("sync socket"), Errno::last()));
        }
    }
}

/// One message; an empty vector means the peer closed (died).
pub fn recv(fd: &OwnedFd) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: `buf` is writable for its full length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        if Errno::last() != Errno::EINTR {
            return Err(Error::sys(Code::Protocol, "recv", Some("sync socket"), Errno::last()));
        }
    }
}

/// The messages already queued, without waiting (after the peer died: what it sent last).
pub fn drain(fd: &OwnedFd) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: `buf` is writable for its full length; MSG_DONTWAIT never blocks.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n <= 0 {
            return out;
        }
        out.push(buf[..n as usize].to_vec());
    }
}

/// Send an error from the init to the helper (best effort: the init exits next).
pub fn send_error(fd: &OwnedFd, err: &Error) {
    if let Ok(line) = serde_json::to_vec(&err.to_report()) {
        let _ = send(fd, &line);
    }
}

/// Turn the init's message into `Ok(())` for ready or the error it reported.
pub fn parse_reply(msg: &[u8]) -> Result<()> {
    if msg == READY {
        return Ok(());
    }
    if msg.is_empty() {
        return Err(Error::new(Code::Protocol, "container init exited before reporting ready"));
    }
    match serde_json::from_slice::<Report>(msg) {
        Ok(Report::Error { code, message, syscall, path, errno }) => Err(Error {
            code: Code::from_str_code(&code).unwrap_or(Code::Syscall),
            message,
            // The helper is short-lived: leaking one syscall name keeps `Error` unchanged.
            syscall: syscall.map(|s| &*Box::leak(s.into_boxed_str())),
            path,
            errno,
        }),
        _ => Err(Error::new(Code::Protocol, "container init sent an unexpected message")),
    }
}
