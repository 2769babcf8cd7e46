//! `linux.resources.pids.limit`: `pids.max` (v1 and v2); 0 or negative is `max`, as runc.

use super::{write, Target};
use crate::plan::PidsResources;
use crate::Result;

pub(super) fn apply(t: &Target, p: &PidsResources) -> Result<()> {
    let dir = if t.v2 { t.v2_dir("pids")? } else { t.v1_dir("pids", "pids")? };
    let v = if p.limit > 0 { p.limit.to_string() } else { "max".to_owned() };
    write(dir, "pids.max", &v, "pids.limit")
}
