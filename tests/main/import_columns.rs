//! Columns without a header: their values are never read as tags unless the caller asks,
//! and the report says once per column what was ignored, with the exact text users see.

use audience::import::{Header, IgnoredColumn, Importer, UnnamedColumns};
use audience::{Country, Edit, Store, TagSpec};

use crate::support::jun_18;

fn shop() -> Store {
    let mut s = Store::new();
    for name in ["VIP", "回頭客", "new"] {
        s.create_tag(&Edit::new("admin", jun_18()), TagSpec::new(name))
            .unwrap();
    }
    s
}

fn edit() -> Edit {
    Edit::new("import", jun_18())
}

fn ignored(column: u32, rows: u64, first_line: u64, first_value: &str) -> IgnoredColumn {
    IgnoredColumn {
        column,
        rows,
        first_line,
        first_value: first_value.into(),
    }
}

#[test]
fn a_notes_column_after_the_tags_is_not_read_as_tags() {
    // The file: a header with two names, a third value in the row.
    let file = "phone,tags\n081 234 5678,VIP,回頭客\n082 345 6789,VIP\n083 456 7890,,回頭客\n";
    let importer = Importer::new().default_country(Country::TH);
    let mut s = shop();
    let report = importer.import_str(&mut s, file, &edit()).unwrap();
    assert_eq!(report.memberships_added, 2);
    assert!(s.members(s.tag_id("回頭客").unwrap()).unwrap().is_empty());
    assert_eq!(report.ignored_columns, [ignored(3, 2, 2, "回頭客")]);
    assert!(report.failures.is_empty());
    assert_eq!(
        report.to_string(),
        "3 rows read: 3 imported, 0 skipped.\n\
         Customers: 3 created, 0 updated, 0 unchanged. Memberships: 2 added, 0 removed.\n\
         Column 3 has no header, so its values were ignored (2 rows, first at line 2: \
         \"回頭客\"); to import them as tags, put them in the tags column.\n\
         No failures."
    );
    // The dry run says the same in the conditional.
    let dry = importer.dry_run_str(&shop(), file, &edit()).unwrap();
    assert_eq!(dry.ignored_columns, report.ignored_columns);
    assert!(dry.to_string().contains(
        "Column 3 has no header, so its values would be ignored (2 rows, first at line 2: \
         \"回頭客\")"
    ));

    // Asked for, the fields after the tags column are more tags.
    let mut s = shop();
    let report = importer
        .clone()
        .unnamed_columns(UnnamedColumns::Tags)
        .import_str(&mut s, file, &edit())
        .unwrap();
    assert_eq!(report.memberships_added, 4);
    assert!(report.ignored_columns.is_empty());
    assert_eq!(s.members(s.tag_id("回頭客").unwrap()).unwrap().len(), 2);
}

#[test]
fn blank_header_cells_files_without_header_and_named_columns_after_the_tags() {
    // A blank header cell between named ones: its column is not read, whatever the option.
    let file = "phone,,tags\n85291234567,note,VIP\n85291234568,,VIP\n";
    for option in [UnnamedColumns::Ignore, UnnamedColumns::Tags] {
        let report = Importer::new()
            .unnamed_columns(option)
            .dry_run_str(&shop(), file, &edit())
            .unwrap();
        assert_eq!(report.memberships_added, 2);
        assert_eq!(report.ignored_columns, [ignored(2, 1, 2, "note")]);
    }

    // A named column after the tags: never tags; columns past it have no header.
    let file = "phone,tags,notes\n85291234567,VIP,a note,new\n";
    let report = Importer::new()
        .unnamed_columns(UnnamedColumns::Tags)
        .dry_run_str(&shop(), file, &edit())
        .unwrap();
    assert_eq!(report.memberships_added, 1);
    assert_eq!(report.ignored_columns, [ignored(4, 1, 2, "new")]);

    // Without a header row, the first column is the key and the second the tags; the
    // others have no header.
    let file = "85291234567,VIP,new,x\n85291234568,VIP\n85291234569,new,,y\n";
    let report = Importer::new()
        .header(Header::Absent)
        .dry_run_str(&shop(), file, &edit())
        .unwrap();
    assert_eq!(report.memberships_added, 3);
    assert_eq!(
        report.ignored_columns,
        [ignored(3, 1, 1, "new"), ignored(4, 2, 1, "x")]
    );
    let report = Importer::new()
        .unnamed_columns(UnnamedColumns::Tags)
        .dry_run_str(&shop(), file, &edit())
        .unwrap();
    assert_eq!(report.memberships_added, 4);
    assert_eq!(report.failures.len(), 2, "{report}"); // x and y are unknown tags

    // Positions given by the caller: the same rules.
    let file = "VIP,85291234567,note\n";
    let report = Importer::new()
        .columns(1, Some(0))
        .dry_run_str(&shop(), file, &edit())
        .unwrap();
    assert_eq!(report.memberships_added, 1);
    assert_eq!(report.ignored_columns, [ignored(3, 1, 1, "note")]);
}

#[test]
fn many_ignored_columns_are_listed_five_at_a_time() {
    let file = "phone,tags\n85291234567,VIP,a,b,c,d,e,f,g\n";
    let report = Importer::new().dry_run_str(&shop(), file, &edit()).unwrap();
    assert_eq!(report.ignored_columns.len(), 7);
    let text = report.to_string();
    assert!(
        text.contains(
            "Column 7 has no header, so its values would be ignored (1 row, first at line 2: \
         \"e\"); to import them as tags, put them in the tags column.\n\
         2 more columns without a header would be ignored too.\n"
        ),
        "{text}"
    );
    let file = "phone,tags\n85291234567,VIP,a,b,c,d,e,f\n";
    let report = Importer::new()
        .import_str(&mut shop(), file, &edit())
        .unwrap();
    assert!(
        report
            .to_string()
            .contains("\nAnother column without a header was ignored too.\n")
    );
}

#[test]
fn a_country_column_named_by_the_caller() {
    let importer = Importer::new()
        .countries(&[Country::TH])
        .unwrap()
        .country_column(" LAND ")
        .unwrap();
    let file = "phone,Land,tags\n\
                081 234 5678,TH,VIP\n\
                0912 345 678,Taiwan,VIP\n\
                2345 6789,HK,new\n\
                081 234 5679,Mars,VIP\n\
                081 234 5670,,VIP\n";
    let mut s = shop();
    let report = importer
        .clone()
        .max_failed_share(0.5)
        .unwrap()
        .import_str(&mut s, file, &edit())
        .unwrap();
    assert_eq!(report.country_column, Some(2));
    assert_eq!(report.header_line, Some(1));
    let keys: Vec<String> = s.keys().map(|(_, k)| k.to_string()).collect();
    assert_eq!(
        keys,
        ["66812345678", "886912345678", "85223456789", "66812345670"]
    );
    // A country cell that is not a country fails its row, word for word.
    assert_eq!(report.failures.len(), 1);
    assert_eq!(
        report.failures[0].to_string(),
        "line 5, column 2 (country): \"Mars\": unknown country: write a country code (HK, \
         TW, CN, TH, RU, SA, AE), its name, or its calling code (852); row skipped"
    );

    // The names the importer knows are not read when the caller names another column.
    let file = "phone,country,Land\n081 234 5678,TW,TH\n";
    let report = importer.dry_run_str(&shop(), file, &edit()).unwrap();
    assert_eq!((report.country_column, report.rows_imported), (Some(3), 1));
}

#[test]
fn a_country_column_the_file_does_not_have() {
    let importer = Importer::new().country_column("Land").unwrap();
    let err = importer
        .dry_run_str(
            &shop(),
            "phone,country,tags\n+66812345678,TH,VIP\n",
            &edit(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the file has no country column \"Land\": its header's columns are \"phone\", \
         \"country\", \"tags\""
    );
    let err = importer
        .header(Header::Absent)
        .dry_run_str(&shop(), "+66812345678,TH\n", &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the file has no country column \"Land\": it has no header row"
    );
    assert_eq!(
        Importer::new()
            .country_column("  ")
            .unwrap_err()
            .to_string(),
        "invalid setting Importer::country_column: a column name must not be blank"
    );
}
