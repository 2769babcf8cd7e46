//! Switch to the rootfs: `pivot_root(".", ".")` then detach the old root, or,
//! with `noPivot`, `MS_MOVE` + `chroot`; without a mount namespace, `chroot` alone.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::container::sys::{self, cvt};
use crate::{Code, Result};

/// Enter the rootfs held by `root` (an `O_PATH` dirfd of its bind mount).
pub fn enter(root: BorrowedFd<'_>, no_pivot: bool) -> Result<()> {
    // SAFETY: `root` is an open directory fd.
    cvt(unsafe { libc::fchdir(root.as_raw_fd()) }, Code::Mount, "fchdir", Some("rootfs"))?;
    let dot = sys::cstr(".")?;
    if no_pivot {
        sys::mount(Some("."), "/", None, libc::MS_MOVE, None, "/")?;
        // SAFETY: `dot` is a valid C string.
        cvt(unsafe { libc::chroot(dot.as_ptr()) }, Code::Mount, "chroot", Some("."))?;
    } else {
        // SAFETY: raw pivot_root with two valid C strings; no libc wrapper exists.
        let ret = unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) } as libc::c_int;
        cvt(ret, Code::Mount, "pivot_root", Some("."))?;
        // The old root is stacked under "."; keep its unmount from propagating anywhere.
        sys::mount(None, ".", None, libc::MS_SLAVE | libc::MS_REC, None, "old root")?;
        // SAFETY: `dot` is a valid C string.
        cvt(unsafe { libc::umount2(dot.as_ptr(), libc::MNT_DETACH) }, Code::Mount, "umount2", Some("old root"))?;
    }
    let slash = sys::cstr("/")?;
    // SAFETY: `slash` is a valid C string.
    cvt(unsafe { libc::chdir(slash.as_ptr()) }, Code::Mount, "chdir", Some("/")).map(|_| ())
}

/// Without a mount namespace: `chroot` into the rootfs held by `root` (the private self-bind),
/// leaving the host's `/` where it is. Weaker than `pivot_root` (docs/SECURITY.md).
pub fn chroot_into(root: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: `root` is an open directory fd.
    cvt(unsafe { libc::fchdir(root.as_raw_fd()) }, Code::Mount, "fchdir", Some("rootfs"))?;
    let dot = sys::cstr(".")?;
    // SAFETY: `dot` is a valid C string.
    cvt(unsafe { libc::chroot(dot.as_ptr()) }, Code::Mount, "chroot", Some("."))?;
    let slash = sys::cstr("/")?;
    // SAFETY: `slash` is a valid C string.
    cvt(unsafe { libc::chdir(slash.as_ptr()) }, Code::Mount, "chdir", Some("/")).map(|_| ())
}

/// `root.readonly`: remount the new `/` read-only (keeping its other flags).
pub fn make_root_readonly() -> Result<()> {
    let fd = sys::open("/", libc::O_PATH | libc::O_DIRECTORY, Code::Mount)?;
    let flags = sys::mount_flags_of(std::os::fd::AsFd::as_fd(&fd), "/")?;
    let mut ms = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY;
    for (st, m) in [(libc::ST_NOSUID, libc::MS_NOSUID), (libc::ST_NODEV, libc::MS_NODEV), (libc::ST_NOEXEC, libc::MS_NOEXEC)] {
        if flags & st != 0 {
            ms |= m;
        }
    }
    sys::mount(None, "/", None, ms, None, "/").map_err(|e| e.context("root.readonly"))
}
