//! Exporting customers: CSV and serde rows for any segment, hashed phone numbers for ad
//! platforms' custom audiences, and bitmaps for distributed engines.
//!
//! Everything is written to the caller's [`Write`]r or returned as data; the library does no
//! I/O of its own. Sets of customers are [`RoaringBitmap`]s (a [`Segment`] gives its own with
//! [`Segment::bitmap`]); ids that are not live customers (erased since the set was computed)
//! are left out and counted.
//!
//! # Rows
//!
//! [`Export`] describes the columns: the external key (phone digits or member id), the
//! customer's tag names, chosen attributes, and any [`CustomColumn`] the app adds (a name from
//! its own database, a score). [`Export::write_csv`] writes them as CSV, [`Export::rows`]
//! yields them as [`ExportRow`]s (serde data).
//!
//! ```
//! use audience::export::Export;
//! use audience::{AttrKind, CustomerKey, Day, Edit, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 6, 18)?;
//! let mut store = Store::new();
//! let edit = Edit::new("admin", today);
//! let vip = store.create_tag(&edit, TagSpec::new("VIP"))?;
//! let baby = store.create_tag(&edit, TagSpec::new("mother & baby"))?;
//! let last = store.define_attribute("last_purchase", AttrKind::Day)?;
//! let a = store.add_customer(CustomerKey::phone("85291234567")?)?;
//! let b = store.add_customer(CustomerKey::phone("66812345678")?)?;
//! store.add_tag(a, vip, today)?;
//! store.add_tag(a, baby, today)?;
//! store.set_value(a, last, today)?;
//!
//! let mut csv = Vec::new();
//! let summary = Export::new()
//!     .attribute("last_purchase")
//!     .write_csv(&store, store.customers(), &mut csv)?;
//! assert_eq!(
//!     String::from_utf8(csv).unwrap(),
//!     "phone,tags,last_purchase\n85291234567,\"VIP,mother & baby\",2025-06-18\n66812345678,,\n"
//! );
//! // No name holds a tag separator, so the importer reads every name back whole.
//! assert!(summary.tags_with_separators.is_empty());
//! # Ok::<(), audience::Error>(())
//! ```
//!
//! Tags are listed in tag id order (the order they were created, as [`Store::tags_of`]
//! returns them), comma-joined; a name that exists in several dimensions is written
//! `dimension:name`, as [`Store::tag_id`] and the importer read it. Days print as
//! `YYYY-MM-DD`, a missing value as an empty cell. The CSV is quoted where needed (names with
//! commas, quotes or line breaks), so `Importer` reads it back: export then import
//! round-trips keys and tags (a property test checks it, over names in every script). No
//! tag or dimension can be created with a tag separator (`,` `，` `、` `،`,
//! [`TAG_SEPARATORS`](crate::import::TAG_SEPARATORS)) in its name; a name that an older
//! snapshot brought with one is written as it is, listed in
//! [`ExportSummary::tags_with_separators`], since an import would split it: rename it
//! ([`Store::rename_tag`]) to round-trip it.
//!
//! # Ad platforms
//!
//! [`write_hashed_phones`] writes the SHA-256 of each customer's normalised phone number,
//! lowercase hex, one per line, as custom-audience uploads take them; [`AdPlatform`] says
//! exactly which text is hashed for which platform.
//!
//! # Bitmaps for distributed engines
//!
//! [`BitmapFormat`] encodes a set of customer ids for ClickHouse
//! (`AggregateFunction(groupBitmap, UInt32)`), Apache Doris and StarRocks (`BITMAP`), or any
//! Roaring implementation (the portable format); [`write_tag_bitmaps`] writes every tag's
//! members as a CSV of base64 bitmaps, and an [`Export`] with [`Export::id_column`] writes
//! the id -> key table they refer to. The README shows the SQL that loads them.
//! [`engine`](crate::engine) writes whole ClickHouse tables, translates queries to
//! ClickHouse SQL, and reads these formats back ([`engine::decode`](crate::engine::decode)).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::sync::Arc;

use crate::rfm::RfmScores;

use roaring::RoaringBitmap;
use sha2::{Digest, Sha256};

use crate::base::fold::{TAG_SEPARATORS, fold};
use crate::base::text::{counted, quote};
use crate::day::Day;
use crate::decimal::Decimal;
use crate::error::Error;
use crate::store::Store;
use crate::store::attribute::{AttrId, Value};
use crate::store::directory::{CustomerId, CustomerKey, KeyRef};
use crate::store::taxonomy::TagId;

#[cfg(doc)]
use crate::segment::Segment;

// -----------------------------------------------------------------------------------------
// Rows
// -----------------------------------------------------------------------------------------

/// One value of an exported column.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Cell {
    /// A whole number.
    Int(i64),
    /// A day, written `YYYY-MM-DD`.
    Day(Day),
    /// A decimal, written with its places and a point, without thousands separators
    /// (`15396.18`), as spreadsheets and databases read it back.
    Decimal(Decimal),
    /// Text.
    Text(String),
}

impl From<Value> for Cell {
    fn from(v: Value) -> Cell {
        match v {
            Value::Int(i) => Cell::Int(i),
            Value::Day(d) => Cell::Day(d),
            Value::Decimal(d) => Cell::Decimal(d),
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Day(d) => write!(f, "{d}"),
            Cell::Decimal(d) => write!(f, "{d}"),
            Cell::Text(t) => f.write_str(t),
        }
    }
}

/// A column the app computes: any per-customer value next to the store's own.
///
/// ```
/// use audience::export::{Cell, CustomColumn, Export, ExportColumn};
/// use audience::{CustomerId, Store};
///
/// /// First names from the app's own database.
/// struct FirstName;
///
/// impl CustomColumn for FirstName {
///     fn header(&self) -> String {
///         "first_name".into()
///     }
///     fn cell(&self, _store: &Store, customer: CustomerId) -> Option<Cell> {
///         (customer == 0).then(|| Cell::Text("Mei".into()))
///     }
/// }
///
/// let export = Export::new().column(ExportColumn::custom(FirstName));
/// # let _ = export;
/// ```
pub trait CustomColumn: Send + Sync {
    /// The column's header.
    fn header(&self) -> String;
    /// The value for one customer; `None` is an empty cell.
    fn cell(&self, store: &Store, customer: CustomerId) -> Option<Cell>;
}

/// A [`CustomColumn`] from a header and a function.
struct FnColumn<F> {
    header: String,
    f: F,
}

impl<F> CustomColumn for FnColumn<F>
where
    F: Fn(&Store, CustomerId) -> Option<Cell> + Send + Sync,
{
    fn header(&self) -> String {
        self.header.clone()
    }

    fn cell(&self, store: &Store, customer: CustomerId) -> Option<Cell> {
        (self.f)(store, customer)
    }
}

/// A value column of an export, after the key and tags.
///
/// RFM scores and segments come as computed columns ([`Export::with_rfm`]). New kinds of
/// columns are added as variants; the enum is `#[non_exhaustive]` for that.
#[derive(Clone)]
#[non_exhaustive]
pub enum ExportColumn {
    /// An attribute, by name; its header is the attribute's name.
    Attribute(String),
    /// A column the app computes.
    Custom(Arc<dyn CustomColumn>),
}

impl ExportColumn {
    /// An attribute column.
    pub fn attribute(name: impl Into<String>) -> ExportColumn {
        ExportColumn::Attribute(name.into())
    }

    /// A column the app computes.
    pub fn custom(column: impl CustomColumn + 'static) -> ExportColumn {
        ExportColumn::Custom(Arc::new(column))
    }

    /// A column the app computes, from a header and a function.
    ///
    /// ```
    /// use audience::export::{Cell, Export, ExportColumn};
    ///
    /// let export = Export::new().column(ExportColumn::from_fn("segment", |_store, id| {
    ///     Some(Cell::Text(if id % 2 == 0 { "even" } else { "odd" }.into()))
    /// }));
    /// # let _ = export;
    /// ```
    pub fn from_fn(
        header: impl Into<String>,
        f: impl Fn(&Store, CustomerId) -> Option<Cell> + Send + Sync + 'static,
    ) -> ExportColumn {
        ExportColumn::Custom(Arc::new(FnColumn {
            header: header.into(),
            f,
        }))
    }
}

impl fmt::Debug for ExportColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportColumn::Attribute(name) => f.debug_tuple("Attribute").field(name).finish(),
            ExportColumn::Custom(c) => f.debug_tuple("Custom").field(&c.header()).finish(),
        }
    }
}

/// Which columns an export has: `[id,] key, [tags,] values...`.
///
/// Defaults: no id column, the key column headed `phone`, all tags in a column headed
/// `tags`, no value columns. See the [module documentation](self) for the formats.
#[derive(Clone, Debug)]
pub struct Export {
    id_header: Option<String>,
    /// `None`: chosen from the keys written (see [`Export::key_header`]).
    key_header: Option<String>,
    tags_header: Option<String>,
    tag_dimensions: Vec<String>,
    columns: Vec<ExportColumn>,
}

impl Default for Export {
    fn default() -> Export {
        Export::new()
    }
}

/// One exported customer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExportRow {
    /// The customer id.
    pub id: CustomerId,
    /// The external key.
    pub key: CustomerKey,
    /// Tag names in tag id order (`dimension:name` where a name is in several dimensions);
    /// empty when the export has no tags column.
    pub tags: Vec<String>,
    /// One value per value column, in the export's order; `None` when missing.
    pub values: Vec<Option<Cell>>,
}

/// What [`Export::write_csv`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExportSummary {
    /// Rows written (the header not counted).
    pub rows: u64,
    /// Ids of the set that are not live customers, left out.
    pub not_live: u64,
    /// Tag names written that contain a tag separator (`,` `，` `、` `،`), which only a
    /// store loaded from an older snapshot can hold: an import splits them into several
    /// names. Rename them ([`Store::rename_tag`]) to round-trip through CSV.
    pub tags_with_separators: Vec<String>,
}

impl fmt::Display for ExportSummary {
    /// `1,204 rows written; 3 ids not live left out; 1 tag name with a separator (an import
    /// splits it): "growth, low frequency"`; the parts after the first only when not zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} written", counted(self.rows, "row", "rows"))?;
        if self.not_live > 0 {
            write!(
                f,
                "; {} not live left out",
                counted(self.not_live, "id", "ids")
            )?;
        }
        let n = self.tags_with_separators.len() as u64;
        if n > 0 {
            let names: Vec<String> = self.tags_with_separators.iter().map(|t| quote(t)).collect();
            write!(
                f,
                "; {} with a separator (an import splits {}): {}",
                counted(n, "tag name", "tag names"),
                if n == 1 { "it" } else { "them" },
                names.join(", ")
            )?;
        }
        Ok(())
    }
}

impl Export {
    /// The default columns: key (`phone`) and tags (`tags`).
    pub fn new() -> Export {
        Export {
            id_header: None,
            key_header: None,
            tags_header: Some("tags".to_string()),
            tag_dimensions: Vec::new(),
            columns: Vec::new(),
        }
    }

    /// Adds a first column with the customer id, headed `id`: the table that gives meaning
    /// to exported bitmaps.
    pub fn id_column(mut self) -> Export {
        self.id_header = Some("id".to_string());
        self
    }

    /// The key column's header. By default it follows the keys written: `phone` when
    /// they are all phone numbers (or there are none), `member_id` when they are all
    /// member ids (the names the importer looks for with `KeyKind::Phone` and
    /// `KeyKind::MemberId`), and `key` when the set mixes both.
    pub fn key_header(mut self, header: impl Into<String>) -> Export {
        self.key_header = Some(header.into());
        self
    }

    /// The key column's header for the customers of `set`.
    fn key_header_for(&self, store: &Store, set: &RoaringBitmap) -> String {
        if let Some(h) = &self.key_header {
            return h.clone();
        }
        let (mut phones, mut members) = (false, false);
        for id in set {
            match store.key(id) {
                Some(KeyRef::Phone(_)) => phones = true,
                Some(KeyRef::Member(_)) => members = true,
                None => {}
            }
            if phones && members {
                return "key".to_string();
            }
        }
        if members { "member_id" } else { "phone" }.to_string()
    }

    /// The tags column's header (`tags` by default).
    pub fn tags_header(mut self, header: impl Into<String>) -> Export {
        self.tags_header = Some(header.into());
        self
    }

    /// Leaves the tags column out.
    pub fn without_tags(mut self) -> Export {
        self.tags_header = None;
        self
    }

    /// Lists only the tags of this dimension (call again to add more dimensions).
    pub fn tag_dimension(mut self, dimension: impl Into<String>) -> Export {
        self.tag_dimensions.push(dimension.into());
        self
    }

    /// Adds an attribute column.
    pub fn attribute(self, name: impl Into<String>) -> Export {
        self.column(ExportColumn::attribute(name))
    }

    /// Adds a value column.
    pub fn column(mut self, column: ExportColumn) -> Export {
        self.columns.push(column);
        self
    }

    /// Adds the columns `rfm_r`, `rfm_f`, `rfm_m` and `rfm_segment` from `scores`; cells are
    /// empty for customers that were not scored.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use audience::export::Export;
    /// # use audience::{Context, Day, RfmConfig, Store};
    /// # let store = Store::new();
    /// # let scores = RfmConfig::default().score(&store, &Context::new(Day::EPOCH));
    /// # let Ok(scores) = scores else { return Ok(()) };
    ///
    /// let export = Export::new().with_rfm(Arc::new(scores));
    /// # let _ = export;
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn with_rfm(self, scores: Arc<RfmScores>) -> Export {
        let score = |pick: fn(crate::rfm::RfmScore) -> u8| {
            let scores = Arc::clone(&scores);
            move |_: &Store, id: CustomerId| {
                let s = scores.score_of(id)?;
                Some(Cell::Int(i64::from(pick(s))))
            }
        };
        let segments = Arc::clone(&scores);
        self.column(ExportColumn::from_fn("rfm_r", score(|s| s.r)))
            .column(ExportColumn::from_fn("rfm_f", score(|s| s.f)))
            .column(ExportColumn::from_fn("rfm_m", score(|s| s.m)))
            .column(ExportColumn::from_fn(
                "rfm_segment",
                move |_: &Store, id| Some(Cell::Text(segments.segment_of(id)?.to_string())),
            ))
    }

    /// The rows for the customers of `set`, in id order, as serde data. Errors when an
    /// attribute or dimension does not exist.
    pub fn rows<'s>(
        &'s self,
        store: &'s Store,
        set: &RoaringBitmap,
    ) -> Result<ExportRows<'s>, Error> {
        let prepared = Prepared::new(self, store, set)?;
        let mut chunks = prepared.chunks();
        chunks.reverse(); // taken from the back
        Ok(ExportRows {
            headers: prepared.value_headers(),
            chunks,
            current: None,
            prepared,
        })
    }

    /// Writes the rows for the customers of `set` as CSV (a header row, then one row per
    /// customer in id order, LF line ends) to `out`.
    pub fn write_csv(
        &self,
        store: &Store,
        set: &RoaringBitmap,
        out: impl Write,
    ) -> Result<ExportSummary, Error> {
        let prepared = Prepared::new(self, store, set)?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(out);
        let mut header: Vec<String> = Vec::new();
        header.extend(self.id_header.iter().cloned());
        header.push(self.key_header_for(store, set));
        header.extend(self.tags_header.iter().cloned());
        header.extend(prepared.value_headers());
        w.write_record(&header).map_err(csv_error)?;

        let mut record = csv::ByteRecord::new();
        let mut text = String::new();
        let mut rows = 0u64;
        for chunk in prepared.chunks() {
            let chunk = prepared.load(chunk);
            for i in 0..chunk.ids.len() {
                let Some(&id) = chunk.ids.get(i) else { break };
                let Some(key) = store.key(id) else { continue };
                record.clear();
                if self.id_header.is_some() {
                    text.clear();
                    push_display(&mut text, &id);
                    record.push_field(text.as_bytes());
                }
                text.clear();
                push_display(&mut text, &key);
                record.push_field(text.as_bytes());
                if self.tags_header.is_some() {
                    text.clear();
                    for (n, &t) in chunk.tags_of(i).iter().enumerate() {
                        if n > 0 {
                            text.push(',');
                        }
                        if let Some(tag) = prepared.tags.get(t as usize) {
                            text.push_str(&tag.label);
                        }
                    }
                    record.push_field(text.as_bytes());
                }
                for column in &prepared.columns {
                    text.clear();
                    if let Some(cell) = prepared.cell(column, id) {
                        push_display(&mut text, &cell);
                    }
                    record.push_field(text.as_bytes());
                }
                w.write_byte_record(&record).map_err(csv_error)?;
                rows += 1;
            }
        }
        w.flush()?;
        Ok(ExportSummary {
            rows,
            not_live: prepared.not_live,
            tags_with_separators: prepared
                .tags
                .iter()
                .filter(|t| t.used && t.label.contains(TAG_SEPARATORS))
                .map(|t| t.label.clone())
                .collect(),
        })
    }
}

fn push_display(out: &mut String, value: &impl fmt::Display) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(out, "{value}");
}

fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io.into(),
        other => Error::io("writing CSV", std::io::Error::other(format!("{other:?}"))),
    }
}

/// An exported tag: its id, members, and the name written for it.
struct ExportTag<'s> {
    members: &'s RoaringBitmap,
    label: String,
    /// Whether any exported customer carries it.
    used: bool,
}

/// A value column bound to the store.
enum Bound {
    Attribute(AttrId),
    Custom(Arc<dyn CustomColumn>),
}

/// An export bound to a store and a set.
struct Prepared<'s> {
    store: &'s Store,
    customers: RoaringBitmap,
    not_live: u64,
    tags: Vec<ExportTag<'s>>,
    columns: Vec<Bound>,
    headers: Vec<String>,
    with_tags: bool,
}

/// The customers of one 2^16-id block, with their tags.
struct Chunk {
    ids: Vec<CustomerId>,
    /// `tags[starts[i]..starts[i + 1]]` are the indices (into `Prepared::tags`) of customer
    /// `ids[i]`'s tags, ascending.
    starts: Vec<u32>,
    tags: Vec<u32>,
}

impl Chunk {
    fn tags_of(&self, i: usize) -> &[u32] {
        let (Some(&a), Some(&b)) = (self.starts.get(i), self.starts.get(i + 1)) else {
            return &[];
        };
        self.tags.get(a as usize..b as usize).unwrap_or_default()
    }
}

impl<'s> Prepared<'s> {
    fn new(export: &Export, store: &'s Store, set: &RoaringBitmap) -> Result<Prepared<'s>, Error> {
        let customers = set & store.customers();
        let not_live = set.len() - customers.len();
        let dims: Vec<String> = export.tag_dimensions.iter().map(|d| fold(d)).collect();
        for raw in &export.tag_dimensions {
            store.dimension(raw)?;
        }
        let mut tags = Vec::new();
        if export.tags_header.is_some() {
            let mut name_count: HashMap<String, usize> = HashMap::new();
            for t in store.tags() {
                *name_count.entry(fold(&t.name)).or_insert(0) += 1;
            }
            for t in store.tags() {
                if !dims.is_empty() && !dims.contains(&fold(&t.dimension)) {
                    continue;
                }
                let members = store.members(t.id)?;
                let label = if name_count.get(&fold(&t.name)).copied().unwrap_or(0) > 1 {
                    t.qualified_name()
                } else {
                    t.name.clone()
                };
                tags.push(ExportTag {
                    members,
                    used: !members.is_disjoint(&customers),
                    label,
                });
            }
        }
        let mut columns = Vec::new();
        let mut headers = Vec::new();
        for c in &export.columns {
            match c {
                ExportColumn::Attribute(name) => {
                    let id = store.attribute_id(name)?;
                    headers.push(store.attribute(id)?.name.clone());
                    columns.push(Bound::Attribute(id));
                }
                ExportColumn::Custom(c) => {
                    headers.push(c.header());
                    columns.push(Bound::Custom(Arc::clone(c)));
                }
            }
        }
        Ok(Prepared {
            store,
            customers,
            not_live,
            tags,
            columns,
            headers,
            with_tags: export.tags_header.is_some(),
        })
    }

    fn value_headers(&self) -> Vec<String> {
        self.headers.clone()
    }

    /// The 2^16-id blocks that hold customers, ascending.
    fn chunks(&self) -> Vec<u32> {
        let mut blocks: Vec<u32> = Vec::new();
        let mut from = 0u32;
        while let Some(id) = self.customers.range(from..).next() {
            let block = id >> 16;
            blocks.push(block);
            match block.checked_add(1).and_then(|b| b.checked_mul(1 << 16)) {
                Some(next) => from = next,
                None => break,
            }
        }
        blocks
    }

    /// One block's customers and their tags, gathered tag by tag (one intersection per
    /// tag and block instead of one membership test per tag and customer).
    fn load(&self, block: u32) -> Chunk {
        let lo = block << 16;
        let mut block = vec![0u32; 1 << 16];
        let ids: Vec<CustomerId> = block_ids(&self.customers, lo, &mut block).to_vec();
        let mut starts = vec![0u32; ids.len() + 1];
        let mut tags = Vec::new();
        if self.with_tags && !ids.is_empty() {
            let mut slot = vec![u32::MAX; 1 << 16];
            for (i, &id) in ids.iter().enumerate() {
                if let Some(s) = slot.get_mut((id - lo) as usize) {
                    *s = i as u32;
                }
            }
            let parts: Vec<Vec<u32>> = self
                .tags
                .iter()
                .map(|t| {
                    block_ids(t.members, lo, &mut block)
                        .iter()
                        .filter_map(|&id| {
                            slot.get((id - lo) as usize)
                                .copied()
                                .filter(|&p| p != u32::MAX)
                        })
                        .collect()
                })
                .collect();
            for part in &parts {
                for &p in part {
                    if let Some(c) = starts.get_mut(p as usize + 1) {
                        *c += 1;
                    }
                }
            }
            for i in 1..starts.len() {
                let prev = starts.get(i - 1).copied().unwrap_or(0);
                if let Some(c) = starts.get_mut(i) {
                    *c += prev;
                }
            }
            tags = vec![0u32; starts.last().copied().unwrap_or(0) as usize];
            let mut fill: Vec<u32> = starts.clone();
            for (t, part) in parts.iter().enumerate() {
                for &p in part {
                    if let Some(at) = fill.get_mut(p as usize) {
                        if let Some(x) = tags.get_mut(*at as usize) {
                            *x = t as u32;
                        }
                        *at += 1;
                    }
                }
            }
        }
        Chunk { ids, starts, tags }
    }

    fn cell(&self, column: &Bound, id: CustomerId) -> Option<Cell> {
        match column {
            Bound::Attribute(attr) => self.store.value(id, *attr).ok().flatten().map(Cell::from),
            Bound::Custom(c) => c.cell(self.store, id),
        }
    }
}

/// The ids of `bits` in the 65,536-id block that starts at `lo`, read a container at a time
/// into `buf` (65,536 slots) rather than one iterator step per id.
fn block_ids<'b>(bits: &RoaringBitmap, lo: u32, buf: &'b mut [u32]) -> &'b [u32] {
    let mut iter = bits.range(lo..=lo | 0xFFFF);
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..) {
        let got = iter.next_many(rest).len();
        if got == 0 {
            break;
        }
        n += got;
    }
    buf.get(..n).unwrap_or_default()
}

/// The rows of an export, in id order. Tags are gathered a block of 65,536 ids at a time,
/// so memory stays bounded for any set.
pub struct ExportRows<'s> {
    prepared: Prepared<'s>,
    headers: Vec<String>,
    /// Blocks still to load, the next one last.
    chunks: Vec<u32>,
    current: Option<(Chunk, usize)>,
}

impl ExportRows<'_> {
    /// The headers of the value columns, in order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Ids of the set that are not live customers, left out.
    pub fn not_live(&self) -> u64 {
        self.prepared.not_live
    }
}

impl Iterator for ExportRows<'_> {
    type Item = ExportRow;

    fn next(&mut self) -> Option<ExportRow> {
        loop {
            if let Some((chunk, i)) = &mut self.current {
                while let Some(&id) = chunk.ids.get(*i) {
                    let at = *i;
                    *i += 1;
                    let Some(key) = self.prepared.store.key(id) else {
                        continue;
                    };
                    let tags = chunk
                        .tags_of(at)
                        .iter()
                        .filter_map(|&t| self.prepared.tags.get(t as usize))
                        .map(|t| t.label.clone())
                        .collect();
                    let values = self
                        .prepared
                        .columns
                        .iter()
                        .map(|c| self.prepared.cell(c, id))
                        .collect();
                    return Some(ExportRow {
                        id,
                        key: key.to_owned(),
                        tags,
                        values,
                    });
                }
                self.current = None;
            }
            let block = self.chunks.pop()?;
            self.current = Some((self.prepared.load(block), 0));
        }
    }
}

impl fmt::Debug for ExportRows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportRows")
            .field("headers", &self.headers)
            .field("blocks_left", &self.chunks.len())
            .finish()
    }
}

// -----------------------------------------------------------------------------------------
// Ad platforms
// -----------------------------------------------------------------------------------------

/// An ad platform's custom-audience format for phone numbers.
///
/// Both hash the number in E.164 form with SHA-256 and want lowercase hex; they differ in
/// the text hashed:
///
/// | platform | text hashed for `+852 9123 4567` |
/// |---|---|
/// | [`AdPlatform::Meta`] | `85291234567` (digits with country code, no `+`, as Meta's custom audiences ask) |
/// | [`AdPlatform::Google`] | `+85291234567` (E.164 with `+`, as Google Ads Customer Match asks) |
///
/// ```
/// use audience::export::AdPlatform;
///
/// assert_eq!(AdPlatform::Meta.normalized(85291234567), "85291234567");
/// assert_eq!(AdPlatform::Google.normalized(85291234567), "+85291234567");
/// assert_eq!(
///     AdPlatform::Meta.hash(85291234567),
///     "01ee1402a8904af401329a98637b36f2db76d3b16f9d943a5d14a66806ab7f99"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum AdPlatform {
    /// Meta (Facebook, Instagram, WhatsApp) custom audiences: digits with country code.
    Meta,
    /// Google Ads Customer Match: E.164 with `+`.
    Google,
}

impl AdPlatform {
    /// The text hashed for a phone key (E.164 digits as a number).
    pub fn normalized(self, e164_digits: u64) -> String {
        match self {
            AdPlatform::Meta => e164_digits.to_string(),
            AdPlatform::Google => format!("+{e164_digits}"),
        }
    }

    /// SHA-256 of [`AdPlatform::normalized`], 64 lowercase hex digits.
    pub fn hash(self, e164_digits: u64) -> String {
        let digest = Sha256::digest(self.normalized(e164_digits).as_bytes());
        let mut out = String::with_capacity(64);
        for b in digest.iter() {
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0xF));
        }
        out
    }
}

/// A lowercase hex digit for `0..16`.
fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

/// What [`write_hashed_phones`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HashedSummary {
    /// Hashes written.
    pub written: u64,
    /// Customers of the set keyed by a member id, not a phone number: left out.
    pub without_phone: u64,
    /// Ids of the set that are not live customers: left out.
    pub not_live: u64,
}

impl fmt::Display for HashedSummary {
    /// `2 hashes written; left out: 1 customer keyed by a member id, 3 ids not live`; the
    /// left-out part only when something was.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} written", counted(self.written, "hash", "hashes"))?;
        let mut out = Vec::new();
        if self.without_phone > 0 {
            out.push(format!(
                "{} keyed by a member id",
                counted(self.without_phone, "customer", "customers")
            ));
        }
        if self.not_live > 0 {
            out.push(format!("{} not live", counted(self.not_live, "id", "ids")));
        }
        if !out.is_empty() {
            write!(f, "; left out: {}", out.join(", "))?;
        }
        Ok(())
    }
}

/// Writes the hashed phone number of every customer of `set` (in id order) for `platform`:
/// 64 lowercase hex digits and LF per customer, no header. Customers keyed by member ids
/// are skipped and counted.
///
/// Phone keys are E.164 digits by the store's contract; they are hashed as they are, not
/// validated again.
///
/// ```
/// use audience::export::{AdPlatform, write_hashed_phones};
/// use audience::{CustomerKey, Store};
///
/// let mut store = Store::new();
/// store.add_customer(CustomerKey::phone("85291234567")?)?;
/// store.add_customer(CustomerKey::member("M-1")?)?;
/// let mut out = Vec::new();
/// let summary = write_hashed_phones(&store, store.customers(), AdPlatform::Google, &mut out)?;
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "e74628e5fabcff998369c817f6a7187913b81cd95dfd6af65e388288d8f58992\n"
/// );
/// assert_eq!((summary.written, summary.without_phone), (1, 1));
/// # Ok::<(), audience::Error>(())
/// ```
pub fn write_hashed_phones(
    store: &Store,
    set: &RoaringBitmap,
    platform: AdPlatform,
    mut out: impl Write,
) -> Result<HashedSummary, Error> {
    let customers = set & store.customers();
    let mut summary = HashedSummary {
        not_live: set.len() - customers.len(),
        ..HashedSummary::default()
    };
    let mut buf = Vec::with_capacity(65 * 1024);
    for id in &customers {
        match store.key(id) {
            Some(KeyRef::Phone(p)) => {
                buf.extend_from_slice(platform.hash(p).as_bytes());
                buf.push(b'\n');
                summary.written += 1;
                if buf.len() >= 64 * 1024 {
                    out.write_all(&buf)?;
                    buf.clear();
                }
            }
            Some(KeyRef::Member(_)) => summary.without_phone += 1,
            None => summary.not_live += 1,
        }
    }
    out.write_all(&buf)?;
    out.flush()?;
    Ok(summary)
}

// -----------------------------------------------------------------------------------------
// Bitmaps
// -----------------------------------------------------------------------------------------

/// A serialisation of a set of customer ids for another system.
///
/// Every format first run-optimises a copy of the bitmap (runs where they are smaller, as
/// CRoaring's `runOptimize` and so ClickHouse and Doris do before storing), then writes:
///
/// * [`BitmapFormat::Portable`]: the portable Roaring format of the
///   [RoaringFormatSpec](https://github.com/RoaringBitmap/RoaringFormatSpec), which CRoaring,
///   Java's RoaringBitmap, Go's roaring and roaring-rs read.
/// * [`BitmapFormat::ClickHouse`]: the state of `AggregateFunction(groupBitmap, UInt32)`,
///   as `RoaringBitmapWithSmallSet<UInt32, 32>::write` in ClickHouse's
///   `AggregateFunctionGroupBitmapData.h` writes it: for at most 32 ids, a kind byte `0`,
///   the count as an unsigned LEB128 varint, and the ids as little-endian `u32`s (ascending
///   here; ClickHouse keeps insertion order and reads any); for more, a kind byte `1`, the
///   byte length of the portable bitmap as LEB128, and the portable bitmap. Unchanged
///   since ClickHouse introduced `groupBitmap` (19.x) through the current sources.
/// * [`BitmapFormat::Doris`]: Apache Doris's and StarRocks's `BITMAP` serialisation
///   (`BitmapValue::write` in Doris's `be/src/util/bitmap_value.h` and StarRocks's
///   `be/src/types/bitmap_value.cpp`): a type byte, `0` (EMPTY) alone for no ids, `1`
///   (SINGLE32) and the id as a little-endian `u32` for one, `2` (BITMAP32) and the
///   portable bitmap for more. These three codes are the ones Doris 0.11 introduced;
///   every later Doris (the newer SET, SET_V2, BITMAP32_V2 codes are written only by Doris
///   itself, and differ between Doris and StarRocks) and every StarRocks version read
///   them. 64-bit codes are never needed: customer ids are `u32`.
///
/// ```
/// use audience::RoaringBitmap;
/// use audience::export::{BitmapFormat, base64};
///
/// let ids: RoaringBitmap = [1, 9_999_999].into_iter().collect();
/// // The example of Doris's `bitmap_from_base64` documentation:
/// assert_eq!(
///     base64(&BitmapFormat::Doris.encode(&ids)),
///     "AjowAAACAAAAAAAAAJgAAAAYAAAAGgAAAAEAf5Y="
/// );
/// assert_eq!(BitmapFormat::ClickHouse.encode(&ids), [0, 2, 1, 0, 0, 0, 0x7f, 0x96, 0x98, 0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum BitmapFormat {
    /// The portable Roaring format.
    Portable,
    /// ClickHouse `AggregateFunction(groupBitmap, UInt32)` state.
    ClickHouse,
    /// Apache Doris and StarRocks `BITMAP`.
    Doris,
}

/// The most ids ClickHouse keeps in a `groupBitmap` small set.
const CLICKHOUSE_SMALL: u64 = 32;

impl BitmapFormat {
    /// The bytes of `bitmap` in this format.
    pub fn encode(self, bitmap: &RoaringBitmap) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            BitmapFormat::Portable => out = portable(bitmap),
            BitmapFormat::ClickHouse if bitmap.len() <= CLICKHOUSE_SMALL => {
                out.push(0);
                leb128(&mut out, bitmap.len());
                for id in bitmap {
                    out.extend_from_slice(&id.to_le_bytes());
                }
            }
            BitmapFormat::ClickHouse => {
                let body = portable(bitmap);
                out.reserve(body.len() + 6);
                out.push(1);
                leb128(&mut out, body.len() as u64);
                out.extend_from_slice(&body);
            }
            BitmapFormat::Doris => match (bitmap.len(), bitmap.min()) {
                (0, _) => out.push(0),
                (1, Some(id)) => {
                    out.push(1);
                    out.extend_from_slice(&id.to_le_bytes());
                }
                _ => {
                    let body = portable(bitmap);
                    out.reserve(body.len() + 1);
                    out.push(2);
                    out.extend_from_slice(&body);
                }
            },
        }
        out
    }

    /// Writes [`BitmapFormat::encode`]'s bytes to `out`; returns how many.
    pub fn write(self, bitmap: &RoaringBitmap, mut out: impl Write) -> Result<u64, Error> {
        let bytes = self.encode(bitmap);
        out.write_all(&bytes)?;
        Ok(bytes.len() as u64)
    }
}

/// The portable Roaring bytes of a run-optimised copy of `bitmap`.
fn portable(bitmap: &RoaringBitmap) -> Vec<u8> {
    let mut b = bitmap.clone();
    b.optimize();
    let mut out = Vec::with_capacity(b.serialized_size());
    // Writing to a Vec cannot fail.
    match b.serialize_into(&mut out) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// Appends `v` as an unsigned LEB128 varint (ClickHouse's `writeVarUInt`).
fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Standard base64 (RFC 4648, `+` and `/`, `=` padding), as ClickHouse's `base64Decode`,
/// Doris's `bitmap_from_base64` and StarRocks's `base64_to_bitmap` read it.
///
/// ```
/// assert_eq!(audience::export::base64(b"\x01\x01\x00\x00\x00"), "AQEAAAA=");
/// ```
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET.get((i & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let (a, b, c) = match *chunk {
            [a, b, c] => (a, Some(b), Some(c)),
            [a, b] => (a, Some(b), None),
            [a] => (a, None, None),
            _ => break,
        };
        let n = u32::from(a) << 16 | u32::from(b.unwrap_or(0)) << 8 | u32::from(c.unwrap_or(0));
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if b.is_some() { sym(n >> 6) } else { '=' });
        out.push(if c.is_some() { sym(n) } else { '=' });
    }
    out
}

/// Writes every live tag's members as CSV: a header `tag,dimension,members,bitmap` and one
/// row per tag in id order, the bitmap in `format`, base64-encoded. Returns the rows
/// written. Pair it with an [`Export`] with [`Export::id_column`] (`id,phone`) so the ids
/// mean something elsewhere; the README shows the SQL that loads both into ClickHouse,
/// Doris and StarRocks.
pub fn write_tag_bitmaps(
    store: &Store,
    format: BitmapFormat,
    out: impl Write,
) -> Result<u64, Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    w.write_record(["tag", "dimension", "members", "bitmap"])
        .map_err(csv_error)?;
    let mut rows = 0;
    let ids: Vec<TagId> = store.tags().map(|t| t.id).collect();
    for id in ids {
        let info = store.tag(id)?;
        let members = store.members(id)?;
        let encoded = base64(&format.encode(members));
        w.write_record([
            info.name.as_str(),
            info.dimension.as_str(),
            &members.len().to_string(),
            &encoded,
        ])
        .map_err(csv_error)?;
        rows += 1;
    }
    w.flush()?;
    Ok(rows)
}
