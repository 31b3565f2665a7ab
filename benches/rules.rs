//! Time and rules on the shared workload (1M customers, 200 tags, `../shared/peers/`):
//!
//! - `expiry/daily`: the daily `expire(today)` of 20 tags with a 60-day TTL whose memberships
//!   were assigned over the last 90 days (one assignment-day bucket per day). Steady state:
//!   each iteration is the next day, and what expired is assigned again on that day outside
//!   the timing, so every day removes one day's memberships per tag.
//! - `expiry/daily_shared`: the same expiry on a clone that shares its bitmaps with a reader
//!   snapshot, so the copy-on-write copies of the touched tags are included.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use audience::{Day, Edit, RoaringBitmap, Store, TagId};
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

fn rules(c: &mut Criterion) {
    let w = Workload::from_env_or_generate(N);
    expiry(c, &w);
}

criterion_group!(benches, rules);
criterion_main!(benches);
