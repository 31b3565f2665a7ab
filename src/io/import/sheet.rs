//! Spreadsheets (the `xlsx` feature): the cells of one sheet of an `.xlsx` workbook, read
//! by `calamine` a cell at a time, as rows for the same first pass as CSV.

use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx, XlsxCellReader, XlsxError};

use super::*;

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

    /// Imports the first sheet (or the one [`Importer::sheet`] names) of an Excel `.xlsx`
    /// workbook, given as its bytes, into `store`: the rows of the sheet are the rows of a
    /// CSV file (row numbers are the report's lines), with the same columns, rules, limits
    /// and report as [`Importer::import_str`]. On error nothing has changed.
    ///
    /// Cells are read as their values, without Excel's number formatting: a phone number
    /// stored as a number keeps all its digits (`66812345678`, also when Excel shows it as
    /// `6.68123E+10`), a whole number has no decimals, text is taken as it is (a number
    /// Excel wrote as text in scientific notation is reported as in a CSV file), a date is
    /// its serial number, a formula its cached value. The sheet is read a cell at a time;
    /// a row over the import's limits (fields, bytes) is refused before it is held whole,
    /// and rows past [`Importer::max_rows`] are only counted. Workbooks of other formats
    /// (`.xls`, `.ods`, `.xlsb`) are refused: save them as `.xlsx` or CSV.
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
    ///     "the spreadsheet could not be read: it is not an Excel workbook (.xlsx); save it \
    ///      as .xlsx or as \"CSV UTF-8\" and import that"
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
        if !bytes.starts_with(b"PK\x03\x04") {
            return Err(ImportError::Spreadsheet {
                reason: "it is not an Excel workbook (.xlsx); save it as .xlsx or as \"CSV \
                         UTF-8\" and import that"
                    .into(),
            }
            .into());
        }
        let mut book = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
        let sheets = book.sheet_names();
        let name = match &self.sheet {
            Some(wanted) => sheets.iter().find(|s| fold(s) == fold(wanted)).cloned(),
            None => sheets.first().cloned(),
        };
        let Some(name) = name else {
            return Err(ImportError::NoSuchSheet {
                name: self.sheet.clone().unwrap_or_default(),
                sheets: sheets.iter().map(|s| clip(s)).collect(),
            }
            .into());
        };
        let cells = book.worksheet_cells_reader(&name).map_err(unreadable)?;
        let mut rows = SheetRows {
            cells,
            pending: None,
            done: false,
            fields: Vec::new(),
            ends: Vec::new(),
        };
        self.plan_rows(store, edit, create_dimension, &mut rows)
    }
}

fn unreadable(e: XlsxError) -> Error {
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

/// The rows of a sheet, built a cell at a time in bounded buffers.
struct SheetRows<'a> {
    cells: XlsxCellReader<'a, Cursor<&'a [u8]>>,
    /// The first cell of the next row, read while looking for the end of this one:
    /// (row, column, text), from 0.
    pending: Option<(u32, u32, String)>,
    /// The end of the sheet's cells was read (reading on is an error).
    done: bool,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

impl SheetRows<'_> {
    /// The next cell that is not empty: (row, column, text), from 0.
    fn next_cell(&mut self) -> Result<Option<(u32, u32, String)>, Error> {
        if let Some(cell) = self.pending.take() {
            return Ok(Some(cell));
        }
        while !self.done {
            let Some(cell) = self.cells.next_cell().map_err(unreadable)? else {
                self.done = true;
                break;
            };
            let (row, column) = cell.get_position();
            if let Some(text) = cell_text(cell.get_value()) {
                return Ok(Some((row, column, text)));
            }
        }
        Ok(None)
    }
}

impl RowSource for SheetRows<'_> {
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
