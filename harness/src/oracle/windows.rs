//! Static findings: the preemption windows the scan ([`crate::oracle::scan`])
//! found in each cell's build, diffed across cells.
//!
//! A build's scan is deterministic, so one scan is the whole evidence of a
//! cell: no trials and no statistics. For each window (a scan rule in one
//! function) the cells whose build has it are the divergent ones; windows
//! with the same rule and the same divergent cells make one finding of kind
//! `unsafe-window`. Its scope follows from the cells as for any exact
//! divergence: `all` when every scanned cell has it, `cross-arch` when the
//! cells of one arch have it and those of another do not, else `toolchain`
//! (on one arch some toolchains' builds have it and others' do not: a fix or
//! a regression, e.g. golang/go#73259 closed in go1.23.12).
//!
//! Its bug key is `unsafe window: RULE (BUG)`, which known-issues entries can
//! match. The dynamic verdicts are not touched: static facts only add
//! findings of their own kind, and static evidence on crash findings
//! ([`cross_reference`]).

use crate::model::{Arch, Class, Program, Record, ScanFacts, Stage, WindowFact};
use crate::oracle::findings::{CellReport, Finding, Kind, StaticWindow};
use crate::oracle::verdict::Scope;
use std::collections::{BTreeMap, BTreeSet};

/// A cell's scanned build: (toolchain, arch) → (executor, facts).
type Scanned<'a> = BTreeMap<(String, Arch), (&'a str, &'a ScanFacts)>;

/// The cells whose build was scanned (a build that failed, or a scan that
/// failed, gives its cell no static verdict).
fn scanned(recs: &[Record]) -> Scanned<'_> {
    recs.iter()
        .filter(|r| r.stage == Stage::Build && r.outcome == Class::Ok)
        .filter_map(|r| {
            let f = r.scan.as_ref().filter(|f| f.judged())?;
            Some(((r.toolchain.clone(), r.arch), (r.executor.as_str(), f)))
        })
        .collect()
}

/// What identifies one window across toolchains: its rule and function
/// (offsets differ from one toolchain's code to another's).
type Key = (String, String);

/// A set of cells by (toolchain, arch).
type CellSet = BTreeSet<(String, Arch)>;

fn key(w: &WindowFact) -> Key {
    (w.rule.clone(), w.function.clone())
}

/// The bug key of a static finding.
pub fn bug_key(rule: &str, bug: Option<&str>) -> String {
    match bug {
        Some(b) => format!("unsafe window: {rule} ({b})"),
        None => format!("unsafe window: {rule}"),
    }
}

/// The scope of a set of divergent cells among the scanned ones.
fn scope(cells: &[(Arch, bool)]) -> Scope {
    if cells.iter().all(|(_, bad)| *bad) {
        return Scope::All;
    }
    let archs: BTreeSet<Arch> = cells.iter().map(|(a, _)| *a).collect();
    let mixed = |a: Arch| {
        let on: Vec<bool> = cells.iter().filter(|c| c.0 == a).map(|c| c.1).collect();
        on.contains(&true) && on.contains(&false)
    };
    if archs.len() > 1 && !archs.iter().any(|a| mixed(*a)) {
        Scope::CrossArch
    } else {
        Scope::Toolchain
    }
}

/// The `unsafe-window` findings of one program's build records.
pub fn findings(prog: &Program, recs: &[Record], alpha: f64) -> Vec<Finding> {
    let cells = scanned(recs);
    // Window key → cells that have it.
    let mut by_key: BTreeMap<Key, CellSet> = BTreeMap::new();
    for (cell, (_, facts)) in &cells {
        for w in &facts.windows {
            by_key.entry(key(w)).or_default().insert(cell.clone());
        }
    }
    // (rule, divergent cells) → functions.
    let mut groups: BTreeMap<(String, CellSet), Vec<String>> = BTreeMap::new();
    for ((rule, function), div) in by_key {
        groups.entry((rule, div)).or_default().push(function);
    }
    let mut out = Vec::new();
    for ((rule, div), functions) in groups {
        let mut reports: Vec<CellReport> = cells
            .iter()
            .map(|((tc, arch), (executor, _))| CellReport {
                toolchain: tc.clone(),
                arch: *arch,
                executor: executor.to_string(),
                runs: 1,
                outcomes: BTreeMap::new(),
                divergent: div.contains(&(tc.clone(), *arch)),
            })
            .collect();
        reports.sort_by(|a, b| {
            crate::toolchain::version::go_version_cmp(&a.toolchain, &b.toolchain)
                .then(a.arch.cmp(&b.arch))
        });
        let fns: BTreeSet<&String> = functions.iter().collect();
        let windows: Vec<StaticWindow> = reports
            .iter()
            .filter(|c| c.divergent)
            .flat_map(|c| {
                let (_, facts) = cells[&(c.toolchain.clone(), c.arch)];
                facts
                    .windows
                    .iter()
                    .filter(|w| w.rule == rule && fns.contains(&w.function))
                    .map(|w| StaticWindow {
                        toolchain: c.toolchain.clone(),
                        arch: c.arch,
                        window: w.clone(),
                        in_crash_dump: false,
                    })
            })
            .collect();
        let bug_of_rule = windows.first().and_then(|w| w.window.bug.clone());
        let bug = bug_key(&rule, bug_of_rule.as_deref());
        let signature = format!("unsafe window: {rule} in {}", functions.join(", "));
        let sc = scope(
            &reports
                .iter()
                .map(|c| (c.arch, c.divergent))
                .collect::<Vec<_>>(),
        );
        out.push(Finding {
            static_windows: windows,
            ..Finding::new(
                Kind::UnsafeWindow,
                sc.name().to_string(),
                signature,
                bug,
                reports,
                alpha,
            )
            .of(prog)
        });
    }
    out
}

/// Give each crash finding the static evidence of its cells: the windows
/// that every divergent cell's build has and no clean scanned cell of the
/// same arch has. A toolchain-scope crash of go1.23.11/arm64 against a clean
/// go1.23.12/arm64 is thus confirmed by a window that go1.23.11's build has
/// and go1.23.12's lacks (golang/go#73259 in main.bigFrame), and not by one
/// both builds share.
pub fn cross_reference(findings: &mut [Finding], recs: &[Record]) {
    let cells = scanned(recs);
    for f in findings.iter_mut().filter(|f| f.kind == Kind::Crash) {
        let div: Vec<(String, Arch)> = f
            .cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| (c.toolchain.clone(), c.arch))
            .collect();
        let clean: Vec<(String, Arch)> = f
            .cells
            .iter()
            .filter(|c| !c.divergent && div.iter().any(|d| d.1 == c.arch))
            .map(|c| (c.toolchain.clone(), c.arch))
            .collect();
        // Every divergent cell must have been scanned, else there is no
        // static verdict to confirm with.
        let Some(div_facts) = div
            .iter()
            .map(|c| cells.get(c).map(|(_, f)| *f))
            .collect::<Option<Vec<&ScanFacts>>>()
        else {
            continue;
        };
        let keys = |facts: &ScanFacts| facts.windows.iter().map(key).collect::<BTreeSet<Key>>();
        let mut common: Option<BTreeSet<Key>> = None;
        for facts in &div_facts {
            let k = keys(facts);
            common = Some(match common {
                None => k,
                Some(c) => c.intersection(&k).cloned().collect(),
            });
        }
        let mut common = common.unwrap_or_default();
        for c in &clean {
            if let Some((_, facts)) = cells.get(c) {
                let k = keys(facts);
                common.retain(|x| !k.contains(x));
            }
        }
        f.static_windows = div
            .iter()
            .zip(&div_facts)
            .flat_map(|((tc, arch), facts)| {
                let common = &common;
                facts
                    .windows
                    .iter()
                    .filter(move |w| common.contains(&key(w)))
                    .map(move |w| StaticWindow {
                        toolchain: tc.clone(),
                        arch: *arch,
                        window: w.clone(),
                        in_crash_dump: false,
                    })
            })
            .collect();
    }
}

/// (function, pc) of each frame of a dump.
type Frames = Vec<(String, u64)>;

/// The frames of a Go traceback: (function, pc) for each frame line that
/// the runtime printed with its `pc=0x…` (GOTRACEBACK=crash and the throw's
/// own dump print them).
pub fn dump_frames(dump: &str) -> Frames {
    let mut out = Vec::new();
    let mut func: Option<&str> = None;
    for line in dump.lines() {
        if let Some(loc) = line.strip_prefix('\t') {
            if let (Some(f), Some(i)) = (func.take(), loc.rfind(" pc=0x")) {
                let hex = loc[i + 6..].split_whitespace().next().unwrap_or("");
                if let Ok(pc) = u64::from_str_radix(hex, 16) {
                    out.push((f.to_string(), pc));
                }
            }
            continue;
        }
        func = line
            .rfind('(')
            .map(|i| &line[..i])
            .filter(|f| !f.is_empty() && !f.contains(' '));
    }
    out
}

/// Confirm the static evidence of crash findings from their crash dumps
/// (toolchain, arch, text of each): a window is confirmed when a dump of its
/// cell has a frame of the window's function at a PC inside the window, i.e.
/// a goroutine was stopped right there when the run crashed.
pub fn confirm_from_dumps(findings: &mut [Finding], dumps: &[(String, Arch, String)]) {
    let frames: Vec<(&str, Arch, Frames)> = dumps
        .iter()
        .map(|(tc, arch, text)| (tc.as_str(), *arch, dump_frames(text)))
        .collect();
    for f in findings.iter_mut().filter(|f| f.kind == Kind::Crash) {
        for w in &mut f.static_windows {
            let range = w.window.pc..=w.window.end_pc.max(w.window.pc);
            w.in_crash_dump = frames.iter().any(|(tc, arch, fr)| {
                *tc == w.toolchain
                    && *arch == w.arch
                    && fr
                        .iter()
                        .any(|(func, pc)| *func == w.window.function && range.contains(pc))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    /// What `judge::findings_for_program` does, composed here.
    fn all_findings(recs: &[Record]) -> Vec<Finding> {
        let alpha = crate::oracle::verdict::DEFAULT_ALPHA;
        let mut out = crate::oracle::findings::run_findings_at(&prog(), recs, alpha);
        cross_reference(&mut out, recs);
        out.extend(findings(&prog(), recs, alpha));
        out
    }

    use super::*;
    use crate::model::ExitStatus;

    fn prog() -> Program {
        Program {
            name: "p".into(),
            main_go: "package main\n".into(),
            go_mod: "module x\n".into(),
            spec_json: None,
            template: None,
            seed: None,
            timeout: None,
            timeout_emulated: None,
            env: BTreeMap::new(),
        }
    }

    fn window(function: &str, offset: u64) -> WindowFact {
        WindowFact {
            function: function.into(),
            offset,
            pc: 0x1000 + offset,
            end_pc: 0x1000 + offset,
            rule: "split-sp-epilogue".into(),
            bug: Some("golang/go#73259".into()),
            sp_actual: -69632,
            sp_table: -72016,
            insns: vec![],
        }
    }

    fn rec(stage: Stage, tc: &str, arch: Arch, outcome: Class, trial: u32) -> Record {
        Record {
            stage,
            program: "p".into(),
            toolchain: tc.into(),
            arch,
            executor: format!("{arch} (test)"),
            trial,
            env: BTreeMap::new(),
            outcome,
            signature: if outcome == Class::Ok {
                String::new()
            } else {
                "fatal error: traceback did not unwind completely in runtime.(*unwinder).next < runtime.scanstack".into()
            },
            checksum: None,
            duration_ms: 1,
            exit: Some(ExitStatus::Code(0)),
            timeout_ms: None,
            peak_rss: None,
            log: None,
            scan: None,
        }
    }

    fn build(tc: &str, arch: Arch, windows: Vec<WindowFact>) -> Record {
        let mut r = rec(Stage::Build, tc, arch, Class::Ok, 0);
        r.scan = Some(ScanFacts {
            windows,
            functions_checked: 10,
            duration_ms: 1,
            error: None,
        });
        r
    }

    fn divergent(f: &Finding) -> Vec<(String, Arch)> {
        f.cells
            .iter()
            .filter(|c| c.divergent)
            .map(|c| (c.toolchain.clone(), c.arch))
            .collect()
    }

    #[test]
    fn a_window_in_one_toolchain_only_is_a_toolchain_finding() {
        // The corpus pair: go1.23.11 has both windows, go1.23.12 only the leaf one.
        let recs = vec![
            build(
                "go1.23.11",
                Arch::Arm64,
                vec![window("main.bigFrame", 0x60), window("main.bigLeaf", 0x6c)],
            ),
            build("go1.23.12", Arch::Arm64, vec![window("main.bigLeaf", 0x6c)]),
            build("go1.23.11", Arch::Amd64, vec![]),
            build("go1.23.12", Arch::Amd64, vec![]),
        ];
        let f = findings(&prog(), &recs, 0.01);
        assert_eq!(f.len(), 2, "{f:#?}");
        let by_sig = |s: &str| f.iter().find(|f| f.signature.ends_with(s)).unwrap();
        let non_leaf = by_sig("main.bigFrame");
        assert_eq!(non_leaf.kind, Kind::UnsafeWindow);
        assert_eq!(non_leaf.scope, "toolchain");
        assert_eq!(divergent(non_leaf), vec![("go1.23.11".into(), Arch::Arm64)]);
        assert_eq!(
            non_leaf.bug,
            "unsafe window: split-sp-epilogue (golang/go#73259)"
        );
        assert_eq!(
            non_leaf.static_windows[0].line(),
            "static: window in main.bigFrame at +0x60 (go1.23.11/arm64: split-sp-epilogue, golang/go#73259)"
        );
        assert!(non_leaf.cells.iter().all(|c| c.runs == 1));
        let leaf = by_sig("main.bigLeaf");
        assert_eq!(leaf.scope, "cross-arch");
        assert_eq!(leaf.static_windows.len(), 2);
        // Without the amd64 cells the leaf window is in every cell.
        let f = findings(&prog(), &recs[..2], 0.01);
        let leaf = f.iter().find(|f| f.signature.ends_with("bigLeaf")).unwrap();
        assert_eq!(leaf.scope, "all");
    }

    #[test]
    fn no_window_no_finding_and_unscanned_cells_are_not_judged() {
        let mut failed = rec(Stage::Build, "go1.23.12", Arch::Arm64, Class::BuildError, 0);
        failed.signature = "build: x".into();
        let mut broken = build("go1.24.5", Arch::Arm64, vec![]);
        broken.scan.as_mut().unwrap().error = Some("corrupt".into());
        let recs = vec![
            build(
                "go1.23.11",
                Arch::Arm64,
                vec![window("main.bigFrame", 0x60)],
            ),
            failed,
            broken,
            build("go1.25.14", Arch::Arm64, vec![]),
        ];
        let f = findings(&prog(), &recs, 0.01);
        assert_eq!(f.len(), 1);
        // Only the two scanned cells are in it.
        let cells: Vec<&str> = f[0].cells.iter().map(|c| c.toolchain.as_str()).collect();
        assert_eq!(cells, vec!["go1.23.11", "go1.25.14"]);
        assert_eq!(f[0].scope, "toolchain");
        let clean = vec![
            build("go1.23.12", Arch::Arm64, vec![]),
            build("go1.25.14", Arch::Arm64, vec![]),
        ];
        assert!(findings(&prog(), &clean, 0.01).is_empty());
    }

    #[test]
    fn frames_of_a_real_split_sp_dump() {
        // A go1.23.11/arm64 crash of go-corpus/arm64-split-sp-73259: the
        // goroutine being scanned was stopped in main.bigFrame.
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/fixtures/classify/runs/crash_split_sp/arm64-split-sp-73259-go1.23.11-arm64-tbcrash-r0/stderr",
        );
        let dump = std::fs::read_to_string(p).unwrap();
        let frames = dump_frames(&dump);
        assert!(
            frames.contains(&("main.bigFrame".to_string(), 0xa1014)),
            "{frames:?}"
        );
        assert!(frames.contains(&("runtime.scanstack".to_string(), 0x2a920)));
        let mut w = window("main.bigFrame", 0x74);
        let mut crash = |pc: u64| {
            w.pc = pc;
            w.end_pc = pc;
            let mut f = findings(
                &prog(),
                &[build("go1.23.11", Arch::Arm64, vec![w.clone()])],
                0.01,
            );
            f[0].kind = Kind::Crash;
            let dumps = vec![("go1.23.11".to_string(), Arch::Arm64, dump.clone())];
            confirm_from_dumps(&mut f, &dumps);
            f[0].static_windows[0].in_crash_dump
        };
        assert!(crash(0xa1014));
        assert!(!crash(0xa1018));
    }

    #[test]
    fn a_crash_is_confirmed_only_by_the_window_its_clean_partner_lacks() {
        let mut recs = vec![
            build(
                "go1.23.11",
                Arch::Arm64,
                vec![window("main.bigFrame", 0x60), window("main.bigLeaf", 0x6c)],
            ),
            build("go1.23.12", Arch::Arm64, vec![window("main.bigLeaf", 0x6c)]),
        ];
        for t in 0..8 {
            recs.push(rec(Stage::Run, "go1.23.11", Arch::Arm64, Class::Fatal, t));
            recs.push(rec(Stage::Run, "go1.23.12", Arch::Arm64, Class::Ok, t));
        }
        let f = all_findings(&recs);
        let crash = f
            .iter()
            .find(|f| f.kind == Kind::Crash)
            .unwrap_or_else(|| panic!("no crash finding: {f:#?}"));
        assert_eq!(crash.scope, "toolchain");
        let lines: Vec<String> = crash.static_windows.iter().map(|w| w.line()).collect();
        assert_eq!(
            lines,
            vec!["static: window in main.bigFrame at +0x60 (go1.23.11/arm64: split-sp-epilogue, golang/go#73259)"]
        );
        // The same crash on builds without the difference: no static evidence.
        for r in recs.iter_mut().filter(|r| r.stage == Stage::Build) {
            r.scan.as_mut().unwrap().windows = vec![window("main.bigLeaf", 0x6c)];
        }
        let f = all_findings(&recs);
        let crash = f.iter().find(|f| f.kind == Kind::Crash).unwrap();
        assert!(crash.static_windows.is_empty(), "{crash:#?}");
    }
}
