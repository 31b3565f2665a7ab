//! Send plans: an audience cut into batches that respect a rate limit.

use crate::base::text::plural;
use std::fmt;
use std::time::Duration;

use roaring::RoaringBitmap;

use crate::segment::Segment;

use crate::error::{Error, ErrorKind, err};
use crate::store::directory::CustomerId;

/// One batch of a [`SendPlan`]: the audience's customers with ids in `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Batch {
    /// When to send it, counted from the start of the send.
    pub offset: Duration,
    /// The smallest customer id of the batch.
    pub first: CustomerId,
    /// The largest customer id of the batch.
    pub last: CustomerId,
    /// How many customers.
    pub len: u64,
}

impl Batch {
    /// The batch's customers: `audience` restricted to `first..=last` (pass the audience
    /// the plan was made from).
    pub fn members(&self, audience: &RoaringBitmap) -> Segment {
        let ids = audience.range(self.first..=self.last);
        Segment::from_bitmap(RoaringBitmap::from_sorted_iter(ids).unwrap_or_default())
    }
}

/// An audience cut into batches for a rate limit (WhatsApp and LINE broadcast guides: about
/// 150-200 messages a minute, so 5,000 take 25-30 minutes). Batches hold id ranges, not
/// copies of the audience: [`Batch::members`] materialises one batch when it is due.
/// Customers go out in id order (arrival order); split first for a random order.
///
/// ```
/// use audience::RoaringBitmap;
/// use audience::campaign::SendPlan;
///
/// let audience: RoaringBitmap = (0..5_000).collect();
/// let plan = SendPlan::new(&audience, 180)?;
/// assert_eq!(plan.batches.len(), 28); // 27 minutes of 180 and one of 140
/// assert_eq!(plan.duration().as_secs(), 1667); // 5,000 / 180 min = 27.8 minutes
/// assert_eq!(plan.batches[27].len, 140);
/// assert_eq!(plan.batches[1].members(&audience).len(), 180);
/// assert_eq!(plan.to_string(), "5000 messages in 28 batches of up to 180 at 180 a minute: about 28 minutes");
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SendPlan {
    /// Messages in all.
    pub total: u64,
    /// The rate limit: messages a minute.
    pub per_minute: u32,
    /// Messages per batch (the last batch may be smaller).
    pub batch_size: u32,
    /// The batches, in sending order.
    pub batches: Vec<Batch>,
}

/// The most batches a plan holds (a protection against a batch size of 1 over millions).
pub const MAX_BATCHES: usize = 1 << 22;

impl SendPlan {
    /// One batch a minute of `per_minute` customers.
    pub fn new(audience: &RoaringBitmap, per_minute: u32) -> Result<SendPlan, Error> {
        SendPlan::build("SendPlan::new", audience, per_minute, per_minute)
    }

    /// Batches of `batch_size` customers, spaced so that `per_minute` go out each minute
    /// (batch `i` at `i * batch_size / per_minute` minutes).
    ///
    /// Errors with [`ErrorKind::InvalidSetting`] when the rate or the batch size is 0, and
    /// [`ErrorKind::LimitExceeded`] beyond [`MAX_BATCHES`] batches.
    pub fn with_batch_size(
        audience: &RoaringBitmap,
        per_minute: u32,
        batch_size: u32,
    ) -> Result<SendPlan, Error> {
        SendPlan::build(
            "SendPlan::with_batch_size",
            audience,
            per_minute,
            batch_size,
        )
    }

    fn build(
        setting: &'static str,
        audience: &RoaringBitmap,
        per_minute: u32,
        batch_size: u32,
    ) -> Result<SendPlan, Error> {
        if per_minute == 0 || batch_size == 0 {
            return err(ErrorKind::InvalidSetting {
                setting,
                reason: format!(
                    "a send plan needs a positive rate and batch size, got {per_minute} a minute in batches of {batch_size}"
                ),
            });
        }
        let total = audience.len();
        let size = u64::from(batch_size);
        let count = total.div_ceil(size);
        if count > MAX_BATCHES as u64 {
            return err(ErrorKind::LimitExceeded {
                what: "number of batches",
                limit: MAX_BATCHES as u64,
                actual: count,
            });
        }
        // One pass over the audience, a batch of ids at a time into a reused buffer.
        let mut batches = Vec::with_capacity(count as usize);
        let mut buf = vec![0u32; batch_size.min(1 << 16) as usize];
        let mut iter = audience.iter();
        let mut start = 0u64;
        while start < total {
            let len = size.min(total - start);
            let mut first = None;
            let mut last = None;
            let mut got = 0u64;
            while got < len {
                let want = usize::try_from(len - got)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let chunk = match buf.get_mut(..want) {
                    Some(b) => iter.next_many(b),
                    None => break,
                };
                if chunk.is_empty() {
                    break;
                }
                first = first.or(chunk.first().copied());
                last = chunk.last().copied().or(last);
                got += chunk.len() as u64;
            }
            let (Some(first), Some(last)) = (first, last) else {
                break;
            };
            // start * 60,000 / per_minute milliseconds, exactly in u128.
            let ms = u128::from(start) * 60_000 / u128::from(per_minute);
            batches.push(Batch {
                offset: Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)),
                first,
                last,
                len: got,
            });
            start += got;
        }
        Ok(SendPlan {
            total,
            per_minute,
            batch_size,
            batches,
        })
    }

    /// How long the whole send takes at the rate: `total / per_minute` minutes, rounded up
    /// to the second.
    pub fn duration(&self) -> Duration {
        let secs = (u128::from(self.total) * 60).div_ceil(u128::from(self.per_minute.max(1)));
        Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for SendPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = (self.duration().as_secs() + 30) / 60;
        write!(
            f,
            "{} in {} of up to {} at {} a minute: about {}",
            plural(self.total, "message", "messages"),
            plural(self.batches.len() as u64, "batch", "batches"),
            self.batch_size,
            self.per_minute,
            plural(minutes, "minute", "minutes")
        )
    }
}
