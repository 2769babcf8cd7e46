//! The receiving end of a console socket, for lxts-owned terminals (`run -t`, the
//! library's `terminal: true`): listen on a unix socket, accept the init's
//! connection, receive the pty master with `SCM_RIGHTS`; window size of a tty fd. Also the
//! sending end of `SCM_RIGHTS` the init and exec'd processes use ([`send_fd`]).
//! Used by the napi binding from a libuv pool thread; no namespaces involved.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;

use super::sys;
use crate::{Code, Error, Result};

/// How long one `poll` slice lasts while waiting (the deadline is checked between slices).
const SLICE_MS: i32 = 100;

/// The `sockaddr_un` for `path` and its length; `field` names the option in the error.
pub(crate) fn sockaddr(path: &str, field: &str) -> Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: an all-zero sockaddr_un is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let b = path.as_bytes();
    if b.is_empty() || b.len() >= addr.sun_path.len() || b.contains(&0) {
        return Err(Error::new(
            Code::InvalidConfig,
            format!("{field} {path:?}: not a usable unix socket path (at most {} bytes)", addr.sun_path.len() - 1),
        ));
    }
    for (d, s) in addr.sun_path.iter_mut().zip(b) {
        *d = *s as libc::c_char;
    }
    Ok((addr, (std::mem::size_of::<libc::sa_family_t>() + b.len() + 1) as libc::socklen_t))
}

/// `socket` + `bind` + `listen` on `path` (which must not exist), close-on-exec, mode 0600.
pub fn listen(path: &str) -> Result<OwnedFd> {
    let (addr, len) = sockaddr(path, "console socket")?;
    // SAFETY: plain socket(2).
    let fd = sys::owned(sys::cvt(
        unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) },
        Code::Syscall,
        "socket",
        Some(path),
    )?);
    // SAFETY: fchmod on a fresh socket sets the mode its bind will create the node with.
    unsafe { libc::fchmod(fd.as_raw_fd(), 0o600) };
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes.
    sys::cvt(unsafe { libc::bind(fd.as_raw_fd(), (&addr as *const libc::sockaddr_un).cast(), len) }, Code::Syscall, "bind", Some(path))?;
    // SAFETY: listen on a bound socket.
    sys::cvt(unsafe { libc::listen(fd.as_raw_fd(), 1) }, Code::Syscall, "listen", Some(path))?;
    Ok(fd)
}

/// Wake a thread blocked in [`receive_master`] on `listener`: it fails with "cancelled".
pub fn cancel(listener: BorrowedFd<'_>) {
    // SAFETY: shutdown of a socket; a listening unix socket then polls as hung up.
    unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
}

/// Poll `fd` for input until `deadline`; `Ok(false)` on timeout.
fn wait_readable(fd: RawFd, deadline: std::time::Instant, what: &str) -> Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let ms = (left.as_millis() as i32).clamp(1, SLICE_MS);
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n < 0 && Errno::last() != Errno::EINTR {
            return Err(Error::sys(Code::Syscall, "poll", Some(what), Errno::last()));
        }
        if n > 0 {
            if p.revents & (libc::POLLHUP | libc::POLLNVAL) != 0 && p.revents & libc::POLLIN == 0 {
                return Err(Error::new(Code::Protocol, format!("{what}: cancelled")));
            }
            return Ok(true);
        }
    }
}

/// Accept one connection on `listener` and receive one fd from it (close-on-exec).
/// Fails after `timeout_ms`, or when [`cancel`]led, or when the peer sends no fd.
pub fn receive_master(listener: BorrowedFd<'_>, timeout_ms: u32) -> Result<OwnedFd> {
    let what = "console socket";
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(u64::from(timeout_ms));
    if !wait_readable(listener.as_raw_fd(), deadline, what)? {
        return Err(Error::new(Code::Protocol, format!("{what}: no connection within {timeout_ms} ms")));
    }
    // SAFETY: accept4 on a listening socket; addresses are not wanted.
    let conn = unsafe { libc::accept4(listener.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
    let conn = sys::owned(sys::cvt(conn, Code::Protocol, "accept4", Some(what))?);
    if !wait_readable(conn.as_raw_fd(), deadline, what)? {
        return Err(Error::new(Code::Protocol, format!("{what}: no pty master within {timeout_ms} ms")));
    }
    recv_fd(conn.as_raw_fd(), what)
}

/// One `recvmsg` expecting an `SCM_RIGHTS` fd (the iov text, a file name, is ignored).
pub fn recv_fd(sock: RawFd, what: &str) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE((std::mem::size_of::<libc::c_int>() * 4) as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: an all-zero msghdr is valid; pointers set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    let n = loop {
        // SAFETY: `msg` points at live buffers.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 || Errno::last() != Errno::EINTR {
            break n;
        }
    };
    if n < 0 {
        return Err(Error::sys(Code::Protocol, "recvmsg", Some(what), Errno::last()));
    }
    let mut got: Vec<OwnedFd> = Vec::new();
    // SAFETY: walking the control buffer the kernel filled, with the libc macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<libc::c_int>();
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<libc::c_int>();
                for i in 0..count {
                    got.push(sys::owned(std::ptr::read_unaligned(data.add(i))));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if got.len() != 1 {
        return Err(Error::new(Code::Protocol, format!("{what}: expected one fd, got {} ({n} bytes of data)", got.len())));
    }
    Ok(got.remove(0))
}

/// `sendmsg` with `fd` in `SCM_RIGHTS` and `data` as the payload: the console socket's pty
/// master, the seccomp agent's notify fd. No allocation (after a seccomp filter is loaded it
/// may notify `mmap`/`brk`). A short write is finished with plain `sendmsg`s, the fd only in
/// the first (runtime-spec). `what` names the socket in the error.
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>, data: &[u8], what: &str) -> Result<()> {
    // CMSG_SPACE(sizeof(int)) is 24 on 64-bit Linux; 32 bytes leave room on any ABI.
    let mut cbuf = [0u64; 4];
    let mut sent = 0;
    while sent < data.len() {
        let rest = &data[sent..];
        let mut iov = libc::iovec { iov_base: rest.as_ptr() as *mut libc::c_void, iov_len: rest.len() };
        // SAFETY: an all-zero msghdr is valid; pointers are set below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if sent == 0 {
            // SAFETY: CMSG_SPACE/CMSG_LEN are pure size computations; `cbuf` holds one
            // cmsg with one int (checked against its size), written through CMSG_* pointers.
            unsafe {
                let space = libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) as usize;
                if space > std::mem::size_of_val(&cbuf) {
                    return Err(Error::new(Code::Syscall, "sendmsg: control buffer too small"));
                }
                msg.msg_control = cbuf.as_mut_ptr().cast();
                msg.msg_controllen = space as _;
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>(), fd.as_raw_fd());
            }
        }
        // SAFETY: `msg` and everything it points to live across the call.
        let n = unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Error::sys(Code::Syscall, "sendmsg", Some(what), Errno::last()));
        }
        sent += n as usize;
    }
    Ok(())
}

/// `TIOCGWINSZ`: (cols, rows), or `None` when `fd` is not a terminal.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (ret == 0).then_some((ws.ws_col, ws.ws_row))
}

/// `TIOCSWINSZ` on a tty fd (the pty master: the kernel sends SIGWINCH to the slave's foreground group).
pub fn set_window_size(fd: BorrowedFd<'_>, cols: u16, rows: u16) -> Result<()> {
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one winsize.
    sys::cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) }, Code::Syscall, "ioctl", Some("TIOCSWINSZ")).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::tty;
    use std::os::fd::AsFd;

    #[test]
    fn master_crosses_the_socket_and_sizes_apply() {
        let path = std::env::temp_dir().join(format!("lxts-console-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let p = path.to_str().unwrap().to_owned();
        let l = listen(&p).unwrap();
        let sender = std::thread::spawn(move || {
            let s = tty::connect(&p).unwrap();
            let root = sys::open("/", libc::O_PATH | libc::O_DIRECTORY, Code::Mount).unwrap();
            let (m, slave) = tty::open_pty(root.as_fd(), None).unwrap();
            tty::send_master(s.as_fd(), m.as_fd()).unwrap();
            slave
        });
        let master = receive_master(l.as_fd(), 5000).unwrap();
        let slave = sender.join().unwrap();
        set_window_size(master.as_fd(), 101, 42).unwrap();
        assert_eq!(window_size(slave.as_fd()), Some((101, 42)));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn cancel_and_timeout_end_the_wait() {
        let path = std::env::temp_dir().join(format!("lxts-console-c-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let l = listen(path.to_str().unwrap()).unwrap();
        assert!(receive_master(l.as_fd(), 50).unwrap_err().message.contains("no connection"));
        cancel(l.as_fd());
        let t = std::time::Instant::now();
        assert!(receive_master(l.as_fd(), 10_000).is_err());
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        std::fs::remove_file(&path).unwrap();
    }
}
