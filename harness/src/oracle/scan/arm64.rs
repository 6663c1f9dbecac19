//! The few A64 instructions the scan needs: everything that writes SP, the
//! moves that load constants or SP-relative addresses into registers, and the
//! instructions that end straight-line flow. A64 instructions are 32-bit words
//! with fixed bit fields (Arm ARM, "A64 Instruction Set Encoding").

use super::sim::{Effect, Operand, Reg};

/// Register 31: SP or XZR depending on the instruction.
const R31: u8 = 31;

fn bits(w: u32, hi: u32, lo: u32) -> u32 {
    (w >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

fn sext(v: u32, width: u32) -> i64 {
    let shift = 64 - width;
    ((v as i64) << shift) >> shift
}

/// What one instruction does, as far as SP and register tracking go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub effect: Effect,
    /// Short mnemonic, e.g. `add sp, sp, #0x11, lsl #12`.
    pub text: String,
    /// Direct branch target (B, B.cond, CBZ/CBNZ, TBZ/TBNZ, BL), as a byte
    /// offset from this instruction.
    pub target: Option<i64>,
}

fn xn(r: u8, sp: bool) -> String {
    match (r, sp) {
        (31, true) => "sp".into(),
        (31, false) => "xzr".into(),
        (29, _) => "x29".into(),
        (30, _) => "x30".into(),
        (r, _) => format!("x{r}"),
    }
}

fn reg(r: u8) -> Reg {
    Reg::X(r)
}

/// The register an operand names: SP, or `Reg::X`, or the zero register.
fn operand(r: u8, sp: bool) -> Operand {
    match (r, sp) {
        (31, true) => Operand::Sp,
        (31, false) => Operand::Const(0),
        (r, _) => Operand::Reg(reg(r)),
    }
}

/// `format!` only when the text is wanted (the walk decodes every
/// instruction; only those of a window are shown).
macro_rules! txt {
    ($want:expr, $($arg:tt)*) => {
        if $want { format!($($arg)*) } else { String::new() }
    };
}

/// Decode one little-endian instruction word (without its text).
pub fn decode(w: u32) -> Decoded {
    decode_impl(w, false)
}

/// A short mnemonic for one instruction word, e.g. `add sp, sp, #0x950`.
pub fn describe(w: u32) -> String {
    decode_impl(w, true).text
}

fn decode_impl(w: u32, want: bool) -> Decoded {
    let plain = |effect: Effect, text: &str| Decoded {
        effect,
        text: if want {
            text.to_string()
        } else {
            String::new()
        },
        target: None,
    };
    // RET / BR / BLR
    if w & 0xffff_fc1f == 0xd65f_0000 {
        return plain(Effect::End, "ret");
    }
    if w & 0xffff_fc1f == 0xd61f_0000 {
        let rn = bits(w, 9, 5) as u8;
        return plain(Effect::End, &txt!(want, "br {}", xn(rn, false)));
    }
    if w & 0xffff_fc1f == 0xd63f_0000 {
        let rn = bits(w, 9, 5) as u8;
        return plain(Effect::Call, &txt!(want, "blr {}", xn(rn, false)));
    }
    // B / BL imm26
    if w & 0x7c00_0000 == 0x1400_0000 {
        let off = sext(bits(w, 25, 0), 26) * 4;
        let link = w >> 31 == 1;
        return Decoded {
            effect: if link { Effect::Call } else { Effect::End },
            text: txt!(want, "{} {:+#x}", if link { "bl" } else { "b" }, off),
            target: Some(off),
        };
    }
    // B.cond
    if w & 0xff00_0010 == 0x5400_0000 {
        let off = sext(bits(w, 23, 5), 19) * 4;
        return Decoded {
            effect: Effect::None,
            text: txt!(want, "b.cond {off:+#x}"),
            target: Some(off),
        };
    }
    // CBZ/CBNZ
    if w & 0x7e00_0000 == 0x3400_0000 {
        let off = sext(bits(w, 23, 5), 19) * 4;
        return Decoded {
            effect: Effect::None,
            text: txt!(
                want,
                "cb{}z {off:+#x}",
                if bits(w, 24, 24) == 1 { "n" } else { "" }
            ),
            target: Some(off),
        };
    }
    // TBZ/TBNZ
    if w & 0x7e00_0000 == 0x3600_0000 {
        let off = sext(bits(w, 18, 5), 14) * 4;
        return Decoded {
            effect: Effect::None,
            text: txt!(
                want,
                "tb{}z {off:+#x}",
                if bits(w, 24, 24) == 1 { "n" } else { "" }
            ),
            target: Some(off),
        };
    }
    let rd = bits(w, 4, 0) as u8;
    let rn = bits(w, 9, 5) as u8;
    // ADD/SUB (immediate): sf op S 100010 sh imm12 Rn Rd
    if bits(w, 28, 23) == 0b100010 {
        let sf = bits(w, 31, 31) == 1;
        let sub = bits(w, 30, 30) == 1;
        let s = bits(w, 29, 29) == 1;
        let sh = bits(w, 22, 22);
        let imm = (bits(w, 21, 10) as i64) << (12 * sh);
        let name = match (sub, s) {
            (false, false) => "add",
            (true, false) => "sub",
            (false, true) => "adds",
            (true, true) => "subs",
        };
        let imm_text = if sh == 1 {
            txt!(want, "#{:#x}, lsl #12", bits(w, 21, 10))
        } else {
            txt!(want, "#{:#x}", imm)
        };
        let text = txt!(want, "{name} {}, {}, {imm_text}", xn(rd, !s), xn(rn, true));
        if !sf {
            // 32-bit: never SP-sized; the destination loses what we knew.
            return plain(dest_effect(rd, !s), &text);
        }
        let delta = if sub { -imm } else { imm };
        let dst = if rd == R31 && !s {
            Operand::Sp
        } else if rd == R31 {
            return plain(Effect::None, &text); // CMP/CMN
        } else {
            Operand::Reg(reg(rd))
        };
        return plain(
            Effect::AddImm {
                dst,
                src: operand(rn, true),
                imm: delta,
            },
            &text,
        );
    }
    // ADD/SUB (extended register): sf op S 01011 00 1 Rm option imm3 Rn Rd
    if bits(w, 28, 21) == 0b0101_1001 {
        let sf = bits(w, 31, 31) == 1;
        let sub = bits(w, 30, 30) == 1;
        let s = bits(w, 29, 29) == 1;
        let rm = bits(w, 20, 16) as u8;
        let option = bits(w, 15, 13);
        let imm3 = bits(w, 12, 10);
        let name = match (sub, s) {
            (false, false) => "add",
            (true, false) => "sub",
            (false, true) => "adds",
            (true, true) => "subs",
        };
        let text = txt!(
            want,
            "{name} {}, {}, {}{}",
            xn(rd, !s),
            xn(rn, true),
            xn(rm, false),
            if imm3 != 0 {
                txt!(want, ", lsl #{imm3}")
            } else {
                String::new()
            }
        );
        if rd == R31 && s {
            return plain(Effect::None, &text); // CMP/CMN
        }
        let dst = if rd == R31 {
            Operand::Sp
        } else {
            Operand::Reg(reg(rd))
        };
        // Only the 64-bit extends (UXTX/SXTX) keep a tracked value exact.
        if sf && (option == 0b011 || option == 0b111) && imm3 <= 4 {
            return plain(
                Effect::AddReg {
                    dst,
                    src: operand(rn, true),
                    add: operand(rm, false),
                    shift: imm3 as u8,
                    sub,
                },
                &text,
            );
        }
        return plain(Effect::Clobber(dst), &text);
    }
    // Logical (immediate): sf opc 100100 N immr imms Rn Rd — Rd 31 is SP unless ANDS.
    if bits(w, 28, 23) == 0b100100 {
        let opc = bits(w, 30, 29);
        let sf = bits(w, 31, 31) == 1;
        let text = txt!(
            want,
            "{} {}, {}, #imm",
            ["and", "orr", "eor", "ands"][opc as usize],
            xn(rd, opc != 3),
            xn(rn, false)
        );
        if rd == R31 && opc != 3 {
            return plain(Effect::Clobber(Operand::Sp), &text);
        }
        // ORR Xd, XZR, #imm is MOV Xd, #imm.
        if opc == 1 && rn == R31 && sf {
            if let Some(v) = bitmask_imm(bits(w, 22, 22), bits(w, 21, 16), bits(w, 15, 10)) {
                return plain(
                    Effect::Set {
                        dst: reg(rd),
                        val: v as i64,
                    },
                    &txt!(want, "mov {}, #{:#x}", xn(rd, false), v),
                );
            }
        }
        return plain(dest_effect(rd, false), &text);
    }
    // Move wide (immediate): sf opc 100101 hw imm16 Rd
    if bits(w, 28, 23) == 0b100101 {
        let sf = bits(w, 31, 31) == 1;
        let opc = bits(w, 30, 29);
        let hw = bits(w, 22, 21);
        let imm16 = bits(w, 20, 5) as u64;
        let shift = 16 * hw;
        let text = txt!(
            want,
            "{} {}, #{:#x}{}",
            ["movn", "?", "movz", "movk"][opc as usize],
            xn(rd, false),
            imm16,
            if hw != 0 {
                txt!(want, ", lsl #{shift}")
            } else {
                String::new()
            }
        );
        if rd == R31 || opc == 1 {
            return plain(Effect::None, &text);
        }
        let mask32 = |v: u64| if sf { v } else { v & 0xffff_ffff };
        return plain(
            match opc {
                0 => Effect::Set {
                    dst: reg(rd),
                    val: mask32(!(imm16 << shift)) as i64,
                },
                2 => Effect::Set {
                    dst: reg(rd),
                    val: (imm16 << shift) as i64,
                },
                _ => Effect::Insert {
                    dst: reg(rd),
                    shift: shift as u8,
                    bits: imm16 as u16,
                },
            },
            &text,
        );
    }
    // Loads and stores: op0 = x1x0.
    if bits(w, 27, 27) == 1 && bits(w, 25, 25) == 0 {
        return load_store(w, want);
    }
    // Branches, exception generation, system: op0 = 101x.
    // (MRS writes Rt; the rest write nothing we track, but be conservative.)
    if bits(w, 28, 26) == 0b101 {
        return plain(dest_effect(rd, false), "sys");
    }
    // Other data processing (register, SIMD/FP moves to GPRs, ADR/ADRP,
    // bitfield, extract): the destination is Rd, and 31 is XZR there.
    plain(dest_effect(rd, false), "op")
}

fn dest_effect(rd: u8, sp: bool) -> Effect {
    if rd == R31 {
        if sp {
            Effect::Clobber(Operand::Sp)
        } else {
            Effect::None
        }
    } else {
        Effect::Clobber(Operand::Reg(reg(rd)))
    }
}

fn load_store(w: u32, want: bool) -> Decoded {
    let rt = bits(w, 4, 0) as u8;
    let rn = bits(w, 9, 5) as u8;
    let v = bits(w, 26, 26) == 1;
    let mk = |effect: Effect, text: String| Decoded {
        effect,
        text,
        target: None,
    };
    // Load/store pair: opc 101 V idx(3) L imm7 Rt2 Rn Rt
    if bits(w, 29, 27) == 0b101 {
        let opc = bits(w, 31, 30);
        let idx = bits(w, 25, 23);
        let load = bits(w, 22, 22) == 1;
        let rt2 = bits(w, 14, 10) as u8;
        let scale = if v {
            4i64 << opc
        } else if opc == 2 {
            8
        } else {
            4
        };
        let imm = sext(bits(w, 21, 15), 7) * scale;
        let name = if load { "ldp" } else { "stp" };
        let (wb, text) = match idx {
            0b001 => (
                true,
                txt!(
                    want,
                    "{name} {}, {}, [{}], #{imm}",
                    xn(rt, false),
                    xn(rt2, false),
                    xn(rn, true)
                ),
            ),
            0b011 => (
                true,
                txt!(
                    want,
                    "{name} {}, {}, [{}, #{imm}]!",
                    xn(rt, false),
                    xn(rt2, false),
                    xn(rn, true)
                ),
            ),
            _ => (
                false,
                txt!(
                    want,
                    "{name} {}, {}, [{}, #{imm}]",
                    xn(rt, false),
                    xn(rt2, false),
                    xn(rn, true)
                ),
            ),
        };
        let mut clobbers = Vec::new();
        if load && !v {
            clobbers.push(rt);
            clobbers.push(rt2);
        }
        return mk(ls_effect(wb, rn, imm, clobbers), text);
    }
    // Load/store register (immediate pre/post-index, unscaled, unsigned offset,
    // register offset): size 111 V 0x opc ...
    if bits(w, 29, 27) == 0b111 {
        let opc = bits(w, 23, 22);
        let load = opc != 0;
        let mut clobbers = Vec::new();
        if load && !v && !(bits(w, 31, 30) == 3 && opc == 2) {
            // opc 2 with size 3 is PRFM: no destination.
            clobbers.push(rt);
        }
        let name = if load { "ldr" } else { "str" };
        if bits(w, 24, 24) == 0 && bits(w, 21, 21) == 0 {
            let imm = sext(bits(w, 20, 12), 9);
            match bits(w, 11, 10) {
                0b01 => {
                    return mk(
                        ls_effect(true, rn, imm, clobbers),
                        txt!(want, "{name} {}, [{}], #{imm}", xn(rt, false), xn(rn, true)),
                    )
                }
                0b11 => {
                    return mk(
                        ls_effect(true, rn, imm, clobbers),
                        txt!(
                            want,
                            "{name} {}, [{}, #{imm}]!",
                            xn(rt, false),
                            xn(rn, true)
                        ),
                    )
                }
                _ => {}
            }
        }
        return mk(
            ls_effect(false, rn, 0, clobbers),
            txt!(want, "{name} {}, [{}, ...]", xn(rt, false), xn(rn, true)),
        );
    }
    // Advanced SIMD load/store multiple/single structures, post-indexed:
    // 0 Q 0011001 / 0 Q 0011011 — write back Rn.
    if w & 0xbf80_0000 == 0x0c80_0000 || w & 0xbf80_0000 == 0x0d80_0000 {
        let rm = bits(w, 20, 16) as u8;
        let effect = if rn == R31 {
            Effect::Clobber(Operand::Sp)
        } else {
            Effect::Clobber(Operand::Reg(reg(rn)))
        };
        let _ = rm;
        return mk(effect, txt!(want, "ld/st1 [{}], post", xn(rn, true)));
    }
    // Everything else in the class (exclusives, atomics, literal loads) may
    // write Rt (and Rs); none writes SP.
    mk(
        if rt == R31 {
            Effect::None
        } else {
            Effect::Clobber(Operand::Reg(reg(rt)))
        },
        txt!(want, "ld/st"),
    )
}

fn ls_effect(writeback: bool, rn: u8, imm: i64, clobbers: Vec<u8>) -> Effect {
    let clobbers: Vec<Reg> = clobbers
        .into_iter()
        .filter(|&r| r != R31)
        .map(reg)
        .collect();
    if writeback {
        Effect::Writeback {
            base: operand(rn, true),
            imm,
            clobbers,
        }
    } else if clobbers.is_empty() {
        Effect::None
    } else {
        Effect::ClobberRegs(clobbers)
    }
}

/// DecodeBitMasks for a 64-bit logical immediate.
fn bitmask_imm(n: u32, immr: u32, imms: u32) -> Option<u64> {
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    let size = 1u32 << len;
    let levels = size - 1;
    let s = imms & levels;
    let r = immr & levels;
    if s == levels {
        return None;
    }
    let welem: u64 = if s + 1 == 64 {
        u64::MAX
    } else {
        (1u64 << (s + 1)) - 1
    };
    let emask = if size == 64 {
        u64::MAX
    } else {
        (1u64 << size) - 1
    };
    let elem = if r == 0 {
        welem
    } else {
        ((welem >> r) | (welem << (size - r))) & emask
    };
    let mut v = 0u64;
    let mut i = 0;
    while i < 64 {
        v |= elem << i;
        i += size;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eff(w: u32) -> Effect {
        decode(w).effect
    }

    #[test]
    fn bitmask() {
        // orr x0, xzr, #0xff: N=1 immr=0 imms=7
        assert_eq!(bitmask_imm(1, 0, 7), Some(0xff));
        // #0x5555555555555555: N=0 immr=0 imms=0b111100
        assert_eq!(bitmask_imm(0, 0, 0b111100), Some(0x5555_5555_5555_5555));
        assert_eq!(bitmask_imm(0, 0, 0b111111), None);
    }

    #[test]
    fn sp_adds() {
        // 912543ff  add sp, sp, #0x950
        assert_eq!(
            eff(0x912543ff),
            Effect::AddImm {
                dst: Operand::Sp,
                src: Operand::Sp,
                imm: 0x950
            }
        );
        // 914047ff  add sp, sp, #0x11, lsl #12
        assert_eq!(
            eff(0x914047ff),
            Effect::AddImm {
                dst: Operand::Sp,
                src: Operand::Sp,
                imm: 0x11000
            }
        );
        // d12543f4  sub x20, sp, #0x950
        assert_eq!(
            eff(0xd12543f4),
            Effect::AddImm {
                dst: Operand::Reg(Reg::X(20)),
                src: Operand::Sp,
                imm: -0x950
            }
        );
        // 9100029f  mov sp, x20
        assert_eq!(
            eff(0x9100029f),
            Effect::AddImm {
                dst: Operand::Sp,
                src: Operand::Reg(Reg::X(20)),
                imm: 0
            }
        );
        // eb3b63f1  subs x17, sp, x27 (extended register, UXTX)
        assert_eq!(
            eff(0xeb3b63f1),
            Effect::AddReg {
                dst: Operand::Reg(Reg::X(17)),
                src: Operand::Sp,
                add: Operand::Reg(Reg::X(27)),
                shift: 0,
                sub: true
            }
        );
        // 8b3b63ff  add sp, sp, x27
        assert_eq!(
            eff(0x8b3b63ff),
            Effect::AddReg {
                dst: Operand::Sp,
                src: Operand::Sp,
                add: Operand::Reg(Reg::X(27)),
                shift: 0,
                sub: false
            }
        );
        // eb10023f  cmp x17, x16 (shifted register): no SP write
        assert_eq!(eff(0xeb10023f), Effect::None);
        // f101003f  cmp x1, #64
        assert_eq!(eff(0xf101003f), Effect::None);
    }

    #[test]
    fn pairs_and_writeback() {
        // a9bf7bfd  stp x29, x30, [sp, #-16]!
        assert_eq!(
            eff(0xa9bf7bfd),
            Effect::Writeback {
                base: Operand::Sp,
                imm: -16,
                clobbers: vec![]
            }
        );
        // a8c17bfd  ldp x29, x30, [sp], #16
        assert_eq!(
            eff(0xa8c17bfd),
            Effect::Writeback {
                base: Operand::Sp,
                imm: 16,
                clobbers: vec![Reg::X(29), Reg::X(30)]
            }
        );
        // f81a0ffe  str x30, [sp, #-96]!
        assert_eq!(
            eff(0xf81a0ffe),
            Effect::Writeback {
                base: Operand::Sp,
                imm: -96,
                clobbers: vec![]
            }
        );
        // f84607fe  ldr x30, [sp], #96
        assert_eq!(
            eff(0xf84607fe),
            Effect::Writeback {
                base: Operand::Sp,
                imm: 96,
                clobbers: vec![Reg::X(30)]
            }
        );
        // a93ffa9d  stp x29, x30, [x20, #-8]: no writeback
        assert_eq!(eff(0xa93ffa9d), Effect::None);
        // f9400b90  ldr x16, [x28, #16]
        assert_eq!(eff(0xf9400b90), Effect::ClobberRegs(vec![Reg::X(16)]));
        // a8817c3f  stp xzr, xzr, [x1], #16
        assert_eq!(
            eff(0xa8817c3f),
            Effect::Writeback {
                base: Operand::Reg(Reg::X(1)),
                imm: 16,
                clobbers: vec![]
            }
        );
    }

    #[test]
    fn moves_and_branches() {
        // d2831a1b  movz x27, #0x18d0
        assert_eq!(
            eff(0xd2831a1b),
            Effect::Set {
                dst: Reg::X(27),
                val: 0x18d0
            }
        );
        // f2a0003b  movk x27, #0x1, lsl #16
        assert_eq!(
            eff(0xf2a0003b),
            Effect::Insert {
                dst: Reg::X(27),
                shift: 16,
                bits: 1
            }
        );
        // 92800000  movn x0, #0
        assert_eq!(
            eff(0x92800000),
            Effect::Set {
                dst: Reg::X(0),
                val: -1
            }
        );
        // d65f03c0  ret
        assert_eq!(eff(0xd65f03c0), Effect::End);
        // 14000010  b +0x40
        let d = decode(0x14000010);
        assert_eq!((d.effect, d.target), (Effect::End, Some(0x40)));
        // 540006c3  b.cc +0xd8
        assert_eq!(decode(0x540006c3).target, Some(0xd8));
        // b5ffff62  cbnz x2, -0x14
        assert_eq!(decode(0xb5ffff62).target, Some(-0x14));
        // b6f80160  tbz x0, #63, +0x2c
        assert_eq!(decode(0xb6f80160).target, Some(0x2c));
        // 97ffffff  bl -4
        let d = decode(0x97ffffff);
        assert_eq!((d.effect, d.target), (Effect::Call, Some(-4)));
        // 9b017c43  mul x3, x2, x1
        assert_eq!(eff(0x9b017c43), Effect::Clobber(Operand::Reg(Reg::X(3))));
    }
}
