//! Seccomp user notification (`SCMP_ACT_NOTIFY`): the listener fd the kernel returns when
//! the filter is loaded goes to the agent at `linux.seccomp.listenerPath`, with the OCI
//! "container process state" (runtime-spec config-linux.md) as its payload.
//!
//! The helper connects to `listenerPath` before it clones, in the caller's namespaces (a host
//! path, like the console socket), so an unreachable agent fails `create` before anything of
//! the container exists. The init inherits the connected socket (close-on-exec), prepares the
//! state JSON, loads the filter where it always does, sends the fd right away with one
//! `sendmsg` (`SCM_RIGHTS`) and shuts the connection down, so an agent reading to EOF has the
//! fd before anything else runs: those two syscalls may not be notified (the agent could not
//! answer yet), every later one may (closing both fds, `execve`…).

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::super::{console, hooks, sys};
use crate::plan::{Plan, Seccomp};
use crate::{Code, Error, Result};

/// The syscalls that hand the fd over after the filter is loaded (`SCMP_ACT_NOTIFY` refused on them).
pub const HANDOVER_SYSCALLS: [&str; 2] = ["sendmsg", "shutdown"];

const FIELD: &str = "linux.seccomp.listenerPath";

/// The runtime-spec version the container process state follows (`SPEC_VERSION` of `lxts features`).
const SPEC_VERSION: &str = "1.2.0";

/// Connect to `listenerPath` when the profile notifies (else `None`).
pub fn connect(s: Option<&Seccomp>) -> Result<Option<OwnedFd>> {
    let Some(s) = s else { return Ok(None) };
    if !super::uses_notify(s) {
        return Ok(None);
    }
    let path = s.listener_path.as_deref().unwrap_or_default();
    let (addr, len) = console::sockaddr(path, FIELD)?;
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    let fd = sys::owned(sys::cvt(fd, Code::Syscall, "socket", Some(path))?);
    loop {
        // SAFETY: `addr` is a valid sockaddr_un of at least `len` bytes.
        let ret = unsafe { libc::connect(fd.as_raw_fd(), (&addr as *const libc::sockaddr_un).cast(), len) };
        if ret == 0 {
            return Ok(Some(fd));
        }
        if Errno::last() != Errno::EINTR {
            return Err(
                Error::sys(Code::Syscall, "connect", Some(path), Errno::last()).context(format!("{FIELD}: cannot reach the seccomp agent"))
            );
        }
    }
}

/// A connected listener socket and the container process state to send with the fd.
pub struct Listener<'a> {
    socket: BorrowedFd<'a>,
    state: Vec<u8>,
}

impl<'a> Listener<'a> {
    /// The payload ([`process_state`]) is made before the load: after it, only the hand-over may run.
    pub fn new(socket: BorrowedFd<'a>, state: Vec<u8>) -> Listener<'a> {
        Listener { socket, state }
    }

    /// Send `fd` with the state (`SCM_RIGHTS`, first message), then shut the connection down.
    pub fn send(&self, fd: &OwnedFd) -> Result<()> {
        let res = console::send_fd(self.socket, std::os::fd::AsFd::as_fd(fd), &self.state, "seccomp agent socket");
        // SAFETY: shutdown of a socket we hold; one state per connection (runtime-spec).
        unsafe { libc::shutdown(self.socket.as_raw_fd(), libc::SHUT_RDWR) };
        res.map_err(|e| e.context(format!("{FIELD}: send the seccomp fd")))
    }
}

/// The runtime-spec "container process state": `fds` names the one fd sent, `pid` is the host
/// pid of the process that loaded the filter, `state` the container's OCI state.
pub fn process_state(s: &Seccomp, state: serde_json::Value, pid: i32) -> Vec<u8> {
    let mut v = serde_json::json!({ "ociVersion": SPEC_VERSION, "fds": ["seccompFd"], "pid": pid, "state": state });
    if let Some(m) = s.listener_metadata.as_deref().filter(|m| !m.is_empty()) {
        v["metadata"] = serde_json::json!(m);
    }
    v.to_string().into_bytes()
}

/// The init's process state: the container's state with `status`, the init's host pid.
pub fn init_state(plan: &Plan, status: &str, pid: i32) -> Vec<u8> {
    let state: serde_json::Value = serde_json::from_slice(&hooks::state_json(plan, status, pid)).unwrap_or_default();
    let s = plan.config.linux.as_ref().and_then(|l| l.seccomp.clone()).unwrap_or_default();
    process_state(&s, state, pid)
}
