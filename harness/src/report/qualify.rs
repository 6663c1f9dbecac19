//! `qualify.md` and `qualify.json`: the upgrade verdict in one line, then
//! regressions with their reproducers, fixes, unchanged failures,
//! inconclusive divergences, and what was covered.

use crate::engine::plan::{Plan, Programs, RunOutcome};
use crate::engine::results;
use crate::oracle::upgrade::Change;
use crate::oracle::upgrade::Sorted;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

/// One finding as the upgrade report shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Entry {
    #[serde(flatten)]
    pub sorted: Sorted,
    /// Its reproducer directory.
    pub dir: PathBuf,
    pub finding: crate::oracle::findings::Finding,
}

/// What a qualification found.
pub struct Qualification {
    pub baseline: String,
    pub candidate: String,
    pub entries: Vec<Entry>,
    /// The runs it made: corpus then generated.
    pub parts: Vec<(&'static str, RunOutcome, Plan)>,
    /// Cells that never ran a program (every run an infra failure).
    pub infra_cells: Vec<String>,
    pub elapsed: Duration,
    pub interrupted: bool,
    pub budget_spent: bool,
}

impl Qualification {
    pub fn count(&self, c: Change) -> usize {
        self.entries.iter().filter(|e| e.sorted.change == c).count()
    }
}

/// The verdict line.
pub fn verdict_line(q: &Qualification) -> String {
    let (b, c) = (&q.baseline, &q.candidate);
    let n = |ch: Change| q.count(ch);
    let tail = format!(
        "{} regression(s), {} fix(es), {} unchanged failure(s), {} inconclusive",
        n(Change::Regression),
        n(Change::Fix),
        n(Change::Unchanged),
        n(Change::Inconclusive)
    );
    let stop = if q.interrupted {
        " (interrupted: partial)"
    } else {
        ""
    };
    if n(Change::Regression) > 0 {
        format!("REGRESSION: {c} is worse than {b}: {tail}{stop}")
    } else if !q.infra_cells.is_empty() {
        format!(
            "INCOMPLETE: no regression seen, but {} never ran a program: {tail}{stop}",
            q.infra_cells.join(", ")
        )
    } else {
        format!("PASS: no regression from {b} to {c}: {tail}{stop}")
    }
}

fn entry_md(s: &mut String, e: &Entry) {
    let f = &e.finding;
    let _ = writeln!(
        s,
        "### {} {:?} ({}): {}\n",
        f.id, f.kind, f.scope, f.signature
    );
    let _ = writeln!(s, "- why: {}", e.sorted.reason);
    let _ = writeln!(
        s,
        "- program: {}{}",
        f.program,
        if f.count > 1 {
            format!(" (and {} more)", f.count - 1)
        } else {
            String::new()
        }
    );
    for c in &f.cells {
        let _ = writeln!(
            s,
            "- {}/{} {}: {}{}",
            c.toolchain,
            c.arch,
            c.executor,
            if c.outcomes.is_empty() {
                "built".to_string()
            } else {
                results::counts_str(&c.outcomes)
            },
            if c.divergent { " **(divergent)**" } else { "" }
        );
    }
    if let Some(p) = f.p_value {
        let _ = writeln!(s, "- p = {p:.1e}");
    }
    for w in &f.static_windows {
        let _ = writeln!(s, "- {}", w.line());
    }
    let reduced = e.dir.join("reduced");
    let _ = writeln!(
        s,
        "- reproduce: `sh {}`{}\n",
        e.dir.join("repro.sh").display(),
        if reduced.is_dir() {
            format!(" (reduced: `sh {}`)", reduced.join("repro.sh").display())
        } else {
            String::new()
        }
    );
}

/// qualify.md.
pub fn markdown(q: &Qualification) -> String {
    let mut s = format!(
        "# divergo qualify: {} → {}\n\n**{}**\n\n",
        q.baseline,
        q.candidate,
        verdict_line(q)
    );
    for ch in Change::ALL {
        let es: Vec<&Entry> = q.entries.iter().filter(|e| e.sorted.change == ch).collect();
        let _ = writeln!(s, "## {} ({})\n", ch.title(), es.len());
        if es.is_empty() {
            s.push_str("None.\n\n");
        }
        for e in es {
            entry_md(&mut s, e);
        }
    }
    s.push_str("## Covered\n\n");
    for line in covered(q) {
        let _ = writeln!(s, "- {line}");
    }
    s
}

fn covered(q: &Qualification) -> Vec<String> {
    let mut v = Vec::new();
    for (name, o, plan) in &q.parts {
        let what = match &plan.programs {
            Programs::Corpus { dir, filter } => format!(
                "corpus {}{}",
                dir.display(),
                filter
                    .as_ref()
                    .map(|f| format!(" (entries matching {f:?})"))
                    .unwrap_or_default()
            ),
            Programs::Generated {
                templates, seed, ..
            } => format!(
                "generated programs from seed {seed}, templates {}",
                if templates.is_empty() {
                    "default".to_string()
                } else {
                    templates.join(",")
                }
            ),
        };
        let runs: BTreeMap<String, (u32, BTreeSet<String>)> = o
            .tally
            .cells
            .iter()
            .filter(|(_, c)| c.runs > 0)
            .map(|((t, a), c)| (format!("{t}/{a}"), (c.runs, c.executors.clone())))
            .collect();
        v.push(format!(
            "{name}: {} program(s) of {what}, {:.0} s, up to {} trials per cell; results in {}",
            o.programs,
            o.elapsed.as_secs_f64(),
            plan.trials,
            o.out_dir.display()
        ));
        for (cell, (n, ex)) in runs {
            v.push(format!(
                "  {cell}: {n} runs ({})",
                ex.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if let Some((_, _, plan)) = q.parts.first() {
        v.push(format!(
            "archs: {}; env: {}",
            plan.archs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            plan.env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    v.push(format!(
        "total {:.0} s{}",
        q.elapsed.as_secs_f64(),
        if q.budget_spent {
            "; the --duration budget ran out (programs not started were not run)"
        } else {
            ""
        }
    ));
    if !q.infra_cells.is_empty() {
        v.push(format!("never ran (infra): {}", q.infra_cells.join(", ")));
    }
    v
}

/// The JSON form (qualify.json, and stdout with --json).
pub fn json(q: &Qualification) -> serde_json::Value {
    let of = |ch: Change| -> Vec<&Entry> {
        q.entries.iter().filter(|e| e.sorted.change == ch).collect()
    };
    serde_json::json!({
        "verdict": if q.count(Change::Regression) > 0 { "regression" }
                   else if !q.infra_cells.is_empty() { "incomplete" } else { "pass" },
        "line": verdict_line(q),
        "baseline": q.baseline,
        "candidate": q.candidate,
        "regressions": of(Change::Regression),
        "fixes": of(Change::Fix),
        "unchanged": of(Change::Unchanged),
        "inconclusive": of(Change::Inconclusive),
        "covered": covered(q),
        "programs": q.parts.iter().map(|(_, o, _)| o.programs).sum::<usize>(),
        "elapsed_s": (q.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "interrupted": q.interrupted,
        "budget_spent": q.budget_spent,
        "infra_cells": q.infra_cells,
        "parts": q.parts.iter().map(|(n, o, _)| serde_json::json!({"name": n, "out_dir": o.out_dir})).collect::<Vec<_>>(),
    })
}

/// Write qualify.md and qualify.json into `out`.
pub fn write(q: &Qualification, out: &Path) -> Result<()> {
    results::write_atomic(&out.join("qualify.md"), markdown(q).as_bytes())?;
    results::write_atomic(
        &out.join("qualify.json"),
        &serde_json::to_vec_pretty(&json(q))?,
    )?;
    Ok(())
}
