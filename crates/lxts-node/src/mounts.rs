//! The host mount of a container without a mount namespace ([`lxts_core::hostmount`]).

use napi::Env;
use napi_derive::napi;

use crate::error::to_js;

/// Detach the rootfs mount recorded in `<stateDir>/root-mount` (with every mount below it) and
/// remove the record. A no-op without a record or when the mount is already gone.
#[napi]
pub fn release_root_mount(env: Env, state_dir: String) -> napi::Result<()> {
    lxts_core::hostmount::release_recorded(&state_dir).map_err(|e| to_js(&env, e))
}
