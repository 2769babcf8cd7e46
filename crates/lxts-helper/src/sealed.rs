//! CVE-2019-5736: run from a sealed memfd copy of our own binary, so that a
//! container reopening `/proc/self/exe` can never write to the helper on disk.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use lxts_core::container::sys;
use lxts_core::{Code, Error, Result};
use nix::errno::Errno;

const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// `true` when `/proc/self/exe` already is a sealed memfd.
fn is_sealed() -> Result<bool> {
    let exe = sys::open("/proc/self/exe", libc::O_RDONLY, Code::Syscall)?;
    // SAFETY: F_GET_SEALS on an open fd; a regular file answers EINVAL.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    Ok(seals >= 0 && seals & SEALS == SEALS)
}

/// Re-exec from a sealed copy unless already running from one. Returns only when sealed.
pub fn ensure() -> Result<()> {
    if is_sealed()? {
        return Ok(());
    }
    let name = CString::new("lxts-helper").map_err(|_| Error::new(Code::Syscall, "memfd name"))?;
    // SAFETY: memfd_create with a valid name; the fd is ours.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    let memfd = sys::owned(sys::cvt(fd, Code::Syscall, "memfd_create", None)?);
    let mut src = std::fs::File::open("/proc/self/exe").map_err(|e| io(e, "open", "/proc/self/exe"))?;
    // SAFETY: a File over a dup of the memfd, so `memfd` stays ours.
    let mut dst = unsafe { std::fs::File::from_raw_fd(libc::dup(memfd.as_raw_fd())) };
    std::io::copy(&mut src, &mut dst).map_err(|e| io(e, "write", "memfd"))?;
    drop(dst);
    // SAFETY: F_ADD_SEALS on our memfd.
    sys::cvt(unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) }, Code::Syscall, "fcntl", Some("F_ADD_SEALS"))?;
    exec_fd(&memfd)
}

fn exec_fd(memfd: &OwnedFd) -> Result<()> {
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::new(Code::Syscall, "argv has a NUL byte"))?;
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = std::os::unix::ffi::OsStrExt::as_bytes(k.as_os_str()).to_vec();
            kv.push(b'=');
            kv.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()));
            CString::new(kv).ok()
        })
        .collect();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let empty = CString::default();
    // SAFETY: execveat(AT_EMPTY_PATH) of an ELF memfd with NUL-terminated argv/envp.
    unsafe { libc::syscall(libc::SYS_execveat, memfd.as_raw_fd(), empty.as_ptr(), argv.as_ptr(), envp.as_ptr(), libc::AT_EMPTY_PATH) };
    Err(Error::sys(Code::Syscall, "execveat", Some("sealed memfd"), Errno::last()))
}

fn io(e: std::io::Error, syscall: &'static str, path: &str) -> Error {
    Error::sys(Code::Syscall, syscall, Some(path), Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}
