//! Cgroup notifications: v1 `release_agent` (only on a hierarchy lxts mounted), the
//! agent side that records a release as a JSON line, and v1 OOM events through
//! `cgroup.event_control` + an eventfd. v2 `populated` is read from `cgroup.events`
//! by the caller (inotify on that file), which needs nothing native.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::detect::io_error;
use super::freeze::write;
use super::tool::is_owned;
use crate::{Code, Error, Result};

/// Set `release_agent` of the hierarchy mounted at `mount_point` to `program`.
/// Refused unless lxts mounted that hierarchy itself: a host hierarchy's root files
/// belong to the host.
pub fn set_release_agent(mount_point: &Path, program: &Path) -> Result<()> {
    if !is_owned(mount_point) {
        let msg = format!(
            "{}: not a hierarchy lxts mounted itself (lxts cgroup mount --name NAME); release_agent is only set on those, never on a host hierarchy",
            mount_point.display()
        );
        return Err(Error { path: Some(mount_point.to_string_lossy().into_owned()), ..Error::new(Code::Cgroup, msg) });
    }
    if !program.is_absolute() {
        return Err(Error::new(Code::InvalidConfig, format!("release agent {}: must be an absolute path", program.display())));
    }
    write(&mount_point.join("release_agent"), &program.to_string_lossy())
}

/// The release agent's work: append `{"event":"release","path":…,"time":…}` to `out`
/// (a file or FIFO) in one write, so concurrent agents never interleave.
pub fn record_release(out: &Path, cgroup_path: &str) -> Result<()> {
    let time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let line = serde_json::json!({ "event": "release", "path": cgroup_path, "time": time }).to_string() + "\n";
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(out)
        .map_err(|e| io_error("open", out, &e))?;
    f.write_all(line.as_bytes()).map_err(|e| io_error("write", out, &e))
}

/// Wait up to `timeout_ms` for an OOM event in the v1 memory group `dir`
/// (`memory.oom_control` registered through `cgroup.event_control`). Returns `true`
/// on an OOM event, `false` on timeout or when the group is removed (the kernel
/// signals the eventfd then too; the group's absence tells them apart).
pub fn wait_oom_v1(dir: &Path, timeout_ms: i32) -> Result<bool> {
    let control = dir.join("memory.oom_control");
    let oom = std::fs::File::open(&control).map_err(|e| io_error("open", &control, &e))?;
    // SAFETY: eventfd(0, EFD_CLOEXEC) returns a new fd or -1.
    let rc = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if rc < 0 {
        return Err(Error::sys(Code::Syscall, "eventfd", None, Errno::last()));
    }
    // SAFETY: a fresh fd owned by nobody else.
    let efd = unsafe { OwnedFd::from_raw_fd(rc) };
    write(&dir.join("cgroup.event_control"), &format!("{} {}", efd.as_raw_fd(), oom.as_raw_fd()))?;
    let mut fds = [PollFd::new(efd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::try_from(timeout_ms.max(-1)).unwrap_or(PollTimeout::MAX)) {
            Ok(0) => return Ok(false),
            Ok(_) => {
                let mut buf = [0u8; 8];
                // SAFETY: reading 8 bytes into our buffer from our eventfd.
                unsafe { libc::read(efd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
                return Ok(dir.exists());
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys(Code::Syscall, "poll", None, e)),
        }
    }
}
