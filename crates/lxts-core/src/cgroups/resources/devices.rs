//! `linux.resources.devices`: the v1 devices controller (`devices.allow` / `devices.deny`).
//!
//! Rules are written in config order, then lxts's defaults (the devices every
//! container gets, as runc appends its `AllowedDevices`). A wildcard deny (`a`)
//! resets the kernel's exception list, so after runc's usual deny-all-then-allow
//! config `devices.list` shows the configured allow rules in config order, then the
//! defaults.
//!
//! Defaults (runc's list, decided for lxts): `mknod` of any char/block device (the
//! node is useless without an allow rule), `/dev/null` 1:3, `/dev/zero` 1:5,
//! `/dev/full` 1:7, `/dev/random` 1:8, `/dev/urandom` 1:9, `/dev/tty` 5:0,
//! `/dev/ptmx` 5:2 and `/dev/pts/*` 136:*. `/dev/console` (5:1) is not included:
//! lxts binds the console's pty there, which is a 136:* device.
//!
//! cgroup v2 has no devices files: the same lines (config, then defaults) become an
//! eBPF `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the container's cgroup2
//! directory (`devices_bpf`); rules that allow everything detach it instead.
//!
//! Hybrid host: the v1 controller alone, as runc. (lxts once attached the same program to
//! the container's cgroup2 directory as well; the kernel enforced both, and they decided
//! alike, so it bought nothing for a verifier run and a program per container.)

use super::{devices_bpf, field_error, write, Target};
use crate::plan::DeviceRule;
use crate::{Code, Error, Result};

/// The allow rules added after the config's rules, as `devices.allow` lines.
pub const DEFAULT_RULES: &[&str] =
    &["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"];

/// One rule as a v1 line (`c 1:3 rwm`, `a`), or an error naming the field.
pub(super) fn line(i: usize, r: &DeviceRule) -> Result<String> {
    let field = |k: &str| format!("devices[{i}].{k}");
    let kind = r.kind.as_deref().unwrap_or("a");
    if !matches!(kind, "a" | "b" | "c") {
        return Err(field_error(&field("type"), format!("{kind:?} must be \"a\", \"b\" or \"c\"")));
    }
    let access = r.access.as_deref().unwrap_or("rwm");
    if access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(field_error(&field("access"), format!("{access:?} must be made of r, w and m")));
    }
    let num = |k: &str, v: Option<i64>| -> Result<String> {
        match v {
            None | Some(-1) => Ok("*".to_owned()),
            Some(n) if (0..=u32::MAX as i64).contains(&n) => Ok(n.to_string()),
            Some(n) => Err(field_error(&field(k), format!("{n} is not a device number"))),
        }
    };
    let (major, minor) = (num("major", r.major)?, num("minor", r.minor)?);
    if kind == "a" {
        // The kernel reads "a" as every device with every access; anything narrower cannot be said.
        if major != "*" || minor != "*" || access.len() < 3 {
            return Err(field_error(&field("type"), "type \"a\" (all devices) takes no major/minor and access rwm".to_owned()));
        }
        return Ok("a".to_owned());
    }
    Ok(format!("{kind} {major}:{minor} {access}"))
}

/// Whether a rule list, applied in order, ends in "allow every device".
fn allows_everything(rules: &[DeviceRule]) -> bool {
    rules.last().is_some_and(|r| r.allow && r.kind.as_deref().unwrap_or("a") == "a")
}

pub(super) fn apply(t: &Target, rules: &[DeviceRule]) -> Result<()> {
    let lines = rules.iter().enumerate().map(|(i, r)| line(i, r)).collect::<Result<Vec<_>>>()?;
    let all = allows_everything(rules);
    if t.v2 {
        return filter(t.v2_dir("devices")?, rules, &lines, all);
    }
    let dir = t.v1_dir("devices", "devices")?;
    for (i, (r, l)) in rules.iter().zip(&lines).enumerate() {
        let file = if r.allow { "devices.allow" } else { "devices.deny" };
        write(dir, file, l, &format!("devices[{i}]"))?;
    }
    if !all {
        for l in DEFAULT_RULES {
            write(dir, "devices.allow", l, "devices (lxts default rules)")?;
        }
    }
    Ok(())
}

/// The eBPF filter on a cgroup2 directory for the same lines as v1 (config, defaults).
fn filter(dir: &std::path::Path, rules: &[DeviceRule], lines: &[String], all: bool) -> Result<()> {
    if all {
        return devices_bpf::clear(dir);
    }
    devices_bpf::apply(dir, &compiled(rules, lines)?)
}

/// The filter's rules: the config's lines, then the defaults.
fn compiled(rules: &[DeviceRule], lines: &[String]) -> Result<Vec<devices_bpf::Rule>> {
    rules
        .iter()
        .zip(lines)
        .map(|(r, l)| (r.allow, l.as_str()))
        .chain(DEFAULT_RULES.iter().map(|l| (true, *l)))
        .map(|(allow, l)| {
            devices_bpf::parse(allow, l)
                .ok_or_else(|| Error::new(Code::Cgroup, format!("linux.resources.devices: cannot compile rule {l:?}")))
        })
        .collect()
}

/// Load ahead the filter of the usual config, runc's default spec: deny everything, then
/// lxts's defaults (see `devices_bpf::preload`).
pub fn preload_usual_filter() -> Result<()> {
    let deny_all = [DeviceRule { allow: false, kind: None, major: None, minor: None, access: Some("rwm".to_owned()) }];
    let lines = deny_all.iter().enumerate().map(|(i, r)| line(i, r)).collect::<Result<Vec<_>>>()?;
    devices_bpf::preload(&compiled(&deny_all, &lines)?)
}
