//! Resource usage of a container's cgroup, in runc's `events --stats` shape.
//!
//! Fields the host cannot provide (a controller not mounted, a file the kernel does
//! not have) are left at zero / absent rather than failing the whole read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::resources::Target;
use crate::Result;

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    pub blkio: BlkioStats,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuStats {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// Nanoseconds.
#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    pub total: u64,
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStats {
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    pub raw: BTreeMap<String, u64>,
}

/// Bytes; `limit` is u64::MAX when unlimited (as runc).
#[derive(Debug, Default, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct PidsStats {
    pub current: u64,
    /// 0 when unlimited (as runc).
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// USER_HZ: the unit of v1 `cpuacct.stat`.
const USER_HZ: u64 = 100;

/// Read the stats of the container whose directories `t` describes.
pub fn read(t: &Target) -> Result<Stats> {
    if t.v2 {
        Ok(t.unified.as_deref().map(v2).unwrap_or_default())
    } else {
        Ok(v1(t))
    }
}

fn text(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

/// A single-number file; `max` is u64::MAX; missing or garbled is `None`.
fn num(dir: &Path, file: &str) -> Option<u64> {
    let t = text(dir, file)?;
    let t = t.trim();
    if t == "max" {
        Some(u64::MAX)
    } else {
        t.parse().ok()
    }
}

/// `key value` lines (memory.stat, cpu.stat, cpuacct.stat, memory.events).
pub fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

fn v1(t: &Target) -> Stats {
    let mut s = Stats::default();
    let dir = |c: &str| t.v1.iter().find(|(cs, _)| cs.iter().any(|x| x == c)).map(|(_, d)| d.as_path());
    if let Some(d) = dir("cpuacct") {
        s.cpu.usage.total = num(d, "cpuacct.usage").unwrap_or(0);
        s.cpu.usage.percpu =
            text(d, "cpuacct.usage_percpu").map(|t| t.split_whitespace().filter_map(|n| n.parse().ok()).collect()).unwrap_or_default();
        let st = flat_keyed(&text(d, "cpuacct.stat").unwrap_or_default());
        s.cpu.usage.user = st.get("user").copied().unwrap_or(0) * (1_000_000_000 / USER_HZ);
        s.cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * (1_000_000_000 / USER_HZ);
    }
    if let Some(d) = dir("cpu") {
        let st = flat_keyed(&text(d, "cpu.stat").unwrap_or_default());
        s.cpu.throttling = Throttling {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(d) = dir("memory") {
        let entry = |prefix: &str| MemoryEntry {
            limit: num(d, &format!("{prefix}limit_in_bytes")).unwrap_or(0),
            usage: num(d, &format!("{prefix}usage_in_bytes")).unwrap_or(0),
            max: num(d, &format!("{prefix}max_usage_in_bytes")).unwrap_or(0),
            failcnt: num(d, &format!("{prefix}failcnt")).unwrap_or(0),
        };
        s.memory.usage = entry("memory.");
        s.memory.swap = entry("memory.memsw.");
        s.memory.kernel = entry("memory.kmem.");
        s.memory.kernel_tcp = entry("memory.kmem.tcp.");
        s.memory.raw = flat_keyed(&text(d, "memory.stat").unwrap_or_default());
        s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
    }
    if let Some(d) = dir("pids") {
        s.pids =
            PidsStats { current: num(d, "pids.current").unwrap_or(0), limit: num(d, "pids.max").filter(|m| *m != u64::MAX).unwrap_or(0) };
    }
    if let Some(d) = dir("blkio") {
        s.blkio.io_service_bytes_recursive = blkio_v1(&text(d, "blkio.throttle.io_service_bytes_recursive").unwrap_or_default());
        s.blkio.io_serviced_recursive = blkio_v1(&text(d, "blkio.throttle.io_serviced_recursive").unwrap_or_default());
    }
    s
}

/// `8:0 Read 4096` lines (the `Total` line without a device is dropped).
fn blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = f[..] else { return None };
            let (ma, mi) = dev.split_once(':')?;
            Some(BlkioEntry { major: ma.parse().ok()?, minor: mi.parse().ok()?, op: op.to_owned(), value: value.parse().ok()? })
        })
        .collect()
}

fn v2(d: &Path) -> Stats {
    let mut s = Stats::default();
    let cpu = flat_keyed(&text(d, "cpu.stat").unwrap_or_default());
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0) * 1000;
    s.cpu.usage.total = us("usage_usec");
    s.cpu.usage.user = us("user_usec");
    s.cpu.usage.kernel = us("system_usec");
    s.cpu.throttling = Throttling {
        periods: cpu.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: us("throttled_usec"),
    };
    s.memory.raw = flat_keyed(&text(d, "memory.stat").unwrap_or_default());
    s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
    let events = flat_keyed(&text(d, "memory.events").unwrap_or_default());
    s.memory.usage = MemoryEntry {
        limit: num(d, "memory.max").unwrap_or(0),
        usage: num(d, "memory.current").unwrap_or(0),
        max: num(d, "memory.peak").unwrap_or(0),
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    s.memory.swap = MemoryEntry {
        limit: num(d, "memory.swap.max").unwrap_or(0),
        usage: num(d, "memory.swap.current").unwrap_or(0),
        max: num(d, "memory.swap.peak").unwrap_or(0),
        failcnt: 0,
    };
    s.pids = PidsStats { current: num(d, "pids.current").unwrap_or(0), limit: num(d, "pids.max").filter(|m| *m != u64::MAX).unwrap_or(0) };
    for l in text(d, "io.stat").unwrap_or_default().lines() {
        let mut f = l.split_whitespace();
        let Some((ma, mi)) = f.next().and_then(|dev| dev.split_once(':')) else { continue };
        let (Ok(major), Ok(minor)) = (ma.parse(), mi.parse()) else { continue };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else { continue };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut s.blkio.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut s.blkio.io_service_bytes_recursive, "Write"),
                "rios" => (&mut s.blkio.io_serviced_recursive, "Read"),
                "wios" => (&mut s.blkio.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry { major, minor, op: op.to_owned(), value });
        }
    }
    s
}
