//! Idmapped bind mounts (runtime-spec `mounts[].uidMappings`/`gidMappings`, options `idmap`
//! and `ridmap`): the source's on-disk ids are shown through the mount's mapping, so files a
//! host uid owns appear owned by the matching id of a user-namespaced container.
//!
//! `mount_setattr(MOUNT_ATTR_IDMAP)` needs `CAP_SYS_ADMIN` in the user namespace that owns the
//! source's filesystem (the host's), which an init in a new user namespace no longer has. So
//! the helper makes each idmapped mount before `clone3`, detached (`open_tree` with
//! `OPEN_TREE_CLONE`, close-on-exec); the init inherits the fds and attaches each in the
//! config's order with `move_mount` onto its destination, resolved inside the rootfs
//! ([`super::mount`]). The mapping is given as a user namespace: that of a short-lived child
//! of the helper made for it (`clone3(CLONE_NEWUSER)`, maps written, `ns/user` opened, the child
//! SIGKILLed and reaped through its pidfd). Mounts with equal mappings share one.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::options;
use crate::container::{monitor, spawn, sys, user};
use crate::plan::{Config, IdMapping, Linux, Mount};
use crate::{Code, Error, Result};

/// How a mount of the config is idmapped.
#[derive(Debug, PartialEq, Eq)]
pub struct Idmap<'a> {
    /// `ridmap`: every mount of an `rbind` tree gets the mapping, not only its top.
    pub recursive: bool,
    pub uid: &'a [IdMapping],
    pub gid: &'a [IdMapping],
}

/// Whether `m` is idmapped, and with which mapping: its own `uidMappings`/`gidMappings`, else
/// (options `idmap`/`ridmap` alone) the container's user namespace mappings. Mappings without
/// either option are an `idmap` (as runc). Errors name the mount: not a bind mount, only one
/// of the two mappings, or `idmap` with no mapping of its own and no user namespace.
pub fn of<'a>(m: &'a Mount, linux: Option<&'a Linux>) -> Result<Option<Idmap<'a>>> {
    let asked = m.options.iter().any(|o| o == "idmap" || o == "ridmap");
    if !asked && m.uid_mappings.is_empty() && m.gid_mappings.is_empty() {
        return Ok(None);
    }
    let field = format!("mounts[{}]", m.destination);
    if !options::parse(&m.options).is_bind() && m.kind.as_deref() != Some("bind") {
        return Err(Error::new(Code::InvalidConfig, format!("{field}: an idmapped mount must be a bind mount (options bind or rbind)")));
    }
    if m.uid_mappings.is_empty() != m.gid_mappings.is_empty() {
        return Err(Error::new(Code::InvalidConfig, format!("{field}: uidMappings and gidMappings go together")));
    }
    // The last of idmap/ridmap wins, as for other options.
    let recursive = m.options.iter().rev().find(|o| *o == "idmap" || *o == "ridmap").is_some_and(|o| o == "ridmap");
    if !m.uid_mappings.is_empty() {
        return Ok(Some(Idmap { recursive, uid: &m.uid_mappings, gid: &m.gid_mappings }));
    }
    match linux.filter(|l| l.namespaces.iter().any(|n| n.kind == "user" && n.path.is_none()) && !l.uid_mappings.is_empty()) {
        Some(l) => Ok(Some(Idmap { recursive, uid: &l.uid_mappings, gid: &l.gid_mappings })),
        None => Err(Error::new(
            Code::InvalidConfig,
            format!("{field}: idmap without uidMappings/gidMappings needs a new user namespace whose mappings to use"),
        )),
    }
}

/// The detached idmapped mount of every idmapped mount of `cfg`, by its index in `cfg.mounts`
/// (`None` for the others). Run by the helper before `clone3`; every fd is close-on-exec.
pub fn prepare(cfg: &Config) -> Result<Vec<Option<OwnedFd>>> {
    let mut userns: Vec<(&[IdMapping], &[IdMapping], OwnedFd)> = Vec::new();
    let mut out = Vec::with_capacity(cfg.mounts.len());
    for m in &cfg.mounts {
        let Some(map) = of(m, cfg.linux.as_ref())? else {
            out.push(None);
            continue;
        };
        let what = format!("mount {} (idmap)", m.destination);
        let ns = match userns.iter().position(|(u, g, _)| *u == map.uid && *g == map.gid) {
            Some(i) => i,
            None => {
                userns.push((map.uid, map.gid, mapped_userns(map.uid, map.gid).map_err(|e| e.context(&what))?));
                userns.len() - 1
            }
        };
        out.push(Some(detached(m, &map, userns[ns].2.as_fd()).map_err(|e| e.context(&what))?));
    }
    Ok(out)
}

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached copy of the bind source of `m` (its whole tree for `rbind`) with the mapping of
/// `userns` on its top mount, or on all of them for `ridmap`.
fn detached(m: &Mount, map: &Idmap<'_>, userns: BorrowedFd<'_>) -> Result<OwnedFd> {
    let Some(source) = m.source.as_deref() else {
        return Err(Error::new(Code::InvalidConfig, format!("mounts[{}]: a bind mount needs a source", m.destination)));
    };
    let rec = if options::parse(&m.options).flags & libc::MS_REC != 0 { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    let path = sys::cstr(source)?;
    // SAFETY: open_tree with a valid C path; the fd returned is ours.
    let tree = unsafe {
        libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | rec)
    };
    let tree = sys::owned(sys::cvt(tree as libc::c_int, Code::Mount, "open_tree", Some(source))?);
    let attr = MountAttr { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd: userns.as_raw_fd() as u64 };
    let flags = libc::AT_EMPTY_PATH as libc::c_uint | if map.recursive { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    // SAFETY: mount_setattr on our detached tree with an empty path and a live, sized mount_attr.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    sys::cvt(ret as libc::c_int, Code::Mount, "mount_setattr", Some(source)).map_err(|e| {
        if e.errno == Some(libc::EINVAL) {
            e.context(format!("{source}: its filesystem may not support idmapped mounts"))
        } else {
            e
        }
    })?;
    Ok(tree)
}

/// A user namespace with these maps: that of a child made for it, which is killed and reaped
/// before this returns (the open `ns/user` keeps the namespace).
fn mapped_userns(uid: &[IdMapping], gid: &[IdMapping]) -> Result<OwnedFd> {
    match spawn::spawn(libc::CLONE_NEWUSER as u64, None)? {
        spawn::Forked::Child => loop {
            // SAFETY: pause only waits for the SIGKILL the parent sends.
            unsafe { libc::pause() };
        },
        spawn::Forked::Parent { pid, pidfd, .. } => {
            let ns =
                user::write_maps(pid, uid, gid).and_then(|()| sys::open(&format!("/proc/{pid}/ns/user"), libc::O_RDONLY, Code::Namespace));
            let _ = monitor::pidfd_signal(&pidfd, libc::SIGKILL);
            monitor::reap(&pidfd)?;
            ns
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Namespace;

    fn map(c: u32, h: u32, s: u32) -> IdMapping {
        IdMapping { container_id: c, host_id: h, size: s }
    }

    fn bind(options: &[&str]) -> Mount {
        Mount {
            destination: "/data".into(),
            kind: Some("bind".into()),
            source: Some("/tmp".into()),
            options: options.iter().map(|s| s.to_string()).collect(),
            ..Mount::default()
        }
    }

    #[test]
    fn plain_mounts_are_not_idmapped() {
        assert_eq!(of(&bind(&["rbind", "ro"]), None).unwrap(), None);
    }

    #[test]
    fn own_mappings_win_and_the_last_option_decides_recursion() {
        let mut m = bind(&["rbind", "idmap", "ridmap"]);
        m.uid_mappings = vec![map(0, 1000, 1)];
        m.gid_mappings = vec![map(0, 2000, 1)];
        let got = of(&m, None).unwrap().unwrap();
        assert!(got.recursive);
        assert_eq!((got.uid[0].host_id, got.gid[0].host_id), (1000, 2000));
        m.options = vec!["bind".into()];
        assert!(!of(&m, None).unwrap().unwrap().recursive, "mappings alone: idmap, not recursive");
    }

    #[test]
    fn idmap_alone_takes_the_user_namespace_mappings_or_is_refused() {
        let m = bind(&["bind", "idmap"]);
        let e = of(&m, None).unwrap_err();
        assert!(e.message.contains("mounts[/data]") && e.message.contains("user namespace"), "{}", e.message);
        let linux = Linux {
            namespaces: vec![Namespace { kind: "user".into(), path: None }],
            uid_mappings: vec![map(0, 100_000, 65536)],
            gid_mappings: vec![map(0, 100_000, 65536)],
            ..Linux::default()
        };
        assert_eq!(of(&m, Some(&linux)).unwrap().unwrap().uid[0].host_id, 100_000);
    }

    #[test]
    fn not_a_bind_or_half_a_mapping_is_refused() {
        let mut m = bind(&["idmap"]);
        m.kind = Some("tmpfs".into());
        assert!(of(&m, None).unwrap_err().message.contains("must be a bind mount"));
        let mut m = bind(&["bind"]);
        m.uid_mappings = vec![map(0, 1, 1)];
        assert!(of(&m, None).unwrap_err().message.contains("go together"));
    }
}
