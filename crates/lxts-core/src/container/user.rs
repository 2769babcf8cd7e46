//! Users and groups: `uid_map`/`gid_map` written by the helper for a new user
//! namespace, and the init's switch to `process.user`.

use std::io::Write;
use std::os::fd::AsRawFd;

use super::sys;
use crate::plan::{IdMapping, User};
use crate::{Code, Error, Result};

/// Render a mapping list as the kernel expects it (`"0 100000 65536\n"`).
pub fn map_text(maps: &[IdMapping]) -> String {
    maps.iter().map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size)).collect()
}

fn write_proc(pid: i32, file: &str, text: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| Error::io(Code::Namespace, "open", Some(&path), &e))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::io(Code::Namespace, "write", Some(&path), &e))
}

/// Whether lxts runs unprivileged (rootless): not as root on the host.
pub fn rootless() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() != 0 }
}

/// Write the id maps of `pid`'s new user namespace. As root in the parent user
/// namespace we may map anything and keep `setgroups` allowed; unprivileged, the kernel
/// takes only our own ids, and a gid map only once `setgroups` is denied.
pub fn write_maps(pid: i32, uid: &[IdMapping], gid: &[IdMapping]) -> Result<()> {
    if uid.is_empty() || gid.is_empty() {
        return Err(Error::new(Code::InvalidConfig, "linux.uidMappings and linux.gidMappings are required with a new user namespace"));
    }
    if rootless() {
        write_proc(pid, "setgroups", "deny")?;
    }
    write_map(pid, "uid_map", uid).map_err(|e| e.context("linux.uidMappings"))?;
    write_map(pid, "gid_map", gid).map_err(|e| e.context("linux.gidMappings"))
}

/// Write `/proc/<pid>/<file>` (`uid_map` or `gid_map`) from `maps`.
pub fn write_map(pid: i32, file: &str, maps: &[IdMapping]) -> Result<()> {
    write_proc(pid, file, &map_text(maps))
}

/// In a fresh user namespace: become its root.
pub fn become_ns_root() -> Result<()> {
    // SAFETY: plain credential syscalls with integer arguments.
    sys::cvt(unsafe { libc::setresgid(0, 0, 0) }, Code::Process, "setresgid", None)?;
    // SAFETY: as above.
    sys::cvt(unsafe { libc::setresuid(0, 0, 0) }, Code::Process, "setresuid", None).map(|_| ())
}

/// Switch to `process.user`, keeping capabilities across the uid change so that
/// the configured sets can be applied afterwards.
pub fn switch(user: &User) -> Result<()> {
    let groups: Vec<libc::gid_t> = user.additional_gids.clone();
    // SAFETY: `groups` holds `len` gids.
    let ret = unsafe { libc::setgroups(groups.len(), groups.as_ptr()) };
    // In a user namespace whose `setgroups` is denied (rootless) no list can be set: the
    // process keeps the supplementary groups lxts was started with (shown as the overflow gid
    // where unmapped), as with runc; asking for groups is an error.
    if !(ret < 0 && groups.is_empty() && nix::errno::Errno::last() == nix::errno::Errno::EPERM) {
        sys::cvt(ret, Code::Process, "setgroups", None).map_err(|e| e.context("process.user.additionalGids"))?;
    }
    // SAFETY: credential syscalls with integer arguments.
    sys::cvt(unsafe { libc::setresgid(user.gid, user.gid, user.gid) }, Code::Process, "setresgid", None)
        .map_err(|e| e.context("process.user.gid"))?;
    // SAFETY: prctl with integer arguments.
    sys::cvt(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1 as libc::c_ulong, 0, 0, 0) }, Code::Process, "prctl", Some("PR_SET_KEEPCAPS"))?;
    // SAFETY: credential syscall with integer arguments.
    sys::cvt(unsafe { libc::setresuid(user.uid, user.uid, user.uid) }, Code::Process, "setresuid", None)
        .map_err(|e| e.context("process.user.uid"))?;
    // SAFETY: prctl with integer arguments.
    sys::cvt(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0 as libc::c_ulong, 0, 0, 0) }, Code::Process, "prctl", Some("PR_SET_KEEPCAPS"))?;
    Ok(())
}

/// `umask` (default 0022 as runc).
pub fn set_umask(user: &User) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(user.umask.unwrap_or(0o022) as libc::mode_t) };
}

/// Our own `oom_score_adj`, set for a child to inherit and put back afterwards through the
/// same open file ([`OomScoreAdj::restore`]): opened while we are still dumpable, since
/// rootless our non-dumpable `/proc` files are root's.
pub struct OomScoreAdj {
    file: std::fs::File,
    old: i32,
}

impl OomScoreAdj {
    /// Set our own `oom_score_adj` to `value` (`process.oomScoreAdj`) for the child we are about
    /// to make, which inherits it. Set by us, not by the child: one in a new user namespace,
    /// whose credentials no longer match its non-dumpable `/proc` files (the host root's), could
    /// not write its own. `None` without a value.
    pub fn inherit(proc_fd: &std::os::fd::OwnedFd, value: Option<i32>) -> Result<Option<OomScoreAdj>> {
        let Some(value) = value else { return Ok(None) };
        let what = "/proc/self/oom_score_adj";
        let c = sys::cstr("self/oom_score_adj")?;
        // SAFETY: `proc_fd` is an open procfs directory and `c` a valid C string.
        let fd = unsafe { libc::openat(proc_fd.as_raw_fd(), c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC | libc::O_NOFOLLOW) };
        let mut file = std::fs::File::from(sys::owned(
            sys::cvt(fd, Code::Process, "openat", Some(what)).map_err(|e| e.context("process.oomScoreAdj"))?,
        ));
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(|e| Error::io(Code::Process, "read", Some(what), &e))?;
        let old = text.trim().parse().map_err(|_| Error::new(Code::Process, format!("{what}: {text:?} is no number")))?;
        std::io::Write::write_all(&mut file, value.to_string().as_bytes())
            .map_err(|e| Error::io(Code::Process, "write", Some(what), &e).context("process.oomScoreAdj"))?;
        Ok(Some(OomScoreAdj { file, old }))
    }

    /// Put our own value back (we live on as the monitor or the exec'd process's parent). May
    /// fail where it was raised: root's write also raised the kernel's floor for us, and going
    /// back below it takes the host's CAP_SYS_RESOURCE (which this host's root lacks, and a
    /// helper joined to a user namespace always does): we then keep the container's value.
    pub fn restore(mut self) {
        let _ = std::io::Write::write_all(&mut self.file, self.old.to_string().as_bytes());
    }
}

/// Apply `process.rlimits`.
pub fn set_rlimits(limits: &[crate::plan::Rlimit]) -> Result<()> {
    for l in limits {
        let res =
            rlimit_number(&l.kind).ok_or_else(|| Error::new(Code::InvalidConfig, format!("process.rlimits: unknown type {:?}", l.kind)))?;
        let r = libc::rlimit { rlim_cur: l.soft, rlim_max: l.hard };
        // SAFETY: `r` is a valid rlimit for the duration of the call.
        let ret = unsafe { libc::setrlimit(res, &r) };
        sys::cvt(ret, Code::Process, "setrlimit", Some(&l.kind)).map_err(|e| e.context("process.rlimits"))?;
    }
    Ok(())
}

/// `setrlimit`'s resource type: glibc's enum, musl's int.
#[cfg(target_env = "gnu")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type Resource = libc::c_int;

fn rlimit_number(name: &str) -> Option<Resource> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_text_format() {
        let m = [IdMapping { container_id: 0, host_id: 100000, size: 65536 }, IdMapping { container_id: 65536, host_id: 1, size: 1 }];
        assert_eq!(map_text(&m), "0 100000 65536\n65536 1 1\n");
        assert!(rlimit_number("RLIMIT_NOFILE").is_some());
        assert!(rlimit_number("RLIMIT_BOGUS").is_none());
    }
}
