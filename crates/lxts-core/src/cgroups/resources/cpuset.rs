//! `linux.resources.cpu.cpus` / `.mems`: `cpuset.cpus` and `cpuset.mems` on v1 and v2.

use super::{write, Target};
use crate::plan::CpuResources;
use crate::Result;

pub(super) fn apply(t: &Target, c: &CpuResources) -> Result<()> {
    let cpus = c.cpus.as_deref().filter(|s| !s.is_empty());
    let mems = c.mems.as_deref().filter(|s| !s.is_empty());
    if cpus.is_none() && mems.is_none() {
        return Ok(());
    }
    let dir = if t.v2 { t.v2_dir("cpu.cpus")? } else { t.v1_dir("cpuset", "cpu.cpus")? };
    if let Some(v) = cpus {
        write(dir, "cpuset.cpus", v, "cpu.cpus")?;
    }
    if let Some(v) = mems {
        write(dir, "cpuset.mems", v, "cpu.mems")?;
    }
    Ok(())
}
