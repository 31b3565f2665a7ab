//! Pair statistics against a naive set computation: `Overlaps` (every pair's intersection
//! from one sweep over the containers) and the report's redundant and subset pairs and
//! stale counts must equal what sorted vectors and two-pointer merges say.
//!
//! The sets mix every container kind roaring has (arrays, bitsets above 4,096 members per
//! 65,536-id chunk, runs after `optimize`), over several chunks and the top of the id
//! space.

use std::collections::BTreeSet;

use audience::health::{HealthConfig, Overlaps};
use audience::{AttrKind, CustomerKey, Edit, RoaringBitmap, Store, TagSpec, Value};
use proptest::prelude::*;

use crate::support::jan_6;

/// One way of adding ids to a set.
#[derive(Clone, Debug)]
enum Piece {
    /// `start..start + len`.
    Range(u32, u32),
    /// `count` ids from `start`, `step` apart.
    Strided(u32, u16, u8),
    /// About `density`/256 of the ids of chunk `chunk` (a bitset container when dense).
    Dense(u8, u8, u64),
    /// A few ids anywhere below the universe.
    Scattered(Vec<u32>),
}

#[derive(Clone, Debug)]
struct SetRecipe {
    pieces: Vec<Piece>,
    /// Run-compress the bitmap (`optimize`).
    optimize: bool,
    /// Also use ids at the top of the id space.
    high: bool,
}

fn piece(universe: u32) -> impl Strategy<Value = Piece> {
    let chunks = (universe >> 16).max(1) as u8;
    prop_oneof![
        (0..universe, 0u32..20_000).prop_map(|(s, l)| Piece::Range(s, l)),
        (0..universe, 0u16..6000, 1u8..9).prop_map(|(s, c, k)| Piece::Strided(s, c, k)),
        (0..chunks, 1u8..=255, any::<u64>()).prop_map(|(c, d, seed)| Piece::Dense(c, d, seed)),
        prop::collection::vec(0..universe, 0..50).prop_map(Piece::Scattered),
    ]
}

fn recipe(universe: u32) -> impl Strategy<Value = SetRecipe> {
    (
        prop::collection::vec(piece(universe), 0..4),
        any::<bool>(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(pieces, optimize, high)| SetRecipe {
            pieces,
            optimize,
            high,
        })
}

fn build(r: &SetRecipe, universe: u32) -> RoaringBitmap {
    let mut b = RoaringBitmap::new();
    for p in &r.pieces {
        match p {
            Piece::Range(s, l) => {
                b.insert_range(*s..s.saturating_add(*l).min(universe));
            }
            Piece::Strided(s, c, k) => {
                for i in 0..u32::from(*c) {
                    let id = s + i * u32::from(*k);
                    if id < universe {
                        b.insert(id);
                    }
                }
            }
            Piece::Dense(chunk, density, seed) => {
                let mut x = *seed | 1;
                for low in 0..65_536u32 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let id = (u32::from(*chunk) << 16) | low;
                    if (x & 0xFF) < u64::from(*density) && id < universe {
                        b.insert(id);
                    }
                }
            }
            Piece::Scattered(ids) => b.extend(ids.iter().copied()),
        }
    }
    if r.high {
        b.insert_range(u32::MAX - 70_000..=u32::MAX);
    }
    if r.optimize {
        b.optimize();
    }
    b
}

/// `|a ∩ b|` of two sorted vectors.
fn naive_both(a: &[u32], b: &[u32]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn overlaps_equal_naive_intersections(recipes in prop::collection::vec(recipe(300_000), 0..9)) {
        let sets: Vec<RoaringBitmap> = recipes.iter().map(|r| build(r, 300_000)).collect();
        let refs: Vec<&RoaringBitmap> = sets.iter().collect();
        let sorted: Vec<Vec<u32>> = sets.iter().map(|s| s.iter().collect()).collect();
        let o = Overlaps::of(&refs).unwrap();
        prop_assert_eq!(o.len(), sets.len());
        for i in 0..sets.len() {
            prop_assert_eq!(o.size(i), Some(sorted[i].len() as u64));
            for j in 0..sets.len() {
                let both = naive_both(&sorted[i], &sorted[j]);
                prop_assert_eq!(o.both(i, j), Some(both), "pair {} {}", i, j);
                let either = sorted[i].len() as u64 + sorted[j].len() as u64 - both;
                prop_assert_eq!(o.either(i, j), Some(either));
            }
            prop_assert_eq!(o.both(i, sets.len()), None);
        }
    }

    #[test]
    fn report_pairs_and_stale_counts_equal_naive(
        recipes in prop::collection::vec(recipe(140_000), 1..7),
        archived in prop::collection::vec(any::<bool>(), 7),
        jaccard in prop_oneof![Just(0.8), 0.05f64..=1.0],
        tiny in 0u64..20,
    ) {
        let (base, idle_days) = base_store();
        let today = jan_6();
        let mut store = base.clone();
        let e = Edit::new("admin", today);
        let mut tags = Vec::new();
        let mut sorted = Vec::new();
        for (i, r) in recipes.iter().enumerate() {
            let set = build(&RecipeWithoutHigh(r).get(), N);
            let t = store.create_tag(&e, TagSpec::new(format!("t{i}"))).unwrap();
            store.add_tag_bulk(t, &set, today).unwrap();
            if archived[i] {
                store.archive_tag(&e, t).unwrap();
            }
            tags.push(t);
            sorted.push(set.iter().collect::<Vec<u32>>());
        }
        let config = HealthConfig::default().redundant_jaccard(jaccard).unwrap().tiny_below(tiny);
        let report = audience::HealthReport::build(&store, today, &config).unwrap();

        // The naive model of the rules: pairs among tags that are not archived and have
        // at least max(tiny, 1) members.
        let floor = tiny.max(1);
        let in_pairs = |i: usize| !archived[i] && sorted[i].len() as u64 >= floor;
        let mut redundant = BTreeSet::new();
        let mut subsets = BTreeSet::new();
        for i in 0..tags.len() {
            for j in i + 1..tags.len() {
                if !in_pairs(i) || !in_pairs(j) {
                    continue;
                }
                let both = naive_both(&sorted[i], &sorted[j]);
                let (a, b) = (sorted[i].len() as u64, sorted[j].len() as u64);
                let either = a + b - both;
                if both > 0 && both as f64 / either as f64 >= jaccard {
                    redundant.insert((tags[i], tags[j], both, either));
                }
                if a < b && both == a {
                    subsets.insert((tags[i], tags[j]));
                }
                if b < a && both == b {
                    subsets.insert((tags[j], tags[i]));
                }
            }
        }
        let got: BTreeSet<_> = report.redundant.iter().map(|p| (p.a, p.b, p.both, p.either)).collect();
        prop_assert_eq!(got, redundant);
        let got: BTreeSet<_> = report.subsets.iter().map(|s| (s.subset, s.superset)).collect();
        prop_assert_eq!(got, subsets);
        // Stale counts, every tag (archived ones too).
        for (i, &t) in tags.iter().enumerate() {
            let want = sorted[i]
                .iter()
                .filter(|&&id| idle_days[id as usize].is_some_and(|ago| ago > 180))
                .count() as u64;
            prop_assert_eq!(report.tag(t).unwrap().stale_members, Some(want));
        }
    }
}

/// Customers in the report test: ids `0..N`, three chunks, the last one partial.
const N: u32 = 140_000;

/// `N` customers whose last interaction was 0 to 399 days ago (one in ten without a
/// value), built once and cloned by every case; and each customer's idle days.
fn base_store() -> &'static (Store, Vec<Option<u64>>) {
    static BASE: std::sync::OnceLock<(Store, Vec<Option<u64>>)> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let today = jan_6();
        let mut store = Store::new();
        // One customer and one value at a time: the bulk paths build bitmaps with
        // roaring's `push`, which scans a bitset's words per id (slow unoptimised).
        for i in 0..N {
            store
                .add_customer(CustomerKey::Phone(66_800_000_000 + u64::from(i)))
                .unwrap();
        }
        let last = store
            .define_attribute("last_interaction", AttrKind::Day)
            .unwrap();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut idle_days = vec![None; N as usize];
        for id in 0..N {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(10) {
                continue;
            }
            let ago = (x >> 8) % 400;
            store
                .set_value(id, last, Value::Day(today - ago as i32))
                .unwrap();
            idle_days[id as usize] = Some(ago);
        }
        (store, idle_days)
    })
}

/// The same recipe without ids at the top of the id space (the store's customers are
/// `0..N`).
struct RecipeWithoutHigh<'a>(&'a SetRecipe);

impl RecipeWithoutHigh<'_> {
    fn get(&self) -> SetRecipe {
        SetRecipe {
            high: false,
            ..self.0.clone()
        }
    }
}
