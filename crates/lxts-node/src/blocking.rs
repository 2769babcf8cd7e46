//! A blocking core call run on a libuv pool thread (`AsyncTask`); its error crosses as the
//! real `ERR_LXTS_*` object.

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};

use crate::error::Carried;

/// A blocking core call run on the pool; its error crosses as the real `ERR_LXTS_*` object.
pub struct Blocking<T: Send + 'static> {
    work: Option<Box<dyn FnOnce() -> lxts_core::Result<T> + Send>>,
    err: Carried,
}

impl<T: Send + 'static + napi::bindgen_prelude::ToNapiValue + napi::bindgen_prelude::TypeName> Task for Blocking<T> {
    type Output = T;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<T> {
        let work = self.work.take().ok_or_else(|| napi::Error::from_reason("task ran twice"))?;
        work().map_err(|e| self.err.put(e))
    }

    fn resolve(&mut self, _env: Env, out: T) -> napi::Result<T> {
        Ok(out)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<T> {
        Err(self.err.take(&env, err))
    }
}

pub fn blocking<T: Send + 'static>(f: impl FnOnce() -> lxts_core::Result<T> + Send + 'static) -> AsyncTask<Blocking<T>>
where
    Blocking<T>: Task,
{
    AsyncTask::new(Blocking { work: Some(Box::new(f)), err: Carried(None) })
}
