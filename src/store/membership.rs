//! One tag's members and the day each membership was assigned.
//!
//! The members are one roaring bitmap. Assignment days are kept as bitmaps too, so expiry
//! ("new customer" leaves 60 days after assignment) and "assigned more than N days ago" are
//! bitmap operations, never per-customer loops:
//!
//! - `base_day`: the day of the largest group of memberships, kept implicitly: a member
//!   that is in no dated bucket was assigned on `base_day`;
//! - `dated`: one bitmap per other assignment day. Buckets are disjoint subsets of the
//!   members, and none is for `base_day`.
//!
//! A tag filled by one import costs exactly its bitmap; each further day of assignments
//! costs one bitmap of that day's memberships. Both bitmaps sit behind `Arc`, so cloning a
//! store shares them until one side writes (copy on write).

use std::collections::BTreeMap;
use std::sync::Arc;

use roaring::{MultiOps, RoaringBitmap};

use crate::day::Day;

/// Up to this many customers, [`TagMembers::add_many`] inserts them one by one instead of
/// uniting bitmaps.
const FEW: u64 = 64;

#[derive(Clone, Debug, Default)]
pub(crate) struct TagMembers {
    all: Arc<RoaringBitmap>,
    base_day: Day,
    dated: Arc<BTreeMap<Day, RoaringBitmap>>,
}

impl TagMembers {
    pub(crate) fn bitmap(&self) -> &RoaringBitmap {
        &self.all
    }

    pub(crate) fn len(&self) -> u64 {
        self.all.len()
    }

    pub(crate) fn contains(&self, customer: u32) -> bool {
        self.all.contains(customer)
    }

    /// The assignment day of a member.
    pub(crate) fn day_of(&self, customer: u32) -> Option<Day> {
        if !self.all.contains(customer) {
            return None;
        }
        Some(
            self.dated
                .iter()
                .find(|(_, b)| b.contains(customer))
                .map_or(self.base_day, |(d, _)| *d),
        )
    }

    /// Adds (or re-assigns, refreshing the day of) one customer.
    pub(crate) fn add_one(&mut self, customer: u32, day: Day) {
        if self.all.is_empty() {
            self.base_day = day;
        }
        if self.all.contains(customer) {
            if self.day_of(customer) == Some(day) {
                return;
            }
            let dated = Arc::make_mut(&mut self.dated);
            let mut emptied = None;
            for (d, b) in dated.iter_mut() {
                if b.remove(customer) {
                    if b.is_empty() {
                        emptied = Some(*d);
                    }
                    break;
                }
            }
            if let Some(d) = emptied {
                dated.remove(&d);
            }
        } else {
            Arc::make_mut(&mut self.all).insert(customer);
        }
        if day != self.base_day {
            Arc::make_mut(&mut self.dated)
                .entry(day)
                .or_default()
                .insert(customer);
        }
    }

    /// Adds (or re-assigns, refreshing the day of) every customer of `set`.
    /// [`TagMembers::add_many`] with the caller's bitmap: an empty tag takes it as its
    /// members without a copy, and a tag whose members all share `day` unites it in place.
    pub(crate) fn add_many_owned(&mut self, set: RoaringBitmap, day: Day) {
        if set.is_empty() {
            return;
        }
        if self.all.is_empty() {
            self.all = Arc::new(set);
            self.base_day = day;
            self.dated = Arc::default();
        } else if self.dated.is_empty() && day == self.base_day {
            *Arc::make_mut(&mut self.all) |= set;
        } else {
            self.add_many(&set, day);
        }
    }

    pub(crate) fn add_many(&mut self, set: &RoaringBitmap, day: Day) {
        if set.is_empty() {
            return;
        }
        if self.all.is_empty() {
            self.all = Arc::new(set.clone());
            self.base_day = day;
            self.dated = Arc::default();
            return;
        }
        if set.len() <= FEW {
            self.add_few(set, day);
            return;
        }
        // Only members being re-assigned leave their bucket; new members are in none, so a
        // batch of new members touches (and, in a shared store, copies) no other bucket.
        if !self.dated.is_empty() {
            let moved = set & &*self.all;
            if !moved.is_empty() {
                let dated = Arc::make_mut(&mut self.dated);
                dated.retain(|d, b| {
                    if *d != day {
                        *b -= &moved;
                    }
                    !b.is_empty()
                });
            }
        }
        if day != self.base_day {
            let dated = Arc::make_mut(&mut self.dated);
            *dated.entry(day).or_default() |= set;
        }
        *Arc::make_mut(&mut self.all) |= set;
    }

    /// [`TagMembers::add_many`] for a few customers, one by one: a union rebuilds every
    /// container the set touches (up to 8 KiB each, in the members and in the day's bucket),
    /// an insertion moves at most the tail of one. An import adds a few customers to each
    /// of many large tags; this is what its replay costs.
    fn add_few(&mut self, set: &RoaringBitmap, day: Day) {
        if !self.dated.is_empty() {
            let moved: Vec<u32> = set.iter().filter(|&c| self.all.contains(c)).collect();
            if !moved.is_empty() {
                let dated = Arc::make_mut(&mut self.dated);
                dated.retain(|d, b| {
                    if *d != day {
                        for &c in &moved {
                            b.remove(c);
                        }
                    }
                    !b.is_empty()
                });
            }
        }
        if day != self.base_day {
            let bucket = Arc::make_mut(&mut self.dated).entry(day).or_default();
            for c in set {
                bucket.insert(c);
            }
        }
        let all = Arc::make_mut(&mut self.all);
        for c in set {
            all.insert(c);
        }
    }

    /// Adds the customers of `set` that are not members yet, with `day`; existing members
    /// keep their day. Returns how many were added.
    pub(crate) fn add_new(&mut self, set: &RoaringBitmap, day: Day) -> u64 {
        let new = set - &*self.all;
        let n = new.len();
        if n == 0 {
            return 0;
        }
        if self.all.is_empty() {
            self.all = Arc::new(new);
            self.base_day = day;
            self.dated = Arc::default();
            return n;
        }
        if day != self.base_day {
            *Arc::make_mut(&mut self.dated).entry(day).or_default() |= &new;
        }
        *Arc::make_mut(&mut self.all) |= new;
        n
    }

    /// Removes one customer; returns whether it was a member.
    pub(crate) fn remove_one(&mut self, customer: u32) -> bool {
        if !self.all.contains(customer) {
            return false;
        }
        Arc::make_mut(&mut self.all).remove(customer);
        if !self.dated.is_empty() {
            let dated = Arc::make_mut(&mut self.dated);
            dated.retain(|_, b| {
                b.remove(customer);
                !b.is_empty()
            });
        }
        self.rebase();
        true
    }

    /// Removes every customer of `set`; returns how many were members.
    pub(crate) fn remove_many(&mut self, set: &RoaringBitmap) -> u64 {
        let n = self.all.intersection_len(set);
        if n == 0 {
            return 0;
        }
        *Arc::make_mut(&mut self.all) -= set;
        if !self.dated.is_empty() {
            let dated = Arc::make_mut(&mut self.dated);
            dated.retain(|_, b| {
                *b -= set;
                !b.is_empty()
            });
        }
        self.rebase();
        n
    }

    /// Members assigned strictly before `cutoff`: an n-way union of the older buckets, or,
    /// when the base group is older too, everyone minus an n-way union of the newer ones
    /// (never a subtraction per bucket).
    pub(crate) fn assigned_before(&self, cutoff: Day) -> RoaringBitmap {
        if self.base_day < cutoff {
            let newer = self.dated.range(cutoff..).map(|(_, b)| b).union();
            &*self.all - &newer
        } else {
            self.dated.range(..cutoff).map(|(_, b)| b).union()
        }
    }

    /// Members assigned on `cutoff` or later.
    pub(crate) fn assigned_since(&self, cutoff: Day) -> RoaringBitmap {
        if self.base_day < cutoff {
            self.dated.range(cutoff..).map(|(_, b)| b).union()
        } else {
            let older = self.dated.range(..cutoff).map(|(_, b)| b).union();
            &*self.all - &older
        }
    }

    /// Removes and returns the members assigned on or before `last_day`.
    pub(crate) fn take_through(&mut self, last_day: Day) -> RoaringBitmap {
        let Some(next) = last_day.checked_add(1) else {
            let all = std::mem::take(&mut self.all);
            self.dated = Arc::default();
            return Arc::unwrap_or_clone(all);
        };
        if self.base_day < next {
            // The base group goes: what stays is exactly the newer buckets.
            let keep = self.dated.range(next..).map(|(_, b)| b).union();
            if keep.len() == self.all.len() {
                return RoaringBitmap::new();
            }
            let gone = &*self.all - &keep;
            self.all = Arc::new(keep);
            Arc::make_mut(&mut self.dated).retain(|d, _| *d >= next);
            self.rebase();
            return gone;
        }
        let gone = self.dated.range(..next).map(|(_, b)| b).union();
        if gone.is_empty() {
            return gone;
        }
        *Arc::make_mut(&mut self.all) -= &gone;
        Arc::make_mut(&mut self.dated).retain(|d, _| *d >= next);
        self.rebase();
        gone
    }

    /// The members assigned on `base_day`.
    fn base_members(&self) -> RoaringBitmap {
        let mut out = (*self.all).clone();
        for b in self.dated.values() {
            out -= b;
        }
        out
    }

    /// Keeps the implicit base group non-empty: when it has emptied, the largest dated
    /// bucket becomes the base.
    fn rebase(&mut self) {
        if self.all.is_empty() {
            self.dated = Arc::default();
            return;
        }
        if self.dated.is_empty() {
            return;
        }
        let dated_len: u64 = self.dated.values().map(RoaringBitmap::len).sum();
        if dated_len < self.all.len() {
            return;
        }
        let dated = Arc::make_mut(&mut self.dated);
        if let Some((&day, _)) = dated.iter().max_by_key(|(_, b)| b.len()) {
            dated.remove(&day);
            self.base_day = day;
        }
    }

    /// The stored parts, as snapshots write them: every member, the base day, and the
    /// dated buckets (a member in no bucket was assigned on the base day).
    pub(crate) fn parts(&self) -> (&RoaringBitmap, Day, &BTreeMap<Day, RoaringBitmap>) {
        (&self.all, self.base_day, &self.dated)
    }

    /// Rebuilds a tag's members from the parts [`TagMembers::parts`] returns, as they are
    /// (so a rebuilt store writes the same snapshot bytes). The caller has checked that the
    /// buckets are non-empty, disjoint subsets of `all`, none for `base_day`.
    pub(crate) fn from_parts(
        all: RoaringBitmap,
        base_day: Day,
        dated: BTreeMap<Day, RoaringBitmap>,
    ) -> TagMembers {
        TagMembers {
            all: Arc::new(all),
            base_day,
            dated: Arc::new(dated),
        }
    }

    /// Members per assignment day, oldest first: `(day, count)`.
    pub(crate) fn day_counts(&self) -> Vec<(Day, u64)> {
        let dated_len: u64 = self.dated.values().map(RoaringBitmap::len).sum();
        let mut out: Vec<(Day, u64)> = self.dated.iter().map(|(d, b)| (*d, b.len())).collect();
        let base = self.all.len() - dated_len;
        if base > 0 {
            let at = out.partition_point(|(d, _)| *d < self.base_day);
            out.insert(at, (self.base_day, base));
        }
        out
    }

    /// Members per assignment day, oldest first, as bitmaps (for snapshots).
    pub(crate) fn day_groups(&self) -> Vec<(Day, RoaringBitmap)> {
        let mut out: Vec<(Day, RoaringBitmap)> =
            self.dated.iter().map(|(d, b)| (*d, b.clone())).collect();
        let base = self.base_members();
        if !base.is_empty() {
            let at = out.partition_point(|(d, _)| *d < self.base_day);
            out.insert(at, (self.base_day, base));
        }
        out
    }

    /// Approximate heap bytes of the bitmaps.
    pub(crate) fn heap_bytes(&self) -> u64 {
        bitmap_bytes(&self.all) + self.dated.values().map(bitmap_bytes).sum::<u64>()
    }
}

/// Heap bytes held by a bitmap: array containers at their capacity (2 bytes a slot),
/// 8 KiB per bitset container, run containers at their size, and 32 bytes per container
/// header. Computed from roaring's statistics, whose byte fields count an array slot as 4
/// bytes and a bitset as 65,536 "bytes" (its size in bits), so they are not used as is.
pub(crate) fn bitmap_bytes(b: &RoaringBitmap) -> u64 {
    let s = b.statistics();
    s.n_bytes_array_containers / 2
        + u64::from(s.n_bitset_containers) * 8192
        + s.n_bytes_run_containers
        + u64::from(s.n_containers) * 32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bm(ids: &[u32]) -> RoaringBitmap {
        ids.iter().copied().collect()
    }

    #[test]
    fn days_follow_reassignment() {
        let mut m = TagMembers::default();
        m.add_many(&bm(&[1, 2, 3]), Day(10));
        m.add_one(4, Day(12));
        m.add_many(&bm(&[2, 5]), Day(15));
        assert_eq!(m.day_of(1), Some(Day(10)));
        assert_eq!(m.day_of(2), Some(Day(15)));
        assert_eq!(m.day_of(4), Some(Day(12)));
        assert_eq!(m.day_of(9), None);
        assert_eq!(m.assigned_before(Day(12)), bm(&[1, 3]));
        assert_eq!(m.assigned_since(Day(12)), bm(&[2, 4, 5]));
        assert_eq!(
            m.day_counts(),
            vec![(Day(10), 2), (Day(12), 1), (Day(15), 2)]
        );
        let gone = m.take_through(Day(12));
        assert_eq!(gone, bm(&[1, 3, 4]));
        assert_eq!(m.bitmap(), &bm(&[2, 5]));
        assert_eq!(m.day_of(5), Some(Day(15)));
        assert_eq!(m.day_counts(), vec![(Day(15), 2)]);
        assert_eq!(m.add_new(&bm(&[5, 6]), Day(20)), 1);
        assert_eq!(m.day_of(5), Some(Day(15)));
        assert_eq!(m.day_of(6), Some(Day(20)));
        m.remove_many(&bm(&[5, 2]));
        assert_eq!(m.day_groups(), vec![(Day(20), bm(&[6]))]);
    }

    #[test]
    fn bitmap_bytes_counts_real_payloads() {
        let dense: RoaringBitmap = (0..65_536).step_by(2).collect();
        assert_eq!(bitmap_bytes(&dense), 8192 + 32);
        let sparse: RoaringBitmap = (0..1000).map(|i| i * 50).collect();
        let got = bitmap_bytes(&sparse);
        assert!((2000 + 32..=4000 + 32).contains(&got), "{got}");
    }
}
