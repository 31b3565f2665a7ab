//! Reading roaring containers without container access.
//!
//! roaring 0.12 does not expose its containers, but its portable serialization
//! (<https://github.com/RoaringBitmap/RoaringFormatSpec>) writes each container with one
//! bulk copy: 8 KiB per bitset, 2 bytes per array member, 4 bytes per run. Kernels that
//! need a container's words or members (the health report's pair counts, the query
//! evaluator's dense word sets) serialize the bitmap into a scratch buffer and index the
//! containers here. The bytes come from roaring itself, so a parse failure would be a bug
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
