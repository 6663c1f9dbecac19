//! `report.html`: one self-contained page (no network, no CDN) with the
//! findings (signature, counts, p-value, program, repro command) and the
//! outcome matrix (programs × toolchain/arch cells, coloured by their worst
//! outcome, counts on hover, a filter by outcome).

use crate::engine::pipeline::Cell;
use crate::engine::plan::RunOutcome;
use crate::engine::results::{self, Counts};
use crate::model::Class;
use crate::oracle::findings::Finding;
use crate::report::junit::escape;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Worst first: the colour of a cell is that of its worst outcome.
const ORDER: [Class; 9] = [
    Class::Fatal,
    Class::Signal,
    Class::Panic,
    Class::Hang,
    Class::Oom,
    Class::Ice,
    Class::BuildError,
    Class::Infra,
    Class::Ok,
];

fn colour(c: Class) -> &'static str {
    match c {
        Class::Ok => "#cfe8cf",
        Class::Fatal | Class::Signal => "#f4a6a6",
        Class::Panic => "#f7c59f",
        Class::Hang => "#c7b3e6",
        Class::Oom => "#e6b3d4",
        Class::Ice | Class::BuildError => "#f2e394",
        Class::Infra => "#d0d0d0",
    }
}

fn worst(c: &Counts) -> Option<Class> {
    ORDER.iter().copied().find(|k| c.contains_key(k))
}

const STYLE: &str = ".history.alarm{color:#c0392b;font-weight:bold}.chart{vertical-align:middle;margin-left:6px}body{font-family:sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #bbb;padding:3px 6px}\
th{background:#eee;position:sticky;top:0}pre{background:#f6f6f6;padding:8px;overflow:auto;\
max-height:30em}.finding{border:1px solid #ccc;border-radius:4px;padding:8px 12px;margin:10px 0}\
.new{border-left:6px solid #d9534f}.known{border-left:6px solid #999}code{background:#f0f0f0}\
.legend span{display:inline-block;padding:2px 6px;margin-right:4px}";

/// The outcome filter; `report.html#filter=fatal` opens it filtered.
const SCRIPT: &str = "(function(){var s=document.getElementById('filter');\
if(!s){return;}function apply(){var v=s.value;\
var rows=document.querySelectorAll('#matrix tbody tr');var shown=0;\
for(var i=0;i<rows.length;i++){var cls=rows[i].getAttribute('data-outcomes').split(' ');\
var on=(v==='all'||cls.indexOf(v)>=0);rows[i].style.display=on?'':'none';if(on){shown++;}}\
document.getElementById('shown').textContent=shown+' of '+rows.length+' programs';}\
s.addEventListener('change',apply);var m=/filter=([a-z_]+)/.exec(location.hash);\
if(m){s.value=m[1];apply();}})();";

/// A runner as a reader knows it: its results dir, and its shard.
fn runner_name(r: &results::Runner) -> String {
    match &r.shard {
        Some(sh) => format!("{} (shard {sh})", r.dir.display()),
        None => r.dir.display().to_string(),
    }
}

/// For a merged run: one row per results dir, with what it ran where.
fn runners_html(s: &mut String, out: &RunOutcome) {
    if out.runners.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "<h2>Runners ({})</h2><table id=\"runners\"><tr><th>results dir</th><th>status</th>\
         <th>records</th><th>cells (runs, executor)</th><th>programs that failed there</th></tr>",
        out.runners.len()
    );
    for r in &out.runners {
        let cells: Vec<String> = r
            .cells
            .iter()
            .filter(|(_, c)| c.runs > 0)
            .map(|((t, a), c)| {
                format!(
                    "{t}/{a}: {} ({})",
                    c.runs,
                    c.executors.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        let status = if r.note.is_empty() {
            r.status.to_string()
        } else {
            format!("{}: {}", r.status, r.note)
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&runner_name(r)),
            escape(&status),
            r.records,
            escape(&cells.join("; ")),
            escape(&failing_list(&r.failing))
        );
    }
    s.push_str("</table>\n");
}

/// The first programs of a set, and how many more.
fn failing_list(set: &BTreeSet<String>) -> String {
    const SHOWN: usize = 20;
    let mut v: Vec<String> = set.iter().take(SHOWN).cloned().collect();
    if set.len() > SHOWN {
        v.push(format!("and {} more", set.len() - SHOWN));
    }
    v.join(", ")
}

fn finding_html(s: &mut String, out: &RunOutcome, f: &Finding) {
    let dir = out.out_dir.join("findings").join(&f.id);
    let reduced = dir.join("reduced");
    let (prog_path, label) = if reduced.join("main.go").is_file() {
        (reduced.join("main.go"), "reduced program")
    } else {
        (dir.join("main.go"), "program")
    };
    let program = std::fs::read_to_string(&prog_path).unwrap_or_default();
    let _ = writeln!(
        s,
        "<div class=\"finding {}\" id=\"f-{}\"><h3>{} {:?} ({}){}</h3><p><code>{}</code></p>",
        if f.alarms() { "new" } else { "known" },
        escape(&f.id),
        escape(&f.id),
        f.kind,
        escape(&f.scope),
        f.known
            .as_ref()
            .map(|k| format!(" — known issue: {}", escape(k)))
            .unwrap_or_default(),
        escape(&f.signature)
    );
    s.push_str("<table><tr><th>cell</th><th>executor</th><th>outcomes</th><th>divergent</th></tr>");
    for c in &f.cells {
        let _ = write!(
            s,
            "<tr><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.toolchain),
            c.arch,
            escape(&c.executor),
            escape(&results::counts_str(&c.outcomes)),
            if c.divergent { "yes" } else { "" }
        );
    }
    s.push_str("</table>");
    let _ = writeln!(
        s,
        "<p>{}program {} ({} program(s) showed it)</p>",
        f.p_value
            .map(|p| format!("p = {p:.1e}; "))
            .unwrap_or_default(),
        escape(&f.program),
        f.count
    );
    if let Some(h) = &f.history {
        let _ = writeln!(
            s,
            "<p class=\"history {}\">history: {} {}</p>",
            if h.status.alarms() { "alarm" } else { "quiet" },
            escape(&crate::report::summary::history_line(h, false).replace('*', "")),
            chart_svg(&h.chart)
        );
    }
    for w in &f.static_windows {
        let _ = writeln!(s, "<p>{}</p>", escape(&w.line()));
    }
    // A merged run: which runners saw it fail.
    let saw: Vec<String> = out
        .runners
        .iter()
        .filter(|r| r.failing.contains(&f.program))
        .map(runner_name)
        .collect();
    if !saw.is_empty() {
        let _ = writeln!(
            s,
            "<p class=\"runners\">failing runs of {} from: {}</p>",
            escape(&f.program),
            escape(&saw.join(", "))
        );
    }
    let _ = writeln!(
        s,
        "<p>reproduce: <code>sh {}</code></p>",
        escape(&dir.join("repro.sh").display().to_string())
    );
    if !program.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>{label} ({} lines)</summary><pre>{}</pre></details>",
            program.lines().count(),
            escape(&program)
        );
    }
    s.push_str("</div>\n");
}

/// A small bar chart of a finding's last runs (programs that showed it in
/// each; a grey tick where it was not seen), as inline SVG.
fn chart_svg(chart: &[(String, u32)]) -> String {
    if chart.is_empty() {
        return String::new();
    }
    const W: usize = 8;
    const H: u32 = 24;
    let max = chart.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let mut s = format!(
        "<svg class=\"chart\" width=\"{}\" height=\"{H}\" role=\"img\" \
         aria-label=\"programs that showed it, last {} runs\">",
        chart.len() * W,
        chart.len()
    );
    for (i, (at, n)) in chart.iter().enumerate() {
        let h = if *n == 0 {
            2
        } else {
            (n * (H - 2)).div_ceil(max).max(4)
        };
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{h}\" fill=\"{}\"><title>{}: {n} program(s)</title></rect>",
            i * W,
            H - h,
            W - 2,
            if *n == 0 { "#bbb" } else { "#c0392b" },
            escape(at)
        );
    }
    s.push_str("</svg>");
    s
}

/// The report.html text of a run.
pub fn html(cells: &[Cell], out: &RunOutcome) -> String {
    let mut s = String::new();
    let new: Vec<&Finding> = out.findings.iter().filter(|f| f.is_new()).collect();
    let known: Vec<&Finding> = out.findings.iter().filter(|f| !f.is_new()).collect();
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>divergo report</title><style>{STYLE}</style></head><body>\
         <h1>divergo report</h1><p id=\"verdict\">{}, {} known issue(s); {} \
         programs, {} records, {:.0} s; results in <code>{}</code></p>",
        if out.history.is_some() {
            format!(
                "{} finding(s), {} new or regressed since the last run",
                new.len(),
                new.iter().filter(|f| f.alarms()).count()
            )
        } else {
            format!("{} new finding(s)", new.len())
        },
        known.len(),
        out.programs,
        out.tally.records,
        out.elapsed.as_secs_f64(),
        escape(&out.out_dir.display().to_string())
    );
    if let Some(h) = &out.history {
        let alarms = new.iter().filter(|f| f.alarms()).count();
        let _ = writeln!(
            s,
            "<h2>Since the last run</h2><p id=\"history\">{alarms} new or regressed, {} seen \
             before or acknowledged, {} fixed; history <code>{}</code>{}</p>",
            new.len() - alarms,
            h.fixed.len(),
            escape(&h.db.display().to_string()),
            h.previous
                .as_ref()
                .map(|p| format!(", last run {}", escape(p)))
                .unwrap_or_else(|| ", first run recorded".into())
        );
        if !h.fixed.is_empty() {
            s.push_str("<ul id=\"fixed\">");
            for (id, kind, sig, last) in &h.fixed {
                let _ = write!(
                    s,
                    "<li>fixed: {} {} <code>{}</code> (last seen {})</li>",
                    escape(id),
                    escape(kind),
                    escape(sig),
                    escape(last)
                );
            }
            s.push_str("</ul>");
        }
    }
    let _ = writeln!(s, "<h2>Findings ({})</h2>", new.len());
    if new.is_empty() {
        s.push_str("<p>None.</p>");
    }
    for f in &new {
        finding_html(&mut s, out, f);
    }
    if !known.is_empty() {
        let _ = writeln!(s, "<h2>Known issues ({})</h2>", known.len());
        for f in &known {
            finding_html(&mut s, out, f);
        }
    }

    runners_html(&mut s, out);

    // The matrix.
    let counts = &out.tally.counts;
    let programs = &out.tally.programs;
    let present: BTreeSet<Class> = counts.values().flat_map(|c| c.keys().copied()).collect();
    let _ = writeln!(s, "<h2>Outcome matrix</h2><p class=\"legend\">");
    for c in ORDER.iter().filter(|c| present.contains(c)) {
        let _ = write!(
            s,
            "<span style=\"background:{}\">{}</span>",
            colour(*c),
            c.name()
        );
    }
    s.push_str("</p><p><label>show programs with <select id=\"filter\"><option value=\"all\">any outcome</option>");
    for c in ORDER.iter().filter(|c| present.contains(c)) {
        let _ = write!(s, "<option value=\"{0}\">{0}</option>", c.name());
    }
    let _ = writeln!(
        s,
        "</select></label> <span id=\"shown\">{0} of {0} programs</span></p>",
        programs.len()
    );
    s.push_str("<table id=\"matrix\"><thead><tr><th>program</th>");
    for c in cells {
        let _ = write!(
            s,
            "<th title=\"{}\">{} {}</th>",
            escape(&c.executor_label()),
            escape(&c.toolchain.name),
            c.arch
        );
    }
    s.push_str("</tr></thead><tbody>\n");
    for p in programs {
        let mut classes = BTreeSet::new();
        let mut row = String::new();
        for c in cells {
            let k = ((*p).clone(), c.toolchain.name.clone(), c.arch);
            let cc = counts.get(&k).cloned().unwrap_or_default();
            classes.extend(cc.keys().map(|k| k.name()));
            let text = results::counts_str(&cc);
            match worst(&cc) {
                Some(w) => {
                    let _ = write!(
                        row,
                        "<td style=\"background:{}\" title=\"{}\">{}</td>",
                        colour(w),
                        escape(&text),
                        w.name()
                    );
                }
                None => row.push_str("<td title=\"not run\"></td>"),
            }
        }
        let _ = writeln!(
            s,
            "<tr data-outcomes=\"{}\"><td>{}</td>{row}</tr>",
            classes.into_iter().collect::<Vec<_>>().join(" "),
            escape(p)
        );
    }
    let _ = writeln!(s, "</tbody></table><script>{SCRIPT}</script></body></html>");
    s
}
