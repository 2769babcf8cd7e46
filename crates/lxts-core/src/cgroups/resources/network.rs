//! `linux.resources.network`: v1 `net_cls.classid` and `net_prio.ifpriomap` (no v2 equivalent).

use super::{field_error, write, Target};
use crate::plan::NetworkResources;
use crate::Result;

pub(super) fn apply(t: &Target, n: &NetworkResources) -> Result<()> {
    if n.class_id.is_none() && n.priorities.is_empty() {
        return Ok(());
    }
    if t.v2 {
        return Err(field_error(
            "network",
            "net_cls/net_prio do not exist on cgroup v2 (use eBPF or nftables on the cgroup instead)".to_owned(),
        ));
    }
    if let Some(id) = n.class_id {
        let dir = t.v1_dir("net_cls", "network.classID")?;
        write(dir, "net_cls.classid", &id.to_string(), "network.classID")?;
    }
    if !n.priorities.is_empty() {
        let dir = t.v1_dir("net_prio", "network.priorities")?;
        for (i, p) in n.priorities.iter().enumerate() {
            if p.name.is_empty() || p.name.contains(char::is_whitespace) {
                return Err(field_error(&format!("network.priorities[{i}].name"), format!("{:?} is not an interface name", p.name)));
            }
            // The kernel takes one "ifname prio" pair per write.
            write(dir, "net_prio.ifpriomap", &format!("{} {}", p.name, p.priority), &format!("network.priorities[{i}]"))?;
        }
    }
    Ok(())
}
