//! Records: `csv-core` splits the input into rows in bounded buffers, with line numbers
//! counted from byte offsets, and the small helpers that read fields.

use super::*;

/// Line numbers of records. A record's reading starts where the previous one ended, before
/// any blank lines and before the LF of a CRLF (so `csv`'s own line count is off with CRLF
/// and blank lines); the record starts at the first byte after that which is not CR or LF.
/// Records come in order, so line ends are counted incrementally: O(input) in all. A line
/// ends with LF, CRLF or a lone CR (old Mac Excel), in any mix, as `csv` reads them.
pub(super) struct Lines<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    pub(super) line: u64,
}

/// The line ends in `bytes`: every LF, and every CR not followed by LF. A CR at the very end
/// counts: what follows it (if anything) starts a new line.
pub(super) fn line_ends(bytes: &[u8]) -> u64 {
    let lf = bytes.iter().filter(|&&b| b == b'\n').count();
    let lone_cr = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
        .count();
    (lf + lone_cr) as u64
}

impl<'a> Lines<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// The line of the record whose reading started at byte `reported`.
    pub(super) fn line_of(&mut self, reported: usize) -> u64 {
        let mut start = reported.max(self.pos);
        while let Some(b'\r' | b'\n') = self.bytes.get(start) {
            start += 1;
        }
        let seen = self.bytes.get(self.pos..start).unwrap_or_default();
        self.line += line_ends(seen);
        self.pos = start.min(self.bytes.len());
        self.line
    }
}

/// Records of CSV text, read by `csv`'s parser (`csv-core`, configured as `csv`'s reader
/// with `flexible(true)`, so records are exactly the ones `csv` yields) into buffers that
/// grow up to [`MAX_ROW_BYTES`] and [`MAX_ROW_FIELDS`]: a row over a limit is refused
/// before it is held in memory.
pub(super) struct Records<'a> {
    pub(super) core: csv_core::Reader,
    pub(super) input: &'a [u8],
    /// Bytes of `input` read so far.
    pub(super) pos: usize,
    pub(super) fields: Vec<u8>,
    pub(super) ends: Vec<usize>,
}

/// A row over one of the limits: which limit, at which field (from 0).
#[derive(Clone, Copy, Debug)]
pub(super) enum RowLimit {
    Field(usize),
    Row,
    Fields,
}

impl RowLimit {
    pub(super) fn into_error(self, line: u64) -> ImportError {
        match self {
            RowLimit::Field(at) => ImportError::FieldTooLarge {
                line,
                column: column_number(at),
                limit: MAX_FIELD_BYTES as u64,
            },
            RowLimit::Row => ImportError::RowTooLarge {
                line,
                limit: MAX_ROW_BYTES as u64,
            },
            RowLimit::Fields => ImportError::TooManyFields {
                line,
                limit: MAX_ROW_FIELDS as u64,
            },
        }
    }
}

/// One record's fields.
pub(super) struct Record<'r> {
    pub(super) fields: &'r [u8],
    pub(super) ends: &'r [usize],
}

impl<'r> Record<'r> {
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn get(&self, i: usize) -> Option<&'r [u8]> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        self.fields.get(start..end)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &'r [u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl<'a> Records<'a> {
    pub(super) fn new(input: &'a [u8], delimiter: u8) -> Records<'a> {
        Records {
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            input,
            pos: 0,
            fields: vec![0; 4 << 10],
            ends: vec![0; 64],
        }
    }

    /// The next record and the byte its reading started at, `None` at the end; or, for a
    /// row over a limit, that byte and the limit.
    #[allow(clippy::type_complexity)]
    pub(super) fn next(&mut self) -> Result<Option<(usize, Record<'_>)>, (usize, RowLimit)> {
        use csv_core::ReadRecordResult::{
            End, InputEmpty, OutputEndsFull, OutputFull, Record as Done,
        };
        let start = self.pos;
        let (mut out, mut nends) = (0usize, 0usize);
        loop {
            let input = self.input.get(self.pos..).unwrap_or_default();
            let output = self.fields.get_mut(out..).unwrap_or_default();
            let ends = self.ends.get_mut(nends..).unwrap_or_default();
            let (result, nin, nout, nend) = self.core.read_record(input, output, ends);
            self.pos = self.pos.saturating_add(nin);
            out = out.saturating_add(nout);
            nends = nends.saturating_add(nend);
            match result {
                InputEmpty => continue,
                OutputFull => {
                    if self.fields.len() >= MAX_ROW_BYTES {
                        let field_start = match nends.checked_sub(1) {
                            Some(last) => self.ends.get(last).copied().unwrap_or(0),
                            None => 0,
                        };
                        let limit = if out.saturating_sub(field_start) > MAX_FIELD_BYTES {
                            RowLimit::Field(nends)
                        } else {
                            RowLimit::Row
                        };
                        return Err((start, limit));
                    }
                    let grown = self.fields.len().saturating_mul(2).min(MAX_ROW_BYTES);
                    self.fields.resize(grown, 0);
                }
                OutputEndsFull => {
                    if self.ends.len() >= MAX_ROW_FIELDS {
                        return Err((start, RowLimit::Fields));
                    }
                    let grown = self.ends.len().saturating_mul(2).min(MAX_ROW_FIELDS);
                    self.ends.resize(grown, 0);
                }
                Done => {
                    let record = Record {
                        fields: self.fields.get(..out).unwrap_or_default(),
                        ends: self.ends.get(..nends).unwrap_or_default(),
                    };
                    if let Some(at) = (0..record.len())
                        .find(|&i| record.get(i).is_some_and(|f| f.len() > MAX_FIELD_BYTES))
                    {
                        return Err((start, RowLimit::Field(at)));
                    }
                    return Ok(Some((start, record)));
                }
                End => return Ok(None),
            }
        }
    }
}

/// Rows to import, each with the line (or sheet row) it starts on, counting from 1.
pub(super) trait RowSource {
    /// The next row, `None` at the end; a row over a limit is an error.
    fn next_row(&mut self) -> Result<Option<(u64, Record<'_>)>, Error>;
}

/// The rows of CSV text.
pub(super) struct CsvRows<'a> {
    pub(super) records: Records<'a>,
    pub(super) lines: Lines<'a>,
    /// Lines before the text (an Excel `sep=` line).
    pub(super) line_offset: u64,
}

impl RowSource for CsvRows<'_> {
    fn next_row(&mut self) -> Result<Option<(u64, Record<'_>)>, Error> {
        match self.records.next() {
            Ok(Some((start, record))) => {
                Ok(Some((self.lines.line_of(start) + self.line_offset, record)))
            }
            Ok(None) => Ok(None),
            Err((start, limit)) => {
                let line = self.lines.line_of(start) + self.line_offset;
                Err(limit.into_error(line).into())
            }
        }
    }
}

/// Key and tags column positions (from 0), and which columns have no header.
#[derive(Clone, Debug)]
pub(super) struct Columns {
    pub(super) key: usize,
    pub(super) tags: Option<usize>,
    /// The country column, found by its header name.
    pub(super) country: Option<usize>,
    /// Fields after the tags column are more tags.
    pub(super) extra_tags: bool,
    /// Columns from this one on have no header (0 without a header row).
    pub(super) named_until: usize,
    /// Columns before `named_until` under a blank header cell, ascending.
    pub(super) blank_named: Vec<usize>,
}

impl Columns {
    /// Whether the field at `at` is read (as the key or a tag).
    pub(super) fn is_read(&self, at: usize) -> bool {
        at == self.key
            || match self.tags {
                Some(t) if self.extra_tags => at >= t,
                Some(t) => at == t,
                None => false,
            }
    }
}

pub(super) fn check_dimension(dimension: &str) -> Result<String, Error> {
    let dim = tidy(dimension);
    let reason = check_name(&dim).err().or_else(|| {
        dim.contains(':')
            .then(|| "a dimension name must not contain ':'".to_string())
    });
    match reason {
        Some(reason) => Err(invalid_name(&dim, reason).into()),
        None => Ok(dim),
    }
}

/// The separator of a file without `sep=` line: tab if the first non-blank line has one,
/// else semicolon if it has one and no comma, else comma.
pub(super) fn sniff(body: &str) -> u8 {
    let line = body
        .lines()
        .find(|l| !trim(l).is_empty())
        .unwrap_or_default();
    if line.contains('\t') {
        b'\t'
    } else if line.contains(';') && !line.contains(',') {
        b';'
    } else {
        b','
    }
}

/// A field's text. The input was checked to be UTF-8 and `csv` splits only at ASCII bytes,
/// so every field is UTF-8 too; were one not, it reads as empty.
pub(super) fn field_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Trims white space and the invisible characters spreadsheets and chat apps leave around
/// values (zero-width spaces and joiners, word joiner, byte order mark).
pub(super) fn trim(s: &str) -> &str {
    // Most values start and end with a visible ASCII character: nothing to trim.
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => return s,
        (None, _) => return s,
        _ => {}
    }
    s.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
    })
}

/// Whether `s` is exactly the decimal digits of `n`.
pub(super) fn same_digits(s: &str, mut n: u64) -> bool {
    let b = s.as_bytes();
    let mut i = b.len();
    loop {
        let Some(j) = i.checked_sub(1) else {
            return false;
        };
        if b.get(j) != Some(&(b'0' + (n % 10) as u8)) {
            return false;
        }
        i = j;
        n /= 10;
        if n == 0 {
            return i == 0;
        }
    }
}

/// Whether a field is blank (white space only, or nothing).
pub(super) fn blank(field: &[u8]) -> bool {
    if field.is_ascii() {
        field.iter().all(u8::is_ascii_whitespace)
    } else {
        trim(field_str(field)).is_empty()
    }
}

/// A column's number counting from 1, as reports give it, from its position counting from
/// 0 (`u32::MAX` for positions beyond).
pub(super) fn column_number(at: usize) -> u32 {
    u32::try_from(at)
        .ok()
        .and_then(|c| c.checked_add(1))
        .unwrap_or(u32::MAX)
}

/// At most [`VALUE_KEPT`] characters of a value, for reports.
pub(super) fn clip(s: &str) -> String {
    s.chars().take(VALUE_KEPT).collect()
}

/// Whether a cell looks like a number Excel wrote in scientific notation (`8.52912E+10`).
pub(super) fn scientific(s: &str) -> bool {
    let Some((mantissa, exponent)) = s.split_once(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let (int, frac) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, "0"));
    !int.is_empty()
        && !exponent.is_empty()
        && [int, frac, exponent]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Adds ascending ids to a bitmap: appended when they all come after its maximum (the
/// common case, new customers), inserted one by one otherwise.
pub(super) fn extend_sorted(set: &mut RoaringBitmap, ids: impl Iterator<Item = u32>) {
    let ids: Vec<u32> = ids.collect();
    let in_order = ids.windows(2).all(|w| matches!(w, [a, b] if a < b))
        && match (set.max(), ids.first()) {
            (Some(max), Some(&first)) => first > max,
            _ => true,
        };
    if in_order && set.append(ids.iter().copied()).is_ok() {
        return;
    }
    set.extend(ids);
}

/// A bitmap from ids in any order.
pub(super) fn bitmap_of(mut ids: Vec<u32>) -> RoaringBitmap {
    ids.sort_unstable();
    ids.dedup();
    let mut set = RoaringBitmap::new();
    extend_sorted(&mut set, ids.into_iter());
    set
}
