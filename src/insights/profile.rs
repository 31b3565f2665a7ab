//! A target segment against a base: which candidates are over- or under-represented.

use roaring::RoaringBitmap;

use super::candidates::Candidates;
use super::stats::{Test, rates};
use super::{InsightConfig, correct, lift, ratio};
use crate::error::Error;
use crate::store::Store;

/// One candidate in a [`Profile`].
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ProfileFinding {
    /// The candidate's dimension.
    pub dimension: String,
    /// The candidate's name within its dimension.
    pub label: String,
    /// The query text that selects the candidate.
    pub query: String,
    /// Customers of the target in the candidate.
    pub in_target: u64,
    /// Customers of the base in the candidate.
    pub in_base: u64,
    /// `in_target` over the target's size.
    pub target_share: f64,
    /// `in_base` over the base's size.
    pub base_share: f64,
    /// `target_share / base_share`: above 1, the candidate is over-represented in the
    /// target.
    #[cfg_attr(feature = "serde", serde(with = "super::unbounded"))]
    pub lift: f64,
    /// The test that gave `p`.
    pub test: Test,
    /// The p-value of the target against the rest of the base.
    pub p: f64,
    /// The Benjamini-Hochberg q-value over every candidate tested.
    pub q: f64,
    /// `q` is at most the false discovery rate.
    pub significant: bool,
}

/// What sets a target segment apart from a base: every candidate's share in both, the lift
/// and its significance, best findings first (significant ones first, then the largest
/// lift in either direction: `|ln lift|`). `Display` prints it as text.
///
/// Cost: one `intersection_len` with the target per candidate (the base's counts are the
/// candidates' sizes when the base is every live customer).
///
/// Pairs of candidates: a profile's lift is also the target's rate inside a candidate over
/// its rate in the base, so [`OutcomeRates`](super::OutcomeRates) with the target as the
/// outcome (`@target`, the target passed with `Context::with_set`) gives every pair's lift
/// (`lift_over_base`), counts and p-value, in one sweep.
///
/// ```
/// use audience::insights::{Candidates, InsightConfig, Profile};
/// use audience::{CustomerKey, Day, Edit, RoaringBitmap, Store, TagSpec};
///
/// let mut store = Store::new();
/// let e = Edit::new("admin", Day::EPOCH);
/// let line = store.create_tag(&e, TagSpec::new("line").dimension("channel"))?;
/// let web = store.create_tag(&e, TagSpec::new("web").dimension("channel"))?;
/// let mut vip = RoaringBitmap::new();
/// for i in 0..1000u32 {
///     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
///     store.add_tag(c, if i % 2 == 0 { line } else { web }, Day::EPOCH)?;
///     // VIPs: 100 customers, 90 of them from LINE.
///     if (i < 180 && i % 2 == 0) || (i >= 180 && i < 200 && i % 2 == 1) {
///         vip.insert(c);
///     }
/// }
/// let cands = Candidates::tags(&store);
/// let profile = Profile::build(&store, &vip, &cands, &InsightConfig::default())?;
/// // Web is rarer among VIPs (10% against 50%: lift 0.2), LINE commoner (lift 1.8).
/// let (web, line) = (&profile.findings[0], &profile.findings[1]);
/// assert_eq!((web.query.as_str(), web.in_target), ("channel:web", 10));
/// assert_eq!((line.query.as_str(), line.in_target), ("channel:line", 90));
/// assert!((web.lift - 0.2).abs() < 1e-9 && (line.lift - 1.8).abs() < 1e-9);
/// assert!(web.significant && line.significant);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Profile {
    /// Customers of the target (inside the base).
    pub target: u64,
    /// Customers of the base.
    pub base: u64,
    /// The settings used.
    pub config: InsightConfig,
    /// Candidates examined.
    pub candidates: usize,
    /// Candidates left untested for lack of support.
    pub below_support: usize,
    /// The tested candidates, best first.
    pub findings: Vec<ProfileFinding>,
}

impl Profile {
    /// The profile of `target` against every live customer.
    pub fn build(
        store: &Store,
        target: &RoaringBitmap,
        candidates: &Candidates<'_>,
        config: &InsightConfig,
    ) -> Result<Profile, Error> {
        build(store, target, None, candidates, config)
    }

    /// The profile of `target` against `base` (the target's customers outside the base
    /// are left out).
    pub fn build_within(
        store: &Store,
        target: &RoaringBitmap,
        base: &RoaringBitmap,
        candidates: &Candidates<'_>,
        config: &InsightConfig,
    ) -> Result<Profile, Error> {
        build(store, target, Some(base), candidates, config)
    }

    /// The significant findings, best first.
    pub fn significant(&self) -> impl Iterator<Item = &ProfileFinding> {
        self.findings.iter().filter(|f| f.significant)
    }
}

/// The customers of candidate `i` in the base: its size when the base is every live
/// customer of the candidates' store and the set holds only such customers.
pub(super) fn in_base(
    store: &Store,
    cands: &Candidates<'_>,
    i: usize,
    base: Option<&RoaringBitmap>,
) -> u64 {
    let set = cands.set(i);
    match base {
        None if cands.is_live(i) && std::ptr::eq(store, cands.store()) => set.len(),
        None => set.intersection_len(store.customers()),
        Some(b) => set.intersection_len(b),
    }
}

fn build(
    store: &Store,
    target: &RoaringBitmap,
    base: Option<&RoaringBitmap>,
    cands: &Candidates<'_>,
    config: &InsightConfig,
) -> Result<Profile, Error> {
    let base_set = base.unwrap_or(store.customers());
    let target = target & base_set;
    let (t, b) = (target.len(), base_set.len());
    let support = config.minimum_support();
    let mut findings = Vec::new();
    let mut below = 0;
    for (i, c) in cands.iter().enumerate() {
        let in_target = cands.set(i).intersection_len(&target);
        let in_base = in_base(store, cands, i, base);
        let expected = ratio(in_base, b) * t as f64;
        if in_target.max(expected as u64) < support {
            below += 1;
            continue;
        }
        let (target_share, base_share) = (ratio(in_target, t), ratio(in_base, b));
        let (test, p) = rates(in_target, t, in_base - in_target, b - t);
        findings.push(ProfileFinding {
            dimension: c.dimension.clone(),
            label: c.label.clone(),
            query: c.query.clone(),
            in_target,
            in_base,
            target_share,
            base_share,
            lift: lift(target_share, base_share),
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
            .then(y.lift.ln().abs().total_cmp(&x.lift.ln().abs()))
            .then(y.in_target.cmp(&x.in_target))
    });
    Ok(Profile {
        target: t,
        base: b,
        config: config.clone(),
        candidates: cands.len(),
        below_support: below,
        findings,
    })
}
