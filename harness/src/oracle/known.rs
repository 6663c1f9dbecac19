//! Known issues: findings a team has already triaged.
//!
//! A nightly job keeps finding a bug that no released toolchain has fixed
//! yet. A known-issues file names such bugs; a finding that matches an entry
//! is still written (findings/<id>/) and listed, but under "Known issues",
//! and it does not make `divergo run` exit 1 or stop a `--stop-on-first` run.
//!
//! ```toml
//! [[known]]
//! issue = "golang/go#73259, leaf-function variant"   # shown with the finding
//! note = "why it is known, where its reproducer is"   # optional
//! signature = "unwind"                # regex the finding's signature or its bug key must
//!                                     # match (required); the bug key groups the forms of one
//!                                     # runtime fault: `runtime fault in F1 < F2`
//! kinds = ["crash"]                   # optional: build, crash, hang, wrong_output,
//!                                     # unsafe-window (a static finding: its bug key is
//!                                     # `unsafe window: RULE (BUG)`, e.g. `unsafe window:
//!                                     # split-sp-epilogue (golang/go#73259)`)
//! scopes = ["cross-arch", "all"]      # optional: toolchain, cross-arch, arch, all
//! archs = ["arm64"]                   # optional: every divergent cell is on one of these
//! toolchains = ["go1.23", "go1.25"]   # optional: every divergent cell is one of these
//!                                     # ("go1.25" matches every go1.25.N)
//! ```
//! Every given condition must hold. A toolchain divergence (scope
//! `toolchain`) is what an upgrade gate is about, so entries that should
//! never hide one list only `cross-arch`, `arch` and `all` in `scopes`.

use crate::model::Arch;
use crate::oracle::findings::{Finding, Kind, SCOPES};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssue {
    pub issue: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub signature: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<Kind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archs: Vec<Arch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toolchains: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownFile {
    #[serde(default)]
    known: Vec<KnownIssue>,
}

impl KnownIssue {
    fn regex(&self) -> Result<regex::Regex> {
        regex::Regex::new(&self.signature)
            .with_context(|| format!("signature {:?} is not a valid regex", self.signature))
    }

    fn check(&self) -> Result<()> {
        if self.issue.trim().is_empty() {
            bail!("issue is empty");
        }
        if self.signature.trim().is_empty() {
            bail!("signature is empty (an entry must not match every finding)");
        }
        self.regex()?;
        for s in &self.scopes {
            if !SCOPES.contains(&s.as_str()) {
                bail!("scope {s:?}: expected one of {}", SCOPES.join(", "));
            }
        }
        Ok(())
    }

    /// Whether `f` is this known issue.
    pub fn matches(&self, f: &Finding) -> bool {
        let Ok(re) = self.regex() else {
            return false;
        };
        if !re.is_match(&f.signature) && !re.is_match(&f.bug) {
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&f.kind) {
            return false;
        }
        if !self.scopes.is_empty() && !self.scopes.contains(&f.scope) {
            return false;
        }
        let divergent: Vec<_> = f.cells.iter().filter(|c| c.divergent).collect();
        if divergent.is_empty() {
            return false;
        }
        divergent.iter().all(|c| {
            (self.archs.is_empty() || self.archs.contains(&c.arch))
                && (self.toolchains.is_empty()
                    || self
                        .toolchains
                        .iter()
                        .any(|t| crate::toolchain::registry::name_matches(t, &c.toolchain)))
        })
    }
}

/// Parse a known-issues file.
pub fn parse(text: &str) -> Result<Vec<KnownIssue>> {
    let file: KnownFile = toml::from_str(text)?;
    for (i, k) in file.known.iter().enumerate() {
        k.check()
            .with_context(|| format!("known issue {} ({:?})", i + 1, k.issue))?;
    }
    Ok(file.known)
}

/// Load a known-issues file; errors name the file.
pub fn load(path: &Path) -> Result<Vec<KnownIssue>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read known-issues file {}", path.display()))?;
    parse(&text).with_context(|| format!("{}", path.display()))
}

/// Label each finding with the first known issue it matches.
pub fn label(known: &[KnownIssue], findings: &mut [Finding]) {
    for f in findings {
        f.known = known.iter().find(|k| k.matches(f)).map(|k| k.issue.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Class;
    use crate::oracle::findings::CellReport;
    use std::collections::BTreeMap;

    fn cell(tc: &str, arch: Arch, divergent: bool) -> CellReport {
        let mut outcomes = BTreeMap::new();
        outcomes.insert(if divergent { Class::Fatal } else { Class::Ok }, 3);
        CellReport {
            toolchain: tc.into(),
            arch,
            executor: String::new(),
            runs: 3,
            outcomes,
            divergent,
        }
    }

    fn finding(scope: &str, signature: &str, cells: Vec<CellReport>) -> Finding {
        Finding::new(
            Kind::Crash,
            scope.into(),
            signature.into(),
            crate::oracle::classify::bug_key(signature),
            cells,
            0.01,
        )
    }

    const LEAF: &str = r#"
[[known]]
issue = "leaf"
signature = "unwind"
kinds = ["crash"]
scopes = ["cross-arch", "all"]
archs = ["arm64"]
"#;

    #[test]
    fn cross_arch_unwind_crash_is_known_but_a_toolchain_divergence_is_not() {
        let k = parse(LEAF).unwrap();
        let cross = finding(
            "cross-arch",
            "fatal: traceback did not unwind completely",
            vec![
                cell("go1.23.12", Arch::Amd64, false),
                cell("go1.23.12", Arch::Arm64, true),
                cell("go1.25.14", Arch::Amd64, false),
                cell("go1.25.14", Arch::Arm64, true),
            ],
        );
        let toolchain = finding(
            "toolchain",
            "fatal: traceback did not unwind completely",
            vec![
                cell("go1.23.11", Arch::Arm64, true),
                cell("go1.23.12", Arch::Arm64, false),
            ],
        );
        let other_sig = finding(
            "cross-arch",
            "panic: index out of range",
            cross.cells.clone(),
        );
        let mut fs = vec![cross, toolchain, other_sig];
        label(&k, &mut fs);
        assert_eq!(fs[0].known.as_deref(), Some("leaf"));
        assert_eq!(fs[1].known, None);
        assert_eq!(fs[2].known, None);
    }

    #[test]
    fn archs_and_toolchains_constrain_every_divergent_cell() {
        let k = parse(
            r#"
[[known]]
issue = "t"
signature = "."
toolchains = ["go1.25"]
archs = ["arm64"]
"#,
        )
        .unwrap();
        let f = |cells| finding("toolchain", "sig", cells);
        assert!(k[0].matches(&f(vec![cell("go1.25.14", Arch::Arm64, true)])));
        assert!(!k[0].matches(&f(vec![cell("go1.250.1", Arch::Arm64, true)])));
        assert!(!k[0].matches(&f(vec![
            cell("go1.25.14", Arch::Arm64, true),
            cell("go1.23.12", Arch::Arm64, true)
        ])));
        assert!(!k[0].matches(&f(vec![cell("go1.25.14", Arch::Amd64, true)])));
        assert!(!k[0].matches(&f(vec![cell("go1.25.14", Arch::Arm64, false)])));
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = |t: &str| format!("{:#}", parse(t).unwrap_err());
        assert!(e("[[known]]\nissue = \"a\"\nsignature = \"(\"\n").contains("not a valid regex"));
        assert!(e("[[known]]\nissue = \"a\"\nsignature = \"\"\n").contains("signature is empty"));
        assert!(
            e("[[known]]\nissue = \"a\"\nsignature = \"x\"\nscopes = [\"everywhere\"]\n")
                .contains("scope \"everywhere\"")
        );
        assert!(
            e("[[known]]\nissue = \"a\"\nsignature = \"x\"\nkinds = [\"boom\"]\n").contains("boom")
        );
        assert!(e("[[known]]\nissue = \"a\"\nsignature = \"x\"\ncolour = 1\n").contains("colour"));
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn the_shipped_file_parses() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../go-corpus/known.toml");
        let k = load(&p).unwrap();
        assert!(!k.is_empty());
        // The leaf-function split-SP entry matches the bug in both of its
        // forms, on arm64 only, and never a toolchain divergence.
        let arm = || {
            vec![
                cell("go1.25.13", Arch::Amd64, false),
                cell("go1.25.13", Arch::Arm64, true),
                cell("go1.25.14", Arch::Amd64, false),
                cell("go1.25.14", Arch::Arm64, true),
            ]
        };
        for sig in [
            "fatal error: traceback did not unwind completely in runtime.(*unwinder).next < runtime.scanstack < runtime.markroot.func",
            "SIGSEGV: segmentation violation in runtime.(*unwinder).next < runtime.scanstack < runtime.markroot",
        ] {
            for scope in ["cross-arch", "arch"] {
                let mut fs = vec![finding(scope, sig, arm()), finding("toolchain", sig, arm())];
                label(&k, &mut fs);
                assert!(fs[0].known.is_some(), "{scope} {sig}");
                assert_eq!(fs[1].known, None, "{sig}");
            }
        }
        // The static form: a split-SP window in every arm64 build (scope
        // all or cross-arch) is the known leaf variant; one in some arm64
        // builds and not others (toolchain) is not, nor is another rule.
        let stat = |scope: &str, rule: &str| {
            let mut f = finding(
                scope,
                &format!("unsafe window: {rule} in main.bigLeaf"),
                arm(),
            );
            f.kind = Kind::UnsafeWindow;
            f.bug = crate::oracle::windows::bug_key(rule, Some("golang/go#73259"));
            f
        };
        let mut fs = vec![
            stat("all", "split-sp-epilogue"),
            stat("cross-arch", "split-sp-epilogue"),
            stat("toolchain", "split-sp-epilogue"),
            stat("all", "sp-delta-mismatch"),
        ];
        label(&k, &mut fs);
        let known: Vec<bool> = fs.iter().map(|f| f.known.is_some()).collect();
        assert_eq!(known, vec![true, true, false, false]);
    }
}
