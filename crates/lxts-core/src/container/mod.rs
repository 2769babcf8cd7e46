//! The container side: everything `lxts-helper` does, from reading the plan to
//! `execve`. Only the helper (single-threaded) calls into this module.
//!
//! Parent (this file): validate, create `exec.fifo` and cgroups, open their v1 `tasks`
//! files, join user/pid/time namespaces given by path, unshare a new time namespace with its
//! offsets ([`timens`]), `clone3` (into the v2 cgroup), write id
//! maps, send `go` (the init then moves itself into the v1 cgroups), wait for `ready`,
//! report `created`, then exit (create) or monitor. The init's side lives in [`init`].

pub mod caps;
pub mod console;
pub mod detached;
pub mod exec;
pub mod fds;
pub mod hooks;
pub mod host_clock;
pub mod init;
pub mod mempolicy;
pub mod monitor;
pub mod namespaces;
pub mod net;
pub mod netdev;
pub mod personality;
pub mod reaper;
pub mod rootfs;
pub mod sched;
pub mod sealed;
pub mod seccomp;
pub mod spawn;
pub mod sync;
pub mod sys;
pub mod timens;
pub mod tty;
pub mod user;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::cgroups::{self, ContainerCgroup};
use crate::plan::{Mode, Plan, Report};
use crate::{Code, Error, Result};
use namespaces::NsPlan;

const FIFO: &str = "exec.fifo";

/// Write one report as a JSON line on the control channel.
pub fn write_report(control: &OwnedFd, report: &Report) -> Result<()> {
    let mut line = serde_json::to_vec(report).map_err(|e| Error::new(Code::Protocol, format!("encode report: {e}")))?;
    line.push(b'\n');
    // SAFETY: a File borrowing the fd only for this write; ManuallyDrop keeps it open.
    let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(control.as_raw_fd()) });
    f.write_all(&line).map_err(|e| Error::io(Code::Protocol, "write", Some("control channel"), &e))
}

/// Check what the helper itself cannot honour, before anything is created.
fn validate(plan: &Plan) -> Result<(NsPlan, caps::Sets)> {
    let cfg = &plan.config;
    let ns = NsPlan::new(cfg.linux.as_ref().map_or(&[][..], |l| &l.namespaces))?;
    let joins = |f: libc::c_int| ns.join.iter().any(|j| j.1 == f as u64);
    // A config without `process` may be created; the init then answers `start` with an error.
    let process = cfg.process.as_ref();
    if process.is_some_and(|p| p.args.is_empty()) {
        return Err(Error::new(Code::InvalidConfig, "process.args must not be empty"));
    }
    let terminal = process.is_some_and(|p| p.terminal);
    if terminal != plan.console_socket.is_some() {
        let why = if terminal {
            "is true: a console socket (--console-socket) is required"
        } else {
            "is false: a console socket cannot be used without a terminal"
        };
        return Err(Error::new(Code::InvalidConfig, format!("process.terminal {why}")));
    }
    if (cfg.hostname.is_some() || cfg.domainname.is_some()) && !ns.creates(libc::CLONE_NEWUTS as u64) && !joins(libc::CLONE_NEWUTS) {
        return Err(Error::new(Code::InvalidConfig, "hostname/domainname need a new uts namespace in linux.namespaces"));
    }
    let offsets = timens::parse(cfg.linux.as_ref().and_then(|l| l.time_offsets.as_ref()))?;
    if !offsets.is_empty() && !ns.creates(libc::CLONE_NEWTIME as u64) {
        let why = if joins(libc::CLONE_NEWTIME) {
            "cannot change a joined time namespace (linux.namespaces[time].path)"
        } else {
            "needs a new time namespace (type \"time\" in linux.namespaces)"
        };
        return Err(Error::new(Code::InvalidConfig, format!("linux.timeOffsets {why}")));
    }
    if let Some(p) = cfg.linux.as_ref().and_then(|l| l.personality.as_ref()) {
        personality::value(p)?;
    }
    if let Some(s) = cfg.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
        seccomp::compile(s, seccomp::Arch::native())?;
    }
    if !cfg.root.path.starts_with('/') {
        return Err(Error::new(Code::InvalidConfig, "root.path must be absolute"));
    }
    let sets = caps::Sets::from_config(process.and_then(|p| p.capabilities.as_ref()))?;
    Ok((ns, sets))
}

/// `mkfifo <stateDir>/exec.fifo` with mode 0622 whatever the umask; returns an `O_PATH` fd.
fn make_fifo(state_dir: &OwnedFd, shown: &str) -> Result<OwnedFd> {
    let name = sys::cstr(FIFO)?;
    // SAFETY: `state_dir` is an open directory and `name` a valid C string.
    sys::cvt(unsafe { libc::mkfifoat(state_dir.as_raw_fd(), name.as_ptr(), 0o600) }, Code::Syscall, "mkfifoat", Some(shown))?;
    // SAFETY: as above; O_NOFOLLOW|O_PATH opens the fifo we just made without blocking.
    let fd = unsafe { libc::openat(state_dir.as_raw_fd(), name.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    let fd = sys::owned(sys::cvt(fd, Code::Syscall, "openat", Some(shown))?);
    // SAFETY: fchmodat on the entry just created (fchmod does not take O_PATH fds).
    sys::cvt(unsafe { libc::fchmodat(state_dir.as_raw_fd(), name.as_ptr(), 0o622, 0) }, Code::Syscall, "fchmodat", Some(shown))?;
    Ok(fd)
}

fn remove_fifo(state_dir: &OwnedFd) {
    if let Ok(name) = sys::cstr(FIFO) {
        // SAFETY: unlinkat of a name in an open directory.
        unsafe { libc::unlinkat(state_dir.as_raw_fd(), name.as_ptr(), 0) };
    }
}

/// Run the helper for one plan. `control` is fd 3 (the control channel).
/// Returns the helper's exit code. An error has already been written to
/// `control` as a `Report::Error` line when this returns `Err`.
pub fn run(plan: Plan, control: OwnedFd) -> Result<i32> {
    let res = run_inner(&plan, &control);
    if let Err(e) = &res {
        let _ = write_report(&control, &e.to_report());
    }
    res
}

fn run_inner(plan: &Plan, control: &OwnedFd) -> Result<i32> {
    let (ns, sets) = validate(plan)?;
    let state_dir = sys::open(&plan.state_dir, libc::O_PATH | libc::O_DIRECTORY, Code::Syscall).map_err(|e| e.context("stateDir"))?;
    let fifo_shown = format!("{}/{FIFO}", plan.state_dir);
    let fifo = make_fifo(&state_dir, &fifo_shown)?;
    let mut cgroup: Option<ContainerCgroup> = None;
    let mut host = None;
    let res = (|| {
        if let Some(c) = &plan.cgroup {
            let h = host.insert(cgroups::detect()?.for_containers());
            cgroup = Some(cgroups::create(h, &c.path)?);
            // Limits before the init exists; warnings (ignored kernel memory) have no reader here.
            if let (Some(cg), Some(res)) = (&cgroup, plan.config.linux.as_ref().and_then(|l| l.resources.as_ref())) {
                cgroups::resources::apply_new(h, cg, res)?;
            }
        }
        create(plan, &ns, sets, control, &state_dir, fifo, cgroup.as_ref().zip(host.as_ref()))
    })();
    // A device filter loaded ahead that this container's rules did not take (helper main).
    cgroups::resources::devices_bpf::drop_preloaded();
    match res {
        Ok(pidfd) => {
            if plan.mode == Mode::Create {
                return Ok(0);
            }
            if plan.start_on_create {
                // An error here is the start's, not the create's: reported, then the init's
                // exit is supervised and reported like any other.
                let report = start_now(&state_dir, &pidfd).map_or_else(|e| e.to_report(), |()| Report::Running);
                let _ = write_report(control, &report);
            }
            detached::supervise(plan, &pidfd, cgroup.as_ref(), control)
        }
        Err(e) => {
            if let Some(cg) = &cgroup {
                let _ = cgroups::remove(&cg.created);
            }
            remove_fifo(&state_dir);
            Err(e)
        }
    }
}

/// `start`, done by the monitor (`startOnCreate`) as `lxts start` does it: read `exec.fifo`
/// to its end (the init writes one 0 byte and execs, which closes its end, or writes its
/// error line and exits), then remove it. The fifo is opened non-blocking and polled with the
/// init's pidfd, so an init that died before opening it cannot leave us waiting.
fn start_now(state_dir: &OwnedFd, pidfd: &OwnedFd) -> Result<()> {
    let name = sys::cstr(FIFO)?;
    // SAFETY: openat of a name in an open directory; the fd is ours.
    let fd = unsafe { libc::openat(state_dir.as_raw_fd(), name.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    let fifo = sys::owned(sys::cvt(fd, Code::Syscall, "openat", Some(FIFO))?);
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let mut fds = [
            libc::pollfd { fd: fifo.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: two pollfds on open fds. A fifo reports POLLHUP only once a writer has come
        // and gone (not before the init opens it), so this waits for the init.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys(Code::Syscall, "poll", Some(FIFO), Errno::last()));
        }
        if fds[0].revents != 0 {
            // SAFETY: reading into a buffer we own.
            let n = unsafe { libc::read(fifo.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                data.extend_from_slice(&buf[..n as usize]);
                continue;
            }
            if n == 0 {
                break; // the init exec'd or exited: its end is closed
            }
            if Errno::last() == Errno::EAGAIN || Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys(Code::Syscall, "read", Some(FIFO), Errno::last()));
        }
        if fds[1].revents != 0 {
            break; // the init is gone without opening the fifo
        }
    }
    remove_fifo(state_dir);
    fifo_result(&data)
}

/// What `exec.fifo` held: one 0 byte is success, else the init's JSON error line (as `checkFifo`).
fn fifo_result(data: &[u8]) -> Result<()> {
    if data == [0] {
        return Ok(());
    }
    if data.is_empty() {
        return Err(Error::new(Code::ExecFailed, "the init exited before starting the process"));
    }
    let text = String::from_utf8_lossy(data);
    let last = text.trim_start_matches('\0').trim().lines().last().unwrap_or_default().to_owned();
    let v: serde_json::Value = serde_json::from_str(&last).map_err(|_| {
        Error::new(Code::Protocol, format!("unexpected data in exec.fifo: {:?}", last.chars().take(200).collect::<String>()))
    })?;
    let code = v["code"].as_str().and_then(Code::from_str_code).unwrap_or(Code::ExecFailed);
    Err(Error::new(code, v["message"].as_str().unwrap_or("the process did not start").to_owned()))
}

/// Everything from the pre-clone joins to the `created` report. On error the
/// init, if any, is killed and reaped.
fn create(
    plan: &Plan,
    ns: &NsPlan,
    sets: caps::Sets,
    control: &OwnedFd,
    state_dir: &OwnedFd,
    fifo: OwnedFd,
    // the container's groups, and the hierarchies as the helper found them
    cgroup: Option<(&ContainerCgroup, &cgroups::Host)>,
) -> Result<OwnedFd> {
    let (cg, host) = (cgroup.map(|c| c.0), cgroup.map(|c| c.1));
    let proc_fd = sys::open_host_proc()?;
    if let Some(other) = crate::hostmount::rootfs_owner(&plan.state_dir, &plan.config.root.path) {
        return Err(Error::new(
            Code::InvalidConfig,
            format!(
                "root.path {} is the root of container \"{other}\", which has no mount namespace: its /proc, /dev and volume mounts live there (use another directory)",
                plan.config.root.path
            ),
        ));
    }
    // The init starts in the rootfs, as runc's does: inside a new user namespace the path to it
    // may not be searchable (a 0700 bundle parent), but "." still is (rootfs::setup opens it).
    let root = sys::cstr(&plan.config.root.path)?;
    // SAFETY: `root` is a valid C string.
    sys::cvt(unsafe { libc::chdir(root.as_ptr()) }, Code::Mount, "chdir", Some(&plan.config.root.path))
        .map_err(|e| e.context("root.path"))?;
    // Connected in the caller's mount namespace, before any join; the init sends the pty master on it.
    let console = plan.console_socket.as_deref().map(tty::connect).transpose()?;
    // The same for a notifying seccomp filter: the init sends the listener fd on it.
    let listener = seccomp::notify::connect(plan.config.linux.as_ref().and_then(|l| l.seccomp.as_ref()))?;
    // Idmapped binds: refused here, before the init exists, when the config cannot have them
    // (they are made when the init asks: see `rootfs::idmap`).
    rootfs::idmap::check(&plan.config)?;
    let net_devices = netdev::requested(&plan.config, ns)?;
    let cg_fd = match cg.and_then(|c| c.v2_dir.as_ref()) {
        Some(dir) => Some(sys::open(&dir.to_string_lossy(), libc::O_RDONLY | libc::O_DIRECTORY, Code::Cgroup)?),
        None => None,
    };
    // Opened here, written by the init (`0`: itself) right after `go`: see `open_v1_tasks`.
    let v1_tasks = cg.map(ContainerCgroup::open_v1_tasks).transpose()?.unwrap_or_default();
    // The init inherits its oomScoreAdj from us (set while we are dumpable; ours is put back below).
    let mut own_oom = user::OomScoreAdj::inherit(&proc_fd, plan.config.process.as_ref().and_then(|p| p.oom_score_adj))?;
    // Non-dumpable from before any join until the init's execve (which resets it): no process
    // of a joined namespace may ptrace us or take our fds (rootless, see the clone below).
    sys::prctl(libc::PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")?;
    // Joining a time namespace moves us too: the init's start time must still be the host's.
    let mut host_clock = ns.join.iter().any(|j| j.1 == libc::CLONE_NEWTIME as u64).then(host_clock::HostClock::spawn).transpose()?;
    for (kind, f, path) in ns.before_clone() {
        namespaces::join(kind, *f, path)?;
    }
    // After the joins (a joined user namespace owns it); the init is born in it: see `timens`.
    if ns.creates(libc::CLONE_NEWTIME as u64) {
        timens::unshare_with_offsets(&proc_fd, &timens::parse(plan.config.linux.as_ref().and_then(|l| l.time_offsets.as_ref()))?)?;
    }
    let (parent_end, child_end) = sync::pair()?;
    if plan.mode == Mode::Monitor {
        monitor::block_forwarded()?;
    }
    // A new cgroup namespace is unshared by the init after it is in its cgroups (below), so
    // its root is the container's group in every hierarchy, not the helper's (as runc).
    // A new time namespace was unshared above, with its offsets: no flag, or the init would get another.
    let clone_flags = ns.new_flags & !((libc::CLONE_NEWCGROUP | libc::CLONE_NEWTIME) as u64);
    // Rootless with a new user namespace, the init must be dumpable (its /proc files then the
    // user's) for us to write its id maps; it makes itself non-dumpable once they are written.
    let keep_dumpable = init::keeps_dumpable(ns);
    if keep_dumpable {
        sys::prctl(libc::PR_SET_DUMPABLE, 1, "PR_SET_DUMPABLE")?;
    }
    let forked = spawn::spawn(clone_flags, cg_fd.as_ref().map(|f| f.as_fd()));
    if !matches!(forked, Ok(spawn::Forked::Child)) {
        if let Some(o) = own_oom.take() {
            o.restore();
        }
        if keep_dumpable {
            sys::prctl(libc::PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")?;
        }
    }
    let (pid, pidfd, into_cgroup) = match forked? {
        spawn::Forked::Child => {
            let mut close = vec![control.as_raw_fd(), state_dir.as_raw_fd(), parent_end.as_raw_fd()];
            close.extend(cg_fd.as_ref().map(|f| f.as_raw_fd()));
            // A device filter loaded ahead: the parent's, to attach or drop.
            close.extend(cgroups::resources::devices_bpf::preloaded_fd());
            close.extend(host_clock.as_ref().map(host_clock::HostClock::raw_fd));
            let cgroup_tasks = v1_tasks.iter().map(|(fd, file)| (fd.as_fd(), file.as_path())).collect();
            drop(own_oom);
            init::main(init::InitCtx {
                plan,
                ns,
                caps: sets,
                sync: child_end,
                fifo,
                proc_fd,
                close,
                console,
                listener,
                cgroup_tasks,
                host,
                keep_dumpable,
            })
        }
        spawn::Forked::Parent { pid, pidfd, into_cgroup } => (pid, pidfd, into_cgroup),
    };
    drop(child_end);
    drop(console);
    drop(listener);
    drop(v1_tasks);
    let mut host_root = None;
    let mut moved_devices = None;
    let res = (|| {
        // Before `go`: a new cgroup namespace is unshared by the init right after it.
        if let (Some(c), false) = (cg, into_cgroup) {
            c.add_pid_v2(pid)?;
        }
        if ns.creates(libc::CLONE_NEWUSER as u64) {
            let linux = plan.config.linux.as_ref();
            user::write_maps(pid, linux.map_or(&[][..], |l| &l.uid_mappings), linux.map_or(&[][..], |l| &l.gid_mappings))?;
        }
        // Host network devices into the init's new network namespace, before it goes on (sent
        // back below if the create fails after this).
        moved_devices = netdev::move_all(&net_devices, pid)?;
        sync::send(&parent_end, sync::GO)?;
        let mut msg = sync::recv(&parent_end)?;
        if let Some(id) = sync::root_mount(&msg) {
            // No mount namespace: the init's rootfs bind lives in ours. Recorded before anything
            // else can fail, so every delete path (and our own failure below) can detach it.
            let rm = crate::hostmount::RootMount { path: plan.config.root.path.clone(), mnt_id: id };
            host_root = Some(rm.clone());
            crate::hostmount::record(state_dir.as_fd(), &plan.state_dir, &rm)?;
            sync::send(&parent_end, sync::ROOT_RECORDED)?;
            msg = sync::recv(&parent_end)?;
        }
        let mut made = rootfs::idmap::Namespaces::default();
        while let Some(index) = rootfs::idmap::requested(&msg) {
            rootfs::idmap::serve(&plan.config, index, pid, &parent_end, &mut made)?;
            msg = sync::recv(&parent_end)?;
        }
        drop(made);
        if msg == sync::HOOKS {
            hooks::relay_pause(control, pid)?;
            sync::send(&parent_end, sync::RESUME)?;
            msg = sync::recv(&parent_end)?;
        }
        sync::parse_reply(&msg)?;
        let start_time = match host_clock.take() {
            Some(c) => c
                .start_time(pid)
                .ok_or_else(|| Error::new(Code::NoSuchProcess, format!("container init {pid} vanished before it was reported")))?,
            None => monitor::start_time(pid)?,
        };
        let strings = |v: &[std::path::PathBuf]| v.iter().map(|d| d.to_string_lossy().into_owned()).collect::<Vec<_>>();
        let cgroups = cg.map(|c| strings(&c.dirs)).unwrap_or_default();
        let created_cgroups = cg.map(|c| strings(&c.created)).unwrap_or_default();
        write_report(control, &Report::Created { pid, start_time, cgroups, created_cgroups })
    })();
    if let Err(e) = res {
        let _ = monitor::pidfd_signal(&pidfd, libc::SIGKILL);
        let _ = monitor::reap(&pidfd);
        // The namespace outlives the init while `moved_devices` holds it: the devices go home.
        if let Some(m) = moved_devices.take() {
            if let Err(lost) = m.rollback() {
                eprintln!("lxts-helper: {}", lost.message);
            }
        }
        // A failure before its `root` message was read: the dead init's last messages say.
        if host_root.is_none() {
            host_root = sync::drain(&parent_end)
                .iter()
                .find_map(|m| sync::root_mount(m))
                .map(|mnt_id| crate::hostmount::RootMount { path: plan.config.root.path.clone(), mnt_id });
        }
        if let Some(rm) = host_root {
            if crate::hostmount::release(&rm.path, rm.mnt_id).is_ok() {
                let _ = crate::hostmount::release_recorded(&plan.state_dir);
            }
        }
        return Err(e);
    }
    Ok(pidfd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_result_reads_success_the_init_error_line_or_an_early_exit() {
        assert!(fifo_result(&[0]).is_ok());
        assert_eq!(fifo_result(&[]).unwrap_err().code, Code::ExecFailed);
        let e = fifo_result(b"\0{\"code\":\"ERR_LXTS_HOOK\",\"message\":\"startContainer hook 0 exited 3\"}\n").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (Code::Hook, "startContainer hook 0 exited 3"));
        assert_eq!(fifo_result(b"junk").unwrap_err().code, Code::Protocol);
    }
}
