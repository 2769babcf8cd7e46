//! The container init: runs in the child of `clone3` until `execve`. It waits for
//! the helper's `go`, joins and sets up namespaces, the rootfs, the process
//! attributes and credentials, reports `ready`, then blocks on `exec.fifo`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use super::exec::{self, Exec};
use super::namespaces::NsPlan;
use super::{caps, fds, hooks, monitor, net, rootfs, seccomp, sync, sys, user};
use crate::plan::Plan;
use crate::{Code, Error, Result};

/// Everything the init inherits from the helper.
pub struct InitCtx<'a> {
    pub plan: &'a Plan,
    pub ns: &'a NsPlan,
    pub caps: caps::Sets,
    pub sync: OwnedFd,
    pub fifo: OwnedFd,
    pub proc_fd: OwnedFd,
    /// Helper fds the init must not keep (control channel, state dir, cgroup dir).
    pub close: Vec<RawFd>,
    /// The connected console socket (`process.terminal`); taken and closed by the rootfs set-up.
    pub console: Option<OwnedFd>,
    /// The container's v1 `tasks` files, opened by the helper: the init moves itself in.
    pub cgroup_tasks: Vec<(BorrowedFd<'a>, &'a Path)>,
    /// The connected `linux.seccomp.listenerPath` socket (`SCMP_ACT_NOTIFY`), close-on-exec.
    pub listener: Option<OwnedFd>,
    /// The cgroup hierarchies as the helper found them, when it made the container's groups.
    pub host: Option<&'a crate::cgroups::Host>,
    /// [`keeps_dumpable`], as the helper decided it (our own euid is not the host's any more).
    pub keep_dumpable: bool,
}

/// Whether the init is made dumpable and stays so until `go`: only rootless with a new user
/// namespace, whose id maps the unprivileged helper can write only while the init's `/proc`
/// files are the user's. In that namespace nothing else runs yet; in a joined one (a pod's)
/// the init would be exposed to its processes, so it is never dumpable there.
pub fn keeps_dumpable(ns: &NsPlan) -> bool {
    user::rootless() && ns.creates(libc::CLONE_NEWUSER as u64)
}

/// Never returns: ends in `execve` or `_exit`.
pub fn main(ctx: InitCtx<'_>) -> ! {
    for fd in &ctx.close {
        // SAFETY: closing fds this process inherited and will not use.
        unsafe { libc::close(*fd) };
    }
    monitor::reset_in_child();
    match setup(&ctx) {
        Ok(e) => finish(ctx, e),
        Err(err) => {
            sync::send_error(&ctx.sync, &err);
            // SAFETY: _exit skips the helper's destructors and atexit handlers.
            unsafe { libc::_exit(1) }
        }
    }
}

fn setup(ctx: &InitCtx<'_>) -> Result<Exec> {
    let plan = ctx.plan;
    if !ctx.keep_dumpable {
        sys::prctl(libc::PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")?;
    }
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, "PR_SET_PDEATHSIG")?;
    if sync::recv(&ctx.sync)? != sync::GO {
        return Err(Error::new(Code::Protocol, "the helper did not send go"));
    }
    // Our id maps are written (see `keeps_dumpable`): never dumpable past this point.
    sys::prctl(libc::PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")?;
    // Into the v1 cgroups before anything forks (hooks) or the cgroup namespace is unshared.
    crate::cgroups::join_all_self(&ctx.cgroup_tasks)?;
    // No mount namespace of its own (none listed, or a path naming the one it is in): the
    // rootfs is set up in the caller's, which must be left as it is (rootfs::setup).
    let caller_mnt = (!ctx.ns.creates(libc::CLONE_NEWNS as u64)).then(|| super::namespaces::own_id(&ctx.proc_fd, "mnt")).flatten();
    // The hierarchies a `type: cgroup` mount binds, as seen outside a new cgroup namespace (in
    // one, mountinfo gives each hierarchy's root relative to the container's group: `/..`):
    // the helper's view, as the mount namespace is a copy of its own, unless one is joined;
    // then read right after joining it.
    let cgroup_mount = plan.config.mounts.iter().any(|m| m.kind.as_deref() == Some("cgroup"));
    let mut own_host = None;
    for (kind, f, path) in ctx.ns.in_child() {
        super::namespaces::join(kind, *f, path)?;
        if cgroup_mount && *f == libc::CLONE_NEWNS as u64 {
            own_host = Some(crate::cgroups::detect()?.for_containers());
        }
    }
    let host_mnt = caller_mnt.is_some() && caller_mnt == super::namespaces::own_id(&ctx.proc_fd, "mnt");
    if cgroup_mount && own_host.is_none() && ctx.host.is_none() {
        own_host = Some(crate::cgroups::detect()?.for_containers());
    }
    let cgroup_host = if cgroup_mount { own_host.as_ref().or(ctx.host) } else { None };
    if ctx.ns.creates(libc::CLONE_NEWUSER as u64) {
        user::become_ns_root()?;
    }
    if ctx.ns.creates(libc::CLONE_NEWCGROUP as u64) {
        // Not a clone flag: unshared once in our cgroups (above), so they are its root.
        // SAFETY: unshare with a namespace flag; this process is single-threaded.
        sys::cvt(unsafe { libc::unshare(libc::CLONE_NEWCGROUP) }, Code::Namespace, "unshare", Some("cgroup"))
            .map_err(|e| e.context("linux.namespaces cgroup"))?;
    }
    // SAFETY: umask cannot fail; 0 so device and directory modes are exact.
    unsafe { libc::umask(0) };
    // A joined uts namespace gets the hostname too (as runc; the config asked for it).
    // Set before the rootfs so createContainer hooks see it.
    if ctx.ns.creates(libc::CLONE_NEWUTS as u64) || ctx.ns.join.iter().any(|j| j.1 == libc::CLONE_NEWUTS as u64) {
        if let Some(h) = plan.config.hostname.as_deref() {
            nix::unistd::sethostname(h).map_err(|e| Error::sys(Code::Process, "sethostname", None, e).context("hostname"))?;
        }
        if let Some(d) = plan.config.domainname.as_deref() {
            let c = sys::cstr(d)?;
            // SAFETY: `c` is valid for `len` bytes.
            sys::cvt(unsafe { libc::setdomainname(c.as_ptr(), d.len()) }, Code::Process, "setdomainname", None)
                .map_err(|e| e.context("domainname"))?;
        }
    }
    let console = ctx.console.as_ref().map(|c| (c, plan.config.process.as_ref().map_or(0, |p| p.user.uid)));
    let mut create_hooks = || -> Result<()> {
        if plan.config.hooks.as_ref().is_some_and(|h| !h.create_runtime.is_empty()) {
            // createRuntime (Node's) come first: pause until the helper relays that they passed.
            sync::send(&ctx.sync, sync::HOOKS)?;
            if sync::recv(&ctx.sync)? != sync::RESUME {
                return Err(Error::new(Code::Protocol, "the helper did not resume after the createRuntime hooks"));
            }
        }
        if hooks::any(plan, hooks::Kind::CreateContainer) {
            hooks::run_all(plan, hooks::Kind::CreateContainer, hooks::host_pid(&ctx.proc_fd)?)?;
        }
        Ok(())
    };
    // The helper records the bind before the init mounts anything into it, so a helper that
    // dies here leaves at most that one bind, never the container's mounts, unrecorded.
    let mut report_root = |id: u64| {
        sync::send(&ctx.sync, &[sync::ROOT_MOUNT, id.to_string().as_bytes()].concat())?;
        match sync::recv(&ctx.sync)? {
            m if m == sync::ROOT_RECORDED => Ok(()),
            _ => Err(Error::new(Code::Protocol, "the helper did not record the rootfs mount")),
        }
    };
    let host_root: Option<&mut dyn FnMut(u64) -> Result<()>> = if host_mnt { Some(&mut report_root) } else { None };
    let mut idmapped = |i: usize, m: &crate::plan::Mount| rootfs::idmap::request(m, i, plan.config.linux.as_ref(), &ctx.sync);
    rootfs::setup(plan, &mut idmapped, ctx.ns.creates(libc::CLONE_NEWUSER as u64), console, host_root, cgroup_host, &mut create_hooks)?;
    if ctx.ns.creates(libc::CLONE_NEWNET as u64) {
        net::loopback_up().map_err(|e| e.context("bring lo up"))?;
    }
    let Some(process) = plan.config.process.as_ref() else { refuse_start(ctx) };
    user::set_rlimits(&process.rlimits)?;
    // While the capabilities a real-time policy or class needs are still there (in a user
    // namespace those are the host's CAP_SYS_NICE/CAP_SYS_ADMIN, which it lacks: refused there).
    super::sched::apply_scheduler(process.scheduler.as_ref())?;
    super::sched::apply_io_priority(process.io_priority.as_ref())?;
    super::mempolicy::apply(plan.config.linux.as_ref().and_then(|l| l.memory_policy.as_ref()))?;
    user::set_umask(&process.user);
    enter_cwd(&process.cwd)?;
    // CVE-2024-21626: a cwd reached through a leaked fd shows as "(unreachable)/…".
    let here = std::env::current_dir()
        .map_err(|_| Error::new(Code::UnsafePath, format!("process.cwd {} is outside the container root", process.cwd)))?;
    if !here.is_absolute() || here.to_string_lossy().starts_with("(unreachable)") {
        return Err(Error::new(Code::UnsafePath, format!("process.cwd {} is outside the container root", process.cwd)));
    }
    let e = exec::lookup(process)?;
    super::personality::apply(plan.config.linux.as_ref().and_then(|l| l.personality.as_ref()))?;
    if !process.no_new_privileges {
        // Without no_new_privs the filter needs CAP_SYS_ADMIN: load it before caps are dropped (as runc).
        let listener = match &ctx.listener {
            Some(s) => Some(seccomp::notify::Listener::new(
                s.as_fd(),
                seccomp::notify::init_state(plan, "creating", hooks::host_pid(&ctx.proc_fd)?),
            )),
            None => None,
        };
        seccomp::load_plan(plan, listener.as_ref())?;
    }
    caps::drop_bounding(ctx.caps.bounding)?;
    user::switch(&process.user)?;
    caps::apply(&ctx.caps)?;
    if process.no_new_privileges {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")?;
    }
    sys::prctl(libc::PR_SET_PDEATHSIG, 0, "PR_SET_PDEATHSIG")?;
    Ok(e)
}

/// A container created without `process`: it is `created` like any other, and `start`
/// gets an error through `exec.fifo` (the OCI lifecycle: create may, start must fail).
fn refuse_start(ctx: &InitCtx<'_>) -> ! {
    let die = || -> ! {
        // SAFETY: _exit skips the helper's destructors.
        unsafe { libc::_exit(1) }
    };
    if sys::prctl(libc::PR_SET_PDEATHSIG, 0, "PR_SET_PDEATHSIG").is_err() || sync::send(&ctx.sync, sync::READY).is_err() {
        die()
    }
    match exec::open_fifo(&ctx.proc_fd, &ctx.fifo) {
        Ok(fifo) => seccomp::fail_into(&fifo, &Error::new(Code::InvalidConfig, "process: is required to start a container")),
        Err(_) => die(),
    }
}

fn finish(ctx: InitCtx<'_>, e: Exec) -> ! {
    let die = |code: i32| -> ! {
        // SAFETY: _exit skips the helper's destructors.
        unsafe { libc::_exit(code) }
    };
    if sync::send(&ctx.sync, sync::READY).is_err() {
        die(1);
    }
    drop(ctx.sync);
    let start_pid = match hooks::any(ctx.plan, hooks::Kind::StartContainer) {
        false => None,
        true => match hooks::host_pid(&ctx.proc_fd) {
            Ok(p) => Some(p),
            Err(_) => die(1),
        },
    };
    let nnp = ctx.plan.config.process.as_ref().is_some_and(|p| p.no_new_privileges);
    // The filter loaded without no_new_privs already went to its listener (status creating).
    let listener = match ctx.listener.filter(|_| nnp) {
        None => None,
        Some(s) => match hooks::host_pid(&ctx.proc_fd) {
            Ok(pid) => Some((s, pid)),
            Err(_) => die(1),
        },
    };
    let fifo = match exec::open_fifo(&ctx.proc_fd, &ctx.fifo) {
        Ok(f) => f,
        Err(_) => die(1),
    };
    drop(ctx.fifo);
    drop(ctx.proc_fd);
    let n = ctx.plan.preserve_fds;
    let fifo = match fds::raise(fifo, fds::PRESERVE_SOURCE + n as RawFd) {
        Ok(f) => f,
        Err(_) => die(1),
    };
    let listener = match listener.map(|(s, pid)| fds::raise(s, fds::PRESERVE_SOURCE + n as RawFd).map(|s| (s, pid))).transpose() {
        Ok(l) => l,
        Err(_) => die(1),
    };
    if fds::prepare(n).is_err() {
        die(1);
    }
    if let Some(pid) = start_pid {
        // startContainer hooks: in the container, with the process's credentials, before
        // the `0` byte, so a failure reaches `start` as the fifo's error line.
        if let Err(err) = hooks::run_all(ctx.plan, hooks::Kind::StartContainer, pid) {
            seccomp::fail_into(&fifo, &err)
        }
    }
    if nnp {
        // The very last step before execve: nothing of lxts runs under the filter but the
        // exec (and, with a listener, the sendmsg of its fd; status created, as for startContainer).
        let listener = listener
            .as_ref()
            .map(|(s, pid)| seccomp::notify::Listener::new(s.as_fd(), seccomp::notify::init_state(ctx.plan, "created", *pid)));
        if let Err(err) = seccomp::load_plan(ctx.plan, listener.as_ref()) {
            seccomp::fail_into(&fifo, &err)
        }
    }
    drop(listener);
    if ctx.plan.init {
        super::reaper::fork_and_run(&e, fifo, ctx.plan.init_forward_to_group)
    }
    exec::exec(&e, fifo)
}

/// `chdir` into `cwd`, resolved inside the (already pivoted) root and created when missing,
/// as runc does. The final `fchdir` goes through the in-root handle, never a path walk.
fn enter_cwd(cwd: &str) -> Result<()> {
    use std::os::fd::AsRawFd;
    let root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys(Code::Process, "open", Some("/"), e))?;
    let dir = rootfs::resolve::mkdir_all(std::os::fd::AsFd::as_fd(&root), cwd, 0o755).map_err(|e| e.context("process.cwd"))?;
    // SAFETY: `dir` is an open directory fd (O_PATH is accepted by fchdir).
    sys::cvt(unsafe { libc::fchdir(dir.as_raw_fd()) }, Code::Process, "fchdir", Some(cwd)).map_err(|e| e.context("process.cwd"))?;
    Ok(())
}
