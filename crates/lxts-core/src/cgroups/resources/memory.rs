//! `linux.resources.memory`: v1 `memory.*` files, v2 `memory.max`/`low`/`swap.max`.

use super::{field_error, max_or, read, write, Target, Warning};
use crate::plan::MemoryResources;
use crate::Result;

pub(super) fn apply(t: &Target, m: &MemoryResources, warn: &mut Vec<Warning>) -> Result<()> {
    if t.v2 {
        v2(t, m, warn)
    } else {
        v1(t, m, warn)
    }
}

fn v1(t: &Target, m: &MemoryResources, warn: &mut Vec<Warning>) -> Result<()> {
    if *m == MemoryResources::default() {
        return Ok(());
    }
    let dir = t.v1_dir("memory", "memory")?;
    // runc: an unlimited memory limit without a swap value makes swap unlimited too.
    let swap = match (m.limit, m.swap) {
        (Some(-1), None) if dir.join("memory.memsw.limit_in_bytes").exists() => Some(-1),
        (_, s) => s,
    };
    match (m.limit, swap) {
        (Some(limit), Some(swap)) => {
            // The kernel requires limit <= memsw at every step: raise memsw first when growing.
            let cur = read(dir, "memory.limit_in_bytes")?.parse::<u64>().unwrap_or(u64::MAX);
            if swap < 0 || (swap as u64) > cur {
                write(dir, "memory.memsw.limit_in_bytes", &swap.to_string(), "memory.swap")?;
                write(dir, "memory.limit_in_bytes", &limit.to_string(), "memory.limit")?;
            } else {
                write(dir, "memory.limit_in_bytes", &limit.to_string(), "memory.limit")?;
                write(dir, "memory.memsw.limit_in_bytes", &swap.to_string(), "memory.swap")?;
            }
        }
        (Some(limit), None) => write(dir, "memory.limit_in_bytes", &limit.to_string(), "memory.limit")?,
        (None, Some(swap)) => write(dir, "memory.memsw.limit_in_bytes", &swap.to_string(), "memory.swap")?,
        (None, None) => {}
    }
    if let Some(r) = m.reservation {
        write(dir, "memory.soft_limit_in_bytes", &r.to_string(), "memory.reservation")?;
    }
    for (value, file, field) in
        [(m.kernel, "memory.kmem.limit_in_bytes", "memory.kernel"), (m.kernel_tcp, "memory.kmem.tcp.limit_in_bytes", "memory.kernelTCP")]
    {
        let Some(v) = value else { continue };
        // Kernel memory limits are deprecated (ignored since Linux 5.16, file gone in 6.x): accept, warn.
        if write(dir, file, &v.to_string(), field).is_err() {
            warn.push(format!("linux.resources.{field}: ignored, this kernel does not limit kernel memory"));
        } else if file == "memory.kmem.limit_in_bytes" {
            warn.push(format!("linux.resources.{field}: deprecated; this kernel may not enforce it"));
        }
    }
    if let Some(s) = m.swappiness {
        if s > 100 {
            return Err(field_error("memory.swappiness", format!("{s} is out of range 0-100")));
        }
        write(dir, "memory.swappiness", &s.to_string(), "memory.swappiness")?;
    }
    if m.disable_oom_killer == Some(true) {
        write(dir, "memory.oom_control", "1", "memory.disableOOMKiller")?;
    }
    if m.use_hierarchy == Some(true) {
        write(dir, "memory.use_hierarchy", "1", "memory.useHierarchy")?;
    }
    Ok(())
}

/// runc's conversion of the v1 memory+swap value to v2's swap-only `memory.swap.max`.
/// `None`: leave `memory.swap.max` alone.
pub fn swap_to_v2(swap: Option<i64>, limit: Option<i64>) -> Result<Option<i64>> {
    let Some(swap) = swap else { return Ok(None) };
    match (swap, limit.unwrap_or(0)) {
        (-1, _) => Ok(Some(-1)),
        (0, _) => Ok(None),
        (_, 0) => Err(field_error("memory.swap", "a swap limit needs a memory limit".to_owned())),
        (_, -1) => Err(field_error("memory.swap", "a swap limit with an unlimited memory limit is meaningless".to_owned())),
        (s, l) if s < l => Err(field_error("memory.swap", format!("memory+swap ({s}) must be >= memory.limit ({l})"))),
        (s, l) => Ok(Some(s - l)),
    }
}

fn v2(t: &Target, m: &MemoryResources, warn: &mut Vec<Warning>) -> Result<()> {
    if *m == MemoryResources::default() {
        return Ok(());
    }
    let dir = t.v2_dir("memory")?;
    let swap = swap_to_v2(m.swap, m.limit)?;
    // Lower the swap allowance first: it is independent of memory.max on v2.
    if let Some(s) = swap {
        write(dir, "memory.swap.max", &max_or(s), "memory.swap")?;
    }
    if let Some(l) = m.limit {
        write(dir, "memory.max", &max_or(l), "memory.limit")?;
    }
    if let Some(r) = m.reservation {
        write(dir, "memory.low", &max_or(r), "memory.reservation")?;
    }
    if m.kernel.is_some() || m.kernel_tcp.is_some() {
        warn.push("linux.resources.memory.kernel/kernelTCP: ignored on cgroup v2".to_owned());
    }
    if m.swappiness.is_some() {
        warn.push("linux.resources.memory.swappiness: ignored on cgroup v2".to_owned());
    }
    if m.disable_oom_killer == Some(true) {
        return Err(field_error("memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer".to_owned()));
    }
    Ok(())
}
