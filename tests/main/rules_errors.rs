//! Every way a rule run is refused, with the exact message, and the promise that a refused
//! run changed nothing.

use audience::query::{all, attr, tag};
use audience::{
    AttrKind, CustomerKey, Day, Edit, ErrorKind, Query, RoaringBitmap, Rule, RuleSet, Run, Store,
    TagSelector, TagSpec, TagTemplate,
};

const TODAY: Day = Day::EPOCH.checked_add(20_000).unwrap();

fn shop() -> Store {
    let mut store = Store::new();
    let e = Edit::new("admin", TODAY);
    for name in ["vip", "flag", "ordered", "spring limited"] {
        store.create_tag(&e, TagSpec::new(name)).unwrap();
    }
    let old = store.tag_id("spring limited").unwrap();
    store.archive_tag(&e, old).unwrap();
    store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let n = store.attribute_id("purchase_count").unwrap();
    for i in 0..4 {
        let c = store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        store.set_value(c, n, i64::from(i) * 2).unwrap();
    }
    store
}

/// Runs `rules` and returns the error text, checking that nothing changed.
fn refused(store: &mut Store, rules: &RuleSet, run: &Run<'_>) -> String {
    let before: Vec<RoaringBitmap> = store
        .tags()
        .map(|t| t.id)
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| store.members(t).unwrap().clone())
        .collect();
    let log = store.change_log().len();
    let tags = store.tag_count();
    let e = rules.run(store, run).unwrap_err();
    assert_eq!(rules.dry_run(store, run).unwrap_err(), e);
    assert_eq!(rules.order(store, run).unwrap_err(), e);
    let after: Vec<RoaringBitmap> = store
        .tags()
        .map(|t| store.members(t.id).unwrap().clone())
        .collect();
    assert_eq!(before, after);
    assert_eq!(store.change_log().len(), log);
    assert_eq!(store.tag_count(), tags);
    e.to_string()
}

/// A valid first rule, so refusals also prove that earlier rules were not applied.
fn valid() -> Rule {
    Rule::new("vip", attr("purchase_count").gt(3)).add("vip")
}

fn with(rule: Rule) -> RuleSet {
    RuleSet::new().rule(valid()).rule(rule)
}

#[test]
fn unknown_archived_and_unbindable_tags() {
    let mut store = shop();
    let run = Run::new(TODAY);
    let cases = [
        (
            Rule::new("x", all()).add("vipp"),
            "rule \"x\": unknown tag \"vipp\" (did you mean \"vip\"?)",
        ),
        (
            Rule::new("x", all()).remove("nope"),
            "rule \"x\": unknown tag \"nope\"",
        ),
        (
            Rule::new("x", all()).add("spring limited"),
            "rule \"x\": tag \"spring limited\" is archived",
        ),
        (
            Rule::new("x", all()).remove("spring limited"),
            "rule \"x\": tag \"spring limited\" is archived",
        ),
        (
            Rule::new("x", Query::parse("purchase_cnt > 3").unwrap()).add("flag"),
            "rule \"x\": unknown attribute \"purchase_cnt\" (did you mean \"purchase_count\"?)\n  purchase_cnt > 3\n  ^^^^^^^^^^^^^^^^",
        ),
        (
            Rule::new("x", tag("spring limited")).add("flag"),
            "rule \"x\": tag \"spring limited\" is archived",
        ),
        (
            Rule::new("x", Query::parse("vip EXCLUDE @capped").unwrap()).add("flag"),
            "rule \"x\": unknown set @capped: pass it in the evaluation context\n  vip EXCLUDE @capped\n              ^^^^^^^",
        ),
        (
            Rule::new("x", all()),
            "rule \"x\": invalid argument: a rule must add or remove at least one tag",
        ),
        (
            Rule::new("x", all()).remove_group("positive"),
            "rule \"x\": unknown tag group \"positive\"",
        ),
        (
            Rule::new("x", all()).remove_dimension("mood"),
            "rule \"x\": unknown dimension \"mood\"",
        ),
    ];
    for (rule, want) in cases {
        assert_eq!(refused(&mut store, &with(rule), &run), want);
    }
    // A group naming an unknown tag.
    let rules = with(Rule::new("x", all()).remove_group("g")).group("g", ["vip", "gone"]);
    assert_eq!(
        refused(&mut store, &rules, &run),
        "rule \"x\": unknown tag \"gone\""
    );
    // The kind nests the rule's error.
    let e = with(Rule::new("x", all()).add("vipp"))
        .run(&mut store, &run)
        .unwrap_err();
    match e.kind() {
        ErrorKind::Rule { rule, error } => {
            assert_eq!(rule, "x");
            assert!(matches!(**error, ErrorKind::UnknownTag { .. }));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn names_of_rules() {
    let mut store = shop();
    let run = Run::new(TODAY);
    assert_eq!(
        refused(&mut store, &with(Rule::new("  ", all()).add("flag")), &run),
        "invalid name \"  \": a rule name must not be empty"
    );
    assert_eq!(
        refused(
            &mut store,
            &with(Rule::new("VIP ", all()).add("flag")),
            &run
        ),
        "two rules are named \"VIP \""
    );
}

#[test]
fn cycles_name_the_rules() {
    let mut store = shop();
    let run = Run::new(TODAY);
    // One rule adds the flag to those without it, the other removes it from those with it:
    // forever.
    let flip = RuleSet::new()
        .rule(valid())
        .rule(Rule::new("flag on", tag("flag").not()).add("flag"))
        .rule(Rule::new("flag off", tag("flag")).remove("flag"));
    let e = refused(&mut store, &flip, &run);
    assert_eq!(
        e,
        "rules feed each other in a cycle: \"flag on\" -> \"flag off\" -> \"flag on\""
    );
    // A longer cycle, listed out of order, through a group and a dimension.
    let three = RuleSet::new()
        .group("g", ["ordered"])
        .rule(Rule::new("c", tag("ordered")).remove("vip"))
        .rule(valid())
        .rule(Rule::new("a", tag("vip")).add("flag"))
        .rule(Rule::new("b", tag("flag")).remove_group("g"));
    match three.run(&mut store, &run).unwrap_err().into_kind() {
        ErrorKind::RuleCycle { rules } => assert_eq!(rules, vec!["c", "a", "b"]),
        other => panic!("{other:?}"),
    }
    let general = RuleSet::new()
        .rule(Rule::new("c", tag("ordered")).remove("vip"))
        .rule(Rule::new("a", tag("vip")).remove_dimension("general"));
    assert_eq!(
        refused(&mut store, &general, &run),
        "rules feed each other in a cycle: \"c\" -> \"a\" -> \"c\""
    );
    // A rule reading what it writes itself is not a cycle.
    let own = RuleSet::new().rule(Rule::new("once", tag("flag").not()).add("flag"));
    let r = own.run(&mut store, &run).unwrap();
    assert_eq!(r.rules[0].changed, 4);
}

#[test]
fn templates() {
    let mut store = shop();
    let run = Run::new(TODAY).var("product", "lipstick");
    let bad = |pattern: &str| with(Rule::new("t", all()).add_template(TagTemplate::new(pattern)));
    let cases = [
        (
            "purchased-{date",
            "rule \"t\": invalid tag template \"purchased-{date\": '{' without '}' (write '{{' for a brace)",
        ),
        (
            "purchased}",
            "rule \"t\": invalid tag template \"purchased}\": '}' without '{' (write '}}' for a brace)",
        ),
        (
            "purchased-{}",
            "rule \"t\": invalid tag template \"purchased-{}\": empty placeholder '{}'",
        ),
        (
            "purchased-{pro duct}",
            "rule \"t\": invalid tag template \"purchased-{pro duct}\": a placeholder name has only letters, digits and '_'",
        ),
        (
            "purchased-{sku}",
            "rule \"t\": tag template \"purchased-{sku}\" needs the variable \"sku\": pass it with the run",
        ),
    ];
    for (pattern, want) in cases {
        assert_eq!(refused(&mut store, &bad(pattern), &run), want, "{pattern}");
    }
    // A rendered name that is not a valid tag name is refused before anything changes.
    let long = "x".repeat(300);
    let run_long = Run::new(TODAY).var("product", long.as_str());
    let e = refused(
        &mut store,
        &with(Rule::new("t", all()).add_template(TagTemplate::new("p-{product}"))),
        &run_long,
    );
    assert_eq!(
        e,
        format!(
            "rule \"t\": invalid name \"p-{}\": a name has at most 200 characters, this one has 302",
            "x".repeat(62)
        )
    );
    // Braces, a variable overriding {date}, any script in placeholder names.
    let t = TagTemplate::new("{{{date}}}-{产品}");
    let vars = [("产品", "口紅"), ("date", "2024-06-18")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(t.render(TODAY, &vars).unwrap(), "{2024-06-18}-口紅");
}

#[test]
fn scope_must_be_live_customers() {
    let mut store = shop();
    store.erase_customer(2).unwrap();
    let scope: RoaringBitmap = [1, 2, 3].into_iter().collect();
    assert_eq!(
        refused(
            &mut store,
            &RuleSet::new().rule(valid()),
            &Run::new(TODAY).within(&scope)
        ),
        "unknown customer id 2"
    );
    assert_eq!(
        refused(
            &mut store,
            &RuleSet::new().rule(valid()),
            &Run::new(TODAY).customer(99)
        ),
        "unknown customer id 99"
    );
}

#[test]
fn selectors_round_trip_through_builders() {
    let r = Rule::new("r", all())
        .remove("a")
        .remove_dimension("d")
        .remove_group("g");
    assert!(matches!(&r.remove[..], [
        TagSelector::Tag(t),
        TagSelector::Dimension(d),
        TagSelector::Group(g)
    ] if t.name == "a" && d == "d" && g == "g"));
}

#[test]
fn error_kinds_display_exactly() {
    let k = |kind: ErrorKind| audience::Error::from(kind).to_string();
    assert_eq!(
        k(ErrorKind::RuleCycle {
            rules: vec!["a".into()]
        }),
        "rules feed each other in a cycle: \"a\" -> \"a\""
    );
    assert_eq!(
        k(ErrorKind::Rule {
            rule: "r".into(),
            error: Box::new(ErrorKind::UnknownGroup { name: "g".into() })
        }),
        "rule \"r\": unknown tag group \"g\""
    );
    assert_eq!(
        k(ErrorKind::DuplicateRule { name: "r".into() }),
        "two rules are named \"r\""
    );
    assert_eq!(
        k(ErrorKind::InvalidTemplate {
            template: "t{".into(),
            reason: "why".into()
        }),
        "invalid tag template \"t{\": why"
    );
    assert_eq!(
        k(ErrorKind::MissingVariable {
            template: "{x}".into(),
            variable: "x".into()
        }),
        "tag template \"{x}\" needs the variable \"x\": pass it with the run"
    );
    assert_eq!(
        k(ErrorKind::UnknownGroup { name: "g".into() }),
        "unknown tag group \"g\""
    );
    assert_eq!(
        k(ErrorKind::UnknownDimension {
            name: "mood".into(),
            suggestion: Some("mode".into())
        }),
        "unknown dimension \"mood\" (did you mean \"mode\"?)"
    );
}
