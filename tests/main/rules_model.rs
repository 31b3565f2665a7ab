//! Running a rule set equals, in a naive model, ordering the rules by their dependencies,
//! then for each rule evaluating its query customer by customer on the state the earlier
//! rules left and applying the rule's change; a dry run reports the same and changes
//! nothing. Also: the JSON face of rules.

use std::collections::{BTreeMap, BTreeSet};

use audience::query::{CmpOp, Expr, Literal, TagRef};
use audience::{
    AttrKind, CustomerKey, Day, Edit, ErrorKind, Period, Query, RoaringBitmap, Rule, RuleSet, Run,
    RunReport, Store, TagSelector, TagSpec, TagTarget, TagTemplate,
};
use proptest::prelude::*;

const TODAY: Day = Day::EPOCH.checked_add(20_000).unwrap();
/// Tags 0 and 1 are in dimension "a", 2 to 4 in "b"; the group "g" is tags 1 and 3.
const TAGS: [&str; 5] = ["t0", "t1", "t2", "t3", "t4"];
const DIM: [&str; 5] = ["a", "a", "b", "b", "b"];
const GROUP: [usize; 2] = [1, 3];
/// What the template renders to on TODAY; it lives in dimension "b" as tag index 5.
const MADE: &str = "made-2024-10-04";

#[derive(Clone, Debug)]
struct Shop {
    /// Per customer: erased, tags (assignment days ago), count.
    customers: Vec<(bool, [Option<u8>; 5], Option<i64>)>,
    picked: Vec<bool>,
}

fn shop() -> impl Strategy<Value = Shop> {
    let cust = (
        prop::bool::weighted(0.1),
        prop::array::uniform5(prop::option::weighted(0.4, 0u8..60)),
        prop::option::weighted(0.8, 0i64..8),
    );
    (1usize..40).prop_flat_map(move |n| {
        (
            prop::collection::vec(cust.clone(), n),
            prop::collection::vec(any::<bool>(), n),
        )
            .prop_map(|(customers, picked)| Shop { customers, picked })
    })
}

fn tag_expr(t: usize) -> Expr {
    audience::query::tag(TAGS[t])
}

fn query() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        4 => (0usize..5).prop_map(tag_expr),
        2 => (0i64..8).prop_map(|v| Expr::Cmp { attr: "count".into(), op: CmpOp::Gt, value: Literal::Int(v) }),
        1 => (0usize..5, 0u32..60).prop_map(|(t, days)| Expr::AssignedBefore { tag: audience::query::tag_ref(TAGS[t]), days: Period::days(days) }),
        1 => Just(Expr::Set("picked".into())),
        1 => Just(Expr::All),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn selector() -> impl Strategy<Value = TagSelector> {
    prop_oneof![
        4 => (0usize..5).prop_map(|t| TagSelector::Tag(audience::query::tag_ref(TAGS[t]))),
        1 => prop_oneof![Just("a"), Just("b")].prop_map(|d| TagSelector::Dimension(d.into())),
        1 => Just(TagSelector::Group("g".into())),
    ]
}

fn target() -> impl Strategy<Value = TagTarget> {
    prop_oneof![
        6 => (0usize..5).prop_map(|t| TagTarget::Tag(audience::query::tag_ref(TAGS[t]))),
        1 => Just(TagTarget::Template(TagTemplate::new("made-{date}").dimension("b"))),
    ]
}

fn rules() -> impl Strategy<Value = RuleSet> {
    // Now and then a rule without effects, which is refused.
    let adds = prop_oneof![
        9 => prop::collection::vec(target(), 1..3),
        1 => Just(Vec::new()),
    ];
    let rule = (query(), adds, prop::collection::vec(selector(), 0..3));
    prop::collection::vec(rule, 1..6).prop_map(|rs| {
        let mut set = RuleSet::new().group("g", GROUP.map(|t| TAGS[t]));
        for (i, (when, add, remove)) in rs.into_iter().enumerate() {
            set = set.rule(Rule {
                name: format!("r{i}"),
                when: Query::new(when),
                add,
                remove,
            });
        }
        set
    })
}

fn build(shop: &Shop) -> (Store, RoaringBitmap) {
    let mut store = Store::new();
    let e = Edit::new("admin", TODAY);
    for (t, name) in TAGS.iter().enumerate() {
        store
            .create_tag(&e, TagSpec::new(*name).dimension(DIM[t]))
            .unwrap();
    }
    let count = store.define_attribute("count", AttrKind::Int).unwrap();
    for (i, (_, tags, n)) in shop.customers.iter().enumerate() {
        let c = store
            .add_customer(CustomerKey::member(format!("c{i}")).unwrap())
            .unwrap();
        for (t, ago) in tags.iter().enumerate() {
            if let Some(ago) = ago {
                let id = store.tag_id(TAGS[t]).unwrap();
                store.add_tag(c, id, TODAY - i32::from(*ago)).unwrap();
            }
        }
        if let Some(n) = n {
            store.set_value(c, count, *n).unwrap();
        }
    }
    for (i, (erased, _, _)) in shop.customers.iter().enumerate() {
        if *erased {
            store.erase_customer(i as u32).unwrap();
        }
    }
    let picked = (0..shop.customers.len() as u32)
        .filter(|&i| shop.picked[i as usize])
        .collect();
    (store, picked)
}

/// The model: per live customer, tag index -> assignment day (index 5 is the template's tag).
struct Model {
    tags: BTreeMap<u32, BTreeMap<usize, Day>>,
    count: BTreeMap<u32, i64>,
    picked: BTreeSet<u32>,
    made_exists: bool,
}

fn tag_index(t: &TagRef) -> usize {
    TAGS.iter().position(|n| *n == t.name).unwrap()
}

impl Model {
    fn new(shop: &Shop) -> Model {
        let mut tags = BTreeMap::new();
        let mut count = BTreeMap::new();
        let mut picked = BTreeSet::new();
        for (i, (erased, ts, n)) in shop.customers.iter().enumerate() {
            if *erased {
                continue;
            }
            let c = i as u32;
            let mine: BTreeMap<usize, Day> = ts
                .iter()
                .enumerate()
                .filter_map(|(t, ago)| ago.map(|a| (t, TODAY - i32::from(a))))
                .collect();
            tags.insert(c, mine);
            if let Some(n) = n {
                count.insert(c, *n);
            }
            if shop.picked[i] {
                picked.insert(c);
            }
        }
        Model {
            tags,
            count,
            picked,
            made_exists: false,
        }
    }

    fn eval(&self, e: &Expr, c: u32) -> bool {
        let has = |t: &TagRef| self.tags[&c].contains_key(&tag_index(t));
        match e {
            Expr::All => true,
            Expr::Tag(t) => has(t),
            Expr::And(v) => v.iter().all(|x| self.eval(x, c)),
            Expr::Or(v) => v.iter().any(|x| self.eval(x, c)),
            Expr::Not(x) => !self.eval(x, c),
            Expr::Cmp {
                value: Literal::Int(v),
                ..
            } => self.count.get(&c).is_some_and(|n| n > v),
            Expr::AssignedBefore { tag, days } => self.tags[&c]
                .get(&tag_index(tag))
                .is_some_and(|d| *d < TODAY - days.count() as i32),
            Expr::Set(_) => self.picked.contains(&c),
            other => unreachable!("{other:?}"),
        }
    }
}

fn reads(e: &Expr, out: &mut BTreeSet<usize>) {
    match e {
        Expr::Tag(t) | Expr::AssignedBefore { tag: t, .. } => {
            out.insert(tag_index(t));
        }
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| reads(x, out)),
        Expr::Not(x) => reads(x, out),
        _ => {}
    }
}

/// (adds, removes) as tag indexes; 5 is the template's tag.
fn effects(rule: &Rule) -> (Vec<usize>, BTreeSet<usize>) {
    let mut adds = Vec::new();
    for t in &rule.add {
        let i = match t {
            TagTarget::Tag(t) => tag_index(t),
            TagTarget::Template(_) => 5,
        };
        if !adds.contains(&i) {
            adds.push(i);
        }
    }
    let mut removes = BTreeSet::new();
    for s in &rule.remove {
        match s {
            TagSelector::Tag(t) => {
                removes.insert(tag_index(t));
            }
            TagSelector::Dimension(d) => removes.extend((0..5).filter(|&t| DIM[t] == d)),
            TagSelector::Group(_) => removes.extend(GROUP),
        }
    }
    for a in &adds {
        removes.remove(a);
    }
    (adds, removes)
}

/// What a run reports, as plain tuples: per rule (name, matched, changed, added, removed).
type Summary = Vec<(String, u64, u64, Vec<(String, u64)>, Vec<(String, u64)>)>;

fn summary(r: &RunReport) -> Summary {
    r.rules
        .iter()
        .map(|x| {
            let f = |v: &[audience::TagCount]| {
                v.iter()
                    .map(|t| (t.name.clone(), t.customers))
                    .collect::<Vec<_>>()
            };
            (
                x.rule.clone(),
                x.matched,
                x.changed,
                f(&x.added),
                f(&x.removed),
            )
        })
        .collect()
}

fn name_of(t: usize) -> String {
    if t == 5 {
        MADE.to_string()
    } else {
        TAGS[t].to_string()
    }
}

/// Runs the set in the model. `Err(None)` for a rule without effects, `Err(Some(cycle))`
/// for a cycle (any rules of a cycle).
fn model_run(
    m: &mut Model,
    set: &RuleSet,
    scope: Option<&BTreeSet<u32>>,
) -> Result<Summary, Option<()>> {
    let n = set.rules.len();
    if set
        .rules
        .iter()
        .any(|r| r.add.is_empty() && r.remove.is_empty())
    {
        return Err(None);
    }
    let eff: Vec<_> = set.rules.iter().map(effects).collect();
    let rd: Vec<BTreeSet<usize>> = set
        .rules
        .iter()
        .map(|r| {
            let mut s = BTreeSet::new();
            reads(r.when.expr(), &mut s);
            s
        })
        .collect();
    let writes = |a: usize| -> BTreeSet<usize> {
        let (adds, removes) = &eff[a];
        adds.iter()
            .copied()
            .filter(|&t| t < 5)
            .chain(removes.iter().copied())
            .collect()
    };
    let feeds = |a: usize, b: usize| a != b && !writes(a).is_disjoint(&rd[b]);
    // The earliest rule whose feeders have all run, again and again.
    let mut order = Vec::new();
    let mut done = vec![false; n];
    while order.len() < n {
        let next = (0..n).find(|&b| !done[b] && (0..n).all(|a| done[a] || !feeds(a, b)));
        let Some(b) = next else {
            return Err(Some(()));
        };
        done[b] = true;
        order.push(b);
    }
    let mut out = Vec::new();
    for i in order {
        let rule = &set.rules[i];
        let (adds, removes) = &eff[i];
        let matched: Vec<u32> = m
            .tags
            .keys()
            .copied()
            .filter(|c| scope.is_none_or(|s| s.contains(c)))
            .filter(|&c| m.eval(rule.when.expr(), c))
            .collect();
        let mut changed = BTreeSet::new();
        let mut removed = Vec::new();
        for &t in removes {
            let lost = matched
                .iter()
                .filter(|c| m.tags.get_mut(c).unwrap().remove(&t).is_some())
                .inspect(|c| {
                    changed.insert(**c);
                })
                .count() as u64;
            if lost > 0 {
                removed.push((name_of(t), lost));
            }
        }
        let mut added = Vec::new();
        for &t in adds {
            if t == 5 {
                if matched.is_empty() {
                    continue;
                }
                m.made_exists = true;
            }
            let mut gained = 0;
            for c in &matched {
                let ts = m.tags.get_mut(c).unwrap();
                if let std::collections::btree_map::Entry::Vacant(v) = ts.entry(t) {
                    v.insert(TODAY);
                    changed.insert(*c);
                    gained += 1;
                }
            }
            added.push((name_of(t), gained));
        }
        out.push((
            rule.name.clone(),
            matched.len() as u64,
            changed.len() as u64,
            added,
            removed,
        ));
    }
    Ok(out)
}

/// Every tag's name, members and assignment days.
type State = Vec<(String, Vec<(u32, Option<Day>)>)>;

fn state(store: &Store) -> State {
    store
        .tags()
        .map(|t| {
            let days = store
                .members(t.id)
                .unwrap()
                .iter()
                .map(|c| (c, store.assigned_day(c, t.id).unwrap()))
                .collect();
            (t.name.clone(), days)
        })
        .collect()
}

fn model_state(m: &Model) -> State {
    let last = if m.made_exists { 6 } else { 5 };
    (0..last)
        .map(|t| {
            let days = m
                .tags
                .iter()
                .filter_map(|(c, ts)| ts.get(&t).map(|d| (*c, Some(*d))))
                .collect();
            (name_of(t), days)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn run_agrees_with_naive_model(
        shop in shop(),
        set in rules(),
        scoped in any::<bool>(),
        scope_bits in prop::collection::vec(any::<bool>(), 40),
    ) {
        let (mut store, picked) = build(&shop);
        let mut model = Model::new(&shop);
        let scope_set: BTreeSet<u32> = model
            .tags
            .keys()
            .copied()
            .filter(|c| scope_bits[*c as usize])
            .collect();
        let scope_bm: RoaringBitmap = scope_set.iter().copied().collect();
        let mut run = Run::new(audience::Context::new(TODAY).with_set("picked", &picked));
        if scoped {
            run = run.within(&scope_bm);
        }
        let before = state(&store);
        let dry = set.dry_run(&store, &run);
        prop_assert_eq!(state(&store), before.clone(), "a dry run changes nothing");
        let got = set.run(&mut store, &run);
        let want = model_run(&mut model, &set, scoped.then_some(&scope_set));
        match (got, want) {
            (Ok(report), Ok(want)) => {
                prop_assert_eq!(summary(&report), want);
                prop_assert_eq!(state(&store), model_state(&model));
                let dry = dry.unwrap();
                prop_assert!(dry.dry_run && !report.dry_run);
                prop_assert_eq!(&dry.rules, &report.rules);
                prop_assert_eq!(dry.changed, report.changed);
                prop_assert_eq!(report.considered, if scoped { scope_set.len() as u64 } else { model.tags.len() as u64 });
                prop_assert_eq!(report.created.len(), usize::from(model.made_exists));
            }
            (Err(e), Err(kind)) => {
                match kind {
                    None => prop_assert!(matches!(e.kind(), ErrorKind::Rule { .. }), "{}", e),
                    Some(()) => prop_assert!(matches!(e.kind(), ErrorKind::RuleCycle { .. }), "{}", e),
                }
                prop_assert_eq!(dry.unwrap_err(), e);
                prop_assert_eq!(state(&store), before, "a refused run changes nothing");
            }
            (got, want) => prop_assert!(false, "engine {:?} vs model {:?}", got.map(|r| summary(&r)), want),
        }
    }
}

#[cfg(feature = "serde")]
#[test]
fn rules_are_serde_data() {
    let set = RuleSet::new()
        .group("positive", ["active customer", "activity:highly active"])
        .rule(
            Rule::new("high value", Query::parse("purchase_count > 3").unwrap())
                .add("high value customer"),
        )
        .rule(
            Rule::new("order succeeded", audience::query::all())
                .remove("abandoned cart")
                .add_template(
                    TagTemplate::new("purchased-{date}+{product}")
                        .dimension("stage")
                        .ttl_days(90),
                ),
        )
        .rule(
            Rule::new("at risk", Query::parse("NOT last_open WITHIN 60d").unwrap())
                .remove_group("positive")
                .remove_dimension("mood")
                .add("at risk of churn"),
        );
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"groups":{"positive":[{"name":"active customer"},{"name":"activity:highly active"}]},"rules":["#,
            r#"{"name":"high value","when":{"cmp":{"attr":"purchase_count","op":">","value":{"int":3}}},"add":[{"tag":{"name":"high value customer"}}]},"#,
            r#"{"name":"order succeeded","when":"all","add":[{"template":{"pattern":"purchased-{date}+{product}","dimension":"stage","ttl_days":90}}],"remove":[{"tag":{"name":"abandoned cart"}}]},"#,
            r#"{"name":"at risk","when":{"not":{"within":{"attr":"last_open","days":60}}},"add":[{"tag":{"name":"at risk of churn"}}],"remove":[{"group":"positive"},{"dimension":"mood"}]}]}"#
        )
    );
    let back: RuleSet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, set);
    // Defaults: no groups, no removals, a template's dimension is "general".
    let minimal: RuleSet = serde_json::from_str(
        r#"{"rules":[{"name":"t","when":"all","add":[{"template":{"pattern":"x-{date}"}}]}]}"#,
    )
    .unwrap();
    match &minimal.rules[0].add[0] {
        TagTarget::Template(t) => assert_eq!((t.dimension.as_str(), t.ttl_days), ("general", None)),
        other => panic!("{other:?}"),
    }
    assert!(minimal.groups.is_empty() && minimal.rules[0].remove.is_empty());
}
