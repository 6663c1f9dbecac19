//! `bigstack`: functions with large frames called in tight loops while the
//! GC and preemption are busy.
//!
//! The main target is golang/go#73259. On arm64 a function epilogue pops its
//! frame with `ADD $framesize, RSP, RSP`. When the frame size fits neither a
//! 12-bit immediate (optionally shifted by 12) nor a single MOVZ/MOVN/bitmask
//! constant but is below 2^24, the assembler splits that ADD into two
//! (`ADD $lo; ADD $hi<<12`). The pc-sp table only records the adjustment after
//! both, so an asynchronous preemption (SIGURG) landing between them leaves a
//! goroutine whose recorded frame does not match SP; a GC stack scan then
//! fails ("traceback did not unwind completely", or SIGSEGV in the unwinder).
//! In practice the split happens for frames above 64 KiB that are not a
//! multiple of 4096 bytes. go1.23.12/go1.24.6/go1.25.0 load the size into
//! REGTMP and add it with one instruction, but only in the epilogue of
//! non-leaf functions: the leaf epilogue (`ADD $framesize-8, RSP, R29; ADD
//! $framesize, RSP, RSP`) is still split, so large-frame leaf functions are
//! generated too.
//!
//! A signal must land on one instruction boundary, so what matters is the
//! share of executed instructions spent just before that boundary. The
//! templates therefore keep the large array off the common path (it is only
//! zeroed and touched when `i & mask == 0`), so a call usually costs the
//! prologue, a handful of instructions and the epilogue; and they nest
//! large-frame calls (recursion, chains) so that several epilogues run back to
//! back with no function prologue (a synchronous preemption point) between
//! them.

use super::src::{Src, Unit};
use super::{pick, CaseCtx, WORD_MASK};
use arbitrary::{Result, Unstructured};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Element type of the large local array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Elem {
    Byte,
    U32,
    U64,
    /// `*int`: the frame then holds pointers the GC must scan.
    Ptr,
}

impl Elem {
    pub fn size(self) -> u32 {
        match self {
            Elem::Byte => 1,
            Elem::U32 => 4,
            Elem::U64 | Elem::Ptr => 8,
        }
    }

    fn go(self) -> &'static str {
        match self {
            Elem::Byte => "byte",
            Elem::U32 => "uint32",
            Elem::U64 => "uint64",
            Elem::Ptr => "*int",
        }
    }
}

/// How the large-frame function is declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A `//go:noinline` top-level function.
    Func,
    /// A `//go:noinline` method on a pointer receiver.
    Method,
    /// A function literal stored in a package-level variable.
    ClosureVar,
}

/// What the common (short) path of the function does before returning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hot {
    /// Return at once.
    Return,
    /// A few arithmetic statements.
    Arith(u8),
    /// A short counted loop.
    Spin(u8),
    /// Touch a small (64-byte) local array.
    SmallArray,
}

/// What the rare path does with the large array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rare {
    /// Write one element, read another.
    TouchOne,
    /// Write every element.
    Fill,
    /// Write the first n elements.
    FillPart(u32),
    /// Copy a package-level array of the same type in (a memmove call).
    CopyGlobal,
    /// Pass the array by pointer to a `//go:noinline` summing helper.
    Helper,
}

/// One large-frame function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BigFunc {
    /// Size in bytes of the large local array (the frame is a little larger).
    pub array_bytes: u32,
    pub elem: Elem,
    pub shape: Shape,
    /// Call nothing at all, so that the compiler emits the leaf epilogue.
    pub leaf: bool,
    pub hot: Hot,
    /// The rare path runs when `i & (1<<rare_log2 - 1) == 0`; 0 means always.
    pub rare_log2: u8,
    pub rare: Rare,
    /// Maximum self-recursion depth (each level is another large frame).
    pub recursion: u8,
    /// Recursion depth varies with the iteration (`i % (recursion+1)`).
    pub vary_depth: bool,
    /// Index of a later function in the case that this one calls on each path.
    pub next: Option<u8>,
}

/// How a driver calls its function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallMode {
    Direct,
    /// Through a package-level func variable (a method value for methods).
    FuncValue,
    /// Through an interface method.
    Interface,
    /// From a deferred closure.
    Deferred,
}

/// A loop calling one of the functions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Driver {
    pub func: u8,
    pub mode: CallMode,
    /// 0: run in the case's own goroutine; n: run in n new goroutines.
    pub workers: u8,
    pub iters: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BigstackCase {
    pub funcs: Vec<BigFunc>,
    pub drivers: Vec<Driver>,
}

pub const MAX_FUNCS: usize = 3;
pub const MAX_DRIVERS: usize = 4;
pub const MAX_WORKERS: u8 = 4;
pub const MIN_ARRAY: u32 = 4100;
pub const MAX_ARRAY: u32 = 1 << 20;
pub const MAX_RECURSION: u8 = 12;
/// Upper bound on the large-frame stack one call chain may use.
pub const MAX_CHAIN_STACK: u64 = 4 << 20;
pub const MAX_ITERS: u32 = 2_000_000;
/// Explicit stack variables above this size go to the heap (go1.24+).
pub const HEAP_ARRAY: u32 = 128 * 1024;

/// Pick an array size. Most sizes give a frame between 64 KiB and 128 KiB
/// whose low 12 bits are not zero (the split-ADD epilogue on arm64); the
/// rest cover 4-64 KiB, exact multiples of 4096 (or just below) and arrays
/// above 128 KiB (on the stack up to go1.23, moved to the heap by newer
/// compilers, whose limit for explicit stack variables is 128 KiB).
fn arb_array_bytes(u: &mut Unstructured) -> Result<u32> {
    let class = pick(u, &[(75, 0u8), (5, 1), (10, 2), (10, 3)])?;
    Ok(match class {
        0 => split_array_bytes(u)?,
        1 => {
            let pages = u.int_in_range(33u32..=255)?;
            let rem = u.int_in_range(8u32..=240)? * 16;
            pages * 4096 + rem
        }
        2 => u.int_in_range(MIN_ARRAY..=65000)?,
        _ => {
            // Multiples of 4096, or just below one.
            let pages = u.int_in_range(2u32..=32)?;
            let under = pick(u, &[(3, 0u32), (1, 16), (1, 32), (1, 48)])?;
            pages * 4096 - under
        }
    })
}

/// A size in the split-epilogue range: 64-128 KiB, remainder away from a
/// page boundary.
fn split_array_bytes(u: &mut Unstructured) -> Result<u32> {
    let pages = u.int_in_range(16u32..=31)?;
    let rem = u.int_in_range(8u32..=240)? * 16;
    Ok(pages * 4096 + rem)
}

impl BigFunc {
    /// `rich`: a function built to spend a large share of the executed
    /// instructions next to a split epilogue: a frame in the 64-128 KiB
    /// split range, a short common path, a cheap and rare array path, and
    /// (non-leaf) recursion. Other functions vary everything.
    fn arb(u: &mut Unstructured, index: usize, nfuncs: usize, rich: bool) -> Result<BigFunc> {
        let leaf = u.ratio(1, 5)?;
        let array_bytes = if rich {
            split_array_bytes(u)?
        } else {
            arb_array_bytes(u)?
        };
        let elem = pick(
            u,
            &[
                (4, Elem::Byte),
                (2, Elem::U32),
                (3, Elem::U64),
                (1, Elem::Ptr),
            ],
        )?;
        let shape = pick(
            u,
            &[(6, Shape::Func), (3, Shape::Method), (2, Shape::ClosureVar)],
        )?;
        let hot = if rich {
            match pick(u, &[(5, 0u8), (2, 1), (2, 3)])? {
                0 => Hot::Return,
                1 => Hot::Arith(u.int_in_range(1..=3)?),
                _ => Hot::SmallArray,
            }
        } else {
            match pick(u, &[(4, 0u8), (2, 1), (1, 2), (2, 3)])? {
                0 => Hot::Return,
                1 => Hot::Arith(u.int_in_range(1..=6)?),
                2 => Hot::Spin(u.int_in_range(1..=8)?),
                _ => Hot::SmallArray,
            }
        };
        // Mostly a short common path, so that a large share of the executed
        // instructions sits next to an epilogue; sometimes the array is
        // touched often or on every call (the shape of the published
        // reproducer, which rarely loses the race).
        let rare_log2 = if rich {
            u.int_in_range(7..=12)?
        } else {
            match pick(u, &[(90, 0u8), (7, 1), (3, 2)])? {
                0 => u.int_in_range(6..=12)?,
                1 => u.int_in_range(1..=5)?,
                _ => 0,
            }
        };
        let rare_log2 = if array_bytes > HEAP_ARRAY {
            rare_log2.max(8)
        } else {
            rare_log2
        };
        let rare = if rich {
            match pick(u, &[(5, 0u8), (2, 1), (2, 2)])? {
                0 => Rare::TouchOne,
                1 => Rare::FillPart(u.int_in_range(1..=256)?),
                _ if leaf => Rare::TouchOne,
                _ => Rare::Helper,
            }
        } else if leaf {
            match pick(u, &[(5, 0u8), (1, 1), (2, 2)])? {
                0 => Rare::TouchOne,
                1 => Rare::Fill,
                _ => Rare::FillPart(u.int_in_range(1..=1024)?),
            }
        } else {
            match pick(u, &[(5, 0u8), (1, 1), (2, 2), (1, 3), (2, 4)])? {
                0 => Rare::TouchOne,
                1 => Rare::Fill,
                2 => Rare::FillPart(u.int_in_range(1..=1024)?),
                3 => Rare::CopyGlobal,
                _ => Rare::Helper,
            }
        };
        // Recursion runs several epilogues back to back with no function
        // prologue (a synchronous preemption point) between them.
        let (recursion, vary_depth) = if leaf {
            (0, false)
        } else if rich {
            (u.int_in_range(3..=MAX_RECURSION)?, u.ratio(1, 2)?)
        } else if u.ratio(3, 20)? {
            (0, false)
        } else if u.ratio(1, 4)? {
            (u.int_in_range(1..=3)?, u.ratio(1, 2)?)
        } else {
            (u.int_in_range(4..=MAX_RECURSION)?, u.ratio(1, 2)?)
        };
        let next = if !leaf && index + 1 < nfuncs && u.ratio(1, 3)? {
            Some(u.int_in_range(index + 1..=nfuncs - 1)? as u8)
        } else {
            None
        };
        Ok(BigFunc {
            array_bytes,
            elem,
            shape,
            leaf,
            hot,
            rare_log2,
            rare,
            recursion,
            vary_depth,
            next,
        })
    }

    /// Elements in the array.
    pub fn len(&self) -> u32 {
        (self.array_bytes / self.elem.size()).max(1)
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Largest `2^k - 1` that indexes inside the array (masking keeps every
    /// index provably in bounds, so no panicIndex call is compiled in).
    fn mask(&self) -> u32 {
        let n = self.len();
        let p = 1u32 << (31 - n.leading_zeros());
        p - 1
    }
}

impl BigstackCase {
    pub(crate) fn arb(u: &mut Unstructured) -> Result<BigstackCase> {
        let nf = pick(u, &[(5, 1usize), (3, 2), (2, 3)])?;
        // Most cases lead with a function built for the epilogue race.
        let rich = u.ratio(17, 20)?;
        let mut funcs = Vec::with_capacity(nf);
        for j in 0..nf {
            funcs.push(BigFunc::arb(u, j, nf, rich && j == 0)?);
        }
        let nd = pick(u, &[(4, 1usize), (4, 2), (2, 3), (1, 4)])?.max(nf);
        let mut drivers = Vec::with_capacity(nd);
        for k in 0..nd {
            let func = if k < nf {
                k as u8
            } else {
                u.int_in_range(0..=nf - 1)? as u8
            };
            let mode = pick(
                u,
                &[
                    (4, CallMode::Direct),
                    (2, CallMode::FuncValue),
                    (2, CallMode::Interface),
                    (1, CallMode::Deferred),
                ],
            )?;
            let workers = pick(u, &[(2, 0u8), (3, 1), (3, 2), (1, 3), (1, 4)])?;
            // Relative share for now; scaled to the target cost below. The
            // first driver calls the first function and gets more.
            let lo = if k == 0 { 5 } else { 1 };
            let iters = u.int_in_range(lo..=10u32)? * 10_000;
            drivers.push(Driver {
                func,
                mode,
                workers,
                iters,
            });
        }
        let mut c = BigstackCase { funcs, drivers };
        c.normalize();
        // Aim the case at a native cost of 35-90 ms: about 8-25 s under
        // single-step qemu-user, long enough for the preemption race.
        let target = u.int_in_range(35u64..=90)? * 1000;
        let cost = c.cost_us().max(1);
        for d in &mut c.drivers {
            d.iters = ((d.iters as u64 * target / cost) as u32).clamp(1, MAX_ITERS);
        }
        c.normalize();
        Ok(c)
    }

    /// Clamp every field into the range the renderer supports. Idempotent.
    pub(crate) fn normalize(&mut self) {
        if self.funcs.is_empty() {
            self.funcs.push(BigFunc {
                array_bytes: 70000,
                elem: Elem::Byte,
                shape: Shape::Func,
                leaf: false,
                hot: Hot::Return,
                rare_log2: 10,
                rare: Rare::TouchOne,
                recursion: 0,
                vary_depth: false,
                next: None,
            });
        }
        self.funcs.truncate(MAX_FUNCS);
        let nf = self.funcs.len();
        for (j, f) in self.funcs.iter_mut().enumerate() {
            f.array_bytes = f.array_bytes.clamp(MIN_ARRAY, MAX_ARRAY);
            f.rare_log2 = f.rare_log2.min(16);
            f.hot = match f.hot {
                Hot::Arith(n) => Hot::Arith(n.clamp(1, 8)),
                Hot::Spin(n) => Hot::Spin(n.clamp(1, 64)),
                h => h,
            };
            if let Rare::FillPart(n) = f.rare {
                f.rare = Rare::FillPart(n.clamp(1, f.len()));
            }
            f.recursion = f.recursion.min(MAX_RECURSION);
            if f.recursion == 0 {
                f.vary_depth = false;
            }
            if let Some(n) = f.next {
                if n as usize <= j || n as usize >= nf {
                    f.next = None;
                }
            }
            if f.leaf {
                f.recursion = 0;
                f.vary_depth = false;
                f.next = None;
                if matches!(f.rare, Rare::CopyGlobal | Rare::Helper) {
                    f.rare = Rare::TouchOne;
                }
            }
        }
        // At least one function is a //go:noinline declaration.
        if self.funcs.iter().all(|f| f.shape == Shape::ClosureVar) {
            self.funcs[0].shape = Shape::Func;
        }
        // Bound the stack one call chain can use (recursion times frames,
        // along the `next` links), shrinking recursion from the back.
        for j in (0..nf).rev() {
            loop {
                let s = self.chain_stack(j);
                if s <= MAX_CHAIN_STACK || self.funcs[j].recursion == 0 {
                    break;
                }
                self.funcs[j].recursion -= 1;
                if self.funcs[j].recursion == 0 {
                    self.funcs[j].vary_depth = false;
                }
            }
        }
        if self.drivers.is_empty() {
            self.drivers.push(Driver {
                func: 0,
                mode: CallMode::Direct,
                workers: 0,
                iters: 100_000,
            });
        }
        self.drivers.truncate(MAX_DRIVERS);
        for d in &mut self.drivers {
            if d.func as usize >= nf {
                d.func = 0;
            }
            d.workers = d.workers.min(MAX_WORKERS);
            d.iters = d.iters.clamp(1, MAX_ITERS);
        }
    }

    /// Worst-case large-frame stack of one call to function `j`.
    fn chain_stack(&self, j: usize) -> u64 {
        let f = &self.funcs[j];
        let own = (f.recursion as u64 + 1) * (f.array_bytes as u64 + 256);
        let next = match f.next {
            Some(n) if (n as usize) > j && (n as usize) < self.funcs.len() => {
                self.chain_stack(n as usize)
            }
            _ => 0,
        };
        own + next
    }

    /// Rough native cost of one call of function `j`, in picoseconds.
    fn call_cost_ps(&self, j: usize) -> u64 {
        let f = &self.funcs[j];
        let depth = if f.vary_depth {
            f.recursion as u64 / 2
        } else {
            f.recursion as u64
        };
        let hot = 3_000
            + match f.hot {
                Hot::Return => 0,
                Hot::Arith(n) => 500 * n as u64,
                Hot::Spin(n) => 1_000 * n as u64,
                Hot::SmallArray => 1_500,
            };
        let bytes = f.array_bytes as u64;
        let zero = bytes * 40; // ~25 bytes/ns for zeroing
        let rare = zero
            + match f.rare {
                Rare::TouchOne => 10_000,
                Rare::Fill => f.len() as u64 * 700,
                Rare::FillPart(n) => n as u64 * 700,
                Rare::CopyGlobal => bytes * 60,
                Rare::Helper => (f.len() as u64 / 509 + 1) * 2_000,
            };
        // Above 128 KiB newer compilers put the array on the heap: count
        // the GC cycles the allocation volume triggers (~4 MB heap goal,
        // a few ms a cycle under load).
        let rare = if f.array_bytes > HEAP_ARRAY {
            rare + bytes * 1_000
        } else {
            rare
        };
        let rare_share = 1u64 << f.rare_log2;
        let next = match f.next {
            Some(n) if (n as usize) > j && (n as usize) < self.funcs.len() => {
                self.call_cost_ps(n as usize)
            }
            _ => 0,
        };
        depth * 4_000 + hot + rare / rare_share + next
    }

    /// Rough native CPU cost of the whole case, in microseconds.
    pub(crate) fn cost_us(&self) -> u64 {
        let mut ps = 0u64;
        for d in &self.drivers {
            let j = (d.func as usize).min(self.funcs.len() - 1);
            let per = self.call_cost_ps(j)
                + match d.mode {
                    CallMode::Direct => 1_000,
                    CallMode::FuncValue | CallMode::Interface => 2_000,
                    CallMode::Deferred => 6_000,
                };
            ps += per * d.iters as u64 * (d.workers.max(1) as u64);
        }
        ps / 1_000_000
    }

    /// The symbol the static scan names function `j` by, in a program
    /// where this case has the identifier prefix `id`. None for a closure
    /// variable (its symbol is the compiler's `glob..funcN` numbering).
    pub fn symbol(&self, id: &str, j: usize) -> Option<String> {
        match self.funcs.get(j)?.shape {
            Shape::Func => Some(format!("main.{id}f{j}")),
            Shape::Method => Some(format!("main.(*{id}t{j}).call")),
            Shape::ClosureVar => None,
        }
    }

    /// The drivers whose call chain reaches a function in `windowed` (see
    /// [`BigstackCase::symbol`]), with the iterations of the others given
    /// to them (the case's cost stays about the same). None when no driver
    /// reaches one.
    pub(crate) fn focus(&self, id: &str, windowed: &BTreeSet<String>) -> Option<BigstackCase> {
        let reaches = |mut j: usize| {
            // `next` links point strictly forward, so this ends.
            loop {
                if self.symbol(id, j).is_some_and(|s| windowed.contains(&s)) {
                    return true;
                }
                match self.funcs[j].next {
                    Some(n) if (n as usize) > j && (n as usize) < self.funcs.len() => {
                        j = n as usize
                    }
                    _ => return false,
                }
            }
        };
        let mut c = self.clone();
        c.drivers
            .retain(|d| (d.func as usize) < self.funcs.len() && reaches(d.func as usize));
        if c.drivers.is_empty() {
            return None;
        }
        let (before, after) = (self.cost_us().max(1), c.cost_us().max(1));
        for d in &mut c.drivers {
            d.iters = (d.iters as u64 * before / after).clamp(1, MAX_ITERS as u64) as u32;
        }
        Some(c)
    }

    /// Scale the iteration counts down by `num/den`.
    pub(crate) fn scale(&mut self, num: u64, den: u64) {
        for d in &mut self.drivers {
            d.iters = ((d.iters as u64 * num / den) as u32).max(1);
        }
    }

    pub(crate) fn render(&self, cx: &CaseCtx, unit: &mut Unit) -> String {
        let id = &cx.id;
        unit.import("sync");
        let uses_iface = self.drivers.iter().any(|d| d.mode == CallMode::Interface);
        if uses_iface {
            let mut s = Src::new();
            s.open(format!("type {id}I interface {{"));
            s.line("call(int, int) int");
            s.close("}");
            unit.decl(s);
        }
        let mut closure_inits = Vec::new();
        for (j, f) in self.funcs.iter().enumerate() {
            self.render_func(id, j, f, unit, &mut closure_inits);
        }
        for (k, d) in self.drivers.iter().enumerate() {
            self.render_driver(id, k, d, unit);
        }

        // The run function: set up func values and interfaces, start the
        // workers, run the inline drivers, fold results in a fixed order.
        let mut s = Src::new();
        s.open(format!("func {id}Run() uint64 {{"));
        for init in closure_inits {
            for l in init.lines() {
                s.line(l);
            }
        }
        for (k, d) in self.drivers.iter().enumerate() {
            let f = &self.funcs[d.func as usize];
            let j = d.func;
            match d.mode {
                CallMode::FuncValue => {
                    let v = match f.shape {
                        Shape::Func => format!("{id}f{j}"),
                        Shape::Method => format!("{id}r{j}.call"),
                        Shape::ClosureVar => format!("{id}c{j}"),
                    };
                    s.line(format!("{id}v{k} = {v}"));
                }
                CallMode::Interface => {
                    let v = match f.shape {
                        Shape::Method => format!("{id}r{j}"),
                        _ => format!("{id}a{j}{{}}"),
                    };
                    s.line(format!("{id}i{k} = {v}"));
                }
                _ => {}
            }
        }
        let total: u32 = self.drivers.iter().map(|d| d.workers as u32).sum();
        if total > 0 {
            s.line(format!("res := make([]uint64, {total})"));
            s.line("var wg sync.WaitGroup");
            let mut off = 0u32;
            for (k, d) in self.drivers.iter().enumerate() {
                if d.workers == 0 {
                    continue;
                }
                s.open(format!("for w := 0; w < {}; w++ {{", d.workers));
                s.line("wg.Add(1)");
                s.open("go func(w int) {");
                s.line("defer wg.Done()");
                if off == 0 {
                    s.line(format!("res[w] = {id}d{k}(w)"));
                } else {
                    s.line(format!("res[{off}+w] = {id}d{k}(w)"));
                }
                s.close("}(w)");
                s.close("}");
                off += d.workers as u32;
            }
        }
        let mut inline = Vec::new();
        for (k, d) in self.drivers.iter().enumerate() {
            if d.workers == 0 {
                s.line(format!("r{k} := {id}d{k}(0)"));
                inline.push(k);
            }
        }
        if total > 0 {
            s.line("wg.Wait()");
        }
        s.line("var h uint64 = 1");
        for k in inline {
            s.line(format!("h = mix(h, r{k})"));
        }
        if total > 0 {
            s.open("for _, r := range res {");
            s.line("h = mix(h, r)");
            s.close("}");
        }
        s.line("return h");
        s.close("}");
        unit.decl(s);
        format!("{id}Run")
    }

    /// The canonical call of function `j` with argument expressions.
    fn call(id: &str, j: usize, f: &BigFunc, i: &str, d: &str) -> String {
        match f.shape {
            Shape::Func => format!("{id}f{j}({i}, {d})"),
            Shape::Method => format!("{id}r{j}.call({i}, {d})"),
            Shape::ClosureVar => format!("{id}c{j}({i}, {d})"),
        }
    }

    /// The depth argument for a call of function `j` with iteration `i`.
    fn depth_arg(f: &BigFunc, i: &str) -> String {
        if f.vary_depth {
            format!("{i}%{}", f.recursion as u32 + 1)
        } else {
            f.recursion.to_string()
        }
    }

    fn render_func(
        &self,
        id: &str,
        j: usize,
        f: &BigFunc,
        unit: &mut Unit,
        closure_inits: &mut Vec<String>,
    ) {
        let t = f.elem.go();
        let n = f.len();
        let m = f.mask();
        let needs_global_ptr = f.elem == Elem::Ptr;
        if needs_global_ptr {
            let mut s = Src::new();
            s.line(format!("var {id}p{j} int"));
            unit.decl(s);
        }
        if f.rare == Rare::CopyGlobal {
            let mut s = Src::new();
            s.line(format!("var {id}g{j} [{n}]{t}"));
            unit.decl(s);
        }
        if !f.leaf {
            // A tiny helper taking a pointer into the big frame: every
            // non-leaf function calls it on its rare path.
            let mut s = Src::new();
            s.line("//go:noinline");
            s.open(format!("func {id}h{j}(p *{t}) int {{"));
            if f.elem == Elem::Ptr {
                s.open("if *p != nil {");
                s.line("return **p");
                s.close("}");
                s.line("return 0");
            } else {
                s.line("return int(*p)");
            }
            s.close("}");
            unit.decl(s);
        }
        if f.rare == Rare::Helper {
            let mut s = Src::new();
            s.line("//go:noinline");
            s.open(format!("func {id}s{j}(p *[{n}]{t}) int {{"));
            s.line("s := 0");
            s.open("for k := 0; k < len(p); k += 509 {");
            if f.elem == Elem::Ptr {
                s.open("if p[k] != nil {");
                s.line("s += *p[k]");
                s.close("}");
            } else {
                s.line("s += int(p[k])");
            }
            s.close("}");
            s.line("return s");
            s.close("}");
            unit.decl(s);
        }

        // The body, shared by all shapes.
        let mut b = Src::new();
        let self_call = Self::call(id, j, f, "i", "d-1");
        if f.recursion > 0 {
            b.open("if d > 0 {");
            b.line(format!("return {self_call} + 1"));
            b.close("}");
        }
        let next_call = f.next.map(|nx| {
            let g = &self.funcs[nx as usize];
            let dn = Self::depth_arg(g, "i");
            Self::call(id, nx as usize, g, "i", &dn)
        });
        let k_const = j as u32 * 2 + 3;
        let recv_term = if f.shape == Shape::Method {
            " + t.k"
        } else {
            ""
        };
        if f.rare_log2 > 0 {
            let rm = (1u32 << f.rare_log2) - 1;
            b.open(format!("if i&{rm} != 0 {{"));
            match f.hot {
                Hot::Return => {
                    b.line(format!("x := i ^ {k_const}{recv_term}"));
                }
                Hot::Arith(cnt) => {
                    b.line(format!("x := i{recv_term}"));
                    for q in 0..cnt {
                        if q % 2 == 0 {
                            b.line(format!(
                                "x = (x*{} + {}) & {WORD_MASK}",
                                31 + 2 * q as u32,
                                k_const
                            ));
                        } else {
                            b.line("x ^= x >> 7");
                        }
                    }
                }
                Hot::Spin(cnt) => {
                    b.line(format!("x := i{recv_term}"));
                    b.open(format!("for k := 0; k < {cnt}; k++ {{"));
                    b.line(format!("x = (x*31 + k) & {WORD_MASK}"));
                    b.close("}");
                }
                Hot::SmallArray => {
                    b.line("var sa [8]int");
                    b.line(format!("sa[i&7] = i{recv_term}"));
                    b.line("v := i >> 3");
                    b.line(format!("x := sa[v&7] + {k_const}"));
                }
            }
            if let Some(c) = &next_call {
                b.line(format!("x += {c}"));
            }
            b.line(format!("return x & {WORD_MASK}"));
            b.close("}");
        }
        // Rare path: the large array.
        b.line(format!("var a [{n}]{t}"));
        let val = |e: &str| -> String {
            if f.elem == Elem::Ptr {
                format!("&{id}p{j}")
            } else {
                format!("{t}({e})")
            }
        };
        match f.rare {
            Rare::TouchOne => {
                b.line(format!("a[i&{m}] = {}", val("i")));
            }
            Rare::Fill => {
                b.open("for k := range a {");
                b.line(format!("a[k] = {}", val("k ^ i")));
                b.close("}");
            }
            Rare::FillPart(cnt) => {
                b.open(format!("for k := 0; k < {cnt}; k++ {{"));
                b.line(format!("a[k] = {}", val("k + i")));
                b.close("}");
            }
            Rare::CopyGlobal => {
                b.line(format!("a = {id}g{j}"));
                b.line(format!("a[i&{m}] = {}", val("i")));
            }
            Rare::Helper => {
                b.line(format!("a[i&{m}] = {}", val("i")));
            }
        }
        b.line("r := i >> 1");
        if f.elem == Elem::Ptr {
            b.line(format!("x := {k_const}"));
            b.open(format!("if q := a[r&{m}]; q != nil {{"));
            b.line("x += *q");
            b.close("}");
        } else {
            b.line(format!("x := int(a[r&{m}])"));
        }
        if f.rare == Rare::Helper {
            b.line(format!("x += {id}s{j}(&a)"));
        }
        if !f.leaf {
            b.line("r = i * 3");
            b.line(format!("x += {id}h{j}(&a[r&{m}])"));
        }
        if let Some(c) = &next_call {
            b.line(format!("x += {c}"));
        }
        b.line(format!("return x & {WORD_MASK}"));
        let body = b.finish();

        match f.shape {
            Shape::Func => {
                let mut s = Src::new();
                s.line("//go:noinline");
                s.open(format!("func {id}f{j}(i, d int) int {{"));
                for l in body.lines() {
                    s.line(l);
                }
                s.close("}");
                unit.decl(s);
            }
            Shape::Method => {
                let mut s = Src::new();
                s.open(format!("type {id}t{j} struct {{"));
                s.line("k int");
                s.close("}");
                unit.decl(s);
                let mut s = Src::new();
                s.line(format!("var {id}r{j} = &{id}t{j}{{k: {}}}", j + 1));
                unit.decl(s);
                let mut s = Src::new();
                s.line("//go:noinline");
                s.open(format!("func (t *{id}t{j}) call(i, d int) int {{"));
                for l in body.lines() {
                    s.line(l);
                }
                s.close("}");
                unit.decl(s);
            }
            Shape::ClosureVar => {
                let mut s = Src::new();
                s.line(format!("var {id}c{j} func(int, int) int"));
                unit.decl(s);
                let mut s = Src::new();
                s.open(format!("{id}c{j} = func(i, d int) int {{"));
                for l in body.lines() {
                    s.line(l);
                }
                s.close("}");
                closure_inits.push(s.finish());
            }
        }
        // Adapter type for interface calls of non-method shapes.
        let iface_here = self
            .drivers
            .iter()
            .any(|d| d.mode == CallMode::Interface && d.func as usize == j);
        if iface_here && f.shape != Shape::Method {
            let mut s = Src::new();
            s.line(format!("type {id}a{j} struct{{}}"));
            unit.decl(s);
            let mut s = Src::new();
            s.open(format!("func ({id}a{j}) call(i, d int) int {{"));
            s.line(format!("return {}", Self::call(id, j, f, "i", "d")));
            s.close("}");
            unit.decl(s);
        }
    }

    fn render_driver(&self, id: &str, k: usize, d: &Driver, unit: &mut Unit) {
        let j = d.func as usize;
        let f = &self.funcs[j];
        let dep = Self::depth_arg(f, "n");
        let call = match d.mode {
            CallMode::Direct => Self::call(id, j, f, "n", &dep),
            CallMode::FuncValue => format!("{id}v{k}(n, {dep})"),
            CallMode::Interface => format!("{id}i{k}.call(n, {dep})"),
            CallMode::Deferred => format!("{id}e{k}(n, {dep})"),
        };
        match d.mode {
            CallMode::FuncValue => {
                let mut s = Src::new();
                s.line(format!("var {id}v{k} func(int, int) int"));
                unit.decl(s);
            }
            CallMode::Interface => {
                let mut s = Src::new();
                s.line(format!("var {id}i{k} {id}I"));
                unit.decl(s);
            }
            CallMode::Deferred => {
                let mut s = Src::new();
                s.open(format!("func {id}e{k}(n, d int) (r int) {{"));
                s.open("defer func() {");
                s.line(format!("r = {}", Self::call(id, j, f, "n", "d")));
                s.close("}()");
                s.line("return 0");
                s.close("}");
                unit.decl(s);
            }
            CallMode::Direct => {}
        }
        let mut s = Src::new();
        s.open(format!("func {id}d{k}(w int) uint64 {{"));
        s.line("var s uint64");
        s.line(format!("base := w * {}", d.iters));
        s.open(format!("for i := 0; i < {}; i++ {{", d.iters));
        s.line("n := base + i");
        s.line(format!("s = s*31 + uint64({call})"));
        s.close("}");
        s.line("return s");
        s.close("}");
        unit.decl(s);
    }

    pub(crate) fn weight(&self) -> u64 {
        let mut w = 0u64;
        for f in &self.funcs {
            w += 10
                + f.array_bytes as u64 / 4096
                + f.recursion as u64
                + f.next.is_some() as u64
                + !matches!(f.hot, Hot::Return) as u64
                + !matches!(f.rare, Rare::TouchOne) as u64
                + (f.shape != Shape::Func) as u64
                + (f.elem != Elem::Byte) as u64
                + f.vary_depth as u64;
        }
        for d in &self.drivers {
            w += 10
                + d.workers as u64
                + (d.mode != CallMode::Direct) as u64
                + (d.iters as u64).ilog2() as u64;
        }
        w
    }

    pub(crate) fn shrink(&self) -> Vec<BigstackCase> {
        let mut out = Vec::new();
        // Drop a driver.
        if self.drivers.len() > 1 {
            for k in 0..self.drivers.len() {
                let mut c = self.clone();
                c.drivers.remove(k);
                out.push(c);
            }
        }
        // Drop an uncalled function (the last one, if nothing refers to it).
        let last = self.funcs.len() - 1;
        if last > 0
            && self.drivers.iter().all(|d| d.func as usize != last)
            && self.funcs.iter().all(|f| f.next != Some(last as u8))
        {
            let mut c = self.clone();
            c.funcs.pop();
            out.push(c);
        }
        for k in 0..self.drivers.len() {
            let d = &self.drivers[k];
            if d.workers > 0 {
                let mut c = self.clone();
                c.drivers[k].workers -= 1;
                out.push(c);
            }
            if d.mode != CallMode::Direct {
                let mut c = self.clone();
                c.drivers[k].mode = CallMode::Direct;
                out.push(c);
            }
            if d.iters > 1 {
                let mut c = self.clone();
                c.drivers[k].iters = d.iters / 2;
                out.push(c);
            }
        }
        for j in 0..self.funcs.len() {
            let f = &self.funcs[j];
            let mut push = |g: BigFunc| {
                let mut c = self.clone();
                c.funcs[j] = g;
                out.push(c);
            };
            if f.recursion > 0 {
                let mut g = f.clone();
                g.recursion /= 2;
                if g.recursion == 0 {
                    g.vary_depth = false;
                }
                push(g);
            }
            if f.vary_depth {
                let mut g = f.clone();
                g.vary_depth = false;
                push(g);
            }
            if f.next.is_some() {
                let mut g = f.clone();
                g.next = None;
                push(g);
            }
            if f.hot != Hot::Return {
                let mut g = f.clone();
                g.hot = Hot::Return;
                push(g);
            }
            if f.rare != Rare::TouchOne {
                let mut g = f.clone();
                g.rare = Rare::TouchOne;
                push(g);
            }
            if f.shape != Shape::Func {
                let mut g = f.clone();
                g.shape = Shape::Func;
                push(g);
            }
            if f.elem != Elem::Byte {
                let mut g = f.clone();
                g.elem = Elem::Byte;
                push(g);
            }
            // Smaller frames: keep the low 12 bits (what makes the epilogue
            // split), drop whole pages.
            if f.array_bytes >= 2 * 4096 + MIN_ARRAY {
                let mut g = f.clone();
                let pages = g.array_bytes / 4096;
                g.array_bytes = (pages / 2) * 4096 + g.array_bytes % 4096;
                if g.array_bytes >= MIN_ARRAY {
                    push(g);
                }
            }
        }
        for c in &mut out {
            c.normalize();
        }
        out
    }
}
