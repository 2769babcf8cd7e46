//! The helper executable as a sealed image, made once per Node process.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

use napi::Env;
use napi_derive::napi;

use crate::error::to_js;

/// The images [`sealed_image`] made: fd number, device and inode.
static IMAGES: std::sync::Mutex<Vec<(i32, u64, u64)>> = std::sync::Mutex::new(Vec::new());

/// A sealed, close-on-exec image of the file at `path` (the helper binary): an `O_PATH` fd
/// through a lower-only overlay, else (or with `memfd`) a sealed memfd copy. The fd stays open
/// for the life of the process: spawning `/proc/self/fd/<fd>` runs the image, which no
/// container can write through `/proc/self/exe` (CVE-2019-5736).
#[napi]
pub fn sealed_image(env: Env, path: String, memfd: bool) -> napi::Result<i32> {
    use lxts_core::container::{sealed, sys};
    let kind = if memfd { sealed::Kind::Memfd } else { sealed::Kind::Overlay };
    let fd = sealed::image(&path, kind).map_err(|e| to_js(&env, e))?;
    let st = sys::fstat(fd.as_fd(), &path).map_err(|e| to_js(&env, e))?;
    let fd = fd.into_raw_fd();
    IMAGES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((fd, st.st_dev, st.st_ino));
    Ok(fd)
}

/// Whether `fd` is still the open sealed image [`sealed_image`] made under that number (the
/// same device and inode): checked before each spawn, so an fd number closed behind lxts's
/// back and reused is never executed. Being that file is enough: a memfd's seals cannot be
/// removed (`F_SEAL_SEAL`), nor an overlay without an upper layer made writable.
#[napi]
pub fn is_sealed_fd(fd: i32) -> bool {
    // SAFETY: an all-zero stat is valid; fstat on any number only reads (EBADF if closed).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is writable.
    if fd < 0 || unsafe { libc::fstat(fd, &mut st) } < 0 {
        return false;
    }
    IMAGES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&(fd, st.st_dev, st.st_ino))
}

/// A helper started by [`launch_helper`]: its pid, a pidfd and Node's end of the control socket.
#[napi(object)]
pub struct LaunchedHelper {
    pub pid: i32,
    pub pidfd: i32,
    pub control: i32,
    /// How many bytes of `first` are already on the control channel.
    pub sent: u32,
}

/// Start `executable` as `argv0` with `env` (`KEY=VALUE`, Node's `process.env`), `stdio`
/// (-1: /dev/null; else that fd of ours), the control socket on its fd 3 and, with `setsid`,
/// its own session: `posix_spawn`, no fork of Node (see `lxts_core::launch`). `first` (the
/// plan line) is queued on the channel before the spawn, as much of it as fits (`sent`); the
/// caller sends the rest. The caller owns the returned fds: it reaps with
/// [`try_reap_helper`], then closes the pidfd itself.
#[napi]
pub fn launch_helper(
    env: Env,
    executable: String,
    argv0: String,
    environ: Vec<String>,
    stdio: Vec<i32>,
    setsid: bool,
    first: Option<napi::bindgen_prelude::Buffer>,
) -> napi::Result<LaunchedHelper> {
    use lxts_core::launch::{self, Stdio};
    let pick = |i: usize| match stdio.get(i).copied() {
        Some(fd) if fd >= 0 => Stdio::Fd(fd),
        _ => Stdio::Null,
    };
    let first = first.as_ref().map_or(&[][..], |b| &b[..]);
    let l = launch::launch(&executable, &argv0, &environ, [pick(0), pick(1), pick(2)], setsid, first).map_err(|e| to_js(&env, e))?;
    Ok(LaunchedHelper { pid: l.pid, pidfd: l.pidfd.into_raw_fd(), control: l.control.into_raw_fd(), sent: l.sent as u32 })
}

/// How a reaped helper ended: `code`, or the `signal` that killed it.
#[napi(object)]
pub struct HelperEnded {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

/// Borrow the caller's pidfd for one call (it stays open: the caller closes it).
fn with_pidfd<T>(pidfd: i32, f: impl FnOnce(&OwnedFd) -> T) -> T {
    // SAFETY: the caller's open pidfd from launch_helper; ManuallyDrop leaves it open.
    let fd = std::mem::ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(pidfd) });
    f(&fd)
}

/// Reap the helper behind `pidfd` if it has exited (`waitid(P_PIDFD, WNOHANG)`): how it
/// ended, or null while it runs. Never blocks, so no pool thread waits on a live helper.
#[napi]
pub fn try_reap_helper(env: Env, pidfd: i32) -> napi::Result<Option<HelperEnded>> {
    use lxts_core::launch::{self, Ended};
    Ok(match with_pidfd(pidfd, |fd| launch::wait(fd, false)).map_err(|e| to_js(&env, e))? {
        Some(Ended::Code(c)) => Some(HelperEnded { code: Some(c), signal: None }),
        Some(Ended::Signal(s)) => Some(HelperEnded { code: None, signal: Some(s) }),
        None => None,
    })
}

/// Wait on a pool thread up to `timeout_ms` for the helper behind `pidfd` to exit (`poll` on
/// the pidfd), then reap it if it has: how it ended, or null while it still runs. For the
/// moment between a helper closing its control socket and its exit, which `try_reap_helper`
/// can just miss; bounded, so no pool thread waits on a helper that lives on.
#[napi(ts_return_type = "Promise<HelperEnded | null>")]
pub fn wait_helper(pidfd: i32, timeout_ms: i32) -> napi::bindgen_prelude::AsyncTask<crate::blocking::Blocking<Option<HelperEnded>>> {
    crate::blocking::blocking(move || {
        use lxts_core::launch::{self, Ended};
        let ended = with_pidfd(pidfd, |fd| {
            let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one pollfd on the caller's open pidfd (readable once the child exits).
            unsafe { libc::poll(&mut p, 1, timeout_ms.max(0)) };
            launch::wait(fd, false)
        })?;
        Ok(ended.map(|e| match e {
            Ended::Code(c) => HelperEnded { code: Some(c), signal: None },
            Ended::Signal(s) => HelperEnded { code: None, signal: Some(s) },
        }))
    })
}

/// Signal the helper behind `pidfd`; false once it has exited (ESRCH): a pidfd never reaches
/// a process that took its pid since.
#[napi]
pub fn signal_helper(env: Env, pidfd: i32, signal: i32) -> napi::Result<bool> {
    match with_pidfd(pidfd, |fd| lxts_core::launch::signal(fd, signal)) {
        Ok(()) => Ok(true),
        Err(e) if e.errno == Some(libc::ESRCH) => Ok(false),
        Err(e) => Err(to_js(&env, e)),
    }
}
