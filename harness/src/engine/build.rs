//! Building one program with one toolchain for one GOARCH, hermetically.
//!
//! `GOTOOLCHAIN=local` (a modern `go` must never switch toolchains because of a
//! go.mod line), `GOFLAGS=-mod=mod`, `CGO_ENABLED=0`, `GOPROXY=off`, `GOENV=off`,
//! a GOCACHE per toolchain, and nothing else from the caller's environment.

use crate::exec::{self, ExecSpec};
use crate::model::{Arch, Class, Outcome};
use crate::oracle::classify;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct BuildRequest {
    /// Directory holding main.go and go.mod.
    pub src_dir: PathBuf,
    pub goroot: PathBuf,
    pub arch: Arch,
    /// Where the binary goes.
    pub out: PathBuf,
    pub gocache: PathBuf,
    /// GOPATH (module cache of the build; stays empty with GOPROXY=off).
    pub gopath: PathBuf,
    pub timeout: Duration,
    /// Optimisation and inlining off (`-gcflags=all=-N -l`).
    pub noopt: bool,
    /// A compile-only build mode (its flags and environment).
    pub mode: Option<crate::model::BuildMode>,
}

#[derive(Clone, Debug)]
pub struct BuildResult {
    /// `ok`, `build_error`, `ice`, or `infra`.
    pub outcome: Outcome,
    pub duration: Duration,
    /// Combined output of `go build`.
    pub log: String,
}

/// The environment of `go build` (complete: nothing else is inherited).
pub fn build_env(req: &BuildRequest) -> Vec<(String, String)> {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("HOME".into(), home),
        ("GOROOT".into(), req.goroot.display().to_string()),
        ("GOPATH".into(), req.gopath.display().to_string()),
        ("GOCACHE".into(), req.gocache.display().to_string()),
        ("GOTOOLCHAIN".into(), "local".into()),
        ("GOFLAGS".into(), "-mod=mod".into()),
        ("GO111MODULE".into(), "on".into()),
        ("GOWORK".into(), "off".into()),
        ("GOENV".into(), "off".into()),
        ("GOPROXY".into(), "off".into()),
        ("GOSUMDB".into(), "off".into()),
        ("CGO_ENABLED".into(), "0".into()),
        ("GOOS".into(), "linux".into()),
        ("GOARCH".into(), req.arch.goarch().into()),
        ("TMPDIR".into(), std::env::temp_dir().display().to_string()),
    ];
    for (k, v) in req.mode.map(|m| m.build_env()).unwrap_or_default() {
        env.retain(|(key, _)| key != k);
        env.push((k.into(), v.into()));
    }
    env
}

/// Build the program. Never panics; every problem becomes an outcome.
/// The signature of a build killed at its budget (`--build-timeout`).
pub const COMPILER_HANG: &str = "compiler hang: go build did not finish within its budget";

pub fn build(req: &BuildRequest) -> BuildResult {
    if let Err(e) = std::fs::create_dir_all(&req.gocache) {
        return BuildResult {
            outcome: Outcome::infra(format!(
                "GOCACHE {} cannot be created: {e}",
                req.gocache.display()
            )),
            duration: Duration::ZERO,
            log: String::new(),
        };
    }
    let mut spec = ExecSpec::new(req.goroot.join("bin").join("go"), &req.src_dir);
    spec.args = vec!["build".into()];
    if req.noopt {
        spec.args
            .push(crate::toolchain::registry::NOOPT_GCFLAGS.into());
    }
    if let Some(m) = req.mode {
        spec.args.extend(m.build_args());
    }
    spec.args
        .extend(["-o".into(), req.out.display().to_string(), ".".into()]);
    spec.env = build_env(req);
    spec.timeout = req.timeout;
    spec.grace = Duration::from_secs(2);
    spec.quit_on_timeout = false;
    spec.output_cap = 256 * 1024;
    let r = exec::run(&spec);
    let mut log = format!("{}{}", r.stdout, r.stderr);
    if r.timed_out && !r.interrupted {
        log.push_str(&format!(
            "\n[divergo] go build killed after {} s (the build budget, --build-timeout)\n",
            req.timeout.as_secs_f64()
        ));
    }
    let outcome = if let Some(e) = &r.spawn_error {
        Outcome::infra(format!("toolchain broken: {e}"))
    } else if r.interrupted {
        Outcome::infra("interrupted")
    } else if r.timed_out {
        // The budget is not in the signature: one hang, one signature,
        // whatever budget a run gave it.
        Outcome::new(Class::Ice, COMPILER_HANG)
    } else if r.exit == Some(crate::model::ExitStatus::Code(0)) {
        if req.out.is_file() {
            Outcome::new(Class::Ok, "")
        } else {
            Outcome::infra(format!(
                "go build exited 0 but wrote no binary at {}",
                req.out.display()
            ))
        }
    } else if crate::error::is_disk_full(&log) {
        Outcome::infra(format!(
            "go build: no space left on device ({})",
            req.out.parent().unwrap_or(&req.out).display()
        ))
    } else if log.trim().is_empty() {
        // A compiler reports what is wrong; a go command that fails silently is broken.
        Outcome::infra(format!(
            "go build failed ({}) without any output: toolchain broken",
            r.exit.map(|e| e.to_string()).unwrap_or_default()
        ))
    } else {
        classify::classify_build(r.exit, &log)
    };
    BuildResult {
        outcome,
        duration: r.duration,
        log,
    }
}

/// The static facts of a built binary: scan it ([`crate::oracle::scan`]) and
/// keep its windows as cell facts. This is the hook every stage that builds
/// (run, corpus, replay, and later qualify and bisect) calls on each binary it
/// built; a scan error is kept as the facts' `error`, never an outcome.
pub fn scan_facts(bin: &std::path::Path) -> crate::model::ScanFacts {
    let start = std::time::Instant::now();
    let r = crate::oracle::scan::scan_file(bin);
    let duration_ms = start.elapsed().as_millis() as u64;
    match r {
        Ok(report) => facts_of(&report, duration_ms),
        Err(e) => crate::model::ScanFacts {
            error: Some(e.to_string()),
            duration_ms,
            ..Default::default()
        },
    }
}

/// The cell facts of a scan report (its preemptible windows).
pub fn facts_of(
    report: &crate::oracle::scan::ScanReport,
    duration_ms: u64,
) -> crate::model::ScanFacts {
    crate::model::ScanFacts {
        windows: report
            .windows
            .iter()
            .filter(|w| w.preemptible)
            .map(|w| crate::model::WindowFact {
                function: w.function.clone(),
                offset: w.offset,
                pc: w.pc,
                end_pc: w.end_pc,
                rule: w.rule.clone(),
                bug: w.bug.clone(),
                sp_actual: w.sp_actual,
                sp_table: w.sp_table,
                insns: w.insns.iter().map(|i| i.text.clone()).collect(),
            })
            .collect(),
        functions_checked: report.functions_checked,
        duration_ms,
        error: None,
    }
}
