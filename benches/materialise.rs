//! Audiences out: the ids (and keys) of each of the 13 workload queries' results, written
//! to a `Vec`, next to what they are measured against in the same run:
//!
//! - `iter_collect`: `segment.iter().collect::<Vec<u32>>()`, one iterator step per id (the
//!   figure of the reference table's "ids" column before bulk materialisation);
//! - `to_vec`: `Segment::to_vec`: the bitmap written in roaring's portable format and its
//!   containers expanded (arrays copied, bitset words by a byte table, runs filled);
//! - `next_many`: the alternative it was measured against, roaring's own container-wise
//!   `Iter::next_many` into a vector of the result's size (what `Segment::write_ids` uses);
//! - `portable_tz`: the portable bytes decoded with a trailing-zero loop for bitset words
//!   (the table's share of the gain);
//! - `select_to_vec`: the query evaluated and its ids written out, end to end (the
//!   reference table's "ids" column);
//! - `select_extend_kept`: the same into a buffer kept from one run to the next
//!   (`Segment::extend_ids`), as a sender that pages audience after audience does: what is
//!   left when no fresh pages have to be faulted in;
//! - `dense_ids`: the hand-written dense baseline's extraction (bit scan of its packed words,
//!   computed before timing);
//! - `keys_iter` / `keys_into`: external keys, by `Segment::keys` and in bulk.
//!
//! Throughput is reported in ids per second. `cargo bench --bench materialise` runs at 1M
//! customers; `AUDIENCE_BENCH_N=10000000` at 10M.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::hint::black_box;

use audience::{Context, Query, RoaringBitmap};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use support::{
    DenseIndex, WORKLOAD_EPOCH_DAYS, Workload, bits_to_ids, build_store, check_shape, peer_queries,
    to_query_text,
};

/// Decodes a bitmap through its portable serialization into `out` (the alternative to
/// `next_many`, measured side by side). Panics on bytes it does not understand: a bench.
fn portable_ids(bits: &RoaringBitmap, scratch: &mut Vec<u8>, out: &mut Vec<u32>) {
    scratch.clear();
    bits.serialize_into(&mut *scratch).unwrap();
    out.clear();
    out.reserve(bits.len() as usize);
    let b = scratch.as_slice();
    let u16_at = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let cookie = u32_at(0);
    let (size, runs, mut pos) = if cookie == 12346 {
        (u32_at(4) as usize, None, 8)
    } else {
        let size = (cookie >> 16) as usize + 1;
        (size, Some(4usize), 4 + size.div_ceil(8))
    };
    let desc = pos;
    pos += 4 * size;
    if runs.is_none() || size >= 4 {
        pos += 4 * size;
    }
    for i in 0..size {
        let high = u32::from(u16_at(desc + 4 * i)) << 16;
        let card = usize::from(u16_at(desc + 4 * i + 2)) + 1;
        let is_run = runs.is_some() && b[4 + i / 8] & (1 << (i % 8)) != 0;
        if is_run {
            let n = usize::from(u16_at(pos));
            for r in 0..n {
                let start = high | u32::from(u16_at(pos + 2 + 4 * r));
                let len = u32::from(u16_at(pos + 4 + 4 * r));
                out.extend(start..=start + len);
            }
            pos += 2 + 4 * n;
        } else if card <= 4096 {
            out.extend(
                b[pos..pos + 2 * card]
                    .chunks_exact(2)
                    .map(|c| high | u32::from(u16::from_le_bytes([c[0], c[1]]))),
            );
            pos += 2 * card;
        } else {
            for (w, c) in b[pos..pos + 8192].chunks_exact(8).enumerate() {
                let mut word = u64::from_le_bytes(c.try_into().unwrap());
                let base = high | (w as u32 * 64);
                while word != 0 {
                    out.push(base | word.trailing_zeros());
                    word &= word - 1;
                }
            }
            pos += 8192;
        }
    }
}

fn materialise(c: &mut Criterion) {
    let n = support::bench_customers();
    let w = Workload::from_env_or_generate(n);
    check_shape(&w);
    let dense = DenseIndex::build(&w);
    let (store, today) = build_store(&w);
    let ctx = Context::new(today);
    let label = support::size_label(n);

    let mut group = c.benchmark_group(format!("materialise_{label}"));
    let mut scratch = Vec::new();
    let mut out = Vec::new();
    for q in peer_queries() {
        let text = to_query_text(&q.expr, WORKLOAD_EPOCH_DAYS);
        let query = Query::parse(&text).expect("query parses");
        let seg = store.plan(&query, &ctx).expect("query binds").segment();
        let dense_words = dense.eval(&q.expr);
        let want = bits_to_ids(&dense_words);
        assert_eq!(seg.to_vec(), want, "{}", q.id);
        portable_ids(&seg, &mut scratch, &mut out);
        assert_eq!(out, want, "{}", q.id);
        eprintln!("{:<32} {:>9} ids", q.id, want.len());
        let id = &q.id[..3];
        group.throughput(Throughput::Elements(want.len().max(1) as u64));
        group.bench_function(BenchmarkId::new("iter_collect", id), |b| {
            b.iter(|| black_box(&seg).iter().collect::<Vec<u32>>())
        });
        group.bench_function(BenchmarkId::new("to_vec", id), |b| {
            b.iter(|| black_box(&seg).to_vec())
        });
        group.bench_function(BenchmarkId::new("select_to_vec", id), |b| {
            b.iter(|| {
                store
                    .plan(black_box(&query), &ctx)
                    .unwrap()
                    .segment()
                    .to_vec()
            })
        });
        // A sender that keeps its buffer from one audience to the next: no fresh pages.
        let mut kept: Vec<u32> = Vec::new();
        group.bench_function(BenchmarkId::new("select_extend_kept", id), |b| {
            b.iter(|| {
                kept.clear();
                store
                    .plan(black_box(&query), &ctx)
                    .unwrap()
                    .segment()
                    .extend_ids(&mut kept);
                kept.len()
            })
        });
        group.bench_function(BenchmarkId::new("next_many", id), |b| {
            b.iter(|| {
                let mut v = vec![0u32; seg.len() as usize];
                let n = black_box(&seg).write_ids(None, &mut v);
                v.truncate(n);
                v
            })
        });
        group.bench_function(BenchmarkId::new("portable_tz", id), |b| {
            b.iter(|| {
                portable_ids(black_box(&seg), &mut scratch, &mut out);
                out.len()
            })
        });
        group.bench_function(BenchmarkId::new("dense_ids", id), |b| {
            b.iter(|| bits_to_ids(black_box(&dense_words)))
        });
        group.bench_function(BenchmarkId::new("keys_iter", id), |b| {
            b.iter(|| {
                black_box(&seg)
                    .keys(&store)
                    .map(|(_, k)| k)
                    .collect::<Vec<_>>()
            })
        });
        group.bench_function(BenchmarkId::new("keys_into", id), |b| {
            b.iter(|| {
                let mut keys = Vec::new();
                black_box(&seg).keys_into(&store, &mut keys);
                keys
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_secs(1));
    targets = materialise
}
criterion_main!(benches);
