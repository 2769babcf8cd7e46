//! `linux.resources` for `update`, stats for `events`, and an OOM watcher.
//!
//! All take the container's cgroup directories as recorded in its state; the
//! hierarchy of each is found again from mountinfo.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lxts_core::cgroups::oom::{self, OomWatcher};
use lxts_core::cgroups::resources::{self, Target};
use lxts_core::cgroups::{self, stats};
use lxts_core::plan::Resources;
use lxts_core::{Code, Error};
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

use crate::error::{to_js, Carried};

fn target(env: &Env, dirs: Vec<String>) -> napi::Result<Target> {
    let host = cgroups::detect().map_err(|e| to_js(env, e))?;
    Ok(Target::new(&host, &dirs.into_iter().map(PathBuf::from).collect::<Vec<_>>()))
}

/// Apply `linux.resources` (JSON text) to the cgroup directories `dirs`. Returns
/// warnings (settings the kernel ignores). Errors name the field.
#[napi]
pub fn cgroup_apply_resources(env: Env, dirs: Vec<String>, resources_json: String) -> napi::Result<Vec<String>> {
    let res: Resources =
        serde_json::from_str(&resources_json).map_err(|e| to_js(&env, Error::new(Code::InvalidConfig, format!("linux.resources: {e}"))))?;
    let t = target(&env, dirs)?;
    resources::apply_update(&t, &res).map_err(|e| to_js(&env, e))
}

/// Usage stats of the cgroup directories `dirs` as JSON text (runc's `events --stats` `data`).
#[napi]
pub fn cgroup_stats(env: Env, dirs: Vec<String>) -> napi::Result<String> {
    let t = target(&env, dirs)?;
    let s = stats::read(&t).map_err(|e| to_js(&env, e))?;
    serde_json::to_string(&s).map_err(|e| to_js(&env, Error::new(Code::Cgroup, format!("stats: {e}"))))
}

/// OOM kills recorded in the container's memory cgroup, or null when it has none (or it is gone).
#[napi]
pub fn cgroup_oom_kills(env: Env, dirs: Vec<String>) -> napi::Result<Option<i64>> {
    let t = target(&env, dirs)?;
    Ok(oom::oom_kills(&t).map(|n| n as i64))
}

/// What one wait saw.
#[napi(object)]
pub struct NativeOomWait {
    /// New OOM kills since the last wait.
    pub kills: i64,
    /// The memory cgroup is gone (the container was deleted).
    pub gone: bool,
}

/// Watches one container's memory cgroup for OOM kills (v1: eventfd registered via
/// `cgroup.event_control`; v2: `memory.events`). `wait` runs on a libuv pool thread
/// with a timeout, so callers loop without blocking the JS thread.
#[napi]
pub struct NativeOomWatcher {
    inner: Arc<Mutex<Option<OomWatcher>>>,
}

#[napi]
impl NativeOomWatcher {
    #[napi(constructor)]
    pub fn new(env: Env, dirs: Vec<String>) -> napi::Result<Self> {
        let t = target(&env, dirs)?;
        let w = OomWatcher::new(&t).map_err(|e| to_js(&env, e))?;
        Ok(NativeOomWatcher { inner: Arc::new(Mutex::new(Some(w))) })
    }

    /// Wait up to `timeoutMs` (bounded: it holds a pool thread) for OOM kills.
    #[napi(ts_return_type = "Promise<NativeOomWait>")]
    pub fn wait(&self, timeout_ms: u32) -> AsyncTask<OomWaitTask> {
        AsyncTask::new(OomWaitTask { inner: self.inner.clone(), timeout_ms, err: Carried(None) })
    }

    /// Release the eventfd. Later waits report `gone`.
    #[napi]
    pub fn close(&self) {
        if let Ok(mut g) = self.inner.lock() {
            *g = None;
        }
    }
}

pub struct OomWaitTask {
    inner: Arc<Mutex<Option<OomWatcher>>>,
    timeout_ms: u32,
    err: Carried,
}

impl Task for OomWaitTask {
    type Output = (u64, bool);
    type JsValue = NativeOomWait;

    fn compute(&mut self) -> napi::Result<(u64, bool)> {
        let mut g = self.inner.lock().map_err(|_| self.err.put(Error::new(Code::Cgroup, "OOM watcher poisoned")))?;
        let Some(w) = g.as_mut() else { return Ok((0, true)) };
        let r = w.wait(Duration::from_millis(u64::from(self.timeout_ms.min(60_000)))).map_err(|e| self.err.put(e))?;
        Ok((r.kills, r.gone))
    }

    fn resolve(&mut self, _env: Env, (kills, gone): (u64, bool)) -> napi::Result<NativeOomWait> {
        Ok(NativeOomWait { kills: kills as i64, gone })
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<NativeOomWait> {
        Err(self.err.take(&env, err))
    }
}
