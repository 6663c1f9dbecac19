//! Driving one program through the matrix: build every cell (toolchain ×
//! arch), then run trials in rounds, in parallel up to `jobs`, appending each
//! result to results.jsonl as it ends.
//!
//! Plain data in (a [`Program`], a [`Config`], what is already done), plain data
//! out (the program's [`Record`]s).

use crate::engine::build::{self, BuildRequest};
use crate::engine::executor::Executor;
use crate::engine::results::{Record, Stage, Writer};
use crate::exec::{self, ExecSpec};
use crate::model::{Arch, Class, Outcome};
use crate::oracle::classify::{self, RunEvidence};
use crate::toolchain::registry::Toolchain;
use anyhow::Result;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

pub use crate::model::Program;

/// The executor part of a compile-only cell's label: `ppc64 (compile-only)`.
pub const COMPILE_ONLY: &str = "compile-only";

/// One column of the matrix.
#[derive(Clone, Debug)]
pub struct Cell {
    pub toolchain: Toolchain,
    pub arch: Arch,
    /// `Err` = the executor is missing; the cell's runs are `infra`.
    pub executor: Result<Executor, String>,
    /// Built (and judged by its build) but never run: a cell of
    /// `--compile-arch`. Its build is the whole test, so it has no run
    /// records, not even an `infra` one.
    pub compile_only: bool,
}

impl Cell {
    pub fn executor_label(&self) -> String {
        match &self.executor {
            _ if self.compile_only => format!("{} ({COMPILE_ONLY})", self.arch),
            Ok(e) => e.label(),
            Err(_) => format!("{} (no executor)", self.arch),
        }
    }
}

/// How trials are spent. Called before each round for every runnable cell
/// with the runs so far of all cells (`all[cell]` is this cell's) and each
/// cell's mean run time in seconds (0 before its first run); returns how many
/// trials that cell gets this round. The trials of a program end when no cell
/// gets any.
pub trait TrialPolicy: Sync {
    fn more(&self, cell: usize, all: &[Vec<Outcome>], cost: &[f64]) -> u32;

    /// Whether the trials run at all, once the builds (with their static
    /// scans) are in `builds`. By default they do.
    fn runs_after(&self, builds: &[Record]) -> bool {
        let _ = builds;
        true
    }
}

/// A fixed number of trials per cell.
pub struct FixedTrials(pub u32);

impl TrialPolicy for FixedTrials {
    fn more(&self, cell: usize, all: &[Vec<Outcome>], _cost: &[f64]) -> u32 {
        self.0.saturating_sub(all[cell].len() as u32)
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub home: PathBuf,
    pub out_dir: PathBuf,
    /// Scratch space for sources, binaries and run directories.
    pub work_dir: PathBuf,
    pub jobs: usize,
    /// Pressure knobs and other environment of every run (GOGC, GOMAXPROCS, GODEBUG).
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Smallest timeout adaptive hang detection may pick (native; scaled).
    pub timeout_floor: Duration,
    pub build_timeout: Duration,
    pub grace: Duration,
    pub memory_limit: u64,
    pub output_cap: usize,
    pub keep: bool,
    /// CPUs each emulated run is pinned to (0: unpinned).
    pub emulated_cpus: u32,
}

impl Config {
    /// The settings `run` uses by default (10 s native timeout, 2 GiB memory
    /// limit, 1 MiB of output kept per stream), writing into `out_dir` with
    /// scratch space in `work_dir`.
    pub fn standard(
        home: PathBuf,
        out_dir: PathBuf,
        work_dir: PathBuf,
        jobs: usize,
        env: BTreeMap<String, String>,
    ) -> Config {
        // `go build` runs in the program's source dir: a relative path
        // (a finding dir given as `r1/findings/ID`) would put its binary
        // somewhere else.
        let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        Config {
            home: abs(home),
            out_dir: abs(out_dir),
            work_dir: abs(work_dir),
            jobs,
            env,
            timeout: Duration::from_secs(10),
            timeout_floor: Duration::from_secs(2),
            build_timeout: Duration::from_secs(300),
            grace: Duration::from_secs(3),
            memory_limit: 2048 << 20,
            output_cap: 1 << 20,
            keep: false,
            emulated_cpus: 0,
        }
    }
}

/// A unit of work in a round.
enum Task {
    Build(usize),
    Run {
        cell: usize,
        trial: u32,
        timeout: Duration,
    },
}

/// The resume key of a record: stage, program, toolchain, arch, trial.
pub type RecordKey = (Stage, String, String, Arch, u32);

/// Test one program on every cell. `done` holds records of a previous,
/// interrupted run (resume); they are reused instead of run again.
///
/// The steps: write the sources, build every cell and scan each binary it
/// built ([`build::scan_facts`] puts its windows on the build record),
/// record the cells whose executor is missing, then run trials in rounds
/// while `policy` asks for more.
pub fn test_program(
    cfg: &Config,
    prog: &Program,
    cells: &[Cell],
    policy: &dyn TrialPolicy,
    done: &HashMap<RecordKey, Record>,
    writer: &Mutex<Writer>,
    on_record: &(dyn Fn(&Record) + Sync),
) -> Result<Vec<Record>> {
    let t = ProgramTest::start(cfg, prog, cells, done, writer, on_record)?;
    let built = t.build_all()?;
    // `auto` qemu executors are decided now that the builds are scanned.
    let resolved = resolve_executors(cells, &t.records.lock().unwrap());
    let t = ProgramTest {
        cells: &resolved,
        ..t
    };
    let mut active: Vec<bool> = built
        .iter()
        .zip(cells)
        .map(|(b, c)| b.is_some() && !c.compile_only)
        .collect();
    t.record_missing_executors(&mut active)?;
    let go_on = policy.runs_after(&t.records.lock().unwrap());
    if go_on {
        t.run_trials(policy, &built, active)?;
    }
    Ok(t.finish())
}

/// The cells as this program runs them: an `auto` qemu executor becomes one
/// insn per TB on an arch where some build of the program has a preemptible
/// window the static scan knows (the split-SP epilogue: where single-stepping
/// pays), plain on the others.
pub fn resolve_executors(cells: &[Cell], records: &[Record]) -> Vec<Cell> {
    cells
        .iter()
        .map(|c| {
            let windows = records.iter().any(|r| {
                r.stage == Stage::Build
                    && r.arch == c.arch
                    && r.scan.as_ref().is_some_and(|s| !s.windows.is_empty())
            });
            Cell {
                executor: c
                    .executor
                    .as_ref()
                    .map(|e| e.resolved(windows))
                    .map_err(Clone::clone),
                ..c.clone()
            }
        })
        .collect()
}

/// A finished trial: (cell, outcome, duration if clean, duration).
type TrialDone = (usize, Outcome, Option<Duration>, Duration);

/// One program under test: where its files are, and the records so far.
struct ProgramTest<'a> {
    cfg: &'a Config,
    prog: &'a Program,
    cells: &'a [Cell],
    done: &'a HashMap<RecordKey, Record>,
    writer: &'a Mutex<Writer>,
    on_record: &'a (dyn Fn(&Record) + Sync),
    pdir: PathBuf,
    records: Mutex<Vec<Record>>,
}

/// `go_mod` with its `go` directive set to `lang` (added when it has none).
pub fn with_go_line(go_mod: &str, lang: &str) -> String {
    let mut found = false;
    let mut out: Vec<String> = go_mod
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("go ") && !found {
                found = true;
                format!("go {lang}")
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        out.push(String::new());
        out.push(format!("go {lang}"));
    }
    out.join("\n") + "\n"
}

impl<'a> ProgramTest<'a> {
    /// Write the program's sources into its scratch dir.
    fn start(
        cfg: &'a Config,
        prog: &'a Program,
        cells: &'a [Cell],
        done: &'a HashMap<RecordKey, Record>,
        writer: &'a Mutex<Writer>,
        on_record: &'a (dyn Fn(&Record) + Sync),
    ) -> Result<Self> {
        let pdir = cfg.work_dir.join(sanitize(&prog.name));
        let src = pdir.join("src");
        fs::create_dir_all(&src)?;
        fs::write(src.join("main.go"), &prog.main_go)?;
        fs::write(src.join("go.mod"), &prog.go_mod)?;
        // The language-version cells build the same main.go with their own
        // `go` line.
        for lang in cells.iter().filter_map(|c| c.toolchain.lang.as_deref()) {
            let d = pdir.join(format!("src-lang{lang}"));
            fs::create_dir_all(&d)?;
            fs::write(d.join("main.go"), &prog.main_go)?;
            fs::write(d.join("go.mod"), with_go_line(&prog.go_mod, lang))?;
        }
        Ok(ProgramTest {
            cfg,
            prog,
            cells,
            done,
            writer,
            on_record,
            pdir,
            records: Mutex::new(Vec::new()),
        })
    }

    fn key(&self, stage: Stage, cell: &Cell, trial: u32) -> RecordKey {
        (
            stage,
            self.prog.name.clone(),
            cell.toolchain.name.clone(),
            cell.arch,
            trial,
        )
    }

    /// Keep a record (appending it to results.jsonl when `fresh`). A full
    /// disk stops the run: nothing after it could be written.
    fn emit(&self, rec: Record, fresh: bool) -> Result<()> {
        if rec.outcome == Class::Infra && crate::error::is_disk_full(&rec.signature) {
            return Err(anyhow::Error::new(crate::error::InfraError(format!(
                "disk full: {} (results so far are in {})",
                rec.signature,
                self.cfg.out_dir.display()
            ))));
        }
        if fresh {
            self.writer.lock().unwrap().append(&rec)?;
        }
        (self.on_record)(&rec);
        self.records.lock().unwrap().push(rec);
        Ok(())
    }

    /// A record of this program on `cell` with no run details.
    fn record(&self, stage: Stage, cell: &Cell, outcome: Outcome) -> Record {
        Record {
            stage,
            program: self.prog.name.clone(),
            toolchain: cell.toolchain.name.clone(),
            arch: cell.arch,
            executor: cell.executor_label(),
            trial: 0,
            env: BTreeMap::new(),
            outcome: outcome.class,
            signature: outcome.signature,
            checksum: None,
            duration_ms: 0,
            exit: None,
            timeout_ms: None,
            peak_rss: None,
            log: None,
            scan: None,
        }
    }

    /// Build every cell in parallel; the binary of each cell that built.
    fn build_all(&self) -> Result<Vec<Option<PathBuf>>> {
        let built: Vec<Mutex<Option<PathBuf>>> =
            self.cells.iter().map(|_| Mutex::new(None)).collect();
        let tasks: Vec<Task> = (0..self.cells.len()).map(Task::Build).collect();
        run_parallel(self.cfg.jobs, tasks, |t| {
            let Task::Build(i) = t else { unreachable!() };
            if let Some(bin) = self.build_cell(&self.cells[i])? {
                *built[i].lock().unwrap() = Some(bin);
            }
            Ok(())
        })?;
        Ok(built.into_iter().map(|b| b.into_inner().unwrap()).collect())
    }

    /// Build one cell and record the outcome; the binary when it built.
    fn build_cell(&self, cell: &Cell) -> Result<Option<PathBuf>> {
        let cfg = self.cfg;
        let bin = self
            .pdir
            .join(format!("{}-{}", cell.toolchain.name, cell.arch))
            .join("prog");
        let prev = self.done.get(&self.key(Stage::Build, cell, 0));
        if let Some(rec) = prev {
            // Builds are cheap to redo; a resumed run needs the binary again.
            if rec.outcome != Class::Ok {
                self.emit(rec.clone(), false)?;
                return Ok(None);
            }
        }
        let _ = fs::create_dir_all(bin.parent().unwrap());
        if exec::interrupted() {
            return Ok(None);
        }
        let r = if cell.toolchain.usable {
            build::build(&BuildRequest {
                src_dir: match &cell.toolchain.lang {
                    Some(l) => self.pdir.join(format!("src-lang{l}")),
                    None => self.pdir.join("src"),
                },
                goroot: cell.toolchain.goroot.clone(),
                arch: cell.arch,
                out: bin.clone(),
                gocache: crate::toolchain::registry::gocache(&cfg.home, &cell.toolchain.name),
                gopath: cfg.home.join("gopath"),
                timeout: cfg.build_timeout,
                noopt: cell.toolchain.noopt,
                mode: cell.toolchain.mode,
            })
        } else {
            build::BuildResult {
                outcome: Outcome::infra(format!(
                    "toolchain {} unusable: {}",
                    cell.toolchain.name,
                    cell.toolchain
                        .problem
                        .as_deref()
                        .unwrap_or("unknown problem")
                )),
                duration: Duration::ZERO,
                log: String::new(),
            }
        };
        if exec::interrupted() && r.outcome.class == Class::Infra {
            return Ok(None);
        }
        let ok = r.outcome.class == Class::Ok;
        let log = if ok {
            None
        } else {
            save_log(cfg, self.prog, cell, "build", &r.log)
        };
        let mut rec = self.record(Stage::Build, cell, r.outcome);
        rec.duration_ms = r.duration.as_millis() as u64;
        rec.log = log;
        match prev {
            Some(prev) if prev.outcome == Class::Ok => {
                // Resumed: the rebuilt binary is the same (Go builds are
                // reproducible), so its scan is kept; a record of an older
                // divergo without one gets it now.
                let mut prev = prev.clone();
                if prev.scan.is_none() && ok && cell.arch.scanned() && cell.toolchain.mode.is_none()
                {
                    prev.scan = Some(build::scan_facts(&bin));
                }
                self.emit(prev, false)?
            }
            _ => {
                // The static scan reads amd64 and arm64; other archs' builds
                // carry no scan facts, nor do compile-mode builds (`+ssacheck`,
                // `+noopt-build`, ...): their frames are laid out otherwise,
                // and a window the mode lacks would make a known window look
                // like a toolchain difference.
                if ok && cell.arch.scanned() && cell.toolchain.mode.is_none() {
                    rec.scan = Some(build::scan_facts(&bin));
                }
                self.emit(rec, true)?
            }
        }
        Ok(ok.then_some(bin))
    }

    /// Cells whose executor is missing: one infra record, no runs.
    fn record_missing_executors(&self, active: &mut [bool]) -> Result<()> {
        for (i, cell) in self.cells.iter().enumerate() {
            if let (true, Err(why)) = (active[i], &cell.executor) {
                active[i] = false;
                let k = self.key(Stage::Run, cell, 0);
                let rec = self.done.get(&k).cloned().unwrap_or_else(|| {
                    self.record(Stage::Run, cell, Outcome::new(Class::Infra, why.clone()))
                });
                self.emit(rec, !self.done.contains_key(&k))?;
            }
        }
        Ok(())
    }

    /// Run trials in rounds on the active cells while the policy asks for
    /// more; each round is spread over the workers.
    fn run_trials(
        &self,
        policy: &dyn TrialPolicy,
        built: &[Option<PathBuf>],
        active: Vec<bool>,
    ) -> Result<()> {
        let (cfg, cells) = (self.cfg, self.cells);
        let mut runs: Vec<Vec<Outcome>> = vec![Vec::new(); cells.len()];
        let mut ok_durations: Vec<Duration> = vec![Duration::ZERO; cells.len()];
        let mut spent: Vec<Duration> = vec![Duration::ZERO; cells.len()];
        let mut next_trial = vec![0u32; cells.len()];
        while !exec::interrupted() {
            let cost: Vec<f64> = (0..cells.len())
                .map(|i| {
                    if runs[i].is_empty() {
                        0.0
                    } else {
                        spent[i].as_secs_f64() / runs[i].len() as f64
                    }
                })
                .collect();
            let want: Vec<(usize, u32)> = (0..cells.len())
                .filter(|&i| active[i])
                .map(|i| (i, policy.more(i, &runs, &cost)))
                .filter(|&(_, n)| n > 0)
                .collect();
            if want.is_empty() {
                break;
            }
            // At least one trial per cell, more when few cells are active.
            let per_cell = (cfg.jobs / want.len()).max(1) as u32;
            let mut tasks = Vec::new();
            for (i, n) in want {
                for _ in 0..n.min(per_cell) {
                    let timeout = run_timeout(cfg, self.prog, &cells[i], &ok_durations, cells);
                    tasks.push(Task::Run {
                        cell: i,
                        trial: next_trial[i],
                        timeout,
                    });
                    next_trial[i] += 1;
                }
            }
            for (i, o, d, took) in self.run_round(tasks, built)? {
                if let Some(d) = d {
                    ok_durations[i] = ok_durations[i].max(d);
                }
                spent[i] += took;
                runs[i].push(o);
            }
        }
        Ok(())
    }

    /// Run one round of trials in parallel: per trial, (cell, outcome,
    /// duration if clean, duration). Trials a resumed run already has are
    /// taken from it.
    fn run_round(&self, tasks: Vec<Task>, built: &[Option<PathBuf>]) -> Result<Vec<TrialDone>> {
        let round = Mutex::new(Vec::new());
        run_parallel(self.cfg.jobs, tasks, |t| {
            let Task::Run {
                cell: i,
                trial,
                timeout,
            } = t
            else {
                unreachable!()
            };
            let cell = &self.cells[i];
            if let Some(rec) = self.done.get(&self.key(Stage::Run, cell, trial)) {
                let mut o = Outcome::new(rec.outcome, rec.signature.clone());
                o.checksum = rec.checksum.clone();
                let took = Duration::from_millis(rec.duration_ms);
                let d = (rec.outcome == Class::Ok).then_some(took);
                round.lock().unwrap().push((i, o, d, took));
                return self.emit(rec.clone(), false);
            }
            if exec::interrupted() {
                return Ok(());
            }
            let bin = built[i].clone().expect("only built cells run");
            let (rec, outcome, dur) =
                run_once(self.cfg, self.prog, cell, &bin, trial, timeout, &self.pdir);
            if exec::interrupted() && rec.outcome == Class::Infra {
                return Ok(());
            }
            let took = Duration::from_millis(rec.duration_ms);
            round.lock().unwrap().push((i, outcome, dur, took));
            self.emit(rec, true)
        })?;
        Ok(round.into_inner().unwrap())
    }

    /// Remove the scratch dir (unless kept) and hand back the records.
    fn finish(self) -> Vec<Record> {
        if !self.cfg.keep {
            let _ = fs::remove_dir_all(&self.pdir);
        }
        self.records.into_inner().unwrap()
    }
}

/// The per-run timeout: generous until the program has run clean on this
/// executor, then a multiple of its slowest clean run (never below the floor),
/// so hangs are called fast and slow emulation is never mistaken for one.
fn run_timeout(
    cfg: &Config,
    prog: &Program,
    cell: &Cell,
    ok_durations: &[Duration],
    cells: &[Cell],
) -> Duration {
    let slowdown = cell.executor.as_ref().map(|e| e.slowdown()).unwrap_or(1.0);
    let emulated = cell.executor.as_ref().is_ok_and(|e| e.is_emulated());
    let generous = match (emulated, prog.timeout_emulated, prog.timeout) {
        (true, Some(t), _) => t,
        (_, _, Some(t)) => t.mul_f64(slowdown),
        _ => cfg.timeout.mul_f64(slowdown),
    };
    if prog.timeout.is_some() {
        // Corpus entries state their own timeout.
        return generous;
    }
    // Slowest clean run of this program on the same executor (any toolchain).
    let label = cell.executor_label();
    let slowest = cells
        .iter()
        .zip(ok_durations)
        .filter(|(c, _)| c.executor_label() == label)
        .map(|(_, d)| *d)
        .max()
        .unwrap_or(Duration::ZERO);
    if slowest.is_zero() {
        return generous;
    }
    let floor = cfg.timeout_floor.mul_f64(slowdown);
    (slowest * 5).max(floor).min(generous)
}

fn run_once(
    cfg: &Config,
    prog: &Program,
    cell: &Cell,
    bin: &Path,
    trial: u32,
    timeout: Duration,
    pdir: &Path,
) -> (Record, Outcome, Option<Duration>) {
    let executor = cell
        .executor
        .as_ref()
        .expect("cells without executor do not run");
    let scratch = pdir.join(format!("run-{}-{}-{trial}", cell.toolchain.name, cell.arch));
    let mut env: BTreeMap<String, String> = cfg.env.clone();
    env.extend(prog.env.clone());
    // crash: the SIGQUIT dump then has every thread's stack, runtime frames
    // included (with `system` a goroutine running on another thread is
    // "stack unavailable", which made hang signatures flip between runs).
    env.entry("GOTRACEBACK".into())
        .or_insert_with(|| "crash".into());
    let (program, args, exec_env) = executor.command(bin);
    let mut spec = ExecSpec::new(program, &scratch);
    spec.args = args;
    spec.env = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    spec.env.push(("PATH".into(), "/usr/bin:/bin".into()));
    spec.env
        .push(("HOME".into(), scratch.display().to_string()));
    spec.env.extend(exec_env);
    spec.timeout = timeout;
    spec.grace = cfg.grace.mul_f64(executor.slowdown().sqrt().max(1.0));
    spec.memory_limit = Some(cfg.memory_limit);
    spec.output_cap = cfg.output_cap;
    if executor.is_emulated() {
        spec.cpus = cfg.emulated_cpus as usize;
    }
    let r = if let Err(e) = fs::create_dir_all(&scratch) {
        exec::ExecResult {
            spawn_error: Some(format!(
                "cannot create scratch dir {}: {e}",
                scratch.display()
            )),
            ..Default::default()
        }
    } else {
        exec::run(&spec)
    };
    let _ = fs::remove_dir_all(&scratch);
    let outcome = if let Some(e) = &r.spawn_error {
        Outcome::infra(e.clone())
    } else if r.interrupted {
        Outcome::infra("interrupted")
    } else {
        classify::classify_run(&RunEvidence::of(&r))
    };
    let log_text = format!(
        "# {} {} {} trial {trial}\n# {}\n# timeout {:?}, {}\n# {}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        prog.name,
        cell.toolchain.name,
        cell.executor_label(),
        env.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        timeout,
        r.exit.map(|e| e.to_string()).unwrap_or_else(|| "no exit status".into()),
        outcome.class,
        outcome.signature,
        r.stdout,
        r.stderr
    );
    let log = if outcome.class != Class::Ok || trial == 0 {
        save_log(
            cfg,
            prog,
            cell,
            &format!("trial{trial}-{}", outcome.class),
            &log_text,
        )
    } else {
        None
    };
    let dur = (outcome.class == Class::Ok).then_some(r.duration);
    let rec = Record {
        stage: Stage::Run,
        program: prog.name.clone(),
        toolchain: cell.toolchain.name.clone(),
        arch: cell.arch,
        executor: cell.executor_label(),
        trial,
        env,
        outcome: outcome.class,
        signature: outcome.signature.clone(),
        checksum: outcome.checksum.clone(),
        duration_ms: r.duration.as_millis() as u64,
        exit: r.exit,
        timeout_ms: Some(timeout.as_millis() as u64),
        peak_rss: Some(r.peak_rss),
        log,
        scan: None,
    };
    (rec, outcome, dur)
}

/// Keep a log under out/logs/<program>/; returns its path relative to out.
/// At most a few logs per program, cell and class are kept, and beyond those
/// the first log of each further signature (its header names it), up to
/// `MAX_LOGS_PER_CLASS`: the rare forms of a bug are the ones worth reading.
fn save_log(cfg: &Config, prog: &Program, cell: &Cell, what: &str, text: &str) -> Option<String> {
    const FEW_LOGS_PER_CLASS: usize = 3;
    const MAX_LOGS_PER_CLASS: usize = 10;
    let rel = PathBuf::from("logs")
        .join(sanitize(&prog.name))
        .join(format!("{}-{}-{what}.log", cell.toolchain.name, cell.arch));
    let path = cfg.out_dir.join(&rel);
    let dir = path.parent()?;
    fs::create_dir_all(dir).ok()?;
    let class = what.rsplit('-').next().unwrap_or(what);
    let prefix = format!("{}-{}-", cell.toolchain.name, cell.arch);
    let same: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(&prefix) && n.ends_with(&format!("-{class}.log"))
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    if same.len() >= FEW_LOGS_PER_CLASS {
        // The header's fourth line names the outcome and signature.
        let header = |t: &str| t.lines().nth(3).map(str::to_string);
        let mine = header(text);
        let known = same.iter().any(|p| {
            fs::read_to_string(p)
                .ok()
                .is_some_and(|t| header(&t) == mine)
        });
        if known || same.len() >= MAX_LOGS_PER_CLASS {
            return None;
        }
    }
    fs::write(&path, text).ok()?;
    Some(rel.display().to_string())
}

/// A name safe as one path component.
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Run `f` over `tasks` on up to `jobs` threads; the first error wins.
fn run_parallel<F>(jobs: usize, tasks: Vec<Task>, f: F) -> Result<()>
where
    F: Fn(Task) -> Result<()> + Sync,
{
    let queue = Mutex::new(tasks.into_iter());
    let err: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let next = queue.lock().unwrap().next();
                let Some(t) = next else { break };
                if let Err(e) = f(t) {
                    err.lock().unwrap().get_or_insert(e);
                    exec::interrupt();
                    break;
                }
            });
        }
    });
    match err.into_inner().unwrap() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::with_go_line;

    #[test]
    fn the_go_line_is_replaced_or_added() {
        assert_eq!(
            with_go_line("module m\n\ngo 1.14\n", "1.23"),
            "module m\n\ngo 1.23\n"
        );
        assert_eq!(with_go_line("module m\n", "1.22"), "module m\n\ngo 1.22\n");
    }
}
