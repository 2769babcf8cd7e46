//! CVE-2019-5736: the helper never runs from its file on disk, so a container that reopens
//! `/proc/self/exe` (of a created init, or of a helper `exec` sends in) can never write to it.
//! It runs from one of two sealed images of the file:
//!
//! - **a lower-only overlayfs** (Linux 6.15: layers given as fds, a detached mount among
//!   them): the helper's directory over an empty detached tmpfs, no upper layer, mounted
//!   detached. Such an overlay has no way to write (its superblock is read-only: clearing the
//!   mount's read-only flag or reconfiguring it `rw` still leaves writes `EROFS`), it is
//!   attached nowhere, and its file shares the binary's page cache: ~0.1 ms and no copy (runc
//!   1.2 does the same with path layers). The file through it must be the file that was
//!   opened (inode, size, mtime): a bind mount on the helper's path, which overlayfs does not
//!   see through, or a file replaced meanwhile, falls back to the copy. Unlike an executable
//!   run from its own path, whose file the kernel then refuses to open for writing
//!   (`ETXTBSY`), the file under the overlay can still be rewritten in place, which running
//!   helpers would see: replace the helper by rename, as package managers and the build do.
//! - **a sealed memfd copy** (`F_SEAL_WRITE|SHRINK|GROW|SEAL`) where the overlay cannot be made
//!   (older kernel, no overlayfs, no `CAP_SYS_ADMIN`, a layer overlayfs refuses) or is not
//!   wanted ([`Kind::Memfd`]): ~1 ms and 2 MiB of memory for as long as a process runs from it.
//!
//! The image is made either by the helper itself (then re-exec) or once per Node process by
//! the binding, which then spawns `/proc/self/fd/N` and saves every helper the re-exec.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::sys;
use crate::{Code, Error, Result};

/// The seals that make a memfd immutable.
pub const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Which image [`image`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The lower-only overlay where it can be made, else the memfd copy.
    Overlay,
    /// Always the memfd copy (immune to the file being rewritten in place).
    Memfd,
}

impl Kind {
    /// `$LXTS_HELPER_IMAGE`: `memfd` asks for the copy; anything else (or unset) the overlay.
    pub fn from_env(value: Option<&std::ffi::OsStr>) -> Kind {
        if value.is_some_and(|v| v == "memfd") {
            Kind::Memfd
        } else {
            Kind::Overlay
        }
    }
}

/// Whether `fd` is a sealed image: a memfd carrying every seal of [`SEALS`], or a regular
/// file on a read-only overlayfs mounted nowhere in the caller's mount namespace (detached,
/// as lxts's own; one mounted here, perhaps read-only only by its mount flag over a writable
/// upper layer, is not trusted). `ST_RDONLY` does not tell the superblock's read-only state
/// from the mount's, so a detached overlay with an upper layer would pass: only whoever
/// spawns the helper chooses its executable, and lxts's own has no upper layer.
pub fn is_sealed(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GET_SEALS on an open fd; anything but a memfd answers EINVAL (O_PATH: EBADF).
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 {
        return seals & SEALS == SEALS;
    }
    if sys::fs_magic(fd, Code::Syscall, "image").ok() != Some(sys::OVERLAYFS_SUPER_MAGIC) {
        return false;
    }
    sys::fstat(fd, "image").is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFREG)
        && sys::mount_flags_of(fd, "image").is_ok_and(|f| f & libc::ST_RDONLY != 0)
        && crate::hostmount::mounted_here(fd).is_ok_and(|here| !here)
}

/// A sealed, close-on-exec image of the executable at `path` (of the file open there now:
/// for `/proc/self/exe`, the running binary): an `O_PATH` fd of it through a lower-only
/// overlay, else (or with [`Kind::Memfd`]) a sealed memfd copy.
pub fn image(path: &str, kind: Kind) -> Result<OwnedFd> {
    let src = std::fs::File::open(path).map_err(|e| Error::io(Code::Syscall, "open", Some(path), &e))?;
    if kind == Kind::Overlay {
        if let Ok(fd) = overlay(path, &src) {
            return Ok(fd);
        }
    }
    copy(src, path)
}

/// The file at `path` (symlinks resolved: overlayfs needs the real directory) through a
/// detached, read-only overlay whose layers are its directory and an empty detached tmpfs
/// (overlayfs wants two layers when it has no upper one; the binary's directory is on top),
/// provided it is `src`, the file open at `path`.
fn overlay(path: &str, src: &std::fs::File) -> Result<OwnedFd> {
    let real = std::fs::canonicalize(path).map_err(|e| Error::io(Code::Syscall, "realpath", Some(path), &e))?;
    let (Some(dir), Some(name)) = (real.parent(), real.file_name()) else {
        return Err(Error::new(Code::Syscall, format!("{path} names no file in a directory")));
    };
    let dir = std::fs::File::open(dir).map_err(|e| Error::io(Code::Syscall, "open", Some(path), &e))?;
    let mnt = lower_only(dir.as_fd(), path)?;
    let name = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(name))
        .map_err(|_| Error::new(Code::Syscall, format!("{path}: a NUL byte in its name")))?;
    // SAFETY: openat on our mount fd with a valid C string; the fd returned is ours.
    let fd = unsafe { libc::openat(mnt.as_raw_fd(), name.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    let file = sys::owned(sys::cvt(fd, Code::Syscall, "openat", Some(path))?);
    let (want, got) = (sys::fstat(src.as_fd(), path)?, sys::fstat(file.as_fd(), path)?);
    let same = |s: &libc::stat| (s.st_ino, s.st_size, s.st_mtime, s.st_mtime_nsec);
    if same(&want) != same(&got) || !is_sealed(file.as_fd()) {
        return Err(Error::new(Code::Syscall, format!("{path} through its overlay is not the file open there")));
    }
    Ok(file)
}

/// A detached, read-only overlay of the directory `dir` over an empty detached tmpfs. Layers on
/// different filesystems turn `xino` on by default, which only logs about it: off.
fn lower_only(dir: BorrowedFd<'_>, what: &str) -> Result<OwnedFd> {
    use sys::FsParam::{Fd, Str};
    let empty = sys::fs_mount(c"tmpfs", &[], 0, Code::Syscall, what)?;
    let layers = [Fd(c"lowerdir+", dir), Fd(c"lowerdir+", empty.as_fd()), Str(c"xino", c"off")];
    sys::fs_mount(c"overlay", &layers, sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV, Code::Syscall, what)
}

/// A sealed, close-on-exec memfd holding a copy of `from` (opened at `path`).
fn copy(mut from: std::fs::File, path: &str) -> Result<OwnedFd> {
    let name = sys::cstr("lxts-helper")?;
    // MFD_EXEC (Linux 6.3): executable even where vm.memfd_noexec makes memfds noexec by
    // default; kernels before it refuse the flag (EINVAL) and have no such default.
    const MFD_EXEC: libc::c_uint = 0x10;
    // SAFETY: memfd_create with a valid name; the fd is ours.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING | MFD_EXEC) };
    if fd < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINVAL {
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    }
    let memfd = sys::owned(sys::cvt(fd, Code::Syscall, "memfd_create", None)?);
    // SAFETY: a File over a close-on-exec dup of the memfd (Node may spawn from another
    // thread meanwhile: a writable copy must never reach a child), so `memfd` stays ours.
    let dup = unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    // SAFETY: as above; the fd is fresh and owned by the File.
    let mut to = unsafe { std::fs::File::from_raw_fd(sys::cvt(dup, Code::Syscall, "fcntl", Some("F_DUPFD_CLOEXEC memfd"))?) };
    std::io::copy(&mut from, &mut to).map_err(|e| Error::io(Code::Syscall, "copy", Some(path), &e))?;
    drop(to);
    // SAFETY: F_ADD_SEALS on our memfd.
    sys::cvt(unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) }, Code::Syscall, "fcntl", Some("F_ADD_SEALS"))?;
    Ok(memfd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_error(path: &str) -> Option<i32> {
        let e = std::fs::OpenOptions::new().write(true).open(path).and_then(|mut f| std::io::Write::write(&mut f, b"x"));
        e.err().and_then(|e| e.raw_os_error())
    }

    fn is_memfd(fd: &OwnedFd) -> bool {
        // SAFETY: F_GET_SEALS only reads; an O_PATH fd answers EBADF, a regular file EINVAL.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) >= 0 }
    }

    fn as_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            eprintln!("skipped: fsopen(\"overlay\") and mounts need root");
        }
        root
    }

    #[test]
    fn a_copy_is_sealed_and_equal_and_cannot_be_written() {
        let me = std::env::current_exe().unwrap();
        let fd = image(&me.to_string_lossy(), Kind::Memfd).unwrap();
        assert!(is_memfd(&fd) && is_sealed(fd.as_fd()));
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&me).unwrap());
        assert_eq!(write_error(&path), Some(libc::EPERM), "a write-sealed memfd refuses writes");
        let plain = sys::open("/proc/self/exe", libc::O_RDONLY, Code::Syscall).unwrap();
        assert!(!is_sealed(plain.as_fd()), "the test binary on disk is no sealed image");
    }

    /// Root on Linux 6.15 or later (this host, CI): the overlay is made, equals the file and
    /// stays unwritable once its mount's read-only flag is cleared and after a `rw` reconfigure.
    #[test]
    fn as_root_the_image_is_a_lower_only_overlay_that_cannot_be_made_writable() {
        if !as_root() {
            return;
        }
        let me = std::env::current_exe().unwrap();
        let fd = image(&me.to_string_lossy(), Kind::Overlay).unwrap();
        assert!(!is_memfd(&fd), "the overlay, not the memfd fallback");
        assert!(is_sealed(fd.as_fd()));
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&me).unwrap());
        assert_eq!(write_error(&path), Some(libc::EROFS));

        let dir = std::fs::File::open(me.parent().unwrap()).unwrap();
        let mnt = lower_only(dir.as_fd(), "test").unwrap();
        let name = me.file_name().unwrap().to_string_lossy().into_owned();
        let through = format!("/proc/self/fd/{}/{name}", mnt.as_raw_fd());
        let attr = sys::MountAttr { attr_clr: u64::from(sys::MOUNT_ATTR_RDONLY), ..Default::default() };
        let r = sys::mount_setattr(mnt.as_fd(), &attr, false, Code::Mount, "test").map_or(-1, |()| 0);
        assert_eq!(r, 0, "root may clear the read-only flag of its own detached mount");
        assert_eq!(write_error(&through), Some(libc::EROFS), "an overlay without an upper layer still refuses");
        const FSPICK_CLOEXEC: libc::c_uint = 1;
        const FSPICK_EMPTY_PATH: libc::c_uint = 8;
        const FSCONFIG_SET_FLAG: libc::c_uint = 0;
        const FSCONFIG_CMD_RECONFIGURE: libc::c_uint = 7;
        // SAFETY: fspick of our mount's superblock; the context fd is ours.
        let ctx = unsafe { libc::syscall(libc::SYS_fspick, mnt.as_raw_fd(), c"".as_ptr(), FSPICK_CLOEXEC | FSPICK_EMPTY_PATH) };
        assert!(ctx >= 0, "fspick: {}", std::io::Error::last_os_error());
        let ctx = sys::owned(ctx as libc::c_int);
        let null = std::ptr::null::<u8>();
        // SAFETY: fsconfig on our context with valid C strings.
        let reconfigured = unsafe {
            libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_SET_FLAG, c"rw".as_ptr(), null, 0) == 0
                && libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_CMD_RECONFIGURE, null, null, 0) == 0
        };
        assert!(!reconfigured, "an overlay without an upper layer cannot be reconfigured rw");
        assert_eq!(write_error(&through), Some(libc::EROFS));
    }

    /// In a mount namespace of this test's thread alone: a bind mount on the helper's path
    /// (which overlayfs does not see through) gets the copy of the file open there, and a
    /// read-only overlay mounted in the caller's namespace is not trusted.
    #[test]
    fn as_root_a_bind_on_the_path_falls_back_and_an_attached_overlay_is_untrusted() {
        if !as_root() {
            return;
        }
        std::thread::spawn(|| {
            // SAFETY: unshare of this thread's mount namespace (its fs_struct is unshared with it),
            // then every mount made private in it: nothing reaches the host's namespace.
            unsafe {
                assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "{}", std::io::Error::last_os_error());
                assert_eq!(
                    libc::mount(std::ptr::null(), c"/".as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()),
                    0
                );
            }
            let dir = std::env::temp_dir().join(format!("lxts-sealed-test-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let (a, b) = (dir.join("a"), dir.join("b"));
            std::fs::write(&a, b"the file under the mount").unwrap();
            std::fs::write(&b, b"the file bound on it").unwrap();
            let unbound = image(b.to_str().unwrap(), Kind::Overlay).unwrap();
            assert!(!is_memfd(&unbound), "control: the overlay of a file that is no mount point is made here");
            drop(unbound);
            let cstr = |p: &std::path::Path| std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            // SAFETY: a bind mount between two files of ours, in our private namespace.
            let bound = unsafe { libc::mount(cstr(&b).as_ptr(), cstr(&a).as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) };
            assert_eq!(bound, 0, "{}", std::io::Error::last_os_error());
            let fd = image(a.to_str().unwrap(), Kind::Overlay).unwrap();
            assert!(is_memfd(&fd), "the overlay would show the file under the bind: the copy instead");
            assert_eq!(std::fs::read(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap(), b"the file bound on it");

            let d = std::fs::File::open(&dir).unwrap();
            let mnt = lower_only(d.as_fd(), "test").unwrap();
            let at = dir.join("mnt");
            std::fs::create_dir(&at).unwrap();
            const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
            // SAFETY: move_mount of our detached mount onto a directory of ours, in our namespace.
            let moved = unsafe {
                libc::syscall(
                    libc::SYS_move_mount,
                    mnt.as_raw_fd(),
                    c"".as_ptr(),
                    libc::AT_FDCWD,
                    cstr(&at).as_ptr(),
                    MOVE_MOUNT_F_EMPTY_PATH,
                )
            };
            assert_eq!(moved, 0, "{}", std::io::Error::last_os_error());
            let inside = std::fs::File::open(at.join("a")).unwrap();
            assert!(!is_sealed(inside.as_fd()), "a read-only overlay mounted in the caller's namespace is not trusted");
            drop(inside);
            // SAFETY: unmounting our own mounts by path, in our namespace.
            unsafe {
                libc::umount2(cstr(&at).as_ptr(), libc::MNT_DETACH);
                libc::umount2(cstr(&a).as_ptr(), libc::MNT_DETACH);
            }
            std::fs::remove_dir_all(&dir).unwrap();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_missing_source_names_the_path() {
        let e = image("/nonexistent/lxts-helper", Kind::Overlay).unwrap_err();
        assert_eq!(e.errno, Some(libc::ENOENT));
        assert!(e.message.contains("/nonexistent/lxts-helper"), "{}", e.message);
    }
}
