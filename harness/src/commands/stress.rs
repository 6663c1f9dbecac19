//! `divergo stress [flags] -- CMD ARGS…`: the command line's side of
//! [`crate::engine::stress`]: progress lines, the result files, the exit status.

use crate::engine::executor::QemuMode;
use crate::engine::plan;
use crate::engine::stress::{self, Outcome, Request};
use crate::error::InfraError;
use crate::error::{EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK};
use crate::model::Arch;
use crate::report::stress::{self as report, Header};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub(crate) struct StressArgs {
    /// Runs at once [default: number of cores]
    #[arg(long)]
    jobs: Option<usize>,
    /// Stop after this many runs
    #[arg(long, value_name = "N")]
    max_runs: Option<u64>,
    /// Start no run after this long (a Go duration: 90s, 10m, 1h30m)
    #[arg(long, value_parser = super::cli::parse_duration)]
    duration: Option<std::time::Duration>,
    /// Stop once this many failures (not ignored) were seen
    #[arg(long, value_name = "N")]
    max_failures: Option<u64>,
    /// Stop at the first failure (--max-failures 1)
    #[arg(long)]
    failfast: bool,
    /// Failures whose output matches this regex are counted apart and do not
    /// fail the stress (repeatable)
    #[arg(long, value_name = "REGEX")]
    ignore: Vec<String>,
    /// A run longer than this gets SIGQUIT, then SIGKILL, and is a hang
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = super::cli::parse_duration)]
    timeout: std::time::Duration,
    /// GOGC of every run (unset: inherited)
    #[arg(long)]
    gogc: Option<String>,
    /// GODEBUG of every run, e.g. asyncpreemptoff=1 or gcstoptheworld=1 (unset: inherited)
    #[arg(long)]
    godebug: Option<String>,
    /// GOMAXPROCS of every run (unset: inherited)
    #[arg(long)]
    gomaxprocs: Option<u32>,
    /// Run a binary of this arch under qemu-user (plain mode) instead of natively
    #[arg(long)]
    arch: Option<Arch>,
    /// Kill a run whose resident memory exceeds this (MiB); classified `oom`
    #[arg(long, default_value_t = 4096)]
    memory_limit_mib: u64,
    /// Results directory [default: divergo-runs/stress-<timestamp>]
    #[arg(long)]
    out: Option<PathBuf>,
    /// One JSON object (stress.json) on stdout at the end
    #[arg(long)]
    json: bool,
    /// No progress lines
    #[arg(long, short)]
    quiet: bool,
    /// The command and its arguments, after `--`
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// `divergo stress`: arguments → request → the stress loop → exit status.
pub(crate) fn cmd(a: StressArgs) -> Result<i32> {
    let cmd = &a.command[0];
    let Some(program) = stress::resolve_command(cmd) else {
        bail!("{cmd}: no such command (not a file, not on PATH)");
    };
    let ignore = a
        .ignore
        .iter()
        .map(|r| {
            regex::Regex::new(r).map_err(|e| anyhow!("--ignore {r:?}: not a valid regex: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut env = Vec::new();
    if let Some(v) = &a.gogc {
        env.push(("GOGC".to_string(), v.clone()));
    }
    if let Some(v) = &a.godebug {
        env.push(("GODEBUG".to_string(), v.clone()));
    }
    if let Some(v) = a.gomaxprocs {
        env.push(("GOMAXPROCS".to_string(), v.to_string()));
    }
    let executor = match a.arch {
        Some(arch) if Some(arch) != Arch::host() => Some(
            crate::engine::executor::detect(arch, QemuMode::Plain)
                .map_err(|e| InfraError(format!("--arch {arch}: {e}")))?,
        ),
        _ => None,
    };
    let out = a.out.clone().unwrap_or_else(|| {
        let d = plan::default_out_dir();
        let name = format!(
            "stress-{}",
            d.file_name().unwrap_or_default().to_string_lossy()
        );
        d.with_file_name(name)
    });
    if out.join("stress.json").exists() {
        bail!(
            "{} already holds a stress result: choose another --out",
            out.display()
        );
    }
    let req = stress::Request {
        program,
        args: a.command[1..].to_vec(),
        env,
        cwd: std::env::current_dir()?,
        jobs: super::cli::jobs(a.jobs),
        max_runs: a.max_runs,
        deadline: a.duration.map(|d| std::time::Instant::now() + d),
        max_failures: if a.failfast { Some(1) } else { a.max_failures },
        timeout: a.timeout,
        memory_limit_mib: a.memory_limit_mib,
        ignore,
        logs: out.join("logs"),
        executor,
    };
    if req.max_runs == Some(0) || req.max_failures == Some(0) {
        bail!("--max-runs 0 / --max-failures 0: nothing to run");
    }
    run(&req, &out, &a.command.join(" "), a.quiet, a.json)
}

/// Run the stress session, write summary.md, junit.xml, report.html and
/// stress.json into `out`, print the result, and pick the exit status.
pub fn run(req: &Request, out: &Path, command: &str, quiet: bool, json: bool) -> Result<i32> {
    let executor = req
        .executor
        .as_ref()
        .map_or_else(|| "native".to_string(), |e| e.label());
    if !quiet {
        let limits: Vec<String> = [
            req.max_runs.map(|n| format!("{n} runs")),
            req.deadline
                .map(|d| crate::duration::format(d.saturating_duration_since(Instant::now()))),
            req.max_failures.map(|n| format!("{n} failure(s)")),
        ]
        .into_iter()
        .flatten()
        .collect();
        eprintln!(
            "stress: {command} ({executor}), {} at once, until {}; logs in {}",
            req.jobs,
            if limits.is_empty() {
                "interrupted (Ctrl-C)".to_string()
            } else {
                limits.join(" or ")
            },
            out.join("logs").display()
        );
    }
    let last = Mutex::new(Instant::now());
    let every = Duration::from_secs(5);
    let outcome = stress::stress(req, &|p| {
        if quiet {
            return;
        }
        let mut l = last.lock().unwrap();
        if l.elapsed() >= every {
            *l = Instant::now();
            eprintln!(
                "{:.0}s: {} runs so far, {} failures{}",
                p.elapsed.as_secs_f64(),
                p.runs,
                p.failures,
                if p.ignored > 0 {
                    format!(" ({} ignored)", p.ignored)
                } else {
                    String::new()
                }
            );
        }
    })?;
    let knobs = req.env.clone();
    let h = Header {
        command,
        knobs: &knobs,
        executor: &executor,
    };
    let write = |name: &str, text: String| {
        std::fs::write(out.join(name), text).with_context(|| format!("writing {name}"))
    };
    write("summary.md", report::summary(&h, &outcome))?;
    write("junit.xml", report::junit(&h, &outcome))?;
    write("report.html", report::html(&h, &outcome))?;
    write("stress.json", serde_json::to_string_pretty(&outcome)?)?;
    print_outcome(&outcome, out);
    if json {
        println!("{}", serde_json::to_string(&outcome)?);
    }
    Ok(if outcome.interrupted {
        EXIT_INTERRUPTED
    } else if outcome.failures > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn print_outcome(o: &Outcome, out: &Path) {
    eprintln!(
        "{} runs in {:.1} s ({:.3} s per run): {} ok, {} failed, {} ignored; stopped by {}",
        o.runs, o.elapsed_s, o.mean_run_s, o.ok, o.failures, o.ignored, o.stopped_by
    );
    for g in &o.groups {
        eprintln!(
            "  {:>5} {:>6.2}% [{:.2}%, {:.2}%] {} {}  ({})",
            g.count,
            g.rate * 100.0,
            g.rate_low * 100.0,
            g.rate_high * 100.0,
            g.class.name(),
            g.signature,
            g.logs.first().map(String::as_str).unwrap_or("-")
        );
    }
    eprintln!("results in {}", out.display());
}
