//! Create, fill and remove a container's cgroup under every hierarchy.

use std::path::PathBuf;

use super::Host;
use crate::Result;

/// A container's cgroup: one directory per hierarchy.
#[derive(Debug, Clone, Default)]
pub struct ContainerCgroup {
    /// The container's directory in each hierarchy (v1 and v2).
    pub dirs: Vec<PathBuf>,
    /// The container's directory on the cgroup2 hierarchy, for `CLONE_INTO_CGROUP`.
    pub v2_dir: Option<PathBuf>,
    /// Every directory this call created (parents first); only these may be removed.
    pub created: Vec<PathBuf>,
}

impl ContainerCgroup {
    /// Move `pid` into every v1 directory (and v2 unless `skip_v2`, when
    /// `CLONE_INTO_CGROUP` already placed it).
    pub fn add_pid(&self, _pid: i32, _skip_v2: bool) -> Result<()> {
        Err(crate::Error::new(crate::Code::Cgroup, "not implemented"))
    }
}

/// Create `cgroup_path` (absolute, e.g. `/lxts/c1`) under every hierarchy.
/// A directory that already exists and is populated is an error (id clash).
pub fn create(_host: &Host, _cgroup_path: &str) -> Result<ContainerCgroup> {
    Err(crate::Error::new(crate::Code::Cgroup, "not implemented"))
}

/// Pids in the given cgroup directories (union, sorted, deduplicated).
pub fn pids(_dirs: &[PathBuf]) -> Result<Vec<i32>> {
    Ok(Vec::new())
}

/// Remove directories (deepest first). The container's own leaf must go;
/// shared parents that are busy (EBUSY/ENOTEMPTY) are left. ENOENT is fine.
pub fn remove(_dirs: &[PathBuf]) -> Result<()> {
    Ok(())
}
