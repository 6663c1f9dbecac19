//! Every backend: executors per arch class with real builds and real runs
//! (native amd64, 386 natively where the kernel runs it, riscv64 under
//! plain qemu-user), the cross-arch output oracle, and compile-only cells.
//! Every program here prints a checksum that is certain (no scheduling, no
//! timing in it), so no test depends on chance.

use crate::common;

use common::{divergo, text, toolchain};
use divergo::model::{Arch, Class};
use serde_json::Value;
use std::path::Path;

/// A corpus entry `name` in `dir` whose checksum is a fixed FNV fold,
/// changed by `plant` (Go statements run before it is printed).
fn entry(dir: &Path, name: &str, plant: &str) {
    let e = dir.join(name);
    std::fs::create_dir_all(&e).unwrap();
    std::fs::write(e.join("go.mod"), "module divergo.test/prog\n\ngo 1.14\n").unwrap();
    std::fs::write(
        e.join("main.go"),
        format!(
            "package main\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n)\n\nfunc main() {{\n\
             \tvar h uint64 = 14695981039346656037\n\
             \tfor i := uint64(0); i < 1000; i++ {{\n\t\th = (h ^ i) * 1099511628211\n\t}}\n\
             \t_ = runtime.GOARCH\n\t{plant}\n\tfmt.Printf(\"checksum: %016x\\n\", h)\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        e.join("expect.toml"),
        "description = \"a program whose checksum is certain\"\ntrials = 2\ntimeout_s = 60\n\n\
         [[expect]]\noutcome = [\"ok\"]\n",
    )
    .unwrap();
}

/// Exit code, JSON summary, records and stderr of a run.
type Ran = (
    Option<i32>,
    Value,
    Vec<divergo::engine::results::Record>,
    String,
);

/// `divergo run --corpus DIR --arch ARCHS --toolchains TC --json` into a
/// fresh results dir.
fn run(corpus: &Path, archs: &str, tc: &str, extra: &[&str]) -> Ran {
    let out = tempfile::tempdir().unwrap();
    run_in(corpus, archs, tc, extra, None, out.path())
}

/// The same run with results in `out`, under `home` as DIVERGO_HOME when
/// given (a fake toolchain registered there).
fn run_in(
    corpus: &Path,
    archs: &str,
    tc: &str,
    extra: &[&str],
    home: Option<&Path>,
    out: &Path,
) -> Ran {
    let mut cmd = divergo();
    if let Some(h) = home {
        cmd.env("DIVERGO_HOME", h);
    }
    let o = cmd
        .args(["run", "--quiet", "--json", "--no-triage", "--no-known"])
        .args(["--trials", "2", "--opt-axis", "off", "--arch", archs])
        .args(["--toolchains", tc])
        .args(extra)
        .arg("--corpus")
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    let v: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{err}"));
    (o.status.code(), v, common::records(out), err)
}

/// One program, three arch classes: amd64 native, 386 native (or, on a
/// kernel without IA-32 emulation, a note in the matrix header and infra
/// runs, never a failed run), riscv64 under plain qemu-user. Every run that
/// runs prints the one checksum, and there is no finding.
#[test]
fn each_arch_class_runs_a_certain_program_alike() {
    let tc = toolchain("go1.25").name;
    let corpus = tempfile::tempdir().unwrap();
    entry(corpus.path(), "fnv", "");
    let (code, v, recs, err) = run(corpus.path(), "amd64,386,riscv64", &tc, &[]);
    assert_eq!(code, Some(0), "{v}\n{err}");
    assert!(v["findings"].as_array().unwrap().is_empty(), "{v}");
    let native_386 = divergo::engine::executor::native_386().is_ok();
    let mut sums = std::collections::BTreeSet::new();
    for arch in [Arch::Amd64, Arch::I386, Arch::Riscv64] {
        let runs = common::cell_runs(&recs, &tc, arch);
        assert!(!runs.is_empty(), "{arch}: {err}");
        if arch == Arch::I386 && !native_386 {
            assert!(runs.iter().all(|r| r.outcome == Class::Infra), "{arch}");
            assert!(err.contains("386 builds but does not run"), "{err}");
            continue;
        }
        for r in &runs {
            assert_eq!(r.outcome, Class::Ok, "{arch}: {}", r.signature);
            sums.insert(r.checksum.clone().unwrap());
        }
        // The build says how the cell runs too (a cell whose build fails
        // has no run to say it): riscv64 is not scanned, so `auto` is plain.
        let build = recs
            .iter()
            .find(|r| r.stage == divergo::model::Stage::Build && r.arch == arch)
            .unwrap();
        for label in [&runs[0].executor, &build.executor] {
            match arch {
                Arch::Riscv64 => assert!(
                    label.contains("qemu-user") && label.ends_with("plain)"),
                    "{label}"
                ),
                _ => assert_eq!(label, &format!("{arch} (native)")),
            }
        }
    }
    assert_eq!(sums.len(), 1, "{sums:?}");
}

/// A program that prints a different checksum on riscv64 on purpose (every
/// run, certain) is one wrong-output finding of arch scope whose divergent
/// cell is riscv64's; amd64 agrees with itself.
#[test]
fn an_arch_only_wrong_output_is_an_arch_finding() {
    let tc = toolchain("go1.25").name;
    let corpus = tempfile::tempdir().unwrap();
    entry(
        corpus.path(),
        "fnv-riscv",
        "if runtime.GOARCH == \"riscv64\" {\n\t\th ^= 1\n\t}",
    );
    let (code, v, _, err) = run(corpus.path(), "amd64,riscv64", &tc, &[]);
    assert_eq!(code, Some(1), "{v}\n{err}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "wrong_output", "{}", f[0]);
    assert_eq!(f[0]["scope"], "cross-arch", "{}", f[0]);
    assert_eq!(
        common::divergent(&f[0]),
        vec![format!("{tc}/riscv64")],
        "{}",
        f[0]
    );
}

/// Compile-only cells: `--compile-arch` builds every program for the named
/// archs without running it. A compiler that dies only when it compiles for
/// one arch (a fake go that stands for an internal compiler error of one
/// backend) gives one build finding whose divergent cell is that arch's,
/// and the compile-only cells have no run records. With the real compiler
/// the same run has no finding.
#[test]
fn a_compile_only_ice_is_a_finding() {
    let real = toolchain("go1.25");
    let corpus = tempfile::tempdir().unwrap();
    entry(corpus.path(), "fnv", "");

    let (code, v, recs, err) = run(
        corpus.path(),
        "amd64",
        &real.name,
        &["--compile-arch", "s390x,mipsle"],
    );
    assert_eq!(code, Some(0), "{v}\n{err}");
    for arch in [Arch::S390x, Arch::Mipsle] {
        let builds: Vec<_> = recs
            .iter()
            .filter(|r| r.arch == arch && r.stage == divergo::engine::results::Stage::Build)
            .collect();
        assert_eq!(builds.len(), 1, "{arch}");
        assert_eq!(
            builds[0].outcome,
            Class::Ok,
            "{arch}: {}",
            builds[0].signature
        );
        assert!(
            common::cell_runs(&recs, &real.name, arch).is_empty(),
            "{arch}"
        );
    }

    // A go that compiles with the real one but, for GOARCH=s390x, dies as the
    // compiler does on an internal error.
    let home = tempfile::tempdir().unwrap();
    let fake = common::fake_goroot(
        "go1.25.99",
        &format!(
            "if [ \"$1\" = build ] && [ \"$GOARCH\" = s390x ]; then\n\
             echo '# divergo.test/prog'\n\
             echo './main.go:9:2: internal compiler error: panic: s390x lowering failed'\n\
             exit 1\nfi\nGOROOT={} exec {} \"$@\"",
            real.goroot.display(),
            real.goroot.join("bin/go").display()
        ),
    );
    common::register(home.path(), "go1.25.99", fake.path());
    let out = tempfile::tempdir().unwrap();
    let (code, v, _, err) = run_in(
        corpus.path(),
        "amd64",
        "go1.25.99",
        &["--compile-arch", "s390x,mipsle"],
        Some(home.path()),
        out.path(),
    );
    assert_eq!(code, Some(1), "{v}\n{err}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "build", "{}", f[0]);
    assert_eq!(
        common::divergent(&f[0]),
        vec!["go1.25.99/s390x".to_string()],
        "{}",
        f[0]
    );
    assert!(
        f[0]["signature"]
            .as_str()
            .unwrap()
            .contains("internal compiler error"),
        "{}",
        f[0]
    );
    // Its repro.sh builds each cell as the run did (the compile-only
    // mipsle cell only builds) and reproduces it.
    let repro = out
        .path()
        .join("findings")
        .join(f[0]["id"].as_str().unwrap())
        .join("repro.sh");
    let o = std::process::Command::new("sh")
        .arg(&repro)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{err}");
    assert!(
        stdout.contains("mipsle: built (compile-only cell)"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("reproduced"), "{stdout}");
    // `divergo replay` of it, named by a relative path (go build runs in the
    // program's dir, so a relative output path once lost every binary),
    // rebuilds the compile-only cells without running them.
    let o = divergo()
        .env("DIVERGO_HOME", home.path())
        .current_dir(out.path())
        .args(["replay", "--trials", "1"])
        .arg(format!("findings/{}", f[0]["id"].as_str().unwrap()))
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("s390x (compile-only): ice 1"), "{err}");
    assert!(err.contains("mipsle (compile-only): no runs"), "{err}");
    assert!(err.contains("reproduced"), "{err}");
}

/// `--compile-mode`: every mode builds a program with the real compiler on
/// the archs it applies to (and only there), with no finding; a compiler
/// that fails only under the SSA checker gives one build finding on the
/// `+ssacheck` cell, which its repro.sh reproduces with the same flags.
#[test]
fn compile_modes_build_where_they_apply_and_an_ssa_check_ice_is_a_finding() {
    let real = toolchain("go1.25");
    let corpus = tempfile::tempdir().unwrap();
    entry(corpus.path(), "fnv", "");
    let (code, v, recs, err) = run(
        corpus.path(),
        "amd64",
        &real.name,
        &["--compile-arch", "arm,arm64", "--compile-mode", "all"],
    );
    assert_eq!(code, Some(0), "{v}\n{err}");
    let built = |mode: &str, arch: Arch| {
        recs.iter()
            .filter(|r| r.stage == divergo::engine::results::Stage::Build)
            .filter(|r| r.toolchain == format!("{}+{mode}", real.name) && r.arch == arch)
            .map(|r| r.outcome)
            .collect::<Vec<_>>()
    };
    for (mode, arch) in [
        ("ssacheck", Arch::Amd64),
        ("ssacheck", Arch::Arm),
        ("noopt-build", Arch::Arm64),
        ("race", Arch::Amd64),
        ("goamd64v3", Arch::Amd64),
        ("goarm64v8.1", Arch::Arm64),
        ("goarm5", Arch::Arm),
        ("goarm6", Arch::Arm),
    ] {
        assert_eq!(built(mode, arch), vec![Class::Ok], "{mode}/{arch}: {err}");
    }
    for (mode, arch) in [
        ("goarm5", Arch::Amd64),
        ("goamd64v3", Arch::Arm),
        ("race", Arch::Arm64),
    ] {
        assert!(built(mode, arch).is_empty(), "{mode}/{arch} has no cell");
    }

    let home = tempfile::tempdir().unwrap();
    let fake = common::fake_goroot(
        "go1.25.99",
        &format!(
            "case \"$*\" in *ssa/check/on*)\n\
             echo '# divergo.test/prog'\n\
             echo './main.go:9:2: internal compiler error: bad SSA: block b2 has no successor'\n\
             exit 1;;\nesac\nGOROOT={} exec {} \"$@\"",
            real.goroot.display(),
            real.goroot.join("bin/go").display()
        ),
    );
    common::register(home.path(), "go1.25.99", fake.path());
    let out = tempfile::tempdir().unwrap();
    let (code, v, _, err) = run_in(
        corpus.path(),
        "amd64",
        "go1.25.99",
        &["--compile-mode", "ssacheck"],
        Some(home.path()),
        out.path(),
    );
    assert_eq!(code, Some(1), "{v}\n{err}");
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["kind"], "build", "{}", f[0]);
    assert_eq!(
        common::divergent(&f[0]),
        vec!["go1.25.99+ssacheck/amd64".to_string()],
        "{}",
        f[0]
    );
    let repro = out
        .path()
        .join("findings")
        .join(f[0]["id"].as_str().unwrap())
        .join("repro.sh");
    let o = std::process::Command::new("sh")
        .arg(&repro)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{err}");
    assert!(stdout.trim_end().ends_with("reproduced"), "{stdout}");
}

/// Without an emulator on PATH, `--arch all` runs what runs natively and
/// says in the matrix header which archs it left out; a named arch without
/// one builds, its runs are `infra`, and the header says so. Neither fails
/// the run.
#[test]
fn a_missing_emulator_is_a_header_line_not_a_failure() {
    let tc = toolchain("go1.25").name;
    let corpus = tempfile::tempdir().unwrap();
    entry(corpus.path(), "fnv", "");
    let go = |archs: &str| {
        let out = tempfile::tempdir().unwrap();
        let o = divergo()
            .env("PATH", "/nonexistent")
            .env_remove("DIVERGO_QEMU_RISCV64")
            .env_remove("DIVERGO_QEMU_AARCH64")
            .args(["run", "--no-triage", "--no-known", "--opt-axis", "off"])
            .args(["--trials", "1", "--arch", archs, "--toolchains", &tc])
            .arg("--corpus")
            .arg(corpus.path())
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        let (_, err) = text(&o);
        (o.status.code(), err, common::records(out.path()))
    };
    let (code, err, recs) = go("all");
    assert_eq!(code, Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("left out, no qemu-user"))
        .unwrap_or_else(|| panic!("{err}"));
    for a in ["arm64", "riscv64", "s390x", "mips64le", "loong64"] {
        assert!(line.contains(a), "{line}");
    }
    assert!(
        recs.iter()
            .all(|r| r.arch == Arch::Amd64 || r.arch == Arch::I386),
        "{err}"
    );
    assert!(recs
        .iter()
        .any(|r| r.arch == Arch::Amd64 && r.outcome == Class::Ok));

    let (code, err, recs) = go("amd64,riscv64");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("riscv64 builds but does not run: no qemu-user for riscv64"),
        "{err}"
    );
    let runs = common::cell_runs(&recs, &tc, Arch::Riscv64);
    assert!(
        !runs.is_empty() && runs.iter().all(|r| r.outcome == Class::Infra),
        "{err}"
    );
}
