//! Attribute slots: values stored as fixed-width offsets, turned back into values and the
//! bit-sliced index a word of 64 ids at a time.

use super::*;

/// Values of ids `0..n` from `W`-byte offsets above `base` (0 for ids without a value,
/// whose slots must hold 0), and the bit-sliced index of the offsets: bit `b` of every
/// offset in plane `b`, one word per word of 64 ids, up to the top bit of the largest
/// offset.
///
/// One pass per word of 64 ids, on their slots in place: the values are the slots plus
/// `base` (ids without a value are visited afterwards, one set bit at a time, to check
/// their slot and clear their value), and [`bit_slice`] turns the slots into one word per
/// plane.
pub(super) fn decode_values<const W: usize>(
    bytes: &[u8],
    base: i64,
    words: &[u64],
) -> Res<(Vec<i64>, Vec<Vec<u64>>)> {
    let mut values: Vec<i64> = Vec::with_capacity(bytes.len() / W);
    let mut planes: Vec<Vec<u64>> = (0..8 * W)
        .map(|_| Vec::with_capacity(words.len()))
        .collect();
    // Bits of the slots of ids without a value (must stay 0), and of every slot (its top
    // bit is the top bit of the largest offset).
    let (mut absent, mut all) = (0u64, 0u64);
    let mut block = [0u64; 64];
    for (chunk, &word) in bytes.chunks(64 * W).zip(words) {
        let start = values.len();
        values.extend(
            chunk
                .chunks_exact(W)
                .map(|slot| base.wrapping_add(offset::<W>(slot) as i64)),
        );
        let ids = values.len() - start;
        let in_chunk = u64::MAX.checked_shr(64 - ids as u32).unwrap_or(0);
        let mut without = !word & in_chunk;
        if without != 0 {
            let out = values.get_mut(start..).unwrap_or_default();
            while without != 0 {
                let i = without.trailing_zeros() as usize;
                absent |= chunk.get(i * W..(i + 1) * W).map_or(0, offset::<W>);
                if let Some(v) = out.get_mut(i) {
                    *v = 0;
                }
                without &= without - 1;
            }
        }
        bit_slice::<W>(chunk, &mut block);
        for (b, (plane, &t)) in planes.iter_mut().zip(block.iter()).enumerate() {
            plane.push(t);
            all |= u64::from(t != 0) << b;
        }
    }
    // The largest offset that keeps `base + offset` an i64.
    let max_off = (i128::from(i64::MAX) - i128::from(base)) as u64;
    if all > max_off {
        // Only the values present count: find the largest.
        let hi = values
            .chunks(64)
            .zip(words)
            .flat_map(|(chunk, &word)| {
                chunk
                    .iter()
                    .enumerate()
                    .filter(move |(i, _)| word >> i & 1 == 1)
                    .map(|(_, v)| v.wrapping_sub(base) as u64)
            })
            .max()
            .unwrap_or(0);
        if hi > max_off {
            return Err("a value does not fit in 64 bits".into());
        }
    }
    if absent != 0 {
        return Err("a customer without a value has a non-zero slot".into());
    }
    planes.truncate(64 - all.leading_zeros() as usize);
    Ok((values, planes))
}

/// A `W`-byte little-endian slot as a number.
pub(super) fn offset<const W: usize>(slot: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    if let (Some(to), Some(from)) = (a.get_mut(..W), slot.get(..W)) {
        to.copy_from_slice(from);
    }
    u64::from_le_bytes(a)
}

/// Transposes up to 64 slots of `W` bytes (`8 W` bits each) into `rows`: bit `i` of row
/// `b` is bit `b` of slot `i`, for `b < 8 W` (slots past the end of `chunk` count as 0).
pub(super) fn bit_slice<const W: usize>(chunk: &[u8], rows: &mut [u64; 64]) {
    rows.fill(0);
    for (row, slot) in rows.iter_mut().zip(chunk.chunks_exact(W)) {
        *row = offset::<W>(slot);
    }
    transpose64(rows, 8 * W);
}
