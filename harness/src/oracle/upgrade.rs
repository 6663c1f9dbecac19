//! Upgrade verdicts: sort the findings of a baseline-vs-candidate run into
//! regressions (the candidate is worse), fixes (the candidate is better),
//! unchanged failures (both fail alike, known issues included) and
//! inconclusive divergences (a difference that no significant comparison
//! between the two toolchains backs).
//!
//! A regression is claimed only on evidence that names the candidate: a
//! significant toolchain comparison (same arch and executor) whose worse
//! cell is the candidate's, or, for the exact kinds (build failures, wrong
//! output, static windows), a cell of the candidate that differs from the
//! baseline's cell on the same arch. A false regression costs a team more
//! than a missed one, so anything weaker is not one.

use crate::model::Arch;
use crate::oracle::findings::{ComparisonReport, Finding, Kind};
use crate::oracle::verdict::Family;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where a finding lands in an upgrade report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The candidate is worse.
    Regression,
    /// The candidate is better.
    Fix,
    /// Both toolchains fail alike (or a known issue).
    Unchanged,
    /// The cells differ, but not attributably to the toolchain change.
    Inconclusive,
}

impl Change {
    pub const ALL: [Change; 4] = [
        Change::Regression,
        Change::Fix,
        Change::Unchanged,
        Change::Inconclusive,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Change::Regression => "Regressions",
            Change::Fix => "Fixes",
            Change::Unchanged => "Unchanged failures",
            Change::Inconclusive => "Inconclusive",
        }
    }
}

/// One finding, sorted, with the reason in words.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sorted {
    pub change: Change,
    pub reason: String,
}

fn toolchain_of(cell: &str) -> &str {
    cell.rsplit_once('/').map_or(cell, |(t, _)| t)
}

/// `go1.23.11/arm64 6 of 8 vs go1.23.12/arm64 0 of 6 (p = 9.7e-3)`, the
/// candidate's cell first: the worse one for a regression, the better one
/// for a fix.
fn in_words(c: &ComparisonReport, worse_first: bool) -> String {
    let worse = (&c.worse, c.worse_bad, c.worse_runs);
    let better = (&c.better, c.better_bad, c.better_runs);
    let ((a, ab, an), (b, bb, bn)) = if worse_first {
        (worse, better)
    } else {
        (better, worse)
    };
    format!("{a} {ab} of {an} vs {b} {bb} of {bn} (p = {:.1e})", c.p)
}

/// Sort `f` for the move from `baseline` to `candidate`.
pub fn sort(f: &Finding, baseline: &str, candidate: &str) -> Sorted {
    let sorted = |change, reason: String| Sorted { change, reason };
    if let Some(k) = &f.known {
        return sorted(Change::Unchanged, format!("known issue: {k}"));
    }
    match f.kind {
        Kind::Crash | Kind::Hang => {
            let sig: Vec<_> = f
                .comparisons
                .iter()
                .filter(|c| c.significant && c.family == Family::Toolchain)
                .collect();
            let worse_is = |t: &str| sig.iter().find(|c| toolchain_of(&c.worse) == t);
            if let Some(c) = worse_is(candidate) {
                return sorted(Change::Regression, in_words(c, true));
            }
            if let Some(c) = worse_is(baseline) {
                return sorted(Change::Fix, in_words(c, false));
            }
            match f.scope.as_str() {
                "cross-arch" | "all" => sorted(
                    Change::Unchanged,
                    format!("both toolchains fail alike ({})", f.scope),
                ),
                _ => sorted(
                    Change::Inconclusive,
                    format!(
                        "{} divergence; no significant difference between {baseline} and \
                         {candidate} on one arch",
                        f.scope
                    ),
                ),
            }
        }
        Kind::Build | Kind::WrongOutput | Kind::UnsafeWindow => {
            // Exact kinds: compare the two toolchains' cells arch by arch.
            let div = |t: &str, a: Arch| {
                f.cells
                    .iter()
                    .find(|c| c.toolchain == t && c.arch == a)
                    .map(|c| c.divergent)
            };
            let archs: BTreeSet<Arch> = f.cells.iter().map(|c| c.arch).collect();
            let (mut worse, mut better) = (Vec::new(), Vec::new());
            for a in archs {
                match (div(baseline, a), div(candidate, a)) {
                    (Some(false), Some(true)) => worse.push(a.to_string()),
                    (Some(true), Some(false)) => better.push(a.to_string()),
                    _ => {}
                }
            }
            let what = match f.kind {
                Kind::Build => "fails to build",
                Kind::WrongOutput => "prints another checksum",
                _ => "has a preemption window",
            };
            if f.kind == Kind::WrongOutput && !(worse.is_empty() && better.is_empty()) {
                // Two toolchains that disagree: which one is right is for a
                // person to say; that the upgrade changes the output is the
                // regression.
                let mut archs = worse;
                archs.extend(better);
                return sorted(
                    Change::Regression,
                    format!(
                        "{candidate} and {baseline} print different checksums on {}",
                        archs.join(", ")
                    ),
                );
            }
            if !worse.is_empty() {
                return sorted(
                    Change::Regression,
                    format!(
                        "{candidate} {what} on {} where {baseline} does not",
                        worse.join(", ")
                    ),
                );
            }
            if !better.is_empty() {
                return sorted(
                    Change::Fix,
                    format!(
                        "{baseline} {what} on {} where {candidate} does not",
                        better.join(", ")
                    ),
                );
            }
            sorted(
                Change::Unchanged,
                format!("both toolchains: same cells ({})", f.scope),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Class;
    use crate::oracle::findings::CellReport;
    use std::collections::BTreeMap;

    fn cell(tc: &str, arch: Arch, ok: u32, bad: u32, class: Class, divergent: bool) -> CellReport {
        let mut outcomes = BTreeMap::new();
        if ok > 0 {
            outcomes.insert(Class::Ok, ok);
        }
        if bad > 0 {
            outcomes.insert(class, bad);
        }
        CellReport {
            toolchain: tc.into(),
            arch,
            executor: format!("{arch} (test)"),
            runs: ok + bad,
            outcomes,
            divergent,
        }
    }

    fn finding(kind: Kind, scope: &str, cells: Vec<CellReport>) -> Finding {
        let mut f: Finding = serde_json::from_value(serde_json::json!({
            "id": "0000000000", "kind": kind, "scope": scope, "signature": "s",
            "template": null, "seed": null, "program": "p", "p_value": null,
            "alpha": 0.01, "cells": [], "count": 1, "programs": ["p"],
            "divergo_version": "test",
        }))
        .unwrap();
        f.cells = cells;
        f
    }

    fn cmp(
        worse: &str,
        wb: u32,
        better: &str,
        bb: u32,
        family: Family,
        sig: bool,
    ) -> ComparisonReport {
        ComparisonReport {
            family,
            worse: worse.into(),
            worse_bad: wb,
            worse_runs: 20,
            better: better.into(),
            better_bad: bb,
            better_runs: 20,
            p: if sig { 1e-4 } else { 0.3 },
            significant: sig,
        }
    }

    const B: &str = "go1.23.12";
    const C: &str = "go1.23.11";

    #[test]
    fn a_crash_only_the_candidate_shows_is_a_regression_and_the_reverse_a_fix() {
        let mut f = finding(
            Kind::Crash,
            "toolchain",
            vec![
                cell(C, Arch::Arm64, 10, 10, Class::Fatal, true),
                cell(B, Arch::Arm64, 20, 0, Class::Fatal, false),
            ],
        );
        f.comparisons = vec![cmp(
            "go1.23.11/arm64",
            10,
            "go1.23.12/arm64",
            0,
            Family::Toolchain,
            true,
        )];
        assert_eq!(sort(&f, B, C).change, Change::Regression);
        assert_eq!(sort(&f, C, B).change, Change::Fix);
        assert!(sort(&f, B, C).reason.contains("10 of 20"));
    }

    #[test]
    fn a_cross_arch_crash_of_both_toolchains_is_unchanged() {
        // The leaf-function window: both toolchains crash on arm64 at
        // different rates, never significantly apart; amd64 clean.
        let mut f = finding(
            Kind::Crash,
            "cross-arch",
            vec![
                cell(C, Arch::Amd64, 20, 0, Class::Fatal, false),
                cell(C, Arch::Arm64, 2, 3, Class::Fatal, true),
                cell(B, Arch::Amd64, 20, 0, Class::Fatal, false),
                cell(B, Arch::Arm64, 4, 1, Class::Fatal, true),
            ],
        );
        f.comparisons = vec![
            cmp(
                "go1.23.11/arm64",
                3,
                "go1.23.12/arm64",
                1,
                Family::Toolchain,
                false,
            ),
            cmp(
                "go1.23.11/arm64",
                3,
                "go1.23.11/amd64",
                0,
                Family::Arch,
                true,
            ),
        ];
        assert_eq!(sort(&f, B, C).change, Change::Unchanged);
        assert_eq!(sort(&f, C, B).change, Change::Unchanged);
    }

    #[test]
    fn an_arch_divergence_of_one_toolchain_alone_is_not_a_regression() {
        let mut f = finding(
            Kind::Crash,
            "arch",
            vec![
                cell(C, Arch::Amd64, 20, 0, Class::Fatal, false),
                cell(C, Arch::Arm64, 2, 3, Class::Fatal, true),
                cell(B, Arch::Amd64, 20, 0, Class::Fatal, false),
                cell(B, Arch::Arm64, 5, 0, Class::Fatal, false),
            ],
        );
        f.comparisons = vec![
            cmp(
                "go1.23.11/arm64",
                3,
                "go1.23.12/arm64",
                0,
                Family::Toolchain,
                false,
            ),
            cmp(
                "go1.23.11/arm64",
                3,
                "go1.23.11/amd64",
                0,
                Family::Arch,
                true,
            ),
        ];
        assert_eq!(sort(&f, B, C).change, Change::Inconclusive);
    }

    #[test]
    fn known_issues_are_unchanged_whatever_the_cells() {
        let mut f = finding(
            Kind::Crash,
            "toolchain",
            vec![
                cell(C, Arch::Arm64, 10, 10, Class::Fatal, true),
                cell(B, Arch::Arm64, 20, 0, Class::Fatal, false),
            ],
        );
        f.comparisons = vec![cmp(
            "go1.23.11/arm64",
            10,
            "go1.23.12/arm64",
            0,
            Family::Toolchain,
            true,
        )];
        f.known = Some("leaf".into());
        assert_eq!(sort(&f, B, C).change, Change::Unchanged);
    }

    #[test]
    fn exact_kinds_compare_the_cells_arch_by_arch() {
        let w = finding(
            Kind::UnsafeWindow,
            "toolchain",
            vec![
                cell(C, Arch::Arm64, 0, 0, Class::Ok, true),
                cell(B, Arch::Arm64, 0, 0, Class::Ok, false),
            ],
        );
        assert_eq!(sort(&w, B, C).change, Change::Regression);
        assert_eq!(sort(&w, C, B).change, Change::Fix);
        let both = finding(
            Kind::Build,
            "all",
            vec![
                cell(C, Arch::Amd64, 0, 1, Class::Ice, true),
                cell(B, Arch::Amd64, 0, 1, Class::Ice, true),
            ],
        );
        assert_eq!(sort(&both, B, C).change, Change::Unchanged);
        // Output that changes with the upgrade is a regression either way.
        let out = finding(
            Kind::WrongOutput,
            "toolchain",
            vec![
                cell(C, Arch::Amd64, 2, 0, Class::Ok, false),
                cell(B, Arch::Amd64, 2, 0, Class::Ok, true),
            ],
        );
        assert_eq!(sort(&out, B, C).change, Change::Regression);
        assert_eq!(sort(&out, C, B).change, Change::Regression);
    }
}
