//! `linux.resources.unified`: raw cgroup v2 `file: value` pairs, written as given.

use std::collections::BTreeMap;

use super::{field_error, write, Target};
use crate::Result;

/// A key must name one interface file of the container's own directory.
pub(super) fn check_key(k: &str) -> Result<()> {
    let field = format!("unified[{k:?}]");
    if k.is_empty() || k.contains('/') || k.contains('\0') || k.starts_with('.') || k.contains("..") {
        return Err(field_error(&field, "must be a plain interface file name (no '/', no '..')".to_owned()));
    }
    if !k.contains('.') {
        return Err(field_error(&field, "must look like <controller>.<file>".to_owned()));
    }
    // Membership and delegation files are lxts's business, not the config's.
    if matches!(k, "cgroup.procs" | "cgroup.threads" | "cgroup.subtree_control" | "cgroup.type" | "cgroup.kill") {
        return Err(field_error(&field, "cannot be set through unified".to_owned()));
    }
    Ok(())
}

pub(super) fn apply(t: &Target, unified: &BTreeMap<String, String>) -> Result<()> {
    if unified.is_empty() {
        return Ok(());
    }
    for k in unified.keys() {
        check_key(k)?;
    }
    if !t.v2 {
        return Err(field_error("unified", "needs a cgroup v2 host (this host's controllers are on v1)".to_owned()));
    }
    let dir = t.v2_dir("unified")?;
    for (k, v) in unified {
        write(dir, k, v, &format!("unified[{k:?}]"))?;
    }
    Ok(())
}
