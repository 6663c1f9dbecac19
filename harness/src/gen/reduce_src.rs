//! Delta debugging on Go source text: smaller variants of a program, for a
//! reducer that keeps whichever still shows the behaviour of interest.
//!
//! The cuts follow the shape gofmt gives a file: top-level declarations
//! (with the comments and directives right above them), blocks that open at
//! the end of a line and close on a line of their own, single statement
//! lines, and integer constants halved. A cut may leave a program that does
//! not compile (a variable no longer used, say): the reducer's build check
//! rejects it, unless [`drop_unused_imports`] and [`drop_unused_vars`]
//! repair the two errors a cut most often causes.

/// Non-blank lines: the size a reduction reports.
pub fn non_blank_lines(src: &str) -> usize {
    src.lines().filter(|l| !l.trim().is_empty()).count()
}

/// The characters of `line` that are code, with their byte offsets: not
/// inside strings or runes, and none from a `//` comment on.
fn code_chars(line: &str) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' && q != '`' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '/' if chars.peek().map(|(_, n)| *n) == Some('/') => break,
            _ => out.push((i, c)),
        }
    }
    out
}

/// Net `{`/`(` depth change of a line, ignoring strings, runes and comments.
fn depth_change(line: &str) -> i32 {
    code_chars(line)
        .into_iter()
        .map(|(_, c)| match c {
            '{' | '(' | '[' => 1,
            '}' | ')' | ']' => -1,
            _ => 0,
        })
        .sum()
}

/// The line where the construct opened at line `start` closes (depth back
/// to where it was before `start`).
fn closing_line(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, l) in lines.iter().enumerate().skip(start) {
        depth += depth_change(l);
        if depth <= 0 {
            return Some(i);
        }
    }
    None
}

/// `lines` joined, with no two blank lines in a row.
fn join_collapsed<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::new();
    let mut blank = false;
    for l in lines {
        let b = l.trim().is_empty();
        if !(b && blank) {
            s.push_str(l);
            s.push('\n');
        }
        blank = b;
    }
    s
}

/// `lines` without `from..=to`.
fn without(lines: &[&str], from: usize, to: usize) -> String {
    join_collapsed(lines[..from].iter().chain(&lines[to + 1..]).copied())
}

/// Smaller variants of `src`, biggest cuts first.
pub fn candidates(src: &str) -> Vec<String> {
    let lines: Vec<&str> = src.lines().collect();
    let mut decls = Vec::new();
    let mut blocks = Vec::new();
    let mut stmts = Vec::new();
    let mut calls = Vec::new();
    let mut consts = Vec::new();
    // Depth at the start of each line.
    let mut depth_at = Vec::with_capacity(lines.len());
    let mut d = 0;
    for l in &lines {
        depth_at.push(d);
        d += depth_change(l);
    }
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        // Top-level declarations other than main, package and imports.
        if depth_at[i] == 0 {
            let decl = ["func ", "type ", "var ", "const "]
                .iter()
                .any(|k| l.starts_with(k));
            if decl && !l.starts_with("func main()") {
                if let Some(end) = closing_line(&lines, i) {
                    let mut from = i;
                    while from > 0 && lines[from - 1].trim_start().starts_with("//") {
                        from -= 1;
                    }
                    decls.push(without(&lines, from, end));
                }
            }
            continue;
        }
        let opens = depth_change(l) > 0;
        if opens && t.ends_with('{') && !t.starts_with('}') && !t.starts_with("case ") {
            if let Some(end) = closing_line(&lines, i) {
                let close = lines[end].trim();
                if matches!(close, "}" | "})" | "}()") && end > i {
                    blocks.push(without(&lines, i, end));
                }
            }
            continue;
        }
        let balanced = depth_change(l) == 0 && !t.contains('{') && !t.contains('}');
        let structural = t.ends_with(':') || t.starts_with("case ") || t == "default:";
        if balanced && !structural && !t.starts_with("return") {
            stmts.push(without(&lines, i, i));
            if let Some(call) = call_alone(l) {
                let mut out: Vec<&str> = lines.clone();
                out[i] = &call;
                calls.push(join_collapsed(out.into_iter()));
            }
        }
    }
    // Integer literals of 4 and more, halved, one at a time.
    for (i, l) in lines.iter().enumerate() {
        if depth_at[i] == 0 && (l.starts_with("import") || l.starts_with("package")) {
            continue;
        }
        if l.contains('"') || l.trim_start().starts_with("//") {
            continue;
        }
        let b = l.as_bytes();
        let mut k = 0;
        while k < b.len() {
            if b[k].is_ascii_digit()
                && (k == 0
                    || !(b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'_' || b[k - 1] == b'.'))
            {
                let s = k;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                let next_ok =
                    k >= b.len() || !(b[k].is_ascii_alphanumeric() || b[k] == b'.' || b[k] == b'_');
                if next_ok {
                    if let Ok(n) = l[s..k].parse::<u64>() {
                        if n >= 4 {
                            let line = format!("{}{}{}", &l[..s], n / 2, &l[k..]);
                            let mut out: Vec<String> =
                                lines.iter().map(|x| x.to_string()).collect();
                            out[i] = line;
                            consts.push(out.join("\n") + "\n");
                        }
                    }
                }
            } else {
                k += 1;
            }
        }
    }
    // Full-line comments (not //go: directives) carry no behaviour: all in one cut.
    let uncommented: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            let t = l.trim_start();
            !t.starts_with("//") || t.starts_with("//go:")
        })
        .collect();
    let mut all = Vec::new();
    if uncommented.len() < lines.len() {
        all.push(join_collapsed(uncommented.into_iter()));
    }
    all.extend(decls);
    all.extend(blocks);
    all.extend(drop_var_everywhere(&lines, &depth_at));
    all.extend(inline_calls(&lines));
    all.extend(drop_results(&lines));
    all.extend(unwrap_blocks(&lines, &depth_at));
    all.extend(stmts);
    all.extend(inline_vars(&lines, &depth_at));
    all.extend(collapse_import(&lines));
    all.extend(calls);
    all.extend(drop_params(&lines));
    all.extend(consts);
    all.retain(|c| c != src);
    all
}

/// Split `s` at its top-level commas (not inside `()`, `[]` or `{}`).
fn top_level_items(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut from) = (0i32, 0);
    for (i, c) in code_chars(s) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    let last = s[from..].trim();
    if !last.is_empty() || !out.is_empty() {
        out.push(last);
    }
    out
}

/// Byte offset in `line` of the `)` that closes the `(` at `open`, on the
/// same line.
fn closing_paren_at(line: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in code_chars(line).into_iter().filter(|(i, _)| *i >= open) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Byte offsets of the `(` of every call of `name` in `line` (code only,
/// not a longer identifier, not a selector `x.name`).
fn call_opens(line: &str, name: &str) -> Vec<usize> {
    let code: std::collections::BTreeSet<usize> =
        code_chars(line).into_iter().map(|(i, _)| i).collect();
    let mut out = Vec::new();
    let pat = format!("{name}(");
    let mut from = 0;
    while let Some(k) = line[from..].find(&pat) {
        let at = from + k;
        let before = line[..at].chars().next_back();
        let ident_before = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
        if !ident_before && code.contains(&at) {
            out.push(at + name.len());
        }
        from = at + pat.len();
    }
    out
}

/// A top-level function declaration other than `main` (not a method):
/// its name and the offsets of the `(` and `)` around its parameters.
fn func_decl(l: &str) -> Option<(&str, usize, usize)> {
    let rest = l.strip_prefix("func ")?;
    let paren = rest.find('(')?;
    let name = &rest[..paren];
    if name.is_empty() || name == "main" || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let open = "func ".len() + paren;
    let close = closing_paren_at(l, open)?;
    Some((name, open, close))
}

/// Each parameter of each top-level function (not methods, `main` or
/// `init`) dropped, from its declaration and from every call: `f(a, b)`
/// and `func f(x, y int)` become `f(b)` and `func f(y int)`. A function
/// whose calls cannot all be edited on their line (another argument count,
/// a call split over lines), with unnamed or variadic parameters, is left
/// alone; a use of the function as a value fails the build check.
fn drop_params(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some((name, open, close)) = func_decl(l) else {
            continue;
        };
        if name == "init" {
            continue;
        }
        let params = top_level_items(&l[open + 1..close]);
        let named = params
            .last()
            .is_some_and(|p| p.split_whitespace().count() >= 2);
        if params.is_empty() || !named || l[open..close].contains("...") {
            continue;
        }
        for k in 0..params.len() {
            // `i, d int` without `d` is `i int`: the type moves left.
            let mut kept: Vec<String> = Vec::new();
            for (j, p) in params.iter().enumerate() {
                if j == k {
                    continue;
                }
                let takes_type = j + 1 == k
                    && p.split_whitespace().count() == 1
                    && params[k].split_whitespace().count() >= 2;
                if takes_type {
                    let ty = params[k]
                        .split_once(char::is_whitespace)
                        .map_or("", |x| x.1);
                    kept.push(format!("{p} {}", ty.trim()));
                } else {
                    kept.push(p.to_string());
                }
            }
            let decl = format!("{}({}){}", &l[..open], kept.join(", "), &l[close + 1..]);
            let mut new_lines: Vec<String> = lines.iter().map(|x| x.to_string()).collect();
            new_lines[i] = decl;
            let mut ok = true;
            for (j, line) in lines.iter().enumerate() {
                if j == i {
                    continue;
                }
                let mut edited = line.to_string();
                // Right to left, so earlier offsets stay valid.
                for at in call_opens(line, name).into_iter().rev() {
                    let Some(end) = closing_paren_at(&edited, at) else {
                        ok = false;
                        break;
                    };
                    let args = top_level_items(&edited[at + 1..end]);
                    if args.len() != params.len() {
                        ok = false;
                        break;
                    }
                    let rest: Vec<&str> = args
                        .iter()
                        .enumerate()
                        .filter(|(x, _)| *x != k)
                        .map(|(_, a)| *a)
                        .collect();
                    edited = format!(
                        "{}({}){}",
                        &edited[..at],
                        rest.join(", "),
                        &edited[end + 1..]
                    );
                }
                if !ok {
                    break;
                }
                new_lines[j] = edited;
            }
            if ok {
                out.push(new_lines.join("\n") + "\n");
            }
        }
    }
    out
}

/// Each block inside a function with its braces gone and its body kept:
/// `for {`, `if c {`, `go func() {` ... `}()` lose their header and closing
/// line. A block whose body is not balanced on its own (an `} else {`, the
/// `case`s of a switch or select) is left alone.
fn unwrap_blocks(lines: &[&str], depth_at: &[i32]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if depth_at[i] == 0 || !t.ends_with('{') || t.starts_with('}') || depth_change(l) <= 0 {
            continue;
        }
        let Some(end) = closing_line(lines, i) else {
            continue;
        };
        let close = lines[end].trim();
        let call_close =
            close.starts_with("}(") && close.ends_with(')') && !close[1..].contains('{');
        if end <= i + 1 || !(matches!(close, "}" | "})" | "}()") || call_close) {
            continue;
        }
        let body = &lines[i + 1..end];
        let mut d = 0;
        let mut balanced = true;
        for b in body {
            let bt = b.trim();
            if d == 0 && (bt.starts_with('}') || bt.starts_with("case ") || bt == "default:") {
                balanced = false;
                break;
            }
            d += depth_change(b);
            if d < 0 {
                balanced = false;
                break;
            }
        }
        if !balanced || d != 0 {
            continue;
        }
        let kept = lines[..i]
            .iter()
            .chain(body.iter())
            .chain(lines[end + 1..].iter())
            .copied();
        out.push(join_collapsed(kept));
    }
    out
}

/// Each top-level `func NAME() {` with no parameters, no results and no
/// `return`, called exactly once as a statement of its own (`NAME()` on its
/// line), inlined: its body replaces the call and its declaration goes.
fn inline_calls(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(name) = l.strip_prefix("func ").and_then(|r| r.strip_suffix("() {")) else {
            continue;
        };
        if name == "main"
            || name == "init"
            || name.is_empty()
            || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let Some(end) = closing_line(lines, i) else {
            continue;
        };
        let body = &lines[i + 1..end];
        if body.iter().any(|b| {
            let c: String = code_chars(b).into_iter().map(|(_, c)| c).collect();
            c.trim_start().starts_with("return") || c.contains(" return")
        }) {
            continue;
        }
        let uses: Vec<usize> = (0..lines.len())
            .filter(|&j| (j < i || j > end) && !call_opens(lines[j], name).is_empty())
            .collect();
        let call = format!("{name}()");
        let [at] = uses[..] else {
            continue;
        };
        if lines[at].trim() != call || call_opens(lines[at], name).len() != 1 {
            continue;
        }
        // The comment lines above the declaration go with it.
        let mut from = i;
        while from > 0 && lines[from - 1].trim_start().starts_with("//") {
            from -= 1;
        }
        let mut kept: Vec<&str> = Vec::new();
        for (j, line) in lines.iter().enumerate() {
            if j == at {
                kept.extend(body.iter().copied());
            } else if j < from || j > end {
                kept.push(line);
            }
        }
        out.push(join_collapsed(kept.into_iter()));
    }
    out
}

/// Byte offsets in `line` where the identifier `name` stands as a whole
/// token in code (not inside a longer identifier, not a selector `x.name`).
fn ident_at(line: &str, name: &str) -> Vec<usize> {
    let code: std::collections::BTreeSet<usize> =
        code_chars(line).into_iter().map(|(i, _)| i).collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = line[from..].find(name) {
        let at = from + k;
        let before = line[..at].chars().next_back();
        let after = line[at + name.len()..].chars().next();
        if !before.is_some_and(|c| is_ident(c) || c == '.')
            && !after.is_some_and(is_ident)
            && code.contains(&at)
        {
            out.push(at);
        }
        from = at + name.len();
    }
    out
}

/// The lines of the function around line `i`: from its `func` line to its
/// closing `}` (top-level functions only).
fn enclosing_func(lines: &[&str], depth_at: &[i32], i: usize) -> Option<(usize, usize)> {
    let start = (0..=i)
        .rev()
        .find(|&k| depth_at[k] == 0 && lines[k].starts_with("func "))?;
    let end = closing_line(lines, start)?;
    (end >= i).then_some((start, end))
}

/// Each local `x := e` (or `var x T = e`) whose `x` is used exactly once
/// further down its function, on a line of its own, with `e` put in its
/// place and the declaration gone: `r := i >> 1` / `a[r&7]` becomes
/// `a[(i>>1)&7]`. Whether `e` may move there is the build's and the
/// trials' to say.
fn inline_vars(lines: &[&str], depth_at: &[i32]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if depth_at[i] == 0 || depth_change(l) != 0 || l.contains('{') || l.contains('}') {
            continue;
        }
        let t = l.trim();
        let (name, value) = if let Some((n, v)) = t.split_once(" := ") {
            (n.trim(), v.trim().to_string())
        } else if let Some(rest) = t.strip_prefix("var ") {
            let Some((lhs, v)) = rest.split_once(" = ") else {
                continue;
            };
            let Some((n, ty)) = lhs.split_once(' ') else {
                continue;
            };
            (n, format!("{}({})", ty.trim(), v.trim()))
        } else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') || name == "_"
        {
            continue;
        }
        let Some((_, end)) = enclosing_func(lines, depth_at, i) else {
            continue;
        };
        let uses: Vec<(usize, usize)> = (i + 1..=end)
            .flat_map(|j| ident_at(lines[j], name).into_iter().map(move |at| (j, at)))
            .collect();
        let [(j, at)] = uses[..] else {
            continue;
        };
        // Not a use that assigns it (`x = ...`, `x++`, `x += ...`).
        let rest = lines[j][at + name.len()..].trim_start();
        if rest.starts_with('=') && !rest.starts_with("==")
            || rest.starts_with("++")
            || rest.starts_with("--")
            || (rest.len() > 1 && rest.as_bytes()[1] == b'=' && "+-*/%&|^".contains(&rest[..1]))
        {
            continue;
        }
        let simple = value
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            || value.ends_with(')')
                && closing_paren(&value, value.find('(').unwrap_or(0)) == Some(value.len() - 1);
        let put = if simple {
            value.clone()
        } else {
            format!("({value})")
        };
        let edited = format!("{}{put}{}", &lines[j][..at], &lines[j][at + name.len()..]);
        let kept = lines
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != i)
            .map(|(k, x)| if k == j { edited.as_str() } else { *x });
        out.push(join_collapsed(kept));
    }
    out
}

/// Each top-level function with one unnamed result made a function with
/// none: the result type goes, `return e` becomes `return` (and goes when
/// it is the last line), and `_ = f(...)` statements become `f(...)`. A use
/// of the result elsewhere fails the build check.
fn drop_results(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some((name, _, close)) = func_decl(l) else {
            continue;
        };
        let result = l[close + 1..].trim().trim_end_matches('{').trim();
        if result.is_empty() || result.starts_with('(') {
            continue;
        }
        let Some(end) = closing_line(lines, i) else {
            continue;
        };
        let mut new_lines: Vec<String> = Vec::new();
        for (j, x) in lines.iter().enumerate() {
            if j == i {
                new_lines.push(format!("{} {{", &l[..=close]));
            } else if j > i && j < end {
                let t = x.trim();
                if t.starts_with("return ") || t == "return" {
                    if j + 1 == end {
                        continue;
                    }
                    let ind = &x[..x.len() - x.trim_start().len()];
                    new_lines.push(format!("{ind}return"));
                } else {
                    new_lines.push(x.to_string());
                }
            } else {
                let t = x.trim_start();
                let call = format!("_ = {name}(");
                if t.starts_with(&call) {
                    let ind = &x[..x.len() - t.len()];
                    new_lines.push(format!("{ind}{}", &t[4..]));
                } else {
                    new_lines.push(x.to_string());
                }
            }
        }
        out.push(join_collapsed(new_lines.iter().map(|x| x.as_str())));
    }
    out
}

/// Each local variable removed with every line that mentions it (its
/// declaration, its uses): a WaitGroup and its Add, Done and Wait go in
/// one cut. Only balanced lines (no block opens or closes on them).
fn drop_var_everywhere(lines: &[&str], depth_at: &[i32]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if depth_at[i] == 0 {
            continue;
        }
        let t = l.trim();
        let name = if let Some(rest) = t.strip_prefix("var ") {
            rest.split_whitespace().next().unwrap_or("")
        } else if let Some((n, _)) = t.split_once(" := ") {
            n.trim()
        } else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some((start, end)) = enclosing_func(lines, depth_at, i) else {
            continue;
        };
        let mentions: Vec<usize> = (start + 1..end)
            .filter(|&j| !ident_at(lines[j], name).is_empty())
            .collect();
        if mentions.len() < 2
            || mentions.iter().any(|&j| {
                depth_change(lines[j]) != 0 || lines[j].contains('{') || lines[j].contains('}')
            })
        {
            continue;
        }
        let kept = lines
            .iter()
            .enumerate()
            .filter(|(k, _)| !mentions.contains(k))
            .map(|(_, x)| *x);
        out.push(join_collapsed(kept));
    }
    out
}

/// `import (` with one path `)` as `import "path"`.
fn collapse_import(lines: &[&str]) -> Option<String> {
    let i = lines.iter().position(|l| *l == "import (")?;
    let path = lines.get(i + 1)?.trim();
    if lines.get(i + 2)? != &")" || !path.starts_with('"') {
        return None;
    }
    let one = format!("import {path}");
    let kept = lines.iter().enumerate().filter_map(|(k, x)| match k {
        k if k == i => Some(one.as_str()),
        k if k == i + 1 || k == i + 2 => None,
        _ => Some(*x),
    });
    Some(join_collapsed(kept))
}

/// Remove the imports a build log says are not used (`imported and not
/// used: "os"` before go1.20, `"os" imported and not used` after). None
/// when the log names none.
pub fn drop_unused_imports(src: &str, build_log: &str) -> Option<String> {
    let mut unused: Vec<String> = Vec::new();
    for l in build_log.lines() {
        let name = if let Some(rest) = l.split("imported and not used: ").nth(1) {
            rest.trim()
                .trim_matches('"')
                .split('"')
                .next()
                .map(str::to_string)
        } else if l.contains("imported and not used") {
            l.split('"').nth(1).map(str::to_string)
        } else {
            None
        };
        if let Some(n) = name {
            unused.push(n);
        }
    }
    if unused.is_empty() {
        return None;
    }
    let kept: Vec<&str> = src
        .lines()
        .filter(|l| {
            let t = l.trim();
            !unused
                .iter()
                .any(|u| t == format!("\"{u}\"") || t == format!("import \"{u}\""))
        })
        .collect();
    let out = kept.join("\n") + "\n";
    (out != src).then_some(out)
}

/// Remove the variables a build log says are declared and not used
/// (`declared and not used: x` from go1.20, `x declared but not used`
/// before), each with its declaring line (`x := ...` or `var x ...`, one
/// variable, balanced) and the lines that only assign it (`x = ...`, which
/// Go does not count as a use). A variable declared any other way is left
/// alone. None when nothing was removed.
pub fn drop_unused_vars(src: &str, build_log: &str) -> Option<String> {
    let lines: Vec<&str> = src.lines().collect();
    // None: keep the line; Some(None): drop it; Some(Some(s)): replace it.
    let mut edit: Vec<Option<Option<String>>> = vec![None; lines.len()];
    for l in build_log.lines() {
        let Some(at) = l.find("main.go:") else {
            continue;
        };
        let rest = &l[at + "main.go:".len()..];
        let Some(line_no) = rest.split(':').next().and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let name = if let Some(n) = rest.split("declared and not used: ").nth(1) {
            n.trim()
        } else if let Some(head) = rest.strip_suffix(" declared but not used") {
            head.rsplit(": ").next().unwrap_or("").trim()
        } else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(decl) = line_no.checked_sub(1).filter(|i| *i < lines.len()) else {
            continue;
        };
        let t = lines[decl].trim();
        let rhs = if let Some(r) = t.strip_prefix(name).map(str::trim_start) {
            r.strip_prefix(":=")
        } else {
            t.strip_prefix("var ")
                .and_then(|r| r.strip_prefix(name))
                .filter(|r| r.starts_with(' '))
                .map(|r| r.split_once(" = ").map_or("", |(_, v)| v))
        };
        let Some(rhs) = rhs else {
            continue;
        };
        if depth_change(t) != 0 {
            continue;
        }
        edit[decl] = Some(keep_effects(lines[decl], rhs));
        for (i, other) in lines.iter().enumerate() {
            let o = other.trim();
            let assigned = o.strip_prefix(name).and_then(|r| {
                let r = r.trim_start();
                r.strip_prefix('=').filter(|v| !v.starts_with('='))
            });
            if let Some(v) = assigned.filter(|_| depth_change(o) == 0) {
                edit[i] = Some(keep_effects(other, v));
            }
        }
    }
    if edit.iter().all(Option::is_none) {
        return None;
    }
    let kept: Vec<String> = lines
        .iter()
        .zip(edit)
        .filter_map(|(l, e)| match e {
            None => Some(l.to_string()),
            Some(r) => r,
        })
        .collect();
    Some(join_collapsed(kept.iter().map(String::as_str)))
}

/// What is left of `line` once the variable it sets goes: nothing, or
/// `_ = value` when the value calls something (the call may matter).
fn keep_effects(line: &str, value: &str) -> Option<String> {
    let v = value.trim();
    let pure = ["make(", "new(", "len(", "cap("]
        .iter()
        .any(|b| v.starts_with(b));
    if v.is_empty() || !v.contains('(') || pure {
        return None;
    }
    let indent = &line[..line.len() - line.trim_start().len()];
    Some(format!("{indent}_ = {v}"))
}

/// `x := f(a)`, `x, y = f(a)`, `a[i] = f(a)` as the call alone, `f(a)`: the
/// statement keeps its effect and loses its result. None for other lines.
fn call_alone(line: &str) -> Option<String> {
    let t = line.trim();
    let (lhs, rhs) = t.split_once(" := ").or_else(|| t.split_once(" = "))?;
    let simple = |c: char| c.is_alphanumeric() || "_.[], ".contains(c);
    if lhs.is_empty() || !lhs.chars().all(simple) || lhs.trim() == "_" {
        return None;
    }
    let rhs = rhs.trim();
    let open = rhs.find('(')?;
    let callee = &rhs[..open];
    let is_path = !callee.is_empty()
        && callee
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    // The first parenthesis closes at the end: one call, not `f(a) + g(b)`.
    let closes_at_end = rhs.ends_with(')') && closing_paren(rhs, open) == Some(rhs.len() - 1);
    if !is_path || !closes_at_end || matches!(callee, "make" | "new" | "len" | "cap" | "append") {
        return None;
    }
    let indent = &line[..line.len() - line.trim_start().len()];
    Some(format!("{indent}{rhs}"))
}

/// Index of the `)` that closes the `(` at `open`, outside strings.
fn closing_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in code_chars(s).into_iter().skip_while(|(i, _)| *i < open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_results_and_imports_have_cuts_of_their_own() {
        let src = "package main\n\nimport (\n\t\"sync\"\n)\n\nfunc run() uint64 {\n\tvar wg sync.WaitGroup\n\twg.Add(1)\n\tgo func(w int) {\n\t\tdefer wg.Done()\n\t\twork(w)\n\t}(1)\n\twg.Wait()\n\tr := 7 >> 1\n\tx := a[r&3]\n\tvar h uint64 = 1\n\treturn h\n}\n\nfunc main() {\n\t_ = run()\n}\n";
        let c = candidates(src);
        let has = |needle: &str, without: &str| {
            c.iter().any(|c| c.contains(needle) && !c.contains(without))
        };
        // The WaitGroup with its four lines.
        assert!(
            has("\tgo func(w int) {\n\t\twork(w)\n\t}(1)\n", "wg"),
            "{c:#?}"
        );
        // A goroutine run inline.
        assert!(
            has(
                "\twg.Add(1)\n\t\tdefer wg.Done()\n\t\twork(w)\n\twg.Wait()",
                "go func"
            ),
            "{c:#?}"
        );
        // Single-use variables.
        assert!(has("\tx := a[(7 >> 1)&3]\n", "r :="), "{c:#?}");
        assert!(has("\treturn uint64(1)\n", "var h"), "{c:#?}");
        // No result: `return h` goes, `_ = run()` is `run()`.
        assert!(has("func run() {", "return h"), "{c:#?}");
        assert!(
            c.iter()
                .any(|c| c.contains("func run() {") && c.contains("\trun()\n")),
            "{c:#?}"
        );
        // One import, one line.
        assert!(has("import \"sync\"\n", "import ("), "{c:#?}");
    }

    #[test]
    fn a_block_loses_its_braces_and_keeps_its_body() {
        let src = "package main\n\nfunc main() {\n\tgo func() {\n\t\twork()\n\t}()\n\tif x {\n\t\ta()\n\t} else {\n\t\tb()\n\t}\n\tswitch {\n\tcase x:\n\t\tc()\n\t}\n}\n";
        let c = candidates(src);
        assert!(
            c.iter()
                .any(|c| c.contains("func main() {\n\t\twork()\n\tif x {")),
            "{c:#?}"
        );
        // Neither the if/else nor the switch is unwrapped: their bodies do
        // not stand alone.
        assert!(
            !c.iter().any(
                |c| c.contains("\t\ta()\n\t} else {\n\t\tb()\n\t}\n\tswitch")
                    && !c.contains("if x {")
            ),
            "{c:#?}"
        );
        assert!(
            !c.iter()
                .any(|c| c.contains("\tcase x:") && !c.contains("switch {")),
            "{c:#?}"
        );
    }

    #[test]
    fn a_function_called_once_is_inlined() {
        let src = "package main\n\n// run does the work.\nfunc run() {\n\tfor i := 0; i < 3; i++ {\n\t\twork(i)\n\t}\n}\n\nfunc twice() {\n\twork(1)\n}\n\nfunc early() {\n\tif x {\n\t\treturn\n\t}\n}\n\nfunc main() {\n\trun()\n\ttwice()\n\ttwice()\n\tearly()\n}\n";
        let c = inline_calls(&src.lines().collect::<Vec<_>>());
        assert_eq!(c.len(), 1, "{c:#?}");
        assert!(
            !c[0].contains("func run()") && !c[0].contains("// run does"),
            "{}",
            c[0]
        );
        assert!(
            c[0].contains("func main() {\n\tfor i := 0; i < 3; i++ {\n\t\twork(i)\n\t}\n\ttwice()"),
            "{}",
            c[0]
        );
    }

    #[test]
    fn a_parameter_goes_from_the_declaration_and_every_call() {
        let src = "package main\n\nfunc f(i, d int, s string) int {\n\treturn f(i, d-1, \"a, b\") + g(d)\n}\n\nfunc main() {\n\t_ = f(1, 2, \"x\")\n\tgo h(stop, &bg)\n}\n\nfunc h(stop chan struct{}, bg *int) {\n}\n";
        let lines: Vec<&str> = src.lines().collect();
        let c = drop_params(&lines);
        assert!(
            c.iter().any(|c| c.contains("func f(d int, s string) int {")
                && c.contains("return f(d-1, \"a, b\") + g(d)")
                && c.contains("_ = f(2, \"x\")")),
            "{c:#?}"
        );
        assert!(
            c.iter()
                .any(|c| c.contains("func f(i int, s string) int {")
                    && c.contains("_ = f(1, \"x\")")),
            "{c:#?}"
        );
        assert!(
            c.iter()
                .any(|c| c.contains("func h(bg *int) {") && c.contains("go h(&bg)")),
            "{c:#?}"
        );
        assert!(
            c.iter()
                .any(|c| c.contains("func h(stop chan struct{}) {") && c.contains("go h(stop)")),
            "{c:#?}"
        );
        // main keeps its (empty) list; 3 + 2 candidates in all.
        assert_eq!(c.len(), 5, "{c:#?}");
        // A call with another argument count leaves the function alone.
        let odd = "func k(a, b int) {\n}\n\nfunc main() {\n\tk(pair())\n}\n";
        assert!(drop_params(&odd.lines().collect::<Vec<_>>()).is_empty());
    }

    const PROG: &str = r#"package main

import (
	"fmt"
	"os"
)

// helper is not needed.
//go:noinline
func helper(x int) int {
	if x > 100 {
		return x
	}
	return x + 1
}

func main() {
	n := 1000
	for i := 0; i < 3; i++ {
		n += helper(i)
	}
	fmt.Println("checksum:", n)
	os.Exit(0)
}
"#;

    #[test]
    fn cuts_declarations_blocks_statements_and_constants() {
        let c = candidates(PROG);
        // The helper and its comments go in one cut.
        assert!(c
            .iter()
            .any(|s| !s.contains("helper(x int)") && !s.contains("go:noinline")));
        // The for loop goes as one block.
        assert!(c
            .iter()
            .any(|s| !s.contains("for i") && s.contains("n := 1000")));
        // A statement line goes alone.
        assert!(c
            .iter()
            .any(|s| !s.contains("os.Exit") && s.contains("fmt.Println")));
        // Constants are halved.
        assert!(c.iter().any(|s| s.contains("n := 500")));
        // Comments go in one cut; directives stay.
        assert!(c[0].contains("//go:noinline") && !c[0].contains("// helper"));
        // main itself, package and imports are never cut.
        assert!(c
            .iter()
            .all(|s| s.contains("func main()") && s.starts_with("package main")));
        // Every candidate is smaller or has a smaller constant.
        for s in &c {
            assert!(non_blank_lines(s) < non_blank_lines(PROG) || s.len() <= PROG.len());
        }
    }

    #[test]
    fn unused_imports_are_dropped_in_both_message_forms() {
        let old = "./main.go:5:2: imported and not used: \"os\"";
        let new = "./main.go:5:2: \"os\" imported and not used";
        for log in [old, new] {
            let out = drop_unused_imports(PROG, log).unwrap();
            assert!(!out.contains("\"os\""));
            assert!(out.contains("\"fmt\""));
        }
        assert!(drop_unused_imports(PROG, "some other error").is_none());
    }

    #[test]
    fn unused_variables_are_dropped_in_both_message_forms() {
        let src = "package main\n\nfunc main() {\n\tstop := make(chan struct{})\n\tn := 1\n\tstop = nil\n\tn += 2\n\tprintln(n)\n}\n";
        let old = "./main.go:4:2: stop declared but not used";
        let new = "./main.go:4:2: declared and not used: stop";
        for log in [old, new] {
            let out = drop_unused_vars(src, log).unwrap();
            assert!(!out.contains("stop"), "{out}");
            assert!(!out.contains("_ ="), "make has no effect to keep: {out}");
            assert!(out.contains("n := 1") && out.contains("n += 2"), "{out}");
        }
        let plain = "package main\n\nfunc main() {\n\tx := 7\n\tx = work()\n}\n";
        let out = drop_unused_vars(plain, "./main.go:4:2: declared and not used: x").unwrap();
        assert!(
            !out.contains("x :=") && out.contains("\t_ = work()"),
            "the call stays: {out}"
        );
        // A variable declared some other way, or a log naming no line, is left.
        let range = "package main\n\nfunc main() {\n\tfor i, v := range []int{1} {\n\t\tprintln(i)\n\t}\n}\n";
        assert!(drop_unused_vars(range, "./main.go:4:9: declared and not used: v").is_none());
        assert!(drop_unused_vars(src, "declared and not used: stop").is_none());
        assert!(drop_unused_vars(src, "some other error").is_none());
    }

    #[test]
    fn a_call_can_lose_its_result() {
        assert_eq!(
            call_alone("\tr0 := tm0Run()").as_deref(),
            Some("\ttm0Run()")
        );
        assert_eq!(
            call_alone("\t\tyres[w] = pkg.Work(w, \")\")").as_deref(),
            Some("\t\tpkg.Work(w, \")\")")
        );
        for not in [
            "\tx := f(a) + g(b)",
            "\tx := make([]int, 3)",
            "\t_ = f()",
            "\tx := y",
            "\tf(a)",
        ] {
            assert_eq!(call_alone(not), None, "{not}");
        }
        let src = "package main\n\nfunc main() {\n\tr := work()\n\tprintln(r)\n}\n";
        assert!(candidates(src).iter().any(|c| c.contains("\twork()\n")));
    }

    #[test]
    fn depth_ignores_braces_in_strings_and_comments() {
        assert_eq!(depth_change(r#"fmt.Println("{")"#), 0);
        assert_eq!(depth_change("if x { // }"), 1);
        assert_eq!(depth_change("s := `}`"), 0);
    }
}
