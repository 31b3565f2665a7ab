//! RFM scoring of the shared workload (1M customers, about 481k of whom purchased): the
//! peers' "RFM quintiles" row (pandas 222 ms, DuckDB 236 ms on the reference machine).
//! Target: at most 45 ms, with scores identical to a sort-based reference, checked here
//! before timing.
//!
//! Timed:
//! - `score_quintiles`: R, F and M quintile bitmaps, no segment map;
//! - `score_with_segments`: the same plus the standard 11 segments (what an app runs);
//! - `grid_and_tables`: the R x F grid and the segment table of a run;
//! - `query_count`: `rfm.r >= 4 AND rfm.segment != "Champions" AND stage/purchased` on the
//!   store holding the scores.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::hint::black_box;

use audience::{Context, Query, RfmConfig, RfmScore};
use criterion::{Criterion, criterion_group, criterion_main};
use support::{NEVER_PURCHASED, Workload, build_store};

const N: u32 = 1_000_000;

fn config() -> RfmConfig {
    RfmConfig::new("last_purchase_day", "purchase_count", "monetary_cents")
}

/// NTILE by sorting (value, id): the definition, written the obvious way.
fn reference_scores(w: &Workload) -> Vec<Option<RfmScore>> {
    let ids: Vec<u32> = (0..w.n)
        .filter(|&i| w.last_purchase_day[i as usize] != NEVER_PURCHASED)
        .collect();
    let ntile = |key: &dyn Fn(u32) -> i64, reverse: bool| -> Vec<u8> {
        let mut order: Vec<(i64, u32)> = ids.iter().map(|&i| (key(i), i)).collect();
        order.sort_unstable();
        let (len, n) = (order.len(), 5);
        let (q, rem) = (len / n, len % n);
        let mut score = vec![0u8; w.n as usize];
        for (rank, &(_, id)) in order.iter().enumerate() {
            let g = if rank < rem * (q + 1) {
                rank / (q + 1)
            } else {
                rem + (rank - rem * (q + 1)) / q
            };
            score[id as usize] = if reverse { n - g } else { g + 1 } as u8;
        }
        score
    };
    let r = ntile(
        &|i| i64::from(w.reference_day - w.last_purchase_day[i as usize]),
        true,
    );
    let f = ntile(&|i| i64::from(w.purchase_count[i as usize]), false);
    let m = ntile(&|i| w.monetary_cents[i as usize] as i64, false);
    (0..w.n as usize)
        .map(|i| {
            (r[i] > 0).then(|| RfmScore {
                r: r[i],
                f: f[i],
                m: m[i],
            })
        })
        .collect()
}

fn rfm(c: &mut Criterion) {
    let w = Workload::from_env_or_generate(N);
    let (store, today) = build_store(&w);
    let ctx = Context::new(today);

    let scores = config().score(&store, &ctx).expect("scores");
    let want = reference_scores(&w);
    let mismatches = (0..w.n)
        .filter(|&id| scores.score_of(id) != want[id as usize])
        .count();
    assert_eq!(
        mismatches, 0,
        "scores identical to the sort-based reference"
    );
    let scored = scores.scored().len();
    assert!(
        (440_000..=520_000).contains(&scored),
        "about 481k purchasers scored, got {scored}"
    );
    eprintln!(
        "rfm: {scored} of {} customers scored, {} never purchased; scores identical to the sort-based reference",
        w.n,
        scores.never_purchased().len()
    );
    eprintln!("{}", scores.score_table(audience::Measure::Monetary));
    eprintln!("{}", scores.segment_table());

    let mut group = c.benchmark_group("rfm_1m");
    let plain = config().segments(None);
    group.bench_function("score_quintiles", |b| {
        b.iter(|| plain.score(black_box(&store), &ctx).expect("scores"))
    });
    let full = config();
    group.bench_function("score_with_segments", |b| {
        b.iter(|| full.score(black_box(&store), &ctx).expect("scores"))
    });
    // The R rfm package's ten-segment table, read first-match: segments gathered cell by
    // cell instead of as boxes of score bitmaps.
    let ranges: [(&str, [(u8, u8); 3]); 10] = [
        ("Champions", [(4, 5), (4, 5), (4, 5)]),
        ("Loyal Customers", [(2, 5), (3, 5), (3, 5)]),
        ("Potential Loyalist", [(3, 5), (1, 3), (1, 3)]),
        ("New Customers", [(4, 5), (1, 1), (1, 1)]),
        ("Promising", [(3, 4), (1, 1), (1, 1)]),
        ("Need Attention", [(2, 3), (2, 3), (2, 3)]),
        ("About To Sleep", [(2, 3), (1, 2), (1, 2)]),
        ("At Risk", [(1, 2), (2, 5), (2, 5)]),
        ("Can't Lose Them", [(1, 1), (4, 5), (4, 5)]),
        ("Lost", [(1, 2), (1, 2), (1, 2)]),
    ];
    let table = ranges.iter().fold(
        audience::FirstMatchMap::new("Others"),
        |t, (name, [r, f, m])| {
            t.rule(
                audience::SegmentRule::new(*name)
                    .r(r.0..=r.1)
                    .f(f.0..=f.1)
                    .m(m.0..=m.1),
            )
        },
    );
    let first_match = config().first_match(Some(table));
    group.bench_function("score_with_first_match", |b| {
        b.iter(|| first_match.score(black_box(&store), &ctx).expect("scores"))
    });
    group.bench_function("grid_and_tables", |b| {
        b.iter(|| (black_box(&scores).grid(), scores.segment_table()))
    });
    let ctx = Context::new(today).with_terms(&scores);
    let q = Query::parse("rfm.r >= 4 AND rfm.segment != \"Champions\" AND stage/purchased")
        .expect("query");
    eprintln!(
        "rfm: {} customers for {q}",
        store.count(&q, &ctx).expect("count")
    );
    group.bench_function("query_count", |b| {
        b.iter(|| store.count(black_box(&q), &ctx).expect("count"))
    });
    group.finish();
}

criterion_group!(benches, rfm);
criterion_main!(benches);
