//! The significance of the insights' findings: a two-proportion test that switches to
//! Fisher's exact test for small counts, and the Benjamini-Hochberg correction for testing
//! thousands of candidates at once.
//!
//! - [`z_test`]: the two-sided two-proportion z-test with the pooled standard error (the
//!   normal approximation, NIST/SEMATECH e-Handbook, section 7.3.3).
//! - [`fisher_exact`]: Fisher's exact test of a 2 x 2 table, two-sided by summing the
//!   probabilities of every table (with the same margins) no more likely than the observed
//!   one, as R's `fisher.test` does.
//! - [`compare_rates`]: the z-test, or the exact test when an expected cell count is below
//!   5 (Cochran's rule), where the normal approximation is poor.
//! - [`benjamini_hochberg`]: q-values controlling the false discovery rate (Benjamini and
//!   Hochberg, "Controlling the false discovery rate", JRSS B 57, 1995). Flagging every
//!   finding whose q-value is at most 0.05 means that, on average, at most 5% of the flagged
//!   findings are chance: with 20,000 candidates and no real effect, about nothing is
//!   flagged, where a plain p < 0.05 would flag about 1,000.

use crate::base::normal::normal_sf;
use crate::error::{Error, ErrorKind, err};

/// Which test gave a p-value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Test {
    /// The two-proportion z-test ([`z_test`]).
    Z,
    /// Fisher's exact test ([`fisher_exact`]), for small counts.
    Exact,
}

impl Test {
    /// `"z"` or `"exact"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Test::Z => "z",
            Test::Exact => "exact",
        }
    }
}

/// Refuses `successes > trials`.
fn check(group: &str, successes: u64, trials: u64) -> Result<(), Error> {
    if successes > trials {
        return err(ErrorKind::InvalidArgument(format!(
            "group {group} has {successes} successes out of only {trials} trials"
        )));
    }
    Ok(())
}

/// The two-sided p-value of the two-proportion z-test of `x1` successes out of `n1` against
/// `x2` out of `n2`, with the pooled standard error. 1 when the test is undefined (a group
/// without trials, or both rates 0 or both 1). Errors with [`ErrorKind::InvalidArgument`]
/// when a group has more successes than trials.
///
/// ```
/// use audience::insights::stats::z_test;
///
/// // 30 of 100 against 20 of 100: z = 1.633, p = 0.1025.
/// assert!((z_test(30, 100, 20, 100)? - 0.102_470).abs() < 1e-6);
/// assert_eq!(
///     z_test(5, 4, 1, 10).unwrap_err().to_string(),
///     "invalid argument: group A has 5 successes out of only 4 trials"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
pub fn z_test(x1: u64, n1: u64, x2: u64, n2: u64) -> Result<f64, Error> {
    check("A", x1, n1)?;
    check("B", x2, n2)?;
    Ok(z_p(x1, n1, x2, n2))
}

fn z_p(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se.is_nan() || se <= 0.0 {
        return 1.0;
    }
    let z = (x1 as f64 / n1f - x2 as f64 / n2f) / se;
    (2.0 * normal_sf(z.abs())).min(1.0)
}

/// `ln(n!)`: exact products up to 20, Stirling's series beyond (its error is below
/// `1 / (1188 n^9)`, under 1e-14 relative from 21 on).
fn ln_factorial(n: u64) -> f64 {
    if n <= 20 {
        return (2..=n).map(|k| k as f64).product::<f64>().ln();
    }
    let x = n as f64;
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)));
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + series
}

/// The two-sided p-value of Fisher's exact test of the 2 x 2 table `[[a, b], [c, d]]`: the
/// probability, with the table's margins fixed, of a table no more likely than this one.
///
/// The walk over the tables stops once the remaining ones are negligible (below e^-40 of the
/// observed table's probability, past the mode), so its cost grows with the spread of the
/// distribution, not with the counts.
///
/// ```
/// use audience::insights::stats::fisher_exact;
///
/// // Fisher's tea-tasting table: p = 0.4857.
/// assert!((fisher_exact(3, 1, 1, 3) - 0.485_714).abs() < 1e-6);
/// // R: fisher.test(matrix(c(1, 11, 9, 3), 2))$p.value = 0.002759456
/// assert!((fisher_exact(1, 9, 11, 3) - 0.002_759_456).abs() < 1e-9);
/// ```
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let row = a + b;
    let col = a + c;
    let n = a + b + c + d;
    let lo = (row + col).saturating_sub(n);
    let hi = row.min(col);
    if lo == hi {
        return 1.0;
    }
    let ln_choose = |k: u64, m: u64| ln_factorial(k) - ln_factorial(m) - ln_factorial(k - m);
    let lp = |k: u64| ln_choose(col, k) + ln_choose(n - col, row - k) - ln_choose(n, row);
    let observed = lp(a);
    // Tables as likely as the observed one, up to rounding, count as "no more likely".
    let limit = observed + 1e-7;
    let mut sum = 0.0f64;
    // ln(p(k + 1) / p(k)) for the hypergeometric distribution.
    let up = |k: u64| {
        (((col - k) as f64) * ((row - k) as f64)).ln()
            - (((k + 1) as f64) * ((n + k + 1 - col - row) as f64)).ln()
    };
    // From the observed table downwards, then upwards; each direction stops once it is past
    // the mode (probabilities falling) and they are negligible.
    let mut k = a;
    let mut l = observed;
    loop {
        if l <= limit {
            sum += l.exp();
        }
        if k == lo {
            break;
        }
        let next = l - up(k - 1);
        if next < l && next < observed - 40.0 {
            break;
        }
        k -= 1;
        l = next;
    }
    let mut k = a;
    let mut l = observed;
    while k < hi {
        let next = l + up(k);
        if next < l && next < observed - 40.0 {
            break;
        }
        k += 1;
        l = next;
        if l <= limit {
            sum += l.exp();
        }
    }
    sum.min(1.0)
}

/// Compares `x1` successes out of `n1` with `x2` out of `n2`: the z-test, or Fisher's exact
/// test when an expected count of the 2 x 2 table is below 5. Errors with
/// [`ErrorKind::InvalidArgument`] when a group has more successes than trials.
///
/// ```
/// use audience::insights::stats::{Test, compare_rates};
///
/// assert_eq!(compare_rates(300, 1000, 200, 1000)?.0, Test::Z);
/// let (test, p) = compare_rates(3, 4, 1, 4)?;
/// assert_eq!(test, Test::Exact);
/// assert!((p - 0.485_714).abs() < 1e-6);
/// # Ok::<(), audience::Error>(())
/// ```
pub fn compare_rates(x1: u64, n1: u64, x2: u64, n2: u64) -> Result<(Test, f64), Error> {
    check("A", x1, n1)?;
    check("B", x2, n2)?;
    Ok(rates(x1, n1, x2, n2))
}

/// [`compare_rates`] for checked counts.
pub(super) fn rates(x1: u64, n1: u64, x2: u64, n2: u64) -> (Test, f64) {
    let n = (n1 + n2) as f64;
    let yes = (x1 + x2) as f64;
    let no = n - yes;
    let small = [n1 as f64, n2 as f64]
        .iter()
        .any(|&g| g * yes / n < 5.0 || g * no / n < 5.0);
    if small && n1 > 0 && n2 > 0 {
        (Test::Exact, fisher_exact(x1, n1 - x1, x2, n2 - x2))
    } else {
        (Test::Z, z_p(x1, n1, x2, n2))
    }
}

/// Benjamini-Hochberg q-values of `p` (in the same order): the smallest false discovery rate
/// at which each test would be flagged, `q(i) = min over j ranked at or after i of
/// p(j) * m / rank(j)`, at most 1. A NaN p-value counts as 1.
///
/// ```
/// use audience::insights::stats::benjamini_hochberg;
///
/// // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "BH") = 0.02 0.04 0.04 0.02
/// let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005]);
/// let want = [0.02, 0.04, 0.04, 0.02];
/// assert!(q.iter().zip(want).all(|(q, w)| (q - w).abs() < 1e-12));
/// ```
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let clean = |x: f64| if x.is_nan() { 1.0 } else { x.clamp(0.0, 1.0) };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| clean(p[i]).total_cmp(&clean(p[j])).then(i.cmp(&j)));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let adjusted = clean(p[i]) * m as f64 / (rank + 1) as f64;
        running = running.min(adjusted);
        q[i] = running;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_factorial_is_exact_enough() {
        let mut exact = 0.0f64;
        for n in 1..=200u64 {
            exact += (n as f64).ln();
            let got = ln_factorial(n);
            assert!(
                (got - exact).abs() <= 1e-12 * exact.max(1.0),
                "{n}: {got} {exact}"
            );
        }
        assert_eq!(ln_factorial(0), 0.0);
    }

    #[test]
    fn z_test_matches_known_values() {
        // The campaign example: 62/1000 vs 38/1000, p = 0.013803.
        assert!((z_test(62, 1000, 38, 1000).unwrap() - 0.013_803).abs() < 1e-6);
        assert_eq!(z_test(0, 10, 0, 10).unwrap(), 1.0);
        assert_eq!(z_test(10, 10, 7, 7).unwrap(), 1.0);
        assert_eq!(z_test(1, 10, 0, 0).unwrap(), 1.0);
        assert_eq!(
            z_test(1, 10, 8, 7).unwrap_err().to_string(),
            "invalid argument: group B has 8 successes out of only 7 trials"
        );
    }

    #[test]
    fn fisher_matches_r() {
        // fisher.test(matrix(c(10, 2, 3, 15), 2))$p.value = 0.0005367241
        assert!((fisher_exact(10, 3, 2, 15) - 0.000_536_724_1).abs() < 1e-10);
        // fisher.test(matrix(c(2, 7, 8, 2), 2))$p.value = 0.02301414
        assert!((fisher_exact(2, 8, 7, 2) - 0.023_014_14).abs() < 1e-8);
        // A degenerate margin: only one table.
        assert_eq!(fisher_exact(0, 0, 3, 4), 1.0);
        // Symmetric in rows and columns.
        assert!((fisher_exact(1, 9, 11, 3) - fisher_exact(3, 11, 9, 1)).abs() < 1e-15);
        assert!((fisher_exact(1, 9, 11, 3) - fisher_exact(1, 11, 9, 3)).abs() < 1e-15);
    }

    #[test]
    fn fisher_on_large_margins_with_a_small_cell() {
        // 3 of 1,000 in the group against 100 of 1,000,000 outside: a table the z-test
        // handles badly (the expected count in the group is 0.1). Exact rational
        // arithmetic gives p = 1.631652700e-4. ln(n!) of a million is 1.3e7, so double
        // precision leaves about 1e-9 relative.
        let p = fisher_exact(3, 997, 100, 999_900);
        assert!((p - 1.631_652_700e-4).abs() < 1e-9 * p, "{p}");
        // Against a full walk over every table.
        let (a, b, c, d) = (3u64, 997u64, 100u64, 999_900u64);
        let (row, col, n) = (a + b, a + c, a + b + c + d);
        let lp = |k: u64| {
            let ch = |x: u64, y: u64| ln_factorial(x) - ln_factorial(y) - ln_factorial(x - y);
            ch(col, k) + ch(n - col, row - k) - ch(n, row)
        };
        let obs = lp(a);
        let full: f64 = (0..=row.min(col))
            .map(lp)
            .filter(|&l| l <= obs + 1e-7)
            .map(f64::exp)
            .sum();
        assert!((p - full).abs() <= 1e-9 * full, "{p} {full}");
    }

    #[test]
    fn compare_picks_the_test() {
        assert_eq!(rates(2, 10, 30, 100).0, Test::Exact);
        assert_eq!(rates(20, 100, 30, 100).0, Test::Z);
        assert_eq!(rates(0, 0, 3, 10), (Test::Z, 1.0));
    }

    #[test]
    fn bh_matches_r() {
        // p.adjust(c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216),
        //          "BH")
        let p = [
            0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216,
        ];
        let want = [
            0.01,
            0.04,
            0.084,
            0.084,
            0.084,
            0.1,
            0.105_714_3,
            0.216,
            0.216,
            0.216,
        ];
        for (q, w) in benjamini_hochberg(&p).iter().zip(want) {
            assert!((q - w).abs() < 1e-7, "{q} {w}");
        }
        assert_eq!(benjamini_hochberg(&[]), Vec::<f64>::new());
        assert_eq!(benjamini_hochberg(&[f64::NAN, 0.5]), vec![1.0, 1.0]);
    }
}
