//! `divergo replay findings/<id>`: run a finding's program again on the same
//! cells, toolchains, environment and executors, and say whether the finding
//! still reproduces (the same kind of divergence on the same cells).

use crate::engine::executor::QemuMode;
use crate::error::{EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK};

use crate::engine::pipeline::{self, Config, Program, TrialPolicy};
use crate::engine::plan::{self, AdaptiveTrials};
use crate::engine::results;
use crate::engine::results::Writer;
use crate::exec;
use crate::model::{Arch, Class, Outcome};
use crate::oracle::findings::{self, Finding, Kind};
use crate::toolchain::registry as toolchain;
use anyhow::{anyhow, Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

pub fn replay(dir: &Path, trials: Option<u32>, jobs: usize) -> Result<i32> {
    let fpath = dir.join("finding.json");
    let data = std::fs::read(&fpath).with_context(|| {
        format!(
            "{} is not a finding directory (no finding.json)",
            dir.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_slice(&data)
        .map_err(|e| anyhow!("{}: malformed: {e}", fpath.display()))?;
    let finding: Finding = serde_json::from_value(json.clone())
        .map_err(|e| anyhow!("{}: malformed: {e}", fpath.display()))?;
    let env: BTreeMap<String, String> = json
        .get("run_env")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .with_context(|| format!("{}: cannot read", dir.join(f).display()))
    };
    let prog = Program {
        name: finding.program.clone(),
        main_go: read("main.go")?,
        go_mod: read("go.mod")?,
        spec_json: read("spec.json").ok(),
        template: finding.template.clone(),
        seed: finding.seed,
        timeout: None,
        timeout_emulated: None,
        env: BTreeMap::new(),
    };
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
    let cells: Vec<_> = plan::cells(&tcs, &archs, mode)
        .into_iter()
        .filter(|c| {
            finding
                .cells
                .iter()
                .any(|f| f.toolchain == c.toolchain.name && f.arch == c.arch)
        })
        .collect();
    let max_trials = trials.unwrap_or_else(|| {
        finding
            .cells
            .iter()
            .map(|c| c.runs)
            .max()
            .unwrap_or(3)
            .max(1)
    });
    let out = tempfile::Builder::new()
        .prefix("replay-")
        .tempdir_in(dir)
        .or_else(|_| tempfile::tempdir())?;
    let work = out.path().join("work");
    std::fs::create_dir_all(&work)?;
    let cfg = Config {
        home: home.clone(),
        out_dir: out.path().to_path_buf(),
        work_dir: work,
        jobs,
        env,
        timeout: Duration::from_secs(10),
        timeout_floor: Duration::from_secs(2),
        build_timeout: Duration::from_secs(300),
        grace: Duration::from_secs(3),
        memory_limit: 2048 << 20,
        output_cap: 1 << 20,
        keep: false,
    };
    let writer = Mutex::new(Writer::open(out.path())?);
    let divergent: Vec<bool> = cells
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
            inner: AdaptiveTrials::new(max_trials, &cells),
            divergent,
            kind: finding.kind,
        })
    };
    let budget = if finding.kind.is_static() {
        "builds and scans only".to_string()
    } else {
        format!("up to {max_trials} trials each")
    };
    eprintln!(
        "replaying {} ({:?}, {}) on {} cell(s), {budget}",
        finding.id,
        finding.kind,
        finding.signature,
        cells.len()
    );
    let recs = pipeline::test_program(
        &cfg,
        &prog,
        &cells,
        policy.as_ref(),
        &HashMap::new(),
        &writer,
        &|_| {},
    )?;
    if exec::interrupted() {
        return Ok(EXIT_INTERRUPTED);
    }
    for c in &cells {
        let mut counts: results::Counts = BTreeMap::new();
        for r in recs
            .iter()
            .filter(|r| r.toolchain == c.toolchain.name && r.arch == c.arch)
        {
            if r.stage == results::Stage::Run || r.outcome != crate::model::Class::Ok {
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
        eprintln!(
            "  {} {}: {runs} (static: {stat})",
            c.toolchain.name,
            c.executor_label(),
        );
    }
    let now = findings::findings_for_program_at(&prog, &recs, finding.alpha);
    let divergent = |f: &Finding| -> BTreeSet<(String, Arch)> {
        f.cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| (c.toolchain.clone(), c.arch))
            .collect()
    };
    let want = divergent(&finding);
    let same = now
        .iter()
        .find(|f| f.kind == finding.kind && divergent(f) == want);
    match same {
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

/// Replay trials: the adaptive policy, except that a cell that was divergent
/// in the finding keeps getting trials (up to the budget) until it shows the
/// finding's kind of failure again: a bug that fires in some runs must not be
/// declared gone after a lucky first round.
struct ReplayTrials {
    inner: AdaptiveTrials,
    divergent: Vec<bool>,
    kind: Kind,
}

impl TrialPolicy for ReplayTrials {
    fn more(&self, cell: usize, all: &[Vec<Outcome>], cost: &[f64]) -> u32 {
        let n = self.inner.more(cell, all, cost);
        if n > 0 {
            return n;
        }
        let runs = &all[cell];
        let shown = runs.iter().any(|o| match self.kind {
            Kind::Crash => o.class.is_crash() || o.class == Class::Oom,
            Kind::Hang => o.class == Class::Hang,
            // Build and wrong-output findings show on the first run or not at all.
            Kind::Build | Kind::WrongOutput => true,
            // Static findings are judged from the builds; nothing runs.
            Kind::UnsafeWindow => true,
        });
        u32::from(self.divergent[cell] && !shown && (runs.len() as u32) < self.inner.max)
    }
}
