//! Resolution of container paths inside the rootfs, always through a rootfs dirfd
//! with `openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)`: a symlink (even one to
//! `/` or `../..`) can never lead outside the root. Missing directories and files
//! are created one component at a time, each relative to an fd resolved in-root.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use crate::container::sys::{self, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};
use crate::{Code, Error, Result};

const IN_ROOT: u64 = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

/// Lexically clean a container path into its components (`..` clamps at `/`).
pub fn components(path: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The relative form of a cleaned path (`"."` for the root itself).
pub fn relative(path: &str) -> String {
    let c = components(path);
    if c.is_empty() {
        ".".to_owned()
    } else {
        c.join("/")
    }
}

/// The cleaned absolute form of a container path (for messages and comparisons).
pub fn absolute(path: &str) -> String {
    format!("/{}", components(path).join("/"))
}

fn unsafe_path(path: &str, errno: Errno, syscall: &'static str) -> Error {
    Error::sys(Code::UnsafePath, syscall, Some(path), errno)
}

/// Open `path` (a container path) in the root with extra `flags`, e.g. `O_PATH`.
pub fn open_in_root(root: BorrowedFd<'_>, path: &str, flags: i32) -> std::result::Result<OwnedFd, Errno> {
    sys::openat2(root, &relative(path), flags, 0, IN_ROOT)
}

/// Like [`open_in_root`] but any error names the path.
pub fn open_existing(root: BorrowedFd<'_>, path: &str, flags: i32) -> Result<OwnedFd> {
    open_in_root(root, path, flags).map_err(|e| unsafe_path(path, e, "openat2"))
}

/// Ensure every directory of `path` exists inside the root; return an `O_PATH`
/// fd of the last one. The longest existing prefix is found first (most destinations
/// exist: one lookup); each missing component below it is created with `mkdirat` in its
/// in-root-resolved parent, then re-resolved (a racing symlink stays inside).
pub fn mkdir_all(root: BorrowedFd<'_>, path: &str, mode: u32) -> Result<OwnedFd> {
    let comps = components(path);
    // The first `n` components: relative for openat2, absolute for messages.
    let open = |n: usize| {
        let rel = if n == 0 { ".".to_owned() } else { comps[..n].join("/") };
        sys::openat2(root, &rel, libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT)
    };
    let shown = |n: usize| format!("/{}", comps[..n].join("/"));
    let mut have = comps.len();
    let mut parent = loop {
        match open(have) {
            Ok(fd) => break fd,
            Err(Errno::ENOENT) if have > 0 => have -= 1,
            Err(e) => return Err(unsafe_path(&shown(have), e, "openat2")),
        }
    };
    for (i, comp) in comps.iter().enumerate().skip(have) {
        let name = sys::cstr(comp)?;
        // SAFETY: `parent` is an open directory fd and `name` a valid C string.
        let ret = unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), mode) };
        if ret < 0 && Errno::last() != Errno::EEXIST {
            return Err(unsafe_path(&shown(i + 1), Errno::last(), "mkdirat"));
        }
        parent = open(i + 1).map_err(|e| unsafe_path(&shown(i + 1), e, "openat2"))?;
    }
    Ok(parent)
}

/// Ensure `path` exists as a regular file (parents created), return an `O_PATH` fd.
/// An existing entry of any type is returned as is (the caller checks its type).
pub fn mkfile(root: BorrowedFd<'_>, path: &str, mode: u32) -> Result<OwnedFd> {
    if let Ok(fd) = open_in_root(root, path, libc::O_PATH) {
        return Ok(fd);
    }
    let comps = components(path);
    let Some((last, dirs)) = comps.split_last() else {
        return Err(Error::new(Code::UnsafePath, "cannot create a file at /"));
    };
    let parent = mkdir_all(root, &dirs.join("/"), 0o755)?;
    let name = sys::cstr(last)?;
    // SAFETY: `parent` is an open directory fd and `name` a valid C string; O_NOFOLLOW
    // refuses a symlink planted at the last component.
    let fd = unsafe {
        libc::openat(
            parent.as_raw_fd(),
            name.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_WRONLY | libc::O_CLOEXEC,
            mode,
        )
    };
    if fd < 0 && Errno::last() != Errno::EEXIST {
        return Err(unsafe_path(path, Errno::last(), "openat"));
    }
    if fd >= 0 {
        drop(sys::owned(fd));
    }
    open_existing(root, path, libc::O_PATH)
}

/// `true` when the fd is a directory.
pub fn is_dir(fd: impl AsFd, what: &str) -> Result<bool> {
    Ok(sys::fstat(fd.as_fd(), what)?.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("lxts-resolve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("root")).unwrap();
        d
    }

    #[test]
    fn components_clamp_dotdot() {
        assert_eq!(components("/a/./b/../../../c"), vec!["c"]);
        assert_eq!(relative("/"), ".");
        assert_eq!(relative("//proc//self/"), "proc/self");
    }

    #[test]
    fn hostile_symlinks_stay_inside() {
        let d = tempdir("hostile");
        let root_path = d.join("root");
        // An absolute symlink to / and a relative one climbing out.
        symlink("/", root_path.join("abs")).unwrap();
        symlink("../../../../..", root_path.join("rel")).unwrap();
        let root = sys::open(root_path.to_str().unwrap(), libc::O_PATH | libc::O_DIRECTORY, Code::Mount).unwrap();

        let made = mkdir_all(root.as_fd(), "/abs/etc/lxts-made", 0o755).unwrap();
        assert!(is_dir(&made, "made").unwrap());
        assert!(root_path.join("etc/lxts-made").is_dir(), "created inside the root");
        assert!(!std::path::Path::new("/etc/lxts-made").exists(), "nothing created on the host");

        mkdir_all(root.as_fd(), "/rel/tmp/x", 0o755).unwrap();
        assert!(root_path.join("tmp/x").is_dir());

        let f = mkfile(root.as_fd(), "/abs/file", 0o644).unwrap();
        assert!(!is_dir(&f, "file").unwrap());
        assert!(root_path.join("file").is_file());

        // A symlink at the last component pointing outside resolves inside.
        symlink("/etc/passwd", root_path.join("pw")).unwrap();
        assert_eq!(open_in_root(root.as_fd(), "/pw", libc::O_PATH).unwrap_err(), Errno::ENOENT);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn magic_links_are_refused() {
        let d = tempdir("magic");
        let root_path = d.join("root");
        symlink("/proc/self/root", root_path.join("m")).unwrap();
        std::fs::create_dir_all(root_path.join("proc/self")).unwrap();
        let root = sys::open(root_path.to_str().unwrap(), libc::O_PATH | libc::O_DIRECTORY, Code::Mount).unwrap();
        // Inside the root `/proc/self/root` is just a missing path, not the host's magic link.
        assert!(open_in_root(root.as_fd(), "/m/etc", libc::O_PATH).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
