//! After a send: delivery, read and reply rates judged by the thresholds WhatsApp and LINE
//! broadcast guides give (delivery 98% or more, reads 70-85%, replies over 5%), A/B
//! comparisons and the second touch.

use std::fmt;

use roaring::{MultiOps, RoaringBitmap};

use super::dimension_tags;
use super::split::Split;
use super::stats::{Proportion, ZTest, two_proportion_test};
use crate::day::Day;
use crate::error::Error;
use crate::segment::Segment;
use crate::store::Store;
use crate::store::taxonomy::TagId;

/// Days after a send when non-responders get a second touch (WhatsApp and LINE broadcast
/// guides: 3).
pub const SECOND_TOUCH_AFTER_DAYS: i32 = 3;

/// What the messaging app reported for one send: who was sent, delivered, read, replied.
///
/// The sets are tidied on the way in: reports about customers who were not sent are
/// ignored, a reply counts as a read (read receipts can be off) and a read as a delivery.
///
/// Rates: delivery = delivered / sent; read = read / delivered; reply = replied /
/// delivered (a message never delivered could not be read or answered).
///
/// ```
/// use audience::RoaringBitmap;
/// use audience::campaign::{DeliveryHealth, ReadHealth, ReplyHealth, Responses};
///
/// let sent: RoaringBitmap = (0..1000).collect();
/// let delivered: RoaringBitmap = (0..990).collect();
/// let read: RoaringBitmap = (0..750).collect();
/// let replied: RoaringBitmap = (0..60).collect();
/// let r = Responses::new(sent, &delivered, &read, &replied);
/// let f = r.funnel();
/// assert_eq!((f.sent, f.delivered, f.read, f.replied), (1000, 990, 750, 60));
/// assert_eq!(f.delivery_rate(), Some(0.99));
/// let a = f.assess();
/// assert_eq!(a.delivery, Some(DeliveryHealth::Good));
/// assert_eq!(a.read, Some(ReadHealth::Normal));
/// assert_eq!(a.reply, Some(ReplyHealth::Good));
/// assert_eq!(r.non_responders().len(), 930);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Responses {
    sent: RoaringBitmap,
    delivered: RoaringBitmap,
    read: RoaringBitmap,
    replied: RoaringBitmap,
}

impl Responses {
    /// The reports for a send to `sent` (see the type docs for how they are tidied).
    pub fn new(
        sent: RoaringBitmap,
        delivered: &RoaringBitmap,
        read: &RoaringBitmap,
        replied: &RoaringBitmap,
    ) -> Responses {
        let replied = replied & &sent;
        let read = &(read & &sent) | &replied;
        let delivered = &(delivered & &sent) | &read;
        Responses {
            sent,
            delivered,
            read,
            replied,
        }
    }

    /// Customers sent.
    pub fn sent(&self) -> &RoaringBitmap {
        &self.sent
    }

    /// Customers delivered (including those who read or replied).
    pub fn delivered(&self) -> &RoaringBitmap {
        &self.delivered
    }

    /// Customers who read (including those who replied).
    pub fn read(&self) -> &RoaringBitmap {
        &self.read
    }

    /// Customers who replied.
    pub fn replied(&self) -> &RoaringBitmap {
        &self.replied
    }

    /// Counts over the whole send.
    pub fn funnel(&self) -> Funnel {
        Funnel {
            sent: self.sent.len(),
            delivered: self.delivered.len(),
            read: self.read.len(),
            replied: self.replied.len(),
        }
    }

    /// Counts over the customers of `group` (counting only; nothing is materialised).
    pub fn funnel_of(&self, group: &RoaringBitmap) -> Funnel {
        Funnel {
            sent: self.sent.intersection_len(group),
            delivered: self.delivered.intersection_len(group),
            read: self.read.intersection_len(group),
            replied: self.replied.intersection_len(group),
        }
    }

    /// Counts per group of a split, in its order.
    pub fn by_group(&self, split: &Split) -> Vec<(String, Funnel)> {
        split
            .groups
            .iter()
            .map(|g| (g.name.clone(), self.funnel_of(&g.members)))
            .collect()
    }

    /// Counts per tag of a dimension, plus the customers with none of its tags.
    pub fn by_dimension(&self, store: &Store, dimension: &str) -> Result<DimensionFunnels, Error> {
        let tags = dimension_tags(store, dimension)?;
        let mut rows = Vec::with_capacity(tags.len());
        let mut sets = Vec::with_capacity(tags.len());
        for t in tags {
            let members = store.members(t)?;
            rows.push(TagFunnel {
                tag: t,
                name: store.tag(t)?.name.clone(),
                funnel: self.funnel_of(members),
            });
            sets.push(members);
        }
        let any = sets.into_iter().union();
        let tagged = self.funnel_of(&any);
        let all = self.funnel();
        Ok(DimensionFunnels {
            dimension: dimension.to_string(),
            tags: rows,
            none: Funnel {
                sent: all.sent - tagged.sent,
                delivered: all.delivered - tagged.delivered,
                read: all.read - tagged.read,
                replied: all.replied - tagged.replied,
            },
        })
    }

    /// Compares a metric between groups `a` and `b` (e.g. the two halves of an A/B test)
    /// with a two-proportion z-test at confidence `level` (e.g. 0.95); the winner is named
    /// only when the difference is significant.
    ///
    /// Errors with [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) when a
    /// group has no trials for the metric (nobody sent, or nobody delivered) or the level
    /// is not strictly between 0 and 1.
    pub fn compare(
        &self,
        a: &RoaringBitmap,
        b: &RoaringBitmap,
        metric: Metric,
        level: f64,
    ) -> Result<Comparison, Error> {
        Comparison::new(metric, &self.funnel_of(a), &self.funnel_of(b), level)
    }

    /// Delivered customers who did not reply: the second touch's audience (about 95% of a
    /// send, according to WhatsApp and LINE broadcast guides).
    pub fn non_responders(&self) -> Segment {
        Segment::from_bitmap(&self.delivered - &self.replied)
    }

    /// The second touch for a send made on `sent_on`: the non-responders, due
    /// [`SECOND_TOUCH_AFTER_DAYS`] later.
    pub fn follow_up(&self, sent_on: Day) -> FollowUp {
        FollowUp {
            due: sent_on.saturating_add(SECOND_TOUCH_AFTER_DAYS),
            customers: self.non_responders(),
        }
    }
}

/// The second touch: who, and from which day.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FollowUp {
    /// The first day it should go out.
    pub due: Day,
    /// The non-responders.
    pub customers: Segment,
}

impl FollowUp {
    /// Whether it is due on `today`.
    pub fn is_due(&self, today: Day) -> bool {
        today >= self.due
    }
}

/// Counts per tag of a dimension ([`Responses::by_dimension`]).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DimensionFunnels {
    /// The dimension, as asked.
    pub dimension: String,
    /// One row per tag of the dimension, in tag id order.
    pub tags: Vec<TagFunnel>,
    /// Customers with none of the dimension's tags.
    pub none: Funnel,
}

/// The counts of one tag's customers.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TagFunnel {
    /// The tag.
    pub tag: TagId,
    /// Its name.
    pub name: String,
    /// Its customers' counts.
    pub funnel: Funnel,
}

/// Sent, delivered, read and replied counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Funnel {
    /// Customers sent.
    pub sent: u64,
    /// Of them, delivered.
    pub delivered: u64,
    /// Of them, read.
    pub read: u64,
    /// Of them, replied.
    pub replied: u64,
}

impl Funnel {
    /// The successes and trials of a metric.
    pub fn proportion(&self, metric: Metric) -> Proportion {
        let (successes, trials) = match metric {
            Metric::Delivery => (self.delivered, self.sent),
            Metric::Read => (self.read, self.delivered),
            Metric::Reply => (self.replied, self.delivered),
        };
        Proportion { successes, trials }
    }

    /// Delivered / sent; `None` when nothing was sent.
    pub fn delivery_rate(&self) -> Option<f64> {
        self.proportion(Metric::Delivery).rate()
    }

    /// Read / delivered; `None` when nothing was delivered.
    pub fn read_rate(&self) -> Option<f64> {
        self.proportion(Metric::Read).rate()
    }

    /// Replied / delivered; `None` when nothing was delivered.
    pub fn reply_rate(&self) -> Option<f64> {
        self.proportion(Metric::Reply).rate()
    }

    /// Verdicts on the rates against the default [`Thresholds`], those of WhatsApp and LINE
    /// broadcast guides.
    pub fn assess(&self) -> Assessment {
        self.assess_with(&Thresholds::default())
    }

    /// Verdicts against other thresholds.
    pub fn assess_with(&self, t: &Thresholds) -> Assessment {
        Assessment {
            delivery: self.delivery_rate().map(|r| {
                if r >= t.delivery_good {
                    DeliveryHealth::Good
                } else if r < t.delivery_poor {
                    DeliveryHealth::PoorList
                } else {
                    DeliveryHealth::Fair
                }
            }),
            read: self.read_rate().map(|r| {
                if r < t.read_check_send_time {
                    ReadHealth::CheckSendTime
                } else if r < t.read_normal_low {
                    ReadHealth::Low
                } else if r <= t.read_normal_high {
                    ReadHealth::Normal
                } else {
                    ReadHealth::High
                }
            }),
            reply: self.reply_rate().map(|r| {
                if r > t.reply_good {
                    ReplyHealth::Good
                } else {
                    ReplyHealth::Ordinary
                }
            }),
        }
    }
}

impl fmt::Display for Funnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0));
        write!(
            f,
            "sent {}, delivered {} ({}), read {} ({}), replied {} ({})",
            self.sent,
            self.delivered,
            pct(self.delivery_rate()),
            self.read,
            pct(self.read_rate()),
            self.replied,
            pct(self.reply_rate())
        )
    }
}

/// Which rate to compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Metric {
    /// Delivered / sent.
    Delivery,
    /// Read / delivered.
    Read,
    /// Replied / delivered.
    Reply,
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::Delivery => "delivery rate",
            Metric::Read => "read rate",
            Metric::Reply => "reply rate",
        })
    }
}

/// One side of an A/B comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Arm {
    /// The first group.
    A,
    /// The second group.
    B,
}

/// A metric compared between two groups.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Comparison {
    /// The rate compared.
    pub metric: Metric,
    /// The z-test (A minus B).
    pub test: ZTest,
    /// The group with the higher rate, only when the difference is significant at the
    /// test's level.
    pub winner: Option<Arm>,
}

impl Comparison {
    /// Compares `metric` between two funnels (see [`Responses::compare`]).
    pub fn new(metric: Metric, a: &Funnel, b: &Funnel, level: f64) -> Result<Comparison, Error> {
        let (pa, pb) = (a.proportion(metric), b.proportion(metric));
        let test = two_proportion_test(pa.successes, pa.trials, pb.successes, pb.trials, level)?;
        let winner = if !test.significant() {
            None
        } else if test.difference > 0.0 {
            Some(Arm::A)
        } else {
            Some(Arm::B)
        };
        Ok(Comparison {
            metric,
            test,
            winner,
        })
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.test;
        let rate = |p: &Proportion| p.rate().map_or(0.0, |r| r * 100.0);
        let p = if t.p_value < 0.0001 {
            "p < 0.0001".to_string()
        } else {
            format!("p = {:.4}", t.p_value)
        };
        write!(
            f,
            "{}: A {:.1}% vs B {:.1}%, difference {:+.1} points ({:.0}% CI {:+.1} to {:+.1}), z = {:.2}, {p}: ",
            self.metric,
            rate(&t.a),
            rate(&t.b),
            t.difference * 100.0,
            t.level * 100.0,
            t.low * 100.0,
            t.high * 100.0,
            t.z,
        )?;
        match self.winner {
            Some(Arm::A) => f.write_str("A wins"),
            Some(Arm::B) => f.write_str("B wins"),
            None => f.write_str("no significant difference"),
        }
    }
}

/// The rate thresholds of the verdicts. The default is what WhatsApp and LINE broadcast
/// guides call healthy: delivery 98% or more (under 95% means a poor number list), reads
/// 70-85% (under 60%: check the send time), replies over 5%.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Thresholds {
    /// Delivery at or above this is good (0.98).
    pub delivery_good: f64,
    /// Delivery below this means a poor number list (0.95).
    pub delivery_poor: f64,
    /// Reads below this: check the send time (0.60).
    pub read_check_send_time: f64,
    /// Normal reads start here (0.70).
    pub read_normal_low: f64,
    /// Normal reads end here, inclusive (0.85).
    pub read_normal_high: f64,
    /// Replies above this are good (0.05).
    pub reply_good: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            delivery_good: 0.98,
            delivery_poor: 0.95,
            read_check_send_time: 0.60,
            read_normal_low: 0.70,
            read_normal_high: 0.85,
            reply_good: 0.05,
        }
    }
}

/// Verdict on a delivery rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DeliveryHealth {
    /// 98% or more.
    Good,
    /// 95% to under 98%.
    Fair,
    /// Under 95%: the number list is poor; clean it.
    PoorList,
}

/// Verdict on a read rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ReadHealth {
    /// Under 60%: check the send time (best 11:00 or 20:00, Tuesday to Thursday).
    CheckSendTime,
    /// 60% to under 70%.
    Low,
    /// 70% to 85%: normal.
    Normal,
    /// Over 85%.
    High,
}

/// Verdict on a reply rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ReplyHealth {
    /// Over 5%.
    Good,
    /// 5% or less.
    Ordinary,
}

/// The verdicts on a funnel's rates (`None` where a rate is undefined).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Assessment {
    /// On the delivery rate.
    pub delivery: Option<DeliveryHealth>,
    /// On the read rate.
    pub read: Option<ReadHealth>,
    /// On the reply rate.
    pub reply: Option<ReplyHealth>,
}

impl Assessment {
    /// What to do about it, worst first; empty when all is well.
    pub fn advice(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.delivery == Some(DeliveryHealth::PoorList) {
            out.push("delivery under 95%: the number list is poor; clean it before the next send");
        }
        if self.read == Some(ReadHealth::CheckSendTime) {
            out.push(
                "read rate under 60%: check the send time (best 11:00 or 20:00, Tuesday to Thursday)",
            );
        }
        if self.delivery == Some(DeliveryHealth::Fair) {
            out.push("delivery under 98%: some numbers are invalid or unreachable");
        }
        if self.read == Some(ReadHealth::Low) {
            out.push("read rate under the normal 70-85%");
        }
        out
    }
}
