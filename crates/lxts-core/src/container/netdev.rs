//! `linux.netDevices` (runtime-spec 1.3): move existing network devices of the host into the
//! container's new network namespace, renamed as asked, with their permanent global addresses
//! and up. Done by the helper (host root, in the host's network namespace) once the init exists
//! and before `go`, over rtnetlink:
//!
//! 1. the device's permanent addresses of global scope are read (`RTM_GETADDR`), since a move
//!    drops every address;
//! 2. `RTM_NEWLINK` with `IFLA_NET_NS_FD` (the init's `ns/net`) and `IFLA_IFNAME` moves and
//!    renames it (a name ending in `%d` is a template the kernel completes; any other name
//!    taken in the container is refused before the move, which would happen first);
//! 3. in the container's namespace (`setns` there and back: the helper is single-threaded) the
//!    addresses are added and the device set up.
//!
//! Nothing moves it back: when the namespace goes, the kernel returns physical devices to the
//! host and destroys virtual ones (the spec's lifecycle).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::sys;
use crate::{Code, Error, Result};

const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;

/// One address to carry over: family, prefix length, `IFA_LOCAL` (IPv4) and `IFA_ADDRESS`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Addr {
    family: u8,
    prefixlen: u8,
    local: Option<Vec<u8>>,
    address: Option<Vec<u8>>,
}

/// A netlink request under construction: header, fixed part, attributes (4-byte aligned).
struct Msg(Vec<u8>);

impl Msg {
    fn new(kind: u16, flags: u16, fixed: &[u8]) -> Msg {
        let mut b = vec![0u8; 16];
        b[4..6].copy_from_slice(&kind.to_ne_bytes());
        b[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        b[8..12].copy_from_slice(&1u32.to_ne_bytes());
        b.extend_from_slice(fixed);
        Msg(b)
    }

    fn attr(mut self, kind: u16, data: &[u8]) -> Msg {
        let len = 4 + data.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().next_multiple_of(4), 0);
        self
    }

    fn bytes(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[0..4].copy_from_slice(&len.to_ne_bytes());
        self.0
    }
}

fn ifinfomsg(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 16]; // family AF_UNSPEC, type 0
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

fn ifaddrmsg(family: u8, prefixlen: u8, index: u32) -> Vec<u8> {
    let mut b = vec![family, prefixlen, 0, RT_SCOPE_UNIVERSE];
    b.extend_from_slice(&index.to_ne_bytes());
    b
}

/// A `NETLINK_ROUTE` socket in the calling thread's network namespace.
fn socket() -> Result<OwnedFd> {
    // SAFETY: socket with constant arguments; the fd is ours.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    Ok(sys::owned(sys::cvt(fd, Code::Syscall, "socket", Some("NETLINK_ROUTE"))?))
}

fn send(sock: BorrowedFd<'_>, msg: &[u8]) -> Result<()> {
    // SAFETY: `msg` is a valid buffer of its length.
    let n = unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
    sys::cvt(n as libc::c_int, Code::Syscall, "send", Some("rtnetlink")).map(|_| ())
}

/// The messages of one reply (type, payload after the header), until `NLMSG_DONE` or an ack.
fn replies(sock: BorrowedFd<'_>) -> Result<Vec<(u16, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let n = sys::cvt(n as libc::c_int, Code::Syscall, "recv", Some("rtnetlink"))? as usize;
        let mut at = 0;
        while at + 16 <= n {
            let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or_default()) as usize;
            let kind = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().unwrap_or_default());
            if len < 16 || at + len > n {
                return Err(Error::new(Code::Protocol, "rtnetlink: a truncated reply"));
            }
            let payload = buf[at + 16..at + len].to_vec();
            let end = kind == NLMSG_DONE || kind == NLMSG_ERROR;
            out.push((kind, payload));
            if end {
                return Ok(out);
            }
            at += len.next_multiple_of(4);
        }
    }
}

/// Send `msg` and wait for its ack; the kernel's error as an errno.
fn request(sock: BorrowedFd<'_>, msg: Vec<u8>) -> std::result::Result<(), Errno> {
    let io = |_| Errno::EIO;
    send(sock, &msg).map_err(|e| e.errno.map_or(Errno::EIO, Errno::from_raw))?;
    let r = replies(sock).map_err(io)?;
    match r.last() {
        Some((NLMSG_ERROR, p)) if p.len() >= 4 => match i32::from_ne_bytes(p[0..4].try_into().unwrap_or_default()) {
            0 => Ok(()),
            e => Err(Errno::from_raw(-e)),
        },
        _ => Err(Errno::EIO),
    }
}

/// The attributes of a message payload after its fixed part of `fixed` bytes.
fn attrs(payload: &[u8], fixed: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = fixed;
    while at + 4 <= payload.len() {
        let len = u16::from_ne_bytes([payload[at], payload[at + 1]]) as usize;
        let kind = u16::from_ne_bytes([payload[at + 2], payload[at + 3]]) & 0x3fff;
        if len < 4 || at + len > payload.len() {
            break;
        }
        out.push((kind, &payload[at + 4..at + len]));
        at += len.next_multiple_of(4);
    }
    out
}

/// The permanent addresses of global scope of the device `index` (what the spec carries over).
fn permanent_addrs(sock: BorrowedFd<'_>, index: u32) -> Result<Vec<Addr>> {
    send(sock, &Msg::new(RTM_GETADDR, NLM_F_DUMP, &ifaddrmsg(libc::AF_UNSPEC as u8, 0, 0)).bytes())?;
    let mut out = Vec::new();
    for (kind, p) in replies(sock)? {
        if kind != RTM_NEWADDR || p.len() < 8 {
            continue;
        }
        let (family, prefixlen, flags8, scope) = (p[0], p[1], p[2], p[3]);
        let ifindex = u32::from_ne_bytes(p[4..8].try_into().unwrap_or_default());
        if ifindex != index || scope != RT_SCOPE_UNIVERSE {
            continue;
        }
        let a = attrs(&p, 8);
        let flags = a
            .iter()
            .find(|(k, _)| *k == IFA_FLAGS)
            .and_then(|(_, d)| d.get(0..4))
            .map_or(u32::from(flags8), |d| u32::from_ne_bytes(d.try_into().unwrap_or_default()));
        if flags & IFA_F_PERMANENT == 0 {
            continue;
        }
        let get = |k: u16| a.iter().find(|(kk, _)| *kk == k).map(|(_, d)| d.to_vec());
        out.push(Addr { family, prefixlen, local: get(IFA_LOCAL), address: get(IFA_ADDRESS) });
    }
    Ok(out)
}

/// `if_nametoindex` in the calling thread's network namespace.
fn index_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// `if_indextoname` in the calling thread's network namespace.
fn name_of(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    // SAFETY: on success `p` points at the NUL-terminated name in `buf`.
    (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Move the devices of `devices` (host name, name inside or `None`) into the network namespace
/// of the process `pid` (our child, not reaped).
pub fn move_all(devices: &[(String, Option<String>)], pid: i32) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let ns_path = format!("/proc/{pid}/ns/net");
    let theirs = sys::open(&ns_path, libc::O_RDONLY, Code::Namespace)?;
    let own = sys::open("/proc/self/ns/net", libc::O_RDONLY, Code::Namespace)?;
    let host = socket()?;
    for (from, to) in devices {
        let field = format!("linux.netDevices.{from}");
        let to = to.as_deref().filter(|n| !n.is_empty()).unwrap_or(from);
        let index =
            index_of(from).ok_or_else(|| Error::new(Code::InvalidConfig, format!("{field}: no such network device on the host")))?;
        // The kernel moves a device under its own name, then renames it: a name taken in the
        // container must be found first, or the device would be moved (and lost with the
        // namespace) before the rename fails. A `%d` template is the kernel's to complete.
        if !to.contains("%d") && in_netns(theirs.as_fd(), own.as_fd(), || Ok(index_of(to).is_some()))? {
            return Err(Error::new(Code::InvalidConfig, format!("{field}: {to} exists in the container's network namespace")));
        }
        let addrs = permanent_addrs(host.as_fd(), index).map_err(|e| e.context(&field))?;
        let fd = (theirs.as_raw_fd() as u32).to_ne_bytes();
        let mut name = to.as_bytes().to_vec();
        name.push(0);
        let moved =
            Msg::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index as i32, 0, 0)).attr(IFLA_NET_NS_FD, &fd).attr(IFLA_IFNAME, &name).bytes();
        request(host.as_fd(), moved)
            .map_err(|e| Error::sys(Code::Namespace, "RTM_NEWLINK", Some(&format!("move {from} to {to}")), e).context(&field))?;
        in_netns(theirs.as_fd(), own.as_fd(), || set_up(index, &addrs, to)).map_err(|e| e.context(&field))?;
    }
    Ok(())
}

/// In the container's namespace: the moved device (found by its index, which a move into a
/// fresh namespace keeps, else by name) gets its addresses back and is set up.
fn set_up(index: u32, addrs: &[Addr], to: &str) -> Result<()> {
    let index = if name_of(index).is_some() {
        index
    } else {
        index_of(to).ok_or_else(|| Error::new(Code::Namespace, format!("{to}: not found after the move")))?
    };
    let sock = socket()?;
    for a in addrs {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &ifaddrmsg(a.family, a.prefixlen, index));
        if let Some(l) = &a.local {
            m = m.attr(IFA_LOCAL, l);
        }
        if let Some(d) = &a.address {
            m = m.attr(IFA_ADDRESS, d);
        }
        request(sock.as_fd(), m.bytes()).map_err(|e| Error::sys(Code::Namespace, "RTM_NEWADDR", Some(to), e))?;
    }
    let up = Msg::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index as i32, libc::IFF_UP as u32, libc::IFF_UP as u32)).bytes();
    request(sock.as_fd(), up).map_err(|e| Error::sys(Code::Namespace, "RTM_NEWLINK", Some(&format!("{to} up")), e))
}

/// Run `f` in the network namespace `theirs`, then return to `own` (or end the helper: nothing
/// it does next may happen in the container's namespace).
fn in_netns<T>(theirs: BorrowedFd<'_>, own: BorrowedFd<'_>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    // SAFETY: setns with a network namespace fd; the helper is single-threaded.
    sys::cvt(
        unsafe { libc::setns(theirs.as_raw_fd(), libc::CLONE_NEWNET) },
        Code::Namespace,
        "setns",
        Some("the container's network namespace"),
    )?;
    let res = f();
    // SAFETY: setns back into ours, by its fd.
    if unsafe { libc::setns(own.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        eprintln!("lxts-helper: setns back into its own network namespace: {}", std::io::Error::last_os_error());
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(70) };
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_aligned_and_sized() {
        let m = Msg::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(7, 0, 0)).attr(IFLA_IFNAME, b"eth0\0").bytes();
        assert_eq!(m.len(), 16 + 16 + 12, "header, ifinfomsg, a 9-byte attribute padded to 12");
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize, m.len());
        let parsed = attrs(&m[16..], 16);
        assert_eq!(parsed, vec![(IFLA_IFNAME, &b"eth0\0"[..])]);
    }
}
