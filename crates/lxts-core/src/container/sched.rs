//! `process.scheduler` (`sched_setattr(2)`), `process.ioPriority` (`ioprio_set(2)`) and, for
//! `exec`, `process.execCPUAffinity` (`sched_setaffinity(2)`), set by
//! the init and by `exec`'d processes on themselves before capabilities are dropped, so they
//! carry across `execve` and to every child.

use crate::plan::{IoPriority, Scheduler};
use crate::{Code, Error, Result};

/// `struct sched_attr`, with the utilization clamps (`SCHED_ATTR_SIZE_VER1`).
#[repr(C)]
#[derive(Debug, Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

/// The original `struct sched_attr` size, without the utilization clamps.
const SCHED_ATTR_SIZE_VER0: u32 = 48;
const SCHED_FLAG_UTIL_CLAMP: u64 = 0x20 | 0x40;

fn policy(name: &str) -> Option<u32> {
    Some(match name {
        "SCHED_OTHER" => 0,
        "SCHED_FIFO" => 1,
        "SCHED_RR" => 2,
        "SCHED_BATCH" => 3,
        "SCHED_ISO" => 4,
        "SCHED_IDLE" => 5,
        "SCHED_DEADLINE" => 6,
        _ => return None,
    })
}

fn flag(name: &str) -> Option<u64> {
    Some(match name {
        "SCHED_FLAG_RESET_ON_FORK" => 0x01,
        "SCHED_FLAG_RECLAIM" => 0x02,
        "SCHED_FLAG_DL_OVERRUN" => 0x04,
        "SCHED_FLAG_KEEP_POLICY" => 0x08,
        "SCHED_FLAG_KEEP_PARAMS" => 0x10,
        "SCHED_FLAG_UTIL_CLAMP_MIN" => 0x20,
        "SCHED_FLAG_UTIL_CLAMP_MAX" => 0x40,
        _ => return None,
    })
}

fn attr(s: &Scheduler) -> Result<SchedAttr> {
    let unknown = |what: &str| Error::new(Code::InvalidConfig, format!("process.scheduler: unknown {what}"));
    let policy = policy(&s.policy).ok_or_else(|| unknown(&format!("policy {:?}", s.policy)))?;
    let flags = s.flags.iter().try_fold(0u64, |acc, f| flag(f).map(|v| acc | v).ok_or_else(|| unknown(&format!("flag {f:?}"))))?;
    let priority =
        u32::try_from(s.priority).map_err(|_| Error::new(Code::InvalidConfig, "process.scheduler.priority: must not be negative"))?;
    // The clamps' values are not in the spec (0 each); the smaller struct otherwise, which
    // kernels without utilization clamping know.
    let size = if flags & SCHED_FLAG_UTIL_CLAMP != 0 { std::mem::size_of::<SchedAttr>() as u32 } else { SCHED_ATTR_SIZE_VER0 };
    Ok(SchedAttr {
        size,
        policy,
        flags,
        nice: s.nice,
        priority,
        runtime: s.runtime,
        deadline: s.deadline,
        period: s.period,
        ..SchedAttr::default()
    })
}

/// Set the calling process's scheduling policy and attributes.
pub fn apply_scheduler(s: Option<&Scheduler>) -> Result<()> {
    let Some(s) = s else { return Ok(()) };
    let a = attr(s)?;
    // SAFETY: sched_setattr on ourselves (pid 0) with a live struct of the size it declares.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const SchedAttr, 0) };
    crate::container::sys::cvt(ret as libc::c_int, Code::Process, "sched_setattr", Some(&s.policy))
        .map(|_| ())
        .map_err(|e| e.context("process.scheduler"))
}

/// The calling process's CPU mask, to put back with [`set_cpu_mask`].
pub fn cpu_mask() -> Result<Vec<u64>> {
    let mut mask = vec![0u64; 64];
    // SAFETY: sched_getaffinity on ourselves into a buffer of the byte size passed.
    let n = unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, mask.len() * 8, mask.as_mut_ptr()) };
    crate::container::sys::cvt(n as libc::c_int, Code::Process, "sched_getaffinity", None)?;
    mask.truncate((n as usize).div_ceil(8));
    Ok(mask)
}

/// Run the calling process on the CPUs of `mask` (`what` names the list in errors).
pub fn set_cpu_mask(mask: &[u64], what: Option<&str>) -> Result<()> {
    // SAFETY: sched_setaffinity on ourselves with a mask of the byte size passed.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setaffinity, 0, mask.len() * 8, mask.as_ptr()) };
    crate::container::sys::cvt(ret as libc::c_int, Code::Process, "sched_setaffinity", what).map(|_| ())
}

/// Run the calling process (and the children it makes next) on the CPUs of `list`
/// (`process.execCPUAffinity.<field>`); nothing for an absent or empty list.
pub fn apply_cpu_affinity(list: Option<&str>, field: &str) -> Result<()> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else { return Ok(()) };
    let mask = crate::container::sys::id_mask(list).ok_or_else(|| {
        Error::new(Code::InvalidConfig, format!("process.execCPUAffinity.{field}: {list:?} is not a list of CPUs such as 0-3,7"))
    })?;
    set_cpu_mask(&mask, Some(list)).map_err(|e| e.context(format!("process.execCPUAffinity.{field}")))
}

const IOPRIO_WHO_PROCESS: libc::c_int = 1;
const IOPRIO_CLASS_SHIFT: u32 = 13;

/// The `ioprio_set(2)` value of `p`.
fn ioprio(p: &IoPriority) -> Result<libc::c_int> {
    let class = match p.class.as_str() {
        "IOPRIO_CLASS_RT" => 1,
        "IOPRIO_CLASS_BE" => 2,
        "IOPRIO_CLASS_IDLE" => 3,
        other => return Err(Error::new(Code::InvalidConfig, format!("process.ioPriority.class: unknown class {other:?}"))),
    };
    if !(0..=7).contains(&p.priority) {
        return Err(Error::new(Code::InvalidConfig, "process.ioPriority.priority: must be from 0 to 7"));
    }
    Ok(((class as u32) << IOPRIO_CLASS_SHIFT | p.priority as u32) as libc::c_int)
}

/// Set the calling process's I/O scheduling class and priority (inherited by its children).
pub fn apply_io_priority(p: Option<&IoPriority>) -> Result<()> {
    let Some(p) = p else { return Ok(()) };
    let value = ioprio(p)?;
    // SAFETY: ioprio_set on ourselves (who = process, pid 0) with a plain value.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    crate::container::sys::cvt(ret as libc::c_int, Code::Process, "ioprio_set", Some(&p.class))
        .map(|_| ())
        .map_err(|e| e.context("process.ioPriority"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_names_map_to_the_kernels_values() {
        let s = Scheduler { policy: "SCHED_BATCH".into(), nice: 5, flags: vec!["SCHED_FLAG_RESET_ON_FORK".into()], ..Scheduler::default() };
        let a = attr(&s).unwrap();
        assert_eq!((a.size, a.policy, a.flags, a.nice), (48, 3, 1, 5));
        let s = Scheduler { policy: "SCHED_OTHER".into(), flags: vec!["SCHED_FLAG_UTIL_CLAMP_MIN".into()], ..Scheduler::default() };
        assert_eq!(attr(&s).unwrap().size, 56, "the clamps need the larger struct");
        assert!(attr(&Scheduler { policy: "SCHED_FAST".into(), ..Scheduler::default() }).unwrap_err().message.contains("SCHED_FAST"));
    }

    #[test]
    fn io_priority_is_class_and_level() {
        assert_eq!(ioprio(&IoPriority { class: "IOPRIO_CLASS_BE".into(), priority: 7 }).unwrap(), (2 << 13) | 7);
        assert!(ioprio(&IoPriority { class: "IOPRIO_CLASS_BE".into(), priority: 8 }).is_err());
    }

    #[test]
    fn the_calling_process_gets_them() {
        // A forked child tries both on itself (a test thread must not change the harness's);
        // everything it needs is allocated before the fork, and the success path allocates nothing.
        let s = Scheduler { policy: "SCHED_BATCH".into(), nice: 3, ..Scheduler::default() };
        let io = IoPriority { class: "IOPRIO_CLASS_BE".into(), priority: 6 };
        // SAFETY: fork in a test; the child only makes syscalls and _exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: plain syscalls on ourselves.
            let ok = apply_scheduler(Some(&s)).is_ok()
                && unsafe { libc::sched_getscheduler(0) } == 3
                && apply_io_priority(Some(&io)).is_ok()
                && unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) } == (2 << 13) | 6;
            // SAFETY: _exit in the forked child.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "status {status:#x}");
    }
}
