//! Parsing of OCI mount `options` into `mount(2)` flags, propagation and data.

/// What a mount's option list means.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the first mount call (`MS_RDONLY`, `MS_NOSUID`, …, `MS_BIND`, `MS_REC`).
    pub flags: u64,
    /// Propagation flags applied by a separate call (`MS_PRIVATE|MS_REC`, …).
    pub propagation: Vec<u64>,
    /// Everything the kernel must interpret (`mode=755,size=65536k`).
    pub data: String,
    /// `tmpcopyup` (runc/crun extension): fill a new tmpfs with the rootfs's content there.
    pub copy_up: bool,
}

impl MountOptions {
    /// `true` for `bind` and `rbind`.
    pub fn is_bind(&self) -> bool {
        self.flags & libc::MS_BIND != 0
    }
}

const FLAGS: &[(&str, bool, u64)] = &[
    // (name, clear?, flag)
    ("defaults", false, 0),
    ("ro", false, libc::MS_RDONLY),
    ("rw", true, libc::MS_RDONLY),
    ("nosuid", false, libc::MS_NOSUID),
    ("suid", true, libc::MS_NOSUID),
    ("nodev", false, libc::MS_NODEV),
    ("dev", true, libc::MS_NODEV),
    ("noexec", false, libc::MS_NOEXEC),
    ("exec", true, libc::MS_NOEXEC),
    ("sync", false, libc::MS_SYNCHRONOUS),
    ("async", true, libc::MS_SYNCHRONOUS),
    ("dirsync", false, libc::MS_DIRSYNC),
    ("mand", false, libc::MS_MANDLOCK),
    ("nomand", true, libc::MS_MANDLOCK),
    ("noatime", false, libc::MS_NOATIME),
    ("atime", true, libc::MS_NOATIME),
    ("nodiratime", false, libc::MS_NODIRATIME),
    ("diratime", true, libc::MS_NODIRATIME),
    ("relatime", false, libc::MS_RELATIME),
    ("norelatime", true, libc::MS_RELATIME),
    ("strictatime", false, libc::MS_STRICTATIME),
    ("nostrictatime", true, libc::MS_STRICTATIME),
    ("bind", false, libc::MS_BIND),
    ("rbind", false, libc::MS_BIND | libc::MS_REC),
];

/// Map a propagation name to its flags (`rprivate` → `MS_PRIVATE|MS_REC`).
pub fn propagation(name: &str) -> Option<u64> {
    Some(match name {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

/// Parse an OCI option list. Unknown options are passed to the filesystem as data.
pub fn parse(options: &[String]) -> MountOptions {
    let mut out = MountOptions::default();
    let mut data: Vec<&str> = Vec::new();
    for opt in options {
        if let Some(&(_, clear, flag)) = FLAGS.iter().find(|(n, _, _)| n == opt) {
            if clear {
                out.flags &= !flag;
            } else {
                out.flags |= flag;
            }
        } else if let Some(p) = propagation(opt) {
            out.propagation.push(p);
        } else if opt == "tmpcopyup" {
            out.copy_up = true;
        } else if opt == "idmap" || opt == "ridmap" {
            // ours too (rootfs::idmap), never the kernel's
        } else {
            data.push(opt);
        }
    }
    out.data = data.join(",");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> MountOptions {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn tmpcopyup_is_ours_not_the_kernels() {
        let o = opts(&["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]);
        assert!(o.copy_up);
        assert_eq!(o.data, "");
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_NODEV);
    }

    #[test]
    fn runc_default_dev() {
        let o = opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert!(!o.is_bind());
    }

    #[test]
    fn bind_ro_and_propagation() {
        let o = opts(&["rbind", "ro", "rprivate", "nodev"]);
        assert_eq!(o.flags, libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY | libc::MS_NODEV);
        assert_eq!(o.propagation, vec![libc::MS_PRIVATE | libc::MS_REC]);
        assert!(o.is_bind());
        assert_eq!(o.data, "");
    }

    #[test]
    fn later_option_wins() {
        assert_eq!(opts(&["ro", "rw"]).flags, 0);
        assert_eq!(opts(&["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]).data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    }
}
