//! `divergo run --shard i/n` and `divergo report`: shards merged give what
//! one unsharded run gives; merging is idempotent, tolerates missing and
//! half-written shards, refuses incompatible runs, and turns native runs of
//! the same programs on two archs into cross-arch verdicts.
//!
//! The programs are the verdict fixtures, whose behaviour is certain: one
//! panics whenever GOARCH is arm64, one only on go1.25 arm64 (see
//! tests/fixtures/verdicts/README.md). Corpus runs take a fixed number of
//! trials, so the records of the runs compared are the same set.

use crate::common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verdicts")
}

fn run(archs: &str, shard: Option<&str>, out: &Path) -> Value {
    let newest = toolchain("go1.25");
    toolchain("go1.23.12");
    let mut c = divergo();
    c.args(["run", "--quiet", "--json", "--no-triage", "--trials", "6"])
        .arg("--corpus")
        .arg(fixtures())
        .args(["--filter", "arm64", "--arch", archs])
        .args(["--toolchains", &format!("go1.23.12,{}", newest.name)]);
    if let Some(s) = shard {
        c.args(["--shard", s]);
    }
    let o = c.arg("--out").arg(out).output().unwrap();
    let (stdout, err) = text(&o);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "run {archs} {shard:?}: {err}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{err}"))
}

fn report(dirs: &[&Path], out: &Path) -> (Option<i32>, Value, String) {
    let o = divergo()
        .arg("report")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .arg("--json")
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v = if o.status.code() == Some(2) {
        Value::Null
    } else {
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{err}"))
    };
    (o.status.code(), v, err)
}

/// Finding ids with kind, scope and divergent cells.
fn findings(v: &Value) -> BTreeSet<String> {
    ["findings", "known_findings"]
        .iter()
        .flat_map(|k| v[k].as_array().unwrap().iter())
        .map(|f| {
            format!(
                "{} {} {} {:?}",
                f["id"],
                f["kind"],
                f["scope"],
                divergent(f)
            )
        })
        .collect()
}

fn record_keys(dir: &Path) -> BTreeSet<String> {
    records(dir)
        .iter()
        .map(|r| {
            format!(
                "{:?} {} {} {} {}",
                r.stage, r.program, r.toolchain, r.arch, r.trial
            )
        })
        .collect()
}

#[test]
fn shards_merge_to_what_one_unsharded_run_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, s1, s2) = (
        tmp.path().join("whole"),
        tmp.path().join("s1"),
        tmp.path().join("s2"),
    );
    let w = run("amd64,arm64", None, &whole);
    assert_eq!(w["programs"], 2);
    let a = run("amd64,arm64", Some("1/2"), &s1);
    let b = run("amd64,arm64", Some("2/2"), &s2);
    assert_eq!(a["programs"], 1);
    assert_eq!(b["programs"], 1);

    let merged = tmp.path().join("merged");
    let (code, m, err) = report(&[&s1, &s2], &merged);
    assert_eq!(code, w_code(&w), "{err}");
    let want = findings(&w);
    assert!(want.len() >= 2, "the fixtures diverge: {want:?}");
    assert_eq!(findings(&m), want);
    assert_eq!(record_keys(&merged), record_keys(&whole));
    assert!(m["missing_shards"].as_array().unwrap().is_empty());
    for f in m["findings"].as_array().unwrap() {
        let dir = merged.join("findings").join(f["id"].as_str().unwrap());
        assert!(dir.join("repro.sh").is_file(), "{}", dir.display());
    }
    // junit.xml: valid JUnit, one testcase per corpus entry × cell and one
    // per finding, a failure per new finding naming its reproducer.
    for dir in [&whole, &merged] {
        let x = valid_junit(&dir.join("junit.xml"));
        assert_eq!(
            x.matches("<testcase classname=\"divergo.corpus.").count(),
            2 * 4,
            "{x}"
        );
        let findings_suite = &x[x.find("<testsuite name=\"findings\"").unwrap()..];
        assert_eq!(
            findings_suite.matches("<testcase ").count(),
            want.len(),
            "{x}"
        );
        let new = w["findings"].as_array().unwrap().len();
        assert_eq!(findings_suite.matches("<failure ").count(), new, "{x}");
        assert_eq!(
            findings_suite.matches("<skipped ").count(),
            want.len() - new
        );
        assert!(findings_suite.contains("repro.sh"), "{x}");
    }
    let summary = std::fs::read_to_string(merged.join("summary.md")).unwrap();
    assert!(summary.contains("Merged from:"), "{summary}");
    assert!(summary.contains("shard 1/2") && summary.contains("shard 2/2"));

    // Idempotent: a dir given twice, and a merged dir merged with its own
    // parts, count once.
    let again = tmp.path().join("again");
    let (_, m2, err) = report(&[&s1, &s2, &s1, &merged], &again);
    assert_eq!(findings(&m2), want, "{err}");
    assert_eq!(record_keys(&again), record_keys(&whole));
    assert!(m2["duplicates"].as_u64().unwrap() > 0);
    let statuses: Vec<&str> = m2["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "ok", "duplicate", "ok"]);

    // A missing shard and a half-written one: reported, the rest merged.
    let half = tmp.path().join("half");
    std::fs::create_dir_all(&half).unwrap();
    std::fs::copy(s2.join("run.json"), half.join("run.json")).unwrap();
    let data = std::fs::read(s2.join("results.jsonl")).unwrap();
    let cut = data.len() - 40;
    std::fs::write(half.join("results.jsonl"), &data[..cut]).unwrap();
    let out = tmp.path().join("partial");
    let (code, m3, err) = report(&[&half, &tmp.path().join("never-written")], &out);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    let src = m3["sources"].as_array().unwrap();
    assert_eq!(src[0]["status"], "partial", "{m3}");
    assert_eq!(src[1]["status"], "missing", "{m3}");
    assert_eq!(m3["missing_shards"], serde_json::json!(["1/2"]));
    assert_eq!(
        records(&out).len(),
        records(&s2).len() - 1,
        "all but the cut line"
    );
}

fn w_code(w: &Value) -> Option<i32> {
    Some(if w["findings"].as_array().unwrap().is_empty() {
        0
    } else {
        1
    })
}

#[test]
fn native_runs_of_two_archs_merge_into_a_cross_arch_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let (x86, arm) = (tmp.path().join("x86"), tmp.path().join("arm"));
    let a = run("amd64", None, &x86);
    let b = run("arm64", None, &arm);
    let scopes = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["scope"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!scopes(&a).contains(&"cross-arch".to_string()));
    assert!(!scopes(&b).contains(&"cross-arch".to_string()));
    let out = tmp.path().join("merged");
    let (code, m, err) = report(&[&x86, &arm], &out);
    assert_eq!(code, Some(1), "{err}");
    // arm64-only-panic: both toolchains panic on arm64 and never on amd64.
    assert!(scopes(&m).contains(&"cross-arch".to_string()), "{m}");
    let whole = tmp.path().join("whole");
    let w = run("amd64,arm64", None, &whole);
    assert_eq!(findings(&m), findings(&w));

    // report.html names the runners and which of them saw each failure:
    // the arm64-only panic failed on the arm64 runner alone.
    let page = out.join("report.html");
    let (dom, _) = chromium(&["--dump-dom"], &format!("file://{}", page.display()));
    let runners = &dom[dom.find("<table id=\"runners\">").expect("a runners table")..];
    let runners = &runners[..runners.find("</table>").unwrap()];
    assert_eq!(runners.matches("<tr><td>").count(), 2, "{runners}");
    let row = |dir: &Path| {
        let d = dir.display().to_string();
        let i = runners
            .find(&format!("<tr><td>{d}</td>"))
            .unwrap_or_else(|| panic!("{d}: {runners}"));
        runners[i..].split("</tr>").next().unwrap().to_string()
    };
    let (rx, ra) = (row(&x86), row(&arm));
    assert!(
        rx.contains("/amd64: 12 (amd64 (native))") && !rx.contains("/arm64"),
        "{rx}"
    );
    assert!(
        ra.contains("/arm64: 12 (arm64 (qemu-user") && !ra.contains("/amd64"),
        "{ra}"
    );
    assert!(
        ra.contains("arm64-only-panic") && !rx.contains("arm64-only-panic"),
        "{rx}\n{ra}"
    );
    let id = m["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["scope"] == "cross-arch")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let card = &dom[dom.find(&format!("id=\"f-{id}\"")).unwrap()..];
    let card = &card[..card.find("</div>").unwrap()];
    let saw = card.split("class=\"runners\">").nth(1).expect("who saw it");
    assert!(
        saw.contains(&arm.display().to_string()) && !saw.contains(&x86.display().to_string()),
        "{saw}"
    );
}

#[test]
fn incompatible_runs_and_bad_input_are_refused() {
    toolchain("go1.23.12");
    let tmp = tempfile::tempdir().unwrap();
    let gen = |seed: &str, out: &Path| {
        let o = divergo()
            .args(["run", "--quiet", "--no-triage", "--toolchains", "go1.23.12"])
            .args(["--arch", "amd64", "--templates", "closures", "--count", "1"])
            .args(["--seed", seed])
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    gen("1", &a);
    gen("2", &b);
    let (code, _, err) = report(&[&a, &b], &tmp.path().join("m1"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("seed 2") && err.contains("seed 1"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!tmp.path().join("m1/results.jsonl").exists());

    // Another generator version: the same seeds are other programs.
    let old = tmp.path().join("old");
    gen("1", &old);
    let p = old.join("run.json");
    let mut plan: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    plan["generator_version"] = 2.into();
    std::fs::write(&p, serde_json::to_vec(&plan).unwrap()).unwrap();
    let (code, _, err) = report(&[&a, &old], &tmp.path().join("m2"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("generator version"), "{err}");

    // Nothing to merge, an --out that holds results, --shard without --seed.
    let (code, _, err) = report(&[&tmp.path().join("nope")], &tmp.path().join("m3"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nothing to merge"), "{err}");
    let (code, _, err) = report(&[&a], &b);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("already holds results"), "{err}");
    let o = divergo()
        .args([
            "run",
            "--quiet",
            "--toolchains",
            "go1.23.12",
            "--arch",
            "amd64",
        ])
        .args(["--shard", "1/2"])
        .arg("--out")
        .arg(tmp.path().join("m4"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("--shard needs --seed"),
        "{}",
        text(&o).1
    );
    let o = divergo()
        .args(["run", "--shard", "3/2", "--seed", "1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("1 <= i <= n"), "{}", text(&o).1);
}
