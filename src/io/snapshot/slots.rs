//! Attribute slots: values stored as fixed-width offsets, turned back into values and the
//! bit-sliced index a word of 64 ids at a time.

use super::*;

/// The offsets of ids `0..n` above `base` from their `T`-wide little-endian slots (0 for
/// ids without a value, whose slots must hold 0), and the bit-sliced index of the offsets:
/// bit `b` of every offset in plane `b`, one word per word of 64 ids, up to the top bit of
/// the largest offset.
///
/// Every vector is allocated once at its final size and written once: the offsets are
/// the slots as they are (an exact-size copy), and per word of 64 ids a transpose turns
/// the slots into one word per plane. Ids without a value are visited one set bit at a
/// time, to check their slot.
pub(super) fn decode_values<T: Slot>(
    bytes: &[u8],
    base: i64,
    words: &[u64],
) -> Res<(Offsets, Vec<Vec<u64>>)> {
    let w = (T::BITS / 8) as usize;
    let offsets: Vec<T> = bytes.chunks_exact(w).map(T::from_le).collect();
    let mut planes: Vec<Vec<u64>> = (0..T::BITS)
        .map(|_| Vec::with_capacity(words.len()))
        .collect();
    // Bits of the slots of ids without a value (must stay 0), and of every slot (its top
    // bit is the top bit of the largest offset).
    let (mut absent, mut all) = (0u64, 0u64);
    let mut block = [0u64; 64];
    for (chunk, &word) in offsets.chunks(64).zip(words) {
        let in_chunk = u64::MAX.checked_shr(64 - chunk.len() as u32).unwrap_or(0);
        let mut without = !word & in_chunk;
        while without != 0 {
            let i = without.trailing_zeros() as usize;
            absent |= chunk.get(i).map_or(0, |&o| o.into());
            without &= without - 1;
        }
        if chunk.len() < 64 {
            block.fill(0);
        }
        for (row, &o) in block.iter_mut().zip(chunk) {
            *row = o.into();
        }
        transpose64(&mut block, T::BITS as usize);
        for (b, (plane, &t)) in planes.iter_mut().zip(block.iter()).enumerate() {
            plane.push(t);
            all |= u64::from(t != 0) << b;
        }
    }
    if absent != 0 {
        return Err("a customer without a value has a non-zero slot".into());
    }
    // The largest offset that keeps `base + offset` an i64; ids without a value hold 0,
    // so the largest slot is the largest offset of a value.
    let max_off = (i128::from(i64::MAX) - i128::from(base)) as u64;
    if all > max_off && offsets.iter().copied().max().map_or(0, Into::into) > max_off {
        return Err("a value does not fit in 64 bits".into());
    }
    planes.truncate(64 - all.leading_zeros() as usize);
    Ok((T::wrap(offsets), planes))
}
