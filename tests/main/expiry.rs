//! Expiry against the tagging guides: "new customer" must be removed 60 days after it was assigned,
//! re-assigning refreshes the day, and "assigned more than N days ago" works in queries.

use audience::{CustomerKey, Day, Edit, Query, Store, TagId, TagSpec};

use crate::support::{bits, day};

/// Three customers; "new customer" with a 60-day TTL and "vip" without one.
fn shop() -> (Store, TagId, TagId) {
    let mut store = Store::new();
    let e = Edit::new("admin", day("2025-01-01"));
    let new = store
        .create_tag(&e, TagSpec::new("new customer").ttl_days(60))
        .unwrap();
    let vip = store.create_tag(&e, TagSpec::new("vip")).unwrap();
    for i in 0..3 {
        store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
    }
    (store, new, vip)
}

#[test]
fn new_customer_leaves_60_days_after_assignment() {
    let (mut store, new, vip) = shop();
    let first_purchase = day("2025-01-01");
    store.add_tag(0, new, first_purchase).unwrap();
    store.add_tag(0, vip, first_purchase).unwrap();

    // Day 59 after the assignment: still a new customer.
    assert!(store.expire(first_purchase + 59).is_empty());
    assert_eq!(store.members(new).unwrap(), &bits([0]));

    // Day 60: removed, and reported per tag. Tags without a TTL are untouched.
    let removed = store.expire(day("2025-03-02"));
    assert_eq!(day("2025-03-02") - first_purchase, 60);
    assert_eq!(removed, vec![(new, bits([0]))]);
    assert!(store.members(new).unwrap().is_empty());
    assert_eq!(store.members(vip).unwrap(), &bits([0]));

    // Nothing left to expire: a second run on the same day removes nothing.
    assert!(store.expire(day("2025-03-02")).is_empty());
}

#[test]
fn reassigning_refreshes_the_day() {
    let (mut store, new, _) = shop();
    let d = day("2025-01-01");
    store.add_tag(0, new, d).unwrap();
    store.add_tag(1, new, d).unwrap();
    // Customer 1 buys again on day 30 and is assigned "new customer" again.
    store.add_tag(1, new, d + 30).unwrap();
    assert_eq!(store.assigned_day(1, new).unwrap(), Some(d + 30));

    assert_eq!(store.expire(d + 60), vec![(new, bits([0]))]);
    assert_eq!(store.members(new).unwrap(), &bits([1]));
    assert!(store.expire(d + 89).is_empty());
    assert_eq!(store.expire(d + 90), vec![(new, bits([1]))]);

    // The same through the bulk path.
    store.add_tag_bulk(new, &bits([0, 1, 2]), d).unwrap();
    store.add_tag_bulk(new, &bits([2]), d + 10).unwrap();
    assert_eq!(store.expire(d + 60), vec![(new, bits([0, 1]))]);
    assert_eq!(store.expire(d + 70), vec![(new, bits([2]))]);
}

#[test]
fn expiry_skips_days_between_runs() {
    // An app that runs expiry only weekly removes everything that is due, whatever the
    // day it became due.
    let (mut store, new, _) = shop();
    let d = day("2025-01-01");
    store.add_tag(0, new, d).unwrap();
    store.add_tag(1, new, d + 3).unwrap();
    store.add_tag(2, new, d + 9).unwrap();
    assert_eq!(store.expire(d + 65), vec![(new, bits([0, 1]))]);
    assert_eq!(store.members(new).unwrap(), &bits([2]));
    assert_eq!(store.assigned_day(2, new).unwrap(), Some(d + 9));
}

#[test]
fn ttl_changes_apply_to_existing_memberships() {
    let (mut store, new, vip) = shop();
    let d = day("2025-01-01");
    let e = Edit::new("admin", d);
    store.add_tag(0, vip, d).unwrap();
    assert!(store.expire(d + 400).is_empty());
    store.set_ttl(&e, vip, Some(365)).unwrap();
    assert_eq!(store.expire(d + 400), vec![(vip, bits([0]))]);
    store.add_tag(0, new, d).unwrap();
    store.set_ttl(&e, new, None).unwrap();
    assert!(store.expire(d + 1000).is_empty());
}

#[test]
fn assigned_more_than_n_days_ago_in_queries() {
    let (mut store, new, _) = shop();
    let d = day("2025-01-01");
    store.add_tag(0, new, d).unwrap();
    store.add_tag(1, new, d + 1).unwrap();
    store.add_tag(2, new, d + 20).unwrap();
    let today = d + 61;
    let count = |q: &str| store.count(&Query::parse(q).unwrap(), today).unwrap();
    // Customer 0: 61 days ago (more than 60); customer 1: exactly 60 days ago (not more).
    assert_eq!(count("\"new customer\" ASSIGNED BEFORE 60d"), 1);
    assert_eq!(count("\"new customer\" ASSIGNED WITHIN 60d"), 2);
    assert_eq!(count("\"new customer\" ASSIGNED WITHIN 41d"), 1);
    let sel = store
        .select(
            &Query::parse("\"new customer\" ASSIGNED BEFORE 60d").unwrap(),
            today,
        )
        .unwrap();
    assert_eq!(sel.bitmap(), &bits([0]));
}

#[test]
fn extreme_days_do_not_panic() {
    let (mut store, new, _) = shop();
    store.add_tag(0, new, Day::MAX).unwrap();
    store.add_tag(1, new, Day::MIN).unwrap();
    assert_eq!(store.expire(Day::MIN), vec![]);
    assert_eq!(store.expire(Day::MAX), vec![(new, bits([1]))]);
    let e = Edit::new("admin", Day::EPOCH);
    store.set_ttl(&e, new, Some(u32::MAX)).unwrap();
    assert_eq!(store.expire(Day::MAX), vec![]);
    store.set_ttl(&e, new, Some(0)).unwrap();
    assert_eq!(store.expire(Day::MAX), vec![(new, bits([0]))]);
}
