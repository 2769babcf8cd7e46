//! CVE-2019-5736: the helper runs from a sealed memfd copy of its binary, so a container
//! that reopens `/proc/self/exe` can never write to the file on disk. The copy is made
//! either by the helper itself (then re-exec) or once per Node process by the binding,
//! which then spawns `/proc/self/fd/N` and saves every helper that copy and the re-exec.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::sys;
use crate::{Code, Error, Result};

/// The seals that make a memfd immutable.
pub const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether `fd` is a memfd carrying every seal of [`SEALS`].
pub fn is_sealed(fd: &OwnedFd) -> bool {
    // SAFETY: F_GET_SEALS on an open fd; a regular file answers EINVAL.
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & SEALS == SEALS
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

    #[test]
    fn a_copy_is_sealed_and_equal_and_cannot_be_written() {
        let me = std::env::current_exe().unwrap();
        let fd = copy(&me.to_string_lossy()).unwrap();
        assert!(is_sealed(&fd));
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&me).unwrap());
        let mut w = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let e = std::io::Write::write(&mut w, b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "a write-sealed memfd refuses writes");
        let plain = sys::open("/proc/self/exe", libc::O_RDONLY, Code::Syscall).unwrap();
        assert!(!is_sealed(&plain), "the test binary on disk is not a sealed memfd");
    }

    #[test]
    fn a_missing_source_names_the_path() {
        let e = copy("/nonexistent/lxts-helper").unwrap_err();
        assert_eq!(e.errno, Some(libc::ENOENT));
        assert!(e.message.contains("/nonexistent/lxts-helper"), "{}", e.message);
    }
}
