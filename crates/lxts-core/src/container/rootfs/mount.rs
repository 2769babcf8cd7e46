//! One OCI mount: resolve its destination inside the rootfs, create it if missing,
//! and mount onto `/proc/self/fd/N` of the resolved handle (never onto a string
//! path that a symlink could redirect).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::copyup;
use super::options::{self, MountOptions};
use super::resolve;
use crate::container::sys::{self, fd_path};
use crate::plan::Mount;
use crate::{Code, Error, Result};

/// `ST_RELATIME` (the kernel's statfs flag, as glibc names it; musl does not).
const ST_RELATIME: u64 = 0x1000;
/// `ST_NOSYMFOLLOW` (Linux 5.10).
const ST_NOSYMFOLLOW: u64 = 0x2000;

/// The `mount(2)` flags a bind's remount applies (per mount); the others (`sync`, `silent`,
/// `lazytime`, `iversion`…) belong to the superblock, which a bind shares with its source.
const PER_MOUNT: u64 = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_STRICTATIME
    | libc::MS_NOSYMFOLLOW;

/// Flags that `MS_REMOUNT|MS_BIND` may change and that must be carried over
/// from the existing mount (the kernel refuses to drop locked ones in a userns,
/// and dropping `nosuid`/`nodev` silently would weaken a bind).
fn carried_flags(statvfs_flags: u64) -> u64 {
    let mut f = 0;
    for (st, ms) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (ST_RELATIME, libc::MS_RELATIME),
        (ST_NOSYMFOLLOW, libc::MS_NOSYMFOLLOW),
    ] {
        if statvfs_flags & st != 0 {
            f |= ms;
        }
    }
    f
}

/// Remount the mount at `dest` (reopened in-root) with `flags` plus carried flags.
pub fn remount_bind(root: BorrowedFd<'_>, dest: &str, flags: u64) -> Result<()> {
    let fd = resolve::open_existing(root, dest, libc::O_PATH)?;
    remount_bind_fd(fd.as_fd(), dest, flags)
}

/// [`remount_bind`] of the mount `fd` is the root of (`dest` names it in errors).
pub fn remount_bind_fd(fd: BorrowedFd<'_>, dest: &str, flags: u64) -> Result<()> {
    let carried = carried_flags(sys::mount_flags_of(fd, dest)?);
    sys::mount(None, &fd_path(fd), None, libc::MS_REMOUNT | libc::MS_BIND | flags | carried, None, dest)
        .map_err(|e| e.context(format!("remount {dest}")))
}

/// Refuse a `/proc` or `/sys` destination that is a symlink or not a directory
/// (CVE-2019-19921). Checked without following the last component.
fn check_special(root: BorrowedFd<'_>, dest: &str) -> Result<()> {
    let fd = match resolve::open_in_root(root, dest, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::sys(Code::UnsafePath, "openat2", Some(dest), e)),
    };
    let mode = sys::fstat(fd.as_fd(), dest)?.st_mode & libc::S_IFMT;
    if mode != libc::S_IFDIR {
        let what = if mode == libc::S_IFLNK { "a symlink" } else { "not a directory" };
        let mut e = Error::new(Code::UnsafePath, format!("mount destination {dest} is {what} in the rootfs"));
        e.path = Some(dest.to_owned());
        return Err(e);
    }
    Ok(())
}

fn apply_propagation(target: &OwnedFd, opts: &MountOptions, dest: &str) -> Result<()> {
    for &p in &opts.propagation {
        sys::mount(None, &fd_path(target.as_fd()), None, p, None, dest)?;
    }
    Ok(())
}

/// Perform one mount of the config, in order, inside the rootfs. `idmapped`: the detached
/// idmapped mount the helper made of this bind's source (`super::idmap`), attached instead
/// (and closed).
pub fn mount_one(root: BorrowedFd<'_>, m: &Mount, idmapped: Option<OwnedFd>) -> Result<()> {
    let dest = resolve::absolute(&m.destination);
    let kind = m.kind.as_deref().unwrap_or("");
    let mut opts = options::parse(&m.options);
    if kind == "bind" {
        opts.flags |= libc::MS_BIND;
    }
    let what = format!("mount {dest}");
    if matches!(dest.as_str(), "/proc" | "/sys") || matches!(kind, "proc" | "sysfs") {
        check_special(root, &dest).map_err(|e| e.context(&what))?;
    }
    if let Some(tree) = idmapped {
        bind_tree(root, tree.as_fd(), &dest, &opts).map_err(|e| e.context(&what))
    } else if opts.is_bind() {
        bind(root, m, &dest, &opts).map_err(|e| e.context(&what))
    } else {
        let target = resolve::mkdir_all(root, &dest, 0o755).map_err(|e| e.context(&what))?;
        let fstype = if kind == "cgroup" { "cgroup2" } else { kind };
        if fstype.is_empty() {
            return Err(Error::new(Code::InvalidConfig, format!("mounts[{dest}]: type is required unless options contain bind or rbind")));
        }
        let source = m.source.as_deref().unwrap_or(fstype);
        let covered = if opts.copy_up && fstype == "tmpfs" { Some(copyup::open_covered(target.as_fd(), &dest)?) } else { None };
        sys::mount(Some(source), &fd_path(target.as_fd()), Some(fstype), opts.flags, Some(&opts.data), &dest)
            .map_err(|e| e.context(&what))?;
        let mounted = resolve::open_existing(root, &dest, libc::O_PATH)?;
        if let Some(covered) = covered {
            copyup::copy_up(covered, mounted.as_fd(), &dest)?;
        }
        set_recursive(&mounted, opts.rec_set, opts.rec_clr, &dest).map_err(|e| e.context(&what))?;
        apply_propagation(&mounted, &opts, &dest).map_err(|e| e.context(&what))
    }
}

fn bind(root: BorrowedFd<'_>, m: &Mount, dest: &str, opts: &MountOptions) -> Result<()> {
    let Some(source) = m.source.as_deref() else {
        return Err(Error::new(Code::InvalidConfig, format!("mounts[{dest}]: a bind mount needs a source")));
    };
    let src = sys::open(source, libc::O_PATH, Code::Mount)?;
    let src_dir = resolve::is_dir(&src, source)?;
    let target = if src_dir { resolve::mkdir_all(root, dest, 0o755)? } else { resolve::mkfile(root, dest, 0o644)? };
    if resolve::is_dir(&target, dest)? != src_dir {
        return Err(Error::new(Code::Mount, format!("source {source} and destination {dest} differ in type (directory vs file)")));
    }
    sys::mount(Some(&fd_path(src.as_fd())), &fd_path(target.as_fd()), None, libc::MS_BIND | (opts.flags & libc::MS_REC), None, dest)?;
    finish_bind(root, dest, opts)
}

/// Attach the detached mount `tree` (an idmapped copy of a bind's source) at `dest`, then
/// apply the bind's other options as [`bind`] does.
fn bind_tree(root: BorrowedFd<'_>, tree: BorrowedFd<'_>, dest: &str, opts: &MountOptions) -> Result<()> {
    let src_dir = resolve::is_dir(tree, dest)?;
    let target = if src_dir { resolve::mkdir_all(root, dest, 0o755)? } else { resolve::mkfile(root, dest, 0o644)? };
    if resolve::is_dir(&target, dest)? != src_dir {
        return Err(Error::new(Code::Mount, format!("the idmapped source and destination {dest} differ in type (directory vs file)")));
    }
    sys::attach_tree(tree, target.as_fd(), Code::Mount, dest)?;
    finish_bind(root, dest, opts)
}

/// A bind's flags beyond `bind`/`rbind` (a remount), `rbind,ro` for the whole tree, propagation.
/// A remount clears what it does not set: a bind of a read-only mount stays read-only unless
/// `rw` is asked for.
fn finish_bind(root: BorrowedFd<'_>, dest: &str, opts: &MountOptions) -> Result<()> {
    let mounted = resolve::open_existing(root, dest, libc::O_PATH)?;
    let mut rest = opts.flags & PER_MOUNT;
    if rest != 0 {
        if !opts.rw && sys::mount_flags_of(mounted.as_fd(), dest)? & libc::ST_RDONLY != 0 {
            rest |= libc::MS_RDONLY;
        }
        remount_bind_fd(mounted.as_fd(), dest, rest)?;
    }
    let mut set = opts.rec_set;
    if opts.flags & libc::MS_REC != 0 && opts.flags & libc::MS_RDONLY != 0 && opts.rec_clr & options::ATTR_RDONLY == 0 {
        // `rbind,ro`: MS_REMOUNT|MS_RDONLY covers the top mount only, every submount of the
        // source (each host cgroup hierarchy under /sys/fs/cgroup) would stay writable
        // (CVE-2023-25809). Make the whole tree read-only (unless `rrw` asks otherwise).
        set |= options::ATTR_RDONLY;
    }
    set_recursive(&mounted, set, opts.rec_clr, dest)?;
    apply_propagation(&mounted, opts, dest)
}

/// Set and clear `MOUNT_ATTR_*` on the mount at `fd` and every mount below it (the recursive
/// options: `rro`, `rnosuid`…); nothing to do without any.
fn set_recursive(fd: &OwnedFd, set: u64, clr: u64, dest: &str) -> Result<()> {
    if set == 0 && clr == 0 {
        return Ok(());
    }
    sys::mount_setattr(fd.as_fd(), &sys::MountAttr { attr_set: set, attr_clr: clr, ..Default::default() }, true, Code::Mount, dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_flags_map_statvfs_bits() {
        assert_eq!(carried_flags(libc::ST_NOSUID | libc::ST_NODEV | libc::ST_RDONLY), libc::MS_NOSUID | libc::MS_NODEV);
        assert_eq!(carried_flags(ST_RELATIME), libc::MS_RELATIME);
    }
}
