//! The corpus end to end on amd64 with real toolchains: every class is
//! produced by the program meant to produce it, hangs are killed on time and
//! leave nothing behind, crash signatures are stable, broken toolchains are
//! `infra` while the other cells complete.

use crate::common;
use common::*;
use divergo::engine::results::Stage;
use divergo::model::{Arch, Class};
use std::time::Duration;

#[test]
fn corpus_amd64_meets_every_expectation() {
    toolchain("go1.23.11");
    toolchain("go1.23.12");
    toolchain("go1.25");
    let out = tempfile::tempdir().unwrap();
    let o = corpus_cmd(None, "amd64", "go1.23.11,go1.23.12,go1.25", out.path())
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "corpus failed:\n{err}");
    assert!(err.contains("## Corpus expectations (0 failed)"), "{err}");
    let recs = records(out.path());
    // junit.xml: one passing testcase per entry × cell, no findings suite
    // (a corpus run is judged by its expectations).
    let x = valid_junit(&out.path().join("junit.xml"));
    let entries = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("expect.toml").is_file())
        .count();
    assert_eq!(x.matches("<testcase ").count(), entries * 3, "{x}");
    assert!(!x.contains("<failure"), "{x}");
    assert!(!x.contains("name=\"findings\""), "{x}");

    // Each class comes from the program meant to produce it, on every toolchain.
    let class_of = |prog: &str| -> Vec<Class> {
        recs.iter()
            .filter(|r| r.program == prog && (r.stage == Stage::Run || r.outcome != Class::Ok))
            .map(|r| r.outcome)
            .collect()
    };
    for (prog, want) in [
        ("ok-checksum", Class::Ok),
        ("panic-index", Class::Panic),
        ("deadlock", Class::Fatal),
        ("hang-spin", Class::Hang),
        ("build-error", Class::BuildError),
        ("timer-reset-38023", Class::Ok),
        ("arm64-split-sp-73259", Class::Ok),
        ("arm64-split-sp-leaf", Class::Ok),
    ] {
        let got = class_of(prog);
        assert!(got.len() >= 3, "{prog}: {got:?}");
        assert!(
            got.iter().all(|c| *c == want),
            "{prog}: want {want}, got {got:?}"
        );
    }
    // ok runs carry the checksum, identical across toolchains.
    let sums: std::collections::BTreeSet<_> = recs
        .iter()
        .filter(|r| r.program == "ok-checksum" && r.stage == Stage::Run)
        .map(|r| r.checksum.clone().expect("checksum"))
        .collect();
    assert_eq!(sums.len(), 1, "{sums:?}");

    // The same crash gives the same signature, on every trial and toolchain.
    let sigs: std::collections::BTreeSet<_> = recs
        .iter()
        .filter(|r| r.program == "panic-index" && r.stage == Stage::Run)
        .map(|r| r.signature.clone())
        .collect();
    assert_eq!(sigs.len(), 1, "{sigs:?}");
    let sig = sigs.iter().next().unwrap();
    assert!(sig.contains("index out of range"), "{sig}");
    assert!(!sig.contains("0x") && !sig.contains(".go:"), "{sig}");

    // The hang was killed within timeout + grace, with a goroutine dump.
    for r in recs
        .iter()
        .filter(|r| r.program == "hang-spin" && r.stage == Stage::Run)
    {
        let timeout = r.timeout_ms.unwrap();
        assert_eq!(timeout, 2000);
        assert!(
            r.duration_ms <= timeout + 3000 + 1500,
            "hang took {} ms to kill",
            r.duration_ms
        );
        assert!(r.signature.contains("main.spin"), "{}", r.signature);
        let log = std::fs::read_to_string(out.path().join(r.log.as_ref().unwrap())).unwrap();
        assert!(
            log.contains("SIGQUIT") && log.contains("main.spin"),
            "{log}"
        );
    }
    // Nothing divergo started is still alive.
    let left = processes_mentioning(out.path().to_str().unwrap());
    assert!(left.is_empty(), "processes left behind: {left:?}");
    // Scratch space is gone; the summary is there.
    let scratch: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".work"))
        .collect();
    assert!(scratch.is_empty(), "scratch left: {scratch:?}");
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(summary.contains("## Outcome matrix"));
    let _ = Duration::ZERO;
}

/// A GOROOT whose `go` works for `version` but exits 1 for everything else,
/// registered next to a real toolchain in a private DIVERGO_HOME.
#[test]
fn broken_toolchain_is_infra_and_other_cells_complete() {
    let real = toolchain("go1.23.12");
    let home = tempfile::tempdir().unwrap();
    let fake = fake_goroot("go1.22.99", "exit 1");
    // A second fake that stops working after registration.
    let gone = fake_goroot("go1.22.98", "exit 0");
    let go2 = gone.path().join("bin/go");
    register(home.path(), "go1.23.12", &real.goroot);
    register(home.path(), "go1.22.99", fake.path());
    register(home.path(), "go1.22.98", gone.path());
    std::fs::write(&go2, "#!/bin/sh\nexit 1\n").unwrap();

    let out = tempfile::tempdir().unwrap();
    let o = corpus_cmd(
        Some("ok-checksum"),
        "amd64",
        "go1.22.99,go1.22.98,go1.23.12",
        out.path(),
    )
    .env("DIVERGO_HOME", home.path())
    .output()
    .unwrap();
    // Infra cells cannot meet an expectation: the corpus run reports failure (1), not bad input (2).
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let recs = records(out.path());
    for broken in ["go1.22.99", "go1.22.98"] {
        let mine: Vec<_> = recs.iter().filter(|r| r.toolchain == broken).collect();
        assert!(!mine.is_empty(), "{broken} has no records");
        assert!(
            mine.iter().all(|r| r.outcome == Class::Infra),
            "{broken}: {mine:?}"
        );
    }
    let good: Vec<_> = recs
        .iter()
        .filter(|r| r.toolchain == "go1.23.12" && r.stage == Stage::Run)
        .collect();
    assert_eq!(good.len(), 2, "{good:?}");
    assert!(good
        .iter()
        .all(|r| r.outcome == Class::Ok && r.arch == Arch::Amd64));
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(summary.contains("infrastructure failures"), "{summary}");
}
