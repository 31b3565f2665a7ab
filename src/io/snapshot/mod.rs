//! Snapshots: the whole store in a versioned, checksummed binary format.
//!
//! [`Store::write_snapshot`] writes the directory, the taxonomy (tags, dimensions and
//! colours, the change log), every tag's members with their assignment days and every
//! attribute to an `impl Write`; [`Store::read_snapshot`] reads them back from an
//! `impl Read`. [`Store::write_snapshot_with`] and [`Store::read_snapshot_with`] carry the
//! app's state outside the store along: rule sets, campaign send logs, RFM configurations
//! and tier definitions ([`Extras`]). The format is specified in `SNAPSHOT.md` at the root
//! of the repository, precisely enough for another program to read it. In short: a magic
//! number and a format version, then sections, each with a kind, a length and a CRC-32,
//! integers little-endian, bitmaps in the portable Roaring format.
//!
//! Loading trusts nothing. Every length is checked against the bytes actually present
//! before anything is allocated for it (a section's bytes are read in growing chunks, never
//! allocated from its declared length), every section's checksum is verified, and every
//! cross-reference is checked (a member that is not a live customer, a membership of a tag
//! that does not exist, overlapping assignment days, a value out of its attribute's
//! range...). Any problem is an [`ErrorKind::Snapshot`] naming
//! the section; the store is assembled only after everything was read and checked, so a
//! failed load leaves nothing behind.
//!
//! ```
//! use audience::{CustomerKey, Day, Edit, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 1, 6)?;
//! let mut store = Store::new();
//! let vip = store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
//! let c = store.add_customer(CustomerKey::phone("85291234567")?)?;
//! store.add_tag(c, vip, today)?;
//!
//! let mut bytes = Vec::new();
//! let written = store.write_snapshot(&mut bytes)?;
//! assert_eq!(written, bytes.len() as u64);
//!
//! let loaded = Store::read_snapshot(&bytes[..])?;
//! assert_eq!(loaded.members(vip)?, store.members(vip)?);
//! assert_eq!(loaded.assigned_day(c, vip)?, Some(today));
//!
//! bytes[40] ^= 1;
//! assert!(Store::read_snapshot(&bytes[..]).is_err());
//! # Ok::<(), audience::Error>(())
//! ```

// Parses untrusted bytes: no construct that can panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::base::bits::transpose64;
use crate::base::fold::fold;
use crate::day::Day;
use crate::error::{Error, ErrorKind, quote};
use crate::store::attribute::{AttrId, AttrInfo, AttrKind, AttrSlot, Column, words_to_bitmap};
use crate::store::directory::{CustomerKey, Directory, KeyRef};
use crate::store::membership::TagMembers;
use crate::store::policy::{Policy, TaxonomyAction};
use crate::store::taxonomy::{Change, DimensionInfo, LogEntry, TagId, TagInfo, TagKind, Taxonomy};
use crate::store::{MAX_ATTRIBUTES, Store, check_attr_name};

mod extras;

pub use crate::error::{Section, SnapshotError, SnapshotProblem};
pub use extras::Extras;

/// The first eight bytes of every snapshot (as PNG's: a byte with the high bit set, the
/// name, CR LF, DOS end-of-file, LF, so that text-mode transfers are detected).
pub const MAGIC: [u8; 8] = [0x89, b'A', b'U', b'D', b'\r', b'\n', 0x1A, b'\n'];

/// The format version this crate writes, and the newest it reads. Every older version is
/// read by every later crate version.
pub const FORMAT_VERSION: u32 = 1;

/// The largest section accepted, in bytes (4 GiB). A section declaring more is refused
/// before anything is read; a store whose section would exceed it cannot be written.
pub const MAX_SECTION_BYTES: u64 = 1 << 32;

/// Set in a section kind whose section a reader that does not know it may skip; a reader
/// must refuse a snapshot with an unknown kind without this bit.
const OPTIONAL: u32 = 1 << 31;

const KIND_DIRECTORY: u32 = 1;
const KIND_TAXONOMY: u32 = 2;
const KIND_ATTRIBUTE: u32 = 3;
const KIND_MEMBERS: u32 = 4;
const KIND_POLICY: u32 = 5;
const KIND_END: u32 = 0x7FFF_FFFF;

/// A directory slot holding a member id (the next one of the member-id table).
const SLOT_MEMBER: u64 = 1 << 63;
/// A directory slot of an erased customer.
const SLOT_ERASED: u64 = u64::MAX;
/// The largest E.164 number (15 digits).
const MAX_PHONE: u64 = 999_999_999_999_999;

/// Section header: kind (4 bytes) and payload length (8 bytes).
const SECTION_HEADER: usize = 12;
/// First read of a section's payload: larger sections grow from here as bytes arrive.
const FIRST_CHUNK: u64 = 1 << 20;

impl Section {
    fn of_kind(kind: u32) -> Section {
        match kind {
            KIND_DIRECTORY => Section::Directory,
            KIND_TAXONOMY => Section::Taxonomy,
            KIND_ATTRIBUTE => Section::Attribute,
            KIND_MEMBERS => Section::Members,
            KIND_POLICY => Section::Policy,
            extras::KIND_RULE_SET => Section::RuleSet,
            extras::KIND_SEND_LOG => Section::SendLog,
            extras::KIND_RFM => Section::Rfm,
            extras::KIND_TIERS => Section::Tiers,
            KIND_END => Section::End,
            other => Section::Unknown(other),
        }
    }
}

// ----------------------------------------------------------------------------------------
// Writing
// ----------------------------------------------------------------------------------------

struct Writer<W: Write> {
    out: W,
    buf: Vec<u8>,
    written: u64,
    sections: u32,
}

impl<W: Write> Writer<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io("writing a snapshot", e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Starts a section: its header with a length to patch.
    fn begin(&mut self, kind: u32) -> &mut Vec<u8> {
        self.buf.clear();
        self.buf.extend_from_slice(&kind.to_le_bytes());
        self.buf.extend_from_slice(&[0; 8]);
        &mut self.buf
    }

    /// Patches the length, appends the CRC and writes the section out.
    fn finish(&mut self) -> Result<(), Error> {
        let len = (self.buf.len() - SECTION_HEADER) as u64;
        if len > MAX_SECTION_BYTES {
            return Err(ErrorKind::LimitExceeded {
                what: "snapshot section size in bytes",
                limit: MAX_SECTION_BYTES,
                actual: len,
            }
            .into());
        }
        if let Some(field) = self.buf.get_mut(4..SECTION_HEADER) {
            field.copy_from_slice(&len.to_le_bytes());
        }
        let crc = crc32fast::hash(&self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        let buf = std::mem::take(&mut self.buf);
        let r = self.write(&buf);
        self.buf = buf;
        self.sections += 1;
        r
    }
}

fn put_u8(b: &mut Vec<u8>, v: u8) {
    b.push(v);
}
fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_i32(b: &mut Vec<u8>, v: i32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_str(b: &mut Vec<u8>, s: &str) {
    put_len(b, s.len());
    b.extend_from_slice(s.as_bytes());
}
fn put_opt_str(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            put_u8(b, 1);
            put_str(b, s);
        }
        None => put_u8(b, 0),
    }
}
fn put_opt_u32(b: &mut Vec<u8>, v: Option<u32>) {
    match v {
        Some(v) => {
            put_u8(b, 1);
            put_u32(b, v);
        }
        None => put_u8(b, 0),
    }
}
fn put_opt_day(b: &mut Vec<u8>, v: Option<Day>) {
    match v {
        Some(d) => {
            put_u8(b, 1);
            put_i32(b, d.0);
        }
        None => put_u8(b, 0),
    }
}
/// A count or length as u32. Every count the store holds fits: ids, tags and attributes are
/// bounded by u32 ids and the crate's limits; a text longer than 4 GiB makes its section
/// exceed [`MAX_SECTION_BYTES`], which `finish` refuses.
fn put_len(b: &mut Vec<u8>, n: usize) {
    put_u32(b, u32::try_from(n).unwrap_or(u32::MAX));
}
/// A bitmap: its portable serialisation's length (u32) and the bytes.
fn put_bitmap(b: &mut Vec<u8>, bm: &RoaringBitmap) {
    let at = b.len();
    put_u32(b, 0);
    b.reserve(bm.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = bm.serialize_into(&mut *b);
    let len = b.len() - at - 4;
    if let Some(field) = b.get_mut(at..at + 4) {
        field.copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
    }
}

impl Store {
    /// Writes the whole store to `w` in the snapshot format (see the [`snapshot`](crate::snapshot)
    /// module and `SNAPSHOT.md`). Returns the number of bytes written.
    ///
    /// The writer gets a few large writes (one per section); wrap it in a `BufWriter` only
    /// if it is slow with those. Errors: [`ErrorKind::Io`] when `w` fails (what was written
    /// up to then is not a valid snapshot: it has no end section), and
    /// [`ErrorKind::LimitExceeded`] for a section over [`MAX_SECTION_BYTES`].
    ///
    /// The same as [`Store::write_snapshot_with`] with empty [`Extras`]: the snapshot holds
    /// the store alone.
    pub fn write_snapshot(&self, w: impl Write) -> Result<u64, Error> {
        self.write_snapshot_with(&Extras::default(), w)
    }

    /// Writes the whole store and the app's state outside it (rule sets, campaign send
    /// logs, RFM configurations, tier definitions: see [`Extras`]) to `w`, one section per
    /// entry after the store's sections. Returns the number of bytes written.
    /// [`Store::read_snapshot_with`] reads both back; empty extras write exactly the bytes
    /// of [`Store::write_snapshot`].
    ///
    /// Queries (rule conditions, RFM scopes) are written as their canonical text. Before
    /// anything is written, every entry is checked as a reader will check it, so a snapshot
    /// that was written can be read back: an entry that fails is refused with
    /// [`ErrorKind::SnapshotExtra`] naming it (its own checks fail: [`RfmConfig::validate`],
    /// [`Tiers::validate`], rule names empty or given twice; a query whose canonical text
    /// does not read back as the same query, e.g. an AST built in code nesting deeper than
    /// the language allows; a send log holding customer ids the store never handed out; a
    /// name over 200 characters or a list over 2^20 items). Otherwise the errors of
    /// [`Store::write_snapshot`].
    ///
    /// [`RfmConfig::validate`]: crate::RfmConfig::validate
    /// [`Tiers::validate`]: crate::Tiers::validate
    ///
    /// ```
    /// use audience::campaign::{Hour, SendLog};
    /// use audience::snapshot::Extras;
    /// use audience::{
    ///     AttrKind, CustomerKey, Day, Edit, ErrorKind, Query, RfmConfig, Rule, RuleSet, Store,
    ///     TagSpec, Tiers,
    /// };
    ///
    /// let today = Day::from_ymd(2025, 1, 6)?;
    /// let mut store = Store::new();
    /// store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
    /// store.define_attribute("purchase_count", AttrKind::Int)?;
    /// let c = store.add_customer(CustomerKey::phone("85291234567")?)?;
    ///
    /// let mut extras = Extras::new();
    /// let loyal = Rule::new("loyal", Query::parse("purchase_count >= 5")?).add("VIP");
    /// extras.rule_sets.insert("weekly".into(), RuleSet::new().rule(loyal));
    /// let mut log = SendLog::new();
    /// log.record(Hour::new(today, 9)?, "whatsapp", &[c].into_iter().collect())?;
    /// extras.send_logs.insert("automations".into(), log);
    /// extras.rfm.insert("everyone".into(), RfmConfig::default());
    /// let tiers = Tiers::new("purchase_count", "tier").tier("A", 5).rest("B");
    /// extras.tiers.insert("leads".into(), tiers);
    ///
    /// let mut bytes = Vec::new();
    /// store.write_snapshot_with(&extras, &mut bytes)?;
    /// let (loaded, loaded_extras) = Store::read_snapshot_with(&bytes[..])?;
    /// assert_eq!(loaded_extras, extras);
    /// assert_eq!(loaded.customer_count(), 1);
    ///
    /// // `read_snapshot` reads and checks the same bytes, and drops the extras.
    /// assert_eq!(Store::read_snapshot(&bytes[..])?.customer_count(), 1);
    ///
    /// // An entry a reader would refuse is refused before anything is written.
    /// extras.tiers.insert("broken".into(), Tiers::new("purchase_count", "tier"));
    /// let mut out = Vec::new();
    /// let err = store.write_snapshot_with(&extras, &mut out).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::SnapshotExtra { what: "tiers", .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "cannot write tiers \"broken\" to a snapshot: \
    ///      tiers of purchase_count: give 1 to 256 tiers, got 0"
    /// );
    /// assert!(out.is_empty());
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn write_snapshot_with(&self, extras: &Extras, w: impl Write) -> Result<u64, Error> {
        extras::check(extras, self.id_space())?;
        let mut wr = Writer {
            out: w,
            buf: Vec::new(),
            written: 0,
            sections: 0,
        };
        let mut header = Vec::with_capacity(12);
        header.extend_from_slice(&MAGIC);
        put_u32(&mut header, FORMAT_VERSION);
        wr.write(&header)?;

        let (directory, taxonomy, members, attrs) = self.snapshot_parts();
        write_directory(wr.begin(KIND_DIRECTORY), directory);
        wr.finish()?;
        write_taxonomy(wr.begin(KIND_TAXONOMY), taxonomy);
        wr.finish()?;
        if !taxonomy.policy().is_open() || !taxonomy.policy().naming.is_empty() {
            put_policy(wr.begin(KIND_POLICY), taxonomy.policy());
            wr.finish()?;
        }
        for slot in attrs {
            write_attribute(wr.begin(KIND_ATTRIBUTE), slot);
            wr.finish()?;
        }
        for (id, m) in members.iter().enumerate() {
            let (all, base_day, dated) = m.parts();
            if all.is_empty() {
                continue;
            }
            let b = wr.begin(KIND_MEMBERS);
            put_u32(b, id as u32);
            put_i32(b, base_day.0);
            put_bitmap(b, all);
            put_len(b, dated.len());
            for (day, bm) in dated.iter() {
                put_i32(b, day.0);
                put_bitmap(b, bm);
            }
            wr.finish()?;
        }
        extras::write(&mut wr, extras)?;
        let sections = wr.sections;
        put_u32(wr.begin(KIND_END), sections);
        wr.finish()?;
        wr.out
            .flush()
            .map_err(|e| Error::io("writing a snapshot", e))?;
        Ok(wr.written)
    }
}

fn write_directory(b: &mut Vec<u8>, dir: &Directory) {
    let n = dir.next_id();
    put_u64(b, n);
    let count_at = b.len();
    put_u32(b, 0);
    let mut members = 0u32;
    for id in 0..n as u32 {
        if let Some(KeyRef::Member(m)) = dir.key(id) {
            put_u16(b, m.len() as u16);
            b.extend_from_slice(m.as_bytes());
            members += 1;
        }
    }
    if let Some(field) = b.get_mut(count_at..count_at + 4) {
        field.copy_from_slice(&members.to_le_bytes());
    }
    b.reserve(n as usize * 8);
    for id in 0..n as u32 {
        let slot = match dir.key(id) {
            Some(KeyRef::Phone(p)) => p,
            Some(KeyRef::Member(_)) => SLOT_MEMBER,
            None => SLOT_ERASED,
        };
        put_u64(b, slot);
    }
}

fn change_code(c: &Change) -> u8 {
    match c {
        Change::Created { .. } => 1,
        Change::Renamed { .. } => 2,
        Change::Archived { .. } => 3,
        Change::Unarchived { .. } => 4,
        Change::Deleted { .. } => 5,
        Change::Merged { .. } => 6,
        Change::TtlChanged { .. } => 7,
        Change::Described { .. } => 8,
        Change::Coloured { .. } => 9,
        Change::PolicyChanged { .. } => 10,
    }
}

fn put_policy(b: &mut Vec<u8>, p: &Policy) {
    put_len(b, p.administrators.len());
    for a in &p.administrators {
        put_str(b, a);
    }
    put_len(b, p.open_to_all.len());
    for act in &p.open_to_all {
        let code = TaxonomyAction::ALL
            .iter()
            .position(|x| x == act)
            .unwrap_or(0);
        put_u8(b, code as u8);
    }
    let n = &p.naming;
    put_u8(b, u8::from(n.dimension_prefix));
    put_len(b, n.prefixes.len());
    for (d, pre) in &n.prefixes {
        put_str(b, d);
        put_str(b, pre);
    }
    put_opt_u32(b, n.max_chars.map(|m| u32::try_from(m).unwrap_or(u32::MAX)));
    put_len(b, n.forbidden_chars.len());
    for ch in &n.forbidden_chars {
        put_u32(b, *ch as u32);
    }
}

fn read_policy(c: &mut Cursor<'_>) -> Res<Policy> {
    let na = c.count(4, "administrators")?;
    let mut administrators = Vec::with_capacity(na);
    for _ in 0..na {
        administrators.push(c.str("administrator")?.to_string());
    }
    let no = c.count(1, "open actions")?;
    let mut open_to_all = Vec::with_capacity(no);
    for _ in 0..no {
        let code = c.u8("action")?;
        let act = TaxonomyAction::ALL
            .get(usize::from(code))
            .copied()
            .ok_or_else(|| format!("unknown taxonomy action {code}"))?;
        open_to_all.push(act);
    }
    let dimension_prefix = c.flag("dimension prefix rule")?;
    let np = c.count(8, "prefixes")?;
    let mut prefixes = BTreeMap::new();
    for _ in 0..np {
        let d = c.str("prefix dimension")?.to_string();
        let p = c.str("prefix")?.to_string();
        prefixes.insert(d, p);
    }
    let max_chars = c
        .opt("maximum length", |c| c.u32("maximum length"))?
        .map(|m| m as usize);
    let nf = c.count(4, "forbidden characters")?;
    let mut forbidden_chars = Vec::with_capacity(nf);
    for _ in 0..nf {
        let v = c.u32("forbidden character")?;
        forbidden_chars
            .push(char::from_u32(v).ok_or_else(|| format!("{v:#x} is not a character"))?);
    }
    Ok(Policy {
        administrators,
        open_to_all,
        naming: crate::store::policy::NamingRules {
            dimension_prefix,
            prefixes,
            max_chars,
            forbidden_chars,
        },
    })
}

fn write_taxonomy(b: &mut Vec<u8>, tax: &Taxonomy) {
    let dims = tax.dimensions();
    put_len(b, dims.len());
    for d in dims {
        put_str(b, &d.name);
        put_opt_str(b, d.colour.as_deref());
    }
    let slots = tax.slots();
    put_len(b, slots.len());
    for slot in slots {
        let Some(t) = slot else {
            put_u8(b, 0);
            continue;
        };
        put_u8(b, 1);
        put_str(b, &t.name);
        let dim = dims.iter().position(|d| d.name == t.dimension).unwrap_or(0);
        put_len(b, dim);
        put_u8(
            b,
            match t.kind {
                TagKind::Static => 0,
                TagKind::Dynamic => 1,
            },
        );
        put_opt_u32(b, t.ttl_days);
        put_str(b, &t.description);
        put_u8(b, u8::from(t.archived));
        put_i32(b, t.created.0);
        put_opt_day(b, t.last_used);
    }
    let log = tax.log();
    put_len(b, log.len());
    for e in log {
        put_i32(b, e.day.0);
        put_str(b, &e.actor);
        put_opt_str(b, e.reason.as_deref());
        put_u8(b, change_code(&e.change));
        match &e.change {
            Change::Created {
                tag,
                name,
                dimension,
            } => {
                put_u32(b, tag.0);
                put_str(b, name);
                put_str(b, dimension);
            }
            Change::Renamed { tag, from, to } => {
                put_u32(b, tag.0);
                put_str(b, from);
                put_str(b, to);
            }
            Change::Archived { tag, name } | Change::Unarchived { tag, name } => {
                put_u32(b, tag.0);
                put_str(b, name);
            }
            Change::Deleted { tag, name, members } => {
                put_u32(b, tag.0);
                put_str(b, name);
                put_u64(b, *members);
            }
            Change::Merged {
                from,
                from_name,
                into,
                into_name,
            } => {
                put_u32(b, from.0);
                put_str(b, from_name);
                put_u32(b, into.0);
                put_str(b, into_name);
            }
            Change::TtlChanged { tag, from, to } => {
                put_u32(b, tag.0);
                put_opt_u32(b, *from);
                put_opt_u32(b, *to);
            }
            Change::Described { tag } => put_u32(b, tag.0),
            Change::Coloured { dimension, colour } => {
                put_str(b, dimension);
                put_opt_str(b, colour.as_deref());
            }
            Change::PolicyChanged { policy } => put_policy(b, policy),
        }
    }
}

fn write_attribute(b: &mut Vec<u8>, slot: &AttrSlot) {
    put_u32(b, slot.info.id.0);
    put_str(b, &slot.info.name);
    put_u8(
        b,
        match slot.info.kind {
            AttrKind::Int => 0,
            AttrKind::Day => 1,
        },
    );
    let (values, present, words) = slot.column.raw();
    let n = present
        .max()
        .map_or(0, |m| m as usize + 1)
        .min(values.len());
    let values = values.get(..n).unwrap_or(values);
    let words = words.get(..n.div_ceil(64)).unwrap_or(words);
    put_u64(b, n as u64);
    for &w in words {
        put_u64(b, w);
    }
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for (chunk, &word) in values.chunks(64).zip(words) {
        for (i, &v) in chunk.iter().enumerate() {
            let present = word >> i & 1 == 1;
            lo = lo.min(if present { v } else { i64::MAX });
            hi = hi.max(if present { v } else { i64::MIN });
        }
    }
    if lo > hi {
        (lo, hi) = (0, 0);
    }
    let span = (i128::from(hi) - i128::from(lo)) as u64;
    put_i64(b, lo);
    let at = b.len() + 1;
    match span {
        0..=0xFF => encode_values::<1>(b, values, words, lo),
        0x100..=0xFFFF => encode_values::<2>(b, values, words, lo),
        0x1_0000..=0xFFFF_FFFF => encode_values::<4>(b, values, words, lo),
        _ => encode_values::<8>(b, values, words, lo),
    }
    debug_assert_eq!(b.len() - at, n * b.get(at - 1).map_or(0, |w| *w as usize));
}

/// The width byte, then `value - lo` in `W` bytes for every id, 0 for ids without a value.
fn encode_values<const W: usize>(b: &mut Vec<u8>, values: &[i64], words: &[u64], lo: i64) {
    put_u8(b, W as u8);
    let start = b.len();
    b.resize(start + values.len() * W, 0);
    let out = b.get_mut(start..).unwrap_or(&mut []);
    for ((dst, chunk), &word) in out.chunks_mut(64 * W).zip(values.chunks(64)).zip(words) {
        for (i, (d, &v)) in dst.chunks_exact_mut(W).zip(chunk).enumerate() {
            let off = v.wrapping_sub(lo) as u64 & 0u64.wrapping_sub(word >> i & 1);
            if let Some(src) = off.to_le_bytes().get(..W) {
                d.copy_from_slice(src);
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// Reading
// ----------------------------------------------------------------------------------------

/// A bounds-checked view of a section's payload. Its errors are messages; the caller adds
/// the section.
struct Cursor<'a> {
    b: &'a [u8],
}

type Res<T> = Result<T, String>;

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        if n > self.b.len() {
            return Err(format!(
                "{what} needs {n} bytes, only {} are left",
                self.b.len()
            ));
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Res<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Res<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Res<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Res<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn i32(&mut self, what: &str) -> Res<i32> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }
    fn i64(&mut self, what: &str) -> Res<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
    fn day(&mut self, what: &str) -> Res<Day> {
        self.i32(what).map(Day)
    }

    fn flag(&mut self, what: &str) -> Res<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("{what}: {other} is neither 0 nor 1")),
        }
    }

    /// A count of items of at least `min_bytes` each, checked against the bytes left.
    fn count(&mut self, min_bytes: usize, what: &str) -> Res<usize> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_bytes) > self.b.len() {
            return Err(format!(
                "{n} {what} need at least {} bytes, only {} are left",
                n.saturating_mul(min_bytes),
                self.b.len()
            ));
        }
        Ok(n)
    }

    fn str(&mut self, what: &str) -> Res<&'a str> {
        let n = self.u32(what)? as usize;
        let bytes = self.take(n, what)?;
        std::str::from_utf8(bytes).map_err(|_| format!("{what} is not valid UTF-8"))
    }

    fn opt<T>(&mut self, what: &str, f: impl FnOnce(&mut Self) -> Res<T>) -> Res<Option<T>> {
        if self.flag(what)? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A bitmap: its length, then the portable Roaring bytes, validated by roaring (sorted
    /// containers and values, cardinalities that match). Before roaring allocates, the
    /// container count is checked against the bytes present.
    fn bitmap(&mut self, what: &str) -> Res<RoaringBitmap> {
        let n = self.u32(what)? as usize;
        let bytes = self.take(n, what)?;
        check_portable_header(bytes).map_err(|e| format!("{what}: {e}"))?;
        let mut rest = bytes;
        let bm = RoaringBitmap::deserialize_from(&mut rest)
            .map_err(|e| format!("{what} is not a valid portable Roaring bitmap: {e}"))?;
        if !rest.is_empty() {
            return Err(format!("{what} has {} bytes after its end", rest.len()));
        }
        Ok(bm)
    }

    fn end(&self) -> Res<()> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} unexpected bytes after the content",
                self.b.len()
            ))
        }
    }
}

/// Checks the container count of a portable Roaring header against the bytes present
/// (each container takes at least 4 bytes of description and 2 of data).
fn check_portable_header(bytes: &[u8]) -> Res<()> {
    let word = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    };
    let cookie = word(0).ok_or("a bitmap needs at least 8 bytes")?;
    let containers = if cookie == 12346 {
        word(4).ok_or("a bitmap needs at least 8 bytes")? as u64
    } else if cookie & 0xFFFF == 12347 {
        u64::from(cookie >> 16) + 1
    } else {
        return Err("not a portable Roaring bitmap (unknown cookie)".into());
    };
    if containers > 65_536 || containers * 6 > bytes.len() as u64 {
        return Err(format!(
            "{containers} containers do not fit in {} bytes",
            bytes.len()
        ));
    }
    Ok(())
}

/// One section read from the input: kind, payload, where it started.
struct Raw {
    kind: u32,
    payload: Vec<u8>,
    index: u32,
    offset: u64,
}

struct Reader<R: Read> {
    input: R,
    offset: u64,
    index: u32,
}

impl<R: Read> Reader<R> {
    fn fail(section: Section, index: Option<u32>, offset: u64, problem: SnapshotProblem) -> Error {
        ErrorKind::Snapshot(SnapshotError {
            section,
            index,
            offset,
            problem,
        })
        .into()
    }

    /// Reads `buf.len()` bytes, fewer only when the input ends first. Returns how many.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut got = 0;
        while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
            match self.input.read(rest) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("reading a snapshot", e)),
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    fn header(&mut self) -> Result<(), Error> {
        let mut h = [0u8; 12];
        let read = self.fill(&mut h)?;
        let complete = read == h.len();
        let fail = |p| Self::fail(Section::Header, None, 0, p);
        if h.get(..8) != Some(&MAGIC[..]) {
            // A short input that is a prefix of the magic number is a truncated snapshot.
            let n = read.min(8);
            return Err(fail(if !complete && h.get(..n) == MAGIC.get(..n) {
                SnapshotProblem::Truncated
            } else {
                SnapshotProblem::NotASnapshot
            }));
        }
        if !complete {
            return Err(fail(SnapshotProblem::Truncated));
        }
        let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
        match version {
            0 => Err(fail(SnapshotProblem::UnknownVersion { found: version })),
            v if v > FORMAT_VERSION => Err(fail(SnapshotProblem::FutureVersion {
                found: v,
                supported: FORMAT_VERSION,
            })),
            _ => Ok(()),
        }
    }

    /// The next section, checksum verified.
    fn section(&mut self) -> Result<Raw, Error> {
        let (index, offset) = (self.index, self.offset);
        let mut head = [0u8; SECTION_HEADER];
        let read = self.fill(&mut head)?;
        if read == 0 {
            // At a clean boundary the closing section is what is missing.
            return Err(Self::fail(
                Section::End,
                Some(index),
                offset,
                SnapshotProblem::Missing,
            ));
        }
        if read < SECTION_HEADER {
            let section = match head.get(..4) {
                Some(&[a, b, c, d]) if read >= 4 => {
                    Section::of_kind(u32::from_le_bytes([a, b, c, d]))
                }
                _ => Section::Unknown(0),
            };
            return Err(Self::fail(
                section,
                Some(index),
                offset,
                SnapshotProblem::Truncated,
            ));
        }
        let kind = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let section = Section::of_kind(kind);
        let fail = |p| Self::fail(section, Some(index), offset, p);
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(head.get(4..).unwrap_or(&[0; 8]));
        let len = u64::from_le_bytes(len_bytes);
        if len > MAX_SECTION_BYTES {
            return Err(fail(SnapshotProblem::TooLarge {
                len,
                limit: MAX_SECTION_BYTES,
            }));
        }
        // Read what is there, growing the buffer as bytes arrive: a declared length alone
        // never allocates more than the first chunk.
        let mut payload = Vec::with_capacity(len.min(FIRST_CHUNK) as usize);
        let got = (&mut self.input)
            .take(len)
            .read_to_end(&mut payload)
            .map_err(|e| Error::io("reading a snapshot", e))?;
        self.offset += got as u64;
        let mut crc = [0u8; 4];
        if (got as u64) < len || self.fill(&mut crc)? < crc.len() {
            return Err(fail(SnapshotProblem::Truncated));
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&head);
        hasher.update(&payload);
        let computed = hasher.finalize();
        let stored = u32::from_le_bytes(crc);
        if computed != stored {
            return Err(fail(SnapshotProblem::Checksum { stored, computed }));
        }
        self.index += 1;
        Ok(Raw {
            kind,
            payload,
            index,
            offset,
        })
    }

    /// The next section of a kind this version knows; unknown optional ones are skipped,
    /// unknown required ones refused.
    fn known(&mut self) -> Result<Raw, Error> {
        loop {
            let raw = self.section()?;
            if matches!(Section::of_kind(raw.kind), Section::Unknown(_)) {
                if raw.kind & OPTIONAL != 0 {
                    continue;
                }
                return Err(Self::fail(
                    Section::Unknown(raw.kind),
                    Some(raw.index),
                    raw.offset,
                    SnapshotProblem::UnknownKind { kind: raw.kind },
                ));
            }
            return Ok(raw);
        }
    }
}

impl Raw {
    fn section(&self) -> Section {
        Section::of_kind(self.kind)
    }

    fn invalid(&self, message: String) -> Error {
        ErrorKind::Snapshot(SnapshotError {
            section: self.section(),
            index: Some(self.index),
            offset: self.offset,
            problem: SnapshotProblem::Invalid(message),
        })
        .into()
    }

    fn cursor(&self) -> Cursor<'_> {
        Cursor { b: &self.payload }
    }
}

impl Store {
    /// Reads a store from a snapshot written by [`Store::write_snapshot`] of this or any
    /// earlier version of the crate.
    ///
    /// Reads exactly the snapshot's bytes (up to and including its end section) and
    /// nothing after them. Everything is validated before the store is assembled; on any
    /// problem nothing is returned but the error: [`ErrorKind::Snapshot`] naming the
    /// section (not a snapshot, a newer format version, truncated, checksum mismatch,
    /// invalid content), or [`ErrorKind::Io`] when `r` fails. Memory grows with the bytes
    /// actually read, never with a length the input merely declares: a snapshot of `n`
    /// bytes makes the load allocate at most about `10 n` bytes plus up to about 1 KiB per
    /// tag slot (see `SNAPSHOT.md`).
    ///
    /// The directory's key -> id table is not built by the load but by the first lookup
    /// or registration by key ([`Store::customer`], [`Store::add_customer`]...), so a store
    /// loaded only to answer queries never pays for hashing every key (at 1M phone keys
    /// that is most of a load's cost). Duplicate keys are still refused by the load.
    ///
    /// A snapshot written with [`Extras`] ([`Store::write_snapshot_with`]) is read whole:
    /// its extras sections are read and checked like every other section (a damaged or
    /// invalid one fails the load), then dropped. Use [`Store::read_snapshot_with`] to
    /// keep them.
    pub fn read_snapshot(r: impl Read) -> Result<Store, Error> {
        Store::read_snapshot_with(r).map(|(store, _)| store)
    }

    /// Reads a store and the app's [`Extras`] from a snapshot written by
    /// [`Store::write_snapshot_with`] (or [`Store::write_snapshot`]: then the extras are
    /// empty) of this or any earlier version of the crate.
    ///
    /// Everything [`Store::read_snapshot`] says holds, and every entry of the extras is
    /// checked as its own type checks it (the [`SendLog`](crate::campaign::SendLog)'s
    /// deserialisation checks, [`RfmConfig::validate`](crate::RfmConfig::validate) with its
    /// segment map's gaps and overlaps, [`Tiers::validate`](crate::Tiers::validate), rule
    /// names), queries are parsed from their text, and a send log may hold only customer
    /// ids the directory handed out. Entries refer to tags and attributes by name and are
    /// not resolved against the store. Atomic: on any error nothing is returned but the
    /// error, naming the section and the entry.
    pub fn read_snapshot_with(r: impl Read) -> Result<(Store, Extras), Error> {
        let mut rd = Reader {
            input: r,
            offset: 0,
            index: 0,
        };
        rd.header()?;

        let raw = rd.known()?;
        if raw.kind != KIND_DIRECTORY {
            return Err(raw.invalid("expected the directory section first".into()));
        }
        let (directory, live, live_words) = read_directory(&raw).map_err(|e| raw.invalid(e))?;
        drop(raw);

        let raw = rd.known()?;
        if raw.kind != KIND_TAXONOMY {
            return Err(raw.invalid("expected the taxonomy section after the directory".into()));
        }
        let mut taxonomy = read_taxonomy(&raw).map_err(|e| raw.invalid(e))?;
        drop(raw);
        let mut policy_seen = false;

        let mut attrs: Vec<AttrSlot> = Vec::new();
        let mut attr_names: HashSet<String> = HashSet::new();
        let mut members: Vec<TagMembers> = Vec::new();
        members.resize_with(taxonomy.slots().len(), TagMembers::default);
        let mut last_tag: Option<u32> = None;
        let mut extras = extras::Loader::new();
        loop {
            let raw = rd.known()?;
            extras.order(&raw)?;
            match raw.kind {
                KIND_ATTRIBUTE => {
                    if last_tag.is_some() {
                        return Err(raw.invalid(
                            "attribute sections must come before the members sections".into(),
                        ));
                    }
                    let slot = read_attribute(&raw, attrs.len(), &live_words)
                        .map_err(|e| raw.invalid(e))?;
                    if !attr_names.insert(fold(&slot.info.name)) {
                        return Err(raw.invalid(format!(
                            "attribute {} appears twice",
                            quote(&slot.info.name)
                        )));
                    }
                    attrs.push(slot);
                }
                KIND_POLICY => {
                    if policy_seen || !attrs.is_empty() || last_tag.is_some() {
                        return Err(raw.invalid(
                            "the policy section comes once, right after the taxonomy".into(),
                        ));
                    }
                    let mut c = raw.cursor();
                    let policy = read_policy(&mut c).map_err(|e| raw.invalid(e))?;
                    c.end().map_err(|e| raw.invalid(e))?;
                    taxonomy.restore_policy(policy);
                    policy_seen = true;
                }
                KIND_MEMBERS => {
                    let (tag, m) = read_members(&raw, &taxonomy, &live, last_tag)
                        .map_err(|e| raw.invalid(e))?;
                    last_tag = Some(tag);
                    if let Some(slot) = members.get_mut(tag as usize) {
                        *slot = m;
                    }
                }
                kind if extras::is_kind(kind) => extras.read(&raw, directory.next_id())?,
                KIND_END => {
                    let mut c = raw.cursor();
                    let count = c.u32("section count").map_err(|e| raw.invalid(e))?;
                    c.end().map_err(|e| raw.invalid(e))?;
                    if count != raw.index {
                        return Err(
                            raw.invalid(format!("{count} sections announced, {} read", raw.index))
                        );
                    }
                    break;
                }
                _ => {
                    return Err(raw.invalid(format!(
                        "a second {} (only one is allowed, right after the header)",
                        raw.section()
                    )));
                }
            }
        }
        Ok((
            Store::from_snapshot_parts(directory, taxonomy, members, attrs, live),
            extras.finish(),
        ))
    }
}

fn read_directory(raw: &Raw) -> Res<(Directory, RoaringBitmap, Vec<u64>)> {
    let mut c = raw.cursor();
    let n = c.u64("id space")?;
    if n > u64::from(u32::MAX) {
        return Err(format!("an id space of {n} exceeds the u32 ids"));
    }
    let m = c.count(3, "member ids")?;
    let mut member_ids: Vec<&str> = Vec::with_capacity(m);
    for _ in 0..m {
        let len = c.u16("member id length")? as usize;
        let bytes = c.take(len, "member id")?;
        let s = std::str::from_utf8(bytes).map_err(|_| "a member id is not valid UTF-8")?;
        member_ids.push(s);
    }
    if n.saturating_mul(8) > c.b.len() as u64 {
        return Err(format!(
            "{n} id slots need {} bytes, only {} are left",
            n.saturating_mul(8),
            c.b.len()
        ));
    }
    let slots = c.take(n as usize * 8, "id slots")?;
    c.end()?;

    // Check every slot before building anything.
    let slot = |chunk: &[u8]| {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        u64::from_le_bytes(b)
    };
    // The keys by id, as the directory keeps them (the same encoding), and the ids of the
    // member-id slots.
    let mut keys: Vec<u64> = Vec::with_capacity(n as usize);
    let mut member_slots: Vec<usize> = Vec::new();
    // Phone keys that ascend with their ids (customers registered in key order) cannot
    // repeat: then they need no other check.
    let (mut ascending, mut last_phone) = (true, 0u64);
    let mut live_words = Vec::with_capacity((n as usize).div_ceil(64));
    for (block, ids) in slots.chunks(64 * 8).enumerate() {
        let mut word = 0u64;
        for (i, chunk) in ids.chunks_exact(8).enumerate() {
            let key = slot(chunk);
            keys.push(key);
            match key {
                SLOT_ERASED => continue,
                SLOT_MEMBER => member_slots.push(block * 64 + i),
                p if (1..=MAX_PHONE).contains(&p) => {
                    ascending &= p > last_phone;
                    last_phone = p;
                }
                other => {
                    return Err(format!(
                        "customer id {} has an invalid key slot {other:#x}",
                        block * 64 + i
                    ));
                }
            }
            word |= 1 << i;
        }
        live_words.push(word);
    }
    if member_slots.len() != m {
        return Err(format!(
            "{} slots hold member ids but {m} member ids are stored",
            member_slots.len()
        ));
    }
    let phones = || keys.iter().copied().filter(|p| (1..=MAX_PHONE).contains(p));
    if !ascending && let Some(p) = first_duplicate(phones) {
        let id = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| **k == p)
            .nth(1)
            .map_or(0, |(id, _)| id);
        return Err(format!("customer id {id} repeats the key of an earlier id"));
    }
    let mut seen: HashSet<&str> = HashSet::with_capacity(m);
    let mut members: Vec<Box<str>> = Vec::with_capacity(m);
    for (&id, s) in member_slots.iter().zip(member_ids) {
        if !seen.insert(s) {
            return Err(format!("customer id {id} repeats the key of an earlier id"));
        }
        CustomerKey::member(s).map_err(|e| format!("customer id {id}: {e}"))?;
        members.push(Box::from(s));
    }
    let live_count = live_words.iter().map(|w| w.count_ones() as usize).sum();
    let dir = Directory::restore(keys, members, live_count);
    let live = words_to_bitmap(&live_words);
    Ok((dir, live, live_words))
}

/// A value that `values()` yields twice (the smallest such value), without sorting them
/// all.
///
/// Values that ascend cannot repeat: one pass proves that. Otherwise each value sets one
/// bit, picked by a multiplicative hash, of a bitset of at least 16 bits per value: a bit
/// set twice is rare unless a value repeats, so only the values on such bits are collected,
/// sorted and compared. Two bitsets of at most 32 bits per value each, against the 8 bytes
/// each value takes in the snapshot.
fn first_duplicate<I: Iterator<Item = u64>>(values: impl Fn() -> I) -> Option<u64> {
    let (len, ascending, _) = values().fold((0usize, true, None), |(n, asc, last), x| {
        (n + 1, asc && last < Some(x), Some(x))
    });
    if ascending {
        return None;
    }
    let bits = len.saturating_mul(16).next_power_of_two().max(64);
    let shift = 64 - bits.trailing_zeros();
    let bit = |x: u64| (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize;
    let mut once = vec![0u64; bits / 64];
    let mut twice = vec![0u64; bits / 64];
    for x in values() {
        let b = bit(x);
        if let (Some(o), Some(t)) = (once.get_mut(b / 64), twice.get_mut(b / 64)) {
            let mask = 1u64 << (b % 64);
            *t |= *o & mask;
            *o |= mask;
        }
    }
    drop(once);
    if twice.iter().all(|w| *w == 0) {
        return None;
    }
    let mut candidates: Vec<u64> = values()
        .filter(|&x| {
            let b = bit(x);
            twice.get(b / 64).is_some_and(|w| w >> (b % 64) & 1 == 1)
        })
        .collect();
    candidates.sort_unstable();
    candidates
        .windows(2)
        .find(|w| w.first() == w.get(1))
        .and_then(|w| w.first().copied())
}

fn read_taxonomy(raw: &Raw) -> Res<Taxonomy> {
    let mut c = raw.cursor();
    let nd = c.count(5, "dimensions")?;
    let mut dims = Vec::with_capacity(nd);
    for _ in 0..nd {
        let name = c.str("dimension name")?.to_string();
        let colour = c.opt("colour", |c| c.str("colour").map(str::to_string))?;
        dims.push(DimensionInfo { name, colour });
    }
    let nt = c.count(1, "tag slots")?;
    let mut tags: Vec<Option<TagInfo>> = Vec::with_capacity(nt);
    for id in 0..nt as u32 {
        if !c.flag("tag slot")? {
            tags.push(None);
            continue;
        }
        let name = c.str("tag name")?.to_string();
        let dim = c.u32("dimension index")? as usize;
        let dimension = dims
            .get(dim)
            .map(|d: &DimensionInfo| d.name.clone())
            .ok_or_else(|| format!("tag {id} is in dimension {dim}, which does not exist"))?;
        let kind = match c.u8("tag kind")? {
            0 => TagKind::Static,
            1 => TagKind::Dynamic,
            other => return Err(format!("tag {id} has an unknown kind {other}")),
        };
        let ttl_days = c.opt("time-to-live", |c| c.u32("time-to-live"))?;
        let description = c.str("description")?.to_string();
        let archived = c.flag("archived")?;
        let created = c.day("created")?;
        let last_used = c.opt("last used", |c| c.day("last used"))?;
        tags.push(Some(TagInfo {
            id: TagId(id),
            name,
            dimension,
            kind,
            ttl_days,
            description,
            archived,
            created,
            last_used,
        }));
    }
    let nl = c.count(11, "log entries")?;
    let mut log = Vec::with_capacity(nl);
    for _ in 0..nl {
        log.push(read_log_entry(&mut c)?);
    }
    c.end()?;
    Taxonomy::restore(tags, dims, log)
}

fn read_log_entry(c: &mut Cursor<'_>) -> Res<LogEntry> {
    let day = c.day("log day")?;
    let actor = c.str("actor")?.to_string();
    let reason = c.opt("reason", |c| c.str("reason").map(str::to_string))?;
    let tag = |c: &mut Cursor<'_>| c.u32("tag id").map(TagId);
    let text = |c: &mut Cursor<'_>, what: &str| c.str(what).map(str::to_string);
    let change = match c.u8("change code")? {
        1 => Change::Created {
            tag: tag(c)?,
            name: text(c, "name")?,
            dimension: text(c, "dimension")?,
        },
        2 => Change::Renamed {
            tag: tag(c)?,
            from: text(c, "old name")?,
            to: text(c, "new name")?,
        },
        3 => Change::Archived {
            tag: tag(c)?,
            name: text(c, "name")?,
        },
        4 => Change::Unarchived {
            tag: tag(c)?,
            name: text(c, "name")?,
        },
        5 => Change::Deleted {
            tag: tag(c)?,
            name: text(c, "name")?,
            members: c.u64("member count")?,
        },
        6 => Change::Merged {
            from: tag(c)?,
            from_name: text(c, "name")?,
            into: tag(c)?,
            into_name: text(c, "name")?,
        },
        7 => Change::TtlChanged {
            tag: tag(c)?,
            from: c.opt("old time-to-live", |c| c.u32("old time-to-live"))?,
            to: c.opt("new time-to-live", |c| c.u32("new time-to-live"))?,
        },
        8 => Change::Described { tag: tag(c)? },
        9 => Change::Coloured {
            dimension: text(c, "dimension")?,
            colour: c.opt("colour", |c| c.str("colour").map(str::to_string))?,
        },
        10 => Change::PolicyChanged {
            policy: read_policy(c)?,
        },
        other => return Err(format!("unknown change code {other} in the log")),
    };
    Ok(LogEntry {
        day,
        actor,
        change,
        reason,
    })
}

fn read_attribute(raw: &Raw, expected_id: usize, live_words: &[u64]) -> Res<AttrSlot> {
    let mut c = raw.cursor();
    let id = c.u32("attribute id")?;
    if id as usize != expected_id {
        return Err(format!(
            "attribute {id} where attribute {expected_id} was expected (ids are dense, in order)"
        ));
    }
    if expected_id >= MAX_ATTRIBUTES {
        return Err(format!("more than {MAX_ATTRIBUTES} attributes (the limit)"));
    }
    let name = c.str("attribute name")?.to_string();
    check_attr_name(&name).map_err(|e| format!("attribute {id}: {e}"))?;
    let kind = match c.u8("attribute kind")? {
        0 => AttrKind::Int,
        1 => AttrKind::Day,
        other => return Err(format!("attribute {id} has an unknown kind {other}")),
    };
    let n = c.u64("value slots")?;
    let words_len = n.div_ceil(64);
    if words_len > live_words.len() as u64 {
        return Err(format!(
            "attribute {id} has {n} value slots, more than the {} ids handed out",
            live_words.len() * 64
        ));
    }
    let n = n as usize;
    let raw_words = c.take(n.div_ceil(64) * 8, "presence words")?;
    let words: Vec<u64> = raw_words
        .chunks_exact(8)
        .map(|w| {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            u64::from_le_bytes(b)
        })
        .collect();
    if let Some(last) = words.last() {
        let used = n - (words.len() - 1) * 64;
        if last >> (used - 1) != 1 {
            return Err(format!(
                "attribute {id}: the presence bits must end with the last value slot"
            ));
        }
    }
    if let Some(w) = words.iter().zip(live_words).position(|(p, l)| p & !l != 0) {
        let bad = words
            .get(w)
            .zip(live_words.get(w))
            .map_or(0, |(p, l)| p & !l);
        return Err(format!(
            "attribute {id} has a value for customer id {}, which is not a live customer",
            w * 64 + bad.trailing_zeros() as usize
        ));
    }
    let base = c.i64("base")?;
    let width = c.u8("width")? as usize;
    if !matches!(width, 1 | 2 | 4 | 8) {
        return Err(format!(
            "attribute {id} has a value width of {width} bytes (1, 2, 4 or 8)"
        ));
    }
    let bytes = c.take(n.saturating_mul(width), "values")?;
    c.end()?;
    let present = words_to_bitmap(&words);
    let decoded = match width {
        1 => decode_values::<1>(bytes, base, &words),
        2 => decode_values::<2>(bytes, base, &words),
        4 => decode_values::<4>(bytes, base, &words),
        _ => decode_values::<8>(bytes, base, &words),
    };
    let (values, planes) = decoded.map_err(|e| format!("attribute {id}: {e}"))?;
    // The top plane is the top bit of the largest offset: every value is in
    // `base..base + 2^planes`, so days need a look at each value only near the i32 limits.
    let bound = i128::from(base) + (1i128 << planes.len()) - 1;
    if kind == AttrKind::Day
        && !present.is_empty()
        && (i32::try_from(base).is_err() || i32::try_from(bound).is_err())
        && let Some(first) = present.iter().find(|&i| {
            values
                .get(i as usize)
                .is_some_and(|v| i32::try_from(*v).is_err())
        })
    {
        return Err(format!(
            "attribute {id} holds days, and customer id {first} has a value beyond them"
        ));
    }
    Ok(AttrSlot {
        info: AttrInfo {
            id: AttrId(id),
            name,
            kind,
        },
        column: Arc::new(Column::restore(values, present, words, base, planes)),
    })
}

/// Values of ids `0..n` from `W`-byte offsets above `base` (0 for ids without a value,
/// whose slots must hold 0), and the bit-sliced index of the offsets: bit `b` of every
/// offset in plane `b`, one word per word of 64 ids, up to the top bit of the largest
/// offset.
///
/// One pass per word of 64 ids, on their slots in place: the values are the slots plus
/// `base` (ids without a value are visited afterwards, one set bit at a time, to check
/// their slot and clear their value), and [`bit_slice`] turns the slots into one word per
/// plane.
fn decode_values<const W: usize>(
    bytes: &[u8],
    base: i64,
    words: &[u64],
) -> Res<(Vec<i64>, Vec<Vec<u64>>)> {
    let mut values: Vec<i64> = Vec::with_capacity(bytes.len() / W);
    let mut planes: Vec<Vec<u64>> = (0..8 * W)
        .map(|_| Vec::with_capacity(words.len()))
        .collect();
    // Bits of the slots of ids without a value (must stay 0), and of every slot (its top
    // bit is the top bit of the largest offset).
    let (mut absent, mut all) = (0u64, 0u64);
    let mut block = [0u64; 64];
    for (chunk, &word) in bytes.chunks(64 * W).zip(words) {
        let start = values.len();
        values.extend(
            chunk
                .chunks_exact(W)
                .map(|slot| base.wrapping_add(offset::<W>(slot) as i64)),
        );
        let ids = values.len() - start;
        let in_chunk = u64::MAX.checked_shr(64 - ids as u32).unwrap_or(0);
        let mut without = !word & in_chunk;
        if without != 0 {
            let out = values.get_mut(start..).unwrap_or_default();
            while without != 0 {
                let i = without.trailing_zeros() as usize;
                absent |= chunk.get(i * W..(i + 1) * W).map_or(0, offset::<W>);
                if let Some(v) = out.get_mut(i) {
                    *v = 0;
                }
                without &= without - 1;
            }
        }
        bit_slice::<W>(chunk, &mut block);
        for (b, (plane, &t)) in planes.iter_mut().zip(block.iter()).enumerate() {
            plane.push(t);
            all |= u64::from(t != 0) << b;
        }
    }
    // The largest offset that keeps `base + offset` an i64.
    let max_off = (i128::from(i64::MAX) - i128::from(base)) as u64;
    if all > max_off {
        // Only the values present count: find the largest.
        let hi = values
            .chunks(64)
            .zip(words)
            .flat_map(|(chunk, &word)| {
                chunk
                    .iter()
                    .enumerate()
                    .filter(move |(i, _)| word >> i & 1 == 1)
                    .map(|(_, v)| v.wrapping_sub(base) as u64)
            })
            .max()
            .unwrap_or(0);
        if hi > max_off {
            return Err("a value does not fit in 64 bits".into());
        }
    }
    if absent != 0 {
        return Err("a customer without a value has a non-zero slot".into());
    }
    planes.truncate(64 - all.leading_zeros() as usize);
    Ok((values, planes))
}

/// A `W`-byte little-endian slot as a number.
fn offset<const W: usize>(slot: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    if let (Some(to), Some(from)) = (a.get_mut(..W), slot.get(..W)) {
        to.copy_from_slice(from);
    }
    u64::from_le_bytes(a)
}

/// Transposes up to 64 slots of `W` bytes (`8 W` bits each) into `rows`: bit `i` of row
/// `b` is bit `b` of slot `i`, for `b < 8 W` (slots past the end of `chunk` count as 0).
fn bit_slice<const W: usize>(chunk: &[u8], rows: &mut [u64; 64]) {
    rows.fill(0);
    for (row, slot) in rows.iter_mut().zip(chunk.chunks_exact(W)) {
        *row = offset::<W>(slot);
    }
    transpose64(rows, 8 * W);
}

fn read_members(
    raw: &Raw,
    taxonomy: &Taxonomy,
    live: &RoaringBitmap,
    last_tag: Option<u32>,
) -> Res<(u32, TagMembers)> {
    let mut c = raw.cursor();
    let tag = c.u32("tag id")?;
    if last_tag.is_some_and(|t| tag <= t) {
        return Err(format!(
            "members of tag {tag} after those of tag {} (tags must ascend)",
            last_tag.unwrap_or(0)
        ));
    }
    if taxonomy.get(TagId(tag)).is_err() {
        return Err(format!("members of tag {tag}, which does not exist"));
    }
    let base_day = c.day("base day")?;
    let all = c.bitmap("member bitmap")?;
    // Without erased ids the live customers are `0..=live.max()`, and a bitmap whose
    // largest member is at most that is a subset: no need to look at every member.
    let contiguous = live.max().is_some_and(|m| live.len() == u64::from(m) + 1);
    let within = if contiguous {
        all.max() <= live.max()
    } else {
        all.is_subset(live)
    };
    if !within {
        let first = (&all - live).min().unwrap_or(0);
        return Err(format!(
            "tag {tag} has member {first}, which is not a live customer"
        ));
    }
    let nb = c.count(12, "day buckets")?;
    let mut dated = BTreeMap::new();
    let mut seen = RoaringBitmap::new();
    let mut last_day: Option<Day> = None;
    for _ in 0..nb {
        let day = c.day("bucket day")?;
        if last_day.is_some_and(|d| day <= d) {
            return Err(format!(
                "tag {tag}: bucket days must ascend, {day} does not"
            ));
        }
        last_day = Some(day);
        if day == base_day {
            return Err(format!("tag {tag}: a bucket for the base day {day}"));
        }
        let bm = c.bitmap("bucket bitmap")?;
        if bm.is_empty() {
            return Err(format!("tag {tag}: the bucket of {day} is empty"));
        }
        if !bm.is_subset(&all) {
            return Err(format!(
                "tag {tag}: the bucket of {day} holds customers that are not members"
            ));
        }
        if !bm.is_disjoint(&seen) {
            return Err(format!(
                "tag {tag}: the bucket of {day} overlaps an earlier one"
            ));
        }
        seen |= &bm;
        dated.insert(day, bm);
    }
    c.end()?;
    Ok((tag, TagMembers::from_parts(all, base_day, dated)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found() {
        assert_eq!(first_duplicate(|| [].into_iter()), None);
        assert_eq!(first_duplicate(|| [5].into_iter()), None);
        assert_eq!(first_duplicate(|| [3, 1, 2].into_iter()), None);
        assert_eq!(first_duplicate(|| [1, 2, 3, 3].into_iter()), Some(3));
        assert_eq!(
            first_duplicate(|| [MAX_PHONE, 7, MAX_PHONE].into_iter()),
            Some(MAX_PHONE)
        );
        let mut v: Vec<u64> = (0..100_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % MAX_PHONE)
            .collect();
        assert_eq!(first_duplicate(|| v.iter().copied()), None);
        v.push(v[4_321]);
        assert_eq!(first_duplicate(|| v.iter().copied()), Some(v[4_321]));
        // Ascending, then one value again.
        let mut v: Vec<u64> = (1..100_000u64).collect();
        assert_eq!(first_duplicate(|| v.iter().copied()), None);
        v.insert(50_000, 77);
        assert_eq!(first_duplicate(|| v.iter().copied()), Some(77));
        // Random lengths and values against a plain sort, with and without repeats.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..200 {
            let len = (next() % 3_000) as usize;
            let range = [10, 5_000, MAX_PHONE][round % 3];
            let v: Vec<u64> = (0..len).map(|_| 1 + next() % range).collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            let expected = sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
            assert_eq!(
                first_duplicate(|| v.iter().copied()),
                expected,
                "round {round}"
            );
        }
    }

    #[test]
    fn bit_slicing_matches_the_full_transpose() {
        fn check<const W: usize>(slots: &[u64]) {
            let bytes: Vec<u8> = slots
                .iter()
                .flat_map(|v| v.to_le_bytes()[..W].to_vec())
                .collect();
            let mut full = [0u64; 64];
            for (f, v) in full.iter_mut().zip(slots) {
                *f = v & (u64::MAX >> (64 - 8 * W));
            }
            transpose64(&mut full, 8 * W);
            let mut rows = [0u64; 64];
            bit_slice::<W>(&bytes, &mut rows);
            assert_eq!(
                rows[..8 * W],
                full[..8 * W],
                "width {W}, {} slots",
                slots.len()
            );
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for len in [0usize, 1, 5, 31, 63, 64] {
            let slots: Vec<u64> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                })
                .collect();
            check::<1>(&slots);
            check::<2>(&slots);
            check::<4>(&slots);
            check::<8>(&slots);
        }
    }

    #[test]
    fn portable_header_checks() {
        assert!(check_portable_header(&[]).is_err());
        let mut bytes = Vec::new();
        let bm: RoaringBitmap = (0..10).collect();
        bm.serialize_into(&mut bytes).unwrap();
        assert!(check_portable_header(&bytes).is_ok());
        // A claimed 65,536 containers in 16 bytes.
        let mut fake = 12346u32.to_le_bytes().to_vec();
        fake.extend_from_slice(&65_536u32.to_le_bytes());
        fake.extend_from_slice(&[0; 8]);
        assert_eq!(
            check_portable_header(&fake).unwrap_err(),
            "65536 containers do not fit in 16 bytes"
        );
    }
}
