//! Monitor mode: stay the init's parent, forward signals to it (signalfd, no
//! handlers), reap it with `waitid(P_PIDFD)`, record `exit.json` atomically.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::sys;
use crate::plan::Report;
use crate::{Code, Error, Result};

/// The signals a foreground `run` passes on to the container.
pub const FORWARDED: [libc::c_int; 7] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH];

const P_PIDFD: libc::idtype_t = 3;

fn forwarded_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Block the forwarded signals (before clone, so none is lost).
pub fn block_forwarded() -> Result<()> {
    let set = forwarded_set();
    // SAFETY: `set` is initialised; the old mask is not needed.
    let ret = unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    sys::cvt(ret, Code::Syscall, "sigprocmask", None).map(|_| ())
}

/// In the init: an empty signal mask and default dispositions for what the
/// helper changed (SIGPIPE), since both survive `execve`.
pub fn reset_in_child() {
    // SAFETY: sigemptyset fills a local set; sigprocmask and signal take valid arguments.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Send a signal through the pidfd (never by pid).
pub fn pidfd_signal(pidfd: &OwnedFd, sig: libc::c_int) -> std::result::Result<(), Errno> {
    // SAFETY: pidfd_send_signal with a valid pidfd, no siginfo, no flags.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, std::ptr::null::<libc::siginfo_t>(), 0) };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// How the init ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub status: Option<i32>,
    pub signal: Option<i32>,
}

impl Exit {
    /// The shell convention: the status, or 128 + signal.
    pub fn code(&self) -> i32 {
        self.status.unwrap_or_else(|| 128 + self.signal.unwrap_or(0))
    }

    pub fn report(&self) -> Report {
        Report::Exited { exit_code: self.code(), status: self.status, signal: self.signal }
    }
}

/// Reap the child (blocking) through its pidfd.
pub fn reap(pidfd: &OwnedFd) -> Result<Exit> {
    loop {
        // SAFETY: an all-zero siginfo_t is valid; waitid fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid(P_PIDFD) on our own child's pidfd with a writable siginfo.
        let ret = unsafe { libc::waitid(P_PIDFD, pidfd.as_raw_fd() as libc::id_t, &mut info, libc::WEXITED) };
        if ret < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys(Code::Syscall, "waitid", Some("P_PIDFD"), Errno::last()));
        }
        // SAFETY: waitid succeeded for a child event, so si_status is the valid member.
        let status = unsafe { info.si_status() };
        return Ok(if info.si_code == libc::CLD_EXITED {
            Exit { status: Some(status), signal: None }
        } else {
            Exit { status: None, signal: Some(status) }
        });
    }
}

/// Forward signals until the init exits, then reap it.
pub fn watch(pidfd: &OwnedFd) -> Result<Exit> {
    watch_settled(pidfd, 0, || {})
}

/// [`watch`], calling `settled` once the init has lived `settle_ms` (never, if it exits
/// before): work for a long-lived process that a short one should not wait behind.
pub fn watch_settled(pidfd: &OwnedFd, settle_ms: i32, settled: impl FnOnce()) -> Result<Exit> {
    let mut settled = Some(settled);
    // A deadline, so forwarded signals (each wakes the poll) cannot put the work off forever.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(settle_ms.max(0) as u64);
    let set = forwarded_set();
    // SAFETY: `set` is initialised; -1 asks for a new signalfd.
    let sfd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    let sfd = sys::owned(sys::cvt(sfd, Code::Syscall, "signalfd", None)?);
    loop {
        let mut fds = [
            libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: sfd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        let timeout = match settled {
            Some(_) => deadline.saturating_duration_since(std::time::Instant::now()).as_millis() as i32,
            None => -1,
        };
        // SAFETY: `fds` is a valid array of two pollfd.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if n == 0 {
            if let Some(f) = settled.take() {
                f();
            }
            continue;
        }
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys(Code::Syscall, "poll", None, Errno::last()));
        }
        if fds[1].revents & libc::POLLIN != 0 {
            // SAFETY: an all-zero signalfd_siginfo is valid; read fills it.
            let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            // SAFETY: reading exactly one signalfd_siginfo into `si`.
            let r = unsafe {
                libc::read(sfd.as_raw_fd(), (&mut si as *mut libc::signalfd_siginfo).cast(), std::mem::size_of::<libc::signalfd_siginfo>())
            };
            if r > 0 {
                // ESRCH: it is exiting; the pidfd will become readable.
                let _ = pidfd_signal(pidfd, si.ssi_signo as libc::c_int);
            }
        }
        if fds[0].revents != 0 {
            return reap(pidfd);
        }
    }
}

/// `/proc/<pid>/stat` field 22 (start time in clock ticks since boot).
pub fn start_time(pid: i32) -> Result<u64> {
    crate::proc::info(pid)
        .map(|i| i.start_time)
        .ok_or_else(|| Error::new(Code::NoSuchProcess, format!("container init {pid} vanished before it was reported")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_of_self() {
        assert!(start_time(std::process::id() as i32).unwrap() > 0);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Exit { status: Some(3), signal: None }.code(), 3);
        assert_eq!(Exit { status: None, signal: Some(9) }.code(), 137);
    }
}
