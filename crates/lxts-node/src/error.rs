//! Map core errors to JS `Error` objects with real properties.
//!
//! From JS every error thrown (or rejected) by this binding is an `Error` with
//! `message`, `code` (`ERR_LXTS_*`) and, when known, `errno` (number), `syscall`
//! (string) and `path` (string). Absent properties are not set.

use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi::{Env, Status};

/// Build the JS error on the JS thread and wrap it so napi throws that very object.
pub fn to_js(env: &Env, e: lxts_core::Error) -> napi::Error {
    match build(env, &e) {
        Ok(err) => err,
        // Building the object failed (exception pending?): fall back to napi's own error.
        Err(_) => napi::Error::new(Status::GenericFailure, format!("{}: {}", e.code.as_str(), e.message)),
    }
}

fn build(env: &Env, e: &lxts_core::Error) -> napi::Result<napi::Error> {
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.message.clone()))?;
    obj.set_named_property("code", e.code.as_str())?;
    if let Some(errno) = e.errno {
        obj.set_named_property("errno", errno)?;
    }
    if let Some(syscall) = e.syscall {
        obj.set_named_property("syscall", syscall)?;
    }
    if let Some(path) = &e.path {
        obj.set_named_property("path", path.as_str())?;
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

/// A core error carried through a napi `Task` from the worker thread to
/// `reject`, where [`to_js`] turns it into the JS object (JS objects can only be
/// made on the JS thread). Kept in a side slot, so no message is parsed back.
pub struct Carried(pub Option<lxts_core::Error>);

impl Carried {
    /// Stash `e` and return a placeholder napi error for `compute`'s result.
    pub fn put(&mut self, e: lxts_core::Error) -> napi::Error {
        let reason = e.message.clone();
        self.0 = Some(e);
        napi::Error::new(Status::GenericFailure, reason)
    }

    /// In `reject`: the stashed core error as a JS error, or `err` unchanged.
    pub fn take(&mut self, env: &Env, err: napi::Error) -> napi::Error {
        match self.0.take() {
            Some(e) => to_js(env, e),
            None => err,
        }
    }
}
