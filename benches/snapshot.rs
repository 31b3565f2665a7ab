//! Snapshot throughput on the shared workload (1M customers, 200 tags, 14.4M memberships,
//! 5 attributes): writing to a `Vec<u8>` and loading from a byte slice (in place, and as a
//! stream for comparison), in bytes of
//! snapshot per second (targets: >= 1 GB/s each way), the load followed by the first
//! lookup by key (which builds the key -> id table), and the snapshot's size per
//! membership. `AUDIENCE_BENCH_N=10000000` runs at 10M customers.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use support::{Workload, build_store, check_shape};

fn snapshot(c: &mut Criterion) {
    let n = support::bench_customers();
    let w = Workload::from_env_or_generate(n);
    check_shape(&w);
    let (store, _) = build_store(&w);
    let mut bytes = Vec::new();
    audience::snapshot::write(&store, &mut bytes).expect("write");
    let loaded = audience::snapshot::read(&bytes[..]).expect("load");
    assert_eq!(loaded.customers(), store.customers());
    let memberships = w.memberships();
    eprintln!(
        "{n} customers, {memberships} memberships: snapshot {:.1} MiB, {:.2} bytes per membership (all sections), in memory {:.1} MiB",
        bytes.len() as f64 / (1u64 << 20) as f64,
        bytes.len() as f64 / memberships as f64,
        store.memory_usage().total() as f64 / (1u64 << 20) as f64,
    );

    let mut group = c.benchmark_group(format!("snapshot_{}", support::size_label(n)));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    let mut out = Vec::with_capacity(bytes.len());
    group.bench_function("write_to_vec", |b| {
        b.iter(|| {
            out.clear();
            audience::snapshot::write(&store, &mut out).expect("write")
        })
    });
    // The snapshot in memory, read in place; next to it, the same bytes read as a stream
    // (each section copied out first). The loaded store is dropped outside the timing.
    group.bench_function("load_from_slice", |b| {
        b.iter_with_large_drop(|| audience::snapshot::read_slice(&bytes).expect("load"))
    });
    group.bench_function("load_from_reader", |b| {
        b.iter_with_large_drop(|| audience::snapshot::read(&bytes[..]).expect("load"))
    });
    // The key -> id table is built on the first lookup by key, not by the load: this is
    // the load plus that first lookup (what an app that imports right after loading pays).
    let key = support::phone_key(n / 2);
    group.bench_function("load_then_first_key_lookup", |b| {
        b.iter_with_large_drop(|| {
            let s = audience::snapshot::read_slice(&bytes).expect("load");
            assert_eq!(s.customer(&key), Some(n / 2));
            s
        })
    });
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
