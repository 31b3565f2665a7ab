//! Frequency caps: who already got enough messages lately (see [`SendLog`]).

use std::fmt;
use std::ops::{Add, Sub};

use roaring::{MultiOps, RoaringBitmap};

use crate::base::fold::{MAX_NAME_CHARS, fold};
use crate::base::text::{counted, quote};
use crate::day::Day;
use crate::error::{Error, ErrorKind, err, invalid_name};
use crate::store::Store;

/// How long a [`SendLog`] keeps sends unless told otherwise: 7 days.
pub const DEFAULT_RETENTION_HOURS: u32 = 7 * 24;
/// The longest retention a [`SendLog`] accepts: 366 days.
pub const MAX_RETENTION_HOURS: u32 = 366 * 24;
/// The most channels a [`SendLog`] tells apart.
pub const MAX_CHANNELS: usize = 64;
/// Messages per customer, channel and hour that are counted; more count as this many.
pub const MAX_PER_HOUR: usize = 32;

/// An hour: whole hours since 1970-01-01 00:00 in the app's time zone (the crate has no
/// time zones, like [`Day`]).
///
/// ```
/// use audience::Day;
/// use audience::campaign::Hour;
///
/// let h = Hour::new(Day::from_ymd(2025, 1, 6)?, 23)?;
/// assert_eq!(h.to_string(), "2025-01-06 23:00");
/// assert_eq!((h + 1).to_string(), "2025-01-07 00:00");
/// assert_eq!((h + 1).day(), Day::from_ymd(2025, 1, 7)?);
/// assert_eq!((h + 25) - h, 25);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Hour(pub i64);

impl Hour {
    /// Hour `hour` (0-23) of `day`. Errors with [`ErrorKind::InvalidArgument`] for an hour
    /// above 23.
    pub fn new(day: Day, hour: u32) -> Result<Hour, Error> {
        if hour > 23 {
            return err(ErrorKind::InvalidArgument(format!(
                "an hour of the day is 0 to 23, got {hour}"
            )));
        }
        Ok(Hour(i64::from(day.0) * 24 + i64::from(hour)))
    }

    /// Midnight at the start of `day`.
    pub fn start_of(day: Day) -> Hour {
        Hour(i64::from(day.0) * 24)
    }

    /// The day this hour belongs to (clamped to the days `Day` can print).
    pub fn day(self) -> Day {
        let d = self.0.div_euclid(24);
        Day(d.clamp(i64::from(Day::MIN.0), i64::from(Day::MAX.0)) as i32)
    }

    /// The hour of the day, 0-23.
    pub fn hour_of_day(self) -> u32 {
        self.0.rem_euclid(24) as u32
    }
}

impl Add<i64> for Hour {
    type Output = Hour;
    /// Moves by whole hours (saturating at the ends of `i64`).
    fn add(self, hours: i64) -> Hour {
        Hour(self.0.saturating_add(hours))
    }
}

impl Sub<i64> for Hour {
    type Output = Hour;
    /// Moves back by whole hours (saturating at the ends of `i64`).
    fn sub(self, hours: i64) -> Hour {
        Hour(self.0.saturating_sub(hours))
    }
}

impl Sub<Hour> for Hour {
    type Output = i64;
    /// Hours from `earlier` to `self`.
    fn sub(self, earlier: Hour) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:02}:00", self.day(), self.hour_of_day())
    }
}

/// A frequency cap: at most `max_messages` per `window_hours`, on one channel or all.
///
/// Its settings are checked where it is made: a cap of 0 messages (it would cap everyone),
/// a window longer than any send log keeps, or an empty channel name are refused with
/// [`ErrorKind::InvalidSetting`] naming the setter (deserialisation goes through them too).
///
/// ```
/// use audience::campaign::CapRule;
///
/// let rule = CapRule::new(3, 24)?.on_channel("whatsapp")?;
/// assert_eq!((rule.max_messages(), rule.window_hours(), rule.channel()), (3, 24, Some("whatsapp")));
/// assert_eq!(
///     CapRule::new(0, 24).unwrap_err().to_string(),
///     "invalid setting CapRule::new: a cap of 0 messages caps everyone; allow at least 1"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawCapRule"))]
pub struct CapRule {
    max_messages: u32,
    window_hours: u32,
    channel: Option<String>,
}

/// The serialised form of [`CapRule`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RawCapRule {
    max_messages: u32,
    window_hours: u32,
    channel: Option<String>,
}

#[cfg(feature = "serde")]
impl TryFrom<RawCapRule> for CapRule {
    type Error = Error;
    fn try_from(raw: RawCapRule) -> Result<CapRule, Error> {
        let rule = CapRule::new(raw.max_messages, raw.window_hours)?;
        match raw.channel {
            Some(c) => rule.on_channel(c),
            None => Ok(rule),
        }
    }
}

impl CapRule {
    /// The rule WhatsApp and LINE broadcast guides recommend: no more than 5 automated
    /// messages to a customer within 24 hours, all channels together.
    pub fn recommended() -> CapRule {
        CapRule {
            max_messages: 5,
            window_hours: 24,
            channel: None,
        }
    }

    /// At most `max_messages` per `window_hours`, all channels together. Refused for 0
    /// messages, or a window over [`MAX_RETENTION_HOURS`].
    pub fn new(max_messages: u32, window_hours: u32) -> Result<CapRule, Error> {
        let reason = if max_messages == 0 {
            Some("a cap of 0 messages caps everyone; allow at least 1".to_string())
        } else if window_hours > MAX_RETENTION_HOURS {
            Some(format!(
                "a window is at most {MAX_RETENTION_HOURS} hours (what a send log can keep), got {window_hours}"
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => err(ErrorKind::InvalidSetting {
                setting: "CapRule::new",
                reason,
            }),
            None => Ok(CapRule {
                max_messages,
                window_hours,
                channel: None,
            }),
        }
    }

    /// Counts only one channel's sends. Refused for an empty or overlong name.
    pub fn on_channel(mut self, channel: impl Into<String>) -> Result<CapRule, Error> {
        let channel = channel.into();
        check_channel(&channel).map_err(|e| {
            Error::from(ErrorKind::InvalidSetting {
                setting: "CapRule::on_channel",
                reason: e.to_string(),
            })
        })?;
        self.channel = Some(channel);
        Ok(self)
    }

    /// Messages allowed in the window; customers who got this many are capped.
    pub fn max_messages(&self) -> u32 {
        self.max_messages
    }

    /// The window, in hours (see [`SendLog`] for the exact buckets).
    pub fn window_hours(&self) -> u32 {
        self.window_hours
    }

    /// The channel whose sends count; `None` counts every channel.
    pub fn channel(&self) -> Option<&str> {
        self.channel.as_deref()
    }
}

/// One hour of one channel: `layers[j]` = customers who got more than `j` messages.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Bucket {
    pub(crate) hour: Hour,
    /// Index into the log's channels.
    pub(crate) channel: u32,
    pub(crate) layers: Vec<RoaringBitmap>,
}

/// Recent sends, per hour and channel, for frequency caps.
///
/// The app records every automated send ([`SendLog::record`]: the store, an hour, a
/// channel, the customers, checked against the store); the log answers "who received at least k messages in the last 24 hours" as
/// a bitmap ([`SendLog::capped`], [`SendLog::received`]) that a query excludes as a
/// caller-supplied set:
///
/// ```
/// use audience::campaign::{CapRule, Hour, SendLog};
/// use audience::{Context, CustomerKey, Day, Query, RoaringBitmap, Store};
///
/// let mut store = Store::new();
/// let ids = store.ensure_customers((1..=3u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))?;
/// let everyone: RoaringBitmap = ids.iter().copied().collect();
///
/// let today = Day::from_ymd(2025, 1, 7)?;
/// let mut log = SendLog::new();
/// // Customer 0 got five automated messages yesterday evening and this morning.
/// let first: RoaringBitmap = [ids[0]].into_iter().collect();
/// for h in [20, 21, 22] {
///     log.record(&store, Hour::new(today - 1, h)?, "whatsapp", &first)?;
/// }
/// log.record(&store, Hour::new(today, 8)?, "whatsapp", &first)?;
/// log.record(&store, Hour::new(today, 9)?, "line", &first)?;
///
/// let now = Hour::new(today, 10)?;
/// let capped = log.capped(now, &CapRule::recommended())?; // at most 5 per 24 hours
/// assert_eq!(capped.iter().collect::<Vec<_>>(), vec![ids[0]]);
///
/// let ctx = Context::new(today).with_set("capped", &capped);
/// let q = Query::parse("ALL EXCLUDE @capped")?;
/// assert_eq!(store.plan(&q, &ctx)?.count(), 2);
/// # Ok::<(), audience::Error>(())
/// ```
///
/// # Representation and bounds
///
/// One bucket per (hour, channel) holds a "thermometer" of bitmaps: layer `j` is the
/// customers who got more than `j` messages in that hour on that channel, so repeated sends
/// within an hour are counted (up to [`MAX_PER_HOUR`] per customer, channel and hour; more
/// count as that many). Buckets older than the retention ([`DEFAULT_RETENTION_HOURS`]
/// unless set) behind the newest recorded hour are dropped as sends are recorded, so memory
/// stays bounded by `(retention + 1) x channels x layers` bitmaps.
///
/// Counting "at least k in the window" adds the window's layers into a bit-sliced counter
/// (one bitmap per bit of the count, ripple-carry additions with AND/XOR) and compares it
/// with k slice by slice: O(layers x log(max count)) bitmap operations, no per-customer
/// loop.
///
/// # What "the last 24 hours" means with hour buckets
///
/// A window of `w` hours at hour `now` counts the buckets `now - w ..= now`: the current
/// hour and the `w` before it. A send recorded in hour `now - w` happened between `w` and
/// `w + 1` hours before the end of the current hour, so it may be less than `w` hours old
/// and is counted; a send in an earlier bucket is certainly older and is not. The cap errs
/// on the safe side by at most one hour: checked before every send, it never lets a
/// customer receive more than the allowed number of messages within any `w` hours.
///
/// # Serde and snapshots
///
/// A send log is serde data, so an app can keep it with its store, or write it into the
/// store's snapshot ([`snapshot::write_with`](crate::snapshot::write_with)).
/// Loading validates it, the same way on both paths:
/// the retention is in range, channel names are valid and distinct, buckets are sorted by
/// (hour, channel) and name known channels, each holds 1 to [`MAX_PER_HOUR`] nested layers,
/// and every bucket lies between the log's oldest kept hour and its newest hour.
/// Deserialisation does not know the store, so it cannot check customer ids as
/// [`SendLog::record`] does; a snapshot checks them against the store it holds, when it
/// is written and when it is read (a log read through serde, or recorded against another
/// store, with ids the store never handed out is refused there).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "SendLogData", into = "SendLogData")
)]
pub struct SendLog {
    retention_hours: u32,
    channels: Vec<String>,
    /// Sorted by (hour, channel), unique.
    buckets: Vec<Bucket>,
    newest: Option<Hour>,
    /// Buckets before this hour may have been dropped.
    horizon: Option<Hour>,
}

impl Default for SendLog {
    fn default() -> SendLog {
        SendLog::new()
    }
}

impl SendLog {
    /// An empty log keeping [`DEFAULT_RETENTION_HOURS`].
    pub fn new() -> SendLog {
        SendLog {
            retention_hours: DEFAULT_RETENTION_HOURS,
            channels: Vec::new(),
            buckets: Vec::new(),
            newest: None,
            horizon: None,
        }
    }

    /// An empty log keeping sends for `hours` behind the newest recorded hour (1 to
    /// [`MAX_RETENTION_HOURS`]); windows may be at most that long.
    pub fn with_retention(hours: u32) -> Result<SendLog, Error> {
        if hours == 0 || hours > MAX_RETENTION_HOURS {
            return err(ErrorKind::InvalidSetting {
                setting: "SendLog::with_retention",
                reason: format!("a send log keeps 1 to {MAX_RETENTION_HOURS} hours, got {hours}"),
            });
        }
        Ok(SendLog {
            retention_hours: hours,
            ..SendLog::new()
        })
    }

    /// How many hours behind the newest recorded hour are kept.
    pub fn retention_hours(&self) -> u32 {
        self.retention_hours
    }

    /// The channels seen so far, in order of first use.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// The newest hour recorded.
    pub fn newest(&self) -> Option<Hour> {
        self.newest
    }

    /// The number of (hour, channel) buckets held: bounded by `(retention + 1) x channels`.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// The buckets, sorted by (hour, channel), for snapshots.
    pub(crate) fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// The hour before which buckets may have been dropped, for snapshots.
    pub(crate) fn horizon(&self) -> Option<Hour> {
        self.horizon
    }

    /// Records that every customer of `customers`, customers of `store`, got one message
    /// on `channel` in `hour`. Sends older than the retention behind the newest recorded
    /// hour can no longer count in any window and are dropped; recording a newer hour drops
    /// the buckets that fall out of the retention.
    ///
    /// The ids are checked against `store` as they are recorded:
    ///
    /// - An id the store never handed out (a made-up id, or one of another store) is
    ///   refused with [`ErrorKind::CustomerIdNeverIssued`] naming the smallest such id and
    ///   how many ids the store has issued; nothing is recorded then.
    /// - Ids of customers erased from the store ("forget me") are left out: the log never
    ///   takes an erased customer's id back in, and ids are never reused, so no future
    ///   audience can hold them and leaving them out changes no cap. A send planned before
    ///   an erasure and recorded after it records the others.
    ///
    /// Errors with [`ErrorKind::InvalidName`] for an empty or over-long channel name and
    /// [`ErrorKind::LimitExceeded`] beyond [`MAX_CHANNELS`]; nothing changes then.
    ///
    /// ```
    /// use audience::campaign::{Hour, SendLog};
    /// use audience::{CustomerKey, Day, ErrorKind, RoaringBitmap, Store};
    ///
    /// let mut store = Store::new();
    /// let ids = store.ensure_customers((1..=3u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))?;
    /// let nine = Hour::new(Day::from_ymd(2025, 1, 7)?, 9)?;
    /// let mut log = SendLog::new();
    ///
    /// // Ids 7 and 8 were never handed out: refused, nothing recorded.
    /// let e = log.record(&store, nine, "whatsapp", &RoaringBitmap::from([0, 7, 8])).unwrap_err();
    /// assert_eq!(e.kind(), &ErrorKind::CustomerIdNeverIssued { id: 7, issued: 3 });
    /// assert_eq!(e.to_string(), "customer id 7 was never issued: the store has issued 3 ids (0 to 2)");
    /// assert_eq!(log.bucket_count(), 0);
    ///
    /// // An erased customer is left out; the others are recorded.
    /// store.erase_customer(ids[1])?;
    /// log.record(&store, nine, "whatsapp", &ids.iter().copied().collect())?;
    /// assert_eq!(log.received(nine, 0, None, 1)?, RoaringBitmap::from([ids[0], ids[2]]));
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn record(
        &mut self,
        store: &Store,
        hour: Hour,
        channel: &str,
        customers: &RoaringBitmap,
    ) -> Result<(), Error> {
        let issued = store.id_space();
        if let Some(id) = first_at_or_above(customers, issued) {
            return err(ErrorKind::CustomerIdNeverIssued { id, issued });
        }
        let ch = match self.channel_index(channel) {
            Some(ch) => ch,
            None => {
                check_channel(channel)?;
                if self.channels.len() >= MAX_CHANNELS {
                    return err(ErrorKind::LimitExceeded {
                        what: "number of channels",
                        limit: MAX_CHANNELS as u64,
                        actual: self.channels.len() as u64 + 1,
                    });
                }
                self.channels.push(channel.trim().to_string());
                (self.channels.len() - 1) as u32
            }
        };
        if customers.is_empty() || self.horizon.is_some_and(|h| hour < h) {
            return Ok(());
        }
        let newest = self.newest.map_or(hour, |n| n.max(hour));
        if hour < newest - i64::from(self.retention_hours) {
            return Ok(());
        }
        // Only now, for a send the log keeps: erased customers are left out.
        let live = customers & store.customers();
        if live.is_empty() {
            return Ok(());
        }
        let at = self
            .buckets
            .partition_point(|b| (b.hour, b.channel) < (hour, ch));
        let bucket = match self.buckets.get_mut(at) {
            Some(b) if b.hour == hour && b.channel == ch => b,
            _ => {
                self.buckets.insert(
                    at,
                    Bucket {
                        hour,
                        channel: ch,
                        layers: Vec::new(),
                    },
                );
                match self.buckets.get_mut(at) {
                    Some(b) => b,
                    None => return Ok(()),
                }
            }
        };
        // Thermometer increment: layer j gains those already in layer j - 1.
        let mut carry = live;
        for layer in &mut bucket.layers {
            let next = &*layer & &carry;
            *layer |= &carry;
            carry = next;
            if carry.is_empty() {
                break;
            }
        }
        if !carry.is_empty() && bucket.layers.len() < MAX_PER_HOUR {
            bucket.layers.push(carry);
        }
        self.newest = Some(newest);
        self.prune(newest);
        Ok(())
    }

    /// Drops the buckets older than the retention behind `now`. Recording does this by
    /// itself; call it when no sends were recorded for a while and memory matters.
    pub fn prune(&mut self, now: Hour) {
        let horizon = now - i64::from(self.retention_hours);
        if self.horizon.is_some_and(|h| h >= horizon) {
            return;
        }
        self.horizon = Some(horizon);
        let keep_from = self.buckets.partition_point(|b| b.hour < horizon);
        self.buckets.drain(..keep_from);
    }

    /// Removes customers from every bucket ("forget me"; ids are never reused, so this is
    /// for privacy, not correctness).
    pub fn erase(&mut self, customers: &RoaringBitmap) {
        for b in &mut self.buckets {
            for l in &mut b.layers {
                *l -= customers;
            }
            b.layers.retain(|l| !l.is_empty());
        }
        self.buckets.retain(|b| !b.layers.is_empty());
    }

    /// Customers who received at least `at_least` messages in the window of `window_hours`
    /// at `now` (the buckets `now - window_hours ..= now`), on `channel` or on every
    /// channel. A channel never recorded has no sends.
    ///
    /// Errors with [`ErrorKind::InvalidArgument`] when `at_least` is 0, the window is longer
    /// than the retention, or it reaches back before the oldest hour the log still holds.
    pub fn received(
        &self,
        now: Hour,
        window_hours: u32,
        channel: Option<&str>,
        at_least: u32,
    ) -> Result<RoaringBitmap, Error> {
        if at_least == 0 {
            return err(ErrorKind::InvalidArgument(
                "\"received at least 0 messages\" is everyone; ask for at least 1".into(),
            ));
        }
        if window_hours > self.retention_hours {
            return err(ErrorKind::InvalidArgument(format!(
                "a window of {} is longer than the send log keeps ({})",
                counted(u64::from(window_hours), "hour", "hours"),
                counted(u64::from(self.retention_hours), "hour", "hours")
            )));
        }
        let start = now - i64::from(window_hours);
        if let Some(h) = self.horizon
            && start < h
        {
            return err(ErrorKind::InvalidArgument(format!(
                "the window from {start} reaches back before {h}, the oldest hour the send log still holds"
            )));
        }
        let ch = match channel {
            Some(name) => match self.channel_index(name) {
                Some(ch) => Some(ch),
                None => return Ok(RoaringBitmap::new()),
            },
            None => None,
        };
        let lo = self.buckets.partition_point(|b| b.hour < start);
        let hi = self.buckets.partition_point(|b| b.hour <= now);
        let window = self.buckets.get(lo..hi).unwrap_or(&[]);
        let layers = window
            .iter()
            .filter(|b| ch.is_none_or(|c| b.channel == c))
            .flat_map(|b| b.layers.iter());
        Ok(at_least_k(layers, at_least))
    }

    /// Customers the rule caps at `now`: those who already received `max_messages` in its
    /// window. Exclude them from an audience with `Context::with_set("capped", ...)` and
    /// `... EXCLUDE @capped`.
    pub fn capped(&self, now: Hour, rule: &CapRule) -> Result<RoaringBitmap, Error> {
        self.received(
            now,
            rule.window_hours,
            rule.channel.as_deref(),
            rule.max_messages,
        )
    }

    fn channel_index(&self, name: &str) -> Option<u32> {
        let key = fold(name);
        self.channels
            .iter()
            .position(|c| fold(c) == key)
            .map(|i| i as u32)
    }
}

/// The smallest id of `ids` at or above `issued`, if any.
fn first_at_or_above(ids: &RoaringBitmap, issued: u64) -> Option<u32> {
    ids.range(u32::try_from(issued).ok()?..).next()
}

fn check_channel(name: &str) -> Result<(), Error> {
    let reason = if name.trim().is_empty() {
        Some("a channel name must not be empty".to_string())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(format!("a name has at most {MAX_NAME_CHARS} characters"))
    } else {
        None
    };
    match reason {
        Some(reason) => err(invalid_name(name, reason)),
        None => Ok(()),
    }
}

/// Customers present in at least `k` of the bitmaps: a bit-sliced counter of the
/// multiplicities, compared with `k` slice by slice.
fn at_least_k<'a>(bitmaps: impl Iterator<Item = &'a RoaringBitmap>, k: u32) -> RoaringBitmap {
    let mut slices: Vec<RoaringBitmap> = Vec::new();
    for x in bitmaps {
        add_one(&mut slices, x);
    }
    let k = u64::from(k);
    if slices.len() < 64 && k >> slices.len() != 0 {
        return RoaringBitmap::new();
    }
    let mut eq = slices.iter().union();
    let mut gt = RoaringBitmap::new();
    for (i, s) in slices.iter().enumerate().rev() {
        if (k >> i) & 1 == 1 {
            eq &= s;
        } else {
            gt |= &eq & s;
            eq -= s;
        }
    }
    gt | eq
}

/// Adds 1 to the counter of every customer of `x` (ripple carry over the slices).
fn add_one(slices: &mut Vec<RoaringBitmap>, x: &RoaringBitmap) {
    let mut carry: Option<RoaringBitmap> = None;
    for s in slices.iter_mut() {
        let c = carry.as_ref().unwrap_or(x);
        let next = &*s & c;
        *s ^= c;
        if next.is_empty() {
            return;
        }
        carry = Some(next);
    }
    slices.push(carry.unwrap_or_else(|| x.clone()));
}

/// The serde and snapshot form of a [`SendLog`], validated on the way in (`TryFrom`).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct SendLogData {
    pub(crate) retention_hours: u32,
    pub(crate) channels: Vec<String>,
    pub(crate) buckets: Vec<Bucket>,
    pub(crate) newest: Option<Hour>,
    pub(crate) horizon: Option<Hour>,
}

#[cfg(feature = "serde")]
impl From<SendLog> for SendLogData {
    fn from(l: SendLog) -> SendLogData {
        SendLogData {
            retention_hours: l.retention_hours,
            channels: l.channels,
            buckets: l.buckets,
            newest: l.newest,
            horizon: l.horizon,
        }
    }
}

impl TryFrom<SendLogData> for SendLog {
    type Error = Error;

    fn try_from(d: SendLogData) -> Result<SendLog, Error> {
        let bad = |why: String| -> Result<SendLog, Error> {
            err(ErrorKind::InvalidArgument(format!(
                "invalid send log: {why}"
            )))
        };
        let mut log = SendLog::with_retention(d.retention_hours)?;
        if d.channels.len() > MAX_CHANNELS {
            return bad(format!("{} channels", d.channels.len()));
        }
        for (i, c) in d.channels.iter().enumerate() {
            check_channel(c)?;
            if d.channels.iter().take(i).any(|o| fold(o) == fold(c)) {
                return bad(format!("channel {} twice", quote(c)));
            }
        }
        for (i, b) in d.buckets.iter().enumerate() {
            if b.channel as usize >= d.channels.len() {
                return bad(format!("bucket {i} names channel #{}", b.channel));
            }
            if i > 0
                && let Some(p) = d.buckets.get(i - 1)
                && (p.hour, p.channel) >= (b.hour, b.channel)
            {
                return bad(format!("bucket {i} is out of order"));
            }
            if b.layers.is_empty() || b.layers.len() > MAX_PER_HOUR {
                return bad(format!("bucket {i} has {} layers", b.layers.len()));
            }
            if b.layers.windows(2).any(|w| match w {
                [a, c] => !c.is_subset(a),
                _ => false,
            }) {
                return bad(format!("bucket {i} has layers that do not nest"));
            }
            if d.newest.is_none_or(|n| b.hour > n) || d.horizon.is_some_and(|h| b.hour < h) {
                return bad(format!("bucket {i} lies outside the log's hours"));
            }
        }
        log.channels = d.channels;
        log.buckets = d.buckets;
        log.newest = d.newest;
        log.horizon = d.horizon;
        Ok(log)
    }
}
