//! A static oracle for preemption windows in Go binaries.
//!
//! For an ELF Go binary (amd64 or arm64, any function-table layout from go1.14
//! on) the scan finds every PC where the runtime would accept an asynchronous
//! preemption (a mirror of `isAsyncSafePoint`, [`preempt`]) and checks that
//! what the unwinder will believe there holds: the SP delta from the
//! function's pcsp table must equal the SP the instructions actually produced
//! ([`sim`]). A PC where it does not is a *window*: a SIGURG landing there
//! makes the GC's stack scan unwind from a wrong frame (golang/go#73259).
//! The rules that name a window are one table ([`rules::RULES`]).
//!
//! Plain data in and out: [`scan_file`] / [`scan_bytes`] give a
//! [`ScanReport`] or a [`ScanError`]; nothing here prints or exits.

pub mod amd64;
pub mod arm64;
pub mod elf;
pub mod pclntab;
pub mod preempt;
pub mod rules;
pub mod sim;

use serde::{Deserialize, Serialize};
use std::path::Path;

/// What the scan found in one binary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// The toolchain that built it (`go1.23.11`), from its build info.
    pub go_version: Option<String>,
    /// `amd64` or `arm64`.
    pub arch: String,
    /// Function-table layout, e.g. `go1.20+`.
    pub pclntab: String,
    /// Functions in the table, and how many of them have preemptible PCs.
    pub functions: usize,
    pub functions_checked: usize,
    pub instructions_checked: u64,
    pub windows: Vec<Window>,
}

/// A run of consecutive preemptible PCs where the unwinder would be wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub function: String,
    pub entry_pc: u64,
    /// First PC of the window.
    pub pc: u64,
    /// `pc - entry_pc`.
    pub offset: u64,
    /// Last PC of the window (equal to `pc` for a one-instruction window).
    pub end_pc: u64,
    /// SP relative to entry as the instructions leave it at `pc`, and as the
    /// pcsp table says.
    pub sp_actual: i64,
    pub sp_table: i64,
    /// The instruction that opened the window, then those inside it.
    pub insns: Vec<Insn>,
    pub rule: String,
    pub bug: Option<String>,
    /// Whether the runtime accepts an asynchronous preemption here (always
    /// true unless [`ScanOptions::ignore_unsafe_points`] is set).
    pub preemptible: bool,
}

/// How to scan.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScanOptions {
    /// Check every PC of the functions that have preemptible PCs, not only
    /// those `isAsyncSafePoint` accepts: shows what the runtime's unsafe
    /// points and name rules hide. Windows at such PCs have `preemptible: false`.
    pub ignore_unsafe_points: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insn {
    pub pc: u64,
    pub hex: String,
    pub text: String,
}

/// Why a file could not be scanned. Each renders as one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanError {
    Io(String),
    NotElf,
    BadElf(String),
    UnsupportedArch(String),
    /// An ELF file without a Go function table.
    NotGo,
    BadPclntab(String),
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Io(e) => write!(f, "cannot read: {e}"),
            ScanError::NotElf => f.write_str("not an ELF file"),
            ScanError::BadElf(e) => f.write_str(e),
            ScanError::UnsupportedArch(a) => {
                write!(f, "unsupported architecture {a} (amd64 and arm64 only)")
            }
            ScanError::NotGo => {
                f.write_str("not a Go binary: no Go function table (pclntab) found")
            }
            ScanError::BadPclntab(e) => write!(f, "corrupt Go function table (pclntab): {e}"),
        }
    }
}

impl std::error::Error for ScanError {}

/// Scan the file at `path`.
pub fn scan_file(path: &Path) -> Result<ScanReport, ScanError> {
    scan_file_with(path, &ScanOptions::default())
}

/// [`scan_file`] with options.
pub fn scan_file_with(path: &Path, opts: &ScanOptions) -> Result<ScanReport, ScanError> {
    let data = std::fs::read(path).map_err(|e| ScanError::Io(e.to_string()))?;
    scan_bytes_with(&data, opts)
}

/// Scan an ELF image held in memory.
pub fn scan_bytes(data: &[u8]) -> Result<ScanReport, ScanError> {
    scan_bytes_with(data, &ScanOptions::default())
}

/// [`scan_bytes`] with options.
pub fn scan_bytes_with(data: &[u8], opts: &ScanOptions) -> Result<ScanReport, ScanError> {
    let img = elf::Image::parse(data)?;
    let tab = img.pclntab()?;
    let funcs = tab.funcs()?;
    let go_version = img.go_version();
    let gofunc = img.gofunc(&tab);
    let model = preempt::Model::new(go_version.as_deref(), &tab, &funcs, gofunc)?;
    let mut report = ScanReport {
        go_version,
        arch: img.arch.name().to_string(),
        pclntab: tab.layout.name().to_string(),
        functions: funcs.len(),
        functions_checked: 0,
        instructions_checked: 0,
        windows: Vec::new(),
    };
    for f in &funcs {
        if f.end <= f.entry || !model.function_may_be_safe(&tab, f)? {
            continue;
        }
        let len = usize::try_from(f.end - f.entry).map_err(|_| bad_fn(f))?;
        let code = img.read(f.entry, len).ok_or_else(|| bad_fn(f))?;
        let steps = match img.arch {
            elf::Arch::Arm64 => arm64_steps(code, f.entry),
            elf::Arch::Amd64 => amd64::decode_function(code, f.entry),
        };
        let pcsp = tab.pcvalue(f, f.pcsp)?;
        let mut tables = model.tables(&tab, f)?;
        report.functions_checked += 1;
        report.instructions_checked += steps.len() as u64;
        let mut hits: Vec<Hit> = Vec::new();
        let mut err = None;
        sim::walk(&steps, &pcsp, |i, state, _table| {
            if err.is_some() {
                return;
            }
            let s = &steps[i];
            let (resume, preemptible) = match model.at(&tab, &img, f, &mut tables, s.pc) {
                Ok(preempt::Safety::Safe { resume }) => (resume, true),
                Ok(preempt::Safety::Unsafe) if opts.ignore_unsafe_points => (s.pc, false),
                Ok(preempt::Safety::Unsafe) => return,
                Err(e) => {
                    err = Some(e);
                    return;
                }
            };
            let table_sp = pcsp.lookup(resume).map(|(v, _)| -(v as i64));
            let ctx = rules::Ctx {
                arch: img.arch,
                insn: s,
                prev: i.checked_sub(1).map(|j| &steps[j]),
                state,
                table_sp,
            };
            if let Some(rule) = rules::first_match(&ctx) {
                hits.push(Hit {
                    i,
                    rule,
                    actual: state.sp.unwrap_or(0),
                    table: table_sp.unwrap_or(0),
                    preemptible,
                });
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let describe = |s: &sim::Step| -> Insn {
            match img.arch {
                elf::Arch::Arm64 => {
                    let off = (s.pc - f.entry) as usize;
                    let w = u32::from_le_bytes(code[off..off + 4].try_into().unwrap());
                    Insn {
                        pc: s.pc,
                        hex: format!("{w:08x}"),
                        text: arm64::describe(w),
                    }
                }
                elf::Arch::Amd64 => {
                    let (hex, text) = amd64::describe(code, f.entry, s.pc);
                    Insn {
                        pc: s.pc,
                        hex,
                        text,
                    }
                }
            }
        };
        report.windows.extend(windows(f, &steps, &hits, describe));
    }
    Ok(report)
}

fn bad_fn(f: &pclntab::Func) -> ScanError {
    ScanError::BadPclntab(format!(
        "code of {} ({:#x}..{:#x}) is not in the file",
        f.name, f.entry, f.end
    ))
}

fn arm64_steps(code: &[u8], entry: u64) -> Vec<sim::Step> {
    code.chunks_exact(4)
        .enumerate()
        .map(|(i, c)| {
            let w = u32::from_le_bytes(c.try_into().unwrap());
            let pc = entry + 4 * i as u64;
            let d = arm64::decode(w);
            sim::Step {
                pc,
                len: 4,
                effect: d.effect,
                target: d.target.and_then(|t| pc.checked_add_signed(t)),
            }
        })
        .collect()
}

struct Hit {
    i: usize,
    rule: &'static rules::Rule,
    actual: i64,
    table: i64,
    preemptible: bool,
}

/// Merge consecutive hits of the same rule into windows.
fn windows(
    f: &pclntab::Func,
    steps: &[sim::Step],
    hits: &[Hit],
    insn: impl Fn(&sim::Step) -> Insn,
) -> Vec<Window> {
    let mut out: Vec<(usize, usize, Window)> = Vec::new();
    for h in hits {
        let (i, rule) = (h.i, h.rule);
        if let Some((_, last, w)) = out.last_mut() {
            if *last + 1 == i && w.rule == rule.id && w.preemptible == h.preemptible {
                *last = i;
                w.end_pc = steps[i].pc;
                w.insns.push(insn(&steps[i]));
                continue;
            }
        }
        let mut insns = Vec::new();
        if i > 0 {
            insns.push(insn(&steps[i - 1]));
        }
        insns.push(insn(&steps[i]));
        out.push((
            i,
            i,
            Window {
                function: f.name.clone(),
                entry_pc: f.entry,
                pc: steps[i].pc,
                offset: steps[i].pc - f.entry,
                end_pc: steps[i].pc,
                sp_actual: h.actual,
                sp_table: h.table,
                insns,
                rule: rule.id.to_string(),
                bug: rule.bug.map(str::to_string),
                preemptible: h.preemptible,
            },
        ));
    }
    out.into_iter().map(|(_, _, w)| w).collect()
}

/// Look up a rule's one-line summary by id (for human output).
pub fn rule_summary(id: &str) -> Option<&'static str> {
    rules::RULES.iter().find(|r| r.id == id).map(|r| r.summary)
}

/// The human-readable report of one binary.
pub fn render(file: &str, r: &ScanReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let built = r.go_version.as_deref().unwrap_or("unknown toolchain");
    let _ = writeln!(
        s,
        "{file}: {built} {}, {} window(s) ({} of {} functions preemptible, {} instructions checked)",
        r.arch,
        r.windows.len(),
        r.functions_checked,
        r.functions,
        r.instructions_checked
    );
    for w in &r.windows {
        let bug = w
            .bug
            .as_deref()
            .map(|b| format!(" ({b})"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {} {:#x}+{:#x} (pc {:#x}): {}{bug}: SP {} vs pcsp {}{}",
            w.function,
            w.entry_pc,
            w.offset,
            w.pc,
            w.rule,
            w.sp_actual,
            w.sp_table,
            if w.preemptible {
                ""
            } else {
                " [not preemptible]"
            }
        );
        for i in &w.insns {
            let mark = if i.pc >= w.pc && i.pc <= w.end_pc {
                ">"
            } else {
                " "
            };
            let _ = writeln!(
                s,
                "   {mark} {:#x} +{:#x}  {}  {}",
                i.pc,
                i.pc - w.entry_pc,
                i.hex,
                i.text
            );
        }
    }
    s
}
