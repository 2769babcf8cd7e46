//! lxts-helper: re-exec from a sealed copy, read one plan from fd 3, create the container.

mod sealed;
mod tool_modes;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

use lxts_core::container;
use lxts_core::plan::Plan;
use lxts_core::{Code, Error, Result};

/// The control channel Node passes.
const CONTROL_FD: i32 = 3;

/// What the plan line asks for: a container (`create`/`monitor`) or an exec into one.
enum Request {
    Container(Box<Plan>),
    Exec(Box<container::exec::enter::ExecPlan>),
}

/// Read the plan line and decide by its `mode`.
fn read_request(control: &OwnedFd) -> Result<Request> {
    let line = read_line(control)?;
    #[derive(serde::Deserialize)]
    struct ModeOnly {
        mode: String,
    }
    let bad = |e: serde_json::Error| Error::new(Code::Protocol, format!("plan is not valid JSON: {e}"));
    if serde_json::from_slice::<ModeOnly>(&line).map_err(bad)?.mode == "exec" {
        return Ok(Request::Exec(Box::new(serde_json::from_slice(&line).map_err(bad)?)));
    }
    Ok(Request::Container(Box::new(serde_json::from_slice(&line).map_err(bad)?)))
}

/// Read exactly one line (the plan) without consuming anything after it.
fn read_line(control: &OwnedFd) -> Result<Vec<u8>> {
    // SAFETY: a File view of fd 3 that must not close it.
    let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(std::os::fd::AsRawFd::as_raw_fd(control)) });
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match f.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::new(Code::Protocol, format!("read plan from fd 3: {e}"))),
        }
    }
    Ok(line)
}

/// Close every fd above the protocol's own: 0-2, the control channel (3) and the
/// `preserve` fds from 4. Node (libuv) hands on any fd its parent left without
/// close-on-exec; the init would otherwise hold it (a host pipe, a directory) for as long
/// as it waits in `created` (CVE-2016-9962, CVE-2024-21626). Nothing of the helper's own
/// is open above them yet. Best effort: `fds::prepare` still marks the rest close-on-exec.
fn close_inherited(preserve: u32) {
    let first = container::fds::PRESERVE_SOURCE as libc::c_uint + preserve;
    // SAFETY: close_range only closes fd numbers; none at or above `first` is in use here.
    unsafe { libc::syscall(libc::SYS_close_range, first, libc::c_uint::MAX, 0 as libc::c_uint) };
}

fn main() {
    // SAFETY: ignoring SIGPIPE so a closed control channel is an error, not death.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("lxts-helper {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if let Some(code) = tool_modes::dispatch() {
        std::process::exit(code);
    }
    // SAFETY: fd 3 is the control channel handed over by Node; we own it from here.
    let control = unsafe { OwnedFd::from_raw_fd(CONTROL_FD) };
    let plan = match sealed::ensure().and_then(|()| read_request(&control)) {
        Ok(Request::Container(plan)) => {
            close_inherited(plan.preserve_fds);
            *plan
        }
        Ok(Request::Exec(plan)) => {
            close_inherited(plan.preserve_fds);
            std::process::exit(container::exec::enter::run(*plan, control).unwrap_or(1))
        }
        Err(e) => {
            let _ = container::write_report(&control, &e.to_report());
            std::process::exit(1);
        }
    };
    // `run` reports its own errors on the channel (it owns it, so the init can close it).
    std::process::exit(container::run(plan, control).unwrap_or(1));
}
