//! Tag names and customer lists: a name may not hold a character that lists separate tag
//! names with (`,` `，` `、` `،`), so that every name the store accepts comes back whole
//! from an export; an older snapshot holding such a name still loads, and its exports say
//! which names would split.

use std::collections::BTreeMap;

use audience::export::Export;
use audience::import::{Importer, TAG_SEPARATORS};
use audience::{CustomerKey, Edit, ErrorKind, Store, TagSpec};
use proptest::prelude::*;

use crate::support::jun_18;
use crate::support::parts::Parts;

fn admin() -> Edit {
    Edit::new("admin", jun_18())
}

#[test]
fn names_with_a_tag_separator_are_refused_at_creation() {
    let mut s = Store::new();
    let cases = [
        (
            "growth, low frequency",
            "invalid name \"growth, low frequency\": a tag name must not contain a comma ',' \
             (found at character 7): customer lists separate tag names with it, so the name \
             would be read back from a list as two tags; write it without, for example with \
             parentheses or \" - \"",
        ),
        (
            "回頭客，高消費",
            "invalid name \"回頭客，高消費\": a tag name must not contain a full-width comma '，' \
             (found at character 4): customer lists separate tag names with it, so the name \
             would be read back from a list as two tags; write it without, for example with \
             parentheses or \" - \"",
        ),
        (
            "母嬰、化妝品",
            "invalid name \"母嬰、化妝品\": a tag name must not contain an ideographic comma '、' \
             (found at character 3): customer lists separate tag names with it, so the name \
             would be read back from a list as two tags; write it without, for example with \
             parentheses or \" - \"",
        ),
        (
            "عميل، جديد",
            "invalid name \"عميل، جديد\": a tag name must not contain an Arabic comma '،' \
             (found at character 5): customer lists separate tag names with it, so the name \
             would be read back from a list as two tags; write it without, for example with \
             parentheses or \" - \"",
        ),
    ];
    for (name, message) in cases {
        let err = s.create_tag(&admin(), TagSpec::new(name)).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidName { .. }), "{err}");
        assert_eq!(err.to_string(), message);
    }
    assert_eq!(s.tag_count(), 0);

    // Renaming to such a name is refused the same way, and changes nothing.
    let t = s
        .create_tag(&admin(), TagSpec::new("growth (low frequency)"))
        .unwrap();
    let err = s.rename_tag(&admin(), t, "growth, low").unwrap_err();
    assert!(err.to_string().starts_with(
        "invalid name \"growth, low\": a tag name must not contain a comma ',' (found at \
         character 7)"
    ));
    assert_eq!(s.tag(t).unwrap().name, "growth (low frequency)");

    // A new dimension, which an export writes as `dimension:name`, too.
    let err = s
        .create_tag(&admin(), TagSpec::new("VIP").dimension("power, spend"))
        .unwrap_err();
    assert!(err.to_string().starts_with(
        "invalid name \"power, spend\": a dimension name must not contain a comma ',' (found \
         at character 6)"
    ));
    assert!(s.dimension("power, spend").is_err());

    // Look-alikes that lists do not split on are names like any other.
    for name in ["growth ﹐ low", "a;b", "50% off (VIP)", "a - b"] {
        s.create_tag(&admin(), TagSpec::new(name)).unwrap();
    }
}

/// A snapshot of the time before tag names were checked for separators: written with
/// `growth; low frequency` (as many bytes) and then given its comma.
fn older_snapshot() -> Vec<u8> {
    let mut s = Store::new();
    let t = s
        .create_tag(
            &admin(),
            TagSpec::new("growth; low frequency").dimension("stage"),
        )
        .unwrap();
    let vip = s.create_tag(&admin(), TagSpec::new("VIP")).unwrap();
    let c = s
        .add_customer(CustomerKey::phone("66812345678").unwrap())
        .unwrap();
    s.add_tag(c, t, jun_18()).unwrap();
    s.add_tag(c, vip, jun_18()).unwrap();
    let mut bytes = Vec::new();
    audience::snapshot::write(&s, &mut bytes).unwrap();
    let mut parts = Parts::split(&bytes);
    let (from, to) = (b"growth; low".as_slice(), b"growth, low".as_slice());
    for (_, payload) in &mut parts.sections {
        while let Some(at) = payload.windows(from.len()).position(|w| w == from) {
            payload[at..at + from.len()].copy_from_slice(to);
        }
    }
    parts.join()
}

#[test]
fn an_older_snapshot_with_such_a_name_still_loads_and_its_exports_say_so() {
    let mut s = audience::snapshot::read(&older_snapshot()[..]).unwrap();
    let t = s.tag_id("growth, low frequency").unwrap();
    assert_eq!(s.tag(t).unwrap().name, "growth, low frequency");
    assert_eq!(s.members(t).unwrap().len(), 1);

    // Written as it is, and listed: an import would split it.
    let mut csv = Vec::new();
    let summary = Export::new()
        .write_csv(&s, s.customers(), &mut csv)
        .unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "phone,tags\n66812345678,\"growth, low frequency,VIP\"\n"
    );
    assert_eq!(summary.tags_with_separators, ["growth, low frequency"]);

    // Renamed, it round-trips.
    s.rename_tag(&admin(), t, "growth (low frequency)").unwrap();
    let mut csv = Vec::new();
    let summary = Export::new()
        .write_csv(&s, s.customers(), &mut csv)
        .unwrap();
    assert!(summary.tags_with_separators.is_empty());
    let text = String::from_utf8(csv).unwrap();
    let mut back = audience::snapshot::read(&older_snapshot()[..]).unwrap();
    let old = back.tag_id("growth, low frequency").unwrap();
    back.rename_tag(&admin(), old, "growth (low frequency)")
        .unwrap();
    let c = back.add_customer(CustomerKey::phone("66812345679").unwrap());
    let c = c.unwrap();
    let report = Importer::new()
        .import_str(
            &mut back,
            &text.replace("66812345678", "66812345679"),
            &Edit::new("import", jun_18()),
        )
        .unwrap();
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(back.tag_names_of(c).unwrap().len(), 2);
}

/// Characters of names in the scripts customer lists arrive in, with the separators and
/// the punctuation CSV quotes.
const POOL: &[char] = &[
    'a', 'Z', 'é', ' ', '-', '&', '(', ')', '"', '\'', ';', ':', '|', '/', '%', '1', '會', '員',
    '高', '消', '费', 'ล', 'ู', 'ก', 'ค', '้', 'า', 'ع', 'م', 'ي', 'ل', 'к', 'л', 'и', 'е', 'н', 'т',
    '고', '객', 'ｖ', 'ｉ', 'ｐ', '🎁', '﹐', '﹑', ',', '，', '、', '،',
];

fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::collection::vec(prop::sample::select(POOL), 1..10)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Every name the store accepts comes back whole through export and import; every name
    /// it refuses for a separator holds one.
    #[test]
    fn export_then_import_round_trips_every_accepted_name(names in names()) {
        let mut original = Store::new();
        let mut taxonomy = Store::new();
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            let tidy = name.split_whitespace().collect::<Vec<_>>().join(" ");
            let id = match original.create_tag(&admin(), TagSpec::new(name.as_str())) {
                Ok(id) => id,
                Err(e) => {
                    let separator = tidy.contains(TAG_SEPARATORS);
                    let says = e.to_string().contains("a tag name must not contain");
                    prop_assert_eq!(separator, says, "{}", e);
                    continue;
                }
            };
            prop_assert!(!tidy.contains(TAG_SEPARATORS));
            taxonomy.create_tag(&admin(), TagSpec::new(name.as_str())).unwrap();
            let key = format!("668123{i:05}");
            let c = original.add_customer(CustomerKey::phone(&key).unwrap()).unwrap();
            original.add_tag(c, id, jun_18()).unwrap();
            expected.insert(key, original.tag_names_of(c).unwrap());
        }
        let mut csv = Vec::new();
        let summary = Export::new().write_csv(&original, original.customers(), &mut csv).unwrap();
        prop_assert!(summary.tags_with_separators.is_empty());
        let text = String::from_utf8(csv).unwrap();
        let report = Importer::new()
            .import_str(&mut taxonomy, &text, &Edit::new("import", jun_18()))
            .unwrap();
        prop_assert!(report.failures.is_empty(), "{}\n{}", report, text);
        prop_assert!(report.ignored_columns.is_empty(), "{}", report);
        let mut back: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, key) in taxonomy.keys() {
            back.insert(key.to_string(), taxonomy.tag_names_of(id).unwrap());
        }
        prop_assert_eq!(back, expected);
    }
}
