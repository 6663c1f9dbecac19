//! `divergo qualify --baseline T1 --candidate T2`: may a team move from T1
//! to T2? Runs the corpus and generated programs on both toolchains (same
//! verdict rules as `run`) and sorts every divergence into regressions,
//! fixes, unchanged failures and inconclusive ones (see
//! [`crate::oracle::upgrade`]). Writes `qualify.md` and `qualify.json` beside
//! the two results directories it runs (`corpus/`, `generated/`).

use crate::engine::plan::{Options, Plan, Programs, RunOutcome};
use crate::error::{EXIT_FINDINGS, EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK};
use crate::model::Arch;
use crate::oracle::known::KnownIssue;
use crate::oracle::upgrade::{self, Change};
use crate::report::qualify::{self as report, Entry, Qualification};
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to qualify and how hard to look.
pub struct Request {
    pub baseline: String,
    pub candidate: String,
    pub archs: Vec<Arch>,
    pub qemu_mode: crate::engine::executor::QemuMode,
    pub emulated_cpus: u32,
    pub memory_limit_mib: u64,
    /// The corpus dir and name filter, unless the corpus is left out.
    pub corpus: Option<(PathBuf, Option<String>)>,
    pub templates: Vec<String>,
    pub seed: u64,
    /// Most generated programs (0: corpus only).
    pub count: u64,
    /// Stop starting programs once this is spent.
    pub duration: Option<Duration>,
    pub trials: u32,
    pub timeout_s: f64,
    pub env: BTreeMap<String, String>,
    pub known: Vec<KnownIssue>,
}

/// 1 on a regression, else 3 when a cell never ran, else 0; 130 when
/// interrupted.
pub fn exit_code(q: &Qualification) -> i32 {
    if q.interrupted {
        EXIT_INTERRUPTED
    } else if q.count(Change::Regression) > 0 {
        EXIT_FINDINGS
    } else if !q.infra_cells.is_empty() {
        EXIT_INFRA
    } else {
        EXIT_OK
    }
}

pub fn qualify(req: &Request, out: &Path, opts: &Options) -> Result<Qualification> {
    if req.baseline == req.candidate {
        bail!(
            "--baseline and --candidate are both {}: nothing to compare",
            req.baseline
        );
    }
    if req.corpus.is_none() && req.count == 0 {
        bail!("no programs: --count 0 and no corpus");
    }
    if out.join("qualify.json").exists() || out.join("corpus").exists() {
        bail!(
            "{} already holds a qualification: choose another --out",
            out.display()
        );
    }
    std::fs::create_dir_all(out)?;
    let start = Instant::now();
    let opts = Options {
        deadline: req.duration.map(|d| start + d),
        ..opts.clone()
    };
    let plan = |programs: Programs| Plan {
        schema: crate::engine::results::SCHEMA,
        divergo_version: crate::model::version(),
        programs,
        toolchains: vec![req.baseline.clone(), req.candidate.clone()],
        archs: req.archs.clone(),
        trials: req.trials,
        env: req.env.clone(),
        timeout_s: req.timeout_s,
        qemu_mode: req.qemu_mode,
        memory_limit_mib: req.memory_limit_mib,
        build_timeout_s: crate::engine::plan::DEFAULT_BUILD_TIMEOUT_S,
        stop_on_first: false,
        corpus_trials: false,
        adaptive_corpus: true,
        shard: None,
        generator_version: crate::gen::GENERATOR_VERSION,
        known: req.known.clone(),
        emulated_cpus: req.emulated_cpus,
        compile_archs: Vec::new(),
        compile_modes: Vec::new(),
        omit: Vec::new(),
    };
    let mut parts = Vec::new();
    if let Some((dir, filter)) = &req.corpus {
        let p = plan(Programs::Corpus {
            dir: dir.clone(),
            filter: filter.clone(),
        });
        let o = crate::commands::run::execute(&p, &out.join("corpus"), &opts, false)?;
        parts.push(("corpus", o, p));
    }
    let stopped = |parts: &Vec<(&str, RunOutcome, Plan)>| {
        parts
            .iter()
            .any(|(_, o, _)| o.interrupted || o.budget_spent)
    };
    if req.count > 0 && !stopped(&parts) {
        let p = plan(Programs::Generated {
            templates: req.templates.clone(),
            seed: req.seed,
            count: req.count,
        });
        let o = crate::commands::run::execute(&p, &out.join("generated"), &opts, false)?;
        parts.push(("generated", o, p));
    }
    // One entry per finding: the corpus and generated programs may show
    // the same one (same kind, bug and cells); its reproducer is that of the
    // smallest program that showed it.
    let all: Vec<_> = parts
        .iter()
        .flat_map(|(_, o, _)| o.findings.iter().cloned())
        .collect();
    let mut entries = Vec::new();
    for f in crate::oracle::findings::dedup(all) {
        let dir = parts
            .iter()
            .find(|(_, o, _)| {
                o.findings
                    .iter()
                    .any(|g| g.id == f.id && g.program == f.program)
            })
            .map_or_else(
                || out.join("findings").join(&f.id),
                |(name, _, _)| out.join(name).join("findings").join(&f.id),
            );
        entries.push(Entry {
            sorted: upgrade::sort(&f, &req.baseline, &req.candidate),
            dir,
            finding: f,
        });
    }
    entries.sort_by_key(|e| e.sorted.change);
    let q = Qualification {
        baseline: req.baseline.clone(),
        candidate: req.candidate.clone(),
        entries,
        infra_cells: infra_cells(&parts),
        elapsed: start.elapsed(),
        interrupted: parts.iter().any(|(_, o, _)| o.interrupted),
        budget_spent: parts.iter().any(|(_, o, _)| o.budget_spent),
        parts,
    };
    report::write(&q, out)?;
    Ok(q)
}

/// `toolchain/arch` of the cells with infra records and no judged run.
fn infra_cells(parts: &[(&str, RunOutcome, Plan)]) -> Vec<String> {
    let mut m: BTreeMap<(String, Arch), (u32, u32)> = BTreeMap::new();
    for (_, o, _) in parts {
        for ((t, a), c) in &o.tally.cells {
            let e = m.entry((t.clone(), *a)).or_default();
            e.0 += c.infra;
            e.1 += c.judged;
        }
    }
    m.into_iter()
        .filter(|(_, (infra, runs))| *infra > 0 && *runs == 0)
        .map(|((t, a), _)| format!("{t}/{a}"))
        .collect()
}
