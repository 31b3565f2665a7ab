//! Pairwise intersection counts of many bitmaps at once ([`Overlaps`]), from one sweep over
//! roaring's containers (the sweep and its cost are described in the crate's `base::pairs`).

use roaring::RoaringBitmap;

use crate::base::pairs::{order, pair_counts, tri};
use crate::error::{Error, ErrorKind, err};

/// The most sets [`Overlaps::of`] takes (its result holds `n * (n - 1) / 2` counts).
pub const MAX_OVERLAP_SETS: usize = 2048;

/// `|A ∩ B|` for every pair of a list of sets, computed exactly in one sweep over their
/// containers (dense pairs word by word, sparse members against bit-sliced counters).
///
/// ```
/// use audience::RoaringBitmap;
/// use audience::health::Overlaps;
///
/// let a: RoaringBitmap = (0..1000).collect();
/// let b: RoaringBitmap = (500..2000).collect();
/// let c: RoaringBitmap = (0..2000).step_by(2).collect();
/// let o = Overlaps::of(&[&a, &b, &c])?;
/// assert_eq!(o.both(0, 1), Some(500));
/// assert_eq!(o.both(1, 2), Some(750));
/// assert_eq!(o.both(2, 2), Some(1000)); // a set with itself: its size
/// assert_eq!(o.jaccard(0, 1), Some(0.25));
/// assert_eq!(o.both(0, 3), None);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlaps {
    sizes: Vec<u64>,
    /// Upper triangle: row `i` holds the pairs `(i, i + 1 .. n)`.
    pairs: Vec<u64>,
}

impl Overlaps {
    /// The pairwise overlaps of `sets`. Errors with [`ErrorKind::LimitExceeded`] for more
    /// than [`MAX_OVERLAP_SETS`] sets.
    pub fn of(sets: &[&RoaringBitmap]) -> Result<Overlaps, Error> {
        if sets.len() > MAX_OVERLAP_SETS {
            return err(ErrorKind::LimitExceeded {
                what: "number of sets to overlap",
                limit: MAX_OVERLAP_SETS as u64,
                actual: sets.len() as u64,
            });
        }
        Ok(Overlaps {
            sizes: sets.iter().map(|s| s.len()).collect(),
            pairs: pair_counts(sets),
        })
    }

    /// How many sets.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// Whether there are no sets.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// The size of set `i`.
    pub fn size(&self, i: usize) -> Option<u64> {
        self.sizes.get(i).copied()
    }

    /// `|set i ∩ set j|` (for `i == j`, the size of set `i`).
    pub fn both(&self, i: usize, j: usize) -> Option<u64> {
        let n = self.sizes.len();
        if i >= n || j >= n {
            return None;
        }
        if i == j {
            return self.size(i);
        }
        let (x, y) = order(i, j);
        self.pairs.get(tri(n, x, y)).copied()
    }

    /// `|set i ∪ set j|`.
    pub fn either(&self, i: usize, j: usize) -> Option<u64> {
        Some(self.size(i)? + self.size(j)? - self.both(i, j)?)
    }

    /// The Jaccard index `|i ∩ j| / |i ∪ j|` (0 when both sets are empty).
    pub fn jaccard(&self, i: usize, j: usize) -> Option<f64> {
        let either = self.either(i, j)?;
        let both = self.both(i, j)?;
        Some(if either == 0 {
            0.0
        } else {
            both as f64 / either as f64
        })
    }
}
