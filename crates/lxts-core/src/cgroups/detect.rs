//! Find every cgroup hierarchy from mountinfo (never hard-code `/sys/fs/cgroup/<name>`).
//!
//! [`parse`] is a pure function over the text of `/proc/self/mountinfo` and
//! `/proc/cgroups`, so tests feed it fixtures; [`detect`] reads the real files and
//! fills in the controllers of the cgroup2 hierarchy from its `cgroup.controllers`.

use std::path::{Path, PathBuf};

use crate::{Code, Error, Result};

/// Whether the host has v1 only, v1 controllers plus a cgroup2 mount, or v2 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMode {
    V1,
    Hybrid,
    V2,
    /// No cgroup filesystem mounted at all.
    None,
}

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// `true` for cgroup2.
    pub v2: bool,
    /// Controllers (`["cpu","cpuacct"]`); v1 named hierarchies carry `name=systemd`; v2 lists `cgroup.controllers`.
    pub controllers: Vec<String>,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The mountinfo "root" field: the cgroup path that `mount_point` shows.
    pub root: String,
}

impl Hierarchy {
    /// Whether containers get a group here: cgroup2, a v1 hierarchy with controllers, and the
    /// `name=systemd` one (as runc); not other named hierarchies, which are someone's own (a
    /// private one `lxts cgroup mount --name` made: a container's group there would keep it
    /// alive after its umount, and is none of the container's business).
    pub fn for_containers(&self) -> bool {
        self.v2 || self.controllers.iter().any(|c| !c.starts_with("name=") || c == "name=systemd")
    }
}

impl Host {
    /// The hierarchies containers join ([`Hierarchy::for_containers`]); the `lxts cgroup` tool
    /// works on all of them.
    pub fn for_containers(mut self) -> Host {
        self.hierarchies.retain(Hierarchy::for_containers);
        self
    }
}

/// All hierarchies of this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub mode: HostMode,
    pub hierarchies: Vec<Hierarchy>,
}

impl Host {
    /// The cgroup2 hierarchy, if one is mounted (also on hybrid hosts).
    pub fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.v2)
    }

    /// The v1 hierarchy carrying `controller` (`"memory"`, `"name=systemd"`).
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| !h.v2 && h.controllers.iter().any(|c| c == controller))
    }
}

/// v1 controllers known to the kernel; used when `/proc/cgroups` is unavailable.
const KNOWN_V1: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "io",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// Read `/proc/self/mountinfo`, `/proc/cgroups` and the cgroup2 `cgroup.controllers`.
pub fn detect() -> Result<Host> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| io_error("read", "/proc/self/mountinfo", &e))?;
    // Absent when the kernel has no v1 support at all; the fallback list then applies.
    let proc_cgroups = std::fs::read_to_string("/proc/cgroups").ok();
    let mut host = parse(&mountinfo, proc_cgroups.as_deref());
    for h in host.hierarchies.iter_mut().filter(|h| h.v2) {
        let file = h.mount_point.join("cgroup.controllers");
        // Unreadable (e.g. a cgroup2 mount of a foreign namespace): no controllers is the honest answer.
        if let Ok(text) = std::fs::read_to_string(&file) {
            h.controllers = text.split_whitespace().map(str::to_owned).collect();
        }
    }
    Ok(host)
}

/// Parse mountinfo (and optionally `/proc/cgroups`) into hierarchies.
///
/// cgroup2 controllers are left empty: they live in a file, not in mountinfo.
/// A hierarchy mounted more than once (same device, or for v1 the same controller
/// set) is kept once, preferring the mount that shows the shortest root.
pub fn parse(mountinfo: &str, proc_cgroups: Option<&str>) -> Host {
    let enabled = proc_cgroups.map(enabled_v1_controllers);
    let mut found: Vec<(String, Hierarchy)> = Vec::new();
    for line in mountinfo.lines() {
        let Some((dev, h)) = parse_line(line, enabled.as_deref()) else { continue };
        let same = found.iter().position(|(d, o)| *d == dev || (o.v2 && h.v2) || (!o.v2 && !h.v2 && o.controllers == h.controllers));
        match same {
            Some(i) if found[i].1.root.len() > h.root.len() => found[i] = (dev, h),
            Some(_) => {}
            None => found.push((dev, h)),
        }
    }
    let hierarchies: Vec<Hierarchy> = found.into_iter().map(|(_, h)| h).collect();
    let v1 = hierarchies.iter().any(|h| !h.v2);
    let v2 = hierarchies.iter().any(|h| h.v2);
    let mode = match (v1, v2) {
        (true, true) => HostMode::Hybrid,
        (true, false) => HostMode::V1,
        (false, true) => HostMode::V2,
        (false, false) => HostMode::None,
    };
    Host { mode, hierarchies }
}

/// Names of enabled v1 controllers from `/proc/cgroups` (`#subsys_name hierarchy num enabled`).
fn enabled_v1_controllers(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[3] == "1").then(|| f[0].to_owned())
        })
        .collect()
}

/// One mountinfo line → `(major:minor, hierarchy)` when it is a cgroup mount.
///
/// Format: `id parent major:minor root mount_point mount_opts [optional…] - fstype source super_opts`.
fn parse_line(line: &str, enabled: Option<&[String]>) -> Option<(String, Hierarchy)> {
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    if l.len() < 6 || r.is_empty() {
        return None;
    }
    let (dev, root, mount_point) = (l[2], unescape(l[3]), unescape(l[4]));
    let fstype = r[0];
    let super_opts = r.get(2).copied().unwrap_or("");
    let h = match fstype {
        "cgroup2" => Hierarchy { v2: true, controllers: Vec::new(), mount_point: PathBuf::from(mount_point), root },
        "cgroup" => {
            let controllers: Vec<String> = super_opts
                .split(',')
                .filter(|o| {
                    o.starts_with("name=")
                        || match enabled {
                            Some(list) => list.iter().any(|c| c == o),
                            None => KNOWN_V1.contains(o),
                        }
                })
                .map(str::to_owned)
                .collect();
            if controllers.is_empty() {
                return None;
            }
            Hierarchy { v2: false, controllers, mount_point: PathBuf::from(mount_point), root }
        }
        _ => return None,
    };
    Some((dev.to_owned(), h))
}

/// Undo mountinfo's octal escapes (`\040` for space, `\011`, `\012`, `\134`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An I/O error on a named file as an `ERR_LXTS_CGROUP`.
pub(crate) fn io_error(syscall: &'static str, path: impl AsRef<Path>, e: &std::io::Error) -> Error {
    let path = path.as_ref().to_string_lossy();
    match e.raw_os_error() {
        Some(n) => Error::sys(Code::Cgroup, syscall, Some(&path), nix::errno::Errno::from_raw(n)),
        None => Error::new(Code::Cgroup, format!("{syscall} {path}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const PROC_CGROUPS: &str = "\
#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t1\t1\t1
cpuacct\t2\t1\t1
blkio\t7\t1\t1
memory\t4\t36\t1
devices\t5\t1\t1
freezer\t6\t1\t1
net_cls\t0\t1\t1
perf_event\t0\t1\t1
hugetlb\t0\t1\t1
pids\t8\t1\t1
";

    // systemd-style v1: co-mounted controllers, a named hierarchy, noise options,
    // optional fields, and the same hierarchy mounted a second time (a bind of a subtree).
    const V1: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,net_cls,net_prio
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
32 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpuset,clone_children
90 60 0:28 /docker/abc /var/lib/x/memory rw,relatime - cgroup cgroup rw,memory
";

    const V2: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
28 22 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
77 22 0:25 /user.slice /mnt/with\\040space rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_host() {
        let host = parse(HYBRID, Some(PROC_CGROUPS));
        assert_eq!(host.mode, HostMode::Hybrid);
        assert_eq!(host.hierarchies.len(), 10);
        assert_eq!(host.v1("memory").map(|h| h.mount_point.clone()), Some(PathBuf::from("/sys/fs/cgroup/memory")));
        assert_eq!(host.v1("name=systemd").map(|h| h.mount_point.clone()), Some(PathBuf::from("/sys/fs/cgroup/systemd")));
        let v2 = host.v2().unwrap();
        assert_eq!(v2.mount_point, PathBuf::from("/sys/fs/cgroup/unified"));
        assert_eq!(v2.root, "/");
        assert!(v2.controllers.is_empty());
    }

    #[test]
    fn v1_host_comounted_named_and_duplicate() {
        let host = parse(V1, None);
        assert_eq!(host.mode, HostMode::V1);
        let cpu = host.v1("cpuacct").unwrap();
        assert_eq!(cpu.controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(cpu.mount_point, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(host.v1("name=systemd").unwrap().controllers, vec!["name=systemd"]);
        assert_eq!(host.v1("cpuset").unwrap().controllers, vec!["cpuset"]);
        let mem: Vec<_> = host.hierarchies.iter().filter(|h| h.controllers.contains(&"memory".to_owned())).collect();
        assert_eq!(mem.len(), 1, "memory mounted twice is kept once");
        assert_eq!(mem[0].root, "/");
        assert_eq!(host.hierarchies.len(), 5);
    }

    #[test]
    fn disabled_controller_is_not_listed() {
        let pc = "#subsys_name hierarchy num_cgroups enabled\ncpu 1 1 1\ncpuacct 1 1 0\n";
        let host = parse("1 0 0:1 / /cg rw - cgroup cgroup rw,cpu,cpuacct\n", Some(pc));
        assert_eq!(host.hierarchies[0].controllers, vec!["cpu"]);
    }

    #[test]
    fn v2_host_and_escapes() {
        let host = parse(V2, None);
        assert_eq!(host.mode, HostMode::V2);
        assert_eq!(host.hierarchies.len(), 1);
        assert_eq!(host.hierarchies[0].mount_point, PathBuf::from("/sys/fs/cgroup"));
        assert_eq!(unescape("/mnt/with\\040space"), "/mnt/with space");
    }

    #[test]
    fn no_cgroups() {
        let host = parse("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", None);
        assert_eq!(host.mode, HostMode::None);
        assert!(host.hierarchies.is_empty());
    }

    #[test]
    fn detect_this_host() {
        let host = detect().unwrap();
        for h in &host.hierarchies {
            assert!(h.mount_point.is_dir(), "{:?}", h.mount_point);
        }
    }

    #[test]
    fn containers_skip_named_hierarchies_but_systemd() {
        let h = |v2: bool, c: &[&str]| Hierarchy {
            v2,
            controllers: c.iter().map(|s| s.to_string()).collect(),
            mount_point: PathBuf::from("/x"),
            root: "/".into(),
        };
        assert!(h(true, &[]).for_containers());
        assert!(h(false, &["cpu", "cpuacct"]).for_containers());
        assert!(h(false, &["name=systemd"]).for_containers());
        assert!(h(false, &["cpu", "name=mine"]).for_containers(), "controllers, however named");
        assert!(!h(false, &["name=demo"]).for_containers());
    }
}
