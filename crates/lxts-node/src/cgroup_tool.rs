//! Cgroup primitives for the library's `cgroups` API and `lxts cgroup …`, plus
//! freeze/thaw and kill-all for pause/resume and `kill --all`. Anything that waits
//! runs on a libuv pool thread (`AsyncTask`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lxts_core::cgroups::{self, freeze, notify, tool};
use napi::bindgen_prelude::AsyncTask;
use napi::Env;
use napi_derive::napi;

use crate::blocking::{blocking, Blocking};
use crate::error::to_js;

fn paths(dirs: Vec<String>) -> Vec<PathBuf> {
    dirs.into_iter().map(PathBuf::from).collect()
}

/// Freeze (`frozen`) or thaw every freezable directory and wait until the kernel
/// reports it (v1 `freezer.state`, v2 `cgroup.events`), at most `timeoutMs`.
#[napi(ts_return_type = "Promise<void>")]
pub fn cgroup_freeze(dirs: Vec<String>, frozen: bool, timeout_ms: u32) -> AsyncTask<Blocking<()>> {
    let dirs = paths(dirs);
    blocking(move || freeze::set_frozen(&dirs, frozen, Duration::from_millis(u64::from(timeout_ms))))
}

/// `true` when frozen, `false` when thawed, `null` when no directory has a freezer.
#[napi]
pub fn cgroup_frozen(dirs: Vec<String>) -> Option<bool> {
    freeze::is_frozen(&paths(dirs))
}

/// Signal every process in the directories and their child groups (v2 `cgroup.kill`
/// for SIGKILL, else freeze + one pidfd per pid + thaw). Resolves to the count.
#[napi(ts_return_type = "Promise<number>")]
pub fn cgroup_kill_all(dirs: Vec<String>, signal: i32) -> AsyncTask<Blocking<u32>> {
    let dirs = paths(dirs);
    blocking(move || freeze::kill_all(&dirs, signal).map(|n| n as u32))
}

/// Pids in the directories and all their child groups (sorted, deduplicated).
#[napi]
pub fn cgroup_pids_recursive(env: Env, dirs: Vec<String>) -> napi::Result<Vec<i32>> {
    freeze::pids_recursive(&paths(dirs)).map_err(|e| to_js(&env, e))
}

/// One controller, named hierarchy or cgroup2.
#[napi(object)]
pub struct NativeSubsystem {
    pub name: String,
    pub hierarchy: u32,
    pub num_cgroups: u32,
    pub enabled: bool,
    pub mount_points: Vec<String>,
}

/// `/proc/cgroups` joined with the mounts (plus named hierarchies and cgroup2).
#[napi]
pub fn cgroup_subsystems(env: Env) -> napi::Result<Vec<NativeSubsystem>> {
    let subs = tool::subsystems().map_err(|e| to_js(&env, e))?;
    Ok(subs
        .into_iter()
        .map(|s| NativeSubsystem {
            name: s.name,
            hierarchy: s.hierarchy,
            num_cgroups: s.num_cgroups,
            enabled: s.enabled,
            mount_points: s.mount_points.iter().map(|p| p.to_string_lossy().into_owned()).collect(),
        })
        .collect())
}

/// Mount a v1 hierarchy (`controllers`, and/or a new named hierarchy `name`) at `dir`.
#[napi]
pub fn cgroup_mount(env: Env, dir: String, controllers: Vec<String>, name: Option<String>) -> napi::Result<()> {
    tool::mount_hierarchy(Path::new(&dir), &controllers, name.as_deref()).map_err(|e| to_js(&env, e))
}

/// Unmount the cgroup hierarchy mounted at `dir`.
#[napi]
pub fn cgroup_umount(env: Env, dir: String) -> napi::Result<()> {
    tool::umount_hierarchy(Path::new(&dir)).map_err(|e| to_js(&env, e))
}

/// Whether lxts mounted the hierarchy at `mountPoint` itself.
#[napi]
pub fn cgroup_is_owned(mount_point: String) -> bool {
    tool::is_owned(Path::new(&mount_point))
}

/// mkdir -p the absolute cgroup `path` under each hierarchy mounted at one of
/// `mountPoints` (all when empty); returns the group directories.
#[napi]
pub fn cgroup_create(env: Env, path: String, mount_points: Vec<String>) -> napi::Result<Vec<String>> {
    let mut host = cgroups::detect().map_err(|e| to_js(&env, e))?;
    if !mount_points.is_empty() {
        host.hierarchies.retain(|h| mount_points.iter().any(|m| Path::new(m) == h.mount_point));
    }
    let cg = cgroups::create(&host, &path).map_err(|e| to_js(&env, e))?;
    Ok(cg.dirs.iter().map(|d| d.to_string_lossy().into_owned()).collect())
}

/// Remove the group at `dir`; refuses a populated one (naming the pids), and child
/// groups unless `recursive`.
#[napi]
pub fn cgroup_delete(env: Env, dir: String, recursive: bool) -> napi::Result<()> {
    tool::delete(Path::new(&dir), recursive).map_err(|e| to_js(&env, e))
}

/// Move a process (or with `thread`, one thread) into the group at `dir`.
#[napi]
pub fn cgroup_attach(env: Env, dir: String, pid: i32, thread: bool, make_threaded: bool) -> napi::Result<()> {
    tool::attach(Path::new(&dir), pid, thread, make_threaded).map_err(|e| to_js(&env, e))
}

/// One interface file and its value.
#[napi(object)]
pub struct NativeCgroupFile {
    pub name: String,
    pub value: String,
}

/// What a group holds.
#[napi(object)]
pub struct NativeGroupInfo {
    pub dir: String,
    pub procs: Vec<i32>,
    pub threads: Vec<i32>,
    pub children: Vec<String>,
    pub files: Vec<NativeCgroupFile>,
}

/// Processes, threads, child groups and readable interface files of the group at `dir`.
#[napi]
pub fn cgroup_show(env: Env, dir: String) -> napi::Result<NativeGroupInfo> {
    let i = tool::show(Path::new(&dir)).map_err(|e| to_js(&env, e))?;
    Ok(NativeGroupInfo {
        dir: i.dir.to_string_lossy().into_owned(),
        procs: i.procs,
        threads: i.threads,
        children: i.children,
        files: i.files.into_iter().map(|(name, value)| NativeCgroupFile { name, value }).collect(),
    })
}

/// Read interface file `key` of the group at `dir`.
#[napi]
pub fn cgroup_get(env: Env, dir: String, key: String) -> napi::Result<String> {
    tool::get(Path::new(&dir), &key).map_err(|e| to_js(&env, e))
}

/// Write `value` to interface file `key` of the group at `dir`.
#[napi]
pub fn cgroup_set(env: Env, dir: String, key: String, value: String) -> napi::Result<()> {
    tool::set(Path::new(&dir), &key, &value).map_err(|e| to_js(&env, e))
}

/// Set `release_agent` on a hierarchy lxts mounted itself (refused on any other).
#[napi]
pub fn cgroup_set_release_agent(env: Env, mount_point: String, program: String) -> napi::Result<()> {
    notify::set_release_agent(Path::new(&mount_point), Path::new(&program)).map_err(|e| to_js(&env, e))
}

/// Wait up to `timeoutMs` for a v1 OOM event in the memory group `dir`.
#[napi(ts_return_type = "Promise<boolean>")]
pub fn cgroup_wait_oom(dir: String, timeout_ms: i32) -> AsyncTask<Blocking<bool>> {
    blocking(move || notify::wait_oom_v1(Path::new(&dir), timeout_ms))
}
