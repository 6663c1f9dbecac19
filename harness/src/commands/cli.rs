//! Command-line interface.

use crate::engine::executor::QemuMode;
use crate::engine::plan::{self, Options, Plan, Programs};
use crate::error::{
    InfraError, InternalError, EXIT_FINDINGS, EXIT_INFRA, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK,
    EXIT_USAGE,
};
use crate::exec;
use crate::model::{Arch, ArchSel, ModeSel};
use crate::toolchain::registry as toolchain;
use anyhow::{anyhow, bail, Result};
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "divergo",
    version,
    about = "Differential fuzzing and stress harness for Go toolchains",
    long_about = "divergo generates Go programs (or takes known ones from a corpus), builds each \
with several Go toolchains for amd64 and arm64, runs them under GC and preemption pressure \
(natively, or under qemu-user for a foreign arch), classifies every run, and reports where \
toolchains or architectures diverge, with a standalone reproducer per finding.\n\n\
Toolchains live under $DIVERGO_HOME (default ~/.cache/divergo).\n\n\
Settings can come from a divergo.toml (the working directory or a parent, or --config FILE); \
flags override it, and `divergo config` shows the effective settings and where each came from.",
    after_long_help = crate::error::EXIT_TABLE,
    after_help = "Start with: divergo toolchains install && divergo run"
)]
pub struct Cli {
    /// Settings file [default: divergo.toml in the working directory or its
    /// nearest parent that has one; `none` reads none]
    #[arg(long, global = true, value_name = "FILE", env = "DIVERGO_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Install, register and list Go toolchains.
    #[command(subcommand)]
    Toolchains(crate::commands::toolchains::ToolchainsCmd),
    /// Generate programs (or take corpus entries), build, run, classify and diff them.
    #[command(
        long_about = "Generate programs (or take corpus entries), build each with every toolchain \
for every arch, run them under GC and preemption pressure, classify every run and report \
divergences between cells (toolchain × arch) as findings.\n\n\
Each program gets an initial round of trials per cell; cells that disagree get more, up to \
--trials, until the difference is significant (Fisher's exact test, p < 0.01) or the budget \
is spent. Results go to --out: run.json (the plan), results.jsonl (one line per build/run, \
written as each ends), summary.md, logs/ and findings/<id>/ (main.go, go.mod, spec.json, \
finding.json, repro.sh). An interrupted run continues with --resume DIR.\n\n\
Findings that match an entry of the known-issues file (--known, default \
go-corpus/known.toml when present) are listed under \"Known issues\": they are still \
written, but do not make the run exit 1 or stop --stop-on-first.\n\n\
Examples:\n  divergo run\n  divergo run --toolchains go1.23.11,go1.23.12 --arch amd64,arm64 \
--templates bigstack --seed 1 --stop-on-first --json\n  divergo run --corpus go-corpus --filter timer\n  \
divergo run --resume divergo-runs/20261122-101500"
    )]
    Run(RunArgs),
    /// Run the known-reproducer corpus and check every expectation.
    #[command(
        long_about = "Run the known-reproducer corpus (go-corpus/: one directory per entry \
with main.go, go.mod and expect.toml) and check every expectation per toolchain and arch. \
Prints a table of expected vs observed and exits 0 only when every expectation holds \
(1 otherwise). Cells whose toolchain is not installed are not part of the default set; \
infra outcomes (missing qemu, broken toolchain) count as failed expectations.\n\n\
Examples:\n  divergo corpus --arch amd64\n  divergo corpus --filter arm64-split --arch amd64,arm64 \
--toolchains go1.23.11,go1.23.12"
    )]
    Corpus(CorpusArgs),
    /// Merge results dirs (shards, or runs of the same seeds on other archs) into one.
    #[command(
        long_about = "Merge results directories into one, judged as one run: the shards of a \
`divergo run --shard i/n` (together the same findings one unsharded run over the same seeds \
gives), or runs of the same seeds on different runners (native amd64 and native arm64: \
their cross-arch verdicts come from the merge). A directory given twice, or a record two \
directories hold, counts once. A directory that is missing or half-written is reported \
(summary.md says which, and which shards of the plan no directory held) and the rest is \
merged. Runs of different programs (generator version, seed, templates, corpus) or run \
differently (trials, environment, timeout, qemu mode) are refused. The merged dir holds \
run.json, results.jsonl, logs/, summary.md and findings/<id>/ like any run, so it can be \
merged again; the toolchains must be installed here (for the reproducers). Exit status 0 \
when there is no new finding, 1 when there is.\n\n\
`report` is the old name of this command and still works.\n\n\
Example:\n  divergo merge shard-1 shard-2 shard-3 --out nightly"
    )]
    #[command(name = "merge", visible_alias = "report")]
    Report(ReportArgs),
    /// Qualify a toolchain upgrade: regressions, fixes and unchanged failures.
    #[command(
        long_about = "May a team move from --baseline to --candidate? Runs the corpus (go-corpus/ \
when present, or --corpus DIR) and generated programs on both toolchains, on every --arch, \
with the same adaptive trials and verdict rules as `run`, and sorts every divergence:\n\n\
  regressions   the candidate is worse: a significant crash or hang difference on one arch \
with the candidate's cell the worse one, or a build failure, changed output or static \
preemption window of the candidate's build that the baseline's lacks\n\
  fixes         the same with the roles swapped\n\
  unchanged     both fail alike (cross-arch, every cell), known issues included\n\
  inconclusive  cells differ, but no comparison of the two toolchains backs a change\n\n\
A crash that one arch shows and the other does not, with no significant difference \
between the toolchains, is never called a regression: a false regression costs more \
than a missed one.\n\n\
Output in --out: qualify.md (the verdict in its first lines, then regressions with their \
reproducers, fixes, unchanged, inconclusive, and what was covered), qualify.json, and \
the results dirs corpus/ and generated/ with findings/<id>/repro.sh for every finding. \
--duration is a budget: no program starts once it is spent, and the report is still \
written. Exit status 0 when there is no regression, 1 when there is one, 2 for bad \
input, 3 when a cell could not run at all (infra).\n\n\
Examples:\n  divergo qualify --baseline go1.23.11 --candidate go1.23.12 --duration 30m\n  \
divergo qualify --baseline go1.23.12 --candidate go1.23.11 --arch arm64 --count 20\n  \
divergo qualify --baseline go1.14.1 --candidate go1.14.2 --templates timers --arch amd64"
    )]
    Qualify(QualifyArgs),
    /// Print or write the Go program for a seed.
    #[command(
        long_about = "Print (or write with -o) the Go program divergo generates for a seed. \
The same seed, templates and divergo version always give the same program. Programs are \
valid Go 1.14 (go.mod says go 1.14), do a bounded amount of work, and print \
`checksum: <hex>` last, computed only from values that do not depend on scheduling.\n\n\
Examples:\n  divergo gen --seed 7 --template timers\n  divergo gen --seed 1 --template bigstack -o /tmp/prog"
    )]
    Gen(crate::commands::gen::GenArgs),
    /// Re-run a finding (findings/<id>) and say whether it still reproduces.
    #[command(
        long_about = "Re-run a finding directory (findings/<id> inside a results dir) on the \
same toolchains, archs, executors and environment, with the same adaptive trials (up to a \
budget sized to the failure rate the finding showed), and say \
whether the finding still reproduces: the same kind of divergence on the same cells. Exit \
status 0 when it reproduces, 1 when it does not. The toolchains must be installed.\n\n\
Example:\n  divergo replay divergo-runs/20261122-101500/findings/3f2a9c01de"
    )]
    Replay(ReplayArgs),
    /// Find preemption windows statically in Go binaries (golang/go#73259).
    #[command(
        long_about = "Scan Go ELF binaries (amd64, arm64; built by go1.14 or later, stripped or \
not) for preemption windows: PCs where the runtime would accept an asynchronous preemption \
(a mirror of isAsyncSafePoint of the toolchain that built the binary) but where the SP the \
instructions produced differs from what the function's pcsp table tells the unwinder. On \
arm64 the known case is an epilogue that pops a large frame with two ADDs \
(split-sp-epilogue, golang/go#73259). Nothing is run.\n\n\
Prints, per window: function, PC and offset, the instructions (hex words and mnemonics), the \
toolchain that built the binary and the rule it matches. With --json: one JSON array of \
{file, report} or {file, error} objects on stdout.\n\n\
Exit status: 0 no window in any binary; 1 a window was found; 2 a file is not a Go ELF \
binary, is truncated, or has a corrupt function table (one line on stderr per such file).\n\n\
Examples:\n  divergo scan ./server\n  divergo scan --json bin/*"
    )]
    Scan(crate::commands::scan::ScanArgs),
    /// Find the release or commit where a finding's behaviour changes
    #[command(
        long_about = "Find where a finding's (or a corpus entry's) behaviour changes: across the \
releases from A to B (--versions A..B: the proxy's list, releases it serves but does not list, \
and toolchains registered here, such as go1.14.1 built from source; each installed as needed), \
or across the commits of a Go git repository (--go-repo PATH --good REF --bad REF: each probed \
commit is built with `toolchains build`; a commit that does not build is skipped).\n\n\
Both ends run --calibrate trials first: exactly one must show the bug (for a finding, its bug \
key; for a corpus entry, the failure of the end that fails). Its failure rate p sets the clean \
runs n that a \"good\" verdict needs: the smallest n with (1 - p)^n < 0.01. Each probed point is \
bad (the bug showed), good (n clean runs, nothing else) or unknown (does not build, fails \
differently, out of trials); unknown points are skipped and widen the boundary instead of being \
guessed. The records, bisect.json and bisect.md go to --out (default: findings/<id>/bisect for a \
finding).\n\n\
Exit status: 0 boundary found; 1 no boundary (both ends alike, or an end is not what it must \
be); 2 bad input; 3 infrastructure failure; 130 interrupted.\n\n\
Examples:\n  divergo bisect go-corpus/arm64-split-sp-73259 --versions go1.23.0..go1.23.12 --arch arm64\n  \
divergo bisect go-corpus/timer-reset-38023 --versions go1.14.1..go1.14.2\n  \
divergo bisect findings/3f2a9c01de --go-repo ~/go --good go1.14.2 --bad go1.14.1"
    )]
    Bisect(crate::commands::bisect::BisectArgs),
    /// Shrink a finding's program while it still shows the same divergence
    #[command(
        long_about = "Shrink a finding's program (findings/<id>) while it still shows the same \
divergence: the same kind on the same divergent cells, still significant by the verdict rules, \
and the same bug key. A candidate that fails another way is rejected (reduce.log says so); one \
that does not build is rejected before any trial. Stage 1 shrinks the generator spec (generated \
programs), stage 2 cuts the Go source: top-level declarations, blocks, statements, constants. \
Candidates are tried one at a time, each with up to --jobs parallel runs.\n\n\
Output: findings/<id>/reduced/ with main.go, go.mod, repro.sh and reduce.log (each accepted \
step with lines before and after and the trials it cost). Exit status 0 when the reduced \
program reproduces the finding in a final check, 1 when it (or the original) does not, 2 bad \
input, 130 interrupted.\n\n\
Example:\n  divergo reduce divergo-runs/20261122-101500/findings/3f2a9c01de --budget 20m"
    )]
    Reduce(ReduceArgs),
    /// Run any command again and again in parallel; classify and count its failures.
    #[command(
        long_about = "Run a command (a Go binary, a `go test -c` binary, a script) again and \
again, --jobs at a time, under divergo's process rules: each run in its own process group; a \
run longer than --timeout gets SIGQUIT (a Go program dumps its goroutines), then SIGKILL of \
the whole group; the head and tail of its output are kept. Every run is classified like a \
generated program's (panic, fatal error, signal, hang, out of memory, with a normalised \
signature), failures are grouped by signature with their rate and its 95 % (Wilson) \
interval, and each signature keeps the logs of its first runs. Each run gets \
DIVERGO_STRESS_RUN=<n> (0, 1, …) in its environment.\n\n\
It stops at --max-runs, --duration, --max-failures or the first failure (--failfast), \
whichever comes first, or at Ctrl-C (the results are written then too). Failures whose output \
matches an --ignore pattern are counted apart and do not fail it. Results in --out: \
summary.md, junit.xml, report.html, stress.json and logs/run-<n>.log.\n\n\
Exit status: 0 no failure (ignored ones aside); 1 a failure; 2 bad input; 130 interrupted.\n\n\
Examples:\n  divergo stress --max-runs 1000 -- ./server.test -test.run TestReload\n  \
divergo stress --duration 10m --godebug asyncpreemptoff=1 --ignore 'connection refused' -- ./client\n  \
divergo stress --arch arm64 --max-runs 200 -- ./prog-arm64"
    )]
    Stress(crate::commands::stress::StressArgs),
    /// Show the effective settings of a command and where each came from.
    #[command(
        long_about = "Show the settings a command would use with no flags given: each flag's \
value and where it came from (default, env VAR, or the config file and line). The config \
file is --config FILE, $DIVERGO_CONFIG, or divergo.toml in the working directory or its \
nearest parent. Its keys are flag names, at the top level (every command with that flag) \
or in a section named after the command ([run], [qualify], …), which wins; flags and \
their environment variables win over the file. See docs/config.md.\n\n\
Examples:\n  divergo config\n  divergo config qualify\n  divergo --config ci/divergo.toml config run"
    )]
    Config {
        /// The command whose settings to show
        #[arg(default_value = "run")]
        command: String,
    },
    /// The findings history: list, show and acknowledge findings.
    #[command(subcommand)]
    Findings(FindingsCmd),
}

/// Options shared by `run` and `corpus`.
#[derive(Args, Debug, Clone)]
struct MatrixArgs {
    /// Toolchains, comma-separated [default: go1.14.1 when registered, go1.23.11, go1.23.12, newest go1.25.x]
    #[arg(long, value_delimiter = ',')]
    toolchains: Vec<String>,
    /// Architectures, comma-separated linux GOARCHes (amd64, arm64, 386, arm, loong64, mips,
    /// mipsle, mips64, mips64le, ppc64, ppc64le, riscv64, s390x) or `all` (those that run here)
    /// [default for run: the host's, plus amd64 or arm64 when qemu-user runs it; for corpus: the host's]
    #[arg(long = "arch", value_delimiter = ',')]
    archs: Vec<ArchSel>,
    /// Archs every program is also built for but not run, comma-separated GOARCHes or `all`:
    /// an internal compiler error, a build that does not finish, or a build error other cells
    /// do not show is a finding [default: none]
    #[arg(long = "compile-arch", value_delimiter = ',', value_name = "ARCHS")]
    compile_archs: Vec<ArchSel>,
    /// Build modes every program is also built in, compile-only, comma-separated or `all`:
    /// ssacheck (-d=ssa/check/on), noopt-build (-N -l), race (amd64 host), goamd64v3,
    /// goarm64v8.1, goarm5, goarm6; each on the run and compile archs it applies to, as cells
    /// NAME+<mode> [default: none]
    #[arg(long = "compile-mode", value_delimiter = ',', value_name = "MODES")]
    compile_modes: Vec<ModeSel>,
    /// Parallel builds and runs [default: number of cores]
    #[arg(long)]
    jobs: Option<usize>,
    /// Results directory [default: divergo-runs/<timestamp>]
    #[arg(long)]
    out: Option<PathBuf>,
    /// How qemu-user runs foreign-arch binaries: one-insn-per-tb (signals can land
    /// between any two instructions; about 100 times slower than native), plain
    /// (a few times slower, blind to such windows), or auto: one-insn-per-tb for a
    /// program whose build of that arch has a preemptible window the static scan
    /// knows (the split-SP epilogue), plain for the rest
    #[arg(long, default_value = "auto")]
    qemu_mode: QemuMode,
    /// Pin each emulated run (qemu-user) to this many CPUs; 0 leaves them
    /// unpinned. A program whose threads outnumber its CPUs is descheduled
    /// mid-function, and preemption-window crashes come far more often (see
    /// README, Executors)
    #[arg(long, default_value_t = 0)]
    emulated_cpus: u32,
    /// Kill a run whose resident memory exceeds this (MiB); classified `oom`
    #[arg(long, default_value_t = 2048)]
    memory_limit_mib: u64,
    /// Language-version axis: also build each program with go.mod declaring
    /// the toolchain's own language version (and so its GODEBUG defaults),
    /// as cells named NAME+langX.Y: off, newest (the newest toolchain of the
    /// set) or all (every toolchain newer than go1.14). A single cell can be
    /// named in --toolchains too: go1.23.12+lang, go1.23.12+lang1.22
    #[arg(long, default_value = "off")]
    lang_axis: LangAxis,
    /// Unoptimised reference axis: also build each program with
    /// optimisation and inlining off (-gcflags=all=-N -l) as cells named
    /// NAME+noopt; an output that differs from the optimised build of the
    /// same toolchain is a finding of scope `opt`: off, newest (the newest
    /// toolchain of the set) or all. A single cell can be named in
    /// --toolchains too: go1.25.14+noopt
    #[arg(long, env = "DIVERGO_OPT_AXIS", default_value = "newest")]
    opt_axis: LangAxis,
    /// How long one `go build` may take (a Go duration; a bare number is seconds); one that takes longer is killed and
    /// classified `ice` (a compiler hang), a finding like a compiler crash
    #[arg(long, value_name = "DURATION", default_value_t = crate::engine::plan::DEFAULT_BUILD_TIMEOUT_S, value_parser = parse_seconds)]
    build_timeout: f64,
    /// Keep scratch dirs (sources, binaries) instead of removing them
    #[arg(long)]
    keep: bool,
    /// One JSON object on stdout at the end; human output goes to stderr
    #[arg(long)]
    json: bool,
    /// No progress bar
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    m: MatrixArgs,
    /// Run the programs of a corpus dir instead of generated ones
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// With --corpus: only entries whose name contains this
    #[arg(long, requires = "corpus")]
    filter: Option<String>,
    /// Program families, comma-separated: bigstack, closures, timers, deferpanic, stackgrow, expr, smith, hostile [default: all but hostile]
    #[arg(
        long = "families",
        visible_alias = "templates",
        value_name = "FAMILIES",
        value_delimiter = ',',
        conflicts_with = "corpus"
    )]
    templates: Vec<String>,
    /// First seed; program i uses seed+i [default: from the clock, printed]
    #[arg(long, conflicts_with = "corpus")]
    seed: Option<u64>,
    /// Number of generated programs [default: 20; with --duration, as many as
    /// it allows]
    #[arg(long, conflicts_with = "corpus")]
    count: Option<u64>,
    /// Time budget, as Go writes durations (90s, 30m, 1h30m, 1.5h): no program starts after it; the ones
    /// running finish and the run reports as usual. With --resume, a budget
    /// for new programs: those the resumed run had started finish first and
    /// their time does not count [default: 10m when --count is not given
    /// either, so the default job takes minutes; none otherwise]
    #[arg(long, value_parser = parse_duration)]
    duration: Option<std::time::Duration>,
    /// Run only shard i of n (e.g. 2/4): every n-th program (generated or
    /// corpus) from the i-th. n runs with the same flags and shards 1/n..n/n
    /// together run exactly what one unsharded run would; merge their results
    /// dirs with `divergo report`. Generated programs need --seed.
    #[arg(long)]
    shard: Option<plan::Shard>,
    /// Most trials per cell (toolchain × arch) and program. Every cell gets 2;
    /// cells that disagree get more (cheapest first) until the divergence is
    /// significant or this many are spent. Corpus runs: trials per cell.
    #[arg(long, default_value_t = 20)]
    trials: u32,
    /// Native per-run timeout (a Go duration such as 10s; a bare number is seconds) (scaled for emulators; adapted down
    /// once a program has run clean)
    #[arg(long, value_name = "DURATION", default_value_t = 10.0, value_parser = parse_seconds)]
    timeout: f64,
    /// GOGC of every run (GC pressure); "" to leave it unset
    #[arg(long, default_value = "25")]
    gogc: String,
    /// GOMAXPROCS of every run; unset by default (programs choose)
    #[arg(long)]
    gomaxprocs: Option<u32>,
    /// GODEBUG of every run
    #[arg(long)]
    godebug: Option<String>,
    /// Stop after the first program with a new finding. A program whose builds
    /// alone show a new static finding (a preemption window one toolchain's
    /// build has and another's lacks: exact, no trials needed) stops the run
    /// before its trials
    #[arg(long)]
    stop_on_first: bool,
    /// Skip triage: by default each new crash or hang finding's failing cell is rerun
    /// under GODEBUG=asyncpreemptoff=1, GOGC=off, GOGC=1, GODEBUG=gcstoptheworld=1,
    /// GOMAXPROCS=1 and (arm64 under qemu) plain qemu, and finding.json and summary.md
    /// say which make it vanish or show more often
    #[arg(long)]
    no_triage: bool,
    /// Known-issues file: findings matching an entry are listed as known and
    /// do not count (exit status, --stop-on-first) [default: go-corpus/known.toml
    /// when it exists]
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    known: Option<PathBuf>,
    /// Ignore every known-issues file: report all findings as new
    #[arg(long, conflicts_with_all = ["known", "resume"])]
    no_known: bool,
    /// Continue an interrupted run in DIR (its run.json decides what runs)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["corpus", "templates", "seed"])]
    resume: Option<PathBuf>,
    #[command(flatten)]
    h: HistoryArgs,
    /// Reduce each new deterministic finding (wrong output, self-check, opt,
    /// build failure, compiler crash) for up to this long before it is
    /// reported: its smallest program goes to findings/<id>/reduced/, and
    /// findings whose reduced programs have one shape (names and literal
    /// values aside) are reported as one. 0 turns it off
    #[arg(long, value_name = "DURATION", env = "DIVERGO_REDUCE_BUDGET", default_value = "2m", value_parser = parse_budget_or_off)]
    reduce_budget: std::time::Duration,
}

/// The findings history of `run`, `merge` and `qualify`.
#[derive(Args, Debug, Clone)]
struct HistoryArgs {
    /// Findings history database: a finding seen in an earlier run is not new
    /// (it does not make the run exit 1), and the reports say which findings
    /// are new, seen before, acknowledged, fixed or regressed; `off` keeps no
    /// history. Shards (--shard) never record: their merge does
    /// [default: $DIVERGO_HOME/history.db]
    #[arg(long, value_name = "PATH|off", env = "DIVERGO_HISTORY")]
    history: Option<String>,
    /// A finding not seen in this many runs in a row that covered its cells
    /// is marked fixed (and regressed if it comes back)
    #[arg(long, value_name = "N", default_value_t = 3)]
    fixed_after: u32,
}

impl HistoryArgs {
    fn settings(&self, command: &str) -> Option<plan::HistorySettings> {
        crate::history::path_from(self.history.as_deref(), &toolchain::home()).map(|db| {
            plan::HistorySettings {
                db,
                fixed_after: self.fixed_after,
                command: command.to_string(),
            }
        })
    }
}

/// The history database of `divergo findings`.
#[derive(Args, Debug, Clone)]
struct HistoryPath {
    /// Findings history database [default: $DIVERGO_HOME/history.db]
    #[arg(long, value_name = "PATH", env = "DIVERGO_HISTORY")]
    history: Option<String>,
}

#[derive(Subcommand, Debug)]
enum FindingsCmd {
    /// List the findings the history holds, most recently seen first.
    List {
        #[command(flatten)]
        h: HistoryPath,
        /// Only findings in this state: new, acknowledged, fixed, regressed
        #[arg(long)]
        state: Option<String>,
        /// One JSON array on stdout
        #[arg(long)]
        json: bool,
    },
    /// Show one finding's history: its state, note and every run that showed it.
    Show {
        /// The finding's id (or a unique prefix of it)
        id: String,
        #[command(flatten)]
        h: HistoryPath,
        /// One JSON object on stdout
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a finding: it no longer makes runs exit 1 (until it is
    /// fixed and comes back, which is a regression).
    Ack {
        /// The finding's id (or a unique prefix of it)
        id: String,
        /// Why (an upstream issue, a decision)
        #[arg(long, required = true)]
        note: String,
        #[command(flatten)]
        h: HistoryPath,
    },
}

#[derive(Args, Debug)]
struct CorpusArgs {
    #[command(flatten)]
    m: MatrixArgs,
    /// Corpus directory
    #[arg(long, default_value = "go-corpus")]
    dir: PathBuf,
    /// Only entries whose name contains this
    #[arg(long)]
    filter: Option<String>,
}

#[derive(Args, Debug)]
struct ReduceArgs {
    /// A finding directory (findings/<id> inside a results dir)
    dir: PathBuf,
    /// Time budget: the reduction stops trying candidates after it (e.g. 90s, 10m, 1h30m)
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    budget: std::time::Duration,
    /// Most trials per cell for one candidate [default: as many as the finding had]
    #[arg(long)]
    trials: Option<u32>,
    /// Parallel runs [default: number of cores]
    #[arg(long)]
    jobs: Option<usize>,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// Results directories to merge
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// The merged results directory
    #[arg(long)]
    out: PathBuf,
    /// One JSON object on stdout at the end
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    h: HistoryArgs,
}

#[derive(Args, Debug)]
struct QualifyArgs {
    /// Qualify a Go module's own tests instead of generated programs: build
    /// each package's test binary (go test -c) with both toolchains for every
    /// arch, run each --trials times, and compare each test's failures
    #[arg(long, value_name = "DIR", conflicts_with_all = ["corpus", "no_corpus", "templates", "seed", "count"])]
    module: Option<PathBuf>,
    /// With --module: the packages, comma-separated patterns
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "./...",
        requires = "module"
    )]
    packages: Vec<String>,
    /// With --module: only tests matching this (-test.run)
    #[arg(long = "run", value_name = "REGEX", requires = "module")]
    test_run: Option<String>,
    /// With --module: only shard i of n of the packages (e.g. 2/4), each
    /// shard judged at 0.01/n so that n shards together keep the rate of
    /// false regressions of one run; a regression in any shard is one
    #[arg(long, requires = "module")]
    shard: Option<plan::Shard>,
    /// The toolchain in use now
    #[arg(long)]
    baseline: String,
    /// The toolchain to move to
    #[arg(long)]
    candidate: String,
    /// Architectures, comma-separated linux GOARCHes or `all` [default: the host's, plus amd64
    /// or arm64 when qemu-user runs it]
    #[arg(long = "arch", value_delimiter = ',')]
    archs: Vec<ArchSel>,
    /// Corpus dir [default: go-corpus when present]
    #[arg(long, conflicts_with = "no_corpus")]
    corpus: Option<PathBuf>,
    /// Only corpus entries whose name contains this
    #[arg(long)]
    filter: Option<String>,
    /// Generated programs only
    #[arg(long)]
    no_corpus: bool,
    /// Program families, comma-separated [default: all but hostile]
    #[arg(
        long = "families",
        visible_alias = "templates",
        value_name = "FAMILIES",
        value_delimiter = ','
    )]
    templates: Vec<String>,
    /// First seed [default: from the clock, printed]
    #[arg(long)]
    seed: Option<u64>,
    /// Most generated programs (0: corpus only) [default: 20, or unbounded with --duration]
    #[arg(long)]
    count: Option<u64>,
    /// Time budget, as Go writes durations (90s, 30m, 1h30m, 1.5h): no program starts after it
    #[arg(long, value_parser = parse_duration)]
    duration: Option<std::time::Duration>,
    /// Most trials per cell and program (adaptive, as in `run`; a corpus entry's cells start
    /// with the entry's own trials)
    #[arg(long, default_value_t = 20)]
    trials: u32,
    /// Native per-run timeout (a Go duration such as 10s; a bare number is seconds) (scaled for emulators)
    #[arg(long, value_name = "DURATION", default_value_t = 10.0, value_parser = parse_seconds)]
    timeout: f64,
    /// GOGC of every run; "" to leave it unset
    #[arg(long, default_value = "25")]
    gogc: String,
    /// Known-issues file [default: go-corpus/known.toml when present]
    #[arg(long, conflicts_with = "no_known")]
    known: Option<PathBuf>,
    /// Do not read any known-issues file
    #[arg(long)]
    no_known: bool,
    /// Parallel builds and runs [default: number of cores]
    #[arg(long)]
    jobs: Option<usize>,
    /// Output dir [default: divergo-runs/<timestamp>]
    #[arg(long)]
    out: Option<PathBuf>,
    /// How qemu-user runs foreign-arch binaries (auto, one-insn-per-tb or plain; as in `run`)
    #[arg(long, default_value = "auto")]
    qemu_mode: QemuMode,
    /// Pin each emulated run to this many CPUs (0: unpinned), as in `run`
    #[arg(long, default_value_t = 0)]
    emulated_cpus: u32,
    /// Kill a run whose resident memory exceeds this (MiB)
    #[arg(long, default_value_t = 2048)]
    memory_limit_mib: u64,
    /// One JSON object on stdout at the end
    #[arg(long)]
    json: bool,
    /// No progress bar
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    h: HistoryArgs,
}

/// A duration as [`parse_duration`] reads it, or `0`/`off` (off).
fn parse_budget_or_off(s: &str) -> std::result::Result<std::time::Duration, String> {
    match s.trim() {
        "off" => Ok(std::time::Duration::ZERO),
        _ => crate::duration::parse(s),
    }
}

/// A duration in seconds, written as Go writes them (`10s`, `1m`, `500ms`;
/// a bare number is seconds), for the timeouts that plans keep as seconds.
fn parse_seconds(s: &str) -> std::result::Result<f64, String> {
    crate::duration::parse(s).map(|d| d.as_secs_f64())
}

/// A positive duration, written as Go writes them (`90s`, `1h30m`, `1.5h`;
/// a bare number is seconds).
pub(crate) fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    crate::duration::parse_positive(s)
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// A finding directory (findings/<id> inside a results dir)
    dir: PathBuf,
    /// Most trials per cell [default: enough to see the bug again with
    /// probability 0.99 at the rate the finding showed, at least as many as
    /// the finding had, at most 100]; trials stop once the divergence is
    /// significant again
    #[arg(long)]
    trials: Option<u32>,
    /// Parallel runs [default: number of cores]
    #[arg(long)]
    jobs: Option<usize>,
}

/// The exit status of an error (see [`crate::error::EXIT_TABLE`]): internal
/// (divergo's own fault), infrastructure (marked so, or a full disk), else
/// bad input.
fn exit_code_of(e: &anyhow::Error) -> i32 {
    let infra = e.chain().any(|c| {
        c.is::<InfraError>()
            || c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.raw_os_error() == Some(libc::ENOSPC))
    });
    if e.chain().any(|c| c.is::<InternalError>()) {
        EXIT_INTERNAL
    } else if infra {
        EXIT_INFRA
    } else {
        EXIT_USAGE
    }
}

#[cfg(test)]
mod exit_tests {
    use super::*;

    #[test]
    fn each_error_kind_has_its_exit_status() {
        let internal = anyhow::Error::new(InternalError("x".into())).context("writing");
        assert_eq!(exit_code_of(&internal), EXIT_INTERNAL);
        let infra = anyhow::Error::new(InfraError("download".into()));
        assert_eq!(exit_code_of(&infra), EXIT_INFRA);
        let full = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(exit_code_of(&full), EXIT_INFRA);
        assert_eq!(exit_code_of(&anyhow!("--trials 0")), EXIT_USAGE);
        for code in [
            EXIT_OK,
            EXIT_FINDINGS,
            EXIT_USAGE,
            EXIT_INFRA,
            EXIT_INTERNAL,
            EXIT_INTERRUPTED,
        ] {
            assert!(
                crate::error::EXIT_TABLE.contains(&format!("\n  {code} ")),
                "{code} missing from the exit table"
            );
        }
    }
}

/// The config file read and the flags it set (→ its line), if any.
type FromConfig = Option<(PathBuf, BTreeMap<String, usize>)>;

/// The command line with the config file's settings put in (see
/// [`crate::commands::config`]), and the flags they set (→ file line).
fn with_config(argv: Vec<std::ffi::OsString>) -> Result<(Vec<std::ffi::OsString>, FromConfig)> {
    use crate::commands::config;
    use clap::CommandFactory;
    // --config FILE / --config=FILE anywhere before `--`, else DIVERGO_CONFIG.
    let mut explicit: Option<PathBuf> = None;
    let mut it = argv.iter().skip(1);
    while let Some(w) = it.next() {
        let w = w.to_string_lossy();
        if w == "--" {
            break;
        }
        if w == "--config" {
            explicit = it.next().map(PathBuf::from);
        } else if let Some(v) = w.strip_prefix("--config=") {
            explicit = Some(PathBuf::from(v));
        }
    }
    if explicit.is_none() {
        explicit = std::env::var_os("DIVERGO_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
    }
    let cwd = std::env::current_dir()?;
    let Some(path) = config::locate(explicit.as_deref(), &cwd)? else {
        return Ok((argv, None));
    };
    let cfg = config::load(&path)?;
    let (argv, used) = config::augment(argv, &Cli::command(), &cfg)?;
    Ok((argv, Some((path, used))))
}

pub fn main() -> i32 {
    let (argv, from_config) = match with_config(std::env::args_os().collect()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("divergo: {}", format!("{e:#}").replace('\n', " "));
            return EXIT_USAGE;
        }
    };
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        EXIT_USAGE
                    } else {
                        EXIT_OK
                    };
                }
                _ => {
                    let text = e.render().to_string();
                    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
                    let mut line = lines
                        .next()
                        .unwrap_or("bad arguments")
                        .trim_start_matches("error: ")
                        .to_string();
                    // "the following required arguments were not provided:"
                    // names them on the next lines.
                    if line.ends_with(':') {
                        let more: Vec<&str> = lines
                            .take_while(|l| l.starts_with("  "))
                            .map(str::trim)
                            .collect();
                        line = format!("{line} {}", more.join(" "));
                    }
                    // A value the config file gave: name the file and line.
                    let from_file = from_config.as_ref().and_then(|(path, used)| {
                        let arg = e.get(clap::error::ContextKind::InvalidArg)?.to_string();
                        let flag = arg.trim_start_matches("--");
                        let flag = flag.split([' ', '=']).next()?;
                        used.get(flag).map(|l| format!("{}:{l}: ", path.display()))
                    });
                    match from_file {
                        Some(at) => eprintln!("divergo: {at}{line}"),
                        None => eprintln!("divergo: {line} (see --help)"),
                    }
                    return EXIT_USAGE;
                }
            }
        }
    };
    exec::install_signal_handlers();
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli))) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            eprintln!("divergo: internal error: {what} (a bug in divergo; please report it)");
            return EXIT_INTERNAL;
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("divergo: error: {msg}");
            exit_code_of(&e)
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::Toolchains(c) => crate::commands::toolchains::run(c),
        Cmd::Run(a) => run_cmd(a),
        Cmd::Corpus(a) => corpus_cmd(a),
        Cmd::Gen(a) => crate::commands::gen::run(a),
        Cmd::Qualify(a) => qualify_cmd(a),
        Cmd::Report(a) => report_cmd(a),
        Cmd::Replay(a) => crate::commands::replay::replay(&a.dir, a.trials, jobs(a.jobs)),
        Cmd::Scan(a) => crate::commands::scan::run(a),
        Cmd::Bisect(a) => crate::commands::bisect::cmd(a),
        Cmd::Stress(a) => crate::commands::stress::cmd(a),
        Cmd::Config { command } => crate::commands::config::show(&command, cli.config.as_deref()),
        Cmd::Findings(FindingsCmd::List { h, state, json }) => {
            crate::commands::findings::list(&history_db(&h)?, state.as_deref(), json)
        }
        Cmd::Findings(FindingsCmd::Show { id, h, json }) => {
            crate::commands::findings::show(&history_db(&h)?, &id, json)
        }
        Cmd::Findings(FindingsCmd::Ack { id, note, h }) => {
            crate::commands::findings::ack(&history_db(&h)?, &id, &note)
        }
        Cmd::Reduce(a) => crate::commands::reduce::reduce(&crate::commands::reduce::Request {
            dir: a.dir,
            budget: a.budget,
            trials: a.trials,
            jobs: jobs(a.jobs),
            quiet: false,
        }),
    }
}

fn qualify_module_cmd(a: &QualifyArgs, dir: &Path) -> Result<i32> {
    if a.baseline == a.candidate {
        bail!(
            "--baseline and --candidate are both {}: nothing to compare",
            a.baseline
        );
    }
    let home = toolchain::home();
    let toolchains = plan::resolve_toolchains(&home, &[a.baseline.clone(), a.candidate.clone()])?;
    let archs = if a.archs.is_empty() {
        plan::default_matrix(&home, a.qemu_mode)?.archs
    } else {
        default_archs(&a.archs)?
    };
    let archs = archs
        .into_iter()
        .map(|arch| {
            crate::engine::executor::detect(arch, QemuMode::Plain)
                .map(|e| (arch, e))
                .map_err(|e| anyhow::Error::new(InfraError(format!("--arch {arch}: {e}"))))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut env = Vec::new();
    if !a.gogc.is_empty() {
        env.push(("GOGC".to_string(), a.gogc.clone()));
    }
    let out = a.out.clone().unwrap_or_else(plan::default_out_dir);
    let dir = std::fs::canonicalize(dir).map_err(|e| anyhow!("--module {}: {e}", dir.display()))?;
    let req = crate::engine::module::Request {
        dir,
        packages: a.packages.clone(),
        toolchains,
        archs,
        trials: a.trials,
        timeout: std::time::Duration::from_secs_f64(a.timeout.max(60.0)),
        jobs: jobs(a.jobs),
        env,
        run: a.test_run.clone(),
        work: out.join("module"),
        home,
        shard: a.shard,
    };
    crate::commands::qualify_module::run(&req, &out, a.quiet, a.json)
}

/// The history database `divergo findings` reads (it must exist).
fn history_db(h: &HistoryPath) -> Result<PathBuf> {
    let Some(p) = crate::history::path_from(h.history.as_deref(), &toolchain::home()) else {
        bail!("--history off: `divergo findings` needs a history database");
    };
    if !p.is_file() {
        bail!(
            "no findings history at {} (runs record one there; --history PATH names another)",
            p.display()
        );
    }
    Ok(p)
}

fn report_cmd(a: ReportArgs) -> Result<i32> {
    let m = crate::commands::merge::merge(&a.dirs, &a.out, a.h.settings("merge").as_ref())?;
    for s in &m.sources {
        if s.status != "ok" {
            eprintln!("{}: {} {}", s.dir.display(), s.status, s.note);
        }
    }
    if !m.missing_shards.is_empty() {
        eprintln!(
            "missing shards: {} (their programs are not in this report)",
            m.missing_shards.join(", ")
        );
    }
    let new = m.outcome.findings.iter().filter(|f| f.is_new()).count();
    let alarms = m.outcome.findings.iter().filter(|f| f.alarms()).count();
    eprintln!(
        "merged {} dir(s): {} programs, {} records ({} held twice), {} finding(s), {} known; report in {}",
        m.sources.iter().filter(|s| s.status == "ok" || s.status == "partial").count(),
        m.outcome.programs,
        m.outcome.tally.records,
        m.duplicates,
        new,
        m.outcome.findings.len() - new,
        a.out.join("summary.md").display()
    );
    if a.json {
        let mut v = crate::commands::run::json_summary(&m.outcome);
        v["sources"] = serde_json::to_value(&m.sources)?;
        v["missing_shards"] = serde_json::to_value(&m.missing_shards)?;
        v["duplicates"] = m.duplicates.into();
        println!("{}", serde_json::to_string(&v)?);
    }
    Ok(if alarms > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

/// `--trials` and `--timeout` of `run` and `qualify`.
fn check_trials_timeout(trials: u32, timeout: f64) -> Result<()> {
    if trials == 0 || trials > 10_000 {
        bail!("--trials {trials}: expected 1..=10000");
    }
    if !(timeout > 0.0 && timeout <= 3600.0) {
        bail!("--timeout {timeout}: expected 0 < t <= 3600 seconds");
    }
    Ok(())
}

/// The first seed when none is given: the clock, in seconds.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs())
}

fn qualify_cmd(a: QualifyArgs) -> Result<i32> {
    use crate::commands::qualify;
    check_trials_timeout(a.trials, a.timeout)?;
    if let Some(dir) = &a.module {
        return qualify_module_cmd(&a, dir);
    }
    plan::parse_families(&a.templates)?;
    let corpus = if a.no_corpus {
        None
    } else {
        match &a.corpus {
            Some(d) if !d.is_dir() => bail!("--corpus {}: not a directory", d.display()),
            Some(d) => Some((d.clone(), a.filter.clone())),
            None if Path::new("go-corpus").is_dir() => {
                Some((PathBuf::from("go-corpus"), a.filter.clone()))
            }
            None => None,
        }
    };
    let archs = if a.archs.is_empty() {
        plan::default_matrix(&toolchain::home(), a.qemu_mode)?.archs
    } else {
        plan::select_archs(&a.archs, a.qemu_mode).0
    };
    let seed = a.seed.unwrap_or_else(clock_seed);
    let count = match (a.count, a.duration) {
        (Some(n), _) => n,
        (None, Some(_)) => 1_000_000,
        (None, None) => 20,
    };
    let mut env = BTreeMap::new();
    if !a.gogc.is_empty() {
        env.insert("GOGC".to_string(), a.gogc.clone());
    }
    let req = qualify::Request {
        baseline: a.baseline,
        candidate: a.candidate,
        archs,
        qemu_mode: a.qemu_mode,
        emulated_cpus: a.emulated_cpus,
        memory_limit_mib: a.memory_limit_mib,
        corpus,
        templates: a.templates,
        seed,
        count,
        duration: a.duration,
        trials: a.trials,
        timeout_s: a.timeout,
        env,
        known: known_issues(a.known.as_deref(), a.no_known)?,
    };
    // Both toolchains must exist before anything runs.
    plan::resolve_toolchains(
        &toolchain::home(),
        &[req.baseline.clone(), req.candidate.clone()],
    )?;
    let out = a.out.unwrap_or_else(plan::default_out_dir);
    let opts = Options {
        jobs: jobs(a.jobs),
        keep: false,
        quiet: a.quiet,
        triage: false,
        preamble: vec![format!(
            "qualify {} → {} on {}",
            req.baseline,
            req.candidate,
            req.archs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )],
        deadline: None,
        reduce: None,
        history: a.h.settings("qualify"),
    };
    let q = qualify::qualify(&req, &out, &opts)?;
    eprintln!("{}", crate::report::qualify::verdict_line(&q));
    for e in &q.entries {
        eprintln!(
            "  {:?} {} {:?} ({}) {}: {}",
            e.sorted.change,
            e.finding.id,
            e.finding.kind,
            e.finding.scope,
            e.finding.signature,
            e.sorted.reason
        );
    }
    eprintln!("report: {}", out.join("qualify.md").display());
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&crate::report::qualify::json(&q))?
        );
    }
    Ok(qualify::exit_code(&q))
}

pub(crate) fn jobs(j: Option<usize>) -> usize {
    j.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1)
}

fn default_archs(archs: &[ArchSel]) -> Result<Vec<Arch>> {
    if !archs.is_empty() {
        return Ok(ArchSel::expand(archs));
    }
    Ok(vec![Arch::host().ok_or_else(|| {
        anyhow!("unsupported host arch {}", std::env::consts::ARCH)
    })?])
}

fn toolchain_names(given: &[String]) -> Vec<String> {
    if given.is_empty() {
        toolchain::default_names(&toolchain::home())
    } else {
        given.to_vec()
    }
}

/// The toolchains and archs of a run: as given, or the default matrix. The
/// first lines of the run say what it is and why any cell is missing.
/// Which toolchains also get a cell at their own language version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LangAxis {
    Off,
    Newest,
    All,
}

/// `toolchains` with the language-version cells of `axis` added after
/// them (toolchains of go1.14 and older, whose own version the programs
/// already declare, get none).
fn with_lang_axis(toolchains: Vec<String>, axis: LangAxis) -> Vec<String> {
    with_axis(toolchains, axis, toolchain::LANG_SUFFIX)
}

/// `toolchains` with the variant cells (`NAME` + `suffix`: `+lang`,
/// `+noopt`) of `axis` added after them. Only plain toolchains newer than
/// go1.14 get one: the programs declare go 1.14 already, and an
/// unoptimised build of go1.14 toolchains is as old as they are.
fn with_axis(toolchains: Vec<String>, axis: LangAxis, suffix: &str) -> Vec<String> {
    let plain = |n: &String| {
        toolchain::base_name(n) == n.as_str() && toolchain::minor_of(n).is_some_and(|v| v > (1, 14))
    };
    let extra: Vec<String> = match axis {
        LangAxis::Off => Vec::new(),
        LangAxis::Newest => toolchains
            .iter()
            .filter(|n| plain(n))
            .max_by(|a, b| crate::toolchain::version::go_version_cmp(a, b))
            .into_iter()
            .cloned()
            .collect(),
        LangAxis::All => toolchains.iter().filter(|n| plain(n)).cloned().collect(),
    };
    let mut out = toolchains;
    for n in extra {
        let v = format!("{n}{suffix}");
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The run's toolchains, archs, omitted cells ([`Plan::omit`]) and the lines
/// that say what the matrix is.
type Matrix = (Vec<String>, Vec<Arch>, Vec<String>, Vec<String>);

fn run_matrix(m: &MatrixArgs) -> Result<Matrix> {
    let d = plan::default_matrix(&toolchain::home(), m.qemu_mode)?;
    let toolchains = if m.toolchains.is_empty() {
        d.toolchains
    } else {
        m.toolchains.clone()
    };
    let toolchains = with_lang_axis(toolchains, m.lang_axis);
    let toolchains = with_axis(toolchains, m.opt_axis, toolchain::NOOPT_SUFFIX);
    let (archs, arch_notes) = if m.archs.is_empty() {
        (d.archs, Vec::new())
    } else {
        plan::select_archs(&m.archs, m.qemu_mode)
    };
    let mut lines = Vec::new();
    {
        let given = |g: bool| if g { "given" } else { "default" };
        lines.push(format!(
            "matrix ({} toolchains, {} archs): {} × {}",
            given(!m.toolchains.is_empty()),
            given(!m.archs.is_empty()),
            toolchains.join(", "),
            archs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for n in d.notes.iter().filter(|n| {
            (m.toolchains.is_empty() && n.starts_with("go1.14.1"))
                || (m.archs.is_empty() && !n.starts_with("go1.14.1"))
        }) {
            lines.push(format!("  note: {n}"));
        }
    }
    let compile_archs: Vec<String> = ArchSel::expand(&m.compile_archs)
        .into_iter()
        .filter(|a| !archs.contains(a))
        .map(|a| a.to_string())
        .collect();
    let modes: Vec<String> = ModeSel::expand(&m.compile_modes)
        .iter()
        .map(|m| m.to_string())
        .collect();
    if !compile_archs.is_empty() || !modes.is_empty() {
        lines.push(format!(
            "compile-only cells (built, not run): {}{}",
            if compile_archs.is_empty() {
                "no other archs".to_string()
            } else {
                compile_archs.join(", ")
            },
            if modes.is_empty() {
                String::new()
            } else {
                format!("; modes {} where each applies", modes.join(", "))
            }
        ));
    }
    for n in &arch_notes {
        lines.push(format!("  note: {n}"));
    }
    // Only the default matrix leaves cells out: named ones all run, but
    // for the toolchains that predate an arch's port.
    let mut omit = Vec::new();
    let mut built_for = archs.clone();
    built_for.extend(ArchSel::expand(&m.compile_archs));
    for (cell, note) in plan::unported_cells(&toolchains, &built_for) {
        omit.push(cell);
        lines.push(format!("  note: {note}"));
    }
    if m.toolchains.is_empty() && m.archs.is_empty() && m.lang_axis == LangAxis::Off {
        omit.extend(d.omit);
        for n in d.omit_notes {
            lines.push(format!("  note: {n}"));
        }
    }
    // The unoptimised cells of the default matrix run on the host: their
    // oracle (a miscompile) does not need emulation, and emulated runs are
    // what bounds the default job.
    if m.toolchains.is_empty() && m.archs.is_empty() {
        let host = archs.first().copied();
        for t in toolchains
            .iter()
            .filter(|t| toolchain::split_noopt(t).is_some())
        {
            for &a in archs.iter().filter(|&&a| Some(a) != host) {
                omit.push(plan::cell_name(t, a));
                lines.push(format!(
                    "  note: {t} × {a} is left out: the unoptimised reference runs on the host \
                     (name --toolchains and --arch to run the cell)"
                ));
            }
        }
    }
    Ok((toolchains, archs, omit, lines))
}

/// The default job's size: `divergo run` with neither --count nor --duration.
const DEFAULT_COUNT: u64 = 20;
const DEFAULT_DURATION: std::time::Duration = std::time::Duration::from_secs(600);

fn run_cmd(a: RunArgs) -> Result<i32> {
    let mut opts = Options {
        jobs: jobs(a.m.jobs),
        keep: a.m.keep,
        quiet: a.m.quiet,
        triage: !a.no_triage,
        preamble: Vec::new(),
        deadline: None,
        reduce: Some(a.reduce_budget).filter(|d| !d.is_zero()),
        history: a.h.settings("run"),
    };
    let start = std::time::Instant::now();
    // The time budget: as given, or the default job's (below).
    let mut duration = a.duration;
    if let Some(dir) = &a.resume {
        opts.deadline = duration.map(|d| start + d);
        let plan = plan::read_plan(dir)?;
        let out = crate::commands::run::execute(&plan, dir, &opts, true)?;
        return finish(&plan, out, a.m.json);
    }
    check_trials_timeout(a.trials, a.timeout)?;
    let mut budget_line = None;
    let programs = match &a.corpus {
        Some(dir) => Programs::Corpus {
            dir: dir.clone(),
            filter: a.filter.clone(),
        },
        None => {
            plan::parse_families(&a.templates)?;
            let seed = a.seed.unwrap_or_else(clock_seed);
            let count = match (a.count, a.duration) {
                (Some(0), _) => bail!("--count 0: nothing to run"),
                (Some(n), _) => n,
                (None, Some(_)) => 1_000_000,
                (None, None) => {
                    duration = Some(DEFAULT_DURATION);
                    DEFAULT_COUNT
                }
            };
            if let Some(d) = duration {
                budget_line = Some(format!(
                    "budget: {}no program starts after {} s (--count N, --duration D)",
                    if count < 1_000_000 {
                        format!("{count} programs; ")
                    } else {
                        String::new()
                    },
                    d.as_secs()
                ));
            }
            if a.shard.is_some() && a.seed.is_none() {
                bail!("--shard needs --seed: every shard must slice the same seeds");
            }
            Programs::Generated {
                templates: a.templates.clone(),
                seed,
                count,
            }
        }
    };
    let mut env = BTreeMap::new();
    if !a.gogc.is_empty() {
        env.insert("GOGC".to_string(), a.gogc.clone());
    }
    if let Some(p) = a.gomaxprocs {
        env.insert("GOMAXPROCS".to_string(), p.to_string());
    }
    if let Some(d) = &a.godebug {
        env.insert("GODEBUG".to_string(), d.clone());
    }
    opts.deadline = duration.map(|d| start + d);
    let (toolchains, archs, omit, mut preamble) = run_matrix(&a.m)?;
    preamble.extend(budget_line);
    opts.preamble = preamble;
    let plan = Plan {
        schema: crate::engine::results::SCHEMA,
        divergo_version: crate::model::version(),
        programs,
        toolchains,
        archs,
        trials: a.trials,
        env,
        timeout_s: a.timeout,
        qemu_mode: a.m.qemu_mode,
        memory_limit_mib: a.m.memory_limit_mib,
        build_timeout_s: a.m.build_timeout,
        stop_on_first: a.stop_on_first,
        corpus_trials: false,
        adaptive_corpus: false,
        shard: a.shard,
        generator_version: crate::gen::GENERATOR_VERSION,
        known: known_issues(a.known.as_deref(), a.no_known)?,
        emulated_cpus: a.m.emulated_cpus,
        compile_archs: ArchSel::expand(&a.m.compile_archs),
        compile_modes: ModeSel::expand(&a.m.compile_modes),
        omit,
    };
    let out_dir = a.m.out.clone().unwrap_or_else(plan::default_out_dir);
    let out = crate::commands::run::execute(&plan, &out_dir, &opts, false)?;
    finish(&plan, out, a.m.json)
}

fn corpus_cmd(a: CorpusArgs) -> Result<i32> {
    let opts = Options {
        jobs: jobs(a.m.jobs),
        keep: a.m.keep,
        quiet: a.m.quiet,
        triage: false,
        preamble: Vec::new(),
        deadline: None,
        reduce: None,
        history: None,
    };
    let plan = Plan {
        schema: crate::engine::results::SCHEMA,
        divergo_version: crate::model::version(),
        programs: Programs::Corpus {
            dir: a.dir.clone(),
            filter: a.filter.clone(),
        },
        toolchains: toolchain_names(&a.m.toolchains),
        archs: default_archs(&a.m.archs)?,
        trials: 1,
        env: BTreeMap::new(),
        timeout_s: 10.0,
        qemu_mode: a.m.qemu_mode,
        memory_limit_mib: a.m.memory_limit_mib,
        build_timeout_s: a.m.build_timeout,
        stop_on_first: false,
        corpus_trials: true,
        adaptive_corpus: false,
        shard: None,
        generator_version: crate::gen::GENERATOR_VERSION,
        known: Vec::new(),
        emulated_cpus: a.m.emulated_cpus,
        compile_archs: ArchSel::expand(&a.m.compile_archs),
        compile_modes: ModeSel::expand(&a.m.compile_modes),
        omit: Vec::new(),
    };
    // Toolchains the user did not name and does not have (go1.14.1) are
    // simply left out of the default set; named ones must exist.
    let out_dir = a.m.out.clone().unwrap_or_else(plan::default_out_dir);
    let out = crate::commands::run::execute(&plan, &out_dir, &opts, false)?;
    let failures = out.corpus_failures.unwrap_or(0);
    if let Ok(s) = std::fs::read_to_string(out_dir.join("summary.md")) {
        if let Some(i) = s.find("## Corpus expectations") {
            let table = &s[i..];
            let end = table.find("\n## Outcome").unwrap_or(table.len());
            eprintln!("{}", &table[..end]);
        }
    }
    eprintln!(
        "results in {} ({:.1} MiB on disk)",
        out_dir.display(),
        out.disk_bytes as f64 / (1 << 20) as f64
    );
    if out.interrupted {
        return Ok(EXIT_INTERRUPTED);
    }
    if a.m.json {
        println!(
            "{}",
            serde_json::to_string(&crate::commands::run::json_summary(&out))?
        );
    }
    Ok(if failures == 0 {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

/// The known issues of a run: `--known FILE`, else go-corpus/known.toml when
/// it exists, none with `--no-known`.
fn known_issues(path: Option<&Path>, none: bool) -> Result<Vec<crate::oracle::known::KnownIssue>> {
    let default = Path::new(DEFAULT_KNOWN);
    let path = match path {
        _ if none => return Ok(Vec::new()),
        Some(p) => p,
        None if default.is_file() => default,
        None => return Ok(Vec::new()),
    };
    crate::oracle::known::load(path).map_err(|e| anyhow!("{e:#}"))
}

const DEFAULT_KNOWN: &str = "go-corpus/known.toml";

fn finish(_plan: &Plan, out: plan::RunOutcome, json: bool) -> Result<i32> {
    let new = out.findings.iter().filter(|f| f.is_new()).count();
    let alarms = out.findings.iter().filter(|f| f.alarms()).count();
    let known = out.findings.len() - new;
    eprintln!(
        "{} programs in {:.1} s: {} finding(s){}{}; results in {} ({:.1} MiB on disk; divergo peak RSS {:.0} MiB)",
        out.programs,
        out.elapsed.as_secs_f64(),
        new,
        if known > 0 { format!(" and {known} known issue(s)") } else { String::new() },
        if out.interrupted { " (interrupted)" } else { "" },
        out.out_dir.display(),
        out.disk_bytes as f64 / (1 << 20) as f64,
        out.self_peak_rss as f64 / (1 << 20) as f64
    );
    if let Some(h) = &out.history {
        eprintln!(
            "history {}: {alarms} new or regressed, {} seen before or acknowledged, {} marked fixed",
            h.db.display(),
            new - alarms,
            h.fixed.len()
        );
    }
    if out.budget_spent {
        eprintln!(
            "time budget spent: no program started after it; `divergo run --resume {}` runs the rest",
            out.out_dir.display()
        );
    }
    for f in &out.findings {
        eprintln!(
            "  {} {:?} ({}) {}{}{}",
            f.id,
            f.kind,
            f.scope,
            f.signature,
            f.p_value.map(|p| format!(" p={p:.1e}")).unwrap_or_default(),
            match (&f.known, &f.history) {
                (Some(k), _) => format!(" [known: {k}]"),
                (None, Some(h)) => format!(" [{}]", h.status.name()),
                _ => String::new(),
            }
        );
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&crate::commands::run::json_summary(&out))?
        );
    }
    Ok(if out.interrupted {
        EXIT_INTERRUPTED
    } else if alarms == 0 {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}
