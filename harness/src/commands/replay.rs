//! `divergo replay findings/<id>`: run a finding's program again on the same
//! cells, toolchains, environment and executors, and say whether the finding
//! still reproduces (the same kind of divergence on the same cells).

use crate::engine::executor::QemuMode;
use crate::error::{EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK};

use crate::engine::bisect::rate_lower_bound;
use crate::engine::pipeline::{self, Cell, Config, TrialPolicy};
use crate::engine::plan::{self, AdaptiveTrials};
use crate::engine::results;
use crate::engine::results::Writer;
use crate::exec;
use crate::model::{Arch, Class, Outcome, Program, Record, Stage};
use crate::oracle::findings::{self, Finding, Kind};
use crate::oracle::verdict;
use crate::report::reproducer;
use crate::toolchain::registry as toolchain;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

/// A stored finding made ready to test programs against: its cells, trial
/// budget and environment. `replay` tests the finding's own program;
/// `reduce` tests smaller ones.
pub struct Reproduction {
    pub finding: Finding,
    pub cells: Vec<Cell>,
    pub max_trials: u32,
    cfg: Config,
    writer: Mutex<Writer>,
}

/// What one test of a program showed.
pub struct Tested {
    pub records: Vec<Record>,
    /// The finding of the same kind on the same divergent cells, if any.
    pub same: Option<Finding>,
}

impl Tested {
    /// Whether it is the finding's bug again: same kind, same divergent
    /// cells, still significant, and the same bug key.
    pub fn same_bug(&self, want: &Finding) -> bool {
        self.same.as_ref().is_some_and(|f| f.bug == want.bug)
    }

    /// Bad runs (of the finding's kind) and runs, over the cells divergent
    /// in `want`. None for the exact kinds (build, wrong output, static).
    pub fn divergent_rate(&self, want: &Finding) -> Option<(u32, u32)> {
        let k = bad_kind(want.kind)?;
        let cells = divergent_cells(want);
        let runs = self
            .records
            .iter()
            .filter(|r| r.stage == Stage::Run && cells.contains(&(r.toolchain.clone(), r.arch)));
        let (mut bad, mut n) = (0, 0);
        for r in runs {
            n += 1;
            bad += u32::from(k.is_bad(r.outcome));
        }
        Some((bad, n))
    }

    /// The bug keys of its failed runs, on any cell: a run that failed for
    /// a reason other than the finding's bug is another bug showing.
    /// Infrastructure failures are not the program's and are left out.
    pub fn failure_bugs(&self) -> BTreeSet<String> {
        self.records
            .iter()
            .filter(|r| r.stage == Stage::Run)
            .filter_map(|r| failure_bug(r.outcome, &r.signature))
            .collect()
    }

    /// [`Tested::failure_bugs`] not in `allowed`: other bugs showing.
    pub fn bugs_outside(&self, allowed: &BTreeSet<String>) -> Vec<String> {
        self.failure_bugs()
            .into_iter()
            .filter(|b| !allowed.contains(b))
            .collect()
    }

    /// Trials it ran.
    pub fn trials(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.stage == Stage::Run)
            .count()
    }
}

/// The bug key of a failed run; none for a clean run or an infrastructure
/// failure (not the program's).
fn failure_bug(class: Class, signature: &str) -> Option<String> {
    (!matches!(class, Class::Ok | Class::Infra))
        .then(|| crate::oracle::classify::bug_key(signature))
}

fn divergent_cells(f: &Finding) -> BTreeSet<(String, Arch)> {
    f.cells
        .iter()
        .filter(|c| c.divergent)
        .map(|c| (c.toolchain.clone(), c.arch))
        .collect()
}

impl Reproduction {
    /// Prepare to test programs against `finding`, writing records into
    /// `out` (scratch space in `out/work`).
    pub fn new(
        finding: Finding,
        env: BTreeMap<String, String>,
        emulated_cpus: u32,
        out: &Path,
        trials: Option<u32>,
        jobs: usize,
    ) -> Result<Reproduction> {
        let home = toolchain::home();
        let names: Vec<String> = finding
            .cells
            .iter()
            .map(|c| c.toolchain.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let tcs = plan::resolve_toolchains(&home, &names)?;
        let archs: Vec<Arch> = finding
            .cells
            .iter()
            .map(|c| c.arch)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mode = if finding.cells.iter().any(|c| c.executor.contains("plain")) {
            QemuMode::Plain
        } else {
            QemuMode::OneInsnPerTb
        };
        // A compile-only cell of the finding is built again, never run.
        let compile_only = format!("({})", crate::engine::pipeline::COMPILE_ONLY);
        let cells: Vec<_> = plan::cells(&tcs, &archs, mode)
            .into_iter()
            .filter_map(|mut c| {
                let f = finding
                    .cells
                    .iter()
                    .find(|f| f.toolchain == c.toolchain.name && f.arch == c.arch)?;
                c.compile_only = f.executor.ends_with(&compile_only);
                Some(c)
            })
            .collect();
        let max_trials = trials.unwrap_or_else(|| own_trials(&finding));
        let work = out.join("work");
        std::fs::create_dir_all(&work)?;
        let cfg = Config {
            emulated_cpus,
            ..Config::standard(home, out.to_path_buf(), work, jobs, env)
        };
        let writer = Mutex::new(Writer::open(out)?);
        Ok(Reproduction {
            finding,
            cells,
            max_trials,
            cfg,
            writer,
        })
    }

    /// CPUs each emulated run is pinned to.
    pub fn emulated_cpus(&self) -> u32 {
        self.cfg.emulated_cpus
    }

    /// Build and run `prog` on the finding's cells with the replay trials.
    pub fn test(&self, prog: &Program) -> Result<Tested> {
        self.test_allowing(prog, None)
    }

    /// [`Reproduction::test`], stopping early once a run fails under a bug
    /// key outside `allowed` (when given).
    pub fn test_allowing(
        &self,
        prog: &Program,
        allowed: Option<&BTreeSet<String>>,
    ) -> Result<Tested> {
        let finding = &self.finding;
        let divergent: Vec<bool> = self
            .cells
            .iter()
            .map(|c| {
                finding
                    .cells
                    .iter()
                    .any(|f| f.divergent && f.toolchain == c.toolchain.name && f.arch == c.arch)
            })
            .collect();
        let policy: Box<dyn TrialPolicy> = if finding.kind.is_static() {
            // A static finding is exact: the builds and their scans are the
            // whole evidence.
            Box::new(pipeline::FixedTrials(0))
        } else {
            Box::new(ReplayTrials {
                inner: AdaptiveTrials::new(self.max_trials, &self.cells),
                divergent,
                kind: finding.kind,
                allowed,
            })
        };
        let records = pipeline::test_program(
            &self.cfg,
            prog,
            &self.cells,
            policy.as_ref(),
            &HashMap::new(),
            &self.writer,
            &|_| {},
        )?;
        let want = divergent_cells(finding);
        let same = crate::oracle::judge::findings_for_program_at(prog, &records, finding.alpha)
            .into_iter()
            .find(|f| f.kind == finding.kind && divergent_cells(f) == want);
        Ok(Tested { records, same })
    }

    /// For a crash finding the static scan confirmed (its `static_windows`):
    /// whether `prog`'s builds on those cells still have a window of the
    /// same rule. Builds and scans only, no runs: a reducer's cheap first
    /// check, since a cut that closes the window cannot show the crash the
    /// window explains. None when the finding has no static evidence.
    pub fn windows_remain(&self, prog: &Program) -> Result<Option<bool>> {
        let want: BTreeSet<(&str, Arch, &str)> = self
            .finding
            .static_windows
            .iter()
            .map(|w| (w.toolchain.as_str(), w.arch, w.window.rule.as_str()))
            .collect();
        if want.is_empty() || self.finding.kind.is_static() {
            return Ok(None);
        }
        let records = pipeline::test_program(
            &self.cfg,
            prog,
            &self.cells,
            &pipeline::FixedTrials(0),
            &HashMap::new(),
            &self.writer,
            &|_| {},
        )?;
        let have: BTreeSet<(&str, Arch, &str)> = records
            .iter()
            .filter(|r| r.stage == Stage::Build)
            .filter_map(|r| r.scan.as_ref().map(|s| (r, s)))
            .flat_map(|(r, s)| {
                s.windows
                    .iter()
                    .map(move |w| (r.toolchain.as_str(), r.arch, w.rule.as_str()))
            })
            .collect();
        Ok(Some(want.is_subset(&have)))
    }

    /// Outcome counts per cell, one line each.
    pub fn cell_lines(&self, recs: &[Record]) -> Vec<String> {
        self.cells
            .iter()
            .map(|c| {
                let mut counts: results::Counts = BTreeMap::new();
                for r in recs
                    .iter()
                    .filter(|r| r.toolchain == c.toolchain.name && r.arch == c.arch)
                {
                    if r.stage == Stage::Run || r.outcome != Class::Ok {
                        *counts.entry(r.outcome).or_default() += 1;
                    }
                }
                let windows: BTreeSet<&str> = recs
                    .iter()
                    .filter(|r| r.toolchain == c.toolchain.name && r.arch == c.arch)
                    .filter_map(|r| r.scan.as_ref())
                    .flat_map(|s| s.windows.iter().map(|w| w.function.as_str()))
                    .collect();
                let stat = if windows.is_empty() {
                    "no window".to_string()
                } else {
                    format!(
                        "window in {}",
                        windows.into_iter().collect::<Vec<_>>().join(", ")
                    )
                };
                let runs = if counts.is_empty() {
                    "no runs".to_string()
                } else {
                    results::counts_str(&counts)
                };
                format!(
                    "{} {}: {runs} (static: {stat})",
                    c.toolchain.name,
                    c.executor_label(),
                )
            })
            .collect()
    }
}

pub fn replay(dir: &Path, trials: Option<u32>, jobs: usize) -> Result<i32> {
    let reproducer::Stored {
        finding,
        program: prog,
        env,
        emulated_cpus,
    } = reproducer::load(dir)?;
    let out = tempfile::Builder::new()
        .prefix("replay-")
        .tempdir_in(dir)
        .or_else(|_| tempfile::tempdir())?;
    let mut r = Reproduction::new(finding, env, emulated_cpus, out.path(), trials, jobs)?;
    if trials.is_none() && !r.finding.kind.is_static() {
        let ids: Vec<_> = r.cells.iter().map(plan::cell_id).collect();
        r.max_trials = default_trials(&r.finding, &ids);
    }
    let finding = &r.finding;
    let budget = if finding.kind.is_static() {
        "builds and scans only".to_string()
    } else {
        format!("up to {} trials each", r.max_trials)
    };
    eprintln!(
        "replaying {} ({:?}, {}) on {} cell(s), {budget}",
        finding.id,
        finding.kind,
        finding.signature,
        r.cells.len(),
    );
    let t = r.test(&prog)?;
    if exec::interrupted() {
        return Ok(EXIT_INTERRUPTED);
    }
    for line in r.cell_lines(&t.records) {
        eprintln!("  {line}");
    }
    match &t.same {
        Some(f) => {
            eprintln!(
                "reproduced: {:?} on the same cells{}{}",
                f.kind,
                f.p_value
                    .map(|p| format!(", p = {p:.1e}"))
                    .unwrap_or_default(),
                if f.signature == finding.signature {
                    String::new()
                } else {
                    format!(" (signature now {:?})", f.signature)
                }
            );
            Ok(EXIT_OK)
        }
        None => {
            eprintln!("not reproduced");
            Ok(EXIT_FINDINGS)
        }
    }
}

/// Most replay trials per cell when none are asked for: enough that a bug
/// failing at the rate the finding showed (the 95 % lower bound of its
/// divergent cells' rate) is seen significant again with probability 0.99,
/// at the finding's threshold divided by every question the cells ask
/// (Bonferroni, the worst case of the correction the verdict applies). Never
/// fewer than the finding itself ran, never more than [`MAX_DEFAULT_TRIALS`].
/// The adaptive policy stops well before this when the bug shows.
pub fn default_trials(f: &Finding, ids: &[verdict::CellId]) -> u32 {
    let own = own_trials(f);
    let bad = |c: &findings::CellReport| -> u32 {
        c.outcomes
            .iter()
            .filter(|(class, _)| bad_kind(f.kind).is_some_and(|k| k.is_bad(**class)))
            .map(|(_, n)| *n)
            .sum()
    };
    let rate = f
        .cells
        .iter()
        .filter(|c| c.divergent && c.runs > 0)
        .map(|c| rate_lower_bound(bad(c), c.runs))
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))));
    let Some(rate) = rate.filter(|r| *r > 0.0) else {
        return own;
    };
    let questions = (2 * verdict::question_pairs(ids).len()).max(1);
    let threshold = f.alpha / questions as f64;
    let need = verdict::trials_for_power(rate, threshold, 0.99, MAX_DEFAULT_TRIALS)
        .unwrap_or(MAX_DEFAULT_TRIALS);
    need.max(own)
}

/// The kind of bad run a rate finding is about (none for the exact kinds).
pub(crate) fn bad_kind(k: Kind) -> Option<verdict::BadKind> {
    match k {
        Kind::Crash => Some(verdict::BadKind::Crash),
        Kind::Hang => Some(verdict::BadKind::Hang),
        Kind::Build | Kind::WrongOutput | Kind::UnsafeWindow => None,
    }
}

/// The most trials a cell of the finding had.
fn own_trials(f: &Finding) -> u32 {
    f.cells.iter().map(|c| c.runs).max().unwrap_or(3).max(1)
}

/// The most trials per cell a replay picks by itself (`--trials` can ask
/// for more).
pub const MAX_DEFAULT_TRIALS: u32 = 100;

/// Replay trials: the adaptive policy, except that a cell that was divergent
/// in the finding keeps getting trials (up to the budget) until it shows the
/// finding's kind of failure again: a bug that fires in some runs must not be
/// declared gone after a lucky first round.
struct ReplayTrials<'a> {
    inner: AdaptiveTrials,
    divergent: Vec<bool>,
    kind: Kind,
    /// The bug keys a run may fail with; a failure under any other ends
    /// the test (the program is out, whatever more trials would show).
    allowed: Option<&'a BTreeSet<String>>,
}

impl TrialPolicy for ReplayTrials<'_> {
    fn more(&self, cell: usize, all: &[Vec<Outcome>], cost: &[f64]) -> u32 {
        if let Some(allowed) = self.allowed {
            let other = all
                .iter()
                .flatten()
                .any(|o| failure_bug(o.class, &o.signature).is_some_and(|b| !allowed.contains(&b)));
            if other {
                return 0;
            }
        }
        let n = self.inner.more(cell, all, cost);
        if n > 0 {
            return n;
        }
        let runs = &all[cell];
        // Build and wrong-output findings show on the first run or not at
        // all; static findings are judged from the builds (nothing runs).
        let shown = runs
            .iter()
            .any(|o| bad_kind(self.kind).is_none_or(|k| k.is_bad(o.class)));
        u32::from(self.divergent[cell] && !shown && (runs.len() as u32) < self.inner.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(cells: serde_json::Value) -> Finding {
        serde_json::from_value(serde_json::json!({
            "id": "0000000000", "kind": "crash", "scope": "toolchain", "signature": "s",
            "template": null, "seed": null, "program": "p", "p_value": 1e-3,
            "alpha": 0.01, "cells": cells, "count": 1, "programs": ["p"],
            "divergo_version": "test",
        }))
        .unwrap()
    }

    fn ids() -> Vec<verdict::CellId> {
        let id = |t: &str, arch: Arch| verdict::CellId {
            toolchain: t.into(),
            arch,
            executor: arch.to_string(),
        };
        vec![
            id("a", Arch::Amd64),
            id("a", Arch::Arm64),
            id("b", Arch::Amd64),
            id("b", Arch::Arm64),
        ]
    }

    fn cell(t: &str, arch: &str, fatal: u32, ok: u32, divergent: bool) -> serde_json::Value {
        serde_json::json!({"toolchain": t, "arch": arch, "executor": arch, "runs": fatal + ok,
            "outcomes": {"fatal": fatal, "ok": ok}, "divergent": divergent})
    }

    #[test]
    fn the_replay_budget_follows_the_rate_the_finding_showed() {
        // 3 of 5 fatal on one of four cells: lower bound 0.23, 8 questions.
        let f = finding(serde_json::json!([
            cell("a", "amd64", 0, 20, false),
            cell("a", "arm64", 3, 2, true),
            cell("b", "amd64", 0, 2, false),
            cell("b", "arm64", 0, 20, false),
        ]));
        assert_eq!(default_trials(&f, &ids()), 82);
        // Always failing: few trials suffice, but never fewer than it had.
        let f = finding(serde_json::json!([
            cell("a", "amd64", 0, 20, false),
            cell("a", "arm64", 10, 0, true),
            cell("b", "amd64", 0, 2, false),
            cell("b", "arm64", 0, 20, false),
        ]));
        assert_eq!(default_trials(&f, &ids()), 20);
        // A rate too low to show within the cap: the cap.
        let f = finding(serde_json::json!([
            cell("a", "arm64", 1, 19, true),
            cell("b", "arm64", 0, 20, false),
        ]));
        assert_eq!(default_trials(&f, &ids()[..0]), MAX_DEFAULT_TRIALS);
    }
}
