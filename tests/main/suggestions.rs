//! Did-you-mean suggestions in taxonomies too large to compare a miss with every name: the
//! index finds the near miss, honours the dimension, and follows renames and deletions.

use audience::import::Importer;
use audience::{Edit, ErrorKind, Query, Store, TagSpec};

use crate::support::jun_18;

/// 6,000 tags (beyond the exact scan) over three dimensions: `<dim>/<word><i>`.
fn big_shop() -> Store {
    let e = Edit::new("admin", jun_18());
    let mut s = Store::new();
    let words = [
        "cosmetics",
        "skincare",
        "fashion",
        "electronics",
        "ของใช้",
        "化妆品",
    ];
    for i in 0..6_000 {
        let dim = ["interest", "stage", "channel"][i % 3];
        let name = format!("{dim}/{}{i}", words[i % words.len()]);
        s.create_tag(&e, TagSpec::new(name).dimension(dim)).unwrap();
    }
    s
}

fn suggestion(s: &Store, text: &str) -> Option<String> {
    let err = s.count(&Query::parse(text).unwrap(), jun_18()).unwrap_err();
    let ErrorKind::Query(q) = err.kind() else {
        panic!("{err}")
    };
    match &q.problem {
        audience::QueryProblem::Resolve(kind) => match &**kind {
            ErrorKind::UnknownTag { suggestion, .. } => suggestion.clone(),
            other => panic!("{other}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn near_misses_are_found_among_thousands_of_tags() {
    let mut s = big_shop();
    assert_eq!(
        suggestion(&s, "\"interest/cosmetcs4806\""),
        Some("interest/cosmetics4806".into())
    );
    assert_eq!(
        suggestion(&s, "\"channel/化妆4103\""),
        Some("channel/化妆品4103".into())
    );
    // Within a dimension, only its tags are suggested, qualified as they must be typed.
    assert_eq!(suggestion(&s, "channel:\"interest/cosmetcs4806\""), None);
    assert_eq!(
        suggestion(&s, "interest:\"interest/cosmetcs4806\""),
        Some("interest:interest/cosmetics4806".into())
    );
    // Nothing close: no suggestion.
    assert_eq!(suggestion(&s, "\"qqqqqqqqqqqqqqqq\""), None);
    // A rename is seen by the next miss...
    let e = Edit::new("admin", jun_18());
    let t = s.tag_id("interest/cosmetics4806").unwrap();
    s.rename_tag(&e, t, "interest/makeup4806").unwrap();
    assert_eq!(
        suggestion(&s, "\"interest/makup4806\""),
        Some("interest/makeup4806".into())
    );
    assert_ne!(
        suggestion(&s, "\"interest/cosmetcs4806\""),
        Some("interest/cosmetics4806".into())
    );
    // ...and so is a deletion, also in a clone made before it (clones share the index).
    let before = s.clone();
    s.delete_tag(&e.clone().because("unused"), t).unwrap();
    assert_eq!(suggestion(&s, "\"interest/makup4806\""), None);
    assert_eq!(
        suggestion(&before, "\"interest/makup4806\""),
        Some("interest/makeup4806".into())
    );
}

#[test]
fn an_import_of_near_misses_reports_each_with_its_suggestion() {
    let s = big_shop();
    let mut file = String::from("phone,tags\n");
    for i in 0..300u32 {
        file.push_str(&format!(
            "6681{i:07},interest/cosmetcs{}\n",
            (i * 3) % 6_000 / 6 * 6
        ));
    }
    let report = Importer::new()
        .max_failed_share(1.0)
        .unwrap()
        .dry_run_str(&s, &file, &Edit::new("import", jun_18()))
        .unwrap();
    assert_eq!(report.failures.len(), 300);
    assert!(
        report.failures[0]
            .to_string()
            .ends_with("unknown tag \"interest/cosmetcs0\" (did you mean \"interest/cosmetics0\"?); tag ignored"),
        "{}",
        report.failures[0]
    );
}
