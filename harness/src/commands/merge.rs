//! `divergo report DIR... --out DIR`: merge results directories (the shards
//! of one run, or native runs of the same seeds on different archs) into one
//! results directory, judged as one run: the same findings an unsharded run
//! over the same programs gives.
//!
//! - Idempotent: a directory given twice, or a record present in two
//!   directories, counts once (records are keyed by stage, program,
//!   toolchain, arch and trial).
//! - Tolerant: a directory that is missing, has no run.json, or ends in a
//!   half-written line is reported (missing, or partial) and the rest is
//!   merged; shards of a sharded plan that were not given are listed.
//! - Strict about meaning: runs whose programs differ (another generator
//!   version, seed, templates, corpus) or that ran them differently (trials,
//!   environment, timeouts, executor mode) are refused with a message naming
//!   both directories and what differs.

use crate::engine::plan::{self, Plan, Programs, RunOutcome};
use crate::engine::results::{self, Record, Stage, Writer};
use crate::model::{Class, Program};
use crate::oracle::{findings, known, windows};
use crate::report::summary;
use crate::toolchain::registry;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How one input directory fared, and what it held.
pub type Source = results::Runner;

/// What a merge produced.
pub struct Merged {
    pub outcome: RunOutcome,
    pub sources: Vec<Source>,
    /// Shards of the plan that no directory held (`i/n`).
    pub missing_shards: Vec<String>,
    /// Records that two directories both held (counted once).
    pub duplicates: usize,
}

/// The fields two plans must share to be merged, with their names.
fn incompatibility(a: &Plan, b: &Plan) -> Option<&'static str> {
    let programs_same = match (&a.programs, &b.programs) {
        (
            Programs::Generated {
                templates: t1,
                seed: s1,
                ..
            },
            Programs::Generated {
                templates: t2,
                seed: s2,
                ..
            },
        ) => t1 == t2 && s1 == s2,
        (x, y) => x == y,
    };
    if a.generator_version != b.generator_version {
        Some("generator version")
    } else if !programs_same {
        Some("programs (seed, templates or corpus)")
    } else if a.trials != b.trials {
        Some("trials")
    } else if a.env != b.env {
        Some("environment")
    } else if a.timeout_s != b.timeout_s {
        Some("timeout")
    } else if a.qemu_mode != b.qemu_mode {
        Some("qemu mode")
    } else if a.emulated_cpus != b.emulated_cpus {
        Some("emulated CPUs")
    } else if a.corpus_trials != b.corpus_trials || a.adaptive_corpus != b.adaptive_corpus {
        Some("trial policy")
    } else {
        None
    }
}

fn describe(p: &Plan, what: &str) -> String {
    match what {
        "generator version" => format!("generator version {}", p.generator_version),
        "trials" => format!("--trials {}", p.trials),
        "environment" => format!("{:?}", p.env),
        "timeout" => format!("timeout {} s", p.timeout_s),
        "qemu mode" => format!("{:?}", p.qemu_mode),
        "emulated CPUs" => format!("--emulated-cpus {}", p.emulated_cpus),
        _ => match &p.programs {
            Programs::Generated {
                templates, seed, ..
            } => format!("seed {seed}, templates {templates:?}"),
            Programs::Corpus { dir, filter } => {
                format!("corpus {} filter {filter:?}", dir.display())
            }
        },
    }
}

pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    history: Option<&crate::engine::plan::HistorySettings>,
) -> Result<Merged> {
    if out.join("results.jsonl").exists() || out.join("run.json").exists() {
        bail!(
            "{} already holds results: choose another --out",
            out.display()
        );
    }
    let mut sources = Vec::new();
    let mut plans: Vec<(PathBuf, Plan)> = Vec::new();
    let mut seen_dirs: HashSet<PathBuf> = HashSet::new();
    // (canonical dir, index in `sources`) of the dirs to merge.
    let mut per_dir: Vec<(PathBuf, usize)> = Vec::new();
    for d in dirs {
        let canon = d.canonicalize().unwrap_or_else(|_| d.clone());
        if !seen_dirs.insert(canon.clone()) {
            sources.push(Source {
                dir: d.clone(),
                status: "duplicate",
                note: "given before; counted once".into(),
                ..Source::default()
            });
            continue;
        }
        let plan = match plan::read_plan(d) {
            Ok(p) => p,
            Err(e) => {
                sources.push(Source {
                    dir: d.clone(),
                    status: "missing",
                    note: format!("{e:#}"),
                    ..Source::default()
                });
                continue;
            }
        };
        if let Some((first_dir, first)) = plans.first() {
            if let Some(what) = incompatibility(first, &plan) {
                bail!(
                    "cannot merge {} with {}: their {what} differ ({} vs {})",
                    d.display(),
                    first_dir.display(),
                    describe(&plan, what),
                    describe(first, what)
                );
            }
        }
        sources.push(Source {
            dir: d.clone(),
            status: "ok",
            shard: plan.shard.map(|s| s.to_string()),
            ..Source::default()
        });
        plans.push((canon.clone(), plan));
        per_dir.push((canon, sources.len() - 1));
    }
    let Some((_, first)) = plans.first() else {
        bail!(
            "nothing to merge: none of the {} director{} holds a divergo run ({})",
            dirs.len(),
            if dirs.len() == 1 { "y" } else { "ies" },
            sources
                .iter()
                .map(|s| format!("{}: {}", s.dir.display(), s.note))
                .collect::<Vec<_>>()
                .join("; ")
        );
    };

    // The merged plan: every toolchain and arch any part ran, the most
    // programs any part planned, no shard.
    let mut merged = first.clone();
    merged.shard = None;
    for (_, p) in &plans {
        for t in &p.toolchains {
            if !merged.toolchains.contains(t) {
                merged.toolchains.push(t.clone());
            }
        }
        for a in &p.archs {
            if !merged.archs.contains(a) {
                merged.archs.push(*a);
            }
        }
        for a in &p.compile_archs {
            if !merged.compile_archs.contains(a) {
                merged.compile_archs.push(*a);
            }
        }
        for m in &p.compile_modes {
            if !merged.compile_modes.contains(m) {
                merged.compile_modes.push(*m);
            }
        }
        if let (Programs::Generated { count: c, .. }, Programs::Generated { count: m, .. }) =
            (&p.programs, &mut merged.programs)
        {
            *m = (*m).max(*c);
        }
        for k in &p.known {
            if !merged.known.contains(k) {
                merged.known.push(k.clone());
            }
        }
    }
    // A cell is left out of the merged run only if no part ran it.
    let ran = |p: &Plan, c: &String| {
        !p.omit.contains(c)
            && p.toolchains
                .iter()
                .any(|t| p.archs.iter().any(|&a| plan::cell_name(t, a) == *c))
    };
    let mut omit: Vec<String> = plans.iter().flat_map(|(_, p)| p.omit.clone()).collect();
    omit.sort();
    omit.dedup();
    omit.retain(|c| !plans.iter().any(|(_, p)| ran(p, c)));
    merged.omit = omit;
    let missing_shards = missing_shards(&plans);

    // Pass 1: stream each dir's records into the merged results.jsonl, once
    // each, with their logs; count them, and note the programs whose records
    // the judging needs (a failure, a window, two checksums).
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    results::write_atomic(&out.join("run.json"), &serde_json::to_vec_pretty(&merged)?)?;
    let corpus_run = matches!(merged.programs, Programs::Corpus { .. });
    let mut writer = Writer::open(out)?;
    let mut keys = HashSet::new();
    let mut tally = results::Tally::default();
    let mut first_sum: HashMap<String, Option<String>> = HashMap::new();
    let mut needed: HashSet<String> = HashSet::new();
    let mut duplicates = 0;
    for (dir, si) in &per_dir {
        let src = &mut sources[*si];
        let partial = results::for_each(dir, |r| {
            src.records += 1;
            if !keys.insert(r.key()) {
                duplicates += 1;
                return Ok(());
            }
            if let Some(log) = &r.log {
                let dst = out.join(log);
                if let Some(parent) = dst.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let _ = std::fs::copy(dir.join(log), &dst);
            }
            writer.append(&r)?;
            tally.count(&r);
            let cell = src.cells.entry((r.toolchain.clone(), r.arch)).or_default();
            if r.stage == Stage::Run {
                cell.runs += 1;
                cell.judged += u32::from(r.outcome != Class::Infra);
                cell.executors.insert(r.executor.clone());
            }
            if r.outcome == Class::Infra {
                cell.infra += 1;
            }
            if r.outcome != Class::Ok {
                src.failing.insert(r.program.clone());
            }
            let sum = first_sum.entry(r.program.clone()).or_insert(None);
            let two_sums = match (&r.checksum, &*sum) {
                (Some(c), Some(f)) => c != f,
                (Some(c), None) => {
                    *sum = Some(c.clone());
                    false
                }
                _ => false,
            };
            if corpus_run || two_sums || results::Tally::needs_keeping(std::slice::from_ref(&r)) {
                needed.insert(r.program.clone());
            }
            Ok(())
        })?;
        if partial {
            src.status = "partial";
            src.note = "a half-written last line was dropped".into();
        }
    }
    drop(writer);
    drop(first_sum);

    // Pass 2: the records of those programs, from the merged file; every
    // other program ran clean alike everywhere and has no finding.
    let mut by_program: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    results::for_each(out, |r| {
        if needed.contains(&r.program) {
            by_program.entry(r.program.clone()).or_default().push(r);
        }
        Ok(())
    })?;

    // Judge each of them on all its records.
    let (programs, entries) = plan::load_programs(&merged)?;
    let by_name: BTreeMap<String, Program> = match &merged.programs {
        Programs::Corpus { .. } => (0..programs.len())
            .map(|i| programs.get(i))
            .map(|p| (p.name.clone(), p))
            .collect(),
        Programs::Generated { .. } => BTreeMap::new(),
    };
    let fams = match &merged.programs {
        Programs::Generated { templates, .. } => plan::parse_families(templates)?,
        Programs::Corpus { .. } => Vec::new(),
    };
    let program_count = tally.programs.len();
    let mut found = Vec::new();
    for (name, recs) in &by_program {
        let prog = match &merged.programs {
            Programs::Corpus { .. } => by_name.get(name.as_str()).cloned(),
            Programs::Generated { .. } => name
                .strip_prefix("seed-")
                .and_then(|s| s.parse::<u64>().ok())
                .map(|seed| plan::generated_program(seed, &fams)),
        };
        let Some(prog) = prog else {
            // A record of a program this plan does not name (a corpus entry
            // since removed): it is merged but not judged.
            continue;
        };
        let mut new = crate::oracle::judge::findings_for_program(&prog, recs);
        if new.iter().any(|f| !f.static_windows.is_empty()) {
            windows::confirm_from_dumps(&mut new, &crate::commands::run::crash_dumps(out, recs));
        }
        known::label(&merged.known, &mut new);
        found.extend(new);
    }
    tally.kept = by_program.into_values().flatten().collect();
    let home = registry::home();
    let toolchains = plan::resolve_toolchains(&home, &merged.toolchains)
        .context("the merged runs' toolchains must be installed here to write their reproducers")?;
    let cells = merged.cells(&toolchains);
    let corpus_failures = entries
        .as_ref()
        .map(|es| summary::corpus_table(es, &cells, &tally.kept).1);
    let mut outcome = RunOutcome {
        out_dir: out.to_path_buf(),
        programs: program_count,
        tally,
        runners: sources.clone(),
        elapsed: Duration::ZERO,
        interrupted: false,
        findings: findings::dedup(found),
        corpus_failures,
        budget_spent: false,
        disk_bytes: 0,
        self_peak_rss: 0,
        history: None,
    };
    if let Some(h) = history {
        crate::commands::run::record_history(h, &cells, &mut outcome)?;
    }
    summary::write_summary(&merged, &cells, entries.as_deref(), &outcome)?;
    // Say where it came from, under the title.
    let path = out.join("summary.md");
    let s = std::fs::read_to_string(&path)?;
    let mut head = String::from("Merged from:\n");
    for src in &sources {
        head.push_str(&format!(
            "- {} ({}{}, {} records{})\n",
            src.dir.display(),
            src.status,
            src.shard
                .as_ref()
                .map(|s| format!(", shard {s}"))
                .unwrap_or_default(),
            src.records,
            if src.note.is_empty() {
                String::new()
            } else {
                format!("; {}", src.note)
            }
        ));
    }
    if !missing_shards.is_empty() {
        head.push_str(&format!(
            "- **missing shards: {}** (their programs are not in this report)\n",
            missing_shards.join(", ")
        ));
    }
    if duplicates > 0 {
        head.push_str(&format!(
            "- {duplicates} records held twice, counted once\n"
        ));
    }
    let s = match s.find("\n\n") {
        Some(i) => format!("{}\n\n{head}{}", &s[..i], &s[i..]),
        None => format!("{s}\n{head}"),
    };
    results::write_atomic(&path, s.as_bytes())?;
    outcome.disk_bytes = plan::disk_usage(out);
    outcome.self_peak_rss = plan::self_peak_rss();
    Ok(Merged {
        outcome,
        sources,
        missing_shards,
        duplicates,
    })
}

/// For plans cut into n shards: the `i/n` no directory held.
fn missing_shards(plans: &[(PathBuf, Plan)]) -> Vec<String> {
    let counts: BTreeSet<u32> = plans
        .iter()
        .filter_map(|(_, p)| p.shard.map(|s| s.count))
        .collect();
    let mut out = Vec::new();
    for n in counts {
        for i in 1..=n {
            let held = plans
                .iter()
                .any(|(_, p)| p.shard.is_some_and(|s| s.count == n && s.index == i));
            if !held {
                out.push(format!("{i}/{n}"));
            }
        }
    }
    out
}
