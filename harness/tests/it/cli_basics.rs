//! The command line: help, bad input (one line, exit 2), toolchain listing.

use crate::common;
use common::*;

#[test]
fn help_explains_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["corpus", "--help"],
        vec!["gen", "--help"],
        vec!["replay", "--help"],
        vec!["toolchains", "install", "--help"],
        vec!["toolchains", "list", "--help"],
        vec!["toolchains", "build", "--help"],
        vec!["qualify", "--help"],
        vec!["report", "--help"],
        vec!["bisect", "--help"],
        vec!["reduce", "--help"],
        vec!["scan", "--help"],
    ] {
        let o = divergo().args(&args).output().unwrap();
        let (out, _) = text(&o);
        assert!(o.status.success(), "{args:?}");
        assert!(out.contains("Usage:"), "{args:?}: {out}");
        assert!(out.len() > 300, "{args:?} help is too thin: {out}");
    }
}

fn assert_usage_error(args: &[&str], needle: &str) {
    let o = divergo().args(args).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(err.contains(needle), "{args:?}: {err}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    assert_usage_error(&["run", "--arch", "sparc64"], "unknown arch");
    assert_usage_error(&["run", "--trials", "x"], "--trials");
    assert_usage_error(&["run", "--bogus"], "--bogus");
    assert_usage_error(
        &["run", "--toolchains", "go1.99.1", "--count", "1"],
        "unknown toolchain go1.99.1",
    );
    assert_usage_error(
        &["run", "--toolchains", "gopher", "--count", "1"],
        "invalid toolchain name",
    );
    assert_usage_error(&["run", "--templates", "nosuch", "--count", "1"], "nosuch");
    assert_usage_error(&["toolchains", "install", "1.23"], "invalid toolchain name");
    assert_usage_error(
        &["corpus", "--dir", "/nonexistent/corpus"],
        "/nonexistent/corpus",
    );
    assert_usage_error(&["replay", "/nonexistent/finding"], "finding.json");
    assert_usage_error(
        &["run", "--known", "/nonexistent/known.toml", "--count", "1"],
        "cannot read known-issues file /nonexistent/known.toml",
    );
}

/// Durations are read as Go writes them, under every flag that takes one;
/// a bad one is a one-line usage error that says why.
#[test]
fn durations_are_go_durations() {
    assert_usage_error(&["run", "--duration", "5x"], "unknown unit \"x\"");
    assert_usage_error(&["run", "--duration", "1h30"], "missing unit");
    assert_usage_error(&["run", "--duration=-5m"], "negative");
    assert_usage_error(&["run", "--duration", "0s"], "must be positive");
    assert_usage_error(&["reduce", "--budget", "ten", "x"], "expected a duration");
    assert_usage_error(&["run", "--reduce-budget", "2q"], "unknown unit");
    // Accepted: each of these gets as far as the next check (a missing
    // finding dir, or --count 0 after the duration was read).
    for d in ["90s", "1h30m", "1.5h", "2m45.5s", "90"] {
        assert_usage_error(&["reduce", "--budget", d, "/nonexistent/f"], "finding.json");
        assert_usage_error(&["run", "--duration", d, "--count", "0"], "--count 0");
    }
    for d in ["90s", "2m45.5s", "90", "500ms"] {
        assert_usage_error(&["run", "--timeout", d, "--count", "0"], "--count 0");
        assert_usage_error(&["run", "--build-timeout", d, "--count", "0"], "--count 0");
    }
    assert_usage_error(&["run", "--timeout", "10q"], "unknown unit");
    assert_usage_error(
        &[
            "qualify",
            "--timeout",
            "2h",
            "--baseline",
            "a",
            "--candidate",
            "b",
        ],
        "--timeout 7200",
    );
}

/// One name per idea, old names kept: `merge` (was `report`), `--families`
/// (was `--templates` and `gen --template`), lists everywhere; and one
/// exit-status table in `--help`.
#[test]
fn one_name_per_idea_and_one_exit_table() {
    let gen = |args: &[&str]| {
        let o = divergo()
            .args(["gen", "--seed", "4"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", text(&o).1);
        text(&o).0
    };
    let a = gen(&["--families", "expr,closures"]);
    assert_eq!(a, gen(&["--template", "expr", "--template", "closures"]));
    assert_eq!(a, gen(&["--templates", "expr,closures"]));
    assert_ne!(a, gen(&["--families", "expr"]));
    for name in ["merge", "report"] {
        let o = divergo().args([name, "--help"]).output().unwrap();
        assert!(o.status.success());
        assert!(text(&o).0.contains("Merge results directories"), "{name}");
    }
    assert_usage_error(
        &["merge", "/nonexistent/a", "--out", "/nonexistent/b"],
        "/nonexistent/a",
    );
    let o = divergo().arg("--help").output().unwrap();
    let help = text(&o).0;
    for line in [
        "Exit status (every command):",
        "  2    bad input",
        "  4    internal error",
    ] {
        assert!(help.contains(line), "{line}: {help}");
    }
}

#[test]
fn malformed_known_issues_file_is_one_line_and_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("known.toml");
    std::fs::write(&f, "[[known]]\nissue = \"x\"\nsignature = \"(unclosed\"\n").unwrap();
    assert_usage_error(
        &["run", "--known", f.to_str().unwrap(), "--count", "1"],
        "not a valid regex",
    );
}

#[test]
fn malformed_corpus_entry_is_one_line_and_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let e = t.path().join("bad-entry");
    std::fs::create_dir_all(&e).unwrap();
    std::fs::write(e.join("main.go"), "package main\nfunc main() {}\n").unwrap();
    std::fs::write(e.join("go.mod"), "module x\n\ngo 1.14\n").unwrap();
    std::fs::write(
        e.join("expect.toml"),
        "description = \"x\"\n[[expect]]\noutcome = [\"explodes\"]\n",
    )
    .unwrap();
    let dir = t.path().to_str().unwrap();
    assert_usage_error(
        &["corpus", "--dir", dir, "--toolchains", "go1.23.12"],
        "unknown outcome \"explodes\"",
    );
}

#[test]
fn toolchains_list_json_shows_the_default_set_usable() {
    let o = divergo()
        .args(["toolchains", "list", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON array");
    let arr = v.as_array().expect("array");
    let find = |pred: &dyn Fn(&str) -> bool| {
        arr.iter()
            .find(|t| pred(t["name"].as_str().unwrap_or("")))
            .cloned()
    };
    for want in ["go1.23.11", "go1.23.12"] {
        let t =
            find(&|n| n == want).unwrap_or_else(|| panic!("{want} missing: run scripts/setup.sh"));
        assert_eq!(t["version"], want);
        assert_eq!(t["usable"], true);
        assert!(std::path::Path::new(t["goroot"].as_str().unwrap())
            .join("bin/go")
            .is_file());
    }
    let t = find(&|n| n.starts_with("go1.25.")).expect("a go1.25.x: run scripts/setup.sh");
    assert_eq!(t["version"], t["name"]);
    assert_eq!(t["usable"], true);
}

#[test]
fn logs_get_plain_progress_lines_when_stderr_is_not_a_terminal() {
    toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    // stderr is a pipe here, as in a CI log.
    let o = divergo()
        .args([
            "run",
            "--no-triage",
            "--toolchains",
            "go1.23.12",
            "--arch",
            "amd64",
        ])
        .args([
            "--templates",
            "closures",
            "--seed",
            "5",
            "--count",
            "2",
            "--out",
        ])
        .arg(out.path())
        .env("DIVERGO_PROGRESS_SECS", "0")
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("[progress] 1/2 programs, 0 finding(s)"),
        "{err}"
    );
    assert!(err.contains("[progress] 2/2 programs"), "{err}");
    assert!(err.contains("ETA"), "{err}");
    // --quiet: none.
    let out = tempfile::tempdir().unwrap();
    let o = divergo()
        .args(["run", "--quiet", "--no-triage", "--toolchains", "go1.23.12"])
        .args([
            "--arch",
            "amd64",
            "--templates",
            "closures",
            "--seed",
            "5",
            "--count",
            "1",
        ])
        .arg("--out")
        .arg(out.path())
        .env("DIVERGO_PROGRESS_SECS", "0")
        .output()
        .unwrap();
    assert!(!text(&o).1.contains("[progress]"));
}

/// A time budget stops starting programs: the first one starts at once, and
/// 50 programs (about 0.3 s each even with every build cached) outlast a 1 s
/// budget; the run says so and `--resume` goes on with the rest of the plan.
#[test]
fn duration_budget_stops_starting_programs_and_resume_goes_on() {
    toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let res = out.path().join("r");
    let run = |extra: &[&str]| {
        divergo()
            .args(["run", "--json", "--no-triage"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&[
        "--toolchains",
        "go1.23.12",
        "--arch",
        "amd64",
        "--templates",
        "expr",
        "--seed",
        "7",
        "--count",
        "50",
        "--duration",
        "1s",
        "--out",
        res.to_str().unwrap(),
    ]);
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let first = v["programs"].as_u64().unwrap();
    assert!((1..50).contains(&first), "{v}");
    assert_eq!(v["budget_spent"], true, "{v}");
    assert!(err.contains("time budget spent"), "{err}");
    assert!(
        err.contains("budget: 50 programs; no program starts after 1 s"),
        "{err}"
    );
    // Resumed with a budget again: the started ones are reused and finish
    // (each is built again: that time does not count against the budget, so
    // a new program starts unless reading the plan alone takes the second).
    let o = run(&["--resume", res.to_str().unwrap(), "--duration", "1s"]);
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let second = v["programs"].as_u64().unwrap();
    assert!(second > first && second <= 50, "{first} then {v}");
}
