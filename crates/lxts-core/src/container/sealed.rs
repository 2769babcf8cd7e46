//! CVE-2019-5736: the helper never runs from its file on disk, so a container that reopens
//! `/proc/self/exe` (of a created init, or of a helper `exec` sends in) can never write to it.
//! It runs from one of two sealed images of the file:
//!
//! - **a lower-only overlayfs** (Linux 6.15: layers given as fds, a detached mount among
//!   them): the helper's directory over an empty detached tmpfs, no upper layer, mounted
//!   detached. Such an overlay has no way to write (its superblock is read-only, clearing the
//!   mount's read-only flag or reconfiguring it `rw` still fails with `EROFS`), it is attached
//!   nowhere, and its file shares the binary's page cache: ~0.1 ms and no copy (runc 1.2 does
//!   the same with path layers).
//! - **a sealed memfd copy** (`F_SEAL_WRITE|SHRINK|GROW|SEAL`) where the overlay cannot be made
//!   (older kernel, no overlayfs, no `CAP_SYS_ADMIN`, a layer overlayfs refuses): ~1 ms and
//!   2 MiB of memory for every process that holds it.
//!
//! The image is made either by the helper itself (then re-exec) or once per Node process by
//! the binding, which then spawns `/proc/self/fd/N` and saves every helper the re-exec.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::sys;
use crate::{Code, Error, Result};

/// The seals that make a memfd immutable.
pub const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// `OVERLAYFS_SUPER_MAGIC` from `<linux/magic.h>`.
const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;

/// Whether `fd` is a sealed image: a memfd carrying every seal of [`SEALS`], or a file on a
/// read-only overlayfs. lxts's overlay can never be made writable; a helper installed on
/// some other read-only overlay is trusted alike (making that writable takes a remount in
/// the mount namespace that holds it, which a container's is not).
pub fn is_sealed(fd: &OwnedFd) -> bool {
    // SAFETY: F_GET_SEALS on an open fd; anything but a memfd answers EINVAL (O_PATH: EBADF).
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 {
        return seals & SEALS == SEALS;
    }
    // SAFETY: an all-zero `statfs` is valid; the kernel fills it (O_PATH fds are accepted).
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` a writable statfs buffer.
    let ok = unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } == 0;
    ok && st.f_type as i64 == OVERLAYFS_SUPER_MAGIC
        && sys::mount_flags_of(std::os::fd::AsFd::as_fd(fd), "image").is_ok_and(|f| f & libc::ST_RDONLY != 0)
}

/// A sealed, close-on-exec image of the executable at `path`: an `O_PATH` fd of it through
/// a lower-only overlay, else a sealed memfd copy.
pub fn image(path: &str) -> Result<OwnedFd> {
    overlay(path).or_else(|_| copy(path))
}

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_SET_FD: libc::c_uint = 5;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;

/// The file at `path` (symlinks resolved: overlayfs needs the real directory) through a
/// detached, read-only overlay whose layers are its directory and an empty detached tmpfs
/// (overlayfs wants two layers when it has no upper one; the binary's directory is on top).
fn overlay(path: &str) -> Result<OwnedFd> {
    let real = std::fs::canonicalize(path).map_err(|e| Error::io(Code::Syscall, "realpath", Some(path), &e))?;
    let (Some(dir), Some(name)) = (real.parent(), real.file_name()) else {
        return Err(Error::new(Code::Syscall, format!("{path} names no file in a directory")));
    };
    let dir = sys::open(&dir.to_string_lossy(), libc::O_PATH | libc::O_DIRECTORY, Code::Syscall)?;
    let mnt = lower_only(&dir, path)?;
    let name = sys::cstr(&name.to_string_lossy())?;
    // SAFETY: openat on our mount fd with a valid C string; the fd returned is ours.
    let fd = unsafe { libc::openat(mnt.as_raw_fd(), name.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    let file = sys::owned(sys::cvt(fd, Code::Syscall, "openat", Some(path))?);
    let st = sys::fstat(std::os::fd::AsFd::as_fd(&file), path)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || !is_sealed(&file) {
        return Err(Error::new(Code::Syscall, format!("{path} through its overlay is not a regular file on a read-only overlayfs")));
    }
    Ok(file)
}

/// A detached, read-only overlay of the directory `dir` over an empty detached tmpfs.
fn lower_only(dir: &OwnedFd, what: &str) -> Result<OwnedFd> {
    let empty = fs_mount("tmpfs", &[], what)?;
    fs_mount("overlay", &[("lowerdir+", dir.as_raw_fd()), ("lowerdir+", empty.as_raw_fd())], what)
}

/// A detached mount of a new `fstype` superblock with `fds` set as `(key, fd)` options,
/// read-only, nosuid and nodev.
fn fs_mount(fstype: &str, fds: &[(&str, libc::c_int)], what: &str) -> Result<OwnedFd> {
    let fail = |call: &'static str| Error::sys(Code::Syscall, call, Some(what), nix::errno::Errno::last()).context(fstype.to_owned());
    let ty = sys::cstr(fstype)?;
    // SAFETY: fsopen with a valid C string; the fd is ours.
    let ctx = unsafe { libc::syscall(libc::SYS_fsopen, ty.as_ptr(), FSOPEN_CLOEXEC) } as libc::c_int;
    let ctx = sys::owned(sys::cvt(ctx, Code::Syscall, "fsopen", Some(what)).map_err(|e| e.context(fstype.to_owned()))?);
    for (key, fd) in fds {
        let key = sys::cstr(key)?;
        // SAFETY: fsconfig(SET_FD, key, NULL, fd) on our context; `fd` is open for the call.
        if unsafe { libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_SET_FD, key.as_ptr(), std::ptr::null::<u8>(), *fd) } < 0 {
            return Err(fail("fsconfig"));
        }
    }
    if fstype == "overlay" {
        // Layers on different filesystems turn xino on by default, which only logs about it.
        // SAFETY: fsconfig(SET_STRING) with valid C strings on our context; a refusal is harmless.
        unsafe { libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_SET_STRING, c"xino".as_ptr(), c"off".as_ptr(), 0) };
    }
    let null = std::ptr::null::<u8>();
    // SAFETY: fsconfig(CMD_CREATE) on our context.
    if unsafe { libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_CMD_CREATE, null, null, 0) } < 0 {
        return Err(fail("fsconfig"));
    }
    let attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    // SAFETY: fsmount of our configured context; the mount fd is ours.
    let m = unsafe { libc::syscall(libc::SYS_fsmount, ctx.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) } as libc::c_int;
    if m < 0 {
        return Err(fail("fsmount"));
    }
    Ok(sys::owned(m))
}

/// A sealed, close-on-exec memfd holding a copy of the file at `src`.
pub fn copy(src: &str) -> Result<OwnedFd> {
    let name = sys::cstr("lxts-helper")?;
    // SAFETY: memfd_create with a valid name; the fd is ours.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    let memfd = sys::owned(sys::cvt(fd, Code::Syscall, "memfd_create", None)?);
    let mut from = std::fs::File::open(src).map_err(|e| io(e, "open", src))?;
    // SAFETY: a File over a close-on-exec dup of the memfd (Node may spawn from another
    // thread meanwhile: a writable copy must never reach a child), so `memfd` stays ours.
    let dup = unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    // SAFETY: as above; the fd is fresh and owned by the File.
    let mut to = unsafe { std::fs::File::from_raw_fd(sys::cvt(dup, Code::Syscall, "fcntl", Some("F_DUPFD_CLOEXEC memfd"))?) };
    std::io::copy(&mut from, &mut to).map_err(|e| io(e, "write", "memfd"))?;
    drop(to);
    // SAFETY: F_ADD_SEALS on our memfd.
    sys::cvt(unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) }, Code::Syscall, "fcntl", Some("F_ADD_SEALS"))?;
    Ok(memfd)
}

fn io(e: std::io::Error, syscall: &'static str, path: &str) -> Error {
    Error::io(Code::Syscall, syscall, Some(path), &e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_error(path: &str) -> Option<i32> {
        let e = std::fs::OpenOptions::new().write(true).open(path).and_then(|mut f| std::io::Write::write(&mut f, b"x"));
        e.err().and_then(|e| e.raw_os_error())
    }

    #[test]
    fn a_copy_is_sealed_and_equal_and_cannot_be_written() {
        let me = std::env::current_exe().unwrap();
        let fd = copy(&me.to_string_lossy()).unwrap();
        assert!(is_sealed(&fd));
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&me).unwrap());
        assert_eq!(write_error(&path), Some(libc::EPERM), "a write-sealed memfd refuses writes");
        let plain = sys::open("/proc/self/exe", libc::O_RDONLY, Code::Syscall).unwrap();
        assert!(!is_sealed(&plain), "the test binary on disk is not a sealed memfd");
    }

    /// Root on Linux 6.15 or later (this host, CI): the overlay is made, equals the file and
    /// stays unwritable even once its mount's read-only flag is cleared.
    #[test]
    fn as_root_the_image_is_a_lower_only_overlay_that_cannot_be_made_writable() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: fsopen(\"overlay\") needs root");
            return;
        }
        let me = std::env::current_exe().unwrap();
        let fd = image(&me.to_string_lossy()).unwrap();
        // SAFETY: F_GET_SEALS only reads; an O_PATH fd answers EBADF.
        assert!(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) } < 0, "the overlay, not the memfd fallback");
        assert!(is_sealed(&fd));
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&me).unwrap());
        assert_eq!(write_error(&path), Some(libc::EROFS));

        let dir = sys::open(&me.parent().unwrap().to_string_lossy(), libc::O_PATH | libc::O_DIRECTORY, Code::Syscall).unwrap();
        let mnt = lower_only(&dir, "test").unwrap();
        #[repr(C)]
        struct MountAttr {
            set: u64,
            clr: u64,
            propagation: u64,
            userns: u64,
        }
        let attr = MountAttr { set: 0, clr: u64::from(MOUNT_ATTR_RDONLY), propagation: 0, userns: 0 };
        // SAFETY: mount_setattr on our detached mount fd with a valid, sized mount_attr.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                mnt.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_EMPTY_PATH,
                &attr,
                std::mem::size_of::<MountAttr>(),
            )
        };
        assert_eq!(r, 0, "root may clear the read-only flag of its own detached mount");
        let name = me.file_name().unwrap().to_string_lossy().into_owned();
        let through = format!("/proc/self/fd/{}/{name}", mnt.as_raw_fd());
        assert_eq!(write_error(&through), Some(libc::EROFS), "an overlay without an upper layer still refuses");
        let plain = sys::open("/proc/self/exe", libc::O_RDONLY, Code::Syscall).unwrap();
        assert!(!is_sealed(&plain), "the test binary on disk is no sealed image");
    }

    #[test]
    fn a_missing_source_names_the_path() {
        let e = image("/nonexistent/lxts-helper").unwrap_err();
        assert_eq!(e.errno, Some(libc::ENOENT));
        assert!(e.message.contains("/nonexistent/lxts-helper"), "{}", e.message);
    }
}
