//! `divergo qualify`: real toolchains, real qemu, the real corpus and
//! known-issues file (run from the repository root).
//!
//! Trials: the corpus entries used crash or hang in nearly every run (their
//! expect.toml gives the measurements: the #73259 and leaf entries 40 of 40
//! crashed under single-step qemu one run at a time on an idle machine, a 95 %
//! lower bound of 0.92; the go1.14.1 timer entry 21 of 22 hung, alone and
//! beside other runs, lower bound 0.80). A corpus entry's cells start with
//! the entry's own trials (8 and 7), so both cells are run that often even
//! when the first two runs of each look alike; then up to 20 trials per cell.
//! Against a clean other cell of 20 runs, Fisher's test (two-sided) proves the
//! divergence at p < 0.005 from 8 bad runs of 20 on: it stays unproven only
//! if at most 7 of 20 go bad, P(Bin(20, 0.80) ≤ 7) = 1.5e-5. (An earlier shape of the #73259 entry, one loop beside the GC
//! loop, crashed 28 of 30 on a loaded machine but 2 of 10 on an idle one, and
//! this test once failed for it.)

use crate::common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn qualify(args: &[&str], out: &Path) -> (Option<i32>, Value, String) {
    let o = divergo()
        .current_dir(repo_root())
        .args(["qualify", "--quiet", "--json"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    let v = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("no JSON on stdout ({e}): {stdout}\n{stderr}"));
    (o.status.code(), v, stderr)
}

fn kinds(v: &Value, list: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["finding"]["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_split_sp_crash_is_a_regression_one_way_and_a_fix_the_other() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let tmp = tempfile::tempdir().unwrap();
    let args = |b: &'static str, c: &'static str| {
        vec![
            "--baseline",
            b,
            "--candidate",
            c,
            "--arch",
            "arm64",
            "--filter",
            "arm64-split-sp-73259",
            "--count",
            "0",
        ]
    };

    let out = tmp.path().join("down");
    let (code, v, err) = qualify(&args("go1.23.12", "go1.23.11"), &out);
    assert_eq!(code, Some(1), "a regression exits 1: {err}");
    assert_eq!(v["verdict"], "regression", "{v}");
    assert!(v["line"].as_str().unwrap().starts_with("REGRESSION"));
    let reg = kinds(&v, "regressions");
    assert!(reg.contains(&"crash".to_string()), "{reg:?}: {v}");
    assert!(reg.contains(&"unsafe-window".to_string()), "{reg:?}");
    assert!(kinds(&v, "fixes").is_empty(), "{v}");
    for e in v["regressions"].as_array().unwrap() {
        let dir = Path::new(e["dir"].as_str().unwrap());
        assert!(dir.join("repro.sh").is_file(), "{}", dir.display());
        assert!(dir.starts_with(&out));
    }
    let crash = v["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["finding"]["kind"] == "crash")
        .unwrap();
    assert!(crash["finding"]["signature"]
        .as_str()
        .unwrap()
        .contains("unwind"));
    assert!(crash["reason"]
        .as_str()
        .unwrap()
        .contains("go1.23.11/arm64"));
    let md = std::fs::read_to_string(out.join("qualify.md")).unwrap();
    let first = md.lines().nth(2).unwrap();
    assert!(
        first.starts_with("**REGRESSION: go1.23.11 is worse than go1.23.12"),
        "{md}"
    );
    assert!(md.find("## Regressions (2)").unwrap() < md.find("## Fixes (0)").unwrap());
    assert!(md.contains("repro.sh"));
    assert!(md.contains("## Covered"));

    let out = tmp.path().join("up");
    let (code, v, err) = qualify(&args("go1.23.11", "go1.23.12"), &out);
    assert_eq!(code, Some(0), "no regression exits 0: {err}");
    assert_eq!(v["verdict"], "pass", "{v}");
    let fixes = kinds(&v, "fixes");
    assert!(fixes.contains(&"crash".to_string()), "{fixes:?}: {v}");
    assert!(fixes.contains(&"unsafe-window".to_string()), "{fixes:?}");
    assert!(kinds(&v, "regressions").is_empty());
}

#[test]
fn the_go1_14_1_timer_hang_is_fixed_in_go1_14_2() {
    if divergo::toolchain::registry::find(&home(), "go1.14.1").is_none() {
        eprintln!(
            "go1.14.1 is not registered (scripts/setup.sh builds it from go1.14.1.src.tar.gz \
             when the archive is there): this test has nothing to qualify"
        );
        return;
    }
    toolchain("go1.14.2");
    let tmp = tempfile::tempdir().unwrap();
    let (code, v, err) = qualify(
        &[
            "--baseline",
            "go1.14.1",
            "--candidate",
            "go1.14.2",
            "--arch",
            "amd64",
            "--filter",
            "timer-reset-38023",
            "--count",
            "0",
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(kinds(&v, "fixes"), vec!["hang".to_string()], "{v}");
    let fix = &v["fixes"][0];
    assert!(fix["reason"].as_str().unwrap().contains("go1.14.1/amd64"));
    assert!(kinds(&v, "regressions").is_empty());
}

#[test]
fn a_duration_budget_stops_generating_and_still_reports() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let tmp = tempfile::tempdir().unwrap();
    let (code, v, err) = qualify(
        &[
            "--baseline",
            "go1.23.11",
            "--candidate",
            "go1.23.12",
            "--arch",
            "amd64",
            "--no-corpus",
            "--templates",
            "closures",
            "--seed",
            "1",
            "--duration",
            "5s",
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["budget_spent"], true, "{v}");
    let n = v["programs"].as_u64().unwrap();
    assert!((1..1000).contains(&n), "{n}");
    assert!(tmp.path().join("qualify.md").is_file());
    assert!(tmp.path().join("generated/summary.md").is_file());
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--baseline", "go1.23.12", "--candidate", "go1.23.12"],
            "nothing to compare",
        ),
        (
            &["--baseline", "go1.23.12", "--candidate", "go9.99.9"],
            "go9.99.9",
        ),
        (
            &[
                "--baseline",
                "go1.23.11",
                "--candidate",
                "go1.23.12",
                "--no-corpus",
                "--count",
                "0",
            ],
            "no programs",
        ),
        (
            &[
                "--baseline",
                "go1.23.11",
                "--candidate",
                "go1.23.12",
                "--duration",
                "0s",
            ],
            "must be positive",
        ),
        (
            &[
                "--baseline",
                "go1.23.11",
                "--candidate",
                "go1.23.12",
                "--corpus",
                "/nonexistent",
            ],
            "not a directory",
        ),
    ];
    for (i, (args, needle)) in cases.iter().enumerate() {
        let out = tmp.path().join(i.to_string());
        let o = divergo()
            .current_dir(repo_root())
            .arg("qualify")
            .args(*args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!out.join("qualify.json").exists());
    }
}

/// The verdicts of a `qualify --module` JSON: (change, what, package, name, arch).
fn module_verdicts(v: &Value) -> Vec<(String, String, String, String, String)> {
    v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let s = |k: &str| x[k].as_str().unwrap().to_string();
            (s("change"), s("what"), s("package"), s("name"), s("arch"))
        })
        .collect()
}

/// A fixture module (two packages, one of them using a vendored dependency,
/// and a package with a large-frame leaf function) whose test
/// TestBrokenByGo12312 fails with go1.23.12 only (decided by
/// runtime.Version(): certain). go1.23.11 → go1.23.12 is that test's
/// regression on both archs (arm64 under qemu), and nothing else changes;
/// the static scan of every test binary finds the leaf function's window on
/// arm64 with both toolchains (unchanged). The other way round it is a fix.
/// Trials: 6 failed runs of 6 against 0 of 6 is p = 2.2e-3 (Fisher), below
/// 0.01 over the 2 tests compared.
#[test]
fn a_modules_test_that_fails_on_one_toolchain_is_its_one_regression() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let fixture = repo_root().join("harness/tests/fixtures/module");
    let t = tempfile::tempdir().unwrap();
    let (code, v, err) = qualify(
        &[
            "--module",
            fixture.to_str().unwrap(),
            "--baseline",
            "go1.23.11",
            "--candidate",
            "go1.23.12",
            "--arch",
            "amd64,arm64",
            "--trials",
            "6",
        ],
        &t.path().join("up"),
    );
    assert_eq!(code, Some(1), "{err}");
    let a = "example.com/fixture/a".to_string();
    let leaf = "example.com/fixture/leaf".to_string();
    let reg = |arch: &str| {
        (
            "regression".to_string(),
            "test".to_string(),
            a.clone(),
            "TestBrokenByGo12312".to_string(),
            arch.to_string(),
        )
    };
    assert_eq!(
        module_verdicts(&v),
        [
            reg("amd64"),
            reg("arm64"),
            (
                "unchanged".to_string(),
                "window".to_string(),
                leaf.clone(),
                format!("{leaf}.BigLeaf"),
                "arm64".to_string()
            )
        ],
        "{v}"
    );
    let md = std::fs::read_to_string(t.path().join("up/qualify.md")).unwrap();
    assert!(
        md.contains("**REGRESSIONS**: 1 regression(s), 0 fix(es), 1 unchanged"),
        "{md}"
    );
    assert!(md.contains("planted: fails with go1.23.12"), "{md}");
    assert_eq!(
        v["builds"].as_array().unwrap().len(),
        12,
        "3 packages × 2 toolchains × 2 archs"
    );
    // Its reproducer rebuilds the test binary with go1.23.12 and stresses the
    // one test: every run fails.
    let repro = t
        .path()
        .join("up")
        .join(v["verdicts"][0]["repro"].as_str().unwrap());
    let o = std::process::Command::new("sh")
        .arg(&repro)
        .env("DIVERGO", divergo_bin())
        .env("DIVERGO_HISTORY", "off")
        .env("DIVERGO_CONFIG", "none")
        .env("OUT", t.path().join("repro-out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o).1);
    let st: Value = serde_json::from_str(
        &std::fs::read_to_string(t.path().join("repro-out/stress.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(st["failures"], st["runs"], "{st}");
    assert!(st["runs"].as_u64().unwrap() >= 10, "{st}");
    // And `bisect` places it: it starts failing in go1.23.12.
    let o = divergo()
        .arg("bisect")
        .arg(repro.parent().unwrap())
        .args([
            "--versions",
            "go1.23.10..go1.23.12",
            "--calibrate",
            "6",
            "--json",
        ])
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let b: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (b["last_good"].as_str(), b["first_bad"].as_str()),
        (Some("go1.23.11"), Some("go1.23.12")),
        "{b}"
    );

    let (code, v, err) = qualify(
        &[
            "--module",
            fixture.to_str().unwrap(),
            "--baseline",
            "go1.23.12",
            "--candidate",
            "go1.23.11",
            "--arch",
            "amd64",
            "--trials",
            "6",
        ],
        &t.path().join("down"),
    );
    assert_eq!(code, Some(0), "{err}");
    let mut fix = reg("amd64");
    fix.0 = "fix".into();
    assert_eq!(module_verdicts(&v), [fix], "{v}");
}

/// A real module from the Go module proxy (golang.org/x/sync v0.12.0, its
/// tests pure Go), fetched into the module cache here, qualifies clean from
/// go1.23.11 to go1.23.12 on amd64 and on arm64 under qemu: every package
/// builds and no test fails on either toolchain.
#[test]
fn a_real_module_qualifies_clean_across_two_patch_releases() {
    let tc = toolchain("go1.23.12");
    toolchain("go1.23.11");
    let o = std::process::Command::new(tc.goroot.join("bin/go"))
        .args(["mod", "download", "-json", "golang.org/x/sync@v0.12.0"])
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .unwrap();
    assert!(o.status.success(), "go mod download: {}", text(&o).1);
    let info: Value = serde_json::from_str(&text(&o).0).unwrap();
    let t = tempfile::tempdir().unwrap();
    let module = t.path().join("sync");
    let o = std::process::Command::new("cp")
        .arg("-r")
        .arg(info["Dir"].as_str().unwrap())
        .arg(&module)
        .status()
        .unwrap();
    assert!(o.success());
    let (code, v, err) = qualify(
        &[
            "--module",
            module.to_str().unwrap(),
            "--baseline",
            "go1.23.11",
            "--candidate",
            "go1.23.12",
            "--arch",
            "amd64,arm64",
            "--trials",
            "3",
        ],
        &t.path().join("q"),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(module_verdicts(&v), [], "{v}");
    let builds = v["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 16, "4 packages × 2 toolchains × 2 archs: {v}");
    assert!(builds.iter().all(|b| b["binary"].is_string()), "{v}");
    assert!(v["runs"].as_u64().unwrap() == 48, "{v}");
}

/// `--shard i/n` splits the module's packages between runners: shards 1/2
/// and 2/2 together cover every package once, each judged at 0.01/2, and the
/// planted regression is in the shard that holds its package.
#[test]
fn module_shards_split_the_packages() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let fixture = repo_root().join("harness/tests/fixtures/module");
    let t = tempfile::tempdir().unwrap();
    let mut packages = Vec::new();
    let mut regressions = Vec::new();
    for (i, sh) in ["1/2", "2/2"].into_iter().enumerate() {
        let (code, v, err) = qualify(
            &[
                "--module",
                fixture.to_str().unwrap(),
                "--baseline",
                "go1.23.11",
                "--candidate",
                "go1.23.12",
                "--arch",
                "amd64",
                "--trials",
                "6",
                "--shard",
                sh,
            ],
            &t.path().join(format!("s{i}")),
        );
        assert_eq!(v["alpha"], 0.005, "{v}");
        let regs: Vec<_> = module_verdicts(&v)
            .into_iter()
            .filter(|x| x.0 == "regression")
            .collect();
        assert_eq!(code, Some(if regs.is_empty() { 0 } else { 1 }), "{err}");
        regressions.extend(regs);
        for b in v["builds"].as_array().unwrap() {
            packages.push(b["package"].as_str().unwrap().to_string());
        }
    }
    packages.sort();
    packages.dedup();
    assert_eq!(
        packages,
        [
            "example.com/fixture/a",
            "example.com/fixture/b",
            "example.com/fixture/leaf"
        ]
    );
    assert_eq!(regressions.len(), 1, "{regressions:?}");
    assert_eq!(regressions[0].3, "TestBrokenByGo12312");
}
