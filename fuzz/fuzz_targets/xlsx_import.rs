//! Spreadsheets: arbitrary bytes, and `.xlsx`, `.xls` and `.ods` workbooks (the seed
//! corpus) mutated, given to the spreadsheet path, which tells the formats apart by their
//! bytes. Never panics; the dry run and the import agree; a refused import changes nothing.
//! Memory stays bounded by the import's limits: a zip workbook's parts are checked against
//! them before they are unpacked (run with `-rss_limit_mb`), rows past `max_rows` are only
//! counted, a row is refused past its field and byte limits.
#![no_main]

use audience::Edit;
use audience::import::Importer;
use audience_fuzz::{import_fingerprint, import_store};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a, bytes @ ..] = data else {
        return;
    };
    let (mut store, today) = import_store();
    // A small input limit, so that the unpacked-size bound (4 times it) is small too.
    let mut imp = Importer::new()
        .max_rows(64)
        .unwrap()
        .max_input_bytes(1 << 20)
        .unwrap();
    if a & 1 != 0 {
        imp = imp.max_failed_share(1.0).unwrap();
    }
    if a & 2 != 0 {
        imp = imp.sheet("會員").unwrap();
    }
    if a & 4 != 0 {
        imp = imp.default_country(audience::Country::TH);
    }
    let before = import_fingerprint(&store);
    let dry = imp.dry_run_sheet(&store, bytes, &Edit::new("import", today));
    assert_eq!(
        import_fingerprint(&store),
        before,
        "a dry run changed the store"
    );
    let result = imp.import_sheet(&mut store, bytes, &Edit::new("import", today));
    match (&dry, &result) {
        (Ok(d), Ok(r)) => {
            let mut d = d.clone();
            d.applied = true;
            assert_eq!(&d, r, "the dry run's report differs from the import's");
            assert_eq!(r.rows_read, r.rows_imported + r.rows_skipped);
            let _ = r.to_string();
            let _ = r.summary();
        }
        (Err(_), Err(_)) | (Ok(_), Err(_)) => {
            assert_eq!(
                import_fingerprint(&store),
                before,
                "a refused import changed the store"
            );
        }
        (Err(d), Ok(_)) => panic!("the dry run refused ({d}), the import did not"),
    }
});
