//! Verdicts and reports: findings from the records of a program, their
//! deduplication, the `findings/<id>/` reproducers, `summary.md`, and the
//! corpus expected-vs-observed table.

use crate::corpus::{self, Verdict};
use crate::model::{Arch, Class};
use crate::pipeline::{Cell, Program};
use crate::results::{self, Counts, Record, Stage};
use crate::run::{Plan, RunOutcome};
use crate::verdict;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Build,
    Crash,
    Hang,
    WrongOutput,
}

impl Kind {
    fn severity(self) -> u8 {
        match self {
            Kind::WrongOutput => 4,
            Kind::Crash => 3,
            Kind::Hang => 2,
            Kind::Build => 1,
        }
    }
}

/// Outcome counts of one cell, as reported.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CellReport {
    pub toolchain: String,
    pub arch: Arch,
    pub executor: String,
    pub runs: u32,
    pub outcomes: BTreeMap<Class, u32>,
    /// This cell is one of the divergent ones.
    pub divergent: bool,
}

/// The scopes `Finding::scope` takes.
pub const SCOPES: &[&str] = &["toolchain", "cross-arch", "all"];

/// A divergence (or an everywhere-crash) with its evidence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub kind: Kind,
    /// `toolchain` (some toolchains differ), `cross-arch` (every cell of one
    /// arch and none of the other), or `all` (every cell).
    pub scope: String,
    pub signature: String,
    pub template: Option<String>,
    pub seed: Option<u64>,
    /// The smallest program that shows it.
    pub program: String,
    /// Smallest two-sided Fisher p-value between a divergent and a clean cell.
    pub p_value: Option<f64>,
    pub alpha: f64,
    pub cells: Vec<CellReport>,
    /// How many programs showed this finding.
    pub count: u32,
    pub programs: Vec<String>,
    pub divergo_version: String,
    /// The known issue (see `known`) this finding matches, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
    #[serde(skip)]
    pub source: Option<Program>,
}

impl Finding {
    /// A finding that matches no known issue.
    pub fn is_new(&self) -> bool {
        self.known.is_none()
    }
}

fn cell_reports(recs: &[Record]) -> Vec<CellReport> {
    let mut m: BTreeMap<(String, Arch), CellReport> = BTreeMap::new();
    for r in recs {
        let e = m
            .entry((r.toolchain.clone(), r.arch))
            .or_insert_with(|| CellReport {
                toolchain: r.toolchain.clone(),
                arch: r.arch,
                executor: r.executor.clone(),
                runs: 0,
                outcomes: BTreeMap::new(),
                divergent: false,
            });
        if r.stage == Stage::Build && r.outcome == Class::Ok {
            continue;
        }
        if r.stage == Stage::Run {
            e.runs += 1;
        }
        *e.outcomes.entry(r.outcome).or_default() += 1;
    }
    let mut v: Vec<CellReport> = m.into_values().collect();
    v.sort_by(|a, b| {
        crate::fetch::go_version_cmp(&a.toolchain, &b.toolchain).then(a.arch.cmp(&b.arch))
    });
    v
}

fn program_runs(c: &CellReport) -> u32 {
    c.outcomes
        .iter()
        .filter(|(cl, _)| cl.is_program_outcome() && !matches!(cl, Class::BuildError | Class::Ice))
        .map(|(_, n)| *n)
        .sum()
}

fn bad_runs(c: &CellReport, kind: Kind) -> u32 {
    c.outcomes
        .iter()
        .filter(|(cl, _)| match kind {
            Kind::Crash => cl.is_crash() || **cl == Class::Oom,
            Kind::Hang => **cl == Class::Hang,
            _ => false,
        })
        .map(|(_, n)| *n)
        .sum()
}

fn finding_id(kind: Kind, signature: &str, cells: &[CellReport]) -> String {
    let mut h = Sha256::new();
    h.update(format!("{kind:?}\0{signature}\0"));
    for c in cells.iter().filter(|c| c.divergent) {
        h.update(format!("{}/{}\0", c.toolchain, c.arch));
    }
    let d = h.finalize();
    d.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

fn most_common_signature<'a>(recs: impl Iterator<Item = &'a Record>) -> String {
    let mut m: BTreeMap<&str, u32> = BTreeMap::new();
    for r in recs {
        *m.entry(r.signature.as_str()).or_default() += 1;
    }
    m.into_iter()
        .max_by_key(|(s, n)| (*n, std::cmp::Reverse(*s)))
        .map(|(s, _)| s.to_string())
        .unwrap_or_default()
}

fn scope_of(cells: &[CellReport], bad: impl Fn(&CellReport) -> bool) -> String {
    let judged: Vec<&CellReport> = cells.iter().filter(|c| program_runs(c) > 0).collect();
    if !judged.is_empty() && judged.iter().all(|c| bad(c)) {
        return "all".into();
    }
    let archs: BTreeSet<Arch> = judged.iter().map(|c| c.arch).collect();
    if archs.len() > 1 {
        for a in &archs {
            let mine = judged.iter().filter(|c| c.arch == *a);
            let others = judged.iter().filter(|c| c.arch != *a);
            if mine.clone().all(|c| c.divergent) && others.clone().all(|c| !bad(c)) {
                return "cross-arch".into();
            }
        }
    }
    "toolchain".into()
}

/// The findings one program's records show, at significance `alpha`.
pub fn findings_for_program_at(prog: &Program, recs: &[Record], alpha: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    let base = cell_reports(recs);
    let mk =
        |kind: Kind, cells: Vec<CellReport>, signature: String, p: Option<f64>, scope: String| {
            Finding {
                id: finding_id(kind, &signature, &cells),
                kind,
                scope,
                signature,
                template: prog.template.clone(),
                seed: prog.seed,
                program: prog.name.clone(),
                p_value: p,
                alpha,
                cells,
                count: 1,
                programs: vec![prog.name.clone()],
                divergo_version: crate::run::version(),
                known: None,
                source: Some(prog.clone()),
            }
        };

    // Build: an ICE anywhere, or some toolchains build what others reject.
    let build_bad = |c: &CellReport| {
        c.outcomes.contains_key(&Class::BuildError) || c.outcomes.contains_key(&Class::Ice)
    };
    let built_ok =
        |c: &CellReport| !build_bad(c) && !c.outcomes.contains_key(&Class::Infra) || c.runs > 0;
    let any_ice = base.iter().any(|c| c.outcomes.contains_key(&Class::Ice));
    if any_ice || (base.iter().any(build_bad) && base.iter().any(|c| !build_bad(c) && built_ok(c)))
    {
        let mut cells = base.clone();
        for c in &mut cells {
            c.divergent = build_bad(c);
        }
        let sig = most_common_signature(recs.iter().filter(|r| {
            r.stage == Stage::Build && matches!(r.outcome, Class::Ice | Class::BuildError)
        }));
        let scope = scope_of(&cells, build_bad);
        out.push(mk(Kind::Build, cells, sig, None, scope));
    }

    // Crash and hang rates.
    for kind in [Kind::Crash, Kind::Hang] {
        let mut cells = base.clone();
        let mut best_p: Option<f64> = None;
        for i in 0..cells.len() {
            for j in 0..cells.len() {
                let (ni, nj) = (program_runs(&cells[i]), program_runs(&cells[j]));
                if i == j || ni == 0 || nj == 0 {
                    continue;
                }
                let (bi, bj) = (bad_runs(&cells[i], kind), bad_runs(&cells[j], kind));
                if bi as f64 / ni as f64 <= bj as f64 / nj as f64 {
                    continue;
                }
                let p = verdict::fisher_two_sided(bi, ni - bi, bj, nj - bj);
                if p < alpha {
                    cells[i].divergent = true;
                    best_p = Some(best_p.map_or(p, |b: f64| b.min(p)));
                }
            }
        }
        let everywhere = cells.iter().filter(|c| program_runs(c) > 0).count() > 0
            && cells
                .iter()
                .filter(|c| program_runs(c) > 0)
                .all(|c| bad_runs(c, kind) == program_runs(c));
        if best_p.is_none() && !everywhere {
            continue;
        }
        if everywhere {
            for c in &mut cells {
                c.divergent = program_runs(c) > 0;
            }
        }
        let div: BTreeSet<(String, Arch)> = cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| (c.toolchain.clone(), c.arch))
            .collect();
        let sig = most_common_signature(recs.iter().filter(|r| {
            r.stage == Stage::Run
                && div.contains(&(r.toolchain.clone(), r.arch))
                && match kind {
                    Kind::Crash => r.outcome.is_crash() || r.outcome == Class::Oom,
                    _ => r.outcome == Class::Hang,
                }
        }));
        let scope = scope_of(&cells, |c| bad_runs(c, kind) > 0);
        out.push(mk(kind, cells, sig, best_p, scope));
    }

    // Wrong output: clean runs whose checksums differ between cells.
    let mut sums: BTreeMap<(String, Arch), BTreeSet<String>> = BTreeMap::new();
    for r in recs
        .iter()
        .filter(|r| r.stage == Stage::Run && r.outcome == Class::Ok)
    {
        if let Some(c) = &r.checksum {
            sums.entry((r.toolchain.clone(), r.arch))
                .or_default()
                .insert(c.clone());
        }
    }
    let distinct: BTreeSet<&String> = sums.values().flatten().collect();
    if distinct.len() > 1 {
        // The majority checksum (by cells) is taken as the reference.
        let mut by_sum: BTreeMap<&String, u32> = BTreeMap::new();
        for s in sums.values().flatten() {
            *by_sum.entry(s).or_default() += 1;
        }
        let reference = by_sum
            .iter()
            .max_by_key(|(s, n)| (**n, std::cmp::Reverse(**s)))
            .map(|(s, _)| (*s).clone());
        let mut cells = base.clone();
        for c in &mut cells {
            if let Some(set) = sums.get(&(c.toolchain.clone(), c.arch)) {
                c.divergent = reference.as_ref().is_some_and(|r| !set.contains(r)) || set.len() > 1;
            }
        }
        let scope = scope_of(&cells, |c| c.divergent);
        out.push(mk(
            Kind::WrongOutput,
            cells,
            "checksum mismatch".into(),
            None,
            scope,
        ));
    }
    out
}

pub fn findings_for_program(prog: &Program, recs: &[Record]) -> Vec<Finding> {
    findings_for_program_at(prog, recs, verdict::DEFAULT_ALPHA)
}

/// Merge findings with the same id (same kind, signature and divergent cells):
/// count them, keep the smallest program. Most severe first.
pub fn dedup(findings: Vec<Finding>) -> Vec<Finding> {
    let mut m: BTreeMap<String, Finding> = BTreeMap::new();
    for f in findings {
        match m.get_mut(&f.id) {
            None => {
                m.insert(f.id.clone(), f);
            }
            Some(e) => {
                e.count += f.count;
                e.programs.extend(f.programs.iter().cloned());
                let size = |x: &Finding| x.source.as_ref().map_or(usize::MAX, |p| p.main_go.len());
                if size(&f) < size(e) {
                    let (count, programs) = (e.count, e.programs.clone());
                    *e = f;
                    e.count = count;
                    e.programs = programs;
                }
            }
        }
    }
    let mut v: Vec<Finding> = m.into_values().collect();
    v.sort_by(|a, b| {
        b.kind
            .severity()
            .cmp(&a.kind.severity())
            .then(b.count.cmp(&a.count))
            .then(a.id.cmp(&b.id))
    });
    v
}

/// The corpus table (markdown) and the number of failed expectations.
pub fn corpus_table(entries: &[corpus::Entry], cells: &[Cell], recs: &[Record]) -> (String, usize) {
    let mut s = String::new();
    let mut failures = 0;
    let _ = write!(s, "| entry |");
    for c in cells {
        let _ = write!(s, " {} {} |", c.toolchain.name, c.arch);
    }
    let _ = write!(s, "\n|---|");
    for _ in cells {
        let _ = write!(s, "---|");
    }
    s.push('\n');
    for e in entries {
        let _ = write!(s, "| {} |", e.name);
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
            let cell = match e.expectation(&c.toolchain.name, c.arch) {
                None => format!("{observed} (no expectation)"),
                Some(x) => match x.judge(&runs) {
                    Verdict::Pass => format!("PASS {observed} (want {})", x.describe()),
                    Verdict::Fail => {
                        failures += 1;
                        format!("FAIL {observed} (want {})", x.describe())
                    }
                    Verdict::Infra => {
                        failures += 1;
                        format!("INFRA {observed} (want {})", x.describe())
                    }
                    Verdict::NotRun => {
                        failures += 1;
                        format!("NOT RUN (want {})", x.describe())
                    }
                },
            };
            let _ = write!(s, " {cell} |");
        }
        s.push('\n');
    }
    (s, failures)
}

fn matrix(cells: &[Cell], recs: &[Record]) -> String {
    let counts = results::cell_counts(recs);
    let programs: BTreeSet<&String> = recs.iter().map(|r| &r.program).collect();
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
    for p in &programs {
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
        out.records.len(),
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
    let infra = out
        .records
        .iter()
        .filter(|r| r.outcome == Class::Infra)
        .count();
    if infra > 0 {
        let _ = writeln!(
            s,
            "\n{infra} infrastructure failures (not counted as program outcomes)."
        );
    }
    let new: Vec<&Finding> = out.findings.iter().filter(|f| f.is_new()).collect();
    let known: Vec<&Finding> = out.findings.iter().filter(|f| !f.is_new()).collect();
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
        let (table, failures) = corpus_table(es, cells, &out.records);
        let _ = writeln!(s, "## Corpus expectations ({failures} failed)\n\n{table}");
    }
    let _ = writeln!(s, "## Outcome matrix\n\n{}", matrix(cells, &out.records));
    let _ = plan;
    results::write_atomic(&out.out_dir.join("summary.md"), s.as_bytes())?;
    for f in &out.findings {
        crate::findings::write(&out.out_dir, f, plan, cells, &out.records)?;
    }
    Ok(())
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
        let _ = writeln!(
            s,
            "program {} (template {}, seed {}), seen in {} program(s){}; reproducer: findings/{}/\n",
            f.program,
            f.template.as_deref().unwrap_or("-"),
            f.seed.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
            f.count,
            f.p_value.map(|p| format!(", p = {p:.2e}")).unwrap_or_default(),
            f.id
        );
        for c in &f.cells {
            let _ = writeln!(
                s,
                "- {}{} {}: {}",
                if c.divergent { "**" } else { "" },
                c.toolchain,
                c.executor,
                results::counts_str(&c.outcomes)
            );
            if c.divergent {
                s.truncate(s.trim_end().len());
                s.push_str("**\n");
            }
        }
        s.push('\n');
    }
}

/// Whether `path` looks like a results dir.
pub fn is_results_dir(path: &Path) -> bool {
    path.join("run.json").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExitStatus;

    fn prog() -> Program {
        Program {
            name: "seed-1".into(),
            main_go: "package main\n".into(),
            go_mod: "module x\n".into(),
            spec_json: None,
            template: Some("bigstack".into()),
            seed: Some(1),
            timeout: None,
            timeout_emulated: None,
            env: BTreeMap::new(),
        }
    }

    fn runs(tc: &str, arch: Arch, class: Class, n: u32, start: u32) -> Vec<Record> {
        (0..n)
            .map(|t| Record {
                stage: Stage::Run,
                program: "seed-1".into(),
                toolchain: tc.into(),
                arch,
                executor: format!("{arch} (test)"),
                trial: start + t,
                env: BTreeMap::new(),
                outcome: class,
                signature: if class == Class::Ok {
                    String::new()
                } else {
                    "fatal error: traceback did not unwind completely".into()
                },
                checksum: (class == Class::Ok).then(|| "00000000000000aa".to_string()),
                duration_ms: 10,
                exit: Some(ExitStatus::Code(if class == Class::Ok { 0 } else { 2 })),
                timeout_ms: Some(1000),
                peak_rss: None,
                log: None,
            })
            .collect()
    }

    fn cell(tc: &str, arch: Arch, crashes: u32, of: u32) -> Vec<Record> {
        let mut v = runs(tc, arch, Class::Fatal, crashes, 0);
        v.extend(runs(tc, arch, Class::Ok, of - crashes, crashes));
        v
    }

    #[test]
    fn one_in_twenty_is_noise_twelve_in_twenty_is_a_finding() {
        let mut recs = cell("go1.23.11", Arch::Arm64, 1, 20);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 20));
        assert!(findings_for_program(&prog(), &recs).is_empty());

        let mut recs = cell("go1.23.11", Arch::Arm64, 12, 20);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 20));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, Kind::Crash);
        assert!(f[0].p_value.unwrap() < verdict::DEFAULT_ALPHA);
        let div: Vec<_> = f[0].cells.iter().filter(|c| c.divergent).collect();
        assert_eq!(div.len(), 1);
        assert_eq!(
            (div[0].toolchain.as_str(), div[0].arch),
            ("go1.23.11", Arch::Arm64)
        );
        assert_eq!(div[0].outcomes[&Class::Fatal], 12);
        assert_eq!(
            f[0].signature,
            "fatal error: traceback did not unwind completely"
        );
    }

    #[test]
    fn scopes_and_kinds() {
        // Every arm64 cell crashes, no amd64 cell does: cross-arch.
        let mut recs = cell("go1.23.11", Arch::Arm64, 8, 8);
        recs.extend(cell("go1.23.12", Arch::Arm64, 8, 8));
        recs.extend(cell("go1.23.11", Arch::Amd64, 0, 8));
        recs.extend(cell("go1.23.12", Arch::Amd64, 0, 8));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].scope, "cross-arch");
        // Every cell crashes: still news.
        let mut recs = cell("go1.23.11", Arch::Amd64, 2, 2);
        recs.extend(cell("go1.25.0", Arch::Amd64, 2, 2));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(
            (f.len(), f[0].scope.as_str(), f[0].kind),
            (1, "all", Kind::Crash)
        );
        assert_eq!(f[0].p_value, None);
        // Both exit 0 with different checksums: wrong output.
        let mut recs = runs("go1.23.11", Arch::Amd64, Class::Ok, 2, 0);
        let mut other = runs("go1.25.0", Arch::Amd64, Class::Ok, 2, 0);
        for r in &mut other {
            r.checksum = Some("00000000000000bb".into());
        }
        recs.append(&mut other);
        recs.extend(runs("go1.23.12", Arch::Amd64, Class::Ok, 2, 0));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, Kind::WrongOutput);
        let div: Vec<_> = f[0]
            .cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| c.toolchain.as_str())
            .collect();
        assert_eq!(div, vec!["go1.25.0"]);
    }

    #[test]
    fn infra_is_never_a_finding() {
        let mut recs = runs("go1.23.11", Arch::Arm64, Class::Infra, 1, 0);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 3));
        assert!(findings_for_program(&prog(), &recs).is_empty());
    }

    #[test]
    fn dedup_counts_and_keeps_the_smallest_program() {
        let mut recs = cell("go1.23.11", Arch::Arm64, 12, 20);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 20));
        let mut small = prog();
        small.name = "seed-9".into();
        let mut big = prog();
        big.main_go = "package main\n// a longer program\n".into();
        let mut a = findings_for_program(&big, &recs);
        let mut b = findings_for_program(&small, &recs);
        b[0].program = "seed-9".into();
        b[0].programs = vec!["seed-9".into()];
        a.append(&mut b);
        let d = dedup(a);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].count, 2);
        assert_eq!(d[0].program, "seed-9");
        assert_eq!(d[0].programs.len(), 2);
    }
}
