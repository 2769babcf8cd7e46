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
    // The helper joins such a namespace before it makes the init, and then no longer has the
    // host's CAP_SYS_ADMIN that mount_setattr(MOUNT_ATTR_IDMAP) needs.
    if linux.is_some_and(|l| l.namespaces.iter().any(|n| n.kind == "user" && n.path.is_some())) {
        return Err(Error::new(
            Code::Unsupported,
            format!("{field}: idmapped mounts with a joined user namespace (linux.namespaces user path) are not supported"),
        ));
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

/// Refuse a config whose idmapped mounts cannot be made, before the init exists: errors as
/// [`of`], and any idmapped mount when rootless (idmapping needs the host's CAP_SYS_ADMIN).
pub fn check(cfg: &Config) -> Result<()> {
    for (i, m) in cfg.mounts.iter().enumerate() {
        if of(m, i, cfg.linux.as_ref())?.is_some() && crate::container::user::rootless() {
            return Err(Error::new(
                Code::Unsupported,
                format!("mounts[{i}]: idmapped mounts need the host's CAP_SYS_ADMIN, which rootless lxts has not"),
            ));
        }
    }
    Ok(())
}

/// The init's side, for `mounts[index]` (`m`) when it is idmapped (else `None`): open its
/// source as for a plain bind (`O_PATH`, with our credentials, in this namespace, after the
/// mounts before it), send `idmap <index>` and the fd, and receive the detached idmapped copy.
pub fn request(m: &Mount, index: usize, linux: Option<&Linux>, sync_fd: &OwnedFd) -> Result<Option<OwnedFd>> {
    if of(m, index, linux)?.is_none() {
        return Ok(None);
    }
    let Some(source) = m.source.as_deref() else {
        return Err(Error::new(Code::InvalidConfig, format!("mounts[{index}]: a bind mount needs a source")));
    };
    let src = sys::open(source, libc::O_PATH, Code::Mount)?;
    sync::send(sync_fd, &[sync::IDMAP, index.to_string().as_bytes()].concat())?;
    console::send_fd(sync_fd.as_fd(), src.as_fd(), b"source", "sync socket (idmapped mount source)")?;
    console::recv_fd(sync_fd.as_raw_fd(), "sync socket (idmapped mount)").map(Some)
}

/// The index of an `idmap <index>` request.
pub fn requested(msg: &[u8]) -> Option<usize> {
    std::str::from_utf8(msg.strip_prefix(sync::IDMAP)?).ok()?.parse().ok()
}

/// The user namespaces the helper made for mappings, kept for the mounts that share one.
#[derive(Default)]
pub struct Namespaces(Vec<(Vec<IdMapping>, Vec<IdMapping>, OwnedFd)>);

/// The helper's side of an `idmap <index>` request: receive the source the init opened, copy
/// it in the mount namespace of the init `pid` (our child, not reaped), idmapped and private,
/// and send the copy back.
pub fn serve(cfg: &Config, index: usize, pid: i32, sync_fd: &OwnedFd, made: &mut Namespaces) -> Result<()> {
    let src = console::recv_fd(sync_fd.as_raw_fd(), "sync socket (idmapped mount source)")?;
    let Some(m) = cfg.mounts.get(index) else {
        return Err(Error::new(Code::Protocol, format!("the init asked for mounts[{index}], which does not exist")));
    };
    let Some(map) = of(m, index, cfg.linux.as_ref())? else {
        return Err(Error::new(Code::Protocol, format!("the init asked for mounts[{index}], which is no idmapped mount")));
    };
    let ns = match made.0.iter().position(|(u, g, _)| u.as_slice() == map.uid && g.as_slice() == map.gid) {
        Some(i) => i,
        None => {
            made.0.push((map.uid.to_vec(), map.gid.to_vec(), mapped_userns(map.uid, map.gid, index)?));
            made.0.len() - 1
        }
    };
    let what = format!("mount {} (mounts[{index}], idmap)", m.destination);
    let tree = in_mount_ns_of(pid, || detached(src.as_fd(), m, &map, made.0[ns].2.as_fd())).map_err(|e| e.context(&what))?;
    console::send_fd(sync_fd.as_fd(), tree.as_fd(), b"tree", "sync socket (idmapped mount)")
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
    if unsafe { libc::setns(own.as_raw_fd(), libc::CLONE_NEWNS) } != 0 {
        // Nothing the helper does next (cgroups, state, the host's mounts) may happen in the
        // container's mount namespace: end here (the init dies with us: PR_SET_PDEATHSIG).
        eprintln!("lxts-helper: setns back into its own mount namespace: {}", std::io::Error::last_os_error());
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(70) };
    }
    res
}

const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// A detached, private copy of the bind source `src` of `m` (its whole tree for `rbind`), made
/// in the current mount namespace, with the mapping of `userns` on its top mount, or on all of
/// them for `ridmap`.
fn detached(src: BorrowedFd<'_>, m: &Mount, map: &Idmap<'_>, userns: BorrowedFd<'_>) -> Result<OwnedFd> {
    let source = m.source.as_deref().unwrap_or("(source)");
    let rbind = options::parse(&m.options).flags & libc::MS_REC != 0;
    let tree = sys::clone_tree(src, rbind, Code::Mount, source)?;
    let private = sys::MountAttr { propagation: libc::MS_PRIVATE, ..Default::default() };
    sys::mount_setattr(tree.as_fd(), &private, true, Code::Mount, source)?;
    let idmap = sys::MountAttr { attr_set: MOUNT_ATTR_IDMAP, userns_fd: userns.as_raw_fd() as u64, ..Default::default() };
    sys::mount_setattr(tree.as_fd(), &idmap, map.recursive, Code::Mount, source).map_err(|e| {
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
        let mut own = bind(&["bind"]);
        own.uid_mappings = vec![map(0, 1, 1)];
        own.gid_mappings = vec![map(0, 1, 1)];
        assert!(of(&own, 3, Some(&joined)).unwrap_err().message.contains("joined user namespace"), "the helper cannot idmap once joined");
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
