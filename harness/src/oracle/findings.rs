//! Findings: what the records of one program say, as verdicts on the cells
//! that diverge (kind, scope, signature, bug key, the comparisons behind
//! them), and their deduplication across programs.

use crate::model::{Arch, Class, Program, Record, Stage};
use crate::oracle::verdict::{self, BadKind, Scope};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Build,
    Crash,
    Hang,
    WrongOutput,
    /// A static finding: preemption windows the scan found in some cells'
    /// builds and not in others' (see [`crate::oracle::windows`]).
    #[serde(rename = "unsafe-window", alias = "unsafe_window")]
    UnsafeWindow,
}

impl Kind {
    fn severity(self) -> u8 {
        match self {
            Kind::WrongOutput => 5,
            Kind::Crash => 4,
            Kind::UnsafeWindow => 3,
            Kind::Hang => 2,
            Kind::Build => 1,
        }
    }

    /// Whether the finding comes from the static scan (exact, no trials).
    pub fn is_static(self) -> bool {
        self == Kind::UnsafeWindow
    }
}

/// Outcome counts of one cell, as reported.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CellReport {
    pub toolchain: String,
    pub arch: Arch,
    pub executor: String,
    pub runs: u32,
    pub outcomes: BTreeMap<Class, u32>,
    /// This cell is one of the divergent ones.
    pub divergent: bool,
}

/// The scopes `Finding::scope` takes (see [`verdict::Scope`]).
pub const SCOPES: &[&str] = verdict::Scope::NAMES;

/// A divergence (or an everywhere-crash) with its evidence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub kind: Kind,
    /// `toolchain` (some toolchains differ), `cross-arch` (every cell of one
    /// arch and none of the other), or `all` (every cell).
    pub scope: String,
    pub signature: String,
    /// The bug the signature names ([`crate::oracle::classify::bug_key`]): the forms
    /// of one runtime fault share it. Findings are identified and merged by it.
    #[serde(default)]
    pub bug: String,
    pub template: Option<String>,
    pub seed: Option<u64>,
    /// The smallest program that shows it.
    pub program: String,
    /// Smallest two-sided Fisher p-value between a divergent and a clean cell.
    pub p_value: Option<f64>,
    pub alpha: f64,
    pub cells: Vec<CellReport>,
    /// How many programs showed this finding.
    pub count: u32,
    pub programs: Vec<String>,
    pub divergo_version: String,
    /// The corrected significance threshold the p-values were held to
    /// (`alpha / K`, Tarone), for rate findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Whether more trials could still change the scope (false: the run's
    /// trial budget ran out first).
    #[serde(default = "yes")]
    pub settled: bool,
    /// The questions asked of the cells whose rates differ, with answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<ComparisonReport>,
    /// What makes it vanish or show more often (see `triage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<crate::oracle::triage::Triage>,
    /// The known issue (see `known`) this finding matches, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
    /// Static evidence: for an `unsafe-window` finding, the windows of its
    /// divergent cells; for a crash finding, the windows that its divergent
    /// cells' builds have and its clean cells' builds on the same arch lack
    /// (the static scan and the dynamic crash confirm each other).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_windows: Vec<StaticWindow>,
    /// The finding's program reduced (deterministic findings, by `run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduced: Option<Reduced>,
    /// Findings merged into this one because their reduced programs have
    /// its shape (their ids; their programs are in `programs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<String>,
    /// What the findings history says of it (see `crate::history`), once the
    /// run was recorded there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryMark>,
    #[serde(skip)]
    pub source: Option<Program>,
}

/// What the findings history says of a finding a run showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryStatus {
    /// Never seen before this run.
    New,
    /// Seen in an earlier run; nobody acknowledged it.
    Seen,
    /// Acknowledged (`divergo findings ack`).
    Acknowledged,
    /// Marked fixed, and seen again.
    Regressed,
}

impl HistoryStatus {
    /// Whether it makes a run fail (exit 1): new and regressed findings.
    pub fn alarms(self) -> bool {
        matches!(self, HistoryStatus::New | HistoryStatus::Regressed)
    }

    pub fn name(self) -> &'static str {
        match self {
            HistoryStatus::New => "new",
            HistoryStatus::Seen => "seen before",
            HistoryStatus::Acknowledged => "acknowledged",
            HistoryStatus::Regressed => "regressed",
        }
    }
}

/// What recording a run in the findings history said, for the reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryReport {
    /// The database.
    pub db: std::path::PathBuf,
    /// When the run before this one was recorded, if any.
    pub previous: Option<String>,
    /// Findings this run marked fixed: (id, kind, signature, last seen).
    pub fixed: Vec<(String, String, String, String)>,
}

/// A text chart of a finding's last runs: one character per run, its
/// height the programs that showed it (`·` for none).
pub fn text_chart(chart: &[(String, u32)]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = chart.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    chart
        .iter()
        .map(|(_, n)| match n {
            0 => '·',
            n => BARS[((*n as usize * 8).div_ceil(max as usize)).clamp(1, 8) - 1],
        })
        .collect()
}

/// A finding's line in the history: its status in this run, when it was
/// first seen, in how many runs, the acknowledgement note, and the programs
/// that showed it in each of the last runs that covered its cells (oldest
/// first; 0: not shown).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryMark {
    pub status: HistoryStatus,
    pub first_seen: String,
    pub runs_seen: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chart: Vec<(String, u32)>,
}

/// A finding's program after automatic reduction (`findings/<id>/reduced/`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Reduced {
    /// Non-blank lines before and after.
    pub from_lines: usize,
    pub lines: usize,
    /// The reduced program's shape ([`crate::gen::shape::shape_key`]).
    pub shape: String,
    /// Whether the reduced program showed the finding once more at the end.
    pub verified: bool,
    pub seconds: f64,
}

fn yes() -> bool {
    true
}

/// A window of one cell's build, as a finding reports it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StaticWindow {
    pub toolchain: String,
    pub arch: Arch,
    #[serde(flatten)]
    pub window: crate::model::WindowFact,
    /// A crash dump of this cell has a frame of the window's function at a
    /// PC inside the window (see [`crate::oracle::windows::confirm_from_dumps`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_crash_dump: bool,
}

impl StaticWindow {
    /// `static: window in main.bigFrame at +0x60 (go1.23.11/arm64:
    /// split-sp-epilogue, golang/go#73259)`.
    pub fn line(&self) -> String {
        let w = &self.window;
        format!(
            "static: window in {} at +{:#x} ({}/{}: {}{})",
            w.function,
            w.offset,
            self.toolchain,
            self.arch,
            w.rule,
            w.bug
                .as_deref()
                .map(|b| format!(", {b}"))
                .unwrap_or_default()
        ) + if self.in_crash_dump {
            "; a crash dump has this frame at a PC inside the window"
        } else {
            ""
        }
    }
}

/// One comparison of a finding, by cell name.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ComparisonReport {
    pub family: verdict::Family,
    /// `toolchain/arch` of the worse cell and its bad/judged runs.
    pub worse: String,
    pub worse_bad: u32,
    pub worse_runs: u32,
    pub better: String,
    pub better_bad: u32,
    pub better_runs: u32,
    pub p: f64,
    pub significant: bool,
}

impl ComparisonReport {
    fn of(c: &verdict::Comparison, cells: &[CellReport]) -> Self {
        let name = |i: usize| format!("{}/{}", cells[i].toolchain, cells[i].arch);
        ComparisonReport {
            family: c.family,
            worse: name(c.a),
            worse_bad: c.bad_a,
            worse_runs: c.runs_a,
            better: name(c.b),
            better_bad: c.bad_b,
            better_runs: c.runs_b,
            p: c.p,
            significant: c.significant,
        }
    }
}

fn tally(c: &CellReport) -> verdict::Tally {
    let mut t = verdict::Tally::default();
    for (cl, n) in &c.outcomes {
        t.add(*cl, *n);
    }
    t
}

impl Finding {
    /// A finding of `kind` with bug key `bug` on `cells` (its id derived from
    /// the three), seen once, of no program yet (see [`Finding::of`]): no
    /// p-value, comparisons, triage, known-issue label or static windows.
    pub fn new(
        kind: Kind,
        scope: String,
        signature: String,
        bug: String,
        cells: Vec<CellReport>,
        alpha: f64,
    ) -> Finding {
        Finding {
            id: finding_id(kind, &bug, &cells),
            kind,
            scope,
            signature,
            bug,
            template: None,
            seed: None,
            program: String::new(),
            p_value: None,
            alpha,
            cells,
            count: 1,
            programs: Vec::new(),
            divergo_version: crate::model::version(),
            threshold: None,
            settled: true,
            comparisons: Vec::new(),
            triage: None,
            known: None,
            static_windows: Vec::new(),
            reduced: None,
            merged: Vec::new(),
            history: None,
            source: None,
        }
    }

    /// The same finding, of program `prog`.
    pub fn of(mut self, prog: &Program) -> Finding {
        self.template = prog.template.clone();
        self.seed = prog.seed;
        self.program = prog.name.clone();
        self.programs = vec![prog.name.clone()];
        self.source = Some(prog.clone());
        self
    }

    /// A finding that matches no known issue.
    pub fn is_new(&self) -> bool {
        self.known.is_none()
    }

    /// A finding that fails the run: not a known issue, and (once the run was
    /// recorded in the findings history) new or regressed there.
    pub fn alarms(&self) -> bool {
        self.is_new() && self.history.as_ref().is_none_or(|h| h.status.alarms())
    }
}

fn cell_reports(recs: &[Record]) -> Vec<CellReport> {
    let mut m: BTreeMap<(String, Arch), CellReport> = BTreeMap::new();
    for r in recs {
        let e = m
            .entry((r.toolchain.clone(), r.arch))
            .or_insert_with(|| CellReport {
                toolchain: r.toolchain.clone(),
                arch: r.arch,
                executor: r.executor.clone(),
                runs: 0,
                outcomes: BTreeMap::new(),
                divergent: false,
            });
        if r.stage == Stage::Build && r.outcome == Class::Ok {
            continue;
        }
        if r.stage == Stage::Run {
            e.runs += 1;
            // Runs say how they ran (a build of an `auto` qemu cell does not).
            e.executor.clone_from(&r.executor);
        }
        *e.outcomes.entry(r.outcome).or_default() += 1;
    }
    let mut v: Vec<CellReport> = m.into_values().collect();
    v.sort_by(|a, b| {
        crate::toolchain::version::go_version_cmp(&a.toolchain, &b.toolchain)
            .then(a.arch.cmp(&b.arch))
    });
    v
}

fn program_runs(c: &CellReport) -> u32 {
    c.outcomes
        .iter()
        .filter(|(cl, _)| cl.is_program_outcome() && !matches!(cl, Class::BuildError | Class::Ice))
        .map(|(_, n)| *n)
        .sum()
}

pub(crate) fn finding_id(kind: Kind, bug: &str, cells: &[CellReport]) -> String {
    let mut h = Sha256::new();
    h.update(format!("{kind:?}\0{bug}\0"));
    for c in cells.iter().filter(|c| c.divergent) {
        h.update(format!("{}/{}\0", c.toolchain, c.arch));
    }
    let d = h.finalize();
    d.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

fn most_common_signature<'a>(recs: impl Iterator<Item = &'a Record>) -> String {
    most_common(recs.map(|r| r.signature.as_str()))
}

/// The most frequent string (ties: the smallest), or "" for none.
fn most_common<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut m: BTreeMap<&str, u32> = BTreeMap::new();
    for s in items {
        *m.entry(s).or_default() += 1;
    }
    m.into_iter()
        .max_by_key(|(s, n)| (*n, std::cmp::Reverse(*s)))
        .map(|(s, _)| s.to_string())
        .unwrap_or_default()
}

/// The signature of a hang finding: the goroutines (tokens of
/// `hang: a; b; c`) that the most runs share. A hang dump also catches
/// whatever else happened to run at that instant (a second Reset waiting on
/// the stuck timer, a GC start releasing a semaphore); those vary from run to
/// run, the stuck goroutine does not. With one run, its whole signature.
pub fn consensus_hang_signature(sigs: &[&str]) -> String {
    let mut tokens: BTreeMap<&str, u32> = BTreeMap::new();
    let mut prefix = "hang: ";
    for s in sigs {
        let (p, body) = match s.strip_prefix("hang: blocked in ") {
            Some(b) => ("hang: blocked in ", b),
            None => ("hang: ", s.strip_prefix("hang: ").unwrap_or(s)),
        };
        prefix = p;
        let mut seen = BTreeSet::new();
        for t in body.split("; ").filter(|t| !t.is_empty()) {
            if seen.insert(t) {
                *tokens.entry(t).or_default() += 1;
            }
        }
    }
    let max = tokens.values().max().copied().unwrap_or(0);
    if max < 2 {
        // Nothing shared (yet): the most common whole signature.
        return most_common(sigs.iter().copied());
    }
    let kept: Vec<&str> = tokens
        .iter()
        .filter(|(_, n)| **n == max)
        .map(|(t, _)| *t)
        .collect();
    format!("{prefix}{}", kept.join("; "))
}

/// The scope of a deterministic divergence (build, wrong output): `all`
/// when every judged cell is bad, `cross-arch` when exactly the cells of one
/// arch are, otherwise `toolchain` (some arch has bad and good cells).
fn scope_of(cells: &[CellReport], bad: impl Fn(&CellReport) -> bool) -> String {
    let judged: Vec<&CellReport> = cells
        .iter()
        .filter(|c| program_runs(c) > 0 || bad(c))
        .collect();
    if !judged.is_empty() && judged.iter().all(|c| bad(c)) {
        return Scope::All.name().into();
    }
    let archs: BTreeSet<Arch> = judged.iter().map(|c| c.arch).collect();
    let mixed = |a: Arch| {
        let on: Vec<_> = judged.iter().filter(|c| c.arch == a).collect();
        on.iter().any(|c| bad(c)) && on.iter().any(|c| !bad(c))
    };
    if archs.len() > 1 && !archs.iter().any(|a| mixed(*a)) {
        return Scope::CrossArch.name().into();
    }
    Scope::Toolchain.name().into()
}

/// A toolchain finding whose divergent cells each have a clean twin of the
/// same toolchain and arch that differs only in being built unoptimised
/// (or the other way round) is an `opt` finding; one whose twins differ
/// only in language version is a `lang` finding: the cells differ by the
/// build flags or by the `go` line alone.
fn variant_scope(cells: &[CellReport], scope: String) -> String {
    use crate::toolchain::registry::{base_name, split_noopt};
    if scope != Scope::Toolchain.name() {
        return scope;
    }
    let div: Vec<&CellReport> = cells.iter().filter(|c| c.divergent).collect();
    let opt_twin = |a: &CellReport, b: &CellReport| {
        split_noopt(&a.toolchain).unwrap_or(&a.toolchain)
            == split_noopt(&b.toolchain).unwrap_or(&b.toolchain)
    };
    let lang_twin = |a: &CellReport, b: &CellReport| {
        base_name(&a.toolchain) == base_name(&b.toolchain)
            && split_noopt(&a.toolchain).is_none()
            && split_noopt(&b.toolchain).is_none()
    };
    let all_have = |twin: &dyn Fn(&CellReport, &CellReport) -> bool| {
        !div.is_empty()
            && div.iter().all(|d| {
                cells.iter().any(|c| {
                    !c.divergent && c.arch == d.arch && c.toolchain != d.toolchain && twin(c, d)
                })
            })
    };
    if all_have(&opt_twin) {
        Scope::Opt.name().into()
    } else if all_have(&lang_twin) {
        Scope::Lang.name().into()
    } else {
        scope
    }
}

/// The findings one program's records show, at significance `alpha`.
/// The findings that the runs and builds show by themselves: build
/// failures, crash and hang rates, wrong output. The static findings and
/// the static evidence of crashes are added by
/// [`crate::oracle::judge::findings_for_program_at`].
pub fn run_findings_at(prog: &Program, recs: &[Record], alpha: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    let base = cell_reports(recs);
    let mk =
        |kind: Kind, cells: Vec<CellReport>, signature: String, p: Option<f64>, scope: String| {
            let scope = variant_scope(&cells, scope);
            let bug = crate::oracle::classify::bug_key(&signature);
            Finding {
                p_value: p,
                ..Finding::new(kind, scope, signature, bug, cells, alpha).of(prog)
            }
        };

    // Build: an ICE anywhere, or some toolchains build what others reject.
    let build_bad = |c: &CellReport| {
        c.outcomes.contains_key(&Class::BuildError) || c.outcomes.contains_key(&Class::Ice)
    };
    let built_ok =
        |c: &CellReport| !build_bad(c) && !c.outcomes.contains_key(&Class::Infra) || c.runs > 0;
    let any_ice = base.iter().any(|c| c.outcomes.contains_key(&Class::Ice));
    if any_ice || (base.iter().any(build_bad) && base.iter().any(|c| !build_bad(c) && built_ok(c)))
    {
        let mut cells = base.clone();
        for c in &mut cells {
            c.divergent = build_bad(c);
        }
        let sig = most_common_signature(recs.iter().filter(|r| {
            r.stage == Stage::Build && matches!(r.outcome, Class::Ice | Class::BuildError)
        }));
        let scope = scope_of(&cells, build_bad);
        out.push(mk(Kind::Build, cells, sig, None, scope));
    }

    // Crash and hang rates: toolchain questions on each arch, arch questions
    // for each toolchain (see `verdict`).
    let ids: Vec<verdict::CellId> = base
        .iter()
        .map(|c| verdict::CellId {
            toolchain: c.toolchain.clone(),
            arch: c.arch,
            executor: c.executor.clone(),
        })
        .collect();
    let tallies: Vec<verdict::Tally> = base.iter().map(tally).collect();
    let assessment = verdict::assess(&ids, &tallies, alpha, None);
    for v in &assessment.kinds {
        let Some(scope) = v.scope else { continue };
        let kind = match v.kind {
            BadKind::Crash => Kind::Crash,
            BadKind::Hang => Kind::Hang,
        };
        let mut cells = base.clone();
        for &i in &v.divergent {
            cells[i].divergent = true;
        }
        let div: BTreeSet<(String, Arch)> = cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| (c.toolchain.clone(), c.arch))
            .collect();
        let bad_runs = recs.iter().filter(|r| {
            r.stage == Stage::Run
                && div.contains(&(r.toolchain.clone(), r.arch))
                && v.kind.is_bad(r.outcome)
        });
        let sig = match v.kind {
            BadKind::Hang => consensus_hang_signature(
                &bad_runs.map(|r| r.signature.as_str()).collect::<Vec<_>>(),
            ),
            BadKind::Crash => most_common_signature(bad_runs),
        };
        // A program whose own two evaluations of an expression disagree
        // computed a wrong value: a miscompile, even where every cell agrees.
        let kind = if sig.contains(crate::gen::expr::SELF_CHECK) {
            Kind::WrongOutput
        } else {
            kind
        };
        let mut f = mk(kind, cells, sig, v.p, scope.name().to_string());
        f.threshold = Some(assessment.threshold);
        f.settled = v.settled;
        f.comparisons = v
            .comparisons
            .iter()
            .map(|c| ComparisonReport::of(c, &base))
            .collect();
        out.push(f);
    }

    // Wrong output: clean runs whose checksums differ between cells.
    let mut sums: BTreeMap<(String, Arch), BTreeSet<String>> = BTreeMap::new();
    for r in recs
        .iter()
        .filter(|r| r.stage == Stage::Run && r.outcome == Class::Ok)
    {
        if let Some(c) = &r.checksum {
            sums.entry((r.toolchain.clone(), r.arch))
                .or_default()
                .insert(c.clone());
        }
    }
    let distinct: BTreeSet<&String> = sums.values().flatten().collect();
    if distinct.len() > 1 {
        // The majority checksum is the reference: each toolchain and arch
        // votes once for each checksum it shows, its variant cells (`+noopt`,
        // `+lang`) with it. On a tie the unoptimised build's checksum wins: a
        // toolchain whose two builds disagree is blamed in its optimised cell.
        use crate::toolchain::registry::{base_name, split_noopt};
        let mut votes: BTreeMap<&String, BTreeSet<(&str, Arch)>> = BTreeMap::new();
        for ((tc, arch), set) in &sums {
            for s in set {
                votes.entry(s).or_default().insert((base_name(tc), *arch));
            }
        }
        let noopt_sums: BTreeSet<&String> = sums
            .iter()
            .filter(|((tc, _), _)| split_noopt(tc).is_some())
            .flat_map(|(_, s)| s)
            .collect();
        // Then a checksum of a natively run cell: an emulator is one more
        // thing that can be wrong (two archs, one native, one under qemu).
        let native_sums: BTreeSet<&String> = base
            .iter()
            .filter(|c| c.executor.ends_with("(native)"))
            .filter_map(|c| sums.get(&(c.toolchain.clone(), c.arch)))
            .flatten()
            .collect();
        let reference = votes
            .iter()
            .max_by_key(|(s, v)| {
                (
                    v.len(),
                    noopt_sums.contains(*s),
                    native_sums.contains(*s),
                    std::cmp::Reverse(**s),
                )
            })
            .map(|(s, _)| (*s).clone());
        let mut cells = base.clone();
        for c in &mut cells {
            if let Some(set) = sums.get(&(c.toolchain.clone(), c.arch)) {
                c.divergent = reference.as_ref().is_some_and(|r| !set.contains(r)) || set.len() > 1;
            }
        }
        let scope = scope_of(&cells, |c| c.divergent);
        out.push(mk(
            Kind::WrongOutput,
            cells,
            "checksum mismatch".into(),
            None,
            scope,
        ));
    }

    out
}

/// Merge findings with the same id (same kind, signature and divergent cells):
/// count them, keep the smallest program. Then merge findings of one kind
/// whose reduced programs (verified) have one shape: one root cause seen
/// under several signatures or on several cells; the one with the smallest
/// reduced program stays and names the others in `merged`. Most severe first.
pub fn dedup(findings: Vec<Finding>) -> Vec<Finding> {
    let mut m: BTreeMap<String, Finding> = BTreeMap::new();
    for f in findings {
        match m.get_mut(&f.id) {
            None => {
                m.insert(f.id.clone(), f);
            }
            Some(e) => absorb(e, f),
        }
    }
    let mut by_shape: BTreeMap<(u8, String), String> = BTreeMap::new();
    let mut v: Vec<Finding> = Vec::new();
    let mut ordered: Vec<Finding> = m.into_values().collect();
    // The smallest reduced program of a shape is its finding.
    ordered.sort_by_key(|f| f.reduced.as_ref().map_or(usize::MAX, |r| r.lines));
    for f in ordered {
        let shape = f
            .reduced
            .as_ref()
            .filter(|r| r.verified && f.is_new())
            .map(|r| (f.kind.severity(), r.shape.clone()));
        let into = shape.as_ref().and_then(|k| by_shape.get(k)).cloned();
        match into.and_then(|id| v.iter_mut().find(|g| g.id == id)) {
            Some(g) => {
                g.count += f.count;
                g.programs.extend(f.programs.iter().cloned());
                g.merged.push(f.id.clone());
                g.merged.extend(f.merged.iter().cloned());
            }
            None => {
                if let Some(k) = shape {
                    by_shape.insert(k, f.id.clone());
                }
                v.push(f);
            }
        }
    }
    v.sort_by(|a, b| {
        b.kind
            .severity()
            .cmp(&a.kind.severity())
            .then(b.count.cmp(&a.count))
            .then(a.id.cmp(&b.id))
    });
    v
}

/// Fold `f` into `e` (the same id): count it, keep the smaller program.
fn absorb(e: &mut Finding, f: Finding) {
    e.count += f.count;
    e.programs.extend(f.programs.iter().cloned());
    for id in &f.merged {
        if !e.merged.contains(id) {
            e.merged.push(id.clone());
        }
    }
    let size = |x: &Finding| x.source.as_ref().map_or(usize::MAX, |p| p.main_go.len());
    if size(&f) < size(e) {
        let (count, programs, merged) = (e.count, e.programs.clone(), e.merged.clone());
        // A finding is triaged once, on the first program that showed it:
        // the diagnosis stays with the bug; so is a reduction.
        let triage = e.triage.take();
        let reduced = e.reduced.take();
        *e = f;
        e.count = count;
        e.programs = programs;
        e.merged = merged;
        e.triage = e.triage.take().or(triage);
        e.reduced = e.reduced.take().or(reduced);
    } else {
        if e.triage.is_none() {
            e.triage = f.triage;
        }
        if e.reduced.is_none() {
            e.reduced = f.reduced;
        }
    }
}

#[cfg(test)]
mod tests {
    fn findings_for_program(prog: &Program, recs: &[Record]) -> Vec<Finding> {
        run_findings_at(prog, recs, verdict::DEFAULT_ALPHA)
    }

    use super::*;
    use crate::model::ExitStatus;

    fn prog() -> Program {
        Program {
            name: "seed-1".into(),
            main_go: "package main\n".into(),
            go_mod: "module x\n".into(),
            spec_json: None,
            template: Some("bigstack".into()),
            seed: Some(1),
            timeout: None,
            timeout_emulated: None,
            env: BTreeMap::new(),
        }
    }

    fn runs(tc: &str, arch: Arch, class: Class, n: u32, start: u32) -> Vec<Record> {
        (0..n)
            .map(|t| Record {
                stage: Stage::Run,
                program: "seed-1".into(),
                toolchain: tc.into(),
                arch,
                executor: format!("{arch} (test)"),
                trial: start + t,
                env: BTreeMap::new(),
                outcome: class,
                signature: if class == Class::Ok {
                    String::new()
                } else {
                    "fatal error: traceback did not unwind completely".into()
                },
                checksum: (class == Class::Ok).then(|| "00000000000000aa".to_string()),
                duration_ms: 10,
                exit: Some(ExitStatus::Code(if class == Class::Ok { 0 } else { 2 })),
                timeout_ms: Some(1000),
                peak_rss: None,
                log: None,
                scan: None,
            })
            .collect()
    }

    fn cell(tc: &str, arch: Arch, crashes: u32, of: u32) -> Vec<Record> {
        let mut v = runs(tc, arch, Class::Fatal, crashes, 0);
        v.extend(runs(tc, arch, Class::Ok, of - crashes, crashes));
        v
    }

    #[test]
    fn one_in_twenty_is_noise_twelve_in_twenty_is_a_finding() {
        let mut recs = cell("go1.23.11", Arch::Arm64, 1, 20);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 20));
        assert!(findings_for_program(&prog(), &recs).is_empty());

        let mut recs = cell("go1.23.11", Arch::Arm64, 12, 20);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 20));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, Kind::Crash);
        assert!(f[0].p_value.unwrap() < verdict::DEFAULT_ALPHA);
        let div: Vec<_> = f[0].cells.iter().filter(|c| c.divergent).collect();
        assert_eq!(div.len(), 1);
        assert_eq!(
            (div[0].toolchain.as_str(), div[0].arch),
            ("go1.23.11", Arch::Arm64)
        );
        assert_eq!(div[0].outcomes[&Class::Fatal], 12);
        assert_eq!(
            f[0].signature,
            "fatal error: traceback did not unwind completely"
        );
    }

    #[test]
    fn scopes_and_kinds() {
        // Every arm64 cell crashes, no amd64 cell does: cross-arch.
        let mut recs = cell("go1.23.11", Arch::Arm64, 8, 8);
        recs.extend(cell("go1.23.12", Arch::Arm64, 8, 8));
        recs.extend(cell("go1.23.11", Arch::Amd64, 0, 8));
        recs.extend(cell("go1.23.12", Arch::Amd64, 0, 8));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].scope, "cross-arch");
        // Every cell crashes: still news.
        let mut recs = cell("go1.23.11", Arch::Amd64, 2, 2);
        recs.extend(cell("go1.25.0", Arch::Amd64, 2, 2));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(
            (f.len(), f[0].scope.as_str(), f[0].kind),
            (1, "all", Kind::Crash)
        );
        assert_eq!(f[0].p_value, None);
        // Both exit 0 with different checksums: wrong output.
        let mut recs = runs("go1.23.11", Arch::Amd64, Class::Ok, 2, 0);
        let mut other = runs("go1.25.0", Arch::Amd64, Class::Ok, 2, 0);
        for r in &mut other {
            r.checksum = Some("00000000000000bb".into());
        }
        recs.append(&mut other);
        recs.extend(runs("go1.23.12", Arch::Amd64, Class::Ok, 2, 0));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, Kind::WrongOutput);
        let div: Vec<_> = f[0]
            .cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| c.toolchain.as_str())
            .collect();
        assert_eq!(div, vec!["go1.25.0"]);
    }

    /// Checksums of a toolchain's optimised build and its `+noopt` cell.
    #[test]
    fn a_difference_from_the_unoptimised_build_has_scope_opt() {
        let ok = |tc: &str, sum: &str| {
            let mut v = runs(tc, Arch::Amd64, Class::Ok, 2, 0);
            for r in &mut v {
                r.checksum = Some(sum.into());
            }
            v
        };
        let divergent = |f: &Finding| -> BTreeSet<String> {
            f.cells
                .iter()
                .filter(|c| c.divergent)
                .map(|c| c.toolchain.clone())
                .collect()
        };
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        // The toolchain and its unoptimised cell alone, a tie: the
        // unoptimised build is the reference, whichever checksum sorts first.
        for (opt, noopt) in [("aa", "bb"), ("bb", "aa")] {
            let mut recs = ok("go1.25.14", opt);
            recs.extend(ok("go1.25.14+noopt", noopt));
            let f = findings_for_program(&prog(), &recs);
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!((f[0].kind, f[0].scope.as_str()), (Kind::WrongOutput, "opt"));
            assert_eq!(divergent(&f[0]), set(&["go1.25.14"]));
        }
        // Beside another toolchain the majority decides: here the optimised
        // build agrees with go1.25.13, so the unoptimised cell is blamed.
        let mut recs = ok("go1.25.13", "aa");
        recs.extend(ok("go1.25.14", "aa"));
        recs.extend(ok("go1.25.14+noopt", "bb"));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!((f.len(), f[0].scope.as_str()), (1, "opt"));
        assert_eq!(divergent(&f[0]), set(&["go1.25.14+noopt"]));
        // A toolchain whose both builds differ from another toolchain: a
        // toolchain finding, not an opt one.
        let mut recs = ok("go1.25.13", "aa");
        recs.extend(ok("go1.23.12", "aa"));
        recs.extend(ok("go1.25.14", "bb"));
        recs.extend(ok("go1.25.14+noopt", "bb"));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!((f.len(), f[0].scope.as_str()), (1, "toolchain"));
        assert_eq!(divergent(&f[0]), set(&["go1.25.14", "go1.25.14+noopt"]));
    }

    /// The cell tables of two false "toolchain" findings seen under qemu
    /// (two adjacent patch releases, both with the unfixed leaf-function
    /// split-SP window), and the table of a time-to-detect run that stopped
    /// on one. None of them is a toolchain divergence: the arm64 pairs do
    /// not differ significantly, and the bug shows on arm64 only.
    #[test]
    fn arm64_rate_noise_is_not_a_toolchain_finding() {
        let table = |a_bad: u32, b_bad: u32| {
            let mut recs = cell("go1.25.13", Arch::Arm64, a_bad, 5);
            recs.extend(cell("go1.25.14", Arch::Arm64, b_bad, 5));
            recs.extend(cell("go1.25.13", Arch::Amd64, 0, 20));
            recs.extend(cell("go1.25.14", Arch::Amd64, 0, 20));
            findings_for_program(&prog(), &recs)
        };
        // A/arm64 fatal 3 ok 2, B/arm64 fatal 1 ok 4: both arm64 cells show
        // it, amd64 never does: cross-arch.
        let f = table(3, 1);
        assert!(f.iter().all(|f| f.scope != "toolchain"), "{f:#?}");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].scope, "cross-arch");
        let div: Vec<_> = f[0]
            .cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| c.arch)
            .collect();
        assert_eq!(div, vec![Arch::Arm64, Arch::Arm64]);
        // A/arm64 ok 5, B/arm64 fatal 3 ok 2: an arch divergence of B, no
        // significant toolchain difference (0/5 vs 3/5, p = 0.17).
        let f = table(0, 3);
        assert!(f.iter().all(|f| f.scope != "toolchain"), "{f:#?}");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].scope, "arch");
        // The same with the cells swapped.
        let f = table(3, 0);
        assert!(f.iter().all(|f| f.scope != "toolchain"), "{f:#?}");
        // go1.23.11/arm64 signal 3 ok 2, go1.23.12/arm64 signal 2 ok 3.
        let f = table(3, 2);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].scope, "cross-arch");
    }

    #[test]
    fn a_toolchain_divergence_on_one_arch_is_still_found() {
        // golang/go#73259: go1.23.11/arm64 crashes, go1.23.12/arm64 does
        // not, amd64 clean.
        let mut recs = cell("go1.23.11", Arch::Arm64, 6, 6);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 8));
        recs.extend(cell("go1.23.11", Arch::Amd64, 0, 20));
        recs.extend(cell("go1.23.12", Arch::Amd64, 0, 20));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].scope, "toolchain");
        let div: Vec<_> = f[0]
            .cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| (c.toolchain.as_str(), c.arch))
            .collect();
        assert_eq!(div, vec![("go1.23.11", Arch::Arm64)]);
        let t = f[0].threshold.unwrap();
        assert!(f[0].p_value.unwrap() < t && t <= verdict::DEFAULT_ALPHA);
        assert!(f[0].settled);
        // Its comparisons name the cells.
        assert!(f[0].comparisons.iter().any(|c| c.significant
            && c.worse == "go1.23.11/arm64"
            && c.better == "go1.23.12/arm64"));
        // With 5 vs 5 trials the same rates are not yet significant once the
        // four questions are corrected for: no finding, not a guess.
        let mut recs = cell("go1.23.11", Arch::Arm64, 5, 5);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 5));
        recs.extend(cell("go1.23.11", Arch::Amd64, 0, 20));
        recs.extend(cell("go1.23.12", Arch::Amd64, 0, 20));
        let f = findings_for_program(&prog(), &recs);
        assert!(f.iter().all(|f| f.scope != "toolchain"), "{f:#?}");
    }

    /// One bug, one signature: 20 hang dumps of the go1.14.1 timer deadlock
    /// (golang/go#38023, go-corpus/timer-reset-38023), three of whose dumps
    /// also caught an incidental goroutine, give the finding the stuck
    /// goroutine's frames alone.
    #[test]
    fn a_hang_finding_is_named_by_what_its_runs_share() {
        let stuck = "runtime.wakeNetPoller < runtime.addInitializedTimer < runtime.modtimer";
        let mut recs = cell("go1.14.2", Arch::Amd64, 0, 20);
        let hang = |t: u32, sig: String| {
            let mut r = runs("go1.14.1", Arch::Amd64, Class::Hang, 1, t).remove(0);
            r.signature = sig;
            r
        };
        for t in 0..17 {
            recs.push(hang(t, format!("hang: {stuck}")));
        }
        recs.push(hang(
            17,
            format!("hang: runtime.modtimer < runtime.resettimer < time.resetTimer; {stuck}"),
        ));
        recs.push(hang(
            18,
            format!("hang: runtime.semrelease1 < runtime.semrelease < runtime.gcStart; {stuck}"),
        ));
        recs.push(hang(19, format!("hang: main.spinner; {stuck}")));
        let f = findings_for_program(&prog(), &recs);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].kind, Kind::Hang);
        assert_eq!(f[0].signature, format!("hang: {stuck}"));
        assert_eq!(
            f[0].bug,
            "hang: runtime.wakeNetPoller < runtime.addInitializedTimer"
        );
    }

    #[test]
    fn infra_is_never_a_finding() {
        let mut recs = runs("go1.23.11", Arch::Arm64, Class::Infra, 1, 0);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 3));
        assert!(findings_for_program(&prog(), &recs).is_empty());
    }

    #[test]
    fn dedup_counts_and_keeps_the_smallest_program() {
        let mut recs = cell("go1.23.11", Arch::Arm64, 12, 20);
        recs.extend(cell("go1.23.12", Arch::Arm64, 0, 20));
        let mut small = prog();
        small.name = "seed-9".into();
        let mut big = prog();
        big.main_go = "package main\n// a longer program\n".into();
        let mut a = findings_for_program(&big, &recs);
        let mut b = findings_for_program(&small, &recs);
        b[0].program = "seed-9".into();
        b[0].programs = vec!["seed-9".into()];
        // The first (bigger) program's finding was triaged, the second's not.
        a[0].triage = Some(crate::oracle::triage::judge(
            "go1.23.11/arm64",
            (12, 20),
            &[],
            0.01,
        ));
        a.append(&mut b);
        let d = dedup(a);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].count, 2);
        assert_eq!(d[0].program, "seed-9");
        assert_eq!(d[0].programs.len(), 2);
        let t = d[0]
            .triage
            .as_ref()
            .expect("the triage stays with the finding");
        assert_eq!(t.cell, "go1.23.11/arm64");
    }

    #[test]
    fn findings_whose_reduced_programs_share_a_shape_are_one() {
        use crate::gen::shape::shape_key;
        let reduced = |src: &str, lines: usize, verified: bool| Reduced {
            from_lines: 100,
            lines,
            shape: shape_key(src),
            verified,
            seconds: 1.0,
        };
        let shift_a = "package main\nfunc f(x uint32) uint32 { return (x + x) << 3 }\n";
        let shift_b = "package main\nfunc g(y uint32) uint32 { return (y + y) << 9 }\n";
        let other = "package main\nfunc f(x uint32) uint32 { return x >> 3 }\n";
        let mk = |sig: &str, prog_name: &str, r: Option<Reduced>| {
            let mut cells = cell_reports(&runs("go1.25.9", Arch::Amd64, Class::Ok, 2, 0));
            cells[0].divergent = true;
            let mut p = prog();
            p.name = prog_name.into();
            Finding {
                reduced: r,
                ..Finding::new(
                    Kind::Crash,
                    "toolchain".into(),
                    sig.into(),
                    sig.into(),
                    cells,
                    0.01,
                )
                .of(&p)
            }
        };
        let d = dedup(vec![
            mk("panic: a", "seed-1", Some(reduced(shift_a, 9, true))),
            mk("panic: b", "seed-2", Some(reduced(shift_b, 7, true))),
            mk("panic: c", "seed-3", Some(reduced(other, 5, true))),
            // Not verified: kept apart, whatever its shape.
            mk("panic: d", "seed-4", Some(reduced(shift_a, 3, false))),
            mk("panic: e", "seed-5", None),
        ]);
        assert_eq!(d.len(), 4, "{d:#?}");
        let merged = d.iter().find(|f| f.count == 2).expect("a merged finding");
        assert_eq!(
            merged.signature, "panic: b",
            "the smaller reduced program stays"
        );
        assert_eq!(
            merged.programs,
            vec!["seed-2".to_string(), "seed-1".to_string()]
        );
        assert_eq!(merged.merged.len(), 1);
        assert!(d.iter().all(|f| f.signature != "panic: a"));
    }
}
