//! Limits on the free text and names the store keeps or echoes (descriptions, reasons,
//! actors, colours, policies, rule, group and split names): the exact text of each error,
//! and that a refused change or batch changed nothing.

use audience::campaign::{Size, SplitSpec, split};
use audience::query::tag;
use audience::{
    AttrKind, CustomerKey, Edit, Lifecycle, MAX_ADMINISTRATORS, MAX_FORBIDDEN_CHARS,
    MAX_NAME_CHARS, MAX_PREFIXES, MAX_TEXT_CHARS, NamingRules, Policy, Query, RoaringBitmap, Rule,
    RuleSet, Run, Store, TagKind, TagSpec, TagTemplate, Tiers,
};

use crate::support::mar_3;

fn admin() -> Edit {
    Edit::new("admin", mar_3())
}

/// A store with two tags and three customers, the first two tagged "vip".
fn store() -> Store {
    let mut s = Store::new();
    let vip = s.create_tag(&admin(), TagSpec::new("vip")).unwrap();
    s.create_tag(&admin(), TagSpec::new("new").dimension("stage"))
        .unwrap();
    for i in 0..3 {
        let c = s
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        if i < 2 {
            s.add_tag(c, vip, mar_3()).unwrap();
        }
    }
    s
}

/// Everything observable a refused change must leave alone.
fn fingerprint(s: &Store) -> String {
    let tags: Vec<String> = s
        .tags()
        .map(|t| format!("{t:?} {:?}", s.members(t.id).unwrap()))
        .collect();
    format!(
        "{tags:?} {:?} {:?} {:?} {}",
        s.dimensions(),
        s.change_log(),
        s.policy(),
        s.customer_count()
    )
}

fn text(chars: usize) -> String {
    // Thai: three bytes a character, so byte and character counts differ.
    "ก".repeat(chars)
}

#[test]
fn the_limits() {
    assert_eq!(MAX_NAME_CHARS, 200);
    assert_eq!(MAX_TEXT_CHARS, 2_000);
    assert_eq!(MAX_PREFIXES, 1024);
    assert_eq!(MAX_FORBIDDEN_CHARS, 256);
}

#[test]
fn tag_descriptions() {
    let mut s = store();
    let before = fingerprint(&s);
    let err = s
        .create_tag(
            &admin(),
            TagSpec::new("long").description(text(MAX_TEXT_CHARS + 1)),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tag description length in characters exceeds the limit of 2000 (got 2001)"
    );
    assert_eq!(fingerprint(&s), before);
    // A new dimension is not registered by a refused creation either.
    s.create_tag(
        &admin(),
        TagSpec::new("long")
            .dimension("fresh")
            .description(text(MAX_TEXT_CHARS + 1)),
    )
    .unwrap_err();
    assert_eq!(fingerprint(&s), before);

    let vip = s.tag_id("vip").unwrap();
    let err = s
        .describe_tag(&admin(), vip, TagKind::Dynamic, text(MAX_TEXT_CHARS + 1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tag description length in characters exceeds the limit of 2000 (got 2001)"
    );
    assert_eq!(fingerprint(&s), before);

    let t = s
        .create_tag(
            &admin(),
            TagSpec::new("long").description(text(MAX_TEXT_CHARS)),
        )
        .unwrap();
    s.describe_tag(&admin(), t, TagKind::Static, text(MAX_TEXT_CHARS))
        .unwrap();
    assert_eq!(
        s.tag(t).unwrap().description.chars().count(),
        MAX_TEXT_CHARS
    );
}

#[test]
fn actors_and_reasons() {
    let mut s = store();
    let before = fingerprint(&s);
    let long_actor = Edit::new(text(MAX_NAME_CHARS + 1), mar_3());
    let actor_error = "actor length in characters exceeds the limit of 200 (got 201)";
    assert_eq!(
        s.create_tag(&long_actor, TagSpec::new("x"))
            .unwrap_err()
            .to_string(),
        actor_error
    );
    let vip = s.tag_id("vip").unwrap();
    assert_eq!(
        s.rename_tag(&long_actor, vip, "VIP gold")
            .unwrap_err()
            .to_string(),
        actor_error
    );
    assert_eq!(
        s.archive_tag(&long_actor, vip).unwrap_err().to_string(),
        actor_error
    );
    assert_eq!(
        s.set_ttl(&long_actor, vip, Some(3))
            .unwrap_err()
            .to_string(),
        actor_error
    );
    assert_eq!(
        s.set_policy(&long_actor, Policy::administered_by(["mei"]).unwrap())
            .unwrap_err()
            .to_string(),
        actor_error
    );
    let long_reason = admin().because(text(MAX_TEXT_CHARS + 1));
    assert_eq!(
        s.delete_tag(&long_reason, vip).unwrap_err().to_string(),
        "reason length in characters exceeds the limit of 2000 (got 2001)"
    );
    let new = s.tag_id("new").unwrap();
    assert_eq!(
        s.merge_tags(&long_reason, vip, new)
            .unwrap_err()
            .to_string(),
        "reason length in characters exceeds the limit of 2000 (got 2001)"
    );
    assert_eq!(fingerprint(&s), before);

    // At the limits the change goes through and the log keeps the texts whole.
    let edit = Edit::new(text(MAX_NAME_CHARS), mar_3()).because(text(MAX_TEXT_CHARS));
    s.delete_tag(&edit, new).unwrap();
    let last = s.change_log().last().unwrap();
    assert_eq!(last.actor, text(MAX_NAME_CHARS));
    assert_eq!(last.reason.as_deref(), Some(text(MAX_TEXT_CHARS).as_str()));
}

#[test]
fn dimension_colours() {
    let mut s = store();
    let before = fingerprint(&s);
    let err = s
        .set_dimension_colour(&admin(), "brand new", Some(text(MAX_NAME_CHARS + 1)))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "colour length in characters exceeds the limit of 200 (got 201)"
    );
    // The dimension was not registered on the way.
    assert_eq!(fingerprint(&s), before);
    s.set_dimension_colour(&admin(), "brand new", Some(text(MAX_NAME_CHARS)))
        .unwrap();
}

#[test]
fn policies() {
    // Policies and naming rules are checked where they are made, so a store never sees
    // one that does not hold.
    let refused = |r: Result<Policy, audience::Error>| r.unwrap_err().to_string();
    assert_eq!(
        refused(Policy::administered_by([
            "admin".to_string(),
            text(MAX_NAME_CHARS + 1)
        ])),
        "invalid setting Policy::administered_by: an administrator's name has at most 200 characters, got 201"
    );
    assert_eq!(
        refused(Policy::administered_by(
            (0..=MAX_ADMINISTRATORS).map(|i| format!("a{i}"))
        )),
        "invalid setting Policy::administered_by: a policy names at most 64 administrators"
    );
    // Repeats count once.
    let same = Policy::administered_by(std::iter::repeat_n("mei", 10_000)).unwrap();
    assert_eq!(same.administrators(), ["mei"]);
    assert_eq!(
        refused(Policy::administered_by(Vec::<String>::new())),
        "invalid setting Policy::administered_by: name at least one administrator (a policy without any is Policy::open)"
    );

    let mut rules = NamingRules::new();
    for i in 0..MAX_PREFIXES {
        rules = rules.prefix(format!("d{i}"), "p").unwrap();
    }
    assert_eq!(
        rules.prefix("one more", "p").unwrap_err().to_string(),
        "invalid setting NamingRules::prefix: naming rules set at most 1024 prefixes"
    );

    let many: String = ('\u{4E00}'..).take(MAX_FORBIDDEN_CHARS + 1).collect();
    assert_eq!(
        NamingRules::new()
            .forbid_chars(&many)
            .unwrap_err()
            .to_string(),
        "invalid setting NamingRules::forbid_chars: naming rules forbid at most 256 characters"
    );
    // Repeated characters count once (and the builder stays linear in its input).
    let repeated = many
        .chars()
        .take(MAX_FORBIDDEN_CHARS)
        .collect::<String>()
        .repeat(2_000);
    let rules = NamingRules::new().forbid_chars(&repeated).unwrap();
    assert_eq!(rules.forbidden_chars().len(), MAX_FORBIDDEN_CHARS);

    assert_eq!(
        NamingRules::new()
            .prefix(text(MAX_NAME_CHARS + 1), "p")
            .unwrap_err()
            .to_string(),
        format!(
            "invalid setting NamingRules::prefix: the dimension \"{}\" is not a valid \
             name: a name has at most 200 characters, this one has 201",
            text(64)
        )
    );
}

#[test]
fn rule_and_group_names() {
    let mut s = store();
    let before = fingerprint(&s);
    let run = Run::new(mar_3());
    let long = text(MAX_NAME_CHARS + 1);
    let set = RuleSet::new().rule(Rule::new(long.as_str(), tag("vip")).add("new"));
    assert_eq!(
        set.run(&mut s, &run).unwrap_err().to_string(),
        format!(
            "invalid name \"{}\": a name has at most 200 characters, this one has 201",
            text(64)
        )
    );
    let set = RuleSet::new()
        .group(long.as_str(), ["vip"])
        .rule(Rule::new("r", tag("vip")).add("new"));
    assert_eq!(
        set.run(&mut s, &run).unwrap_err().to_string(),
        format!(
            "invalid name \"{}\": a name has at most 200 characters, this one has 201",
            text(64)
        )
    );
    assert_eq!(fingerprint(&s), before);
    let set = RuleSet::new().rule(Rule::new(text(MAX_NAME_CHARS), tag("vip")).add("new"));
    set.run(&mut s, &run).unwrap();
}

#[test]
fn templated_tags_log_a_bounded_reason() {
    let mut s = store();
    // A long pattern whose placeholders render to nothing: a short tag name.
    let pattern = "{x}".repeat(5_000) + "bought-{date}";
    let set = RuleSet::new()
        .rule(Rule::new("buyers", tag("vip")).add_template(TagTemplate::new(pattern.as_str())));
    let report = set.run(&mut s, &Run::new(mar_3()).var("x", "")).unwrap();
    assert_eq!(report.created[0].name, "bought-2025-03-03");
    let reason = s.change_log().last().unwrap().reason.clone().unwrap();
    assert_eq!(
        reason,
        // The pattern's first 200 characters: 66 placeholders and "{x".
        format!("rule \"buyers\": template \"{}{{x...\"", "{x}".repeat(66))
    );
}

#[test]
fn a_long_run_actor_refuses_the_whole_run() {
    let mut s = store();
    let before = fingerprint(&s);
    // The first rule would change memberships; the second creates a templated tag, whose
    // log entry would name the actor: nothing may be applied.
    let set = RuleSet::new()
        .rule(Rule::new("first", tag("vip")).add("new"))
        .rule(Rule::new("second", tag("vip")).add_template(TagTemplate::new("made-{date}")));
    let run = Run::new(mar_3()).by(Edit::new(text(MAX_NAME_CHARS + 1), mar_3()));
    assert_eq!(
        set.run(&mut s, &run).unwrap_err().to_string(),
        "actor length in characters exceeds the limit of 200 (got 201)"
    );
    assert_eq!(fingerprint(&s), before);
    // An edit dated another day than the run evaluates on is refused, also in a dry run.
    let run = Run::new(mar_3()).by(Edit::new("maria", mar_3() + 1));
    let want = "the edit is dated 2025-03-04 but the query is evaluated on 2025-03-03: \
                change and evaluate on one day";
    assert_eq!(set.run(&mut s, &run).unwrap_err().to_string(), want);
    assert_eq!(set.dry_run(&s, &run).unwrap_err().to_string(), want);
    assert_eq!(fingerprint(&s), before);
    // The run's edit names the creator of templated tags.
    let run = Run::new(mar_3()).by(Edit::new("maria", mar_3()).because("weekly batch"));
    set.run(&mut s, &run).unwrap();
    let made = s.tag_id("made-2025-03-03").unwrap();
    let actors: Vec<&str> = s.tag_history(made).map(|e| e.actor.as_str()).collect();
    assert_eq!(actors, ["maria"]);
}

#[test]
fn lifecycle_and_tiers_check_the_edit_first() {
    let mut s = store();
    let before = fingerprint(&s);
    let long_actor = Edit::new(text(MAX_NAME_CHARS + 1), mar_3());
    assert_eq!(
        Lifecycle::default()
            .create_tags(&mut s, &long_actor)
            .unwrap_err()
            .to_string(),
        "actor length in characters exceeds the limit of 200 (got 201)"
    );
    assert_eq!(fingerprint(&s), before);

    let score = s.define_attribute("score", AttrKind::Int).unwrap();
    for c in 0..3 {
        s.set_value(c, score, i64::from(c) * 50).unwrap();
    }
    let before = fingerprint(&s);
    let tiers = Tiers::new("score", "tier")
        .tier("A", 60)
        .unwrap()
        .tier("B", 20)
        .unwrap()
        .rest("C")
        .unwrap();
    assert_eq!(
        tiers.apply(&mut s, &long_actor).unwrap_err().to_string(),
        "actor length in characters exceeds the limit of 200 (got 201)"
    );
    assert_eq!(fingerprint(&s), before);
}

#[test]
fn split_group_names() {
    let s = store();
    let audience: RoaringBitmap = s.customers().clone();
    let spec = SplitSpec::new(1).group(text(MAX_NAME_CHARS + 1), Size::Count(1));
    assert_eq!(
        spec.unwrap_err().to_string(),
        format!(
            "invalid name \"{}\": a name has at most 200 characters, this one has 201",
            text(64)
        )
    );
    let spec = SplitSpec::new(1)
        .group(text(MAX_NAME_CHARS), Size::Count(1))
        .unwrap()
        .group("rest", Size::REST)
        .unwrap();
    assert_eq!(split(&s, &audience, &spec).unwrap().groups.len(), 2);
}

#[test]
fn materialised_descriptions_stay_within_the_limit() {
    let mut s = store();
    // A query whose text is far longer than a description may be.
    let mut q = tag("vip");
    for i in 0..1_000 {
        q = q.or(tag(format!("no such tag {i}")).not().not().and(tag("vip")));
    }
    let mut names = Vec::new();
    for i in 0..1_000 {
        names.push(format!("no such tag {i}"));
    }
    for n in &names {
        s.create_tag(&admin(), TagSpec::new(n.as_str())).unwrap();
    }
    let query = Query::new(q);
    assert!(query.to_string().chars().count() > MAX_TEXT_CHARS);
    let t = audience::rules::materialise(
        &mut s,
        &admin(),
        TagSpec::new("snapshot"),
        &query,
        &audience::Context::new(mar_3()),
    )
    .unwrap();
    let description = &s.tag(t).unwrap().description;
    assert_eq!(description.chars().count(), MAX_TEXT_CHARS);
    assert!(description.starts_with("snapshot of vip OR NOT NOT \"no such tag 0\" AND vip"));
    assert!(description.ends_with("... on 2025-03-03"), "{description}");
    assert_eq!(s.members(t).unwrap().len(), 2);

    // The edit's day and the query's day must agree: the members are that day's segment.
    let tomorrow = mar_3() + 1;
    let err = audience::rules::materialise(
        &mut s,
        &admin(),
        TagSpec::new("another snapshot"),
        &Query::parse("vip").unwrap(),
        &audience::Context::new(tomorrow),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the edit is dated 2025-03-03 but the query is evaluated on 2025-03-04: change and evaluate on one day"
    );
    assert!(s.tag_id("another snapshot").is_err());
}

/// The whole tag space through the store: about 5 s and 750 MB, so it runs on request
/// (`cargo test --release --test limits -- --ignored`); a unit test of the taxonomy checks
/// the same limit cheaply.
#[test]
#[ignore]
fn the_number_of_tags() {
    let mut s = Store::new();
    for i in 0..audience::MAX_TAGS {
        s.create_tag(&admin(), TagSpec::new(format!("t{i}")))
            .unwrap();
    }
    let log = s.change_log().len();
    assert_eq!(
        s.create_tag(&admin(), TagSpec::new("one more"))
            .unwrap_err()
            .to_string(),
        "number of tags exceeds the limit of 1048576 (got 1048577)"
    );
    // Deleting a tag does not free its id.
    let t0 = s.tag_id("t0").unwrap();
    s.delete_tag(&admin().because("full"), t0).unwrap();
    assert!(s.create_tag(&admin(), TagSpec::new("one more")).is_err());
    assert_eq!(s.change_log().len(), log + 1);
    // An import that would create a tag is refused whole.
    let report = audience::import::Importer::new()
        .unknown_tags(audience::import::UnknownTags::create_in("general"))
        .import_str(
            &mut s,
            "85291234567,brand new\n",
            &Edit::new("import", mar_3()),
        );
    assert_eq!(
        report.unwrap_err().to_string(),
        "number of tags exceeds the limit of 1048576 (got 1048577)"
    );
    assert_eq!(s.customer_count(), 0);
}
