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
//! | monetary, `M` | total spend (`monetary`, a number, e.g. cents) | the total | the biggest spenders |
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
//! [`RfmScores`] holds one bitmap per (measure, score) and one per named segment. Hand the
//! scores to the store ([`Store::set_rfm`]) and they become query terms: `rfm.r`, `rfm.f`
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
//! ([`ErrorKind::SegmentGap`]) or claimed twice ([`ErrorKind::SegmentOverlap`]). Segments
//! are not written to tags by scoring: they are queryable as `rfm.segment` and iterable as
//! bitmaps; to make them tags (to show them next to a customer, to export them, to keep
//! their assignment day) write [`RfmScores::segment_assignment`] with
//! [`Store::write_groups`] in a dimension of your choice.
//!
//! The default map, [`SegmentMap::standard`], uses the eleven segment names popularised by
//! Putler's RFM guide and the R `rfm` package. Those sources give overlapping ranges
//! matched in order; a partition is needed here, so the ranges are the R x F grid that
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
//! store.set_rfm(scores)?;
//! let q = Query::parse("rfm.r >= 4 AND rfm.segment != \"Champions\"")?;
//! assert!(store.count(&q, today)? > 0);
//! # Ok::<(), audience::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;

use roaring::{MultiOps, RoaringBitmap};

use crate::attribute::{AttrKind, Column};
use crate::day::Day;
use crate::directory::CustomerId;
use crate::error::{Error, ErrorKind, QueryProblem, err};
use crate::fold::{check_name, fold, suggest, tidy};
use crate::query::{CmpOp, Context, Expr, Literal, Query};
use crate::store::Store;
use crate::tiers::Assignment;

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

    fn validate(&self, measure: Measure) -> Result<u8, Error> {
        let what = || format!("RFM {measure} bins");
        let bins = self.bins();
        if !(usize::from(MIN_BINS)..=usize::from(MAX_BINS)).contains(&bins) {
            let reason = match self {
                Binning::Quantiles(n) => {
                    format!("quantiles need {MIN_BINS} to {MAX_BINS} bins, got {n}")
                }
                Binning::Edges(e) => format!(
                    "fixed edges need {} to {} edges ({MIN_BINS} to {MAX_BINS} bins), got {}",
                    MIN_BINS - 1,
                    MAX_BINS - 1,
                    e.len()
                ),
            };
            return err(ErrorKind::InvalidBuckets {
                what: what(),
                reason,
            });
        }
        if let Binning::Edges(e) = self
            && let Some(w) = e.windows(2).find(|w| w[0] >= w[1])
        {
            return err(ErrorKind::InvalidBuckets {
                what: what(),
                reason: format!("edges must increase strictly, got {} then {}", w[0], w[1]),
            });
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
/// ```
/// use audience::{Binning, Measure, Query, RfmConfig};
///
/// let config = RfmConfig::new("last_purchase_day", "purchase_count", "monetary_cents")
///     .edges(Measure::Frequency, [2, 3, 5, 10])
///     .scope(Query::parse("branch/bangkok")?);
/// assert_eq!(config.recency.binning, Binning::Quantiles(5));
/// assert_eq!(config.frequency.binning.bins(), 5);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RfmConfig {
    /// Recency: a day attribute holding each customer's last purchase day.
    pub recency: MeasureSpec,
    /// Frequency: a number attribute holding each customer's purchase count.
    pub frequency: MeasureSpec,
    /// Monetary: a number attribute holding each customer's total spend.
    pub monetary: MeasureSpec,
    /// Only customers this query selects are scored (all live customers when `None`).
    pub scope: Option<Query>,
    /// Names for boxes of score cells; `None` for no named segments.
    pub segments: Option<SegmentMap>,
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
        }
    }

    /// Cuts every measure into `n` quantiles.
    pub fn bins(mut self, n: u8) -> RfmConfig {
        for m in Measure::ALL {
            self.spec_mut(m).binning = Binning::Quantiles(n);
        }
        self
    }

    /// Sets one measure's binning.
    pub fn binning(mut self, measure: Measure, binning: Binning) -> RfmConfig {
        self.spec_mut(measure).binning = binning;
        self
    }

    /// Cuts one measure at fixed edges (see [`Binning::Edges`]).
    pub fn edges(self, measure: Measure, edges: impl Into<Vec<i64>>) -> RfmConfig {
        self.binning(measure, Binning::Edges(edges.into()))
    }

    /// Scores only the customers `query` selects.
    pub fn scope(mut self, query: Query) -> RfmConfig {
        self.scope = Some(query);
        self
    }

    /// Sets the segment map (`None`: no named segments).
    pub fn segments(mut self, map: Option<SegmentMap>) -> RfmConfig {
        self.segments = map;
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

    fn spec_mut(&mut self, measure: Measure) -> &mut MeasureSpec {
        match measure {
            Measure::Recency => &mut self.recency,
            Measure::Frequency => &mut self.frequency,
            Measure::Monetary => &mut self.monetary,
        }
    }

    /// Checks the bins and the segment map without scoring anyone. Returns the number of
    /// bins of R, F and M.
    pub fn validate(&self) -> Result<[u8; 3], Error> {
        let bins = self.bins_checked()?;
        if let Some(map) = &self.segments {
            map.cell_owners(bins)?;
        }
        Ok(bins)
    }

    fn bins_checked(&self) -> Result<[u8; 3], Error> {
        Ok([
            self.recency.binning.validate(Measure::Recency)?,
            self.frequency.binning.validate(Measure::Frequency)?,
            self.monetary.binning.validate(Measure::Monetary)?,
        ])
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

    fn column<'s>(
        &self,
        store: &'s Store,
        measure: Measure,
        want: AttrKind,
    ) -> Result<&'s Column, Error> {
        let id = store.attribute_id(&self.spec(measure).attribute)?;
        let info = store.attribute(id)?;
        if info.kind != want {
            return err(ErrorKind::AttributeType {
                attribute: info.name.clone(),
                expected: info.kind.noun(),
                found: want.noun(),
            });
        }
        store.column(id)
    }

    fn run<'s>(
        &self,
        store: &'s Store,
        ctx: &Context<'s>,
        within: Option<&RoaringBitmap>,
    ) -> Result<RfmScores, Error> {
        let bins = self.bins_checked()?;
        let owners = match &self.segments {
            Some(map) => map.cell_owners(bins)?,
            None => Owners::default(),
        };
        let cols = [
            self.column(store, Measure::Recency, AttrKind::Day)?,
            self.column(store, Measure::Frequency, AttrKind::Int)?,
            self.column(store, Measure::Monetary, AttrKind::Int)?,
        ];
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
        let dense = cols.map(Column::values);
        let mut buf = [0u32; 1024];
        let mut it = scored.iter();
        loop {
            let got = it.next_many(&mut buf);
            if got.is_empty() {
                break;
            }
            for &id in got.iter() {
                let at = id as usize;
                let get = |c: &[i64]| c.get(at).copied().unwrap_or(0);
                ids.push(id);
                vals[0].push(today.saturating_sub(get(dense[0])));
                vals[1].push(get(dense[1]));
                vals[2].push(get(dense[2]));
            }
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
// Binning
// ----------------------------------------------------------------------------------------

/// The group (0-based) of rank `r` (0-based) when `len` rows are split NTILE-style into
/// `n` groups: the first `len % n` groups hold one more row.
fn group_of_rank(r: usize, len: usize, n: usize) -> usize {
    let q = len / n;
    let rem = len % n;
    let big = rem * (q + 1);
    if r < big {
        r / (q + 1)
    } else {
        // r < len = n * q + rem, so q > 0 here.
        rem + (r - big) / q.max(1)
    }
}

/// One measure's scores (1..=n, in the order of the values) and the lowest and highest
/// value of each score.
struct Scored {
    scores: Vec<u8>,
    ranges: Vec<Option<ValueRange>>,
}

/// Value spans up to this many times the number of values (or 2^16) are ranked through a
/// per-value table; wider ones through selection.
const TABLE_SPAN_PER_VALUE: i128 = 2;

/// Scores `vals` (see the module docs for the rules).
fn score_values(vals: &[i64], binning: &Binning, reverse: bool) -> Scored {
    let n = binning.bins();
    let len = vals.len();
    let to_score = |g: usize| if reverse { n - g } else { g + 1 };
    let mut scores = Vec::with_capacity(len);
    // Lowest and highest value per group (0-based, ascending values).
    let mut by_group: Vec<Option<ValueRange>> = vec![None; n];
    let (min, max) = vals
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if len > 0 {
        match binning {
            Binning::Edges(edges) => {
                let mut lows = vec![i64::MAX; n];
                let mut highs = vec![i64::MIN; n];
                for &v in vals {
                    let g = edges.partition_point(|&e| e <= v);
                    scores.push(to_score(g) as u8);
                    if let (Some(lo), Some(hi)) = (lows.get_mut(g), highs.get_mut(g)) {
                        *lo = (*lo).min(v);
                        *hi = (*hi).max(v);
                    }
                }
                for ((r, &min), &max) in by_group.iter_mut().zip(&lows).zip(&highs) {
                    *r = (min <= max).then_some(ValueRange { min, max });
                }
            }
            Binning::Quantiles(_) => {
                let span = i128::from(max) - i128::from(min);
                if span < (len as i128 * TABLE_SPAN_PER_VALUE).max(1 << 16) {
                    let mut table = RankTable::new(vals, min, span as usize + 1, n);
                    for &v in vals {
                        scores.push(to_score(table.group(v - min)) as u8);
                    }
                    by_group = table.ranges;
                } else {
                    let mut cuts = Cuts::select(vals, n, min, max);
                    for &v in vals {
                        scores.push(to_score(cuts.group(v)) as u8);
                    }
                    by_group = cuts.ranges;
                }
            }
        }
    }
    let mut ranges = vec![None; n];
    for (g, r) in by_group.into_iter().enumerate() {
        if let Some(slot) = ranges.get_mut(to_score(g) - 1) {
            *slot = r;
        }
    }
    Scored { scores, ranges }
}

/// The first rank of group `g` when `len` rows are split NTILE-style into `n` groups.
fn group_start(g: usize, len: usize, n: usize) -> usize {
    g * (len / n) + g.min(len % n)
}

/// Ranks handed out, in id order, to the customers sharing a value that a group boundary
/// splits: the next rank, its group and where the next group starts.
#[derive(Clone, Copy, Debug)]
struct TieRanks {
    rank: usize,
    group: usize,
    next_start: usize,
}

impl TieRanks {
    fn new(rank: usize, len: usize, n: usize) -> TieRanks {
        let group = group_of_rank(rank, len, n);
        TieRanks {
            rank,
            group,
            next_start: group_start(group + 1, len, n),
        }
    }

    /// The group of the next customer met, without a division.
    fn next(&mut self, len: usize, n: usize) -> usize {
        let g = self.group;
        self.rank += 1;
        if self.rank >= self.next_start && self.group + 1 < n {
            self.group += 1;
            self.next_start = group_start(self.group + 1, len, n);
        }
        g
    }
}

/// NTILE groups of values spanning a small range: one byte per possible value, the group
/// itself when all customers with that value share a group, or a marker pointing at the
/// value's next rank when a group boundary splits them (by customer id, in the order they
/// are met).
struct RankTable {
    table: Vec<u8>,
    ties: Vec<TieRanks>,
    /// Lowest and highest value of each group.
    ranges: Vec<Option<ValueRange>>,
    len: usize,
    n: usize,
}

const SPLIT: u8 = 0x80;

impl RankTable {
    fn new(vals: &[i64], min: i64, span: usize, n: usize) -> RankTable {
        let mut counts = vec![0u32; span];
        for &v in vals {
            if let Some(c) = counts.get_mut((v - min) as usize) {
                *c += 1;
            }
        }
        let len = vals.len();
        let mut table = vec![0u8; span];
        let mut ties = Vec::new();
        let mut ranges: Vec<Option<ValueRange>> = vec![None; n];
        let mut start = 0usize;
        for (offset, (t, &c)) in table.iter_mut().zip(&counts).enumerate() {
            if c == 0 {
                continue;
            }
            let c = c as usize;
            let (first, last) = (
                group_of_rank(start, len, n),
                group_of_rank(start + c - 1, len, n),
            );
            *t = if first == last {
                first as u8
            } else {
                ties.push(TieRanks::new(start, len, n));
                SPLIT | (ties.len() - 1) as u8
            };
            // Values come in ascending order: the first met is a group's minimum, the
            // last its maximum.
            let v = min + offset as i64;
            for r in ranges.iter_mut().take(last + 1).skip(first) {
                match r {
                    Some(r) => r.max = v,
                    None => *r = Some(ValueRange { min: v, max: v }),
                }
            }
            start += c;
        }
        RankTable {
            table,
            ties,
            ranges,
            len,
            n,
        }
    }

    /// The group of the next customer (in id order) with value `min + offset`.
    fn group(&mut self, offset: i64) -> usize {
        let t = self.table.get(offset as usize).copied().unwrap_or(0);
        if t & SPLIT == 0 {
            return usize::from(t);
        }
        match self.ties.get_mut(usize::from(t & !SPLIT)) {
            Some(tie) => tie.next(self.len, self.n),
            None => 0,
        }
    }
}

/// NTILE groups of values spanning a wide range: the value at each group's first rank
/// (found by selection), how many values lie below it, and per such cut value a counter of
/// the customers met so far, to split ties by id.
struct Cuts {
    /// Distinct cut values, ascending.
    values: Vec<i64>,
    /// For each cut value, the ranks of the customers met with that value.
    ties: Vec<TieRanks>,
    /// For each cut value, how many groups start below it; one more entry for values above
    /// all cuts.
    groups_below: Vec<usize>,
    /// Lowest and highest value of each group.
    ranges: Vec<Option<ValueRange>>,
    len: usize,
    n: usize,
}

impl Cuts {
    /// `min` and `max` are the smallest and largest of `vals`.
    fn select(vals: &[i64], n: usize, min: i64, max: i64) -> Cuts {
        let len = vals.len();
        let starts: Vec<usize> = (1..n)
            .map(|g| group_start(g, len, n))
            .filter(|&s| s < len)
            .collect();
        let mut scratch = vals.to_vec();
        // The value at each group's first rank, and at the rank just before it.
        let mut cuts: Vec<i64> = Vec::with_capacity(starts.len());
        let mut before: Vec<i64> = Vec::with_capacity(starts.len());
        let mut values: Vec<i64> = Vec::new();
        let mut ties: Vec<TieRanks> = Vec::new();
        let mut lo = 0usize;
        for &r in &starts {
            // Starts increase strictly, so `lo <= r < lo + part.len()`.
            let Some(part) = scratch.get_mut(lo..) else {
                break;
            };
            let (left, nth, _) = part.select_nth_unstable(r - lo);
            let v = *nth;
            // `left` holds the values ranked lo..r; everything before `lo` is at most the
            // previous cut, which is below `v` when `v` is a new cut value.
            let (mut equal, mut left_max) = (0usize, None);
            for &x in left.iter() {
                equal += usize::from(x == v);
                left_max = Some(left_max.map_or(x, |m: i64| m.max(x)));
            }
            // The value ranked r - 1: the largest of `left`, or the previous cut when
            // `left` is empty (then r - 1 is the previous cut's rank).
            before.push(left_max.or(cuts.last().copied()).unwrap_or(v));
            if values.last() != Some(&v) {
                values.push(v);
                ties.push(TieRanks::new(r - equal, len, n));
            }
            cuts.push(v);
            lo = r + 1;
        }
        let mut groups_below: Vec<usize> = values
            .iter()
            .map(|&u| cuts.iter().filter(|&&c| c < u).count())
            .collect();
        groups_below.push(cuts.len());
        // Group g runs from its first value (the minimum for group 0) to the value just
        // before the next group's first (the maximum for the last group).
        let mut ranges = vec![None; n];
        for (g, r) in ranges.iter_mut().enumerate().take(cuts.len() + 1) {
            let low = if g == 0 {
                Some(min)
            } else {
                cuts.get(g - 1).copied()
            };
            let high = before.get(g).copied().unwrap_or(max);
            if let Some(low) = low {
                *r = Some(ValueRange {
                    min: low,
                    max: high,
                });
            }
        }
        Cuts {
            values,
            ties,
            groups_below,
            ranges,
            len,
            n,
        }
    }

    /// The group of the next customer (in id order) with value `v`.
    fn group(&mut self, v: i64) -> usize {
        let j = self.values.iter().filter(|&&u| u < v).count();
        if self.values.get(j) == Some(&v)
            && let Some(tie) = self.ties.get_mut(j)
        {
            return tie.next(self.len, self.n);
        }
        self.groups_below.get(j).copied().unwrap_or(0)
    }
}

/// Bitmaps of `ids` (ascending) by class: `class[i]` in `1..=k` puts `ids[i]` in bitmap
/// `class[i] - 1`. Dense ids are set in byte arrays turned into bitmaps container by
/// container (`from_lsb0_bytes`); sparse ones are collected in sorted lists.
fn bitmaps_by_class(ids: &[u32], class: &[u8], k: usize) -> Vec<RoaringBitmap> {
    let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
        return vec![RoaringBitmap::new(); k];
    };
    let base = first & !7;
    let span = (last - base) as usize + 1;
    if ids.len().saturating_mul(16) >= span {
        let mut bytes = vec![vec![0u8; span.div_ceil(8)]; k];
        for (&id, &c) in ids.iter().zip(class) {
            let off = (id - base) as usize;
            if let Some(b) = bytes
                .get_mut(usize::from(c).wrapping_sub(1))
                .and_then(|b| b.get_mut(off >> 3))
            {
                *b |= 1 << (off & 7);
            }
        }
        bytes
            .iter()
            .map(|b| RoaringBitmap::from_lsb0_bytes(base, b))
            .collect()
    } else {
        let mut lists = vec![Vec::new(); k];
        for (&id, &c) in ids.iter().zip(class) {
            if let Some(l) = lists.get_mut(usize::from(c).wrapping_sub(1)) {
                l.push(id);
            }
        }
        lists
            .into_iter()
            .map(|l| RoaringBitmap::from_sorted_iter(l).unwrap_or_default())
            .collect()
    }
}

// ----------------------------------------------------------------------------------------
// Segment maps
// ----------------------------------------------------------------------------------------

/// One customer's scores, or one cell of the R x F x M score space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RfmScore {
    /// Recency score, 1..=bins.
    pub r: u8,
    /// Frequency score, 1..=bins.
    pub f: u8,
    /// Monetary score, 1..=bins.
    pub m: u8,
}

impl RfmScore {
    /// The score of one measure.
    pub fn get(self, measure: Measure) -> u8 {
        match measure {
            Measure::Recency => self.r,
            Measure::Frequency => self.f,
            Measure::Monetary => self.m,
        }
    }
}

impl fmt::Display for RfmScore {
    /// `R5 F4 M1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{} F{} M{}", self.r, self.f, self.m)
    }
}

/// Cells as text for error messages: runs of M within one (R, F) are collapsed
/// (`R1 F1 M1-5`), at most eight runs are listed.
pub(crate) fn fmt_cells(cells: &[RfmScore]) -> String {
    let mut runs: Vec<(u8, u8, u8, u8)> = Vec::new();
    for c in cells {
        match runs.last_mut() {
            Some((r, f, _, hi)) if *r == c.r && *f == c.f && hi.checked_add(1) == Some(c.m) => {
                *hi = c.m;
            }
            _ => runs.push((c.r, c.f, c.m, c.m)),
        }
    }
    const SHOWN: usize = 8;
    let mut out: Vec<String> = runs
        .iter()
        .take(SHOWN)
        .map(|&(r, f, lo, hi)| {
            if lo == hi {
                format!("R{r} F{f} M{lo}")
            } else {
                format!("R{r} F{f} M{lo}-{hi}")
            }
        })
        .collect();
    if runs.len() > SHOWN {
        out.push(format!("and {} more", runs.len() - SHOWN));
    }
    out.join(", ")
}

/// One named box of score cells: every customer whose R, F and M scores lie in the ranges.
/// A range left `None` takes every score.
///
/// ```
/// use audience::SegmentRule;
///
/// let rule = SegmentRule::new("Champions").r(5..=5).f(4..=5);
/// assert_eq!(rule.m, None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentRule {
    /// The segment's name.
    pub name: String,
    /// Recency scores (inclusive); `None` for all.
    pub r: Option<RangeInclusive<u8>>,
    /// Frequency scores (inclusive); `None` for all.
    pub f: Option<RangeInclusive<u8>>,
    /// Monetary scores (inclusive); `None` for all.
    pub m: Option<RangeInclusive<u8>>,
}

impl SegmentRule {
    /// A segment of every cell; narrow it with [`SegmentRule::r`], [`SegmentRule::f`] and
    /// [`SegmentRule::m`].
    pub fn new(name: impl Into<String>) -> SegmentRule {
        SegmentRule {
            name: name.into(),
            r: None,
            f: None,
            m: None,
        }
    }

    /// Restricts recency scores.
    pub fn r(mut self, scores: RangeInclusive<u8>) -> SegmentRule {
        self.r = Some(scores);
        self
    }

    /// Restricts frequency scores.
    pub fn f(mut self, scores: RangeInclusive<u8>) -> SegmentRule {
        self.f = Some(scores);
        self
    }

    /// Restricts monetary scores.
    pub fn m(mut self, scores: RangeInclusive<u8>) -> SegmentRule {
        self.m = Some(scores);
        self
    }

    fn range(&self, measure: Measure) -> Option<&RangeInclusive<u8>> {
        match measure {
            Measure::Recency => self.r.as_ref(),
            Measure::Frequency => self.f.as_ref(),
            Measure::Monetary => self.m.as_ref(),
        }
    }
}

/// Names for boxes of (R, F, M) score cells; it must cover every cell exactly once.
///
/// ```
/// use audience::{ErrorKind, RfmConfig, SegmentMap, SegmentRule};
///
/// let map = SegmentMap::new()
///     .rule(SegmentRule::new("best").r(4..=5).f(4..=5))
///     .rule(SegmentRule::new("rest").r(1..=3))
///     .rule(SegmentRule::new("recent, rare").r(4..=5).f(1..=2));
/// let err = RfmConfig::default().segments(Some(map)).validate().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "the RFM segment map leaves 10 score cells without a segment: R4 F3 M1-5, R5 F3 M1-5"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentMap {
    /// The segments, in display order.
    pub rules: Vec<SegmentRule>,
}

impl SegmentMap {
    /// A map without segments (add them with [`SegmentMap::rule`]).
    pub fn new() -> SegmentMap {
        SegmentMap::default()
    }

    /// Adds a segment.
    pub fn rule(mut self, rule: SegmentRule) -> SegmentMap {
        self.rules.push(rule);
        self
    }

    /// The eleven-segment map over R and F scores of 5 bins (see the [module docs](self)
    /// for the table and where it comes from).
    pub fn standard() -> SegmentMap {
        let s = SegmentRule::new;
        SegmentMap::new()
            .rule(s("Champions").r(5..=5).f(4..=5))
            .rule(s("Loyal").r(3..=4).f(4..=5))
            .rule(s("Potential loyalist").r(4..=5).f(2..=3))
            .rule(s("New customers").r(5..=5).f(1..=1))
            .rule(s("Promising").r(4..=4).f(1..=1))
            .rule(s("Need attention").r(3..=3).f(3..=3))
            .rule(s("About to sleep").r(3..=3).f(1..=2))
            .rule(s("At risk").r(1..=2).f(3..=4))
            .rule(s("Can't lose them").r(1..=2).f(5..=5))
            .rule(s("Hibernating").r(2..=2).f(1..=2))
            .rule(s("Lost").r(1..=1).f(1..=2))
    }

    /// The segment (index into `rules`) of every cell, checking the map is a partition of
    /// the cells for these bins.
    fn cell_owners(&self, bins: [u8; 3]) -> Result<Owners, Error> {
        let what = || "RFM segment map".to_string();
        if self.rules.is_empty() || self.rules.len() > MAX_SEGMENTS {
            return err(ErrorKind::InvalidBuckets {
                what: what(),
                reason: format!(
                    "a map names 1 to {MAX_SEGMENTS} segments, got {}",
                    self.rules.len()
                ),
            });
        }
        let mut folded: Vec<String> = Vec::with_capacity(self.rules.len());
        let mut boxes: Vec<[(u8, u8); 3]> = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let name = tidy(&rule.name);
            if let Err(reason) = check_name(&name) {
                return err(ErrorKind::InvalidBuckets {
                    what: what(),
                    reason: format!("segment name {:?}: {reason}", rule.name),
                });
            }
            let key = fold(&name);
            if folded.contains(&key) {
                return err(ErrorKind::InvalidBuckets {
                    what: what(),
                    reason: format!("segment {:?} is named twice", rule.name),
                });
            }
            folded.push(key);
            let mut b = [(1u8, 1u8); 3];
            for m in Measure::ALL {
                let n = bins[m.index()];
                let (lo, hi) = rule.range(m).map_or((1, n), |r| (*r.start(), *r.end()));
                if lo > hi || lo < 1 || hi > n {
                    return err(ErrorKind::InvalidBuckets {
                        what: what(),
                        reason: format!(
                            "segment {:?} asks for {} scores {lo}..={hi}, but {} has scores 1 to {n}",
                            rule.name,
                            m.letter(),
                            m.name()
                        ),
                    });
                }
                b[m.index()] = (lo, hi);
            }
            boxes.push(b);
        }
        let [br, bf, bm] = bins.map(usize::from);
        let cells = br * bf * bm;
        let mut owner: Vec<Option<u8>> = vec![None; cells];
        let mut overlap: Option<(usize, usize, Vec<RfmScore>)> = None;
        for (i, b) in boxes.iter().enumerate() {
            for r in b[0].0..=b[0].1 {
                for f in b[1].0..=b[1].1 {
                    for m in b[2].0..=b[2].1 {
                        let at = cell_index([r, f, m], bins);
                        let Some(slot) = owner.get_mut(at) else {
                            continue;
                        };
                        match *slot {
                            None => *slot = Some(i as u8),
                            Some(first) => {
                                let o = overlap.get_or_insert((usize::from(first), i, Vec::new()));
                                if o.0 == usize::from(first) && o.1 == i {
                                    o.2.push(RfmScore { r, f, m });
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some((first, second, cells)) = overlap {
            return err(ErrorKind::SegmentOverlap {
                first: self
                    .rules
                    .get(first)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                second: self
                    .rules
                    .get(second)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                cells,
            });
        }
        let gaps: Vec<RfmScore> = owner
            .iter()
            .enumerate()
            .filter(|(_, o)| o.is_none())
            .map(|(at, _)| cell_of(at, bins))
            .collect();
        if !gaps.is_empty() {
            return err(ErrorKind::SegmentGap { cells: gaps });
        }
        Ok(Owners {
            owners: owner.into_iter().map(|o| o.unwrap_or(0)).collect(),
            boxes,
        })
    }
}

/// A validated segment map: the segment of every cell and each segment's box of scores.
#[derive(Default)]
struct Owners {
    owners: Vec<u8>,
    boxes: Vec<[(u8, u8); 3]>,
}

fn cell_index(s: [u8; 3], bins: [u8; 3]) -> usize {
    let [r, f, m] = s.map(|x| usize::from(x.saturating_sub(1)));
    let [_, bf, bm] = bins.map(usize::from);
    (r * bf + f) * bm + m
}

fn cell_of(at: usize, bins: [u8; 3]) -> RfmScore {
    let [_, bf, bm] = bins.map(|b| usize::from(b).max(1));
    RfmScore {
        r: (at / (bf * bm) + 1) as u8,
        f: (at / bm % bf + 1) as u8,
        m: (at % bm + 1) as u8,
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
/// tables. Give it to the store with [`Store::set_rfm`] to query it.
#[derive(Clone, Debug)]
pub struct RfmScores {
    config: RfmConfig,
    today: Day,
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
        let segment_names: Vec<String> = config
            .segments
            .as_ref()
            .map(|s| s.rules.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default();
        let [sr, sf, sm] = scored;
        RfmScores {
            config,
            today,
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
    /// ([`Store::write_groups`], with [`RfmScores::scope`] as the scope) or to compare two
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
            rows,
        }
    }

    /// Removes an erased customer from every bitmap and lookup.
    pub(crate) fn forget(&mut self, customer: CustomerId) {
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

// ----------------------------------------------------------------------------------------
// The store holds the current scores
// ----------------------------------------------------------------------------------------

impl Store {
    /// Makes `scores` the store's current RFM scores, queryable as `rfm.r`, `rfm.f`,
    /// `rfm.m` and `rfm.segment`. Replaces earlier scores. The scores must be of live
    /// customers of this store (erased customers are refused with
    /// [`ErrorKind::UnknownCustomerId`]). Clones of the store share them.
    pub fn set_rfm(&mut self, scores: RfmScores) -> Result<(), Error> {
        if !scores.scope.is_subset(self.customers()) {
            let first = (&scores.scope - self.customers()).min().unwrap_or(0);
            return err(ErrorKind::UnknownCustomerId { id: first });
        }
        self.rfm = Some(Arc::new(scores));
        Ok(())
    }

    /// The current RFM scores, if any.
    pub fn rfm(&self) -> Option<&RfmScores> {
        self.rfm.as_deref()
    }

    /// Drops the current RFM scores (queries on `rfm.*` fail again until the next
    /// [`Store::set_rfm`]).
    pub fn clear_rfm(&mut self) {
        self.rfm = None;
    }
}

// ----------------------------------------------------------------------------------------
// Query terms
// ----------------------------------------------------------------------------------------

/// The attribute of an attribute predicate, when it is an `rfm.` term.
pub(crate) fn rfm_attr(expr: &Expr) -> Option<&str> {
    let attr = match expr {
        Expr::Cmp { attr, .. }
        | Expr::Between { attr, .. }
        | Expr::IsNull { attr }
        | Expr::IsNotNull { attr }
        | Expr::Within { attr, .. }
        | Expr::Before { attr, .. } => attr.as_str(),
        _ => return None,
    };
    attr.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("rfm."))
        .then_some(attr)
}

/// What an `rfm.` term binds to.
pub(crate) enum Bound<'a> {
    /// These customers.
    Bits(Cow<'a, RoaringBitmap>),
    /// Every live customer except these.
    Not(Cow<'a, RoaringBitmap>),
}

enum Term {
    Score(Measure),
    Segment,
}

fn found(lit: &Literal) -> &'static str {
    match lit {
        Literal::Int(_) => "a number",
        Literal::Day(_) => "a day",
        Literal::Text(_) => "text",
    }
}

/// Binds an `rfm.` predicate (see [`rfm_attr`]) to the store's scores.
pub(crate) fn bind<'a>(
    scores: Option<&'a RfmScores>,
    attr: &str,
    expr: &Expr,
) -> Result<Bound<'a>, QueryProblem> {
    let rest = attr.get(4..).unwrap_or("");
    let term = match rest.to_ascii_lowercase().as_str() {
        "r" => Term::Score(Measure::Recency),
        "f" => Term::Score(Measure::Frequency),
        "m" => Term::Score(Measure::Monetary),
        "segment" => Term::Segment,
        _ => {
            return Err(QueryProblem::Mismatch(format!(
                "unknown RFM term {attr}: use rfm.r, rfm.f, rfm.m or rfm.segment"
            )));
        }
    };
    let Some(scores) = scores else {
        return Err(QueryProblem::Mismatch(format!(
            "{attr} needs RFM scores, and this store has none: score customers first"
        )));
    };
    if let Expr::Within { .. } | Expr::Before { .. } = expr {
        return Err(QueryProblem::Mismatch(format!(
            "{attr} holds scores; WITHIN and BEFORE need a day attribute"
        )));
    }
    if let Expr::IsNull { .. } = expr {
        return Ok(Bound::Not(Cow::Borrowed(&scores.scored)));
    }
    if let Expr::IsNotNull { .. } = expr {
        return Ok(Bound::Bits(Cow::Borrowed(&scores.scored)));
    }
    match term {
        Term::Score(m) => bind_score(scores, m, attr, expr),
        Term::Segment => bind_segment(scores, attr, expr),
    }
}

fn bind_score<'a>(
    scores: &'a RfmScores,
    measure: Measure,
    attr: &str,
    expr: &Expr,
) -> Result<Bound<'a>, QueryProblem> {
    let n = scores.bins(measure);
    let score = |lit: &Literal| -> Result<u8, QueryProblem> {
        match lit {
            Literal::Int(v) if (1..=i64::from(n)).contains(v) => Ok(*v as u8),
            Literal::Int(v) => Err(QueryProblem::ScoreOutOfRange {
                term: attr.to_string(),
                bins: n,
                score: *v,
            }),
            other => Err(QueryProblem::Mismatch(format!(
                "{attr} holds scores, compare it with a number, not {}",
                found(other)
            ))),
        }
    };
    let (lo, hi) = match expr {
        Expr::Cmp { op, value, .. } => {
            let v = score(value)?;
            match op {
                CmpOp::Eq => (v, v),
                CmpOp::Lt => (1, v - 1),
                CmpOp::Le => (1, v),
                CmpOp::Gt => (v + 1, n),
                CmpOp::Ge => (v, n),
                CmpOp::Ne => {
                    let bits = scores
                        .customers(measure, v)
                        .map_or_else(|| scores.scored.clone(), |b| &scores.scored - b);
                    return Ok(Bound::Bits(Cow::Owned(bits)));
                }
            }
        }
        Expr::Between { lo, hi, .. } => (score(lo)?, score(hi)?),
        _ => (1, 0),
    };
    let list = &scores.by_score[measure.index()];
    let picked = list
        .get(usize::from(lo.max(1)) - 1..usize::from(hi))
        .unwrap_or(&[]);
    Ok(Bound::Bits(match picked {
        [] => Cow::Owned(RoaringBitmap::new()),
        [one] => Cow::Borrowed(one),
        many => Cow::Owned(many.iter().union()),
    }))
}

fn bind_segment<'a>(
    scores: &'a RfmScores,
    attr: &str,
    expr: &Expr,
) -> Result<Bound<'a>, QueryProblem> {
    if scores.segment_names.is_empty() {
        return Err(QueryProblem::Mismatch(format!(
            "{attr} needs named segments, and these RFM scores have none: score with a segment map"
        )));
    }
    let (op, value) = match expr {
        Expr::Cmp { op, value, .. } => (*op, value),
        _ => {
            return Err(QueryProblem::Mismatch(format!(
                "{attr} holds segment names: compare it with = or !="
            )));
        }
    };
    let name = match value {
        Literal::Text(t) => t,
        other => {
            return Err(QueryProblem::Mismatch(format!(
                "{attr} holds segment names, compare it with quoted text, not {}",
                found(other)
            )));
        }
    };
    let Some(bits) = scores.segment(name) else {
        return Err(QueryProblem::UnknownSegment {
            name: name.clone(),
            suggestion: suggest(name, scores.segment_names.iter().map(String::as_str)),
        });
    };
    match op {
        CmpOp::Eq => Ok(Bound::Bits(Cow::Borrowed(bits))),
        CmpOp::Ne => Ok(Bound::Bits(Cow::Owned(&scores.scored - bits))),
        _ => Err(QueryProblem::Mismatch(format!(
            "{attr} holds segment names: compare it with = or !="
        ))),
    }
}

// ----------------------------------------------------------------------------------------
// Reports
// ----------------------------------------------------------------------------------------

/// One cell of the R x F grid.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GridCell {
    /// Recency score.
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Customers in the cell.
    pub count: u64,
    /// `count` over all scored customers (0 to 1).
    pub share: f64,
    /// Their monetary total.
    pub monetary: i128,
    /// Their mean monetary value; `None` for an empty cell.
    pub mean_monetary: Option<f64>,
}

/// The R x F grid of a scoring run ([`RfmScores::grid`]): rows R = bins down to 1, columns
/// F = 1 up to bins, as usually drawn. Its `Display` prints three blocks: customers, share
/// and mean monetary value.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RfmGrid {
    /// Recency bins (rows).
    pub r_bins: u8,
    /// Frequency bins (columns).
    pub f_bins: u8,
    /// Scored customers.
    pub scored: u64,
    /// Their monetary total.
    pub monetary: i128,
    /// Cells row by row: R from high to low, F from low to high within a row.
    pub cells: Vec<GridCell>,
}

impl RfmGrid {
    /// The cell of scores `r` and `f`.
    pub fn cell(&self, r: u8, f: u8) -> Option<&GridCell> {
        self.cells.iter().find(|c| c.r == r && c.f == f)
    }
}

fn thousands(v: i128) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

impl fmt::Display for RfmGrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "R x F grid of {} scored customers (rows: recency score, columns: frequency score)",
            thousands(i128::from(self.scored))
        )?;
        type Cell = fn(&GridCell) -> String;
        let blocks: [(&str, Cell); 3] = [
            ("customers", |c| thousands(i128::from(c.count))),
            ("share of scored customers", |c| pct(c.share)),
            ("mean monetary value", |c| {
                c.mean_monetary
                    .map_or_else(|| "-".to_string(), |m| thousands(m.round() as i128))
            }),
        ];
        for (title, cell) in blocks {
            write!(f, "\n{title}\n{:>4}", "")?;
            for col in 1..=self.f_bins {
                write!(f, "{:>12}", format!("F{col}"))?;
            }
            writeln!(f)?;
            for row in (1..=self.r_bins).rev() {
                write!(f, "{:>4}", format!("R{row}"))?;
                for col in 1..=self.f_bins {
                    let text = self.cell(row, col).map_or_else(String::new, cell);
                    write!(f, "{text:>12}")?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// One segment of a [`SegmentTable`].
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentRow {
    /// The segment's name.
    pub segment: String,
    /// Its customers.
    pub count: u64,
    /// `count` over all scored customers (0 to 1).
    pub customer_share: f64,
    /// Their monetary total.
    pub monetary: i128,
    /// `monetary` over the scored customers' total (0 to 1).
    pub revenue_share: f64,
    /// Their mean monetary value; `None` for an empty segment.
    pub mean_monetary: Option<f64>,
}

/// Per segment of a scoring run ([`RfmScores::segment_table`]). Its `Display` sorts the
/// segments by revenue share and adds running totals of customers and revenue, so "the
/// best 20% of customers bring 60% of revenue" can be read off.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentTable {
    /// Scored customers.
    pub scored: u64,
    /// Customers in scope who never purchased (not scored).
    pub never_purchased: u64,
    /// Customers in scope with incomplete values (not scored).
    pub incomplete: u64,
    /// The scored customers' monetary total.
    pub monetary: i128,
    /// One row per segment, in the map's order.
    pub rows: Vec<SegmentRow>,
}

impl fmt::Display for SegmentTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows: Vec<&SegmentRow> = self.rows.iter().collect();
        rows.sort_by(|a, b| b.revenue_share.total_cmp(&a.revenue_share));
        writeln!(
            f,
            "{:<20} {:>10} {:>8} {:>8} {:>10} {:>10} {:>14}",
            "segment", "customers", "share", "revenue", "cum. cust", "cum. rev", "mean monetary"
        )?;
        let (mut cc, mut cr) = (0.0, 0.0);
        for r in rows {
            cc += r.customer_share;
            cr += r.revenue_share;
            writeln!(
                f,
                "{:<20} {:>10} {:>8} {:>8} {:>10} {:>10} {:>14}",
                r.segment,
                thousands(i128::from(r.count)),
                pct(r.customer_share),
                pct(r.revenue_share),
                pct(cc),
                pct(cr),
                r.mean_monetary
                    .map_or_else(|| "-".to_string(), |m| thousands(m.round() as i128)),
            )?;
        }
        write!(
            f,
            "{} scored; not scored: {} never purchased, {} incomplete",
            thousands(i128::from(self.scored)),
            thousands(i128::from(self.never_purchased)),
            thousands(i128::from(self.incomplete))
        )
    }
}

/// One score of a [`ScoreTable`].
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScoreRow {
    /// The score.
    pub score: u8,
    /// Customers with it.
    pub count: u64,
    /// `count` over all scored customers (0 to 1).
    pub customer_share: f64,
    /// Lowest measured value with this score (recency: days since the last purchase).
    pub min: Option<i64>,
    /// Highest measured value with this score.
    pub max: Option<i64>,
    /// Their monetary total.
    pub monetary: i128,
    /// `monetary` over the scored customers' total (0 to 1).
    pub revenue_share: f64,
}

/// Per score of one measure ([`RfmScores::score_table`]), highest score first.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScoreTable {
    /// The measure.
    pub measure: Measure,
    /// Scored customers.
    pub scored: u64,
    /// The scored customers' monetary total.
    pub monetary: i128,
    /// One row per score, highest first.
    pub rows: Vec<ScoreRow>,
}

impl fmt::Display for ScoreTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.measure {
            Measure::Recency => "days ago",
            Measure::Frequency => "purchases",
            Measure::Monetary => "monetary",
        };
        writeln!(
            f,
            "{:<6} {:>10} {:>8} {:>25} {:>8} {:>10}",
            "score", "customers", "share", unit, "revenue", "cum. rev"
        )?;
        let mut cr = 0.0;
        for r in &self.rows {
            cr += r.revenue_share;
            let range = match (r.min, r.max) {
                (Some(lo), Some(hi)) if lo == hi => thousands(i128::from(lo)),
                (Some(lo), Some(hi)) => {
                    format!(
                        "{}..{}",
                        thousands(i128::from(lo)),
                        thousands(i128::from(hi))
                    )
                }
                _ => "-".to_string(),
            };
            writeln!(
                f,
                "{:<6} {:>10} {:>8} {:>25} {:>8} {:>10}",
                format!("{}{}", self.measure.letter(), r.score),
                thousands(i128::from(r.count)),
                pct(r.customer_share),
                range,
                pct(r.revenue_share),
                pct(cr),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NTILE by sorting, the definition.
    fn reference(vals: &[i64], n: usize, reverse: bool) -> Vec<u8> {
        let mut order: Vec<usize> = (0..vals.len()).collect();
        order.sort_by_key(|&i| (vals[i], i));
        let mut out = vec![0u8; vals.len()];
        for (r, &i) in order.iter().enumerate() {
            let g = group_of_rank(r, vals.len(), n);
            out[i] = if reverse { n - g } else { g + 1 } as u8;
        }
        out
    }

    #[test]
    fn group_sizes_differ_by_one_larger_first() {
        let sizes = |len: usize, n: usize| {
            let mut s = vec![0; n];
            for r in 0..len {
                s[group_of_rank(r, len, n)] += 1;
            }
            s
        };
        assert_eq!(sizes(7, 3), vec![3, 2, 2]);
        assert_eq!(sizes(10, 5), vec![2, 2, 2, 2, 2]);
        assert_eq!(sizes(13, 5), vec![3, 3, 3, 2, 2]);
        assert_eq!(sizes(2, 5), vec![1, 1, 0, 0, 0]);
        assert_eq!(sizes(1, 3), vec![1, 0, 0]);
    }

    #[test]
    fn both_cut_paths_match_the_reference() {
        // Small span: counting pass; huge span: selection.
        let small: Vec<i64> = (0..1000).map(|i| (i * 7919 % 13) as i64).collect();
        let huge: Vec<i64> = (0..1000)
            .map(|i| ((i * 7919 % 101) as i64 - 50) * (i64::MAX / 64))
            .collect();
        for vals in [small, huge] {
            for n in 3..=10u8 {
                for reverse in [false, true] {
                    assert_eq!(
                        score_values(&vals, &Binning::Quantiles(n), reverse).scores,
                        reference(&vals, usize::from(n), reverse)
                    );
                }
            }
        }
    }

    #[test]
    fn ranks_of_few_values_in_a_wide_span() {
        // Ties at the extremes of i64, selection path.
        let vals = [
            i64::MAX,
            i64::MIN,
            i64::MAX,
            0,
            i64::MIN,
            i64::MAX,
            i64::MAX,
        ];
        for n in 3..=10u8 {
            assert_eq!(
                score_values(&vals, &Binning::Quantiles(n), false).scores,
                reference(&vals, usize::from(n), false)
            );
        }
        let empty = score_values(&[], &Binning::Quantiles(5), true);
        assert!(empty.scores.is_empty());
        assert_eq!(empty.ranges, vec![None; 5]);
    }

    #[test]
    fn bitmaps_by_class_dense_and_sparse() {
        let naive = |ids: &[u32], class: &[u8], k: usize| -> Vec<RoaringBitmap> {
            (1..=k as u8)
                .map(|c| {
                    ids.iter()
                        .zip(class)
                        .filter(|(_, x)| **x == c)
                        .map(|(i, _)| *i)
                        .collect()
                })
                .collect()
        };
        let cases: Vec<Vec<u32>> = vec![
            (0..200_000).filter(|i| i % 3 != 0).collect(), // dense
            (0..200_000).map(|i| i * 97 + 5).collect(),    // sparse
            (u32::MAX - 300..=u32::MAX).collect(),         // dense at the top
            vec![3, u32::MAX],                             // sparse, extremes
            vec![],
        ];
        for ids in cases {
            let class: Vec<u8> = ids.iter().map(|i| (i % 5 + 1) as u8).collect();
            assert_eq!(bitmaps_by_class(&ids, &class, 5), naive(&ids, &class, 5));
        }
    }

    #[test]
    fn cells_round_trip() {
        let bins = [5, 4, 3];
        for at in 0..60 {
            let c = cell_of(at, bins);
            assert_eq!(cell_index([c.r, c.f, c.m], bins), at);
        }
    }
}
