//! Cgroups on v1, hybrid and v2 hosts: detection from `/proc/self/mountinfo`,
//! creation of a container's group under every hierarchy, and removal.
//!
//! Owner: host-side work. The helper calls [`detect`] and [`create`]; the napi
//! binding calls [`remove`] and [`pids`]. [`freeze`], [`tool`] and [`notify`] are the
//! primitives behind pause/resume, `kill --all` and `lxts cgroup …`.

pub mod detect;
pub mod freeze;
pub mod manage;
pub mod notify;
pub mod oom;
pub mod resources;
pub mod stats;
#[cfg(test)]
mod test_dir;
pub mod tool;

pub use detect::{detect, Hierarchy, Host, HostMode};
pub use manage::{create, join_all_self, join_self, pids, remove, ContainerCgroup};
