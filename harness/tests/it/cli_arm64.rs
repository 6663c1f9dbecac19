//! arm64 next to amd64: executor detection on this machine's real qemu, an
//! arm64 program under qemu-user, the golang/go#73259 corpus entry on both
//! archs, and a missing qemu as `infra`.

use crate::common;
use common::*;
use divergo::engine::executor::{self, ExecutorKind, QemuMode};
use divergo::engine::results::Stage;
use divergo::model::{Arch, Class, ExitStatus};
use std::time::Duration;

fn qemu_version_text() -> String {
    let o = std::process::Command::new("qemu-aarch64-static")
        .arg("--version")
        .output()
        .expect(
            "qemu-aarch64-static must be installed (scripts/setup.sh installs qemu-user-static)",
        );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn executor_detection_uses_the_real_qemu() {
    assert_eq!(
        Arch::host(),
        Some(Arch::Amd64),
        "these tests expect an x86-64 host"
    );
    let native = executor::detect(Arch::Amd64, QemuMode::OneInsnPerTb).unwrap();
    assert_eq!(native.kind, ExecutorKind::Native);
    assert_eq!(native.label(), "amd64 (native)");

    let version = executor::parse_qemu_version(&qemu_version_text()).unwrap();
    let e = executor::detect(Arch::Arm64, QemuMode::OneInsnPerTb).unwrap();
    let ExecutorKind::QemuUser {
        version: v, mode, ..
    } = &e.kind
    else {
        panic!("{e:?}")
    };
    assert_eq!(*v, version);
    assert_eq!(*mode, QemuMode::OneInsnPerTb);
    assert_eq!(
        e.label(),
        format!(
            "arm64 (qemu-user {}.{}, one insn per TB)",
            version.0, version.1
        )
    );
    let (_, _, env) = e.command(std::path::Path::new("/bin/true"));
    let want = if version >= (8, 1, 0) {
        "QEMU_ONE_INSN_PER_TB"
    } else {
        "QEMU_SINGLESTEP"
    };
    assert_eq!(env, vec![(want.to_string(), "1".to_string())]);

    let plain = executor::detect(Arch::Arm64, QemuMode::Plain).unwrap();
    assert!(plain.label().ends_with(", plain)"), "{}", plain.label());
    assert!(plain
        .command(std::path::Path::new("/bin/true"))
        .2
        .is_empty());
}

#[test]
fn arm64_program_runs_under_qemu() {
    let tc = toolchain("go1.25");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.go"),
        r#"package main

import (
	"fmt"
	"runtime"
)

func main() {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(runtime.GOARCH) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	fmt.Println(runtime.GOARCH)
	fmt.Printf("checksum: %016x\n", h)
}
"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("go.mod"), "module x\n\ngo 1.14\n").unwrap();
    let mut sums = vec![];
    for arch in [Arch::Arm64, Arch::Amd64] {
        let bin = dir.path().join(format!("prog-{arch}"));
        let b = divergo::engine::build::build(&divergo::engine::build::BuildRequest {
            src_dir: dir.path().to_path_buf(),
            goroot: tc.goroot.clone(),
            arch,
            out: bin.clone(),
            gocache: divergo::toolchain::registry::gocache(&home(), &tc.name),
            gopath: home().join("gopath"),
            timeout: Duration::from_secs(300),
            noopt: false,
            mode: None,
        });
        assert_eq!(b.outcome.class, Class::Ok, "{}", b.log);
        for mode in [QemuMode::OneInsnPerTb, QemuMode::Plain] {
            let e = executor::detect(arch, mode).unwrap();
            let (prog, args, env) = e.command(&bin);
            let mut spec = divergo::exec::ExecSpec::new(prog, dir.path());
            spec.args = args;
            spec.env = env;
            spec.timeout = Duration::from_secs(120);
            let r = divergo::exec::run(&spec);
            assert_eq!(
                r.exit,
                Some(ExitStatus::Code(0)),
                "{arch} {mode:?}: {}",
                r.stderr
            );
            assert!(r.stdout.starts_with(&format!("{arch}\n")), "{}", r.stdout);
            let o =
                divergo::oracle::classify::classify_run(&divergo::oracle::classify::RunEvidence {
                    exit: r.exit,
                    stdout: &r.stdout,
                    stderr: &r.stderr,
                    ..Default::default()
                });
            assert_eq!(o.class, Class::Ok);
            sums.push((arch, o.checksum.expect("checksum")));
        }
    }
    // The checksum depends on GOARCH: the arm64 binary really ran as arm64.
    assert_eq!(sums[0].1, sums[1].1);
    assert_eq!(sums[2].1, sums[3].1);
    assert_ne!(sums[0].1, sums[2].1);
}

/// golang/go#73259 with a bounded budget: under one-insn-per-TB qemu,
/// go1.23.11/arm64 crashes within seconds; go1.23.12/arm64 and amd64 do not.
#[test]
fn split_sp_corpus_entry_on_both_archs() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let o = corpus_cmd(
        Some("arm64-split-sp-73259"),
        "amd64,arm64",
        "go1.23.11,go1.23.12",
        out.path(),
    )
    .output()
    .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let recs = records(out.path());
    let runs = |tc: &str, arch: Arch| cell_runs(&recs, tc, arch);
    let crashed = runs("go1.23.11", Arch::Arm64);
    assert!(crashed
        .iter()
        .any(|r| matches!(r.outcome, Class::Fatal | Class::Signal)));
    assert!(crashed
        .iter()
        .all(|r| r.executor.contains("qemu-user") && r.executor.contains("one insn per TB")));
    for (tc, arch) in [
        ("go1.23.12", Arch::Arm64),
        ("go1.23.11", Arch::Amd64),
        ("go1.23.12", Arch::Amd64),
    ] {
        let rs = runs(tc, arch);
        assert_eq!(rs.len(), 8, "{tc} {arch}");
        assert!(
            rs.iter().all(|r| r.outcome == Class::Ok),
            "{tc} {arch}: {rs:?}"
        );
    }
    assert!(runs("go1.23.11", Arch::Amd64)
        .iter()
        .all(|r| r.executor == "amd64 (native)"));
}

/// The leaf-function variant of golang/go#73259 is not covered by its fix:
/// under one-insn-per-TB qemu the newest go1.25.x crashes on arm64 too,
/// while a plain-qemu run of the same binary (blind to the window) and
/// amd64 stay clean.
#[test]
fn split_sp_leaf_variant_crashes_a_fixed_toolchain() {
    let newest = toolchain("go1.25");
    let out = tempfile::tempdir().unwrap();
    let o = corpus_cmd(
        Some("arm64-split-sp-leaf"),
        "amd64,arm64",
        "go1.25",
        out.path(),
    )
    .output()
    .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let recs = records(out.path());
    let runs = |arch: Arch| cell_runs(&recs, &newest.name, arch);
    let arm = runs(Arch::Arm64);
    let crash = arm
        .iter()
        .find(|r| matches!(r.outcome, Class::Fatal | Class::Signal))
        .unwrap_or_else(|| panic!("no arm64 crash: {arm:?}"));
    assert!(crash.signature.contains("unwind"), "{crash:?}");
    assert!(crash.executor.contains("one insn per TB"), "{crash:?}");
    let amd = runs(Arch::Amd64);
    assert_eq!(amd.len(), 8);
    assert!(amd.iter().all(|r| r.outcome == Class::Ok), "{amd:?}");

    // Plain qemu delivers signals only between translation blocks: the same
    // entry runs clean there.
    let plain = tempfile::tempdir().unwrap();
    let o = corpus_cmd(Some("arm64-split-sp-leaf"), "arm64", "go1.25", plain.path())
        .args(["--qemu-mode", "plain"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    let recs = records(plain.path());
    let runs: Vec<_> = recs.iter().filter(|r| r.stage == Stage::Run).collect();
    assert_eq!(runs.len(), 8, "{err}");
    assert!(runs.iter().all(|r| r.outcome == Class::Ok), "{runs:?}");
    // ...so the expectation (a crash) is not met, and the run says so.
    assert_eq!(o.status.code(), Some(1), "{err}");
}

/// The default qemu mode, auto, single-steps only programs whose arm64 build
/// has a window the scan knows: the split-SP entries above ran one insn per
/// TB; a program without large frames runs plain (fast) and says so.
#[test]
fn auto_mode_runs_a_program_without_windows_plain() {
    let newest = toolchain("go1.25");
    let out = tempfile::tempdir().unwrap();
    let o = corpus_cmd(Some("ok-checksum"), "arm64", "go1.25", out.path())
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let recs = records(out.path());
    let build = recs
        .iter()
        .find(|r| r.stage == Stage::Build && r.toolchain == newest.name)
        .unwrap_or_else(|| panic!("no build record: {recs:?}"));
    let scan = build.scan.as_ref().expect("the build was scanned");
    assert!(scan.windows.is_empty(), "{scan:?}");
    let runs = cell_runs(&recs, &newest.name, Arch::Arm64);
    assert!(!runs.is_empty(), "{err}");
    for r in &runs {
        assert!(r.executor.ends_with(", plain)"), "{r:?}");
        assert_eq!(r.outcome, Class::Ok, "{r:?}");
    }
}

#[test]
fn missing_qemu_is_infra_with_install_hint() {
    toolchain("go1.23.12");
    let out = tempfile::tempdir().unwrap();
    let o = corpus_cmd(Some("ok-checksum"), "amd64,arm64", "go1.23.12", out.path())
        .env("PATH", "/nonexistent-bin")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let recs = records(out.path());
    let arm: Vec<_> = recs
        .iter()
        .filter(|r| r.arch == Arch::Arm64 && r.stage == Stage::Run)
        .collect();
    assert_eq!(arm.len(), 1, "{arm:?}");
    assert_eq!(arm[0].outcome, Class::Infra);
    assert!(
        arm[0]
            .signature
            .contains("apt-get install qemu-user-static"),
        "{}",
        arm[0].signature
    );
    let amd: Vec<_> = recs
        .iter()
        .filter(|r| r.arch == Arch::Amd64 && r.stage == Stage::Run)
        .collect();
    assert_eq!(amd.len(), 2);
    assert!(amd.iter().all(|r| r.outcome == Class::Ok));
}

/// `--emulated-cpus 1` pins every emulated run to one CPU and leaves native
/// runs alone: a program that prints runtime.NumCPU() (the Go runtime reads
/// its CPU affinity at start, through qemu-user too) sees 1 under qemu and
/// every CPU natively; without the flag it sees every CPU under qemu as well.
#[test]
fn emulated_cpus_pins_the_emulated_runs_only() {
    toolchain("go1.25");
    let corpus = tempfile::tempdir().unwrap();
    let e = corpus.path().join("numcpu");
    std::fs::create_dir(&e).unwrap();
    std::fs::write(
        e.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n)\n\nfunc main() {\n\t\
         fmt.Printf(\"checksum: %016x\\n\", runtime.NumCPU())\n}\n",
    )
    .unwrap();
    std::fs::write(e.join("go.mod"), "module numcpu\n\ngo 1.14\n").unwrap();
    std::fs::write(
        e.join("expect.toml"),
        "description = \"prints its CPU count\"\ntrials = 1\ntimeout_s = 10\n\n\
         [[expect]]\noutcome = [\"ok\"]\n",
    )
    .unwrap();
    let host = divergo::exec::allowed_cpus().len();
    let sum = |n: usize| Some(format!("{n:016x}"));
    for (flag, arm64_sees) in [(Some("1"), 1), (None, host)] {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = divergo();
        cmd.args(["run", "--quiet", "--no-triage", "--trials", "1"])
            .args([
                "--toolchains",
                "go1.25",
                "--arch",
                "amd64,arm64",
                "--corpus",
            ])
            .arg(corpus.path())
            .arg("--out")
            .arg(out.path());
        if let Some(n) = flag {
            cmd.args(["--emulated-cpus", n]);
        }
        let o = cmd.output().unwrap();
        let (_, err) = text(&o);
        let recs = records(out.path());
        let runs: Vec<_> = recs.iter().filter(|r| r.stage == Stage::Run).collect();
        assert_eq!(runs.len(), 2, "{err}");
        for r in runs {
            assert_eq!(r.outcome, Class::Ok, "{r:?}");
            let want = if r.arch == Arch::Arm64 {
                arm64_sees
            } else {
                host
            };
            assert_eq!(r.checksum, sum(want), "{flag:?} {}: {err}", r.arch);
        }
        let plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.path().join("run.json")).unwrap()).unwrap();
        assert_eq!(
            plan["emulated_cpus"].as_u64().unwrap_or(0),
            flag.map_or(0, |_| 1)
        );
        if flag.is_some() && host > 1 {
            // The two archs print different counts: a finding, whose
            // reproducer pins the emulated run as the run was pinned.
            let fdir = std::fs::read_dir(out.path().join("findings"))
                .unwrap()
                .next()
                .expect("a finding")
                .unwrap()
                .path();
            let f: serde_json::Value =
                serde_json::from_slice(&std::fs::read(fdir.join("finding.json")).unwrap()).unwrap();
            assert_eq!(f["run_emulated_cpus"], 1);
            let sh = std::fs::read_to_string(fdir.join("repro.sh")).unwrap();
            assert!(sh.contains("'taskset -c 0-0 "), "{sh}");
        }
    }
}

/// The default matrix covers every default toolchain on both archs except
/// go1.14.1 under emulation, and its first lines say why that cell is missing;
/// run.json keeps the omission, so a resume runs the same cells. (Without a
/// registered go1.14.1 there is nothing to omit: the run then has no go1.14.1
/// cell at all and says that go1.14.1 is not registered.)
#[test]
fn default_matrix_leaves_out_go1141_under_emulation_and_says_why() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    toolchain("go1.25");
    let have_1141 = divergo::toolchain::registry::find(&home(), "go1.14.1").is_some();
    let out = tempfile::tempdir().unwrap();
    let o = divergo()
        .args(["run", "--no-triage", "--templates", "expr", "--seed", "3"])
        .args(["--count", "1", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("matrix (default toolchains, default archs)"),
        "{err}"
    );
    let recs = records(out.path());
    for tc in ["go1.23.11", "go1.23.12"] {
        for arch in [Arch::Amd64, Arch::Arm64] {
            assert!(!cell_runs(&recs, tc, arch).is_empty(), "{tc}/{arch}: {err}");
        }
    }
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("run.json")).unwrap()).unwrap();
    let arm_1141 = recs
        .iter()
        .filter(|r| r.toolchain == "go1.14.1" && r.arch == Arch::Arm64)
        .count();
    assert_eq!(arm_1141, 0, "{err}");
    if have_1141 {
        assert!(
            !cell_runs(&recs, "go1.14.1", Arch::Amd64).is_empty(),
            "{err}"
        );
        assert!(err.contains("go1.14.1 × arm64 is left out"), "{err}");
        assert_eq!(
            plan["omit"],
            serde_json::json!(["go1.14.1/arm64"]),
            "{plan}"
        );
    } else {
        assert!(err.contains("go1.14.1 is not registered"), "{err}");
        assert!(plan.get("omit").is_none(), "{plan}");
    }
}
