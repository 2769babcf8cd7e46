//! Cgroups on v1, hybrid and v2 hosts: detection from `/proc/self/mountinfo`,
//! creation of a container's group under every hierarchy, and removal.
//!
//! Owner: host-side work. The helper calls [`detect`] and [`create`]; the napi
//! binding calls [`remove`] and [`pids`].

pub mod detect;
pub mod manage;

pub use detect::{detect, Hierarchy, Host, HostMode};
pub use manage::{create, pids, remove, ContainerCgroup};
