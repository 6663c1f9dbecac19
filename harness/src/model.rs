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

/// A linux GOARCH that divergo can build for and run: all thirteen of Go's
/// linux ports (amd64, arm64, 386, arm, loong64, mips, mipsle, mips64,
/// mips64le, ppc64, ppc64le, riscv64, s390x).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Amd64,
    Arm64,
    #[serde(rename = "386")]
    I386,
    Arm,
    Loong64,
    Mips,
    Mipsle,
    Mips64,
    Mips64le,
    Ppc64,
    Ppc64le,
    Riscv64,
    S390x,
}

impl Arch {
    pub const ALL: [Arch; 13] = [
        Arch::Amd64,
        Arch::Arm64,
        Arch::I386,
        Arch::Arm,
        Arch::Loong64,
        Arch::Mips,
        Arch::Mipsle,
        Arch::Mips64,
        Arch::Mips64le,
        Arch::Ppc64,
        Arch::Ppc64le,
        Arch::Riscv64,
        Arch::S390x,
    ];

    pub fn goarch(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::I386 => "386",
            Arch::Arm => "arm",
            Arch::Loong64 => "loong64",
            Arch::Mips => "mips",
            Arch::Mipsle => "mipsle",
            Arch::Mips64 => "mips64",
            Arch::Mips64le => "mips64le",
            Arch::Ppc64 => "ppc64",
            Arch::Ppc64le => "ppc64le",
            Arch::Riscv64 => "riscv64",
            Arch::S390x => "s390x",
        }
    }

    /// Bits of `int`, `uint` and pointers.
    pub fn word_bits(self) -> u32 {
        match self {
            Arch::I386 | Arch::Arm | Arch::Mips | Arch::Mipsle => 32,
            _ => 64,
        }
    }

    /// The first Go minor (1.N) with a linux port of this arch: loong64
    /// came in go1.19, riscv64 in go1.14; the rest are older than any
    /// toolchain divergo runs. A toolchain older than this has no cell.
    pub fn first_go_minor(self) -> u32 {
        match self {
            Arch::Loong64 => 19,
            Arch::Riscv64 => 14,
            _ => 0,
        }
    }

    /// Whether the static scan (oracle::scan) reads binaries of
    /// this arch; the others are not scanned.
    pub fn scanned(self) -> bool {
        matches!(self, Arch::Amd64 | Arch::Arm64)
    }

    /// The architecture of the machine divergo runs on, if it is one it knows.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::Amd64),
            "aarch64" => Some(Arch::Arm64),
            "loongarch64" => Some(Arch::Loong64),
            "powerpc64" if cfg!(target_endian = "little") => Some(Arch::Ppc64le),
            "powerpc64" => Some(Arch::Ppc64),
            "riscv64" => Some(Arch::Riscv64),
            "s390x" => Some(Arch::S390x),
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
        let s = s.trim();
        match s {
            "x86_64" | "x86-64" => return Ok(Arch::Amd64),
            "aarch64" => return Ok(Arch::Arm64),
            "i386" | "x86" => return Ok(Arch::I386),
            _ => {}
        }
        Arch::ALL
            .into_iter()
            .find(|a| a.goarch() == s)
            .ok_or_else(|| {
                format!(
                    "unknown arch {s:?} (expected a linux GOARCH: {}, or all)",
                    Arch::ALL.map(|a| a.goarch()).join(", ")
                )
            })
    }
}

/// A way of building that exercises other compiler paths than the default
/// build, for compile-only cells (`--compile-mode`). Each names the cell's
/// toolchain as `NAME+<mode>` (e.g. `go1.27.4+ssacheck`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BuildMode {
    /// `-gcflags=-d=ssa/check/on` (the program's package; the standard
    /// library is not the program): the SSA checker turns a malformed
    /// intermediate form into an internal compiler error.
    #[serde(rename = "ssacheck")]
    SsaCheck,
    /// `-gcflags=all=-N -l`, built only (the `+noopt` cells also run).
    #[serde(rename = "noopt-build")]
    NooptBuild,
    /// `-race` (needs cgo: amd64 on an x86-64 host only).
    #[serde(rename = "race")]
    Race,
    /// `GOAMD64=v3` (go1.18 on; v1 is the default build).
    #[serde(rename = "goamd64v3")]
    Goamd64V3,
    /// `GOARM64=v8.1` (go1.23 on; v8.0 is the default build).
    #[serde(rename = "goarm64v8.1")]
    Goarm64V81,
    /// `GOARM=5` (software floating point).
    #[serde(rename = "goarm5")]
    Goarm5,
    /// `GOARM=6`.
    #[serde(rename = "goarm6")]
    Goarm6,
}

impl BuildMode {
    pub const ALL: [BuildMode; 7] = [
        BuildMode::SsaCheck,
        BuildMode::NooptBuild,
        BuildMode::Race,
        BuildMode::Goamd64V3,
        BuildMode::Goarm64V81,
        BuildMode::Goarm5,
        BuildMode::Goarm6,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BuildMode::SsaCheck => "ssacheck",
            BuildMode::NooptBuild => "noopt-build",
            BuildMode::Race => "race",
            BuildMode::Goamd64V3 => "goamd64v3",
            BuildMode::Goarm64V81 => "goarm64v8.1",
            BuildMode::Goarm5 => "goarm5",
            BuildMode::Goarm6 => "goarm6",
        }
    }

    /// Whether a build of `arch` in this mode exists with a toolchain of Go
    /// minor `minor` (1.N): the arch has the knob, and the toolchain has it.
    pub fn applies(self, arch: Arch, minor: u32) -> bool {
        match self {
            BuildMode::SsaCheck | BuildMode::NooptBuild => true,
            BuildMode::Race => arch == Arch::Amd64 && Arch::host() == Some(Arch::Amd64),
            BuildMode::Goamd64V3 => arch == Arch::Amd64 && minor >= 18,
            BuildMode::Goarm64V81 => arch == Arch::Arm64 && minor >= 23,
            BuildMode::Goarm5 | BuildMode::Goarm6 => arch == Arch::Arm,
        }
    }

    /// Extra `go build` arguments.
    pub fn build_args(self) -> Vec<String> {
        match self {
            BuildMode::SsaCheck => vec!["-gcflags=-d=ssa/check/on".into()],
            BuildMode::NooptBuild => vec!["-gcflags=all=-N -l".into()],
            BuildMode::Race => vec!["-race".into()],
            _ => vec![],
        }
    }

    /// Environment that replaces the build's own.
    pub fn build_env(self) -> Vec<(&'static str, &'static str)> {
        match self {
            BuildMode::Race => vec![("CGO_ENABLED", "1")],
            BuildMode::Goamd64V3 => vec![("GOAMD64", "v3")],
            BuildMode::Goarm64V81 => vec![("GOARM64", "v8.1")],
            BuildMode::Goarm5 => vec![("GOARM", "5")],
            BuildMode::Goarm6 => vec![("GOARM", "6")],
            _ => vec![],
        }
    }
}

impl fmt::Display for BuildMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BuildMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BuildMode::ALL
            .into_iter()
            .find(|m| m.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown build mode {s:?} (expected {}, or all)",
                    BuildMode::ALL.map(|m| m.name()).join(", ")
                )
            })
    }
}

/// One item of a `--compile-mode` list: a mode, or `all`.
pub type ModeSel = Sel<BuildMode>;

impl Listed for BuildMode {
    fn all() -> &'static [Self] {
        &BuildMode::ALL
    }
}

/// One item of a `--arch` list: a GOARCH, or `all` for every one.
pub type ArchSel = Sel<Arch>;

impl Listed for Arch {
    fn all() -> &'static [Self] {
        &Arch::ALL
    }
}

/// A value type whose every value a list item `all` stands for.
pub trait Listed: Copy + PartialEq + FromStr<Err = String> + 'static {
    fn all() -> &'static [Self];
}

/// One item of a list flag (`--arch`, `--compile-mode`): one value, or
/// `all` for every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sel<T> {
    One(T),
    All,
}

impl<T: Listed> FromStr for Sel<T> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "all" {
            Ok(Sel::All)
        } else {
            s.parse().map(Sel::One)
        }
    }
}

impl<T: Listed> Sel<T> {
    /// The values a list names, in order, each once.
    pub fn expand(sel: &[Sel<T>]) -> Vec<T> {
        let mut out = Vec::new();
        for s in sel {
            let add = match s {
                Sel::One(v) => std::slice::from_ref(v),
                Sel::All => T::all(),
            };
            for v in add {
                if !out.contains(v) {
                    out.push(*v);
                }
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_goarch_parses_prints_and_serialises_as_go_names_it() {
        for a in Arch::ALL {
            assert_eq!(a.goarch().parse::<Arch>().unwrap(), a);
            assert_eq!(a.to_string(), a.goarch());
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.goarch()));
            assert_eq!(serde_json::from_str::<Arch>(&json).unwrap(), a);
        }
        assert_eq!("x86_64".parse::<Arch>().unwrap(), Arch::Amd64);
        let e = "sparc64".parse::<Arch>().unwrap_err();
        assert!(
            e.contains("unknown arch") && e.contains("s390x, or all"),
            "{e}"
        );
        let sel: Vec<ArchSel> = ["riscv64", "all", "amd64"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let all = ArchSel::expand(&sel);
        assert_eq!(all.len(), 13);
        assert_eq!(
            all[0],
            Arch::Riscv64,
            "named first, then the rest once each"
        );
        let words: Vec<Arch> = Arch::ALL
            .into_iter()
            .filter(|a| a.word_bits() == 32)
            .collect();
        assert_eq!(words, vec![Arch::I386, Arch::Arm, Arch::Mips, Arch::Mipsle]);
    }
}
