//! The customer lifecycle of CRM tagging guides: new customer for days 0-30 after
//! the first purchase; days 31-90 "growth (high frequency)" (opens at least one message a
//! week) or "growth (low frequency)"; no second purchase after 90 days => drop "new
//! customer", add "expected to churn".

use audience::{
    AttrId, AttrKind, CustomerId, CustomerKey, Day, Edit, Lifecycle, Run, Store, TagId, TagSpec,
    Value,
};

use crate::support::day;

struct Shop {
    store: Store,
    first: AttrId,
    count: AttrId,
    open: AttrId,
    stages: [TagId; 4],
}

fn shop(lifecycle: &Lifecycle, customers: u32) -> Shop {
    let mut store = Store::new();
    let first = store
        .define_attribute("first_purchase_day", AttrKind::Day)
        .unwrap();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let open = store.define_attribute("last_open", AttrKind::Day).unwrap();
    let stages = lifecycle
        .create_tags(&mut store, &Edit::new("admin", Day::EPOCH))
        .unwrap();
    for i in 0..customers {
        store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
    }
    Shop {
        store,
        first,
        count,
        open,
        stages,
    }
}

impl Shop {
    fn buy(&mut self, c: CustomerId, day: Day) {
        let n = match self.store.value(c, self.count).unwrap() {
            Some(Value::Int(n)) => n,
            _ => 0,
        };
        if n == 0 {
            self.store.set_value(c, self.first, day).unwrap();
        }
        self.store.set_value(c, self.count, n + 1).unwrap();
    }

    fn open(&mut self, c: CustomerId, day: Day) {
        self.store.set_value(c, self.open, day).unwrap();
    }

    /// The stage tag names of a customer.
    fn stage(&self, c: CustomerId) -> Vec<String> {
        self.stages
            .iter()
            .filter(|t| self.store.members(**t).unwrap().contains(c))
            .map(|t| self.store.tag(*t).unwrap().name.clone())
            .collect()
    }
}

#[test]
fn stages_by_days_since_the_first_purchase() {
    let lifecycle = Lifecycle::default();
    let rules = lifecycle.rules();
    let mut shop = shop(&lifecycle, 4);
    let d0 = day("2025-01-01");
    // 0: one purchase, opens every week until day 60; 1: one purchase, never opens;
    // 2: a second purchase on day 60; 3: never buys.
    for c in 0..3 {
        shop.buy(c, d0);
    }
    let mut seen = Vec::new();
    for days in [0, 30, 31, 45, 60, 75, 90, 91, 120] {
        let today = d0 + days;
        if days <= 60 {
            shop.open(0, today - 2);
        }
        if days == 60 {
            shop.buy(2, today);
        }
        rules.run(&mut shop.store, &Run::new(today)).unwrap();
        seen.push((days, shop.stage(0), shop.stage(1), shop.stage(2)));
        assert!(shop.stage(3).is_empty());
    }
    let s = |x: &str| {
        if x.is_empty() {
            vec![]
        } else {
            vec![x.to_string()]
        }
    };
    let (new, high, low, churn) = (
        "new customer",
        "growth (high frequency)",
        "growth (low frequency)",
        "expected to churn",
    );
    let want = vec![
        (0, s(new), s(new), s(new)),
        (30, s(new), s(new), s(new)),
        (31, s(high), s(low), s(low)),
        (45, s(high), s(low), s(low)),
        (60, s(high), s(low), s(low)),
        // Customer 0's last open was on day 58: 17 days ago.
        (75, s(low), s(low), s(low)),
        (90, s(low), s(low), s(low)),
        // Day 91: no second purchase => expected to churn; a second purchase => the
        // lifecycle is over.
        (91, s(churn), s(churn), s("")),
        (120, s(churn), s(churn), s("")),
    ];
    assert_eq!(seen, want);

    // A second purchase after day 90 takes "expected to churn" away.
    shop.buy(1, d0 + 130);
    let report = rules.run(&mut shop.store, &Run::new(d0 + 134)).unwrap();
    assert!(shop.stage(1).is_empty());
    assert_eq!(report.rule("lifecycle: retained").unwrap().changed, 1);
}

#[test]
fn a_quarter_of_weekly_runs_reports_who_moved() {
    let lifecycle = Lifecycle::default();
    let rules = lifecycle.rules();
    let mut shop = shop(&lifecycle, 3);
    let d0 = day("2025-01-06");
    shop.buy(0, d0 - 1);
    shop.buy(1, d0 - 20);
    shop.buy(2, d0 - 60);
    shop.open(2, d0 - 1);
    let mut moved = Vec::new();
    for week in 0..14 {
        let report = rules
            .run(&mut shop.store, &Run::new(d0 + 7 * week))
            .unwrap();
        moved.push(report.changed);
    }
    // Week 0: everyone gets a stage; customer 2 turns low-frequency in week 1 (no open in
    // 7 days), churn-expected in week 5 (day 95); customer 1 turns growth in week 2 (day 34),
    // churn-expected in week 11 (day 97); customer 0 turns growth in week 5 (day 36),
    // churn-expected in week 13 (day 92).
    assert_eq!(moved, vec![3, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 1]);
}

#[test]
fn day_bounds_are_configurable() {
    let lifecycle = Lifecycle::default()
        .stages(14, 60)
        .unwrap()
        .open_window_days(3);
    let rules = lifecycle.rules();
    let mut shop = shop(&lifecycle, 1);
    let d0 = day("2025-01-01");
    shop.buy(0, d0);
    shop.open(0, d0 + 11);
    let mut seen = Vec::new();
    for days in [14, 15, 60, 61] {
        rules.run(&mut shop.store, &Run::new(d0 + days)).unwrap();
        seen.push(shop.stage(0));
    }
    assert_eq!(
        seen,
        vec![
            vec!["new customer"],
            // Last open 4 days ago: outside a 3-day window.
            vec!["growth (low frequency)"],
            vec!["growth (low frequency)"],
            vec!["expected to churn"],
        ]
    );

    // Stage bounds that cannot hold are refused where they are set.
    assert_eq!(
        Lifecycle::default().stages(90, 90).unwrap_err().to_string(),
        "invalid setting Lifecycle::stages: the new-customer stage (90 days) must end before the \
         growth stage (90 days)"
    );
    assert_eq!(
        Lifecycle::default().stages(1, 1).unwrap_err().to_string(),
        "invalid setting Lifecycle::stages: the new-customer stage (1 day) must end before the \
         growth stage (1 day)"
    );
}

#[test]
fn create_tags_is_idempotent_and_atomic() {
    let lifecycle = Lifecycle::default();
    let mut store = Store::new();
    let edit = Edit::new("admin", Day::EPOCH);
    // One of the four exists already (with a TTL the app chose).
    let new = store
        .create_tag(
            &edit,
            TagSpec::new("New Customer").dimension("stage").ttl_days(60),
        )
        .unwrap();
    let tags = lifecycle.create_tags(&mut store, &edit).unwrap();
    assert_eq!(tags[0], new);
    assert_eq!(store.tag_count(), 4);
    assert_eq!(lifecycle.create_tags(&mut store, &edit).unwrap(), tags);
    assert_eq!(store.tag_count(), 4);

    // Names the taxonomy would refuse are refused by the setter, before any store sees them.
    let long = "x".repeat(201);
    assert_eq!(
        Lifecycle::default()
            .stage_tags(
                "new customer",
                "growth (high frequency)",
                "growth (low frequency)",
                &long
            )
            .unwrap_err()
            .to_string(),
        format!(
            "invalid setting Lifecycle::stage_tags: \"{}\" is not a valid name: a name has at \
             most 200 characters, this one has 201",
            "x".repeat(64)
        )
    );
    assert_eq!(
        Lifecycle::default()
            .stage_tags("new", "growth", "GROWTH ", "churn")
            .unwrap_err()
            .to_string(),
        "invalid setting Lifecycle::stage_tags: two stages are named \"GROWTH \""
    );
    assert_eq!(
        Lifecycle::default().dimension(" ").unwrap_err().to_string(),
        "invalid setting Lifecycle::dimension: \" \" is not a valid name: a name must not be empty"
    );
    // Renamed stage tags in another dimension are created there.
    let renamed = Lifecycle::default()
        .dimension("lifecycle")
        .unwrap()
        .stage_tags("fresh", "warm", "cooling", "at risk")
        .unwrap();
    let tags = renamed.create_tags(&mut store, &edit).unwrap();
    assert_eq!(store.tag_count(), 8);
    assert_eq!(store.find_tag_in("lifecycle", "at risk"), Some(tags[3]));
}

#[cfg(feature = "serde")]
#[test]
fn the_preset_is_data() {
    let lifecycle = Lifecycle::default();
    let json = serde_json::to_string(&lifecycle).unwrap();
    let back: Lifecycle = serde_json::from_str(&json).unwrap();
    assert_eq!(back, lifecycle);
    let partial: Lifecycle = serde_json::from_str(r#"{"new_days": 21}"#).unwrap();
    assert_eq!(partial, Lifecycle::default().stages(21, 90).unwrap());
    // A serialised preset goes through the same checks.
    assert_eq!(
        serde_json::from_str::<Lifecycle>(r#"{"new_days": 120}"#)
            .unwrap_err()
            .to_string(),
        "invalid setting Lifecycle::stages: the new-customer stage (120 days) must end before \
         the growth stage (90 days)"
    );
    let rules = lifecycle.rules();
    let text = serde_json::to_string(&rules).unwrap();
    assert_eq!(
        serde_json::from_str::<audience::RuleSet>(&text).unwrap(),
        rules
    );
    let names: Vec<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "lifecycle: new customer",
            "lifecycle: growth (high frequency)",
            "lifecycle: growth (low frequency)",
            "lifecycle: expected to churn",
            "lifecycle: retained"
        ]
    );
    assert_eq!(
        rules.rules[1].when.to_string(),
        "first_purchase_day BEFORE 30d AND first_purchase_day WITHIN 90d AND last_open WITHIN 7d"
    );
}

#[test]
fn missing_attributes_name_the_setting() {
    let today = day("2025-04-01");
    let mut store = Store::new();
    store
        .define_attribute("first_purchase_day", AttrKind::Day)
        .unwrap();
    store
        .define_attribute("purchase_count", AttrKind::Day)
        .unwrap();
    let lifecycle = Lifecycle::default();
    lifecycle
        .create_tags(&mut store, &Edit::new("admin", today))
        .unwrap();
    assert_eq!(
        lifecycle
            .run(&mut store, &Run::new(today))
            .unwrap_err()
            .to_string(),
        "attribute \"purchase_count\" holds days, but Lifecycle::attributes needs a number \
         attribute (set Lifecycle::attributes(..) to one)"
    );
    store.define_attribute("orders", AttrKind::Int).unwrap();
    let renamed = lifecycle
        .clone()
        .attributes("first_purchase_day", "orders", "last_opn")
        .unwrap();
    assert_eq!(
        renamed
            .run(&mut store, &Run::new(today))
            .unwrap_err()
            .to_string(),
        "unknown attribute \"last_opn\" (Lifecycle::attributes reads it; set \
         Lifecycle::attributes(..) to your column)"
    );
    store.define_attribute("last_open", AttrKind::Day).unwrap();
    let fixed = lifecycle
        .attributes("first_purchase_day", "orders", "last_open")
        .unwrap();
    let report = fixed.run(&mut store, &Run::new(today)).unwrap();
    assert_eq!(report.rules.len(), 5);
}
