//! Campaign toolkit at 1M customers (the shared workload shape): preview and split of a
//! ~320k audience (target: preview + 2-way split under 10 ms), stratified split, sample,
//! breakdown, the frequency-cap set against a dense per-customer counter, and a send plan.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::hint::black_box;

use audience::campaign::{self, CapRule, Hour, SendLog, SendPlan, Size, SplitSpec};
use audience::{Context, Query, RoaringBitmap};
use criterion::{Criterion, criterion_group, criterion_main};
use support::{Workload, build_store};

const N: u32 = 1_000_000;
/// Purchasers subscribed to email who did not unsubscribe: 320,265 customers of the
/// generated workload.
const AUDIENCE: &str =
    "stage/purchased AND activity/email_subscribed EXCLUDE activity/unsubscribed_email";

fn ab() -> SplitSpec {
    SplitSpec::new(2025)
        .group("A", Size::Count(1000))
        .unwrap()
        .group("B", Size::Count(1000))
        .unwrap()
        .group("rest", Size::REST)
        .unwrap()
}

fn halves() -> SplitSpec {
    SplitSpec::new(2025)
        .group("A", Size::Weight(1))
        .unwrap()
        .group("B", Size::Weight(1))
        .unwrap()
}

/// xorshift64*: the bench's own deterministic random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn campaign_bench(c: &mut Criterion) {
    let w = Workload::from_env_or_generate(N);
    let (store, today) = build_store(&w);
    let query = Query::parse(AUDIENCE).unwrap();
    let ctx = Context::new(today);
    let preview = campaign::preview(&store, &query, &ctx).unwrap();
    let audience = preview.audience.clone();
    eprintln!("audience: {} customers\n{}", preview.size, preview.explain);
    assert!((250_000..=400_000).contains(&preview.size));

    let mut g = c.benchmark_group("campaign_1m");
    g.bench_function("preview", |b| {
        b.iter(|| campaign::preview(&store, black_box(&query), &ctx).unwrap())
    });
    g.bench_function("split_ab_1000_1000_rest", |b| {
        b.iter(|| campaign::split(&store, black_box(&audience), &ab()).unwrap())
    });
    g.bench_function("split_halves", |b| {
        b.iter(|| campaign::split(&store, black_box(&audience), &halves()).unwrap())
    });
    g.bench_function("preview_and_split_ab", |b| {
        b.iter(|| {
            let p = campaign::preview(&store, black_box(&query), &ctx).unwrap();
            campaign::split(&store, &p.audience, &ab()).unwrap()
        })
    });
    g.bench_function("preview_and_split_halves", |b| {
        b.iter(|| {
            let p = campaign::preview(&store, black_box(&query), &ctx).unwrap();
            campaign::split(&store, &p.audience, &halves()).unwrap()
        })
    });
    // Stratified by the five exclusive wealth tiers (one tag each, every customer in one).
    let tiers: Vec<_> = ["budget", "value", "mid", "premium", "luxury"]
        .iter()
        .map(|t| store.tag_id(&format!("power/tier_{t}")).unwrap())
        .collect();
    let stratified = ab().stratify_by_tags(tiers);
    let s = campaign::split(&store, &audience, &stratified).unwrap();
    eprintln!("stratified by wealth tier: {} strata", s.strata.len());
    g.bench_function("split_ab_stratified_by_tier", |b| {
        b.iter(|| campaign::split(&store, black_box(&audience), &stratified).unwrap())
    });
    g.bench_function("sample_1000", |b| {
        b.iter(|| campaign::sample(&store, black_box(&audience), 1000, 7).unwrap())
    });
    g.bench_function("breakdown_source_channel", |b| {
        b.iter(|| campaign::breakdown(&store, black_box(&audience), "source_channel").unwrap())
    });
    g.bench_function("send_plan_180_per_minute", |b| {
        b.iter(|| SendPlan::new(black_box(&audience), 180).unwrap())
    });

    // Frequency caps: 25 hours of automated sends, each hour 50k random customers on
    // WhatsApp (some of them twice) and 20k on LINE, plus the 320k campaign blast.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut log = SendLog::new();
    let start = Hour::start_of(today);
    let mut all_sends: Vec<RoaringBitmap> = Vec::new();
    for hour in 0..25 {
        for (channel, k) in [("whatsapp", 50_000), ("whatsapp", 5_000), ("line", 20_000)] {
            let set: RoaringBitmap = (0..k).map(|_| (rng.next() % u64::from(N)) as u32).collect();
            log.record(&store, start + hour, channel, &set).unwrap();
            all_sends.push(set);
        }
    }
    log.record(&store, start + 12, "whatsapp", &audience)
        .unwrap();
    all_sends.push(audience.bitmap().clone());
    let now = start + 24;
    let rule = CapRule::new(3, 24).unwrap();
    let capped = log.capped(now, &rule).unwrap();
    eprintln!(
        "cap: {} customers got at least 3 messages in 24 hours ({} buckets)",
        capped.len(),
        log.bucket_count()
    );
    // The same with a dense per-customer counter, as one might write it by hand.
    let dense = |sends: &[RoaringBitmap], k: u8| -> RoaringBitmap {
        let mut counts = vec![0u8; N as usize];
        for s in sends {
            for id in s {
                counts[id as usize] = counts[id as usize].saturating_add(1);
            }
        }
        counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c >= k)
            .map(|(i, _)| i as u32)
            .collect()
    };
    assert_eq!(dense(&all_sends, 3), capped);
    g.bench_function("capped_3_in_24h", |b| {
        b.iter(|| log.capped(black_box(now), &rule).unwrap())
    });
    g.bench_function("capped_5_in_24h", |b| {
        b.iter(|| log.capped(black_box(now), &CapRule::recommended()).unwrap())
    });
    g.bench_function("capped_3_in_24h_dense_counter_baseline", |b| {
        b.iter(|| dense(black_box(&all_sends), 3))
    });
    g.finish();
}

criterion_group!(benches, campaign_bench);
criterion_main!(benches);
