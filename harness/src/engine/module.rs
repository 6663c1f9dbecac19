//! A team's own module under two toolchains (`divergo qualify --module`):
//! build every package's test binary (`go test -c`) with each toolchain for
//! each arch, scan each binary for preemption windows, run each binary
//! `trials` times under the arch's executor, and count, per test, the runs
//! in which it failed (per-test outcomes from `-test.v` through
//! `go tool test2json`).
//!
//! The module's own dependencies are used as `go test` would: its go.sum,
//! vendor/ when present, the user's module cache and GOPROXY (the network
//! only where the user's Go environment allows it).

use crate::engine::executor::Executor;
use crate::exec::{self, ExecSpec};
use crate::model::{Arch, Class};
use crate::oracle::classify::{classify_run, RunEvidence};
pub use crate::oracle::module::{Build, Collected, Tally, BINARY};
use crate::toolchain::registry::Toolchain;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What to build and run.
#[derive(Clone, Debug)]
pub struct Request {
    /// The module's root (where go.mod is).
    pub dir: PathBuf,
    /// Package patterns (`./...`).
    pub packages: Vec<String>,
    /// Baseline first, then candidate.
    pub toolchains: Vec<Toolchain>,
    pub archs: Vec<(Arch, Executor)>,
    pub trials: u32,
    pub timeout: Duration,
    pub jobs: usize,
    /// Knobs set on top of the user's environment for every run.
    pub env: Vec<(String, String)>,
    /// `-test.run` of every run.
    pub run: Option<String>,
    /// Where the test binaries and logs go.
    pub work: PathBuf,
    /// `$DIVERGO_HOME` (the toolchains' build caches).
    pub home: PathBuf,
    /// Only every n-th package (in `go list` order) from the i-th.
    pub shard: Option<crate::engine::plan::Shard>,
}

/// The environment of `go` and of the test binaries: the user's, with
/// divergo's rules on top.
fn go_env(tc: &Toolchain, arch: Arch, home: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| !matches!(k.as_str(), "GOROOT" | "GOARCH" | "GOOS" | "GOTOOLCHAIN"))
        .collect();
    env.extend([
        ("GOTOOLCHAIN".into(), "local".into()),
        ("GOOS".into(), "linux".into()),
        ("GOARCH".into(), arch.goarch().into()),
        ("CGO_ENABLED".into(), "0".into()),
        (
            "GOCACHE".into(),
            crate::toolchain::registry::gocache(home, &tc.name)
                .display()
                .to_string(),
        ),
    ]);
    env
}

fn go(tc: &Toolchain) -> PathBuf {
    tc.goroot.join("bin/go")
}

/// The packages the patterns name that have tests: (import path, dir).
pub fn list_packages(req: &Request) -> Result<Vec<(String, PathBuf)>> {
    let tc = &req.toolchains[0];
    let host = Arch::host().unwrap_or(Arch::Amd64);
    let o = Command::new(go(tc))
        .args([
            "list",
            "-f",
            "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}",
        ])
        .args(&req.packages)
        .current_dir(&req.dir)
        .env_clear()
        .envs(go_env(tc, host, &req.home))
        .output()
        .context("running go list")?;
    if !o.status.success() {
        bail!(
            "go list {} in {}: {}",
            req.packages.join(" "),
            req.dir.display(),
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .unwrap_or("failed")
        );
    }
    let mut v = Vec::new();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() == 4 && (f[2] != "0" || f[3] != "0") {
            v.push((f[0].to_string(), PathBuf::from(f[1])));
        }
    }
    if v.is_empty() {
        bail!(
            "no package with tests in {} ({})",
            req.dir.display(),
            req.packages.join(" ")
        );
    }
    Ok(v)
}

fn binary_name(pkg: &str) -> String {
    pkg.replace(['/', '.'], "_") + ".test"
}

/// Build, scan and run everything.
pub fn collect(req: &Request, say: &(dyn Fn(&str) + Sync)) -> Result<Collected> {
    let mut packages = list_packages(req)?;
    if let Some(sh) = req.shard {
        let keep: std::collections::BTreeSet<u64> = sh.indexes(packages.len() as u64).collect();
        packages = packages
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(&(*i as u64)))
            .map(|(_, p)| p)
            .collect();
        if packages.is_empty() {
            bail!("shard {sh} holds no package with tests");
        }
    }
    let mut builds = Vec::new();
    let start = Instant::now();
    for tc in &req.toolchains {
        for (arch, _) in &req.archs {
            let dir = req.work.join("bin").join(&tc.name).join(arch.goarch());
            std::fs::create_dir_all(&dir)?;
            for (pkg, _) in &packages {
                if exec::interrupted() {
                    break;
                }
                let t = Instant::now();
                let bin = dir.join(binary_name(pkg));
                let o = Command::new(go(tc))
                    .args(["test", "-c", "-o"])
                    .arg(&bin)
                    .arg(pkg)
                    .current_dir(&req.dir)
                    .env_clear()
                    .envs(go_env(tc, *arch, &req.home))
                    .output()
                    .context("running go test -c")?;
                let ok = o.status.success() && bin.is_file();
                let windows = if ok {
                    crate::oracle::scan::scan_file(&bin)
                        .map(|r| {
                            r.windows
                                .into_iter()
                                .filter(|w| w.preemptible)
                                .map(|w| (w.function, w.rule))
                                .collect::<std::collections::BTreeSet<_>>()
                                .into_iter()
                                .collect()
                        })
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                say(&format!(
                    "built {pkg} with {} for {arch}: {}",
                    tc.name,
                    if ok { "ok" } else { "FAILED" }
                ));
                builds.push(Build {
                    package: pkg.clone(),
                    toolchain: tc.name.clone(),
                    arch: *arch,
                    binary: ok.then(|| bin.clone()),
                    error: (!ok).then(|| {
                        let mut e = String::from_utf8_lossy(&o.stderr).into_owned();
                        e.truncate(4000);
                        e
                    }),
                    windows,
                    seconds: t.elapsed().as_secs_f64(),
                });
            }
        }
    }
    let build_seconds = start.elapsed().as_secs_f64();
    // Every (binary, trial), run by --jobs workers.
    let pkg_dirs: BTreeMap<&str, &Path> = packages
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_path()))
        .collect();
    let jobs: Vec<(&Build, u32)> = builds
        .iter()
        .filter(|b| b.binary.is_some())
        .flat_map(|b| (0..req.trials).map(move |t| (b, t)))
        .collect();
    let next = AtomicUsize::new(0);
    let tests = Mutex::new(BTreeMap::<(String, String, String, Arch), Tally>::new());
    let logs = req.work.join("logs");
    std::fs::create_dir_all(&logs)?;
    let run_start = Instant::now();
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..req.jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= jobs.len() || exec::interrupted() {
                    return;
                }
                let (b, trial) = jobs[i];
                let exe = &req.archs.iter().find(|(a, _)| *a == b.arch).unwrap().1;
                let tc = req
                    .toolchains
                    .iter()
                    .find(|t| t.name == b.toolchain)
                    .unwrap();
                let results =
                    run_binary(req, tc, exe, b, pkg_dirs[b.package.as_str()], trial, &logs);
                let mut t = tests.lock().unwrap();
                for (test, failed, sig, log) in results {
                    let e = t
                        .entry((b.package.clone(), test, b.toolchain.clone(), b.arch))
                        .or_default();
                    e.runs += 1;
                    if failed {
                        e.fails += 1;
                        if e.signature.is_none() {
                            e.signature = sig;
                            e.log = log;
                        }
                    }
                }
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                if n.is_multiple_of(20) || n == jobs.len() {
                    say(&format!("{n}/{} test-binary runs", jobs.len()));
                }
            });
        }
    });
    Ok(Collected {
        packages: packages.into_iter().map(|(p, _)| p).collect(),
        builds,
        tests: tests.into_inner().unwrap(),
        runs: done.load(Ordering::SeqCst) as u64,
        build_seconds,
        run_seconds: run_start.elapsed().as_secs_f64(),
        interrupted: exec::interrupted(),
    })
}

/// Run one test binary once: each test's (name, failed, signature, log).
fn run_binary(
    req: &Request,
    tc: &Toolchain,
    exe: &Executor,
    b: &Build,
    pkg_dir: &Path,
    trial: u32,
    logs: &Path,
) -> Vec<(String, bool, Option<String>, Option<String>)> {
    let bin = b.binary.as_ref().unwrap();
    let (program, mut args, extra) = exe.command(bin);
    args.extend(["-test.v".to_string(), "-test.count=1".to_string()]);
    if let Some(r) = &req.run {
        args.push(format!("-test.run={r}"));
    }
    let mut spec = ExecSpec::new(program, pkg_dir);
    spec.args = args;
    spec.env = go_env(tc, b.arch, &req.home);
    spec.env.extend(extra);
    spec.env.extend(req.env.iter().cloned());
    spec.timeout = req.timeout.mul_f64(exe.slowdown());
    let r = exec::run(&spec);
    let out = classify_run(&RunEvidence::of(&r));
    let events = test2json(tc, &b.package, &r.stdout);
    let mut v: Vec<(String, bool, Option<String>, Option<String>)> = Vec::new();
    let binary_failed = out.class != Class::Ok;
    let sig = binary_failed.then(|| format!("{}: {}", out.class.name(), out.signature));
    let log_name = format!(
        "{}-{}-{}-{trial}.log",
        binary_name(&b.package),
        b.toolchain,
        b.arch
    );
    let mut wrote_log = false;
    let mut write_log = || {
        if !wrote_log {
            wrote_log = true;
            let _ = std::fs::write(
                logs.join(&log_name),
                format!(
                    "# {} ({} {}), trial {trial}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
                    b.package,
                    b.toolchain,
                    b.arch,
                    sig.as_deref().unwrap_or("ok"),
                    r.stdout,
                    r.stderr
                ),
            );
        }
        Some(format!("logs/{log_name}"))
    };
    let mut any_failed = false;
    for (test, action, message) in &events {
        let failed = action != "pass" && action != "skip";
        any_failed |= failed;
        let (s, l) = if failed {
            let what = if action == "fail" && !message.is_empty() {
                message.clone()
            } else {
                sig.clone().unwrap_or_else(|| format!("{test} failed"))
            };
            (Some(what), write_log())
        } else {
            (None, None)
        };
        v.push((test.clone(), failed, s, l));
    }
    // A failure outside every test (init, TestMain, a crash between tests).
    let whole_failed = binary_failed && !any_failed;
    v.push((
        BINARY.to_string(),
        whole_failed,
        whole_failed.then(|| sig.clone().unwrap_or_default()),
        if whole_failed { write_log() } else { None },
    ));
    v
}

/// The last action of every top-level test and subtest in a `-test.v`
/// output, through `go tool test2json`: pass, fail, skip, or run (it never
/// finished: the binary died in it); with the test's first `file.go:N:` line.
fn test2json(tc: &Toolchain, pkg: &str, stdout: &str) -> Vec<(String, String, String)> {
    use std::io::Write;
    let child = Command::new(go(tc))
        .args(["tool", "test2json", "-p", pkg])
        .env("GOTOOLCHAIN", "local")
        .env_remove("GOROOT")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Vec::new();
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(stdout.as_bytes());
    }
    let Ok(o) = child.wait_with_output() else {
        return Vec::new();
    };
    let mut last: BTreeMap<String, (String, String)> = BTreeMap::new();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
            continue;
        };
        let (Some(test), Some(action)) = (v["Test"].as_str(), v["Action"].as_str()) else {
            continue;
        };
        let e = last.entry(test.to_string()).or_default();
        if matches!(action, "run" | "pass" | "fail" | "skip") {
            e.0 = action.to_string();
        } else if action == "output" {
            // The test's own message: the first `file.go:N: text` line.
            let text = v["Output"].as_str().unwrap_or("").trim();
            if e.1.is_empty() && text.contains(".go:") && !text.starts_with("---") {
                e.1 = text.to_string();
            }
        }
    }
    last.into_iter().map(|(t, (a, m))| (t, a, m)).collect()
}

/// One module test to probe at one toolchain (`bisect` of a module finding).
pub struct TestProbe<'a> {
    pub dir: &'a Path,
    pub package: &'a str,
    pub test: &'a str,
    pub arch: Arch,
    pub executor: &'a Executor,
    pub env: &'a [(String, String)],
    pub home: &'a Path,
    pub work: &'a Path,
    pub timeout: Duration,
}

/// Build the test's package with `tc` and run the one test (`-test.run`
/// anchored on each part of its name) until it fails (when
/// `stop_at_failure`) or `clean` runs pass, at most `max` runs: (failed
/// runs, runs), or why it could not be built.
pub fn probe_test(
    p: &TestProbe,
    tc: &Toolchain,
    clean: u32,
    max: u32,
    stop_at_failure: bool,
) -> Result<(u32, u32), String> {
    std::fs::create_dir_all(p.work).map_err(|e| e.to_string())?;
    let bin = p.work.join(format!("{}-{}.test", tc.name, p.arch));
    let o = Command::new(go(tc))
        .args(["test", "-c", "-o"])
        .arg(&bin)
        .arg(p.package)
        .current_dir(p.dir)
        .env_clear()
        .envs(go_env(tc, p.arch, p.home))
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() || !bin.is_file() {
        let err = String::from_utf8_lossy(&o.stderr);
        return Err(format!(
            "does not build: {}",
            err.lines().next().unwrap_or("go test -c failed")
        ));
    }
    let pkg_dir = Command::new(go(tc))
        .args(["list", "-f", "{{.Dir}}", p.package])
        .current_dir(p.dir)
        .env_clear()
        .envs(go_env(tc, p.arch, p.home))
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| p.dir.to_path_buf());
    let pattern: Vec<String> = p
        .test
        .split('/')
        .map(|part| format!("^{}$", regex::escape(part)))
        .collect();
    let (mut fails, mut runs) = (0, 0);
    while runs < max
        && runs - fails < clean
        && !(stop_at_failure && fails > 0)
        && !exec::interrupted()
    {
        let (program, mut args, extra) = p.executor.command(&bin);
        args.extend([
            "-test.v".to_string(),
            "-test.count=1".to_string(),
            format!("-test.run={}", pattern.join("/")),
        ]);
        let mut spec = ExecSpec::new(program, &pkg_dir);
        spec.args = args;
        spec.env = go_env(tc, p.arch, p.home);
        spec.env.extend(extra);
        spec.env.extend(p.env.iter().cloned());
        spec.timeout = p.timeout.mul_f64(p.executor.slowdown());
        let r = exec::run(&spec);
        let events = test2json(tc, p.package, &r.stdout);
        let mine = events.iter().find(|(t, _, _)| t == p.test);
        let failed = match mine {
            Some((_, action, _)) => action != "pass" && action != "skip",
            // The test never started: the binary failed first (or the
            // test does not exist at this toolchain: that is not the bug).
            None => !matches!(r.exit, Some(crate::model::ExitStatus::Code(0))),
        };
        runs += 1;
        if failed {
            fails += 1;
        }
    }
    Ok((fails, runs))
}
