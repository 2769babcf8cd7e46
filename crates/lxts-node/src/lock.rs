//! Advisory file locks (`flock`) for the state directory, released by closing the fd.

use std::os::fd::{IntoRawFd, OwnedFd};

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use crate::error::{to_js, Carried};
use lxts_core::{Code, Error};

/// Open (creating, mode 0600) `path` close-on-exec and `flock` it.
/// `Ok(None)` when `nonblocking` and someone else holds the lock.
fn lock(path: &str, nonblocking: bool) -> lxts_core::Result<Option<OwnedFd>> {
    let flags = OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    let fd = open(path, flags, Mode::from_bits_truncate(0o600)).map_err(|e| Error::sys(Code::Syscall, "open", Some(path), e))?;
    let op = if nonblocking { libc::LOCK_EX | libc::LOCK_NB } else { libc::LOCK_EX };
    loop {
        // SAFETY: flock on an fd we own.
        let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&fd), op) };
        if rc == 0 {
            return Ok(Some(fd));
        }
        match Errno::last() {
            Errno::EINTR => continue,
            Errno::EWOULDBLOCK if nonblocking => return Ok(None),
            e => return Err(Error::sys(Code::Syscall, "flock", Some(path), e)),
        }
    }
}

/// Takes an exclusive lock on a libuv pool thread.
pub struct LockFile {
    path: String,
    err: Carried,
}

impl Task for LockFile {
    type Output = i32;
    type JsValue = i32;

    fn compute(&mut self) -> napi::Result<i32> {
        match lock(&self.path, false) {
            Ok(Some(fd)) => Ok(fd.into_raw_fd()),
            Ok(None) => Err(self.err.put(Error::new(Code::Syscall, format!("flock {}: not locked", self.path)))),
            Err(e) => Err(self.err.put(e)),
        }
    }

    fn resolve(&mut self, _env: Env, fd: i32) -> napi::Result<i32> {
        Ok(fd)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<i32> {
        Err(self.err.take(&env, err))
    }
}

/// Opens or creates `path` (O_CLOEXEC, mode 0600, not following a final symlink)
/// and waits for an exclusive `flock`. Resolves the fd; release with
/// `fs.closeSync(fd)`.
#[napi(ts_return_type = "Promise<number>")]
pub fn lock_file(path: String) -> AsyncTask<LockFile> {
    AsyncTask::new(LockFile { path, err: Carried(None) })
}

/// As `lockFile` without waiting: the fd, or `null` when another holder has the lock.
#[napi]
pub fn try_lock_file(env: Env, path: String) -> napi::Result<Option<i32>> {
    match lock(&path, true) {
        Ok(fd) => Ok(fd.map(IntoRawFd::into_raw_fd)),
        Err(e) => Err(to_js(&env, e)),
    }
}
