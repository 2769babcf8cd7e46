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
    /// The recursive options (`rro`, `rnosuid`, `rnoatime`…): `MOUNT_ATTR_*` to set and to
    /// clear on the mount and every mount below it (`mount_setattr` with `AT_RECURSIVE`).
    pub rec_set: u64,
    pub rec_clr: u64,
    /// `rw` was asked for (last of `ro`/`rw`): a bind of a read-only mount may become writable.
    pub rw: bool,
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
    ("iversion", false, libc::MS_I_VERSION),
    ("noiversion", true, libc::MS_I_VERSION),
    ("lazytime", false, libc::MS_LAZYTIME),
    ("nolazytime", true, libc::MS_LAZYTIME),
    ("silent", false, libc::MS_SILENT),
    ("loud", true, libc::MS_SILENT),
    ("remount", false, libc::MS_REMOUNT),
    ("nosymfollow", false, libc::MS_NOSYMFOLLOW),
    ("symfollow", true, libc::MS_NOSYMFOLLOW),
];

/// `MOUNT_ATTR_*` of `mount_setattr(2)`.
pub const ATTR_RDONLY: u64 = 0x1;
pub const ATTR_NOSUID: u64 = 0x2;
pub const ATTR_NODEV: u64 = 0x4;
pub const ATTR_NOEXEC: u64 = 0x8;
/// The access-time mode (one of RELATIME = 0, NOATIME, STRICTATIME): set only with this in `attr_clr`.
pub const ATTR_ATIME_MASK: u64 = 0x70;
pub const ATTR_NOATIME: u64 = 0x10;
pub const ATTR_STRICTATIME: u64 = 0x20;
pub const ATTR_NODIRATIME: u64 = 0x80;
pub const ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// The recursive options that set or clear one attribute: (name, clear?, attribute).
const REC_ATTRS: &[(&str, bool, u64)] = &[
    ("rro", false, ATTR_RDONLY),
    ("rrw", true, ATTR_RDONLY),
    ("rnosuid", false, ATTR_NOSUID),
    ("rsuid", true, ATTR_NOSUID),
    ("rnodev", false, ATTR_NODEV),
    ("rdev", true, ATTR_NODEV),
    ("rnoexec", false, ATTR_NOEXEC),
    ("rexec", true, ATTR_NOEXEC),
    ("rnodiratime", false, ATTR_NODIRATIME),
    ("rdiratime", true, ATTR_NODIRATIME),
    ("rnosymfollow", false, ATTR_NOSYMFOLLOW),
    ("rsymfollow", true, ATTR_NOSYMFOLLOW),
];

/// The recursive access-time options, each a mode of the whole tree (the last one wins):
/// `ratime` and `rnostrictatime` mean the kernel's default, relatime; `rnorelatime`, the
/// traditional update on every access, strictatime.
fn rec_atime(name: &str) -> Option<u64> {
    Some(match name {
        "rnoatime" => ATTR_NOATIME,
        "rstrictatime" | "rnorelatime" => ATTR_STRICTATIME,
        "rrelatime" | "ratime" | "rnostrictatime" => 0,
        _ => return None,
    })
}

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
    let mut atime = None;
    for opt in options {
        if opt == "ro" || opt == "rw" {
            out.rw = opt == "rw";
        }
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
        } else if let Some(&(_, clear, attr)) = REC_ATTRS.iter().find(|(n, _, _)| n == opt) {
            if clear {
                (out.rec_set, out.rec_clr) = (out.rec_set & !attr, out.rec_clr | attr);
            } else {
                (out.rec_set, out.rec_clr) = (out.rec_set | attr, out.rec_clr & !attr);
            }
        } else if let Some(mode) = rec_atime(opt) {
            atime = Some(mode);
        } else {
            data.push(opt);
        }
    }
    if let Some(mode) = atime {
        out.rec_set = (out.rec_set & !ATTR_ATIME_MASK) | mode;
        out.rec_clr |= ATTR_ATIME_MASK;
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
    fn recursive_options_are_attributes_not_data() {
        let o = opts(&["rbind", "rro", "rnosuid", "rexec", "rnoatime", "rrelatime", "rnodiratime"]);
        assert_eq!(o.data, "");
        assert_eq!(o.flags, libc::MS_BIND | libc::MS_REC);
        assert_eq!(o.rec_set, ATTR_RDONLY | ATTR_NOSUID | ATTR_NODIRATIME, "rrelatime (0) replaced rnoatime");
        assert_eq!(o.rec_clr, ATTR_NOEXEC | ATTR_ATIME_MASK);
        let o = opts(&["rro", "rrw"]);
        assert_eq!((o.rec_set, o.rec_clr), (0, ATTR_RDONLY), "the last of a pair wins");
        assert_eq!(opts(&["rstrictatime"]).rec_set, ATTR_STRICTATIME);
        assert_eq!(opts(&["nosuid"]).rec_clr, 0, "no recursive option: nothing to set");
    }

    #[test]
    fn the_generic_flags_runc_knows_are_flags() {
        let o = opts(&["lazytime", "iversion", "silent", "nosymfollow"]);
        assert_eq!(o.flags, libc::MS_LAZYTIME | libc::MS_I_VERSION | libc::MS_SILENT | libc::MS_NOSYMFOLLOW);
        assert_eq!(o.data, "");
        assert_eq!(opts(&["lazytime", "nolazytime", "loud", "symfollow"]).flags, 0);
    }

    #[test]
    fn later_option_wins() {
        assert_eq!(opts(&["ro", "rw"]).flags, 0);
        assert_eq!(opts(&["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]).data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    }
}
