//! The static scan in every run, on real builds: the two arm64 split-SP
//! corpus programs built by go1.23.11 and go1.23.12 for arm64 and amd64 (no
//! program runs: the builds and their scans are the evidence).
//!
//! - arm64-split-sp-73259: main.bigFrame has a window in the go1.23.11/arm64
//!   build only: one `unsafe-window` finding of scope `toolchain`, new (not
//!   the known leaf issue).
//! - arm64-split-sp-leaf: main.bigLeaf has a window in both arm64 builds,
//!   none on amd64: `cross-arch`, and go-corpus/known.toml knows it.
//! - amd64 builds have no window.
//!
//! Then `divergo corpus` judges the `[[static]]` expectations (a copy of the
//! corpus entries whose trial counts are cut to one and whose run
//! expectations accept any outcome, so that only the static ones decide),
//! and fails a wrong one.

use crate::common;

use divergo::engine::executor::QemuMode;
use divergo::engine::pipeline::{self, Config, FixedTrials};
use divergo::engine::plan;
use divergo::engine::results::{Record, Stage, Writer};
use divergo::model::Arch;
use divergo::oracle::findings::{Finding, Kind};
use divergo::oracle::known;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

fn config(out: &Path) -> Config {
    let work = out.join("work");
    std::fs::create_dir_all(&work).unwrap();
    Config::standard(common::home(), out.to_path_buf(), work, 2, BTreeMap::new())
}

fn corpus_program(name: &str) -> pipeline::Program {
    let e = divergo::engine::corpus::load_entry(&common::corpus_dir().join(name)).unwrap();
    pipeline::Program {
        name: e.name,
        main_go: e.main_go,
        go_mod: e.go_mod,
        spec_json: None,
        template: None,
        seed: None,
        timeout: None,
        timeout_emulated: None,
        env: BTreeMap::new(),
    }
}

/// Build `prog` on every cell (no runs); its records, and those of a resumed
/// second pass over the first pass's records.
fn build_only(prog: &pipeline::Program, cells: &[pipeline::Cell]) -> (Vec<Record>, Vec<Record>) {
    let out = tempfile::tempdir().unwrap();
    let cfg = config(out.path());
    let writer = Mutex::new(Writer::open(out.path()).unwrap());
    let recs = pipeline::test_program(
        &cfg,
        prog,
        cells,
        &FixedTrials(0),
        &HashMap::new(),
        &writer,
        &|_| {},
    )
    .unwrap();
    // What results.jsonl holds is what was kept.
    let stored = common::records(out.path());
    assert_eq!(stored, recs);
    let done: HashMap<_, Record> = stored.into_iter().map(|r| (r.key(), r)).collect();
    let out2 = tempfile::tempdir().unwrap();
    let writer2 = Mutex::new(Writer::open(out2.path()).unwrap());
    let resumed = pipeline::test_program(
        &config(out2.path()),
        prog,
        cells,
        &FixedTrials(0),
        &done,
        &writer2,
        &|_| {},
    )
    .unwrap();
    (recs, resumed)
}

fn divergent(f: &Finding) -> Vec<String> {
    f.cells
        .iter()
        .filter(|c| c.divergent)
        .map(|c| format!("{}/{}", c.toolchain, c.arch))
        .collect()
}

fn window_functions(recs: &[Record], tc: &str, arch: Arch) -> Vec<String> {
    let b = recs
        .iter()
        .find(|r| r.stage == Stage::Build && r.toolchain == tc && r.arch == arch)
        .unwrap_or_else(|| panic!("no build record for {tc}/{arch}"));
    let facts = b
        .scan
        .as_ref()
        .unwrap_or_else(|| panic!("build {tc}/{arch} was not scanned: {b:?}"));
    assert_eq!(facts.error, None, "{tc}/{arch}");
    assert!(facts.functions_checked > 100, "{tc}/{arch}: {facts:?}");
    let mut f: Vec<String> = facts.windows.iter().map(|w| w.function.clone()).collect();
    f.dedup();
    f
}

#[test]
fn static_findings_of_the_corpus_pair_on_real_builds() {
    let home = common::home();
    common::toolchain("go1.23.11");
    common::toolchain("go1.23.12");
    let tcs = plan::resolve_toolchains(&home, &["go1.23.11".into(), "go1.23.12".into()]).unwrap();
    let cells = plan::cells(&tcs, &[Arch::Amd64, Arch::Arm64], QemuMode::OneInsnPerTb);
    let known = known::load(&common::corpus_dir().join("known.toml")).unwrap();

    for (name, func, want_scope, want_div, want_known) in [
        (
            "arm64-split-sp-73259",
            "main.bigFrame",
            "toolchain",
            vec!["go1.23.11/arm64"],
            false,
        ),
        (
            "arm64-split-sp-leaf",
            "main.bigLeaf",
            "cross-arch",
            vec!["go1.23.11/arm64", "go1.23.12/arm64"],
            true,
        ),
    ] {
        let prog = corpus_program(name);
        let (recs, resumed) = build_only(&prog, &cells);
        assert!(
            recs.iter().all(|r| r.stage == Stage::Build),
            "{name}: no runs"
        );
        assert_eq!(recs.len(), 4, "{name}");
        for arch in [Arch::Amd64] {
            for tc in ["go1.23.11", "go1.23.12"] {
                assert!(
                    window_functions(&recs, tc, arch).is_empty(),
                    "{name} {tc}/{arch}"
                );
            }
        }
        let arm = |tc| window_functions(&recs, tc, Arch::Arm64);
        match name {
            "arm64-split-sp-73259" => {
                assert_eq!(arm("go1.23.11"), vec![func]);
                assert!(arm("go1.23.12").is_empty());
            }
            _ => {
                assert_eq!(arm("go1.23.11"), vec![func]);
                assert_eq!(arm("go1.23.12"), vec![func]);
            }
        }

        let mut fs = divergo::oracle::judge::findings_for_program(&prog, &recs);
        known::label(&known, &mut fs);
        assert_eq!(fs.len(), 1, "{name}: {fs:#?}");
        let f = &fs[0];
        assert_eq!(f.kind, Kind::UnsafeWindow, "{name}");
        assert_eq!(f.scope, want_scope, "{name}");
        assert_eq!(divergent(f), want_div, "{name}");
        assert_eq!(
            f.signature,
            format!("unsafe window: split-sp-epilogue in {func}")
        );
        assert_eq!(f.bug, "unsafe window: split-sp-epilogue (golang/go#73259)");
        assert_eq!(f.p_value, None);
        assert_eq!(f.known.is_some(), want_known, "{name}: {:?}", f.known);
        assert!(!f.static_windows.is_empty());
        for w in &f.static_windows {
            assert_eq!(w.window.function, func);
            assert_eq!(w.arch, Arch::Arm64);
            assert!(w.window.sp_actual > w.window.sp_table, "{w:?}");
            assert!(w
                .line()
                .starts_with(&format!("static: window in {func} at +0x")));
        }
        // finding.json form: the kind's name, and a reader gets it back.
        let json = serde_json::to_value(f).unwrap();
        assert_eq!(json["kind"], "unsafe-window");
        let back: Finding = serde_json::from_value(json).unwrap();
        assert_eq!(back.static_windows, f.static_windows);

        if name == "arm64-split-sp-73259" {
            // A real crash of this program on go1.23.11/arm64 (harvested
            // from an earlier run of the entry as it is now,
            // tests/fixtures/classify/runs): the goroutine the unwinder
            // failed on was stopped in main.bigFrame at pc 0xa10f4, the
            // second of the build's two windows (one per RET), which the
            // dump thus confirms; the first it does not.
            let dump = std::fs::read_to_string(common::repo_root().join(
                "harness/tests/fixtures/classify/runs/crash_split_sp/arm64-split-sp-73259-go1.23.11-arm64-tbcrash-r10/stderr",
            ))
            .unwrap();
            let mut crash = vec![f.clone()];
            crash[0].kind = Kind::Crash;
            divergo::oracle::windows::confirm_from_dumps(
                &mut crash,
                &[("go1.23.11".into(), Arch::Arm64, dump)],
            );
            let confirmed: Vec<(u64, bool)> = crash[0]
                .static_windows
                .iter()
                .map(|w| (w.window.offset, w.in_crash_dump))
                .collect();
            assert_eq!(confirmed, vec![(0x60, false), (0x74, true)]);
        }
        // Resumed: the builds are redone, the scans kept, the verdict the same.
        let scans = |rs: &[Record]| -> Vec<_> {
            let mut v: Vec<_> = rs
                .iter()
                .map(|r| (r.toolchain.clone(), r.arch, r.scan.clone()))
                .collect();
            v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            v
        };
        assert_eq!(scans(&resumed), scans(&recs), "{name}");
        let again = divergo::oracle::judge::findings_for_program(&prog, &resumed);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, f.id);
    }
}

/// Copy a corpus entry into `dir` with one trial per cell and run
/// expectations that accept any outcome (so that only `[[static]]` decides),
/// replacing the static blocks with `statics` when given.
fn copy_entry(name: &str, dir: &Path, as_name: &str, statics: Option<&str>) {
    let src = common::corpus_dir().join(name);
    let dst = dir.join(as_name);
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["main.go", "go.mod"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(src.join("expect.toml")).unwrap();
    let at = text
        .find("[[static]]")
        .expect("the entry states static results");
    let shipped_statics = &text[at..];
    let head = &text[..text.find("[[expect]]").unwrap()];
    let head = head.replace("trials = 8", "trials = 1");
    assert!(head.contains("trials = 1"), "{head}");
    let toml = format!(
        "{head}[[expect]]\noutcome = [\"ok\", \"fatal\", \"signal\"]\nwhen = \"any\"\n\n{}",
        statics.unwrap_or(shipped_statics)
    );
    std::fs::write(dst.join("expect.toml"), toml).unwrap();
}

#[test]
fn corpus_checks_static_expectations() {
    common::toolchain("go1.23.11");
    common::toolchain("go1.23.12");
    let corpus = tempfile::tempdir().unwrap();
    copy_entry(
        "arm64-split-sp-73259",
        corpus.path(),
        "arm64-split-sp-73259",
        None,
    );
    copy_entry(
        "arm64-split-sp-leaf",
        corpus.path(),
        "arm64-split-sp-leaf",
        None,
    );
    // A wrong expectation: go1.23.12 does not have the non-leaf window.
    copy_entry(
        "arm64-split-sp-73259",
        corpus.path(),
        "wrong-static",
        Some("[[static]]\narchs = [\"arm64\"]\nwindows = [\"main.bigFrame\"]\n"),
    );
    let out = tempfile::tempdir().unwrap();
    let o = common::divergo()
        .args([
            "corpus",
            "--quiet",
            "--toolchains",
            "go1.23.11,go1.23.12",
            "--arch",
            "arm64",
        ])
        .arg("--dir")
        .arg(corpus.path())
        .arg("--out")
        .arg(out.path().join("r"))
        .output()
        .unwrap();
    let (_, err) = common::text(&o);
    let summary = std::fs::read_to_string(out.path().join("r/summary.md")).unwrap();
    assert_eq!(o.status.code(), Some(1), "{err}\n{summary}");
    assert!(
        summary.contains("## Corpus expectations (1 failed)"),
        "{summary}"
    );
    let row = |entry: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("| {entry} |")))
            .unwrap_or_else(|| panic!("no row {entry}: {summary}"))
            .to_string()
    };
    let cols = |entry: &str| -> Vec<String> {
        row(entry)
            .split(" | ")
            .skip(1)
            .map(|s| s.trim_end_matches(" |").to_string())
            .collect()
    };
    // Columns: go1.23.11 arm64, go1.23.12 arm64.
    let c = cols("arm64-split-sp-73259");
    assert!(
        c[0].contains("static PASS window in main.bigFrame (want window in main.bigFrame)"),
        "{c:?}"
    );
    assert!(
        c[1].contains("static PASS no window (want no window)"),
        "{c:?}"
    );
    let c = cols("arm64-split-sp-leaf");
    for cell in &c {
        assert!(cell.contains("static PASS window in main.bigLeaf"), "{c:?}");
    }
    let c = cols("wrong-static");
    assert!(c[0].contains("static PASS"), "{c:?}");
    assert!(
        c[1].contains("static FAIL no window (want window in main.bigFrame)"),
        "{c:?}"
    );
}

/// `divergo run` on the first generated bigstack program with a big
/// non-leaf frame (seed 2): the static toolchain finding, in finding.json
/// and summary.md, the same after `--resume`, and `divergo replay` of it
/// (builds and scans only) reproduces it.
#[test]
fn run_reports_and_replays_the_static_toolchain_finding() {
    common::toolchain("go1.23.11");
    common::toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("r");
    let run = |extra: &[&str]| {
        let mut c = common::divergo();
        c.args(["run", "--quiet", "--json"]);
        if extra.is_empty() {
            c.arg("--no-known")
                .args(["--toolchains", "go1.23.11,go1.23.12", "--arch", "arm64"])
                .args(["--templates", "bigstack", "--seed", "2", "--count", "1"])
                .args(["--trials", "1", "--out"])
                .arg(&dir);
        } else {
            c.args(extra).arg(&dir);
        }
        let o = c.output().unwrap();
        let (stdout, err) = common::text(&o);
        assert_eq!(o.status.code(), Some(1), "new findings exit 1: {err}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "unsafe-window")
            .map(|f| {
                let div = common::divergent(f);
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["scope"].as_str().unwrap().to_string(),
                    div,
                )
            })
            .collect::<Vec<_>>()
    };
    let first = run(&[]);
    assert_eq!(first.len(), 1, "{first:?}");
    let (id, scope, div) = &first[0];
    assert_eq!(scope, "toolchain");
    assert_eq!(div, &vec!["go1.23.11/arm64".to_string()]);
    let recs = common::records(&dir);
    let builds: Vec<&Record> = recs.iter().filter(|r| r.stage == Stage::Build).collect();
    assert_eq!(builds.len(), 2);
    assert!(builds
        .iter()
        .all(|b| b.scan.as_ref().is_some_and(|s| s.error.is_none())));
    let fj: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("findings").join(id).join("finding.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(fj["kind"], "unsafe-window");
    assert!(!fj["static_windows"].as_array().unwrap().is_empty());
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("- static: window in main."), "{summary}");

    // Resumed when complete: nothing more runs, the same static finding.
    assert_eq!(run(&["--resume"]), first);

    let o = common::divergo()
        .arg("replay")
        .arg(dir.join("findings").join(id))
        .output()
        .unwrap();
    let (_, err) = common::text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("builds and scans only"), "{err}");
    assert!(
        err.contains("reproduced: UnsafeWindow on the same cells"),
        "{err}"
    );
}

/// `--stop-on-first`: builds whose scans already show a new static finding
/// stop the run before any trial. The corpus pair's go1.23.11 arm64 build
/// has the split-SP window and go1.23.12's does not (exact), so the run
/// ends with that finding, no run record, and the second entry untouched.
/// Without the flag the same program's trials run.
#[test]
fn stop_on_first_stops_on_a_static_finding_before_any_trial() {
    common::toolchain("go1.23.11");
    common::toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let run = |stop: bool, dir: &Path| {
        let mut c = common::divergo();
        c.args(["run", "--quiet", "--json", "--no-triage", "--trials", "1"])
            .args(["--corpus"])
            .arg(common::corpus_dir())
            .args([
                "--filter",
                if stop {
                    "arm64-split-sp"
                } else {
                    "arm64-split-sp-73259"
                },
            ])
            .args(["--toolchains", "go1.23.11,go1.23.12", "--arch", "arm64"]);
        if stop {
            c.arg("--stop-on-first");
        }
        let o = c.arg("--out").arg(dir).output().unwrap();
        let (stdout, err) = common::text(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        (v, common::records(dir))
    };
    let dir = out.path().join("stop");
    let (v, recs) = run(true, &dir);
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "unsafe-window", "{v}");
    assert_eq!(common::divergent(f), ["go1.23.11/arm64"], "{v}");
    assert!(recs.iter().all(|r| r.stage == Stage::Build), "no trial ran");
    let programs: std::collections::BTreeSet<&str> =
        recs.iter().map(|r| r.program.as_str()).collect();
    assert_eq!(
        programs.len(),
        1,
        "the run stopped at the first entry: {programs:?}"
    );

    let dir = out.path().join("all");
    let (_, recs) = run(false, &dir); // the first entry alone, as far as trials

    assert!(recs.iter().any(|r| r.stage == Stage::Run), "trials ran");
}

/// The generator asks the oracle: a bigstack program's go1.23.11/arm64
/// build is scanned, the spec is focused on the functions with windows
/// (`ProgramSpec::focus_windows`), and the focused program's build still
/// has windows, in fewer drivers. Seeds whose builds have no window, or
/// nothing to drop, are skipped; at least two of the first twelve must be
/// focusable, so the test cannot pass on nothing.
#[test]
fn a_program_focused_on_its_windows_keeps_them() {
    let home = common::home();
    common::toolchain("go1.23.11");
    let tcs = plan::resolve_toolchains(&home, &["go1.23.11".into()]).unwrap();
    let cells = plan::cells(&tcs, &[Arch::Arm64], QemuMode::OneInsnPerTb);
    let program = |p: &divergo::gen::Program, name: String| pipeline::Program {
        name,
        main_go: p.main_go.clone(),
        go_mod: p.go_mod.clone(),
        spec_json: None,
        template: None,
        seed: None,
        timeout: None,
        timeout_emulated: None,
        env: BTreeMap::new(),
    };
    let drivers = |s: &divergo::gen::ProgramSpec| -> usize {
        s.bigstack.iter().map(|c| c.drivers.len()).sum::<usize>() + s.case_count()
    };
    let mut focused = 0;
    for seed in 1..=12u64 {
        let p = divergo::gen::generate(seed, &[divergo::gen::Family::Bigstack]);
        let (recs, _) = build_only(&program(&p, format!("seed-{seed}")), &cells);
        let w: std::collections::BTreeSet<String> =
            window_functions(&recs, "go1.23.11", Arch::Arm64)
                .into_iter()
                .collect();
        let Some(spec) = p.spec.focus_windows(&w) else {
            continue;
        };
        focused += 1;
        assert!(drivers(&spec) < drivers(&p.spec), "seed {seed}: {spec:?}");
        let q = divergo::gen::render(&spec);
        divergo::gen::check_invariants(&q).unwrap();
        let (recs, _) = build_only(&program(&q, format!("seed-{seed}-focused")), &cells);
        let w2 = window_functions(&recs, "go1.23.11", Arch::Arm64);
        assert!(
            !w2.is_empty() && w2.iter().all(|f| f.starts_with("main.")),
            "seed {seed}: windows {w:?} before focusing, {w2:?} after\n{}",
            q.main_go
        );
    }
    assert!(
        focused >= 2,
        "only {focused} of 12 bigstack seeds focusable"
    );
}
