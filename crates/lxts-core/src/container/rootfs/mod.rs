//! The container's root filesystem, set up in the init's new mount namespace:
//! propagation, the rootfs self-bind, the config's mounts in order, `/dev`,
//! masked and read-only paths, then `pivot_root`.
//!
//! Without a mount namespace (none listed: inherited from the caller, as the OCI spec says)
//! the same steps run in the host's mount namespace, but `/` is never touched: the self-bind
//! is made private (nothing mounted inside propagates out), its id is reported
//! ([`crate::hostmount`]) so delete can detach it with everything below, and the root is
//! entered with `chroot`.

pub mod cgroupfs;
pub mod copyup;
pub mod devices;
pub mod idmap;
pub mod mount;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod resolve;
pub mod sysctl;

use std::os::fd::AsFd;

use super::sys;
use crate::plan::{Linux, Plan};
use crate::{Code, Error, Result};

/// Bind `dir` (recursively) onto itself with the mount API and return the new mount's root:
/// the handle is reached without any path walk, so no search permission is needed above it.
fn bind_onto_itself(dir: std::os::fd::BorrowedFd<'_>) -> Result<std::os::fd::OwnedFd> {
    let tree = sys::clone_tree(dir, true, Code::Mount, ".")?;
    sys::attach_tree(tree.as_fd(), dir, Code::Mount, ".")?;
    Ok(tree)
}

/// Do all rootfs work and enter the root. Runs in the init, before any credential change.
/// With `console` (socket, process uid) the pty is set up once `/dev` is ready ([`crate::container::tty`]).
/// `host_root` is given when the init has no mount namespace of its own: it receives the
/// rootfs bind's mount id, and the root is entered with `chroot`. `idmapped(i, m)` gets the
/// detached idmapped copy of `mounts[i]` from the helper, `None` when it is no idmapped
/// mount ([`idmap::request`]).
pub fn setup(
    plan: &Plan,
    idmapped: &mut dyn FnMut(usize, &crate::plan::Mount) -> Result<Option<std::os::fd::OwnedFd>>,
    in_userns: bool,
    console: Option<(&std::os::fd::OwnedFd, u32)>,
    mut host_root: Option<&mut dyn FnMut(u64) -> Result<()>>,
    cgroup_host: Option<&crate::cgroups::Host>,
    before_pivot: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let cfg = &plan.config;
    let default_linux = Linux::default();
    let linux = cfg.linux.as_ref().unwrap_or(&default_linux);
    let host_ns = host_root.is_some();
    let propagation = match linux.rootfs_propagation.as_deref() {
        None | Some("") => libc::MS_PRIVATE | libc::MS_REC,
        Some(_) if host_ns => {
            return Err(Error::new(Code::InvalidConfig, "linux.rootfsPropagation needs a mount namespace (type \"mount\")"))
        }
        Some(p) => options::propagation(p)
            .ok_or_else(|| Error::new(Code::InvalidConfig, format!("linux.rootfsPropagation: unknown value {p:?}")))?,
    };
    // pivot_root refuses shared mounts, and an unbindable / cannot be bound: before the pivot
    // anything but private is applied as rslave (host events still arrive, none leak out);
    // the configured mode is applied to the new / afterwards, as runc does.
    let early = if propagation & libc::MS_PRIVATE != 0 { propagation } else { libc::MS_SLAVE | libc::MS_REC };
    if !host_ns {
        sys::mount(None, "/", None, early, None, "/").map_err(|e| e.context("linux.rootfsPropagation"))?;
    }

    let root_path = &cfg.root.path;
    // The path first (a joined mount namespace reset the cwd to its root); where a new user
    // namespace cannot search the path (runtime-tools' 0700 bundle dirs), "." is the rootfs:
    // the helper chdir'ed into root.path before clone3.
    let before = match sys::open(root_path, libc::O_PATH | libc::O_DIRECTORY, Code::Mount) {
        Err(e) if e.errno == Some(libc::EACCES) => sys::open(".", libc::O_PATH | libc::O_DIRECTORY, Code::Mount),
        other => other,
    }
    .map_err(|e| e.context("root.path"))?;
    let root = bind_onto_itself(before.as_fd()).map_err(|e| e.context(format!("bind rootfs {root_path}")))?;
    drop(before);
    if let Some(report) = host_root.as_mut() {
        // Reported first, so the helper can detach it if anything below fails; then private,
        // so no mount made inside reaches the host's peer groups.
        report(crate::hostmount::mount_id(root.as_fd(), root_path)?)?;
        sys::mount(None, &sys::fd_path(root.as_fd()), None, libc::MS_PRIVATE | libc::MS_REC, None, root_path)
            .map_err(|e| e.context(format!("make rootfs {root_path} private")))?;
    }

    for (i, m) in cfg.mounts.iter().enumerate() {
        if let (Some("cgroup"), Some(host)) = (m.kind.as_deref(), cgroup_host.filter(|h| cgroupfs::is_v1(h))) {
            cgroupfs::mount_v1(root.as_fd(), m, plan.cgroup.as_ref().map(|c| c.path.as_str()), host)?;
        } else {
            // Asked for in order, `/` (or, without a mount namespace, the rootfs bind) being
            // private: the helper copies the source in this namespace.
            let tree = idmapped(i, m).map_err(|e| e.context(format!("mount {}", m.destination)))?;
            mount::mount_one(root.as_fd(), m, tree)?;
        }
    }
    devices::setup(root.as_fd(), &linux.devices, in_userns)?;
    if let Some((socket, uid)) = console {
        crate::container::tty::setup_console(root.as_fd(), socket.as_fd(), uid)?;
    }
    sysctl::apply(root.as_fd(), &linux.sysctl)?;
    let devnull = paths::host_devnull()?;
    paths::mask(root.as_fd(), &linux.masked_paths, devnull.as_fd())?;
    paths::readonly(root.as_fd(), &linux.readonly_paths)?;
    // createContainer hooks: the mounts exist, the host's paths still resolve.
    before_pivot()?;
    if host_ns {
        // pivot_root (or --no-pivot's MS_MOVE) would move the host's own root: chroot only.
        pivot::chroot_into(root.as_fd())?;
    } else {
        pivot::enter(root.as_fd(), plan.no_pivot)?;
    }
    if !host_ns && early != propagation {
        sys::mount(None, "/", None, propagation, None, "/").map_err(|e| e.context("linux.rootfsPropagation"))?;
    }
    if cfg.root.readonly {
        pivot::make_root_readonly()?;
    }
    Ok(())
}
