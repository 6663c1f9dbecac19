//! The compiler oracles can fail: the `expr` family's self-check flags a
//! program whose two evaluations of an expression disagree, on every
//! toolchain at once (as a miscompile of one toolchain would show on it
//! alone); a compiler that crashes gives an `ice` finding with the
//! compiler's frames as its signature; one that never finishes gives a
//! compiler-hang finding. The generated programs build and run on real
//! toolchains; the crashing and hanging compilers are fakes (a `go` that
//! prints a compiler crash report, one that sleeps), beside a real one.
//!
//! Every outcome here is certain: the altered program panics on every run
//! and the fakes fail every build, so no test depends on chance.

use crate::common;
use common::*;
use serde_json::Value;
use std::path::Path;

/// A corpus of one entry: the expr program for `seed`, with `edit` applied
/// to its main.go.
fn expr_entry(dir: &Path, seed: u64, edit: impl Fn(&str) -> String) {
    let e = dir.join("expr");
    let o = divergo()
        .args([
            "gen",
            "--template",
            "expr",
            "--seed",
            &seed.to_string(),
            "-o",
        ])
        .arg(&e)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let src = std::fs::read_to_string(e.join("main.go")).unwrap();
    std::fs::write(e.join("main.go"), edit(&src)).unwrap();
    std::fs::remove_file(e.join("spec.json")).unwrap();
    std::fs::write(
        e.join("expect.toml"),
        "description = \"expr program\"\ntrials = 3\ntimeout_s = 30\n\n[[expect]]\noutcome = [\"ok\"]\n",
    )
    .unwrap();
}

/// The first seed whose expr program evaluates an expression `f0`.
fn seed_with_item() -> u64 {
    (0..100u64)
        .find(|&s| {
            divergo::gen::generate(s, &[divergo::gen::Family::Expr])
                .main_go
                .contains("\t\tf0 := ")
        })
        .expect("an expr program with an expression in 100 seeds")
}

/// `divergo run --corpus DIR --json` on amd64 with `toolchains`; returns the
/// exit code and the JSON summary.
fn run_corpus(
    home: Option<&Path>,
    corpus: &Path,
    toolchains: &str,
    extra: &[&str],
) -> (Option<i32>, Value) {
    let out = tempfile::tempdir().unwrap();
    let mut c = divergo();
    if let Some(h) = home {
        c.env("DIVERGO_HOME", h);
    }
    let o = c
        .args([
            "run",
            "--quiet",
            "--json",
            "--no-triage",
            "--trials",
            "3",
            "--no-known",
        ])
        .arg("--corpus")
        .arg(corpus)
        .args(["--arch", "amd64", "--toolchains", toolchains])
        .args(extra)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{err}"));
    (o.status.code(), v)
}

/// The fast path of one expression altered (`^ 1`, as a miscompile would
/// alter it): every run on every toolchain panics with the self-check, and
/// the finding is wrong output on every cell. The same program unaltered
/// has no finding.
#[test]
fn self_check_flags_an_expression_whose_two_evaluations_differ() {
    let newest = toolchain("go1.25").name;
    toolchain("go1.23.12");
    let seed = seed_with_item();
    let tcs = format!("go1.23.12,{newest}");

    let clean = tempfile::tempdir().unwrap();
    expr_entry(clean.path(), seed, |s| s.to_string());
    let (code, v) = run_corpus(None, clean.path(), &tcs, &[]);
    assert_eq!(code, Some(0), "{v}");
    assert!(v["findings"].as_array().unwrap().is_empty(), "{v}");

    let bad = tempfile::tempdir().unwrap();
    expr_entry(bad.path(), seed, |s| {
        let mut done = false;
        s.lines()
            .map(|l| match l.strip_prefix("\t\tf0 := ") {
                Some(e) if !done => {
                    done = true;
                    format!("\t\tf0 := ({e}) ^ 1")
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    let (code, v) = run_corpus(None, bad.path(), &tcs, &[]);
    assert_eq!(code, Some(1), "{v}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "wrong_output", "{}", f[0]);
    assert_eq!(f[0]["scope"], "all", "{}", f[0]);
    let sig = f[0]["signature"].as_str().unwrap();
    assert!(sig.contains("divergo self-check: ex0 e0 fast"), "{sig}");
}

/// One planted miscompile shown by two different programs is one finding:
/// the self-check of each (a different expression, different values, so a
/// different signature) names the same bug on the same cells, and the
/// finding lists both programs. It is reduced before it is reported: its
/// reduced program still fails the self-check (the reducer's final check)
/// and is smaller. Certain: the planted `^ 1` fails every run.
#[test]
fn two_programs_with_one_planted_bug_are_one_reduced_finding() {
    let newest = toolchain("go1.25").name;
    let plant = |s: &str| {
        let mut done = false;
        s.lines()
            .map(|l| match l.strip_prefix("\t\tf0 := ") {
                Some(e) if !done => {
                    done = true;
                    format!("\t\tf0 := ({e}) ^ 1")
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let first = seed_with_item();
    let second = (first + 1..first + 200)
        .find(|&s| {
            divergo::gen::generate(s, &[divergo::gen::Family::Expr])
                .main_go
                .contains("\t\tf0 := ")
        })
        .unwrap();
    let corpus = tempfile::tempdir().unwrap();
    for (name, seed) in [("a", first), ("b", second)] {
        let d = tempfile::tempdir().unwrap();
        expr_entry(d.path(), seed, plant);
        std::fs::rename(d.path().join("expr"), corpus.path().join(name)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let o = divergo()
        .args(["run", "--quiet", "--json", "--no-triage", "--no-known"])
        .args(["--trials", "3", "--reduce-budget", "60s", "--arch", "amd64"])
        .args(["--toolchains", &newest])
        .arg("--corpus")
        .arg(corpus.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{err}"));
    assert_eq!(o.status.code(), Some(1), "{v}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "wrong_output", "{}", f[0]);
    assert_eq!(f[0]["count"], 2, "{}", f[0]);
    let programs: Vec<&str> = f[0]["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(programs.len(), 2, "{}", f[0]);
    assert_ne!(programs[0], programs[1], "{}", f[0]);
    let r = &f[0]["reduced"];
    assert_eq!(r["verified"], true, "{}", f[0]);
    assert!(
        r["lines"].as_u64().unwrap() < r["from_lines"].as_u64().unwrap(),
        "{}",
        f[0]
    );
    let dir = out
        .path()
        .join("findings")
        .join(f[0]["id"].as_str().unwrap())
        .join("reduced");
    let reduced = std::fs::read_to_string(dir.join("main.go")).unwrap();
    assert!(reduced.contains("divergo self-check"), "{reduced}");
}

/// A fake toolchain in a private DIVERGO_HOME beside the real go1.23.12:
/// its `go version` works and `go build` runs `build`.
fn home_with_fake(name: &str, build: &str) -> (tempfile::TempDir, tempfile::TempDir) {
    let real = toolchain("go1.23.12");
    let home = tempfile::tempdir().unwrap();
    let fake = fake_goroot(name, build);
    register(home.path(), "go1.23.12", &real.goroot);
    register(home.path(), name, fake.path());
    (home, fake)
}

/// What go1.22's compiler prints when a rewrite rule panics (the shape of
/// golang/go#66066's report), for the fake compiler to print.
const ICE_REPORT: &str = r#"# divergo.test/prog
./main.go:62:6: internal compiler error: 'ex0Run': panic during lower while compiling ex0Run:

runtime error: index out of range [3] with length 3

goroutine 9 [running]:
cmd/compile/internal/ssa.Compile.func1()
	/usr/local/go/src/cmd/compile/internal/ssa/compile.go:49 +0x6c
panic({0xd4a0e0?, 0xc000e0a030?})
	/usr/local/go/src/runtime/panic.go:785 +0x132
cmd/compile/internal/ssa.rewriteValueAMD64_OpAMD64SHLQconst(0xc000a4c5b0)
	/usr/local/go/src/cmd/compile/internal/ssa/rewriteAMD64.go:23451 +0x1f4
cmd/compile/internal/ssa.rewriteValueAMD64(0xc000a4c5b0?)
	/usr/local/go/src/cmd/compile/internal/ssa/rewriteAMD64.go:1021 +0x2a5
cmd/compile/internal/ssa.applyRewrite(0xc000a2e1a0, 0xe4b3a8, 0xe4b3e0, 0x1)
	/usr/local/go/src/cmd/compile/internal/ssa/rewrite.go:57 +0x3f8
cmd/compile/internal/ssa.lower(0xc000a2e1a0?)
	/usr/local/go/src/cmd/compile/internal/ssa/lower.go:10 +0x2f
cmd/compile/internal/ssa.Compile(0xc000a2e1a0)
	/usr/local/go/src/cmd/compile/internal/ssa/compile.go:97 +0x9ab
cmd/compile/internal/ssagen.buildssa(0xc0001c2dc0, 0x0)
	/usr/local/go/src/cmd/compile/internal/ssagen/ssa.go:568 +0x2b2e
cmd/compile/internal/ssagen.Compile(0xc0001c2dc0, 0x0)
	/usr/local/go/src/cmd/compile/internal/ssagen/pgen.go:216 +0x45
cmd/compile/internal/gc.compileFunctions.func5.1(0x0?)
	/usr/local/go/src/cmd/compile/internal/gc/compile.go:182 +0x34
created by cmd/compile/internal/gc.compileFunctions.func5 in goroutine 8
	/usr/local/go/src/cmd/compile/internal/gc/compile.go:181 +0x245
"#;

/// A compiler that crashes: an `ice` finding on the fake's cell alone, its
/// signature the ICE message and the rewrite rule's frames (not the
/// compiler's error reporting); the real toolchain's cell builds and runs.
#[test]
fn a_crashing_compiler_is_an_ice_finding_with_its_frames() {
    let report = tempfile::tempdir().unwrap();
    let rp = report.path().join("ice.txt");
    std::fs::write(&rp, ICE_REPORT).unwrap();
    let (home, _fake) = home_with_fake("go1.22.97", &format!("cat {} >&2\nexit 1", rp.display()));
    let corpus = tempfile::tempdir().unwrap();
    expr_entry(corpus.path(), seed_with_item(), |s| s.to_string());
    let (code, v) = run_corpus(Some(home.path()), corpus.path(), "go1.22.97,go1.23.12", &[]);
    assert_eq!(code, Some(1), "{v}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "build", "{}", f[0]);
    assert_eq!(f[0]["scope"], "toolchain", "{}", f[0]);
    assert_eq!(divergent(&f[0]), vec!["go1.22.97/amd64".to_string()]);
    let sig = f[0]["signature"].as_str().unwrap();
    assert!(
        sig.starts_with("internal compiler error: 'ex0Run': panic during lower"),
        "{sig}"
    );
    assert!(sig.contains("rewriteValueAMD64_OpAMD64SHLQconst"), "{sig}");
    assert!(!sig.contains("Compile.func1"), "{sig}");
}

/// A compiler that never finishes: killed at `--build-timeout`, an `ice`
/// outcome whose signature says it hung, whatever the budget was. The real
/// toolchain's build cache is filled first (a cold cache compiles the
/// standard library, tens of seconds on a loaded machine), so its build of
/// the program takes a second or two of the 20 s budget.
#[test]
fn a_compiler_that_never_finishes_is_a_compiler_hang_finding() {
    let (home, _fake) = home_with_fake("go1.22.96", "sleep 600\nexit 0");
    let corpus = tempfile::tempdir().unwrap();
    expr_entry(corpus.path(), seed_with_item(), |s| s.to_string());
    let (code, v) = run_corpus(Some(home.path()), corpus.path(), "go1.23.12", &[]);
    assert_eq!(code, Some(0), "{v}");
    let (code, v) = run_corpus(
        Some(home.path()),
        corpus.path(),
        "go1.22.96,go1.23.12",
        &["--build-timeout", "20"],
    );
    assert_eq!(code, Some(1), "{v}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "build", "{}", f[0]);
    assert_eq!(divergent(&f[0]), vec!["go1.22.96/amd64".to_string()]);
    assert_eq!(
        f[0]["signature"],
        divergo::engine::build::COMPILER_HANG,
        "{}",
        f[0]
    );
    // The sleeping compiler did not outlive the run.
    assert!(processes_mentioning("sleep 600").is_empty());
}

/// The language-version axis builds the same program with go.mod saying
/// the toolchain's own version: a program whose closures capture a loop
/// variable prints 3 3 3 at go 1.14 and 0 1 2 at go 1.22 and later, so the
/// `+lang` cell alone has another checksum, a finding of scope `lang`.
/// A language version the toolchain cannot build at is bad input.
#[test]
fn the_language_axis_builds_at_the_toolchains_own_go_line() {
    let newest = toolchain("go1.25").name;
    toolchain("go1.23.12");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lang");
    let (code, v) = run_corpus(
        None,
        &fixtures,
        &format!("go1.23.12,{newest}"),
        &["--lang-axis", "newest"],
    );
    assert_eq!(code, Some(1), "{v}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "wrong_output", "{}", f[0]);
    assert_eq!(f[0]["scope"], "lang", "{}", f[0]);
    let minor = newest.rsplit_once('.').unwrap().0.trim_start_matches("go");
    assert_eq!(
        divergent(&f[0]),
        vec![format!("{newest}+lang{minor}/amd64")]
    );

    let o = divergo()
        .args(["run", "--quiet", "--count", "1", "--arch", "amd64"])
        .args(["--toolchains", "go1.23.12+lang1.24"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("go1.23.12+lang1.24: go1.23.12 cannot build at a language version newer than its own (1.23)"),
        "{err}"
    );
}

/// The unoptimised reference axis builds each program with
/// -gcflags=all=-N -l as a cell of its own (`NAME+noopt`). A program that
/// prints another checksum when built so (it reads its build flags, so the
/// difference is certain) is a wrong-output finding of scope `opt`. With
/// another toolchain beside, the majority checksum blames the `+noopt`
/// cell; with the toolchain alone the two cells tie and the unoptimised
/// build is the reference, so the optimised cell is blamed.
#[test]
fn the_opt_axis_finds_a_difference_from_the_unoptimised_build() {
    let newest = toolchain("go1.25").name;
    toolchain("go1.23.12");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opt");
    let (code, v) = run_corpus(
        None,
        &fixtures,
        &format!("go1.23.12,{newest}"),
        &["--opt-axis", "newest"],
    );
    assert_eq!(code, Some(1), "{v}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "wrong_output", "{}", f[0]);
    assert_eq!(f[0]["scope"], "opt", "{}", f[0]);
    assert_eq!(divergent(&f[0]), vec![format!("{newest}+noopt/amd64")]);

    let (code, v) = run_corpus(None, &fixtures, &format!("{newest},{newest}+noopt"), &[]);
    assert_eq!(code, Some(1), "{v}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["scope"], "opt", "{}", f[0]);
    assert_eq!(divergent(&f[0]), vec![format!("{newest}/amd64")]);

    // Off: no reference cell, no finding.
    let (code, v) = run_corpus(None, &fixtures, &newest, &["--opt-axis", "off"]);
    assert_eq!(code, Some(0), "{v}");
}
