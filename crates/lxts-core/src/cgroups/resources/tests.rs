//! File mapping tests. A temporary directory stands in for cgroupfs: the v1 tests
//! use a fake per-controller tree, and ALL v2 tests run against a fake unified tree
//! only (this development host has no v2 controllers; the real-kernel behaviour is
//! covered by the v1 integration tests).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::plan::*;

use crate::cgroups::test_dir::TempDir;

fn touch(dir: &Path, files: &[&str]) {
    fs::create_dir_all(dir).unwrap();
    for f in files {
        fs::write(dir.join(f), "").unwrap();
    }
}

fn get(dir: &Path, f: &str) -> String {
    fs::read_to_string(dir.join(f)).unwrap()
}

/// A fake v2 container directory with the usual interface files.
fn v2_tree(t: &TempDir) -> Target {
    let d = t.0.join("unified");
    touch(
        &d,
        &[
            "memory.max",
            "memory.low",
            "memory.swap.max",
            "cpu.max",
            "cpu.weight",
            "cpu.idle",
            "cpuset.cpus",
            "cpuset.mems",
            "pids.max",
            "io.weight",
            "io.max",
            "hugetlb.2MB.max",
            "memory.events",
        ],
    );
    Target { v2: true, v1: Vec::new(), unified: Some(d) }
}

/// A fake v1 tree with memory, cpu, pids, devices and cpuset (no hugetlb, net_cls, blkio).
fn v1_tree(t: &TempDir) -> Target {
    let mut v1 = Vec::new();
    for (c, files) in [
        (
            "memory",
            &[
                "memory.limit_in_bytes",
                "memory.memsw.limit_in_bytes",
                "memory.soft_limit_in_bytes",
                "memory.swappiness",
                "memory.oom_control",
                "memory.use_hierarchy",
            ][..],
        ),
        ("cpu", &["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"][..]),
        ("pids", &["pids.max"][..]),
        ("devices", &["devices.allow", "devices.deny"][..]),
        ("cpuset", &["cpuset.cpus", "cpuset.mems"][..]),
    ] {
        let d = t.0.join(c).join("c1");
        touch(&d, files);
        v1.push((vec![c.to_owned()], d));
    }
    fs::write(t.0.join("memory/c1/memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
    Target { v2: false, v1, unified: None }
}

fn res(json: &str) -> Resources {
    serde_json::from_str(json).unwrap()
}

#[test]
fn v2_fake_tree_memory_swap_conversion_and_max() {
    let t = TempDir::new("v2mem");
    let tg = v2_tree(&t);
    let d = tg.unified.clone().unwrap();
    let w = apply(&tg, &res(r#"{"memory":{"limit":33554432,"reservation":1000,"swap":67108864,"kernel":5}}"#)).unwrap();
    assert_eq!(get(&d, "memory.max"), "33554432");
    assert_eq!(get(&d, "memory.low"), "1000");
    assert_eq!(get(&d, "memory.swap.max"), "33554432", "swap.max = memsw - limit");
    assert_eq!(w.len(), 1, "kernel memory is warned about: {w:?}");
    apply(&tg, &res(r#"{"memory":{"limit":-1,"swap":-1}}"#)).unwrap();
    assert_eq!(get(&d, "memory.max"), "max");
    assert_eq!(get(&d, "memory.swap.max"), "max");
}

#[test]
fn v2_fake_tree_swap_conversion_errors() {
    assert_eq!(swap_to_v2(None, Some(5)).unwrap(), None);
    assert_eq!(swap_to_v2(Some(0), Some(5)).unwrap(), None);
    assert_eq!(swap_to_v2(Some(-1), None).unwrap(), Some(-1));
    assert_eq!(swap_to_v2(Some(30), Some(10)).unwrap(), Some(20));
    for (s, l) in [(Some(10), None), (Some(5), Some(10)), (Some(10), Some(-1))] {
        let e = swap_to_v2(s, l).unwrap_err();
        assert!(e.message.starts_with("linux.resources.memory.swap:"), "{}", e.message);
    }
}

#[test]
fn v2_fake_tree_cpu_weight_max_idle_cpuset_pids() {
    let t = TempDir::new("v2cpu");
    let tg = v2_tree(&t);
    let d = tg.unified.clone().unwrap();
    apply(&tg, &res(r#"{"cpu":{"shares":1024,"quota":20000,"period":100000,"idle":1,"cpus":"0","mems":"0"},"pids":{"limit":64}}"#))
        .unwrap();
    assert_eq!(get(&d, "cpu.weight"), "39");
    assert_eq!(get(&d, "cpu.max"), "20000 100000");
    assert_eq!(get(&d, "cpu.idle"), "1");
    assert_eq!(get(&d, "cpuset.cpus"), "0");
    assert_eq!(get(&d, "pids.max"), "64");
    apply(&tg, &res(r#"{"cpu":{"quota":-1},"pids":{"limit":-1}}"#)).unwrap();
    assert_eq!(get(&d, "cpu.max"), "max");
    assert_eq!(get(&d, "pids.max"), "max");
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(262144), 10000);
    let e = apply(&tg, &res(r#"{"cpu":{"realtimeRuntime":1000}}"#)).unwrap_err();
    assert!(e.message.contains("cpu.realtimeRuntime"), "{}", e.message);
}

#[test]
fn v2_fake_tree_io_hugetlb_unified() {
    let t = TempDir::new("v2io");
    let tg = v2_tree(&t);
    let d = tg.unified.clone().unwrap();
    apply(&tg, &res(r#"{"blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}]},"hugepageLimits":[{"pageSize":"2MB","limit":4194304}],"unified":{"memory.high":"50000000"}}"#)).unwrap_err();
    // memory.high does not exist in the fake tree: the unified write names the key.
    touch(&d, &["memory.high"]);
    apply(&tg, &res(r#"{"blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}]},"hugepageLimits":[{"pageSize":"2MB","limit":4194304}],"unified":{"memory.high":"50000000"}}"#)).unwrap();
    assert_eq!(get(&d, "io.weight"), "default 4950");
    assert_eq!(get(&d, "io.max"), "8:0 rbps=1048576");
    assert_eq!(get(&d, "hugetlb.2MB.max"), "4194304");
    assert_eq!(get(&d, "memory.high"), "50000000");
    for k in ["../x.max", "a/b.max", "..", "nodot", "cgroup.procs"] {
        let mut u = BTreeMap::new();
        u.insert(k.to_owned(), "1".to_owned());
        let e = apply(&tg, &Resources { unified: u, ..Resources::default() }).unwrap_err();
        assert!(e.message.contains("linux.resources.unified"), "{k}: {}", e.message);
    }
    assert!(!t.0.join("x.max").exists());
}

#[test]
fn v2_fake_tree_devices_need_a_real_cgroup_for_the_bpf_filter() {
    // Real enforcement is tested in devices_bpf_tests.rs; a plain directory is no cgroup.
    let t = TempDir::new("v2dev");
    let tg = v2_tree(&t);
    for rules in [
        r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]"#,
        r#"[{"allow":true,"access":"rwm"}]"#,
    ] {
        let e = apply(&tg, &res(&format!(r#"{{"devices":{rules}}}"#))).unwrap_err();
        assert_eq!(e.code, crate::Code::Cgroup);
        assert!(e.message.starts_with("linux.resources.devices: bpf(BPF_PROG_QUERY)"), "{}", e.message);
    }
}

#[test]
fn v2_fake_tree_missing_interface_file_names_field() {
    let t = TempDir::new("v2miss");
    let tg = v2_tree(&t);
    fs::remove_file(tg.unified.as_ref().unwrap().join("pids.max")).unwrap();
    let e = apply(&tg, &res(r#"{"pids":{"limit":10}}"#)).unwrap_err();
    assert!(e.message.starts_with("linux.resources.pids.limit:"), "{}", e.message);
    assert!(e.message.contains("does not exist"), "{}", e.message);
}

#[test]
fn v1_memory_order_raise_and_lower() {
    let t = TempDir::new("v1mem");
    let tg = v1_tree(&t);
    let d = t.0.join("memory/c1");
    let w = apply(
        &tg,
        &res(r#"{"memory":{"limit":33554432,"swap":67108864,"reservation":1024,"swappiness":10,"disableOOMKiller":true,"kernel":1}}"#),
    )
    .unwrap();
    assert_eq!(get(&d, "memory.limit_in_bytes"), "33554432");
    assert_eq!(get(&d, "memory.memsw.limit_in_bytes"), "67108864");
    assert_eq!(get(&d, "memory.soft_limit_in_bytes"), "1024");
    assert_eq!(get(&d, "memory.swappiness"), "10");
    assert_eq!(get(&d, "memory.oom_control"), "1");
    assert_eq!(w.len(), 1, "kmem missing in the fake tree is a warning: {w:?}");
    let e = apply(&tg, &res(r#"{"memory":{"swappiness":101}}"#)).unwrap_err();
    assert!(e.message.contains("memory.swappiness"), "{}", e.message);
}

#[test]
fn v1_cpu_pids_cpuset() {
    let t = TempDir::new("v1cpu");
    let tg = v1_tree(&t);
    apply(&tg, &res(r#"{"cpu":{"shares":512,"quota":20000,"period":100000,"cpus":"0","mems":"0"},"pids":{"limit":0}}"#)).unwrap();
    assert_eq!(get(&t.0.join("cpu/c1"), "cpu.shares"), "512");
    assert_eq!(get(&t.0.join("cpu/c1"), "cpu.cfs_quota_us"), "20000");
    assert_eq!(get(&t.0.join("cpu/c1"), "cpu.cfs_period_us"), "100000");
    assert_eq!(get(&t.0.join("cpuset/c1"), "cpuset.cpus"), "0");
    assert_eq!(get(&t.0.join("pids/c1"), "pids.max"), "max");
}

#[test]
fn v1_missing_controllers_name_the_field() {
    let t = TempDir::new("v1miss");
    let tg = v1_tree(&t);
    for (json, want) in [
        (r#"{"hugepageLimits":[{"pageSize":"2MB","limit":1}]}"#, "linux.resources.hugepageLimits: hugetlb controller not mounted"),
        (r#"{"network":{"classID":1}}"#, "linux.resources.network.classID: net_cls controller not mounted"),
        (r#"{"blockIO":{"weight":100}}"#, "linux.resources.blockIO: blkio controller not mounted"),
        (r#"{"unified":{"memory.high":"1"}}"#, "linux.resources.unified: needs a cgroup v2 host"),
        (r#"{"blockIO":{"weight":5}}"#, "linux.resources.blockIO.weight: 5 is out of range"),
    ] {
        let e = apply(&tg, &res(json)).unwrap_err();
        assert!(e.message.starts_with(want), "{json}: {}", e.message);
    }
    // Empty sections of a missing controller are fine.
    apply(&tg, &res(r#"{"hugepageLimits":[],"network":{},"blockIO":{}}"#)).unwrap();
}

#[test]
fn hugetlb_page_size_is_checked() {
    for ok in ["2MB", "1GB", "64KB"] {
        assert!(hugetlb::valid_page_size(ok), "{ok}");
    }
    for bad in ["2M", "MB", "02MB", "2mb", "../2MB", ""] {
        assert!(!hugetlb::valid_page_size(bad), "{bad}");
    }
    let t = TempDir::new("huge");
    let d = t.0.join("hugetlb/c1");
    touch(&d, &["hugetlb.2MB.limit_in_bytes"]);
    let tg = Target { v2: false, v1: vec![(vec!["hugetlb".into()], d.clone())], unified: None };
    let e = apply(&tg, &res(r#"{"hugepageLimits":[{"pageSize":"3MB","limit":1}]}"#)).unwrap_err();
    assert!(e.message.starts_with("linux.resources.hugepageLimits[0].pageSize:"), "{}", e.message);
    apply(&tg, &res(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":2097152}]}"#)).unwrap();
    assert_eq!(get(&d, "hugetlb.2MB.limit_in_bytes"), "2097152");
}

#[test]
fn device_rule_lines_and_errors() {
    let r = |j: &str| serde_json::from_str::<DeviceRule>(j).unwrap();
    assert_eq!(devices::line(0, &r(r#"{"allow":false,"access":"rwm"}"#)).unwrap(), "a");
    assert_eq!(devices::line(0, &r(r#"{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}"#)).unwrap(), "c 1:3 rw");
    assert_eq!(devices::line(0, &r(r#"{"allow":true,"type":"c","major":136}"#)).unwrap(), "c 136:* rwm");
    for (j, f) in [
        (r#"{"allow":true,"type":"x"}"#, "devices[3].type"),
        (r#"{"allow":true,"type":"c","access":"rx"}"#, "devices[3].access"),
        (r#"{"allow":true,"type":"c","major":-5}"#, "devices[3].major"),
        (r#"{"allow":true,"type":"a","major":1}"#, "devices[3].type"),
    ] {
        let e = devices::line(3, &r(j)).unwrap_err();
        assert!(e.message.starts_with(&format!("linux.resources.{f}:")), "{j}: {}", e.message);
    }
}

#[test]
fn target_maps_dirs_to_hierarchies() {
    let host = crate::cgroups::detect::parse(
        "1 0 0:1 / /cg/memory rw - cgroup cgroup rw,memory\n2 0 0:2 / /cg/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n3 0 0:3 / /cg/unified rw - cgroup2 cgroup2 rw\n",
        None,
    );
    let t = Target::new(
        &host,
        &[PathBuf::from("/cg/memory/lxts/c1"), PathBuf::from("/cg/cpu,cpuacct/lxts/c1"), PathBuf::from("/cg/unified/lxts/c1")],
    );
    assert!(!t.v2, "hybrid hosts use v1");
    assert_eq!(t.v1_dir("cpuacct", "x").unwrap(), Path::new("/cg/cpu,cpuacct/lxts/c1"));
    assert_eq!(t.unified.as_deref(), Some(Path::new("/cg/unified/lxts/c1")));
    assert!(t.v1_dir("pids", "pids").unwrap_err().message.contains("pids controller not mounted"));
}

#[test]
fn v2_fake_tree_stats_and_oom_counter() {
    let t = TempDir::new("v2stats");
    let tg = v2_tree(&t);
    let d = tg.unified.clone().unwrap();
    fs::write(d.join("cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n")
        .unwrap();
    fs::write(d.join("memory.current"), "4096\n").unwrap();
    fs::write(d.join("memory.max"), "max\n").unwrap();
    fs::write(d.join("memory.events"), "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n").unwrap();
    fs::write(d.join("pids.current"), "3\n").unwrap();
    fs::write(d.join("pids.max"), "64\n").unwrap();
    fs::write(d.join("io.stat"), "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n").unwrap();
    let s = crate::cgroups::stats::read(&tg).unwrap();
    assert_eq!(s.cpu.usage.total, 1_500_000);
    assert_eq!(s.cpu.throttling.throttled_time, 7000);
    assert_eq!(s.memory.usage.usage, 4096);
    assert_eq!(s.memory.usage.limit, u64::MAX);
    assert_eq!(s.memory.usage.failcnt, 2);
    assert_eq!((s.pids.current, s.pids.limit), (3, 64));
    assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
    assert_eq!(crate::cgroups::oom::oom_kills(&tg), Some(1));
    let mut w = crate::cgroups::oom::OomWatcher::new(&tg).unwrap();
    assert_eq!(w.wait(std::time::Duration::from_millis(50)).unwrap().kills, 0);
    fs::write(d.join("memory.events"), "oom_kill 3\n").unwrap();
    assert_eq!(w.wait(std::time::Duration::from_millis(500)).unwrap().kills, 2);
    fs::remove_dir_all(&d).unwrap();
    assert!(w.wait(std::time::Duration::from_millis(500)).unwrap().gone);
}

/// The spare's guess of a v2 host, against the real mounts of this kind of machine: on a
/// v1 or hybrid host `/sys/fs/cgroup` is a tmpfs of v1 hierarchies (not cgroup2), and the
/// hybrid cgroup2 mount is; on a v2 host mounted the usual way, `/sys/fs/cgroup` is.
#[test]
fn the_v2_guess_on_this_host() {
    let host = crate::cgroups::detect().expect("cgroups are mounted here");
    let at = |p: &Path| super::is_cgroup2(&std::ffi::CString::new(p.to_str().unwrap()).unwrap());
    let root = Path::new("/sys/fs/cgroup");
    match host.mode {
        HostMode::V1 => assert!(!at(root)),
        HostMode::Hybrid => {
            assert!(!at(root), "a hybrid host's /sys/fs/cgroup is no cgroup2 mount");
            let unified = host.hierarchies.iter().find(|h| h.v2).expect("a hybrid host has a cgroup2 mount");
            assert!(at(&unified.mount_point), "{}", unified.mount_point.display());
        }
        HostMode::V2 => assert_eq!(at(root), host.hierarchies.iter().any(|h| h.mount_point == root)),
        HostMode::None => {}
    }
    assert!(!super::is_cgroup2(c"/proc"));
}
