//! Tests for `tool.rs`, `freeze.rs` and `notify.rs`. Pure checks run anywhere; the
//! real ones (root only) use groups named `lxts-test-rs-*` on this host's cgroup2
//! mount, its v1 freezer, and a named v1 hierarchy mounted in a temporary directory.

use super::*;
use crate::cgroups::freeze::{is_frozen, kill_all, set_frozen};
use crate::cgroups::notify::{record_release, set_release_agent};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command};
use std::time::Duration;

fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn sleeper() -> Child {
    Command::new("sleep").arg("60").spawn().unwrap()
}

/// A group directory removed (after killing what is left in it) on drop.
struct Group(PathBuf);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = kill_all(std::slice::from_ref(&self.0), libc::SIGKILL);
        for _ in 0..50 {
            if delete(&self.0, true).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn group(base: &Path, tag: &str) -> Option<Group> {
    if !root() || !base.is_dir() {
        eprintln!("skipped: needs root and {}", base.display());
        return None;
    }
    let dir = base.join(format!("lxts-test-rs-{tag}-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    Some(Group(dir))
}

#[test]
fn file_names_cannot_leave_the_group() {
    let dir = std::env::temp_dir();
    for key in ["", ".", "..", "../etc/passwd", "a/b"] {
        let e = get(&dir, key).unwrap_err();
        assert_eq!(e.code, Code::InvalidConfig, "{key:?}");
    }
    assert_eq!(get(&dir, "no-such-file-here").unwrap_err().code, Code::Cgroup);
}

#[test]
fn mount_refuses_nonsense() {
    let dir = std::env::temp_dir();
    assert_eq!(mount_hierarchy(&dir, &[], None).unwrap_err().code, Code::InvalidConfig);
    assert_eq!(mount_hierarchy(&dir, &["a,b".into()], None).unwrap_err().code, Code::InvalidConfig);
    assert_eq!(mount_hierarchy(&dir, &[], Some("x,y")).unwrap_err().code, Code::InvalidConfig);
    assert_eq!(umount_hierarchy(&dir).unwrap_err().code, Code::InvalidConfig);
}

#[test]
fn subsystems_of_this_host() {
    let subs = subsystems().unwrap();
    for s in subs.iter().filter(|s| !s.mount_points.is_empty()) {
        assert!(s.mount_points.iter().all(|p| p.is_dir()), "{s:?}");
    }
}

#[test]
fn v2_freeze_kill_and_delete() {
    let Some(g) = group(Path::new("/sys/fs/cgroup/unified"), "v2") else { return };
    let mut child = sleeper();
    attach(&g.0, child.id() as i32, false, false).unwrap();
    assert_eq!(show(&g.0).unwrap().procs, vec![child.id() as i32]);
    assert_eq!(is_frozen(std::slice::from_ref(&g.0)), Some(false));
    set_frozen(std::slice::from_ref(&g.0), true, Duration::from_secs(5)).unwrap();
    assert!(get(&g.0, "cgroup.events").unwrap().contains("frozen 1"));
    assert_eq!(is_frozen(std::slice::from_ref(&g.0)), Some(true));
    let e = delete(&g.0, true).unwrap_err();
    assert!(e.message.contains(&child.id().to_string()), "{}", e.message);
    set_frozen(std::slice::from_ref(&g.0), false, Duration::from_secs(5)).unwrap();
    assert!(get(&g.0, "cgroup.events").unwrap().contains("frozen 0"));
    assert_eq!(kill_all(std::slice::from_ref(&g.0), libc::SIGKILL).unwrap(), 1);
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    std::fs::create_dir(g.0.join("child")).unwrap();
    assert!(delete(&g.0, false).unwrap_err().message.contains("child"));
    delete(&g.0, true).unwrap();
    assert!(!g.0.exists());
}

#[test]
fn v1_freezer_pauses_and_kill_all_reaches_every_process() {
    let Some(g) = group(Path::new("/sys/fs/cgroup/freezer"), "v1") else { return };
    let mut a = sleeper();
    let mut b = sleeper();
    attach(&g.0, a.id() as i32, false, false).unwrap();
    attach(&g.0, b.id() as i32, false, false).unwrap();
    set_frozen(std::slice::from_ref(&g.0), true, Duration::from_secs(5)).unwrap();
    assert_eq!(get(&g.0, "freezer.state").unwrap(), "FROZEN");
    assert_eq!(is_frozen(std::slice::from_ref(&g.0)), Some(true));
    // TERM to a frozen group: delivered, but nothing runs until thawed, and it stays frozen.
    assert_eq!(kill_all(std::slice::from_ref(&g.0), libc::SIGTERM).unwrap(), 2);
    std::thread::sleep(Duration::from_millis(100));
    assert!(a.try_wait().unwrap().is_none(), "a frozen process does not act on TERM");
    assert_eq!(get(&g.0, "freezer.state").unwrap(), "FROZEN");
    set_frozen(std::slice::from_ref(&g.0), false, Duration::from_secs(5)).unwrap();
    assert_eq!(a.wait().unwrap().signal(), Some(libc::SIGTERM));
    assert_eq!(b.wait().unwrap().signal(), Some(libc::SIGTERM));
}

#[test]
fn named_v1_hierarchy_mount_release_agent_umount() {
    if !root() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("lxts-test-rs-mnt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("lxtsrs{}", std::process::id());
    mount_hierarchy(&dir, &[], Some(&name)).unwrap();
    let res = std::panic::catch_unwind(|| {
        assert!(is_owned(&dir));
        assert!(mount_hierarchy(&dir, &[], Some(&name)).unwrap_err().message.contains("already exists"));
        // Host hierarchies are never given a release agent.
        assert!(set_release_agent(Path::new("/sys/fs/cgroup/freezer"), Path::new("/bin/true")).is_err());
        set_release_agent(&dir, Path::new("/bin/true")).unwrap();
        assert_eq!(get(&dir, "release_agent").unwrap(), "/bin/true");
        set_release_agent(&dir, Path::new("")).unwrap_or(());
        let g = dir.join("a/b");
        std::fs::create_dir_all(&g).unwrap();
        let mut c = sleeper();
        attach(&g, c.id() as i32, false, false).unwrap();
        assert!(std::fs::read_to_string(format!("/proc/{}/cgroup", c.id())).unwrap().contains(&format!("name={name}:/a/b")));
        assert!(set_frozen(std::slice::from_ref(&g), true, Duration::from_millis(100)).is_err(), "no freezer on a named hierarchy");
        assert_eq!(kill_all(&[dir.join("a")], libc::SIGKILL).unwrap(), 1, "child groups are included");
        assert_eq!(c.wait().unwrap().signal(), Some(libc::SIGKILL));
        delete(&dir.join("a"), true).unwrap();
    });
    umount_hierarchy(&dir).unwrap();
    assert!(!is_owned(&dir));
    // Its groups were just removed (still dying): the umount must not leave it alive unseen.
    assert!(!hierarchy_exists(&name), "name={name} lingers in /proc/self/cgroup");
    std::fs::remove_dir(&dir).unwrap();
    res.unwrap();
}

#[test]
fn release_lines_are_json() {
    let out = std::env::temp_dir().join(format!("lxts-test-rs-rel-{}", std::process::id()));
    record_release(&out, "/a/b").unwrap();
    record_release(&out, "/a").unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let paths: Vec<String> =
        text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["path"].as_str().unwrap().to_owned()).collect();
    assert_eq!(paths, vec!["/a/b", "/a"]);
}
