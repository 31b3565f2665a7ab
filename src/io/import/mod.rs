//! Importing customer lists: CSV and TXT files of phone numbers (or member ids) and tag names.
//!
//! Users of WhatsApp and LINE tagging tools keep customers in spreadsheets: a column of phone numbers and a column of
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
//!     .import_str(&mut store, file, &Edit::new("import", today))?;
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
//!   other binary file with [`ImportError::NotText`]. With the `xlsx` feature,
//!   `Importer::import_sheet` reads an `.xlsx`, `.xls` or `.ods` workbook's sheet through
//!   the same rules
//!   (cells as their values: a phone number stored as a number keeps every digit). The input is read whole, at most
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
//!   the ideographic comma `、` and the Arabic comma `،` ([`TAG_SEPARATORS`], as people
//!   type them; no tag or dimension can be created with one in its name, so every list an
//!   export writes is read back whole); each name
//!   is trimmed and looked up as [`Store::tag_id`] does (case, width and spacing do not
//!   matter; `dimension:name` picks one of two same-named tags); empty names are skipped.
//!   A name listed twice in a row counts once, as a tag or as a failure (at its first
//!   place).
//! * **Columns without a header** (past the header's last named column, under a blank
//!   header cell, or in a file without a header row any column but the key and tags
//!   columns) are not read: a notes column after the tags must not turn into tags. Each
//!   such column with values is listed once in [`ImportReport::ignored_columns`] (how many
//!   rows, the first value), which is not a failure. With
//!   [`Importer::unnamed_columns`]`(`[`UnnamedColumns::Tags`]`)` the fields after the tags
//!   column, when no named column follows it, are more tags instead: a row
//!   `85291234567,VIP,new` typed without quotes then has two tags, and a trailing separator
//!   adds nothing.
//! * **Phone numbers** are read by [`read_phone`] against the
//!   [expected countries](Importer::countries) (see [`crate::phone`] for exactly what is
//!   accepted and validated): valid in exactly one, taken; valid in several, the row fails
//!   ([`FailureKind::AmbiguousCountry`]); valid in none, the failure says what the number
//!   would be in each. A *country column* (`country`, `country code`, `國家`, `国家`,
//!   `地區`, `ประเทศ`, `страна`, `الدولة`, ...) holding a country per row (`HK`, `Hong
//!   Kong`, `香港`, `852`, `+852`, `ไทย`, ...) decides for its row; an empty cell leaves the
//!   expected countries, anything else fails the row ([`FailureKind::UnknownCountry`]).
//!   A leading apostrophe (Excel's "this is text" mark) is dropped; a number Excel turned
//!   into scientific notation (`8.52912E+10`) is reported as such, since its digits are
//!   lost.
//! * **Warnings** ([`ImportReport::warnings`]): a row is imported, and the report lists and
//!   counts what its number had: an extension split off (`ext. 12`, `#12`, `доб. 12`,
//!   `ต่อ 12`, `轉 12`), a number that is not a mobile (a fixed line, toll-free or
//!   shared-cost number: WhatsApp and LINE reach mobiles), and digits read with the country
//!   code of a country that is not expected (`(852) 5653 0010` in a Thai list). Warnings
//!   do not count as failures.
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
//! * **Limits**: at most [`Importer::max_rows`] rows (5,000 by default, as the import guides of WhatsApp and LINE tagging tools
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
//!   (10% by default, those guides say that over 10% failed means stop and fix the file), the import is refused with
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
//! import's [`Edit`](crate::Edit) create tags, the actor's length, archived tags, the
//! tag and customer id limits), so applying cannot fail, and on any error nothing has
//! changed. The batch is applied in
//! place: applying to a copy of the store and swapping it in would cost a copy of the
//! customer directory (about 25 ms at 1M customers and 0.4 s at 10M on the development
//! machine) for every import that registers a customer. [`Importer::dry_run_str`] runs the
//! first pass alone, with the same inputs: a dry run whose report says what an import
//! would do.
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
use crate::error::{Error, ErrorKind, invalid_name};
use crate::phone::{Country, ParsedPhone, Reading, read_phone};

pub use crate::base::fold::TAG_SEPARATORS;
pub use crate::error::{
    Duplicate, Effect, Failure, FailureKind, FailureReason, Field, IgnoredColumn, ImportError,
    ImportReport, KeyKind, Warning, WarningKind, WarningReason,
};
use crate::store::Store;
use crate::store::directory::{CustomerId, CustomerKey};
use crate::store::taxonomy::{Edit, MAX_TAGS, TagId, TagSpec};

/// The default for [`Importer::max_rows`]: 5,000 rows, the per-import limit of WhatsApp and LINE tagging tools.
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
/// How many times [`Importer::max_input_bytes`] the parts of a workbook may unpack to
/// together (see [`ImportError::WorkbookTooLarge`]), for
/// [`Importer::import_sheet`] (the `xlsx` feature).
pub const MAX_UNPACKED_FACTOR: u64 = 4;

/// How many times smaller than what it unpacks to a part of a workbook may be packed
/// (see [`ImportError::WorkbookPackedTooTightly`]), for parts above
/// [`TIGHT_PACKING_FLOOR`] bytes unpacked.
pub const MAX_PACKING_RATIO: u64 = 100;

/// Parts of a workbook that unpack to at most this many bytes (1 MiB) are not held to
/// [`MAX_PACKING_RATIO`]: small parts of repeated markup pack tightly.
pub const TIGHT_PACKING_FLOOR: u64 = 1 << 20;

/// How many times [`Importer::max_input_bytes`] the reader of an Excel 97-2003 (`.xls`)
/// workbook may hold (see [`ImportError::WorkbookTooLargeToRead`]), for
/// [`Importer::import_sheet`] (the `xlsx` feature). It holds every sheet whole, as a grid
/// from its first to its last cell. What it would hold is sized generously before it
/// reads (about 18 times the file for a list of short rows, which it reads in about 7), so
/// with the default limit `.xls` files of up to about 28 MiB are read; one sheet holds at
/// most 65,536 rows, a few MiB.
pub const MAX_HELD_FACTOR: u64 = 8;

/// The most fields one row has: 1,024. More is [`ImportError::TooManyFields`].
pub const MAX_ROW_FIELDS: usize = 1024;
/// The most different tag names (as written, trimmed) one file lists: 10,000. More is
/// [`ImportError::TooManyTagNames`]: such a file almost always has the wrong column as tags.
pub const MAX_TAG_NAMES: usize = 10_000;
/// The most failures an [`ImportReport`] lists (the first ones in line order); every
/// failure is counted in [`ImportReport::failure_counts`] and [`ImportReport::rows_failed`].
pub const MAX_LISTED_FAILURES: usize = 10_000;
/// The most expected countries an [`Importer`] takes (see [`Importer::countries`]).
pub const MAX_COUNTRIES: usize = 16;
/// Unknown names of at least this many characters that are near an existing name are not
/// created (see [`UnknownTags::Create`]).
const NEAR_MISS_CHARS: usize = 3;
/// How many characters of a raw value a [`Failure`] keeps.
const VALUE_KEPT: usize = 100;

mod encoding;
mod header;
mod options;
mod pass;
mod records;
#[cfg(feature = "xlsx")]
mod sheet;
#[cfg(feature = "xlsx")]
mod xls;

use encoding::*;
use header::*;
pub use options::*;
use pass::*;
use records::*;
