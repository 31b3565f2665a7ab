//! Smoke bench of the shared workload: builds the 1M-customer data set (or loads it from
//! `AUDIENCE_PEERS_DATA`), checks its shape loudly, and times the dense-bitset oracle on the
//! 13 peer queries.

mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use support::{DenseIndex, MAX_DAY, WORKLOAD_EPOCH_DAYS, Workload, peer_queries, to_query_text};

const N: u32 = 1_000_000;

/// Fails the bench when the data does not have the workload's shape (README of
/// `../shared/peers/`).
fn check_shape(w: &Workload) {
    let n = u64::from(w.n);
    assert_eq!(w.tags.len(), 200, "200 tags");
    let m = w.memberships();
    assert!(
        (135 * n / 10..=155 * n / 10).contains(&m),
        "~14.4 memberships per customer, got {m}"
    );
    let empty = w.tags.iter().filter(|t| t.members.is_empty()).count();
    assert_eq!(empty, 3, "3 empty tags");
    let large = w
        .tags
        .iter()
        .filter(|t| t.members.len() as u64 * 10 > 4 * n)
        .count();
    assert_eq!(large, 6, "6 tags over 40% of customers");
    let buyers = w.purchasers();
    assert!(
        (44 * n / 100..=52 * n / 100).contains(&buyers),
        "~48% purchasers, got {buyers}"
    );
    assert!(
        w.last_interaction_day
            .iter()
            .all(|d| (0..=MAX_DAY).contains(d))
    );
    for t in &w.tags {
        assert!(
            t.members.windows(2).all(|p| p[0] < p[1]),
            "{} sorted and unique",
            t.name
        );
        assert!(
            t.members.last().is_none_or(|&l| l < w.n),
            "{} ids below n",
            t.name
        );
    }
}

fn workload_smoke(c: &mut Criterion) {
    let w = Workload::from_env_or_generate(N);
    check_shape(&w);
    let dense = DenseIndex::build(&w);
    let queries = peer_queries();
    assert_eq!(queries.len(), 13);
    for q in &queries {
        let count = dense.count(&q.expr);
        assert_eq!(
            count,
            dense.ids(&q.expr).len() as u64,
            "{}: count and ids agree",
            q.id
        );
        match q.id {
            "q06_empty_exclusive_tiers" => assert_eq!(count, 0, "q06 is always empty"),
            "q10_tiny_tags" => assert_eq!(count, 17, "q10 is 7 + 10 + 0 members"),
            _ => {}
        }
        eprintln!(
            "{:<32} {count:>8}  {}",
            q.id,
            to_query_text(&q.expr, WORKLOAD_EPOCH_DAYS)
        );
    }

    let mut group = c.benchmark_group("workload_smoke/dense_count_1m");
    for q in &queries {
        group.bench_function(q.id, |b| b.iter(|| dense.count(black_box(&q.expr))));
    }
    group.finish();
}

criterion_group!(benches, workload_smoke);
criterion_main!(benches);
