//! A query result: a set of customers, in id order.

use roaring::RoaringBitmap;

use crate::base::containers;
use crate::store::Store;
use crate::store::directory::{CustomerId, KeyRef};

/// Ids read per bulk step when they are consumed as they come (keys): one roaring container.
const CHUNK: usize = 65_536;

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

    /// Every customer id, ascending, in one vector: a send list at memory speed.
    ///
    /// The ids are written a container (up to 65,536 ids) at a time: arrays copied,
    /// bitsets expanded a word at a time, runs filled. That costs well under a nanosecond an
    /// id, where collecting [`Segment::iter`] costs several.
    ///
    /// ```
    /// use audience::{RoaringBitmap, Segment};
    ///
    /// let seg = Segment::from_bitmap([3, 1, 70_000].into_iter().collect::<RoaringBitmap>());
    /// assert_eq!(seg.to_vec(), vec![1, 3, 70_000]);
    /// ```
    pub fn to_vec(&self) -> Vec<CustomerId> {
        let mut out = Vec::new();
        self.extend_ids(&mut out);
        out
    }

    /// Appends every customer id, ascending, to `out` (reusing its capacity): the buffer of
    /// a sender that exports segment after segment.
    ///
    /// ```
    /// use audience::{RoaringBitmap, Segment};
    ///
    /// let mut buffer = vec![0];
    /// Segment::from_bitmap((5..8).collect::<RoaringBitmap>()).extend_ids(&mut buffer);
    /// assert_eq!(buffer, vec![0, 5, 6, 7]);
    /// ```
    pub fn extend_ids(&self, out: &mut Vec<CustomerId>) {
        // roaring 0.12 exposes no containers: its portable serialization writes each one
        // with a bulk copy, and `containers` expands them from there, faster than its
        // iterator's `next_many` (see the `materialise` bench).
        let mut bytes = Vec::with_capacity(self.bits.serialized_size());
        if self.bits.serialize_into(&mut bytes).is_ok() && containers::extend_ids(&bytes, out) {
            return;
        }
        let start = out.len();
        let n = usize::try_from(self.bits.len()).unwrap_or(usize::MAX);
        out.resize(start.saturating_add(n), 0);
        let written = self.write_ids(None, out.get_mut(start..).unwrap_or_default());
        out.truncate(start + written);
    }

    /// Writes the ids after `cursor` (from the first id when `None`), ascending, into `dst`,
    /// as many as fit, and returns how many it wrote. The last id written is the cursor of
    /// the next page, so a sender pages through an audience with one buffer and no state
    /// but that id (a page that comes back short is the last one):
    ///
    /// ```
    /// use audience::{RoaringBitmap, Segment};
    ///
    /// let seg = Segment::from_bitmap((0..10).map(|i| i * 100).collect::<RoaringBitmap>());
    /// let mut page = [0u32; 4];
    /// let mut cursor = None;
    /// let mut sent = Vec::new();
    /// loop {
    ///     let n = seg.write_ids(cursor, &mut page);
    ///     sent.extend_from_slice(&page[..n]);
    ///     if n < page.len() {
    ///         break;
    ///     }
    ///     cursor = Some(page[n - 1]);
    /// }
    /// assert_eq!(sent, seg.to_vec());
    /// ```
    ///
    /// Finding the cursor costs a search within its container, not a walk from the start.
    pub fn write_ids(&self, cursor: Option<CustomerId>, dst: &mut [CustomerId]) -> usize {
        let mut iter = match cursor {
            None => self.bits.iter(),
            Some(u32::MAX) => return 0,
            Some(c) => self.bits.range(c + 1..),
        };
        let mut written = 0;
        while let Some(rest) = dst.get_mut(written..) {
            let n = iter.next_many(rest).len();
            if n == 0 {
                break;
            }
            written += n;
        }
        written
    }

    /// Appends the external key (phone digits as a `u64`, or a member id) of every customer
    /// of the segment, in id order, to `out`. Ids that are no longer live customers (erased
    /// since the segment was computed) have no key and are skipped, as [`Segment::keys`]
    /// skips them. The ids are read in bulk as in [`Segment::to_vec`].
    ///
    /// ```
    /// use audience::{CustomerKey, Edit, KeyRef, Segment, Store};
    ///
    /// let mut store = Store::new();
    /// let ids = store
    ///     .ensure_customers([CustomerKey::phone("66812345678")?, CustomerKey::member("M-7")?])?;
    /// let seg = Segment::from_bitmap(ids.iter().copied().collect());
    /// let mut keys = Vec::new();
    /// seg.keys_into(&store, &mut keys);
    /// assert_eq!(keys, vec![KeyRef::Phone(66812345678), KeyRef::Member("M-7")]);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn keys_into<'a>(&self, store: &'a Store, out: &mut Vec<KeyRef<'a>>) {
        let mut buf = vec![0; CHUNK.min(usize::try_from(self.bits.len()).unwrap_or(CHUNK))];
        let mut iter = self.bits.iter();
        out.reserve(usize::try_from(self.bits.len()).unwrap_or(0));
        loop {
            let ids = iter.next_many(&mut buf);
            if ids.is_empty() {
                break;
            }
            out.extend(ids.iter().filter_map(|&id| store.key(id)));
        }
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
