//! The container side: everything `lxts-helper` does, from reading the plan to
//! `execve`. Only the helper (single-threaded) calls into this module.

use crate::plan::Plan;
use crate::Result;

/// Run the helper for one plan. `control` is fd 3 (the control channel).
pub fn run(_plan: Plan, _control: std::os::fd::OwnedFd) -> Result<i32> {
    Err(crate::Error::new(crate::Code::Syscall, "not implemented"))
}
