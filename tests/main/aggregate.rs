//! Aggregates over query results: hand-computed sums, means and extremes, exact sums past
//! `i64`, days that stay days, nearest-rank quantiles by hand and against a naive sort.

use audience::{AttrKind, CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec, Value};
use proptest::prelude::*;

const TODAY: Day = Day::EPOCH.checked_add(20_000).unwrap();

#[test]
fn summaries_over_a_query_result() {
    let mut store = Store::new();
    let e = Edit::new("admin", TODAY);
    let vip = store.create_tag(&e, TagSpec::new("vip")).unwrap();
    let spend = store.define_attribute("monetary", AttrKind::Int).unwrap();
    let seen = store.define_attribute("last_seen", AttrKind::Day).unwrap();
    // id: spend, last seen, vip
    let rows = [
        (Some(500), Some(3), true),
        (Some(-20), None, true),
        (None, Some(1), true),
        (Some(7_000), Some(9), false),
        (Some(1_500), Some(2), true),
    ];
    for (i, (m, d, v)) in rows.iter().enumerate() {
        let c = store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        if let Some(m) = m {
            store.set_value(c, spend, *m).unwrap();
        }
        if let Some(d) = d {
            store.set_value(c, seen, TODAY - *d).unwrap();
        }
        if *v {
            store.add_tag(c, vip, TODAY).unwrap();
        }
    }
    let seg = store.select(&Query::parse("vip").unwrap(), TODAY).unwrap();
    let s = audience::Summary::of(&store, spend, seg.bitmap()).unwrap();
    assert_eq!((s.count, s.missing, s.sum), (3, 1, 1_980));
    assert_eq!(s.mean(), Some(660.0));
    assert_eq!(s.min, Some(Value::Int(-20)));
    assert_eq!(s.max, Some(Value::Int(1_500)));
    assert_eq!(s.kind, AttrKind::Int);

    let d = audience::Summary::of(&store, seen, seg.bitmap()).unwrap();
    assert_eq!((d.count, d.missing), (3, 1));
    assert_eq!(d.min, Some(Value::Day(TODAY - 3)));
    assert_eq!(d.max, Some(Value::Day(TODAY - 1)));
    assert_eq!(d.mean(), Some(f64::from(TODAY.as_i32()) - 2.0));

    // Empty set, ids that are not customers.
    let none = audience::Summary::of(&store, spend, &RoaringBitmap::new()).unwrap();
    assert_eq!(
        (none.count, none.missing, none.sum, none.min, none.mean()),
        (0, 0, 0, None, None)
    );
    let ghosts: RoaringBitmap = [3, 99].into_iter().collect();
    let g = audience::Summary::of(&store, spend, &ghosts).unwrap();
    assert_eq!((g.count, g.missing, g.sum), (1, 0, 7_000));

    // Quantiles of the VIPs' spend: sorted [-20, 500, 1500].
    let q = audience::aggregate::quantiles(
        &store,
        spend,
        seg.bitmap(),
        &[0.0, 0.33, 0.34, 0.5, 2.0 / 3.0, 0.67, 1.0],
    )
    .unwrap();
    let ints: Vec<Option<Value>> = [-20, -20, 500, 500, 500, 1_500, 1_500]
        .into_iter()
        .map(|v| Some(Value::Int(v)))
        .collect();
    assert_eq!(q, ints);
    assert_eq!(
        audience::aggregate::quantiles(&store, seen, seg.bitmap(), &[0.5]).unwrap(),
        vec![Some(Value::Day(TODAY - 2))]
    );
    assert_eq!(
        audience::aggregate::quantiles(&store, spend, &RoaringBitmap::new(), &[0.5, 0.9]).unwrap(),
        vec![None, None]
    );
    for (p, text) in [(1.5, "1.5"), (-0.1, "-0.1"), (f64::NAN, "NaN")] {
        assert_eq!(
            audience::aggregate::quantiles(&store, spend, seg.bitmap(), &[0.5, p])
                .unwrap_err()
                .to_string(),
            format!("invalid argument: a quantile is a probability from 0 to 1, got {text}")
        );
    }
    let unknown = store.attribute_id("nope").unwrap_err().to_string();
    assert_eq!(unknown, "unknown attribute \"nope\"");
}

#[test]
fn sums_do_not_overflow() {
    let mut store = Store::new();
    let big = store.define_attribute("big", AttrKind::Int).unwrap();
    for i in 0..4 {
        let c = store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        store.set_value(c, big, i64::MAX).unwrap();
    }
    let everyone = store.customers().clone();
    let s = audience::Summary::of(&store, big, &everyone).unwrap();
    assert_eq!(s.sum, 4 * i128::from(i64::MAX));
    assert_eq!(s.mean(), Some(i64::MAX as f64));
    let c = store
        .add_customer(CustomerKey::member("low").unwrap())
        .unwrap();
    store.set_value(c, big, i64::MIN).unwrap();
    let everyone = store.customers().clone();
    let s = audience::Summary::of(&store, big, &everyone).unwrap();
    assert_eq!(s.sum, 4 * i128::from(i64::MAX) + i128::from(i64::MIN));
    assert_eq!(s.min, Some(Value::Int(i64::MIN)));
}

proptest! {
    #[test]
    fn quantiles_match_a_naive_sort(
        vals in prop::collection::vec(prop::option::of(-50i64..50), 0..80),
        set in prop::collection::vec(any::<bool>(), 80),
        probs in prop::collection::vec(0.0f64..=1.0, 1..6),
    ) {
        let mut store = Store::new();
        let a = store.define_attribute("a", AttrKind::Int).unwrap();
        for (i, v) in vals.iter().enumerate() {
            let c = store.add_customer(CustomerKey::member(format!("m{i}")).unwrap()).unwrap();
            if let Some(v) = v {
                store.set_value(c, a, *v).unwrap();
            }
        }
        let chosen: RoaringBitmap = (0..vals.len() as u32).filter(|&i| set[i as usize]).collect();
        let mut sorted: Vec<i64> = chosen.iter().filter_map(|i| vals[i as usize]).collect();
        sorted.sort();
        let got = audience::aggregate::quantiles(&store, a, &chosen, &probs).unwrap();
        for (p, g) in probs.iter().zip(&got) {
            // Smallest value whose share of values at or below it reaches p.
            let want = sorted
                .iter()
                .enumerate()
                .find(|(k, _)| (k + 1) as f64 >= p * sorted.len() as f64)
                .map(|(_, v)| Value::Int(*v));
            prop_assert_eq!(*g, want, "p = {}", p);
        }
        let s = audience::Summary::of(&store, a, &chosen).unwrap();
        prop_assert_eq!(s.count, sorted.len() as u64);
        prop_assert_eq!(s.sum, sorted.iter().map(|&v| i128::from(v)).sum::<i128>());
        prop_assert_eq!(s.min, sorted.first().map(|&v| Value::Int(v)));
        prop_assert_eq!(s.max, sorted.last().map(|&v| Value::Int(v)));
        prop_assert_eq!(s.missing, chosen.len() - sorted.len() as u64);
    }
}
