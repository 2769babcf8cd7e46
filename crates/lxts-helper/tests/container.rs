//! Real containers through the helper, driven as Node drives it (fd 3 = socketpair).
//! Needs root and a static busybox (`apt-get install busybox-static`); skips otherwise.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

const BUSYBOX: &str = "/bin/busybox";

fn skip() -> bool {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let ok = root && Path::new(BUSYBOX).exists();
    if !ok {
        eprintln!("skipped: needs root and {BUSYBOX}");
    }
    ok
}

struct Tmp(PathBuf);

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A busybox rootfs and a state dir under one temp dir.
fn fixture(tag: &str) -> Tmp {
    let d = std::env::temp_dir().join(format!("lxts-helper-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let r = d.join("rootfs");
    for sub in ["bin", "proc", "sys", "dev", "tmp", "etc", "mnt"] {
        std::fs::create_dir_all(r.join(sub)).unwrap();
    }
    std::fs::create_dir_all(d.join("state")).unwrap();
    std::fs::copy(BUSYBOX, r.join("bin/busybox")).unwrap();
    for applet in ["sh", "ls", "cat", "hostname", "grep", "ip", "echo", "mount", "touch"] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(applet)).unwrap();
    }
    Tmp(d)
}

fn plan(t: &Tmp, mode: &str, args: &[&str]) -> Value {
    json!({
        "mode": mode, "id": "it", "bundle": t.0, "stateDir": t.0.join("state"),
        "config": {
            "root": {"path": t.0.join("rootfs")},
            "hostname": "lxts-it",
            "process": {
                "args": args, "cwd": "/", "env": ["PATH=/bin"],
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
            },
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=1m"]},
            ],
            "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]},
        },
    })
}

struct Outcome {
    reports: Vec<Value>,
    fifo: Vec<u8>,
    stdout: String,
    status: i32,
}

/// Spawn the helper, send the plan, release the init, collect everything.
fn drive(plan: &Value) -> Outcome {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lxts-helper"));
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).stdin(Stdio::null());
    // SAFETY: dup2 is async-signal-safe; it runs in the forked child before exec.
    unsafe {
        cmd.pre_exec(move || if libc::dup2(fd, 3) < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) });
    }
    let mut child = cmd.spawn().unwrap();
    drop(theirs);
    let mut w = ours.try_clone().unwrap();
    writeln!(w, "{plan}").unwrap();
    let mut lines = BufReader::new(ours);
    let mut reports = Vec::new();
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    let created: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    reports.push(created.clone());
    let mut fifo = Vec::new();
    let state = PathBuf::from(plan["stateDir"].as_str().unwrap());
    if created["type"] == "created" {
        std::fs::File::open(state.join("exec.fifo")).unwrap().read_to_end(&mut fifo).unwrap();
        // What `start` does once the fifo said the exec went through.
        std::fs::remove_file(state.join("exec.fifo")).unwrap();
        for l in lines.lines() {
            reports.push(serde_json::from_str(&l.unwrap()).unwrap());
        }
    }
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let status = child.wait().unwrap().code().unwrap_or(-1);
    Outcome { reports, fifo, stdout, status }
}

#[test]
fn runs_as_pid1_with_hostname_caps_lo_and_no_leaked_fds() {
    if !skip() {
        return;
    }
    let t = fixture("basic");
    let script = "echo $$; hostname; grep CapEff /proc/self/status; ls /proc/self/fd; ip link | grep -c UP; exit 7";
    let o = drive(&plan(&t, "monitor", &["sh", "-c", script]));
    assert_eq!(o.reports[0]["type"], "created", "{:?}", o.reports);
    assert_eq!(o.fifo, vec![0]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "1");
    assert_eq!(lines[1], "lxts-it");
    assert_eq!(lines[2], "CapEff:\t0000000000000020");
    // 0 1 2 and ls's own directory fd, nothing else.
    assert_eq!(&lines[3..7], &["0", "1", "2", "3"], "{}", o.stdout);
    assert_eq!(lines[7], "1", "only lo is up");
    assert_eq!(o.reports[1], json!({"type": "exited", "exitCode": 7, "status": 7, "signal": null}));
    assert_eq!(o.status, 7);
    let exit: Value = serde_json::from_str(&std::fs::read_to_string(t.0.join("state/exit.json")).unwrap()).unwrap();
    assert_eq!(exit["exitCode"], 7);
}

#[test]
fn missing_binary_fails_at_create_and_leaves_nothing() {
    if !skip() {
        return;
    }
    let t = fixture("missing");
    let o = drive(&plan(&t, "create", &["no-such-binary"]));
    assert_eq!(o.reports[0]["type"], "error");
    assert_eq!(o.reports[0]["code"], "ERR_LXTS_EXEC_NOT_FOUND");
    assert_eq!(o.status, 1);
    assert!(!t.0.join("state/exec.fifo").exists(), "fifo removed on failure");
}

#[test]
fn hostile_rootfs_symlinks_are_contained_or_refused() {
    if !skip() {
        return;
    }
    let t = fixture("hostile");
    let r = t.0.join("rootfs");
    std::os::unix::fs::symlink("/", r.join("mnt/escape")).unwrap();
    let mut p = plan(&t, "monitor", &["sh", "-c", "touch /mnt/escape/inside"]);
    p["config"]["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/mnt/escape/lxts-it-target", "type": "tmpfs", "source": "tmpfs"}));
    let o = drive(&p);
    assert_eq!(o.status, 0, "{:?}", o.reports);
    assert!(r.join("lxts-it-target").is_dir(), "created inside the rootfs");
    assert!(!Path::new("/lxts-it-target").exists(), "nothing created on the host");

    // CVE-2019-19921: /proc must not be a symlink.
    std::fs::remove_dir(r.join("proc")).unwrap();
    std::os::unix::fs::symlink("/tmp", r.join("proc")).unwrap();
    let o = drive(&plan(&t, "monitor", &["true"]));
    assert_eq!(o.reports[0]["code"], "ERR_LXTS_UNSAFE_PATH", "{:?}", o.reports);
}
