//! `linux.resources.cpu` (shares, quota, realtime, idle): v1 `cpu.*`, v2 `cpu.weight`/`cpu.max`/`cpu.idle`.

use super::{field_error, read, write, Target, Warning};
use crate::plan::CpuResources;
use crate::Result;

pub(super) fn apply(t: &Target, c: &CpuResources, _warn: &mut Vec<Warning>) -> Result<()> {
    let any = c.shares.is_some()
        || c.quota.is_some()
        || c.period.is_some()
        || c.realtime_runtime.is_some()
        || c.realtime_period.is_some()
        || c.idle.is_some();
    if !any {
        return Ok(());
    }
    if t.v2 {
        v2(t, c)
    } else {
        v1(t, c)
    }
}

fn v1(t: &Target, c: &CpuResources) -> Result<()> {
    let dir = t.v1_dir("cpu", "cpu")?;
    if let Some(s) = c.shares.filter(|s| *s != 0) {
        write(dir, "cpu.shares", &s.to_string(), "cpu.shares")?;
        // The kernel clamps out-of-range shares silently; runc reports it.
        let got = read(dir, "cpu.shares")?;
        if got != s.to_string() {
            return Err(field_error("cpu.shares", format!("the kernel set {got} instead of {s} (allowed 2-262144)")));
        }
    }
    if let Some(p) = c.period.filter(|p| *p != 0) {
        write(dir, "cpu.cfs_period_us", &p.to_string(), "cpu.period")?;
    }
    if let Some(q) = c.quota.filter(|q| *q != 0) {
        write(dir, "cpu.cfs_quota_us", &if q < 0 { "-1".to_owned() } else { q.to_string() }, "cpu.quota")?;
    }
    // Period before runtime: the runtime must fit in the period.
    if let Some(p) = c.realtime_period.filter(|p| *p != 0) {
        write(dir, "cpu.rt_period_us", &p.to_string(), "cpu.realtimePeriod")?;
    }
    if let Some(r) = c.realtime_runtime.filter(|r| *r != 0) {
        write(dir, "cpu.rt_runtime_us", &r.to_string(), "cpu.realtimeRuntime")?;
    }
    if let Some(i) = c.idle {
        write(dir, "cpu.idle", &i.to_string(), "cpu.idle")?;
    }
    Ok(())
}

/// runc's cpu.shares (2-262144) → cpu.weight (1-10000) conversion; 0 stays unset.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        0
    } else {
        1 + ((shares.max(2) - 2) * 9999) / 262142
    }
}

fn v2(t: &Target, c: &CpuResources) -> Result<()> {
    let dir = t.v2_dir("cpu")?;
    if c.realtime_runtime.is_some_and(|r| r != 0) || c.realtime_period.is_some_and(|p| p != 0) {
        return Err(field_error("cpu.realtimeRuntime", "realtime scheduling limits do not exist on cgroup v2".to_owned()));
    }
    if let Some(s) = c.shares.filter(|s| *s != 0) {
        write(dir, "cpu.weight", &shares_to_weight(s).to_string(), "cpu.shares")?;
    }
    let quota = c.quota.unwrap_or(0);
    let period = c.period.unwrap_or(0);
    if quota != 0 || period != 0 {
        let mut v = if quota > 0 { quota.to_string() } else { "max".to_owned() };
        if period != 0 {
            v = format!("{v} {period}");
        }
        write(dir, "cpu.max", &v, "cpu.quota")?;
    }
    if let Some(i) = c.idle {
        write(dir, "cpu.idle", &i.to_string(), "cpu.idle")?;
    }
    Ok(())
}
