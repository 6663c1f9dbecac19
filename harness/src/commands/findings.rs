//! `divergo findings list|show|ack`: read the findings history and
//! acknowledge findings in it (see [`crate::history`]).

use crate::error::EXIT_OK;
use crate::history::Db;
use anyhow::{bail, Result};
use std::path::Path;

const STATES: &[&str] = &["new", "acknowledged", "fixed", "regressed"];

pub fn list(db: &Path, state: Option<&str>, json: bool) -> Result<i32> {
    if let Some(s) = state.filter(|s| !STATES.contains(s)) {
        bail!("--state {s}: expected one of {}", STATES.join(", "));
    }
    let db = Db::open(db)?;
    let v: Vec<_> = db
        .list()?
        .into_iter()
        .filter(|e| state.is_none_or(|s| e.state == s))
        .collect();
    if json {
        println!("{}", serde_json::to_string(&v)?);
        return Ok(EXIT_OK);
    }
    println!(
        "# {} finding(s) in {} ({} runs recorded)",
        v.len(),
        db.path().display(),
        db.runs()?
    );
    for e in &v {
        println!(
            "{}  {:<12} {:<12} runs {:>3}  last {}  {}{}",
            e.id,
            e.state,
            e.kind,
            e.runs_seen,
            e.last_seen,
            e.signature.chars().take(80).collect::<String>(),
            e.note
                .as_ref()
                .map(|n| format!("  [{n}]"))
                .unwrap_or_default()
        );
    }
    Ok(EXIT_OK)
}

pub fn show(db: &Path, id: &str, json: bool) -> Result<i32> {
    let db = Db::open(db)?;
    let (e, runs) = db.show(id)?;
    if json {
        let runs: Vec<_> = runs
            .iter()
            .map(|(id, at, dir, n)| serde_json::json!({"run": id, "at": at, "out_dir": dir, "programs": n}))
            .collect();
        let mut v = serde_json::to_value(&e)?;
        v["runs"] = runs.into();
        println!("{v}");
        return Ok(EXIT_OK);
    }
    println!("{} {} ({}) `{}`", e.id, e.kind, e.scope, e.signature);
    println!(
        "state: {}{}",
        e.state,
        e.note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    println!("bug: {}", e.bug);
    println!("cells: {}", e.cells.join(", "));
    println!(
        "first seen {}, last seen {}, in {} run(s), {} program(s); missed by the last {} covering run(s)",
        e.first_seen, e.last_seen, e.runs_seen, e.programs_seen, e.missed
    );
    if let Some(k) = &e.known {
        println!("known issue: {k}");
    }
    println!("runs that showed it:");
    for (id, at, dir, n) in runs {
        println!("  run {id} {at}  {n} program(s)  {dir}");
    }
    Ok(EXIT_OK)
}

pub fn ack(db: &Path, id: &str, note: &str) -> Result<i32> {
    if note.trim().is_empty() {
        bail!("--note is empty: say why (an upstream issue, a decision)");
    }
    let mut db = Db::open(db)?;
    let e = db.ack(id, note)?;
    eprintln!("{} acknowledged: {} ({note})", e.id, e.signature);
    Ok(EXIT_OK)
}
