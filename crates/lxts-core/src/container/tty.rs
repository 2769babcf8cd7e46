//! `process.terminal`: a pty from the container's own devpts, made the process's
//! controlling terminal and stdio, its master sent to the console socket.
//!
//! The master is opened as `<root>/dev/pts/ptmx`, resolved in the root refusing every
//! symlink, and checked to be the devpts `ptmx` node (5:2 on a devpts mount): a
//! rootfs cannot hand us some other file (CVE-2025-52565). The slave comes from
//! `TIOCGPTPEER` on that master, never from a path, so no symlink swap can redirect it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::rootfs::resolve;
use super::sys::{self, fd_path, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS};
use crate::{Code, Error, Result};

/// `DEVPTS_SUPER_MAGIC` from `<linux/magic.h>`.
const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
/// `TTYAUX_MAJOR` / minor 2: `ptmx`.
const PTMX_MAJOR: u32 = 5;
const PTMX_MINOR: u32 = 2;
/// `UNIX98_PTY_SLAVE_MAJOR`: slaves use majors 136..=143.
const PTS_MAJOR_FIRST: u32 = 136;
const PTS_MAJOR_LAST: u32 = 143;
/// `TIOCGPTPEER` (`_IO('T', 0x41)`), not in every libc.
const TIOCGPTPEER: libc::c_ulong = 0x5441;
/// What runc puts in the one iov next to the fd (the master's file name).
pub const MASTER_NAME: &str = "/dev/pts/ptmx";

const NO_LINKS: u64 = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;

/// Connect to the console socket (a host path). Done by the helper before it joins
/// or creates any namespace, so the path is the caller's.
pub fn connect(path: &str) -> Result<OwnedFd> {
    let field = "--console-socket";
    let (addr, len) = super::console::sockaddr(path, field)?;
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    let fd = sys::owned(sys::cvt(fd, Code::Syscall, "socket", Some(path))?);
    loop {
        // SAFETY: `addr` is a valid sockaddr_un of at least `len` bytes.
        let ret = unsafe { libc::connect(fd.as_raw_fd(), (&addr as *const libc::sockaddr_un).cast(), len) };
        if ret == 0 {
            return Ok(fd);
        }
        if Errno::last() != Errno::EINTR {
            return Err(Error::sys(Code::Syscall, "connect", Some(path), Errno::last()).context(field));
        }
    }
}

fn unsafe_tty(what: &str, why: &str) -> Error {
    let mut e = Error::new(Code::UnsafePath, format!("process.terminal: {what} {why}"));
    e.path = Some(what.to_owned());
    e
}

/// Check that `fd` is a character device on a devpts mount with a major in `majors`.
fn check_devpts(fd: BorrowedFd<'_>, what: &str, ok: impl Fn(u32, u32) -> bool) -> Result<()> {
    if sys::fs_magic(fd, Code::UnsafePath, what)? != DEVPTS_SUPER_MAGIC {
        return Err(unsafe_tty(what, "is not on a devpts mount (mount devpts at /dev/pts)"));
    }
    let st = sys::fstat(fd, what)?;
    let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || !ok(major, minor) {
        return Err(unsafe_tty(what, &format!("is not the expected pty device (it is {major}:{minor})")));
    }
    Ok(())
}

/// A fresh pty of the devpts reachable from `root` (the rootfs before pivot, or
/// `/` after): `(master, slave)`, the slave owned by `uid` when given.
pub fn open_pty(root: BorrowedFd<'_>, uid: Option<u32>) -> Result<(OwnedFd, OwnedFd)> {
    let path = "/dev/pts/ptmx";
    let master = sys::openat2(root, &resolve::relative(path), libc::O_RDWR | libc::O_NOCTTY, 0, NO_LINKS)
        .map_err(|e| Error::sys(Code::UnsafePath, "openat2", Some(path), e).context("process.terminal"))?;
    check_devpts(master.as_fd(), path, |ma, mi| ma == PTMX_MAJOR && mi == PTMX_MINOR)?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from a valid pointer.
    sys::cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) }, Code::Process, "ioctl", Some("TIOCSPTLCK"))?;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new fd.
    let slave = unsafe { libc::ioctl(master.as_raw_fd(), TIOCGPTPEER as _, libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    let slave = sys::owned(sys::cvt(slave, Code::Process, "ioctl", Some("TIOCGPTPEER"))?);
    check_devpts(slave.as_fd(), "pty slave", |ma, _| (PTS_MAJOR_FIRST..=PTS_MAJOR_LAST).contains(&ma))?;
    if let Some(uid) = uid {
        // SAFETY: fchown on an fd we own; gid -1 keeps devpts's group.
        sys::cvt(unsafe { libc::fchown(slave.as_raw_fd(), uid, u32::MAX) }, Code::Process, "fchown", Some("pty slave"))?;
    }
    Ok((master, slave))
}

/// Bind the slave onto `<root>/dev/console`. `/dev` is opened refusing symlinks, any
/// entry already named `console` is removed (never followed), a fresh empty file is
/// made and the slave is mounted onto it through both fds.
pub fn bind_console(root: BorrowedFd<'_>, slave: BorrowedFd<'_>) -> Result<()> {
    let dev = sys::openat2(root, "dev", libc::O_PATH | libc::O_DIRECTORY, 0, NO_LINKS)
        .map_err(|e| Error::sys(Code::UnsafePath, "openat2", Some("/dev"), e).context("/dev must be a directory, not a symlink"))?;
    let name = sys::cstr("console")?;
    // SAFETY: `dev` is an open directory and `name` a valid C string; unlinkat never follows.
    let ret = unsafe { libc::unlinkat(dev.as_raw_fd(), name.as_ptr(), 0) };
    if ret < 0 && !matches!(Errno::last(), Errno::ENOENT) {
        return Err(Error::sys(Code::UnsafePath, "unlinkat", Some("/dev/console"), Errno::last()));
    }
    // A new regular file only (O_CREAT|O_EXCL|O_NOFOLLOW), the bind mount's target.
    drop(sys::create_new(dev.as_fd(), &name, 0o600, Code::UnsafePath, "/dev/console")?);
    let target = sys::openat2(dev.as_fd(), "console", libc::O_PATH | libc::O_NOFOLLOW, 0, NO_LINKS)
        .map_err(|e| Error::sys(Code::UnsafePath, "openat2", Some("/dev/console"), e))?;
    sys::mount(Some(&fd_path(slave)), &fd_path(target.as_fd()), None, libc::MS_BIND, None, "/dev/console")
        .map_err(|e| e.context("process.terminal"))
}

/// `sendmsg` the master with `SCM_RIGHTS`, the iov holding [`MASTER_NAME`] (as runc).
pub fn send_master(socket: BorrowedFd<'_>, master: BorrowedFd<'_>) -> Result<()> {
    super::console::send_fd(socket, master, MASTER_NAME.as_bytes(), "console socket").map_err(|e| e.context("--console-socket"))
}

/// Make `slave` the controlling terminal of a new session and the stdio 0, 1, 2.
pub fn make_stdio(slave: OwnedFd) -> Result<()> {
    // SAFETY: setsid has no arguments; the init is not a group leader after clone.
    if unsafe { libc::setsid() } < 0 && Errno::last() != Errno::EPERM {
        return Err(Error::sys(Code::Process, "setsid", None, Errno::last()));
    }
    // SAFETY: TIOCSCTTY with 0 (do not steal) on an open tty fd.
    sys::cvt(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) }, Code::Process, "ioctl", Some("TIOCSCTTY"))?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the stdio numbers; the new fds are not close-on-exec.
        sys::cvt(unsafe { libc::dup2(slave.as_raw_fd(), fd) }, Code::Process, "dup2", Some("pty slave"))?;
    }
    Ok(())
}

/// The whole init-side set-up before `pivot_root`: pty from the container's devpts,
/// `/dev/console`, master to the console socket, slave as stdio. The master never
/// stays in the container; the socket is close-on-exec.
pub fn setup_console(root: BorrowedFd<'_>, socket: BorrowedFd<'_>, uid: u32) -> Result<()> {
    let (master, slave) = open_pty(root, Some(uid))?;
    bind_console(root, slave.as_fd())?;
    send_master(socket, master.as_fd())?;
    drop(master);
    // Nothing more goes over it: the receiver sees EOF once the init execs.
    // SAFETY: shutdown on a connected socket we hold.
    unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_RDWR) };
    make_stdio(slave)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_socket_path_is_checked() {
        let long = format!("/{}", "x".repeat(200));
        assert_eq!(connect(&long).unwrap_err().code, Code::InvalidConfig);
        let e = connect("/nonexistent/lxts-console.sock").unwrap_err();
        assert_eq!(e.errno, Some(libc::ENOENT));
        assert!(e.message.contains("--console-socket"), "{}", e.message);
    }

    #[test]
    fn host_devpts_gives_a_checked_pty() {
        let root = sys::open("/", libc::O_PATH | libc::O_DIRECTORY, Code::Mount).unwrap();
        let (master, slave) = open_pty(root.as_fd(), None).unwrap();
        let ws = libc::winsize { ws_row: 7, ws_col: 33, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCSWINSZ/TIOCGWINSZ with valid winsize pointers.
        unsafe { assert_eq!(libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws), 0) };
        let mut got = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
        unsafe { assert_eq!(libc::ioctl(slave.as_raw_fd(), libc::TIOCGWINSZ, &mut got), 0) };
        assert_eq!((got.ws_row, got.ws_col), (7, 33));
    }

    #[test]
    fn a_planted_ptmx_symlink_is_refused() {
        let d = std::env::temp_dir().join(format!("lxts-tty-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("dev/pts")).unwrap();
        std::os::unix::fs::symlink("/dev/pts/ptmx", d.join("dev/pts/ptmx")).unwrap();
        let root = sys::open(d.to_str().unwrap(), libc::O_PATH | libc::O_DIRECTORY, Code::Mount).unwrap();
        assert_eq!(open_pty(root.as_fd(), None).unwrap_err().code, Code::UnsafePath);
        // A regular file posing as ptmx is refused by the devpts check.
        std::fs::remove_file(d.join("dev/pts/ptmx")).unwrap();
        std::fs::write(d.join("dev/pts/ptmx"), b"").unwrap();
        assert_eq!(open_pty(root.as_fd(), None).unwrap_err().code, Code::UnsafePath);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
