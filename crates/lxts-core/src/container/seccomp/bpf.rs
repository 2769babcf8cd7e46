//! A tiny classic-BPF assembler: instructions whose jumps name labels, resolved
//! into the kernel's relative offsets (8 bits for conditional jumps).

use crate::{Code, Error, Result};

pub const LD_W_ABS: u16 = 0x20;
pub const JEQ_K: u16 = 0x15;
pub const JGT_K: u16 = 0x25;
pub const JGE_K: u16 = 0x35;
pub const JA: u16 = 0x05;
pub const AND_K: u16 = 0x54;
pub const RET_K: u16 = 0x06;

/// Where a conditional jump goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    /// The next instruction.
    Next,
    /// A label placed with [`Asm::place`].
    L(usize),
}

#[derive(Debug, Clone, Copy)]
struct Insn {
    code: u16,
    jt: To,
    jf: To,
    k: u32,
    /// For `ja`: the label to jump to.
    ja: Option<usize>,
}

/// Instructions being assembled.
#[derive(Default)]
pub struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    /// A new, unplaced label.
    pub fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    /// Put `l` at the next instruction.
    pub fn place(&mut self, l: usize) {
        self.labels[l] = Some(self.insns.len());
    }

    /// `A = seccomp_data[off]` (32-bit word).
    pub fn ld(&mut self, off: u32) {
        self.insns.push(Insn { code: LD_W_ABS, jt: To::Next, jf: To::Next, k: off, ja: None });
    }

    /// `A &= k`.
    pub fn and(&mut self, k: u32) {
        self.insns.push(Insn { code: AND_K, jt: To::Next, jf: To::Next, k, ja: None });
    }

    /// A conditional jump (`JEQ_K`, `JGT_K`, `JGE_K`).
    pub fn jmp(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.insns.push(Insn { code, jt, jf, k, ja: None });
    }

    /// An unconditional jump to a label (32-bit offset).
    pub fn ja(&mut self, l: usize) {
        self.insns.push(Insn { code: JA, jt: To::Next, jf: To::Next, k: 0, ja: Some(l) });
    }

    /// `return k`.
    pub fn ret(&mut self, k: u32) {
        self.insns.push(Insn { code: RET_K, jt: To::Next, jf: To::Next, k, ja: None });
    }

    /// Resolve labels into `sock_filter`s.
    pub fn finish(self) -> Result<Vec<libc::sock_filter>> {
        let too_big = || Error::new(Code::InvalidConfig, "linux.seccomp: the profile is too large to compile into one BPF filter");
        if self.insns.len() > 4096 {
            return Err(too_big());
        }
        let target = |l: usize, i: usize| -> Result<u32> {
            let at = self.labels[l].ok_or_else(|| Error::new(Code::Protocol, "seccomp: unplaced BPF label"))?;
            at.checked_sub(i + 1).map(|d| d as u32).ok_or_else(|| Error::new(Code::Protocol, "seccomp: backward BPF jump"))
        };
        let rel = |t: To, i: usize| -> Result<u8> {
            match t {
                To::Next => Ok(0),
                To::L(l) => u8::try_from(target(l, i)?).map_err(|_| too_big()),
            }
        };
        let mut out = Vec::with_capacity(self.insns.len());
        for (i, ins) in self.insns.iter().enumerate() {
            let k = match ins.ja {
                Some(l) => target(l, i)?,
                None => ins.k,
            };
            out.push(libc::sock_filter { code: ins.code, jt: rel(ins.jt, i)?, jf: rel(ins.jf, i)?, k });
        }
        Ok(out)
    }
}
