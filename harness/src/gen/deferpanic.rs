//! `deferpanic`: defer chains, panics inside deferred calls, recover at
//! different depths, re-panics, runtime.Goexit, defers in loops and in
//! closures, panics in goroutines that recover.
//!
//! Every panic is recovered: the outermost level always recovers and never
//! re-panics. The checksum only uses panic values the program made itself
//! (runtime errors all map to one constant, never to their message).

use super::pick;
use super::src::{Src, Unit};
use super::CaseCtx;
use arbitrary::{Result, Unstructured};
use serde::{Deserialize, Serialize};

/// What the innermost level panics with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanicValue {
    Int,
    Str,
    /// A value of a program-defined error type.
    Err,
    /// Runtime error: index out of range.
    Index,
    /// Runtime error: assignment to entry in nil map.
    NilMap,
    /// Runtime error: integer divide by zero.
    DivZero,
    /// Runtime error: nil pointer dereference (a SIGSEGV turned into a panic).
    NilDeref,
    /// Runtime error: failed type assertion.
    TypeAssert,
}

/// One function in the call chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Defers registered in a loop.
    pub loop_defers: u8,
    /// Straight-line defers of a named function (open-coded when possible).
    pub open_defers: u8,
    /// A deferred closure that recovers.
    pub recover: bool,
    /// ... and panics again with a new value (caught further out).
    pub repanic: bool,
    /// A deferred closure that panics for some inputs.
    pub panic_in_defer: bool,
    /// A closure called at this level that has its own defer.
    pub closure_defer: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferCase {
    pub levels: Vec<Level>,
    pub value: PanicValue,
    /// The innermost level panics when `x % panic_mod == 0`.
    pub panic_mod: u8,
    /// Goroutines running the chain too, each recovering its own panics.
    pub workers: u8,
    /// Workers end with runtime.Goexit (results written by a deferred call).
    pub goexit: bool,
    pub iters: u32,
}

pub const MAX_LEVELS: usize = 6;
pub const MAX_ITERS: u32 = 20_000;

impl DeferCase {
    pub(crate) fn arb(u: &mut Unstructured) -> Result<DeferCase> {
        let n = u.int_in_range(1..=MAX_LEVELS)?;
        let mut levels = Vec::with_capacity(n);
        for _ in 0..n {
            let recover = u.ratio(1, 3)?;
            levels.push(Level {
                loop_defers: pick(u, &[(3, 0u8), (2, 1), (2, 3), (1, 9)])?,
                open_defers: pick(u, &[(2, 0u8), (3, 1), (2, 2), (1, 3)])?,
                recover,
                repanic: recover && u.ratio(1, 3)?,
                panic_in_defer: u.ratio(1, 4)?,
                closure_defer: u.ratio(1, 3)?,
            });
        }
        let value = pick(
            u,
            &[
                (3, PanicValue::Int),
                (2, PanicValue::Str),
                (2, PanicValue::Err),
                (1, PanicValue::Index),
                (1, PanicValue::NilMap),
                (1, PanicValue::DivZero),
                (1, PanicValue::NilDeref),
                (1, PanicValue::TypeAssert),
            ],
        )?;
        let panic_mod = u.int_in_range(1..=7)?;
        let workers = pick(u, &[(3, 0u8), (2, 1), (2, 2), (1, 4)])?;
        let goexit = workers > 0 && u.ratio(1, 2)?;
        let iters = u.int_in_range(1u32..=40)? * 100;
        let mut c = DeferCase {
            levels,
            value,
            panic_mod,
            workers,
            goexit,
            iters,
        };
        c.normalize();
        Ok(c)
    }

    pub(crate) fn normalize(&mut self) {
        if self.levels.is_empty() {
            self.levels.push(Level {
                loop_defers: 0,
                open_defers: 0,
                recover: true,
                repanic: false,
                panic_in_defer: false,
                closure_defer: false,
            });
        }
        self.levels.truncate(MAX_LEVELS);
        for l in &mut self.levels {
            l.loop_defers = l.loop_defers.min(9);
            l.open_defers = l.open_defers.min(4);
            if !l.recover {
                l.repanic = false;
            }
        }
        // The outermost level always recovers for good.
        self.levels[0].recover = true;
        self.levels[0].repanic = false;
        self.panic_mod = self.panic_mod.clamp(1, 16);
        self.workers = self.workers.min(4);
        if self.workers == 0 {
            self.goexit = false;
        }
        self.iters = self.iters.clamp(1, MAX_ITERS);
    }

    pub(crate) fn cost_us(&self) -> u64 {
        let defers: u64 = self
            .levels
            .iter()
            .map(|l| {
                l.loop_defers as u64 * 40
                    + l.open_defers as u64 * 5
                    + l.recover as u64 * 20
                    + l.panic_in_defer as u64 * 20
                    + l.closure_defer as u64 * 30
                    + 10
            })
            .sum();
        let panic_ns = 1_500 * self.levels.len() as u64 / self.panic_mod as u64;
        let per_iter_ns = defers + panic_ns;
        per_iter_ns * self.iters as u64 * (self.workers as u64 + 1) / 1_000
    }

    pub(crate) fn scale(&mut self, num: u64, den: u64) {
        self.iters = ((self.iters as u64 * num / den) as u32).max(1);
    }

    pub(crate) fn weight(&self) -> u64 {
        10 + self
            .levels
            .iter()
            .map(|l| {
                5 + l.loop_defers as u64
                    + l.open_defers as u64
                    + l.recover as u64
                    + l.repanic as u64
                    + l.panic_in_defer as u64
                    + l.closure_defer as u64
            })
            .sum::<u64>()
            + (self.value != PanicValue::Int) as u64
            + (self.panic_mod > 1) as u64
            + self.workers as u64
            + self.goexit as u64
            + (self.iters as u64).ilog2() as u64
    }

    pub(crate) fn shrink(&self) -> Vec<DeferCase> {
        let mut out = Vec::new();
        if self.levels.len() > 1 {
            for k in 0..self.levels.len() {
                let mut c = self.clone();
                c.levels.remove(k);
                out.push(c);
            }
        }
        for k in 0..self.levels.len() {
            let l = &self.levels[k];
            let mut push = |m: Level| {
                let mut c = self.clone();
                c.levels[k] = m;
                out.push(c);
            };
            if l.loop_defers > 0 {
                push(Level {
                    loop_defers: l.loop_defers / 2,
                    ..l.clone()
                });
            }
            if l.open_defers > 0 {
                push(Level {
                    open_defers: l.open_defers - 1,
                    ..l.clone()
                });
            }
            if l.recover && k > 0 {
                push(Level {
                    recover: false,
                    repanic: false,
                    ..l.clone()
                });
            }
            if l.repanic {
                push(Level {
                    repanic: false,
                    ..l.clone()
                });
            }
            if l.panic_in_defer {
                push(Level {
                    panic_in_defer: false,
                    ..l.clone()
                });
            }
            if l.closure_defer {
                push(Level {
                    closure_defer: false,
                    ..l.clone()
                });
            }
        }
        if self.value != PanicValue::Int {
            let mut c = self.clone();
            c.value = PanicValue::Int;
            out.push(c);
        }
        if self.panic_mod > 1 {
            let mut c = self.clone();
            c.panic_mod = 1;
            out.push(c);
        }
        if self.goexit {
            let mut c = self.clone();
            c.goexit = false;
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

    pub(crate) fn render(&self, cx: &CaseCtx, unit: &mut Unit) -> String {
        let id = &cx.id;
        unit.import("runtime");

        let mut s = Src::new();
        s.line(format!("type {id}Err struct {{"));
        s.line("\tcode int");
        s.line("}");
        unit.decl(s);

        let mut s = Src::new();
        s.open(format!("func (e {id}Err) Error() string {{"));
        s.line(format!("return \"{id} error\""));
        s.close("}");
        unit.decl(s);

        // Map a recovered value to a number that does not depend on the
        // toolchain (runtime error messages are never looked at).
        let mut s = Src::new();
        s.open(format!("func {id}val(e interface{{}}) int {{"));
        s.line("switch v := e.(type) {");
        s.line("case int:");
        s.line("\treturn v & 1023");
        s.line("case string:");
        s.line("\treturn len(v)");
        s.line(format!("case {id}Err:"));
        s.line("\treturn v.code & 1023");
        s.line("case runtime.Error:");
        s.line("\treturn 1001");
        s.line("case error:");
        s.line("\treturn 1002");
        s.line("}");
        s.line("return 1003");
        s.close("}");
        unit.decl(s);

        if self.levels.iter().any(|l| l.open_defers > 0) {
            let mut s = Src::new();
            s.open(format!("func {id}note(acc *uint64, x, k int) {{"));
            s.line("*acc = mix(*acc, uint64(x*31+k))");
            s.close("}");
            unit.decl(s);
        }
        match self.value {
            PanicValue::Index => {
                let mut s = Src::new();
                s.line(format!("var {id}s = []int{{1, 2, 3}}"));
                unit.decl(s);
            }
            PanicValue::DivZero => {
                let mut s = Src::new();
                s.line(format!("var {id}zero int"));
                unit.decl(s);
            }
            PanicValue::NilDeref => {
                let mut s = Src::new();
                s.line(format!("var {id}nil *int"));
                unit.decl(s);
            }
            PanicValue::TypeAssert => {
                let mut s = Src::new();
                s.line(format!("var {id}any interface{{}} = 7"));
                unit.decl(s);
            }
            _ => {}
        }

        let n = self.levels.len();
        for (l, lv) in self.levels.iter().enumerate() {
            let mut s = Src::new();
            s.open(format!("func {id}L{l}(x int, acc *uint64) (r int) {{"));
            if lv.recover {
                s.open("defer func() {");
                s.open("if e := recover(); e != nil {");
                s.line(format!("r = {id}val(e) + {}", l + 1));
                s.line("*acc = mix(*acc, uint64(r))");
                if lv.repanic {
                    s.line(format!("panic({id}Err{{code: r + 7}})"));
                }
                s.close("}");
                s.close("}()");
            }
            if lv.panic_in_defer {
                s.open("defer func() {");
                s.open("if x%3 == 1 {");
                s.line(format!("panic(x + {})", 100 * (l + 1)));
                s.close("}");
                s.close("}()");
            }
            for j in 0..lv.open_defers {
                s.line(format!("defer {id}note(acc, x, {})", l * 10 + j as usize));
            }
            if lv.loop_defers > 0 {
                s.open(format!("for k := 0; k < {}; k++ {{", lv.loop_defers));
                s.open("defer func(k int) {");
                s.line("*acc = mix(*acc, uint64(x+k))");
                s.close("}(k)");
                s.close("}");
            }
            if lv.closure_defer {
                s.open("func() {");
                s.open("defer func() {");
                s.line(format!("*acc = mix(*acc, uint64(x^{}))", l + 5));
                s.close("}()");
                s.line("*acc += uint64(x)");
                s.close("}()");
            }
            if l + 1 == n {
                s.open(format!("if x%{} == 0 {{", self.panic_mod));
                match self.value {
                    PanicValue::Int => s.line("panic(x)"),
                    PanicValue::Str => s.line(format!("panic(fmt.Sprint(\"{id}\", x))")),
                    PanicValue::Err => s.line(format!("panic({id}Err{{code: x}})")),
                    PanicValue::Index => {
                        s.line("i := x%3 + 3");
                        s.line(format!("r = {id}s[i]"));
                    }
                    PanicValue::NilMap => {
                        s.line("var m map[int]int");
                        s.line("m[x] = 1");
                    }
                    PanicValue::DivZero => s.line(format!("r = x / {id}zero")),
                    PanicValue::NilDeref => s.line(format!("r = *{id}nil")),
                    PanicValue::TypeAssert => s.line(format!("r = len({id}any.(string))")),
                }
                s.close("}");
                s.line(format!("r = x + {l}"));
            } else {
                s.line(format!("r = {id}L{}(x+1, acc) + 1", l + 1));
            }
            s.line("return r");
            s.close("}");
            unit.decl(s);
        }

        let mut s = Src::new();
        s.open(format!("func {id}loop(seed int) uint64 {{"));
        s.line("var acc uint64");
        s.open(format!("for i := 0; i < {}; i++ {{", self.iters));
        s.line(format!("r := {id}L0(seed+i, &acc)"));
        s.line("acc = mix(acc, uint64(r))");
        s.close("}");
        s.line("return acc");
        s.close("}");
        unit.decl(s);

        if self.goexit {
            let mut s = Src::new();
            s.open(format!("func {id}exit(w int, out *uint64) {{"));
            s.line("acc := uint64(w)");
            s.open("defer func() {");
            s.open("if e := recover(); e != nil {");
            s.line("acc ^= 1");
            s.close("}");
            s.line("*out = acc");
            s.close("}()");
            s.open("for k := 0; k < 2; k++ {");
            s.open("defer func(k int) {");
            s.line("acc = mix(acc, uint64(k))");
            s.close("}(k)");
            s.close("}");
            s.line(format!("acc = mix(acc, {id}loop(w*100000))"));
            s.line("runtime.Goexit()");
            s.close("}");
            unit.decl(s);
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
            if self.goexit {
                s.line(format!("{id}exit(w+1, &res[w])"));
            } else {
                s.open("defer func() {");
                s.open("if e := recover(); e != nil {");
                s.line("res[w] = 99");
                s.close("}");
                s.close("}()");
                s.line(format!("res[w] = {id}loop(w*100000 + 100000)"));
            }
            s.close("}(w)");
            s.close("}");
            s.line(format!("h := {id}loop(0)"));
            s.line("wg.Wait()");
            s.open("for _, r := range res {");
            s.line("h = mix(h, r)");
            s.close("}");
            s.line("return h");
        } else {
            s.line(format!("return {id}loop(0)"));
        }
        s.close("}");
        unit.decl(s);
        format!("{id}Run")
    }
}
