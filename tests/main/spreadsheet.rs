//! Spreadsheets (the `xlsx` feature): workbooks written by real writers (`rust_xlsxwriter`
//! for `.xlsx`; `odfpy` for the committed `.ods` file, and `xlwt` for the `.xls` one that
//! is refused, both made by `scripts/make_sheets.py`), read through the same pipeline,
//! limits and report as CSV.

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

/// The report of the member list, in each format.
const MEMBERS_REPORT: &str = "5 rows read: 4 imported, 1 skipped.\n\
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
         Within the 50% of failed rows allowed; fix the rows above and import them again.";

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
    assert_eq!(report.to_string(), MEMBERS_REPORT);
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

/// The member list as `xlwt` 1.3.0 wrote it (Excel 97-2003, BIFF8).
const MEMBERS_XLS: &[u8] = include_bytes!("../data/members.xls");
/// The member list as `odfpy` 1.4.1 wrote it (OpenDocument 1.2).
const MEMBERS_ODS: &[u8] = include_bytes!("../data/members.ods");

#[test]
fn ods_and_xls_workbooks_read_like_the_xlsx_one() {
    for (format, bytes) in [("ods", MEMBERS_ODS), ("xls", MEMBERS_XLS)] {
        let importer = Importer::new()
            .default_country(Country::TH)
            .max_failed_share(0.5)
            .unwrap();
        let dry = importer.dry_run_sheet(&shop(), bytes, &edit()).unwrap();
        let mut s = shop();
        let report = importer.import_sheet(&mut s, bytes, &edit()).unwrap();
        let mut applied = dry.clone();
        applied.applied = true;
        assert_eq!(applied, report, "{format}");
        assert_eq!(report.header_line, Some(1), "{format}");
        assert_eq!(report.to_string(), MEMBERS_REPORT, "{format}");
        // A phone stored as a number keeps its digits (also one shown in scientific
        // notation); the leading 0 of a national number stored as a number is gone, so
        // 812345670 reads as the Thai 081 234 5670.
        let keys: Vec<String> = s.keys().map(|(_, k)| k.to_string()).collect();
        assert_eq!(
            keys,
            ["66812345678", "66812345679", "85291234567", "66812345670"],
            "{format}"
        );
        let first = s
            .customer(&audience::CustomerKey::phone("66812345678").unwrap())
            .unwrap();
        assert_eq!(
            s.tag_names_of(first).unwrap(),
            ["general:VIP", "general:回頭客"],
            "{format}"
        );

        // The second sheet by name; a missing one lists the sheets in order.
        let other = Importer::new()
            .sheet("會員")
            .unwrap()
            .dry_run_sheet(&shop(), bytes, &edit())
            .unwrap();
        assert_eq!(
            (other.rows_read, other.customers_created),
            (1, 1),
            "{format}"
        );
        let err = Importer::new()
            .sheet("Sheet1")
            .unwrap()
            .dry_run_sheet(&shop(), bytes, &edit())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the workbook has no sheet \"Sheet1\": its sheets are \"Members\", \"會員\"",
            "{format}"
        );

        // The same limits as CSV.
        let err = Importer::new()
            .max_rows(4)
            .unwrap()
            .dry_run_sheet(&shop(), bytes, &edit())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file has 5 rows; at most 4 are imported at once: split it into 2 batches",
            "{format}"
        );

        // A broken workbook is refused, never a panic, and changes nothing.
        for cut in [10, bytes.len() / 2, bytes.len() - 1] {
            let err = Importer::new()
                .import_sheet(&mut s, &bytes[..cut], &edit())
                .unwrap_err();
            assert!(
                matches!(import_error(err), ImportError::Spreadsheet { .. }),
                "{format} cut at {cut}"
            );
        }
        assert_eq!(s.customer_count(), 4, "{format}");
    }
}

/// The workbook [`workbook`] writes with its shared strings replaced by a part of
/// `unpacked` bytes (valid XML: spaces inside the root element), packed as tightly as
/// deflate packs.
fn bomb(unpacked: usize) -> Vec<u8> {
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;
    let book = workbook();
    let mut from = zip::ZipArchive::new(Cursor::new(&book[..])).unwrap();
    let mut to = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..from.len() {
        let part = from.by_index_raw(i).unwrap();
        if part.name_raw() != b"xl/sharedStrings.xml" {
            to.raw_copy_file(part).unwrap();
        }
    }
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    to.start_file("xl/sharedStrings.xml", options).unwrap();
    let head = b"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">";
    to.write_all(head).unwrap();
    to.write_all(&vec![b' '; unpacked - head.len() - 6])
        .unwrap();
    to.write_all(b"</sst>").unwrap();
    to.finish().unwrap().into_inner()
}

#[test]
fn workbooks_that_unpack_past_the_limits_are_refused_before_reading() {
    // 64 MiB of spaces pack into about 64 KiB: over the packing ratio.
    let bytes = bomb(64 << 20);
    assert!(bytes.len() < 200 << 10, "{}", bytes.len());
    let mut s = shop();
    let err = Importer::new()
        .import_sheet(&mut s, &bytes, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the spreadsheet could not be read: its part \"xl/sharedStrings.xml\" unpacks to \
         more than 100 times its packed size, which no spreadsheet program writes: save the \
         list as \"CSV UTF-8\" and import that"
    );
    assert_eq!(s.customer_count(), 0);

    // Under the ratio floor, the total is what counts: 4 times the input limit.
    let bytes = bomb(1 << 20);
    let err = Importer::new()
        .max_input_bytes(64 << 10)
        .unwrap()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the spreadsheet could not be read: its parts unpack to more than 262144 bytes (past \
         it at \"xl/sharedStrings.xml\"), the most a workbook may for this import (4 times \
         its input limit): split the list, or save it as \"CSV UTF-8\" and import that"
    );
    assert!(matches!(
        import_error(err),
        ImportError::WorkbookTooLarge { limit: 262144, .. }
    ));
    // Within both, the workbook is handed to the reader, which finds its shared strings
    // empty.
    let err = Importer::new()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the spreadsheet could not be read: Cell string index not found in shared strings table"
    );

    // A part whose header understates what it unpacks to (the sizes of the shared
    // strings, in its local header and in the central directory, say 1,000 bytes) passes
    // the check, but is not unpacked past what it declares.
    let mut lying = bomb(1 << 20);
    let name = b"xl/sharedStrings.xml";
    let at: Vec<usize> = lying
        .windows(name.len())
        .enumerate()
        .filter(|(_, w)| *w == name)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 2);
    // Local header: the size is 8 bytes before the name; central directory: 26.
    for (&start, back) in at.iter().zip([8, 26]) {
        lying[start - back..start - back + 4].copy_from_slice(&1000u32.to_le_bytes());
    }
    let err = Importer::new()
        .dry_run_sheet(&shop(), &lying, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the spreadsheet could not be read: Xml error: I/O error: incomplete deflate stream",
        "the reader stops at the declared 1,000 bytes"
    );
}

#[test]
fn other_bytes_are_refused_by_what_they_are() {
    let refused = |bytes: &[u8]| {
        Importer::new()
            .dry_run_sheet(&shop(), bytes, &edit())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refused(b"phone\n66812345678\n"),
        "the spreadsheet could not be read: it is not a workbook (.xlsx, .xls or .ods); save \
         it as .xlsx or as \"CSV UTF-8\" and import that"
    );
    // A zip archive of other parts.
    use std::io::{Cursor, Write};
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("notes.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"hello").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    assert_eq!(
        refused(&bytes),
        "the spreadsheet could not be read: it is a zip archive, not a workbook (.xlsx, .xls \
         or .ods); save it as .xlsx or as \"CSV UTF-8\" and import that"
    );
}

/// An `.ods` workbook of `rows` rows, each one cell repeated across `columns` columns.
fn repeated_ods(rows: usize, columns: u32) -> Vec<u8> {
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("META-INF/manifest.xml", stored).unwrap();
    zip.write_all(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><manifest:manifest \
          xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">\
          <manifest:file-entry manifest:full-path=\"/\" \
          manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/>\
          <manifest:file-entry manifest:full-path=\"content.xml\" \
          manifest:media-type=\"text/xml\"/></manifest:manifest>",
    )
    .unwrap();
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("content.xml", deflated).unwrap();
    zip.write_all(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content \
          xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
          xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" \
          xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
          office:version=\"1.2\"><office:body><office:spreadsheet>\
          <table:table table:name=\"Sheet1\">",
    )
    .unwrap();
    for _ in 0..rows {
        write!(
            zip,
            "<table:table-row><table:table-cell table:number-columns-repeated=\"{columns}\" \
             office:value-type=\"float\" office:value=\"66812345678\"><text:p>66812345678\
             </text:p></table:table-cell></table:table-row>"
        )
        .unwrap();
    }
    zip.write_all(b"</table:table></office:spreadsheet></office:body></office:document-content>")
        .unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn ods_cells_repeated_past_the_limits_are_refused_before_reading() {
    // 3,000 rows of a cell repeated across 16,384 columns: 49 million cells, gigabytes
    // once spread out, from a file of a few kilobytes.
    let bytes = repeated_ods(3_000, 16_384);
    assert!(bytes.len() < 10 << 10, "{}", bytes.len());
    let err = Importer::new()
        .dry_run_sheet(&shop(), &bytes, &edit())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the spreadsheet could not be read: its sheets spread out to more than 4194304 cells \
         (repeated cells and the rows between counted one by one), the most a workbook may \
         for this import: delete the empty rows and columns, or save it as \"CSV UTF-8\" and \
         import that"
    );
    // The same shape within the limit reads, each row's first cell the number.
    let report = Importer::new()
        .max_failed_share(1.0)
        .unwrap()
        .dry_run_sheet(&shop(), &repeated_ods(3, 4), &edit())
        .unwrap();
    assert_eq!((report.rows_read, report.customers_created), (3, 1));
}

/// `MEMBERS_XLS` with `patch` written at `at`.
fn patched(at: usize, patch: &[u8]) -> Vec<u8> {
    let mut bytes = MEMBERS_XLS.to_vec();
    bytes[at..at + patch.len()].copy_from_slice(patch);
    bytes
}

/// Where a record of `MEMBERS_XLS` starts: the first one with this type and length.
fn record(typ: u16, len: u16) -> usize {
    let head = [typ.to_le_bytes(), len.to_le_bytes()].concat();
    MEMBERS_XLS.windows(4).position(|w| w == head).unwrap()
}

#[test]
fn hostile_xls_workbooks_are_refused_before_reading() {
    let refused = |bytes: &[u8]| {
        let mut s = shop();
        let err = Importer::new()
            .import_sheet(&mut s, bytes, &edit())
            .unwrap_err();
        assert_eq!(s.customer_count(), 0);
        err.to_string()
    };
    // The sheet's DIMENSIONS record (rows as u32, columns as u16) claiming rows that end
    // before they start, or 4 billion rows (the reader reserves what it claims).
    let dims = record(0x0200, 14) + 4;
    let backwards = [5u32.to_le_bytes(), 3u32.to_le_bytes()].concat();
    assert_eq!(
        refused(&patched(dims, &backwards)),
        "the spreadsheet could not be read: a sheet declares rows 5 to 2 and columns 0 to 2 \
         (its DIMENSIONS record), which no spreadsheet program writes; save it as .xlsx or as \
         \"CSV UTF-8\" and import that"
    );
    let huge = [0u32.to_le_bytes(), u32::MAX.to_le_bytes()].concat();
    assert_eq!(
        refused(&patched(dims, &huge)),
        "the spreadsheet could not be read: reading it would take more than 536870912 bytes \
         of memory (its sheets held whole, each as a grid from its first to its last cell), \
         the most a workbook may for this import (8 times its input limit): delete the empty \
         rows and columns, split the list, or save it as .xlsx or \"CSV UTF-8\" and import \
         that"
    );
    // A loop in the container's sector chains (the directory's sector pointing to
    // itself), which the reader would follow for ever.
    let fat = 512 * (1 + 8);
    assert_eq!(
        refused(&patched(fat + 4 * 9, &9u32.to_le_bytes())),
        "the spreadsheet could not be read: Directory chain includes duplicate sector index 9"
    );
    // A record the reader indexes without checking its length (FILEPASS with no payload,
    // in place of the empty INTERFACEEND): the reader panics, which is caught and refused.
    assert_eq!(
        refused(&patched(record(0x00E2, 0), &0x002Fu16.to_le_bytes())),
        "the spreadsheet could not be read: it is an Excel 97-2003 workbook (.xls) whose \
         records are malformed; save it as .xlsx or as \"CSV UTF-8\" and import that"
    );
    // Cut short anywhere: refused, never a panic.
    for cut in [10, 600, MEMBERS_XLS.len() / 2, MEMBERS_XLS.len() - 1] {
        let err = Importer::new()
            .dry_run_sheet(&shop(), &MEMBERS_XLS[..cut], &edit())
            .unwrap_err();
        assert!(
            matches!(import_error(err), ImportError::Spreadsheet { .. }),
            "cut at {cut}"
        );
    }
    assert_eq!(
        refused(&MEMBERS_XLS[..MEMBERS_XLS.len() / 2]),
        "the spreadsheet could not be read: DIFAT refers to sector 8, but sector count is only 5"
    );
}

#[test]
fn xls_counts_are_not_trusted_and_memory_follows_the_input_limit() {
    let importer = || {
        Importer::new()
            .default_country(Country::TH)
            .max_failed_share(0.5)
            .unwrap()
    };
    // The shared strings table claiming 4 billion strings: the reader reads the strings
    // there are.
    let sst = record(0x00FC, 0x72) + 4;
    let counts = [u32::MAX.to_le_bytes(), u32::MAX.to_le_bytes()].concat();
    let report = importer()
        .import_sheet(&mut shop(), &patched(sst, &counts), &edit())
        .unwrap();
    assert_eq!(report.to_string(), MEMBERS_REPORT);

    // A cell moved 60,000 rows down: a grid of 60,001 rows, a few MiB, held for an input
    // limit of 64 MiB, refused for one of 64 KiB.
    let far = patched(record(0x0203, 14) + 4, &60_000u16.to_le_bytes());
    let report = importer().dry_run_sheet(&shop(), &far, &edit()).unwrap();
    assert_eq!(report.rows_read, 6);
    let err = importer()
        .max_input_bytes(64 << 10)
        .unwrap()
        .dry_run_sheet(&shop(), &far, &edit())
        .unwrap_err();
    assert!(matches!(
        import_error(err),
        ImportError::WorkbookTooLargeToRead { limit: 524288 }
    ));
    // The list itself reads within that limit.
    importer()
        .max_input_bytes(64 << 10)
        .unwrap()
        .dry_run_sheet(&shop(), MEMBERS_XLS, &edit())
        .unwrap();
}
