//! CVE-2019-5736: run from a sealed image of our own binary (a lower-only overlay, else a
//! memfd copy: `lxts_core::container::sealed`), so that a container reopening
//! `/proc/self/exe` can never write to the helper on disk.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use lxts_core::container::{sealed, sys};
use lxts_core::{Code, Error, Result};
use nix::errno::Errno;

/// Re-exec from a sealed image unless already running from one (as when Node spawned
/// the binding's). Returns only when sealed.
pub fn ensure() -> Result<()> {
    let exe = sys::open("/proc/self/exe", libc::O_RDONLY, Code::Syscall)?;
    if sealed::is_sealed(exe.as_fd()) {
        return Ok(());
    }
    drop(exe);
    let kind = sealed::Kind::from_env(std::env::var_os("LXTS_HELPER_IMAGE").as_deref());
    exec_fd(&sealed::image("/proc/self/exe", kind)?)
}

fn exec_fd(image: &OwnedFd) -> Result<()> {
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
    // SAFETY: execveat(AT_EMPTY_PATH) of our ELF image (O_PATH or memfd) with NUL-terminated argv/envp.
    unsafe { libc::syscall(libc::SYS_execveat, image.as_raw_fd(), empty.as_ptr(), argv.as_ptr(), envp.as_ptr(), libc::AT_EMPTY_PATH) };
    Err(Error::sys(Code::Syscall, "execveat", Some("sealed image"), Errno::last()))
}
