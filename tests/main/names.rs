//! Names people can trust: one name however it was typed (Unicode normalisation and full
//! case folding), no invisible characters, and older snapshots still loading.

use audience::{Edit, ErrorKind, Query, Store, TagSpec};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

use crate::support::jun_18;
use crate::support::parts::Parts;

fn admin() -> Edit {
    Edit::new("admin", jun_18())
}

#[test]
fn one_name_however_it_was_typed() {
    // (as created, as typed later): each pair is one name.
    let pairs = [
        ("Caf\u{E9}", "Cafe\u{301}"), // precomposed vs combining accent
        ("Vi\u{1EC7}t Nam", "Vie\u{323}\u{302}t Nam"), // Vietnamese, two marks
        (
            "\u{D55C}\u{AD6D}",
            "\u{1112}\u{1161}\u{11AB}\u{1100}\u{116E}\u{11A8}",
        ), // Hangul syllables vs jamo
        (
            "\u{30AB}\u{30BF}\u{30AB}\u{30CA}",
            "\u{FF76}\u{FF80}\u{FF76}\u{FF85}",
        ), // katakana, half-width
        ("Stra\u{DF}e", "STRASSE"),   // sharp s
        ("\u{FB01}t", "FIT"),         // ligature
        (
            "\u{0E19}\u{0E49}\u{0E33}",
            "\u{0E19}\u{0E49}\u{0E4D}\u{0E32}",
        ), // Thai SARA AM
        (
            "\u{039F}\u{0394}\u{039F}\u{03A3}",
            "\u{03BF}\u{03B4}\u{03BF}\u{03C2}",
        ), // final sigma
        ("vip", "v\u{200D}ip"),       // a joiner changes nothing
        (
            "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}",
            "\u{645}\u{6CC}\u{62E}\u{648}\u{627}\u{647}\u{645}",
        ), // Persian ZWNJ
    ];
    for (created, typed) in pairs {
        let mut s = Store::new();
        let t = s.create_tag(&admin(), TagSpec::new(created)).unwrap();
        // The other spelling finds it...
        assert_eq!(s.tag_id(typed).unwrap(), t, "{created:?} / {typed:?}");
        let q = Query::parse(&format!("\"{typed}\"")).unwrap();
        assert_eq!(s.count(&q, jun_18()).unwrap(), 0);
        // ...cannot become a second tag...
        let err = s.create_tag(&admin(), TagSpec::new(typed)).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::DuplicateTag { .. }),
            "{err}"
        );
        // ...and the name keeps the spelling its creator typed.
        assert_eq!(s.tag(t).unwrap().name, created);
    }
}

#[test]
fn invisible_and_direction_characters_are_refused_by_name_and_position() {
    let mut s = Store::new();
    let refused = |s: &mut Store, name: &str| {
        s.create_tag(&admin(), TagSpec::new(name))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refused(&mut s, "v\u{200B}ip"),
        "invalid name \"v\u{200B}ip\": a name must not contain invisible or direction-changing characters (found U+200B ZERO WIDTH SPACE at character 2)"
    );
    for (name, found) in [
        (
            "VIP\u{202E}pihs",
            "U+202E RIGHT-TO-LEFT OVERRIDE at character 4",
        ),
        ("\u{200F}vip", "U+200F RIGHT-TO-LEFT MARK at character 1"),
        ("vi\u{AD}p", "U+00AD SOFT HYPHEN at character 3"),
        (
            "vip\u{FEFF}x",
            "U+FEFF ZERO WIDTH NO-BREAK SPACE (BYTE ORDER MARK) at character 4",
        ),
        ("a\u{2066}b", "U+2066 LEFT-TO-RIGHT ISOLATE at character 2"),
    ] {
        let msg = refused(&mut s, name);
        assert!(msg.ends_with(&format!("(found {found})")), "{msg}");
    }
    // Dimensions, rule names and the rest go through the same check.
    let err = s
        .create_tag(&admin(), TagSpec::new("ok").dimension("st\u{200B}age"))
        .unwrap_err();
    assert!(err.to_string().contains("U+200B ZERO WIDTH SPACE"), "{err}");
    // A name of joiners alone would be a tag without a name.
    assert_eq!(
        refused(&mut s, "\u{200D}\u{FE0F}"),
        "invalid name \"\u{200D}\u{FE0F}\": a name must not be empty (it has only joiners or selectors)"
    );
    assert_eq!(s.tag_count(), 0);
}

/// A snapshot written before names were normalised: tags whose names were told apart then.
fn old_snapshot(names: &[(&str, &[u8])]) -> Vec<u8> {
    let mut s = Store::new();
    for (placeholder, _) in names {
        s.create_tag(&admin(), TagSpec::new(*placeholder)).unwrap();
    }
    let mut bytes = Vec::new();
    audience::snapshot::write(&s, &mut bytes).unwrap();
    let mut parts = Parts::split(&bytes);
    for (_, payload) in &mut parts.sections {
        for (placeholder, old) in names {
            let from = placeholder.as_bytes();
            assert_eq!(from.len(), old.len());
            let mut at = 0;
            while let Some(i) = payload[at..].windows(from.len()).position(|w| w == from) {
                payload[at + i..at + i + from.len()].copy_from_slice(old);
                at += i + from.len();
            }
        }
    }
    parts.join()
}

#[test]
fn older_snapshots_still_load_and_clashes_are_named() {
    // A name with an invisible character, accepted when it was written, still loads.
    let bytes = old_snapshot(&[("vXYZip", "v\u{200B}ip".as_bytes())]);
    let s = audience::snapshot::read(&bytes[..]).unwrap();
    assert_eq!(s.tags().next().unwrap().name, "v\u{200B}ip");
    // Two names that were two tags and are one name now: refused, both named, nothing
    // merged.
    let bytes = old_snapshot(&[
        ("CafZZ", "Caf\u{E9}".as_bytes()),
        ("CafYYY", "Cafe\u{301}".as_bytes()),
    ]);
    let Err(err) = audience::snapshot::read(&bytes[..]) else {
        panic!("a clash must not load")
    };
    assert!(err.is_corrupt_input(), "{err}");
    assert!(
        err.to_string().contains(
            "tags 0 \"Caf\u{E9}\" and 1 \"Cafe\u{301}\" are one name in dimension \"general\""
        ),
        "{err}"
    );
}

/// Policy prefixes, tier names and rule names written before invisible characters were
/// refused load too (and using them says why they are refused now).
#[test]
fn older_snapshots_keep_prefixes_tiers_and_rules() {
    use audience::{Extras, NamingRules, Policy, Rule, RuleSet, Tiers};
    let mut s = Store::new();
    s.set_policy(
        &admin(),
        Policy::open().with_naming(NamingRules::new().prefix("interests", "iXYZn").unwrap()),
    )
    .unwrap();
    s.define_attribute("lead_score", audience::AttrKind::Int)
        .unwrap();
    let mut extras = Extras::new();
    extras.tiers.insert(
        "leads".into(),
        Tiers::new("lead_score", "tier")
            .tier("gXYZold", 80)
            .unwrap()
            .rest("C")
            .unwrap(),
    );
    extras.rule_sets.insert(
        "weekly".into(),
        RuleSet::new().rule(Rule::new("rXYZule", Query::parse("ALL").unwrap()).add("x")),
    );
    let mut bytes = Vec::new();
    audience::snapshot::write_with(&s, &extras, &mut bytes).unwrap();
    let mut parts = Parts::split(&bytes);
    for (_, payload) in &mut parts.sections {
        let mut at = 0;
        while let Some(i) = payload[at..].windows(3).position(|w| w == b"XYZ") {
            payload[at + i..at + i + 3].copy_from_slice("\u{200B}".as_bytes());
            at += i + 3;
        }
    }
    let (back, extras) = audience::snapshot::read_with(&parts.join()[..]).unwrap();
    assert_eq!(back.policy().naming().prefix_of("interests"), "i\u{200B}n");
    let tiers = &extras.tiers["leads"];
    assert_eq!(tiers.tiers()[0].name, "g\u{200B}old");
    assert_eq!(extras.rule_sets["weekly"].rules[0].name, "r\u{200B}ule");
    // The prefix is kept although the prefix rule is off (it was lost before).
    assert!(!back.policy().naming().requires_dimension_prefix());
    // Loaded as written; using the tiers says what is wrong with the name now.
    let err = tiers.assign(&back).unwrap_err().to_string();
    assert!(
        err.contains("U+200B ZERO WIDTH SPACE at character 2"),
        "{err}"
    );
}

fn text() -> impl Strategy<Value = String> {
    let pool: Vec<char> = "aeiouAEIOUcCsS \u{E9}\u{C9}\u{301}\u{302}\u{323}\u{308}\u{DF}\u{1E9E}\u{3C2}\u{3A3}\u{1100}\u{1161}\u{11AB}\u{D55C}\u{FF76}\u{30AB}\u{FB01}\u{E33}\u{E4D}\u{E32}\u{E19}\u{200D}\u{200C}\u{3000}\u{FF21}"
        .chars()
        .collect();
    prop::collection::vec(prop::sample::select(pool), 1..12).prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Canonically equivalent spellings are one name, and folding is idempotent (a folded
    /// name finds the tag too).
    #[test]
    fn canonical_equivalents_are_one_name(a in text()) {
        let b: String = a.nfd().collect();
        let c: String = a.nfc().collect();
        let mut s = Store::new();
        let Ok(t) = s.create_tag(&admin(), TagSpec::new(a.as_str())) else {
            // Only names without a visible character are refused from this pool.
            let blank = a
                .chars()
                .all(|c| c.is_whitespace() || matches!(c, '\u{200C}' | '\u{200D}'));
            prop_assert!(blank, "refused: {:?}", a);
            return Ok(());
        };
        prop_assert_eq!(s.tag_id(&b).ok(), Some(t));
        prop_assert_eq!(s.tag_id(&c).ok(), Some(t));
        let upper = a.to_uppercase();
        prop_assert_eq!(s.tag_id(&upper).ok(), Some(t));
    }
}
