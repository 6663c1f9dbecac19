//! qualify.md for `qualify --module`: the verdict first, then regressions,
//! fixes, unchanged and inconclusive, then what was covered.

use crate::oracle::module::Collected;
use crate::oracle::module::Verdict;
use crate::oracle::upgrade::Change;
use std::fmt::Write;

pub struct Header<'a> {
    pub module: &'a str,
    pub baseline: &'a str,
    pub candidate: &'a str,
    pub archs: &'a str,
    pub trials: u32,
}

/// Distinct tests (builds, functions) with this change, whatever the arch.
pub fn count(v: &[Verdict], c: Change) -> usize {
    v.iter()
        .filter(|x| x.change == c)
        .map(|x| (&x.what, &x.package, &x.name))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

pub fn markdown(h: &Header, c: &Collected, v: &[Verdict]) -> String {
    let mut s = String::new();
    let reg = count(v, Change::Regression);
    let _ = writeln!(
        s,
        "# divergo qualify --module: {} → {}\n\n**{}**: {} regression(s), {} fix(es), {} unchanged, {} inconclusive{} (tests, builds and windows; each row below is one arch).\n",
        h.baseline,
        h.candidate,
        if reg > 0 { "REGRESSIONS" } else { "no regression" },
        reg,
        count(v, Change::Fix),
        count(v, Change::Unchanged),
        count(v, Change::Inconclusive),
        if c.interrupted { " (**interrupted: partial results**)" } else { "" }
    );
    let _ = writeln!(
        s,
        "Module `{}`, {} package(s) with {} test(s), archs {}, {} run(s) of each test binary per toolchain and arch \
         ({} runs in all); building {:.0} s, running {:.0} s.\n",
        h.module,
        c.packages.len(),
        c.tests
            .keys()
            .filter(|(_, t, _, _)| t != crate::oracle::module::BINARY)
            .map(|(p, t, _, _)| (p, t))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        h.archs,
        h.trials,
        c.runs,
        c.build_seconds,
        c.run_seconds
    );
    for change in Change::ALL {
        let items: Vec<&Verdict> = v.iter().filter(|x| x.change == change).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {} ({})\n", change.title(), items.len());
        let _ = writeln!(s, "| what | package | test / function | arch | baseline failed | candidate failed | p | detail |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        for x in items {
            let frac = |(f, n): (u32, u32)| {
                if n > 0 {
                    format!("{f}/{n}")
                } else {
                    "-".into()
                }
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {}{}{} |",
                x.what,
                x.package,
                x.name,
                x.arch,
                frac(x.baseline),
                frac(x.candidate),
                x.p_value
                    .map(|p| format!("{p:.1e}"))
                    .unwrap_or_else(|| "exact".into()),
                x.detail.replace('|', "\\|"),
                x.log
                    .as_ref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default(),
                x.repro
                    .as_ref()
                    .map(|r| format!("; reproduce: `sh {r}`"))
                    .unwrap_or_default()
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Covered\n");
    for b in &c.builds {
        let _ = writeln!(
            s,
            "- {} {} {}: {} ({:.1} s){}",
            b.package,
            b.toolchain,
            b.arch,
            if b.binary.is_some() {
                "built"
            } else {
                "BUILD FAILED"
            },
            b.seconds,
            if b.windows.is_empty() {
                String::new()
            } else {
                format!(
                    "; windows: {}",
                    b.windows
                        .iter()
                        .map(|(f, r)| format!("{f} ({r})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    s
}
