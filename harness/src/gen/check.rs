//! Rendering invariants, checked without a Go toolchain. Shared by the unit
//! tests and the `generate` fuzz target.

use super::{render, Family, Program, GO_MOD};
use regex::Regex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

/// Upper bound on the size of a generated `main.go`.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// Upper bound on its line count.
pub const MAX_SOURCE_LINES: usize = 8000;
/// Upper bound on one line's length.
pub const MAX_LINE_BYTES: usize = 200;

/// The line every non-hostile program ends `main` with.
pub const CHECKSUM_STMT: &str = "fmt.Printf(\"checksum: %016x\\n\", h)";

/// Check every invariant of a rendered program that can be checked without
/// building it: rendering is deterministic, go.mod is the fixed one,
/// delimiters balance, no identifier is declared twice in one scope, sizes
/// are bounded, no post-go1.14 language construct appears, the checksum is
/// printed last, and each family's defining constructs are present.
pub fn check_invariants(p: &Program) -> Result<(), String> {
    let again = render(&p.spec);
    if again.main_go != p.main_go || again.go_mod != p.go_mod || again.spec != p.spec {
        return Err("rendering the spec again gives a different program".into());
    }
    if p.go_mod != GO_MOD {
        return Err(format!("unexpected go.mod {:?}", p.go_mod));
    }
    let src = &p.main_go;
    if src.len() > MAX_SOURCE_BYTES {
        return Err(format!("main.go is {} bytes", src.len()));
    }
    let lines = src.lines().count();
    if lines > MAX_SOURCE_LINES {
        return Err(format!("main.go has {lines} lines"));
    }
    if let Some((n, l)) = src
        .lines()
        .enumerate()
        .find(|(_, l)| l.len() > MAX_LINE_BYTES)
    {
        return Err(format!("line {} is {} bytes long", n + 1, l.len()));
    }
    if !src.starts_with("package main\n") || !src.ends_with("}\n") {
        return Err("main.go does not start with `package main` and end with `}`".into());
    }
    let stripped = strip(src);
    balanced(&stripped)?;
    declared_once(&stripped)?;
    forbidden(&stripped)?;
    if p.spec.hostile.is_none() {
        let tail: Vec<&str> = src.lines().rev().take(2).collect();
        if tail.len() < 2 || tail[0] != "}" || tail[1].trim() != CHECKSUM_STMT {
            return Err("main does not end by printing the checksum".into());
        }
        if src.matches("checksum:").count() != 1 {
            return Err("the checksum is printed more than once".into());
        }
        if p.spec.families().is_empty() {
            return Err("a non-hostile program without cases".into());
        }
        let cost = p.spec.cost_us();
        if cost > super::BUDGET_US {
            return Err(format!("estimated cost {cost} µs over budget"));
        }
    }
    for f in p.spec.families() {
        family_markers(f, p)?;
    }
    Ok(())
}

/// Blank out the contents of comments, string literals and rune literals
/// (newlines are kept, so line numbers still match). Directive comments
/// (`//go:...`) are kept whole.
pub fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && i + 1 < b.len() && b[i + 1] == b'/' {
            let directive = src[i..].starts_with("//go:");
            while i < b.len() && b[i] != b'\n' {
                out.push(if directive { b[i] } else { b' ' });
                i += 1;
            }
            continue;
        }
        if c == b'/' && i + 1 < b.len() && b[i + 1] == b'*' {
            out.extend_from_slice(b"  ");
            i += 2;
            while i < b.len() && !(b[i] == b'*' && i + 1 < b.len() && b[i + 1] == b'/') {
                out.push(if b[i] == b'\n' { b'\n' } else { b' ' });
                i += 1;
            }
            out.extend_from_slice(b"  ");
            i = (i + 2).min(b.len());
            continue;
        }
        if c == b'"' || c == b'\'' {
            out.push(c);
            i += 1;
            while i < b.len() && b[i] != c && b[i] != b'\n' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    out.extend_from_slice(b"  ");
                    i += 2;
                    continue;
                }
                out.push(b' ');
                i += 1;
            }
            if i < b.len() && b[i] == c {
                out.push(c);
                i += 1;
            }
            continue;
        }
        if c == b'`' {
            out.push(c);
            i += 1;
            while i < b.len() && b[i] != b'`' {
                out.push(if b[i] == b'\n' { b'\n' } else { b' ' });
                i += 1;
            }
            if i < b.len() {
                out.push(b'`');
                i += 1;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Parentheses, brackets and braces nest properly (on stripped source).
pub fn balanced(stripped: &str) -> Result<(), String> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    for (n, line) in stripped.lines().enumerate() {
        for c in line.chars() {
            match c {
                '(' | '[' | '{' => stack.push((c, n + 1)),
                ')' | ']' | '}' => {
                    let want = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    match stack.pop() {
                        Some((o, _)) if o == want => {}
                        Some((o, l)) => {
                            return Err(format!(
                                "line {}: {c:?} closes {o:?} opened on line {l}",
                                n + 1
                            ))
                        }
                        None => return Err(format!("line {}: unmatched {c:?}", n + 1)),
                    }
                }
                _ => {}
            }
        }
    }
    if let Some((o, l)) = stack.pop() {
        return Err(format!("{o:?} opened on line {l} is never closed"));
    }
    Ok(())
}

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("valid regex"))
}

/// Go's keywords.
pub(crate) const KEYWORDS: &[&str] = &[
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

fn is_ident(s: &str) -> bool {
    let mut ch = s.chars();
    matches!(ch.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && ch.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !KEYWORDS.contains(&s)
}

/// Split at top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        parts.push(cur.trim().to_string());
    }
    parts
}

/// Names declared by a parameter or result list (empty if unnamed).
fn param_names(list: &str) -> Vec<String> {
    let parts = split_top(list);
    let named = parts.iter().any(|p| {
        let mut w = p.splitn(2, ' ');
        let first = w.next().unwrap_or("");
        w.next().is_some() && is_ident(first)
    });
    if !named {
        return Vec::new();
    }
    parts
        .iter()
        .filter_map(|p| {
            let first = p.split(' ').next().unwrap_or("");
            is_ident(first).then(|| first.to_string())
        })
        .collect()
}

/// The text inside the parenthesis that opens at byte `open` (exclusive),
/// and the index just after the closing one.
fn paren_group(s: &str, open: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    if b.get(open) != Some(&b'(') {
        return None;
    }
    let mut depth = 0;
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[open + 1..i], i + 1));
                }
            }
            _ => {}
        }
    }
    None
}

/// Names declared by every `func` signature on a line (receivers,
/// parameters, named results), and for a top-level declaration the
/// function's name and receiver type.
struct FuncSig {
    names: Vec<String>,
    decl_name: Option<String>,
    recv_type: Option<String>,
}

fn func_sigs(line: &str, top_level: bool) -> FuncSig {
    let mut sig = FuncSig {
        names: Vec::new(),
        decl_name: None,
        recv_type: None,
    };
    let mut from = 0;
    while let Some(pos) = line[from..].find("func") {
        let at = from + pos;
        from = at + 4;
        let before_ok = at == 0 || {
            let c = line.as_bytes()[at - 1];
            !(c == b'_' || c.is_ascii_alphanumeric())
        };
        if !before_ok {
            continue;
        }
        let mut i = at + 4;
        let rest = &line[i..];
        let is_decl = top_level && at == 0;
        if is_decl && rest.starts_with(" (") {
            // Method receiver.
            i += 1;
            if let Some((recv, next)) = paren_group(line, i) {
                sig.names.extend(param_names(recv));
                let ty = recv.split(' ').next_back().unwrap_or("");
                sig.recv_type = Some(ty.trim_start_matches('*').to_string());
                i = next;
            }
        }
        if is_decl {
            let name: String = line[i..]
                .trim_start()
                .chars()
                .take_while(|c| *c == '_' || c.is_ascii_alphanumeric())
                .collect();
            i += line[i..].len() - line[i..].trim_start().len() + name.len();
            if !name.is_empty() {
                sig.decl_name = Some(name);
            }
        }
        if let Some((params, next)) = paren_group(line, i) {
            sig.names.extend(param_names(params));
            let after = &line[next..];
            if after.starts_with(" (") {
                if let Some((results, _)) = paren_group(line, next + 1) {
                    sig.names.extend(param_names(results));
                }
            }
        }
    }
    sig
}

struct Scope {
    names: HashSet<String>,
    clause: bool,
}

/// No identifier is declared twice in one scope: package-level functions,
/// types and variables are unique, methods are unique per receiver type,
/// and within function bodies no `:=` lacks a new variable, no `var` or
/// parameter repeats a name of its scope. Works on stripped, gofmt-shaped
/// source (one statement a line).
pub fn declared_once(stripped: &str) -> Result<(), String> {
    static TOP: OnceLock<Regex> = OnceLock::new();
    static SHORT: OnceLock<Regex> = OnceLock::new();
    static VAR: OnceLock<Regex> = OnceLock::new();
    static INIT: OnceLock<Regex> = OnceLock::new();
    let top = re(&TOP, r"^(type|var|const) ([A-Za-z_]\w*)");
    let short = re(&SHORT, r"^([A-Za-z_]\w*(?:, [A-Za-z_]\w*)*) :=");
    let var = re(&VAR, r"^var ([A-Za-z_]\w*)");
    let init = re(
        &INIT,
        r"^(?:for|if|switch|case) ([A-Za-z_]\w*(?:, [A-Za-z_]\w*)*) :=",
    );

    let mut scopes: Vec<Scope> = vec![Scope {
        names: HashSet::new(),
        clause: false,
    }];
    let mut methods: HashMap<String, usize> = HashMap::new();
    let mut in_import = false;

    for (n, raw) in stripped.lines().enumerate() {
        let ln = n + 1;
        let top_level = scopes.len() == 1 && !raw.starts_with(['\t', ' ']);
        let mut line = raw.trim_start();
        if line.starts_with("import (") {
            in_import = true;
            continue;
        }
        if in_import {
            if line.starts_with(')') {
                in_import = false;
            }
            continue;
        }
        if line.is_empty() || line.starts_with("package ") || line.starts_with("//") {
            continue;
        }
        // Leading closing braces.
        while let Some(rest) = line.strip_prefix('}') {
            if scopes.last().is_some_and(|s| s.clause) {
                scopes.pop();
            }
            if scopes.len() <= 1 {
                return Err(format!("line {ln}: unbalanced closing brace"));
            }
            scopes.pop();
            line = rest.trim_start();
        }
        if line.starts_with("case ") || line.starts_with("default:") {
            if scopes.last().is_some_and(|s| s.clause) {
                scopes.pop();
            }
            scopes.push(Scope {
                names: HashSet::new(),
                clause: true,
            });
        }

        let mut here: Vec<String> = Vec::new();
        let mut here_short = false;
        let mut fresh: Vec<String> = Vec::new();
        if top_level {
            if let Some(c) = top.captures(line) {
                here.push(c[2].to_string());
            }
        } else if let Some(c) = init.captures(line) {
            let names: Vec<String> = c[1].split(", ").map(str::to_string).collect();
            if line.starts_with("case ") {
                here = names;
                here_short = true;
            } else {
                fresh = names;
            }
        } else if let Some(c) = short.captures(line) {
            here = c[1].split(", ").map(str::to_string).collect();
            here_short = true;
        } else if let Some(c) = var.captures(line) {
            here.push(c[1].to_string());
        }
        let sig = func_sigs(line, top_level);
        fresh.extend(sig.names);
        if let Some(name) = sig.decl_name {
            match sig.recv_type {
                Some(t) => {
                    let key = format!("{t}.{name}");
                    if let Some(prev) = methods.insert(key.clone(), ln) {
                        return Err(format!(
                            "line {ln}: method {key} already declared on line {prev}"
                        ));
                    }
                }
                None => here.push(name),
            }
        }

        // Declarations in the current scope.
        let cur = &mut scopes.last_mut().expect("package scope").names;
        let named: Vec<&String> = here.iter().filter(|s| s.as_str() != "_").collect();
        if here_short {
            if !named.is_empty() && named.iter().all(|s| cur.contains(s.as_str())) {
                return Err(format!("line {ln}: no new variables in {line:?}"));
            }
            for s in named {
                cur.insert(s.clone());
            }
        } else {
            for s in named {
                if !cur.insert(s.clone()) {
                    return Err(format!("line {ln}: {s} declared twice in one scope"));
                }
            }
        }

        // Braces on the rest of the line; the first opened scope receives
        // the parameters and for/if/switch init declarations.
        let mut first = true;
        for c in line.chars() {
            match c {
                '{' => {
                    let mut s = Scope {
                        names: HashSet::new(),
                        clause: false,
                    };
                    if first {
                        for f in fresh.drain(..).filter(|f| f != "_") {
                            if !s.names.insert(f.clone()) {
                                return Err(format!("line {ln}: {f} declared twice in one scope"));
                            }
                        }
                        first = false;
                    }
                    scopes.push(s);
                }
                '}' => {
                    if scopes.last().is_some_and(|s| s.clause) {
                        scopes.pop();
                    }
                    if scopes.len() <= 1 {
                        return Err(format!("line {ln}: unbalanced closing brace"));
                    }
                    scopes.pop();
                }
                _ => {}
            }
        }
    }
    if scopes.len() != 1 {
        return Err("unclosed scope at end of file".into());
    }
    Ok(())
}

/// Language constructs that go1.14 does not have.
pub fn forbidden(stripped: &str) -> Result<(), String> {
    static PATS: OnceLock<Regex> = OnceLock::new();
    let pats = re(
        &PATS,
        r"\bany\b|\bcomparable\b|\b(?:min|max|clear)\(|\brange [0-9]|\brange len\(|~[a-z]",
    );
    if let Some(m) = pats.find(stripped) {
        let line = stripped[..m.start()].matches('\n').count() + 1;
        return Err(format!(
            "line {line}: {:?} is not available in go1.14",
            m.as_str()
        ));
    }
    Ok(())
}

/// Import paths of a Go source file.
pub fn imports(src: &str) -> Vec<String> {
    static ONE: OnceLock<Regex> = OnceLock::new();
    let one = re(&ONE, r#"^\s*(?:import\s+)?"([\w./]+)"\s*$"#);
    let mut out = Vec::new();
    let mut in_block = false;
    for l in src.lines() {
        if l.starts_with("import (") {
            in_block = true;
            continue;
        }
        if in_block && l.starts_with(')') {
            break;
        }
        if in_block || l.starts_with("import \"") {
            if let Some(c) = one.captures(l) {
                out.push(c[1].to_string());
            }
        }
    }
    out
}

/// Every `pkg.Symbol` use of an imported standard-library package, as
/// `(import path, Symbol)`. Method calls on values are not included.
pub fn std_selectors(main_go: &str) -> BTreeSet<(String, String)> {
    static SEL: OnceLock<Regex> = OnceLock::new();
    let sel = re(&SEL, r"(?:^|[^\w.])([a-z]\w*)\.([A-Z]\w*)");
    let paths = imports(main_go);
    let by_name: HashMap<&str, &str> = paths
        .iter()
        .map(|p| (p.rsplit('/').next().unwrap_or(p), p.as_str()))
        .collect();
    let stripped = strip(main_go);
    let mut out = BTreeSet::new();
    for line in stripped.lines() {
        for c in sel.captures_iter(line) {
            if let Some(p) = by_name.get(&c[1]) {
                out.insert((p.to_string(), c[2].to_string()));
            }
        }
    }
    out
}

/// Bytes of a Go array type `[n]elem` for the element types bigstack uses.
fn array_bytes(n: u64, elem: &str) -> u64 {
    let size = match elem {
        "byte" | "int8" | "uint8" => 1,
        "uint16" | "int16" => 2,
        "uint32" | "int32" => 4,
        _ => 8,
    };
    n * size
}

fn family_markers(f: Family, p: &Program) -> Result<(), String> {
    let src = &p.main_go;
    let need = |what: &str| -> Result<(), String> {
        if src.contains(what) {
            Ok(())
        } else {
            Err(format!("{f} program lacks {what:?}"))
        }
    };
    match f {
        Family::Bigstack => {
            // A //go:noinline function with a local array of at least 4 KiB.
            static ARR: OnceLock<Regex> = OnceLock::new();
            let arr = re(&ARR, r"^\tvar \w+ \[(\d+)\](\*?\w+)$");
            let mut in_noinline = false;
            let mut armed = false;
            let mut found = false;
            for l in src.lines() {
                if l == "//go:noinline" {
                    armed = true;
                    continue;
                }
                if armed && l.starts_with("func ") {
                    in_noinline = true;
                }
                armed = false;
                if l == "}" {
                    in_noinline = false;
                }
                if in_noinline {
                    if let Some(c) = arr.captures(l) {
                        let n: u64 = c[1].parse().unwrap_or(0);
                        if array_bytes(n, &c[2]) >= 4096 {
                            found = true;
                        }
                    }
                }
            }
            if !found {
                return Err("bigstack program lacks a //go:noinline function with a local array of at least 4 KiB".into());
            }
            need("runtime.GC()").or_else(|e| {
                if p.spec.pressure.gc_hammers == 0 {
                    Ok(())
                } else {
                    Err(e)
                }
            })
        }
        Family::Closures => {
            need("f1 := func(")?;
            need("c0")
        }
        Family::Timers => {
            need("time.NewTimer(")?;
            need("t.Reset(")?;
            need("t.Stop()")
        }
        Family::Deferpanic => {
            need("defer func() {")?;
            need("recover()")
        }
        Family::Stackgrow => {
            need("//go:noinline\nfunc sg")?;
            need("down(d-1, x+1")
        }
        Family::Expr => {
            need("//go:noinline\nfunc ex")?;
            need("divergo self-check: ex")
        }
        Family::Smith => {
            need("func sm")?;
            need("Run() uint64 {")
        }
        Family::Hostile => match p.spec.hostile {
            Some(h) => need(h.marker()),
            None => Err("hostile family without a hostile kind".into()),
        },
    }
}
