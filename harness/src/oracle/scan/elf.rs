//! The ELF side of a Go binary: its loaded bytes by virtual address, the
//! function table, the build info and `go:func.*`, found with or without a
//! symbol table (`-ldflags=-s -w` keeps section headers but drops symbols).

use super::pclntab::{self, Layout};
use super::ScanError;
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};

/// A loaded segment: `[vaddr, vaddr + data.len())` backed by file bytes.
struct Seg<'a> {
    vaddr: u64,
    data: &'a [u8],
    writable: bool,
}

/// What the scan needs from the ELF file.
pub struct Image<'a> {
    segs: Vec<Seg<'a>>,
    pub arch: Arch,
    pub file: &'a [u8],
    pub sections: Vec<(String, u64, &'a [u8])>,
    pub symbols: Vec<(String, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

impl<'a> Image<'a> {
    pub fn parse(file: &'a [u8]) -> Result<Image<'a>, ScanError> {
        if file.len() < 4 || &file[..4] != b"\x7fELF" {
            return Err(ScanError::NotElf);
        }
        let obj = object::File::parse(file)
            .map_err(|e| ScanError::BadElf(format!("truncated or corrupt ELF file: {e}")))?;
        let arch = match obj.architecture() {
            object::Architecture::X86_64 => Arch::Amd64,
            object::Architecture::Aarch64 => Arch::Arm64,
            a => return Err(ScanError::UnsupportedArch(format!("{a:?}"))),
        };
        if !obj.is_little_endian() || !obj.is_64() {
            return Err(ScanError::UnsupportedArch(
                "not 64-bit little-endian".into(),
            ));
        }
        let mut segs = Vec::new();
        for s in obj.segments() {
            let (off, size) = s.file_range();
            let end = off.checked_add(size).filter(|&e| e <= file.len() as u64);
            let Some(end) = end else {
                return Err(ScanError::BadElf(format!(
                    "truncated ELF file: a segment ends at {:#x}, the file at {:#x}",
                    off.saturating_add(size),
                    file.len()
                )));
            };
            if size == 0 {
                continue;
            }
            let writable = match s.flags() {
                object::SegmentFlags::Elf { p_flags, .. } => p_flags.0 & 2 != 0,
                _ => false,
            };
            segs.push(Seg {
                vaddr: s.address(),
                data: &file[off as usize..end as usize],
                writable,
            });
        }
        let mut sections = Vec::new();
        for s in obj.sections() {
            let Ok(name) = s.name() else { continue };
            if let Some((off, size)) = s.file_range() {
                let end = off.checked_add(size).filter(|&e| e <= file.len() as u64);
                let Some(end) = end else {
                    return Err(ScanError::BadElf(format!(
                        "truncated ELF file: section {name} ends past the file"
                    )));
                };
                sections.push((
                    name.to_string(),
                    s.address(),
                    &file[off as usize..end as usize],
                ));
            }
        }
        let symbols = obj
            .symbols()
            .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
            .collect();
        Ok(Image {
            segs,
            arch,
            file,
            sections,
            symbols,
        })
    }

    /// `len` loaded bytes at `addr`, when the file holds them.
    pub fn read(&self, addr: u64, len: usize) -> Option<&'a [u8]> {
        for s in &self.segs {
            if addr >= s.vaddr {
                let off = addr - s.vaddr;
                if off < s.data.len() as u64 {
                    let off = off as usize;
                    return s.data.get(off..off.checked_add(len)?);
                }
            }
        }
        None
    }

    /// The rest of the segment from `addr` on.
    pub fn read_from(&self, addr: u64) -> Option<(&'a [u8], u64)> {
        for s in &self.segs {
            if addr >= s.vaddr && addr - s.vaddr < s.data.len() as u64 {
                return Some((&s.data[(addr - s.vaddr) as usize..], addr));
            }
        }
        None
    }

    pub fn u64_at(&self, addr: u64) -> Option<u64> {
        self.read(addr, 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    }

    pub fn section(&self, name: &str) -> Option<(u64, &'a [u8])> {
        self.sections
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, a, d)| (*a, *d))
    }

    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols
            .iter()
            .find(|(n, a)| n == name && *a != 0)
            .map(|(_, a)| *a)
    }

    /// The function table: the `.gopclntab` section, else the `runtime.pclntab`
    /// symbol, else a scan of the loaded read-only bytes for a header whose
    /// function table checks out.
    pub fn pclntab(&self) -> Result<pclntab::Pclntab<'a>, ScanError> {
        let mut t = self.find_pclntab()?;
        if matches!(t.layout, Layout::Go118 | Layout::Go120) && t.text_start == 0 {
            // go1.26 no longer stores textStart: use moduledata.text, else the
            // start of .text, else runtime.text.
            t.text_start = self
                .moduledata(&t)
                .and_then(|md| self.u64_at(md.checked_add(8 * 22)?))
                .or_else(|| self.section(".text").map(|(a, _)| a))
                .or_else(|| self.symbol("runtime.text"))
                .ok_or_else(|| ScanError::BadPclntab("cannot tell where the text starts".into()))?;
        }
        t.funcs_check().map(|_| t)
    }

    fn find_pclntab(&self) -> Result<pclntab::Pclntab<'a>, ScanError> {
        if let Some((addr, data)) = self.section(".gopclntab") {
            return pclntab::Pclntab::parse(data, addr);
        }
        if let Some(addr) = self.symbol("runtime.pclntab") {
            if let Some((data, _)) = self.read_from(addr) {
                return pclntab::Pclntab::parse(data, addr);
            }
        }
        let mut last_err = None;
        for s in self.segs.iter().filter(|s| !s.writable) {
            let mut i = 0;
            while i + 16 <= s.data.len() {
                let m = u32::from_le_bytes(s.data[i..i + 4].try_into().unwrap());
                if Layout::from_magic(m).is_some() && s.data[i + 4] == 0 && s.data[i + 5] == 0 {
                    match pclntab::Pclntab::parse(&s.data[i..], s.vaddr.wrapping_add(i as u64)) {
                        Ok(t) => return Ok(t),
                        Err(e) => last_err = Some(e),
                    }
                }
                i += 8;
            }
        }
        Err(last_err.unwrap_or(ScanError::NotGo))
    }

    /// The toolchain that built the binary, from `.go.buildinfo` (go1.13+),
    /// else the `runtime.buildVersion` symbol.
    pub fn go_version(&self) -> Option<String> {
        const MAGIC: &[u8] = b"\xff Go buildinf:";
        let info = self.section(".go.buildinfo").map(|(_, d)| d).or_else(|| {
            let mut i = 0;
            while i + 32 <= self.file.len() {
                if &self.file[i..i + MAGIC.len()] == MAGIC {
                    return Some(&self.file[i..]);
                }
                i += 16;
            }
            None
        });
        if let Some(b) = info {
            if b.len() >= 32 && &b[..MAGIC.len()] == MAGIC {
                let ptr_size = b[14] as usize;
                let flags = b[15];
                if flags & 2 != 0 {
                    // go1.18+: length-prefixed strings inline from offset 32.
                    let (len, n) = uvarint(&b[32..])?;
                    let len = usize::try_from(len).ok()?;
                    let s = b.get(32 + n..(32 + n).checked_add(len)?)?;
                    return Some(String::from_utf8_lossy(s).into_owned());
                }
                if ptr_size == 8 && flags & 1 == 0 {
                    let p = u64::from_le_bytes(b[16..24].try_into().ok()?);
                    if let Some(v) = self.go_string(p) {
                        return Some(v);
                    }
                }
            }
        }
        self.symbol("runtime.buildVersion")
            .and_then(|a| self.go_string(a))
    }

    /// A Go string header (pointer, length) at `addr`.
    fn go_string(&self, addr: u64) -> Option<String> {
        let p = self.u64_at(addr)?;
        let n = self.u64_at(addr + 8)?;
        if n > 4096 {
            return None;
        }
        let s = self.read(p, n as usize)?;
        Some(String::from_utf8_lossy(s).into_owned())
    }

    /// `moduledata.gofunc` (`go:func.*`, go1.18+): from the symbol when there
    /// is one, else from `runtime.firstmoduledata` found by its first word
    /// (the table's address) and its funcnametab slice.
    pub fn gofunc(&self, tab: &pclntab::Pclntab) -> Option<u64> {
        for name in ["go:func.*", "go.func.*"] {
            if let Some(a) = self.symbol(name) {
                return Some(a);
            }
        }
        let index = match tab.layout {
            Layout::Go118 => 38,
            Layout::Go120 => 40,
            _ => return None,
        };
        self.u64_at(self.moduledata(tab)?.checked_add(8 * index)?)
    }

    /// `runtime.firstmoduledata`: a word equal to the table's address in
    /// writable data, followed by the funcnametab slice pointing into it.
    fn moduledata(&self, tab: &pclntab::Pclntab) -> Option<u64> {
        if let Some(a) = self.symbol("runtime.firstmoduledata") {
            return Some(a);
        }
        let want = tab.vaddr.to_le_bytes();
        for s in self.segs.iter().filter(|s| s.writable) {
            let mut i = 0;
            while i + 8 * 41 <= s.data.len() {
                if s.data[i..i + 8] == want {
                    let md = s.vaddr.wrapping_add(i as u64);
                    let fnt = self.u64_at(md.wrapping_add(8))?;
                    if fnt > tab.vaddr && fnt < tab.vaddr.saturating_add(tab.data.len() as u64) {
                        return Some(md);
                    }
                }
                i += 8;
            }
        }
        None
    }
}

impl pclntab::Memory for Image<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        Image::read(self, addr, len)
    }
}

impl pclntab::Pclntab<'_> {
    /// Whether the first rows of the function table are consistent (used
    /// when the table was found by scanning rather than by name).
    fn funcs_check(&self) -> Result<(), ScanError> {
        self.funcs().map(|_| ())
    }
}

fn uvarint(p: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in p.iter().enumerate().take(10) {
        v |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}
