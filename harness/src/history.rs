//! The findings history: an SQLite database (bundled, nothing to install)
//! that remembers every finding by its id (kind, bug key and divergent
//! cells) across runs, so that a nightly run says what is new since the last
//! one, what was seen before, what a person acknowledged, what stopped
//! showing (fixed) and what came back (regressed).
//!
//! Stored states: `new` (seen, nobody acknowledged it), `acknowledged`
//! (`divergo findings ack`), `fixed` (not seen in `fixed_after` runs in a row
//! that covered all its divergent cells), `regressed` (seen again after
//! fixed). What one run says of a finding it shows ([`Status`]): `new` (never
//! seen before), `regressed`, `seen` (seen before, not acknowledged) or
//! `acknowledged`; only `new` and `regressed` fail a run.
//!
//! Writers take SQLite's write lock for the whole of one run's record (WAL
//! journal, a busy timeout), so runs recorded at once are serialised and
//! nothing is lost. A file that is not a healthy database is an error that
//! names it; it is never replaced.

use crate::oracle::findings::{Finding, HistoryMark, HistoryReport, HistoryStatus};
use anyhow::{anyhow, bail, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SCHEMA_VERSION: i64 = 1;
/// Runs shown in a finding's per-run chart.
pub const CHART_RUNS: usize = 30;

/// A stored finding.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Entry {
    pub id: String,
    pub kind: String,
    pub scope: String,
    pub bug: String,
    pub signature: String,
    /// Its divergent cells (`toolchain/arch`).
    pub cells: Vec<String>,
    /// new, acknowledged, fixed or regressed.
    pub state: String,
    pub note: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub runs_seen: u32,
    pub programs_seen: u64,
    /// Runs in a row since it was last seen that covered its cells.
    pub missed: u32,
    /// The known issue it matched when last seen.
    pub known: Option<String>,
}

/// A run that showed a finding: (run id, time, results dir, programs).
pub type Sighting = (i64, String, String, u64);

/// One run as the history records it.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The command (run, merge, qualify) and its results dir.
    pub command: String,
    pub out_dir: PathBuf,
    /// The cells it ran (`toolchain/arch`).
    pub cells: BTreeSet<String>,
    pub programs: u64,
}

/// An open history database.
pub struct Db {
    conn: Connection,
    path: PathBuf,
}

/// Now, in UTC to the second (`2026-12-05T22:07:19Z`).
fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!(
        "history database {} is damaged or not a divergo history ({e}); move it away to start \
         a new one (divergo never replaces it)",
        path.display()
    )
}

impl Db {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening history database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(120))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| damaged(path, e))?;
        if check != "ok" {
            return Err(damaged(path, check));
        }
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| damaged(path, e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| damaged(path, e))?;
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        match version {
            0 if tables == 0 => {
                conn.execute_batch(
                    "BEGIN IMMEDIATE;
                     CREATE TABLE IF NOT EXISTS runs (
                       id INTEGER PRIMARY KEY AUTOINCREMENT,
                       at TEXT NOT NULL, command TEXT NOT NULL, out_dir TEXT NOT NULL,
                       cells TEXT NOT NULL, programs INTEGER NOT NULL);
                     CREATE TABLE IF NOT EXISTS findings (
                       id TEXT PRIMARY KEY, kind TEXT NOT NULL, scope TEXT NOT NULL,
                       bug TEXT NOT NULL, signature TEXT NOT NULL, cells TEXT NOT NULL,
                       state TEXT NOT NULL, note TEXT,
                       first_run INTEGER NOT NULL, last_run INTEGER NOT NULL,
                       first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
                       runs_seen INTEGER NOT NULL, programs_seen INTEGER NOT NULL,
                       missed INTEGER NOT NULL, known TEXT);
                     CREATE TABLE IF NOT EXISTS sightings (
                       run INTEGER NOT NULL, finding TEXT NOT NULL, programs INTEGER NOT NULL,
                       PRIMARY KEY (run, finding));
                     PRAGMA user_version = 1;
                     COMMIT;",
                )
                .map_err(|e| damaged(path, e))?;
            }
            SCHEMA_VERSION => {}
            v => {
                return Err(damaged(
                    path,
                    format!("schema version {v}, this divergo reads {SCHEMA_VERSION}"),
                ))
            }
        }
        Ok(Db {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record one run and its findings; set each finding's
    /// [`Finding::history`]. A stored finding the run covered (all its
    /// divergent cells ran) and did not show is one run closer to `fixed`.
    pub fn record(
        &mut self,
        run: &RunInfo,
        findings: &mut [Finding],
        fixed_after: u32,
    ) -> Result<HistoryReport> {
        let at = now();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| damaged(&path, e))?;
        let previous: Option<String> = tx
            .query_row("SELECT at FROM runs ORDER BY id DESC LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        tx.execute(
            "INSERT INTO runs (at, command, out_dir, cells, programs) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                at,
                run.command,
                run.out_dir.display().to_string(),
                serde_json::to_string(&run.cells)?,
                run.programs as i64
            ],
        )?;
        let run_id = tx.last_insert_rowid();
        let mut shown = BTreeSet::new();
        for f in findings.iter_mut() {
            shown.insert(f.id.clone());
            let cells = divergent_cells(f);
            let prev = get(&tx, &f.id)?;
            let (status, state) = match prev.as_ref().map(|e| e.state.as_str()) {
                None => (HistoryStatus::New, "new"),
                Some("fixed") => (HistoryStatus::Regressed, "regressed"),
                Some("acknowledged") => (HistoryStatus::Acknowledged, "acknowledged"),
                Some("regressed") => (HistoryStatus::Regressed, "regressed"),
                Some(_) => (HistoryStatus::Seen, "new"),
            };
            let programs = f.count.max(1) as i64;
            match &prev {
                None => {
                    tx.execute(
                        "INSERT INTO findings (id, kind, scope, bug, signature, cells, state, note,
                           first_run, last_run, first_seen, last_seen, runs_seen, programs_seen,
                           missed, known)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?8, ?9, ?9, 1, ?10, 0, ?11)",
                        params![
                            f.id,
                            kind_name(f),
                            f.scope,
                            f.bug,
                            f.signature,
                            serde_json::to_string(&cells)?,
                            state,
                            run_id,
                            at,
                            programs,
                            f.known
                        ],
                    )?;
                }
                Some(_) => {
                    tx.execute(
                        "UPDATE findings SET state = ?2, last_run = ?3, last_seen = ?4,
                           runs_seen = runs_seen + 1, programs_seen = programs_seen + ?5,
                           missed = 0, known = ?6, signature = ?7 WHERE id = ?1",
                        params![f.id, state, run_id, at, programs, f.known, f.signature],
                    )?;
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO sightings (run, finding, programs) VALUES (?1, ?2, ?3)",
                params![run_id, f.id, programs],
            )?;
            let e = get(&tx, &f.id)?.expect("just written");
            f.history = Some(HistoryMark {
                status,
                first_seen: e.first_seen.clone(),
                runs_seen: e.runs_seen,
                note: e.note.clone(),
                chart: chart(&tx, &f.id, run_id)?,
            });
        }
        // Findings not shown by this run that it covered: one run closer to fixed.
        let mut fixed = Vec::new();
        for e in all(&tx)? {
            if shown.contains(&e.id) || e.state == "fixed" {
                continue;
            }
            if !e.cells.iter().all(|c| run.cells.contains(c)) {
                continue;
            }
            let missed = e.missed + 1;
            let state = if missed >= fixed_after.max(1) {
                "fixed"
            } else {
                e.state.as_str()
            };
            tx.execute(
                "UPDATE findings SET missed = ?2, state = ?3 WHERE id = ?1",
                params![e.id, missed, state],
            )?;
            if state == "fixed" {
                fixed.push(e);
            }
        }
        tx.commit()?;
        Ok(HistoryReport {
            db: self.path.clone(),
            previous,
            fixed: fixed
                .into_iter()
                .map(|e| (e.id, e.kind, e.signature, e.last_seen))
                .collect(),
        })
    }

    /// Mark a finding acknowledged with a note. `id` may be a unique prefix.
    pub fn ack(&mut self, id: &str, note: &str) -> Result<Entry> {
        let full = self.resolve(id)?;
        self.conn.execute(
            "UPDATE findings SET state = 'acknowledged', note = ?2 WHERE id = ?1",
            params![full, note],
        )?;
        Ok(get(&self.conn, &full)?.expect("resolved"))
    }

    /// Every stored finding, most recently seen first.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let mut v = all(&self.conn)?;
        v.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.id.cmp(&b.id)));
        Ok(v)
    }

    /// One finding and the runs that showed it: (run id, time, results dir, programs).
    pub fn show(&self, id: &str) -> Result<(Entry, Vec<Sighting>)> {
        let full = self.resolve(id)?;
        let e = get(&self.conn, &full)?.expect("resolved");
        let mut st = self.conn.prepare(
            "SELECT r.id, r.at, r.out_dir, s.programs FROM sightings s JOIN runs r ON r.id = s.run
             WHERE s.finding = ?1 ORDER BY r.id",
        )?;
        let rows = st
            .query_map([&full], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((e, rows))
    }

    /// Runs recorded.
    pub fn runs(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn resolve(&self, id: &str) -> Result<String> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("{id:?}: a finding id is hex digits (see `divergo findings list`)");
        }
        let mut st = self
            .conn
            .prepare("SELECT id FROM findings WHERE id LIKE ?1 || '%' ORDER BY id")?;
        let ids = st
            .query_map([id], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        match ids.len() {
            0 => bail!("no finding {id} in {}", self.path.display()),
            1 => Ok(ids.into_iter().next().unwrap()),
            n => bail!(
                "{id} names {n} findings ({}): give more digits",
                ids.join(", ")
            ),
        }
    }
}

fn kind_name(f: &Finding) -> String {
    serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn divergent_cells(f: &Finding) -> Vec<String> {
    f.cells
        .iter()
        .filter(|c| c.divergent)
        .map(|c| format!("{}/{}", c.toolchain, c.arch))
        .collect()
}

const COLUMNS: &str = "id, kind, scope, bug, signature, cells, state, note, first_seen, \
                       last_seen, runs_seen, programs_seen, missed, known";

fn entry(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    let cells: String = r.get(5)?;
    Ok(Entry {
        id: r.get(0)?,
        kind: r.get(1)?,
        scope: r.get(2)?,
        bug: r.get(3)?,
        signature: r.get(4)?,
        cells: serde_json::from_str(&cells).unwrap_or_default(),
        state: r.get(6)?,
        note: r.get(7)?,
        first_seen: r.get(8)?,
        last_seen: r.get(9)?,
        runs_seen: r.get::<_, i64>(10)? as u32,
        programs_seen: r.get::<_, i64>(11)? as u64,
        missed: r.get::<_, i64>(12)? as u32,
        known: r.get(13)?,
    })
}

fn get(conn: &Connection, id: &str) -> Result<Option<Entry>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM findings WHERE id = ?1"),
            [id],
            entry,
        )
        .optional()?)
}

fn all(conn: &Connection) -> Result<Vec<Entry>> {
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM findings ORDER BY id"))?;
    let v = st
        .query_map([], entry)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

/// The programs that showed the finding in each of the last [`CHART_RUNS`]
/// runs up to `run` that covered its cells or showed it: (time, programs;
/// 0 when not shown).
fn chart(conn: &Connection, id: &str, run: i64) -> Result<Vec<(String, u32)>> {
    let e = get(conn, id)?.expect("stored");
    let mut st = conn.prepare(
        "SELECT r.id, r.at, r.cells, COALESCE(s.programs, 0) FROM runs r
         LEFT JOIN sightings s ON s.run = r.id AND s.finding = ?1
         WHERE r.id <= ?2 ORDER BY r.id DESC",
    )?;
    let rows = st.query_map(params![id, run], |r| {
        Ok((
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (at, cells, n) = row?;
        let cells: BTreeSet<String> = serde_json::from_str(&cells).unwrap_or_default();
        if n > 0 || e.cells.iter().all(|c| cells.contains(c)) {
            out.push((at, n as u32));
        }
        if out.len() == CHART_RUNS {
            break;
        }
    }
    out.reverse();
    Ok(out)
}

/// The database path a command uses: `flag` (`off` → none), else
/// `$DIVERGO_HOME/history.db`.
pub fn path_from(flag: Option<&str>, home: &Path) -> Option<PathBuf> {
    match flag.map(str::trim) {
        Some("off") | Some("none") => None,
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => Some(home.join("history.db")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Arch;
    use crate::oracle::findings::{CellReport, Kind};

    fn finding(id: &str, tc: &str) -> Finding {
        Finding {
            id: id.into(),
            kind: Kind::Crash,
            scope: "toolchain".into(),
            signature: "fatal: x".into(),
            bug: "x".into(),
            template: None,
            seed: None,
            program: "seed-1".into(),
            p_value: None,
            alpha: 0.01,
            cells: vec![CellReport {
                toolchain: tc.into(),
                arch: Arch::Amd64,
                executor: "native".into(),
                runs: 2,
                outcomes: Default::default(),
                divergent: true,
            }],
            count: 1,
            programs: vec!["seed-1".into()],
            divergo_version: "t".into(),
            threshold: None,
            settled: true,
            comparisons: vec![],
            triage: None,
            known: None,
            static_windows: vec![],
            reduced: None,
            merged: vec![],
            history: None,
            source: None,
        }
    }

    fn run(cells: &[&str]) -> RunInfo {
        RunInfo {
            command: "run".into(),
            out_dir: "r".into(),
            cells: cells.iter().map(|c| c.to_string()).collect(),
            programs: 1,
        }
    }

    fn status(f: &[Finding]) -> HistoryStatus {
        f[0].history.as_ref().unwrap().status
    }

    #[test]
    fn new_seen_ack_fixed_regressed() {
        let t = tempfile::tempdir().unwrap();
        let mut db = Db::open(&t.path().join("h.db")).unwrap();
        let cells = ["a/amd64", "b/amd64"];
        let mut f = vec![finding("abc123", "a")];
        db.record(&run(&cells), &mut f, 2).unwrap();
        assert_eq!(status(&f), HistoryStatus::New);
        db.record(&run(&cells), &mut f, 2).unwrap();
        assert_eq!(status(&f), HistoryStatus::Seen);
        assert_eq!(f[0].history.as_ref().unwrap().runs_seen, 2);
        db.ack("abc", "upstream golang/go#1").unwrap();
        db.record(&run(&cells), &mut f, 2).unwrap();
        assert_eq!(status(&f), HistoryStatus::Acknowledged);
        // A run that does not cover cell a/amd64 does not count towards fixed.
        for _ in 0..3 {
            let r = db.record(&run(&["b/amd64"]), &mut [], 2).unwrap();
            assert!(r.fixed.is_empty());
        }
        assert!(db
            .record(&run(&cells), &mut [], 2)
            .unwrap()
            .fixed
            .is_empty());
        let r = db.record(&run(&cells), &mut [], 2).unwrap();
        assert_eq!(r.fixed.len(), 1);
        assert_eq!(db.list().unwrap()[0].state, "fixed");
        db.record(&run(&cells), &mut f, 2).unwrap();
        assert_eq!(status(&f), HistoryStatus::Regressed);
        let chart = &f[0].history.as_ref().unwrap().chart;
        // Covered runs only: 3 shown, 2 missed, then shown again.
        assert_eq!(
            chart.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            [1, 1, 1, 0, 0, 1]
        );
        let (_, sightings) = db.show("abc123").unwrap();
        assert_eq!(sightings.len(), 4);
    }

    #[test]
    fn a_damaged_file_is_an_error_and_is_kept() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("h.db");
        std::fs::write(&p, b"this is not a database, but it is someone's file\n").unwrap();
        let e = Db::open(&p).err().expect("refused").to_string();
        assert!(e.contains("damaged"), "{e}");
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"this is not a database, but it is someone's file\n"
        );
    }

    #[test]
    fn ack_needs_a_known_unique_id() {
        let t = tempfile::tempdir().unwrap();
        let mut db = Db::open(&t.path().join("h.db")).unwrap();
        let mut f = vec![finding("ab1", "a"), finding("ab2", "a")];
        db.record(&run(&["a/amd64"]), &mut f, 3).unwrap();
        assert!(db
            .ack("ab", "x")
            .unwrap_err()
            .to_string()
            .contains("2 findings"));
        assert!(db
            .ack("ff", "x")
            .unwrap_err()
            .to_string()
            .contains("no finding"));
        assert!(db.ack("zz", "x").is_err());
        assert_eq!(db.ack("ab2", "x").unwrap().state, "acknowledged");
    }

    #[test]
    fn two_writers_at_once_lose_nothing() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("h.db");
        Db::open(&p).unwrap();
        let hs: Vec<_> = (0..2)
            .map(|w| {
                let p = p.clone();
                std::thread::spawn(move || {
                    let mut db = Db::open(&p).unwrap();
                    for i in 0..40 {
                        let mut f = vec![finding(&format!("{w}{i:04x}"), "a")];
                        db.record(&run(&["a/amd64"]), &mut f, 1000).unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let db = Db::open(&p).unwrap();
        assert_eq!(db.runs().unwrap(), 80);
        assert_eq!(db.list().unwrap().len(), 80);
    }
}
