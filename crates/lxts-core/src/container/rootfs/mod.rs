//! The container's root filesystem, set up in the init's new mount namespace:
//! propagation, the rootfs self-bind, the config's mounts in order, `/dev`,
//! masked and read-only paths, then `pivot_root`.

pub mod devices;
pub mod mount;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod resolve;
pub mod sysctl;

use std::os::fd::AsFd;

use super::sys::{self, fd_path};
use crate::plan::{Linux, Plan};
use crate::{Code, Error, Result};

/// Do all rootfs work and enter the root. Runs in the init, before any credential change.
/// With `console` (socket, process uid) the pty is set up once `/dev` is ready ([`crate::container::tty`]).
pub fn setup(plan: &Plan, in_userns: bool, console: Option<(&std::os::fd::OwnedFd, u32)>) -> Result<()> {
    let cfg = &plan.config;
    let default_linux = Linux::default();
    let linux = cfg.linux.as_ref().unwrap_or(&default_linux);
    let propagation = match linux.rootfs_propagation.as_deref() {
        None | Some("") => libc::MS_PRIVATE | libc::MS_REC,
        Some(p) => options::propagation(p)
            .ok_or_else(|| Error::new(Code::InvalidConfig, format!("linux.rootfsPropagation: unknown value {p:?}")))?,
    };
    sys::mount(None, "/", None, propagation, None, "/").map_err(|e| e.context("linux.rootfsPropagation"))?;

    let root_path = &cfg.root.path;
    let before = sys::open(root_path, libc::O_PATH | libc::O_DIRECTORY, Code::Mount).map_err(|e| e.context("root.path"))?;
    sys::mount(Some(&fd_path(before.as_fd())), &fd_path(before.as_fd()), None, libc::MS_BIND | libc::MS_REC, None, root_path)
        .map_err(|e| e.context("bind rootfs"))?;
    let root = sys::open(root_path, libc::O_PATH | libc::O_DIRECTORY, Code::Mount).map_err(|e| e.context("root.path"))?;
    drop(before);

    for m in &cfg.mounts {
        mount::mount_one(root.as_fd(), m)?;
    }
    devices::setup(root.as_fd(), &linux.devices, in_userns)?;
    if let Some((socket, uid)) = console {
        crate::container::tty::setup_console(root.as_fd(), socket.as_fd(), uid)?;
    }
    sysctl::apply(root.as_fd(), &linux.sysctl)?;
    let devnull = paths::host_devnull()?;
    paths::mask(root.as_fd(), &linux.masked_paths, devnull.as_fd())?;
    paths::readonly(root.as_fd(), &linux.readonly_paths)?;
    pivot::enter(root.as_fd(), plan.no_pivot)?;
    if cfg.root.readonly {
        pivot::make_root_readonly()?;
    }
    Ok(())
}
