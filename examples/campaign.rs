//! The campaign flow WhatsApp and LINE broadcast guides recommend, on a generated shop of 10,000 customers:
//! select cosmetics buyers without lipstick, preview, A/B test two groups of 1,000,
//! read the results after an hour, pick the winner, send it to the rest at the rate limit
//! without breaking the 5-a-day cap, and list the non-responders for the second touch.
//!
//! Run with `cargo run --release --example campaign`.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use audience::campaign::{
    self, Arm, CapRule, Hour, Metric, Responses, SendLog, SendPlan, Size, SplitSpec,
};
use audience::{Context, CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec};

/// SplitMix64: the example's own deterministic random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) < p * (1u64 << 53) as f64
    }

    /// The customers of `set` that pass a coin of probability `p` each.
    fn thin(&mut self, set: &RoaringBitmap, p: f64) -> RoaringBitmap {
        set.iter().filter(|_| self.chance(p)).collect()
    }
}

/// The shop: 10,000 customers with interest, stage, product and channel tags.
fn shop(today: Day, rng: &mut Rng) -> Result<Store, audience::Error> {
    let admin = Edit::new("admin", today - 90);
    let mut store = Store::new();
    let specs = [
        ("interest/cosmetics", "interests"),
        ("interest/3c", "interests"),
        ("interest/mother_baby", "interests"),
        ("stage/ordered", "stage"),
        ("stage/purchased", "stage"),
        ("stage/enquired", "stage"),
        ("stage/abandoned_cart", "stage"),
        ("product/lipstick", "product"),
        ("channel/website", "channel"),
        ("channel/instagram", "channel"),
        ("channel/offline_store", "channel"),
    ];
    for (name, dim) in specs {
        store.create_tag(&admin, TagSpec::new(name).dimension(dim))?;
    }
    // Hong Kong, Thai and Saudi mobile numbers.
    let keys = (0..10_000u64).map(|i| match i % 3 {
        0 => CustomerKey::Phone(85_290_000_000 + i),
        1 => CustomerKey::Phone(66_810_000_000 + i),
        _ => CustomerKey::Phone(966_500_000_000 + i),
    });
    let ids = store.ensure_customers(keys)?;
    let mut members: Vec<RoaringBitmap> = vec![RoaringBitmap::new(); specs.len()];
    for &id in &ids {
        let cosmetics = rng.chance(0.5);
        let purchased = rng.chance(if cosmetics { 0.7 } else { 0.4 });
        let picks = [
            cosmetics,
            rng.chance(0.3),
            rng.chance(0.15),
            purchased || rng.chance(0.1),
            purchased,
            !purchased && rng.chance(0.5),
            !purchased && rng.chance(0.2),
            cosmetics && purchased && rng.chance(0.15),
            rng.chance(0.55),
            rng.chance(0.35),
            rng.chance(0.2),
        ];
        for (m, on) in members.iter_mut().zip(picks) {
            if on {
                m.insert(id);
            }
        }
    }
    for ((name, _), m) in specs.iter().zip(&members) {
        let t = store.tag_id(name)?;
        store.add_tag_bulk(t, m, today - 30)?;
    }
    Ok(store)
}

/// What the app reports for a send: delivered, read and replied, drawn at these rates.
fn simulate(
    rng: &mut Rng,
    sent: &RoaringBitmap,
    delivery: f64,
    read: f64,
    reply: f64,
) -> Responses {
    let delivered = rng.thin(sent, delivery);
    let read_set = rng.thin(&delivered, read);
    let replied = rng.thin(&read_set, reply / read);
    Responses::new(sent.clone(), &delivered, &read_set, &replied)
}

fn main() -> Result<(), audience::Error> {
    let mut rng = Rng(20_250_304);
    let today = Day::from_ymd(2025, 3, 4)?; // a Tuesday
    let mut store = shop(today, &mut rng)?;
    println!(
        "shop: {} customers, {} tags\n",
        store.customer_count(),
        store.tag_count()
    );

    // Automated messages already sent in the last day: order updates and cart reminders.
    let mut log = SendLog::new();
    let everyone = store.customers().clone();
    let busy = rng.thin(&everyone, 0.03);
    for hour in [18, 19, 20, 21] {
        log.record(&store, Hour::new(today - 1, hour)?, "whatsapp", &busy)?;
    }
    log.record(&store, Hour::new(today, 9)?, "line", &busy)?;
    log.record(
        &store,
        Hour::new(today, 9)?,
        "whatsapp",
        &rng.thin(&everyone, 0.10),
    )?;

    // 1. Who? Cosmetics buyers without lipstick, minus anyone capped.
    let test_hour = Hour::new(today, 11)?;
    let capped = log.capped(test_hour, &CapRule::recommended())?;
    println!(
        "capped at {test_hour}: {} customers already got 5 messages in 24 hours",
        capped.len()
    );
    let query = Query::parse(
        "interest/cosmetics AND stage/purchased EXCLUDE product/lipstick EXCLUDE @capped",
    )?;
    let ctx = Context::new(today).with_set("capped", &capped);
    let preview = campaign::preview(&store, &query, &ctx)?;
    println!("\n{preview}");
    println!("{}\n", preview.breakdown(&store, "channel")?);

    // 2. Build it: the tags' last use is recorded for the weekly health report.
    let audience = campaign::build_audience(&mut store, &query, &ctx)?;
    let cosmetics = store.tag_id("interest/cosmetics")?;
    if let Some(day) = store.tag(cosmetics)?.last_used {
        println!("interest/cosmetics last used to select an audience on {day}");
    }

    // 3. Over 2,000: 10% held out as a control group, two random groups of 1,000 with the
    //    same channel mix, and the rest (what is left after the others).
    let spec = SplitSpec::new(20_250_304)
        .holdout(Size::Percent(10))?
        .group("A", Size::Count(1000))?
        .group("B", Size::Count(1000))?
        .group("rest", Size::REST)?
        .stratify_by_dimension("channel");
    let split = campaign::split(&store, &audience, &spec)?;
    let (a, b) = (
        split.group("A").cloned().unwrap_or_default(),
        split.group("B").cloned().unwrap_or_default(),
    );
    let rest = split.group("rest").cloned().unwrap_or_default();
    // The split prints its sizes and shares itself.
    println!(
        "\n{split}\n  ({} channel strata, each within one customer of its share)",
        split.strata.len()
    );
    let test = &a | &b;
    log.record(&store, test_hour, "whatsapp", &test)?;

    // 4. One hour later: A (the message with the customer's name) against B.
    let ra = simulate(&mut rng, &a, 0.985, 0.78, 0.075);
    let rb = simulate(&mut rng, &b, 0.985, 0.76, 0.040);
    let responses = Responses::new(
        test.clone(),
        &(ra.delivered() | rb.delivered()),
        &(ra.read() | rb.read()),
        &(ra.replied() | rb.replied()),
    );
    for (name, f) in responses.by_group(&split).iter().take(2) {
        println!("group {name}: {f}");
    }
    let reply = responses.compare(&a, &b, Metric::Reply, 0.95)?;
    let read = responses.compare(&a, &b, Metric::Read, 0.95)?;
    println!("{reply}\n{read}");
    let winner = reply.winner.or(read.winner);
    let message = match winner {
        Some(Arm::A) => "A",
        Some(Arm::B) => "B",
        None => "A (no significant difference: keep the default)",
    };
    println!("send message {message} to the rest");

    // 5. The rest within 24 hours, at 180 a minute, still respecting the cap.
    let send_hour = Hour::new(today, 14)?;
    let capped_now = log.capped(send_hour, &CapRule::recommended())?;
    let rest_now = &rest - &capped_now;
    println!(
        "\nrest: {} customers, {} capped since the preview",
        rest_now.len(),
        rest.len() - rest_now.len()
    );
    let plan = SendPlan::new(&rest_now, 180)?;
    println!("{plan}");
    for (i, batch) in plan.batches.iter().take(3).enumerate() {
        println!(
            "  batch {i}: +{:>3} s, {} customers, ids {}..={}",
            batch.offset.as_secs(),
            batch.len,
            batch.first,
            batch.last
        );
    }
    for batch in &plan.batches {
        let minutes = i64::try_from(batch.offset.as_secs() / 3600).unwrap_or(0);
        log.record(
            &store,
            send_hour + minutes,
            "whatsapp",
            &batch.members(&rest_now),
        )?;
    }

    // 6. The 24-hour report on the whole send, against the broadcast guides' thresholds.
    let full = simulate(&mut rng, &rest_now, 0.982, 0.74, 0.058);
    let total = Responses::new(
        &test | &rest_now,
        &(responses.delivered() | full.delivered()),
        &(responses.read() | full.read()),
        &(responses.replied() | full.replied()),
    );
    let funnel = total.funnel();
    let verdict = funnel.assess();
    println!("\nwhole send: {funnel}");
    println!(
        "verdicts: delivery {:?}, read {:?}, reply {:?}",
        verdict.delivery, verdict.read, verdict.reply
    );
    for advice in verdict.advice() {
        println!("  advice: {advice}");
    }
    println!("by channel:");
    for row in total.by_dimension(&store, "channel")?.tags {
        println!("  {:<24} {}", row.name, row.funnel);
    }

    // 7. The second touch: non-responders, three days later, minus anyone capped then.
    let follow = total.follow_up(today);
    let then = Hour::new(follow.due, 11)?;
    let capped_then = log.capped(then, &CapRule::recommended())?;
    let second = &follow.customers - &capped_then;
    println!(
        "\nsecond touch due {}: {} non-responders ({:.0}% of those delivered), {} to send",
        follow.due,
        follow.customers.len(),
        follow.customers.len() as f64 * 100.0 / funnel.delivered.max(1) as f64,
        second.len()
    );
    Ok(())
}
