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
