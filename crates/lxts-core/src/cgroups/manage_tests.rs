//! Tests for `manage.rs`: a temporary directory stands in for the cgroup tree.

use super::*;
use crate::cgroups::HostMode;
use std::fs;

use crate::cgroups::test_dir::TempDir;

/// Regular files (which cgroupfs would drop on rmdir) must go before `remove` in a tempdir.
fn strip_files(dir: &Path) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            strip_files(&e.path());
        } else {
            fs::remove_file(e.path()).unwrap();
        }
    }
}

fn hier(v2: bool, controllers: &[&str], mount_point: PathBuf, root: &str) -> Hierarchy {
    fs::create_dir_all(&mount_point).unwrap();
    Hierarchy { v2, controllers: controllers.iter().map(|s| s.to_string()).collect(), mount_point, root: root.into() }
}

/// cpuset (with root values), memory, name=systemd and cgroup2, all rooted at `/`.
fn fake_hybrid(t: &TempDir) -> Host {
    let h = vec![
        hier(false, &["cpuset"], t.0.join("cpuset"), "/"),
        hier(false, &["memory"], t.0.join("memory"), "/"),
        hier(false, &["name=systemd"], t.0.join("systemd"), "/"),
        hier(true, &[], t.0.join("unified"), "/"),
    ];
    fs::write(t.0.join("cpuset/cpuset.cpus"), "0-1\n").unwrap();
    fs::write(t.0.join("cpuset/cpuset.mems"), "0\n").unwrap();
    Host { mode: HostMode::Hybrid, hierarchies: h }
}

#[test]
fn create_makes_every_hierarchy_and_records_what_it_made() {
    let t = TempDir::new("create");
    let host = fake_hybrid(&t);
    fs::create_dir(t.0.join("memory/lxts")).unwrap(); // pre-existing shared parent
    let cg = create(&host, "/lxts/c1").unwrap();
    let want: Vec<PathBuf> = ["cpuset", "memory", "systemd", "unified"].iter().map(|m| t.0.join(m).join("lxts/c1")).collect();
    assert_eq!(cg.dirs, want);
    assert_eq!(cg.v2_dir, Some(t.0.join("unified/lxts/c1")));
    assert!(!cg.created.contains(&t.0.join("memory/lxts")), "pre-existing parent is not ours");
    assert!(cg.created.contains(&t.0.join("memory/lxts/c1")));
    assert!(cg.created.contains(&t.0.join("cpuset/lxts")));
    assert_eq!(cg.created.len(), 7);
    for d in &cg.dirs {
        assert!(d.is_dir());
    }
    for d in ["cpuset/lxts", "cpuset/lxts/c1"] {
        assert_eq!(fs::read_to_string(t.0.join(d).join("cpuset.cpus")).unwrap(), "0-1");
        assert_eq!(fs::read_to_string(t.0.join(d).join("cpuset.mems")).unwrap(), "0");
    }

    strip_files(&t.0.join("cpuset/lxts"));
    remove(&cg.created).unwrap();
    for d in &cg.created {
        assert!(!d.exists(), "{d:?} removed");
    }
    assert!(t.0.join("memory/lxts").is_dir(), "only created dirs are removed");
}

/// A cpuset parent `lxts` made beforehand (not by lxts) with these file contents.
fn premade_cpuset_parent(t: &TempDir, cpus: &str, mems: &str) {
    fs::create_dir(t.0.join("cpuset/lxts")).unwrap();
    fs::write(t.0.join("cpuset/lxts/cpuset.cpus"), cpus).unwrap();
    fs::write(t.0.join("cpuset/lxts/cpuset.mems"), mems).unwrap();
}

#[test]
fn cpuset_values_already_set_are_kept() {
    let t = TempDir::new("cpuset");
    let host = fake_hybrid(&t);
    premade_cpuset_parent(&t, "1\n", "0\n");
    let cg = create(&host, "/lxts/c2").unwrap();
    assert_eq!(fs::read_to_string(t.0.join("cpuset/lxts/c2/cpuset.cpus")).unwrap(), "1");
    assert!(!cg.created.contains(&t.0.join("cpuset/lxts")));
}

#[test]
fn an_existing_cpuset_parent_with_empty_values_gets_its_parents() {
    let t = TempDir::new("cpuset-empty");
    let host = fake_hybrid(&t);
    // as after `mkdir /sys/fs/cgroup/cpuset/lxts` by hand: the files exist, empty
    premade_cpuset_parent(&t, "\n", "\n");
    let cg = create(&host, "/lxts/c3").unwrap();
    for d in ["cpuset/lxts", "cpuset/lxts/c3"] {
        assert_eq!(fs::read_to_string(t.0.join(d).join("cpuset.cpus")).unwrap(), "0-1", "{d}");
        assert_eq!(fs::read_to_string(t.0.join(d).join("cpuset.mems")).unwrap(), "0", "{d}");
    }
    assert!(!cg.created.contains(&t.0.join("cpuset/lxts")), "still not ours to remove");
}

#[test]
fn path_is_taken_relative_to_the_mountinfo_root() {
    let t = TempDir::new("root");
    let host = Host { mode: HostMode::V2, hierarchies: vec![hier(true, &[], t.0.join("cg"), "/docker/abc")] };
    let cg = create(&host, "/docker/abc/lxts/c1").unwrap();
    assert_eq!(cg.dirs, vec![t.0.join("cg/lxts/c1")]);
    remove(&cg.created).unwrap();
    // A path outside the root is placed under the mount as given.
    let cg = create(&host, "/other/c1").unwrap();
    assert_eq!(cg.dirs, vec![t.0.join("cg/other/c1")]);
    remove(&cg.created).unwrap();
    // The root itself is refused.
    let e = create(&host, "/docker/abc").unwrap_err();
    assert_eq!(e.code, Code::Cgroup);
}

#[test]
fn populated_existing_leaf_is_refused_and_nothing_is_left() {
    let t = TempDir::new("populated");
    let mut host = fake_hybrid(&t);
    host.hierarchies.remove(0); // cpuset files would keep a tempdir from rmdir
    fs::create_dir_all(t.0.join("systemd/lxts/c1")).unwrap();
    fs::write(t.0.join("systemd/lxts/c1/cgroup.procs"), "4242\n").unwrap();
    let e = create(&host, "/lxts/c1").unwrap_err();
    assert_eq!(e.code, Code::Cgroup);
    let leaf = t.0.join("systemd/lxts/c1").to_string_lossy().into_owned();
    assert_eq!(e.path.as_deref(), Some(leaf.as_str()));
    assert!(e.message.contains(&leaf), "{}", e.message);
    assert!(!t.0.join("memory/lxts").exists(), "rolled back");
    assert!(t.0.join("systemd/lxts/c1").is_dir(), "not ours, kept");
}

#[test]
fn empty_existing_leaf_is_reused_but_not_recorded() {
    let t = TempDir::new("reuse");
    let host = Host { mode: HostMode::V1, hierarchies: vec![hier(false, &["pids"], t.0.join("pids"), "/")] };
    fs::create_dir_all(t.0.join("pids/lxts/c1")).unwrap();
    let cg = create(&host, "/lxts/c1").unwrap();
    assert_eq!(cg.dirs, vec![t.0.join("pids/lxts/c1")]);
    assert!(cg.created.is_empty());
    assert_eq!(cg.v2_dir, None);
}

#[test]
fn bad_paths_are_refused() {
    let t = TempDir::new("bad");
    let host = fake_hybrid(&t);
    for p in ["", "lxts/c1", "/", "//", "/lxts/../etc", "/lxts/./c1"] {
        let e = create(&host, p).unwrap_err();
        assert_eq!(e.code, Code::Cgroup, "{p}");
        assert!(e.message.contains("cgroup path"), "{}", e.message);
    }
    assert!(!t.0.join("cpuset/lxts").exists());
}

#[test]
fn v1_tasks_are_opened_and_v2_gets_the_pid() {
    use std::os::fd::AsFd;
    let t = TempDir::new("addpid");
    let host = fake_hybrid(&t);
    let cg = create(&host, "/lxts/c1").unwrap();
    for d in &cg.dirs {
        fs::write(d.join("tasks"), "").unwrap();
        fs::write(d.join("cgroup.procs"), "").unwrap();
    }
    let tasks = cg.open_v1_tasks().unwrap();
    assert_eq!(tasks.len(), cg.dirs.len() - 1, "every v1 directory, not the v2 one");
    assert!(tasks.iter().all(|(_, f)| f.ends_with("tasks") && !f.starts_with(t.0.join("unified"))));
    let (fd, file) = tasks.iter().find(|(_, f)| f.starts_with(t.0.join("memory"))).unwrap();
    join_self(fd.as_fd(), file).unwrap();
    assert_eq!(fs::read_to_string(t.0.join("memory/lxts/c1/tasks")).unwrap(), "0");
    cg.add_pid_v2(99).unwrap();
    assert_eq!(fs::read_to_string(t.0.join("unified/lxts/c1/cgroup.procs")).unwrap(), "99");
    assert_eq!(fs::read_to_string(t.0.join("memory/lxts/c1/cgroup.procs")).unwrap(), "");

    fs::remove_file(t.0.join("memory/lxts/c1/tasks")).unwrap();
    let e = cg.open_v1_tasks().unwrap_err();
    assert_eq!(e.syscall, Some("open"));
    assert_eq!(e.errno, Some(libc::ENOENT));
    assert!(e.message.contains("memory/lxts/c1/tasks"), "{}", e.message);
}

#[test]
fn pids_is_a_sorted_union() {
    let t = TempDir::new("pids");
    fs::create_dir_all(t.0.join("a")).unwrap();
    fs::create_dir_all(t.0.join("b")).unwrap();
    fs::write(t.0.join("a/cgroup.procs"), "30\n10\n").unwrap();
    fs::write(t.0.join("b/cgroup.procs"), "10\n20\n").unwrap();
    let got = pids(&[t.0.join("a"), t.0.join("b"), t.0.join("gone")]).unwrap();
    assert_eq!(got, vec![10, 20, 30]);
    fs::write(t.0.join("b/cgroup.procs"), "x\n").unwrap();
    assert_eq!(pids(&[t.0.join("b")]).unwrap_err().code, Code::Cgroup);
}

#[test]
fn remove_leaves_busy_shared_parents_and_ignores_missing() {
    let t = TempDir::new("remove");
    let parent = t.0.join("lxts");
    let leaf = parent.join("c1");
    let sibling = parent.join("c2");
    fs::create_dir_all(leaf.join("nested/deeper")).unwrap();
    fs::create_dir_all(&sibling).unwrap();
    remove(&[parent.clone(), leaf.clone(), t.0.join("never-existed")]).unwrap();
    assert!(!leaf.exists(), "leaf and its child groups removed");
    assert!(parent.is_dir(), "shared parent still in use is left");
    remove(&[parent.clone(), sibling.clone()]).unwrap();
    assert!(!parent.exists());
}

#[test]
fn remove_reports_a_leaf_it_cannot_remove() {
    let t = TempDir::new("stuck");
    let leaf = t.0.join("c1");
    fs::create_dir_all(&leaf).unwrap();
    fs::write(leaf.join("cgroup.procs"), "1\n").unwrap(); // a regular file keeps it non-empty
    let e = remove(std::slice::from_ref(&leaf)).unwrap_err();
    assert_eq!(e.code, Code::Cgroup);
    assert_eq!(e.syscall, Some("rmdir"));
    assert_eq!(e.errno, Some(libc::ENOTEMPTY));
    assert_eq!(e.path.as_deref(), Some(leaf.to_string_lossy().as_ref()));
}

/// Root only: creates `/lxts-test-r2-<pid>` on the real hierarchies, starts a child
/// that moves itself into the v1 groups (as the init does) and is put into the v2 one,
/// checks it is listed, kills it and removes everything.
#[test]
#[ignore = "needs root and writable cgroup hierarchies"]
fn real_host_create_attach_remove() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let host = crate::cgroups::detect().unwrap();
    assert_ne!(host.mode, HostMode::None);
    let path = format!("/lxts-test-r2-{}/c1", std::process::id());
    let cg = create(&host, &path).unwrap();
    assert_eq!(cg.dirs.len(), host.hierarchies.len());
    let tasks = cg.open_v1_tasks().unwrap();
    let raw: Vec<i32> = tasks.iter().map(|(fd, _)| fd.as_raw_fd()).collect();
    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("30");
    // SAFETY: the closure only write(2)s a static byte to inherited fds (async-signal-safe).
    unsafe {
        cmd.pre_exec(move || {
            for fd in &raw {
                if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        })
    };
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let attached = cg.add_pid_v2(pid);
    let listed: Vec<_> = cg.dirs.iter().map(|d| pids(std::slice::from_ref(d))).collect();
    let _ = child.kill();
    let _ = child.wait();
    let removed = remove(&cg.created);
    attached.unwrap();
    for (d, l) in cg.dirs.iter().zip(listed) {
        assert_eq!(l.unwrap(), vec![pid], "in {d:?}");
    }
    removed.unwrap();
    for d in &cg.created {
        assert!(!d.exists(), "{d:?} removed");
    }
}
