//! The journal's operations: the bytes of each (written by the store's mutations through
//! the `put_*` helpers), their decoding from untrusted bytes, and their application to a
//! store through its public methods (see `JOURNAL.md` for the layout of each).

// Decodes untrusted bytes: no construct that can panic.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use roaring::RoaringBitmap;

use crate::day::Day;
use crate::decimal::Decimal;
use crate::error::Error;
use crate::store::Store;
use crate::store::attribute::{AttrId, AttrKind, Value};
use crate::store::directory::CustomerKey;
use crate::store::policy::{NamingRules, Policy, TaxonomyAction};
use crate::store::taxonomy::{Edit, TagId, TagKind, TagSpec};

/// Operation codes (the third byte of a record).
pub(crate) mod code {
    pub(crate) const ADD_CUSTOMERS: u8 = 1;
    pub(crate) const ERASE_CUSTOMER: u8 = 2;
    pub(crate) const CREATE_TAG: u8 = 3;
    pub(crate) const RENAME_TAG: u8 = 4;
    pub(crate) const ARCHIVE_TAG: u8 = 5;
    pub(crate) const DELETE_TAG: u8 = 6;
    pub(crate) const MERGE_TAGS: u8 = 7;
    pub(crate) const SET_TTL: u8 = 8;
    pub(crate) const DESCRIBE_TAG: u8 = 9;
    pub(crate) const SET_COLOUR: u8 = 10;
    pub(crate) const RECORD_USE: u8 = 11;
    pub(crate) const SET_POLICY: u8 = 12;
    pub(crate) const ADD_TAG: u8 = 13;
    pub(crate) const REMOVE_TAG: u8 = 14;
    pub(crate) const ADD_TAG_BULK: u8 = 15;
    pub(crate) const REMOVE_TAG_BULK: u8 = 16;
    pub(crate) const MOVE_TAG_BULK: u8 = 17;
    pub(crate) const SET_TAGS: u8 = 18;
    pub(crate) const EXPIRE: u8 = 19;
    pub(crate) const DEFINE_ATTRIBUTE: u8 = 20;
    pub(crate) const SET_VALUE: u8 = 21;
    pub(crate) const SET_VALUES: u8 = 22;
    pub(crate) const CLEAR_VALUE: u8 = 23;
    pub(crate) const SET_VALUES_PACKED: u8 = 24;
    pub(crate) const CLEAR_VALUES: u8 = 25;
}

// --------------------------------------------------------------------------------------
// Writing
// --------------------------------------------------------------------------------------

pub(crate) fn put_u8(b: &mut Vec<u8>, v: u8) {
    b.push(v);
}
pub(crate) fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_day(b: &mut Vec<u8>, d: Day) {
    b.extend_from_slice(&d.0.to_le_bytes());
}
/// A count: every count the store writes is bounded by u32 ids or the crate's limits.
pub(crate) fn put_len(b: &mut Vec<u8>, n: usize) {
    put_u32(b, u32::try_from(n).unwrap_or(u32::MAX));
}
pub(crate) fn put_str(b: &mut Vec<u8>, s: &str) {
    put_len(b, s.len());
    b.extend_from_slice(s.as_bytes());
}
pub(crate) fn put_opt_str(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            put_u8(b, 1);
            put_str(b, s);
        }
        None => put_u8(b, 0),
    }
}
pub(crate) fn put_opt_u32(b: &mut Vec<u8>, v: Option<u32>) {
    match v {
        Some(v) => {
            put_u8(b, 1);
            put_u32(b, v);
        }
        None => put_u8(b, 0),
    }
}
pub(crate) fn put_tag(b: &mut Vec<u8>, t: TagId) {
    put_u32(b, t.0);
}
pub(crate) fn put_bitmap(b: &mut Vec<u8>, bm: &RoaringBitmap) {
    put_len(b, bm.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = bm.serialize_into(&mut *b);
}
/// Below this many values, [`put_values`] writes the plain layout (12 bytes a value),
/// which is as short for a few values and which journals written before the packed one
/// hold.
const PACK_FROM: usize = 16;

/// The record of [`Store::set_values`]: the packed layout (a bitmap of the customers, then
/// each value as its distance from the smallest, in as few bytes as the largest distance
/// needs) when the customers are strictly ascending and many, else the plain one
/// (`(customer, value)` pairs). Returns the operation code. A bulk load of a column writes
/// 2 to 5 bytes a value instead of 12: less to write, checksum, store and replay.
pub(crate) fn put_values(b: &mut Vec<u8>, attr: AttrId, customers: &[u32], raw: &[i64]) -> u8 {
    let set = if customers.len() >= PACK_FROM {
        ascending_set(customers)
    } else {
        None
    };
    let Some(set) = set else {
        put_u32(b, attr.0);
        put_len(b, customers.len());
        let start = b.len();
        b.resize(start + customers.len() * 12, 0);
        let dst = b.get_mut(start..).unwrap_or_default();
        for (pair, (&c, &v)) in dst.chunks_exact_mut(12).zip(customers.iter().zip(raw)) {
            let bytes = c.to_le_bytes().into_iter().chain(v.to_le_bytes());
            for (to, from) in pair.iter_mut().zip(bytes) {
                *to = from;
            }
        }
        return code::SET_VALUES;
    };
    let (lo, hi) = raw
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = (hi as u64).wrapping_sub(lo as u64);
    let width = (64 - span.leading_zeros()).div_ceil(8).max(1) as usize;
    put_packed_head(b, attr, &set, lo, width);
    let start = b.len();
    b.resize(start + raw.len() * width, 0);
    let dst = b.get_mut(start..).unwrap_or_default();
    match width {
        1 => pack::<1>(dst, raw, lo),
        2 => pack::<2>(dst, raw, lo),
        3 => pack::<3>(dst, raw, lo),
        4 => pack::<4>(dst, raw, lo),
        5 => pack::<5>(dst, raw, lo),
        6 => pack::<6>(dst, raw, lo),
        7 => pack::<7>(dst, raw, lo),
        _ => pack::<8>(dst, raw, lo),
    }
    code::SET_VALUES_PACKED
}

/// The head of a packed record (op 24): the attribute, the customers, the base every
/// value is a distance above, and the bytes a distance takes; `set.len()` distances of
/// `width` bytes follow, in the customers' order. Room for them is reserved here.
pub(crate) fn put_packed_head(
    b: &mut Vec<u8>,
    attr: AttrId,
    set: &RoaringBitmap,
    base: i64,
    width: usize,
) {
    put_u32(b, attr.0);
    put_bitmap(b, set);
    put_i64(b, base);
    put_u8(b, width as u8);
    b.reserve(set.len() as usize * width);
}

/// The customers as a bitmap when they are strictly ascending. Dense ones (a column of
/// the whole store) go through a bit vector, several times faster than inserting one by
/// one; the bitmap is the same either way (arrays up to 4,096 values a container).
fn ascending_set(customers: &[u32]) -> Option<RoaringBitmap> {
    let (&first, &last) = (customers.first()?, customers.last()?);
    let mut ascending = true;
    let mut previous = first;
    for &c in customers.iter().skip(1) {
        ascending &= previous < c;
        previous = c;
    }
    if !ascending {
        return None;
    }
    if u64::from(last - first) + 1 == customers.len() as u64 {
        // Every customer from the first to the last.
        let mut all = RoaringBitmap::new();
        all.insert_range(first..=last);
        return Some(all);
    }
    let base = first & !7;
    let bytes = (last - base) as usize / 8 + 1;
    if bytes > customers.len().saturating_mul(4) {
        return RoaringBitmap::from_sorted_iter(customers.iter().copied()).ok();
    }
    let mut bits = vec![0u8; bytes];
    for &c in customers {
        let at = (c - base) as usize;
        if let Some(byte) = bits.get_mut(at / 8) {
            *byte |= 1 << (at % 8);
        }
    }
    Some(RoaringBitmap::from_lsb0_bytes(base, &bits))
}

/// Each value's distance from `base` in its `W` low bytes, little-endian.
fn pack<const W: usize>(dst: &mut [u8], raw: &[i64], base: i64) {
    for (d, &v) in dst.chunks_exact_mut(W).zip(raw) {
        let gap = (v as u64).wrapping_sub(base as u64).to_le_bytes();
        for (to, from) in d.iter_mut().zip(gap) {
            *to = from;
        }
    }
}

pub(crate) fn put_edit(b: &mut Vec<u8>, e: &Edit) {
    put_str(b, &e.actor);
    put_day(b, e.day);
    put_opt_str(b, e.reason.as_deref());
}
pub(crate) fn put_kind(b: &mut Vec<u8>, k: TagKind) {
    put_u8(
        b,
        match k {
            TagKind::Static => 0,
            TagKind::Dynamic => 1,
        },
    );
}
pub(crate) fn put_spec(b: &mut Vec<u8>, s: &TagSpec) {
    put_str(b, &s.name);
    put_str(b, &s.dimension);
    put_kind(b, s.kind);
    put_opt_u32(b, s.ttl_days);
    put_str(b, &s.description);
}
/// The policy, laid out as the snapshot's policy section.
pub(crate) fn put_policy(b: &mut Vec<u8>, p: &Policy) {
    put_len(b, p.administrators().len());
    for a in p.administrators() {
        put_str(b, a);
    }
    put_len(b, p.open_to_all().len());
    for act in p.open_to_all() {
        let code = TaxonomyAction::ALL
            .iter()
            .position(|x| x == act)
            .unwrap_or(0);
        put_u8(b, code as u8);
    }
    let n = p.naming();
    put_u8(b, u8::from(n.requires_dimension_prefix()));
    put_len(b, n.prefixes().len());
    for (d, pre) in n.prefixes() {
        put_str(b, d);
        put_str(b, pre);
    }
    put_opt_u32(
        b,
        n.char_limit().map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
    );
    put_len(b, n.forbidden_chars().len());
    for ch in n.forbidden_chars() {
        put_u32(b, *ch as u32);
    }
}

// --------------------------------------------------------------------------------------
// Reading
// --------------------------------------------------------------------------------------

/// One decoded operation.
#[derive(Debug)]
pub(crate) enum Op {
    AddCustomers(Vec<CustomerKey>),
    EraseCustomer(u32),
    CreateTag(Edit, TagSpec),
    RenameTag(Edit, TagId, String),
    ArchiveTag(Edit, TagId, bool),
    DeleteTag(Edit, TagId),
    MergeTags(Edit, TagId, TagId),
    SetTtl(Edit, TagId, Option<u32>),
    DescribeTag(Edit, TagId, TagKind, String),
    SetColour(Edit, String, Option<String>),
    RecordUse(TagId, Day),
    SetPolicy(Edit, Policy),
    AddTag(u32, TagId, Day),
    RemoveTag(u32, TagId),
    AddTagBulk(TagId, Day, RoaringBitmap),
    RemoveTagBulk(TagId, RoaringBitmap),
    MoveTagBulk(TagId, TagId, Day, RoaringBitmap),
    SetTags(u32, Day, Vec<TagId>, Vec<TagId>),
    Expire(Day),
    DefineAttribute(String, AttrKind),
    SetValue(u32, AttrId, i64),
    SetValues(AttrId, Vec<u32>, Vec<i64>),
    ClearValue(u32, AttrId),
    ClearValues(AttrId, RoaringBitmap),
}

type Res<T> = Result<T, String>;

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(format!(
                "{what}: {n} bytes needed, {} left in the record",
                self.bytes.len()
            ));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, what: &str) -> Res<[u8; N]> {
        let b = self.take(N, what)?;
        b.try_into().map_err(|_| format!("{what}: short"))
    }
    fn u8(&mut self, what: &str) -> Res<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u32(&mut self, what: &str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Res<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn i64(&mut self, what: &str) -> Res<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
    fn day(&mut self, what: &str) -> Res<Day> {
        let days = i32::from_le_bytes(self.array(what)?);
        Day::from_days(days).map_err(|_| format!("{what} {days} is not a day"))
    }
    fn flag(&mut self, what: &str) -> Res<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(format!("{what}: flag {v} is neither 0 nor 1")),
        }
    }
    /// A count of items of at least `min_bytes` each, checked against the bytes left
    /// before anything is allocated for them.
    fn count(&mut self, min_bytes: usize, what: &str) -> Res<usize> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_bytes) > self.bytes.len() {
            return Err(format!(
                "{what}: {n} do not fit in the {} bytes left",
                self.bytes.len()
            ));
        }
        Ok(n)
    }
    fn str(&mut self, what: &str) -> Res<String> {
        let n = self.u32(what)? as usize;
        let b = self.take(n, what)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| format!("{what} is not UTF-8"))
    }
    fn opt_str(&mut self, what: &str) -> Res<Option<String>> {
        if self.flag(what)? {
            self.str(what).map(Some)
        } else {
            Ok(None)
        }
    }
    fn opt_u32(&mut self, what: &str) -> Res<Option<u32>> {
        if self.flag(what)? {
            self.u32(what).map(Some)
        } else {
            Ok(None)
        }
    }
    fn tag(&mut self) -> Res<TagId> {
        self.u32("tag").map(TagId)
    }
    fn edit(&mut self) -> Res<Edit> {
        let actor = self.str("actor")?;
        let day = self.day("edit day")?;
        let reason = self.opt_str("reason")?;
        Ok(Edit { actor, day, reason })
    }
    fn kind(&mut self) -> Res<TagKind> {
        match self.u8("tag kind")? {
            0 => Ok(TagKind::Static),
            1 => Ok(TagKind::Dynamic),
            k => Err(format!("unknown tag kind {k}")),
        }
    }
    fn key(&mut self) -> Res<CustomerKey> {
        match self.u8("key kind")? {
            0 => Ok(CustomerKey::Phone(self.u64("phone key")?)),
            1 => Ok(CustomerKey::Member(self.str("member id")?)),
            k => Err(format!("unknown key kind {k}")),
        }
    }
    fn bitmap(&mut self, what: &str) -> Res<RoaringBitmap> {
        let n = self.u32(what)? as usize;
        decode_bitmap(self.take(n, what)?, what)
    }
    fn policy(&mut self) -> Res<Policy> {
        let invalid = |e: Error| e.to_string();
        let na = self.count(4, "administrators")?;
        let mut administrators = Vec::with_capacity(na);
        for _ in 0..na {
            administrators.push(self.str("administrator")?);
        }
        let mut policy = if administrators.is_empty() {
            Policy::open()
        } else {
            Policy::administered_by(administrators).map_err(invalid)?
        };
        let no = self.count(1, "open actions")?;
        for _ in 0..no {
            let code = self.u8("action")?;
            let act = TaxonomyAction::ALL
                .get(usize::from(code))
                .copied()
                .ok_or_else(|| format!("unknown taxonomy action {code}"))?;
            policy = policy.allow_anyone(act);
        }
        let mut naming = NamingRules::new();
        if self.flag("dimension prefix rule")? {
            naming = naming.require_dimension_prefix();
        }
        let np = self.count(8, "prefixes")?;
        for _ in 0..np {
            let d = self.str("prefix dimension")?;
            let p = self.str("prefix")?;
            naming = naming.prefix(d, p).map_err(invalid)?;
        }
        if let Some(m) = self.opt_u32("maximum length")? {
            naming = naming.max_chars(m as usize).map_err(invalid)?;
        }
        let nf = self.count(4, "forbidden characters")?;
        let mut forbidden = String::new();
        for _ in 0..nf {
            let v = self.u32("forbidden character")?;
            forbidden.push(char::from_u32(v).ok_or_else(|| format!("{v:#x} is not a character"))?);
        }
        let naming = naming.forbid_chars(&forbidden).map_err(invalid)?;
        Ok(policy.with_naming(naming))
    }
}

/// A portable Roaring bitmap that must fill `bytes` exactly, `what` naming it in messages:
/// its header checked before roaring allocates, then validated by roaring (sorted
/// containers and values, cardinalities that match). Snapshots read their bitmaps so too.
pub(crate) fn decode_bitmap(bytes: &[u8], what: &str) -> Res<RoaringBitmap> {
    check_portable_header(bytes).map_err(|e| format!("{what}: {e}"))?;
    let mut rest = bytes;
    let bm = RoaringBitmap::deserialize_from(&mut rest)
        .map_err(|e| format!("{what} is not a valid portable Roaring bitmap: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{what} has {} bytes after its end", rest.len()));
    }
    Ok(bm)
}

/// Checks the container count of a portable Roaring header against the bytes present
/// (each container takes at least 4 bytes of description and 2 of data), so that roaring
/// never allocates for containers that are not there.
pub(crate) fn check_portable_header(bytes: &[u8]) -> Res<()> {
    let word = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    };
    let cookie = word(0).ok_or("a bitmap needs at least 8 bytes")?;
    let containers = if cookie == 12346 {
        u64::from(word(4).ok_or("a bitmap needs at least 8 bytes")?)
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

/// Decodes one record's payload; every byte must belong to the operation.
pub(crate) fn decode(op: u8, payload: &[u8]) -> Res<Op> {
    let mut c = Cursor { bytes: payload };
    let out = match op {
        code::ADD_CUSTOMERS => {
            let n = c.count(5, "customer keys")?;
            let mut keys = Vec::with_capacity(n);
            for _ in 0..n {
                keys.push(c.key()?);
            }
            Op::AddCustomers(keys)
        }
        code::ERASE_CUSTOMER => Op::EraseCustomer(c.u32("customer")?),
        code::CREATE_TAG => {
            let edit = c.edit()?;
            let name = c.str("tag name")?;
            let dimension = c.str("dimension")?;
            let kind = c.kind()?;
            let ttl_days = c.opt_u32("time-to-live")?;
            let description = c.str("description")?;
            Op::CreateTag(
                edit,
                TagSpec {
                    name,
                    dimension,
                    kind,
                    ttl_days,
                    description,
                },
            )
        }
        code::RENAME_TAG => Op::RenameTag(c.edit()?, c.tag()?, c.str("new name")?),
        code::ARCHIVE_TAG => Op::ArchiveTag(c.edit()?, c.tag()?, c.flag("archived")?),
        code::DELETE_TAG => Op::DeleteTag(c.edit()?, c.tag()?),
        code::MERGE_TAGS => Op::MergeTags(c.edit()?, c.tag()?, c.tag()?),
        code::SET_TTL => Op::SetTtl(c.edit()?, c.tag()?, c.opt_u32("time-to-live")?),
        code::DESCRIBE_TAG => {
            Op::DescribeTag(c.edit()?, c.tag()?, c.kind()?, c.str("description")?)
        }
        code::SET_COLOUR => Op::SetColour(c.edit()?, c.str("dimension")?, c.opt_str("colour")?),
        code::RECORD_USE => Op::RecordUse(c.tag()?, c.day("day of use")?),
        code::SET_POLICY => Op::SetPolicy(c.edit()?, c.policy()?),
        code::ADD_TAG => Op::AddTag(c.u32("customer")?, c.tag()?, c.day("day")?),
        code::REMOVE_TAG => Op::RemoveTag(c.u32("customer")?, c.tag()?),
        code::ADD_TAG_BULK => Op::AddTagBulk(c.tag()?, c.day("day")?, c.bitmap("customers")?),
        code::REMOVE_TAG_BULK => Op::RemoveTagBulk(c.tag()?, c.bitmap("customers")?),
        code::MOVE_TAG_BULK => {
            Op::MoveTagBulk(c.tag()?, c.tag()?, c.day("day")?, c.bitmap("customers")?)
        }
        code::SET_TAGS => {
            let customer = c.u32("customer")?;
            let day = c.day("day")?;
            let mut lists = [Vec::new(), Vec::new()];
            for list in &mut lists {
                let n = c.count(4, "tags")?;
                list.reserve(n);
                for _ in 0..n {
                    list.push(c.tag()?);
                }
            }
            let [added, removed] = lists;
            Op::SetTags(customer, day, added, removed)
        }
        code::EXPIRE => Op::Expire(c.day("today")?),
        code::DEFINE_ATTRIBUTE => {
            let name = c.str("attribute name")?;
            let kind = match c.u8("attribute kind")? {
                0 => AttrKind::Int,
                1 => AttrKind::Day,
                2 => AttrKind::Decimal {
                    scale: c.u8("decimal places")?,
                },
                k => return Err(format!("unknown attribute kind {k}")),
            };
            Op::DefineAttribute(name, kind)
        }
        code::SET_VALUE => Op::SetValue(
            c.u32("customer")?,
            AttrId(c.u32("attribute")?),
            c.i64("value")?,
        ),
        code::SET_VALUES => {
            let attr = AttrId(c.u32("attribute")?);
            let n = c.count(12, "values")?;
            let mut customers = Vec::with_capacity(n);
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                customers.push(c.u32("customer")?);
                values.push(c.i64("value")?);
            }
            Op::SetValues(attr, customers, values)
        }
        code::SET_VALUES_PACKED => {
            let attr = AttrId(c.u32("attribute")?);
            let customers = c.bitmap("customers")?;
            let base = c.i64("base value")?;
            let width = usize::from(c.u8("value width")?);
            if !(1..=8).contains(&width) {
                return Err(format!("value width {width} is not 1 to 8 bytes"));
            }
            let n = customers.len();
            let left = c.bytes.len() as u64;
            if n.checked_mul(width as u64) != Some(left) {
                return Err(format!(
                    "{n} values of {width} bytes do not take the {left} bytes left"
                ));
            }
            let values = c
                .bytes
                .chunks_exact(width)
                .map(|gap| {
                    let mut w = [0u8; 8];
                    for (to, from) in w.iter_mut().zip(gap) {
                        *to = *from;
                    }
                    base.wrapping_add(u64::from_le_bytes(w) as i64)
                })
                .collect();
            c.bytes = &[];
            Op::SetValues(attr, customers.iter().collect(), values)
        }
        code::CLEAR_VALUE => Op::ClearValue(c.u32("customer")?, AttrId(c.u32("attribute")?)),
        code::CLEAR_VALUES => Op::ClearValues(AttrId(c.u32("attribute")?), c.bitmap("customers")?),
        other => return Err(format!("unknown operation {other}")),
    };
    if !c.bytes.is_empty() {
        return Err(format!("{} bytes left after the operation", c.bytes.len()));
    }
    Ok(out)
}

// --------------------------------------------------------------------------------------
// Applying
// --------------------------------------------------------------------------------------

/// A value of the attribute's kind from its stored integer.
fn value(store: &Store, attr: AttrId, raw: i64) -> Result<Value, Error> {
    Ok(match store.attribute(attr)?.kind {
        AttrKind::Int => Value::Int(raw),
        AttrKind::Day => Value::Day(Day::from_days(i32::try_from(raw).unwrap_or(i32::MAX))?),
        AttrKind::Decimal { scale } => Value::Decimal(Decimal::new(raw, scale)?),
    })
}

/// Applies one operation through the store's public methods, which check it as they
/// check every call.
pub(crate) fn apply(store: &mut Store, op: &Op) -> Result<(), Error> {
    match op {
        Op::AddCustomers(keys) => {
            let first = store.id_space();
            let n = keys.len() as u64;
            let ids = store.ensure_customers(keys.iter().cloned())?;
            let fresh = ids
                .iter()
                .enumerate()
                .all(|(i, &id)| u64::from(id) == first + i as u64);
            if !fresh || store.id_space() != first + n {
                return Err(crate::error::ErrorKind::InvalidArgument(
                    "a customer key of the record is already in the store".into(),
                )
                .into());
            }
        }
        Op::EraseCustomer(id) => store.erase_customer(*id)?,
        Op::CreateTag(edit, spec) => {
            store.create_tag(edit, spec.clone())?;
        }
        Op::RenameTag(edit, tag, name) => store.rename_tag(edit, *tag, name)?,
        Op::ArchiveTag(edit, tag, true) => store.archive_tag(edit, *tag)?,
        Op::ArchiveTag(edit, tag, false) => store.unarchive_tag(edit, *tag)?,
        Op::DeleteTag(edit, tag) => {
            store.delete_tag(edit, *tag)?;
        }
        Op::MergeTags(edit, into, from) => {
            store.merge_tags(edit, *into, *from)?;
        }
        Op::SetTtl(edit, tag, ttl) => store.set_ttl(edit, *tag, *ttl)?,
        Op::DescribeTag(edit, tag, kind, text) => {
            store.describe_tag(edit, *tag, *kind, text.clone())?
        }
        Op::SetColour(edit, dimension, colour) => {
            store.set_dimension_colour(edit, dimension, colour.clone())?
        }
        Op::RecordUse(tag, day) => store.record_use(*tag, *day)?,
        Op::SetPolicy(edit, policy) => store.set_policy(edit, policy.clone())?,
        Op::AddTag(c, tag, day) => store.add_tag(*c, *tag, *day)?,
        Op::RemoveTag(c, tag) => {
            store.remove_tag(*c, *tag)?;
        }
        Op::AddTagBulk(tag, day, set) => store.add_tag_bulk(*tag, set, *day)?,
        Op::RemoveTagBulk(tag, set) => {
            store.remove_tag_bulk(*tag, set)?;
        }
        Op::MoveTagBulk(from, to, day, set) => {
            store.move_tag_bulk(set, *from, *to, *day)?;
        }
        Op::SetTags(c, day, added, removed) => {
            for &t in added {
                store.add_tag(*c, t, *day)?;
            }
            for &t in removed {
                store.remove_tag(*c, t)?;
            }
        }
        Op::Expire(today) => {
            store.expire(*today);
        }
        Op::DefineAttribute(name, kind) => {
            store.define_attribute(name, *kind)?;
        }
        Op::SetValue(c, attr, raw) => {
            let v = value(store, *attr, *raw)?;
            store.set_value(*c, *attr, v)?;
        }
        Op::SetValues(attr, customers, raws) => {
            let values = raws
                .iter()
                .map(|&raw| value(store, *attr, raw))
                .collect::<Result<Vec<Value>, Error>>()?;
            store.set_values(*attr, customers, &values)?;
        }
        Op::ClearValue(c, attr) => {
            store.clear_value(*c, *attr)?;
        }
        Op::ClearValues(attr, set) => {
            store.clear_values(*attr, set)?;
        }
    }
    Ok(())
}
