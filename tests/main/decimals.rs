//! Decimal attributes (money with a fixed number of places): values set and read back
//! exactly, query literals and their refusals with the texts a user sees, range queries
//! against a model over the units, aggregates and RFM tables printed with the places,
//! exports, and the kind and its places through snapshots and the journal.

use audience::export::{Export, ExportColumn};
use audience::query::attr;
use audience::{
    AttrKind, Context, CustomerKey, Day, Decimal, ErrorKind, Measure, Query, RfmConfig, Store,
    Summary, Value,
};
use proptest::prelude::*;

fn today() -> Day {
    Day::from_ymd(2025, 1, 31).unwrap()
}

fn dec(text: &str) -> Value {
    Value::Decimal(text.parse().unwrap())
}

/// `spend` (2 places) and `purchase_count` for the customers `m0`, `m1`... with the given
/// spends (`None`: no value).
fn shop(spends: &[Option<&str>]) -> Store {
    let mut store = Store::new();
    let spend = store
        .define_attribute("spend", AttrKind::Decimal { scale: 2 })
        .unwrap();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    for (i, s) in spends.iter().enumerate() {
        let c = store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        store.set_value(c, count, i as i64 + 1).unwrap();
        if let Some(s) = s {
            store.set_value(c, spend, dec(s)).unwrap();
        }
    }
    store
}

fn count(store: &Store, q: &str) -> u64 {
    store
        .count(&Query::parse(q).unwrap(), today())
        .unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn query_error(store: &Store, q: &str) -> String {
    store
        .count(&Query::parse(q).unwrap(), today())
        .unwrap_err()
        .to_string()
}

#[test]
fn values_are_kept_at_the_attribute_places() {
    let mut store = shop(&[Some("35.5"), Some("35.50"), Some("-0.01"), None]);
    let spend = store.attribute_id("spend").unwrap();
    assert_eq!(
        store.attribute(spend).unwrap().kind,
        AttrKind::Decimal { scale: 2 }
    );
    let shown: Vec<String> = (0..4)
        .map(|c| {
            store
                .value(c, spend)
                .unwrap()
                .map_or("-".into(), |v| v.to_string())
        })
        .collect();
    assert_eq!(shown, ["35.50", "35.50", "-0.01", "-"]);
    assert_eq!(store.value(0, spend).unwrap().unwrap().raw(), 3_550);

    // More places than the attribute keeps, whole numbers, and bad scales are refused,
    // and nothing changes.
    assert_eq!(
        store
            .set_value(3, spend, dec("35.505"))
            .unwrap_err()
            .to_string(),
        "invalid decimal \"35.505\": attribute \"spend\" keeps 2 decimal places"
    );
    assert_eq!(
        store.set_value(3, spend, 3_550).unwrap_err().to_string(),
        "attribute \"spend\" holds decimal values, got number"
    );
    assert_eq!(
        store
            .set_values(spend, &[0, 3], &[dec("1"), dec("0.001")])
            .unwrap_err()
            .to_string(),
        "invalid decimal \"0.001\": attribute \"spend\" keeps 2 decimal places"
    );
    assert_eq!(store.value(0, spend).unwrap(), Some(dec("35.50")));
    assert_eq!(
        store
            .define_attribute("price", AttrKind::Decimal { scale: 7 })
            .unwrap_err()
            .to_string(),
        "invalid argument: decimal attribute \"price\" keeps 1 to 6 decimal places, got 7 \
         (use AttrKind::Int for whole numbers)"
    );
    assert!(
        store
            .define_attribute("price", AttrKind::Decimal { scale: 0 })
            .is_err()
    );
    // Trailing zeros past the places are not digits lost.
    store.set_value(3, spend, dec("12.3400")).unwrap();
    assert_eq!(store.value(3, spend).unwrap(), Some(dec("12.34")));
}

#[test]
fn queries_take_decimals_as_users_write_them() {
    let store = shop(&[
        Some("35.50"),
        Some("35.51"),
        Some("10"),
        Some("99.99"),
        Some("100.00"),
        None,
    ]);
    assert_eq!(count(&store, "spend > 35.50"), 3);
    assert_eq!(count(&store, "spend > 35.5"), 3);
    assert_eq!(count(&store, "spend >= 35.5"), 4);
    assert_eq!(count(&store, "spend BETWEEN 10 AND 99.99"), 4);
    assert_eq!(count(&store, "spend = 100"), 1);
    assert_eq!(count(&store, "spend != 35.500"), 4);
    assert_eq!(count(&store, "spend < -0.5"), 0);
    assert_eq!(count(&store, "spend IS NULL"), 1);
    // The builder and the canonical text keep the places as written.
    let built = Query::new(attr("spend").ge("35.50".parse::<Decimal>().unwrap()));
    assert_eq!(built.to_string(), "spend >= 35.50");
    assert_eq!(store.count(&built, today()).unwrap(), 4);
}

#[test]
fn decimal_refusals_say_what_the_attribute_takes() {
    let store = shop(&[Some("1.00")]);
    assert_eq!(
        query_error(&store, "spend > 35.505"),
        "spend keeps 2 decimal places, got 35.505\n  spend > 35.505\n  ^^^^^^^^^^^^^^"
    );
    assert_eq!(
        query_error(&store, "purchase_count > 3.5"),
        "purchase_count holds whole numbers, not decimals like 3.5 (attributes with \
         decimals: spend)\n  purchase_count > 3.5\n  ^^^^^^^^^^^^^^^^^^^^"
    );
    assert_eq!(
        query_error(&store, "spend BETWEEN 1 AND 100000000000000000"),
        "spend keeps 2 decimal places, and 100000000000000000 is beyond the largest value \
         it holds\n  spend BETWEEN 1 AND 100000000000000000\n  \
         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
    );
    assert_eq!(
        query_error(&store, "spend WITHIN 30d"),
        "spend holds decimals; WITHIN and BEFORE need a day attribute\n  spend WITHIN 30d\n  \
         ^^^^^^^^^^^^^^^^"
    );
    // Reversed bounds are refused across whole numbers and decimals alike.
    assert_eq!(
        Query::parse("spend BETWEEN 99.99 AND 10")
            .unwrap_err()
            .to_string(),
        "BETWEEN 99.99 AND 10 matches nothing: the lower bound comes first (write BETWEEN 10 \
         AND 99.99)\n  spend BETWEEN 99.99 AND 10\n                ^^^^^^^^^^^^"
    );
    // Separators do not parse as numbers; the hint says how to write one.
    assert_eq!(
        Query::parse("spend > 1.2.3").unwrap_err().to_string(),
        "bad number \"1.2.3\"\n  spend > 1.2.3\n          ^^^^^"
    );
    assert_eq!(
        Query::parse("spend > 99999999999999999999.5")
            .unwrap_err()
            .to_string(),
        "bad number \"99999999999999999999.5\": past the largest number an attribute holds\n  \
         spend > 99999999999999999999.5\n          ^^^^^^^^^^^^^^^^^^^^^^"
    );
}

#[test]
fn aggregates_print_with_the_places() {
    let store = shop(&[Some("10.00"), Some("10.05"), Some("15396.18"), None]);
    let spend = store.attribute_id("spend").unwrap();
    let s = Summary::of(&store, spend, store.customers()).unwrap();
    assert_eq!((s.count, s.missing, s.sum), (3, 1, 1_541_623));
    assert_eq!(
        s.to_string(),
        "3 values (1 missing): sum 15,416.23, mean 5,138.74, min 10.00, max 15,396.18"
    );
    assert_eq!(s.min, Some(dec("10.00")));
    let q = audience::aggregate::quantiles(&store, spend, store.customers(), &[0.5]).unwrap();
    assert_eq!(q[0].map(|v| v.to_string()), Some("10.05".into()));
    // Means round half away from zero at the attribute's places.
    let halves = shop(&[Some("0.01"), Some("0.02"), Some("-0.01"), Some("-0.02")]);
    let mean = |ids: &[u32]| {
        Summary::of(&halves, spend, &ids.iter().copied().collect())
            .unwrap()
            .mean_value()
            .map(|v| v.to_string())
    };
    assert_eq!(mean(&[0, 1]).as_deref(), Some("0.02"));
    assert_eq!(mean(&[2, 3]).as_deref(), Some("-0.02"));
    assert_eq!(mean(&[]), None);
    // Whole numbers print grouped, with no places.
    let n = store.attribute_id("purchase_count").unwrap();
    assert_eq!(
        Summary::of(&store, n, store.customers())
            .unwrap()
            .to_string(),
        "4 values: sum 10, mean 3, min 1, max 4"
    );
}

/// Five customers with a last purchase, a count and a spend of two places.
fn rfm_shop() -> Store {
    let mut store = Store::new();
    let last = store
        .define_attribute("last_purchase", AttrKind::Day)
        .unwrap();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let money = store
        .define_attribute("monetary", AttrKind::Decimal { scale: 2 })
        .unwrap();
    let rows = [
        (3, 12, "15396.18"),
        (10, 8, "2500.00"),
        (40, 3, "120.50"),
        (90, 2, "35.50"),
        (200, 1, "9.99"),
    ];
    for (i, (days, n, m)) in rows.into_iter().enumerate() {
        let c = store
            .add_customer(CustomerKey::member(format!("c{i}")).unwrap())
            .unwrap();
        store.set_value(c, last, today() - days).unwrap();
        store.set_value(c, count, n).unwrap();
        store.set_value(c, money, dec(m)).unwrap();
    }
    store
}

#[test]
fn rfm_tables_print_monetary_with_its_places() {
    let store = rfm_shop();
    let config = RfmConfig::default().segments(None).bins(5).unwrap();
    let s = config.score(&store, &Context::new(today())).unwrap();
    assert_eq!(s.monetary_scale(), 2);
    let m = s.score_table(Measure::Monetary);
    assert_eq!(m.monetary, 1_806_217);
    assert_eq!(
        m.to_string(),
        "score   customers    share                  monetary  revenue   cum. rev\n\
         M5              1    20.0%                 15,396.18    85.2%      85.2%\n\
         M4              1    20.0%                  2,500.00    13.8%      99.1%\n\
         M3              1    20.0%                    120.50     0.7%      99.7%\n\
         M2              1    20.0%                     35.50     0.2%      99.9%\n\
         M1              1    20.0%                      9.99     0.1%     100.0%\n"
    );
    let grid = s.grid().to_string();
    let mean_block = grid.split("mean monetary value\n").nth(1).unwrap();
    assert!(mean_block.contains("   15,396.18"), "{grid}");
    assert!(mean_block.contains("        9.99"), "{grid}");
    // The standard segment map's table: means with the places.
    let table = RfmConfig::default()
        .score(&store, &Context::new(today()))
        .unwrap()
        .segment_table();
    assert_eq!(table.monetary_scale, 2);
    let text = table.to_string();
    assert!(text.contains("15,396.18"), "{text}");
    // A whole-number monetary attribute still prints whole numbers.
    assert_eq!(
        crate_int_monetary()
            .score_table(Measure::Monetary)
            .to_string()
            .lines()
            .nth(1),
        Some("M5              1    20.0%                 1,539,618    85.2%      85.2%")
    );
    // A day attribute is refused with the setting named and what it needs.
    let wrong = RfmConfig::default().monetary("last_purchase");
    assert_eq!(
        wrong
            .score(&store, &Context::new(today()))
            .unwrap_err()
            .to_string(),
        "attribute \"last_purchase\" holds days, but RfmConfig::monetary needs a number or \
         decimal attribute (set RfmConfig::monetary(..) to one)"
    );
}

/// The same shop with monetary in cents as a whole number.
fn crate_int_monetary() -> audience::RfmScores {
    let mut store = Store::new();
    let last = store
        .define_attribute("last_purchase", AttrKind::Day)
        .unwrap();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let money = store.define_attribute("monetary", AttrKind::Int).unwrap();
    for (i, (days, n, m)) in [
        (3, 12, 1_539_618),
        (10, 8, 250_000),
        (40, 3, 12_050),
        (90, 2, 3_550),
        (200, 1, 999),
    ]
    .into_iter()
    .enumerate()
    {
        let c = store
            .add_customer(CustomerKey::member(format!("c{i}")).unwrap())
            .unwrap();
        store.set_value(c, last, today() - days).unwrap();
        store.set_value(c, count, n).unwrap();
        store.set_value(c, money, m).unwrap();
    }
    RfmConfig::default()
        .segments(None)
        .bins(5)
        .unwrap()
        .score(&store, &Context::new(today()))
        .unwrap()
}

#[test]
fn exports_write_the_places() {
    let store = shop(&[Some("15396.18"), Some("-0.5"), None]);
    let mut out = Vec::new();
    Export::new()
        .column(ExportColumn::attribute("spend"))
        .write_csv(&store, store.customers(), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0].rsplit(',').next(), Some("spend"));
    assert_eq!(rows[1].rsplit(',').next(), Some("15396.18"));
    assert_eq!(rows[2].rsplit(',').next(), Some("-0.50"));
    assert_eq!(rows[3].rsplit(',').next(), Some(""));
}

#[test]
fn the_kind_and_places_survive_snapshots_and_the_journal() {
    let mut base = Store::new();
    let mut bytes = Vec::new();
    audience::snapshot::write(&base, &mut bytes).unwrap();
    base.journal_mut().take();

    let mut store = base.clone();
    let price = store
        .define_attribute("price", AttrKind::Decimal { scale: 4 })
        .unwrap();
    let c = store
        .add_customer(CustomerKey::member("m0").unwrap())
        .unwrap();
    store.set_value(c, price, dec("0.1234")).unwrap();
    store.set_values(price, &[c], &[dec("-12.5")]).unwrap();
    let journal = store.journal_mut().take();

    let mut replayed = audience::snapshot::read(&bytes[..]).unwrap();
    audience::journal::replay(&mut replayed, &journal).unwrap();
    let id = replayed.attribute_id("price").unwrap();
    assert_eq!(
        replayed.attribute(id).unwrap().kind,
        AttrKind::Decimal { scale: 4 }
    );
    assert_eq!(
        replayed.value(c, id).unwrap().map(|v| v.to_string()),
        Some("-12.5000".into())
    );

    let mut snap = Vec::new();
    audience::snapshot::write(&store, &mut snap).unwrap();
    let loaded = audience::snapshot::read(&snap[..]).unwrap();
    assert_eq!(
        loaded.attribute(id).unwrap().kind,
        AttrKind::Decimal { scale: 4 }
    );
    assert_eq!(loaded.value(c, id).unwrap(), Some(dec("-12.5")));
    let mut again = Vec::new();
    audience::snapshot::write(&loaded, &mut again).unwrap();
    assert_eq!(again, snap);

    // A journal record whose places are out of range is refused, and so is a snapshot.
    let at = journal
        .windows(6)
        .position(|w| w == b"price\x02".as_slice())
        .unwrap();
    let mut bad = journal.clone();
    bad[at + 6] = 9;
    let mut fresh = audience::snapshot::read(&bytes[..]).unwrap();
    let e = audience::journal::replay(&mut fresh, &bad).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Journal(_)), "{e}");
    let at = snap
        .windows(6)
        .position(|w| w == b"price\x02".as_slice())
        .unwrap();
    let mut bad = snap.clone();
    bad[at + 6] = 9;
    let e = audience::snapshot::read(&bad[..]).unwrap_err();
    assert!(e.is_corrupt_input(), "{e}");
}

proptest! {
    /// Range queries over a decimal attribute select what a model over the units selects:
    /// every comparison and BETWEEN, with literals of fewer, equal or (refused) more places.
    #[test]
    fn range_queries_match_a_model_over_the_units(
        values in prop::collection::vec(prop::option::of(-20_000i64..20_000), 1..60),
        lit in -25_000i64..25_000,
        hi in -25_000i64..25_000,
        places in 0u8..4,
    ) {
        let mut store = Store::new();
        let spend = store.define_attribute("spend", AttrKind::Decimal { scale: 2 }).unwrap();
        for (i, v) in values.iter().enumerate() {
            let c = store.add_customer(CustomerKey::member(format!("m{i}")).unwrap()).unwrap();
            if let Some(v) = v {
                store.set_value(c, spend, Value::Decimal(Decimal::new(*v, 2).unwrap())).unwrap();
            }
        }
        // The literal written with `places` decimals: at 0 or 1 place it stands for the
        // units rounded down to what those places hold; at 3 places it is refused.
        let text = |units: i64| -> (String, i64) {
            let d = Decimal::new(units, 2).unwrap();
            match places {
                0 => {
                    let w = units.div_euclid(100);
                    (w.to_string(), w * 100)
                }
                1 => {
                    let t = units.div_euclid(10);
                    (Decimal::new(t, 1).unwrap().to_string(), t * 10)
                }
                2 => (d.to_string(), units),
                _ => (format!("{d}1"), units),
            }
        };
        let (lt, lv) = text(lit);
        let (ht, hv) = text(hi);
        let model = |f: &dyn Fn(i64) -> bool| -> u64 {
            values.iter().flatten().filter(|&&v| f(v)).count() as u64
        };
        let cases: Vec<(String, u64)> = vec![
            (format!("spend > {lt}"), model(&|v| v > lv)),
            (format!("spend >= {lt}"), model(&|v| v >= lv)),
            (format!("spend < {lt}"), model(&|v| v < lv)),
            (format!("spend <= {lt}"), model(&|v| v <= lv)),
            (format!("spend = {lt}"), model(&|v| v == lv)),
            (format!("spend != {lt}"), model(&|v| v != lv)),
        ];
        let between = (format!("spend BETWEEN {lt} AND {ht}"), model(&|v| lv <= v && v <= hv));
        for (q, want) in cases.into_iter().chain((lv <= hv).then_some(between)) {
            let got = Query::parse(&q).map_err(|e| e.to_string()).and_then(|q| {
                store.count(&q, today()).map_err(|e| e.to_string())
            });
            if places == 3 {
                prop_assert!(got.unwrap_err().starts_with("spend keeps 2 decimal places, got "), "{}", q);
            } else {
                prop_assert_eq!(got, Ok(want), "{}", q);
            }
        }
    }
}

/// A whole column of decimals is journaled in the packed form (16 or more customers in
/// order) and replays to the same values, places included.
#[test]
fn a_packed_column_of_decimals_replays_exactly() {
    let mut base = Store::new();
    let keys: Vec<CustomerKey> = (0..40)
        .map(|i| CustomerKey::member(format!("m{i}")).unwrap())
        .collect();
    let ids = base.ensure_customers(keys).unwrap();
    let mut bytes = Vec::new();
    audience::snapshot::write(&base, &mut bytes).unwrap();
    base.journal_mut().take();

    let mut store = base.clone();
    let spend = store
        .define_attribute("spend", AttrKind::Decimal { scale: 2 })
        .unwrap();
    let values: Vec<Decimal> = (0..40i64)
        .map(|i| Decimal::new(i * 1_234_567 - 9_999_999, 2).unwrap())
        .collect();
    let customers = ids;
    let raw: Vec<Value> = values.iter().map(|v| Value::Decimal(*v)).collect();
    store.set_values(spend, &customers, &raw).unwrap();
    let journal = store.journal_mut().take();

    let mut replayed = audience::snapshot::read(&bytes[..]).unwrap();
    audience::journal::replay(&mut replayed, &journal).unwrap();
    for (c, v) in customers.iter().zip(&values) {
        assert_eq!(replayed.value(*c, spend).unwrap(), Some(Value::Decimal(*v)));
    }
    assert_eq!(
        replayed
            .value(customers[0], spend)
            .unwrap()
            .map(|v| v.to_string()),
        Some("-99999.99".into())
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    audience::snapshot::write(&store, &mut a).unwrap();
    audience::snapshot::write(&replayed, &mut b).unwrap();
    assert_eq!(a, b);
}

/// The JSON face of a query keeps a decimal exactly as written (a string, never a float),
/// and reads back to the same query.
#[cfg(feature = "serde")]
#[test]
fn decimals_in_json_queries_keep_their_places() {
    let q = Query::parse("spend > 35.50 AND spend BETWEEN 0.5 AND 99.99").unwrap();
    let json = serde_json::to_string(&q).unwrap();
    assert_eq!(
        json,
        r#"{"and":[{"cmp":{"attr":"spend","op":">","value":{"decimal":"35.50"}}},{"between":{"attr":"spend","lo":{"decimal":"0.5"},"hi":{"decimal":"99.99"}}}]}"#
    );
    let back: Query = serde_json::from_str(&json).unwrap();
    assert_eq!(back, q);
    assert_eq!(
        back.to_string(),
        "spend > 35.50 AND spend BETWEEN 0.5 AND 99.99"
    );
}
