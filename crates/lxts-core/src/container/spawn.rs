//! `clone3` into new namespaces with `CLONE_PIDFD` and, when there is a cgroup2
//! directory, `CLONE_INTO_CGROUP`. Falls back to `clone3` without the cgroup on
//! EINVAL, and to legacy `clone` on ENOSYS/E2BIG. The helper is single-threaded,
//! so the child may keep running ordinary Rust code.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::sys;
use crate::{Code, Error, Result};

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` (version 2, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Which side of the fork we are on.
pub enum Forked {
    Child,
    Parent {
        pid: i32,
        pidfd: OwnedFd,
        /// Whether `CLONE_INTO_CGROUP` placed the child in the v2 directory.
        into_cgroup: bool,
    },
}

fn clone3(ns_flags: u64, cgroup: Option<BorrowedFd<'_>>) -> std::result::Result<Forked, Errno> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: ns_flags | CLONE_PIDFD,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: clone3 without CLONE_VM and without a stack behaves like fork; `args`
    // and `pidfd` are valid for the call. The process is single-threaded.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>()) };
    match ret {
        r if r < 0 => Err(Errno::last()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent { pid: pid as i32, pidfd: sys::owned(pidfd), into_cgroup: cgroup.is_some() }),
    }
}

fn legacy_clone(ns_flags: u64) -> std::result::Result<Forked, Errno> {
    if ns_flags & libc::CLONE_NEWTIME as u64 != 0 {
        return Err(Errno::ENOSYS);
    }
    let mut pidfd: libc::c_int = -1;
    let flags = ns_flags | CLONE_PIDFD | libc::SIGCHLD as u64;
    // SAFETY: clone(flags, stack = 0, parent_tid = &pidfd, child_tid = 0, tls = 0)
    // acts like fork; with CLONE_PIDFD the pidfd is stored through parent_tid.
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, &mut pidfd as *mut libc::c_int, 0usize, 0usize) };
    match ret {
        r if r < 0 => Err(Errno::last()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent { pid: pid as i32, pidfd: sys::owned(pidfd), into_cgroup: false }),
    }
}

/// Create the init.
pub fn spawn(ns_flags: u64, cgroup: Option<BorrowedFd<'_>>) -> Result<Forked> {
    let mut res = clone3(ns_flags, cgroup);
    if cgroup.is_some() && matches!(res, Err(Errno::EINVAL | Errno::EOPNOTSUPP | Errno::EBUSY)) {
        res = clone3(ns_flags, None);
    }
    if matches!(res, Err(Errno::ENOSYS | Errno::E2BIG)) {
        res = legacy_clone(ns_flags);
    }
    res.map_err(|e| Error::sys(Code::Namespace, "clone3", None, e).context("create the container init"))
}
