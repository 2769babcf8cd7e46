//! Processes by pid + start time: info, pidfd signal, pidfd wait.

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

use crate::error::{to_js, Carried};

/// `/proc/<pid>/stat` facts about a live (or zombie) process.
#[napi(object)]
pub struct NativeProcInfo {
    /// Field 22: clock ticks since boot when the process started.
    pub start_time: i64,
    /// Field 3: `R`, `S`, `D`, `Z`, `T`, …
    pub state: String,
}

/// The process's start time and state, or `null` when it does not exist.
#[napi]
pub fn process_info(pid: i32) -> Option<NativeProcInfo> {
    lxts_core::proc::info(pid).map(|i| NativeProcInfo { start_time: i.start_time as i64, state: i.state.to_string() })
}

/// Send `signal` through a pidfd if `pid` is still the process that started at
/// `startTime`; throws `ERR_LXTS_NO_SUCH_PROCESS` otherwise. A zombie is signalled
/// as `kill(2)` would (no-op success).
#[napi]
pub fn signal_process(env: Env, pid: i32, start_time: i64, signal: i32) -> napi::Result<()> {
    lxts_core::proc::signal(pid, start_time.max(0) as u64, signal).map_err(|e| to_js(&env, e))
}

/// Waits on a libuv pool thread for the process to exit.
pub struct WaitExit {
    pid: i32,
    start_time: u64,
    timeout_ms: i32,
    err: Carried,
}

impl Task for WaitExit {
    type Output = bool;
    type JsValue = bool;

    fn compute(&mut self) -> napi::Result<bool> {
        lxts_core::proc::wait_exit(self.pid, self.start_time, self.timeout_ms).map_err(|e| self.err.put(e))
    }

    fn resolve(&mut self, _env: Env, exited: bool) -> napi::Result<bool> {
        Ok(exited)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<bool> {
        Err(self.err.take(&env, err))
    }
}

/// Resolves `true` once the process has exited (zombie, reaped, or its pid now
/// names another process), `false` after `timeoutMs`. Polls a pidfd; never waits
/// on the process. Keep timeouts bounded: the wait holds a libuv pool thread.
#[napi(ts_return_type = "Promise<boolean>")]
pub fn wait_process_exit(pid: i32, start_time: i64, timeout_ms: i32) -> AsyncTask<WaitExit> {
    AsyncTask::new(WaitExit { pid, start_time: start_time.max(0) as u64, timeout_ms, err: Carried(None) })
}
