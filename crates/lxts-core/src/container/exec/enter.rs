//! Helper mode `exec`: run one more process in a running container.
//!
//! The helper (single-threaded) opens a pidfd for the container's init and
//! checks its start time, opens the container's cgroups (v1 `tasks` files,
//! the v2 directory for `CLONE_INTO_CGROUP`) while host paths still
//! resolve, joins every namespace of the init that differs from its own with
//! one `setns(pidfd, flags)` (the kernel orders user first and mount last), or, for
//! a container without a mount namespace, `chroot`s into `/proc/<pid>/root`, then
//! clones the process: the pid namespace applies to children only (a time namespace
//! moves us too: start times are then read by a `host_clock::HostClock`). The
//! child ([`super::process`]) waits for `go`, moves itself into the v1 cgroups, sets up
//! and execs; its end of the sync socket is close-on-exec, so EOF means the
//! exec succeeded and a JSON line means it failed. With `process.terminal` the
//! console socket is connected before any join and the child sends the pty
//! master of a pty from the container's devpts on it. The container's
//! `linux.seccomp` is loaded into the process as into the init (as runc), and a
//! notifying one sends its listener fd the same way (status from `ociState`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use serde::Deserialize;

use super::super::{monitor, seccomp, spawn, sync, sys, write_report};
use crate::plan::{Process, Seccomp};
use crate::{Code, Error, Result};

/// The plan of `mode: "exec"` (one line on fd 3, as for `create`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecPlan {
    pub id: String,
    /// The container init (host pid) and its recorded start time.
    pub pid: i32,
    pub start_time: u64,
    /// The container's cgroup directories (absolute host paths, from `state.json`).
    #[serde(default)]
    pub cgroups: Vec<String>,
    /// The complete process: TS merged the container's config with the exec options.
    pub process: Process,
    /// Report `created` once the exec succeeded and exit, instead of waiting.
    #[serde(default)]
    pub detach: bool,
    #[serde(default)]
    pub preserve_fds: u32,
    /// With `process.terminal`: the socket (a host path) that receives the pty master.
    #[serde(default)]
    pub console_socket: Option<String>,
    /// The pty's initial size (`process.consoleSize`), set before the process execs.
    #[serde(default)]
    pub console_size: Option<ConsoleSize>,
    /// The container's `linux.seccomp` (from its saved config), loaded into the process too.
    #[serde(default)]
    pub seccomp: Option<Seccomp>,
    /// The container's OCI state, sent to a seccomp listener with its fd.
    #[serde(default)]
    pub oci_state: Option<serde_json::Value>,
    /// The container's `linux.personality` (from its saved config), set in the process too.
    #[serde(default)]
    pub personality: Option<crate::plan::Personality>,
    /// The container's `linux.memoryPolicy` (from its saved config), set in the process too.
    #[serde(default)]
    pub memory_policy: Option<crate::plan::MemoryPolicy>,
}

/// `process.consoleSize`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
}

/// Namespace types, their `/proc/<pid>/ns` names and clone flags.
const NAMESPACES: [(&str, libc::c_int); 8] = [
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("pid", libc::CLONE_NEWPID),
    ("net", libc::CLONE_NEWNET),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", libc::CLONE_NEWTIME),
];

fn ns_id(proc_fd: &OwnedFd, rel: &str) -> Option<(u64, u64)> {
    let c = sys::cstr(rel).ok()?;
    // SAFETY: an all-zero stat is valid; fstatat on the verified procfs with a valid C string.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let ret = unsafe { libc::fstatat(proc_fd.as_raw_fd(), c.as_ptr(), &mut st, 0) };
    (ret == 0).then_some((st.st_dev, st.st_ino))
}

/// The `setns` flags for every namespace of `pid` that differs from ours.
fn differing(proc_fd: &OwnedFd, pid: i32) -> Result<libc::c_int> {
    let mut flags = 0;
    for (name, flag) in NAMESPACES {
        let theirs = ns_id(proc_fd, &format!("{pid}/ns/{name}"));
        let ours = ns_id(proc_fd, &format!("self/ns/{name}"));
        match (theirs, ours) {
            (Some(t), Some(o)) if t != o => flags |= flag,
            (None, Some(_)) if name != "time" && name != "cgroup" => {
                return Err(Error::new(Code::NoSuchProcess, format!("container init {pid}: /proc/{pid}/ns/{name} is gone")));
            }
            _ => {}
        }
    }
    Ok(flags)
}

/// The container's cgroups, opened while host paths resolve.
struct Cgroups {
    /// v1 `tasks` files: the child writes `0` (itself) after `go`, which skips the RCU wait
    /// of another process's pid written to `cgroup.procs` (see `ContainerCgroup::open_v1_tasks`).
    tasks: Vec<(OwnedFd, String)>,
    /// The v2 directory for `CLONE_INTO_CGROUP`.
    v2: Option<OwnedFd>,
}

fn open_cgroups(dirs: &[String]) -> Result<Cgroups> {
    let mut cg = Cgroups { tasks: Vec::new(), v2: None };
    for dir in dirs {
        let fd = sys::open(dir, libc::O_RDONLY | libc::O_DIRECTORY, Code::Cgroup).map_err(|e| e.context("join the container's cgroup"))?;
        if sys::fs_magic(fd.as_fd(), Code::Cgroup, dir)? == sys::CGROUP2_SUPER_MAGIC {
            cg.v2 = Some(fd);
            continue;
        }
        let name = sys::cstr("tasks")?;
        // SAFETY: openat in an open directory with a valid C string.
        let f = unsafe { libc::openat(fd.as_raw_fd(), name.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW) };
        let shown = format!("{dir}/tasks");
        cg.tasks.push((sys::owned(sys::cvt(f, Code::Cgroup, "openat", Some(&shown))?), shown));
    }
    Ok(cg)
}

/// `/proc/<pid>/stat` start time read through an open procfs directory.
fn start_time_at(proc_fd: &OwnedFd, pid: i32) -> Option<u64> {
    let rel = sys::cstr(&format!("{pid}/stat")).ok()?;
    // SAFETY: openat in the verified procfs with a valid C string.
    let fd = unsafe { libc::openat(proc_fd.as_raw_fd(), rel.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut f = std::fs::File::from(sys::owned(fd));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut f, &mut text).ok()?;
    crate::proc::parse_stat(&text).map(|i| i.start_time)
}

fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open(pid, 0) returns a new fd or -1.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if ret < 0 {
        return Err(not_running(pid));
    }
    Ok(sys::owned(ret as libc::c_int))
}

fn not_running(pid: i32) -> Error {
    Error::new(Code::NoSuchProcess, format!("container init {pid} is not running (exited, or its pid was reused)"))
}

/// `{"type":"started","pid":…,"startTime":…}`: the process exec'd.
fn started(control: &OwnedFd, pid: i32, start_time: u64) -> Result<()> {
    let mut line = serde_json::json!({ "type": "started", "pid": pid, "startTime": start_time }).to_string().into_bytes();
    line.push(b'\n');
    // SAFETY: a File borrowing the fd only for this write; ManuallyDrop keeps it open.
    let mut f = std::mem::ManuallyDrop::new(unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(control.as_raw_fd()) });
    std::io::Write::write_all(&mut *f, &line).map_err(|e| Error::new(Code::Protocol, format!("write control channel: {e}")))
}

/// The init's root (`/proc/<pid>/root`), opened through the verified host procfs before any
/// `setns`; the start time is checked after the open (a reused pid has another root) and
/// before the joins (a joined time namespace shifts the start times `/proc` shows).
fn open_root_of(proc_fd: &OwnedFd, pid: i32, start_time: u64) -> Result<OwnedFd> {
    let rel = sys::cstr(&format!("{pid}/root"))?;
    // SAFETY: openat in the verified procfs with a valid C string; the fd is owned below.
    let fd = unsafe { libc::openat(proc_fd.as_raw_fd(), rel.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    let root = sys::owned(sys::cvt(fd, Code::Mount, "openat", Some(&format!("/proc/{pid}/root")))?);
    if start_time_at(proc_fd, pid) != Some(start_time) {
        return Err(not_running(pid));
    }
    Ok(root)
}

/// (mount id, inode) of a directory fd: two fds name the same root only when both match.
/// `None` where the kernel gives no mount id (before Linux 5.8): inodes alone would take the
/// roots of two filesystems (inode 2 on ext4) for one.
fn dir_identity(fd: BorrowedFd<'_>, what: &str) -> Result<Option<(u64, u64)>> {
    let st = sys::statx(fd, libc::STATX_INO | libc::STATX_MNT_ID).map_err(|e| Error::sys(Code::Mount, "statx", Some(what), e))?;
    Ok((st.stx_mask & libc::STATX_MNT_ID != 0).then_some((st.stx_mnt_id, st.stx_ino)))
}

/// After the joins, enter the init's root unless it already is ours: a container without a
/// mount namespace of its own lives in a chroot of the namespace it was created in, which
/// `setns` (from this or any other mount namespace) does not enter. Without mount ids to tell,
/// the root is entered (a chroot into the root we already have changes nothing).
fn enter_root_of(root: &OwnedFd) -> Result<()> {
    let ours = sys::open("/", libc::O_PATH | libc::O_DIRECTORY, Code::Mount)?;
    if let (Some(theirs), Some(here)) = (dir_identity(root.as_fd(), "the init's root")?, dir_identity(ours.as_fd(), "/")?) {
        if theirs == here {
            return Ok(());
        }
    }
    super::super::rootfs::pivot::chroot_into(root.as_fd()).map_err(|e| e.context("enter the container's root"))
}

/// Run the exec plan. Returns the helper's exit code; errors go to `control` first.
pub fn run(plan: ExecPlan, control: OwnedFd) -> Result<i32> {
    let res = run_inner(&plan, &control);
    if let Err(e) = &res {
        let _ = write_report(&control, &e.to_report());
    }
    res
}

fn run_inner(plan: &ExecPlan, control: &OwnedFd) -> Result<i32> {
    if plan.process.args.is_empty() {
        return Err(Error::new(Code::InvalidConfig, "process.args must not be empty"));
    }
    if plan.process.terminal != plan.console_socket.is_some() {
        let why = if plan.process.terminal {
            "is true: a console socket is required"
        } else {
            "is false: a console socket cannot be used without a terminal"
        };
        return Err(Error::new(Code::InvalidConfig, format!("process.terminal {why}")));
    }
    let sets = super::super::caps::Sets::from_config(plan.process.capabilities.as_ref())?;
    if let Some(s) = &plan.seccomp {
        seccomp::compile(s, seccomp::Arch::native())?;
    }
    if let Some(p) = &plan.personality {
        super::super::personality::value(p)?;
    }
    let proc_fd = sys::open_host_proc()?;
    // The pidfd first, then the start time: a match proves the pidfd names the init.
    let pidfd = pidfd_open(plan.pid)?;
    match crate::proc::info(plan.pid) {
        Some(i) if i.start_time == plan.start_time && i.state != 'Z' && i.state != 'X' => {}
        _ => return Err(not_running(plan.pid)),
    }
    let flags = differing(&proc_fd, plan.pid)?;
    let init_root = open_root_of(&proc_fd, plan.pid, plan.start_time)?;
    let cg = open_cgroups(&plan.cgroups)?;
    // Connected while the path is the caller's, before any join; the child sends the pty master on it.
    let console = plan.console_socket.as_deref().map(super::super::tty::connect).transpose()?;
    // The same for a notifying seccomp filter: the child sends the listener fd on it.
    let listener = seccomp::notify::connect(plan.seccomp.as_ref())?;
    // The process inherits its oomScoreAdj from us: set while we are dumpable (see
    // user::OomScoreAdj), ours put back once it is made.
    let mut own_oom = super::super::user::OomScoreAdj::inherit(&proc_fd, plan.process.oom_score_adj)?;
    // Non-dumpable until the child's execve (which resets it).
    // SAFETY: prctl with integer arguments.
    sys::cvt(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) }, Code::Process, "prctl", Some("PR_SET_DUMPABLE"))?;
    // setns into a time namespace moves us too: the process's start time must still be the host's.
    let mut host_clock = (flags & libc::CLONE_NEWTIME != 0).then(super::super::host_clock::HostClock::spawn).transpose()?;
    if flags != 0 {
        // SAFETY: setns on a pidfd with CLONE_NEW* flags of namespaces that differ from ours.
        sys::cvt(unsafe { libc::setns(pidfd.as_raw_fd(), flags) }, Code::Namespace, "setns", Some(&format!("pidfd of {}", plan.pid)))
            .map_err(|e| e.context(format!("join the namespaces of container \"{}\"", plan.id)))?;
    }
    enter_root_of(&init_root)?;
    drop(init_root);
    let (parent_end, child_end) = sync::pair()?;
    let child_proc = proc_fd.try_clone().map_err(|e| Error::new(Code::Syscall, format!("dup procfs fd: {e}")))?;
    if !plan.detach {
        monitor::block_forwarded()?;
    }
    // execCPUAffinity.initial: the CPUs the process starts on (it inherits ours, then ours are
    // put back), until it joins the container's v1 cgroups; on cgroup v2 it is born in its group.
    let initial = plan.process.exec_cpu_affinity.as_ref().and_then(|a| a.initial.as_deref()).filter(|l| !l.trim().is_empty());
    let own_cpus = initial.map(|_| super::super::sched::cpu_mask()).transpose()?;
    super::super::sched::apply_cpu_affinity(initial, "initial")?;
    let forked = spawn::spawn(0, cg.v2.as_ref().map(|f| f.as_fd()));
    if let (Some(mask), false) = (&own_cpus, matches!(forked, Ok(spawn::Forked::Child))) {
        let _ = super::super::sched::set_cpu_mask(mask, None);
    }
    let (pid, child_pidfd, into_cgroup) = match forked? {
        spawn::Forked::Child => {
            let mut close = vec![control.as_raw_fd(), parent_end.as_raw_fd(), pidfd.as_raw_fd()];
            close.extend(cg.v2.as_ref().map(|f| f.as_raw_fd()));
            close.extend(host_clock.as_ref().map(super::super::host_clock::HostClock::raw_fd));
            let console = console.map(|socket| super::process::Console { socket, size: plan.console_size.map(|s| (s.width, s.height)) });
            super::process::main(super::process::ProcessCtx {
                process: &plan.process,
                caps: sets,
                sync: child_end,
                proc_fd: child_proc,
                close,
                preserve_fds: plan.preserve_fds,
                detach: plan.detach,
                console,
                cgroup_tasks: cg.tasks.iter().map(|(f, shown)| (f.as_fd(), std::path::Path::new(shown.as_str()))).collect(),
                seccomp: plan.seccomp.as_ref().map(|s| super::process::Filter {
                    profile: s,
                    listener,
                    state: plan.oci_state.clone().unwrap_or_default(),
                }),
                personality: plan.personality.as_ref(),
                memory_policy: plan.memory_policy.as_ref(),
            })
        }
        spawn::Forked::Parent { pid, pidfd, into_cgroup } => (pid, pidfd, into_cgroup),
    };
    if let Some(o) = own_oom.take() {
        o.restore();
    }
    drop(child_end);
    // The child holds the only other copy: the receiver sees EOF once it execs.
    drop(console);
    drop(listener);
    let res = (|| {
        if cg.v2.is_some() && !into_cgroup {
            return Err(Error::new(Code::Cgroup, "clone3 could not place the process in the container's cgroup2 directory"));
        }
        sync::send(&parent_end, sync::GO)?;
        let msg = sync::recv(&parent_end)?;
        if !msg.is_empty() {
            return Err(sync::parse_reply(&msg)
                .err()
                .unwrap_or_else(|| Error::new(Code::Protocol, "the exec'd process sent an unexpected message")));
        }
        // Through the host procfs fd: our /proc is the container's now.
        let start_time = match host_clock.take() {
            Some(c) => c.start_time(pid),
            None => start_time_at(&proc_fd, pid),
        };
        let start_time =
            start_time.ok_or_else(|| Error::new(Code::NoSuchProcess, format!("exec'd process {pid} vanished before it was reported")))?;
        started(control, pid, start_time)
    })();
    if let Err(e) = res {
        let _ = monitor::pidfd_signal(&child_pidfd, libc::SIGKILL);
        let _ = monitor::reap(&child_pidfd);
        return Err(e);
    }
    drop(cg);
    drop(pidfd);
    if plan.detach {
        return Ok(0);
    }
    let exit = monitor::watch(&child_pidfd)?;
    write_report(control, &exit.report())?;
    Ok(exit.code())
}
