//! `smith`: general random Go programs, in the manner of Csmith and
//! gosmith: types (every fixed-width integer, bool, exact float64, strings,
//! arrays, structs, pointers, slices, maps, an interface with methods on
//! value and pointer receivers, func values and closures), functions with
//! several parameters and results (named results too) calling each other
//! along a call DAG, and statements of every kind: assignment and
//! op-assignment, `if`/`else`, counted and range loops with `break`,
//! `continue` and labels, `switch` with `fallthrough`, type switches,
//! forward `goto`, `select` over buffered channels, `defer` and `recover`,
//! run-time errors placed on purpose and recovered, and goroutines joined
//! in a fixed order.
//!
//! A case is a seed for the body plus the knobs that bound it and the set
//! of features it may use (swarm testing: each program draws which
//! features are on). The body is drawn from a ChaCha stream of the case's
//! seed, so the same case always renders the same Go.
//!
//! What keeps every program valid, bounded and deterministic:
//! - Types and scopes are tracked while writing, so every expression has
//!   the type its place wants; every variable a block declares is folded
//!   into the function's hash `h` at the block's end (so none is unused and
//!   every value feeds the checksum); every function returns `h` folded
//!   into its last result, and the driver folds every result and, at the
//!   end, every global.
//! - No operation has only constant operands (a constant that overflows
//!   its type does not compile); divisors are `(d | 1)`, shift counts
//!   unsigned, indices reduced modulo the length, pointers never nil, maps
//!   keyed within 16 values, strings cut to 24 bytes on assignment, floats
//!   sums and products of at most three 16-bit integers (exact on every
//!   architecture, fused or not).
//! - Work is counted: a function calls only functions after it (a DAG,
//!   no recursion), loops have constant trip counts and a loop index is
//!   never assigned, and every statement is charged to a budget that the
//!   loops around it multiply.
//! - Goroutines run only *pure* functions (no globals, value parameters),
//!   and are joined before their results are read, in a fixed order;
//!   `select` has at most one ready case, or none and a `default`; maps
//!   are folded in sorted key order or with commutative sums.
//! - Run-time errors (index out of range, division by zero, nil map
//!   write, nil dereference, failed type assertion, explicit panic) occur
//!   only inside a closure whose deferred `recover` folds the fact.

use super::gofmt;
use super::src::{Src, Unit};
use super::CaseCtx;
use arbitrary::{Arbitrary, Result, Unstructured};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Something a smith program may contain; each program turns on a subset.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Arbitrary,
)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Structs,
    Arrays,
    Slices,
    Maps,
    Pointers,
    Strings,
    Floats,
    Interfaces,
    Closures,
    Methods,
    Loops,
    Labels,
    Switch,
    TypeSwitch,
    Goto,
    Select,
    Defer,
    Traps,
    Goroutines,
    MultiResults,
    NamedResults,
}

impl Feature {
    pub const ALL: [Feature; 21] = [
        Feature::Structs,
        Feature::Arrays,
        Feature::Slices,
        Feature::Maps,
        Feature::Pointers,
        Feature::Strings,
        Feature::Floats,
        Feature::Interfaces,
        Feature::Closures,
        Feature::Methods,
        Feature::Loops,
        Feature::Labels,
        Feature::Switch,
        Feature::TypeSwitch,
        Feature::Goto,
        Feature::Select,
        Feature::Defer,
        Feature::Traps,
        Feature::Goroutines,
        Feature::MultiResults,
        Feature::NamedResults,
    ];
}

/// One smith program body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmithCase {
    /// Seeds the ChaCha stream the body is drawn from.
    pub seed: u64,
    /// Functions besides the driver (1..=MAX_FUNCS).
    pub funcs: u8,
    /// Statements per block, at most.
    pub stmts: u8,
    /// How often the driver calls the first function.
    pub iters: u32,
    /// The features this program may use (swarm testing).
    pub features: BTreeSet<Feature>,
}

pub const MAX_FUNCS: u8 = 8;
const MAX_STMTS: u8 = 8;
pub const MAX_ITERS: u32 = 200;
/// Work units one call of the first function may cost, at most.
const BUDGET: u64 = 6000;
/// Longest statement-level expression, in bytes (with indentation and the
/// statement around it, lines stay under check::MAX_LINE_BYTES).
const MAX_EXPR_BYTES: usize = 110;
/// Longest composite literal's elements, in bytes.
const MAX_ELEMS_BYTES: usize = 100;
/// Native microseconds per driver iteration (measured: a full-budget body
/// runs in well under this on amd64).
const US_PER_ITER: u64 = 60;

impl SmithCase {
    pub(crate) fn arb(u: &mut Unstructured) -> Result<SmithCase> {
        let mut features = BTreeSet::new();
        // Swarm: each feature on with probability 2/3, from the seed.
        for f in Feature::ALL {
            if u.ratio(2, 3)? {
                features.insert(f);
            }
        }
        let mut c = SmithCase {
            seed: u64::arbitrary(u)?,
            funcs: u.int_in_range(2..=MAX_FUNCS)?,
            stmts: u.int_in_range(3..=MAX_STMTS)?,
            iters: u.int_in_range(20..=MAX_ITERS)?,
            features,
        };
        c.normalize();
        Ok(c)
    }

    pub(crate) fn normalize(&mut self) {
        self.funcs = self.funcs.clamp(1, MAX_FUNCS);
        self.stmts = self.stmts.clamp(1, MAX_STMTS);
        self.iters = self.iters.clamp(1, MAX_ITERS);
    }

    pub(crate) fn cost_us(&self) -> u64 {
        self.iters as u64 * US_PER_ITER
    }

    pub(crate) fn scale(&mut self, num: u64, den: u64) {
        self.iters = ((self.iters as u64 * num / den.max(1)) as u32).max(1);
    }

    pub(crate) fn weight(&self) -> u64 {
        self.funcs as u64 * 8
            + self.stmts as u64 * 4
            + self.features.len() as u64 * 2
            + (self.iters > 1) as u64
    }

    /// Strictly lighter variants: fewer functions or statements, a feature
    /// off, one iteration.
    pub(crate) fn shrink(&self) -> Vec<SmithCase> {
        let mut out = Vec::new();
        if self.funcs > 1 {
            out.push(SmithCase {
                funcs: self.funcs / 2,
                ..self.clone()
            });
            out.push(SmithCase {
                funcs: self.funcs - 1,
                ..self.clone()
            });
        }
        if self.stmts > 1 {
            out.push(SmithCase {
                stmts: self.stmts / 2,
                ..self.clone()
            });
            out.push(SmithCase {
                stmts: self.stmts - 1,
                ..self.clone()
            });
        }
        if !self.features.is_empty() {
            out.push(SmithCase {
                features: BTreeSet::new(),
                ..self.clone()
            });
        }
        for f in &self.features {
            let mut c = self.clone();
            c.features.remove(f);
            out.push(c);
        }
        if self.iters > 1 {
            out.push(SmithCase {
                iters: 1,
                ..self.clone()
            });
        }
        out.dedup();
        out
    }

    /// Declarations into `unit`; returns the name of the driver
    /// (`func() uint64`).
    pub(crate) fn render(&self, cx: &CaseCtx, unit: &mut Unit) -> String {
        let mut g = Gen::new(self, &cx.id);
        g.program(unit)
    }
}

// ---------------------------------------------------------------------
// Types

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum IntT {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl IntT {
    const ALL: [IntT; 8] = [
        IntT::I8,
        IntT::I16,
        IntT::I32,
        IntT::I64,
        IntT::U8,
        IntT::U16,
        IntT::U32,
        IntT::U64,
    ];
    fn go(self) -> &'static str {
        match self {
            IntT::I8 => "int8",
            IntT::I16 => "int16",
            IntT::I32 => "int32",
            IntT::I64 => "int64",
            IntT::U8 => "uint8",
            IntT::U16 => "uint16",
            IntT::U32 => "uint32",
            IntT::U64 => "uint64",
        }
    }
    fn width(self) -> u32 {
        match self {
            IntT::I8 | IntT::U8 => 8,
            IntT::I16 | IntT::U16 => 16,
            IntT::I32 | IntT::U32 => 32,
            IntT::I64 | IntT::U64 => 64,
        }
    }
    fn signed(self) -> bool {
        matches!(self, IntT::I8 | IntT::I16 | IntT::I32 | IntT::I64)
    }
    fn lo(self) -> i128 {
        if self.signed() {
            -(1i128 << (self.width() - 1))
        } else {
            0
        }
    }
    fn hi(self) -> i128 {
        if self.signed() {
            (1i128 << (self.width() - 1)) - 1
        } else {
            (1i128 << self.width()) - 1
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Ty {
    Int(IntT),
    Bool,
    F64,
    Str,
    /// `[n]T`, T an integer.
    Arr(IntT, u8),
    /// `[]T`, T an integer; never empty.
    Slice(IntT),
    /// `*T`, never nil.
    Ptr(Box<Ty>),
    /// A struct type of the case, by index.
    Struct(usize),
    /// `map[K]V`, both integers.
    Map(IntT, IntT),
    /// The case's interface type; never nil.
    Iface,
    /// `func(P) R`; never nil.
    Func(IntT, IntT),
}

impl Ty {
    fn is_scalar(&self) -> bool {
        matches!(self, Ty::Int(_) | Ty::Bool | Ty::F64 | Ty::Str)
    }
}

struct StructDef {
    fields: Vec<Ty>,
    /// Has the interface's method, on a pointer receiver when true.
    iface: Option<bool>,
}

#[derive(Clone)]
struct FuncSig {
    params: Vec<Ty>,
    results: Vec<Ty>,
    named: bool,
    pure: bool,
    cost: u64,
}

#[derive(Clone)]
struct Var {
    name: String,
    ty: Ty,
    /// Loop indices and range values are never assigned.
    readonly: bool,
}

/// Where the statements being written stand.
#[derive(Clone, Default)]
struct Ctx {
    /// Index of the function being written (calls go to higher ones only).
    func: usize,
    pure: bool,
    /// Loop nesting: labels of the enclosing loops (None: unlabelled so far).
    loops: Vec<LoopCtx>,
    /// Inside a switch clause (a plain `break` ends the switch).
    in_switch: bool,
    /// Inside a recover-protected closure (traps allowed).
    protected: bool,
    /// Inside a closure literal (no goto, no labels from outside).
    in_closure: bool,
    /// Package level: constant leaves only (no `h`, no variables).
    consts_only: bool,
    /// Inside a func literal that may outlive the statement (no calls:
    /// its cost is paid where it is called).
    lambda: bool,
    /// Work multiplier of the loops around.
    mult: u64,
    depth: u32,
}

#[derive(Clone)]
struct LoopCtx {
    label: String,
    used: std::rc::Rc<std::cell::Cell<bool>>,
}

struct Gen<'a> {
    case: &'a SmithCase,
    rng: ChaCha8Rng,
    id: String,
    structs: Vec<StructDef>,
    funcs: Vec<FuncSig>,
    globals: Vec<Var>,
    /// Local scopes of the function being written, innermost last.
    scopes: Vec<Vec<Var>>,
    counter: usize,
    /// Fold helpers needed, by type.
    folds: BTreeMap<Ty, String>,
    fold_src: Vec<Src>,
    imports: BTreeSet<&'static str>,
    /// Package-level func values declared, by name.
    helpers: BTreeSet<String>,
    /// Budget left in the function being written.
    budget: u64,
    /// Work charged in the function being written.
    spent: u64,
}

/// One statement as lines with relative indentation.
type Lines = Vec<(usize, String)>;

fn push(out: &mut Lines, ind: usize, s: impl Into<String>) {
    out.push((ind, s.into()));
}

/// A condition of `if`/`switch`: gofmt drops the outer parentheses.
fn cond(e: &str) -> String {
    let mut e = gofmt::expr(e);
    while e.starts_with('(') && e.ends_with(')') && balanced(&e[1..e.len() - 1]) {
        e = e[1..e.len() - 1].to_string();
    }
    e
}

/// Whether the parentheses of `s` balance without going below zero.
fn balanced(s: &str) -> bool {
    let mut d = 0i32;
    for c in s.chars() {
        match c {
            '(' => d += 1,
            ')' => d -= 1,
            _ => {}
        }
        if d < 0 {
            return false;
        }
    }
    d == 0
}

/// The operands of a chain of `op` (`&&` or `||`) through parentheses,
/// blanks removed: what vet's redundancy check compares.
fn chain_terms(e: &str, op: &str) -> Vec<String> {
    let mut e = e.trim();
    while e.starts_with('(') && e.ends_with(')') && balanced(&e[1..e.len() - 1]) {
        e = e[1..e.len() - 1].trim();
    }
    let sep = format!(" {op} ");
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    let b = e.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            _ if depth == 0 && b[i..].starts_with(sep.as_bytes()) => {
                parts.push(&e[start..i]);
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if parts.is_empty() {
        return vec![e.replace(' ', "")];
    }
    parts.push(&e[start..]);
    parts.iter().flat_map(|p| chain_terms(p, op)).collect()
}

/// `lhs op rhs` with the right-hand side spaced as gofmt spaces it.
fn assign(lhs: &str, op: &str, rhs: &str) -> String {
    format!("{lhs} {op} {}", gofmt::expr(rhs))
}

fn indent(out: &mut Lines, inner: Lines, by: usize) {
    for (i, s) in inner {
        out.push((i + by, s));
    }
}

impl<'a> Gen<'a> {
    fn new(case: &'a SmithCase, id: &str) -> Gen<'a> {
        Gen {
            case,
            rng: ChaCha8Rng::seed_from_u64(case.seed),
            id: id.to_string(),
            structs: Vec::new(),
            funcs: Vec::new(),
            globals: Vec::new(),
            scopes: Vec::new(),
            counter: 0,
            folds: BTreeMap::new(),
            fold_src: Vec::new(),
            imports: BTreeSet::new(),
            helpers: BTreeSet::new(),
            budget: 0,
            spent: 0,
        }
    }

    fn on(&self, f: Feature) -> bool {
        self.case.features.contains(&f)
    }

    fn chance(&mut self, num: u32, den: u32) -> bool {
        self.rng.gen_ratio(num.min(den), den)
    }

    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.rng.gen_range(0..n)
        }
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{what}{}", self.counter)
    }

    fn gname(&self, what: &str, k: usize) -> String {
        format!("{}{what}{k}", self.id)
    }

    fn struct_name(&self, k: usize) -> String {
        self.gname("S", k)
    }

    fn iface_name(&self) -> String {
        format!("{}I", self.id)
    }

    fn go_ty(&self, t: &Ty) -> String {
        match t {
            Ty::Int(i) => i.go().to_string(),
            Ty::Bool => "bool".into(),
            Ty::F64 => "float64".into(),
            Ty::Str => "string".into(),
            Ty::Arr(e, n) => format!("[{n}]{}", e.go()),
            Ty::Slice(e) => format!("[]{}", e.go()),
            Ty::Ptr(x) => format!("*{}", self.go_ty(x)),
            Ty::Struct(k) => self.struct_name(*k),
            Ty::Map(k, v) => format!("map[{}]{}", k.go(), v.go()),
            Ty::Iface => self.iface_name(),
            Ty::Func(p, r) => format!("func({}) {}", p.go(), r.go()),
        }
    }

    fn int_t(&mut self) -> IntT {
        IntT::ALL[self.below(8)]
    }

    /// A scalar type the features allow.
    fn scalar_ty(&mut self) -> Ty {
        let mut opts = vec![Ty::Int(self.int_t()), Ty::Int(self.int_t()), Ty::Bool];
        if self.on(Feature::Strings) {
            opts.push(Ty::Str);
        }
        if self.on(Feature::Floats) {
            opts.push(Ty::F64);
        }
        let k = self.below(opts.len());
        opts.swap_remove(k)
    }

    /// A type for a variable: scalar or composite, as the features allow.
    fn var_ty(&mut self, pure: bool) -> Ty {
        let mut opts: Vec<Ty> = vec![self.scalar_ty(), self.scalar_ty()];
        if self.on(Feature::Arrays) {
            opts.push(Ty::Arr(self.int_t(), self.rng.gen_range(1..=8)));
        }
        if self.on(Feature::Slices) {
            opts.push(Ty::Slice(self.int_t()));
        }
        if self.on(Feature::Maps) {
            opts.push(Ty::Map(self.int_t(), self.int_t()));
        }
        if self.on(Feature::Structs) && !self.structs.is_empty() {
            opts.push(Ty::Struct(self.below(self.structs.len())));
        }
        if self.on(Feature::Interfaces) && self.structs.iter().any(|s| s.iface.is_some()) {
            opts.push(Ty::Iface);
        }
        if self.on(Feature::Pointers) && !pure {
            let inner =
                if self.on(Feature::Structs) && !self.structs.is_empty() && self.chance(1, 2) {
                    Ty::Struct(self.below(self.structs.len()))
                } else {
                    Ty::Int(self.int_t())
                };
            opts.push(Ty::Ptr(Box::new(inner)));
        }
        if self.on(Feature::Closures) {
            opts.push(Ty::Func(self.int_t(), self.int_t()));
        }
        let k = self.below(opts.len());
        opts.swap_remove(k)
    }

    // -----------------------------------------------------------------
    // Scopes

    fn visible(&self, pure: bool) -> Vec<Var> {
        let mut v: Vec<Var> = self.scopes.iter().flatten().cloned().collect();
        if !pure {
            v.extend(self.globals.iter().cloned());
        }
        // Inner declarations shadow nothing (names are unique), so no
        // filtering is needed.
        v
    }

    /// Names of the visible variables `keep` accepts, in [`Gen::visible`]'s
    /// order.
    fn names(&self, cx: &Ctx, keep: impl Fn(&Var) -> bool) -> Vec<String> {
        self.visible(cx.pure)
            .into_iter()
            .filter(|v| keep(v))
            .map(|v| v.name)
            .collect()
    }

    fn declare(&mut self, name: &str, ty: Ty, readonly: bool) {
        self.scopes.last_mut().expect("a scope").push(Var {
            name: name.to_string(),
            ty,
            readonly,
        });
    }

    fn charge(&mut self, cx: &Ctx, units: u64) {
        self.spent += units * cx.mult;
    }

    fn left(&self) -> u64 {
        self.budget.saturating_sub(self.spent)
    }

    // -----------------------------------------------------------------
    // Literals and expressions

    fn lit_int(&mut self, t: IntT) -> String {
        let v: i128 = match self.below(6) {
            0 => 0,
            1 => 1,
            2 => t.hi(),
            3 => t.lo(),
            4 => self.rng.gen_range(-3i128..=40),
            _ => 1i128 << self.below(t.width() as usize),
        };
        let v = v.clamp(t.lo(), t.hi());
        if v < 0 {
            format!("({v})")
        } else {
            v.to_string()
        }
    }

    fn lit_str(&mut self) -> String {
        const S: [&str; 7] = ["", "a", "go", "xyz", "héllo", "0123456789", "ü€"];
        format!("\"{}\"", S[self.below(S.len())])
    }

    /// An expression of type `t` (as unformatted text) and whether it is a
    /// constant. Charges its work.
    fn expr(&mut self, cx: &Ctx, t: &Ty, depth: u32) -> (String, bool) {
        // Lines stay readable (check::MAX_LINE_BYTES): a statement-level
        // expression that comes out long is drawn again, then as a leaf.
        if depth <= 1 {
            for _ in 0..4 {
                let r = self.expr_once(cx, t, depth);
                if r.0.len() <= MAX_EXPR_BYTES {
                    return r;
                }
            }
            return self.expr_once(cx, t, 3);
        }
        self.expr_once(cx, t, depth)
    }

    /// An expression of scalar type `t` of at most about `max` bytes.
    fn short(&mut self, cx: &Ctx, t: &Ty, max: usize) -> String {
        for _ in 0..4 {
            let (e, _) = self.expr_once(cx, t, 2);
            if e.len() <= max {
                return e;
            }
        }
        self.expr_once(cx, t, 3).0
    }

    fn expr_once(&mut self, cx: &Ctx, t: &Ty, depth: u32) -> (String, bool) {
        self.charge(cx, 1);
        if cx.consts_only {
            return match t {
                Ty::Int(i) => (self.lit_int(*i), true),
                Ty::Bool => (["true", "false"][self.below(2)].to_string(), true),
                Ty::F64 => (format!("{}.5", self.below(100)), true),
                Ty::Str => (self.lit_str(), true),
                _ => (self.composite_value(cx, t), false),
            };
        }
        match t {
            Ty::Int(i) => self.int_expr(cx, *i, depth),
            Ty::Bool => (self.bool_expr(cx, depth), false),
            Ty::F64 => (self.f64_expr(cx, depth), false),
            Ty::Str => self.str_expr(cx, depth),
            _ => (self.composite_value(cx, t), false),
        }
    }

    /// A non-constant expression of type `t`.
    fn nexpr(&mut self, cx: &Ctx, t: &Ty, depth: u32) -> String {
        let (e, c) = self.expr(cx, t, depth);
        if !c || cx.consts_only {
            return e;
        }
        match t {
            Ty::Int(i) => format!("({e} ^ {}(h))", i.go()),
            _ => e,
        }
    }

    /// Places that read a value of integer type `i`: variables, fields,
    /// elements, dereferences, map lookups, lengths.
    fn int_reads(&mut self, cx: &Ctx, i: IntT) -> Vec<String> {
        let mut out = Vec::new();
        let vars = self.visible(cx.pure);
        for v in &vars {
            match &v.ty {
                Ty::Int(t) if *t == i => out.push(v.name.clone()),
                Ty::Arr(t, n) if *t == i => {
                    let k = self.index_expr(cx, *n as usize);
                    out.push(format!("{}[{k}]", v.name));
                }
                Ty::Slice(t) if *t == i => {
                    let k = self.idx_src(cx);
                    out.push(format!("{}[{k}%uint64(len({}))]", v.name, v.name));
                }
                Ty::Ptr(b) if **b == Ty::Int(i) => out.push(format!("(*{})", v.name)),
                Ty::Map(k, t) if *t == i => {
                    let key = self.map_key(cx, *k);
                    out.push(format!("{}[{key}]", v.name));
                }
                Ty::Struct(s) => {
                    for (f, ft) in self.structs[*s].fields.iter().enumerate() {
                        if *ft == Ty::Int(i) {
                            out.push(format!("{}.f{f}", v.name));
                        }
                    }
                }
                Ty::Ptr(b) => {
                    if let Ty::Struct(s) = **b {
                        for (f, ft) in self.structs[s].fields.iter().enumerate() {
                            if *ft == Ty::Int(i) {
                                out.push(format!("{}.f{f}", v.name));
                            }
                        }
                    }
                }
                Ty::Str if i == IntT::U8 => {
                    let k = self.idx_src(cx);
                    out.push(format!("{}at({}, {k})", self.id, v.name));
                }
                _ => {}
            }
        }
        out
    }

    /// A uint index source (not constant).
    fn idx_src(&mut self, cx: &Ctx) -> String {
        let ints: Vec<String> = self.names(cx, |v| matches!(v.ty, Ty::Int(_)));
        if ints.is_empty() || self.chance(1, 4) {
            "uint64(h)".into()
        } else {
            let k = self.below(ints.len());
            format!("uint64({})", ints[k])
        }
    }

    fn index_expr(&mut self, cx: &Ctx, n: usize) -> String {
        let src = self.idx_src(cx);
        format!("{src}%{n}")
    }

    fn map_key(&mut self, cx: &Ctx, k: IntT) -> String {
        let src = self.idx_src(cx);
        format!("{}({src}&15)", k.go())
    }

    fn int_expr(&mut self, cx: &Ctx, i: IntT, depth: u32) -> (String, bool) {
        let leaf = depth >= 3 || self.chance(1, 3);
        if leaf {
            let reads = self.int_reads(cx, i);
            if !reads.is_empty() && self.chance(4, 5) {
                let k = self.below(reads.len());
                return (reads[k].clone(), false);
            }
            if self.chance(2, 3) {
                // A value of another width, converted.
                let from = self.int_t();
                let other = self.int_reads(cx, from);
                if !other.is_empty() {
                    let k = self.below(other.len());
                    return (format!("{}({})", i.go(), other[k]), false);
                }
            }
            if self.chance(1, 2) {
                return (self.lit_int(i), true);
            }
            return (format!("{}(h)", i.go()), false);
        }
        match self.below(12) {
            0..=4 => {
                // Binary arithmetic; at least one operand not constant.
                const OPS: [&str; 7] = ["+", "-", "*", "&", "|", "^", "&^"];
                let op = OPS[self.below(OPS.len())];
                let (a, ac) = self.int_expr(cx, i, depth + 1);
                let b = if ac {
                    self.nexpr(cx, &Ty::Int(i), depth + 1)
                } else {
                    self.int_expr(cx, i, depth + 1).0
                };
                (format!("({a} {op} {b})"), false)
            }
            5 => {
                let a = self.nexpr(cx, &Ty::Int(i), depth + 1);
                let (b, _) = self.int_expr(cx, i, depth + 1);
                let op = if self.chance(1, 2) { "/" } else { "%" };
                (format!("({a} {op} ({b} | 1))"), false)
            }
            6 => {
                let a = self.nexpr(cx, &Ty::Int(i), depth + 1);
                let st = self.int_t();
                let (b, bc) = self.int_expr(cx, st, depth + 1);
                let op = if self.chance(1, 2) { "<<" } else { ">>" };
                let count = if bc {
                    // A constant count: keep it in range of the width.
                    format!("{}", self.below(i.width() as usize + 2))
                } else if st.signed() {
                    format!("uint8({b})")
                } else {
                    b
                };
                (format!("({a} {op} {count})"), false)
            }
            7 if self.on(Feature::Floats) && self.chance(1, 3) => {
                // A round trip through float64 of a value that fits it and
                // the result exactly: uint64(float64(x)) is a branch on
                // amd64 (golang/go#49282 needed one in a function with
                // open-coded defers).
                let inner = match i {
                    IntT::U64 => [IntT::U8, IntT::U16, IntT::U32][self.below(3)],
                    IntT::I64 => [IntT::I32, IntT::U32, IntT::I16][self.below(3)],
                    _ => i,
                };
                let a = self.nexpr(cx, &Ty::Int(inner), depth + 1);
                (format!("{}(float64({a}))", i.go()), false)
            }
            7 => {
                // Conversion from another width.
                let from = self.int_t();
                let a = self.nexpr(cx, &Ty::Int(from), depth + 1);
                (format!("{}({a})", i.go()), false)
            }
            8 => {
                let a = self.nexpr(cx, &Ty::Int(i), depth + 1);
                let op = if self.chance(1, 2) { "-" } else { "^" };
                (format!("{op}{a}"), false)
            }
            9 => {
                if let Some(c) = self.call_expr(cx, &Ty::Int(i), depth) {
                    return (c, false);
                }
                self.int_expr(cx, i, depth + 1)
            }
            10 => {
                // len of a slice, map or string.
                let lens: Vec<String> =
                    self.names(cx, |v| matches!(v.ty, Ty::Slice(_) | Ty::Map(..) | Ty::Str));
                if lens.is_empty() {
                    return self.int_expr(cx, i, depth + 1);
                }
                let k = self.below(lens.len());
                (format!("{}(len({}))", i.go(), lens[k]), false)
            }
            _ => {
                // Calls through func values, methods and the interface.
                if let Some(c) = self.indirect_call(cx, i, depth) {
                    return (c, false);
                }
                self.int_expr(cx, i, depth + 1)
            }
        }
    }

    fn indirect_call(&mut self, cx: &Ctx, i: IntT, depth: u32) -> Option<String> {
        let mut opts: Vec<(String, IntT)> = Vec::new();
        for v in self.visible(cx.pure) {
            match &v.ty {
                Ty::Func(p, r) if *r == i => opts.push((v.name.clone(), *p)),
                Ty::Iface if i == IntT::I64 => opts.push((format!("{}.Get", v.name), IntT::I32)),
                // A method called directly (value or pointer receiver; a
                // pointer method of a value variable takes its address).
                Ty::Struct(s) if i == IntT::I64 && self.structs[*s].iface.is_some() => {
                    opts.push((format!("{}.Get", v.name), IntT::I32));
                }
                Ty::Ptr(b) if i == IntT::I64 && self.has_get(b) => {
                    opts.push((format!("{}.Get", v.name), IntT::I32));
                }
                _ => {}
            }
        }
        if opts.is_empty() {
            return None;
        }
        let k = self.below(opts.len());
        let (f, p) = opts[k].clone();
        let a = self.int_expr(cx, p, depth + 1).0;
        self.charge(cx, 8);
        Some(format!("{f}({a})"))
    }

    fn has_get(&self, t: &Ty) -> bool {
        matches!(t, Ty::Struct(s) if self.structs[*s].iface.is_some())
    }

    fn bool_expr(&mut self, cx: &Ctx, depth: u32) -> String {
        let bools: Vec<String> = self.names(cx, |v| v.ty == Ty::Bool);
        if depth >= 3 || self.chance(1, 4) {
            if !bools.is_empty() && self.chance(2, 3) {
                let k = self.below(bools.len());
                return bools[k].clone();
            }
            return "(h&1 == 1)".into();
        }
        match self.below(8) {
            0..=3 => {
                let i = self.int_t();
                let a = self.nexpr(cx, &Ty::Int(i), depth + 1);
                let (b, _) = self.int_expr(cx, i, depth + 1);
                const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];
                let op = OPS[self.below(6)];
                format!("({a} {op} {b})")
            }
            4 => {
                let a = self.bool_expr(cx, depth + 1);
                let b = self.bool_expr(cx, depth + 1);
                let op = if self.chance(1, 2) { "&&" } else { "||" };
                // vet rejects a chain of one operator that holds the same
                // operand twice (`p && (q && p)`).
                let mut terms = chain_terms(&a, op);
                terms.extend(chain_terms(&b, op));
                let n = terms.len();
                terms.sort();
                terms.dedup();
                if terms.len() < n {
                    return a;
                }
                format!("({a} {op} {b})")
            }
            5 => format!("!{}", self.bool_expr(cx, depth + 1)),
            6 if self.on(Feature::Strings) => {
                let a = self.str_expr(cx, depth + 1).0;
                let b = self.str_expr(cx, depth + 1).0;
                let op = ["==", "!=", "<", ">="][self.below(4)];
                format!("({a} {op} {b})")
            }
            7 if self.on(Feature::Floats) => {
                let a = self.f64_expr(cx, depth + 1);
                let b = self.f64_expr(cx, depth + 1);
                let op = ["==", "<", ">"][self.below(3)];
                format!("({a} {op} {b})")
            }
            _ => {
                if let Some(c) = self.call_expr(cx, &Ty::Bool, depth) {
                    return c;
                }
                self.bool_expr(cx, depth + 1)
            }
        }
    }

    /// A float64 leaf: an integer of at most 16 bits, converted.
    fn f64_leaf(&mut self, cx: &Ctx) -> String {
        let t = [IntT::I8, IntT::I16, IntT::U8, IntT::U16][self.below(4)];
        let a = self.nexpr(cx, &Ty::Int(t), 3);
        format!("float64({a})")
    }

    /// Sums and products of at most three 16-bit leaves: exact in float64.
    fn f64_expr(&mut self, cx: &Ctx, depth: u32) -> String {
        let a = self.f64_leaf(cx);
        if depth >= 3 {
            return a;
        }
        let ops = ["+", "-", "*"];
        match self.below(3) {
            0 => a,
            1 => {
                let b = self.f64_leaf(cx);
                format!("({a} {} {b})", ops[self.below(3)])
            }
            _ => {
                let b = self.f64_leaf(cx);
                let c = self.f64_leaf(cx);
                let (o1, o2) = (ops[self.below(3)], ops[self.below(3)]);
                format!("(({a} {o1} {b}) {o2} {c})")
            }
        }
    }

    fn str_expr(&mut self, cx: &Ctx, depth: u32) -> (String, bool) {
        let strs: Vec<String> = self.names(cx, |v| v.ty == Ty::Str);
        if depth >= 2 || self.chance(1, 3) {
            if !strs.is_empty() && self.chance(2, 3) {
                let k = self.below(strs.len());
                return (strs[k].clone(), false);
            }
            return (self.lit_str(), true);
        }
        match self.below(3) {
            0 => {
                let (a, ac) = self.str_expr(cx, depth + 1);
                let (b, bc) = self.str_expr(cx, depth + 1);
                (format!("({a} + {b})"), ac && bc)
            }
            1 => {
                let a = self.nexpr(cx, &Ty::Int(IntT::U8), depth + 1);
                (format!("string(rune({a}))"), false)
            }
            _ => {
                if let Some(c) = self.call_expr(cx, &Ty::Str, depth) {
                    return (c, false);
                }
                self.str_expr(cx, depth + 1)
            }
        }
    }

    /// A fresh value of a composite type (never nil).
    fn composite_value(&mut self, cx: &Ctx, t: &Ty) -> String {
        match t {
            Ty::Arr(e, n) => {
                let elems: Vec<String> = (0..*n)
                    .map(|_| {
                        let x = self.expr(cx, &Ty::Int(*e), 3).0;
                        gofmt::expr(&x)
                    })
                    .collect();
                let elems = self.shorten(elems, &Ty::Int(*e));
                format!("[{n}]{}{{{}}}", e.go(), elems.join(", "))
            }
            Ty::Slice(e) => {
                let n = self.rng.gen_range(1..=5);
                let elems: Vec<String> = (0..n)
                    .map(|_| {
                        let x = self.expr(cx, &Ty::Int(*e), 3).0;
                        gofmt::expr(&x)
                    })
                    .collect();
                let elems = self.shorten(elems, &Ty::Int(*e));
                format!("[]{}{{{}}}", e.go(), elems.join(", "))
            }
            Ty::Map(k, v) => {
                let n = self.below(4);
                let mut keys = BTreeSet::new();
                let mut elems = Vec::new();
                for _ in 0..n {
                    let key = self.rng.gen_range(0..16i128).clamp(k.lo(), k.hi());
                    if keys.insert(key) {
                        let x = self.expr(cx, &Ty::Int(*v), 3).0;
                        elems.push(format!("{key}: {}", gofmt::expr(&x)));
                    }
                }
                format!("map[{}]{}{{{}}}", k.go(), v.go(), elems.join(", "))
            }
            Ty::Struct(s) => {
                let fields = self.structs[*s].fields.clone();
                let mut elems = Vec::new();
                for (f, ft) in fields.iter().enumerate() {
                    if self.chance(2, 3) {
                        let x = self.expr(cx, ft, 3).0;
                        elems.push(format!("f{f}: {}", gofmt::expr(&x)));
                    }
                }
                // Fields past the length limit keep their zero values.
                let mut len = 0;
                elems.retain(|e| {
                    len += e.len() + 2;
                    len <= MAX_ELEMS_BYTES
                });
                format!("{}{{{}}}", self.struct_name(*s), elems.join(", "))
            }
            Ty::Ptr(inner) => match &**inner {
                Ty::Struct(_) => format!("&{}", self.composite_value(cx, inner)),
                other => {
                    // &x of an addressable variable of that type, or new(T).
                    let cands: Vec<String> = self.names(cx, |v| v.ty == *other && !v.readonly);
                    if !cands.is_empty() && self.chance(2, 3) {
                        let k = self.below(cands.len());
                        format!("&{}", cands[k])
                    } else {
                        format!("new({})", self.go_ty(other))
                    }
                }
            },
            Ty::Iface => {
                let impls: Vec<(usize, bool)> = self
                    .structs
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| s.iface.map(|p| (k, p)))
                    .collect();
                let (k, ptr) = impls[self.below(impls.len())];
                let v = self.composite_value(cx, &Ty::Struct(k));
                if ptr {
                    format!("&{v}")
                } else {
                    v
                }
            }
            Ty::Func(p, r) => self.closure(cx, *p, *r),
            _ => unreachable!("scalar {t:?}"),
        }
    }

    /// Elements of an array or slice literal, the last ones replaced by
    /// literals until they fit in [`MAX_ELEMS_BYTES`].
    fn shorten(&mut self, mut elems: Vec<String>, t: &Ty) -> Vec<String> {
        let Ty::Int(i) = t else { return elems };
        for k in (0..elems.len()).rev() {
            if elems.iter().map(|e| e.len() + 2).sum::<usize>() <= MAX_ELEMS_BYTES {
                break;
            }
            elems[k] = self.lit_int(*i);
        }
        elems
    }

    /// A closure literal `func(x P) R { ... }` on one line when short,
    /// written as a block otherwise. Returned as text with embedded newlines
    /// and tabs relative to the statement's indentation.
    fn closure(&mut self, cx: &Ctx, p: IntT, r: IntT) -> String {
        let x = self.fresh("x");
        let mut inner = cx.clone();
        inner.in_closure = true;
        inner.lambda = true;
        inner.loops.clear();
        inner.in_switch = false;
        inner.depth += 1;
        self.scopes.push(vec![Var {
            name: x.clone(),
            ty: Ty::Int(p),
            readonly: false,
        }]);
        let mut body: Lines = Vec::new();
        let n = self.below(3);
        for _ in 0..n {
            let s = self.simple_assign(&inner);
            indent(&mut body, s, 0);
        }
        let ret = self.nexpr(&inner, &Ty::Int(r), 1);
        self.scopes.pop();
        let mut out = format!("func({x} {}) {} {{\n", p.go(), r.go());
        for (i, s) in body {
            let _ = writeln!(out, "{}{s}", "\t".repeat(i + 1));
        }
        let _ = write!(out, "\treturn {}\n}}", gofmt::expr(&ret));
        out
    }

    /// A call of a later function whose first result has type `t`, as an
    /// expression (single-result functions only).
    fn call_expr(&mut self, cx: &Ctx, t: &Ty, depth: u32) -> Option<String> {
        if depth >= 3 || cx.lambda {
            return None;
        }
        let cands: Vec<usize> = (cx.func + 1..self.funcs.len())
            .filter(|&j| {
                let f = &self.funcs[j];
                self.args_ok(cx, j)
                    && f.results.len() == 1
                    && f.results[0] == *t
                    && (!cx.pure || f.pure)
                    && f.cost * cx.mult <= self.left()
            })
            .collect();
        if cands.is_empty() {
            return None;
        }
        let j = cands[self.below(cands.len())];
        Some(self.call_text(cx, j))
    }

    fn call_text(&mut self, cx: &Ctx, j: usize) -> String {
        let sig = self.funcs[j].clone();
        self.charge(cx, sig.cost + 2);
        let args: Vec<String> = sig.params.iter().map(|p| self.arg_for(cx, p)).collect();
        format!("{}({})", self.gname("f", j), args.join(", "))
    }

    /// Whether every parameter of function `j` can be passed from here:
    /// a composite argument is a variable of its type (a literal would
    /// not sit inside a formatted call), `new(T)` or a func helper.
    fn args_ok(&self, cx: &Ctx, j: usize) -> bool {
        let vars = self.visible(cx.pure);
        self.funcs[j].params.iter().all(|p| {
            p.is_scalar()
                || matches!(p, Ty::Ptr(_) | Ty::Func(..))
                || vars.iter().any(|v| v.ty == *p)
        })
    }

    fn arg_for(&mut self, cx: &Ctx, p: &Ty) -> String {
        if *p == Ty::Int(IntT::U64) && self.on(Feature::Floats) && self.chance(1, 3) {
            // A float64 round trip, a branch on amd64, among aggregate
            // arguments (golang/go#49282 needed one in the entry block of
            // a function with an open-coded defer).
            let x = self.short(cx, &Ty::Int(IntT::U32), MAX_EXPR_BYTES / 4);
            return format!("uint64(float64({x}))");
        }
        if p.is_scalar() {
            // Short enough that the call fits on a line with its others.
            return self.short(cx, p, MAX_EXPR_BYTES / 3);
        }
        // A variable of the type when there is one, else a fresh value.
        let cands: Vec<String> = self.names(cx, |v| v.ty == *p);
        if !cands.is_empty() && self.chance(3, 4) {
            return cands[self.below(cands.len())].clone();
        }
        match p {
            Ty::Ptr(inner) => format!("new({})", self.go_ty(inner)),
            Ty::Func(..) => {
                let suffix = self.func_helper(p);
                format!("{}id{suffix}", self.id)
            }
            _ => cands[self.below(cands.len())].clone(),
        }
    }

    /// Name suffix of a package-level func of type `t` (the identity-like
    /// `func(x P) R { return R(x) }`), declared once.
    fn func_helper(&mut self, t: &Ty) -> String {
        let Ty::Func(p, r) = t else { unreachable!() };
        let suffix = format!("{}{}", p.go(), r.go());
        let name = format!("{}id{suffix}", self.id);
        if self.helpers.insert(name.clone()) {
            let mut s = Src::new();
            s.open(format!("func {name}(x {}) {} {{", p.go(), r.go()));
            s.line(format!("return {}(x*3 + 1)", r.go()));
            s.close("}");
            self.fold_src.push(s);
        }
        suffix
    }

    /// The name of a function that does nothing and is not inlined: a call
    /// that makes live values spill.
    fn nop_fn(&mut self) -> String {
        let name = format!("{}nop", self.id);
        if self.helpers.insert(name.clone()) {
            let mut s = Src::new();
            s.line("//go:noinline");
            s.line(format!("func {name}() {{}}"));
            self.fold_src.push(s);
        }
        name
    }

    // -----------------------------------------------------------------
    // Folding values into h

    /// `h = mix(h, ...)` folding the value of `e` of type `t`.
    fn fold_stmt(&mut self, e: &str, t: &Ty) -> String {
        let rhs = match t {
            Ty::Int(_) => format!("mix(h, uint64({e}))"),
            Ty::F64 => format!("mix(h, uint64(int64({e})))"),
            _ => {
                let f = self.fold_fn(t);
                format!("{f}(h, {e})")
            }
        };
        assign("h", "=", &rhs)
    }

    /// Name of the helper `func(h uint64, v T) uint64` for `t`.
    fn fold_fn(&mut self, t: &Ty) -> String {
        if let Some(n) = self.folds.get(t) {
            return n.clone();
        }
        let name = format!("{}fold{}", self.id, self.folds.len());
        self.folds.insert(t.clone(), name.clone());
        let mut s = Src::new();
        s.open(format!(
            "func {name}(h uint64, v {}) uint64 {{",
            self.go_ty(t)
        ));
        match t {
            Ty::Int(_) => s.line("return mix(h, uint64(v))"),
            Ty::F64 => s.line("return mix(h, uint64(int64(v)))"),
            Ty::Bool => {
                s.open("if v {");
                s.line("return mix(h, 1)");
                s.close("}");
                s.line("return mix(h, 2)");
            }
            Ty::Str => {
                s.line("h = mix(h, uint64(len(v)))");
                s.open("for i := 0; i < len(v); i++ {");
                s.line("h = mix(h, uint64(v[i]))");
                s.close("}");
                s.line("return h");
            }
            Ty::Arr(..) | Ty::Slice(_) => {
                s.line("h = mix(h, uint64(len(v)))");
                s.open("for _, x := range v {");
                s.line("h = mix(h, uint64(x))");
                s.close("}");
                s.line("return h");
            }
            Ty::Map(k, _) => {
                self.imports.insert("sort");
                s.line(format!("keys := make([]{}, 0, len(v))", k.go()));
                s.open("for k := range v {");
                s.line("keys = append(keys, k)");
                s.close("}");
                s.line("sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })");
                s.open("for _, k := range keys {");
                s.line("h = mix(mix(h, uint64(k)), uint64(v[k]))");
                s.close("}");
                s.line("return h");
            }
            Ty::Ptr(inner) => {
                let inner = (**inner).clone();
                let f = self.fold_stmt("*v", &inner);
                s.line(f);
                s.line("return h");
            }
            Ty::Struct(k) => {
                let fields = self.structs[*k].fields.clone();
                for (f, ft) in fields.iter().enumerate() {
                    let line = self.fold_stmt(&format!("v.f{f}"), ft);
                    s.line(line);
                }
                s.line("return h");
            }
            Ty::Iface => {
                s.line("h = mix(h, uint64(v.Get(7)))");
                s.open("switch x := v.(type) {");
                let impls: Vec<(usize, bool)> = self
                    .structs
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| s.iface.map(|p| (k, p)))
                    .collect();
                for (k, p) in impls {
                    let star = if p { "*" } else { "" };
                    s.mid(format!("case {star}{}:", self.struct_name(k)));
                    let st = if p {
                        Ty::Ptr(Box::new(Ty::Struct(k)))
                    } else {
                        Ty::Struct(k)
                    };
                    let line = self.fold_stmt("x", &st);
                    s.line(line);
                }
                s.close("}");
                s.line("return h");
            }
            Ty::Func(p, _) => {
                s.line(format!("return mix(h, uint64(v({}(h))))", p.go()));
            }
        }
        s.close("}");
        self.fold_src.push(s);
        name
    }

    // -----------------------------------------------------------------
    // Statements

    /// An assignment to a writable place of a scalar type.
    fn simple_assign(&mut self, cx: &Ctx) -> Lines {
        let places = self.places(cx);
        let mut out = Vec::new();
        if places.is_empty() {
            push(&mut out, 0, "h++");
            return out;
        }
        let (p, t) = places[self.below(places.len())].clone();
        let lhs = gofmt::expr(&p);
        let line = match &t {
            Ty::Int(_) if self.chance(1, 3) => {
                let ops = ["+=", "-=", "*=", "|=", "&=", "^=", "&^="];
                let op = ops[self.below(ops.len())];
                let e = self.nexpr(cx, &t, 1);
                assign(&lhs, op, &e)
            }
            Ty::Int(_) if self.chance(1, 6) => {
                let op = if self.chance(1, 2) { "++" } else { "--" };
                format!("{lhs}{op}")
            }
            Ty::Str => {
                let e = self.expr(cx, &t, 1).0;
                assign(&lhs, "=", &format!("{}cut({e})", self.id))
            }
            _ => {
                let e = self.expr(cx, &t, 1).0;
                if gofmt::expr(&e) == lhs {
                    // vet rejects a self-assignment.
                    "h++".to_string()
                } else {
                    assign(&lhs, "=", &e)
                }
            }
        };
        push(&mut out, 0, line);
        self.charge(cx, 1);
        out
    }

    /// Writable places of scalar type: variables, fields, elements.
    fn places(&mut self, cx: &Ctx) -> Vec<(String, Ty)> {
        let mut out = Vec::new();
        for v in self.visible(cx.pure) {
            if v.readonly {
                continue;
            }
            match &v.ty {
                t if t.is_scalar() => out.push((v.name.clone(), t.clone())),
                Ty::Arr(e, n) => {
                    let k = self.index_expr(cx, *n as usize);
                    out.push((format!("{}[{k}]", v.name), Ty::Int(*e)));
                }
                Ty::Slice(e) => {
                    let k = self.idx_src(cx);
                    out.push((
                        format!("{}[{k}%uint64(len({}))]", v.name, v.name),
                        Ty::Int(*e),
                    ));
                }
                Ty::Map(k, e) => {
                    let key = self.map_key(cx, *k);
                    out.push((format!("{}[{key}]", v.name), Ty::Int(*e)));
                }
                Ty::Ptr(inner) => match &**inner {
                    Ty::Struct(s) => {
                        for (f, ft) in self.structs[*s].fields.iter().enumerate() {
                            if ft.is_scalar() {
                                out.push((format!("{}.f{f}", v.name), ft.clone()));
                            }
                        }
                    }
                    t => out.push((format!("(*{})", v.name), t.clone())),
                },
                Ty::Struct(s) => {
                    for (f, ft) in self.structs[*s].fields.iter().enumerate() {
                        if ft.is_scalar() {
                            out.push((format!("{}.f{f}", v.name), ft.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// A block of statements in a new scope; the scope's variables are
    /// folded into h before the block's terminal statement (if any).
    fn block(&mut self, cx: &Ctx, n: usize) -> Lines {
        self.scopes.push(Vec::new());
        let mut out = Vec::new();
        for _ in 0..n {
            if self.left() < 4 {
                break;
            }
            let s = self.stmt(cx);
            indent(&mut out, s, 0);
        }
        self.close_scope(cx, &mut out);
        out
    }

    fn close_scope(&mut self, cx: &Ctx, out: &mut Lines) {
        let vars = self.scopes.pop().unwrap_or_default();
        for v in vars {
            let f = self.fold_stmt(&v.name, &v.ty);
            self.charge(cx, 2);
            push(out, 0, f);
        }
    }

    fn stmt(&mut self, cx: &Ctx) -> Lines {
        let deep = cx.depth >= 3;
        loop {
            let k = self.below(24);
            let got = match k {
                0..=3 => Some(self.decl(cx)),
                4..=6 => Some(self.simple_assign(cx)),
                7 | 8 if !deep => Some(self.if_stmt(cx)),
                9 | 10 if !deep && self.on(Feature::Loops) => Some(self.loop_stmt(cx)),
                11 if !deep && self.on(Feature::Switch) => Some(self.switch_stmt(cx)),
                12 => self.call_stmt(cx),
                13 if !deep && self.on(Feature::TypeSwitch) => self.type_switch(cx),
                14 if !deep && self.on(Feature::Goto) && !cx.in_closure => Some(self.goto_stmt(cx)),
                15 if !deep && self.on(Feature::Select) => Some(self.select_stmt(cx)),
                16 if !deep && (self.on(Feature::Defer) || self.on(Feature::Traps)) => {
                    Some(self.recover_block(cx))
                }
                17 if !deep && self.on(Feature::Goroutines) => self.go_stmt(cx),
                18 if self.on(Feature::Maps) || self.on(Feature::Slices) => self.container_stmt(cx),
                19 if !deep && self.on(Feature::Defer) && !cx.in_closure && cx.loops.is_empty() => {
                    Some(self.defer_stmt(cx))
                }
                20 if self.on(Feature::Arrays) => Some(self.bytes_stmt(cx)),
                21 if self.on(Feature::Structs) && self.on(Feature::Pointers) => {
                    self.self_ref_stmt(cx)
                }
                22 if !deep && self.on(Feature::Maps) && self.on(Feature::Slices) => {
                    Some(self.map_append_stmt(cx))
                }
                23 if !deep && self.on(Feature::Goto) && !cx.in_closure => {
                    Some(self.goto_loop_stmt(cx))
                }
                _ => None,
            };
            if let Some(s) = got {
                return s;
            }
        }
    }

    /// A value stored piecewise into an array (little- or big-endian, by
    /// bytes, by 16- or 32-bit units, or by 16-bit units at 8-bit steps),
    /// maybe with a call between the stores and the loads, then read back
    /// with shifts and ors: the shapes the store- and load-combining rules
    /// of every backend rewrite.
    fn bytes_stmt(&mut self, cx: &Ctx) -> Lines {
        let wide = [IntT::U16, IntT::U32, IntT::U64][self.below(3)];
        let elem = [IntT::U8, IntT::U16, IntT::U32][self.below(3)];
        let step = if elem != IntT::U8 && self.chance(1, 3) {
            8
        } else {
            elem.width()
        };
        // All of the value, or (half the time) its low pieces only: two
        // 16-bit pieces of a 64-bit value combine into one 32-bit store.
        let full = (wide.width() / step).clamp(1, 8) as usize;
        let n = if full > 2 && self.chance(1, 2) {
            2 + self.below(full - 1)
        } else {
            full
        };
        let be = self.chance(1, 2);
        let (b, x, y) = (self.fresh("b"), self.fresh("x"), self.fresh("y"));
        let mut out = Vec::new();
        push(&mut out, 0, "{");
        push(&mut out, 1, format!("var {b} [{n}]{}", elem.go()));
        let e = self.short(cx, &Ty::Int(wide), MAX_EXPR_BYTES / 2);
        push(
            &mut out,
            1,
            format!("var {x} {} = {}", wide.go(), gofmt::expr(&e)),
        );
        let idx = |k: usize| if be { n - 1 - k } else { k };
        // Stores from the lowest piece of the value up, or from the lowest
        // address up (for big-endian, the highest piece first).
        let by_address = be && self.chance(2, 3);
        let stores = |arr: &str, x: &str| -> Vec<String> {
            let order: Vec<usize> = if by_address {
                (0..n).rev().collect()
            } else {
                (0..n).collect()
            };
            order
                .into_iter()
                .map(|k| {
                    let sh = k as u32 * step;
                    let v = if sh == 0 {
                        format!("{}({x})", elem.go())
                    } else {
                        format!("{}({x} >> {sh})", elem.go())
                    };
                    assign(&format!("{arr}[{}]", idx(k)), "=", &v)
                })
                .collect()
        };
        // Half the time the stores go through a pointer in a function of
        // their own (not inlined), from a value zero-extended there from a
        // narrower one, maybe stored twice around a call: the shapes of
        // golang/go#59367 (a byte-swapped value spilled across a call) and
        // of go1.21.5's 16-bit store combining at 8-bit steps.
        if self.chance(1, 2) {
            let narrow = [IntT::U8, IntT::U16, IntT::U32, IntT::U64]
                [..(wide.width() / 8).trailing_zeros() as usize + 1]
                .to_vec();
            // A byte, zero-extended, most often: what the byte-swap rules
            // see in encoding/binary's big-endian stores.
            let narrow = if self.chance(1, 2) {
                IntT::U8
            } else {
                narrow[self.below(narrow.len())]
            };
            let put = self.fresh("put");
            let put = format!("{}{put}", self.id);
            // The narrow value comes by value or is loaded through a
            // pointer (a zero-extending load the rules fold).
            let by_ptr = self.chance(1, 2);
            let mut f = Src::new();
            f.line("//go:noinline");
            f.open(format!(
                "func {put}(p *[{n}]{}, v {}{}) {{",
                elem.go(),
                if by_ptr { "*" } else { "" },
                narrow.go()
            ));
            f.line(format!(
                "x := {}({}v)",
                wide.go(),
                if by_ptr { "*" } else { "" }
            ));
            let twice = self.chance(2, 3);
            for l in stores("p", "x") {
                f.line(l);
            }
            if twice {
                f.line(format!("{}()", self.nop_fn()));
                for l in stores("p", "x") {
                    f.line(l);
                }
            }
            f.close("}");
            self.fold_src.push(f);
            if by_ptr {
                let v = self.fresh("v");
                push(&mut out, 1, format!("{v} := {}({x})", narrow.go()));
                push(&mut out, 1, format!("{put}(&{b}, &{v})"));
            } else {
                push(&mut out, 1, format!("{put}(&{b}, {}({x}))", narrow.go()));
            }
        } else {
            for l in stores(&b, &x) {
                push(&mut out, 1, l);
            }
        }
        if self.chance(1, 3) {
            if let Some(c) = self.call_stmt(cx) {
                indent(&mut out, c, 1);
            }
        }
        let terms = |arr: &str| -> String {
            let t: Vec<String> = (0..n)
                .map(|k| {
                    let sh = k as u32 * step;
                    let t = format!("{}({arr}[{}])", wide.go(), idx(k));
                    if sh == 0 {
                        t
                    } else {
                        format!("{t}<<{sh}")
                    }
                })
                .collect();
            gofmt::expr(&t.join(" | "))
        };
        // The loads too, half the time, through a pointer in a function.
        let load = if self.chance(1, 2) {
            let get = self.fresh("get");
            let get = format!("{}{get}", self.id);
            let mut f = Src::new();
            f.line("//go:noinline");
            f.open(format!(
                "func {get}(p *[{n}]{}) {} {{",
                elem.go(),
                wide.go()
            ));
            f.line(format!("return {}", terms("p")));
            f.close("}");
            self.fold_src.push(f);
            format!("{get}(&{b})")
        } else {
            terms(&b)
        };
        push(&mut out, 1, format!("var {y} {} = {load}", wide.go()));
        push(&mut out, 1, self.fold_stmt(&y, &Ty::Int(wide)));
        push(&mut out, 1, self.fold_stmt(&b, &Ty::Arr(elem, n as u8)));
        push(&mut out, 0, "}");
        self.charge(cx, 3 * n as u64 + 4);
        out
    }

    /// `x = S{f1: p.f0, ...}` with `p := &x`: a composite literal assigned
    /// to a variable whose old fields it reads through a pointer.
    fn self_ref_stmt(&mut self, cx: &Ctx) -> Option<Lines> {
        if self.structs.is_empty() {
            return None;
        }
        let k = self.below(self.structs.len());
        let fields = self.structs[k].fields.clone();
        let (x, p) = (self.fresh("x"), self.fresh("p"));
        let mut out = Vec::new();
        push(&mut out, 0, "{");
        let init = self.composite_value(cx, &Ty::Struct(k));
        push(&mut out, 1, format!("{x} := {init}"));
        push(&mut out, 1, format!("{p} := &{x}"));
        let mut elems = Vec::new();
        for (j, ft) in fields.iter().enumerate() {
            let earlier: Vec<usize> = (0..j).filter(|&i| fields[i] == *ft).collect();
            if !earlier.is_empty() && self.chance(3, 4) {
                let i = earlier[self.below(earlier.len())];
                elems.push(format!("f{j}: {p}.f{i}"));
            } else if ft.is_scalar() && self.chance(1, 2) {
                let e = self.short(cx, ft, 30);
                elems.push(format!("f{j}: {}", gofmt::expr(&e)));
            }
        }
        push(
            &mut out,
            1,
            format!("{x} = {}{{{}}}", self.struct_name(k), elems.join(", ")),
        );
        push(&mut out, 1, self.fold_stmt(&x, &Ty::Struct(k)));
        push(&mut out, 1, self.fold_stmt(&format!("{p}.f0"), &fields[0]));
        push(&mut out, 0, "}");
        self.charge(cx, 6);
        Some(out)
    }

    /// A map of slices grown by `m[k] = append(m[k], v)` (sometimes with the
    /// element converted to its own type), folded by a commutative sum.
    fn map_append_stmt(&mut self, cx: &Ctx) -> Lines {
        let (kt, et) = (self.int_t(), self.int_t());
        let (m, k, s, v) = (
            self.fresh("ms"),
            self.fresh("k"),
            self.fresh("s"),
            self.fresh("e"),
        );
        let trips = self.rng.gen_range(1..=4);
        let mut out = Vec::new();
        push(&mut out, 0, "{");
        push(
            &mut out,
            1,
            format!("{m} := map[{}][]{}{{}}", kt.go(), et.go()),
        );
        push(
            &mut out,
            1,
            format!("for {k} := {}(0); {k} < {trips}; {k}++ {{", kt.go()),
        );
        let x = self.short(cx, &Ty::Int(et), 40);
        let cur = if self.chance(1, 2) {
            format!("[]{}({m}[{k}&1])", et.go())
        } else {
            format!("{m}[{k}&1]")
        };
        // gofmt.rs does not parse a slice conversion: space the call with
        // an atom in its place.
        let app = gofmt::expr(&format!("append(CUR, {x}+{}({k}))", et.go())).replace("CUR", &cur);
        push(&mut out, 2, format!("{m}[{k}&1] = {app}"));
        push(&mut out, 1, "}");
        push(&mut out, 1, format!("for {k}, {s} := range {m} {{"));
        push(&mut out, 2, format!("for _, {v} := range {s} {{"));
        push(
            &mut out,
            3,
            format!("h += uint64({k})*0x9e3779b97f4a7c15 ^ uint64({v})"),
        );
        push(&mut out, 2, "}");
        push(&mut out, 1, "}");
        push(&mut out, 0, "}");
        self.charge(cx, 8 * trips as u64 + 8);
        out
    }

    /// A loop made of gotos with two entries (an irreducible loop): a
    /// forward jump into its middle, a backward jump to its head, at most
    /// `trips` passes.
    fn goto_loop_stmt(&mut self, cx: &Ctx) -> Lines {
        let trips: u64 = self.rng.gen_range(1..=4);
        let (n, a, b) = (self.fresh("n"), self.fresh("G"), self.fresh("G"));
        let c = self.expr(cx, &Ty::Bool, 1).0;
        let mut inner = cx.clone();
        inner.mult = cx.mult * trips;
        let mut out = Vec::new();
        push(&mut out, 0, "{");
        push(&mut out, 1, format!("var {n} int32"));
        push(&mut out, 1, format!("if {} {{", cond(&c)));
        push(&mut out, 2, format!("goto {b}"));
        push(&mut out, 1, "}");
        push(&mut out, 0, format!("{a}:"));
        for _ in 0..self.rng.gen_range(1..=2) {
            let s = self.simple_assign(&inner);
            indent(&mut out, s, 1);
        }
        push(&mut out, 0, format!("{b}:"));
        for _ in 0..self.rng.gen_range(1..=2) {
            let s = self.simple_assign(&inner);
            indent(&mut out, s, 1);
        }
        push(&mut out, 1, format!("{n}++"));
        push(&mut out, 1, format!("if {n} < {trips} {{"));
        push(&mut out, 2, format!("goto {a}"));
        push(&mut out, 1, "}");
        push(&mut out, 1, format!("h = mix(h, uint64({n}))"));
        push(&mut out, 0, "}");
        out
    }

    fn decl(&mut self, cx: &Ctx) -> Lines {
        let t = self.var_ty(cx.pure);
        let name = self.fresh("v");
        let (e, _) = self.expr(cx, &t, 1);
        let mut out = Vec::new();
        let e = if t == Ty::Str {
            gofmt::expr(&format!("{}cut({e})", self.id))
        } else if t.is_scalar() {
            gofmt::expr(&e)
        } else {
            e
        };
        if let Ty::Int(i) = t {
            push(&mut out, 0, format!("var {name} {} = {e}", i.go()));
        } else if t == Ty::F64 || t == Ty::Iface {
            push(&mut out, 0, format!("var {name} {} = {e}", self.go_ty(&t)));
        } else {
            for (k, line) in format!("{name} := {e}").lines().enumerate() {
                // Closure bodies come with their own relative tabs.
                let tabs = line.chars().take_while(|c| *c == '\t').count();
                let _ = k;
                push(&mut out, tabs, line.trim_start_matches('\t'));
            }
        }
        self.declare(&name, t, false);
        self.charge(cx, 2);
        out
    }

    fn if_stmt(&mut self, cx: &Ctx) -> Lines {
        let c = self.expr(cx, &Ty::Bool, 1).0;
        let mut inner = cx.clone();
        inner.depth += 1;
        let n = self.stmt_count();
        let mut out = Vec::new();
        push(&mut out, 0, format!("if {} {{", cond(&c)));
        let mut body = self.block(&inner, n);
        self.maybe_jump(&inner, &mut body);
        indent(&mut out, body, 1);
        if self.chance(1, 2) {
            push(&mut out, 0, "} else {");
            let n = self.stmt_count();
            let body = self.block(&inner, n);
            indent(&mut out, body, 1);
        }
        push(&mut out, 0, "}");
        out
    }

    fn stmt_count(&mut self) -> usize {
        self.rng.gen_range(1..=self.case.stmts as usize)
    }

    /// Maybe end `body` (the body of an `if` in a loop) with a break or
    /// continue, labelled to an outer loop when labels are on.
    fn maybe_jump(&mut self, cx: &Ctx, body: &mut Lines) {
        if cx.loops.is_empty() || !self.chance(1, 3) {
            return;
        }
        let kw = if self.chance(1, 2) {
            "break"
        } else {
            "continue"
        };
        let nested = cx.loops.len() > 1 || cx.in_switch;
        if self.on(Feature::Labels) && (nested || self.chance(1, 4)) {
            let l = &cx.loops[self.below(cx.loops.len())];
            l.used.set(true);
            push(body, 0, format!("{kw} {}", l.label));
        } else if !(cx.in_switch && kw == "break") {
            push(body, 0, kw);
        }
    }

    fn loop_stmt(&mut self, cx: &Ctx) -> Lines {
        let trips: u64 = self.rng.gen_range(1..=6);
        let label = self.fresh("L");
        let used = std::rc::Rc::new(std::cell::Cell::new(false));
        let mut inner = cx.clone();
        inner.depth += 1;
        inner.in_switch = false;
        inner.mult = cx.mult * trips;
        inner.loops.push(LoopCtx {
            label: label.clone(),
            used: used.clone(),
        });
        if self.left() < cx.mult * trips * 6 {
            return self.simple_assign(cx);
        }
        let i = self.fresh("i");
        let arrs: Vec<Var> = self
            .visible(cx.pure)
            .into_iter()
            .filter(|v| matches!(v.ty, Ty::Arr(_, n) if (n as u64) <= trips) || v.ty == Ty::Str)
            .collect();
        let mut out = Vec::new();
        self.scopes.push(Vec::new());
        let header = match self.below(4) {
            0 if !arrs.is_empty() => {
                let v = arrs[self.below(arrs.len())].clone();
                let x = self.fresh("e");
                let et = match v.ty {
                    Ty::Arr(e, _) => Ty::Int(e),
                    _ => Ty::Int(IntT::I32), // a rune
                };
                self.declare(&i, Ty::Int(IntT::I64), true); // placeholder type; see below
                self.scopes.last_mut().unwrap().pop();
                self.declare(&x, et, true);
                format!("for {i}, {x} := range {} {{", v.name)
            }
            1 => {
                self.declare(&i, Ty::Int(IntT::I32), true);
                format!("for {i} := int32({trips}); {i} > 0; {i}-- {{")
            }
            _ => {
                self.declare(&i, Ty::Int(IntT::I32), true);
                format!("for {i} := int32(0); {i} < {trips}; {i}++ {{")
            }
        };
        let ranged = header.contains("range");
        push(&mut out, 0, header.clone());
        self.charge(&inner, 2);
        let n = self.stmt_count();
        let mut body = self.block(&inner, n);
        // The index of a range loop is an int: fold it by hand.
        if ranged {
            push(&mut body, 0, format!("h = mix(h, uint64({i}))"));
        }
        let mut closing = Vec::new();
        self.close_scope(&inner, &mut closing);
        // Folds of the loop variables go before the body's end.
        indent(&mut out, closing, 1);
        indent(&mut out, body, 1);
        push(&mut out, 0, "}");
        if used.get() {
            // '@': a label, which gofmt writes one level out.
            out.insert(0, (0, format!("@{label}:")));
        }
        out
    }

    fn switch_stmt(&mut self, cx: &Ctx) -> Lines {
        let mut inner = cx.clone();
        inner.depth += 1;
        inner.in_switch = true;
        let mut out = Vec::new();
        let tagged = self.chance(2, 3);
        let t = self.int_t();
        if tagged {
            let tag = self.nexpr(cx, &Ty::Int(t), 1);
            push(&mut out, 0, format!("switch {} {{", cond(&tag)));
        } else {
            push(&mut out, 0, "switch {");
        }
        let clauses = self.rng.gen_range(1..=4);
        let mut used = BTreeSet::new();
        for c in 0..clauses {
            let head = if tagged {
                let mut vals = Vec::new();
                for _ in 0..self.rng.gen_range(1..=2) {
                    let v = self.rng.gen_range(0..8i128).clamp(t.lo(), t.hi());
                    if used.insert(v) {
                        vals.push(v.to_string());
                    }
                }
                if vals.is_empty() {
                    continue;
                }
                format!("case {}:", vals.join(", "))
            } else {
                let b = self.expr(cx, &Ty::Bool, 1).0;
                format!("case {}:", cond(&b))
            };
            push(&mut out, 0, head);
            let n = self.stmt_count().min(3);
            let mut body = self.block(&inner, n);
            if c + 1 < clauses && self.chance(1, 4) {
                push(&mut body, 0, "fallthrough");
            } else {
                self.maybe_jump(&inner, &mut body);
            }
            indent(&mut out, body, 1);
        }
        if self.chance(1, 2) {
            push(&mut out, 0, "default:");
            let body = self.block(&inner, 1);
            indent(&mut out, body, 1);
        }
        push(&mut out, 0, "}");
        // A fallthrough in the last clause written (a skipped duplicate
        // clause) is not allowed: drop it.
        let last_case = out
            .iter()
            .rposition(|(i, l)| *i == 0 && (l.starts_with("case ") || l == "default:"));
        if let Some(lc) = last_case {
            let end = out.len() - 1;
            if out[end - 1].1 == "fallthrough" && out[lc].1 != "default:" {
                out.remove(end - 1);
            }
        }
        out
    }

    fn type_switch(&mut self, cx: &Ctx) -> Option<Lines> {
        let ifaces: Vec<String> = self.names(cx, |v| v.ty == Ty::Iface);
        if ifaces.is_empty() {
            return None;
        }
        let v = ifaces[self.below(ifaces.len())].clone();
        let x = self.fresh("t");
        let mut out = Vec::new();
        push(&mut out, 0, format!("switch {x} := {v}.(type) {{"));
        let impls: Vec<(usize, bool)> = self
            .structs
            .iter()
            .enumerate()
            .filter_map(|(k, s)| s.iface.map(|p| (k, p)))
            .collect();
        let mut inner = cx.clone();
        inner.depth += 1;
        inner.in_switch = true;
        for (k, p) in impls {
            if self.chance(1, 3) {
                continue;
            }
            let star = if p { "*" } else { "" };
            push(&mut out, 0, format!("case {star}{}:", self.struct_name(k)));
            let st = if p {
                Ty::Ptr(Box::new(Ty::Struct(k)))
            } else {
                Ty::Struct(k)
            };
            self.scopes.push(vec![Var {
                name: x.clone(),
                ty: st.clone(),
                readonly: true,
            }]);
            let n = self.stmt_count().min(3);
            let mut body = self.block(&inner, n);
            self.scopes.pop();
            let f = self.fold_stmt(&x, &st);
            body.insert(0, (0, f));
            indent(&mut out, body, 1);
        }
        push(&mut out, 0, "default:");
        push(&mut out, 1, format!("h = mix(h, uint64({x}.Get(3)))"));
        push(&mut out, 0, "}");
        Some(out)
    }

    fn goto_stmt(&mut self, cx: &Ctx) -> Lines {
        // { if c { goto L }; assignments; L: h++ } : no declaration is
        // jumped over (the block declares nothing before the label).
        let label = self.fresh("G");
        let c = self.expr(cx, &Ty::Bool, 1).0;
        let mut out = Vec::new();
        push(&mut out, 0, "{");
        push(&mut out, 1, format!("if {} {{", cond(&c)));
        push(&mut out, 2, format!("goto {label}"));
        push(&mut out, 1, "}");
        for _ in 0..self.rng.gen_range(1..=3) {
            let s = self.simple_assign(cx);
            indent(&mut out, s, 1);
        }
        push(&mut out, 0, format!("{label}:"));
        // gofmt writes a label one level out of the block's statements.
        let n = out.len() - 1;
        out[n].0 = 0;
        push(&mut out, 1, "h++");
        push(&mut out, 0, "}");
        out
    }

    fn select_stmt(&mut self, cx: &Ctx) -> Lines {
        // Two buffered channels; `a` holds `n` values, `b` is full or empty.
        // At most one case is ready, so the choice is certain.
        let t = self.int_t();
        let (a, b) = (self.fresh("ch"), self.fresh("ch"));
        let cap_a = self.rng.gen_range(1..=3);
        let n = self.rng.gen_range(0..=cap_a);
        let b_full = self.chance(1, 2);
        let mut out = Vec::new();
        push(&mut out, 0, "{");
        push(
            &mut out,
            1,
            format!("{a} := make(chan {}, {cap_a})", t.go()),
        );
        push(&mut out, 1, format!("{b} := make(chan {}, 1)", t.go()));
        for _ in 0..n {
            let e = self.nexpr(cx, &Ty::Int(t), 1);
            push(&mut out, 1, format!("{a} <- {}", gofmt::expr(&e)));
        }
        if b_full {
            let e = self.nexpr(cx, &Ty::Int(t), 1);
            push(&mut out, 1, format!("{b} <- {}", gofmt::expr(&e)));
        }
        // Ready: receive on a when n > 0; send on b when b is empty.
        let recv_a = n > 0;
        let send_b = !b_full;
        let mut inner = cx.clone();
        inner.depth += 1;
        push(&mut out, 1, "select {");
        let r = self.fresh("r");
        if recv_a || !send_b {
            push(&mut out, 1, format!("case {r} := <-{a}:"));
            push(&mut out, 2, format!("h = mix(h, uint64({r}))"));
        }
        if !recv_a || !b_full {
            // Only one of them may be ready: with a ready receive, the
            // send case is written only when b is full.
            if !(recv_a && send_b) {
                let e = self.nexpr(cx, &Ty::Int(t), 1);
                push(&mut out, 1, format!("case {b} <- {}:", gofmt::expr(&e)));
                push(&mut out, 2, "h = mix(h, 11)");
            }
        }
        if !recv_a && !send_b || self.chance(1, 2) {
            push(&mut out, 1, "default:");
            push(&mut out, 2, "h = mix(h, 13)");
        }
        push(&mut out, 1, "}");
        push(&mut out, 1, format!("close({a})"));
        push(&mut out, 1, format!("for x := range {a} {{"));
        push(&mut out, 2, "h = mix(h, uint64(x))");
        push(&mut out, 1, "}");
        push(&mut out, 1, format!("h = mix(h, uint64(len({b})))"));
        push(&mut out, 0, "}");
        self.charge(cx, 20);
        out
    }

    /// A closure with a deferred recover around statements that may fail
    /// at run time (traps), called at once.
    fn recover_block(&mut self, cx: &Ctx) -> Lines {
        let mut inner = cx.clone();
        inner.depth += 1;
        inner.protected = true;
        inner.in_closure = true;
        inner.loops.clear();
        inner.in_switch = false;
        let mut out = Vec::new();
        push(&mut out, 0, "func() {");
        push(&mut out, 1, "defer func() {");
        push(&mut out, 2, "if r := recover(); r != nil {");
        push(&mut out, 3, "h = mix(h, 99)");
        push(&mut out, 3, "if v, ok := r.(int32); ok {");
        push(&mut out, 4, "h = mix(h, uint64(v))");
        push(&mut out, 3, "}");
        push(&mut out, 2, "}");
        push(&mut out, 1, "}()");
        self.scopes.push(Vec::new());
        let n = self.stmt_count().min(3);
        let mut body = Vec::new();
        for _ in 0..n {
            let s = self.stmt(&inner);
            indent(&mut body, s, 0);
        }
        if self.on(Feature::Traps) {
            let t = self.trap(&inner);
            indent(&mut body, t, 0);
        }
        self.close_scope(&inner, &mut body);
        indent(&mut out, body, 1);
        push(&mut out, 0, "}()");
        self.charge(cx, 10);
        out
    }

    /// A run-time failure that may or may not happen, decided by values.
    fn trap(&mut self, cx: &Ctx) -> Lines {
        let mut out = Vec::new();
        let t = self.int_t();
        let a = self.nexpr(cx, &Ty::Int(t), 2);
        let b = self.nexpr(cx, &Ty::Int(t), 2);
        let tg = t.go();
        match self.below(6) {
            0 => push(
                &mut out,
                0,
                assign("h", "=", &format!("mix(h, uint64({a} / ({b} & 3)))")),
            ),
            1 => {
                let arr = self.fresh("a");
                push(&mut out, 0, format!("var {arr} [5]{tg}"));
                let idx = format!("{arr}[uint64({a}) % 8]");
                push(&mut out, 0, assign(&gofmt::expr(&idx), "=", &b));
                push(&mut out, 0, self.fold_stmt(&arr, &Ty::Arr(t, 5)));
            }
            2 => {
                let m = self.fresh("m");
                push(&mut out, 0, format!("var {m} map[{tg}]{tg}"));
                push(
                    &mut out,
                    0,
                    format!("if {} {{", cond(&format!("{a} > {b}"))),
                );
                push(&mut out, 1, format!("{m} = map[{tg}]{tg}{{}}"));
                push(&mut out, 0, "}");
                push(
                    &mut out,
                    0,
                    format!("{} = 1", gofmt::expr(&format!("{m}[{b}]"))),
                );
                push(&mut out, 0, format!("h = mix(h, uint64(len({m})))"));
            }
            3 => {
                let p = self.fresh("p");
                push(&mut out, 0, format!("var {p} *{tg}"));
                push(
                    &mut out,
                    0,
                    format!("if {} {{", cond(&format!("{a} < {b}"))),
                );
                push(&mut out, 1, format!("{p} = new({tg})"));
                push(&mut out, 0, "}");
                push(&mut out, 0, format!("h = mix(h, uint64(*{p}))"));
            }
            4 if self.structs.iter().filter(|s| s.iface.is_some()).count() > 1 => {
                let iv = self.fresh("i");
                let val = self.composite_value(cx, &Ty::Iface);
                push(
                    &mut out,
                    0,
                    format!("var {iv} {} = {val}", self.iface_name()),
                );
                let (k, p) = self
                    .structs
                    .iter()
                    .enumerate()
                    .find_map(|(k, s)| s.iface.map(|p| (k, p)))
                    .expect("an implementor");
                let star = if p { "*" } else { "" };
                let st = if p {
                    Ty::Ptr(Box::new(Ty::Struct(k)))
                } else {
                    Ty::Struct(k)
                };
                let f = self.fold_stmt(&format!("{iv}.({star}{})", self.struct_name(k)), &st);
                push(&mut out, 0, f);
            }
            _ => {
                push(
                    &mut out,
                    0,
                    format!("if {} {{", cond(&format!("{a} == {b}"))),
                );
                push(
                    &mut out,
                    1,
                    format!("panic({})", gofmt::expr(&format!("int32({a})"))),
                );
                push(&mut out, 0, "}");
            }
        }
        self.charge(cx, 5);
        out
    }

    /// `defer func() { h = mix(h, ...) }()` at function level: it runs
    /// after the return statement has set the named results.
    fn defer_stmt(&mut self, cx: &Ctx) -> Lines {
        let ints: Vec<String> = self.names(cx, |v| matches!(v.ty, Ty::Int(_)));
        let what = if ints.is_empty() {
            "h".to_string()
        } else {
            ints[self.below(ints.len())].clone()
        };
        let mut out = Vec::new();
        push(&mut out, 0, "defer func() {");
        push(&mut out, 1, format!("h = mix(h^0xdef, uint64({what}))"));
        push(&mut out, 0, "}()");
        self.charge(cx, 6);
        out
    }

    fn call_stmt(&mut self, cx: &Ctx) -> Option<Lines> {
        if cx.lambda {
            return None;
        }
        let cands: Vec<usize> = (cx.func + 1..self.funcs.len())
            .filter(|&j| {
                let f = &self.funcs[j];
                self.args_ok(cx, j) && (!cx.pure || f.pure) && f.cost * cx.mult <= self.left()
            })
            .collect();
        if cands.is_empty() {
            return None;
        }
        let j = cands[self.below(cands.len())];
        let call = self.call_text(cx, j);
        let results = self.funcs[j].results.clone();
        let mut out = Vec::new();
        let names: Vec<String> = results.iter().map(|_| self.fresh("r")).collect();
        push(
            &mut out,
            0,
            format!("{} := {}", names.join(", "), gofmt::expr(&call)),
        );
        for (n, t) in names.iter().zip(&results) {
            let f = self.fold_stmt(n, t);
            push(&mut out, 0, f);
        }
        Some(out)
    }

    /// Goroutines running a pure function each, joined in a fixed order.
    fn go_stmt(&mut self, cx: &Ctx) -> Option<Lines> {
        if cx.pure {
            return None;
        }
        let n = self.rng.gen_range(1..=3u64);
        let cands: Vec<usize> = (cx.func + 1..self.funcs.len())
            .filter(|&j| {
                self.funcs[j].pure && (self.funcs[j].cost + 30) * n * cx.mult <= self.left()
            })
            .collect();
        if cands.is_empty() {
            return None;
        }
        let j = cands[self.below(cands.len())];
        self.imports.insert("sync");
        let sig = self.funcs[j].clone();
        let (wg, res) = (self.fresh("wg"), self.fresh("res"));
        let mut out = Vec::new();
        push(&mut out, 0, "{");
        push(&mut out, 1, format!("var {wg} sync.WaitGroup"));
        push(&mut out, 1, format!("{res} := make([]uint64, {n})"));
        // Arguments are computed before the goroutines start.
        let mut args = Vec::new();
        for p in &sig.params {
            let a = self.fresh("a");
            let e = self.expr(cx, p, 2).0;
            let e = if *p == Ty::Str {
                gofmt::expr(&format!("{}cut({e})", self.id))
            } else {
                gofmt::expr(&e)
            };
            push(&mut out, 1, format!("var {a} {} = {e}", self.go_ty(p)));
            args.push((a, p.clone()));
        }
        push(&mut out, 1, format!("for k := 0; k < {n}; k++ {{"));
        push(&mut out, 2, format!("{wg}.Add(1)"));
        push(&mut out, 2, "go func(k int) {");
        push(&mut out, 3, format!("defer {wg}.Done()"));
        let call_args: Vec<String> = args
            .iter()
            .enumerate()
            .map(|(q, (a, t))| match t {
                Ty::Int(i) if q == 0 => format!("{a}+{}(k)", i.go()),
                _ => a.clone(),
            })
            .collect();
        let rs: Vec<String> = (0..sig.results.len()).map(|q| format!("x{q}")).collect();
        let call = format!("{}({})", self.gname("f", j), call_args.join(", "));
        push(&mut out, 3, assign(&rs.join(", "), ":=", &call));
        push(&mut out, 3, "g := uint64(k)");
        for (r, t) in rs.iter().zip(&sig.results) {
            let f = self
                .fold_stmt(r, t)
                .replacen("h = ", "g = ", 1)
                .replace("(h,", "(g,");
            push(&mut out, 3, f);
        }
        push(&mut out, 3, format!("{res}[k] = g"));
        push(&mut out, 2, "}(k)");
        push(&mut out, 1, "}");
        push(&mut out, 1, format!("{wg}.Wait()"));
        push(&mut out, 1, format!("for _, x := range {res} {{"));
        push(&mut out, 2, "h = mix(h, x)");
        push(&mut out, 1, "}");
        push(&mut out, 0, "}");
        self.charge(cx, (sig.cost + 30) * n);
        Some(out)
    }

    /// Slice appends, map writes and deletes, commutative map ranges.
    fn container_stmt(&mut self, cx: &Ctx) -> Option<Lines> {
        let vars: Vec<Var> = self
            .visible(cx.pure)
            .into_iter()
            .filter(|v| !v.readonly && matches!(v.ty, Ty::Slice(_) | Ty::Map(..)))
            .collect();
        if vars.is_empty() {
            return None;
        }
        let v = vars[self.below(vars.len())].clone();
        let mut out = Vec::new();
        match v.ty {
            Ty::Slice(e) => {
                let x = self.nexpr(cx, &Ty::Int(e), 1);
                // Appends stay bounded: the slice is cut back to 16.
                let app = format!("append({}, {x})", v.name);
                push(&mut out, 0, assign(&v.name, "=", &app));
                push(&mut out, 0, format!("if len({}) > 16 {{", v.name));
                push(&mut out, 1, format!("{} = {}[1:]", v.name, v.name));
                push(&mut out, 0, "}");
            }
            Ty::Map(k, e) => match self.below(3) {
                0 => {
                    let key = self.map_key(cx, k);
                    let del = format!("delete({}, {key})", v.name);
                    push(&mut out, 0, gofmt::expr(&del));
                }
                1 => {
                    let (kk, vv) = (self.fresh("k"), self.fresh("x"));
                    push(
                        &mut out,
                        0,
                        format!("for {kk}, {vv} := range {} {{", v.name),
                    );
                    push(
                        &mut out,
                        1,
                        format!("h += uint64({kk})*0x9e3779b97f4a7c15 ^ uint64({vv})"),
                    );
                    push(&mut out, 0, "}");
                    self.charge(cx, 16);
                }
                _ => {
                    let key = self.map_key(cx, k);
                    let (r, ok) = (self.fresh("x"), self.fresh("ok"));
                    push(
                        &mut out,
                        0,
                        format!(
                            "if {r}, {ok} := {}; {ok} {{",
                            gofmt::expr(&format!("{}[{key}]", v.name))
                        ),
                    );
                    push(&mut out, 1, format!("h = mix(h, uint64({r}))"));
                    push(&mut out, 0, "}");
                    let _ = e;
                }
            },
            _ => return None,
        }
        self.charge(cx, 4);
        Some(out)
    }

    // -----------------------------------------------------------------
    // Declarations

    fn program(&mut self, unit: &mut Unit) -> String {
        let id = self.id.clone();
        // Struct types: fields of scalar and array types, some with the
        // interface's method.
        let nstructs = if self.on(Feature::Structs) || self.on(Feature::Interfaces) {
            self.rng.gen_range(1..=3)
        } else {
            0
        };
        for k in 0..nstructs {
            let nf = self.rng.gen_range(1..=4);
            let mut fields = Vec::new();
            for _ in 0..nf {
                let t = if self.on(Feature::Arrays) && self.chance(1, 4) {
                    Ty::Arr(self.int_t(), self.rng.gen_range(1..=4))
                } else {
                    self.scalar_ty()
                };
                fields.push(t);
            }
            let iface =
                (self.on(Feature::Interfaces) || self.on(Feature::Methods)).then_some(k % 2 == 1);
            self.structs.push(StructDef { fields, iface });
        }
        // Functions: signatures first (callers need callee costs, so the
        // bodies are written from the last function to the first).
        let nf = self.case.funcs as usize;
        for j in 0..nf {
            let pure = j > 0 && (self.on(Feature::Goroutines) && self.chance(1, 2));
            let np = self.rng.gen_range(0..=3);
            // No slice parameters: a callee's append shares the caller's
            // array or not by capacity, which the Go release decides.
            let mut params: Vec<Ty> = (0..np)
                .map(|_| match self.var_ty(false) {
                    t if pure && !t.is_scalar() => self.scalar_ty(),
                    Ty::Slice(e) => Ty::Arr(e, 4),
                    t => t,
                })
                .collect();
            // Sometimes a signature of aggregates by value among scalars (the
            // register ABI splits them, expand_calls rebuilds them: golang/go
            // #49282 was two aggregate arguments, an array first, beside a
            // uint64 from a float, in a function with a defer).
            if !pure && self.on(Feature::Arrays) && self.chance(1, 4) {
                let agg = |g: &mut Self| -> Ty {
                    if g.on(Feature::Structs) && !g.structs.is_empty() && g.chance(1, 2) {
                        Ty::Struct(g.below(g.structs.len()))
                    } else {
                        Ty::Arr(g.int_t(), g.rng.gen_range(2..=4))
                    }
                };
                params = vec![Ty::Arr(self.int_t(), self.rng.gen_range(2..=4))];
                for _ in 0..self.rng.gen_range(1..=2) {
                    let t = agg(self);
                    params.push(t);
                }
                params.push(Ty::Int(IntT::U64));
                let at = self.below(params.len());
                let last = params.len() - 1;
                params.swap(at, last);
                if self.chance(1, 2) {
                    params.insert(self.below(params.len() + 1), self.scalar_ty());
                }
            }
            let nres = if self.on(Feature::MultiResults) {
                self.rng.gen_range(1..=3)
            } else {
                1
            };
            let mut results: Vec<Ty> = (1..nres).map(|_| self.scalar_ty()).collect();
            // The last result is an integer; h is folded into it.
            let last = if nres == 1 && self.chance(1, 3) {
                self.scalar_ty()
            } else {
                Ty::Int(self.int_t())
            };
            results.push(last);
            let named = self.on(Feature::NamedResults) && self.chance(1, 2);
            self.funcs.push(FuncSig {
                params,
                results,
                named,
                pure,
                cost: 0,
            });
        }
        // Globals (seen by impure functions).
        let ng = self.rng.gen_range(1..=5);
        let mut gdecls = Vec::new();
        let top = Ctx {
            func: usize::MAX - 1,
            pure: true,
            consts_only: true,
            mult: 1,
            ..Ctx::default()
        };
        self.budget = u64::MAX;
        self.scopes.push(Vec::new());
        for k in 0..ng {
            let t = self.var_ty(true);
            let t = if matches!(t, Ty::Func(..)) {
                Ty::Int(IntT::U32)
            } else {
                t
            };
            let name = self.gname("g", k);
            // Initial values are constants or fresh values.
            let init = match &t {
                Ty::Int(i) => self.lit_int(*i),
                Ty::Bool => "true".into(),
                Ty::F64 => "1.5".into(),
                Ty::Str => self.lit_str(),
                _ => self.composite_value(&top, &t),
            };
            gdecls.push(format!("var {name} {} = {init}", self.go_ty(&t)));
            self.globals.push(Var {
                name,
                ty: t,
                readonly: false,
            });
        }
        self.scopes.pop();
        // Bodies, last first.
        let mut bodies: Vec<Src> = Vec::new();
        for j in (0..nf).rev() {
            bodies.push(self.function(j));
        }
        bodies.reverse();

        // Methods: Get on the interface's implementors.
        let mut methods = Vec::new();
        for k in 0..self.structs.len() {
            let Some(ptr) = self.structs[k].iface else {
                continue;
            };
            let mut s = Src::new();
            let recv = if ptr {
                format!("(s *{})", self.struct_name(k))
            } else {
                format!("(s {})", self.struct_name(k))
            };
            s.open(format!("func {recv} Get(x int32) int64 {{"));
            let fields = self.structs[k].fields.clone();
            let mut acc = "int64(x)".to_string();
            for (f, ft) in fields.iter().enumerate() {
                if let Ty::Int(_) = ft {
                    acc = format!("{acc}*3 + int64(s.f{f})");
                    if ptr && self.chance(1, 2) {
                        s.line(format!("s.f{f}++"));
                    }
                }
            }
            s.line(format!("return {}", gofmt::expr(&acc)));
            s.close("}");
            methods.push(s);
        }

        // The interface.
        if self.structs.iter().any(|s| s.iface.is_some()) {
            let mut s = Src::new();
            s.open(format!("type {} interface {{", self.iface_name()));
            s.line("Get(x int32) int64");
            s.close("}");
            unit.decl(s);
        }
        for k in 0..self.structs.len() {
            let mut s = Src::new();
            s.open(format!("type {} struct {{", self.struct_name(k)));
            for (f, ft) in self.structs[k].fields.clone().iter().enumerate() {
                s.line(format!("f{f} {}", self.go_ty(ft)));
            }
            s.close("}");
            unit.decl(s);
        }
        for m in methods {
            unit.decl(m);
        }
        let mut g = Src::new();
        for d in &gdecls {
            g.line(d);
        }
        unit.decl(g);
        // Helpers: cut strings, read a byte.
        let mut s = Src::new();
        s.open(format!("func {id}cut(s string) string {{"));
        s.open("if len(s) > 24 {");
        s.line("return s[len(s)-24:]");
        s.close("}");
        s.line("return s");
        s.close("}");
        unit.decl(s);
        let mut s = Src::new();
        s.open(format!("func {id}at(s string, k uint64) uint8 {{"));
        s.open("if len(s) == 0 {");
        s.line("return 0");
        s.close("}");
        s.line("return s[k%uint64(len(s))]");
        s.close("}");
        unit.decl(s);
        for b in bodies {
            unit.decl(b);
        }

        // The driver.
        let run = format!("{id}Run");
        let mut d = Src::new();
        d.open(format!("func {run}() uint64 {{"));
        d.line("var h uint64 = 1469598103934665603");
        d.open(format!("for it := 0; it < {}; it++ {{", self.case.iters));
        let sig = self.funcs[0].clone();
        let args: Vec<String> = sig
            .params
            .iter()
            .enumerate()
            .map(|(q, p)| match p {
                Ty::Int(i) => format!("{}(it*{}+{q})", i.go(), 7 + q),
                Ty::Bool => "it%3 == 1".into(),
                Ty::F64 => "float64(it)".into(),
                Ty::Str => "\"it\"".into(),
                _ => {
                    let v = self.fresh("d");
                    let e = self.composite_value(&top, p);
                    let e = e.replace('\n', "\n\t\t");
                    d.line(format!("{v} := {e}"));
                    v
                }
            })
            .collect();
        let rs: Vec<String> = (0..sig.results.len()).map(|q| format!("r{q}")).collect();
        let call = format!("{}({})", self.gname("f", 0), args.join(", "));
        d.line(assign(&rs.join(", "), ":=", &call));
        for (r, t) in rs.iter().zip(&sig.results) {
            let f = self.fold_stmt(r, t);
            d.line(f);
        }
        d.close("}");
        for gv in self.globals.clone() {
            let f = self.fold_stmt(&gv.name, &gv.ty);
            d.line(f);
        }
        d.line("return h");
        d.close("}");
        unit.decl(d);
        for s in std::mem::take(&mut self.fold_src) {
            unit.decl(s);
        }
        for i in &self.imports {
            unit.import(i);
        }
        run
    }

    /// The body of function `j`.
    fn function(&mut self, j: usize) -> Src {
        let sig = self.funcs[j].clone();
        self.budget = if j == 0 { BUDGET } else { BUDGET / 3 };
        self.spent = 0;
        let cx = Ctx {
            func: j,
            pure: sig.pure,
            mult: 1,
            ..Ctx::default()
        };
        let pnames: Vec<String> = (0..sig.params.len()).map(|q| format!("q{q}")).collect();
        self.scopes = vec![Vec::new()];
        for (n, t) in pnames.iter().zip(&sig.params) {
            self.scopes[0].push(Var {
                name: n.clone(),
                ty: t.clone(),
                readonly: false,
            });
        }
        let params: Vec<String> = pnames
            .iter()
            .zip(&sig.params)
            .map(|(n, t)| format!("{n} {}", self.go_ty(t)))
            .collect();
        let nres = sig.results.len();
        let results = if sig.named {
            let mut r: Vec<String> = sig
                .results
                .iter()
                .enumerate()
                .map(|(q, t)| format!("o{q} {}", self.go_ty(t)))
                .collect();
            r.push("h uint64".into());
            // The hash is a named result too, so that deferred closures
            // change what the caller gets.
            format!("({})", r.join(", "))
        } else if nres == 1 {
            self.go_ty(&sig.results[0])
        } else {
            format!(
                "({})",
                sig.results
                    .iter()
                    .map(|t| self.go_ty(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut s = Src::new();
        if self.chance(1, 3) {
            s.line("//go:noinline");
        }
        s.open(format!(
            "func {}({}) {results} {{",
            self.gname("f", j),
            params.join(", ")
        ));
        if sig.named {
            s.line(format!("h = {}", 0x9e37 + j));
        } else {
            s.line(format!("h := uint64({})", 0x9e37 + j));
        }
        // Sometimes a call comes first, before any branch (the parameter
        // folds below may inline loops): the entry block then holds the
        // call and the loads of its aggregate arguments.
        if self.chance(1, 4) {
            if let Some(c) = self.call_stmt(&cx) {
                self.emit(&mut s, c);
            }
        }
        // Parameters feed the hash.
        let mut pre = Vec::new();
        for (n, t) in pnames.iter().zip(&sig.params) {
            pre.push(self.fold_stmt(n, t));
        }
        for l in pre {
            s.line(l);
        }
        let n = self.stmt_count().max(2);
        let body = self.block(&cx, n + 2);
        self.emit(&mut s, body);
        // Results: expressions of the result types; h folded into the last.
        let mut rets = Vec::new();
        for (q, t) in sig.results.iter().enumerate() {
            let e = if q + 1 == nres {
                match t {
                    Ty::Int(i) => format!(
                        "{} ^ {}(h)",
                        self.short(&cx, t, MAX_EXPR_BYTES / nres),
                        i.go()
                    ),
                    Ty::Bool => format!(
                        "{} != (h&1 == 1)",
                        self.short(&cx, t, MAX_EXPR_BYTES / nres)
                    ),
                    Ty::F64 => format!(
                        "{} + float64(h&255)",
                        self.short(&cx, t, MAX_EXPR_BYTES / nres)
                    ),
                    Ty::Str => {
                        let e = self.short(&cx, t, MAX_EXPR_BYTES / nres);
                        format!("{}cut({e} + string(rune(h&127)))", self.id)
                    }
                    _ => unreachable!(),
                }
            } else {
                self.short(&cx, t, MAX_EXPR_BYTES / nres)
            };
            rets.push(gofmt::expr(&e));
        }
        if sig.named {
            for (q, e) in rets.iter().enumerate() {
                s.line(format!("o{q} = {e}"));
            }
            s.line("return");
        } else {
            s.line(format!("return {}", rets.join(", ")));
        }
        s.close("}");
        self.funcs[j].cost = self.spent.max(1);
        if sig.named {
            // Callers see one more result: the hash.
            self.funcs[j].results.push(Ty::Int(IntT::U64));
        }
        self.scopes.clear();
        s
    }

    /// Write statements one level inside the function's braces.
    fn emit(&self, s: &mut Src, lines: Lines) {
        for (i, l) in lines {
            match l.strip_prefix('@') {
                Some(label) => s.raw(i, label),
                None => s.raw(i + 1, &l),
            }
        }
    }
}
