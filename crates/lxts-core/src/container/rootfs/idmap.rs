//! Idmapped bind mounts (runtime-spec `mounts[].uidMappings`/`gidMappings`, options `idmap`
//! and `ridmap`): the source's on-disk ids are shown through the mount's mapping, so files a
//! host uid owns appear owned by the matching id of a user-namespaced container.
//!
//! `mount_setattr(MOUNT_ATTR_IDMAP)` needs `CAP_SYS_ADMIN` in the user namespace that owns the
//! source's filesystem (the host's), which an init in a new user namespace no longer has; and
//! the copy must be made inside the container's mount namespace, where the mounts a less
//! privileged user namespace got are locked (a copy made in the host's would let the
//! container's root unmount what a submount hides, or remount a read-only source writable),
//! after the init made that namespace private. So, when the init reaches the mounts, it asks
//! ([`sync::IDMAP`]); the helper ([`serve`]) enters the init's mount namespace, copies each
//! source there detached (`open_tree(OPEN_TREE_CLONE)`, the whole tree for `rbind`), idmaps
//! the copy's top mount (every mount of it for `ridmap`) and makes it private (nothing mounted
//! under it propagates anywhere, also where the container shares the host's mount
//! namespace), returns to its own namespace and sends the copies over the sync socket in the
//! config's order. The init attaches each with `move_mount` onto its destination, resolved in
//! the rootfs ([`super::mount`]), and closes it.
//!
//! The mapping is given as a user namespace: that of a child of the helper made for it
//! (`clone3(CLONE_NEWUSER)`, waiting in `pause` with `PR_SET_PDEATHSIG`; the helper writes its
//! maps, opens `ns/user`, SIGKILLs and reaps it through its pidfd). Equal mappings share one.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::options;
use crate::container::{console, monitor, spawn, sync, sys, user};
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

/// Whether `mounts[index]` (`m`) is idmapped, and with which mapping: its own
/// `uidMappings`/`gidMappings`, else (options `idmap`/`ridmap` alone) the mappings of the
/// container's new user namespace. Mappings without either option are an `idmap` (as runc).
/// Errors name the mount: not a bind mount, only one of the two mappings, or `idmap` with no
/// mapping of its own and no new user namespace.
pub fn of<'a>(m: &'a Mount, index: usize, linux: Option<&'a Linux>) -> Result<Option<Idmap<'a>>> {
    let asked = m.options.iter().any(|o| o == "idmap" || o == "ridmap");
    if !asked && m.uid_mappings.is_empty() && m.gid_mappings.is_empty() {
        return Ok(None);
    }
    let field = format!("mounts[{index}]");
    let bind = options::parse(&m.options).is_bind() || m.kind.as_deref() == Some("bind");
    if !bind || m.kind.as_deref() == Some("cgroup") {
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
            format!("{field}: idmap or ridmap without uidMappings/gidMappings needs a new user namespace, whose mappings it uses"),
        )),
    }
}

/// The idmapped mounts of `cfg`, by index in `mounts`, in order (errors as [`of`]).
pub fn list(cfg: &Config) -> Result<Vec<(usize, &Mount, Idmap<'_>)>> {
    let mut out = Vec::new();
    for (i, m) in cfg.mounts.iter().enumerate() {
        if let Some(map) = of(m, i, cfg.linux.as_ref())? {
            out.push((i, m, map));
        }
    }
    Ok(out)
}

/// The init's side: ask the helper for the idmapped mounts (none asked when there are none)
/// and receive one detached mount for each, by index in `mounts`.
pub fn receive(cfg: &Config, sync_fd: &OwnedFd) -> Result<Vec<Option<OwnedFd>>> {
    let wanted = list(cfg)?;
    let mut out: Vec<Option<OwnedFd>> = std::iter::repeat_with(|| None).take(cfg.mounts.len()).collect();
    if wanted.is_empty() {
        return Ok(out);
    }
    sync::send(sync_fd, sync::IDMAP)?;
    for (i, _, _) in wanted {
        out[i] = Some(console::recv_fd(sync_fd.as_raw_fd(), "sync socket (idmapped mount)")?);
    }
    Ok(out)
}

/// The helper's side of [`sync::IDMAP`]: make the idmapped mounts of `cfg` in the mount
/// namespace of the init `pid` (our child, not reaped) and send them to it on `sync_fd`, in order.
pub fn serve(cfg: &Config, pid: i32, sync_fd: &OwnedFd) -> Result<()> {
    let wanted = list(cfg)?;
    let mut userns: Vec<(&[IdMapping], &[IdMapping], OwnedFd)> = Vec::new();
    for (i, _, map) in &wanted {
        if !userns.iter().any(|(u, g, _)| *u == map.uid && *g == map.gid) {
            let ns = mapped_userns(map.uid, map.gid, *i)?;
            userns.push((map.uid, map.gid, ns));
        }
    }
    let trees = in_mount_ns_of(pid, || {
        wanted
            .iter()
            .map(|(i, m, map)| {
                let ns = &userns.iter().find(|(u, g, _)| *u == map.uid && *g == map.gid).expect("made above").2;
                detached(m, map, ns.as_fd()).map_err(|e| e.context(format!("mount {} (mounts[{i}], idmap)", m.destination)))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    for ((i, _, _), tree) in wanted.iter().zip(&trees) {
        console::send_fd(sync_fd.as_fd(), tree.as_fd(), i.to_string().as_bytes(), "sync socket (idmapped mount)")?;
    }
    Ok(())
}

/// Run `f` in the mount namespace of the process `pid`, then return to ours (when they
/// differ; the root and cwd become the namespace's root, then ours).
fn in_mount_ns_of<T>(pid: i32, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let path = format!("/proc/{pid}/ns/mnt");
    let (own, theirs) =
        (sys::open("/proc/self/ns/mnt", libc::O_RDONLY, Code::Namespace)?, sys::open(&path, libc::O_RDONLY, Code::Namespace)?);
    let (a, b) = (sys::fstat(own.as_fd(), "/proc/self/ns/mnt")?, sys::fstat(theirs.as_fd(), &path)?);
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) {
        return f();
    }
    // SAFETY: setns with a mount namespace fd; the helper is single-threaded.
    sys::cvt(unsafe { libc::setns(theirs.as_raw_fd(), libc::CLONE_NEWNS) }, Code::Namespace, "setns", Some(&path))?;
    let res = f();
    // SAFETY: setns back into the namespace we came from, by its fd.
    sys::cvt(unsafe { libc::setns(own.as_raw_fd(), libc::CLONE_NEWNS) }, Code::Namespace, "setns", Some("/proc/self/ns/mnt"))?;
    res
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

fn setattr(tree: &OwnedFd, attr: &MountAttr, recursive: bool, source: &str) -> Result<()> {
    let flags = libc::AT_EMPTY_PATH as libc::c_uint | if recursive { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    // SAFETY: mount_setattr on our detached tree with an empty path and a live, sized mount_attr.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    sys::cvt(ret as libc::c_int, Code::Mount, "mount_setattr", Some(source)).map(|_| ())
}

/// A detached, private copy of the bind source of `m` (its whole tree for `rbind`), made in
/// the current mount namespace, with the mapping of `userns` on its top mount, or on all of
/// them for `ridmap`.
fn detached(m: &Mount, map: &Idmap<'_>, userns: BorrowedFd<'_>) -> Result<OwnedFd> {
    let Some(source) = m.source.as_deref() else {
        return Err(Error::new(Code::InvalidConfig, format!("mounts[{}]: a bind mount needs a source", m.destination)));
    };
    let rbind = options::parse(&m.options).flags & libc::MS_REC != 0;
    let path = sys::cstr(source)?;
    let rec = if rbind { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    // SAFETY: open_tree with a valid C path; the fd returned is ours.
    let tree = unsafe {
        libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | rec)
    };
    let tree = sys::owned(sys::cvt(tree as libc::c_int, Code::Mount, "open_tree", Some(source))?);
    let private = MountAttr { attr_set: 0, attr_clr: 0, propagation: libc::MS_PRIVATE, userns_fd: 0 };
    setattr(&tree, &private, true, source)?;
    let idmap = MountAttr { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd: userns.as_raw_fd() as u64 };
    setattr(&tree, &idmap, map.recursive, source).map_err(|e| {
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
/// (`index`: the mount's, for errors.)
fn mapped_userns(uid: &[IdMapping], gid: &[IdMapping], index: usize) -> Result<OwnedFd> {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let forked = spawn::spawn(libc::CLONE_NEWUSER as u64, None)
        .map_err(|e| e.context(format!("mounts[{index}]: a user namespace for its mapping")))?;
    match forked {
        spawn::Forked::Child => {
            // SAFETY: prctl/getppid/pause/_exit take plain arguments; the child only waits for
            // the SIGKILL, or dies with the helper (never outlives it).
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
                if libc::getppid() != parent {
                    libc::_exit(0);
                }
                loop {
                    libc::pause();
                }
            }
        }
        spawn::Forked::Parent { pid, pidfd, .. } => {
            let ns = user::write_map(pid, "uid_map", uid)
                .map_err(|e| e.context(format!("mounts[{index}].uidMappings")))
                .and_then(|()| user::write_map(pid, "gid_map", gid).map_err(|e| e.context(format!("mounts[{index}].gidMappings"))))
                .and_then(|()| sys::open(&format!("/proc/{pid}/ns/user"), libc::O_RDONLY, Code::Namespace));
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
        assert_eq!(of(&bind(&["rbind", "ro"]), 0, None).unwrap(), None);
    }

    #[test]
    fn own_mappings_win_and_the_last_option_decides_recursion() {
        let mut m = bind(&["rbind", "idmap", "ridmap"]);
        m.uid_mappings = vec![map(0, 1000, 1)];
        m.gid_mappings = vec![map(0, 2000, 1)];
        let got = of(&m, 0, None).unwrap().unwrap();
        assert!(got.recursive);
        assert_eq!((got.uid[0].host_id, got.gid[0].host_id), (1000, 2000));
        m.options = vec!["bind".into()];
        assert!(!of(&m, 0, None).unwrap().unwrap().recursive, "mappings alone: idmap, not recursive");
    }

    #[test]
    fn idmap_alone_takes_the_user_namespace_mappings_or_is_refused() {
        let m = bind(&["bind", "idmap"]);
        let e = of(&m, 3, None).unwrap_err();
        assert!(e.message.contains("mounts[3]") && e.message.contains("user namespace"), "{}", e.message);
        let linux = Linux {
            namespaces: vec![Namespace { kind: "user".into(), path: None }],
            uid_mappings: vec![map(0, 100_000, 65536)],
            gid_mappings: vec![map(0, 100_000, 65536)],
            ..Linux::default()
        };
        assert_eq!(of(&m, 3, Some(&linux)).unwrap().unwrap().uid[0].host_id, 100_000);
        let joined = Linux { namespaces: vec![Namespace { kind: "user".into(), path: Some("/proc/1/ns/user".into()) }], ..linux };
        assert!(of(&m, 3, Some(&joined)).is_err(), "a joined user namespace's mappings are not known here");
    }

    #[test]
    fn not_a_bind_a_cgroup_mount_or_half_a_mapping_is_refused() {
        let mut m = bind(&["idmap"]);
        m.kind = Some("tmpfs".into());
        assert!(of(&m, 0, None).unwrap_err().message.contains("must be a bind mount"));
        m.kind = Some("cgroup".into());
        m.options = vec!["rbind".into(), "idmap".into()];
        assert!(of(&m, 0, None).unwrap_err().message.contains("must be a bind mount"), "the v1 cgroup binds are lxts's own");
        let mut m = bind(&["bind"]);
        m.uid_mappings = vec![map(0, 1, 1)];
        assert!(of(&m, 0, None).unwrap_err().message.contains("go together"));
    }
}
