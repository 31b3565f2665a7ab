//! Whole columns set in id order (`Store::set_column`): against a store filled one value
//! at a time (the model), every kind and width, holes, `None`, a slice shorter than the id
//! space; refusals with their exact texts and nothing changed; the journal's records
//! replayed to the same bytes; snapshots written and read back.

use audience::journal::replay;
use audience::{AttrId, AttrKind, CustomerKey, Day, Decimal, Query, Store, Summary, Value};
use proptest::prelude::*;

fn snapshot(store: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    audience::snapshot::write(store, &mut out).unwrap();
    out
}

/// `n` customers (ids `0..n`), `erased` erased, three attributes: count (number),
/// last_seen (day), spend (decimal, 2 places); the journal drained.
fn store_of(n: u64, erased: &[u32]) -> (Store, [AttrId; 3]) {
    let mut s = Store::new();
    s.ensure_customers((0..n).map(|i| CustomerKey::Phone(66_800_000_000 + i)))
        .unwrap();
    for &e in erased {
        if s.customers().contains(e) {
            s.erase_customer(e).unwrap();
        }
    }
    let count = s.define_attribute("count", AttrKind::Int).unwrap();
    let last = s.define_attribute("last_seen", AttrKind::Day).unwrap();
    let spend = s
        .define_attribute("spend", AttrKind::Decimal { scale: 2 })
        .unwrap();
    s.journal_mut().take();
    (s, [count, last, spend])
}

/// Every customer's values of the three attributes and who has one (snapshots would also
/// differ in the journal's sequence number).
fn state(s: &Store, ids: [AttrId; 3]) -> Vec<(Vec<Option<Value>>, Vec<u32>)> {
    ids.iter()
        .map(|&a| {
            let values = (0..s.id_space() as u32)
                .map(|i| s.value(i, a).unwrap())
                .collect();
            (values, s.with_value(a).unwrap().iter().collect())
        })
        .collect()
}

fn day(n: i64) -> Day {
    Day::from_ymd(2025, 1, 1).unwrap() + n as i32
}

#[test]
fn a_column_by_hand() {
    let (mut s, [count, last, spend]) = store_of(6, &[2]);
    s.set_value(4, count, 40).unwrap();
    s.set_value(5, count, 50).unwrap();
    s.set_value(1, count, 10).unwrap();
    // Customers 0..4: id 2 was erased (its slot ignored), 4 and 5 keep their values.
    s.set_column(count, &[7u32, 300, 9, 70_000]).unwrap();
    let values: Vec<Option<Value>> = (0..6).map(|i| s.value(i, count).unwrap()).collect();
    assert_eq!(
        values,
        vec![
            Some(Value::Int(7)),
            Some(Value::Int(300)),
            None,
            Some(Value::Int(70_000)),
            Some(Value::Int(40)),
            Some(Value::Int(50)),
        ]
    );
    let today = day(0);
    assert_eq!(
        s.count(&Query::parse("count >= 50").unwrap(), today)
            .unwrap(),
        3
    );
    let sum = Summary::of(&s, count, s.customers()).unwrap();
    assert_eq!(
        sum.to_string(),
        "5 values: sum 70,397, mean 14,079, min 7, max 70,000"
    );

    // None: no value, and a customer that had one loses it.
    s.set_column(count, &[None, Some(-5i64)]).unwrap();
    assert_eq!(s.value(0, count).unwrap(), None);
    assert_eq!(s.value(1, count).unwrap(), Some(Value::Int(-5)));
    assert_eq!(s.value(3, count).unwrap(), Some(Value::Int(70_000)));

    s.set_column(last, &[day(3), day(-40), day(9)]).unwrap();
    assert_eq!(s.value(1, last).unwrap(), Some(Value::Day(day(-40))));
    let d = |t: &str| Decimal::parse_at(t, 2).unwrap();
    // 35.5 is rescaled to 35.50, as set_value does.
    s.set_column(
        spend,
        &[
            Some(d("1.25")),
            Some("35.5".parse::<Decimal>().unwrap()),
            None,
        ],
    )
    .unwrap();
    assert_eq!(s.value(1, spend).unwrap().unwrap().to_string(), "35.50");
    assert_eq!(s.value(2, spend).unwrap(), None);

    // An empty slice changes nothing.
    let before = snapshot(&s);
    s.set_column::<i64>(count, &[]).unwrap();
    assert!(snapshot(&s) == before, "changed");
}

#[test]
fn refusals_name_the_problem_and_change_nothing() {
    let (mut s, [count, last, spend]) = store_of(4, &[1]);
    s.set_value(0, count, 1).unwrap();
    s.journal_mut().take();
    let before = snapshot(&s);
    let text = |e: audience::Error| e.to_string();
    assert_eq!(
        text(s.set_column(count, &[1i64; 5]).unwrap_err()),
        "invalid argument: 5 values for attribute \"count\", one per customer id, but only 4 \
         ids have been handed out"
    );
    let (mut one, [c1, _, _]) = store_of(1, &[]);
    assert_eq!(
        text(one.set_column(c1, &[1u32, 2]).unwrap_err()),
        "invalid argument: 2 values for attribute \"count\", one per customer id, but only 1 \
         id has been handed out"
    );
    assert_eq!(
        text(s.set_column(last, &[3i64]).unwrap_err()),
        "attribute \"last_seen\" holds day values, got number"
    );
    assert_eq!(
        text(s.set_column(count, &[Some(day(1))]).unwrap_err()),
        "attribute \"count\" holds number values, got day"
    );
    // A whole number for a decimal attribute is refused, as by set_value.
    assert_eq!(
        text(s.set_column(spend, &[100i64]).unwrap_err()),
        "attribute \"spend\" holds decimal values, got number"
    );
    assert_eq!(
        text(
            s.set_column(count, &["1.5".parse::<Decimal>().unwrap()])
                .unwrap_err()
        ),
        "attribute \"count\" holds number values, got decimal"
    );
    assert_eq!(
        text(
            s.set_column(
                spend,
                &[
                    "1.5".parse::<Decimal>().unwrap(),
                    "1.005".parse::<Decimal>().unwrap()
                ]
            )
            .unwrap_err()
        ),
        s.set_value(0, spend, "1.005".parse::<Decimal>().unwrap())
            .unwrap_err()
            .to_string()
    );
    assert_eq!(
        text(s.set_column(other_store_attr(), &[1i64]).unwrap_err()),
        "unknown attribute \"#3\""
    );
    assert!(snapshot(&s) == before, "changed");
    assert_eq!(s.journal().pending_bytes(), 0);
}

/// An attribute id the stores of `store_of` do not have (their fourth).
fn other_store_attr() -> AttrId {
    let (mut s, _) = store_of(0, &[]);
    s.define_attribute("fourth", AttrKind::Int).unwrap()
}

/// Values that cross every width: a byte, two, four, eight, negative, both ends of i64.
fn wide() -> impl Strategy<Value = i64> {
    prop_oneof![
        0i64..200,
        -300i64..300,
        0i64..70_000,
        -5_000_000_000i64..5_000_000_000,
        Just(i64::MIN),
        Just(i64::MAX),
        any::<i64>(),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    /// `set_column` of attribute 0, 1 or 2 (number, day, decimal).
    Column(usize, Vec<Option<i64>>),
    Set(usize, u32, i64),
    Clear(usize, u32),
}

fn op(n: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..3, prop::collection::vec(prop::option::weighted(0.85, wide()), 0..=n as usize))
            .prop_map(|(a, v)| Op::Column(a, v)),
        2 => (0usize..3, 0..n.max(1), wide()).prop_map(|(a, c, v)| Op::Set(a, c, v)),
        1 => (0usize..3, 0..n.max(1)).prop_map(|(a, c)| Op::Clear(a, c)),
    ]
}

/// Days within 0000-01-01..=9999-12-31, decimals at 2 places: `raw` folded into range.
fn value(a: usize, raw: i64) -> Value {
    match a {
        0 => Value::Int(raw),
        1 => Value::Day(Day::from_days((raw.rem_euclid(2_000_000) - 700_000) as i32).unwrap()),
        _ => Value::Decimal(Decimal::new(raw, 2).unwrap()),
    }
}

fn set_column(
    s: &mut Store,
    ids: [AttrId; 3],
    a: usize,
    v: &[Option<i64>],
) -> Result<(), audience::Error> {
    match a {
        0 => s.set_column(ids[0], v),
        1 => {
            let days: Vec<Option<Day>> = v
                .iter()
                .map(|x| {
                    x.map(|x| match value(1, x) {
                        Value::Day(d) => d,
                        _ => unreachable!(),
                    })
                })
                .collect();
            s.set_column(ids[1], &days)
        }
        _ => {
            let decs: Vec<Option<Decimal>> = v
                .iter()
                .map(|x| x.map(|x| Decimal::new(x, 2).unwrap()))
                .collect();
            s.set_column(ids[2], &decs)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `set_column` leaves the store as setting and clearing each live customer's value
    /// one by one would (snapshot bytes equal), and a clone taken before as it was; its journal replays to the same bytes; the
    /// snapshot reads back to a store that writes the same bytes and answers ranges alike.
    #[test]
    fn whole_columns_agree_with_one_by_one(
        n in 0u32..300,
        erased in prop::collection::vec(0u32..300, 0..20),
        ops in prop::collection::vec(op(300), 1..8),
        bounds in prop::collection::vec((wide(), wide()), 1..4),
    ) {
        let (mut s, ids) = store_of(u64::from(n), &erased);
        let (mut model, _) = store_of(u64::from(n), &erased);
        let start = snapshot(&s);
        for op in &ops {
            match op {
                Op::Column(a, v) => {
                    // Half the time a clone shares the columns: it must keep its values
                    // (the store builds a new column); otherwise the column is the store's
                    // alone and the new one is built in its vectors.
                    let shared = (v.len() % 2 == 0).then(|| {
                        let clone = s.clone();
                        let before = state(&clone, ids);
                        (clone, before)
                    });
                    let got = set_column(&mut s, ids, *a, v);
                    if let Some((clone, before)) = shared {
                        prop_assert!(state(&clone, ids) == before, "a clone changed");
                    }
                    prop_assert_eq!(got.is_ok(), v.len() <= n as usize);
                    if got.is_ok() {
                        for (i, x) in v.iter().enumerate() {
                            let c = i as u32;
                            if !model.customers().contains(c) {
                                continue;
                            }
                            match x {
                                Some(x) => model.set_value(c, ids[*a], value(*a, *x)).unwrap(),
                                None => {
                                    model.clear_value(c, ids[*a]).unwrap();
                                }
                            }
                        }
                    }
                }
                Op::Set(a, c, x) => {
                    let got = s.set_value(*c, ids[*a], value(*a, *x)).is_ok();
                    prop_assert_eq!(got, model.set_value(*c, ids[*a], value(*a, *x)).is_ok());
                }
                Op::Clear(a, c) => {
                    let got = s.clear_value(*c, ids[*a]).ok();
                    prop_assert_eq!(got, model.clear_value(*c, ids[*a]).ok());
                }
            }
            prop_assert!(state(&s, ids) == state(&model, ids), "after {:?}", op);
        }
        let end = snapshot(&s);
        let journal = s.journal_mut().take();
        let mut again = audience::snapshot::read(&start[..]).unwrap();
        replay(&mut again, &journal).unwrap();
        prop_assert!(snapshot(&again) == end, "the replay differs");
        let read = audience::snapshot::read(&end[..]).unwrap();
        prop_assert!(snapshot(&read) == end, "the snapshot read back writes other bytes");
        for &(x, y) in &bounds {
            let (lo, hi) = (x.min(y), x.max(y));
            for a in [0, 2] {
                let (lo, hi) = (value(a, lo), value(a, hi));
                prop_assert_eq!(read.range(ids[a], lo, hi).unwrap(), model.range(ids[a], lo, hi).unwrap());
                prop_assert_eq!(s.range(ids[a], lo, hi).unwrap(), model.range(ids[a], lo, hi).unwrap());
            }
        }
    }
}

/// A large column (holes, `None`, kept values past the slice) journaled on and off: the
/// same store either way, and the journal (one packed record and the clears, as one
/// batch) replays to it.
#[test]
fn a_large_column_replays_and_costs_the_same_journal_on_or_off() {
    let n = 200_000u64;
    let erased: Vec<u32> = (0..n as u32).step_by(997).collect();
    let (mut on, [count, _, _]) = store_of(n, &erased);
    on.set_values(count, &[5, 150_000, 199_999], &[Value::Int(1); 3])
        .unwrap();
    let (mut off, _) = store_of(n, &erased);
    off.set_values(count, &[5, 150_000, 199_999], &[Value::Int(1); 3])
        .unwrap();
    off.journal_mut().take();
    off.journal_mut().set_enabled(false);
    on.journal_mut().take();
    let start = snapshot(&on);
    let values: Vec<Option<i64>> = (0..150_000i64)
        .map(|i| (i % 11 != 5).then_some(i * 7 - 1_000))
        .collect();
    on.set_column(count, &values).unwrap();
    off.set_column(count, &values).unwrap();
    // The same values either way (the snapshots differ in the journal's sequence number).
    let all = |s: &Store| -> Vec<Option<Value>> {
        (0..n as u32).map(|i| s.value(i, count).unwrap()).collect()
    };
    assert!(all(&on) == all(&off));
    assert_eq!(off.journal().pending_bytes(), 0);
    // Customer 5 had a value and gets None: one clear. 150,000 and 199,999 keep theirs.
    assert_eq!(on.value(5, count).unwrap(), None);
    assert_eq!(on.value(150_000, count).unwrap(), Some(Value::Int(1)));
    assert_eq!(on.value(199_999, count).unwrap(), Some(Value::Int(1)));
    assert_eq!(on.value(6, count).unwrap(), Some(Value::Int(6 * 7 - 1_000)));
    assert_eq!(on.journal().pending_records(), 2);
    let journal = on.journal_mut().take();
    let mut again = audience::snapshot::read(&start[..]).unwrap();
    let report = replay(&mut again, &journal).unwrap();
    assert_eq!(report.records_applied, 2);
    assert!(snapshot(&again) == snapshot(&on), "the replay differs");
}
