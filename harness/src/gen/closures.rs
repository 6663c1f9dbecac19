//! `closures`: nested closures several levels deep, capturing by reference
//! (mutated) and by value (read-only, small), escaping or not, called from
//! goroutines and deferred calls, capturing large arrays and slices.

use super::pick;
use super::src::{Src, Unit};
use super::{CaseCtx, WORD_MASK};
use arbitrary::{Result, Unstructured};
use serde::{Deserialize, Serialize};

/// What a captured variable is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapKind {
    Int,
    /// `[n]int64`, n a power of two.
    Array(u32),
    /// `[]int64` of length n, a power of two.
    Slice(u32),
    /// A small struct.
    Struct,
    /// A `*int`.
    Ptr,
}

/// One captured variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub kind: CapKind,
    /// Nesting level it is declared at (0: the outermost function body).
    pub level: u8,
    /// The innermost closure writes it (so it is captured by reference).
    pub mutated: bool,
}

/// What happens to the outermost closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escape {
    /// Built and called in the same function; nothing escapes.
    Local,
    /// Returned by a factory and called by the caller.
    Returned,
    /// Several built and kept in a slice, called round-robin.
    Stored,
    /// Called from a deferred closure each iteration.
    Deferred,
    /// Handed to a new goroutine that calls it.
    Goroutine,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureCase {
    /// Nesting depth of closures (1 = a single closure).
    pub depth: u8,
    /// How many times each level calls the next one (1 or 2).
    pub fanout: Vec<u8>,
    pub captures: Vec<Capture>,
    pub escape: Escape,
    /// Extra goroutines each running an independent copy.
    pub workers: u8,
    pub iters: u32,
}

pub const MAX_DEPTH: u8 = 5;
pub const MAX_CAPTURES: usize = 6;
pub const MAX_ITERS: u32 = 200_000;
pub const MAX_ARRAY: u32 = 8192;

impl ClosureCase {
    pub(crate) fn arb(u: &mut Unstructured) -> Result<ClosureCase> {
        let depth = u.int_in_range(1..=MAX_DEPTH)?;
        let mut fanout = Vec::new();
        for _ in 1..depth {
            fanout.push(pick(u, &[(2, 1u8), (1, 2)])?);
        }
        let nc = u.int_in_range(1..=MAX_CAPTURES)?;
        let mut captures = Vec::new();
        for _ in 0..nc {
            let kind = match pick(u, &[(4, 0u8), (3, 1), (2, 2), (1, 3), (1, 4)])? {
                0 => CapKind::Int,
                1 => CapKind::Array(1 << u.int_in_range(2..=13)?),
                2 => CapKind::Slice(1 << u.int_in_range(2..=12)?),
                3 => CapKind::Struct,
                _ => CapKind::Ptr,
            };
            let level = u.int_in_range(0..=depth - 1)?;
            let mutated = u.ratio(1, 2)?;
            captures.push(Capture {
                kind,
                level,
                mutated,
            });
        }
        let escape = pick(
            u,
            &[
                (3, Escape::Local),
                (2, Escape::Returned),
                (2, Escape::Stored),
                (2, Escape::Deferred),
                (2, Escape::Goroutine),
            ],
        )?;
        let workers = pick(u, &[(3, 0u8), (2, 1), (2, 2), (1, 4)])?;
        let iters = u.int_in_range(1u32..=40)? * 1000;
        let mut c = ClosureCase {
            depth,
            fanout,
            captures,
            escape,
            workers,
            iters,
        };
        c.normalize();
        Ok(c)
    }

    pub(crate) fn normalize(&mut self) {
        self.depth = self.depth.clamp(1, MAX_DEPTH);
        self.fanout.resize(self.depth as usize - 1, 1);
        for f in &mut self.fanout {
            *f = (*f).clamp(1, 2);
        }
        if self.captures.is_empty() {
            self.captures.push(Capture {
                kind: CapKind::Int,
                level: 0,
                mutated: true,
            });
        }
        self.captures.truncate(MAX_CAPTURES);
        for c in &mut self.captures {
            c.level = c.level.min(self.depth - 1);
            c.kind = match c.kind {
                CapKind::Array(n) => CapKind::Array(pow2_clamp(n, 4, MAX_ARRAY)),
                CapKind::Slice(n) => CapKind::Slice(pow2_clamp(n, 4, MAX_ARRAY)),
                k => k,
            };
        }
        self.workers = self.workers.min(4);
        self.iters = self.iters.clamp(1, MAX_ITERS);
    }

    /// Innermost calls per iteration.
    fn calls_per_iter(&self) -> u64 {
        self.fanout.iter().map(|&f| f as u64).product::<u64>()
    }

    pub(crate) fn cost_us(&self) -> u64 {
        let per_call_ps = 2_000 + self.captures.len() as u64 * 1_500 + self.depth as u64 * 2_000;
        let setup_ps: u64 = match self.escape {
            Escape::Local => 0,
            Escape::Deferred => 20_000,
            _ => 0,
        };
        let build_ps: u64 = self
            .captures
            .iter()
            .map(|c| match c.kind {
                CapKind::Array(n) | CapKind::Slice(n) => n as u64 * 300,
                _ => 100,
            })
            .sum::<u64>()
            * match self.escape {
                Escape::Stored => 4,
                _ => 1,
            };
        let per_iter = per_call_ps * self.calls_per_iter() + setup_ps;
        let runs = self.workers as u64 + 1;
        (per_iter * self.iters as u64 + build_ps * 8) * runs / 1_000_000
    }

    pub(crate) fn scale(&mut self, num: u64, den: u64) {
        self.iters = ((self.iters as u64 * num / den) as u32).max(1);
    }

    pub(crate) fn weight(&self) -> u64 {
        10 + self.depth as u64 * 3
            + self.fanout.iter().map(|&f| f as u64 - 1).sum::<u64>()
            + self
                .captures
                .iter()
                .map(|c| {
                    3 + c.level as u64
                        + c.mutated as u64
                        + match c.kind {
                            CapKind::Int => 0,
                            CapKind::Array(n) | CapKind::Slice(n) => 1 + n.ilog2() as u64,
                            _ => 1,
                        }
                })
                .sum::<u64>()
            + (self.escape != Escape::Local) as u64
            + self.workers as u64
            + (self.iters as u64).ilog2() as u64
    }

    pub(crate) fn shrink(&self) -> Vec<ClosureCase> {
        let mut out = Vec::new();
        if self.depth > 1 {
            let mut c = self.clone();
            c.depth -= 1;
            out.push(c);
        }
        for (k, &f) in self.fanout.iter().enumerate() {
            if f > 1 {
                let mut c = self.clone();
                c.fanout[k] = 1;
                out.push(c);
            }
        }
        if self.captures.len() > 1 {
            for k in 0..self.captures.len() {
                let mut c = self.clone();
                c.captures.remove(k);
                out.push(c);
            }
        }
        for k in 0..self.captures.len() {
            let cap = &self.captures[k];
            match cap.kind {
                CapKind::Array(n) | CapKind::Slice(n) if n > 4 => {
                    let mut c = self.clone();
                    c.captures[k].kind = match cap.kind {
                        CapKind::Array(_) => CapKind::Array(n / 2),
                        _ => CapKind::Slice(n / 2),
                    };
                    out.push(c);
                }
                _ => {}
            }
            if cap.kind != CapKind::Int {
                let mut c = self.clone();
                c.captures[k].kind = CapKind::Int;
                out.push(c);
            }
            if cap.level > 0 {
                let mut c = self.clone();
                c.captures[k].level = 0;
                out.push(c);
            }
            if cap.mutated {
                let mut c = self.clone();
                c.captures[k].mutated = false;
                out.push(c);
            }
        }
        if self.escape != Escape::Local {
            let mut c = self.clone();
            c.escape = Escape::Local;
            out.push(c);
        }
        if self.workers > 0 {
            let mut c = self.clone();
            c.workers -= 1;
            out.push(c);
        }
        if self.iters > 1 {
            let mut c = self.clone();
            c.iters /= 2;
            out.push(c);
        }
        for c in &mut out {
            c.normalize();
        }
        out
    }

    /// Declarations of the captures at `level`, indented into `s`.
    fn declare(&self, id: &str, level: u8, s: &mut Src) {
        for (k, c) in self.captures.iter().enumerate() {
            if c.level != level {
                continue;
            }
            let seed = if level == 0 { "seed" } else { "x" };
            match c.kind {
                CapKind::Int => s.line(format!("c{k} := {seed} + {k}")),
                CapKind::Array(n) => {
                    s.line(format!("var c{k} [{n}]int64"));
                    s.line(format!("c{k}[{}] = int64({seed})", k as u32 % n));
                }
                CapKind::Slice(n) => {
                    s.line(format!("c{k} := make([]int64, {n})"));
                    s.line(format!("c{k}[{}] = int64({seed})", k as u32 % n));
                }
                CapKind::Struct => s.line(format!("c{k} := {id}S{{n: {seed}, m: {k}}}")),
                CapKind::Ptr => {
                    s.line(format!("c{k} := new(int)"));
                    s.line(format!("*c{k} = {seed}"));
                }
            }
        }
    }

    /// The innermost closure body (parameter `y`), returning an int.
    fn innermost(&self, s: &mut Src) {
        s.line("v := y");
        for (k, c) in self.captures.iter().enumerate() {
            match (c.kind, c.mutated) {
                (CapKind::Int, true) => {
                    s.line(format!("c{k} = (c{k} + y) & {WORD_MASK}"));
                    s.line(format!("v ^= c{k}"));
                }
                (CapKind::Int, false) => s.line(format!("v += c{k}")),
                (CapKind::Array(n), m) | (CapKind::Slice(n), m) => {
                    let mask = n - 1;
                    s.line(format!("j{k} := y & {mask}"));
                    if m {
                        s.line(format!(
                            "c{k}[j{k}] = (c{k}[j{k}] + int64(v)) & {WORD_MASK}"
                        ));
                    }
                    s.line(format!("v += int(c{k}[j{k}])"));
                }
                (CapKind::Struct, true) => {
                    s.line(format!("c{k}.n = (c{k}.n + y) & {WORD_MASK}"));
                    s.line(format!("v ^= c{k}.n + c{k}.m"));
                }
                (CapKind::Struct, false) => s.line(format!("v += c{k}.n ^ c{k}.m")),
                (CapKind::Ptr, true) => {
                    s.line(format!("*c{k} = (*c{k} + y) & {WORD_MASK}"));
                    s.line(format!("v ^= *c{k}"));
                }
                (CapKind::Ptr, false) => s.line(format!("v += *c{k}")),
            }
        }
        s.line(format!("return v & {WORD_MASK}"));
    }

    /// Emit `f{level}` (a closure of one int) into `s`, recursively.
    fn closure_level(&self, id: &str, level: u8, s: &mut Src) {
        // f{level} is declared in the body of level-1.
        s.open(format!("f{level} := func(x int) int {{"));
        if level == self.depth {
            s.line("y := x");
            self.innermost(s);
        } else {
            self.declare(id, level, s);
            self.closure_level(id, level + 1, s);
            let fan = self.fanout[level as usize - 1];
            s.line(format!("r := f{}(x + 1)", level + 1));
            if fan > 1 {
                s.line(format!("r ^= f{}(x + 2)", level + 1));
            }
            s.line("return r");
        }
        s.close("}");
    }

    /// The fold of every captured level-0 variable into `h` (after the
    /// loop), so writes through references are observable.
    fn fold_level0(&self, s: &mut Src) {
        for (k, c) in self.captures.iter().enumerate() {
            if c.level != 0 {
                continue;
            }
            match c.kind {
                CapKind::Int => s.line(format!("h = mix(h, uint64(c{k}))")),
                CapKind::Array(n) | CapKind::Slice(n) => {
                    s.line(format!("h = mix(h, uint64(c{k}[{}]))", k as u32 % n));
                }
                CapKind::Struct => s.line(format!("h = mix(h, uint64(c{k}.n))")),
                CapKind::Ptr => s.line(format!("h = mix(h, uint64(*c{k}))")),
            }
        }
    }

    pub(crate) fn render(&self, cx: &CaseCtx, unit: &mut Unit) -> String {
        let id = &cx.id;
        if self.captures.iter().any(|c| c.kind == CapKind::Struct) {
            let mut s = Src::new();
            s.open(format!("type {id}S struct {{"));
            s.line("n int");
            s.line("m int");
            s.close("}");
            unit.decl(s);
        }
        let iters = self.iters;
        // The body that builds f1 from captures at level 0 (the depth-1
        // closure is f1; depth counts closure levels).
        let mut build = Src::new();
        self.declare(id, 0, &mut build);
        self.closure_level(id, 1, &mut build);
        let build = build.finish();

        match self.escape {
            Escape::Local => {
                let mut s = Src::new();
                s.open(format!("func {id}run(seed int) uint64 {{"));
                for l in build.lines() {
                    s.line(l);
                }
                s.line("var h uint64");
                s.open(format!("for i := 0; i < {iters}; i++ {{"));
                s.line("h = h*31 + uint64(f1(seed+i))");
                s.close("}");
                self.fold_level0(&mut s);
                s.line("return h");
                s.close("}");
                unit.decl(s);
            }
            Escape::Returned | Escape::Stored | Escape::Deferred | Escape::Goroutine => {
                // A factory returning f1 plus a closure reading the level-0
                // captures afterwards.
                let mut s = Src::new();
                s.open(format!(
                    "func {id}build(seed int) (func(int) int, func() uint64) {{"
                ));
                for l in build.lines() {
                    s.line(l);
                }
                s.open("fold := func() uint64 {");
                s.line("var h uint64");
                self.fold_level0(&mut s);
                s.line("return h");
                s.close("}");
                s.line("return f1, fold");
                s.close("}");
                unit.decl(s);

                if self.escape == Escape::Deferred {
                    let mut s = Src::new();
                    s.open(format!("func {id}defer(f func(int) int, x int) (r int) {{"));
                    s.open("defer func() {");
                    s.line("r = f(x)");
                    s.close("}()");
                    s.line("return -1");
                    s.close("}");
                    unit.decl(s);
                }

                let mut s = Src::new();
                s.open(format!("func {id}run(seed int) uint64 {{"));
                s.line("var h uint64");
                match self.escape {
                    Escape::Returned => {
                        s.line(format!("f, fold := {id}build(seed)"));
                        s.open(format!("for i := 0; i < {iters}; i++ {{"));
                        s.line("h = h*31 + uint64(f(seed+i))");
                        s.close("}");
                        s.line("h = mix(h, fold())");
                    }
                    Escape::Stored => {
                        s.line("fs := make([]func(int) int, 4)");
                        s.line("folds := make([]func() uint64, 4)");
                        s.open("for k := range fs {");
                        s.line(format!("fs[k], folds[k] = {id}build(seed + k)"));
                        s.close("}");
                        s.open(format!("for i := 0; i < {iters}; i++ {{"));
                        s.line("h = h*31 + uint64(fs[i&3](seed+i))");
                        s.close("}");
                        s.open("for _, fold := range folds {");
                        s.line("h = mix(h, fold())");
                        s.close("}");
                    }
                    Escape::Deferred => {
                        s.line(format!("f, fold := {id}build(seed)"));
                        s.open(format!("for i := 0; i < {iters}; i++ {{"));
                        s.line(format!("h = h*31 + uint64({id}defer(f, seed+i))"));
                        s.close("}");
                        s.line("h = mix(h, fold())");
                    }
                    _ => {
                        unit.import("sync");
                        s.line(format!("f, fold := {id}build(seed)"));
                        s.line("var r uint64");
                        s.line("var wg sync.WaitGroup");
                        s.line("wg.Add(1)");
                        s.open("go func(g func(int) int) {");
                        s.line("defer wg.Done()");
                        s.open(format!("for i := 0; i < {iters}; i++ {{"));
                        s.line("r = r*31 + uint64(g(seed+i))");
                        s.close("}");
                        s.close("}(f)");
                        s.line("wg.Wait()");
                        s.line("h = mix(r, fold())");
                    }
                }
                s.line("return h");
                s.close("}");
                unit.decl(s);
            }
        }

        let mut s = Src::new();
        s.open(format!("func {id}Run() uint64 {{"));
        if self.workers > 0 {
            unit.import("sync");
            s.line(format!("res := make([]uint64, {})", self.workers));
            s.line("var wg sync.WaitGroup");
            s.open(format!("for w := 0; w < {}; w++ {{", self.workers));
            s.line("wg.Add(1)");
            s.open("go func(w int) {");
            s.line("defer wg.Done()");
            s.line(format!("res[w] = {id}run(w*1000 + 1)"));
            s.close("}(w)");
            s.close("}");
            s.line(format!("h := {id}run(0)"));
            s.line("wg.Wait()");
            s.open("for _, r := range res {");
            s.line("h = mix(h, r)");
            s.close("}");
            s.line("return h");
        } else {
            s.line(format!("return {id}run(0)"));
        }
        s.close("}");
        unit.decl(s);
        format!("{id}Run")
    }
}

fn pow2_clamp(n: u32, lo: u32, hi: u32) -> u32 {
    let n = n.clamp(lo, hi);
    1 << (31 - n.leading_zeros())
}
