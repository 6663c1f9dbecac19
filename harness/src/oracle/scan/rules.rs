//! The rules: each looks at one asynchronously preemptible PC (what the walk
//! knows there, and what the unwinder will believe) and says whether the PC
//! is a window. They are tried in table order; the first that matches names
//! the window. A new rule (e.g. the frame-pointer register R29 during an
//! epilogue, golang/go#63830) is one more entry of [`RULES`].

use super::elf::Arch;
use super::sim::{Effect, Operand, State, Step};

/// What a rule sees at one PC.
pub struct Ctx<'a> {
    pub arch: Arch,
    /// The instruction at the PC and the one before it (address order).
    pub insn: &'a Step,
    pub prev: Option<&'a Step>,
    /// Register and SP knowledge before the instruction.
    pub state: &'a State,
    /// SP (offset from entry) that the unwinder derives from the pcsp table at
    /// the PC where the goroutine resumes.
    pub table_sp: Option<i64>,
}

impl Ctx<'_> {
    /// The SP the instructions produced and the one the pcsp table claims,
    /// when both are known and differ.
    pub fn sp_mismatch(&self) -> Option<(i64, i64)> {
        match (self.state.sp, self.table_sp) {
            (Some(a), Some(t)) if a != t => Some((a, t)),
            _ => None,
        }
    }
}

pub struct Rule {
    pub id: &'static str,
    pub bug: Option<&'static str>,
    pub archs: &'static [Arch],
    pub summary: &'static str,
    pub matches: fn(&Ctx) -> bool,
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "split-sp-epilogue",
        bug: Some("golang/go#73259"),
        archs: &[Arch::Arm64],
        summary: "between two ADDs that pop the frame: SP is partly popped, the pcsp table still says the full frame",
        matches: split_sp_epilogue,
    },
    Rule {
        id: "sp-delta-mismatch",
        bug: None,
        archs: &[Arch::Arm64, Arch::Amd64],
        summary: "the SP the instructions produced differs from the pcsp table",
        matches: |c| c.sp_mismatch().is_some(),
    },
];

/// SP is above what the table says (part of the frame is popped) and the
/// previous instruction added an immediate to SP.
fn split_sp_epilogue(c: &Ctx) -> bool {
    let Some((actual, table)) = c.sp_mismatch() else {
        return false;
    };
    actual > table
        && matches!(
            c.prev.map(|p| &p.effect),
            Some(Effect::AddImm { dst: Operand::Sp, src: Operand::Sp, imm }) if *imm > 0
        )
}

/// The first rule that matches, for this arch.
pub fn first_match(c: &Ctx) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.archs.contains(&c.arch) && (r.matches)(c))
}
