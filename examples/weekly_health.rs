//! The Monday routine CRM tagging guides recommend: the weekly tag health report for a generated shop of 20,000
//! customers with problems planted in it, then the week's change log.
//!
//! Planted: a "regular customer" tag on 92% of customers, "ordered" and "paid" with the
//! same meaning, "spring limited" unused for 31 days, VIPs idle for over 180 days, an
//! empty test tag, a tiny manual list, a product tag inside its interest tag, customers
//! without any tag, a name from before the naming rules, and only 19 tags for 20,000
//! customers (too coarse).
//!
//! Run with `cargo run --release --example weekly_health`.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use audience::health::HealthConfig;
use audience::{
    AttrKind, CustomerKey, Day, Edit, NamingRules, Policy, RoaringBitmap, Store, TagSpec, Value,
    dimensions,
};

const CUSTOMERS: u32 = 20_000;

/// A small deterministic generator (xorshift), so every run prints the same report.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

fn main() -> Result<(), audience::Error> {
    let today = Day::from_ymd(2025, 3, 3)?; // a Monday
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut store = Store::new();

    // The customers and their last interaction: most within a few months, a few asleep;
    // one in twenty is a VIP, and one VIP in six is asleep.
    let keys = (0..CUSTOMERS).map(|i| CustomerKey::Phone(85_290_000_000 + u64::from(i)));
    let ids = store.ensure_customers(keys)?;
    let last = store.define_attribute("last_interaction", AttrKind::Day)?;
    let is_vip: Vec<bool> = ids.iter().map(|_| rng.chance(0.05)).collect();
    let idle: Vec<i32> = is_vip
        .iter()
        .map(|&vip| {
            let days = (rng.next() % 120) as i32;
            let asleep = if vip { 1.0 / 6.0 } else { 0.03 };
            if rng.chance(asleep) {
                181 + days * 3
            } else {
                days
            }
        })
        .collect();
    let values: Vec<Value> = idle.iter().map(|d| Value::Day(today - *d)).collect();
    store.set_values(last, &ids, &values)?;

    // The taxonomy, built by the administrator over the last months.
    let mei = |ago: i32| Edit::new("mei", today - ago);
    let tag = |store: &mut Store, name: &str, dim: &str, created_ago: i32| {
        store.create_tag(&mei(created_ago), TagSpec::new(name).dimension(dim))
    };
    let regular = tag(&mut store, "loyalty/regular customer", "loyalty", 200)?;
    let activity = [
        tag(&mut store, "activity/high", dimensions::ACTIVITY, 200)?,
        tag(&mut store, "activity/medium", dimensions::ACTIVITY, 200)?,
        tag(&mut store, "activity/low", dimensions::ACTIVITY, 200)?,
    ];
    let ordered = tag(&mut store, "stage/ordered", dimensions::STAGE, 150)?;
    let paid = tag(&mut store, "stage/paid", dimensions::STAGE, 20)?;
    let cart = tag(&mut store, "stage/abandoned cart", dimensions::STAGE, 150)?;
    let cosmetics = tag(&mut store, "interest/cosmetics", dimensions::INTERESTS, 180)?;
    let baby = tag(
        &mut store,
        "interest/mother & baby",
        dimensions::INTERESTS,
        180,
    )?;
    let electronics = tag(
        &mut store,
        "interest/3C electronics",
        dimensions::INTERESTS,
        180,
    )?;
    let lipstick = tag(&mut store, "interest/lipstick", dimensions::INTERESTS, 90)?;
    let web = tag(&mut store, "channel/website", dimensions::CHANNEL, 200)?;
    let instagram = tag(&mut store, "channel/instagram", dimensions::CHANNEL, 200)?;
    let offline = tag(
        &mut store,
        "channel/offline store",
        dimensions::CHANNEL,
        200,
    )?;
    let vip = tag(&mut store, "power/VIP", dimensions::PURCHASING_POWER, 200)?;
    let promo = tag(
        &mut store,
        "power/promotion sensitive",
        dimensions::PURCHASING_POWER,
        200,
    )?;
    let spring = tag(&mut store, "campaign/spring limited", "campaign", 60)?;
    let whales = tag(
        &mut store,
        "power/whale manual list",
        dimensions::PURCHASING_POWER,
        40,
    )?;
    let qa = tag(&mut store, "qa test", dimensions::GENERAL, 10)?;
    let _ = qa;

    // Memberships, assigned over the last months.
    let mut members: Vec<RoaringBitmap> = vec![RoaringBitmap::new(); 32];
    let mut add = |t: audience::TagId, c: u32| members[t.as_u32() as usize].insert(c);
    for &c in &ids {
        let asleep = idle[c as usize] > 180;
        if rng.chance(0.97) {
            add(regular, c);
        }
        let level = if asleep { 2 } else { (rng.next() % 3) as usize };
        if rng.chance(0.99) {
            add(activity[level], c);
        }
        let is_ordered = rng.chance(0.3);
        if is_ordered {
            add(ordered, c);
            if rng.chance(0.97) {
                add(paid, c);
            }
        } else if rng.chance(0.1) {
            add(cart, c);
        }
        let interest = rng.next() % 4;
        match interest {
            0 => {
                add(cosmetics, c);
                if rng.chance(0.3) {
                    add(lipstick, c);
                }
            }
            1 => {
                add(baby, c);
            }
            2 => {
                add(electronics, c);
            }
            _ => {}
        }
        match rng.next() % 20 {
            0..=7 => add(web, c),
            8..=14 => add(instagram, c),
            _ => add(offline, c),
        };
        if is_vip[c as usize] {
            add(vip, c);
        }
        if rng.chance(0.25) {
            add(promo, c);
        }
        if rng.chance(0.2) {
            add(spring, c);
        }
    }
    for c in [17, 404, 999, 5_000, 7_777, 12_345, 19_999] {
        add(whales, c);
    }
    // Customers 19,000.. came from an import that set no tags.
    let untagged: RoaringBitmap = (19_000..19_990).collect();
    for (i, set) in members.iter().enumerate() {
        let Some(info) = store.tags().find(|t| t.id.as_u32() as usize == i) else {
            continue;
        };
        let id = info.id;
        let set = set - &untagged;
        store.add_tag_bulk(id, &set, today - (i as i32 * 5) % 200)?;
    }

    // Uses: every campaign of the last weeks used some tags; "spring limited" last 31 days
    // ago.
    for (t, ago) in [
        (regular, 3),
        (activity[0], 3),
        (activity[1], 10),
        (activity[2], 24),
        (ordered, 2),
        (paid, 9),
        (cart, 1),
        (cosmetics, 5),
        (baby, 12),
        (electronics, 7),
        (lipstick, 5),
        (web, 2),
        (instagram, 2),
        (offline, 20),
        (vip, 6),
        (promo, 4),
        (spring, 31),
        (whales, 14),
    ] {
        store.record_use(t, today - ago)?;
    }

    // Governance: two administrators and naming rules, switched on last week, after the
    // "qa test" tag was made.
    store.set_policy(
        &mei(6).because("only mei and somchai change tags from now on"),
        Policy::administered_by(["mei", "somchai"])?.with_naming(
            NamingRules::new()
                .require_dimension_prefix()
                .prefix(dimensions::ACTIVITY, "activity")?
                .prefix(dimensions::INTERESTS, "interest")?
                .prefix(dimensions::PURCHASING_POWER, "power")?
                .max_chars(40)?
                .forbid_chars(",#")?,
        ),
    )?;
    let somchai = Edit::new("somchai", today - 2);
    store.set_ttl(
        &somchai.clone().because("new customers age out"),
        cart,
        Some(30),
    )?;
    let old = store.create_tag(
        &somchai,
        TagSpec::new("campaign/winter sale 2024").dimension("campaign"),
    )?;
    store.delete_tag(&somchai.clone().because("winter sale ended"), old)?;
    // An intern tries to delete a tag: refused, nothing changes.
    let refused = store.delete_tag(&Edit::new("intern", today).because("tidy"), spring);
    println!("intern deleting a tag: {}\n", refused.unwrap_err());

    let report = audience::HealthReport::build(&store, today, &HealthConfig::default())?;
    println!("{report}");

    println!("Change log, last 7 days:");
    for entry in store.change_log_between(today - 7, today) {
        println!("  {entry}");
    }
    Ok(())
}
