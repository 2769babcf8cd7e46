//! lxts-core: the mechanism of the lxts container runtime.
//!
//! Pure Rust over `nix` and `libc`; it knows nothing of Node or napi. Two users:
//! `lxts-helper` (the single-threaded binary that becomes the container) and
//! `lxts-node` (the napi binding used from the Node process, which never clones
//! into namespaces).

pub mod cgroups;
pub mod container;
pub mod error;
pub mod hostmount;
pub mod launch;
pub mod plan;
pub mod proc;

pub use error::{Code, Error, Result};
