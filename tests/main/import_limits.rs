//! The import's limits, whatever its options: field, row and field-count sizes, different
//! tag names per file, the failures a report lists; and the checks that keep an import
//! from stopping half-way (the policy's naming rules and permissions for created tags).
//! Exact messages, and a refused import changes nothing.

use audience::import::{
    FailureKind, FailureReason, ImportError, Importer, MAX_FIELD_BYTES, MAX_LISTED_FAILURES,
    MAX_ROW_BYTES, MAX_ROW_FIELDS, MAX_TAG_NAMES, UnknownTags, UnnamedColumns,
};
use audience::{CustomerKey, Edit, NamingRules, Policy, Store, TagSpec};

use crate::support::{import_error, jun_18};

fn shop() -> Store {
    let e = Edit::new("admin", jun_18());
    let mut s = Store::new();
    s.create_tag(&e, TagSpec::new("VIP")).unwrap();
    s.create_tag(&e, TagSpec::new("website").dimension("channel"))
        .unwrap();
    let c = s
        .add_customer(CustomerKey::phone("85291110000").unwrap())
        .unwrap();
    s.add_tag(c, s.tag_id("VIP").unwrap(), jun_18()).unwrap();
    s
}

/// Everything observable about a store.
fn fingerprint(s: &Store) -> String {
    let mut out = String::new();
    for (id, key) in s.keys() {
        out += &format!("{id}={key}:{:?};", s.tags_of(id).unwrap());
    }
    for t in s.tags() {
        out += &format!("{t:?}{:?};", s.assignment_days(t.id).unwrap());
    }
    out + &format!("{:?}", s.change_log())
}

/// Imports `text` into a copy of the shop, expecting a refusal that changes nothing; the
/// dry run refuses the same way.
fn refusal(text: &str) -> String {
    let mut s = shop();
    let before = fingerprint(&s);
    let err = Importer::new()
        .import_str(&mut s, text, &Edit::new("import", jun_18()))
        .unwrap_err();
    assert_eq!(fingerprint(&s), before);
    let dry = Importer::new()
        .dry_run_str(&s, text, &Edit::new("import", jun_18()))
        .unwrap_err();
    assert_eq!(dry.to_string(), err.to_string());
    err.to_string()
}

#[test]
fn the_limits() {
    assert_eq!(MAX_FIELD_BYTES, 65_536);
    assert_eq!(MAX_ROW_BYTES, 262_144);
    assert_eq!(MAX_ROW_FIELDS, 1_024);
    assert_eq!(MAX_TAG_NAMES, 10_000);
    assert_eq!(MAX_LISTED_FAILURES, 10_000);
}

#[test]
fn a_field_over_the_limit_is_refused() {
    // A quote that is never closed takes in the rest of the file.
    let mut text = String::from("phone,tags\n85291234567,\"VIP\n");
    for i in 0..5_000 {
        text += &format!("8529123{i:04},website\n");
    }
    assert_eq!(
        refusal(&text),
        "line 2, column 2: a field is longer than 65536 bytes, the most one field may hold: \
         check that every quote in the file is closed"
    );
    // Exactly the limit is fine; one byte more is not (a field in the middle of the row).
    let cell = "VIP,".repeat(MAX_FIELD_BYTES / 4);
    let mut s = shop();
    let report = Importer::new()
        .unnamed_columns(UnnamedColumns::Tags)
        .import_str(
            &mut s,
            &format!("85291234567,\"{cell}\",website\n"),
            &Edit::new("import", jun_18()),
        )
        .unwrap();
    assert_eq!(report.memberships_added, 2);
    assert_eq!(
        refusal(&format!(
            "85291234567,website\n85291234568,\"{cell}V\",website\n"
        )),
        "line 2, column 2: a field is longer than 65536 bytes, the most one field may hold: \
         check that every quote in the file is closed"
    );
}

#[test]
fn a_row_over_the_limit_is_refused() {
    let cell = "V".repeat(60_000);
    let row = format!("85291234567,{cell},{cell},{cell},{cell},{cell}\n");
    assert_eq!(
        refusal(&format!("85291234568,VIP\r\n\r\n{row}")),
        "line 3: the row is longer than 262144 bytes, the most one row may hold: check that \
         every quote in the file is closed"
    );
    // Four such fields are within the limit (the one name they repeat is unknown).
    let row = format!("85291234567,{cell},{cell},{cell},{cell}\n");
    let report = Importer::new()
        .max_failed_share(1.0)
        .unwrap()
        .dry_run_str(&shop(), &row, &Edit::new("import", jun_18()))
        .unwrap();
    assert_eq!(report.failure_counts[&FailureKind::UnknownTag], 1);
}

#[test]
fn a_row_with_too_many_fields_is_refused() {
    let row = |fields: usize| format!("85291234567{}\n", ",VIP".repeat(fields - 1));
    assert_eq!(
        refusal(&(row(2) + &row(MAX_ROW_FIELDS + 1))),
        "line 2: the row has more than 1024 fields, the most one row may have: check the \
         separator"
    );
    let report = Importer::new()
        .dry_run_str(
            &shop(),
            &row(MAX_ROW_FIELDS),
            &Edit::new("import", jun_18()),
        )
        .unwrap();
    assert_eq!(report.rows_imported, 1);
}

#[test]
fn too_many_different_tag_names_are_refused() {
    // 100 names a row: the 10,001st is on line 101.
    let file = |names: usize| {
        let mut text = String::new();
        for row in 0..names.div_ceil(100) {
            let cells: Vec<String> = (row * 100..(row * 100 + 100).min(names))
                .map(|i| format!("t{i}"))
                .collect();
            text += &format!("8529{row:07},\"{}\"\n", cells.join(","));
        }
        text
    };
    assert_eq!(
        refusal(&file(MAX_TAG_NAMES + 1)),
        "the file lists more than 10000 different tag names (line 101 has one more): check \
         that the tags column holds tag names"
    );
    let report = Importer::new()
        .max_failed_share(1.0)
        .unwrap()
        .dry_run_str(
            &shop(),
            &file(MAX_TAG_NAMES),
            &Edit::new("import", jun_18()),
        )
        .unwrap();
    assert_eq!(
        report.failure_counts[&FailureKind::UnknownTag],
        MAX_TAG_NAMES as u64
    );
    // The same names again and again count once.
    let repeated = "85291234567,\"".to_string() + &"VIP,vip,ＶＩＰ,".repeat(3_000) + "\"\n";
    let mut s = shop();
    let report = Importer::new()
        .import_str(&mut s, &repeated, &Edit::new("import", jun_18()))
        .unwrap();
    assert_eq!((report.memberships_added, report.rows_failed), (1, 0));
}

#[test]
fn the_report_lists_the_first_failures_and_counts_them_all() {
    // 6,000 rows with two unknown tags each, every tenth row with a bad number instead:
    // 600 key failures and 10,800 tag failures.
    let mut text = String::new();
    for i in 0..6_000 {
        if i % 10 == 9 {
            text += "12,VIP\n";
        } else {
            text += &format!("8529{i:07},nope,VIP,nada\n");
        }
    }
    let mut s = shop();
    let report = Importer::new()
        .unnamed_columns(UnnamedColumns::Tags)
        .max_rows(6_000)
        .unwrap()
        .max_failed_share(1.0)
        .unwrap()
        .import_str(&mut s, &text, &Edit::new("import", jun_18()))
        .unwrap();
    assert_eq!(report.rows_failed, 6_000);
    assert_eq!(report.failure_counts[&FailureKind::UnknownTag], 10_800);
    assert_eq!(report.failure_counts[&FailureKind::InvalidPhone], 600);
    assert_eq!(report.failures.len(), MAX_LISTED_FAILURES);
    // The first failures in line order: 19 per ten rows, so rows 1 to 5,260 give 9,994
    // and rows 5,261 to 5,263 the last six.
    let last = report.failures.last().unwrap();
    assert_eq!((last.line, last.column), (5_263, 4));
    assert!(
        report
            .failures
            .windows(2)
            .all(|w| (w[0].line, w[0].column) < (w[1].line, w[1].column))
    );
    assert_eq!(
        report.failures.iter().filter(|f| f.column == 1).count(),
        526
    );
    assert!(
        report
            .to_string()
            .contains("\n  ... and 1400 more failures, not listed\n")
    );
    assert_eq!(report.customers_created, 5_400);
}

#[test]
fn created_tags_follow_the_naming_rules() {
    let mut s = shop();
    let admin = Edit::new("admin", jun_18());
    s.set_policy(
        &admin,
        Policy::open().with_naming(NamingRules::new().require_dimension_prefix()),
    )
    .unwrap();
    // The first created name keeps the rule, the second breaks it: before the rules were
    // checked up front, applying created the first and failed on the second.
    let report = Importer::new()
        .unknown_tags(UnknownTags::create_in("campaign"))
        .max_failed_share(1.0)
        .unwrap()
        .import_str(
            &mut s,
            "85291234567,campaign/618\n85291234568,\"campaign-x, y\"\n",
            &Edit::new("import", jun_18()),
        )
        .unwrap();
    assert_eq!(report.tags_created, ["campaign/618", "campaign-x"]);
    assert_eq!(
        report.failures[0].to_string(),
        "line 2, column 2 (tags): \"y\": breaks a naming rule: names in dimension \
         \"campaign\" start with \"campaign\" and one of / - _ . (e.g. \"campaign/y\"); tag \
         ignored"
    );
    assert_eq!(
        report.failures[0].reason,
        FailureReason::NamingRule {
            rule: "names in dimension \"campaign\" start with \"campaign\" and one of / - _ . \
                   (e.g. \"campaign/y\")"
                .into()
        }
    );
    assert_eq!(
        report.failure_counts[&FailureKind::NamingRule],
        1,
        "{report}"
    );
    assert!(s.tag_id("y").is_err());
}

#[test]
fn creating_tags_needs_permission_and_a_valid_actor() {
    let mut s = shop();
    s.set_policy(
        &Edit::new("mei", jun_18()),
        Policy::administered_by(["mei"]).unwrap(),
    )
    .unwrap();
    let before = fingerprint(&s);
    let create = Importer::new().unknown_tags(UnknownTags::create_in("campaign"));
    let err = create
        .import_str(
            &mut s,
            "85291234567,VIP\n85291234568,brand new\n",
            &Edit::new("import", jun_18()),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "actor \"import\" may not create tags; ask an administrator (mei)"
    );
    assert_eq!(fingerprint(&s), before);
    assert_eq!(
        create
            .dry_run_str(
                &s,
                "85291234568,brand new\n",
                &Edit::new("import", jun_18())
            )
            .unwrap_err()
            .to_string(),
        "actor \"import\" may not create tags; ask an administrator (mei)"
    );
    // Nothing to create: nothing to permit.
    create
        .clone()
        .import_str(&mut s, "85291234568,VIP\n", &Edit::new("import", jun_18()))
        .unwrap();
    // The administrator may.
    let report = create
        .clone()
        .import_str(
            &mut s,
            "85291234569,brand new\n",
            &Edit::new("mei", jun_18()),
        )
        .unwrap();
    assert_eq!(report.tags_created, ["brand new"]);

    let mut s = shop();
    let before = fingerprint(&s);
    let err = Importer::new()
        .unknown_tags(UnknownTags::create_in("campaign"))
        .import_str(
            &mut s,
            "85291234568,brand new\n",
            &Edit::new("a".repeat(201), jun_18()),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "actor length in characters exceeds the limit of 200 (got 201)"
    );
    assert_eq!(fingerprint(&s), before);
}

#[test]
fn a_refused_file_is_an_import_error() {
    let err = import_error(
        Importer::new()
            .import_str(
                &mut shop(),
                &format!("{}\n", ",".repeat(2_000)),
                &Edit::new("import", jun_18()),
            )
            .unwrap_err(),
    );
    assert_eq!(
        err,
        ImportError::TooManyFields {
            line: 1,
            limit: 1_024
        }
    );
}

#[test]
fn positions_and_sizes_beyond_four_bytes_do_not_wrap() {
    // Column numbers count from 1: a position at the end of the range saturates.
    let report = Importer::new()
        .columns(usize::MAX, Some(u32::MAX as usize))
        .dry_run_str(&shop(), "85291234567,VIP\n", &Edit::new("import", jun_18()))
        .unwrap();
    assert_eq!(report.key_column, u32::MAX);
    assert_eq!(report.tags_column, Some(u32::MAX));
    assert_eq!(report.failures[0].column, u32::MAX);
    assert_eq!(
        report.failures[0].to_string(),
        "line 1, column 4294967295 (phone): \"\": phone number is empty: it has no digits; \
         row skipped"
    );
    // The input limit stays within what the first pass's 4-byte offsets can address.
    assert_eq!(
        Importer::new()
            .max_input_bytes(u64::MAX)
            .unwrap_err()
            .to_string(),
        "invalid setting Importer::max_input_bytes: an import reads 1 to 4294967295 bytes, got 18446744073709551615"
    );
    let json = serde_json::to_value(
        Importer::new()
            .max_input_bytes(u64::from(u32::MAX))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["max_input_bytes"], u64::from(u32::MAX));
    // Deserialisation goes through the setters.
    let mut too_big = json.clone();
    too_big["max_input_bytes"] = serde_json::json!(u64::MAX);
    assert!(serde_json::from_value::<Importer>(too_big).is_err());
    assert_eq!(
        serde_json::from_value::<Importer>(json).unwrap(),
        Importer::new()
            .max_input_bytes(u64::from(u32::MAX))
            .unwrap()
    );
    assert_eq!(audience::import::MAX_INPUT_BYTES, 4_294_967_295);
}

#[test]
fn a_name_that_fails_twice_in_a_row_is_one_failure() {
    let report = Importer::new()
        .unnamed_columns(UnnamedColumns::Tags)
        .max_failed_share(1.0)
        .unwrap()
        .dry_run_str(
            &shop(),
            "85291234567,\"nope, VIP, nope\",nada,nope,vip\n85291234568,nope\n",
            &Edit::new("import", jun_18()),
        )
        .unwrap();
    let places: Vec<(u64, u32, &str)> = report
        .failures
        .iter()
        .map(|f| (f.line, f.column, f.value.as_str()))
        .collect();
    assert_eq!(places, [(1, 2, "nope"), (1, 3, "nada"), (2, 2, "nope")]);
    assert_eq!(report.failure_counts[&FailureKind::UnknownTag], 3);
    // Thousands of them cost one failure, not thousands.
    let row = "85291234567,\"".to_string() + &"x,".repeat(30_000) + "\"\n";
    let report = Importer::new()
        .unnamed_columns(UnnamedColumns::Tags)
        .max_failed_share(1.0)
        .unwrap()
        .dry_run_str(&shop(), &row, &Edit::new("import", jun_18()))
        .unwrap();
    assert_eq!(report.failure_counts[&FailureKind::UnknownTag], 1);
}
