#!/usr/bin/env python3
"""Dev tool: drive lxts-helper by hand, the way Node does (fd 3 = socketpair).

  drive.py HELPER ROOTFS [--mode create|monitor] [--hostname H] [--cgroup /lxts-x/c1] [--no-pivot]
           [--mount-json '[{...}]'] [--config-json '{...merged into config...}'] -- ARGS...

Writes the plan, prints every control line, releases the init by opening
exec.fifo for reading and prints what the fifo said. Not a test.
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time

def default_config(rootfs, args, hostname):
    return {
        "ociVersion": "1.2.0",
        "root": {"path": rootfs, "readonly": False},
        "hostname": hostname,
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                             for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }

def merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a[k] = v

def main():
    p = argparse.ArgumentParser()
    p.add_argument("helper"); p.add_argument("rootfs")
    p.add_argument("--mode", default="monitor"); p.add_argument("--hostname", default="lxts-box")
    p.add_argument("--cgroup"); p.add_argument("--mount-json"); p.add_argument("--config-json")
    p.add_argument("--no-start", action="store_true"); p.add_argument("--no-pivot", action="store_true")
    p.add_argument("args", nargs="+")
    o = p.parse_args()
    cfg = default_config(o.rootfs, o.args, o.hostname)
    if o.mount_json: cfg["mounts"] += json.loads(o.mount_json)
    if o.config_json: merge(cfg, json.loads(o.config_json))
    state = tempfile.mkdtemp(prefix="lxts-state-")
    plan = {"mode": o.mode, "id": "drive", "bundle": state, "stateDir": state, "config": cfg,
            "cgroup": {"path": o.cgroup} if o.cgroup else None, "noPivot": o.no_pivot, "preserveFds": 0, "consoleSocket": None}
    import fcntl
    a, b = socket.socketpair()
    # Keep our end off fd 3 so that the dup2 below cannot clobber it.
    ours = socket.socket(fileno=fcntl.fcntl(a.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)); a.close()
    theirs = socket.socket(fileno=fcntl.fcntl(b.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)); b.close()
    os.dup2(theirs.fileno(), 3, inheritable=True); theirs.close()
    helper = subprocess.Popen([o.helper], pass_fds=[3])
    os.close(3)
    ours.sendall((json.dumps(plan) + "\n").encode())
    f = ours.makefile("r")
    line = f.readline().strip()
    print("control:", line, flush=True)
    msg = json.loads(line) if line else {}
    if msg.get("type") == "created" and not o.no_start:
        fifo = os.path.join(state, "exec.fifo")
        print("fifo mode:", oct(os.stat(fifo).st_mode & 0o777), flush=True)
        with open(fifo, "rb") as r:
            data = r.read()
        print("fifo:", repr(data), flush=True)
        os.unlink(fifo)
    if o.mode == "monitor" or msg.get("type") != "created":
        rest = f.read().strip()
        if rest: print("control:", rest, flush=True)
    rc = helper.wait()
    print("helper exit:", rc, flush=True)
    if os.path.exists(os.path.join(state, "exit.json")):
        print("exit.json:", open(os.path.join(state, "exit.json")).read().strip())
    if msg.get("type") == "created" and o.mode == "create":
        pid = msg["pid"]
        for _ in range(100):
            try:
                st = open(f"/proc/{pid}/stat").read()
                if ") Z" in st: break
            except FileNotFoundError:
                break
            time.sleep(0.05)
    for n in os.listdir(state): os.unlink(os.path.join(state, n))
    os.rmdir(state)
    sys.exit(rc)

main()
