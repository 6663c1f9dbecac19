//! Running a finding's failing cell again under each triage knob
//! ([`crate::oracle::triage::KNOBS`]). Records go to their own results file
//! (`triage/<finding>/results.jsonl`), apart from the run's, so resume and
//! the run's verdicts never see them.

use crate::engine::executor::{self, ExecutorKind, QemuMode};
use crate::engine::pipeline::{self, Cell, Config, FixedTrials};
use crate::engine::results::Writer;
use crate::exec;
use crate::model::{Class, Program, Record, Stage};
use crate::oracle::classify::bug_key;
use crate::oracle::triage::{self, Triage, KNOBS};
use anyhow::Result;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// Whether a run record shows the bug `bug`; None when it cannot be judged.
fn shows(r: &Record, bug: &str) -> Option<bool> {
    match r.outcome {
        Class::Infra => None,
        Class::Ok => Some(false),
        _ => Some(bug_key(&r.signature) == bug),
    }
}

/// (bad, judged) runs of `recs` on `cell`.
pub fn tally(recs: &[Record], cell: &Cell, bug: &str) -> (u32, u32) {
    let judged: Vec<bool> = recs
        .iter()
        .filter(|r| {
            r.stage == Stage::Run && r.toolchain == cell.toolchain.name && r.arch == cell.arch
        })
        .filter_map(|r| shows(r, bug))
        .collect();
    (
        judged.iter().filter(|b| **b).count() as u32,
        judged.len() as u32,
    )
}

/// Rerun `cell` under each knob that applies to it (`runs` trials each),
/// and judge the knobs against the cell's own `base` (bad, runs).
pub fn run(
    cfg: &Config,
    prog: &Program,
    cell: &Cell,
    bug: &str,
    base: (u32, u32),
    runs: u32,
    out: &Path,
) -> Result<Triage> {
    std::fs::create_dir_all(out)?;
    let writer = Mutex::new(Writer::open(out)?);
    let cfg = Config {
        out_dir: out.to_path_buf(),
        ..cfg.clone()
    };
    let one_insn = matches!(
        &cell.executor,
        Ok(e) if matches!(e.kind, ExecutorKind::QemuUser { mode: QemuMode::OneInsnPerTb, .. })
    );
    let mut tried = Vec::new();
    for k in KNOBS {
        if exec::interrupted() {
            break;
        }
        if k.plain_qemu && !one_insn {
            continue;
        }
        let mut p = prog.clone();
        let mut c = cell.clone();
        if let Some((var, val)) = k.env {
            let v = if var == "GODEBUG" {
                let current = p.env.get(var).or_else(|| cfg.env.get(var)).cloned();
                triage::merge_godebug(current.as_deref(), val)
            } else {
                val.to_string()
            };
            p.env.insert(var.to_string(), v);
        }
        if k.plain_qemu {
            c.executor = executor::detect(cell.arch, QemuMode::Plain);
        }
        p.name = format!("{}-{}", prog.name, k.name.replace(['=', ' '], "_"));
        let recs = pipeline::test_program(
            &cfg,
            &p,
            std::slice::from_ref(&c),
            &FixedTrials(runs),
            &HashMap::new(),
            &writer,
            &|_| {},
        )?;
        let (bad, n) = tally(&recs, &c, bug);
        tried.push((k, bad, n));
    }
    Ok(triage::judge(
        &format!("{}/{}", cell.toolchain.name, cell.arch),
        base,
        &tried,
        crate::oracle::verdict::DEFAULT_ALPHA,
    ))
}
