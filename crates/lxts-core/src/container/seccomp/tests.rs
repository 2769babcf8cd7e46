//! The compiled filters run through a small classic-BPF interpreter on synthetic
//! `seccomp_data`, so every branch is checked without loading anything.

use super::*;
use crate::plan::SeccompSyscall;

/// Run `prog` on (arch, nr, args) like the kernel would.
fn run(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, v) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&v.to_le_bytes());
    }
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let ins = prog[pc];
        pc += 1;
        match ins.code {
            bpf::LD_W_ABS => a = u32::from_le_bytes(data[ins.k as usize..ins.k as usize + 4].try_into().unwrap()),
            bpf::AND_K => a &= ins.k,
            bpf::RET_K => return ins.k,
            bpf::JA => pc += ins.k as usize,
            c => {
                let hit = match c {
                    bpf::JEQ_K => a == ins.k,
                    bpf::JGT_K => a > ins.k,
                    bpf::JGE_K => a >= ins.k,
                    _ => panic!("unknown opcode {c:#x}"),
                };
                pc += if hit { ins.jt } else { ins.jf } as usize;
            }
        }
    }
}

fn rule(names: &[&str], action: &str, args: Vec<SeccompArg>) -> SeccompSyscall {
    SeccompSyscall { names: names.iter().map(|s| s.to_string()).collect(), action: action.into(), errno_ret: None, args }
}

fn arg(index: u32, op: &str, value: u64, value_two: u64) -> SeccompArg {
    SeccompArg { index, value, value_two, op: op.into() }
}

fn nr(name: &str) -> u32 {
    Arch::X86_64.nr(name).unwrap().unwrap()
}

const EPERM: u32 = RET_ERRNO | 1;

#[test]
fn deny_one_syscall() {
    let s = Seccomp {
        default_action: "SCMP_ACT_ALLOW".into(),
        syscalls: vec![rule(&["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", vec![])],
        ..Default::default()
    };
    let f = compile(&s, Arch::X86_64).unwrap();
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("mkdir"), [0; 6]), EPERM);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("mkdirat"), [0; 6]), EPERM);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("read"), [0; 6]), RET_ALLOW);
    // Another architecture, and x32 numbers when x32 is not listed: killed.
    assert_eq!(run(&f.prog, AUDIT_ARCH_I386, 39, [0; 6]), RET_KILL_PROCESS);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("mkdir") | X32_SYSCALL_BIT, [0; 6]), RET_KILL_PROCESS);
}

#[test]
fn errno_ret_and_default_errno() {
    let mut r = rule(&["getcwd"], "SCMP_ACT_ERRNO", vec![]);
    r.errno_ret = Some(libc::ENOSYS as u32);
    let s = Seccomp {
        default_action: "SCMP_ACT_ERRNO".into(),
        default_errno_ret: Some(38),
        syscalls: vec![r, rule(&["read"], "SCMP_ACT_ALLOW", vec![])],
        ..Default::default()
    };
    let f = compile(&s, Arch::X86_64).unwrap();
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("getcwd"), [0; 6]), RET_ERRNO | 38);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("read"), [0; 6]), RET_ALLOW);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("write"), [0; 6]), RET_ERRNO | 38);
}

#[test]
fn comparisons_on_64_bit_args() {
    let big = 0x1_0000_0005u64;
    type Case = (&'static str, u64, u64, Vec<(u64, bool)>);
    let cases: Vec<Case> = vec![
        ("SCMP_CMP_EQ", big, 0, vec![(big, true), (5, false), (big + 1, false)]),
        ("SCMP_CMP_NE", big, 0, vec![(big, false), (5, true), (0x2_0000_0005, true)]),
        ("SCMP_CMP_GT", big, 0, vec![(big, false), (big + 1, true), (0x2_0000_0000, true), (0xffff_ffff, false)]),
        ("SCMP_CMP_GE", big, 0, vec![(big, true), (big - 1, false), (0x2_0000_0000, true)]),
        ("SCMP_CMP_LT", big, 0, vec![(big, false), (big - 1, true), (0xffff_ffff, true), (0x2_0000_0000, false)]),
        ("SCMP_CMP_LE", big, 0, vec![(big, true), (big + 1, false), (3, true)]),
        (
            "SCMP_CMP_MASKED_EQ",
            0xff00_0000_00ff,
            0x1200_0000_0034,
            vec![(0x1234_5678_9a34, true), (0x1200_0000_0035, false), (0x1300_0000_0034, false)],
        ),
    ];
    for (op, value, value_two, probes) in cases {
        let s = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            syscalls: vec![rule(&["personality"], "SCMP_ACT_ERRNO", vec![arg(1, op, value, value_two)])],
            ..Default::default()
        };
        let f = compile(&s, Arch::X86_64).unwrap();
        for (v, denied) in probes {
            let got = run(&f.prog, AUDIT_ARCH_X86_64, nr("personality"), [0, v, 0, 0, 0, 0]);
            assert_eq!(got == EPERM, denied, "{op} {value:#x} on {v:#x}");
        }
        // Another syscall is untouched whatever its args.
        assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("read"), [0, value, 0, 0, 0, 0]), RET_ALLOW);
    }
}

#[test]
fn rules_are_ordered_and_args_are_anded() {
    let s = Seccomp {
        default_action: "SCMP_ACT_ERRNO".into(),
        syscalls: vec![
            rule(&["clone"], "SCMP_ACT_ALLOW", vec![arg(0, "SCMP_CMP_MASKED_EQ", 0x7e02_0000, 0), arg(2, "SCMP_CMP_EQ", 7, 0)]),
            rule(&["clone"], "SCMP_ACT_KILL_PROCESS", vec![]),
        ],
        ..Default::default()
    };
    let f = compile(&s, Arch::X86_64).unwrap();
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("clone"), [0x11, 0, 7, 0, 0, 0]), RET_ALLOW);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("clone"), [0x11, 0, 8, 0, 0, 0]), RET_KILL_PROCESS);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("clone"), [0x1000_0000, 0, 7, 0, 0, 0]), RET_KILL_PROCESS);
}

#[test]
fn compat_architectures_use_their_own_numbers() {
    let s = Seccomp {
        default_action: "SCMP_ACT_ALLOW".into(),
        architectures: vec!["SCMP_ARCH_X86_64".into(), "SCMP_ARCH_X86".into(), "SCMP_ARCH_X32".into(), "SCMP_ARCH_ARM".into()],
        syscalls: vec![rule(&["mkdir", "socketcall"], "SCMP_ACT_ERRNO", vec![])],
        ..Default::default()
    };
    let f = compile(&s, Arch::X86_64).unwrap();
    assert_eq!(run(&f.prog, AUDIT_ARCH_I386, 39, [0; 6]), EPERM); // i386 mkdir
    assert_eq!(run(&f.prog, AUDIT_ARCH_I386, 102, [0; 6]), EPERM); // i386 socketcall
    assert_eq!(run(&f.prog, AUDIT_ARCH_I386, 83, [0; 6]), RET_ALLOW); // 83 is symlink on i386
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, 83 | X32_SYSCALL_BIT, [0; 6]), EPERM);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, 102, [0; 6]), RET_ALLOW); // getuid on x86_64
    assert_eq!(run(&f.prog, AUDIT_ARCH_AARCH64, 34, [0; 6]), RET_KILL_PROCESS);
    let arm = compile(&s, Arch::Aarch64).unwrap();
    assert_eq!(run(&arm.prog, AUDIT_ARCH_AARCH64, 34, [0; 6]), RET_ALLOW); // no mkdir on arm64; 34 is mkdirat
}

#[test]
fn bad_profiles_name_the_field() {
    let err = |s: Seccomp| compile(&s, Arch::X86_64).unwrap_err().to_string();
    let base = || Seccomp { default_action: "SCMP_ACT_ALLOW".into(), ..Default::default() };
    assert!(err(Seccomp { syscalls: vec![rule(&["read", "nosuchcall"], "SCMP_ACT_ERRNO", vec![])], ..base() })
        .contains("linux.seccomp.syscalls[0].names[1]"));
    assert!(err(Seccomp { default_action: "SCMP_ACT_FOO".into(), ..base() }).contains("linux.seccomp.defaultAction"));
    assert!(err(Seccomp { syscalls: vec![rule(&["read"], "SCMP_ACT_ALLOW", vec![arg(6, "SCMP_CMP_EQ", 0, 0)])], ..base() })
        .contains("args[0].index"));
    assert!(err(Seccomp { syscalls: vec![rule(&["read"], "SCMP_ACT_ALLOW", vec![arg(0, "SCMP_CMP_XX", 0, 0)])], ..base() })
        .contains("args[0].op"));
    assert!(err(Seccomp { flags: vec!["NOPE".into()], ..base() }).contains("linux.seccomp.flags[0]"));
    assert!(err(Seccomp { architectures: vec!["X86".into()], ..base() }).contains("linux.seccomp.architectures[0]"));
    // A listener without a NOTIFY rule is ignored; a NOTIFY rule without one is refused.
    assert_eq!(compile(&Seccomp { listener_path: Some("/run/x.sock".into()), ..base() }, Arch::X86_64).unwrap().flags, 0);
    let e = compile(&Seccomp { syscalls: vec![rule(&["read"], "SCMP_ACT_NOTIFY", vec![])], ..base() }, Arch::X86_64).unwrap_err();
    assert_eq!(e.code, Code::InvalidConfig);
}

#[test]
fn a_docker_sized_allow_list_fits() {
    let names: Vec<&str> = table::SYSCALLS.iter().map(|r| r.0).collect();
    let s = Seccomp {
        default_action: "SCMP_ACT_ERRNO".into(),
        architectures: vec!["SCMP_ARCH_X86_64".into(), "SCMP_ARCH_X86".into(), "SCMP_ARCH_X32".into()],
        syscalls: vec![rule(&names, "SCMP_ACT_ALLOW", vec![]), rule(&["personality"], "SCMP_ACT_ALLOW", vec![arg(0, "SCMP_CMP_EQ", 8, 0)])],
        ..Default::default()
    };
    let f = compile(&s, Arch::X86_64).unwrap();
    assert!(f.prog.len() < 4096);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("openat"), [0; 6]), RET_ALLOW);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, 999, [0; 6]), RET_ERRNO | libc::ENOSYS as u32);
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    let s = Seccomp {
        default_action: "SCMP_ACT_ERRNO".into(),
        syscalls: vec![rule(&["read", "openat", "close"], "SCMP_ACT_ALLOW", vec![])],
        ..Default::default()
    };
    let f = compile(&s, Arch::X86_64).unwrap();
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("openat"), [0; 6]), RET_ALLOW);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("write"), [0; 6]), EPERM, "older than openat: the default");
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("clone3"), [0; 6]), RET_ERRNO | libc::ENOSYS as u32);
    // With an allowing default, nothing changes.
    let open = compile(&Seccomp { default_action: "SCMP_ACT_ALLOW".into(), ..s.clone() }, Arch::X86_64).unwrap();
    assert_eq!(run(&open.prog, AUDIT_ARCH_X86_64, nr("clone3"), [0; 6]), RET_ALLOW);
}

fn notify_profile() -> Seccomp {
    Seccomp {
        default_action: "SCMP_ACT_ALLOW".into(),
        listener_path: Some("/run/agent.sock".into()),
        syscalls: vec![rule(&["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY", vec![])],
        ..Default::default()
    }
}

#[test]
fn notify_rules_return_user_notif_and_ask_for_a_listener() {
    let f = compile(&notify_profile(), Arch::X86_64).unwrap();
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("mkdir"), [0; 6]), RET_USER_NOTIF);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("mkdirat"), [0; 6]), RET_USER_NOTIF);
    assert_eq!(run(&f.prog, AUDIT_ARCH_X86_64, nr("sendmsg"), [0; 6]), RET_ALLOW);
    assert_eq!(f.flags, FLAG_NEW_LISTENER);
    // TSYNC with a listener needs TSYNC_ESRCH; WAIT_KILLABLE_RECV only acts with a listener.
    let flags = |names: &[&str], s: Seccomp| {
        compile(&Seccomp { flags: names.iter().map(|n| n.to_string()).collect(), ..s }, Arch::X86_64).unwrap().flags
    };
    assert_eq!(flags(&["SECCOMP_FILTER_FLAG_TSYNC"], notify_profile()), FLAG_TSYNC | FLAG_NEW_LISTENER | FLAG_TSYNC_ESRCH);
    assert_eq!(flags(&["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"], notify_profile()), FLAG_NEW_LISTENER | FLAG_WAIT_KILLABLE_RECV);
    let plain = Seccomp { listener_path: None, syscalls: vec![rule(&["mkdir"], "SCMP_ACT_ERRNO", vec![])], ..notify_profile() };
    assert_eq!(flags(&["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"], plain), FLAG_TSYNC);
    // listenerPath without a NOTIFY rule is ignored (runtime-spec): no listener.
    let ignored = Seccomp { syscalls: vec![rule(&["mkdir"], "SCMP_ACT_ERRNO", vec![])], ..notify_profile() };
    assert_eq!(compile(&ignored, Arch::X86_64).unwrap().flags, 0);
}

#[test]
fn notify_misuse_names_the_field() {
    let err = |s: Seccomp| compile(&s, Arch::X86_64).unwrap_err().message;
    assert!(err(Seccomp { listener_path: None, ..notify_profile() }).starts_with("linux.seccomp.listenerPath: is required"));
    assert!(err(Seccomp { listener_path: Some("rel.sock".into()), ..notify_profile() })
        .starts_with("linux.seccomp.listenerPath: \"rel.sock\" must be an absolute path"));
    assert!(err(Seccomp { default_action: "SCMP_ACT_NOTIFY".into(), ..notify_profile() })
        .starts_with("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot"));
    let send = Seccomp { syscalls: vec![rule(&["read", "sendmsg"], "SCMP_ACT_NOTIFY", vec![])], ..notify_profile() };
    assert!(err(send).starts_with("linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for sendmsg"));
    let eof = Seccomp { syscalls: vec![rule(&["shutdown"], "SCMP_ACT_NOTIFY", vec![])], ..notify_profile() };
    assert!(err(eof).starts_with("linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for shutdown"));
    let meta = Seccomp { listener_path: None, listener_metadata: Some("m".into()), syscalls: vec![], ..notify_profile() };
    assert!(err(meta).starts_with("linux.seccomp.listenerMetadata: must not be set"));
}

#[test]
fn the_process_state_names_the_fd_and_carries_the_metadata() {
    let mut plan: crate::plan::Plan = serde_json::from_value(serde_json::json!({
        "mode": "create", "id": "c1", "bundle": "/b", "stateDir": "/s",
        "config": { "ociVersion": "1.0.2", "root": { "path": "/b/rootfs" }, "annotations": { "k": "v" } },
    }))
    .unwrap();
    let seccomp = Seccomp { listener_metadata: Some("MKNOD=/dev/null".into()), ..notify_profile() };
    plan.config.linux = Some(serde_json::from_value(serde_json::json!({ "seccomp": seccomp })).unwrap());
    let v: serde_json::Value = serde_json::from_slice(&notify::init_state(&plan, "creating", 4422)).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "ociVersion": "1.2.0", "fds": ["seccompFd"], "pid": 4422, "metadata": "MKNOD=/dev/null",
            "state": { "ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 4422, "bundle": "/b", "annotations": { "k": "v" } },
        })
    );
}
