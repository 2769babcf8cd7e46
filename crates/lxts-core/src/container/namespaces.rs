//! `linux.namespaces`: which are created (clone flags), which are joined by
//! path (validated with `NS_GET_NSTYPE`), and which are inherited (absent).

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::sys;
use crate::plan::Namespace;
use crate::{Code, Error, Result};

/// `NS_GET_NSTYPE` = `_IO(0xb7, 0x3)`.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// The clone flag of an OCI namespace type.
pub fn flag(kind: &str) -> Option<u64> {
    Some(match kind {
        "pid" => libc::CLONE_NEWPID,
        "network" => libc::CLONE_NEWNET,
        "mount" => libc::CLONE_NEWNS,
        "ipc" => libc::CLONE_NEWIPC,
        "uts" => libc::CLONE_NEWUTS,
        "user" => libc::CLONE_NEWUSER,
        "cgroup" => libc::CLONE_NEWCGROUP,
        "time" => libc::CLONE_NEWTIME,
        _ => return None,
    } as u64)
}

/// What the plan asks of each namespace.
#[derive(Debug, Default)]
pub struct NsPlan {
    /// Clone flags for the namespaces to create.
    pub new_flags: u64,
    /// Namespaces to join, user first, then the rest in config order: (kind, flag, path).
    pub join: Vec<(String, u64, String)>,
}

impl NsPlan {
    pub fn new(list: &[Namespace]) -> Result<NsPlan> {
        let mut p = NsPlan::default();
        let mut seen = 0u64;
        for ns in list {
            let f =
                flag(&ns.kind).ok_or_else(|| Error::new(Code::InvalidConfig, format!("linux.namespaces: unknown type {:?}", ns.kind)))?;
            if seen & f != 0 {
                return Err(Error::new(Code::InvalidConfig, format!("linux.namespaces: {} listed twice", ns.kind)));
            }
            seen |= f;
            match ns.path.as_deref().filter(|p| !p.is_empty()) {
                None => p.new_flags |= f,
                Some(path) => p.join.push((ns.kind.clone(), f, path.to_owned())),
            }
        }
        p.join.sort_by_key(|(k, _, _)| k != "user");
        Ok(p)
    }

    pub fn creates(&self, f: u64) -> bool {
        self.new_flags & f != 0
    }

    /// Namespaces joined by the helper before clone: user (so that new namespaces
    /// are owned by it), pid (setns on pid affects children only) and time (the init is
    /// born in it; inside a new user namespace it could not join one owned by ours).
    pub fn before_clone(&self) -> impl Iterator<Item = &(String, u64, String)> {
        self.join.iter().filter(|(_, f, _)| before_clone(*f))
    }

    /// Namespaces the init joins itself, before any mount.
    pub fn in_child(&self) -> impl Iterator<Item = &(String, u64, String)> {
        self.join.iter().filter(|(_, f, _)| !before_clone(*f))
    }
}

fn before_clone(f: u64) -> bool {
    f == libc::CLONE_NEWUSER as u64 || f == libc::CLONE_NEWPID as u64 || f == libc::CLONE_NEWTIME as u64
}

/// (st_dev, st_ino) of `self/ns/<name>` under an open procfs directory.
pub fn own_id(proc_fd: &OwnedFd, name: &str) -> Option<(u64, u64)> {
    let c = sys::cstr(&format!("self/ns/{name}")).ok()?;
    // SAFETY: an all-zero stat is valid; the kernel fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstatat in an open directory with a valid C string and a writable stat.
    let ret = unsafe { libc::fstatat(proc_fd.as_raw_fd(), c.as_ptr(), &mut st, 0) };
    (ret == 0).then_some((st.st_dev, st.st_ino))
}

/// Open a namespace file, check its type, and `setns` into it.
pub fn join(kind: &str, f: u64, path: &str) -> Result<()> {
    let fd: OwnedFd = sys::open(path, libc::O_RDONLY, Code::Namespace).map_err(|e| e.context(format!("linux.namespaces[{kind}].path")))?;
    // SAFETY: NS_GET_NSTYPE takes no argument and returns the CLONE_NEW* type.
    let got = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    if got < 0 {
        return Err(Error::sys(Code::Namespace, "ioctl", Some(path), Errno::last())
            .context(format!("linux.namespaces[{kind}].path is not a namespace file")));
    }
    if got as u64 != f {
        return Err(Error::new(Code::Namespace, format!("linux.namespaces[{kind}].path {path} is a namespace of another type")));
    }
    // SAFETY: setns on a verified namespace fd of the expected type.
    sys::cvt(unsafe { libc::setns(fd.as_raw_fd(), f as libc::c_int) }, Code::Namespace, "setns", Some(path))
        .map_err(|e| e.context(format!("linux.namespaces[{kind}]")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(kind: &str, path: Option<&str>) -> Namespace {
        Namespace { kind: kind.to_owned(), path: path.map(str::to_owned) }
    }

    #[test]
    fn flags_and_order() {
        let p =
            NsPlan::new(&[ns("pid", None), ns("network", Some("/run/netns/x")), ns("mount", None), ns("user", Some("/proc/1/ns/user"))])
                .unwrap();
        assert_eq!(p.new_flags, (libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u64);
        assert_eq!(p.join[0].0, "user");
        assert_eq!(p.before_clone().count(), 1);
        assert_eq!(p.in_child().map(|j| j.0.as_str()).collect::<Vec<_>>(), vec!["network"]);
        assert!(p.creates(libc::CLONE_NEWNS as u64));
        assert!(!p.creates(libc::CLONE_NEWUTS as u64));
    }

    #[test]
    fn rejects_unknown_and_duplicates() {
        assert_eq!(NsPlan::new(&[ns("bogus", None)]).unwrap_err().code, Code::InvalidConfig);
        assert_eq!(NsPlan::new(&[ns("uts", None), ns("uts", None)]).unwrap_err().code, Code::InvalidConfig);
        assert_eq!(flag("time"), Some(libc::CLONE_NEWTIME as u64));
    }

    #[test]
    fn time_is_joined_before_clone() {
        let p = NsPlan::new(&[ns("time", Some("/proc/9/ns/time")), ns("uts", Some("/proc/9/ns/uts"))]).unwrap();
        assert_eq!(p.before_clone().map(|j| j.0.as_str()).collect::<Vec<_>>(), vec!["time"]);
        assert_eq!(p.in_child().map(|j| j.0.as_str()).collect::<Vec<_>>(), vec!["uts"]);
        assert!(NsPlan::new(&[ns("time", None)]).unwrap().creates(libc::CLONE_NEWTIME as u64));
    }
}
