//! Excel 97-2003 workbooks (`.xls`, the `xlsx` feature), read by `calamine` within the
//! import's limits.
//!
//! `calamine` reads every sheet of an `.xls` file when it opens it, trusting what the file
//! says: its container reader follows sector chains without bounds, a sheet's DIMENSIONS
//! record reserves as many cells as it claims, a sheet is held as a grid from its first to
//! its last cell, a cell of the shared strings table is a copy of its string, and a
//! formula is rendered as text (quadratic in its length). So before the file is given to
//! it:
//!
//! - the workbook stream is taken out of the compound file by `cfb` (which checks the
//!   container's sector chains), and written by `cfb` into a fresh compound file, the only
//!   kind `calamine` is given;
//! - the stream's records are walked by their headers, as `calamine` walks them, and what
//!   `calamine` would hold is added up from sizes alone (cell positions, string lengths,
//!   declared dimensions), never reading a value: an inconsistent DIMENSIONS record, sheets
//!   whose records overlap, and a total over the import's limit are refused;
//! - formulas' token lists are emptied in the copy (their cached values, which are what is
//!   imported, stay): their text is not needed, and rendering it is what costs.
//!
//! `calamine` then reads the cells, inside `catch_unwind`: a panic on malformed data is an
//! error, not a crash. Two limits of that net: an application built with
//! `panic = "abort"` has no unwinding, so such a file ends the process there; and the
//! process's panic hook still runs first (the default one prints the panic to standard
//! error) before the import returns its error.

use std::io::{Cursor, Read, Write};
use std::mem::size_of;
use std::panic::{AssertUnwindSafe, catch_unwind};

use calamine::{Cell, Data, Range, Reader, Xls};

use super::sheet::{not_a_workbook, unreadable};
use super::*;

/// A record's type and payload, and the CONTINUE records that follow it (as `calamine`
/// gathers them).
struct Rec<'a> {
    typ: u16,
    data: &'a [u8],
    /// The payloads of the CONTINUE records after it.
    conts: Vec<&'a [u8]>,
}

/// The records of a stream from `at`, read as `calamine` reads them.
struct Records<'a> {
    stream: &'a [u8],
    at: usize,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

const CONTINUE: u16 = 0x003C;
const EOF: u16 = 0x000A;
const BOF: u16 = 0x0809;

impl<'a> Records<'a> {
    /// The next record; `Ok(None)` at the end of the stream, `Err` where `calamine` stops
    /// with an error (a record, or a CONTINUE record, longer than what is left).
    fn next_rec(&mut self) -> Result<Option<Rec<'a>>, ()> {
        let rest = self.stream.get(self.at..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        let (typ, len) = match (u16_at(rest, 0), u16_at(rest, 2)) {
            (Some(typ), Some(len)) => (typ, usize::from(len)),
            _ => return Err(()),
        };
        let data = rest.get(4..4 + len).ok_or(())?;
        let mut at = 4 + len;
        let mut conts = Vec::new();
        while rest.len() - at > 4 && u16_at(rest, at) == Some(CONTINUE) {
            let len = usize::from(u16_at(rest, at + 2).ok_or(())?);
            conts.push(rest.get(at + 4..at + 4 + len).ok_or(())?);
            at += 4 + len;
        }
        self.at += at;
        Ok(Some(Rec { typ, data, conts }))
    }
}

/// What was found wrong while sizing a workbook.
enum Refusal {
    /// A DIMENSIONS record whose last row or column comes before its first.
    Dimensions { first: (u32, u32), last: (i64, i64) },
    /// A sheet starting outside the sheets' part of the stream, or overlapping another.
    Overlap,
    /// More CONTINUE records after the shared strings than the reader copes with.
    Continues,
    /// Over the memory limit.
    TooLarge,
}

/// The most CONTINUE records after the shared strings table: the reader takes them one by
/// one from the front of a list (quadratic in their number). Excel writes one per 8,224
/// bytes of strings, so 16,384 of them carry 128 MiB.
const MAX_SST_CONTINUES: usize = 16_384;

/// The bytes `calamine` holds for a string of `chars` characters read from `bytes`
/// bytes: its text as UTF-8 (at most 3 bytes per byte read), capacity doubled as it grows.
fn string_bytes(chars: usize, bytes: usize) -> u64 {
    (size_of::<String>() + chars.max(3 * bytes) * 2) as u64
}

/// The sizes `calamine` gives the strings of a shared strings table (SST): the strings
/// are walked as it walks them (lengths, flags, CONTINUE records), their text not read.
/// Returns (the UTF-8 bytes of each string at most, the bytes held while reading).
/// `None` where `calamine` stops with an error (it then reads nothing more).
fn sst_sizes(rec: &Rec<'_>) -> Option<(Vec<u32>, u64)> {
    struct Cursor<'a, 'b> {
        data: &'a [u8],
        conts: std::slice::Iter<'b, &'a [u8]>,
    }
    impl Cursor<'_, '_> {
        fn next_cont(&mut self) -> bool {
            match self.conts.next() {
                Some(c) => {
                    self.data = c;
                    true
                }
                None => false,
            }
        }
        fn skip(&mut self, mut len: usize) -> Option<()> {
            while len > 0 {
                if self.data.is_empty() && !self.next_cont() {
                    return None;
                }
                let l = len.min(self.data.len());
                self.data = self.data.get(l..)?;
                len -= l;
            }
            Some(())
        }
    }
    let mut c = Cursor {
        data: rec.data.get(8..)?,
        conts: rec.conts.iter(),
    };
    let mut sizes = Vec::new();
    let mut held = 0u64;
    while !c.data.is_empty() || c.next_cont() {
        held += size_of::<String>() as u64;
        if c.data.is_empty() {
            sizes.push(0);
            continue;
        }
        let cch = usize::from(u16_at(c.data, 0)?);
        let flags = *c.data.get(2)?;
        c.data = c.data.get(3..)?;
        let mut high_byte = flags & 1 != 0;
        let mut runs = 0;
        if flags & 8 != 0 {
            runs = usize::from(u16_at(c.data, 0)?);
            c.data = c.data.get(2..)?;
        }
        let mut ext = 0;
        if flags & 4 != 0 {
            // An i32 taken as usize: a negative one skips past the end, an error.
            ext = i32::from_le_bytes(c.data.get(..4)?.try_into().ok()?) as usize;
            c.data = c.data.get(4..)?;
        }
        // The characters, continued in the next record with a new flags byte.
        let (mut left, mut read) = (cch, 0usize);
        while left > 0 {
            let width = if high_byte { 2 } else { 1 };
            let l = left.min(c.data.len() / width);
            c.data = c.data.get(l * width..)?;
            left -= l;
            read += l * width;
            if left > 0 {
                if !c.next_cont() {
                    return None;
                }
                high_byte = *c.data.first()? & 1 != 0;
                c.data = c.data.get(1..)?;
            }
        }
        held += string_bytes(cch, read);
        // Each character read is at most 3 bytes of UTF-8.
        sizes.push(u32::try_from(3 * read).unwrap_or(u32::MAX));
        c.skip(runs * 4)?;
        c.skip(ext)?;
    }
    held += (sizes.len() * size_of::<String>() * 2) as u64;
    Some((sizes, held))
}

/// The normalised DIMENSIONS of a sheet as `calamine` reads them: (first row, first
/// column), (last row, last column), the last ones possibly before the first (then
/// `calamine` overflows). `None` for a record of a length it refuses.
fn dimensions(r: &[u8]) -> Option<((u32, u32), (i64, i64))> {
    let (rf, rl, mut cf, cl) = match r.len() {
        10 => (
            u32::from(u16_at(r, 0)?),
            u32::from(u16_at(r, 2)?),
            u32::from(u16_at(r, 4)?),
            u32::from(u16_at(r, 6)?),
        ),
        14 | 16 => (
            u32_at(r, 0)?,
            u32_at(r, 4)?,
            u32::from(u16_at(r, 8)?),
            u32::from(u16_at(r, 10)?),
        ),
        _ => return None,
    };
    if cf > 0xFF || cl < cf {
        cf = 0;
    }
    if rl >= 1 && cl >= 1 {
        Some(((rf, cf), (i64::from(rl) - 1, i64::from(cl) - 1)))
    } else {
        Some(((rf, cf), (i64::from(rf), i64::from(cf))))
    }
}

/// The smallest grid holding a sheet's cells: (first row, first column, last row, last
/// column).
#[derive(Default)]
struct Grid(Option<(u32, u32, u32, u32)>);

impl Grid {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, col, row, col),
            Some((r0, c0, r1, c1)) => (r0.min(row), c0.min(col), r1.max(row), c1.max(col)),
        });
    }
    fn cells(&self) -> u64 {
        self.0.map_or(0, |(r0, c0, r1, c1)| {
            (u64::from(r1 - r0) + 1).saturating_mul(u64::from(c1 - c0) + 1)
        })
    }
}

/// Sizes what `calamine` holds for the workbook `stream` (as [`string_bytes`] and the
/// sizes of its cell types count it, a sheet's grid counted twice: the reader's and the
/// copy handed out), refusing it past `limit` bytes or where it is inconsistent, and
/// empties the token lists of its formulas. Values are never read.
fn size_and_defuse(stream: &mut [u8], limit: u64) -> Result<(), Refusal> {
    // The stream, in the compound file calamine is given, the sectors it reads that file
    // into, and the stream it takes out of them.
    let mut held = 3 * (stream.len() as u64 + 4096);
    let over = |held: u64| {
        if held > limit {
            Err(Refusal::TooLarge)
        } else {
            Ok(())
        }
    };
    // The workbook globals, up to their EOF record: the sheets' positions, the shared
    // strings' sizes.
    let mut sheets = Vec::new();
    let mut sst: Vec<u32> = Vec::new();
    let mut globals = Records {
        stream: &*stream,
        at: 0,
    };
    let globals_end = loop {
        let rec = match globals.next_rec() {
            Ok(Some(rec)) => rec,
            // The end of the stream without an EOF record: no sheet records follow.
            Ok(None) => break globals.at,
            // calamine stops here with an error.
            Err(()) => return over(held),
        };
        held += (rec.conts.len() * size_of::<&[u8]>()) as u64;
        match rec.typ {
            0x0085 => {
                // BoundSheet8: position, then the name (at most 255 characters), held
                // four times over (metadata, two name lists, the sheets' map).
                let Some(pos) = u32_at(rec.data, 0) else {
                    return over(held);
                };
                sheets.push(pos as usize);
                let cch = usize::from(rec.data.get(6).copied().unwrap_or(0));
                held += 4 * string_bytes(cch, cch) + 256;
            }
            0x0018 => {
                // Lbl: a defined name and its short formula text, with a sheet name.
                held += 4 * string_bytes(255, 255) + 256;
            }
            0x0017 | 0x00E0 | 0x041E => {
                // ExternSheet, XF, Format: small entries, at most a few per byte.
                held += 16 * rec.data.len() as u64 + 64;
            }
            0x00FC => {
                if rec.conts.len() > MAX_SST_CONTINUES {
                    return Err(Refusal::Continues);
                }
                let Some((sizes, bytes)) = sst_sizes(&rec) else {
                    return over(held);
                };
                held += bytes;
                sst = sizes;
            }
            EOF => break globals.at,
            _ => {}
        }
        over(held)?;
    };
    // Each sheet's records, from its position to its EOF record, nested substreams
    // (embedded charts) skipped; no two sheets may share bytes, nor a sheet the globals'.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut largest = 0u64;
    for pos in sheets {
        if pos < globals_end || pos > stream.len() {
            return Err(Refusal::Overlap);
        }
        let mut sheet = 0u64;
        let mut cells = 0u64;
        let mut formulas = 0u64;
        let (mut grid, mut formula_grid) = (Grid::default(), Grid::default());
        let mut formula_at = (0u32, 0u32);
        let mut records = Records {
            stream: &*stream,
            at: pos,
        };
        let (mut seen_bof, mut depth) = (false, 0usize);
        let mut defuse = Vec::new();
        let mut stopped = false;
        loop {
            let start = records.at;
            let rec = match records.next_rec() {
                Ok(Some(rec)) => rec,
                Ok(None) => break,
                Err(()) => {
                    stopped = true;
                    break;
                }
            };
            sheet += (rec.conts.len() * size_of::<&[u8]>()) as u64;
            if depth > 0 {
                match rec.typ {
                    BOF => depth += 1,
                    EOF => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let d = rec.data;
            let pos_of = |d: &[u8]| Some((u32::from(u16_at(d, 0)?), u32::from(u16_at(d, 2)?)));
            match rec.typ {
                BOF => {
                    if seen_bof {
                        depth += 1;
                    } else {
                        seen_bof = true;
                    }
                }
                0x0200 => {
                    let Some((first, last)) = dimensions(d) else {
                        stopped = true;
                        break;
                    };
                    if last.0 < i64::from(first.0) || last.1 < i64::from(first.1) {
                        return Err(Refusal::Dimensions { first, last });
                    }
                    let area = (last.0 - i64::from(first.0) + 1) as u64
                        * (last.1 - i64::from(first.1) + 1) as u64;
                    sheet =
                        sheet.saturating_add(area.saturating_mul(size_of::<Cell<Data>>() as u64));
                }
                // Number, BoolErr, RK: a value.
                0x0203 | 0x0205 | 0x027E => {
                    if let Some((r, c)) = pos_of(d) {
                        grid.add(r, c);
                        cells += 1;
                    }
                }
                // Label, RString: a string of the record.
                0x0204 | 0x00D6 => {
                    if let Some((r, c)) = pos_of(d) {
                        grid.add(r, c);
                        cells += 1;
                        let cch = usize::from(u16_at(d, 6).unwrap_or(0));
                        sheet += string_bytes(cch, d.len());
                    }
                }
                // String: the text value of the last formula.
                0x0207 => {
                    grid.add(formula_at.0, formula_at.1);
                    cells += 1;
                    let cch = usize::from(u16_at(d, 0).unwrap_or(0));
                    sheet += string_bytes(cch, d.len());
                }
                // LabelSst: a copy of a shared string.
                0x00FD => {
                    if let (Some((r, c)), Some(i)) = (pos_of(d), u32_at(d, 6)) {
                        grid.add(r, c);
                        cells += 1;
                        let len = sst.get(i as usize).copied().unwrap_or(0);
                        sheet += u64::from(len) + size_of::<String>() as u64;
                    }
                }
                // MulRk: values across columns.
                0x00BD => {
                    if let Some((r, c)) = pos_of(d) {
                        let n = (d.len().saturating_sub(6) / 6) as u32;
                        grid.add(r, c);
                        grid.add(r, c + n.saturating_sub(1));
                        cells += u64::from(n);
                    }
                }
                // MergeCells: 16 bytes per 8 of the record.
                0x00E5 => sheet += 4 * d.len() as u64 + 64,
                // Formula: its cached value, and its text, emptied below.
                0x0006 => {
                    if d.len() < 20 {
                        stopped = true;
                        break;
                    }
                    let (r, c) = pos_of(d).unwrap_or_default();
                    formula_at = (r, c);
                    grid.add(r, c);
                    formula_grid.add(r, c);
                    cells += 1;
                    formulas += 1;
                    // The text of an emptied formula: a message naming the cell.
                    sheet += string_bytes(128, 0);
                    // The token list's length, in the record's payload.
                    if d.len() >= 22 {
                        defuse.push(start + 4 + 20);
                    }
                }
                EOF => break,
                _ => {}
            }
            if held.saturating_add(sheet) > limit {
                return Err(Refusal::TooLarge);
            }
        }
        let end = records.at;
        for at in defuse {
            if let Some(cce) = stream.get_mut(at..at + 2) {
                cce.copy_from_slice(&[0, 0]);
            }
        }
        // The cells as read (the list grows by doubling), the grids built from them.
        sheet = sheet
            .saturating_add(cells.saturating_mul(2 * size_of::<Cell<Data>>() as u64))
            .saturating_add(formulas.saturating_mul(2 * size_of::<Cell<String>>() as u64))
            .saturating_add(grid.cells().saturating_mul(size_of::<Data>() as u64))
            .saturating_add(
                formula_grid
                    .cells()
                    .saturating_mul(size_of::<String>() as u64),
            );
        // The sheet read is handed out as a copy.
        largest = largest.max(sheet);
        held = held.saturating_add(sheet);
        over(held.saturating_add(largest))?;
        spans.push((pos, end));
        if stopped {
            // calamine stops at this sheet with an error.
            break;
        }
    }
    spans.sort_unstable();
    if spans.windows(2).any(|w| matches!(w, [a, b] if b.0 < a.1)) {
        return Err(Refusal::Overlap);
    }
    Ok(())
}

/// The sheet of an `.xls` workbook `pick` chooses from its sheet names, read by
/// `calamine` whole, if what it would hold for the workbook is at most `limit` bytes.
pub(super) fn read_xls(
    bytes: &[u8],
    limit: u64,
    pick: impl FnOnce(Vec<String>) -> Result<String, Error>,
) -> Result<Range<Data>, Error> {
    let mut stream = workbook_stream(bytes)?;
    size_and_defuse(&mut stream, limit).map_err(|refusal| match refusal {
        Refusal::Dimensions { first, last } => not_a_workbook(&format!(
            "a sheet declares rows {} to {} and columns {} to {} (its DIMENSIONS record), \
             which no spreadsheet program writes",
            first.0, last.0, first.1, last.1
        )),
        Refusal::Overlap => not_a_workbook(
            "its sheets' records overlap, or start outside the workbook, which no \
             spreadsheet program writes",
        ),
        Refusal::Continues => not_a_workbook(&format!(
            "its shared strings are split into more than {MAX_SST_CONTINUES} records, \
             which no spreadsheet program writes"
        )),
        Refusal::TooLarge => ImportError::WorkbookTooLargeToRead { limit }.into(),
    })?;
    let file = rewrap(&stream)?;
    drop(stream);
    // calamine indexes and subtracts what the file says without checks in places: a
    // panic there is a malformed file, and what it held is freed as the panic unwinds.
    let read = catch_unwind(AssertUnwindSafe(|| {
        let mut book = Xls::new(Cursor::new(&file[..])).map_err(unreadable)?;
        let name = pick(book.sheet_names())?;
        book.worksheet_range(&name).map_err(unreadable)
    }));
    read.unwrap_or_else(|_| {
        Err(not_a_workbook(
            "it is an Excel 97-2003 workbook (.xls) whose records are malformed",
        ))
    })
}

/// The workbook stream of an `.xls` compound file, read by `cfb`: at most as long as the
/// file.
fn workbook_stream(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    // `open` reads the caller's bytes through an in-memory cursor: no file is touched.
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(unreadable)?;
    let Some(path) = ["/Workbook", "/Book"]
        .into_iter()
        .find(|p| file.is_stream(p))
    else {
        return Err(not_a_workbook(
            "it is a compound file without a workbook in it (a Word or other Office \
             document?)",
        ));
    };
    let mut stream = file.open_stream(path).map_err(unreadable)?;
    let len = stream.len().min(bytes.len() as u64);
    let mut out = Vec::with_capacity(len as usize);
    (&mut stream)
        .take(len)
        .read_to_end(&mut out)
        .map_err(unreadable)?;
    Ok(out)
}

/// A fresh compound file, written by `cfb` into memory, holding `stream` as its workbook.
/// No clock is read: cfb stamps storages with the time of day, but a new file's root and
/// its streams carry the zero timestamp (the compound-file specification requires it of
/// streams), and only a stream is created here. `rewrap_reads_no_clock` holds cfb to that.
fn rewrap(stream: &[u8]) -> Result<Vec<u8>, Error> {
    // Version 3 (512-byte sectors), as Excel writes them; calamine takes a version 4 file
    // without a mini stream for one without a root.
    let mut file =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
            .map_err(unreadable)?;
    let mut out = file.create_stream("/Workbook").map_err(unreadable)?;
    out.write_all(stream).map_err(unreadable)?;
    out.flush().map_err(unreadable)?;
    drop(out);
    file.flush().map_err(unreadable)?;
    Ok(file.into_inner().into_inner())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The same stream gives the same bytes every time (a timestamp, counted in 100 ns
    /// steps, would differ between two calls): no clock is read into the compound file
    /// calamine is given, and it reads back to the stream.
    #[test]
    fn rewrap_reads_no_clock() {
        let stream: Vec<u8> = (0..5_000u32).map(|i| (i % 251) as u8).collect();
        let first = rewrap(&stream).unwrap();
        let second = rewrap(&stream).unwrap();
        assert_eq!(first, second);
        assert_eq!(workbook_stream(&first).unwrap(), stream);
    }
}
