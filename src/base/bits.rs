//! Word-level bit utilities shared by the bit-sliced attribute index, the snapshot loader
//! and the health report's pair counts.

/// Transposes a 64 x 64 bit matrix in place: afterwards bit `i` of `a[j]` is what bit `j`
/// of `a[i]` was. `width` (a power of two, at most 64) bounds the input: every `a[i]` is
/// below `2^width`, so only rows below `width` are non-zero afterwards and the work is
/// about `width * log2(width)` word operations (the recursive block swap of Hacker's
/// Delight, 7-3, preceded by packing steps for the empty upper blocks).
pub(crate) fn transpose64(a: &mut [u64; 64], width: usize) {
    let mut j = 32usize;
    let mut m: u64 = 0x0000_0000_FFFF_FFFF;
    while j != 0 {
        if j >= width {
            // Columns j.. are empty: move rows j..2j into the high blocks of rows 0..j.
            let (lo, hi) = a.split_at_mut(j);
            for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                *x |= *y << j;
                *y = 0;
            }
        } else {
            // Swap the off-diagonal j x j blocks of every 2j x 2j block of rows below
            // `width` (the rows above are zero).
            for block in a.chunks_exact_mut(2 * j).take(width / (2 * j)) {
                let (lo, hi) = block.split_at_mut(j);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let t = ((*x >> j) ^ *y) & m;
                    *y ^= t;
                    *x ^= t << j;
                }
            }
        }
        j >>= 1;
        m ^= m << j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_matches_a_bit_by_bit_transpose() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for width in [1usize, 2, 4, 8, 16, 32, 64] {
            for _ in 0..20 {
                let mut a = [0u64; 64];
                for x in a.iter_mut() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    *x = if width == 64 {
                        seed
                    } else {
                        seed & ((1 << width) - 1)
                    };
                }
                let mut want = [0u64; 64];
                for (i, x) in a.iter().enumerate() {
                    for (j, w) in want.iter_mut().enumerate() {
                        *w |= (x >> j & 1) << i;
                    }
                }
                transpose64(&mut a, width);
                assert_eq!(a, want, "width {width}");
            }
        }
    }
}
