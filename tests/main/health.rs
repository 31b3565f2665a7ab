//! The tag health report on small hand-built stores with explicit days: every flag at its
//! boundary, the tagging guides' examples literally, the taxonomy numbers, the order of findings
//! and the exact text of the report.

use audience::health::{
    AgeProfile, Finding, HealthConfig, HealthReport, Severity, TagCountBand, TagFlag,
};
use audience::{
    AttrId, AttrKind, CustomerKey, Day, Edit, NamingRules, Policy, Query, RoaringBitmap, Store,
    TagId, TagSpec,
};

/// A shop of `n` customers (`m0`, `m1`...) whose last interaction was yesterday.
struct Shop {
    store: Store,
    today: Day,
    last: AttrId,
}

impl Shop {
    fn new(n: u32) -> Shop {
        let today = Day::from_ymd(2025, 3, 3).unwrap();
        let mut store = Store::new();
        let ids = store
            .ensure_customers((0..n).map(|i| CustomerKey::member(format!("m{i}")).unwrap()))
            .unwrap();
        let last = store
            .define_attribute("last_interaction", AttrKind::Day)
            .unwrap();
        let days = vec![audience::Value::Day(today - 1); ids.len()];
        store.set_values(last, &ids, &days).unwrap();
        Shop { store, today, last }
    }

    /// A tag created 100 days ago and used yesterday, whose `members` were assigned
    /// yesterday.
    fn tag(
        &mut self,
        name: &str,
        dimension: &str,
        members: impl IntoIterator<Item = u32>,
    ) -> TagId {
        self.tag_full(name, dimension, members, 100, Some(1))
    }

    /// A tag created `created_ago` days ago, last used `used_ago` days ago.
    fn tag_full(
        &mut self,
        name: &str,
        dimension: &str,
        members: impl IntoIterator<Item = u32>,
        created_ago: i32,
        used_ago: Option<i32>,
    ) -> TagId {
        let edit = Edit::new("mei", self.today - created_ago);
        let id = self
            .store
            .create_tag(&edit, TagSpec::new(name).dimension(dimension))
            .unwrap();
        let set: RoaringBitmap = members.into_iter().collect();
        self.store.add_tag_bulk(id, &set, self.today - 1).unwrap();
        if let Some(ago) = used_ago {
            self.store.record_use(id, self.today - ago).unwrap();
        }
        id
    }

    fn idle(&mut self, customer: u32, days: i32) {
        self.store
            .set_value(customer, self.last, self.today - days)
            .unwrap();
    }

    fn report(&self) -> HealthReport {
        self.report_with(&HealthConfig::default())
    }

    fn report_with(&self, config: &HealthConfig) -> HealthReport {
        HealthReport::build(&self.store, self.today, config).unwrap()
    }
}

fn flags(report: &HealthReport, tag: TagId) -> Vec<TagFlag> {
    report.tag(tag).unwrap().flags.clone()
}

#[test]
fn a_92_percent_regular_customer_tag_is_oversized_with_a_split() {
    // CRM tagging guides: "regular customer" carried by 92% of customers: split it into at least
    // three finer tags (low / medium / high interaction).
    let mut shop = Shop::new(100);
    let regular = shop.tag("regular customer", "loyalty", 0..92);
    let high = shop.tag("activity/high", "activity", 0..30);
    let medium = shop.tag("activity/medium", "activity", 30..60);
    let low = shop.tag("activity/low", "activity", 60..92);
    // A dimension that covers too little of it, and one that cuts it into one part only.
    shop.tag("interest/cosmetics", "interests", 0..20);
    shop.tag("interest/baby", "interests", 90..100);
    shop.tag("channel/web", "channel", 0..100);
    let forty = shop.tag("forty percent", "loyalty", 0..40);
    let forty_one = shop.tag("forty-one percent", "loyalty", 0..41);

    let report = shop.report();
    let t = report.tag(regular).unwrap();
    assert_eq!((t.members, t.share), (92, 0.92));
    let Some(TagFlag::Oversized { share, split }) = t.flags.first() else {
        panic!("{:?}", t.flags)
    };
    assert_eq!(*share, 0.92);
    let split = split.as_ref().unwrap();
    assert_eq!(split.dimension, "activity");
    assert_eq!(split.covered, 92);
    let parts: Vec<(TagId, u64)> = split.parts.iter().map(|p| (p.tag, p.members)).collect();
    assert_eq!(parts, vec![(low, 32), (high, 30), (medium, 30)]);
    assert_eq!(split.parts[0].name, "activity/low");
    // The boundary: more than 40%.
    assert!(flags(&report, forty).is_empty());
    assert!(matches!(
        flags(&report, forty_one)[..],
        [TagFlag::Oversized { share: 0.41, .. }]
    ));
    // The finding, at the top.
    assert_eq!(
        report.findings.first(),
        Some(&Finding::Oversized {
            tag: report
                .tag(shop.store.tag_id("channel/web").unwrap())
                .unwrap()
                .tag,
            share: 1.0
        })
    );
    assert!(report.findings.contains(&Finding::Oversized {
        tag: regular,
        share: 0.92
    }));
    // The threshold is configurable.
    let report = shop.report_with(&HealthConfig::default().oversized_share(0.95).unwrap());
    assert!(flags(&report, regular).is_empty());
}

#[test]
fn the_split_prefers_a_clean_partition() {
    // Activity cuts the tag into three disjoint parts covering 90% of it (score 2.7);
    // interests into four more even-looking but overlapping parts covering 74% (score
    // 2.4). Evenness alone would pick interests.
    let mut shop = Shop::new(100);
    let big = shop.tag("regular customer", "loyalty", 0..90);
    for (i, range) in [0..27, 27..54, 54..81].into_iter().enumerate() {
        shop.tag(&format!("activity/{i}"), "activity", range);
    }
    for (i, range) in [0..22, 22..45, 45..67, 0..10].into_iter().enumerate() {
        shop.tag(&format!("interest/{i}"), "interests", range);
    }
    let report = shop.report();
    let [
        TagFlag::Oversized {
            split: Some(split), ..
        },
    ] = &flags(&report, big)[..]
    else {
        panic!("{:?}", flags(&report, big))
    };
    assert_eq!(split.dimension, "activity");
    assert_eq!(split.covered, 81);
}

#[test]
fn long_lists_of_findings_are_shortened_in_the_text() {
    let mut shop = Shop::new(10);
    for i in 0..12 {
        shop.tag(&format!("empty {i:02}"), "general", []);
    }
    let report = shop.report();
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| matches!(f, Finding::Empty { .. }))
            .count(),
        12
    );
    let text = report.to_string();
    assert!(text.contains("  medium \"empty 09\" has no members\n         ... and 2 more like these (see the tags below)\n"), "{text}");
    assert!(!text.contains("\"empty 10\" has no members"));
}

#[test]
fn no_split_without_a_dimension_that_cuts_the_tag() {
    let mut shop = Shop::new(10);
    let all = shop.tag("everyone", "general", 0..10);
    shop.tag("channel/web", "channel", 0..3); // covers 3 of 10
    shop.tag("channel/app", "channel", 3..4);
    shop.tag("stage/only", "stage", 0..10); // one part only
    let report = shop.report();
    assert_eq!(
        flags(&report, all),
        vec![TagFlag::Oversized {
            share: 1.0,
            split: None
        }]
    );
}

#[test]
fn spring_limited_unused_for_31_days_is_silent() {
    // CRM tagging guides: "spring limited", not used by any send for over 30 days.
    let mut shop = Shop::new(100);
    let today = shop.today;
    let spring = shop.tag_full("spring limited", "campaign", 0..15, 100, Some(31));
    let summer = shop.tag_full("summer limited", "campaign", 5..20, 100, Some(30));
    // Never used: counted from the creation day.
    let old = shop.tag_full("never used (31 days old)", "campaign", 0..12, 31, None);
    let new = shop.tag_full("never used (30 days old)", "campaign", 0..12, 30, None);
    let winter = shop.tag_full("winter limited", "campaign", 0..12, 400, Some(300));
    shop.store
        .archive_tag(&Edit::new("mei", today), winter)
        .unwrap();
    // An earlier use does not move the last one back.
    shop.store.record_use(summer, today - 90).unwrap();

    let report = shop.report();
    assert_eq!(
        flags(&report, spring),
        vec![TagFlag::Silent { idle_days: 31 }]
    );
    assert_eq!(report.tag(spring).unwrap().last_used, Some(today - 31));
    assert_eq!(report.tag(summer).unwrap().idle_days, 30);
    assert!(flags(&report, summer).is_empty());
    assert_eq!(report.tag(old).unwrap().last_used, None);
    assert_eq!(flags(&report, old), vec![TagFlag::Silent { idle_days: 31 }]);
    assert!(flags(&report, new).is_empty());
    // Archived tags are retired: no flags.
    assert!(report.tag(winter).unwrap().archived);
    assert_eq!(report.tag(winter).unwrap().idle_days, 300);
    assert!(flags(&report, winter).is_empty());
    assert!(report.findings.contains(&Finding::Silent {
        tag: spring,
        idle_days: 31
    }));
    // Configurable.
    let report = shop.report_with(&HealthConfig::default().silent_days(31));
    assert!(flags(&report, spring).is_empty());
}

#[test]
fn vips_idle_for_181_days_are_stale_and_selectable() {
    // CRM tagging guides: "VIP" customers whose last interaction is over 180 days ago are sleeping
    // VIPs (about 10% of VIPs), to move to "historical stock, to reactivate".
    let mut shop = Shop::new(100);
    let vip = shop.tag("VIP", "purchasing_power", 0..10);
    let loyal = shop.tag("loyal", "purchasing_power", 10..30);
    shop.idle(0, 181); // sleeping
    shop.idle(1, 180); // not yet: exactly 180 days
    shop.idle(12, 400); // 1 of 20 loyal customers: 5%, below the flag's 10%
    let no_value = 2;
    shop.store.clear_value(no_value, shop.last).unwrap();

    let report = shop.report();
    let expected_query = "VIP AND last_interaction BEFORE 180d";
    assert_eq!(report.tag(vip).unwrap().stale_members, Some(1));
    assert_eq!(
        flags(&report, vip),
        vec![TagFlag::Stale {
            members: 1,
            share: 0.1,
            query: expected_query.into()
        }]
    );
    assert_eq!(report.tag(loyal).unwrap().stale_members, Some(1));
    assert!(flags(&report, loyal).is_empty());
    // The query and the segment select exactly the counted customers.
    let config = HealthConfig::default();
    let sleeping = audience::health::stale_members(&shop.store, vip, shop.today, &config).unwrap();
    assert_eq!(sleeping.iter().collect::<Vec<_>>(), vec![0]);
    let selected = shop
        .store
        .select(&Query::parse(expected_query).unwrap(), shop.today)
        .unwrap();
    assert_eq!(selected, sleeping);
    // The tagging guides' move to "historical stock", on that segment.
    let stock = shop.tag("historical stock", "purchasing_power", []);
    let moved = shop
        .store
        .move_tag_bulk(sleeping.bitmap(), vip, stock, shop.today)
        .unwrap();
    assert_eq!(moved, (1, 1));

    // A lower share flags the loyal tag too; a name that needs quoting is quoted.
    let mut shop = Shop::new(100);
    let vip = shop.tag("VIP клиент", "power", 0..20);
    shop.idle(3, 200);
    let report = shop.report_with(&HealthConfig::default().stale_share(0.05).unwrap());
    assert!(matches!(
        &flags(&report, vip)[..],
        [TagFlag::Stale { members: 1, query, .. }] if query == "\"VIP клиент\" AND last_interaction BEFORE 180d"
    ));
}

#[test]
fn stale_query_qualifies_names_that_need_it() {
    let mut shop = Shop::new(30);
    let power_vip = shop.tag("vip", "power", 0..10);
    let channel_vip = shop.tag("vip", "channel", 10..20);
    shop.idle(0, 365);
    shop.idle(10, 365);
    let report = shop.report();
    for (tag, query) in [
        (power_vip, "power:vip AND last_interaction BEFORE 180d"),
        (channel_vip, "channel:vip AND last_interaction BEFORE 180d"),
    ] {
        let [TagFlag::Stale { query: got, .. }] = &flags(&report, tag)[..] else {
            panic!("{:?}", flags(&report, tag))
        };
        let got = got.clone();
        assert_eq!(got, query);
        let selected = shop
            .store
            .select(&Query::parse(&got).unwrap(), shop.today)
            .unwrap();
        assert_eq!(
            selected,
            audience::health::stale_members(&shop.store, tag, shop.today, &HealthConfig::default())
                .unwrap()
        );
    }
}

#[test]
fn empty_and_tiny_tags() {
    let mut shop = Shop::new(30);
    let empty = shop.tag("qa test", "general", []);
    let nine = shop.tag("whale list", "general", 0..9);
    let ten = shop.tag("ten", "general", 0..10);
    let one = shop.tag("one", "general", [3]);
    let report = shop.report();
    assert_eq!(flags(&report, empty), vec![TagFlag::Empty]);
    assert_eq!(flags(&report, nine), vec![TagFlag::Tiny { members: 9 }]);
    assert_eq!(flags(&report, one), vec![TagFlag::Tiny { members: 1 }]);
    assert!(flags(&report, ten).is_empty());
    let report = shop.report_with(&HealthConfig::default().tiny_below(0));
    assert_eq!(flags(&report, empty), vec![TagFlag::Empty]);
    assert!(flags(&report, one).is_empty());
}

#[test]
fn redundant_and_subset_pairs() {
    let mut shop = Shop::new(200);
    let ordered = shop.tag("ordered", "stage", 0..100);
    let paid = shop.tag("paid", "stage", 0..95); // Jaccard 0.95, and a subset
    let copy = shop.tag("ordered copy", "stage", 0..100); // identical: redundant, no subset
    let eighty = shop.tag("eighty", "stage", 100..180);
    let sixty_four = shop.tag("sixty-four", "stage", 100..164); // Jaccard exactly 0.8
    let lipstick = shop.tag("product/lipstick", "interests", 0..20);
    let cosmetics = shop.tag("interest/cosmetics", "interests", 0..40);
    // Tiny tags are left out of pairs (they would be subsets of everything).
    shop.tag("whale list", "general", 0..3);
    // Archived tags too.
    let old = shop.tag("old ordered", "stage", 0..100);
    shop.store
        .archive_tag(&Edit::new("mei", shop.today), old)
        .unwrap();

    let report = shop.report();
    let redundant: Vec<(TagId, TagId, u64, u64, f64)> = report
        .redundant
        .iter()
        .map(|p| (p.a, p.b, p.both, p.either, p.jaccard))
        .collect();
    assert_eq!(
        redundant,
        vec![
            (ordered, copy, 100, 100, 1.0),
            (ordered, paid, 95, 100, 0.95),
            (paid, copy, 95, 100, 0.95),
            (eighty, sixty_four, 64, 80, 0.8),
        ]
    );
    let subsets: Vec<(TagId, TagId)> = report
        .subsets
        .iter()
        .map(|s| (s.subset, s.superset))
        .collect();
    let mut want = vec![
        (paid, ordered),
        (paid, copy),
        (sixty_four, eighty),
        (cosmetics, ordered),
        (cosmetics, copy),
        (cosmetics, paid),
        (lipstick, ordered),
        (lipstick, copy),
        (lipstick, paid),
        (lipstick, cosmetics),
    ];
    // Largest subset first, then by ids.
    want.sort_by_key(|(s, p)| (std::cmp::Reverse(report.tag(*s).unwrap().members), *s, *p));
    assert_eq!(subsets, want);
    assert_eq!(report.subsets[0].subset_members, 95);
    assert_eq!(report.subsets[0].superset_members, 100);
    assert!(report.findings.contains(&Finding::Redundant {
        a: ordered,
        b: paid,
        jaccard: 0.95
    }));
    let report = shop.report_with(&HealthConfig::default().redundant_jaccard(0.96).unwrap());
    assert_eq!(report.redundant.len(), 1);

    // Just below the threshold: 63 of 80.
    let mut shop = Shop::new(200);
    let eighty = shop.tag("eighty", "stage", 0..80);
    let sixty_three = shop.tag("sixty-three", "stage", 0..63);
    let report = shop.report();
    assert!(report.redundant.is_empty());
    assert_eq!(report.subsets.len(), 1);
    assert_eq!(
        (report.subsets[0].subset, report.subsets[0].superset),
        (sixty_three, eighty)
    );
}

#[test]
fn tag_count_bands_coverage_and_untagged_customers() {
    // 1,001 customers and 5 tags: too coarse.
    let mut shop = Shop::new(1001);
    shop.tag("channel/web", "channel", 0..600);
    shop.tag("channel/app", "channel", 500..700);
    shop.tag("stage/ordered", "stage", 650..900);
    shop.tag("stage/paid", "stage", 650..800);
    let retired = shop.tag("stage/legacy", "stage", 950..1001);
    shop.store
        .archive_tag(&Edit::new("mei", shop.today), retired)
        .unwrap();
    let report = shop.report();
    let tax = &report.taxonomy;
    assert_eq!((tax.active_tags, tax.archived_tags), (4, 1));
    assert_eq!(tax.band, TagCountBand::TooCoarse);
    let coverage: Vec<(&str, usize, u64)> = tax
        .dimensions
        .iter()
        .map(|d| (d.dimension.as_str(), d.tags, d.customers))
        .collect();
    assert_eq!(coverage, vec![("channel", 2, 700), ("stage", 2, 250)]);
    assert_eq!(tax.dimensions[0].share, 700.0 / 1001.0);
    // Customers 900.. carry no active tag (the archived tag does not count).
    assert_eq!((tax.tagged, tax.untagged), (900, 101));
    assert_eq!(tax.untagged_share, 101.0 / 1001.0);
    assert_eq!(
        report.findings.first(),
        Some(&Finding::TagCount {
            band: TagCountBand::TooCoarse,
            tags: 4
        })
    );
    assert!(report.findings.contains(&Finding::Untagged {
        customers: 101,
        share: 101.0 / 1001.0
    }));

    // The bands at their edges.
    for (tags, customers, band) in [
        (0, 0, TagCountBand::Starting),
        (20, 1000, TagCountBand::Starting),
        (20, 1001, TagCountBand::TooCoarse),
        (21, 1000, TagCountBand::Growing),
        (29, 1000, TagCountBand::Growing),
        (29, 1001, TagCountBand::TooCoarse),
        (30, 1001, TagCountBand::Growing),
        (49, 5000, TagCountBand::Growing),
        (50, 5000, TagCountBand::Healthy),
        (80, 5000, TagCountBand::Healthy),
        (81, 5000, TagCountBand::Large),
        (100, 5000, TagCountBand::Large),
        (101, 5000, TagCountBand::HardToManage),
        (101, 10, TagCountBand::HardToManage),
    ] {
        assert_eq!(
            TagCountBand::of(tags, customers),
            band,
            "{tags} {customers}"
        );
    }
    assert_eq!(TagCountBand::Healthy.describe(), "healthy (50-80 tags)");
}

#[test]
fn assignment_age_profile() {
    let mut shop = Shop::new(10);
    let t = shop.tag("t", "general", []);
    let today = shop.today;
    for (customer, age) in [
        (0, 0),
        (1, 30),
        (2, 31),
        (3, 90),
        (4, 91),
        (5, 180),
        (6, 181),
        (7, 999),
    ] {
        shop.store.add_tag(customer, t, today - age).unwrap();
    }
    shop.store.add_tag(8, t, today + 5).unwrap(); // dated after today: 0 days old
    let report = shop.report();
    assert_eq!(
        report.tag(t).unwrap().age,
        AgeProfile {
            days_0_30: 3,
            days_31_90: 2,
            days_91_180: 2,
            over_180: 2
        }
    );
}

#[test]
fn governance_findings() {
    let mut shop = Shop::new(10);
    let loose = shop.tag("loose name", "stage", 0..10);
    let good = shop.tag("stage/good", "stage", 0..10);
    // Open policy: anyone may create and delete tags.
    let report = shop.report();
    assert!(
        report
            .findings
            .contains(&Finding::Governance { administrators: 0 })
    );
    assert_eq!(report.taxonomy.administrators, 0);
    let mei = Edit::new("mei", shop.today);
    shop.store
        .set_policy(
            &mei,
            Policy::administered_by(["mei", "ali"])
                .unwrap()
                .with_naming(NamingRules::new().require_dimension_prefix()),
        )
        .unwrap();
    let report = shop.report();
    assert!(
        !report
            .findings
            .iter()
            .any(|f| matches!(f, Finding::Governance { .. }))
    );
    // The name from before the rules is reported, the good one is not.
    let naming: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| matches!(f, Finding::NamingRule { .. }))
        .collect();
    assert_eq!(
        naming,
        vec![&Finding::NamingRule {
            tag: loose,
            rule: "names in dimension \"stage\" start with \"stage\" and one of / - _ . (e.g. \
                   \"stage/loose name\")"
                .into()
        }]
    );
    let _ = good;
    shop.store
        .set_policy(&mei, Policy::administered_by(["mei", "ali", "bo"]).unwrap())
        .unwrap();
    assert!(
        shop.report()
            .findings
            .contains(&Finding::Governance { administrators: 3 })
    );
}

#[test]
fn configuration_errors() {
    let shop = Shop::new(3);
    // Out-of-range settings are refused where the configuration is made.
    let setting = |r: Result<HealthConfig, audience::Error>| r.unwrap_err().to_string();
    assert_eq!(
        setting(HealthConfig::default().oversized_share(1.5)),
        "invalid setting HealthConfig::oversized_share: a share is between 0 and 1, got 1.5"
    );
    assert_eq!(
        setting(HealthConfig::default().stale_share(f64::NAN)),
        "invalid setting HealthConfig::stale_share: a share is between 0 and 1, got NaN"
    );
    assert_eq!(
        setting(HealthConfig::default().redundant_jaccard(-0.1)),
        "invalid setting HealthConfig::redundant_jaccard: a share is between 0 and 1, got -0.1"
    );
    assert_eq!(
        setting(HealthConfig::default().redundant_jaccard(0.0)),
        "invalid setting HealthConfig::redundant_jaccard: must be above 0 (every pair would be \
         redundant)"
    );
    // Also when the configuration is read from JSON.
    assert_eq!(
        serde_json::from_str::<HealthConfig>(r#"{"stale_share": 2.0}"#)
            .unwrap_err()
            .to_string(),
        "invalid setting HealthConfig::stale_share: a share is between 0 and 1, got 2"
    );
    let read: HealthConfig = serde_json::from_str(r#"{"silent_days": 14}"#).unwrap();
    assert_eq!(read, HealthConfig::default().silent_days(14));
    let json = serde_json::to_string(&read).unwrap();
    assert_eq!(serde_json::from_str::<HealthConfig>(&json).unwrap(), read);
    let mut store = Store::new();
    store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let e = HealthReport::build(
        &store,
        shop.today,
        &HealthConfig::default().activity_attribute(Some("purchase_count")),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "attribute \"purchase_count\" holds numbers, but HealthConfig::activity_attribute \
         needs a day attribute (set HealthConfig::activity_attribute(..) to one, or convert day \
         numbers with Store::set_days_from_numbers)"
    );
    // Without an activity attribute there is nothing stale to count.
    let mut shop = Shop::new(10);
    let vip = shop.tag("VIP", "power", 0..10);
    shop.idle(0, 999);
    let none = HealthConfig::default().activity_attribute(None);
    let report = shop.report_with(&none);
    assert_eq!(report.tag(vip).unwrap().stale_members, None);
    assert!(
        !flags(&report, vip)
            .iter()
            .any(|f| matches!(f, TagFlag::Stale { .. }))
    );
    assert_eq!(
        audience::health::stale_members(&shop.store, vip, shop.today, &none)
            .unwrap_err()
            .to_string(),
        "invalid setting HealthConfig::activity_attribute: stale members need an activity \
         attribute, and none is set"
    );
}

#[test]
fn an_empty_store_is_healthy_enough() {
    let store = Store::new();
    let today = Day::from_ymd(2025, 1, 6).unwrap();
    let report = HealthReport::build(
        &store,
        today,
        &HealthConfig::default().activity_attribute(None),
    )
    .unwrap();
    assert_eq!(report.customers, 0);
    assert!(report.tags.is_empty());
    assert_eq!(report.taxonomy.band, TagCountBand::Starting);
    assert_eq!(
        report.findings,
        vec![Finding::Governance { administrators: 0 }]
    );
}

/// A weekly shop of 55 customers with every kind of finding planted once (see the
/// expected text below).
fn weekly_shop() -> Shop {
    let mut shop = Shop::new(55);
    shop.tag("regular customer", "loyalty", 0..46);
    shop.tag("activity/high", "activity", (0..14).chain([50]));
    shop.tag("activity/medium", "activity", (14..28).chain([51]));
    shop.tag("activity/low", "activity", 28..48);
    shop.tag("ordered", "stage", 40..52);
    shop.tag("paid", "stage", 41..52);
    shop.tag_full(
        "spring limited",
        "campaign",
        (20..31).chain([50]),
        100,
        Some(31),
    );
    shop.tag("VIP", "power", [3, 17, 29, 33, 41, 47, 48, 49, 50, 51]);
    shop.tag("qa test", "general", []);
    shop.tag("whale list", "general", [52]);
    shop.idle(3, 181);
    shop.idle(17, 200);
    shop
}

#[test]
fn findings_come_worst_first() {
    let shop = weekly_shop();
    let report = shop.report();
    let severities: Vec<Severity> = report.findings.iter().map(Finding::severity).collect();
    let mut sorted = severities.clone();
    sorted.sort();
    assert_eq!(severities, sorted);
    let kinds: Vec<&str> = report
        .findings
        .iter()
        .map(|f| match f {
            Finding::TagCount { .. } => "count",
            Finding::Oversized { .. } => "oversized",
            Finding::Redundant { .. } => "redundant",
            Finding::Stale { .. } => "stale",
            Finding::Silent { .. } => "silent",
            Finding::Empty { .. } => "empty",
            Finding::Untagged { .. } => "untagged",
            Finding::Tiny { .. } => "tiny",
            Finding::Subset { .. } => "subset",
            Finding::Governance { .. } => "governance",
            Finding::NamingRule { .. } => "naming",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "oversized",
            "redundant",
            "stale",
            "silent",
            "empty",
            "untagged",
            "tiny",
            "subset",
            "governance"
        ]
    );
}

#[test]
fn the_report_as_text() {
    let report = weekly_shop().report();
    let text = report.to_string();
    let want = r#"Tag health on 2025-03-03: 55 customers; 10 tags in use, starting (at most 20 tags); 0 archived

Findings, worst first (9):
  high   "regular customer" is carried by 83.6% of customers (over 40.0%): too coarse, split it, e.g. by activity: "activity/low" 18, "activity/high" 14, "activity/medium" 14
  high   "ordered" and "paid" have nearly the same members (Jaccard 0.92; 11 carry both, 12 either): probably one meaning, keep one name
  medium "VIP": 2 of 10 members (20.0%) idle for over 180 days, select them with: VIP AND last_interaction BEFORE 180d
  medium "spring limited" has not been used for 31 days (last used 2025-01-31): archive or delete it
  medium "qa test" has no members
  medium 2 customers (3.6%) carry no tag
  low    "whale list" has only 1 member
  low    every member of "paid" (11) also carries "ordered" (12)
  low    no administrators: anyone may create and delete tags (CRM tagging guides advise 1-2)

Tags, largest first:
     members  share     0-30d    31-90d   91-180d     >180d  last used     stale  tag
          46  83.6%        46         0         0         0 2025-03-02         2  "regular customer" (loyalty) [oversized]
          20  36.4%        20         0         0         0 2025-03-02         0  "activity/low" (activity)
          15  27.3%        15         0         0         0 2025-03-02         1  "activity/high" (activity)
          15  27.3%        15         0         0         0 2025-03-02         1  "activity/medium" (activity)
          12  21.8%        12         0         0         0 2025-03-02         0  "ordered" (stage)
          12  21.8%        12         0         0         0 2025-01-31         0  "spring limited" (campaign) [silent]
          11  20.0%        11         0         0         0 2025-03-02         0  "paid" (stage)
          10  18.2%        10         0         0         0 2025-03-02         2  "VIP" (power) [stale]
           1   1.8%         1         0         0         0 2025-03-02         0  "whale list" (general) [tiny]
           0   0.0%         0         0         0         0 2025-03-02         0  "qa test" (general) [empty]

Dimensions:
    1 tag          46 customers  83.6%  loyalty
    3 tags         50 customers  90.9%  activity
    2 tags         12 customers  21.8%  stage
    1 tag          12 customers  21.8%  campaign
    1 tag          10 customers  18.2%  power
    2 tags          1 customers   1.8%  general
  untagged: 2 customers (3.6%)
"#;
    assert_eq!(text, want, "{text}");
}

#[cfg(feature = "serde")]
#[test]
fn the_report_is_serde_data() {
    let report = weekly_shop().report();
    let json = serde_json::to_string(&report).unwrap();
    let back: HealthReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["taxonomy"]["band"], "starting");
    assert_eq!(value["findings"][0]["oversized"]["share"], 46.0 / 55.0);
}

#[test]
fn runs_without_an_activity_attribute_and_lists_what_it_skipped() {
    let today = Day::from_ymd(2025, 3, 3).unwrap();
    let mut store = Store::new();
    let vip = store
        .create_tag(&Edit::new("mei", today - 100), TagSpec::new("VIP"))
        .unwrap();
    let c = store
        .add_customer(CustomerKey::member("m0").unwrap())
        .unwrap();
    store.add_tag(c, vip, today - 1).unwrap();
    // The default reads `last_interaction`, which this store does not have.
    let report = HealthReport::build(&store, today, &HealthConfig::default()).unwrap();
    assert_eq!(report.tag(vip).unwrap().stale_members, None);
    let skipped: Vec<String> = report.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        skipped,
        [
            "stale memberships: the store has no attribute \"last_interaction\" (set \
          HealthConfig::activity_attribute(..) to the day attribute of each customer's last \
          interaction)"
        ]
    );
    let text = report.to_string();
    assert!(
        text.contains(
            "\nSkipped checks:\n  stale memberships: the store has no attribute \
             \"last_interaction\" (set HealthConfig::activity_attribute(..) to the day \
             attribute of each customer's last interaction)\n\nTags, largest first:\n"
        ),
        "{text}"
    );
    // None set: skipped too, and said so.
    let none = HealthReport::build(
        &store,
        today,
        &HealthConfig::default().activity_attribute(None),
    )
    .unwrap();
    assert_eq!(
        none.skipped[0].to_string(),
        "stale memberships: no activity attribute is set (HealthConfig::activity_attribute)"
    );
    // Asked for directly, the missing attribute is an error naming the setting.
    assert_eq!(
        audience::health::stale_members(&store, vip, today, &HealthConfig::default())
            .unwrap_err()
            .to_string(),
        "unknown attribute \"last_interaction\" (HealthConfig::activity_attribute reads it; \
         set HealthConfig::activity_attribute(..) to your column)"
    );
    // With the attribute, nothing is skipped.
    let shop = Shop::new(2);
    assert!(shop.report().skipped.is_empty());
}
