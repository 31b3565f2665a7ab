//! The engine's tables: their DDL and their rows, in ClickHouse's
//! `RowBinaryWithNamesAndTypes` format.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use std::io::Write;

use roaring::RoaringBitmap;

use crate::base::fold::MAX_NAME_CHARS;
use crate::base::text::counted;
use crate::day::Day;
use crate::decimal::{Decimal, units_text};
use crate::error::{Error, ErrorKind};
use crate::io::export::BitmapFormat;
use crate::store::Store;
use crate::store::attribute::{AttrId, AttrKind, Value};

use super::sql::ident;
use super::{CLICKHOUSE, DATE32_MAX, DATE32_MIN};

/// The most shards [`Tables::shards`] accepts.
pub const MAX_SHARDS: u32 = 4_096;

/// Where the store's data lives in ClickHouse and how it is spread: the names of the tags
/// table and the customers table (optionally in a database) and the number of shards.
///
/// Defaults: tables `audience_tags` and `audience_customers` in the session's database, one
/// shard. The settings are checked where they are made: an empty or over-long name, or a
/// shard count of 0 or above [`MAX_SHARDS`], is [`ErrorKind::InvalidSetting`] naming the
/// setter. Names may hold any characters: the SQL quotes them.
///
/// ```
/// use audience::engine::Tables;
///
/// let tables = Tables::new().database("shop")?.shards(4)?;
/// assert_eq!(tables.tags_table(), "shop.audience_tags");
/// let err = Tables::new().shards(0).unwrap_err();
/// assert_eq!(err.to_string(), "invalid setting Tables::shards: must be 1 to 4096, got 0");
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    database: Option<String>,
    tags: String,
    customers: String,
    shards: u32,
    rfm: Option<(String, String)>,
}

impl Default for Tables {
    fn default() -> Tables {
        Tables::new()
    }
}

fn check_name(setting: &'static str, name: &str) -> Result<String, Error> {
    let reason = if name.is_empty() {
        "a name must not be empty".to_string()
    } else if name.chars().count() > MAX_NAME_CHARS {
        format!("a name has at most {MAX_NAME_CHARS} characters")
    } else if name.contains('\0') {
        "a name must not contain NUL".to_string()
    } else {
        return Ok(name.to_string());
    };
    Err(ErrorKind::InvalidSetting { setting, reason }.into())
}

impl Tables {
    /// The default tables: `audience_tags` and `audience_customers`, one shard.
    pub fn new() -> Tables {
        Tables {
            database: None,
            tags: "audience_tags".into(),
            customers: "audience_customers".into(),
            shards: 1,
            rfm: None,
        }
    }

    /// Puts both tables in the database `name`.
    pub fn database(mut self, name: &str) -> Result<Tables, Error> {
        self.database = Some(check_name("Tables::database", name)?);
        Ok(self)
    }

    /// The tags table's name (`audience_tags` by default).
    pub fn tags(mut self, name: &str) -> Result<Tables, Error> {
        self.tags = check_name("Tables::tags", name)?;
        Ok(self)
    }

    /// The customers table's name (`audience_customers` by default).
    pub fn customers(mut self, name: &str) -> Result<Tables, Error> {
        self.customers = check_name("Tables::customers", name)?;
        Ok(self)
    }

    /// Spreads every tag over `shards` rows: the members of shard `s` are the ids of the
    /// 65,536-id blocks `b` with `b % shards == s` (`intDiv(id, 65536) % shards` in SQL,
    /// the sharding key to give the `Distributed` tables). One shard (the default) writes
    /// one row per tag and assignment day. The SQL is the same for every layout: it merges
    /// a tag's rows with `groupBitmapMergeState`.
    pub fn shards(mut self, shards: u32) -> Result<Tables, Error> {
        if !(1..=MAX_SHARDS).contains(&shards) {
            return Err(ErrorKind::InvalidSetting {
                setting: "Tables::shards",
                reason: format!("must be 1 to {MAX_SHARDS}, got {shards}"),
            }
            .into());
        }
        self.shards = shards;
        Ok(self)
    }

    /// Where the `rfm.*` terms of a query are found as tags: `scores` is the dimension the
    /// score groups were written to (`R1`..`Rn`, `F1`.., `M1`..: the three
    /// [`RfmScores::score_assignment`](crate::RfmScores::score_assignment)s, written with
    /// [`Assignment::write`](crate::Assignment::write) and the scores' scope), `segments`
    /// the dimension of the segment groups
    /// ([`RfmScores::segment_assignment`](crate::RfmScores::segment_assignment)). With it,
    /// [`translate`](super::translate) turns `rfm.r >= 4` into the union of `R4` and `R5`,
    /// `rfm.segment = "At risk"` into that tag, and "scored" into the union of the `R`
    /// tags; the context must still hold the scores, which check the terms as the crate
    /// does. Without it `rfm.*` terms are [`ErrorKind::Untranslatable`].
    pub fn rfm_tags(mut self, scores: &str, segments: &str) -> Result<Tables, Error> {
        let scores = check_name("Tables::rfm_tags", scores)?;
        let segments = check_name("Tables::rfm_tags", segments)?;
        self.rfm = Some((scores, segments));
        Ok(self)
    }

    /// The dimensions of [`Tables::rfm_tags`]: (scores, segments).
    pub fn rfm_dimensions(&self) -> Option<(&str, &str)> {
        self.rfm.as_ref().map(|(a, b)| (a.as_str(), b.as_str()))
    }

    /// The number of shards.
    pub fn shard_count(&self) -> u32 {
        self.shards
    }

    fn qualified(&self, table: &str) -> String {
        match &self.database {
            Some(db) => format!("{}.{}", ident(db), ident(table)),
            None => ident(table),
        }
    }

    /// The tags table as SQL names it (`db.table`, quoted where needed).
    pub fn tags_table(&self) -> String {
        self.qualified(&self.tags)
    }

    /// The customers table as SQL names it.
    pub fn customers_table(&self) -> String {
        self.qualified(&self.customers)
    }

    /// The `CREATE TABLE` statements for the two tables, one per line group, each ending
    /// in `;`. The customers table has a column per attribute of the store (`Nullable(Int64)`
    /// for numbers, `Nullable(Date32)` for days, `Nullable(Decimal(18, S))` for decimals of
    /// `S` places, `NULL` for no value); its `id` and `key`
    /// columns may not share a name with an attribute
    /// ([`ErrorKind::Untranslatable`] otherwise).
    ///
    /// ```
    /// use audience::engine::Tables;
    /// use audience::{AttrKind, Store};
    ///
    /// let mut store = Store::new();
    /// store.define_attribute("last_purchase", AttrKind::Day)?;
    /// assert_eq!(
    ///     Tables::new().ddl(&store)?,
    ///     "CREATE TABLE audience_tags (
    ///     dimension String,
    ///     tag String,
    ///     shard UInt32,
    ///     assigned Date32,
    ///     members UInt64,
    ///     bitmap AggregateFunction(groupBitmap, UInt32)
    /// ) ENGINE = MergeTree ORDER BY (dimension, tag, shard, assigned);
    /// CREATE TABLE audience_customers (
    ///     id UInt32,
    ///     `key` String,
    ///     last_purchase Nullable(Date32)
    /// ) ENGINE = MergeTree ORDER BY id;
    /// "
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn ddl(&self, store: &Store) -> Result<String, Error> {
        let mut out = format!("CREATE TABLE {} (\n", self.tags_table());
        let cols: Vec<String> = TAG_COLUMNS
            .iter()
            .map(|(n, t)| format!("    {n} {t}"))
            .collect();
        out.push_str(&cols.join(",\n"));
        out.push_str("\n) ENGINE = MergeTree ORDER BY (dimension, tag, shard, assigned);\n");
        out.push_str(&format!("CREATE TABLE {} (\n", self.customers_table()));
        let cols: Vec<String> = customer_columns(store)?
            .iter()
            .map(|(n, t)| format!("    {} {t}", ident(n)))
            .collect();
        out.push_str(&cols.join(",\n"));
        out.push_str("\n) ENGINE = MergeTree ORDER BY id;\n");
        Ok(out)
    }

    /// Writes the tags table's rows in `RowBinaryWithNamesAndTypes` (ClickHouse reads it
    /// with `INSERT INTO audience_tags FORMAT RowBinaryWithNamesAndTypes` or from
    /// `file(path, RowBinaryWithNamesAndTypes)`): for every tag, one row per assignment day
    /// and shard holding members (a tag without members has one row, shard 0, with an empty
    /// bitmap and its creation day), the bitmap as a `groupBitmap` state. Returns the rows
    /// written. Assignment days must lie within `Date32` (1900-01-01 to 2299-12-31): they
    /// are all checked before the first byte is written.
    pub fn write_tags(&self, store: &Store, mut out: impl Write) -> Result<u64, Error> {
        for t in store.tags() {
            let days = store.assignment_days(t.id)?;
            for (day, _) in &days {
                check_day(*day, || {
                    format!("members of tag {} assigned on {day}", t.qualified_name())
                })?;
            }
            if days.is_empty() {
                check_day(t.created, || {
                    format!("tag {} created on {}", t.qualified_name(), t.created)
                })?;
            }
        }
        let mut buf = Vec::with_capacity(1 << 16);
        header(
            &mut buf,
            &TAG_COLUMNS.map(|(n, t)| (n.to_string(), t.to_string())),
        );
        let mut rows = 0u64;
        let ids: Vec<_> = store.tags().map(|t| t.id).collect();
        for id in ids {
            let info = store.tag(id)?;
            let days = store.assignment_days(id)?;
            let mut pieces: Vec<(Day, RoaringBitmap)> = Vec::with_capacity(days.len());
            // Newest first: the members of day d are those assigned since d, less those
            // assigned since the next day.
            let mut later = RoaringBitmap::new();
            for (day, _) in days.iter().rev() {
                let since = store.assigned_since(id, *day)?;
                let piece = &since - &later;
                later = since;
                pieces.push((*day, piece));
            }
            pieces.reverse();
            if pieces.is_empty() {
                pieces.push((info.created, RoaringBitmap::new()));
            }
            for (day, piece) in pieces {
                for (shard, part) in self.split(piece) {
                    put_str(&mut buf, &info.dimension);
                    put_str(&mut buf, &info.name);
                    buf.extend_from_slice(&shard.to_le_bytes());
                    buf.extend_from_slice(&day.0.to_le_bytes());
                    buf.extend_from_slice(&part.len().to_le_bytes());
                    buf.extend_from_slice(&BitmapFormat::ClickHouse.encode(&part));
                    rows += 1;
                    if buf.len() >= 1 << 16 {
                        out.write_all(&buf)?;
                        buf.clear();
                    }
                }
            }
        }
        out.write_all(&buf)?;
        out.flush()?;
        Ok(rows)
    }

    /// The non-empty parts of `set` per shard (all of it, as shard 0, when there is one
    /// shard or the set is empty).
    fn split(&self, set: RoaringBitmap) -> Vec<(u32, RoaringBitmap)> {
        if self.shards == 1 || set.is_empty() {
            return vec![(0, set)];
        }
        let mut parts: Vec<Vec<u32>> = vec![Vec::new(); self.shards as usize];
        for id in &set {
            if let Some(p) = parts.get_mut(((id >> 16) % self.shards) as usize) {
                p.push(id);
            }
        }
        parts
            .into_iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(|(s, p)| (s as u32, p.into_iter().collect()))
            .collect()
    }

    /// Writes the customers table's rows in `RowBinaryWithNamesAndTypes`: every live
    /// customer in id order, its key (phone digits or member id) and its attribute values
    /// (`NULL` where it has none). Returns the rows written. Day values must lie within
    /// `Date32` (1900-01-01 to 2299-12-31) and decimals within `Decimal(18, S)` (fewer than
    /// 10^18 units); they are checked before the first byte is written.
    pub fn write_customers(&self, store: &Store, mut out: impl Write) -> Result<u64, Error> {
        let columns = customer_columns(store)?;
        let attrs: Vec<_> = store
            .attributes()
            .map(|a| (a.id, a.kind, a.name.clone()))
            .collect();
        for (attr, kind, name) in &attrs {
            if let AttrKind::Decimal { scale } = *kind {
                check_decimal64(store, *attr, scale, name)?;
                continue;
            }
            if *kind != AttrKind::Day {
                continue;
            }
            let with = store.with_value(*attr)?.len();
            let inside = store
                .range(
                    *attr,
                    Value::Day(Day(DATE32_MIN)),
                    Value::Day(Day(DATE32_MAX)),
                )?
                .len();
            if with != inside {
                return Err(ErrorKind::Untranslatable {
                    engine: CLICKHOUSE,
                    term: name.clone(),
                    reason: format!(
                        "it holds {} outside ClickHouse's Date32 (1900-01-01 to 2299-12-31)",
                        match with - inside {
                            1 => "1 day".to_string(),
                            n => format!("{n} days"),
                        }
                    ),
                }
                .into());
            }
        }
        let mut buf = Vec::with_capacity(1 << 16);
        header(&mut buf, &columns);
        let mut rows = 0u64;
        let mut key = String::new();
        for (id, k) in store.keys() {
            buf.extend_from_slice(&id.to_le_bytes());
            key.clear();
            {
                use std::fmt::Write as _;
                let _ = write!(key, "{k}");
            }
            put_str(&mut buf, &key);
            for (attr, _, _) in &attrs {
                match store.value(id, *attr)? {
                    None => buf.push(1),
                    Some(Value::Int(v)) => {
                        buf.push(0);
                        buf.extend_from_slice(&v.to_le_bytes());
                    }
                    Some(Value::Day(d)) => {
                        buf.push(0);
                        buf.extend_from_slice(&d.0.to_le_bytes());
                    }
                    // Decimal64(S) is its units as an Int64.
                    Some(Value::Decimal(d)) => {
                        buf.push(0);
                        buf.extend_from_slice(&d.units().to_le_bytes());
                    }
                }
            }
            rows += 1;
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        out.write_all(&buf)?;
        out.flush()?;
        Ok(rows)
    }
}

/// The tags table's columns and types.
const TAG_COLUMNS: [(&str, &str); 6] = [
    ("dimension", "String"),
    ("tag", "String"),
    ("shard", "UInt32"),
    ("assigned", "Date32"),
    ("members", "UInt64"),
    ("bitmap", "AggregateFunction(groupBitmap, UInt32)"),
];

/// The customers table's columns and types: `id`, `key`, then one per attribute.
fn customer_columns(store: &Store) -> Result<Vec<(String, String)>, Error> {
    let mut cols = vec![
        ("id".to_string(), "UInt32".to_string()),
        ("key".to_string(), "String".to_string()),
    ];
    for a in store.attributes() {
        if a.name == "id" || a.name == "key" {
            return Err(ErrorKind::Untranslatable {
                engine: CLICKHOUSE,
                term: a.name.clone(),
                reason: "the customers table's id and key columns have these names; rename the attribute".into(),
            }
            .into());
        }
        let ty = match a.kind {
            AttrKind::Int => "Nullable(Int64)",
            AttrKind::Day => "Nullable(Date32)",
            AttrKind::Decimal { scale } => &format!("Nullable(Decimal(18, {scale}))"),
        };
        cols.push((a.name.clone(), ty.to_string()));
    }
    Ok(cols)
}

/// Whether every value of a decimal attribute fits ClickHouse's `Decimal(18, S)` (a
/// `Decimal64`: fewer units than 10^18), which an `i64` of units can pass.
fn check_decimal64(store: &Store, attr: AttrId, scale: u8, name: &str) -> Result<(), Error> {
    let with = store.with_value(attr)?.len();
    let (lo, hi) = (-DECIMAL64_UNITS, DECIMAL64_UNITS);
    let inside = store
        .range(
            attr,
            Value::Decimal(Decimal::from_parts(lo, scale)),
            Value::Decimal(Decimal::from_parts(hi, scale)),
        )?
        .len();
    if with == inside {
        return Ok(());
    }
    Err(ErrorKind::Untranslatable {
        engine: CLICKHOUSE,
        term: name.to_string(),
        reason: format!(
            "it holds {} beyond ClickHouse's Decimal(18, {scale}) (18 digits: at most {})",
            counted(with - inside, "value", "values"),
            units_text(i128::from(hi), scale, true)
        ),
    }
    .into())
}

/// The largest number of units a `Decimal64` holds: 18 nines.
pub(super) const DECIMAL64_UNITS: i64 = 999_999_999_999_999_999;

fn check_day(day: Day, what: impl FnOnce() -> String) -> Result<(), Error> {
    if (DATE32_MIN..=DATE32_MAX).contains(&day.0) {
        return Ok(());
    }
    Err(ErrorKind::Untranslatable {
        engine: CLICKHOUSE,
        term: what(),
        reason: "ClickHouse's Date32 holds 1900-01-01 to 2299-12-31".into(),
    }
    .into())
}

/// The `RowBinaryWithNamesAndTypes` header: the column count, the names, the types.
fn header(buf: &mut Vec<u8>, columns: &[(String, String)]) {
    leb128(buf, columns.len() as u64);
    for (n, _) in columns {
        put_str(buf, n);
    }
    for (_, t) in columns {
        put_str(buf, t);
    }
}

/// Appends `v` as an unsigned LEB128 varint.
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

/// Appends a RowBinary `String`: its byte length as LEB128, then its bytes.
fn put_str(out: &mut Vec<u8>, s: &str) {
    leb128(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}
