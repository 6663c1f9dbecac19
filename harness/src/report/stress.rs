//! The result files of `divergo stress`: summary.md, junit.xml and
//! report.html, from a [`crate::engine::stress::Outcome`].

use crate::engine::stress::{Group, Outcome};
use crate::report::junit::escape;
use std::fmt::Write;

/// What was stressed, for the reports' headers.
pub struct Header<'a> {
    pub command: &'a str,
    pub knobs: &'a [(String, String)],
    pub executor: &'a str,
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn group_line(g: &Group, runs: u64) -> String {
    format!(
        "{} of {runs} runs ({}, 95 % interval {}–{}): {} `{}`",
        g.count,
        pct(g.rate),
        pct(g.rate_low),
        pct(g.rate_high),
        g.class.name(),
        g.signature
    )
}

/// summary.md.
pub fn summary(h: &Header, o: &Outcome) -> String {
    let mut s = String::from("# divergo stress\n\n");
    let _ = writeln!(s, "Command: `{}`\n", h.command);
    let _ = writeln!(s, "Executor: {}\n", h.executor);
    if !h.knobs.is_empty() {
        let k: Vec<String> = h.knobs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(s, "Knobs: `{}`\n", k.join(" "));
    }
    let _ = writeln!(
        s,
        "{} runs in {:.1} s ({:.3} s per run): {} ok, {} failed, {} ignored; stopped by {}{}.\n",
        o.runs,
        o.elapsed_s,
        o.mean_run_s,
        o.ok,
        o.failures,
        o.ignored,
        o.stopped_by,
        if o.interrupted {
            " (**interrupted: partial results**)"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "## Failures ({})\n", o.groups.len());
    if o.groups.is_empty() {
        let _ = writeln!(
            s,
            "None. With 0 failures in {} runs, the failure rate is below {} (95 %).\n",
            o.runs,
            pct(crate::engine::stress::wilson(0, o.runs).1)
        );
    }
    for g in &o.groups {
        let _ = writeln!(
            s,
            "- {}; logs: {}",
            group_line(g, o.runs),
            g.logs.join(", ")
        );
    }
    if !o.ignored_groups.is_empty() {
        let _ = writeln!(s, "\n## Ignored (--ignore)\n");
        for g in &o.ignored_groups {
            let _ = writeln!(
                s,
                "- {}; logs: {}",
                group_line(g, o.runs),
                g.logs.join(", ")
            );
        }
    }
    s
}

/// junit.xml: one testcase per failure signature (a failure), or one
/// passing testcase when nothing failed.
pub fn junit(h: &Header, o: &Outcome) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let cases = o.groups.len().max(1) + o.ignored_groups.len();
    let _ = writeln!(
        s,
        "  <testsuite name=\"divergo.stress\" tests=\"{cases}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
        o.groups.len(),
        o.ignored_groups.len(),
        o.elapsed_s
    );
    if o.groups.is_empty() {
        let _ = writeln!(
            s,
            "    <testcase classname=\"divergo.stress\" name=\"{}: {} runs\" time=\"{:.3}\"/>",
            escape(h.command),
            o.runs,
            o.elapsed_s
        );
    }
    for g in &o.groups {
        let _ = writeln!(
            s,
            "    <testcase classname=\"divergo.stress\" name=\"{} {}\" time=\"0\">\n      <failure message=\"{}\" type=\"{}\">logs: {}</failure>\n    </testcase>",
            g.class.name(),
            escape(&g.signature),
            escape(&group_line(g, o.runs)),
            g.class.name(),
            escape(&g.logs.join(", "))
        );
    }
    for g in &o.ignored_groups {
        let _ = writeln!(
            s,
            "    <testcase classname=\"divergo.stress\" name=\"{} {}\" time=\"0\">\n      <skipped message=\"ignored (--ignore): {}\"/>\n    </testcase>",
            g.class.name(),
            escape(&g.signature),
            escape(&group_line(g, o.runs))
        );
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// report.html: one self-contained page.
pub fn html(h: &Header, o: &Outcome) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>divergo stress</title>\
         <style>body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;\
         font-size:13px}td,th{border:1px solid #bbb;padding:3px 6px}th{background:#eee}\
         .bar{display:inline-block;height:10px;background:#c0392b}</style></head><body><h1>divergo stress</h1>",
    );
    let _ = write!(
        s,
        "<p><code>{}</code> on {}</p><p id=\"verdict\">{} runs in {:.1} s ({:.3} s per run): {} ok, \
         {} failed, {} ignored; stopped by {}</p>",
        escape(h.command),
        escape(h.executor),
        o.runs,
        o.elapsed_s,
        o.mean_run_s,
        o.ok,
        o.failures,
        o.ignored,
        escape(&o.stopped_by)
    );
    for (title, groups) in [("Failures", &o.groups), ("Ignored", &o.ignored_groups)] {
        if groups.is_empty() && title == "Ignored" {
            continue;
        }
        let _ = write!(
            s,
            "<h2>{title} ({})</h2><table><tr><th>class</th><th>signature</th><th>runs</th>\
             <th>rate</th><th>95 % interval</th><th>logs</th></tr>",
            groups.len()
        );
        for g in groups {
            let logs: Vec<String> = g
                .logs
                .iter()
                .map(|l| format!("<a href=\"{0}\">{0}</a>", escape(l)))
                .collect();
            let _ = write!(
                s,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td><span class=\"bar\" \
                 style=\"width:{}px\"></span> {}</td><td>{}–{}</td><td>{}</td></tr>",
                g.class.name(),
                escape(&g.signature),
                g.count,
                (g.rate * 100.0).round().max(1.0),
                pct(g.rate),
                pct(g.rate_low),
                pct(g.rate_high),
                logs.join(" ")
            );
        }
        s.push_str("</table>");
    }
    s.push_str("</body></html>\n");
    s
}
