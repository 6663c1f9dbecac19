//! The shape of a Go program: its tokens with the names and literal values a
//! generator chose taken out, so that two reduced programs that differ only
//! in those are recognised as one. Findings whose reduced programs have the
//! same shape are one root cause (see `oracle::findings::dedup`).
//!
//! Comments and layout are dropped; every string literal becomes `"S"`, every
//! rune `'R'`, every number `N`; an identifier that is not a keyword, a
//! predeclared name, an imported package or a selector after `.` is renamed
//! `vK` by its first appearance. What is left is the program's structure:
//! its statements, operators, types and calls.

use super::check::KEYWORDS;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const PREDECLARED: &[&str] = &[
    "bool",
    "byte",
    "complex64",
    "complex128",
    "error",
    "float32",
    "float64",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "rune",
    "string",
    "uint",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "uintptr",
    "any",
    "true",
    "false",
    "iota",
    "nil",
    "append",
    "cap",
    "close",
    "complex",
    "copy",
    "delete",
    "imag",
    "len",
    "make",
    "new",
    "panic",
    "print",
    "println",
    "real",
    "recover",
    "main",
    "init",
    "_",
];

/// The tokens of `src` with names and values normalised (see the module
/// doc), separated by single spaces.
pub fn normalised(src: &str) -> String {
    let toks = tokens(src);
    // Imported package names: the last element of each import path.
    let mut packages: Vec<String> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if let Tok::Str(path) = t {
            let in_import = toks[..i]
                .iter()
                .rev()
                .take_while(|t| !matches!(t, Tok::Punct(p) if p == ")" ))
                .any(|t| matches!(t, Tok::Ident(k) if k == "import"));
            if in_import {
                packages.push(path.rsplit('/').next().unwrap_or(path).to_string());
            }
        }
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<String> = Vec::with_capacity(toks.len());
    let mut after_dot = false;
    for t in &toks {
        let s = match t {
            Tok::Str(_) => "\"S\"".to_string(),
            Tok::Rune => "'R'".to_string(),
            Tok::Num => "N".to_string(),
            Tok::Punct(p) => p.clone(),
            Tok::Ident(id) => {
                if after_dot
                    || KEYWORDS.contains(&id.as_str())
                    || PREDECLARED.contains(&id.as_str())
                    || packages.iter().any(|p| p == id)
                {
                    id.clone()
                } else {
                    let n = names.len();
                    format!("v{}", names.entry(id.as_str()).or_insert(n))
                }
            }
        };
        after_dot = matches!(t, Tok::Punct(p) if p == ".");
        out.push(s);
    }
    out.join(" ")
}

/// A short digest of [`normalised`]: equal for programs of one shape.
pub fn shape_key(src: &str) -> String {
    let d = Sha256::digest(normalised(src).as_bytes());
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A string literal's contents (import paths are read from it).
    Str(String),
    Rune,
    Num,
    Punct(String),
}

fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            i += 2;
            while i < c.len() && !(c[i] == '*' && c.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if ch == '"' || ch == '`' {
            let start = i + 1;
            i += 1;
            while i < c.len() && c[i] != ch {
                if ch == '"' && c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            out.push(Tok::Str(c[start..i.min(c.len())].iter().collect()));
            i += 1;
        } else if ch == '\'' {
            i += 1;
            while i < c.len() && c[i] != '\'' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            out.push(Tok::Rune);
            i += 1;
        } else if ch.is_ascii_digit()
            || (ch == '.' && c.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            let hex = ch == '0' && matches!(c.get(i + 1), Some('x' | 'X'));
            while i < c.len() {
                let d = c[i];
                let exp = if hex { ['p', 'P'] } else { ['e', 'E'] };
                let exp_sign = (d == '+' || d == '-') && i > start && exp.contains(&c[i - 1]);
                if d.is_ascii_alphanumeric() || d == '.' || d == '_' || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Tok::Num);
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else {
            // Operators: the longest of up to three characters Go knows.
            const OPS: &[&str] = &[
                "<<=", ">>=", "&^=", "...", "&&", "||", "<-", "++", "--", "==", "!=", "<=", ">=",
                ":=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "&^",
            ];
            let rest: String = c[i..(i + 3).min(c.len())].iter().collect();
            let op = OPS
                .iter()
                .find(|o| rest.starts_with(*o))
                .map_or_else(|| ch.to_string(), |o| o.to_string());
            i += op.chars().count();
            out.push(Tok::Punct(op));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_comments_and_layout_do_not_change_the_shape() {
        let a = "package main\n\nimport \"fmt\"\n\n// one\nfunc f(x uint32) uint32 {\n\treturn (x + x) << 3\n}\n\nfunc main() {\n\tfmt.Println(f(7), \"a\")\n}\n";
        let b = "package main\nimport \"fmt\"\nfunc g(y uint32) uint32 { return (y + y) << 5 /* two */ }\nfunc main() { fmt.Println(g(0x1f), `b`) }\n";
        assert_eq!(normalised(a), normalised(b));
        assert_eq!(shape_key(a), shape_key(b));
        assert!(normalised(a).contains("fmt . Println"), "{}", normalised(a));
    }

    #[test]
    fn structure_types_and_operators_do() {
        let base = "package main\nfunc f(x uint32) uint32 { return (x + x) << 3 }\n";
        for other in [
            "package main\nfunc f(x uint64) uint64 { return (x + x) << 3 }\n",
            "package main\nfunc f(x uint32) uint32 { return (x - x) << 3 }\n",
            "package main\nfunc f(x uint32) uint32 { return (x + x) >> 3 }\n",
            "package main\nfunc f(x, y uint32) uint32 { return (x + y) << 3 }\n",
        ] {
            assert_ne!(shape_key(base), shape_key(other), "{other}");
        }
    }

    #[test]
    fn numbers_strings_and_runes_are_one_token_each() {
        assert_eq!(
            normalised("x := 1e+9 + 0x1p-2 + 3.5 + 'a' + '\\'' + \"q\\\"\""),
            "v0 := N + N + N + 'R' + 'R' + \"S\""
        );
        assert_eq!(normalised("a <<= b &^ c"), "v0 <<= v1 &^ v2");
    }
}
