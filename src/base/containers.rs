//! Reading roaring containers without container access.
//!
//! roaring 0.12 does not expose its containers, but its portable serialization
//! (<https://github.com/RoaringBitmap/RoaringFormatSpec>) writes each container with one
//! bulk copy: 8 KiB per bitset, 2 bytes per array member, 4 bytes per run. Kernels that
//! need a container's words or members (the health report's pair counts, the query
//! evaluator's dense word sets) serialize the bitmap into a scratch buffer and index the
//! containers here; `extend_ids` writes a bitmap's ids out a container at a time. The bytes come from roaring itself, so a parse failure would be a bug
//! of ours or a format change; callers then fall back to reading members one by one.

// Parses untrusted bytes: no construct that can panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

/// The portable format's array/bitset boundary: containers with at most this many members
/// are arrays.
pub(crate) const ARRAY_LIMIT: u32 = 4096;
/// Words of a chunk bitset.
pub(crate) const WORDS: usize = 1024;

/// The kind of a serialized container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Sorted `u16` values.
    Array,
    /// 1,024 little-endian `u64` words.
    Bitset,
    /// A `u16` run count, then `(start, length - 1)` pairs.
    Run,
}

/// One container of a serialized bitmap: its key (the high 16 bits of its ids), member
/// count, kind and where its payload starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cont {
    pub(crate) key: u16,
    pub(crate) card: u32,
    pub(crate) kind: Kind,
    pub(crate) at: usize,
}

pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// Indexes the containers of a bitmap in the portable format
/// (<https://github.com/RoaringBitmap/RoaringFormatSpec>). `None` when the bytes are not
/// exactly one well-formed bitmap.
pub(crate) fn parse(bytes: &[u8]) -> Option<Vec<Cont>> {
    const NO_RUNS: u32 = 12346;
    const WITH_RUNS: u32 = 12347;
    let cookie = u32_at(bytes, 0)?;
    let (size, run_flags, mut pos) = if cookie == NO_RUNS {
        (u32_at(bytes, 4)? as usize, None, 8)
    } else if cookie & 0xFFFF == WITH_RUNS {
        let size = (cookie >> 16) as usize + 1;
        let flags = bytes.get(4..4 + size.div_ceil(8))?;
        (size, Some(flags), 4 + size.div_ceil(8))
    } else {
        return None;
    };
    if size > 1 << 16 {
        return None;
    }
    let descriptors = pos;
    pos += 4 * size;
    if run_flags.is_none() || size >= 4 {
        pos += 4 * size;
    }
    let mut conts = Vec::with_capacity(size);
    for i in 0..size {
        let key = u16_at(bytes, descriptors + 4 * i)?;
        let card = u32::from(u16_at(bytes, descriptors + 4 * i + 2)?) + 1;
        if conts.last().is_some_and(|c: &Cont| c.key >= key) {
            return None;
        }
        let is_run =
            run_flags.is_some_and(|f| f.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0));
        let (kind, len) = if is_run {
            let runs = usize::from(u16_at(bytes, pos)?);
            // The runs must hold exactly `card` ids: the kernel sizes its counters by it.
            let mut ids = 0u64;
            for r in 0..runs {
                ids += u64::from(u16_at(bytes, pos + 4 + 4 * r)?) + 1;
            }
            if ids != u64::from(card) {
                return None;
            }
            (Kind::Run, 2 + 4 * runs)
        } else if card <= ARRAY_LIMIT {
            (Kind::Array, 2 * card as usize)
        } else {
            (Kind::Bitset, 8 * WORDS)
        };
        conts.push(Cont {
            key,
            card,
            kind,
            at: pos,
        });
        pos = pos.checked_add(len)?;
    }
    (pos == bytes.len()).then_some(conts)
}

/// For every byte value, the positions of its set bits, lowest first (the rest 0), already
/// as `u32` (8 KiB): a byte's eight candidate ids are two 16-byte loads and an OR away.
static BYTE_BITS: [[u32; 8]; 256] = byte_bits();

/// For every byte value, how many bits it has set: a table, since the portable x86-64
/// target has no population-count instruction and counts in a dozen operations.
static BYTE_COUNT: [u8; 256] = byte_count();

// Evaluated at compile time, like `byte_bits`.
#[allow(clippy::indexing_slicing)]
const fn byte_count() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u32).count_ones() as u8;
        b += 1;
    }
    table
}

// Evaluated at compile time: an index out of bounds would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const fn byte_bits() -> [[u32; 8]; 256] {
    let mut table = [[0u32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        let mut bit = 0;
        while bit < 8 {
            if b & (1 << bit) != 0 {
                table[b][k] = bit;
                k += 1;
            }
            bit += 1;
        }
        b += 1;
    }
    table
}

/// Ids of bitset words gather in a buffer this long (16 KiB, in the first-level
/// cache) and move to the output a buffer at a time: one bulk copy per 64 words or so
/// instead of one per word.
const GATHER: usize = 4096;

/// Writes the ids of one bitset word (`base` = the id of its bit 0) at `buf[k..]` and
/// returns how many. Sparse words take a trailing-zero loop; denser ones eight table
/// lookups (eight ids written per byte, kept as many as the byte has bits), which costs
/// the same at any density. `buf` has room for 64 ids at `k`.
#[inline(always)]
fn expand_word(word: u64, base: u32, buf: &mut [u32], k: usize) -> usize {
    let Some(dst) = buf.get_mut(k..k + 64) else {
        debug_assert!(false, "the gather buffer has room for a word at {k}");
        return 0;
    };
    if word == u64::MAX {
        // `base..=base + 63`, not `base..`: the last word of the id space ends at u32::MAX.
        for (d, id) in dst.iter_mut().zip(base..=base + 63) {
            *d = id;
        }
        64
    } else if word.count_ones() <= 8 {
        let mut w = word;
        let mut at = 0;
        while w != 0 {
            if let Some(d) = dst.get_mut(at) {
                *d = base | w.trailing_zeros();
            }
            at += 1;
            w &= w - 1;
        }
        at
    } else {
        let mut at = 0usize;
        for j in 0..8u32 {
            let byte = (word >> (8 * j)) as u8;
            let from = base | (8 * j);
            // at <= 8 j, so the 8 slots fit in 64.
            if let (Some(d8), Some(bits)) = (dst.get_mut(at..at + 8), BYTE_BITS.get(byte as usize))
            {
                for (d, &b) in d8.iter_mut().zip(bits) {
                    *d = from | b;
                }
            }
            at += usize::from(BYTE_COUNT.get(byte as usize).copied().unwrap_or(0));
        }
        at
    }
}

/// Appends the ids of a bitmap serialized in `bytes` (the portable format) to `out`,
/// ascending, a container at a time: arrays copied, bitset words expanded, runs filled.
/// `false` (with `out` as it was) when the bytes are not a well-formed bitmap.
pub(crate) fn extend_ids(bytes: &[u8], out: &mut Vec<u32>) -> bool {
    let Some(conts) = parse(bytes) else {
        return false;
    };
    let start = out.len();
    out.reserve(conts.iter().map(|c| c.card as usize).sum());
    // Only bitset containers gather; a segment of arrays and runs clears no buffer.
    let mut buf = if conts.iter().any(|c| c.kind == Kind::Bitset) {
        vec![0u32; GATHER]
    } else {
        Vec::new()
    };
    for c in &conts {
        let high = u32::from(c.key) << 16;
        let ok = match c.kind {
            Kind::Array => match bytes.get(c.at..c.at + 2 * c.card as usize) {
                Some(b) => {
                    out.extend(b.chunks_exact(2).map(|p| {
                        high | u32::from(u16::from_le_bytes(p.try_into().unwrap_or_default()))
                    }));
                    true
                }
                None => false,
            },
            Kind::Bitset => match bytes.get(c.at..c.at + 8 * WORDS) {
                Some(b) => {
                    let mut k = 0;
                    for (i, w) in b.chunks_exact(8).enumerate() {
                        let word = u64::from_le_bytes(w.try_into().unwrap_or_default());
                        if word != 0 {
                            if k + 64 > GATHER {
                                out.extend_from_slice(buf.get(..k).unwrap_or_default());
                                k = 0;
                            }
                            k += expand_word(word, high | (64 * i as u32), &mut buf, k);
                        }
                    }
                    out.extend_from_slice(buf.get(..k).unwrap_or_default());
                    true
                }
                None => false,
            },
            Kind::Run => match u16_at(bytes, c.at) {
                Some(runs) => (0..usize::from(runs)).all(|r| {
                    let at = c.at + 2 + 4 * r;
                    match (u16_at(bytes, at), u16_at(bytes, at + 2)) {
                        (Some(s), Some(l)) => {
                            let s = high | u32::from(s);
                            out.extend(s..=s.saturating_add(u32::from(l)));
                            true
                        }
                        _ => false,
                    }
                }),
                None => false,
            },
        };
        if !ok {
            out.truncate(start);
            return false;
        }
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use roaring::RoaringBitmap;

    use super::extend_ids;

    fn bytes(b: &RoaringBitmap) -> Vec<u8> {
        let mut v = Vec::new();
        b.serialize_into(&mut v).unwrap();
        v
    }

    #[test]
    fn ids_of_every_container_kind() {
        // An array, a bitset with full, sparse and dense words, and (after optimize) a run.
        let mut b: RoaringBitmap = (0..3_000).map(|i| i * 7).collect();
        b.extend((65_536..131_072).filter(|i| i % 3 != 0 || i % 1_000 < 64));
        b.extend([131_072 + 5, 131_072 + 900]);
        b.insert_range(300_000..310_000);
        for optimize in [false, true] {
            if optimize {
                b.optimize();
            }
            let mut out = vec![1];
            assert!(extend_ids(&bytes(&b), &mut out));
            assert_eq!(out[0], 1);
            assert_eq!(out[1..], b.iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn malformed_bytes_leave_the_output_as_it_was() {
        let b: RoaringBitmap = (0..100_000).step_by(2).collect();
        let good = bytes(&b);
        let mut out = vec![9];
        assert!(!extend_ids(&good[..good.len() - 1], &mut out));
        assert!(!extend_ids(&[], &mut out));
        assert_eq!(out, vec![9]);
    }
}
