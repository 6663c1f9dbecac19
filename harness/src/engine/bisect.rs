//! The search of a bisection, apart from what a step costs: an ordered list
//! of points (releases or commits) whose two ends behave differently, probed
//! until two neighbours that were both judged behave differently, with
//! points that could not be judged skipped (like `git bisect skip`) rather
//! than guessed.
//!
//! Also the arithmetic of a "good" verdict: with the bad end failing at rate
//! p per run, n clean runs are needed so that a bad point would have shown
//! with probability at least 99 %: (1 − p)^n < 0.01. p is the lower end of
//! the 95 % interval of the rate measured at the bad end, not the rate seen.

use crate::engine::results::Counts;
use crate::model::Arch;
use crate::toolchain::points::Point;
use serde::Serialize;

/// What a probed point is like: the first end's behaviour, the last end's,
/// or neither could be established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Behaves like the first point of the list.
    First,
    /// Behaves like the last point of the list.
    Last,
    /// Could not be judged (does not build, fails differently, out of trials).
    Unknown,
}

/// A binary search over points `0..n`, where point 0 is known to be `First`
/// and point n−1 `Last`.
#[derive(Clone, Debug)]
pub struct Search {
    lo: usize,
    hi: usize,
    skipped: Vec<usize>,
}

impl Search {
    /// A search over `n ≥ 2` points whose ends have been judged different.
    pub fn new(n: usize) -> Search {
        assert!(n >= 2, "a bisection needs two ends");
        Search {
            lo: 0,
            hi: n - 1,
            skipped: Vec::new(),
        }
    }

    /// The next point to probe: the unjudged one nearest the middle of the
    /// open interval, or None when the boundary is found (no unjudged point
    /// is left between the last `First` and the first `Last`).
    pub fn next(&self) -> Option<usize> {
        let mid2 = self.lo + self.hi; // twice the middle
        ((self.lo + 1)..self.hi)
            .filter(|i| !self.skipped.contains(i))
            .min_by_key(|&i| ((2 * i).abs_diff(mid2), i))
    }

    /// Record the verdict of point `i` (one that `next` gave).
    pub fn record(&mut self, i: usize, side: Side) {
        assert!(
            self.lo < i && i < self.hi,
            "point {i} is outside the open interval"
        );
        match side {
            Side::First => self.lo = i,
            Side::Last => self.hi = i,
            Side::Unknown => self.skipped.push(i),
        }
    }

    /// The boundary: the last point judged `First`, the first judged `Last`,
    /// and the points between them that could not be judged.
    pub fn boundary(&self) -> (usize, usize, Vec<usize>) {
        let mut between: Vec<usize> = self
            .skipped
            .iter()
            .copied()
            .filter(|&i| self.lo < i && i < self.hi)
            .collect();
        between.sort_unstable();
        (self.lo, self.hi, between)
    }
}

/// The lower end of the 95 % Wilson score interval of a rate seen `k` times
/// in `n` runs: the rate a bisection assumes for its bad end, so that a few
/// lucky runs there do not make "good" verdicts cheap.
pub fn rate_lower_bound(k: u32, n: u32) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (k, n, z) = (k as f64, n as f64, 1.96f64);
    let p = k / n;
    let centre = p + z * z / (2.0 * n);
    let margin = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - margin) / (1.0 + z * z / n)).clamp(0.0, 1.0)
}

/// Clean runs needed to call a point good when the bad end fails at rate
/// `p` per run: the smallest n with (1 − p)^n < 0.01. None when p is 0 (no
/// number of clean runs would tell).
pub fn clean_runs_needed(p: f64) -> Option<u32> {
    if p.is_nan() || p <= 0.0 {
        return None;
    }
    if p >= 1.0 {
        return Some(1);
    }
    let n = (0.01f64.ln() / (1.0 - p).ln()).floor() as u32 + 1;
    Some(n.max(1))
}

/// The verdict on one point.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub point: Point,
    /// bad, good or unknown.
    pub verdict: String,
    /// Outcome counts of its runs (a failed build counts once).
    pub counts: Counts,
    /// Runs that showed the bug.
    pub bad_runs: u32,
    pub runs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    pub seconds: f64,
}

/// The whole bisection, as bisect.json holds it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub target: String,
    pub program: String,
    pub arch: Arch,
    pub executor: String,
    /// The bug key the search follows.
    pub bug: String,
    pub points: Vec<Point>,
    /// The failure rate seen at the bad end, the lower end of its 95 %
    /// interval (the rate assumed), and the clean runs a good verdict needs.
    pub bad_rate: f64,
    pub bad_rate_assumed: f64,
    pub clean_runs_needed: u32,
    pub steps: Vec<Step>,
    /// Whether the bug is fixed going forward (bad → good) or a regression.
    pub direction: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_bad: Option<Point>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_good: Option<Point>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_good: Option<Point>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<Point>,
    /// Points between the boundary's two ends that could not be judged.
    pub unknown_between: Vec<Point>,
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bisect a fake history: `truth[i]` is the side of point i (None: it
    /// cannot be judged). Returns the boundary and the points probed.
    fn bisect(truth: &[Option<Side>]) -> ((usize, usize, Vec<usize>), Vec<usize>) {
        let mut s = Search::new(truth.len());
        let mut probed = Vec::new();
        while let Some(i) = s.next() {
            probed.push(i);
            s.record(i, truth[i].unwrap_or(Side::Unknown));
        }
        (s.boundary(), probed)
    }

    fn history(first_last: usize, n: usize) -> Vec<Option<Side>> {
        (0..n)
            .map(|i| {
                Some(if i <= first_last {
                    Side::First
                } else {
                    Side::Last
                })
            })
            .collect()
    }

    #[test]
    fn finds_every_boundary_of_a_clean_history_in_log_steps() {
        for n in 2..40 {
            for b in 0..n - 1 {
                let ((lo, hi, between), probed) = bisect(&history(b, n));
                assert_eq!((lo, hi), (b, b + 1), "n={n} boundary after {b}");
                assert!(between.is_empty());
                let bound = (n as f64).log2().ceil() as usize;
                assert!(
                    probed.len() <= bound,
                    "n={n} b={b}: {} probes",
                    probed.len()
                );
            }
        }
    }

    #[test]
    fn points_that_cannot_be_judged_widen_the_boundary_instead_of_guessing() {
        // 0..=4 first, 5..=9 last; 4 and 5 do not build.
        let mut h = history(4, 10);
        h[4] = None;
        h[5] = None;
        let ((lo, hi, between), _) = bisect(&h);
        assert_eq!((lo, hi, between), (3, 6, vec![4, 5]));
        // Everything in between unknown: the ends are the boundary.
        let mut h = history(0, 5);
        for x in h.iter_mut().take(4).skip(1) {
            *x = None;
        }
        let ((lo, hi, between), probed) = bisect(&h);
        assert_eq!((lo, hi, between), (0, 4, vec![1, 2, 3]));
        assert_eq!(probed.len(), 3);
    }

    #[test]
    fn two_points_need_no_probe() {
        let ((lo, hi, between), probed) = bisect(&history(0, 2));
        assert_eq!((lo, hi, between, probed), (0, 1, vec![], vec![]));
    }

    #[test]
    fn the_assumed_bad_rate_is_a_lower_bound() {
        assert_eq!(rate_lower_bound(0, 10), 0.0);
        // 10 of 10: Wilson gives 0.722.
        assert!((rate_lower_bound(10, 10) - 0.7225).abs() < 1e-3);
        // 7 of 10: 0.397; 9 of 10: 0.596.
        assert!((rate_lower_bound(7, 10) - 0.3968).abs() < 1e-3);
        assert!((rate_lower_bound(9, 10) - 0.5958).abs() < 1e-3);
        for (k, n) in [(1, 10), (5, 10), (30, 30), (3, 40)] {
            assert!(rate_lower_bound(k, n) < k as f64 / n as f64);
        }
    }

    #[test]
    fn clean_runs_needed_follows_the_one_percent_rule() {
        assert_eq!(clean_runs_needed(1.0), Some(1));
        assert_eq!(clean_runs_needed(0.0), None);
        // 0.5^7 = 0.0078 < 0.01 but 0.5^6 = 0.0156.
        assert_eq!(clean_runs_needed(0.5), Some(7));
        // 0.9^43 = 0.0108, 0.9^44 = 0.0097.
        assert_eq!(clean_runs_needed(0.1), Some(44));
        for p in [0.05, 0.2, 0.33, 0.6, 0.93] {
            let n = clean_runs_needed(p).unwrap() as i32;
            assert!((1.0 - p).powi(n) < 0.01, "p={p} n={n}");
            assert!(
                (1.0 - p).powi(n - 1) >= 0.01,
                "p={p} n={n} is not the smallest"
            );
        }
    }
}
