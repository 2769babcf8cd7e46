//! Capabilities: the 41 names of `<linux/capability.h>`, the bounding set
//! (`PR_CAPBSET_DROP`), the effective/permitted/inheritable sets (`capset` v3)
//! and the ambient set (`PR_CAP_AMBIENT`). Inheritable is only what the config names.

use nix::errno::Errno;

use crate::plan::Capabilities;
use crate::{Code, Error, Result};

/// Capability names in number order (`CAP_CHOWN` = 0 … `CAP_CHECKPOINT_RESTORE` = 40).
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The number of a capability name.
pub fn number(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

/// A set as a 64-bit mask; unknown names are a config error naming the field.
pub fn mask(names: &[String], field: &str) -> Result<u64> {
    let mut m = 0u64;
    for n in names {
        let bit =
            number(n).ok_or_else(|| Error::new(Code::InvalidConfig, format!("process.capabilities.{field}: unknown capability {n:?}")))?;
        m |= 1 << bit;
    }
    Ok(m)
}

/// The five masks of a config, parsed up front (before any credential change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sets {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
}

impl Sets {
    pub fn from_config(c: Option<&Capabilities>) -> Result<Sets> {
        let Some(c) = c else { return Ok(Sets::default()) };
        Ok(Sets {
            bounding: mask(&c.bounding, "bounding")?,
            effective: mask(&c.effective, "effective")?,
            inheritable: mask(&c.inheritable, "inheritable")?,
            permitted: mask(&c.permitted, "permitted")?,
            ambient: mask(&c.ambient, "ambient")?,
        })
    }
}

fn prctl(op: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> std::result::Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    let ret = unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Drop every capability not in `bounding` from the bounding set. Needs CAP_SETPCAP,
/// so it runs before the user switch.
pub fn drop_bounding(bounding: u64) -> Result<()> {
    for cap in 0..64u32 {
        if bounding & (1 << cap) != 0 {
            continue;
        }
        match prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0) {
            Ok(()) => {}
            Err(Errno::EINVAL) => break, // past the kernel's last capability
            Err(e) => return Err(Error::sys(Code::Process, "prctl", Some("PR_CAPBSET_DROP"), e)),
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Set effective, permitted and inheritable, then the ambient set.
pub fn apply(sets: &Sets) -> Result<()> {
    let mut hdr = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let split = |m: u64| [(m & 0xffff_ffff) as u32, (m >> 32) as u32];
    let (e, p, i) = (split(sets.effective), split(sets.permitted), split(sets.inheritable));
    let data =
        [CapData { effective: e[0], permitted: p[0], inheritable: i[0] }, CapData { effective: e[1], permitted: p[1], inheritable: i[1] }];
    // SAFETY: capset with a v3 header and two data elements, as the ABI requires.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if ret < 0 {
        return Err(Error::sys(Code::Process, "capset", None, Errno::last()).context("process.capabilities"));
    }
    prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0)
        .map_err(|e| Error::sys(Code::Process, "prctl", Some("PR_CAP_AMBIENT_CLEAR_ALL"), e))?;
    // The kernel raises an ambient cap only if it is permitted and inheritable. runc's
    // default spec lists ambient caps without inheritable ones (CVE-2022-29162), and runc
    // skips those; so does lxts, rather than refusing the spec engines send.
    let raisable = sets.ambient & sets.permitted & sets.inheritable;
    for cap in 0..64u32 {
        if raisable & (1 << cap) != 0 {
            prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, libc::c_ulong::from(cap)).map_err(|e| {
                Error::sys(Code::Process, "prctl", Some("PR_CAP_AMBIENT_RAISE"), e)
                    .context(format!("process.capabilities.ambient {}", NAMES[cap as usize]))
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_kernel_numbers() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("CAP_KILL"), Some(5));
        assert_eq!(number("CAP_NET_BIND_SERVICE"), Some(10));
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_AUDIT_WRITE"), Some(29));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("CAP_NOPE"), None);
    }

    #[test]
    fn masks() {
        let names = vec!["CAP_AUDIT_WRITE".to_owned(), "CAP_KILL".to_owned(), "CAP_NET_BIND_SERVICE".to_owned()];
        assert_eq!(mask(&names, "bounding").unwrap(), 0x2000_0420);
        let err = mask(&["CAP_X".to_owned()], "effective").unwrap_err();
        assert_eq!(err.code, Code::InvalidConfig);
        assert!(err.message.contains("process.capabilities.effective"));
    }
}
