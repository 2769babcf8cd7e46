//! Create, fill and remove a container's cgroup under every hierarchy.
//!
//! Every function works on paths taken from a [`Host`] or given by the caller, so
//! tests run them against a temporary directory standing in for the cgroup tree.

use std::io::ErrorKind;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;

use super::detect::io_error;
use super::{Hierarchy, Host};
use crate::{Code, Error, Result};

/// How often, and how long apart, a leaf that reports `EBUSY` is retried (the
/// kernel releases a cgroup shortly after its last task is reaped).
const BUSY_RETRIES: u32 = 10;
const BUSY_DELAY: Duration = Duration::from_millis(20);

/// A container's cgroup: one directory per hierarchy.
#[derive(Debug, Clone, Default)]
pub struct ContainerCgroup {
    /// The container's directory in each hierarchy (v1 and v2).
    pub dirs: Vec<PathBuf>,
    /// The container's directory on the cgroup2 hierarchy, for `CLONE_INTO_CGROUP`.
    pub v2_dir: Option<PathBuf>,
    /// Every directory this call created (parents first); only these may be removed.
    pub created: Vec<PathBuf>,
}

impl ContainerCgroup {
    /// Open `tasks` in every v1 directory, for the init to move itself there by writing `0`.
    /// A thread that moves itself skips the kernel's `cgroup_threadgroup_rwsem`, whose write
    /// side waits for an RCU grace period (4-8 ms here, each time) when a process writes
    /// another's pid into `cgroup.procs`, as runc does.
    pub fn open_v1_tasks(&self) -> Result<Vec<(OwnedFd, PathBuf)>> {
        let v1 = self.dirs.iter().filter(|d| Some(*d) != self.v2_dir.as_ref());
        v1.map(|dir| {
            let file = dir.join("tasks");
            let f = std::fs::OpenOptions::new().write(true).open(&file).map_err(|e| io_error("open", &file, &e))?;
            Ok((OwnedFd::from(f), file))
        })
        .collect()
    }

    /// Move `pid` into the v2 directory, when `CLONE_INTO_CGROUP` could not place it.
    pub fn add_pid_v2(&self, pid: i32) -> Result<()> {
        match &self.v2_dir {
            Some(dir) => write_file(&dir.join("cgroup.procs"), &pid.to_string()),
            None => Ok(()),
        }
    }
}

/// In the init or an exec'd process: move itself into each v1 group (the `tasks` files the
/// helper opened, [`ContainerCgroup::open_v1_tasks`]) and close those fds, which are used once.
pub fn join_all_self(tasks: &[(BorrowedFd<'_>, &Path)]) -> Result<()> {
    for (fd, file) in tasks {
        join_self(*fd, file)?;
        // SAFETY: the inherited copy of the helper's fd; nothing else in this process uses it.
        unsafe { libc::close(fd.as_raw_fd()) };
    }
    Ok(())
}

/// Move the calling thread into the cgroup whose `tasks` file `fd` is (see
/// [`ContainerCgroup::open_v1_tasks`]); `file` names it in the error. The caller must be
/// single-threaded for this to move the whole process.
pub fn join_self(fd: BorrowedFd<'_>, file: &Path) -> Result<()> {
    // SAFETY: a 1-byte write from a static buffer to an open fd.
    let n = unsafe { libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) };
    if n < 0 {
        return Err(Error::sys(Code::Cgroup, "write", Some(&file.to_string_lossy()), Errno::last()));
    }
    Ok(())
}

/// Create `cgroup_path` (absolute, e.g. `/lxts/c1`) under every hierarchy of `host` (for a
/// container, [`Host::for_containers`]).
/// A directory that already exists and is populated is an error (id clash).
/// On error, every directory this call created is removed again.
pub fn create(host: &Host, cgroup_path: &str) -> Result<ContainerCgroup> {
    let wanted = components(cgroup_path)?;
    let mut cg = ContainerCgroup::default();
    for h in &host.hierarchies {
        if let Err(e) = create_one(h, &wanted, &mut cg) {
            // Best effort: the error that made us stop matters more than a failed cleanup.
            let _ = remove(&cg.created);
            return Err(e);
        }
    }
    Ok(cg)
}

/// Pids in the given cgroup directories (union, sorted, deduplicated).
/// A directory that no longer exists holds no pids.
pub fn pids(dirs: &[PathBuf]) -> Result<Vec<i32>> {
    let mut out = Vec::new();
    for dir in dirs {
        let file = dir.join("cgroup.procs");
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error("read", &file, &e)),
        };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let pid = line.parse::<i32>().map_err(|_| Error::new(Code::Cgroup, format!("read {}: bad pid {line:?}", file.display())))?;
            out.push(pid);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Remove directories (deepest first). The container's own leaf must go;
/// shared parents that are busy (EBUSY/ENOTEMPTY) are left. ENOENT is fine.
///
/// A leaf is a directory with no descendant in `dirs`. Child cgroups inside a leaf
/// (made by a process in the container) are removed with it. All directories are
/// tried; the first failure is returned.
pub fn remove(dirs: &[PathBuf]) -> Result<()> {
    let mut order: Vec<&PathBuf> = dirs.iter().collect();
    order.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    order.dedup();
    let mut first_err = None;
    for dir in order {
        let leaf = !dirs.iter().any(|d| d != dir && d.starts_with(dir));
        let res = if leaf { rmdir_tree(dir) } else { rmdir_shared(dir) };
        if let Err(e) = res {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Split an absolute cgroup path into its components, refusing `.`/`..` and `/`.
fn components(cgroup_path: &str) -> Result<Vec<&str>> {
    let bad = |why: &str| Error::new(Code::Cgroup, format!("cgroup path {cgroup_path:?}: {why}"));
    if !cgroup_path.starts_with('/') {
        return Err(bad("must be absolute"));
    }
    let parts: Vec<&str> = cgroup_path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(bad("must not contain . or .."));
    }
    if parts.is_empty() {
        return Err(bad("must not be the root cgroup"));
    }
    Ok(parts)
}

/// The part of `wanted` below the hierarchy's mountinfo root. A path outside the
/// root (the mount shows only a subtree) is taken as relative to the mount, as runc does.
fn below_root<'a>(root: &str, wanted: &'a [&'a str]) -> &'a [&'a str] {
    let root: Vec<&str> = root.split('/').filter(|p| !p.is_empty()).collect();
    if wanted.len() >= root.len() && wanted[..root.len()] == root[..] {
        &wanted[root.len()..]
    } else {
        wanted
    }
}

/// mkdir -p `wanted` under one hierarchy, recording what was created.
fn create_one(h: &Hierarchy, wanted: &[&str], cg: &mut ContainerCgroup) -> Result<()> {
    let rel = below_root(&h.root, wanted);
    if rel.is_empty() {
        let what = format!("cgroup path {} is the root of {}", wanted.join("/"), h.mount_point.display());
        return Err(Error::new(Code::Cgroup, what));
    }
    let cpuset = !h.v2 && h.controllers.iter().any(|c| c == "cpuset");
    // A concurrent `delete` may rmdir a shared, momentarily empty parent between our
    // mkdir of it and of its child: walk again from the top when a level vanishes.
    let mut attempts = 0;
    let (dir, leaf_created) = loop {
        attempts += 1;
        match walk_create(h, rel, cpuset, cg) {
            Ok(done) => break done,
            Err(Walk::Vanished(_)) if attempts < 20 => continue,
            Err(Walk::Vanished(e) | Walk::Failed(e)) => return Err(e),
        }
    };
    if !leaf_created && populated(&dir)? {
        let msg = format!("cgroup {} already exists and has processes", dir.display());
        return Err(Error { path: Some(dir.to_string_lossy().into_owned()), ..Error::new(Code::Cgroup, msg) });
    }
    if h.v2 {
        cg.v2_dir = Some(dir.clone());
    }
    cg.dirs.push(dir);
    Ok(())
}

/// Why one mkdir -p pass stopped.
enum Walk {
    /// A level disappeared under us (a concurrent rmdir): worth another pass.
    Vanished(Error),
    /// Anything else.
    Failed(Error),
}

/// One mkdir -p pass, returning the leaf and whether this pass created it.
fn walk_create(h: &Hierarchy, rel: &[&str], cpuset: bool, cg: &mut ContainerCgroup) -> std::result::Result<(PathBuf, bool), Walk> {
    let mut dir = h.mount_point.clone();
    let mut leaf_created = false;
    for part in rel {
        let parent = dir.clone();
        dir.push(part);
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                if !cg.created.contains(&dir) {
                    cg.created.push(dir.clone());
                }
                leaf_created = true;
            }
            // A level made by someone else (`mkdir` by hand, another tool) may have empty
            // cpuset values too, and no task could join below it: filled as runc does.
            Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => leaf_created = false,
            // EEXIST but gone now, or ENOENT because the parent went: retry from the top.
            Err(e) if e.kind() == ErrorKind::AlreadyExists || e.kind() == ErrorKind::NotFound => {
                return Err(Walk::Vanished(io_error("mkdir", &dir, &e)));
            }
            Err(e) => return Err(Walk::Failed(io_error("mkdir", &dir, &e))),
        }
        if cpuset {
            inherit_cpuset(&parent, &dir).map_err(|e| vanished_or_failed(e, &dir))?;
        }
    }
    Ok((dir, leaf_created))
}

/// A cpuset level that failed: worth another pass when a concurrent `delete` removed it
/// meanwhile (its files went with it: ENOENT, or ENODEV on an fd already open), else the error.
fn vanished_or_failed(e: Error, dir: &Path) -> Walk {
    if !dir.is_dir() {
        Walk::Vanished(e)
    } else {
        Walk::Failed(e)
    }
}

/// A new v1 cpuset group starts with empty `cpus`/`mems`, and attaching a task then
/// fails (ENOSPC); copy the parent's values where they are empty (honouring a `noprefix`
/// mount). Values already set are kept.
fn inherit_cpuset(parent: &Path, dir: &Path) -> Result<()> {
    let prefix = if parent.join("cpuset.cpus").exists() { "cpuset." } else { "" };
    for name in ["cpus", "mems"] {
        let file = format!("{prefix}{name}");
        let mine = read_or_empty(&dir.join(&file))?;
        if mine.trim().is_empty() {
            let theirs = read_or_empty(&parent.join(&file))?;
            // O_CREAT is a no-op on cgroupfs, where the file always exists.
            write_opts(&dir.join(&file), theirs.trim(), true)?;
        }
    }
    Ok(())
}

/// Whether a cgroup holds processes (its own `cgroup.procs`, or v2 `cgroup.events`).
fn populated(dir: &Path) -> Result<bool> {
    let events = read_or_empty(&dir.join("cgroup.events"))?;
    if events.lines().any(|l| l.trim() == "populated 1") {
        return Ok(true);
    }
    Ok(!read_or_empty(&dir.join("cgroup.procs"))?.trim().is_empty())
}

fn read_or_empty(file: &Path) -> Result<String> {
    match std::fs::read_to_string(file) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(io_error("read", file, &e)),
    }
}

/// Write a cgroup interface file in one `write(2)` (cgroupfs acts per write).
fn write_file(file: &Path, value: &str) -> Result<()> {
    write_opts(file, value, false)
}

fn write_opts(file: &Path, value: &str, create: bool) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).truncate(true).create(create).open(file).map_err(|e| io_error("open", file, &e))?;
    f.write_all(value.as_bytes()).map_err(|e| io_error("write", file, &e))
}

/// `rmdir(2)` with the errno as `nix` reports it.
fn rmdir(dir: &Path) -> std::result::Result<(), Errno> {
    std::fs::remove_dir(dir).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// rmdir a shared parent: gone or still in use by someone else are both fine.
fn rmdir_shared(dir: &Path) -> Result<()> {
    match rmdir(dir) {
        Ok(()) | Err(Errno::ENOENT | Errno::EBUSY | Errno::ENOTEMPTY | Errno::EEXIST) => Ok(()),
        Err(e) => Err(Error::sys(Code::Cgroup, "rmdir", Some(&dir.to_string_lossy()), e)),
    }
}

/// rmdir a container's leaf and any child cgroups in it, retrying EBUSY briefly. The rmdir
/// is tried first: listing a cgroup directory (dozens of interface files in a v1 memory
/// group) costs more than the rmdir itself, and a leaf rarely has child groups.
fn rmdir_tree(dir: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match rmdir(dir) {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            // Child groups (made by a process in the container) answer EBUSY (ENOTEMPTY on
            // a plain directory standing in for cgroupfs): remove them, then try again.
            Err(Errno::EBUSY | Errno::ENOTEMPTY) if tries == 0 => {
                remove_children(dir)?;
                tries += 1;
            }
            Err(Errno::EBUSY) if tries < BUSY_RETRIES => {
                std::thread::sleep(BUSY_DELAY);
                tries += 1;
            }
            Err(e) => return Err(Error::sys(Code::Cgroup, "rmdir", Some(&dir.to_string_lossy()), e)),
        }
    }
}

fn remove_children(dir: &Path) -> Result<()> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                rmdir_tree(&entry.path())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "manage_tests.rs"]
mod tests;
