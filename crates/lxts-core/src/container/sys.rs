//! Thin wrappers over raw syscalls used by the container side: errno capture,
//! `openat2`, procfs checks and C strings. Every error names its syscall and path.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::{Code, Error, Result};

/// Filesystem types (`statfs` `f_type`) from `<linux/magic.h>`.
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
pub const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;

pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

/// `struct open_how` of `openat2(2)`.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Turn a `-1` return into an [`Error`] carrying errno, syscall and path.
pub fn cvt(ret: libc::c_int, code: Code, syscall: &'static str, path: Option<&str>) -> Result<libc::c_int> {
    if ret < 0 {
        Err(Error::sys(code, syscall, path, Errno::last()))
    } else {
        Ok(ret)
    }
}

/// Take ownership of a freshly returned fd.
pub fn owned(fd: libc::c_int) -> OwnedFd {
    // SAFETY: callers pass an fd that a syscall just returned and nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A C string; interior NULs are a config error naming the value.
pub fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(Code::InvalidConfig, format!("string contains a NUL byte: {s:?}")))
}

/// `openat2(dirfd, path, flags, mode, resolve)`; `O_CLOEXEC` is always added.
pub fn openat2(dir: BorrowedFd<'_>, path: &str, flags: i32, mode: u32, resolve: u64) -> std::result::Result<OwnedFd, Errno> {
    let c = CString::new(path).map_err(|_| Errno::EINVAL)?;
    let how = OpenHow { flags: (flags | libc::O_CLOEXEC) as u64, mode: u64::from(mode), resolve };
    // SAFETY: `c` is a valid NUL-terminated string and `how` a properly sized open_how
    // that both outlive the call.
    let ret =
        unsafe { libc::syscall(libc::SYS_openat2, dir.as_raw_fd(), c.as_ptr(), &how as *const OpenHow, std::mem::size_of::<OpenHow>()) };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(owned(ret as RawFd))
    }
}

/// Plain `open(path, flags|O_CLOEXEC)` for host paths.
pub fn open(path: &str, flags: i32, code: Code) -> Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: `c` is a valid C string for the duration of the call.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
    cvt(fd, code, "open", Some(path)).map(owned)
}

/// A new regular file `name` in the directory `dir`, opened for writing: `O_CREAT|O_EXCL|
/// O_NOFOLLOW`, so an existing file, or a symlink planted there, is refused, never followed.
pub fn create_new(dir: BorrowedFd<'_>, name: &std::ffi::CStr, mode: libc::mode_t, code: Code, what: &str) -> Result<OwnedFd> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: an open directory fd and a valid C string; the fd returned is ours.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode) };
    cvt(fd, code, "openat", Some(what)).map(owned)
}

/// `fstat` an fd.
pub fn fstat(fd: BorrowedFd<'_>, what: &str) -> Result<libc::stat> {
    // SAFETY: an all-zero `stat` is a valid value; the kernel fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` is a writable stat buffer.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, Code::Syscall, "fstat", Some(what))?;
    Ok(st)
}

/// `statx(fd, "", AT_EMPTY_PATH, mask)` by raw syscall: musl added the wrapper only in 1.2.5,
/// which older Rust toolchains do not bundle for the helper's static musl build.
pub fn statx(fd: BorrowedFd<'_>, mask: libc::c_uint) -> std::result::Result<libc::statx, Errno> {
    // SAFETY: an all-zero statx is a valid value; the kernel fills it.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open, the path an empty C string with AT_EMPTY_PATH, `st` writable.
    let ret =
        unsafe { libc::syscall(libc::SYS_statx, fd.as_raw_fd(), c"".as_ptr(), libc::AT_EMPTY_PATH, mask, &mut st as *mut libc::statx) };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(st)
    }
}

/// One `fsconfig(2)` parameter of [`fs_mount`].
pub enum FsParam<'a> {
    /// `FSCONFIG_SET_FLAG key`.
    Flag(&'a CStr),
    /// `FSCONFIG_SET_STRING key=value`.
    Str(&'a CStr, &'a CStr),
    /// `FSCONFIG_SET_FD key=fd`.
    Fd(&'a CStr, BorrowedFd<'a>),
}

/// `MOUNT_ATTR_*` of `fsmount(2)` and `mount_setattr(2)`.
pub const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
pub const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
pub const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// A detached copy (`open_tree(OPEN_TREE_CLONE)`, close-on-exec) of the mount tree at the open
/// `fd` (the whole tree below it with `recursive`). Errors carry `code` and `what`.
pub fn clone_tree(fd: BorrowedFd<'_>, recursive: bool, code: Code, what: &str) -> Result<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let flags = OPEN_TREE_CLONE
        | (libc::O_CLOEXEC | libc::AT_EMPTY_PATH) as libc::c_uint
        | if recursive { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    // SAFETY: open_tree of an open fd with an empty path; the fd returned is ours.
    let tree = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) } as libc::c_int;
    Ok(owned(cvt(tree, code, "open_tree", Some(what))?))
}

/// Attach the detached mount `tree` onto the open `target` (`move_mount`, both by fd: no path
/// is walked). Errors carry `code` and `what`.
pub fn attach_tree(tree: BorrowedFd<'_>, target: BorrowedFd<'_>, code: Code, what: &str) -> Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: move_mount between two open fds with empty paths.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    } as libc::c_int;
    cvt(ret, code, "move_mount", Some(what)).map(|_| ())
}

/// The bit mask of a list such as `0-3,7` (CPUs, NUMA nodes), one bit per id, in 64-bit words;
/// at most a page of bits, as the kernel takes. `None` when it is no such list.
pub fn id_mask(list: &str) -> Option<Vec<u64>> {
    let mut words: Vec<u64> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        if a > b || b >= 4096 * 8 {
            return None;
        }
        for n in a..=b {
            if words.len() <= n / 64 {
                words.resize(n / 64 + 1, 0);
            }
            words[n / 64] |= 1 << (n % 64);
        }
    }
    Some(words)
}

/// `mount_setattr(2)` of the mount `fd` is the root of (and, `recursive`, every mount below
/// it). Errors carry `code` and `what`.
pub fn mount_setattr(fd: BorrowedFd<'_>, attr: &MountAttr, recursive: bool, code: Code, what: &str) -> Result<()> {
    let flags = libc::AT_EMPTY_PATH as libc::c_uint | if recursive { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    // SAFETY: mount_setattr on an open fd with an empty path and a live mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    cvt(ret as libc::c_int, code, "mount_setattr", Some(what)).map(|_| ())
}

/// A detached mount (`fsopen`, `fsconfig`, `fsmount`: attached nowhere, so no path is
/// followed) of a new `fstype` superblock with `params`, mount attributes `attrs`, close-on-exec.
/// Errors carry `code`, the call, `what` and the filesystem type.
pub fn fs_mount(fstype: &CStr, params: &[FsParam<'_>], attrs: libc::c_uint, code: Code, what: &str) -> Result<OwnedFd> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_SET_FLAG: libc::c_uint = 0;
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    const FSCONFIG_SET_FD: libc::c_uint = 5;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    let ty = fstype.to_string_lossy();
    let fail = |call: &'static str| Error::sys(code, call, Some(what), Errno::last()).context(ty.clone());
    // SAFETY: fsopen with a valid C string; the fd is ours.
    let ctx = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) } as libc::c_int;
    if ctx < 0 {
        return Err(fail("fsopen"));
    }
    let ctx = owned(ctx);
    let null = std::ptr::null::<libc::c_char>();
    for param in params {
        // SAFETY: fsconfig on our context with valid C strings and, for SET_FD, an fd open
        // for the call.
        let ret = unsafe {
            match param {
                FsParam::Flag(key) => libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_SET_FLAG, key.as_ptr(), null, 0),
                FsParam::Str(key, value) => {
                    libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_SET_STRING, key.as_ptr(), value.as_ptr(), 0)
                }
                FsParam::Fd(key, fd) => {
                    libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_SET_FD, key.as_ptr(), null, fd.as_raw_fd())
                }
            }
        };
        if ret < 0 {
            return Err(fail("fsconfig"));
        }
    }
    // SAFETY: fsconfig(CMD_CREATE) on our context.
    if unsafe { libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), FSCONFIG_CMD_CREATE, null, null, 0) } < 0 {
        return Err(fail("fsconfig"));
    }
    // SAFETY: fsmount of our configured context; the mount fd is ours.
    let m = unsafe { libc::syscall(libc::SYS_fsmount, ctx.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) } as libc::c_int;
    if m < 0 {
        return Err(fail("fsmount"));
    }
    Ok(owned(m))
}

/// The filesystem type (`f_type`, a `*_SUPER_MAGIC`) of the file `fd` names.
pub fn fs_magic(fd: BorrowedFd<'_>, code: Code, what: &str) -> Result<i64> {
    // SAFETY: an all-zero statfs is valid; the kernel fills it.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` writable.
    cvt(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) }, code, "fstatfs", Some(what))?;
    Ok(st.f_type as i64)
}

/// `fstatvfs` flags (`ST_RDONLY`, `ST_NOSUID`, …) of the mount holding `fd`.
pub fn mount_flags_of(fd: BorrowedFd<'_>, what: &str) -> Result<u64> {
    // SAFETY: an all-zero `statvfs` is valid; the kernel fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` is a writable statvfs buffer.
    cvt(unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) }, Code::Mount, "fstatvfs", Some(what))?;
    Ok(st.f_flag)
}

/// Open `/proc` of the current mount namespace and check that it really is procfs.
pub fn open_host_proc() -> Result<OwnedFd> {
    let fd = open("/proc", libc::O_PATH | libc::O_DIRECTORY, Code::Mount)?;
    if fs_magic(std::os::fd::AsFd::as_fd(&fd), Code::Mount, "/proc")? != PROC_SUPER_MAGIC {
        return Err(Error::new(Code::UnsafePath, "/proc on the host is not procfs").context("fstatfs /proc"));
    }
    Ok(fd)
}

/// The magic-link path that names `fd` for `mount(2)`: `/proc/self/fd/N`.
/// Only used after [`open_host_proc`] verified that `/proc` is procfs.
pub fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// `mount(2)` with optional source, fstype and data.
pub fn mount(src: Option<&str>, target: &str, fstype: Option<&str>, flags: u64, data: Option<&str>, what: &str) -> Result<()> {
    let src_c = src.map(cstr).transpose()?;
    let target_c = cstr(target)?;
    let fstype_c = fstype.map(cstr).transpose()?;
    let data_c = data.filter(|d| !d.is_empty()).map(cstr).transpose()?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is either null or a valid C string living across the call.
    let ret =
        unsafe { libc::mount(ptr(&src_c), target_c.as_ptr(), ptr(&fstype_c), flags as libc::c_ulong, ptr(&data_c) as *const libc::c_void) };
    cvt(ret, Code::Mount, "mount", Some(what)).map(|_| ())
}

/// `prctl(op, arg, 0, 0, 0)`; `what` names the operation in the error (`PR_SET_NO_NEW_PRIVS`).
pub fn prctl(op: libc::c_int, arg: libc::c_ulong, what: &'static str) -> Result<()> {
    // SAFETY: prctl with integer arguments.
    cvt(unsafe { libc::prctl(op, arg, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) }, Code::Process, "prctl", Some(what))
        .map(|_| ())
}
