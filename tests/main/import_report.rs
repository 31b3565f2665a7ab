//! The import report as users read it: the dry run's conditional, rows and failures counted
//! apart, plurals, and the summary form of a long report, with the exact text.

use audience::import::Importer;
use audience::{Edit, Store, TagSpec};

use crate::support::jun_18;

fn shop() -> Store {
    let mut s = Store::new();
    s.create_tag(&Edit::new("admin", jun_18()), TagSpec::new("VIP"))
        .unwrap();
    s
}

fn edit() -> Edit {
    Edit::new("import", jun_18())
}

#[test]
fn a_row_that_fails_twice_is_one_failed_row_with_two_failures() {
    let file = "phone,tags\n85291234567,\"VIPP, nope\"\n85291234568,VIP\n";
    let importer = Importer::new().max_failed_share(1.0).unwrap();
    let dry = importer.dry_run_str(&shop(), file, &edit()).unwrap();
    assert_eq!(
        dry.to_string(),
        "2 rows read: 2 would be imported, 0 would be skipped.\n\
         Customers: 2 would be created, 0 would be updated, 0 unchanged. \
         Memberships: 1 would be added, 0 would be removed.\n\
         Failed rows: 1 of 2 (50%), with 2 failures (a row can fail for more than one reason):\n\
         \x20 unknown tag: 2\n\
         \x20 line 2, column 2 (tags): \"VIPP\": unknown tag \"VIPP\" (did you mean \"VIP\"?); tag ignored\n\
         \x20 line 2, column 2 (tags): \"nope\": unknown tag \"nope\"; tag ignored\n\
         Within the 100% of failed rows allowed; fix the rows above and import them again."
    );
    let mut s = shop();
    let report = importer.import_str(&mut s, file, &edit()).unwrap();
    assert_eq!(
        report.to_string().lines().take(3).collect::<Vec<_>>(),
        [
            "2 rows read: 2 imported, 0 skipped.",
            "Customers: 2 created, 0 updated, 0 unchanged. Memberships: 1 added, 0 removed.",
            "Failed rows: 1 of 2 (50%), with 2 failures (a row can fail for more than one reason):",
        ]
    );
}

#[test]
fn one_of_everything_is_singular() {
    let file = "phone,tags\n85291234567,new one\n85291234567,VIP\n";
    let importer = Importer::new()
        .unknown_tags(audience::import::UnknownTags::create_in("campaign"))
        .max_failed_share(1.0)
        .unwrap();
    let dry = importer.dry_run_str(&shop(), file, &edit()).unwrap();
    assert_eq!(
        dry.to_string(),
        "2 rows read: 1 would be imported, 1 would be skipped (1 duplicate).\n\
         Customers: 1 would be created, 0 would be updated, 0 unchanged. \
         Memberships: 1 would be added, 0 would be removed.\n\
         Tag would be created: \"new one\".\n\
         \x20 line 3: \"85291234567\": duplicate of line 2; row skipped\n\
         No failures."
    );
    let report = importer
        .import_str(&mut shop(), "85291234567,a\n", &edit())
        .unwrap();
    assert!(report.to_string().starts_with(
        "1 row read: 1 imported, 0 skipped.\n\
         Customers: 1 created, 0 updated, 0 unchanged. Memberships: 1 added, 0 removed.\n\
         Tag created: \"a\".\n"
    ));
}

#[test]
fn a_refused_import_prints_a_summary_grouped_by_reason() {
    // 120 bad numbers, 40 unknown tags, 3 duplicates: the full report lists every one, the
    // summary the counts and the first three of each.
    let mut file = String::from("phone,tags\n");
    for i in 0..120 {
        file += &format!("{i},VIP\n");
    }
    for i in 0..40 {
        file += &format!("8529123{i:04},VIPP\n");
    }
    for _ in 0..3 {
        file += "85291230000,VIP\n";
    }
    let err = Importer::new()
        .import_str(&mut shop(), &file, &edit())
        .unwrap_err();
    let report = match err.kind() {
        audience::ErrorKind::Import(audience::import::ImportError::Refused { report, .. }) => {
            report.clone()
        }
        other => panic!("{other}"),
    };
    assert_eq!(report.to_string().lines().count(), 3 + 2 + 163 + 1);
    let summary = report.summary();
    assert_eq!(summary, format!("{report:#}"));
    assert_eq!(
        summary,
        "163 rows read: 40 would be imported, 123 would be skipped (3 duplicates).\n\
         Customers: 40 would be created, 0 would be updated, 0 unchanged. \
         Memberships: 0 would be added, 0 would be removed.\n\
         Failed rows: 160 of 163 (98.2%), with 160 failures:\n\
         \x20 invalid phone number: 120, the first 3:\n\
         \x20   line 2, column 1 (phone): \"0\": number \"0\" has no country code: write it with \
         the country code, e.g. 85291234567, or set a default country; row skipped\n\
         \x20   line 3, column 1 (phone): \"1\": number \"1\" has no country code: write it with \
         the country code, e.g. 85291234567, or set a default country; row skipped\n\
         \x20   line 4, column 1 (phone): \"2\": number \"2\" has no country code: write it with \
         the country code, e.g. 85291234567, or set a default country; row skipped\n\
         \x20 unknown tag: 40, the first 3:\n\
         \x20   line 122, column 2 (tags): \"VIPP\": unknown tag \"VIPP\" (did you mean \"VIP\"?); tag ignored\n\
         \x20   line 123, column 2 (tags): \"VIPP\": unknown tag \"VIPP\" (did you mean \"VIP\"?); tag ignored\n\
         \x20   line 124, column 2 (tags): \"VIPP\": unknown tag \"VIPP\" (did you mean \"VIP\"?); tag ignored\n\
         Duplicates: 3\n\
         \x20 line 162: \"85291230000\": duplicate of line 122; row skipped\n\
         \x20 line 163: \"85291230000\": duplicate of line 122; row skipped\n\
         \x20 line 164: \"85291230000\": duplicate of line 122; row skipped\n\
         More than 10% of the rows failed: stop and fix the file, then import it again."
    );
}
