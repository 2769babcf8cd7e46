//! Processes seen from outside: start time, liveness, pidfd signalling and waiting.
//!
//! A pid alone is never trusted: every operation compares the start time
//! (`/proc/<pid>/stat` field 22) recorded at creation, then acts through a pidfd.
//! The pidfd is opened *before* the start time is read, so a matching start time
//! proves the pidfd names the original process, not a recycled pid.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::{Code, Error, Result};

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    /// Field 22, clock ticks since boot.
    pub start_time: u64,
    /// Field 3 (`R`, `S`, `Z`, …).
    pub state: char,
}

/// `None` when the process does not exist.
pub fn info(pid: i32) -> Option<ProcInfo> {
    if pid <= 0 {
        return None;
    }
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&String::from_utf8_lossy(&text))
}

/// Parse `/proc/<pid>/stat`. `comm` (field 2) may hold spaces and parentheses, so
/// the fields after it start after the *last* `)`.
pub fn parse_stat(text: &str) -> Option<ProcInfo> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3 (state); field 22 is 19 further on.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcInfo { start_time, state })
}

/// Signal `pid` if it is still the process that started at `start_time`.
///
/// A zombie still exists for this purpose: signalling it succeeds and does
/// nothing, as `kill(2)` does. Gone or recycled is `ERR_LXTS_NO_SUCH_PROCESS`.
pub fn signal(pid: i32, start_time: u64, signal: i32) -> Result<()> {
    let fd = open_checked(pid, start_time)?.ok_or_else(|| gone(pid))?;
    // SAFETY: plain syscall on a pidfd we own; null siginfo means "as kill(2)".
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd_raw(&fd), signal, std::ptr::null::<libc::siginfo_t>(), 0) };
    if rc == 0 {
        return Ok(());
    }
    match Errno::last() {
        // Exited after the check: a zombie or reaped meanwhile. Same answer as kill(2) on a zombie.
        Errno::ESRCH if info(pid).is_some_and(|i| i.start_time == start_time) => Ok(()),
        Errno::ESRCH => Err(gone(pid)),
        Errno::EINVAL => {
            Err(Error::sys(Code::InvalidConfig, "pidfd_send_signal", None, Errno::EINVAL).context(format!("signal {signal} to pid {pid}")))
        }
        e => Err(Error::sys(Code::Syscall, "pidfd_send_signal", None, e).context(format!("signal {signal} to pid {pid}"))),
    }
}

/// Wait up to `timeout_ms` for the process to exit (zombie counts as exited).
/// Returns `true` when it has exited. Uses `poll` on a pidfd, never `waitpid`.
/// A negative timeout waits forever (avoid it on a shared thread pool).
pub fn wait_exit(pid: i32, start_time: u64, timeout_ms: i32) -> Result<bool> {
    let Some(fd) = open_checked(pid, start_time)? else { return Ok(true) };
    let deadline = (timeout_ms >= 0).then(|| Instant::now() + std::time::Duration::from_millis(timeout_ms as u64));
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now()).as_millis();
                PollTimeout::try_from(left.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys(Code::Syscall, "poll", None, e).context(format!("wait for pid {pid}"))),
        }
    }
}

/// `pidfd_open(pid)` and then the start-time check. `None` when the process is
/// gone or the pid now names another process.
fn open_checked(pid: i32, start_time: u64) -> Result<Option<OwnedFd>> {
    if pid <= 0 {
        return Err(Error::new(Code::InvalidConfig, format!("pid {pid}: must be positive")));
    }
    // SAFETY: pidfd_open takes (pid_t, unsigned int) and returns a new fd or -1.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if rc < 0 {
        return match Errno::last() {
            Errno::ESRCH => Ok(None),
            e => Err(Error::sys(Code::Syscall, "pidfd_open", None, e).context(format!("pid {pid}"))),
        };
    }
    // SAFETY: the kernel just handed us this fd (O_CLOEXEC by default) and nobody else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(rc as i32) };
    match info(pid) {
        Some(i) if i.start_time == start_time => Ok(Some(fd)),
        _ => Ok(None),
    }
}

fn fd_raw(fd: &OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

fn gone(pid: i32) -> Error {
    Error::new(Code::NoSuchProcess, format!("process {pid} does not exist (exited, or its pid was reused)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};

    fn sleeper() -> (Child, i32, u64) {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let st = info(pid).unwrap().start_time;
        (child, pid, st)
    }

    #[test]
    fn parses_comm_with_spaces_and_parens() {
        let mut line = String::from("42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ");
        line.push_str("987654 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0");
        assert_eq!(parse_stat(&line), Some(ProcInfo { start_time: 987654, state: 'S' }));
        assert_eq!(parse_stat("42 (x) S 1"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn info_of_self_and_missing() {
        let me = info(std::process::id() as i32).unwrap();
        assert!(me.start_time > 0);
        assert_eq!(info(-1), None);
        assert_eq!(info(i32::MAX), None);
    }

    #[test]
    fn signal_and_wait_a_child() {
        let (mut child, pid, st) = sleeper();
        assert!(!wait_exit(pid, st, 50).unwrap(), "still running");
        signal(pid, st, 0).unwrap();
        signal(pid, st, libc::SIGTERM).unwrap();
        assert!(wait_exit(pid, st, 5000).unwrap(), "exited (zombie)");
        // Zombie: still exists for kill(2) semantics.
        assert_eq!(info(pid).map(|i| i.state), Some('Z'));
        signal(pid, st, libc::SIGKILL).unwrap();
        child.wait().unwrap();
        assert_eq!(signal(pid, st, libc::SIGTERM).unwrap_err().code, Code::NoSuchProcess);
        assert!(wait_exit(pid, st, 1000).unwrap(), "reaped counts as exited");
    }

    #[test]
    fn wrong_start_time_is_no_such_process() {
        let (mut child, pid, st) = sleeper();
        let e = signal(pid, st + 1, libc::SIGKILL).unwrap_err();
        assert_eq!(e.code, Code::NoSuchProcess);
        assert!(wait_exit(pid, st + 1, 1000).unwrap(), "a recycled pid is not our process");
        assert_eq!(info(pid).map(|i| i.state).filter(|s| *s == 'Z'), None, "not signalled");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn bad_pid_and_signal() {
        assert_eq!(signal(0, 1, libc::SIGTERM).unwrap_err().code, Code::InvalidConfig);
        let (mut child, pid, st) = sleeper();
        let e = signal(pid, st, 999).unwrap_err();
        assert_eq!(e.code, Code::InvalidConfig);
        assert_eq!(e.syscall, Some("pidfd_send_signal"));
        assert_eq!(e.errno, Some(libc::EINVAL));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
