//! Exact decimal numbers with a fixed number of decimal places: money as people write it.
//!
//! [`Decimal`] is a whole number of *units* and a *scale*, the number of decimal places:
//! `15396.18` is 1,539,618 units at scale 2. Parsing, comparing, rescaling and printing are
//! exact integer arithmetic; no value passes through a floating-point number.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::error::{Error, ErrorKind};

/// An exact decimal number: `units / 10^scale`.
///
/// `Decimal::new(1_539_618, 2)` is `15396.18`. Decimals compare, hash and test equal by
/// their value, so `35.5` (355 units at scale 1) equals `35.50` (3,550 units at scale 2);
/// [`Display`](fmt::Display) prints the units with exactly `scale` decimals (`35.50`), and
/// [`Decimal::grouped`] adds thousands separators as reports print money (`15,396.18`).
///
/// Text parses with [`FromStr`] (the scale is the number of decimals written) or, for an
/// attribute that holds a fixed number of places, with [`Decimal::parse_at`], which refuses
/// more decimals than the attribute keeps instead of rounding them away. The text is an
/// optional sign, digits, and optionally a point and more digits: `35`, `-0.5`, `35.50`.
/// Thousands separators and decimal commas are refused with the reason, because `1,234`
/// reads as one thousand two hundred thirty-four in some countries and as one point two
/// three four in others.
///
/// ```
/// use audience::Decimal;
///
/// let spend = Decimal::parse_at("15396.18", 2)?;
/// assert_eq!((spend.units(), spend.scale()), (1_539_618, 2));
/// assert_eq!(spend.to_string(), "15396.18");
/// assert_eq!(spend.grouped(), "15,396.18");
///
/// // "35.5" at two places is 3,550 units; a third decimal is refused, not rounded.
/// assert_eq!(Decimal::parse_at("35.5", 2)?.units(), 3_550);
/// assert_eq!(
///     Decimal::parse_at("35.505", 2).unwrap_err().to_string(),
///     "invalid decimal \"35.505\": more than 2 decimals"
/// );
/// assert_eq!(
///     "1,234.50".parse::<Decimal>().unwrap_err().to_string(),
///     "invalid decimal \"1,234.50\": write it without thousands separators and with a point \
///      for decimals (1234.50)"
/// );
/// assert_eq!("35.5".parse::<Decimal>()?, Decimal::new(3_550, 2)?);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct Decimal {
    units: i64,
    scale: u8,
}

/// `10^0` to `10^18`: every power of ten an `i64` holds.
const POW10: [i64; 19] = {
    let mut p = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

fn pow10(scale: u8) -> i128 {
    i128::from(POW10.get(usize::from(scale)).copied().unwrap_or(i64::MAX))
}

impl Decimal {
    /// The most decimal places a `Decimal` has: 18, the most an `i64` of units can hold
    /// below 1.
    pub const MAX_SCALE: u8 = 18;

    /// The decimal `units / 10^scale`. Errors with [`ErrorKind::InvalidArgument`] when
    /// `scale` is above [`Decimal::MAX_SCALE`].
    pub fn new(units: i64, scale: u8) -> Result<Decimal, Error> {
        if scale > Decimal::MAX_SCALE {
            return Err(ErrorKind::InvalidArgument(format!(
                "a decimal has at most {} decimal places, got {scale}",
                Decimal::MAX_SCALE
            ))
            .into());
        }
        Ok(Decimal { units, scale })
    }

    /// A decimal from parts the caller has checked (`scale` at most
    /// [`Decimal::MAX_SCALE`]): an attribute's stored units and its scale.
    pub(crate) fn from_parts(units: i64, scale: u8) -> Decimal {
        Decimal {
            units,
            scale: scale.min(Decimal::MAX_SCALE),
        }
    }

    /// The whole number of units: `1_539_618` for `15396.18`.
    pub fn units(self) -> i64 {
        self.units
    }

    /// The number of decimal places.
    pub fn scale(self) -> u8 {
        self.scale
    }

    /// The same value with `scale` decimal places, or `None` when that would drop a
    /// non-zero digit (`35.55` to one place) or the units would not fit an `i64`.
    ///
    /// ```
    /// use audience::Decimal;
    ///
    /// let d = Decimal::new(355, 1)?; // 35.5
    /// assert_eq!(d.rescale(3).map(|d| d.to_string()), Some("35.500".to_string()));
    /// assert_eq!(Decimal::new(3_550, 2)?.rescale(1), Some(d));
    /// assert_eq!(Decimal::new(3_555, 2)?.rescale(1), None);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn rescale(self, scale: u8) -> Option<Decimal> {
        if scale > Decimal::MAX_SCALE {
            return None;
        }
        let units = i128::from(self.units);
        let units = if scale >= self.scale {
            units.checked_mul(pow10(scale - self.scale))?
        } else {
            let div = pow10(self.scale - scale);
            if units % div != 0 {
                return None;
            }
            units / div
        };
        Some(Decimal {
            units: i64::try_from(units).ok()?,
            scale,
        })
    }

    /// Parses `text` as a decimal of exactly `scale` places: fewer decimals are filled
    /// with zeros (`"35.5"` at 2 is 3,550 units), more are refused unless they are zeros
    /// (`"35.505"` at 2 is refused, `"35.500"` is 35.50), as are values whose units do not fit an `i64`. See the [type docs](Decimal) for the
    /// text accepted.
    pub fn parse_at(text: &str, scale: u8) -> Result<Decimal, Error> {
        let d: Decimal = text.parse()?;
        match d.rescale(scale) {
            Some(d) => Ok(d),
            None if d.scale > scale => Err(invalid(text, &format!("more than {scale} decimals"))),
            None => Err(invalid(
                text,
                &format!(
                    "too large for {scale} decimal places (at most {})",
                    max_text(scale)
                ),
            )),
        }
    }

    /// The value with thousands separators, as reports print money: `15,396.18`,
    /// `-1,000.00`.
    pub fn grouped(self) -> String {
        units_text(i128::from(self.units), self.scale, true)
    }
}

/// The largest value at `scale` places, as text: `92233720368547758.07` at 2.
fn max_text(scale: u8) -> String {
    units_text(i128::from(i64::MAX), scale, false)
}

fn invalid(text: &str, reason: &str) -> Error {
    ErrorKind::InvalidDecimal {
        input: text.chars().take(64).collect(),
        reason: reason.into(),
    }
    .into()
}

/// `units / 10^scale` as text with exactly `scale` decimals, with thousands separators in
/// the whole part when `grouped`. Takes `i128` so that sums of many `i64` values print too.
pub(crate) fn units_text(units: i128, scale: u8, grouped: bool) -> String {
    let digits = units.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let digits = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (whole, frac) = digits.split_at(digits.len() - scale);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    if units < 0 {
        out.push('-');
    }
    if grouped {
        crate::base::text::push_grouped(&mut out, whole);
    } else {
        out.push_str(whole);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// The mean of `count` values summing to `sum` units, rounded to a whole unit, half away
/// from zero (`2.5` units is 3, `-2.5` is -3): exact, with no floating point. `None` when
/// `count` is 0.
pub(crate) fn mean_units(sum: i128, count: u64) -> Option<i128> {
    if count == 0 {
        return None;
    }
    let n = i128::from(count);
    let (q, r) = (sum / n, sum % n);
    // |r| >= n - |r| is |r| * 2 >= n: the remainder is at least half of the divisor.
    Some(if r.unsigned_abs() * 2 >= n.unsigned_abs() {
        q + sum.signum()
    } else {
        q
    })
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&units_text(i128::from(self.units), self.scale, false))
    }
}

impl FromStr for Decimal {
    type Err = Error;

    /// Parses an optional sign, digits and optionally a point and up to
    /// [`Decimal::MAX_SCALE`] digits; the scale is the number of decimals written
    /// (`"35.50"` is 3,550 units at scale 2).
    fn from_str(s: &str) -> Result<Decimal, Error> {
        let body = s.strip_prefix(['-', '+']).unwrap_or(s);
        let negative = s.starts_with('-');
        if body.contains(',') {
            let fixed: String = body.chars().filter(|&c| c != ',').collect();
            let hint = if body.contains('.') || body.matches(',').count() > 1 {
                fixed
            } else {
                body.replace(',', ".")
            };
            return Err(invalid(
                s,
                &format!(
                    "write it without thousands separators and with a point for decimals \
                     ({hint})"
                ),
            ));
        }
        let (whole, frac) = match body.split_once('.') {
            Some((w, f)) => (w, f),
            None => (body, ""),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (body.contains('.') && !digits(frac)) {
            return Err(invalid(
                s,
                "expected digits with an optional point: 35, 35.50, -0.5",
            ));
        }
        if frac.len() > usize::from(Decimal::MAX_SCALE) {
            return Err(invalid(
                s,
                &format!("more than {} decimals", Decimal::MAX_SCALE),
            ));
        }
        let mut units: i128 = 0;
        for b in whole.bytes().chain(frac.bytes()) {
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(i128::from(b - b'0')))
                .filter(|u| *u <= i128::from(i64::MAX) + 1)
                .ok_or_else(|| invalid(s, "too many digits for a decimal"))?;
        }
        let units = if negative { -units } else { units };
        let units =
            i64::try_from(units).map_err(|_| invalid(s, "too many digits for a decimal"))?;
        Ok(Decimal {
            units,
            scale: frac.len() as u8,
        })
    }
}

impl Decimal {
    /// The value as units at a common scale, for comparisons: `i64` units times at most
    /// `10^18` fit an `i128`.
    fn at(self, scale: u8) -> i128 {
        i128::from(self.units) * pow10(scale.saturating_sub(self.scale))
    }

    /// The value with trailing zero decimals dropped, for hashing.
    fn normal(self) -> (i64, u8) {
        let (mut units, mut scale) = (self.units, self.scale);
        while scale > 0 && units % 10 == 0 {
            units /= 10;
            scale -= 1;
        }
        (units, scale)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Decimal) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl Hash for Decimal {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.normal().hash(state);
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        let scale = self.scale.max(other.scale);
        self.at(scale).cmp(&other.at(scale))
    }
}

/// Decimals serialise as their text (`"15396.18"`), which keeps the places exactly.
#[cfg(feature = "serde")]
impl TryFrom<String> for Decimal {
    type Error = Error;
    fn try_from(text: String) -> Result<Decimal, Error> {
        text.parse()
    }
}

#[cfg(feature = "serde")]
impl From<Decimal> for String {
    fn from(d: Decimal) -> String {
        d.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_print() {
        assert_eq!((d("35.50").units(), d("35.50").scale()), (3_550, 2));
        assert_eq!(d("-0.05").to_string(), "-0.05");
        assert_eq!(d("+7").to_string(), "7");
        assert_eq!(d("0.000").to_string(), "0.000");
        assert_eq!(
            d("-9223372036854775808").units(),
            i64::MIN,
            "the smallest i64 parses"
        );
        assert_eq!(
            "9223372036854775808"
                .parse::<Decimal>()
                .unwrap_err()
                .to_string(),
            "invalid decimal \"9223372036854775808\": too many digits for a decimal"
        );
        for bad in ["", ".5", "5.", "1e3", "--1", "1.2.3", " 1"] {
            assert_eq!(
                bad.parse::<Decimal>().unwrap_err().to_string(),
                format!(
                    "invalid decimal {bad:?}: expected digits with an optional point: 35, \
                     35.50, -0.5"
                ),
                "{bad}"
            );
        }
        assert_eq!(
            "35,50".parse::<Decimal>().unwrap_err().to_string(),
            "invalid decimal \"35,50\": write it without thousands separators and with a \
             point for decimals (35.50)"
        );
        assert_eq!(
            "1,234,567".parse::<Decimal>().unwrap_err().to_string(),
            "invalid decimal \"1,234,567\": write it without thousands separators and with \
             a point for decimals (1234567)"
        );
    }

    #[test]
    fn grouped_and_i128() {
        assert_eq!(Decimal::new(1_539_618, 2).unwrap().grouped(), "15,396.18");
        assert_eq!(Decimal::new(-100_000, 2).unwrap().grouped(), "-1,000.00");
        assert_eq!(Decimal::new(5, 3).unwrap().grouped(), "0.005");
        assert_eq!(
            units_text(i128::from(i64::MAX) * 4, 2, true),
            "368,934,881,474,191,032.28"
        );
        assert_eq!(units_text(-12, 0, true), "-12");
        assert_eq!(
            Decimal::parse_at("92233720368547758.08", 2)
                .unwrap_err()
                .to_string(),
            "invalid decimal \"92233720368547758.08\": too many digits for a decimal"
        );
        assert_eq!(
            Decimal::parse_at("92233720368547758.1", 3)
                .unwrap_err()
                .to_string(),
            "invalid decimal \"92233720368547758.1\": too large for 3 decimal places (at \
             most 9223372036854775.807)"
        );
    }

    #[test]
    fn value_semantics() {
        assert_eq!(d("35.5"), d("35.50"));
        assert!(d("35.49") < d("35.5"));
        assert!(d("-1") < d("-0.999"));
        let h = |x: Decimal| {
            let mut s = std::collections::hash_map::DefaultHasher::new();
            x.hash(&mut s);
            s.finish()
        };
        assert_eq!(h(d("35.5")), h(d("35.500")));
        assert_eq!(d("1.5").rescale(0), None);
        assert_eq!(d("1").rescale(18).map(|x| x.units()), Some(POW10[18]));
        assert_eq!(d("10").rescale(18), None);
    }

    #[test]
    fn means_round_half_away_from_zero() {
        assert_eq!(mean_units(5, 2), Some(3));
        assert_eq!(mean_units(-5, 2), Some(-3));
        assert_eq!(mean_units(4, 3), Some(1));
        assert_eq!(mean_units(5, 3), Some(2));
        assert_eq!(mean_units(-4, 3), Some(-1));
        assert_eq!(mean_units(7, 0), None);
    }
}
