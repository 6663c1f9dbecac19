//! x86-64: decoded with `iced-x86`, reduced to the effects the walk tracks
//! (SUB/ADD/LEA/MOV on RSP, PUSH/POP, RBP as a copy of SP, calls and jumps).
//! On amd64 Go adjusts SP with single instructions, so this is a consistency
//! check of the same oracle rather than a known bug.

use super::sim::{Effect, Operand, Reg, Step};
use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register};

fn gpr(r: Register) -> Option<Operand> {
    if r == Register::None {
        return None;
    }
    let f = r.full_register();
    if f == Register::RSP {
        return Some(Operand::Sp);
    }
    if f.is_gpr64() {
        return Some(Operand::Reg(Reg::X(f as u8)));
    }
    None
}

fn effect(ins: &Instruction) -> Effect {
    let op0_reg = (ins.op_count() > 0 && ins.op0_kind() == OpKind::Register)
        .then(|| gpr(ins.op0_register()))
        .flatten();
    let imm1 = || -> Option<i64> {
        (ins.op_count() > 1
            && matches!(
                ins.op1_kind(),
                OpKind::Immediate8
                    | OpKind::Immediate8to64
                    | OpKind::Immediate32to64
                    | OpKind::Immediate32
                    | OpKind::Immediate16
                    | OpKind::Immediate8to32
            ))
        .then(|| ins.immediate(1) as i64)
    };
    match ins.flow_control() {
        FlowControl::Return | FlowControl::UnconditionalBranch | FlowControl::IndirectBranch => {
            return Effect::End
        }
        FlowControl::Call | FlowControl::IndirectCall => return Effect::Call,
        _ => {}
    }
    match ins.mnemonic() {
        Mnemonic::Sub | Mnemonic::Add => {
            if let (Some(dst), Some(imm)) = (op0_reg, imm1()) {
                let imm = if ins.mnemonic() == Mnemonic::Sub {
                    -imm
                } else {
                    imm
                };
                return Effect::AddImm { dst, src: dst, imm };
            }
        }
        Mnemonic::Push => {
            return Effect::Writeback {
                base: Operand::Sp,
                imm: -8,
                clobbers: vec![],
            }
        }
        Mnemonic::Pushfq => {
            return Effect::Writeback {
                base: Operand::Sp,
                imm: -8,
                clobbers: vec![],
            }
        }
        Mnemonic::Popfq => {
            return Effect::Writeback {
                base: Operand::Sp,
                imm: 8,
                clobbers: vec![],
            }
        }
        Mnemonic::Pop => {
            return match op0_reg {
                Some(Operand::Sp) => Effect::Clobber(Operand::Sp),
                Some(Operand::Reg(r)) => Effect::Writeback {
                    base: Operand::Sp,
                    imm: 8,
                    clobbers: vec![r],
                },
                _ => Effect::Writeback {
                    base: Operand::Sp,
                    imm: 8,
                    clobbers: vec![],
                },
            }
        }
        Mnemonic::Lea => {
            if let Some(dst) = op0_reg {
                let base = gpr(ins.memory_base());
                if let Some(src) = base.filter(|_| ins.memory_index() == Register::None) {
                    return Effect::AddImm {
                        dst,
                        src,
                        imm: ins.memory_displacement64() as i64,
                    };
                }
                return Effect::Clobber(dst);
            }
        }
        Mnemonic::Mov => {
            if let Some(dst) = op0_reg {
                if ins.op1_kind() == OpKind::Register {
                    if let Some(src) =
                        gpr(ins.op1_register()).filter(|_| ins.op0_register().is_gpr64())
                    {
                        return Effect::AddImm { dst, src, imm: 0 };
                    }
                }
                return Effect::Clobber(dst);
            }
        }
        Mnemonic::Cmp | Mnemonic::Test | Mnemonic::Bt => return Effect::None,
        Mnemonic::Leave | Mnemonic::Enter => return Effect::Clobber(Operand::Sp),
        _ => {}
    }
    match op0_reg {
        Some(o) => Effect::Clobber(o),
        None => Effect::None,
    }
}

/// Decode `code` (the bytes of one function at `entry`).
pub fn decode_function(code: &[u8], entry: u64) -> Vec<Step> {
    let mut dec = Decoder::with_ip(64, code, entry, DecoderOptions::NONE);
    let mut out = Vec::new();
    let mut ins = Instruction::default();
    while dec.can_decode() {
        dec.decode_out(&mut ins);
        let len = ins.len();
        let target =
            matches!(ins.op0_kind(), OpKind::NearBranch64).then(|| ins.near_branch_target());
        let e = if ins.is_invalid() {
            Effect::None
        } else {
            effect(&ins)
        };
        out.push(Step {
            pc: ins.ip(),
            len: len as u8,
            effect: e,
            target,
        });
    }
    out
}

/// Hex bytes and mnemonic of the instruction at `pc` of a function.
pub fn describe(code: &[u8], entry: u64, pc: u64) -> (String, String) {
    let off = (pc - entry) as usize;
    let Some(rest) = code.get(off..) else {
        return (String::new(), String::new());
    };
    let mut dec = Decoder::with_ip(64, rest, pc, DecoderOptions::NONE);
    let ins = dec.decode();
    let bytes = &rest[..ins.len().min(rest.len())];
    (
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
        format!("{:?}", ins.mnemonic()).to_lowercase(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Effect {
        decode_function(bytes, 0x1000)[0].effect.clone()
    }

    #[test]
    fn sp_writes() {
        // sub rsp, 0x11950
        assert_eq!(
            one(&[0x48, 0x81, 0xec, 0x50, 0x19, 0x01, 0x00]),
            Effect::AddImm {
                dst: Operand::Sp,
                src: Operand::Sp,
                imm: -0x11950
            }
        );
        // add rsp, 0x18
        assert_eq!(
            one(&[0x48, 0x83, 0xc4, 0x18]),
            Effect::AddImm {
                dst: Operand::Sp,
                src: Operand::Sp,
                imm: 0x18
            }
        );
        // push rbp
        assert_eq!(
            one(&[0x55]),
            Effect::Writeback {
                base: Operand::Sp,
                imm: -8,
                clobbers: vec![]
            }
        );
        // ret
        assert_eq!(one(&[0xc3]), Effect::End);
        // lea rbp, [rsp+0x10]
        assert_eq!(
            one(&[0x48, 0x8d, 0x6c, 0x24, 0x10]),
            Effect::AddImm {
                dst: Operand::Reg(Reg::X(Register::RBP as u8)),
                src: Operand::Sp,
                imm: 0x10
            }
        );
    }
}
