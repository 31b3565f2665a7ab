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
//! - `import/sheet_xlsx_60k`, `import/sheet_ods_60k`, `import/sheet_xls_60k` (with
//!   `--features xlsx`): 60,000 rows of the same list as `.xlsx`, `.ods` and `.xls`
//!   workbooks, beside `import/csv_60k`, the same rows as CSV, in the same run.
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

/// The list of [`sheet`]'s benchmarks as `.xls`: written by `xlwt` 1.3.0 (as Excel
/// 97-2003 writes it) by `scripts/make_sheets.py`, from the same generator as [`file`].
#[cfg(feature = "xlsx")]
const LIST_XLS: &[u8] = include_bytes!("data/list-60k.xls");

/// `content.xml` of an `.ods` workbook of one sheet holding `rows` (each cell a float or
/// a string), and the workbook: the parts LibreOffice writes that a reader needs.
#[cfg(feature = "xlsx")]
fn ods(rows: &[(f64, &str)], header: (&str, &str)) -> Vec<u8> {
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content \
         xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
         xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" \
         xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
         office:version=\"1.2\"><office:body><office:spreadsheet>\
         <table:table table:name=\"Sheet1\">",
    );
    let text = |s: &str| {
        format!(
            "<table:table-cell office:value-type=\"string\"><text:p>{s}</text:p></table:table-cell>"
        )
    };
    xml += &format!(
        "<table:table-row>{}{}</table:table-row>",
        text(header.0),
        text(header.1)
    );
    for (phone, tags) in rows {
        xml += &format!(
            "<table:table-row><table:table-cell office:value-type=\"float\" \
             office:value=\"{phone}\"><text:p>{phone}</text:p></table:table-cell>{}\
             </table:table-row>",
            text(tags)
        );
    }
    xml += "</table:table></office:spreadsheet></office:body></office:document-content>";
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("META-INF/manifest.xml", stored).unwrap();
    zip.write_all(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><manifest:manifest \
          xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">\
          <manifest:file-entry manifest:full-path=\"/\" \
          manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/>\
          <manifest:file-entry manifest:full-path=\"content.xml\" \
          manifest:media-type=\"text/xml\"/></manifest:manifest>",
    )
    .unwrap();
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("content.xml", deflated).unwrap();
    zip.write_all(xml.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// The spreadsheet path (the `xlsx` feature): 60,000 rows (an `.xls` sheet holds at most
/// 65,536) of the same list as `.xlsx` (written by `rust_xlsxwriter`), `.ods` (its
/// content written here) and `.xls` (written by `xlwt`, committed), phone numbers stored
/// as numbers and the three tags in one text cell, beside `import/csv_60k`, the same rows
/// as CSV, in the same run, into a store with the tags and no customers.
#[cfg(feature = "xlsx")]
fn sheet(c: &mut Criterion) {
    const N: u64 = 60_000;
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
    let mut rows = Vec::new();
    for (row, line) in text.lines().enumerate() {
        let (phone, tags) = line.split_once(',').unwrap();
        let row = row as u32;
        if row == 0 {
            ws.write_string(0, 0, phone).unwrap();
            ws.write_string(0, 1, tags).unwrap();
            continue;
        }
        let number = phone.parse::<f64>().unwrap();
        ws.write_number(row, 0, number).unwrap();
        ws.write_string(row, 1, tags).unwrap();
        rows.push((number, tags));
        csv += &format!("{phone},\"{tags}\"\n");
    }
    let xlsx = book.save_to_buffer().unwrap();
    let ods = ods(&rows, ("phone", "tags"));
    let importer = Importer::new().max_rows(N).unwrap();
    let today = audience::Day::from_ymd(2025, 1, 6).unwrap();
    let from_csv = importer
        .dry_run_str(&tags_only, &csv, &Edit::new("import", today))
        .unwrap();
    assert_eq!(
        (from_csv.customers_created, from_csv.memberships_added),
        (N, 3 * N)
    );
    let books = [("xlsx", &xlsx[..]), ("ods", &ods[..]), ("xls", LIST_XLS)];
    for (format, bytes) in books {
        let r = importer
            .dry_run_sheet(&tags_only, bytes, &Edit::new("import", today))
            .unwrap();
        assert_eq!(r, from_csv, "{format}: the same list");
        eprintln!(
            "sheet input: {N} rows, {:.1} MiB as .{format}",
            bytes.len() as f64 / (1 << 20) as f64
        );
    }
    eprintln!(
        "sheet input: {N} rows, {:.1} MiB as CSV",
        csv.len() as f64 / (1 << 20) as f64
    );
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N));
    for (format, bytes) in books {
        group.bench_function(format!("sheet_{format}_60k"), |b| {
            b.iter_batched(
                || tags_only.clone(),
                |mut store| {
                    let r = importer
                        .import_sheet(&mut store, black_box(bytes), &Edit::new("import", today))
                        .unwrap();
                    (store, r)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.bench_function("csv_60k", |b| {
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
        "import/sheet_*_60k need the xlsx feature: cargo bench --features xlsx --bench import"
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
