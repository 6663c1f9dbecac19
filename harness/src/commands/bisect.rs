//! `divergo bisect`: find where a finding's (or a corpus entry's) behaviour
//! changes, across releases (`--versions A..B`) or across the commits of a Go
//! git repository (`--go-repo PATH --good REF --bad REF`).
//!
//! Both ends are run first (`--calibrate` trials each): exactly one must show
//! the bug, and its failure rate p sets how many clean runs a "good" verdict
//! needs: the smallest n with (1 − p)^n < 0.01. Each probed point is then
//! bad (the bug's signature showed), good (n clean runs and nothing else), or
//! unknown (it does not build, fails differently, or ran out of trials):
//! unknown points are skipped and widen the boundary, never guessed.

use crate::engine::bisect::{clean_runs_needed, rate_lower_bound, Report, Search, Side, Step};
use crate::engine::corpus;
use crate::engine::executor::QemuMode;
use crate::engine::pipeline::{self, Config, TrialPolicy};
use crate::engine::plan;
use crate::engine::results::{self, Counts, Writer};
use crate::error::{InfraError, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK};
use crate::exec;
use crate::model::{Arch, Class, Outcome, Program, Record, Stage};
use crate::oracle::classify::bug_key;
use crate::oracle::findings::Kind;
use crate::oracle::windows;
use crate::report::{self, reproducer};
use crate::toolchain::points::{commits_between, releases_between, Point};
use crate::toolchain::registry::{self, ProxyConfig, Toolchain};
use crate::toolchain::source;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub(crate) struct BisectArgs {
    /// A finding directory (findings/<id>) or a corpus entry directory (go-corpus/<entry>)
    target: PathBuf,
    /// Releases to search, oldest..newest (e.g. go1.23.0..go1.23.12)
    #[arg(long, value_name = "A..B", conflicts_with_all = ["go_repo", "good", "bad"])]
    versions: Option<String>,
    /// A Go git repository whose commits to search (with --good and --bad)
    #[arg(long, value_name = "PATH", requires_all = ["good", "bad"])]
    go_repo: Option<PathBuf>,
    /// A commit (or tag, branch) that behaves well
    #[arg(long, value_name = "REF", requires = "go_repo")]
    good: Option<String>,
    /// A commit (or tag, branch) that shows the bug
    #[arg(long, value_name = "REF", requires = "go_repo")]
    bad: Option<String>,
    /// Arch to run on (a list, like every --arch, but a bisection runs on one)
    /// [default: the finding's divergent arch; the host for a corpus entry]
    #[arg(long, value_delimiter = ',')]
    arch: Vec<Arch>,
    /// Trials at each end before the search
    #[arg(long, default_value_t = 10)]
    calibrate: u32,
    /// Most trials at one point
    #[arg(long, default_value_t = 60)]
    max_trials: u32,
    /// Where records, bisect.json and bisect.md go [default: <finding>/bisect, or a new run dir]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the report as JSON on stdout
    #[arg(long)]
    json: bool,
    /// Parallel runs [default: number of cores]
    #[arg(long)]
    jobs: Option<usize>,
}

/// `divergo bisect`: arguments → request → [`bisect`] → exit status.
pub(crate) fn cmd(a: BisectArgs) -> Result<i32> {
    let range = match (a.versions, a.go_repo, a.good, a.bad) {
        (Some(v), None, None, None) => {
            let (from, to) = v.split_once("..").ok_or_else(|| {
                anyhow!("--versions {v:?}: expected A..B, e.g. go1.23.0..go1.23.12")
            })?;
            Range::Releases {
                from: from.to_string(),
                to: to.to_string(),
            }
        }
        (None, Some(repo), Some(good), Some(bad)) => Range::Commits { repo, good, bad },
        _ => bail!("give --versions A..B, or --go-repo PATH with --good REF and --bad REF"),
    };
    bisect(&Request {
        target: a.target,
        range,
        arch: match a.arch.as_slice() {
            [] => None,
            [one] => Some(*one),
            more => bail!(
                "--arch {}: a bisection runs on one arch; run it once per arch",
                more.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        },
        calibrate: a.calibrate,
        max_trials: a.max_trials,
        jobs: super::cli::jobs(a.jobs),
        out: a.out,
        json: a.json,
    })
}

/// What to bisect and how.
#[derive(Clone, Debug)]
pub struct Request {
    /// A finding dir (`findings/<id>`) or a corpus entry dir (`go-corpus/<entry>`).
    pub target: PathBuf,
    pub range: Range,
    /// The arch to run on [default: the finding's divergent arch; the host for a corpus entry].
    pub arch: Option<Arch>,
    /// Trials at each end before the search.
    pub calibrate: u32,
    /// Most trials at one point.
    pub max_trials: u32,
    pub jobs: usize,
    /// Where the records, bisect.json and bisect.md go.
    pub out: Option<PathBuf>,
    pub json: bool,
}

/// The points to search.
#[derive(Clone, Debug)]
pub enum Range {
    /// Releases from `from` to `to` (both included) that can be had.
    Releases { from: String, to: String },
    /// Commits of a Go git repository between two refs.
    Commits {
        repo: PathBuf,
        good: String,
        bad: String,
    },
}

/// What the search follows: the program, and which runs show the bug.
struct Target {
    label: String,
    program: Program,
    env: BTreeMap<String, String>,
    /// The bug key, when the target names one (a finding does; a corpus
    /// entry's comes from the end that fails).
    bug: Option<String>,
    /// A static finding (a window in the build): judged from the builds'
    /// scans, no runs.
    is_static: bool,
    arch: Option<Arch>,
    mode: QemuMode,
    /// CPUs each emulated run is pinned to (a finding's runs; 0: unpinned).
    emulated_cpus: u32,
    /// A wrong-output finding: the cell whose checksum is right (one of the
    /// finding's clean cells). Its checksum, taken before the search, is
    /// the reference: a clean run printing another one shows the bug.
    reference_cell: Option<String>,
}

fn load_target(path: &Path) -> Result<Target> {
    if reproducer::is_finding_dir(path) {
        let s = reproducer::load(path)?;
        let f = &s.finding;
        // A failed self-check is a failed run like a crash; a checksum
        // mismatch needs the right checksum, from a clean cell.
        let reference_cell = if f.kind == Kind::WrongOutput && f.bug == WRONG_CHECKSUM {
            let clean = f
                .cells
                .iter()
                .filter(|c| !c.divergent)
                .min_by_key(|c| registry::split_noopt(&c.toolchain).is_none());
            match clean {
                Some(c) => Some(c.toolchain.clone()),
                None => bail!(
                    "{}: a wrong-output finding with no clean cell has no right checksum to \
                     bisect against",
                    path.display()
                ),
            }
        } else {
            None
        };
        let arch = f.cells.iter().find(|c| c.divergent).map(|c| c.arch);
        let mode = if f.cells.iter().any(|c| c.executor.contains("plain")) {
            QemuMode::Plain
        } else {
            QemuMode::OneInsnPerTb
        };
        return Ok(Target {
            label: format!("finding {}", f.id),
            program: s.program.clone(),
            env: s.env.clone(),
            emulated_cpus: s.emulated_cpus,
            bug: Some(f.bug.clone()),
            is_static: f.kind.is_static(),
            arch,
            mode,
            reference_cell,
        });
    }
    if path.join("main.go").is_file() && path.join("expect.toml").is_file() {
        let e = corpus::load_entry(path)?;
        return Ok(Target {
            label: format!("corpus entry {}", e.name),
            program: e.program(),
            env: BTreeMap::from([("GOGC".to_string(), "25".to_string())]),
            bug: None,
            is_static: false,
            arch: None,
            mode: QemuMode::OneInsnPerTb,
            emulated_cpus: 0,
            reference_cell: None,
        });
    }
    bail!(
        "{} is neither a finding directory (finding.json) nor a corpus entry (main.go and \
         expect.toml)",
        path.display()
    )
}

/// The bug key of a wrong-output finding's checksum mismatch.
const WRONG_CHECKSUM: &str = "checksum mismatch";

/// Whether a run shows a failure, and its bug key: a failed run's, or
/// [`WRONG_CHECKSUM`] for a clean run whose checksum is not `want`.
fn failure_key(o: &Outcome, want: Option<&str>) -> Option<String> {
    match o.class {
        Class::Ok => match (want, o.checksum.as_deref()) {
            (Some(w), Some(c)) if c != w => Some(WRONG_CHECKSUM.to_string()),
            _ => None,
        },
        Class::Infra => None,
        _ => Some(bug_key(&o.signature)),
    }
}

/// A record's outcome.
fn outcome(r: &Record) -> Outcome {
    Outcome {
        class: r.outcome,
        signature: r.signature.clone(),
        checksum: r.checksum.clone(),
    }
}

/// Trials at one point: stop at the first run that shows the bug, after
/// `clean` clean runs, or after `max` runs.
struct ProbeTrials<'a> {
    bug: Option<&'a str>,
    want: Option<&'a str>,
    clean: u32,
    max: u32,
    batch: u32,
}

impl TrialPolicy for ProbeTrials<'_> {
    fn more(&self, cell: usize, all: &[Vec<Outcome>], _cost: &[f64]) -> u32 {
        let runs = &all[cell];
        let shows = |o: &Outcome| {
            self.bug
                .is_some_and(|b| failure_key(o, self.want).as_deref() == Some(b))
        };
        let ok = runs
            .iter()
            .filter(|o| failure_key(o, self.want).is_none() && o.class == Class::Ok)
            .count() as u32;
        if runs.iter().any(shows) || ok >= self.clean || runs.len() as u32 >= self.max {
            return 0;
        }
        (self.max - runs.len() as u32).min(self.batch).max(1)
    }
}

/// Everything a probe needs besides the point.
struct Prober<'a> {
    home: PathBuf,
    cfg: Config,
    writer: Mutex<Writer>,
    target: &'a Target,
    arch: Arch,
    proxy: ProxyConfig,
    range: &'a Range,
    /// The right checksum (a wrong-output target), once known.
    want: Option<String>,
}

/// The runs of one probe.
struct Probe {
    records: Vec<Record>,
    /// The right checksum (a wrong-output target).
    want: Option<String>,
    seconds: f64,
    /// Why the point has no runs (the toolchain could not be had).
    unavailable: Option<String>,
}

impl Probe {
    fn runs(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(|r| r.stage == Stage::Run)
    }

    fn counts(&self) -> Counts {
        let mut c = Counts::new();
        for r in &self.records {
            if r.stage == Stage::Run || r.outcome != Class::Ok {
                *c.entry(r.outcome).or_default() += 1;
            }
        }
        c
    }

    fn key(&self, r: &Record) -> Option<String> {
        failure_key(&outcome(r), self.want.as_deref())
    }

    fn shows(&self, bug: &str) -> u32 {
        let runs = self
            .records
            .iter()
            .filter(|r| self.key(r).as_deref() == Some(bug))
            .count();
        // A build whose scan has a window of this bug (a static finding).
        let builds = self
            .records
            .iter()
            .filter(|r| r.stage == Stage::Build)
            .filter_map(|r| r.scan.as_ref())
            .filter(|s| {
                s.windows
                    .iter()
                    .any(|w| windows::bug_key(&w.rule, w.bug.as_deref()) == bug)
            })
            .count();
        (runs + builds) as u32
    }

    /// Whether every build was scanned (a static verdict needs it).
    fn scanned(&self) -> bool {
        let builds: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| r.stage == Stage::Build)
            .collect();
        !builds.is_empty()
            && builds.iter().all(|r| {
                r.outcome == Class::Ok && r.scan.as_ref().is_some_and(|s| s.error.is_none())
            })
    }

    /// The most common bug key among its failures.
    fn main_failure(&self) -> Option<String> {
        let mut n: BTreeMap<String, u32> = BTreeMap::new();
        for r in &self.records {
            if let Some(k) = self.key(r) {
                *n.entry(k).or_default() += 1;
            }
        }
        n.into_iter().max_by_key(|(_, c)| *c).map(|(k, _)| k)
    }
}

impl Prober<'_> {
    /// The toolchain of a point: installed, fetched from the proxy, or built
    /// from the repository at that commit.
    fn toolchain(&self, p: &Point) -> Result<Toolchain, String> {
        if let Some(tc) = registry::find(&self.home, &p.name) {
            let tc = registry::check(tc);
            if tc.usable {
                return Ok(tc);
            }
        }
        match (self.range, &p.commit) {
            (Range::Commits { repo, .. }, Some(commit)) => {
                eprintln!("  building {} from {} ...", p.name, repo.display());
                let req = source::BuildRequest {
                    name: p.name.clone(),
                    source: repo.clone(),
                    git_ref: Some(commit.clone()),
                    bootstrap: None,
                    proxy: self.proxy.clone(),
                    timeout: Duration::from_secs(3 * 3600),
                };
                source::build(&self.home, &req, &mut |_| {})
                    .map(|o| o.toolchain)
                    .map_err(|e| format!("does not build: {e}"))
            }
            _ => {
                eprintln!("  installing {} ...", p.name);
                registry::install_from_proxy(&self.home, &p.name, &self.proxy, &mut |_, _| {})
                    .map(|(tc, _)| tc)
                    .map_err(|e| format!("cannot install: {e:#}"))
            }
        }
    }

    fn probe(&self, p: &Point, policy: &ProbeTrials) -> Result<Probe> {
        let start = Instant::now();
        let tc = match self.toolchain(p) {
            Ok(tc) => tc,
            Err(why) => {
                return Ok(Probe {
                    records: Vec::new(),
                    want: self.want.clone(),
                    seconds: start.elapsed().as_secs_f64(),
                    unavailable: Some(why),
                })
            }
        };
        let cells = plan::cells(&[tc], &[self.arch], self.target.mode);
        let records = pipeline::test_program(
            &self.cfg,
            &self.target.program,
            &cells,
            policy,
            &HashMap::new(),
            &self.writer,
            &|_| {},
        )?;
        Ok(Probe {
            records,
            want: self.want.clone(),
            seconds: start.elapsed().as_secs_f64(),
            unavailable: None,
        })
    }
}

/// The checksum the target's program prints on toolchain `name` (a clean
/// cell of a wrong-output finding, such as `go1.25.14+noopt`), run twice:
/// both runs must be clean and agree.
fn reference_checksum(prober: &Prober, name: &str) -> Result<String> {
    let tc = plan::resolve_toolchains(&prober.home, &[name.to_string()])?.remove(0);
    let cells = plan::cells(&[tc], &[prober.arch], prober.target.mode);
    let policy = ProbeTrials {
        bug: None,
        want: None,
        clean: 2,
        max: 2,
        batch: 2,
    };
    let records = pipeline::test_program(
        &prober.cfg,
        &prober.target.program,
        &cells,
        &policy,
        &HashMap::new(),
        &prober.writer,
        &|_| {},
    )?;
    let sums: BTreeSet<Option<&String>> = records
        .iter()
        .filter(|r| r.stage == Stage::Run)
        .map(|r| r.checksum.as_ref().filter(|_| r.outcome == Class::Ok))
        .collect();
    match sums.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(c)] => Ok((*c).clone()),
        _ => {
            bail!(
            "{name}, a clean cell of the finding, did not print one checksum in two clean runs \
             ({}): no right checksum to bisect against",
            records
                .iter()
                .map(|r| format!("{} {}", r.outcome, r.checksum.as_deref().unwrap_or(&r.signature)))
                .collect::<Vec<_>>()
                .join("; ")
        )
        }
    }
}

/// Judge a probe: bad when the bug showed, good with enough clean runs and
/// nothing else, unknown otherwise.
fn judge(p: &Point, probe: &Probe, bug: &str, need: u32, is_static: bool) -> Step {
    if is_static {
        let bad_runs = probe.shows(bug);
        let (verdict, why) = if let Some(why) = &probe.unavailable {
            ("unknown", Some(why.clone()))
        } else if !probe.scanned() {
            (
                "unknown",
                Some("did not build or could not be scanned".to_string()),
            )
        } else if bad_runs > 0 {
            let fns: BTreeSet<&str> = probe
                .records
                .iter()
                .filter_map(|r| r.scan.as_ref())
                .flat_map(|s| s.windows.iter())
                .filter(|w| windows::bug_key(&w.rule, w.bug.as_deref()) == bug)
                .map(|w| w.function.as_str())
                .collect();
            let fns: Vec<&str> = fns.into_iter().collect();
            ("bad", Some(format!("static: window in {}", fns.join(", "))))
        } else {
            ("good", Some("static: no such window".to_string()))
        };
        return Step {
            point: p.clone(),
            verdict: verdict.to_string(),
            counts: probe.counts(),
            bad_runs,
            runs: 0,
            why,
            seconds: probe.seconds,
        };
    }
    let bad_runs = probe.shows(bug);
    let runs = probe.runs().count() as u32;
    let ok = probe
        .runs()
        .filter(|r| r.outcome == Class::Ok && probe.key(r).is_none())
        .count() as u32;
    let other = probe.records.iter().find(|r| {
        let k = probe.key(r);
        k.is_some() && k.as_deref() != Some(bug)
    });
    let (verdict, why) = if let Some(why) = &probe.unavailable {
        ("unknown", Some(why.clone()))
    } else if bad_runs > 0 {
        ("bad", None)
    } else if let Some(r) = other {
        let what = if r.stage == Stage::Build {
            "does not build"
        } else {
            "fails differently"
        };
        (
            "unknown",
            Some(format!("{what}: {} {}", r.outcome, r.signature)),
        )
    } else if ok >= need {
        ("good", None)
    } else {
        (
            "unknown",
            Some(format!(
                "{ok} clean runs of the {need} a good verdict needs"
            )),
        )
    };
    Step {
        point: p.clone(),
        verdict: verdict.to_string(),
        counts: probe.counts(),
        bad_runs,
        runs,
        why,
        seconds: probe.seconds,
    }
}

pub fn bisect(req: &Request) -> Result<i32> {
    if req
        .target
        .join(crate::commands::qualify_module::MODULE_FINDING)
        .is_file()
    {
        return bisect_module(req);
    }
    let start = Instant::now();
    let target = load_target(&req.target)?;
    let home = registry::home();
    let proxy = ProxyConfig::from_env();
    let arch = match req.arch.or(target.arch) {
        Some(a) => a,
        None => Arch::host().ok_or_else(|| anyhow!("unsupported host arch"))?,
    };
    let points: Vec<Point> = match &req.range {
        Range::Releases { from, to } => releases_between(&home, from, to, &proxy)?
            .into_iter()
            .map(|name| Point {
                name,
                commit: None,
                subject: None,
            })
            .collect(),
        Range::Commits { repo, good, bad } => commits_between(repo, good, bad)?,
    };
    if points.len() < 2 {
        bail!(
            "the range holds {} point(s) that can be had; a bisection needs two",
            points.len()
        );
    }
    let out = match &req.out {
        Some(o) => o.clone(),
        None if reproducer::is_finding_dir(&req.target) => req.target.join("bisect"),
        None => plan::default_out_dir(),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let work = tempfile::Builder::new()
        .prefix(".work-")
        .tempdir_in(&out)
        .context("cannot create scratch dir")?;
    let mut prober = Prober {
        home: home.clone(),
        cfg: Config {
            emulated_cpus: target.emulated_cpus,
            ..Config::standard(
                home.clone(),
                out.clone(),
                work.path().to_path_buf(),
                req.jobs,
                target.env.clone(),
            )
        },
        writer: Mutex::new(Writer::open(&out)?),
        target: &target,
        arch,
        proxy,
        range: &req.range,
        want: None,
    };
    eprintln!(
        "bisect {} on {arch}: {} points from {} to {}",
        target.label,
        points.len(),
        points[0].name,
        points[points.len() - 1].name
    );

    if let Some(name) = &target.reference_cell {
        prober.want = Some(reference_checksum(&prober, name)?);
        eprintln!(
            "  right checksum {} (from {name}, a clean cell of the finding)",
            prober.want.as_deref().unwrap_or("")
        );
    }
    // Both ends, with a fixed number of trials: which one shows the bug, and how often.
    let calib = ProbeTrials {
        bug: None,
        want: None,
        clean: u32::MAX,
        max: if target.is_static {
            0
        } else {
            req.calibrate.max(1)
        },
        batch: req.jobs as u32,
    };
    let last = points.len() - 1;
    let mut ends = Vec::new();
    for i in [0, last] {
        let p = prober.probe(&points[i], &calib)?;
        if exec::interrupted() {
            return Ok(EXIT_INTERRUPTED);
        }
        if let Some(why) = &p.unavailable {
            bail!("{}: {why}", points[i].name);
        }
        eprintln!(
            "  end {:<22} {}",
            points[i].name,
            results::counts_str(&p.counts())
        );
        ends.push(p);
    }
    let executor = ends[0]
        .records
        .first()
        .map_or_else(String::new, |r| r.executor.clone());
    let bug = match &target.bug {
        Some(b) => b.clone(),
        None => match (ends[0].main_failure(), ends[1].main_failure()) {
            (Some(b), None) | (None, Some(b)) => b,
            (Some(a), Some(b)) if a == b => a,
            (Some(a), Some(b)) => {
                eprintln!("both ends fail, differently ({a} / {b}): no single behaviour to bisect");
                return Ok(EXIT_FINDINGS);
            }
            (None, None) => {
                eprintln!(
                    "neither end failed in {} runs: nothing to bisect (raise --calibrate?)",
                    req.calibrate
                );
                return Ok(EXIT_FINDINGS);
            }
        },
    };
    let shows = [ends[0].shows(&bug), ends[1].shows(&bug)];
    let bad_first = match shows {
        [a, 0] if a > 0 => true,
        [0, b] if b > 0 => false,
        [0, 0] => {
            eprintln!(
                "neither end shows {bug} in {} runs: nothing to bisect (raise --calibrate?)",
                req.calibrate
            );
            return Ok(EXIT_FINDINGS);
        }
        _ => {
            eprintln!("both ends show {bug}: its behaviour does not change in this range");
            return Ok(EXIT_FINDINGS);
        }
    };
    let bad_end = if bad_first { &ends[0] } else { &ends[1] };
    let bad_runs = bad_end.runs().count().max(1) as f64;
    let seen = bad_end.shows(&bug);
    let rate = (seen as f64 / bad_runs).min(1.0);
    let (assumed, need, max) = if target.is_static {
        // A scan is exact: one build is the whole evidence.
        (1.0, 1, 0)
    } else {
        let assumed = rate_lower_bound(seen, bad_runs as u32);
        let need = clean_runs_needed(assumed).unwrap_or(1);
        (assumed, need, req.max_trials.max(need))
    };
    if target.is_static {
        eprintln!("  bug: {bug} (static: each point is judged by scanning its build)");
    } else {
        eprintln!(
        "  bug: {bug}\n  the bad end shows it in {seen} of {bad_runs} runs (95 % lower bound \
         {assumed:.2}), so a good verdict needs {need} clean runs ((1 - {assumed:.2})^{need} < 0.01)"
    );
    }
    let policy = ProbeTrials {
        bug: Some(&bug),
        want: prober.want.as_deref(),
        clean: need,
        max,
        batch: req.jobs as u32,
    };
    let side_of = |verdict: &str| match (verdict, bad_first) {
        ("bad", true) | ("good", false) => Side::First,
        ("bad", false) | ("good", true) => Side::Last,
        _ => Side::Unknown,
    };
    let mut steps = Vec::new();
    // The good end needs as many clean runs as any good point.
    for (k, i) in [(0usize, 0usize), (1, last)] {
        let mut step = judge(&points[i], &ends[k], &bug, need, target.is_static);
        let want = if (k == 0) == bad_first { "bad" } else { "good" };
        if want == "good"
            && step.verdict != "good"
            && step
                .why
                .as_deref()
                .is_some_and(|w| w.contains("clean runs"))
        {
            let more = prober.probe(&points[i], &policy)?;
            let mut all = ends[k].records.clone();
            all.extend(more.records);
            let merged = Probe {
                records: all,
                want: prober.want.clone(),
                seconds: ends[k].seconds + more.seconds,
                unavailable: None,
            };
            step = judge(&points[i], &merged, &bug, need, target.is_static);
        }
        if step.verdict != want {
            eprintln!(
                "  end {} is {} ({}), not {want}: cannot bisect",
                points[i].name,
                step.verdict,
                step.why.as_deref().unwrap_or("")
            );
            print_step(&step);
            return Ok(EXIT_FINDINGS);
        }
        print_step(&step);
        steps.push(step);
    }

    let mut search = Search::new(points.len());
    while let Some(i) = search.next() {
        if exec::interrupted() {
            return Ok(EXIT_INTERRUPTED);
        }
        let probe = prober.probe(&points[i], &policy)?;
        if exec::interrupted() {
            return Ok(EXIT_INTERRUPTED);
        }
        let step = judge(&points[i], &probe, &bug, need, target.is_static);
        print_step(&step);
        search.record(i, side_of(&step.verdict));
        steps.push(step);
    }
    drop(work);
    let (lo, hi, between) = search.boundary();
    let (first_side, last_side) = (points[lo].clone(), points[hi].clone());
    let mut report = Report {
        target: req.target.display().to_string(),
        program: target.program.name.clone(),
        arch,
        executor,
        bug: bug.clone(),
        points: points.clone(),
        bad_rate: rate,
        bad_rate_assumed: assumed,
        clean_runs_needed: need,
        steps,
        direction: if bad_first { "fixed" } else { "regressed" }.into(),
        last_bad: None,
        first_good: None,
        last_good: None,
        first_bad: None,
        unknown_between: between.iter().map(|&i| points[i].clone()).collect(),
        seconds: start.elapsed().as_secs_f64(),
    };
    let boundary = if bad_first {
        report.last_bad = Some(first_side.clone());
        report.first_good = Some(last_side.clone());
        format!(
            "first good: {} (last bad: {})",
            last_side.describe(),
            first_side.describe()
        )
    } else {
        report.last_good = Some(first_side.clone());
        report.first_bad = Some(last_side.clone());
        format!(
            "first bad: {} (last good: {})",
            last_side.describe(),
            first_side.describe()
        )
    };
    let unknown = if between.is_empty() {
        String::new()
    } else {
        format!(
            "; could not judge {} in between: the change is in one of them or at the boundary",
            report
                .unknown_between
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let steps_n = report.steps.len();
    let md = report::bisect::render_md(&report, &boundary, &unknown);
    results::write_atomic(
        &out.join("bisect.json"),
        &serde_json::to_vec_pretty(&report)?,
    )?;
    results::write_atomic(&out.join("bisect.md"), md.as_bytes())?;
    eprintln!(
        "{boundary}{unknown}\n{steps_n} steps in {:.0} s; report: {}",
        report.seconds,
        out.join("bisect.md").display()
    );
    if req.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(EXIT_OK)
}

fn print_step(s: &Step) {
    eprintln!("{}", report::bisect::step_line(s));
}

/// A module test's verdict at one release.
#[derive(Clone, Debug, Serialize)]
struct ModulePoint {
    name: String,
    /// first (behaves like the first release), last, or unknown.
    side: Side,
    fails: u32,
    runs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<String>,
}

/// `divergo bisect` of a module finding (`qualify --module`'s
/// `module/findings/<n>-<Test>/`): the release where the test's behaviour
/// changes, across the releases of `--versions`.
fn bisect_module(req: &Request) -> Result<i32> {
    use crate::engine::module::{probe_test, TestProbe};
    let start = Instant::now();
    let path = req
        .target
        .join(crate::commands::qualify_module::MODULE_FINDING);
    let f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
        .with_context(|| format!("reading {}", path.display()))?;
    let text = |k: &str| -> Result<String> {
        f[k].as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{}: no {k}", path.display()))
    };
    let (module, package, test) = (text("module")?, text("package")?, text("test")?);
    let arch = match req.arch {
        Some(a) => a,
        None => text("arch")?.parse::<Arch>().map_err(|e| anyhow!("{e}"))?,
    };
    let env: Vec<(String, String)> = serde_json::from_value(f["env"].clone()).unwrap_or_default();
    let Range::Releases { from, to } = &req.range else {
        bail!("a module finding bisects across releases (--versions A..B), not commits");
    };
    let home = registry::home();
    let proxy = ProxyConfig::from_env();
    let names = releases_between(&home, from, to, &proxy)?;
    if names.len() < 2 {
        bail!(
            "the range holds {} release(s); a bisection needs two",
            names.len()
        );
    }
    let executor = crate::engine::executor::detect(arch, QemuMode::Plain)
        .map_err(|e| InfraError(format!("--arch {arch}: {e}")))?;
    let out = req.out.clone().unwrap_or_else(|| req.target.join("bisect"));
    std::fs::create_dir_all(&out)?;
    let work = tempfile::Builder::new().prefix(".work-").tempdir_in(&out)?;
    let module_dir = PathBuf::from(&module);
    let probe = TestProbe {
        dir: &module_dir,
        package: &package,
        test: &test,
        arch,
        executor: &executor,
        env: &env,
        home: &home,
        work: work.path(),
        timeout: Duration::from_secs(600),
    };
    let toolchain = |name: &str| -> Result<Toolchain, String> {
        if let Some(tc) = registry::find(&home, name) {
            let tc = registry::check(tc);
            if tc.usable {
                return Ok(tc);
            }
        }
        eprintln!("  installing {name} ...");
        registry::install_from_proxy(&home, name, &proxy, &mut |_, _| {})
            .map(|(tc, _)| tc)
            .map_err(|e| format!("cannot install: {e:#}"))
    };
    eprintln!(
        "bisect {test} of {package} on {arch}: {} releases from {} to {}",
        names.len(),
        names[0],
        names[names.len() - 1]
    );
    // Both ends, calibrated: exactly one must fail.
    let cal = req.calibrate.max(1);
    let mut ends = Vec::new();
    for name in [&names[0], &names[names.len() - 1]] {
        let tc = toolchain(name).map_err(|e| anyhow!("{name}: {e}"))?;
        let (fails, runs) =
            probe_test(&probe, &tc, cal, cal, false).map_err(|e| anyhow!("{name}: {e}"))?;
        eprintln!("  end {name:<22} failed {fails} of {runs}");
        ends.push((fails, runs));
    }
    if (ends[0].0 > 0) == (ends[1].0 > 0) {
        eprintln!(
            "both ends {}: no boundary to find",
            if ends[0].0 > 0 { "fail" } else { "pass" }
        );
        return Ok(EXIT_FINDINGS);
    }
    let bad_end = if ends[0].0 > 0 { ends[0] } else { ends[1] };
    let p = rate_lower_bound(bad_end.0, bad_end.1).max(bad_end.0 as f64 / bad_end.1 as f64 / 2.0);
    let clean = clean_runs_needed(p)
        .unwrap_or(req.max_trials)
        .min(req.max_trials);
    let first_fails = ends[0].0 > 0;
    let mut search = Search::new(names.len());
    let mut points = vec![ModulePoint {
        name: names[0].clone(),
        side: Side::First,
        fails: ends[0].0,
        runs: ends[0].1,
        why: None,
    }];
    while let Some(i) = search.next() {
        if exec::interrupted() {
            return Ok(EXIT_INTERRUPTED);
        }
        let name = &names[i];
        let (side, fails, runs, why) = match toolchain(name)
            .and_then(|tc| probe_test(&probe, &tc, clean, req.max_trials, true))
        {
            Err(why) => (Side::Unknown, 0, 0, Some(why)),
            Ok((fails, runs)) => {
                // A failure shows the bug at once; a pass needs `clean` clean runs.
                let side = match (fails > 0, runs >= clean) {
                    (true, _) if first_fails => Side::First,
                    (true, _) => Side::Last,
                    (false, true) if first_fails => Side::Last,
                    (false, true) => Side::First,
                    (false, false) => Side::Unknown,
                };
                (side, fails, runs, None)
            }
        };
        eprintln!(
            "  {name:<22} failed {fails} of {runs}: {side:?}{}",
            why.as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        );
        search.record(i, side);
        points.push(ModulePoint {
            name: name.clone(),
            side,
            fails,
            runs,
            why,
        });
    }
    points.push(ModulePoint {
        name: names[names.len() - 1].clone(),
        side: Side::Last,
        fails: ends[1].0,
        runs: ends[1].1,
        why: None,
    });
    let (lo, hi, between) = search.boundary();
    let (good, bad) = if first_fails {
        (&names[hi], &names[lo])
    } else {
        (&names[lo], &names[hi])
    };
    let verdict = if first_fails {
        format!("{test} stops failing in {good} (last failing: {bad})")
    } else {
        format!("{test} starts failing in {bad} (last passing: {good})")
    };
    let md = format!(
        "# divergo bisect: {test} of {package} on {arch}\n\n**{verdict}**{}.\n\n{} clean runs made a release good (a failure in {} of {} runs at the failing end). {:.0} s.\n\n| release | verdict | failed / runs |\n|---|---|---|\n{}",
        if between.is_empty() { String::new() } else { format!(" ({} release(s) between could not be judged)", between.len()) },
        clean,
        bad_end.0,
        bad_end.1,
        start.elapsed().as_secs_f64(),
        points
            .iter()
            .map(|p| format!("| {} | {:?} | {}/{}{} |\n", p.name, p.side, p.fails, p.runs, p.why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()))
            .collect::<String>()
    );
    std::fs::write(out.join("bisect.md"), &md)?;
    let v = serde_json::json!({
        "test": test, "package": package, "arch": arch,
        "first_bad": if first_fails { None } else { Some(bad) },
        "first_good": if first_fails { Some(good) } else { None },
        "last_good": if first_fails { None } else { Some(good) },
        "last_bad": if first_fails { Some(bad) } else { None },
        "unknown_between": between.iter().map(|&i| names[i].clone()).collect::<Vec<_>>(),
        "points": points,
        "seconds": start.elapsed().as_secs_f64(),
    });
    std::fs::write(out.join("bisect.json"), serde_json::to_string_pretty(&v)?)?;
    eprintln!("{verdict}; report in {}", out.join("bisect.md").display());
    if req.json {
        println!("{v}");
    }
    Ok(EXIT_OK)
}
