//! Outcome classification: turns what a build or a run left behind into a
//! class and a normalised signature.
//!
//! # Run classes (`classify_run`), first rule that matches wins
//!
//! 1. `hang`: the harness timed the run out, whatever the output. The
//!    signature comes from the SIGQUIT goroutine dump (see [`hang_signature`]).
//! 2. `oom`: the harness says the run hit its memory cap, or the runtime said
//!    `fatal error: runtime: out of memory` / `runtime: out of memory: cannot
//!    allocate ...` / `fatal error: out of memory`.
//! 3. `ok`: exit status 0. `Outcome::checksum` is the last `checksum: <hex>`
//!    line of stdout.
//! 4. A Go crash report on stderr decides the class:
//!    * a `fatal error: ...` line: `signal` when it is the runtime failing to
//!      handle a signal (`unexpected signal during runtime execution`, or
//!      `fault` after `unexpected fault address`), `oom` for the out of memory
//!      throws, `fatal` otherwise (deadlock, concurrent map writes, stack
//!      overflow, `sync: unlock of unlocked mutex`, runtime throws such as
//!      `traceback did not unwind completely`). A `fatal error` line wins over
//!      an earlier `panic:` line (a throw while panicking).
//!    * else a `panic: ...` line: `panic`. A nil dereference in Go code is
//!      reported as `panic: runtime error: invalid memory address or nil
//!      pointer dereference` followed by `[signal SIGSEGV ...]`: the runtime
//!      turned the signal into an ordinary panic, so the class is `panic`.
//!    * else a `SIGxxx: <name>` line followed by `PC=...`: the runtime's
//!      report of a signal it could not turn into a panic (or one sent to the
//!      process, `sigcode=0`): `signal`.
//! 5. `infra`: no exit status at all, or the executor said it failed: a line
//!    from qemu itself (`qemu-aarch64-static: ...`: cannot load the ELF,
//!    cannot reserve memory, ...), `qemu: fatal: ...` (an emulator abort),
//!    `exec format error`, `fork/exec`, `cannot execute binary file`.
//!    `qemu: unhandled CPU exception` is NOT infra: qemu prints it when the
//!    guest program executes something that on hardware would have trapped
//!    (a jump into garbage, an unsupported instruction); it is the program
//!    (or the toolchain that built it) crashing, so it is `signal`.
//! 6. `signal`: death by a signal without a Go report (`ExitStatus::Signal`,
//!    e.g. SIGKILL), or qemu's `qemu: uncaught target signal 11
//!    (Segmentation fault) - core dumped` (qemu re-raises the guest signal on
//!    itself). Both give `killed by SIGSEGV`, so native and emulated runs
//!    agree.
//! 7. `fatal`: any other non-zero exit, signature `exit status N` plus `: `
//!    and the normalised last stderr line if there is one.
//!
//! # Signatures
//!
//! Signatures are in the spirit of syzkaller crash titles: a normalised header
//! (`panic: runtime error: index out of range [N] with length N`,
//! `fatal error: all goroutines are asleep - deadlock!`) then ` in ` and up to
//! [`MAX_FRAMES`] frames of the crashing goroutine joined by ` < ` (innermost
//! first), at most [`MAX_SIGNATURE_LEN`] bytes. Frames lose their arguments,
//! file:line, offsets; closure and wrapper names are unified across releases
//! (`main.main.func1`, `main.main.func1.1` become `main.main.func`; the
//! go1.22+ `go f(x)` / `defer f(x)` wrappers `gowrapN` / `deferwrapN`, which
//! older releases do not have and GOTRACEBACK=single hides, are dropped; the
//! go1.17-go1.21 wrappers were named `funcN` and cannot be told from a real
//! closure); generic frames (throw, gopanic, sigpanic, panicIndex,
//! systemstack, goexit, ...) are skipped and so are consecutive repeats
//! (recursion). Frames after `...additional frames elided...` are ignored.
//!
//! Which frames count depends on who is to blame:
//! * panics and "user" fatal errors (deadlock, concurrent map access, stack
//!   overflow, `sync:` misuse, ...): only frames outside the standard library
//!   (std frames move between releases and GOTRACEBACK levels hide or show
//!   them), falling back to std frames when there are none;
//! * runtime throws and signals: runtime frames are kept, taken from the
//!   `runtime stack:` block first (that says where the runtime was, e.g.
//!   `runtime.(*unwinder).next < runtime.scanstack < runtime.markroot.func`).
//!
//! Texts (panic values, messages) lose numbers (`N`), hex values (`0xN`),
//! hash-like hex words (`H`) and release-specific decorations such as
//! `[recovered]` / `[recovered, repanicked]`, `gp=... m=... mp=...`,
//! `in goroutine N`.
//!
//! # Build classes (`classify_build`)
//!
//! * `ok` for exit 0;
//! * `ice` for `internal compiler error`, or a Go crash report (`panic:`,
//!   `fatal error:`, `unexpected signal`, `goroutine N [running]`) in the
//!   output: the compiler, linker or go command crashed;
//! * `infra` when the go command could not do its job for reasons that are
//!   not the program: no exit status, `fork/exec`, `cannot find GOROOT`,
//!   module set-up errors (`go: cannot find main module`, `go.mod file not
//!   found`, `go.mod requires go >= ...`), `signal: killed`, no space left,
//!   toolchain downloads;
//! * `build_error` otherwise, signature = the first error message with
//!   file:line:col removed and old-typechecker / types2 wording unified
//!   (`undeclared name: x` → `undefined: x`, `x declared but not used` →
//!   `declared and not used: x`, `imported and not used: "os"` → `"os"
//!   imported and not used`, `cannot use X (type T) as type U in ...` →
//!   `cannot use X as U`, ...).
//!
//! Nothing here panics on any input; only the first and last [`WINDOW`]
//! bytes of each text are looked at.

use crate::model::{Class, ExitStatus, Outcome};
use regex::Regex;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Longest signature, in bytes.
pub const MAX_SIGNATURE_LEN: usize = 200;
/// Most frames in a crash signature.
pub const MAX_FRAMES: usize = 3;
/// Only the first and the last `WINDOW` bytes of an output are examined.
pub const WINDOW: usize = 256 * 1024;
/// Longest header (panic value, error message) kept in a signature.
const MAX_HEADER_LEN: usize = 120;

/// Everything the classifier needs to know about one finished run.
#[derive(Clone, Debug, Default)]
pub struct RunEvidence<'a> {
    /// How the process ended; `None` when it never started or was not reaped.
    pub exit: Option<ExitStatus>,
    /// The harness killed it after the timeout (stderr then holds the
    /// SIGQUIT goroutine dump, if the program produced one).
    pub timed_out: bool,
    /// The run hit its memory cap.
    pub oom: bool,
    pub stdout: &'a str,
    pub stderr: &'a str,
}

impl<'a> RunEvidence<'a> {
    /// The evidence of a finished child process.
    pub fn of(r: &'a crate::exec::ExecResult) -> Self {
        RunEvidence {
            exit: r.exit,
            timed_out: r.timed_out,
            oom: r.oom,
            stdout: &r.stdout,
            stderr: &r.stderr,
        }
    }
}

/// Classify one run of a built program.
pub fn classify_run(ev: &RunEvidence) -> Outcome {
    let stderr = bounded(ev.stderr);
    let lines: Vec<&str> = stderr.lines().collect();

    if ev.timed_out {
        return Outcome::new(Class::Hang, hang_signature(&lines));
    }
    let report = parse_report(&lines);
    if ev.oom || report.as_ref().is_some_and(|r| r.class == Class::Oom) {
        let sig = match &report {
            Some(r) if r.class == Class::Oom => r.signature(),
            _ => "out of memory".to_string(),
        };
        return Outcome::new(Class::Oom, sig);
    }
    if ev.exit == Some(ExitStatus::Code(0)) {
        let mut o = Outcome::new(Class::Ok, "");
        o.checksum = last_checksum(&bounded(ev.stdout));
        return o;
    }
    if let Some(r) = report {
        return Outcome::new(r.class, r.signature());
    }
    if let Some(sig) = qemu_guest_crash(&lines) {
        return Outcome::new(Class::Signal, sig);
    }
    if let Some(reason) = executor_failure(&lines) {
        return Outcome::infra(reason);
    }
    match ev.exit {
        None => Outcome::infra(match last_line(&lines) {
            Some(l) => clip(
                &format!("no exit status: {}", normalize_message(l)),
                MAX_SIGNATURE_LEN,
            ),
            None => "no exit status".to_string(),
        }),
        Some(ExitStatus::Signal(n)) => {
            Outcome::new(Class::Signal, format!("killed by {}", signal_name(n)))
        }
        Some(ExitStatus::Code(n)) => {
            let mut sig = format!("exit status {n}");
            if let Some(l) = last_line(&lines) {
                sig.push_str(": ");
                sig.push_str(&normalize_message(l));
            }
            Outcome::new(Class::Fatal, clip(&sig, MAX_SIGNATURE_LEN))
        }
    }
}

/// Classify a failed `go build` from its exit status and output.
pub fn classify_build(exit: Option<ExitStatus>, output: &str) -> Outcome {
    let output = bounded(output);
    let lines: Vec<&str> = output.lines().collect();
    if exit == Some(ExitStatus::Code(0)) {
        return Outcome::new(Class::Ok, "");
    }
    if let Some(sig) = ice_signature(&lines) {
        return Outcome::new(Class::Ice, sig);
    }
    if let Some(reason) = build_infra(&lines) {
        return Outcome::infra(reason);
    }
    if exit.is_none() {
        return Outcome::infra(match first_line(&lines) {
            Some(l) => clip(
                &format!("go command did not run: {}", normalize_message(l)),
                MAX_SIGNATURE_LEN,
            ),
            None => "go command did not run".to_string(),
        });
    }
    if let Some(ExitStatus::Signal(n)) = exit {
        // The go command itself died: nothing the program can cause.
        return Outcome::infra(format!("go command killed by {}", signal_name(n)));
    }
    match first_build_error(&lines) {
        Some(msg) => Outcome::new(Class::BuildError, msg),
        None => Outcome::new(Class::BuildError, "build failed without a message"),
    }
}

// ---------------------------------------------------------------------------
// Text helpers

fn floor_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i.min(s.len())
}

/// The first and last [`WINDOW`] bytes of `s` (cut at line ends), or `s`.
pub fn bounded(s: &str) -> Cow<'_, str> {
    if s.len() <= 2 * WINDOW {
        return Cow::Borrowed(s);
    }
    let mut head_end = floor_boundary(s, WINDOW);
    if let Some(nl) = s[..head_end].rfind('\n') {
        head_end = nl + 1;
    }
    let mut tail_start = ceil_boundary(s, s.len() - WINDOW);
    if let Some(nl) = s[tail_start..].find('\n') {
        tail_start += nl + 1;
    }
    let mut out = String::with_capacity(head_end + (s.len() - tail_start) + 1);
    out.push_str(&s[..head_end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&s[tail_start..]);
    Cow::Owned(out)
}

/// At most `max` bytes of `s`, cut at a char boundary, trailing space removed.
fn clip(s: &str, max: usize) -> String {
    s[..floor_boundary(s, max)].trim_end().to_string()
}

fn last_line<'a>(lines: &[&'a str]) -> Option<&'a str> {
    lines.iter().rev().map(|l| l.trim()).find(|l| !l.is_empty())
}

fn first_line<'a>(lines: &[&'a str]) -> Option<&'a str> {
    lines.iter().map(|l| l.trim()).find(|l| !l.is_empty())
}

macro_rules! regex {
    ($name:ident, $pat:expr) => {
        fn $name() -> &'static Regex {
            static R: OnceLock<Regex> = OnceLock::new();
            R.get_or_init(|| Regex::new($pat).expect("constant regex"))
        }
    };
}

regex!(re_checksum, r"^\s*checksum:\s*([0-9A-Fa-f]+)\s*$");
regex!(re_goroutine, r"^goroutine (\d+)(?: [^\[]*)?\[([^\]]*)\]:?$");
regex!(re_sig_line, r"^(SIG[A-Z0-9]+): (.+)$");
regex!(re_pc_line, r"^PC=\S+ m=\S+ sigcode=(-?\d+)");
regex!(re_signal_bracket, r"^\[signal (SIG[A-Z0-9]+)");
regex!(re_qemu_uncaught, r"^qemu: uncaught target signal (\d+)");
regex!(re_qemu_tool, r"^(?:\S*/)?qemu-[A-Za-z0-9_.-]+: (.*)$");
regex!(re_closure, r"\.func\d+");
regex!(re_wrapper, r"\.(gowrap|deferwrap)\d+");
regex!(re_closure_nested, r"\.func(?:\.\d+)+");
regex!(re_closure_repeat, r"(?:\.func)+");
regex!(
    re_go_pos,
    r"^(?:[A-Za-z]:)?[^\s:]*\.(?:go|s):\d+(?::\d+)?: "
);
regex!(re_autogen_pos, r"^<autogenerated>:\d+(?::\d+)?: ");
regex!(
    re_paren_path,
    r"\s*\((?:[^()]*/[^()]*|-lang was set[^()]*)\)"
);
regex!(re_quoted_path, r"'[^']*/[^']*'");
regex!(re_ssa_ids, r"\b([vb])\d+\b");

/// The last `checksum: <hex>` line of stdout.
pub fn last_checksum(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .rev()
        .find_map(|l| re_checksum().captures(l).map(|c| c[1].to_string()))
}

/// Linux signal names (the same numbers on amd64 and arm64).
pub fn signal_name(n: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match usize::try_from(n) {
        Ok(i) if (1..NAMES.len()).contains(&i) => NAMES[i].to_string(),
        _ => format!("signal {n}"),
    }
}

/// Normalise a message for a signature: numbers become `N`, hex values
/// `0xN`, hash-like hex words `H`; identifiers that merely contain digits
/// (`func1`, `int64`) are kept; runs of white space become one space; the
/// result is at most [`MAX_HEADER_LEN`] bytes.
pub fn normalize_message(s: &str) -> String {
    let s = &s[..floor_boundary(s, 4 * MAX_HEADER_LEN)];
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let mut last_space = true;
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        out.push_str(&normalize_word(word));
        word.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            last_space = false;
            continue;
        }
        flush(&mut word, &mut out);
        if c.is_whitespace() || c.is_control() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    flush(&mut word, &mut out);
    clip(out.trim(), MAX_HEADER_LEN)
}

fn normalize_word(w: &str) -> Cow<'_, str> {
    let b = w.as_bytes();
    let is_hex = |s: &[u8]| !s.is_empty() && s.iter().all(|c| c.is_ascii_hexdigit());
    if b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') && is_hex(&b[2..]) {
        return Cow::Borrowed("0xN");
    }
    if b.len() >= 8 && is_hex(b) && b.iter().any(|c| c.is_ascii_digit()) {
        return Cow::Borrowed("H");
    }
    if b[0].is_ascii_digit() {
        let rest = w.trim_start_matches(|c: char| c.is_ascii_digit());
        return Cow::Owned(format!("N{rest}"));
    }
    Cow::Borrowed(w)
}

// ---------------------------------------------------------------------------
// Frames

/// The function name of a traceback frame line (`main.f(0x1, ...)`), or
/// `None` when the line is not one.
fn frame_name(line: &str) -> Option<&str> {
    if line.starts_with(|c: char| c.is_whitespace()) || !line.ends_with(')') {
        return None;
    }
    let mut depth = 0usize;
    let mut open = None;
    for (i, c) in line.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    open = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let name = &line[..open?];
    if name.is_empty() || name.contains(char::is_whitespace) || name.len() > 1000 {
        return None;
    }
    if !(name.contains('.') || name == "panic") {
        return None;
    }
    Some(name)
}

/// Replace every top-level `[...]` (type arguments, shapes) with `[...]`.
fn collapse_brackets(s: &str) -> Cow<'_, str> {
    if !s.contains('[') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '[' => {
                if depth == 0 {
                    out.push_str("[...]");
                }
                depth += 1;
            }
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// Normalise a function name from a traceback so that the same function has
/// the same name in every release: type arguments collapse to `[...]`,
/// closures and go/defer wrappers to `.func`, renamed runtime internals to
/// one name.
pub fn normalize_frame(name: &str) -> String {
    let name = name.trim();
    let name = name.strip_suffix(".abi0").unwrap_or(name);
    let name = collapse_brackets(name);
    let name = re_wrapper().replace_all(&name, ".$1");
    let name = re_closure().replace_all(&name, ".func");
    let name = re_closure_nested().replace_all(&name, ".func");
    let name = re_closure_repeat().replace_all(&name, ".func");
    let name = name.replace(".glob..func", ".init.func");
    let alias = match name.as_str() {
        "runtime.gentraceback" => Some("runtime.(*unwinder).next"),
        "runtime.lock2" | "runtime.lockWithRank" => Some("runtime.lock"),
        "runtime.unlock2" | "runtime.unlockWithRank" | "runtime.unlockWithRankRelease" => {
            Some("runtime.unlock")
        }
        _ => None,
    };
    if let Some(a) = alias {
        return a.to_string();
    }
    // runtime.mapassign_fast64 and friends are one operation.
    if let Some(rest) = name.strip_prefix("runtime.map") {
        if let Some(i) = rest.find("_fast") {
            return format!("runtime.map{}", &rest[..i]);
        }
    }
    name
}

/// Frames that say nothing about where a crash happened: the panic/throw
/// machinery, stack switches, goroutine entry and exit, signal delivery.
fn is_generic_frame(f: &str) -> bool {
    const EXACT: &[&str] = &[
        "panic",
        "runtime.throw",
        "runtime.fatal",
        "runtime.fatalthrow",
        "runtime.fatalpanic",
        "runtime.gopanic",
        "runtime.sigpanic",
        "runtime.sigpanic0",
        "runtime.systemstack",
        "runtime.systemstack_switch",
        "runtime.mcall",
        "runtime.goexit",
        "runtime.goexit0",
        "runtime.goexit1",
        "runtime.main",
        "runtime.morestack",
        "runtime.morestack_noctxt",
        "runtime.newstack",
        "runtime.asyncPreempt",
        "runtime.asyncPreempt2",
        "runtime.mstart",
        "runtime.mstart0",
        "runtime.mstart1",
        "runtime.rt0_go",
        "runtime.abort",
        "runtime.crash",
        "runtime.raise",
        "runtime.raiseproc",
        "runtime.dieFromSignal",
        "runtime.sighandler",
        "runtime.sigtrampgo",
        "runtime.sigtramp",
        "runtime.sigfwdgo",
        "runtime.startpanic_m",
        "runtime.dopanic_m",
        "runtime.deferreturn",
        "runtime.deferCallSave",
        "runtime.gorecover",
        "runtime.preprintpanics",
        "runtime.printpanics",
        "runtime.badmorestackg0",
        "runtime.badmorestackgsignal",
        "runtime.badsystemstack",
        "runtime.(*unwinder).finishInternal",
        "runtime.(*unwinder).finish",
        "sync.throw",
        "sync.fatal",
        "internal/sync.throw",
        "internal/sync.fatal",
        "internal/runtime/maps.fatal",
    ];
    if EXACT.contains(&f) {
        return true;
    }
    // The wrappers go1.22+ generates for `go f(x)` / `defer f(x)`; older
    // releases call f directly, and GOTRACEBACK<system hides them.
    if f.ends_with(".gowrap") || f.ends_with(".deferwrap") {
        return true;
    }
    if let Some(rest) = f.strip_prefix("runtime.") {
        const PREFIXES: &[&str] = &[
            "panic",
            "goPanic",
            "(*_panic).",
            "throw.",
            "fatal.",
            "fatalthrow.",
            "fatalpanic.",
            "gopanic.",
            "sigpanic.",
        ];
        return PREFIXES.iter().any(|p| rest.starts_with(p));
    }
    false
}

/// Top-level directories of the Go standard library (and cmd).
fn is_std_frame(f: &str) -> bool {
    const STD: &[&str] = &[
        "archive",
        "bufio",
        "builtin",
        "bytes",
        "cmd",
        "cmp",
        "compress",
        "container",
        "context",
        "crypto",
        "database",
        "debug",
        "embed",
        "encoding",
        "errors",
        "expvar",
        "flag",
        "fmt",
        "go",
        "hash",
        "html",
        "image",
        "index",
        "internal",
        "io",
        "iter",
        "log",
        "maps",
        "math",
        "mime",
        "net",
        "os",
        "path",
        "plugin",
        "reflect",
        "regexp",
        "runtime",
        "slices",
        "sort",
        "strconv",
        "strings",
        "structs",
        "sync",
        "syscall",
        "testing",
        "text",
        "time",
        "unicode",
        "unique",
        "unsafe",
        "vendor",
        "weak",
        "panic",
    ];
    let first = f.split(['/', '.']).next().unwrap_or("");
    STD.contains(&first)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FrameMode {
    /// Prefer frames outside the standard library.
    User,
    /// Keep runtime frames.
    Runtime,
}

fn pick_frames<'a>(
    frames: impl IntoIterator<Item = &'a String>,
    mode: FrameMode,
    n: usize,
) -> Vec<String> {
    let frames: Vec<&String> = frames.into_iter().collect();
    let take = |user_only: bool| {
        let mut out: Vec<String> = Vec::new();
        for f in &frames {
            if is_generic_frame(f) || (user_only && is_std_frame(f)) {
                continue;
            }
            if out.last() == Some(*f) {
                continue;
            }
            out.push((*f).clone());
            if out.len() == n {
                break;
            }
        }
        out
    };
    match mode {
        FrameMode::User => {
            let user = take(true);
            if user.is_empty() {
                take(false)
            } else {
                user
            }
        }
        FrameMode::Runtime => take(false),
    }
}

// ---------------------------------------------------------------------------
// Traceback blocks

#[derive(Clone, Debug, Default)]
struct Block {
    /// The line index of the block header.
    line: usize,
    /// `runtime stack:` (the system stack of the thread that threw).
    runtime_stack: bool,
    goid: Option<u64>,
    state: String,
    frames: Vec<String>,
    created_by: Option<String>,
    unavailable: bool,
    elided: bool,
}

fn parse_blocks(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut cur: Option<Block> = None;
    for (i, raw) in lines.iter().enumerate() {
        let l = raw.trim_end();
        if l == "runtime stack:" {
            blocks.extend(cur.take());
            cur = Some(Block {
                line: i,
                runtime_stack: true,
                ..Block::default()
            });
            continue;
        }
        if l.starts_with("goroutine ") {
            if let Some(c) = re_goroutine().captures(l) {
                blocks.extend(cur.take());
                cur = Some(Block {
                    line: i,
                    goid: c[1].parse().ok(),
                    state: c[2].to_string(),
                    ..Block::default()
                });
                continue;
            }
        }
        let Some(b) = cur.as_mut() else { continue };
        if l.is_empty() {
            blocks.extend(cur.take());
            continue;
        }
        if l.starts_with(|c: char| c.is_whitespace()) {
            if l.contains("stack unavailable") {
                b.unavailable = true;
            }
            continue;
        }
        if l.starts_with("...") && l.contains("elided") {
            b.elided = true;
            continue;
        }
        if let Some(rest) = l.strip_prefix("created by ") {
            let rest = rest.split(" in goroutine ").next().unwrap_or(rest);
            b.created_by = Some(normalize_frame(rest));
            continue;
        }
        if let Some(name) = frame_name(l) {
            if !b.elided && b.frames.len() < 200 {
                b.frames.push(normalize_frame(name));
            }
        }
    }
    blocks.extend(cur);
    blocks
}

/// The first goroutine block after line `from` that has frames, else the
/// first goroutine block after it.
fn crashing_goroutine(blocks: &[Block], from: usize) -> Option<&Block> {
    let after = || blocks.iter().filter(|b| b.goid.is_some() && b.line > from);
    after()
        .find(|b| !b.frames.is_empty())
        .or_else(|| after().next())
}

// ---------------------------------------------------------------------------
// Go crash reports

#[derive(Debug)]
struct Report {
    class: Class,
    header: String,
    frames: Vec<String>,
}

impl Report {
    fn signature(&self) -> String {
        compose(&self.header, &self.frames)
    }
}

/// `header in f1 < f2 < f3`, dropping frames rather than cutting one.
fn compose(header: &str, frames: &[String]) -> String {
    let mut sig = clip(header, MAX_SIGNATURE_LEN);
    for (i, f) in frames.iter().enumerate() {
        let sep = if i == 0 { " in " } else { " < " };
        if sig.len() + sep.len() + f.len() > MAX_SIGNATURE_LEN {
            break;
        }
        sig.push_str(sep);
        sig.push_str(f);
    }
    sig
}

/// Fatal errors caused by the program (not by a runtime bug): their frames
/// are taken from the program's code.
fn is_user_fatal(msg: &str) -> bool {
    const USER: &[&str] = &[
        "all goroutines are asleep",
        "no goroutines (main called runtime.Goexit)",
        "concurrent map",
        "sync: ",
        "sync.",
        "stack overflow",
        "go of nil func value",
        "synctest",
        "unlock of unlocked",
        "RUnlock of unlocked",
        "Unlock of unlocked",
        "out of memory",
        "index out of range",
        "invalid memory address",
        "racy sudog",
        "checkptr",
        "bubble",
        "newosproc",
    ];
    USER.iter().any(|u| msg.contains(u))
}

fn is_oom_message(msg: &str) -> bool {
    msg.contains("out of memory") || msg.contains("cannot allocate memory")
}

/// The message of a `fatal error: ...` line; two threads throwing at once
/// interleave (`fatal error: fatal error: concurrent map writes`).
fn fatal_message(lines: &[&str], idx: usize) -> String {
    let mut msg = lines[idx].trim();
    while let Some(rest) = msg.strip_prefix("fatal error:") {
        msg = rest.trim_start();
    }
    let msg = msg.split("fatal error:").next().unwrap_or(msg).trim();
    if !msg.is_empty() {
        // Interleaved twice: "concurrent map writesconcurrent map writes".
        let half = msg.len() / 2;
        if msg.len().is_multiple_of(2) && msg.is_char_boundary(half) && msg[..half] == msg[half..] {
            return msg[..half].to_string();
        }
        return msg.to_string();
    }
    lines[idx + 1..]
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .filter(|l| !l.starts_with("goroutine ") && !l.starts_with('['))
        .unwrap_or("")
        .to_string()
}

/// The signal named by a `[signal SIGSEGV: ...]` line shortly after `idx`.
fn bracket_signal(lines: &[&str], idx: usize) -> Option<String> {
    lines[idx..].iter().take(6).find_map(|l| {
        re_signal_bracket()
            .captures(l.trim())
            .map(|c| c[1].to_string())
    })
}

/// `panic: A [recovered]` / `\tpanic: B` chains, with release-specific
/// decorations removed and repeats of one value folded.
fn panic_header(lines: &[&str], idx: usize) -> String {
    let mut values: Vec<String> = Vec::new();
    for (k, l) in lines[idx..].iter().enumerate().take(32) {
        let t = l.trim();
        // The first line, then tab-indented `panic:` lines of the chain.
        let v = if k == 0 || l.starts_with(|c: char| c.is_whitespace()) {
            t.strip_prefix("panic:")
        } else if t.starts_with("[signal ") || t.is_empty() {
            continue;
        } else {
            None
        };
        let Some(v) = v else {
            if k > 0 && (t.starts_with("goroutine ") || t.starts_with("fatal error")) {
                break;
            }
            continue;
        };
        let mut v = v.trim();
        if let Some(i) = v.rfind(" [recovered") {
            v = v[..i].trim_end();
        }
        // go1.14 prints a non-basic panic value as `(T) (0x.., 0x..)`, later
        // releases as `(T) 0x..`.
        let v = normalize_message(v)
            .replace("(0xN,0xN)", "0xN")
            .replace("(0xN, 0xN)", "0xN");
        if values.last() != Some(&v) {
            values.push(v);
        }
    }
    if values.is_empty() {
        values.push(String::new());
    }
    clip(&format!("panic: {}", values.join(" -> ")), MAX_HEADER_LEN)
}

/// Frames of a report: the `runtime stack:` block (runtime mode) and then
/// the crashing goroutine.
fn report_frames(blocks: &[Block], from: usize, mode: FrameMode) -> Vec<String> {
    let g = crashing_goroutine(blocks, from);
    let mut all: Vec<&String> = Vec::new();
    if mode == FrameMode::Runtime {
        if let Some(rs) = blocks.iter().find(|b| b.runtime_stack && b.line > from) {
            all.extend(rs.frames.iter());
        }
    }
    if let Some(g) = g {
        all.extend(g.frames.iter());
    }
    let frames = pick_frames(all, mode, MAX_FRAMES);
    if frames.is_empty() {
        if let Some(c) = g.and_then(|g| g.created_by.as_ref()) {
            return vec![format!("goroutine created by {c}")];
        }
    }
    frames
}

/// Find and interpret a Go crash report on stderr.
fn parse_report(lines: &[&str]) -> Option<Report> {
    let fatal_idx = lines.iter().position(|l| l.starts_with("fatal error:"));
    let panic_idx = lines.iter().position(|l| l.starts_with("panic:"));
    let sig_idx = (0..lines.len().saturating_sub(1)).find(|&i| {
        re_sig_line().is_match(lines[i].trim_end()) && re_pc_line().is_match(lines[i + 1])
    });
    let oom_line = lines
        .iter()
        .position(|l| l.starts_with("runtime: out of memory"));

    if let Some(i) = fatal_idx {
        let msg = fatal_message(lines, i);
        let blocks = parse_blocks(lines);
        let norm = normalize_message(&msg);
        if is_oom_message(&msg) {
            // "out of memory" and "runtime: out of memory" are two paths to
            // the same end.
            let frames = report_frames(&blocks, i, FrameMode::User);
            return Some(Report {
                class: Class::Oom,
                header: "fatal error: out of memory".into(),
                frames,
            });
        }
        if msg.starts_with("unexpected signal") || msg == "fault" {
            let sig = bracket_signal(lines, i).unwrap_or_else(|| "signal".to_string());
            let frames = report_frames(&blocks, i, FrameMode::Runtime);
            return Some(Report {
                class: Class::Signal,
                header: format!("fatal error: {norm} [{sig}]"),
                frames,
            });
        }
        let mode = if is_user_fatal(&msg) {
            FrameMode::User
        } else {
            FrameMode::Runtime
        };
        let frames = report_frames(&blocks, i, mode);
        return Some(Report {
            class: Class::Fatal,
            header: format!("fatal error: {norm}"),
            frames,
        });
    }
    if let Some(i) = oom_line {
        let blocks = parse_blocks(lines);
        let frames = report_frames(&blocks, i, FrameMode::User);
        return Some(Report {
            class: Class::Oom,
            header: "fatal error: out of memory".into(),
            frames,
        });
    }
    if let Some(i) = panic_idx {
        let blocks = parse_blocks(lines);
        let frames = report_frames(&blocks, i, FrameMode::User);
        return Some(Report {
            class: Class::Panic,
            header: panic_header(lines, i),
            frames,
        });
    }
    if let Some(i) = sig_idx {
        let c = re_sig_line().captures(lines[i].trim_end())?;
        let header = format!("{}: {}", &c[1], normalize_message(&c[2]));
        // sigcode 0 (SI_USER) or negative (SI_TKILL = -6, printed as a
        // negative or as a huge unsigned number): sent by a process; the
        // thread that happened to receive it says nothing.
        let sent = re_pc_line()
            .captures(lines[i + 1])
            .map(|p| p[1].starts_with('-') || p[1].parse::<i64>().map_or(true, |c| c <= 0))
            .unwrap_or(true);
        let frames = if sent {
            Vec::new()
        } else {
            report_frames(&parse_blocks(lines), i, FrameMode::Runtime)
        };
        return Some(Report {
            class: Class::Signal,
            header,
            frames,
        });
    }
    None
}

/// qemu reports of a guest that died: `qemu: uncaught target signal N
/// (...)` and `qemu: unhandled CPU exception`.
fn qemu_guest_crash(lines: &[&str]) -> Option<String> {
    for l in lines.iter().rev() {
        let l = l.trim();
        if let Some(c) = re_qemu_uncaught().captures(l) {
            let n: i32 = c[1].parse().unwrap_or(-1);
            return Some(format!("killed by {}", signal_name(n)));
        }
        if l.starts_with("qemu: unhandled CPU exception") {
            return Some("qemu: unhandled CPU exception".to_string());
        }
    }
    None
}

/// An executor (qemu, exec) failure, as an infra reason.
fn executor_failure(lines: &[&str]) -> Option<String> {
    for l in lines {
        let l = l.trim();
        if let Some(c) = re_qemu_tool().captures(l) {
            let what = re_quoted_path().replace_all(&c[1], "PATH");
            let what: String = what
                .split(": ")
                .map(|p| if p.contains('/') { "PATH" } else { p })
                .collect::<Vec<_>>()
                .join(": ");
            return Some(clip(
                &format!("qemu: {}", normalize_message(&what)),
                MAX_SIGNATURE_LEN,
            ));
        }
        if let Some(rest) = l.strip_prefix("qemu: fatal:") {
            return Some(clip(
                &format!("qemu: fatal: {}", normalize_message(rest)),
                MAX_SIGNATURE_LEN,
            ));
        }
        let low = l.to_ascii_lowercase();
        for pat in [
            "exec format error",
            "fork/exec",
            "cannot execute binary file",
        ] {
            if low.contains(pat) {
                return Some(format!("executor: {pat}"));
            }
        }
    }
    None
}

/// The bug key of every failed self-check (see [`bug_key`]).
pub const SELF_CHECK_BUG: &str = "wrong value: divergo self-check failed";

/// The bug a signature names, for grouping the forms one bug takes.
///
/// A crash whose first frame is inside the runtime is the runtime failing at
/// that place, and the message is only how it failed there: the split-SP
/// window makes the unwinder either throw (`fatal error: traceback did not
/// unwind completely`) or fault (`SIGSEGV: segmentation violation`) in
/// `runtime.(*unwinder).next` during a stack scan. Such signatures group as
/// `runtime fault in F1 < F2` (the first two frames). A hang is keyed by the
/// first two frames of each goroutine its signature names. Everything else
/// (user panics, user fatal errors, out of memory, build errors) is its own
/// bug: the key is the signature, except a failed self-check of the
/// `expr` family, whose key is [`SELF_CHECK_BUG`].
pub fn bug_key(signature: &str) -> String {
    // A failed self-check names the expression and the two values it saw,
    // which differ from program to program: the bug is that a value was
    // computed wrong, on the finding's cells (its id adds them). Six
    // programs showing one miscompile are one finding, not six.
    if signature.contains(crate::gen::expr::SELF_CHECK) {
        return SELF_CHECK_BUG.to_string();
    }
    if let Some(body) = signature.strip_prefix("hang: ") {
        if body.starts_with("blocked in ") || body.starts_with("no ") {
            return signature.to_string();
        }
        // A stuck goroutine is keyed by its first two frames: the same
        // spin entered from two callers (addtimer, modtimer) is one bug.
        let tokens: BTreeSet<String> = body
            .split("; ")
            .map(|t| t.split(" < ").take(2).collect::<Vec<_>>().join(" < "))
            .collect();
        return format!(
            "hang: {}",
            tokens.into_iter().collect::<Vec<_>>().join("; ")
        );
    }
    if signature.contains("out of memory") {
        return signature.to_string();
    }
    let Some((_, frames)) = signature.rsplit_once(" in ") else {
        return signature.to_string();
    };
    let frames: Vec<&str> = frames.split(" < ").collect();
    if !frames.first().is_some_and(|f| is_runtime_frame(f)) {
        return signature.to_string();
    }
    format!(
        "runtime fault in {}",
        frames[..frames.len().min(2)].join(" < ")
    )
}

// ---------------------------------------------------------------------------
// Hangs

/// Scheduler and idle frames of threads that are not running Go code.
fn is_idle_thread_frame(f: &str) -> bool {
    const IDLE: &[&str] = &[
        "runtime.notesleep",
        "runtime.notetsleep",
        "runtime.notetsleepg",
        "runtime.notetsleep_internal",
        "runtime.futexsleep",
        "runtime.futexwakeup",
        "runtime.notewakeup",
        "runtime.sysmon",
        "runtime.mPark",
        "runtime.stopm",
        "runtime.startm",
        "runtime.wakep",
        "runtime.stoplockedm",
        "runtime.templateThread",
        "runtime.schedule",
        "runtime.findrunnable",
        "runtime.findRunnable",
        "runtime.netpoll",
        "runtime.goschedImpl",
        "runtime.gopreempt_m",
        "runtime.gosched_m",
        "runtime.park_m",
        "runtime.handoffp",
        "runtime.mexit",
        "runtime.sigNoteSleep",
        "runtime.gcStopTheWorldWithSema",
    ];
    IDLE.contains(&f)
}

/// The signature of a timed-out run: `hang: ` and, for every goroutine (and
/// thread) that was running or runnable when SIGQUIT arrived, its top frames,
/// sorted and deduplicated. A goroutine shown as "running on other thread;
/// stack unavailable" (GOTRACEBACK=system) is named by its creator; a
/// GOTRACEBACK=crash dump shows its stack from the thread running it, and
/// that is preferred. Only the most telling of those are kept (see
/// [`HangRole`]): a goroutine or thread stuck in the runtime names the hang
/// by itself; goroutines that merely run user code count only when nothing
/// in the runtime explains the hang, and GC helpers only when nothing else
/// runs. With nothing running, the blocked goroutines' frames
/// (`hang: blocked in ...`); with no dump at all `hang: no goroutine dump`.
pub fn hang_signature(lines: &[&str]) -> String {
    let blocks = parse_blocks(lines);
    if !blocks.iter().any(|b| b.goid.is_some()) {
        return "hang: no goroutine dump".to_string();
    }
    // Merge repeated dumps of one goroutine, preferring one with frames.
    let mut by_id: BTreeMap<u64, &Block> = BTreeMap::new();
    let mut tokens: BTreeMap<String, HangRole> = BTreeMap::new();
    let mut add = |t: String, role: HangRole| {
        let e = tokens.entry(t).or_insert(role);
        *e = (*e).min(role);
    };
    for b in &blocks {
        let Some(id) = b.goid else { continue };
        if id == 0 {
            // A thread's g0: only interesting when it is not idling in the
            // scheduler.
            if !b.frames.is_empty() && !b.frames.iter().any(|f| is_idle_thread_frame(f)) {
                let fr = pick_frames(&b.frames, FrameMode::Runtime, MAX_FRAMES);
                if !fr.is_empty() {
                    add(fr.join(" < "), hang_role(&b.frames, &fr));
                }
            }
            continue;
        }
        match by_id.get(&id) {
            Some(prev) if !prev.frames.is_empty() || b.frames.is_empty() => {}
            _ => {
                by_id.insert(id, b);
            }
        }
    }
    for (id, b) in &by_id {
        let state = b.state.split(',').next().unwrap_or("").trim();
        if state != "running" && state != "runnable" {
            continue;
        }
        if matches!(
            b.frames.first().map(String::as_str),
            Some("runtime.gopark" | "runtime.goparkunlock")
        ) {
            // Woken from a wait, not spinning.
            continue;
        }
        let fr = pick_frames(&b.frames, FrameMode::Runtime, MAX_FRAMES);
        if !fr.is_empty() {
            add(fr.join(" < "), hang_role(&b.frames, &fr));
        } else if *id == 1 {
            add("main.main".to_string(), HangRole::User);
        } else if let Some(c) = &b.created_by {
            add(format!("goroutine created by {c}"), HangRole::User);
        }
    }
    // The most telling role present names the hang: a goroutine or thread
    // stuck in the runtime, else the user code that spins, else GC helpers.
    if let Some(best) = tokens.values().min().copied() {
        let picked: BTreeSet<String> = tokens
            .into_iter()
            .filter(|(_, r)| *r == best)
            .map(|(t, _)| t)
            .collect();
        return join_tokens("hang: ", &picked);
    }
    let blocked: BTreeSet<String> = by_id
        .values()
        .filter(|b| b.frames.iter().any(|f| !is_std_frame(f)))
        .map(|b| pick_frames(&b.frames, FrameMode::User, 2).join(" < "))
        .filter(|t| !t.is_empty())
        .collect();
    if blocked.is_empty() {
        return "hang: no running goroutine".to_string();
    }
    join_tokens("hang: blocked in ", &blocked)
}

/// What a running goroutine (or busy thread) of a hang dump says about it,
/// most telling first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum HangRole {
    /// Stuck inside the runtime on its own account: every kept frame is
    /// the runtime's.
    Runtime,
    /// Waiting in the runtime for others: a stop-the-world or GC start that
    /// waits for every goroutine to stop, a semaphore hand-off. Part of a
    /// deadlock, but entered from wherever the program happened to be.
    Waiting,
    /// Running (or yielding from) the program's own code.
    User,
    /// Helping the garbage collector: busy because the GC is, not the cause.
    GcHelper,
}

/// Runtime-internal frames: the runtime and its internal packages.
fn is_runtime_frame(f: &str) -> bool {
    f.starts_with("runtime.")
        || f.starts_with("runtime/internal/")
        || f.starts_with("internal/runtime/")
}

fn hang_role(all_frames: &[String], picked: &[String]) -> HangRole {
    const GC_HELPER: &[&str] = &[
        "runtime.gcBgMarkWorker",
        "runtime.gcDrain",
        "runtime.gcDrainN",
        "runtime.gcDrainMarkWorkerDedicated",
        "runtime.gcDrainMarkWorkerIdle",
        "runtime.gcDrainMarkWorkerFractional",
        "runtime.gcAssistAlloc",
        "runtime.gcAssistAlloc1",
        "runtime.bgsweep",
        "runtime.bgscavenge",
        "runtime.markroot",
    ];
    // Entry points user code calls to yield or to ask for work; the
    // goroutine is the program's, spinning around the call.
    const VOLUNTARY: &[&str] = &[
        "runtime.Gosched",
        "runtime.goschedguarded",
        "runtime.goschedIfBusy",
        "runtime.osyield_no_g",
    ];
    const WAITING: &[&str] = &[
        "runtime.gcStart",
        "runtime.stopTheWorld",
        "runtime.stopTheWorldGC",
        "runtime.stopTheWorldWithSema",
        "runtime.semrelease1",
        "runtime.semacquire1",
        "runtime.forEachP",
    ];
    if all_frames.iter().any(|f| GC_HELPER.contains(&f.as_str())) {
        return HangRole::GcHelper;
    }
    if picked
        .first()
        .is_some_and(|f| WAITING.contains(&f.as_str()))
    {
        return HangRole::Waiting;
    }
    // Stuck in the runtime: every frame kept is the runtime's own. A thin
    // runtime layer over user code (an allocation, a non-blocking select, a
    // ReadMemStats call) is user code that happened to be in a call.
    match picked.first() {
        Some(f)
            if !VOLUNTARY.contains(&f.as_str()) && picked.iter().all(|f| is_runtime_frame(f)) =>
        {
            HangRole::Runtime
        }
        _ => HangRole::User,
    }
}

fn join_tokens(prefix: &str, tokens: &BTreeSet<String>) -> String {
    let mut sig = prefix.to_string();
    for (i, t) in tokens.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        if sig.len() + sep.len() + t.len() > MAX_SIGNATURE_LEN {
            if i == 0 {
                sig.push_str(t);
                return clip(&sig, MAX_SIGNATURE_LEN);
            }
            break;
        }
        sig.push_str(sep);
        sig.push_str(t);
    }
    sig
}

// ---------------------------------------------------------------------------
// Builds

/// Frames of the compiler's own error reporting.
fn is_ice_generic_frame(f: &str) -> bool {
    let last = f.rsplit('.').next().unwrap_or(f);
    f == "runtime/debug.Stack"
        || f == "runtime/debug.PrintStack"
        || last.starts_with("Fatal")
        || last == "hcrash"
        || last == "ErrorExit"
        || last == "FlushErrors"
        || last == "Main"
        || f.ends_with("Main.func")
        || f.starts_with("main.")
}

fn ice_signature(lines: &[&str]) -> Option<String> {
    let ice_idx = lines
        .iter()
        .position(|l| l.contains("internal compiler error"));
    let report_idx = ice_idx.or_else(|| {
        lines.iter().position(|l| {
            l.starts_with("panic:")
                || l.starts_with("fatal error:")
                || l.contains("unexpected signal")
                || (l.starts_with("goroutine ") && l.contains("[running"))
                || (re_sig_line().is_match(l.trim_end()) && l.starts_with("SIG"))
        })
    })?;
    let blocks = parse_blocks(lines);
    let frames: Vec<String> = crashing_goroutine(&blocks, report_idx.saturating_sub(1))
        .map(|g| {
            // Frames above the last `panic` are the compiler's recovery
            // handler, not where it broke.
            let start = g
                .frames
                .iter()
                .rposition(|f| f == "panic" || f == "runtime.gopanic")
                .map_or(0, |i| i + 1);
            let tool: Vec<&String> = g.frames[start..]
                .iter()
                .filter(|f| !is_ice_generic_frame(f) && !f.starts_with("runtime."))
                .collect();
            pick_frames(tool, FrameMode::Runtime, 2)
        })
        .unwrap_or_default();
    let header = if let Some(i) = ice_idx {
        let l = lines[i];
        let msg = l
            .split_once("internal compiler error")
            .map(|x| x.1)
            .unwrap_or("");
        let msg = msg.trim_start_matches(':').trim();
        let msg = re_ssa_ids().replace_all(msg, "${1}N");
        let msg = normalize_message(&msg);
        if msg.is_empty() {
            "internal compiler error".to_string()
        } else {
            format!("internal compiler error: {msg}")
        }
    } else {
        let l = lines[report_idx].trim();
        let head = if l.starts_with("panic:") {
            panic_header(lines, report_idx)
        } else if l.starts_with("goroutine ") {
            "compiler crash".to_string()
        } else {
            normalize_message(l)
        };
        format!("compiler crash: {head}")
    };
    Some(compose(&header, &frames))
}

fn build_infra(lines: &[&str]) -> Option<String> {
    const PATTERNS: &[(&str, &str)] = &[
        ("fork/exec", "go: fork/exec failed"),
        ("cannot find GOROOT", "go: cannot find GOROOT"),
        ("cannot find main module", "go: cannot find main module"),
        ("go.mod file not found", "go: go.mod file not found"),
        ("requires go >=", "go: go.mod requires a newer go"),
        (
            "go: updates to go.mod needed",
            "go: updates to go.mod needed",
        ),
        ("go: downloading go", "go: toolchain download"),
        ("toolchain not available", "go: toolchain not available"),
        ("no space left on device", "no space left on device"),
        ("signal: killed", "toolchain process killed"),
        ("exec format error", "exec format error"),
        ("text file busy", "text file busy"),
        ("go: error obtaining buildID", "go: error obtaining buildID"),
        (
            "could not create module cache",
            "go: could not create module cache",
        ),
        ("GOCACHE is not defined", "go: GOCACHE is not defined"),
        ("go: parsing $GOFLAGS", "go: bad GOFLAGS"),
        ("go: unknown GOFLAGS", "go: bad GOFLAGS"),
        ("unsupported GOOS/GOARCH", "go: unsupported GOOS/GOARCH"),
        (
            "cmd/go: unsupported GOOS/GOARCH",
            "go: unsupported GOOS/GOARCH",
        ),
    ];
    for l in lines {
        for (pat, reason) in PATTERNS {
            if l.contains(pat) {
                return Some((*reason).to_string());
            }
        }
    }
    None
}

/// The first compiler/type-checker error, normalised.
fn first_build_error(lines: &[&str]) -> Option<String> {
    let mut fallback = None;
    for l in lines {
        let t = l.trim_end();
        if t.is_empty() || t.starts_with('#') || t.starts_with(|c: char| c.is_whitespace()) {
            continue;
        }
        if t.starts_with("note:") || t.contains("too many errors") {
            continue;
        }
        if let Some(m) = re_go_pos().find(t).or_else(|| re_autogen_pos().find(t)) {
            return Some(normalize_build_message(&t[m.end()..]));
        }
        if fallback.is_none() {
            fallback = Some(normalize_build_message(t));
        }
    }
    fallback
}

regex!(re_undeclared, r"^undeclared name: (.*)$");
regex!(re_declared_not_used, r"^(\S+) declared but not used$");
regex!(
    re_declared_and_not_used_old,
    r"^(\S+) declared and not used$"
);
regex!(
    re_imported_not_used_old,
    r#"^imported and not used: ("[^"]*")(?: as (\S+))?$"#
);
regex!(
    re_imported_but_not_used,
    r#"^("[^"]*")(?: imported as (\S+))? imported but not used$"#
);
regex!(
    re_imported_as_not_used,
    r#"^("[^"]*") imported as (\S+) and not used$"#
);
regex!(
    re_cannot_use,
    r"^cannot use (.*) \([^()]*\) as (?:type )?(.*?)(?: value)?(?: in .*)?$"
);
regex!(re_not_in_goroot, r"^package (\S+) is not in (?:GOROOT|std)");
regex!(re_cannot_find_pkg, r#"^cannot find package "([^"]*)""#);

/// Unify the wording of one compile error across the old type checker and
/// types2, and across releases; then normalise numbers.
pub fn normalize_build_message(msg: &str) -> String {
    let msg = msg.trim();
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    let msg: String = if let Some(c) = re_undeclared().captures(msg) {
        format!("undefined: {}", &c[1])
    } else if let Some(c) = re_declared_not_used().captures(msg) {
        format!("declared and not used: {}", &c[1])
    } else if let Some(c) = re_declared_and_not_used_old().captures(msg) {
        format!("declared and not used: {}", &c[1])
    } else if let Some(c) = re_imported_not_used_old().captures(msg) {
        match c.get(2) {
            Some(a) => format!("{} imported as {} and not used", &c[1], a.as_str()),
            None => format!("{} imported and not used", &c[1]),
        }
    } else if let Some(c) = re_imported_but_not_used().captures(msg) {
        match c.get(2) {
            Some(a) => format!("{} imported as {} and not used", &c[1], a.as_str()),
            None => format!("{} imported and not used", &c[1]),
        }
    } else if re_imported_as_not_used().is_match(msg) {
        msg.to_string()
    } else if let Some(c) = re_cannot_use().captures(msg) {
        format!("cannot use {} as {}", &c[1], &c[2])
    } else if let Some(c) = re_not_in_goroot().captures(msg) {
        format!("package {} is not in std", &c[1])
    } else if let Some(c) = re_cannot_find_pkg().captures(msg) {
        format!("package {} is not in std", &c[1])
    } else if msg.starts_with("missing return") {
        "missing return".to_string()
    } else {
        let m = re_paren_path().replace_all(msg, "");
        m.replace("expecting ", "expected ")
    };
    let msg = re_paren_path().replace_all(&msg, "");
    clip(&normalize_message(&msg), MAX_SIGNATURE_LEN)
}
