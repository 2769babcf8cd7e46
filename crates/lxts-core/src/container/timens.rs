//! A new time namespace with `linux.timeOffsets` (time_namespaces(7)).
//!
//! `unshare(CLONE_NEWTIME)` does not move the caller: it makes the namespace its children
//! are created in, and offsets can be written to `/proc/self/timens_offsets` only until a
//! process has entered it. So the helper (single-threaded; never Node) unshares it after
//! its pre-clone joins (a joined user namespace then owns it, else the helper's own),
//! writes the offsets, and `clone3`s the init without `CLONE_NEWTIME` (that flag would
//! make yet another namespace, without offsets): the init is born in it, and everything
//! it forks and execs stays there. `exec` joins it with `setns(pidfd, CLONE_NEWTIME)`.
//! Unlike runc (which unshares it in its stage-1 child, inside a new user namespace), the
//! namespace is owned by the helper's user namespace, not a new one of the container:
//! the container's root cannot `setns` back into it, which nothing in a container needs.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::sys;
use crate::{Code, Error, Result};

/// The clocks a time namespace offsets, in the order they are written.
const CLOCKS: [&str; 2] = ["monotonic", "boottime"];

/// One clock's offset: `<clock> <secs> <nanosecs>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub clock: &'static str,
    pub secs: i64,
    pub nanosecs: u32,
}

fn invalid(field: &str, why: &str) -> Error {
    Error::new(Code::InvalidConfig, format!("{field} {why}"))
}

/// Parse `linux.timeOffsets` (`{"monotonic":{"secs":N,"nanosecs":M},"boottime":{…}}`).
/// Absent, `null` or `{}` is no offsets. Every error names its field.
pub fn parse(v: Option<&serde_json::Value>) -> Result<Vec<Offset>> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let map = v.as_object().ok_or_else(|| invalid("linux.timeOffsets", "must be an object"))?;
    if let Some(k) = map.keys().find(|k| !CLOCKS.contains(&k.as_str())) {
        return Err(invalid(&format!("linux.timeOffsets.{k}"), "is not a clock of a time namespace (monotonic, boottime)"));
    }
    let mut out = Vec::new();
    for clock in CLOCKS {
        let Some(o) = map.get(clock) else { continue };
        let field = format!("linux.timeOffsets.{clock}");
        let o = o.as_object().ok_or_else(|| invalid(&field, "must be an object with secs and nanosecs"))?;
        let secs = match o.get("secs") {
            None | Some(serde_json::Value::Null) => 0,
            Some(s) => s.as_i64().ok_or_else(|| invalid(&format!("{field}.secs"), "must be a 64-bit integer"))?,
        };
        let nanosecs = match o.get("nanosecs") {
            None | Some(serde_json::Value::Null) => 0,
            Some(n) => {
                n.as_u64()
                    .filter(|n| *n < 1_000_000_000)
                    .ok_or_else(|| invalid(&format!("{field}.nanosecs"), "must be an integer from 0 to 999999999"))? as u32
            }
        };
        out.push(Offset { clock, secs, nanosecs });
    }
    Ok(out)
}

/// The text written to `timens_offsets`: one `<clock> <secs> <nanosecs>` line per clock.
pub fn format(offsets: &[Offset]) -> String {
    offsets.iter().map(|o| format!("{} {} {}\n", o.clock, o.secs, o.nanosecs)).collect()
}

/// `unshare(CLONE_NEWTIME)` and write `offsets` for the namespace our children will be
/// created in. Must run before any process entered it (before the init's clone).
pub fn unshare_with_offsets(proc_fd: &OwnedFd, offsets: &[Offset]) -> Result<()> {
    // SAFETY: unshare with a namespace flag; the helper is single-threaded. It only changes
    // the namespace of our future children.
    sys::cvt(unsafe { libc::unshare(libc::CLONE_NEWTIME) }, Code::Namespace, "unshare", Some("time"))
        .map_err(|e| e.context("linux.namespaces[time]"))?;
    if offsets.is_empty() {
        return Ok(());
    }
    let shown = "/proc/self/timens_offsets";
    let rel = sys::cstr("self/timens_offsets")?;
    // SAFETY: openat in the verified host procfs with a valid C string.
    let fd = unsafe { libc::openat(proc_fd.as_raw_fd(), rel.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW) };
    let fd = sys::owned(sys::cvt(fd, Code::Namespace, "openat", Some(shown)).map_err(|e| e.context("linux.timeOffsets"))?);
    let text = format(offsets);
    // SAFETY: `text` is a valid buffer of its length; the kernel takes every line in one write.
    let n = unsafe { libc::write(fd.as_raw_fd(), text.as_ptr().cast(), text.len()) };
    if n < 0 {
        let errno = Errno::last();
        // ERANGE: a clock would go negative or past the kernel's limit with this offset.
        return Err(Error::sys(Code::InvalidConfig, "write", Some(shown), errno)
            .context(format!("linux.timeOffsets {:?} refused by the kernel", text.trim_end().replace('\n', ", "))));
    }
    if n as usize != text.len() {
        return Err(Error::new(Code::Namespace, format!("write {shown}: short write ({n} of {} bytes)", text.len())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_formats_in_clock_order() {
        let v = json!({ "boottime": { "secs": 1_000_000 }, "monotonic": { "secs": -5, "nanosecs": 250 } });
        let o = parse(Some(&v)).unwrap();
        assert_eq!(
            o,
            vec![Offset { clock: "monotonic", secs: -5, nanosecs: 250 }, Offset { clock: "boottime", secs: 1_000_000, nanosecs: 0 }]
        );
        assert_eq!(format(&o), "monotonic -5 250\nboottime 1000000 0\n");
    }

    #[test]
    fn empty_and_absent_are_no_offsets() {
        assert!(parse(None).unwrap().is_empty());
        assert!(parse(Some(&json!(null))).unwrap().is_empty());
        assert!(parse(Some(&json!({}))).unwrap().is_empty());
        assert_eq!(parse(Some(&json!({ "monotonic": {} }))).unwrap(), vec![Offset { clock: "monotonic", secs: 0, nanosecs: 0 }]);
        assert_eq!(format(&[]), "");
    }

    #[test]
    fn refusals_name_the_field() {
        let msg = |v: serde_json::Value| {
            let e = parse(Some(&v)).unwrap_err();
            assert_eq!(e.code, Code::InvalidConfig);
            e.to_string()
        };
        assert!(msg(json!({ "realtime": { "secs": 1 } })).contains("linux.timeOffsets.realtime"));
        assert!(msg(json!({ "monotonic": { "nanosecs": 1_000_000_000 } })).contains("linux.timeOffsets.monotonic.nanosecs"));
        assert!(msg(json!({ "monotonic": { "nanosecs": -1 } })).contains("linux.timeOffsets.monotonic.nanosecs"));
        assert!(msg(json!({ "boottime": { "secs": 1.5 } })).contains("linux.timeOffsets.boottime.secs"));
        assert!(msg(json!({ "boottime": 3 })).contains("linux.timeOffsets.boottime"));
        assert!(msg(json!([1])).contains("linux.timeOffsets"));
    }
}
