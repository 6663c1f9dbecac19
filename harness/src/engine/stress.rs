//! `divergo stress`: run one command again and again in parallel under
//! divergo's process rules (its own process group; on timeout SIGQUIT, a
//! grace period, then SIGKILL of the group; output head and tail kept),
//! classify every run like a generated program's, and group the failures by
//! signature with their rate and its confidence interval.
//!
//! Plain data in ([`Request`]), plain data out ([`Outcome`]); progress goes
//! to a callback. Each run gets `DIVERGO_STRESS_RUN=<n>` (0-based) in its
//! environment, so a script can tell its runs apart.

use crate::engine::executor::Executor;
use crate::exec::{self, ExecSpec};
use crate::model::{Class, ExitStatus};
use crate::oracle::classify::{classify_run, RunEvidence};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable holding the run's index.
pub const RUN_VAR: &str = "DIVERGO_STRESS_RUN";

/// What to stress and when to stop.
#[derive(Clone, Debug)]
pub struct Request {
    /// The command and its arguments (`program` found on PATH already).
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Variables set on top of divergo's own environment (the knobs).
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// Runs at once.
    pub jobs: usize,
    /// Stop after this many runs.
    pub max_runs: Option<u64>,
    /// Start no run after this instant.
    pub deadline: Option<Instant>,
    /// Stop once this many (not ignored) failures were seen.
    pub max_failures: Option<u64>,
    /// A run longer than this is killed (SIGQUIT, then SIGKILL) and classified `hang`.
    pub timeout: Duration,
    pub memory_limit_mib: u64,
    /// Failures whose output matches one of these are counted apart and do
    /// not fail the stress.
    pub ignore: Vec<regex::Regex>,
    /// Where the logs of failed runs go (`run-<n>.log`).
    pub logs: PathBuf,
    /// Run the command under this executor (qemu-user for a foreign binary).
    pub executor: Option<Executor>,
}

/// One failure signature: its runs, rate and where the logs are.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub class: Class,
    pub signature: String,
    pub count: u64,
    /// count / runs.
    pub rate: f64,
    /// The 95 % Wilson score interval of the rate.
    pub rate_low: f64,
    pub rate_high: f64,
    /// Logs of the first few runs that failed this way (relative to the out dir).
    pub logs: Vec<String>,
    /// Runs (indexes) that failed this way.
    pub runs: Vec<u64>,
}

/// What a stress session found.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub runs: u64,
    pub ok: u64,
    pub failures: u64,
    /// Failures whose output matched `--ignore`.
    pub ignored: u64,
    /// Failed runs grouped by class and signature, most frequent first.
    pub groups: Vec<Group>,
    /// Ignored failures, grouped the same way.
    pub ignored_groups: Vec<Group>,
    pub elapsed_s: f64,
    /// Mean wall time of one run.
    pub mean_run_s: f64,
    /// Why it stopped: max-runs, duration, max-failures, interrupted.
    pub stopped_by: String,
    pub interrupted: bool,
}

/// Progress after each run.
#[derive(Clone, Debug)]
pub struct Progress {
    pub runs: u64,
    pub failures: u64,
    pub ignored: u64,
    pub elapsed: Duration,
}

/// Logs kept per signature.
const LOGS_PER_GROUP: usize = 5;

struct Shared {
    groups: BTreeMap<(Class, String), Group>,
    ignored: BTreeMap<(Class, String), Group>,
    ok: u64,
    run_seconds: f64,
    finished: u64,
}

/// Run the command until a stop condition holds.
pub fn stress(req: &Request, progress: &(dyn Fn(&Progress) + Sync)) -> Result<Outcome> {
    std::fs::create_dir_all(&req.logs)
        .with_context(|| format!("creating {}", req.logs.display()))?;
    let start = Instant::now();
    let next = AtomicU64::new(0);
    let failures = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let stopped_by = Mutex::new(String::new());
    let shared = Mutex::new(Shared {
        groups: BTreeMap::new(),
        ignored: BTreeMap::new(),
        ok: 0,
        run_seconds: 0.0,
        finished: 0,
    });
    let base_env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| !req.env.iter().any(|(e, _)| e == k) && k != RUN_VAR)
        .chain(req.env.iter().cloned())
        .collect();
    let say_stop = |why: &str| {
        let mut s = stopped_by.lock().unwrap();
        if s.is_empty() {
            *s = why.to_string();
        }
        stop.store(true, Ordering::SeqCst);
    };
    std::thread::scope(|scope| {
        for _ in 0..req.jobs.max(1) {
            scope.spawn(|| loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                if exec::interrupted() {
                    say_stop("interrupted");
                    return;
                }
                if req.deadline.is_some_and(|d| Instant::now() >= d) {
                    say_stop("duration");
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if req.max_runs.is_some_and(|m| i >= m) {
                    say_stop("max-runs");
                    return;
                }
                let r = one_run(req, &base_env, i);
                if r.interrupted {
                    say_stop("interrupted");
                    return;
                }
                let out = classify_run(&RunEvidence::of(&r));
                let failed = out.class != Class::Ok;
                let ignored = failed
                    && req
                        .ignore
                        .iter()
                        .any(|re| re.is_match(&r.stdout) || re.is_match(&r.stderr));
                let mut sh = shared.lock().unwrap();
                sh.finished += 1;
                sh.run_seconds += r.duration.as_secs_f64();
                if !failed {
                    sh.ok += 1;
                } else {
                    let book = if ignored {
                        &mut sh.ignored
                    } else {
                        &mut sh.groups
                    };
                    let g = book
                        .entry((out.class, out.signature.clone()))
                        .or_insert_with(|| Group {
                            class: out.class,
                            signature: out.signature.clone(),
                            count: 0,
                            rate: 0.0,
                            rate_low: 0.0,
                            rate_high: 0.0,
                            logs: Vec::new(),
                            runs: Vec::new(),
                        });
                    g.count += 1;
                    g.runs.push(i);
                    if g.logs.len() < LOGS_PER_GROUP {
                        let name = format!("run-{i}.log");
                        let text = log_text(req, i, &r, &out.class, &out.signature);
                        if std::fs::write(req.logs.join(&name), text).is_ok() {
                            g.logs.push(format!("logs/{name}"));
                        }
                    }
                    if !ignored {
                        let n = failures.fetch_add(1, Ordering::SeqCst) + 1;
                        if req.max_failures.is_some_and(|m| n >= m) {
                            drop(sh);
                            say_stop("max-failures");
                            sh = shared.lock().unwrap();
                        }
                    }
                }
                let p = Progress {
                    runs: sh.finished,
                    failures: failures.load(Ordering::SeqCst),
                    ignored: sh.ignored.values().map(|g| g.count).sum(),
                    elapsed: start.elapsed(),
                };
                drop(sh);
                progress(&p);
            });
        }
    });
    let sh = shared.into_inner().unwrap();
    let runs = sh.finished;
    let finish = |book: BTreeMap<(Class, String), Group>| {
        let mut v: Vec<Group> = book
            .into_values()
            .map(|mut g| {
                g.runs.sort_unstable();
                g.rate = g.count as f64 / runs.max(1) as f64;
                (g.rate_low, g.rate_high) = wilson(g.count, runs);
                g
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(&b.signature)));
        v
    };
    let groups = finish(sh.groups);
    let ignored_groups = finish(sh.ignored);
    let stopped_by = stopped_by.into_inner().unwrap();
    Ok(Outcome {
        runs,
        ok: sh.ok,
        failures: groups.iter().map(|g| g.count).sum(),
        ignored: ignored_groups.iter().map(|g| g.count).sum(),
        groups,
        ignored_groups,
        elapsed_s: start.elapsed().as_secs_f64(),
        mean_run_s: if runs > 0 {
            sh.run_seconds / runs as f64
        } else {
            0.0
        },
        interrupted: stopped_by == "interrupted",
        stopped_by,
    })
}

fn one_run(req: &Request, base_env: &[(String, String)], i: u64) -> exec::ExecResult {
    let (program, mut args, extra) = match &req.executor {
        Some(e) => e.command(&req.program),
        None => (req.program.clone(), vec![], vec![]),
    };
    args.extend(req.args.iter().cloned());
    let mut spec = ExecSpec::new(program, &req.cwd);
    spec.args = args;
    spec.env = base_env.to_vec();
    spec.env.extend(extra);
    spec.env.push((RUN_VAR.to_string(), i.to_string()));
    spec.timeout = req.timeout;
    spec.memory_limit = Some(req.memory_limit_mib << 20);
    exec::run(&spec)
}

fn log_text(req: &Request, i: u64, r: &exec::ExecResult, class: &Class, sig: &str) -> String {
    let exit = match r.exit {
        Some(ExitStatus::Code(c)) => format!("exit status {c}"),
        Some(ExitStatus::Signal(s)) => format!("signal {s}"),
        None => r
            .spawn_error
            .clone()
            .unwrap_or_else(|| "no exit status".into()),
    };
    let knobs: Vec<String> = req.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "# divergo stress, run {i}: {} {}\n# command: {} {}\n# env: {} {RUN_VAR}={i}\n# {exit}{}, {:.3} s\n\n--- stdout{} ---\n{}\n--- stderr{} ---\n{}\n",
        class.name(),
        sig,
        req.program.display(),
        req.args.join(" "),
        knobs.join(" "),
        if r.timed_out { " (timed out: SIGQUIT, then SIGKILL)" } else { "" },
        r.duration.as_secs_f64(),
        dropped(r.stdout_dropped),
        r.stdout,
        dropped(r.stderr_dropped),
        r.stderr
    )
}

fn dropped(n: u64) -> String {
    if n > 0 {
        format!(" ({n} bytes dropped from the middle)")
    } else {
        String::new()
    }
}

/// The 95 % Wilson score interval of `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = k as f64 / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * ((p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt()) / d;
    // At the ends the bound is exact (rounding would leave 3e-18).
    let lo = if k == 0 { 0.0 } else { (c - h).max(0.0) };
    let hi = if k as f64 == n { 1.0 } else { (c + h).min(1.0) };
    (lo, hi)
}

/// Find `cmd` the way a shell would: a path with a slash as is, else on PATH.
pub fn resolve_command(cmd: &str) -> Option<PathBuf> {
    if cmd.contains('/') {
        let p = Path::new(cmd);
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_matches_known_values() {
        // 10 of 40: p = 0.25, 95 % Wilson interval [0.142, 0.402].
        let (lo, hi) = wilson(10, 40);
        assert!((lo - 0.1419).abs() < 1e-3, "{lo}");
        assert!((hi - 0.4019).abs() < 1e-3, "{hi}");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
        let (lo, hi) = wilson(0, 100);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.03 && hi < 0.04, "{hi}");
    }
}
