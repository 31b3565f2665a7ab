//! Insights on the shared workload (1M customers, 200 tags in 5 dimensions, plus the RFM
//! scores and the standard segments), next to the plain way (one `intersection_len` per
//! candidate or pair).
//!
//! - `profile_*`: the profile of a target (customers with at least 3 purchases) against
//!   every live customer, over the 200 tags plus the 15 RFM scores and the segments.
//!   Target: at most 50 ms at 10M (`AUDIENCE_BENCH_N=10000000` runs it by hand).
//! - `outcome_pairs_*`: the rate of an outcome (`purchase_count >= 2`) in every tag and
//!   every pair of tags from different dimensions. Target: at most 200 ms at 1M.
//!
//! Both results are checked against the plain way before timing.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::hint::black_box;

use audience::insights::{Candidates, InsightConfig, OutcomeRates, Profile};
use audience::{Context, Query, RfmConfig, RoaringBitmap, SegmentMap};
use criterion::{Criterion, criterion_group, criterion_main};
use support::{Workload, bench_customers, build_store, size_label};

fn insights(c: &mut Criterion) {
    let n = bench_customers();
    let w = Workload::from_env_or_generate(n);
    let (store, today) = build_store(&w);
    let scores = RfmConfig::new("last_purchase_day", "purchase_count", "monetary_cents")
        .segments(Some(SegmentMap::standard()))
        .score(&store, &Context::new(today))
        .expect("scores");
    let ctx = Context::new(today).with_terms(&scores);
    let target = store
        .select(&Query::parse("purchase_count >= 3").expect("query"), &ctx)
        .expect("target")
        .into_bitmap();
    let outcome = Query::parse("purchase_count >= 2").expect("query");
    let rebuyers = store.select(&outcome, &ctx).expect("outcome").into_bitmap();

    let with_rfm = Candidates::tags(&store).with_rfm(&scores);
    let sets: Vec<&RoaringBitmap> = (0..with_rfm.len())
        .map(|i| with_rfm.members(i).expect("set"))
        .collect();
    let config = InsightConfig::default();
    let profile = Profile::build(&store, &target, &with_rfm, &config).expect("profile");
    for f in &profile.findings {
        let i = with_rfm
            .iter()
            .position(|c| c.query == f.query)
            .expect("found");
        assert_eq!(f.in_target, sets[i].intersection_len(&target));
    }
    eprintln!(
        "profile: {} candidates, {} tested, {} significant; target {}",
        with_rfm.len(),
        profile.findings.len(),
        profile.significant().count(),
        profile.target
    );

    let tags = Candidates::tags(&store);
    let dims: Vec<&str> = tags.iter().map(|c| c.dimension.as_str()).collect();
    let tag_sets: Vec<&RoaringBitmap> = (0..tags.len())
        .map(|i| tags.members(i).expect("set"))
        .collect();
    // Support 1: every pair with a customer is tested, as the plain way counts them all.
    let every_pair = InsightConfig::default().min_support(1).expect("support");
    let rates =
        OutcomeRates::build(&store, &outcome, &ctx, &tags, &every_pair).expect("outcome rates");
    // The plain way over the same tags: those with a customer.
    let (pair_sets, pair_dims): (Vec<&RoaringBitmap>, Vec<&str>) = tag_sets
        .iter()
        .zip(&dims)
        .filter(|(s, _)| !s.is_empty())
        .map(|(s, d)| (*s, *d))
        .unzip();
    assert_eq!(rates.paired, pair_sets.len());
    let plain = plain_pairs(&pair_sets, &pair_dims, &rebuyers);
    assert_eq!(rates.pairs, plain.len() as u64);
    for f in rates.findings.iter().filter(|f| f.pair).step_by(13) {
        let (a, b) = f.query.split_once(" AND ").expect("pair");
        let ia = tags.iter().position(|c| c.query == a).expect("a");
        let ib = tags.iter().position(|c| c.query == b).expect("b");
        let both = tag_sets[ia] & tag_sets[ib];
        assert_eq!(f.customers, both.len(), "{}", f.query);
        assert_eq!(f.outcome, both.intersection_len(&rebuyers), "{}", f.query);
    }
    eprintln!(
        "outcome rates: {} tags paired, {} pairs across dimensions, {} findings tested, {} significant",
        rates.paired,
        rates.pairs,
        rates.findings.len(),
        rates.significant().count()
    );

    let mut group = c.benchmark_group(format!("insights_{}", size_label(n)));
    group.sample_size(10);
    group.bench_function("profile_tags_and_rfm", |b| {
        b.iter(|| Profile::build(&store, black_box(&target), &with_rfm, &config).expect("profile"))
    });
    group.bench_function("plain_profile_intersection_len", |b| {
        b.iter(|| {
            sets.iter()
                .map(|s| s.intersection_len(black_box(&target)))
                .sum::<u64>()
        })
    });
    group.bench_function("outcome_pairs_200_tags", |b| {
        b.iter(|| {
            OutcomeRates::build(&store, black_box(&outcome), &ctx, &tags, &every_pair)
                .expect("outcome rates")
        })
    });
    group.bench_function("plain_outcome_pairs_intersection_len", |b| {
        b.iter(|| plain_pairs(&pair_sets, &pair_dims, black_box(&rebuyers)))
    });
    group.finish();
}

/// Every pair of sets from different dimensions: its size and its customers with the
/// outcome, one `intersection_len` each (the sets' outcome parts computed once).
fn plain_pairs(sets: &[&RoaringBitmap], dims: &[&str], outcome: &RoaringBitmap) -> Vec<(u64, u64)> {
    let hit: Vec<RoaringBitmap> = sets.iter().map(|s| *s & outcome).collect();
    let mut out = Vec::new();
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            if dims[i] != dims[j] {
                out.push((
                    sets[i].intersection_len(sets[j]),
                    hit[i].intersection_len(sets[j]),
                ));
            }
        }
    }
    out
}

criterion_group!(benches, insights);
criterion_main!(benches);
