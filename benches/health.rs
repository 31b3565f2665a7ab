//! The weekly tag health report on the shared workload (1M customers, 200 tags, all
//! 19,900 pairs), next to the pair overlaps alone and the plain way of computing them
//! (one `intersection_len` per pair).
//!
//! Target: the whole report under 90 ms at 1M customers (pyroaring takes 0.45 s for the
//! 200 sizes and 19,900 pair overlaps alone on the reference machine).
//!
//! `AUDIENCE_PEERS_DATA` points the bench at the data set of `../shared/peers/gen_dataset.py`;
//! otherwise the Rust generator makes data of the same shape.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::hint::black_box;

use audience::RoaringBitmap;
use audience::health::{HealthConfig, Overlaps};
use criterion::{Criterion, criterion_group, criterion_main};
use support::{Workload, build_store};

const N: u32 = 1_000_000;

fn health(c: &mut Criterion) {
    let w = Workload::from_env_or_generate(N);
    let (store, today) = build_store(&w);
    let tags: Vec<&RoaringBitmap> = store
        .tags()
        .map(|t| store.members(t.id).expect("tag"))
        .collect();
    assert_eq!(tags.len(), 200);
    let config = HealthConfig::default().activity_attribute(Some("last_interaction_day"));

    // The sweep and the plain way agree on every pair; the report is sane.
    let overlaps = Overlaps::of(&tags).expect("overlaps");
    for (i, a) in tags.iter().enumerate() {
        for (j, b) in tags.iter().enumerate().skip(i + 1).step_by(7) {
            assert_eq!(overlaps.both(i, j), Some(a.intersection_len(b)), "{i} {j}");
        }
    }
    let report = audience::HealthReport::build(&store, today, &config).expect("report");
    let oversized = report.tags.iter().filter(|t| t.share > 0.40).count();
    assert_eq!(oversized, 6, "6 tags over 40% of customers");
    eprintln!(
        "report: {} findings, {} redundant pairs, {} subsets",
        report.findings.len(),
        report.redundant.len(),
        report.subsets.len()
    );

    let mut group = c.benchmark_group("health_1m");
    group.sample_size(10);
    group.bench_function("report", |b| {
        b.iter(|| audience::HealthReport::build(&store, today, black_box(&config)).expect("report"))
    });
    group.bench_function("overlaps_19900_pairs", |b| {
        b.iter(|| Overlaps::of(black_box(&tags)).expect("overlaps"))
    });
    group.bench_function("plain_intersection_len_19900_pairs", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for (i, a) in tags.iter().enumerate() {
                for bm in &tags[i + 1..] {
                    sum += a.intersection_len(bm);
                }
            }
            sum
        })
    });
    group.finish();
}

criterion_group!(benches, health);
criterion_main!(benches);
