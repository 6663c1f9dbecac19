//! The GitHub Actions workflows: actionlint passes on them, and the nightly
//! job's steps (scripts/ci/nightly-*.sh, which the workflow runs) work when
//! run here the way the workflow runs them: two shards, one per arch (arm64
//! under qemu-user, as an x86-64 machine runs it), then the merge.

use crate::common;
use common::*;
use std::path::Path;
use std::process::Command;

/// actionlint, at a fixed version, from the Go module proxy.
const ACTIONLINT: &str = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12";

#[test]
fn actionlint_passes_on_every_workflow() {
    let root = repo_root();
    let files: Vec<_> = std::fs::read_dir(root.join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    let o = Command::new("go")
        .args(["run", ACTIONLINT])
        .args(&files)
        .current_dir(&root)
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("go must be installed (it runs actionlint)");
    let (out, err) = text(&o);
    assert!(o.status.success(), "actionlint:\n{out}\n{err}");
}

#[test]
fn the_workflows_run_the_scripts_this_test_runs() {
    let wf = std::fs::read_to_string(repo_root().join(".github/workflows/nightly.yml")).unwrap();
    for needle in [
        "run: scripts/ci/nightly-shard.sh",
        "run: scripts/ci/nightly-merge.sh shards/*",
        "runner: [ubuntu-24.04, ubuntu-24.04-arm]",
        "SHARD: ${{ matrix.shard }}/4",
        "SEED: ${{ github.run_id }}",
        "run: scripts/setup.sh",
        "path: ~/.cache/divergo",
        "report_paths: nightly/junit.xml",
        "DIVERGO_CONFIG: .github/divergo.toml",
        "path: nightly-history",
        "restore-keys: divergo-history-",
    ] {
        assert!(wf.contains(needle), "nightly.yml lacks {needle:?}");
    }
    let q = std::fs::read_to_string(repo_root().join(".github/workflows/qualify.yml")).unwrap();
    for needle in [
        "workflow_dispatch:",
        "baseline:",
        "candidate:",
        "--arch amd64,arm64",
        "qualify/qualify.md >>\"$GITHUB_STEP_SUMMARY\"",
    ] {
        assert!(q.contains(needle), "qualify.yml lacks {needle:?}");
    }
}

fn script(name: &str) -> Command {
    let mut c = Command::new(repo_root().join("scripts/ci").join(name));
    c.env("DIVERGO", divergo_bin())
        .env_remove("DIVERGO_QEMU_AARCH64")
        .env("DIVERGO_HISTORY", "off")
        .env("DIVERGO_CONFIG", repo_root().join(".github/divergo.toml"))
        .env_remove("GITHUB_STEP_SUMMARY");
    c
}

fn shard(index: &str, arch: &str, out: &Path, compile: &[(&str, &str)]) {
    let o = script("nightly-shard.sh")
        .envs(compile.iter().copied())
        .env("SEED", "41")
        .env("SHARD", index)
        .env("ARCH", arch)
        .env("COUNT", "4")
        .env("TOOLCHAINS", "go1.23.12")
        .env("TEMPLATES", "closures")
        .env("OUT", out)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert!(o.status.success(), "shard {index} {arch}: {err}");
}

#[test]
fn the_nightly_steps_run_here_two_shards_and_a_merge() {
    toolchain("go1.23.12");
    let tmp = tempfile::tempdir().unwrap();
    let shards = tmp.path().join("shards");
    // The x86-64 runner also builds for another arch and in a mode,
    // compile-only, as the workflow has it do for every one.
    shard(
        "1/2",
        "amd64",
        &shards.join("X64-1"),
        &[("COMPILE_ARCH", "riscv64"), ("COMPILE_MODE", "ssacheck")],
    );
    shard("2/2", "arm64", &shards.join("ARM64-2"), &[]);
    let summary = tmp.path().join("step-summary.md");
    let out = tmp.path().join("nightly");
    let o = script("nightly-merge.sh")
        .arg(shards.join("X64-1"))
        .arg(shards.join("ARM64-2"))
        .env("OUT", &out)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    // closures programs on one toolchain: no divergence expected; a new
    // finding would be exit 1 and is reported by the assertion message.
    assert_eq!(o.status.code(), Some(0), "{err}");
    let recs = records(&out);
    let programs: std::collections::BTreeSet<_> = recs.iter().map(|r| r.program.clone()).collect();
    // Seeds 41..44: shard 1/2 takes 41 and 43 (amd64), 2/2 takes 42 and 44 (arm64).
    assert_eq!(
        programs.into_iter().collect::<Vec<_>>(),
        ["seed-41", "seed-42", "seed-43", "seed-44"]
    );
    for r in &recs {
        let odd = r.program == "seed-41" || r.program == "seed-43";
        let compile_only = r.arch.to_string() == "riscv64" || r.toolchain.ends_with("+ssacheck");
        if compile_only {
            assert!(
                odd,
                "{}: compile-only cells are the x86-64 shard's",
                r.program
            );
            assert_eq!(r.stage, divergo::engine::results::Stage::Build, "{r:?}");
            assert_eq!(r.outcome, divergo::model::Class::Ok, "{r:?}");
            continue;
        }
        let want = if odd { "amd64" } else { "arm64" };
        assert_eq!(r.arch.to_string(), want, "{}", r.program);
    }
    for cell in [
        "go1.23.12/riscv64",
        "go1.23.12+ssacheck/amd64",
        "go1.23.12+ssacheck/riscv64",
    ] {
        assert!(
            recs.iter()
                .any(|r| format!("{}/{}", r.toolchain, r.arch) == cell && r.program == "seed-41"),
            "no build of seed-41 in {cell}"
        );
    }
    assert!(recs.iter().any(|r| r.executor.contains("qemu-user")));
    let step = std::fs::read_to_string(&summary).unwrap();
    assert!(step.starts_with("# divergo run"), "{step}");
    assert!(step.contains("Merged from:"), "{step}");
    valid_junit(&out.join("junit.xml"));
}
