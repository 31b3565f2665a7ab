//! Taxonomy governance: permissions, reasons, naming rules and the change log, with the
//! exact text of every error.

use audience::{
    Change, CustomerKey, Day, Edit, ErrorKind, LogEntry, NamingRules, Policy, Store, TagKind,
    TagSpec, TaxonomyAction,
};

fn day(d: u32) -> Day {
    Day::from_ymd(2025, 1, d).unwrap()
}

/// A store with two tags ("stage/ordered" with 3 members, "stage/paid" with 2) made under
/// an open policy, then governed by mei and somchai (CRM tagging guides' one or two administrators).
fn governed() -> Store {
    let mut store = Store::new();
    let e = Edit::new("mei", day(1));
    let ordered = store
        .create_tag(&e, TagSpec::new("stage/ordered").dimension("stage"))
        .unwrap();
    let paid = store
        .create_tag(&e, TagSpec::new("stage/paid").dimension("stage"))
        .unwrap();
    for i in 0..3 {
        let c = store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        store.add_tag(c, ordered, day(1)).unwrap();
        if i < 2 {
            store.add_tag(c, paid, day(1)).unwrap();
        }
    }
    store
        .set_policy(&e, Policy::administered_by(["somchai", "mei"]).unwrap())
        .unwrap();
    store
}

/// Everything a reader can see of the taxonomy and its members.
fn snapshot(store: &Store) -> String {
    let mut out = format!("{:?}\n{:?}\n", store.policy(), store.change_log());
    for t in store.tags() {
        out += &format!("{t:?} {:?}\n", store.members(t.id).unwrap());
    }
    out += &format!("{:?}", store.dimensions());
    out
}

#[test]
fn only_administrators_change_the_taxonomy() {
    let mut store = governed();
    let ordered = store.tag_id("stage/ordered").unwrap();
    let paid = store.tag_id("stage/paid").unwrap();
    let before = snapshot(&store);
    let intern = Edit::new("intern", day(2)).because("tidying up");
    let expect = |action: &str| {
        format!("actor \"intern\" may not {action}; ask an administrator (mei, somchai)")
    };

    let e = store
        .create_tag(&intern, TagSpec::new("stage/vip").dimension("stage"))
        .unwrap_err();
    assert_eq!(e.to_string(), expect("create tags"));
    assert_eq!(
        e.kind(),
        &ErrorKind::NotPermitted {
            actor: "intern".into(),
            action: "create tags",
            administrators: vec!["mei".into(), "somchai".into()],
        }
    );
    let cases: Vec<(String, audience::Error)> = vec![
        (
            expect("rename tags"),
            store.rename_tag(&intern, paid, "stage/payé").unwrap_err(),
        ),
        (
            expect("merge tags"),
            store.merge_tags(&intern, ordered, paid).unwrap_err(),
        ),
        (
            expect("archive tags"),
            store.archive_tag(&intern, paid).unwrap_err(),
        ),
        (
            expect("archive tags"),
            store.unarchive_tag(&intern, paid).unwrap_err(),
        ),
        (
            expect("delete tags"),
            store.delete_tag(&intern, paid).unwrap_err(),
        ),
        (
            expect("change a tag's time-to-live"),
            store.set_ttl(&intern, paid, Some(60)).unwrap_err(),
        ),
        (
            expect("change descriptions and colours"),
            store
                .describe_tag(&intern, paid, TagKind::Dynamic, "x")
                .unwrap_err(),
        ),
        (
            expect("change descriptions and colours"),
            store
                .set_dimension_colour(&intern, "stage", Some("green".into()))
                .unwrap_err(),
        ),
        (
            expect("change the policy"),
            store.set_policy(&intern, Policy::open()).unwrap_err(),
        ),
    ];
    for (want, got) in cases {
        assert_eq!(got.to_string(), want);
        assert!(matches!(got.kind(), ErrorKind::NotPermitted { .. }));
    }
    // A forbidden change changes nothing, not even the log.
    assert_eq!(snapshot(&store), before);

    // Anyone may assign tags and record uses: those are not taxonomy changes.
    let c = store
        .add_customer(CustomerKey::member("m9").unwrap())
        .unwrap();
    store.add_tag(c, paid, day(2)).unwrap();
    store.record_use(paid, day(2)).unwrap();

    // The administrators may.
    let admin = Edit::new("somchai", day(3)).because("one meaning, one tag");
    assert_eq!(store.merge_tags(&admin, ordered, paid).unwrap(), 1);
    assert_eq!(store.members(ordered).unwrap().len(), 4);
}

#[test]
fn actions_opened_to_everyone() {
    let mut store = governed();
    let mei = Edit::new("mei", day(2));
    let policy = store
        .policy()
        .clone()
        .allow_anyone(TaxonomyAction::Create)
        .allow_anyone(TaxonomyAction::Create);
    assert_eq!(policy.open_to_all(), vec![TaxonomyAction::Create]);
    store.set_policy(&mei, policy).unwrap();
    let anyone = Edit::new("anyone", day(2)).because("campaign over");
    let t = store
        .create_tag(&anyone, TagSpec::new("spring limited"))
        .unwrap();
    assert_eq!(
        store.delete_tag(&anyone, t).unwrap_err().to_string(),
        "actor \"anyone\" may not delete tags; ask an administrator (mei, somchai)"
    );
    // Actors are compared exactly.
    assert!(!store.policy().permits("Mei", TaxonomyAction::Delete));
    assert!(store.policy().permits("mei", TaxonomyAction::Delete));
    for action in TaxonomyAction::ALL {
        assert!(Policy::open().permits("x", action));
        assert!(!action.describe().is_empty());
    }
}

#[test]
fn the_policy_is_set_once_then_only_by_administrators() {
    let mut store = Store::new();
    assert!(store.policy().is_open());
    // While open, anyone may set a policy; it may name others as administrators.
    store
        .set_policy(
            &Edit::new("it", day(1)),
            Policy::administered_by(["mei", "mei", "ali"]).unwrap(),
        )
        .unwrap();
    assert_eq!(store.policy().administrators(), vec!["ali", "mei"]);
    assert!(!store.policy().is_open());
    assert_eq!(
        store
            .set_policy(&Edit::new("it", day(2)), Policy::open())
            .unwrap_err()
            .to_string(),
        "actor \"it\" may not change the policy; ask an administrator (ali, mei)"
    );
    // Invalid policies cannot be made: each setter refuses, naming itself.
    let ali = Edit::new("ali", day(3));
    let before = snapshot(&store);
    let refused = |e: audience::Error| {
        assert!(matches!(e.kind(), ErrorKind::InvalidSetting { .. }));
        e.to_string()
    };
    assert_eq!(
        refused(Policy::administered_by(["ali", " "]).unwrap_err()),
        "invalid setting Policy::administered_by: an administrator's name must not be blank"
    );
    assert_eq!(
        refused(NamingRules::new().max_chars(0).unwrap_err()),
        "invalid setting NamingRules::max_chars: a name's maximum length is at least 1 character"
    );
    assert_eq!(
        refused(NamingRules::new().prefix("stage", " ").unwrap_err()),
        "invalid setting NamingRules::prefix: the prefix of dimension \"stage\" is not a valid name: a name must not be empty"
    );
    assert_eq!(
        refused(
            NamingRules::new()
                .prefix("stage", "st")
                .unwrap()
                .prefix("Stage", "stg")
                .unwrap_err()
        ),
        "invalid setting NamingRules::prefix: dimension \"Stage\" has a prefix already (dimension names ignore case, width and extra spaces)"
    );
    let many: Vec<String> = (0..65).map(|i| format!("a{i}")).collect();
    assert_eq!(
        refused(Policy::administered_by(many).unwrap_err()),
        "invalid setting Policy::administered_by: a policy names at most 64 administrators"
    );
    assert_eq!(snapshot(&store), before);
    // An administrator may open the taxonomy again; every policy change is logged.
    store.set_policy(&ali, Policy::open()).unwrap();
    let changes: Vec<&Change> = store.change_log().iter().map(|e| &e.change).collect();
    assert_eq!(
        changes,
        vec![
            &Change::PolicyChanged {
                policy: Policy::administered_by(["ali", "mei"]).unwrap()
            },
            &Change::PolicyChanged {
                policy: Policy::open()
            },
        ]
    );
}

#[test]
fn deletions_and_merges_need_a_reason() {
    // With or without a policy.
    for governed_store in [false, true] {
        let mut store = governed();
        if !governed_store {
            store
                .set_policy(&Edit::new("mei", day(1)), Policy::open())
                .unwrap();
        }
        let ordered = store.tag_id("stage/ordered").unwrap();
        let paid = store.tag_id("stage/paid").unwrap();
        let before = snapshot(&store);
        let bare = Edit::new("mei", day(2));
        let blank = Edit::new("mei", day(2)).because("  ");
        for e in [&bare, &blank] {
            let err = store.delete_tag(e, paid).unwrap_err();
            assert_eq!(
                err.to_string(),
                "a reason is required to delete tag \"stage/paid\""
            );
            assert_eq!(
                err.kind(),
                &ErrorKind::ReasonRequired {
                    action: "delete",
                    tag: "stage/paid".into()
                }
            );
            let err = store.merge_tags(e, ordered, paid).unwrap_err();
            assert_eq!(
                err.to_string(),
                "a reason is required to merge tag \"stage/paid\""
            );
        }
        assert_eq!(snapshot(&store), before);
        // Other changes need none.
        store.archive_tag(&bare, paid).unwrap();
        store.unarchive_tag(&bare, paid).unwrap();
        store
            .delete_tag(&bare.clone().because("duplicate of ordered"), paid)
            .unwrap();
        let last = store.change_log().last().unwrap();
        assert_eq!(last.reason.as_deref(), Some("duplicate of ordered"));
    }
}

#[test]
fn naming_rules_on_create_and_rename() {
    let mut store = governed();
    let mei = Edit::new("mei", day(2));
    let rules = NamingRules::new()
        .require_dimension_prefix()
        .prefix("interests", "interest")
        .unwrap()
        .max_chars(20)
        .unwrap()
        .forbid_chars(",#")
        .unwrap();
    store
        .set_policy(
            &mei,
            Policy::administered_by(["mei"])
                .unwrap()
                .with_naming(rules.clone()),
        )
        .unwrap();
    let create = |store: &mut Store, name: &str, dim: &str| {
        store
            .create_tag(&mei, TagSpec::new(name).dimension(dim))
            .map_err(|e| e.to_string())
    };
    // The prefix: the dimension's name or its override, any case or width, one of / - _ .
    // and at least one more character.
    for (name, dim) in [
        ("interest/cosmetics", "interests"),
        ("Interest-Baby", "interests"),
        ("ＩＮＴＥＲＥＳＴ.3c", "interests"),
        ("channel_web", "channel"),
        ("Source Channel/line", "source channel"),
    ] {
        assert!(create(&mut store, name, dim).is_ok(), "{name}");
    }
    let refused = [
        (
            "cosmetics",
            "interests",
            "tag name \"cosmetics\" breaks a naming rule: names in dimension \"interests\" start \
             with \"interest\" and one of / - _ . (e.g. \"interest/cosmetics\")",
        ),
        (
            "interests/x",
            "interests",
            "tag name \"interests/x\" breaks a naming rule: names in dimension \"interests\" \
             start with \"interest\" and one of / - _ . (e.g. \"interest/interests/x\")",
        ),
        (
            "channel/",
            "channel",
            "tag name \"channel/\" breaks a naming rule: names in dimension \"channel\" start \
             with \"channel\" and one of / - _ . (e.g. \"channel/channel/\")",
        ),
        (
            "channel:web",
            "channel",
            "tag name \"channel:web\" breaks a naming rule: names in dimension \"channel\" start \
             with \"channel\" and one of / - _ . (e.g. \"channel/channel:web\")",
        ),
        (
            "channel/instagram-stories",
            "channel",
            "tag name \"channel/instagram-stories\" breaks a naming rule: at most 20 characters, \
             this name has 25",
        ),
        (
            "channel/ig#1",
            "channel",
            "tag name \"channel/ig#1\" breaks a naming rule: the character '#' is not allowed",
        ),
    ];
    for (name, dim, want) in refused {
        assert_eq!(create(&mut store, name, dim).unwrap_err(), want);
    }
    // An invalid name keeps its own message.
    assert_eq!(
        create(&mut store, "   ", "channel").unwrap_err(),
        "invalid name \"\": a name must not be empty"
    );
    // Renames are checked in the tag's dimension; names from before the rules stay.
    let paid = store.tag_id("stage/paid").unwrap();
    assert_eq!(
        store
            .rename_tag(&mei, paid, "paid")
            .unwrap_err()
            .to_string(),
        "tag name \"paid\" breaks a naming rule: names in dimension \"stage\" start with \
         \"stage\" and one of / - _ . (e.g. \"stage/paid\")"
    );
    store.rename_tag(&mei, paid, "stage-paid").unwrap();
    assert_eq!(store.tag(paid).unwrap().name, "stage-paid");
    let e = store.rename_tag(&mei, paid, "stage-paid,old").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NamingRule { .. }));
    // The rules are public: apps check a form before submitting it.
    assert!(rules.check("interest/x", "INTERESTS").is_ok());
    assert_eq!(rules.prefix_of("Interests"), "interest");
    assert_eq!(rules.prefix_of("stage"), "stage");
    assert!(!rules.is_empty());
    assert!(NamingRules::new().is_empty());
}

#[test]
fn the_change_log_says_who_what_when_and_why() {
    let mut store = Store::new();
    let mei = |d| Edit::new("mei", day(d));
    let spring = store
        .create_tag(
            &mei(1),
            TagSpec::new("spring limited").dimension("campaign"),
        )
        .unwrap();
    let ordered = store.create_tag(&mei(1), TagSpec::new("ordered")).unwrap();
    let paid = store.create_tag(&mei(2), TagSpec::new("payed")).unwrap();
    store.rename_tag(&mei(3), paid, "paid").unwrap();
    store.set_ttl(&mei(3), spring, Some(45)).unwrap();
    store
        .set_policy(&mei(4), Policy::administered_by(["mei"]).unwrap())
        .unwrap();
    store.archive_tag(&mei(5), spring).unwrap();
    store
        .merge_tags(&mei(6).because("one meaning, one tag"), ordered, paid)
        .unwrap();
    store
        .delete_tag(&mei(7).because("spring campaign over"), spring)
        .unwrap();

    let log = store.change_log();
    assert_eq!(log.len(), 9);
    assert_eq!(
        log.last().unwrap(),
        &LogEntry {
            day: day(7),
            actor: "mei".into(),
            change: Change::Deleted {
                tag: spring,
                name: "spring limited".into(),
                members: 0
            },
            reason: Some("spring campaign over".into()),
        }
    );
    // By period, both ends included, in log order.
    let days: Vec<Day> = store
        .change_log_between(day(3), day(6))
        .map(|e| e.day)
        .collect();
    assert_eq!(days, vec![day(3), day(3), day(4), day(5), day(6)]);
    assert_eq!(store.change_log_between(day(8), day(31)).count(), 0);
    assert_eq!(store.change_log_between(day(6), day(3)).count(), 0);
    // By tag, deleted and merged tags included.
    let spring_history: Vec<&Change> = store.tag_history(spring).map(|e| &e.change).collect();
    assert_eq!(
        spring_history,
        vec![
            &Change::Created {
                tag: spring,
                name: "spring limited".into(),
                dimension: "campaign".into()
            },
            &Change::TtlChanged {
                tag: spring,
                from: None,
                to: Some(45)
            },
            &Change::Archived {
                tag: spring,
                name: "spring limited".into()
            },
            &Change::Deleted {
                tag: spring,
                name: "spring limited".into(),
                members: 0
            },
        ]
    );
    assert_eq!(store.tag_history(paid).count(), 3);
    assert_eq!(store.tag_history(ordered).count(), 2);
}

#[cfg(feature = "serde")]
#[test]
fn the_log_and_the_policy_are_serde_data() {
    let mut store = governed();
    let mei = Edit::new("mei", day(2));
    store
        .set_policy(
            &mei,
            Policy::administered_by(["mei"])
                .unwrap()
                .allow_anyone(TaxonomyAction::Create)
                .with_naming(
                    NamingRules::new()
                        .require_dimension_prefix()
                        .prefix("interests", "interest")
                        .unwrap()
                        .max_chars(40)
                        .unwrap()
                        .forbid_chars(",")
                        .unwrap(),
                ),
        )
        .unwrap();
    let paid = store.tag_id("stage/paid").unwrap();
    store
        .delete_tag(&mei.clone().because("duplicate"), paid)
        .unwrap();
    let json = serde_json::to_string(store.change_log()).unwrap();
    let back: Vec<LogEntry> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, store.change_log());
    let policy_json = serde_json::to_value(store.policy()).unwrap();
    assert_eq!(
        policy_json,
        serde_json::json!({
            "administrators": ["mei"],
            "open_to_all": ["create"],
            "naming": {
                "dimension_prefix": true,
                "prefixes": {"interests": "interest"},
                "max_chars": 40,
                "forbidden_chars": [","]
            }
        })
    );
    let back: Policy = serde_json::from_value(policy_json).unwrap();
    assert_eq!(&back, store.policy());
}

#[test]
fn log_entries_read_as_sentences() {
    let mut store = Store::new();
    let d = day(3);
    let mei = Edit::new("mei", d);
    let a = store
        .create_tag(&mei, TagSpec::new("payed").dimension("stage"))
        .unwrap();
    let b = store
        .create_tag(&mei, TagSpec::new("ordered").dimension("stage"))
        .unwrap();
    store.rename_tag(&mei, a, "paid").unwrap();
    store.set_ttl(&mei, a, Some(30)).unwrap();
    store.set_ttl(&mei, a, None).unwrap();
    store
        .describe_tag(&mei, a, TagKind::Dynamic, "kept by rules")
        .unwrap();
    store
        .set_dimension_colour(&mei, "stage", Some("green".into()))
        .unwrap();
    store.set_dimension_colour(&mei, "stage", None).unwrap();
    store.archive_tag(&mei, a).unwrap();
    store.unarchive_tag(&mei, a).unwrap();
    store
        .merge_tags(&mei.clone().because("one meaning"), b, a)
        .unwrap();
    store
        .set_policy(
            &mei,
            Policy::administered_by(["mei", "ali"])
                .unwrap()
                .allow_anyone(TaxonomyAction::Create)
                .with_naming(
                    NamingRules::new()
                        .require_dimension_prefix()
                        .max_chars(30)
                        .unwrap()
                        .forbid_chars(",#")
                        .unwrap(),
                ),
        )
        .unwrap();
    store.set_policy(&mei, Policy::open()).unwrap();
    store
        .delete_tag(&mei.clone().because("season over"), b)
        .unwrap();
    let lines: Vec<String> = store.change_log().iter().map(|e| e.to_string()).collect();
    assert_eq!(
        lines,
        [
            "2025-01-03 mei: created \"payed\" in dimension \"stage\"",
            "2025-01-03 mei: created \"ordered\" in dimension \"stage\"",
            "2025-01-03 mei: renamed \"payed\" to \"paid\"",
            "2025-01-03 mei: changed the time-to-live of tag #0 from none to 30 days",
            "2025-01-03 mei: changed the time-to-live of tag #0 from 30 days to none",
            "2025-01-03 mei: changed the kind or description of tag #0",
            "2025-01-03 mei: coloured dimension \"stage\" green",
            "2025-01-03 mei: cleared the colour of dimension \"stage\"",
            "2025-01-03 mei: archived \"paid\"",
            "2025-01-03 mei: took \"paid\" out of the archive",
            "2025-01-03 mei: merged \"paid\" into \"ordered\", because: one meaning",
            "2025-01-03 mei: made ali, mei the administrators (anyone may create tags); naming \
             rules: dimension prefix, at most 30 characters, none of \",#\"",
            "2025-01-03 mei: opened the taxonomy to everyone",
            "2025-01-03 mei: deleted \"ordered\" (0 members), because: season over",
        ]
    );
}

#[cfg(feature = "serde")]
#[test]
fn policies_deserialise_through_their_setters() {
    let policy = Policy::administered_by(["mei"])
        .unwrap()
        .allow_anyone(TaxonomyAction::Create)
        .with_naming(
            NamingRules::new()
                .require_dimension_prefix()
                .prefix("interests", "interest")
                .unwrap()
                .max_chars(24)
                .unwrap(),
        );
    let json = serde_json::to_string(&policy).unwrap();
    assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), policy);
    let blank = json.replace(r#""mei""#, r#"" ""#);
    assert_eq!(
        serde_json::from_str::<Policy>(&blank)
            .unwrap_err()
            .to_string(),
        "invalid setting Policy::administered_by: an administrator's name must not be blank"
    );
    let zero = json.replace(r#""max_chars":24"#, r#""max_chars":0"#);
    assert_ne!(zero, json);
    let e = serde_json::from_str::<Policy>(&zero)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "invalid setting NamingRules::max_chars: a name's maximum length is at least 1 character"
        ),
        "{e}"
    );
}
