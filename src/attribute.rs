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

use crate::day::Day;
use crate::membership::bitmap_bytes;

/// What an attribute holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AttrKind {
    /// Whole numbers (`i64`): counts, cents, scores.
    Int,
    /// Calendar days: last interaction, first purchase...
    Day,
}

impl AttrKind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            AttrKind::Int => "number",
            AttrKind::Day => "day",
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
}

impl Value {
    /// What kind of attribute holds this value.
    pub fn kind(self) -> AttrKind {
        match self {
            Value::Int(_) => AttrKind::Int,
            Value::Day(_) => AttrKind::Day,
        }
    }

    /// The stored integer (a day is its number of days since 1970-01-01).
    pub fn raw(self) -> i64 {
        match self {
            Value::Int(v) => v,
            Value::Day(d) => i64::from(d.0),
        }
    }

    pub(crate) fn from_raw(kind: AttrKind, raw: i64) -> Value {
        match kind {
            AttrKind::Int => Value::Int(raw),
            AttrKind::Day => Value::Day(Day(
                raw.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
            )),
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

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Day(d) => write!(f, "{d}"),
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

/// Candidate sets at most this share of the column's values (1/PROBE_DIVISOR) are probed
/// in the dense column; larger ones go through the bit-sliced index.
const PROBE_DIVISOR: u64 = 16;

/// A column: dense values, presence and the bit-sliced index.
#[derive(Clone, Debug, Default)]
pub(crate) struct Column {
    values: Vec<i64>,
    present: RoaringBitmap,
    base: i64,
    planes: Vec<RoaringBitmap>,
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

    fn offset(&self, v: i64) -> u64 {
        (i128::from(v) - i128::from(self.base)) as u64
    }

    fn ensure_len(&mut self, id: u32) {
        let need = id as usize + 1;
        if self.values.len() < need {
            self.values.resize(need, 0);
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
            self.planes.push(RoaringBitmap::new());
        }
    }

    /// Recomputes the planes from the dense values with a new base.
    fn rebuild(&mut self, base: i64) {
        self.base = base;
        let max_off = self
            .present
            .iter()
            .map(|id| self.offset(self.values[id as usize]))
            .max()
            .unwrap_or(0);
        let bits = 64 - max_off.leading_zeros() as usize;
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); bits];
        for id in &self.present {
            let mut off = self.offset(self.values[id as usize]);
            while off != 0 {
                let bit = off.trailing_zeros() as usize;
                lists[bit].push(id);
                off &= off - 1;
            }
        }
        self.planes = lists
            .into_iter()
            .map(|l| RoaringBitmap::from_sorted_iter(l).unwrap_or_default())
            .collect();
    }

    pub(crate) fn set(&mut self, id: u32, v: i64) {
        self.ensure_len(id);
        self.admit(v);
        self.values[id as usize] = v;
        self.present.insert(id);
        let off = self.offset(v);
        for (bit, plane) in self.planes.iter_mut().enumerate() {
            if off >> bit & 1 == 1 {
                plane.insert(id);
            } else {
                plane.remove(id);
            }
        }
    }

    pub(crate) fn clear(&mut self, id: u32) -> bool {
        if !self.present.remove(id) {
            return false;
        }
        if let Some(v) = self.values.get_mut(id as usize) {
            *v = 0;
        }
        for plane in &mut self.planes {
            plane.remove(id);
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
        }
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        self.present |= RoaringBitmap::from_sorted_iter(sorted.into_iter().filter({
            let mut last = None;
            move |&x| {
                let keep = last != Some(x);
                last = Some(x);
                keep
            }
        }))
        .unwrap_or_default();
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
            && f.len().saturating_mul(PROBE_DIVISOR) <= self.present.len()
        {
            return self.probe(lo, hi, f);
        }
        let lo_off = i128::from(lo) - i128::from(self.base);
        let hi_off = i128::from(hi) - i128::from(self.base);
        let max_off = if self.planes.is_empty() {
            0
        } else if self.planes.len() >= 64 {
            i128::from(u64::MAX)
        } else {
            (1i128 << self.planes.len()) - 1
        };
        if hi_off < 0 || lo_off > max_off {
            return RoaringBitmap::new();
        }
        let mut cand = match filter {
            Some(f) => &self.present & f,
            None => self.present.clone(),
        };
        if lo_off > 0 {
            cand = self.bsi_ge(lo_off as u64, cand);
        }
        if hi_off < max_off {
            cand = self.bsi_le(hi_off as u64, cand);
        }
        cand
    }

    /// Probes the dense column for each candidate.
    fn probe(&self, lo: i64, hi: i64, filter: &RoaringBitmap) -> RoaringBitmap {
        let mut out = Vec::new();
        let mut buf = [0u32; 256];
        let mut it = filter.iter();
        loop {
            let got = it.next_many(&mut buf);
            if got.is_empty() {
                break;
            }
            for &id in got.iter() {
                if let Some(&v) = self.values.get(id as usize)
                    && v >= lo
                    && v <= hi
                    && self.present.contains(id)
                {
                    out.push(id);
                }
            }
        }
        RoaringBitmap::from_sorted_iter(out).unwrap_or_default()
    }

    /// Candidates with offset >= c.
    fn bsi_ge(&self, c: u64, mut eq: RoaringBitmap) -> RoaringBitmap {
        let mut gt = RoaringBitmap::new();
        for bit in (0..self.planes.len()).rev() {
            if eq.is_empty() {
                break;
            }
            let plane = &self.planes[bit];
            if c >> bit & 1 == 1 {
                eq &= plane;
            } else {
                gt |= &eq & plane;
                eq -= plane;
            }
        }
        gt | eq
    }

    /// Candidates with offset <= c.
    fn bsi_le(&self, c: u64, mut eq: RoaringBitmap) -> RoaringBitmap {
        let mut lt = RoaringBitmap::new();
        for bit in (0..self.planes.len()).rev() {
            if eq.is_empty() {
                break;
            }
            let plane = &self.planes[bit];
            if c >> bit & 1 == 1 {
                lt |= &eq - plane;
                eq &= plane;
            } else {
                eq -= plane;
            }
        }
        lt | eq
    }

    /// Approximate heap bytes.
    pub(crate) fn heap_bytes(&self) -> u64 {
        self.values.capacity() as u64 * 8
            + bitmap_bytes(&self.present)
            + self.planes.iter().map(bitmap_bytes).sum::<u64>()
    }

    /// Number of bit planes of the index.
    pub(crate) fn depth(&self) -> usize {
        self.planes.len()
    }
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
}
