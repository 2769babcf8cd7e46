//! The child of helper mode `exec`: after `go`, the process attributes, the
//! terminal (`process.terminal`), credentials and capabilities, fd hygiene,
//! `execve`. Any failure is sent as a JSON error on the sync socket
//! (close-on-exec: EOF tells the helper the exec succeeded).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;

use super::super::{caps, fds, hooks, monitor, seccomp, sync, sys, tty, user};
use crate::plan::{Process, Seccomp};
use crate::{Code, Error, Result};

/// What the child inherits from the helper.
pub struct ProcessCtx<'a> {
    pub process: &'a Process,
    pub caps: caps::Sets,
    pub sync: OwnedFd,
    pub proc_fd: OwnedFd,
    /// Helper fds the process must not keep.
    pub close: Vec<RawFd>,
    pub preserve_fds: u32,
    pub detach: bool,
    /// `process.terminal`: the connected console socket (close-on-exec).
    pub console: Option<Console>,
    /// The container's v1 `tasks` files: the process moves itself in after `go`.
    pub cgroup_tasks: Vec<(BorrowedFd<'a>, &'a Path)>,
    /// The container's `linux.seccomp`.
    pub seccomp: Option<Filter<'a>>,
    /// The container's `linux.personality` (as runc: exec'd processes get it too).
    pub personality: Option<&'a crate::plan::Personality>,
    /// The container's `linux.memoryPolicy` (every process of the container has it).
    pub memory_policy: Option<&'a crate::plan::MemoryPolicy>,
}

/// The container's seccomp profile and, when it notifies, the connected listener socket
/// (close-on-exec) and the container's OCI state to send with the fd.
pub struct Filter<'a> {
    pub profile: &'a Seccomp,
    pub listener: Option<OwnedFd>,
    pub state: serde_json::Value,
}

/// Where the pty master goes, and the pty's initial size (cols, rows).
pub struct Console {
    pub socket: OwnedFd,
    pub size: Option<(u16, u16)>,
}

/// Never returns: ends in `execve` or `_exit`.
pub fn main(ctx: ProcessCtx<'_>) -> ! {
    for fd in &ctx.close {
        // SAFETY: closing inherited helper fds this process will not use.
        unsafe { libc::close(*fd) };
    }
    monitor::reset_in_child();
    // Above the preserved fds' sources, so the fd shuffle cannot clobber it.
    let min = fds::PRESERVE_SOURCE + ctx.preserve_fds as RawFd;
    let raised = fds::raise(ctx.sync, min).and_then(|sync| {
        let console = ctx.console.map(|c| fds::raise(c.socket, min).map(|socket| Console { socket, size: c.size })).transpose()?;
        let seccomp = ctx
            .seccomp
            .map(|f| Ok::<_, Error>(Filter { listener: f.listener.map(|s| fds::raise(s, min)).transpose()?, ..f }))
            .transpose()?;
        Ok((sync, console, seccomp))
    });
    let (sync, console, seccomp) = match raised {
        Ok(r) => r,
        // SAFETY: _exit skips the helper's destructors.
        Err(_) => unsafe { libc::_exit(1) },
    };
    let ctx = SetupCtx {
        process: ctx.process,
        caps: ctx.caps,
        sync,
        proc_fd: ctx.proc_fd,
        preserve_fds: ctx.preserve_fds,
        detach: ctx.detach,
        console,
        cgroup_tasks: ctx.cgroup_tasks,
        seccomp,
        personality: ctx.personality,
        memory_policy: ctx.memory_policy,
    };
    let (err, status) = match setup(&ctx) {
        Ok(e) => exec(&e),
        Err(e) => (e, 1),
    };
    sync::send_error(&ctx.sync, &err);
    // SAFETY: _exit skips the helper's destructors.
    unsafe { libc::_exit(status) }
}

struct SetupCtx<'a> {
    process: &'a Process,
    caps: caps::Sets,
    sync: OwnedFd,
    proc_fd: OwnedFd,
    preserve_fds: u32,
    detach: bool,
    console: Option<Console>,
    cgroup_tasks: Vec<(BorrowedFd<'a>, &'a Path)>,
    seccomp: Option<Filter<'a>>,
    personality: Option<&'a crate::plan::Personality>,
    memory_policy: Option<&'a crate::plan::MemoryPolicy>,
}

/// A pty from the container's devpts (its `/dev/pts/ptmx`, checked as for the init),
/// the slave owned by `uid`; the master sent to the console socket and closed; the
/// slave this process's controlling terminal and stdio. No `/dev/console`: that is the init's.
fn terminal(console: &Console, uid: u32) -> Result<()> {
    // The slave inode is created with our fsuid. Joined to a user namespace we are still the
    // host's root, unmapped there, and no one may chown an inode of an unmapped owner: become
    // the namespace's root first (what the init is before its switch; a no-op without userns).
    // SAFETY: credential syscalls with integer arguments; the caps stay (0 → namespace root).
    sys::cvt(unsafe { libc::setresgid(0, 0, 0) }, Code::Process, "setresgid", None)
        .map_err(|e| e.context("process.terminal: become root of the container's user namespace"))?;
    // SAFETY: as above.
    sys::cvt(unsafe { libc::setresuid(0, 0, 0) }, Code::Process, "setresuid", None)
        .map_err(|e| e.context("process.terminal: become root of the container's user namespace"))?;
    // setns(mnt) made the container's root ours: "/" is its rootfs.
    let root = sys::open("/", libc::O_PATH | libc::O_DIRECTORY, Code::UnsafePath).map_err(|e| e.context("process.terminal"))?;
    let (master, slave) = tty::open_pty(root.as_fd(), Some(uid))?;
    if let Some((cols, rows)) = console.size {
        super::super::console::set_window_size(master.as_fd(), cols, rows).map_err(|e| e.context("process.consoleSize"))?;
    }
    tty::send_master(console.socket.as_fd(), master.as_fd())?;
    drop(master);
    // Nothing more goes over it; our copy closes at execve.
    // SAFETY: shutdown on a connected socket we hold.
    unsafe { libc::shutdown(console.socket.as_raw_fd(), libc::SHUT_RDWR) };
    tty::make_stdio(slave)
}

fn setup(ctx: &SetupCtx<'_>) -> Result<super::Exec> {
    let process = ctx.process;
    sys::prctl(libc::PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")?;
    if !ctx.detach {
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, "PR_SET_PDEATHSIG")?;
    }
    if sync::recv(&ctx.sync)? != sync::GO {
        return Err(Error::new(Code::Protocol, "the helper did not send go"));
    }
    crate::cgroups::join_all_self(&ctx.cgroup_tasks)?;
    // In the container's cgroups now: execCPUAffinity.final (absent: the kernel decides).
    crate::container::sched::apply_cpu_affinity(process.exec_cpu_affinity.as_ref().and_then(|a| a.final_.as_deref()), "final")?;
    user::set_rlimits(&process.rlimits)?;
    crate::container::sched::apply_scheduler(process.scheduler.as_ref())?;
    crate::container::sched::apply_io_priority(process.io_priority.as_ref())?;
    crate::container::mempolicy::apply(ctx.memory_policy)?;
    user::set_umask(&process.user);
    let cwd = sys::cstr(&process.cwd)?;
    // SAFETY: `cwd` is a valid C string; setns(mnt) made the container's root ours.
    sys::cvt(unsafe { libc::chdir(cwd.as_ptr()) }, Code::Process, "chdir", Some(&process.cwd)).map_err(|e| e.context("process.cwd"))?;
    // CVE-2024-21626: a cwd reached through a leaked fd shows as "(unreachable)/…".
    let here = std::env::current_dir()
        .map_err(|_| Error::new(Code::UnsafePath, format!("process.cwd {} is outside the container root", process.cwd)))?;
    if !here.is_absolute() || here.to_string_lossy().starts_with("(unreachable)") {
        return Err(Error::new(Code::UnsafePath, format!("process.cwd {} is outside the container root", process.cwd)));
    }
    let e = super::lookup(process)?;
    super::super::personality::apply(ctx.personality)?;
    if let Some(c) = &ctx.console {
        terminal(c, process.user.uid)?;
    }
    if !process.no_new_privileges {
        // As in the init: without no_new_privs the load needs CAP_SYS_ADMIN, before caps drop.
        load_filter(ctx)?;
    }
    caps::drop_bounding(ctx.caps.bounding)?;
    user::switch(&process.user)?;
    caps::apply(&ctx.caps)?;
    if process.no_new_privileges {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")?;
    }
    fds::prepare(ctx.preserve_fds)?;
    if process.no_new_privileges {
        // The last step before execve, as in the init.
        load_filter(ctx)?;
    }
    Ok(e)
}

/// Load the container's filter; a listener gets the fd at once (status from the container's state).
fn load_filter(ctx: &SetupCtx<'_>) -> Result<()> {
    let Some(f) = &ctx.seccomp else { return Ok(()) };
    let listener = match &f.listener {
        Some(s) => {
            let state = seccomp::notify::process_state(f.profile, f.state.clone(), hooks::host_pid(&ctx.proc_fd)?);
            Some(seccomp::notify::Listener::new(s.as_fd(), state))
        }
        None => None,
    };
    seccomp::load_profile(Some(f.profile), listener.as_ref())
}

/// `execve`; returns only on failure, with the error and exit status (127/126).
fn exec(e: &super::Exec) -> (Error, i32) {
    let mut argv: Vec<*const libc::c_char> = e.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = e.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: `path`, `argv` and `envp` are NUL-terminated arrays of valid C strings.
    unsafe { libc::execve(e.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let errno = Errno::last();
    let (code, status) = if errno == Errno::ENOENT { (Code::ExecNotFound, 127) } else { (Code::ExecFailed, 126) };
    let mut err = Error::sys(code, "execve", Some(&e.path.to_string_lossy()), errno);
    err.message = format!("exec {}: {}", e.path.to_string_lossy(), errno.desc());
    (err, status)
}
