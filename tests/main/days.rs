//! Valid days only: a `Day` is always in `Day::MIN..=Day::MAX`, and both kinds of date
//! condition (a tag's assignment day, a day attribute) use one window computation.

use audience::{AttrKind, Context, CustomerKey, Day, Edit, Query, Store, TagSpec};

#[test]
fn days_out_of_range_cannot_be_made() {
    assert_eq!(
        Day::from_days(Day::MAX.as_i32() + 1)
            .unwrap_err()
            .to_string(),
        "invalid day \"2932897\": days since 1970-01-01 run from -719528 (0000-01-01) to 2932896 (9999-12-31)"
    );
    assert!(Day::from_days(Day::MIN.as_i32() - 1).is_err());
    assert_eq!(Day::from_days(0).unwrap(), Day::EPOCH);
    assert_eq!(Day::MAX + 1, Day::MAX);
    assert_eq!(Day::MIN - 1, Day::MIN);
    assert_eq!(Day::MAX.checked_add(1), None);
    #[cfg(feature = "serde")]
    {
        assert!(serde_json::from_str::<Day>("2147483647").is_err());
        assert_eq!(serde_json::from_str::<Day>("0").unwrap(), Day::EPOCH);
        assert_eq!(serde_json::to_string(&Day::MAX).unwrap(), "2932896");
    }
}

#[test]
fn both_kinds_of_date_condition_agree_at_the_ends_of_the_range() {
    for (today, day) in [
        (Day::MAX, Day::MAX),
        (Day::MAX, Day::MAX - 30),
        (Day::MAX, Day::MAX - 31),
        (Day::MIN + 5, Day::MIN),
        (Day::MIN, Day::MIN),
        (Day::EPOCH, Day::EPOCH - 30),
    ] {
        let mut s = Store::new();
        let vip = s
            .create_tag(&Edit::new("admin", today), TagSpec::new("vip"))
            .unwrap();
        let last = s.define_attribute("last", AttrKind::Day).unwrap();
        let c = s.add_customer(CustomerKey::member("m1").unwrap()).unwrap();
        s.add_tag(c, vip, day).unwrap();
        s.set_value(c, last, day).unwrap();
        let ctx = Context::new(today);
        let count = |q: &str| s.count(&Query::parse(q).unwrap(), &ctx).unwrap();
        for window in ["30d", "0d", "100000d"] {
            assert_eq!(
                count(&format!("vip ASSIGNED WITHIN {window}")),
                count(&format!("last WITHIN {window}")),
                "today {today}, day {day}, within {window}"
            );
            assert_eq!(
                count(&format!("vip ASSIGNED BEFORE {window}")),
                count(&format!("last BEFORE {window}")),
                "today {today}, day {day}, before {window}"
            );
        }
        // Within and before split the customers.
        assert_eq!(
            count("vip ASSIGNED WITHIN 30d") + count("vip ASSIGNED BEFORE 30d"),
            1
        );
    }
}

/// A column of day numbers from another system (days since 2000-01-01, -1 for never),
/// loaded in bulk and scored by RFM recency, where a number column is refused with a hint.
#[test]
fn day_numbers_of_any_epoch_load_in_bulk_with_a_sentinel() {
    let mut store = Store::new();
    let raw = store
        .define_attribute("last_purchase_day", AttrKind::Int)
        .unwrap();
    let last = store
        .define_attribute("last_purchase", AttrKind::Day)
        .unwrap();
    let ids: Vec<u32> = (0..4)
        .map(|i| {
            store
                .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
                .unwrap()
        })
        .collect();
    let numbers = [9_132i64, -1, 0, 9_101];
    for (&c, &n) in ids.iter().zip(&numbers) {
        store.set_value(c, raw, n).unwrap();
    }
    let today = Day::from_ymd(2025, 1, 31).unwrap();
    let ctx = Context::new(today);
    assert_eq!(
        audience::RfmConfig::default()
            .recency("last_purchase_day")
            .score(&store, &ctx)
            .unwrap_err()
            .to_string(),
        "attribute \"last_purchase_day\" holds numbers, but RfmConfig::recency needs a day \
         attribute (set RfmConfig::recency(..) to one, or convert day numbers with \
         Store::set_days_from_numbers)"
    );
    let epoch = Day::from_ymd(2000, 1, 1).unwrap();
    // A value the sentinel replaces is cleared.
    store.set_value(1, last, today).unwrap();
    store
        .set_days_from_numbers(last, &ids, &numbers, epoch, Some(-1))
        .unwrap();
    let shown: Vec<String> = ids
        .iter()
        .map(|&c| match store.value(c, last).unwrap() {
            Some(v) => v.to_string(),
            None => "none".into(),
        })
        .collect();
    assert_eq!(shown, ["2025-01-01", "none", "2000-01-01", "2024-12-01"]);
    let within = |q: &str| store.count(&Query::parse(q).unwrap(), &ctx).unwrap();
    assert_eq!(within("last_purchase WITHIN 2mo"), 2);
    assert_eq!(within("last_purchase IS NULL"), 1);
    // Checked before anything changes.
    let before = store.value(0, last).unwrap();
    assert_eq!(
        store
            .set_days_from_numbers(last, &ids, &[0, 0, 0, 3_000_000], epoch, None)
            .unwrap_err()
            .to_string(),
        "invalid day \"3000000\": day number 3000000 (position 3) counted from 2000-01-01 lies \
         outside 0000-01-01..=9999-12-31"
    );
    assert_eq!(store.value(0, last).unwrap(), before);
    assert_eq!(
        store
            .set_days_from_numbers(raw, &ids, &numbers, epoch, None)
            .unwrap_err()
            .to_string(),
        "attribute \"last_purchase_day\" holds number values, got day"
    );
    assert_eq!(
        store
            .set_days_from_numbers(last, &ids, &[1], epoch, None)
            .unwrap_err()
            .to_string(),
        "invalid argument: 4 customers but 1 day number"
    );
}
