//! Random query trees evaluated by the engine and by a naive per-customer model over random
//! stores; canonical printing round-trips; the parser never panics.

use std::collections::BTreeMap;

use audience::query::{CmpOp, Expr, Literal, TagRef};
use audience::{
    AttrKind, Context, CustomerKey, Day, Edit, Period, PeriodUnit, Query, RoaringBitmap, Store,
    TagSpec, Value,
};
use proptest::prelude::*;

const TAG_NAMES: [&str; 4] = ["vip", "interest/cosmetics", "ลูกค้าใหม่", "VIP клиент"];
pub(crate) const TODAY: Day = Day::EPOCH.checked_add(20_000).unwrap();

/// A random shop: per customer, its tags (with assignment days), a count and a day value,
/// either of which may be missing; some customers are erased.
#[derive(Clone, Debug)]
pub(crate) struct Shop {
    customers: Vec<Cust>,
    set: Vec<bool>,
}

#[derive(Clone, Debug)]
struct Cust {
    erased: bool,
    tags: [Option<i32>; 4],
    count: Option<i64>,
    seen: Option<i32>,
}

pub(crate) fn shop() -> impl Strategy<Value = Shop> {
    let cust = (
        prop::bool::weighted(0.1),
        prop::array::uniform4(prop::option::weighted(0.4, 0i32..100)),
        prop::option::weighted(0.8, -5i64..10),
        prop::option::weighted(0.8, 0i32..100),
    )
        .prop_map(|(erased, tags, count, seen)| Cust {
            erased,
            tags,
            count,
            seen,
        });
    (1usize..150).prop_flat_map(move |n| {
        (
            prop::collection::vec(cust.clone(), n),
            prop::collection::vec(any::<bool>(), n),
        )
            .prop_map(|(customers, set)| Shop { customers, set })
    })
}

pub(crate) fn build(shop: &Shop) -> (Store, RoaringBitmap) {
    let mut store = Store::new();
    let e = Edit::new("admin", TODAY);
    let tags: Vec<_> = TAG_NAMES
        .iter()
        .map(|n| store.create_tag(&e, TagSpec::new(*n)).unwrap())
        .collect();
    let count = store.define_attribute("count", AttrKind::Int).unwrap();
    let seen = store.define_attribute("seen", AttrKind::Day).unwrap();
    for (i, c) in shop.customers.iter().enumerate() {
        let id = store
            .add_customer(CustomerKey::member(format!("c{i}")).unwrap())
            .unwrap();
        for (t, d) in c.tags.iter().enumerate() {
            if let Some(d) = d {
                store.add_tag(id, tags[t], TODAY - *d).unwrap();
            }
        }
        if let Some(v) = c.count {
            store.set_value(id, count, v).unwrap();
        }
        if let Some(d) = c.seen {
            store.set_value(id, seen, Value::Day(TODAY - d)).unwrap();
        }
    }
    for (i, c) in shop.customers.iter().enumerate() {
        if c.erased {
            store.erase_customer(i as u32).unwrap();
        }
    }
    let set = shop
        .set
        .iter()
        .enumerate()
        .filter(|(_, b)| **b)
        .map(|(i, _)| i as u32)
        .collect();
    (store, set)
}

fn leaf() -> impl Strategy<Value = Expr> {
    let tag = (0usize..4).prop_map(|t| audience::query::tag(TAG_NAMES[t]));
    let op = prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge)
    ];
    prop_oneof![
        4 => tag,
        2 => (op.clone(), -6i64..11).prop_map(|(op, v)| Expr::Cmp { attr: "count".into(), op, value: Literal::Int(v) }),
        1 => (op, 0i32..101).prop_map(|(op, d)| Expr::Cmp { attr: "seen".into(), op, value: Literal::Day(TODAY - d) }),
        // Reversed bounds are refused (tests/main/query_errors.rs): bounds in order.
        1 => (-6i64..11, -6i64..11).prop_map(|(a, b)| audience::query::attr("count").between(a.min(b), a.max(b))),
        1 => prop_oneof![Just("count"), Just("seen")].prop_map(|a| audience::query::attr(a).is_null()),
        1 => prop_oneof![Just("count"), Just("seen")].prop_map(|a| audience::query::attr(a).is_not_null()),
        1 => shop_period().prop_map(|d| audience::query::attr("seen").within(d)),
        1 => shop_period().prop_map(|d| audience::query::attr("seen").before(d)),
        1 => (0usize..4, shop_period()).prop_map(|(t, d)| Expr::AssignedBefore { tag: audience::query::tag_ref(TAG_NAMES[t]), days: d }),
        1 => (0usize..4, shop_period()).prop_map(|(t, d)| Expr::AssignedWithin { tag: audience::query::tag_ref(TAG_NAMES[t]), days: d }),
        1 => Just(Expr::Set("picked".into())),
        1 => Just(Expr::All),
    ]
}

/// Periods that reach into the shop's 100 days of history, in every unit.
fn shop_period() -> impl Strategy<Value = Period> {
    prop_oneof![
        (0u32..101).prop_map(Period::days),
        (0u32..15).prop_map(Period::weeks),
        (0u32..4).prop_map(Period::months),
        (0u32..2).prop_map(Period::years),
    ]
}

/// Periods of any unit and length that query text accepts.
pub(crate) fn any_period() -> impl Strategy<Value = Period> {
    prop_oneof![
        (0u32..=1_000_000).prop_map(Period::days),
        (0u32..=142_857).prop_map(Period::weeks),
        (0u32..=32_258).prop_map(Period::months),
        (0u32..=2_732).prop_map(Period::years),
    ]
}

/// The first day of the window of `p` ending on TODAY, by hand: days back, or the same day
/// of the month that many months back, stepping down to the month's last day.
fn naive_start(p: Period) -> i64 {
    let today = i64::from(TODAY.as_i32());
    let months = match p.unit() {
        PeriodUnit::Days => return today - i64::from(p.count()),
        PeriodUnit::Weeks => return today - 7 * i64::from(p.count()),
        PeriodUnit::Months => p.count(),
        PeriodUnit::Years => 12 * p.count(),
        _ => unreachable!(),
    };
    let (mut y, mut m, d) = TODAY.ymd();
    for _ in 0..months {
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
    }
    let mut day = d;
    loop {
        if let Ok(found) = Day::from_ymd(y, m, day) {
            return i64::from(found.as_i32());
        }
        day -= 1;
    }
}

pub(crate) fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..5).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn naive(e: &Expr, c: &Cust, in_set: bool) -> bool {
    let tag_idx = |t: &TagRef| TAG_NAMES.iter().position(|n| *n == t.name).unwrap();
    let lit = |l: &Literal| match l {
        Literal::Int(v) => *v,
        Literal::Day(d) => i64::from(d.as_i32()),
        Literal::Decimal(_) | Literal::Text(_) => unreachable!(),
    };
    let value = |attr: &str| -> Option<i64> {
        match attr {
            "count" => c.count,
            _ => c.seen.map(|d| i64::from((TODAY - d).as_i32())),
        }
    };
    match e {
        Expr::All => true,
        Expr::Tag(t) => c.tags[tag_idx(t)].is_some(),
        Expr::And(v) => v.iter().all(|x| naive(x, c, in_set)),
        Expr::Or(v) => v.iter().any(|x| naive(x, c, in_set)),
        Expr::Not(x) => !naive(x, c, in_set),
        Expr::Cmp { attr, op, value: l } => value(attr).is_some_and(|v| {
            let x = lit(l);
            match op {
                CmpOp::Eq => v == x,
                CmpOp::Ne => v != x,
                CmpOp::Lt => v < x,
                CmpOp::Le => v <= x,
                CmpOp::Gt => v > x,
                CmpOp::Ge => v >= x,
            }
        }),
        Expr::Between { attr, lo, hi } => value(attr).is_some_and(|v| v >= lit(lo) && v <= lit(hi)),
        Expr::IsNull { attr } => value(attr).is_none(),
        Expr::IsNotNull { attr } => value(attr).is_some(),
        Expr::Within { attr, days } => value(attr).is_some_and(|v| v >= naive_start(*days)),
        Expr::Before { attr, days } => value(attr).is_some_and(|v| v < naive_start(*days)),
        // Assigned on TODAY - d.
        Expr::AssignedBefore { tag, days } => c.tags[tag_idx(tag)]
            .is_some_and(|d| i64::from((TODAY - d).as_i32()) < naive_start(*days)),
        Expr::AssignedWithin { tag, days } => c.tags[tag_idx(tag)]
            .is_some_and(|d| i64::from((TODAY - d).as_i32()) >= naive_start(*days)),
        Expr::Set(_) => in_set,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_naive_model(shop in shop(), e in expr()) {
        let (store, set) = build(&shop);
        let want: RoaringBitmap = shop
            .customers
            .iter()
            .enumerate()
            .filter(|(i, c)| !c.erased && naive(&e, c, shop.set[*i]))
            .map(|(i, _)| i as u32)
            .collect();
        let ctx = Context::new(TODAY).with_set("picked", &set);
        let q = Query::new(e.clone());
        let plan = store.plan(&q, &ctx).unwrap();
        prop_assert_eq!(plan.count(), want.len(), "{}", e);
        let seg = plan.segment();
        prop_assert_eq!(seg.bitmap(), &want, "{}", e);
        prop_assert_eq!(plan.explain().total, want.len(), "{}", e);
        // Inside candidates: the picked set (erased customers included) plus an id that
        // was never handed out, and the same restricted to live customers.
        let mut cands = set.clone();
        cands.insert(1_000_000);
        prop_assert_eq!(plan.segment_within(&cands), &want & &cands, "{}", e);
        let live = &cands & store.customers();
        prop_assert_eq!(plan.segment_within(&live), &want & &live, "{}", e);
        prop_assert_eq!(plan.segment_within(&RoaringBitmap::new()), RoaringBitmap::new());
        // The text face gives the same answer.
        let parsed = Query::parse(&e.to_string()).unwrap();
        prop_assert_eq!(store.plan(&parsed, &ctx).unwrap().count(), want.len());
    }
}

fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("vip".to_string()),
        Just("高消費力".to_string()),
        Just("and".to_string()),
        Just("".to_string()),
        Just("2024".to_string()),
        Just("-".to_string()),
        Just("say \"hi\" \\ there".to_string()),
        "[a-zA-Z_/.\\-]{1,8}",
        "\\PC{0,6}",
    ]
}

fn any_literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<i64>().prop_map(Literal::Int),
        (Day::MIN.as_i32()..=Day::MAX.as_i32())
            .prop_map(|d| Literal::Day(Day::EPOCH.saturating_add(d))),
        "\\PC{0,6}".prop_map(Literal::Text),
    ]
}

fn any_expr() -> impl Strategy<Value = Expr> {
    let tag = (prop::option::of(any_name()), any_name())
        .prop_map(|(dimension, name)| Expr::Tag(TagRef { dimension, name }));
    let op = prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge)
    ];
    let leaf = prop_oneof![
        tag,
        (any_name(), op, any_literal()).prop_map(|(attr, op, value)| Expr::Cmp { attr, op, value }),
        // Reversed bounds do not parse: bounds of one kind in order.
        (any_name(), any_literal(), any_literal()).prop_map(|(attr, a, b)| {
            let (lo, hi) = match (&a, &b) {
                (Literal::Int(x), Literal::Int(y)) if x > y => (b, a),
                (Literal::Day(x), Literal::Day(y)) if x > y => (b, a),
                _ => (a, b),
            };
            Expr::Between { attr, lo, hi }
        }),
        any_name().prop_map(|attr| Expr::IsNull { attr }),
        any_name().prop_map(|attr| Expr::IsNotNull { attr }),
        (any_name(), any_period()).prop_map(|(attr, days)| Expr::Within { attr, days }),
        (any_name(), any_period()).prop_map(|(attr, days)| Expr::Before { attr, days }),
        (any_name(), any_period()).prop_map(|(name, days)| Expr::AssignedBefore {
            tag: TagRef {
                dimension: None,
                name
            },
            days
        }),
        (any_name(), any_name(), any_period()).prop_map(|(d, name, days)| {
            Expr::AssignedWithin {
                tag: TagRef {
                    dimension: Some(d),
                    name,
                },
                days,
            }
        }),
        any_name().prop_map(Expr::Set),
        Just(Expr::All),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn printing_round_trips(e in any_expr()) {
        let text = e.to_string();
        let back = Query::parse(&text).map_err(|err| TestCaseError::fail(format!("{text}\n{err}")))?;
        prop_assert_eq!(back.expr(), &e, "{}", text);
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,80}") {
        let _ = Query::parse(&s);
    }

    #[test]
    fn parser_never_panics_on_query_like_text(
        parts in prop::collection::vec(prop_oneof![
            Just("AND"), Just("OR"), Just("NOT"), Just("("), Just(")"), Just("["), Just("]"),
            Just(","), Just(":"), Just("@"), Just("\""), Just("IN"), Just("BETWEEN"), Just("IS"),
            Just("NULL"), Just("WITHIN"), Just("30d"), Just(">="), Just("!"), Just("x"),
            Just("2024-01-01"), Just("-"), Just("高"), Just("ASSIGNED"), Just("BEFORE"),
        ], 0..30)
    ) {
        let _ = Query::parse(&parts.join(" "));
        let _ = Query::parse(&parts.concat());
    }
}

#[cfg(feature = "serde")]
#[test]
fn json_face_matches_text_face() {
    let q = Query::parse("interest/cosmetics AND stage/purchased EXCLUDE product/lipstick AND seen WITHIN 30d AND count > 3").unwrap();
    let json = serde_json::to_string(&q).unwrap();
    assert_eq!(
        json,
        r#"{"and":[{"tag":{"name":"interest/cosmetics"}},{"tag":{"name":"stage/purchased"}},{"not":{"tag":{"name":"product/lipstick"}}},{"within":{"attr":"seen","days":30}},{"cmp":{"attr":"count","op":">","value":{"int":3}}}]}"#
    );
    let back: Query = serde_json::from_str(&json).unwrap();
    assert_eq!(back, q);
    let qualified: Query =
        serde_json::from_str(r#"{"tag":{"dimension":"power","name":"vip"}}"#).unwrap();
    assert_eq!(qualified.to_string(), "power:vip");
}

#[test]
fn binding_errors_point_at_the_term() {
    let mut store = Store::new();
    let e = Edit::new("admin", TODAY);
    store
        .create_tag(&e, TagSpec::new("interest/cosmetics"))
        .unwrap();
    let old = store
        .create_tag(&e, TagSpec::new("spring limited"))
        .unwrap();
    store.archive_tag(&e, old).unwrap();
    store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    store
        .define_attribute("last_interaction", AttrKind::Day)
        .unwrap();
    let err = |q: &str| {
        store
            .count(&Query::parse(q).unwrap(), TODAY)
            .unwrap_err()
            .to_string()
    };
    let mut errors = BTreeMap::new();
    errors.insert(
        "interest/cosmetic AND purchase_count > 3",
        "unknown tag \"interest/cosmetic\" (did you mean \"interest/cosmetics\"?)\n  interest/cosmetic AND purchase_count > 3\n  ^^^^^^^^^^^^^^^^^",
    );
    errors.insert(
        "interest/cosmetics AND \"spring limited\"",
        "tag \"spring limited\" is archived\n  interest/cosmetics AND \"spring limited\"\n                         ^^^^^^^^^^^^^^^^",
    );
    errors.insert(
        "purchase_cnt > 3",
        "unknown attribute \"purchase_cnt\" (did you mean \"purchase_count\"?)\n  purchase_cnt > 3\n  ^^^^^^^^^^^^^^^^",
    );
    errors.insert(
        "last_interaction > 3",
        "last_interaction holds days, compare it with a day (YYYY-MM-DD), not a number\n  last_interaction > 3\n  ^^^^^^^^^^^^^^^^^^^^",
    );
    errors.insert(
        "purchase_count WITHIN 30d",
        "purchase_count holds numbers; WITHIN and BEFORE need a day attribute\n  purchase_count WITHIN 30d\n  ^^^^^^^^^^^^^^^^^^^^^^^^^",
    );
    errors.insert(
        "purchase_count = \"x\"",
        "purchase_count holds numbers, compare it with a number, not text\n  purchase_count = \"x\"\n  ^^^^^^^^^^^^^^^^^^^^",
    );
    errors.insert(
        "interest/cosmetics EXCLUDE @capped",
        "unknown set @capped: pass it in the evaluation context\n  interest/cosmetics EXCLUDE @capped\n                             ^^^^^^^",
    );
    errors.insert(
        "rfm.r >= 4",
        "no provider of rfm.* terms in the query's context: pass one with Context::with_terms (RFM scores provide rfm.*)\n  rfm.r >= 4\n  ^^^^^^^^^^",
    );
    errors.insert(
        "高消費力 OR vip",
        "unknown tag \"高消費力\"\n  高消費力 OR vip\n  ^^^^^^^^",
    );
    for (q, want) in errors {
        assert_eq!(err(q), want, "{q}");
    }
    // Built in code: no text, so no caret.
    let built = Query::new(audience::query::tag("nope"));
    assert_eq!(
        store.count(&built, TODAY).unwrap_err().to_string(),
        "unknown tag \"nope\""
    );
    // Deep ASTs built in code are refused, not overflowing the stack.
    let mut deep = audience::query::tag("interest/cosmetics");
    for _ in 0..1000 {
        deep = deep.not();
    }
    assert_eq!(
        store
            .count(&Query::new(deep), TODAY)
            .unwrap_err()
            .to_string(),
        "query nests deeper than 128 levels"
    );
}

/// Dense copies of tags stay within the memberships' bytes, whatever the queries read, and
/// answers do not depend on which tags have one.
#[test]
fn dense_copies_stay_within_the_memberships_bytes() {
    let n = 1_000_000u32;
    let mut store = Store::new();
    store
        .ensure_customers((0..u64::from(n)).map(|i| CustomerKey::Phone(66_800_000_000 + i)))
        .unwrap();
    let e = Edit::new("crm", TODAY);
    // One customer in 20: array containers of about 6.5 KiB a chunk, whose words (8 KiB)
    // are worth keeping, but not for every tag at once.
    let names: Vec<String> = (0..8).map(|t| format!("channel/c{t}")).collect();
    let mut model = vec![false; n as usize];
    for (t, name) in names.iter().enumerate() {
        let tag = store.create_tag(&e, TagSpec::new(name)).unwrap();
        let members: RoaringBitmap = (t as u32..n).step_by(20).collect();
        for id in &members {
            model[id as usize] = true;
        }
        store.add_tag_bulk_owned(tag, members, TODAY).unwrap();
    }
    let bitmaps = store.memory_usage().memberships;
    let any = Query::parse(&names.join(" OR ")).unwrap();
    let expected = model.iter().filter(|&&m| m).count() as u64;
    for _ in 0..3 {
        assert_eq!(store.count(&any, TODAY).unwrap(), expected);
    }
    let with_copies = store.memory_usage().memberships;
    assert!(with_copies > bitmaps, "the union kept copies");
    assert!(
        with_copies <= 2 * bitmaps,
        "copies {} B over memberships {bitmaps} B",
        with_copies - bitmaps
    );
    // Some tags have a copy and some not: the answer is the model's.
    let ids: Vec<u32> = store.select(&any, TODAY).unwrap().iter().collect();
    let model_ids: Vec<u32> = (0..n).filter(|&i| model[i as usize]).collect();
    assert_eq!(ids, model_ids);
    assert_eq!(store.drop_dense_copies(), with_copies - bitmaps);
    assert_eq!(store.memory_usage().memberships, bitmaps);
    assert_eq!(store.count(&any, TODAY).unwrap(), expected);
}

/// Tags of a store large enough that their dense copies are kept: each with a density, and
/// members only in its own range of ids (so the copies' word lists differ in length).
fn dense_tags() -> impl Strategy<Value = (u32, Vec<(u8, u32, u32, u64)>)> {
    (
        2_000u32..140_000,
        prop::collection::vec((1u8..15, 0u32..100, 0u32..100, any::<u64>()), 4),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// ANDs of large tags, some negated, count what the model counts, whichever way the
    /// plan takes (dense copies word by word, or roaring's containers), and select the
    /// model's customers.
    #[test]
    fn ands_of_large_tags_count_what_the_model_counts((n, specs) in dense_tags()) {
        let mut store = Store::new();
        store
            .ensure_customers((0..u64::from(n)).map(|i| CustomerKey::Phone(66_800_000_000 + i)))
            .unwrap();
        let e = Edit::new("crm", TODAY);
        let mut model: Vec<Vec<bool>> = Vec::new();
        for (t, &(sixteenths, from, to, seed)) in specs.iter().enumerate() {
            let (lo, hi) = (from.min(to) * (n / 100), (from.max(to) + 1) * (n / 100));
            let mut x = seed | 1;
            let mut members = RoaringBitmap::new();
            for id in lo..hi.min(n) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x % 16 < u64::from(sixteenths) {
                    members.insert(id);
                }
            }
            model.push((0..n).map(|i| members.contains(i)).collect());
            let tag = store.create_tag(&e, TagSpec::new(format!("interest/t{t}"))).unwrap();
            store.add_tag_bulk_owned(tag, members, TODAY).unwrap();
        }
        let shapes: [(&[usize], &[usize]); 5] = [
            (&[0, 1], &[]),
            (&[0, 1], &[2]),
            (&[2, 0, 1], &[3]),
            (&[1, 3], &[0, 2]),
            (&[0, 1, 2, 3], &[]),
        ];
        for (pos, neg) in shapes {
            let mut terms: Vec<String> = pos.iter().map(|t| format!("interest/t{t}")).collect();
            terms.extend(neg.iter().map(|t| format!("NOT interest/t{t}")));
            let q = Query::parse(&terms.join(" AND ")).unwrap();
            let ids: Vec<u32> = (0..n)
                .filter(|&i| {
                    let i = i as usize;
                    pos.iter().all(|&t| model[t][i]) && !neg.iter().any(|&t| model[t][i])
                })
                .collect();
            let want = ids.len() as u64;
            // Twice: before and after the copies the first count builds.
            prop_assert_eq!(store.count(&q, TODAY).unwrap(), want);
            prop_assert_eq!(store.count(&q, TODAY).unwrap(), want);
            prop_assert_eq!(store.select(&q, TODAY).unwrap().to_vec(), ids);
        }
    }
}
