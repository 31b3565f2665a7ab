//! Spreadsheets: arbitrary bytes, and `.xlsx`, `.xls` and `.ods` workbooks (the seed
//! corpus) mutated, given to the spreadsheet path, which tells the formats apart by their
//! bytes. Never panics; the dry run and the import agree; a refused import changes nothing.
//! Memory stays bounded by the import's limits: a zip workbook's parts are checked against
//! them before they are unpacked, what the `.xls` reader would hold is sized before it
//! reads (run with `-rss_limit_mb`), rows past `max_rows` are only counted, a row is refused
//! past its field and byte limits.
//!
//! The `.xls` reader runs inside `catch_unwind` (a panic in it is a malformed file), so the
//! target replaces the fuzzer's aborting panic hook with one that counts those panics and
//! prints the first of each kind; a panic anywhere else still aborts (the fuzzer catches it
//! outside and aborts).
#![no_main]

use audience::Edit;
use audience::import::Importer;
use audience_fuzz::{import_fingerprint, import_store};
use libfuzzer_sys::fuzz_target;

/// Panics caught inside the library (the `.xls` reader's), counted and printed once each.
fn count_caught_panics() {
    use std::collections::BTreeSet;
    use std::sync::{Mutex, Once};
    static ONCE: Once = Once::new();
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            if seen.insert(at.clone()) {
                eprintln!("caught panic #{} at {at}: {info}", seen.len());
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    count_caught_panics();
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
