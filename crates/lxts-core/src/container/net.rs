//! Bring the loopback interface up in a new network namespace.

use std::os::fd::AsRawFd;

use super::sys;
use crate::{Code, Result};

pub fn loopback_up() -> Result<()> {
    // SAFETY: socket with constant arguments.
    let fd = sys::owned(sys::cvt(
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) },
        Code::Syscall,
        "socket",
        None,
    )?);
    // SAFETY: an all-zero ifreq is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in b"lo\0".iter().enumerate() {
        req.ifr_name[i] = *b as libc::c_char;
    }
    // SAFETY: `req` is a valid ifreq naming "lo".
    sys::cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) }, Code::Syscall, "ioctl", Some("SIOCGIFFLAGS lo"))?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short };
    // SAFETY: `req` is a valid ifreq with the new flags.
    sys::cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) }, Code::Syscall, "ioctl", Some("SIOCSIFFLAGS lo"))
        .map(|_| ())
}
