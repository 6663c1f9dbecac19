//! `expr`: typed integer expressions whose every value feeds the checksum,
//! each one checked against a second evaluation the optimiser cannot touch.
//!
//! A case is a loop over `iters` iterations. Each iteration reads its
//! inputs from global tables of edge values (0, 1, -1, the width − 1, min,
//! max, powers of two and their neighbours), mixed with the loop index, and
//! evaluates expression trees over every integer width, signed and
//! unsigned: arithmetic and bit operations with constants at the edges
//! (the left-hand sides of the compiler's rewrite rules: `x*c`, `x/c`,
//! `x%c`, `x&c`, `x<<c`), shifts by constants and by variables near and past
//! the width, mixed-width conversions, comparisons folded with constants,
//! bit tricks (`x&-x`, `x^(x>>k)`, `x&^(x-1)`, rotates).
//!
//! Each tree is evaluated twice. The *fast* path is the tree as one Go
//! expression, constants inline, for the optimiser to fold, combine and
//! schedule as it likes. The *reference* path computes the same tree one
//! operation per statement, every operand laundered through a
//! `//go:noinline` identity function, so no rule that spans two operations
//! and no constant folding can apply. The two must agree: when they do
//! not, the program panics with `divergo self-check: ...`, which the
//! oracle reports as wrong output even when every toolchain agrees (a
//! miscompile of one toolchain shows on that toolchain alone).
//!
//! Beside the trees a case may carry: an array filled, copied onto itself
//! with overlap (`copy` is a memmove) and summed in a loop whose bounds
//! checks the compiler may drop, against element-by-element reference
//! loops with laundered indices; a dense `switch` on constants (a jump
//! table from go1.19), against an if-chain; and traps, the run-time
//! failures placed on purpose (division by zero, an index out of range, a
//! negative shift count), each recovered and counted, the count checked
//! against the arithmetic that says how many there must be.
//!
//! Go defines integer overflow, so nothing else can fail at run time. At
//! compile time a constant expression that overflows its type is an
//! error, so no operation of a tree has only constant operands
//! ([`ExprCase::normalize`] turns such a constant into an input).

use super::gofmt;
use super::pick;
use super::src::{Src, Unit};
use super::CaseCtx;
use arbitrary::{Result, Unstructured};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An integer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ty {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Int,
    Uint,
}

impl Ty {
    /// The fixed-width types first: `EXPR_TYS` is the first eight.
    pub const ALL: [Ty; 10] = [
        Ty::I8,
        Ty::I16,
        Ty::I32,
        Ty::I64,
        Ty::U8,
        Ty::U16,
        Ty::U32,
        Ty::U64,
        Ty::Int,
        Ty::Uint,
    ];

    pub fn go(self) -> &'static str {
        match self {
            Ty::I8 => "int8",
            Ty::I16 => "int16",
            Ty::I32 => "int32",
            Ty::I64 => "int64",
            Ty::U8 => "uint8",
            Ty::U16 => "uint16",
            Ty::U32 => "uint32",
            Ty::U64 => "uint64",
            Ty::Int => "int",
            Ty::Uint => "uint",
        }
    }

    /// Bits. `int` and `uint` count as 64 (amd64, arm64): expressions never
    /// compute in them (see `EXPR_TYS`), only indices and shift counts do.
    pub fn width(self) -> u32 {
        match self {
            Ty::I8 | Ty::U8 => 8,
            Ty::I16 | Ty::U16 => 16,
            Ty::I32 | Ty::U32 => 32,
            _ => 64,
        }
    }

    pub fn signed(self) -> bool {
        matches!(self, Ty::I8 | Ty::I16 | Ty::I32 | Ty::I64 | Ty::Int)
    }

    pub fn min(self) -> i128 {
        if self.signed() {
            -(1i128 << (self.width() - 1))
        } else {
            0
        }
    }

    pub fn max(self) -> i128 {
        if self.signed() {
            (1i128 << (self.width() - 1)) - 1
        } else {
            (1i128 << self.width()) - 1
        }
    }

    /// The unsigned type of the same width.
    fn unsigned(self) -> Ty {
        match self {
            Ty::I8 => Ty::U8,
            Ty::I16 => Ty::U16,
            Ty::I32 => Ty::U32,
            Ty::I64 => Ty::U64,
            Ty::Int => Ty::Uint,
            t => t,
        }
    }

    /// Short name used in identifiers (`i8`, `u64`, `int`).
    fn short(self) -> &'static str {
        match self {
            Ty::I8 => "i8",
            Ty::I16 => "i16",
            Ty::I32 => "i32",
            Ty::I64 => "i64",
            Ty::U8 => "u8",
            Ty::U16 => "u16",
            Ty::U32 => "u32",
            Ty::U64 => "u64",
            Ty::Int => "int",
            Ty::Uint => "uint",
        }
    }

    /// The edge values of the type, as the input tables hold them.
    fn edges(self) -> Vec<i128> {
        let w = self.width() as i128;
        let mut v = vec![
            0,
            1,
            w - 1,
            w,
            self.max(),
            self.max() - 1,
            1 << (self.width() / 2),
        ];
        if self.signed() {
            v.extend([-1, self.min(), self.min() + 1, -w]);
        } else {
            v.extend([self.max() >> 1, (self.max() >> 1) + 1]);
        }
        v.sort();
        v.dedup();
        v
    }
}

/// A constant at an edge of its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edge {
    Zero,
    One,
    /// -1 for a signed type, the maximum for an unsigned one.
    MinusOne,
    /// The width − 1 (7, 15, 31, 63).
    WidthMinus1,
    Min,
    Max,
    /// 2^k (k below the width).
    Pow2(u8),
    /// 2^k − 1.
    Pow2Minus1(u8),
    /// A small odd constant, the kind magic-number division handles.
    Small(u8),
}

impl Edge {
    fn arb(u: &mut Unstructured) -> Result<Edge> {
        Ok(match u.int_in_range(0u8..=9)? {
            0 => Edge::Zero,
            1 => Edge::One,
            2 => Edge::MinusOne,
            3 => Edge::WidthMinus1,
            4 => Edge::Min,
            5 => Edge::Max,
            6 => Edge::Pow2(u.int_in_range(1u8..=63)?),
            7 => Edge::Pow2Minus1(u.int_in_range(1u8..=63)?),
            _ => Edge::Small(pick(u, &[(3, 3u8), (3, 7), (2, 10), (2, 25), (1, 255)])?),
        })
    }

    /// A divisor: mostly the small odd and ten-ish constants of
    /// magic-number division, then powers of two and the extremes.
    fn arb_divisor(u: &mut Unstructured) -> Result<Edge> {
        Ok(match u.int_in_range(0u8..=9)? {
            0..=5 => Edge::Small(pick(
                u,
                &[(3, 3u8), (2, 5), (2, 7), (2, 10), (1, 25), (1, 255)],
            )?),
            6 | 7 => Edge::Pow2(u.int_in_range(1u8..=63)?),
            8 => Edge::MinusOne,
            _ => *u.choose(&[Edge::Max, Edge::Min, Edge::Pow2Minus1(7)])?,
        })
    }

    pub fn value(self, t: Ty) -> i128 {
        let w = t.width();
        // Exponents for the sign bit's neighbours stay inside the type.
        let k = |k: u8| (k as u32) % (if t.signed() { w - 1 } else { w });
        let v = match self {
            Edge::Zero => 0,
            Edge::One => 1,
            Edge::MinusOne if t.signed() => -1,
            Edge::MinusOne => t.max(),
            Edge::WidthMinus1 => w as i128 - 1,
            Edge::Min => t.min(),
            Edge::Max => t.max(),
            Edge::Pow2(e) => 1i128 << k(e),
            Edge::Pow2Minus1(e) => (1i128 << k(e).max(1)) - 1,
            Edge::Small(s) => s as i128,
        };
        v.clamp(t.min(), t.max())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    AndNot,
}

impl BinOp {
    fn go(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::AndNot => "&^",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn go(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// The count of a shift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    /// A constant, up to a few past the width (the result is then 0 or the
    /// sign, as Go defines).
    Const(u8),
    /// The width of the shifted value plus this (−2..=2): counts at the
    /// edge, where rules need a width guard.
    Near(i8),
    /// `uint(e) & mask`: a variable count the compiler knows a bound of.
    Masked(Box<Node>, u8),
    /// `uint8(e)`: a variable count up to 255.
    Byte(Box<Node>),
}

/// The divisor of a `/` or `%`: never zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Divisor {
    /// A nonzero constant (magic-number division in the fast path).
    Const(Edge),
    /// `(e | 1)`.
    OrOne(Box<Node>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trick {
    /// `x & -x`: the lowest set bit.
    LowBit,
    /// `x &^ (x - 1)`, the same by another rule.
    LowBitAndNot,
    /// `x ^ (x >> k)`.
    XorShift(u8),
    /// Rotate left by k (`x<<k | x>>(w-k)` on the unsigned bits).
    Rotate(u8),
}

/// An expression tree; its type is given by its parent (or the item).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    /// Input k, converted to the node's type.
    Var(u8),
    /// The loop index, converted.
    Idx,
    Const(Edge),
    Bin(BinOp, Box<Node>, Box<Node>),
    /// `x / d` (`rem`: `x % d`).
    Div {
        rem: bool,
        x: Box<Node>,
        d: Divisor,
    },
    /// `x << c` (`right`: `x >> c`).
    Shift {
        right: bool,
        x: Box<Node>,
        c: Count,
    },
    Neg(Box<Node>),
    Not(Box<Node>),
    /// A value of another type, converted.
    Conv(Ty, Box<Node>),
    /// A comparison of two values of type `Ty`, as 0 or 1.
    Cmp(CmpOp, Ty, Box<Node>, Box<Node>),
    Trick(Trick, Box<Node>),
}

/// One expression: its type and its tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub ty: Ty,
    pub tree: Node,
}

/// An array filled, copied onto itself with overlap and summed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub elem: Ty,
    pub len: u8,
    /// `copy(a[shift:], a[:len-shift])`.
    pub shift: u8,
    /// Multiplier of the fill.
    pub mul: Edge,
    /// The sum starts at this index and steps by `step`.
    pub start: u8,
    pub step: u8,
}

/// A `switch` on `cases` consecutive constants from `base` (with every
/// `gap`-th missing), against an if-chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switch {
    pub ty: Ty,
    pub base: i8,
    pub cases: u8,
    pub gap: u8,
}

/// Run-time failures placed on purpose, each recovered and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrapKind {
    DivZero,
    Index,
    NegShift,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trap {
    pub kind: TrapKind,
    pub ty: Ty,
    /// Every `every`-th iteration fails.
    pub every: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExprCase {
    /// Input types; input k reads table k.
    pub inputs: Vec<Ty>,
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch: Option<Switch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traps: Vec<Trap>,
    pub iters: u32,
}

/// What a program panics with when its two evaluations disagree.
pub const SELF_CHECK: &str = "divergo self-check";

pub const MAX_INPUTS: usize = 4;
pub const MAX_ITEMS: usize = 8;
pub const MAX_DEPTH: u32 = 5;
pub const MAX_ITERS: u32 = 20_000;
pub const MAX_TRAPS: usize = 3;
/// Longest fast-path expression, in bytes (lines stay under the
/// generator's 200).
const MAX_FAST_LEN: usize = 150;

/// The types expressions compute in: the fixed-width ones. `int` and
/// `uint` are 32 bits on 386, arm and mips(le) and 64 elsewhere, so a value
/// computed in them would mean different things on different archs; they
/// stay for indices and shift counts, whose values are small.
const EXPR_TYS: &[Ty] = Ty::ALL.split_at(8).0;

fn arb_ty(u: &mut Unstructured) -> Result<Ty> {
    Ok(*u.choose(EXPR_TYS)?)
}

/// A tree of at most `depth` levels of operations; `root`: an operation,
/// never a bare leaf.
fn arb_node(u: &mut Unstructured, depth: u32) -> Result<Node> {
    arb_tree(u, depth, false)
}

/// The left-hand side of a rewrite rule (cmd/compile/internal/ssa/_gen's
/// generic, AMD64 and ARM64 rules) with subtrees of `depth` levels at its
/// operands: shapes a uniform draw of operations almost never makes.
fn arb_shape(u: &mut Unstructured, depth: u32) -> Result<Node> {
    let d = depth.saturating_sub(1);
    let x = Box::new(arb_node(u, d)?);
    let small = |u: &mut Unstructured| -> Result<Edge> { Edge::arb_divisor(u) };
    let narrow = |u: &mut Unstructured| -> Result<Ty> {
        Ok(*u.choose(&[Ty::U8, Ty::U16, Ty::U32, Ty::I8, Ty::I16, Ty::I32])?)
    };
    let shl = |x: Box<Node>, c: Count| Node::Shift { right: false, x, c };
    let shr = |x: Box<Node>, c: Count| Node::Shift { right: true, x, c };
    Ok(match u.int_in_range(0u8..=11)? {
        // (x + x) << (w-1): a doubling folded into the shift.
        0 => shl(
            Box::new(Node::Bin(BinOp::Add, x.clone(), x)),
            Count::Near(pick(u, &[(3, -1i8), (1, -2), (1, 0)])?),
        ),
        // T(x % c), T(x * c) with x narrower: the extension after the
        // magic-number sequence.
        1 => Node::Conv(
            narrow(u)?,
            Box::new(Node::Div {
                rem: u.ratio(1, 2)?,
                x,
                d: Divisor::Const(small(u)?),
            }),
        ),
        2 => Node::Conv(
            narrow(u)?,
            Box::new(Node::Bin(BinOp::Mul, x, Box::new(Node::Const(small(u)?)))),
        ),
        // x - x<<c<<k with c not constant.
        3 => {
            let c = Box::new(arb_node(u, d)?);
            Node::Bin(
                BinOp::Sub,
                x.clone(),
                Box::new(shl(
                    Box::new(shl(x, Count::Byte(c))),
                    Count::Const(u.int_in_range(1u8..=8)?),
                )),
            )
        }
        // T(int16(a>>k)) * T(int16(b>>k)): sign extensions of shifted halves.
        4 => {
            let k = Count::Const(u.int_in_range(1u8..=48)?);
            let y = Box::new(arb_node(u, d)?);
            let t = narrow(u)?;
            let half = |v: Box<Node>, k: Count| {
                Node::Conv(t, Box::new(Node::Conv(Ty::I64, Box::new(shr(v, k)))))
            };
            Node::Bin(
                BinOp::Mul,
                Box::new(half(x, k.clone())),
                Box::new(half(y, k)),
            )
        }
        // (x << c) >> c and (x >> c) << c: extension and masking idioms.
        5 | 6 => {
            let c = if u.ratio(1, 2)? {
                Count::Const(u.int_in_range(1u8..=63)?)
            } else {
                Count::Near(pick(u, &[(2, -1i8), (1, -2)])?)
            };
            if u.ratio(1, 2)? {
                shr(Box::new(shl(x, c.clone())), c)
            } else {
                shl(Box::new(shr(x, c.clone())), c)
            }
        }
        // x & (2^k - 1), x | 2^k, x ^ -1.
        7 => {
            let op = *u.choose(&[BinOp::And, BinOp::Or, BinOp::Xor, BinOp::AndNot])?;
            let k = u.int_in_range(1u8..=63)?;
            let c = *u.choose(&[
                Edge::Pow2Minus1(k),
                Edge::Pow2(k),
                Edge::MinusOne,
                Edge::Max,
                Edge::Min,
            ])?;
            Node::Bin(op, x, Box::new(Node::Const(c)))
        }
        // x * (2^k ± 1), x * -1: multiplies that become shifts and adds.
        8 => {
            let k = u.int_in_range(2u8..=63)?;
            let m = pick(u, &[(1, 3u8), (1, 5), (1, 9), (1, 10)])?;
            let c = *u.choose(&[
                Edge::Pow2(k),
                Edge::Pow2Minus1(k),
                Edge::Small(m),
                Edge::MinusOne,
            ])?;
            Node::Bin(BinOp::Mul, x, Box::new(Node::Const(c)))
        }
        // A signed division by a power of two (the rounding fix-up).
        9 => Node::Div {
            rem: u.ratio(1, 2)?,
            x,
            d: Divisor::Const(Edge::Pow2(u.int_in_range(1u8..=62)?)),
        },
        // The sign bit of a narrower value, shifted down: T(N(x) >> (w-1)).
        10 => Node::Conv(narrow(u)?, Box::new(shr(x, Count::Near(-1)))),
        // A comparison against an edge, folded or not.
        _ => Node::Cmp(
            *u.choose(&[CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge, CmpOp::Eq])?,
            arb_ty(u)?,
            x,
            Box::new(Node::Const(*u.choose(&[
                Edge::Zero,
                Edge::Max,
                Edge::Min,
                Edge::MinusOne,
            ])?)),
        ),
    })
}

fn arb_tree(u: &mut Unstructured, depth: u32, root: bool) -> Result<Node> {
    if depth > 0 && u.ratio(1, 3)? {
        return arb_shape(u, depth);
    }
    if depth == 0 || (!root && u.ratio(1, 4)?) {
        return Ok(match u.int_in_range(0u8..=9)? {
            0..=4 => Node::Var(u.int_in_range(0u8..=(MAX_INPUTS as u8 - 1))?),
            5 => Node::Idx,
            _ => Node::Const(Edge::arb(u)?),
        });
    }
    let d = depth - 1;
    let b = |u: &mut Unstructured| -> Result<Box<Node>> { Ok(Box::new(arb_node(u, d)?)) };
    Ok(match u.int_in_range(0u8..=19)? {
        0..=6 => {
            let op = *u.choose(&[
                BinOp::Add,
                BinOp::Sub,
                BinOp::Mul,
                BinOp::And,
                BinOp::Or,
                BinOp::Xor,
                BinOp::AndNot,
            ])?;
            // A constant on the right is what most rules match; the left
            // operand again (`x + x`, `x - x<<c`) is what others match.
            let l = b(u)?;
            let r = match u.int_in_range(0u8..=7)? {
                0..=3 => Box::new(Node::Const(Edge::arb(u)?)),
                4 => l.clone(),
                5 => Box::new(Node::Shift {
                    right: false,
                    x: l.clone(),
                    c: if u.ratio(1, 2)? {
                        Count::Const(u.int_in_range(1u8..=63)?)
                    } else {
                        Count::Byte(b(u)?)
                    },
                }),
                _ => b(u)?,
            };
            Node::Bin(op, l, r)
        }
        7..=9 => Node::Shift {
            right: u.ratio(1, 2)?,
            x: b(u)?,
            c: match u.int_in_range(0u8..=5)? {
                0 | 1 => Count::Const(u.int_in_range(0u8..=67)?),
                2 | 3 => Count::Near(pick(u, &[(3, -1i8), (2, 0), (2, 1), (1, -2), (1, 2)])?),
                4 => Count::Masked(
                    b(u)?,
                    pick(u, &[(1, 7u8), (1, 15), (1, 31), (2, 63), (1, 127)])?,
                ),
                _ => Count::Byte(b(u)?),
            },
        },
        10 | 11 => Node::Div {
            rem: u.ratio(1, 2)?,
            x: b(u)?,
            d: if u.ratio(2, 3)? {
                Divisor::Const(Edge::arb_divisor(u)?)
            } else {
                Divisor::OrOne(b(u)?)
            },
        },
        12 => Node::Neg(b(u)?),
        13 => Node::Not(b(u)?),
        14 | 15 => Node::Conv(arb_ty(u)?, b(u)?),
        16 | 17 => {
            let l = b(u)?;
            let r = if u.ratio(1, 2)? {
                Box::new(Node::Const(Edge::arb(u)?))
            } else {
                b(u)?
            };
            let op = *u.choose(&[
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge,
            ])?;
            Node::Cmp(op, arb_ty(u)?, l, r)
        }
        _ => {
            let t = match u.int_in_range(0u8..=3)? {
                0 => Trick::LowBit,
                1 => Trick::LowBitAndNot,
                2 => Trick::XorShift(u.int_in_range(1u8..=63)?),
                _ => Trick::Rotate(u.int_in_range(1u8..=63)?),
            };
            Node::Trick(t, b(u)?)
        }
    })
}

/// A node's operands, as `&Node` or `&mut Node` (one match for both).
macro_rules! node_children {
    ($n:expr) => {
        match $n {
            Node::Var(_) | Node::Idx | Node::Const(_) => vec![],
            Node::Bin(_, a, b) | Node::Cmp(_, _, a, b) => vec![a, b],
            Node::Div { x, d, .. } => match d {
                Divisor::Const(_) => vec![x],
                Divisor::OrOne(n) => vec![x, n],
            },
            Node::Shift { x, c, .. } => match c {
                Count::Const(_) | Count::Near(_) => vec![x],
                Count::Masked(n, _) | Count::Byte(n) => vec![x, n],
            },
            Node::Neg(a) | Node::Not(a) | Node::Conv(_, a) | Node::Trick(_, a) => vec![a],
        }
    };
}

impl Node {
    fn is_const(&self) -> bool {
        match self {
            Node::Var(_) | Node::Idx => false,
            Node::Const(_) => true,
            Node::Bin(_, a, b) | Node::Cmp(_, _, a, b) => a.is_const() && b.is_const(),
            Node::Div { x, d, .. } => {
                x.is_const()
                    && match d {
                        Divisor::Const(_) => true,
                        Divisor::OrOne(n) => n.is_const(),
                    }
            }
            Node::Shift { x, c, .. } => {
                x.is_const()
                    && match c {
                        Count::Const(_) | Count::Near(_) => true,
                        Count::Masked(n, _) | Count::Byte(n) => n.is_const(),
                    }
            }
            Node::Neg(a) | Node::Not(a) | Node::Conv(_, a) | Node::Trick(_, a) => a.is_const(),
        }
    }

    /// Operations in the tree.
    fn size(&self) -> u64 {
        1 + self.children().iter().map(|c| c.size()).sum::<u64>()
    }

    fn children(&self) -> Vec<&Node> {
        node_children!(self)
    }

    fn children_mut(&mut self) -> Vec<&mut Node> {
        node_children!(self)
    }

    /// Clamp into what the renderer supports for a node of type `t`.
    fn normalize(&mut self, t: Ty, inputs: usize, depth: u32) {
        if depth == 0 && !matches!(self, Node::Var(_) | Node::Idx | Node::Const(_)) {
            *self = Node::Var(0);
        }
        match self {
            Node::Var(k) => *k %= inputs.max(1) as u8,
            Node::Shift { c, .. } => {
                if let Count::Const(k) = c {
                    *k = (*k).min(t.width() as u8 + 3);
                }
                if let Count::Near(d) = c {
                    *d = (*d).clamp(-2, 2);
                }
                if let Count::Masked(_, m) = c {
                    *m = (*m).clamp(1, 127);
                }
            }
            Node::Div {
                d: Divisor::Const(e),
                ..
            } if e.value(t) == 0 => *e = Edge::One,
            Node::Trick(Trick::XorShift(k) | Trick::Rotate(k), _) => {
                *k = (*k % (t.width() as u8 - 1)).max(1);
            }
            _ => {}
        }
        // Children, each with its own type.
        let child_ty = self.child_types(t);
        for (c, ct) in self.children_mut().into_iter().zip(child_ty) {
            c.normalize(ct, inputs, depth.saturating_sub(1));
        }
        // An operation on constants alone is a constant expression, which
        // must not overflow: make its first constant an input.
        if !matches!(self, Node::Var(_) | Node::Idx | Node::Const(_)) && self.is_const() {
            if let Some(first) = self.children_mut().into_iter().next() {
                first.make_input();
            }
        }
    }

    /// Replace the first constant leaf (depth first) with input 0.
    fn make_input(&mut self) {
        if let Node::Const(_) = self {
            *self = Node::Var(0);
            return;
        }
        if let Some(c) = self.children_mut().into_iter().next() {
            c.make_input();
        }
    }

    /// The types of the children, in [`Node::children`] order.
    fn child_types(&self, t: Ty) -> Vec<Ty> {
        match self {
            Node::Var(_) | Node::Idx | Node::Const(_) => vec![],
            Node::Bin(..) => vec![t, t],
            Node::Cmp(_, ct, ..) => vec![*ct, *ct],
            Node::Div { d, .. } => match d {
                Divisor::Const(_) => vec![t],
                Divisor::OrOne(_) => vec![t, t],
            },
            Node::Shift { c, .. } => match c {
                Count::Const(_) | Count::Near(_) => vec![t],
                // The count's own tree computes in uint32: in `uint` its
                // constants would not fit on a 32-bit arch.
                Count::Masked(..) => vec![t, Ty::U32],
                Count::Byte(..) => vec![t, Ty::U8],
            },
            Node::Conv(ct, _) => vec![*ct],
            Node::Neg(_) | Node::Not(_) | Node::Trick(..) => vec![t],
        }
    }

    /// The inputs the tree reads.
    fn inputs(&self, out: &mut BTreeSet<u8>) {
        if let Node::Var(k) = self {
            out.insert(*k);
        }
        for c in self.children() {
            c.inputs(out);
        }
    }

    /// Smaller trees of the same type: each child that has it, or a leaf.
    fn shrink(&self, t: Ty) -> Vec<Node> {
        let mut out = Vec::new();
        for (c, ct) in self.children().into_iter().zip(self.child_types(t)) {
            if ct == t {
                out.push(c.clone());
            }
        }
        if !matches!(self, Node::Var(_) | Node::Idx | Node::Const(_)) {
            out.push(Node::Var(0));
        }
        out
    }
}

/// Rendering of one case: the identity functions it needs, as it goes.
struct Ren<'a> {
    id: &'a str,
    inputs: &'a [Ty],
    /// Types whose identity function the reference path calls.
    ids: BTreeSet<Ty>,
    /// The reference path needs the noinline bool-to-int.
    bool_ref: bool,
    /// The fast path needs the inlinable one.
    bool_fast: bool,
}

fn lit(t: Ty, v: i128) -> String {
    format!("{}({v})", t.go())
}

impl Ren<'_> {
    fn idf(&mut self, t: Ty) -> String {
        self.ids.insert(t);
        format!("{}id{}", self.id, t.short())
    }

    fn var(&self, k: u8, t: Ty) -> String {
        let v = format!("v{k}");
        if self.inputs[k as usize] == t {
            v
        } else {
            format!("{}({v})", t.go())
        }
    }

    /// The tree as one Go expression of type `t`.
    fn fast(&mut self, n: &Node, t: Ty) -> String {
        let ct = n.child_types(t);
        match n {
            Node::Var(k) => self.var(*k, t),
            Node::Idx => format!("{}(i)", t.go()),
            Node::Const(e) => lit(t, e.value(t)),
            Node::Bin(op, a, b) => {
                format!("({} {} {})", self.fast(a, t), op.go(), self.fast(b, t))
            }
            Node::Div { rem, x, d } => {
                let op = if *rem { "%" } else { "/" };
                let x = self.fast(x, t);
                let d = match d {
                    Divisor::Const(e) => lit(t, e.value(t)),
                    Divisor::OrOne(m) => format!("({} | 1)", self.fast(m, ct[1])),
                };
                format!("({x} {op} {d})")
            }
            Node::Shift { right, x, c } => {
                let op = if *right { ">>" } else { "<<" };
                let x = self.fast(x, t);
                let c = match c {
                    Count::Const(k) => k.to_string(),
                    Count::Near(d) => (t.width() as i32 + *d as i32).to_string(),
                    Count::Masked(m, mask) => format!("(uint({}) & {mask})", self.fast(m, ct[1])),
                    Count::Byte(m) => format!("uint8({})", self.fast(m, ct[1])),
                };
                format!("({x} {op} {c})")
            }
            Node::Neg(a) => format!("(-{})", self.fast(a, t)),
            Node::Not(a) => format!("(^{})", self.fast(a, t)),
            Node::Conv(ct, a) => format!("{}({})", t.go(), self.fast(a, *ct)),
            Node::Cmp(op, ct, a, b) => {
                self.bool_fast = true;
                let (a, b) = (self.fast(a, *ct), self.fast(b, *ct));
                format!("{}({}b({a} {} {b}))", t.go(), self.id, op.go())
            }
            Node::Trick(tr, a) => {
                let x = self.fast(a, t);
                match tr {
                    Trick::LowBit => format!("({x} & -{x})"),
                    Trick::LowBitAndNot => format!("({x} &^ ({x} - 1))"),
                    Trick::XorShift(k) => format!("({x} ^ ({x} >> {k}))"),
                    Trick::Rotate(k) => {
                        let u = t.unsigned();
                        let w = t.width();
                        let ux = if u == t {
                            x
                        } else {
                            format!("{}({x})", u.go())
                        };
                        let rot = format!("({ux}<<{k} | {ux}>>{})", w - *k as u32);
                        if u == t {
                            rot
                        } else {
                            format!("{}{rot}", t.go())
                        }
                    }
                }
            }
        }
    }

    /// The tree one operation per statement, each result and operand
    /// laundered; returns the temporary that holds the value.
    fn reference(
        &mut self,
        n: &Node,
        t: Ty,
        s: &mut Src,
        tmp: &mut Vec<String>,
        p: &str,
    ) -> String {
        let ct = n.child_types(t);
        let idt = self.idf(t);
        let expr = match n {
            Node::Var(k) => format!("{idt}({})", self.var(*k, t)),
            Node::Idx => format!("{idt}({}(i))", t.go()),
            Node::Const(e) => format!("{idt}({})", lit(t, e.value(t))),
            Node::Bin(op, a, b) => {
                let a = self.reference(a, t, s, tmp, p);
                let b = self.reference(b, t, s, tmp, p);
                format!("{idt}({a} {} {b})", op.go())
            }
            Node::Div { rem, x, d } => {
                let op = if *rem { "%" } else { "/" };
                let x = self.reference(x, t, s, tmp, p);
                let d = match d {
                    Divisor::Const(e) => {
                        let c = lit(t, e.value(t));
                        self.emit(format!("{idt}({c})"), s, tmp, p)
                    }
                    Divisor::OrOne(m) => {
                        let m = self.reference(m, ct[1], s, tmp, p);
                        let one = lit(t, 1);
                        self.emit(format!("{idt}({m} | {idt}({one}))"), s, tmp, p)
                    }
                };
                format!("{idt}({x} {op} {d})")
            }
            Node::Shift { right, x, c } => {
                let op = if *right { ">>" } else { "<<" };
                let x = self.reference(x, t, s, tmp, p);
                let idu = self.idf(Ty::Uint);
                let c = match c {
                    Count::Const(k) => format!("{idu}({k})"),
                    Count::Near(d) => format!("{idu}({})", t.width() as i32 + *d as i32),
                    Count::Masked(m, mask) => {
                        let m = self.reference(m, ct[1], s, tmp, p);
                        self.emit(format!("{idu}(uint({m}) & {idu}({mask}))"), s, tmp, p)
                    }
                    Count::Byte(m) => {
                        let m = self.reference(m, ct[1], s, tmp, p);
                        self.emit(format!("{idu}(uint({m}))"), s, tmp, p)
                    }
                };
                format!("{idt}({x} {op} {c})")
            }
            Node::Neg(a) => {
                let a = self.reference(a, t, s, tmp, p);
                format!("{idt}(-{a})")
            }
            Node::Not(a) => {
                let a = self.reference(a, t, s, tmp, p);
                format!("{idt}(^{a})")
            }
            Node::Conv(ct, a) => {
                let a = self.reference(a, *ct, s, tmp, p);
                format!("{idt}({}({a}))", t.go())
            }
            Node::Cmp(op, ct, a, b) => {
                self.bool_ref = true;
                let a = self.reference(a, *ct, s, tmp, p);
                let b = self.reference(b, *ct, s, tmp, p);
                format!("{idt}({}({}bn({a} {} {b})))", t.go(), self.id, op.go())
            }
            Node::Trick(tr, a) => {
                let x = self.reference(a, t, s, tmp, p);
                match tr {
                    Trick::LowBit => {
                        let neg = self.emit(format!("{idt}(-{x})"), s, tmp, p);
                        format!("{idt}({x} & {neg})")
                    }
                    Trick::LowBitAndNot => {
                        let one = lit(t, 1);
                        let dec = self.emit(format!("{idt}({x} - {idt}({one}))"), s, tmp, p);
                        format!("{idt}({x} &^ {dec})")
                    }
                    Trick::XorShift(k) => {
                        let idu = self.idf(Ty::Uint);
                        let sh = self.emit(format!("{idt}({x} >> {idu}({k}))"), s, tmp, p);
                        format!("{idt}({x} ^ {sh})")
                    }
                    Trick::Rotate(k) => {
                        let u = t.unsigned();
                        let idw = self.idf(u);
                        let idu = self.idf(Ty::Uint);
                        let ux = self.emit(format!("{idw}({}({x}))", u.go()), s, tmp, p);
                        let l = self.emit(format!("{idw}({ux} << {idu}({k}))"), s, tmp, p);
                        let back = t.width() - *k as u32;
                        let r = self.emit(format!("{idw}({ux} >> {idu}({back}))"), s, tmp, p);
                        format!("{idt}({}({l} | {r}))", t.go())
                    }
                }
            }
        };
        self.emit(expr, s, tmp, p)
    }

    fn emit(&mut self, expr: String, s: &mut Src, tmp: &mut Vec<String>, p: &str) -> String {
        let name = format!("{p}{}", tmp.len());
        s.line(format!("{name} := {}", gofmt::expr(&expr)));
        tmp.push(name.clone());
        name
    }
}

impl ExprCase {
    pub(crate) fn arb(u: &mut Unstructured) -> Result<ExprCase> {
        let n_in = u.int_in_range(1..=MAX_INPUTS)?;
        let mut inputs = Vec::new();
        for _ in 0..n_in {
            inputs.push(arb_ty(u)?);
        }
        let n_items = u.int_in_range(1..=MAX_ITEMS)?;
        let mut items = Vec::new();
        for _ in 0..n_items {
            let ty = arb_ty(u)?;
            let depth = u.int_in_range(2..=MAX_DEPTH)?;
            items.push(Item {
                ty,
                tree: arb_tree(u, depth, true)?,
            });
        }
        let table = if u.ratio(1, 3)? {
            let len = pick(u, &[(1, 8u8), (2, 16), (2, 33), (1, 64)])?;
            Some(Table {
                elem: arb_ty(u)?,
                len,
                shift: u.int_in_range(0..=len - 1)?,
                mul: Edge::arb(u)?,
                start: u.int_in_range(0..=len - 1)?,
                step: pick(u, &[(3, 1u8), (1, 2), (1, 3)])?,
            })
        } else {
            None
        };
        let switch = if u.ratio(1, 3)? {
            Some(Switch {
                ty: arb_ty(u)?,
                base: u.int_in_range(-20i8..=20)?,
                cases: u.int_in_range(3u8..=14)?,
                gap: pick(u, &[(3, 0u8), (1, 3), (1, 5)])?,
            })
        } else {
            None
        };
        let mut traps = Vec::new();
        if u.ratio(1, 3)? {
            for _ in 0..u.int_in_range(1..=MAX_TRAPS)? {
                traps.push(Trap {
                    kind: *u.choose(&[TrapKind::DivZero, TrapKind::Index, TrapKind::NegShift])?,
                    ty: arb_ty(u)?,
                    every: pick(u, &[(2, 3u8), (1, 7), (1, 64)])?,
                });
            }
        }
        let iters = pick(u, &[(1, 64u32), (2, 500), (2, 2000), (1, 8000)])?;
        let mut c = ExprCase {
            inputs,
            items,
            table,
            switch,
            traps,
            iters,
        };
        c.normalize();
        Ok(c)
    }

    pub(crate) fn normalize(&mut self) {
        if self.inputs.is_empty() {
            self.inputs.push(Ty::I64);
        }
        self.inputs.truncate(MAX_INPUTS);
        if self.items.is_empty() && self.table.is_none() && self.switch.is_none() {
            self.items.push(Item {
                ty: Ty::I64,
                tree: Node::Var(0),
            });
        }
        self.items.truncate(MAX_ITEMS);
        let n_in = self.inputs.len();
        let inputs = self.inputs.clone();
        for it in &mut self.items {
            it.tree.normalize(it.ty, n_in, MAX_DEPTH);
            // Keep the fast path's line short: cut the biggest child until
            // it fits (ends: each cut makes the tree smaller).
            loop {
                let mut r = Ren {
                    id: "ex00",
                    inputs: &inputs,
                    ids: BTreeSet::new(),
                    bool_ref: false,
                    bool_fast: false,
                };
                if r.fast(&it.tree, it.ty).len() <= MAX_FAST_LEN {
                    break;
                }
                let t = it.ty;
                let ct = it.tree.child_types(t);
                let biggest = it
                    .tree
                    .children_mut()
                    .into_iter()
                    .zip(ct)
                    .max_by_key(|(c, _)| c.size());
                match biggest {
                    Some((c, _)) if c.size() > 1 => *c = Node::Var(0),
                    _ => it.tree = Node::Var(0),
                }
                it.tree.normalize(t, n_in, MAX_DEPTH);
            }
        }
        if let Some(tb) = &mut self.table {
            tb.len = tb.len.clamp(2, 64);
            tb.shift %= tb.len;
            tb.start %= tb.len;
            tb.step = tb.step.clamp(1, 4);
        }
        if let Some(sw) = &mut self.switch {
            sw.cases = sw.cases.clamp(2, 16);
            sw.base = sw.base.clamp(-20, 20);
            if !sw.ty.signed() {
                sw.base = sw.base.max(0);
            }
            sw.gap = sw.gap.min(8);
            if sw.gap == 1 {
                // Every case would be missing.
                sw.gap = 0;
            }
        }
        self.traps.truncate(MAX_TRAPS);
        for t in &mut self.traps {
            t.every = t.every.clamp(2, 100);
        }
        self.iters = self.iters.clamp(1, MAX_ITERS);
    }

    /// Native cost in microseconds: a few ns per fast operation, a call per
    /// reference operation, the table loops, and a recovered panic per
    /// trap that fires.
    pub(crate) fn cost_us(&self) -> u64 {
        let ops: u64 = self.items.iter().map(|i| i.tree.size()).sum();
        let table = self.table.as_ref().map_or(0, |t| 12 * t.len as u64);
        let switch = self.switch.as_ref().map_or(0, |s| 5 * s.cases as u64);
        let traps: u64 = self.traps.iter().map(|t| 20 + 1_500 / t.every as u64).sum();
        self.iters as u64 * (40 + 10 * ops + table + switch + traps) / 1_000
    }

    pub(crate) fn scale(&mut self, num: u64, den: u64) {
        self.iters = ((self.iters as u64 * num / den) as u32).max(1);
    }

    pub(crate) fn weight(&self) -> u64 {
        10 + self.inputs.len() as u64
            + self.items.iter().map(|i| 1 + i.tree.size()).sum::<u64>()
            + self.table.is_some() as u64 * 3
            + self.switch.is_some() as u64 * 3
            + self.traps.len() as u64 * 2
            + (self.iters as u64).ilog2() as u64
    }

    pub(crate) fn shrink(&self) -> Vec<ExprCase> {
        let mut out = Vec::new();
        let mut push = |c: ExprCase| {
            let mut c = c;
            c.normalize();
            out.push(c);
        };
        for k in 0..self.items.len() {
            let mut c = self.clone();
            c.items.remove(k);
            push(c);
        }
        if self.table.is_some() {
            push(ExprCase {
                table: None,
                ..self.clone()
            });
        }
        if self.switch.is_some() {
            push(ExprCase {
                switch: None,
                ..self.clone()
            });
        }
        for k in 0..self.traps.len() {
            let mut c = self.clone();
            c.traps.remove(k);
            push(c);
        }
        for k in 0..self.items.len() {
            for t in self.items[k].tree.shrink(self.items[k].ty) {
                let mut c = self.clone();
                c.items[k].tree = t;
                push(c);
            }
        }
        if self.iters > 1 {
            push(ExprCase {
                iters: self.iters / 2,
                ..self.clone()
            });
        }
        out
    }

    pub(crate) fn render(&self, cx: &CaseCtx, unit: &mut Unit) -> String {
        let id = &cx.id;
        unit.import("fmt");
        let mut r = Ren {
            id,
            inputs: &self.inputs,
            ids: BTreeSet::new(),
            bool_ref: false,
            bool_fast: false,
        };
        let mut used = BTreeSet::new();
        for it in &self.items {
            it.tree.inputs(&mut used);
        }

        // The input tables: the edge values of each input's type.
        for &k in &used {
            let t = self.inputs[k as usize];
            let vals: Vec<String> = t.edges().iter().map(|v| v.to_string()).collect();
            let mut s = Src::new();
            s.line(format!(
                "var {id}in{k} = [...]{}{{{}}}",
                t.go(),
                vals.join(", ")
            ));
            unit.decl(s);
        }

        let mut body = Src::new();
        body.open(format!("func {id}Run() uint64 {{"));
        body.line("var h uint64");
        if !self.traps.is_empty() {
            body.line("trapped := 0");
        }
        body.open(format!("for i := 0; i < {}; i++ {{", self.iters));
        for &k in &used {
            let t = self.inputs[k as usize];
            let n = t.edges().len();
            // Walk the table at a stride of its own, flipping low bits
            // with the index so values between the edges show up too.
            body.line(format!(
                "v{k} := {id}in{k}[(i*{}+{k})%{n}] ^ {}(i>>{})",
                2 * k + 1,
                t.go(),
                3 + k
            ));
        }
        for (e, it) in self.items.iter().enumerate() {
            let f = r.fast(&it.tree, it.ty);
            body.line(format!("f{e} := {}", gofmt::expr(&f)));
            let mut tmp = Vec::new();
            let res = r.reference(&it.tree, it.ty, &mut body, &mut tmp, &format!("r{e}_"));
            body.open(format!("if f{e} != {res} {{"));
            body.line(format!(
                "panic(fmt.Sprintf(\"{SELF_CHECK}: {id} e{e} fast %#x ref %#x\", f{e}, {res}))"
            ));
            body.close("}");
            body.line(format!("h = mix(h, uint64(f{e}))"));
        }
        if let Some(tb) = &self.table {
            self.render_table(tb, &mut r, &mut body);
        }
        if let Some(sw) = &self.switch {
            self.render_switch(sw, &mut r, &mut body);
        }
        for (k, t) in self.traps.iter().enumerate() {
            let f = format!("{id}trap{k}");
            render_trap(t, &f, &mut r, unit);
            body.line(format!("trapped += {f}(i)"));
        }
        body.close("}");
        if !self.traps.is_empty() {
            // How many iterations each trap fires on: 0, every, 2*every...
            let want: u64 = self
                .traps
                .iter()
                .map(|t| (self.iters as u64).div_ceil(t.every as u64))
                .sum();
            body.open(format!("if trapped != {want} {{"));
            body.line(format!(
                "panic(fmt.Sprintf(\"{SELF_CHECK}: {id} traps %d of {want}\", trapped))"
            ));
            body.close("}");
            body.line("h = mix(h, uint64(trapped))");
        }
        body.line("return h");
        body.close("}");

        // Helpers first, then the run function.
        for t in r.ids.clone() {
            let mut s = Src::new();
            s.line("//go:noinline");
            s.line(format!(
                "func {id}id{}(x {}) {} {{ return x }}",
                t.short(),
                t.go(),
                t.go()
            ));
            unit.decl(s);
        }
        if r.bool_fast {
            let mut s = Src::new();
            s.open(format!("func {id}b(b bool) uint8 {{"));
            s.open("if b {");
            s.line("return 1");
            s.close("}");
            s.line("return 0");
            s.close("}");
            unit.decl(s);
        }
        if r.bool_ref {
            let mut s = Src::new();
            s.line("//go:noinline");
            s.open(format!("func {id}bn(b bool) uint8 {{"));
            s.open("if b {");
            s.line("return 1");
            s.close("}");
            s.line("return 0");
            s.close("}");
            unit.decl(s);
        }
        unit.decl(body);
        format!("{id}Run")
    }

    fn render_table(&self, tb: &Table, r: &mut Ren, s: &mut Src) {
        let id = r.id.to_string();
        let (t, n) = (tb.elem, tb.len as usize);
        let ty = t.go();
        let mul = lit(t, tb.mul.value(t));
        let idt = r.idf(t);
        let idi = r.idf(Ty::Int);
        // Fast: fill, an overlapping copy (a memmove), a strided sum.
        s.line(format!("var a [{n}]{ty}"));
        s.open("for j := range a {");
        s.line(format!("a[j] = {ty}(j)*{mul} ^ {ty}(i)"));
        s.close("}");
        s.line(format!(
            "copy(a[{}:], a[:{}])",
            tb.shift,
            n - tb.shift as usize
        ));
        s.line(format!("var sa {ty}"));
        s.open(format!(
            "for j := {}; j < len(a); j += {} {{",
            tb.start, tb.step
        ));
        s.line("sa += a[j]");
        s.close("}");
        // Reference: the same element by element, indices laundered, the
        // copy from the top down (what a memmove onto a higher address does).
        s.line(format!("var b [{n}]{ty}"));
        s.open(format!("for j := 0; j < {n}; j++ {{"));
        s.line(format!(
            "b[{idi}(j)] = {idt}({idt}({ty}({idi}(j)))*{idt}({mul}) ^ {idt}({ty}(i)))"
        ));
        s.close("}");
        s.open(format!("for j := {}; j >= {}; j-- {{", n - 1, tb.shift));
        s.line(format!("b[{idi}(j)] = b[{idi}(j-{})]", tb.shift));
        s.close("}");
        s.line(format!("var sb {ty}"));
        s.open(format!(
            "for j := {}; j < {n}; j += {} {{",
            tb.start, tb.step
        ));
        s.line(format!("sb = {idt}(sb + b[{idi}(j)])"));
        s.close("}");
        s.open("if sa != sb || a != b {");
        s.line(format!(
            "panic(fmt.Sprintf(\"{SELF_CHECK}: {id} table fast %#x ref %#x\", sa, sb))"
        ));
        s.close("}");
        s.line("h = mix(h, uint64(sa))");
    }

    fn render_switch(&self, sw: &Switch, r: &mut Ren, s: &mut Src) {
        let id = r.id.to_string();
        let t = sw.ty;
        let ty = t.go();
        let idt = r.idf(t);
        let idi = r.idf(Ty::Int);
        let span = sw.cases as i64 + 2;
        let vals: Vec<i64> = (0..sw.cases as i64)
            .filter(|k| sw.gap == 0 || (k + 1) % sw.gap as i64 != 0)
            .map(|k| sw.base as i64 + k)
            .collect();
        // The scrutinee runs over the cases and a little past both ends.
        s.line(format!("x := {ty}(i%{span} + {})", sw.base as i64 - 1));
        s.line("var ws int");
        s.open("switch x {");
        for (k, v) in vals.iter().enumerate() {
            s.mid(format!("case {v}:"));
            s.line(format!("ws = {}", (k as i64 * 7 + 3) ^ v));
        }
        s.mid("default:");
        s.line("ws = -1");
        s.close("}");
        s.line("wr := -1");
        s.line(format!("xr := {idt}(x)"));
        for (k, v) in vals.iter().enumerate() {
            let kw = if k == 0 { "if" } else { "} else if" };
            if k == 0 {
                s.open(format!("{kw} xr == {idt}({v}) {{"));
            } else {
                s.mid(format!("{kw} xr == {idt}({v}) {{"));
            }
            s.line(format!("wr = {idi}({})", (k as i64 * 7 + 3) ^ v));
        }
        s.close("}");
        s.open("if ws != wr {");
        s.line(format!(
            "panic(fmt.Sprintf(\"{SELF_CHECK}: {id} switch %d fast %d ref %d\", x, ws, wr))"
        ));
        s.close("}");
        s.line("h = mix(h, uint64(ws))");
    }
}

/// A function that fails on purpose on every `every`-th call and recovers:
/// it returns 1 when it failed, 0 when not.
fn render_trap(t: &Trap, name: &str, r: &mut Ren, unit: &mut Unit) {
    let ty = t.ty.go();
    let idt = r.idf(t.ty);
    let idi = r.idf(Ty::Int);
    let mut s = Src::new();
    s.open(format!("func {name}(i int) (failed int) {{"));
    s.open("defer func() {");
    s.open("if recover() != nil {");
    s.line("failed = 1");
    s.close("}");
    s.close("}()");
    let every = t.every;
    match t.kind {
        TrapKind::DivZero => {
            // Zero exactly when i%every == 0.
            s.line(format!("d := {idt}({ty}(i % {every}))"));
            s.line(format!("q := {idt}({ty}(i)) / d"));
            s.line("_ = q");
        }
        TrapKind::Index => {
            // Out of range exactly when i%every == 0.
            s.line(format!("var a [{}]{ty}", every - 1));
            s.line(format!("k := {idi}(i%{every} - 1)"));
            s.line("_ = a[k]");
        }
        TrapKind::NegShift => {
            // A negative count exactly when i%every == 0.
            s.line(format!("c := {idi}(i%{every} - 1)"));
            s.line(format!("v := {idt}({ty}(i)) << c"));
            s.line("_ = v");
        }
    }
    s.line("return 0");
    s.close("}");
    unit.decl(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_stay_inside_their_type() {
        for t in Ty::ALL {
            for v in t.edges() {
                assert!(t.min() <= v && v <= t.max(), "{t:?} {v}");
            }
            for e in [
                Edge::Zero,
                Edge::One,
                Edge::MinusOne,
                Edge::WidthMinus1,
                Edge::Min,
                Edge::Max,
                Edge::Pow2(63),
                Edge::Pow2Minus1(63),
                Edge::Small(255),
            ] {
                let v = e.value(t);
                assert!(t.min() <= v && v <= t.max(), "{t:?} {e:?} {v}");
            }
        }
        assert_eq!(Edge::MinusOne.value(Ty::U8), 255);
        assert_eq!(Edge::Pow2(7).value(Ty::I8), 1);
        assert_eq!(Edge::Min.value(Ty::I16), -32768);
    }

    #[test]
    fn no_operation_has_only_constant_operands() {
        let mut n = Node::Bin(
            BinOp::Add,
            Box::new(Node::Const(Edge::Max)),
            Box::new(Node::Neg(Box::new(Node::Const(Edge::Min)))),
        );
        n.normalize(Ty::I8, 2, MAX_DEPTH);
        fn check(n: &Node) {
            if !n.children().is_empty() {
                assert!(!n.is_const(), "{n:?}");
            }
            n.children().into_iter().for_each(check);
        }
        check(&n);
    }
}
