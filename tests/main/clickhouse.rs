//! The `engine` module against a real ClickHouse: chDB (ClickHouse embedded in a Python
//! process) loads the tables the crate writes and runs the SQL the crate translates; every
//! answer must be the crate's own.
//!
//! - the 13 workload queries of `../shared/peers/queries.json` on the benches' generated
//!   data (200,000 customers; `AUDIENCE_CHDB_N` changes it), counts, ids, pages and keys,
//!   on one shard and on a sharded layout; then bitmaps the engine computed, read back;
//! - the seed example and every `sql` block of the README's ClickHouse section;
//! - random queries (the query model test's generator) on random small stores, all cases
//!   in one Python run.
//!
//! chDB comes from `scripts/chdb-venv` (pinned versions): `AUDIENCE_CHDB` names its python,
//! else `target/chdb-venv/bin/python` is used when present. Without it the tests say they
//! were skipped, except under CI (`CI` set), where a missing chDB fails them.

// A test drives an engine: it reads the environment, writes files and starts Python.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

#[path = "../../benches/support/mod.rs"]
#[allow(clippy::all, missing_docs)]
mod workload;

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

use audience::engine::{Tables, decode_base64, translate};
use audience::export::BitmapFormat;
use audience::query::Expr;
use audience::{
    AttrKind, Context, CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec, Value,
};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::query_model;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// The python of a chDB virtual environment, or `None` (after saying why) when there is
/// none and this is not CI.
fn engine() -> Option<PathBuf> {
    let python = match std::env::var_os("AUDIENCE_CHDB") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let default = Path::new(MANIFEST).join("target/chdb-venv/bin/python");
            default.exists().then_some(default)
        }
    };
    match python {
        Some(p) if p.exists() => Some(p),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI needs chDB for the ClickHouse engine test: run scripts/chdb-venv and set AUDIENCE_CHDB to the python it prints"
        ),
        _ => {
            eprintln!(
                "ClickHouse engine test skipped: no chDB. Run it with\n    AUDIENCE_CHDB=$(scripts/chdb-venv) cargo test --release --test main clickhouse"
            );
            None
        }
    }
}

/// SQL statements run in one database, with `dir` as the working directory.
struct Job {
    dir: PathBuf,
    statements: Vec<String>,
}

/// What one statement printed (TSV) and the seconds the engine took, or its error.
type Outcome = Result<(String, f64), String>;

/// Runs every job in one chDB process; returns the ClickHouse version and the outcomes.
fn run(python: &Path, scratch: &Path, jobs: &[Job]) -> (String, Vec<Vec<Outcome>>) {
    let spec = serde_json::json!({
        "jobs": jobs.iter().enumerate().map(|(i, j)| serde_json::json!({
            "dir": j.dir,
            "database": format!("job{i}"),
            "statements": j.statements,
        })).collect::<Vec<_>>(),
    });
    let path = scratch.join("jobs.json");
    fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let out = Command::new(python)
        .arg(Path::new(MANIFEST).join("tests/engine/chdb_driver.py"))
        .arg(&path)
        .output()
        .expect("run the chDB driver");
    assert!(
        out.status.success(),
        "chDB driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes = v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            j["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    if r["ok"].as_bool().unwrap() {
                        Ok((
                            r["out"].as_str().unwrap().to_string(),
                            r["seconds"].as_f64().unwrap(),
                        ))
                    } else {
                        Err(r["error"].as_str().unwrap().to_string())
                    }
                })
                .collect()
        })
        .collect();
    (v["version"].as_str().unwrap_or("?").to_string(), outcomes)
}

/// A fresh directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("audience-chdb-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The file names the README's load SQL reads.
const TAGS_FILE: &str = "audience_tags.bin";
const CUSTOMERS_FILE: &str = "audience_customers.bin";

/// Writes the two tables' rows into `dir`; returns the statements that create and load
/// them.
fn export(store: &Store, tables: &Tables, dir: &Path) -> Vec<String> {
    fs::create_dir_all(dir).unwrap();
    let tags = BufWriter::new(File::create(dir.join(TAGS_FILE)).unwrap());
    tables.write_tags(store, tags).unwrap();
    let customers = BufWriter::new(File::create(dir.join(CUSTOMERS_FILE)).unwrap());
    tables.write_customers(store, customers).unwrap();
    let mut statements: Vec<String> = tables
        .ddl(store)
        .unwrap()
        .split_inclusive(";\n")
        .map(str::to_string)
        .collect();
    for (table, file) in [
        (tables.tags_table(), TAGS_FILE),
        (tables.customers_table(), CUSTOMERS_FILE),
    ] {
        statements.push(format!(
            "INSERT INTO {table} SELECT * FROM file('{file}', RowBinaryWithNamesAndTypes)"
        ));
    }
    statements
}

fn ok(outcome: &Outcome, sql: &str) -> String {
    match outcome {
        Ok((out, _)) => out.clone(),
        Err(e) => panic!("ClickHouse refused\n{sql}\n{e}"),
    }
}

fn count_of(out: &str) -> u64 {
    out.trim().parse().unwrap()
}

/// An `Array(UInt32)` as TSV prints it: `[1,2,3]`.
fn ids_of(out: &str) -> Vec<u32> {
    let inner = out.trim().trim_start_matches('[').trim_end_matches(']');
    if inner.is_empty() {
        return Vec::new();
    }
    inner.split(',').map(|x| x.parse().unwrap()).collect()
}

/// `id<TAB>key` rows.
fn keys_of(out: &str) -> Vec<(u32, String)> {
    out.lines()
        .map(|l| {
            let (id, key) = l.split_once('\t').unwrap();
            (id.parse().unwrap(), key.to_string())
        })
        .collect()
}

fn crate_keys(store: &Store, ids: impl IntoIterator<Item = u32>) -> Vec<(u32, String)> {
    ids.into_iter()
        .map(|id| (id, store.key(id).unwrap().to_string()))
        .collect()
}

#[test]
fn workload_queries_agree_with_the_crate_on_one_shard_and_on_three() {
    let Some(python) = engine() else { return };
    let n: u32 = std::env::var("AUDIENCE_CHDB_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let w = workload::Workload::generate(n, workload::DEFAULT_SEED);
    let (store, today) = workload::build_store(&w);
    let ctx = Context::new(today);
    let queries: Vec<(&str, Query)> = workload::peer_queries()
        .iter()
        .map(|q| {
            let text = workload::to_query_text(&q.expr, workload::WORKLOAD_EPOCH_DAYS);
            (q.id, Query::parse(&text).unwrap())
        })
        .collect();
    let dir = scratch("workload");
    let heavy = "SELECT base64Encode(CAST(groupBitmapState(id) AS String)) FROM audience_customers WHERE purchase_count > 3";
    let mut jobs = Vec::new();
    let layouts = [1u32, 3];
    for shards in layouts {
        let tables = Tables::new().shards(shards).unwrap();
        let mut statements = export(&store, &tables, &dir.join(shards.to_string()));
        for (_, q) in &queries {
            let sql = translate(&store, q, &ctx, &tables).unwrap();
            // The count three times: the report takes the median.
            statements.extend([sql.count(), sql.count(), sql.count(), sql.ids()]);
        }
        let first = translate(&store, &queries[0].1, &ctx, &tables).unwrap();
        let tiny = translate(&store, &queries[9].1, &ctx, &tables).unwrap();
        let last = translate(&store, &queries[12].1, &ctx, &tables).unwrap();
        statements.extend([
            first.ids_page(None, 100),
            first.ids_page(Some(50_000), 100),
            first.keys_page(Some(50_000), 20),
            tiny.keys(),
            last.bitmap(),
            heavy.to_string(),
        ]);
        jobs.push(Job {
            dir: dir.join(shards.to_string()),
            statements,
        });
    }
    let (version, outcomes) = run(&python, &dir, &jobs);

    let mut report = format!(
        "ClickHouse {version} (chDB), {n} customers: seconds per count query (median of 3)\n{:<34}{:>12}{:>12}\n",
        "query", "1 shard", "3 shards"
    );
    let mut times = vec![[0f64; 2]; queries.len()];
    for (layout, (job, results)) in jobs.iter().zip(&outcomes).enumerate() {
        let mut at = job.statements.len() - results.len();
        assert_eq!(at, 0);
        at = 4; // two CREATE TABLE, two INSERT
        for (i, (id, q)) in queries.iter().enumerate() {
            let want = store.select(q, &ctx).unwrap();
            let mut seconds = Vec::new();
            for count in &results[at..at + 3] {
                let got = count_of(&ok(count, &job.statements[at]));
                assert_eq!(got, want.len(), "{id} ({} shards): count", layouts[layout]);
                seconds.push(count.as_ref().unwrap().1);
            }
            seconds.sort_by(f64::total_cmp);
            times[i][layout] = seconds[1];
            let ids = ids_of(&ok(&results[at + 3], &job.statements[at + 3]));
            assert!(
                ids.iter().copied().eq(want.iter()),
                "{id} ({} shards): ids",
                layouts[layout]
            );
            at += 4;
        }
        let q01 = store.select(&queries[0].1, &ctx).unwrap();
        let page = ids_of(&ok(&results[at], &job.statements[at]));
        assert_eq!(page, q01.iter().take(100).collect::<Vec<_>>());
        let page = ids_of(&ok(&results[at + 1], &job.statements[at + 1]));
        let after: Vec<u32> = q01.iter().filter(|&i| i > 50_000).take(100).collect();
        assert_eq!(page, after);
        let keys = keys_of(&ok(&results[at + 2], &job.statements[at + 2]));
        assert_eq!(keys, crate_keys(&store, after.iter().copied().take(20)));
        let q10 = store.select(&queries[9].1, &ctx).unwrap();
        let keys = keys_of(&ok(&results[at + 3], &job.statements[at + 3]));
        assert_eq!(keys, crate_keys(&store, q10.iter()));
        assert!(!keys.is_empty());

        // Bitmaps computed in the engine, read back.
        let q13 = store.select(&queries[12].1, &ctx).unwrap();
        let text = ok(&results[at + 4], &job.statements[at + 4]);
        let back = decode_base64(BitmapFormat::ClickHouse, &text).unwrap();
        assert_eq!(&back, q13.bitmap());
        let text = ok(&results[at + 5], heavy);
        let heavy_buyers = decode_base64(BitmapFormat::ClickHouse, &text).unwrap();
        let want = store
            .select(&Query::parse("purchase_count > 3").unwrap(), &ctx)
            .unwrap();
        assert_eq!(&heavy_buyers, want.bitmap());
        // ... and made a tag of the store.
        let mut with_tag = store.clone();
        let tag = with_tag
            .create_tag(
                &Edit::new("analyst", today),
                TagSpec::new("engine/heavy_buyers"),
            )
            .unwrap();
        with_tag.add_tag_bulk(tag, &heavy_buyers, today).unwrap();
        let q = Query::parse("engine/heavy_buyers AND NOT purchase_count > 3").unwrap();
        assert_eq!(with_tag.count(&q, &ctx).unwrap(), 0);
    }
    for ((id, _), t) in queries.iter().zip(&times) {
        report.push_str(&format!("{id:<34}{:>12.4}{:>12.4}\n", t[0], t[1]));
    }
    let total: f64 = times.iter().map(|t| t[0]).sum();
    report.push_str(&format!("{:<34}{total:>12.4}\n", "total (1 shard)"));
    eprintln!("{report}");
    let _ = fs::remove_dir_all(&dir);
}

/// The store of the README's ClickHouse section: the seed example of CRM tagging guides
/// (10,000 customers; cosmetics 2,500, purchased 4,000, overlap 1,200, lipstick 800 inside
/// it) plus a `last_purchase` day for the purchasers.
fn readme_store() -> (Store, Day) {
    let today = Day::from_ymd(2025, 1, 1).unwrap();
    let e = Edit::new("admin", today);
    let mut store = Store::new();
    let keys = (0..10_000u64).map(|i| CustomerKey::phone_number(85_290_000_000 + i).unwrap());
    store.ensure_customers(keys).unwrap();
    let set = |r: std::ops::Range<u32>| r.collect::<RoaringBitmap>();
    for (name, ids) in [
        ("interest-cosmetics", set(0..2500)),
        ("stage-purchased", set(1300..5300)),
        ("product-lipstick", set(1300..2100)),
    ] {
        let tag = store.create_tag(&e, TagSpec::new(name)).unwrap();
        store.add_tag_bulk(tag, &ids, today).unwrap();
    }
    let last = store
        .define_attribute("last_purchase", AttrKind::Day)
        .unwrap();
    for id in 1300..5300u32 {
        store
            .set_value(id, last, Value::Day(today - (id % 90) as i32))
            .unwrap();
    }
    (store, today)
}

/// The ```sql blocks of the README's ClickHouse section (up to the next heading), with
/// their info strings.
fn readme_blocks() -> Vec<(String, String)> {
    let readme = fs::read_to_string(Path::new(MANIFEST).join("README.md")).unwrap();
    let start = readme
        .find("### ClickHouse")
        .expect("README has a ClickHouse section");
    let rest = &readme[start + 3..];
    let end = ["\n### ", "\n## "]
        .iter()
        .filter_map(|h| rest.find(h))
        .min()
        .unwrap_or(rest.len());
    let section = &rest[..end];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            blocks.push((info.to_string(), body.join("\n") + "\n"));
        }
    }
    blocks
}

#[test]
fn seed_example_and_readme_sql_run_in_clickhouse() {
    let (store, today) = readme_store();
    let ctx = Context::new(today);
    let tables = Tables::new();
    let seed =
        Query::parse("interest-cosmetics AND stage-purchased EXCLUDE product-lipstick").unwrap();
    let sql = translate(&store, &seed, &ctx, &tables).unwrap();
    let recent = Query::parse("interest-cosmetics AND last_purchase WITHIN 7d").unwrap();
    let recent_sql = translate(&store, &recent, &ctx, &tables).unwrap();
    if std::env::var_os("AUDIENCE_PRINT_README_SQL").is_some() {
        let ddl = tables.ddl(&store).unwrap();
        eprintln!(
            "{ddl}\n{};\n\n{};\n",
            sql.count(),
            recent_sql.keys_page(None, 3)
        );
    }
    // The README shows what the crate writes, so it cannot drift from it.
    let blocks = readme_blocks();
    let sql_blocks: Vec<&str> = blocks
        .iter()
        .filter(|(info, _)| info == "sql")
        .map(|(_, b)| b.as_str())
        .collect();
    let ddl = tables.ddl(&store).unwrap();
    assert!(sql_blocks.contains(&ddl.as_str()), "README DDL:\n{ddl}");
    let count = sql.count() + ";\n";
    assert!(
        sql_blocks.contains(&count.as_str()),
        "README count:\n{count}"
    );
    let page = recent_sql.keys_page(None, 3) + ";\n";
    assert!(sql_blocks.contains(&page.as_str()), "README keys:\n{page}");
    assert_eq!(store.count(&seed, &ctx).unwrap(), 400);
    let Some(python) = engine() else { return };

    let dir = scratch("readme");
    export(&store, &tables, &dir);
    let statements: Vec<String> = sql_blocks
        .iter()
        .flat_map(|b| b.split_inclusive(";\n"))
        .map(str::to_string)
        .collect();
    let (_, outcomes) = run(
        &python,
        &dir,
        &[Job {
            dir: dir.clone(),
            statements: statements.clone(),
        }],
    );
    let results = &outcomes[0];
    for (s, r) in statements.iter().zip(results) {
        ok(r, s);
    }
    let at = |sql: &str| statements.iter().position(|s| s == sql).unwrap();
    assert_eq!(count_of(&ok(&results[at(&count)], &count)), 400);
    let want = store.select(&recent, &ctx).unwrap();
    assert_eq!(
        keys_of(&ok(&results[at(&page)], &page)),
        crate_keys(&store, want.iter().take(3))
    );
    let back = statements
        .iter()
        .position(|s| s.contains("base64Encode"))
        .unwrap();
    let bitmap = decode_base64(BitmapFormat::ClickHouse, &ok(&results[back], "")).unwrap();
    let since = Query::parse("last_purchase >= 2024-12-01").unwrap();
    assert_eq!(&bitmap, store.select(&since, &ctx).unwrap().bitmap());
    assert!(bitmap.len() > 1_000);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn random_queries_agree_with_the_crate_on_random_stores() {
    let Some(python) = engine() else { return };
    const SHOPS: usize = 120;
    const PER_SHOP: usize = 3;
    let mut runner = TestRunner::deterministic();
    let shops = query_model::shop();
    let exprs = query_model::expr();
    let dir = scratch("model");
    let mut cases: Vec<(Store, RoaringBitmap, Vec<Expr>, String)> = Vec::new();
    let mut jobs = Vec::new();
    for i in 0..SHOPS {
        let shop = shops.new_tree(&mut runner).unwrap().current();
        let (store, set) = query_model::build(&shop);
        let ctx = Context::new(query_model::TODAY).with_set("picked", &set);
        let tables = Tables::new()
            .shards(if i % 2 == 0 { 1 } else { 2 })
            .unwrap();
        let job_dir = dir.join(i.to_string());
        let mut statements = export(&store, &tables, &job_dir);
        let qs: Vec<Expr> = (0..PER_SHOP)
            .map(|_| exprs.new_tree(&mut runner).unwrap().current())
            .collect();
        for e in &qs {
            let sql = translate(&store, &Query::new(e.clone()), &ctx, &tables).unwrap();
            statements.push(sql.ids());
        }
        cases.push((store, set, qs, format!("{shop:?}")));
        jobs.push(Job {
            dir: job_dir,
            statements,
        });
    }
    let (_, outcomes) = run(&python, &dir, &jobs);
    for ((store, set, qs, shop), (job, results)) in cases.iter().zip(jobs.iter().zip(&outcomes)) {
        let ctx = Context::new(query_model::TODAY).with_set("picked", set);
        let first = job.statements.len() - qs.len();
        for (k, e) in qs.iter().enumerate() {
            let want = store.select(&Query::new(e.clone()), &ctx).unwrap();
            let sql = &job.statements[first + k];
            let got = ids_of(&ok(&results[first + k], sql));
            assert!(
                got.iter().copied().eq(want.iter()),
                "query {e}\nSQL {sql}\nClickHouse {got:?}\ncrate {:?}\nshop {shop}",
                want.iter().collect::<Vec<_>>()
            );
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn names_in_any_script_with_quotes_and_backslashes_cannot_break_the_sql() {
    let Some(python) = engine() else { return };
    let today = Day::from_ymd(2025, 1, 1).unwrap();
    let e = Edit::new("admin", today);
    let mut store = Store::new();
    let names = [
        ("o'brien", "it's \"VIP\" \\ 高消費力"),
        ("stage", "ลูกค้าใหม่"),
        ("x`y", "back`quote\\"),
        ("general", "'; DROP TABLE audience_customers; --"),
    ];
    let tags: Vec<_> = names
        .iter()
        .map(|(d, n)| {
            store
                .create_tag(&e, TagSpec::new(*n).dimension(*d))
                .unwrap()
        })
        .collect();
    let spend = store.define_attribute("購買額", AttrKind::Int).unwrap();
    for i in 0..500u32 {
        let c = store
            .add_customer(CustomerKey::member(format!("m'{i}\\")).unwrap())
            .unwrap();
        for (t, tag) in tags.iter().enumerate() {
            if i % (t as u32 + 2) == 0 {
                store.add_tag(c, *tag, today).unwrap();
            }
        }
        store.set_value(c, spend, i64::from(i)).unwrap();
    }
    let tables = Tables::new()
        .tags("tag `bitmaps` \\ \u{1}")
        .unwrap()
        .customers("顧客 'list'")
        .unwrap();
    let ctx = Context::new(today);
    let dir = scratch("names");
    let mut statements = export(&store, &tables, &dir);
    use audience::query::{attr, tag_in};
    let t = |i: usize| tag_in(names[i].0, names[i].1);
    let queries: Vec<Query> = [
        t(0),
        t(1).and(attr("購買額").ge(100)),
        t(2).or(t(3)),
        t(1).not().and(t(2).not()),
    ]
    .into_iter()
    .map(Query::new)
    .collect();
    let first = statements.len();
    for q in &queries {
        let sql = translate(&store, q, &ctx, &tables).unwrap();
        statements.extend([sql.count(), sql.keys_page(None, 5)]);
    }
    let job = Job {
        dir: dir.clone(),
        statements,
    };
    let (_, outcomes) = run(&python, &dir, std::slice::from_ref(&job));
    for (k, q) in queries.iter().enumerate() {
        let want = store.select(q, &ctx).unwrap();
        assert!(!want.is_empty(), "{q}");
        let at = first + 2 * k;
        let results = &outcomes[0];
        assert_eq!(
            count_of(&ok(&results[at], &job.statements[at])),
            want.len(),
            "{q}"
        );
        let keys = keys_of(&ok(&results[at + 1], &job.statements[at + 1]));
        // TSV escapes backslashes and quotes in values.
        let want_keys: Vec<(u32, String)> = crate_keys(&store, want.iter().take(5))
            .into_iter()
            .map(|(id, k)| (id, k.replace('\\', "\\\\").replace('\'', "\\'")))
            .collect();
        assert_eq!(keys, want_keys, "{q}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn rfm_terms_read_the_tags_the_scores_were_written_to() {
    use audience::{Measure, RfmConfig};
    let w = workload::Workload::generate(50_000, workload::DEFAULT_SEED);
    let (mut store, today) = workload::build_store(&w);
    let scores = RfmConfig::new("last_purchase_day", "purchase_count", "monetary_cents")
        .score(&store, &Context::new(today))
        .unwrap();
    let edit = Edit::new("crm", today);
    for m in [Measure::Recency, Measure::Frequency, Measure::Monetary] {
        scores
            .score_assignment(m)
            .write(&mut store, &edit, "rfm score", scores.scope())
            .unwrap();
    }
    scores
        .segment_assignment()
        .write(&mut store, &edit, "rfm segment", scores.scope())
        .unwrap();
    let segments: Vec<String> = scores.segments().map(|(n, _)| n.to_string()).collect();
    let ctx = Context::new(today).with_terms(&scores);
    let tables = Tables::new().rfm_tags("rfm score", "rfm segment").unwrap();
    let mut texts = vec![
        "rfm.r >= 4".to_string(),
        "rfm.f = 1 OR rfm.m < 2".to_string(),
        "rfm.m BETWEEN 2 AND 4 AND interest/cosmetics".to_string(),
        "rfm.r != 3".to_string(),
        "rfm.f > 5".to_string(),
        "rfm.r IS NULL".to_string(),
        "NOT rfm.segment IS NOT NULL OR channel/line".to_string(),
    ];
    for s in segments.iter().take(4) {
        texts.push(format!("rfm.segment = \"{s}\""));
        texts.push(format!("rfm.segment != \"{s}\" AND stage/carted"));
    }
    // Without the dimensions, the terms cannot be translated.
    let q = Query::parse("rfm.r >= 4").unwrap();
    let e = translate(&store, &q, &ctx, &Tables::new()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot translate \"rfm.r >= 4\" to ClickHouse")
    );

    let queries: Vec<Query> = texts.iter().map(|t| Query::parse(t).unwrap()).collect();
    let Some(python) = engine() else { return };
    let dir = scratch("rfm");
    let mut statements = export(&store, &tables, &dir);
    let first = statements.len();
    for q in &queries {
        statements.push(translate(&store, q, &ctx, &tables).unwrap().ids());
    }
    let job = Job {
        dir: dir.clone(),
        statements,
    };
    let (_, outcomes) = run(&python, &dir, std::slice::from_ref(&job));
    for (k, q) in queries.iter().enumerate() {
        let want = store.select(q, &ctx).unwrap();
        let at = first + k;
        let got = ids_of(&ok(&outcomes[0][at], &job.statements[at]));
        assert!(
            got.iter().copied().eq(want.iter()),
            "{q}: {} against {}",
            got.len(),
            want.len()
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Months and years back from a month's end: the crate's windows, its SQL (literal dates
/// from today) and ClickHouse's own `INTERVAL` arithmetic all agree, clamping included.
#[test]
fn calendar_periods_agree_with_clickhouse_interval_arithmetic() {
    let today = Day::from_ymd(2024, 3, 31).unwrap();
    let e = Edit::new("admin", today);
    let mut store = Store::new();
    let tag = store.create_tag(&e, TagSpec::new("vip")).unwrap();
    let seen = store.define_attribute("seen", AttrKind::Day).unwrap();
    // One customer a day from 2022-12-01 to today, tagged on that day.
    let first = Day::from_ymd(2022, 12, 1).unwrap();
    for (i, d) in (0..=(today - first)).enumerate() {
        let c = store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        store.set_value(c, seen, Value::Day(first + d)).unwrap();
        store.add_tag(c, tag, first + d).unwrap();
    }
    let ctx = Context::new(today);
    let texts = [
        "seen WITHIN 1mo",
        "seen BEFORE 1mo",
        "seen WITHIN 13mo",
        "seen WITHIN 1y",
        "seen BEFORE 1y",
        "seen WITHIN 2w",
        "vip ASSIGNED WITHIN 1mo",
        "vip ASSIGNED BEFORE 1y",
    ];
    let queries: Vec<Query> = texts.iter().map(|t| Query::parse(t).unwrap()).collect();
    // 2024-02-29 (clamped from the 31st) is the first day of "within 1mo".
    let within = store.select(&queries[0], &ctx).unwrap();
    assert_eq!(within.len(), 32);
    assert_eq!(store.select(&queries[3], &ctx).unwrap().len(), 367);
    let Some(python) = engine() else { return };
    let dir = scratch("periods");
    let tables = Tables::new();
    let mut statements = export(&store, &tables, &dir);
    let first_query = statements.len();
    for q in &queries {
        statements.push(translate(&store, q, &ctx, &tables).unwrap().ids());
    }
    let intervals = ["1 MONTH", "13 MONTH", "1 YEAR", "2 WEEK"];
    let first_interval = statements.len();
    for i in intervals {
        statements.push(format!("SELECT toString(toDate('{today}') - INTERVAL {i})"));
    }
    let job = Job {
        dir: dir.clone(),
        statements,
    };
    let (_, outcomes) = run(&python, &dir, std::slice::from_ref(&job));
    for (k, q) in queries.iter().enumerate() {
        let want = store.select(q, &ctx).unwrap();
        let at = first_query + k;
        let got = ids_of(&ok(&outcomes[0][at], &job.statements[at]));
        assert!(got.iter().copied().eq(want.iter()), "{q}");
    }
    let periods = [
        audience::Period::months(1),
        audience::Period::months(13),
        audience::Period::years(1),
        audience::Period::weeks(2),
    ];
    for (k, p) in periods.into_iter().enumerate() {
        let at = first_interval + k;
        let got = ok(&outcomes[0][at], &job.statements[at]);
        assert_eq!(
            got.trim(),
            today.window_start(p).unwrap().to_string(),
            "{p}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn decimal_attributes_agree_with_clickhouse_decimal64() {
    let today = Day::from_ymd(2025, 1, 31).unwrap();
    let e = Edit::new("admin", today);
    let mut store = Store::new();
    let vip = store.create_tag(&e, TagSpec::new("vip")).unwrap();
    let spend = store
        .define_attribute("spend", AttrKind::Decimal { scale: 2 })
        .unwrap();
    let rate = store
        .define_attribute("rate", AttrKind::Decimal { scale: 4 })
        .unwrap();
    // Spends from -50.00 to 149.99 in odd steps (every other customer without one), rates
    // with four places, and the extremes Decimal64 holds.
    for i in 0..2_000i64 {
        let c = store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        if i % 3 == 0 {
            store.add_tag(c, vip, today).unwrap();
        }
        if i % 2 == 0 {
            let units = (i * 7_919) % 20_000 - 5_000;
            let v = audience::Decimal::new(units, 2).unwrap();
            store.set_value(c, spend, Value::Decimal(v)).unwrap();
        }
        let r = match i {
            0 => 999_999_999_999_999_999,
            1 => -999_999_999_999_999_999,
            _ => (i * 104_729) % 1_000_000 - 300_000,
        };
        store
            .set_value(
                c,
                rate,
                Value::Decimal(audience::Decimal::new(r, 4).unwrap()),
            )
            .unwrap();
    }
    let ctx = Context::new(today);
    let texts = [
        "spend > 35.50",
        "spend >= 35.5",
        "spend < 0",
        "spend <= -0.01",
        "spend = 100",
        "spend != 12.34",
        "spend BETWEEN 10 AND 99.99",
        "spend IS NULL",
        "vip AND spend > 99.9",
        "NOT spend BETWEEN -1 AND 1",
        "rate > 12.3456",
        "rate BETWEEN -10 AND 10.5",
        "rate >= 99999999999999.9999",
        "rate < -99999999999999.9999",
        "rate > 99999999999999.9999",
    ];
    let queries: Vec<Query> = texts.iter().map(|t| Query::parse(t).unwrap()).collect();
    let Some(python) = engine() else { return };
    let dir = scratch("decimals");
    let tables = Tables::new();
    let mut statements = export(&store, &tables, &dir);
    assert!(
        tables
            .ddl(&store)
            .unwrap()
            .contains("spend Nullable(Decimal(18, 2))"),
        "{}",
        tables.ddl(&store).unwrap()
    );
    let first = statements.len();
    for q in &queries {
        statements.push(translate(&store, q, &ctx, &tables).unwrap().ids());
    }
    let job = Job {
        dir: dir.clone(),
        statements,
    };
    let (_, outcomes) = run(&python, &dir, std::slice::from_ref(&job));
    // The tables loaded: a column type ClickHouse refuses would leave them empty.
    for (outcome, sql) in outcomes[0].iter().zip(&job.statements).take(first) {
        ok(outcome, sql);
    }
    for (k, q) in queries.iter().enumerate() {
        let want = store.select(q, &ctx).unwrap();
        let at = first + k;
        let got = ids_of(&ok(&outcomes[0][at], &job.statements[at]));
        assert!(
            got.iter().copied().eq(want.iter()),
            "{q}: ClickHouse {} ids, the crate {}",
            got.len(),
            want.len()
        );
    }
    // A value past Decimal64's 18 digits is refused before the first byte.
    let c = store
        .add_customer(CustomerKey::member("big").unwrap())
        .unwrap();
    store
        .set_value(
            c,
            rate,
            Value::Decimal(audience::Decimal::new(i64::MAX, 4).unwrap()),
        )
        .unwrap();
    assert_eq!(
        tables
            .write_customers(&store, Vec::new())
            .unwrap_err()
            .to_string(),
        "cannot translate \"rate\" to ClickHouse: it holds 1 value beyond ClickHouse's \
         Decimal(18, 4) (18 digits: at most 99,999,999,999,999.9999)"
    );
    let _ = fs::remove_dir_all(&dir);
}
