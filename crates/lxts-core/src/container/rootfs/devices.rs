//! `/dev` inside the container: default and configured device nodes, the
//! standard symlinks. Everything goes through a `/dev` dirfd that was opened
//! without following symlinks, so an image whose `/dev` (or `/dev/null`) is a
//! symlink cannot redirect device set-up (CVE-2025-31133, CVE-2026-41579).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::resolve;
use crate::container::sys::{self, fd_path, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS};
use crate::plan::Device;
use crate::{Code, Error, Result};

/// runc's default devices: path, major, minor.
const DEFAULT_DEVICES: &[(&str, i64, i64)] =
    &[("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0)];

const DEV_LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// Open a directory of the rootfs refusing any symlink on the way.
fn open_dir_nofollow(root: BorrowedFd<'_>, path: &str) -> std::result::Result<OwnedFd, Errno> {
    sys::openat2(
        root,
        &resolve::relative(path),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
    )
}

fn dir_nofollow(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd> {
    match open_dir_nofollow(root, path) {
        Ok(fd) => Ok(fd),
        Err(Errno::ENOENT) => {
            drop(resolve::mkdir_all(root, path, 0o755)?);
            open_dir_nofollow(root, path).map_err(|e| Error::sys(Code::UnsafePath, "openat2", Some(path), e))
        }
        Err(e @ (Errno::ELOOP | Errno::ENOTDIR)) => {
            Err(Error::sys(Code::UnsafePath, "openat2", Some(path), e).context(format!("{path} must be a directory, not a symlink")))
        }
        Err(e) => Err(Error::sys(Code::UnsafePath, "openat2", Some(path), e)),
    }
}

fn file_type(kind: &str, path: &str) -> Result<libc::mode_t> {
    match kind {
        "c" | "u" => Ok(libc::S_IFCHR),
        "b" => Ok(libc::S_IFBLK),
        "p" => Ok(libc::S_IFIFO),
        _ => Err(Error::new(Code::InvalidConfig, format!("linux.devices[{path}].type must be c, b, u or p, not {kind:?}"))),
    }
}

/// Create one device node (or, in a user namespace, bind the host's node).
fn create(root: BorrowedFd<'_>, dev: &Device, in_userns: bool) -> Result<()> {
    let path = resolve::absolute(&dev.path);
    let comps = resolve::components(&path);
    let Some((name, parents)) = comps.split_last() else {
        return Err(Error::new(Code::InvalidConfig, "linux.devices: path / is not a device"));
    };
    let parent = dir_nofollow(root, &parents.join("/"))?;
    let cname = sys::cstr(name)?;
    // SAFETY: `parent` is an open directory and `cname` a valid C string; unlinkat never follows symlinks.
    let ret = unsafe { libc::unlinkat(parent.as_raw_fd(), cname.as_ptr(), 0) };
    if ret < 0 && Errno::last() != Errno::ENOENT {
        return Err(Error::sys(Code::Mount, "unlinkat", Some(&path), Errno::last()));
    }
    if in_userns {
        // A fresh regular file only (O_EXCL|O_NOFOLLOW), the bind mount's target.
        drop(sys::create_new(parent.as_fd(), &cname, 0o644, Code::Mount, &path)?);
        let host = sys::open(&path, libc::O_PATH, Code::Mount)?;
        let target = sys::openat2(parent.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS)
            .map_err(|e| Error::sys(Code::UnsafePath, "openat2", Some(&path), e))?;
        return sys::mount(Some(&fd_path(host.as_fd())), &fd_path(target.as_fd()), None, libc::MS_BIND, None, &path);
    }
    let mode = file_type(&dev.kind, &path)? | (dev.file_mode.unwrap_or(0o666) & 0o7777);
    let rdev = libc::makedev(dev.major as u32, dev.minor as u32);
    // SAFETY: `parent` is an open directory and `cname` a valid C string.
    sys::cvt(unsafe { libc::mknodat(parent.as_raw_fd(), cname.as_ptr(), mode, rdev) }, Code::Mount, "mknodat", Some(&path))?;
    let (uid, gid) = (dev.uid.unwrap_or(0), dev.gid.unwrap_or(0));
    // SAFETY: same fds and names; AT_SYMLINK_NOFOLLOW acts on the node just made.
    let ret = unsafe { libc::fchownat(parent.as_raw_fd(), cname.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) };
    sys::cvt(ret, Code::Mount, "fchownat", Some(&path)).map(|_| ())
}

/// Default devices, `linux.devices`, and the `/dev` symlinks.
pub fn setup(root: BorrowedFd<'_>, devices: &[Device], in_userns: bool) -> Result<()> {
    let dev = dir_nofollow(root, "/dev")?;
    for &(path, major, minor) in DEFAULT_DEVICES {
        if devices.iter().any(|d| resolve::absolute(&d.path) == path) {
            continue;
        }
        let d = Device { path: path.to_owned(), kind: "c".to_owned(), major, minor, file_mode: Some(0o666), uid: Some(0), gid: Some(0) };
        create(root, &d, in_userns)?;
    }
    for d in devices {
        create(root, d, in_userns)?;
    }
    for &(name, target) in DEV_LINKS {
        let (n, t) = (sys::cstr(name)?, sys::cstr(target)?);
        // SAFETY: `dev` is an open directory fd; both strings are valid C strings.
        let ret = unsafe { libc::symlinkat(t.as_ptr(), dev.as_raw_fd(), n.as_ptr()) };
        if ret < 0 && Errno::last() != Errno::EEXIST {
            return Err(Error::sys(Code::Mount, "symlinkat", Some(&format!("/dev/{name}")), Errno::last()));
        }
    }
    Ok(())
}
