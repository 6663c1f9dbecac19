//! The plan of a run (stored as `run.json` so that `--resume` can finish it),
//! the programs and cells it names, and the trial policies that decide how
//! many times each cell runs.

use crate::engine::corpus;
use crate::engine::executor::{self, QemuMode};
use crate::engine::pipeline::{Cell, Program, TrialPolicy};
use crate::engine::results;
use crate::model::{Arch, ArchSel, BuildMode};
use crate::oracle::findings;
use crate::oracle::verdict;
use crate::toolchain::registry::{self, Toolchain};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the programs come from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Programs {
    Corpus {
        dir: PathBuf,
        filter: Option<String>,
    },
    Generated {
        templates: Vec<String>,
        seed: u64,
        count: u64,
    },
}

/// The build budget of a plan that names none (older run.json files).
pub fn default_build_timeout() -> f64 {
    DEFAULT_BUILD_TIMEOUT_S
}

/// Seconds a `go build` gets by default: generated programs build in one
/// or two; a compiler that takes minutes is stuck.
pub const DEFAULT_BUILD_TIMEOUT_S: f64 = 300.0;

/// Everything that decides what a run does; stored as run.json.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub schema: u32,
    pub divergo_version: String,
    pub programs: Programs,
    pub toolchains: Vec<String>,
    pub archs: Vec<Arch>,
    pub trials: u32,
    pub env: BTreeMap<String, String>,
    pub timeout_s: f64,
    /// Seconds one `go build` may take; a build that takes longer is a
    /// compiler hang (an `ice` outcome).
    #[serde(default = "default_build_timeout")]
    pub build_timeout_s: f64,
    pub qemu_mode: QemuMode,
    pub memory_limit_mib: u64,
    #[serde(default)]
    pub stop_on_first: bool,
    /// Corpus runs: each entry's own `trials`, stopping a cell early once an
    /// `any` expectation holds.
    #[serde(default)]
    pub corpus_trials: bool,
    /// Corpus entries get the adaptive trials of generated programs (up to
    /// `trials`) instead of a fixed count: `qualify` judges them by the same
    /// verdict rules as generated programs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adaptive_corpus: bool,
    /// The slice of the programs this run takes (`--shard i/n`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The generator version the programs come from ([`crate::gen::GENERATOR_VERSION`]);
    /// runs of different versions test different programs under the same seeds.
    #[serde(default)]
    pub generator_version: u32,
    /// Known issues: matching findings are labelled and do not count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known: Vec<crate::oracle::known::KnownIssue>,
    /// Emulated runs are pinned to this many CPUs each (0: unpinned), so
    /// that a program's threads outnumber its CPUs and are descheduled
    /// mid-function (`--emulated-cpus`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub emulated_cpus: u32,
    /// Archs every program is only built for (`--compile-arch`): a cell per
    /// toolchain and arch not in `archs`, judged by its build alone (an
    /// internal compiler error, a build that does not finish, a build error
    /// other cells do not show).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compile_archs: Vec<Arch>,
    /// Build modes every program is also built in, compile-only
    /// (`--compile-mode`): a cell `NAME+<mode>` per plain toolchain and
    /// each arch (run or compile-only) the mode applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compile_modes: Vec<BuildMode>,
    /// Cells of toolchains × archs the run leaves out, as `toolchain/arch`
    /// (the default matrix leaves out go1.14.1 under emulation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omit: Vec<String>,
}

impl Plan {
    /// The cells this plan runs: its toolchains × archs but the omitted ones.
    pub fn cells(&self, toolchains: &[Toolchain]) -> Vec<Cell> {
        let mut v = cells(toolchains, &self.archs, self.qemu_mode);
        for tc in toolchains {
            for &a in self
                .compile_archs
                .iter()
                .filter(|a| !self.archs.contains(a))
            {
                v.push(Cell {
                    toolchain: tc.clone(),
                    arch: a,
                    executor: Err("compile-only".into()),
                    compile_only: true,
                });
            }
        }
        let mut built_for = self.archs.clone();
        built_for.extend(
            self.compile_archs
                .iter()
                .filter(|a| !self.archs.contains(a)),
        );
        for tc in toolchains
            .iter()
            .filter(|t| t.lang.is_none() && !t.noopt && t.mode.is_none())
        {
            let minor = registry::minor_of(&tc.name)
                .or_else(|| registry::minor_of(&tc.version))
                .map_or(0, |(_, m)| m);
            for &m in &self.compile_modes {
                for &a in built_for
                    .iter()
                    .filter(|a| m.applies(**a, minor) && a.first_go_minor() <= minor)
                {
                    v.push(Cell {
                        toolchain: registry::with_mode(tc, m),
                        arch: a,
                        executor: Err("compile-only".into()),
                        compile_only: true,
                    });
                }
            }
        }
        v.into_iter()
            .filter(|c| !self.omit.contains(&cell_name(&c.toolchain.name, c.arch)))
            .collect()
    }
}

/// A cell's name in [`Plan::omit`]: `toolchain/arch`.
pub fn cell_name(toolchain: &str, arch: Arch) -> String {
    format!("{toolchain}/{arch}")
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Shard `index` of `count` (1-based): program i (in seed order, or corpus
/// order) belongs to shard `i % count + 1`, so the n shards of a plan
/// together take every program exactly once, whatever n.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The program indexes of `0..len` this shard takes.
    pub fn indexes(self, len: u64) -> impl Iterator<Item = u64> {
        ((self.index - 1) as u64..len).step_by(self.count as usize)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("{s:?}: expected i/n with 1 <= i <= n (e.g. 1/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Knobs that do not change results (and so may differ on resume).
#[derive(Clone, Debug)]
pub struct Options {
    pub jobs: usize,
    pub keep: bool,
    pub quiet: bool,
    /// Rerun each new crash or hang finding's failing cell under the triage knobs.
    pub triage: bool,
    /// Lines to print once the plan's toolchains resolved (what the matrix is).
    pub preamble: Vec<String>,
    /// A time budget: no program starts after this instant (the ones running
    /// finish, and the run reports as usual). Programs a resumed run had
    /// started are not starting: they finish, and push the instant back by
    /// the time they take.
    pub deadline: Option<std::time::Instant>,
    /// Reduce each new deterministic finding for up to this long before it is
    /// reported (`divergo run --reduce-budget`); None: not at all.
    pub reduce: Option<Duration>,
    /// Record the run in the findings history (`crate::history`); None: not.
    pub history: Option<HistorySettings>,
}

/// Where and how a command records its findings in the history.
#[derive(Clone, Debug)]
pub struct HistorySettings {
    pub db: PathBuf,
    /// Runs in a row without a finding, covering its cells, that mark it fixed.
    pub fixed_after: u32,
    /// The command recorded (run, merge, qualify).
    pub command: String,
}

/// What a finished (or interrupted) run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub out_dir: PathBuf,
    /// The records, counted; whole only for the programs that need them.
    pub tally: results::Tally,
    /// For a merged run: the results dirs it was merged from, and what each held.
    pub runners: Vec<results::Runner>,
    pub programs: usize,
    pub elapsed: Duration,
    pub interrupted: bool,
    pub findings: Vec<findings::Finding>,
    pub corpus_failures: Option<usize>,
    /// The time budget (`Options::deadline`) ran out before every program ran.
    pub budget_spent: bool,
    /// Bytes the results dir holds at the end (scratch already removed).
    pub disk_bytes: u64,
    /// divergo's own peak resident set size (VmHWM), in bytes.
    pub self_peak_rss: u64,
    /// What the findings history said of this run, once recorded there.
    pub history: Option<findings::HistoryReport>,
}

/// Total size of the files under `dir`.
pub fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// This process's peak resident set size (VmHWM), in bytes.
pub fn self_peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resolve toolchain names against the registry. Unknown names are errors
/// (bad input); known but broken toolchains come back unusable (their cells
/// become `infra`).
pub fn resolve_toolchains(home: &Path, names: &[String]) -> Result<Vec<Toolchain>> {
    let mut out: Vec<Toolchain> = Vec::new();
    for n in names {
        if let Some(base) = registry::split_noopt(n) {
            let tc = resolve_toolchains(home, &[base.to_string()])?.remove(0);
            if tc.lang.is_some() {
                bail!("{n}: an unoptimised cell is of a plain toolchain (such as go1.25.14+noopt)");
            }
            let tc = registry::with_noopt(&tc);
            if !out.iter().any(|t| t.name == tc.name) {
                out.push(tc);
            }
            continue;
        }
        if let Some((base, mode)) = registry::split_mode(n) {
            let tc = resolve_toolchains(home, &[base.to_string()])?.remove(0);
            let tc = registry::with_mode(&tc, mode);
            if !out.iter().any(|t| t.name == tc.name) {
                out.push(tc);
            }
            continue;
        }
        if let Some((base, lang)) = registry::split_lang(n) {
            let tc = resolve_toolchains(home, &[base.to_string()])?.remove(0);
            let tc = registry::with_lang(&tc, lang)?;
            if !out.iter().any(|t| t.name == tc.name) {
                out.push(tc);
            }
            continue;
        }
        if !registry::valid_name(n) {
            bail!("invalid toolchain name {n:?}: expected a Go version such as go1.23.11");
        }
        let tc = registry::find(home, n).ok_or_else(|| {
            anyhow!(
                "unknown toolchain {n}: install it with `divergo toolchains install {n}` (or `{n}=/path/to/goroot`)"
            )
        })?;
        if out.iter().any(|t| t.name == tc.name) {
            continue;
        }
        out.push(registry::check(tc));
    }
    Ok(out)
}

/// The cells of the matrix, toolchain-major.
pub fn cells(toolchains: &[Toolchain], archs: &[Arch], mode: QemuMode) -> Vec<Cell> {
    let executors: HashMap<Arch, Result<executor::Executor, String>> = archs
        .iter()
        .map(|a| (*a, executor::detect(*a, mode)))
        .collect();
    let mut cells = Vec::new();
    for tc in toolchains {
        for a in archs {
            cells.push(Cell {
                toolchain: tc.clone(),
                arch: *a,
                executor: executors[a].clone(),
                compile_only: false,
            });
        }
    }
    cells
}

/// The programs of a run: corpus entries, or generated programs rendered one
/// at a time when needed (a run may name millions of seeds).
pub enum ProgramList {
    Corpus(Vec<Program>),
    Generated {
        seed: u64,
        count: u64,
        fams: Vec<crate::gen::Family>,
    },
}

impl ProgramList {
    /// How many programs.
    pub fn len(&self) -> u64 {
        match self {
            ProgramList::Corpus(v) => v.len() as u64,
            ProgramList::Generated { count, .. } => *count,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th program (generated ones are rendered now).
    pub fn get(&self, i: u64) -> Program {
        match self {
            ProgramList::Corpus(v) => v[i as usize].clone(),
            ProgramList::Generated { seed, fams, .. } => {
                generated_program(seed.wrapping_add(i), fams)
            }
        }
    }
}

/// The programs a plan names, and the corpus entries when they come from a corpus.
pub fn load_programs(plan: &Plan) -> Result<(ProgramList, Option<Vec<corpus::Entry>>)> {
    match &plan.programs {
        Programs::Corpus { dir, filter } => {
            let entries = corpus::load(dir, filter.as_deref())?;
            let progs = entries.iter().map(corpus::Entry::program).collect();
            Ok((ProgramList::Corpus(progs), Some(entries)))
        }
        Programs::Generated {
            templates,
            seed,
            count,
        } => Ok((
            ProgramList::Generated {
                seed: *seed,
                count: *count,
                fams: parse_families(templates)?,
            },
            None,
        )),
    }
}

pub fn parse_families(names: &[String]) -> Result<Vec<crate::gen::Family>> {
    names
        .iter()
        .map(|t| t.parse::<crate::gen::Family>().map_err(|e| anyhow!("{e}")))
        .collect()
}

/// The program for one seed.
pub fn generated_program(seed: u64, fams: &[crate::gen::Family]) -> Program {
    let p = crate::gen::generate(seed, fams);
    let template = p
        .spec
        .families()
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join("+");
    Program {
        name: format!("seed-{seed}"),
        spec_json: serde_json::to_string_pretty(&p.spec).ok(),
        main_go: p.main_go,
        go_mod: p.go_mod,
        template: Some(template),
        seed: Some(seed),
        timeout: None,
        timeout_emulated: None,
        env: BTreeMap::new(),
    }
}

/// The matrix a run covers when not told: every default toolchain (go1.14.1
/// when registered, go1.23.11, go1.23.12, the newest go1.25.x) on the host
/// arch and, where an executor for it is found (qemu-user), the other arch.
/// `notes` say why a cell of the mission's matrix is missing.
pub struct DefaultMatrix {
    pub toolchains: Vec<String>,
    pub archs: Vec<Arch>,
    pub notes: Vec<String>,
    /// Cells left out when both toolchains and archs are the defaults
    /// ([`Plan::omit`]), each with its note in `omit_notes`.
    pub omit: Vec<String>,
    pub omit_notes: Vec<String>,
}

/// The archs of the default matrix: the two with native CI runners. The
/// other eleven run when named (`--arch all`); see the README for what
/// each costs.
pub const DEFAULT_ARCHS: [Arch; 2] = [Arch::Amd64, Arch::Arm64];

pub fn default_matrix(home: &Path, mode: QemuMode) -> Result<DefaultMatrix> {
    let host =
        Arch::host().ok_or_else(|| anyhow!("unsupported host arch {}", std::env::consts::ARCH))?;
    let mut notes = Vec::new();
    let toolchains = registry::default_names(home);
    if !toolchains.iter().any(|t| t == "go1.14.1") {
        notes.push(
            "go1.14.1 is not registered (the go1.14.1 timer deadlock needs it): scripts/setup.sh \
             builds it from ../shared/go-src/go1.14.1.src.tar.gz or $DIVERGO_GO1141_SRC, or run \
             `divergo toolchains build go1.14.1 --source go1.14.1.src.tar.gz`"
                .to_string(),
        );
    }
    let mut archs = vec![host];
    for a in DEFAULT_ARCHS.into_iter().filter(|&a| a != host) {
        match executor::detect(a, mode) {
            Ok(_) => archs.push(a),
            Err(why) => notes.push(format!("{a} is left out: {why}")),
        }
    }
    // go1.14.1's timer deadlock hangs most timers programs; natively a hang
    // costs a 10 s timeout, under one-insn-per-TB qemu ten minutes. The bug
    // does not depend on the arch, so the default matrix finds it on the host.
    let mut omit = Vec::new();
    let mut omit_notes = Vec::new();
    if toolchains.iter().any(|t| t == "go1.14.1") {
        for &a in archs.iter().filter(|&&a| a != host) {
            omit.push(cell_name("go1.14.1", a));
            omit_notes.push(format!(
                "go1.14.1 × {a} is left out: go1.14.1's timer deadlock hangs most timers \
                 programs, and under qemu each hang waits out minutes of timeout; it shows \
                 natively on {host} (name --toolchains and --arch to run the cell)"
            ));
        }
    }
    Ok(DefaultMatrix {
        toolchains,
        archs,
        notes,
        omit,
        omit_notes,
    })
}

/// The archs a `--arch` list names, and a note for each that will not run:
/// an arch that `all` brings in without an executor here is left out; a
/// named one stays (its cells build, and their runs are `infra`).
pub fn select_archs(sel: &[ArchSel], mode: QemuMode) -> (Vec<Arch>, Vec<String>) {
    let all = sel.contains(&ArchSel::All);
    let mut archs = Vec::new();
    let mut notes = Vec::new();
    let mut no_qemu = Vec::new();
    for a in ArchSel::expand(sel) {
        match executor::detect(a, mode) {
            Ok(_) => archs.push(a),
            Err(why)
                if all && !sel.contains(&ArchSel::One(a)) && why.starts_with("no qemu-user") =>
            {
                no_qemu.push(a.to_string())
            }
            Err(why) if all && !sel.contains(&ArchSel::One(a)) => {
                notes.push(format!("{a} is left out: {why}"))
            }
            Err(why) => {
                notes.push(format!("{a} builds but does not run: {why}"));
                archs.push(a);
            }
        }
    }
    if !no_qemu.is_empty() {
        notes.insert(
            0,
            format!(
                "left out, no qemu-user for them on this host: {} (install it with `apt-get \
                 install qemu-user-static`, or name an emulator in DIVERGO_QEMU_<NAME>, e.g. \
                 DIVERGO_QEMU_RISCV64)",
                no_qemu.join(", ")
            ),
        );
    }
    (archs, notes)
}

/// The cells of `toolchains` × `archs` that cannot exist: a toolchain
/// older than the arch's linux port (loong64 before go1.19), each with the
/// note that says so.
pub fn unported_cells(toolchains: &[String], archs: &[Arch]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in toolchains {
        let Some((1, minor)) = registry::minor_of(t) else {
            continue;
        };
        for &a in archs {
            if minor < a.first_go_minor() {
                out.push((
                    cell_name(t, a),
                    format!(
                        "{t} × {a} is left out: linux/{a} came in go1.{}",
                        a.first_go_minor()
                    ),
                ));
            }
        }
    }
    out
}

/// A new results directory name under ./divergo-runs/.
pub fn default_out_dir() -> PathBuf {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let fmt = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    let stamp = now.format(&fmt).unwrap_or_else(|_| "run".into());
    let base = PathBuf::from("divergo-runs");
    let mut dir = base.join(&stamp);
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = base.join(format!("{stamp}-{n}"));
    }
    dir
}

/// Read and check run.json of an existing results dir.
pub fn read_plan(dir: &Path) -> Result<Plan> {
    let path = dir.join("run.json");
    let data = std::fs::read(&path).with_context(|| {
        format!(
            "{} is not a divergo results dir (no run.json)",
            dir.display()
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_slice(&data).map_err(|e| anyhow!("{}: malformed: {e}", path.display()))?;
    let schema = v.get("schema").and_then(|s| s.as_u64()).unwrap_or(0);
    if schema != results::SCHEMA as u64 {
        bail!(
            "{}: results format {schema} from divergo {}, this divergo reads format {}",
            path.display(),
            v.get("divergo_version")
                .and_then(|s| s.as_str())
                .unwrap_or("?"),
            results::SCHEMA
        );
    }
    serde_json::from_value(v).map_err(|e| anyhow!("{}: malformed: {e}", path.display()))
}

/// Trials of a corpus entry: its own count, stopping a cell as soon as an
/// `any` expectation holds.
pub struct CorpusTrials<'a> {
    pub entry: &'a corpus::Entry,
    pub cells: &'a [Cell],
}

impl TrialPolicy for CorpusTrials<'_> {
    fn more(&self, cell: usize, all: &[Vec<crate::model::Outcome>], _cost: &[f64]) -> u32 {
        let runs = &all[cell];
        let c = &self.cells[cell];
        if let Some(x) = self.entry.expectation(&c.toolchain.name, c.arch) {
            if x.when == corpus::When::Any {
                let judged: Vec<(crate::model::Class, String)> = runs
                    .iter()
                    .map(|o| (o.class, o.signature.clone()))
                    .collect();
                if x.judge(&judged) == corpus::Verdict::Pass {
                    return 0;
                }
            }
        }
        self.entry.trials.saturating_sub(runs.len() as u32)
    }
}

/// Trials of generated programs. Every cell gets `initial` trials. Then,
/// while the scope of some kind of failure is not settled (see
/// [`verdict::assess`]: a comparison whose rates differ is not significant
/// yet), the cells of the open comparisons get more, up to `max` each, best
/// value first: the expected fall of the open p-values per second of run time
/// (a native run costs a fraction of an emulated one, a crash that comes early
/// less than a clean run). A significant pair alone does not stop the trials: the
/// scope it implies might still change (a toolchain difference that turns out
/// to be an arch difference).
pub struct AdaptiveTrials {
    pub initial: u32,
    pub max: u32,
    pub alpha: f64,
    pub ids: Vec<verdict::CellId>,
}

impl AdaptiveTrials {
    pub fn new(max: u32, cells: &[Cell]) -> Self {
        Self::for_cells(max, cells.iter().map(cell_id).collect())
    }

    pub fn for_cells(max: u32, ids: Vec<verdict::CellId>) -> Self {
        AdaptiveTrials {
            initial: max.min(2),
            max,
            alpha: verdict::DEFAULT_ALPHA,
            ids,
        }
    }

    /// A corpus entry's cells: the first round is the entry's own `trials`
    /// (its expect.toml sizes them so that a cell expected to fail does,
    /// bar 1 in 10 000), not two: two cells that both ran clean twice are
    /// not yet two cells that agree.
    pub fn first_round(mut self, trials: u32) -> Self {
        self.initial = self.initial.max(trials).min(self.max);
        self
    }
}

/// The identity of a cell as the verdict's questions see it.
pub fn cell_id(c: &Cell) -> verdict::CellId {
    verdict::CellId {
        toolchain: c.toolchain.name.clone(),
        arch: c.arch,
        executor: c.executor_label(),
    }
}

impl TrialPolicy for AdaptiveTrials {
    fn more(&self, cell: usize, all: &[Vec<crate::model::Outcome>], cost: &[f64]) -> u32 {
        let n = all[cell].len() as u32;
        if n < self.initial {
            return self.initial - n;
        }
        if n >= self.max {
            return 0;
        }
        let tallies: Vec<verdict::Tally> =
            all.iter().map(|r| verdict::Tally::of_outcomes(r)).collect();
        let a = verdict::assess(&self.ids, &tallies, self.alpha, Some(self.max));
        // Cells that could still help settle an open question, and the
        // cheapest of them: only cells about as cheap as that one grow now.
        let open: Vec<usize> = a
            .undecided_cells()
            .into_iter()
            .filter(|&j| (all[j].len() as u32) < self.max)
            .collect();
        if !open.contains(&cell) {
            return 0;
        }
        // Value for money: how much one more run of a cell is expected to
        // lower the p-values of its open questions, per second it costs.
        // Growing the cell that always crashes fast helps little once its
        // clean partner is the one short of runs.
        let score = |j: usize| {
            let gain: f64 = a.open_comparisons().map(|c| c.gain_of_one_more(j)).sum();
            gain / cost[j].max(0.05)
        };
        let best = open.iter().map(|&j| score(j)).fold(0.0, f64::max);
        if best <= 0.0 {
            // No single run helps on its own: grow the cheapest cells.
            let cheapest = open.iter().map(|&j| cost[j]).fold(f64::INFINITY, f64::min);
            return u32::from(cost[cell] <= 2.0 * cheapest + 0.05);
        }
        u32::from(score(cell) >= 0.5 * best)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn toolchains_older_than_a_port_have_no_cell_there() {
        let tcs = vec!["go1.14.15".to_string(), "go1.25.14+noopt".to_string()];
        let v = unported_cells(&tcs, &[Arch::Amd64, Arch::Loong64, Arch::Riscv64]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].0, "go1.14.15/loong64");
        assert!(v[0].1.contains("came in go1.19"), "{}", v[0].1);
    }

    #[test]
    fn shards_cover_every_program_exactly_once() {
        for n in 1..=7u32 {
            let mut seen = vec![0u32; 23];
            for i in 1..=n {
                for idx in (Shard { index: i, count: n }).indexes(23) {
                    seen[idx as usize] += 1;
                }
            }
            assert!(seen.iter().all(|&k| k == 1), "n={n}: {seen:?}");
        }
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    use super::*;
    use crate::model::{Class, Outcome};

    fn ids() -> Vec<verdict::CellId> {
        let id = |tc: &str, arch: Arch| verdict::CellId {
            toolchain: tc.into(),
            arch,
            executor: format!("{arch} (test)"),
        };
        vec![
            id("A", Arch::Arm64),
            id("B", Arch::Arm64),
            id("A", Arch::Amd64),
            id("B", Arch::Amd64),
        ]
    }

    fn runs(bad: usize, ok: usize) -> Vec<Outcome> {
        let mut v = vec![Outcome::new(Class::Fatal, "fatal error: x"); bad];
        v.extend(vec![Outcome::new(Class::Ok, ""); ok]);
        v
    }

    fn wants(all: &[Vec<Outcome>], cost: &[f64]) -> Vec<u32> {
        let p = AdaptiveTrials::for_cells(20, ids());
        (0..all.len()).map(|i| p.more(i, all, cost)).collect()
    }

    #[test]
    fn a_settled_cross_arch_bug_stops_the_trials() {
        // Both arm64 cells crash, amd64 never: settled, nothing more to run.
        let all = [runs(3, 2), runs(1, 4), runs(0, 20), runs(0, 20)];
        assert_eq!(wants(&all, &[3.0, 3.0, 0.1, 0.1]), vec![0, 0, 0, 0]);
    }

    #[test]
    fn a_significant_pair_does_not_stop_an_unsettled_scope() {
        // B/arm64 crashes, A/arm64 has not yet: the arch question of B is
        // significant, the toolchain question is open. It is not stopped:
        // both arm64 cells may still grow.
        let all = [runs(0, 5), runs(3, 2), runs(0, 20), runs(0, 20)];
        let w = wants(&all, &[3.0, 3.0, 0.1, 0.1]);
        assert_eq!(&w[2..], &[0, 0], "{w:?}");
        assert!(w[0] + w[1] > 0, "{w:?}");
    }

    #[test]
    fn the_clean_partner_grows_when_the_crashing_cell_has_enough() {
        // 10 of 11 crashed fast on A/arm64; B/arm64 has 2 clean runs that
        // take longer. One more B run lowers p (0.038) far more than one more
        // A run does, even at 2.5 times the cost.
        let all = [runs(10, 1), runs(0, 2), runs(0, 13), runs(0, 2)];
        let w = wants(&all, &[2.0, 5.0, 0.1, 0.1]);
        assert_eq!(w[0], 0, "{w:?}");
        assert_eq!(w[1], 1, "{w:?}");
    }

    #[test]
    fn a_corpus_entry_starts_with_its_own_trials() {
        // Four cells that all ran clean twice: a generated program is done,
        // a corpus entry with `trials = 6` runs each cell to 6 first.
        let all = [runs(0, 2), runs(0, 2), runs(0, 2), runs(0, 2)];
        let cost = [1.0; 4];
        assert_eq!(wants(&all, &cost), vec![0, 0, 0, 0]);
        let p = AdaptiveTrials::for_cells(20, ids()).first_round(6);
        let w: Vec<u32> = (0..4).map(|i| p.more(i, &all, &cost)).collect();
        assert_eq!(w, vec![4, 4, 4, 4]);
        // Never beyond the budget.
        let p = AdaptiveTrials::for_cells(3, ids()).first_round(6);
        assert_eq!(p.more(0, &all, &cost), 1);
    }
}
