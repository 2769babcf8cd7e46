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
