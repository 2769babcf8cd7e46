//! Cgroup host detection, listing and removal.

use std::path::PathBuf;

use lxts_core::cgroups::{self, HostMode};
use napi::Env;
use napi_derive::napi;

use crate::error::to_js;

/// One mounted hierarchy.
#[napi(object)]
pub struct NativeHierarchy {
    /// `true` for cgroup2.
    pub v2: bool,
    /// v1: the controllers (`cpu`, `cpuacct`, `name=systemd`); v2: `cgroup.controllers`.
    pub controllers: Vec<String>,
    /// Where the hierarchy is mounted.
    pub mount_point: String,
    /// The cgroup path shown at `mountPoint` (mountinfo's root field).
    pub root: String,
}

/// Every cgroup hierarchy of this host.
#[napi(object)]
pub struct NativeCgroupHost {
    /// v1 only, v1 controllers plus a cgroup2 mount, cgroup2 only, or nothing mounted.
    #[napi(ts_type = "'v1' | 'hybrid' | 'v2' | 'none'")]
    pub mode: String,
    pub hierarchies: Vec<NativeHierarchy>,
}

/// Detect the hierarchies from `/proc/self/mountinfo`.
#[napi]
pub fn cgroup_host(env: Env) -> napi::Result<NativeCgroupHost> {
    let host = cgroups::detect().map_err(|e| to_js(&env, e))?;
    let mode = match host.mode {
        HostMode::V1 => "v1",
        HostMode::Hybrid => "hybrid",
        HostMode::V2 => "v2",
        HostMode::None => "none",
    }
    .to_owned();
    let hierarchies = host
        .hierarchies
        .into_iter()
        .map(|h| NativeHierarchy {
            v2: h.v2,
            controllers: h.controllers,
            mount_point: h.mount_point.to_string_lossy().into_owned(),
            root: h.root,
        })
        .collect();
    Ok(NativeCgroupHost { mode, hierarchies })
}

/// Pids in the given cgroup directories (sorted union; missing directories hold none).
#[napi]
pub fn cgroup_pids(env: Env, dirs: Vec<String>) -> napi::Result<Vec<i32>> {
    cgroups::pids(&paths(dirs)).map_err(|e| to_js(&env, e))
}

/// Remove cgroup directories deepest first: leaves must go (EBUSY retried
/// briefly), busy shared parents are left, missing ones are fine.
#[napi]
pub fn cgroup_remove(env: Env, dirs: Vec<String>) -> napi::Result<()> {
    cgroups::remove(&paths(dirs)).map_err(|e| to_js(&env, e))
}

fn paths(dirs: Vec<String>) -> Vec<PathBuf> {
    dirs.into_iter().map(PathBuf::from).collect()
}
