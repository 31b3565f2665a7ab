//! Did-you-mean cost on adversarial inputs: a taxonomy of 100,000 tags, and inputs that
//! miss it everywhere.
//!
//! - `suggest/failed_query_100k`: a query naming one unknown tag (a near miss of a real
//!   one), counted: the parse, the miss and its suggestion. The index behind suggestions is
//!   built on the first miss after the names change; `suggest/index_build_100k` measures
//!   that first miss alone (on a fresh clone of the store).
//! - `suggest/import_dry_run_5000_near_misses_100k`: the dry run of a 5,000-row file whose
//!   rows each name a different near miss (every spelling is an unknown name, looked up
//!   once), under the default `UnknownTags::Ignore`.
//! - `suggest/query_unknown_names_100k`: one query of the longest length allowed (64 KiB)
//!   naming as many different near misses as fit, 2,185 (`"a" OR "b" OR ...`): parsed
//!   whole, then bound until the first unknown name, so it costs the parse and one miss.
//! - `naive/...`: the baseline in the same run, the previous algorithm: one bounded edit
//!   distance per tag name for each miss (measured for 50 misses and scaled, since 5,000
//!   take minutes).

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use audience::import::Importer;
use audience::{Day, Edit, Query, Store, TagSpec};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const TAGS: usize = 100_000;
const ROWS: usize = 5_000;

/// Names like a shop's taxonomy: a dimension prefix and syllables, several scripts.
fn tag_names(n: usize) -> Vec<String> {
    let prefixes = ["interest/", "stage/", "power/", "ลูกค้า", "兴趣/", "канал/"];
    let syllables = [
        "ka", "lo", "mi", "ra", "su", "te", "vo", "ne", "di", "po", "กา", "มี", "美", "妆", "ки",
        "ро",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let i = out.len();
        let mut name = prefixes[i % prefixes.len()].to_string();
        for _ in 0..3 + (i % 4) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            name.push_str(syllables[(x % syllables.len() as u64) as usize]);
        }
        // A number keeps the names distinct (3 syllables of 16 make only 4,096 words).
        name.push_str(&(i % 997).to_string());
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

/// A near miss of `name`: one character dropped.
fn near_miss(name: &str, i: usize) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let at = 1 + i % (chars.len() - 1);
    chars.remove(at);
    chars.into_iter().collect()
}

fn levenshtein_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[b.len()] <= max).then_some(prev[b.len()])
}

/// The previous algorithm: fold (lowercase here) and compare with every name.
fn naive_suggest<'a>(name: &str, names: &'a [String]) -> Option<&'a str> {
    let key: Vec<char> = name.to_lowercase().chars().collect();
    let max = (key.len() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for cand in names {
        let c: Vec<char> = cand.to_lowercase().chars().collect();
        if let Some(d) = levenshtein_within(&key, &c, max)
            && best.is_none_or(|(bd, _)| d < bd)
        {
            best = Some((d, cand));
        }
    }
    best.map(|(_, s)| s)
}

fn suggest(c: &mut Criterion) {
    let today = Day::from_ymd(2025, 6, 18).unwrap();
    let admin = Edit::new("admin", today);
    let names = tag_names(TAGS);
    let mut store = Store::new();
    for name in &names {
        store
            .create_tag(&admin, TagSpec::new(name.as_str()))
            .unwrap();
    }
    let typo = near_miss(&names[4_242], 3);
    let query = Query::parse(&format!("\"{typo}\"")).unwrap();
    let msg = store.count(&query, today).unwrap_err().to_string();
    eprintln!("{msg}");
    let mut file = String::from("phone,tags\n");
    for i in 0..ROWS {
        file.push_str(&format!(
            "6681{:07},\"{}\"\n",
            i,
            near_miss(&names[(i * 7919) % TAGS], i)
        ));
    }
    let mut many = String::new();
    let mut named = 0;
    for i in 0..ROWS {
        let term = format!("\"{}\"", near_miss(&names[(i * 7919) % TAGS], i));
        if many.len() + term.len() + 4 > audience::query::MAX_QUERY_BYTES {
            break;
        }
        if !many.is_empty() {
            many.push_str(" OR ");
        }
        many.push_str(&term);
        named += 1;
    }
    eprintln!(
        "a query of {} bytes naming {named} unknown tags",
        many.len()
    );
    let importer = Importer::new().max_failed_share(1.0).unwrap();
    let edit = Edit::new("import", today);

    let mut group = c.benchmark_group("suggest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("failed_query_100k", |b| {
        b.iter(|| {
            store
                .count(
                    black_box(&Query::parse(&format!("\"{typo}\"")).unwrap()),
                    today,
                )
                .unwrap_err()
        })
    });
    group.bench_function("index_build_100k", |b| {
        b.iter_batched(
            || {
                // A rename drops the index; the first miss rebuilds it.
                let mut s = store.clone();
                let t = s.tag_id(&names[0]).unwrap();
                s.rename_tag(&admin, t, "renamed").unwrap();
                s
            },
            |s| s.count(&query, today).unwrap_err(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("query_unknown_names_100k", |b| {
        b.iter(|| {
            store
                .count(black_box(&Query::parse(&many).unwrap()), today)
                .unwrap_err()
        })
    });
    group.bench_function("import_dry_run_5000_near_misses_100k", |b| {
        b.iter(|| {
            importer
                .dry_run_str(&store, black_box(&file), &edit)
                .unwrap()
        })
    });
    group.finish();

    // The baseline: 50 misses by the previous algorithm, timed by hand and scaled.
    let start = Instant::now();
    let mut hits = 0;
    for i in 0..50 {
        let miss = near_miss(&names[(i * 7919) % TAGS], i);
        hits += usize::from(naive_suggest(&miss, &names).is_some());
    }
    let per_miss = start.elapsed() / 50;
    eprintln!(
        "naive/one_miss_100k: {per_miss:?} a miss ({hits} of 50 found); \
         a 5,000-row file of near misses: {:?}",
        per_miss * ROWS as u32
    );
}

criterion_group!(benches, suggest);
criterion_main!(benches);
