//! Arbitrary bytes through the scan: as a whole file (`scan::scan_bytes`),
//! or as a Go function table behind a chosen header (every layout), whose
//! functions and pc-value tables are then decoded, and as arm64 and amd64
//! code. Nothing may panic, and what the reader returns must be consistent.
#![no_main]

use divergo::oracle::scan::{self, amd64, arm64, pclntab};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode & 1 {
        0 => {
            if let Ok(r) = scan::scan_bytes(rest) {
                for w in &r.windows {
                    assert!(w.pc >= w.entry_pc && w.offset == w.pc - w.entry_pc);
                    assert!(!w.insns.is_empty());
                }
            }
        }
        _ => table(mode, rest),
    }
});

fn table(mode: u8, rest: &[u8]) {
    let magic = [
        pclntab::MAGIC_12,
        pclntab::MAGIC_116,
        pclntab::MAGIC_118,
        pclntab::MAGIC_120,
    ][(mode >> 1) as usize % 4];
    let quantum = if mode & 0x08 != 0 { 1 } else { 4 };
    let mut tab = magic.to_le_bytes().to_vec();
    tab.extend_from_slice(&[0, 0, quantum, 8]);
    tab.extend_from_slice(rest);
    let Ok(t) = pclntab::Pclntab::parse(&tab, 0x40_0000) else {
        return;
    };
    let Ok(funcs) = t.funcs() else {
        return;
    };
    assert_eq!(funcs.len(), t.nfunc);
    for f in funcs.iter().take(256) {
        assert!(f.entry <= f.end);
        let offs = [Some(f.pcsp), t.pcdata_off(f, 0).ok(), t.pcdata_off(f, 2).ok()];
        for off in offs.into_iter().flatten() {
            let Ok(pv) = t.pcvalue(f, off) else { continue };
            let mut at = f.entry;
            for r in &pv.ranges {
                assert_eq!(r.start, at, "ranges are contiguous from the entry");
                assert!(r.end >= r.start && r.end <= f.end);
                at = r.end;
                if r.end > r.start {
                    assert_eq!(pv.lookup(r.start), Some((r.val, r.start)));
                    assert_eq!(pv.lookup(r.end - 1), Some((r.val, r.start)));
                }
            }
        }
        for i in 0..f.nfuncdata {
            let _ = t.funcdata(f, i);
        }
    }
    for w in rest.chunks_exact(4).take(1024) {
        let w = u32::from_le_bytes(w.try_into().unwrap());
        let _ = arm64::decode(w);
        assert!(!arm64::describe(w).is_empty());
    }
    let steps = amd64::decode_function(&rest[..rest.len().min(4096)], 0x1000);
    let mut pc = 0x1000;
    for s in &steps {
        assert_eq!(s.pc, pc);
        pc += s.len as u64;
    }
}
