//! The 13 segment queries of `../shared/peers/queries.json` on the shared data shape, counted
//! and materialised by `audience`, next to the hand-written dense-bitset baseline measured in
//! the same run (the ratio is what counts: absolute figures depend on the machine).
//!
//! `cargo bench --bench queries` runs at 1M customers. Set `AUDIENCE_BENCH_N=10000000` for
//! 10M, and `AUDIENCE_PEERS_DATA=<dir>` to load data written by `gen_dataset.py`.
//! Every query's count is checked against the dense oracle before it is timed.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::hint::black_box;

use audience::{Context, Query};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use support::{
    DenseIndex, WORKLOAD_EPOCH_DAYS, Workload, build_store, check_shape, peer_queries,
    to_query_text,
};

fn queries(c: &mut Criterion) {
    let n = support::bench_customers();
    let w = Workload::from_env_or_generate(n);
    check_shape(&w);
    let dense = DenseIndex::build(&w);
    let (store, today) = build_store(&w);
    let ctx = Context::new(today);
    let label = support::size_label(n);

    let mut group = c.benchmark_group(format!("queries_{label}"));
    // Large unions keep dense copies of the tags they read (built by the first count):
    // what that first count costs, and what the copies add to the memberships' memory.
    let memberships_before = store.memory_usage().memberships;
    for q in peer_queries() {
        let text = to_query_text(&q.expr, WORKLOAD_EPOCH_DAYS);
        let query = Query::parse(&text).expect("query parses");
        let plan = store.plan(&query, &ctx).expect("query binds");
        let want = dense.count(&q.expr);
        let first = std::time::Instant::now();
        assert_eq!(plan.count(), want, "{}: {text}", q.id);
        let first = first.elapsed();
        assert_eq!(plan.segment().len(), want, "{}: {text}", q.id);
        eprintln!(
            "{:<32} {want:>9}  first count {:>8.3} ms  {text}",
            q.id,
            first.as_secs_f64() * 1e3
        );
        let id = &q.id[..3];
        group.bench_function(BenchmarkId::new("count", id), |b| {
            b.iter(|| store.plan(black_box(&query), &ctx).unwrap().count())
        });
        group.bench_function(BenchmarkId::new("dense_count", id), |b| {
            b.iter(|| dense.count(black_box(&q.expr)))
        });
        group.bench_function(BenchmarkId::new("select", id), |b| {
            b.iter(|| store.plan(black_box(&query), &ctx).unwrap().segment())
        });
        group.bench_function(BenchmarkId::new("dense_select", id), |b| {
            b.iter(|| dense.eval(black_box(&q.expr)))
        });
    }
    let memberships_after = store.memory_usage().memberships;
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    eprintln!(
        "memberships: {:.1} MiB before the queries, {:.1} MiB after ({:.1} MiB of dense copies, {:.2} bytes per membership after)",
        mib(memberships_before),
        mib(memberships_after),
        mib(memberships_after - memberships_before),
        memberships_after as f64 / w.memberships() as f64,
    );
    group.bench_function("parse_and_bind_q13", |b| {
        let text = to_query_text(&peer_queries()[12].expr, WORKLOAD_EPOCH_DAYS);
        b.iter(|| {
            store
                .plan(&Query::parse(black_box(&text)).unwrap(), &ctx)
                .unwrap()
                .explain()
                .steps
                .len()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = queries
}
criterion_main!(benches);
