//! Snapshots with extras (rule sets, send logs, RFM configurations, tiers): round trips,
//! the golden file with extras, every error with its exact text on both sides, every
//! single-byte corruption and truncation detected, sections built by hand from
//! `SNAPSHOT.md`'s layouts, and a property test over random stores and random extras.

use std::collections::BTreeMap;

use audience::campaign::{Hour, SendLog};
use audience::query::{Expr, Literal, TagRef, attr, tag_ref};
use audience::snapshot::Extras;
use audience::{
    AttrKind, Binning, CustomerKey, Day, Edit, ErrorKind, Lifecycle, Measure, MeasureSpec, Query,
    RfmConfig, RoaringBitmap, Rule, RuleSet, Section, SegmentMap, SegmentRule, SnapshotProblem,
    Store, TagSelector, TagSpec, TagTarget, TagTemplate, Tier, Tiers, Value,
};
use proptest::prelude::*;

use crate::support::parts::{self, Parts};

use crate::support::{store_of, ymd};

// ----------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------

const KIND_ATTRIBUTE: u32 = 3;
const KIND_RULE_SET: u32 = 6;
const KIND_SEND_LOG: u32 = 7;
const KIND_RFM: u32 = 8;
const KIND_TIERS: u32 = 9;

fn snapshot_with(store: &Store, extras: &Extras) -> Vec<u8> {
    let mut bytes = Vec::new();
    let n = audience::snapshot::write_with(store, extras, &mut bytes).unwrap();
    assert_eq!(n, bytes.len() as u64);
    bytes
}

/// `extras` without the customers `store` erased: what a snapshot keeps of them.
fn without_erased(store: &Store, extras: &Extras) -> Extras {
    let mut erased = RoaringBitmap::new();
    erased.insert_range(0..u32::try_from(store.id_space()).unwrap());
    erased -= store.customers();
    let mut e = extras.clone();
    e.forget(&erased);
    e
}

fn snapshot(store: &Store) -> Vec<u8> {
    snapshot_with(store, &Extras::default())
}

fn write_err(store: &Store, extras: &Extras) -> audience::Error {
    let mut out = Vec::new();
    let e = audience::snapshot::write_with(store, extras, &mut out).unwrap_err();
    assert!(out.is_empty(), "nothing is written on error");
    e
}

fn snapshot_error(bytes: &[u8]) -> audience::SnapshotError {
    let e = match audience::snapshot::read_with(bytes) {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    };
    // `snapshot::read` reads the extras too, and refuses the same way.
    let Err(plain) = audience::snapshot::read(bytes) else {
        panic!("snapshot::read loaded what snapshot::read_with refuses")
    };
    assert_eq!(plain, e);
    // So do the reads of a snapshot in memory.
    let Err(in_place) = audience::snapshot::read_slice_with(bytes) else {
        panic!("snapshot::read_slice_with loaded what snapshot::read_with refuses")
    };
    assert_eq!(in_place, e);
    let Err(in_place) = audience::snapshot::read_slice(bytes) else {
        panic!("snapshot::read_slice loaded what snapshot::read_with refuses")
    };
    assert_eq!(in_place, e);
    match e.into_kind() {
        ErrorKind::Snapshot(s) => s,
        other => panic!("not a snapshot error: {other}"),
    }
}

/// The message of an invalid-content error, with the section it names.
fn invalid(bytes: &[u8]) -> (Section, String) {
    let e = snapshot_error(bytes);
    match e.problem {
        SnapshotProblem::Invalid(m) => (e.section, m),
        other => panic!("{other}"),
    }
}

/// Section payloads written by hand from `SNAPSHOT.md`'s layouts.
#[derive(Clone, Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u8(mut self, v: u8) -> Enc {
        self.0.push(v);
        self
    }
    fn u32(mut self, v: u32) -> Enc {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i64(mut self, v: i64) -> Enc {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn str(self, s: &str) -> Enc {
        let mut e = self.u32(s.len() as u32);
        e.0.extend_from_slice(s.as_bytes());
        e
    }
    /// `opt<T>` absent.
    fn none(self) -> Enc {
        self.u8(0)
    }
    /// `opt<T>` present: the flag; the value follows.
    fn some(self) -> Enc {
        self.u8(1)
    }
    fn bitmap(self, ids: &[u32]) -> Enc {
        let bm: RoaringBitmap = ids.iter().copied().collect();
        let mut bytes = Vec::new();
        bm.serialize_into(&mut bytes).unwrap();
        let mut e = self.u32(bytes.len() as u32);
        e.0.extend_from_slice(&bytes);
        e
    }
    /// `tag_ref` without a dimension.
    fn tag(self, name: &str) -> Enc {
        self.none().str(name)
    }
    fn done(self, kind: u32) -> (u32, Vec<u8>) {
        (kind, self.0)
    }
}

/// A rule set section (kind 6) named `name` with one rule `rule` of query `query` that
/// adds the tag `vip`.
fn rule_set_section(name: &str, rule: &str, query: &str) -> (u32, Vec<u8>) {
    Enc::default()
        .str(name)
        .u32(0)
        .u32(1)
        .str(rule)
        .str(query)
        .u32(1)
        .u8(0)
        .tag("vip")
        .u32(0)
        .done(KIND_RULE_SET)
}

/// An RFM configuration section (kind 8): quintiles of the default attributes, no scope,
/// and the given segment map payload (count and segments), if any.
fn rfm_section(name: &str, map: Option<Enc>) -> (u32, Vec<u8>) {
    let mut e = Enc::default().str(name);
    for a in ["last_purchase", "purchase_count", "monetary"] {
        e = e.str(a).u8(0).u8(5);
    }
    e = e.none();
    e = match map {
        None => e.none(),
        Some(m) => {
            let mut e = e.some();
            e.0.extend_from_slice(&m.0);
            e
        }
    };
    e.done(KIND_RFM)
}

/// A small store: phone and member keys, an erased customer, tags, the attributes the
/// sample extras read, a few values.
fn small_store() -> Store {
    let today = ymd(2025, 1, 6);
    let admin = Edit::new("admin", today);
    let mut s = Store::new();
    let vip = s
        .create_tag(&admin, TagSpec::new("VIP").dimension("purchasing_power"))
        .unwrap();
    s.create_tag(&admin, TagSpec::new("at risk").dimension("stage"))
        .unwrap();
    let mut ids = s
        .ensure_customers((1..=6u64).map(|i| CustomerKey::Phone(66_812_345_670 + i)))
        .unwrap();
    ids.push(
        s.add_customer(CustomerKey::member("会员-1").unwrap())
            .unwrap(),
    );
    s.erase_customer(ids[2]).unwrap();
    let last = s.define_attribute("last_purchase", AttrKind::Day).unwrap();
    let count = s.define_attribute("purchase_count", AttrKind::Int).unwrap();
    let spend = s.define_attribute("monetary", AttrKind::Int).unwrap();
    let lead = s.define_attribute("lead_score", AttrKind::Int).unwrap();
    for (i, &c) in ids.iter().enumerate() {
        if c == ids[2] {
            continue;
        }
        s.set_value(c, last, today - 10 * i as i32).unwrap();
        s.set_value(c, count, i as i64 + 1).unwrap();
        s.set_value(c, spend, 1_000 * i as i64).unwrap();
        s.set_value(c, lead, 15 * i as i64).unwrap();
    }
    s.add_tag(ids[0], vip, today).unwrap();
    s
}

/// Extras of every kind, with the features each has: groups, templates, every selector,
/// queries in several scripts; a send log with several channels, repeated sends and an
/// erased customer; RFM with quantiles, edges, a scope and two segment maps; tiers with
/// and without a catch-all.
fn sample_extras() -> Extras {
    let today = ymd(2025, 1, 6);
    let mut e = Extras::new();
    e.rule_sets.insert("lifecycle".into(), lifecycle_then());
    let qualified = |dimension: &str, name: &str| TagRef {
        dimension: Some(dimension.into()),
        name: name.into(),
    };
    let mut high_value = Rule::new(
        "high value",
        Query::parse("purchase_count > 3 EXCLUDE VIP").unwrap(),
    );
    high_value
        .add
        .push(TagTarget::Tag(qualified("purchasing_power", "VIP")));
    let mut weekly = RuleSet::new()
        .rule(high_value)
        .rule(
            Rule::new("at risk", attr("last_purchase").before_days(60))
                .remove_group("positive")
                .remove_dimension("campaign")
                .add("stage:at risk"),
        )
        .rule(
            Rule::new(
                "ลูกค้า \"ใหม่\"",
                Query::parse("@new_orders AND \"VIP клиент\" ASSIGNED WITHIN 7d").unwrap(),
            )
            .remove("abandoned cart")
            .add_template(
                TagTemplate::new("purchased-{date}+{product}")
                    .dimension("stage")
                    .ttl_days(30),
            ),
        );
    weekly.groups.insert(
        "positive".into(),
        vec![
            tag_ref("active customer"),
            qualified("stage", "highly active"),
        ],
    );
    e.rule_sets.insert("weekly".into(), weekly);

    let mut log = SendLog::with_retention(48).unwrap();
    let ids = |xs: &[u32]| -> RoaringBitmap { xs.iter().copied().collect() };
    // Recorded while the store's seven customers were all live (`small_store` erases
    // customer 2 later; the log keeps it until the app erases it).
    let before_erasure = store_of(7);
    let mut record = |hour, channel, customers: &[u32]| {
        log.record(&before_erasure, hour, channel, &ids(customers))
            .unwrap()
    };
    record(Hour::new(today, 9).unwrap(), "whatsapp", &[0, 1, 3]);
    record(Hour::new(today, 9).unwrap(), "whatsapp", &[1]);
    record(Hour::new(today, 10).unwrap(), "LINE", &[1, 2, 6]);
    record(Hour::new(today + 1, 8).unwrap(), "whatsapp", &[4]);
    e.send_logs.insert("automations".into(), log);

    e.rfm.insert("everyone".into(), RfmConfig::default());
    e.rfm.insert(
        "vip scope".into(),
        RfmConfig::new("last_purchase", "purchase_count", "monetary")
            .bins(3)
            .unwrap()
            .edges(Measure::Frequency, [2, 5])
            .unwrap()
            .binning(Measure::Monetary, Binning::Edges(vec![i64::MIN, 0]))
            .unwrap()
            .scope(Query::parse("purchasing_power:VIP OR monetary >= 3000").unwrap())
            .segments(Some(
                SegmentMap::new()
                    .rule(SegmentRule::new("best").r(3..=3).f(2..=3))
                    .rule(SegmentRule::new("recent").r(3..=3).f(1..=1))
                    .rule(SegmentRule::new("rest").r(1..=2)),
            )),
    );
    e.rfm.insert(
        "unnamed".into(),
        RfmConfig::default().segments(None).bins(10).unwrap(),
    );

    e.tiers.insert(
        "leads".into(),
        Tiers::new("lead_score", "tier")
            .tier("S", 80)
            .unwrap()
            .tier("A", 60)
            .unwrap()
            .tier("B", 40)
            .unwrap()
            .rest("C")
            .unwrap(),
    );
    e.tiers.insert(
        "spend".into(),
        Tiers::new("monetary", "spend")
            .tier("whale", 1_000_000)
            .unwrap()
            .tier("any", i64::MIN)
            .unwrap(),
    );
    e
}

// ----------------------------------------------------------------------------------------
// Round trips
// ----------------------------------------------------------------------------------------

#[test]
fn sample_extras_round_trip() {
    let s = small_store();
    let e = sample_extras();
    let bytes = snapshot_with(&s, &e);
    let (loaded, loaded_extras) = audience::snapshot::read_with(&bytes[..]).unwrap();
    // The sample's send log names customer 2, whom the store erased: the snapshot leaves
    // it out ("forget me" reaches the snapshot).
    assert_ne!(without_erased(&s, &e), e);
    assert_eq!(loaded_extras, without_erased(&s, &e));
    assert_eq!(snapshot(&loaded), snapshot(&s));
    // Canonical: the loaded state writes the same bytes.
    assert_eq!(snapshot_with(&loaded, &loaded_extras), bytes);
    // The store's sections come first, unchanged: the extras are appended before the end.
    let plain = Parts::split(&Parts::without_journal(&snapshot(&s)));
    let full = Parts::split(&Parts::without_journal(&bytes));
    let n = plain.sections.len() - 1;
    assert_eq!(full.sections[..n], plain.sections[..n]);
    assert_eq!(
        full.kinds()[n..],
        [6, 6, 7, 8, 8, 8, 9, 9, 0x7FFF_FFFF],
        "one section per entry, by kind, then by name"
    );
    // `snapshot::read` reads it all and drops the extras.
    let store_only = audience::snapshot::read(&bytes[..]).unwrap();
    assert_eq!(snapshot(&store_only), snapshot(&s));
    // What was loaded works: the send log still caps, the tiers still assign.
    let log = &loaded_extras.send_logs["automations"];
    let now = Hour::new(ymd(2025, 1, 6), 11).unwrap();
    let twice = log.received(now, 24, None, 2).unwrap();
    assert_eq!(twice.iter().collect::<Vec<_>>(), [1]);
    let tiers = loaded_extras.tiers["leads"].assign(&loaded).unwrap();
    assert_eq!(tiers.group_of(0), Some("C"));
    assert_eq!(tiers.group_of(6), Some("S"));
}

#[test]
fn empty_extras_write_the_store_alone() {
    for s in [Store::new(), small_store()] {
        let bytes = snapshot(&s);
        let mut with = Vec::new();
        audience::snapshot::write_with(&s, &Extras::new(), &mut with).unwrap();
        assert_eq!(with, bytes);
        let (_, extras) = audience::snapshot::read_with(&bytes[..]).unwrap();
        assert!(extras.is_empty());
        assert_eq!(extras, Extras::default());
    }
}

#[test]
fn first_match_tables_round_trip() {
    let s = small_store();
    let mut e = Extras::new();
    let table = audience::FirstMatchMap::new("Others")
        .rule(SegmentRule::new("Champions").r(4..=5).f(4..=5).m(4..=5))
        .rule(
            SegmentRule::new("Loyal Customers")
                .r(2..=5)
                .f(3..=5)
                .m(3..=5),
        );
    e.rfm.insert(
        "package".into(),
        RfmConfig::default().first_match(Some(table.clone())),
    );
    let bytes = snapshot_with(&s, &e);
    let (_, loaded) = audience::snapshot::read_with(&bytes[..]).unwrap();
    assert_eq!(loaded.rfm["package"].first_match_table(), Some(&table));
    assert_eq!(loaded.rfm["package"].segment_map(), None);
}

#[test]
fn queries_are_stored_as_their_canonical_text() {
    let s = small_store();
    let mut e = Extras::new();
    let typed = Query::parse("VIP exclude   \"at risk\"").unwrap();
    e.rule_sets.insert(
        "w".into(),
        RuleSet::new().rule(Rule::new("r", typed.clone()).add("VIP")),
    );
    e.rfm.insert(
        "m".into(),
        RfmConfig::default().scope(Query::new(
            audience::query::tag("VIP").or(attr("lead_score").between(10, 20)),
        )),
    );
    let bytes = snapshot_with(&s, &e);
    let has = |text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(has("VIP AND NOT \"at risk\""));
    assert!(!has("exclude"));
    assert!(has("VIP OR lead_score BETWEEN 10 AND 20"));
    let (_, loaded) = audience::snapshot::read_with(&bytes[..]).unwrap();
    let when = &loaded.rule_sets["w"].rules[0].when;
    assert_eq!(when, &typed);
    assert_eq!(when.text(), Some("VIP AND NOT \"at risk\""));
    assert_eq!(
        loaded.rfm["m"].scope_query().and_then(Query::text),
        Some("VIP OR lead_score BETWEEN 10 AND 20")
    );
}

/// The golden snapshot with extras, written once by `write_golden_v1_extras` below.
/// The lifecycle preset's rules as they were when the golden file was written: its growth
/// stages' tags (and rules) were named with a comma, which new tag names may no longer
/// hold; an older file keeps them.
fn lifecycle_then() -> RuleSet {
    let mut then = Lifecycle::default()
        .stage_tags(
            "new customer",
            "growth, high frequency",
            "growth, low frequency",
            "expected to churn",
        )
        .unwrap()
        .rules();
    for rule in &mut then.rules {
        rule.name = rule.name.replace("growth (", "growth, ").replace(')', "");
    }
    then
}

/// Later versions of the crate must keep loading it, with exactly this content.
const GOLDEN_V1_EXTRAS: &[u8] = include_bytes!("../data/golden-v1-extras.snap");
/// The first golden snapshot, of a store alone (see `tests/snapshot.rs`).
const GOLDEN_V1: &[u8] = include_bytes!("../data/golden-v1.snap");

#[test]
fn golden_v1_has_no_extras_and_still_writes_the_same_bytes() {
    let (store, extras) = audience::snapshot::read_with(GOLDEN_V1).unwrap();
    assert!(extras.is_empty());
    assert_eq!(snapshot(&store), GOLDEN_V1);
    assert_eq!(snapshot_with(&store, &extras), GOLDEN_V1);
}

#[test]
fn golden_v1_extras_still_loads() {
    let (s, e) = audience::snapshot::read_with(GOLDEN_V1_EXTRAS).unwrap();
    // The store.
    assert_eq!((s.customer_count(), s.id_space()), (6, 7));
    assert_eq!(s.customer(&CustomerKey::Phone(66_812_345_671)), Some(0));
    assert_eq!(s.customer(&CustomerKey::member("会员-1").unwrap()), Some(6));
    assert_eq!(s.key(2), None, "erased");
    let vip = s.tag_id("VIP").unwrap();
    assert_eq!(s.members(vip).unwrap().iter().collect::<Vec<_>>(), [0]);
    let lead = s.attribute_id("lead_score").unwrap();
    assert_eq!(s.value(6, lead).unwrap(), Some(Value::Int(90)));

    // Rule sets.
    assert_eq!(
        e.rule_sets.keys().collect::<Vec<_>>(),
        ["lifecycle", "weekly"]
    );
    assert_eq!(e.rule_sets["lifecycle"], lifecycle_then());
    let weekly = &e.rule_sets["weekly"];
    assert_eq!(
        weekly.groups["positive"],
        [
            tag_ref("active customer"),
            TagRef {
                dimension: Some("stage".into()),
                name: "highly active".into()
            }
        ]
    );
    assert_eq!(weekly.groups.len(), 1);
    let texts: Vec<(&str, Option<&str>)> = weekly
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.when.text()))
        .collect();
    assert_eq!(
        texts,
        [
            ("high value", Some("purchase_count > 3 AND NOT VIP")),
            ("at risk", Some("last_purchase BEFORE 60d")),
            (
                "ลูกค้า \"ใหม่\"",
                Some("@new_orders AND \"VIP клиент\" ASSIGNED WITHIN 7d")
            ),
        ]
    );
    assert_eq!(
        weekly.rules[0].add,
        [TagTarget::Tag(TagRef {
            dimension: Some("purchasing_power".into()),
            name: "VIP".into()
        })]
    );
    assert!(weekly.rules[0].remove.is_empty());
    assert_eq!(
        weekly.rules[1].remove,
        [
            TagSelector::Group("positive".into()),
            TagSelector::Dimension("campaign".into())
        ]
    );
    assert_eq!(
        weekly.rules[2].add,
        [TagTarget::Template(TagTemplate {
            pattern: "purchased-{date}+{product}".into(),
            dimension: "stage".into(),
            ttl_days: Some(30)
        })]
    );
    assert_eq!(
        weekly.rules[2].remove,
        [TagSelector::Tag(tag_ref("abandoned cart"))]
    );

    // The send log.
    let log = &e.send_logs["automations"];
    assert_eq!(e.send_logs.len(), 1);
    assert_eq!(log.retention_hours(), 48);
    assert_eq!(log.channels(), ["whatsapp", "LINE"]);
    assert_eq!(log.newest(), Some(Hour::new(ymd(2025, 1, 7), 8).unwrap()));
    assert_eq!(log.bucket_count(), 3);
    let now = Hour::new(ymd(2025, 1, 7), 8).unwrap();
    let got =
        |channel, k| -> Vec<u32> { log.received(now, 48, channel, k).unwrap().iter().collect() };
    assert_eq!(got(None, 1), [0, 1, 2, 3, 4, 6]);
    assert_eq!(got(None, 3), [1]);
    assert_eq!(got(Some("whatsapp"), 2), [1]);
    assert_eq!(got(Some("line"), 1), [1, 2, 6]);

    // RFM configurations.
    assert_eq!(
        e.rfm.keys().collect::<Vec<_>>(),
        ["everyone", "unnamed", "vip scope"]
    );
    assert_eq!(e.rfm["everyone"], RfmConfig::default());
    assert_eq!(
        e.rfm["everyone"].segment_map(),
        Some(&SegmentMap::standard())
    );
    let unnamed = &e.rfm["unnamed"];
    assert_eq!(unnamed.segment_map(), None);
    assert_eq!(unnamed.scope_query(), None);
    assert_eq!(
        unnamed.spec(Measure::Recency).binning,
        Binning::Quantiles(10)
    );
    let vip_scope = &e.rfm["vip scope"];
    assert_eq!(
        [
            vip_scope.spec(Measure::Recency),
            vip_scope.spec(Measure::Frequency),
            vip_scope.spec(Measure::Monetary)
        ],
        [
            &MeasureSpec {
                attribute: "last_purchase".into(),
                binning: Binning::Quantiles(3)
            },
            &MeasureSpec {
                attribute: "purchase_count".into(),
                binning: Binning::Edges(vec![2, 5])
            },
            &MeasureSpec {
                attribute: "monetary".into(),
                binning: Binning::Edges(vec![i64::MIN, 0])
            },
        ]
    );
    assert_eq!(
        vip_scope.scope_query().and_then(Query::text),
        Some("purchasing_power:VIP OR monetary >= 3000")
    );
    let map = vip_scope.segment_map().unwrap();
    assert_eq!(
        map.rules,
        [
            SegmentRule {
                name: "best".into(),
                r: Some(3..=3),
                f: Some(2..=3),
                m: None
            },
            SegmentRule {
                name: "recent".into(),
                r: Some(3..=3),
                f: Some(1..=1),
                m: None
            },
            SegmentRule {
                name: "rest".into(),
                r: Some(1..=2),
                f: None,
                m: None
            },
        ]
    );

    // Tiers.
    assert_eq!(e.tiers.keys().collect::<Vec<_>>(), ["leads", "spend"]);
    let leads = &e.tiers["leads"];
    assert_eq!(
        (leads.attribute(), leads.dimension()),
        ("lead_score", "tier")
    );
    let t = |name: &str, at_least| Tier {
        name: name.into(),
        at_least,
    };
    assert_eq!(
        leads.tiers(),
        [
            t("S", Some(80)),
            t("A", Some(60)),
            t("B", Some(40)),
            t("C", None)
        ]
    );
    assert_eq!(
        e.tiers["spend"].tiers(),
        [t("whale", Some(1_000_000)), t("any", Some(i64::MIN))]
    );

    // This version reads what it wrote then. Writing it again leaves out what the send log
    // still held of customer 2, erased from the store (older versions kept it): the bytes
    // are those of the same extras with customer 2 forgotten.
    assert_eq!(e, sample_extras());
    let again = snapshot_with(&s, &e);
    assert_ne!(again, GOLDEN_V1_EXTRAS);
    assert_eq!(again, snapshot_with(&s, &without_erased(&s, &e)));
    let (_, back) = audience::snapshot::read_with(&again[..]).unwrap();
    assert_eq!(back, without_erased(&s, &e));
}

/// Writes `tests/data/golden-v1-extras.snap`. Run once, by hand, when the golden file is
/// created: `cargo test --test snapshot_extras -- --ignored write_golden_v1_extras`. Never
/// regenerate it for a later version: add a new golden file next to it instead.
#[test]
#[ignore]
#[allow(clippy::disallowed_methods)]
fn write_golden_v1_extras() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden-v1-extras.snap"
    );
    std::fs::write(path, snapshot_with(&small_store(), &sample_extras())).unwrap();
}

// ----------------------------------------------------------------------------------------
// Writing refuses what a reader would refuse, with nothing written
// ----------------------------------------------------------------------------------------

#[test]
fn write_errors_name_the_entry_and_the_problem() {
    let s = small_store();
    let one = |f: &dyn Fn(&mut Extras)| {
        let mut e = Extras::new();
        f(&mut e);
        let err = write_err(&s, &e);
        assert!(
            matches!(err.kind(), ErrorKind::SnapshotExtra { .. }),
            "{err:?}"
        );
        err.to_string()
    };

    // The types' own checks.
    assert_eq!(
        one(&|e| {
            e.rule_sets.insert(
                "weekly".into(),
                RuleSet::new()
                    .rule(Rule::new("a", Query::new(Expr::All)).add("x"))
                    .rule(Rule::new("A ", Query::new(Expr::All)).add("y")),
            );
        }),
        "cannot write rule set \"weekly\" to a snapshot: two rules are named \"A \""
    );
    assert_eq!(
        one(&|e| {
            e.rule_sets.insert(
                "weekly".into(),
                RuleSet::new().rule(Rule::new(" ", Query::new(Expr::All)).add("x")),
            );
        }),
        "cannot write rule set \"weekly\" to a snapshot: invalid name \" \": a rule name must not be empty"
    );
    assert_eq!(
        one(&|e| {
            let map = SegmentMap::new().rule(SegmentRule::new("recent").r(2..=5));
            e.rfm
                .insert("m".into(), RfmConfig::default().segments(Some(map)));
        }),
        "cannot write RFM configuration \"m\" to a snapshot: the RFM segment map leaves 25 score cells without a segment: R1 F1 M1-5, R1 F2 M1-5, R1 F3 M1-5, R1 F4 M1-5, R1 F5 M1-5"
    );
    // Bins that do not hold cannot be made (RfmConfig's setters refuse them), so none
    // reaches a snapshot through the API.
    // Tiers that do not hold cannot be made (see the tiers tests), so none reaches a
    // snapshot through the API.

    // Queries that their canonical text cannot carry.
    assert_eq!(
        one(&|e| {
            e.rule_sets.insert(
                "w".into(),
                RuleSet::new().rule(Rule::new("r", Query::new(Expr::And(vec![]))).add("x")),
            );
        }),
        "cannot write rule set \"w\" to a snapshot: rule \"r\": the query's canonical text \"ALL\" reads back as a different query"
    );
    let mut deep = Expr::All;
    for _ in 0..200 {
        deep = deep.not();
    }
    assert_eq!(
        one(&|e| {
            e.rfm.insert(
                "m".into(),
                RfmConfig::default().scope(Query::new(deep.clone())),
            );
        }),
        format!(
            "cannot write RFM configuration \"m\" to a snapshot: scope: the query's canonical text \"{}\"... does not parse: query nests deeper than 128 levels at column 513",
            "NOT ".repeat(16)
        )
    );

    // Send logs hold ids the store handed out. `SendLog::record` checks them against the
    // store it is given; a log recorded against another store (or deserialised) is
    // checked here.
    assert_eq!(
        one(&|e| {
            let mut log = SendLog::new();
            let ids: RoaringBitmap = [3, 7].into_iter().collect();
            log.record(
                &store_of(8),
                Hour::new(ymd(2025, 1, 6), 9).unwrap(),
                "sms",
                &ids,
            )
            .unwrap();
            e.send_logs.insert("s".into(), log);
        }),
        "cannot write send log \"s\" to a snapshot: bucket 0 (2025-01-06 09:00, channel \"sms\") holds customer id 7, but the store handed out only 7 ids"
    );
    // One id: singular.
    let mut log = SendLog::new();
    log.record(
        &store_of(3),
        Hour::new(ymd(2025, 1, 6), 9).unwrap(),
        "sms",
        &[2].into_iter().collect(),
    )
    .unwrap();
    let mut e = Extras::new();
    e.send_logs.insert("s".into(), log);
    assert_eq!(
        write_err(&store_of(1), &e).to_string(),
        "cannot write send log \"s\" to a snapshot: bucket 0 (2025-01-06 09:00, channel \"sms\") holds customer id 2, but the store handed out only 1 id"
    );

    // Limits: names of 200 characters, lists of 2^20 items.
    let long = "é".repeat(201);
    assert_eq!(
        one(&|e| {
            e.tiers.insert(
                long.clone(),
                Tiers::new("lead_score", "tier").rest("all").unwrap(),
            );
        }),
        format!(
            "cannot write tiers \"{}\" to a snapshot: the name \"{}\"... has 201 characters, more than 200",
            "é".repeat(64),
            "é".repeat(64)
        )
    );
    assert_eq!(
        one(&|e| {
            e.rule_sets.insert(
                "w".into(),
                RuleSet::new().rule(Rule::new("r", Query::new(Expr::All)).add(long.clone())),
            );
        }),
        format!(
            "cannot write rule set \"w\" to a snapshot: rule \"r\": tag name \"{}\"... has 201 characters, more than 200",
            "é".repeat(64)
        )
    );
    assert_eq!(
        one(&|e| {
            let mut set = RuleSet::new();
            set.groups
                .insert("g".into(), vec![tag_ref("x"); (1 << 20) + 1]);
            e.rule_sets.insert("w".into(), set);
        }),
        "cannot write rule set \"w\" to a snapshot: 1048577 tags in a group, more than 1048576"
    );
}

// ----------------------------------------------------------------------------------------
// Reading: every problem named, with its section and entry
// ----------------------------------------------------------------------------------------

#[test]
fn sections_written_by_hand_from_the_spec_load() {
    let s = small_store();
    let base = Parts::split(&snapshot(&s));
    let mut extras = Extras::new();
    let dim_b = TagRef {
        dimension: Some("dim".into()),
        name: "b".into(),
    };
    let mut t =
        Rule::new("t", Query::parse("ALL").unwrap()).add_template(TagTemplate::new("x-{date}"));
    t.remove.push(TagSelector::Tag(dim_b.clone()));
    let mut set = RuleSet::new()
        .rule(Rule::new("r", Query::parse("vip").unwrap()).add("vip"))
        .rule(t.remove_dimension("d").remove_group("g"));
    set.groups.insert("g".into(), vec![tag_ref("a"), dim_b]);
    extras.rule_sets.insert("w".into(), set);
    let mut log = SendLog::with_retention(24).unwrap();
    let now = Hour::new(ymd(2025, 1, 6), 9).unwrap();
    log.record(&s, now, "sms", &[1, 3].into_iter().collect())
        .unwrap();
    log.record(&s, now, "sms", &[3].into_iter().collect())
        .unwrap();
    extras.send_logs.insert("s".into(), log);
    extras.rfm.insert(
        "m".into(),
        RfmConfig::default().segments(Some(
            SegmentMap::new()
                .rule(SegmentRule::new("top").r(5..=5).m(1..=5))
                .rule(SegmentRule::new("rest").r(1..=4)),
        )),
    );
    extras.tiers.insert(
        "t".into(),
        Tiers::new("lead_score", "tier")
            .tier("S", 80)
            .unwrap()
            .rest("C")
            .unwrap(),
    );

    let by_hand = [
        Enc::default()
            .str("w")
            .u32(1)
            .str("g")
            .u32(2)
            .tag("a")
            .some()
            .str("dim")
            .str("b")
            .u32(2)
            .str("r")
            .str("vip")
            .u32(1)
            .u8(0)
            .tag("vip")
            .u32(0)
            .str("t")
            .str("ALL")
            .u32(1)
            .u8(1)
            .str("x-{date}")
            .str("general")
            .none()
            .u32(3)
            .u8(0)
            .some()
            .str("dim")
            .str("b")
            .u8(1)
            .str("d")
            .u8(2)
            .str("g")
            .done(KIND_RULE_SET),
        Enc::default()
            .str("s")
            .u32(24)
            .u32(1)
            .str("sms")
            .some()
            .i64(now.0)
            .some()
            .i64(now.0 - 24)
            .u32(1)
            .i64(now.0)
            .u32(0)
            .u32(2)
            .bitmap(&[1, 3])
            .bitmap(&[3])
            .done(KIND_SEND_LOG),
        rfm_section(
            "m",
            Some(
                Enc::default()
                    .u32(2)
                    .str("top")
                    .some()
                    .u8(5)
                    .u8(5)
                    .none()
                    .some()
                    .u8(1)
                    .u8(5)
                    .str("rest")
                    .some()
                    .u8(1)
                    .u8(4)
                    .none()
                    .none(),
            ),
        ),
        Enc::default()
            .str("t")
            .str("lead_score")
            .str("tier")
            .u32(2)
            .str("S")
            .some()
            .i64(80)
            .str("C")
            .none()
            .done(KIND_TIERS),
    ];
    let bytes = base.with(&by_hand);
    assert_eq!(
        Parts::without_journal(&bytes),
        Parts::without_journal(&snapshot_with(&s, &extras)),
        "the spec's bytes"
    );
    let (_, loaded) = audience::snapshot::read_with(&bytes[..]).unwrap();
    assert_eq!(loaded, extras);
}

#[test]
fn read_errors_name_the_section_the_entry_and_the_problem() {
    let s = small_store();
    let base = Parts::split(&snapshot(&s));
    let full = Parts::split(&snapshot_with(&s, &sample_extras()));
    let first_extra = full
        .kinds()
        .iter()
        .position(|&k| k == KIND_RULE_SET)
        .unwrap();

    // The full text names the section, its index and offset, and the entry.
    let bad_tiers = Enc::default()
        .str("t")
        .str("lead_score")
        .str("tier")
        .u32(2)
        .str("S")
        .some()
        .i64(80)
        .str("A")
        .some()
        .i64(90)
        .done(KIND_TIERS);
    let bytes = base.with(std::slice::from_ref(&bad_tiers));
    let index = base.sections.len() - 1;
    let Err(err) = audience::snapshot::read_with(&bytes[..]) else {
        panic!("loaded")
    };
    assert_eq!(
        err.to_string(),
        format!(
            "snapshot tiers section #{index} (at byte {}): tiers \"t\": tiers of lead_score: thresholds must decrease from the first tier down, but \"A\" (>= 90) follows \"S\" (>= 80)",
            base.offset(index)
        )
    );
    assert_eq!(snapshot_error(&bytes).section, Section::Tiers);

    let check = |sections: &[(u32, Vec<u8>)], section: Section, message: &str| {
        assert_eq!(
            invalid(&base.with(sections)),
            (section, message.to_string())
        );
    };

    // Order: the store's sections first, kinds ascending, names ascending and unique.
    let mut p = full.clone();
    let members = p.kinds().iter().rposition(|&k| k == 4).unwrap();
    let moved = p.sections.remove(members);
    let end = p.sections.len() - 1;
    p.sections.insert(end, moved);
    assert_eq!(
        invalid(&p.join()),
        (
            Section::Members,
            "the store's members section must come before the tiers sections".to_string()
        )
    );
    let mut p = full.clone();
    let attr = p
        .kinds()
        .iter()
        .rposition(|&k| k == KIND_ATTRIBUTE)
        .unwrap();
    let moved = p.sections.remove(attr);
    let end = p.sections.len() - 1;
    p.sections.insert(end, moved);
    assert_eq!(
        invalid(&p.join()),
        (
            Section::Attribute,
            "the store's attribute section must come before the tiers sections".to_string()
        )
    );
    let mut p = full.clone();
    let last_extra = p.sections.len() - 2;
    p.sections.swap(first_extra, last_extra);
    assert_eq!(
        invalid(&p.join()),
        (
            Section::RuleSet,
            "a rule set section after a tiers section (these sections ascend by kind)".to_string()
        )
    );
    let mut p = full.clone();
    p.sections.swap(first_extra, first_extra + 1);
    assert_eq!(
        invalid(&p.join()),
        (
            Section::RuleSet,
            "rule set \"lifecycle\" after rule set \"weekly\" (names ascend)".to_string()
        )
    );
    let mut p = full.clone();
    let again = p.sections[first_extra].clone();
    p.sections.insert(first_extra + 1, again);
    p.sections.last_mut().unwrap().1 = (p.sections.len() as u32 - 1).to_le_bytes().to_vec();
    assert_eq!(
        invalid(&p.join()),
        (
            Section::RuleSet,
            "rule set \"lifecycle\" appears twice".to_string()
        )
    );

    // Rule sets.
    check(
        &[rule_set_section("x", "r", "vip AND (")],
        Section::RuleSet,
        "rule set \"x\": rule \"r\": the query \"vip AND (\" does not parse: expected a tag, an attribute or \"(\", found end of query at column 10",
    );
    let long_in = format!("IN [{}]", vec!["a"; 14_000].join(","));
    check(
        &[rule_set_section("x", "r", &long_in)],
        Section::RuleSet,
        "rule set \"x\": rule \"r\": the query's canonical text \"a OR a OR a OR a OR a OR a OR a OR a OR a OR a OR a OR a OR a OR\"... does not parse: query is 69996 bytes long, the limit is 65536",
    );
    let two_rules = Enc::default()
        .str("x")
        .u32(0)
        .u32(2)
        .str("r")
        .str("ALL")
        .u32(0)
        .u32(1)
        .u8(1)
        .str("d")
        .str("R")
        .str("ALL")
        .u32(0)
        .u32(1)
        .u8(1)
        .str("d")
        .done(KIND_RULE_SET);
    check(
        &[two_rules],
        Section::RuleSet,
        "rule set \"x\": two rules are named \"R\"",
    );
    let bad_target = Enc::default()
        .str("x")
        .u32(0)
        .u32(1)
        .str("r")
        .str("ALL")
        .u32(1)
        .u8(7)
        .str("vip")
        .done(KIND_RULE_SET);
    check(
        &[bad_target],
        Section::RuleSet,
        "rule set \"x\": rule \"r\": unknown target kind 7",
    );
    let bad_selector = Enc::default()
        .str("x")
        .u32(0)
        .u32(1)
        .str("r")
        .str("ALL")
        .u32(0)
        .u32(1)
        .u8(3)
        .str("vip")
        .done(KIND_RULE_SET);
    check(
        &[bad_selector],
        Section::RuleSet,
        "rule set \"x\": rule \"r\": unknown selector kind 3",
    );
    let groups = Enc::default()
        .str("x")
        .u32(2)
        .str("b")
        .u32(0)
        .str("a")
        .u32(0)
        .u32(0)
        .done(KIND_RULE_SET);
    check(
        &[groups],
        Section::RuleSet,
        "rule set \"x\": group \"a\" after group \"b\" (groups ascend by name, each once)",
    );
    let bad_flag = Enc::default()
        .str("x")
        .u32(1)
        .str("g")
        .u32(1)
        .u8(2)
        .str("vip")
        .done(KIND_RULE_SET);
    check(
        &[bad_flag],
        Section::RuleSet,
        "rule set \"x\": tag dimension: 2 is neither 0 nor 1",
    );
    let short = Enc::default()
        .str("x")
        .u32(0)
        .u32(3)
        .u32(0)
        .done(KIND_RULE_SET);
    check(
        &[short],
        Section::RuleSet,
        "rule set \"x\": 3 rules need at least 48 bytes, only 4 are left",
    );
    let mut trailing = Enc::default().str("x").u32(0).u32(0).u8(0);
    trailing = trailing.u8(0);
    check(
        &[trailing.done(KIND_RULE_SET)],
        Section::RuleSet,
        "rule set \"x\": 2 unexpected bytes after the content",
    );
    let long = "ß".repeat(201);
    check(
        &[rule_set_section(&long, "r", "vip")],
        Section::RuleSet,
        &format!(
            "rule set \"{0}\"...: the name \"{0}\"... has 201 characters, more than 200",
            "ß".repeat(64)
        ),
    );

    // Send logs: the log's own checks, and ids the directory handed out.
    let log = |retention: u32, buckets: &[(i64, &[u32])]| {
        let mut e = Enc::default()
            .str("s")
            .u32(retention)
            .u32(1)
            .str("whatsapp")
            .some()
            .i64(Hour::new(ymd(2025, 1, 6), 12).unwrap().0)
            .none()
            .u32(buckets.len() as u32);
        for (hour, ids) in buckets {
            e = e.i64(*hour).u32(0).u32(1).bitmap(ids);
        }
        e.done(KIND_SEND_LOG)
    };
    let nine = Hour::new(ymd(2025, 1, 6), 9).unwrap().0;
    check(
        &[log(24, &[(nine, &[1, 7])])],
        Section::SendLog,
        "send log \"s\": bucket 0 (2025-01-06 09:00, channel \"whatsapp\") holds customer id 7, but the store handed out only 7 ids",
    );
    check(
        &[log(24, &[(nine, &[1]), (nine - 1, &[1])])],
        Section::SendLog,
        "send log \"s\": invalid argument: invalid send log: bucket 1 is out of order",
    );
    check(
        &[log(0, &[])],
        Section::SendLog,
        "send log \"s\": invalid setting SendLog::with_retention: a send log keeps 1 to 8784 hours, got 0",
    );
    check(
        &[log(24, &[(nine + 5, &[1])])],
        Section::SendLog,
        "send log \"s\": invalid argument: invalid send log: bucket 0 lies outside the log's hours",
    );

    // RFM configurations: the configuration's own checks, gaps and overlaps included.
    let segments = |rules: &[(&str, Option<(u8, u8)>)]| {
        let mut e = Enc::default().u32(rules.len() as u32);
        for (name, r) in rules {
            e = e.str(name);
            e = match r {
                Some((lo, hi)) => e.some().u8(*lo).u8(*hi),
                None => e.none(),
            };
            e = e.none().none();
        }
        e
    };
    check(
        &[rfm_section(
            "m",
            Some(segments(&[("recent", Some((2, 5)))])),
        )],
        Section::Rfm,
        "RFM configuration \"m\": the RFM segment map leaves 25 score cells without a segment: R1 F1 M1-5, R1 F2 M1-5, R1 F3 M1-5, R1 F4 M1-5, R1 F5 M1-5",
    );
    check(
        &[rfm_section(
            "m",
            Some(segments(&[("all", None), ("recent", Some((5, 5)))])),
        )],
        Section::Rfm,
        "RFM configuration \"m\": RFM segments \"all\" and \"recent\" both claim 25 score cells: R5 F1 M1-5, R5 F2 M1-5, R5 F3 M1-5, R5 F4 M1-5, R5 F5 M1-5",
    );
    check(
        &[rfm_section("m", Some(segments(&[])))],
        Section::Rfm,
        "RFM configuration \"m\": RFM segment map: a map names 1 to 64 segments, got 0",
    );
    let mut two_bins = rfm_section("m", None);
    // The recency bins: after the name (5 bytes) and the attribute (17), the code.
    assert_eq!(two_bins.1[5 + 17..5 + 19], [0, 5]);
    two_bins.1[5 + 18] = 2;
    check(
        &[two_bins.clone()],
        Section::Rfm,
        "RFM configuration \"m\": invalid setting RfmConfig::binning: recency: quantiles need 3 to 10 bins, got 2",
    );
    two_bins.1[5 + 17] = 9;
    check(
        &[two_bins],
        Section::Rfm,
        "RFM configuration \"m\": unknown binning 9",
    );
    let mut scoped = Enc::default().str("m");
    for a in ["last_purchase", "purchase_count", "monetary"] {
        scoped = scoped.str(a).u8(0).u8(5);
    }
    check(
        &[scoped.some().str("(vip").none().done(KIND_RFM)],
        Section::Rfm,
        "RFM configuration \"m\": scope: the query \"(vip\" does not parse: unclosed parenthesis at column 1",
    );

    // Tiers.
    let tiers = |rows: &[(&str, Option<i64>)]| {
        let mut e = Enc::default()
            .str("t")
            .str("lead_score")
            .str("tier")
            .u32(rows.len() as u32);
        for (name, at_least) in rows {
            e = e.str(name);
            e = match at_least {
                Some(v) => e.some().i64(*v),
                None => e.none(),
            };
        }
        e.done(KIND_TIERS)
    };
    check(
        &[tiers(&[("C", None), ("S", Some(80))])],
        Section::Tiers,
        "tiers \"t\": tiers of lead_score: only the last tier may take everything lower, not \"C\"",
    );
    check(
        &[tiers(&[("S", Some(80)), ("s", None)])],
        Section::Tiers,
        "tiers \"t\": tiers of lead_score: tier \"s\" is named twice",
    );
    check(
        &[tiers(&[])],
        Section::Tiers,
        "tiers \"t\": tiers of lead_score: give 1 to 256 tiers, got 0",
    );
}

#[test]
fn an_older_reader_refuses_extras_rather_than_drop_them() {
    // Kinds 6 to 9 are required: their bit 31 is clear, so a reader that does not know
    // them stops with "unknown kind ... which must not be skipped".
    let bytes = snapshot_with(&small_store(), &sample_extras());
    // (The journal position is optional by design: an older reader loses only it.)
    for (kind, _) in Parts::split(&Parts::without_journal(&bytes)).sections {
        assert_eq!(kind & 0x8000_0000, 0);
    }
}

// ----------------------------------------------------------------------------------------
// Every corruption is detected
// ----------------------------------------------------------------------------------------

/// A small snapshot with one entry of every kind.
fn small_snapshot() -> Vec<u8> {
    let mut e = sample_extras();
    e.rule_sets.remove("lifecycle");
    e.rfm.remove("everyone");
    e.tiers.remove("spend");
    let bytes = snapshot_with(&small_store(), &e);
    assert!(
        bytes.len() < 4096,
        "keep this snapshot small: {}",
        bytes.len()
    );
    bytes
}

#[test]
fn every_single_byte_corruption_and_truncation_is_detected() {
    let bytes = small_snapshot();
    parts::assert_every_damage_refused(&bytes, |b| audience::snapshot::read_with(b));
}

/// Corruption behind recomputed checksums reaches the section parsers: they never panic,
/// and whatever they accept is a state that writes and reads back as itself.
#[test]
fn corrupted_content_behind_valid_checksums_never_panics() {
    let parts = Parts::split(&small_snapshot());
    let first_extra = parts
        .kinds()
        .iter()
        .position(|&k| k == KIND_RULE_SET)
        .unwrap();
    let mut loaded = 0;
    for s in first_extra..parts.sections.len() - 1 {
        for i in 0..parts.sections[s].1.len() {
            for pattern in [0x01u8, 0x80, 0xFF, 0x5A] {
                let mut p = parts.clone();
                p.sections[s].1[i] ^= pattern;
                let bytes = p.join();
                let r = std::panic::catch_unwind(|| audience::snapshot::read_with(&bytes[..]));
                match r {
                    Ok(Err(_)) => {}
                    Ok(Ok((store, extras))) => {
                        loaded += 1;
                        let again = snapshot_with(&store, &extras);
                        let (_, back) = audience::snapshot::read_with(&again[..]).unwrap();
                        assert_eq!(
                            back,
                            without_erased(&store, &extras),
                            "section {s} byte {i} ^ {pattern:#04x}"
                        );
                    }
                    Err(_) => panic!("section {s} byte {i} ^ {pattern:#04x} panicked"),
                }
            }
        }
    }
    // Some flips only change a name or a number: those load, as other valid content.
    assert!(loaded > 0);
}

// ----------------------------------------------------------------------------------------
// Random stores and random extras round-trip
// ----------------------------------------------------------------------------------------

fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("vip".to_string()),
        Just("高消費力".to_string()),
        Just("VIP клиент".to_string()),
        Just("and".to_string()),
        Just("".to_string()),
        Just("say \"hi\" \\ there".to_string()),
        "[a-zA-Z_/.\\-]{1,8}",
        "\\PC{0,6}",
    ]
}

fn any_tag_ref() -> impl Strategy<Value = TagRef> {
    (prop::option::of(any_name()), any_name())
        .prop_map(|(dimension, name)| TagRef { dimension, name })
}

fn any_expr() -> impl Strategy<Value = Expr> {
    let op = prop_oneof![
        Just(audience::query::CmpOp::Eq),
        Just(audience::query::CmpOp::Ne),
        Just(audience::query::CmpOp::Lt),
        Just(audience::query::CmpOp::Ge),
    ];
    let literal = prop_oneof![
        any::<i64>().prop_map(Literal::Int),
        (Day::MIN.as_i32()..=Day::MAX.as_i32())
            .prop_map(|d| Literal::Day(Day::EPOCH.saturating_add(d))),
        "\\PC{0,6}".prop_map(Literal::Text),
    ];
    let leaf = prop_oneof![
        any_tag_ref().prop_map(Expr::Tag),
        (any_name(), op, literal.clone()).prop_map(|(attr, op, value)| Expr::Cmp {
            attr,
            op,
            value
        }),
        // Reversed bounds do not parse: bounds of one kind in order.
        (any_name(), literal.clone(), literal).prop_map(|(attr, a, b)| {
            let (lo, hi) = match (&a, &b) {
                (Literal::Int(x), Literal::Int(y)) if x > y => (b, a),
                (Literal::Day(x), Literal::Day(y)) if x > y => (b, a),
                _ => (a, b),
            };
            Expr::Between { attr, lo, hi }
        }),
        any_name().prop_map(|attr| Expr::IsNull { attr }),
        (any_name(), crate::query_model::any_period())
            .prop_map(|(attr, days)| Expr::Within { attr, days }),
        (any_tag_ref(), crate::query_model::any_period())
            .prop_map(|(tag, days)| Expr::AssignedBefore { tag, days }),
        any_name().prop_map(Expr::Set),
        Just(Expr::All),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn any_rule_set() -> impl Strategy<Value = RuleSet> {
    let target = prop_oneof![
        any_tag_ref().prop_map(TagTarget::Tag),
        (any_name(), any_name(), prop::option::of(any::<u32>())).prop_map(
            |(pattern, dimension, ttl_days)| TagTarget::Template(TagTemplate {
                pattern,
                dimension,
                ttl_days
            })
        ),
    ];
    let selector = prop_oneof![
        any_tag_ref().prop_map(TagSelector::Tag),
        any_name().prop_map(TagSelector::Dimension),
        any_name().prop_map(TagSelector::Group),
    ];
    let rule = (
        any_name(),
        any_expr(),
        prop::collection::vec(target, 0..3),
        prop::collection::vec(selector, 0..3),
    );
    (
        // Group names are valid names: never empty.
        prop::collection::btree_map(
            any_name().prop_map(|n| format!("g:{n}")),
            prop::collection::vec(any_tag_ref(), 0..3),
            0..3,
        ),
        prop::collection::vec(rule, 0..4),
    )
        .prop_map(|(groups, rules)| RuleSet {
            groups,
            rules: rules
                .into_iter()
                .enumerate()
                // Rule names are distinct: the index makes them so.
                .map(|(i, (name, when, add, remove))| Rule {
                    name: format!("{i}:{name}"),
                    when: Query::new(when),
                    add,
                    remove,
                })
                .collect(),
        })
}

fn any_binning() -> impl Strategy<Value = Binning> {
    prop_oneof![
        (3u8..=10).prop_map(Binning::Quantiles),
        prop::collection::btree_set(any::<i64>(), 2..=9)
            .prop_map(|edges| Binning::Edges(edges.into_iter().collect())),
    ]
}

fn any_rfm() -> impl Strategy<Value = RfmConfig> {
    (
        [any_name(), any_name(), any_name()],
        [any_binning(), any_binning(), any_binning()],
        prop::option::of(any_expr()),
        0u8..5,
        any::<u8>(),
    )
        .prop_map(|([r, f, m], [br, bf, bm], scope, map, cut)| {
            let n = br.bins() as u8;
            let k = 1 + cut % (n - 1);
            let segments = match map {
                0 => None,
                1 => Some(SegmentMap::new().rule(SegmentRule::new("everyone"))),
                2 => Some(
                    SegmentMap::new()
                        .rule(SegmentRule::new("low").r(1..=k))
                        .rule(SegmentRule::new("high").r(k + 1..=n)),
                ),
                3 => Some(
                    SegmentMap::new()
                        .rule(SegmentRule::new("Mono").m(1..=1))
                        .rule(SegmentRule::new("rest").m(2..=bm.bins() as u8)),
                ),
                _ => None,
            };
            // A first-match table: overlapping rules, a name shared by two, the rest.
            let table = (map == 4).then(|| {
                audience::FirstMatchMap::new("others")
                    .rule(SegmentRule::new("top").r(k..=n))
                    .rule(SegmentRule::new("low").r(1..=k))
                    .rule(SegmentRule::new("top").m(1..=1))
            });
            let config = RfmConfig::new(r, f, m)
                .segments(segments)
                .first_match(table)
                .binning(Measure::Recency, br)
                .unwrap()
                .binning(Measure::Frequency, bf)
                .unwrap()
                .binning(Measure::Monetary, bm)
                .unwrap();
            match scope {
                Some(q) => config.scope(Query::new(q)),
                None => config,
            }
        })
}

fn any_tiers() -> impl Strategy<Value = Tiers> {
    (
        any_name(),
        any_name(),
        prop::collection::btree_set(any::<i64>(), 1..5),
        any::<bool>(),
    )
        .prop_map(|(attribute, dimension, thresholds, rest)| {
            let mut tiers = Tiers::new(attribute, dimension);
            for (i, v) in thresholds.into_iter().rev().enumerate() {
                tiers = tiers.tier(format!("tier {i}"), v).unwrap();
            }
            if rest {
                tiers = tiers.rest("rest").unwrap();
            }
            tiers
        })
}

/// A send log from recorded sends: (hour, channel, customers) with customers taken modulo
/// the store's id space, and customers erased from it afterwards.
type Sends = (u32, Vec<(i64, usize, Vec<u32>)>, Vec<u32>);

fn any_sends() -> impl Strategy<Value = Sends> {
    (
        1u32..200,
        prop::collection::vec(
            (
                0i64..400,
                0usize..4,
                prop::collection::vec(any::<u32>(), 0..6),
            ),
            0..12,
        ),
        prop::collection::vec(any::<u32>(), 0..3),
    )
}

fn send_log(sends: &Sends, id_space: u64) -> SendLog {
    let (retention, records, erased) = sends;
    let channels = ["whatsapp", "LINE", " sms ", "電話"];
    let mut log = SendLog::with_retention(*retention).unwrap();
    // Recorded before any erasure: a store of as many ids, all live.
    let issued = store_of(id_space);
    let ids = |xs: &[u32]| -> RoaringBitmap {
        xs.iter()
            .filter(|_| id_space > 0)
            .map(|&x| (u64::from(x) % id_space.max(1)) as u32)
            .collect()
    };
    for (hour, channel, customers) in records {
        log.record(
            &issued,
            Hour(480_000 + hour),
            channels[*channel],
            &ids(customers),
        )
        .unwrap();
    }
    log.erase(&ids(erased));
    log
}

/// A random store: customers with phone and member keys, some erased, a tag, values.
fn random_store(customers: &[(bool, bool, Option<i64>)]) -> Store {
    let mut s = Store::new();
    let vip = s
        .create_tag(
            &Edit::new("p", Day::from_days(0).unwrap()),
            TagSpec::new("vip"),
        )
        .unwrap();
    let a = s.define_attribute("a", AttrKind::Int).unwrap();
    for (i, &(member, erased, value)) in customers.iter().enumerate() {
        let key = if member {
            CustomerKey::member(format!("m{i}")).unwrap()
        } else {
            CustomerKey::Phone(66_800_000_000 + i as u64)
        };
        let c = s.add_customer(key).unwrap();
        if let Some(v) = value {
            s.set_value(c, a, v).unwrap();
            s.add_tag(c, vip, Day::EPOCH.saturating_add(v as i32 % 100))
                .unwrap();
        }
        if erased {
            s.erase_customer(c).unwrap();
        }
    }
    s
}

#[derive(Debug, Clone)]
struct World {
    customers: Vec<(bool, bool, Option<i64>)>,
    rule_sets: BTreeMap<String, RuleSet>,
    sends: BTreeMap<String, Sends>,
    rfm: BTreeMap<String, RfmConfig>,
    tiers: BTreeMap<String, Tiers>,
}

fn any_world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(
            (
                any::<bool>(),
                prop::bool::weighted(0.2),
                prop::option::of(-1000i64..1000),
            ),
            0..40,
        ),
        prop::collection::btree_map(any_name(), any_rule_set(), 0..3),
        prop::collection::btree_map(any_name(), any_sends(), 0..3),
        prop::collection::btree_map(any_name(), any_rfm(), 0..3),
        prop::collection::btree_map(any_name(), any_tiers(), 0..3),
    )
        .prop_map(|(customers, rule_sets, sends, rfm, tiers)| World {
            customers,
            rule_sets,
            sends,
            rfm,
            tiers,
        })
}

fn build(w: &World) -> (Store, Extras) {
    let store = random_store(&w.customers);
    let mut extras = Extras::new();
    extras.rule_sets = w.rule_sets.clone();
    extras.send_logs = w
        .sends
        .iter()
        .map(|(k, v)| (k.clone(), send_log(v, store.id_space())))
        .collect();
    extras.rfm = w.rfm.clone();
    extras.tiers = w.tiers.clone();
    (store, extras)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any store with any extras loads back equal, and writes identical bytes.
    #[test]
    fn random_extras_round_trip(w in any_world()) {
        let (store, extras) = build(&w);
        let bytes = snapshot_with(&store, &extras);
        let (loaded, loaded_extras) = audience::snapshot::read_with(&bytes[..]).unwrap();
        prop_assert_eq!(&loaded_extras, &without_erased(&store, &extras));
        prop_assert_eq!(snapshot(&loaded), snapshot(&store));
        prop_assert_eq!(snapshot_with(&loaded, &loaded_extras), bytes);
    }

    /// Random corruption (a few bytes set to random values) never loads and never panics.
    #[test]
    fn random_corruption_is_detected(
        w in any_world(),
        hits in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let (store, extras) = build(&w);
        let bytes = snapshot_with(&store, &extras);
        let mut bad = bytes.clone();
        for (at, x) in &hits {
            let i = at.index(bad.len());
            bad[i] ^= x;
        }
        prop_assume!(bad != bytes);
        prop_assert!(audience::snapshot::read_with(&bad[..]).is_err());
    }
}
