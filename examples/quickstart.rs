//! A small shop in a few lines: 300 customers keyed by phone number, tags in English and
//! Thai, two attributes, and the questions a marketer asks before sending a campaign.
//!
//! Run it with `cargo run --release --example quickstart`.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use audience::{
    AttrKind, CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec, Value, dimensions,
    normalize_phone,
};

fn main() -> Result<(), audience::Error> {
    let today = Day::from_ymd(2025, 1, 6)?;
    let admin = Edit::new("admin", today);
    let mut store = Store::new();

    // The taxonomy: a few tags per dimension, in two scripts.
    let cosmetics = store.create_tag(
        &admin,
        TagSpec::new("cosmetics").dimension(dimensions::INTERESTS),
    )?;
    let skincare = store.create_tag(
        &admin,
        TagSpec::new("สกินแคร์").dimension(dimensions::INTERESTS),
    )?; // skincare
    let purchased = store.create_tag(
        &admin,
        TagSpec::new("purchased").dimension(dimensions::STAGE),
    )?;
    let new_customer = store.create_tag(
        &admin,
        TagSpec::new("ลูกค้าใหม่") // "new customer"
            .dimension(dimensions::STAGE)
            .ttl_days(60)
            .description("removed 60 days after assignment"),
    )?;
    let lipstick = store.create_tag(
        &admin,
        TagSpec::new("lipstick").dimension(dimensions::INTERESTS),
    )?;
    let line = store.create_tag(&admin, TagSpec::new("LINE").dimension(dimensions::CHANNEL))?;
    let vip = store.create_tag(
        &admin,
        TagSpec::new("VIP").dimension(dimensions::PURCHASING_POWER),
    )?;
    let last_seen = store.define_attribute("last_interaction", AttrKind::Day)?;
    let orders = store.define_attribute("purchase_count", AttrKind::Int)?;

    // 300 customers from a messy list: Thai mobile numbers written the way people type them.
    for i in 0..300u32 {
        let raw = format!("08{} {:03} {:04}", 1 + i % 9, i % 1000, (i * 7919) % 10_000);
        let phone = normalize_phone(&raw, Some(audience::Country::TH))?;
        let c = store.add_customer(CustomerKey::from(phone))?;
        // Deterministic "behaviour" so the output is the same on every run.
        if i % 3 == 0 {
            store.add_tag(c, cosmetics, today - 40)?;
        }
        if i % 4 == 0 {
            store.add_tag(c, skincare, today - 10)?;
        }
        if i % 2 == 0 {
            store.add_tag(c, purchased, today - 20)?;
            store.set_value(c, orders, i64::from(1 + i % 6))?;
        }
        if i % 12 == 0 {
            store.add_tag(c, lipstick, today - 5)?;
        }
        if i % 5 != 0 {
            store.add_tag(c, line, today - 90)?;
        }
        if i % 25 == 0 {
            store.add_tag(c, vip, today - 200)?;
        }
        if i % 10 == 0 {
            store.add_tag(c, new_customer, today - i32::try_from(i % 90).unwrap_or(0))?;
        }
        store.set_value(
            c,
            last_seen,
            Value::Day(today - i32::try_from(i % 250).unwrap_or(0)),
        )?;
    }
    println!(
        "{} customers, {} tags",
        store.customer_count(),
        store.tag_count()
    );

    // Who are we talking to? Preview the size before sending.
    let audience = Query::parse(
        "(cosmetics OR สกินแคร์) AND purchased EXCLUDE lipstick AND last_interaction WITHIN 30d",
    )?;
    println!("\naudience: {audience}");
    println!("{}", store.explain(&audience, today)?);

    // The first page of phone numbers to message.
    let segment = store.select(&audience, today)?;
    let first: Vec<String> = segment
        .page(0, 5)
        .filter_map(|id| store.key(id))
        .map(|k| k.to_string())
        .collect();
    println!("first 5 of {}: {}", segment.len(), first.join(", "));

    // Attribute predicates and membership age.
    for q in [
        "purchase_count > 3",
        "VIP AND last_interaction BEFORE 6mo",
        "ลูกค้าใหม่ ASSIGNED BEFORE 60d",
        "IN [cosmetics, สกินแคร์, lipstick] AND NOT LINE",
    ] {
        println!("{:>5}  {q}", store.count(&Query::parse(q)?, today)?);
    }

    // A bulk edit CRM tagging guides describe: everyone with LINE who has not purchased gets a follow-up
    // tag, in one step.
    let follow_up = store.create_tag(
        &admin,
        TagSpec::new("follow up").dimension(dimensions::STAGE),
    )?;
    let targets: RoaringBitmap = store
        .select(&Query::parse("LINE AND NOT purchased")?, today)?
        .into_bitmap();
    store.add_tag_bulk(follow_up, &targets, today)?;
    println!(
        "\ntagged {} customers \"follow up\"",
        store.members(follow_up)?.len()
    );

    // Tags shown next to an order.
    let first_customer = segment.select(0).unwrap_or(0);
    println!(
        "customer {} carries: {}",
        first_customer,
        store.tag_names_of(first_customer)?.join(", ")
    );

    // Tagging by hand: type part of a name, pick from the matching tags.
    let found: Vec<String> = store
        .find_tags("COS")
        .into_iter()
        .map(|t| format!("{}:{}", t.dimension, t.name))
        .collect();
    println!("tags matching \"COS\": {}", found.join(", "));

    // Time passes: "new customer" memberships older than their 60-day TTL leave.
    let expired = store.expire(today);
    for (tag, gone) in &expired {
        println!(
            "expired {} memberships of \"{}\"",
            gone.len(),
            store.tag(*tag)?.name
        );
    }

    // Mistakes get clear errors.
    if let Err(e) = Query::parse("cosmetics AND (purchased OR lipstick") {
        println!("\n{e}");
    }
    if let Err(e) = store.count(&Query::parse("cosmetic AND purchased")?, today) {
        println!("\n{e}");
    }
    if let Err(e) = store.create_tag(
        &admin,
        TagSpec::new("vip ").dimension(dimensions::PURCHASING_POWER),
    ) {
        println!("\n{e}");
    }
    Ok(())
}
