//! The three faces of a segment query (text, JSON, builder), the funnel `explain()` shows,
//! paging through a large segment, and what a mistake looks like.
//!
//! Run it with `cargo run --release --example segments`.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use audience::query::{attr, tag};
use audience::{
    AttrKind, Context, CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec, Value,
    dimensions,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let today = Day::from_ymd(2025, 1, 1)?;
    let store = shop(today)?;

    // 1. Text, for people.
    let text = Query::parse(
        "interest/cosmetics AND stage/purchased EXCLUDE product/lipstick AND last_interaction WITHIN 30d",
    )?;
    // 2. JSON, for programs (serde).
    let json = r#"{"and":[{"tag":{"name":"interest/cosmetics"}},{"tag":{"name":"stage/purchased"}},
                  {"not":{"tag":{"name":"product/lipstick"}}},{"within":{"attr":"last_interaction","days":30}}]}"#;
    let from_json: Query = serde_json::from_str(json)?;
    // 3. The builder, for Rust.
    let built = Query::new(
        tag("interest/cosmetics")
            .and(tag("stage/purchased"))
            .exclude(tag("product/lipstick"))
            .and(attr("last_interaction").within_days(30)),
    );
    assert_eq!(text, from_json);
    assert_eq!(text, built);
    println!("canonical text: {text}");
    println!("as JSON:        {}", serde_json::to_string(&text)?);

    // The funnel a marketer previews before sending.
    println!("\n{}", store.explain(&text, today)?);

    // Paging through a large segment without copying it.
    let everyone_active = store.select(&Query::parse("last_interaction WITHIN 3mo")?, today)?;
    let page3: Vec<u32> = everyone_active.page(200, 5).collect();
    println!(
        "active in the last 3 months: {}; page 3 starts with ids {page3:?}",
        everyone_active.len()
    );
    for (id, key) in everyone_active.keys(&store).take(3) {
        println!("  customer {id}: {key}");
    }

    // A caller-supplied set: customers already messaged 5 times today.
    let capped: RoaringBitmap = everyone_active.page(0, 1000).collect();
    let ctx = Context::new(today).with_set("capped", &capped);
    let q = Query::parse("last_interaction WITHIN 3mo EXCLUDE @capped")?;
    println!("\nactive and not capped: {}", store.plan(&q, &ctx)?.count());

    // Mistakes point at the problem.
    for bad in [
        "interest/cosmetics AND (stage/purchased OR product/lipstick",
        "interest/cosmetic AND stage/purchased",
        "purchase_count > 3 AND last_interaction > 3",
        "stage/purchased AND purchase_count BETWEEN 1 AND",
    ] {
        match Query::parse(bad).and_then(|q| store.count(&q, today)) {
            Ok(n) => println!("{bad}: {n}"),
            Err(e) => println!("\n{e}"),
        }
    }
    Ok(())
}

/// 10,000 customers shaped like the worked example of CRM tagging guides, plus activity.
fn shop(today: Day) -> Result<Store, audience::Error> {
    let e = Edit::new("admin", today);
    let mut s = Store::new();
    let ids = s.ensure_customers((0..10_000u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))?;
    let cosmetics = s.create_tag(
        &e,
        TagSpec::new("interest/cosmetics").dimension(dimensions::INTERESTS),
    )?;
    let purchased = s.create_tag(
        &e,
        TagSpec::new("stage/purchased").dimension(dimensions::STAGE),
    )?;
    let lipstick = s.create_tag(
        &e,
        TagSpec::new("product/lipstick").dimension(dimensions::INTERESTS),
    )?;
    let set = |r: std::ops::Range<u32>| r.collect::<RoaringBitmap>();
    s.add_tag_bulk(cosmetics, &set(0..2500), today)?;
    s.add_tag_bulk(purchased, &set(1300..5300), today)?;
    s.add_tag_bulk(lipstick, &set(1300..2100), today)?;
    let seen = s.define_attribute("last_interaction", AttrKind::Day)?;
    let count = s.define_attribute("purchase_count", AttrKind::Int)?;
    let days: Vec<Value> = ids
        .iter()
        .map(|&i| Value::Day(today - (i * 37 % 365) as i32))
        .collect();
    s.set_values(seen, &ids, &days)?;
    let counts: Vec<Value> = ids.iter().map(|&i| Value::Int(i64::from(i % 7))).collect();
    s.set_values(count, &ids, &counts)?;
    Ok(s)
}
