//! A query result: a set of customers, in id order.

use roaring::RoaringBitmap;

use crate::store::Store;
use crate::store::directory::{CustomerId, KeyRef};

/// The customers a query selected. Iterates ids in ascending order, pages through millions
/// without copying them (`page` uses rank/select on the bitmap), maps ids to external keys,
/// and exposes the underlying bitmap to compose with anything else.
///
/// ```
/// use audience::{RoaringBitmap, Segment};
///
/// let seg = Segment::from_bitmap((0..1_000_000).step_by(3).collect::<RoaringBitmap>());
/// assert_eq!(seg.len(), 333_334);
/// assert_eq!(seg.page(2, 3).collect::<Vec<_>>(), vec![6, 9, 12]);
/// assert_eq!(seg.select(1), Some(3));
/// assert_eq!(seg.rank(9), 4);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Segment {
    bits: RoaringBitmap,
}

impl Segment {
    /// A segment of the given customers.
    pub fn from_bitmap(bits: RoaringBitmap) -> Segment {
        Segment { bits }
    }

    /// How many customers.
    pub fn len(&self) -> u64 {
        self.bits.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Whether the segment holds `customer`.
    pub fn contains(&self, customer: CustomerId) -> bool {
        self.bits.contains(customer)
    }

    /// The customer ids in ascending order.
    pub fn iter(&self) -> roaring::bitmap::Iter<'_> {
        self.bits.iter()
    }

    /// At most `take` ids after skipping the first `skip`, without visiting the skipped
    /// ones.
    pub fn page(&self, skip: u64, take: usize) -> impl Iterator<Item = CustomerId> + '_ {
        let start = u32::try_from(skip).ok().and_then(|s| self.bits.select(s));
        let iter = match start {
            Some(first) => self.bits.range(first..),
            None => self.bits.range(1..1),
        };
        iter.take(take)
    }

    /// The `n`-th customer id (from 0) in ascending order.
    pub fn select(&self, n: u32) -> Option<CustomerId> {
        self.bits.select(n)
    }

    /// How many customers of the segment have an id `<= customer`.
    pub fn rank(&self, customer: CustomerId) -> u64 {
        self.bits.rank(customer)
    }

    /// Ids with their external keys, in id order.
    pub fn keys<'a>(
        &'a self,
        store: &'a Store,
    ) -> impl Iterator<Item = (CustomerId, KeyRef<'a>)> + 'a {
        self.bits
            .iter()
            .filter_map(move |id| store.key(id).map(|k| (id, k)))
    }

    /// The underlying bitmap.
    pub fn bitmap(&self) -> &RoaringBitmap {
        &self.bits
    }

    /// The underlying bitmap, by value.
    pub fn into_bitmap(self) -> RoaringBitmap {
        self.bits
    }
}

/// A segment is its set of customers: every function of the crate that takes a set
/// (`&RoaringBitmap`: a scope, an audience, the customers to tag) takes `&segment` too.
///
/// ```
/// use audience::{RoaringBitmap, Segment};
///
/// fn count_even(set: &RoaringBitmap) -> u64 {
///     set.iter().filter(|id| id % 2 == 0).count() as u64
/// }
/// let seg = Segment::from_bitmap((0..10).collect());
/// assert_eq!(count_even(&seg), 5);
/// ```
impl std::ops::Deref for Segment {
    type Target = RoaringBitmap;
    fn deref(&self) -> &RoaringBitmap {
        &self.bits
    }
}

impl PartialEq<RoaringBitmap> for Segment {
    fn eq(&self, other: &RoaringBitmap) -> bool {
        self.bits == *other
    }
}

impl PartialEq<Segment> for RoaringBitmap {
    fn eq(&self, other: &Segment) -> bool {
        *self == other.bits
    }
}

/// Set algebra with any set: `&segment & &bitmap`, `|`, `-` (and not) and `^` give a new
/// segment.
///
/// ```
/// use audience::{RoaringBitmap, Segment};
///
/// let delivered = Segment::from_bitmap((0..10).collect());
/// let replied: RoaringBitmap = (0..4).collect();
/// assert_eq!((&delivered - &replied).len(), 6);
/// assert_eq!((&delivered & &replied).len(), 4);
/// ```
macro_rules! segment_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl std::ops::$trait<&RoaringBitmap> for &Segment {
            type Output = Segment;
            fn $method(self, rhs: &RoaringBitmap) -> Segment {
                Segment::from_bitmap(&self.bits $op rhs)
            }
        }

        impl std::ops::$trait<&Segment> for &Segment {
            type Output = Segment;
            fn $method(self, rhs: &Segment) -> Segment {
                Segment::from_bitmap(&self.bits $op &rhs.bits)
            }
        }
    };
}

segment_op!(BitAnd, bitand, &);
segment_op!(BitOr, bitor, |);
segment_op!(Sub, sub, -);
segment_op!(BitXor, bitxor, ^);

impl AsRef<RoaringBitmap> for Segment {
    fn as_ref(&self) -> &RoaringBitmap {
        &self.bits
    }
}

impl From<Segment> for RoaringBitmap {
    fn from(segment: Segment) -> RoaringBitmap {
        segment.bits
    }
}

impl From<RoaringBitmap> for Segment {
    fn from(bits: RoaringBitmap) -> Segment {
        Segment { bits }
    }
}

impl<'a> IntoIterator for &'a Segment {
    type Item = CustomerId;
    type IntoIter = roaring::bitmap::Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.bits.iter()
    }
}
