//! Errors of the core, each with a stable `ERR_LXTS_*` code that crosses to TypeScript.

use std::fmt;

/// Stable error codes shared with `ts/errors.ts`. Never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A syscall failed and no more specific code applies.
    Syscall,
    /// The plan or config cannot be honoured (field named in the message).
    InvalidConfig,
    /// A mount in the rootfs failed or was refused (hostile path, wrong type).
    Mount,
    /// A path inside the rootfs escapes it or has the wrong type.
    UnsafePath,
    /// Namespace creation or join failed.
    Namespace,
    /// Cgroup creation, write or removal failed.
    Cgroup,
    /// `process.args[0]` was not found in the container.
    ExecNotFound,
    /// `process.args[0]` exists but cannot be executed.
    ExecFailed,
    /// The process in question no longer exists (or its pid was reused).
    NoSuchProcess,
    /// A capability, user or rlimit could not be applied.
    Process,
    /// The control channel broke.
    Protocol,
    /// Valid config that lxts cannot honour on this host (e.g. device rules on cgroup v2).
    Unsupported,
    /// A createContainer or startContainer hook failed (run by the init).
    Hook,
    /// `lxts-helper` could not be started or reaped.
    Helper,
}

impl Code {
    /// The string form, e.g. `ERR_LXTS_MOUNT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syscall => "ERR_LXTS_SYSCALL",
            Code::InvalidConfig => "ERR_LXTS_INVALID_CONFIG",
            Code::Mount => "ERR_LXTS_MOUNT",
            Code::UnsafePath => "ERR_LXTS_UNSAFE_PATH",
            Code::Namespace => "ERR_LXTS_NAMESPACE",
            Code::Cgroup => "ERR_LXTS_CGROUP",
            Code::ExecNotFound => "ERR_LXTS_EXEC_NOT_FOUND",
            Code::ExecFailed => "ERR_LXTS_EXEC_FAILED",
            Code::NoSuchProcess => "ERR_LXTS_NO_SUCH_PROCESS",
            Code::Process => "ERR_LXTS_PROCESS",
            Code::Protocol => "ERR_LXTS_PROTOCOL",
            Code::Unsupported => "ERR_LXTS_UNSUPPORTED",
            Code::Hook => "ERR_LXTS_HOOK",
            Code::Helper => "ERR_LXTS_HELPER",
        }
    }

    /// The inverse of [`Code::as_str`] (used when the container init reports an error).
    pub fn from_str_code(s: &str) -> Option<Code> {
        [
            Code::Syscall,
            Code::InvalidConfig,
            Code::Mount,
            Code::UnsafePath,
            Code::Namespace,
            Code::Cgroup,
            Code::ExecNotFound,
            Code::ExecFailed,
            Code::NoSuchProcess,
            Code::Process,
            Code::Protocol,
            Code::Unsupported,
            Code::Hook,
            Code::Helper,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// An error with its code and whatever context is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    pub syscall: Option<&'static str>,
    pub path: Option<String>,
    pub errno: Option<i32>,
}

impl Error {
    /// A plain error with a code and message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), syscall: None, path: None, errno: None }
    }

    /// A failed syscall on an optional path: `"{what}: {syscall} {path}: {errno}"`.
    pub fn sys(code: Code, syscall: &'static str, path: Option<&str>, errno: nix::errno::Errno) -> Self {
        let message = match path {
            Some(p) => format!("{syscall} {p}: {}", errno.desc()),
            None => format!("{syscall}: {}", errno.desc()),
        };
        Error { code, message, syscall: Some(syscall), path: path.map(str::to_owned), errno: Some(errno as i32) }
    }

    /// [`Error::sys`] for a failed `std` I/O call (EIO when it carries no errno).
    pub fn io(code: Code, syscall: &'static str, path: Option<&str>, e: &std::io::Error) -> Self {
        Error::sys(code, syscall, path, nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    }

    /// Prefix the message with what was being done (`"mount /proc: …"`).
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The report sent to Node on the control channel.
    pub fn to_report(&self) -> crate::plan::Report {
        crate::plan::Report::Error {
            code: self.code.as_str().to_owned(),
            message: self.message.clone(),
            syscall: self.syscall.map(str::to_owned),
            path: self.path.clone(),
            errno: self.errno,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Error {}

/// Result alias used across the core.
pub type Result<T> = std::result::Result<T, Error>;
