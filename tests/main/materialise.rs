//! Bulk materialisation of a segment (`to_vec`, `extend_ids`, `write_ids` pages,
//! `keys_into`) against the naive model: the bitmap's own iterator, one id at a time. The
//! random bitmaps hold every container kind (sorted arrays, bitsets, runs after
//! `optimize`), spread over several 65,536-id chunks, and are paged at chunk sizes 1, 7,
//! 4,096 and 65,536 with cursors that fall on and across container boundaries.

use audience::{CustomerKey, KeyRef, RoaringBitmap, Segment, Store};
use proptest::prelude::*;

/// One 65,536-id chunk's worth of members: an array (few ids), a bitset (many) or a run.
fn chunk() -> impl Strategy<Value = (u32, u8, u32, u32)> {
    // (chunk index, kind, seed or run start, count or run length)
    (0u32..6, 0u8..4, any::<u32>(), 0u32..9_000)
}

fn bitmap() -> impl Strategy<Value = RoaringBitmap> {
    (
        prop::collection::vec(chunk(), 0..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(chunks, optimize, top)| {
            let mut bits = RoaringBitmap::new();
            for (index, kind, seed, count) in chunks {
                let base = index << 16;
                let mut x = u64::from(seed) | 1;
                match kind {
                    // A run (kept as a run container after `optimize`).
                    0 => {
                        let start = seed % 65_536;
                        let end = (start + count * 7).min(65_535);
                        bits.insert_range(base + start..=base + end);
                    }
                    // Scattered ids: an array up to 4,096, a bitset beyond.
                    _ => {
                        for _ in 0..count * u32::from(kind) {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            bits.insert(base + (x % 65_536) as u32);
                        }
                    }
                }
            }
            if top {
                // The last ids of the id space: a cursor there has nothing after it.
                bits.insert_range(u32::MAX - 70..=u32::MAX);
            }
            if optimize {
                bits.optimize();
            }
            bits
        })
}

/// Pages of `size` ids through `write_ids`, cursor to cursor.
fn paged(seg: &Segment, size: usize) -> Vec<u32> {
    let mut page = vec![0u32; size];
    let mut cursor = None;
    let mut all = Vec::new();
    loop {
        let n = seg.write_ids(cursor, &mut page);
        all.extend_from_slice(&page[..n]);
        if n < size {
            return all;
        }
        cursor = Some(page[n - 1]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn bulk_ids_equal_the_iterator(bits in bitmap(), cursor in any::<u32>()) {
        let want: Vec<u32> = bits.iter().collect();
        let seg = Segment::from_bitmap(bits);
        prop_assert_eq!(&seg.to_vec(), &want);
        let mut appended = vec![7, 7];
        seg.extend_ids(&mut appended);
        prop_assert_eq!(&appended[..2], &[7, 7]);
        prop_assert_eq!(&appended[2..], &want[..]);
        for size in [1, 7, 4096, 65_536] {
            prop_assert_eq!(&paged(&seg, size), &want, "pages of {}", size);
        }
        // A page after any cursor, member or not, is the iterator's ids above it.
        for c in [cursor, cursor & 0xFFFF_0000, cursor | 0xFFFF, want.get(cursor as usize % want.len().max(1)).copied().unwrap_or(0)] {
            let after: Vec<u32> = want.iter().copied().filter(|&id| id > c).take(5_000).collect();
            let mut page = vec![0u32; 5_000];
            let n = seg.write_ids(Some(c), &mut page);
            prop_assert_eq!(&page[..n], &after[..], "after {}", c);
        }
    }
}

#[test]
fn an_empty_buffer_or_segment_writes_nothing() {
    let seg = Segment::from_bitmap((0..10).collect());
    assert_eq!(seg.write_ids(None, &mut []), 0);
    assert_eq!(seg.write_ids(Some(u32::MAX), &mut [0; 4]), 0);
    assert_eq!(Segment::default().write_ids(None, &mut [0; 4]), 0);
    assert!(Segment::default().to_vec().is_empty());
}

#[test]
fn bulk_keys_equal_the_iterator_and_skip_erased_ids() {
    let mut store = Store::new();
    let keys = (0..200_000u64).map(|i| {
        if i % 3 == 0 {
            CustomerKey::member(format!("M{i}")).unwrap()
        } else {
            CustomerKey::Phone(66_800_000_000 + i)
        }
    });
    store.ensure_customers(keys).unwrap();
    // Every container kind, across four chunks, and ids that were never handed out.
    let mut bits: RoaringBitmap = (0..200_000).filter(|i| i % 5 != 1).collect();
    bits.insert_range(150_000..160_000);
    bits.insert_range(300_000..300_100);
    bits.optimize();
    let seg = Segment::from_bitmap(bits);
    let want: Vec<KeyRef<'_>> = seg.keys(&store).map(|(_, k)| k).collect();
    let mut got = Vec::new();
    seg.keys_into(&store, &mut got);
    assert_eq!(got, want);
    assert_eq!(got.len(), 160_000 + 2_000);
    assert_eq!(got[0], KeyRef::Member("M0"));
    assert_eq!(got[1], KeyRef::Phone(66_800_000_002));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// `add_tag_bulk_owned` leaves the store exactly as `add_tag_bulk` does: members, the
    /// day of every assignment, and the refusal (with nothing changed) of a set that holds
    /// an id that is not a customer.
    #[test]
    fn bulk_tagging_by_value_equals_by_reference(
        steps in prop::collection::vec((prop::collection::vec(0u32..1_200, 0..300), 0u8..3), 1..6),
    ) {
        use audience::{Day, Edit, TagSpec};
        let today = Day::from_ymd(2026, 3, 1).unwrap();
        let mut by_ref = Store::new();
        by_ref.ensure_customers((0..1_000u64).map(|i| CustomerKey::Phone(66_800_000_000 + i))).unwrap();
        let tag = by_ref.create_tag(&Edit::new("crm", today), TagSpec::new("vip")).unwrap();
        let mut by_value = by_ref.clone();
        for (ids, day) in steps {
            let set: RoaringBitmap = ids.into_iter().collect();
            let day = today.saturating_add(-i32::from(day));
            // A clone shares the members: the by-value form must not write through to it.
            let before = by_value.clone();
            let kept = before.members(tag).unwrap().clone();
            let a = by_ref.add_tag_bulk(tag, &set, day);
            let b = by_value.add_tag_bulk_owned(tag, set, day);
            prop_assert_eq!(a.is_err(), b.is_err());
            if let (Err(a), Err(b)) = (a, b) {
                prop_assert_eq!(a.to_string(), b.to_string());
            }
            prop_assert_eq!(by_ref.members(tag).unwrap(), by_value.members(tag).unwrap());
            prop_assert_eq!(by_ref.assignment_days(tag).unwrap(), by_value.assignment_days(tag).unwrap());
            prop_assert_eq!(before.members(tag).unwrap(), &kept);
        }
    }
}

#[test]
fn bulk_tagging_by_value_refuses_unknown_ids() {
    use audience::{Day, Edit, TagSpec};
    let today = Day::from_ymd(2026, 3, 1).unwrap();
    let mut store = Store::new();
    store
        .ensure_customers((0..10u64).map(|i| CustomerKey::Phone(66_800_000_000 + i)))
        .unwrap();
    let tag = store
        .create_tag(&Edit::new("crm", today), TagSpec::new("vip"))
        .unwrap();
    let e = store
        .add_tag_bulk_owned(tag, [3, 12].into_iter().collect(), today)
        .unwrap_err();
    assert_eq!(e.to_string(), "unknown customer id 12");
    assert!(store.members(tag).unwrap().is_empty());
}

/// The last ids of the id space, as a bitset container whose last word is full (ids up to
/// `u32::MAX`), as a run, and as an array: written out whole and page by page.
#[test]
fn ids_at_the_top_of_the_id_space() {
    let top = u32::MAX - 9_999..=u32::MAX;
    let bitset: RoaringBitmap = top.clone().collect();
    let mut run = bitset.clone();
    run.optimize();
    let array: RoaringBitmap = top.clone().rev().step_by(5).collect();
    for bits in [bitset, run, array] {
        let want: Vec<u32> = bits.iter().collect();
        assert_eq!(want.last(), Some(&u32::MAX));
        let seg = Segment::from_bitmap(bits);
        assert_eq!(seg.to_vec(), want);
        let mut out = vec![1];
        seg.extend_ids(&mut out);
        assert_eq!(out[1..], want[..]);
        for size in [1, 7, 4096] {
            assert_eq!(paged(&seg, size), want, "pages of {size}");
        }
    }
}
