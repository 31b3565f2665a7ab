//! Building a store from data shaped like the shared workload (200 tags in 5 dimensions,
//! heavy-tailed sizes, ~14.4 memberships per customer): ingest throughput and memory per
//! membership. `cargo bench --bench store` runs at 1M customers; `AUDIENCE_BENCH_N=10000000`
//! for 10M; `AUDIENCE_PEERS_DATA=<dir>` to load data written by `gen_dataset.py`.
//!
//! Memory is measured with `Store::memory_usage()`: bytes of roaring containers (array,
//! bitset and run payloads plus 16 bytes per container header, from roaring's statistics)
//! and vector capacities; allocator overhead is not counted.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::time::Duration;

use std::hash::BuildHasher;

use audience::{Edit, KeyRef, RoaringBitmap, Store, TagSpec};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hashbrown::HashTable;
use support::{
    ATTRIBUTES, Columns, Workload, add_attributes_by_pairs, add_customers, add_tags, build_store,
    check_shape, today,
};

fn ingest(c: &mut Criterion) {
    let n = support::bench_customers();
    let w = Workload::from_env_or_generate(n);
    check_shape(&w);
    let memberships = w.memberships();
    let day = today(&w);

    let (store, _) = build_store(&w);
    let mem = store.memory_usage();
    eprintln!(
        "{n} customers, {memberships} memberships: memberships {:.3} B/membership, directory {:.1} B/customer, attributes {:.1} B/customer/attribute, total {:.1} MiB",
        mem.memberships as f64 / memberships as f64,
        mem.directory as f64 / f64::from(n),
        mem.attributes as f64 / f64::from(n) / 5.0,
        mem.total() as f64 / (1u64 << 20) as f64,
    );
    // Bytes a customer of the five attribute columns, by part.
    let (mut values, mut presence, mut index) = (0u64, 0u64, 0u64);
    for (name, _) in ATTRIBUTES {
        let m = store
            .attribute_memory(store.attribute_id(name).unwrap())
            .unwrap();
        eprintln!(
            "  {name}: values {:.2}, presence {:.2}, index {:.2} B/customer",
            m.values as f64 / f64::from(n),
            m.presence as f64 / f64::from(n),
            m.index as f64 / f64::from(n),
        );
        (values, presence, index) = (values + m.values, presence + m.presence, index + m.index);
    }
    eprintln!(
        "5 attribute columns: values {:.2}, presence {:.2}, index {:.2}, total {:.2} B/customer",
        values as f64 / f64::from(n),
        presence as f64 / f64::from(n),
        index as f64 / f64::from(n),
        (values + presence + index) as f64 / f64::from(n),
    );

    let mut group = c.benchmark_group(format!("ingest_{}", support::size_label(n)));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(memberships));
    group.bench_function("tags_200_bulk", |b| {
        let mut base = Store::new();
        add_customers(&mut base, &w);
        // The customers' records were drained (an app drains after every commit), so the
        // load's records start an empty journal, on and off alike.
        base.journal_mut().take();
        b.iter(|| {
            let mut s = base.clone();
            add_tags(&mut s, &w, day);
            s
        })
    });
    // The same with the change journal off: what journaling costs a bulk load (each tag's
    // members serialised once into a record).
    group.bench_function("tags_200_bulk_journal_off", |b| {
        let mut base = Store::new();
        add_customers(&mut base, &w);
        // The customers' records were drained (an app drains after every commit), so the
        // load's records start an empty journal, on and off alike.
        base.journal_mut().take();
        base.journal_mut().set_enabled(false);
        b.iter(|| {
            let mut s = base.clone();
            add_tags(&mut s, &w, day);
            s
        })
    });
    {
        let mut s = Store::new();
        add_customers(&mut s, &w);
        s.journal_mut().take();
        add_tags(&mut s, &w, day);
        eprintln!(
            "journal of 200 bulk tag loads ({memberships} memberships): {:.1} MiB",
            s.journal().pending_bytes() as f64 / (1u64 << 20) as f64
        );
    }
    group.bench_function("tags_200_bulk_owned", |b| {
        let mut base = Store::new();
        add_customers(&mut base, &w);
        // The customers' records were drained (an app drains after every commit), so the
        // load's records start an empty journal, on and off alike.
        base.journal_mut().take();
        let edit = Edit::new("bench", day);
        b.iter(|| {
            let mut s = base.clone();
            for t in &w.tags {
                let id = s
                    .create_tag(
                        &edit,
                        TagSpec::new(t.name.as_str()).dimension(t.dimension.as_str()),
                    )
                    .expect("tag");
                let set =
                    RoaringBitmap::from_sorted_iter(t.members.iter().copied()).expect("sorted");
                s.add_tag_bulk_owned(id, set, day).expect("members");
            }
            s
        })
    });
    group.throughput(Throughput::Elements(u64::from(n)));
    group.bench_function("customers_phone_keys", |b| {
        b.iter(|| {
            let mut s = Store::new();
            add_customers(&mut s, &w);
            s
        })
    });
    group.bench_function("customers_phone_keys_journal_off", |b| {
        b.iter(|| {
            let mut s = Store::new();
            s.journal_mut().set_enabled(false);
            add_customers(&mut s, &w);
            s
        })
    });
    group.throughput(Throughput::Elements(u64::from(n) * 5));
    // Through `set_values`: a (customer, Value) pair at a time, the pairs built in the loop.
    group.bench_function("attributes_5", |b| {
        let mut base = Store::new();
        add_customers(&mut base, &w);
        // The customers' records were drained (an app drains after every commit), so the
        // load's records start an empty journal, on and off alike.
        base.journal_mut().take();
        b.iter(|| {
            let mut s = base.clone();
            add_attributes_by_pairs(&mut s, &w);
            s
        })
    });
    group.bench_function("attributes_5_journal_off", |b| {
        let mut base = Store::new();
        add_customers(&mut base, &w);
        base.journal_mut().take();
        base.journal_mut().set_enabled(false);
        b.iter(|| {
            let mut s = base.clone();
            add_attributes_by_pairs(&mut s, &w);
            s
        })
    });
    // Through `set_column`: each whole column in id order, from slices built once (a bulk
    // load holds its columns so).
    let columns = Columns::of(&w);
    group.bench_function("column_5", |b| {
        let mut base = Store::new();
        add_customers(&mut base, &w);
        base.journal_mut().take();
        b.iter(|| {
            let mut s = base.clone();
            columns.load(&mut s);
            s
        })
    });
    group.bench_function("column_5_journal_off", |b| {
        let mut base = Store::new();
        add_customers(&mut base, &w);
        base.journal_mut().take();
        base.journal_mut().set_enabled(false);
        b.iter(|| {
            let mut s = base.clone();
            columns.load(&mut s);
            s
        })
    });
    // A nightly refresh: the five columns loaded again into the store that holds them
    // (no clone shares them), the journal drained to its file (here a sink) after each.
    group.bench_function("column_5_reload", |b| {
        let mut s = Store::new();
        add_customers(&mut s, &w);
        columns.load(&mut s);
        s.journal_mut().take();
        b.iter(|| {
            columns.reload(&mut s);
            s.journal_mut().drain_into(std::io::sink()).expect("sink")
        })
    });
    // The slices built from the workload's vectors (days to `Option<Day>`, cents to i64).
    group.bench_function("column_5_inputs", |b| b.iter(|| Columns::of(&w)));
    group.finish();

    let mut group = c.benchmark_group(format!("store_ops_{}", support::size_label(n)));
    group.bench_function("tags_of_one_customer", |b| {
        let mut i = 0u32;
        b.iter(|| {
            i = (i + 7919) % n;
            store.tags_of(i).unwrap().len()
        })
    });
    group.bench_function("lookup_phone_key", |b| {
        let mut i = 0u32;
        b.iter(|| {
            i = (i + 7919) % n;
            store.customer(&support::phone_key(i))
        })
    });
    group.bench_function("clone_store", |b| b.iter(|| store.clone()));
    group.bench_function("set_value_after_clone", |b| {
        let attr = store.attribute_id("purchase_count").unwrap();
        b.iter(|| {
            let mut s = store.clone();
            s.set_value(1, attr, 9).unwrap();
            s
        })
    });
    group.finish();
}

/// The directory's key -> id table (a swiss table of `u32` ids whose keys are read through
/// an id-indexed vector) filled with the workload's phone keys, one table, key by key, under
/// std's SipHash `RandomState`, hashbrown's default hasher (foldhash) and a keyed folded
/// multiply (`fold((digits ^ k1) * k2)`, the directory's phone hash), to pick the directory's
/// hasher by measurement. Each key is looked up first, as `Store::ensure_customers` does.
fn directory_hasher(c: &mut Criterion) {
    let n = support::bench_customers();
    let mut group = c.benchmark_group(format!("directory_hasher_{}", support::size_label(n)));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(u64::from(n)));
    group.bench_function("std_siphash", |b| {
        let s = std::hash::RandomState::new();
        b.iter(|| fill_one_table(|k| s.hash_one(KeyRef::Phone(k)), n))
    });
    group.bench_function("foldhash", |b| {
        let s = hashbrown::DefaultHashBuilder::default();
        b.iter(|| fill_one_table(|k| s.hash_one(KeyRef::Phone(k)), n))
    });
    group.bench_function("keyed_multiply", |b| {
        let m = KeyedMultiply::new();
        b.iter(|| fill_one_table(|k| m.hash(k), n))
    });
    group.finish();
}

/// The directory's phone hash, as the directory computes it: secrets drawn from a randomly
/// seeded foldhash, one 64 x 64 -> 128 bit multiply folded to 64 bits.
struct KeyedMultiply {
    k1: u64,
    k2: u64,
}

impl KeyedMultiply {
    fn new() -> KeyedMultiply {
        let s = hashbrown::DefaultHashBuilder::default();
        KeyedMultiply {
            k1: s.hash_one(1u64),
            k2: s.hash_one(2u64) | 1,
        }
    }

    fn hash(&self, k: u64) -> u64 {
        let p = u128::from(k ^ self.k1) * u128::from(self.k2);
        (p as u64) ^ ((p >> 64) as u64)
    }
}

/// The one-table directory the crate had before its table was sharded: keys in an
/// id-indexed vector, one swiss table of ids, each key looked up then inserted.
fn fill_one_table(hash: impl Fn(u64) -> u64, n: u32) -> usize {
    let mut keys: Vec<u64> = Vec::with_capacity(n as usize);
    let mut table: HashTable<u32> = HashTable::with_capacity(n as usize);
    for i in 0..n {
        let key = 66_800_000_000 + u64::from(i);
        let h = hash(key);
        if table.find(h, |&id| keys[id as usize] == key).is_some() {
            continue;
        }
        keys.push(key);
        let id = (keys.len() - 1) as u32;
        table.insert_unique(h, id, |&other| hash(keys[other as usize]));
    }
    table.len()
}

/// Registering n phone keys in an empty store, next to the one-table loop above (foldhash,
/// the directory part alone, no journal, no live set) in the same run: `ensure_customers`
/// (keys as `CustomerKey`s, journal on), `ensure_phones` (digits as `u64`, journal on and
/// off), and a lookup of every key once registered (`Store::customer`).
fn directory_bulk(c: &mut Criterion) {
    let n = support::bench_customers();
    let digits: Vec<u64> = (0..n).map(|i| 66_800_000_000 + u64::from(i)).collect();
    let mut group = c.benchmark_group(format!("directory_bulk_{}", support::size_label(n)));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(u64::from(n)));
    group.bench_function("baseline_one_table_foldhash", |b| {
        let s = hashbrown::DefaultHashBuilder::default();
        b.iter(|| fill_one_table(|k| s.hash_one(KeyRef::Phone(k)), n))
    });
    group.bench_function("ensure_customers", |b| {
        b.iter(|| {
            let mut s = Store::new();
            s.ensure_customers((0..n).map(support::phone_key))
                .expect("keys");
            s
        })
    });
    group.bench_function("ensure_phones", |b| {
        b.iter(|| {
            let mut s = Store::new();
            s.ensure_phones(&digits).expect("keys");
            s
        })
    });
    group.bench_function("ensure_phones_journal_off", |b| {
        b.iter(|| {
            let mut s = Store::new();
            s.journal_mut().set_enabled(false);
            s.ensure_phones(&digits).expect("keys");
            s
        })
    });
    let mut store = Store::new();
    store.ensure_phones(&digits).expect("keys");
    eprintln!(
        "directory of {n} phone keys: {:.1} bytes per key",
        store.memory_usage().directory as f64 / f64::from(n)
    );
    group.bench_function("lookup_every_key", |b| {
        b.iter(|| {
            digits
                .iter()
                .filter(|&&d| store.customer(&audience::CustomerKey::Phone(d)).is_some())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, ingest, directory_hasher, directory_bulk);
criterion_main!(benches);
