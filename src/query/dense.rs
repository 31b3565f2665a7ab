//! Dense word sets: one bit per customer id, for queries whose intermediate results are
//! large.
//!
//! roaring keeps a 65,536-id chunk with at most 4,096 members as a sorted array. Unions and
//! differences of such arrays merge member by member (1 to 2 ns an id), and a result
//! that lands between the array and bitset sizes is converted member by member again. A
//! query like "(A AND B) OR (C AND NOT D) OR E" over tags of 5 to 15% of the customers
//! spends nearly all its time there. A flat bitset of the whole id space (125 KiB at 1M
//! customers) does the same work with one word operation per 64 ids, and an array
//! container is applied to it with one bit operation per member.
//!
//! Roaring bitmaps are read through their portable serialization ([`crate::base::containers`]):
//! a bitset container is 1,024 words copied in bulk, an array container a list of `u16`.
//! A [`Words`] buffer always covers whole 65,536-id chunks, so every container maps onto a
//! full `[u64; 1024]` slice.

use roaring::RoaringBitmap;

use crate::base::containers::{Cont, Kind, WORDS, parse, u16_at};

/// How a set is combined into a word buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `acc |= set`
    Or,
    /// `acc &= set`
    And,
    /// `acc &= !set`
    AndNot,
}

/// A bitset over whole 65,536-id chunks.
pub(crate) type Words = Vec<u64>;

/// Word buffers of one size and the scratch bytes used to read bitmaps.
pub(crate) struct Dense {
    /// Words of every buffer: whole chunks covering the id space in use.
    len: usize,
    scratch: Vec<u8>,
    chunk: Box<[u64; WORDS]>,
}

impl Dense {
    /// Buffers covering every id up to `max_id`.
    pub(crate) fn new(max_id: Option<u32>) -> Dense {
        let chunks = max_id.map_or(0, |m| (m >> 16) as usize + 1);
        Dense {
            len: chunks * WORDS,
            scratch: Vec::new(),
            chunk: Box::new([0; WORDS]),
        }
    }

    /// Words of every buffer.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// An empty set.
    pub(crate) fn zeros(&self) -> Words {
        vec![0; self.len]
    }

    /// The set of `bitmap`'s members.
    pub(crate) fn of(&mut self, bitmap: &RoaringBitmap) -> Words {
        let mut w = self.zeros();
        self.apply(&mut w, bitmap, Op::Or);
        w
    }

    /// Combines `bitmap` into `acc`. Members beyond the buffer (none, when the buffer was
    /// sized for the universe and `bitmap` holds live customers) are ignored.
    pub(crate) fn apply(&mut self, acc: &mut [u64], bitmap: &RoaringBitmap, op: Op) {
        self.scratch.clear();
        let parsed = match bitmap.serialize_into(&mut self.scratch) {
            Ok(()) => parse(&self.scratch),
            Err(_) => None,
        };
        let Some(conts) = parsed else {
            // Not reachable with roaring's own bytes; read member by member.
            let mut set = vec![0u64; acc.len()];
            for id in bitmap {
                if let Some(w) = set.get_mut(id as usize / 64) {
                    *w |= 1 << (id % 64);
                }
            }
            combine(acc, &set, op);
            return;
        };
        let bytes = &self.scratch;
        let mut next = 0usize;
        let mut chunks = acc.chunks_exact_mut(WORDS);
        for c in conts {
            let key = usize::from(c.key);
            if op == Op::And {
                // Chunks the bitmap skips hold none of its members.
                for skipped in chunks.by_ref().take(key.saturating_sub(next)) {
                    skipped.fill(0);
                }
            } else if key > next {
                chunks.by_ref().nth(key - next - 1);
            }
            next = key + 1;
            let Some(target) = chunks.next() else { break };
            let Ok(target): Result<&mut [u64; WORDS], _> = target.try_into() else {
                break;
            };
            apply_container(target, bytes, c, op, &mut self.chunk);
        }
        if op == Op::And {
            for rest in chunks {
                rest.fill(0);
            }
        }
    }
}

impl Dense {
    /// `acc |= b` for every bitmap of `sets`, chunk by chunk: all the sets' containers of
    /// one 65,536-id chunk are applied while its 8 KiB of words stay in the core's first
    /// cache, instead of one pass over the whole buffer per set.
    pub(crate) fn union_into(&mut self, acc: &mut [u64], sets: &[&RoaringBitmap]) {
        let mut parsed: Vec<(Vec<u8>, Vec<Cont>)> = Vec::with_capacity(sets.len());
        for b in sets {
            let mut bytes = Vec::new();
            match b
                .serialize_into(&mut bytes)
                .ok()
                .and_then(|()| parse(&bytes))
            {
                Some(conts) => parsed.push((bytes, conts)),
                None => self.apply(acc, b, Op::Or),
            }
        }
        let mut cursors = vec![0usize; parsed.len()];
        for (key, target) in acc.chunks_exact_mut(WORDS).enumerate() {
            let Ok(target): Result<&mut [u64; WORDS], _> = target.try_into() else {
                break;
            };
            for ((bytes, conts), at) in parsed.iter().zip(cursors.iter_mut()) {
                if let Some(c) = conts.get(*at)
                    && usize::from(c.key) == key
                {
                    apply_container(target, bytes, *c, Op::Or, &mut self.chunk);
                    *at += 1;
                }
            }
        }
    }
}

/// `target op= container` for one container of serialized `bytes`.
fn apply_container(
    target: &mut [u64; WORDS],
    bytes: &[u8],
    c: Cont,
    op: Op,
    tmp: &mut [u64; WORDS],
) {
    match c.kind {
        Kind::Array => {
            let end = c.at + 2 * c.card as usize;
            let members = bytes.get(c.at..end).unwrap_or_default();
            match op {
                Op::Or => set_members(target, members),
                Op::AndNot => clear_members(target, members),
                Op::And => {
                    tmp.fill(0);
                    set_members(tmp, members);
                    combine(target, tmp, op);
                }
            }
        }
        Kind::Bitset => {
            let payload = bytes.get(c.at..c.at + 8 * WORDS).unwrap_or_default();
            for (t, b) in tmp.iter_mut().zip(payload.chunks_exact(8)) {
                *t = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            }
            combine(target, tmp, op);
        }
        Kind::Run => {
            tmp.fill(0);
            let runs = u16_at(bytes, c.at).map_or(0, usize::from);
            for r in 0..runs {
                let at = c.at + 2 + 4 * r;
                if let (Some(start), Some(len)) = (u16_at(bytes, at), u16_at(bytes, at + 2)) {
                    set_run(tmp, usize::from(start), usize::from(len));
                }
            }
            combine(target, tmp, op);
        }
    }
}

/// Sets the bits of little-endian `u16` members.
fn set_members(target: &mut [u64; WORDS], members: &[u8]) {
    for m in members.chunks_exact(2) {
        let x = usize::from(u16::from_le_bytes([m[0], m[1]]));
        target[x >> 6] |= 1 << (x & 63);
    }
}

/// Clears the bits of little-endian `u16` members.
fn clear_members(target: &mut [u64; WORDS], members: &[u8]) {
    for m in members.chunks_exact(2) {
        let x = usize::from(u16::from_le_bytes([m[0], m[1]]));
        target[x >> 6] &= !(1 << (x & 63));
    }
}

/// Sets bits `start ..= start + len_minus_one` (clamped to the chunk).
fn set_run(target: &mut [u64; WORDS], start: usize, len_minus_one: usize) {
    let end = (start + len_minus_one).min(WORDS * 64 - 1);
    let (first, last) = (start / 64, end / 64);
    for (i, w) in target.iter_mut().enumerate().take(last + 1).skip(first) {
        let lo = if i == first { start % 64 } else { 0 };
        let hi = if i == last { end % 64 } else { 63 };
        *w |= (u64::MAX >> (63 - hi)) & (u64::MAX << lo);
    }
}

/// `acc op= set`, word by word; for AND, words of `acc` beyond `set` are cleared.
pub(crate) fn combine(acc: &mut [u64], set: &[u64], op: Op) {
    let n = acc.len().min(set.len());
    let (head, tail) = acc.split_at_mut(n);
    match op {
        Op::Or => head.iter_mut().zip(set).for_each(|(a, b)| *a |= b),
        Op::And => {
            head.iter_mut().zip(set).for_each(|(a, b)| *a &= b);
            tail.fill(0);
        }
        Op::AndNot => head.iter_mut().zip(set).for_each(|(a, b)| *a &= !b),
    }
}

/// Members of a word set.
pub(crate) fn count(words: &[u64]) -> u64 {
    words.iter().map(|w| u64::from(w.count_ones())).sum()
}

/// Words combined a block at a time: 8 KiB, in the first-level cache.
const BLOCK: usize = 1024;

/// How many bits are set in every word list of `pos` and in none of `neg`: the count of
/// `pos[0] AND pos[1] ... AND NOT neg[0] ...`, a block of words at a time (each block
/// ANDed in a small buffer, then counted), with nothing allocated. A list shorter than
/// the others has zeros past its end. 0 when `pos` is empty.
pub(crate) fn and_not_count(pos: &[&[u64]], neg: &[&[u64]]) -> u64 {
    let mut total = 0;
    and_not_blocks(pos, neg, |block| total += count(block));
    total
}

/// The set [`and_not_count`] counts, as a bitmap: the blocks' words written out as bytes
/// for roaring's `from_lsb0_bytes`, with no word list in between.
pub(crate) fn and_not_bitmap(pos: &[&[u64]], neg: &[&[u64]]) -> RoaringBitmap {
    let len = pos.iter().map(|w| w.len()).min().unwrap_or(0);
    let mut bytes: Vec<u8> = Vec::with_capacity(len * 8);
    and_not_blocks(pos, neg, |block| {
        bytes.extend(block.iter().flat_map(|w| w.to_le_bytes()));
    });
    RoaringBitmap::from_lsb0_bytes(0, &bytes)
}

/// Calls `each` with the words of `pos[0] AND pos[1] ... AND NOT neg[0] ...`, a block of
/// [`BLOCK`] words at a time, in order, as far as the shortest list of `pos`.
fn and_not_blocks(pos: &[&[u64]], neg: &[&[u64]], mut each: impl FnMut(&[u64])) {
    let Some((first, rest)) = pos.split_first() else {
        return;
    };
    let len = pos.iter().map(|w| w.len()).min().unwrap_or(0);
    let mut buf = [0u64; BLOCK];
    let mut start = 0;
    while start < len {
        let end = (start + BLOCK).min(len);
        let (Some(acc), Some(src)) = (buf.get_mut(..end - start), first.get(start..end)) else {
            return;
        };
        acc.copy_from_slice(src);
        for w in rest {
            for (a, b) in acc.iter_mut().zip(w.get(start..end).unwrap_or_default()) {
                *a &= b;
            }
        }
        for w in neg {
            for (a, b) in acc.iter_mut().zip(w.get(start..).unwrap_or_default()) {
                *a &= !b;
            }
        }
        each(acc);
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_bitmap(words: &[u64]) -> RoaringBitmap {
        crate::store::attribute::words_to_bitmap(words)
    }

    #[test]
    fn and_not_count_agrees_with_roaring_across_blocks_and_lengths() {
        // Word lists of different lengths (2,500 words is two blocks and a part).
        let a: RoaringBitmap = (0..160_000).filter(|i| i % 3 != 0).collect();
        let b: RoaringBitmap = (0..140_000).filter(|i| i % 5 != 1).collect();
        let c: RoaringBitmap = (0..100_000).step_by(2).collect();
        let e: RoaringBitmap = (70_000..190_000).collect();
        let words = |x: &RoaringBitmap| Dense::new(x.max()).of(x);
        let (wa, wb, wc, we) = (words(&a), words(&b), words(&c), words(&e));
        assert_eq!(and_not_count(&[&wa, &wb], &[]), (&a & &b).len());
        assert_eq!(and_not_count(&[&wb, &wa], &[&wc]), (&(&a & &b) - &c).len());
        assert_eq!(
            and_not_count(&[&wa, &wb], &[&wc, &we]),
            (&(&(&a & &b) - &c) - &e).len()
        );
        assert_eq!(and_not_count(&[&we, &wa], &[&wc]), (&(&e & &a) - &c).len());
        assert_eq!(and_not_count(&[&wa], &[]), a.len());
        assert_eq!(and_not_count(&[], &[&wa]), 0);
        assert_eq!(and_not_count(&[&wa, &[]], &[]), 0);
        assert_eq!(
            and_not_bitmap(&[&wa, &wb], &[&wc, &we]),
            &(&(&a & &b) - &c) - &e
        );
        assert_eq!(and_not_bitmap(&[&we, &wa], &[&wc]), &(&e & &a) - &c);
        assert!(and_not_bitmap(&[], &[&wa]).is_empty());
    }

    #[test]
    fn every_container_kind_and_op_agrees_with_roaring() {
        // Arrays, bitsets and runs, with chunks missing on either side.
        let mut a: RoaringBitmap = (0..300_000).step_by(7).collect();
        a.insert_range(70_000..75_000);
        a.insert_range(200_000..200_100);
        a.remove_range(131_072..196_608);
        let mut runs: RoaringBitmap = (10..60_000).collect();
        runs.insert_range(250_000..262_143);
        runs.optimize();
        let sparse: RoaringBitmap = [0, 63, 64, 65_535, 65_536, 140_000, 299_999]
            .into_iter()
            .collect();
        let sets = [a, runs, sparse, RoaringBitmap::new()];
        let mut d = Dense::new(Some(299_999));
        for x in &sets {
            assert_eq!(to_bitmap(&d.of(x)), *x);
            for y in &sets {
                for (op, want) in [(Op::Or, x | y), (Op::And, x & y), (Op::AndNot, x - y)] {
                    let mut w = d.of(x);
                    d.apply(&mut w, y, op);
                    assert_eq!(to_bitmap(&w), want, "{op:?}");
                    assert_eq!(count(&w), want.len());
                    let mut w = d.of(x);
                    combine(&mut w, &d.of(y), op);
                    assert_eq!(to_bitmap(&w), want, "combine {op:?}");
                }
            }
        }
    }

    #[test]
    fn runs_cover_whole_words_and_chunk_ends() {
        let mut t = [0u64; WORDS];
        set_run(&mut t, 60, 10);
        assert_eq!(t[0], u64::MAX << 60);
        assert_eq!(t[1], (1 << 7) - 1);
        let mut t = [0u64; WORDS];
        set_run(&mut t, 0, 65_535);
        assert!(t.iter().all(|w| *w == u64::MAX));
    }
}
