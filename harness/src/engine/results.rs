//! The results directory: `run.json` (what was asked), `results.jsonl` (one
//! line per build or run, appended and flushed as each ends) and `summary.md`.
//!
//! Each record is written with a single `write` of a complete line and synced,
//! so a divergo killed at any moment leaves at most one partial final line,
//! which `--resume` drops (that cell simply runs again). A malformed line that
//! is not the last one means the file was damaged: that is an error.

use crate::model::{Arch, Class};
pub use crate::model::{Record, Stage};
use anyhow::{bail, Context, Result};

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Version of the results format; `--resume` refuses other versions.
pub const SCHEMA: u32 = 1;

/// Appends records to results.jsonl.
pub struct Writer {
    file: fs::File,
    path: PathBuf,
}

impl Writer {
    pub fn open(dir: &Path) -> Result<Writer> {
        let path = dir.join("results.jsonl");
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Writer { file, path })
    }

    pub fn append(&mut self, rec: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(rec)?;
        line.push(b'\n');
        let before = self.file.metadata().map(|m| m.len()).ok();
        let r = self
            .file
            .write_all(&line)
            .and_then(|_| self.file.sync_data());
        if let Err(e) = r {
            // Never leave a partial line behind: cut back to the last complete one.
            if let Some(len) = before {
                let _ = self.file.set_len(len);
            }
            return Err(anyhow::Error::new(e)).with_context(|| {
                format!(
                    "cannot append to {}; the results so far are intact",
                    self.path.display()
                )
            });
        }
        Ok(())
    }
}

/// Read results.jsonl. A partial last line (no newline: the writer died
/// mid-write) is dropped and reported in the second value; any other bad line
/// is an error naming the file and line.
pub fn read(dir: &Path) -> Result<(Vec<Record>, bool)> {
    let path = dir.join("results.jsonl");
    let data = match fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], false)),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut out = Vec::new();
    let mut dropped_tail = false;
    let ends_with_newline = data.last() == Some(&b'\n');
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let last_partial = i == n - 1 && !ends_with_newline;
        match serde_json::from_slice::<Record>(line) {
            Ok(r) if !last_partial => out.push(r),
            Ok(_) | Err(_) if last_partial => dropped_tail = true,
            Err(e) => bail!("{}:{}: malformed result line: {e}", path.display(), i + 1),
            Ok(_) => unreachable!(),
        }
    }
    Ok((out, dropped_tail))
}

/// Rewrite results.jsonl without a partial last line (before resuming).
pub fn truncate_partial_tail(dir: &Path) -> Result<()> {
    let path = dir.join("results.jsonl");
    let data = match fs::read(&path) {
        Ok(d) => d,
        Err(_) => return Ok(()),
    };
    if data.is_empty() || data.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = data
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    let f = fs::OpenOptions::new().write(true).open(&path)?;
    f.set_len(keep as u64)?;
    f.sync_all()?;
    Ok(())
}

/// Write a file atomically (temp file + rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, data)
        .and_then(|_| fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Outcome counts per cell, from records.
pub type Counts = BTreeMap<Class, u32>;

/// (program, toolchain, arch) -> counts of run outcomes (builds that failed
/// count once under their class).
pub fn cell_counts(records: &[Record]) -> BTreeMap<(String, String, Arch), Counts> {
    let mut m: BTreeMap<(String, String, Arch), Counts> = BTreeMap::new();
    for r in records {
        if r.stage == Stage::Build && r.outcome == Class::Ok {
            continue;
        }
        *m.entry((r.program.clone(), r.toolchain.clone(), r.arch))
            .or_default()
            .entry(r.outcome)
            .or_default() += 1;
    }
    m
}

/// Render counts like `ok 18, fatal 2`.
pub fn counts_str(c: &Counts) -> String {
    let mut v: Vec<(&Class, &u32)> = c.iter().collect();
    v.sort_by_key(|(cl, _)| (cl.severity() == 0, std::cmp::Reverse(cl.severity())));
    v.iter()
        .map(|(cl, n)| format!("{cl} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExitStatus;

    fn rec(trial: u32) -> Record {
        Record {
            stage: Stage::Run,
            program: "p".into(),
            toolchain: "go1.23.11".into(),
            arch: Arch::Amd64,
            executor: "amd64 (native)".into(),
            trial,
            env: BTreeMap::new(),
            outcome: Class::Ok,
            signature: String::new(),
            checksum: Some("00ff".into()),
            duration_ms: 5,
            exit: Some(ExitStatus::Code(0)),
            timeout_ms: Some(1000),
            peak_rss: None,
            log: None,
            scan: None,
        }
    }

    #[test]
    fn partial_tail_is_dropped_other_damage_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Writer::open(d.path()).unwrap();
        w.append(&rec(0)).unwrap();
        w.append(&rec(1)).unwrap();
        // A writer killed mid-line.
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(d.path().join("results.jsonl"))
            .unwrap();
        f.write_all(br#"{"stage":"run","prog"#).unwrap();
        let (recs, dropped) = read(d.path()).unwrap();
        assert_eq!(recs.len(), 2);
        assert!(dropped);
        truncate_partial_tail(d.path()).unwrap();
        let (recs, dropped) = read(d.path()).unwrap();
        assert_eq!(recs, vec![rec(0), rec(1)]);
        assert!(!dropped);

        // Damage in the middle.
        let p = d.path().join("results.jsonl");
        let text = fs::read_to_string(&p).unwrap();
        fs::write(&p, format!("{{garbage}}\n{text}")).unwrap();
        let err = read(d.path()).unwrap_err().to_string();
        assert!(err.contains("results.jsonl:1: malformed"), "{err}");
    }
}
