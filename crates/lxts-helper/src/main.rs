//! lxts-helper: re-exec from a sealed copy, read one plan from fd 3, create the container.

mod abort;
mod sealed;
mod tool_modes;

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
    /// The channel closed before a plan: a spare helper Node no longer needs (or its end).
    Nothing,
}

/// Read the plan line and decide by its `mode`.
fn read_request(control: &OwnedFd) -> Result<Request> {
    let line = read_line(control)?;
    if line.is_empty() {
        return Ok(Request::Nothing);
    }
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

/// Whether data (or EOF) is already waiting on `fd`.
fn readable(fd: &OwnedFd) -> bool {
    let mut p = libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(fd), events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd on an open fd, no wait.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// Read exactly one line (the plan) without consuming anything after it: peek at what has
/// arrived, then take up to the newline (a plan is one `recv` or a few, not a byte each).
fn read_line(control: &OwnedFd) -> Result<Vec<u8>> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(control);
    let mut line = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: recv into a buffer we own, of its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_PEEK) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::new(Code::Protocol, format!("read plan from fd 3: {e}")));
        }
        let peeked = &buf[..n as usize];
        let end = peeked.iter().position(|b| *b == b'\n');
        let take = end.map_or(peeked.len(), |i| i + 1);
        // Consume exactly the bytes just examined (they are queued, so this does not block).
        let mut got = 0;
        while got < take {
            // SAFETY: recv into the unfilled rest of the examined prefix of our buffer.
            let r = unsafe { libc::recv(fd, buf[got..].as_mut_ptr().cast(), take - got, 0) };
            if r <= 0 {
                let e = std::io::Error::last_os_error();
                if r < 0 && e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::new(Code::Protocol, format!("read plan from fd 3: {e}")));
            }
            got += r as usize;
        }
        match end {
            Some(i) => {
                line.extend_from_slice(&buf[..i]);
                return Ok(line);
            }
            None if n == 0 => return Ok(line),
            None => line.extend_from_slice(&buf[..take]),
        }
    }
}

/// Close every fd above the protocol's own: 0-2, the control channel (3) and the
/// `preserve` fds from 4. Node (libuv) hands on any fd its parent left without
/// close-on-exec; the init would otherwise hold it (a host pipe, a directory) for as long
/// as it waits in `created` (CVE-2016-9962, CVE-2024-21626). Nothing of the helper's own
/// is open above them yet. Best effort: `fds::prepare` still marks the rest close-on-exec.
fn close_inherited(preserve: u32) {
    let first = container::fds::PRESERVE_SOURCE as libc::c_uint + preserve;
    let close = |from: libc::c_uint, to: libc::c_uint| {
        // SAFETY: close_range only closes fd numbers; none in the range is in use here.
        unsafe { libc::syscall(libc::SYS_close_range, from, to, 0 as libc::c_uint) };
    };
    // The device filter loaded while the plan was on its way is ours (main).
    match lxts_core::cgroups::resources::devices_bpf::preloaded_fd().map(|fd| fd as libc::c_uint) {
        Some(p) if p >= first => {
            if p > first {
                close(first, p - 1);
            }
            close(p + 1, libc::c_uint::MAX);
        }
        _ => close(first, libc::c_uint::MAX),
    }
}

/// Make fds 0-2 blocking, as libuv's spawn did in its child: Node sets O_NONBLOCK on a pipe
/// or tty it writes to, and posix_spawn hands the same open file descriptions on. Hooks the
/// helper forks (and its own writes) expect blocking stdio; the container's process gets it
/// from `fds::prepare` as well. The flag belongs to the shared description, as with libuv.
fn blocking_stdio() {
    for fd in 0..=2 {
        // SAFETY: F_GETFL/F_SETFL on fd numbers 0-2; a closed one just fails.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
}

fn main() {
    blocking_stdio();
    // SAFETY: ignoring SIGPIPE so a closed control channel is an error, not death.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // Spawned as /proc/self/fd/N or re-exec'd from a sealed image, the kernel names us after the fd.
    let _ = lxts_core::container::sys::prctl(libc::PR_SET_NAME, c"lxts-helper".as_ptr() as libc::c_ulong, "PR_SET_NAME");
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("lxts-helper {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if let Some(code) = tool_modes::dispatch() {
        std::process::exit(code);
    }
    // SAFETY: fd 3 is the control channel handed over by Node; we own it from here.
    let control = unsafe { OwnedFd::from_raw_fd(CONTROL_FD) };
    let plan = match sealed::ensure().and_then(|()| {
        // Close-on-exec once past the sealed re-exec (which must keep it): Node reaps this helper
        // when the channel closes, so nothing it starts may hold it open (forks close it).
        // SAFETY: F_SETFD on the fd we own.
        unsafe { libc::fcntl(CONTROL_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
        if !readable(&control) {
            // Idle until the plan comes (a spare, or Node still composing it): load the usual
            // device filter meanwhile, which a container with runc's default rules then attaches.
            lxts_core::cgroups::resources::preload_device_filter();
        }
        read_request(&control)
    }) {
        Ok(Request::Container(plan)) => {
            close_inherited(plan.preserve_fds);
            *plan
        }
        Ok(Request::Exec(plan)) => {
            lxts_core::cgroups::resources::devices_bpf::drop_preloaded();
            close_inherited(plan.preserve_fds);
            std::process::exit(container::exec::enter::run(*plan, control).unwrap_or(1))
        }
        Ok(Request::Nothing) => std::process::exit(0),
        Err(e) => {
            let _ = container::write_report(&control, &e.to_report());
            std::process::exit(1);
        }
    };
    // `run` reports its own errors on the channel (it owns it, so the init can close it).
    std::process::exit(container::run(plan, control).unwrap_or(1));
}
