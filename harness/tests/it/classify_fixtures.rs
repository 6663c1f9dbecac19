//! The classifier against outputs of real runs and builds, captured by
//! scripts/capture-classify-fixtures.sh from the programs in
//! tests/fixtures/classify/programs (several toolchains, amd64 and arm64).
//!
//! Set CLASSIFY_PRINT=1 to print every fixture's outcome.

use divergo::model::{Class, ExitStatus, Outcome};
use divergo::oracle::classify::{bug_key, classify_build, classify_run, RunEvidence};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/classify")
}

#[derive(Debug)]
struct Fixture {
    /// e.g. runs/panic_index/go1.14.15-amd64-tbsystem-r1
    name: String,
    program: String,
    meta: BTreeMap<String, String>,
    expect: Class,
    outcome: Outcome,
}

fn read(p: &Path) -> String {
    match fs::read(p) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    }
}

fn parse_meta(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn parse_exit(s: &str) -> Option<ExitStatus> {
    let (kind, n) = s.split_once(':')?;
    let n: i32 = n.parse().ok()?;
    match kind {
        "code" => Some(ExitStatus::Code(n)),
        "signal" => Some(ExitStatus::Signal(n)),
        _ => None,
    }
}

fn subdirs(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match fs::read_dir(p) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

fn classify_dir(dir: &Path, meta: &BTreeMap<String, String>) -> Outcome {
    let exit = meta.get("exit").and_then(|e| parse_exit(e));
    if dir.join("output").exists() {
        return classify_build(exit, &read(&dir.join("output")));
    }
    let stdout = read(&dir.join("stdout"));
    let stderr = read(&dir.join("stderr"));
    classify_run(&RunEvidence {
        exit,
        timed_out: meta.get("timed_out").map(|s| s == "true").unwrap_or(false),
        oom: false,
        stdout: &stdout,
        stderr: &stderr,
    })
}

fn load() -> Vec<Fixture> {
    let root = fixtures_dir();
    let mut dirs: Vec<(String, PathBuf)> = Vec::new();
    for kind in ["runs", "builds"] {
        for prog in subdirs(&root.join(kind)) {
            for d in subdirs(&prog) {
                dirs.push((kind.to_string(), d));
            }
        }
    }
    for d in subdirs(&root.join("infra")) {
        dirs.push(("infra".to_string(), d));
    }
    let mut out = Vec::new();
    for (kind, dir) in dirs {
        let meta = parse_meta(&read(&dir.join("meta")));
        let expect: Class = meta
            .get("expect")
            .unwrap_or_else(|| panic!("{}: no expect in meta", dir.display()))
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let outcome = classify_dir(&dir, &meta);
        let rel = dir
            .strip_prefix(&root)
            .unwrap_or(&dir)
            .display()
            .to_string();
        let program = match meta.get("program").map(String::as_str) {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => format!(
                "{kind}:{}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
        };
        out.push(Fixture {
            name: rel,
            program,
            meta,
            expect,
            outcome,
        });
    }
    if std::env::var_os("CLASSIFY_PRINT").is_some() {
        for f in &out {
            eprintln!(
                "{:<60} {:<11} {}",
                f.name,
                f.outcome.class.name(),
                f.outcome.signature
            );
        }
    }
    out
}

/// `same=` from a program's expect file: how many distinct signatures its
/// fixtures (those of its main class) may have. `all` → 1, `max:N` → N,
/// `none` → no limit.
fn same_limit(program: &str) -> Option<usize> {
    let exp = read(&fixtures_dir().join("programs").join(program).join("expect"));
    let meta = parse_meta(&exp);
    match meta.get("same").map(String::as_str) {
        None | Some("all") => Some(1),
        Some("none") => None,
        Some(s) => s
            .strip_prefix("max:")
            .and_then(|n| n.parse().ok())
            .or(Some(1)),
    }
}

#[test]
fn fixtures_exist() {
    let all = load();
    assert!(all.len() >= 100, "only {} fixtures found", all.len());
    let classes: BTreeSet<Class> = all.iter().map(|f| f.expect).collect();
    for c in [
        Class::Ok,
        Class::Panic,
        Class::Fatal,
        Class::Signal,
        Class::Hang,
        Class::Oom,
        Class::BuildError,
        Class::Infra,
    ] {
        assert!(classes.contains(&c), "no fixture for class {c}");
    }
}

#[test]
fn every_fixture_gets_its_class() {
    let bad: Vec<String> = load()
        .iter()
        .filter(|f| f.outcome.class != f.expect)
        .map(|f| {
            format!(
                "{}: expected {}, got {} ({})",
                f.name, f.expect, f.outcome.class, f.outcome.signature
            )
        })
        .collect();
    assert!(bad.is_empty(), "misclassified:\n{}", bad.join("\n"));
}

#[test]
fn same_program_same_signature() {
    let all = load();
    let mut groups: BTreeMap<(String, Class), BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for f in &all {
        if f.outcome.class != f.expect || f.program.contains(':') {
            continue;
        }
        groups
            .entry((f.program.clone(), f.expect))
            .or_default()
            .entry(f.outcome.signature.clone())
            .or_default()
            .push(f.name.clone());
    }
    let mut bad = Vec::new();
    for ((program, class), sigs) in &groups {
        let Some(limit) = same_limit(program) else {
            continue;
        };
        if sigs.len() > limit {
            let detail: Vec<String> = sigs
                .iter()
                .map(|(s, names)| format!("    {s:?}\n        {}", names.join("\n        ")))
                .collect();
            bad.push(format!(
                "{program} ({class}): {} signatures, at most {limit}:\n{}",
                sigs.len(),
                detail.join("\n")
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Dumps of one bug harvested from many generated programs
/// (scripts/harvest-fixtures.py; `bug=N` in the program's expect file): their
/// signatures group into at most N bug keys. One bug, one key.
#[test]
fn harvested_dumps_of_one_bug_share_one_bug_key() {
    let all = load();
    let mut checked = 0;
    for prog in subdirs(&fixtures_dir().join("programs")) {
        let name = prog.file_name().unwrap().to_string_lossy().into_owned();
        let meta = parse_meta(&read(&prog.join("expect")));
        let Some(limit) = meta.get("bug").and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let fixtures: Vec<&Fixture> = all.iter().filter(|f| f.program == name).collect();
        let min: usize = meta.get("min").and_then(|n| n.parse().ok()).unwrap_or(1);
        assert!(
            fixtures.len() >= min,
            "{name}: {} fixtures, want {min}",
            fixtures.len()
        );
        // As a finding sees them: the dumps of one source program and cell
        // (the fixture dir name without -rN) form one finding, named by the
        // consensus of its hang signatures or by its most common crash one.
        let mut by_source: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in &fixtures {
            let src = f.name.rsplit_once("-r").map_or(f.name.as_str(), |(a, _)| a);
            by_source
                .entry(src)
                .or_default()
                .push(f.outcome.signature.as_str());
        }
        let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (src, sigs) in &by_source {
            let sig = if sigs[0].starts_with("hang:") {
                divergo::oracle::findings::consensus_hang_signature(sigs)
            } else {
                sigs[0].to_string()
            };
            for s in sigs.iter().filter(|_| !sigs[0].starts_with("hang:")) {
                keys.entry(bug_key(s))
                    .or_default()
                    .push(format!("{src}: {s}"));
            }
            if sig.starts_with("hang:") {
                keys.entry(bug_key(&sig))
                    .or_default()
                    .push(format!("{src}: {sig}"));
            }
        }
        assert!(
            keys.len() <= limit,
            "{name}: {} bug keys: {keys:#?}",
            keys.len()
        );
        checked += 1;
    }
    assert!(checked > 0, "no harvested fixtures");
}

#[test]
fn repeated_runs_agree() {
    // Runs of one binary (same program, toolchain, arch, GOTRACEBACK) must
    // agree, whatever the program's `same=` says across toolchains.
    let all = load();
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in all.iter().filter(|f| f.name.starts_with("runs/")) {
        let key = match f.name.rsplit_once("-r") {
            Some((k, _)) => k.to_string(),
            None => continue,
        };
        groups
            .entry(key)
            .or_default()
            .insert(f.outcome.signature.clone());
    }
    let limits: BTreeMap<&str, usize> = [("fatal_unwind_73259", 2)].into_iter().collect();
    // Harvested dumps (bug=N) are checked as findings, in
    // harvested_dumps_of_one_bug_share_one_bug_key: one dump of a hang also
    // catches whatever else ran at that instant.
    let harvested = |prog: &str| {
        parse_meta(&read(
            &fixtures_dir().join("programs").join(prog).join("expect"),
        ))
        .contains_key("bug")
    };
    let mut bad = Vec::new();
    for (k, sigs) in &groups {
        let prog = k.split('/').nth(1).unwrap_or("");
        if !harvested(prog) && sigs.len() > *limits.get(prog).unwrap_or(&1) {
            bad.push(format!("{k}: {sigs:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "repeated runs disagree:\n{}",
        bad.join("\n")
    );
}

#[test]
fn signatures_are_clean() {
    let hex = Regex::new(r"0x[0-9a-fA-F]+|\b[0-9a-fA-F]{8,}\b").unwrap();
    let goid = Regex::new(r"goroutine \d").unwrap();
    let line = Regex::new(r"\.go:\d|:\d+:\d+|\+0x|\bfp=|\bsp=|\bpc=").unwrap();
    let mut bad = Vec::new();
    for f in load() {
        let s = &f.outcome.signature;
        let problem = if hex.is_match(s) {
            Some("hex value")
        } else if goid.is_match(s) {
            Some("goroutine id")
        } else if line.is_match(s) {
            Some("file:line or offset")
        } else if s.contains("/tmp/") || s.contains("/root/") {
            Some("path")
        } else if s.len() > divergo::oracle::classify::MAX_SIGNATURE_LEN {
            Some("too long")
        } else if f.outcome.class != Class::Ok && s.is_empty() {
            Some("empty")
        } else {
            None
        };
        if let Some(p) = problem {
            bad.push(format!("{}: {p}: {s}", f.name));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn ok_runs_carry_their_checksum() {
    let ok: Vec<Fixture> = load()
        .into_iter()
        .filter(|f| f.program == "ok_checksum")
        .collect();
    assert!(!ok.is_empty());
    for f in &ok {
        assert_eq!(f.outcome.class, Class::Ok, "{}", f.name);
        assert_eq!(f.outcome.signature, "", "{}", f.name);
        assert_eq!(
            f.outcome.checksum.as_deref(),
            Some("988cc5afd8cb65dd"),
            "{} ({:?})",
            f.name,
            f.meta
        );
    }
}
