//! Property: exporting customers to CSV and importing the file back gives the same keys and
//! the same tags, into a store with the same taxonomy and into an empty one that creates
//! the tags; a second import of the same file changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use audience::export::Export;
use audience::import::{Importer, UnknownTags};
use audience::{CustomerKey, Day, Edit, RoaringBitmap, Store, TagSpec};
use proptest::prelude::*;

/// Tag names in several scripts, with spaces, quotes and punctuation, but no tag separator;
/// some repeat across dimensions (exported as `dimension:name`).
const NAMES: &[&str] = &[
    "VIP",
    "ลูกค้าใหม่",
    "高消費力",
    "عميل جديد",
    "ВИП клиент",
    "say \"hi\"",
    "mother & baby",
    "618 non-buyer",
    "a;b",
    "x'y",
];
const DIMENSIONS: &[&str] = &["power", "stage", "channel"];

#[derive(Debug, Clone)]
struct Shop {
    /// (name index, dimension index), unique.
    tags: Vec<(usize, usize)>,
    /// National Thai mobile numbers (9 digits after 66), unique.
    customers: Vec<u32>,
    /// customer index -> tag indices.
    members: Vec<BTreeSet<usize>>,
    /// Which customers to export.
    exported: Vec<bool>,
}

fn shop() -> impl Strategy<Value = Shop> {
    let tags = proptest::collection::btree_set((0..NAMES.len(), 0..DIMENSIONS.len()), 0..8)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>());
    let customers = proptest::collection::btree_set(800_000_000u32..900_000_000, 1..40)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>());
    (tags, customers).prop_flat_map(|(tags, customers)| {
        let n = customers.len();
        let t = tags.len();
        (
            Just(tags),
            Just(customers),
            proptest::collection::vec(proptest::collection::btree_set(0..t.max(1), 0..=t), n),
            proptest::collection::vec(proptest::bool::weighted(0.8), n),
        )
            .prop_map(move |(tags, customers, members, exported)| Shop {
                members: members
                    .into_iter()
                    .map(|m| m.into_iter().filter(|&i| i < t).collect())
                    .collect(),
                tags,
                customers,
                exported,
            })
    })
}

fn day() -> Day {
    Day::from_ymd(2025, 6, 18).unwrap()
}

fn key(national: u32) -> CustomerKey {
    CustomerKey::Phone(66_000_000_000 + u64::from(national))
}

/// The taxonomy alone.
fn taxonomy(shop: &Shop) -> Store {
    let e = Edit::new("admin", day());
    let mut s = Store::new();
    for &(n, d) in &shop.tags {
        s.create_tag(&e, TagSpec::new(NAMES[n]).dimension(DIMENSIONS[d]))
            .unwrap();
    }
    s
}

fn build(shop: &Shop) -> Store {
    let mut s = taxonomy(shop);
    let ids = s
        .ensure_customers(shop.customers.iter().map(|&c| key(c)))
        .unwrap();
    let tag_ids: Vec<_> = s.tags().map(|t| t.id).collect();
    for (c, tags) in shop.members.iter().enumerate() {
        for &t in tags {
            s.add_tag(ids[c], tag_ids[t], day()).unwrap();
        }
    }
    s
}

/// key -> qualified tag names, for the customers of `set`.
fn view(s: &Store, set: &RoaringBitmap) -> BTreeMap<String, BTreeSet<String>> {
    set.iter()
        .filter_map(|id| s.key(id).map(|k| (id, k.to_string())))
        .map(|(id, k)| {
            let tags = s
                .tags_of(id)
                .unwrap()
                .into_iter()
                .map(|t| s.tag(t).unwrap().qualified_name())
                .collect();
            (k, tags)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn export_then_import_round_trips(shop in shop()) {
        let original = build(&shop);
        let set: RoaringBitmap = shop
            .exported
            .iter()
            .enumerate()
            .filter(|(_, e)| **e)
            .map(|(i, _)| i as u32)
            .collect();
        let mut csv = Vec::new();
        let summary = Export::new().write_csv(&original, &set, &mut csv).unwrap();
        prop_assert_eq!(summary.rows, set.len());
        prop_assert!(summary.tags_with_separators.is_empty());
        let text = String::from_utf8(csv).unwrap();

        // Into a store with the same taxonomy: the same keys with the same tags.
        let mut same = taxonomy(&shop);
        let report = Importer::new().import_str(&mut same, &text, day()).unwrap();
        prop_assert_eq!(report.rows_imported, set.len());
        prop_assert!(report.failures.is_empty(), "{}", report);
        prop_assert_eq!(view(&same, same.customers()), view(&original, &set));

        // Again: nothing changes.
        let again = Importer::new().import_str(&mut same, &text, day()).unwrap();
        prop_assert_eq!(again.customers_unchanged, set.len());
        prop_assert_eq!(again.memberships_added, 0);

        // Into an empty store that creates what it does not know: every customer's tags
        // are tags named as exported.
        let mut empty = Store::new();
        Importer::new()
            .unknown_tags(UnknownTags::create_in("imported"))
            .import_str(&mut empty, &text, day())
            .unwrap();
        let labels = |s: &Store, set: &RoaringBitmap| -> BTreeMap<String, BTreeSet<String>> {
            let rows: Vec<_> = Export::new().rows(s, set).unwrap().collect();
            rows.into_iter()
                .map(|r| (r.key.to_string(), r.tags.into_iter().collect()))
                .collect()
        };
        let got: BTreeMap<String, BTreeSet<String>> = view(&empty, empty.customers())
            .into_iter()
            .map(|(k, tags)| {
                (k, tags.into_iter().map(|t| t.trim_start_matches("imported:").to_string()).collect())
            })
            .collect();
        prop_assert_eq!(got, labels(&original, &set));
    }
}
