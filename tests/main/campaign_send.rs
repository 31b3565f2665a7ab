//! Frequency caps, send plans and results: the broadcast guides' rules and numbers literally, caps
//! across day boundaries, a property test of the cap set against naive counting, and the
//! error texts.

use std::collections::BTreeMap;

use audience::campaign::{
    self, Arm, CapRule, Comparison, DeliveryHealth, Funnel, Hour, Metric, ReadHealth, ReplyHealth,
    Responses, SendLog, SendPlan, Size, SplitSpec, Thresholds,
};
use audience::{Context, CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec};
use proptest::prelude::*;

use crate::support::{bits, ids, store_of, ymd};

fn h(day: Day, hour: u32) -> Hour {
    Hour::new(day, hour).unwrap()
}

// ---------------------------------------------------------------------------------------
// Hours
// ---------------------------------------------------------------------------------------

#[test]
fn hours_cross_days_months_and_years() {
    let eve = h(ymd(2024, 12, 31), 23);
    assert_eq!(eve.to_string(), "2024-12-31 23:00");
    assert_eq!((eve + 1).to_string(), "2025-01-01 00:00");
    assert_eq!((eve + 1).day(), ymd(2025, 1, 1));
    assert_eq!((eve + 1).hour_of_day(), 0);
    assert_eq!(Hour::start_of(ymd(2024, 3, 1)) - 1, h(ymd(2024, 2, 29), 23));
    assert_eq!(h(ymd(1969, 12, 31), 5).to_string(), "1969-12-31 05:00");
    assert_eq!(h(ymd(1969, 12, 31), 5).0, -19);
    assert_eq!(h(ymd(2025, 1, 2), 0) - h(ymd(2025, 1, 1), 0), 24);
    assert_eq!(
        Hour::new(ymd(2025, 1, 1), 24).unwrap_err().to_string(),
        "invalid argument: an hour of the day is 0 to 23, got 24"
    );
}

// ---------------------------------------------------------------------------------------
// Caps
// ---------------------------------------------------------------------------------------

#[test]
fn seeds_cap_of_five_across_a_day_boundary() {
    let store = store_of(3);
    let (mon, tue) = (ymd(2025, 1, 6), ymd(2025, 1, 7));
    let mut log = SendLog::new();
    let c = bits([1]);
    // Three messages on Monday evening, two after midnight.
    log.record(&store, h(mon, 22), "whatsapp", &c).unwrap();
    log.record(&store, h(mon, 22), "whatsapp", &c).unwrap();
    log.record(&store, h(mon, 23), "line", &c).unwrap();
    log.record(&store, h(tue, 1), "whatsapp", &c).unwrap();
    log.record(&store, h(tue, 1), "sms", &c).unwrap();
    // Customer 2 got four.
    for hour in [20, 21, 22, 23] {
        log.record(&store, h(mon, hour), "whatsapp", &bits([2]))
            .unwrap();
    }
    let rule = CapRule::recommended();
    assert_eq!((rule.max_messages(), rule.window_hours()), (5, 24));
    let capped = |now| ids(&log.capped(now, &rule).unwrap());
    assert_eq!(capped(h(tue, 1)), vec![1]);
    assert_eq!(capped(h(tue, 5)), vec![1]);
    // At Tuesday 22:00 Monday 22:00 is 24 hours back: may be less than 24 hours old, counts.
    assert_eq!(capped(h(tue, 22)), vec![1]);
    // At 23:00 the two sends of Monday 22:00 are certainly over 24 hours old.
    assert_eq!(capped(h(tue, 23)), Vec::<u32>::new());
    // Before the sends happened, nobody is capped; the fifth send is at Tuesday 01:00.
    assert_eq!(capped(h(mon, 21)), Vec::<u32>::new());
    assert_eq!(capped(h(tue, 0)), Vec::<u32>::new());
    // Counts, seen from Tuesday 02:00.
    let now = h(tue, 2);
    let at_least = |k| ids(&log.received(now, 24, None, k).unwrap());
    assert_eq!(at_least(1), vec![1, 2]);
    assert_eq!(at_least(4), vec![1, 2]);
    assert_eq!(at_least(5), vec![1]);
    assert_eq!(at_least(6), Vec::<u32>::new());
    // Per channel.
    assert_eq!(
        ids(&log.received(now, 24, Some("WhatsApp"), 3).unwrap()),
        vec![1, 2]
    );
    assert_eq!(
        ids(&log.received(now, 24, Some("whatsapp"), 4).unwrap()),
        vec![2]
    );
    assert_eq!(
        ids(&log.received(now, 24, Some("line"), 1).unwrap()),
        vec![1]
    );
    assert!(log.received(now, 24, Some("email"), 1).unwrap().is_empty());
    let per_channel = CapRule::new(3, 24).unwrap().on_channel("whatsapp").unwrap();
    assert_eq!(ids(&log.capped(now, &per_channel).unwrap()), vec![1, 2]);
    // A shorter window: the last 3 hours from Tuesday 01:00 are Monday 22:00 to 01:00.
    assert_eq!(ids(&log.received(h(tue, 1), 3, None, 5).unwrap()), vec![1]);
    assert_eq!(
        ids(&log.received(h(tue, 1), 2, None, 5).unwrap()),
        Vec::<u32>::new()
    );
    assert_eq!(log.channels(), ["whatsapp", "line", "sms"]);
}

#[test]
fn capped_set_excludes_in_a_query() {
    let today = ymd(2025, 1, 7);
    let mut store = Store::new();
    let ids_ = store
        .ensure_customers((0..10u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))
        .unwrap();
    let vip = store
        .create_tag(&Edit::new("admin", today), TagSpec::new("vip"))
        .unwrap();
    store
        .add_tag_bulk(vip, &ids_.iter().copied().collect(), today)
        .unwrap();
    let mut log = SendLog::new();
    let busy = bits([ids_[1], ids_[4], ids_[7]]);
    for hour in 6..11 {
        log.record(&store, h(today, hour), "whatsapp", &busy)
            .unwrap();
    }
    // An erased customer's sends are left out of the log.
    store.erase_customer(ids_[2]).unwrap();
    log.record(&store, h(today, 9), "whatsapp", &bits([ids_[2]]))
        .unwrap();
    let capped = log.capped(h(today, 11), &CapRule::recommended()).unwrap();
    assert_eq!(capped, busy);
    let ctx = Context::new(today).with_set("capped", &capped);
    let q = Query::parse("vip EXCLUDE @capped").unwrap();
    let p = campaign::preview(&store, &q, &ctx).unwrap();
    assert_eq!(p.size, 6);
    assert!(p.audience.is_disjoint(&busy));
}

#[test]
fn several_sends_in_one_hour_all_count() {
    let store = store_of(8);
    let day = ymd(2025, 2, 1);
    let mut log = SendLog::new();
    for _ in 0..5 {
        log.record(&store, h(day, 9), "whatsapp", &bits([1, 2]))
            .unwrap();
    }
    log.record(&store, h(day, 9), "whatsapp", &bits([3]))
        .unwrap();
    assert_eq!(
        ids(&log.capped(h(day, 9), &CapRule::recommended()).unwrap()),
        vec![1, 2]
    );
    // Counts saturate at MAX_PER_HOUR per hour and channel.
    for _ in 0..40 {
        log.record(&store, h(day, 10), "whatsapp", &bits([7]))
            .unwrap();
    }
    let max = campaign::MAX_PER_HOUR as u32;
    assert_eq!(
        ids(&log.received(h(day, 10), 1, None, max).unwrap()),
        vec![7]
    );
    assert!(
        log.received(h(day, 10), 0, None, max + 1)
            .unwrap()
            .is_empty()
    );
    // But two hours add up beyond it.
    for _ in 0..3 {
        log.record(&store, h(day, 11), "whatsapp", &bits([7]))
            .unwrap();
    }
    assert_eq!(
        ids(&log.received(h(day, 11), 2, None, max + 3).unwrap()),
        vec![7]
    );
}

#[test]
fn old_sends_age_out_and_memory_stays_bounded() {
    let store = store_of(2001);
    let start = ymd(2025, 1, 1);
    let mut log = SendLog::with_retention(48).unwrap();
    assert_eq!(log.retention_hours(), 48);
    let everyone: RoaringBitmap = (0..1000).collect();
    // Thirty days of hourly sends on two channels.
    let mut now = Hour::start_of(start);
    for _ in 0..30 * 24 {
        log.record(&store, now, "whatsapp", &everyone).unwrap();
        log.record(&store, now, "line", &bits([5])).unwrap();
        assert!(log.bucket_count() <= 2 * 49, "{}", log.bucket_count());
        now = now + 1;
    }
    let last = now - 1;
    assert_eq!(log.newest(), Some(last));
    assert_eq!(log.bucket_count(), 2 * 49);
    // 24-hour window: 25 hourly buckets.
    assert_eq!(log.received(last, 24, None, 25).unwrap().len(), 1000);
    assert!(
        log.received(last, 24, Some("whatsapp"), 26)
            .unwrap()
            .is_empty()
    );
    assert_eq!(ids(&log.received(last, 24, None, 50).unwrap()), vec![5]);
    // A send older than the retention is dropped; it could not count in any window.
    log.record(&store, last - 100, "whatsapp", &bits([2000]))
        .unwrap();
    assert!(log.received(last, 48, None, 1).unwrap().contains(0));
    assert!(!log.received(last, 48, None, 1).unwrap().contains(2000));
    // Windows beyond what is kept are refused.
    assert_eq!(
        log.received(last, 49, None, 1).unwrap_err().to_string(),
        "invalid argument: a window of 49 hours is longer than the send log keeps (48 hours)"
    );
    assert_eq!(
        log.received(last - 1, 48, None, 1).unwrap_err().to_string(),
        "invalid argument: the window from 2025-01-28 22:00 reaches back before 2025-01-28 23:00, the oldest hour the send log still holds"
    );
    // Prune without recording: a quiet week empties the log.
    log.prune(last + 24 * 7);
    assert_eq!(log.bucket_count(), 0);
    assert!(log.received(last + 24 * 7, 24, None, 1).unwrap().is_empty());
}

#[test]
fn erasing_customers_removes_their_sends() {
    let store = store_of(3);
    let day = ymd(2025, 3, 3);
    let mut log = SendLog::new();
    for hour in 0..6 {
        log.record(&store, h(day, hour), "whatsapp", &bits([1, 2]))
            .unwrap();
    }
    log.record(&store, h(day, 7), "line", &bits([1])).unwrap();
    log.erase(&bits([1]));
    assert_eq!(
        ids(&log.capped(h(day, 8), &CapRule::recommended()).unwrap()),
        vec![2]
    );
    assert_eq!(log.bucket_count(), 6);
}

#[test]
fn recording_checks_ids_against_the_store() {
    let day = ymd(2025, 3, 3);
    let mut store = store_of(5);
    let mut log = SendLog::new();
    log.record(&store, h(day, 8), "whatsapp", &bits([0, 4]))
        .unwrap();
    let before = log.clone();
    // Ids the store never handed out: refused, the smallest named, nothing recorded (not
    // even the new channel).
    let e = log
        .record(&store, h(day, 9), "line", &bits([1, 9, 5, 70]))
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &audience::ErrorKind::CustomerIdNeverIssued { id: 5, issued: 5 }
    );
    assert_eq!(
        e.to_string(),
        "customer id 5 was never issued: the store has issued 5 ids (0 to 4)"
    );
    assert!(e.is_unknown_name());
    assert_eq!(log, before);
    assert_eq!(log.channels(), ["whatsapp"]);
    assert_eq!(
        log.record(&Store::new(), h(day, 9), "line", &bits([0]))
            .unwrap_err()
            .to_string(),
        "customer id 0 was never issued: the store has issued no ids yet"
    );
    assert_eq!(
        log.record(&store_of(1), h(day, 9), "line", &bits([3, 1]))
            .unwrap_err()
            .to_string(),
        "customer id 1 was never issued: the store has issued 1 id (0)"
    );
    assert_eq!(
        log.record(&store_of(2_336), h(day, 9), "line", &bits([u32::MAX]))
            .unwrap_err()
            .to_string(),
        "customer id 4294967295 was never issued: the store has issued 2,336 ids (0 to 2335)"
    );
    assert_eq!(log, before);
    // Erased customers keep their ids (never reused) but are left out of the log: the
    // others of the send are recorded.
    store.erase_customer(1).unwrap();
    store.erase_customer(4).unwrap();
    log.record(&store, h(day, 9), "line", &bits([0, 1, 2, 4]))
        .unwrap();
    assert_eq!(
        ids(&log.received(h(day, 9), 0, None, 1).unwrap()),
        vec![0, 2]
    );
    assert_eq!(ids(&log.received(h(day, 9), 1, None, 2).unwrap()), vec![0]);
    // A send of erased customers only records nothing but knows the channel.
    log.record(&store, h(day, 10), "sms", &bits([1, 4]))
        .unwrap();
    assert_eq!(log.channels(), ["whatsapp", "line", "sms"]);
    assert_eq!(log.bucket_count(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Recording against a store is recording the live part of the ids when every id was
    /// issued, and an error naming the smallest unissued id otherwise (the log unchanged).
    #[test]
    fn record_checks_ids_like_a_model(
        issued in 0u64..40,
        erased in prop::collection::btree_set(0u32..40, 0..10),
        sends in prop::collection::vec(prop::collection::btree_set(0u32..48, 0..8), 1..8),
    ) {
        let mut store = store_of(issued);
        for id in erased.iter().filter(|&&id| u64::from(id) < issued) {
            store.erase_customer(*id).unwrap();
        }
        let day = ymd(2025, 3, 3);
        let mut log = SendLog::new();
        let mut model: BTreeMap<u32, u32> = BTreeMap::new();
        for (i, send) in sends.iter().enumerate() {
            let before = log.clone();
            let got = log.record(&store, h(day, i as u32), "whatsapp", &send.iter().copied().collect());
            match send.iter().find(|&&id| u64::from(id) >= issued) {
                Some(&first) => {
                    let e = got.unwrap_err();
                    prop_assert_eq!(e.kind(), &audience::ErrorKind::CustomerIdNeverIssued { id: first, issued });
                    prop_assert_eq!(&log, &before);
                }
                None => {
                    got.unwrap();
                    for id in send.iter().filter(|&&id| !erased.contains(&id)) {
                        *model.entry(*id).or_default() += 1;
                    }
                }
            }
        }
        let now = h(day, sends.len() as u32);
        for k in 1..=sends.len() as u32 {
            let want: RoaringBitmap = model.iter().filter(|(_, n)| **n >= k).map(|(id, _)| *id).collect();
            prop_assert_eq!(log.received(now, 24, None, k).unwrap(), want);
        }
    }
}

#[test]
fn cap_errors_say_what_is_wrong() {
    let store = store_of(2);
    let mut log = SendLog::new();
    let now = h(ymd(2025, 1, 1), 0);
    assert_eq!(
        log.record(&store, now, "  ", &bits([1]))
            .unwrap_err()
            .to_string(),
        "invalid name \"  \": a channel name must not be empty"
    );
    for i in 0..campaign::MAX_CHANNELS {
        log.record(&store, now, &format!("channel {i}"), &bits([1]))
            .unwrap();
    }
    let before = log.clone();
    assert_eq!(
        log.record(&store, now, "one too many", &bits([1]))
            .unwrap_err()
            .to_string(),
        "number of channels exceeds the limit of 64 (got 65)"
    );
    assert_eq!(log, before);
    assert_eq!(
        log.received(now, 24, None, 0).unwrap_err().to_string(),
        "invalid argument: \"received at least 0 messages\" is everyone; ask for at least 1"
    );
    // A cap rule is checked where it is made.
    assert_eq!(
        CapRule::new(0, 24).unwrap_err().to_string(),
        "invalid setting CapRule::new: a cap of 0 messages caps everyone; allow at least 1"
    );
    assert_eq!(
        CapRule::new(1, campaign::MAX_RETENTION_HOURS + 1)
            .unwrap_err()
            .to_string(),
        "invalid setting CapRule::new: a window is at most 8784 hours (what a send log can keep), got 8785"
    );
    assert_eq!(
        CapRule::recommended()
            .on_channel(" ")
            .unwrap_err()
            .to_string(),
        "invalid setting CapRule::on_channel: invalid name \" \": a channel name must not be empty"
    );
    // Nouns in the right number.
    let mut hourly = SendLog::with_retention(1).unwrap();
    hourly.record(&store, now, "sms", &bits([1])).unwrap();
    assert_eq!(
        hourly.received(now, 2, None, 1).unwrap_err().to_string(),
        "invalid argument: a window of 2 hours is longer than the send log keeps (1 hour)"
    );
    for bad in [0, campaign::MAX_RETENTION_HOURS + 1] {
        assert_eq!(
            SendLog::with_retention(bad).unwrap_err().to_string(),
            format!(
                "invalid setting SendLog::with_retention: a send log keeps 1 to 8784 hours, got {bad}"
            )
        );
    }
}

#[cfg(feature = "serde")]
#[test]
fn send_log_round_trips_through_serde_and_rejects_bad_data() {
    let store = store_of(4);
    let day = ymd(2025, 1, 7);
    let mut log = SendLog::new();
    log.record(&store, h(day, 9), "whatsapp", &bits([1, 2, 3]))
        .unwrap();
    log.record(&store, h(day, 9), "whatsapp", &bits([2]))
        .unwrap();
    log.record(&store, h(day, 10), "line", &bits([3])).unwrap();
    let json = serde_json::to_string(&log).unwrap();
    let back: SendLog = serde_json::from_str(&json).unwrap();
    assert_eq!(back, log);
    assert_eq!(
        back.received(h(day, 10), 24, None, 2).unwrap(),
        log.received(h(day, 10), 24, None, 2).unwrap()
    );
    // Tampered forms are refused, not trusted.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["buckets"][0]["channel"] = serde_json::json!(7);
    let e = serde_json::from_value::<SendLog>(v)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("invalid send log: bucket 0 names channel #7"),
        "{e}"
    );
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let b0 = v["buckets"][0].clone();
    v["buckets"][0] = v["buckets"][1].clone();
    v["buckets"][1] = b0;
    let e = serde_json::from_value::<SendLog>(v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bucket 1 is out of order"), "{e}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let layers = v["buckets"][0]["layers"].clone();
    v["buckets"][0]["layers"] = serde_json::json!([layers[1], layers[0]]);
    let e = serde_json::from_value::<SendLog>(v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("layers that do not nest"), "{e}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["newest"] = serde_json::json!(0);
    let e = serde_json::from_value::<SendLog>(v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside the log's hours"), "{e}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["retention_hours"] = serde_json::json!(0);
    assert!(serde_json::from_value::<SendLog>(v).is_err());
}

/// A send: (hour offset, channel, customers).
type Send = (i64, usize, Vec<u32>);

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The cap set equals naive counting of every recorded send.
    #[test]
    fn received_matches_naive_counting(
        sends in prop::collection::vec((0i64..72, 0usize..3, prop::collection::vec(0u32..40, 0..12)).prop_map(|s: Send| s), 0..60),
        queries in prop::collection::vec((0i64..90, 0u32..30, prop::option::of(0usize..3), 1u32..8), 1..10),
    ) {
        const CHANNELS: [&str; 3] = ["whatsapp", "line", "sms"];
        let base = Hour::start_of(ymd(2025, 1, 1)) - 12; // crosses midnight and two days
        let store = store_of(40);
        let mut log = SendLog::new();
        for (off, ch, cs) in &sends {
            log.record(&store, base + *off, CHANNELS[*ch], &cs.iter().copied().collect()).unwrap();
        }
        for (now_off, window, ch, k) in queries {
            let now = base + now_off;
            let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
            for (off, c, cs) in &sends {
                let hour = base + *off;
                let in_window = hour <= now && hour >= now - i64::from(window);
                if in_window && ch.is_none_or(|x| x == *c) {
                    // A customer listed twice in one send gets one message.
                    let mut cs = cs.clone();
                    cs.sort_unstable();
                    cs.dedup();
                    for id in cs {
                        *counts.entry(id).or_default() += 1;
                    }
                }
            }
            let want: RoaringBitmap = counts.iter().filter(|(_, n)| **n >= k).map(|(id, _)| *id).collect();
            let got = log.received(now, window, ch.map(|c| CHANNELS[c]), k).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Send plans
// ---------------------------------------------------------------------------------------

#[test]
fn seeds_rate_limit_5000_take_25_to_30_minutes() {
    let audience: RoaringBitmap = (0..5_000).map(|i| i * 3 + 7).collect();
    for (rate, batches, secs) in [(150, 34, 2_000), (180, 28, 1_667), (200, 25, 1_500)] {
        let plan = SendPlan::new(&audience, rate).unwrap();
        assert_eq!(plan.total, 5_000);
        assert_eq!(plan.batches.len(), batches, "{rate}");
        assert_eq!(plan.duration().as_secs(), secs, "{rate}");
        // Batches cover the audience, in order, without overlap, each due a minute apart.
        let mut all = RoaringBitmap::new();
        let mut prev_last = None;
        for (i, b) in plan.batches.iter().enumerate() {
            assert!(prev_last.is_none_or(|p| p < b.first));
            prev_last = Some(b.last);
            let members = b.members(&audience);
            assert_eq!(members.len(), b.len);
            assert_eq!(members.min(), Some(b.first));
            assert_eq!(members.max(), Some(b.last));
            assert_eq!(b.offset.as_secs(), 60 * i as u64);
            all |= members.into_bitmap();
        }
        assert_eq!(all, audience);
    }
    assert_eq!(
        SendPlan::new(&audience, 180).unwrap().to_string(),
        "5000 messages in 28 batches of up to 180 at 180 a minute: about 28 minutes"
    );
    assert_eq!(
        SendPlan::new(&audience, 200).unwrap().to_string(),
        "5000 messages in 25 batches of up to 200 at 200 a minute: about 25 minutes"
    );
}

#[test]
fn smaller_batches_spread_over_the_minute() {
    let audience: RoaringBitmap = (0..1_000).collect();
    let plan = SendPlan::with_batch_size(&audience, 180, 30).unwrap();
    assert_eq!(plan.batches.len(), 34);
    assert_eq!(plan.batches[1].offset.as_millis(), 10_000);
    assert_eq!(plan.batches[33].len, 10);
    assert_eq!(plan.batches[33].offset.as_millis(), 330_000);
    let empty = SendPlan::new(&RoaringBitmap::new(), 180).unwrap();
    assert!(empty.batches.is_empty());
    assert_eq!(empty.duration().as_secs(), 0);
    assert_eq!(
        empty.to_string(),
        "0 messages in 0 batches of up to 180 at 180 a minute: about 0 minutes"
    );
    assert_eq!(
        SendPlan::new(&audience, 0).unwrap_err().to_string(),
        "invalid setting SendPlan::new: a send plan needs a positive rate and batch size, got 0 a minute in batches of 0"
    );
    assert_eq!(
        SendPlan::with_batch_size(&audience, 10, 0)
            .unwrap_err()
            .to_string(),
        "invalid setting SendPlan::with_batch_size: a send plan needs a positive rate and batch size, got 10 a minute in batches of 0"
    );
    #[cfg(feature = "serde")]
    {
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(serde_json::from_str::<SendPlan>(&json).unwrap(), plan);
    }
}

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

fn funnel(sent: u64, delivered: u64, read: u64, replied: u64) -> Funnel {
    Funnel {
        sent,
        delivered,
        read,
        replied,
    }
}

#[test]
fn seeds_thresholds_literally() {
    let delivery = |delivered| funnel(1000, delivered, 0, 0).assess().delivery;
    assert_eq!(delivery(1000), Some(DeliveryHealth::Good));
    assert_eq!(delivery(980), Some(DeliveryHealth::Good));
    assert_eq!(delivery(979), Some(DeliveryHealth::Fair));
    assert_eq!(delivery(950), Some(DeliveryHealth::Fair));
    assert_eq!(delivery(949), Some(DeliveryHealth::PoorList));
    let read = |read| funnel(1000, 1000, read, 0).assess().read;
    assert_eq!(read(599), Some(ReadHealth::CheckSendTime));
    assert_eq!(read(600), Some(ReadHealth::Low));
    assert_eq!(read(699), Some(ReadHealth::Low));
    assert_eq!(read(700), Some(ReadHealth::Normal));
    assert_eq!(read(850), Some(ReadHealth::Normal));
    assert_eq!(read(851), Some(ReadHealth::High));
    let reply = |replied| funnel(1000, 1000, 1000, replied).assess().reply;
    assert_eq!(reply(50), Some(ReplyHealth::Ordinary));
    assert_eq!(reply(51), Some(ReplyHealth::Good));
    let nothing = funnel(0, 0, 0, 0).assess();
    assert_eq!(
        (nothing.delivery, nothing.read, nothing.reply),
        (None, None, None)
    );
    let bad = funnel(1000, 900, 500, 10).assess();
    assert_eq!(
        bad.advice(),
        vec![
            "delivery under 95%: the number list is poor; clean it before the next send",
            "read rate under 60%: check the send time (best 11:00 or 20:00, Tuesday to Thursday)"
        ]
    );
    assert!(funnel(1000, 990, 800, 60).assess().advice().is_empty());
    let strict = Thresholds {
        reply_good: 0.10,
        ..Thresholds::default()
    };
    assert_eq!(
        funnel(100, 100, 100, 6).assess_with(&strict).reply,
        Some(ReplyHealth::Ordinary)
    );
    assert_eq!(
        funnel(1000, 990, 750, 60).to_string(),
        "sent 1000, delivered 990 (99.0%), read 750 (75.8%), replied 60 (6.1%)"
    );
}

#[test]
fn responses_are_tidied() {
    let sent = bits([1, 2, 3, 4, 5]);
    // 9 was never sent; 4 replied without a read receipt; 5 read without a delivery report.
    let r = Responses::new(
        sent,
        &bits([1, 2, 3, 9]),
        &bits([1, 2, 5, 9]),
        &bits([4, 9]),
    );
    assert_eq!(ids(r.delivered()), vec![1, 2, 3, 4, 5]);
    assert_eq!(ids(r.read()), vec![1, 2, 4, 5]);
    assert_eq!(ids(r.replied()), vec![4]);
    assert_eq!(r.funnel(), funnel(5, 5, 4, 1));
    assert_eq!(r.funnel_of(&bits([1, 4, 9])), funnel(2, 2, 2, 1));
    assert_eq!(ids(&r.non_responders()), vec![1, 2, 3, 5]);
}

#[test]
fn ab_winner_only_when_significant() {
    // Group A: ids 0..1000, B: 1000..2000. Everyone delivered.
    let a: RoaringBitmap = (0..1000).collect();
    let b: RoaringBitmap = (1000..2000).collect();
    let sent = &a | &b;
    // Replies: 62 in A, 38 in B (p = 0.0138). Reads: 720 vs 700 (p = 0.32).
    let replied: RoaringBitmap = (0..62).chain(1000..1038).collect();
    let read: RoaringBitmap = (0..720).chain(1000..1700).collect();
    let r = Responses::new(sent.clone(), &sent, &read, &replied);
    let reply = r.compare(&a, &b, Metric::Reply, 0.95).unwrap();
    assert_eq!(reply.winner, Some(Arm::A));
    assert!((reply.test.z - 2.462_348_0).abs() < 1e-7);
    assert!((reply.test.p_value - 0.013_803_1).abs() < 1e-7);
    assert_eq!(
        reply.to_string(),
        "reply rate: A 6.2% vs B 3.8%, difference +2.4 points (95% CI +0.5 to +4.3), z = 2.46, p = 0.0138: A wins"
    );
    // At 99% it is not significant: no winner.
    assert_eq!(r.compare(&a, &b, Metric::Reply, 0.99).unwrap().winner, None);
    let read_cmp = r.compare(&a, &b, Metric::Read, 0.95).unwrap();
    assert_eq!(read_cmp.winner, None);
    assert!(read_cmp.to_string().ends_with("no significant difference"));
    // B wins when the sides are swapped.
    assert_eq!(
        r.compare(&b, &a, Metric::Reply, 0.95).unwrap().winner,
        Some(Arm::B)
    );
    // Per group of a split.
    let store_split = campaign::Split {
        seed: 0,
        holdout: None,
        groups: vec![
            campaign::Group {
                name: "A".into(),
                members: a.clone(),
            },
            campaign::Group {
                name: "B".into(),
                members: b.clone(),
            },
        ],
        unassigned: RoaringBitmap::new(),
        strata: Vec::new(),
    };
    let per = r.by_group(&store_split);
    assert_eq!(per[0], ("A".to_string(), funnel(1000, 1000, 720, 62)));
    assert_eq!(per[1], ("B".to_string(), funnel(1000, 1000, 700, 38)));
    // Nobody delivered in a group: the comparison is refused.
    let none = Responses::new(sent.clone(), &a, &a, &RoaringBitmap::new());
    assert_eq!(
        none.compare(&a, &b, Metric::Reply, 0.95)
            .unwrap_err()
            .to_string(),
        "invalid argument: group B has no trials to compare"
    );
    let direct = Comparison::new(
        Metric::Delivery,
        &funnel(100, 99, 0, 0),
        &funnel(100, 80, 0, 0),
        0.95,
    )
    .unwrap();
    assert_eq!(direct.winner, Some(Arm::A));
    assert!(
        direct.to_string().contains(", p < 0.0001: A wins"),
        "{direct}"
    );
}

#[test]
fn results_by_tag_and_follow_up_after_three_days() {
    let day = ymd(2025, 1, 7);
    let mut store = Store::new();
    let cs = store
        .ensure_customers((0..100u64).map(|i| CustomerKey::Phone(66_800_000_000 + i)))
        .unwrap();
    let e = Edit::new("admin", day);
    let web = store
        .create_tag(&e, TagSpec::new("website").dimension("channel"))
        .unwrap();
    let ig = store
        .create_tag(&e, TagSpec::new("instagram").dimension("channel"))
        .unwrap();
    store.add_tag_bulk(web, &(0..40).collect(), day).unwrap();
    store.add_tag_bulk(ig, &(30..70).collect(), day).unwrap();
    let sent: RoaringBitmap = cs.iter().copied().collect();
    let delivered: RoaringBitmap = (0..98).collect();
    let read: RoaringBitmap = (0..75).collect();
    let replied: RoaringBitmap = (0..100).filter(|i| i % 20 == 0).collect(); // 0, 20, ..., 80
    let r = Responses::new(sent, &delivered, &read, &replied);
    let t = r.by_dimension(&store, "channel").unwrap();
    assert_eq!(t.tags[0].name, "website");
    assert_eq!(t.tags[0].funnel, funnel(40, 40, 40, 2));
    assert_eq!(t.tags[1].funnel, funnel(40, 40, 40, 2));
    // 70..100: 28 delivered, 70..75 read plus 80 who replied (a reply counts as a read).
    assert_eq!(t.none, funnel(30, 28, 6, 1));
    // The second touch: delivered non-responders, due three days after the send.
    let f = r.follow_up(day);
    assert_eq!(f.due, ymd(2025, 1, 10));
    assert!(!f.is_due(ymd(2025, 1, 9)));
    assert!(f.is_due(ymd(2025, 1, 10)));
    assert_eq!(f.customers.len(), 98 - 5);
    assert!(f.customers.is_disjoint(&replied));
    // About 95% of a send does not reply: the broadcast guides' second-touch audience.
    assert_eq!(f.customers.len() * 100 / r.funnel().delivered, 94);
    assert!(r.by_dimension(&store, "nope").is_err());
}

#[test]
fn the_seeds_ab_flow_end_to_end() {
    // Over 2,000: split into two random groups of 1,000, compare after an hour, send the
    // winner to the rest within 24 hours, at most 5 messages a day, second touch after 3.
    let today = ymd(2025, 3, 4);
    let mut store = Store::new();
    let ids_ = store
        .ensure_customers((0..3_500u64).map(|i| CustomerKey::Phone(60_120_000_000 + i)))
        .unwrap();
    let cosmetics = store
        .create_tag(&Edit::new("admin", today), TagSpec::new("cosmetics"))
        .unwrap();
    store
        .add_tag_bulk(cosmetics, &ids_.iter().copied().collect(), today)
        .unwrap();
    let q = Query::parse("cosmetics EXCLUDE @capped").unwrap();
    let mut log = SendLog::new();
    let capped = log.capped(h(today, 10), &CapRule::recommended()).unwrap();
    let ctx = Context::new(today).with_set("capped", &capped);
    let preview = campaign::preview(&store, &q, &ctx).unwrap();
    assert_eq!(preview.guidance, campaign::SizeGuidance::AbTestFirst);
    let audience = campaign::build_audience(&mut store, &q, &ctx).unwrap();
    let spec = SplitSpec::new(4)
        .group("A", Size::Count(1000))
        .unwrap()
        .group("B", Size::Count(1000))
        .unwrap()
        .group("rest", Size::REST)
        .unwrap();
    let s = campaign::split(&store, &audience, &spec).unwrap();
    let (a, b) = (s.group("A").unwrap(), s.group("B").unwrap());
    let test_send = a | b;
    log.record(&store, h(today, 11), "whatsapp", &test_send)
        .unwrap();
    let replied: RoaringBitmap = a.iter().take(70).chain(b.iter().take(35)).collect();
    let r = Responses::new(test_send.clone(), &test_send, &test_send, &replied);
    let cmp = r.compare(a, b, Metric::Reply, 0.95).unwrap();
    assert_eq!(cmp.winner, Some(Arm::A));
    let rest = s.group("rest").unwrap();
    let plan = SendPlan::new(rest, 180).unwrap();
    assert_eq!(plan.total, 1_500);
    assert_eq!(plan.batches.len(), 9);
    for (i, batch) in plan.batches.iter().enumerate() {
        log.record(
            &store,
            h(today, 13) + (i as i64 / 60),
            "whatsapp",
            &batch.members(rest),
        )
        .unwrap();
    }
    // Everybody got one message today; nobody is capped.
    assert!(
        log.capped(h(today, 14), &CapRule::recommended())
            .unwrap()
            .is_empty()
    );
    assert_eq!(log.received(h(today, 14), 24, None, 1).unwrap(), audience);
    assert_eq!(r.follow_up(today).customers.len(), 2_000 - 105);
}
