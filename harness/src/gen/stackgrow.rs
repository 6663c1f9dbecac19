//! `stackgrow`: goroutine stacks that grow and shrink under the GC while
//! the program holds pointers into them.
//!
//! Each case is a recursive `//go:noinline` descent: every level has a local
//! array (so a descent of a few hundred levels grows the goroutine stack
//! from its first 2 KiB to hundreds of KiB, copying it at each doubling),
//! and can pass a pointer to its array down for the callee to write through
//! (pointers into a stack the runtime moves: `adjustpointers`), register
//! defers (defer records in a moving stack; the open-coded defers of
//! go1.14 on), panic at the bottom and recover a given number of levels up
//! (a panic unwinding a stack that its deferred calls grow again) and force
//! a GC at the bottom (a stack scan of a deep stack; the GC shrinks the
//! stacks of goroutines that have returned from their descents).
//! Workers run descents at once and hand their results over a channel in a
//! `select` with a stopped timer; objects with finalizers keep the
//! finalizer goroutine busy meanwhile.
//!
//! Every value the checksum sees follows from the loop indices: a read of a
//! level's array after its callee wrote through the pointer sees exactly
//! that write, so a stack copy that failed to adjust a pointer changes the
//! checksum. Finalizer counts never reach it.

use super::pick;
use super::src::{Src, Unit};
use super::CaseCtx;
use arbitrary::{Result, Unstructured};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackCase {
    /// Levels of one descent below the first.
    pub depth: u16,
    /// Bytes of each level's local array.
    pub frame: u16,
    /// Each level passes a pointer to its array down and reads back what
    /// the callee wrote through it.
    pub parent_ptr: bool,
    /// Every `defer_every`-th level registers a deferred call (0: none).
    pub defer_every: u8,
    /// Levels each deferred call recurses (growing the stack while a panic
    /// may be running it).
    pub defer_grow: u8,
    /// The bottom level panics on every `panic_every`-th descent (0: never).
    pub panic_every: u8,
    /// The level (counted from the bottom) whose deferred closure recovers.
    pub recover_at: u16,
    /// The bottom level calls runtime.GC() on every `gc_every`-th descent
    /// (0: never).
    pub gc_every: u8,
    /// Goroutines descending beside the caller.
    pub workers: u8,
    /// Workers hand results over a channel (select with a timer) rather
    /// than a slice.
    pub chan_results: bool,
    /// Each descent allocates an object with a finalizer.
    pub finalizers: bool,
    /// Descents per goroutine.
    pub iters: u32,
}

pub const MAX_DEPTH: u16 = 1500;
pub const MAX_FRAME: u16 = 2048;
/// Most stack one descent may take (depth × frame), so that five goroutines
/// stay within a few tens of MiB.
pub const MAX_DESCENT_BYTES: u64 = 2 << 20;
pub const MAX_ITERS: u32 = 400;
/// Most runtime.GC() calls one goroutine's descents make.
pub const MAX_FORCED_GCS: u32 = 4;

impl StackCase {
    pub(crate) fn arb(u: &mut Unstructured) -> Result<StackCase> {
        let depth = pick(u, &[(2, 16u16), (3, 64), (3, 200), (2, 600), (1, 1500)])?;
        let frame = pick(u, &[(2, 16u16), (3, 128), (3, 512), (2, 1024), (1, 2048)])?;
        let panic_every = pick(u, &[(3, 0u8), (2, 1), (2, 3), (1, 7)])?;
        let recover_at = if panic_every > 0 {
            let frac = u.int_in_range(0u16..=4)?;
            depth * frac / 4
        } else {
            0
        };
        let mut c = StackCase {
            depth,
            frame,
            parent_ptr: u.ratio(2, 3)?,
            defer_every: pick(u, &[(2, 0u8), (2, 1), (2, 4), (1, 16)])?,
            defer_grow: pick(u, &[(3, 0u8), (2, 8), (1, 64)])?,
            panic_every,
            recover_at,
            gc_every: pick(u, &[(3, 0u8), (1, 4), (1, 16)])?,
            workers: pick(u, &[(2, 0u8), (3, 1), (2, 2), (1, 4)])?,
            chan_results: u.ratio(1, 2)?,
            finalizers: u.ratio(1, 3)?,
            iters: u.int_in_range(1u32..=40)? * 10,
        };
        c.normalize();
        Ok(c)
    }

    pub(crate) fn normalize(&mut self) {
        self.depth = self.depth.clamp(1, MAX_DEPTH);
        self.frame = self.frame.clamp(8, MAX_FRAME);
        // Keep one descent's stack bounded: shallower, not smaller frames.
        let most = (MAX_DESCENT_BYTES / self.frame as u64).clamp(1, MAX_DEPTH as u64) as u16;
        self.depth = self.depth.min(most);
        self.defer_every = self.defer_every.min(64);
        self.defer_grow = self.defer_grow.min(64);
        if self.defer_every == 0 {
            self.defer_grow = 0;
        }
        self.panic_every = self.panic_every.min(16);
        self.recover_at = self.recover_at.min(self.depth);
        if self.panic_every == 0 {
            self.recover_at = 0;
        }
        self.iters = self.iters.clamp(1, MAX_ITERS);
        // At most MAX_FORCED_GCS forced collections per goroutine: beside a
        // stop-the-world hammer one takes tens of milliseconds.
        if self.gc_every > 0 {
            // MAX_ITERS / MAX_FORCED_GCS fits a u8.
            let least = self.iters.div_ceil(MAX_FORCED_GCS) as u8;
            self.gc_every = self.gc_every.max(least);
        }
        self.workers = self.workers.min(4);
        if self.workers == 0 {
            self.chan_results = false;
        }
        self.iters = self.iters.clamp(1, MAX_ITERS);
    }

    /// Native cost of one descent, in nanoseconds.
    fn descent_ns(&self) -> u64 {
        let levels = self.depth as u64 + 1;
        // A call, clearing the array, and the pointer write and read.
        let per_level = 25 + self.frame as u64 / 16 + 4 * self.parent_ptr as u64;
        let defers = if self.defer_every > 0 {
            (levels / self.defer_every as u64 + 1) * (60 + 40 * self.defer_grow as u64)
        } else {
            0
        };
        // Growing the stack again after a shrink: a copy per doubling.
        let grow = levels * (self.frame as u64 + 96) / 8;
        let panic = if self.panic_every > 0 {
            (2_000 + 150 * (self.recover_at as u64 + 1)) / self.panic_every as u64
        } else {
            0
        };
        let gc = if self.gc_every > 0 {
            // A forced GC waits out a whole cycle, beside the hammers and
            // spinners of the pressure: up to tens of milliseconds (a
            // spinner has to be preempted for each stop of the world).
            20_000_000 / self.gc_every as u64
        } else {
            0
        };
        levels * per_level + defers + grow + panic + gc + 300 * self.finalizers as u64
    }

    pub(crate) fn cost_us(&self) -> u64 {
        self.descent_ns() * self.iters as u64 * (self.workers as u64 + 1) / 1_000
    }

    pub(crate) fn scale(&mut self, num: u64, den: u64) {
        let iters = (self.iters as u64 * num / den) as u32;
        if iters >= 1 {
            self.iters = iters;
        } else {
            // One descent is already too much: go shallower.
            self.iters = 1;
            let depth = (self.depth as u64 * num / den) as u16;
            self.depth = depth.max(1);
            self.recover_at = self.recover_at.min(self.depth);
        }
    }

    pub(crate) fn weight(&self) -> u64 {
        10 + (self.depth as u64).ilog2() as u64
            + (self.frame as u64).ilog2() as u64
            + self.parent_ptr as u64
            + (self.defer_every > 0) as u64
            + (self.defer_grow > 0) as u64
            + (self.panic_every > 0) as u64
            + (self.recover_at > 0) as u64
            + (self.gc_every > 0) as u64
            + self.workers as u64
            + self.chan_results as u64
            + self.finalizers as u64
            + (self.iters as u64).ilog2() as u64
    }

    pub(crate) fn shrink(&self) -> Vec<StackCase> {
        let mut out = Vec::new();
        let mut push = |f: &dyn Fn(&mut StackCase)| {
            let mut c = self.clone();
            f(&mut c);
            c.normalize();
            out.push(c);
        };
        if self.depth > 1 {
            push(&|c| c.depth /= 2);
        }
        if self.frame > 8 {
            push(&|c| c.frame /= 2);
        }
        if self.parent_ptr {
            push(&|c| c.parent_ptr = false);
        }
        if self.defer_every > 0 {
            push(&|c| c.defer_every = 0);
        }
        if self.defer_grow > 0 {
            push(&|c| c.defer_grow = 0);
        }
        if self.panic_every > 0 {
            push(&|c| c.panic_every = 0);
        }
        if self.recover_at > 0 {
            push(&|c| c.recover_at = 0);
        }
        if self.gc_every > 0 {
            push(&|c| c.gc_every = 0);
        }
        if self.workers > 0 {
            push(&|c| c.workers -= 1);
        }
        if self.chan_results {
            push(&|c| c.chan_results = false);
        }
        if self.finalizers {
            push(&|c| c.finalizers = false);
        }
        if self.iters > 1 {
            push(&|c| c.iters /= 2);
        }
        out
    }

    pub(crate) fn render(&self, cx: &CaseCtx, unit: &mut Unit) -> String {
        let id = &cx.id;
        let n = self.frame;
        let needs_runtime = self.gc_every > 0 || self.finalizers;
        if needs_runtime {
            unit.import("runtime");
        }

        if self.finalizers {
            unit.import("sync/atomic");
            let mut s = Src::new();
            s.line(format!("type {id}obj struct {{"));
            s.line("\tv [4]uint64");
            s.line("}");
            unit.decl(s);
            let mut s = Src::new();
            s.line(format!("var {id}finalized int64"));
            unit.decl(s);
        }

        if self.defer_grow > 0 {
            // What a deferred call runs: a small recursion of its own, so
            // the stack grows while the defer (or a panic) is running it.
            let mut s = Src::new();
            s.line("//go:noinline");
            s.open(format!("func {id}grow(k, x int) int {{"));
            s.line("var b [64]byte");
            s.line("b[x&63] = byte(k)");
            s.open("if k == 0 {");
            s.line("return int(b[x&63]) + x");
            s.close("}");
            s.line(format!("return {id}grow(k-1, x+1) + int(b[x&63])"));
            s.close("}");
            unit.decl(s);
        }

        // One level of the descent; d counts down to 0 at the bottom.
        let mut s = Src::new();
        s.line("//go:noinline");
        let up = if self.parent_ptr {
            format!(", up *[{n}]byte")
        } else {
            String::new()
        };
        s.open(format!(
            "func {id}down(d, x int{up}, acc *uint64) (r int) {{"
        ));
        s.line(format!("var a [{n}]byte"));
        s.line(format!("a[x%{n}] = byte(x)"));
        if self.parent_ptr {
            // The caller reads this byte back after the call returns.
            s.open("if up != nil {");
            s.line(format!("up[(x+d)%{n}] ^= byte(d)"));
            s.close("}");
        }
        if self.panic_every > 0 {
            s.open(format!("if d == {} {{", self.recover_at));
            s.open("defer func() {");
            s.open("if e := recover(); e != nil {");
            s.line("v, _ := e.(int)");
            s.line("r = -1 - v&1023");
            s.line("*acc = mix(*acc, uint64(r))");
            s.close("}");
            s.close("}()");
            s.close("}");
        }
        if self.defer_every > 0 {
            let every = self.defer_every > 1;
            if every {
                s.open(format!("if d%{} == 0 {{", self.defer_every));
            }
            s.open("defer func() {");
            if self.defer_grow > 0 {
                s.line(format!(
                    "*acc = mix(*acc, uint64({id}grow({}, d)))",
                    self.defer_grow
                ));
            } else {
                s.line("*acc = mix(*acc, uint64(d))");
            }
            s.close("}()");
            if every {
                s.close("}");
            }
        }
        s.open("if d == 0 {");
        if self.gc_every > 0 {
            if self.gc_every == 1 {
                s.line("runtime.GC()");
            } else {
                s.open(format!("if x%{} == 0 {{", self.gc_every));
                s.line("runtime.GC()");
                s.close("}");
            }
        }
        if self.panic_every == 1 {
            s.line("panic(x)");
        } else {
            if self.panic_every > 1 {
                s.open(format!("if x%{} == 0 {{", self.panic_every));
                s.line("panic(x)");
                s.close("}");
            }
            s.line(format!("r = int(a[x%{n}]) + x"));
            s.line("return r");
        }
        s.close("}");
        let pass = if self.parent_ptr { ", &a" } else { "" };
        s.line(format!("r = {id}down(d-1, x+1{pass}, acc)"));
        // The callee's write through `up` landed here (x+1 + d-1 == x+d).
        s.line(format!("r += int(a[(x+d)%{n}])"));
        s.line("return r");
        s.close("}");
        unit.decl(s);

        // Descents of one goroutine.
        let mut s = Src::new();
        s.open(format!("func {id}loop(seed int) uint64 {{"));
        s.line("var acc uint64");
        s.open(format!("for i := 0; i < {}; i++ {{", self.iters));
        if self.finalizers {
            s.line(format!("o := new({id}obj)"));
            s.line("o.v[0] = uint64(i)");
            s.open(format!("runtime.SetFinalizer(o, func(o *{id}obj) {{"));
            s.line(format!("atomic.AddInt64(&{id}finalized, 1)"));
            s.close("})");
        }
        let nil = if self.parent_ptr { ", nil" } else { "" };
        s.line(format!("r := {id}down({}, seed+i{nil}, &acc)", self.depth));
        s.line("acc = mix(acc, uint64(r))");
        s.close("}");
        s.line("return acc");
        s.close("}");
        unit.decl(s);

        let mut s = Src::new();
        s.open(format!("func {id}Run() uint64 {{"));
        let w = self.workers;
        if w > 0 && self.chan_results {
            unit.import("time");
            s.line(format!("type {id}res struct {{"));
            s.line("\tw int");
            s.line("\tv uint64");
            s.line("}");
            s.line(format!("ch := make(chan {id}res)"));
            s.open(format!("for w := 0; w < {w}; w++ {{"));
            s.open("go func(w int) {");
            s.line(format!("ch <- {id}res{{w, {id}loop(w*100000 + 100000)}}"));
            s.close("}(w)");
            s.close("}");
            s.line(format!("h := {id}loop(0)"));
            s.line(format!("res := make([]uint64, {w})"));
            s.open(format!("for k := 0; k < {w}; k++ {{"));
            // The timer never fires in a healthy run; a lost result turns
            // into a panic rather than a silent hang.
            s.line("t := time.NewTimer(time.Hour)");
            s.line("select {");
            s.line("case m := <-ch:");
            s.line("\tres[m.w] = m.v");
            s.line("case <-t.C:");
            s.line(format!("\tpanic(\"{id}: no result in an hour\")"));
            s.line("}");
            s.line("t.Stop()");
            s.close("}");
            s.open("for _, r := range res {");
            s.line("h = mix(h, r)");
            s.close("}");
            s.line("return h");
        } else if w > 0 {
            unit.import("sync");
            s.line(format!("res := make([]uint64, {w})"));
            s.line("var wg sync.WaitGroup");
            s.open(format!("for w := 0; w < {w}; w++ {{"));
            s.line("wg.Add(1)");
            s.open("go func(w int) {");
            s.line("defer wg.Done()");
            s.line(format!("res[w] = {id}loop(w*100000 + 100000)"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_keep_their_depth_and_forced_gcs_are_bounded() {
        let mut u = Unstructured::new(&[0u8; 64]);
        let mut c = StackCase::arb(&mut u).unwrap();
        // 2 MiB / 16 B is above u16::MAX: the bound must not wrap to 0.
        c.frame = 16;
        c.depth = MAX_DEPTH;
        c.gc_every = 1;
        c.iters = MAX_ITERS;
        c.normalize();
        assert_eq!(c.depth, MAX_DEPTH);
        assert!(
            c.iters.div_ceil(c.gc_every as u32) <= MAX_FORCED_GCS,
            "{c:?}"
        );
        // Big frames go shallower instead.
        c.frame = MAX_FRAME;
        c.normalize();
        assert_eq!(c.depth as u64, MAX_DESCENT_BYTES / MAX_FRAME as u64);
        let again = {
            let mut d = c.clone();
            d.normalize();
            d
        };
        assert_eq!(again, c, "normalize is idempotent");
    }
}
