//! What a monitor does after `created`: watch the init, record how it ended
//! (`exit.json`, with `oomKilled` when the v1 memory cgroup's `oom_kill`
//! counter rose), report `exited`, and with `removeOnExit` (`run -d --rm`)
//! remove the container's cgroups, the rootfs mount of a container without a mount
//! namespace, and the state directory.
//!
//! Memory: the plan is dropped by the caller only at the end, so the loop
//! itself allocates nothing; once the init has run `SETTLE_MS`, the monitor drops its
//! clean pages and `malloc_trim` hands the setup's heap back.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::{monitor, sys, write_report};
use crate::cgroups::{self, ContainerCgroup};
use crate::plan::Plan;
use crate::{Code, Error, Result};

/// How long the init runs before the monitor sheds its own clean pages (see
/// `reaper::shed_clean_pages`): reading `/proc/self/smaps` costs ~0.15 ms, which a
/// container that is about to exit would otherwise wait behind.
const SETTLE_MS: i32 = 20;

/// The `oom_kill` counter of `memory.oom_control` (v1) in `dir`.
pub fn oom_kills(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("memory.oom_control")).ok()?;
    text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|v| v.trim().parse().ok())
}

/// The v1 memory directory among the container's cgroups.
fn memory_dir(cg: Option<&ContainerCgroup>) -> Option<PathBuf> {
    cg?.dirs.iter().find(|d| d.join("memory.oom_control").exists()).cloned()
}

/// Watch the init until it exits, record and report it; returns the helper's exit code.
pub fn supervise(plan: &Plan, pidfd: &OwnedFd, cg: Option<&ContainerCgroup>, control: &OwnedFd) -> Result<i32> {
    let mem = memory_dir(cg);
    let before = mem.as_deref().and_then(oom_kills);
    // A process that ends within SETTLE_MS is reported without waiting behind the shedding.
    let exit = monitor::watch_settled(pidfd, SETTLE_MS, super::reaper::shed_clean_pages)?;
    let oom_killed = match (before, mem.as_deref().and_then(oom_kills)) {
        (Some(b), Some(a)) => a > b,
        _ => false,
    };
    write_exit(&plan.state_dir, &exit, oom_killed)?;
    let _ = write_report(control, &exit.report());
    if plan.remove_on_exit {
        remove(plan, cg)?;
    }
    Ok(exit.code())
}

/// `exit.json` with `oomKilled`, via a temporary file and rename.
pub fn write_exit(state_dir: &str, exit: &monitor::Exit, oom_killed: bool) -> Result<()> {
    let body =
        serde_json::json!({ "exitCode": exit.code(), "status": exit.status, "signal": exit.signal, "oomKilled": oom_killed }).to_string();
    let tmp = format!("{state_dir}/exit.json.tmp");
    let fin = format!("{state_dir}/exit.json");
    std::fs::write(&tmp, body + "\n").map_err(|e| Error::io(Code::Syscall, "write", Some(&tmp), &e))?;
    std::fs::rename(&tmp, &fin).map_err(|e| Error::io(Code::Syscall, "rename", Some(&fin), &e))
}

/// `run -d --rm`: under the container's lock, remove its cgroups (retrying while
/// the last processes die) and its state directory (never crossing a mount).
fn remove(plan: &Plan, cg: Option<&ContainerCgroup>) -> Result<()> {
    let lock = sys::open(&format!("{}/lock", plan.state_dir), libc::O_RDWR | libc::O_CREAT, Code::Syscall)?;
    // SAFETY: flock on an fd we own; released when it is closed.
    sys::cvt(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, Code::Syscall, "flock", Some(&plan.state_dir))?;
    if let Some(cg) = cg {
        // As `delete` does: lxts's shared default parent (`/lxts`) goes too once it is empty.
        let mut dirs = cg.created.clone();
        if plan.cgroup.as_ref().is_some_and(|c| c.path == format!("/lxts/{}", plan.id)) {
            for parent in cg.created.iter().filter_map(|d| d.parent()) {
                if !dirs.iter().any(|d| d == parent) {
                    dirs.push(parent.to_path_buf());
                }
            }
        }
        let mut tries = 0;
        while let Err(e) = cgroups::remove(&dirs) {
            tries += 1;
            if tries > 50 {
                return Err(e);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    // Without a mount namespace: the rootfs bind (and every mount below it) left in ours.
    crate::hostmount::release_recorded(&plan.state_dir)?;
    let dir = Path::new(&plan.state_dir);
    let dev = std::fs::symlink_metadata(dir).map_err(|e| Error::io(Code::Syscall, "lstat", Some(&plan.state_dir), &e))?;
    remove_tree(dir, std::os::unix::fs::MetadataExt::dev(&dev))
}

fn remove_tree(dir: &Path, dev: u64) -> Result<()> {
    let shown = dir.to_string_lossy().into_owned();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(Code::Syscall, "opendir", Some(&shown), &e))? {
        let entry = entry.map_err(|e| Error::io(Code::Syscall, "readdir", Some(&shown), &e))?;
        let p = entry.path();
        let md = std::fs::symlink_metadata(&p).map_err(|e| Error::io(Code::Syscall, "lstat", Some(&p.to_string_lossy()), &e))?;
        if md.is_dir() {
            if std::os::unix::fs::MetadataExt::dev(&md) != dev {
                return Err(Error::new(Code::UnsafePath, format!("refusing to remove {}: it is a mount point", p.display())));
            }
            remove_tree(&p, dev)?;
        } else {
            std::fs::remove_file(&p).map_err(|e| Error::io(Code::Syscall, "unlink", Some(&p.to_string_lossy()), &e))?;
        }
    }
    std::fs::remove_dir(dir).map_err(|e| Error::io(Code::Syscall, "rmdir", Some(&shown), &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_counter_parsed() {
        let d = std::env::temp_dir().join(format!("lxts-oom-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n").unwrap();
        assert_eq!(oom_kills(&d), Some(3));
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(oom_kills(&d), None);
    }
}
