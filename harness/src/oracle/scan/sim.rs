//! A straight-line walk over one function that follows what its instructions
//! do to SP (as an offset from SP at entry) and to the registers that carry
//! SP-relative addresses or constants into an SP write. The walk follows the
//! code in address order, as the Go assembler builds the pcsp table: after an
//! instruction that does not fall through (RET, B, BR, JMP) it takes SP from
//! the table again, and at every branch target it forgets register values.

use super::pclntab::PcTable;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reg {
    /// A general-purpose register by number (arm64 X0–X30, amd64 in iced's order).
    X(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Sp,
    Reg(Reg),
    Const(i64),
}

/// What an instruction does, in the terms the walk tracks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Does not fall through (RET, B, BR, JMP).
    End,
    /// A call: every register may change; SP is the same after it.
    Call,
    /// `dst = src + imm`.
    AddImm {
        dst: Operand,
        src: Operand,
        imm: i64,
    },
    /// `dst = src ± (add << shift)`.
    AddReg {
        dst: Operand,
        src: Operand,
        add: Operand,
        shift: u8,
        sub: bool,
    },
    /// `dst = val`.
    Set {
        dst: Reg,
        val: i64,
    },
    /// MOVK: replace 16 bits of `dst` at `shift`.
    Insert {
        dst: Reg,
        shift: u8,
        bits: u16,
    },
    /// Load/store with base writeback: `base += imm`; loaded registers change.
    Writeback {
        base: Operand,
        imm: i64,
        clobbers: Vec<Reg>,
    },
    /// An unknown value is written to the operand (SP: the walk loses SP).
    Clobber(Operand),
    ClobberRegs(Vec<Reg>),
}

impl Effect {
    /// Whether the instruction writes SP.
    pub fn writes_sp(&self) -> bool {
        match self {
            Effect::AddImm { dst, .. } | Effect::AddReg { dst, .. } => *dst == Operand::Sp,
            Effect::Writeback { base, .. } => *base == Operand::Sp,
            Effect::Clobber(o) => *o == Operand::Sp,
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    Unknown,
    Const(i64),
    /// SP at entry plus this many bytes.
    Sp(i64),
}

/// One decoded instruction of a function.
#[derive(Clone, Debug)]
pub struct Step {
    pub pc: u64,
    pub len: u8,
    pub effect: Effect,
    /// Absolute target of a direct branch.
    pub target: Option<u64>,
}

/// Register and SP knowledge before an instruction.
#[derive(Clone, Debug)]
pub struct State {
    /// SP relative to entry (negative inside a frame), when known.
    pub sp: Option<i64>,
    regs: Vec<(Reg, Val)>,
}

impl State {
    fn new() -> State {
        State {
            sp: Some(0),
            regs: Vec::new(),
        }
    }

    pub fn reg(&self, r: Reg) -> Val {
        self.regs
            .iter()
            .find(|(k, _)| *k == r)
            .map_or(Val::Unknown, |(_, v)| *v)
    }

    fn set_reg(&mut self, r: Reg, v: Val) {
        self.regs.retain(|(k, _)| *k != r);
        if v != Val::Unknown {
            self.regs.push((r, v));
        }
    }

    fn eval(&self, o: Operand) -> Val {
        match o {
            Operand::Sp => self.sp.map_or(Val::Unknown, Val::Sp),
            Operand::Const(c) => Val::Const(c),
            Operand::Reg(r) => self.reg(r),
        }
    }

    fn assign(&mut self, o: Operand, v: Val) {
        match o {
            Operand::Sp => {
                self.sp = match v {
                    Val::Sp(k) => Some(k),
                    _ => None,
                }
            }
            Operand::Reg(r) => self.set_reg(r, v),
            Operand::Const(_) => {}
        }
    }

    fn apply(&mut self, e: &Effect) {
        match e {
            Effect::None | Effect::End => {}
            Effect::Call => self.regs.clear(),
            Effect::AddImm { dst, src, imm } => {
                let v = match self.eval(*src) {
                    Val::Sp(k) => k.checked_add(*imm).map_or(Val::Unknown, Val::Sp),
                    Val::Const(c) => Val::Const(c.wrapping_add(*imm)),
                    Val::Unknown => Val::Unknown,
                };
                self.assign(*dst, v);
            }
            Effect::AddReg {
                dst,
                src,
                add,
                shift,
                sub,
            } => {
                let v = match (self.eval(*src), self.eval(*add)) {
                    (base, Val::Const(c)) => {
                        let c = c.wrapping_shl(*shift as u32);
                        let c = if *sub { c.wrapping_neg() } else { c };
                        match base {
                            Val::Sp(k) => Val::Sp(k.wrapping_add(c)),
                            Val::Const(b) => Val::Const(b.wrapping_add(c)),
                            Val::Unknown => Val::Unknown,
                        }
                    }
                    _ => Val::Unknown,
                };
                self.assign(*dst, v);
            }
            Effect::Set { dst, val } => self.set_reg(*dst, Val::Const(*val)),
            Effect::Insert { dst, shift, bits } => {
                let v = match self.reg(*dst) {
                    Val::Const(c) => {
                        let mask = !(0xffffu64 << shift);
                        Val::Const(((c as u64 & mask) | ((*bits as u64) << shift)) as i64)
                    }
                    _ => Val::Unknown,
                };
                self.set_reg(*dst, v);
            }
            Effect::Writeback {
                base,
                imm,
                clobbers,
            } => {
                for r in clobbers {
                    self.set_reg(*r, Val::Unknown);
                }
                self.apply(&Effect::AddImm {
                    dst: *base,
                    src: *base,
                    imm: *imm,
                });
            }
            Effect::Clobber(o) => self.assign(*o, Val::Unknown),
            Effect::ClobberRegs(rs) => {
                for r in rs {
                    self.set_reg(*r, Val::Unknown);
                }
            }
        }
    }
}

/// Walk `steps` (one function, in address order). `visit(i, state, table)`
/// sees the state before instruction `i` and the pcsp value there as an SP
/// offset (`-pcsp`), when the table covers that PC.
pub fn walk(steps: &[Step], pcsp: &PcTable, mut visit: impl FnMut(usize, &State, Option<i64>)) {
    let targets: std::collections::HashSet<u64> = steps.iter().filter_map(|s| s.target).collect();
    let mut st = State::new();
    let mut resync = false;
    let mut prev_table = Some(0);
    let mut prev_wrote_sp = false;
    for (i, s) in steps.iter().enumerate() {
        let table = pcsp.lookup(s.pc).map(|(v, _)| -(v as i64));
        // The assembler can change the table without an instruction (a
        // zero-width SP adjustment after code that does not return, such as
        // the morestack tail after a call to panic): take SP from the table
        // where it changes but the previous instruction wrote no SP.
        if i > 0 && table != prev_table && !prev_wrote_sp {
            resync = true;
        }
        prev_table = table;
        prev_wrote_sp = s.effect.writes_sp();
        if resync {
            st.sp = table;
            st.regs.clear();
            resync = false;
        } else if targets.contains(&s.pc) {
            st.regs.clear();
        }
        visit(i, &st, table);
        st.apply(&s.effect);
        if s.effect == Effect::End || (s.effect.writes_sp() && st.sp.is_none()) {
            resync = true;
        }
    }
}
