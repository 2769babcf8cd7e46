//! `createContainer` and `startContainer` hooks, run by the container init itself: it is
//! already in every namespace of the container, so nothing (least of all Node) has to
//! enter one. Each hook is forked from the init and `execve`d with exactly its `args`
//! and `env`; fd 0 is a pipe holding the OCI state JSON, fds 1 and 2 are the container's,
//! every other fd is closed on exec. The init waits for it (its own child, by pid), and
//! SIGKILLs its process group when `timeout` passes.
//!
//! - createContainer: from `rootfs::setup`, after the mounts and before `pivot_root`, so
//!   `path` resolves in the runtime (host) mount view; status `creating`.
//! - startContainer: after `exec.fifo` opened (`start`), before the fifo's `0` byte and
//!   `execve`, with the process's credentials; `path` resolves in the container; status
//!   `created`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::sys;
use crate::plan::{Hook, Plan};
use crate::{Code, Error, Result};

/// The two hook kinds the init runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CreateContainer,
    StartContainer,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
        }
    }

    fn status(self) -> &'static str {
        match self {
            Kind::CreateContainer => "creating",
            Kind::StartContainer => "created",
        }
    }

    fn list(self, plan: &Plan) -> &[Hook] {
        let Some(h) = plan.config.hooks.as_ref() else { return &[] };
        match self {
            Kind::CreateContainer => &h.create_container,
            Kind::StartContainer => &h.start_container,
        }
    }
}

/// Whether the plan has hooks of `kind` (callers skip the pid lookup otherwise).
pub fn any(plan: &Plan, kind: Kind) -> bool {
    !kind.list(plan).is_empty()
}

/// The init's pid as the host sees it: `self` of the host procfs the helper opened.
pub fn host_pid(proc_fd: &OwnedFd) -> Result<i32> {
    let link = nix::fcntl::readlinkat(proc_fd, "self").map_err(|e| Error::sys(Code::Syscall, "readlink", Some("/proc/self"), e))?;
    link.to_string_lossy().parse().map_err(|_| Error::new(Code::Syscall, format!("readlink /proc/self: unexpected {link:?}")))
}

/// The OCI state a hook reads on stdin.
pub fn state_json(plan: &Plan, status: &str, pid: i32) -> Vec<u8> {
    let mut s = serde_json::json!({
        "ociVersion": plan.config.oci_version,
        "id": plan.id,
        "status": status,
        "pid": pid,
        "bundle": plan.bundle,
    });
    if let Some(a) = plan.config.annotations.as_ref() {
        s["annotations"] = serde_json::json!(a);
    }
    s.to_string().into_bytes()
}

/// Run every hook of `kind` in config order; the first failure is returned (ERR_LXTS_HOOK).
pub fn run_all(plan: &Plan, kind: Kind, pid: i32) -> Result<()> {
    let state = state_json(plan, kind.status(), pid);
    for (i, hook) in kind.list(plan).iter().enumerate() {
        run_one(kind, i, hook, &state)?;
    }
    Ok(())
}

fn hook_error(kind: Kind, i: usize, hook: &Hook, what: String) -> Error {
    let mut e = Error::new(Code::Hook, format!("hooks.{}[{i}] ({}) {what}", kind.name(), hook.path));
    e.path = Some(hook.path.clone());
    e
}

fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter().map(|a| sys::cstr(a)).collect()
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 returns.
    sys::cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, Code::Hook, "pipe2", None)?;
    Ok((sys::owned(fds[0]), sys::owned(fds[1])))
}

/// The state JSON, written whole into a pipe before the fork (grown when it needs to be),
/// so a hook that never reads its stdin cannot block the init.
fn stdin_pipe(state: &[u8]) -> Result<OwnedFd> {
    let (r, w) = pipe()?;
    if state.len() > 65536 {
        // SAFETY: F_SETPIPE_SZ on a pipe we own.
        sys::cvt(
            unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, state.len() as libc::c_int) },
            Code::Hook,
            "fcntl",
            Some("F_SETPIPE_SZ"),
        )?;
    }
    let mut done = 0;
    while done < state.len() {
        // SAFETY: writing the rest of a buffer we own to a pipe we own.
        let n = unsafe { libc::write(w.as_raw_fd(), state[done..].as_ptr().cast(), state.len() - done) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys(Code::Hook, "write", Some("hook stdin"), Errno::last()));
        }
        done += n as usize;
    }
    Ok(r)
}

fn run_one(kind: Kind, i: usize, hook: &Hook, state: &[u8]) -> Result<()> {
    let path = sys::cstr(&hook.path)?;
    let argv = match hook.args.as_ref() {
        Some(a) if !a.is_empty() => cstrings(a)?,
        _ => vec![path.clone()],
    };
    let envp = cstrings(&hook.env)?;
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    let stdin = stdin_pipe(state)?;
    // Carries the child's execve errno; close-on-exec, so EOF means exec'd.
    let (err_r, err_w) = pipe()?;

    // SAFETY: the init is single-threaded; the child only makes async-signal-safe calls
    // on memory prepared above, then execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::sys(Code::Hook, "fork", Some(&hook.path), Errno::last()).context(format!("hooks.{}[{i}]", kind.name())));
    }
    if pid == 0 {
        // SAFETY: async-signal-safe calls only; all pointers were built before the fork.
        unsafe {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong);
            if kind == Kind::CreateContainer {
                // The init set 0 for exact modes; a hook gets the usual one.
                libc::umask(0o022);
            }
            let ok = libc::dup2(stdin.as_raw_fd(), 0) >= 0
                && libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC) >= 0;
            if ok {
                libc::execve(path.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr());
            }
            let errno = Errno::last() as i32;
            libc::write(err_w.as_raw_fd(), (&errno as *const i32).cast(), 4);
            libc::_exit(127);
        }
    }
    drop(stdin);
    drop(err_w);
    let mut buf = [0u8; 4];
    let n = loop {
        // SAFETY: reading into a local buffer from a pipe we own.
        let n = unsafe { libc::read(err_r.as_raw_fd(), buf.as_mut_ptr().cast(), 4) };
        if n >= 0 || Errno::last() != Errno::EINTR {
            break n;
        }
    };
    let status = wait(pid, hook.timeout);
    if n == 4 {
        let errno = Errno::from_raw(i32::from_ne_bytes(buf));
        let mut e = hook_error(kind, i, hook, format!("could not be run: execve: {}", errno.desc()));
        e.syscall = Some("execve");
        e.errno = Some(errno as i32);
        return Err(e);
    }
    match status {
        Waited::TimedOut => Err(hook_error(kind, i, hook, format!("timed out after {} s and was killed", hook.timeout.unwrap_or(0)))),
        Waited::Status(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 0 => Ok(()),
        Waited::Status(s) if libc::WIFEXITED(s) => Err(hook_error(kind, i, hook, format!("exited with status {}", libc::WEXITSTATUS(s)))),
        Waited::Status(s) => Err(hook_error(kind, i, hook, format!("was killed by signal {}", libc::WTERMSIG(s)))),
        Waited::Failed(e) => Err(Error::sys(Code::Hook, "waitpid", Some(&hook.path), e)),
    }
}

enum Waited {
    Status(libc::c_int),
    TimedOut,
    Failed(Errno),
}

/// Wait for our child `pid`; past `timeout` seconds SIGKILL its process group and reap it.
/// Polls with `WNOHANG` (no pidfd: a seccomp profile loaded without no_new_privs may deny it).
fn wait(pid: libc::pid_t, timeout: Option<u64>) -> Waited {
    let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(std::time::Duration::from_secs(t)));
    let mut nap = std::time::Duration::from_millis(1);
    loop {
        let mut status = 0;
        let flags = if deadline.is_some() { libc::WNOHANG } else { 0 };
        // SAFETY: waitpid on our own child with a local status word.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        if r == pid {
            return Waited::Status(status);
        }
        if r < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Waited::Failed(Errno::last());
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            // SAFETY: signalling the hook's own process group and the hook (its pid is ours
            // to signal until we reap it).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Waited::TimedOut;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(std::time::Duration::from_millis(20));
    }
}

/// Helper side of the createRuntime pause: report `{"type":"hooks","pid"}` on the control
/// channel and read Node's one-line answer; anything but `{"type":"resume"}` (Node closes the
/// channel when a hook failed) aborts the create.
pub fn relay_pause(control: &OwnedFd, pid: i32) -> Result<()> {
    super::write_report(control, &crate::plan::Report::Hooks { pid })?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        // SAFETY: reading one byte into a local buffer from the control fd (never past the line).
        let n = unsafe { libc::read(control.as_raw_fd(), byte.as_mut_ptr().cast(), 1) };
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        if n <= 0 || byte[0] == b'\n' || line.len() > 4096 {
            break;
        }
        line.push(byte[0]);
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        r#type: String,
    }
    match serde_json::from_slice::<Answer>(&line) {
        Ok(a) if a.r#type == "resume" => Ok(()),
        _ => Err(Error::new(Code::Hook, "the createRuntime hooks failed (create aborted)")),
    }
}
