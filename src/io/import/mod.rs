//! Importing customer lists: CSV and TXT files of phone numbers (or member ids) and tag names.
//!
//! The seeds' users keep customers in spreadsheets: a column of phone numbers and a column of
//! comma-separated tag names, exported from Excel, often messy. An [`Importer`] reads such a
//! file from the caller's text (`&str`) or reader (`impl Read`), checks every row against the
//! store, and then either applies the whole batch or nothing, returning an [`ImportReport`]
//! that says what happened to every row. The library still does no I/O of its own.
//!
//! ```
//! use audience::import::{Importer, UnknownTags};
//! use audience::{Country, Day, Edit, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 6, 18)?;
//! let mut store = Store::new();
//! store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
//!
//! let file = "\u{feff}電話,標籤\r\n\
//!             +852 9123 4567,\"VIP, 618 non-buyer\"\r\n\
//!             9123 4568,vip\r\n\
//!             85291234567,VIP\r\n\
//!             \r\n";
//! let report = Importer::new()
//!     .default_country(Country::HK)
//!     .unknown_tags(UnknownTags::create_in("campaign"))
//!     .import_str(&mut store, file, today)?;
//! assert_eq!((report.rows_read, report.rows_imported, report.customers_created), (3, 2, 2));
//! assert_eq!(report.tags_created, vec!["618 non-buyer".to_string()]);
//! assert_eq!(report.duplicates[0].first_line, 2); // line 4 repeats line 2's number
//! assert_eq!(store.members(store.tag_id("vip")?)?.len(), 2);
//! # Ok::<(), audience::Error>(())
//! ```
//!
//! # The input
//!
//! * **Encoding.** UTF-8, with or without a byte order mark. UTF-16 (a UTF-16 byte order
//!   mark, or the NUL bytes that UTF-16 puts beside every ASCII character) is refused with
//!   [`ImportError::Utf16`], other bytes that are not UTF-8 (GBK, Big5, Windows-1252 files)
//!   with [`ImportError::NotUtf8`], naming the line; an Excel workbook (`.xlsx` or `.xls`) or
//!   other binary file with [`ImportError::NotText`]. The input is read whole, at most
//!   [`Importer::max_input_bytes`] bytes (64 MiB by default).
//! * **Layout.** CSV as the `csv` crate reads it: fields in double quotes may hold the
//!   separator, quotes (doubled) and line breaks; lines end in LF or CRLF; blank lines and
//!   rows whose every field is blank are skipped (and not counted); a row may have fewer or
//!   more fields than the others. The separator is a comma, a tab (TXT files: one number
//!   per line, or number, tab, tags), or a semicolon; [`Format::Auto`] (the default) picks
//!   it from the first non-blank line (tab if it has one, else semicolon if it has one and
//!   no comma, else comma), and a first line `sep=;` as Excel writes it names it.
//! * **Columns.** A header row is recognised by its column names (see [`Header`]); the key
//!   column is named `phone` (or `mobile`, `tel`, `電話`, `手機`, `手机`, `电话`, `โทรศัพท์`,
//!   `เบอร์`, `телефон`, `номер`, `هاتف`, `جوال`, ... in any case, with or without spaces
//!   and underscores), the tags column `tags` (or `tag`, `labels`, `標籤`, `标签`, `แท็ก`,
//!   `теги`, `метки`, `وسوم`, ...). Without a header the key is the first column and the
//!   tags the second; [`Importer::columns`] gives other positions.
//! * **Tags.** The tags cell is split on the ASCII comma `,`, the full-width comma `，`,
//!   the ideographic comma `、` and the Arabic comma `،` (as people type them); each name
//!   is trimmed and looked up as [`Store::tag_id`] does (case, width and spacing do not
//!   matter; `dimension:name` picks one of two same-named tags); empty names are skipped.
//!   A name listed twice in a row counts once, as a tag or as a failure (at its first
//!   place).
//!   When the tags column is the last column, fields after it are more tags: a row
//!   `85291234567,VIP,new` typed without quotes has two tags, and a trailing separator adds
//!   nothing.
//! * **Phone numbers** are normalised by [`normalize_phone`] with the
//!   [default country](Importer::default_country) (see [`crate::phone`] for exactly what is
//!   accepted and validated). A leading apostrophe (Excel's "this is text" mark) is dropped;
//!   a number Excel turned into scientific notation (`8.52912E+10`) is reported as such,
//!   since its digits are lost.
//!
//! # The rules
//!
//! * **Duplicates**: after normalisation, the first row of a number counts; later rows of
//!   the same number are skipped and listed in [`ImportReport::duplicates`] with the line
//!   of the first. (A number's first row counts even when it fails.)
//! * **Unknown tags** ([`UnknownTags`]): ignored and reported (the default), created in a
//!   dimension of the caller's choice (but not near misses of existing names: `VIPP` is
//!   reported with "did you mean VIP", not created), or the row is rejected. Archived and
//!   ambiguous names are failures under every policy.
//! * **Merge or overwrite** ([`TagMode`]): the listed tags are added to the customer's, or
//!   replace them. In overwrite mode a row with a problem in its tags is skipped whole (a
//!   partial set would remove tags the file did not mean to remove), and a row with no tags
//!   at all leaves the customer's tags alone: an empty cell is far more often a slip than a
//!   wish to clear a customer (use [`Store::set_tags`] for that).
//! * **Assignment day**: every membership the file lists is assigned on the caller's
//!   `today`, as [`Store::add_tag`] does: re-listing a tag a customer has refreshes its day
//!   (the file says the customer qualifies as of today, so a time-to-live restarts).
//! * **Limits**: at most [`Importer::max_rows`] rows (5,000 by default, as the seeds'
//!   platforms allow; more is [`ImportError::TooManyRows`]); at most
//!   [`Importer::max_new_tags`] tags created by one file (100; a file that would create more
//!   almost always has the wrong column as tags). Whatever the options: a field holds at
//!   most [`MAX_FIELD_BYTES`] (64 KiB), a row [`MAX_ROW_BYTES`] (256 KiB) in at most
//!   [`MAX_ROW_FIELDS`] (1,024) fields, and a file lists at most [`MAX_TAG_NAMES`]
//!   (10,000) different tag names; more is refused whole with a typed [`ImportError`]
//!   naming the line, before the row is held in memory. The report lists the first
//!   [`MAX_LISTED_FAILURES`] (10,000) failures and counts them all, so the memory an
//!   import takes grows with its rows and input, never with the number of failures.
//! * **Failure share**: if more than [`Importer::max_failed_share`] of the rows failed
//!   (10% by default, the seeds' "stop and fix the file"), the import is refused with
//!   [`ImportError::Refused`], which carries the report. A row *failed* when it has at least
//!   one entry in [`ImportReport::failures`]: a number that does not normalise, or a tag
//!   name that could not be used (even if the row was imported without it). Duplicates do
//!   not count: their number is imported once.
//!
//! # Atomicity
//!
//! The whole input is parsed and every row validated against the store before anything
//! changes. Every condition under which applying could fail is checked in that first pass
//! (names the taxonomy would refuse, the policy's naming rules (a new name that breaks one
//! is a failure of its row, [`FailureReason::NamingRule`]), whether the policy lets the
//! importer's [actor](Importer::actor) create tags, the actor's length, archived tags, the
//! tag and customer id limits), so applying cannot fail, and on any error nothing has
//! changed. The batch is applied in
//! place: applying to a copy of the store and swapping it in would cost a copy of the
//! customer directory (about 25 ms at 1M customers and 0.4 s at 10M on the development
//! machine) for every import that registers a customer. [`Importer::check_str`] runs the
//! first pass alone: a dry run whose report says what an import would do.
//!
//! # Performance
//!
//! One pass over the input with a reused record; tag names are resolved once per distinct
//! spelling; memberships are applied as one bitmap per tag. The `import` bench measures
//! rows of `phone,tag1,tag2,tag3`.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use hashbrown::HashMap;
use std::io::Read;

use roaring::RoaringBitmap;

use crate::base::fold::{check_name, fold, tidy};
use crate::day::Day;
use crate::error::{Error, ErrorKind, invalid_name};
use crate::phone::{Country, normalize_phone};

pub use crate::error::{
    Duplicate, Effect, Failure, FailureKind, FailureReason, Field, ImportError, ImportReport,
    KeyKind,
};
use crate::store::Store;
use crate::store::directory::{CustomerId, CustomerKey};
use crate::store::taxonomy::{Edit, MAX_TAGS, TagId, TagSpec};

/// The default for [`Importer::max_rows`]: 5,000 rows, the seeds' per-import limit.
pub const DEFAULT_MAX_ROWS: u64 = 5_000;
/// The default for [`Importer::max_failed_share`]: 10%.
pub const DEFAULT_MAX_FAILED_SHARE: f64 = 0.10;
/// The default for [`Importer::max_input_bytes`]: 64 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 << 20;
/// The largest [`Importer::max_input_bytes`]: 2^32 - 1 bytes, so positions in the input
/// fit the 4-byte offsets the first pass records.
pub const MAX_INPUT_BYTES: u64 = u32::MAX as u64;
/// The default for [`Importer::max_new_tags`]: 100 tags.
pub const DEFAULT_MAX_NEW_TAGS: u64 = 100;
/// The most bytes one field of a row holds (after unquoting): 64 KiB. A longer field is
/// [`ImportError::FieldTooLarge`], almost always a quote that is never closed and takes in
/// the rest of the file.
pub const MAX_FIELD_BYTES: usize = 64 << 10;
/// The most bytes the fields of one row hold together (after unquoting): 256 KiB. More is
/// [`ImportError::RowTooLarge`].
pub const MAX_ROW_BYTES: usize = 256 << 10;
/// The most fields one row has: 1,024. More is [`ImportError::TooManyFields`].
pub const MAX_ROW_FIELDS: usize = 1024;
/// The most different tag names (as written, trimmed) one file lists: 10,000. More is
/// [`ImportError::TooManyTagNames`]: such a file almost always has the wrong column as tags.
pub const MAX_TAG_NAMES: usize = 10_000;
/// The most failures an [`ImportReport`] lists (the first ones in line order); every
/// failure is counted in [`ImportReport::failure_counts`] and [`ImportReport::rows_failed`].
pub const MAX_LISTED_FAILURES: usize = 10_000;
/// Unknown names of at least this many characters that are near an existing name are not
/// created (see [`UnknownTags::Create`]).
const NEAR_MISS_CHARS: usize = 3;
/// How many characters of a raw value a [`Failure`] keeps.
const VALUE_KEPT: usize = 100;

// -----------------------------------------------------------------------------------------
// Options
// -----------------------------------------------------------------------------------------

/// How fields are separated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Format {
    /// Tab, semicolon or comma, picked from the first non-blank line (see the
    /// [module documentation](self)).
    #[default]
    Auto,
    /// Comma-separated.
    Csv,
    /// Tab-separated: one number per line, or number, tab, tags.
    Txt,
    /// Any ASCII separator but `"`, CR and LF.
    Delimited(u8),
}

/// Whether the first non-blank row names the columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Header {
    /// A header when one of its fields is a known key or tags column name (the default).
    #[default]
    Auto,
    /// The first non-blank row is a header, whatever it says.
    Present,
    /// No header: every row is data.
    Absent,
}

/// What to do with a tag name that no tag has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum UnknownTags {
    /// Import the row without it and report it (the default; the seeds' platforms do this).
    #[default]
    Ignore,
    /// Create the tag in `dimension` (or, for `dim:name` where `dim` is an existing
    /// dimension, in that one), as one platform's tag center does. A name of three or more
    /// characters that is a near miss of an existing tag (one that would get a "did you
    /// mean", such as `VIPP` for `VIP` or `化粧品` for `化妝品`) is not created but reported as
    /// unknown with the suggestion: a typo must not become a second tag of the same
    /// meaning (the seeds' "unified naming"). Create such a tag first if it is meant.
    Create {
        /// The dimension of created tags.
        dimension: String,
    },
    /// Skip the whole row and report it.
    Reject,
}

impl UnknownTags {
    /// [`UnknownTags::Create`] in `dimension`.
    pub fn create_in(dimension: impl Into<String>) -> UnknownTags {
        UnknownTags::Create {
            dimension: dimension.into(),
        }
    }
}

/// Whether the file's tags are added to a customer's or replace them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TagMode {
    /// Add the listed tags; keep the others (the default).
    #[default]
    Merge,
    /// The customer's tags become exactly the listed ones (as the Taiwanese platform's bulk
    /// tagging does). A row without tags leaves the customer alone.
    Overwrite,
}

/// Reads customer lists into a [`Store`]: the options, and the calls that run them.
///
/// Options are set with builder methods; the defaults follow the seeds' rules (see the
/// [module documentation](self)). An `Importer` is plain data (serde with the `serde`
/// feature), so an app can keep one per data source.
///
/// ```
/// use audience::import::{Importer, TagMode, UnknownTags};
/// use audience::{Country, Day, Edit, Store, TagSpec};
///
/// let today = Day::from_ymd(2025, 1, 6)?;
/// let mut store = Store::new();
/// let vip = store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
///
/// let importer = Importer::new()
///     .default_country(Country::TW)
///     .mode(TagMode::Overwrite)
///     .unknown_tags(UnknownTags::Reject)
///     .max_failed_share(0.5);
/// let report = importer.import_str(&mut store, "0912 345 678\tVIP\n0912-345-679\tVIPP\n", today)?;
/// assert_eq!(report.rows_imported, 1);
/// assert_eq!(
///     report.failures[0].to_string(),
///     "line 2, column 2 (tags): \"VIPP\": unknown tag \"VIPP\" (did you mean \"VIP\"?); row skipped"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Importer {
    format: Format,
    header: Header,
    columns: Option<(usize, Option<usize>)>,
    key_kind: KeyKind,
    default_country: Option<Country>,
    unknown_tags: UnknownTags,
    mode: TagMode,
    max_rows: u64,
    max_failed_share: f64,
    max_input_bytes: u64,
    max_new_tags: u64,
    actor: String,
}

impl Default for Importer {
    fn default() -> Importer {
        Importer::new()
    }
}

impl Importer {
    /// The seeds' defaults: automatic format and header, phone numbers with country codes,
    /// unknown tags ignored, merge, 5,000 rows, refuse over 10% failed.
    pub fn new() -> Importer {
        Importer {
            format: Format::Auto,
            header: Header::Auto,
            columns: None,
            key_kind: KeyKind::Phone,
            default_country: None,
            unknown_tags: UnknownTags::Ignore,
            mode: TagMode::Merge,
            max_rows: DEFAULT_MAX_ROWS,
            max_failed_share: DEFAULT_MAX_FAILED_SHARE,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_new_tags: DEFAULT_MAX_NEW_TAGS,
            actor: "import".to_string(),
        }
    }

    /// How fields are separated ([`Format::Auto`] by default).
    pub fn format(mut self, format: Format) -> Importer {
        self.format = format;
        self
    }

    /// Whether there is a header row ([`Header::Auto`] by default).
    pub fn header(mut self, header: Header) -> Importer {
        self.header = header;
        self
    }

    /// The key and tags columns by position, counting from 0, instead of by header names
    /// (`tags: None` when the file has no tags). A header row, if any, is still skipped.
    pub fn columns(mut self, key: usize, tags: Option<usize>) -> Importer {
        self.columns = Some((key, tags));
        self
    }

    /// What the key column holds ([`KeyKind::Phone`] by default).
    pub fn key_kind(mut self, kind: KeyKind) -> Importer {
        self.key_kind = kind;
        self
    }

    /// The country of phone numbers written without country code (none by default: every
    /// number must carry its country code, as the seeds' platforms require).
    pub fn default_country(mut self, country: Country) -> Importer {
        self.default_country = Some(country);
        self
    }

    /// What to do with unknown tag names ([`UnknownTags::Ignore`] by default).
    pub fn unknown_tags(mut self, policy: UnknownTags) -> Importer {
        self.unknown_tags = policy;
        self
    }

    /// Merge into or overwrite customers' tags ([`TagMode::Merge`] by default).
    pub fn mode(mut self, mode: TagMode) -> Importer {
        self.mode = mode;
        self
    }

    /// The most data rows one import takes ([`DEFAULT_MAX_ROWS`] by default, at most
    /// 2^32 - 1); a longer file is refused whole with [`ImportError::TooManyRows`].
    pub fn max_rows(mut self, rows: u64) -> Importer {
        self.max_rows = rows.min(u64::from(u32::MAX));
        self
    }

    /// The largest share of failed rows (0.0 to 1.0) an import accepts
    /// ([`DEFAULT_MAX_FAILED_SHARE`] by default); with more the import is refused with
    /// [`ImportError::Refused`]. `1.0` never refuses; `0.0` refuses any failure. Values
    /// outside 0..=1 (and NaN, read as 0) are clamped.
    pub fn max_failed_share(mut self, share: f64) -> Importer {
        self.max_failed_share = if share.is_nan() {
            0.0
        } else {
            share.clamp(0.0, 1.0)
        };
        self
    }

    /// The most bytes of input read ([`DEFAULT_MAX_INPUT_BYTES`] by default, at most
    /// 2^32 - 1).
    pub fn max_input_bytes(mut self, bytes: u64) -> Importer {
        self.max_input_bytes = bytes.min(MAX_INPUT_BYTES);
        self
    }

    /// The input limit, within [`MAX_INPUT_BYTES`] also for options that were deserialized.
    fn input_limit(&self) -> u64 {
        self.max_input_bytes.min(MAX_INPUT_BYTES)
    }

    /// The most tags one import may create under [`UnknownTags::Create`]
    /// ([`DEFAULT_MAX_NEW_TAGS`] by default).
    pub fn max_new_tags(mut self, tags: u64) -> Importer {
        self.max_new_tags = tags;
        self
    }

    /// The actor recorded in the taxonomy's change log for created tags (`"import"` by
    /// default).
    pub fn actor(mut self, actor: impl Into<String>) -> Importer {
        self.actor = actor.into();
        self
    }

    /// Imports `text` into `store`, assigning memberships on `today`. On error nothing has
    /// changed.
    pub fn import_str(
        &self,
        store: &mut Store,
        text: &str,
        today: Day,
    ) -> Result<ImportReport, Error> {
        self.import_bytes(store, text.as_bytes(), today)
    }

    /// Imports everything `input` yields (at most [`Importer::max_input_bytes`]) into
    /// `store`, assigning memberships on `today`. On error nothing has changed.
    pub fn import_reader(
        &self,
        store: &mut Store,
        input: impl Read,
        today: Day,
    ) -> Result<ImportReport, Error> {
        let bytes = self.read_all(input)?;
        self.import_bytes(store, &bytes, today)
    }

    /// A dry run of [`Importer::import_str`]: validates `text` against `store` and reports
    /// what an import would do, changing nothing. A file an import would refuse for its
    /// failure share is reported (see [`ImportReport::over_failure_limit`]), not refused.
    pub fn check_str(&self, store: &Store, text: &str) -> Result<ImportReport, Error> {
        Ok(self.plan(store, text.as_bytes())?.report)
    }

    /// A dry run of [`Importer::import_reader`].
    pub fn check_reader(&self, store: &Store, input: impl Read) -> Result<ImportReport, Error> {
        let bytes = self.read_all(input)?;
        Ok(self.plan(store, &bytes)?.report)
    }

    fn read_all(&self, input: impl Read) -> Result<Vec<u8>, Error> {
        let limit = self.input_limit();
        let mut bytes = Vec::new();
        input
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Err(ImportError::TooLarge { limit }.into());
        }
        Ok(bytes)
    }

    fn import_bytes(
        &self,
        store: &mut Store,
        bytes: &[u8],
        today: Day,
    ) -> Result<ImportReport, Error> {
        let mut plan = self.plan(store, bytes)?;
        if plan.report.over_failure_limit() {
            let report = &plan.report;
            return Err(ImportError::Refused {
                failed: report.rows_failed,
                rows: report.rows_read,
                limit_basis_points: report.failure_limit_basis_points,
                report: Box::new(plan.report),
            }
            .into());
        }
        self.apply(store, &mut plan, today)?;
        plan.report.applied = true;
        Ok(plan.report)
    }

    // -------------------------------------------------------------------------------------
    // First pass: parse and validate
    // -------------------------------------------------------------------------------------

    fn plan(&self, store: &Store, bytes: &[u8]) -> Result<Plan, Error> {
        let limit = self.input_limit();
        if bytes.len() as u64 > limit {
            return Err(ImportError::TooLarge { limit }.into());
        }
        let create_dimension = match &self.unknown_tags {
            UnknownTags::Create { dimension } => Some(check_dimension(dimension)?),
            _ => None,
        };
        let text = decode(bytes)?;
        let (delimiter, body, line_offset) = self.layout(text)?;

        let mut records = Records::new(body.as_bytes(), delimiter);
        let mut pass = Pass::new(self, store, create_dimension);
        let mut columns: Option<Columns> = None;
        let mut lines = Lines::new(body.as_bytes());
        loop {
            let (start, record) = match records.next() {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err((start, limit)) => {
                    let line = lines.line_of(start) + line_offset;
                    return Err(limit.into_error(line).into());
                }
            };
            let line = lines.line_of(start) + line_offset;
            if record.iter().all(blank) {
                continue;
            }
            let cols = match columns {
                Some(c) => c,
                None => {
                    let first: Vec<&str> = record.iter().map(field_str).collect();
                    let (c, is_header) = self.columns_from(&first)?;
                    columns = Some(c);
                    pass.report.key_column = column_number(c.key);
                    pass.report.tags_column = c.tags.map(column_number);
                    if is_header {
                        pass.report.header_line = Some(line);
                        continue;
                    }
                    c
                }
            };
            pass.row(&cols, line, &record)?;
        }
        let report = &pass.report;
        if report.rows_read > self.max_rows {
            return Err(ImportError::TooManyRows {
                rows: report.rows_read,
                limit: self.max_rows,
            }
            .into());
        }
        pass.finish()
    }

    /// The separator, the text after an Excel `sep=` line, and how many lines that skipped.
    fn layout<'t>(&self, text: &'t str) -> Result<(u8, &'t str, u64), Error> {
        let (first, rest) = match text.split_once('\n') {
            Some((first, rest)) => (first, rest),
            None => (text, ""),
        };
        let first = first.strip_suffix('\r').unwrap_or(first);
        let sep_line = first
            .strip_prefix("sep=")
            .or_else(|| first.strip_prefix("SEP="))
            .filter(|s| s.len() == 1);
        let (sniffed, body, offset) = match sep_line {
            Some(sep) => (sep.as_bytes().first().copied(), rest, 1),
            None => (None, text, 0),
        };
        let delimiter = match (self.format, sniffed) {
            (Format::Csv, _) => b',',
            (Format::Txt, _) => b'\t',
            (Format::Delimited(d), _) => d,
            (Format::Auto, Some(d)) => d,
            (Format::Auto, None) => sniff(body),
        };
        if !delimiter.is_ascii() || matches!(delimiter, b'"' | b'\r' | b'\n') {
            return Err(ErrorKind::InvalidArgument(format!(
                "the separator must be an ASCII character other than '\"', CR and LF, got byte 0x{delimiter:02X}"
            ))
            .into());
        }
        Ok((delimiter, body, offset))
    }

    /// Which columns hold the key and the tags, from the first non-blank row, and whether
    /// that row is a header.
    fn columns_from(&self, fields: &[&str]) -> Result<(Columns, bool), Error> {
        let (keys, prefixes) = key_aliases(self.key_kind);
        let names: Vec<String> = fields.iter().map(|f| header_key(f)).collect();
        let is = |n: &String, aliases: &[&str]| aliases.iter().any(|a| header_key(a) == *n);
        let key_at = names.iter().position(|n| is(n, keys)).or_else(|| {
            names.iter().position(|n| {
                prefixes
                    .iter()
                    .any(|p| n.starts_with(header_key(p).as_str()))
            })
        });
        let tags_at = names.iter().position(|n| is(n, TAGS_ALIASES));
        let is_header = match self.header {
            Header::Present => true,
            Header::Absent => false,
            Header::Auto => key_at.is_some() || tags_at.is_some(),
        };
        let last_named = fields.iter().rposition(|f| !trim(f).is_empty());
        let (key, tags, extra_tags) = match self.columns {
            Some((key, tags)) => (
                key,
                tags,
                tags.is_some_and(|t| !is_header || Some(t) == last_named),
            ),
            None if is_header => {
                let Some(key) = key_at else {
                    return Err(ImportError::NoKeyColumn {
                        kind: self.key_kind,
                        header: fields.iter().map(|f| clip(trim(f))).collect(),
                    }
                    .into());
                };
                (key, tags_at, tags_at.is_some() && tags_at == last_named)
            }
            None => (0, Some(1), true),
        };
        Ok((
            Columns {
                key,
                tags,
                extra_tags,
            },
            is_header,
        ))
    }

    // -------------------------------------------------------------------------------------
    // Second pass: apply
    // -------------------------------------------------------------------------------------

    /// The edit that logs the tags an import creates.
    fn creation_edit(&self, today: Day) -> Edit {
        Edit::new(self.actor.clone(), today).because("created by import")
    }

    /// Applies a validated plan. Every step's preconditions were checked by `plan`, so none
    /// of the store calls below fails; they are ordered so that, were one to fail, it would
    /// be one of the first two (tag creation, then customer registration, each all-or-
    /// nothing), before any membership changed.
    fn apply(&self, store: &mut Store, plan: &mut Plan, today: Day) -> Result<(), Error> {
        let edit = self.creation_edit(today);
        let mut ids: Vec<Option<TagId>> = Vec::with_capacity(plan.slots.len());
        for slot in &plan.slots {
            let id = match &slot.tag {
                SlotTag::Existing(id) => Some(*id),
                SlotTag::New { .. } if slot.is_empty() => None,
                SlotTag::New { name, dimension } => Some(store.create_tag(
                    &edit,
                    TagSpec::new(name.as_str()).dimension(dimension.as_str()),
                )?),
            };
            ids.push(id);
        }
        let fresh = store.ensure_customers(std::mem::take(&mut plan.new_keys))?;
        for (slot, id) in plan.slots.iter().zip(ids) {
            let Some(id) = id else { continue };
            if slot.is_empty() {
                continue;
            }
            let mut set = slot.wanted.clone();
            let new_ids = slot
                .fresh
                .iter()
                .filter_map(|&i| fresh.get(i as usize).copied());
            extend_sorted(&mut set, new_ids);
            store.add_tag_bulk(id, &set, today)?;
        }
        for (tag, lost) in &plan.removals {
            store.remove_tag_bulk(*tag, lost)?;
        }
        Ok(())
    }
}

/// Line numbers of records. A record's reading starts where the previous one ended, before
/// any blank lines and before the LF of a CRLF (so `csv`'s own line count is off with CRLF
/// and blank lines); the record starts at the first byte after that which is not CR or LF. Records come in order, so line ends (LF and CRLF, or CR in a file without LF)
/// are counted incrementally: O(input) in all.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
    /// The byte that ends a line: LF, or CR in a file without any LF (old Mac Excel).
    end: u8,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines {
            bytes,
            pos: 0,
            line: 1,
            end: if bytes.contains(&b'\n') { b'\n' } else { b'\r' },
        }
    }

    /// The line of the record whose reading started at byte `reported`.
    fn line_of(&mut self, reported: usize) -> u64 {
        let mut start = reported.max(self.pos);
        while let Some(b'\r' | b'\n') = self.bytes.get(start) {
            start += 1;
        }
        let seen = self.bytes.get(self.pos..start).unwrap_or_default();
        self.line += seen.iter().filter(|&&b| b == self.end).count() as u64;
        self.pos = start.min(self.bytes.len());
        self.line
    }
}

/// Records of CSV text, read by `csv`'s parser (`csv-core`, configured as `csv`'s reader
/// with `flexible(true)`, so records are exactly the ones `csv` yields) into buffers that
/// grow up to [`MAX_ROW_BYTES`] and [`MAX_ROW_FIELDS`]: a row over a limit is refused
/// before it is held in memory.
struct Records<'a> {
    core: csv_core::Reader,
    input: &'a [u8],
    /// Bytes of `input` read so far.
    pos: usize,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

/// A row over one of the limits: which limit, at which field (from 0).
#[derive(Clone, Copy, Debug)]
enum RowLimit {
    Field(usize),
    Row,
    Fields,
}

impl RowLimit {
    fn into_error(self, line: u64) -> ImportError {
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
struct Record<'r> {
    fields: &'r [u8],
    ends: &'r [usize],
}

impl<'r> Record<'r> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> Option<&'r [u8]> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        self.fields.get(start..end)
    }

    fn iter(&self) -> impl Iterator<Item = &'r [u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl<'a> Records<'a> {
    fn new(input: &'a [u8], delimiter: u8) -> Records<'a> {
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
    fn next(&mut self) -> Result<Option<(usize, Record<'_>)>, (usize, RowLimit)> {
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

/// Key and tags column positions (from 0).
#[derive(Clone, Copy, Debug)]
struct Columns {
    key: usize,
    tags: Option<usize>,
    /// Fields after the tags column are more tags.
    extra_tags: bool,
}

fn check_dimension(dimension: &str) -> Result<String, Error> {
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
fn sniff(body: &str) -> u8 {
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
fn field_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Trims white space and the invisible characters spreadsheets and chat apps leave around
/// values (zero-width spaces and joiners, word joiner, byte order mark).
fn trim(s: &str) -> &str {
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
fn same_digits(s: &str, mut n: u64) -> bool {
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
fn blank(field: &[u8]) -> bool {
    if field.is_ascii() {
        field.iter().all(u8::is_ascii_whitespace)
    } else {
        trim(field_str(field)).is_empty()
    }
}

/// A column's number counting from 1, as reports give it, from its position counting from
/// 0 (`u32::MAX` for positions beyond).
fn column_number(at: usize) -> u32 {
    u32::try_from(at)
        .ok()
        .and_then(|c| c.checked_add(1))
        .unwrap_or(u32::MAX)
}

/// At most [`VALUE_KEPT`] characters of a value, for reports.
fn clip(s: &str) -> String {
    s.chars().take(VALUE_KEPT).collect()
}

/// Whether a cell looks like a number Excel wrote in scientific notation (`8.52912E+10`).
fn scientific(s: &str) -> bool {
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
fn extend_sorted(set: &mut RoaringBitmap, ids: impl Iterator<Item = u32>) {
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
fn bitmap_of(mut ids: Vec<u32>) -> RoaringBitmap {
    ids.sort_unstable();
    ids.dedup();
    let mut set = RoaringBitmap::new();
    extend_sorted(&mut set, ids.into_iter());
    set
}

// -----------------------------------------------------------------------------------------
// Encoding
// -----------------------------------------------------------------------------------------

/// Checks the bytes are UTF-8 text and strips a byte order mark.
fn decode(bytes: &[u8]) -> Result<&str, ImportError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(ImportError::Utf16 {
            big_endian: bytes.starts_with(b"\xFE"),
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(ImportError::NotText {
            what: "an Excel workbook (.xlsx) or another zip archive",
            line: 1,
        });
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(ImportError::NotText {
            what: "an Excel 97-2003 workbook (.xls)",
            line: 1,
        });
    }
    if let Some(big_endian) = utf16(bytes) {
        return Err(ImportError::Utf16 { big_endian });
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(ImportError::NotText {
            what: "a binary file (it contains NUL bytes)",
            line: line_of(bytes, at),
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        ImportError::NotUtf8 {
            line: line_of(bytes, at),
            byte: bytes.get(at).copied().unwrap_or(0),
        }
    })
}

/// `Some(big_endian)` when bytes without byte order mark look like UTF-16: NUL bytes on
/// one side of many of the first 512 byte pairs (what UTF-16 does to ASCII digits,
/// separators and line breaks).
fn utf16(bytes: &[u8]) -> Option<bool> {
    let head = bytes.get(..bytes.len().min(1024)).unwrap_or(bytes);
    let pairs = head.len() / 2;
    if pairs == 0 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        if let [a, b] = pair {
            even += usize::from(*a == 0);
            odd += usize::from(*b == 0);
        }
    }
    // Mostly ASCII in UTF-16: one side of every pair is NUL. A third is plenty to tell it
    // from a binary file, where NULs fall on both sides alike.
    if odd * 3 >= pairs && even * 10 < odd {
        Some(false)
    } else if even * 3 >= pairs && odd * 10 < even {
        Some(true)
    } else {
        None
    }
}

/// The 1-based line of byte `at`.
fn line_of(bytes: &[u8], at: usize) -> u64 {
    let before = bytes.get(..at).unwrap_or(bytes);
    before.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

// -----------------------------------------------------------------------------------------
// Header names
// -----------------------------------------------------------------------------------------

/// A header cell as compared with the aliases: folded (case, width), letters and digits
/// only (so `Phone Number`, `phone_number` and `PHONE-NUMBER` are one name).
fn header_key(cell: &str) -> String {
    fold(trim(cell))
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Phone column names (compared as [`header_key`] leaves them).
const PHONE_ALIASES: &[&str] = &[
    // English
    "phone",
    "phonenumber",
    "phoneno",
    "mobile",
    "mobilenumber",
    "mobilephone",
    "mobileno",
    "cell",
    "cellphone",
    "tel",
    "telephone",
    "telephonenumber",
    "msisdn",
    "whatsapp",
    "whatsappnumber",
    "number",
    "contactnumber",
    "key",
    // Chinese (traditional and simplified)
    "電話",
    "電話號碼",
    "電話號",
    "手機",
    "手機號碼",
    "手機號",
    "聯絡電話",
    "號碼",
    "电话",
    "电话号码",
    "手机",
    "手机号码",
    "手机号",
    "联系电话",
    "号码",
    // Thai
    "โทรศัพท์",
    "เบอร์",
    "เบอร์โทร",
    "เบอร์โทรศัพท์",
    "หมายเลขโทรศัพท์",
    "มือถือ",
    // Russian
    "телефон",
    "номер",
    "номертелефона",
    "мобильный",
    "мобильныйтелефон",
    "тел",
    // Arabic
    "هاتف",
    "الهاتف",
    "رقمالهاتف",
    "جوال",
    "الجوال",
    "رقمالجوال",
    "موبايل",
    "رقم",
];

/// Member-id column names (compared as [`header_key`] leaves them).
const MEMBER_ALIASES: &[&str] = &[
    "memberid",
    "member",
    "memberno",
    "membernumber",
    "customerid",
    "customer",
    "userid",
    "id",
    "key",
    "會員編號",
    "會員",
    "會員id",
    "会员编号",
    "会员",
    "会员id",
    "รหัสสมาชิก",
    "สมาชิก",
    "idклиента",
    "номерклиента",
    "клиент",
    "رقمالعضوية",
    "معرفالعميل",
    "العضو",
];

/// Tags column names (compared as [`header_key`] leaves them).
const TAGS_ALIASES: &[&str] = &[
    "tags",
    "tag",
    "tagnames",
    "labels",
    "label",
    "標籤",
    "標簽",
    "标签",
    "แท็ก",
    "ป้ายกำกับ",
    "теги",
    "тег",
    "метки",
    "ярлыки",
    "وسوم",
    "الوسوم",
    "وسم",
    "علامات",
    "تصنيفات",
    "التصنيفات",
];

/// Phone column names that also match as the start of a longer name (`Phone (with
/// country code)`, `手機號碼(必填)`).
const PHONE_PREFIXES: &[&str] = &[
    "phone",
    "mobile",
    "telephone",
    "whatsapp",
    "電話",
    "手機",
    "电话",
    "手机",
    "โทรศัพท์",
    "เบอร์",
    "телефон",
    "هاتف",
    "جوال",
];

/// Member-id column names that also match as the start of a longer name.
const MEMBER_PREFIXES: &[&str] = &["memberid", "會員編號", "会员编号"];

/// The exact names and the prefixes of the key column.
fn key_aliases(kind: KeyKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        KeyKind::Phone => (PHONE_ALIASES, PHONE_PREFIXES),
        KeyKind::MemberId => (MEMBER_ALIASES, MEMBER_PREFIXES),
    }
}

// -----------------------------------------------------------------------------------------
// The validation pass
// -----------------------------------------------------------------------------------------

/// A tag the file refers to: an existing one or one to create.
#[derive(Debug)]
enum SlotTag {
    Existing(TagId),
    New { name: String, dimension: String },
}

/// One referenced tag and the customers the file gives it.
#[derive(Debug)]
struct Slot {
    tag: SlotTag,
    /// Existing customers (any order while parsing; the bitmap `wanted` afterwards).
    existing: Vec<CustomerId>,
    wanted: RoaringBitmap,
    /// Indices into `Plan::new_keys`, ascending.
    fresh: Vec<u32>,
}

impl Slot {
    fn is_empty(&self) -> bool {
        self.existing.is_empty() && self.wanted.is_empty() && self.fresh.is_empty()
    }
}

/// A tag name's resolution, cached per spelling.
#[derive(Clone, Debug)]
enum Resolved {
    Slot(u32),
    Fail(FailureReason),
}

/// The validated batch: the report, and what applying it does.
#[derive(Debug)]
struct Plan {
    report: ImportReport,
    new_keys: Vec<CustomerKey>,
    slots: Vec<Slot>,
    removals: Vec<(TagId, RoaringBitmap)>,
}

/// A tag name of a row that could not be used, as the first pass records it: its column
/// (from 1) and its spelling's index in `Pass::spellings` (whose resolution says why).
#[derive(Clone, Copy, Debug)]
struct TagFail {
    column: u32,
    spelling: u32,
}

/// One data row that passed its key, as the first pass records it.
#[derive(Debug)]
struct RowRec {
    line: u64,
    /// The phone digits, or for member ids the index in `Pass::members` of the id (the
    /// same for every row of one id): rows with equal keys are duplicates.
    key: u64,
    /// Its tags' slots: `Pass::row_tags[tags.0..tags.1]`.
    tags: (u32, u32),
    /// Its tag failures: `Pass::row_fails[fails.0..fails.1]`.
    fails: (u32, u32),
    /// The key as written, `Pass::raw[raw.0..raw.1]`, when it differs from the key's
    /// digits (for reporting duplicates).
    raw: (u32, u32),
    /// Skipped for its tag failures (reject policy, overwrite mode).
    skip: bool,
}

/// State of the validation pass.
///
/// Rows are recorded first and deduplicated afterwards by sorting `(key, row)` pairs:
/// sequential work, where a hash set of the keys seen costs a cache miss per row (measured
/// 4x slower at 1M rows).
struct Pass<'a> {
    opts: &'a Importer,
    store: &'a Store,
    create_dimension: Option<String>,
    report: ImportReport,
    rows: Vec<RowRec>,
    row_tags: Vec<u32>,
    /// Reused while deduplicating a row's tags and failures.
    scratch: Vec<u32>,
    fail_scratch: Vec<(u32, usize, TagFail)>,
    row_fails: Vec<TagFail>,
    raw: String,
    /// Member ids, distinct, with their index.
    members: Vec<String>,
    member_index: HashMap<String, u64>,
    /// Whether the store has no customer id yet (lookups can be skipped).
    store_empty: bool,
    /// Index in `spellings` per trimmed spelling.
    names: HashMap<Box<str>, u32>,
    /// Every distinct trimmed spelling and its resolution, at most [`MAX_TAG_NAMES`].
    spellings: Vec<(Box<str>, Resolved)>,
    /// Slot per existing tag, and per (folded dimension, folded name) of a tag to create.
    existing_slots: HashMap<TagId, u32>,
    new_slots: HashMap<(String, String), u32>,
    slots: Vec<Slot>,
    new_keys: Vec<CustomerKey>,
    /// Existing customers of imported rows, and those of them whose tags are overwritten.
    imported_existing: u64,
    overwritten: Vec<CustomerId>,
}

impl<'a> Pass<'a> {
    fn new(opts: &'a Importer, store: &'a Store, create_dimension: Option<String>) -> Pass<'a> {
        let bp = (opts.max_failed_share * 10_000.0).round() as u32;
        Pass {
            opts,
            store,
            create_dimension,
            report: ImportReport {
                failure_limit_basis_points: bp,
                key_column: 1,
                ..ImportReport::default()
            },
            rows: Vec::new(),
            row_tags: Vec::new(),
            scratch: Vec::new(),
            fail_scratch: Vec::new(),
            row_fails: Vec::new(),
            raw: String::new(),
            members: Vec::new(),
            member_index: HashMap::new(),
            store_empty: store.id_space() == 0,
            names: HashMap::new(),
            spellings: Vec::new(),
            existing_slots: HashMap::new(),
            new_slots: HashMap::new(),
            slots: Vec::new(),
            new_keys: Vec::new(),
            imported_existing: 0,
            overwritten: Vec::new(),
        }
    }

    /// First pass over one data row: its key, its tags, its failures. Errors only when the
    /// file lists more than [`MAX_TAG_NAMES`] different tag names.
    fn row(&mut self, cols: &Columns, line: u64, fields: &Record<'_>) -> Result<(), ImportError> {
        self.report.rows_read += 1;
        if self.report.rows_read > self.opts.max_rows {
            return Ok(()); // only counted: the batch will be refused
        }
        let raw_key = trim(fields.get(cols.key).map_or("", field_str));
        let key = match self.parse_key(raw_key) {
            Ok(key) => key,
            Err(reason) => {
                let failure = Failure {
                    line,
                    column: column_number(cols.key),
                    field: self.key_field(),
                    value: clip(raw_key),
                    reason,
                    effect: Effect::RowSkipped,
                };
                self.report.rows_failed += 1;
                self.report.rows_skipped += 1;
                self.push_failure(failure);
                return Ok(());
            }
        };
        let start = self.raw.len() as u32;
        let key = match key {
            CustomerKey::Phone(p) => {
                if !same_digits(raw_key, p) {
                    self.raw.push_str(&clip(raw_key));
                }
                p
            }
            CustomerKey::Member(m) => match self.member_index.get(m.as_str()) {
                Some(&i) => i,
                None => {
                    let i = self.members.len() as u64;
                    self.member_index.insert(m.clone(), i);
                    self.members.push(m);
                    i
                }
            },
        };
        let raw = (start, self.raw.len() as u32);

        let tags_start = self.row_tags.len() as u32;
        let fails_start = self.row_fails.len() as u32;
        if let Some(tags_at) = cols.tags {
            let last = if cols.extra_tags {
                fields.len()
            } else {
                tags_at.saturating_add(1).min(fields.len())
            };
            for at in tags_at..last {
                let cell = fields.get(at).map_or("", field_str);
                for name in cell.split([',', '，', '、', '،']) {
                    let name = trim(name);
                    if name.is_empty() {
                        continue;
                    }
                    let spelling = self.resolve(name, line)?;
                    match self.spellings.get(spelling as usize).map(|(_, r)| r) {
                        Some(Resolved::Slot(slot)) => self.row_tags.push(*slot),
                        _ => self.row_fails.push(TagFail {
                            column: column_number(at),
                            spelling,
                        }),
                    }
                }
            }
            // A tag listed twice counts once (sorting, not a scan per tag: a row may list
            // thousands).
            if self.row_tags.len() > tags_start as usize + 1 {
                self.scratch.clear();
                self.scratch
                    .extend(self.row_tags.drain(tags_start as usize..));
                self.scratch.sort_unstable();
                self.scratch.dedup();
                self.row_tags.extend_from_slice(&self.scratch);
            }
        }
        // A name that fails twice in a row is one failure, at its first place.
        if self.row_fails.len() > fails_start as usize + 1 {
            self.fail_scratch.clear();
            self.fail_scratch.extend(
                self.row_fails
                    .drain(fails_start as usize..)
                    .enumerate()
                    .map(|(i, f)| (f.spelling, i, f)),
            );
            self.fail_scratch.sort_unstable_by_key(|&(s, i, _)| (s, i));
            self.fail_scratch.dedup_by_key(|&mut (s, _, _)| s);
            self.fail_scratch.sort_unstable_by_key(|&(_, i, _)| i);
            self.row_fails
                .extend(self.fail_scratch.iter().map(|&(_, _, f)| f));
        }
        let failed = self.row_fails.len() as u32 > fails_start;
        self.rows.push(RowRec {
            line,
            key,
            tags: (tags_start, self.row_tags.len() as u32),
            fails: (fails_start, self.row_fails.len() as u32),
            raw,
            skip: failed
                && (self.opts.mode == TagMode::Overwrite
                    || self.opts.unknown_tags == UnknownTags::Reject),
        });
        Ok(())
    }

    /// Second pass, in row order: duplicates out (first occurrence wins), failures
    /// counted, customers looked up, memberships gathered per tag.
    fn settle(&mut self) {
        let mut order: Vec<(u64, u32)> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key, i as u32))
            .collect();
        order.sort_unstable();
        let mut first_of: Vec<u32> = vec![u32::MAX; self.rows.len()];
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            if let [(_, first), rest @ ..] = group {
                for (_, r) in rest {
                    if let Some(f) = first_of.get_mut(*r as usize) {
                        *f = *first;
                    }
                }
            }
        }
        drop(order);

        let rows = std::mem::take(&mut self.rows);
        let row_fails = std::mem::take(&mut self.row_fails);
        // Key failures were listed (up to the limit) in the first pass, tag failures are
        // listed now: both in line order, merged below.
        let mut tag_failures: Vec<Failure> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let first = first_of.get(i).copied().unwrap_or(u32::MAX);
            if first != u32::MAX {
                let first_line = rows.get(first as usize).map_or(0, |r| r.line);
                let value = match self.raw.get(row.raw.0 as usize..row.raw.1 as usize) {
                    Some(raw) if !raw.is_empty() => raw.to_string(),
                    _ => self.key_text(row.key),
                };
                self.report.rows_skipped += 1;
                self.report.duplicates.push(Duplicate {
                    line: row.line,
                    first_line,
                    value,
                });
                continue;
            }
            let fails = row_fails
                .get(row.fails.0 as usize..row.fails.1 as usize)
                .unwrap_or_default();
            if !fails.is_empty() {
                self.report.rows_failed += 1;
                for f in fails {
                    let Some((name, Resolved::Fail(reason))) =
                        self.spellings.get(f.spelling as usize)
                    else {
                        continue;
                    };
                    *self.report.failure_counts.entry(reason.kind()).or_insert(0) += 1;
                    if tag_failures.len() < MAX_LISTED_FAILURES {
                        tag_failures.push(Failure {
                            line: row.line,
                            column: f.column,
                            field: Field::Tags,
                            value: clip(name),
                            reason: reason.clone(),
                            effect: if row.skip {
                                Effect::RowSkipped
                            } else {
                                Effect::TagIgnored
                            },
                        });
                    }
                }
            }
            if row.skip {
                self.report.rows_skipped += 1;
                continue;
            }
            self.report.rows_imported += 1;
            let key = match self.opts.key_kind {
                KeyKind::Phone => CustomerKey::Phone(row.key),
                KeyKind::MemberId => CustomerKey::Member(self.key_text(row.key)),
            };
            let existing = if self.store_empty {
                None
            } else {
                self.store.customer(&key)
            };
            let tags = self
                .row_tags
                .get(row.tags.0 as usize..row.tags.1 as usize)
                .unwrap_or_default();
            match existing {
                Some(id) => {
                    self.imported_existing += 1;
                    if self.opts.mode == TagMode::Overwrite && !tags.is_empty() {
                        self.overwritten.push(id);
                    }
                    for &slot in tags {
                        if let Some(s) = self.slots.get_mut(slot as usize) {
                            s.existing.push(id);
                        }
                    }
                }
                None => {
                    let index = self.new_keys.len() as u32;
                    self.new_keys.push(key);
                    for &slot in tags {
                        if let Some(s) = self.slots.get_mut(slot as usize) {
                            s.fresh.push(index);
                        }
                    }
                }
            }
        }
        // The first failures in line order: among the first of either kind.
        self.report.failures.append(&mut tag_failures);
        self.report.failures.sort_by_key(|f| (f.line, f.column));
        self.report.failures.truncate(MAX_LISTED_FAILURES);
    }

    /// The text of a recorded key: phone digits or the member id.
    fn key_text(&self, key: u64) -> String {
        match self.opts.key_kind {
            KeyKind::Phone => key.to_string(),
            KeyKind::MemberId => self
                .members
                .get(usize::try_from(key).unwrap_or(usize::MAX))
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Counts a failure, and lists it while fewer than [`MAX_LISTED_FAILURES`] are.
    fn push_failure(&mut self, failure: Failure) {
        *self
            .report
            .failure_counts
            .entry(failure.reason.kind())
            .or_insert(0) += 1;
        if self.report.failures.len() < MAX_LISTED_FAILURES {
            self.report.failures.push(failure);
        }
    }

    fn key_field(&self) -> Field {
        match self.opts.key_kind {
            KeyKind::Phone => Field::Phone,
            KeyKind::MemberId => Field::MemberId,
        }
    }

    fn parse_key(&self, raw: &str) -> Result<CustomerKey, FailureReason> {
        let value = trim(raw);
        match self.opts.key_kind {
            KeyKind::Phone => {
                let value = value.strip_prefix('\'').unwrap_or(value);
                match normalize_phone(value, self.opts.default_country) {
                    Ok(phone) => Ok(CustomerKey::from(phone)),
                    Err(_) if scientific(value) => Err(FailureReason::ScientificNotation),
                    Err(e) => Err(FailureReason::InvalidPhone(e)),
                }
            }
            KeyKind::MemberId => CustomerKey::member(value).map_err(|e| match e.into_kind() {
                ErrorKind::InvalidKey { reason, .. } => FailureReason::InvalidMemberId { reason },
                other => FailureReason::InvalidMemberId {
                    reason: other.to_string(),
                },
            }),
        }
    }

    /// Resolves a trimmed tag name once per spelling; returns the spelling's index. Errors
    /// on the spelling after the first [`MAX_TAG_NAMES`].
    fn resolve(&mut self, name: &str, line: u64) -> Result<u32, ImportError> {
        if let Some(&i) = self.names.get(name) {
            return Ok(i);
        }
        if self.spellings.len() >= MAX_TAG_NAMES {
            return Err(ImportError::TooManyTagNames {
                line,
                limit: MAX_TAG_NAMES as u64,
            });
        }
        let r = self.resolve_uncached(name);
        let i = self.spellings.len() as u32;
        self.spellings.push((Box::from(name), r));
        self.names.insert(Box::from(name), i);
        Ok(i)
    }

    fn resolve_uncached(&mut self, name: &str) -> Resolved {
        let err = match self.store.tag_id(name) {
            Ok(id) => {
                return match self.store.tag(id) {
                    Ok(info) if info.archived => Resolved::Fail(FailureReason::ArchivedTag),
                    Ok(_) => Resolved::Slot(self.existing_slot(id)),
                    Err(e) => Resolved::Fail(FailureReason::InvalidTagName {
                        reason: e.to_string(),
                    }),
                };
            }
            Err(e) => e.into_kind(),
        };
        match err {
            ErrorKind::UnknownTag { suggestion, .. } => match &self.create_dimension {
                // A near miss of an existing name is a typo far more often than a new tag:
                // creating it would make two tags of one meaning.
                Some(_) if suggestion.is_some() && name.chars().count() >= NEAR_MISS_CHARS => {
                    Resolved::Fail(FailureReason::UnknownTag { suggestion })
                }
                Some(dimension) => self.new_slot(name, dimension.clone()),
                None => Resolved::Fail(FailureReason::UnknownTag { suggestion }),
            },
            ErrorKind::AmbiguousTag { dimensions, .. } => {
                Resolved::Fail(FailureReason::AmbiguousTag { dimensions })
            }
            other => Resolved::Fail(FailureReason::InvalidTagName {
                reason: other.to_string(),
            }),
        }
    }

    fn existing_slot(&mut self, id: TagId) -> u32 {
        if let Some(&slot) = self.existing_slots.get(&id) {
            return slot;
        }
        let slot = self.slots.len() as u32;
        self.slots.push(Slot {
            tag: SlotTag::Existing(id),
            existing: Vec::new(),
            wanted: RoaringBitmap::new(),
            fresh: Vec::new(),
        });
        self.existing_slots.insert(id, slot);
        slot
    }

    /// A tag to create: `dim:name` goes to `dim` when that dimension exists (the way
    /// [`Store::tag_id`] reads it later), anything else to the configured dimension.
    fn new_slot(&mut self, raw: &str, dimension: String) -> Resolved {
        let (dimension, name) = match raw.split_once(':') {
            Some((dim, rest)) => match self
                .store
                .dimensions()
                .iter()
                .find(|d| fold(&d.name) == fold(dim))
            {
                Some(d) => (d.name.clone(), rest),
                None => (dimension, raw),
            },
            None => (dimension, raw),
        };
        let name = tidy(name);
        if let Err(reason) = check_name(&name) {
            return Resolved::Fail(FailureReason::InvalidTagName { reason });
        }
        if let Err(e) = self.store.check_naming(&name, &dimension) {
            return Resolved::Fail(match e.into_kind() {
                ErrorKind::NamingRule { rule, .. } => FailureReason::NamingRule { rule },
                other => FailureReason::InvalidTagName {
                    reason: other.to_string(),
                },
            });
        }
        let key = (fold(&dimension), fold(&name));
        if let Some(&slot) = self.new_slots.get(&key) {
            return Resolved::Slot(slot);
        }
        let slot = self.slots.len() as u32;
        self.slots.push(Slot {
            tag: SlotTag::New { name, dimension },
            existing: Vec::new(),
            wanted: RoaringBitmap::new(),
            fresh: Vec::new(),
        });
        self.new_slots.insert(key, slot);
        Resolved::Slot(slot)
    }

    /// Checks the limits applying depends on and computes what it will change.
    fn finish(mut self) -> Result<Plan, Error> {
        self.settle();
        let Pass {
            opts,
            store,
            mut report,
            mut slots,
            new_keys,
            imported_existing,
            overwritten,
            ..
        } = self;

        // Tags to create: those some imported row lists.
        let created: Vec<String> = slots
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| match &s.tag {
                SlotTag::New { name, .. } => Some(name.clone()),
                SlotTag::Existing(_) => None,
            })
            .collect();
        if created.len() as u64 > opts.max_new_tags {
            return Err(ImportError::TooManyNewTags {
                count: created.len() as u64,
                limit: opts.max_new_tags,
            }
            .into());
        }
        let tag_space = store.tag_id_space() as u64;
        if tag_space + created.len() as u64 > MAX_TAGS as u64 {
            return Err(ErrorKind::LimitExceeded {
                what: "number of tags",
                limit: MAX_TAGS as u64,
                actual: tag_space + created.len() as u64,
            }
            .into());
        }
        if store.id_space() + new_keys.len() as u64 > u64::from(u32::MAX) {
            return Err(ErrorKind::IdSpaceExhausted(store.id_space()).into());
        }
        // Whatever else creating the tags depends on (the policy letting the actor create
        // tags, the actor's name, the naming rules) is checked here, so applying cannot
        // fail half-way. The day is not checked.
        let edit = opts.creation_edit(Day::EPOCH);
        let new_tags = slots
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| match &s.tag {
                SlotTag::New { name, dimension } => Some((name, dimension)),
                SlotTag::Existing(_) => None,
            });
        for (pending, (name, dimension)) in new_tags.enumerate() {
            let spec = TagSpec::new(name.as_str()).dimension(dimension.as_str());
            store.check_new_tag(&edit, &spec, pending)?;
        }

        // What changes: memberships gained by existing customers, all of new customers'.
        let mut changed = RoaringBitmap::new();
        let mut added = 0u64;
        for slot in &mut slots {
            slot.wanted = bitmap_of(std::mem::take(&mut slot.existing));
            let gained = match &slot.tag {
                SlotTag::Existing(id) => &slot.wanted - store.members(*id)?,
                SlotTag::New { .. } => slot.wanted.clone(),
            };
            added += gained.len() + slot.fresh.len() as u64;
            changed |= gained;
        }
        let mut removals = Vec::new();
        if opts.mode == TagMode::Overwrite && !overwritten.is_empty() {
            let overwritten = bitmap_of(overwritten);
            let by_tag: HashMap<TagId, usize> = slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s.tag {
                    SlotTag::Existing(id) => Some((id, i)),
                    SlotTag::New { .. } => None,
                })
                .collect();
            for info in store.tags() {
                let members = store.members(info.id)?;
                if members.is_disjoint(&overwritten) {
                    continue;
                }
                let mut lost = members & &overwritten;
                if let Some(slot) = by_tag.get(&info.id).and_then(|&i| slots.get(i)) {
                    lost -= &slot.wanted;
                }
                if !lost.is_empty() {
                    report.memberships_removed += lost.len();
                    changed |= &lost;
                    removals.push((info.id, lost));
                }
            }
        }
        report.memberships_added = added;
        report.customers_created = new_keys.len() as u64;
        report.customers_updated = changed.len();
        report.customers_unchanged = imported_existing.saturating_sub(changed.len());
        report.tags_created = created;
        Ok(Plan {
            report,
            new_keys,
            slots,
            removals,
        })
    }
}
