//! Import and export throughput.
//!
//! - `import/new_customers`: 1M rows of `phone,tag1,tag2,tag3` (E.164 digits, three of 50
//!   existing tag names typed without quotes, as Excel users type them, read with
//!   `UnnamedColumns::Tags`) into a store that
//!   has the tags but no customers: parse, normalise, dedupe, resolve, validate, register
//!   1M customers, apply 3M memberships. Target: >= 1M rows/s. The default 5,000-row batch
//!   limit is raised with `max_rows` for this.
//! - `import/national_one_country` and `import/national_three_countries`: the same rows
//!   with Thai mobiles written nationally (`0812000000`), read with Thailand as the one
//!   expected country, and with Hong Kong, Taiwan and Thailand expected (every number is
//!   tried in each; none fits two). Target: >= 1M rows/s for three countries.
//! - `import/existing_customers`: the same file again into the store it built (every
//!   customer known, every membership re-assigned): the re-tagging path, in place.
//! - `import/seed_batch_5000`: a seeds-sized batch (5,000 rows, 3 tags each, existing
//!   customers) into the shared 1M-customer workload store with its 200 tags, in place;
//!   and `check_5000`, the dry run of the same file.
//! - `export/csv`: CSV rows (key and tags) of all 1M customers of the workload store;
//!   `export/hashed`: SHA-256 audiences of them; `export/clickhouse`: every tag as a
//!   groupBitmap state.
//! - `import/sheet_100k` (with `--features xlsx`): 100,000 rows of an `.xlsx` workbook,
//!   beside `import/csv_100k`, the same rows as CSV, in the same run.
//!
//! `AUDIENCE_BENCH_N` and `AUDIENCE_PEERS_DATA` work as for the other benches.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::hint::black_box;
use std::time::Duration;

use audience::export::{AdPlatform, BitmapFormat, Export, write_hashed_phones, write_tag_bitmaps};
use audience::import::{Importer, UnnamedColumns};
use audience::{Country, Edit, Store, TagSpec};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use support::{Workload, build_store, check_shape};

const ROWS: u64 = 1_000_000;
const POOL: usize = 50;

/// A small deterministic generator (xorshift), so the file is the same every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `rows` rows of `phone,tag1,tag2,tag3` with distinct Thai mobile numbers and three
/// distinct names of `names`.
fn file(rows: u64, first_phone: u64, names: &[String], seed: u64) -> String {
    file_with(rows, first_phone, names, seed, "")
}

/// As [`file`], each number written after `lead` (`"0"`: Thai mobiles written nationally,
/// `0812000000`).
fn file_with(rows: u64, first_phone: u64, names: &[String], seed: u64, lead: &str) -> String {
    let mut rng = Lcg(seed);
    let mut out = String::with_capacity(rows as usize * 40 + 32);
    out.push_str("phone,tags\n");
    for i in 0..rows {
        let a = (rng.next() % names.len() as u64) as usize;
        let b = (a + 1 + (rng.next() % (names.len() as u64 - 2)) as usize) % names.len();
        let mut c = (b + 1) % names.len();
        if c == a {
            c = (c + 1) % names.len();
        }
        out.push_str(&format!(
            "{lead}{},{},{},{}\n",
            first_phone + i,
            names[a],
            names[b],
            names[c]
        ));
    }
    out
}

fn import(c: &mut Criterion) {
    let edit = Edit::new("bench", audience::Day::from_ymd(2025, 1, 1).unwrap());
    let today = audience::Day::from_ymd(2025, 1, 6).unwrap();
    let names: Vec<String> = (0..POOL).map(|i| format!("tag-{i:02}")).collect();
    let mut tags_only = Store::new();
    for n in &names {
        tags_only
            .create_tag(&edit, TagSpec::new(n.as_str()))
            .unwrap();
    }
    let text = file(ROWS, 66_800_000_000, &names, 0x9E37_79B9_7F4A_7C15);
    // The tags after the tags column have no header: read them as tags.
    let typed = || Importer::new().unnamed_columns(UnnamedColumns::Tags);
    let importer = typed().max_rows(ROWS).unwrap();

    // Check once, outside the timing.
    let mut full = tags_only.clone();
    let report = importer
        .import_str(&mut full, &text, &Edit::new("import", today))
        .unwrap();
    assert_eq!(report.customers_created, ROWS);
    assert_eq!(report.memberships_added, 3 * ROWS);
    eprintln!(
        "import input: {} rows, {:.1} MiB",
        ROWS,
        text.len() as f64 / (1 << 20) as f64
    );

    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS));
    group.bench_function("new_customers", |b| {
        b.iter_batched(
            || tags_only.clone(),
            |mut store| {
                let r = importer
                    .import_str(&mut store, black_box(&text), &Edit::new("import", today))
                    .unwrap();
                (store, r)
            },
            BatchSize::PerIteration,
        )
    });
    // In place: every iteration does the same work (all customers known, every listed
    // membership re-assigned), without the copy-on-write a clone per iteration would add.
    // Each iteration's journal records are drained (into a sink): the app drains them to
    // its file after each import.
    group.bench_function("existing_customers", |b| {
        b.iter(|| {
            let r = importer
                .import_str(&mut full, black_box(&text), &Edit::new("import", today))
                .unwrap();
            full.journal_mut().drain_into(std::io::sink()).unwrap();
            r
        })
    });
    let national = file_with(ROWS, 812_000_000, &names, 0x9E37_79B9_7F4A_7C15, "0");
    let one = Importer::new()
        .max_rows(ROWS)
        .unwrap()
        .default_country(Country::TH);
    let three = Importer::new()
        .max_rows(ROWS)
        .unwrap()
        .countries(&[Country::HK, Country::TW, Country::TH])
        .unwrap();
    for importer in [&one, &three] {
        let report = importer
            .dry_run_str(&tags_only, &national, &Edit::new("import", today))
            .unwrap();
        assert_eq!(report.customers_created, ROWS);
    }
    for (name, importer) in [
        ("national_one_country", &one),
        ("national_three_countries", &three),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || tags_only.clone(),
                |mut store| {
                    let r = importer
                        .import_str(
                            &mut store,
                            black_box(&national),
                            &Edit::new("import", today),
                        )
                        .unwrap();
                    (store, r)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    drop(full);

    // A 5,000-row batch (the weekly import our users' guides describe) into the shared workload store.
    let n = support::bench_customers();
    let w = Workload::from_env_or_generate(n);
    check_shape(&w);
    let (store, _) = build_store(&w);
    let workload_names: Vec<String> = w.tags.iter().map(|t| t.name.clone()).collect();
    let batch = file(5_000, 66_800_000_000 + 12_345, &workload_names, 7);
    let edit = Edit::new("import", today);
    let r = typed().dry_run_str(&store, &batch, &edit).unwrap();
    assert_eq!((r.rows_imported, r.customers_created), (5_000, 0));
    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Elements(5_000));
    let mut target = store.clone();
    {
        let mut probe = store.clone();
        typed().import_str(&mut probe, &batch, &edit).unwrap();
        eprintln!(
            "journal of a 5,000-row import: {} bytes for {} bytes of CSV ({:.2}x)",
            probe.journal().pending_bytes(),
            batch.len(),
            probe.journal().pending_bytes() as f64 / batch.len() as f64
        );
    }
    // With the journal (records drained into a sink each time, as an app drains them to its
    // file) and without it.
    group.bench_function("seed_batch_5000", |b| {
        b.iter(|| {
            let r = typed()
                .import_str(&mut target, black_box(&batch), &edit)
                .unwrap();
            target.journal_mut().drain_into(std::io::sink()).unwrap();
            r
        })
    });
    target.journal_mut().set_enabled(false);
    group.bench_function("seed_batch_5000_journal_off", |b| {
        b.iter(|| {
            typed()
                .import_str(&mut target, black_box(&batch), &edit)
                .unwrap()
        })
    });
    drop(target);
    group.bench_function("check_5000", |b| {
        b.iter(|| {
            typed()
                .dry_run_str(&store, black_box(&batch), &edit)
                .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("export");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(n)));
    let everyone = store.customers().clone();
    let mut out = Vec::with_capacity(64 << 20);
    group.bench_function("csv", |b| {
        b.iter(|| {
            out.clear();
            Export::new()
                .write_csv(&store, &everyone, &mut out)
                .unwrap()
        })
    });
    group.bench_function("hashed", |b| {
        b.iter(|| {
            out.clear();
            write_hashed_phones(&store, &everyone, AdPlatform::Meta, &mut out).unwrap()
        })
    });
    group.throughput(Throughput::Elements(w.memberships()));
    group.bench_function("clickhouse", |b| {
        b.iter(|| {
            out.clear();
            write_tag_bitmaps(&store, BitmapFormat::ClickHouse, &mut out).unwrap()
        })
    });
    group.finish();
}

/// The spreadsheet path (the `xlsx` feature): `import/sheet_100k`, 100,000 rows of a
/// workbook written by `rust_xlsxwriter` (phone numbers stored as numbers, the three tags
/// in one text cell), beside `import/csv_100k`, the same rows as CSV, into a store with the
/// tags and no customers.
#[cfg(feature = "xlsx")]
fn sheet(c: &mut Criterion) {
    const N: u64 = 100_000;
    let edit = Edit::new("bench", audience::Day::from_ymd(2025, 1, 1).unwrap());
    let names: Vec<String> = (0..POOL).map(|i| format!("tag-{i:02}")).collect();
    let mut tags_only = Store::new();
    for n in &names {
        tags_only
            .create_tag(&edit, TagSpec::new(n.as_str()))
            .unwrap();
    }
    let text = file(N, 66_800_000_000, &names, 0x9E37_79B9_7F4A_7C15);
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    let mut csv = String::from("phone,tags\n");
    for (row, line) in text.lines().enumerate() {
        let (phone, tags) = line.split_once(',').unwrap();
        let row = row as u32;
        if row == 0 {
            ws.write_string(0, 0, phone).unwrap();
            ws.write_string(0, 1, tags).unwrap();
            continue;
        }
        ws.write_number(row, 0, phone.parse::<f64>().unwrap())
            .unwrap();
        ws.write_string(row, 1, tags).unwrap();
        csv += &format!("{phone},\"{tags}\"\n");
    }
    let bytes = book.save_to_buffer().unwrap();
    let importer = Importer::new().max_rows(N).unwrap();
    let today = audience::Day::from_ymd(2025, 1, 6).unwrap();
    let r = importer
        .dry_run_sheet(&tags_only, &bytes, &Edit::new("import", today))
        .unwrap();
    assert_eq!((r.customers_created, r.memberships_added), (N, 3 * N));
    let r = importer
        .dry_run_str(&tags_only, &csv, &Edit::new("import", today))
        .unwrap();
    assert_eq!((r.customers_created, r.memberships_added), (N, 3 * N));
    eprintln!(
        "sheet input: {N} rows, {:.1} MiB as .xlsx, {:.1} MiB as CSV",
        bytes.len() as f64 / (1 << 20) as f64,
        csv.len() as f64 / (1 << 20) as f64
    );
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N));
    group.bench_function("sheet_100k", |b| {
        b.iter_batched(
            || tags_only.clone(),
            |mut store| {
                let r = importer
                    .import_sheet(&mut store, black_box(&bytes), &Edit::new("import", today))
                    .unwrap();
                (store, r)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("csv_100k", |b| {
        b.iter_batched(
            || tags_only.clone(),
            |mut store| {
                let r = importer
                    .import_str(&mut store, black_box(&csv), &Edit::new("import", today))
                    .unwrap();
                (store, r)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

#[cfg(not(feature = "xlsx"))]
fn sheet(_: &mut Criterion) {
    eprintln!(
        "import/sheet_100k needs the xlsx feature: cargo bench --features xlsx --bench import"
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = import
}
criterion_group! {
    name = sheets;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = sheet
}
criterion_main!(benches, sheets);
