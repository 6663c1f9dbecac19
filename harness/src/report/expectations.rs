//! The corpus expectations judged per entry × cell: what summary.md's table
//! and junit.xml's corpus testcases show.

use crate::engine::corpus::{self, Verdict};
use crate::engine::pipeline::Cell;
use crate::engine::results::{self, Counts, Record, Stage};
use crate::model::Class;
use std::collections::BTreeMap;

/// One corpus entry on one cell: what was observed and what was expected.
pub struct CorpusCell {
    pub entry: String,
    pub toolchain: String,
    pub arch: crate::model::Arch,
    pub observed: String,
    /// The run expectation's verdict and description, if the entry has one here.
    pub run: Option<(Verdict, String)>,
    /// The static expectation's verdict, what the build showed, and the want.
    pub stat: Option<(Verdict, String, String)>,
}

impl CorpusCell {
    /// Expectations that did not hold (failed, infra, not run).
    pub fn failures(&self) -> usize {
        usize::from(self.run.as_ref().is_some_and(|(v, _)| *v != Verdict::Pass))
            + usize::from(
                self.stat
                    .as_ref()
                    .is_some_and(|(v, _, _)| *v != Verdict::Pass),
            )
    }
}

/// Every entry × cell of a corpus run, judged against its expectations.
pub fn corpus_cells(entries: &[corpus::Entry], cells: &[Cell], recs: &[Record]) -> Vec<CorpusCell> {
    let mut out = Vec::new();
    for e in entries {
        for c in cells {
            let runs: Vec<(Class, String)> = recs
                .iter()
                .filter(|r| {
                    r.program == e.name && r.toolchain == c.toolchain.name && r.arch == c.arch
                })
                .filter(|r| r.stage == Stage::Run || r.outcome != Class::Ok)
                .map(|r| (r.outcome, r.signature.clone()))
                .collect();
            let mut counts: Counts = BTreeMap::new();
            for (cl, _) in &runs {
                *counts.entry(*cl).or_default() += 1;
            }
            let observed = if runs.is_empty() {
                "not run".to_string()
            } else {
                results::counts_str(&counts)
            };
            let run = e
                .expectation(&c.toolchain.name, c.arch)
                .map(|x| (x.judge(&runs), x.describe()));
            let build = recs.iter().find(|r| {
                r.stage == Stage::Build
                    && r.program == e.name
                    && r.toolchain == c.toolchain.name
                    && r.arch == c.arch
            });
            let stat = e.static_expectation(&c.toolchain.name, c.arch).map(|x| {
                let (v, found) = x.judge(build);
                (v, found, x.describe())
            });
            out.push(CorpusCell {
                entry: e.name.clone(),
                toolchain: c.toolchain.name.clone(),
                arch: c.arch,
                observed,
                run,
                stat,
            });
        }
    }
    out
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Infra => "INFRA",
        Verdict::NotRun => "NOT RUN",
    }
}

/// A corpus cell in words: `PASS ok 8 (want ok); static PASS none (want none)`.
pub fn corpus_cell_text(c: &CorpusCell) -> String {
    let run = match &c.run {
        None => format!("{} (no expectation)", c.observed),
        Some((Verdict::NotRun, want)) => format!("NOT RUN (want {want})"),
        Some((v, want)) => format!("{} {} (want {want})", verdict_word(*v), c.observed),
    };
    let stat = match &c.stat {
        None => String::new(),
        Some((v, found, want)) => format!("; static {} {found} (want {want})", verdict_word(*v)),
    };
    run + &stat
}
