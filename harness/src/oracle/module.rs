//! Verdicts on a module's tests under a baseline and a candidate toolchain
//! (`qualify --module`), by the rules `qualify` applies to generated
//! programs: a test's failure rate that differs between the toolchains on an
//! arch is a regression (or a fix) only when Fisher's exact test says so at
//! the corrected threshold (alpha over the number of tests compared); a test
//! that fails on both is unchanged; one that fails on one side without
//! significance is inconclusive. A package that builds with one toolchain
//! and not the other, and a preemption window the static scan finds in one
//! toolchain's test binary and not the other's, are changes too (exact).

use crate::model::Arch;
use crate::oracle::upgrade::Change;
use crate::oracle::verdict::fisher_two_sided;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The pseudo-test that stands for a whole test binary failing outside any
/// test (a crash in init or TestMain, a timeout between tests).
pub const BINARY: &str = "(test binary)";

/// One package's test binary for one toolchain and arch.
#[derive(Clone, Debug, Serialize)]
pub struct Build {
    pub package: String,
    pub toolchain: String,
    pub arch: Arch,
    pub binary: Option<PathBuf>,
    /// The compiler's output when the build failed.
    pub error: Option<String>,
    /// Preemption windows the static scan found: (function, rule).
    pub windows: Vec<(String, String)>,
    pub seconds: f64,
}

/// One test's runs in one cell.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    pub runs: u32,
    pub fails: u32,
    /// The first failure's classification of the binary's run and its log.
    pub signature: Option<String>,
    pub log: Option<String>,
}

/// Everything collected.
#[derive(Clone, Debug, Serialize)]
pub struct Collected {
    pub packages: Vec<String>,
    pub builds: Vec<Build>,
    /// (package, test, toolchain, arch) → tally.
    pub tests: BTreeMap<(String, String, String, Arch), Tally>,
    pub runs: u64,
    pub build_seconds: f64,
    pub run_seconds: f64,
    pub interrupted: bool,
}

/// One verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub change: Change,
    /// test, build or window.
    pub what: String,
    pub package: String,
    /// The test (for a test verdict), or the function (for a window).
    pub name: String,
    pub arch: Arch,
    /// Failed runs / runs of the baseline and candidate (tests).
    pub baseline: (u32, u32),
    pub candidate: (u32, u32),
    pub p_value: Option<f64>,
    /// What the failure looked like, and a log.
    pub detail: String,
    pub log: Option<String>,
    /// A script that reproduces a test's regression or fix (written by the command).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repro: Option<String>,
}

/// Judge what `engine::module::collect` collected.
pub fn judge(c: &Collected, baseline: &str, candidate: &str, alpha: f64) -> Vec<Verdict> {
    let mut out = Vec::new();
    // Builds.
    let build = |pkg: &str, tc: &str, arch: Arch| -> Option<&Build> {
        c.builds
            .iter()
            .find(|b| b.package == pkg && b.toolchain == tc && b.arch == arch)
    };
    let archs: BTreeSet<Arch> = c.builds.iter().map(|b| b.arch).collect();
    for pkg in &c.packages {
        for &arch in &archs {
            let (Some(b), Some(k)) = (build(pkg, baseline, arch), build(pkg, candidate, arch))
            else {
                continue;
            };
            let change = match (b.binary.is_some(), k.binary.is_some()) {
                (true, false) => Some(Change::Regression),
                (false, true) => Some(Change::Fix),
                (false, false) => Some(Change::Unchanged),
                (true, true) => None,
            };
            if let Some(change) = change {
                let err = k
                    .error
                    .as_ref()
                    .or(b.error.as_ref())
                    .cloned()
                    .unwrap_or_default();
                out.push(Verdict {
                    change,
                    what: "build".into(),
                    package: pkg.clone(),
                    name: "go test -c".into(),
                    arch,
                    baseline: (0, 0),
                    candidate: (0, 0),
                    p_value: None,
                    detail: err.lines().take(3).collect::<Vec<_>>().join(" / "),
                    log: None,
                    repro: None,
                });
            }
            // Windows.
            let bw: BTreeSet<&(String, String)> = b.windows.iter().collect();
            let kw: BTreeSet<&(String, String)> = k.windows.iter().collect();
            for w in bw.union(&kw) {
                let change = match (bw.contains(w), kw.contains(w)) {
                    (false, true) => Change::Regression,
                    (true, false) => Change::Fix,
                    _ => Change::Unchanged,
                };
                out.push(Verdict {
                    change,
                    what: "window".into(),
                    package: pkg.clone(),
                    name: w.0.clone(),
                    arch,
                    baseline: (0, 0),
                    candidate: (0, 0),
                    p_value: None,
                    detail: format!(
                        "preemption window ({}) in the {} build",
                        w.1,
                        match change {
                            Change::Regression => "candidate's",
                            Change::Fix => "baseline's",
                            _ => "baseline's and the candidate's",
                        }
                    ),
                    log: None,
                    repro: None,
                });
            }
        }
    }
    // Tests: those that failed anywhere are the comparisons (Bonferroni over them).
    let mut pairs: BTreeMap<(String, String, Arch), (Tally, Tally)> = BTreeMap::new();
    for ((pkg, test, tc, arch), t) in &c.tests {
        let e = pairs.entry((pkg.clone(), test.clone(), *arch)).or_default();
        if tc == baseline {
            e.0 = t.clone();
        } else if tc == candidate {
            e.1 = t.clone();
        }
    }
    let compared = pairs
        .values()
        .filter(|(b, k)| b.fails + k.fails > 0)
        .count()
        .max(1);
    let threshold = alpha / compared as f64;
    for ((pkg, test, arch), (b, k)) in pairs {
        if b.fails + k.fails == 0 || b.runs == 0 || k.runs == 0 {
            continue;
        }
        let p = fisher_two_sided(k.fails, k.runs - k.fails, b.fails, b.runs - b.fails);
        let kr = k.fails as f64 / k.runs as f64;
        let br = b.fails as f64 / b.runs as f64;
        let change = if p < threshold {
            if kr > br {
                Change::Regression
            } else {
                Change::Fix
            }
        } else if b.fails > 0 && k.fails > 0 {
            Change::Unchanged
        } else {
            Change::Inconclusive
        };
        let (detail, log) = if k.fails > 0 {
            (k.signature.clone(), k.log.clone())
        } else {
            (b.signature.clone(), b.log.clone())
        };
        out.push(Verdict {
            change,
            what: "test".into(),
            package: pkg,
            name: test,
            arch,
            baseline: (b.fails, b.runs),
            candidate: (k.fails, k.runs),
            p_value: Some(p),
            detail: detail.unwrap_or_default(),
            log,
            repro: None,
        });
    }
    out.sort_by(|a, b| {
        Change::ALL
            .iter()
            .position(|c| *c == a.change)
            .cmp(&Change::ALL.iter().position(|c| *c == b.change))
            .then(a.package.cmp(&b.package))
            .then(a.name.cmp(&b.name))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(fails: u32, runs: u32) -> Tally {
        Tally {
            runs,
            fails,
            signature: Some("panic: x".into()),
            log: None,
        }
    }

    fn collected(tests: &[(&str, &str, Tally)]) -> Collected {
        Collected {
            packages: vec!["m/a".into()],
            builds: vec![],
            tests: tests
                .iter()
                .map(|(t, tc, ta)| {
                    (
                        (
                            "m/a".to_string(),
                            t.to_string(),
                            tc.to_string(),
                            Arch::Amd64,
                        ),
                        ta.clone(),
                    )
                })
                .collect(),
            runs: 0,
            build_seconds: 0.0,
            run_seconds: 0.0,
            interrupted: false,
        }
    }

    #[test]
    fn certain_differences_are_changes_and_weak_ones_are_not() {
        let c = collected(&[
            ("TestNew", "b", tally(0, 10)),
            ("TestNew", "k", tally(10, 10)),
            ("TestFlaky", "b", tally(1, 10)),
            ("TestFlaky", "k", tally(2, 10)),
            ("TestOnce", "b", tally(0, 10)),
            ("TestOnce", "k", tally(1, 10)),
            ("TestOk", "b", tally(0, 10)),
            ("TestOk", "k", tally(0, 10)),
        ]);
        let v = judge(&c, "b", "k", 0.01);
        let of = |t: &str| v.iter().find(|x| x.name == t).map(|x| x.change);
        assert_eq!(of("TestNew"), Some(Change::Regression));
        assert_eq!(of("TestFlaky"), Some(Change::Unchanged));
        assert_eq!(of("TestOnce"), Some(Change::Inconclusive));
        assert_eq!(of("TestOk"), None);
        let v = judge(&c, "k", "b", 0.01);
        assert_eq!(
            v.iter().find(|x| x.name == "TestNew").map(|x| x.change),
            Some(Change::Fix)
        );
    }
}
