//! Two segments side by side: which candidates differ most, in both directions.

use roaring::RoaringBitmap;

use super::candidates::Candidates;
use super::stats::{Test, rates};
use super::{InsightConfig, correct, lift, ratio};
use crate::error::Error;
use crate::store::Store;

/// One candidate in a [`Comparison`].
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Difference {
    /// The candidate's dimension.
    pub dimension: String,
    /// The candidate's name within its dimension.
    pub label: String,
    /// The query text that selects the candidate.
    pub query: String,
    /// Customers of A in the candidate.
    pub in_a: u64,
    /// Customers of B in the candidate.
    pub in_b: u64,
    /// `in_a` over the size of A.
    pub share_a: f64,
    /// `in_b` over the size of B.
    pub share_b: f64,
    /// `share_a / share_b`: above 1, the candidate is more common in A; infinite when B
    /// has none of it (`null` in JSON).
    #[cfg_attr(feature = "serde", serde(with = "super::unbounded"))]
    pub ratio: f64,
    /// The test that gave `p`.
    pub test: Test,
    /// The p-value of A's share against B's.
    pub p: f64,
    /// The Benjamini-Hochberg q-value over every candidate tested.
    pub q: f64,
    /// `q` is at most the false discovery rate.
    pub significant: bool,
}

/// Segment A against segment B: every candidate's share in each, best findings first
/// (significant ones first, then the largest ratio in either direction); split by direction
/// with [`Comparison::more_in_a`] and [`Comparison::more_in_b`]. `Display` prints both.
///
/// The test treats A and B as independent samples; customers in both count in both.
///
/// ```
/// use audience::insights::{Candidates, Comparison, InsightConfig};
/// use audience::{CustomerKey, Day, Edit, RoaringBitmap, Store, TagSpec};
///
/// let mut store = Store::new();
/// let e = Edit::new("admin", Day::EPOCH);
/// let app = store.create_tag(&e, TagSpec::new("app").dimension("channel"))?;
/// let shop = store.create_tag(&e, TagSpec::new("shop").dimension("channel"))?;
/// let (mut a, mut b) = (RoaringBitmap::new(), RoaringBitmap::new());
/// for i in 0..400u32 {
///     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
///     store.add_tag(c, if i % 4 == 0 { shop } else { app }, Day::EPOCH)?;
///     if i < 200 { a.insert(c); } else if i % 2 == 0 { b.insert(c); }
/// }
/// // B: only even customers, so half of it is in the shop; A: a quarter.
/// let cmp = Comparison::build(&store, &a, &b, &Candidates::tags(&store), &InsightConfig::default())?;
/// let more_in_b: Vec<&str> = cmp.more_in_b().map(|d| d.query.as_str()).collect();
/// assert_eq!(more_in_b, ["channel:shop"]);
/// assert_eq!(cmp.more_in_a().next().map(|d| d.query.as_str()), Some("channel:app"));
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Comparison {
    /// Customers of A.
    pub a: u64,
    /// Customers of B.
    pub b: u64,
    /// Customers in both.
    pub both: u64,
    /// The settings used.
    pub config: InsightConfig,
    /// Candidates examined.
    pub candidates: usize,
    /// Candidates left untested for lack of support.
    pub below_support: usize,
    /// The tested candidates, best first.
    pub findings: Vec<Difference>,
}

impl Comparison {
    /// Compares `a` with `b` over the candidates (ids that are not live customers are left
    /// out of both).
    pub fn build(
        store: &Store,
        a: &RoaringBitmap,
        b: &RoaringBitmap,
        candidates: &Candidates<'_>,
        config: &InsightConfig,
    ) -> Result<Comparison, Error> {
        let live = store.customers();
        let (a, b) = (a & live, b & live);
        let (na, nb) = (a.len(), b.len());
        let mut findings = Vec::new();
        let mut below = 0;
        for (i, c) in candidates.iter().enumerate() {
            let set = candidates.set(i);
            let (in_a, in_b) = (set.intersection_len(&a), set.intersection_len(&b));
            if in_a.max(in_b) < config.minimum_support() {
                below += 1;
                continue;
            }
            let (share_a, share_b) = (ratio(in_a, na), ratio(in_b, nb));
            let (test, p) = rates(in_a, na, in_b, nb);
            findings.push(Difference {
                dimension: c.dimension.clone(),
                label: c.label.clone(),
                query: c.query.clone(),
                in_a,
                in_b,
                share_a,
                share_b,
                ratio: lift(share_a, share_b),
                test,
                p,
                q: 1.0,
                significant: false,
            });
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
        findings.sort_by(|x, y| {
            y.significant
                .cmp(&x.significant)
                .then(y.ratio.ln().abs().total_cmp(&x.ratio.ln().abs()))
                .then((y.in_a + y.in_b).cmp(&(x.in_a + x.in_b)))
        });
        Ok(Comparison {
            a: na,
            b: nb,
            both: a.intersection_len(&b),
            config: config.clone(),
            candidates: candidates.len(),
            below_support: below,
            findings,
        })
    }

    /// The significant findings more common in A, best first.
    pub fn more_in_a(&self) -> impl Iterator<Item = &Difference> {
        self.findings
            .iter()
            .filter(|d| d.significant && d.ratio > 1.0)
    }

    /// The significant findings more common in B, best first.
    pub fn more_in_b(&self) -> impl Iterator<Item = &Difference> {
        self.findings
            .iter()
            .filter(|d| d.significant && d.ratio < 1.0)
    }
}
