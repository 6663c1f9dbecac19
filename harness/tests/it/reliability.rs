//! divergo survives faults, hostile programs and bad input, and never loses a
//! result. Each test does the fault for real: real signals, real kill -9, a
//! real full filesystem, real concurrent processes.

use crate::common;
use common::*;
use divergo::engine::results::{Record, Stage};
use divergo::model::Class;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn hostile_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

fn line_count(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn wait_for_lines(child: &mut Child, dir: &Path, n: usize, limit: Duration) {
    let t = Instant::now();
    while line_count(dir) < n {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("divergo ended ({st}) before {n} results were written");
        }
        assert!(t.elapsed() < limit, "no {n} results after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("divergo did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait until no process mentions `needle` (processes killed with their parent
/// may take a moment to go); fail with the list if some remain.
fn assert_no_processes(needle: &str, limit: Duration) {
    let t = Instant::now();
    loop {
        let left = processes_mentioning(needle);
        if left.is_empty() {
            return;
        }
        assert!(t.elapsed() < limit, "processes left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn hostile_programs_are_capped_and_classified() {
    toolchain("go1.25");
    let out = tempfile::tempdir().unwrap();
    let fake_home = tempfile::tempdir().unwrap();
    let o = divergo()
        .args([
            "corpus",
            "--arch",
            "amd64",
            "--toolchains",
            "go1.25",
            "--quiet",
            "--json",
        ])
        .args(["--memory-limit-mib", "1024"])
        .arg("--dir")
        .arg(hostile_dir())
        .arg("--out")
        .arg(out.path())
        .env("HOME", fake_home.path())
        .env("DIVERGO_HOME", home())
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let recs = records(out.path());
    let run = |p: &str| -> Record {
        recs.iter()
            .find(|r| r.program == p && r.stage == Stage::Run)
            .cloned()
            .unwrap_or_else(|| panic!("{p} did not run"))
    };
    let oom = run("alloc-forever");
    assert_eq!(oom.outcome, Class::Oom);
    // Killed near the cap, not after eating the machine.
    assert!(oom.peak_rss.unwrap() < 3 << 30, "{:?}", oom.peak_rss);
    let quiet = run("ignore-sigquit");
    assert_eq!(quiet.outcome, Class::Hang);
    assert!(
        quiet.signature.contains("no goroutine dump"),
        "{}",
        quiet.signature
    );
    assert!(
        quiet.duration_ms < 2000 + 3000 + 2000,
        "{}",
        quiet.duration_ms
    );
    let loud = run("print-forever");
    assert_eq!(loud.outcome, Class::Hang);
    let log = std::fs::metadata(out.path().join(loud.log.unwrap()))
        .unwrap()
        .len();
    assert!(
        log < 3 << 20,
        "log of a program printing gigabytes is {log} bytes"
    );
    // divergo itself stayed small while the programs misbehaved.
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("--json object");
    let rss = v["peak_rss_bytes"].as_u64().unwrap();
    assert!(rss > 0 && rss < 512 << 20, "divergo peak RSS {rss}");
    // Files written by programs went away with their scratch dirs.
    assert_eq!(run("write-files").outcome, Class::Ok);
    assert!(!fake_home.path().join(".divergo-hostile-marker").exists());
    let junk: Vec<_> = walk(out.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("junk-"))
        .collect();
    assert!(junk.is_empty(), "{junk:?}");
    assert_no_processes(out.path().to_str().unwrap(), Duration::from_secs(5));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

fn spawn_corpus_run(out: &Path, filter: Option<&str>, trials: &str) -> Child {
    let mut c = divergo();
    c.args([
        "run",
        "--quiet",
        "--no-triage",
        "--arch",
        "amd64",
        "--toolchains",
        "go1.23.12,go1.25",
    ])
    .args(["--trials", trials, "--jobs", "2"])
    .arg("--corpus")
    .arg(corpus_dir())
    .arg("--out")
    .arg(out)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if let Some(f) = filter {
        c.args(["--filter", f]);
    }
    c.spawn().unwrap()
}

#[test]
fn sigterm_and_sigint_kill_children_and_write_a_partial_summary() {
    toolchain("go1.23.12");
    toolchain("go1.25");
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let out = tempfile::tempdir().unwrap();
        // hang-spin and the 4 s arm64-split loop keep children alive long enough.
        let mut child = spawn_corpus_run(out.path(), Some("sp"), "3");
        wait_for_lines(&mut child, out.path(), 3, Duration::from_secs(120));
        // Let runs be in flight.
        std::thread::sleep(Duration::from_millis(700));
        let before = processes_mentioning(out.path().to_str().unwrap());
        unsafe {
            libc::kill(child.id() as i32, sig);
        }
        let st = wait_exit(&mut child, Duration::from_secs(15));
        assert_eq!(st.code(), Some(130), "signal {sig}: {st}");
        assert_no_processes(out.path().to_str().unwrap(), Duration::from_secs(5));
        let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
        assert!(summary.contains("INTERRUPTED"), "{summary}");
        // Results written before the signal are intact; no interrupted run was recorded.
        let recs = records(out.path());
        assert!(recs.len() >= 3);
        assert!(
            recs.iter().all(|r| r.signature != "interrupted"),
            "{recs:?}"
        );
        // Some child was really running when the signal came (the test saw it).
        assert!(
            !before.is_empty(),
            "no child was running when signal {sig} was sent"
        );
    }
}

/// What must be equal between an interrupted-and-resumed run and an
/// uninterrupted one: every cell/trial's outcome and checksum, and the
/// signature of every outcome but a hang. A hang's signature comes from the
/// goroutine dump of the moment it was killed, so two separate runs of the
/// same hang can differ (hang-spin gave `main.spin < main.main.func` in one
/// and `goroutine created by main.main` in the other on a loaded machine).
fn comparable(recs: &[Record]) -> BTreeSet<String> {
    recs.iter()
        .map(|r| {
            let sig = if r.outcome == Class::Hang {
                "(hang dump)"
            } else {
                r.signature.as_str()
            };
            format!(
                "{:?} {} {} {} {} {} {} {:?}",
                r.stage, r.program, r.toolchain, r.arch, r.trial, r.outcome, sig, r.checksum
            )
        })
        .collect()
}

fn findings_ids(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir.join("findings"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kill_9_then_resume_loses_and_duplicates_nothing() {
    toolchain("go1.23.12");
    toolchain("go1.25");
    let reference = tempfile::tempdir().unwrap();
    let mut r = spawn_corpus_run(reference.path(), None, "2");
    // Exit 1: the corpus programs that crash everywhere are findings.
    let st = wait_exit(&mut r, Duration::from_secs(600));
    assert!(
        matches!(st.code(), Some(0) | Some(1)),
        "reference run: {st}"
    );

    let out = tempfile::tempdir().unwrap();
    let mut child = spawn_corpus_run(out.path(), None, "2");
    wait_for_lines(&mut child, out.path(), 12, Duration::from_secs(300));
    // Kill while a program that never ends by itself (hang-spin) is running:
    // only divergo's safeguards can stop it now.
    let t = Instant::now();
    while !processes_mentioning(out.path().to_str().unwrap())
        .iter()
        // The program itself (argv[0] is the binary), not `go build -o …/prog .`.
        .any(|(_, cmd)| cmd.contains("/hang-spin/") && cmd.trim_end().ends_with("/prog"))
    {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "hang-spin never ran"
        );
        assert!(child.try_wait().unwrap().is_none(), "divergo ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
    let after_kill = records(out.path()).len();
    // Children die with divergo (their parent-death signal), builds included.
    assert_no_processes(out.path().to_str().unwrap(), Duration::from_secs(10));

    let o = divergo()
        .args(["run", "--quiet", "--resume"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{:?}",
        text(&o)
    );
    let resumed = records(out.path());
    assert!(resumed.len() >= after_kill);
    let keys: Vec<_> = resumed.iter().map(|r| r.key()).collect();
    let unique: BTreeSet<_> = keys.iter().cloned().collect();
    // Builds may be redone after a kill (the binary is needed again), runs never.
    let run_keys: Vec<_> = keys.iter().filter(|k| k.0 == Stage::Run).collect();
    let run_unique: BTreeSet<_> = run_keys.iter().collect();
    assert_eq!(run_keys.len(), run_unique.len(), "duplicated run results");
    assert_eq!(keys.len(), unique.len(), "duplicated results");
    let reference_recs = records(reference.path());
    let (a, b) = (comparable(&resumed), comparable(&reference_recs));
    let only_resumed: Vec<_> = a.difference(&b).collect();
    let only_reference: Vec<_> = b.difference(&a).collect();
    assert!(
        only_resumed.is_empty() && only_reference.is_empty(),
        "resumed run differs from the reference:\n only resumed: {only_resumed:#?}\n only reference: {only_reference:#?}"
    );
    assert_eq!(findings_ids(out.path()), findings_ids(reference.path()));
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(!summary.contains("INTERRUPTED"));
}

fn assert_exit_2_one_line(o: &std::process::Output, needle: &str) {
    let (_, err) = text(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "want {needle:?} in {err}");
}

#[test]
fn bad_results_dirs_are_rejected_and_left_untouched() {
    toolchain("go1.23.12");
    toolchain("go1.25");
    let out = tempfile::tempdir().unwrap();
    let mut child = spawn_corpus_run(out.path(), Some("ok-checksum"), "1");
    assert!(wait_exit(&mut child, Duration::from_secs(300)).success());
    let results = out.path().join("results.jsonl");
    let good = std::fs::read_to_string(&results).unwrap();
    let plan = std::fs::read_to_string(out.path().join("run.json")).unwrap();

    // A line damaged in the middle.
    let damaged = good.replacen("\"stage\"", "\"sta", 1);
    std::fs::write(&results, &damaged).unwrap();
    let o = divergo()
        .args(["run", "--resume"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_exit_2_one_line(&o, "results.jsonl:1: malformed result line");
    assert_eq!(std::fs::read_to_string(&results).unwrap(), damaged);

    // A results dir from an incompatible version.
    std::fs::write(&results, &good).unwrap();
    let newer = plan.replace("\"schema\": 1", "\"schema\": 999");
    assert_ne!(newer, plan);
    std::fs::write(out.path().join("run.json"), &newer).unwrap();
    let o = divergo()
        .args(["run", "--resume"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_exit_2_one_line(&o, "results format 999");
    assert_eq!(std::fs::read_to_string(&results).unwrap(), good);

    // Not a results dir at all.
    let empty = tempfile::tempdir().unwrap();
    let o = divergo()
        .args(["run", "--resume"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_exit_2_one_line(&o, "not a divergo results dir");

    // Reusing a results dir without --resume.
    std::fs::write(out.path().join("run.json"), &plan).unwrap();
    let o = divergo()
        .args(["run", "--corpus"])
        .arg(corpus_dir())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_exit_2_one_line(&o, "already holds results");
}

fn private_home_with(names: &[&str]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    for n in names {
        let tc = toolchain(n);
        let o = divergo()
            .env("DIVERGO_HOME", home.path())
            .args(["toolchains", "install"])
            .arg(format!("{}={}", tc.name, tc.goroot.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{:?}", text(&o));
    }
    home
}

#[test]
fn unwritable_gocache_is_infra() {
    let home = private_home_with(&["go1.23.12"]);
    // A file where the toolchain's GOCACHE directory should be.
    std::fs::create_dir_all(home.path().join("gocache")).unwrap();
    std::fs::write(home.path().join("gocache/go1.23.12"), "not a directory").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = corpus_cmd(Some("ok-checksum"), "amd64", "go1.23.12", out.path())
        .env("DIVERGO_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let recs = records(out.path());
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].outcome, Class::Infra);
    assert!(
        recs[0].signature.contains("GOCACHE"),
        "{}",
        recs[0].signature
    );
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(summary.contains("1 infrastructure failures"), "{summary}");
    assert!(
        summary.contains("None at p <"),
        "infra must not make findings: {summary}"
    );
}

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_a_clear_error_not_a_corrupted_results_file() {
    toolchain("go1.23.12");
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=600k", "tmpfs"])
        .arg(dir.path())
        .status()
        .expect("mount (the tests run as root, like CI)");
    assert!(st.success(), "cannot mount a tmpfs: the test needs root");
    let _m = Mount(dir.path().to_path_buf());
    let out = dir.path().join("out");
    let o = corpus_cmd(Some("ok-checksum"), "amd64", "go1.23.12", &out)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.to_lowercase().contains("no space left on device"),
        "{err}"
    );
    // Whatever was written is whole lines only.
    let (_, partial) = divergo::engine::results::read(&out).unwrap();
    assert!(!partial);
    let data = std::fs::read(out.join("results.jsonl")).unwrap_or_default();
    assert!(data.is_empty() || data.ends_with(b"\n"));
}

#[test]
fn two_processes_sharing_divergo_home_do_not_corrupt_it() {
    // Two concurrent installs of the same toolchain into an empty home: one
    // fetches, the other waits on the lock and finds it installed.
    let home = tempfile::tempdir().unwrap();
    let spawn = || {
        divergo()
            .env("DIVERGO_HOME", home.path())
            .args(["toolchains", "install", "go1.23.12"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn();
    let b = spawn();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{:?}", text(&a));
    assert!(b.status.success(), "{:?}", text(&b));
    let msgs = format!("{}{}", text(&a).1, text(&b).1);
    assert_eq!(msgs.matches("installed go1.23.12 at").count(), 1, "{msgs}");
    assert_eq!(msgs.matches("already installed").count(), 1, "{msgs}");
    let o = divergo()
        .env("DIVERGO_HOME", home.path())
        .args(["toolchains", "list", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["usable"], true);
    let entries: Vec<_> = std::fs::read_dir(home.path().join("toolchains/go1.23.12"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut entries = entries;
    entries.sort();
    assert_eq!(
        entries,
        vec!["goroot", "toolchain.json"],
        "leftovers: {entries:?}"
    );

    // Two runs at once sharing that home (and its GOCACHE) both complete.
    let outs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let kids: Vec<_> = outs
        .iter()
        .map(|o| {
            corpus_cmd(Some("ok-checksum"), "amd64", "go1.23.12", o.path())
                .env("DIVERGO_HOME", home.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for k in kids {
        let o = k.wait_with_output().unwrap();
        assert!(o.status.success(), "{:?}", text(&o));
    }
    for o in &outs {
        let recs = records(o.path());
        assert!(recs
            .iter()
            .filter(|r| r.stage == Stage::Run)
            .all(|r| r.outcome == Class::Ok));
    }
}

/// The results writer on a filesystem that fills up mid-line: what is left is
/// whole lines only, and the error says what happened.
#[test]
fn results_writer_never_leaves_a_partial_line_on_a_full_disk() {
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .status()
        .expect("mount (the tests run as root, like CI)");
    assert!(st.success(), "cannot mount a tmpfs: the test needs root");
    let _m = Mount(dir.path().to_path_buf());
    let mut w = divergo::engine::results::Writer::open(dir.path()).unwrap();
    let rec = Record {
        stage: Stage::Run,
        program: "seed-1".into(),
        toolchain: "go1.25.14".into(),
        arch: divergo::model::Arch::Amd64,
        executor: "amd64 (native)".into(),
        trial: 0,
        env: Default::default(),
        outcome: Class::Fatal,
        // Long lines, so that the last one straddles the end of the space.
        signature: "fatal error: x ".repeat(97),
        checksum: None,
        duration_ms: 1,
        exit: None,
        timeout_ms: None,
        peak_rss: None,
        log: None,
        scan: None,
    };
    let mut written = 0;
    let err = loop {
        match w.append(&rec) {
            Ok(()) => written += 1,
            Err(e) => break format!("{e:#}"),
        }
        assert!(written < 10_000, "the 64k filesystem never filled");
    };
    assert!(err.contains("No space left on device"), "{err}");
    let data = std::fs::read(dir.path().join("results.jsonl")).unwrap();
    assert!(data.ends_with(b"\n"), "partial line left at the end");
    let (recs, partial) = divergo::engine::results::read(dir.path()).unwrap();
    assert!(!partial);
    assert_eq!(recs.len(), written);
}
