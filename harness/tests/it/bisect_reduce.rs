//! `divergo bisect` and `divergo reduce` on programs whose behaviour is
//! certain (they decide from runtime.Version() whether to panic), with real
//! toolchains (fetched from the proxy as needed) and real runs; and their
//! answers to bad input. The probabilistic bugs are measured by scripts
//! (scripts/bisect-commits-38023.sh, the README's bisect and reduce figures).

use crate::common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn one_line_usage_error(o: &std::process::Output) -> String {
    let (_, err) = text(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "want exit 2, got {:?}: {err}",
        o.status
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "want one line: {err}");
    assert!(lines[0].starts_with("divergo: "), "{err}");
    err
}

#[test]
fn release_bisection_names_the_first_good_release() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let o = divergo()
        .args([
            "bisect",
            "--versions",
            "go1.23.10..go1.23.12",
            "--arch",
            "amd64",
        ])
        .args(["--calibrate", "2", "--json", "--out"])
        .arg(out.path())
        .arg(fixture("bisect/fixed-in-go1.23.12"))
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let r: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(r["first_good"]["name"], "go1.23.12", "{err}");
    assert_eq!(r["last_bad"]["name"], "go1.23.11", "{err}");
    assert_eq!(r["direction"], "fixed");
    assert!(
        r["bug"].as_str().unwrap().contains("fixed in go1"),
        "{}",
        r["bug"]
    );
    // Both ends and the one point between them, each judged from its runs.
    let steps = r["steps"].as_array().unwrap();
    let verdict = |name: &str| {
        steps
            .iter()
            .find(|s| s["point"]["name"] == name)
            .map(|s| s["verdict"].as_str().unwrap().to_string())
    };
    assert_eq!(verdict("go1.23.10").as_deref(), Some("bad"));
    assert_eq!(verdict("go1.23.11").as_deref(), Some("bad"));
    assert_eq!(verdict("go1.23.12").as_deref(), Some("good"));
    // A good verdict needed the clean runs the rule asks for: 2 of 2 bad
    // runs at the bad end give a 95 % lower bound of 0.34, so 11 clean runs.
    let need = r["clean_runs_needed"].as_u64().unwrap();
    assert_eq!(need, 11);
    let good = steps
        .iter()
        .find(|s| s["point"]["name"] == "go1.23.12")
        .unwrap();
    assert!(good["counts"]["ok"].as_u64().unwrap() >= need, "{good}");
    assert!(out.path().join("bisect.md").is_file());
    assert!(out.path().join("results.jsonl").is_file());
}

/// A wrong-output finding (every run clean, one toolchain prints another
/// checksum) bisects like a crash: the right checksum comes from a clean
/// cell of the finding (the newest toolchain's unoptimised build), and each
/// point is bad when its clean runs print another one. Certain: the fixture
/// picks its checksum from runtime.Version().
#[test]
fn a_wrong_output_finding_bisects_by_its_checksum() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let run = tempfile::tempdir().unwrap();
    let o = divergo()
        .args([
            "run",
            "--quiet",
            "--json",
            "--no-known",
            "--reduce-budget",
            "0",
        ])
        .args([
            "--toolchains",
            "go1.23.11,go1.23.12",
            "--opt-axis",
            "newest",
        ])
        .args(["--arch", "amd64", "--corpus"])
        .arg(fixture("bisect-wrong"))
        .arg("--out")
        .arg(run.path())
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "wrong_output", "{v}");
    assert_eq!(divergent(f), vec!["go1.23.11/amd64".to_string()], "{f}");
    let dir = run.path().join("findings").join(f["id"].as_str().unwrap());

    let out = tempfile::tempdir().unwrap();
    let o = divergo()
        .args(["bisect", "--versions", "go1.23.10..go1.23.12"])
        .args(["--calibrate", "2", "--json", "--out"])
        .arg(out.path())
        .arg(&dir)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("right checksum 0000000000000007 (from go1.23.12+noopt"),
        "{err}"
    );
    let r: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(r["bug"], "checksum mismatch", "{err}");
    assert_eq!(r["first_good"]["name"], "go1.23.12", "{err}");
    assert_eq!(r["last_bad"]["name"], "go1.23.11", "{err}");
    let steps = r["steps"].as_array().unwrap();
    let step = |name: &str| steps.iter().find(|s| s["point"]["name"] == name).unwrap();
    for bad in ["go1.23.10", "go1.23.11"] {
        assert_eq!(step(bad)["verdict"], "bad", "{err}");
        // Bad by its checksum: its runs were clean.
        assert_eq!(
            step(bad)["counts"]["ok"],
            step(bad)["runs"],
            "{}",
            step(bad)
        );
    }
    assert_eq!(step("go1.23.12")["verdict"], "good", "{err}");
}

#[test]
fn reduce_cuts_the_padding_and_keeps_the_divergence() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let o = divergo()
        .args([
            "run",
            "--quiet",
            "--json",
            "--no-triage",
            "--trials",
            "6",
            "--arch",
            "amd64",
        ])
        .args(["--toolchains", "go1.23.11,go1.23.12", "--corpus"])
        .arg(fixture("reduce"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {err}"));
    let f = &v["findings"][0];
    assert_eq!(f["scope"], "toolchain", "{v}");
    let dir = out.path().join("findings").join(f["id"].as_str().unwrap());
    let before = std::fs::read_to_string(dir.join("main.go")).unwrap();

    // Interrupted after its first accepted step, a reduction keeps the
    // smallest program so far (marked unverified) and exits 130.
    let red = dir.join("reduced");
    let child = divergo()
        .args(["reduce", "--budget", "5m"])
        .arg(&dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !red.join("main.go").exists() && t0.elapsed().as_secs() < 240 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    let partial = std::fs::read_to_string(red.join("main.go")).unwrap();
    assert!(partial.len() < before.len(), "{partial}");
    let log = std::fs::read_to_string(red.join("reduce.log")).unwrap();
    assert!(
        log.contains("accepted") && log.contains("in progress"),
        "{log}"
    );

    let o = divergo()
        .args(["reduce", "--budget", "5m"])
        .arg(&dir)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let after = std::fs::read_to_string(red.join("main.go")).unwrap();
    let lines = |s: &str| s.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        lines(&after) <= 25,
        "{} lines left:\n{after}",
        lines(&after)
    );
    assert!(lines(&after) < lines(&before));
    assert!(after.contains("panic(\"only go1.23.11\")"), "{after}");
    assert!(!after.contains("func fold"), "{after}");
    let log = std::fs::read_to_string(red.join("reduce.log")).unwrap();
    // The second reduction went on from where the interrupted one stopped.
    assert!(log.contains("reproduces; starting from it"), "{log}");
    assert!(log.contains("accepted"), "{log}");
    assert!(log.contains("final check: reproduced"), "{log}");
    // The fixture's trap: the cut that strands main waiting (go1.23.12 then
    // dies of a deadlock while go1.23.11 still panics) was tried and
    // refused as another bug, and what is left ends cleanly on go1.23.12.
    assert!(
        log.lines()
            .any(|l| l.contains("rejected") && l.contains("a different bug also shows")),
        "{log}"
    );
    let tc = toolchain("go1.23.12");
    let bin = red.join("prog-go1.23.12");
    let o = Command::new(tc.goroot.join("bin/go"))
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&red)
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let o = Command::new("timeout")
        .arg("20")
        .arg(&bin)
        .output()
        .unwrap();
    let (so, se) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{so}\n{se}\n{after}");
    // The reduced program's repro.sh reproduces it with the real toolchains.
    let o = Command::new("sh")
        .arg(red.join("repro.sh"))
        .arg("3")
        .output()
        .unwrap();
    let (so, se) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{so}\n{se}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let empty = tempfile::tempdir().unwrap();
    // A directory that is neither a finding nor a corpus entry.
    let o = divergo()
        .args(["bisect", "--versions", "go1.23.0..go1.23.1"])
        .arg(empty.path())
        .output()
        .unwrap();
    let err = one_line_usage_error(&o);
    assert!(err.contains("neither a finding directory"), "{err}");
    let o = divergo().arg("reduce").arg(empty.path()).output().unwrap();
    let err = one_line_usage_error(&o);
    assert!(err.contains("not a finding directory"), "{err}");
    let entry = fixture("bisect/fixed-in-go1.23.12");
    // Malformed and empty ranges.
    for versions in ["go1.23.12", "go1.23.12..go1.23.10", "1.23..1.24"] {
        let o = divergo()
            .args(["bisect", "--versions", versions])
            .arg(&entry)
            .output()
            .unwrap();
        one_line_usage_error(&o);
    }
    // A range in which the proxy serves no release.
    let o = divergo()
        .args(["bisect", "--versions", "go1.99.0..go1.99.2"])
        .arg(&entry)
        .output()
        .unwrap();
    let err = one_line_usage_error(&o);
    assert!(err.contains("point"), "{err}");
    // A git repository that is not Go, and a path that is not a repository.
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let s = Command::new("git")
            .arg("-C")
            .arg(repo.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .status()
            .unwrap();
        assert!(s.success());
    };
    git(&["init", "-q"]);
    std::fs::write(repo.path().join("a.txt"), "a").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "one"]);
    std::fs::write(repo.path().join("a.txt"), "b").unwrap();
    git(&["commit", "-qam", "two"]);
    let o = divergo()
        .args(["bisect", "--go-repo"])
        .arg(repo.path())
        .args(["--good", "HEAD", "--bad", "HEAD~1"])
        .arg(&entry)
        .output()
        .unwrap();
    let err = one_line_usage_error(&o);
    assert!(err.contains("not a Go repository"), "{err}");
    let o = divergo()
        .args(["bisect", "--go-repo"])
        .arg(empty.path())
        .args(["--good", "HEAD", "--bad", "HEAD~1"])
        .arg(&entry)
        .output()
        .unwrap();
    let err = one_line_usage_error(&o);
    assert!(err.contains("not a git repository"), "{err}");
    // --versions and --go-repo together.
    let o = divergo()
        .args([
            "bisect",
            "--versions",
            "go1.23.0..go1.23.1",
            "--go-repo",
            "/x",
        ])
        .args(["--good", "a", "--bad", "b"])
        .arg(&entry)
        .output()
        .unwrap();
    one_line_usage_error(&o);
}

/// A static finding (the split-SP window in go1.23.11's arm64 build of the
/// corpus entry, absent from go1.23.12's) bisects and reduces from builds
/// and scans alone: exact, no trials.
#[test]
fn a_static_finding_bisects_and_reduces_without_runs() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let o = divergo()
        .args(["run", "--quiet", "--json", "--no-triage", "--trials", "1"])
        .args(["--toolchains", "go1.23.11,go1.23.12", "--arch", "arm64"])
        .args(["--filter", "arm64-split-sp-73259", "--corpus"])
        .arg(corpus_dir())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {err}"));
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "unsafe-window")
        .unwrap_or_else(|| panic!("no static finding: {v}"));
    let dir = out.path().join("findings").join(f["id"].as_str().unwrap());
    let o = divergo()
        .args(["bisect", "--versions", "go1.23.11..go1.23.12", "--json"])
        .arg(&dir)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let r: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(r["first_good"]["name"], "go1.23.12", "{err}");
    assert_eq!(r["last_bad"]["name"], "go1.23.11", "{err}");
    for s in r["steps"].as_array().unwrap() {
        assert_eq!(s["runs"], 0, "static steps run nothing: {s}");
    }
    let o = divergo()
        .args(["reduce", "--budget", "3m"])
        .arg(&dir)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let before = std::fs::read_to_string(dir.join("main.go")).unwrap();
    let after = std::fs::read_to_string(dir.join("reduced/main.go")).unwrap();
    let lines = |s: &str| s.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(lines(&after) < lines(&before), "{after}");
    assert!(after.contains("func bigFrame"), "{after}");
    let log = std::fs::read_to_string(dir.join("reduced/reduce.log")).unwrap();
    assert!(
        log.contains("0 trials in all") || log.contains("final check: reproduced"),
        "{log}"
    );
}
