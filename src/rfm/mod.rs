//! RFM scoring: recency, frequency and monetary value as bitmaps of customers, named
//! segments, the R x F grid and per-segment summaries.
//!
//! RFM (Kohavi & Parekh, "Visualizing RFM segmentation", SIAM SDM 2004) grades every
//! customer who has bought something on three measures, each read from a store attribute:
//!
//! | measure | attribute (default name) | value scored | score `n` (the best) goes to |
//! |---|---|---|---|
//! | recency, `R` | last purchase day (`last_purchase`, a day attribute) | days since the last purchase, `today - last_purchase` | the most recent buyers |
//! | frequency, `F` | number of purchases (`purchase_count`, a number) | the count | the most frequent buyers |
//! | monetary, `M` | total spend (`monetary`, a decimal or whole-number attribute) | the total | the biggest spenders |
//!
//! # Who is scored
//!
//! The customers in scope are the live customers, narrowed by the configuration's scope
//! query ([`RfmConfig::scope`], e.g. one branch's customers) and by an optional bitmap
//! ([`RfmConfig::score_within`]). Of those, a customer **without a last purchase day never
//! purchased**: it is not scored and is reported in [`RfmScores::never_purchased`]. A
//! customer with a last purchase day but no frequency or monetary value is not scored
//! either, and is reported in [`RfmScores::incomplete`]. Everyone else is scored on all
//! three measures. Values are taken as they are: a last purchase after `today` gives a
//! negative recency (the most recent of all), a count of 0 is a count like any other.
//!
//! # Bins
//!
//! Each measure is cut into 3 to 10 bins ([`MIN_BINS`], [`MAX_BINS`]; 5 by default), by
//! one of two methods ([`Binning`]):
//!
//! - **Quantiles, with NTILE semantics.** Sort the scored customers by the measured value
//!   ascending (recency: days since the last purchase), ties broken by ascending customer
//!   id. Split the sorted list into `n` consecutive groups whose sizes differ by at most
//!   one, the larger groups first (SQL's `NTILE(n)`): with `N` customers, the first
//!   `N % n` groups hold `N / n + 1` customers and the others `N / n`. Group `g` (1 = the
//!   smallest values) gets score `g` for frequency and monetary, and score `n + 1 - g` for
//!   recency, so that the most recent, most frequent and biggest spenders score `n`. As in
//!   SQL, `NTILE(5) OVER (ORDER BY days_since_last_purchase, id)` is `6 - R` and
//!   `NTILE(5) OVER (ORDER BY purchase_count, id)` is `F`. Fewer customers than bins leave
//!   the top groups empty.
//! - **Fixed edges**, business-defined: `n - 1` strictly increasing values, each the lowest
//!   value of the next bin in ascending order of the measured value. Frequency edges
//!   `[2, 3, 5, 10]` give F1 = one purchase, F2 = two, F3 = 3-4, F4 = 5-9, F5 = 10 or more;
//!   recency edges `[31, 91, 181, 366]` (days since the last purchase) give R5 = within 30
//!   days, R4 = 31-90 days ago, R3 = 91-180, R2 = 181-365, R1 = longer ago.
//!
//! # Scores as bitmaps
//!
//! [`RfmScores`] holds one bitmap per (measure, score) and one per named segment. Pass the
//! scores in a query's context ([`Context::with_terms`](crate::Context::with_terms)) and
//! they become query terms: `rfm.r`, `rfm.f`
//! and `rfm.m` compare with scores (`rfm.r >= 4`, `rfm.m BETWEEN 3 AND 5`, `rfm.f != 1`,
//! `rfm.r IS NULL` for customers not scored), `rfm.segment` with segment names
//! (`rfm.segment = "At risk"`). A score outside `1..=bins` or an unknown segment name is an
//! error pointing at the term. The scores are a snapshot taken on `today`: changing
//! attributes later does not move anyone until the next scoring, but erasing a customer
//! removes it from every score and segment bitmap (the run's summaries, grid and tables,
//! keep describing the run as scored).
//!
//! # Named segments
//!
//! A [`SegmentMap`] names boxes of (R, F, M) score cells. It must be a partition: every
//! cell in exactly one segment, or scoring fails with an error naming the cells left out
//! ([`ErrorKind::SegmentGap`]) or claimed twice ([`ErrorKind::SegmentOverlap`]). Tables
//! written as analysts write them, ordered rules over overlapping score ranges where the
//! first match names the cell (the R `rfm` package's `rfm_segment` table, for one), go in
//! a [`FirstMatchMap`] with a name for the cells no rule matches
//! ([`RfmConfig::first_match`]); both forms are queryable as `rfm.segment`. Segments
//! are not written to tags by scoring: they are queryable as `rfm.segment` and iterable as
//! bitmaps; to make them tags (to show them next to a customer, to export them, to keep
//! their assignment day) write [`RfmScores::segment_assignment`] with
//! [`Assignment::write`](crate::Assignment::write) in a dimension of your choice.
//!
//! The default map, [`SegmentMap::standard`], uses the eleven segment names popularised by
//! Putler's RFM guide and the R `rfm` package. Those sources give overlapping ranges
//! matched in order (enter them as a [`FirstMatchMap`]); this map is a partition, so the ranges are the R x F grid that
//! circulates in many open RFM tutorials (a regular-expression map over the "RF" score
//! string, 5 bins, monetary not used), with its "hibernating" block split by recency into
//! Hibernating (R = 2) and Lost (R = 1). It is a convention, not a standard; pass your own
//! map where it does not fit your business:
//!
//! | segment | R | F | M |
//! |---|---|---|---|
//! | Champions | 5 | 4-5 | any |
//! | Loyal | 3-4 | 4-5 | any |
//! | Potential loyalist | 4-5 | 2-3 | any |
//! | New customers | 5 | 1 | any |
//! | Promising | 4 | 1 | any |
//! | Need attention | 3 | 3 | any |
//! | About to sleep | 3 | 1-2 | any |
//! | At risk | 1-2 | 3-4 | any |
//! | Can't lose them | 1-2 | 5 | any |
//! | Hibernating | 2 | 1-2 | any |
//! | Lost | 1 | 1-2 | any |
//!
//! # Example
//!
//! ```
//! use audience::{AttrKind, Context, CustomerKey, Day, Query, RfmConfig, Store, Value};
//!
//! let today = Day::from_ymd(2025, 1, 1)?;
//! let mut store = Store::new();
//! let last = store.define_attribute("last_purchase", AttrKind::Day)?;
//! let count = store.define_attribute("purchase_count", AttrKind::Int)?;
//! let spend = store.define_attribute("monetary", AttrKind::Int)?;
//! for i in 0..100i64 {
//!     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
//!     if i % 4 == 3 {
//!         continue; // never purchased
//!     }
//!     store.set_value(c, last, today - (i as i32 * 3))?;
//!     store.set_value(c, count, 1 + i % 7)?;
//!     store.set_value(c, spend, 1_000 * (i % 13))?;
//! }
//! let scores = RfmConfig::default().score(&store, &Context::new(today))?;
//! assert_eq!(scores.scored().len(), 75);
//! assert_eq!(scores.never_purchased().len(), 25);
//! // 75 customers in 5 groups of 15; the 15 most recent have R = 5.
//! assert_eq!(scores.score_of(0).map(|s| s.r), Some(5));
//!
//! // The scores are the query terms `rfm.r`, `rfm.f`, `rfm.m` and `rfm.segment` when they
//! // ride in the query's context.
//! let ctx = Context::new(today).with_terms(&scores);
//! let q = Query::parse("rfm.r >= 4 AND rfm.segment != \"Champions\"")?;
//! assert!(store.count(&q, &ctx)? > 0);
//! # Ok::<(), audience::Error>(())
//! ```

mod rank;
mod report;
mod segments;
mod terms;

use std::fmt;

use roaring::{MultiOps, RoaringBitmap};

use crate::base::fold::fold;
use crate::day::Day;
use crate::error::{Error, ErrorKind, err};
use crate::query::{Context, Query};
use crate::store::Store;
use crate::store::attribute::{AttrKind, Column};
use crate::store::directory::CustomerId;
use crate::tiers::Assignment;

use rank::{Scored, bitmaps_by_class, score_values};
use segments::{Owners, cell_index, cell_of};

pub use crate::error::RfmScore;
pub use report::{GridCell, RfmGrid, ScoreRow, ScoreTable, SegmentRow, SegmentTable};
pub use segments::{FirstMatchMap, SegmentMap, SegmentRule};

/// The fewest bins a measure may have.
pub const MIN_BINS: u8 = 3;
/// The most bins a measure may have.
pub const MAX_BINS: u8 = 10;
/// The number of bins of [`Binning::default`].
pub const DEFAULT_BINS: u8 = 5;
/// The most segments a [`SegmentMap`] may name.
pub const MAX_SEGMENTS: usize = 64;

/// One of the three RFM measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Measure {
    /// Days since the last purchase; the most recent buyers score highest.
    Recency,
    /// Number of purchases; the most frequent buyers score highest.
    Frequency,
    /// Total spend; the biggest spenders score highest.
    Monetary,
}

impl Measure {
    /// The three measures in R, F, M order.
    pub const ALL: [Measure; 3] = [Measure::Recency, Measure::Frequency, Measure::Monetary];

    /// `'R'`, `'F'` or `'M'`.
    pub fn letter(self) -> char {
        match self {
            Measure::Recency => 'R',
            Measure::Frequency => 'F',
            Measure::Monetary => 'M',
        }
    }

    /// `"recency"`, `"frequency"` or `"monetary"`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Recency => "recency",
            Measure::Frequency => "frequency",
            Measure::Monetary => "monetary",
        }
    }

    /// The query term: `"rfm.r"`, `"rfm.f"` or `"rfm.m"`.
    pub fn term(self) -> &'static str {
        match self {
            Measure::Recency => "rfm.r",
            Measure::Frequency => "rfm.f",
            Measure::Monetary => "rfm.m",
        }
    }

    fn index(self) -> usize {
        match self {
            Measure::Recency => 0,
            Measure::Frequency => 1,
            Measure::Monetary => 2,
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How one measure is cut into bins (see the [module docs](self) for the exact rules).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Binning {
    /// `n` groups of (nearly) equal size with NTILE semantics, 3 to 10.
    Quantiles(u8),
    /// Fixed edges: the lowest value of bins 2..=n in ascending order of the measured
    /// value (for recency: days since the last purchase), strictly increasing; 2 to 9
    /// edges.
    Edges(Vec<i64>),
}

impl Default for Binning {
    /// Quintiles: `Quantiles(5)`.
    fn default() -> Binning {
        Binning::Quantiles(DEFAULT_BINS)
    }
}

impl Binning {
    /// The number of bins (the highest score).
    pub fn bins(&self) -> usize {
        match self {
            Binning::Quantiles(n) => usize::from(*n),
            Binning::Edges(e) => e.len() + 1,
        }
    }

    /// The number of bins, or why this binning of `measure` cannot be used.
    fn check(&self, measure: Measure) -> Result<u8, String> {
        let bins = self.bins();
        if !(usize::from(MIN_BINS)..=usize::from(MAX_BINS)).contains(&bins) {
            return Err(match self {
                Binning::Quantiles(n) => {
                    format!("{measure}: quantiles need {MIN_BINS} to {MAX_BINS} bins, got {n}")
                }
                Binning::Edges(e) => format!(
                    "{measure}: fixed edges need {} to {} edges ({MIN_BINS} to {MAX_BINS} bins), got {}",
                    MIN_BINS - 1,
                    MAX_BINS - 1,
                    e.len()
                ),
            });
        }
        if let Binning::Edges(e) = self
            && let Some(w) = e.windows(2).find(|w| w[0] >= w[1])
        {
            return Err(format!(
                "{measure}: edges must increase strictly, got {} then {}",
                w[0], w[1]
            ));
        }
        Ok(bins as u8)
    }
}

/// Which attribute a measure reads and how it is binned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MeasureSpec {
    /// The store attribute: a day attribute for recency, numbers for frequency and
    /// monetary.
    pub attribute: String,
    /// How its values are cut into scores.
    pub binning: Binning,
}

impl MeasureSpec {
    /// Quintiles of `attribute`.
    pub fn new(attribute: impl Into<String>) -> MeasureSpec {
        MeasureSpec {
            attribute: attribute.into(),
            binning: Binning::default(),
        }
    }
}

/// An RFM definition: the three measures, who is scored and the segment names. Plain data
/// (serde), so an app can store it next to the store.
///
/// Every binning is checked when it is set: bins outside 3 to 10, or edges that do not
/// increase, are refused by the setter (and by deserialisation) with
/// [`ErrorKind::InvalidSetting`]. Whether the segment map fits the bins depends on both
/// settings, so they can be set in any order: [`RfmConfig::validate`] checks the pair, and
/// so does scoring.
///
/// ```
/// use audience::{Binning, Measure, Query, RfmConfig};
///
/// let config = RfmConfig::new("last_purchase_day", "purchase_count", "monetary_cents")
///     .edges(Measure::Frequency, [2, 3, 5, 10])?
///     .scope(Query::parse("branch/bangkok")?);
/// assert_eq!(config.spec(Measure::Recency).binning, Binning::Quantiles(5));
/// assert_eq!(config.spec(Measure::Frequency).binning.bins(), 5);
/// assert_eq!(
///     RfmConfig::default().bins(12).unwrap_err().to_string(),
///     "invalid setting RfmConfig::bins: recency: quantiles need 3 to 10 bins, got 12"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawRfmConfig"))]
pub struct RfmConfig {
    recency: MeasureSpec,
    frequency: MeasureSpec,
    monetary: MeasureSpec,
    scope: Option<Query>,
    segments: Option<SegmentMap>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    first_match: Option<FirstMatchMap>,
}

/// The serialised form of [`RfmConfig`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RawRfmConfig {
    recency: MeasureSpec,
    frequency: MeasureSpec,
    monetary: MeasureSpec,
    scope: Option<Query>,
    segments: Option<SegmentMap>,
    #[serde(default)]
    first_match: Option<FirstMatchMap>,
}

#[cfg(feature = "serde")]
impl TryFrom<RawRfmConfig> for RfmConfig {
    type Error = Error;
    fn try_from(raw: RawRfmConfig) -> Result<RfmConfig, Error> {
        let mut config = RfmConfig::new(
            raw.recency.attribute,
            raw.frequency.attribute,
            raw.monetary.attribute,
        )
        .segments(raw.segments)
        .binning(Measure::Recency, raw.recency.binning)?
        .binning(Measure::Frequency, raw.frequency.binning)?
        .binning(Measure::Monetary, raw.monetary.binning)?;
        config.scope = raw.scope;
        if raw.first_match.is_some() {
            if config.segments.is_some() {
                return err(ErrorKind::InvalidSetting {
                    setting: "RfmConfig::first_match",
                    reason: "a configuration names its segments with a segment map or a \
                             first-match table, not both"
                        .into(),
                });
            }
            config.first_match = raw.first_match;
        }
        config.validate()?;
        Ok(config)
    }
}

impl Default for RfmConfig {
    /// Quintiles of `last_purchase`, `purchase_count` and `monetary`, everyone in scope,
    /// the [standard](SegmentMap::standard) segment map.
    fn default() -> RfmConfig {
        RfmConfig::new("last_purchase", "purchase_count", "monetary")
    }
}

impl RfmConfig {
    /// Quintiles of the three attributes, everyone in scope, the standard segment map.
    pub fn new(
        last_purchase: impl Into<String>,
        purchase_count: impl Into<String>,
        monetary: impl Into<String>,
    ) -> RfmConfig {
        RfmConfig {
            recency: MeasureSpec::new(last_purchase),
            frequency: MeasureSpec::new(purchase_count),
            monetary: MeasureSpec::new(monetary),
            scope: None,
            segments: Some(SegmentMap::standard()),
            first_match: None,
        }
    }

    /// The day attribute recency reads (default `last_purchase`): the day of each
    /// customer's last purchase. Scoring names this setting when the store lacks the
    /// attribute or it holds numbers.
    ///
    /// ```
    /// use audience::{AttrKind, Context, Day, RfmConfig, Store};
    ///
    /// let mut store = Store::new();
    /// store.define_attribute("last_order", AttrKind::Day)?;
    /// store.define_attribute("purchase_count", AttrKind::Int)?;
    /// store.define_attribute("monetary", AttrKind::Int)?;
    /// let ctx = Context::new(Day::from_ymd(2025, 3, 1)?);
    /// assert_eq!(
    ///     RfmConfig::default().score(&store, &ctx).unwrap_err().to_string(),
    ///     "unknown attribute \"last_purchase\" (RfmConfig::recency reads it; set \
    ///      RfmConfig::recency(..) to your column)"
    /// );
    /// let scores = RfmConfig::default().recency("last_order").score(&store, &ctx)?;
    /// assert!(scores.scored().is_empty());
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn recency(mut self, attribute: impl Into<String>) -> RfmConfig {
        self.recency.attribute = attribute.into();
        self
    }

    /// The number attribute frequency reads (default `purchase_count`).
    pub fn frequency(mut self, attribute: impl Into<String>) -> RfmConfig {
        self.frequency.attribute = attribute.into();
        self
    }

    /// The attribute monetary reads (default `monetary`): total spend, best as a decimal
    /// attribute ([`AttrKind::Decimal`]) so that the grid and tables print it with its
    /// places; a whole-number attribute (cents) works too. Edges
    /// ([`RfmConfig::edges`]) of a decimal attribute are in its units (cents at scale 2).
    pub fn monetary(mut self, attribute: impl Into<String>) -> RfmConfig {
        self.monetary.attribute = attribute.into();
        self
    }

    /// Cuts every measure into `n` quantiles. Refused unless `n` is 3 to 10.
    pub fn bins(mut self, n: u8) -> Result<RfmConfig, Error> {
        for m in Measure::ALL {
            self = self.set_binning("RfmConfig::bins", m, Binning::Quantiles(n))?;
        }
        Ok(self)
    }

    /// Sets one measure's binning. Refused for fewer than 3 or more than 10 bins, or
    /// edges that do not increase strictly.
    pub fn binning(self, measure: Measure, binning: Binning) -> Result<RfmConfig, Error> {
        self.set_binning("RfmConfig::binning", measure, binning)
    }

    /// Cuts one measure at fixed edges (see [`Binning::Edges`]). Refused for fewer than 2
    /// or more than 9 edges, or edges that do not increase strictly.
    pub fn edges(self, measure: Measure, edges: impl Into<Vec<i64>>) -> Result<RfmConfig, Error> {
        self.set_binning("RfmConfig::edges", measure, Binning::Edges(edges.into()))
    }

    fn set_binning(
        mut self,
        setting: &'static str,
        measure: Measure,
        binning: Binning,
    ) -> Result<RfmConfig, Error> {
        if let Err(reason) = binning.check(measure) {
            return err(ErrorKind::InvalidSetting { setting, reason });
        }
        self.spec_mut(measure).binning = binning;
        Ok(self)
    }

    /// Scores only the customers `query` selects.
    pub fn scope(mut self, query: Query) -> RfmConfig {
        self.scope = Some(query);
        self
    }

    /// Sets the segment map (`None`: no named segments). Whether it fits the bins is
    /// checked by [`RfmConfig::validate`] and by scoring.
    pub fn segments(mut self, map: Option<SegmentMap>) -> RfmConfig {
        self.segments = map;
        if self.segments.is_some() {
            self.first_match = None;
        }
        self
    }

    /// Names the segments with a first-match table (ordered, overlapping rules and a name
    /// for the cells no rule matches) instead of a segment map; `None` removes it. Setting
    /// a table clears the segment map, and setting a map clears the table. Whether it fits
    /// the bins is checked by [`RfmConfig::validate`] and by scoring.
    pub fn first_match(mut self, table: Option<FirstMatchMap>) -> RfmConfig {
        self.first_match = table;
        if self.first_match.is_some() {
            self.segments = None;
        }
        self
    }

    /// One measure's attribute and binning.
    pub fn spec(&self, measure: Measure) -> &MeasureSpec {
        match measure {
            Measure::Recency => &self.recency,
            Measure::Frequency => &self.frequency,
            Measure::Monetary => &self.monetary,
        }
    }

    /// The scope query, if any.
    pub fn scope_query(&self) -> Option<&Query> {
        self.scope.as_ref()
    }

    /// The segment map, if any.
    pub fn segment_map(&self) -> Option<&SegmentMap> {
        self.segments.as_ref()
    }

    /// The first-match segment table, if any.
    pub fn first_match_table(&self) -> Option<&FirstMatchMap> {
        self.first_match.as_ref()
    }

    /// The segments of every cell, from the segment map or the first-match table.
    fn owners(&self, bins: [u8; 3]) -> Result<Owners, Error> {
        match (&self.segments, &self.first_match) {
            (_, Some(table)) => table.cell_owners(bins),
            (Some(map), None) => map.cell_owners(bins),
            (None, None) => Ok(Owners::default()),
        }
    }

    fn spec_mut(&mut self, measure: Measure) -> &mut MeasureSpec {
        match measure {
            Measure::Recency => &mut self.recency,
            Measure::Frequency => &mut self.frequency,
            Measure::Monetary => &mut self.monetary,
        }
    }

    /// Checks that the segment map fits the bins (each setter already checked its own
    /// value). Returns the number of bins of R, F and M.
    pub fn validate(&self) -> Result<[u8; 3], Error> {
        let bins = self.bins_now();
        self.owners(bins)?;
        Ok(bins)
    }

    /// The bins of R, F and M (checked by the setters, so always in range).
    fn bins_now(&self) -> [u8; 3] {
        Measure::ALL.map(|m| self.spec(m).binning.bins() as u8)
    }

    /// Scores the customers in scope on `ctx.today()` (sets named by `@name` in the scope
    /// query come from `ctx`). See the [module docs](self) for who is scored and how.
    pub fn score<'s>(&self, store: &'s Store, ctx: &Context<'s>) -> Result<RfmScores, Error> {
        self.run(store, ctx, None)
    }

    /// Like [`RfmConfig::score`], scoring only customers of `within` (e.g. one store's
    /// customers, or a query result).
    pub fn score_within<'s>(
        &self,
        store: &'s Store,
        ctx: &Context<'s>,
        within: &RoaringBitmap,
    ) -> Result<RfmScores, Error> {
        self.run(store, ctx, Some(within))
    }

    /// The column a measure reads and its decimal places (0 for whole numbers and days).
    fn column<'s>(
        &self,
        store: &'s Store,
        measure: Measure,
        want: AttrKind,
    ) -> Result<(&'s Column, u8), Error> {
        let name = &self.spec(measure).attribute;
        let id = match measure {
            Measure::Recency => store.setting_attribute("RfmConfig::recency", name, want)?,
            Measure::Frequency => store.setting_attribute("RfmConfig::frequency", name, want)?,
            // Money is a whole number of units or a decimal attribute.
            Measure::Monetary => store.setting_attribute_where(
                "RfmConfig::monetary",
                name,
                "a number or decimal attribute",
                |k| matches!(k, AttrKind::Int | AttrKind::Decimal { .. }),
            )?,
        };
        Ok((store.column(id)?, store.attribute(id)?.kind.scale()))
    }

    fn run<'s>(
        &self,
        store: &'s Store,
        ctx: &Context<'s>,
        within: Option<&RoaringBitmap>,
    ) -> Result<RfmScores, Error> {
        let bins = self.bins_now();
        let owners = self.owners(bins)?;
        // In the measures' order, so that the first setting in error is the one named.
        let recency = self.column(store, Measure::Recency, AttrKind::Day)?.0;
        let frequency = self.column(store, Measure::Frequency, AttrKind::Int)?.0;
        let (money, monetary_scale) = self.column(store, Measure::Monetary, AttrKind::Int)?;
        let cols = [recency, frequency, money];
        let mut scope = match &self.scope {
            Some(q) => store.plan(q, ctx)?.bitmap(),
            None => store.customers().clone(),
        };
        if let Some(w) = within {
            scope &= w;
        }
        let has_r = &scope & cols[0].present();
        let never_purchased = &scope - &has_r;
        let mut scored = has_r.clone();
        scored &= cols[1].present();
        scored &= cols[2].present();
        let incomplete = has_r - &scored;

        // Gather the scored customers' values, in id order.
        let n = scored.len() as usize;
        let mut ids = Vec::with_capacity(n);
        let mut vals: [Vec<i64>; 3] = std::array::from_fn(|_| Vec::with_capacity(n));
        let today = i64::from(ctx.today().0);
        // One pass per column, each monomorphic in the column's width.
        cols[0].for_each(&scored, |id, v| {
            ids.push(id);
            vals[0].push(today.saturating_sub(v));
        });
        for (col, out) in cols.iter().zip(vals.iter_mut()).skip(1) {
            col.for_each(&scored, |_, v| out.push(v));
        }

        let scored_by = Measure::ALL.map(|m| {
            score_values(
                &vals[m.index()],
                &self.spec(m).binning,
                m == Measure::Recency,
            )
        });

        Ok(RfmScores::build(
            self.clone(),
            ctx.today(),
            monetary_scale,
            bins,
            owners,
            Sets {
                scope,
                scored,
                never_purchased,
                incomplete,
            },
            &ids,
            &vals[2],
            scored_by,
        ))
    }
}

// ----------------------------------------------------------------------------------------
// Scores
// ----------------------------------------------------------------------------------------

struct Sets {
    scope: RoaringBitmap,
    scored: RoaringBitmap,
    never_purchased: RoaringBitmap,
    incomplete: RoaringBitmap,
}

/// Count and monetary total of one (R, F, M) cell, as scored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct CellStat {
    count: u64,
    monetary: i128,
}

/// Lowest and highest measured value of one score, as scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ValueRange {
    min: i64,
    max: i64,
}

/// The result of one scoring run: who was scored, one bitmap per (measure, score) and per
/// named segment, each customer's scores, and the run's statistics for the grid and the
/// tables. Pass it in a query's [`Context`] (`with_terms`) to query it; keep it
/// with the app's state, and [`forget`](RfmScores::forget) erased customers in it.
#[derive(Clone, Debug)]
pub struct RfmScores {
    config: RfmConfig,
    today: Day,
    monetary_scale: u8,
    bins: [u8; 3],
    scope: RoaringBitmap,
    scored: RoaringBitmap,
    never_purchased: RoaringBitmap,
    incomplete: RoaringBitmap,
    by_score: [Vec<RoaringBitmap>; 3],
    ranges: [Vec<Option<ValueRange>>; 3],
    segment_names: Vec<String>,
    segments: Vec<RoaringBitmap>,
    /// Cell index -> segment index; empty without a segment map.
    owners: Vec<u8>,
    cells: Vec<CellStat>,
    /// Per customer id: 0 when not scored, else the cell index + 1.
    packed: Vec<u16>,
}

impl RfmScores {
    #[allow(clippy::too_many_arguments)]
    fn build(
        config: RfmConfig,
        today: Day,
        monetary_scale: u8,
        bins: [u8; 3],
        owners: Owners,
        sets: Sets,
        ids: &[u32],
        monetary: &[i64],
        scored: [Scored; 3],
    ) -> RfmScores {
        let [br, bf, bm] = bins.map(usize::from);
        let by_score = [
            bitmaps_by_class(ids, &scored[0].scores, br),
            bitmaps_by_class(ids, &scored[1].scores, bf),
            bitmaps_by_class(ids, &scored[2].scores, bm),
        ];
        // A segment is a box of scores: the union of its scores per measure, intersected.
        let segments: Vec<RoaringBitmap> = owners
            .boxes
            .iter()
            .map(|b| {
                let mut acc: Option<RoaringBitmap> = None;
                for (m, &(lo, hi)) in b.iter().enumerate() {
                    let all = &by_score[m];
                    if lo == 1 && usize::from(hi) == all.len() {
                        continue;
                    }
                    let picked = all
                        .get(usize::from(lo.max(1)) - 1..usize::from(hi))
                        .unwrap_or(&[]);
                    acc = Some(match acc {
                        None => picked.iter().union(),
                        Some(a) => {
                            let mut u = picked.iter().union();
                            u &= a;
                            u
                        }
                    });
                }
                acc.unwrap_or_else(|| sets.scored.clone())
            })
            .collect();
        let mut cells = vec![CellStat::default(); br * bf * bm];
        let mut packed = vec![0u16; ids.last().map_or(0, |&l| l as usize + 1)];
        let [r, f, m] = &scored;
        for ((((&id, &r), &f), &m), &v) in ids
            .iter()
            .zip(&r.scores)
            .zip(&f.scores)
            .zip(&m.scores)
            .zip(monetary)
        {
            let at = cell_index([r, f, m], bins);
            if let Some(c) = cells.get_mut(at) {
                c.count += 1;
                c.monetary += i128::from(v);
            }
            if let Some(p) = packed.get_mut(id as usize) {
                *p = at as u16 + 1;
            }
        }
        // A first-match table's segments are not boxes: gather them cell by cell.
        let segments = if owners.boxes.is_empty() && !owners.names.is_empty() {
            let mut by_segment = vec![Vec::new(); owners.names.len()];
            for (id, &p) in packed.iter().enumerate() {
                if let Some(&s) = p
                    .checked_sub(1)
                    .and_then(|at| owners.owners.get(usize::from(at)))
                    && let Some(list) = by_segment.get_mut(usize::from(s))
                {
                    list.push(id as u32);
                }
            }
            by_segment
                .into_iter()
                .map(|ids| RoaringBitmap::from_sorted_iter(ids).unwrap_or_default())
                .collect()
        } else {
            segments
        };
        let segment_names = owners.names;
        let [sr, sf, sm] = scored;
        RfmScores {
            config,
            today,
            monetary_scale,
            bins,
            scope: sets.scope,
            scored: sets.scored,
            never_purchased: sets.never_purchased,
            incomplete: sets.incomplete,
            by_score,
            ranges: [sr.ranges, sf.ranges, sm.ranges],
            segment_names,
            segments,
            owners: owners.owners,
            cells,
            packed,
        }
    }

    /// The definition that was scored.
    pub fn config(&self) -> &RfmConfig {
        &self.config
    }

    /// The day recency was counted from.
    pub fn today(&self) -> Day {
        self.today
    }

    /// The decimal places of the monetary attribute that was scored (its
    /// [`AttrKind::Decimal`] scale; 0 for a whole-number attribute). Monetary totals in the
    /// grid and tables are in its units: 1,539,618 at scale 2 is 15,396.18.
    pub fn monetary_scale(&self) -> u8 {
        self.monetary_scale
    }

    /// The number of bins (the highest score) of a measure.
    pub fn bins(&self, measure: Measure) -> u8 {
        self.bins[measure.index()]
    }

    /// Every customer in scope: scored, never purchased or incomplete.
    pub fn scope(&self) -> &RoaringBitmap {
        &self.scope
    }

    /// The scored customers.
    pub fn scored(&self) -> &RoaringBitmap {
        &self.scored
    }

    /// Customers in scope without a last purchase day: not scored.
    pub fn never_purchased(&self) -> &RoaringBitmap {
        &self.never_purchased
    }

    /// Customers in scope with a last purchase day but no frequency or monetary value: not
    /// scored.
    pub fn incomplete(&self) -> &RoaringBitmap {
        &self.incomplete
    }

    /// The customers with `score` on `measure`; `None` when the score is outside
    /// `1..=bins`.
    pub fn customers(&self, measure: Measure, score: u8) -> Option<&RoaringBitmap> {
        self.by_score[measure.index()].get(usize::from(score).checked_sub(1)?)
    }

    /// A customer's scores; `None` when it was not scored.
    pub fn score_of(&self, customer: CustomerId) -> Option<RfmScore> {
        let p = *self.packed.get(customer as usize)?;
        let at = usize::from(p).checked_sub(1)?;
        Some(cell_of(at, self.bins))
    }

    /// A customer's segment; `None` when it was not scored or there is no segment map.
    pub fn segment_of(&self, customer: CustomerId) -> Option<&str> {
        let p = *self.packed.get(customer as usize)?;
        let at = usize::from(p).checked_sub(1)?;
        let o = *self.owners.get(at)?;
        self.segment_names.get(usize::from(o)).map(String::as_str)
    }

    /// The customers of a named segment (names compared as tag names are: case, width and
    /// spacing do not matter).
    pub fn segment(&self, name: &str) -> Option<&RoaringBitmap> {
        let key = fold(name);
        let i = self.segment_names.iter().position(|n| fold(n) == key)?;
        self.segments.get(i)
    }

    /// The named segments and their customers, in the map's order.
    pub fn segments(&self) -> impl Iterator<Item = (&str, &RoaringBitmap)> {
        self.segment_names
            .iter()
            .map(String::as_str)
            .zip(self.segments.iter())
    }

    /// The segments as an [`Assignment`]: to write them to tags
    /// ([`Assignment::write`](crate::Assignment::write), with [`RfmScores::scope`] as the scope) or to compare two
    /// runs ([`crate::Migration::between`]).
    pub fn segment_assignment(&self) -> Assignment {
        Assignment::from_disjoint(
            self.segments()
                .map(|(n, b)| (n.to_string(), b.clone()))
                .collect(),
        )
    }

    /// The scores of one measure as an [`Assignment`] with groups `"R1"`, `"R2"`...
    pub fn score_assignment(&self, measure: Measure) -> Assignment {
        Assignment::from_disjoint(
            self.by_score[measure.index()]
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("{}{}", measure.letter(), i + 1), b.clone()))
                .collect(),
        )
    }

    fn total_monetary(&self) -> i128 {
        self.cells.iter().map(|c| c.monetary).sum()
    }

    fn scored_count(&self) -> u64 {
        self.cells.iter().map(|c| c.count).sum()
    }

    /// The R x F grid of the run: count, share of the scored customers and mean monetary
    /// value per cell.
    pub fn grid(&self) -> RfmGrid {
        let [br, bf, bm] = self.bins;
        let scored = self.scored_count();
        let mut cells = Vec::with_capacity(usize::from(br) * usize::from(bf));
        for r in (1..=br).rev() {
            for f in 1..=bf {
                let mut count = 0;
                let mut monetary = 0i128;
                for m in 1..=bm {
                    if let Some(c) = self.cells.get(cell_index([r, f, m], self.bins)) {
                        count += c.count;
                        monetary += c.monetary;
                    }
                }
                cells.push(GridCell {
                    r,
                    f,
                    count,
                    share: ratio(count as f64, scored as f64),
                    monetary,
                    mean_monetary: mean(monetary, count),
                });
            }
        }
        RfmGrid {
            r_bins: br,
            f_bins: bf,
            scored,
            monetary: self.total_monetary(),
            monetary_scale: self.monetary_scale,
            cells,
        }
    }

    /// Per segment of the run: customers, share of the scored customers, monetary total,
    /// share of it, mean. Rows in the map's order; the `Display` sorts by revenue share
    /// and adds running totals (the 20/60 check).
    pub fn segment_table(&self) -> SegmentTable {
        let scored = self.scored_count();
        let total = self.total_monetary();
        let mut rows: Vec<SegmentRow> = self
            .segment_names
            .iter()
            .map(|n| SegmentRow {
                segment: n.clone(),
                count: 0,
                customer_share: 0.0,
                monetary: 0,
                revenue_share: 0.0,
                mean_monetary: None,
            })
            .collect();
        for (at, c) in self.cells.iter().enumerate() {
            if let Some(row) = self
                .owners
                .get(at)
                .and_then(|&o| rows.get_mut(usize::from(o)))
            {
                row.count += c.count;
                row.monetary += c.monetary;
            }
        }
        for row in &mut rows {
            row.customer_share = ratio(row.count as f64, scored as f64);
            row.revenue_share = ratio(row.monetary as f64, total as f64);
            row.mean_monetary = mean(row.monetary, row.count);
        }
        SegmentTable {
            scored,
            never_purchased: self.never_purchased.len(),
            incomplete: self.incomplete.len(),
            monetary: total,
            monetary_scale: self.monetary_scale,
            rows,
        }
    }

    /// Per score of one measure: customers, the range of measured values (for recency:
    /// days since the last purchase), monetary total and its share. With quintiles, the
    /// monetary table's top row is "the top 20% of customers bring X% of revenue".
    pub fn score_table(&self, measure: Measure) -> ScoreTable {
        let n = self.bins[measure.index()];
        let scored = self.scored_count();
        let total = self.total_monetary();
        let mut rows: Vec<ScoreRow> = (1..=n)
            .rev()
            .map(|score| {
                let range = self.ranges[measure.index()]
                    .get(usize::from(score - 1))
                    .copied()
                    .flatten();
                ScoreRow {
                    score,
                    count: 0,
                    customer_share: 0.0,
                    min: range.map(|r| r.min),
                    max: range.map(|r| r.max),
                    monetary: 0,
                    revenue_share: 0.0,
                }
            })
            .collect();
        for (at, c) in self.cells.iter().enumerate() {
            let s = cell_of(at, self.bins).get(measure);
            if let Some(row) = rows.get_mut(usize::from(n - s)) {
                row.count += c.count;
                row.monetary += c.monetary;
            }
        }
        for row in &mut rows {
            row.customer_share = ratio(row.count as f64, scored as f64);
            row.revenue_share = ratio(row.monetary as f64, total as f64);
        }
        ScoreTable {
            measure,
            scored,
            monetary: total,
            monetary_scale: self.monetary_scale,
            rows,
        }
    }

    /// Removes an erased customer from every bitmap and lookup.
    pub fn forget(&mut self, customer: CustomerId) {
        for b in [
            &mut self.scope,
            &mut self.scored,
            &mut self.never_purchased,
            &mut self.incomplete,
        ] {
            b.remove(customer);
        }
        for b in self.by_score.iter_mut().flatten() {
            b.remove(customer);
        }
        for b in &mut self.segments {
            b.remove(customer);
        }
        if let Some(p) = self.packed.get_mut(customer as usize) {
            *p = 0;
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

fn mean(sum: i128, count: u64) -> Option<f64> {
    (count > 0).then(|| sum as f64 / count as f64)
}
