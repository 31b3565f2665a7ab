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

    let mut group = c.benchmark_group("weekly");
    group.sample_size(20);
    group.bench_function("run_10_rules", |b| {
        b.iter_batched(
            || store.clone(),
            |mut s| black_box(rules.run(&mut s, &Run::new(today)).expect("run")),
            BatchSize::LargeInput,
        )
    });
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
            }
            total
        })
    });
    let mut next = 0u32;
    group.bench_function("weekly_rules_one_customer", |b| {
        b.iter(|| {
            next = (next + 7919) % w.n;
            let run = Run::new(today).customer(next);
            black_box(rules.run(&mut store, &run).expect("run"))
        })
    });
    group.finish();
}

fn rules(c: &mut Criterion) {
    let w = Workload::from_env_or_generate(N);
    expiry(c, &w);
    weekly(c, &w);
}

criterion_group!(benches, rules);
criterion_main!(benches);
