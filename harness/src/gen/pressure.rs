//! Pressure scaffolding any program can include: GC hammers, a
//! stop-the-world hammer, allocation churn, spinning goroutines, and a GC
//! percent setting. None of it feeds the
//! checksum; every goroutine stops when `stop` is closed.

use super::pick;
use super::src::{Src, Unit};
use arbitrary::{Result, Unstructured};
use serde::{Deserialize, Serialize};

/// Allocation churn: a goroutine allocating and dropping objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Churn {
    /// Size of each allocation in bytes.
    pub bytes: u32,
    /// How many recent allocations are kept alive.
    pub keep: u16,
    /// Allocate pointer slices (more GC scan work) instead of byte slices.
    pub pointers: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pressure {
    /// Goroutines calling runtime.GC() in a loop.
    #[serde(default)]
    pub gc_hammers: u8,
    /// debug.SetGCPercent at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gc_percent: Option<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<Churn>,
    /// Goroutines spinning on arithmetic.
    #[serde(default)]
    pub spinners: u8,
    /// Spinners call runtime.Gosched every few thousand iterations.
    #[serde(default)]
    pub spinner_gosched: bool,
    /// A goroutine calling runtime.ReadMemStats in a loop (yielding between
    /// calls): each call stops the world, asynchronously preempting every
    /// running goroutine.
    #[serde(default)]
    pub stw_hammer: bool,
}

pub const MAX_HAMMERS: u8 = 3;
pub const MAX_SPINNERS: u8 = 3;

impl Pressure {
    /// `need_gc`: the program's target needs a GC running (bigstack, timers).
    /// `stw`: the target cares about stop-the-world pauses (timers).
    pub(crate) fn arb(u: &mut Unstructured, need_gc: bool, stw: bool) -> Result<Pressure> {
        let gc_hammers = if need_gc {
            pick(u, &[(6, 1u8), (3, 2), (1, 3)])?
        } else {
            pick(u, &[(3, 0u8), (5, 1), (2, 2)])?
        };
        let gc_percent = if u.ratio(1, 3)? {
            Some(*u.choose(&[1i16, 5, 10, 25, 50, 200])?)
        } else {
            None
        };
        let churn = if u.ratio(1, 3)? {
            Some(Churn {
                bytes: *u.choose(&[16u32, 64, 256, 1024, 4096, 32768])?,
                keep: u.int_in_range(1..=256)?,
                pointers: u.ratio(1, 2)?,
            })
        } else {
            None
        };
        let spinners = pick(u, &[(6, 0u8), (3, 1), (1, 2)])?;
        let spinner_gosched = u.ratio(1, 2)?;
        let stw_hammer = if stw { u.ratio(1, 3)? } else { u.ratio(1, 6)? };
        let mut p = Pressure {
            gc_hammers,
            gc_percent,
            churn,
            spinners,
            spinner_gosched,
            stw_hammer,
        };
        p.normalize();
        Ok(p)
    }

    pub(crate) fn normalize(&mut self) {
        self.gc_hammers = self.gc_hammers.min(MAX_HAMMERS);
        self.spinners = self.spinners.min(MAX_SPINNERS);
        if let Some(g) = self.gc_percent {
            self.gc_percent = Some(g.clamp(1, 1000));
        }
        if let Some(c) = &mut self.churn {
            c.bytes = c.bytes.clamp(8, 1 << 16);
            c.keep = c.keep.clamp(1, 256);
        }
        if self.spinners == 0 {
            self.spinner_gosched = false;
        }
    }

    pub(crate) fn weight(&self) -> u64 {
        self.gc_hammers as u64 * 3
            + self.spinners as u64 * 3
            + self.spinner_gosched as u64
            + self.gc_percent.is_some() as u64 * 2
            + self.churn.as_ref().map_or(0, |c| 3 + c.pointers as u64)
            + self.stw_hammer as u64 * 3
    }

    pub(crate) fn shrink(&self) -> Vec<Pressure> {
        let mut out = Vec::new();
        if self.gc_hammers > 0 {
            let mut p = self.clone();
            p.gc_hammers -= 1;
            out.push(p);
        }
        if self.spinners > 0 {
            let mut p = self.clone();
            p.spinners -= 1;
            p.normalize();
            out.push(p);
        }
        if self.spinner_gosched {
            let mut p = self.clone();
            p.spinner_gosched = false;
            out.push(p);
        }
        if self.stw_hammer {
            let mut p = self.clone();
            p.stw_hammer = false;
            out.push(p);
        }
        if self.gc_percent.is_some() {
            let mut p = self.clone();
            p.gc_percent = None;
            out.push(p);
        }
        if let Some(c) = &self.churn {
            let mut p = self.clone();
            p.churn = None;
            out.push(p);
            if c.pointers {
                let mut p = self.clone();
                p.churn.as_mut().unwrap().pointers = false;
                out.push(p);
            }
        }
        out
    }

    /// Declare the background goroutine bodies. Returns the statements that
    /// start them in main (after `stop` and `bg` exist).
    pub(crate) fn render(&self, unit: &mut Unit) -> Vec<String> {
        let mut starts = Vec::new();
        if self.gc_hammers > 0 {
            unit.import("runtime");
            let mut s = Src::new();
            s.open("func gcHammer(stop chan struct{}, bg *sync.WaitGroup) {");
            s.line("defer bg.Done()");
            s.open("for {");
            s.open("select {");
            s.mid("case <-stop:");
            s.line("return");
            s.mid("default:");
            s.close("}");
            s.line("runtime.GC()");
            s.close("}");
            s.close("}");
            unit.decl(s);
            for _ in 0..self.gc_hammers {
                starts.push("go gcHammer(stop, &bg)".to_string());
            }
        }
        if self.stw_hammer {
            unit.import("runtime");
            let mut s = Src::new();
            s.open("func stwHammer(stop chan struct{}, bg *sync.WaitGroup) {");
            s.line("defer bg.Done()");
            s.line("var ms runtime.MemStats");
            s.open("for {");
            s.open("select {");
            s.mid("case <-stop:");
            s.line("return");
            s.mid("default:");
            s.close("}");
            s.line("runtime.ReadMemStats(&ms)");
            // Without a yield, back-to-back ReadMemStats calls can keep the
            // GC from finishing a cycle for seconds on go1.14 (its mark
            // termination waits for the same stop-the-world lock): a healthy
            // toolchain would then look hung.
            s.line("runtime.Gosched()");
            s.close("}");
            s.close("}");
            unit.decl(s);
            starts.push("go stwHammer(stop, &bg)".to_string());
        }
        if let Some(c) = &self.churn {
            let mut s = Src::new();
            s.open("func churn(stop chan struct{}, bg *sync.WaitGroup) {");
            s.line("defer bg.Done()");
            let t = if c.pointers { "[]*int" } else { "[]byte" };
            let n = if c.pointers {
                (c.bytes / 8).max(1)
            } else {
                c.bytes
            };
            s.line(format!("keep := make([]{t}, {})", c.keep));
            s.open("for i := 0; ; i++ {");
            s.open("select {");
            s.mid("case <-stop:");
            s.line("return");
            s.mid("default:");
            s.close("}");
            s.line(format!("b := make({t}, {n})"));
            if c.pointers {
                s.line("b[0] = new(int)");
            } else {
                s.line("b[0] = byte(i)");
            }
            s.line(format!("keep[i%{}] = b", c.keep));
            s.close("}");
            s.close("}");
            unit.decl(s);
            starts.push("go churn(stop, &bg)".to_string());
        }
        if self.spinners > 0 {
            if self.spinner_gosched {
                unit.import("runtime");
            }
            let mut s = Src::new();
            s.open("func spinner(stop chan struct{}, bg *sync.WaitGroup, seed int) {");
            s.line("defer bg.Done()");
            s.line("x := seed");
            s.open("for i := 1; ; i++ {");
            s.line("x = x*31 + i");
            s.open("if i%4096 == 0 {");
            s.open("select {");
            s.mid("case <-stop:");
            s.line("spinSink[seed] = x");
            s.line("return");
            s.mid("default:");
            s.close("}");
            if self.spinner_gosched {
                s.line("runtime.Gosched()");
            }
            s.close("}");
            s.close("}");
            s.close("}");
            unit.decl(s);
            let mut s = Src::new();
            s.line(format!("var spinSink [{}]int", self.spinners));
            unit.decl(s);
            for k in 0..self.spinners {
                starts.push(format!("go spinner(stop, &bg, {k})"));
            }
        }
        if !starts.is_empty() {
            unit.import("sync");
        }
        starts
    }
}
