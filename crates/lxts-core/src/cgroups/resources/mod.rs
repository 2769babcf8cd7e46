//! Apply `linux.resources` to a container's cgroup, on v1 (one directory per
//! controller hierarchy) or v2 (one unified directory).
//!
//! A hybrid host (v1 controllers plus an empty cgroup2 mount) is driven through v1,
//! as runc does. Every function takes the directories it writes, so tests run it
//! against a temporary tree standing in for cgroupfs.
//!
//! Errors name the config field (`linux.resources.memory.limit: …`) and use
//! `ERR_LXTS_CGROUP`; a controller the host lacks is an error only when the config
//! asks for something from it.

mod blkio;
mod cpu;
mod cpuset;
mod devices;
pub mod devices_bpf;
mod hugetlb;
mod memory;
mod network;
mod pids;
mod unified;

#[cfg(test)]
mod tests;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::detect::io_error;
use super::{Host, HostMode};
use crate::plan::Resources;
use crate::{Code, Error, Result};

pub use cpu::shares_to_weight;
pub use devices::DEFAULT_RULES;
pub use memory::swap_to_v2;

/// Something applied with a caveat (a setting the kernel ignores); shown to the user.
pub type Warning = String;

/// Where each controller's files are, for one container.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `true`: the unified hierarchy holds the controllers (v2-only host).
    pub v2: bool,
    /// v1: (controllers of the hierarchy, the container's directory in it).
    pub v1: Vec<(Vec<String>, PathBuf)>,
    /// v2: the container's directory.
    pub unified: Option<PathBuf>,
}

impl Target {
    /// Match each of the container's directories to the hierarchy it lives in.
    pub fn new(host: &Host, dirs: &[PathBuf]) -> Target {
        let mut t = Target { v2: host.mode == HostMode::V2, ..Target::default() };
        for dir in dirs {
            let h = host.hierarchies.iter().filter(|h| dir.starts_with(&h.mount_point)).max_by_key(|h| h.mount_point.components().count());
            match h {
                Some(h) if h.v2 => t.unified = Some(dir.clone()),
                Some(h) => t.v1.push((h.controllers.clone(), dir.clone())),
                None => {}
            }
        }
        t
    }

    /// The v1 directory of `controller`, or an error naming `field`.
    pub fn v1_dir(&self, controller: &str, field: &str) -> Result<&Path> {
        self.v1
            .iter()
            .find(|(c, _)| c.iter().any(|c| c == controller))
            .map(|(_, d)| d.as_path())
            .ok_or_else(|| field_error(field, format!("{controller} controller not mounted")))
    }

    /// The unified directory, or an error naming `field`.
    pub fn v2_dir(&self, field: &str) -> Result<&Path> {
        self.unified.as_deref().ok_or_else(|| field_error(field, "no cgroup2 directory for this container".to_owned()))
    }
}

/// Apply every field of `res` that is set. Nothing is written for absent fields.
pub fn apply(t: &Target, res: &Resources) -> Result<Vec<Warning>> {
    let mut warn = Vec::new();
    if let Some(m) = &res.memory {
        memory::apply(t, m, &mut warn)?;
    }
    if let Some(c) = &res.cpu {
        cpu::apply(t, c, &mut warn)?;
        cpuset::apply(t, c)?;
    }
    if let Some(p) = &res.pids {
        pids::apply(t, p)?;
    }
    if let Some(b) = &res.block_io {
        blkio::apply(t, b)?;
    }
    hugetlb::apply(t, &res.hugepage_limits)?;
    if let Some(n) = &res.network {
        network::apply(t, n)?;
    }
    if !res.devices.is_empty() {
        devices::apply(t, &res.devices)?;
    }
    unified::apply(t, &res.unified)?;
    Ok(warn)
}

/// `ERR_LXTS_CGROUP` naming a config field.
pub(crate) fn field_error(field: &str, why: String) -> Error {
    Error::new(Code::Cgroup, format!("linux.resources.{field}: {why}"))
}

/// Write one interface file in one `write(2)`; errors name the field and the file.
pub(crate) fn write(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    use std::io::Write;
    let path = dir.join(file);
    let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(&path).map_err(|e| missing_or(field, &path, "open", &e))?;
    f.write_all(value.as_bytes()).map_err(|e| io_error("write", &path, &e).context(format!("linux.resources.{field} = {value:?}")))
}

/// An interface file that does not exist means the kernel lacks the feature.
fn missing_or(field: &str, path: &Path, syscall: &'static str, e: &std::io::Error) -> Error {
    if e.kind() == ErrorKind::NotFound {
        let mut err = field_error(field, format!("{} does not exist (not supported by this kernel or controller)", path.display()));
        err.path = Some(path.to_string_lossy().into_owned());
        return err;
    }
    io_error(syscall, path, e).context(format!("linux.resources.{field}"))
}

/// Read an interface file, trimmed.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).map(|s| s.trim().to_owned()).map_err(|e| io_error("read", &path, &e))
}

/// `-1` (or any negative) as `max`, else the number.
pub(crate) fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

/// `update`: apply `res` to a running container's cgroups. On a hybrid host, a device filter
/// that an lxts from before 2026-11 attached to the container's cgroup2 directory is then
/// detached: the kernel would go on enforcing its old rules next to the new v1 ones. (After
/// the v1 writes: until then both enforce, which is only stricter.)
pub fn apply_update(t: &Target, res: &Resources) -> Result<Vec<Warning>> {
    let mut warn = apply(t, res)?;
    if !t.v2 && !res.devices.is_empty() {
        if let Some(u) = &t.unified {
            if let Err(e) = devices_bpf::clear(u) {
                warn.push(format!("{e} (a device filter an older lxts attached may still apply)"));
            }
        }
    }
    Ok(warn)
}

/// Apply `res` to a freshly created container cgroup (the helper's parent side).
pub fn apply_new(host: &Host, cg: &super::ContainerCgroup, res: &Resources) -> Result<Vec<Warning>> {
    apply(&Target::new(host, &cg.dirs), res)
}

/// While a helper waits for its plan: on a cgroup v2 host, load the device filter of the
/// usual config (runc's default spec), so a container with those rules only attaches it.
/// Best effort. v1 and hybrid hosts enforce device rules through the v1 controller alone.
/// A v2 host is told by `/sys/fs/cgroup` being cgroup2 (one `statfs`, where reading
/// mountinfo costs ~0.07 ms of CPU every spare): where that guess is wrong, a filter is either
/// loaded and dropped unused or not loaded ahead, and the create decides from mountinfo.
pub fn preload_device_filter() {
    if is_cgroup2(c"/sys/fs/cgroup") {
        let _ = devices::preload_usual_filter();
    }
}

/// Whether `path` is on a cgroup2 filesystem.
fn is_cgroup2(path: &std::ffi::CStr) -> bool {
    // SAFETY: an all-zero statfs is valid; the kernel fills it.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a writable statfs buffer.
    unsafe { libc::statfs(path.as_ptr(), &mut st) == 0 && st.f_type as i64 == crate::container::sys::CGROUP2_SUPER_MAGIC }
}
