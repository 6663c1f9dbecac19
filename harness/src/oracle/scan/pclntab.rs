//! Reader for the Go runtime's function table (`runtime.pclntab`), every
//! layout from go1.14 on:
//!
//! | magic        | toolchains  | layout |
//! |--------------|-------------|--------|
//! | `0xfffffffb` | go1.2–1.15  | offsets relative to the table; absolute entry PCs and funcdata pointers |
//! | `0xfffffffa` | go1.16–1.17 | sub-tables (funcnametab, pctab, pclntable) named in the header |
//! | `0xfffffff0` | go1.18–1.19 | 32-bit entry offsets from `textStart`; funcdata offsets from `go:func.*` |
//! | `0xfffffff1` | go1.20+     | as go1.18, `_func` gains `startLine` |
//!
//! Everything is read with bounds checks: corrupt input gives an error, never a
//! panic. The structures mirror runtime/symtab.go and runtime/runtime2.go of
//! those releases.

use super::ScanError;

pub const MAGIC_12: u32 = 0xffff_fffb;
pub const MAGIC_116: u32 = 0xffff_fffa;
pub const MAGIC_118: u32 = 0xffff_fff0;
pub const MAGIC_120: u32 = 0xffff_fff1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Go12,
    Go116,
    Go118,
    Go120,
}

impl Layout {
    pub fn from_magic(m: u32) -> Option<Layout> {
        match m {
            MAGIC_12 => Some(Layout::Go12),
            MAGIC_116 => Some(Layout::Go116),
            MAGIC_118 => Some(Layout::Go118),
            MAGIC_120 => Some(Layout::Go120),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Go12 => "go1.2-1.15",
            Layout::Go116 => "go1.16-1.17",
            Layout::Go118 => "go1.18-1.19",
            Layout::Go120 => "go1.20+",
        }
    }

    /// FUNCDATA index of the inline tree (go1.14/1.15 still had RegPointerMaps at 2).
    pub fn funcdata_inltree(self) -> u8 {
        match self {
            Layout::Go12 => 4,
            _ => 3,
        }
    }
}

pub const FUNCDATA_LOCALS_POINTER_MAPS: u8 = 1;
/// PCDATA_RegMapIndex (go1.14, go1.15) and PCDATA_UnsafePoint (go1.16+) share index 0.
pub const PCDATA_UNSAFE_POINT: usize = 0;
pub const PCDATA_INLTREE_INDEX: usize = 2;

fn bad(msg: impl Into<String>) -> ScanError {
    ScanError::BadPclntab(msg.into())
}

/// The parsed table header and where its sub-tables are.
pub struct Pclntab<'a> {
    pub layout: Layout,
    /// The whole table, from its header on.
    pub data: &'a [u8],
    /// Virtual address of `data[0]`.
    pub vaddr: u64,
    pub min_lc: u8,
    pub ptr_size: u8,
    pub nfunc: usize,
    /// `textStart` from the header (go1.18–1.25), or where the text begins
    /// when the header leaves it zero (go1.26+).
    pub text_start: u64,
    funcname_off: usize,
    pctab_off: usize,
    pcln_off: usize,
}

/// One function of the table.
#[derive(Clone, Debug)]
pub struct Func {
    pub name: String,
    pub entry: u64,
    /// First PC past the function (the next entry).
    pub end: u64,
    /// Offset of the `_func` inside `data` (go1.2 layout) or inside pclntable.
    func_off: usize,
    pub pcsp: u32,
    pub npcdata: u32,
    pub nfuncdata: u8,
    pub flag: u8,
    /// Where the pcdata offsets start (offset into `Pclntab::data`).
    pcdata_at: usize,
}

impl<'a> Pclntab<'a> {
    pub fn parse(data: &'a [u8], vaddr: u64) -> Result<Pclntab<'a>, ScanError> {
        if data.len() < 16 {
            return Err(bad("table header truncated"));
        }
        let magic = u32::from_le_bytes(data[0..4].try_into().unwrap());
        let layout =
            Layout::from_magic(magic).ok_or_else(|| bad(format!("unknown magic {magic:#x}")))?;
        if data[4] != 0 || data[5] != 0 {
            return Err(bad("header padding is not zero"));
        }
        let min_lc = data[6];
        let ptr_size = data[7];
        if !matches!(min_lc, 1 | 2 | 4) || ptr_size != 8 {
            return Err(bad(format!(
                "unsupported header: instruction quantum {min_lc}, pointer size {ptr_size}"
            )));
        }
        let mut t = Pclntab {
            layout,
            data,
            vaddr,
            min_lc,
            ptr_size,
            nfunc: 0,
            text_start: 0,
            funcname_off: 0,
            pctab_off: 0,
            pcln_off: 0,
        };
        let mut words = [0u64; 8];
        for (i, w) in words.iter_mut().enumerate() {
            // Headers shorter than 8 words (go1.2 layout) read zeros past 16 bytes.
            *w = t.uword(8 + 8 * i).unwrap_or(0);
        }
        let word = |i: usize| -> Result<u64, ScanError> { Ok(words[i]) };
        let nfunc = word(0)?;
        match layout {
            Layout::Go12 => {
                t.pcln_off = 0;
            }
            Layout::Go116 => {
                t.funcname_off = word(2)? as usize;
                t.pctab_off = word(5)? as usize;
                t.pcln_off = word(6)? as usize;
            }
            Layout::Go118 | Layout::Go120 => {
                t.text_start = word(2)?;
                t.funcname_off = word(3)? as usize;
                t.pctab_off = word(6)? as usize;
                t.pcln_off = word(7)? as usize;
            }
        }
        for (what, off) in [
            ("funcnametab", t.funcname_off),
            ("pctab", t.pctab_off),
            ("pclntable", t.pcln_off),
        ] {
            if off > data.len() {
                return Err(bad(format!("{what} offset {off:#x} past the table")));
            }
        }
        let entry_size = t.ftab_entry_size();
        if nfunc == 0 || nfunc > (data.len() / entry_size) as u64 {
            return Err(bad(format!("implausible function count {nfunc}")));
        }
        t.nfunc = nfunc as usize;
        // The function table plus its end entry must fit.
        t.slice(t.ftab_at(t.nfunc), entry_size / 2)?;
        Ok(t)
    }

    fn ftab_entry_size(&self) -> usize {
        match self.layout {
            Layout::Go12 | Layout::Go116 => 16,
            _ => 8,
        }
    }

    fn ftab_start(&self) -> usize {
        match self.layout {
            Layout::Go12 => 16,
            _ => self.pcln_off,
        }
    }

    fn ftab_at(&self, i: usize) -> usize {
        self.ftab_start() + i * self.ftab_entry_size()
    }

    fn slice(&self, off: usize, len: usize) -> Result<&'a [u8], ScanError> {
        off.checked_add(len)
            .and_then(|end| self.data.get(off..end))
            .ok_or_else(|| bad(format!("read of {len} bytes at {off:#x} is past the table")))
    }

    pub fn u32_at(&self, off: usize) -> Result<u32, ScanError> {
        Ok(u32::from_le_bytes(self.slice(off, 4)?.try_into().unwrap()))
    }

    fn uword(&self, off: usize) -> Result<u64, ScanError> {
        Ok(u64::from_le_bytes(self.slice(off, 8)?.try_into().unwrap()))
    }

    /// Entry PC and `_func` offset (relative to pclntable) of table row `i`
    /// (`i == nfunc` is the end row: its entry is the end of the text).
    fn ftab_row(&self, i: usize) -> Result<(u64, usize), ScanError> {
        let at = self.ftab_at(i);
        match self.layout {
            Layout::Go12 | Layout::Go116 => Ok((self.uword(at)?, self.uword(at + 8)? as usize)),
            _ => Ok((
                self.text_start
                    .checked_add(self.u32_at(at)? as u64)
                    .ok_or_else(|| bad("entry PC overflows"))?,
                self.u32_at(at + 4)? as usize,
            )),
        }
    }

    /// The NUL-terminated name at `nameoff`.
    pub fn name_at(&self, nameoff: i64) -> Result<String, ScanError> {
        let base = match self.layout {
            Layout::Go12 => 0,
            _ => self.funcname_off,
        };
        if nameoff < 0 {
            return Err(bad(format!("negative name offset {nameoff}")));
        }
        let start = base
            .checked_add(nameoff as usize)
            .filter(|&s| s < self.data.len())
            .ok_or_else(|| bad(format!("name offset {nameoff:#x} past the table")))?;
        let rest = &self.data[start..];
        let len = rest
            .iter()
            .take(4096)
            .position(|&b| b == 0)
            .ok_or_else(|| bad(format!("unterminated name at {start:#x}")))?;
        Ok(String::from_utf8_lossy(&rest[..len]).into_owned())
    }

    /// Every function, in table order, checked for consistency with its row.
    pub fn funcs(&self) -> Result<Vec<Func>, ScanError> {
        let mut out = Vec::with_capacity(self.nfunc);
        let mut prev_entry = 0u64;
        let (mut entry, mut foff) = self.ftab_row(0)?;
        for i in 0..self.nfunc {
            let (next_entry, next_foff) = self.ftab_row(i + 1)?;
            if entry < prev_entry || next_entry < entry {
                return Err(bad(format!(
                    "function table not sorted at row {i} ({entry:#x} after {prev_entry:#x})"
                )));
            }
            let f = self.func_at(foff, entry, next_entry)?;
            out.push(f);
            prev_entry = entry;
            entry = next_entry;
            foff = next_foff;
        }
        Ok(out)
    }

    fn func_at(&self, foff: usize, entry: u64, end: u64) -> Result<Func, ScanError> {
        let at = self
            .pcln_off
            .checked_add(foff)
            .ok_or_else(|| bad("function offset overflows"))?;
        let (f_entry, fields_at) = match self.layout {
            Layout::Go12 | Layout::Go116 => (self.uword(at)?, at + 8),
            _ => (
                self.text_start.wrapping_add(self.u32_at(at)? as u64),
                at + 4,
            ),
        };
        if f_entry != entry {
            return Err(bad(format!(
                "function at {at:#x} says entry {f_entry:#x}, its table row {entry:#x}"
            )));
        }
        // nameoff, args, deferreturn, pcsp, pcfile, pcln, npcdata as 4-byte words.
        let w = |k: usize| self.u32_at(fields_at + 4 * k);
        let nameoff = w(0)? as i32 as i64;
        let pcsp = w(3)?;
        let npcdata = w(6)?;
        // The 4 bytes funcID, flag/pad, pad, nfuncdata follow the word fields.
        let tail = match self.layout {
            Layout::Go12 => fields_at + 4 * 7,
            Layout::Go116 | Layout::Go118 => fields_at + 4 * 8, // + cuOffset
            Layout::Go120 => fields_at + 4 * 9,                 // + cuOffset, startLine
        };
        let t = self.slice(tail, 4)?;
        let flag = match self.layout {
            Layout::Go12 => 0,
            _ => t[1],
        };
        let nfuncdata = t[3];
        if npcdata > 1024 {
            return Err(bad(format!(
                "implausible pcdata count {npcdata} at {at:#x}"
            )));
        }
        let pcdata_at = tail + 4;
        self.slice(pcdata_at, npcdata as usize * 4)?;
        let name = self.name_at(nameoff)?;
        Ok(Func {
            name,
            entry,
            end,
            func_off: at,
            pcsp,
            npcdata,
            nfuncdata,
            flag,
            pcdata_at,
        })
    }

    /// Offset of the pcdata table `idx` of `f`, 0 when it has none.
    pub fn pcdata_off(&self, f: &Func, idx: usize) -> Result<u32, ScanError> {
        if idx >= f.npcdata as usize {
            return Ok(0);
        }
        self.u32_at(f.pcdata_at + 4 * idx)
    }

    /// The funcdata slot `i` of `f`: `None` when the function has none.
    /// go1.2–1.17 give an absolute pointer, go1.18+ an offset from `go:func.*`.
    pub fn funcdata(&self, f: &Func, i: u8) -> Result<Option<FuncData>, ScanError> {
        if i >= f.nfuncdata {
            return Ok(None);
        }
        let after_pcdata = f.pcdata_at + 4 * f.npcdata as usize;
        match self.layout {
            Layout::Go12 | Layout::Go116 => {
                // Aligned to the pointer size in memory.
                let abs = self.vaddr.wrapping_add(after_pcdata as u64);
                let pad = (abs % 8) as usize;
                let at = after_pcdata + if pad != 0 { 8 - pad } else { 0 } + 8 * i as usize;
                let p = self.uword(at)?;
                Ok((p != 0).then_some(FuncData::Addr(p)))
            }
            _ => {
                let off = self.u32_at(after_pcdata + 4 * i as usize)?;
                Ok((off != u32::MAX).then_some(FuncData::GoFuncOff(off)))
            }
        }
    }

    /// Decode a pc-value table (pcsp or pcdata) of `f` into ranges.
    pub fn pcvalue(&self, f: &Func, off: u32) -> Result<PcTable, ScanError> {
        if off == 0 {
            return Ok(PcTable::default());
        }
        let base = match self.layout {
            Layout::Go12 => 0,
            _ => self.pctab_off,
        };
        let start = base
            .checked_add(off as usize)
            .filter(|&s| s < self.data.len())
            .ok_or_else(|| {
                bad(format!(
                    "pc-value table offset {off:#x} of {} past the table",
                    f.name
                ))
            })?;
        let mut p = &self.data[start..];
        let mut pc = f.entry;
        let mut val: i32 = -1;
        let mut ranges = Vec::new();
        let quantum = self.min_lc as u64;
        let limit = (f.end - f.entry) / quantum + 2;
        loop {
            let first = pc == f.entry;
            let (uvdelta, n) = varint(p)
                .ok_or_else(|| bad(format!("bad varint in a pc-value table of {}", f.name)))?;
            if uvdelta == 0 && !first {
                break;
            }
            p = &p[n..];
            let vdelta = if uvdelta & 1 != 0 {
                !(uvdelta >> 1)
            } else {
                uvdelta >> 1
            } as i32;
            let (pcdelta, n) = varint(p)
                .ok_or_else(|| bad(format!("bad varint in a pc-value table of {}", f.name)))?;
            p = &p[n..];
            let start_pc = pc;
            pc = pc
                .checked_add(pcdelta as u64 * quantum)
                .ok_or_else(|| bad(format!("pc overflow in a pc-value table of {}", f.name)))?;
            val = val.wrapping_add(vdelta);
            ranges.push(Range {
                start: start_pc,
                end: pc,
                val,
            });
            if ranges.len() as u64 > limit || pc > f.end {
                if pc > f.end {
                    // The table describes PCs past the function: corrupt.
                    return Err(bad(format!(
                        "pc-value table of {} runs past its end ({pc:#x} > {:#x})",
                        f.name, f.end
                    )));
                }
                return Err(bad(format!("pc-value table of {} too long", f.name)));
            }
        }
        Ok(PcTable { ranges })
    }

    /// The `_func` offset (for diagnostics).
    pub fn func_offset(&self, f: &Func) -> usize {
        f.func_off
    }

    /// Read one inline-tree entry `ix` of a tree at memory address `tree`:
    /// the name of the inlined function.
    pub fn inlined_name(&self, img: &impl Memory, tree: u64, ix: i32) -> Result<String, ScanError> {
        if ix < 0 {
            return Err(bad("negative inline index"));
        }
        let (size, name_at) = match self.layout {
            // parent int16, funcID, _, file int32, line int32, func_ int32, parentPc int32
            Layout::Go12 | Layout::Go116 | Layout::Go118 => (20u64, 12u64),
            // funcID, _ [3]byte, nameOff int32, parentPc int32, startLine int32
            Layout::Go120 => (16, 4),
        };
        let addr = tree
            .checked_add(ix as u64 * size + name_at)
            .ok_or_else(|| bad("inline tree address overflows"))?;
        let b = img
            .read(addr, 4)
            .ok_or_else(|| bad(format!("inline tree entry at {addr:#x} is not in the file")))?;
        let nameoff = i32::from_le_bytes(b.try_into().unwrap());
        self.name_at(nameoff as i64)
    }
}

/// The binary's memory image, as far as the tables that point outside the
/// pclntab (inline trees) need it.
pub trait Memory {
    /// `len` bytes at virtual address `addr`, if the file holds them.
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]>;
}

/// Where a funcdata symbol is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuncData {
    Addr(u64),
    GoFuncOff(u32),
}

impl FuncData {
    /// Its address, given `go:func.*` (go1.18+).
    pub fn resolve(self, gofunc: Option<u64>) -> Option<u64> {
        match self {
            FuncData::Addr(a) => Some(a),
            FuncData::GoFuncOff(o) => gofunc.map(|g| g.wrapping_add(o as u64)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
    pub val: i32,
}

/// A decoded pc-value table: consecutive ranges from the entry on.
#[derive(Clone, Debug, Default)]
pub struct PcTable {
    pub ranges: Vec<Range>,
}

impl PcTable {
    /// Value and start of the range holding `pc` (the runtime's
    /// `pcdatavalue2`); -1 where the table has nothing (as the runtime returns
    /// for a missing table).
    pub fn lookup(&self, pc: u64) -> Option<(i32, u64)> {
        let i = self.ranges.partition_point(|r| r.end <= pc);
        self.ranges
            .get(i)
            .filter(|r| r.start <= pc)
            .map(|r| (r.val, r.start))
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// An unsigned LEB128 of at most 32 bits, as the runtime's `readvarint`.
pub fn varint(p: &[u8]) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    let mut shift = 0u32;
    for (i, &b) in p.iter().enumerate() {
        if shift >= 35 {
            return None;
        }
        v |= ((b & 0x7f) as u32).checked_shl(shift).unwrap_or(0);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
        shift += 7;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x00]), Some((0, 1)));
        assert_eq!(varint(&[0x7f]), Some((127, 1)));
        assert_eq!(varint(&[0x80, 0x01]), Some((128, 2)));
        assert_eq!(varint(&[0x80]), None);
        assert_eq!(varint(&[0xff; 8]), None);
    }

    #[test]
    fn lookup_ranges() {
        let t = PcTable {
            ranges: vec![
                Range {
                    start: 0x10,
                    end: 0x18,
                    val: 0,
                },
                Range {
                    start: 0x18,
                    end: 0x30,
                    val: 16,
                },
            ],
        };
        assert_eq!(t.lookup(0x10), Some((0, 0x10)));
        assert_eq!(t.lookup(0x17), Some((0, 0x10)));
        assert_eq!(t.lookup(0x18), Some((16, 0x18)));
        assert_eq!(t.lookup(0x2c), Some((16, 0x18)));
        assert_eq!(t.lookup(0x30), None);
        assert_eq!(t.lookup(0x0f), None);
    }
}
