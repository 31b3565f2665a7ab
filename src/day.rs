//! Calendar days without time zones.
//!
//! [`Day`] counts days since 1970-01-01 in the proleptic Gregorian calendar. It is the only
//! notion of time in the crate: every time-aware call takes `today: Day` from the caller, and
//! nothing reads a clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::str::FromStr;

use crate::error::{Error, ErrorKind};

/// A calendar day: the number of days since 1970-01-01 (which is `Day(0)`).
///
/// Parses from and prints as `YYYY-MM-DD` (years 0000 to 9999). Adding or subtracting an
/// `i32` moves by whole days; subtracting two days gives the signed distance in days.
///
/// Every `Day` lies in [`Day::MIN`]..=[`Day::MAX`]: its field is private, and every
/// constructor ([`Day::from_ymd`], [`Day::from_days`], parsing, deserialisation, snapshot
/// loading) checks the range, so date conditions never meet a day they cannot print.
///
/// ```
/// use audience::Day;
///
/// let today: Day = "2025-01-01".parse()?;
/// assert_eq!(today.to_string(), "2025-01-01");
/// assert_eq!((today - 31).to_string(), "2024-12-01");
/// assert_eq!(today - Day::from_ymd(2024, 12, 2)?, 30);
/// assert_eq!(Day::EPOCH.to_string(), "1970-01-01");
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "i32", into = "i32"))]
pub struct Day(pub(crate) i32);

impl TryFrom<i32> for Day {
    type Error = Error;
    /// [`Day::from_days`].
    fn try_from(days: i32) -> Result<Day, Error> {
        Day::from_days(days)
    }
}

impl From<Day> for i32 {
    fn from(day: Day) -> i32 {
        day.0
    }
}

impl Day {
    /// 1970-01-01.
    pub const EPOCH: Day = Day(0);
    /// The earliest day that parses and prints: 0000-01-01.
    pub const MIN: Day = Day(-719_528);
    /// The latest day that parses and prints: 9999-12-31.
    pub const MAX: Day = Day(2_932_896);

    /// The day for a year, month (1-12) and day of month (1-31).
    ///
    /// Errors with [`ErrorKind::InvalidDay`] for a date that does not exist (2023-02-29) or a
    /// year outside 0..=9999.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Day, Error> {
        if !(0..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(ErrorKind::InvalidDay {
                input: format!("{year:04}-{month:02}-{day:02}"),
                reason: "no such date".into(),
            }
            .into());
        }
        Ok(Day(days_from_civil(year, month, day)))
    }

    /// The (year, month, day of month) of this day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// Days since 1970-01-01.
    pub fn as_i32(self) -> i32 {
        self.0
    }

    /// The day `days` after 1970-01-01 (before it when negative). Errors with
    /// [`ErrorKind::InvalidDay`] outside [`Day::MIN`]..=[`Day::MAX`] (years 0000 to 9999).
    ///
    /// ```
    /// use audience::Day;
    ///
    /// assert_eq!(Day::from_days(20_089)?.to_string(), "2025-01-01");
    /// assert_eq!(
    ///     Day::from_days(i32::MAX).unwrap_err().to_string(),
    ///     "invalid day \"2147483647\": days since 1970-01-01 run from -719528 (0000-01-01) to 2932896 (9999-12-31)"
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn from_days(days: i32) -> Result<Day, Error> {
        if (Day::MIN.0..=Day::MAX.0).contains(&days) {
            Ok(Day(days))
        } else {
            Err(ErrorKind::InvalidDay {
                input: days.to_string(),
                reason: format!(
                    "days since 1970-01-01 run from {} (0000-01-01) to {} (9999-12-31)",
                    Day::MIN.0,
                    Day::MAX.0
                ),
            }
            .into())
        }
    }

    /// The first day of a window of `period` that ends on `self`, or `None` when it would
    /// start before [`Day::MIN`]: the one relative-day computation behind every date
    /// condition (`WITHIN 30d` and `BEFORE 3mo` on a tag's assignment day and on a day
    /// attribute alike, and their translation for engines), so they cannot disagree.
    ///
    /// Days and weeks count back whole days. Months and years count back on the calendar:
    /// the same day of the month, clamped to the last day of a shorter month (see
    /// [`Period`]).
    ///
    /// ```
    /// use audience::{Day, Period};
    ///
    /// let day = |s: &str| s.parse::<Day>().unwrap();
    /// assert_eq!(day("2025-03-31").window_start(30), Some(day("2025-03-01")));
    /// assert_eq!(day("2025-03-31").window_start(Period::weeks(2)), Some(day("2025-03-17")));
    /// assert_eq!(day("2025-03-31").window_start(Period::months(1)), Some(day("2025-02-28")));
    /// assert_eq!(day("2024-03-31").window_start(Period::months(1)), Some(day("2024-02-29")));
    /// assert_eq!(day("2024-02-29").window_start(Period::years(1)), Some(day("2023-02-28")));
    /// assert_eq!(day("2025-01-15").window_start(Period::months(13)), Some(day("2023-12-15")));
    /// assert_eq!(Day::MIN.window_start(1), None);
    /// ```
    pub fn window_start(self, period: impl Into<Period>) -> Option<Day> {
        let period = period.into();
        let count = i64::from(period.count);
        let months = match period.unit {
            PeriodUnit::Days => return self.back_days(count),
            PeriodUnit::Weeks => return self.back_days(count * 7),
            PeriodUnit::Months => count,
            PeriodUnit::Years => count * 12,
        };
        let (y, m, d) = self.ymd();
        let index = i64::from(y) * 12 + i64::from(m) - 1 - months;
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = index.rem_euclid(12) as u32 + 1;
        if year < 0 {
            return None;
        }
        let day = d.min(days_in_month(year, month));
        Some(Day(days_from_civil(year, month, day)))
    }

    fn back_days(self, days: i64) -> Option<Day> {
        let start = i64::from(self.0) - days;
        i32::try_from(start)
            .ok()
            .filter(|d| *d >= Day::MIN.0)
            .map(Day)
    }

    /// This day moved by `days` (negative moves back), or `None` when it leaves
    /// [`Day::MIN`]..=[`Day::MAX`].
    pub const fn checked_add(self, days: i32) -> Option<Day> {
        match self.0.checked_add(days) {
            Some(d) if d >= Day::MIN.0 && d <= Day::MAX.0 => Some(Day(d)),
            _ => None,
        }
    }

    /// This day moved by `days`, clamped to [`Day::MIN`]..=[`Day::MAX`].
    pub fn saturating_add(self, days: i32) -> Day {
        Day(self.0.saturating_add(days).clamp(Day::MIN.0, Day::MAX.0))
    }

    /// Days from `earlier` to `self` (negative when `earlier` is later).
    pub fn days_since(self, earlier: Day) -> i64 {
        i64::from(self.0) - i64::from(earlier.0)
    }

    /// ISO weekday: 1 = Monday ... 7 = Sunday.
    ///
    /// ```
    /// use audience::Day;
    /// assert_eq!(Day::EPOCH.weekday(), 4); // 1970-01-01 was a Thursday
    /// ```
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (4).
        ((i64::from(self.0) + 3).rem_euclid(7) + 1) as u32
    }
}

/// How far back from today a date condition reaches, as queries write it: days (`30d`),
/// weeks (`2w`), calendar months (`3mo`) or calendar years (`1y`).
///
/// Days and weeks count whole days (`2w` is 14 days). Months and years are calendar
/// arithmetic against today, the way people read "3 months ago": the same day of the month,
/// that many months earlier, clamped to the last day of a shorter month. So on 2025-03-31,
/// `1mo` reaches back to 2025-02-28 (2024-02-29 in a leap year), and on 2024-02-29, `1y`
/// reaches back to 2023-02-28; this is also what ClickHouse's `today() - INTERVAL 1 MONTH`
/// gives. [`Day::window_start`] does the arithmetic for every date condition.
///
/// A whole number of days converts into a `Period` (`Period::from(30)` is `30d`). Parses from
/// and prints as the query text; serialises as a number of days (`30`) for days and as the
/// text (`"3mo"`) otherwise.
///
/// ```
/// use audience::Period;
///
/// assert_eq!("3mo".parse::<Period>()?, Period::months(3));
/// assert_eq!(Period::weeks(2).to_string(), "2w");
/// assert_eq!(Period::from(30), Period::days(30));
/// assert_eq!(
///     "3m".parse::<Period>().unwrap_err().to_string(),
///     "bad duration \"3m\": expected a whole number and a unit: 30d (days), 2w (weeks), \
///      3mo (months) or 1y (years)"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawPeriod", into = "RawPeriod"))]
pub struct Period {
    count: u32,
    unit: PeriodUnit,
}

/// The unit of a [`Period`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeriodUnit {
    /// Days: `d`.
    Days,
    /// Weeks of 7 days: `w`.
    Weeks,
    /// Calendar months: `mo`.
    Months,
    /// Calendar years: `y`.
    Years,
}

impl PeriodUnit {
    /// The suffix in query text: `d`, `w`, `mo`, `y`.
    pub fn suffix(self) -> &'static str {
        match self {
            PeriodUnit::Days => "d",
            PeriodUnit::Weeks => "w",
            PeriodUnit::Months => "mo",
            PeriodUnit::Years => "y",
        }
    }
}

/// The longest period that query text accepts, in days (about 2,700 years): months count as
/// 31 days and years as 366 for this limit.
pub const MAX_PERIOD_DAYS: u32 = 1_000_000;

impl Period {
    /// `n` days.
    pub const fn days(n: u32) -> Period {
        Period {
            count: n,
            unit: PeriodUnit::Days,
        }
    }

    /// `n` weeks (`7 * n` days).
    pub const fn weeks(n: u32) -> Period {
        Period {
            count: n,
            unit: PeriodUnit::Weeks,
        }
    }

    /// `n` calendar months.
    pub const fn months(n: u32) -> Period {
        Period {
            count: n,
            unit: PeriodUnit::Months,
        }
    }

    /// `n` calendar years.
    pub const fn years(n: u32) -> Period {
        Period {
            count: n,
            unit: PeriodUnit::Years,
        }
    }

    /// How many units.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The unit.
    pub fn unit(self) -> PeriodUnit {
        self.unit
    }

    /// The query text `30d`, `2w`, `3mo` or `1y` (case-insensitive), at most
    /// [`MAX_PERIOD_DAYS`] long; `None` for anything else.
    pub(crate) fn parse_text(text: &str) -> Option<Period> {
        let lower = text.to_ascii_lowercase();
        let (num, unit, per) = if let Some(n) = lower.strip_suffix("mo") {
            (n, PeriodUnit::Months, 31)
        } else if let Some(n) = lower.strip_suffix('d') {
            (n, PeriodUnit::Days, 1)
        } else if let Some(n) = lower.strip_suffix('w') {
            (n, PeriodUnit::Weeks, 7)
        } else if let Some(n) = lower.strip_suffix('y') {
            (n, PeriodUnit::Years, 366)
        } else {
            return None;
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let count = num
            .parse::<u32>()
            .ok()
            .filter(|n| n.checked_mul(per).is_some_and(|d| d <= MAX_PERIOD_DAYS))?;
        Some(Period { count, unit })
    }
}

impl From<u32> for Period {
    /// That many days.
    fn from(days: u32) -> Period {
        Period::days(days)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.suffix())
    }
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Period, Error> {
        Period::parse_text(s).ok_or_else(|| {
            ErrorKind::Query(crate::error::QueryError {
                problem: crate::error::QueryProblem::BadDuration(s.chars().take(64).collect()),
                span: None,
                query: None,
            })
            .into()
        })
    }
}

/// The serialised form of [`Period`]: a number of days, or the query text.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum RawPeriod {
    Days(u32),
    Text(String),
}

#[cfg(feature = "serde")]
impl From<Period> for RawPeriod {
    fn from(p: Period) -> RawPeriod {
        match p.unit {
            PeriodUnit::Days => RawPeriod::Days(p.count),
            _ => RawPeriod::Text(p.to_string()),
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<RawPeriod> for Period {
    type Error = Error;
    fn try_from(raw: RawPeriod) -> Result<Period, Error> {
        match raw {
            RawPeriod::Days(n) => Ok(Period::days(n)),
            RawPeriod::Text(t) => t.parse(),
        }
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// Howard Hinnant's algorithms (http://howardhinnant.github.io/date_algorithms.html), exact for
// the whole proleptic Gregorian calendar.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400) as u32; // [0, 399]
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe as i32 - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = i64::from(z) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u32; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe as i64 + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl FromStr for Day {
    type Err = Error;

    /// Parses exactly `YYYY-MM-DD` (ASCII digits, zero-padded).
    fn from_str(s: &str) -> Result<Day, Error> {
        let bad = |reason: &str| -> Error {
            ErrorKind::InvalidDay {
                input: s.chars().take(64).collect(),
                reason: reason.into(),
            }
            .into()
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad("expected YYYY-MM-DD"));
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
            return Err(bad("expected YYYY-MM-DD"));
        };
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y as i32, m) {
            return Err(bad("no such date"));
        }
        Ok(Day(days_from_civil(y as i32, m, d)))
    }
}

impl Add<i32> for Day {
    type Output = Day;
    /// Moves forward by `rhs` days, saturating at [`Day::MIN`]/[`Day::MAX`].
    fn add(self, rhs: i32) -> Day {
        self.saturating_add(rhs)
    }
}

impl AddAssign<i32> for Day {
    fn add_assign(&mut self, rhs: i32) {
        *self = *self + rhs;
    }
}

impl Sub<i32> for Day {
    type Output = Day;
    /// Moves back by `rhs` days, saturating at [`Day::MIN`]/[`Day::MAX`].
    fn sub(self, rhs: i32) -> Day {
        self.saturating_add(rhs.saturating_neg())
    }
}

impl SubAssign<i32> for Day {
    fn sub_assign(&mut self, rhs: i32) {
        *self = *self - rhs;
    }
}

impl Sub<Day> for Day {
    type Output = i32;
    /// The signed number of days from `rhs` to `self` (saturating).
    fn sub(self, rhs: Day) -> i32 {
        self.0.saturating_sub(rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_day_in_range() {
        let mut d = Day::MIN;
        while d <= Day::MAX {
            let s = d.to_string();
            assert_eq!(s.parse::<Day>().unwrap(), d, "{s}");
            d = Day(d.0 + 1);
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!("1970-01-01".parse::<Day>().unwrap(), Day(0));
        assert_eq!("2020-01-01".parse::<Day>().unwrap(), Day(18_262));
        assert_eq!("2025-01-01".parse::<Day>().unwrap(), Day(18_262 + 1827));
        assert_eq!("2000-02-29".parse::<Day>().unwrap().ymd(), (2000, 2, 29));
        assert_eq!("1969-12-31".parse::<Day>().unwrap(), Day(-1));
        assert_eq!(Day::MIN.to_string(), "0000-01-01");
        assert_eq!(Day::MAX.to_string(), "9999-12-31");
        assert_eq!(Day::from_ymd(2024, 1, 1).unwrap().weekday(), 1);
    }

    #[test]
    fn error_messages() {
        let e = "2023-02-29".parse::<Day>().unwrap_err();
        assert_eq!(e.to_string(), "invalid day \"2023-02-29\": no such date");
        let e = "2023-2-1".parse::<Day>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid day \"2023-2-1\": expected YYYY-MM-DD"
        );
        let e = "２０２３-01-01".parse::<Day>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid day \"２０２３-01-01\": expected YYYY-MM-DD"
        );
        let e = Day::from_ymd(2023, 13, 1).unwrap_err();
        assert_eq!(e.to_string(), "invalid day \"2023-13-01\": no such date");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Day::MAX + 1, Day::MAX);
        assert_eq!(Day::MIN - i32::MAX, Day::MIN);
        assert_eq!(Day::MIN - i32::MIN, Day::MAX);
        assert_eq!(Day::MAX.checked_add(1), None);
        assert_eq!(Day(10) - Day(3), 7);
    }
}
