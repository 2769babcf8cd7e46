//! Find every cgroup hierarchy from mountinfo (never hard-code `/sys/fs/cgroup/<name>`).

use std::path::PathBuf;

use crate::Result;

/// Whether the host has v1 only, v1 controllers plus a cgroup2 mount, or v2 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMode {
    V1,
    Hybrid,
    V2,
    /// No cgroup filesystem mounted at all.
    None,
}

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// `true` for cgroup2.
    pub v2: bool,
    /// Controllers (`["cpu","cpuacct"]`); v1 named hierarchies carry `name=systemd`; v2 lists `cgroup.controllers`.
    pub controllers: Vec<String>,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The mountinfo "root" field: the cgroup path that `mount_point` shows.
    pub root: String,
}

/// All hierarchies of this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub mode: HostMode,
    pub hierarchies: Vec<Hierarchy>,
}

/// Read `/proc/self/mountinfo` and `/proc/self/cgroup`.
pub fn detect() -> Result<Host> {
    Err(crate::Error::new(crate::Code::Cgroup, "cgroup detection not implemented"))
}
