//! `divergo stress -- CMD`: real processes whose behaviour is certain per
//! run (each run reads its index from DIVERGO_STRESS_RUN), a real Go binary
//! that hangs, and every stop condition.

use crate::common;
use common::*;
use serde_json::Value;
use std::path::Path;

/// Fails (exit 3, a message on stderr) on every 4th run: 0, 4, 8, …
const FLAKY: &str = "#!/bin/sh\nif [ $((DIVERGO_STRESS_RUN % 4)) -eq 0 ]; then\n  \
                     echo \"boom at run $DIVERGO_STRESS_RUN\" >&2\n  exit 3\nfi\necho ok\n";

fn script(dir: &Path, name: &str, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

fn stress(args: &[&str], out: &Path, cmd: &[&str]) -> (Option<i32>, Value, String) {
    let o = divergo()
        .args(["stress", "--json", "--quiet"])
        .args(args)
        .arg("--out")
        .arg(out)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{err}"));
    (o.status.code(), v, err)
}

/// 40 runs of a command that fails on exactly every 4th: 10 failures, one
/// signature, a 95 % interval that holds 0.25, logs of the first runs, and
/// the result files.
#[test]
fn counts_and_rate_interval_of_a_known_fraction() {
    let t = tempfile::tempdir().unwrap();
    let flaky = script(t.path(), "flaky.sh", FLAKY);
    let out = t.path().join("r");
    let (code, v, err) = stress(&["--max-runs", "40", "--jobs", "2"], &out, &[&flaky]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(v["runs"], 40, "{v}");
    assert_eq!(v["ok"], 30, "{v}");
    assert_eq!(v["failures"], 10, "{v}");
    assert_eq!(v["stopped_by"], "max-runs");
    let g = &v["groups"].as_array().unwrap();
    assert_eq!(g.len(), 1, "{v}");
    assert_eq!(g[0]["class"], "fatal");
    assert_eq!(g[0]["signature"], "exit status 3: boom at run N");
    let runs: Vec<u64> = g[0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .collect();
    assert_eq!(runs, (0..40).step_by(4).collect::<Vec<u64>>());
    let (lo, hi) = (
        g[0]["rate_low"].as_f64().unwrap(),
        g[0]["rate_high"].as_f64().unwrap(),
    );
    assert!(lo < 0.25 && 0.25 < hi, "{lo} {hi}");
    let log = std::fs::read_to_string(out.join(g[0]["logs"][0].as_str().unwrap())).unwrap();
    assert!(
        log.contains("boom at run 0") && log.contains("DIVERGO_STRESS_RUN=0"),
        "{log}"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains("10 of 40 runs (25.0 %, 95 % interval 14.2 %–40.2 %)"),
        "{summary}"
    );
    valid_junit(&out.join("junit.xml"));
    assert!(std::fs::read_to_string(out.join("report.html"))
        .unwrap()
        .contains("boom at run N"));
}

/// A Go program that starts a child and then sleeps past the timeout: it is
/// sent SIGQUIT (its goroutine dump is in the log, the run is a hang), and
/// the whole process group is killed: its child does not outlive it.
#[test]
fn a_hanging_run_is_dumped_and_killed_with_its_children() {
    let tc = toolchain("go1.23.12");
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("hang");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("main.go"),
        "package main\n\nimport (\n\t\"os/exec\"\n\t\"time\"\n)\n\nfunc main() {\n\t\
         if err := exec.Command(\"sleep\", \"4242\").Start(); err != nil {\n\t\tpanic(err)\n\t}\n\t\
         time.Sleep(time.Hour)\n}\n",
    )
    .unwrap();
    std::fs::write(src.join("go.mod"), "module hang\n\ngo 1.14\n").unwrap();
    let bin = t.path().join("hang-bin");
    let o = std::process::Command::new(tc.goroot.join("bin/go"))
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", t.path().join("gocache"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let out = t.path().join("r");
    let (code, v, err) = stress(
        &["--max-runs", "1", "--timeout", "2s"],
        &out,
        &[bin.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(v["groups"][0]["class"], "hang", "{v}");
    let log =
        std::fs::read_to_string(out.join(v["groups"][0]["logs"][0].as_str().unwrap())).unwrap();
    assert!(
        log.contains("SIGQUIT") && log.contains("goroutine 1"),
        "{log}"
    );
    assert!(log.contains("timed out: SIGQUIT, then SIGKILL"), "{log}");
    assert_eq!(
        processes_mentioning("sleep 4242"),
        vec![],
        "an orphan survived"
    );
}

/// --ignore, --max-failures, --failfast and --duration, each certain with
/// one run at a time.
#[test]
fn ignore_and_every_stop_condition() {
    let t = tempfile::tempdir().unwrap();
    let flaky = script(t.path(), "flaky.sh", FLAKY);
    let (code, v, err) = stress(
        &["--max-runs", "12", "--ignore", "boom at run \\d+"],
        &t.path().join("ignore"),
        &[&flaky],
    );
    assert_eq!(code, Some(0), "ignored failures do not fail it: {err}");
    assert_eq!(
        (v["failures"].as_u64(), v["ignored"].as_u64()),
        (Some(0), Some(3)),
        "{v}"
    );

    // One at a time: runs 0, 4 and 8 fail, so the third failure is run 8.
    let (code, v, _) = stress(
        &["--jobs", "1", "--max-failures", "3", "--max-runs", "100"],
        &t.path().join("maxf"),
        &[&flaky],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        (v["runs"].as_u64(), v["failures"].as_u64()),
        (Some(9), Some(3)),
        "{v}"
    );
    assert_eq!(v["stopped_by"], "max-failures");

    let (code, v, _) = stress(
        &["--jobs", "1", "--failfast"],
        &t.path().join("ff"),
        &[&flaky],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        (v["runs"].as_u64(), v["stopped_by"].as_str()),
        (Some(1), Some("max-failures")),
        "{v}"
    );

    let slow = script(t.path(), "slow.sh", "#!/bin/sh\nsleep 0.3\n");
    let (code, v, _) = stress(
        &["--jobs", "1", "--duration", "1s"],
        &t.path().join("dur"),
        &[&slow],
    );
    assert_eq!(code, Some(0));
    assert_eq!(v["stopped_by"], "duration", "{v}");
    assert!(v["runs"].as_u64().unwrap() >= 1, "{v}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, needle) in [
        (vec!["stress", "--max-runs", "1"], "CMD"),
        (vec!["stress", "--", "/nonexistent/cmd"], "no such command"),
        (
            vec!["stress", "--ignore", "(", "--", "true"],
            "not a valid regex",
        ),
        (
            vec!["stress", "--max-runs", "0", "--", "true"],
            "nothing to run",
        ),
        (
            vec!["stress", "--timeout", "5q", "--", "true"],
            "unknown unit",
        ),
    ] {
        let o = divergo().args(&args).output().unwrap();
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
