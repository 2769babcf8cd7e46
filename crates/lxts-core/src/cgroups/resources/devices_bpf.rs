//! `linux.resources.devices` on cgroup v2: a `BPF_PROG_TYPE_CGROUP_DEVICE` program
//! generated from the rule list, loaded and attached with raw `bpf(2)`.
//!
//! The kernel runs the program on every device access of a process in the cgroup
//! (or below) with `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
//! `access_type = access << 16 | type` (type: block 1, char 2; access: mknod 1,
//! read 2, write 4); returning 0 refuses the access with `EPERM`.
//!
//! Semantics (the v1 controller's, as runc emulates them): the rules are the v1
//! lines (config order, then lxts's defaults), the LAST rule that matches wins, no
//! match denies. Each requested access bit is decided on its own (an `open(O_RDWR)`
//! asks read and write at once; it passes only if both are allowed), so
//! `allow c 1:3 rw` then `deny c 1:3 w` leaves read, as v1 does. A rule matches a bit
//! when its access has that bit and its type/major/minor (`a` / `*` = any) match.
//!
//! Generated code, per bit (mknod, read, write):
//!   if !(access & bit) goto next_bit
//!   for each rule with that bit, last first: if type/major/minor differ goto next_rule;
//!     allow → goto next_bit, deny → return 0
//!   return 0                       (nothing matched)
//! after the last bit: return 1. Code after a rule that matches everything is not
//! emitted (the verifier refuses unreachable instructions).
//!
//! Every compare loads its field from the ctx into the scratch r0, for the verifier:
//! what a compare teaches it (`major == 1` on the fall-through) dies with r0, so all
//! the paths that reach a label are one state there, checked once. With the fields
//! kept in registers the learnt values stayed live and the paths multiplied
//! (728 instructions processed for 120); loading the default rules cost ~0.8 ms per
//! container.
//!
//! Attaching (`BPF_F_ALLOW_MULTI`) adds the new program before the old ones are
//! detached, so an `update` never leaves the cgroup without a filter; every program
//! attached directly to the container's own directory is lxts's.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::{Code, Error, Result};

/// Access bits of `bpf_cgroup_dev_ctx.access_type >> 16` (`BPF_DEVCG_ACC_*`).
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;
/// Device types (`BPF_DEVCG_DEV_*`).
pub const DEV_BLOCK: u32 = 1;
pub const DEV_CHAR: u32 = 2;

/// One parsed v1 rule; `None` is a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub kind: Option<u32>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u32,
}

/// Parse a v1 line as [`super::devices::line`] writes it (`a`, `c 1:3 rwm`, `b *:* m`).
pub fn parse(allow: bool, line: &str) -> Option<Rule> {
    if line == "a" {
        return Some(Rule { allow, kind: None, major: None, minor: None, access: ACC_MKNOD | ACC_READ | ACC_WRITE });
    }
    let mut it = line.split(' ');
    let kind = match it.next()? {
        "c" => Some(DEV_CHAR),
        "b" => Some(DEV_BLOCK),
        "a" => None,
        _ => return None,
    };
    let (ma, mi) = it.next()?.split_once(':')?;
    let num = |s: &str| if s == "*" { Some(None) } else { s.parse::<u32>().ok().map(Some) };
    let mut access = 0;
    for c in it.next()?.chars() {
        access |= match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => return None,
        };
    }
    if it.next().is_some() || access == 0 {
        return None;
    }
    Some(Rule { allow, kind, major: num(ma)?, minor: num(mi)?, access })
}

/// One `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes used (linux/bpf_common.h, linux/bpf.h).
pub const LDX_W: u8 = 0x61; // dst = *(u32 *)(src + off)
pub const AND32_K: u8 = 0x54;
pub const RSH32_K: u8 = 0x74;
pub const MOV32_K: u8 = 0xb4;
pub const MOV32_X: u8 = 0xbc;
pub const MOV64_K: u8 = 0xb7;
pub const JA: u8 = 0x05;
pub const JEQ32_K: u8 = 0x16; // JMP32 class: compares the low 32 bits, so majors ≥ 2^31 work
pub const JNE32_K: u8 = 0x56;
pub const EXIT: u8 = 0x95;

/// Registers: r1 the ctx throughout, r0 the field being compared, then the return value.
const R0: u8 = 0;
const R1: u8 = 1;
/// `bpf_cgroup_dev_ctx` offsets: `access_type` (type in the low 16 bits, access above), major, minor.
const CTX_TYPE: i16 = 0;
const CTX_MAJOR: i16 = 4;
const CTX_MINOR: i16 = 8;

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, dst, src, off, imm }
}

/// Builder with forward labels (jump offsets resolved at the end).
struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, usize)>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.insns.len());
    }
    fn emit(&mut self, i: Insn) {
        self.insns.push(i);
    }
    fn jump(&mut self, code: u8, dst: u8, imm: i32, to: usize) {
        self.fixups.push((self.insns.len(), to));
        self.insns.push(ins(code, dst, 0, 0, imm));
    }
    fn ret(&mut self, v: i32) {
        self.emit(ins(MOV64_K, R0, 0, 0, v));
        self.emit(ins(EXIT, 0, 0, 0, 0));
    }
    fn finish(mut self) -> Result<Vec<Insn>> {
        for (at, l) in std::mem::take(&mut self.fixups) {
            let target = self.labels[l].expect("every label is bound");
            let off = i16::try_from(target as i64 - at as i64 - 1)
                .map_err(|_| Error::new(Code::Cgroup, "linux.resources.devices: too many rules for one eBPF program"))?;
            self.insns[at].off = off;
        }
        Ok(self.insns)
    }
}

/// The program for `rules` (v1 order: last match wins, no match denies).
pub fn program(rules: &[Rule]) -> Result<Vec<Insn>> {
    let mut a = Asm { insns: Vec::new(), labels: Vec::new(), fixups: Vec::new() };
    for bit in [ACC_MKNOD, ACC_READ, ACC_WRITE] {
        let next_bit = a.label();
        a.emit(ins(LDX_W, R0, R1, CTX_TYPE, 0));
        a.emit(ins(RSH32_K, R0, 0, 0, 16));
        a.emit(ins(AND32_K, R0, 0, 0, bit as i32));
        a.jump(JEQ32_K, R0, 0, next_bit);
        let mut decided = false;
        for r in rules.iter().rev().filter(|r| r.access & bit != 0) {
            let next_rule = a.label();
            for (field, mask, v) in [(CTX_TYPE, Some(0xffff), r.kind), (CTX_MAJOR, None, r.major), (CTX_MINOR, None, r.minor)] {
                if let Some(v) = v {
                    a.emit(ins(LDX_W, R0, R1, field, 0));
                    if let Some(m) = mask {
                        a.emit(ins(AND32_K, R0, 0, 0, m));
                    }
                    a.jump(JNE32_K, R0, v as i32, next_rule);
                }
            }
            if r.allow {
                a.jump(JA, 0, 0, next_bit);
            } else {
                a.ret(0);
            }
            a.bind(next_rule);
            if r.kind.is_none() && r.major.is_none() && r.minor.is_none() {
                decided = true; // everything below is unreachable
                break;
            }
        }
        if !decided {
            a.ret(0);
        }
        a.bind(next_bit);
    }
    a.ret(1);
    a.finish()
}

// bpf(2) commands, program/attach types and flags (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `union bpf_attr`, as raw words: every command's fields are u32/u64 at fixed
/// offsets and the kernel wants the unused tail zeroed.
#[repr(C, align(8))]
struct Attr([u32; 36]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 36])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Attr {
        self.0[off / 4] = v;
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Attr {
        self.0[off / 4] = v as u32;
        self.0[off / 4 + 1] = (v >> 32) as u32;
        self
    }
}

fn bpf(cmd: libc::c_int, attr: &mut Attr) -> std::result::Result<libc::c_long, nix::errno::Errno> {
    // SAFETY: `attr` is a zero-initialised buffer laid out as `union bpf_attr` for
    // `cmd`; every pointer stored in it stays valid until the call returns.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut Attr, std::mem::size_of::<Attr>() as libc::c_uint) };
    if r < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(r)
    }
}

fn sys_err(what: &'static str, dir: &Path, e: nix::errno::Errno) -> Error {
    Error::sys(Code::Cgroup, what, Some(&dir.to_string_lossy()), e).context("linux.resources.devices")
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: a successful bpf(2) returning an fd hands us its only reference.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

fn encode(insns: &[Insn]) -> Vec<u64> {
    insns
        .iter()
        .map(|i| {
            let b = [i.code, (i.src << 4) | (i.dst & 0xf)];
            let off = i.off.to_le_bytes();
            let imm = i.imm.to_le_bytes();
            u64::from_le_bytes([b[0], b[1], off[0], off[1], imm[0], imm[1], imm[2], imm[3]])
        })
        .collect()
}

/// `BPF_PROG_LOAD`; on a verifier refusal the retry with a log puts the log's tail in the error.
pub fn load(insns: &[Insn], dir: &Path) -> Result<OwnedFd> {
    let code = encode(insns);
    let license = c"Apache";
    let attempt = |log: Option<&mut Vec<u8>>| {
        let mut a = Attr::new();
        a.u32(0, BPF_PROG_TYPE_CGROUP_DEVICE).u32(4, code.len() as u32).u64(8, code.as_ptr() as u64).u64(16, license.as_ptr() as u64);
        if let Some(buf) = log {
            a.u32(24, 1).u32(28, buf.len() as u32).u64(32, buf.as_mut_ptr() as u64);
        }
        bpf(BPF_PROG_LOAD, &mut a)
    };
    match attempt(None) {
        Ok(fd) => Ok(owned(fd)),
        Err(e) => {
            let mut log = vec![0u8; 1 << 18];
            let _ = attempt(Some(&mut log));
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let tail: String = text.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
            let err = sys_err("bpf(BPF_PROG_LOAD)", dir, e);
            Err(if tail.is_empty() { err } else { err.context(format!("verifier: {tail}")) })
        }
    }
}

/// Ids of the device programs attached directly to the cgroup `cg`.
fn query(cg: &OwnedFd, dir: &Path) -> Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut a = Attr::new();
    a.u32(0, cg.as_raw_fd() as u32).u32(4, BPF_CGROUP_DEVICE).u64(16, ids.as_mut_ptr() as u64).u32(24, ids.len() as u32);
    bpf(BPF_PROG_QUERY, &mut a).map_err(|e| sys_err("bpf(BPF_PROG_QUERY)", dir, e))?;
    ids.truncate(a.0[24 / 4] as usize);
    Ok(ids)
}

/// Attach `rules` as the device filter of the cgroup2 directory `dir`, then detach
/// the programs that were there before.
pub fn apply(dir: &Path, rules: &[Rule]) -> Result<()> {
    let insns = program(rules)?;
    let cg = crate::container::sys::open(&dir.to_string_lossy(), libc::O_RDONLY | libc::O_DIRECTORY, Code::Cgroup)
        .map_err(|e| e.context("linux.resources.devices"))?;
    let old = query(&cg, dir)?;
    let prog = match take_preloaded(&insns) {
        Some(fd) => fd,
        None => load(&insns, dir)?,
    };
    let mut a = Attr::new();
    a.u32(0, cg.as_raw_fd() as u32).u32(4, prog.as_raw_fd() as u32).u32(8, BPF_CGROUP_DEVICE).u32(12, BPF_F_ALLOW_MULTI);
    bpf(BPF_PROG_ATTACH, &mut a).map_err(|e| sys_err("bpf(BPF_PROG_ATTACH)", dir, e))?;
    for id in old {
        detach(&cg, id, dir)?;
    }
    Ok(())
}

/// The program [`preload`] loaded, with its instructions.
static PRELOADED: std::sync::Mutex<Option<(Vec<Insn>, OwnedFd)>> = std::sync::Mutex::new(None);

/// Load the program for `rules` now, for an [`apply`] of the same program later: the helper
/// does it while it waits for its plan, so the verifier's ~0.45 ms is not spent between the
/// plan and the container. A later [`apply`] of other rules loads its own and drops this one.
pub fn preload(rules: &[Rule]) -> Result<()> {
    let insns = program(rules)?;
    let fd = load(&insns, Path::new("(preloaded device filter)"))?;
    if let Ok(mut slot) = PRELOADED.lock() {
        *slot = Some((insns, fd));
    }
    Ok(())
}

/// The fd number of the preloaded program, which the helper's sweep of inherited fds must spare.
pub fn preloaded_fd() -> Option<std::os::fd::RawFd> {
    PRELOADED.lock().ok()?.as_ref().map(|(_, fd)| fd.as_raw_fd())
}

/// Close the preloaded program if nothing took it (the container's rules were others).
pub fn drop_preloaded() {
    if let Ok(mut slot) = PRELOADED.lock() {
        slot.take();
    }
}

/// The preloaded program if it is `insns`; the slot is emptied either way.
fn take_preloaded(insns: &[Insn]) -> Option<OwnedFd> {
    match PRELOADED.lock().ok()?.take() {
        Some((loaded, fd)) if loaded == insns => Some(fd),
        _ => None,
    }
}

/// Detach every device program attached directly to `dir` (rules that allow everything).
pub fn clear(dir: &Path) -> Result<()> {
    let cg = crate::container::sys::open(&dir.to_string_lossy(), libc::O_RDONLY | libc::O_DIRECTORY, Code::Cgroup)
        .map_err(|e| e.context("linux.resources.devices"))?;
    for id in query(&cg, dir)? {
        detach(&cg, id, dir)?;
    }
    Ok(())
}

fn detach(cg: &OwnedFd, id: u32, dir: &Path) -> Result<()> {
    let mut a = Attr::new();
    a.u32(0, id);
    let prog = match bpf(BPF_PROG_GET_FD_BY_ID, &mut a) {
        Ok(fd) => owned(fd),
        Err(nix::errno::Errno::ENOENT) => return Ok(()), // detached meanwhile
        Err(e) => return Err(sys_err("bpf(BPF_PROG_GET_FD_BY_ID)", dir, e)),
    };
    let mut a = Attr::new();
    a.u32(0, cg.as_raw_fd() as u32).u32(4, prog.as_raw_fd() as u32).u32(8, BPF_CGROUP_DEVICE);
    match bpf(BPF_PROG_DETACH, &mut a) {
        Ok(_) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(sys_err("bpf(BPF_PROG_DETACH)", dir, e)),
    }
}

#[cfg(test)]
#[path = "devices_bpf_tests.rs"]
mod tests;
