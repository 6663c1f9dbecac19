//! Triage: what makes a finding vanish or show more often. A finding's
//! failing cell is run again under knobs that each switch off (or turn up)
//! one suspect — asynchronous preemption, the GC, concurrent marking,
//! parallelism, qemu's one-instruction-per-block mode — and each knob's bad
//! rate is compared with the cell's own by a two-sided Fisher exact test,
//! Bonferroni-corrected over the knobs tried. The result is one line a
//! platform team reads first: "vanishes with GODEBUG=asyncpreemptoff=1 →
//! async preemption at an unsafe point".

use crate::oracle::verdict;
use serde::{Deserialize, Serialize};

/// One knob: the environment it sets (merged into GODEBUG where it is a
/// GODEBUG setting), or plain qemu instead of one instruction per block.
#[derive(Clone, Copy, Debug)]
pub struct Knob {
    pub name: &'static str,
    /// `(variable, value)`; a `GODEBUG` value is appended to the cell's own.
    pub env: Option<(&'static str, &'static str)>,
    /// Run under plain qemu (arm64 on x86 only).
    pub plain_qemu: bool,
    /// What it means when the bug vanishes under this knob.
    pub vanishes_means: &'static str,
    /// What it means when the bug shows more often under it.
    pub more_means: &'static str,
}

/// The knobs, in the order they are tried and reported.
pub const KNOBS: &[Knob] = &[
    Knob {
        name: "GODEBUG=asyncpreemptoff=1",
        env: Some(("GODEBUG", "asyncpreemptoff=1")),
        plain_qemu: false,
        vanishes_means: "async preemption at an unsafe point",
        more_means: "cooperative preemption makes it likelier",
    },
    Knob {
        name: "GOGC=off",
        env: Some(("GOGC", "off")),
        plain_qemu: false,
        vanishes_means: "it needs the garbage collector to run",
        more_means: "memory growth without GC makes it likelier",
    },
    Knob {
        name: "GOGC=1",
        env: Some(("GOGC", "1")),
        plain_qemu: false,
        vanishes_means: "it needs the heap to grow between collections",
        more_means: "more GC cycles make it likelier (GC-triggered)",
    },
    Knob {
        name: "GODEBUG=gcstoptheworld=1",
        env: Some(("GODEBUG", "gcstoptheworld=1")),
        plain_qemu: false,
        vanishes_means: "a race with concurrent marking",
        more_means: "stop-the-world collections make it likelier",
    },
    Knob {
        name: "GOMAXPROCS=1",
        env: Some(("GOMAXPROCS", "1")),
        plain_qemu: false,
        vanishes_means: "a race between threads running in parallel",
        more_means: "a single P makes it likelier (scheduling order)",
    },
    Knob {
        name: "plain qemu",
        env: None,
        plain_qemu: true,
        vanishes_means: "a signal landing between two particular instructions (only \
                         one-instruction-per-block emulation delivers it there)",
        more_means: "plain emulation makes it likelier",
    },
];

/// What one knob did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// No bad run under the knob, significantly fewer than without.
    Vanishes,
    /// Significantly fewer, but not none.
    Fewer,
    /// Significantly more.
    MoreOften,
    /// No significant difference.
    NoChange,
    /// The knob's runs could not be judged (builds or runs failed as infra).
    NotRun,
}

/// One knob's runs and their verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnobResult {
    pub knob: String,
    pub bad: u32,
    pub runs: u32,
    pub p_value: f64,
    pub effect: Effect,
}

/// The triage of a finding: its failing cell, that cell's own rate, each
/// knob, and the line that says it in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    /// `toolchain/arch` of the cell rerun.
    pub cell: String,
    pub bad: u32,
    pub runs: u32,
    /// The significance each knob was held to (alpha / knobs tried).
    pub threshold: f64,
    pub knobs: Vec<KnobResult>,
    pub line: String,
}

/// Judge each knob's `(bad, runs)` against the cell's own `(bad, runs)`.
pub fn judge(cell: &str, base: (u32, u32), tried: &[(&Knob, u32, u32)], alpha: f64) -> Triage {
    let judged = tried.iter().filter(|(_, _, n)| *n > 0).count().max(1);
    let threshold = alpha / judged as f64;
    let (bb, bn) = base;
    let mut knobs = Vec::new();
    for (k, bad, runs) in tried {
        let (bad, runs) = (*bad, *runs);
        let (p, effect) = if runs == 0 || bn == 0 {
            (1.0, Effect::NotRun)
        } else {
            let p = verdict::fisher_two_sided(bad, runs - bad, bb, bn - bb);
            let rate = bad as f64 / runs as f64;
            let base_rate = bb as f64 / bn as f64;
            let effect = if p >= threshold {
                Effect::NoChange
            } else if rate < base_rate && bad == 0 {
                Effect::Vanishes
            } else if rate < base_rate {
                Effect::Fewer
            } else {
                Effect::MoreOften
            };
            (p, effect)
        };
        knobs.push(KnobResult {
            knob: k.name.to_string(),
            bad,
            runs,
            p_value: p,
            effect,
        });
    }
    let line = line(tried, &knobs);
    Triage {
        cell: cell.to_string(),
        bad: bb,
        runs: bn,
        threshold,
        knobs,
        line,
    }
}

fn line(tried: &[(&Knob, u32, u32)], results: &[KnobResult]) -> String {
    let mut parts = Vec::new();
    for ((k, _, _), r) in tried.iter().zip(results) {
        let counts = format!("{} of {}", r.bad, r.runs);
        match r.effect {
            Effect::Vanishes => parts.push(format!(
                "vanishes with {} ({counts}) → {}",
                k.name, k.vanishes_means
            )),
            Effect::Fewer => parts.push(format!("rarer with {} ({counts})", k.name)),
            Effect::MoreOften => parts.push(format!(
                "more often with {} ({counts}) → {}",
                k.name, k.more_means
            )),
            Effect::NoChange | Effect::NotRun => {}
        }
    }
    let unchanged: Vec<&str> = tried
        .iter()
        .zip(results)
        .filter(|(_, r)| r.effect == Effect::NoChange)
        .map(|((k, _, _), _)| k.name)
        .collect();
    if !unchanged.is_empty() {
        parts.push(format!(
            "no significant change with {}",
            unchanged.join(", ")
        ));
    }
    if parts.is_empty() {
        "no knob could be judged".to_string()
    } else {
        parts.join("; ")
    }
}

/// `GODEBUG` with `add` appended to what the cell already sets.
pub fn merge_godebug(current: Option<&str>, add: &str) -> String {
    match current {
        Some(c) if !c.is_empty() => format!("{c},{add}"),
        _ => add.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_async_preemption_bug_reads_as_one() {
        let k = &KNOBS;
        // The split-SP window: 9 of 12 crash; none with asyncpreemptoff or
        // plain qemu, GOGC=1 makes no difference.
        let tried = vec![(&k[0], 0, 12), (&k[2], 10, 12), (&k[5], 0, 12)];
        let t = judge("go1.23.11/arm64", (9, 12), &tried, 0.01);
        assert_eq!(t.knobs[0].effect, Effect::Vanishes);
        assert_eq!(t.knobs[1].effect, Effect::NoChange);
        assert_eq!(t.knobs[2].effect, Effect::Vanishes);
        assert!(t.line.starts_with(
            "vanishes with GODEBUG=asyncpreemptoff=1 (0 of 12) → async preemption at an unsafe point"
        ));
        assert!(t.line.contains("no significant change with GOGC=1"));
        // Bonferroni over three knobs.
        assert!((t.threshold - 0.01 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn small_differences_are_no_change_and_rare_bugs_say_so() {
        let k = &KNOBS;
        // 2 of 10 against 0 of 10 is not significant.
        let t = judge("c", (2, 10), &[(&k[0], 0, 10)], 0.01);
        assert_eq!(t.knobs[0].effect, Effect::NoChange);
        // 1 of 20 against 18 of 20 under GOGC=1: more often.
        let t = judge("c", (1, 20), &[(&k[2], 18, 20)], 0.01);
        assert_eq!(t.knobs[0].effect, Effect::MoreOften);
        assert!(t.line.contains("GC-triggered"));
        let t = judge("c", (5, 10), &[(&k[4], 0, 0)], 0.01);
        assert_eq!(t.knobs[0].effect, Effect::NotRun);
        assert_eq!(t.line, "no knob could be judged");
    }

    #[test]
    fn godebug_settings_are_appended() {
        assert_eq!(
            merge_godebug(None, "asyncpreemptoff=1"),
            "asyncpreemptoff=1"
        );
        assert_eq!(
            merge_godebug(Some("gctrace=1"), "asyncpreemptoff=1"),
            "gctrace=1,asyncpreemptoff=1"
        );
    }
}
