//! bisect.md, and the one-line progress of a bisection step.

use crate::engine::bisect::{Report, Step};
use crate::engine::results;

/// One step as a progress line: point, verdict, outcomes, runs, seconds, note.
pub fn step_line(s: &Step) -> String {
    format!(
        "  {:<22} {:<7} {:<24} {:>3} runs {:>6.1} s{}",
        s.point.name,
        s.verdict,
        results::counts_str(&s.counts),
        s.runs,
        s.seconds,
        s.why
            .as_deref()
            .map(|w| format!("  ({w})"))
            .unwrap_or_default()
    )
}

/// bisect.md: the boundary, how the search judged, and a row per step.
pub fn render_md(r: &Report, boundary: &str, unknown: &str) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "# divergo bisect: {}\n", r.program);
    let _ = writeln!(s, "**{boundary}**{unknown}\n");
    let _ = writeln!(
        s,
        "Target `{}` on {} ({}); bug `{}`. The bad end showed it in {:.0} % of its runs (95 % \
         lower bound {:.2}), so a good verdict needed {} clean runs ((1 − p)^n < 0.01). {} points, \
         {} steps, {:.0} s.\n",
        r.target,
        r.arch,
        r.executor,
        r.bug,
        r.bad_rate * 100.0,
        r.bad_rate_assumed,
        r.clean_runs_needed,
        r.points.len(),
        r.steps.len(),
        r.seconds
    );
    let _ = writeln!(s, "| point | verdict | runs | outcomes | s | note |");
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for st in &r.steps {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.1} | {} |",
            st.point.describe(),
            st.verdict,
            st.runs,
            results::counts_str(&st.counts),
            st.seconds,
            st.why.as_deref().unwrap_or("")
        );
    }
    s
}
