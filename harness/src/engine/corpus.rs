//! Known programs with expected outcomes per toolchain and arch (`go-corpus/`).
//!
//! Each entry is a directory with `main.go`, `go.mod` and `expect.toml`:
//!
//! ```toml
//! description = "arm64 split stack-pointer epilogue"
//! issue = "golang/go#73259"
//! trials = 3            # runs per cell (default 1)
//! timeout_s = 20        # native timeout per run; scaled for emulators
//! timeout_emulated_s = 120   # optional: timeout under qemu-user instead
//! [env]                 # extra environment of every run
//! GOMAXPROCS = "2"
//!
//! [[expect]]            # first matching block wins
//! toolchains = ["go1.23.11"]  # optional; "go1.25" matches every go1.25.N
//! archs = ["arm64"]           # optional
//! outcome = ["fatal", "signal"]
//! signature = "unwind"        # optional regex every matching run's signature must match
//! when = "any"                # "all" (default): every trial; "any": at least one trial
//!
//! [[expect]]
//! outcome = ["ok"]
//!
//! [[static]]            # what the static scan finds in the cell's build; first matching block wins
//! toolchains = ["go1.23.11"]  # optional, as above
//! archs = ["arm64"]           # optional
//! windows = ["main.bigFrame"] # exactly the functions with a window ([] = none)
//! ```
//! A cell that no block matches has no expectation and is shown, not judged.
//! Static expectations are exact: the scan is deterministic, so one build
//! decides them.

use crate::model::{Arch, Class, Program, Record};
use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    description: String,
    #[serde(default)]
    issue: Option<String>,
    #[serde(default)]
    trials: Option<u32>,
    #[serde(default)]
    timeout_s: Option<f64>,
    #[serde(default)]
    timeout_emulated_s: Option<f64>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    expect: Vec<RawExpect>,
    #[serde(default, rename = "static")]
    statics: Vec<RawStatic>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatic {
    #[serde(default)]
    toolchains: Vec<String>,
    #[serde(default)]
    archs: Vec<String>,
    windows: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    toolchains: Vec<String>,
    #[serde(default)]
    archs: Vec<String>,
    outcome: Vec<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    when: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    All,
    Any,
}

#[derive(Clone, Debug)]
pub struct Expect {
    pub toolchains: Vec<String>,
    pub archs: Vec<Arch>,
    pub outcomes: Vec<Class>,
    pub signature: Option<regex::Regex>,
    pub when: When,
}

impl Expect {
    pub fn matches(&self, toolchain: &str, arch: Arch) -> bool {
        let tc_ok = self.toolchains.is_empty()
            || self
                .toolchains
                .iter()
                .any(|t| crate::toolchain::registry::name_matches(t, toolchain));
        let arch_ok = self.archs.is_empty() || self.archs.contains(&arch);
        tc_ok && arch_ok
    }

    /// Judge the outcomes of one cell (class and signature of each trial).
    /// Infra outcomes are not program outcomes: they make the cell unjudgeable.
    pub fn judge(&self, runs: &[(Class, String)]) -> Verdict {
        let runs: Vec<&(Class, String)> = runs.iter().collect();
        if runs.is_empty() {
            return Verdict::NotRun;
        }
        if runs.iter().any(|(c, _)| *c == Class::Infra) {
            return Verdict::Infra;
        }
        let good = |(c, s): &&(Class, String)| {
            self.outcomes.contains(c) && self.signature.as_ref().is_none_or(|re| re.is_match(s))
        };
        let ok = match self.when {
            When::All => runs.iter().all(good),
            When::Any => runs.iter().any(good),
        };
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }

    pub fn describe(&self) -> String {
        let names: Vec<_> = self.outcomes.iter().map(|c| c.name()).collect();
        let mut s = names.join("|");
        if self.when == When::Any {
            s = format!("any {s}");
        }
        s
    }
}

/// What the static scan must find in the build of matching cells.
#[derive(Clone, Debug)]
pub struct StaticExpect {
    pub toolchains: Vec<String>,
    pub archs: Vec<Arch>,
    /// The functions with a window, exactly (empty: no window at all).
    pub windows: BTreeSet<String>,
}

impl StaticExpect {
    pub fn matches(&self, toolchain: &str, arch: Arch) -> bool {
        (self.toolchains.is_empty()
            || self
                .toolchains
                .iter()
                .any(|t| crate::toolchain::registry::name_matches(t, toolchain)))
            && (self.archs.is_empty() || self.archs.contains(&arch))
    }

    /// Judge a cell by its build record: the scanned windows' functions
    /// must be exactly the expected ones.
    pub fn judge(&self, build: Option<&Record>) -> (Verdict, String) {
        let Some(b) = build else {
            return (Verdict::NotRun, "not built".into());
        };
        match b.outcome {
            Class::Ok => {}
            Class::Infra => return (Verdict::Infra, "build infra".into()),
            c => return (Verdict::Fail, format!("{c}, not scanned")),
        }
        let Some(facts) = &b.scan else {
            return (Verdict::NotRun, "not scanned".into());
        };
        if let Some(e) = &facts.error {
            return (Verdict::Infra, format!("scan failed: {e}"));
        }
        let found: BTreeSet<String> = facts.windows.iter().map(|w| w.function.clone()).collect();
        let v = if found == self.windows {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        (v, windows_str(&found))
    }

    pub fn describe(&self) -> String {
        windows_str(&self.windows)
    }
}

fn windows_str(fns: &BTreeSet<String>) -> String {
    if fns.is_empty() {
        "no window".into()
    } else {
        format!(
            "window in {}",
            fns.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// The cell could not be judged: toolchain, emulator or harness failed.
    Infra,
    NotRun,
}

/// One corpus entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub dir: PathBuf,
    pub description: String,
    pub issue: Option<String>,
    pub trials: u32,
    pub timeout_s: f64,
    pub timeout_emulated_s: Option<f64>,
    pub env: BTreeMap<String, String>,
    pub expect: Vec<Expect>,
    /// Static expectations (`[[static]]`).
    pub statics: Vec<StaticExpect>,
    pub main_go: String,
    pub go_mod: String,
}

impl Entry {
    pub fn expectation(&self, toolchain: &str, arch: Arch) -> Option<&Expect> {
        self.expect.iter().find(|e| e.matches(toolchain, arch))
    }

    pub fn static_expectation(&self, toolchain: &str, arch: Arch) -> Option<&StaticExpect> {
        self.statics.iter().find(|e| e.matches(toolchain, arch))
    }
}

/// Load one entry; errors name the file and what is wrong.
impl Entry {
    /// The entry as a program to test, with its own timeouts and environment.
    pub fn program(&self) -> Program {
        Program {
            name: self.name.clone(),
            main_go: self.main_go.clone(),
            go_mod: self.go_mod.clone(),
            spec_json: None,
            template: None,
            seed: None,
            timeout: Some(std::time::Duration::from_secs_f64(self.timeout_s)),
            timeout_emulated: self
                .timeout_emulated_s
                .map(std::time::Duration::from_secs_f64),
            env: self.env.clone(),
        }
    }
}

pub fn load_entry(dir: &Path) -> Result<Entry> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("bad corpus entry path {}", dir.display()))?
        .to_string();
    let expect_path = dir.join("expect.toml");
    let text = fs::read_to_string(&expect_path)
        .with_context(|| format!("{}: cannot read", expect_path.display()))?;
    let raw: RawEntry = toml::from_str(&text).map_err(|e| {
        anyhow!(
            "{}: {}",
            expect_path.display(),
            e.to_string().lines().collect::<Vec<_>>().join(" ")
        )
    })?;
    let bad = |msg: String| anyhow!("{}: {msg}", expect_path.display());
    if raw.expect.is_empty() {
        return Err(bad("no [[expect]] blocks".into()));
    }
    let mut expect = Vec::new();
    for (i, e) in raw.expect.iter().enumerate() {
        let at = |m: String| bad(format!("expect block {}: {m}", i + 1));
        if e.outcome.is_empty() {
            return Err(at("outcome is empty".into()));
        }
        let outcomes = e
            .outcome
            .iter()
            .map(|o| o.parse::<Class>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        let archs = e
            .archs
            .iter()
            .map(|a| a.parse::<Arch>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        for t in &e.toolchains {
            if !crate::toolchain::registry::valid_name(t) {
                return Err(at(format!("invalid toolchain name {t:?}")));
            }
        }
        let signature = match &e.signature {
            Some(s) => Some(
                regex::Regex::new(s).map_err(|err| at(format!("bad signature regex: {err}")))?,
            ),
            None => None,
        };
        let when = match e.when.as_deref() {
            None | Some("all") => When::All,
            Some("any") => When::Any,
            Some(w) => return Err(at(format!("when = {w:?}: expected \"all\" or \"any\""))),
        };
        expect.push(Expect {
            toolchains: e.toolchains.clone(),
            archs,
            outcomes,
            signature,
            when,
        });
    }
    let mut statics = Vec::new();
    for (i, e) in raw.statics.iter().enumerate() {
        let at = |m: String| bad(format!("static block {}: {m}", i + 1));
        let archs = e
            .archs
            .iter()
            .map(|a| a.parse::<Arch>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        for t in &e.toolchains {
            if !crate::toolchain::registry::valid_name(t) {
                return Err(at(format!("invalid toolchain name {t:?}")));
            }
        }
        statics.push(StaticExpect {
            toolchains: e.toolchains.clone(),
            archs,
            windows: e.windows.iter().cloned().collect(),
        });
    }
    let trials = raw.trials.unwrap_or(1);
    if trials == 0 || trials > 1000 {
        return Err(bad(format!("trials = {trials}: expected 1..=1000")));
    }
    let timeout_s = raw.timeout_s.unwrap_or(10.0);
    if !(timeout_s > 0.0 && timeout_s <= 3600.0) {
        return Err(bad(format!(
            "timeout_s = {timeout_s}: expected 0 < t <= 3600"
        )));
    }
    if let Some(t) = raw.timeout_emulated_s {
        if !(t > 0.0 && t <= 36000.0) {
            return Err(bad(format!(
                "timeout_emulated_s = {t}: expected 0 < t <= 36000"
            )));
        }
    }
    let read = |f: &str| {
        let p = dir.join(f);
        fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))
    };
    Ok(Entry {
        name,
        dir: dir.to_path_buf(),
        description: raw.description,
        issue: raw.issue,
        trials,
        timeout_s,
        timeout_emulated_s: raw.timeout_emulated_s,
        env: raw.env,
        expect,
        statics,
        main_go: read("main.go")?,
        go_mod: read("go.mod")?,
    })
}

/// Load every entry under `dir` whose name contains `filter` (sorted by name).
pub fn load(dir: &Path, filter: Option<&str>) -> Result<Vec<Entry>> {
    let rd =
        fs::read_dir(dir).with_context(|| format!("cannot read corpus dir {}", dir.display()))?;
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !n.starts_with('.') && filter.is_none_or(|f| n.contains(f))
        })
        .collect();
    dirs.sort();
    let entries = dirs
        .iter()
        .map(|d| load_entry(d))
        .collect::<Result<Vec<_>>>()?;
    if entries.is_empty() {
        bail!(
            "no corpus entries in {}{}",
            dir.display(),
            filter
                .map(|f| format!(" matching {f:?}"))
                .unwrap_or_default()
        );
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, toml: &str) -> Result<Entry> {
        let d = dir.join("e");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("main.go"), "package main\nfunc main() {}\n").unwrap();
        fs::write(d.join("go.mod"), "module x\n\ngo 1.14\n").unwrap();
        fs::write(d.join("expect.toml"), toml).unwrap();
        load_entry(&d)
    }

    #[test]
    fn malformed_entries_name_the_problem() {
        let t = tempfile::tempdir().unwrap();
        let e = entry(
            t.path(),
            "description = \"x\"\n[[expect]]\noutcome = [\"crashy\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("expect.toml: expect block 1: unknown outcome \"crashy\""),
            "{e}"
        );
        let e = entry(t.path(), "description = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no [[expect]] blocks"), "{e}");
        let e = entry(t.path(), "descr = 1\n").unwrap_err().to_string();
        assert!(e.contains("expect.toml"), "{e}");
        let e = entry(
            t.path(),
            "description = \"x\"\n[[expect]]\narchs=[\"sparc64\"]\noutcome = [\"ok\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown arch"), "{e}");
    }

    #[test]
    fn first_matching_block_wins_and_prefixes_match() {
        let t = tempfile::tempdir().unwrap();
        let e = entry(
            t.path(),
            r#"description = "x"
[[expect]]
toolchains = ["go1.23.11"]
archs = ["arm64"]
outcome = ["fatal", "signal"]
when = "any"
[[expect]]
toolchains = ["go1.25"]
outcome = ["ok"]
[[expect]]
outcome = ["panic"]
"#,
        )
        .unwrap();
        let x = e.expectation("go1.23.11", Arch::Arm64).unwrap();
        assert_eq!(x.when, When::Any);
        assert_eq!(
            x.judge(&[(Class::Ok, "".into()), (Class::Fatal, "f".into())]),
            Verdict::Pass
        );
        assert_eq!(x.judge(&[(Class::Ok, "".into())]), Verdict::Fail);
        let y = e.expectation("go1.25.14", Arch::Amd64).unwrap();
        assert_eq!(y.outcomes, vec![Class::Ok]);
        assert_eq!(
            y.judge(&[(Class::Ok, "".into()), (Class::Fatal, "f".into())]),
            Verdict::Fail
        );
        assert_eq!(y.judge(&[(Class::Infra, "x".into())]), Verdict::Infra);
        let z = e.expectation("go1.23.11", Arch::Amd64).unwrap();
        assert_eq!(z.outcomes, vec![Class::Panic]);
        assert!(e.expectation("go1.250.1", Arch::Amd64).unwrap().outcomes == vec![Class::Panic]);
    }
}
