//! `exec.fifo` read to its end on one libuv pool thread (open, reads, close), where
//! `fs.readFile` takes a pool round trip for each of those steps.

use std::io::Read;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;

use crate::error::Carried;
use lxts_core::{Code, Error};

/// Reads a file (a fifo: blocks until a writer opens it and closes it) to its end.
pub struct ReadToEnd {
    path: String,
    err: Carried,
}

impl Task for ReadToEnd {
    type Output = Vec<u8>;
    type JsValue = Buffer;

    fn compute(&mut self) -> napi::Result<Vec<u8>> {
        let io = |syscall: &'static str, e: std::io::Error| {
            Error::sys(Code::Syscall, syscall, Some(&self.path), nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        };
        let mut out = Vec::new();
        let res =
            std::fs::File::open(&self.path).map_err(|e| io("open", e)).and_then(|mut f| f.read_to_end(&mut out).map_err(|e| io("read", e)));
        match res {
            Ok(_) => Ok(out),
            Err(e) => Err(self.err.put(e)),
        }
    }

    fn resolve(&mut self, _env: Env, bytes: Vec<u8>) -> napi::Result<Buffer> {
        Ok(bytes.into())
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<Buffer> {
        Err(self.err.take(&env, err))
    }
}

/// Resolves the whole content of `path` once its writer closes it (for `exec.fifo`).
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn read_to_end(path: String) -> AsyncTask<ReadToEnd> {
    AsyncTask::new(ReadToEnd { path, err: Carried(None) })
}
