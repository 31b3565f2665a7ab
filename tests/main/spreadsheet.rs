//! Spreadsheets (the `xlsx` feature): workbooks written by a real writer
//! (`rust_xlsxwriter`), read through the same pipeline, limits and report as CSV.

use audience::import::{ImportError, Importer, MAX_ROW_FIELDS};
use audience::{Country, Edit, Store, TagSpec};
use rust_xlsxwriter::{Format, Workbook};

use crate::support::{import_error, jun_18};

fn shop() -> Store {
    let mut s = Store::new();
    for name in ["VIP", "回頭客"] {
        s.create_tag(&Edit::new("admin", jun_18()), TagSpec::new(name))
            .unwrap();
    }
    s
}

fn edit() -> Edit {
    Edit::new("import", jun_18())
}

/// A member list as a platform's template holds it: numbers stored as numbers (one shown
/// by Excel in scientific notation), as text, a number typed as text in scientific
/// notation, a blank row, a note in a column without a header, and a second sheet.
fn workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let scientific = Format::new().set_num_format("0.00E+00");
    let sheet = book.add_worksheet();
    sheet.set_name("Members").unwrap();
    sheet.write_string(0, 0, "手機號碼").unwrap();
    sheet.write_string(0, 1, "標籤").unwrap();
    sheet.write_number(1, 0, 66812345678.0).unwrap();
    sheet.write_string(1, 1, "VIP, 回頭客").unwrap();
    sheet
        .write_number_with_format(2, 0, 66812345679.0, &scientific)
        .unwrap();
    sheet.write_string(2, 1, "VIP").unwrap();
    sheet.write_string(2, 2, "call after 6pm").unwrap();
    sheet.write_string(4, 0, "+852 9123 4567").unwrap();
    sheet.write_string(4, 1, "VIPP").unwrap();
    sheet.write_string(5, 0, "8.52912E+10").unwrap();
    sheet.write_string(5, 1, "VIP").unwrap();
    sheet.write_number(6, 0, 812345670.0).unwrap();
    let other = book.add_worksheet();
    other.set_name("會員").unwrap();
    other.write_string(0, 0, "phone").unwrap();
    other.write_number(1, 0, 85291234568.0).unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn the_first_sheet_reads_like_a_csv_file() {
    let bytes = workbook();
    let importer = Importer::new()
        .default_country(Country::TH)
        .max_failed_share(0.5)
        .unwrap();
    let dry = importer.dry_run_sheet(&shop(), &bytes, &edit()).unwrap();
    let mut s = shop();
    let report = importer.import_sheet(&mut s, &bytes, &edit()).unwrap();
    let mut applied = dry.clone();
    applied.applied = true;
    assert_eq!(applied, report);
    assert_eq!(report.header_line, Some(1));
    assert_eq!(
        report.to_string(),
        "5 rows read: 4 imported, 1 skipped.\n\
         Customers: 4 created, 0 updated, 0 unchanged. Memberships: 3 added, 0 removed.\n\
         Column 3 has no header, so its values were ignored (1 row, first at line 3: \
         \"call after 6pm\"); to import them as tags, put them in the tags column.\n\
         Failed rows: 2 of 5 (40%), with 2 failures:\n\
         \x20 number in scientific notation: 1\n\
         \x20 unknown tag: 1\n\
         \x20 line 5, column 2 (tags): \"VIPP\": unknown tag \"VIPP\" (did you mean \"VIP\"?); tag ignored\n\
         \x20 line 6, column 1 (phone): \"8.52912E+10\": the number is in scientific notation, \
         so its last digits are lost: format the column as text in the spreadsheet and export \
         it again; row skipped\n\
         Within the 50% of failed rows allowed; fix the rows above and import them again."
    );
    // Numbers keep every digit, whatever Excel shows.
    let keys: Vec<String> = s.keys().map(|(_, k)| k.to_string()).collect();
    assert_eq!(
        keys,
        ["66812345678", "66812345679", "85291234567", "66812345670"]
    );
    let first = s
        .customer(&audience::CustomerKey::phone("66812345678").unwrap())
        .unwrap();
    assert_eq!(
        s.tag_names_of(first).unwrap(),
        ["general:VIP", "general:回頭客"]
    );
}

#[test]
fn a_named_sheet_and_the_errors() {
    let bytes = workbook();
    let report = Importer::new()
        .sheet("會員")
        .unwrap()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap();
    assert_eq!((report.rows_read, report.customers_created), (1, 1));

    let err = Importer::new()
        .sheet("members ")
        .unwrap()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap();
    assert_eq!(err.rows_read, 5, "names compare as tag names do");

    let err = Importer::new()
        .sheet("Sheet1")
        .unwrap()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the workbook has no sheet \"Sheet1\": its sheets are \"Members\", \"會員\""
    );
    assert_eq!(
        Importer::new().sheet(" ").unwrap_err().to_string(),
        "invalid setting Importer::sheet: a sheet name must not be blank"
    );

    // A broken workbook is refused, never a panic, and changes nothing.
    let mut s = shop();
    for cut in [10, bytes.len() / 2, bytes.len() - 1] {
        let err = Importer::new()
            .import_sheet(&mut s, &bytes[..cut], &edit())
            .unwrap_err();
        assert!(
            matches!(import_error(err), ImportError::Spreadsheet { .. }),
            "cut at {cut}"
        );
    }
    assert_eq!(s.customer_count(), 0);
}

#[test]
fn the_import_limits_hold_for_sheets() {
    // Rows past the limit are counted, not kept; the batch is refused.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for row in 0..12u32 {
        sheet
            .write_number(row, 0, 66812340000.0 + f64::from(row))
            .unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let err = Importer::new()
        .max_rows(10)
        .unwrap()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the file has 12 rows; at most 10 are imported at once: split it into 2 batches"
    );

    // A cell past the last field a row may have.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_number(0, 0, 66812345678.0).unwrap();
    sheet.write_string(1, 0, "66812345679").unwrap();
    sheet
        .write_string(1, MAX_ROW_FIELDS as u16, "far away")
        .unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let err = Importer::new()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: the row has more than 1024 fields, the most one row may have: check the \
         separator"
    );

    // The input size limit, before anything is read.
    let err = Importer::new()
        .max_input_bytes(100)
        .unwrap()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the input is larger than 100 bytes, the most one import reads: split the file"
    );
}
