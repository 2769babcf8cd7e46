//! Freezing and killing a whole cgroup: v1 `freezer.state`, v2 `cgroup.freeze` /
//! `cgroup.events`, v2 `cgroup.kill`, and the v1 fallback (freeze, signal every pid
//! through a pidfd, thaw).
//!
//! Every function takes the group's directories in all hierarchies (as recorded in a
//! container's state) and acts on the ones that offer the interface.

use std::io::ErrorKind;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::detect::io_error;
use crate::{Code, Error, Result};

/// Pause between polls of a freezer that has not settled yet.
const POLL: Duration = Duration::from_millis(10);

/// Which freezing interface a directory has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// v1 `freezer.state`.
    V1,
    /// v2 `cgroup.freeze` (and `cgroup.events`).
    V2,
}

fn kind(dir: &Path) -> Option<Kind> {
    if dir.join("freezer.state").exists() {
        Some(Kind::V1)
    } else if dir.join("cgroup.freeze").exists() {
        Some(Kind::V2)
    } else {
        None
    }
}

/// The directories among `dirs` that can be frozen, with their interface.
fn freezable(dirs: &[PathBuf]) -> Vec<(&PathBuf, Kind)> {
    dirs.iter().filter_map(|d| kind(d).map(|k| (d, k))).collect()
}

/// Freeze (`frozen = true`) or thaw the group and wait until the kernel reports the
/// new state, at most `timeout` in total. Freezing uses the v1 freezer when `dirs` has
/// one, else v2 `cgroup.freeze`; thawing thaws every freezable directory.
///
/// Fails with `ERR_LXTS_CGROUP` when none of `dirs` has a freezer, and with a message
/// naming the directory when it does not settle in time (a thaw is then attempted so
/// a half-frozen group is not left behind).
pub fn set_frozen(dirs: &[PathBuf], frozen: bool, timeout: Duration) -> Result<()> {
    let mut targets = freezable(dirs);
    // One mechanism per freeze: tasks stopped by the v1 freezer never reach the v2 freeze
    // trap, so `frozen 1` would never show. Hybrid hosts freeze through v1; thaw undoes both.
    if frozen && targets.iter().any(|(_, k)| *k == Kind::V1) {
        targets.retain(|(_, k)| *k == Kind::V1);
    }
    if targets.is_empty() {
        let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(Error::new(Code::Cgroup, format!("no freezer (freezer.state or cgroup.freeze) in any of [{}]", list.join(", "))));
    }
    let deadline = Instant::now() + timeout;
    for (dir, k) in &targets {
        let res = match k {
            Kind::V1 => v1_set(dir, frozen, deadline),
            Kind::V2 => v2_set(dir, frozen, deadline),
        };
        if let Err(e) = res {
            if frozen {
                // Best effort: never leave a group stuck half-way; the freeze error is the one to report.
                for (d, k) in &targets {
                    let _ = match k {
                        Kind::V1 => write(&d.join("freezer.state"), "THAWED"),
                        Kind::V2 => write(&d.join("cgroup.freeze"), "0"),
                    };
                }
            }
            return Err(e);
        }
    }
    Ok(())
}

/// `Some(true)` when the group is frozen: the v1 `freezer.state` is `FROZEN` or, without
/// a v1 freezer, a v2 `cgroup.freeze` is 1; `Some(false)` when not, `None` when there is
/// no freezer (or the directories are gone).
pub fn is_frozen(dirs: &[PathBuf]) -> Option<bool> {
    // As in `set_frozen`: where there is a v1 freezer it is the mechanism (hybrid hosts never
    // freeze through v2), so its state is the answer. It is tried first where the path names
    // it (the usual mount point): `state`/`list` then cost one read per container.
    let mut order: Vec<&PathBuf> = dirs.iter().collect();
    order.sort_by_key(|d| !d.to_string_lossy().contains("freezer"));
    for dir in &order {
        if let Ok(v) = read(&dir.join("freezer.state")) {
            return Some(v.trim() == "FROZEN");
        }
    }
    let mut seen = false;
    for dir in &order {
        match read(&dir.join("cgroup.freeze")).as_deref().map(str::trim) {
            Ok("1") => return Some(true),
            Ok(_) => seen = true,
            Err(_) => {}
        }
    }
    seen.then_some(false)
}

/// v1: write the state, then poll `freezer.state`. `FREEZING` means some task has not
/// stopped yet (e.g. in an uninterruptible sleep); writing `FROZEN` again retries it,
/// as runc does.
fn v1_set(dir: &Path, frozen: bool, deadline: Instant) -> Result<()> {
    let file = dir.join("freezer.state");
    let want = if frozen { "FROZEN" } else { "THAWED" };
    loop {
        write(&file, want)?;
        let now = read(&file)?;
        if now.trim() == want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(timeout_error(&file, want, now.trim()));
        }
        std::thread::sleep(POLL);
    }
}

/// v2: write `cgroup.freeze`, then wait for `cgroup.events` to say `frozen 1` / `frozen 0`.
fn v2_set(dir: &Path, frozen: bool, deadline: Instant) -> Result<()> {
    write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
    let events = dir.join("cgroup.events");
    let want = if frozen { "frozen 1" } else { "frozen 0" };
    loop {
        let text = read(&events)?;
        // A kernel without the `frozen` key acts synchronously.
        if text.lines().any(|l| l.trim() == want) || !text.contains("frozen ") {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(timeout_error(&events, want, text.trim()));
        }
        std::thread::sleep(POLL);
    }
}

fn timeout_error(file: &Path, want: &str, now: &str) -> Error {
    let msg = format!("{}: still {now:?} after waiting for {want:?}", file.display());
    Error { path: Some(file.to_string_lossy().into_owned()), ..Error::new(Code::Cgroup, msg) }
}

/// Every pid in `dirs` and in their child groups (sorted, deduplicated). Missing
/// directories hold none.
pub fn pids_recursive(dirs: &[PathBuf]) -> Result<Vec<i32>> {
    let mut out = Vec::new();
    for dir in dirs {
        collect(dir, &mut out)?;
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    out.extend(super::manage::pids(&[dir.to_path_buf()])?);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("opendir", dir, &e)),
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect(&entry.path(), out)?;
        }
    }
    Ok(())
}

/// Send `signal` to every process in `dirs` (and their child groups).
///
/// With `SIGKILL` and a v2 directory offering `cgroup.kill`, the kernel kills the
/// whole subtree at once. Otherwise the group is frozen (when it has a freezer) so no
/// process can fork past the scan, every pid in `cgroup.procs` is signalled through
/// its own pidfd, and the group is thawed again (a killed task dies on thaw). A group
/// that was already frozen stays frozen. Returns the number of processes signalled
/// (for `cgroup.kill`, the number that were in the group).
pub fn kill_all(dirs: &[PathBuf], signal: i32) -> Result<usize> {
    let pids = pids_recursive(dirs)?;
    if signal == libc::SIGKILL {
        if let Some(dir) = dirs.iter().find(|d| d.join("cgroup.kill").exists()) {
            // Counted before the kill: a killed process may leave cgroup.procs at once.
            // cgroup.kill covers only the v2 tree; a process in the v1 groups but not there is signalled below.
            let v2 = pids_recursive(std::slice::from_ref(dir))?;
            write(&dir.join("cgroup.kill"), "1")?;
            let rest: Vec<i32> = pids.iter().copied().filter(|p| !v2.contains(p)).collect();
            let n = v2.len() + signal_each(&rest, signal)?;
            // A task frozen by a v1 freezer dies only once thawed.
            if is_frozen(dirs) == Some(true) {
                set_frozen(dirs, false, Duration::from_secs(5))?;
            }
            return Ok(n);
        }
    }
    let was_frozen = is_frozen(dirs) == Some(true);
    let froze = !was_frozen && !freezable(dirs).is_empty() && set_frozen(dirs, true, Duration::from_secs(5)).is_ok();
    // Scan again once frozen: nothing can fork any more.
    let pids = if froze { pids_recursive(dirs)? } else { pids };
    let sent = signal_each(&pids, signal);
    if froze || (was_frozen && signal == libc::SIGKILL) {
        set_frozen(dirs, false, Duration::from_secs(5))?;
    }
    sent
}

/// Signal each pid through a pidfd; vanished processes are skipped.
fn signal_each(pids: &[i32], signal: i32) -> Result<usize> {
    let mut n = 0;
    for &pid in pids {
        // SAFETY: pidfd_open(pid_t, unsigned) returns a new fd or -1.
        let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if rc < 0 {
            match Errno::last() {
                Errno::ESRCH => continue,
                e => return Err(Error::sys(Code::Syscall, "pidfd_open", None, e).context(format!("pid {pid}"))),
            }
        }
        // SAFETY: the kernel just returned this fd; we own it.
        let fd = unsafe { OwnedFd::from_raw_fd(rc as i32) };
        // SAFETY: plain syscall on our pidfd; a null siginfo behaves as kill(2).
        let rc = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), signal, std::ptr::null::<libc::siginfo_t>(), 0) };
        if rc == 0 {
            n += 1;
            continue;
        }
        match Errno::last() {
            Errno::ESRCH => {}
            e => return Err(Error::sys(Code::Syscall, "pidfd_send_signal", None, e).context(format!("signal {signal} to pid {pid}"))),
        }
    }
    Ok(n)
}

fn read(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).map_err(|e| io_error("read", file, &e))
}

/// One `write(2)` of the whole value (cgroupfs acts per write).
pub(crate) fn write(file: &Path, value: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).open(file).map_err(|e| io_error("open", file, &e))?;
    f.write_all(value.as_bytes()).map_err(|e| io_error("write", file, &e))
}
