//! `divergo run` and `divergo corpus`: execute a plan over its programs and
//! cells, judge each program's records, and write the reports.

use crate::engine::pipeline::Cell;
use crate::engine::pipeline::{self, Config, TrialPolicy};
use crate::engine::plan::{
    disk_usage, load_programs, read_plan, resolve_toolchains, self_peak_rss, AdaptiveTrials,
    CorpusTrials, Options, Plan, Programs, RunOutcome,
};
use crate::engine::results::{self, Record, Stage, Writer};
use crate::engine::triage as engine_triage;
use crate::exec;
use crate::oracle::findings::{Finding, Kind};
use crate::oracle::triage::Triage;
use crate::oracle::{findings, known, windows};
use crate::report::summary;
use crate::toolchain::registry;
use anyhow::{bail, Context, Result};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Execute a plan into `out_dir`. With `resume`, completed results already in
/// out_dir are kept and not run again.
pub fn execute(plan: &Plan, out_dir: &Path, opts: &Options, resume: bool) -> Result<RunOutcome> {
    let start = Instant::now();
    let home = registry::home();
    let (programs, entries) = load_programs(plan)?;
    let toolchains = resolve_toolchains(&home, &plan.toolchains)?;
    let cells = plan.cells(&toolchains);
    if let Programs::Generated { seed, count, .. } = &plan.programs {
        if !opts.quiet {
            eprintln!(
                "seeds {seed}..{}{}",
                seed.wrapping_add(count - 1),
                plan.shard
                    .map(|s| format!(", shard {s}: every {}th from the {}th", s.count, s.index))
                    .unwrap_or_default()
            );
        }
    }

    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut done: HashMap<_, Record> = HashMap::new();
    if resume {
        let stored = read_plan(out_dir)?;
        if stored != *plan {
            bail!(
                "{}: run.json differs from the plan being resumed",
                out_dir.display()
            );
        }
        results::truncate_partial_tail(out_dir)?;
        let (recs, _) = results::read(out_dir)?;
        if !opts.quiet {
            eprintln!(
                "resuming {}: {} results kept",
                out_dir.display(),
                recs.len()
            );
        }
        for r in recs {
            done.insert(r.key(), r);
        }
    } else {
        if out_dir.join("results.jsonl").exists() {
            bail!(
                "{} already holds results: use `divergo run --resume {}` or another --out",
                out_dir.display(),
                out_dir.display()
            );
        }
        results::write_atomic(&out_dir.join("run.json"), &serde_json::to_vec_pretty(plan)?)?;
    }
    // What the matrix is, once the plan is known to run.
    if !opts.quiet {
        for l in &opts.preamble {
            eprintln!("{l}");
        }
    }
    let writer = Mutex::new(Writer::open(out_dir)?);
    let work = tempfile::Builder::new()
        .prefix(".work-")
        .tempdir_in(out_dir)
        .context("cannot create scratch dir")?;
    let cfg = Config {
        timeout: Duration::from_secs_f64(plan.timeout_s),
        build_timeout: Duration::from_secs_f64(plan.build_timeout_s),
        memory_limit: plan.memory_limit_mib << 20,
        keep: opts.keep,
        emulated_cpus: plan.emulated_cpus,
        ..Config::standard(
            home.clone(),
            out_dir.to_path_buf(),
            work.path().to_path_buf(),
            opts.jobs,
            plan.env.clone(),
        )
    };
    let bar = progress_bar(
        plan.shard
            .map_or(programs.len(), |s| s.indexes(programs.len()).count() as u64),
        opts.quiet,
    );
    let mut tally = results::Tally::default();
    let corpus_run = matches!(plan.programs, Programs::Corpus { .. });
    let mut tested = 0usize;
    let mut findings: Vec<findings::Finding> = Vec::new();
    let mut budget_spent = false;
    let mut progress = PlainProgress::new(bar.length().unwrap_or(0), opts.quiet);
    let shard = plan
        .shard
        .unwrap_or(crate::engine::plan::Shard { index: 1, count: 1 });
    // Programs the run being resumed had started: they always finish, and
    // the time spent on them does not count against the budget, which is for
    // new programs (a resumed run reuses their records, but builds again).
    let started: HashSet<&str> = done.values().map(|r| r.program.as_str()).collect();
    let mut started_seen = 0usize;
    let mut deadline = opts.deadline;
    for idx in shard.indexes(programs.len()) {
        if exec::interrupted() {
            break;
        }
        let prog = &programs.get(idx);
        let resumed = started.contains(prog.name.as_str());
        if !resumed && deadline.is_some_and(|d| Instant::now() >= d) {
            budget_spent = true;
            if started_seen >= started.len() {
                break;
            }
            continue;
        }
        let began = Instant::now();
        bar.set_message(prog.name.clone());
        let on_record = |r: &Record| {
            if r.stage == Stage::Run && r.outcome != crate::model::Class::Ok {
                bar.println(format!(
                    "  {} {} {}: {} {}",
                    r.program, r.toolchain, r.executor, r.outcome, r.signature
                ));
            }
        };
        let entry = entries
            .as_ref()
            .and_then(|es| es.iter().find(|e| e.name == prog.name));
        let policy: Box<dyn TrialPolicy> = match entry {
            Some(e) if plan.corpus_trials => Box::new(CorpusTrials {
                entry: e,
                cells: &cells,
            }),
            Some(_) if !plan.adaptive_corpus => Box::new(pipeline::FixedTrials(plan.trials)),
            Some(e) => Box::new(AdaptiveTrials::new(plan.trials, &cells).first_round(e.trials)),
            None => Box::new(AdaptiveTrials::new(plan.trials, &cells)),
        };
        // With --stop-on-first, builds that already show a new static
        // finding (exact) end the run before this program's trials.
        let static_first = StaticFirst {
            inner: policy.as_ref(),
            prog,
            known: &plan.known,
        };
        let policy: &dyn TrialPolicy = if plan.stop_on_first {
            &static_first
        } else {
            policy.as_ref()
        };
        let recs = pipeline::test_program(&cfg, prog, &cells, policy, &done, &writer, &on_record)?;
        if resumed {
            started_seen += 1;
            deadline = deadline.map(|d| d + began.elapsed());
        }
        if exec::interrupted() {
            tally.add(recs, true);
            break;
        }
        tested += 1;
        let mut new = crate::oracle::judge::findings_for_program(prog, &recs);
        if new.iter().any(|f| !f.static_windows.is_empty()) {
            windows::confirm_from_dumps(&mut new, &crash_dumps(out_dir, &recs));
        }
        known::label(&plan.known, &mut new);
        if opts.triage && !plan.corpus_trials {
            for f in new.iter_mut() {
                let seen = findings.iter().any(|g| g.id == f.id && g.triage.is_some());
                if f.is_new() && !seen && matches!(f.kind, Kind::Crash | Kind::Hang) {
                    bar.set_message(format!("{}: triage of {}", prog.name, f.id));
                    f.triage = triage_finding(&cfg, prog, &cells, f, &recs, out_dir)?;
                    if let Some(t) = &f.triage {
                        bar.println(format!("  triage {} on {}: {}", f.id, t.cell, t.line));
                    }
                }
            }
        }
        // Only the records a report may quote are kept whole.
        let keep = corpus_run || !new.is_empty() || results::Tally::needs_keeping(&recs);
        tally.add(recs, keep);
        let stop = plan.stop_on_first && new.iter().any(|f| f.is_new());
        findings.extend(new);
        bar.inc(1);
        progress.tick(
            tested as u64,
            findings.iter().filter(|f| f.is_new()).count(),
            tally.records,
        );
        if stop {
            break;
        }
    }
    bar.finish_and_clear();
    let interrupted = exec::interrupted();
    if opts.keep {
        let kept = work.keep();
        eprintln!("scratch kept at {}", kept.display());
    } else {
        drop(work);
    }
    let findings = findings::dedup(findings);
    let corpus_failures = entries
        .as_ref()
        .map(|es| summary::corpus_table(es, &cells, &tally.kept).1);
    let mut outcome = RunOutcome {
        out_dir: out_dir.to_path_buf(),
        tally,
        runners: Vec::new(),
        programs: tested,
        elapsed: start.elapsed(),
        interrupted,
        findings,
        corpus_failures,
        budget_spent,
        disk_bytes: 0,
        self_peak_rss: 0,
        history: None,
    };
    summary::write_summary(plan, &cells, entries.as_deref(), &outcome)?;
    if let Some(budget) = opts.reduce.filter(|_| !interrupted) {
        if reduce_findings(&mut outcome.findings, out_dir, budget, opts)? {
            outcome.findings = findings::dedup(std::mem::take(&mut outcome.findings));
            outcome.elapsed = start.elapsed();
            summary::write_summary(plan, &cells, entries.as_deref(), &outcome)?;
        }
    }
    if let Some(h) = &opts.history {
        // A shard is part of a run: its merge records the whole.
        if !interrupted && plan.shard.is_none() {
            record_history(h, &cells, &mut outcome)?;
            summary::write_summary(plan, &cells, entries.as_deref(), &outcome)?;
        }
    }
    outcome.disk_bytes = disk_usage(out_dir);
    outcome.self_peak_rss = self_peak_rss();
    Ok(outcome)
}

/// Record a finished run's findings in the history database and mark each
/// finding with what the history says of it (new, seen before, …).
pub fn record_history(
    h: &crate::engine::plan::HistorySettings,
    cells: &[crate::engine::pipeline::Cell],
    outcome: &mut RunOutcome,
) -> Result<()> {
    let covered = cells
        .iter()
        .filter(|c| c.executor.is_ok() && c.toolchain.problem.is_none())
        .map(|c| format!("{}/{}", c.toolchain.name, c.arch))
        .collect();
    let run = crate::history::RunInfo {
        command: h.command.clone(),
        out_dir: outcome.out_dir.clone(),
        cells: covered,
        programs: outcome.programs as u64,
    };
    let mut db = crate::history::Db::open(&h.db)?;
    outcome.history = Some(db.record(&run, &mut outcome.findings, h.fixed_after)?);
    Ok(())
}

/// Whether a finding is deterministic, so that a reduction needs one trial
/// a candidate: wrong output (a checksum or a self-check) and build
/// failures, but not a compile that never finished (each candidate would
/// cost the build timeout).
fn deterministic(f: &Finding) -> bool {
    match f.kind {
        Kind::WrongOutput => true,
        Kind::Build => !f.signature.contains(crate::engine::build::COMPILER_HANG),
        _ => false,
    }
}

/// Reduce each new deterministic finding in its dir (findings/<id>/reduced/)
/// for up to `budget`, and note the result in the finding. Whether any was
/// reduced (so the findings are merged and the reports written again).
fn reduce_findings(
    found: &mut [Finding],
    out_dir: &Path,
    budget: Duration,
    opts: &Options,
) -> Result<bool> {
    let mut any = false;
    for f in found
        .iter_mut()
        .filter(|f| f.is_new() && deterministic(f) && f.source.is_some())
    {
        if exec::interrupted() {
            break;
        }
        let dir = out_dir.join("findings").join(&f.id);
        if !opts.quiet {
            eprintln!(
                "reducing finding {} ({}) for up to {} s ...",
                f.id,
                f.signature,
                budget.as_secs()
            );
        }
        let o = crate::commands::reduce::run(&crate::commands::reduce::Request {
            dir: dir.clone(),
            budget,
            trials: None,
            jobs: opts.jobs,
            quiet: true,
        });
        let o = match o {
            Ok(o) => o,
            Err(e) => {
                // The finding stands as found; its reduction is a bonus.
                if !opts.quiet {
                    eprintln!("  reduction of {} failed: {e:#}", f.id);
                }
                continue;
            }
        };
        if !opts.quiet {
            eprintln!(
                "  {} -> {} lines in {:.0} s{}",
                o.from_lines,
                o.lines,
                o.seconds,
                if o.verified {
                    ""
                } else {
                    " (not reproduced: kept apart)"
                }
            );
        }
        if let Some(src) = &o.main_go {
            f.reduced = Some(findings::Reduced {
                from_lines: o.from_lines,
                lines: o.lines,
                shape: crate::gen::shape::shape_key(src),
                verified: o.verified,
                seconds: (o.seconds * 10.0).round() / 10.0,
            });
            any = true;
        }
    }
    Ok(any)
}

/// A trial policy that skips a program's trials when its builds alone give a
/// new static finding (`--stop-on-first`: that finding is the first one).
struct StaticFirst<'a> {
    inner: &'a dyn TrialPolicy,
    prog: &'a crate::model::Program,
    known: &'a [known::KnownIssue],
}

impl TrialPolicy for StaticFirst<'_> {
    fn more(&self, cell: usize, all: &[Vec<crate::model::Outcome>], cost: &[f64]) -> u32 {
        self.inner.more(cell, all, cost)
    }

    fn runs_after(&self, builds: &[Record]) -> bool {
        let mut found = windows::findings(self.prog, builds, crate::oracle::verdict::DEFAULT_ALPHA);
        known::label(self.known, &mut found);
        !found.iter().any(|f| f.is_new()) && self.inner.runs_after(builds)
    }
}

/// Rerun the divergent cell with the most bad runs under each triage knob.
fn triage_finding(
    cfg: &Config,
    prog: &crate::model::Program,
    cells: &[Cell],
    f: &Finding,
    recs: &[Record],
    out_dir: &Path,
) -> Result<Option<Triage>> {
    // The cells as the program ran (an `auto` qemu cell as it was resolved),
    // so the plain-qemu knob is tried where the runs were single-stepped.
    let cells = crate::engine::pipeline::resolve_executors(cells, recs);
    let best = cells
        .iter()
        .filter(|c| {
            f.cells
                .iter()
                .any(|fc| fc.divergent && fc.toolchain == c.toolchain.name && fc.arch == c.arch)
        })
        .map(|c| (c, engine_triage::tally(recs, c, &f.bug)))
        .filter(|(_, (bad, _))| *bad > 0)
        .max_by_key(|(_, (bad, _))| *bad);
    let Some((cell, base)) = best else {
        return Ok(None);
    };
    let runs = base.1.clamp(8, 12);
    let dir = out_dir.join("triage").join(&f.id);
    engine_triage::run(cfg, prog, cell, &f.bug, base, runs, &dir).map(Some)
}

/// The kept logs of a program's crashed runs (a few per cell), as
/// (toolchain, arch, text).
pub(crate) fn crash_dumps(
    out_dir: &Path,
    recs: &[Record],
) -> Vec<(String, crate::model::Arch, String)> {
    const PER_CELL: usize = 3;
    let mut per_cell: HashMap<(String, crate::model::Arch), usize> = HashMap::new();
    let mut out = Vec::new();
    for r in recs
        .iter()
        .filter(|r| r.stage == Stage::Run && r.outcome.is_crash())
    {
        let Some(log) = &r.log else { continue };
        let n = per_cell.entry((r.toolchain.clone(), r.arch)).or_default();
        if *n >= PER_CELL {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(out_dir.join(log)) {
            *n += 1;
            out.push((r.toolchain.clone(), r.arch, text));
        }
    }
    out
}

/// Progress for logs (stderr not a terminal, as in CI): a plain line every
/// `DIVERGO_PROGRESS_SECS` seconds (default 60) with programs done, findings
/// so far, records and an ETA. On a terminal the progress bar does this.
struct PlainProgress {
    on: bool,
    every: Duration,
    start: Instant,
    last: Instant,
    total: u64,
}

impl PlainProgress {
    fn new(total: u64, quiet: bool) -> Self {
        use std::io::IsTerminal;
        let every = std::env::var("DIVERGO_PROGRESS_SECS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s >= 0.0)
            .map_or(Duration::from_secs(60), Duration::from_secs_f64);
        let now = Instant::now();
        PlainProgress {
            on: !quiet && !std::io::stderr().is_terminal(),
            every,
            start: now,
            last: now,
            total,
        }
    }

    fn tick(&mut self, done: u64, findings: usize, records: usize) {
        if !self.on || self.last.elapsed() < self.every {
            return;
        }
        self.last = Instant::now();
        let el = self.start.elapsed().as_secs_f64();
        let eta = if done > 0 && self.total > done {
            format!(
                ", ETA {:.0} s",
                el / done as f64 * (self.total - done) as f64
            )
        } else {
            String::new()
        };
        eprintln!(
            "[progress] {done}/{} programs, {findings} finding(s), {records} records, {el:.0} s{eta}",
            self.total
        );
    }
}

fn progress_bar(len: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} programs {msg}",
        )
        .unwrap()
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The `--json` object printed at the end of a run: `findings` are the new
/// ones, `known_findings` those that match a known issue.
pub fn json_summary(out: &RunOutcome) -> serde_json::Value {
    serde_json::json!({
        "programs": out.programs,
        "elapsed_s": (out.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "interrupted": out.interrupted,
        "budget_spent": out.budget_spent,
        "disk_bytes": out.disk_bytes,
        "peak_rss_bytes": out.self_peak_rss,
        "out_dir": out.out_dir,
        "findings": out.findings.iter().filter(|f| f.is_new()).collect::<Vec<_>>(),
        "known_findings": out.findings.iter().filter(|f| !f.is_new()).collect::<Vec<_>>(),
    })
}
