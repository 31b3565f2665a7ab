//! Pairwise intersection counts of many bitmaps in one sweep.
//!
//! `|A ∩ B|` for every pair of a list of sets (19,900 pairs for 200 sets): the health
//! report's redundant and subset pairs, and the insights' pairs of candidates, come from
//! here. Calling `intersection_len` per pair costs about 250 ms at 1M customers: most of it
//! is roaring probing every member of a sparse (array) container against a dense (bitset)
//! container, once per dense partner. Here the whole matrix comes from one sweep over the
//! 65,536-id chunks that roaring's containers cover, each chunk cut into slices of 8,192
//! customers that stay in the core's cache. Per chunk:
//!
//! - **dense** containers (more than 4,096 members) are 1,024-word bitsets; every dense
//!   pair is counted word by word (AND, then a Harley-Seal carry-save popcount);
//! - the dense bitsets are transposed, 64 sets at a time, into one row per customer
//!   (bit `d` of row `x`: customer `x` is in dense set `d`);
//! - every **sparse** set walks its members once and adds their dense rows into
//!   bit-sliced counters (64 dense partners per word in parallel, eight rows at a time
//!   through a carry-save adder tree): a sparse member costs a few word operations instead
//!   of one probe per dense partner;
//! - sparse pairs are counted customer by customer from a per-slice list of each
//!   customer's sparse sets (every pair of sparse sets a customer is in).
//!
//! roaring 0.12 does not expose its containers. Its portable serialization writes each
//! container with one bulk copy (8 KiB per bitset, 2 bytes per array member), so the
//! containers are read from there (format: <https://github.com/RoaringBitmap/RoaringFormatSpec>);
//! if those bytes ever failed to parse, the bitmap would be read member by member
//! instead (slower, same result).

use roaring::RoaringBitmap;

use super::bits::transpose64;
use super::containers::{Cont, Kind, WORDS, parse, u16_at};

/// Containers with at most this many members are walked member by member; larger ones are
/// bitsets. Roaring's own array/bitset boundary; the bit-sliced counters have
/// [`PLANES`] planes to count up to this many.
const SPARSE_MAX: u32 = 4096;
/// Bits needed to count up to [`SPARSE_MAX`].
const PLANES: usize = 13;
/// A bitmap as portable bytes plus the index of its containers.
struct Chunked {
    bytes: Vec<u8>,
    conts: Vec<Cont>,
}

impl Chunked {
    fn new(bitmap: &RoaringBitmap) -> Chunked {
        let mut bytes = Vec::with_capacity(bitmap.serialized_size());
        if bitmap.serialize_into(&mut bytes).is_ok()
            && let Some(conts) = parse(&bytes)
        {
            return Chunked { bytes, conts };
        }
        Chunked::by_members(bitmap)
    }

    /// The slow path: every container as an array of its members, read by iteration.
    fn by_members(bitmap: &RoaringBitmap) -> Chunked {
        let mut bytes = Vec::with_capacity(bitmap.len() as usize * 2);
        let mut conts: Vec<Cont> = Vec::new();
        for id in bitmap {
            let key = (id >> 16) as u16;
            match conts.last_mut() {
                Some(c) if c.key == key => c.card += 1,
                _ => conts.push(Cont {
                    key,
                    card: 1,
                    kind: Kind::Array,
                    at: bytes.len(),
                }),
            }
            bytes.extend_from_slice(&(id as u16).to_le_bytes());
        }
        Chunked { bytes, conts }
    }
}

/// Upper-triangle index of the pair `(i, j)`, `i < j < n`.
pub(crate) fn tri(n: usize, i: usize, j: usize) -> usize {
    i * (2 * n - i - 1) / 2 + (j - i - 1)
}

/// `|sets[i] ∩ sets[j]|` for every `i < j`, in upper-triangle order (row `i` holds
/// `j = i + 1 .. n`).
pub(crate) fn pair_counts(sets: &[&RoaringBitmap]) -> Vec<u64> {
    count_chunked(sets.iter().map(|b| Chunked::new(b)).collect())
}

fn count_chunked(chunked: Vec<Chunked>) -> Vec<u64> {
    let n = chunked.len();
    let mut out = vec![0u64; n * n.saturating_sub(1) / 2];
    if n < 2 {
        return out;
    }
    let mut keys: Vec<u16> = chunked
        .iter()
        .flat_map(|c| c.conts.iter().map(|c| c.key))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut cursor = vec![0usize; n];
    let mut work = Work::default();
    for key in keys {
        work.clear();
        for (t, c) in chunked.iter().enumerate() {
            let Some(cont) = c.conts.get(cursor[t]).filter(|c| c.key == key) else {
                continue;
            };
            cursor[t] += 1;
            work.load(t, &c.bytes, *cont);
        }
        work.count(n, &mut out);
    }
    out
}

/// Customers per slice of a chunk: the unit of work whose rows, lists and bitset words
/// stay in the core's cache.
const SLICE: usize = 8192;
/// Bitset words per slice.
const SLICE_WORDS: usize = SLICE / 64;

/// Buffers for one chunk, reused across chunks.
#[derive(Default)]
struct Work {
    /// Global indexes of the dense tags of the chunk.
    dense: Vec<usize>,
    /// Their bitsets, `WORDS` words each.
    words: Vec<u64>,
    /// Global indexes of the sparse tags.
    sparse: Vec<usize>,
    /// Start of each sparse tag's members in `ids` (one more entry than `sparse`).
    starts: Vec<usize>,
    /// The sparse tags' members (low 16 bits), ascending per tag.
    ids: Vec<u16>,
    /// Per sparse tag, its first member not in an earlier slice.
    cursor: Vec<usize>,
    /// Per sparse tag, one past its last member in the current slice.
    ends: Vec<usize>,
    /// Dense rows of the slice's customers: `rw` words each.
    rows: Vec<u64>,
    /// The sparse tags of each customer of the slice (local indexes, ascending), as
    /// `list[offsets[x]..offsets[x + 1]]`.
    offsets: Vec<u32>,
    fill: Vec<u32>,
    list: Vec<u16>,
    /// Dense pair counts of the chunk, `D x D`, upper triangle used.
    dd: Vec<u32>,
    /// Bit-sliced counters of each sparse tag against the dense tags:
    /// `PLANES * rw` words per sparse tag.
    planes: Vec<u64>,
    /// Sparse pair counts of the chunk, upper triangle (`S (S - 1) / 2`), small enough
    /// for the first-level cache at 200 tags.
    ss: Vec<u16>,
}

impl Work {
    fn clear(&mut self) {
        self.dense.clear();
        self.words.clear();
        self.sparse.clear();
        self.starts.clear();
        self.ids.clear();
    }

    fn load(&mut self, tag: usize, bytes: &[u8], c: Cont) {
        let payload = bytes.get(c.at..).unwrap_or(&[]);
        if c.card > SPARSE_MAX {
            let start = self.words.len();
            self.words.resize(start + WORDS, 0);
            let words = &mut self.words[start..];
            match c.kind {
                Kind::Bitset => {
                    for (w, b) in words.iter_mut().zip(payload.chunks_exact(8)) {
                        *w = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                    }
                }
                Kind::Array => {
                    for v in payload.chunks_exact(2).take(c.card as usize) {
                        let v = usize::from(u16::from_le_bytes([v[0], v[1]]));
                        words[v / 64] |= 1 << (v % 64);
                    }
                }
                Kind::Run => {
                    for_each_run(payload, |lo, hi| {
                        for v in lo..=hi {
                            words[v / 64] |= 1 << (v % 64);
                        }
                    });
                }
            }
            self.dense.push(tag);
        } else {
            if self.starts.is_empty() {
                self.starts.push(0);
            }
            match c.kind {
                Kind::Array => self.ids.extend(
                    payload
                        .chunks_exact(2)
                        .take(c.card as usize)
                        .map(|v| u16::from_le_bytes([v[0], v[1]])),
                ),
                Kind::Bitset => {
                    for (i, b) in payload.chunks_exact(8).take(WORDS).enumerate() {
                        let mut w =
                            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                        while w != 0 {
                            self.ids.push((i * 64) as u16 + w.trailing_zeros() as u16);
                            w &= w - 1;
                        }
                    }
                }
                Kind::Run => {
                    let ids = &mut self.ids;
                    for_each_run(payload, |lo, hi| ids.extend((lo..=hi).map(|v| v as u16)));
                }
            }
            self.sparse.push(tag);
            self.starts.push(self.ids.len());
        }
    }

    /// Counts every pair of the chunk's containers into `out`.
    fn count(&mut self, n: usize, out: &mut [u64]) {
        let (d, s) = (self.dense.len(), self.sparse.len());
        let rw = d.div_ceil(64);
        reset(&mut self.dd, d * d);
        reset(&mut self.planes, s * PLANES * rw);
        reset(&mut self.ss, s * s.saturating_sub(1) / 2);
        self.cursor.clear();
        self.cursor
            .extend_from_slice(self.starts.get(..s).unwrap_or(&[]));
        for slice in 0..WORDS / SLICE_WORDS {
            self.dense_pairs(slice);
            if s == 0 {
                continue;
            }
            self.slice_ends(slice);
            if rw > 0 {
                self.transpose_rows(slice, rw);
                self.sparse_dense(rw);
            }
            self.sparse_sparse();
            std::mem::swap(&mut self.cursor, &mut self.ends);
        }
        self.flush(n, rw, out);
    }

    /// Dense pairs over one slice of words.
    #[inline(never)]
    fn dense_pairs(&mut self, slice: usize) {
        let d = self.dense.len();
        let lo = slice * SLICE_WORDS;
        for i in 0..d {
            let a = &self.words[i * WORDS + lo..i * WORDS + lo + SLICE_WORDS];
            for j in i + 1..d {
                let b = &self.words[j * WORDS + lo..j * WORDS + lo + SLICE_WORDS];
                self.dd[i * d + j] += and_count(a, b);
            }
        }
    }

    /// Where each sparse tag's members of `slice` end.
    fn slice_ends(&mut self, slice: usize) {
        let limit = (slice + 1) * SLICE;
        self.ends.clear();
        for t in 0..self.sparse.len() {
            let (from, to) = (self.cursor[t], self.starts[t + 1]);
            let inside = self.ids[from..to].partition_point(|&x| usize::from(x) < limit);
            self.ends.push(from + inside);
        }
    }

    /// The dense rows of the slice's customers, 64 dense tags per word.
    #[inline(never)]
    fn transpose_rows(&mut self, slice: usize, rw: usize) {
        let d = self.dense.len();
        self.rows.clear();
        self.rows.resize(SLICE * rw, 0);
        for g in 0..rw {
            let tags = (d - g * 64).min(64);
            for p in 0..SLICE_WORDS {
                let word = slice * SLICE_WORDS + p;
                let mut block = [0u64; 64];
                for (t, slot) in block.iter_mut().take(tags).enumerate() {
                    *slot = self.words[(g * 64 + t) * WORDS + word];
                }
                transpose64(&mut block, 64);
                if rw == 1 {
                    self.rows[p * 64..(p + 1) * 64].copy_from_slice(&block);
                } else {
                    for (i, row) in block.iter().enumerate() {
                        self.rows[(p * 64 + i) * rw + g] = *row;
                    }
                }
            }
        }
    }

    /// Every sparse tag against every dense tag over the slice: the members' rows go
    /// through a carry-save adder tree, eight at a time, into the tag's bit-sliced
    /// counters.
    #[inline(never)]
    fn sparse_dense(&mut self, rw: usize) {
        let rows = &self.rows;
        for t in 0..self.sparse.len() {
            let members = &self.ids[self.cursor[t]..self.ends[t]];
            let planes = &mut self.planes[t * PLANES * rw..(t + 1) * PLANES * rw];
            let row = |x: u16, g: usize| rows[(usize::from(x) % SLICE) * rw + g];
            for g in 0..rw {
                let mut it = members.chunks_exact(8);
                let (mut ones, mut twos, mut fours) = (0u64, 0u64, 0u64);
                for c in &mut it {
                    let (o, ta) = csa(ones, row(c[0], g), row(c[1], g));
                    let (o, tb) = csa(o, row(c[2], g), row(c[3], g));
                    let (tw, fa) = csa(twos, ta, tb);
                    let (o, ta) = csa(o, row(c[4], g), row(c[5], g));
                    let (o, tb) = csa(o, row(c[6], g), row(c[7], g));
                    let (tw, fb) = csa(tw, ta, tb);
                    let (f, eights) = csa(fours, fa, fb);
                    (ones, twos, fours) = (o, tw, f);
                    add_at(planes, rw, g, 3, eights);
                }
                for &x in it.remainder() {
                    add_at(planes, rw, g, 0, row(x, g));
                }
                add_at(planes, rw, g, 0, ones);
                add_at(planes, rw, g, 1, twos);
                add_at(planes, rw, g, 2, fours);
            }
        }
    }

    /// Sparse pairs over the slice, customer by customer: every pair of sparse tags a
    /// customer carries.
    #[inline(never)]
    fn sparse_sparse(&mut self) {
        let s = self.sparse.len();
        self.offsets.clear();
        self.offsets.resize(SLICE + 1, 0);
        for t in 0..s {
            for &x in &self.ids[self.cursor[t]..self.ends[t]] {
                self.offsets[usize::from(x) % SLICE + 1] += 1;
            }
        }
        for x in 0..SLICE {
            self.offsets[x + 1] += self.offsets[x];
        }
        self.list.clear();
        self.list.resize(self.offsets[SLICE] as usize, 0);
        self.fill.clear();
        self.fill.extend_from_slice(&self.offsets[..SLICE]);
        for t in 0..s {
            for &x in &self.ids[self.cursor[t]..self.ends[t]] {
                let f = &mut self.fill[usize::from(x) % SLICE];
                self.list[*f as usize] = t as u16;
                *f += 1;
            }
        }
        for bounds in self.offsets.windows(2) {
            let (lo, hi) = (bounds[0] as usize, bounds[1] as usize);
            if hi - lo < 2 {
                continue;
            }
            let tags = &self.list[lo..hi];
            for (i, &a) in tags.iter().enumerate() {
                // Row `a` of the upper triangle; `b > a` since lists are ascending.
                let row = tri(s, a as usize, a as usize + 1);
                for &b in &tags[i + 1..] {
                    self.ss[row + (b - a) as usize - 1] += 1;
                }
            }
        }
    }

    /// Adds the chunk's counts into the upper-triangle output.
    fn flush(&mut self, n: usize, rw: usize, out: &mut [u64]) {
        let (d, s) = (self.dense.len(), self.sparse.len());
        for i in 0..d {
            for j in i + 1..d {
                let (x, y) = order(self.dense[i], self.dense[j]);
                out[tri(n, x, y)] += u64::from(self.dd[i * d + j]);
            }
        }
        for t in 0..s {
            let planes = &self.planes[t * PLANES * rw..(t + 1) * PLANES * rw];
            for (k, &dt) in self.dense.iter().enumerate() {
                let (g, bit) = (k / 64, k % 64);
                let mut c = 0u64;
                for p in 0..PLANES {
                    c |= ((planes[p * rw + g] >> bit) & 1) << p;
                }
                let (x, y) = order(self.sparse[t], dt);
                out[tri(n, x, y)] += c;
            }
            for u in t + 1..s {
                let (x, y) = order(self.sparse[t], self.sparse[u]);
                out[tri(n, x, y)] += u64::from(self.ss[tri(s, t, u)]);
            }
        }
    }
}

/// Empties `v` and fills it with `len` zeros.
fn reset<T: Copy + Default>(v: &mut Vec<T>, len: usize) {
    v.clear();
    v.resize(len, T::default());
}

pub(crate) fn order(a: usize, b: usize) -> (usize, usize) {
    if a < b { (a, b) } else { (b, a) }
}

/// Calls `f(first, last)` for every run of a run container's payload.
fn for_each_run(payload: &[u8], mut f: impl FnMut(usize, usize)) {
    let runs = u16_at(payload, 0).map_or(0, usize::from);
    for r in payload.get(2..).unwrap_or(&[]).chunks_exact(4).take(runs) {
        let lo = usize::from(u16::from_le_bytes([r[0], r[1]]));
        let len = usize::from(u16::from_le_bytes([r[2], r[3]]));
        f(lo, (lo + len).min(0xFFFF));
    }
}

/// `|a ∩ b|` of two bitsets of equal length: a Harley-Seal carry-save adder tree over
/// blocks of 64 words in four lanes (which the compiler turns into vector instructions),
/// so only one word in sixteen is popcounted.
fn and_count(a: &[u64], b: &[u64]) -> u32 {
    type V = [u64; 4];
    fn and(a: &[u64; 64], b: &[u64; 64], k: usize) -> V {
        let mut v = [0u64; 4];
        for (l, slot) in v.iter_mut().enumerate() {
            *slot = a[4 * k + l] & b[4 * k + l];
        }
        v
    }
    fn csa4(a: V, b: V, c: V) -> (V, V) {
        let (mut s, mut k) = ([0u64; 4], [0u64; 4]);
        for l in 0..4 {
            let u = a[l] ^ b[l];
            s[l] = u ^ c[l];
            k[l] = (a[l] & b[l]) | (u & c[l]);
        }
        (s, k)
    }
    fn pop(v: V) -> u32 {
        v.iter().map(|w| w.count_ones()).sum()
    }
    let (mut ones, mut twos, mut fours, mut eights) = ([0u64; 4], [0u64; 4], [0u64; 4], [0u64; 4]);
    let mut sixteens = 0u32;
    let (blocks_a, blocks_b) = (a.chunks_exact(64), b.chunks_exact(64));
    let rest: u32 = blocks_a
        .remainder()
        .iter()
        .zip(blocks_b.remainder())
        .map(|(x, y)| (x & y).count_ones())
        .sum();
    for (ca, cb) in blocks_a.zip(blocks_b) {
        let (Ok(x), Ok(y)) = (<&[u64; 64]>::try_from(ca), <&[u64; 64]>::try_from(cb)) else {
            continue;
        };
        let (o, ta) = csa4(ones, and(x, y, 0), and(x, y, 1));
        let (o, tb) = csa4(o, and(x, y, 2), and(x, y, 3));
        let (tw, fa) = csa4(twos, ta, tb);
        let (o, ta) = csa4(o, and(x, y, 4), and(x, y, 5));
        let (o, tb) = csa4(o, and(x, y, 6), and(x, y, 7));
        let (tw, fb) = csa4(tw, ta, tb);
        let (f, ea) = csa4(fours, fa, fb);
        let (o, ta) = csa4(o, and(x, y, 8), and(x, y, 9));
        let (o, tb) = csa4(o, and(x, y, 10), and(x, y, 11));
        let (tw, fa) = csa4(tw, ta, tb);
        let (o, ta) = csa4(o, and(x, y, 12), and(x, y, 13));
        let (o, tb) = csa4(o, and(x, y, 14), and(x, y, 15));
        let (tw, fb) = csa4(tw, ta, tb);
        let (f, eb) = csa4(f, fa, fb);
        let (e, s16) = csa4(eights, ea, eb);
        (ones, twos, fours, eights) = (o, tw, f, e);
        sixteens += pop(s16);
    }
    16 * sixteens + 8 * pop(eights) + 4 * pop(fours) + 2 * pop(twos) + pop(ones) + rest
}

/// Carry-save adder: `(sum, carry)` of three words, bit by bit.
fn csa(a: u64, b: u64, c: u64) -> (u64, u64) {
    let u = a ^ b;
    (u ^ c, (a & b) | (u & c))
}

/// Adds `word` (one bit per lane) with weight `2^plane` into the bit-sliced counters of
/// row word `g`.
fn add_at(planes: &mut [u64], rw: usize, g: usize, plane: usize, word: u64) {
    let mut carry = word;
    let mut p = plane * rw + g;
    while carry != 0 {
        let Some(slot) = planes.get_mut(p) else {
            return;
        };
        let next = *slot & carry;
        *slot ^= carry;
        carry = next;
        p += rw;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<RoaringBitmap> {
        let mut runs: RoaringBitmap = (1000..70_000).collect();
        runs.insert_range(200_000..200_100);
        runs.optimize();
        vec![
            (0..150_000).step_by(3).collect(),
            (0..150_000).step_by(7).collect(),
            runs,
            [5, 70_000, 131_071, u32::MAX].into_iter().collect(),
            RoaringBitmap::new(),
            (60_000..140_000).filter(|x| x % 5 != 0).collect(),
        ]
    }

    #[test]
    fn member_by_member_reading_agrees() {
        let sets = sample();
        let refs: Vec<&RoaringBitmap> = sets.iter().collect();
        let fast = pair_counts(&refs);
        let slow = count_chunked(sets.iter().map(Chunked::by_members).collect());
        assert_eq!(fast, slow);
        let mut k = 0;
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                assert_eq!(fast[k], sets[i].intersection_len(&sets[j]), "{i} {j}");
                k += 1;
            }
        }
    }

    #[test]
    fn damaged_bytes_never_parse_into_garbage() {
        for set in sample() {
            let mut bytes = Vec::new();
            set.serialize_into(&mut bytes).unwrap();
            let conts = parse(&bytes).unwrap();
            assert_eq!(
                conts.iter().map(|c| u64::from(c.card)).sum::<u64>(),
                set.len()
            );
            for cut in 0..bytes.len() {
                assert!(parse(&bytes[..cut]).is_none(), "prefix of {cut} bytes");
            }
            for at in 0..bytes.len().min(64) {
                let mut damaged = bytes.clone();
                damaged[at] ^= 0x5A;
                // A flipped byte may still describe some bitmap; it must not panic.
                let _ = parse(&damaged);
            }
        }
    }

    #[test]
    fn transpose_is_a_transpose() {
        let mut m = [0u64; 64];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for w in m.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *w = x;
        }
        let orig = m;
        transpose64(&mut m, 64);
        for (i, row) in m.iter().enumerate() {
            for (t, col) in orig.iter().enumerate() {
                assert_eq!((row >> t) & 1, (col >> i) & 1, "bit {t} of row {i}");
            }
        }
    }
}
