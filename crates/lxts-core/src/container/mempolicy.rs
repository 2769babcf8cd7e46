//! `linux.memoryPolicy`: the NUMA memory policy (`set_mempolicy(2)`) of the container's
//! processes, set by the init and by `exec`'d processes on themselves; it carries across
//! `execve` and to every child.

use crate::plan::MemoryPolicy;
use crate::{Code, Error, Result};

fn mode(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "MPOL_DEFAULT" => 0,
        "MPOL_PREFERRED" => 1,
        "MPOL_BIND" => 2,
        "MPOL_INTERLEAVE" => 3,
        "MPOL_LOCAL" => 4,
        "MPOL_PREFERRED_MANY" => 5,
        "MPOL_WEIGHTED_INTERLEAVE" => 6,
        _ => return None,
    })
}

fn flag(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "MPOL_F_NUMA_BALANCING" => 1 << 13,
        "MPOL_F_RELATIVE_NODES" => 1 << 14,
        "MPOL_F_STATIC_NODES" => 1 << 15,
        _ => return None,
    })
}

fn node_mask(list: &str) -> Result<Vec<u64>> {
    crate::container::sys::id_mask(list)
        .ok_or_else(|| Error::new(Code::InvalidConfig, format!("linux.memoryPolicy.nodes: {list:?} is not a list of nodes such as 0-3,7")))
}

/// Set the calling process's memory policy.
pub fn apply(p: Option<&MemoryPolicy>) -> Result<()> {
    let Some(p) = p else { return Ok(()) };
    let unknown = |what: String| Error::new(Code::InvalidConfig, format!("linux.memoryPolicy: unknown {what}"));
    let mut m = mode(&p.mode).ok_or_else(|| unknown(format!("mode {:?}", p.mode)))?;
    for f in &p.flags {
        m |= flag(f).ok_or_else(|| unknown(format!("flag {f:?}")))?;
    }
    let mask = node_mask(p.nodes.as_deref().unwrap_or(""))?;
    // maxnode counts one bit more than the mask holds (the kernel reads maxnode - 1 bits).
    let (ptr, maxnode) = if mask.is_empty() { (std::ptr::null(), 0) } else { (mask.as_ptr(), mask.len() * 64 + 1) };
    // SAFETY: set_mempolicy on ourselves with a mask of `maxnode - 1` readable bits, or none.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, m, ptr, maxnode) };
    crate::container::sys::cvt(ret as libc::c_int, Code::Process, "set_mempolicy", Some(&p.mode))
        .map(|_| ())
        .map_err(|e| e.context("linux.memoryPolicy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lists_become_masks() {
        assert_eq!(node_mask("0-3,7").unwrap(), vec![0b1000_1111]);
        assert_eq!(node_mask("64").unwrap(), vec![0, 1]);
        assert_eq!(node_mask("").unwrap(), Vec::<u64>::new());
        for bad in ["x", "3-1", "1-", "99999"] {
            assert!(node_mask(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_names_are_refused_naming_them() {
        let e = apply(Some(&MemoryPolicy { mode: "MPOL_FAST".into(), ..MemoryPolicy::default() })).unwrap_err();
        assert!(e.message.contains("MPOL_FAST"), "{}", e.message);
    }
}
