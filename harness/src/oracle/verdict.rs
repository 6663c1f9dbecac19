//! Statistics for divergence verdicts.
//!
//! Runtime bugs are probabilistic, so two cells diverge only when their
//! outcome distributions differ significantly: Fisher's exact test on a 2×2
//! table (bad vs good runs in cell A and cell B), two-sided.
//!
//! A program asks two families of questions, never a pair that mixes them:
//! - **toolchain**: do two toolchains differ on the same arch and executor?
//! - **arch**: does one toolchain differ between two archs?
//!
//! Each question is asked of the crash rate and of the hang rate. All the
//! questions of one program form one family, corrected for multiple
//! comparisons with Tarone's modified Bonferroni procedure: a discrete test
//! whose margins cannot reach significance at all (say, no bad run in either
//! cell) does not count towards the correction, so the threshold is
//! `alpha / K` where K is the number of tests that could have reached it.
//!
//! [`assess`] turns the tallies into a verdict per kind: which comparisons are
//! significant, the scope that follows from them, and whether the scope is
//! settled or more trials of some cells could change it. The adaptive trial
//! policy and the reports both read the same [`Assessment`], so the rule that
//! stops trials is the rule that reports.

use crate::model::{Arch, Class, Outcome};
use serde::{Deserialize, Serialize};

/// ln(n!) by summing logs (exact enough for the trial counts divergo uses).
fn ln_fact(n: u32) -> f64 {
    (2..=n).map(|k| (k as f64).ln()).sum()
}

/// Probability of one table with the given margins (hypergeometric).
fn table_p(a: u32, b: u32, c: u32, d: u32) -> f64 {
    let n = a + b + c + d;
    (ln_fact(a + b) + ln_fact(c + d) + ln_fact(a + c) + ln_fact(b + d)
        - ln_fact(a)
        - ln_fact(b)
        - ln_fact(c)
        - ln_fact(d)
        - ln_fact(n))
    .exp()
}

/// Two-sided Fisher exact test p-value for
/// ```text
///            bad   good
///   cell A    a     b
///   cell B    c     d
/// ```
/// Sums the probabilities of all tables with the same margins that are no more
/// likely than the observed one.
pub fn fisher_two_sided(a: u32, b: u32, c: u32, d: u32) -> f64 {
    let row1 = a + b;
    let col1 = a + c;
    let n = a + b + c + d;
    if n == 0 {
        return 1.0;
    }
    let p_obs = table_p(a, b, c, d);
    let lo = col1.saturating_sub(n - row1);
    let hi = row1.min(col1);
    let mut p = 0.0;
    for x in lo..=hi {
        let (ta, tb, tc) = (x, row1 - x, col1 - x);
        let td = n - row1 - tc;
        let q = table_p(ta, tb, tc, td);
        if q <= p_obs * (1.0 + 1e-7) {
            p += q;
        }
    }
    p.min(1.0)
}

/// Binomial lower tail: the probability of `b` or fewer bad runs in `n`
/// when each is bad with probability `q`. Small when a rate of `b` in `n`
/// is significantly below `q`.
pub fn binomial_lower(b: u32, n: u32, q: f64) -> f64 {
    if q <= 0.0 {
        return 1.0;
    }
    if q >= 1.0 {
        return if b >= n { 1.0 } else { 0.0 };
    }
    (0..=b.min(n))
        .map(|x| {
            (ln_fact(n) - ln_fact(x) - ln_fact(n - x)
                + x as f64 * q.ln()
                + (n - x) as f64 * (1.0 - q).ln())
            .exp()
        })
        .sum::<f64>()
        .min(1.0)
}

/// The smallest p-value any table with these margins can give: `n1` and `n2`
/// runs, `bad` bad runs in all. Tarone's procedure counts a test only if this
/// can fall below the threshold.
pub fn fisher_min_p(n1: u32, n2: u32, bad: u32) -> f64 {
    if n1 == 0 || n2 == 0 || bad == 0 || bad == n1 + n2 {
        return 1.0;
    }
    // The two most extreme tables put as many bad runs as possible in one row.
    let x_hi = bad.min(n1);
    let x_lo = bad.saturating_sub(n2);
    let p = |x: u32| fisher_two_sided(x, n1 - x, bad - x, n2 - (bad - x));
    p(x_hi).min(p(x_lo))
}

/// P(X ≥ k) for X ~ Binomial(n, p).
fn binomial_tail(n: u32, p: f64, k: u32) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return if k <= n { 1.0 } else { 0.0 };
    }
    (k..=n)
        .map(|x| {
            (ln_fact(n) - ln_fact(x) - ln_fact(n - x)
                + x as f64 * p.ln()
                + (n - x) as f64 * (1.0 - p).ln())
            .exp()
        })
        .sum::<f64>()
        .min(1.0)
}

/// Trials per cell that show a divergence whose bad cell fails at rate `p`
/// per run, against a clean cell, with probability at least `power`: the
/// smallest n (at most `cap`) such that P(Binomial(n, p) ≥ k) ≥ power, where
/// k is the fewest bad runs out of n whose table against n clean runs has a
/// p-value below `threshold`. None when no n up to `cap` does.
pub fn trials_for_power(p: f64, threshold: f64, power: f64, cap: u32) -> Option<u32> {
    if p.is_nan() || p <= 0.0 {
        return None;
    }
    (1..=cap).find(|&n| {
        (1..=n)
            .find(|&k| fisher_two_sided(k, n - k, 0, n) < threshold)
            .is_some_and(|k| binomial_tail(n, p, k) >= power)
    })
}

/// Default significance threshold for a divergence, before correction.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// What counts as a bad run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadKind {
    /// panic, fatal, signal, oom
    Crash,
    Hang,
}

impl BadKind {
    pub const ALL: [BadKind; 2] = [BadKind::Crash, BadKind::Hang];

    pub fn is_bad(self, c: Class) -> bool {
        match self {
            BadKind::Crash => c.is_crash() || c == Class::Oom,
            BadKind::Hang => c == Class::Hang,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The two families of questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Two toolchains, same arch and executor.
    Toolchain,
    /// One toolchain, two archs.
    Arch,
}

/// Who a cell is, as far as the questions go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellId {
    pub toolchain: String,
    pub arch: Arch,
    pub executor: String,
}

/// Judged runs and bad runs (per [`BadKind`]) of one cell. Infra outcomes,
/// build errors and ICEs are not runs of the program and are left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub runs: u32,
    pub bad: [u32; 2],
}

impl Tally {
    pub fn add(&mut self, class: Class, n: u32) {
        if !class.is_program_outcome() || matches!(class, Class::BuildError | Class::Ice) {
            return;
        }
        self.runs += n;
        for k in BadKind::ALL {
            if k.is_bad(class) {
                self.bad[k.index()] += n;
            }
        }
    }

    pub fn of_outcomes(runs: &[Outcome]) -> Tally {
        let mut t = Tally::default();
        for o in runs {
            t.add(o.class, 1);
        }
        t
    }

    pub fn bad(&self, k: BadKind) -> u32 {
        self.bad[k.index()]
    }
}

/// One question asked of one kind, with its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub kind: BadKind,
    pub family: Family,
    /// Cell indexes; `a` has the higher bad rate (or equal).
    pub a: usize,
    pub b: usize,
    pub bad_a: u32,
    pub runs_a: u32,
    pub bad_b: u32,
    pub runs_b: u32,
    pub p: f64,
    pub significant: bool,
}

impl Comparison {
    /// The rates differ (compared without division).
    pub fn differs(&self) -> bool {
        self.bad_a * self.runs_b != self.bad_b * self.runs_a
    }

    /// How much one more run of `cell` (one of this comparison's cells) is
    /// expected to lower the p-value, as `ln(p) - ln(p')`: the run is taken
    /// to come out the way most of that cell's runs did. 0 when it would not
    /// help (or `cell` is not part of it).
    pub fn gain_of_one_more(&self, cell: usize) -> f64 {
        let (mut ba, mut na, mut bb, mut nb) = (self.bad_a, self.runs_a, self.bad_b, self.runs_b);
        let likely_bad = |b: u32, n: u32| 2 * b > n;
        if cell == self.a {
            ba += u32::from(likely_bad(ba, na));
            na += 1;
        } else if cell == self.b {
            bb += u32::from(likely_bad(bb, nb));
            nb += 1;
        } else {
            return 0.0;
        }
        let p = fisher_two_sided(ba, na - ba, bb, nb - bb);
        (self.p.max(1e-300).ln() - p.max(1e-300).ln()).max(0.0)
    }
}

/// The scope of a divergence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Some toolchain is significantly worse than another on the same arch.
    #[serde(rename = "toolchain")]
    Toolchain,
    /// On one arch every toolchain shows it, and it is significantly worse
    /// there than on another arch; toolchains may differ in rate.
    #[serde(rename = "cross-arch")]
    CrossArch,
    /// Some toolchain is significantly worse on one arch than on another, but
    /// not every toolchain of that arch shows it, and no toolchain difference
    /// is significant.
    #[serde(rename = "arch")]
    Arch,
    /// Every run of every cell is bad.
    #[serde(rename = "all")]
    All,
    /// One toolchain differs from itself between language versions (the
    /// `NAME+langX.Y` cells against the plain ones): the program's meaning
    /// changed with the `go` line, or the toolchain breaks at one of them.
    #[serde(rename = "lang")]
    Lang,
    /// One toolchain differs from itself between its optimised build and
    /// its unoptimised reference (`NAME+noopt`, `-gcflags=all=-N -l`): a
    /// miscompile (or a bug of the unoptimised build) shown by one
    /// toolchain alone.
    #[serde(rename = "opt")]
    Opt,
}

impl Scope {
    pub const NAMES: &'static [&'static str] =
        &["toolchain", "cross-arch", "arch", "all", "lang", "opt"];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Toolchain => "toolchain",
            Scope::CrossArch => "cross-arch",
            Scope::Arch => "arch",
            Scope::All => "all",
            Scope::Lang => "lang",
            Scope::Opt => "opt",
        }
    }
}

/// The verdict on one kind of bad run.
#[derive(Clone, Debug, PartialEq)]
pub struct KindVerdict {
    pub kind: BadKind,
    pub scope: Option<Scope>,
    /// The cells the finding blames.
    pub divergent: Vec<usize>,
    /// Smallest p-value among the significant comparisons that decide the scope.
    pub p: Option<f64>,
    /// Whether more trials could change the scope: false while some
    /// comparison differs in rate without being significant yet.
    pub settled: bool,
    /// Comparisons whose rates differ (significant or not).
    pub comparisons: Vec<Comparison>,
}

/// The verdicts of one program, with the corrected threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub alpha: f64,
    /// `alpha / K` (Tarone): what a p-value must be under to count.
    pub threshold: f64,
    pub kinds: Vec<KindVerdict>,
}

impl Assessment {
    pub fn kind(&self, k: BadKind) -> &KindVerdict {
        &self.kinds[k.index()]
    }

    /// Comparisons whose rates differ but which are not significant yet, in
    /// kinds whose scope is not settled: the questions more trials may answer.
    pub fn open_comparisons(&self) -> impl Iterator<Item = &Comparison> {
        self.kinds
            .iter()
            .filter(|k| !k.settled)
            .flat_map(|k| k.comparisons.iter())
            .filter(|c| !c.significant && c.differs())
    }

    /// The cells of the open comparisons.
    pub fn undecided_cells(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.open_comparisons().flat_map(|c| [c.a, c.b]).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// The pairs a program's questions are about: `(i, j, family)` with `i < j`.
pub fn question_pairs(ids: &[CellId]) -> Vec<(usize, usize, Family)> {
    let mut v = Vec::new();
    for i in 0..ids.len() {
        for j in i + 1..ids.len() {
            let (a, b) = (&ids[i], &ids[j]);
            if a.arch == b.arch && a.executor == b.executor && a.toolchain != b.toolchain {
                v.push((i, j, Family::Toolchain));
            } else if a.toolchain == b.toolchain && a.arch != b.arch {
                v.push((i, j, Family::Arch));
            }
        }
    }
    v
}

/// Tarone's K: the smallest K such that at most K tests can reach `alpha/K`.
fn tarone_k(min_ps: &[f64], alpha: f64) -> usize {
    let mut k = 1;
    loop {
        let m = min_ps.iter().filter(|p| **p < alpha / k as f64).count();
        if m <= k {
            return k;
        }
        k += 1;
    }
}

/// The verdicts for a program whose cells are `ids` with `tallies`; `max`
/// is the most trials a cell may get (a comparison whose cells are both at
/// `max` cannot be decided by more trials).
pub fn assess(ids: &[CellId], tallies: &[Tally], alpha: f64, max: Option<u32>) -> Assessment {
    assert_eq!(ids.len(), tallies.len());
    let pairs = question_pairs(ids);
    // Every (pair, kind) test, with the smallest p its margins allow.
    let mut tests: Vec<(Comparison, f64)> = Vec::new();
    for &(i, j, family) in &pairs {
        for kind in BadKind::ALL {
            let (ti, tj) = (&tallies[i], &tallies[j]);
            let (bi, bj) = (ti.bad(kind), tj.bad(kind));
            // `a` is the worse cell.
            let i_worse = bi * tj.runs > bj * ti.runs;
            let (a, b) = if i_worse { (i, j) } else { (j, i) };
            let (ta, tb) = (&tallies[a], &tallies[b]);
            let (ba, bb) = (ta.bad(kind), tb.bad(kind));
            let p = if ta.runs == 0 || tb.runs == 0 {
                1.0
            } else {
                fisher_two_sided(ba, ta.runs - ba, bb, tb.runs - bb)
            };
            let min_p = fisher_min_p(ta.runs, tb.runs, ba + bb);
            tests.push((
                Comparison {
                    kind,
                    family,
                    a,
                    b,
                    bad_a: ba,
                    runs_a: ta.runs,
                    bad_b: bb,
                    runs_b: tb.runs,
                    p,
                    significant: false,
                },
                min_p,
            ));
        }
    }
    let min_ps: Vec<f64> = tests.iter().map(|(_, m)| *m).collect();
    let threshold = alpha / tarone_k(&min_ps, alpha) as f64;
    for (c, min_p) in &mut tests {
        c.significant = c.differs() && *min_p < threshold && c.p < threshold;
    }
    let kinds = BadKind::ALL
        .iter()
        .map(|&kind| {
            let comps: Vec<Comparison> = tests
                .iter()
                .map(|(c, _)| c)
                .filter(|c| c.kind == kind && c.differs())
                .cloned()
                .collect();
            judge_kind(kind, ids, tallies, comps, max)
        })
        .collect();
    Assessment {
        alpha,
        threshold,
        kinds,
    }
}

fn judge_kind(
    kind: BadKind,
    ids: &[CellId],
    tallies: &[Tally],
    comparisons: Vec<Comparison>,
    max: Option<u32>,
) -> KindVerdict {
    let judged: Vec<usize> = (0..ids.len()).filter(|&i| tallies[i].runs > 0).collect();
    let sig = |f: Family| {
        comparisons
            .iter()
            .filter(move |c| c.significant && c.family == f)
    };
    let min_p = |it: &mut dyn Iterator<Item = &Comparison>| {
        it.map(|c| c.p)
            .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.min(p))))
    };
    let growable = |i: usize| max.is_none_or(|m| tallies[i].runs < m);
    let open = comparisons
        .iter()
        .any(|c| !c.significant && (growable(c.a) || growable(c.b)));
    let mut v = KindVerdict {
        kind,
        scope: None,
        divergent: Vec::new(),
        p: None,
        settled: !open,
        comparisons: comparisons.clone(),
    };

    // Every run of every cell bad.
    if !judged.is_empty()
        && judged
            .iter()
            .all(|&i| tallies[i].bad(kind) == tallies[i].runs)
    {
        v.scope = Some(Scope::All);
        v.divergent = judged;
        v.settled = true;
        return v;
    }

    // Cross-arch: on arch X every judged cell shows it, some toolchain is
    // significantly worse on X than elsewhere, and nothing is significantly
    // worse off X.
    let archs: std::collections::BTreeSet<Arch> = judged.iter().map(|&i| ids[i].arch).collect();
    if archs.len() > 1 {
        for &x in &archs {
            let on_x: Vec<usize> = judged
                .iter()
                .copied()
                .filter(|&i| ids[i].arch == x)
                .collect();
            let all_show = on_x.iter().all(|&i| tallies[i].bad(kind) > 0);
            let worse_on_x = sig(Family::Arch).any(|c| ids[c.a].arch == x);
            let worse_off_x = comparisons
                .iter()
                .any(|c| c.significant && ids[c.a].arch != x);
            if all_show && worse_on_x && !worse_off_x {
                v.scope = Some(Scope::CrossArch);
                v.p = min_p(&mut sig(Family::Arch).filter(|c| ids[c.a].arch == x));
                v.divergent = on_x;
                v.settled = true;
                return v;
            }
        }
    }

    let blame = |f: Family| {
        let mut d: Vec<usize> = sig(f).map(|c| c.a).collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    if sig(Family::Toolchain).next().is_some() {
        v.scope = Some(Scope::Toolchain);
        v.divergent = blame(Family::Toolchain);
        v.p = min_p(&mut sig(Family::Toolchain));
    } else if sig(Family::Arch).next().is_some() {
        v.scope = Some(Scope::Arch);
        v.divergent = blame(Family::Arch);
        v.p = min_p(&mut sig(Family::Arch));
    }
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn binomial_lower_is_the_lower_tail() {
        // 3 or fewer of 8 at 1/2: (1 + 8 + 28 + 56) / 256.
        assert!((super::binomial_lower(3, 8, 0.5) - 93.0 / 256.0).abs() < 1e-9);
        assert!((super::binomial_lower(8, 8, 0.3) - 1.0).abs() < 1e-9);
        assert!((super::binomial_lower(0, 4, 0.5) - 1.0 / 16.0).abs() < 1e-9);
        assert_eq!(super::binomial_lower(2, 8, 1.0), 0.0);
    }

    #[test]
    fn trials_for_power_is_the_smallest_n_with_that_power() {
        // A cell that always fails: the fewest runs whose table is significant.
        // 4 of 4 against 0 of 4 gives p = 0.029, 5 of 5 against 0 of 5 0.0079.
        assert_eq!(trials_for_power(1.0, 0.01, 0.99, 100), Some(5));
        assert_eq!(trials_for_power(0.0, 0.01, 0.99, 100), None);
        assert_eq!(trials_for_power(0.01, 0.01, 0.99, 100), None);
        for p in [0.2, 0.5, 0.8] {
            let n = trials_for_power(p, 0.005, 0.99, 200).unwrap();
            let k_of = |n: u32| {
                (1..=n)
                    .find(|&k| fisher_two_sided(k, n - k, 0, n) < 0.005)
                    .unwrap()
            };
            assert!(binomial_tail(n, p, k_of(n)) >= 0.99, "p={p} n={n}");
            assert!(
                binomial_tail(n - 1, p, k_of(n - 1)) < 0.99,
                "p={p}: {n} not smallest"
            );
        }
        // A lower rate needs more runs.
        assert!(trials_for_power(0.2, 0.005, 0.99, 200) > trials_for_power(0.5, 0.005, 0.99, 200));
    }

    #[test]
    fn binomial_tail_matches_hand_sums() {
        assert!((binomial_tail(3, 0.5, 2) - 0.5).abs() < 1e-12);
        assert!((binomial_tail(4, 0.25, 1) - (1.0 - 0.75f64.powi(4))).abs() < 1e-12);
        assert_eq!(binomial_tail(5, 0.3, 0), 1.0);
        assert_eq!(binomial_tail(5, 0.0, 1), 0.0);
    }

    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.max(1e-12) + 1e-12
    }

    #[test]
    fn known_values() {
        // Reference values computed exactly with rational arithmetic.
        assert!(close(fisher_two_sided(1, 19, 0, 20), 1.0));
        assert!(close(fisher_two_sided(3, 1, 1, 3), 0.4857142857142857));
        assert!(close(
            fisher_two_sided(12, 8, 0, 20),
            4.5095150768120733e-05
        ));
        assert!(close(fisher_two_sided(5, 0, 0, 5), 2.0 / 252.0));
        assert!(close(fisher_two_sided(4, 0, 0, 4), 0.02857142857142857));
        assert!(close(fisher_two_sided(0, 0, 0, 0), 1.0));
    }

    #[test]
    fn min_p_is_the_most_extreme_table() {
        // 5 runs each, 5 bad in all: 5/5 vs 0/5 is the extreme.
        assert!(close(fisher_min_p(5, 5, 5), 2.0 / 252.0));
        // No bad run, or every run bad: nothing to find.
        assert_eq!(fisher_min_p(5, 5, 0), 1.0);
        assert_eq!(fisher_min_p(5, 5, 10), 1.0);
        // One bad run in 2 + 20 cannot be significant.
        assert!(fisher_min_p(2, 20, 1) > DEFAULT_ALPHA);
        for (n1, n2, bad) in [(3, 7, 2), (20, 20, 13), (1, 1, 1), (6, 2, 7)] {
            let m = fisher_min_p(n1, n2, bad);
            for x in bad.saturating_sub(n2)..=bad.min(n1) {
                assert!(fisher_two_sided(x, n1 - x, bad - x, n2 - (bad - x)) >= m * (1.0 - 1e-9));
            }
        }
    }

    #[test]
    fn default_threshold_separates_the_documented_cases() {
        assert!(fisher_two_sided(1, 19, 0, 20) >= DEFAULT_ALPHA);
        assert!(fisher_two_sided(12, 8, 0, 20) < DEFAULT_ALPHA);
    }

    fn id(tc: &str, arch: Arch) -> CellId {
        CellId {
            toolchain: tc.into(),
            arch,
            executor: format!("{arch} (test)"),
        }
    }

    fn t(bad: u32, runs: u32) -> Tally {
        Tally {
            runs,
            bad: [bad, 0],
        }
    }

    #[test]
    fn questions_never_mix_arch_and_toolchain() {
        use Arch::*;
        let ids = [
            id("A", Arm64),
            id("B", Arm64),
            id("A", Amd64),
            id("B", Amd64),
        ];
        let q = question_pairs(&ids);
        assert_eq!(
            q,
            vec![
                (0, 1, Family::Toolchain),
                (0, 2, Family::Arch),
                (1, 3, Family::Arch),
                (2, 3, Family::Toolchain)
            ]
        );
        // Different executors of one arch are not a toolchain question.
        let mut other = id("B", Arm64);
        other.executor = "arm64 (qemu plain)".into();
        assert!(question_pairs(&[id("A", Arm64), other]).is_empty());
    }

    #[test]
    fn tarone_ignores_tests_that_cannot_reach_significance() {
        use Arch::*;
        let ids = [id("A", Amd64), id("B", Amd64), id("C", Amd64)];
        // Only A vs B and A vs C have bad runs; B vs C has none and does not count.
        let a = assess(&ids, &[t(5, 5), t(0, 5), t(0, 5)], DEFAULT_ALPHA, None);
        assert!(close(a.threshold, DEFAULT_ALPHA / 2.0));
        let v = a.kind(BadKind::Crash);
        assert_eq!(v.scope, None, "2/252 is not under 0.01/2");
        let a = assess(&ids, &[t(6, 6), t(0, 6), t(0, 6)], DEFAULT_ALPHA, None);
        let v = a.kind(BadKind::Crash);
        assert_eq!(v.scope, Some(Scope::Toolchain));
        assert_eq!(v.divergent, vec![0]);
        assert!(v.settled);
    }
}
