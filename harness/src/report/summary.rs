//! `summary.md`: the matrix of cells, the findings with their comparisons,
//! and the corpus expected-vs-observed table.

use crate::engine::corpus;
use crate::engine::pipeline::Cell;
use crate::engine::plan::{Plan, RunOutcome};
use crate::engine::results::{self, Counts, Record};
use crate::model::Class;
use crate::oracle::findings::Finding;
use crate::oracle::verdict;
use crate::report::expectations::{corpus_cell_text, corpus_cells, CorpusCell};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The corpus table (markdown) and the number of failed expectations.
pub fn corpus_table(entries: &[corpus::Entry], cells: &[Cell], recs: &[Record]) -> (String, usize) {
    let mut s = String::new();
    let _ = write!(s, "| entry |");
    for c in cells {
        let _ = write!(s, " {} {} |", c.toolchain.name, c.arch);
    }
    let _ = write!(s, "\n|---|");
    for _ in cells {
        let _ = write!(s, "---|");
    }
    s.push('\n');
    let judged = corpus_cells(entries, cells, recs);
    let failures = judged.iter().map(CorpusCell::failures).sum();
    for row in judged.chunks(cells.len().max(1)) {
        let _ = write!(s, "| {} |", row[0].entry);
        for c in row {
            let _ = write!(s, " {} |", corpus_cell_text(c));
        }
        s.push('\n');
    }
    (s, failures)
}

fn matrix(cells: &[Cell], tally: &results::Tally) -> String {
    let counts = &tally.counts;
    let programs = &tally.programs;
    let mut s = String::from("| program |");
    for c in cells {
        let _ = write!(s, " {} {} |", c.toolchain.name, c.arch);
    }
    s.push_str("\n|---|");
    for _ in cells {
        s.push_str("---|");
    }
    s.push('\n');
    let mut totals: Vec<Counts> = vec![BTreeMap::new(); cells.len()];
    let mut rows = Vec::new();
    for p in programs {
        let mut row = format!("| {p} |");
        let mut interesting = false;
        for (i, c) in cells.iter().enumerate() {
            let k = ((*p).clone(), c.toolchain.name.clone(), c.arch);
            let cc = counts.get(&k).cloned().unwrap_or_default();
            interesting |= cc.keys().any(|cl| *cl != Class::Ok);
            for (cl, n) in &cc {
                *totals[i].entry(*cl).or_default() += n;
            }
            let _ = write!(row, " {} |", results::counts_str(&cc));
        }
        if interesting || programs.len() <= 50 {
            rows.push(row);
        }
    }
    for r in &rows {
        s.push_str(r);
        s.push('\n');
    }
    s.push_str("| **total** |");
    for t in &totals {
        let _ = write!(s, " {} |", results::counts_str(t));
    }
    s.push('\n');
    if rows.len() < programs.len() {
        let _ = writeln!(
            s,
            "\n({} programs with only ok runs not listed)",
            programs.len() - rows.len()
        );
    }
    s
}

/// Write summary.md and the findings/<id>/ directories.
pub fn write_summary(
    plan: &Plan,
    cells: &[Cell],
    entries: Option<&[corpus::Entry]>,
    out: &RunOutcome,
) -> Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "# divergo run\n");
    let _ = writeln!(
        s,
        "{} programs, {} records, {:.1} s{}\n",
        out.programs,
        out.tally.records,
        out.elapsed.as_secs_f64(),
        if out.interrupted {
            ", **INTERRUPTED: partial results**"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "Executors:");
    let mut seen = BTreeSet::new();
    for c in cells {
        let label = match &c.executor {
            Ok(e) => e.label(),
            Err(why) => format!("{} (unavailable: {why})", c.arch),
        };
        if seen.insert(label.clone()) {
            let _ = writeln!(s, "- {label}");
        }
    }
    let _ = writeln!(s, "\nToolchains:");
    for c in cells.iter().filter(|c| c.arch == cells[0].arch) {
        let tc = &c.toolchain;
        let _ = writeln!(
            s,
            "- {} ({}){}",
            tc.name,
            tc.goroot.display(),
            tc.problem
                .as_ref()
                .map(|p| format!(" **unusable: {p}**"))
                .unwrap_or_default()
        );
    }
    let infra = out.tally.infra;
    if infra > 0 {
        let _ = writeln!(
            s,
            "\n{infra} infrastructure failures (not counted as program outcomes)."
        );
    }
    let new: Vec<&Finding> = out.findings.iter().filter(|f| f.is_new()).collect();
    let known: Vec<&Finding> = out.findings.iter().filter(|f| !f.is_new()).collect();
    if let Some(h) = &out.history {
        let _ = writeln!(s, "\n## Since the last run\n\n{}", history_section(h, &new));
    }
    let _ = writeln!(s, "\n## Findings ({})\n", new.len());
    if new.is_empty() {
        let _ = writeln!(s, "None at p < {}.\n", verdict::DEFAULT_ALPHA);
    }
    write_findings(&mut s, &new);
    if !known.is_empty() {
        let _ = writeln!(
            s,
            "## Known issues ({})\n\nFindings that match the known-issues file; they do not count as findings.\n",
            known.len()
        );
        write_findings(&mut s, &known);
    }
    if let Some(es) = entries {
        let (table, failures) = corpus_table(es, cells, &out.tally.kept);
        let _ = writeln!(s, "## Corpus expectations ({failures} failed)\n\n{table}");
    }
    let _ = writeln!(s, "## Outcome matrix\n\n{}", matrix(cells, &out.tally));
    let _ = plan;
    results::write_atomic(&out.out_dir.join("summary.md"), s.as_bytes())?;
    for f in &out.findings {
        crate::report::reproducer::write(&out.out_dir, f, plan, cells, &out.tally.kept)?;
    }
    results::write_atomic(
        &out.out_dir.join("report.html"),
        crate::report::html::html(cells, out).as_bytes(),
    )?;
    // After the reproducers: junit.xml quotes their fail.log.
    results::write_atomic(
        &out.out_dir.join("junit.xml"),
        crate::report::junit::junit(plan, cells, entries, out).as_bytes(),
    )?;
    Ok(())
}

/// One finding's history, in words: its status in this run, when it was
/// first seen and in how many runs, the acknowledgement note, and a chart of
/// the last runs that covered its cells.
pub fn history_line(h: &crate::oracle::findings::HistoryMark, with_chart: bool) -> String {
    use crate::oracle::findings::HistoryStatus;
    let status = match h.status {
        HistoryStatus::New => "**new**".to_string(),
        HistoryStatus::Regressed => "**regressed** (was marked fixed)".to_string(),
        st => st.name().to_string(),
    };
    let mut line = format!(
        "{status}; first seen {}, in {} run(s)",
        h.first_seen, h.runs_seen
    );
    if let Some(n) = &h.note {
        line.push_str(&format!("; note: {n}"));
    }
    if with_chart && h.chart.len() > 1 {
        line.push_str(&format!(
            "; last {} runs: `{}`",
            h.chart.len(),
            crate::oracle::findings::text_chart(&h.chart)
        ));
    }
    line
}

/// The "Since the last run" section: counts by history status, and the
/// findings that stopped showing.
fn history_section(h: &crate::oracle::findings::HistoryReport, new: &[&Finding]) -> String {
    use crate::oracle::findings::HistoryStatus as St;
    let n = |st: St| {
        new.iter()
            .filter(|f| f.history.as_ref().is_some_and(|m| m.status == st))
            .count()
    };
    let mut s = format!(
        "{} new, {} regressed, {} seen before, {} acknowledged; {} fixed (history {}{}).\n",
        n(St::New),
        n(St::Regressed),
        n(St::Seen),
        n(St::Acknowledged),
        h.fixed.len(),
        h.db.display(),
        h.previous
            .as_ref()
            .map(|p| format!(", last run {p}"))
            .unwrap_or_else(|| ", first run recorded".into())
    );
    if !h.fixed.is_empty() {
        s.push_str("\nNot seen in the last runs that covered their cells, now marked fixed:\n\n");
        for (id, kind, sig, last) in &h.fixed {
            s.push_str(&format!("- {id} {kind} `{sig}` (last seen {last})\n"));
        }
    }
    s
}

fn write_findings(s: &mut String, findings: &[&Finding]) {
    for f in findings {
        let _ = writeln!(
            s,
            "### {} {} ({}) `{}`\n",
            f.id,
            serde_json::to_value(f.kind).unwrap().as_str().unwrap_or(""),
            f.scope,
            f.signature
        );
        if let Some(k) = &f.known {
            let _ = writeln!(s, "known issue: {k}\n");
        }
        if let Some(h) = &f.history {
            let _ = writeln!(s, "history: {}\n", history_line(h, true));
        }
        if !f.bug.is_empty() && f.bug != f.signature {
            let _ = writeln!(s, "bug: `{}`\n", f.bug);
        }
        if let Some(t) = &f.triage {
            let _ = writeln!(
                s,
                "triage ({}, {} of {} bad without a knob): {}\n",
                t.cell, t.bad, t.runs, t.line
            );
        }
        let _ = writeln!(
            s,
            "program {} (template {}, seed {}), seen in {} program(s){}; reproducer: findings/{}/\n",
            f.program,
            f.template.as_deref().unwrap_or("-"),
            f.seed.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
            f.count,
            if f.kind.is_static() {
                ", exact (static scan of the builds, no trials)".to_string()
            } else {
                f.p_value.map(|p| format!(", p = {p:.2e}")).unwrap_or_default()
            },
            f.id
        );
        if let Some(r) = &f.reduced {
            let _ = writeln!(
                s,
                "reduced: {} -> {} lines in {:.0} s{}; findings/{}/reduced/\n",
                r.from_lines,
                r.lines,
                r.seconds,
                if r.verified {
                    ""
                } else {
                    " (NOT reproduced by the reduced program)"
                },
                f.id
            );
        }
        if !f.merged.is_empty() {
            let _ = writeln!(
                s,
                "one root cause with {} (their reduced programs have this one's shape)\n",
                f.merged.join(", ")
            );
        }
        for c in &f.cells {
            let what = if !f.kind.is_static() {
                results::counts_str(&c.outcomes)
            } else if c.divergent {
                "window (static scan of its build)".to_string()
            } else {
                "no such window (static scan of its build)".to_string()
            };
            let _ = writeln!(
                s,
                "- {}{} {}: {}",
                if c.divergent { "**" } else { "" },
                c.toolchain,
                c.executor,
                what
            );
            if c.divergent {
                s.truncate(s.trim_end().len());
                s.push_str("**\n");
            }
        }
        if !f.static_windows.is_empty() {
            s.push('\n');
            for w in &f.static_windows {
                let _ = writeln!(s, "- {}", w.line());
            }
        }
        if let Some(t) = f.threshold {
            let _ = writeln!(
                s,
                "\nComparisons (significant below {t:.1e}, corrected for the questions this program asked){}:",
                if f.settled { "" } else { "; **scope not settled: the trial budget ran out**" }
            );
            for c in &f.comparisons {
                let _ = writeln!(
                    s,
                    "- {} {} {}/{} vs {} {}/{}: p = {:.1e}{}",
                    serde_json::to_value(c.family)
                        .unwrap()
                        .as_str()
                        .unwrap_or(""),
                    c.worse,
                    c.worse_bad,
                    c.worse_runs,
                    c.better,
                    c.better_bad,
                    c.better_runs,
                    c.p,
                    if c.significant { " (significant)" } else { "" }
                );
            }
        }
        s.push('\n');
    }
}
