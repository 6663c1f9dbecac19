//! Statistics for divergence verdicts.
//!
//! Runtime bugs are probabilistic, so two cells diverge only when their
//! outcome distributions differ significantly: Fisher's exact test on a 2×2
//! table (bad vs good runs in cell A and cell B), two-sided.

use crate::model::{Class, Outcome};

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

/// Default significance threshold for a divergence.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// Bad/total counts of one cell for crashes (panic, fatal, signal, oom) and
/// for hangs; infra outcomes are not program outcomes and are left out.
fn rates(runs: &[Outcome]) -> [(u32, u32); 2] {
    let judged: Vec<&Outcome> = runs
        .iter()
        .filter(|o| o.class.is_program_outcome())
        .collect();
    let n = judged.len() as u32;
    let crash = judged
        .iter()
        .filter(|o| o.class.is_crash() || o.class == Class::Oom)
        .count() as u32;
    let hang = judged.iter().filter(|o| o.class == Class::Hang).count() as u32;
    [(crash, n), (hang, n)]
}

/// p-values of the crash and hang rates of two cells (1.0 where they agree
/// or one has no program outcomes).
fn pair_p(a: &[Outcome], b: &[Outcome]) -> [f64; 2] {
    let (ra, rb) = (rates(a), rates(b));
    let mut out = [1.0; 2];
    for k in 0..2 {
        let (bi, ni) = ra[k];
        let (bj, nj) = rb[k];
        // Equal rates (compared without division) are no divergence.
        if ni == 0 || nj == 0 || bi * nj == bj * ni {
            continue;
        }
        out[k] = fisher_two_sided(bi, ni - bi, bj, nj - bj);
    }
    out
}

/// Cells whose crash or hang rate differs from `cell`'s without the
/// difference being significant at `alpha` yet (more trials would help).
pub fn undecided_partners(cell: usize, all: &[Vec<Outcome>], alpha: f64) -> Vec<usize> {
    (0..all.len())
        .filter(|&j| j != cell)
        .filter(|&j| {
            pair_p(&all[cell], &all[j])
                .iter()
                .any(|p| *p < 1.0 && *p >= alpha)
        })
        .collect()
}

/// Whether some pair of cells already differs significantly at `alpha`.
pub fn significant(all: &[Vec<Outcome>], alpha: f64) -> bool {
    (0..all.len())
        .any(|i| (i + 1..all.len()).any(|j| pair_p(&all[i], &all[j]).iter().any(|p| *p < alpha)))
}

#[cfg(test)]
mod tests {
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
    fn undecided_until_significant() {
        let ok = || Outcome::new(Class::Ok, "");
        let bad = || Outcome::new(Class::Fatal, "fatal error: x");
        let a: Vec<Outcome> = vec![bad(), bad()];
        let b: Vec<Outcome> = vec![ok(), ok()];
        assert_eq!(
            undecided_partners(0, &[a.clone(), b.clone()], DEFAULT_ALPHA),
            vec![1]
        );
        assert!(!significant(&[a.clone(), b.clone()], DEFAULT_ALPHA));
        let a5: Vec<Outcome> = (0..5).map(|_| bad()).collect();
        let b5: Vec<Outcome> = (0..5).map(|_| ok()).collect();
        assert!(undecided_partners(0, &[a5.clone(), b5.clone()], DEFAULT_ALPHA).is_empty());
        assert!(significant(&[a5.clone(), b5.clone()], DEFAULT_ALPHA));
        // 2 of 2 against 0 of 13 is significant too: cheap cells can decide it.
        let b13: Vec<Outcome> = (0..13).map(|_| ok()).collect();
        assert!(significant(&[a.clone(), b13], DEFAULT_ALPHA));
        // Agreement: nothing to decide.
        assert!(undecided_partners(0, &[b.clone(), b.clone()], DEFAULT_ALPHA).is_empty());
        // Infra runs do not count.
        let inf = vec![Outcome::infra("qemu missing")];
        assert!(undecided_partners(0, &[inf.clone(), b.clone()], DEFAULT_ALPHA).is_empty());
    }

    #[test]
    fn default_threshold_separates_the_documented_cases() {
        assert!(fisher_two_sided(1, 19, 0, 20) >= DEFAULT_ALPHA);
        assert!(fisher_two_sided(12, 8, 0, 20) < DEFAULT_ALPHA);
    }
}
