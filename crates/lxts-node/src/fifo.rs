//! `exec.fifo` read to its end on one libuv pool thread (open, reads, close), where
//! `fs.readFile` takes a pool round trip for each of those steps.

use std::io::Read;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi_derive::napi;

use crate::blocking::{blocking, Blocking};
use lxts_core::{Code, Error};

/// Resolves the whole content of `path` once its writer closes it (for `exec.fifo`).
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn read_to_end(path: String) -> AsyncTask<Blocking<Buffer>> {
    blocking(move || {
        let io = |syscall: &'static str, e: std::io::Error| Error::io(Code::Syscall, syscall, Some(&path), &e);
        let mut out = Vec::new();
        let mut f = std::fs::File::open(&path).map_err(|e| io("open", e))?;
        f.read_to_end(&mut out).map_err(|e| io("read", e))?;
        Ok(out.into())
    })
}
