//! Numeric attributes per customer, indexed for range predicates.
//!
//! An attribute (last interaction day, purchase count, spend in cents, any score) is one
//! column with three parts:
//!
//! - the values by customer id, each stored as its offset above the column's base (the
//!   smallest value, or a little below it) in the narrowest of 1, 2, 4 or 8 bytes that
//!   holds the largest offset ([`Offsets`]), for probing a few candidates and for
//!   aggregates: a purchase count takes a byte a customer, a day within 179 years two,
//!   money in cents up to 42 million four;
//! - a presence bitmap (and the same as words), so "no value" is distinct from zero;
//! - a bit-sliced index (BSI, as in FeatureBase) of the same offsets: bit `i` of every
//!   offset is one plane, a bit per customer id. A range predicate over everyone costs
//!   O(bits) word operations instead of a scan.
//!
//! At a million customers the shared workload's five columns (three days, a count, spend)
//! take 20 bytes a customer: values 11, presence 1.3, index 7.8 (the values were 8 bytes
//! a column, 49 bytes in all, when they were `i64`s). The values are kept beside the index
//! rather than read back from it: a probe reads one slot, where the index would cost one
//! cache miss per plane.
//!
//! The width follows the index's depth: a value that needs more planes widens the slots,
//! a value below the base re-bases them (with slack, so that decreasing values re-base
//! O(log) times), and bulk loads ([`Column::set_many`], [`Column::from_ids_in_order`])
//! pick the narrowest width for what they hold. Code that reads the values matches the
//! width once and runs a loop monomorphic in it ([`Column::for_each`], the probe, the
//! snapshot writer), never a branch per value.
//!
//! [`Column::range`] picks between probing and the BSI from the size of the candidate set.

use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::base::bits::transpose64;
use crate::day::Day;
use crate::decimal::Decimal;
use crate::store::membership::bitmap_bytes;

/// What an attribute holds.
///
/// Money is a [`AttrKind::Decimal`] attribute with the currency's decimal places: values
/// are [`Decimal`]s, stored as whole units (cents at scale 2) in the same column and index
/// as whole numbers, and queries, aggregates and reports read and print them with their
/// places (`spend > 35.50`, `15,396.18`).
///
/// ```
/// use audience::{AttrKind, CustomerKey, Day, Decimal, Query, Store, Value};
///
/// let mut store = Store::new();
/// let spend = store.define_attribute("spend", AttrKind::Decimal { scale: 2 })?;
/// let c = store.add_customer(CustomerKey::member("m1")?)?;
/// store.set_value(c, spend, Decimal::parse_at("15396.18", 2)?)?;
/// assert_eq!(store.value(c, spend)?.map(|v| v.to_string()), Some("15396.18".into()));
///
/// let today = Day::from_ymd(2025, 1, 1)?;
/// assert_eq!(store.count(&Query::parse("spend > 15396.17")?, today)?, 1);
/// assert_eq!(store.count(&Query::parse("spend BETWEEN 10 AND 99.99")?, today)?, 0);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AttrKind {
    /// Whole numbers (`i64`): counts, scores.
    Int,
    /// Calendar days: last interaction, first purchase...
    Day,
    /// Decimals with `scale` places (1 to [`AttrKind::MAX_DECIMAL_SCALE`]): money, with the
    /// currency's places. Stored as whole units (`i64`), so at scale 2 a value lies within
    /// ±92,233,720,368,547,758.07; sums are exact (`i128`).
    Decimal {
        /// The number of decimal places every value has.
        scale: u8,
    },
}

impl AttrKind {
    /// The most decimal places a [`AttrKind::Decimal`] attribute keeps: 6, so that a value
    /// still reaches ±9,223,372,036,854.775807 in `i64` units.
    pub const MAX_DECIMAL_SCALE: u8 = 6;

    pub(crate) fn noun(self) -> &'static str {
        match self {
            AttrKind::Int => "number",
            AttrKind::Day => "day",
            AttrKind::Decimal { .. } => "decimal",
        }
    }

    /// What an attribute of this kind holds, for messages: "numbers", "days".
    pub(crate) fn plural(self) -> &'static str {
        match self {
            AttrKind::Int => "numbers",
            AttrKind::Day => "days",
            AttrKind::Decimal { .. } => "decimals",
        }
    }

    /// What a setting that reads this kind needs: "a number attribute", "a day attribute".
    pub(crate) fn needing(self) -> &'static str {
        match self {
            AttrKind::Int => "a number attribute",
            AttrKind::Day => "a day attribute",
            AttrKind::Decimal { .. } => "a decimal attribute",
        }
    }

    /// The decimal places of a value: a decimal attribute's scale, 0 for the others.
    pub(crate) fn scale(self) -> u8 {
        match self {
            AttrKind::Decimal { scale } => scale,
            AttrKind::Int | AttrKind::Day => 0,
        }
    }
}

/// A value of an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Value {
    /// A whole number.
    Int(i64),
    /// A calendar day.
    Day(Day),
    /// A decimal, for a [`AttrKind::Decimal`] attribute. Setting one rescales it to the
    /// attribute's places when that is exact (`35.5` to `35.50`) and refuses it otherwise.
    Decimal(Decimal),
}

impl Value {
    /// What kind of attribute holds this value.
    pub fn kind(self) -> AttrKind {
        match self {
            Value::Int(_) => AttrKind::Int,
            Value::Day(_) => AttrKind::Day,
            Value::Decimal(d) => AttrKind::Decimal { scale: d.scale() },
        }
    }

    /// The stored integer (a day is its number of days since 1970-01-01, a decimal its
    /// units: 3,550 for `35.50`).
    pub fn raw(self) -> i64 {
        match self {
            Value::Int(v) => v,
            Value::Day(d) => i64::from(d.0),
            Value::Decimal(d) => d.units(),
        }
    }

    pub(crate) fn from_raw(kind: AttrKind, raw: i64) -> Value {
        match kind {
            AttrKind::Int => Value::Int(raw),
            // Day columns hold valid days (checked when set and when loaded).
            AttrKind::Day => Value::Day(Day(
                raw.clamp(i64::from(Day::MIN.0), i64::from(Day::MAX.0)) as i32,
            )),
            AttrKind::Decimal { scale } => Value::Decimal(Decimal::from_parts(raw, scale)),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<Day> for Value {
    fn from(d: Day) -> Value {
        Value::Day(d)
    }
}

impl From<Decimal> for Value {
    fn from(d: Decimal) -> Value {
        Value::Decimal(d)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Day(d) => write!(f, "{d}"),
            Value::Decimal(d) => write!(f, "{d}"),
        }
    }
}

/// The id of an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct AttrId(pub(crate) u32);

impl AttrId {
    /// The id as a number (dense, from 0).
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// An attribute's name and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AttrInfo {
    /// The attribute's id.
    pub id: AttrId,
    /// Its name (letters of any script, digits and `_`; not starting with a digit).
    pub name: String,
    /// What it holds.
    pub kind: AttrKind,
}

/// Ids per block of the range scan: 256 words of the planes stay in L1 while every plane
/// is applied to them.
const BLOCK_WORDS: usize = 256;

/// An unsigned offset above a column's base, in one of the widths a column stores:
/// `u8`, `u16`, `u32` or `u64`.
pub(crate) trait Slot: Copy + Default + Ord + Into<u64> + std::fmt::Debug + 'static {
    /// Bits of the type.
    const BITS: u32;
    /// The low bits of `x` (callers pass offsets that fit).
    fn narrow(x: u64) -> Self;
    /// A slot from its little-endian bytes (`BITS / 8` of them).
    fn from_le(bytes: &[u8]) -> Self;
    /// The vector as a column's offsets.
    fn wrap(v: Vec<Self>) -> Offsets;
    /// The vector inside `o` when `o` holds slots of this type, else an empty one: how a
    /// column being replaced hands its buffer to the next one of the same width.
    fn unwrap(o: Offsets) -> Vec<Self>;
    /// Appends `slots` to `b`, little-endian, `BITS / 8` bytes each.
    fn put_le(slots: &[Self], b: &mut Vec<u8>);
}

macro_rules! slot {
    ($t:ty, $variant:ident) => {
        impl Slot for $t {
            const BITS: u32 = <$t>::BITS;
            fn narrow(x: u64) -> $t {
                x as $t
            }
            fn from_le(bytes: &[u8]) -> $t {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                for (to, from) in a.iter_mut().zip(bytes) {
                    *to = *from;
                }
                <$t>::from_le_bytes(a)
            }
            fn wrap(v: Vec<$t>) -> Offsets {
                Offsets::$variant(v)
            }
            fn put_le(slots: &[$t], b: &mut Vec<u8>) {
                const W: usize = std::mem::size_of::<$t>();
                let at = b.len();
                b.resize(at + slots.len() * W, 0);
                let out = b.get_mut(at..).unwrap_or_default();
                for (to, x) in out.chunks_exact_mut(W).zip(slots) {
                    to.copy_from_slice(&x.to_le_bytes());
                }
            }
            fn unwrap(o: Offsets) -> Vec<$t> {
                match o {
                    Offsets::$variant(v) => v,
                    _ => Vec::new(),
                }
            }
        }
    };
}
slot!(u8, U8);
slot!(u16, U16);
slot!(u32, U32);
slot!(u64, U64);

/// A column's values as offsets above its base, by id, in the narrowest of 1, 2, 4 or 8
/// bytes that holds every offset the bit-sliced index can express (`2^planes - 1`). Ids
/// without a value hold 0.
#[derive(Clone, Debug)]
pub(crate) enum Offsets {
    /// Up to 8 planes.
    U8(Vec<u8>),
    /// 9 to 16 planes.
    U16(Vec<u16>),
    /// 17 to 32 planes.
    U32(Vec<u32>),
    /// 33 to 64 planes.
    U64(Vec<u64>),
}

impl Default for Offsets {
    fn default() -> Offsets {
        Offsets::U8(Vec::new())
    }
}

/// Runs `$e` with `$v` bound to the vector inside `$o` (an `Offsets`, `&Offsets` or
/// `&mut Offsets`): one match on the width, then code monomorphic in the slot type.
macro_rules! each_width {
    ($o:expr, $v:ident => $e:expr) => {
        match $o {
            Offsets::U8($v) => $e,
            Offsets::U16($v) => $e,
            Offsets::U32($v) => $e,
            Offsets::U64($v) => $e,
        }
    };
}
pub(crate) use each_width;

/// Bytes of the slots that hold offsets of `bits` bits.
pub(crate) fn slot_bytes(bits: usize) -> usize {
    match bits {
        0..=8 => 1,
        9..=16 => 2,
        17..=32 => 4,
        _ => 8,
    }
}

/// Slot `i` of `offs` as a number.
fn slot_at<T: Slot>(offs: &[T], i: usize) -> Option<u64> {
    offs.get(i).map(|&o| o.into())
}

/// Bits of `x` up to its top set bit.
fn bits_of(x: u64) -> usize {
    64 - x.leading_zeros() as usize
}

/// `src` as `D` slots, `len` of them: present slots (by `words`) plus `delta`, the others
/// (and those past the end of `src`) 0. One allocation at the final size.
fn remap_slots<S: Slot, D: Slot>(src: &[S], len: usize, words: &[u64], delta: u64) -> Vec<D> {
    let mut out = Vec::with_capacity(len);
    for (chunk, &word) in src.chunks(64).zip(words).take(len.div_ceil(64)) {
        out.extend(chunk.iter().enumerate().map(|(i, &s)| {
            D::narrow(s.into().wrapping_add(delta) & 0u64.wrapping_sub(word >> i & 1))
        }));
    }
    out.resize(len, D::default());
    out
}

impl Offsets {
    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        each_width!(self, v => v.len())
    }

    /// Bytes per slot.
    pub(crate) fn width(&self) -> usize {
        match self {
            Offsets::U8(_) => 1,
            Offsets::U16(_) => 2,
            Offsets::U32(_) => 4,
            Offsets::U64(_) => 8,
        }
    }

    fn heap_bytes(&self) -> u64 {
        each_width!(self, v => v.capacity() as u64 * self.width() as u64)
    }

    /// `len` slots wide enough for offsets of `bits` bits: present slots (by `words`) plus
    /// `delta`, the others 0.
    fn remap(&self, len: usize, words: &[u64], delta: u64, bits: usize) -> Offsets {
        fn to<S: Slot>(src: &[S], len: usize, words: &[u64], delta: u64, bits: usize) -> Offsets {
            match slot_bytes(bits) {
                1 => Offsets::U8(remap_slots(src, len, words, delta)),
                2 => Offsets::U16(remap_slots(src, len, words, delta)),
                4 => Offsets::U32(remap_slots(src, len, words, delta)),
                _ => Offsets::U64(remap_slots(src, len, words, delta)),
            }
        }
        each_width!(self, v => to(v, len, words, delta, bits))
    }

    /// The largest slot (0 when there is none). Slots without a value hold 0, so this is
    /// the largest offset of a value when there is one.
    fn max(&self) -> u64 {
        each_width!(self, v => v.iter().copied().max().map_or(0, Into::into))
    }
}

/// The bit-sliced index of `offs`: bit `b` of every offset in plane `b` (`bits` planes),
/// one word per presence word. Per word of 64 ids, their offsets are transposed into one
/// word per plane; every vector is allocated once at its final size.
fn planes_of<T: Slot>(offs: &[T], words: &[u64], bits: usize) -> Vec<Vec<u64>> {
    planes_into(offs, words, bits, Vec::new())
}

/// [`planes_of`] into the vectors of `planes` (a replaced column's), so that a column
/// loaded again in its place writes into memory it already has.
fn planes_into<T: Slot>(
    offs: &[T],
    words: &[u64],
    bits: usize,
    mut planes: Vec<Vec<u64>>,
) -> Vec<Vec<u64>> {
    planes.truncate(bits);
    for plane in &mut planes {
        plane.clear();
        plane.reserve_exact(words.len());
    }
    planes.resize_with(bits, || Vec::with_capacity(words.len()));
    if bits == 0 {
        return planes;
    }
    let width = bits.next_power_of_two();
    let mut block = [0u64; 64];
    for (w, &word) in words.iter().enumerate() {
        if word == 0 {
            planes.iter_mut().for_each(|p| p.push(0));
            continue;
        }
        let chunk = offs.get(w * 64..).unwrap_or(&[]);
        if chunk.len() < 64 {
            block.fill(0);
        }
        for (slot, &o) in block.iter_mut().zip(chunk) {
            *slot = o.into();
        }
        transpose64(&mut block, width);
        for (plane, &t) in planes.iter_mut().zip(block.iter()) {
            plane.push(t);
        }
    }
    planes
}

/// Candidates of `filter` whose offset lies in `lo..=hi`, with presence by `words`.
/// Matches go into dense words converted once (`from_sorted_iter` costs about 6 ns an
/// id), except for a handful of candidates, where zeroing the words would cost more than
/// it saves.
fn probe_slots<T: Slot>(
    offs: &[T],
    words: &[u64],
    lo: u64,
    hi: u64,
    filter: &RoaringBitmap,
) -> RoaringBitmap {
    let top = u64::MAX >> (64 - T::BITS);
    if lo > top || lo > hi {
        return RoaringBitmap::new();
    }
    let (lo, hi) = (T::narrow(lo), T::narrow(hi.min(top)));
    let few = filter.len().saturating_mul(16) < words.len() as u64;
    let mut ids = Vec::new();
    let mut out = if few {
        Vec::new()
    } else {
        vec![0u64; words.len()]
    };
    let mut buf = [0u32; 128];
    let mut it = filter.iter();
    loop {
        let got = it.next_many(&mut buf);
        if got.is_empty() {
            break;
        }
        for &id in got.iter() {
            let (w, b) = (id as usize / 64, id % 64);
            let present = words.get(w).is_some_and(|x| x >> b & 1 == 1);
            if present
                && let Some(&o) = offs.get(id as usize)
                && o >= lo
                && o <= hi
            {
                if few {
                    ids.push(id);
                } else if let Some(x) = out.get_mut(w) {
                    *x |= 1 << b;
                }
            }
        }
    }
    if few {
        RoaringBitmap::from_sorted_iter(ids).unwrap_or_default()
    } else {
        words_to_bitmap(&out)
    }
}

/// The vectors of a column being replaced, for the column built in its place.
#[derive(Default)]
struct Spare {
    offsets: Offsets,
    words: Vec<u64>,
    planes: Vec<Vec<u64>>,
}

/// A column: values, presence, and the bit-sliced index.
///
/// The values are offsets above `base` in the narrowest width the index's depth allows
/// ([`Offsets`]): a column of purchase counts takes a byte a customer, days two, money in
/// cents four. The index's planes are dense `u64` words (bit `id % 64` of word `id / 64`),
/// not roaring bitmaps: the low bits of a numeric value are set for about half of the
/// customers, where roaring would use bitset containers anyway, and dense words let a
/// range predicate run as word-wise loops over blocks that stay in cache. Only the result
/// becomes a roaring bitmap.
#[derive(Clone, Debug, Default)]
pub(crate) struct Column {
    offsets: Offsets,
    present: RoaringBitmap,
    present_words: Vec<u64>,
    base: i64,
    planes: Vec<Vec<u64>>,
}

impl Column {
    pub(crate) fn get(&self, id: u32) -> Option<i64> {
        let (w, b) = (id as usize / 64, id % 64);
        if self.present_words.get(w).is_none_or(|x| x >> b & 1 == 0) {
            return None;
        }
        let off = each_width!(&self.offsets, v => slot_at(v, id as usize))?;
        Some(self.base.wrapping_add(off as i64))
    }

    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    /// Calls `f` with every id of `ids` that has a value and that value, in id order: one
    /// match on the width, then a loop monomorphic in it.
    pub(crate) fn for_each(&self, ids: &RoaringBitmap, mut f: impl FnMut(u32, i64)) {
        fn run<T: Slot>(
            offs: &[T],
            words: &[u64],
            base: i64,
            ids: &RoaringBitmap,
            f: &mut impl FnMut(u32, i64),
        ) {
            let mut buf = [0u32; 1024];
            let mut it = ids.iter();
            loop {
                let got = it.next_many(&mut buf);
                if got.is_empty() {
                    break;
                }
                for &id in got.iter() {
                    let (w, b) = (id as usize / 64, id % 64);
                    if words.get(w).is_some_and(|x| x >> b & 1 == 1)
                        && let Some(&o) = offs.get(id as usize)
                    {
                        f(id, base.wrapping_add(o.into() as i64));
                    }
                }
            }
        }
        each_width!(&self.offsets, v => run(v, &self.present_words, self.base, ids, &mut f))
    }

    /// The offsets by id (0 where there is no value), their base, who has a value, and the
    /// same as words (bit `id % 64` of word `id / 64`), as snapshots write them. The
    /// vectors may run past the last customer with a value.
    pub(crate) fn raw(&self) -> (&Offsets, i64, &RoaringBitmap, &[u64]) {
        (&self.offsets, self.base, &self.present, &self.present_words)
    }

    /// Rebuilds a column from offsets above `base` by id (0 where there is no value), the
    /// presence bitmap, the same as words, and the bit-sliced index: `planes[b]` holds bit
    /// `b` of every offset, one word per presence word. The caller has checked that they
    /// agree, that `words.len() == offsets.len().div_ceil(64)`, that every `base + offset`
    /// is an `i64`, and that the top plane holds the top bit of the largest offset. Offsets
    /// wider than the planes need are narrowed.
    pub(crate) fn restore(
        offsets: Offsets,
        present: RoaringBitmap,
        present_words: Vec<u64>,
        base: i64,
        planes: Vec<Vec<u64>>,
    ) -> Column {
        let offsets = if offsets.width() > slot_bytes(planes.len()) {
            offsets.remap(offsets.len(), &present_words, 0, planes.len())
        } else {
            offsets
        };
        Column {
            offsets,
            present,
            present_words,
            base,
            planes,
        }
    }

    /// Bytes by part: (offsets, presence bitmap and words, planes).
    pub(crate) fn heap_parts(&self) -> (u64, u64, u64) {
        (
            self.offsets.heap_bytes(),
            bitmap_bytes(&self.present) + self.present_words.capacity() as u64 * 8,
            self.planes
                .iter()
                .map(|p| p.capacity() as u64 * 8)
                .sum::<u64>(),
        )
    }

    fn offset(&self, v: i64) -> u64 {
        (i128::from(v) - i128::from(self.base)) as u64
    }

    fn ensure_len(&mut self, id: u32) {
        let need = id as usize + 1;
        if self.offsets.len() < need {
            each_width!(&mut self.offsets, v => v.resize(need, Slot::narrow(0)));
        }
        let words = need.div_ceil(64);
        if self.present_words.len() < words {
            self.present_words.resize(words, 0);
            for p in &mut self.planes {
                p.resize(words, 0);
            }
        }
    }

    /// Makes room in the index for `v`: a new base below it, or more planes above (and
    /// wider offsets when the planes outgrow them).
    fn admit(&mut self, v: i64) {
        if self.present.is_empty() {
            self.base = v;
            self.planes.clear();
            return;
        }
        if v < self.base {
            // Leave slack below so a run of decreasing values rebuilds O(log) times, but
            // no more than the slots' width holds: slack alone never widens them.
            let below = (i128::from(self.base) - i128::from(v)) as u128;
            let top = u128::from(self.offsets.max()) + below;
            let room = (1u128 << (8 * self.offsets.width())) - 1;
            let want = 1u128 << self.planes.len();
            let slack = if top <= room {
                want.min(room - top)
            } else {
                want
            };
            let new_base = (i128::from(v) - slack as i128).max(i128::from(i64::MIN)) as i64;
            self.rebuild(new_base);
        }
        let bits = bits_of(self.offset(v));
        while self.planes.len() < bits {
            self.planes.push(vec![0; self.present_words.len()]);
        }
        if self.offsets.width() < slot_bytes(bits) {
            self.offsets = self
                .offsets
                .remap(self.offsets.len(), &self.present_words, 0, bits);
        }
    }

    /// Re-expresses the offsets above a lower `base` and rebuilds the planes.
    fn rebuild(&mut self, base: i64) {
        let delta = self.base.wrapping_sub(base) as u64;
        let bits = bits_of(self.offsets.max().wrapping_add(delta));
        self.offsets = self
            .offsets
            .remap(self.offsets.len(), &self.present_words, delta, bits);
        self.base = base;
        self.planes = each_width!(&self.offsets, v => planes_of(v, &self.present_words, bits));
    }

    pub(crate) fn set(&mut self, id: u32, v: i64) {
        self.ensure_len(id);
        self.admit(v);
        let (w, b) = (id as usize / 64, id % 64);
        let off = self.offset(v);
        each_width!(&mut self.offsets, o => if let Some(s) = o.get_mut(id as usize) {
            *s = Slot::narrow(off);
        });
        self.present.insert(id);
        self.present_words[w] |= 1 << b;
        for (bit, plane) in self.planes.iter_mut().enumerate() {
            if off >> bit & 1 == 1 {
                plane[w] |= 1 << b;
            } else {
                plane[w] &= !(1 << b);
            }
        }
    }

    pub(crate) fn clear(&mut self, id: u32) -> bool {
        if !self.present.remove(id) {
            return false;
        }
        let (w, b) = (id as usize / 64, id % 64);
        each_width!(&mut self.offsets, o => if let Some(s) = o.get_mut(id as usize) {
            *s = Slot::narrow(0);
        });
        if let Some(word) = self.present_words.get_mut(w) {
            *word &= !(1 << b);
        }
        for plane in &mut self.planes {
            if let Some(word) = plane.get_mut(w) {
                *word &= !(1 << b);
            }
        }
        true
    }

    /// Sets many values; `ids` need not be sorted. Rebuilds the index once when the batch is
    /// large: the values go into 64-bit offsets above the lower of the batch's smallest
    /// value and the base, then into the narrowest width above the smallest value present.
    pub(crate) fn set_many(&mut self, ids: &[u32], vals: &[i64]) {
        if ids.len() < 4096 || (ids.len() as u64) < self.present.len() / 8 {
            for (&id, &v) in ids.iter().zip(vals) {
                self.set(id, v);
            }
            return;
        }
        let (Some(&max_id), Some(&smallest)) = (ids.iter().max(), vals.iter().min()) else {
            return;
        };
        let lo = if self.present.is_empty() {
            smallest
        } else {
            smallest.min(self.base)
        };
        let len = self.offsets.len().max(max_id as usize + 1);
        let delta = self.base.wrapping_sub(lo) as u64;
        let mut wide: Vec<u64> =
            each_width!(&self.offsets, v => remap_slots(v, len, &self.present_words, delta));
        self.present_words.resize(len.div_ceil(64), 0);
        for (&id, &v) in ids.iter().zip(vals) {
            wide[id as usize] = v.wrapping_sub(lo) as u64;
            self.present_words[id as usize / 64] |= 1 << (id % 64);
        }
        self.present = words_to_bitmap(&self.present_words);
        let (mut min, mut max) = (u64::MAX, 0u64);
        for (chunk, &word) in wide.chunks(64).zip(&self.present_words) {
            for (i, &o) in chunk.iter().enumerate() {
                let keep = 0u64.wrapping_sub(word >> i & 1);
                min = min.min(o | !keep);
                max = max.max(o & keep);
            }
        }
        let bits = bits_of(max - min);
        self.offsets =
            Offsets::U64(wide).remap(len, &self.present_words, 0u64.wrapping_sub(min), bits);
        self.base = lo.wrapping_add(min as i64);
        self.planes = each_width!(&self.offsets, v => planes_of(v, &self.present_words, bits));
    }

    /// Customers whose value lies in `lo..=hi`, within `filter` when given.
    pub(crate) fn range(&self, lo: i64, hi: i64, filter: Option<&RoaringBitmap>) -> RoaringBitmap {
        if lo > hi || self.present.is_empty() {
            return RoaringBitmap::new();
        }
        if let Some(f) = filter
            && self.probe_is_cheaper(f.len())
        {
            return self.probe(lo, hi, f);
        }
        let mut out = match self.range_words(lo, hi) {
            Some(words) => words_to_bitmap(&words),
            None => RoaringBitmap::new(),
        };
        if let Some(f) = filter {
            out &= f;
        }
        out
    }

    /// How many customers have a value in `lo..=hi`, without building a bitmap.
    pub(crate) fn count_range(&self, lo: i64, hi: i64) -> u64 {
        if lo > hi || self.present.is_empty() {
            return 0;
        }
        self.range_words(lo, hi)
            .map_or(0, |w| w.iter().map(|x| u64::from(x.count_ones())).sum())
    }

    /// Probing costs a cache miss per candidate (about 24 plane-word operations); the scan
    /// costs two operations per plane word.
    pub(crate) fn probe_is_cheaper(&self, candidates: u64) -> bool {
        let scan = (self.planes.len() as u64 + 1) * self.present_words.len() as u64 * 2;
        candidates.saturating_mul(24) < scan
    }

    /// Probes each candidate's offset, compared with the bounds as offsets of the
    /// column's width.
    fn probe(&self, lo: i64, hi: i64, filter: &RoaringBitmap) -> RoaringBitmap {
        let lo_off = (i128::from(lo) - i128::from(self.base)).max(0);
        let hi_off = i128::from(hi) - i128::from(self.base);
        if hi_off < 0 || lo_off > i128::from(u64::MAX) {
            return RoaringBitmap::new();
        }
        let (lo_off, hi_off) = (lo_off as u64, hi_off.min(i128::from(u64::MAX)) as u64);
        each_width!(&self.offsets, v => probe_slots(v, &self.present_words, lo_off, hi_off, filter))
    }

    /// The words (bit per customer) of `lo <= value <= hi`, or `None` when no value can
    /// match.
    pub(crate) fn range_words(&self, lo: i64, hi: i64) -> Option<Vec<u64>> {
        let lo_off = i128::from(lo) - i128::from(self.base);
        let hi_off = i128::from(hi) - i128::from(self.base);
        let max_off = if self.planes.len() >= 64 {
            i128::from(u64::MAX)
        } else {
            (1i128 << self.planes.len()) - 1
        };
        if hi_off < 0 || lo_off > max_off {
            return None;
        }
        let ge = (lo_off > 0).then_some(lo_off as u64);
        let le = (hi_off < max_off).then_some(hi_off as u64);
        let mut out = self.present_words.clone();
        let mut tmp = [0u64; BLOCK_WORDS];
        let mut acc = [0u64; BLOCK_WORDS];
        for (block, chunk) in out.chunks_mut(BLOCK_WORDS).enumerate() {
            let start = block * BLOCK_WORDS;
            if let Some(c) = ge {
                if self.le_cost(c - 1) + 1 < self.ge_cost(c) {
                    // x >= c  is  candidates minus (x <= c - 1)
                    let t = &mut tmp[..chunk.len()];
                    t.copy_from_slice(chunk);
                    self.le_block(c - 1, start, t, &mut acc);
                    chunk.iter_mut().zip(t.iter()).for_each(|(x, y)| *x &= !y);
                } else {
                    self.ge_block(c, start, chunk, &mut acc);
                }
            }
            if let Some(c) = le {
                if self.ge_cost(c + 1) + 1 < self.le_cost(c) {
                    let t = &mut tmp[..chunk.len()];
                    t.copy_from_slice(chunk);
                    self.ge_block(c + 1, start, t, &mut acc);
                    chunk.iter_mut().zip(t.iter()).for_each(|(x, y)| *x &= !y);
                } else {
                    self.le_block(c, start, chunk, &mut acc);
                }
            }
        }
        Some(out)
    }

    /// Plane operations of `ge_block(c)`: from the top bit down to where the remaining low
    /// bits of `c` are all 0, three per 0-bit and one per 1-bit.
    fn ge_cost(&self, c: u64) -> u32 {
        (c.trailing_zeros() as usize..self.planes.len())
            .map(|bit| if c >> bit & 1 == 1 { 1 } else { 3 })
            .sum()
    }

    /// Plane operations of `le_block(c)`: down to where the remaining low bits of `c` are
    /// all 1, two per 1-bit and one per 0-bit.
    fn le_cost(&self, c: u64) -> u32 {
        1 + (c.trailing_ones() as usize..self.planes.len())
            .map(|bit| if c >> bit & 1 == 1 { 2 } else { 1 })
            .sum::<u32>()
    }

    /// In place: `eq` (candidates of the block starting at word `start`) becomes those with
    /// offset >= c. Walks the planes from the top; `eq` keeps the candidates whose bits so
    /// far equal `c`'s, `gt` collects those already greater. Once the remaining bits of `c`
    /// are all 0, every candidate left in `eq` is >= c.
    fn ge_block(&self, c: u64, start: usize, eq: &mut [u64], gt: &mut [u64; BLOCK_WORDS]) {
        let gt = &mut gt[..eq.len()];
        gt.fill(0);
        let stop = c.trailing_zeros() as usize;
        for bit in (stop..self.planes.len()).rev() {
            let plane = &self.planes[bit][start..start + eq.len()];
            if c >> bit & 1 == 1 {
                eq.iter_mut().zip(plane).for_each(|(e, p)| *e &= p);
            } else {
                eq.iter_mut()
                    .zip(plane)
                    .zip(gt.iter_mut())
                    .for_each(|((e, p), g)| {
                        *g |= *e & p;
                        *e &= !p;
                    });
            }
        }
        eq.iter_mut().zip(gt.iter()).for_each(|(e, g)| *e |= g);
    }

    /// In place: `eq` becomes the candidates with offset <= c; stops once the remaining
    /// bits of `c` are all 1.
    fn le_block(&self, c: u64, start: usize, eq: &mut [u64], lt: &mut [u64; BLOCK_WORDS]) {
        let lt = &mut lt[..eq.len()];
        lt.fill(0);
        let stop = c.trailing_ones() as usize;
        for bit in (stop..self.planes.len()).rev() {
            let plane = &self.planes[bit][start..start + eq.len()];
            if c >> bit & 1 == 1 {
                eq.iter_mut()
                    .zip(plane)
                    .zip(lt.iter_mut())
                    .for_each(|((e, p), l)| {
                        *l |= *e & !p;
                        *e &= p;
                    });
            } else {
                eq.iter_mut().zip(plane).for_each(|(e, p)| *e &= !p);
            }
        }
        eq.iter_mut().zip(lt.iter()).for_each(|(e, l)| *e |= l);
    }

    /// Approximate heap bytes.
    pub(crate) fn heap_bytes(&self) -> u64 {
        let (values, presence, planes) = self.heap_parts();
        values + presence + planes
    }

    /// Number of bit planes of the index.
    pub(crate) fn depth(&self) -> usize {
        self.planes.len()
    }
}

/// A type whose slices [`Store::set_column`](crate::Store::set_column) takes: one
/// attribute's values in customer id order. `i64` and `u32` set number attributes, [`Day`]
/// day attributes and [`Decimal`] decimal attributes (rescaled to the attribute's places
/// when that is exact, as [`Store::set_value`](crate::Store::set_value) does); an
/// `Option` of any of them marks customers without a value with `None`. The trait is
/// sealed: these eight types are the ones a column is set from.
pub trait ColumnValue: Copy + sealed::Sealed {}

impl ColumnValue for i64 {}
impl ColumnValue for u32 {}
impl ColumnValue for Day {}
impl ColumnValue for Decimal {}
impl ColumnValue for Option<i64> {}
impl ColumnValue for Option<u32> {}
impl ColumnValue for Option<Day> {}
impl ColumnValue for Option<Decimal> {}

pub(crate) mod sealed {
    use crate::day::Day;
    use crate::decimal::Decimal;

    /// A slice of one of the types a column is set from.
    #[derive(Clone, Copy, Debug)]
    pub enum Slice<'a> {
        /// Whole numbers.
        Int(&'a [i64]),
        /// Whole numbers from `u32`s.
        Count(&'a [u32]),
        /// Days.
        Day(&'a [Day]),
        /// Decimals.
        Decimal(&'a [Decimal]),
        /// Whole numbers or none.
        OptInt(&'a [Option<i64>]),
        /// Whole numbers from `u32`s, or none.
        OptCount(&'a [Option<u32>]),
        /// Days or none.
        OptDay(&'a [Option<Day>]),
        /// Decimals or none.
        OptDecimal(&'a [Option<Decimal>]),
    }

    /// Seals [`ColumnValue`](super::ColumnValue).
    pub trait Sealed: Sized {
        /// The slice by type.
        fn slice(values: &[Self]) -> Slice<'_>;
    }

    macro_rules! sealed {
        ($t:ty, $variant:ident) => {
            impl Sealed for $t {
                fn slice(values: &[$t]) -> Slice<'_> {
                    Slice::$variant(values)
                }
            }
        };
    }
    sealed!(i64, Int);
    sealed!(u32, Count);
    sealed!(Day, Day);
    sealed!(Decimal, Decimal);
    sealed!(Option<i64>, OptInt);
    sealed!(Option<u32>, OptCount);
    sealed!(Option<Day>, OptDay);
    sealed!(Option<Decimal>, OptDecimal);
}

/// A value of a slice a column is built from, as the stored integer (`None`: no value).
pub(crate) trait Raw: Copy {
    /// Whether every value is one (`raw` never `None`).
    const ALWAYS: bool = true;
    fn raw(self) -> Option<i64>;
}

impl Raw for i64 {
    fn raw(self) -> Option<i64> {
        Some(self)
    }
}
impl Raw for u32 {
    fn raw(self) -> Option<i64> {
        Some(i64::from(self))
    }
}
impl Raw for Day {
    fn raw(self) -> Option<i64> {
        Some(i64::from(self.0))
    }
}
impl<T: Raw> Raw for Option<T> {
    const ALWAYS: bool = false;
    fn raw(self) -> Option<i64> {
        self.and_then(Raw::raw)
    }
}

impl Column {
    /// A column holding `values[i]` for every id `i` below `values.len()` whose bit is set
    /// in `live` (bit `i % 64` of word `i / 64`) and whose value is not `None`, and
    /// `keep`'s values for the ids from `values.len()` on. One pass over the values for
    /// presence and the smallest and largest value, one to write the offsets in the
    /// narrowest width, one to slice them 64 ids at a time; every vector is allocated once
    /// at its final size.
    pub(crate) fn from_ids_in_order<T: Raw>(values: &[T], live: &[u64], keep: &Column) -> Column {
        Column::build_in_order(values, live, keep, Spare::default())
    }

    /// [`Column::from_ids_in_order`] in place of `self`, a column no one else holds. When
    /// `values` covers every id `self` has a value for, the new column is written into
    /// `self`'s vectors (offsets of the same width, presence words, planes): a column
    /// loaded again, as a nightly refresh does, writes into memory it already has instead
    /// of fresh pages, which cost more than the writing itself.
    pub(crate) fn replace_in_order<T: Raw>(self, values: &[T], live: &[u64]) -> Column {
        if self
            .present
            .max()
            .is_some_and(|m| m as usize >= values.len())
        {
            return Column::build_in_order(values, live, &self, Spare::default());
        }
        let spare = Spare {
            offsets: self.offsets,
            words: self.present_words,
            planes: self.planes,
        };
        Column::build_in_order(values, live, &Column::default(), spare)
    }

    fn build_in_order<T: Raw>(values: &[T], live: &[u64], keep: &Column, spare: Spare) -> Column {
        let n = values.len();
        let mut kept = RoaringBitmap::new();
        if keep.present.max().is_some_and(|m| m as usize >= n) {
            kept.clone_from(&keep.present);
            kept.remove_range(0..u32::try_from(n).unwrap_or(u32::MAX));
        }
        let len = kept.max().map_or(n, |m| n.max(m as usize + 1));
        let mut words = spare.words;
        words.clear();
        words.reserve_exact(len.div_ceil(64));
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for (w, chunk) in values.chunks(64).enumerate() {
            let all = u64::MAX >> (64 - chunk.len());
            let lw = live.get(w).copied().unwrap_or(0) & all;
            let word = if T::ALWAYS {
                lw
            } else {
                let mut some = 0u64;
                for (i, v) in chunk.iter().enumerate() {
                    some |= u64::from(v.raw().is_some()) << i;
                }
                lw & some
            };
            if word == all {
                // Every id has a value: plain min and max, which vectorise.
                for v in chunk {
                    let x = v.raw().unwrap_or(0);
                    min = min.min(x);
                    max = max.max(x);
                }
            } else {
                for (i, v) in chunk.iter().enumerate() {
                    let has = word >> i & 1 == 1;
                    let x = v.raw().unwrap_or(0);
                    min = min.min(if has { x } else { i64::MAX });
                    max = max.max(if has { x } else { i64::MIN });
                }
            }
            words.push(word);
        }
        words.resize(len.div_ceil(64), 0);
        keep.for_each(&kept, |id, v| {
            min = min.min(v);
            max = max.max(v);
            if let Some(w) = words.get_mut(id as usize / 64) {
                *w |= 1 << (id % 64);
            }
        });
        if min > max {
            return Column::default();
        }
        let bits = bits_of(max.wrapping_sub(min) as u64);
        let to = spare.offsets;
        let mut offsets = match slot_bytes(bits) {
            1 => Offsets::U8(offsets_of(values, &words, min, len, Slot::unwrap(to))),
            2 => Offsets::U16(offsets_of(values, &words, min, len, Slot::unwrap(to))),
            4 => Offsets::U32(offsets_of(values, &words, min, len, Slot::unwrap(to))),
            _ => Offsets::U64(offsets_of(values, &words, min, len, Slot::unwrap(to))),
        };
        keep.for_each(&kept, |id, v| {
            let off = v.wrapping_sub(min) as u64;
            each_width!(&mut offsets, o => if let Some(s) = o.get_mut(id as usize) {
                *s = Slot::narrow(off);
            });
        });
        let planes = each_width!(&offsets, o => planes_into(o, &words, bits, spare.planes));
        Column {
            offsets,
            present: words_to_bitmap(&words),
            present_words: words,
            base: min,
            planes,
        }
    }

    /// Appends to `b` the offsets above the base of the ids below `n` that have a value,
    /// in id order, each in the column's width (little-endian): the values of a packed
    /// journal record whose smallest value is the base.
    pub(crate) fn pack_below(&self, n: usize, b: &mut Vec<u8>) {
        fn run<T: Slot>(offs: &[T], words: &[u64], n: usize, b: &mut Vec<u8>) {
            let mut some = [T::default(); 64];
            for (w, chunk) in offs
                .get(..n.min(offs.len()))
                .unwrap_or(&[])
                .chunks(64)
                .enumerate()
            {
                let mut word = words.get(w).copied().unwrap_or(0);
                if chunk.len() < 64 {
                    word &= (1u64 << chunk.len()) - 1;
                }
                if word == u64::MAX {
                    T::put_le(chunk, b);
                    continue;
                }
                let mut k = 0;
                while word != 0 {
                    let i = word.trailing_zeros() as usize;
                    if let (Some(to), Some(&o)) = (some.get_mut(k), chunk.get(i)) {
                        *to = o;
                    }
                    k += 1;
                    word &= word - 1;
                }
                T::put_le(some.get(..k).unwrap_or_default(), b);
            }
        }
        each_width!(&self.offsets, o => run(o, &self.present_words, n, b))
    }

    /// The base: every value is `base + offset`.
    pub(crate) fn base(&self) -> i64 {
        self.base
    }

    /// Bytes per stored offset.
    pub(crate) fn width(&self) -> usize {
        self.offsets.width()
    }
}

/// `len` offsets above `base` of the values of the ids marked in `words` (0 for the
/// others), `values` covering the first ids, written into `out` (emptied first).
fn offsets_of<T: Raw, D: Slot>(
    values: &[T],
    words: &[u64],
    base: i64,
    len: usize,
    mut out: Vec<D>,
) -> Vec<D> {
    out.clear();
    out.reserve_exact(len);
    for (chunk, &word) in values.chunks(64).zip(words) {
        let all = u64::MAX >> (64 - chunk.len());
        if word == all {
            out.extend(
                chunk
                    .iter()
                    .map(|v| D::narrow(v.raw().unwrap_or(base).wrapping_sub(base) as u64)),
            );
        } else {
            out.extend(chunk.iter().enumerate().map(|(i, v)| {
                let off = v.raw().unwrap_or(base).wrapping_sub(base) as u64;
                D::narrow(off & 0u64.wrapping_sub(word >> i & 1))
            }));
        }
    }
    out.resize(len, D::default());
    out
}

/// A roaring bitmap of the set bits of dense words (bit `i % 64` of word `i / 64` is id `i`).
pub(crate) fn words_to_bitmap(words: &[u64]) -> RoaringBitmap {
    let used = words.iter().rposition(|w| *w != 0).map_or(0, |i| i + 1);
    let bytes: Vec<u8> = words[..used].iter().flat_map(|w| w.to_le_bytes()).collect();
    RoaringBitmap::from_lsb0_bytes(0, &bytes)
}

/// The ids of `bm` below `n` as words (bit `i % 64` of word `i / 64`), `n.div_ceil(64)`
/// of them. Ids `0..n` all present (customers never erased) take no look at the bitmap's
/// members.
pub(crate) fn bitmap_words(bm: &RoaringBitmap, n: usize) -> Vec<u64> {
    let len = n.div_ceil(64);
    let end = u32::try_from(n).unwrap_or(u32::MAX);
    if bm.range_cardinality(0..end) == u64::from(end) {
        let mut words = vec![u64::MAX; len];
        if let Some(last) = words.last_mut()
            && !n.is_multiple_of(64)
        {
            *last = (1u64 << (n % 64)) - 1;
        }
        return words;
    }
    let mut words = vec![0u64; len];
    let mut buf = [0u32; 1024];
    let mut it = bm.range(0..end);
    loop {
        let got = it.next_many(&mut buf);
        if got.is_empty() {
            break;
        }
        for &id in got.iter() {
            if let Some(w) = words.get_mut(id as usize / 64) {
                *w |= 1 << (id % 64);
            }
        }
    }
    words
}

/// An attribute slot of the store: metadata plus the column behind `Arc` (copy on write).
#[derive(Clone, Debug)]
pub(crate) struct AttrSlot {
    pub(crate) info: AttrInfo,
    pub(crate) column: Arc<Column>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        vals: &[(u32, i64)],
        lo: i64,
        hi: i64,
        filter: Option<&RoaringBitmap>,
    ) -> RoaringBitmap {
        vals.iter()
            .filter(|(id, v)| *v >= lo && *v <= hi && filter.is_none_or(|f| f.contains(*id)))
            .map(|(id, _)| *id)
            .collect()
    }

    #[test]
    fn ranges_match_a_scan() {
        let mut c = Column::default();
        let mut vals = std::collections::BTreeMap::new();
        for (i, v) in [5i64, -3, 100, 7, 7, 0, i64::MAX, i64::MIN, 42, -3]
            .iter()
            .enumerate()
        {
            c.set(i as u32 * 3, *v);
            vals.insert(i as u32 * 3, *v);
        }
        c.clear(9);
        vals.remove(&9);
        let vals: Vec<(u32, i64)> = vals.into_iter().collect();
        let f: RoaringBitmap = (0..40).step_by(2).collect();
        for &(lo, hi) in &[
            (0, 10),
            (-3, -3),
            (i64::MIN, i64::MAX),
            (8, 6),
            (7, 100),
            (101, i64::MAX),
            (i64::MIN, -4),
        ] {
            assert_eq!(
                c.range(lo, hi, None),
                naive(&vals, lo, hi, None),
                "{lo}..={hi}"
            );
            assert_eq!(
                c.range(lo, hi, Some(&f)),
                naive(&vals, lo, hi, Some(&f)),
                "{lo}..={hi} in f"
            );
            assert_eq!(c.probe(lo, hi, &f), naive(&vals, lo, hi, Some(&f)));
            assert_eq!(c.count_range(lo, hi), naive(&vals, lo, hi, None).len());
        }
    }

    #[test]
    fn slack_below_never_widens_the_slots() {
        let mut c = Column::default();
        for id in 0..=200 {
            c.set(id, i64::from(id));
        }
        assert_eq!(c.offsets.width(), 1);
        // One below the base: 200 + 1 still fits a byte, so the slack stops at 255.
        c.set(201, -1);
        assert_eq!(c.offsets.width(), 1);
        // A run of decreasing values re-bases within the byte, then widens only when the
        // values themselves need it.
        for (id, v) in (202..251).zip((-50..-1).rev()) {
            c.set(id, v);
        }
        assert_eq!(c.offsets.width(), 1);
        c.set(300, -100);
        assert_eq!(c.offsets.width(), 2);
        let got: Vec<u32> = c.range(-100, -1, None).iter().collect();
        let want: Vec<u32> = (201..251).chain([300]).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn bulk_set_rebuilds() {
        let mut c = Column::default();
        let ids: Vec<u32> = (0..10_000).rev().collect();
        let vals: Vec<i64> = ids.iter().map(|&i| i64::from(i % 97) - 40).collect();
        c.set_many(&ids, &vals);
        let pairs: Vec<(u32, i64)> = ids.iter().copied().zip(vals.iter().copied()).collect();
        assert_eq!(c.range(-5, 20, None), naive(&pairs, -5, 20, None));
        assert_eq!(c.get(96), Some(56));
        assert_eq!(c.depth(), 7);
    }

    mod model {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = i64> {
            prop_oneof![
                -3i64..300,
                any::<i64>(),
                Just(i64::MIN),
                Just(i64::MAX),
                18_000i64..22_000,
            ]
        }

        /// Values that force every width: one byte, two, four, eight, negative, both ends.
        fn wide_value() -> impl Strategy<Value = i64> {
            prop_oneof![
                0i64..200,
                -300i64..300,
                0i64..70_000,
                -5_000_000_000i64..5_000_000_000,
                any::<i64>(),
                Just(i64::MIN),
                Just(i64::MAX),
            ]
        }

        #[derive(Clone, Debug)]
        enum Op {
            Set(u32, i64),
            Clear(u32),
            SetMany(Vec<(u32, i64)>),
            /// Values of ids `0..len` (`None`: no value), ids not live skipped; `true`:
            /// built in place of the column (its vectors reused when nothing is kept).
            Whole(Vec<Option<i64>>, bool),
        }

        fn op() -> impl Strategy<Value = Op> {
            let id = 0u32..3_000;
            prop_oneof![
                6 => (id.clone(), wide_value()).prop_map(|(i, v)| Op::Set(i, v)),
                2 => id.clone().prop_map(Op::Clear),
                1 => prop::collection::vec((id, wide_value()), 0..5_000).prop_map(Op::SetMany),
                2 => (
                    prop_oneof![
                        prop::collection::vec(prop::option::weighted(0.9, 0i64..50), 0..2_500),
                        // Every id: a reload that covers the whole column.
                        prop::collection::vec(prop::option::weighted(0.9, 0i64..50), 3_000),
                    ],
                    wide_value(),
                    0u32..4,
                    any::<bool>(),
                )
                    .prop_map(|(v, base, shift, reuse)| Op::Whole(
                        v.into_iter().map(|x| x.map(|x| base.saturating_add(x << (shift * 12)))).collect(),
                        reuse,
                    )),
            ]
        }

        /// Every part of the column agrees with the model: values, presence, width (the
        /// narrowest for the index's depth or wider), slots of ids without a value 0.
        fn check(
            c: &Column,
            model: &std::collections::BTreeMap<u32, i64>,
        ) -> Result<(), TestCaseError> {
            let present: RoaringBitmap = model.keys().copied().collect();
            prop_assert_eq!(c.present(), &present);
            prop_assert_eq!(words_to_bitmap(&c.present_words), present.clone());
            for id in 0..3_100 {
                prop_assert_eq!(c.get(id), model.get(&id).copied(), "id {}", id);
            }
            let mut seen = Vec::new();
            c.for_each(&(0..3_100).collect(), |id, v| seen.push((id, v)));
            let want: Vec<(u32, i64)> = model.iter().map(|(&i, &v)| (i, v)).collect();
            prop_assert_eq!(&seen, &want);
            prop_assert!(c.offsets.width() >= slot_bytes(c.depth()));
            let (offsets, _, _, words) = c.raw();
            let zeros = each_width!(offsets, v => v.iter().enumerate().all(|(i, &o)| {
                words.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1) || o == Slot::narrow(0)
            }));
            prop_assert!(zeros, "a slot without a value is not 0");
            prop_assert!(c.planes.iter().all(|p| p.len() == c.present_words.len()));
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

            /// Ranges over several scan blocks (16,384 ids each) and word edges agree with
            /// a scan, whichever of ge / le / complement / probe the column picks.
            #[test]
            fn ranges_agree_with_a_scan(
                sets in prop::collection::vec((0u32..40_000, value()), 1..400),
                clears in prop::collection::vec(0u32..40_000, 0..20),
                bounds in prop::collection::vec((value(), value()), 1..8),
                bulk in any::<bool>(),
            ) {
                let mut c = Column::default();
                let mut model = std::collections::BTreeMap::new();
                if bulk {
                    let (ids, vals): (Vec<u32>, Vec<i64>) = sets.iter().copied().unzip();
                    c.set_many(&ids, &vals);
                } else {
                    for &(id, v) in &sets {
                        c.set(id, v);
                    }
                }
                for &(id, v) in &sets {
                    model.insert(id, v);
                }
                for &id in &clears {
                    prop_assert_eq!(c.clear(id), model.remove(&id).is_some());
                }
                let vals: Vec<(u32, i64)> = model.into_iter().collect();
                let filter: RoaringBitmap = (0..40_000).step_by(3).collect();
                for &(a, b) in &bounds {
                    let (lo, hi) = (a.min(b), a.max(b));
                    let want = naive(&vals, lo, hi, None);
                    prop_assert_eq!(c.range(lo, hi, None), want.clone());
                    prop_assert_eq!(c.count_range(lo, hi), want.len());
                    prop_assert_eq!(c.range(lo, hi, Some(&filter)), naive(&vals, lo, hi, Some(&filter)));
                    prop_assert_eq!(c.probe(lo, hi, &filter), naive(&vals, lo, hi, Some(&filter)));
                }
            }

            /// Any sequence of set, clear, set_many and whole-column sets, crossing every
            /// width both ways, against a map: values, presence, ranges (scan and probe),
            /// counts, and a rebuilt column from the raw parts.
            #[test]
            fn narrow_columns_agree_with_a_model(
                ops in prop::collection::vec(op(), 1..12),
                holes in prop::collection::vec(0u32..2_500, 0..40),
                bounds in prop::collection::vec((wide_value(), wide_value()), 1..6),
            ) {
                let mut c = Column::default();
                let mut model = std::collections::BTreeMap::new();
                let mut live: RoaringBitmap = (0..3_000).collect();
                for h in &holes {
                    live.remove(*h);
                }
                let live_words = bitmap_words(&live, 3_000);
                for op in &ops {
                    match op {
                        Op::Set(id, v) => {
                            c.set(*id, *v);
                            model.insert(*id, *v);
                        }
                        Op::Clear(id) => {
                            prop_assert_eq!(c.clear(*id), model.remove(id).is_some());
                        }
                        Op::SetMany(pairs) => {
                            let (ids, vals): (Vec<u32>, Vec<i64>) = pairs.iter().copied().unzip();
                            c.set_many(&ids, &vals);
                            model.extend(pairs.iter().copied());
                        }
                        Op::Whole(vals, reuse) => {
                            c = if *reuse {
                                std::mem::take(&mut c).replace_in_order(vals, &live_words)
                            } else {
                                Column::from_ids_in_order(vals, &live_words, &c)
                            };
                            for (i, v) in vals.iter().enumerate() {
                                let id = i as u32;
                                match v {
                                    Some(v) if live.contains(id) => {
                                        model.insert(id, *v);
                                    }
                                    _ => {
                                        model.remove(&id);
                                    }
                                }
                            }
                        }
                    }
                    check(&c, &model)?;
                }
                let vals: Vec<(u32, i64)> = model.iter().map(|(&i, &v)| (i, v)).collect();
                let filter: RoaringBitmap = (0..3_000).step_by(7).collect();
                let (offsets, base, present, words) = c.raw();
                let again = Column::restore(
                    offsets.clone(), present.clone(), words.to_vec(), base, c.planes.clone(),
                );
                for &(a, b) in &bounds {
                    let (lo, hi) = (a.min(b), a.max(b));
                    let want = naive(&vals, lo, hi, None);
                    prop_assert_eq!(c.range(lo, hi, None), want.clone());
                    prop_assert_eq!(c.count_range(lo, hi), want.len());
                    prop_assert_eq!(c.probe(lo, hi, &filter), naive(&vals, lo, hi, Some(&filter)));
                    prop_assert_eq!(again.range(lo, hi, Some(&filter)), naive(&vals, lo, hi, Some(&filter)));
                }
            }
        }
    }
}
