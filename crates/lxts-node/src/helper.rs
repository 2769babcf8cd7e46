//! The helper executable as a sealed memfd, made once per Node process.

use std::os::fd::IntoRawFd;

use napi::Env;
use napi_derive::napi;

use crate::error::to_js;

/// A sealed, close-on-exec memfd copy of the file at `path` (the helper binary). The fd
/// stays open for the life of the process: spawning `/proc/self/fd/<fd>` runs the copy,
/// which no container can write through `/proc/self/exe` (CVE-2019-5736).
#[napi]
pub fn sealed_copy(env: Env, path: String) -> napi::Result<i32> {
    lxts_core::container::sealed::copy(&path).map(IntoRawFd::into_raw_fd).map_err(|e| to_js(&env, e))
}

/// Whether `fd` is still an open sealed memfd (the copy made by `sealedCopy`): checked before
/// each spawn, so an fd number closed behind lxts's back and reused is never executed.
#[napi]
pub fn is_sealed_fd(fd: i32) -> bool {
    // SAFETY: F_GET_SEALS on an arbitrary fd number only reads; a closed or non-memfd fd fails.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    seals >= 0 && seals & lxts_core::container::sealed::SEALS == lxts_core::container::sealed::SEALS
}

/// A helper started by [`launch_helper`]: its pid, a pidfd and Node's end of the control socket.
#[napi(object)]
pub struct LaunchedHelper {
    pub pid: i32,
    pub pidfd: i32,
    pub control: i32,
}

/// Start `executable` as `argv0` with `stdio` (-1: /dev/null; else that fd of ours), the
/// control socket on its fd 3 and, with `setsid`, its own session: `posix_spawn`, no fork of
/// Node (see `lxts_core::launch`). The caller owns the returned fds and reaps with [`reap_helper`].
#[napi]
pub fn launch_helper(env: Env, executable: String, argv0: String, stdio: Vec<i32>, setsid: bool) -> napi::Result<LaunchedHelper> {
    use lxts_core::launch::{self, Stdio};
    let pick = |i: usize| match stdio.get(i).copied() {
        Some(fd) if fd >= 0 => Stdio::Fd(fd),
        _ => Stdio::Null,
    };
    let l = launch::launch(&executable, &argv0, [pick(0), pick(1), pick(2)], setsid).map_err(|e| to_js(&env, e))?;
    Ok(LaunchedHelper { pid: l.pid, pidfd: l.pidfd.into_raw_fd(), control: l.control.into_raw_fd() })
}

/// How a reaped helper ended: `code`, or the `signal` that killed it.
#[napi(object)]
pub struct HelperEnded {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

/// Wait on a pool thread until the helper behind `pidfd` (from [`launch_helper`]) has exited,
/// reap it and close `pidfd`. Called once its control socket has closed, so the wait is short.
#[napi(ts_return_type = "Promise<HelperEnded>")]
pub fn reap_helper(pidfd: i32) -> napi::bindgen_prelude::AsyncTask<crate::blocking::Blocking<HelperEnded>> {
    crate::blocking::blocking(move || {
        // SAFETY: the caller hands over the pidfd from launch_helper, used once.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(pidfd) };
        match lxts_core::launch::wait(&fd, true)? {
            Some(lxts_core::launch::Ended::Code(c)) => Ok(HelperEnded { code: Some(c), signal: None }),
            Some(lxts_core::launch::Ended::Signal(s)) => Ok(HelperEnded { code: None, signal: Some(s) }),
            None => Err(lxts_core::Error::new(lxts_core::Code::Helper, "waitid: lxts-helper still running")),
        }
    })
}
