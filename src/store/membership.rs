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
//!
//! A query over many customers ("any of these 10 acquisition channels") works on dense
//! words, one bit per customer. Reading a tag of 2 to 6% of the customers into such words
//! costs a step per member (roaring keeps it as sorted arrays), several times the word by
//! word union or intersection itself. So the first such query keeps the tag's words as a
//! dense copy, used by every later one until the tag changes: for tags where the words cost
//! at most 4 times the bitmap (about 1 customer in 64 or more is a member), and while all
//! copies together take no more bytes than the memberships. On the 1M-customer benchmark
//! store, the 13 workload queries leave copies of 2.8 MiB next to 12.5 MiB of memberships;
//! [`Store::memory_usage`](crate::Store::memory_usage) counts them and
//! [`Store::drop_dense_copies`](crate::Store::drop_dense_copies) releases them.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use roaring::{MultiOps, RoaringBitmap};

use crate::day::Day;

/// Up to this many customers, [`TagMembers::add_many`] inserts them one by one instead of
/// uniting bitmaps.
const FEW: u64 = 64;

/// A dense copy of a tag's members is kept when its words cost at most this many times
/// the bytes of the tag's bitmap: for a tag mostly in array containers (2 bytes a member),
/// when at least one customer in about 64 is a member.
const DENSE_COPY_MAX_RATIO: u64 = 4;

/// 64-bit words in the dense copy of one 65,536-id chunk.
const WORDS_PER_CHUNK: u64 = 65_536 / 64;

#[derive(Clone, Debug, Default)]
pub(crate) struct TagMembers {
    all: Arc<RoaringBitmap>,
    base_day: Day,
    dated: Arc<BTreeMap<Day, RoaringBitmap>>,
    /// The members as dense words (bit `id % 64` of word `id / 64`, whole 65,536-id
    /// chunks), built by the first dense query that reads the tag, when the tag is dense
    /// enough and the store has room (see [`TagMembers::words`]); `None` inside once the
    /// tag was found too sparse. Shared by clones of the store like the bitmap, and
    /// dropped by every change.
    words: Arc<OnceLock<Option<Box<[u64]>>>>,
}

impl TagMembers {
    /// The members, to change: the dense copy (built or not, shared or not) is dropped.
    fn all_mut(&mut self) -> &mut RoaringBitmap {
        self.forget_words();
        Arc::make_mut(&mut self.all)
    }

    /// Drops the dense copy, before any change of the members. A copy shared with a
    /// clone stays with the clone.
    fn forget_words(&mut self) {
        match Arc::get_mut(&mut self.words) {
            Some(w) => {
                w.take();
            }
            None => self.words = Arc::default(),
        }
    }

    /// The members as dense words, for query kernels that combine many large sets
    /// word by word: built by `build` on the first call that `room` allows (it is asked
    /// with the copy's bytes), kept until the members change. `None` for a tag too sparse
    /// to be worth it (its words would cost more than [`DENSE_COPY_MAX_RATIO`] times its
    /// bitmap) and while `room` refuses; such a tag is read from its bitmap.
    pub(crate) fn words(
        &self,
        build: impl FnOnce(&RoaringBitmap) -> Vec<u64>,
        room: impl FnOnce(u64) -> bool,
    ) -> Option<&[u64]> {
        if let Some(kept) = self.words.get() {
            return kept.as_deref();
        }
        let Some(max) = self.all.max() else {
            return self.words.get_or_init(|| None).as_deref();
        };
        let bytes = (u64::from(max >> 16) + 1) * WORDS_PER_CHUNK * 8;
        if bytes > DENSE_COPY_MAX_RATIO.saturating_mul(bitmap_bytes(&self.all)) {
            return self.words.get_or_init(|| None).as_deref();
        }
        if !room(bytes) {
            return None;
        }
        self.words
            .get_or_init(|| Some(build(&self.all).into_boxed_slice()))
            .as_deref()
    }

    /// Bytes of the dense copy, 0 when none is kept.
    pub(crate) fn words_bytes(&self) -> u64 {
        self.words
            .get()
            .and_then(Option::as_deref)
            .map_or(0, |w| w.len() as u64 * 8)
    }

    /// Heap bytes of the members and their assignment-day buckets, the dense copy aside.
    pub(crate) fn bitmaps_bytes(&self) -> u64 {
        bitmap_bytes(&self.all) + self.dated.values().map(bitmap_bytes).sum::<u64>()
    }

    /// Drops the dense copy (the next large query that reads the tag may build it again).
    pub(crate) fn drop_words(&mut self) {
        self.forget_words();
    }

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
            self.all_mut().insert(customer);
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
            self.forget_words();
            self.all = Arc::new(set);
            self.base_day = day;
            self.dated = Arc::default();
        } else if self.dated.is_empty() && day == self.base_day {
            *self.all_mut() |= set;
        } else {
            self.add_many(&set, day);
        }
    }

    pub(crate) fn add_many(&mut self, set: &RoaringBitmap, day: Day) {
        if set.is_empty() {
            return;
        }
        if self.all.is_empty() {
            self.forget_words();
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
        *self.all_mut() |= set;
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
        let all = self.all_mut();
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
            self.forget_words();
            self.all = Arc::new(new);
            self.base_day = day;
            self.dated = Arc::default();
            return n;
        }
        if day != self.base_day {
            *Arc::make_mut(&mut self.dated).entry(day).or_default() |= &new;
        }
        *self.all_mut() |= new;
        n
    }

    /// Removes one customer; returns whether it was a member.
    pub(crate) fn remove_one(&mut self, customer: u32) -> bool {
        if !self.all.contains(customer) {
            return false;
        }
        self.all_mut().remove(customer);
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
        *self.all_mut() -= set;
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
            self.forget_words();
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
            self.forget_words();
            self.all = Arc::new(keep);
            Arc::make_mut(&mut self.dated).retain(|d, _| *d >= next);
            self.rebase();
            return gone;
        }
        let gone = self.dated.range(..next).map(|(_, b)| b).union();
        if gone.is_empty() {
            return gone;
        }
        *self.all_mut() -= &gone;
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
            words: Arc::default(),
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

    /// Approximate heap bytes of the bitmaps and of the dense copy, when one was built.
    pub(crate) fn heap_bytes(&self) -> u64 {
        self.bitmaps_bytes() + self.words_bytes()
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

    /// Dense words of a bitmap, as the query kernels build them.
    fn words_of(b: &RoaringBitmap) -> Vec<u64> {
        let chunks = b.max().map_or(0, |m| (m >> 16) as usize + 1);
        let mut w = vec![0u64; chunks * 1024];
        for id in b {
            w[id as usize / 64] |= 1 << (id % 64);
        }
        w
    }

    #[test]
    fn sparse_tags_keep_no_dense_copy() {
        let mut m = TagMembers::default();
        // 1 member in 200: the words would cost about 16 times the bitmap.
        m.add_many(&(0..200_000).step_by(200).collect(), Day(1));
        assert_eq!(m.words(words_of, |_| true), None);
        // 1 member in 8: kept.
        m.add_many(&(0..200_000).step_by(8).collect(), Day(1));
        assert_eq!(m.words(words_of, |_| true), Some(&words_of(m.bitmap())[..]));
        assert!(m.heap_bytes() >= 4 * 1024 * 8);
    }

    #[test]
    fn a_copy_waits_for_room() {
        let mut m = TagMembers::default();
        m.add_many(&(0..200_000).step_by(8).collect(), Day(1));
        let mut asked = 0;
        assert_eq!(
            m.words(words_of, |b| {
                asked = b;
                false
            }),
            None
        );
        assert_eq!(asked, 4 * 1024 * 8, "four chunks of 8 KiB");
        assert_eq!(m.words_bytes(), 0, "a refusal is not remembered");
        assert!(m.words(words_of, |_| true).is_some());
        assert_eq!(m.words_bytes(), 4 * 1024 * 8);
        m.drop_words();
        assert_eq!(m.words_bytes(), 0);
    }

    mod dense_copy {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Change {
            One(u32, i32),
            Many(Vec<u32>, i32),
            Owned(Vec<u32>, i32),
            New(Vec<u32>, i32),
            RemoveOne(u32),
            RemoveMany(Vec<u32>),
            Through(i32),
            /// Read the words (building them) on the tag and on a clone taken now.
            Read,
        }

        fn change() -> impl Strategy<Value = Change> {
            let id = 0u32..140_000;
            let ids = prop::collection::vec(0u32..70_000, 0..3000);
            let day = 0i32..5;
            prop_oneof![
                (id.clone(), day.clone()).prop_map(|(c, d)| Change::One(c, d)),
                (ids.clone(), day.clone()).prop_map(|(c, d)| Change::Many(c, d)),
                (ids.clone(), day.clone()).prop_map(|(c, d)| Change::Owned(c, d)),
                (ids.clone(), day.clone()).prop_map(|(c, d)| Change::New(c, d)),
                id.prop_map(Change::RemoveOne),
                ids.prop_map(Change::RemoveMany),
                day.prop_map(Change::Through),
                Just(Change::Read),
                Just(Change::Read),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

            /// After any sequence of changes, the dense copy (when there is one) is the
            /// members' words, and clones that shared a copy keep theirs: a change never
            /// leaves a stale copy on either side.
            #[test]
            fn the_dense_copy_follows_every_change(changes in prop::collection::vec(change(), 1..40)) {
                let mut m = TagMembers::default();
                let mut clones: Vec<TagMembers> = Vec::new();
                for c in &changes {
                    match c {
                        Change::One(id, d) => m.add_one(*id, Day(*d)),
                        Change::Many(ids, d) => m.add_many(&ids.iter().copied().collect(), Day(*d)),
                        Change::Owned(ids, d) => m.add_many_owned(ids.iter().copied().collect(), Day(*d)),
                        Change::New(ids, d) => {
                            m.add_new(&ids.iter().copied().collect(), Day(*d));
                        }
                        Change::RemoveOne(id) => {
                            m.remove_one(*id);
                        }
                        Change::RemoveMany(ids) => {
                            m.remove_many(&ids.iter().copied().collect());
                        }
                        Change::Through(d) => {
                            m.take_through(Day(*d));
                        }
                        Change::Read => {
                            m.words(words_of, |_| true);
                            clones.push(m.clone());
                        }
                    }
                    if let Some(w) = m.words(words_of, |_| true) {
                        prop_assert_eq!(w, &words_of(m.bitmap())[..]);
                    }
                    for k in &clones {
                        if let Some(w) = k.words(words_of, |_| true) {
                            prop_assert_eq!(w, &words_of(k.bitmap())[..]);
                        }
                    }
                }
            }
        }
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
