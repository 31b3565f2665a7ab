//! Previews, audiences and splits: the broadcast guides' guidance literally, exact group sizes,
//! reproducibility, independence of insertion order, stratified mixes, error texts, and a
//! property test against a naive sort-and-cut model.

use std::collections::{BTreeMap, BTreeSet};

use audience::campaign::{
    self, MAX_STRATA, Size, SizeGuidance, Split, SplitSpec, rank, sample, split,
};
use audience::{
    Context, CustomerKey, Edit, ErrorKind, KeyRef, Query, RoaringBitmap, StepOp, Store, TagId,
    TagSpec,
};
use proptest::prelude::*;

use crate::support::jan_6;

/// The key of customer `i` of a test shop: phone numbers, with every seventh a member id.
fn key(i: u64) -> CustomerKey {
    if i % 7 == 3 {
        CustomerKey::member(format!("M-{i:06}")).unwrap()
    } else {
        CustomerKey::Phone(85_290_000_000 + i)
    }
}

/// A store holding the customers `order` (by test index, in that arrival order).
fn store_with(order: &[u64]) -> Store {
    let mut store = Store::new();
    store
        .ensure_customers(order.iter().map(|&i| key(i)))
        .unwrap();
    store
}

fn everyone(store: &Store) -> RoaringBitmap {
    store.customers().clone()
}

/// A group's customers as keys, to compare splits across stores.
fn keys_of(store: &Store, set: &RoaringBitmap) -> BTreeSet<CustomerKey> {
    set.iter()
        .map(|id| store.key(id).unwrap().to_owned())
        .collect()
}

fn keyed(store: &Store, s: &Split) -> Vec<BTreeSet<CustomerKey>> {
    let mut out: Vec<_> = s
        .groups
        .iter()
        .map(|g| keys_of(store, &g.members))
        .collect();
    out.push(keys_of(
        store,
        s.holdout.as_ref().unwrap_or(&RoaringBitmap::new()),
    ));
    out.push(keys_of(store, &s.unassigned));
    out
}

/// A deterministic permutation of 0..n (for insertion orders).
fn shuffled(n: u64, seed: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n).collect();
    let mut s = seed;
    for i in (1..v.len()).rev() {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        v.swap(i, (s >> 33) as usize % (i + 1));
    }
    v
}

/// The worked example of CRM tagging guides: 10,000 customers, cosmetics 2,500, purchased 4,000, overlap
/// 1,200, lipstick 800 inside the overlap.
fn seed_store() -> Store {
    let mut store = store_with(&(0..10_000).collect::<Vec<_>>());
    let e = Edit::new("admin", jan_6());
    let cosmetics = store
        .create_tag(
            &e,
            TagSpec::new("interest-cosmetics").dimension("interests"),
        )
        .unwrap();
    let purchased = store
        .create_tag(&e, TagSpec::new("stage-purchased").dimension("stage"))
        .unwrap();
    let lipstick = store
        .create_tag(&e, TagSpec::new("product-lipstick").dimension("product"))
        .unwrap();
    let set = |r: std::ops::Range<u32>| r.collect::<RoaringBitmap>();
    store
        .add_tag_bulk(cosmetics, &set(0..2500), jan_6())
        .unwrap();
    store
        .add_tag_bulk(purchased, &set(1300..5300), jan_6())
        .unwrap();
    store
        .add_tag_bulk(lipstick, &set(1300..2100), jan_6())
        .unwrap();
    store
}

// ---------------------------------------------------------------------------------------
// Preview and audience
// ---------------------------------------------------------------------------------------

#[test]
fn seed_example_preview_is_400_and_personalised() {
    let store = seed_store();
    let q =
        Query::parse("interest-cosmetics AND stage-purchased EXCLUDE product-lipstick").unwrap();
    let p = campaign::preview(&store, &q, &Context::new(jan_6())).unwrap();
    assert_eq!(p.size, 400);
    assert_eq!(p.audience.len(), 400);
    assert_eq!(p.guidance, SizeGuidance::Personalise);
    let funnel: Vec<(StepOp, u64)> = p.explain.steps.iter().map(|s| (s.op, s.count)).collect();
    assert_eq!(
        funnel,
        vec![
            (StepOp::Start, 2_500),
            (StepOp::And, 1_200),
            (StepOp::AndNot, 400)
        ]
    );
    // Looking is not using.
    assert!(store.tags().all(|t| t.last_used.is_none()));
    assert!(p.to_string().starts_with(
        "audience: 400 customers (under 500 customers: personalise each message with the customer's name)\n"
    ));
}

#[test]
fn size_guidance_boundaries_literally() {
    use SizeGuidance::*;
    let cases = [
        (0, Empty),
        (1, Personalise),
        (499, Personalise),
        (500, PlainSend),
        (2_000, PlainSend),
        (2_001, AbTestFirst),
        (10_000, AbTestFirst),
    ];
    for (n, g) in cases {
        assert_eq!(SizeGuidance::for_size(n), g, "{n}");
    }
    assert_eq!(
        AbTestFirst.to_string(),
        "over 2,000 customers: A/B test two random groups of 1,000 first, then send the winner to the rest"
    );
    assert_eq!(
        PlainSend.to_string(),
        "500 to 2,000 customers: a plain send"
    );
    assert_eq!(Empty.to_string(), "nobody to send to");
}

#[test]
fn breakdown_counts_each_tag_and_none() {
    let store = seed_store();
    let all = everyone(&store);
    let b = campaign::breakdown(&store, &all, "Interests").unwrap();
    assert_eq!(b.total, 10_000);
    assert_eq!(b.tags.len(), 1);
    assert_eq!(
        (b.tags[0].name.as_str(), b.tags[0].customers),
        ("interest-cosmetics", 2_500)
    );
    assert_eq!(b.none, 7_500);
    let q = Query::parse("stage-purchased").unwrap();
    let p = campaign::preview(&store, &q, &Context::new(jan_6())).unwrap();
    let b = p.breakdown(&store, "interests").unwrap();
    assert_eq!((b.tags[0].customers, b.none), (1_200, 2_800));
    assert_eq!(
        b.to_string(),
        "interests of 4000 customers:\n      1200   30.0%  interest-cosmetics\n      2800   70.0%  (none)"
    );
    let err = campaign::breakdown(&store, &all, "channel").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::UnknownDimension { .. }));
    assert_eq!(err.to_string(), "unknown dimension \"channel\"");
    let err = campaign::breakdown(&store, &all, "stages").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown dimension \"stages\" (did you mean \"stage\"?)"
    );
}

#[test]
fn building_an_audience_records_every_tag_it_names() {
    let mut store = seed_store();
    let e = Edit::new("admin", jan_6());
    let unused = store
        .create_tag(&e, TagSpec::new("spring limited"))
        .unwrap();
    let q = Query::parse(
        "interest-cosmetics AND stage:stage-purchased ASSIGNED BEFORE 1d EXCLUDE (product-lipstick OR @capped)",
    )
    .unwrap();
    let capped = RoaringBitmap::new();
    let today = jan_6() + 5;
    let ctx = Context::new(today).with_set("capped", &capped);
    let audience = campaign::build_audience(&mut store, &q, &ctx).unwrap();
    assert_eq!(audience.len(), 400);
    for name in ["interest-cosmetics", "stage-purchased", "product-lipstick"] {
        let t = store.tag_id(name).unwrap();
        assert_eq!(store.tag(t).unwrap().last_used, Some(today), "{name}");
    }
    assert_eq!(store.tag(unused).unwrap().last_used, None);
    // An earlier day does not move the record back.
    let earlier = Context::new(jan_6());
    campaign::build_audience(
        &mut store,
        &Query::parse("interest-cosmetics").unwrap(),
        &earlier,
    )
    .unwrap();
    let t = store.tag_id("interest-cosmetics").unwrap();
    assert_eq!(store.tag(t).unwrap().last_used, Some(today));
}

#[test]
fn a_failing_audience_records_nothing() {
    let mut store = seed_store();
    let q = Query::parse("interest-cosmetics AND nosuchtag").unwrap();
    let err = campaign::build_audience(&mut store, &q, &Context::new(jan_6())).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Query(_)));
    assert!(store.tags().all(|t| t.last_used.is_none()));
    let q = Query::parse("interest-cosmetics EXCLUDE @capped").unwrap();
    assert!(campaign::build_audience(&mut store, &q, &Context::new(jan_6())).is_err());
    assert!(store.tags().all(|t| t.last_used.is_none()));
}

// ---------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------

/// Hands `total` customers out one at a time to the entry furthest below its exact quota
/// `base * share / whole` (exact rational comparison); ties to the earlier entry.
fn naive_share(out: &mut [u64], shares: &[(usize, u64)], base: u64, whole: u64, total: u64) {
    for _ in 0..total {
        let best = shares
            .iter()
            .max_by(|a, b| {
                let da =
                    i128::from(base) * i128::from(a.1) - i128::from(out[a.0]) * i128::from(whole);
                let db =
                    i128::from(base) * i128::from(b.1) - i128::from(out[b.0]) * i128::from(whole);
                da.cmp(&db).then(b.0.cmp(&a.0))
            })
            .unwrap();
        out[best.0] += 1;
    }
}

/// Largest remainder by hand, the slow obvious way: counts, then percentages of `n` (their
/// total rounded half up), then weights or REST share what is left.
fn naive_sizes(n: u64, specs: &[Size]) -> Option<Vec<u64>> {
    let mut out: Vec<u64> = specs
        .iter()
        .map(|s| match s {
            Size::Count(c) => *c,
            _ => 0,
        })
        .collect();
    let fixed: u64 = out.iter().sum();
    let percents: Vec<(usize, u64)> = specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Size::Percent(p) => Some((i, u64::from(*p))),
            _ => None,
        })
        .collect();
    let p_total: u64 = percents.iter().map(|p| p.1).sum();
    // Round half up: n * P / 100 + 1/2.
    let p_target = (n * p_total + 50) / 100;
    if fixed + p_target > n {
        return None;
    }
    naive_share(&mut out, &percents, n, 100, p_target);
    let rest = n - fixed - p_target;
    let weights: Vec<(usize, u64)> = specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Size::Weight(w) => Some((i, *w)),
            _ => None,
        })
        .collect();
    let total: u64 = weights.iter().map(|w| w.1).sum();
    if total == 0 {
        match specs.iter().position(|s| *s == Size::REST) {
            Some(i) => {
                out[i] = rest;
                out.push(0);
            }
            None => out.push(rest),
        }
        return Some(out);
    }
    naive_share(&mut out, &weights, rest, total, rest);
    out.push(0);
    Some(out)
}

#[test]
fn exact_sizes_for_many_cases() {
    let patterns: Vec<Vec<Size>> = vec![
        vec![Size::REST],
        vec![Size::Weight(1), Size::Weight(1)],
        vec![Size::Weight(1), Size::Weight(1), Size::Weight(1)],
        vec![Size::Weight(1), Size::Weight(2)],
        vec![Size::Weight(10), Size::Weight(90)],
        vec![
            Size::Weight(5),
            Size::Weight(3),
            Size::Weight(1),
            Size::Weight(1),
        ],
        vec![Size::Count(1000), Size::Count(1000), Size::REST],
        vec![Size::Count(1000), Size::Count(1000)],
        vec![Size::Count(3), Size::Weight(1), Size::Weight(1)],
        vec![
            Size::Count(0),
            Size::Weight(7),
            Size::Count(2),
            Size::Weight(3),
        ],
        vec![Size::Weight(1); 7],
        vec![Size::Weight(333), Size::Weight(333), Size::Weight(334)],
        vec![
            Size::Percent(10),
            Size::Count(1000),
            Size::Count(1000),
            Size::REST,
        ],
        vec![Size::Percent(33), Size::Percent(33), Size::Percent(34)],
        vec![Size::Percent(33), Size::Percent(33), Size::Percent(33)],
        vec![
            Size::Percent(1),
            Size::Percent(1),
            Size::Percent(1),
            Size::REST,
        ],
        vec![Size::Percent(50), Size::Weight(1), Size::Weight(2)],
        vec![Size::Percent(5), Size::Count(7), Size::Percent(15)],
        vec![Size::REST, Size::Percent(20)],
        vec![Size::Percent(100)],
    ];
    for n in [
        0u64, 1, 2, 3, 5, 7, 10, 11, 99, 100, 101, 1_000, 2_000, 2_001, 2_999, 10_007,
    ] {
        for p in &patterns {
            let mut spec = SplitSpec::new(1);
            for (i, s) in p.iter().enumerate() {
                spec = spec.group(format!("g{i}"), *s).unwrap();
            }
            let got = spec.sizes(n);
            match naive_sizes(n, p) {
                None => {
                    let err = got.unwrap_err();
                    assert!(
                        matches!(err.kind(), ErrorKind::SplitTooLarge { .. }),
                        "{n} {p:?}"
                    );
                }
                Some(want) => {
                    let got = got.unwrap();
                    assert_eq!(got, want, "n = {n}, {p:?}");
                    assert_eq!(got.iter().sum::<u64>(), n);
                }
            }
        }
    }
    // Literal examples.
    let ab = SplitSpec::new(1)
        .group("A", Size::Count(1000))
        .unwrap()
        .group("B", Size::Count(1000))
        .unwrap()
        .group("rest", Size::REST)
        .unwrap();
    assert_eq!(ab.sizes(2_500).unwrap(), vec![1000, 1000, 500, 0]);
    let halves = SplitSpec::new(1)
        .group("a", Size::Weight(1))
        .unwrap()
        .group("b", Size::Weight(1))
        .unwrap();
    assert_eq!(halves.sizes(7).unwrap(), vec![4, 3, 0]);
    let third = SplitSpec::new(1)
        .group("a", Size::Weight(1))
        .unwrap()
        .group("b", Size::Weight(2))
        .unwrap();
    assert_eq!(third.sizes(7).unwrap(), vec![2, 5, 0]);
    let held = SplitSpec::new(1)
        .holdout(Size::Weight(1))
        .unwrap()
        .group("a", Size::Weight(9))
        .unwrap();
    assert_eq!(held.sizes(1_000).unwrap(), vec![100, 900, 0]);
}

/// The shop's month: a 10% holdout, two groups of 1,000 and the rest of 2,336 customers.
#[test]
fn percentages_and_rest_mean_what_they_say() {
    let spec = SplitSpec::new(1)
        .holdout(Size::Percent(10))
        .unwrap()
        .group("A", Size::Count(1000))
        .unwrap()
        .group("B", Size::Count(1000))
        .unwrap()
        .group("rest", Size::REST)
        .unwrap();
    assert_eq!(spec.sizes(2_336).unwrap(), vec![234, 1000, 1000, 102, 0]);
    let store = store_with(&(0..2_336).collect::<Vec<_>>());
    let s = split(&store, &everyone(&store), &spec).unwrap();
    assert_eq!(s.holdout.as_ref().unwrap().len(), 234);
    assert_eq!(s.group("rest").unwrap().len(), 102);
    assert!(s.unassigned.is_empty());
    assert_eq!(
        s.to_string(),
        "2,336 customers split (seed 1):\n  holdout: 234 (10.0%)\n  \"A\": 1,000 (42.8%)\n  \
         \"B\": 1,000 (42.8%)\n  \"rest\": 102 (4.4%)"
    );
    // Thirds in percent: the total (99% of 1,000 = 990) is shared by largest remainder.
    let thirds = SplitSpec::new(1)
        .group("x", Size::Percent(33))
        .unwrap()
        .group("y", Size::Percent(33))
        .unwrap()
        .group("z", Size::Percent(33))
        .unwrap();
    assert_eq!(thirds.sizes(1_000).unwrap(), vec![330, 330, 330, 10]);
    assert_eq!(thirds.sizes(10).unwrap(), vec![4, 3, 3, 0]);
    // Percentages and counts past the audience.
    let big = SplitSpec::new(1)
        .holdout(Size::Percent(50))
        .unwrap()
        .group("A", Size::Count(60))
        .unwrap();
    assert_eq!(
        big.sizes(100).unwrap_err().to_string(),
        "the split needs 110 customers but the audience has only 100"
    );
    // One customer too many, and thousands, read as a user writes them.
    let one = SplitSpec::new(1).group("A", Size::Count(1)).unwrap();
    assert_eq!(
        one.sizes(0).unwrap_err().to_string(),
        "the split needs 1 customer but the audience has only 0"
    );
    let many = SplitSpec::new(1).group("A", Size::Count(2_500)).unwrap();
    assert_eq!(
        many.sizes(2_336).unwrap_err().to_string(),
        "the split needs 2,500 customers but the audience has only 2,336"
    );
    // Refusals, with the text a user sees.
    let refused = |spec: Result<SplitSpec, audience::Error>| spec.unwrap_err().to_string();
    assert_eq!(
        refused(SplitSpec::new(1).group("a", Size::Percent(0))),
        "invalid setting SplitSpec::group: a percentage must be from 1 to 100, got 0"
    );
    assert_eq!(
        refused(SplitSpec::new(1).holdout(Size::Percent(101))),
        "invalid setting SplitSpec::holdout: a percentage must be from 1 to 100, got 101"
    );
    assert_eq!(
        refused(
            SplitSpec::new(1)
                .holdout(Size::Percent(20))
                .unwrap()
                .group("a", Size::Percent(50))
                .unwrap()
                .group("b", Size::Percent(40))
        ),
        "invalid setting SplitSpec::group: the percentages add up to 110%, past 100%"
    );
    assert_eq!(
        refused(
            SplitSpec::new(1)
                .group("a", Size::REST)
                .unwrap()
                .group("b", Size::REST)
        ),
        "invalid setting SplitSpec::group: only one group can be REST (what is left after \
         every other group)"
    );
    let rest_beside_weights = "REST (what is left after every other group) cannot stand \
        beside weighted groups, which share that same remainder: give the other groups \
        counts or percentages, or use weights alone";
    assert_eq!(
        refused(
            SplitSpec::new(1)
                .holdout(Size::Weight(10))
                .unwrap()
                .group("A", Size::Count(1000))
                .unwrap()
                .group("rest", Size::REST)
        ),
        format!("invalid setting SplitSpec::group: {rest_beside_weights}")
    );
    assert_eq!(
        refused(
            SplitSpec::new(1)
                .group("rest", Size::REST)
                .unwrap()
                .holdout(Size::Weight(1))
        ),
        format!("invalid setting SplitSpec::holdout: {rest_beside_weights}")
    );
    assert_eq!(
        refused(SplitSpec::new(1).group("a", Size::Weight(0))),
        "invalid setting SplitSpec::group: a group weight must be positive"
    );
}

/// The split as printed: a line for the unassigned when there are some, nouns in the
/// right number.
#[test]
fn a_split_prints_its_unassigned_and_singulars() {
    let store = store_with(&(0..2).collect::<Vec<_>>());
    let spec = SplitSpec::new(3).group("A", Size::Count(1)).unwrap();
    let s = split(&store, &everyone(&store), &spec).unwrap();
    assert_eq!(s.unassigned.len(), 1);
    assert_eq!(
        s.to_string(),
        "2 customers split (seed 3):\n  \"A\": 1 (50.0%)\n  unassigned: 1 (50.0%)"
    );
    let one: RoaringBitmap = s.group("A").unwrap().clone();
    let s = split(&store, &one, &spec).unwrap();
    assert_eq!(
        s.to_string(),
        "1 customer split (seed 3):\n  \"A\": 1 (100.0%)"
    );
    let none = SplitSpec::new(3).group("A", Size::Percent(50)).unwrap();
    let s = split(&store, &RoaringBitmap::new(), &none).unwrap();
    assert_eq!(
        s.to_string(),
        "0 customers split (seed 3):\n  \"A\": 0 (0.0%)"
    );
}

#[test]
fn split_groups_have_the_sizes_of_the_spec() {
    let store = store_with(&(0..3_001).collect::<Vec<_>>());
    let all = everyone(&store);
    for (i, n) in [0u32, 1, 2, 10, 999, 2_001, 3_001].into_iter().enumerate() {
        let audience: RoaringBitmap = (0..n).collect();
        for p in [
            vec![Size::Weight(1), Size::Weight(1)],
            vec![Size::Weight(1), Size::Weight(1), Size::Weight(1)],
            vec![Size::Count(1), Size::Weight(3), Size::Weight(1)],
            vec![
                Size::Weight(2),
                Size::Count(0),
                Size::Weight(5),
                Size::Weight(1),
            ],
        ] {
            let mut spec = SplitSpec::new(i as u64)
                .holdout(Size::Count(u64::from(n) / 10))
                .unwrap();
            for (j, s) in p.iter().enumerate() {
                spec = spec.group(format!("g{j}"), *s).unwrap();
            }
            let Ok(sizes) = spec.sizes(u64::from(n)) else {
                assert!(split(&store, &audience, &spec).is_err());
                continue;
            };
            let s = split(&store, &audience, &spec).unwrap();
            let got: Vec<u64> = std::iter::once(s.holdout.as_ref().unwrap().len())
                .chain(s.groups.iter().map(|g| g.members.len()))
                .chain(std::iter::once(s.unassigned.len()))
                .collect();
            assert_eq!(got, sizes, "n = {n}, {p:?}");
            assert_partition(&audience, &s);
        }
    }
    assert!(all.len() == 3_001);
}

fn assert_partition(audience: &RoaringBitmap, s: &Split) {
    let mut union = RoaringBitmap::new();
    let mut total = 0;
    let parts = s
        .groups
        .iter()
        .map(|g| &g.members)
        .chain(s.holdout.iter())
        .chain(std::iter::once(&s.unassigned));
    for p in parts {
        assert!(p.is_subset(audience));
        assert!(p.is_disjoint(&union), "parts overlap");
        union |= p;
        total += p.len();
    }
    assert_eq!(&union, audience);
    assert_eq!(total, audience.len());
}

// ---------------------------------------------------------------------------------------
// Reproducibility and independence of insertion order
// ---------------------------------------------------------------------------------------

fn ab_spec(seed: u64) -> SplitSpec {
    SplitSpec::new(seed)
        .holdout(Size::Count(100))
        .unwrap()
        .group("A", Size::Count(1000))
        .unwrap()
        .group("B", Size::Count(1000))
        .unwrap()
        .group("rest", Size::REST)
        .unwrap()
}

#[test]
fn same_seed_same_split_other_seed_other_split() {
    let store = store_with(&(0..5_000).collect::<Vec<_>>());
    let all = everyone(&store);
    let a = split(&store, &all, &ab_spec(7)).unwrap();
    let b = split(&store, &all, &ab_spec(7)).unwrap();
    assert_eq!(a, b);
    let c = split(&store, &all, &ab_spec(8)).unwrap();
    assert_ne!(a.group("A"), c.group("A"));
    // Two random groups of 1,000 out of 5,000 overlap in about 200.
    let overlap = a
        .group("A")
        .unwrap()
        .intersection_len(c.group("A").unwrap());
    assert!((120..=280).contains(&overlap), "{overlap}");
    // A clone of the store (a reader's snapshot) splits the same.
    let snapshot = store.clone();
    assert_eq!(split(&snapshot, &all, &ab_spec(7)).unwrap(), a);
}

#[test]
fn insertion_order_does_not_matter() {
    let n = 4_000;
    let forward = store_with(&(0..n).collect::<Vec<_>>());
    let backward = store_with(&(0..n).rev().collect::<Vec<_>>());
    let random = store_with(&shuffled(n, 99));
    let reference = split(&forward, &everyone(&forward), &ab_spec(2025)).unwrap();
    let want = keyed(&forward, &reference);
    for other in [&backward, &random] {
        let s = split(other, &everyone(other), &ab_spec(2025)).unwrap();
        assert_eq!(keyed(other, &s), want);
    }
    // Samples too.
    let s1 = sample(&forward, &everyone(&forward), 321, 5).unwrap();
    let s2 = sample(&random, &everyone(&random), 321, 5).unwrap();
    assert_eq!(keys_of(&forward, &s1), keys_of(&random, &s2));
    // And a sub-audience chosen by key.
    let pick = |s: &Store| -> RoaringBitmap {
        s.keys()
            .filter(|(_, k)| matches!(k, KeyRef::Phone(p) if p % 3 == 0))
            .map(|(id, _)| id)
            .collect()
    };
    let a = split(
        &forward,
        &pick(&forward),
        &ab_spec(1).holdout(Size::Percent(1)).unwrap(),
    )
    .unwrap_err();
    assert!(matches!(a.kind(), ErrorKind::SplitTooLarge { .. }));
    let spec = SplitSpec::new(3)
        .group("x", Size::Count(200))
        .unwrap()
        .group("y", Size::REST)
        .unwrap();
    let a = split(&forward, &pick(&forward), &spec).unwrap();
    let b = split(&random, &pick(&random), &spec).unwrap();
    assert_eq!(keyed(&forward, &a), keyed(&random, &b));
}

#[test]
fn stratified_split_is_independent_of_customer_and_tag_order() {
    let n = 3_000;
    let build = |order: &[u64], tag_order: &[&str]| {
        let mut store = store_with(order);
        let e = Edit::new("admin", jan_6());
        for name in tag_order {
            let t = store
                .create_tag(&e, TagSpec::new(*name).dimension("channel"))
                .unwrap();
            let members: RoaringBitmap = store
                .keys()
                .filter(|(_, k)| {
                    let i = match k {
                        KeyRef::Phone(p) => p - 85_290_000_000,
                        KeyRef::Member(m) => m[2..].parse().unwrap(),
                    };
                    match *name {
                        "website" => i % 2 == 0,
                        "instagram" => i % 5 == 0,
                        _ => i % 11 == 0,
                    }
                })
                .map(|(id, _)| id)
                .collect();
            store.add_tag_bulk(t, &members, jan_6()).unwrap();
        }
        store
    };
    let a = build(
        &(0..n).collect::<Vec<_>>(),
        &["website", "instagram", "offline"],
    );
    let b = build(&shuffled(n, 4), &["offline", "website", "instagram"]);
    let spec = SplitSpec::new(77)
        .holdout(Size::Weight(1))
        .unwrap()
        .group("A", Size::Weight(3))
        .unwrap()
        .group("B", Size::Weight(3))
        .unwrap()
        .stratify_by_dimension("channel");
    let sa = split(&a, &everyone(&a), &spec).unwrap();
    let sb = split(&b, &everyone(&b), &spec).unwrap();
    assert_eq!(keyed(&a, &sa), keyed(&b, &sb));
}

// ---------------------------------------------------------------------------------------
// Stratification
// ---------------------------------------------------------------------------------------

/// Each group's (and the holdout's) count in each stratum is within one customer of
/// `stratum size * group size / audience size`, checked from the bitmaps themselves.
fn assert_mix(store: &Store, audience: &RoaringBitmap, s: &Split, tags: &[TagId]) {
    // Strata from scratch: customers by their exact set of the tags.
    let mut strata: BTreeMap<Vec<TagId>, RoaringBitmap> = BTreeMap::new();
    for id in audience {
        let combo: Vec<TagId> = tags
            .iter()
            .copied()
            .filter(|t| store.members(*t).unwrap().contains(id))
            .collect();
        strata.entry(combo).or_default().insert(id);
    }
    assert_eq!(s.strata.len(), strata.len());
    let n = i128::from(audience.len() as u32);
    let parts: Vec<&RoaringBitmap> = s
        .holdout
        .iter()
        .chain(s.groups.iter().map(|g| &g.members))
        .chain(std::iter::once(&s.unassigned))
        .collect();
    for (combo, members) in &strata {
        let reported = s.strata.iter().find(|r| {
            let mut t = r.tags.clone();
            t.sort();
            &t == combo
        });
        let reported = reported.expect("stratum reported");
        assert_eq!(reported.size, members.len());
        for (k, p) in parts.iter().enumerate() {
            let got = i128::from(p.intersection_len(members) as u32);
            // |got - size_s * size_g / n| < 1  <=>  |got * n - size_s * size_g| < n
            let ideal_times_n = i128::from(members.len() as u32) * i128::from(p.len() as u32);
            assert!(
                (got * n - ideal_times_n).abs() < n,
                "stratum {combo:?}, part {k}: {got} vs ideal {}",
                ideal_times_n as f64 / n as f64
            );
        }
        let in_groups: Vec<u64> = s
            .groups
            .iter()
            .map(|g| g.members.intersection_len(members))
            .collect();
        assert_eq!(reported.groups, in_groups);
    }
}

#[test]
fn stratified_mixes_within_one_customer_of_ideal() {
    let mut store = store_with(&(0..7_919).collect::<Vec<_>>());
    let e = Edit::new("admin", jan_6());
    let mut tags = Vec::new();
    // Overlapping channel tags of awkward sizes, and customers with none.
    for (name, m) in [
        ("website", 3u32),
        ("instagram", 7),
        ("offline", 13),
        ("line", 2),
    ] {
        let t = store
            .create_tag(&e, TagSpec::new(name).dimension("channel"))
            .unwrap();
        let set: RoaringBitmap = (0..7_919u32)
            .filter(|i| (i.wrapping_mul(2_654_435_761) >> 7) % m == 0)
            .collect();
        store.add_tag_bulk(t, &set, jan_6()).unwrap();
        tags.push(t);
    }
    let audience: RoaringBitmap = (0..7_919u32).filter(|i| i % 10 != 0).collect();
    let specs = [
        SplitSpec::new(1)
            .group("A", Size::Count(1000))
            .unwrap()
            .group("B", Size::Count(1000))
            .unwrap()
            .group("rest", Size::REST)
            .unwrap(),
        SplitSpec::new(2)
            .group("a", Size::Weight(1))
            .unwrap()
            .group("b", Size::Weight(1))
            .unwrap()
            .group("c", Size::Weight(1))
            .unwrap(),
        SplitSpec::new(3)
            .holdout(Size::Count(713))
            .unwrap()
            .group("a", Size::Weight(2))
            .unwrap()
            .group("b", Size::Weight(5))
            .unwrap(),
        SplitSpec::new(4)
            .group("one", Size::Count(17))
            .unwrap()
            .group("two", Size::Count(1))
            .unwrap(),
    ];
    for spec in specs {
        let spec = spec.stratify_by_dimension("channel");
        let s = split(&store, &audience, &spec).unwrap();
        let want = spec.sizes(audience.len()).unwrap();
        let got: Vec<u64> = s
            .holdout
            .iter()
            .map(|h| h.len())
            .chain(s.groups.iter().map(|g| g.members.len()))
            .chain(std::iter::once(s.unassigned.len()))
            .collect();
        assert_eq!(got, want);
        assert_partition(&audience, &s);
        assert_mix(&store, &audience, &s, &tags);
        // The same through explicit tags.
        let by_tags = spec.clone().stratify_by_tags(tags.clone());
        assert_eq!(split(&store, &audience, &by_tags).unwrap(), s);
    }
}

#[test]
fn strata_without_tags_in_the_audience() {
    let mut store = store_with(&(0..100).collect::<Vec<_>>());
    let e = Edit::new("admin", jan_6());
    let t = store
        .create_tag(&e, TagSpec::new("vip").dimension("power"))
        .unwrap();
    store.add_tag_bulk(t, &(50..60).collect(), jan_6()).unwrap();
    let audience: RoaringBitmap = (0..50).collect();
    let spec = SplitSpec::new(1)
        .group("a", Size::Weight(1))
        .unwrap()
        .group("b", Size::Weight(1))
        .unwrap()
        .stratify_by_dimension("power");
    let s = split(&store, &audience, &spec).unwrap();
    assert_eq!(s.strata.len(), 1);
    assert!(s.strata[0].tags.is_empty());
    assert_eq!(s.strata[0].groups, vec![25, 25]);
    // An empty audience splits into empty groups.
    let s = split(&store, &RoaringBitmap::new(), &spec).unwrap();
    assert!(s.groups.iter().all(|g| g.members.is_empty()) && s.strata.is_empty());
}

#[test]
fn too_many_strata_is_refused() {
    let mut store = store_with(&(0..2_048).collect::<Vec<_>>());
    let e = Edit::new("admin", jan_6());
    let mut tags = Vec::new();
    for b in 0..11 {
        let t = store
            .create_tag(&e, TagSpec::new(format!("bit{b}")).dimension("bits"))
            .unwrap();
        store
            .add_tag_bulk(
                t,
                &(0..2_048u32).filter(|i| i >> b & 1 == 1).collect(),
                jan_6(),
            )
            .unwrap();
        tags.push(t);
    }
    let spec = SplitSpec::new(1)
        .group("a", Size::REST)
        .unwrap()
        .stratify_by_dimension("bits");
    let err = split(&store, &everyone(&store), &spec).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "number of strata (tag combinations in the audience) exceeds the limit of {MAX_STRATA} (got 2048)"
        )
    );
    // Ten bits are 1,024 strata: allowed, every stratum has two customers.
    let spec = SplitSpec::new(1)
        .group("a", Size::Weight(1))
        .unwrap()
        .group("b", Size::Weight(1))
        .unwrap()
        .stratify_by_tags(tags[..10].to_vec());
    let s = split(&store, &everyone(&store), &spec).unwrap();
    assert_eq!(s.strata.len(), 1024);
    assert!(s.strata.iter().all(|r| r.groups == vec![1, 1]));
}

// ---------------------------------------------------------------------------------------
// Holdout, sample, errors
// ---------------------------------------------------------------------------------------

#[test]
fn holdout_is_cut_first_and_stays_put() {
    let store = store_with(&(0..2_000).collect::<Vec<_>>());
    let all = everyone(&store);
    let a = split(
        &store,
        &all,
        &SplitSpec::new(9)
            .holdout(Size::Count(200))
            .unwrap()
            .group("x", Size::REST)
            .unwrap(),
    )
    .unwrap();
    let b = split(
        &store,
        &all,
        &SplitSpec::new(9)
            .holdout(Size::Count(200))
            .unwrap()
            .group("x", Size::Count(10))
            .unwrap()
            .group("y", Size::Weight(3))
            .unwrap()
            .group("z", Size::Weight(1))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(a.holdout, b.holdout);
    assert_eq!(a.holdout.as_ref().unwrap().len(), 200);
    // The first group after the holdout is a sample of the same seed, minus the holdout.
    let first = sample(&store, &all, 210, 9).unwrap();
    assert_eq!(&first - a.holdout.as_ref().unwrap(), *b.group("x").unwrap());
}

#[test]
fn sample_is_the_start_of_the_order() {
    let store = store_with(&(0..1_000).collect::<Vec<_>>());
    let all = everyone(&store);
    let s = sample(&store, &all, 100, 42).unwrap();
    assert_eq!(s.len(), 100);
    let bigger = sample(&store, &all, 150, 42).unwrap();
    assert!(s.is_subset(&bigger));
    assert_eq!(sample(&store, &all, 0, 42).unwrap().len(), 0);
    assert_eq!(sample(&store, &all, 1_000, 42).unwrap(), all);
    // The order is (rank, key): check against a sort.
    let mut order: Vec<(u64, CustomerKey, u32)> = all
        .iter()
        .map(|id| {
            let k = store.key(id).unwrap();
            (rank(42, k), k.to_owned(), id)
        })
        .collect();
    order.sort();
    let want: RoaringBitmap = order.iter().take(100).map(|x| x.2).collect();
    assert_eq!(s, want);
}

#[test]
fn split_errors_say_what_is_wrong() {
    let store = store_with(&(0..10).collect::<Vec<_>>());
    let all = everyone(&store);
    let msg = |spec: SplitSpec| split(&store, &all, &spec).unwrap_err().to_string();
    assert_eq!(
        msg(SplitSpec::new(1)
            .group("A", Size::Count(6))
            .unwrap()
            .group("B", Size::Count(6))
            .unwrap()),
        "the split needs 12 customers but the audience has only 10"
    );
    assert_eq!(
        msg(SplitSpec::new(1)
            .holdout(Size::Count(11))
            .unwrap()
            .group("A", Size::REST)
            .unwrap()),
        "the split needs 11 customers but the audience has only 10"
    );
    assert_eq!(
        msg(SplitSpec::new(1)),
        "invalid setting SplitSpec::group: a split needs at least one group"
    );
    // The rest is refused where the spec is made.
    let setting = |r: Result<SplitSpec, audience::Error>| r.unwrap_err().to_string();
    assert_eq!(
        setting(SplitSpec::new(1).group(" ", Size::REST)),
        "invalid setting SplitSpec::group: a group name must not be empty"
    );
    assert_eq!(
        setting(
            SplitSpec::new(1)
                .group("A", Size::REST)
                .unwrap()
                .group("a ", Size::REST)
        ),
        "invalid setting SplitSpec::group: two groups are named \"a \""
    );
    assert_eq!(
        setting(SplitSpec::new(1).group("A", Size::Weight(0))),
        "invalid setting SplitSpec::group: a group weight must be positive"
    );
    assert_eq!(
        setting(SplitSpec::new(1).holdout(Size::Weight(0))),
        "invalid setting SplitSpec::holdout: a group weight must be positive"
    );
    assert_eq!(
        setting(
            SplitSpec::new(1)
                .group("A", Size::Count(u64::MAX))
                .unwrap()
                .group("B", Size::Count(1))
        ),
        "invalid setting SplitSpec::group: group sizes overflow a 64-bit count"
    );
    assert_eq!(
        setting(
            SplitSpec::new(1)
                .group("A", Size::Count(u64::MAX))
                .unwrap()
                .holdout(Size::Count(1))
        ),
        "invalid setting SplitSpec::holdout: group sizes overflow a 64-bit count"
    );
    #[cfg(feature = "serde")]
    assert_eq!(
        serde_json::from_str::<SplitSpec>(
            r#"{"seed": 1, "groups": [{"name": "A", "size": {"weight": 0}}]}"#
        )
        .unwrap_err()
        .to_string(),
        "invalid setting SplitSpec::group: a group weight must be positive"
    );
    #[cfg(feature = "serde")]
    {
        let spec: SplitSpec = serde_json::from_str(
            r#"{"seed": 1, "holdout": {"percent": 10},
                "groups": [{"name": "A", "size": {"count": 1000}}, {"name": "rest", "size": "rest"}]}"#,
        )
        .unwrap();
        assert_eq!(spec.sizes(2_336).unwrap(), vec![234, 1000, 1102, 0]);
        assert_eq!(
            serde_json::from_str::<SplitSpec>(
                r#"{"seed": 1, "groups": [{"name": "a", "size": "rest"}, {"name": "b", "size": "rest"}]}"#
            )
            .unwrap_err()
            .to_string(),
            "invalid setting SplitSpec::group: only one group can be REST (what is left after \
             every other group)"
        );
    }
    let mut many = SplitSpec::new(1);
    for i in 0..campaign::MAX_GROUPS {
        many = many.group(i.to_string(), Size::Weight(1)).unwrap();
    }
    assert_eq!(
        setting(many.group("one too many", Size::Weight(1))),
        "number of groups exceeds the limit of 256 (got 257)"
    );
    assert_eq!(
        msg(SplitSpec::new(1)
            .group("A", Size::REST)
            .unwrap()
            .stratify_by_dimension("chanel")),
        "unknown dimension \"chanel\""
    );
    #[cfg(feature = "serde")]
    {
        // A tag id no store handed out (ids are opaque; serde is the way to forge one).
        let ghost: TagId = serde_json::from_str("99").unwrap();
        assert_eq!(
            msg(SplitSpec::new(1)
                .group("A", Size::REST)
                .unwrap()
                .stratify_by_tags(vec![ghost])),
            "unknown tag id 99"
        );
    }
    // Ids that are not live customers.
    let outside: RoaringBitmap = [3, 10].into_iter().collect();
    let spec = SplitSpec::new(1).group("A", Size::REST).unwrap();
    assert_eq!(
        split(&store, &outside, &spec).unwrap_err().to_string(),
        "unknown customer id 10"
    );
    assert_eq!(
        split(&store, &outside, &spec.stratify_by_tags(Vec::new()))
            .unwrap_err()
            .to_string(),
        "unknown customer id 10"
    );
    assert_eq!(
        sample(&store, &outside, 1, 1).unwrap_err().to_string(),
        "unknown customer id 10"
    );
}

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![
        (0u64..40).prop_map(Size::Count),
        (1u64..6).prop_map(Size::Weight)
    ]
}

/// The naive model: sort the audience by (rank, key), cut it into the spec's sizes.
fn naive_split(
    store: &Store,
    audience: &RoaringBitmap,
    seed: u64,
    sizes: &[u64],
) -> Vec<RoaringBitmap> {
    let mut order: Vec<(u64, CustomerKey, u32)> = audience
        .iter()
        .map(|id| {
            let k = store.key(id).unwrap();
            (rank(seed, k), k.to_owned(), id)
        })
        .collect();
    order.sort();
    let mut out = Vec::new();
    let mut it = order.into_iter();
    for &s in sizes {
        out.push(it.by_ref().take(s as usize).map(|x| x.2).collect());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn split_partitions_the_audience_like_the_naive_model(
        n in 0u64..400,
        order_seed in any::<u64>(),
        keep in prop::collection::vec(any::<bool>(), 400),
        seed in any::<u64>(),
        holdout in prop::option::of(size()),
        groups in prop::collection::vec(size(), 1..5),
    ) {
        let store = store_with(&shuffled(n, order_seed));
        let audience: RoaringBitmap = store
            .customers()
            .iter()
            .filter(|&id| keep.get(id as usize).copied().unwrap_or(true))
            .collect();
        let mut spec = SplitSpec::new(seed);
        if let Some(h) = holdout {
            spec = spec.holdout(h).unwrap();
        }
        for (i, g) in groups.iter().enumerate() {
            spec = spec.group(format!("g{i}"), *g).unwrap();
        }
        match spec.sizes(audience.len()) {
            Err(e) => {
                prop_assert!(matches!(e.kind(), ErrorKind::SplitTooLarge { .. }), "{e}");
                prop_assert!(split(&store, &audience, &spec).is_err());
            }
            Ok(sizes) => {
                let s = split(&store, &audience, &spec).unwrap();
                assert_partition(&audience, &s);
                let got: Vec<RoaringBitmap> = s
                    .holdout
                    .iter()
                    .cloned()
                    .chain(s.groups.iter().map(|g| g.members.clone()))
                    .chain(std::iter::once(s.unassigned.clone()))
                    .collect();
                let lens: Vec<u64> = got.iter().map(|b| b.len()).collect();
                prop_assert_eq!(&lens, &sizes);
                prop_assert_eq!(got, naive_split(&store, &audience, seed, &sizes));
            }
        }
    }

    #[test]
    fn stratified_split_keeps_sizes_and_mix(
        n in 1u64..300,
        seed in any::<u64>(),
        moduli in prop::collection::vec(2u32..9, 1..4),
        holdout in prop::option::of(size()),
        groups in prop::collection::vec(size(), 1..5),
    ) {
        let mut store = store_with(&(0..n).collect::<Vec<_>>());
        let e = Edit::new("admin", jan_6());
        let mut tags = Vec::new();
        for (i, m) in moduli.iter().enumerate() {
            let t = store.create_tag(&e, TagSpec::new(format!("t{i}")).dimension("d")).unwrap();
            let set: RoaringBitmap = (0..n as u32).filter(|x| (x.wrapping_mul(2_654_435_761) >> 5) % m == 0).collect();
            store.add_tag_bulk(t, &set, jan_6()).unwrap();
            tags.push(t);
        }
        let audience = everyone(&store);
        let mut spec = SplitSpec::new(seed).stratify_by_dimension("d");
        if let Some(h) = holdout {
            spec = spec.holdout(h).unwrap();
        }
        for (i, g) in groups.iter().enumerate() {
            spec = spec.group(format!("g{i}"), *g).unwrap();
        }
        if let Ok(sizes) = spec.sizes(audience.len()) {
            let s = split(&store, &audience, &spec).unwrap();
            assert_partition(&audience, &s);
            let lens: Vec<u64> = s
                .holdout
                .iter()
                .map(|h| h.len())
                .chain(s.groups.iter().map(|g| g.members.len()))
                .chain(std::iter::once(s.unassigned.len()))
                .collect();
            prop_assert_eq!(lens, sizes);
            assert_mix(&store, &audience, &s, &tags);
        }
    }
}

#[test]
fn stratified_split_of_a_sparse_audience() {
    // One customer in a hundred: the strata are located by search, not a dense array.
    let mut store = store_with(&(0..40_000).collect::<Vec<_>>());
    let e = Edit::new("admin", jan_6());
    let mut tags = Vec::new();
    for (name, m) in [("web", 3u32), ("app", 4)] {
        let t = store
            .create_tag(&e, TagSpec::new(name).dimension("channel"))
            .unwrap();
        store
            .add_tag_bulk(
                t,
                &(0..40_000u32).filter(|i| (i / 100) % m == 0).collect(),
                jan_6(),
            )
            .unwrap();
        tags.push(t);
    }
    let audience: RoaringBitmap = (0..40_000u32).step_by(100).chain([39_999]).collect();
    let spec = SplitSpec::new(11)
        .holdout(Size::Count(40))
        .unwrap()
        .group("A", Size::Weight(1))
        .unwrap()
        .group("B", Size::Weight(1))
        .unwrap()
        .stratify_by_dimension("channel");
    let s = split(&store, &audience, &spec).unwrap();
    assert_partition(&audience, &s);
    assert_mix(&store, &audience, &s, &tags);
    assert_eq!(s.strata.len(), 4);
}
