//! The worked example of CRM tagging guides, literally: 10,000 customers; `interest-cosmetics` 2,500;
//! `stage-purchased` 4,000; their overlap 1,200; `product-lipstick` 800, all inside the
//! overlap. `interest-cosmetics AND stage-purchased EXCLUDE product-lipstick` = 400.

use audience::{CustomerKey, Day, Edit, Query, RoaringBitmap, StepOp, Store, TagSpec};

fn seed_store() -> (Store, Day) {
    let today = Day::from_ymd(2025, 1, 1).unwrap();
    let e = Edit::new("admin", today);
    let mut store = Store::new();
    let keys = (0..10_000u64).map(|i| CustomerKey::phone_number(85_290_000_000 + i).unwrap());
    let ids = store.ensure_customers(keys).unwrap();
    assert_eq!(ids.len(), 10_000);
    let cosmetics = store
        .create_tag(&e, TagSpec::new("interest-cosmetics"))
        .unwrap();
    let purchased = store
        .create_tag(&e, TagSpec::new("stage-purchased"))
        .unwrap();
    let lipstick = store
        .create_tag(&e, TagSpec::new("product-lipstick"))
        .unwrap();
    // cosmetics: 0..2500; purchased: 1300..5300 (overlap 1300..2500 = 1,200);
    // lipstick: 800 customers inside the overlap.
    let set = |r: std::ops::Range<u32>| r.collect::<RoaringBitmap>();
    store.add_tag_bulk(cosmetics, &set(0..2500), today).unwrap();
    store
        .add_tag_bulk(purchased, &set(1300..5300), today)
        .unwrap();
    store
        .add_tag_bulk(lipstick, &set(1300..2100), today)
        .unwrap();
    (store, today)
}

#[test]
fn lipstick_example_is_400() {
    let (store, today) = seed_store();
    let count = |q: &str| store.count(&Query::parse(q).unwrap(), today).unwrap();
    assert_eq!(store.customer_count(), 10_000);
    assert_eq!(count("interest-cosmetics"), 2_500);
    assert_eq!(count("stage-purchased"), 4_000);
    assert_eq!(count("interest-cosmetics AND stage-purchased"), 1_200);
    assert_eq!(count("product-lipstick"), 800);
    assert_eq!(
        count("interest-cosmetics AND stage-purchased EXCLUDE product-lipstick"),
        400
    );
    // The same through every face of the query.
    let q =
        Query::parse("interest-cosmetics AND stage-purchased EXCLUDE product-lipstick").unwrap();
    assert_eq!(store.select(&q, today).unwrap().len(), 400);
    let built = audience::query::tag("interest-cosmetics")
        .and(audience::query::tag("stage-purchased"))
        .exclude(audience::query::tag("product-lipstick"));
    assert_eq!(Query::new(built.clone()), q);
    assert_eq!(store.count(&Query::new(built), today).unwrap(), 400);
    // A blast to everyone would disturb 9,600 customers who are not the audience.
    assert_eq!(
        count("NOT (interest-cosmetics AND stage-purchased EXCLUDE product-lipstick)"),
        9_600
    );
}

#[test]
fn lipstick_example_funnel() {
    let (store, today) = seed_store();
    let q =
        Query::parse("interest-cosmetics AND stage-purchased EXCLUDE product-lipstick").unwrap();
    let ex = store.explain(&q, today).unwrap();
    let steps: Vec<(StepOp, &str, u64)> = ex
        .steps
        .iter()
        .map(|s| (s.op, s.clause.as_str(), s.count))
        .collect();
    assert_eq!(
        steps,
        vec![
            (StepOp::Start, "interest-cosmetics", 2_500),
            (StepOp::And, "stage-purchased", 1_200),
            (StepOp::AndNot, "product-lipstick", 400),
        ]
    );
    assert_eq!(ex.total, 400);
    assert_eq!(ex.universe, 10_000);
}
