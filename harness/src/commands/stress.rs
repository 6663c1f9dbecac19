//! `divergo stress [flags] -- CMD ARGS…`: the command line's side of
//! [`crate::engine::stress`]: progress lines, the result files, the exit status.

use crate::engine::stress::{self, Outcome, Request};
use crate::error::{EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK};
use crate::report::stress::{self as report, Header};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
