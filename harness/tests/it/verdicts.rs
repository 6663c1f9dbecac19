//! Verdicts, known-issue labelling and reports on programs whose behaviour
//! is certain (tests/fixtures/verdicts: they decide from runtime.GOARCH and
//! runtime.Version() what to do), on real toolchains and real qemu. No test
//! here depends on a probabilistic bug firing.
//!
//! Trials: 6 per cell. A cell that always fails against one that never does
//! gives p = 2/924 = 2.2e-3 per question; with at most two questions able to
//! reach significance the corrected threshold is 0.01/2 = 5e-3, so every
//! verdict below follows from the programs alone.

use crate::common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verdicts")
}

/// `divergo run --corpus fixtures --trials 6 --json` on go1.23.12 and the
/// newest go1.25.x; returns the exit code, the JSON summary and stderr.
fn run(filter: &str, archs: &str, extra: &[&str], out: &Path) -> (Option<i32>, Value, String) {
    let newest = toolchain("go1.25");
    toolchain("go1.23.12");
    let o = divergo()
        .args(["run", "--quiet", "--json", "--no-triage", "--trials", "6"])
        .arg("--corpus")
        .arg(fixtures())
        .args(["--filter", filter, "--arch", archs])
        .args(["--toolchains", &format!("go1.23.12,{}", newest.name)])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{err}"));
    (o.status.code(), v, err)
}

fn known_file() -> String {
    fixtures().join("known.toml").to_str().unwrap().to_string()
}

/// A crash on every arm64 toolchain is cross-arch and, matching the
/// known-issues file, listed as known: the run exits 0. Without the file it
/// is a new finding and the run exits 1.
#[test]
fn known_issue_is_labelled_and_does_not_count() {
    let newest = toolchain("go1.25").name;
    let a = tempfile::tempdir().unwrap();
    let (code, v, err) = run(
        "arm64-only-panic",
        "amd64,arm64",
        &["--known", &known_file()],
        a.path(),
    );
    assert_eq!(code, Some(0), "{v}\n{err}");
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["known_findings"].as_array().unwrap().len(), 1, "{v}");
    let k = &v["known_findings"][0];
    assert_eq!(k["scope"], "cross-arch", "{k}");
    assert_eq!(k["kind"], "crash", "{k}");
    assert_eq!(k["known"], "test: the arm64-only panic", "{k}");
    assert_eq!(
        divergent(k),
        vec!["go1.23.12/arm64".to_string(), format!("{newest}/arm64")]
    );
    assert!(
        k["signature"].as_str().unwrap().contains("only on arm64"),
        "{k}"
    );
    let summary = std::fs::read_to_string(a.path().join("summary.md")).unwrap();
    assert!(summary.contains("## Findings (0)"), "{summary}");
    assert!(summary.contains("## Known issues (1)"), "{summary}");
    let id = k["id"].as_str().unwrap();
    let fj: Value = serde_json::from_slice(
        &std::fs::read(a.path().join("findings").join(id).join("finding.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(fj["known"], k["known"]);

    let b = tempfile::tempdir().unwrap();
    let (code, v, err) = run("arm64-only-panic", "amd64,arm64", &["--no-known"], b.path());
    assert_eq!(code, Some(1), "{v}\n{err}");
    assert_eq!(v["known_findings"].as_array().unwrap().len(), 0, "{v}");
    let f = &v["findings"][0];
    assert_eq!(f["scope"], "cross-arch", "{v}");
    assert!(f.get("known").is_none(), "{f}");
    // The comparisons behind it: two arch questions, both significant.
    let comps = f["comparisons"].as_array().unwrap();
    assert_eq!(comps.len(), 2, "{f}");
    assert!(
        comps
            .iter()
            .all(|c| c["family"] == "arch" && c["significant"] == true),
        "{f}"
    );
}

/// One toolchain crashes on one arch only: a toolchain finding that blames
/// exactly that cell, beside a clean program with no finding and the known
/// cross-arch crash, which the known-issues file does not let hide it.
#[test]
fn toolchain_divergence_on_one_arch_blames_one_cell() {
    let newest = toolchain("go1.25").name;
    let out = tempfile::tempdir().unwrap();
    // The filter matches every entry with "panic" or "clean" in its name.
    let (code, v, err) = run("", "amd64,arm64", &["--known", &known_file()], out.path());
    let _ = err;
    let findings = v["findings"].as_array().unwrap();
    let known = v["known_findings"].as_array().unwrap();
    assert_eq!(code, Some(1), "{v}");
    // go125-hang hangs on go1.25.x on both archs: a toolchain finding too.
    let by_program =
        |p: &str| -> Vec<&Value> { findings.iter().filter(|f| f["program"] == p).collect() };
    let crash = by_program("go125-arm64-panic");
    assert_eq!(crash.len(), 1, "{v}");
    assert_eq!(crash[0]["scope"], "toolchain", "{}", crash[0]);
    assert_eq!(divergent(crash[0]), vec![format!("{newest}/arm64")]);
    assert!(crash[0]["p_value"].as_f64().unwrap() < crash[0]["threshold"].as_f64().unwrap());
    let hang = by_program("go125-hang");
    assert_eq!(hang.len(), 1, "{v}");
    assert_eq!(hang[0]["kind"], "hang", "{}", hang[0]);
    assert_eq!(hang[0]["scope"], "toolchain", "{}", hang[0]);
    assert_eq!(
        divergent(hang[0]),
        vec![format!("{newest}/amd64"), format!("{newest}/arm64")]
    );
    assert!(
        hang[0]["signature"]
            .as_str()
            .unwrap()
            .contains("main.spinForever"),
        "{}",
        hang[0]
    );
    assert!(by_program("clean").is_empty(), "{v}");
    assert_eq!(findings.len(), 2, "{v}");
    assert_eq!(known.len(), 1, "{v}");
    assert_eq!(known[0]["program"], "arm64-only-panic");
}

/// Triage on a program whose answer is certain: it panics with go1.25.x
/// unless GOGC=off. 6 of 6 panics against 0 of 8 under GOGC=off gives
/// p = 1/3003 = 3.3e-4, under the 0.01/5 threshold of the five knobs a
/// native cell tries; every other knob leaves 8 of 8 panicking (p = 1).
#[test]
fn triage_says_which_knob_makes_a_finding_vanish() {
    let newest = toolchain("go1.25");
    toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let o = divergo()
        .args([
            "run", "--quiet", "--json", "--trials", "6", "--arch", "amd64",
        ])
        .args(["--toolchains", &format!("go1.23.12,{}", newest.name)])
        .arg("--corpus")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/triage"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {err}"));
    let f = &v["findings"][0];
    let t = &f["triage"];
    assert_eq!(t["cell"], format!("{}/amd64", newest.name), "{f}");
    let knobs = t["knobs"].as_array().unwrap();
    assert_eq!(knobs.len(), 5, "no plain-qemu knob on a native cell: {t}");
    for k in knobs {
        let want = if k["knob"] == "GOGC=off" {
            "vanishes"
        } else {
            "no-change"
        };
        assert_eq!(k["effect"], want, "{k}");
    }
    let line = t["line"].as_str().unwrap();
    assert!(
        line.starts_with("vanishes with GOGC=off (0 of 8) → it needs the garbage collector to run"),
        "{line}"
    );
    let id = f["id"].as_str().unwrap();
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(summary.contains(line), "{summary}");
    let fj: Value = serde_json::from_slice(
        &std::fs::read(out.path().join("findings").join(id).join("finding.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(fj["triage"]["line"], line);
    // The triage runs are kept apart from the run's own records.
    assert!(out
        .path()
        .join("triage")
        .join(id)
        .join("results.jsonl")
        .is_file());
}
