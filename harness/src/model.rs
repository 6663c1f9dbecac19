//! Plain data shared by every pipeline stage.
//!
//! Stages take these values in and hand these values out; none of them holds
//! hidden state. Everything here is serialisable so that it can go into
//! `results.jsonl`, `finding.json` and the generator spec files.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A Go GOARCH that divergo can build for and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::Amd64, Arch::Arm64];

    pub fn goarch(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The architecture of the machine divergo runs on, if it is one it knows.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::Amd64),
            "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.goarch())
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "amd64" | "x86_64" | "x86-64" => Ok(Arch::Amd64),
            "arm64" | "aarch64" => Ok(Arch::Arm64),
            other => Err(format!("unknown arch {other:?} (expected amd64 or arm64)")),
        }
    }
}

/// The class of one build or run.
///
/// `Infra` means the harness, a toolchain or an emulator failed; it is never
/// counted as something the program did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Ok,
    Panic,
    Fatal,
    Signal,
    Hang,
    Oom,
    BuildError,
    Ice,
    Infra,
}

impl Class {
    pub const ALL: [Class; 9] = [
        Class::Ok,
        Class::Panic,
        Class::Fatal,
        Class::Signal,
        Class::Hang,
        Class::Oom,
        Class::BuildError,
        Class::Ice,
        Class::Infra,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Panic => "panic",
            Class::Fatal => "fatal",
            Class::Signal => "signal",
            Class::Hang => "hang",
            Class::Oom => "oom",
            Class::BuildError => "build_error",
            Class::Ice => "ice",
            Class::Infra => "infra",
        }
    }

    /// A crash of the running program (not a hang, not a build problem).
    pub fn is_crash(self) -> bool {
        matches!(self, Class::Panic | Class::Fatal | Class::Signal)
    }

    /// Whether this outcome says something about the program/toolchain
    /// (everything but `Infra`).
    pub fn is_program_outcome(self) -> bool {
        self != Class::Infra
    }

    /// Ordering used in reports: worst first.
    pub fn severity(self) -> u8 {
        match self {
            Class::Ice => 9,
            Class::Signal => 8,
            Class::Fatal => 7,
            Class::Hang => 6,
            Class::Panic => 5,
            Class::Oom => 4,
            Class::BuildError => 3,
            Class::Infra => 1,
            Class::Ok => 0,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Class {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Class::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Class::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "unknown outcome {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// A classified outcome with its normalised signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub class: Class,
    /// Normalised title: the same bug on two runs gives the same string.
    /// Empty for `ok`.
    pub signature: String,
    /// The `checksum: <hex>` line of an ok run, if the program printed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl Outcome {
    pub fn new(class: Class, signature: impl Into<String>) -> Self {
        Outcome {
            class,
            signature: signature.into(),
            checksum: None,
        }
    }

    pub fn infra(reason: impl Into<String>) -> Self {
        Outcome::new(Class::Infra, reason)
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit {c}"),
            ExitStatus::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// divergo's version, as recorded in run.json and finding.json.
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// One program to test.
#[derive(Clone, Debug)]
pub struct Program {
    pub name: String,
    pub main_go: String,
    pub go_mod: String,
    /// The generator spec (JSON) for generated programs.
    pub spec_json: Option<String>,
    pub template: Option<String>,
    pub seed: Option<u64>,
    /// Native per-run timeout; None = the config default.
    pub timeout: Option<Duration>,
    /// Per-run timeout under an emulator; None = native timeout × slowdown.
    pub timeout_emulated: Option<Duration>,
    /// Extra environment of every run (overrides the config's knobs).
    pub env: BTreeMap<String, String>,
}

/// One line of results.jsonl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `build` or `run`.
    pub stage: Stage,
    /// Program name (corpus entry name or `seed-N`).
    pub program: String,
    pub toolchain: String,
    pub arch: Arch,
    /// Executor label, e.g. `arm64 (qemu-user 7.2, one insn per TB)`.
    pub executor: String,
    /// Trial number (0-based); 0 for builds.
    pub trial: u32,
    /// Pressure knobs and other environment that shaped the run.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub outcome: Class,
    #[serde(default)]
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitStatus>,
    /// The timeout this run had (runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss: Option<u64>,
    /// Where the full output of this run was kept, relative to the results dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Builds that built: what the static scan (`oracle::scan`) found in the
    /// binary. Absent in records of older divergo versions, and older
    /// readers ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanFacts>,
}

/// The static facts of one build: the preemption windows the scan found in
/// its binary (deterministic: one scan is the whole evidence), or why the
/// binary could not be scanned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanFacts {
    /// Asynchronously preemptible windows, in address order.
    #[serde(default)]
    pub windows: Vec<WindowFact>,
    /// Functions with preemptible PCs that were checked.
    #[serde(default)]
    pub functions_checked: usize,
    #[serde(default)]
    pub duration_ms: u64,
    /// The scan failed (a divergo problem, not a program outcome): the
    /// cell has no static verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One window of a build, as a cell fact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowFact {
    pub function: String,
    /// Offset of the window's first PC from the function's entry.
    pub offset: u64,
    pub pc: u64,
    /// Last PC of the window.
    #[serde(default)]
    pub end_pc: u64,
    /// The scan rule that names it (`split-sp-epilogue`), and its bug.
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bug: Option<String>,
    /// SP relative to entry as the instructions leave it, and as pcsp says.
    pub sp_actual: i64,
    pub sp_table: i64,
    /// The instruction that opened the window and those inside it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insns: Vec<String>,
}

impl ScanFacts {
    /// Whether the scan ran and gives the cell a static verdict.
    pub fn judged(&self) -> bool {
        self.error.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Build,
    Run,
}

impl Record {
    /// Identity of the cell/trial, used to skip completed work on resume.
    pub fn key(&self) -> (Stage, String, String, Arch, u32) {
        (
            self.stage,
            self.program.clone(),
            self.toolchain.clone(),
            self.arch,
            self.trial,
        )
    }
}
