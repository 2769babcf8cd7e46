//! `linux.sysctl`: written to the container's own `/proc/sys`, resolved inside the
//! rootfs and checked to be procfs, before `/proc/sys` is made read-only.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use super::resolve;
use crate::container::sys;
use crate::{Code, Error, Result};

/// `net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`. Refuses keys that
/// would climb out of `/proc/sys`.
pub fn key_path(key: &str) -> Result<String> {
    if key.is_empty() || key.split(['.', '/']).any(|c| c.is_empty() || c == "..") {
        return Err(Error::new(Code::InvalidConfig, format!("linux.sysctl: invalid key {key:?}")));
    }
    Ok(format!("/proc/sys/{}", key.replace('.', "/")))
}

pub fn apply(root: BorrowedFd<'_>, sysctl: &HashMap<String, String>) -> Result<()> {
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        let path = key_path(key)?;
        let fd = resolve::open_existing(root, &path, libc::O_WRONLY).map_err(|e| e.context(format!("linux.sysctl[{key}]")))?;
        if sys::fs_magic(fd.as_fd(), Code::Mount, &path)? != sys::PROC_SUPER_MAGIC {
            return Err(Error::new(Code::UnsafePath, format!("linux.sysctl[{key}]: {path} is not on procfs")));
        }
        let value = &sysctl[key];
        // SAFETY: writing `value`'s bytes to an open fd.
        let n = unsafe { libc::write(fd.as_fd().as_raw_fd(), value.as_ptr().cast(), value.len()) };
        sys::cvt(n as libc::c_int, Code::Process, "write", Some(&path)).map_err(|e| e.context(format!("linux.sysctl[{key}]")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(key_path("net.ipv4.ip_forward").unwrap(), "/proc/sys/net/ipv4/ip_forward");
        assert_eq!(key_path("kernel/msgmax").unwrap(), "/proc/sys/kernel/msgmax");
        assert!(key_path("..").is_err());
        assert!(key_path("net..x").is_err());
        assert!(key_path("net/../../x").is_err());
    }
}
