//! The normal distribution and the two-proportion z-test, written out so the crate needs no
//! statistics dependency (the distribution functions are shared with the insights' tests).
//!
//! - [`erfc`] evaluates W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev
//!   approximations for the error function", Math. Comp. 23, 1969, pp. 631-638; the
//!   coefficients of his portable CALERF routine), accurate to about 1e-16 relative in
//!   double precision.
//! - [`normal_cdf`] is `erfc(-x / sqrt 2) / 2`, so its lower tail keeps full *relative*
//!   accuracy (Φ(-10) = 7.6e-24 is not rounded to 0).
//! - [`normal_quantile`] is M. J. Wichura's algorithm AS 241 (PPND16, Applied Statistics 37,
//!   1988, pp. 477-484), accurate to about 1e-16.
//!
//! The tests check all three against values computed with 40-digit arithmetic.

// The test tables keep every digit of their 40-digit references.
#![allow(clippy::excessive_precision)]

pub use crate::base::normal::{erfc, normal_cdf, normal_quantile, normal_sf};

use crate::error::{Error, ErrorKind, err};

/// The result of a two-proportion z-test: is the success rate of A different from B's?
///
/// The test statistic uses the pooled standard error (under the null hypothesis both groups
/// share one rate), the confidence interval of the difference the unpooled one, as is
/// standard (e.g. NIST/SEMATECH e-Handbook, section 7.3.3). Both rest on the normal
/// approximation: trust them when each group has at least about 5 successes and 5
/// failures.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ZTest {
    /// Successes and trials of A.
    pub a: Proportion,
    /// Successes and trials of B.
    pub b: Proportion,
    /// `rate(A) - rate(B)`.
    pub difference: f64,
    /// The z statistic: the difference over its pooled standard error (0 when both groups
    /// are all successes or all failures).
    pub z: f64,
    /// Two-sided p-value: the chance of a difference at least this large if the rates were
    /// equal.
    pub p_value: f64,
    /// The confidence level asked for, e.g. 0.95.
    pub level: f64,
    /// Lower end of the confidence interval of the difference.
    pub low: f64,
    /// Upper end of the confidence interval of the difference.
    pub high: f64,
}

impl ZTest {
    /// Whether the difference is significant at the level: `p_value < 1 - level`.
    pub fn significant(&self) -> bool {
        self.p_value < 1.0 - self.level
    }
}

/// Successes out of trials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Proportion {
    /// How many succeeded (read, replied...).
    pub successes: u64,
    /// How many tried (were delivered...).
    pub trials: u64,
}

impl Proportion {
    /// `successes / trials`, `None` without trials.
    pub fn rate(&self) -> Option<f64> {
        (self.trials > 0).then(|| self.successes as f64 / self.trials as f64)
    }
}

/// Compares two success rates with a two-proportion z-test at a confidence `level`
/// (strictly between 0 and 1, e.g. 0.95).
///
/// Errors with [`ErrorKind::InvalidArgument`] when a group has no trials, more successes than
/// trials, or the level is out of range.
///
/// ```
/// use audience::campaign::stats::two_proportion_test;
///
/// // 62 of 1,000 replied in A, 38 of 1,000 in B.
/// let t = two_proportion_test(62, 1000, 38, 1000, 0.95)?;
/// assert!((t.z - 2.462_348).abs() < 1e-6);
/// assert!((t.p_value - 0.013_803).abs() < 1e-6);
/// assert!(t.significant());
/// # Ok::<(), audience::Error>(())
/// ```
pub fn two_proportion_test(
    successes_a: u64,
    trials_a: u64,
    successes_b: u64,
    trials_b: u64,
    level: f64,
) -> Result<ZTest, Error> {
    for (name, s, n) in [("A", successes_a, trials_a), ("B", successes_b, trials_b)] {
        if n == 0 {
            return err(ErrorKind::InvalidArgument(format!(
                "group {name} has no trials to compare"
            )));
        }
        if s > n {
            return err(ErrorKind::InvalidArgument(format!(
                "group {name} has {s} successes out of {n} trials"
            )));
        }
    }
    if !(level > 0.0 && level < 1.0) {
        return err(ErrorKind::InvalidArgument(format!(
            "a confidence level lies strictly between 0 and 1, got {level}"
        )));
    }
    let (xa, na, xb, nb) = (
        successes_a as f64,
        trials_a as f64,
        successes_b as f64,
        trials_b as f64,
    );
    let (pa, pb) = (xa / na, xb / nb);
    let difference = pa - pb;
    let pooled = (xa + xb) / (na + nb);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    let (z, p_value) = if se_pooled > 0.0 {
        let z = difference / se_pooled;
        (z, (2.0 * normal_sf(z.abs())).min(1.0))
    } else {
        (0.0, 1.0)
    };
    let se = (pa * (1.0 - pa) / na + pb * (1.0 - pb) / nb).sqrt();
    let crit = normal_quantile(0.5 + level / 2.0).unwrap_or(f64::INFINITY);
    Ok(ZTest {
        a: Proportion {
            successes: successes_a,
            trials: trials_a,
        },
        b: Proportion {
            successes: successes_b,
            trials: trials_b,
        },
        difference,
        z,
        p_value,
        level,
        low: difference - crit * se,
        high: difference + crit * se,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |got - want| <= tol * max(|want|, tiny): relative accuracy, also in the tails.
    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn erfc_matches_40_digit_values() {
        // erfc(x) from mpmath at 40 digits.
        let table = [
            (0.1, 0.887_537_083_981_715_107_796_724_9),
            (0.468_75, 0.507_386_526_782_062_008_411_823_9),
            (0.5, 0.479_500_122_186_953_462_317_253_3),
            (1.0, 0.157_299_207_050_285_130_658_779_4),
            (2.0, 0.004_677_734_981_047_265_837_930_744),
            (4.0, 1.541_725_790_028_001_885_215_967e-8),
            (4.5, 1.966_160_441_542_887_476_279_16e-10),
            (10.0, 2.088_487_583_762_544_757_000_786e-45),
            (26.0, 5.663_192_408_856_142_846_475_728e-296),
        ];
        for (x, want) in table {
            assert!(close(erfc(x), want, 1e-14), "erfc({x}) = {}", erfc(x));
            assert!(close(erfc(-x), 2.0 - want, 1e-15), "erfc(-{x})");
        }
        assert_eq!(erfc(0.0), 1.0);
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erfc(-30.0), 2.0);
        assert_eq!(erfc(f64::INFINITY), 0.0);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn normal_cdf_matches_40_digit_values() {
        let table = [
            (-20.0, 2.753_624_118_606_233_695_075_623e-89),
            (-10.0, 7.619_853_024_160_526_065_973_343e-24),
            (-8.0, 6.220_960_574_271_784_123_515_995e-16),
            (-5.0, 2.866_515_718_791_939_116_737_523e-7),
            (-3.0, 0.001_349_898_031_630_094_526_651_815),
            (-1.0, 0.158_655_253_931_457_051_414_767_5),
            (-0.5, 0.308_537_538_725_986_896_362_295_4),
            (-0.1, 0.460_172_162_722_971_018_534_595_4),
            (0.0, 0.5),
            (0.3, 0.617_911_422_188_952_637_306_529),
            (1.0, 0.841_344_746_068_542_948_585_232_5),
            (2.4623, 0.993_097_542_900_485_359_167_654_7),
            (3.0, 0.998_650_101_968_369_905_473_348_2),
            (5.0, 0.999_999_713_348_428_120_806_088_3),
        ];
        for (x, want) in table {
            // The argument x / sqrt(2) is rounded once; in the far tail that costs about
            // x^2 ulps of relative accuracy, hence 1e-13 rather than 1e-15.
            assert!(
                close(normal_cdf(x), want, 1e-13),
                "Φ({x}) = {}",
                normal_cdf(x)
            );
            assert!(
                close(normal_sf(-x), want, 1e-13),
                "1 - Φ({}) = {}",
                -x,
                normal_sf(-x)
            );
        }
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-15);
        assert!((normal_cdf(1.644_853_626_951_472_2) - 0.95).abs() < 1e-15);
        assert_eq!(normal_cdf(-40.0), 0.0);
        assert_eq!(normal_cdf(40.0), 1.0);
        assert!(normal_cdf(f64::NAN).is_nan());
    }

    #[test]
    fn quantile_matches_40_digit_values() {
        let table = [
            (1e-20, -9.262_340_089_798_407_573_717_386),
            (1e-10, -6.361_340_902_404_056_204_695_376),
            (1e-5, -4.264_890_793_922_824_628_498_525),
            (0.001, -3.090_232_306_167_813_541_540_4),
            (0.01, -2.326_347_874_040_841_100_885_606),
            (0.025, -1.959_963_984_540_054_235_524_594),
            (0.05, -1.644_853_626_951_472_714_863_849),
            (0.1, -1.281_551_565_544_600_466_965_103),
            (0.3, -0.524_400_512_708_040_784_038_289_3),
            (0.7, 0.524_400_512_708_040_784_038_289_3),
            (0.9, 1.281_551_565_544_600_466_965_103),
            (0.95, 1.644_853_626_951_472_714_863_849),
            (0.975, 1.959_963_984_540_054_235_524_594),
            (0.99, 2.326_347_874_040_841_100_885_606),
            (0.995, 2.575_829_303_548_900_760_978_577),
            (0.999, 3.090_232_306_167_813_541_540_4),
            (0.999_999, 4.753_424_308_822_898_948_193_988),
        ];
        for (p, want) in table {
            let got = normal_quantile(p).unwrap();
            // Upper-tail p is itself rounded (1 - 1e-6 is not exact), so compare loosely
            // there and tightly elsewhere.
            let tol = if p > 0.5 { 1e-9 } else { 1e-14 };
            assert!(close(got, want, tol), "Φ⁻¹({p}) = {got}, want {want}");
        }
        assert_eq!(normal_quantile(0.5), Some(0.0));
        for bad in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert_eq!(normal_quantile(bad), None, "{bad}");
        }
        // Round trip over the whole range.
        for i in 1..1000 {
            let p = f64::from(i) / 1000.0;
            let z = normal_quantile(p).unwrap();
            assert!((normal_cdf(z) - p).abs() < 1e-15, "p = {p}");
        }
        let tiny = normal_quantile(1e-300).unwrap();
        assert!(close(normal_cdf(tiny), 1e-300, 1e-12), "{tiny}");
    }

    #[test]
    fn z_test_hand_computed() {
        // A: 62 / 1000, B: 38 / 1000. Pooled p = 0.05; SE = sqrt(0.05 * 0.95 * 2 / 1000)
        // = 0.0097467943; z = 0.024 / SE = 2.4623480; p = 2 (1 - Φ(2.4623480)) = 0.0138031.
        // Unpooled SE = sqrt(0.062 * 0.938 / 1000 + 0.038 * 0.962 / 1000) = 0.0097320;
        // 95% CI = 0.024 -/+ 1.9599640 * 0.0097320 = [0.0049256, 0.0430744].
        // (Checked with 30-digit arithmetic.)
        let t = two_proportion_test(62, 1000, 38, 1000, 0.95).unwrap();
        assert!((t.difference - 0.024).abs() < 1e-15);
        assert!((t.z - 2.462_348_0).abs() < 1e-7, "{}", t.z);
        assert!((t.p_value - 0.013_803_1).abs() < 1e-7, "{}", t.p_value);
        assert!((t.low - 0.004_925_6).abs() < 1e-7, "{}", t.low);
        assert!((t.high - 0.043_074_4).abs() < 1e-7, "{}", t.high);
        assert!(t.significant());
        // Not significant at 99%.
        let t99 = two_proportion_test(62, 1000, 38, 1000, 0.99).unwrap();
        assert!(!t99.significant());
        assert_eq!(t99.p_value, t.p_value);
        assert!((t99.low + 0.001_068_0).abs() < 1e-7, "{}", t99.low);
        assert!((t99.high - 0.049_068_0).abs() < 1e-7, "{}", t99.high);

        // Textbook read rates: 720 / 1000 against 700 / 1000 is no difference.
        // pooled 0.71; SE = sqrt(0.71 * 0.29 * 0.002) = 0.0202929; z = 0.9855685; p = 0.3243449.
        let r = two_proportion_test(720, 1000, 700, 1000, 0.95).unwrap();
        assert!((r.z - 0.985_568_5).abs() < 1e-7, "{}", r.z);
        assert!((r.p_value - 0.324_344_9).abs() < 1e-7, "{}", r.p_value);
        assert!(!r.significant());

        // Unequal sizes: 30 / 200 against 45 / 600.
        // pa = 0.15, pb = 0.075, pooled = 75 / 800 = 0.09375;
        // SE = sqrt(0.09375 * 0.90625 * (1/200 + 1/600)) = 0.0237993; z = 3.1513544; p = 0.0016252.
        let u = two_proportion_test(30, 200, 45, 600, 0.95).unwrap();
        assert!((u.z - 3.151_354_4).abs() < 1e-7, "{}", u.z);
        assert!((u.p_value - 0.001_625_2).abs() < 1e-7, "{}", u.p_value);
        assert!(u.significant());
        // Symmetry: swapping the groups flips the sign, keeps the p-value.
        let s = two_proportion_test(45, 600, 30, 200, 0.95).unwrap();
        assert_eq!(s.z, -u.z);
        assert_eq!(s.p_value, u.p_value);
        assert!((s.low + u.high).abs() < 1e-15 && (s.high + u.low).abs() < 1e-15);
    }

    #[test]
    fn z_test_degenerate_and_invalid() {
        let all = two_proportion_test(10, 10, 5, 5, 0.95).unwrap();
        assert_eq!(
            (all.z, all.p_value, all.low, all.high),
            (0.0, 1.0, 0.0, 0.0)
        );
        assert!(!all.significant());
        let none = two_proportion_test(0, 10, 0, 7, 0.95).unwrap();
        assert_eq!((none.z, none.p_value), (0.0, 1.0));

        let e = two_proportion_test(1, 0, 1, 2, 0.95).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument: group A has no trials to compare"
        );
        let e = two_proportion_test(1, 2, 3, 2, 0.95).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument: group B has 3 successes out of 2 trials"
        );
        for level in [0.0, 1.0, 95.0, f64::NAN] {
            let e = two_proportion_test(1, 2, 1, 2, level).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "invalid argument: a confidence level lies strictly between 0 and 1, got {level}"
                )
            );
        }
    }
}
