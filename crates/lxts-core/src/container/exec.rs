//! The last steps of the init: find `process.args[0]`, wait on `exec.fifo`,
//! `execve`. Failures after `ready` go into the fifo as one JSON line.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;

use nix::errno::Errno;

pub mod enter;
pub mod process;

use super::sys;
use crate::plan::Process;
use crate::{Code, Error, Result};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What `execve` needs, built before the fifo wait.
pub struct Exec {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

fn is_executable(path: &str) -> Option<bool> {
    let md = std::fs::metadata(path).ok()?;
    Some(md.is_file() && md.permissions().mode() & 0o111 != 0)
}

/// Find `process.args[0]` in the container (run after pivot and chdir).
pub fn lookup(process: &Process) -> Result<Exec> {
    let Some(arg0) = process.args.first() else {
        return Err(Error::new(Code::InvalidConfig, "process.args must not be empty"));
    };
    let not_found = || {
        let mut e = Error::new(Code::ExecNotFound, format!("exec {arg0:?}: executable file not found in $PATH or the container"));
        e.path = Some(arg0.clone());
        e
    };
    let path = if arg0.contains('/') {
        match is_executable(arg0) {
            None => return Err(not_found()),
            Some(false) => return Err(Error::new(Code::ExecFailed, format!("exec {arg0:?}: not an executable file"))),
            Some(true) => arg0.clone(),
        }
    } else {
        let search = process.env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or(DEFAULT_PATH);
        search
            .split(':')
            .map(|d| if d.is_empty() { format!("./{arg0}") } else { format!("{d}/{arg0}") })
            .find(|p| is_executable(p) == Some(true))
            .ok_or_else(not_found)?
    };
    let mut envp: Vec<CString> = process.env.iter().map(|a| sys::cstr(a)).collect::<Result<_>>()?;
    if !process.env.iter().any(|e| e.starts_with("HOME=")) {
        // As runc: HOME from the container's /etc/passwd (we are inside the root now), else "/".
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let home = passwd_home(&passwd, process.user.uid).unwrap_or("/");
        envp.push(sys::cstr(&format!("HOME={home}"))?);
    }
    Ok(Exec { path: sys::cstr(&path)?, argv: process.args.iter().map(|a| sys::cstr(a)).collect::<Result<_>>()?, envp })
}

/// The home directory of `uid` in passwd(5) text.
pub fn passwd_home(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].parse::<u32>().ok() == Some(uid) && !f[5].is_empty()).then(|| f[5])
    })
}

/// Reopen the fifo for writing through `/proc/self/fd/N` of the verified host
/// procfs; blocks until `start` opens it for reading.
pub fn open_fifo(proc_fd: &OwnedFd, fifo_path_fd: &OwnedFd) -> Result<OwnedFd> {
    let rel = sys::cstr(&format!("self/fd/{}", fifo_path_fd.as_raw_fd()))?;
    loop {
        // SAFETY: `proc_fd` is an open procfs directory and `rel` a valid C string.
        let fd = unsafe { libc::openat(proc_fd.as_raw_fd(), rel.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd >= 0 {
            return Ok(sys::owned(fd));
        }
        if Errno::last() != Errno::EINTR {
            return Err(Error::sys(Code::Syscall, "open", Some("exec.fifo"), Errno::last()));
        }
    }
}

/// Signal success with a `0` byte and exec. On failure write the error line and exit.
pub fn exec(e: &Exec, fifo: OwnedFd) -> ! {
    let mut argv: Vec<*const libc::c_char> = e.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = e.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: writing one byte from a static buffer to an open fd.
    unsafe { libc::write(fifo.as_raw_fd(), [0u8].as_ptr().cast(), 1) };
    // SAFETY: `path`, `argv` and `envp` are NUL-terminated arrays of valid C strings.
    unsafe { libc::execve(e.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let errno = Errno::last();
    let (code, status) = if errno == Errno::ENOENT { (Code::ExecNotFound, 127) } else { (Code::ExecFailed, 126) };
    let msg = format!("exec {}: {}", e.path.to_string_lossy(), errno.desc());
    let line = serde_json::json!({ "code": code.as_str(), "message": msg });
    // SAFETY: we own `fifo`; wrapping it as a File only to write the line.
    let mut f = unsafe { std::fs::File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(fifo)) };
    let _ = writeln!(f, "{line}");
    // SAFETY: _exit ends the init without running the helper's destructors.
    unsafe { libc::_exit(status) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_from_passwd() {
        let pw = "root:x:0:0:root:/root:/bin/sh\n# comment\nuser:x:1000:1000::/home/user:/bin/sh\nbad:line\n";
        assert_eq!(passwd_home(pw, 0), Some("/root"));
        assert_eq!(passwd_home(pw, 1000), Some("/home/user"));
        assert_eq!(passwd_home(pw, 5), None);
    }
}
