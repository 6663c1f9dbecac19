//! gofmt's spacing of one Go expression. gofmt decides the blanks around a
//! binary operator from the operator's precedence, the precedences mixed
//! beside it and how deeply it is nested (`a*b + c` at statement level,
//! `f(a, b*c+d)` in a call of two arguments); a generator that writes deep
//! expression trees cannot get that right by hand. [`expr`] parses the small
//! expression language the generator writes (identifiers, integer literals,
//! calls, index expressions, parentheses, unary `- ^ !` and the binary
//! operators) and prints it the way go/printer does (its `binaryExpr`,
//! `cutoff`, `walkBinary`, `diffPrec` and `reduceDepth`).

/// One expression, spaced as gofmt spaces it at statement level (the
/// right-hand side of an assignment, an `if` condition). Text the parser
/// does not know is returned unchanged.
pub(crate) fn expr(src: &str) -> String {
    let toks = match lex(src) {
        Some(t) => t,
        None => return src.to_string(),
    };
    let mut p = Parser { toks, pos: 0 };
    match p.expr(1) {
        Some(e) if p.pos == p.toks.len() => {
            let mut out = String::new();
            print(&e, 0, 1, &mut out);
            out
        }
        _ => src.to_string(),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Atom(String),
    Op(&'static str),
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
}

const OPS: &[&str] = &[
    "<<", ">>", "&^", "&&", "||", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "&",
    "|", "^", "!",
];

fn lex(src: &str) -> Option<Vec<Tok>> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c == b' ' {
            i += 1;
            continue;
        }
        if c == b'"' {
            // A string literal without escapes, as the generator writes them.
            let end = i + 1 + src[i + 1..].find('"')?;
            out.push(Tok::Atom(src[i..=end].to_string()));
            i = end + 1;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Atom(src[start..i].to_string()));
            continue;
        }
        let t = match c {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBrack),
            b']' => Some(Tok::RBrack),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(t) = t {
            out.push(t);
            i += 1;
            continue;
        }
        let op = OPS.iter().find(|op| src[i..].starts_with(**op))?;
        out.push(Tok::Op(op));
        i += op.len();
    }
    Some(out)
}

#[derive(Debug)]
enum Expr {
    Atom(String),
    Paren(Box<Expr>),
    Call(Box<Expr>, Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
    Unary(&'static str, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
}

/// Go's binary operator precedences.
fn prec(op: &str) -> usize {
    match op {
        "*" | "/" | "%" | "<<" | ">>" | "&" | "&^" => 5,
        "+" | "-" | "|" | "^" => 4,
        "==" | "!=" | "<" | "<=" | ">" | ">=" => 3,
        "&&" => 2,
        "||" => 1,
        _ => 0,
    }
}

const UNARY_PREC: usize = 6;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, t: &Tok) -> Option<()> {
        (self.peek() == Some(t)).then(|| self.pos += 1)
    }

    /// Binary expression of precedence at least `min`.
    fn expr(&mut self, min: usize) -> Option<Expr> {
        let mut x = self.unary()?;
        while let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            let p = prec(op);
            if p == 0 || p < min {
                break;
            }
            self.pos += 1;
            let y = self.expr(p + 1)?;
            x = Expr::Binary(op, Box::new(x), Box::new(y));
        }
        Some(x)
    }

    fn unary(&mut self) -> Option<Expr> {
        if let Some(Tok::Op(op @ ("-" | "^" | "!" | "+" | "&" | "*"))) = self.peek() {
            let op = *op;
            self.pos += 1;
            return Some(Expr::Unary(op, Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Option<Expr> {
        let mut x = match self.peek()?.clone() {
            Tok::Atom(a) => {
                self.pos += 1;
                Expr::Atom(a)
            }
            Tok::LParen => {
                self.pos += 1;
                let e = self.expr(1)?;
                self.eat(&Tok::RParen)?;
                Expr::Paren(Box::new(e))
            }
            _ => return None,
        };
        loop {
            match self.peek() {
                Some(Tok::LParen) => {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.eat(&Tok::RParen).is_none() {
                        loop {
                            args.push(self.expr(1)?);
                            if self.eat(&Tok::Comma).is_none() {
                                break;
                            }
                        }
                        self.eat(&Tok::RParen)?;
                    }
                    x = Expr::Call(Box::new(x), args);
                }
                Some(Tok::LBrack) => {
                    self.pos += 1;
                    let i = self.expr(1)?;
                    self.eat(&Tok::RBrack)?;
                    x = Expr::Index(Box::new(x), Box::new(i));
                }
                _ => return Some(x),
            }
        }
    }
}

fn reduce_depth(depth: usize) -> usize {
    depth.saturating_sub(1).max(1)
}

fn diff_prec(x: &Expr, p: usize) -> usize {
    match x {
        Expr::Binary(op, ..) if prec(op) == p => 0,
        _ => 1,
    }
}

/// go/printer's walkBinary: (has precedence 4, has precedence 5, max problem).
fn walk_binary(op: &str, x: &Expr, y: &Expr) -> (bool, bool, usize) {
    let p = prec(op);
    let (mut has4, mut has5, mut problem) = (p == 4, p == 5, 0);
    if let Expr::Binary(lop, lx, ly) = x {
        if prec(lop) >= p {
            let (a, b, m) = walk_binary(lop, lx, ly);
            has4 |= a;
            has5 |= b;
            problem = problem.max(m);
        }
    }
    match y {
        Expr::Binary(rop, rx, ry) if prec(rop) > p => {
            let (a, b, m) = walk_binary(rop, rx, ry);
            has4 |= a;
            has5 |= b;
            problem = problem.max(m);
        }
        Expr::Unary(uop, _) => match format!("{op}{uop}").as_str() {
            "/*" | "&&" | "&^" => problem = 5,
            "++" | "--" => problem = problem.max(4),
            _ => {}
        },
        _ => {}
    }
    (has4, has5, problem)
}

fn cutoff(op: &str, x: &Expr, y: &Expr, depth: usize) -> usize {
    let (has4, has5, problem) = walk_binary(op, x, y);
    if problem > 0 {
        return problem + 1;
    }
    match (has4 && has5, depth == 1) {
        (true, true) => 5,
        (true, false) => 4,
        (false, true) => 6,
        (false, false) => 4,
    }
}

/// Append a token, with the blank go/printer puts between two tokens that
/// would otherwise read as one (`- -x`, `& ^x`).
fn push(out: &mut String, s: &str) {
    let single = |c: &str| out.ends_with(c) && !out.ends_with(&c.repeat(2));
    let combine = match s.as_bytes().first() {
        Some(b'+') => out.ends_with('+'),
        Some(b'-') => out.ends_with('-') || single("<"),
        Some(b'*') => out.ends_with('/'),
        Some(b'<') => single("<"),
        Some(b'&' | b'^') => single("&"),
        _ => false,
    };
    if combine {
        out.push(' ');
    }
    out.push_str(s);
}

fn print(e: &Expr, prec1: usize, depth: usize, out: &mut String) {
    match e {
        Expr::Atom(a) => push(out, a),
        Expr::Paren(x) => {
            if let Expr::Paren(_) = **x {
                print(x, 0, depth, out);
            } else {
                push(out, "(");
                print(x, 0, reduce_depth(depth), out);
                push(out, ")");
            }
        }
        Expr::Call(f, args) => {
            let depth = if args.len() > 1 { depth + 1 } else { depth };
            print(f, 7, depth, out);
            push(out, "(");
            for (k, a) in args.iter().enumerate() {
                if k > 0 {
                    push(out, ", ");
                }
                print(a, 0, depth, out);
            }
            push(out, ")");
        }
        Expr::Index(x, i) => {
            print(x, 7, 1, out);
            push(out, "[");
            print(i, 0, depth + 1, out);
            push(out, "]");
        }
        Expr::Unary(op, x) => {
            push(out, op);
            print(x, UNARY_PREC, depth, out);
        }
        Expr::Binary(op, x, y) => {
            let p = prec(op);
            debug_assert!(p >= prec1, "the parser keeps precedence");
            let blank = p < cutoff(op, x, y, depth);
            print(x, p, depth + diff_prec(x, p), out);
            if blank {
                out.push(' ');
            }
            push(out, op);
            if blank {
                out.push(' ');
            }
            print(y, p + 1, depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::expr;

    #[test]
    fn spaces_as_gofmt_does() {
        // Each pair: what gofmt printed for the left-hand text.
        for (src, want) in [
            ("a + b", "a + b"),
            ("a * b + c", "a*b + c"),
            ("f(a + b)", "f(a + b)"),
            ("f(a + b, c)", "f(a+b, c)"),
            (
                "(int64(ex0b((v1 % int8(2)) <= int8(127))) - ((int64(v0) << uint8(uint8(v0))) << 3))",
                "(int64(ex0b((v1%int8(2)) <= int8(127))) - ((int64(v0) << uint8(uint8(v0))) << 3))",
            ),
            (
                "((int64(uint64(int64(v0))<<43 | uint64(int64(v0))>>21) % (x | 1)) * int64(-1))",
                "((int64(uint64(int64(v0))<<43|uint64(int64(v0))>>21) % (x | 1)) * int64(-1))",
            ),
            ("(x & -x)", "(x & -x)"),
            ("(x &^ (x - 1))", "(x &^ (x - 1))"),
            ("a - -b", "a - -b"),
            ("a & ^b", "a & ^b"),
            ("a[(i*3+1)%11] ^ int8(i>>4)", "a[(i*3+1)%11] ^ int8(i>>4)"),
            ("((x))", "(x)"),
            ("f(&x, a + b)", "f(&x, a+b)"),
            ("(*p) + 1", "(*p) + 1"),
            ("hs(h, s + \"ab\")", "hs(h, s+\"ab\")"),
        ] {
            assert_eq!(expr(src), want, "{src}");
        }
    }

    #[test]
    fn unknown_text_is_unchanged() {
        for src in ["x := 1", "func() {}", "a.(T)", "\"s\"", "s[1:]", "S{f0: 1}"] {
            assert_eq!(expr(src), src);
        }
    }
}
