//! The normal distribution and the two-proportion z-test, written out so the crate needs no
//! statistics dependency.
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

// The coefficients keep every published digit, so they can be checked against the papers.
#![allow(clippy::excessive_precision)]

use crate::error::{Error, ErrorKind, err};

/// The complementary error function, `erfc(x) = 1 - erf(x)`.
///
/// ```
/// use audience::campaign::stats::erfc;
///
/// assert!((erfc(1.0) - 0.157_299_207_050_285_13).abs() < 1e-16);
/// assert_eq!(erfc(0.0), 1.0);
/// ```
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    if y <= 0.468_75 {
        return 1.0 - erf_small(x);
    }
    let tail = erfc_tail(y);
    if x < 0.0 { 2.0 - tail } else { tail }
}

/// erf(x) for |x| <= 0.46875 (Cody's first interval).
fn erf_small(x: f64) -> f64 {
    const A: [f64; 5] = [
        3.161_123_743_870_565_6,
        1.138_641_541_510_501_56e2,
        3.774_852_376_853_020_21e2,
        3.209_377_589_138_469_47e3,
        1.857_777_061_846_031_53e-1,
    ];
    const B: [f64; 4] = [
        2.360_129_095_234_412_09e1,
        2.440_246_379_344_441_73e2,
        1.282_616_526_077_372_28e3,
        2.844_236_833_439_170_62e3,
    ];
    let y = x.abs();
    let ysq = if y > 1.11e-16 { y * y } else { 0.0 };
    let mut num = A[4] * ysq;
    let mut den = ysq;
    for i in 0..3 {
        num = (num + A[i]) * ysq;
        den = (den + B[i]) * ysq;
    }
    x * (num + A[3]) / (den + B[3])
}

/// erfc(y) for y > 0.46875 (Cody's second and third intervals).
fn erfc_tail(y: f64) -> f64 {
    const C: [f64; 9] = [
        5.641_884_969_886_700_89e-1,
        8.883_149_794_388_375_94,
        6.611_919_063_714_162_95e1,
        2.986_351_381_974_001_31e2,
        8.819_522_212_417_690_90e2,
        1.712_047_612_634_070_58e3,
        2.051_078_377_826_071_47e3,
        1.230_339_354_797_997_25e3,
        2.153_115_354_744_038_46e-8,
    ];
    const D: [f64; 8] = [
        1.574_492_611_070_983_47e1,
        1.176_939_508_913_124_99e2,
        5.371_811_018_620_098_58e2,
        1.621_389_574_566_690_19e3,
        3.290_799_235_733_459_63e3,
        4.362_619_090_143_247_16e3,
        3.439_367_674_143_721_64e3,
        1.230_339_354_803_749_42e3,
    ];
    const P: [f64; 6] = [
        3.053_266_349_612_323_44e-1,
        3.603_448_999_498_044_39e-1,
        1.257_817_261_112_292_46e-1,
        1.608_378_514_874_227_66e-2,
        6.587_491_615_298_378_03e-4,
        1.631_538_713_730_209_78e-2,
    ];
    const Q: [f64; 5] = [
        2.568_520_192_289_822_42,
        1.872_952_849_923_460_47,
        5.279_051_029_514_284_12e-1,
        6.051_834_131_244_131_91e-2,
        2.335_204_976_268_691_85e-3,
    ];
    /// 1 / sqrt(pi).
    const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_286_95;
    /// Above this erfc underflows to 0 in double precision.
    const XBIG: f64 = 26.543;

    let rational = if y <= 4.0 {
        let mut num = C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + C[i]) * y;
            den = (den + D[i]) * y;
        }
        (num + C[7]) / (den + D[7])
    } else {
        if y >= XBIG {
            return 0.0;
        }
        let ysq = 1.0 / (y * y);
        let mut num = P[5] * ysq;
        let mut den = ysq;
        for i in 0..4 {
            num = (num + P[i]) * ysq;
            den = (den + Q[i]) * ysq;
        }
        let r = ysq * (num + P[4]) / (den + Q[4]);
        (FRAC_1_SQRT_PI - r) / y
    };
    // exp(-y^2) computed as exp(-s^2) exp(-(y-s)(y+s)) with s = y rounded down to 1/16,
    // which keeps the rounding error of y^2 out of the exponent.
    let s = (y * 16.0).trunc() / 16.0;
    let del = (y - s) * (y + s);
    (-s * s).exp() * (-del).exp() * rational
}

/// The standard normal distribution function Φ(x) = P(Z <= x).
///
/// ```
/// use audience::campaign::stats::normal_cdf;
///
/// assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-15);
/// assert_eq!(normal_cdf(0.0), 0.5);
/// ```
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The upper tail 1 - Φ(x) = P(Z > x), accurate also where it is tiny.
pub fn normal_sf(x: f64) -> f64 {
    0.5 * erfc(x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal quantile Φ⁻¹(p): the `z` with `P(Z <= z) = p`. `None` unless
/// `0 < p < 1`.
///
/// ```
/// use audience::campaign::stats::normal_quantile;
///
/// let z = normal_quantile(0.975).unwrap();
/// assert!((z - 1.959_963_984_540_054).abs() < 1e-15);
/// assert_eq!(normal_quantile(1.0), None);
/// ```
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        const A: [f64; 8] = [
            3.387_132_872_796_366_608,
            1.331_416_678_917_843_774_5e2,
            1.971_590_950_306_551_442_7e3,
            1.373_169_376_550_946_112_5e4,
            4.592_195_393_154_987_145_7e4,
            6.726_577_092_700_870_085_3e4,
            3.343_057_558_358_812_810_5e4,
            2.509_080_928_730_122_672_7e3,
        ];
        const B: [f64; 8] = [
            1.0,
            4.231_333_070_160_091_125_2e1,
            6.871_870_074_920_579_083e2,
            5.394_196_021_424_751_107_7e3,
            2.121_379_430_158_659_586_7e4,
            3.930_789_580_009_271_061e4,
            2.872_908_573_572_194_267_4e4,
            5.226_495_278_852_854_561e3,
        ];
        let r = 0.180_625 - q * q;
        return Some(q * horner(&A, r) / horner(&B, r));
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let z = if r <= 5.0 {
        const C: [f64; 8] = [
            1.423_437_110_749_683_577_34,
            4.630_337_846_156_545_295_9,
            5.769_497_221_460_691_405_5,
            3.647_848_324_763_204_605_04,
            1.270_458_252_452_368_382_58,
            2.417_807_251_774_506_117_7e-1,
            2.272_384_498_926_918_458_33e-2,
            7.745_450_142_783_414_076_4e-4,
        ];
        const D: [f64; 8] = [
            1.0,
            2.053_191_626_637_758_821_87,
            1.676_384_830_183_803_849_4,
            6.897_673_349_851_000_045_5e-1,
            1.481_039_764_274_800_745_9e-1,
            1.519_866_656_361_645_719_66e-2,
            5.475_938_084_995_344_946e-4,
            1.050_750_071_644_416_843_24e-9,
        ];
        let r = r - 1.6;
        horner(&C, r) / horner(&D, r)
    } else {
        const E: [f64; 8] = [
            6.657_904_643_501_103_777_2,
            5.463_784_911_164_114_369_9,
            1.784_826_539_917_291_335_8,
            2.965_605_718_285_048_912_3e-1,
            2.653_218_952_657_612_309_3e-2,
            1.242_660_947_388_078_438_6e-3,
            2.711_555_568_743_487_578_15e-5,
            2.010_334_399_292_288_132_65e-7,
        ];
        const F: [f64; 8] = [
            1.0,
            5.998_322_065_558_879_376_9e-1,
            1.369_298_809_227_358_053_1e-1,
            1.487_536_129_085_061_485_25e-2,
            7.868_691_311_456_132_591e-4,
            1.846_318_317_510_054_681_8e-5,
            1.421_511_758_316_445_888_7e-7,
            2.044_263_103_389_939_785_64e-15,
        ];
        let r = r - 5.0;
        horner(&E, r) / horner(&F, r)
    };
    Some(if q < 0.0 { -z } else { z })
}

/// `c[0] + c[1] x + ... + c[7] x^7`.
fn horner(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

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
