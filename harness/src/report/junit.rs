//! `junit.xml`: a run in the JUnit XML shape CI systems and dashboards read
//! (testsuites / testsuite / testcase / failure | skipped, system-out), the
//! shape cargo-nextest writes. One testcase per corpus entry × cell (a
//! failed expectation is a failure) and one per finding (a new finding is a
//! failure whose message holds the signature and the repro command; a known
//! issue is a skipped testcase).

use crate::engine::corpus::{self, Verdict};
use crate::engine::pipeline::Cell;
use crate::engine::plan::{Plan, RunOutcome};
use crate::model::Record;
use crate::oracle::findings::Finding;
use crate::report::expectations;
use std::fmt::Write as _;
use std::path::Path;

/// XML-escape text for an attribute or element, dropping characters XML 1.0
/// cannot hold (program output may contain any byte).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The most of a log that goes into system-out.
const LOG_BYTES: usize = 16 * 1024;

fn log_text(out_dir: &Path, rel: &str) -> String {
    let Ok(data) = std::fs::read(out_dir.join(rel)) else {
        return String::new();
    };
    let cut = data.len().min(LOG_BYTES);
    let mut s = String::from_utf8_lossy(&data[..cut]).into_owned();
    if data.len() > cut {
        let _ = write!(s, "\n[... {} more bytes in {rel}]", data.len() - cut);
    }
    s
}

struct Case {
    classname: String,
    name: String,
    time_s: f64,
    /// (message, type, body) of a failure.
    failure: Option<(String, String, String)>,
    skipped: Option<String>,
    out: String,
}

fn suite(s: &mut String, name: &str, cases: &[Case]) {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let skipped = cases.iter().filter(|c| c.skipped.is_some()).count();
    let time: f64 = cases.iter().map(|c| c.time_s).sum();
    let _ = writeln!(
        s,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">",
        escape(name),
        cases.len()
    );
    for c in cases {
        let _ = write!(
            s,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&c.classname),
            escape(&c.name),
            c.time_s
        );
        if c.failure.is_none() && c.skipped.is_none() && c.out.is_empty() {
            s.push_str("/>\n");
            continue;
        }
        s.push_str(">\n");
        if let Some((msg, ty, body)) = &c.failure {
            let _ = writeln!(
                s,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                escape(msg),
                escape(ty),
                escape(body)
            );
        }
        if let Some(msg) = &c.skipped {
            let _ = writeln!(s, "      <skipped message=\"{}\"/>", escape(msg));
        }
        if !c.out.is_empty() {
            let _ = writeln!(s, "      <system-out>{}</system-out>", escape(&c.out));
        }
        s.push_str("    </testcase>\n");
    }
    s.push_str("  </testsuite>\n");
}

fn cell_seconds(recs: &[Record], program: &str, tc: &str, arch: crate::model::Arch) -> f64 {
    recs.iter()
        .filter(|r| r.program == program && r.toolchain == tc && r.arch == arch)
        .map(|r| r.duration_ms as f64 / 1000.0)
        .sum()
}

fn finding_case(out: &RunOutcome, f: &Finding) -> Case {
    let dir = out.out_dir.join("findings").join(&f.id);
    let repro = format!("sh {}", dir.join("repro.sh").display());
    let cells: Vec<String> = f
        .cells
        .iter()
        .map(|c| {
            format!(
                "{}/{} {}: {}{}",
                c.toolchain,
                c.arch,
                c.executor,
                crate::engine::results::counts_str(&c.outcomes),
                if c.divergent { " (divergent)" } else { "" }
            )
        })
        .collect();
    let body = format!(
        "{:?} ({}) in {}{}\n{}\n{}reproduce: {repro}\n",
        f.kind,
        f.scope,
        f.program,
        f.p_value
            .map(|p| format!(", p = {p:.1e}"))
            .unwrap_or_default(),
        cells.join("\n"),
        f.static_windows
            .iter()
            .map(|w| w.line() + "\n")
            .collect::<String>()
    );
    let fail_log = dir.join("fail.log");
    Case {
        classname: format!(
            "divergo.findings.{}",
            f.template.as_deref().unwrap_or("corpus")
        ),
        name: format!("{} {:?}: {}", f.id, f.kind, f.signature),
        time_s: 0.0,
        failure: f.alarms().then(|| {
            (
                format!("{} — reproduce: {repro}", f.signature),
                format!("{:?}", f.kind).to_lowercase(),
                body.clone(),
            )
        }),
        skipped: match (&f.known, &f.history) {
            (Some(k), _) => Some(format!("known issue: {k}")),
            (None, Some(h)) if !h.status.alarms() => Some(format!(
                "{}: {}",
                h.status.name(),
                crate::report::summary::history_line(h, true).replace('*', "")
            )),
            _ => None,
        },
        out: if fail_log.is_file() {
            log_text(&dir, "fail.log")
        } else {
            String::new()
        },
    }
}

/// The junit.xml text of a run. A `divergo corpus` run (`plan.corpus_trials`)
/// is judged by its expectations alone, so it has no findings suite (an entry
/// that is meant to crash is a pass there, not a failing finding).
pub fn junit(
    plan: &Plan,
    cells: &[Cell],
    entries: Option<&[corpus::Entry]>,
    out: &RunOutcome,
) -> String {
    let mut corpus_cases = Vec::new();
    if let Some(es) = entries {
        for c in expectations::corpus_cells(es, cells, &out.tally.kept) {
            let text = expectations::corpus_cell_text(&c);
            let failed = c.failures() > 0;
            let log = out
                .tally
                .kept
                .iter()
                .filter(|r| r.program == c.entry && r.toolchain == c.toolchain && r.arch == c.arch)
                .find(|r| r.outcome != crate::model::Class::Ok || !failed)
                .and_then(|r| r.log.as_deref())
                .map(|l| log_text(&out.out_dir, l))
                .unwrap_or_default();
            let infra = c.run.as_ref().is_some_and(|(v, _)| *v == Verdict::Infra);
            corpus_cases.push(Case {
                classname: format!("divergo.corpus.{}", c.entry),
                name: format!("{}/{}", c.toolchain, c.arch),
                time_s: cell_seconds(&out.tally.kept, &c.entry, &c.toolchain, c.arch),
                failure: failed.then(|| {
                    (
                        text.clone(),
                        if infra { "infra" } else { "expectation" }.to_string(),
                        text.clone(),
                    )
                }),
                skipped: None,
                out: if failed { log } else { String::new() },
            });
        }
    }
    let finding_cases: Vec<Case> = if plan.corpus_trials {
        Vec::new()
    } else {
        out.findings.iter().map(|f| finding_case(out, f)).collect()
    };
    let all = corpus_cases.len() + finding_cases.len();
    let failures = corpus_cases
        .iter()
        .chain(&finding_cases)
        .filter(|c| c.failure.is_some())
        .count();
    let skipped = finding_cases.iter().filter(|c| c.skipped.is_some()).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"divergo\" tests=\"{all}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
        out.elapsed.as_secs_f64()
    );
    if entries.is_some() {
        suite(&mut s, "corpus", &corpus_cases);
    }
    if !plan.corpus_trials {
        suite(&mut s, "findings", &finding_cases);
    }
    s.push_str("</testsuites>\n");
    s
}
