//! The campaign toolkit: from "who?" to "send it well".
//!
//! Everything WhatsApp and LINE broadcast guides ask a marketer to do between picking an
//! audience and reading the 24-hour report, as pure functions of bitmaps, random seeds and
//! the caller's clock values (no clock is read):
//!
//! 1. **Preview** ([`preview`]): the exact size, the funnel of the query's clauses, a
//!    [`breakdown`] by any dimension, and the broadcast guides' advice by size
//!    ([`SizeGuidance`]: under 500, personalise; over 2,000, A/B test first).
//! 2. **Build** ([`build_audience`]): evaluates the query and records the day each of its
//!    tags was used ([`Store::record_use`]), which feeds the health report's silent-tag flag.
//! 3. **Split** ([`split`], [`sample`]): groups of exact sizes or proportions and a holdout,
//!    reproducible from a seed, independent of the order customers were added, optionally
//!    stratified so every group has the same mix.
//! 4. **Cap** ([`SendLog`]): who already got 5 automated messages in 24 hours, as a set a
//!    query excludes with `@capped`.
//! 5. **Plan** ([`SendPlan`]): batches for a rate limit, with the expected duration.
//! 6. **Results** ([`Responses`]): delivery, read and reply rates against the broadcast
//!    guides' thresholds ([`Thresholds`]), A/B comparisons by a two-proportion z-test
//!    ([`Comparison`]), and the non-responders for the second touch after 3 days
//!    ([`FollowUp`]).
//!
//! # Example: the A/B flow broadcast guides recommend
//!
//! Over 2,000 customers: two random groups of 1,000, compare reply rates after an hour,
//! send the winner to the rest.
//!
//! ```
//! use audience::campaign::{self, Metric, Responses, SendPlan, SizeGuidance, Size, SplitSpec};
//! use audience::{Context, CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 3, 4)?;
//! let mut store = Store::new();
//! let cosmetics = store.create_tag(&Edit::new("admin", today), TagSpec::new("cosmetics"))?;
//! let ids = store.ensure_customers((0..3_000u64).map(|i| CustomerKey::Phone(66_810_000_000 + i)))?;
//! store.add_tag_bulk(cosmetics, &ids.iter().copied().collect(), today)?;
//!
//! let query = Query::parse("cosmetics")?;
//! let ctx = Context::new(today);
//! let preview = campaign::preview(&store, &query, &ctx)?;
//! assert_eq!(preview.size, 3_000);
//! assert_eq!(preview.guidance, SizeGuidance::AbTestFirst);
//!
//! let audience = campaign::build_audience(&mut store, &query, &ctx)?;
//! assert_eq!(store.tag(cosmetics)?.last_used, Some(today));
//!
//! let spec = SplitSpec::new(20250304)
//!     .group("A", Size::Count(1000))?
//!     .group("B", Size::Count(1000))?
//!     .group("rest", Size::REST)?;
//! let split = campaign::split(&store, &audience, &spec)?;
//! let (a, b) = (split.group("A").unwrap(), split.group("B").unwrap());
//!
//! // An hour later the app reports: A's message got more replies.
//! let sent = a | b;
//! let replied: RoaringBitmap = a.iter().take(80).chain(b.iter().take(40)).collect();
//! let responses = Responses::new(sent.clone(), &sent, &sent, &replied);
//! let cmp = responses.compare(a, b, Metric::Reply, 0.95)?;
//! assert_eq!(cmp.winner, Some(campaign::Arm::A));
//!
//! let plan = SendPlan::new(split.group("rest").unwrap(), 180)?;
//! assert_eq!(plan.batches.len(), 6);
//! # Ok::<(), audience::Error>(())
//! ```

mod cap;
mod plan;
mod rank;
mod results;
mod split;
pub mod stats;

use crate::base::text::plural;
use std::fmt;

use roaring::RoaringBitmap;

use crate::segment::Segment;

pub use crate::store::taxonomy::TagCount;
pub(crate) use cap::{Bucket, SendLogData};
pub use cap::{
    CapRule, DEFAULT_RETENTION_HOURS, Hour, MAX_CHANNELS, MAX_PER_HOUR, MAX_RETENTION_HOURS,
    SendLog,
};
pub use plan::{Batch, MAX_BATCHES, SendPlan};
pub use rank::rank;
pub use results::{
    Arm, Assessment, Comparison, DeliveryHealth, DimensionFunnels, FollowUp, Funnel, Metric,
    ReadHealth, ReplyHealth, Responses, SECOND_TOUCH_AFTER_DAYS, TagFunnel, Thresholds,
};
pub use split::{
    Group, GroupSpec, MAX_GROUPS, MAX_STRATA, Size, Split, SplitSpec, Strata, Stratum, sample,
    split,
};

use crate::base::fold::fold;
use crate::error::Error;
use crate::query::{Context, Explain, Expr, Query, TagRef};
use crate::store::Store;
use crate::store::taxonomy::TagId;

/// Audiences smaller than this get messages personalised with the customer's name.
pub const PERSONALISE_BELOW: u64 = 500;
/// Audiences larger than this are A/B tested on two groups of 1,000 first.
pub const AB_TEST_ABOVE: u64 = 2_000;

/// What WhatsApp and LINE broadcast guides advise for an audience of a given size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum SizeGuidance {
    /// Nobody to send to.
    Empty,
    /// Under 500: personalise each message with the customer's name.
    Personalise,
    /// 500 to 2,000: a plain send.
    PlainSend,
    /// Over 2,000: A/B test first (two random groups of 1,000, compare read and reply rates
    /// after an hour, send the winner to the rest within 24 hours).
    AbTestFirst,
}

impl SizeGuidance {
    /// The advice for `size` customers.
    ///
    /// ```
    /// use audience::campaign::SizeGuidance;
    ///
    /// assert_eq!(SizeGuidance::for_size(400), SizeGuidance::Personalise);
    /// assert_eq!(SizeGuidance::for_size(500), SizeGuidance::PlainSend);
    /// assert_eq!(SizeGuidance::for_size(2_000), SizeGuidance::PlainSend);
    /// assert_eq!(SizeGuidance::for_size(2_001), SizeGuidance::AbTestFirst);
    /// ```
    pub fn for_size(size: u64) -> SizeGuidance {
        if size == 0 {
            SizeGuidance::Empty
        } else if size < PERSONALISE_BELOW {
            SizeGuidance::Personalise
        } else if size <= AB_TEST_ABOVE {
            SizeGuidance::PlainSend
        } else {
            SizeGuidance::AbTestFirst
        }
    }
}

impl fmt::Display for SizeGuidance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SizeGuidance::Empty => "nobody to send to",
            SizeGuidance::Personalise => {
                "under 500 customers: personalise each message with the customer's name"
            }
            SizeGuidance::PlainSend => "500 to 2,000 customers: a plain send",
            SizeGuidance::AbTestFirst => {
                "over 2,000 customers: A/B test two random groups of 1,000 first, then send the winner to the rest"
            }
        })
    }
}

/// What a marketer sees before sending: the audience, its size, the funnel and the advice.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Preview {
    /// The exact number of customers.
    pub size: u64,
    /// The count after every clause, and the plan.
    pub explain: Explain,
    /// The broadcast guides' advice for this size.
    pub guidance: SizeGuidance,
    /// The customers.
    pub audience: Segment,
}

impl Preview {
    /// How many of the audience carry each tag of a dimension (see [`breakdown`]).
    pub fn breakdown(&self, store: &Store, dimension: &str) -> Result<Breakdown, Error> {
        breakdown(store, &self.audience, dimension)
    }
}

impl fmt::Display for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "audience: {} ({})",
            plural(self.size, "customer", "customers"),
            self.guidance
        )?;
        write!(f, "{}", self.explain)
    }
}

/// Previews the audience of `query` in `ctx` (which gives "today" and the `@sets`, e.g.
/// `@capped`). Looking is not using: no tag use is recorded (see [`build_audience`]).
pub fn preview(store: &Store, query: &Query, ctx: &Context<'_>) -> Result<Preview, Error> {
    let plan = store.plan(query, ctx)?;
    let explain = plan.explain();
    let audience = plan.segment();
    Ok(Preview {
        size: audience.len(),
        guidance: SizeGuidance::for_size(audience.len()),
        explain,
        audience,
    })
}

/// Evaluates a campaign audience and records, for every tag the query names (negated ones
/// included), that it was used to select an audience on `ctx.today()` (see
/// [`Store::record_use`]). The query is bound completely before anything is recorded: on
/// error nothing changed.
pub fn build_audience(
    store: &mut Store,
    query: &Query,
    ctx: &Context<'_>,
) -> Result<Segment, Error> {
    let audience = store.plan(query, ctx)?.segment();
    let tags = query_tags(store, query.expr())?;
    // One unit in the journal: the uses of one audience.
    store.batch(|store| {
        for t in tags {
            store.record_use(t, ctx.today())?;
        }
        Ok(())
    })?;
    Ok(audience)
}

/// Every tag an expression names, resolved, deduplicated, in id order.
fn query_tags(store: &Store, expr: &Expr) -> Result<Vec<TagId>, Error> {
    let resolve = |t: &TagRef| match &t.dimension {
        Some(d) => store.tag_id_in(d, &t.name),
        None => store.tag_id(&t.name),
    };
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::And(items) | Expr::Or(items) => stack.extend(items.iter()),
            Expr::Not(inner) => stack.push(inner),
            Expr::Tag(t) => out.push(resolve(t)?),
            Expr::AssignedBefore { tag, .. } | Expr::AssignedWithin { tag, .. } => {
                out.push(resolve(tag)?)
            }
            _ => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The live tags of a dimension (names compared after folding), in id order. Errors with
/// [`ErrorKind::UnknownDimension`] when the store has no such dimension.
pub(crate) fn dimension_tags(store: &Store, dimension: &str) -> Result<Vec<TagId>, Error> {
    let key = fold(dimension);
    let tags: Vec<TagId> = store
        .tags()
        .filter(|t| fold(&t.dimension) == key)
        .map(|t| t.id)
        .collect();
    if tags.is_empty() {
        store.dimension(dimension)?;
    }
    Ok(tags)
}

/// An audience broken down by the tags of one dimension. A customer with several of the
/// dimension's tags counts under each, so the counts may add up to more than the total.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Breakdown {
    /// The dimension, as asked.
    pub dimension: String,
    /// Customers in the audience.
    pub total: u64,
    /// One row per tag of the dimension, in tag id order, with the customers of the
    /// audience carrying it.
    pub tags: Vec<TagCount>,
    /// Customers of the audience with none of the dimension's tags.
    pub none: u64,
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let share = |n: u64| {
            if self.total == 0 {
                0.0
            } else {
                n as f64 * 100.0 / self.total as f64
            }
        };
        writeln!(
            f,
            "{} of {}:",
            self.dimension,
            plural(self.total, "customer", "customers")
        )?;
        for t in &self.tags {
            writeln!(
                f,
                "{:>10}  {:>5.1}%  {}",
                t.customers,
                share(t.customers),
                t.name
            )?;
        }
        write!(f, "{:>10}  {:>5.1}%  (none)", self.none, share(self.none))
    }
}

/// How many customers of `audience` carry each tag of `dimension`, and how many carry none.
/// Count-only bitmap operations (one intersection count per tag and one union).
///
/// ```
/// use audience::campaign::breakdown;
/// use audience::{CustomerKey, Day, Edit, RoaringBitmap, Store, TagSpec};
///
/// let day = Day::EPOCH;
/// let mut store = Store::new();
/// let e = Edit::new("admin", day);
/// let web = store.create_tag(&e, TagSpec::new("website").dimension("channel"))?;
/// let ig = store.create_tag(&e, TagSpec::new("instagram").dimension("channel"))?;
/// let ids = store.ensure_customers((0..10u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))?;
/// store.add_tag_bulk(web, &(0..6).collect(), day)?;
/// store.add_tag_bulk(ig, &(4..8).collect(), day)?;
/// let audience: RoaringBitmap = ids.into_iter().collect();
/// let b = breakdown(&store, &audience, "channel")?;
/// assert_eq!(b.tags.iter().map(|t| t.customers).collect::<Vec<_>>(), vec![6, 4]);
/// assert_eq!(b.none, 2);
/// assert_eq!(
///     breakdown(&store, &audience, "chanel").unwrap_err().to_string(),
///     "unknown dimension \"chanel\" (did you mean \"channel\"?)"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
pub fn breakdown(
    store: &Store,
    audience: &RoaringBitmap,
    dimension: &str,
) -> Result<Breakdown, Error> {
    let tags = dimension_tags(store, dimension)?;
    let mut rows = Vec::with_capacity(tags.len());
    // "None of them" narrows a copy of the audience tag by tag (cheaper than a union of
    // whole tags, which are much larger than the audience).
    let mut none = audience.clone();
    for t in tags {
        let members = store.members(t)?;
        let count = members.intersection_len(audience);
        if count > 0 {
            none -= members;
        }
        rows.push(TagCount {
            tag: t,
            name: store.tag(t)?.name.clone(),
            customers: count,
        });
    }
    Ok(Breakdown {
        dimension: dimension.to_string(),
        total: audience.len(),
        tags: rows,
        none: none.len(),
    })
}
