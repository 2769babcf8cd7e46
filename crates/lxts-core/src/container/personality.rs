//! `linux.personality` (personality(2)): the execution domain of the container's processes,
//! set by the init and by each exec'd process just before `execve`, as runc does.

use crate::plan::Personality;
use crate::{Code, Error, Result};

/// `PER_LINUX` and `PER_LINUX32` from `<linux/personality.h>`.
const PER_LINUX: libc::c_ulong = 0x0000;
const PER_LINUX32: libc::c_ulong = 0x0008;

/// The `personality(2)` value of `linux.personality`. runtime-spec defines the domains
/// `LINUX` and `LINUX32` and no flag yet: any flag is refused rather than dropped (runc
/// ignores them with a warning).
pub fn value(p: &Personality) -> Result<libc::c_ulong> {
    let domain = match p.domain.as_str() {
        "LINUX" => PER_LINUX,
        "LINUX32" => PER_LINUX32,
        d => return Err(Error::new(Code::InvalidConfig, format!("linux.personality.domain {d:?} is not LINUX or LINUX32"))),
    };
    if let Some(f) = p.flags.first() {
        return Err(Error::new(
            Code::InvalidConfig,
            format!("linux.personality.flags[0] {f:?}: runtime-spec defines no personality flags"),
        ));
    }
    Ok(domain)
}

/// Set the personality of this process (inherited across `execve`).
pub fn apply(p: Option<&Personality>) -> Result<()> {
    let Some(p) = p else { return Ok(()) };
    let v = value(p)?;
    // SAFETY: personality takes an integer; -1 with errno is its only failure.
    if unsafe { libc::personality(v) } < 0 {
        return Err(Error::sys(Code::Process, "personality", None, nix::errno::Errno::last()).context("linux.personality"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(domain: &str, flags: &[&str]) -> Personality {
        Personality { domain: domain.to_owned(), flags: flags.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn domains() {
        assert_eq!(value(&p("LINUX", &[])).unwrap(), 0);
        assert_eq!(value(&p("LINUX32", &[])).unwrap(), 8);
    }

    #[test]
    fn refusals_name_the_field() {
        let e = value(&p("BSD", &[])).unwrap_err();
        assert_eq!(e.code, Code::InvalidConfig);
        assert!(e.message.contains("linux.personality.domain"));
        let e = value(&p("", &[])).unwrap_err();
        assert!(e.message.contains("linux.personality.domain"));
        let e = value(&p("LINUX", &["ADDR_NO_RANDOMIZE"])).unwrap_err();
        assert!(e.message.contains("linux.personality.flags[0]"));
    }
}
