//! RFM scoring with hand-computed expectations: NTILE with ties, fixed edges, empty input,
//! all values equal, a single customer, never-purchased customers; the query terms and
//! their errors; segment maps; the grid and the tables.

use std::ops::RangeInclusive;

use audience::{
    AttrKind, Binning, Context, CustomerKey, Day, Edit, ErrorKind, Measure, Query, RfmConfig,
    RfmScore, RfmScores, RoaringBitmap, SegmentMap, SegmentRule, Store, TagSpec,
};

use crate::support::ids;

fn today() -> Day {
    Day::from_ymd(2025, 1, 31).unwrap()
}

/// One customer: days since the last purchase (None = never purchased), purchase count,
/// monetary total.
type Row = (Option<i32>, Option<i64>, Option<i64>);

fn shop(rows: &[Row]) -> Store {
    let mut store = Store::new();
    let last = store
        .define_attribute("last_purchase", AttrKind::Day)
        .unwrap();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let money = store.define_attribute("monetary", AttrKind::Int).unwrap();
    for (i, (days, n, m)) in rows.iter().enumerate() {
        let c = store
            .add_customer(CustomerKey::member(format!("c{i}")).unwrap())
            .unwrap();
        if let Some(d) = days {
            store.set_value(c, last, today() - *d).unwrap();
        }
        if let Some(n) = n {
            store.set_value(c, count, *n).unwrap();
        }
        if let Some(m) = m {
            store.set_value(c, money, *m).unwrap();
        }
    }
    store
}

fn score(store: &Store, config: &RfmConfig) -> RfmScores {
    config.score(store, &Context::new(today())).unwrap()
}

fn scores_of(s: &RfmScores, n: u32) -> Vec<Option<(u8, u8, u8)>> {
    (0..n)
        .map(|id| s.score_of(id).map(|x| (x.r, x.f, x.m)))
        .collect()
}

/// Quantiles without a segment map (3 bins are not what the standard map is for).
fn plain(bins: u8) -> RfmConfig {
    RfmConfig::default().segments(None).bins(bins).unwrap()
}

#[test]
fn ntile_with_ties_is_split_by_customer_id() {
    // Frequency 3,1,3,2,3,1,5 for ids 0..7, three bins of sizes 3, 2, 2 (larger first).
    // Sorted by (value, id): (1,1) (1,5) (2,3) | (3,0) (3,2) | (3,4) (5,6).
    // The three customers with 3 purchases are split by id: 0 and 2 get F2, 4 gets F3.
    //
    // Recency (days since the last purchase) 10,10,5,30,10,40,1:
    // sorted (1,6) (5,2) (10,0) | (10,1) (10,4) | (30,3) (40,5); group 1 (the most recent)
    // is R3. The three 10-day customers are split by id: 0 gets R3, 1 and 4 get R2.
    //
    // Monetary all distinct: 70,10,50,20,60,30,40 -> ranks 6,0,4,1,5,2,3 -> groups by
    // rank (0-2 -> M1, 3-4 -> M2, 5-6 -> M3).
    let rows: Vec<Row> = [
        (10, 3, 70),
        (10, 1, 10),
        (5, 3, 50),
        (30, 2, 20),
        (10, 3, 60),
        (40, 1, 30),
        (1, 5, 40),
    ]
    .iter()
    .map(|&(d, f, m)| (Some(d), Some(f), Some(m)))
    .collect();
    let store = shop(&rows);
    let s = score(&store, &plain(3));
    assert_eq!(
        scores_of(&s, 7),
        vec![
            Some((3, 2, 3)),
            Some((2, 1, 1)),
            Some((3, 2, 2)),
            Some((1, 1, 1)),
            Some((2, 3, 3)),
            Some((1, 1, 1)),
            Some((3, 3, 2)),
        ]
    );
    assert_eq!(ids(s.customers(Measure::Frequency, 2).unwrap()), vec![0, 2]);
    assert_eq!(
        ids(s.customers(Measure::Recency, 3).unwrap()),
        vec![0, 2, 6]
    );
    assert_eq!(s.customers(Measure::Recency, 4), None);
    assert_eq!(s.customers(Measure::Recency, 0), None);
}

#[test]
fn fixed_edges_are_lowest_values_of_the_next_bin() {
    let days = [0, 30, 31, 90, 91, 365, 366, 1000];
    let counts = [1, 2, 3, 4, 5, 9, 10, 100];
    let rows: Vec<Row> = days
        .iter()
        .zip(counts)
        .map(|(&d, f)| (Some(d), Some(f), Some(f * 1000)))
        .collect();
    let store = shop(&rows);
    let config = plain(5)
        .edges(Measure::Recency, [31, 91, 181, 366])
        .unwrap()
        .edges(Measure::Frequency, [2, 3, 5, 10])
        .unwrap()
        .binning(Measure::Monetary, Binning::Edges(vec![10_000, 100_000]))
        .unwrap();
    let s = score(&store, &config);
    let r: Vec<u8> = (0..8).map(|i| s.score_of(i).unwrap().r).collect();
    let f: Vec<u8> = (0..8).map(|i| s.score_of(i).unwrap().f).collect();
    let m: Vec<u8> = (0..8).map(|i| s.score_of(i).unwrap().m).collect();
    assert_eq!(r, vec![5, 5, 4, 4, 3, 2, 1, 1]);
    assert_eq!(f, vec![1, 2, 3, 3, 4, 4, 5, 5]);
    assert_eq!(m, vec![1, 1, 1, 1, 1, 1, 2, 3]);
    assert_eq!(s.bins(Measure::Monetary), 3);
}

#[test]
fn empty_input_scores_nobody() {
    let store = shop(&[]);
    let mut s = score(&store, &RfmConfig::default());
    assert!(s.scored().is_empty());
    assert!(s.never_purchased().is_empty());
    assert_eq!(s.customers(Measure::Monetary, 5).map(|b| b.len()), Some(0));
    let grid = s.grid();
    assert_eq!(grid.scored, 0);
    assert!(grid.cells.iter().all(|c| c.count == 0 && c.share == 0.0));
    assert_eq!(grid.cells.len(), 25);
    let table = s.segment_table();
    assert_eq!(table.rows.len(), 11);
    assert!(
        table
            .rows
            .iter()
            .all(|r| r.count == 0 && r.mean_monetary.is_none())
    );

    // Everyone never purchased: scored empty too, and queries answer 0.
    let store = shop(&[(None, Some(0), Some(0)), (None, None, None)]);
    s = score(&store, &RfmConfig::default());
    assert_eq!(ids(s.never_purchased()), vec![0, 1]);
    let ctx = Context::new(today()).with_terms(&s);
    let count = |q: &str| store.count(&Query::parse(q).unwrap(), &ctx).unwrap();
    assert_eq!(count("rfm.r >= 1"), 0);
    assert_eq!(count("rfm.r IS NULL"), 2);
    assert_eq!(count("rfm.segment = \"Champions\""), 0);
}

#[test]
fn all_values_equal_are_split_by_id() {
    // Ten identical customers, quintiles: groups of two in id order. Group 1 is the lowest
    // value for F and M (score 1) and the most recent for R (score 5), so the lowest ids get
    // R5 F1 M1 and the highest R1 F5 M5.
    let rows: Vec<Row> = (0..10).map(|_| (Some(7), Some(2), Some(500))).collect();
    let store = shop(&rows);
    let s = score(&store, &RfmConfig::default());
    let got: Vec<RfmScore> = (0..10).map(|i| s.score_of(i).unwrap()).collect();
    for (i, sc) in got.iter().enumerate() {
        let g = (i / 2) as u8;
        assert_eq!(
            *sc,
            RfmScore {
                r: 5 - g,
                f: g + 1,
                m: g + 1
            },
            "customer {i}"
        );
    }
    assert_eq!(s.segment_of(0), Some("New customers"));
    assert_eq!(s.segment_of(9), Some("Can't lose them"));
}

#[test]
fn a_single_customer_lands_in_the_first_group() {
    // NTILE(5) of one row puts it in group 1: F1, M1, and R5 (group 1 is the most recent).
    let store = shop(&[(Some(400), Some(9), Some(99_999))]);
    let s = score(&store, &RfmConfig::default());
    assert_eq!(s.score_of(0), Some(RfmScore { r: 5, f: 1, m: 1 }));
    assert_eq!(s.segment_of(0), Some("New customers"));
    for score in 2..=5 {
        assert!(s.customers(Measure::Frequency, score).unwrap().is_empty());
    }
}

#[test]
fn never_purchased_and_incomplete_are_not_scored() {
    let store = shop(&[
        (Some(3), Some(2), Some(100)),
        (None, Some(0), Some(0)), // never purchased (no last purchase day)
        (Some(9), Some(1), None), // bought, but no monetary value
        (Some(1), Some(4), Some(900)),
        (None, None, None), // never purchased
    ]);
    let s = score(&store, &plain(3));
    assert_eq!(ids(s.scored()), vec![0, 3]);
    assert_eq!(ids(s.never_purchased()), vec![1, 4]);
    assert_eq!(ids(s.incomplete()), vec![2]);
    assert_eq!(ids(s.scope()), vec![0, 1, 2, 3, 4]);
    assert_eq!(s.score_of(1), None);
    assert_eq!(s.score_of(2), None);
    assert_eq!(s.score_of(77), None);
    // Two scored customers in three bins: sizes 1, 1, 0.
    assert_eq!(s.score_of(3), Some(RfmScore { r: 3, f: 2, m: 2 }));
    assert_eq!(s.score_of(0), Some(RfmScore { r: 2, f: 1, m: 1 }));
    let table = s.segment_table();
    assert_eq!((table.never_purchased, table.incomplete), (2, 1));
}

#[test]
fn scope_by_query_context_set_or_bitmap() {
    let rows: Vec<Row> = (0..20)
        .map(|i| (Some(i), Some(i64::from(i % 4) + 1), Some(i64::from(i) * 10)))
        .collect();
    let mut store = shop(&rows);
    let e = Edit::new("admin", today());
    let branch = store
        .create_tag(&e, TagSpec::new("branch/bangkok"))
        .unwrap();
    let bangkok: RoaringBitmap = (0..20).filter(|i| i % 2 == 0).collect();
    store.add_tag_bulk(branch, &bangkok, today()).unwrap();

    let by_query = RfmConfig::default().scope(Query::parse("branch/bangkok").unwrap());
    let s = score(&store, &by_query);
    assert_eq!(s.scored(), &bangkok);
    // Quintiles of the 10 Bangkok customers only: the two most recent (0 and 2) are R5.
    assert_eq!(ids(s.customers(Measure::Recency, 5).unwrap()), vec![0, 2]);

    let first_five: RoaringBitmap = (0..5).collect();
    let ctx = Context::new(today()).with_set("chosen", &first_five);
    let by_set = RfmConfig::default()
        .scope(Query::parse("@chosen").unwrap())
        .score(&store, &ctx)
        .unwrap();
    assert_eq!(ids(by_set.scored()), vec![0, 1, 2, 3, 4]);

    let both = by_query
        .score_within(&store, &Context::new(today()), &first_five)
        .unwrap();
    assert_eq!(ids(both.scored()), vec![0, 2, 4]);

    let err = RfmConfig::default()
        .scope(Query::parse("branch/bangkak").unwrap())
        .score(&store, &Context::new(today()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown tag \"branch/bangkak\" (did you mean \"branch/bangkok\"?)\n  branch/bangkak\n  ^^^^^^^^^^^^^^"
    );
}

/// 25 customers, one per R x F cell with 5 bins, so segments can be checked by hand.
fn grid_shop() -> Store {
    // Recency rank and frequency rank both from the id: id = 5 * a + b, recency days
    // 10 * (a + 1) (so a = 0 is the most recent, R5), frequency b + 1 (F = b + 1).
    let rows: Vec<Row> = (0..25)
        .map(|id| {
            let (a, b) = (id / 5, id % 5);
            (
                Some(10 * (a + 1)),
                Some(i64::from(b) + 1),
                Some(100 * i64::from(id + 1)),
            )
        })
        .collect();
    shop(&rows)
}

#[test]
fn standard_segments_by_hand() {
    let store = grid_shop();
    let s = score(&store, &RfmConfig::default());
    let name = |r: u8, f: u8| {
        let id = (5 - u32::from(r)) * 5 + u32::from(f) - 1;
        assert_eq!(s.score_of(id).map(|x| (x.r, x.f)), Some((r, f)));
        s.segment_of(id).unwrap()
    };
    let want = [
        // F1            F2                    F3                    F4                 F5
        [
            "New customers",
            "Potential loyalist",
            "Potential loyalist",
            "Champions",
            "Champions",
        ], // R5
        [
            "Promising",
            "Potential loyalist",
            "Potential loyalist",
            "Loyal",
            "Loyal",
        ], // R4
        [
            "About to sleep",
            "About to sleep",
            "Need attention",
            "Loyal",
            "Loyal",
        ], // R3
        [
            "Hibernating",
            "Hibernating",
            "At risk",
            "At risk",
            "Can't lose them",
        ], // R2
        ["Lost", "Lost", "At risk", "At risk", "Can't lose them"], // R1
    ];
    for (row, names) in want.iter().enumerate() {
        let r = 5 - row as u8;
        for (col, want) in names.iter().enumerate() {
            assert_eq!(name(r, col as u8 + 1), *want, "R{r} F{}", col + 1);
        }
    }
    let sizes: Vec<(&str, u64)> = s.segments().map(|(n, b)| (n, b.len())).collect();
    assert_eq!(
        sizes,
        vec![
            ("Champions", 2),
            ("Loyal", 4),
            ("Potential loyalist", 4),
            ("New customers", 1),
            ("Promising", 1),
            ("Need attention", 1),
            ("About to sleep", 2),
            ("At risk", 4),
            ("Can't lose them", 2),
            ("Hibernating", 2),
            ("Lost", 2),
        ]
    );
    assert_eq!(s.segment("can't LOSE them").map(|b| b.len()), Some(2));
    assert_eq!(s.segment("nope"), None);
}

#[test]
fn grid_and_tables_by_hand() {
    let store = grid_shop();
    let s = score(&store, &RfmConfig::default());
    let grid = s.grid();
    assert_eq!(grid.scored, 25);
    // Monetary 100 * (id + 1): total 100 * 325.
    assert_eq!(grid.monetary, 32_500);
    let c = grid.cell(5, 1).unwrap();
    assert_eq!(
        (c.count, c.monetary, c.mean_monetary),
        (1, 100, Some(100.0))
    );
    assert!((c.share - 0.04).abs() < 1e-12);
    let c = grid.cell(1, 5).unwrap();
    assert_eq!((c.count, c.monetary), (1, 2_500));
    assert_eq!(grid.cells.first().map(|c| (c.r, c.f)), Some((5, 1)));
    assert_eq!(grid.cells.last().map(|c| (c.r, c.f)), Some((1, 5)));

    let table = s.segment_table();
    let lost = table.rows.iter().find(|r| r.segment == "Lost").unwrap();
    // Lost = R1 F1 (id 20) and R1 F2 (id 21): monetary 2,100 + 2,200.
    assert_eq!((lost.count, lost.monetary), (2, 4_300));
    assert!((lost.customer_share - 2.0 / 25.0).abs() < 1e-12);
    assert!((lost.revenue_share - 4_300.0 / 32_500.0).abs() < 1e-12);
    assert_eq!(lost.mean_monetary, Some(2_150.0));
    let shares: f64 = table.rows.iter().map(|r| r.revenue_share).sum();
    assert!((shares - 1.0).abs() < 1e-12);

    // Monetary quintiles: M5 is the top 20% of customers (ids 20..25 by value).
    let m = s.score_table(Measure::Monetary);
    let top = &m.rows[0];
    assert_eq!(
        (top.score, top.count, top.min, top.max),
        (5, 5, Some(2_100), Some(2_500))
    );
    assert_eq!(top.monetary, 11_500);
    let r = s.score_table(Measure::Recency);
    assert_eq!(
        (r.rows[0].score, r.rows[0].min, r.rows[0].max),
        (5, Some(10), Some(10))
    );
    assert_eq!((r.rows[4].score, r.rows[4].min), (1, Some(50)));

    let text = m.to_string();
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "M5              5    20.0%              2,100..2,500    35.4%      35.4%"
    );
    let text = grid.to_string();
    assert!(text.starts_with(
        "R x F grid of 25 scored customers (rows: recency score, columns: frequency score)\n"
    ));
    assert!(text.contains("\n  R5           1           1           1           1           1\n"));
    assert!(text.contains("\n  R1        4.0%        4.0%        4.0%        4.0%        4.0%\n"));
    assert!(text.contains("\n  R1       2,100       2,200       2,300       2,400       2,500\n"));
    let text = table.to_string();
    assert!(text.starts_with(
        "segment               customers    share  revenue  cum. cust   cum. rev  mean monetary\n"
    ));
    assert!(text.ends_with("25 scored; not scored: 0 never purchased, 0 incomplete"));
}

#[test]
fn scores_are_query_terms() {
    let mut store = grid_shop();
    let e = Edit::new("admin", today());
    let vip = store.create_tag(&e, TagSpec::new("vip")).unwrap();
    let at_risk = store.create_tag(&e, TagSpec::new("at_risk")).unwrap();
    for id in 0..25 {
        if id % 2 == 0 {
            store.add_tag(id, vip, today()).unwrap();
        }
        if id % 3 == 0 {
            store.add_tag(id, at_risk, today()).unwrap();
        }
    }
    // A customer who never purchased: never matches a score, matches IS NULL.
    store
        .add_customer(CustomerKey::member("new").unwrap())
        .unwrap();
    let rfm = &score(&store, &RfmConfig::default());
    let ctx = Context::new(today()).with_terms(rfm);
    let naive = |pred: &dyn Fn(u32, RfmScore, &str) -> bool| -> u64 {
        (0..26)
            .filter(|&id| {
                rfm.score_of(id)
                    .is_some_and(|sc| pred(id, sc, rfm.segment_of(id).unwrap_or("")))
            })
            .count() as u64
    };
    let count = |q: &str| store.count(&Query::parse(q).unwrap(), &ctx).unwrap();
    assert_eq!(
        count("rfm.r >= 4 AND vip EXCLUDE at_risk"),
        naive(&|id, sc, _| sc.r >= 4 && id % 2 == 0 && id % 3 != 0)
    );
    assert_eq!(count("rfm.r >= 4 AND vip EXCLUDE at_risk"), 3); // ids 2, 4, 8
    assert_eq!(count("rfm.f < 3"), naive(&|_, sc, _| sc.f < 3));
    assert_eq!(count("rfm.f <= 3"), 15);
    assert_eq!(count("rfm.m > 4"), 5);
    assert_eq!(count("rfm.m > 5"), 0);
    assert_eq!(count("rfm.r = 1"), 5);
    assert_eq!(count("rfm.r != 1"), 20);
    assert_eq!(count("NOT rfm.r = 1"), 21);
    assert_eq!(count("rfm.r BETWEEN 2 AND 3"), 10);
    assert_eq!(
        Query::parse("rfm.r BETWEEN 3 AND 2")
            .unwrap_err()
            .to_string(),
        "BETWEEN 3 AND 2 matches nothing: the lower bound comes first (write BETWEEN 2 AND \
         3)\n  rfm.r BETWEEN 3 AND 2\n                ^^^^^^^"
    );
    assert_eq!(count("rfm.f IS NULL"), 1);
    assert_eq!(count("rfm.segment IS NOT NULL"), 25);
    assert_eq!(count("rfm.segment = \"At risk\""), 4);
    assert_eq!(count("RFM.SEGMENT = \"at  RISK\""), 4);
    assert_eq!(count("rfm.segment != \"At risk\""), 21);
    assert_eq!(
        count("rfm.segment = \"Champions\" OR rfm.segment = \"Loyal\""),
        naive(&|_, _, seg| seg == "Champions" || seg == "Loyal")
    );
    // The funnel names the terms.
    let ex = store
        .explain(&Query::parse("vip AND rfm.r >= 4").unwrap(), &ctx)
        .unwrap();
    let clauses: Vec<&str> = ex.steps.iter().map(|s| s.clause.as_str()).collect();
    assert_eq!(clauses, vec!["rfm.r >= 4", "vip"]);

    // Without the scores in the context, the terms are refused with a pointer to the fix.
    assert_eq!(count("rfm.r = 5"), 5);
    assert_eq!(
        store
            .count(&Query::parse("rfm.r = 5").unwrap(), today())
            .unwrap_err()
            .to_string(),
        "no provider of rfm.* terms in the query's context: pass one with Context::with_terms (RFM scores provide rfm.*)\n  rfm.r = 5\n  ^^^^^^^^^"
    );
}

#[test]
fn query_errors_point_at_the_term() {
    let store = grid_shop();
    let s = score(&store, &RfmConfig::default());
    let err = |s: &RfmScores, q: &str| {
        store
            .count(
                &Query::parse(q).unwrap(),
                Context::new(today()).with_terms(s),
            )
            .unwrap_err()
    };
    let cases = [
        (
            "rfm.r >= 7",
            "rfm.r scores run from 1 to 5, got 7\n  rfm.r >= 7\n  ^^^^^^^^^^",
        ),
        (
            "rfm.r = 1 OR rfm.m = 0",
            "rfm.m scores run from 1 to 5, got 0\n  rfm.r = 1 OR rfm.m = 0\n               ^^^^^^^^^",
        ),
        (
            "rfm.f BETWEEN 1 AND 6",
            "rfm.f scores run from 1 to 5, got 6\n  rfm.f BETWEEN 1 AND 6\n  ^^^^^^^^^^^^^^^^^^^^^",
        ),
        (
            "rfm.segment = \"Champion\"",
            "unknown RFM segment \"Champion\" (did you mean \"Champions\"?)\n  rfm.segment = \"Champion\"\n  ^^^^^^^^^^^^^^^^^^^^^^^^",
        ),
        (
            "rfm.segment = \"Whales\"",
            "unknown RFM segment \"Whales\"\n  rfm.segment = \"Whales\"\n  ^^^^^^^^^^^^^^^^^^^^^^",
        ),
        (
            "rfm.x = 1",
            "unknown RFM term rfm.x: use rfm.r, rfm.f, rfm.m or rfm.segment\n  rfm.x = 1\n  ^^^^^^^^^",
        ),
        (
            "rfm.r = \"high\"",
            "rfm.r holds scores, compare it with a number, not text\n  rfm.r = \"high\"\n  ^^^^^^^^^^^^^^",
        ),
        (
            "rfm.r = 2025-01-01",
            "rfm.r holds scores, compare it with a number, not a day\n  rfm.r = 2025-01-01\n  ^^^^^^^^^^^^^^^^^^",
        ),
        (
            "rfm.segment = 5",
            "rfm.segment holds segment names, compare it with quoted text, not a number\n  rfm.segment = 5\n  ^^^^^^^^^^^^^^^",
        ),
        (
            "rfm.segment >= \"Lost\"",
            "rfm.segment holds segment names: compare it with = or !=\n  rfm.segment >= \"Lost\"\n  ^^^^^^^^^^^^^^^^^^^^^",
        ),
        (
            "rfm.segment BETWEEN \"A\" AND \"B\"",
            "rfm.segment holds segment names: compare it with = or !=\n  rfm.segment BETWEEN \"A\" AND \"B\"\n  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        ),
        (
            "rfm.r WITHIN 30d",
            "rfm.r holds scores; WITHIN and BEFORE need a day attribute\n  rfm.r WITHIN 30d\n  ^^^^^^^^^^^^^^^^",
        ),
    ];
    for (q, want) in cases {
        assert_eq!(err(&s, q).to_string(), want, "{q}");
    }
    assert!(matches!(
        err(&s, "rfm.r >= 7").kind(),
        ErrorKind::Query(q) if matches!(
            q.problem,
            audience::QueryProblem::ScoreOutOfRange { bins: 5, score: 7, .. }
        )
    ));
    assert!(matches!(
        err(&s, "rfm.segment = \"Whales\"").kind(),
        ErrorKind::Query(q) if matches!(&q.problem, audience::QueryProblem::UnknownSegment { name, .. } if name == "Whales")
    ));

    // Scores without a segment map.
    let s = score(&store, &plain(5));
    assert_eq!(
        err(&s, "rfm.segment = \"Lost\"").to_string(),
        "rfm.segment needs named segments, and these RFM scores have none: score with a segment map\n  rfm.segment = \"Lost\"\n  ^^^^^^^^^^^^^^^^^^^^"
    );
    // Four bins: 5 is out of range.
    let s = score(&store, &plain(4));
    assert_eq!(
        err(&s, "rfm.m = 5").to_string(),
        "rfm.m scores run from 1 to 4, got 5\n  rfm.m = 5\n  ^^^^^^^^^"
    );
}

#[test]
fn erased_customers_leave_the_scores() {
    let mut store = grid_shop();
    let s = score(&store, &RfmConfig::default());
    let before = store.clone();
    let q = Query::parse("rfm.r = 5").unwrap();
    store.erase_customer(0).unwrap();
    // Scores computed before the erasure never select the erased customer.
    assert_eq!(
        store
            .count(&q, Context::new(today()).with_terms(&s))
            .unwrap(),
        4
    );
    // "Forget me" reaches the scores the app keeps through `forget`.
    let mut rfm = s.clone();
    rfm.forget(0);
    assert!(!rfm.scored().contains(0));
    assert!(!rfm.customers(Measure::Recency, 5).unwrap().contains(0));
    assert_eq!(rfm.segment_of(0), None);
    assert_eq!(rfm.score_of(0), None);
    assert_eq!(rfm.segment("New customers").map(|b| b.len()), Some(0));
    let ctx = Context::new(today()).with_terms(&rfm);
    assert_eq!(store.count(&q, &ctx).unwrap(), 4);
    // The copy taken before still has the customer, and the unforgotten scores count it.
    assert_eq!(
        before
            .count(&q, Context::new(today()).with_terms(&s))
            .unwrap(),
        5
    );
}

#[test]
fn configuration_errors() {
    let store = grid_shop();
    let run = |config: RfmConfig| {
        config
            .score(&store, &Context::new(today()))
            .unwrap_err()
            .to_string()
    };
    // Bins are refused by their setter, naming it.
    let refused = |r: Result<RfmConfig, audience::Error>| {
        let e = r.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidSetting { .. }));
        e.to_string()
    };
    assert_eq!(
        refused(RfmConfig::default().bins(2)),
        "invalid setting RfmConfig::bins: recency: quantiles need 3 to 10 bins, got 2"
    );
    assert_eq!(
        refused(RfmConfig::default().binning(Measure::Monetary, Binning::Quantiles(11))),
        "invalid setting RfmConfig::binning: monetary: quantiles need 3 to 10 bins, got 11"
    );
    assert_eq!(
        refused(RfmConfig::default().edges(Measure::Frequency, [2])),
        "invalid setting RfmConfig::edges: frequency: fixed edges need 2 to 9 edges (3 to 10 bins), got 1"
    );
    assert_eq!(
        refused(RfmConfig::default().edges(Measure::Frequency, [2, 5, 5, 9])),
        "invalid setting RfmConfig::edges: frequency: edges must increase strictly, got 5 then 5"
    );
    assert_eq!(
        refused(RfmConfig::default().edges(Measure::Recency, Vec::new())),
        "invalid setting RfmConfig::edges: recency: fixed edges need 2 to 9 edges (3 to 10 bins), got 0"
    );
    assert_eq!(
        run(RfmConfig::new(
            "purchase_count",
            "purchase_count",
            "monetary"
        )),
        "attribute \"purchase_count\" holds numbers, but RfmConfig::recency needs a day \
         attribute (set RfmConfig::recency(..) to one, or convert day numbers with \
         Store::set_days_from_numbers)"
    );
    assert_eq!(
        run(RfmConfig::new("last_purchase", "last_purchase", "monetary")),
        "attribute \"last_purchase\" holds days, but RfmConfig::frequency needs a number \
         attribute (set RfmConfig::frequency(..) to one)"
    );
    assert_eq!(
        run(RfmConfig::new(
            "last_purchase",
            "purchase_count",
            "monetary_cents"
        )),
        "unknown attribute \"monetary_cents\" (RfmConfig::monetary reads it; set \
         RfmConfig::monetary(..) to your column)"
    );
    assert_eq!(
        run(RfmConfig::new(
            "last_purchase",
            "purchase_count",
            "monetery"
        )),
        "unknown attribute \"monetery\" (RfmConfig::monetary reads it; set \
         RfmConfig::monetary(..) to your column; did you mean \"monetary\"?)"
    );
    // The standard map needs 5 bins on R and F.
    assert_eq!(
        run(RfmConfig::default().bins(4).unwrap()),
        "RFM segment map: segment \"Champions\" asks for R scores 5..=5, but recency has scores 1 to 4"
    );
    assert!(matches!(
        RfmConfig::default()
            .bins(4)
            .unwrap()
            .validate()
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidBuckets { .. }
    ));
    assert_eq!(RfmConfig::default().validate().unwrap(), [5, 5, 5]);
}

#[test]
fn segment_maps_must_partition_the_cells() {
    let check = |map: SegmentMap| {
        RfmConfig::default()
            .bins(3)
            .unwrap()
            .segments(Some(map))
            .validate()
            .map_err(|e| e.to_string())
    };
    let s = SegmentRule::new;
    // Overlap: both claim R3 F3 (all M).
    let overlap = SegmentMap::new()
        .rule(s("top").r(3..=3).f(2..=3))
        .rule(s("frequent").f(3..=3))
        .rule(s("rest").r(1..=2).f(1..=2));
    assert_eq!(
        check(overlap),
        Err("RFM segments \"top\" and \"frequent\" both claim 3 score cells: R3 F3 M1-3".into())
    );
    // Gap: R1 F3 and R2 F3 and R3 F1 are claimed by nobody.
    let gap = SegmentMap::new()
        .rule(s("top").r(3..=3).f(2..=3))
        .rule(s("low").r(1..=2).f(1..=2));
    assert_eq!(
        check(gap),
        Err("the RFM segment map leaves 9 score cells without a segment: R1 F3 M1-3, R2 F3 M1-3, R3 F1 M1-3".into())
    );
    // A single missing cell.
    let one = SegmentMap::new()
        .rule(s("a").r(1..=2))
        .rule(s("b").r(3..=3).m(1..=2))
        .rule(s("c").r(3..=3).f(1..=2).m(3..=3));
    assert_eq!(
        check(one),
        Err("the RFM segment map leaves 1 score cell without a segment: R3 F3 M3".into())
    );
    // Long lists are cut after eight runs.
    let sparse = SegmentMap::new().rule(s("one").r(1..=1).f(1..=1).m(1..=1));
    let msg = check(sparse).unwrap_err();
    assert!(
        msg.starts_with("the RFM segment map leaves 26 score cells without a segment: R1 F1 M2-3, R1 F2 M1-3, R1 F3 M1-3, R2 F1 M1-3,"),
        "{msg}"
    );
    assert!(msg.ends_with(", and 1 more"), "{msg}");
    assert_eq!(
        check(SegmentMap::new()),
        Err("RFM segment map: a map names 1 to 64 segments, got 0".into())
    );
    assert_eq!(
        check(SegmentMap::new().rule(s("all")).rule(s(" ALL "))),
        Err("RFM segment map: segment \" ALL \" is named twice".into())
    );
    assert_eq!(
        // Built by hand: an empty range is what a deserialized map may hold.
        check(SegmentMap::new().rule(SegmentRule {
            r: Some(RangeInclusive::new(2, 1)),
            ..s("x")
        })),
        Err(
            "RFM segment map: segment \"x\" asks for R scores 2..=1, but recency has scores 1 to 3"
                .into()
        )
    );
    assert_eq!(
        check(SegmentMap::new().rule(s("  "))),
        Err("RFM segment map: segment name \"  \": a name must not be empty".into())
    );
    assert_eq!(check(SegmentMap::new().rule(s("everyone"))), Ok([3, 3, 3]));
    let e = RfmConfig::default()
        .bins(3)
        .unwrap()
        .segments(Some(
            SegmentMap::new()
                .rule(s("a").r(1..=2))
                .rule(s("b").r(2..=3)),
        ))
        .validate()
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        ErrorKind::SegmentOverlap { first, second, cells } if first == "a" && second == "b" && cells.len() == 9
    ));
}

#[cfg(feature = "serde")]
#[test]
fn configs_are_serde_data() {
    let config = RfmConfig::new("last_purchase_day", "purchase_count", "monetary_cents")
        .edges(Measure::Frequency, [2, 3, 5, 10])
        .unwrap()
        .scope(Query::parse("branch/bangkok AND NOT test").unwrap());
    let json = serde_json::to_string(&config).unwrap();
    assert!(json.starts_with(
        r#"{"recency":{"attribute":"last_purchase_day","binning":{"quantiles":5}},"frequency":{"attribute":"purchase_count","binning":{"edges":[2,3,5,10]}}"#
    ), "{json}");
    assert!(
        json.contains(
            r#"{"name":"Champions","r":{"start":5,"end":5},"f":{"start":4,"end":5},"m":null}"#
        ),
        "{json}"
    );
    let back: RfmConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);
    // Deserialisation goes through the setters, and checks the map against the bins.
    let bad = json.replacen(r#"{"quantiles":5}"#, r#"{"quantiles":12}"#, 1);
    assert_eq!(
        serde_json::from_str::<RfmConfig>(&bad)
            .unwrap_err()
            .to_string(),
        "invalid setting RfmConfig::binning: recency: quantiles need 3 to 10 bins, got 12"
    );
    let bad = json.replacen(r#"{"quantiles":5}"#, r#"{"quantiles":4}"#, 1);
    assert_eq!(
        serde_json::from_str::<RfmConfig>(&bad)
            .unwrap_err()
            .to_string(),
        "RFM segment map: segment \"Champions\" asks for R scores 5..=5, but recency has scores 1 to 4"
    );
    let grid_json =
        serde_json::to_value(score(&grid_shop(), &RfmConfig::default()).grid()).unwrap();
    assert_eq!(grid_json["cells"][0]["count"], 1);
}

#[test]
fn export_carries_rfm_scores_when_present() {
    use audience::export::Export;
    let rows: Vec<Row> = (0..10).map(|_| (Some(7), Some(2), Some(500))).collect();
    let mut store = shop(&rows);
    let s = score(&store, &RfmConfig::default());
    // A customer who arrived after the scoring run has empty cells.
    store
        .add_customer(CustomerKey::member("late").unwrap())
        .unwrap();
    let all = store.customers().clone();
    let mut out = Vec::new();
    Export::new()
        .without_tags()
        .with_rfm(std::sync::Arc::new(s.clone()))
        .write_csv(&store, &all, &mut out)
        .unwrap();
    let after = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = after.lines().collect();
    assert!(
        lines[0].ends_with("rfm_r,rfm_f,rfm_m,rfm_segment"),
        "{}",
        lines[0]
    );
    assert!(lines[11].ends_with(",,,,"), "{}", lines[11]);
    let first = s.score_of(0).unwrap();
    let segment = s.segment_of(0).map(str::to_string).unwrap_or_default();
    let row0 = lines[1];
    assert!(
        row0.ends_with(&format!(",{},{},{},{}", first.r, first.f, first.m, segment)),
        "{row0}"
    );
    assert_eq!((first.r, first.f, first.m), (5, 1, 1));
}

/// The ten-segment table of the R `rfm` package's `rfm_segment` example: overlapping
/// ranges, read in order, the first match naming the cell ("Others" for the rest).
fn rfm_package_table() -> audience::FirstMatchMap {
    let names = [
        "Champions",
        "Loyal Customers",
        "Potential Loyalist",
        "New Customers",
        "Promising",
        "Need Attention",
        "About To Sleep",
        "At Risk",
        "Can't Lose Them",
        "Lost",
    ];
    let recency = [
        (4, 5),
        (2, 5),
        (3, 5),
        (4, 5),
        (3, 4),
        (2, 3),
        (2, 3),
        (1, 2),
        (1, 1),
        (1, 2),
    ];
    let frequency = [
        (4, 5),
        (3, 5),
        (1, 3),
        (1, 1),
        (1, 1),
        (2, 3),
        (1, 2),
        (2, 5),
        (4, 5),
        (1, 2),
    ];
    let monetary = frequency;
    let mut table = audience::FirstMatchMap::new("Others");
    for i in 0..10 {
        let range = |(lo, hi): (u8, u8)| lo..=hi;
        table = table.rule(
            SegmentRule::new(names[i])
                .r(range(recency[i]))
                .f(range(frequency[i]))
                .m(range(monetary[i])),
        );
    }
    table
}

#[test]
fn first_match_tables_as_the_rfm_package_writes_them() {
    let table = rfm_package_table();
    // The naive reading: the first rule whose three ranges hold the scores, else "Others".
    let naive = |s: RfmScore| -> &str {
        table
            .rules()
            .iter()
            .find(|rule| {
                [(&rule.r, s.r), (&rule.f, s.f), (&rule.m, s.m)]
                    .iter()
                    .all(|(range, v)| range.as_ref().is_none_or(|r| r.contains(v)))
            })
            .map_or("Others", |rule| rule.name.as_str())
    };
    let rows: Vec<Row> = (0..2000i64)
        .map(|i| {
            (
                Some(((i * 37) % 365) as i32),
                Some((i * 13) % 23 + 1),
                Some((i * 7919) % 10_007),
            )
        })
        .collect();
    let store = shop(&rows);
    let config = RfmConfig::default().first_match(Some(table.clone()));
    assert_eq!(config.segment_map(), None);
    assert_eq!(config.validate().unwrap(), [5, 5, 5]);
    let scores = score(&store, &config);
    let mut want: std::collections::BTreeMap<&str, RoaringBitmap> = Default::default();
    for id in 0..2000u32 {
        let s = scores.score_of(id).unwrap();
        assert_eq!(scores.segment_of(id), Some(naive(s)), "{s:?}");
        want.entry(naive(s)).or_default().insert(id);
    }
    let got: Vec<(&str, u64)> = scores.segments().map(|(n, b)| (n, b.len())).collect();
    // Every rule's segment, in table order, then "Others"; the first-match reading leaves
    // "New Customers" and "Promising" empty (Potential Loyalist, above them, holds their
    // cells), as it does in the table's own reading.
    let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "Champions",
            "Loyal Customers",
            "Potential Loyalist",
            "New Customers",
            "Promising",
            "Need Attention",
            "About To Sleep",
            "At Risk",
            "Can't Lose Them",
            "Lost",
            "Others"
        ]
    );
    for (name, bits) in scores.segments() {
        let expected = want.get(name).cloned().unwrap_or_default();
        assert_eq!(bits, &expected, "{name}");
    }
    assert_eq!(got[3].1, 0);
    assert_eq!(got[4].1, 0);
    assert_eq!(got.iter().map(|(_, n)| n).sum::<u64>(), 2000);
    // Queryable by name, folded like tags.
    let ctx = Context::new(today()).with_terms(&scores);
    let count = |q: &str| store.count(&Query::parse(q).unwrap(), &ctx).unwrap();
    assert_eq!(
        count("rfm.segment = \"champions\""),
        want["Champions"].len()
    );
    assert_eq!(count("rfm.segment = \"Others\""), want["Others"].len());
    assert_eq!(
        store
            .count(&Query::parse("rfm.segment = \"Champion\"").unwrap(), &ctx)
            .unwrap_err()
            .to_string(),
        "unknown RFM segment \"Champion\" (did you mean \"Champions\"?)\n  rfm.segment = \
         \"Champion\"\n  ^^^^^^^^^^^^^^^^^^^^^^^^"
    );
    // Checked against the bins like a segment map.
    assert_eq!(
        config
            .clone()
            .bins(4)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string(),
        "RFM first-match segment table: segment \"Champions\" asks for R scores 4..=5, but \
         recency has scores 1 to 4"
    );
    assert_eq!(
        RfmConfig::default()
            .first_match(Some(audience::FirstMatchMap::new("Others")))
            .validate()
            .unwrap_err()
            .to_string(),
        "RFM first-match segment table: a table has 1 to 64 rules, got 0"
    );
    // A segment map set afterwards replaces the table, and the other way round.
    let back = config.clone().segments(Some(SegmentMap::standard()));
    assert_eq!(back.first_match_table(), None);
    // Serde: the table round-trips; a configuration with both is refused.
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(serde_json::from_str::<RfmConfig>(&json).unwrap(), config);
    let both = json.replace(
        "\"segments\":null",
        "\"segments\":{\"rules\":[{\"name\":\"all\",\"r\":null,\"f\":null,\"m\":null}]}",
    );
    assert_ne!(both, json);
    assert_eq!(
        serde_json::from_str::<RfmConfig>(&both)
            .unwrap_err()
            .to_string(),
        "invalid setting RfmConfig::first_match: a configuration names its segments with a \
         segment map or a first-match table, not both"
    );
}
