//! Outcome rates inside candidates and pairs of candidates; the shares of a numeric
//! outcome.

use std::borrow::Cow;

use roaring::RoaringBitmap;

use super::candidates::Candidates;
use super::profile::in_base;
use super::stats::{Test, rates};
use super::{InsightConfig, correct, lift, ratio};
use crate::aggregate::Summary;
use crate::base::pairs::pair_counts;
use crate::error::Error;
use crate::query::{Context, Query};
use crate::store::Store;

/// The outcome rate inside one candidate or one pair of candidates.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RateFinding {
    /// The candidate's dimension; for a pair, both (`gender × age`).
    pub dimension: String,
    /// The candidate's name; for a pair, both (`women + 25-34`).
    pub label: String,
    /// The query text that selects the customers counted (`A AND B` for a pair).
    pub query: String,
    /// Whether this is a pair of candidates.
    pub pair: bool,
    /// Customers of the base in the candidate.
    pub customers: u64,
    /// Those with the outcome.
    pub outcome: u64,
    /// `outcome / customers`.
    pub rate: f64,
    /// The outcome rate among the rest of the base.
    pub rest_rate: f64,
    /// `rate / rest_rate`: how many times more often the outcome happens here than among
    /// everyone else (the guides' "women aged 25-34 rebuy 3 times more often than
    /// others"); infinite when the rest never has it (`null` in
    /// JSON).
    #[cfg_attr(feature = "serde", serde(with = "super::unbounded"))]
    pub lift: f64,
    /// `rate` over the overall rate of the base.
    #[cfg_attr(feature = "serde", serde(with = "super::unbounded"))]
    pub lift_over_base: f64,
    /// For a pair, its rate over the higher rate of its two parts alone: above 1, the
    /// combination says more than either candidate (women 25-34 rebuying at 30% where the
    /// 25-34 rebuy at 20% is 1.5). `None` for a single candidate.
    pub over_parts: Option<f64>,
    /// The test that gave `p`.
    pub test: Test,
    /// The p-value of the candidate against the rest of the base.
    pub p: f64,
    /// The Benjamini-Hochberg q-value over every candidate and pair tested.
    pub q: f64,
    /// `q` is at most the false discovery rate.
    pub significant: bool,
}

/// The rate of a binary outcome (rebuyers, repliers, churned: any query) inside every
/// candidate and every pair of candidates from different dimensions, against the rest of
/// the base, best first (significant ones first, then by lift). `Display` prints it as text.
///
/// # Cost
///
/// Singles: one `intersection_len` per candidate. Pairs: the candidates with enough
/// support, at most [`InsightConfig::max_pair_candidates`] of them (the largest), are
/// intersected with the outcome once each, then every pair's count in the base and among
/// the outcome comes from two sweeps over roaring's containers (the health report's pair
/// counting): per 65,536-customer chunk, dense pairs cost 1,024 word operations each and
/// every member of a sparse candidate a few word operations per 64 dense candidates, so
/// the cost grows with the members and the number of candidates, not with the number of
/// pairs times the customers. At 1M customers with 200 tags in 5 dimensions, all 15,523
/// pairs across dimensions, tested and corrected, take about 80 ms on two cores, where one
/// `intersection_len` per pair and per pair's outcome alone takes about 320 ms.
///
/// See the [module docs](super) for an example.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct OutcomeRates {
    /// The outcome's query text.
    pub outcome: String,
    /// Customers of the base.
    pub base: u64,
    /// Customers of the base with the outcome.
    pub outcome_count: u64,
    /// `outcome_count / base`.
    pub rate: f64,
    /// The settings used.
    pub config: InsightConfig,
    /// Candidates examined.
    pub candidates: usize,
    /// Candidates paired with each other.
    pub paired: usize,
    /// Candidates with enough support but left out of the pairs by the cap.
    pub left_out_of_pairs: usize,
    /// Pairs from different dimensions counted.
    pub pairs: u64,
    /// Candidates and pairs left untested for lack of support.
    pub below_support: u64,
    /// The tested candidates and pairs, best first.
    pub findings: Vec<RateFinding>,
}

impl OutcomeRates {
    /// The rates of `outcome` (evaluated with `ctx`) among every live customer.
    pub fn build(
        store: &Store,
        outcome: &Query,
        ctx: &Context<'_>,
        candidates: &Candidates<'_>,
        config: &InsightConfig,
    ) -> Result<OutcomeRates, Error> {
        let hits = store.select(outcome, ctx)?;
        rates_of(store, outcome, &hits, None, candidates, config)
    }

    /// The rates of `outcome` among the customers of `base`.
    pub fn build_within(
        store: &Store,
        outcome: &Query,
        ctx: &Context<'_>,
        base: &RoaringBitmap,
        candidates: &Candidates<'_>,
        config: &InsightConfig,
    ) -> Result<OutcomeRates, Error> {
        let hits = store.select(outcome, ctx)?;
        rates_of(store, outcome, &hits, Some(base), candidates, config)
    }

    /// The significant findings, best first.
    pub fn significant(&self) -> impl Iterator<Item = &RateFinding> {
        self.findings.iter().filter(|f| f.significant)
    }
}

/// A finding before correction.
struct Counted {
    customers: u64,
    outcome: u64,
}

fn finding(
    dimension: String,
    label: String,
    query: String,
    parts_rate: Option<f64>,
    c: Counted,
    (n, x): (u64, u64),
) -> RateFinding {
    let (test, p) = rates(c.outcome, c.customers, x - c.outcome, n - c.customers);
    let rate = ratio(c.outcome, c.customers);
    let rest_rate = ratio(x - c.outcome, n - c.customers);
    RateFinding {
        dimension,
        label,
        query,
        pair: parts_rate.is_some(),
        customers: c.customers,
        outcome: c.outcome,
        rate,
        rest_rate,
        lift: lift(rate, rest_rate),
        lift_over_base: lift(rate, ratio(x, n)),
        // A pair's rate is 0 when the better part's is (every customer of the pair is in
        // it), so the ratio is finite.
        over_parts: parts_rate.map(|best| lift(rate, best)),
        test,
        p,
        q: 1.0,
        significant: false,
    }
}

fn rates_of(
    store: &Store,
    outcome: &Query,
    hits: &RoaringBitmap,
    base: Option<&RoaringBitmap>,
    cands: &Candidates<'_>,
    config: &InsightConfig,
) -> Result<OutcomeRates, Error> {
    let base_set = base.unwrap_or(store.customers());
    let hits = hits & base_set;
    let (n, x) = (base_set.len(), hits.len());
    let support = config.minimum_support();
    let mut findings = Vec::new();
    let mut below = 0u64;
    let mut sizes = Vec::with_capacity(cands.len());
    let mut rates = vec![0.0; cands.len()];
    for (i, c) in cands.iter().enumerate() {
        let customers = in_base(store, cands, i, base);
        sizes.push(customers);
        if customers < support {
            below += 1;
            continue;
        }
        let counted = Counted {
            customers,
            outcome: cands.set(i).intersection_len(&hits),
        };
        rates[i] = ratio(counted.outcome, customers);
        findings.push(finding(
            c.dimension.clone(),
            c.label.clone(),
            c.query.clone(),
            None,
            counted,
            (n, x),
        ));
    }

    // Pairs: the largest candidates with support, in candidate order.
    let mut chosen: Vec<usize> = (0..cands.len()).filter(|&i| sizes[i] >= support).collect();
    chosen.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let cap = config.pair_candidates();
    let left_out = chosen.len().saturating_sub(cap);
    chosen.truncate(cap);
    chosen.sort_unstable();
    let dims: Vec<u32> = chosen.iter().map(|&i| cands.dim(i)).collect();
    let mut pairs = 0u64;
    if dims.iter().any(|&d| d != dims[0]) {
        let in_base_sets: Vec<Cow<'_, RoaringBitmap>> = chosen
            .iter()
            .map(|&i| {
                let set = cands.set(i);
                match base {
                    None if cands.is_live(i) && std::ptr::eq(store, cands.store()) => {
                        Cow::Borrowed(set)
                    }
                    _ => Cow::Owned(set & base_set),
                }
            })
            .collect();
        let with_outcome: Vec<RoaringBitmap> =
            chosen.iter().map(|&i| cands.set(i) & &hits).collect();
        let both = pair_counts(&in_base_sets.iter().map(|s| &**s).collect::<Vec<_>>());
        let both_hit = pair_counts(&with_outcome.iter().collect::<Vec<_>>());
        let m = chosen.len();
        let mut k = 0;
        for a in 0..m {
            for b in a + 1..m {
                let at = k;
                k += 1;
                if dims[a] == dims[b] {
                    continue;
                }
                pairs += 1;
                if both[at] < support {
                    below += 1;
                    continue;
                }
                let (Some(ca), Some(cb)) = (cands.get(chosen[a]), cands.get(chosen[b])) else {
                    continue;
                };
                let counted = Counted {
                    customers: both[at],
                    outcome: both_hit[at],
                };
                findings.push(finding(
                    format!("{} × {}", ca.dimension, cb.dimension),
                    format!("{} + {}", ca.label, cb.label),
                    format!("{} AND {}", ca.query, cb.query),
                    Some(rates[chosen[a]].max(rates[chosen[b]])),
                    counted,
                    (n, x),
                ));
            }
        }
    }

    correct(
        &mut findings,
        config.fdr(),
        |f| f.p,
        |f, q, s| {
            f.q = q;
            f.significant = s;
        },
    );
    findings.sort_by(|a, b| {
        b.significant
            .cmp(&a.significant)
            .then(b.lift.total_cmp(&a.lift))
            .then(b.customers.cmp(&a.customers))
    });
    Ok(OutcomeRates {
        outcome: outcome.to_string(),
        base: n,
        outcome_count: x,
        rate: ratio(x, n),
        config: config.clone(),
        candidates: cands.len(),
        paired: chosen.len(),
        left_out_of_pairs: left_out,
        pairs,
        below_support: below,
        findings,
    })
}

/// A numeric outcome inside one candidate.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ValueShare {
    /// The candidate's dimension.
    pub dimension: String,
    /// The candidate's name within its dimension.
    pub label: String,
    /// The query text that selects the candidate.
    pub query: String,
    /// Customers of the base in the candidate.
    pub customers: u64,
    /// Those with a value.
    pub with_value: u64,
    /// The sum of their values.
    pub sum: i128,
    /// The mean of their values (`None` without any).
    pub mean: Option<f64>,
    /// `customers` over the base's size.
    pub customer_share: f64,
    /// `sum` over the base's total (0 when the total is not positive).
    pub value_share: f64,
    /// `value_share / customer_share`: 3 means the candidate brings three times its share
    /// of customers.
    #[cfg_attr(feature = "serde", serde(with = "super::unbounded"))]
    pub concentration: f64,
}

/// A numeric outcome (spend, orders) per candidate: mean and share of the total, most
/// concentrated first: the "about 20% of high-value customers bring over 60% of revenue"
/// view, for any grouping. `Display` prints it as text.
///
/// ```
/// use audience::insights::{Candidates, InsightConfig, ValueShares};
/// use audience::{AttrKind, CustomerKey, Day, Edit, Store, TagSpec};
///
/// let mut store = Store::new();
/// let e = Edit::new("admin", Day::EPOCH);
/// let vip = store.create_tag(&e, TagSpec::new("vip").dimension("tier"))?;
/// let spend = store.define_attribute("monetary", AttrKind::Int)?;
/// for i in 0..100u32 {
///     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
///     // 20 VIPs spend 600 each, 80 others 100 each: 12,000 of 20,000.
///     if i < 20 {
///         store.add_tag(c, vip, Day::EPOCH)?;
///     }
///     store.set_value(c, spend, if i < 20 { 600 } else { 100 })?;
/// }
/// let config = InsightConfig::default().min_support(10)?;
/// let shares = ValueShares::build(&store, "monetary", &Candidates::tags(&store), &config)?;
/// let vip = &shares.rows[0];
/// assert_eq!((vip.customer_share, vip.value_share), (0.2, 0.6));
/// assert!((vip.concentration - 3.0).abs() < 1e-12);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ValueShares {
    /// The attribute.
    pub attribute: String,
    /// Customers of the base.
    pub base: u64,
    /// Those with a value.
    pub with_value: u64,
    /// The sum over the base (a decimal attribute's in its units: cents at 2 places).
    pub total: i128,
    /// The mean over the base, in the same units.
    pub mean: Option<f64>,
    /// The attribute's decimal places (0 unless it is a decimal attribute): the text form
    /// prints totals and means with them, `15,396.18`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub scale: u8,
    /// The settings used.
    pub config: InsightConfig,
    /// Candidates examined.
    pub candidates: usize,
    /// Candidates left out for lack of support.
    pub below_support: usize,
    /// The candidates with support, highest concentration first.
    pub rows: Vec<ValueShare>,
}

impl ValueShares {
    /// The shares of `attribute` among every live customer. Errors with the store's lookup
    /// error for an unknown attribute.
    pub fn build(
        store: &Store,
        attribute: &str,
        candidates: &Candidates<'_>,
        config: &InsightConfig,
    ) -> Result<ValueShares, Error> {
        shares(store, attribute, None, candidates, config)
    }

    /// The shares of `attribute` among the customers of `base`.
    pub fn build_within(
        store: &Store,
        attribute: &str,
        base: &RoaringBitmap,
        candidates: &Candidates<'_>,
        config: &InsightConfig,
    ) -> Result<ValueShares, Error> {
        shares(store, attribute, Some(base), candidates, config)
    }
}

fn shares(
    store: &Store,
    attribute: &str,
    base: Option<&RoaringBitmap>,
    cands: &Candidates<'_>,
    config: &InsightConfig,
) -> Result<ValueShares, Error> {
    let attr = store.attribute_id(attribute)?;
    let base_set = base.unwrap_or(store.customers());
    let all = Summary::of(store, attr, base_set)?;
    let n = base_set.len();
    let mut rows = Vec::new();
    let mut below = 0;
    for (i, c) in cands.iter().enumerate() {
        let customers = in_base(store, cands, i, base);
        if customers < config.minimum_support() {
            below += 1;
            continue;
        }
        let s = match base {
            None => Summary::of(store, attr, cands.set(i))?,
            Some(b) => Summary::of(store, attr, &(cands.set(i) & b))?,
        };
        let customer_share = ratio(customers, n);
        let value_share = if all.sum > 0 {
            s.sum as f64 / all.sum as f64
        } else {
            0.0
        };
        rows.push(ValueShare {
            dimension: c.dimension.clone(),
            label: c.label.clone(),
            query: c.query.clone(),
            customers,
            with_value: s.count,
            sum: s.sum,
            mean: s.mean(),
            customer_share,
            value_share,
            concentration: lift(value_share, customer_share),
        });
    }
    rows.sort_by(|a, b| {
        b.concentration
            .total_cmp(&a.concentration)
            .then(b.customers.cmp(&a.customers))
    });
    Ok(ValueShares {
        attribute: store.attribute(attr)?.name.clone(),
        base: n,
        with_value: all.count,
        total: all.sum,
        mean: all.mean(),
        scale: all.kind.scale(),
        config: config.clone(),
        candidates: cands.len(),
        below_support: below,
        rows,
    })
}
