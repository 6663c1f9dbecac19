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
    // n shards each hold their family of tests to alpha / n, so that the
    // shards together make a false regression no likelier than one run.
    let alpha = crate::oracle::verdict::DEFAULT_ALPHA / req.shard.map_or(1, |s| s.count) as f64;
    let verdicts = crate::oracle::module::judge(&collected, baseline, candidate, alpha);
    let mut verdicts = verdicts;
    for (i, v) in verdicts.iter_mut().enumerate() {
        if v.what == "test" && matches!(v.change, Change::Regression | Change::Fix) {
            v.repro = Some(write_repro(req, v, i + 1, out)?);
        }
    }
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
        "shard": req.shard.map(|s| s.to_string()),
        "alpha": alpha,
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

/// A shell script that rebuilds the test binary with the toolchain that
/// fails and stresses the one test with `divergo stress`; its path relative
/// to `out`.
fn write_repro(
    req: &Request,
    v: &crate::oracle::module::Verdict,
    n: usize,
    out: &Path,
) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let bad = if v.change == Change::Regression {
        &req.toolchains[1]
    } else {
        &req.toolchains[0]
    };
    let (good_name, good, badf) = if v.change == Change::Regression {
        (&req.toolchains[0].name, v.baseline, v.candidate)
    } else {
        (&req.toolchains[1].name, v.candidate, v.baseline)
    };
    let run: Vec<String> = v
        .name
        .split('/')
        .map(|part| format!("^{}$", regex::escape(part)))
        .collect();
    let arch_flag = if Some(v.arch) == crate::model::Arch::host() {
        String::new()
    } else {
        format!(" --arch {}", v.arch)
    };
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let text = format!(
        "#!/bin/sh\n\
         # {test} of {pkg} fails with {badtc} on {arch}: {bf} of {bn} runs ({good_name}: {gf} of {gn}).\n\
         # Rebuilds its test binary with {badtc} and runs that one test under divergo stress\n\
         # (DIVERGO names the divergo binary, default divergo on PATH; OUT the results dir).\n\
         set -e\n\
         bin=\"$(mktemp -d)/pkg.test\"\n\
         cd {dir}\n\
         GOTOOLCHAIN=local GOOS=linux GOARCH={goarch} CGO_ENABLED=0 {go} test -c -o \"$bin\" {pkg}\n\
         cd \"$({go} list -f '{{{{.Dir}}}}' {pkg})\"\n\
         exec \"${{DIVERGO:-divergo}}\" stress --out \"${{OUT:-$(mktemp -d)/stress}}\" --max-runs {runs}{arch_flag}{knobs} -- \"$bin\" -test.v -test.count=1 -test.run {run}\n",
        test = v.name,
        pkg = q(&v.package),
        badtc = bad.name,
        arch = v.arch,
        bf = badf.0,
        bn = badf.1,
        gf = good.0,
        gn = good.1,
        dir = q(&req.dir.display().to_string()),
        goarch = v.arch.goarch(),
        go = q(&bad.goroot.join("bin/go").display().to_string()),
        runs = (badf.1 * 2).max(10),
        knobs = req
            .env
            .iter()
            .map(|(k, val)| match k.as_str() {
                "GOGC" => format!(" --gogc {}", q(val)),
                "GODEBUG" => format!(" --godebug {}", q(val)),
                _ => String::new(),
            })
            .collect::<String>(),
        run = q(&run.join("/")),
    );
    let name = format!("{n}-{}", v.name.replace(['/', ' '], "_"));
    let dir = out.join("module/findings").join(&name);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("repro.sh");
    std::fs::write(&path, text)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    // What `divergo bisect` needs to place it in a release.
    let finding = serde_json::json!({
        "module": req.dir,
        "package": v.package,
        "test": v.name,
        "arch": v.arch,
        "env": req.env,
        "bad": bad.name,
        "good": good_name,
        "bad_runs": [badf.0, badf.1],
        "good_runs": [good.0, good.1],
        "change": v.change,
    });
    std::fs::write(
        dir.join(MODULE_FINDING),
        serde_json::to_string_pretty(&finding)?,
    )?;
    Ok(format!("module/findings/{name}/repro.sh"))
}

/// The file that makes a directory a module finding (for `bisect`).
pub const MODULE_FINDING: &str = "module-finding.json";
