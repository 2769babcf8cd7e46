//! The one mount a container without a mount namespace leaves in the caller's (host) mount
//! namespace: its init binds `root.path` onto itself and makes every other mount (`/proc`,
//! `/dev`, masked paths…) inside that bind, which is private so nothing propagates out. The
//! bind's 64-bit unique mount id (`statx` `STATX_MNT_ID_UNIQUE`, Linux 6.8) is recorded by the
//! helper in `<stateDir>/root-mount` as soon as the init reports it; delete, `delete --force`,
//! a failed create, force recovery and `run --rm` detach it (`MNT_DETACH` takes every mount
//! below it along, including any the container made itself).
//!
//! The state root also holds `.root-mount-<mount id>`, a symlink to the owner's id, so a create
//! can tell in one lookup whether its `root.path` is such a bind ([`rootfs_owner`]) instead of
//! reading every sibling's state directory (hundreds under an engine). Ids start with a letter
//! or digit, so the link is never taken for a container. A link is trusted only when it names
//! a container id whose record names the same mount; a stale one (left by a `delete --force`
//! whose detach failed) is removed when found, and replaced when a new record needs its name
//! (a state root kept across a reboot, where mount ids start again). A container without a
//! mount namespace made by an lxts from before the index has no link until it is recreated.
//!
//! Plain syscalls, no namespace change: safe from the multithreaded Node process.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::{Code, Error, Result};

/// The record's file name in the state directory.
pub const RECORD: &str = "root-mount";

/// `STATX_MNT_ID_UNIQUE` (Linux 6.8): `stx_mnt_id` is the never-reused 64-bit id.
const STATX_MNT_ID_UNIQUE: libc::c_uint = 0x4000;
/// `statmount(2)` (Linux 6.8), one number on every architecture.
const SYS_STATMOUNT: libc::c_long = 457;
/// `STATMOUNT_MNT_BASIC`: `mnt_id`, `mnt_parent_id`, … are filled.
const STATMOUNT_MNT_BASIC: u64 = 0x2;
/// Offsets in `struct statmount` (include/uapi/linux/mount.h).
const SM_MASK: usize = 8;
const SM_MNT_ID: usize = 40;
const SM_MNT_PARENT_ID: usize = 48;

/// `struct mnt_id_req`, version 0 (24 bytes).
#[repr(C)]
struct MntIdReq {
    size: u32,
    spare: u32,
    mnt_id: u64,
    param: u64,
}

/// What `<stateDir>/root-mount` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RootMount {
    /// `root.path`, absolute.
    pub path: String,
    /// The bind's unique mount id.
    pub mnt_id: u64,
}

fn open_path(path: &str) -> std::result::Result<OwnedFd, Errno> {
    let c = std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `c` is a valid C string; the returned fd is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh fd nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

/// The unique id of the mount `fd` lies on.
pub fn mount_id(fd: BorrowedFd<'_>, what: &str) -> Result<u64> {
    let st = crate::container::sys::statx(fd, STATX_MNT_ID_UNIQUE).map_err(|e| Error::sys(Code::Mount, "statx", Some(what), e))?;
    if st.stx_mask & STATX_MNT_ID_UNIQUE == 0 {
        return Err(Error::new(
            Code::Mount,
            format!("statx {what}: no unique mount id (a container without a mount namespace needs Linux 6.8)"),
        ));
    }
    Ok(st.stx_mnt_id)
}

/// Whether the mount `fd` lies on is in the caller's mount namespace (`false`: a detached
/// mount, or one of another namespace). Linux 6.8 (`statx` unique ids, `statmount`).
pub fn mounted_here(fd: BorrowedFd<'_>) -> Result<bool> {
    Ok(parent_of(mount_id(fd, "fd")?)?.is_some())
}

/// The parent of mount `id` in the caller's mount namespace, `None` when `id` is not mounted there.
fn parent_of(id: u64) -> Result<Option<u64>> {
    let req = MntIdReq { size: std::mem::size_of::<MntIdReq>() as u32, spare: 0, mnt_id: id, param: STATMOUNT_MNT_BASIC };
    let mut buf = [0u64; 128];
    // SAFETY: `req` is a version-0 mnt_id_req and `buf` is writable for the size passed.
    let ret = unsafe { libc::syscall(SYS_STATMOUNT, &req as *const MntIdReq, buf.as_mut_ptr(), std::mem::size_of_val(&buf), 0) };
    if ret < 0 {
        return match Errno::last() {
            Errno::ENOENT => Ok(None),
            e => Err(Error::sys(Code::Mount, "statmount", None, e)),
        };
    }
    let word = |off: usize| buf[off / 8];
    if word(SM_MASK) & STATMOUNT_MNT_BASIC == 0 || word(SM_MNT_ID) != id {
        return Err(Error::new(Code::Mount, format!("statmount {id}: unexpected answer")));
    }
    Ok(Some(word(SM_MNT_PARENT_ID)))
}

/// Detach mount `id` from `path`, and first whatever is stacked on it there. Nothing to do
/// when it is already gone; an error when it is mounted but no longer at `path`.
pub fn release(path: &str, id: u64) -> Result<()> {
    // A bound loop: each round detaches one mount stacked at `path`.
    for _ in 0..64 {
        if parent_of(id)?.is_none() {
            return Ok(());
        }
        let fd = open_path(path).map_err(|e| Error::sys(Code::Mount, "open", Some(path), e).context("root.path"))?;
        let top = mount_id(fd.as_fd(), path)?;
        if top != id && parent_of(top)? != Some(id) {
            return Err(Error::new(
                Code::Mount,
                format!("the rootfs mount lxts made at create (id {id}) is no longer at {path}: left in place"),
            ));
        }
        let at = std::ffi::CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Error::new(Code::Mount, "fd path"))?;
        // SAFETY: a valid C string naming the open fd; MNT_DETACH never blocks on busy mounts.
        if unsafe { libc::umount2(at.as_ptr(), libc::MNT_DETACH) } < 0 {
            return Err(Error::sys(Code::Mount, "umount2", Some(path), Errno::last()));
        }
        if top == id {
            return Ok(());
        }
    }
    Err(Error::new(Code::Mount, format!("{path}: too many mounts stacked on the rootfs mount")))
}

/// Write the record into the state directory `state_dir` (`O_EXCL`: one per container), then
/// its link in the state root.
pub fn record(state_dir: BorrowedFd<'_>, state_dir_path: &str, rm: &RootMount) -> Result<()> {
    let body = serde_json::to_vec(rm).map_err(|e| Error::new(Code::Protocol, format!("encode {RECORD}: {e}")))?;
    let name = std::ffi::CString::new(RECORD).map_err(|_| Error::new(Code::Syscall, RECORD))?;
    let mut f = std::fs::File::from(crate::container::sys::create_new(state_dir, &name, 0o600, Code::Syscall, RECORD)?);
    std::io::Write::write_all(&mut f, &body).map_err(|e| Error::io(Code::Syscall, "write", Some(RECORD), &e))?;
    let (root, id) = split(state_dir_path)?;
    link_owner(root, rm.mnt_id, id)
}

/// Point `<root>/.root-mount-<mnt_id>` at `id`, replacing a stale link atomically (a state root
/// kept across a reboot may hold one: mount ids start again at boot).
fn link_owner(root: &str, mnt_id: u64, id: &str) -> Result<()> {
    let link = index_link(root, mnt_id);
    match std::os::unix::fs::symlink(id, &link) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let tmp = format!("{link}.{}", std::process::id());
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(id, &tmp).map_err(|e| Error::io(Code::Syscall, "symlink", Some(&tmp), &e))?;
            std::fs::rename(&tmp, &link).map_err(|e| Error::io(Code::Syscall, "rename", Some(&link), &e))
        }
        other => other.map_err(|e| Error::io(Code::Syscall, "symlink", Some(&link), &e)),
    }
}

/// Whether `name` can be a container id (as the state store's: a letter or digit first, then
/// `[A-Za-z0-9_.+-]`), so a link never leads out of the state root.
fn is_id(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 1024
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
}

/// The state root and the id of a state directory `<root>/<id>`.
fn split(state_dir: &str) -> Result<(&str, &str)> {
    state_dir
        .rsplit_once('/')
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| Error::new(Code::Syscall, format!("{state_dir}: not a state directory")))
}

/// `<root>/.root-mount-<mount id>`.
fn index_link(root: &str, mnt_id: u64) -> String {
    format!("{root}/.root-mount-{mnt_id}")
}

/// The record in `<root>/<id>`, if it is there and readable.
fn read_record(state_dir: &str) -> Option<RootMount> {
    serde_json::from_slice(&std::fs::read(format!("{state_dir}/{RECORD}")).ok()?).ok()
}

/// Release the mount recorded in `<state_dir>/root-mount`, then remove the record. Nothing to
/// do without a record (a container with its own mount namespace).
pub fn release_recorded(state_dir: &str) -> Result<()> {
    let file = format!("{state_dir}/{RECORD}");
    let text = match std::fs::read(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(Code::Syscall, "read", Some(&file), &e)),
    };
    let rm: RootMount = serde_json::from_slice(&text).map_err(|e| {
        let mut err = Error::new(Code::Mount, format!("{file}: not a root-mount record: {e}"));
        err.path = Some(file.clone());
        err
    })?;
    release(&rm.path, rm.mnt_id)?;
    if let Ok((root, _)) = split(state_dir) {
        let _ = std::fs::remove_file(index_link(root, rm.mnt_id));
    }
    match std::fs::remove_file(&file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(Code::Syscall, "unlink", Some(&file), &e)),
        _ => Ok(()),
    }
}

/// The id of the container (a sibling of `state_dir`) whose recorded rootfs bind `root_path`
/// is, if any. A container created on such a path would copy that container's `/proc`,
/// `/dev` and volume binds into its own root (and `delete` of either would detach the
/// other's): the caller refuses it. Only a mount root can be one; a kernel without unique
/// mount ids (< 6.8) has no records to match. One lookup of the root's index link.
pub fn rootfs_owner(state_dir: &str, root_path: &str) -> Option<String> {
    let fd = open_path(root_path).ok()?;
    let st = crate::container::sys::statx(fd.as_fd(), STATX_MNT_ID_UNIQUE).ok()?;
    if st.stx_mask & STATX_MNT_ID_UNIQUE == 0 || st.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 == 0 {
        return None;
    }
    let (root, own) = split(state_dir).ok()?;
    let link = index_link(root, st.stx_mnt_id);
    let owner = std::fs::read_link(&link).ok()?.to_str()?.to_owned();
    let valid = is_id(&owner) && owner != own && read_record(&format!("{root}/{owner}")).is_some_and(|rm| rm.mnt_id == st.stx_mnt_id);
    if !valid {
        if owner != own {
            let _ = std::fs::remove_file(&link); // stale: its owner is gone or holds another mount
        }
        return None;
    }
    Some(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statmount_layout_matches_statx() {
        // The root mount's parent is itself; statx and statmount must agree on its id.
        let fd = open_path("/").unwrap();
        let id = mount_id(fd.as_fd(), "/").unwrap();
        assert!(parent_of(id).unwrap().is_some());
        assert_eq!(parent_of(u64::MAX).unwrap(), None);
    }

    #[test]
    fn rootfs_owner_follows_the_index_link_and_drops_a_stale_one() {
        let root = std::env::temp_dir().join(format!("lxts-hostmount-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("a")).unwrap();
        let root_s = root.to_str().unwrap();
        // "/" is a mount root: stands in for a container's rootfs bind (nothing is mounted).
        let id = mount_id(open_path("/").unwrap().as_fd(), "/").unwrap();
        let dir_a = format!("{root_s}/a");
        let a = open_path(&dir_a).unwrap();
        record(a.as_fd(), &dir_a, &RootMount { path: "/".into(), mnt_id: id }).unwrap();
        assert_eq!(std::fs::read_link(index_link(root_s, id)).unwrap().to_str(), Some("a"));
        assert_eq!(rootfs_owner(&format!("{root_s}/b"), "/").as_deref(), Some("a"));
        assert_eq!(rootfs_owner(&dir_a, "/"), None, "its own link is not another owner");
        // The owner's record now names another mount: the link is stale and goes.
        std::fs::write(root.join("a").join(RECORD), serde_json::to_vec(&RootMount { path: "/".into(), mnt_id: id + 1 }).unwrap()).unwrap();
        assert_eq!(rootfs_owner(&format!("{root_s}/b"), "/"), None);
        assert!(std::fs::symlink_metadata(index_link(root_s, id)).is_err(), "the stale link was removed");
        // A stale link with the name a new record needs (a state root kept across a reboot) is replaced.
        std::os::unix::fs::symlink("gone", index_link(root_s, id)).unwrap();
        std::fs::remove_file(root.join("a").join(RECORD)).unwrap();
        record(a.as_fd(), &dir_a, &RootMount { path: "/".into(), mnt_id: id }).unwrap();
        assert_eq!(std::fs::read_link(index_link(root_s, id)).unwrap().to_str(), Some("a"));
        // A link that names no container id is never followed.
        std::fs::remove_file(index_link(root_s, id)).unwrap();
        std::os::unix::fs::symlink("..", index_link(root_s, id)).unwrap();
        assert_eq!(rootfs_owner(&format!("{root_s}/b"), "/"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn release_of_a_gone_mount_is_a_no_op() {
        assert!(release("/nonexistent-lxts", u64::MAX).is_ok());
    }

    #[test]
    fn record_round_trips() {
        let rm = RootMount { path: "/b/rootfs".into(), mnt_id: 1 << 33 };
        let text = serde_json::to_string(&rm).unwrap();
        assert_eq!(text, r#"{"path":"/b/rootfs","mntId":8589934592}"#);
        assert_eq!(serde_json::from_str::<RootMount>(&text).unwrap(), rm);
    }
}
