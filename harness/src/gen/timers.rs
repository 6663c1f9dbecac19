//! `timers`: time.NewTimer / Reset / Stop / AfterFunc / Ticker with
//! microsecond durations from many goroutines, beside a GC loop and with
//! GOMAXPROCS between 1 and the core count (the shape of golang/go#38023,
//! a go1.14.1 deadlock: Timer.Reset preempted inside modtimer while the GC
//! stops the world).
//!
//! Channel use is correct under both timer channel semantics: the pre-1.23
//! buffered channel (stale values after Stop/Reset; also what go1.23+ uses
//! for a module that says `go 1.14`) and the go1.23+ unbuffered one. The rule
//! is: a blocking receive from `t.C` only happens right after the timer was
//! (re)armed, so a value is always on its way; every other receive is
//! non-blocking. Whether a timer fired, how many stale values were seen, what
//! Stop/Reset returned: none of that reaches the checksum, which only counts
//! operations completed.

use super::pick;
use super::src::{micros, micros_tight, Src, Unit};
use super::CaseCtx;
use arbitrary::{Result, Unstructured};
use serde::{Deserialize, Serialize};

/// One timer operation, run once per iteration by every goroutine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerOp {
    /// Stop+drain the goroutine's timer, Reset it, wait for it to fire.
    ResetWait { us: u16 },
    /// Reset the armed timer n times in a row (modtimer hammering), then
    /// Stop and drain it without waiting.
    ResetSpin { us: u16, n: u8 },
    /// A fresh timer: NewTimer, then either wait for it or Stop it at once.
    Fresh { us: u16, wait: bool },
    /// AfterFunc signalling a channel; optionally Stop and/or Reset it, then
    /// receive exactly as many signals as the callback will send.
    AfterFunc { us: u16, stop: bool, reset: bool },
    /// A ticker: receive n ticks, then Stop.
    Ticker { us: u16, ticks: u8 },
    /// `select` between a ready channel and time.After.
    After { us: u16 },
    /// time.Sleep.
    Sleep { us: u16 },
}

impl TimerOp {
    fn us(self) -> u16 {
        match self {
            TimerOp::ResetWait { us }
            | TimerOp::ResetSpin { us, .. }
            | TimerOp::Fresh { us, .. }
            | TimerOp::AfterFunc { us, .. }
            | TimerOp::Ticker { us, .. }
            | TimerOp::After { us }
            | TimerOp::Sleep { us } => us,
        }
    }

    fn with_us(self, v: u16) -> TimerOp {
        match self {
            TimerOp::ResetWait { .. } => TimerOp::ResetWait { us: v },
            TimerOp::ResetSpin { n, .. } => TimerOp::ResetSpin { us: v, n },
            TimerOp::Fresh { wait, .. } => TimerOp::Fresh { us: v, wait },
            TimerOp::AfterFunc { stop, reset, .. } => TimerOp::AfterFunc { us: v, stop, reset },
            TimerOp::Ticker { ticks, .. } => TimerOp::Ticker { us: v, ticks },
            TimerOp::After { .. } => TimerOp::After { us: v },
            TimerOp::Sleep { .. } => TimerOp::Sleep { us: v },
        }
    }

    /// Rough wall time (µs) of one run. A blocking wait is charged its
    /// duration plus a pessimistic wake-up latency: with CPU-bound pressure
    /// goroutines on every P, a goroutine woken by a timer can wait for the
    /// next 10 ms preemption tick before it runs.
    fn wall_us(self) -> u64 {
        let d = self.us() as u64;
        match self {
            TimerOp::ResetWait { .. } => d + WAKE_US,
            TimerOp::ResetSpin { n, .. } => n as u64 / 4 + 1,
            TimerOp::Fresh { wait, .. } => {
                if wait {
                    d + WAKE_US
                } else {
                    1
                }
            }
            TimerOp::AfterFunc { reset, .. } => (d + WAKE_US) * (1 + reset as u64),
            TimerOp::Ticker { ticks, .. } => (d + WAKE_US) * ticks as u64,
            TimerOp::After { .. } => 2,
            TimerOp::Sleep { .. } => d + WAKE_US,
        }
    }
}

/// Pessimistic wake-up latency of a blocked goroutine, in microseconds.
pub const WAKE_US: u64 = 8_000;
/// Wall-time budget of one timer goroutine, in microseconds.
pub const WALL_BUDGET_US: u64 = 120_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerCase {
    /// Goroutines running the op sequence.
    pub goroutines: u8,
    /// Iterations per goroutine.
    pub iters: u16,
    pub ops: Vec<TimerOp>,
}

pub const MAX_GOROUTINES: u8 = 32;
pub const MAX_OPS: usize = 6;
pub const MAX_US: u16 = 500;
pub const MAX_ITERS: u16 = 200;

impl TimerCase {
    pub(crate) fn arb(u: &mut Unstructured) -> Result<TimerCase> {
        let goroutines = pick(u, &[(2, 1u8), (3, 4), (3, 8), (2, 16), (1, 32)])?;
        let nops = u.int_in_range(1..=MAX_OPS)?;
        let mut ops = Vec::with_capacity(nops);
        for _ in 0..nops {
            let us = pick(u, &[(4, 1u16), (3, 5), (3, 20), (2, 100), (1, 400)])?;
            let op = match pick(
                u,
                &[(4, 0u8), (4, 1), (2, 2), (2, 3), (1, 4), (1, 5), (1, 6)],
            )? {
                0 => TimerOp::ResetWait { us },
                1 => TimerOp::ResetSpin {
                    us,
                    n: u.int_in_range(1..=200)?,
                },
                2 => TimerOp::Fresh {
                    us,
                    wait: u.ratio(1, 2)?,
                },
                3 => TimerOp::AfterFunc {
                    us,
                    stop: u.ratio(1, 2)?,
                    reset: u.ratio(1, 2)?,
                },
                4 => TimerOp::Ticker {
                    us,
                    ticks: u.int_in_range(1..=5)?,
                },
                5 => TimerOp::After { us },
                _ => TimerOp::Sleep { us },
            };
            ops.push(op);
        }
        let iters = u.int_in_range(4..=MAX_ITERS)?;
        let mut c = TimerCase {
            goroutines,
            iters,
            ops,
        };
        c.normalize();
        Ok(c)
    }

    pub(crate) fn normalize(&mut self) {
        self.goroutines = self.goroutines.clamp(1, MAX_GOROUTINES);
        self.iters = self.iters.clamp(1, MAX_ITERS);
        if self.ops.is_empty() {
            self.ops.push(TimerOp::ResetWait { us: 10 });
        }
        self.ops.truncate(MAX_OPS);
        for op in &mut self.ops {
            *op = op.with_us(op.us().clamp(1, MAX_US));
            match op {
                TimerOp::ResetSpin { n, .. } => *n = (*n).max(1),
                TimerOp::Ticker { ticks, .. } => *ticks = (*ticks).clamp(1, 8),
                _ => {}
            }
        }
        // Keep wall time bounded: drop ops from the end until one
        // iteration fits (the iterations are capped below).
        while self.ops.len() > 1
            && self.ops.iter().map(|o| o.wall_us()).sum::<u64>() > WALL_BUDGET_US
        {
            self.ops.pop();
        }
        // Every case resets its goroutine's timer at least once. (Replacing
        // the first op never adds wall time, so this stays idempotent.)
        let resets = self
            .ops
            .iter()
            .any(|o| matches!(o, TimerOp::ResetWait { .. } | TimerOp::ResetSpin { .. }));
        if !resets {
            self.ops[0] = TimerOp::ResetSpin { us: 1, n: 1 };
        }
        let per_iter: u64 = self.ops.iter().map(|o| o.wall_us()).sum::<u64>().max(1);
        let max_iters = (WALL_BUDGET_US / per_iter).clamp(1, MAX_ITERS as u64) as u16;
        self.iters = self.iters.min(max_iters);
    }

    pub(crate) fn cost_us(&self) -> u64 {
        // Goroutines wait concurrently; charge wall time once plus CPU for
        // the timer calls of each goroutine.
        let per_iter: u64 = self.ops.iter().map(|o| o.wall_us()).sum();
        let cpu: u64 = self
            .ops
            .iter()
            .map(|o| match o {
                TimerOp::ResetSpin { n, .. } => *n as u64 / 10 + 1,
                _ => 1,
            })
            .sum();
        per_iter * self.iters as u64 + cpu * self.iters as u64 * self.goroutines as u64
    }

    pub(crate) fn scale(&mut self, num: u64, den: u64) {
        self.iters = ((self.iters as u64 * num / den) as u16).max(1);
    }

    pub(crate) fn weight(&self) -> u64 {
        10 + self.goroutines as u64
            + (self.iters as u64).ilog2() as u64
            + self
                .ops
                .iter()
                .map(|o| {
                    4 + (o.us() > 1) as u64
                        + match *o {
                            TimerOp::ResetSpin { n, .. } => (n as u64).ilog2() as u64,
                            TimerOp::Fresh { wait, .. } => wait as u64,
                            TimerOp::AfterFunc { stop, reset, .. } => stop as u64 + reset as u64,
                            TimerOp::Ticker { ticks, .. } => ticks as u64,
                            _ => 0,
                        }
                })
                .sum::<u64>()
    }

    pub(crate) fn shrink(&self) -> Vec<TimerCase> {
        let mut out = Vec::new();
        if self.ops.len() > 1 {
            for k in 0..self.ops.len() {
                let mut c = self.clone();
                c.ops.remove(k);
                out.push(c);
            }
        }
        if self.goroutines > 1 {
            let mut c = self.clone();
            c.goroutines /= 2;
            out.push(c);
        }
        if self.iters > 1 {
            let mut c = self.clone();
            c.iters /= 2;
            out.push(c);
        }
        for k in 0..self.ops.len() {
            let op = self.ops[k];
            let mut push = |o: TimerOp| {
                let mut c = self.clone();
                c.ops[k] = o;
                out.push(c);
            };
            if op.us() > 1 {
                push(op.with_us(1));
            }
            match op {
                TimerOp::ResetSpin { us, n } if n > 1 => push(TimerOp::ResetSpin { us, n: n / 2 }),
                TimerOp::Fresh { us, wait: true } => push(TimerOp::Fresh { us, wait: false }),
                TimerOp::AfterFunc { us, stop, reset } if stop || reset => {
                    if stop {
                        push(TimerOp::AfterFunc {
                            us,
                            stop: false,
                            reset,
                        });
                    }
                    if reset {
                        push(TimerOp::AfterFunc {
                            us,
                            stop,
                            reset: false,
                        });
                    }
                }
                TimerOp::Ticker { us, ticks } if ticks > 1 => push(TimerOp::Ticker {
                    us,
                    ticks: ticks - 1,
                }),
                _ => {}
            }
        }
        for c in &mut out {
            c.normalize();
        }
        out
    }

    pub(crate) fn render(&self, cx: &CaseCtx, unit: &mut Unit) -> String {
        let id = &cx.id;
        unit.import("time");
        unit.import("sync");

        // Stop the timer and drop a value it may have left in its channel.
        // After this the timer is stopped and its channel empty, under
        // either channel semantics.
        let mut s = Src::new();
        s.open(format!("func {id}quiet(t *time.Timer) {{"));
        s.open("if !t.Stop() {");
        s.open("select {");
        s.mid("case <-t.C:");
        s.mid("default:");
        s.close("}");
        s.close("}");
        s.close("}");
        unit.decl(s);

        let mut s = Src::new();
        s.open(format!("func {id}worker(w int) uint64 {{"));
        s.line("var h uint64");
        s.line(format!("t := time.NewTimer({})", micros(1)));
        s.line("ready := make(chan int, 1)");
        s.line("ready <- w");
        s.open(format!("for i := 0; i < {}; i++ {{", self.iters));
        for (k, op) in self.ops.iter().enumerate() {
            let d = micros(op.us() as u32);
            let dt = micros_tight(op.us() as u32);
            match *op {
                TimerOp::ResetWait { .. } => {
                    s.line(format!("{id}quiet(t)"));
                    s.line(format!("t.Reset({d})"));
                    s.line("<-t.C");
                }
                TimerOp::ResetSpin { n, .. } => {
                    s.line(format!("t.Reset({d})"));
                    s.open(format!("for k := 0; k < {n}; k++ {{"));
                    s.line(format!("t.Reset({d})"));
                    s.close("}");
                    s.line(format!("{id}quiet(t)"));
                }
                TimerOp::Fresh { wait, .. } => {
                    s.line(format!("f{k} := time.NewTimer({d})"));
                    if wait {
                        s.line(format!("<-f{k}.C"));
                    } else {
                        s.line(format!("f{k}.Stop()"));
                    }
                }
                TimerOp::AfterFunc { stop, reset, .. } => {
                    s.line(format!("done{k} := make(chan int, 2)"));
                    if stop || reset {
                        s.open(format!("a{k} := time.AfterFunc({dt}, func() {{"));
                    } else {
                        s.open(format!("time.AfterFunc({dt}, func() {{"));
                    }
                    s.line(format!("done{k} <- 1"));
                    s.close("})");
                    s.line(format!("pending{k} := 1"));
                    if stop {
                        s.open(format!("if a{k}.Stop() {{"));
                        s.line(format!("pending{k}--"));
                        s.close("}");
                    }
                    if reset {
                        s.open(format!("if !a{k}.Reset({d}) {{"));
                        s.line(format!("pending{k}++"));
                        s.close("}");
                    }
                    s.open(format!("for ; pending{k} > 0; pending{k}-- {{"));
                    s.line(format!("<-done{k}"));
                    s.close("}");
                }
                TimerOp::Ticker { ticks, .. } => {
                    s.line(format!("tk{k} := time.NewTicker({d})"));
                    s.open(format!("for k := 0; k < {ticks}; k++ {{"));
                    s.line(format!("<-tk{k}.C"));
                    s.close("}");
                    s.line(format!("tk{k}.Stop()"));
                }
                TimerOp::After { .. } => {
                    // ready holds a value, so this never waits for the
                    // timer; which case runs is not recorded.
                    s.open("select {");
                    s.mid("case v := <-ready:");
                    s.line("ready <- v");
                    s.mid(format!("case <-time.After({d}):"));
                    s.close("}");
                }
                TimerOp::Sleep { .. } => {
                    s.line(format!("time.Sleep({d})"));
                }
            }
            s.line(format!("h = h*31 + uint64(i*{}+{k})", self.ops.len()));
        }
        s.close("}");
        s.line(format!("{id}quiet(t)"));
        s.line("return h ^ uint64(<-ready)");
        s.close("}");
        unit.decl(s);

        let g = self.goroutines;
        let mut s = Src::new();
        s.open(format!("func {id}Run() uint64 {{"));
        s.line(format!("res := make([]uint64, {g})"));
        s.line("var wg sync.WaitGroup");
        s.open(format!("for w := 0; w < {g}; w++ {{"));
        s.line("wg.Add(1)");
        s.open("go func(w int) {");
        s.line("defer wg.Done()");
        s.line(format!("res[w] = {id}worker(w)"));
        s.close("}(w)");
        s.close("}");
        s.line("wg.Wait()");
        s.line("var h uint64");
        s.open("for _, r := range res {");
        s.line("h = mix(h, r)");
        s.close("}");
        s.line("return h");
        s.close("}");
        unit.decl(s);
        format!("{id}Run")
    }
}
