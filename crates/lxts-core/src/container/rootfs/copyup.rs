//! `tmpcopyup` (a runc/crun mount option podman puts on every tmpfs it adds: `/run`,
//! `/tmp` and `/var/tmp` with `--read-only`, each `--tmpfs`): the new tmpfs starts with a
//! copy of what the rootfs had at its destination.
//!
//! The rootfs is hostile: the copy walks only through directory fds opened with
//! `O_NOFOLLOW` relative to the covered directory, never follows a symlink (it is copied as
//! a symlink), and skips everything that is not a directory, regular file or symlink.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::dir::Dir;
use nix::fcntl::{openat, readlinkat, OFlag};
use nix::sys::stat::{fchmod, fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};

use crate::{Code, Error, Result};

/// Deepest directory level copied; deeper trees are an error rather than a stack overflow.
const MAX_DEPTH: usize = 64;

fn err(dest: &str, syscall: &'static str, e: nix::errno::Errno) -> Error {
    Error::sys(Code::Mount, syscall, Some(dest), e).context(format!("tmpcopyup {dest}"))
}

/// Open the directory about to be covered by the tmpfs, for reading once it is covered.
pub fn open_covered(target: BorrowedFd<'_>, dest: &str) -> Result<OwnedFd> {
    openat(target, ".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| err(dest, "openat", e))
}

/// Copy the covered directory's content, owner and mode into the freshly mounted tmpfs root.
pub fn copy_up(covered: OwnedFd, mounted: BorrowedFd<'_>, dest: &str) -> Result<()> {
    let top =
        openat(mounted, ".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| err(dest, "openat", e))?;
    let st = nix::sys::stat::fstat(covered.as_fd()).map_err(|e| err(dest, "fstat", e))?;
    fchown(top.as_fd(), Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid))).map_err(|e| err(dest, "fchown", e))?;
    fchmod(top.as_fd(), Mode::from_bits_truncate(st.st_mode & 0o7777)).map_err(|e| err(dest, "fchmod", e))?;
    copy_dir(covered, top, dest, 0)
}

fn copy_dir(src: OwnedFd, dst: OwnedFd, dest: &str, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::new(Code::Mount, format!("tmpcopyup {dest}: more than {MAX_DEPTH} directory levels")));
    }
    let list = openat(src.as_fd(), ".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| err(dest, "openat", e))?;
    let mut dir = Dir::from_fd(list).map_err(|e| err(dest, "fdopendir", e))?;
    let names: Vec<Vec<u8>> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_bytes().to_vec())
        .filter(|n| n.as_slice() != b"." && n.as_slice() != b"..")
        .collect();
    for name in names {
        let name = OsStr::from_bytes(&name);
        copy_entry(src.as_fd(), dst.as_fd(), name, dest, depth)?;
    }
    Ok(())
}

fn copy_entry(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, name: &OsStr, dest: &str, depth: usize) -> Result<()> {
    let st = fstatat(src, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| err(dest, "fstatat", e))?;
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let (uid, gid) = (Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)));
    let nofollow = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT) {
        SFlag::S_IFDIR => {
            mkdirat(dst, name, Mode::from_bits_truncate(0o700)).map_err(|e| err(dest, "mkdirat", e))?;
            let d =
                openat(dst, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow, Mode::empty()).map_err(|e| err(dest, "openat", e))?;
            fchown(d.as_fd(), uid, gid).map_err(|e| err(dest, "fchown", e))?;
            fchmod(d.as_fd(), mode).map_err(|e| err(dest, "fchmod", e))?;
            let s =
                openat(src, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow, Mode::empty()).map_err(|e| err(dest, "openat", e))?;
            copy_dir(s, d, dest, depth + 1)
        }
        SFlag::S_IFREG => {
            let s = openat(src, name, OFlag::O_RDONLY | nofollow, Mode::empty()).map_err(|e| err(dest, "openat", e))?;
            let d = openat(dst, name, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | nofollow, Mode::from_bits_truncate(0o600))
                .map_err(|e| err(dest, "openat", e))?;
            let (mut s, mut d) = (std::fs::File::from(s), std::fs::File::from(d));
            std::io::copy(&mut s, &mut d)
                .map_err(|e| err(dest, "copy_file_range", nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))?;
            fchown(d.as_fd(), uid, gid).map_err(|e| err(dest, "fchown", e))?;
            fchmod(d.as_fd(), mode).map_err(|e| err(dest, "fchmod", e))
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name).map_err(|e| err(dest, "readlinkat", e))?;
            symlinkat(target.as_os_str(), dst, name).map_err(|e| err(dest, "symlinkat", e))?;
            fchownat(dst, name, uid, gid, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| err(dest, "fchownat", e))
        }
        // devices, fifos and sockets are not copied (runc copies them; nothing podman relies on)
        _ => Ok(()),
    }
}
