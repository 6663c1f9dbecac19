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
//!
//! Most cases also run [`Yielders`]: goroutines that Reset a microsecond
//! timer and call runtime.Gosched, in a loop. The yield lets the scheduler
//! run the (already due) timer, so every Reset finds it fired and removed
//! and takes go1.14.1's re-add path, `modtimer → addInitializedTimer →
//! wakeNetPoller`, with the timer in `timerModifying`. A stop-the-world from
//! the GC hammer then preempts the goroutine at a prologue in that window
//! and its P spins in `runtimer` on the same timer for ever
//! (golang/go#38023, #38070). Measured with hand-written programs on
//! go1.14.1 (GOMAXPROCS(2), a runtime.GC() loop, Reset(1µs)+Gosched): 4
//! goroutines × 50k rounds hung 9 of 10 runs, 80k rounds in all about half
//! (9–13 of 16); 64–256 idle timers per goroutine raised 9/16 to 12–13/16.
//! The corpus shape (a Gosched every 64th Reset) hangs about once per second
//! of run time. 5 µs durations or more, no GC loop, or GOMAXPROCS(1) made it
//! rare or absent.

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
    /// Reset-and-yield goroutines beside the op workers (golang/go#38023).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yielders: Option<Yielders>,
}

/// Goroutines that each loop `t.Reset(us); runtime.Gosched()` on their own
/// timer, started before the op workers and run beside them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Yielders {
    pub goroutines: u8,
    /// Reset+Gosched rounds per goroutine.
    pub iters: u16,
    /// Timer duration in microseconds; only the shortest (1–2 µs) are due by
    /// the time the goroutine runs again, which the shape needs.
    pub us: u16,
    /// Armed one-hour timers each goroutine keeps (stopped at the end): a
    /// bigger timer heap makes the locked part of addInitializedTimer, and
    /// so the window, longer.
    #[serde(default)]
    pub idle: u16,
}

pub const MAX_YIELDERS: u8 = 8;
pub const MAX_YIELD_ITERS: u16 = 20_000;
pub const MAX_YIELD_US: u16 = 2;
pub const MAX_YIELD_IDLE: u16 = 256;
/// Native cost of one Reset+Gosched round, in nanoseconds (measured about
/// 0.3–0.5 µs on the project's 2-core machine with GOMAXPROCS(2)).
pub const YIELD_NS: u64 = 500;

impl Yielders {
    fn arb(u: &mut Unstructured) -> Result<Yielders> {
        let goroutines = pick(u, &[(1, 2u8), (3, 4), (2, 6), (1, 8)])?;
        // 80k–160k Resets in all (40–80 ms at YIELD_NS). The hang comes
        // at a roughly constant rate per Reset: 80k hung go1.14.1 in about
        // half the runs, 200k in 9 of 10.
        let total = pick(u, &[(1, 80_000u32), (2, 120_000), (1, 160_000)])?;
        // 1 µs: at 2 µs generated programs already hung go1.14.1 far less.
        let us = 1;
        let idle = pick(u, &[(1, 0u16), (1, 32), (2, 128), (1, 256)])?;
        let mut y = Yielders {
            goroutines,
            iters: (total / goroutines as u32) as u16,
            us,
            idle,
        };
        y.normalize();
        Ok(y)
    }

    fn normalize(&mut self) {
        self.goroutines = self.goroutines.clamp(1, MAX_YIELDERS);
        self.iters = self.iters.clamp(1, MAX_YIELD_ITERS);
        self.us = self.us.clamp(1, MAX_YIELD_US);
        self.idle = self.idle.min(MAX_YIELD_IDLE);
    }

    fn cost_us(&self) -> u64 {
        self.goroutines as u64 * self.iters as u64 * YIELD_NS / 1000
    }
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
        // Most cases carry the #38023 shape; the rest keep the op mix alone.
        let yielders = if u.ratio(5, 6)? {
            Some(Yielders::arb(u)?)
        } else {
            None
        };
        let mut c = TimerCase {
            goroutines,
            iters,
            ops,
            yielders,
        };
        c.normalize();
        Ok(c)
    }

    pub(crate) fn normalize(&mut self) {
        self.goroutines = self.goroutines.clamp(1, MAX_GOROUTINES);
        self.iters = self.iters.clamp(1, MAX_ITERS);
        if let Some(y) = &mut self.yielders {
            y.normalize();
        }
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
        // The yielders run beside the workers, whose wall time is mostly
        // waiting: charge whichever is longer.
        let wall = per_iter * self.iters as u64;
        wall.max(self.yielders.map_or(0, |y| y.cost_us()))
            + cpu * self.iters as u64 * self.goroutines as u64
    }

    pub(crate) fn scale(&mut self, num: u64, den: u64) {
        self.iters = ((self.iters as u64 * num / den) as u16).max(1);
        if let Some(y) = &mut self.yielders {
            y.iters = ((y.iters as u64 * num / den) as u16).max(1);
        }
    }

    pub(crate) fn weight(&self) -> u64 {
        10 + self.goroutines as u64
            + (self.iters as u64).ilog2() as u64
            + self.yielders.map_or(0, |y| {
                4 + y.goroutines as u64
                    + (y.iters as u64).ilog2() as u64
                    + (y.us > 1) as u64
                    + (y.idle > 0) as u64
            })
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
        if let Some(y) = self.yielders {
            let mut c = self.clone();
            c.yielders = None;
            out.push(c);
            let mut push = |y: Yielders| {
                let mut c = self.clone();
                c.yielders = Some(y);
                out.push(c);
            };
            if y.goroutines > 1 {
                push(Yielders {
                    goroutines: y.goroutines / 2,
                    ..y
                });
            }
            if y.iters > 1 {
                push(Yielders {
                    iters: y.iters / 2,
                    ..y
                });
            }
            if y.us > 1 {
                push(Yielders { us: 1, ..y });
            }
            if y.idle > 0 {
                push(Yielders { idle: 0, ..y });
            }
        }
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

        if let Some(y) = self.yielders {
            // Reset a timer that has fired (the yield lets the scheduler
            // run it), so modtimer re-adds it: golang/go#38023's window.
            unit.import("runtime");
            let mut s = Src::new();
            s.open(format!("func {id}yielder(w int) uint64 {{"));
            s.line("var h uint64");
            if y.idle > 0 {
                s.line(format!("idle := make([]*time.Timer, {})", y.idle));
                s.open("for k := range idle {");
                s.line("idle[k] = time.NewTimer(time.Hour)");
                s.close("}");
            }
            s.line(format!("t := time.NewTimer({})", micros(y.us as u32)));
            s.open(format!("for i := 0; i < {}; i++ {{", y.iters));
            s.line(format!("t.Reset({})", micros(y.us as u32)));
            s.line("runtime.Gosched()");
            s.line("h = h*31 + uint64(i+w)");
            s.close("}");
            s.line(format!("{id}quiet(t)"));
            if y.idle > 0 {
                s.open("for _, it := range idle {");
                s.line("it.Stop()");
                s.close("}");
            }
            s.line("return h");
            s.close("}");
            unit.decl(s);
        }

        let g = self.goroutines;
        let mut s = Src::new();
        s.open(format!("func {id}Run() uint64 {{"));
        s.line("var wg sync.WaitGroup");
        if let Some(y) = self.yielders {
            let n = y.goroutines;
            s.line(format!("yres := make([]uint64, {n})"));
            s.open(format!("for w := 0; w < {n}; w++ {{"));
            s.line("wg.Add(1)");
            s.open("go func(w int) {");
            s.line("defer wg.Done()");
            s.line(format!("yres[w] = {id}yielder(w)"));
            s.close("}(w)");
            s.close("}");
        }
        s.line(format!("res := make([]uint64, {g})"));
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
        if self.yielders.is_some() {
            s.open("for _, r := range yres {");
            s.line("h = mix(h, r)");
            s.close("}");
        }
        s.line("return h");
        s.close("}");
        unit.decl(s);
        format!("{id}Run")
    }
}
