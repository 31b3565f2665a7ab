//! The order splits and samples cut: customers ranked by a keyed hash of their external key
//! (see [`rank`] for why and for the exact function).

use std::cmp::Ordering;

use roaring::RoaringBitmap;

use crate::error::{Error, ErrorKind, err};
use crate::store::Store;
use crate::store::directory::KeyRef;

const SEED_SALT: u64 = 0x243F_6A88_85A3_08D3;
const KEY_SALT: u64 = 0x1319_8A2E_0370_7344;
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The two keys derived from a seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keys {
    k0: u64,
    k1: u64,
}

impl Keys {
    pub(crate) fn new(seed: u64) -> Keys {
        let k0 = mix(seed ^ SEED_SALT);
        Keys {
            k0,
            k1: mix(k0 ^ KEY_SALT),
        }
    }

    #[inline]
    pub(crate) fn rank(&self, key: KeyRef<'_>) -> u64 {
        match key {
            KeyRef::Phone(p) => mix(mix(p ^ self.k0).wrapping_add(self.k1)),
            KeyRef::Member(m) => {
                let bytes = m.as_bytes();
                let mut h = self.k0 ^ (bytes.len() as u64).wrapping_mul(GOLDEN);
                for chunk in bytes.chunks(8) {
                    let c = chunk
                        .iter()
                        .enumerate()
                        .fold(0u64, |acc, (i, &b)| acc | (u64::from(b) << (8 * i)));
                    h = mix(h ^ c);
                }
                mix(h.wrapping_add(self.k1))
            }
        }
    }
}

/// The rank of a customer key under a seed: splits and samples order customers by
/// `(rank, key)` and cut that order.
///
/// Customer ids are handed out in arrival order, so a split that walked ids would depend on
/// the order customers were added. The rank is computed from the caller's seed and the
/// customer's *external key* (phone number or member id) alone, so two stores that hold
/// the same customers, added in any order, split them identically, and the same seed
/// always gives the same split.
///
/// Let `mix` be the SplitMix64 finaliser (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014; a bijection of `u64` with full avalanche):
///
/// ```text
/// mix(z): z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
///         z = (z ^ (z >> 27)) * 0x94D049BB133111EB
///         return z ^ (z >> 31)                        (wrapping arithmetic)
/// ```
///
/// With `k0 = mix(seed ^ 0x243F6A8885A308D3)` and `k1 = mix(k0 ^ 0x13198A2E03707344)`:
///
/// - a phone key `p` (its E.164 digits as an integer) ranks `mix(mix(p ^ k0) + k1)`;
/// - a member id of bytes `b` (UTF-8) ranks as follows: `h = k0 ^ (len(b) * 0x9E3779B97F4A7C15)`,
///   then for every 8-byte chunk of `b` (the last one padded with zero bytes) read as a
///   little-endian `u64` `c`: `h = mix(h ^ c)`; the rank is `mix(h + k1)`.
///
/// This is a statistical shuffle, not a cryptographic one: it decorrelates the groups from
/// the keys and from each other across seeds, which is what a random split needs, and it
/// costs a few nanoseconds per customer. It is part of the crate's stability contract: a
/// seed gives the same split in every later version, and other programs can reproduce a
/// split from it. Equal ranks (rare with 64 bits) are ordered by key: phone numbers by
/// value before member ids by their bytes.
///
/// ```
/// use audience::KeyRef;
/// use audience::campaign::rank;
///
/// // Fixed forever: the same seed and key give the same rank in every version.
/// assert_eq!(rank(42, KeyRef::Phone(85_291_234_567)), 12_064_952_794_396_347_586);
/// assert_ne!(rank(43, KeyRef::Phone(85_291_234_567)), 12_064_952_794_396_347_586);
/// ```
pub fn rank(seed: u64, key: KeyRef<'_>) -> u64 {
    Keys::new(seed).rank(key)
}

/// The most buckets of the rank histogram: the top 12 bits of a rank. Smaller sets use
/// fewer (about 16 elements a bucket).
const MAX_BUCKET_BITS: u32 = 12;

/// Customers of a set with their ranks, in id order, and a histogram of the ranks' top
/// bits (which finds the element at any position of the order in one more pass, instead of
/// a selection over a copy of every rank).
pub(crate) struct Ranked {
    pub(crate) ids: Vec<u32>,
    pub(crate) ranks: Vec<u64>,
    /// Histogram of the top `bits` bits of the ranks.
    hist: Vec<u64>,
    bits: u32,
}

impl Ranked {
    /// Ranks every customer of `set`. Errors when an id is not a live customer of `store`.
    pub(crate) fn new(store: &Store, set: &RoaringBitmap, keys: Keys) -> Result<Ranked, Error> {
        let n = usize::try_from(set.len()).unwrap_or(usize::MAX);
        let mut ids = vec![0u32; n];
        let mut iter = set.iter();
        let got = iter.next_many(&mut ids).len();
        ids.truncate(got);
        // Keys and ranks first (a loop with no stores but the output), then the histogram.
        let mut ranks = vec![0u64; ids.len()];
        let mut missing = None;
        for (slot, &id) in ranks.iter_mut().zip(&ids) {
            match store.key(id) {
                Some(k) => *slot = keys.rank(k),
                None => {
                    missing = Some(id);
                    break;
                }
            }
        }
        if let Some(id) = missing {
            return err(ErrorKind::UnknownCustomerId { id });
        }
        Ok(Ranked::from_parts(ids, ranks))
    }

    /// Customers and their ranks, in id order.
    pub(crate) fn from_parts(ids: Vec<u32>, ranks: Vec<u64>) -> Ranked {
        let bits = (usize::BITS - ids.len().leading_zeros())
            .saturating_sub(4)
            .min(MAX_BUCKET_BITS);
        let mut hist = vec![0u64; 1 << bits];
        for &r in &ranks {
            if let Some(h) = hist.get_mut(bucket(r, bits)) {
                *h += 1;
            }
        }
        Ranked {
            ids,
            ranks,
            hist,
            bits,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Cuts the `(rank, key)` order into consecutive segments of `sizes` (which must sum to
    /// `len()`): the segment of every element, index-aligned with `ids`. Branch-free but
    /// for equal ranks (rare), so a 50/50 split costs no mispredictions.
    pub(crate) fn assign(&self, store: &Store, sizes: &[usize]) -> Vec<u16> {
        let n = self.len();
        let mut bounds = Vec::with_capacity(sizes.len().saturating_sub(1));
        let mut cum = 0usize;
        for &s in sizes.iter().take(sizes.len().saturating_sub(1)) {
            cum = cum.saturating_add(s).min(n);
            bounds.push(cum);
        }
        let pivots = self.pivots(store, &bounds);
        // Every element is at or after the Bottom pivots and before the Top ones; the At
        // pivots compare ranks, and keys on equal ranks.
        let base = pivots.iter().filter(|p| matches!(p, Pivot::Bottom)).count() as u16;
        let at: Vec<(u64, Option<u32>)> = pivots
            .iter()
            .filter_map(|p| match *p {
                Pivot::At { rank, tie } => Some((rank, tie)),
                _ => None,
            })
            .collect();
        self.ids
            .iter()
            .zip(&self.ranks)
            .map(|(&id, &r)| {
                let mut seg = base;
                for &(v, tie) in &at {
                    seg += u16::from(r > v);
                    if r == v {
                        seg += u16::from(match tie {
                            None => true,
                            Some(t) => cmp_keys(store, id, t) != Ordering::Less,
                        });
                    }
                }
                seg
            })
            .collect()
    }

    /// The element at each boundary position (positions ascending): the histogram names
    /// the bucket holding each position; one pass collects those buckets' elements, and
    /// sorting them (a few dozen each) by `(rank, key)` finds the element.
    fn pivots(&self, store: &Store, bounds: &[usize]) -> Vec<Pivot> {
        let n = self.len();
        // (bucket, position within the bucket) per boundary.
        let mut wanted: Vec<Option<(usize, usize)>> = Vec::with_capacity(bounds.len());
        for &b in bounds {
            if b == 0 || b >= n {
                wanted.push(None);
                continue;
            }
            let mut before = 0usize;
            let mut found = None;
            for (k, &c) in self.hist.iter().enumerate() {
                let c = usize::try_from(c).unwrap_or(usize::MAX);
                if b < before + c {
                    found = Some((k, b - before));
                    break;
                }
                before += c;
            }
            wanted.push(found);
        }
        let mut buckets: Vec<usize> = wanted.iter().flatten().map(|w| w.0).collect();
        buckets.sort_unstable();
        buckets.dedup();
        let mut members: Vec<Vec<(u64, u32)>> = vec![Vec::new(); buckets.len()];
        if !buckets.is_empty() {
            let mut marks = vec![0u64; self.hist.len().div_ceil(64)];
            for &k in &buckets {
                if let Some(m) = marks.get_mut(k / 64) {
                    *m |= 1 << (k % 64);
                }
            }
            for (&id, &r) in self.ids.iter().zip(&self.ranks) {
                let k = bucket(r, self.bits);
                if marks.get(k / 64).is_some_and(|m| m >> (k % 64) & 1 == 1)
                    && let Ok(i) = buckets.binary_search(&k)
                    && let Some(v) = members.get_mut(i)
                {
                    v.push((r, id));
                }
            }
            for v in &mut members {
                v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp_keys(store, a.1, b.1)));
            }
        }
        bounds
            .iter()
            .zip(&wanted)
            .map(|(&b, w)| match w {
                None if b == 0 => Pivot::Bottom,
                None => Pivot::Top,
                Some((k, pos)) => {
                    let v = buckets.binary_search(k).ok().and_then(|i| members.get(i));
                    match v.and_then(|v| v.get(*pos).map(|e| (v, *e))) {
                        Some((v, (rank, id))) => {
                            let tied = v.iter().filter(|e| e.0 == rank).count() > 1;
                            Pivot::At {
                                rank,
                                tie: tied.then_some(id),
                            }
                        }
                        None => Pivot::Top,
                    }
                }
            })
            .collect()
    }
}

/// The histogram bucket of a rank: its top `bits` bits.
#[inline]
fn bucket(rank: u64, bits: u32) -> usize {
    rank.checked_shr(64 - bits).unwrap_or(0) as usize
}

/// Orders two live customers by key (the tie-break of equal ranks).
pub(crate) fn cmp_keys(store: &Store, a: u32, b: u32) -> Ordering {
    store.key(a).cmp(&store.key(b))
}

/// A boundary element of the order.
#[derive(Clone, Copy, Debug)]
enum Pivot {
    /// Before every element.
    Bottom,
    /// The element of this rank (and, among equal ranks, this customer's key).
    At { rank: u64, tie: Option<u32> },
    /// After every element.
    Top,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_ranks_never_change() {
        // Pinned values: changing them changes every split ever made with these seeds.
        assert_eq!(mix(0), 0);
        assert_eq!(mix(1), 0x5692_161D_100B_05E5);
        let phone = rank(42, KeyRef::Phone(85_291_234_567));
        let member = rank(42, KeyRef::Member("M-000042"));
        let long = rank(7, KeyRef::Member("a member id longer than eight bytes"));
        assert_eq!(
            (phone, member, long),
            (GOLDEN_PHONE, GOLDEN_MEMBER, GOLDEN_LONG)
        );
    }

    // Also computed by an independent implementation of the function as the module docs
    // state it (a dozen lines of Python with explicit 64-bit masks).
    const GOLDEN_PHONE: u64 = 12_064_952_794_396_347_586;
    const GOLDEN_MEMBER: u64 = 11_825_039_332_092_753_407;
    const GOLDEN_LONG: u64 = 4_713_144_151_500_390_676;

    #[test]
    fn ranks_spread_evenly() {
        // Consecutive phone numbers: the top bit of the rank splits them about in half,
        // and so does every one of 16 buckets of the top 4 bits.
        let keys = Keys::new(2025);
        let mut buckets = [0u32; 16];
        for p in 0..160_000u64 {
            let r = keys.rank(KeyRef::Phone(85_290_000_000 + p));
            if let Some(b) = buckets.get_mut((r >> 60) as usize) {
                *b += 1;
            }
        }
        for b in buckets {
            // Expected 10,000 each, standard deviation about 97.
            assert!((9_500..=10_500).contains(&b), "{buckets:?}");
        }
    }

    /// Equal ranks (which a 64-bit hash makes rare) are ordered by key: checked against a
    /// sort, with every cut position, on ranks crowded into one histogram bucket.
    #[test]
    fn equal_ranks_are_ordered_by_key() {
        use crate::store::directory::CustomerKey;
        let mut store = Store::new();
        // Keys deliberately not in id order.
        let keys: Vec<CustomerKey> = (0..40u64)
            .map(|i| {
                if i % 3 == 0 {
                    CustomerKey::Member(format!("m{}", 97 - i))
                } else {
                    CustomerKey::Phone(85_290_000_000 + (i * 7919) % 1000)
                }
            })
            .collect();
        let ids = store.ensure_customers(keys).unwrap();
        let ranks: Vec<u64> = (0..40u64)
            .map(|i| [5, 5, 7, 5, 1 << 60, 7, 7, 3][i as usize % 8])
            .collect();
        let ranked = Ranked::from_parts(ids.clone(), ranks.clone());
        let mut order: Vec<(u64, KeyRef<'_>, u32)> = ids
            .iter()
            .zip(&ranks)
            .map(|(&id, &r)| (r, store.key(id).unwrap(), id))
            .collect();
        order.sort();
        for a in 0..=40usize {
            for b in a..=40usize {
                let sizes = [a, b - a, 40 - b];
                let segs = ranked.assign(&store, &sizes);
                for (pos, (_, _, id)) in order.iter().enumerate() {
                    let want = if pos < a {
                        0
                    } else if pos < b {
                        1
                    } else {
                        2
                    };
                    let i = ids.iter().position(|x| x == id).unwrap();
                    assert_eq!(segs[i], want, "sizes {sizes:?}, position {pos}");
                }
            }
        }
    }

    #[test]
    fn member_ids_differ_in_padding_and_length() {
        let keys = Keys::new(1);
        let a = keys.rank(KeyRef::Member("abc"));
        let b = keys.rank(KeyRef::Member("abc\0"));
        let c = keys.rank(KeyRef::Member("abcdefgh"));
        let d = keys.rank(KeyRef::Member("abcdefgh\0"));
        assert!(a != b && c != d && a != c);
    }
}
