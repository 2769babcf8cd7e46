//! `abort()` that signals the process that calls it. musl's signals the thread id it cached
//! when the thread started (`tkill`), which in a child made by a raw `clone3` is still the
//! parent's: an abort in the init before `execve` (a double panic, an allocation failing under
//! a low `RLIMIT_AS`, a stack overflow) would send SIGABRT to the helper that made it, where
//! the container shares its pid namespace, or to whatever has that number in the container's
//! (glibc asks the kernel for the ids). Defined in this binary (x86_64 and aarch64, the
//! architectures lxts ships for), it is linked ahead of libc.a's; the napi module, which links
//! lxts-core into Node, never gets it.

/// `struct sigaction` as `rt_sigaction(2)` takes it on x86_64 and aarch64.
#[cfg(all(target_env = "musl", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// SIGABRT to the calling thread of the calling process, by ids asked of the kernel, with its
/// default action restored and unblocked first. A container's init (PID 1 of its pid
/// namespace) ignores a default-action signal it sends itself, so there it ends by
/// `exit_group(134)`; should even that fail (a seccomp filter), a trapping instruction.
#[cfg(all(target_env = "musl", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[no_mangle]
pub extern "C" fn abort() -> ! {
    let default = KernelSigaction { handler: 0, flags: 0, restorer: 0, mask: 0 };
    let abrt: u64 = 1 << (libc::SIGABRT - 1);
    // SAFETY: raw syscalls on this process with valid, sized arguments; none allocates or locks.
    // The trap instruction ends the process by SIGILL/SIGTRAP, which the kernel forces.
    unsafe {
        libc::syscall(libc::SYS_rt_sigaction, libc::SIGABRT, &default, std::ptr::null_mut::<KernelSigaction>(), 8usize);
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_UNBLOCK, &abrt, std::ptr::null_mut::<u64>(), 8usize);
        let (pid, tid) = (libc::syscall(libc::SYS_getpid), libc::syscall(libc::SYS_gettid));
        libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGABRT);
        libc::syscall(libc::SYS_exit_group, 134);
        loop {
            #[cfg(target_arch = "x86_64")]
            std::arch::asm!("ud2");
            #[cfg(target_arch = "aarch64")]
            std::arch::asm!("brk #0");
        }
    }
}

#[cfg(test)]
mod tests {
    /// The wait status of a child made by a raw clone with `flags` (as the init is) that sets
    /// its core limit to 0 (no core file from the test) and aborts.
    fn abort_in_child(flags: libc::c_int) -> libc::c_int {
        // SAFETY: clone(flags | SIGCHLD) without CLONE_VM acts like fork; the child only
        // calls setrlimit and aborts.
        let pid = unsafe { libc::syscall(libc::SYS_clone, (flags | libc::SIGCHLD) as libc::c_ulong, 0usize, 0usize, 0usize, 0usize) };
        assert!(pid >= 0, "clone: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            // SAFETY: setrlimit with a valid rlimit.
            unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
            std::process::abort();
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        assert_eq!(unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) }, pid as libc::pid_t);
        status
    }

    /// The child dies of SIGABRT and the parent, this test process, is not signalled. Built for
    /// musl (`scripts/test-rust.sh`) this tests the override, and without it kills the test
    /// process; built for glibc, glibc's abort.
    #[test]
    fn an_abort_in_a_raw_clone_child_kills_the_child_only() {
        let status = abort_in_child(0);
        assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGABRT, "status {status:#x}");
    }

    /// As root: the init of a new pid namespace, which ignores the SIGABRT it sends itself,
    /// still ends: with the override by `exit_group(134)`; with glibc on x86_64 by SIGSEGV, the
    /// fault of the privileged `hlt` its abort falls back to (elsewhere glibc's abort has no
    /// such instruction and ends by `_exit(127)`, untested here: the test is left out there).
    #[cfg(any(
        all(target_env = "musl", any(target_arch = "x86_64", target_arch = "aarch64")),
        all(target_env = "gnu", target_arch = "x86_64")
    ))]
    #[test]
    fn an_abort_in_a_pid_namespace_init_ends_it() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: CLONE_NEWPID needs root");
            return;
        }
        let status = abort_in_child(libc::CLONE_NEWPID);
        #[cfg(target_env = "musl")]
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 134, "status {status:#x}");
        #[cfg(target_env = "gnu")]
        assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV, "status {status:#x}");
    }
}
