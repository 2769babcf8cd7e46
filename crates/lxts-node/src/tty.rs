//! Terminals owned by lxts: the receiving end of a console socket and window sizes.
//! Fds cross as plain numbers; JS owns (and closes) every fd returned here.

use std::os::fd::{BorrowedFd, IntoRawFd};

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

use crate::error::{to_js, Carried};
use lxts_core::container::console;
use lxts_core::{Code, Error};

fn borrowed(fd: i32) -> lxts_core::Result<BorrowedFd<'static>> {
    if fd < 0 {
        return Err(Error::new(Code::Syscall, format!("fd {fd} is not a file descriptor")));
    }
    // SAFETY: JS owns `fd` and keeps it open for the duration of the call.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Listen on a new unix socket at `path` (mode 0600, close-on-exec); returns its fd.
#[napi]
pub fn console_listen(env: Env, path: String) -> napi::Result<i32> {
    console::listen(&path).map(IntoRawFd::into_raw_fd).map_err(|e| to_js(&env, e))
}

/// Accepts one connection and receives one fd on a libuv pool thread.
pub struct ConsoleReceive {
    fd: i32,
    timeout_ms: u32,
    err: Carried,
}

impl Task for ConsoleReceive {
    type Output = i32;
    type JsValue = i32;

    fn compute(&mut self) -> napi::Result<i32> {
        borrowed(self.fd).and_then(|l| console::receive_master(l, self.timeout_ms)).map(IntoRawFd::into_raw_fd).map_err(|e| self.err.put(e))
    }

    fn resolve(&mut self, _env: Env, fd: i32) -> napi::Result<i32> {
        Ok(fd)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<i32> {
        Err(self.err.take(&env, err))
    }
}

/// Resolves the pty master fd (close-on-exec) sent over the listening socket `fd`
/// with `SCM_RIGHTS`. Rejects after `timeoutMs`, or at once after `consoleCancel(fd)`.
/// Keep `fd` open until this settles.
#[napi(ts_return_type = "Promise<number>")]
pub fn console_receive(fd: i32, timeout_ms: u32) -> AsyncTask<ConsoleReceive> {
    AsyncTask::new(ConsoleReceive { fd, timeout_ms, err: Carried(None) })
}

/// Wake a pending `consoleReceive(fd)` (it rejects). The fd stays open.
#[napi]
pub fn console_cancel(env: Env, fd: i32) -> napi::Result<()> {
    borrowed(fd).map(console::cancel).map_err(|e| to_js(&env, e))
}

/// A terminal's size in character cells.
#[napi(object)]
pub struct TtySize {
    pub cols: u32,
    pub rows: u32,
}

/// `TIOCGWINSZ`: the size of the terminal `fd`, or `null` when it is not a terminal.
#[napi]
pub fn tty_get_size(env: Env, fd: i32) -> napi::Result<Option<TtySize>> {
    let fd = borrowed(fd).map_err(|e| to_js(&env, e))?;
    Ok(console::window_size(fd).map(|(c, r)| TtySize { cols: u32::from(c), rows: u32::from(r) }))
}

/// `TIOCSWINSZ` on the terminal `fd` (on a pty master it reaches the container's
/// foreground process group as `SIGWINCH`).
#[napi]
pub fn tty_set_size(env: Env, fd: i32, cols: u32, rows: u32) -> napi::Result<()> {
    let clamp = |v: u32| v.min(u32::from(u16::MAX)) as u16;
    borrowed(fd).and_then(|f| console::set_window_size(f, clamp(cols), clamp(rows))).map_err(|e| to_js(&env, e))
}
