//! Where the runtime accepts an asynchronous preemption: a mirror of
//! `isAsyncSafePoint` in runtime/preempt.go, per release. Only the parts that
//! depend on the PC are mirrored (the goroutine, M and stack-space checks
//! depend on the moment).
//!
//! Checked against the source of go1.14.15, go1.23.11/12, go1.24.5/6 and
//! go1.25.14:
//! - go1.14/1.15: PCDATA_RegMapIndex (index 0) == -2 is unsafe; assembly is a
//!   function whose locals pointer map is missing or is
//!   `runtime.no_pointers_stackmap`; name prefixes `runtime.`,
//!   `runtime/internal/`, `reflect.`; no restart points.
//! - go1.16+: PCDATA_UnsafePoint (index 0): -2 unsafe, -3/-4 restart at the
//!   start of the range, -5 restart at the function entry; assembly is a
//!   missing locals pointer map or `FuncFlagAsm`.
//! - go1.23/1.24 add the prefix `internal/runtime/`; go1.25 drops
//!   `runtime/internal/`.
//!
//! In every release the name checked is that of the innermost inlined
//! function at the PC (the inline tree).

use super::elf::Image;
use super::pclntab::{self, Func, Layout, PcTable, Pclntab};
use super::ScanError;

/// `abi.FuncFlagAsm` (go1.18+; the bit is clear in earlier releases).
const FUNC_FLAG_ASM: u8 = 1 << 2;

pub struct Model {
    regmap_era: bool,
    prefixes: &'static [&'static str],
    /// `runtime.no_pointers_stackmap`, as named by the locals pointer map of
    /// `runtime.call32` (an assembly function marked NO_LOCAL_POINTERS).
    no_pointers_stackmap: Option<u64>,
    inltree_slot: u8,
    gofunc: Option<u64>,
}

/// `go1.23.11` → (1, 23).
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let rest = v.strip_prefix("go")?;
    let mut it = rest.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Where one PC stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Safety {
    Unsafe,
    /// Accepted; the goroutine resumes (and is unwound) at this PC.
    Safe {
        resume: u64,
    },
}

/// The per-function tables [`Model::at`] reads.
pub struct FuncTables {
    unsafe_point: PcTable,
    inl_index: PcTable,
    inl_tree: Option<u64>,
    names: std::collections::HashMap<i32, bool>,
}

impl Model {
    pub fn new(
        version: Option<&str>,
        tab: &Pclntab,
        funcs: &[Func],
        gofunc: Option<u64>,
    ) -> Result<Model, ScanError> {
        let v = version.and_then(parse_version).unwrap_or(match tab.layout {
            Layout::Go12 => (1, 14),
            Layout::Go116 => (1, 16),
            Layout::Go118 => (1, 18),
            Layout::Go120 => (1, 20),
        });
        let regmap_era = v < (1, 16);
        let prefixes: &'static [&'static str] = if v < (1, 23) {
            &["runtime.", "runtime/internal/", "reflect."]
        } else if v < (1, 25) {
            &[
                "runtime.",
                "runtime/internal/",
                "internal/runtime/",
                "reflect.",
            ]
        } else {
            &["runtime.", "internal/runtime/", "reflect."]
        };
        let mut no_pointers_stackmap = None;
        if matches!(tab.layout, Layout::Go12 | Layout::Go116) {
            if let Some(f) = funcs.iter().find(|f| f.name == "runtime.call32") {
                no_pointers_stackmap = tab
                    .funcdata(f, pclntab::FUNCDATA_LOCALS_POINTER_MAPS)?
                    .and_then(|d| d.resolve(None));
            }
        }
        Ok(Model {
            regmap_era,
            prefixes,
            no_pointers_stackmap,
            inltree_slot: tab.layout.funcdata_inltree(),
            gofunc,
        })
    }

    /// The function-wide part: false for assembly (no locals pointer map,
    /// `FuncFlagAsm`, or the shared no-pointers map), where no PC is safe.
    pub fn function_may_be_safe(&self, tab: &Pclntab, f: &Func) -> Result<bool, ScanError> {
        let Some(locals) = tab.funcdata(f, pclntab::FUNCDATA_LOCALS_POINTER_MAPS)? else {
            return Ok(false);
        };
        if f.flag & FUNC_FLAG_ASM != 0 {
            return Ok(false);
        }
        if self.no_pointers_stackmap.is_some() && locals.resolve(None) == self.no_pointers_stackmap
        {
            return Ok(false);
        }
        Ok(true)
    }

    pub fn tables(&self, tab: &Pclntab, f: &Func) -> Result<FuncTables, ScanError> {
        let up = tab.pcdata_off(f, pclntab::PCDATA_UNSAFE_POINT)?;
        let inl = tab.pcdata_off(f, pclntab::PCDATA_INLTREE_INDEX)?;
        let inl_tree = tab
            .funcdata(f, self.inltree_slot)?
            .and_then(|d| d.resolve(self.gofunc));
        Ok(FuncTables {
            unsafe_point: tab.pcvalue(f, up)?,
            inl_index: if inl_tree.is_some() {
                tab.pcvalue(f, inl)?
            } else {
                PcTable::default()
            },
            inl_tree,
            names: Default::default(),
        })
    }

    fn runtime_name(&self, name: &str) -> bool {
        self.prefixes.iter().any(|p| name.starts_with(p))
    }

    /// Whether an asynchronous preemption at `pc` is accepted, and where the
    /// goroutine then resumes.
    pub fn at(
        &self,
        tab: &Pclntab,
        img: &Image,
        f: &Func,
        t: &mut FuncTables,
        pc: u64,
    ) -> Result<Safety, ScanError> {
        let (up, start) = t.unsafe_point.lookup(pc).unwrap_or((-1, 0));
        if up == -2 {
            return Ok(Safety::Unsafe);
        }
        // Innermost inlined function's name.
        let ix = match t.inl_tree {
            Some(_) => t.inl_index.lookup(pc).map_or(-1, |(v, _)| v),
            None => -1,
        };
        let runtime = match t.names.get(&ix) {
            Some(&r) => r,
            None => {
                let r = if ix < 0 {
                    self.runtime_name(&f.name)
                } else {
                    let name = tab.inlined_name(img, t.inl_tree.unwrap(), ix)?;
                    self.runtime_name(&name)
                };
                t.names.insert(ix, r);
                r
            }
        };
        if runtime {
            return Ok(Safety::Unsafe);
        }
        if self.regmap_era {
            return Ok(Safety::Safe { resume: pc });
        }
        Ok(match up {
            -3 | -4 => {
                if start == 0 || start > pc || pc - start > 20 {
                    // The runtime throws "bad restart PC" here.
                    Safety::Unsafe
                } else {
                    Safety::Safe { resume: start }
                }
            }
            -5 => Safety::Safe { resume: f.entry },
            _ => Safety::Safe { resume: pc },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("go1.23.11"), Some((1, 23)));
        assert_eq!(parse_version("go1.25.0"), Some((1, 25)));
        assert_eq!(parse_version("go1.14"), Some((1, 14)));
        assert_eq!(parse_version("go1.26rc1"), Some((1, 26)));
        assert_eq!(parse_version("devel +abc"), None);
    }
}
