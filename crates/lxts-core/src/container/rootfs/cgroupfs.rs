//! A `type: cgroup` mount on a cgroup v1 or hybrid host, as runc does it: a tmpfs at the
//! destination holding, per v1 hierarchy, a bind of the container's own cgroup directory
//! (`/sys/fs/cgroup/memory` shows the container's `memory.limit_in_bytes`), plus the
//! `cpu` → `cpu,cpuacct` symlinks of co-mounted controllers. Mounting cgroup2 there instead
//! would show the host's unified root (every host group's name) and none of the v1 limits.
//!
//! Runs in the init before `pivot_root`, while the host's hierarchies still resolve.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use super::mount::remount_bind_fd;
use super::options;
use super::resolve;
use crate::cgroups::detect::{Host, HostMode};
use crate::container::sys::{self, fd_path};
use crate::plan::Mount;
use crate::{Code, Error, Result};

/// `true` when a `type: cgroup` mount must be built from the v1 hierarchies.
pub fn is_v1(host: &Host) -> bool {
    matches!(host.mode, HostMode::V1 | HostMode::Hybrid)
}

/// Mount `m` (type `cgroup`) for the container whose cgroup is `cgroup_path` (`/lxts/c1`),
/// from `host`'s hierarchies as seen outside any new cgroup namespace.
pub fn mount_v1(root: BorrowedFd<'_>, m: &Mount, cgroup_path: Option<&str>, host: &Host) -> Result<()> {
    let dest = resolve::absolute(&m.destination);
    let what = format!("mount {dest}");
    let opts = options::parse(&m.options);
    // the per-hierarchy binds get the mount's restrictions; the tmpfs is made read-only last
    let restrict = opts.flags & (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY);
    let target = resolve::mkdir_all(root, &dest, 0o755).map_err(|e| e.context(&what))?;
    let tmpfs_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    sys::mount(Some("tmpfs"), &fd_path(target.as_fd()), Some("tmpfs"), tmpfs_flags, Some("mode=755"), &dest)
        .map_err(|e| e.context(&what))?;
    // The tmpfs just mounted is ours and empty, and nothing of the container runs yet: its
    // directories are made and reopened through its fd, without resolving from the root.
    let tmpfs = resolve::open_existing(root, &dest, libc::O_PATH | libc::O_DIRECTORY)?;
    for h in host.hierarchies.iter().filter(|h| !h.v2) {
        let Some(name) = h.mount_point.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(source) = cgroup_path.and_then(|p| container_dir(&h.mount_point, &h.root, p)) else { continue };
        // a hierarchy the container has no directory in (a named one lxts did not join) is left out
        let Ok(src) = sys::open(&source, libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW, Code::Mount) else { continue };
        let sub = format!("{dest}/{name}");
        let at = subdir(tmpfs.as_fd(), name, true).map_err(|e| e.context(&what))?;
        sys::mount(Some(&fd_path(src.as_fd())), &fd_path(at.as_fd()), None, libc::MS_BIND, None, &sub).map_err(|e| e.context(&what))?;
        // The bind, reached through the same name (`at` still names the directory below it).
        let bound = subdir(tmpfs.as_fd(), name, false).map_err(|e| e.context(&what))?;
        remount_bind_fd(bound.as_fd(), &sub, restrict).map_err(|e| e.context(&what))?;
        if name.contains(',') {
            for alias in name.split(',') {
                symlink(tmpfs.as_fd(), name, alias).map_err(|e| e.context(&what))?;
            }
        }
    }
    for &p in &opts.propagation {
        sys::mount(None, &fd_path(tmpfs.as_fd()), None, p, None, &dest).map_err(|e| e.context(&what))?;
    }
    if opts.flags & libc::MS_RDONLY != 0 {
        sys::mount(None, &fd_path(tmpfs.as_fd()), None, libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | tmpfs_flags, None, &dest)
            .map_err(|e| e.context(&what))?;
    }
    Ok(())
}

/// `name` in the directory `dir` as an `O_PATH` fd, never through a symlink; with `create`,
/// made first (mode 0755).
fn subdir(dir: BorrowedFd<'_>, name: &str, create: bool) -> Result<OwnedFd> {
    let c = sys::cstr(name)?;
    // SAFETY: an open directory fd and a valid C string.
    if create && unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) } < 0 && nix::errno::Errno::last() != nix::errno::Errno::EEXIST
    {
        return Err(Error::sys(Code::Mount, "mkdirat", Some(name), nix::errno::Errno::last()));
    }
    // SAFETY: as above; the fd returned is ours.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    Ok(sys::owned(sys::cvt(fd, Code::Mount, "openat", Some(name))?))
}

/// `<mount point>/<cgroup path below the hierarchy's root>`, or `None` when the container's
/// cgroup is not visible through this mount.
fn container_dir(mount_point: &Path, hierarchy_root: &str, cgroup_path: &str) -> Option<String> {
    let rel = if hierarchy_root == "/" { cgroup_path } else { cgroup_path.strip_prefix(hierarchy_root)? };
    if !(rel.is_empty() || rel.starts_with('/')) || rel.split('/').any(|c| c == "..") {
        return None;
    }
    Some(format!("{}{}", mount_point.display(), rel))
}

/// `symlinkat(target, dir, name)` unless `name` is `target` itself or already exists.
fn symlink(dir: BorrowedFd<'_>, target: &str, name: &str) -> Result<()> {
    if name == target || name.is_empty() {
        return Ok(());
    }
    let (t, n) = (sys::cstr(target)?, sys::cstr(name)?);
    // SAFETY: valid C strings and an open directory fd.
    let ret = unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) };
    if ret < 0 && nix::errno::Errno::last() != nix::errno::Errno::EEXIST {
        return Err(Error::sys(Code::Mount, "symlinkat", Some(name), nix::errno::Errno::last()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_dir_joins_below_the_hierarchy_root() {
        let mp = Path::new("/sys/fs/cgroup/memory");
        assert_eq!(container_dir(mp, "/", "/lxts/c1").as_deref(), Some("/sys/fs/cgroup/memory/lxts/c1"));
        assert_eq!(container_dir(mp, "/outer", "/outer/c1").as_deref(), Some("/sys/fs/cgroup/memory/c1"));
        assert_eq!(container_dir(mp, "/outer", "/elsewhere/c1"), None);
        assert_eq!(container_dir(mp, "/outer", "/outerx/c1"), None);
        assert_eq!(container_dir(mp, "/", "/a/../b"), None);
    }
}
