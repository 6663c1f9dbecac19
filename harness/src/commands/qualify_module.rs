//! `divergo qualify --module DIR`: a team's own tests under the baseline and
//! the candidate toolchain (see [`crate::engine::module`] and
//! [`crate::oracle::module`]). Writes qualify.md and qualify.json into --out.

use crate::engine::module::{self, Request};
use crate::error::{EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK};
use crate::oracle::upgrade::Change;
use crate::report::module::{self as report, Header};
use anyhow::{bail, Result};
use std::path::Path;

pub fn run(req: &Request, out: &Path, quiet: bool, json: bool) -> Result<i32> {
    if !req.dir.join("go.mod").is_file() {
        bail!("--module {}: no go.mod there", req.dir.display());
    }
    if out.join("qualify.json").exists() {
        bail!(
            "{} already holds a qualification: choose another --out",
            out.display()
        );
    }
    std::fs::create_dir_all(out)?;
    let (baseline, candidate) = (&req.toolchains[0].name, &req.toolchains[1].name);
    let say = |l: &str| {
        if !quiet {
            eprintln!("{l}");
        }
    };
    let collected = module::collect(req, &say)?;
    let verdicts = crate::oracle::module::judge(
        &collected,
        baseline,
        candidate,
        crate::oracle::verdict::DEFAULT_ALPHA,
    );
    let archs: Vec<String> = req.archs.iter().map(|(_, e)| e.label()).collect();
    let h = Header {
        module: &req.dir.display().to_string(),
        baseline,
        candidate,
        archs: &archs.join(", "),
        trials: req.trials,
    };
    let md = report::markdown(&h, &collected, &verdicts);
    std::fs::write(out.join("qualify.md"), &md)?;
    let v = serde_json::json!({
        "module": req.dir,
        "baseline": baseline,
        "candidate": candidate,
        "verdicts": verdicts,
        "builds": collected.builds,
        "runs": collected.runs,
        "build_seconds": collected.build_seconds,
        "run_seconds": collected.run_seconds,
        "interrupted": collected.interrupted,
    });
    std::fs::write(out.join("qualify.json"), serde_json::to_string_pretty(&v)?)?;
    eprint!("{}", md.lines().take(4).collect::<Vec<_>>().join("\n"));
    eprintln!("\nreport in {}", out.join("qualify.md").display());
    if json {
        println!("{v}");
    }
    Ok(if collected.interrupted {
        EXIT_INTERRUPTED
    } else if verdicts.iter().any(|x| x.change == Change::Regression) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
