//! `linux.maskedPaths` and `linux.readonlyPaths`, resolved inside the rootfs.

use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;

use super::{mount::remount_bind, resolve};
use crate::container::sys::{self, fd_path};
use crate::{Code, Error, Result};

/// Hide each path: a read-only empty tmpfs over directories, the host's verified
/// `/dev/null` over everything else. Missing paths are skipped.
pub fn mask(root: BorrowedFd<'_>, paths: &[String], devnull: BorrowedFd<'_>) -> Result<()> {
    for p in paths {
        let fd = match resolve::open_in_root(root, p, libc::O_PATH) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys(Code::Mount, "openat2", Some(p), e).context("linux.maskedPaths")),
        };
        let target = fd_path(fd.as_fd());
        let res = if resolve::is_dir(&fd, p)? {
            sys::mount(Some("tmpfs"), &target, Some("tmpfs"), libc::MS_RDONLY, None, p)
        } else {
            sys::mount(Some(&fd_path(devnull)), &target, None, libc::MS_BIND, None, p)
        };
        res.map_err(|e| e.context("linux.maskedPaths"))?;
    }
    Ok(())
}

/// Make each path read-only with a recursive self-bind and a read-only remount.
pub fn readonly(root: BorrowedFd<'_>, paths: &[String]) -> Result<()> {
    for p in paths {
        let fd = match resolve::open_in_root(root, p, libc::O_PATH) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys(Code::Mount, "openat2", Some(p), e).context("linux.readonlyPaths")),
        };
        let at = fd_path(fd.as_fd());
        sys::mount(Some(&at), &at, None, libc::MS_BIND | libc::MS_REC, None, p).map_err(|e| e.context("linux.readonlyPaths"))?;
        remount_bind(root, p, libc::MS_RDONLY).map_err(|e| e.context("linux.readonlyPaths"))?;
    }
    Ok(())
}

/// Open the host's `/dev/null` and check it is the real character device 1:3.
pub fn host_devnull() -> Result<std::os::fd::OwnedFd> {
    let fd = sys::open("/dev/null", libc::O_PATH, Code::Mount)?;
    let st = sys::fstat(fd.as_fd(), "/dev/null")?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(Error::new(Code::UnsafePath, "host /dev/null is not the null device"));
    }
    Ok(fd)
}
