//! The cgroup primitives behind `lxts cgroup …` and the library's `cgroups` API:
//! list subsystems, mount/umount hierarchies, create/delete/attach/show groups,
//! read and write interface files, and exec a command inside a group.
//!
//! Paths are resolved by the caller (one directory per selected hierarchy); this
//! module refuses file names that could leave the group directory.

use std::io::ErrorKind;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::detect::{detect, io_error};
use super::freeze::write;
use crate::{Code, Error, Result};

/// Where lxts records the hierarchies it mounted itself (one file per device,
/// holding the mount point). Only those may get a `release_agent`. Kept outside the
/// default `--root` (`/run/lxts`) so it never looks like a container.
pub const OWNED_DIR: &str = "/run/lxts-cgroup-mounts";

/// One line of `lxts cgroup subsystems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subsystem {
    /// Controller (`memory`), named hierarchy (`name=systemd`) or `cgroup2`.
    pub name: String,
    /// Hierarchy id (`/proc/cgroups`, `/proc/self/cgroup`); 0 for cgroup2 or unattached controllers.
    pub hierarchy: u32,
    /// Number of groups in the hierarchy (from `/proc/cgroups`, else counted).
    pub num_cgroups: u32,
    /// Enabled in the kernel.
    pub enabled: bool,
    /// Where it is mounted (empty when nowhere).
    pub mount_points: Vec<PathBuf>,
}

/// Every v1 controller of `/proc/cgroups`, every named hierarchy, and cgroup2.
pub fn subsystems() -> Result<Vec<Subsystem>> {
    let mountinfo = read("/proc/self/mountinfo")?;
    let mounts = cgroup_mounts(&mountinfo);
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string("/proc/cgroups") {
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            let mount_points = mounts.iter().filter(|m| !m.v2 && m.options.iter().any(|o| o == f[0])).map(|m| m.point.clone()).collect();
            out.push(Subsystem {
                name: f[0].to_owned(),
                hierarchy: f[1].parse().unwrap_or(0),
                num_cgroups: f[2].parse().unwrap_or(0),
                enabled: f[3] == "1",
                mount_points,
            });
        }
    }
    let self_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut named: Vec<String> = Vec::new();
    for m in mounts.iter().filter(|m| !m.v2) {
        for o in m.options.iter().filter(|o| o.starts_with("name=")) {
            if !named.contains(o) {
                named.push(o.clone());
            }
        }
    }
    for name in named {
        let hierarchy = self_cgroup
            .lines()
            .find_map(|l| {
                let mut p = l.splitn(3, ':');
                let (id, ctl) = (p.next()?, p.next()?);
                ctl.split(',').any(|c| c == name).then(|| id.parse().ok()).flatten()
            })
            .unwrap_or(0);
        let points: Vec<PathBuf> = mounts.iter().filter(|m| !m.v2 && m.options.contains(&name)).map(|m| m.point.clone()).collect();
        let num_cgroups = points.first().map_or(0, |p| count_groups(p));
        out.push(Subsystem { name, hierarchy, num_cgroups, enabled: true, mount_points: points });
    }
    let v2: Vec<PathBuf> = mounts.iter().filter(|m| m.v2).map(|m| m.point.clone()).collect();
    if !v2.is_empty() {
        let num_cgroups = count_groups(&v2[0]);
        out.push(Subsystem { name: "cgroup2".to_owned(), hierarchy: 0, num_cgroups, enabled: true, mount_points: v2 });
    }
    Ok(out)
}

/// A cgroup mount from mountinfo.
struct CgMount {
    v2: bool,
    point: PathBuf,
    options: Vec<String>,
}

fn cgroup_mounts(mountinfo: &str) -> Vec<CgMount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 || (r[0] != "cgroup" && r[0] != "cgroup2") {
            continue;
        }
        let point = PathBuf::from(l[4].replace("\\040", " "));
        out.push(CgMount { v2: r[0] == "cgroup2", point, options: r[2].split(',').map(str::to_owned).collect() });
    }
    out
}

fn count_groups(dir: &Path) -> u32 {
    let mut n = 1;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                n += count_groups(&e.path());
            }
        }
    }
    n
}

/// `mount -t cgroup -o <controllers>[,name=NAME] cgroup DIR` (`none,name=NAME` for a
/// named hierarchy without controllers). A named hierarchy that already exists on
/// this host is refused (mounting it again would share the host's hierarchy); a new
/// named hierarchy is recorded as lxts-owned, so a `release_agent` may be set on it.
pub fn mount_hierarchy(dir: &Path, controllers: &[String], name: Option<&str>) -> Result<()> {
    if controllers.is_empty() && name.is_none() {
        return Err(Error::new(Code::InvalidConfig, "cgroup mount: give controllers (-c) or a hierarchy name (--name)"));
    }
    let bad = |c: &String| c.is_empty() || c.contains([',', '=', ' ']);
    if let Some(c) = controllers.iter().find(|c| bad(c)) {
        return Err(Error::new(Code::InvalidConfig, format!("cgroup mount: bad controller name {c:?}")));
    }
    if let Some(n) = name {
        if n.is_empty() || n.contains([',', '=', ' ', '/']) || n.len() > 64 {
            return Err(Error::new(Code::InvalidConfig, format!("cgroup mount: bad hierarchy name {n:?}")));
        }
        let wanted = format!("name={n}");
        if let Some(h) = detect()?.hierarchies.iter().find(|h| h.controllers.contains(&wanted)) {
            let msg = format!(
                "named hierarchy {n:?} already exists (mounted at {}); lxts mounts only new named hierarchies",
                h.mount_point.display()
            );
            return Err(Error::new(Code::Cgroup, msg));
        }
        if hierarchy_exists(n) {
            // Mounted in another mount namespace, or left alive: not ours to take.
            let msg = format!("named hierarchy {n:?} already exists (not mounted here); lxts mounts only new named hierarchies");
            return Err(Error::new(Code::Cgroup, msg));
        }
    }
    if !dir.is_dir() {
        return Err(Error::new(Code::InvalidConfig, format!("cgroup mount: {} is not a directory", dir.display())));
    }
    let mut opts: Vec<String> = controllers.to_vec();
    match name {
        Some(n) if controllers.is_empty() => opts = vec!["none".to_owned(), format!("name={n}")],
        Some(n) => opts.push(format!("name={n}")),
        None => {}
    }
    let data = opts.join(",");
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("cgroup"), dir, Some("cgroup"), flags, Some(data.as_str()))
        .map_err(|e| Error::sys(Code::Mount, "mount", Some(&dir.to_string_lossy()), e).context(format!("cgroup -o {data}")))?;
    if name.is_some() {
        if let Err(e) = record_owned(dir) {
            let _ = umount2(dir, MntFlags::MNT_DETACH);
            return Err(e);
        }
    }
    Ok(())
}

fn owned_marker(dir: &Path) -> Result<PathBuf> {
    let dev = std::fs::metadata(dir).map_err(|e| io_error("stat", dir, &e))?.dev();
    Ok(Path::new(OWNED_DIR).join(format!("{dev}")))
}

fn record_owned(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(OWNED_DIR).map_err(|e| io_error("mkdir", OWNED_DIR, &e))?;
    let marker = owned_marker(dir)?;
    std::fs::write(&marker, dir.to_string_lossy().as_bytes()).map_err(|e| io_error("write", &marker, &e))
}

/// Whether `mount_point` is the root of a hierarchy lxts mounted itself: recorded by
/// [`mount_hierarchy`] for this very device and mount point, and still a named v1
/// hierarchy mounted there (a stale record never makes a host hierarchy "ours").
pub fn is_owned(mount_point: &Path) -> bool {
    let Ok(marker) = owned_marker(mount_point) else { return false };
    if !std::fs::read_to_string(marker).is_ok_and(|p| Path::new(&p) == mount_point) {
        return false;
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").map(|m| cgroup_mounts(&m)).unwrap_or_default();
    let here: Vec<&CgMount> = mounts.iter().filter(|m| m.point == mount_point).collect();
    here.len() == 1 && !here[0].v2 && here[0].options.iter().any(|o| o.starts_with("name="))
}

/// Unmount a cgroup hierarchy mounted at `dir` (refuses anything that is not a cgroup mount point).
pub fn umount_hierarchy(dir: &Path) -> Result<()> {
    let mounts = cgroup_mounts(&read("/proc/self/mountinfo")?);
    if !mounts.iter().any(|m| m.point == dir) {
        return Err(Error::new(Code::InvalidConfig, format!("cgroup umount: {} is not a cgroup mount point", dir.display())));
    }
    let marker = owned_marker(dir).ok().filter(|_| is_owned(dir));
    let options = mounts.iter().find(|m| m.point == dir).map(|m| m.options.clone()).unwrap_or_default();
    umount2(dir, MntFlags::empty()).map_err(|e| Error::sys(Code::Mount, "umount2", Some(&dir.to_string_lossy()), e))?;
    if let Some(m) = marker {
        let _ = std::fs::remove_file(m);
        if let Some(name) = options.iter().find_map(|o| o.strip_prefix("name=")) {
            let controllers: Vec<String> = options.iter().filter(|o| is_controller_option(o)).cloned().collect();
            release_lingering(&controllers, name);
        }
    }
    Ok(())
}

/// Whether a v1 mount option names a controller (not `rw`, `name=…`, `release_agent=…`, …).
fn is_controller_option(o: &str) -> bool {
    !o.contains('=')
        && !matches!(
            o,
            "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime" | "noatime" | "none" | "noprefix" | "clone_children" | "xattr"
        )
}

/// Whether the named v1 hierarchy `name` still exists in the kernel (`/proc/self/cgroup` lists it).
fn hierarchy_exists(name: &str) -> bool {
    let wanted = format!("name={name}");
    std::fs::read_to_string("/proc/self/cgroup")
        .is_ok_and(|c| c.lines().any(|l| l.split(':').nth(1).is_some_and(|ctl| ctl.split(',').any(|x| x == wanted))))
}

/// An lxts-mounted named hierarchy unmounted right after its groups were removed lingers in
/// the kernel: the removed groups are still dying, so the last umount does not destroy the
/// hierarchy, and nothing can reach it any more (every process's `/proc/<pid>/cgroup` then
/// carries it, and every new css_set links to it). Once its children are gone, take it again
/// as a detached mount (`fsopen`/`fsmount`: attached nowhere, so no path is followed) and drop
/// that, for up to ~1 s. A hierarchy that still has live groups (the caller unmounted a busy
/// one) is left as the kernel keeps it.
fn release_lingering(controllers: &[String], name: &str) {
    for _ in 0..5 {
        // A hierarchy without children is destroyed asynchronously after its umount: wait.
        for _ in 0..20 {
            if !hierarchy_exists(name) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let Ok(mnt) = detached_mount(controllers, name) else { return };
        let busy = count_groups(Path::new(&format!("/proc/self/fd/{}", mnt.as_raw_fd()))) > 1;
        drop(mnt);
        if busy {
            return;
        }
    }
}

/// A detached mount of the v1 hierarchy `name` (with `controllers`) through the new mount API.
fn detached_mount(controllers: &[String], name: &str) -> Result<OwnedFd> {
    use crate::container::sys::{fs_mount, FsParam};
    let cstr =
        |v: &str| std::ffi::CString::new(v).map_err(|_| Error::new(Code::InvalidConfig, format!("cgroup option {v:?} has a NUL byte")));
    let none = vec!["none".to_owned()];
    let flags = (if controllers.is_empty() { &none } else { controllers }).iter().map(|c| cstr(c)).collect::<Result<Vec<_>>>()?;
    let value = cstr(name)?;
    let mut params: Vec<FsParam<'_>> = flags.iter().map(|f| FsParam::Flag(f)).collect();
    params.push(FsParam::Str(c"name", &value));
    fs_mount(c"cgroup", &params, 0, Code::Mount, name)
}

/// What a group holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    pub dir: PathBuf,
    pub procs: Vec<i32>,
    pub threads: Vec<i32>,
    /// Names of child groups.
    pub children: Vec<String>,
    /// Readable interface files and their (trimmed) contents, sorted by name.
    pub files: Vec<(String, String)>,
}

/// Processes, threads, children and every readable interface file of `dir`.
pub fn show(dir: &Path) -> Result<GroupInfo> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error("opendir", dir, &e))?;
    let mut info = GroupInfo { dir: dir.to_path_buf(), ..Default::default() };
    info.procs = numbers(&dir.join("cgroup.procs"))?;
    let tasks = if dir.join("tasks").exists() { "tasks" } else { "cgroup.threads" };
    info.threads = numbers(&dir.join(tasks))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            info.children.push(name);
        } else if !["cgroup.procs", "tasks", "cgroup.threads"].contains(&name.as_str()) {
            let readable = e.metadata().is_ok_and(|m| m.mode() & 0o444 != 0);
            // Files that refuse reads (write-only or EOPNOTSUPP) are simply not shown.
            if let Some(v) = readable.then(|| std::fs::read_to_string(e.path()).ok()).flatten() {
                info.files.push((name, v.trim_end().to_owned()));
            }
        }
    }
    info.children.sort();
    info.files.sort();
    Ok(info)
}

fn numbers(file: &Path) -> Result<Vec<i32>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("read", file, &e)),
    };
    Ok(text.split_whitespace().filter_map(|w| w.parse().ok()).collect())
}

/// A group's interface file name: one plain component.
fn key_file(dir: &Path, key: &str) -> Result<PathBuf> {
    if key.is_empty() || key == "." || key == ".." || key.contains('/') || key.contains('\0') {
        return Err(Error::new(Code::InvalidConfig, format!("cgroup file name {key:?}: must be one plain file name")));
    }
    let file = dir.join(key);
    if !file.is_file() {
        let msg = format!("{}: no such cgroup interface file", file.display());
        return Err(Error { path: Some(file.to_string_lossy().into_owned()), ..Error::new(Code::Cgroup, msg) });
    }
    Ok(file)
}

/// Read interface file `key` of `dir` (trailing newline removed).
pub fn get(dir: &Path, key: &str) -> Result<String> {
    let file = key_file(dir, key)?;
    Ok(std::fs::read_to_string(&file).map_err(|e| io_error("read", &file, &e))?.trim_end().to_owned())
}

/// Write `value` to interface file `key` of `dir` in one `write(2)`.
pub fn set(dir: &Path, key: &str, value: &str) -> Result<()> {
    write(&key_file(dir, key)?, value)
}

/// Move process `pid` (or, with `thread`, the single thread `pid`) into `dir`.
/// v1 threads go to `tasks`; v2 threads to `cgroup.threads`, after making the
/// group `threaded` when `make_threaded` is set.
pub fn attach(dir: &Path, pid: i32, thread: bool, make_threaded: bool) -> Result<()> {
    if pid <= 0 {
        return Err(Error::new(Code::InvalidConfig, format!("cgroup attach: pid {pid} must be positive")));
    }
    if !dir.is_dir() {
        return Err(Error::new(Code::Cgroup, format!("cgroup {} does not exist", dir.display())));
    }
    let v1 = dir.join("tasks").exists();
    let file = match (thread, v1) {
        (false, _) => "cgroup.procs",
        (true, true) => "tasks",
        (true, false) => {
            if make_threaded {
                write(&dir.join("cgroup.type"), "threaded")?;
            }
            "cgroup.threads"
        }
    };
    write(&dir.join(file), &pid.to_string()).map_err(|e| e.context(format!("attach {} {pid}", if thread { "thread" } else { "process" })))
}

/// Delete the group `dir`. A group with processes anywhere below it is refused,
/// naming them; a group with child groups needs `recursive` (children deepest first).
/// A missing directory is `ERR_LXTS_CGROUP` naming it.
pub fn delete(dir: &Path, recursive: bool) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::new(Code::Cgroup, format!("cgroup {} does not exist", dir.display())));
    }
    let mut busy = Vec::new();
    let mut children = Vec::new();
    walk(dir, &mut busy, &mut children)?;
    if !busy.is_empty() {
        let list: Vec<String> = busy.iter().map(|(d, p)| format!("{} holds pids {p:?}", d.display())).collect();
        return Err(Error::new(Code::Cgroup, format!("cgroup {} is populated: {}", dir.display(), list.join("; "))));
    }
    if !children.is_empty() && !recursive {
        let list: Vec<String> = children.iter().map(|d| d.display().to_string()).collect();
        let msg = format!("cgroup {} has child groups ({}); delete them first or use recursive", dir.display(), list.join(", "));
        return Err(Error::new(Code::Cgroup, msg));
    }
    children.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in children.iter().chain(std::iter::once(&dir.to_path_buf())) {
        match std::fs::remove_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("rmdir", d, &e)),
        }
    }
    Ok(())
}

fn walk(dir: &Path, busy: &mut Vec<(PathBuf, Vec<i32>)>, children: &mut Vec<PathBuf>) -> Result<()> {
    let procs = numbers(&dir.join("cgroup.procs"))?;
    if !procs.is_empty() {
        busy.push((dir.to_path_buf(), procs));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| io_error("opendir", dir, &e))?;
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            children.push(e.path());
            walk(&e.path(), busy, children)?;
        }
    }
    Ok(())
}

/// Put the calling process into every group of `dirs`, then `execvp(argv)`.
/// Returns only on failure. Meant for a single-threaded process (`lxts-helper
/// cgroup-exec`), so the whole process moves and the command starts inside.
pub fn exec_in(dirs: &[PathBuf], argv: &[String]) -> Error {
    if argv.is_empty() {
        return Error::new(Code::InvalidConfig, "cgroup exec: no command given");
    }
    // v1: `0` to `tasks` moves the (only) calling thread without the RCU wait a pid written
    // to `cgroup.procs` costs (see `ContainerCgroup::open_v1_tasks`); v2 has only cgroup.procs.
    for dir in dirs {
        let tasks = dir.join("tasks");
        let res = if tasks.exists() { write(&tasks, "0") } else { write(&dir.join("cgroup.procs"), "0") };
        if let Err(e) = res {
            return e;
        }
    }
    let cargs: Vec<std::ffi::CString> = match argv.iter().map(|a| std::ffi::CString::new(a.as_bytes())).collect() {
        Ok(v) => v,
        Err(_) => return Error::new(Code::InvalidConfig, "cgroup exec: an argument contains a NUL byte"),
    };
    let e = nix::unistd::execvp(&cargs[0], &cargs).err().unwrap_or(Errno::EINVAL);
    let code = if e == Errno::ENOENT { Code::ExecNotFound } else { Code::ExecFailed };
    Error::sys(code, "execvp", Some(&argv[0]), e)
}

fn read(file: &str) -> Result<String> {
    std::fs::read_to_string(file).map_err(|e| io_error("read", file, &e))
}

#[cfg(test)]
#[path = "tool_tests.rs"]
mod tests;
