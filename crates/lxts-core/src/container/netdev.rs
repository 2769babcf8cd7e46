//! `linux.netDevices` (runtime-spec 1.3): move existing network devices of the host into the
//! container's new network namespace, renamed as asked, with their permanent global addresses
//! and up. Done by the helper (host root, in the host's network namespace) once the init exists
//! and before `go`, over rtnetlink:
//!
//! 1. the device's permanent addresses of global scope are read (`RTM_GETADDR`), since a move
//!    drops every address;
//! 2. `RTM_NEWLINK` with `IFLA_NET_NS_FD` (the init's `ns/net`) moves it under a temporary
//!    name of ours (its index may change there);
//! 3. in the container's namespace (`setns` there and back: the helper is single-threaded) it
//!    is found by that name, renamed (a `%d` template is the kernel's to complete; any other
//!    name taken there is refused before the move), given its addresses and set up.
//!
//! All or none: when a device fails, it and those moved before it go back to the host under
//! their names, with their addresses.
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

/// One address to carry over: family, prefix length, `IFA_LOCAL` (IPv4), `IFA_ADDRESS`,
/// `IFA_BROADCAST`, and the flags that say how it is used (`nodad`, `noprefixroute`…).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Addr {
    family: u8,
    prefixlen: u8,
    local: Option<Vec<u8>>,
    address: Option<Vec<u8>>,
    broadcast: Option<Vec<u8>>,
    flags: u32,
}

/// `IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE`: how the
/// address is meant, not its state (tentative, deprecated…), which the kernel sets itself.
const CARRIED_FLAGS: u32 = 0x02 | 0x10 | 0x100 | 0x200;
const IFA_BROADCAST: u16 = 4;

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

/// One netlink message of a reply: its type and the payload after the header.
type Reply = (u16, Vec<u8>);

/// The messages of one reply, until `NLMSG_DONE` or an ack;
/// and whether the kernel flagged the dump interrupted (`NLM_F_DUMP_INTR`: changed meanwhile).
fn replies(sock: BorrowedFd<'_>) -> Result<(Vec<Reply>, bool)> {
    const NLM_F_DUMP_INTR: u16 = 0x10;
    let mut out = Vec::new();
    let mut interrupted = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let n = sys::cvt(n as libc::c_int, Code::Syscall, "recv", Some("rtnetlink"))? as usize;
        let mut at = 0;
        while at + 16 <= n {
            let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or_default()) as usize;
            let kind = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().unwrap_or_default());
            interrupted |= u16::from_ne_bytes(buf[at + 6..at + 8].try_into().unwrap_or_default()) & NLM_F_DUMP_INTR != 0;
            if len < 16 || at + len > n {
                return Err(Error::new(Code::Protocol, "rtnetlink: a truncated reply"));
            }
            let payload = buf[at + 16..at + len].to_vec();
            let end = kind == NLMSG_DONE || kind == NLMSG_ERROR;
            out.push((kind, payload));
            if end {
                return Ok((out, interrupted));
            }
            at += len.next_multiple_of(4);
        }
    }
}

/// Send `msg` and wait for its ack; the kernel's error as an errno.
fn request(sock: BorrowedFd<'_>, msg: Vec<u8>) -> std::result::Result<(), Errno> {
    let io = |_| Errno::EIO;
    send(sock, &msg).map_err(|e| e.errno.map_or(Errno::EIO, Errno::from_raw))?;
    let (r, _) = replies(sock).map_err(io)?;
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

/// The permanent addresses of global scope of the device `index` (what the spec carries over),
/// read again when the kernel says the dump was interrupted by a change.
fn permanent_addrs(sock: BorrowedFd<'_>, index: u32) -> Result<Vec<Addr>> {
    for _ in 0..5 {
        send(sock, &Msg::new(RTM_GETADDR, NLM_F_DUMP, &ifaddrmsg(libc::AF_UNSPEC as u8, 0, 0)).bytes())?;
        let (replies, interrupted) = replies(sock)?;
        let mut out = Vec::new();
        for (kind, p) in replies {
            if (kind == NLMSG_ERROR || kind == NLMSG_DONE) && p.len() >= 4 {
                let e = i32::from_ne_bytes(p[0..4].try_into().unwrap_or_default());
                if e < 0 {
                    return Err(Error::sys(Code::Namespace, "RTM_GETADDR", None, Errno::from_raw(-e)));
                }
            }
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
            out.push(Addr {
                family,
                prefixlen,
                local: get(IFA_LOCAL),
                address: get(IFA_ADDRESS),
                broadcast: get(IFA_BROADCAST),
                flags: flags & CARRIED_FLAGS,
            });
        }
        if !interrupted {
            return Ok(out);
        }
    }
    Err(Error::new(Code::Namespace, "RTM_GETADDR: the address list kept changing while it was read"))
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

/// The devices `cfg` asks to move (host name, name inside), refused up front where the helper
/// cannot move them: without a new network namespace, rootless, or joined to a user namespace
/// before `clone3` (moving needs the host's CAP_NET_ADMIN, entering the container's namespace
/// its CAP_SYS_ADMIN).
pub fn requested(cfg: &crate::plan::Config, ns: &super::namespaces::NsPlan) -> Result<Vec<(String, Option<String>)>> {
    let Some(linux) = cfg.linux.as_ref().filter(|l| !l.net_devices.is_empty()) else { return Ok(Vec::new()) };
    if !ns.creates(libc::CLONE_NEWNET as u64) {
        return Err(Error::new(Code::InvalidConfig, "linux.netDevices: needs a new network namespace (linux.namespaces type \"network\")"));
    }
    if super::user::rootless() || linux.namespaces.iter().any(|n| n.kind == "user" && n.path.is_some()) {
        return Err(Error::new(
            Code::Unsupported,
            "linux.netDevices: not rootless, nor with a joined user namespace (the host's privilege is needed to move devices)",
        ));
    }
    Ok(linux.net_devices.iter().map(|(k, v)| (k.clone(), v.name.clone())).collect())
}

/// Whether the kernel takes `name` for a device (what `dev_valid_name` checks), with at most
/// one `%d` where `template` allows one.
pub fn valid_name(name: &str, template: bool) -> bool {
    let no_d = name.replacen("%d", "", if template { 1 } else { 0 });
    !name.is_empty()
        && name.len() < libc::IF_NAMESIZE
        && name != "."
        && name != ".."
        && !no_d.contains('%')
        // the kernel's isspace: ASCII white space, \v and 0xa0 (Latin-1 no-break space); and NUL
        && !name.bytes().any(|b| matches!(b, b'/' | b':' | 0 | 0x0b | 0xa0) || b.is_ascii_whitespace())
}

/// A device moved into the container: its host name, its name inside, its addresses, and
/// whether it was up on the host.
struct MovedDevice {
    from: String,
    inside: String,
    addrs: Vec<Addr>,
    was_up: bool,
}

/// The devices moved into a container, able to go back ([`Moved::rollback`]) as long as this
/// holds the container's network namespace (its fd keeps it alive after the init died).
pub struct Moved {
    theirs: OwnedFd,
    own: OwnedFd,
    host: OwnedFd,
    devices: Vec<MovedDevice>,
}

impl Moved {
    /// Every device back on the host under its name, with its addresses and up state as they
    /// were (not its routes, bridge or bond membership: those went with the move). The ones
    /// that could not go back are named in the error.
    pub fn rollback(self) -> Result<()> {
        let mut lost = Vec::new();
        for d in self.devices.iter().rev() {
            let back = in_netns(self.theirs.as_fd(), self.own.as_fd(), || move_back(&d.inside, &d.from, self.own.as_fd()));
            match back.ok().and_then(|()| index_of(&d.from)) {
                Some(i) => {
                    let _ = set_up(self.host.as_fd(), i, &d.addrs, &d.from, d.was_up);
                }
                None => lost.push(d.from.clone()),
            }
        }
        if lost.is_empty() {
            Ok(())
        } else {
            Err(Error::new(Code::Namespace, format!("linux.netDevices: {} could not be moved back to the host", lost.join(", "))))
        }
    }
}

/// Move the devices of `devices` (host name, name inside or `None`) into the network namespace
/// of the process `pid` (our child, not reaped). All or none: when one fails, it and those
/// moved before it go back to the host; on success the caller holds them, to send them back if
/// the create fails later.
pub fn move_all(devices: &[(String, Option<String>)], pid: i32) -> Result<Option<Moved>> {
    if devices.is_empty() {
        return Ok(None);
    }
    let ns_path = format!("/proc/{pid}/ns/net");
    let theirs = sys::open(&ns_path, libc::O_RDONLY, Code::Namespace)?;
    let own = sys::open("/proc/self/ns/net", libc::O_RDONLY, Code::Namespace)?;
    let host = socket()?;
    let mut moved = Moved { theirs, own, host, devices: Vec::new() };
    for (from, to) in devices {
        let to = to.as_deref().filter(|n| !n.is_empty()).unwrap_or(from);
        if let Err(e) = move_one(&mut moved, from, to) {
            let e = e.context(format!("linux.netDevices.{from}"));
            return Err(match moved.rollback() {
                Ok(()) => e,
                Err(lost) => e.context(lost.message),
            });
        }
    }
    Ok(Some(moved))
}

/// Whether the device `name` is up, in the calling thread's network namespace.
fn is_up(name: &str) -> bool {
    // SAFETY: socket with constant arguments.
    let Ok(fd) = sys::cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) }, Code::Syscall, "socket", None)
    else {
        return false;
    };
    let fd = sys::owned(fd);
    // SAFETY: an all-zero ifreq is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in name.bytes().take(libc::IF_NAMESIZE - 1).enumerate() {
        req.ifr_name[i] = b as libc::c_char;
    }
    // SAFETY: `req` names the device; SIOCGIFFLAGS fills the flags member.
    unsafe {
        libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) == 0 && req.ifr_ifru.ifru_flags & libc::IFF_UP as libc::c_short != 0
    }
}

/// One device: its addresses read, moved under a name of ours (its index may change in the
/// container), found by it there, renamed to `to`, addresses back, up. Recorded in `moved` as
/// soon as it may have left the host, so a failure at any later step sends it back.
fn move_one(moved: &mut Moved, from: &str, to: &str) -> Result<()> {
    if !valid_name(to, true) {
        return Err(Error::new(Code::InvalidConfig, format!("{to:?} is no network interface name (at most one %d)")));
    }
    let (host, theirs, own) = (moved.host.as_fd(), moved.theirs.as_fd(), moved.own.as_fd());
    let index = index_of(from).ok_or_else(|| Error::new(Code::InvalidConfig, "no such network device on the host"))?;
    // The kernel moves a device under its own name, then renames it: a name taken in the
    // container must be refused first. A `%d` template is the kernel's to complete.
    if !to.contains("%d") && in_netns(theirs, own, || Ok(index_of(to).is_some()))? {
        return Err(Error::new(Code::InvalidConfig, format!("{to} exists in the container's network namespace")));
    }
    let addrs = permanent_addrs(host, index)?;
    let was_up = is_up(from);
    let temp = format!("lxm{:08x}", std::process::id() ^ index.rotate_left(16));
    let fd = (theirs.as_raw_fd() as u32).to_ne_bytes();
    let request_move =
        Msg::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index as i32, 0, 0)).attr(IFLA_NET_NS_FD, &fd).attr(IFLA_IFNAME, &cname(&temp)).bytes();
    let sent = request(host, request_move)
        .map_err(|e| Error::sys(Code::Namespace, "RTM_NEWLINK", Some(&format!("move {from} into the container")), e));
    // Even a refused request may have moved it (the kernel renames after the move): where is it?
    let where_inside = in_netns(theirs, own, || Ok([temp.as_str(), from].into_iter().find(|n| index_of(n).is_some()).map(str::to_owned)))?;
    let Some(inside) = where_inside else {
        return sent; // still on the host (or gone: nothing to send back)
    };
    moved.devices.push(MovedDevice { from: from.to_owned(), inside: inside.clone(), addrs, was_up });
    sent?;
    let last = moved.devices.len() - 1;
    let (theirs, own) = (moved.theirs.as_fd(), moved.own.as_fd());
    let addrs = &moved.devices[last].addrs;
    let name = in_netns(theirs, own, || {
        let sock = socket()?;
        let index =
            index_of(&inside).ok_or_else(|| Error::new(Code::Namespace, format!("{from}: not found in the container after the move")))?;
        let renamed = Msg::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index as i32, 0, 0)).attr(IFLA_IFNAME, &cname(to)).bytes();
        request(sock.as_fd(), renamed)
            .map_err(|e| Error::sys(Code::Namespace, "RTM_NEWLINK", Some(&format!("rename {from} to {to}")), e))?;
        let name = name_of(index).ok_or_else(|| Error::new(Code::Namespace, format!("{from}: lost after the rename")))?;
        set_up(sock.as_fd(), index, addrs, &name, true)?;
        Ok(name)
    });
    // renamed (or not): the rollback must look for it under the name it has now
    let name = match name {
        Ok(n) => n,
        Err(e) => {
            if let Ok(Some(now)) = in_netns(theirs, own, || {
                Ok([to, inside.as_str()].into_iter().find(|n| !n.contains('%') && index_of(n).is_some()).map(str::to_owned))
            }) {
                moved.devices[last].inside = now;
            }
            return Err(e);
        }
    };
    moved.devices[last].inside = name;
    Ok(())
}

fn cname(name: &str) -> Vec<u8> {
    let mut b = name.as_bytes().to_vec();
    b.push(0);
    b
}

/// In the container's namespace: move the device `inside` back to the namespace `to_ns` as `name`.
fn move_back(inside: &str, name: &str, to_ns: BorrowedFd<'_>) -> Result<()> {
    let sock = socket()?;
    let index = index_of(inside).ok_or_else(|| Error::new(Code::Namespace, format!("{inside}: gone")))?;
    let fd = (to_ns.as_raw_fd() as u32).to_ne_bytes();
    let back =
        Msg::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index as i32, 0, 0)).attr(IFLA_NET_NS_FD, &fd).attr(IFLA_IFNAME, &cname(name)).bytes();
    request(sock.as_fd(), back).map_err(|e| Error::sys(Code::Namespace, "RTM_NEWLINK", Some(&format!("move {inside} back as {name}")), e))
}

/// Through `sock` (in the device's namespace): `addrs` on the device `index`, and, `up`, the device up.
fn set_up(sock: BorrowedFd<'_>, index: u32, addrs: &[Addr], name: &str, up: bool) -> Result<()> {
    for a in addrs {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &ifaddrmsg(a.family, a.prefixlen, index));
        for (kind, value) in [(IFA_LOCAL, &a.local), (IFA_ADDRESS, &a.address), (IFA_BROADCAST, &a.broadcast)] {
            if let Some(v) = value {
                m = m.attr(kind, v);
            }
        }
        m = m.attr(IFA_FLAGS, &(a.flags | IFA_F_PERMANENT).to_ne_bytes());
        match request(sock, m.bytes()) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys(Code::Namespace, "RTM_NEWADDR", Some(name), e)),
        }
    }
    if !up {
        return Ok(());
    }
    let up = Msg::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index as i32, libc::IFF_UP as u32, libc::IFF_UP as u32)).bytes();
    request(sock, up).map_err(|e| Error::sys(Code::Namespace, "RTM_NEWLINK", Some(&format!("{name} up")), e))
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
    fn names_the_kernel_takes() {
        for ok in ["eth0", "net%d", "a.b-c_d"] {
            assert!(valid_name(ok, true), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "e%s", "a%d%d", "sixteen-chars-xx"] {
            assert!(!valid_name(bad, true), "{bad}");
        }
        assert!(!valid_name("net%d", false));
    }

    #[test]
    fn messages_are_aligned_and_sized() {
        let m = Msg::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(7, 0, 0)).attr(IFLA_IFNAME, b"eth0\0").bytes();
        assert_eq!(m.len(), 16 + 16 + 12, "header, ifinfomsg, a 9-byte attribute padded to 12");
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize, m.len());
        let parsed = attrs(&m[16..], 16);
        assert_eq!(parsed, vec![(IFLA_IFNAME, &b"eth0\0"[..])]);
    }
}
