//! Ranking measured values into bins: NTILE groups through a per-value table (small
//! value ranges) or selection of the group boundaries (wide ones), fixed edges, and score
//! bitmaps built from the ranked ids.

use roaring::RoaringBitmap;

use super::{Binning, ValueRange};

/// The group (0-based) of rank `r` (0-based) when `len` rows are split NTILE-style into
/// `n` groups: the first `len % n` groups hold one more row.
pub(super) fn group_of_rank(r: usize, len: usize, n: usize) -> usize {
    let q = len / n;
    let rem = len % n;
    let big = rem * (q + 1);
    if r < big {
        r / (q + 1)
    } else {
        // r < len = n * q + rem, so q > 0 here.
        rem + (r - big) / q.max(1)
    }
}

/// One measure's scores (1..=n, in the order of the values) and the lowest and highest
/// value of each score.
pub(super) struct Scored {
    pub(super) scores: Vec<u8>,
    pub(super) ranges: Vec<Option<ValueRange>>,
}

/// Value spans up to this many times the number of values (or 2^16) are ranked through a
/// per-value table; wider ones through selection.
const TABLE_SPAN_PER_VALUE: i128 = 2;

/// Scores `vals` (see the module docs for the rules).
pub(super) fn score_values(vals: &[i64], binning: &Binning, reverse: bool) -> Scored {
    let n = binning.bins();
    let len = vals.len();
    let to_score = |g: usize| if reverse { n - g } else { g + 1 };
    let mut scores = Vec::with_capacity(len);
    // Lowest and highest value per group (0-based, ascending values).
    let mut by_group: Vec<Option<ValueRange>> = vec![None; n];
    let (min, max) = vals
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if len > 0 {
        match binning {
            Binning::Edges(edges) => {
                let mut lows = vec![i64::MAX; n];
                let mut highs = vec![i64::MIN; n];
                for &v in vals {
                    let g = edges.partition_point(|&e| e <= v);
                    scores.push(to_score(g) as u8);
                    if let (Some(lo), Some(hi)) = (lows.get_mut(g), highs.get_mut(g)) {
                        *lo = (*lo).min(v);
                        *hi = (*hi).max(v);
                    }
                }
                for ((r, &min), &max) in by_group.iter_mut().zip(&lows).zip(&highs) {
                    *r = (min <= max).then_some(ValueRange { min, max });
                }
            }
            Binning::Quantiles(_) => {
                let span = i128::from(max) - i128::from(min);
                if span < (len as i128 * TABLE_SPAN_PER_VALUE).max(1 << 16) {
                    let mut table = RankTable::new(vals, min, span as usize + 1, n);
                    for &v in vals {
                        scores.push(to_score(table.group(v - min)) as u8);
                    }
                    by_group = table.ranges;
                } else {
                    let mut cuts = Cuts::select(vals, n, min, max);
                    for &v in vals {
                        scores.push(to_score(cuts.group(v)) as u8);
                    }
                    by_group = cuts.ranges;
                }
            }
        }
    }
    let mut ranges = vec![None; n];
    for (g, r) in by_group.into_iter().enumerate() {
        if let Some(slot) = ranges.get_mut(to_score(g) - 1) {
            *slot = r;
        }
    }
    Scored { scores, ranges }
}

/// The first rank of group `g` when `len` rows are split NTILE-style into `n` groups.
fn group_start(g: usize, len: usize, n: usize) -> usize {
    g * (len / n) + g.min(len % n)
}

/// Ranks handed out, in id order, to the customers sharing a value that a group boundary
/// splits: the next rank, its group and where the next group starts.
#[derive(Clone, Copy, Debug)]
struct TieRanks {
    rank: usize,
    group: usize,
    next_start: usize,
}

impl TieRanks {
    fn new(rank: usize, len: usize, n: usize) -> TieRanks {
        let group = group_of_rank(rank, len, n);
        TieRanks {
            rank,
            group,
            next_start: group_start(group + 1, len, n),
        }
    }

    /// The group of the next customer met, without a division.
    fn next(&mut self, len: usize, n: usize) -> usize {
        let g = self.group;
        self.rank += 1;
        if self.rank >= self.next_start && self.group + 1 < n {
            self.group += 1;
            self.next_start = group_start(self.group + 1, len, n);
        }
        g
    }
}

/// NTILE groups of values spanning a small range: one byte per possible value, the group
/// itself when all customers with that value share a group, or a marker pointing at the
/// value's next rank when a group boundary splits them (by customer id, in the order they
/// are met).
struct RankTable {
    table: Vec<u8>,
    ties: Vec<TieRanks>,
    /// Lowest and highest value of each group.
    ranges: Vec<Option<ValueRange>>,
    len: usize,
    n: usize,
}

const SPLIT: u8 = 0x80;

impl RankTable {
    fn new(vals: &[i64], min: i64, span: usize, n: usize) -> RankTable {
        let mut counts = vec![0u32; span];
        for &v in vals {
            if let Some(c) = counts.get_mut((v - min) as usize) {
                *c += 1;
            }
        }
        let len = vals.len();
        let mut table = vec![0u8; span];
        let mut ties = Vec::new();
        let mut ranges: Vec<Option<ValueRange>> = vec![None; n];
        let mut start = 0usize;
        for (offset, (t, &c)) in table.iter_mut().zip(&counts).enumerate() {
            if c == 0 {
                continue;
            }
            let c = c as usize;
            let (first, last) = (
                group_of_rank(start, len, n),
                group_of_rank(start + c - 1, len, n),
            );
            *t = if first == last {
                first as u8
            } else {
                ties.push(TieRanks::new(start, len, n));
                SPLIT | (ties.len() - 1) as u8
            };
            // Values come in ascending order: the first met is a group's minimum, the
            // last its maximum.
            let v = min + offset as i64;
            for r in ranges.iter_mut().take(last + 1).skip(first) {
                match r {
                    Some(r) => r.max = v,
                    None => *r = Some(ValueRange { min: v, max: v }),
                }
            }
            start += c;
        }
        RankTable {
            table,
            ties,
            ranges,
            len,
            n,
        }
    }

    /// The group of the next customer (in id order) with value `min + offset`.
    fn group(&mut self, offset: i64) -> usize {
        let t = self.table.get(offset as usize).copied().unwrap_or(0);
        if t & SPLIT == 0 {
            return usize::from(t);
        }
        match self.ties.get_mut(usize::from(t & !SPLIT)) {
            Some(tie) => tie.next(self.len, self.n),
            None => 0,
        }
    }
}

/// NTILE groups of values spanning a wide range: the value at each group's first rank
/// (found by selection), how many values lie below it, and per such cut value a counter of
/// the customers met so far, to split ties by id.
struct Cuts {
    /// Distinct cut values, ascending.
    values: Vec<i64>,
    /// For each cut value, the ranks of the customers met with that value.
    ties: Vec<TieRanks>,
    /// For each cut value, how many groups start below it; one more entry for values above
    /// all cuts.
    groups_below: Vec<usize>,
    /// Lowest and highest value of each group.
    ranges: Vec<Option<ValueRange>>,
    len: usize,
    n: usize,
}

impl Cuts {
    /// `min` and `max` are the smallest and largest of `vals`.
    fn select(vals: &[i64], n: usize, min: i64, max: i64) -> Cuts {
        let len = vals.len();
        let starts: Vec<usize> = (1..n)
            .map(|g| group_start(g, len, n))
            .filter(|&s| s < len)
            .collect();
        let mut scratch = vals.to_vec();
        // The value at each group's first rank, and at the rank just before it.
        let mut cuts: Vec<i64> = Vec::with_capacity(starts.len());
        let mut before: Vec<i64> = Vec::with_capacity(starts.len());
        let mut values: Vec<i64> = Vec::new();
        let mut ties: Vec<TieRanks> = Vec::new();
        let mut lo = 0usize;
        for &r in &starts {
            // Starts increase strictly, so `lo <= r < lo + part.len()`.
            let Some(part) = scratch.get_mut(lo..) else {
                break;
            };
            let (left, nth, _) = part.select_nth_unstable(r - lo);
            let v = *nth;
            // `left` holds the values ranked lo..r; everything before `lo` is at most the
            // previous cut, which is below `v` when `v` is a new cut value.
            let (mut equal, mut left_max) = (0usize, None);
            for &x in left.iter() {
                equal += usize::from(x == v);
                left_max = Some(left_max.map_or(x, |m: i64| m.max(x)));
            }
            // The value ranked r - 1: the largest of `left`, or the previous cut when
            // `left` is empty (then r - 1 is the previous cut's rank).
            before.push(left_max.or(cuts.last().copied()).unwrap_or(v));
            if values.last() != Some(&v) {
                values.push(v);
                ties.push(TieRanks::new(r - equal, len, n));
            }
            cuts.push(v);
            lo = r + 1;
        }
        let mut groups_below: Vec<usize> = values
            .iter()
            .map(|&u| cuts.iter().filter(|&&c| c < u).count())
            .collect();
        groups_below.push(cuts.len());
        // Group g runs from its first value (the minimum for group 0) to the value just
        // before the next group's first (the maximum for the last group).
        let mut ranges = vec![None; n];
        for (g, r) in ranges.iter_mut().enumerate().take(cuts.len() + 1) {
            let low = if g == 0 {
                Some(min)
            } else {
                cuts.get(g - 1).copied()
            };
            let high = before.get(g).copied().unwrap_or(max);
            if let Some(low) = low {
                *r = Some(ValueRange {
                    min: low,
                    max: high,
                });
            }
        }
        Cuts {
            values,
            ties,
            groups_below,
            ranges,
            len,
            n,
        }
    }

    /// The group of the next customer (in id order) with value `v`.
    fn group(&mut self, v: i64) -> usize {
        let j = self.values.iter().filter(|&&u| u < v).count();
        if self.values.get(j) == Some(&v)
            && let Some(tie) = self.ties.get_mut(j)
        {
            return tie.next(self.len, self.n);
        }
        self.groups_below.get(j).copied().unwrap_or(0)
    }
}

/// Bitmaps of `ids` (ascending) by class: `class[i]` in `1..=k` puts `ids[i]` in bitmap
/// `class[i] - 1`. Dense ids are set in byte arrays turned into bitmaps container by
/// container (`from_lsb0_bytes`); sparse ones are collected in sorted lists.
pub(super) fn bitmaps_by_class(ids: &[u32], class: &[u8], k: usize) -> Vec<RoaringBitmap> {
    let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
        return vec![RoaringBitmap::new(); k];
    };
    let base = first & !7;
    let span = (last - base) as usize + 1;
    if ids.len().saturating_mul(16) >= span {
        let mut bytes = vec![vec![0u8; span.div_ceil(8)]; k];
        for (&id, &c) in ids.iter().zip(class) {
            let off = (id - base) as usize;
            if let Some(b) = bytes
                .get_mut(usize::from(c).wrapping_sub(1))
                .and_then(|b| b.get_mut(off >> 3))
            {
                *b |= 1 << (off & 7);
            }
        }
        bytes
            .iter()
            .map(|b| RoaringBitmap::from_lsb0_bytes(base, b))
            .collect()
    } else {
        let mut lists = vec![Vec::new(); k];
        for (&id, &c) in ids.iter().zip(class) {
            if let Some(l) = lists.get_mut(usize::from(c).wrapping_sub(1)) {
                l.push(id);
            }
        }
        lists
            .into_iter()
            .map(|l| RoaringBitmap::from_sorted_iter(l).unwrap_or_default())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NTILE by sorting, the definition.
    fn reference(vals: &[i64], n: usize, reverse: bool) -> Vec<u8> {
        let mut order: Vec<usize> = (0..vals.len()).collect();
        order.sort_by_key(|&i| (vals[i], i));
        let mut out = vec![0u8; vals.len()];
        for (r, &i) in order.iter().enumerate() {
            let g = group_of_rank(r, vals.len(), n);
            out[i] = if reverse { n - g } else { g + 1 } as u8;
        }
        out
    }

    #[test]
    fn group_sizes_differ_by_one_larger_first() {
        let sizes = |len: usize, n: usize| {
            let mut s = vec![0; n];
            for r in 0..len {
                s[group_of_rank(r, len, n)] += 1;
            }
            s
        };
        assert_eq!(sizes(7, 3), vec![3, 2, 2]);
        assert_eq!(sizes(10, 5), vec![2, 2, 2, 2, 2]);
        assert_eq!(sizes(13, 5), vec![3, 3, 3, 2, 2]);
        assert_eq!(sizes(2, 5), vec![1, 1, 0, 0, 0]);
        assert_eq!(sizes(1, 3), vec![1, 0, 0]);
    }

    #[test]
    fn both_cut_paths_match_the_reference() {
        // Small span: counting pass; huge span: selection.
        let small: Vec<i64> = (0..1000).map(|i| (i * 7919 % 13) as i64).collect();
        let huge: Vec<i64> = (0..1000)
            .map(|i| ((i * 7919 % 101) as i64 - 50) * (i64::MAX / 64))
            .collect();
        for vals in [small, huge] {
            for n in 3..=10u8 {
                for reverse in [false, true] {
                    assert_eq!(
                        score_values(&vals, &Binning::Quantiles(n), reverse).scores,
                        reference(&vals, usize::from(n), reverse)
                    );
                }
            }
        }
    }

    #[test]
    fn ranks_of_few_values_in_a_wide_span() {
        // Ties at the extremes of i64, selection path.
        let vals = [
            i64::MAX,
            i64::MIN,
            i64::MAX,
            0,
            i64::MIN,
            i64::MAX,
            i64::MAX,
        ];
        for n in 3..=10u8 {
            assert_eq!(
                score_values(&vals, &Binning::Quantiles(n), false).scores,
                reference(&vals, usize::from(n), false)
            );
        }
        let empty = score_values(&[], &Binning::Quantiles(5), true);
        assert!(empty.scores.is_empty());
        assert_eq!(empty.ranges, vec![None; 5]);
    }

    #[test]
    fn bitmaps_by_class_dense_and_sparse() {
        let naive = |ids: &[u32], class: &[u8], k: usize| -> Vec<RoaringBitmap> {
            (1..=k as u8)
                .map(|c| {
                    ids.iter()
                        .zip(class)
                        .filter(|(_, x)| **x == c)
                        .map(|(i, _)| *i)
                        .collect()
                })
                .collect()
        };
        let cases: Vec<Vec<u32>> = vec![
            (0..200_000).filter(|i| i % 3 != 0).collect(), // dense
            (0..200_000).map(|i| i * 97 + 5).collect(),    // sparse
            (u32::MAX - 300..=u32::MAX).collect(),         // dense at the top
            vec![3, u32::MAX],                             // sparse, extremes
            vec![],
        ];
        for ids in cases {
            let class: Vec<u8> = ids.iter().map(|i| (i % 5 + 1) as u8).collect();
            assert_eq!(bitmaps_by_class(&ids, &class, 5), naive(&ids, &class, 5));
        }
    }
}
