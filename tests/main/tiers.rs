//! Tiers written to tags, groups written atomically, migration matrices, and the B2B guides'
//! B2B tiers: S about 5% of leads with over 40% of sales, "8-10% of B should move up to A
//! each week; under 5% means the follow-up content is weak".

use audience::{
    Assignment, AttrKind, Change, Context, CustomerKey, Day, Edit, Migration, Query, RfmConfig,
    RoaringBitmap, Store, TagKind, TagSpec, Tiers,
};

use crate::support::mar_3;

fn seed_tiers() -> Tiers {
    Tiers::new("lead_score", "tier")
        .tier("S", 80)
        .unwrap()
        .tier("A", 60)
        .unwrap()
        .tier("B", 40)
        .unwrap()
        .rest("C")
        .unwrap()
}

/// Leads with a score (None = not scored yet).
fn leads(scores: &[Option<i64>]) -> Store {
    let mut store = Store::new();
    let attr = store.define_attribute("lead_score", AttrKind::Int).unwrap();
    for (i, s) in scores.iter().enumerate() {
        let c = store
            .add_customer(CustomerKey::member(format!("lead{i}")).unwrap())
            .unwrap();
        if let Some(s) = s {
            store.set_value(c, attr, *s).unwrap();
        }
    }
    store
}

fn tier_members(store: &Store, name: &str) -> Vec<u32> {
    store
        .members(store.tag_id_in("tier", name).unwrap())
        .unwrap()
        .iter()
        .collect()
}

#[test]
fn tiers_are_written_to_tags() {
    let mut store = leads(&[
        Some(95),
        Some(80),
        Some(79),
        Some(60),
        Some(59),
        Some(40),
        Some(39),
        Some(-5),
        None,
    ]);
    let edit = Edit::new("crm", mar_3());
    let report = seed_tiers().apply(&mut store, &edit).unwrap();
    let summary: Vec<(&str, bool, u64, u64, u64)> = report
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.created, g.members, g.arrived, g.left))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("S", true, 2, 2, 0),
            ("A", true, 2, 2, 0),
            ("B", true, 2, 2, 0),
            ("C", true, 2, 2, 0),
        ]
    );
    assert_eq!(report.ungrouped, 1, "the lead without a score");
    assert_eq!(
        report.to_string(),
        "\"S\": 2 members (2 arrived, 0 left; tag created)\n\"A\": 2 members (2 arrived, 0 left; \
         tag created)\n\"B\": 2 members (2 arrived, 0 left; tag created)\n\"C\": 2 members (2 \
         arrived, 0 left; tag created)\n1 customer in no group"
    );
    assert_eq!(tier_members(&store, "S"), vec![0, 1]);
    assert_eq!(tier_members(&store, "A"), vec![2, 3]);
    assert_eq!(tier_members(&store, "B"), vec![4, 5]);
    assert_eq!(tier_members(&store, "C"), vec![6, 7]);
    // Created as dynamic tags of the dimension, logged with the edit.
    let s = store.tag(store.tag_id("tier:S").unwrap()).unwrap();
    assert_eq!((s.dimension.as_str(), s.kind), ("tier", TagKind::Dynamic));
    let created: Vec<&str> = store
        .change_log()
        .iter()
        .filter(|e| e.actor == "crm" && e.day == mar_3())
        .filter_map(|e| match &e.change {
            Change::Created { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(created, vec!["S", "A", "B", "C"]);
    // They compose with everything else.
    let q = Query::parse("tier:S OR tier:A").unwrap();
    assert_eq!(store.count(&q, mar_3()).unwrap(), 4);
}

#[test]
fn rerunning_moves_customers_and_keeps_stayers_days() {
    let mut store = leads(&[Some(90), Some(50), Some(45), Some(10)]);
    let score = store.attribute_id("lead_score").unwrap();
    let tiers = seed_tiers();
    tiers.apply(&mut store, &Edit::new("crm", mar_3())).unwrap();
    let next = mar_3() + 7;
    store.set_value(1, score, 65).unwrap(); // B -> A
    store.set_value(3, score, 85).unwrap(); // C -> S
    store.clear_value(2, score).unwrap(); // B -> no tier
    let report = tiers.apply(&mut store, &Edit::new("crm", next)).unwrap();
    let moves: Vec<(&str, bool, u64, u64, u64)> = report
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.created, g.members, g.arrived, g.left))
        .collect();
    assert_eq!(
        moves,
        vec![
            ("S", false, 2, 1, 0),
            ("A", false, 1, 1, 0),
            ("B", false, 0, 0, 2),
            ("C", false, 0, 0, 1),
        ]
    );
    let s = store.tag_id("tier:S").unwrap();
    assert_eq!(store.assigned_day(0, s).unwrap(), Some(mar_3()));
    assert_eq!(store.assigned_day(3, s).unwrap(), Some(next));
    assert_eq!(store.tags_of(2).unwrap(), vec![]);
    assert_eq!(
        store.tags_of(1).unwrap(),
        vec![store.tag_id("tier:A").unwrap()]
    );
}

#[test]
fn scoped_runs_leave_others_alone() {
    let mut store = leads(&[Some(90), Some(90), Some(10), Some(10)]);
    let score = store.attribute_id("lead_score").unwrap();
    let tiers = seed_tiers();
    tiers.apply(&mut store, &Edit::new("crm", mar_3())).unwrap();
    store.set_value(0, score, 10).unwrap();
    store.set_value(1, score, 10).unwrap();
    let only_first: RoaringBitmap = [0].into_iter().collect();
    tiers
        .apply_within(&mut store, &Edit::new("crm", mar_3() + 1), &only_first)
        .unwrap();
    assert_eq!(tier_members(&store, "S"), vec![1], "lead 1 is out of scope");
    assert_eq!(tier_members(&store, "C"), vec![0, 2, 3]);
    // Assigning only, without writing.
    let a = tiers.assign(&store).unwrap();
    assert_eq!(a.group("c").map(|b| b.len()), Some(4));
    assert_eq!(a.group_of(1), Some("C"));
}

#[test]
fn failed_writes_change_nothing() {
    let mut store = leads(&[Some(90), Some(50)]);
    let edit = Edit::new("crm", mar_3());
    // An archived tier tag refuses new members: nothing is created or moved.
    let a = store
        .create_tag(&edit, TagSpec::new("A").dimension("tier"))
        .unwrap();
    store.archive_tag(&edit, a).unwrap();
    let log = store.change_log().len();
    let err = seed_tiers().apply(&mut store, &edit).unwrap_err();
    assert_eq!(err.to_string(), "tag \"A\" is archived");
    assert_eq!(store.change_log().len(), log);
    assert_eq!(store.tag_count(), 1);

    // A name that cannot be a tag cannot be a tier.
    let bad = Tiers::new("lead_score", "tier")
        .tier("S", 80)
        .unwrap()
        .rest("\u{7}");
    assert_eq!(
        bad.unwrap_err().to_string(),
        "invalid setting Tiers::rest: tier name \"\\u{7}\": a name must not contain control \
         characters (found U+0007)"
    );
    // Customers that are not live.
    let ghost = Assignment::new(vec![("x".into(), [7].into_iter().collect())]).unwrap();
    assert_eq!(
        ghost
            .write(&mut store, &edit, "tier", &RoaringBitmap::new())
            .unwrap_err()
            .to_string(),
        "unknown customer id 7"
    );
    assert_eq!(store.tag_count(), 1);
    assert_eq!(store.change_log().len(), log);
}

#[test]
fn tier_definitions_are_checked() {
    let store = leads(&[Some(1)]);
    let check = |t: Tiers| t.assign(&store).unwrap_err().to_string();
    assert_eq!(
        check(Tiers::new("lead_score", "tier")),
        "tiers of lead_score: give 1 to 256 tiers, got 0"
    );
    // What does not hold is refused when the tier is added.
    let setting = |t: Result<Tiers, audience::Error>| t.unwrap_err().to_string();
    let s80 = || Tiers::new("lead_score", "tier").tier("S", 80).unwrap();
    assert_eq!(
        setting(s80().tier("A", 80)),
        "invalid setting Tiers::tier: thresholds must decrease from the first tier down, but \
         \"A\" (>= 80) follows \"S\" (>= 80)"
    );
    assert_eq!(
        setting(
            Tiers::new("lead_score", "tier")
                .rest("C")
                .unwrap()
                .tier("S", 80)
        ),
        "invalid setting Tiers::tier: only the last tier may take everything lower, not \"C\""
    );
    assert_eq!(
        setting(s80().rest("s ")),
        "invalid setting Tiers::rest: tier \"s \" is named twice"
    );
    assert_eq!(
        setting(s80().rest(" ")),
        "invalid setting Tiers::rest: tier name \" \": a name must not be empty"
    );
    let mut many = Tiers::new("lead_score", "tier");
    for i in 0..256 {
        many = many.tier(format!("t{i}"), 1000 - i).unwrap();
    }
    assert_eq!(
        setting(many.rest("one too many")),
        "invalid setting Tiers::rest: give 1 to 256 tiers, got 257"
    );
    #[cfg(feature = "serde")]
    assert_eq!(
        serde_json::from_str::<Tiers>(
            r#"{"attribute": "x", "dimension": "tier", "tiers": [
                {"name": "S", "at_least": 80}, {"name": "A", "at_least": 90}]}"#
        )
        .unwrap_err()
        .to_string(),
        "invalid setting Tiers::tier: thresholds must decrease from the first tier down, but \
         \"A\" (>= 90) follows \"S\" (>= 80)"
    );
    assert_eq!(
        check(Tiers::new("lead_scor", "tier").tier("S", 80).unwrap()),
        "unknown attribute \"lead_scor\" (Tiers::new reads it; set Tiers::new(..) to your \
         column; did you mean \"lead_score\"?)"
    );
    let mut days = Store::new();
    days.define_attribute("seen", AttrKind::Day).unwrap();
    assert_eq!(
        Tiers::new("seen", "tier")
            .tier("S", 80)
            .unwrap()
            .assign(&days)
            .unwrap_err()
            .to_string(),
        "attribute \"seen\" holds days, but Tiers::new needs a number attribute (set \
         Tiers::new(..) to one)"
    );
    // One catch-all tier takes every value.
    let all = Tiers::new("lead_score", "tier").rest("everyone").unwrap();
    assert_eq!(
        all.assign(&store)
            .unwrap()
            .group("everyone")
            .map(|b| b.len()),
        Some(1)
    );
}

/// The B2B guides' shop: 1,000 leads; S about 5% of leads with over 40% of sales, A about
/// 15%, B and C together 80%.
fn b2b_shop() -> Store {
    let mut store = Store::new();
    let score = store.define_attribute("lead_score", AttrKind::Int).unwrap();
    let sales = store
        .define_attribute("sales_cents", AttrKind::Int)
        .unwrap();
    for i in 0..1000u32 {
        let c = store
            .add_customer(CustomerKey::member(format!("lead{i}")).unwrap())
            .unwrap();
        let (s, money) = match i {
            0..50 => (85 + i64::from(i % 15), 2_000_000), // S: 50 x 20,000.00
            50..200 => (60 + i64::from(i % 20), 300_000), // A: 150 x 3,000.00
            200..600 => (40 + i64::from(i % 20), 100_000), // B: 400 x 1,000.00
            _ => (i64::from(i % 40), 50_000),             // C: 400 x 500.00
        };
        store.set_value(c, score, s).unwrap();
        store.set_value(c, sales, money).unwrap();
    }
    store
}

#[test]
fn seeds_s_tier_is_5_percent_with_over_40_percent_of_sales() {
    let mut store = b2b_shop();
    seed_tiers()
        .apply(&mut store, &Edit::new("crm", mar_3()))
        .unwrap();
    let sales = store.attribute_id("sales_cents").unwrap();
    let everyone = store.customers().clone();
    let total = audience::Summary::of(&store, sales, &everyone).unwrap().sum;
    let share = |tier: &str| {
        let q = Query::parse(&format!("tier:{tier}")).unwrap();
        let seg = store.select(&q, mar_3()).unwrap();
        let s = audience::Summary::of(&store, sales, seg.bitmap()).unwrap();
        (s.count, s.sum as f64 / total as f64)
    };
    let (s_count, s_share) = share("S");
    assert_eq!(s_count, 50, "5% of 1,000 leads");
    assert!(s_share > 0.40, "S brings {s_share:.3} of sales");
    assert_eq!(share("A").0, 150, "15%");
    assert_eq!(share("B").0 + share("C").0, 800, "B + C = 80%");
}

#[test]
fn seeds_weekly_b_to_a_movement() {
    let tiers = seed_tiers();
    let mut store = b2b_shop();
    let score = store.attribute_id("lead_score").unwrap();
    tiers.apply(&mut store, &Edit::new("crm", mar_3())).unwrap();
    let last_week = store.clone();

    // During the week: 36 of the 400 B leads (9%) reply fast and reach A, 8 B leads drop to
    // C, 2 S leads are erased ("forget me"), and 5 new leads arrive in B.
    for id in 200..236 {
        store.set_value(id, score, 70).unwrap();
    }
    for id in 236..244 {
        store.set_value(id, score, 5).unwrap();
    }
    store.erase_customer(0).unwrap();
    store.erase_customer(1).unwrap();
    for i in 0..5 {
        let c = store
            .add_customer(CustomerKey::member(format!("new{i}")).unwrap())
            .unwrap();
        store.set_value(c, score, 45).unwrap();
    }
    tiers
        .apply(&mut store, &Edit::new("crm", mar_3() + 7))
        .unwrap();

    let moves = Migration::between(
        &tiers.current(&last_week).unwrap(),
        &tiers.current(&store).unwrap(),
    );
    assert_eq!(moves.count("B", "A"), Some(36));
    let b_to_a = moves.rate("B", "A").unwrap();
    assert!((b_to_a - 0.09).abs() < 1e-12);
    // B2B follow-up guides' check: 8-10% of B should move up to A each week; under 5% is weak.
    assert!((0.08..=0.10).contains(&b_to_a), "healthy follow-up");
    assert_eq!(moves.count("B", "B"), Some(356));
    assert_eq!(moves.count("B", "C"), Some(8));
    assert_eq!(moves.count("S", "S"), Some(48));
    assert_eq!(moves.departures_from("S"), Some(2));
    assert_eq!(moves.arrivals_into("B"), Some(5));
    assert_eq!(moves.arrivals_into("A"), Some(0));
    assert_eq!(moves.rate("X", "A"), None);
    assert_eq!(
        moves.to_string(),
        "\
from    to       customers     rate
S       S               48    96.0%
S       (gone)           2     4.0%
A       A              150   100.0%
B       A               36     9.0%
B       B              356    89.0%
B       C                8     2.0%
C       C              400   100.0%
(new)   B                5"
    );
    // A weak week: 3% of B.
    let weak = Migration::between(&tiers.current(&last_week).unwrap(), &{
        let mut s = last_week.clone();
        for id in 200..212 {
            s.set_value(id, score, 70).unwrap();
        }
        tiers.assign(&s).unwrap()
    });
    assert!(
        weak.rate("B", "A").unwrap() < 0.05,
        "follow-up content is weak"
    );
}

#[test]
fn assignments_from_tags_and_segments() {
    let day = mar_3();
    let mut store = Store::new();
    let e = Edit::new("admin", day);
    let a = store.create_tag(&e, TagSpec::new("a")).unwrap();
    let b = store.create_tag(&e, TagSpec::new("b")).unwrap();
    for i in 0..6 {
        store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
    }
    store
        .add_tag_bulk(a, &[0, 1, 2].into_iter().collect(), day)
        .unwrap();
    store
        .add_tag_bulk(b, &[2, 3].into_iter().collect(), day)
        .unwrap();
    assert_eq!(
        Assignment::from_tags(&store, &[a, b])
            .unwrap_err()
            .to_string(),
        "groups \"a\" and \"b\" share 1 customer(s) (e.g. id 2); a customer can be in one group only"
    );
    store.remove_tag(2, b).unwrap();
    let groups = Assignment::from_tags(&store, &[a, b]).unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups.assigned().len(), 4);
    assert_eq!(
        Assignment::new(vec![
            ("x".into(), RoaringBitmap::new()),
            ("X ".into(), RoaringBitmap::new())
        ])
        .unwrap_err()
        .to_string(),
        "invalid argument: group \"X \" is named twice"
    );
}

#[test]
fn rfm_segments_can_become_tags() {
    let today = Day::from_ymd(2025, 1, 31).unwrap();
    let mut store = Store::new();
    let last = store
        .define_attribute("last_purchase", AttrKind::Day)
        .unwrap();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let money = store.define_attribute("monetary", AttrKind::Int).unwrap();
    for i in 0..50i32 {
        let c = store
            .add_customer(CustomerKey::member(format!("c{i}")).unwrap())
            .unwrap();
        if i % 10 == 9 {
            continue;
        }
        store.set_value(c, last, today - i * 5).unwrap();
        store.set_value(c, count, i64::from(50 - i) / 5).unwrap();
        store.set_value(c, money, i64::from(i) * 100).unwrap();
    }
    let scores = RfmConfig::default()
        .score(&store, &Context::new(today))
        .unwrap();
    let report = scores
        .segment_assignment()
        .write(&mut store, &Edit::new("crm", today), "rfm", scores.scope())
        .unwrap();
    assert_eq!(report.groups.len(), 11);
    assert_eq!(report.ungrouped, 5, "never purchased");
    for (name, bits) in scores.segments() {
        let tag = store.tag_id_in("rfm", name).unwrap();
        assert_eq!(store.members(tag).unwrap(), bits, "{name}");
    }
    // Two runs compared segment by segment.
    let next = RfmConfig::default()
        .score(&store, &Context::new(today + 60))
        .unwrap();
    let moves = Migration::between(&scores.segment_assignment(), &next.segment_assignment());
    let total: u64 = moves.counts.iter().flatten().sum();
    assert_eq!(total, 45);
    let r = Migration::between(
        &scores.score_assignment(audience::Measure::Recency),
        &next.score_assignment(audience::Measure::Recency),
    );
    assert_eq!(r.from, vec!["R1", "R2", "R3", "R4", "R5"]);
}
