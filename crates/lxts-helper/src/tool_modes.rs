//! Helper modes for `lxts cgroup`, chosen by the first argument (no control channel):
//!
//! * `cgroup-exec DIR… -- CMD ARG…`: move itself into each group (`0` to a v1 group's
//!   `tasks`, a v2 group's `cgroup.procs`), then `execvp(CMD)`, so the command (and
//!   everything it forks) starts inside the groups. The helper is single-threaded, so the
//!   whole process moves.
//! * `release-agent OUT CGROUP_PATH`: the v1 `release_agent` program (through a
//!   wrapper script naming OUT): append one JSON line for the released group to OUT.

use std::path::{Path, PathBuf};

use lxts_core::cgroups::{notify, tool};
use lxts_core::Code;

/// Run a tool mode when argv asks for one; returns the exit code, or `None` for the
/// normal (control channel) modes.
pub fn dispatch() -> Option<i32> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("cgroup-exec") => Some(cgroup_exec(&args[1..])),
        Some("release-agent") => Some(release_agent(&args[1..])),
        _ => None,
    }
}

fn cgroup_exec(args: &[String]) -> i32 {
    let Some(sep) = args.iter().position(|a| a == "--") else {
        eprintln!("lxts-helper cgroup-exec: usage: cgroup-exec DIR... -- CMD [ARG...]");
        return 125;
    };
    let dirs: Vec<PathBuf> = args[..sep].iter().map(PathBuf::from).collect();
    let e = tool::exec_in(&dirs, &args[sep + 1..]);
    eprintln!("lxts: {}: {}", e.code.as_str(), e.message);
    match e.code {
        Code::ExecNotFound => 127,
        Code::ExecFailed => 126,
        _ => 125,
    }
}

fn release_agent(args: &[String]) -> i32 {
    let [out, path] = args else {
        eprintln!("lxts-helper release-agent: usage: release-agent OUT CGROUP_PATH");
        return 2;
    };
    match notify::record_release(Path::new(out), path) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("lxts: {}: {}", e.code.as_str(), e.message);
            1
        }
    }
}
