//! Spreadsheets (the `xlsx` feature): the cells of one sheet of an `.xlsx`, `.xls` or
//! `.ods` workbook, read by `calamine` (an `.xlsx` sheet a cell at a time), as rows for the
//! same first pass as CSV; a zip workbook's parts, an `.ods` file's repeated cells, and
//! what the `.xls` reader would hold (see the `xls` module) are checked against the
//! import's limits before `calamine` reads them.

use std::io::{Cursor, Read};

use calamine::{Data, DataRef, Ods, Range, Reader, Xlsx, XlsxCellReader};

use super::xls::read_xls;
use super::*;
use zip::ZipArchive;

impl Importer {
    /// The sheet [`Importer::import_sheet`] reads, by name (compared as tag names are:
    /// case, width and spacing do not matter); the first sheet by default. A blank name is
    /// refused with [`ErrorKind::InvalidSetting`].
    pub fn sheet(mut self, name: &str) -> Result<Importer, Error> {
        let name = tidy(name);
        if name.is_empty() {
            return Err(ErrorKind::InvalidSetting {
                setting: "Importer::sheet",
                reason: "a sheet name must not be blank".into(),
            }
            .into());
        }
        self.sheet = Some(name);
        Ok(self)
    }

    /// Imports the first sheet (or the one [`Importer::sheet`] names) of a workbook, given
    /// as its bytes, into `store`: Excel's `.xlsx`, Excel 97-2003's `.xls` and
    /// OpenDocument's `.ods` (LibreOffice, Google Sheets' "OpenDocument" download), told
    /// apart by their bytes, not by a name. The rows of the sheet are the rows of a CSV file (row numbers
    /// are the report's lines), with the same columns, rules, limits and report as
    /// [`Importer::import_str`]. On error nothing has changed.
    ///
    /// Cells are read as their values, without the program's number formatting: a phone
    /// number stored as a number keeps all its digits (`66812345678`, also when Excel shows
    /// it as `6.68123E+10`), a whole number has no decimals, text is taken as it is (a
    /// number written as text in scientific notation is reported as in a CSV file), a date
    /// is its serial number (`.xlsx`) or its ISO text (`.ods`), a formula its cached
    /// value.
    ///
    /// Memory stays bounded by the import's limits. The input is at most
    /// [`Importer::max_input_bytes`]. An `.xlsx` or `.ods` file is a zip archive of parts,
    /// some of which the reader holds whole (the shared strings, an `.ods` file's content):
    /// before anything is read, the parts may unpack to at most [`MAX_UNPACKED_FACTOR`]
    /// times [`Importer::max_input_bytes`] together
    /// ([`ImportError::WorkbookTooLarge`]), a part over [`TIGHT_PACKING_FLOOR`] bytes may be
    /// packed at most [`MAX_PACKING_RATIO`]-fold ([`ImportError::WorkbookPackedTooTightly`]),
    /// and no part is unpacked past the size it declares (one that holds more is refused).
    /// An `.ods` file's cells are counted as its reader would spread them out (a cell
    /// repeated across columns once per column), at most one per 64 bytes of that unpacked
    /// limit ([`ImportError::SheetTooLarge`]). An `.xlsx` sheet is then read a cell at a time: a row over the
    /// import's limits (fields, bytes) is refused before it is held whole, and rows past
    /// [`Importer::max_rows`] are only counted. An `.ods` sheet is read whole first, then
    /// row by row under the same limits.
    ///
    /// An `.xls` workbook is read whole, every sheet, by a reader that trusts the sizes
    /// the file states; so its container (a compound file) is read and checked by the
    /// `cfb` crate, and its workbook stream written into a fresh one for the reader, and
    /// before that what the reader would hold is sized from the records' headers alone:
    /// each sheet's declared size, the grid from its first to its last cell, its strings
    /// (a cell of the shared strings table holds a copy of its string). A total over
    /// [`MAX_HELD_FACTOR`] times [`Importer::max_input_bytes`] is refused with
    /// [`ImportError::WorkbookTooLargeToRead`]; a declared size whose last row or column
    /// comes before its first, and sheets whose records overlap, with
    /// [`ImportError::Spreadsheet`]. Formulas are imported as their cached values (their
    /// text is not read). Data the reader cannot make sense of is refused with
    /// [`ImportError::Spreadsheet`], also where the reader panics on it (the panic is
    /// caught, so the program's panic hook still sees it: the default hook prints its
    /// message to standard error). Binary `.xlsb` workbooks are
    /// refused with [`ImportError::Spreadsheet`]: save them as `.xlsx` or CSV.
    ///
    /// ```
    /// # fn main() -> Result<(), audience::Error> {
    /// use audience::import::Importer;
    /// use audience::{Day, Edit, Store, TagSpec};
    ///
    /// let today = Day::from_ymd(2025, 6, 18)?;
    /// let mut store = Store::new();
    /// store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
    /// // Bytes that are not a workbook are refused with a clear message.
    /// let err = Importer::new()
    ///     .import_sheet(&mut store, b"phone,tags\n", &Edit::new("import", today))
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the spreadsheet could not be read: it is not a workbook (.xlsx, .xls or .ods); \
    ///      save it as .xlsx or as \"CSV UTF-8\" and import that"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn import_sheet(
        &self,
        store: &mut Store,
        bytes: &[u8],
        edit: &Edit,
    ) -> Result<ImportReport, Error> {
        let plan = self.plan_sheet(store, bytes, edit)?;
        self.apply_plan(store, plan, edit)
    }

    /// A dry run of [`Importer::import_sheet`], as [`Importer::dry_run_str`] is of
    /// [`Importer::import_str`].
    pub fn dry_run_sheet(
        &self,
        store: &Store,
        bytes: &[u8],
        edit: &Edit,
    ) -> Result<ImportReport, Error> {
        Ok(self.plan_sheet(store, bytes, edit)?.report)
    }

    fn plan_sheet(&self, store: &Store, bytes: &[u8], edit: &Edit) -> Result<Plan, Error> {
        let limit = self.input_limit();
        if bytes.len() as u64 > limit {
            return Err(ImportError::TooLarge { limit }.into());
        }
        let create_dimension = self.create_dimension()?;
        let format = detect(bytes, unpack_limit(limit))?;
        let reader = Cursor::new(bytes);
        match format {
            Format::Xlsx => {
                let mut book = Xlsx::new(reader).map_err(unreadable)?;
                let name = self.pick_sheet(book.sheet_names())?;
                let cells = book.worksheet_cells_reader(&name).map_err(unreadable)?;
                self.plan_rows(store, edit, create_dimension, &mut SheetRows::new(cells))
            }
            Format::Ods => {
                check_ods_cells(bytes, unpack_limit(limit) / CELL_BYTES)?;
                let book = Ods::new(reader).map_err(unreadable)?;
                self.plan_range(store, edit, create_dimension, book)
            }
            Format::Xls => {
                let held = limit.saturating_mul(MAX_HELD_FACTOR);
                let range = read_xls(bytes, held, |sheets| self.pick_sheet(sheets))?;
                let cells = RangeCells { range, at: 0 };
                self.plan_rows(store, edit, create_dimension, &mut SheetRows::new(cells))
            }
        }
    }

    /// Plans the sheet of a workbook that `calamine` reads whole (`.ods`).
    fn plan_range<'b, R: Reader<Cursor<&'b [u8]>>>(
        &self,
        store: &Store,
        edit: &Edit,
        create_dimension: Option<String>,
        mut book: R,
    ) -> Result<Plan, Error>
    where
        R::Error: std::fmt::Display,
    {
        let name = self.pick_sheet(book.sheet_names())?;
        let range = book.worksheet_range(&name).map_err(unreadable)?;
        drop(book);
        let cells = RangeCells { range, at: 0 };
        self.plan_rows(store, edit, create_dimension, &mut SheetRows::new(cells))
    }

    /// The name of the sheet to read: the one [`Importer::sheet`] names, or the first.
    fn pick_sheet(&self, sheets: Vec<String>) -> Result<String, Error> {
        let name = match &self.sheet {
            Some(wanted) => sheets.iter().find(|s| fold(s) == fold(wanted)).cloned(),
            None => sheets.first().cloned(),
        };
        name.ok_or_else(|| {
            ImportError::NoSuchSheet {
                name: self.sheet.clone().unwrap_or_default(),
                sheets: sheets.iter().map(|s| clip(s)).collect(),
            }
            .into()
        })
    }
}

/// The kinds of workbook read, told apart by their bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Xlsx,
    Ods,
    Xls,
}

/// The most bytes the parts of a workbook may unpack to, for an input limit.
fn unpack_limit(input_limit: u64) -> u64 {
    input_limit.saturating_mul(MAX_UNPACKED_FACTOR)
}

/// The kind of workbook `bytes` hold. A zip archive (`.xlsx`, `.ods`) is checked first:
/// its parts together declare at most `limit` bytes unpacked, none packed more tightly
/// than [`MAX_PACKING_RATIO`]. The zip reader unpacks no part past the size it declares (a
/// part that holds more is an error), so the reader, which holds some parts whole, holds
/// at most `limit` bytes of them.
fn detect(bytes: &[u8], limit: u64) -> Result<Format, Error> {
    const CFB: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    const ODS: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";
    if bytes.starts_with(CFB) {
        return Ok(Format::Xls);
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(not_a_workbook("it is not a workbook (.xlsx, .xls or .ods)"));
    }
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(unreadable)?;
        let (packed, unpacked) = (part.compressed_size(), part.size());
        total = total.saturating_add(unpacked);
        if total > limit {
            return Err(too_large(&String::from_utf8_lossy(part.name_raw()), limit));
        }
        if unpacked > TIGHT_PACKING_FLOOR && unpacked / packed.max(1) > MAX_PACKING_RATIO {
            return Err(ImportError::WorkbookPackedTooTightly {
                part: clip(&String::from_utf8_lossy(part.name_raw())),
                limit: MAX_PACKING_RATIO,
            }
            .into());
        }
    }
    let ods = match zip.by_name("mimetype") {
        Ok(mut part) => {
            let mut kind = Vec::new();
            (&mut part)
                .take(64)
                .read_to_end(&mut kind)
                .map_err(unreadable)?;
            kind.starts_with(ODS)
        }
        Err(_) => false,
    };
    if ods {
        Ok(Format::Ods)
    } else if zip.index_for_name("xl/workbook.xml").is_some() {
        Ok(Format::Xlsx)
    } else if zip.index_for_name("xl/workbook.bin").is_some() {
        Err(not_a_workbook("it is a binary Excel workbook (.xlsb)"))
    } else {
        Err(not_a_workbook(
            "it is a zip archive, not a workbook (.xlsx, .xls or .ods)",
        ))
    }
}

/// What the reader holds for a cell of an `.ods` sheet read whole, rounded up:
/// its value and its formula.
const CELL_BYTES: u64 = 64;

/// The most columns an `.ods` row spreads out to (the reader's own cap).
const ODS_COLUMNS: u64 = 16_384;

/// The most rows an `.ods` sheet spreads out to (the reader's own cap).
const ODS_ROWS: u64 = 1_048_576;

/// An `.ods` file's cells as its reader spreads them out: a cell repeated across columns
/// (`table:number-columns-repeated`) is held once per column, and the rows of a sheet from
/// its first to its last row with a value (repeated rows one by one) are held as wide as
/// its widest row. A few bytes of content can so ask for gigabytes; at most `limit` cells
/// are allowed, counted from the content a tag at a time before it is read.
fn check_ods_cells(bytes: &[u8], limit: u64) -> Result<(), Error> {
    use quick_xml::events::{BytesStart, Event};
    fn count(e: &BytesStart<'_>, name: &str, cap: u64) -> u64 {
        e.try_get_attribute(name)
            .ok()
            .flatten()
            .and_then(|a| a.value.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .min(cap)
    }
    let too_many = || -> Error { ImportError::SheetTooLarge { limit }.into() };
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let Ok(content) = zip.by_name("content.xml") else {
        return Ok(()); // the reader says what is missing
    };
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(content));
    let mut buf = Vec::new();
    // All sheets are read, so the counts add up over them.
    let mut held = 0u64; // cells as read, row by row
    let mut spread = 0u64; // cells of the sheets' spans
    // The sheet: rows up to its last row with a value, rows since, widest row.
    let (mut rows, mut pending, mut width) = (0u64, 0u64, 0u64);
    // The row: its repeats, cells with values so far, empty cells since.
    let (mut repeats, mut len, mut empty) = (1u64, 0u64, 0u64);
    loop {
        let event = xml.read_event_into(&mut buf).map_err(unreadable)?;
        let (e, closed) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(e) => {
                match e.name().into_inner() {
                    "table:table-row" => {
                        held = held.saturating_add(len);
                        if len > 0 {
                            rows = rows.saturating_add(pending).saturating_add(repeats);
                            pending = 0;
                            width = width.max(len);
                        } else {
                            pending = pending.saturating_add(repeats);
                        }
                    }
                    "table:table" => {
                        spread = spread.saturating_add(rows.min(ODS_ROWS).saturating_mul(width));
                        (rows, pending, width) = (0, 0, 0);
                    }
                    _ => {}
                }
                if held > limit || spread > limit {
                    return Err(too_many());
                }
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(e) = e {
            match e.name().into_inner() {
                "table:table-row" => {
                    repeats = count(e, "table:number-rows-repeated", ODS_ROWS);
                    (len, empty) = (0, 0);
                    if closed {
                        pending = pending.saturating_add(repeats);
                    }
                }
                "table:table-cell" | "table:covered-table-cell" => {
                    let n = count(e, "table:number-columns-repeated", ODS_COLUMNS);
                    // A cell with content (a value, or text inside it) is held with the
                    // empty cells before it; trailing empty cells are not held.
                    let valued = !closed
                        || e.try_get_attribute("office:value-type")
                            .ok()
                            .flatten()
                            .is_some();
                    if valued {
                        len = len.saturating_add(empty).saturating_add(n).min(ODS_COLUMNS);
                        empty = 0;
                    } else {
                        empty = empty.saturating_add(n);
                    }
                }
                _ => {}
            }
        }
        buf.clear();
    }
    Ok(())
}

pub(super) fn not_a_workbook(what: &str) -> Error {
    ImportError::Spreadsheet {
        reason: format!("{what}; save it as .xlsx or as \"CSV UTF-8\" and import that"),
    }
    .into()
}

fn too_large(part: &str, limit: u64) -> Error {
    ImportError::WorkbookTooLarge {
        part: clip(part),
        limit,
    }
    .into()
}

pub(super) fn unreadable(e: impl std::fmt::Display) -> Error {
    ImportError::Spreadsheet {
        reason: clip(&e.to_string()),
    }
    .into()
}

/// A cell's text, without number formatting; `None` for an empty cell.
fn cell_text(value: &DataRef<'_>) -> Option<String> {
    Some(match value {
        DataRef::Empty => return None,
        DataRef::Int(i) => i.to_string(),
        // Shortest text that reads back as the same number, never in exponent form:
        // 66812345678.0 is "66812345678".
        DataRef::Float(x) => x.to_string(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::Error(e) => e.to_string(),
    })
}

/// [`cell_text`] of a cell of a sheet read whole.
fn data_text(value: &Data) -> Option<String> {
    Some(match value {
        Data::Empty => return None,
        Data::Int(i) => i.to_string(),
        Data::Float(x) => x.to_string(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::Error(e) => e.to_string(),
    })
}

/// The cells of a sheet in row order, each (row, column, text) from 0; empty cells are
/// skipped.
trait Cells {
    fn next_cell(&mut self) -> Result<Option<(u32, u32, String)>, Error>;
}

impl Cells for XlsxCellReader<'_, Cursor<&[u8]>> {
    fn next_cell(&mut self) -> Result<Option<(u32, u32, String)>, Error> {
        while let Some(cell) = XlsxCellReader::next_cell(self).map_err(unreadable)? {
            let (row, column) = cell.get_position();
            if let Some(text) = cell_text(cell.get_value()) {
                return Ok(Some((row, column, text)));
            }
        }
        Ok(None)
    }
}

/// The cells of a sheet `calamine` read whole.
struct RangeCells {
    range: Range<Data>,
    /// The next cell, as an index in the range's rows.
    at: usize,
}

impl Cells for RangeCells {
    fn next_cell(&mut self) -> Result<Option<(u32, u32, String)>, Error> {
        let Some((top, left)) = self.range.start() else {
            return Ok(None);
        };
        let width = self.range.width().max(1);
        let cells = self.range.get_size().0.saturating_mul(width);
        while self.at < cells {
            let (row, column) = (self.at / width, self.at % width);
            self.at += 1;
            if let Some(text) = self.range.get((row, column)).and_then(data_text) {
                // Within the range's u32 bounds, so these fit.
                let row = top.saturating_add(u32::try_from(row).unwrap_or(u32::MAX));
                let column = left.saturating_add(u32::try_from(column).unwrap_or(u32::MAX));
                return Ok(Some((row, column, text)));
            }
        }
        Ok(None)
    }
}

/// The rows of a sheet, built a cell at a time in bounded buffers.
struct SheetRows<C> {
    cells: C,
    /// The first cell of the next row, read while looking for the end of this one:
    /// (row, column, text), from 0.
    pending: Option<(u32, u32, String)>,
    /// The end of the sheet's cells was read (reading on is an error).
    done: bool,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

impl<C: Cells> SheetRows<C> {
    fn new(cells: C) -> SheetRows<C> {
        SheetRows {
            cells,
            pending: None,
            done: false,
            fields: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// The next cell that is not empty: (row, column, text), from 0.
    fn next_cell(&mut self) -> Result<Option<(u32, u32, String)>, Error> {
        if let Some(cell) = self.pending.take() {
            return Ok(Some(cell));
        }
        if self.done {
            return Ok(None);
        }
        let cell = self.cells.next_cell()?;
        self.done = cell.is_none();
        Ok(cell)
    }
}

impl<C: Cells> RowSource for SheetRows<C> {
    fn next_row(&mut self) -> Result<Option<(u64, Record<'_>)>, Error> {
        self.fields.clear();
        self.ends.clear();
        let Some(first) = self.next_cell()? else {
            return Ok(None);
        };
        let row = first.0;
        let line = u64::from(row) + 1;
        let mut cell = Some(first);
        while let Some((r, column, text)) = cell.take() {
            if r != row {
                self.pending = Some((r, column, text));
                break;
            }
            let at = column as usize;
            // Cells of a row come in column order; one that does not is ignored.
            if at >= self.ends.len() {
                if at >= MAX_ROW_FIELDS {
                    return Err(RowLimit::Fields.into_error(line).into());
                }
                if text.len() > MAX_FIELD_BYTES {
                    return Err(RowLimit::Field(at).into_error(line).into());
                }
                if self.fields.len() + text.len() > MAX_ROW_BYTES {
                    return Err(RowLimit::Row.into_error(line).into());
                }
                let end = self.fields.len();
                self.ends.resize(at, end);
                self.fields.extend_from_slice(text.as_bytes());
                self.ends.push(self.fields.len());
            }
            cell = self.next_cell()?;
        }
        Ok(Some((
            line,
            Record {
                fields: &self.fields,
                ends: &self.ends,
            },
        )))
    }
}
