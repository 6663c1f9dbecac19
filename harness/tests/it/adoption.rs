//! What a team adopting divergo leans on: a divergo.toml that drives `run`
//! (flags and environment over the file, bad keys and values named with the
//! file and line), and the findings history that makes a nightly run say
//! what is new (real runs of programs whose behaviour is certain: their
//! output is decided by `runtime.Version()`).

use crate::common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A corpus entry printing a checksum with go1.23.11 that go1.23.12 does not
/// (a wrong-output finding on the go1.23.11 cell, every run).
const WRONG_ON_11: &str = r#"package main

import (
	"fmt"
	"runtime"
)

//go:noinline
func value() uint64 {
	if runtime.Version() == "go1.23.11" {
		return 8
	}
	return 7
}

func main() {
	fmt.Printf("checksum: %016x\n", value())
}
"#;

/// A corpus entry that panics with go1.23.12 only (a crash finding, every run).
const PANIC_ON_12: &str = r#"package main

import (
	"fmt"
	"runtime"
)

func main() {
	if runtime.Version() == "go1.23.12" {
		panic("planted regression in go1.23.12")
	}
	fmt.Printf("checksum: %016x\n", 7)
}
"#;

fn entry(corpus: &Path, name: &str, main: &str) {
    let d = corpus.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("main.go"), main).unwrap();
    std::fs::write(d.join("go.mod"), "module x\n\ngo 1.14\n").unwrap();
    std::fs::write(
        d.join("expect.toml"),
        "description = \"certain by runtime.Version()\"\ntrials = 2\ntimeout_s = 10\n\n\
         [[expect]]\noutcome = [\"ok\", \"panic\"]\n",
    )
    .unwrap();
}

/// `divergo` in `dir`, reading the divergo.toml there (the tests' default
/// of no config file undone).
fn divergo_in(dir: &Path) -> Command {
    let mut c = divergo();
    c.current_dir(dir)
        .env_remove("DIVERGO_CONFIG")
        .env_remove("DIVERGO_HISTORY");
    c
}

fn run(dir: &Path, out: &str) -> (Option<i32>, Value, String) {
    let o = divergo_in(dir)
        .args(["run", "--json", "--out", out])
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{err}"));
    (o.status.code(), v, err)
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["history"]["status"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    s.sort();
    s
}

/// Two runs over the same programs: the first says the finding is new and
/// exits 1, the second says it was seen before and exits 0. After `findings
/// ack`, a planted regression (a new program that panics on the newer
/// release) is new and exits 1, and the acknowledged one says so. The config
/// file drives every run (matrix, corpus, history path); summary.md and
/// report.html (in headless Chromium, screenshot kept) show the history.
#[test]
fn nightly_runs_say_what_is_new_since_the_last_one() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let corpus = dir.join("corpus");
    entry(&corpus, "wrong-on-11", WRONG_ON_11);
    std::fs::write(
        dir.join("divergo.toml"),
        "# the team's nightly\ntoolchains = [\"go1.23.11\", \"go1.23.12\"]\narch = [\"amd64\"]\n\
         history = \"history.db\"\n\n[run]\ncorpus = \"corpus\"\nno-triage = true\n\
         opt-axis = \"off\"\nquiet = true\n",
    )
    .unwrap();

    let (code, v, err) = run(dir, "night-1");
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(statuses(&v), [("wrong_output".into(), "new".into())], "{v}");
    let id = v["findings"][0]["id"].as_str().unwrap().to_string();

    let (code, v, err) = run(dir, "night-2");
    assert_eq!(code, Some(0), "seen before is not new: {err}");
    assert_eq!(
        statuses(&v),
        [("wrong_output".into(), "seen".into())],
        "{v}"
    );
    let summary = std::fs::read_to_string(dir.join("night-2/summary.md")).unwrap();
    assert!(
        summary.contains("## Since the last run\n\n0 new, 0 regressed, 1 seen before"),
        "{summary}"
    );
    assert!(
        summary.contains("history: seen before; first seen"),
        "{summary}"
    );
    let junit = valid_junit(&dir.join("night-2/junit.xml"));
    assert!(!junit.contains("<failure"), "{junit}");

    let o = divergo_in(dir)
        .args([
            "findings",
            "ack",
            &id[..6],
            "--note",
            "decided by runtime.Version()",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);

    entry(&corpus, "panic-on-12", PANIC_ON_12);
    let (code, v, err) = run(dir, "night-3");
    assert_eq!(code, Some(1), "the planted regression is new: {err}");
    assert_eq!(
        statuses(&v),
        [
            ("crash".into(), "new".into()),
            ("wrong_output".into(), "acknowledged".into())
        ],
        "{v}"
    );
    let summary = std::fs::read_to_string(dir.join("night-3/summary.md")).unwrap();
    assert!(
        summary.contains("1 new, 0 regressed, 0 seen before, 1 acknowledged"),
        "{summary}"
    );
    assert!(
        summary.contains("note: decided by runtime.Version()"),
        "{summary}"
    );

    let o = divergo_in(dir)
        .args(["findings", "list", "--json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_str(text(&o).0.trim()).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    let page = dir.join("night-3/report.html");
    let url = format!("file://{}", page.display());
    let (dom, _) = chromium(&["--dump-dom"], &url);
    assert!(dom.contains("Since the last run"), "{dom}");
    assert!(
        dom.contains("1 new or regressed, 1 seen before or acknowledged"),
        "{dom}"
    );
    assert!(dom.contains("class=\"history alarm\""), "{dom}");
    assert!(dom.contains("<svg class=\"chart\""), "{dom}");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("history.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,900",
            "--hide-scrollbars",
        ],
        &url,
    );
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
}

/// Two runs recording into one database at the same time: both runs and
/// their finding are there afterwards.
#[test]
fn two_runs_at_once_share_one_history() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let t = tempfile::tempdir().unwrap();
    let corpus = t.path().join("corpus");
    entry(&corpus, "wrong-on-11", WRONG_ON_11);
    let db = t.path().join("h.db");
    let spawn = |out: &str| {
        divergo()
            .args(["run", "--quiet", "--no-triage", "--arch", "amd64"])
            .args(["--toolchains", "go1.23.11,go1.23.12"])
            .arg("--corpus")
            .arg(&corpus)
            .arg("--history")
            .arg(&db)
            .arg("--out")
            .arg(t.path().join(out))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    // One of them saw it first (exit 1), the other after it (exit 0).
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(1)], "{}\n{}", text(&a).1, text(&b).1);
    let o = divergo()
        .args(["findings", "show", "--json", "--history"])
        .arg(&db)
        .arg(
            serde_json::from_str::<Value>(
                &std::fs::read_to_string(
                    std::fs::read_dir(t.path().join("a/findings"))
                        .unwrap()
                        .next()
                        .unwrap()
                        .unwrap()
                        .path()
                        .join("finding.json"),
                )
                .unwrap(),
            )
            .unwrap()["id"]
                .as_str()
                .unwrap(),
        )
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(text(&o).0.trim()).unwrap();
    assert_eq!(v["runs_seen"], 2, "{v}");
    assert_eq!(v["runs"].as_array().unwrap().len(), 2, "{v}");
}

/// Flags beat the environment, which beats the file, which beats the
/// defaults; `divergo config` says where each setting came from.
#[test]
fn config_file_precedence_and_sources() {
    let t = tempfile::tempdir().unwrap();
    let sub = t.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        t.path().join("divergo.toml"),
        "jobs = 1\ntrials = 7\n\n[run]\nfamilies = [\"closures\", \"expr\"]\ntrials = 9\n\
         opt_axis = \"all\"\ntimeout = \"20s\"\n",
    )
    .unwrap();
    let o = divergo_in(&sub)
        .args(["config", "run"])
        .env("DIVERGO_OPT_AXIS", "newest")
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let line = |flag: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("--{flag} ")))
            .unwrap_or_else(|| panic!("{flag}: {out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let file = t.path().join("divergo.toml").display().to_string();
    assert_eq!(line("jobs")[1..], ["1".to_string(), format!("{file}:1")]);
    // The [run] section wins over the top level.
    assert_eq!(line("trials")[1..], ["9".to_string(), format!("{file}:6")]);
    assert_eq!(line("families")[1], "closures,expr");
    assert_eq!(line("opt-axis")[1..], ["newest", "env", "DIVERGO_OPT_AXIS"]);
    assert_eq!(line("gogc")[1..], ["25", "default"]);

    // A real run: the flag wins over the file (1 program, not the default
    // 20; trials 2, not 9); the file's families and timeout are used.
    let out_dir = t.path().join("r");
    let o = divergo_in(&sub)
        .args([
            "run", "--quiet", "--count", "1", "--trials", "2", "--seed", "3",
        ])
        .args([
            "--toolchains",
            &toolchain("go1.23.12").name,
            "--arch",
            "amd64",
        ])
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(o.status.code().unwrap() <= 1, "{}", text(&o).1);
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(plan["trials"], 2, "{plan}");
    assert_eq!(plan["timeout_s"], 20.0, "{plan}");
    assert_eq!(plan["programs"]["count"], 1, "{plan}");
    assert_eq!(
        plan["programs"]["templates"],
        serde_json::json!(["closures", "expr"]),
        "{plan}"
    );
}

/// A bad key or value in the file is one line naming the file and line, exit 2.
#[test]
fn config_file_bad_input_is_one_line_with_file_and_line() {
    for (text_, needle) in [
        (
            "[run]\ntrials = \"many\"\n",
            "divergo.toml:2: invalid value 'many' for '--trials",
        ),
        (
            "[run]\n\nbogus = 1\n",
            "divergo.toml:3: unknown key `bogus` in [run]",
        ),
        (
            "colour = \"red\"\n",
            "divergo.toml:1: unknown key `colour`: no command has",
        ),
        ("[nightlyy]\ncount = 1\n", "unknown section [nightlyy]"),
        (
            "[run]\narch = [\"sparc64\"]\n",
            "divergo.toml:2: invalid value 'sparc64' for '--arch",
        ),
        ("[run\n", "divergo.toml:1: invalid table header"),
        (
            "[run]\nno_triage = \"yes\"\n",
            "divergo.toml:2: run.no-triage: expected true or false",
        ),
    ] {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("divergo.toml"), text_).unwrap();
        let o = divergo_in(t.path())
            .args(["run", "--count", "1"])
            .output()
            .unwrap();
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{text_:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{text_:?}: {err}");
        assert!(err.contains(needle), "{text_:?}: {err}");
    }
    let o = divergo()
        .args(["--config", "/nonexistent/divergo.toml", "run"])
        .env_remove("DIVERGO_CONFIG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("no such file"), "{}", text(&o).1);
}

/// Findings commands: a missing database or unknown id is bad input; a
/// damaged database is an error naming it, and the file is left alone.
#[test]
fn findings_commands_refuse_what_they_cannot_read() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("h.db");
    let o = divergo()
        .args(["findings", "list", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("no findings history at"),
        "{}",
        text(&o).1
    );
    std::fs::write(&db, "not a database\n").unwrap();
    let o = divergo()
        .args(["findings", "ack", "abc", "--note", "x", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).1.contains("is damaged"), "{}", text(&o).1);
    assert_eq!(std::fs::read_to_string(&db).unwrap(), "not a database\n");
}

/// `qualify` takes its required toolchains from the file's [qualify]
/// section (the run gets as far as comparing them), and a flag overrides one.
#[test]
fn config_file_drives_qualify() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("divergo.toml"),
        "[qualify]\nbaseline = \"go1.23.12\"\ncandidate = \"go1.23.12\"\ncount = 1\n",
    )
    .unwrap();
    let o = divergo_in(t.path()).arg("qualify").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .1
            .contains("--baseline and --candidate are both go1.23.12"),
        "{}",
        text(&o).1
    );
    let o = divergo_in(t.path())
        .args(["qualify", "--candidate", "go1.99.0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("go1.99.0"), "{}", text(&o).1);
}

/// The nightly path: shards never record, their merge does. The same shard
/// merged twice into one history: the first merge says the finding is new
/// (exit 1), the second that it was seen before (exit 0).
#[test]
fn merges_record_the_night_and_shards_do_not() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let t = tempfile::tempdir().unwrap();
    let corpus = t.path().join("corpus");
    entry(&corpus, "wrong-on-11", WRONG_ON_11);
    let db = t.path().join("h.db");
    let o = divergo()
        .args([
            "run",
            "--quiet",
            "--no-triage",
            "--arch",
            "amd64",
            "--shard",
            "1/1",
        ])
        .args(["--toolchains", "go1.23.11,go1.23.12", "--corpus"])
        .arg(&corpus)
        .arg("--history")
        .arg(&db)
        .arg("--out")
        .arg(t.path().join("shard-1"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o).1);
    assert!(!db.exists(), "a shard recorded the history");
    for (night, want) in [("m1", 1), ("m2", 0)] {
        let o = divergo()
            .args(["merge", "--json", "--history"])
            .arg(&db)
            .arg(t.path().join("shard-1"))
            .arg("--out")
            .arg(t.path().join(night))
            .output()
            .unwrap();
        let (stdout, err) = text(&o);
        assert_eq!(o.status.code(), Some(want), "{night}: {err}");
        let v: Value = serde_json::from_str(stdout.trim()).unwrap();
        let status = if want == 1 { "new" } else { "seen" };
        assert_eq!(
            v["findings"][0]["history"]["status"], status,
            "{night}: {v}"
        );
    }
}
