//! `abort()` that signals the process that calls it. musl's signals the thread id it cached
//! when the thread started (`tkill`), which in a child made by a raw `clone3` is still the
//! parent's: an abort in the init before `execve` (a double panic, an allocation failing under
//! a low `RLIMIT_AS`, a stack overflow) would send SIGABRT to the helper that made it, where
//! the container shares its pid namespace, or to whatever has that number in the container's
//! (glibc 2.34 and later ask the kernel). Defined in this binary, it is linked ahead of
//! libc.a's; the napi module, which links lxts-core into Node, never gets it.

/// `struct sigaction` as `rt_sigaction(2)` takes it (x86_64, aarch64).
#[cfg(target_env = "musl")]
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// SIGABRT to the calling thread of the calling process, by ids asked of the kernel, with its
/// default action restored and unblocked first; `exit_group(134)` should it ever return.
#[cfg(target_env = "musl")]
#[no_mangle]
pub extern "C" fn abort() -> ! {
    let default = KernelSigaction { handler: 0, flags: 0, restorer: 0, mask: 0 };
    let abrt: u64 = 1 << (libc::SIGABRT - 1);
    // SAFETY: raw syscalls on this process with valid, sized arguments; none allocates or locks.
    unsafe {
        libc::syscall(libc::SYS_rt_sigaction, libc::SIGABRT, &default, std::ptr::null_mut::<KernelSigaction>(), 8usize);
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_UNBLOCK, &abrt, std::ptr::null_mut::<u64>(), 8usize);
        let (pid, tid) = (libc::syscall(libc::SYS_getpid), libc::syscall(libc::SYS_gettid));
        libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGABRT);
        loop {
            libc::syscall(libc::SYS_exit_group, 134);
        }
    }
}

#[cfg(test)]
mod tests {
    /// A child made by a raw clone (as the init is) aborts: it dies of SIGABRT and the parent,
    /// this test process, is not signalled (with musl's own abort it would be: run with
    /// `--target x86_64-unknown-linux-musl`, as .ci/run does).
    #[test]
    fn an_abort_in_a_raw_clone_child_kills_the_child_only() {
        // SAFETY: clone(SIGCHLD) without CLONE_VM acts like fork; the child only aborts.
        let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0usize, 0usize, 0usize, 0usize) };
        assert!(pid >= 0, "clone: {}", std::io::Error::last_os_error());
        if pid == 0 {
            std::process::abort();
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        assert_eq!(unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) }, pid as libc::pid_t);
        assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGABRT, "status {status:#x}");
    }
}
