//! The dynamic rules of CRM tagging guides, literally, on hand-built stores with explicit days
//! (`../shared/SEEDS.md`, sections 2 and 6).

use audience::query::{all, attr, tag};
use audience::{
    AttrId, AttrKind, Change, CustomerId, CustomerKey, Day, Edit, Query, RoaringBitmap, Rule,
    RuleSet, Run, Store, TagId, TagKind, TagSpec, TagTemplate, Value, dimensions,
};

use crate::support::{bits, day};

fn customers(store: &mut Store, n: u32) {
    for i in 0..n {
        store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
    }
}

fn create(store: &mut Store, name: &str, dimension: &str) -> TagId {
    let e = Edit::new("admin", day("2024-01-01"));
    store
        .create_tag(&e, TagSpec::new(name).dimension(dimension))
        .unwrap()
}

fn members(store: &Store, name: &str) -> RoaringBitmap {
    store.members(store.tag_id(name).unwrap()).unwrap().clone()
}

/// The names of a customer's tags, sorted.
fn tag_names(store: &Store, c: CustomerId) -> Vec<String> {
    let mut names: Vec<String> = store
        .tags_of(c)
        .unwrap()
        .into_iter()
        .map(|t| store.tag(t).unwrap().name.clone())
        .collect();
    names.sort();
    names
}

fn set_day(store: &mut Store, c: CustomerId, a: AttrId, d: Day) {
    store.set_value(c, a, Value::Day(d)).unwrap();
}

// ---------------------------------------------------------------------------------------
// "Purchased more than 3 times => high value customer."

fn high_value() -> Rule {
    Rule::new("high value", Query::parse("purchase_count > 3").unwrap()).add("high value customer")
}

#[test]
fn more_than_3_purchases_is_high_value() {
    let today = day("2025-01-06");
    let mut store = Store::new();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    create(
        &mut store,
        "high value customer",
        dimensions::PURCHASING_POWER,
    );
    customers(&mut store, 6);
    for (c, n) in [(0, 0), (1, 1), (2, 3), (3, 4), (4, 7)] {
        store.set_value(c, count, n).unwrap();
    }
    let rules = RuleSet::new().rule(high_value());
    let report = rules.run(&mut store, &Run::new(today)).unwrap();
    assert_eq!(members(&store, "high value customer"), bits([3, 4]));
    let r = report.rule("high value").unwrap();
    assert_eq!((r.matched, r.changed), (2, 2));
    assert_eq!(r.added[0].name, "high value customer");
    assert_eq!(r.added[0].customers, 2);
    assert!(r.removed.is_empty());
    assert_eq!((report.considered, report.changed), (6, 2));

    // A week later customer 1 has bought 4 times: only they are added; the others keep the
    // day they were first assigned.
    store.set_value(1, count, 4).unwrap();
    let report = rules.run(&mut store, &Run::new(today + 7)).unwrap();
    assert_eq!(report.rules[0].added[0].customers, 1);
    assert_eq!(report.rules[0].matched, 3);
    let hv = store.tag_id("high value customer").unwrap();
    assert_eq!(store.assigned_day(3, hv).unwrap(), Some(today));
    assert_eq!(store.assigned_day(1, hv).unwrap(), Some(today + 7));
}

// ---------------------------------------------------------------------------------------
// "No message read for 14 days => remove 'highly active', add 'needs attention'."

#[test]
fn no_read_for_14_days_needs_attention() {
    let today = day("2025-01-06");
    let mut store = Store::new();
    let last_read = store.define_attribute("last_read", AttrKind::Day).unwrap();
    let active = create(&mut store, "highly active", dimensions::ACTIVITY);
    create(&mut store, "needs attention", dimensions::ACTIVITY);
    customers(&mut store, 5);
    // 0: read 3 days ago; 1: exactly 14 days ago (still within 14 days); 2: 15 days ago;
    // 3: never read; 4: 30 days ago and not highly active.
    set_day(&mut store, 0, last_read, today - 3);
    set_day(&mut store, 1, last_read, today - 14);
    set_day(&mut store, 2, last_read, today - 15);
    set_day(&mut store, 4, last_read, today - 30);
    store
        .add_tag_bulk(active, &bits([0, 1, 2, 3]), today - 20)
        .unwrap();

    // "No read in 14 days" literally: customers who never read have not read for 14 days
    // either. (`last_read BEFORE 14d` is the variant that leaves them out.)
    let rules = RuleSet::new().rule(
        Rule::new(
            "needs attention",
            Query::parse("NOT last_read WITHIN 14d").unwrap(),
        )
        .remove("highly active")
        .add("needs attention"),
    );
    let report = rules.run(&mut store, &Run::new(today)).unwrap();
    assert_eq!(members(&store, "highly active"), bits([0, 1]));
    assert_eq!(members(&store, "needs attention"), bits([2, 3, 4]));
    let r = &report.rules[0];
    assert_eq!((r.matched, r.changed), (3, 3));
    assert_eq!(
        (r.removed[0].name.as_str(), r.removed[0].customers),
        ("highly active", 2)
    );
    assert_eq!(
        (r.added[0].name.as_str(), r.added[0].customers),
        ("needs attention", 3)
    );
}

// ---------------------------------------------------------------------------------------
// "Order succeeded => remove 'abandoned cart' (if present), add 'purchased-<date>+<product>'."

fn on_order() -> RuleSet {
    RuleSet::new().rule(
        Rule::new("order succeeded", all())
            .remove("abandoned cart")
            .add_template(TagTemplate::new("purchased-{date}+{product}").dimension("stage")),
    )
}

#[test]
fn order_succeeded_event_path() {
    let d = day("2024-06-18");
    let mut store = Store::new();
    let cart = create(&mut store, "abandoned cart", dimensions::STAGE);
    customers(&mut store, 4);
    store.add_tag_bulk(cart, &bits([0, 1, 2]), d - 2).unwrap();
    let log_before = store.change_log().len();

    // Customer 1's order for a lipstick succeeded.
    let run = Run::new(d).customer(1).var("product", "lipstick");
    let report = on_order().run(&mut store, &run).unwrap();
    let purchased = store
        .tag_id_in("stage", "purchased-2024-06-18+lipstick")
        .unwrap();
    let info = store.tag(purchased).unwrap();
    assert_eq!(info.kind, TagKind::Dynamic);
    assert_eq!(info.dimension, "stage");
    assert_eq!(store.members(purchased).unwrap(), &bits([1]));
    assert_eq!(store.members(cart).unwrap(), &bits([0, 2]));
    assert_eq!(tag_names(&store, 1), vec!["purchased-2024-06-18+lipstick"]);
    // Created on demand, in the change log.
    let log = &store.change_log()[log_before..];
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].actor, "rules");
    assert_eq!(
        log[0].reason.as_deref(),
        Some("rule \"order succeeded\": template \"purchased-{date}+{product}\"")
    );
    assert!(
        matches!(&log[0].change, Change::Created { name, .. } if name == "purchased-2024-06-18+lipstick")
    );
    assert_eq!(report.considered, 1);
    assert_eq!(report.created.len(), 1);
    assert_eq!(report.created[0].tag, purchased);
    let r = &report.rules[0];
    assert_eq!((r.matched, r.changed), (1, 1));
    assert_eq!(
        (r.removed[0].name.as_str(), r.removed[0].customers),
        ("abandoned cart", 1)
    );
    assert_eq!(r.added[0].customers, 1);
    assert_eq!(
        report.to_string(),
        "rules on 2024-06-18: 1 customer considered, 1 changed\n\
         \x20 rule               matched    changed  changes\n\
         \x20 order succeeded          1          1  -abandoned cart 1, +purchased-2024-06-18+lipstick 1\n\
         \x20 created tag \"purchased-2024-06-18+lipstick\"\n"
    );
    #[cfg(feature = "serde")]
    {
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(
            serde_json::from_str::<audience::RunReport>(&json).unwrap(),
            report
        );
    }

    // A second lipstick order the same day, by a customer without an abandoned cart: the tag
    // exists now. Another product gets its own tag.
    let report = on_order()
        .run(
            &mut store,
            &Run::new(d).customer(3).var("product", "lipstick"),
        )
        .unwrap();
    assert!(report.created.is_empty());
    assert!(report.rules[0].removed.is_empty());
    assert_eq!(store.members(purchased).unwrap(), &bits([1, 3]));
    on_order()
        .run(
            &mut store,
            &Run::new(d + 1).customer(0).var("product", "口紅"),
        )
        .unwrap();
    assert_eq!(
        tag_names(&store, 0),
        vec!["purchased-2024-06-19+口紅".to_string()]
    );
    assert_eq!(store.members(cart).unwrap(), &bits([2]));

    // Without the product nothing happens at all.
    let tags_before = store.tag_count();
    let e = on_order()
        .run(&mut store, &Run::new(d).customer(2))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "rule \"order succeeded\": tag template \"purchased-{date}+{product}\" needs the variable \"product\": pass it with the run"
    );
    assert_eq!(store.tag_count(), tags_before);
    assert_eq!(store.members(cart).unwrap(), &bits([2]));
}

#[test]
fn event_path_runs_weekly_rules_for_the_changed_customer_only() {
    let today = day("2025-01-06");
    let mut store = Store::new();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    create(
        &mut store,
        "high value customer",
        dimensions::PURCHASING_POWER,
    );
    customers(&mut store, 3);
    store.set_value(0, count, 9).unwrap();
    // Customer 2 places a fourth order: the app updates the count and runs the rules for
    // them; customer 0 waits for the weekly batch.
    store.set_value(2, count, 4).unwrap();
    let changed = bits([2]);
    let rules = RuleSet::new().rule(high_value());
    let report = rules
        .run(&mut store, &Run::new(today).within(&changed))
        .unwrap();
    assert_eq!(members(&store, "high value customer"), bits([2]));
    assert_eq!((report.considered, report.rules[0].matched), (1, 1));
    rules.run(&mut store, &Run::new(today)).unwrap();
    assert_eq!(members(&store, "high value customer"), bits([0, 2]));
}

// ---------------------------------------------------------------------------------------
// "No marketing message opened for over 60 days => remove every positive tag (e.g. 'active
// customer') and add 'at risk of churn'."

const POSITIVE: [&str; 3] = [
    "active customer",
    "highly active",
    "high potential - follow up",
];

#[test]
fn no_open_for_60_days_removes_every_positive_tag() {
    let today = day("2025-03-01");
    let mut store = Store::new();
    let last_open = store.define_attribute("last_open", AttrKind::Day).unwrap();
    for t in POSITIVE {
        create(&mut store, t, dimensions::ACTIVITY);
    }
    let vip = create(&mut store, "vip", dimensions::PURCHASING_POWER);
    create(&mut store, "at risk of churn", dimensions::ACTIVITY);
    customers(&mut store, 4);
    let tag = |store: &Store, n: &str| store.tag_id(n).unwrap();
    let active = tag(&store, "active customer");
    let highly = tag(&store, "highly active");
    let potential = tag(&store, "high potential - follow up");
    // 0: opened 10 days ago; 1: 61 days ago; 2: never; 3: exactly 60 days ago.
    set_day(&mut store, 0, last_open, today - 10);
    set_day(&mut store, 1, last_open, today - 61);
    set_day(&mut store, 3, last_open, today - 60);
    for c in 0..4 {
        store.add_tag(c, active, today - 90).unwrap();
    }
    store.add_tag(0, highly, today - 90).unwrap();
    store.add_tag(1, potential, today - 90).unwrap();
    store.add_tag(1, vip, today - 90).unwrap();
    store.add_tag(2, highly, today - 90).unwrap();

    let rules = RuleSet::new().group("positive", POSITIVE).rule(
        Rule::new("at risk", Query::parse("NOT last_open WITHIN 60d").unwrap())
            .remove_group("positive")
            .add("at risk of churn"),
    );
    let report = rules.run(&mut store, &Run::new(today)).unwrap();
    assert_eq!(
        tag_names(&store, 0),
        vec!["active customer", "highly active"]
    );
    assert_eq!(tag_names(&store, 1), vec!["at risk of churn", "vip"]);
    assert_eq!(tag_names(&store, 2), vec!["at risk of churn"]);
    assert_eq!(tag_names(&store, 3), vec!["active customer"]);
    let r = &report.rules[0];
    assert_eq!((r.matched, r.changed), (2, 2));
    let removed: Vec<(&str, u64)> = r
        .removed
        .iter()
        .map(|t| (t.name.as_str(), t.customers))
        .collect();
    assert_eq!(
        removed,
        vec![
            ("active customer", 2),
            ("highly active", 1),
            ("high potential - follow up", 1)
        ]
    );
}

#[test]
fn removing_a_whole_dimension_keeps_the_tag_the_rule_adds() {
    let today = day("2025-03-01");
    let mut store = Store::new();
    let last_open = store.define_attribute("last_open", AttrKind::Day).unwrap();
    for t in POSITIVE {
        create(&mut store, t, dimensions::ACTIVITY);
    }
    let risk = create(&mut store, "at risk of churn", dimensions::ACTIVITY);
    let old = create(&mut store, "spring limited", dimensions::ACTIVITY);
    let vip = create(&mut store, "vip", dimensions::PURCHASING_POWER);
    customers(&mut store, 2);
    set_day(&mut store, 0, last_open, today - 100);
    set_day(&mut store, 1, last_open, today - 100);
    for t in POSITIVE {
        let id = store.tag_id(t).unwrap();
        store.add_tag(0, id, today - 200).unwrap();
    }
    store.add_tag(0, vip, today - 200).unwrap();
    store.add_tag(0, old, today - 200).unwrap();
    store.add_tag(1, risk, today - 30).unwrap();
    store.archive_tag(&Edit::new("admin", today), old).unwrap();

    let rules = RuleSet::new().rule(
        Rule::new("at risk", attr("last_open").within_days(60).not())
            .remove_dimension("activity")
            .add("at risk of churn"),
    );
    let report = rules.run(&mut store, &Run::new(today)).unwrap();
    // Archived tags are frozen: the dimension selector leaves them be.
    assert_eq!(
        tag_names(&store, 0),
        vec!["at risk of churn", "spring limited", "vip"]
    );
    // Already at risk: keeps the tag and the day it was assigned.
    assert_eq!(tag_names(&store, 1), vec!["at risk of churn"]);
    assert_eq!(store.assigned_day(1, risk).unwrap(), Some(today - 30));
    assert_eq!(report.rules[0].changed, 1);
    assert_eq!(report.rules[0].added[0].customers, 1);
}

// ---------------------------------------------------------------------------------------
// Bulk maintenance: "add 'high potential - follow up' to everyone who interacted in the last 30
// days but has no 'ordered' tag (say 350 people), and in the same operation remove 'silent
// customer'."

#[test]
fn bulk_high_potential_350_people() {
    let today = day("2025-01-06");
    let mut store = Store::new();
    let last = store
        .define_attribute("last_interaction", AttrKind::Day)
        .unwrap();
    let ordered = create(&mut store, "ordered", dimensions::STAGE);
    let silent = create(&mut store, "silent customer", dimensions::ACTIVITY);
    create(&mut store, "high potential - follow up", dimensions::STAGE);
    customers(&mut store, 1000);
    // 0..500 interacted within the last 30 days, 500..1000 31 to 200 days ago.
    for c in 0..1000u32 {
        let ago = if c < 500 {
            (c % 31) as i32
        } else {
            31 + (c % 170) as i32
        };
        set_day(&mut store, c, last, today - ago);
    }
    store
        .add_tag_bulk(ordered, &bits((0..150).chain(600..700)), today - 40)
        .unwrap();
    store
        .add_tag_bulk(silent, &bits((100..400).chain(700..800)), today - 40)
        .unwrap();

    let rules = RuleSet::new().rule(
        Rule::new(
            "follow up",
            Query::parse("last_interaction WITHIN 30d AND NOT ordered").unwrap(),
        )
        .add("high potential - follow up")
        .remove("silent customer"),
    );
    let before = store.clone();
    let preview = rules.dry_run(&store, &Run::new(today)).unwrap();
    assert!(preview.dry_run);
    assert_eq!(
        members(&store, "silent customer"),
        members(&before, "silent customer")
    );
    assert!(members(&store, "high potential - follow up").is_empty());

    let report = rules.run(&mut store, &Run::new(today)).unwrap();
    assert!(!report.dry_run);
    assert_eq!(report.rules, preview.rules);
    let r = &report.rules[0];
    assert_eq!(r.matched, 350);
    assert_eq!(r.added[0].customers, 350);
    assert_eq!(r.removed[0].customers, 250);
    assert_eq!(
        members(&store, "high potential - follow up"),
        bits(150..500)
    );
    assert_eq!(
        members(&store, "silent customer"),
        bits((100..150).chain(700..800))
    );
    assert_eq!(
        report.to_string(),
        "rules on 2025-01-06: 1000 customers considered, 350 changed\n\
         \x20 rule         matched    changed  changes\n\
         \x20 follow up        350        350  -silent customer 250, +high potential - follow up 350\n"
    );
}

// ---------------------------------------------------------------------------------------
// One customer across eleven weekly runs of those rules.

fn weekly_rules() -> RuleSet {
    RuleSet::new()
        .group("positive", POSITIVE)
        // Listed before the rule it depends on: the run orders them.
        .rule(
            Rule::new(
                "back from risk",
                tag("at risk of churn").and(attr("last_open").within_days(7)),
            )
            .remove("at risk of churn"),
        )
        .rule(
            Rule::new("highly active", attr("last_read").within_days(7))
                .add("highly active")
                .remove("needs attention"),
        )
        .rule(
            Rule::new("needs attention", attr("last_read").within_days(14).not())
                .remove("highly active")
                .add("needs attention"),
        )
        .rule(high_value())
        .rule(
            Rule::new("at risk", attr("last_open").within_days(60).not())
                .remove_group("positive")
                .add("at risk of churn"),
        )
}

fn weekly_store() -> (Store, [AttrId; 3]) {
    let mut store = Store::new();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let read = store.define_attribute("last_read", AttrKind::Day).unwrap();
    let open = store.define_attribute("last_open", AttrKind::Day).unwrap();
    for t in POSITIVE {
        create(&mut store, t, dimensions::ACTIVITY);
    }
    create(&mut store, "needs attention", dimensions::ACTIVITY);
    create(&mut store, "at risk of churn", dimensions::ACTIVITY);
    create(
        &mut store,
        "high value customer",
        dimensions::PURCHASING_POWER,
    );
    customers(&mut store, 2);
    (store, [count, read, open])
}

#[test]
fn a_customer_across_weekly_runs() {
    let d0 = day("2025-01-06");
    let (mut store, [count, read, open]) = weekly_store();
    let rules = weekly_rules();
    assert_eq!(
        rules.order(&store, &Run::new(d0)).unwrap(),
        vec![
            "highly active",
            "needs attention",
            "high value",
            "at risk",
            "back from risk"
        ]
    );
    let c = 0;
    // Customer 1 reads and opens every week and never changes.
    let steady = |store: &mut Store, today: Day| {
        set_day(store, 1, read, today - 1);
        set_day(store, 1, open, today - 1);
    };
    store.set_value(c, count, 1).unwrap();
    set_day(&mut store, c, read, d0 - 1);
    set_day(&mut store, c, open, d0 - 1);

    let mut journey = Vec::new();
    for week in 0..11 {
        let today = d0 + 7 * week;
        steady(&mut store, today);
        match week {
            // Buys a fourth time and keeps reading.
            1 => {
                store.set_value(c, count, 4).unwrap();
                set_day(&mut store, c, read, today - 1);
            }
            // Comes back: reads and opens again.
            10 => {
                set_day(&mut store, c, read, today - 1);
                set_day(&mut store, c, open, today - 1);
            }
            _ => {}
        }
        let report = weekly_rules().run(&mut store, &Run::new(today)).unwrap();
        journey.push((week, tag_names(&store, c)));
        assert_eq!(tag_names(&store, 1), vec!["highly active"]);
        if week == 9 {
            let moved: Vec<(&str, u64)> = report
                .rules
                .iter()
                .map(|r| (r.rule.as_str(), r.changed))
                .collect();
            assert_eq!(
                moved,
                vec![
                    ("highly active", 0),
                    ("needs attention", 0),
                    ("high value", 0),
                    ("at risk", 1),
                    ("back from risk", 0)
                ]
            );
        }
    }
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let hv_na = s(&["high value customer", "needs attention"]);
    assert_eq!(
        journey,
        vec![
            (0, s(&["highly active"])),
            (1, s(&["high value customer", "highly active"])),
            // Last read 8 days ago: no longer "within 7 days", not yet 14 days without.
            (2, s(&["high value customer", "highly active"])),
            // 15 days without a read.
            (3, hv_na.clone()),
            (4, hv_na.clone()),
            (5, hv_na.clone()),
            (6, hv_na.clone()),
            (7, hv_na.clone()),
            // Last open 57 days ago: not yet over 60.
            (8, hv_na.clone()),
            // 64 days without an open.
            (
                9,
                s(&["at risk of churn", "high value customer", "needs attention"])
            ),
            (10, s(&["high value customer", "highly active"])),
        ]
    );
    // "high value customer" kept the day it was first assigned through every run.
    let hv = store.tag_id("high value customer").unwrap();
    assert_eq!(store.assigned_day(c, hv).unwrap(), Some(d0 + 7));
}
