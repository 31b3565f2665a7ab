//! Insights: what sets a segment apart, and the tags worth adding next.
//!
//! Marketing guides tell shops to grow their taxonomy from sales data: as the customer base
//! grows from 5,000 to 20,000, add two or three tag dimensions a quarter, found by looking at
//! who buys (women aged 25-34 rebuy three times more often than others, so a new tag marks
//! them). This module finds such combinations instead of leaving them to guesswork. Every
//! candidate is a set of customers, so every number below is an intersection count.
//!
//! - **Candidates** ([`Candidates`]): every tag, RFM score and segment, group of an
//!   assignment (tiers), and band of a numeric attribute ([`Bands`]: quantiles or given
//!   edges), each with its dimension and the query text that selects it.
//! - **Profile** ([`Profile`]): a target segment against a base (by default every live
//!   customer): per candidate the count in the target, its share in the target and in the
//!   base, the lift (the ratio of the shares) and a significance test.
//! - **Outcome rates** ([`OutcomeRates`]): a binary outcome given as a query (rebuyers:
//!   `purchase_count >= 2`; repliers; churned), its rate inside every candidate and every
//!   pair of candidates from different dimensions (the "women AND 25-34" case) against the
//!   rest of the base. Pairs come from one sweep over all candidates at once (see
//!   [`OutcomeRates`] for its cost), capped at [`InsightConfig::max_pair_candidates`].
//! - **Value shares** ([`ValueShares`]): a numeric outcome (spend): the mean and the share
//!   of the total inside each candidate, the "20% of customers bring 60% of revenue" view
//!   for any grouping.
//! - **Comparison** ([`Comparison`]): segment A against segment B, which candidates differ
//!   most, in both directions.
//!
//! # Significance
//!
//! Each candidate is tested against the rest of the base: a two-proportion z-test, or
//! Fisher's exact test when an expected count is below 5 ([`stats`]). Testing 20,000
//! candidates at p < 0.05 would flag about 1,000 by chance alone, so the p-values are
//! corrected with the Benjamini-Hochberg procedure: a finding is `significant` when its
//! q-value is at most the false discovery rate ([`InsightConfig::false_discovery_rate`],
//! 5% by default), which keeps the expected share of chance findings among the flagged ones
//! under 5%. With an outcome independent of every candidate, almost nothing is flagged:
//! over 200 random shops of about 190 tests each, 0.04% of the tests were flagged (and
//! 5% of the shops had any flag), where an uncorrected p < 0.05 flagged 5% of the tests.
//! Candidates with too few customers ([`InsightConfig::min_support`]) are not tested.
//!
//! # From insight to tag
//!
//! Every finding carries its query text: parse it to preview the audience
//! (`campaign::preview`), materialise it as a static tag for the existing customers
//! (`rules::materialise`) and add a rule that keeps tagging new ones.
//!
//! ```
//! use audience::insights::{Candidates, InsightConfig, OutcomeRates};
//! use audience::{AttrKind, Context, CustomerKey, Day, Edit, Query, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 1, 1)?;
//! let mut store = Store::new();
//! let e = Edit::new("admin", today);
//! let women = store.create_tag(&e, TagSpec::new("women").dimension("gender"))?;
//! let young = store.create_tag(&e, TagSpec::new("25-34").dimension("age"))?;
//! let orders = store.define_attribute("purchase_count", AttrKind::Int)?;
//! for i in 0..4000u32 {
//!     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
//!     let (w, y) = (i % 2 == 0, (i / 2) % 5 == 0);
//!     if w { store.add_tag(c, women, today)?; }
//!     if y { store.add_tag(c, young, today)?; }
//!     // Women aged 25-34 rebuy three times as often as everyone else (30% against 10%).
//!     let rebuys = if w && y { (i / 10) % 10 < 3 } else { (i * 7919) % 100 < 10 };
//!     store.set_value(c, orders, if rebuys { 3 } else { 1 })?;
//! }
//! let rebuyers = Query::parse("purchase_count >= 2")?;
//! let ctx = Context::new(today);
//! let cands = Candidates::tags(&store);
//! let rates = OutcomeRates::build(&store, &rebuyers, &ctx, &cands, &InsightConfig::default())?;
//! let best = &rates.findings[0];
//! assert_eq!(best.query, "gender:women AND age:25-34");
//! assert!(best.significant && (best.lift - 3.0).abs() < 1e-9);
//! // The query selects exactly the customers counted.
//! assert_eq!(store.count(&Query::parse(&best.query)?, &ctx)?, best.customers);
//! # Ok::<(), audience::Error>(())
//! ```

mod candidates;
mod compare;
mod display;
mod outcome;
mod profile;
pub mod stats;

pub use candidates::{Bands, Candidate, Candidates, MAX_BANDS, Source};
pub use compare::{Comparison, Difference};
pub use outcome::{OutcomeRates, RateFinding, ValueShare, ValueShares};
pub use profile::{Profile, ProfileFinding};
pub use stats::Test;

use crate::error::{Error, ErrorKind, err};

/// The most candidates whose pairs [`OutcomeRates`] examines (their pair counts take
/// `n * (n - 1) / 2` entries: 16 MiB per count at this cap).
pub const MAX_PAIR_CANDIDATES: usize = 2048;

/// Settings of the insights: minimum support, false discovery rate, the cap on candidates
/// paired.
///
/// Every setting is checked when it is set (and when deserialised), with
/// [`ErrorKind::InvalidSetting`] naming the setter.
///
/// ```
/// use audience::insights::InsightConfig;
///
/// let config = InsightConfig::default()
///     .min_support(50)?
///     .false_discovery_rate(0.01)?
///     .max_pair_candidates(100)?;
/// assert_eq!(config.minimum_support(), 50);
/// assert_eq!(
///     InsightConfig::default().false_discovery_rate(0.0).unwrap_err().to_string(),
///     "invalid setting InsightConfig::false_discovery_rate: \
///      a rate strictly between 0 and 1, got 0"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawInsightConfig"))]
pub struct InsightConfig {
    min_support: u64,
    false_discovery_rate: f64,
    max_pair_candidates: usize,
}

/// The serialised form of [`InsightConfig`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(default)]
struct RawInsightConfig {
    min_support: u64,
    false_discovery_rate: f64,
    max_pair_candidates: usize,
}

#[cfg(feature = "serde")]
impl Default for RawInsightConfig {
    fn default() -> RawInsightConfig {
        let d = InsightConfig::default();
        RawInsightConfig {
            min_support: d.min_support,
            false_discovery_rate: d.false_discovery_rate,
            max_pair_candidates: d.max_pair_candidates,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<RawInsightConfig> for InsightConfig {
    type Error = Error;
    fn try_from(raw: RawInsightConfig) -> Result<InsightConfig, Error> {
        InsightConfig::default()
            .min_support(raw.min_support)?
            .false_discovery_rate(raw.false_discovery_rate)?
            .max_pair_candidates(raw.max_pair_candidates)
    }
}

impl Default for InsightConfig {
    /// Support 30 customers, false discovery rate 5%, 256 candidates paired.
    fn default() -> InsightConfig {
        InsightConfig {
            min_support: 30,
            false_discovery_rate: 0.05,
            max_pair_candidates: 256,
        }
    }
}

impl InsightConfig {
    /// A candidate (or pair) is tested only with at least this many customers: in the
    /// target (or expected there at the base's rate) for a profile, in the base for outcome
    /// rates and value shares, in either segment for a comparison. Default 30; refused
    /// below 1.
    pub fn min_support(mut self, customers: u64) -> Result<InsightConfig, Error> {
        if customers == 0 {
            return err(ErrorKind::InvalidSetting {
                setting: "InsightConfig::min_support",
                reason: "at least 1 customer, got 0".into(),
            });
        }
        self.min_support = customers;
        Ok(self)
    }

    /// The Benjamini-Hochberg false discovery rate: a finding is significant when its
    /// q-value is at most this. Default 0.05; refused outside `0 < rate < 1`.
    pub fn false_discovery_rate(mut self, rate: f64) -> Result<InsightConfig, Error> {
        if !(rate > 0.0 && rate < 1.0) {
            return err(ErrorKind::InvalidSetting {
                setting: "InsightConfig::false_discovery_rate",
                reason: format!("a rate strictly between 0 and 1, got {rate}"),
            });
        }
        self.false_discovery_rate = rate;
        Ok(self)
    }

    /// Pairs are formed among at most this many candidates, the largest in the base
    /// (0: no pairs). Default 256; refused above [`MAX_PAIR_CANDIDATES`].
    pub fn max_pair_candidates(mut self, candidates: usize) -> Result<InsightConfig, Error> {
        if candidates > MAX_PAIR_CANDIDATES {
            return err(ErrorKind::InvalidSetting {
                setting: "InsightConfig::max_pair_candidates",
                reason: format!("at most {MAX_PAIR_CANDIDATES}, got {candidates}"),
            });
        }
        self.max_pair_candidates = candidates;
        Ok(self)
    }

    /// The minimum support.
    pub fn minimum_support(&self) -> u64 {
        self.min_support
    }

    /// The false discovery rate.
    pub fn fdr(&self) -> f64 {
        self.false_discovery_rate
    }

    /// The cap on candidates paired.
    pub fn pair_candidates(&self) -> usize {
        self.max_pair_candidates
    }
}

/// Serde for ratios that may be infinite (a share or rate against 0): JSON has no
/// infinity, so an infinite ratio is written as `null` and read back as infinite.
#[cfg(feature = "serde")]
mod unbounded {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_some(x)
        } else {
            s.serialize_none()
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
    }
}

/// `x / n`, 0 when `n` is 0.
fn ratio(x: u64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { x as f64 / n as f64 }
}

/// `a / b` for shares and rates: infinite when only `b` is 0, 1 when both are.
fn lift(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else if a > 0.0 {
        f64::INFINITY
    } else {
        1.0
    }
}

/// Sets each finding's q-value and significance from its p-value (Benjamini-Hochberg over
/// all of them).
fn correct<T>(
    findings: &mut [T],
    fdr: f64,
    mut p: impl FnMut(&T) -> f64,
    mut set: impl FnMut(&mut T, f64, bool),
) {
    let ps: Vec<f64> = findings.iter().map(&mut p).collect();
    let qs = stats::benjamini_hochberg(&ps);
    for (f, q) in findings.iter_mut().zip(qs) {
        set(f, q, q <= fdr);
    }
}
