//! The generated device program, run on a tiny interpreter of the instructions it
//! uses (with the verifier's structural checks: jumps in range, nothing unreachable,
//! r0 set before exit), and — as root on a host with a cgroup2 mount — attached for
//! real to a scratch cgroup2 directory with a forked child inside.

use super::*;

const RWM: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// Run `p` on one access; panics on anything the generator must never emit.
fn run(p: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [(access << 16) | kind, major, minor];
    let mut r = [0u64; 11];
    let mut r0_set = false;
    let mut pc = 0usize;
    for _ in 0..10_000 {
        let i = p[pc];
        let (d, s) = (i.dst as usize, i.src as usize);
        pc += 1;
        let cond = |r: &[u64; 11]| (r[d] as u32) == i.imm as u32;
        match i.code {
            LDX_W => {
                assert_eq!(s, 1, "loads come from the ctx");
                r[d] = u64::from(ctx[i.off as usize / 4]);
            }
            AND32_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
            RSH32_K => r[d] = u64::from((r[d] as u32) >> i.imm),
            MOV32_K => r[d] = u64::from(i.imm as u32),
            MOV32_X => r[d] = u64::from(r[s] as u32),
            MOV64_K => {
                r[d] = i.imm as i64 as u64;
                r0_set |= d == 0;
            }
            JA => pc = (pc as i64 + i64::from(i.off)) as usize,
            JEQ32_K if cond(&r) => pc = (pc as i64 + i64::from(i.off)) as usize,
            JNE32_K if !cond(&r) => pc = (pc as i64 + i64::from(i.off)) as usize,
            JEQ32_K | JNE32_K => {}
            EXIT => {
                assert!(r0_set, "r0 read before set");
                return r[0];
            }
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
    panic!("program does not terminate");
}

/// The verifier's structural checks: every jump lands inside, every insn is reachable,
/// the program cannot fall off its end.
fn verify(p: &[Insn]) {
    let mut seen = vec![false; p.len()];
    let mut todo = vec![0usize];
    while let Some(pc) = todo.pop() {
        assert!(pc < p.len(), "jump out of range");
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        let i = p[pc];
        let target = (pc as i64 + 1 + i64::from(i.off)) as usize;
        match i.code {
            EXIT => {}
            JA => todo.push(target),
            JEQ32_K | JNE32_K => todo.extend([pc + 1, target]),
            _ => todo.push(pc + 1),
        }
    }
    assert!(seen.iter().all(|s| *s), "unreachable instruction");
}

fn rules(lines: &[(bool, &str)]) -> Vec<Rule> {
    lines.iter().map(|(a, l)| parse(*a, l).unwrap_or_else(|| panic!("{l}"))).collect()
}

fn prog(lines: &[(bool, &str)]) -> Vec<Insn> {
    let p = program(&rules(lines)).unwrap();
    verify(&p);
    p
}

#[test]
fn parse_v1_lines() {
    assert_eq!(parse(true, "a"), Some(Rule { allow: true, kind: None, major: None, minor: None, access: RWM }));
    assert_eq!(
        parse(false, "c 1:3 rw"),
        Some(Rule { allow: false, kind: Some(DEV_CHAR), major: Some(1), minor: Some(3), access: ACC_READ | ACC_WRITE })
    );
    assert_eq!(parse(true, "b *:* m"), Some(Rule { allow: true, kind: Some(DEV_BLOCK), major: None, minor: None, access: ACC_MKNOD }));
    for bad in ["x 1:3 r", "c 1:3", "c 1-3 r", "c 1:3 rx", "c 1:3 ", "c a:3 r", "c 1:3 r extra"] {
        assert_eq!(parse(true, bad), None, "{bad}");
    }
}

#[test]
fn no_rules_denies_everything() {
    let p = prog(&[]);
    for acc in [ACC_MKNOD, ACC_READ, ACC_WRITE, RWM] {
        assert_eq!(run(&p, DEV_CHAR, acc, 1, 3), 0);
    }
}

#[test]
fn deny_all_then_allow_is_a_whitelist() {
    let p = prog(&[(false, "a"), (true, "c 1:3 rw"), (true, "c 136:* rwm"), (true, "b *:* m")]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, 1, 3), 0, "no m on 1:3");
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 1, 3), 0, "type matters");
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 5), 0);
    assert_eq!(run(&p, DEV_CHAR, RWM, 136, 42), 1, "minor wildcard");
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 137, 0), 0);
    assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 1, "major and minor wildcard");
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 0);
}

#[test]
fn last_match_wins() {
    // allow-all then deny: a blacklist; a later allow re-opens.
    let p = prog(&[(true, "a"), (false, "c 1:3 rwm"), (false, "c 5:* rwm"), (true, "c 5:2 r")]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 0);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 5), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 5, 0), 0);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 5, 2), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 5, 2), 0);
    assert_eq!(run(&p, DEV_BLOCK, RWM, 8, 1), 1);
    // A rule before a full wildcard is dead: the wildcard decides.
    let p = prog(&[(true, "c 1:3 rwm"), (false, "a")]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 0);
    assert_eq!(p.len(), 3 * (4 + 2) + 2, "per bit: test + deny (nothing after the wildcard), then allow");
}

#[test]
fn each_access_bit_is_decided_on_its_own() {
    // v1: allow rw then deny w leaves r.
    let p = prog(&[(false, "a"), (true, "c 1:3 rw"), (false, "c 1:3 w")]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 1, 3), 0);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 0, "O_RDWR needs both");
    // Two partial allows add up (v1 merges them).
    let p = prog(&[(false, "a"), (true, "c 1:3 r"), (true, "c 1:3 w")]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD | ACC_READ, 1, 3), 0);
}

#[test]
fn large_numbers_compare_as_u32() {
    let p = prog(&[(false, "a"), (true, "c 4294967295:2147483648 r")]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, u32::MAX, 1 << 31), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, u32::MAX, 0), 0);
}

#[test]
fn instruction_encoding() {
    let w = encode(&[ins(LDX_W, 4, R1, 4, 0), ins(JNE32_K, 5, 0, -2, 136)]);
    assert_eq!(w[0].to_le_bytes(), [0x61, 0x14, 4, 0, 0, 0, 0, 0]);
    assert_eq!(w[1].to_le_bytes(), [0x56, 0x05, 0xfe, 0xff, 136, 0, 0, 0]);
}

/// Real kernel: a scratch cgroup2 directory, a program attached, a forked child
/// moved in that reports `open`/`mknod` errnos through its exit status.
mod real {
    use super::*;
    use std::path::PathBuf;

    fn unified() -> Option<PathBuf> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        mi.lines().find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            if post.starts_with("cgroup2 ") {
                pre.split(' ').nth(4).map(PathBuf::from)
            } else {
                None
            }
        })
    }

    /// The tests that load or attach programs share the process's preloaded slot: one at a time.
    static SLOT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
        SLOT.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }

    /// In a forked child moved into `cg`: errno of `open(path, flags)` (0 = opened).
    fn probe(cg: &Path, what: &str) -> i32 {
        let procs = std::ffi::CString::new(cg.join("cgroup.procs").to_string_lossy().into_owned()).unwrap();
        // Tests run in parallel threads of one process: the node name must be unique per probe.
        static PROBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = std::env::temp_dir().join(format!("lxts-test-bpf-node-{}-{n}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let node = std::ffi::CString::new(tmp.to_string_lossy().into_owned()).unwrap();
        let (path, flags, mknod) = match what {
            "read null" => (c"/dev/null", libc::O_RDONLY, false),
            "rw null" => (c"/dev/null", libc::O_RDWR, false),
            "write null" => (c"/dev/null", libc::O_WRONLY, false),
            "read zero" => (c"/dev/zero", libc::O_RDONLY, false),
            "read kmsg" => (c"/dev/kmsg", libc::O_RDONLY, false),
            "mknod null" => (c"", 0, true),
            _ => unreachable!(),
        };
        // SAFETY: the child only makes raw syscalls on prepared C strings, then _exit;
        // the parent reaps exactly that child.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    libc::_exit(100);
                }
                let r = if mknod {
                    libc::mknod(node.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3))
                } else {
                    libc::open(path.as_ptr(), flags)
                };
                libc::_exit(if r < 0 { *libc::__errno_location() } else { 0 });
            }
            let mut st = 0;
            assert_eq!(libc::waitpid(pid, &mut st, 0), pid);
            let _ = std::fs::remove_file(&tmp);
            assert!(libc::WIFEXITED(st));
            let code = libc::WEXITSTATUS(st);
            assert_ne!(code, 100, "child could not join {}", cg.display());
            code
        }
    }

    #[test]
    fn a_preloaded_program_is_taken_only_for_the_same_rules() {
        let _slot = one_at_a_time();
        if unified().is_none() {
            eprintln!("skipped: needs root and a cgroup2 mount");
            return;
        }
        let a = rules(&[(false, "a"), (true, "c 1:3 rwm")]);
        let b = rules(&[(false, "a"), (true, "c 1:5 rwm")]);
        preload(&a).unwrap();
        assert!(take_preloaded(&program(&b).unwrap()).is_none(), "other rules load their own");
        assert!(take_preloaded(&program(&a).unwrap()).is_none(), "and the preloaded one was dropped");
        preload(&a).unwrap();
        assert!(take_preloaded(&program(&a).unwrap()).is_some());
        assert!(take_preloaded(&program(&a).unwrap()).is_none(), "taken once");
    }

    #[test]
    fn filter_enforced_on_real_cgroup2_and_replaced_without_gap() {
        let _slot = one_at_a_time();
        let Some(root) = unified() else {
            eprintln!("skipped: needs root and a cgroup2 mount");
            return;
        };
        let dir = root.join(format!("lxts-test-bpf-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let _g = Scratch(dir.clone());
        let base = [(false, "a"), (true, "c 1:5 rwm")];

        // Deny 1:3 read+write, no mknod anywhere.
        apply(&dir, &rules(&[base[0], base[1], (true, "c 1:3 w")])).unwrap();
        assert_eq!(probe(&dir, "read null"), libc::EPERM);
        assert_eq!(probe(&dir, "rw null"), libc::EPERM);
        assert_eq!(probe(&dir, "write null"), 0, "w alone is allowed");
        assert_eq!(probe(&dir, "read zero"), 0);
        assert_eq!(probe(&dir, "mknod null"), libc::EPERM);
        let cg = crate::container::sys::open(&dir.to_string_lossy(), libc::O_RDONLY | libc::O_DIRECTORY, Code::Cgroup).unwrap();
        let first = query(&cg, &dir).unwrap();
        assert_eq!(first.len(), 1);

        // Update: the new program replaces the old one (exactly one attached after).
        apply(&dir, &rules(&[base[0], base[1], (true, "c 1:3 rm")])).unwrap();
        let second = query(&cg, &dir).unwrap();
        assert_eq!(second.len(), 1);
        assert_ne!(first, second);
        assert_eq!(probe(&dir, "read null"), 0);
        assert_eq!(probe(&dir, "write null"), libc::EPERM);
        assert_eq!(probe(&dir, "mknod null"), 0, "m allowed now");

        clear(&dir).unwrap();
        assert!(query(&cg, &dir).unwrap().is_empty());
        assert_eq!(probe(&dir, "rw null"), 0);
    }

    #[test]
    fn attach_to_a_non_cgroup_dir_is_a_coded_error() {
        let _slot = one_at_a_time();
        if unified().is_none() {
            return;
        }
        let d = std::env::temp_dir();
        let e = apply(&d, &rules(&[(false, "a")])).unwrap_err();
        assert_eq!(e.code, Code::Cgroup);
        assert!(e.message.starts_with("linux.resources.devices: bpf("), "{}", e.message);
    }

    /// Through `resources::apply`: v2 attaches the filter (config rules then lxts's
    /// defaults); hybrid (fake v1 devices files next to the real cgroup2 dir) writes the v1
    /// files alone, as runc, and leaves the cgroup2 dir without a program.
    #[test]
    fn resources_apply_v2_attaches_the_filter_hybrid_writes_v1_alone() {
        let _slot = one_at_a_time();
        let Some(root) = unified() else { return };
        let dir = root.join(format!("lxts-test-bpf-apply-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let _g = Scratch(dir.clone());
        let fake = std::env::temp_dir().join(format!("lxts-test-bpf-v1-{}", std::process::id()));
        std::fs::create_dir_all(&fake).unwrap();
        struct Tmp(PathBuf);
        impl Drop for Tmp {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let _t = Tmp(fake.clone());
        for f in ["devices.allow", "devices.deny"] {
            std::fs::write(fake.join(f), "").unwrap();
        }
        let res: crate::plan::Resources = serde_json::from_str(
            r#"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":11,"access":"w"}]}"#,
        )
        .unwrap();
        let hybrid =
            crate::cgroups::resources::Target { v2: false, v1: vec![(vec!["devices".into()], fake.clone())], unified: Some(dir.clone()) };
        assert!(crate::cgroups::resources::apply(&hybrid, &res).unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(fake.join("devices.allow")).unwrap(), "c 136:* rwm", "v1 written (last default)");
        assert_eq!(probe(&dir, "read kmsg"), 0, "hybrid: no program on the cgroup2 dir");

        // A filter an older lxts attached there (as v2 does) goes at the next update.
        apply(&dir, &rules(&[(false, "a")])).unwrap();
        assert_eq!(probe(&dir, "read null"), libc::EPERM, "the old filter denies");
        assert!(crate::cgroups::resources::apply_update(&hybrid, &res).unwrap().is_empty());
        assert_eq!(probe(&dir, "read null"), 0, "update detached it");

        let v2 = crate::cgroups::resources::Target { v2: true, v1: Vec::new(), unified: Some(dir.clone()) };
        assert!(crate::cgroups::resources::apply(&v2, &res).unwrap().is_empty());
        assert_eq!(probe(&dir, "read kmsg"), libc::EPERM, "1:11 has w only");
        assert_eq!(probe(&dir, "read null"), 0, "default rule");
        assert_eq!(probe(&dir, "read zero"), 0, "default rule");
        assert_eq!(probe(&dir, "mknod null"), 0, "default c *:* m");
        // Allow-all detaches the filter.
        let all: crate::plan::Resources = serde_json::from_str(r#"{"devices":[{"allow":true,"access":"rwm"}]}"#).unwrap();
        crate::cgroups::resources::apply(&v2, &all).unwrap();
        assert_eq!(probe(&dir, "read kmsg"), 0);
    }
}
