//! `divergo reduce findings/<id>`: shrink a finding's program while it still
//! shows the same divergence.
//!
//! Interesting = the same finding again: the same kind on the same divergent
//! cells, still significant by the verdict rules (the replay trials), and
//! the same bug key. A candidate that fails some other way is rejected and
//! the log says so; one that does not build on every toolchain of the
//! finding is rejected before any trial runs.
//!
//! Stage 1 shrinks the stored generator spec (`gen::shrink_candidates`);
//! stage 2 cuts the Go source (`gen::reduce_src`). Each accepted candidate
//! becomes the new program; a pass that accepts nothing ends a stage. The
//! result goes to `findings/<id>/reduced/`: main.go, go.mod, repro.sh and
//! reduce.log.

use crate::commands::replay::Reproduction;
use crate::engine::build::{self, BuildRequest};
use crate::engine::results;
use crate::error::{EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK};
use crate::exec;
use crate::gen::{self, reduce_src, ProgramSpec};
use crate::model::{Class, Program};
use crate::report::reproducer;
use crate::toolchain::registry;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to reduce and how long for.
#[derive(Clone, Debug)]
pub struct Request {
    pub dir: PathBuf,
    pub budget: Duration,
    pub trials: Option<u32>,
    pub jobs: usize,
    /// No progress or lines on stderr (a reduction inside `run`).
    pub quiet: bool,
}

/// How a reduction ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The exit status of `divergo reduce`: 0 reduced and verified, 1 not
    /// reproduced (at the start or in the final check), 130 interrupted.
    pub code: i32,
    /// Non-blank lines at the start and at the end.
    pub from_lines: usize,
    pub lines: usize,
    /// The reduced program (findings/<id>/reduced/main.go), when there is one.
    pub main_go: Option<String>,
    pub verified: bool,
    pub seconds: f64,
}

/// The reduction so far.
struct State {
    /// `findings/<id>/reduced/`: the smallest program so far is kept there
    /// after each accepted step, so an interrupted reduction loses nothing.
    out: PathBuf,
    program: Program,
    spec: Option<ProgramSpec>,
    log: String,
    trials: usize,
    tried: usize,
    accepted: usize,
    rejected_build: usize,
    rejected_other_bug: usize,
    rejected_gone: usize,
    rejected_rate: usize,
    /// Bad runs and runs of the divergent cells when the reduction began:
    /// a candidate must not fail significantly less often than that.
    start_rate: Option<(u32, u32)>,
    /// Bug keys the start's failed runs showed: a candidate may show these
    /// (and the finding's), no others.
    start_bugs: BTreeSet<String>,
}

impl State {
    fn lines(&self) -> usize {
        reduce_src::non_blank_lines(&self.program.main_go)
    }

    /// One line of reduce.log: the time since `t0`, the verdict on the
    /// candidate `what`, and why.
    fn step(&mut self, t0: Instant, verdict: &str, what: &str, why: &str) {
        let _ = writeln!(
            self.log,
            "[{:>5.0} s] {verdict:<9} {what}: {why}",
            t0.elapsed().as_secs_f64()
        );
    }

    /// Keep the program so far, with the log, marked as not yet verified.
    fn save_progress(&self) -> Result<()> {
        fs::create_dir_all(&self.out)
            .with_context(|| format!("cannot create {}", self.out.display()))?;
        results::write_atomic(&self.out.join("main.go"), self.program.main_go.as_bytes())?;
        results::write_atomic(&self.out.join("go.mod"), self.program.go_mod.as_bytes())?;
        let log = format!(
            "{}(in progress: the smallest program so far, not yet verified once more)\n",
            self.log
        );
        results::write_atomic(&self.out.join("reduce.log"), log.as_bytes())
    }
}

/// A candidate must keep at least this share of the start's failure rate:
/// one whose rate looks lower (binomial lower tail against that share below
/// [`RATE_RETEST`]) is tested once more and rejected when the pooled counts
/// are lower at [`RATE_ALPHA`]. A share, not the start's rate itself: cuts
/// that change nothing but a little of the time spent next to the window
/// move a 100% crash to 85%, which is still the bug, and comparing with
/// the start (not the last step) keeps a reduction from drifting. With a
/// start of 0.75 and 8 trials a test, exact binomial sums give: a candidate
/// failing as often, or 0.85 times as often, is rejected about 1 time in
/// 1000; one failing 0.4 times as often 38% of the time, 0.25 times 76%.
const RATE_SHARE: f64 = 2.0 / 3.0;
const RATE_RETEST: f64 = 0.3;
const RATE_ALPHA: f64 = 0.1;

/// Tests of the start program pooled for its rate (a rate from one test of
/// 8 trials is too rough to compare candidates with).
const START_TESTS: usize = 3;

/// Timeouts for the candidates (native, emulated): a cut program does no
/// more work than the start, so a run 5 times longer than the start's
/// slowest clean run on its kind of executor is a hang. Without this a
/// candidate that never ends costs the generous first-run timeout on every
/// trial (ten minutes under qemu). None where the start had no clean run.
fn candidate_timeouts(
    rep: &Reproduction,
    recs: &[crate::model::Record],
) -> (Option<Duration>, Option<Duration>) {
    let slowest = |emulated: bool| {
        recs.iter()
            .filter(|r| r.stage == crate::model::Stage::Run && r.outcome == Class::Ok)
            .filter(|r| {
                rep.cells.iter().any(|c| {
                    c.toolchain.name == r.toolchain
                        && c.arch == r.arch
                        && c.executor.as_ref().is_ok_and(|e| e.is_emulated()) == emulated
                })
            })
            .map(|r| Duration::from_millis(r.duration_ms))
            .max()
    };
    let bound = |d: Duration, floor: u64| (d * 5).max(Duration::from_secs(floor));
    (
        slowest(false).map(|d| bound(d, 10)),
        slowest(true).map(|d| bound(d, 60)),
    )
}

/// Repairs of one candidate's build errors, at most.
const MAX_REPAIRS: usize = 4;

/// Build `main_go` with the first toolchain of the finding for its arch: a
/// cheap check before any trial. Repairs unused imports and variables (up to
/// [`MAX_REPAIRS`] builds more).
/// The program a spec renders to, with the rest of `base` (its name, seed).
fn rendered(spec: &ProgramSpec, base: &Program) -> Program {
    let p = gen::render(spec);
    Program {
        main_go: p.main_go,
        go_mod: p.go_mod,
        spec_json: serde_json::to_string_pretty(spec).ok(),
        ..base.clone()
    }
}

fn compile(rep: &Reproduction, dir: &Path, prog: &Program) -> Result<Result<String, String>> {
    let cell = &rep.cells[0];
    let mut src = prog.main_go.clone();
    // Each repair fixes what one build reported; a cut can need a few in a
    // row (an unused variable, then the import only it used).
    for _ in 0..MAX_REPAIRS + 1 {
        let sdir = dir.join("check");
        let _ = fs::remove_dir_all(&sdir);
        fs::create_dir_all(&sdir)?;
        fs::write(sdir.join("main.go"), &src)?;
        let go_mod = match &cell.toolchain.lang {
            Some(l) => crate::engine::pipeline::with_go_line(&prog.go_mod, l),
            None => prog.go_mod.clone(),
        };
        fs::write(sdir.join("go.mod"), go_mod)?;
        let home = registry::home();
        let r = build::build(&BuildRequest {
            src_dir: sdir.clone(),
            goroot: cell.toolchain.goroot.clone(),
            arch: cell.arch,
            out: sdir.join("prog"),
            gocache: registry::gocache(&home, &cell.toolchain.name),
            gopath: home.join("gopath"),
            timeout: Duration::from_secs(120),
            noopt: cell.toolchain.noopt,
            mode: cell.toolchain.mode,
        });
        if r.outcome.class == Class::Ok {
            return Ok(Ok(src));
        }
        match reduce_src::drop_unused_imports(&src, &r.log)
            .or_else(|| reduce_src::drop_unused_vars(&src, &r.log))
        {
            Some(fixed) => src = fixed,
            None => return Ok(Err(r.outcome.signature)),
        }
    }
    Ok(Err("unused imports or variables remain".into()))
}

/// Try one candidate; keep it when it is interesting.
fn attempt(
    rep: &Reproduction,
    scratch: &Path,
    st: &mut State,
    what: &str,
    mut cand: Program,
    spec: Option<ProgramSpec>,
    t0: Instant,
) -> Result<bool> {
    st.tried += 1;
    let before = st.lines();
    match compile(rep, scratch, &cand)? {
        Ok(src) => cand.main_go = src,
        Err(why) => {
            st.rejected_build += 1;
            let first = why.lines().next().unwrap_or("");
            st.step(t0, "rejected", what, &format!("does not build ({first})"));
            return Ok(false);
        }
    }
    let after = reduce_src::non_blank_lines(&cand.main_go);
    if after > before || (after == before && cand.main_go.len() >= st.program.main_go.len()) {
        return Ok(false);
    }
    if rep.windows_remain(&cand)? == Some(false) {
        st.rejected_gone += 1;
        let why = "the window the crash was confirmed by is gone (builds only, 0 trials)";
        st.step(t0, "rejected", what, why);
        return Ok(false);
    }
    let started = Instant::now();
    let mut allowed = st.start_bugs.clone();
    allowed.insert(rep.finding.bug.clone());
    let t = rep.test_allowing(&cand, Some(&allowed))?;
    let trials = t.trials();
    st.trials += trials;
    let secs = started.elapsed().as_secs_f64();
    // A cut can keep the finding's crash on its cells and make another bug
    // appear anywhere (the clean cell hangs once a loop's exit is cut): a
    // failure the start never showed, under another bug key, is a
    // different bug slipping in, whatever the finding's own cells say.
    let new_bugs = t.bugs_outside(&allowed);
    if !new_bugs.is_empty() {
        st.rejected_other_bug += 1;
        let cells = rep.cell_lines(&t.records).join("; ");
        let why = format!(
            "a different bug also shows ({}; {cells}) ({trials} trials)",
            new_bugs.join(", ")
        );
        st.step(t0, "rejected", what, &why);
        return Ok(false);
    }
    if let (true, Some((b0, n0)), Some((mut b, mut n))) = (
        t.same_bug(&rep.finding),
        st.start_rate,
        t.divergent_rate(&rep.finding),
    ) {
        // Compared with the start, not the last step, so a reduction cannot
        // drift step by step to a program that fails too rarely to show.
        use crate::oracle::verdict::binomial_lower;
        let q = RATE_SHARE * b0 as f64 / n0.max(1) as f64;
        let mut trials = trials;
        let mut p = binomial_lower(b, n, q);
        if p < RATE_RETEST {
            let again = rep.test_allowing(&cand, Some(&allowed))?;
            trials += again.trials();
            st.trials += again.trials();
            if let Some((b2, n2)) = again.divergent_rate(&rep.finding) {
                (b, n) = (b + b2, n + n2);
                p = binomial_lower(b, n, q);
            }
            if !again.bugs_outside(&allowed).is_empty() {
                st.rejected_other_bug += 1;
                let why = format!("a different bug also shows on a retest ({trials} trials)");
                st.step(t0, "rejected", what, &why);
                return Ok(false);
            }
        }
        if p < RATE_ALPHA {
            st.rejected_rate += 1;
            let why = format!(
                "fails less often ({b} of {n} against {b0} of {n0} at the start; below 2/3 of it, p = {p:.1e}) ({trials} trials)"
            );
            st.step(t0, "rejected", what, &why);
            return Ok(false);
        }
    }
    if t.same_bug(&rep.finding) {
        st.accepted += 1;
        let why = format!("{before} -> {after} lines ({trials} trials, {secs:.0} s)");
        st.step(t0, "accepted", what, &why);
        st.program = cand;
        if spec.is_some() {
            st.spec = spec;
        }
        st.save_progress()?;
        return Ok(true);
    }
    if let Some(f) = &t.same {
        st.rejected_other_bug += 1;
        let why = format!("a different bug ({}) ({trials} trials)", f.bug);
        st.step(t0, "rejected", what, &why);
    } else {
        st.rejected_gone += 1;
        let cells = rep.cell_lines(&t.records).join("; ");
        let why = format!("divergence not shown ({cells}) ({trials} trials)");
        st.step(t0, "rejected", what, &why);
    }
    Ok(false)
}

/// `divergo reduce`: the reduction, its exit status.
pub fn reduce(req: &Request) -> Result<i32> {
    run(req).map(|o| o.code)
}

/// Reduce a finding's program (see the module doc).
pub fn run(req: &Request) -> Result<Outcome> {
    let say = |line: String| {
        if !req.quiet {
            eprintln!("{line}");
        }
    };
    let ended = |code: i32, from: usize, lines: usize, verified: bool| Outcome {
        code,
        from_lines: from,
        lines,
        main_go: None,
        verified,
        seconds: 0.0,
    };
    let t0 = Instant::now();
    let stored = reproducer::load(&req.dir)?;
    let out = req.dir.join("reduced");
    let scratch = req.dir.join(".reduce-work");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
    let mut rep = Reproduction::new(
        stored.finding.clone(),
        stored.env.clone(),
        stored.emulated_cpus,
        &scratch,
        req.trials,
        req.jobs,
    )?;
    let f = &rep.finding;
    let spec: Option<ProgramSpec> = stored
        .program
        .spec_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok());
    let mut st = State {
        out: out.clone(),
        program: stored.program.clone(),
        spec,
        log: String::new(),
        trials: 0,
        tried: 0,
        accepted: 0,
        rejected_build: 0,
        rejected_other_bug: 0,
        rejected_gone: 0,
        rejected_rate: 0,
        start_rate: None,
        start_bugs: BTreeSet::new(),
    };
    let start_lines = st.lines();
    say(format!(
        "reducing {} ({:?}, bug {}) on {} cell(s): {start_lines} lines, budget {} s",
        f.id,
        f.kind,
        f.bug,
        rep.cells.len(),
        req.budget.as_secs()
    ));
    let _ = writeln!(
        st.log,
        "divergo reduce {}: {:?}, bug {:?}, cells {}\nstart: {start_lines} non-blank lines",
        f.id,
        f.kind,
        f.bug,
        rep.cells
            .iter()
            .map(|c| format!("{}/{}", c.toolchain.name, c.arch))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // An earlier reduction of this finding (finished or not) is where this
    // one starts, if it still shows the finding; else the original is.
    let mut first = None;
    if let (Ok(main_go), Ok(go_mod)) = (
        fs::read_to_string(out.join("main.go")),
        fs::read_to_string(out.join("go.mod")),
    ) {
        let earlier = Program {
            main_go,
            go_mod,
            spec_json: fs::read_to_string(out.join("spec.json")).ok(),
            ..stored.program.clone()
        };
        let t = rep.test(&earlier)?;
        st.trials += t.trials();
        let lines = reduce_src::non_blank_lines(&earlier.main_go);
        // Only the finding's bug may show in it: an earlier reduction made
        // before a check existed may carry another one.
        let others = t.bugs_outside(&BTreeSet::from([f.bug.clone()]));
        let usable = t.same_bug(f) && others.is_empty();
        let _ = writeln!(
            st.log,
            "earlier reduction in {} ({lines} lines): {}",
            out.display(),
            if usable {
                "reproduces; starting from it".to_string()
            } else if t.same_bug(f) {
                format!(
                    "shows another bug too ({}); starting from the original",
                    others.join(", ")
                )
            } else {
                "does not reproduce; starting from the original".to_string()
            }
        );
        if usable {
            say(format!(
                "starting from the earlier reduction ({lines} lines)"
            ));
            st.spec = earlier
                .spec_json
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok());
            st.program = earlier;
            first = Some(t);
        }
    }
    // The start must reproduce, or nothing can be judged.
    let mut first = match first {
        Some(t) => t,
        None => {
            let t = rep.test(&st.program)?;
            st.trials += t.trials();
            t
        }
    };
    // A rate finding can miss significance on one test by bad luck (6 of 8
    // in the run, 4 of 8 now): once more with twice the trials, which the
    // candidates then get too, before giving up.
    if !first.same_bug(f) && first.divergent_rate(f).is_some() && !exec::interrupted() {
        let before = rep.cell_lines(&first.records).join("; ");
        rep.max_trials *= 2;
        let t = rep.test(&st.program)?;
        st.trials += t.trials();
        let _ = writeln!(
            st.log,
            "start not significant in {} trials a cell ({before}); again with {}: {}",
            rep.max_trials / 2,
            rep.max_trials,
            if t.same_bug(f) {
                "reproduces"
            } else {
                "does not reproduce"
            }
        );
        first = t;
    }
    st.start_rate = first.divergent_rate(f);
    st.start_bugs = first.failure_bugs();
    if first.same_bug(f) && st.start_rate.is_some() {
        // More tests of the start for a rate to compare candidates with.
        for _ in 1..START_TESTS {
            if exec::interrupted() {
                break;
            }
            let t = rep.test(&st.program)?;
            st.trials += t.trials();
            if let (Some((b0, n0)), Some((b, n))) = (st.start_rate, t.divergent_rate(f)) {
                st.start_rate = Some((b0 + b, n0 + n));
            }
            st.start_bugs.extend(t.failure_bugs());
        }
        if let Some((b0, n0)) = st.start_rate {
            let _ = writeln!(
                st.log,
                "start rate: {b0} of {n0} runs bad on the divergent cells"
            );
        }
    }
    if st.program.timeout.is_none() {
        let (native, emulated) = candidate_timeouts(&rep, &first.records);
        st.program.timeout = native;
        st.program.timeout_emulated = emulated;
    }
    if exec::interrupted() {
        return Ok(ended(EXIT_INTERRUPTED, start_lines, st.lines(), false));
    }
    if !first.same_bug(f) {
        say(format!(
            "the finding does not reproduce on its own program ({}): nothing to reduce",
            rep.cell_lines(&first.records).join("; ")
        ));
        return Ok(ended(EXIT_FINDINGS, start_lines, start_lines, false));
    }
    let bar = if req.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    bar.enable_steady_tick(Duration::from_millis(250));
    let over = |t0: Instant| t0.elapsed() >= req.budget || exec::interrupted();
    let status = |bar: &indicatif::ProgressBar, st: &State, stage: &str| {
        bar.set_message(format!(
            "{stage}: {} lines, {} candidates tried, {} accepted, {} trials",
            st.lines(),
            st.tried,
            st.accepted,
            st.trials
        ))
    };

    // Stage 1: the generator spec. First, where the finding has static
    // windows, the program focused on the functions that carry them (one
    // candidate that drops everything else at once).
    let windowed: BTreeSet<String> = f
        .static_windows
        .iter()
        .map(|w| w.window.function.clone())
        .collect();
    if let Some(focused) = st.spec.as_ref().and_then(|s| s.focus_windows(&windowed)) {
        if !over(t0) {
            status(&bar, &st, "spec");
            let prog = rendered(&focused, &st.program);
            attempt(
                &rep,
                &scratch,
                &mut st,
                "spec focus on the windows",
                prog,
                Some(focused),
                t0,
            )?;
        }
    }
    'spec: while let Some(spec) = st.spec.clone() {
        for cand in gen::shrink_candidates(&spec) {
            if over(t0) {
                break 'spec;
            }
            status(&bar, &st, "spec");
            let prog = rendered(&cand, &st.program);
            if attempt(&rep, &scratch, &mut st, "spec shrink", prog, Some(cand), t0)? {
                continue 'spec;
            }
        }
        break;
    }
    // Stage 2: the source.
    let mut pass_accepted = true;
    while pass_accepted && !over(t0) {
        pass_accepted = false;
        let mut k = 0;
        loop {
            let cands = reduce_src::candidates(&st.program.main_go);
            if k >= cands.len() || over(t0) {
                break;
            }
            status(&bar, &st, "source");
            let prog = Program {
                main_go: cands[k].clone(),
                spec_json: None,
                ..st.program.clone()
            };
            if attempt(
                &rep,
                &scratch,
                &mut st,
                &format!("source cut {k}"),
                prog,
                None,
                t0,
            )? {
                pass_accepted = true;
                // Candidates of the smaller program start over from here.
            } else {
                k += 1;
            }
        }
    }
    bar.finish_and_clear();
    if exec::interrupted() {
        let _ = fs::remove_dir_all(&scratch);
        if st.accepted > 0 {
            say(format!(
                "interrupted: the smallest program so far ({} lines, not verified once more) is in {}",
                st.lines(),
                out.display()
            ));
        }
        return Ok(ended(EXIT_INTERRUPTED, start_lines, st.lines(), false));
    }
    let end_lines = st.lines();
    // The result, verified once more; its records make repro.sh.
    let last = rep.test(&st.program)?;
    st.trials += last.trials();
    let verified = last.same_bug(f);
    let _ =
        writeln!(
        st.log,
        "end: {start_lines} -> {end_lines} non-blank lines in {:.0} s; {} candidates tried, {} \
         accepted; rejected: {} did not build, {} showed a different bug, {} lost the divergence, \
         {} failed less often; {} trials in all\nfinal check: {} ({})",
        t0.elapsed().as_secs_f64(),
        st.tried,
        st.accepted,
        st.rejected_build,
        st.rejected_other_bug,
        st.rejected_gone,
        st.rejected_rate,
        st.trials,
        if verified { "reproduced" } else { "NOT reproduced" },
        rep.cell_lines(&last.records).join("; ")
    );
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    results::write_atomic(&out.join("main.go"), st.program.main_go.as_bytes())?;
    results::write_atomic(&out.join("go.mod"), st.program.go_mod.as_bytes())?;
    if let Some(spec) = &st.program.spec_json {
        results::write_atomic(&out.join("spec.json"), spec.as_bytes())?;
    }
    let now = last.same.clone().unwrap_or_else(|| f.clone());
    let script = reproducer::repro_script(
        &now,
        &rep.cells,
        &last.records,
        rep.max_trials,
        rep.emulated_cpus(),
    );
    let rp = out.join("repro.sh");
    results::write_atomic(&rp, script.as_bytes())?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&rp, fs::Permissions::from_mode(0o755))?;
    }
    results::write_atomic(&out.join("reduce.log"), st.log.as_bytes())?;
    let _ = fs::remove_dir_all(&scratch);
    say(format!(
        "reduced {start_lines} -> {end_lines} lines in {:.0} s ({} candidates, {} trials); {}; \
         written to {}",
        t0.elapsed().as_secs_f64(),
        st.tried,
        st.trials,
        if verified {
            "the reduced program reproduces the finding"
        } else {
            "the reduced program did NOT reproduce in the final check"
        },
        out.display()
    ));
    Ok(Outcome {
        code: if verified { EXIT_OK } else { EXIT_FINDINGS },
        from_lines: start_lines,
        lines: end_lines,
        main_go: Some(st.program.main_go.clone()),
        verified,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
