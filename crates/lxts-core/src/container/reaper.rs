//! `--init`: the container's PID 1 stays a tiny init from the helper's sealed
//! image. It forks the configured process, reaps every zombie in the pid
//! namespace, forwards every catchable signal to the process (or its process
//! group) and exits with its status (128 + signal when it was killed).
//!
//! The loop allocates nothing and never busy-waits: every signal is blocked and
//! read from a signalfd (blocked signals reach a pid-namespace init even with the
//! default disposition, so nothing sent from the host is lost).

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::sys;
use crate::{Code, Result};

fn full_set() -> libc::sigset_t {
    // SAFETY: sigfillset initialises a local sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        set
    }
}

/// Block every signal; call before forking so that nothing arrives unseen.
pub fn block_all() -> Result<()> {
    let set = full_set();
    // SAFETY: `set` is initialised; the old mask is not needed.
    let ret = unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    sys::cvt(ret, Code::Syscall, "sigprocmask", None).map(|_| ())
}

/// In the forked process: an empty mask again, and its own process group when
/// signals go to the group.
pub fn child_setup(own_group: bool) {
    // SAFETY: sigemptyset fills a local set; sigprocmask and setpgid take valid arguments.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        if own_group {
            libc::setpgid(0, 0);
        }
    }
}

/// The shell convention for a wait status: the exit code, or 128 + signal.
pub fn status_code(status: libc::c_int) -> libc::c_int {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

/// Reap every exited child without blocking; the status of `main` when it was among them.
fn reap_all(main: libc::pid_t) -> Option<libc::c_int> {
    let mut found = None;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid(-1) with a writable status; this process is the
        // container's PID 1 (the rule against waitpid(-1) is about Node).
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            if pid == main {
                found = Some(status_code(status));
            }
            continue;
        }
        if pid < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return found;
    }
}

fn open_signalfd() -> Option<OwnedFd> {
    let set = full_set();
    // SAFETY: `set` is initialised; -1 asks for a new signalfd.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    (fd >= 0).then(|| sys::owned(fd))
}

/// Drop this process's page-table entries for clean, read-only file mappings
/// (the sealed image's text, libc): they refault from the page cache when
/// touched, and a waiting loop touches few. Mappings that are writable or hold
/// anonymous (copy-on-write, e.g. relocated) pages are left alone, so nothing
/// changes but the resident set. Best effort: a missing `/proc` skips it.
pub fn shed_clean_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    let mut cur: Option<(usize, usize, bool)> = None;
    for line in smaps.lines() {
        let mut words = line.split_ascii_whitespace();
        let first = words.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-').filter(|(a, _)| a.chars().all(|c| c.is_ascii_hexdigit())) {
            let perms = words.next().unwrap_or("");
            let path = words.nth(3).unwrap_or("");
            let clean = perms.as_bytes().get(1) == Some(&b'-') && !path.is_empty() && !path.starts_with('[');
            cur = match (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                (Ok(a), Ok(b)) if clean => Some((a, b, true)),
                _ => None,
            };
        } else if first == "Anonymous:" {
            if let Some((a, b, true)) = cur.take() {
                if words.next() == Some("0") {
                    // SAFETY: the range is one of our own read-only mappings without
                    // anonymous pages: dropping its PTEs only forces refaults from the file.
                    unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
                }
            }
        }
    }
    drop(smaps);
    // SAFETY: malloc_trim only returns free heap pages to the kernel (glibc; musl's malloc
    // returns them itself).
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0)
    };
}

/// Show PID 1 as `lxts-init` in the container's `ps`: its argv still names the
/// helper's host path. The argv strings live on our stack (`/proc/self/stat`
/// fields 48-49); nothing reads them after startup.
fn rename_self() {
    const NAME: &[u8] = b"lxts-init";
    // SAFETY: PR_SET_NAME with a NUL-terminated string (comm, at most 16 bytes).
    unsafe {
        libc::prctl(libc::PR_SET_NAME, c"lxts-init".as_ptr() as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong)
    };
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return };
    let Some(close) = stat.rfind(')') else { return };
    let fields: Vec<&str> = stat[close + 1..].split_ascii_whitespace().collect();
    // fields[0] is field 3 (state): arg_start is field 48, arg_end field 49.
    let (Some(Ok(start)), Some(Ok(end))) = (fields.get(45).map(|f| f.parse::<usize>()), fields.get(46).map(|f| f.parse::<usize>())) else {
        return;
    };
    if start == 0 || end <= start + NAME.len() {
        return;
    }
    // SAFETY: [start, end) is this process's own argv area (mapped, writable stack);
    // the name plus its NUL fits inside it.
    unsafe {
        std::ptr::write_bytes(start as *mut u8, 0, end - start);
        std::ptr::copy_nonoverlapping(NAME.as_ptr(), start as *mut u8, NAME.len());
    }
}

/// After `exec.fifo` opened (the container was started): fork the configured
/// process, which reports on the fifo and execs as without `--init`; this
/// process stays PID 1. Never returns.
pub fn fork_and_run(e: &super::exec::Exec, fifo: OwnedFd, to_group: bool) -> ! {
    if block_all().is_err() {
        // SAFETY: _exit without running the helper's destructors.
        unsafe { libc::_exit(1) }
    }
    // SAFETY: the init is single-threaded; the child only execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        child_setup(to_group);
        super::exec::exec(e, fifo)
    }
    if pid < 0 {
        // SAFETY: as above.
        unsafe { libc::_exit(1) }
    }
    rename_self();
    shed_clean_pages();
    if to_group {
        // SAFETY: setpgid on our own child (the child does the same; whichever runs first wins).
        unsafe { libc::setpgid(pid, pid) };
    }
    drop(fifo);
    // PID 1 keeps stdio only: preserved fds and anything else belong to the process.
    // SAFETY: close_range on fd numbers this process owns.
    unsafe { libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, libc::c_uint::MAX, 0 as libc::c_uint) };
    run(pid, to_group)
}

/// PID 1's loop. `main` is the forked process; never returns.
pub fn run(main: libc::pid_t, to_group: bool) -> ! {
    // Without a new pid namespace this is not PID 1: adopt orphans anyway.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    let Some(sfd) = open_signalfd() else {
        // Cannot listen: still reap, blocking, until the process ends.
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: as in reap_all, blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
            if pid == main {
                // SAFETY: _exit without running the helper's destructors.
                unsafe { libc::_exit(status_code(status)) }
            }
            if pid < 0 && Errno::last() == Errno::ECHILD {
                // SAFETY: as above.
                unsafe { libc::_exit(1) }
            }
        }
    };
    // Nothing else stays open in PID 1 but stdio, preserved fds and the signalfd.
    let target = if to_group { -main } else { main };
    loop {
        // SAFETY: an all-zero signalfd_siginfo is valid; read fills it.
        let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        // SAFETY: reading one signalfd_siginfo into a local buffer.
        let n = unsafe {
            libc::read(sfd.as_raw_fd(), (&mut si as *mut libc::signalfd_siginfo).cast(), std::mem::size_of::<libc::signalfd_siginfo>())
        };
        if n <= 0 {
            continue;
        }
        let sig = si.ssi_signo as libc::c_int;
        if sig != libc::SIGCHLD {
            // SAFETY: kill with a pid (or a negated process group) and a signal number.
            unsafe { libc::kill(target, sig) };
        }
        // A SIGCHLD may have been coalesced with others: reap after every signal.
        if let Some(code) = reap_all(main) {
            // SAFETY: _exit without running the helper's destructors.
            unsafe { libc::_exit(code) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(status_code(3 << 8), 3);
        assert_eq!(status_code(libc::SIGTERM), 143);
        assert_eq!(status_code(libc::SIGKILL), 137);
    }
}
