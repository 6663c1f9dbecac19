//! divergo: a differential fuzzing and stress harness for Go toolchains.
//!
//! The folders read like the pipeline, and each imports only what stands
//! before it in this list; every stage takes plain data in and gives plain
//! data out: `toolchain` (registry, fetching, building from source, Go
//! versions) → `gen` (programs) → `oracle` (classification, verdicts,
//! findings, known issues, the static scan, module verdicts) → `engine`
//! (plan, build, run, results, stress, module builds) → `history` (the
//! findings history database) → `report` (summary.md, reproducers) →
//! `commands` (the CLI). `model`, `error`, `exec` and `duration` hold the
//! plain data, error kinds, the child-process runner and durations that every
//! stage shares. The test below fails on an import that runs back up.

pub mod commands;
pub mod duration;
pub mod engine;
pub mod error;
pub mod exec;
pub mod gen;
pub mod history;
pub mod model;
pub mod oracle;
pub mod report;
pub mod toolchain;

#[cfg(test)]
mod layering {
    /// The stages in order; each may import only those before it (and the
    /// shared modules).
    const ORDER: &[&str] = &[
        "toolchain",
        "gen",
        "oracle",
        "engine",
        "history",
        "report",
        "commands",
    ];
    const SHARED: &[&str] = &["model", "error", "exec", "duration"];

    fn sources(p: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                sources(&e.unwrap().path(), out);
            }
        } else if p.is_file() && p.extension().is_some_and(|e| e == "rs") {
            out.push(p.to_path_buf());
        }
    }

    #[test]
    fn no_stage_imports_a_later_one() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let re = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
        let mut bad = Vec::new();
        for (i, stage) in ORDER.iter().enumerate() {
            let mut files = Vec::new();
            sources(&src.join(stage), &mut files);
            sources(&src.join(format!("{stage}.rs")), &mut files);
            assert!(!files.is_empty(), "{stage}: no sources");
            for f in files {
                let text = std::fs::read_to_string(&f).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    for c in re.captures_iter(code) {
                        let dep = &c[1];
                        let later = ORDER[i + 1..].contains(&dep);
                        if later {
                            bad.push(format!("{}:{}: {stage} imports {dep}", f.display(), n + 1));
                        }
                        assert!(
                            ORDER.contains(&dep) || SHARED.contains(&dep),
                            "{}:{}: crate::{dep} is in no layer",
                            f.display(),
                            n + 1
                        );
                    }
                }
            }
        }
        // The shared modules import no stage (exec may use model).
        for m in SHARED {
            let text = std::fs::read_to_string(src.join(format!("{m}.rs"))).unwrap();
            for c in re.captures_iter(&text) {
                assert!(SHARED.contains(&&c[1]), "{m} imports the stage {}", &c[1]);
            }
        }
        assert!(
            bad.is_empty(),
            "imports that run back up:\n{}",
            bad.join("\n")
        );
    }
}
