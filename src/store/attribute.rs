//! Numeric attributes per customer, indexed for range predicates.
//!
//! An attribute (last interaction day, purchase count, spend in cents, any score) is one
//! column with three parts:
//!
//! - a dense `Vec<i64>` indexed by customer id, for probing a few candidates and for
//!   aggregates;
//! - a presence bitmap, so "no value" is distinct from zero;
//! - a bit-sliced index (BSI, as in FeatureBase): the values are stored as `value - base`
//!   (an unsigned offset) and bit `i` of every offset is one bitmap. A range predicate over
//!   everyone costs O(bits) bitmap operations instead of a scan.
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

/// A column: dense values, presence, and the bit-sliced index.
///
/// The index's planes are dense `u64` words (bit `id % 64` of word `id / 64`), not roaring
/// bitmaps: the low bits of a numeric value are set for about half of the customers, where
/// roaring would use bitset containers anyway, and dense words let a range predicate run
/// as word-wise loops over blocks that stay in cache. Only the result becomes a roaring
/// bitmap.
#[derive(Clone, Debug, Default)]
pub(crate) struct Column {
    values: Vec<i64>,
    present: RoaringBitmap,
    present_words: Vec<u64>,
    base: i64,
    planes: Vec<Vec<u64>>,
}

impl Column {
    pub(crate) fn get(&self, id: u32) -> Option<i64> {
        if self.present.contains(id) {
            self.values.get(id as usize).copied()
        } else {
            None
        }
    }

    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    /// The dense values, indexed by customer id: 0 where a customer has no value (check
    /// [`Column::present`]). May be shorter than the id space: ids past the end have no
    /// value.
    pub(crate) fn values(&self) -> &[i64] {
        &self.values
    }

    /// The dense values by id (0 where there is no value), who has one, and the same as
    /// words (bit `id % 64` of word `id / 64`), as snapshots write them. The vectors may
    /// run past the last customer with a value.
    pub(crate) fn raw(&self) -> (&[i64], &RoaringBitmap, &[u64]) {
        (&self.values, &self.present, &self.present_words)
    }

    /// Rebuilds a column from dense values by id (0 where there is no value), the presence
    /// bitmap, the same as words, and the bit-sliced index for `base`: `planes[b]` holds bit
    /// `b` of `value - base` for every id with a value (0 for the others), one word per
    /// presence word. The caller has checked that they agree, that
    /// `words.len() == values.len().div_ceil(64)`, that no present value is below `base`,
    /// and that the top plane holds the top bit of the largest offset.
    pub(crate) fn restore(
        values: Vec<i64>,
        present: RoaringBitmap,
        present_words: Vec<u64>,
        base: i64,
        planes: Vec<Vec<u64>>,
    ) -> Column {
        Column {
            values,
            present,
            present_words,
            base,
            planes,
        }
    }

    fn offset(&self, v: i64) -> u64 {
        (i128::from(v) - i128::from(self.base)) as u64
    }

    fn ensure_len(&mut self, id: u32) {
        let need = id as usize + 1;
        if self.values.len() < need {
            self.values.resize(need, 0);
        }
        let words = need.div_ceil(64);
        if self.present_words.len() < words {
            self.present_words.resize(words, 0);
            for p in &mut self.planes {
                p.resize(words, 0);
            }
        }
    }

    /// Makes room in the index for `v`: a new base below it, or more planes above.
    fn admit(&mut self, v: i64) {
        if self.present.is_empty() {
            self.base = v;
            self.planes.clear();
            return;
        }
        if v < self.base {
            // Leave slack below so a run of decreasing values rebuilds O(log) times.
            let span = (1i128 << self.planes.len()).max(1);
            let new_base = (i128::from(v) - span).max(i128::from(i64::MIN)) as i64;
            self.rebuild(new_base);
        }
        let bits = 64 - self.offset(v).leading_zeros() as usize;
        while self.planes.len() < bits {
            self.planes.push(vec![0; self.present_words.len()]);
        }
    }

    /// Recomputes the planes from the dense values with a new base.
    fn rebuild(&mut self, base: i64) {
        self.base = base;
        let mut max_off = 0u64;
        for (w, &word) in self.present_words.iter().enumerate() {
            if word == 0 {
                continue;
            }
            let chunk = self.values.get(w * 64..).unwrap_or(&[]);
            for (i, &v) in chunk.iter().take(64).enumerate() {
                max_off =
                    max_off.max(v.wrapping_sub(base) as u64 & 0u64.wrapping_sub(word >> i & 1));
            }
        }
        self.build_planes(max_off);
    }

    /// Builds the planes for the current base, `max_off` being the largest offset: per word
    /// of 64 ids, their offsets are transposed into one word per plane.
    fn build_planes(&mut self, max_off: u64) {
        let base = self.base;
        let offset = |v: i64| v.wrapping_sub(base) as u64;
        let bits = 64 - max_off.leading_zeros() as usize;
        let words = self.present_words.len();
        let mut planes: Vec<Vec<u64>> = (0..bits).map(|_| Vec::with_capacity(words)).collect();
        let width = bits.next_power_of_two();
        let mut block = [0u64; 64];
        for (w, &word) in self.present_words.iter().enumerate() {
            if word == 0 {
                planes.iter_mut().for_each(|p| p.push(0));
                continue;
            }
            block.fill(0);
            let chunk = self.values.get(w * 64..).unwrap_or(&[]);
            for (i, (slot, &v)) in block.iter_mut().zip(chunk).enumerate() {
                *slot = offset(v) & 0u64.wrapping_sub(word >> i & 1);
            }
            transpose64(&mut block, width);
            for (plane, &t) in planes.iter_mut().zip(block.iter()) {
                plane.push(t);
            }
        }
        self.planes = planes;
    }

    pub(crate) fn set(&mut self, id: u32, v: i64) {
        self.ensure_len(id);
        self.admit(v);
        let (w, b) = (id as usize / 64, id % 64);
        self.values[id as usize] = v;
        self.present.insert(id);
        self.present_words[w] |= 1 << b;
        let off = self.offset(v);
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
        if let Some(v) = self.values.get_mut(id as usize) {
            *v = 0;
        }
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
    /// large.
    pub(crate) fn set_many(&mut self, ids: &[u32], vals: &[i64]) {
        if ids.len() < 4096 || (ids.len() as u64) < self.present.len() / 8 {
            for (&id, &v) in ids.iter().zip(vals) {
                self.set(id, v);
            }
            return;
        }
        let Some(&max_id) = ids.iter().max() else {
            return;
        };
        self.ensure_len(max_id);
        for (&id, &v) in ids.iter().zip(vals) {
            self.values[id as usize] = v;
            self.present_words[id as usize / 64] |= 1 << (id % 64);
        }
        self.present = words_to_bitmap(&self.present_words);
        let min = self
            .present
            .iter()
            .map(|id| self.values[id as usize])
            .min()
            .unwrap_or(0);
        self.rebuild(min);
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

    /// Probes the dense column for each candidate. Matches go into dense words converted
    /// once (`from_sorted_iter` costs about 6 ns an id), except for a handful of candidates,
    /// where zeroing the words would cost more than it saves.
    fn probe(&self, lo: i64, hi: i64, filter: &RoaringBitmap) -> RoaringBitmap {
        let few = filter.len().saturating_mul(16) < self.present_words.len() as u64;
        let mut ids = Vec::new();
        let mut words = if few {
            Vec::new()
        } else {
            vec![0u64; self.present_words.len()]
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
                let present = self.present_words.get(w).is_some_and(|x| x >> b & 1 == 1);
                if present
                    && let Some(&v) = self.values.get(id as usize)
                    && v >= lo
                    && v <= hi
                {
                    if few {
                        ids.push(id);
                    } else if let Some(x) = words.get_mut(w) {
                        *x |= 1 << b;
                    }
                }
            }
        }
        if few {
            RoaringBitmap::from_sorted_iter(ids).unwrap_or_default()
        } else {
            words_to_bitmap(&words)
        }
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
        self.values.capacity() as u64 * 8
            + bitmap_bytes(&self.present)
            + self.present_words.capacity() as u64 * 8
            + self
                .planes
                .iter()
                .map(|p| p.capacity() as u64 * 8)
                .sum::<u64>()
    }

    /// Number of bit planes of the index.
    pub(crate) fn depth(&self) -> usize {
        self.planes.len()
    }
}

/// A roaring bitmap of the set bits of dense words (bit `i % 64` of word `i / 64` is id `i`).
pub(crate) fn words_to_bitmap(words: &[u64]) -> RoaringBitmap {
    let used = words.iter().rposition(|w| *w != 0).map_or(0, |i| i + 1);
    let bytes: Vec<u8> = words[..used].iter().flat_map(|w| w.to_le_bytes()).collect();
    RoaringBitmap::from_lsb0_bytes(0, &bytes)
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
        }
    }
}
