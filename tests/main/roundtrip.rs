//! Property: exporting customers to CSV and importing the file back gives the same keys and
//! the same tags, into a store with the same taxonomy and into an empty one that creates
//! the tags; a second import of the same file changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use audience::export::Export;
use audience::import::{Importer, UnknownTags};
use audience::{CustomerKey, Edit, RoaringBitmap, Store, TagSpec};
use proptest::prelude::*;

use crate::support::jun_18;

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

fn key(national: u32) -> CustomerKey {
    CustomerKey::Phone(66_000_000_000 + u64::from(national))
}

/// The taxonomy alone.
fn taxonomy(shop: &Shop) -> Store {
    let e = Edit::new("admin", jun_18());
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
            s.add_tag(ids[c], tag_ids[t], jun_18()).unwrap();
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
        let report = Importer::new().import_str(&mut same, &text, &Edit::new("import", jun_18())).unwrap();
        prop_assert_eq!(report.rows_imported, set.len());
        prop_assert!(report.failures.is_empty(), "{}", report);
        prop_assert_eq!(view(&same, same.customers()), view(&original, &set));

        // Again: nothing changes.
        let again = Importer::new().import_str(&mut same, &text, &Edit::new("import", jun_18())).unwrap();
        prop_assert_eq!(again.customers_unchanged, set.len());
        prop_assert_eq!(again.memberships_added, 0);

        // Into an empty store that creates what it does not know: every customer's tags
        // are tags named as exported.
        let mut empty = Store::new();
        Importer::new()
            .unknown_tags(UnknownTags::create_in("imported"))
            .import_str(&mut empty, &text, &Edit::new("import", jun_18()))
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

// -----------------------------------------------------------------------------------------
// Import: the dry run tells the truth, and nothing is ever half-applied
// -----------------------------------------------------------------------------------------

/// Cells for the key column: good numbers (some repeated in other spellings), bad ones.
const KEYS: &[&str] = &[
    "85291234567",
    "+852 9123 4567",
    "85291234568",
    "(852) 9123-4569",
    "66812345678",
    "0812345679",
    "91234567",
    "8.52912E+10",
    "",
    "+999 123",
    "85261234567",
];
/// Tag names: known, archived, ambiguous, near misses, new, qualified, blank.
const TAG_CELLS: &[&str] = &[
    "VIP",
    "vip ",
    "power:VIP",
    "cosmetics",
    "archived",
    "VIPP",
    "brand new",
    "interests:yoga",
    "",
    "ＣＯＳＭＥＴＩＣＳ",
];

fn import_shop() -> Store {
    let e = Edit::new("admin", jun_18());
    let mut s = Store::new();
    s.create_tag(&e, TagSpec::new("VIP").dimension("power"))
        .unwrap();
    s.create_tag(&e, TagSpec::new("vip").dimension("channel"))
        .unwrap();
    s.create_tag(&e, TagSpec::new("cosmetics").dimension("interests"))
        .unwrap();
    let archived = s.create_tag(&e, TagSpec::new("archived")).unwrap();
    let c = s.add_customer(CustomerKey::Phone(85291234567)).unwrap();
    s.add_tag(c, archived, jun_18()).unwrap();
    s.archive_tag(&e, archived).unwrap();
    let d = s.add_customer(CustomerKey::Phone(66812345678)).unwrap();
    let cos = s.tag_id("cosmetics").unwrap();
    s.add_tag(d, cos, jun_18()).unwrap();
    s
}

fn memberships(s: &Store) -> u64 {
    s.tags().map(|t| s.members(t.id).unwrap().len()).sum()
}

fn fingerprint(s: &Store) -> String {
    let mut out = String::new();
    for (id, key) in s.keys() {
        out += &format!("{id}={key}:{:?};", s.tags_of(id).unwrap());
    }
    for t in s.tags() {
        out += &format!("{}/{};", t.name, t.dimension);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn dry_run_and_import_agree_and_failures_change_nothing(
        rows in proptest::collection::vec(
            (0..KEYS.len(), proptest::collection::vec(0..TAG_CELLS.len(), 0..4)),
            0..12,
        ),
        policy in 0..3usize,
        overwrite in proptest::bool::ANY,
        share in proptest::sample::select(vec![0.0, 0.1, 0.5, 1.0]),
        header in proptest::bool::ANY,
    ) {
        let mut text = String::new();
        if header {
            text += "phone,tags\r\n";
        }
        for (k, tags) in &rows {
            let tags: Vec<&str> = tags.iter().map(|&t| TAG_CELLS[t]).collect();
            text += &format!("\"{}\",\"{}\"\r\n", KEYS[*k], tags.join(","));
        }
        let importer = Importer::new()
            .default_country(audience::Country::TH)
            .unknown_tags(match policy {
                0 => UnknownTags::Ignore,
                1 => UnknownTags::create_in("new"),
                _ => UnknownTags::Reject,
            })
            .mode(if overwrite {
                audience::import::TagMode::Overwrite
            } else {
                audience::import::TagMode::Merge
            })
            .max_failed_share(share).unwrap();
        let mut store = import_shop();
        let before = fingerprint(&store);
        let (customers, members) = (store.customer_count(), memberships(&store));
        let dry = importer.dry_run_str(&store, &text, &Edit::new("import", jun_18())).unwrap();
        prop_assert_eq!(fingerprint(&store), before.clone());
        prop_assert_eq!(dry.rows_read, dry.rows_imported + dry.rows_skipped);
        prop_assert_eq!(
            dry.rows_imported,
            dry.customers_created + dry.customers_updated + dry.customers_unchanged
        );
        match importer.import_str(&mut store, &text, &Edit::new("import", jun_18())) {
            Ok(report) => {
                prop_assert!(!dry.over_failure_limit());
                prop_assert_eq!(&report, &audience::ImportReport { applied: true, ..dry });
                prop_assert_eq!(store.customer_count(), customers + report.customers_created);
                prop_assert_eq!(
                    memberships(&store),
                    members + report.memberships_added - report.memberships_removed
                );
                prop_assert_eq!(store.tag_count(), 4 + report.tags_created.len());
            }
            Err(e) => {
                prop_assert!(dry.over_failure_limit(), "{}", e);
                prop_assert_eq!(fingerprint(&store), before);
            }
        }
    }
}
