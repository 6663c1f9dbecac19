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

use std::collections::{BTreeMap, BTreeSet};
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
    let mut out = Vec::new();
    let partial = for_each(dir, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok((out, partial))
}

/// Stream results.jsonl record by record into `f`, holding one line at a
/// time; returns whether a partial last line was dropped (as `read`).
pub fn for_each(dir: &Path, mut f: impl FnMut(Record) -> Result<()>) -> Result<bool> {
    use std::io::BufRead;
    let path = dir.join("results.jsonl");
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let got = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if got == 0 {
            return Ok(false);
        }
        n += 1;
        if line.last() != Some(&b'\n') {
            // The last line, cut short: the writer died mid-write.
            return Ok(!line.iter().all(u8::is_ascii_whitespace));
        }
        let text = &line[..line.len() - 1];
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(text) {
            Ok(r) => f(r)?,
            Err(e) => bail!("{}:{n}: malformed result line: {e}", path.display()),
        }
    }
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

/// What the reports need of a run's records, gathered as the records go by:
/// counts for every record, whole records only for the programs that need
/// them (a failure somewhere, a finding, a corpus entry). A run or a merge
/// thus holds a few counters per program and cell, not every record.
#[derive(Debug, Default)]
pub struct Tally {
    /// Records counted.
    pub records: usize,
    /// Infrastructure failures among them.
    pub infra: usize,
    /// (program, toolchain, arch) -> outcome counts, as `cell_counts` gives.
    pub counts: BTreeMap<(String, String, Arch), Counts>,
    /// Programs with at least one record.
    pub programs: BTreeSet<String>,
    /// (toolchain, arch) -> its runs over all programs.
    pub cells: BTreeMap<(String, Arch), CellRuns>,
    /// The whole records of the kept programs, in the order added.
    pub kept: Vec<Record>,
}

/// One toolchain/arch cell over a whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CellRuns {
    /// Run records (every outcome).
    pub runs: u32,
    /// Run records with a program outcome (not an infrastructure failure).
    pub judged: u32,
    /// Infrastructure failures (builds and runs).
    pub infra: u32,
    /// The executor labels its runs had.
    pub executors: BTreeSet<String>,
}

impl Tally {
    /// Count one record without keeping it.
    pub fn count(&mut self, r: &Record) {
        self.records += 1;
        if !self.programs.contains(&r.program) {
            self.programs.insert(r.program.clone());
        }
        let cell = self.cells.entry((r.toolchain.clone(), r.arch)).or_default();
        if r.outcome == Class::Infra {
            self.infra += 1;
            cell.infra += 1;
        }
        if r.stage == Stage::Run {
            cell.runs += 1;
            cell.judged += u32::from(r.outcome != Class::Infra);
            if !cell.executors.contains(&r.executor) {
                cell.executors.insert(r.executor.clone());
            }
        }
        if !(r.stage == Stage::Build && r.outcome == Class::Ok) {
            *self
                .counts
                .entry((r.program.clone(), r.toolchain.clone(), r.arch))
                .or_default()
                .entry(r.outcome)
                .or_default() += 1;
        }
    }

    /// Count a program's records, keeping them when `keep`.
    pub fn add(&mut self, recs: Vec<Record>, keep: bool) {
        for r in &recs {
            self.count(r);
        }
        if keep {
            self.kept.extend(recs);
        }
    }

    /// Whether a program's records must be kept whole: something failed, or
    /// its build showed a window, so its findings and reproducers need them.
    pub fn needs_keeping(recs: &[Record]) -> bool {
        recs.iter().any(|r| {
            r.outcome != Class::Ok || r.scan.as_ref().is_some_and(|s| !s.windows.is_empty())
        }) || {
            let mut sums = recs.iter().filter_map(|r| r.checksum.as_ref());
            let first = sums.next();
            sums.any(|c| Some(c) != first)
        }
    }
}

/// One results dir of a merged run (a runner, or one shard of one), and what
/// it held.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Runner {
    pub dir: PathBuf,
    /// `ok`, `partial` (a half-written last line was dropped), `missing`, or
    /// `duplicate` (the same directory was given before).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Records it held (duplicates of another dir's included).
    pub records: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// (toolchain, arch) -> its runs there.
    #[serde(skip)]
    pub cells: BTreeMap<(String, Arch), CellRuns>,
    /// Programs with a run or build that was not ok there.
    pub failing: BTreeSet<String>,
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
