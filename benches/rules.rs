//! Time and rules on the shared workload (1M customers, 200 tags, `../shared/peers/`):
//!
//! - `expiry/daily`: the daily `expire(today)` of 20 tags with a 60-day TTL whose memberships
//!   were assigned over the last 90 days (one assignment-day bucket per day). Steady state:
//!   each iteration is the next day, and what expired is assigned again on that day outside
//!   the timing, so every day removes one day's memberships per tag.
//! - `expiry/daily_shared`: the same expiry on a clone that shares its bitmaps with a reader
//!   snapshot, so the copy-on-write copies of the touched tags are included.
//! - `weekly/run_10_rules`: the weekly rules of CRM tagging guides (high value, highly active, needs
//!   attention, at risk with the positive group, follow up) plus the five lifecycle rules,
//!   over everyone, one week after the previous run (steady state: only what the week
//!   changed moves). Runs on a clone that shares its bitmaps with the previous state, so
//!   copy-on-write copies of every touched tag are included.
//! - `weekly/dry_run_10_rules`: the same as a dry run.
//! - `event/order_one_customer`: "order succeeded" for one customer: remove "abandoned
//!   cart", add "purchased-<date>+<product>" (validation included).
//! - `event/weekly_rules_one_customer`: the ten weekly rules restricted to one customer.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    missing_docs,
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use audience::query::{all, attr, tag};
use audience::{
    AttrKind, Day, Edit, Lifecycle, Query, RoaringBitmap, Rule, RuleSet, Run, Store, TagId,
    TagSpec, TagTemplate, Value, dimensions,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use support::{Workload, build_store};

const N: u32 = 1_000_000;

/// Tags that get a 60-day TTL in the expiry bench: sizes from 1k to 600k members.
const TTL_TAGS: [&str; 20] = [
    "stage/carted",
    "stage/checkout_abandoned",
    "stage/wishlist_added",
    "stage/loyalty_enrolled",
    "stage/price_alert_set",
    "stage/referral_sent",
    "stage/sample_requested",
    "stage/refund_requested",
    "activity/opened_email_30d",
    "activity/clicked_email_30d",
    "activity/coupon_redeemed",
    "activity/game_participant",
    "activity/live_stream_viewer",
    "activity/chatbot_user",
    "activity/search_user",
    "activity/store_visit_30d",
    "activity/web_session_30d",
    "activity/active_7d",
    "activity/active_30d",
    "activity/email_subscribed",
];

/// A cheap, fixed hash of a customer id.
fn mix(x: u32) -> u32 {
    let mut h = x.wrapping_mul(0x9E37_79B9);
    h ^= h >> 15;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^ (h >> 13)
}

/// The workload with the TTL tags' memberships spread over the 90 days before `today`, and
/// the catch-up expiry done: what is left is 60 days of buckets per tag.
fn expiry_store(w: &Workload) -> (Store, Day, Vec<TagId>) {
    let (mut store, today) = build_store(w);
    let edit = Edit::new("bench", today);
    let mut tags = Vec::new();
    for name in TTL_TAGS {
        let tag = store.tag_id(name).expect("workload tag");
        store.set_ttl(&edit, tag, Some(60)).expect("ttl");
        let members = store.members(tag).expect("members").clone();
        let mut by_day: Vec<Vec<u32>> = vec![Vec::new(); 90];
        for id in &members {
            by_day[(mix(id ^ tag.as_u32()) % 90) as usize].push(id);
        }
        for (k, ids) in by_day.into_iter().enumerate() {
            let set = RoaringBitmap::from_sorted_iter(ids).expect("sorted");
            store
                .add_tag_bulk(tag, &set, today - 1 - k as i32)
                .expect("assign");
        }
        tags.push(tag);
    }
    let removed: u64 = store.expire(today).iter().map(|(_, s)| s.len()).sum();
    eprintln!("expiry: catch-up run removed {removed} memberships");
    (store, today, tags)
}

#[allow(clippy::disallowed_methods)] // benches time with the clock
fn expiry(c: &mut Criterion, w: &Workload) {
    let (mut store, today, _) = expiry_store(w);
    let mut group = c.benchmark_group("expiry");
    let daily: u64 = store
        .clone()
        .expire(today + 1)
        .iter()
        .map(|(_, s)| s.len())
        .sum();
    eprintln!("expiry: a daily run removes {daily} memberships from 20 tags");
    let snapshot = store.clone();
    group.bench_function("daily_shared", |b| {
        b.iter_batched(
            || snapshot.clone(),
            |mut s| black_box(s.expire(today + 1)),
            BatchSize::LargeInput,
        )
    });
    drop(snapshot);
    let mut day = today;
    group.bench_function("daily", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                day += 1;
                let start = Instant::now();
                let removed = store.expire(day);
                total += start.elapsed();
                for (tag, set) in removed {
                    store.add_tag_bulk(tag, &set, day).expect("re-assign");
                }
                store
                    .journal_mut()
                    .drain_into(std::io::sink())
                    .expect("drain");
            }
            total
        })
    });
    group.finish();
}

/// Tags the guides' rules remove when a customer has not opened anything for 60 days.
const POSITIVE: [&str; 4] = [
    "activity/active_7d",
    "activity/active_30d",
    "highly active",
    "high potential - follow up",
];

/// The five weekly rules of CRM tagging guides and the five lifecycle rules.
fn weekly_rules() -> RuleSet {
    let mut set = RuleSet::new()
        .group("positive", POSITIVE)
        .rule(
            Rule::new(
                "high value",
                Query::parse("purchase_count > 3").expect("query"),
            )
            .add("high value customer"),
        )
        .rule(
            Rule::new("highly active", attr("last_read").within_days(7))
                .add("highly active")
                .remove("needs attention"),
        )
        .rule(
            Rule::new("needs attention", attr("last_read").within_days(14).not())
                .remove("highly active")
                .add("needs attention"),
        )
        .rule(
            Rule::new("at risk", attr("last_open").within_days(60).not())
                .remove_group("positive")
                .add("at risk of churn"),
        )
        .rule(
            Rule::new(
                "follow up",
                attr("last_interaction_day")
                    .within_days(30)
                    .exclude(tag("stage/purchased")),
            )
            .add("high potential - follow up")
            .remove("silent customer"),
        );
    set.extend(Lifecycle::default().rules());
    set
}

fn on_order() -> RuleSet {
    RuleSet::new().rule(
        Rule::new("order succeeded", all())
            .remove("stage/checkout_abandoned")
            .add_template(TagTemplate::new("purchased-{date}+{product}").dimension("stage")),
    )
}

/// The workload plus what the rules read and write: `last_read` and `last_open` (derived
/// from the last interaction), the rules' tags, "silent customer" on the dormant.
fn rules_store(w: &Workload) -> (Store, Day) {
    let (mut store, today) = build_store(w);
    let edit = Edit::new("bench", today);
    let last = store
        .attribute_id("last_interaction_day")
        .expect("attribute");
    let (mut ids, mut read, mut open) = (Vec::new(), Vec::new(), Vec::new());
    for id in 0..w.n {
        if let Some(Value::Day(d)) = store.value(id, last).expect("value") {
            ids.push(id);
            read.push(Value::Day(d - (mix(id) % 10) as i32));
            open.push(Value::Day(d - (mix(id) % 40) as i32));
        }
    }
    let a = store
        .define_attribute("last_read", AttrKind::Day)
        .expect("attribute");
    store.set_values(a, &ids, &read).expect("values");
    let a = store
        .define_attribute("last_open", AttrKind::Day)
        .expect("attribute");
    store.set_values(a, &ids, &open).expect("values");
    for (name, dim) in [
        ("high value customer", dimensions::PURCHASING_POWER),
        ("highly active", dimensions::ACTIVITY),
        ("needs attention", dimensions::ACTIVITY),
        ("at risk of churn", dimensions::ACTIVITY),
        ("high potential - follow up", dimensions::STAGE),
        ("silent customer", dimensions::ACTIVITY),
    ] {
        store
            .create_tag(&edit, TagSpec::new(name).dimension(dim))
            .expect("tag");
    }
    let silent = store.tag_id("silent customer").expect("tag");
    let dormant = store
        .members(store.tag_id("activity/dormant_180d").expect("tag"))
        .expect("members")
        .clone();
    store
        .add_tag_bulk(silent, &dormant, today - 30)
        .expect("members");
    Lifecycle::default()
        .create_tags(&mut store, &edit)
        .expect("lifecycle tags");
    (store, today)
}

#[allow(clippy::disallowed_methods)] // benches time with the clock
fn weekly(c: &mut Criterion, w: &Workload) {
    let (mut store, today) = rules_store(w);
    let rules = weekly_rules();
    // Last week's run, so this week's moves only what changed.
    let first = rules.run(&mut store, &Run::new(today - 7)).expect("run");
    eprintln!("weekly: first run\n{first}");
    let report = rules.dry_run(&store, &Run::new(today)).expect("dry run");
    eprintln!("weekly: the measured run\n{report}");

    store.journal_mut().take();
    {
        let mut probe = store.clone();
        rules.run(&mut probe, &Run::new(today)).expect("run");
        eprintln!(
            "journal of the weekly 10-rule batch: {} bytes in {} records",
            probe.journal().pending_bytes(),
            probe.journal().pending_records()
        );
    }
    let mut group = c.benchmark_group("weekly");
    group.sample_size(20);
    // With the journal (the records the run makes are part of it) and without.
    group.bench_function("run_10_rules", |b| {
        b.iter_batched(
            || store.clone(),
            |mut s| black_box(rules.run(&mut s, &Run::new(today)).expect("run")),
            BatchSize::LargeInput,
        )
    });
    let mut off = store.clone();
    off.journal_mut().set_enabled(false);
    group.bench_function("run_10_rules_journal_off", |b| {
        b.iter_batched(
            || off.clone(),
            |mut s| black_box(rules.run(&mut s, &Run::new(today)).expect("run")),
            BatchSize::LargeInput,
        )
    });
    drop(off);
    group.bench_function("dry_run_10_rules", |b| {
        b.iter(|| black_box(rules.dry_run(&store, &Run::new(today)).expect("dry run")))
    });
    group.finish();

    let mut group = c.benchmark_group("event");
    let order = on_order();
    let cart = store.tag_id("stage/checkout_abandoned").expect("tag");
    let carts: Vec<u32> = store.members(cart).expect("members").iter().collect();
    // The first order of the day creates the templated tag; later ones find it.
    let first_buyer = carts[0];
    order
        .run(
            &mut store,
            &Run::new(today)
                .customer(first_buyer)
                .var("product", "lipstick"),
        )
        .expect("order");
    let purchased = store
        .tag_id_in("stage", "purchased-2025-01-01+lipstick")
        .expect("created");
    let mut next = 1usize;
    group.bench_function("order_one_customer", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let c = carts[next % carts.len()];
                next += 1;
                let run = Run::new(today).customer(c).var("product", "lipstick");
                let start = Instant::now();
                let report = order.run(&mut store, &run).expect("order");
                total += start.elapsed();
                debug_assert_eq!(report.changed, 1);
                black_box(report);
                // Back to the cart, outside the timing, so every order has work to do.
                store.add_tag(c, cart, today - 1).expect("cart");
                store.remove_tag(c, purchased).expect("purchased");
                store
                    .journal_mut()
                    .drain_into(std::io::sink())
                    .expect("drain");
            }
            total
        })
    });
    let mut next = 0u32;
    group.bench_function("weekly_rules_one_customer", |b| {
        b.iter(|| {
            next = (next + 7919) % w.n;
            let run = Run::new(today).customer(next);
            let r = black_box(rules.run(&mut store, &run).expect("run"));
            store
                .journal_mut()
                .drain_into(std::io::sink())
                .expect("drain");
            r
        })
    });
    group.finish();
}

/// A week of changes at 1M customers, journaled: the weekly 10-rule batch, five
/// 5,000-row imports and 10,000 single-customer events (a purchase: a value and a tag, as
/// one batch). `journal/replay_week` replays them onto the week's starting snapshot,
/// loaded outside the timing; `journal/snapshot_load` loads the snapshot of the store at
/// the end of the week, the alternative a checkpoint per change would mean.
fn week(c: &mut Criterion, w: &Workload) {
    let (mut store, today) = rules_store(w);
    let rules = weekly_rules();
    rules.run(&mut store, &Run::new(today - 7)).expect("run");
    let mut start = Vec::new();
    audience::snapshot::write(&store, &mut start).expect("snapshot");
    store.journal_mut().take();

    rules.run(&mut store, &Run::new(today)).expect("run");
    let mut phases = vec![("rules", store.journal().pending_bytes())];
    let names: Vec<&str> = w.tags.iter().map(|t| t.name.as_str()).collect();
    let edit = Edit::new("import", today);
    let mut live = Duration::ZERO;
    for k in 0..5u32 {
        let mut csv = String::from("phone,tags\n");
        for i in 0..5_000u32 {
            let id = mix(k * 5_000 + i) % w.n;
            let t = names[(mix(id ^ k) as usize) % names.len()];
            csv.push_str(&format!("{},{t}\n", 66_800_000_000 + u64::from(id)));
        }
        let t = Instant::now();
        audience::Importer::new()
            .import_str(&mut store, &csv, &edit)
            .expect("import");
        live += t.elapsed();
    }
    eprintln!(
        "the five imports as they happened: {:.1} ms",
        live.as_secs_f64() * 1e3
    );
    phases.push(("imports", store.journal().pending_bytes()));
    let count = store.attribute_id("purchase_count").expect("attribute");
    let bought = store.tag_id("stage/purchased").unwrap_or_else(|_| {
        store
            .create_tag(&edit, TagSpec::new("purchased").dimension("stage"))
            .expect("tag")
    });
    for i in 0..10_000u32 {
        let id = mix(i ^ 0xABCD) % w.n;
        store
            .batch(|s| {
                s.set_value(id, count, Value::Int(i64::from(i % 50)))?;
                s.add_tag(id, bought, today)
            })
            .expect("event");
    }
    let journal = store.journal_mut().take();
    phases.push(("events", journal.len()));
    for (name, len) in &phases {
        let mut s = audience::snapshot::read(&start[..]).expect("load");
        let t = Instant::now();
        audience::journal::replay(&mut s, &journal[..*len]).expect("replay");
        eprintln!(
            "replay through the {name}: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let mut end = Vec::new();
    audience::snapshot::write(&store, &mut end).expect("snapshot");
    eprintln!(
        "a week of changes: {:.2} MiB of journal ({} changes); snapshots {:.1} MiB",
        journal.len() as f64 / (1u64 << 20) as f64,
        store.journal().seq(),
        end.len() as f64 / (1u64 << 20) as f64
    );
    {
        let mut check = audience::snapshot::read(&start[..]).expect("load");
        audience::journal::replay(&mut check, &journal).expect("replay");
        let mut again = Vec::new();
        audience::snapshot::write(&check, &mut again).expect("snapshot");
        assert!(again == end, "replay rebuilds the week's store");
    }
    let mut group = c.benchmark_group("journal");
    group.sample_size(10);
    group.bench_function("replay_week", |b| {
        b.iter_batched(
            || audience::snapshot::read(&start[..]).expect("load"),
            |mut s| {
                black_box(audience::journal::replay(&mut s, &journal).expect("replay"));
                s
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("snapshot_load", |b| {
        b.iter(|| black_box(audience::snapshot::read(&end[..]).expect("load")))
    });
    group.finish();
}

fn rules(c: &mut Criterion) {
    let w = Workload::from_env_or_generate(N);
    expiry(c, &w);
    weekly(c, &w);
    week(c, &w);
}

criterion_group!(benches, rules);
criterion_main!(benches);
