#![deny(clippy::all)]
// napi-derive registers exports only outside `cfg(test)`, so a test build sees them unused.
#![cfg_attr(test, allow(dead_code))]
//! napi binding for lxts: conversions and error mapping over `lxts-core`.
//!
//! Every thrown error carries `code` (`ERR_LXTS_*`) and, when known, `errno`,
//! `syscall` and `path`; see [`error`].

mod blocking;
mod cgroup;
mod cgroup_tool;
mod error;
mod fifo;
mod helper;
mod lock;
mod mounts;
mod process;
mod resources;
mod tty;
