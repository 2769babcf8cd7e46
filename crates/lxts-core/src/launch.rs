//! Host side: start `lxts-helper` from the Node process without forking Node.
//!
//! libuv's `spawn` is a `fork` of Node: the kernel copies the page tables of a process
//! of ~100 MiB, the child tears that copy down again at `execve`, and the event loop is
//! blocked meanwhile (~1.5-3 ms here, per helper). `posix_spawn` (glibc and musl: `clone`
//! with `CLONE_VM|CLONE_VFORK` on a fresh stack) does neither; between its clone and the
//! `execve` the child makes only the file-action syscalls below, which is the engine's rule.
//!
//! The child gets: fds 0-2 as asked (the caller's own, or `/dev/null`), the control socket
//! on fd 3, the environment the caller passes (Node's `process.env`, never the live
//! `environ`, which a Worker may be changing meanwhile), default dispositions for every
//! signal, an empty signal mask and, for a monitor, its own session. Everything else Node has
//! open is close-on-exec (libuv opens that way), as with libuv's spawn. The helper makes its
//! fds 0-2 blocking again first thing, as libuv's child did. The caller owns a pidfd for the
//! child, signals through it ([`signal`]) and reaps with [`wait`].

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::container::sys;
use crate::{Code, Error, Result};

/// One of the helper's fds 0-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio {
    /// `/dev/null`, opened read-write.
    Null,
    /// This fd of the caller (its own 0-2, or a file it opened at 3 or above).
    Fd(RawFd),
}

/// A started helper: its pid, a pidfd for it and the caller's end of the control socket.
#[derive(Debug)]
pub struct Launched {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub control: OwnedFd,
    /// How much of `first` is already on the control channel (the rest is the caller's to send).
    pub sent: usize,
}

/// How a reaped child ended: an exit code, or the signal that killed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Code(i32),
    Signal(i32),
}

struct FileActions(libc::posix_spawn_file_actions_t);

impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: initialised in `launch` before this guard exists.
        unsafe { libc::posix_spawn_file_actions_destroy(&mut self.0) };
    }
}

struct Attr(libc::posix_spawnattr_t);

impl Drop for Attr {
    fn drop(&mut self) {
        // SAFETY: initialised in `launch` before this guard exists.
        unsafe { libc::posix_spawnattr_destroy(&mut self.0) };
    }
}

fn spawn_err(call: &'static str, rc: libc::c_int, what: &str) -> Error {
    Error::sys(Code::Helper, call, Some(what), Errno::from_raw(rc))
}

/// Start `executable` (argv `[argv0]`, the caller's environment) as described above.
/// Each source fd must be one of the child's own 0-2 targets (`Fd(1)` for fd 1) or 3 or above,
/// so no file action can clobber a later one's source. `first` (the plan) is queued on the
/// control channel before the spawn, as much as the socket takes without waiting, so the
/// helper finds it as soon as it starts instead of when the caller gets round to sending it.
pub fn launch(executable: &str, argv0: &str, env: &[String], stdio: [Stdio; 3], setsid: bool, first: &[u8]) -> Result<Launched> {
    for (target, s) in stdio.iter().enumerate() {
        if let Stdio::Fd(fd) = *s {
            if fd < 0 || (fd < 3 && fd != target as RawFd) {
                return Err(Error::new(Code::Helper, format!("stdio[{target}]: fd {fd} cannot be given as the helper's fd {target}")));
            }
        }
    }
    let path = sys::cstr(executable)?;
    let arg0 = sys::cstr(argv0)?;
    let null = CString::new("/dev/null").expect("no NUL");
    let mut pair = [0 as RawFd; 2];
    // SAFETY: socketpair writes two fds into `pair`.
    sys::cvt(
        unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, pair.as_mut_ptr()) },
        Code::Helper,
        "socketpair",
        Some("control channel"),
    )?;
    let (control, mut child_end) = (sys::owned(pair[0]), sys::owned(pair[1]));
    let sent = queue(&control, first)?;
    if child_end.as_raw_fd() == 3 {
        // dup2(3, 3) clears close-on-exec only since glibc 2.29: move it off 3 first.
        // SAFETY: F_DUPFD_CLOEXEC of an fd we own; the new fd is ours.
        let moved = unsafe { libc::fcntl(child_end.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 4) };
        child_end = sys::owned(sys::cvt(moved, Code::Helper, "fcntl", Some("F_DUPFD_CLOEXEC control channel"))?);
    }
    let envs: Vec<CString> = env.iter().map(|e| sys::cstr(e)).collect::<Result<_>>()?;
    let mut envp: Vec<*mut libc::c_char> = envs.iter().map(|e| e.as_ptr() as *mut libc::c_char).collect();
    envp.push(std::ptr::null_mut());

    // SAFETY: zeroed storage that posix_spawn_file_actions_init then initialises.
    let mut fa = FileActions(unsafe { std::mem::zeroed() });
    // SAFETY: as above.
    let rc = unsafe { libc::posix_spawn_file_actions_init(&mut fa.0) };
    if rc != 0 {
        return Err(spawn_err("posix_spawn_file_actions_init", rc, executable));
    }
    for (target, s) in stdio.iter().enumerate() {
        // SAFETY: `fa` is initialised; `null` outlives the spawn. dup2 onto the same number
        // clears close-on-exec (POSIX 2008 TC2; glibc and musl do so).
        let rc = unsafe {
            match *s {
                Stdio::Null => libc::posix_spawn_file_actions_addopen(&mut fa.0, target as RawFd, null.as_ptr(), libc::O_RDWR, 0),
                Stdio::Fd(fd) => libc::posix_spawn_file_actions_adddup2(&mut fa.0, fd, target as RawFd),
            }
        };
        if rc != 0 {
            return Err(spawn_err("posix_spawn_file_actions", rc, executable));
        }
    }
    // Last, so no stdio source at 3 is overwritten first. The child end is above 3 (Node
    // keeps 0-2 open, and 3 was moved off above).
    // SAFETY: `fa` is initialised.
    let rc = unsafe { libc::posix_spawn_file_actions_adddup2(&mut fa.0, child_end.as_raw_fd(), 3) };
    if rc != 0 {
        return Err(spawn_err("posix_spawn_file_actions_adddup2", rc, executable));
    }

    // SAFETY: zeroed storage that posix_spawnattr_init then initialises.
    let mut attr = Attr(unsafe { std::mem::zeroed() });
    // SAFETY: as above.
    let rc = unsafe { libc::posix_spawnattr_init(&mut attr.0) };
    if rc != 0 {
        return Err(spawn_err("posix_spawnattr_init", rc, executable));
    }
    let mut flags = (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short;
    if setsid {
        flags |= libc::POSIX_SPAWN_SETSID as libc::c_short;
    }
    // SAFETY: sigset_t values filled by sigemptyset/sigfillset, then copied into `attr`.
    let rc = unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigfillset(&mut all);
        // Node ignores SIGPIPE; an ignored signal would stay ignored across execve.
        let mut rc = libc::posix_spawnattr_setsigmask(&mut attr.0, &none);
        if rc == 0 {
            rc = libc::posix_spawnattr_setsigdefault(&mut attr.0, &all);
        }
        if rc == 0 {
            rc = libc::posix_spawnattr_setflags(&mut attr.0, flags);
        }
        rc
    };
    if rc != 0 {
        return Err(spawn_err("posix_spawnattr", rc, executable));
    }

    let argv = [arg0.as_ptr() as *mut libc::c_char, std::ptr::null_mut()];
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid for the call (`envs` outlives it).
    let rc = unsafe { libc::posix_spawn(&mut pid, path.as_ptr(), &fa.0, &attr.0, argv.as_ptr(), envp.as_ptr()) };
    if rc != 0 {
        return Err(spawn_err("posix_spawn", rc, executable));
    }
    drop(child_end);
    // Our unreaped child: its pid cannot be reused until `wait` reaps it.
    // SAFETY: pidfd_open(pid_t, unsigned) returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    let pidfd = match sys::cvt(fd, Code::Helper, "pidfd_open", Some(executable)) {
        Ok(fd) => sys::owned(fd),
        Err(e) => {
            // Cannot happen short of EMFILE; do not leave a helper nobody can reap.
            // SAFETY: kill and waitpid of our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            return Err(e);
        }
    };
    Ok(Launched { pid, pidfd, control, sent })
}

/// Send what fits of `data` on a fresh socket without blocking (nobody reads it yet).
fn queue(control: &OwnedFd, data: &[u8]) -> Result<usize> {
    let mut sent = 0;
    while sent < data.len() {
        let rest = &data[sent..];
        // SAFETY: sending from a slice we own on an open socket; no SIGPIPE (MSG_NOSIGNAL).
        let n = unsafe { libc::send(control.as_raw_fd(), rest.as_ptr().cast(), rest.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
        if n > 0 {
            sent += n as usize;
            continue;
        }
        match Errno::last() {
            Errno::EINTR => continue,
            Errno::EAGAIN => break, // full: the caller sends the rest once the helper reads
            e => return Err(Error::sys(Code::Helper, "send", Some("control channel"), e)),
        }
    }
    Ok(sent)
}

/// Send `sig` through `pidfd`. A child that has exited (reaped or not) answers ESRCH: a pidfd
/// never reaches a process that later took the same pid.
pub fn signal(pidfd: &OwnedFd, sig: i32) -> Result<()> {
    // SAFETY: pidfd_send_signal(pidfd, sig, NULL, 0).
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, std::ptr::null::<libc::siginfo_t>(), 0) };
    sys::cvt(rc as libc::c_int, Code::Helper, "pidfd_send_signal", Some("lxts-helper")).map(|_| ())
}

/// Reap the child behind `pidfd` (`waitid(P_PIDFD)`); with `block` false, `None` while it runs.
pub fn wait(pidfd: &OwnedFd, block: bool) -> Result<Option<Ended>> {
    let flags = libc::WEXITED | if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: zeroed siginfo that waitid fills.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on a pidfd of our child.
        let rc = unsafe { libc::waitid(libc::P_PIDFD, pidfd.as_raw_fd() as libc::id_t, &mut info, flags) };
        if rc < 0 {
            let e = Errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return Err(Error::sys(Code::Helper, "waitid", Some("lxts-helper"), e));
        }
        // SAFETY: filled by waitid; si_pid is 0 when WNOHANG found nothing.
        let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        return Ok(Some(if code == libc::CLD_EXITED { Ended::Code(status) } else { Ended::Signal(status) }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn env() -> Vec<String> {
        vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_owned(), "LXTS_LAUNCH_TEST=given".to_owned()]
    }

    /// An executable `#!/bin/sh` script at `path`.
    fn write_script(path: &str, body: &str) {
        std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
        let mut perm = std::fs::metadata(path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(path, perm).unwrap();
    }

    #[test]
    fn the_child_gets_the_control_socket_on_fd_3_and_is_reaped_through_the_pidfd() {
        // sh echoes what it reads on fd 3 back on fd 3 with its pid and session id, then exits 7.
        let script = "/tmp/lxts-launch-test.sh";
        write_script(
            script,
            "read line <&3\nset -- $(cat /proc/$$/stat)\necho \"got $line $1 $6 $LXTS_LAUNCH_TEST ${HOME:-nohome}\" >&3\nexit 7\n",
        );
        // The plan is queued before the spawn: the child reads it at once.
        let l = launch(script, "lxts-test", &env(), [Stdio::Null, Stdio::Fd(1), Stdio::Fd(2)], true, b"plan\n").unwrap();
        assert_eq!(l.sent, 5);
        let mut s = std::fs::File::from(l.control);
        let mut back = String::new();
        s.read_to_string(&mut back).unwrap();
        // setsid: its own session, led by itself; the environment is the one given, not ours.
        assert_eq!(back, format!("got plan {0} {0} given nohome\n", l.pid));
        assert_eq!(wait(&l.pidfd, true).unwrap(), Some(Ended::Code(7)));
        let _ = std::fs::remove_file(script);
    }

    #[test]
    fn a_first_message_larger_than_the_socket_takes_is_sent_in_part_and_the_rest_follows() {
        // The child counts what arrives on fd 3 until EOF and answers on fd 3.
        let script = "/tmp/lxts-launch-count.sh";
        write_script(script, "wc -c <&3 >&3\n");
        let big = vec![b'x'; 4 << 20];
        let l = launch(script, "lxts-test", &env(), [Stdio::Null, Stdio::Null, Stdio::Fd(2)], false, &big).unwrap();
        assert!(l.sent > 0 && l.sent < big.len(), "sent {} of {}", l.sent, big.len());
        let mut s = std::fs::File::from(l.control);
        s.write_all(&big[l.sent..]).unwrap();
        // SAFETY: shutdown of our open socket's sending side: the child sees EOF.
        assert_eq!(unsafe { libc::shutdown(std::os::fd::AsRawFd::as_raw_fd(&s), libc::SHUT_WR) }, 0);
        let mut back = String::new();
        s.read_to_string(&mut back).unwrap();
        assert_eq!(back.trim(), big.len().to_string(), "every byte arrived, in one stream");
        assert_eq!(wait(&l.pidfd, true).unwrap(), Some(Ended::Code(0)));
        let _ = std::fs::remove_file(script);
    }

    #[test]
    fn a_running_child_is_not_reaped_and_a_killed_one_reports_its_signal() {
        let mut p = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two fds.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let (r, w) = (sys::owned(p[0]), sys::owned(p[1]));
        // cat blocks reading the pipe while we hold its write end.
        let l = launch("/bin/cat", "cat", &env(), [Stdio::Fd(r.as_raw_fd()), Stdio::Null, Stdio::Null], false, b"").unwrap();
        assert_eq!(wait(&l.pidfd, false).unwrap(), None);
        signal(&l.pidfd, libc::SIGKILL).unwrap();
        assert_eq!(wait(&l.pidfd, true).unwrap(), Some(Ended::Signal(libc::SIGKILL)));
        // Reaped: the pidfd still names that dead process, never one that took its pid.
        assert_eq!(signal(&l.pidfd, libc::SIGKILL).unwrap_err().errno, Some(libc::ESRCH));
        drop(w);
    }

    #[test]
    fn a_closed_source_fd_fails_the_spawn() {
        assert!(launch("/bin/cat", "cat", &env(), [Stdio::Fd(3_000), Stdio::Null, Stdio::Null], false, b"").is_err());
    }

    #[test]
    fn a_low_fd_given_as_another_target_is_refused() {
        let e = launch("/bin/true", "true", &env(), [Stdio::Fd(1), Stdio::Null, Stdio::Null], false, b"").unwrap_err();
        assert!(e.to_string().contains("stdio[0]"), "{e}");
    }
}
