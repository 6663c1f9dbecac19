//! Program generator: seed -> bytes -> arbitrary spec -> Go source.
//!
//! A seed (u64) feeds a fixed portable PRNG (ChaCha8) that yields
//! [`SEED_BYTES`] bytes; those drive [`arbitrary::Unstructured`] to build a
//! typed [`ProgramSpec`] with bounded sizes; [`render`] turns the spec into a
//! `main.go` and a `go.mod`. Every stage is deterministic, so the same seed
//! and the same [`GENERATOR_VERSION`] give a byte-identical program. The spec
//! is JSON-serialisable: it is stored with every finding so that it can be
//! rendered again and shrunk with [`shrink_candidates`].
//!
//! Every non-hostile program is valid Go for every toolchain from go1.14 on,
//! finishes in well under a second on a healthy toolchain, and prints as its
//! last line `checksum: <16 hex digits>`, computed only from values that do
//! not depend on scheduling or timing.

use arbitrary::{Arbitrary, Unstructured};
use rand::RngCore;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

pub mod bigstack;
pub mod check;
pub mod closures;
pub mod deferpanic;
pub mod expr;
mod gofmt;
pub mod hostile;
pub mod pressure;
pub mod reduce_src;
pub mod shape;
mod shrink;
pub mod smith;
mod src;
pub mod stackgrow;
pub mod timers;

pub use check::{check_invariants, std_selectors};
pub use shrink::shrink_candidates;

use src::{Src, Unit};

/// Bump whenever the program generated for some seed changes.
/// 2: the ReadMemStats hammer yields between calls.
/// 3: timers cases mostly carry Reset+Gosched goroutines (golang/go#38023).
/// 4: expr programs are spaced as gofmt spaces them.
/// 5: stackgrow and expr are on by default.
/// 6: the general family smith, on by default.
/// 7: smith writes piecewise stores and combined loads, self-referencing
/// composite literals, maps of slices and two-entry goto loops, and runs
/// under GC pressure like the other runtime families.
/// 8: smith parameters are named q0.. (p0.. could be shadowed by a local).
/// 9, 10: smith features (see CHANGELOG.md).
/// 11: programs mean the same on every arch: expr computes in fixed-width
/// types only, and the templates' `int` arithmetic is kept below 2^30
/// ([`WORD_MASK`]), so 32-bit archs print the 64-bit archs' checksum.
pub const GENERATOR_VERSION: u32 = 12;

/// The mask that keeps an `int` the templates compute in below 2^30: the
/// low bits of a sum or product do not depend on the width it wrapped at,
/// so a value masked before any right shift, division or comparison is the
/// same on 32-bit archs (386, arm, mips, mipsle) as on 64-bit ones.
pub const WORD_MASK: &str = "0x3fffffff";

/// How many PRNG bytes one seed expands to.
pub const SEED_BYTES: usize = 64 * 1024;

/// The `go.mod` of every generated program.
pub const GO_MOD: &str = "module divergo.test/prog\n\ngo 1.14\n";

/// Rough native CPU budget of one non-hostile program, in microseconds
/// (single-threaded equivalent; wall time is usually lower).
pub const BUDGET_US: u64 = 150_000;

/// Budget of all bigstack cases of a program together, in microseconds.
pub const BIGSTACK_BUDGET_US: u64 = 90_000;

/// Most cases of one family in a program.
pub const MAX_CASES_PER_FAMILY: usize = 2;

/// A template family.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Arbitrary,
)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Bigstack,
    Closures,
    Timers,
    Deferpanic,
    /// Goroutine stacks that grow and shrink under the GC with pointers,
    /// defers and panics in them.
    Stackgrow,
    /// Typed integer expressions, each checked against an evaluation the
    /// optimiser cannot fold (compiler bugs).
    Expr,
    /// General random programs: every statement, type and call form,
    /// features drawn per program (swarm).
    Smith,
    /// Programs that misbehave on purpose (for reliability soaks); never in
    /// [`Family::DEFAULT`].
    Hostile,
}

impl Family {
    pub const ALL: &'static [Family] = &[
        Family::Bigstack,
        Family::Closures,
        Family::Timers,
        Family::Deferpanic,
        Family::Stackgrow,
        Family::Expr,
        Family::Smith,
        Family::Hostile,
    ];

    /// The families used when none are asked for: all but `hostile`.
    pub const DEFAULT: &'static [Family] = &[
        Family::Bigstack,
        Family::Closures,
        Family::Timers,
        Family::Deferpanic,
        Family::Stackgrow,
        Family::Expr,
        Family::Smith,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Bigstack => "bigstack",
            Family::Closures => "closures",
            Family::Timers => "timers",
            Family::Deferpanic => "deferpanic",
            Family::Stackgrow => "stackgrow",
            Family::Expr => "expr",
            Family::Smith => "smith",
            Family::Hostile => "hostile",
        }
    }

    /// Prefix of the identifiers a case of this family declares.
    fn prefix(self) -> &'static str {
        match self {
            Family::Bigstack => "bs",
            Family::Closures => "cl",
            Family::Timers => "tm",
            Family::Deferpanic => "dp",
            Family::Stackgrow => "sg",
            Family::Expr => "ex",
            Family::Smith => "sm",
            Family::Hostile => "ho",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Family {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Family::ALL
            .iter()
            .copied()
            .find(|f| f.name() == t)
            .ok_or_else(|| {
                let names: Vec<_> = Family::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown family {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// A rendered program.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub spec: ProgramSpec,
    pub main_go: String,
    pub go_mod: String,
}

/// Everything that determines a program. Rendering is a pure function of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramSpec {
    /// `runtime.GOMAXPROCS(min(n, NumCPU))` at start; `None` keeps the
    /// environment's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gomaxprocs: Option<u8>,
    /// Run the cases in concurrent goroutines rather than one after another.
    #[serde(default)]
    pub concurrent: bool,
    #[serde(default)]
    pub pressure: pressure::Pressure,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bigstack: Vec<bigstack::BigstackCase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closures: Vec<closures::ClosureCase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timers: Vec<timers::TimerCase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferpanic: Vec<deferpanic::DeferCase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stackgrow: Vec<stackgrow::StackCase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expr: Vec<expr::ExprCase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub smith: Vec<smith::SmithCase>,
    /// A hostile program replaces everything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostile: Option<hostile::HostileKind>,
}

impl ProgramSpec {
    fn empty() -> ProgramSpec {
        ProgramSpec {
            gomaxprocs: None,
            concurrent: false,
            pressure: pressure::Pressure::default(),
            bigstack: Vec::new(),
            closures: Vec::new(),
            timers: Vec::new(),
            deferpanic: Vec::new(),
            stackgrow: Vec::new(),
            expr: Vec::new(),
            smith: Vec::new(),
            hostile: None,
        }
    }

    /// The families this program contains, in a fixed order.
    pub fn families(&self) -> Vec<Family> {
        if self.hostile.is_some() {
            return vec![Family::Hostile];
        }
        let mut out = Vec::new();
        if !self.bigstack.is_empty() {
            out.push(Family::Bigstack);
        }
        if !self.closures.is_empty() {
            out.push(Family::Closures);
        }
        if !self.timers.is_empty() {
            out.push(Family::Timers);
        }
        if !self.deferpanic.is_empty() {
            out.push(Family::Deferpanic);
        }
        if !self.stackgrow.is_empty() {
            out.push(Family::Stackgrow);
        }
        if !self.expr.is_empty() {
            out.push(Family::Expr);
        }
        if !self.smith.is_empty() {
            out.push(Family::Smith);
        }
        out
    }

    /// Number of cases (0 for a hostile program).
    pub fn case_count(&self) -> usize {
        if self.hostile.is_some() {
            return 0;
        }
        self.bigstack.len()
            + self.closures.len()
            + self.timers.len()
            + self.deferpanic.len()
            + self.stackgrow.len()
            + self.expr.len()
            + self.smith.len()
    }

    /// Rough native CPU cost in microseconds (0 for hostile programs, which
    /// are not bounded).
    pub fn cost_us(&self) -> u64 {
        if self.hostile.is_some() {
            return 0;
        }
        self.bigstack.iter().map(|c| c.cost_us()).sum::<u64>()
            + self.closures.iter().map(|c| c.cost_us()).sum::<u64>()
            + self.timers.iter().map(|c| c.cost_us()).sum::<u64>()
            + self.deferpanic.iter().map(|c| c.cost_us()).sum::<u64>()
            + self.stackgrow.iter().map(|c| c.cost_us()).sum::<u64>()
            + self.expr.iter().map(|c| c.cost_us()).sum::<u64>()
            + self.smith.iter().map(|c| c.cost_us()).sum::<u64>()
    }

    /// A size measure that every [`shrink_candidates`] result is strictly
    /// below.
    pub fn weight(&self) -> u64 {
        if let Some(h) = self.hostile {
            return 1 + h as u64;
        }
        self.gomaxprocs.is_some() as u64
            + self.concurrent as u64
            + self.pressure.weight()
            + self.bigstack.iter().map(|c| c.weight()).sum::<u64>()
            + self.closures.iter().map(|c| c.weight()).sum::<u64>()
            + self.timers.iter().map(|c| c.weight()).sum::<u64>()
            + self.deferpanic.iter().map(|c| c.weight()).sum::<u64>()
            + self.stackgrow.iter().map(|c| c.weight()).sum::<u64>()
            + self.expr.iter().map(|c| c.weight()).sum::<u64>()
            + self.smith.iter().map(|c| c.weight()).sum::<u64>()
    }

    /// The program narrowed to where the static scan found windows: the
    /// bigstack drivers whose calls reach a function in `windowed` (symbols
    /// as the scan names them, e.g. `main.bs0f1`), with the iterations of
    /// everything dropped spent on them; other families go. The generator
    /// asks the oracle this way: build, scan, focus, so the executed
    /// instructions sit next to the windows. None when no bigstack function
    /// of the program is in `windowed`, or nothing would be dropped.
    pub fn focus_windows(&self, windowed: &BTreeSet<String>) -> Option<ProgramSpec> {
        if self.hostile.is_some() {
            return None;
        }
        let mut spec = self.clone();
        spec.normalize();
        let before = spec.cost_us().max(1);
        let kept: Vec<bigstack::BigstackCase> = spec
            .bigstack
            .iter()
            .enumerate()
            .filter_map(|(k, c)| c.focus(&format!("{}{k}", Family::Bigstack.prefix()), windowed))
            .collect();
        if kept.is_empty() {
            return None;
        }
        let mut out = ProgramSpec {
            bigstack: kept,
            ..ProgramSpec {
                gomaxprocs: spec.gomaxprocs,
                concurrent: spec.concurrent,
                pressure: spec.pressure.clone(),
                ..ProgramSpec::empty()
            }
        };
        // The time of the dropped cases goes to the kept ones (normalize
        // holds them to the bigstack budget).
        let after = out.cost_us().max(1);
        if after < before {
            for c in &mut out.bigstack {
                for d in &mut c.drivers {
                    d.iters = (d.iters as u64 * before / after).clamp(1, bigstack::MAX_ITERS as u64)
                        as u32;
                }
            }
        }
        out.normalize();
        (out != spec).then_some(out)
    }

    /// Clamp every field into what the renderer supports and keep the whole
    /// program inside [`BUDGET_US`]. Idempotent; [`render`] applies it.
    pub fn normalize(&mut self) {
        if self.hostile.is_some() {
            *self = ProgramSpec {
                hostile: self.hostile,
                ..ProgramSpec::empty()
            };
            return;
        }
        if let Some(n) = self.gomaxprocs {
            self.gomaxprocs = Some(n.clamp(1, 8));
        }
        self.pressure.normalize();
        // Timer yielders call runtime.Gosched in a loop: beside a spinner
        // that never yields, each call can wait out a 10 ms time slice.
        if self.pressure.spinners > 0 && self.timers.iter().any(|c| c.yielders.is_some()) {
            self.pressure.spinner_gosched = true;
        }
        // With one P the churn goroutine (which never yields) has the same
        // effect: 16 of 200 timers programs ran over 20 s on go1.14.2. One P
        // never shows golang/go#38023 anyway, so drop the yielders there.
        if self.gomaxprocs == Some(1) && self.pressure.churn.is_some() {
            self.timers.iter_mut().for_each(|c| c.yielders = None);
        }
        self.bigstack.truncate(MAX_CASES_PER_FAMILY);
        self.closures.truncate(MAX_CASES_PER_FAMILY);
        self.timers.truncate(MAX_CASES_PER_FAMILY);
        self.deferpanic.truncate(MAX_CASES_PER_FAMILY);
        self.stackgrow.truncate(MAX_CASES_PER_FAMILY);
        self.expr.truncate(MAX_CASES_PER_FAMILY);
        self.smith.truncate(MAX_CASES_PER_FAMILY);
        self.bigstack.iter_mut().for_each(|c| c.normalize());
        self.closures.iter_mut().for_each(|c| c.normalize());
        self.timers.iter_mut().for_each(|c| c.normalize());
        self.deferpanic.iter_mut().for_each(|c| c.normalize());
        self.stackgrow.iter_mut().for_each(|c| c.normalize());
        self.expr.iter_mut().for_each(|c| c.normalize());
        self.smith.iter_mut().for_each(|c| c.normalize());
        if self.case_count() < 2 {
            self.concurrent = false;
        }
        // Bigstack cases together stay inside their own budget (their run
        // time under single-step qemu is about 200x the native cost).
        // (Scaling never raises a count, so these loops end.)
        loop {
            let cost: u64 = self.bigstack.iter().map(|c| c.cost_us()).sum();
            if cost <= BIGSTACK_BUDGET_US {
                break;
            }
            let (num, den) = (BIGSTACK_BUDGET_US, cost + cost / 16 + 1);
            let before = self.bigstack.clone();
            self.bigstack.iter_mut().for_each(|c| c.scale(num, den));
            if self.bigstack == before {
                break;
            }
        }
        // Scale every case down by the same factor until the estimate fits;
        // when nothing scales any further, drop cases from the end. The
        // result is within budget, so normalising again changes nothing.
        loop {
            let cost = self.cost_us();
            if cost <= BUDGET_US {
                break;
            }
            let (num, den) = (BUDGET_US, cost + cost / 16 + 1);
            let before = self.clone();
            self.bigstack.iter_mut().for_each(|c| c.scale(num, den));
            self.closures.iter_mut().for_each(|c| c.scale(num, den));
            self.timers.iter_mut().for_each(|c| c.scale(num, den));
            self.deferpanic.iter_mut().for_each(|c| c.scale(num, den));
            self.stackgrow.iter_mut().for_each(|c| c.scale(num, den));
            self.expr.iter_mut().for_each(|c| c.scale(num, den));
            self.smith.iter_mut().for_each(|c| c.scale(num, den));
            if *self == before {
                if self.case_count() <= 1 {
                    break;
                }
                if self.smith.pop().is_none()
                    && self.expr.pop().is_none()
                    && self.stackgrow.pop().is_none()
                    && self.deferpanic.pop().is_none()
                    && self.timers.pop().is_none()
                    && self.closures.pop().is_none()
                {
                    self.bigstack.pop();
                }
                if self.case_count() < 2 {
                    self.concurrent = false;
                }
            }
        }
    }
}

/// Per-case rendering context.
pub(crate) struct CaseCtx {
    /// Identifier prefix, unique in the program (`bs0`, `tm1`, ...).
    pub(crate) id: String,
}

/// Weighted choice driven by the unstructured bytes.
pub(crate) fn pick<T: Copy>(u: &mut Unstructured, choices: &[(u32, T)]) -> arbitrary::Result<T> {
    let total: u32 = choices.iter().map(|c| c.0).sum();
    let mut x = u.int_in_range(0..=total.saturating_sub(1))?;
    for &(w, v) in choices {
        if x < w {
            return Ok(v);
        }
        x -= w;
    }
    Ok(choices[choices.len() - 1].1)
}

/// The deterministic bytes a seed expands to.
pub fn seed_bytes(seed: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut buf = vec![0u8; SEED_BYTES];
    rng.fill_bytes(&mut buf);
    buf
}

/// Generate the program for `seed` drawing from `families` (empty slice:
/// [`Family::DEFAULT`]). Deterministic.
pub fn generate(seed: u64, families: &[Family]) -> Program {
    let bytes = seed_bytes(seed);
    let spec = spec_from_bytes(&bytes, families).unwrap_or_else(|_| fallback_spec(families));
    render(&spec)
}

/// A fixed small spec, used only if the bytes cannot make one.
fn fallback_spec(families: &[Family]) -> ProgramSpec {
    let zeros = [0u8; 0];
    let mut u = Unstructured::new(&zeros);
    build_spec(&mut u, families).unwrap_or_else(|_| {
        let mut s = ProgramSpec::empty();
        s.deferpanic
            .push(deferpanic::DeferCase::arb(&mut Unstructured::new(&zeros)).unwrap());
        s.normalize();
        s
    })
}

/// Build a spec from arbitrary bytes, drawing from `families` (empty slice:
/// [`Family::DEFAULT`]). The result is normalised (bounded sizes).
pub fn spec_from_bytes(data: &[u8], families: &[Family]) -> arbitrary::Result<ProgramSpec> {
    let mut u = Unstructured::new(data);
    build_spec(&mut u, families)
}

fn build_spec(u: &mut Unstructured, families: &[Family]) -> arbitrary::Result<ProgramSpec> {
    let mut allowed: Vec<Family> = if families.is_empty() {
        Family::DEFAULT.to_vec()
    } else {
        families.to_vec()
    };
    allowed.sort();
    allowed.dedup();
    let primary = *u.choose(&allowed)?;
    let mut spec = ProgramSpec::empty();
    if primary == Family::Hostile {
        spec.hostile = Some(hostile::HostileKind::arbitrary(u)?);
        spec.normalize();
        return Ok(spec);
    }
    let mut fams = vec![primary];
    for &f in &allowed {
        if f != primary && f != Family::Hostile && u.ratio(1, 5)? {
            fams.push(f);
        }
    }
    fams.sort();
    for f in fams {
        let n = if u.ratio(1, 5)? { 2 } else { 1 };
        for _ in 0..n {
            match f {
                Family::Bigstack => spec.bigstack.push(bigstack::BigstackCase::arb(u)?),
                Family::Closures => spec.closures.push(closures::ClosureCase::arb(u)?),
                Family::Timers => spec.timers.push(timers::TimerCase::arb(u)?),
                Family::Deferpanic => spec.deferpanic.push(deferpanic::DeferCase::arb(u)?),
                Family::Stackgrow => spec.stackgrow.push(stackgrow::StackCase::arb(u)?),
                Family::Expr => spec.expr.push(expr::ExprCase::arb(u)?),
                Family::Smith => spec.smith.push(smith::SmithCase::arb(u)?),
                Family::Hostile => {}
            }
        }
    }
    // Stacks shrink only in a GC: the stackgrow family wants one running.
    let need_gc =
        !spec.bigstack.is_empty() || !spec.timers.is_empty() || !spec.stackgrow.is_empty();
    spec.pressure = pressure::Pressure::arb(u, need_gc, !spec.timers.is_empty())?;
    // Expressions are compiler bugs: runtime pressure only slows them down.
    if spec.families() == [Family::Expr] {
        spec.pressure = pressure::Pressure::default();
    }
    spec.gomaxprocs = if !spec.timers.is_empty() {
        // The timer family varies GOMAXPROCS between 1 and the core count.
        Some(pick(u, &[(2, 1u8), (5, 2), (2, 3), (1, 4)])?)
    } else if !spec.bigstack.is_empty() {
        // The epilogue race wants a GC worker and the caller running at once.
        pick(u, &[(6, None), (3, Some(2u8)), (1, Some(4))])?
    } else {
        pick(u, &[(6, None), (1, Some(1u8)), (2, Some(2)), (1, Some(4))])?
    };
    spec.concurrent = u.ratio(1, 2)?;
    spec.normalize();
    Ok(spec)
}

/// Render a spec to Go source. Pure and deterministic; the spec is
/// normalised first, so any deserialised spec renders to a bounded program.
pub fn render(spec: &ProgramSpec) -> Program {
    let mut spec = spec.clone();
    spec.normalize();
    let main_go = if let Some(h) = spec.hostile {
        hostile::render(h)
    } else {
        render_program(&spec)
    };
    Program {
        spec,
        main_go,
        go_mod: GO_MOD.to_string(),
    }
}

fn render_program(spec: &ProgramSpec) -> String {
    let mut unit = Unit::default();
    unit.import("fmt");

    let mut s = Src::new();
    s.open("func mix(h, v uint64) uint64 {");
    s.line("h ^= v");
    s.line("h *= 1099511628211");
    s.line("return h ^ h>>29");
    s.close("}");
    unit.decl(s);

    if spec.gomaxprocs.is_some() {
        unit.import("runtime");
        let mut s = Src::new();
        s.open("func procs(n int) int {");
        s.open("if c := runtime.NumCPU(); n > c {");
        s.line("return c");
        s.close("}");
        s.line("return n");
        s.close("}");
        unit.decl(s);
    }

    let starts = spec.pressure.render(&mut unit);

    // Cases, in family order.
    let mut runs: Vec<(String, String)> = Vec::new();
    for (k, c) in spec.bigstack.iter().enumerate() {
        let cx = CaseCtx {
            id: format!("{}{k}", Family::Bigstack.prefix()),
        };
        runs.push((cx.id.clone(), c.render(&cx, &mut unit)));
    }
    for (k, c) in spec.closures.iter().enumerate() {
        let cx = CaseCtx {
            id: format!("{}{k}", Family::Closures.prefix()),
        };
        runs.push((cx.id.clone(), c.render(&cx, &mut unit)));
    }
    for (k, c) in spec.timers.iter().enumerate() {
        let cx = CaseCtx {
            id: format!("{}{k}", Family::Timers.prefix()),
        };
        runs.push((cx.id.clone(), c.render(&cx, &mut unit)));
    }
    for (k, c) in spec.deferpanic.iter().enumerate() {
        let cx = CaseCtx {
            id: format!("{}{k}", Family::Deferpanic.prefix()),
        };
        runs.push((cx.id.clone(), c.render(&cx, &mut unit)));
    }
    for (k, c) in spec.stackgrow.iter().enumerate() {
        let cx = CaseCtx {
            id: format!("{}{k}", Family::Stackgrow.prefix()),
        };
        runs.push((cx.id.clone(), c.render(&cx, &mut unit)));
    }
    for (k, c) in spec.expr.iter().enumerate() {
        let cx = CaseCtx {
            id: format!("{}{k}", Family::Expr.prefix()),
        };
        runs.push((cx.id.clone(), c.render(&cx, &mut unit)));
    }
    for (k, c) in spec.smith.iter().enumerate() {
        let cx = CaseCtx {
            id: format!("{}{k}", Family::Smith.prefix()),
        };
        runs.push((cx.id.clone(), c.render(&cx, &mut unit)));
    }

    let mut m = Src::new();
    m.open("func main() {");
    if let Some(n) = spec.gomaxprocs {
        m.line(format!("runtime.GOMAXPROCS(procs({n}))"));
    }
    if let Some(p) = spec.pressure.gc_percent {
        unit.import("runtime/debug");
        m.line(format!("debug.SetGCPercent({p})"));
    }
    if !starts.is_empty() {
        m.line("stop := make(chan struct{})");
        m.line("var bg sync.WaitGroup");
        m.line(format!("bg.Add({})", starts.len()));
        for st in &starts {
            m.line(st);
        }
    }
    if spec.concurrent && runs.len() > 1 {
        unit.import("sync");
        m.line(format!("res := make([]uint64, {})", runs.len()));
        m.line("var wg sync.WaitGroup");
        m.line(format!("wg.Add({})", runs.len()));
        for (k, (_, run)) in runs.iter().enumerate() {
            m.open("go func() {");
            m.line("defer wg.Done()");
            m.line(format!("res[{k}] = {run}()"));
            m.close("}()");
        }
        m.line("wg.Wait()");
        for (k, (id, _)) in runs.iter().enumerate() {
            m.line(format!("r{k} := res[{k}]"));
            m.line(format!("fmt.Printf(\"{id} %016x\\n\", r{k})"));
        }
    } else {
        for (k, (id, run)) in runs.iter().enumerate() {
            m.line(format!("r{k} := {run}()"));
            m.line(format!("fmt.Printf(\"{id} %016x\\n\", r{k})"));
        }
    }
    m.line("var h uint64 = 14695981039346656037");
    for k in 0..runs.len() {
        m.line(format!("h = mix(h, r{k})"));
    }
    if !starts.is_empty() {
        m.line("close(stop)");
        m.line("bg.Wait()");
    }
    m.line("fmt.Printf(\"checksum: %016x\\n\", h)");
    m.close("}");
    unit.decl(m);
    unit.assemble()
}
