//! RFM report for a generated shop: the R x F grid, the segment table (is it 20% of
//! customers bringing 60% of revenue?), the monetary and recency quintiles, a few queries
//! that mix scores with tags, aggregates over a segment, how customers moved between
//! segments over a month of new orders, the R `rfm` package's first-match segment table,
//! and loyalty tiers.
//!
//!     cargo run --release --example rfm_report

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use audience::{
    AttrKind, Context, CustomerKey, Day, Decimal, Edit, FirstMatchMap, Measure, Migration, Query,
    RfmConfig, SegmentRule, Store, TagSpec, Tiers, Value, dimensions,
};

/// Spend is money with two decimal places: stored as cents, read and printed as 35.50.
const MONEY: AttrKind = AttrKind::Decimal { scale: 2 };

/// An amount of cents as a value of the monetary attribute.
fn cents(c: i64) -> Result<Decimal, audience::Error> {
    Decimal::new(c, 2)
}

/// A small deterministic generator (SplitMix64), so the report is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

const CUSTOMERS: u32 = 20_000;

/// A shop of 20,000 customers on `today`: a little over half have bought; purchase counts
/// and order values are heavy-tailed, and frequent buyers tend to have bought recently.
fn generate(today: Day) -> Result<Store, audience::Error> {
    let mut rng = Rng(2025);
    let mut store = Store::new();
    let admin = Edit::new("admin", today);
    let vip = store.create_tag(
        &admin,
        TagSpec::new("vip").dimension(dimensions::PURCHASING_POWER),
    )?;
    let line = store.create_tag(&admin, TagSpec::new("line").dimension(dimensions::CHANNEL))?;
    let last = store.define_attribute("last_purchase", AttrKind::Day)?;
    let count = store.define_attribute("purchase_count", AttrKind::Int)?;
    let spend = store.define_attribute("monetary", MONEY)?;
    for i in 0..CUSTOMERS {
        let c = store.add_customer(CustomerKey::phone_number(66_810_000_000 + u64::from(i))?)?;
        if rng.unit() < 0.6 {
            store.add_tag(c, line, today)?;
        }
        if rng.unit() < 0.45 {
            continue; // never purchased
        }
        // Orders: 1 + geometric with a per-customer appetite.
        let appetite = (0.35 + 0.6 * rng.unit()).min(0.95);
        let mut orders = 1i64;
        while rng.unit() < appetite && orders < 200 {
            orders += 1;
        }
        // Frequent buyers bought more recently.
        let days_ago = (rng.unit().powi(2) * 720.0 / (orders as f64).sqrt()) as i32;
        // Order value: lognormal around 35.00, in cents.
        let order_cents = (3_500.0 * (0.8 * rng.normal()).exp()).round() as i64;
        let total = orders * order_cents.max(100);
        store.set_value(c, last, today - days_ago)?;
        store.set_value(c, count, orders)?;
        store.set_value(c, spend, cents(total)?)?;
        if total > 150_000 {
            store.add_tag(c, vip, today)?;
        }
    }
    Ok(store)
}

/// A month of trade: some customers (mostly the frequent ones) order again, a few new
/// customers arrive and buy.
fn next_month(store: &mut Store, start: Day, end: Day) -> Result<(), audience::Error> {
    let mut rng = Rng(7);
    let last = store.attribute_id("last_purchase")?;
    let count = store.attribute_id("purchase_count")?;
    let spend = store.attribute_id("monetary")?;
    let days = end.days_since(start) as f64;
    let customers: Vec<u32> = store.customers().iter().collect();
    for c in customers {
        let orders = match store.value(c, count)? {
            Some(Value::Int(n)) => n,
            _ => 0,
        };
        let p = if orders == 0 {
            0.03
        } else {
            (0.04 * (orders as f64).sqrt()).min(0.6)
        };
        if rng.unit() >= p {
            continue;
        }
        let paid = match store.value(c, spend)? {
            Some(Value::Decimal(m)) => m.units(),
            _ => 0,
        };
        let order_cents = (3_500.0 * (0.8 * rng.normal()).exp()).round() as i64;
        store.set_value(c, last, start + 1 + (rng.unit() * (days - 1.0)) as i32)?;
        store.set_value(c, count, orders + 1)?;
        store.set_value(c, spend, cents(paid + order_cents.max(100))?)?;
    }
    for i in 0..300u64 {
        let c = store.add_customer(CustomerKey::phone_number(66_820_000_000 + i)?)?;
        store.set_value(c, last, start + 1 + (rng.unit() * (days - 1.0)) as i32)?;
        store.set_value(c, count, 1)?;
        let order_cents = (3_500.0 * (0.8 * rng.normal()).exp()).round() as i64;
        store.set_value(c, spend, cents(order_cents)?)?;
    }
    Ok(())
}

fn main() -> Result<(), audience::Error> {
    let last_month = Day::from_ymd(2025, 5, 31)?;
    let today = Day::from_ymd(2025, 6, 30)?;
    let mut store = generate(last_month)?;
    let before = RfmConfig::default().score(&store, &Context::new(last_month))?;
    next_month(&mut store, last_month, today)?;

    let scores = RfmConfig::default().score(&store, &Context::new(today))?;
    println!(
        "RFM on {today}: {} customers, {} scored, {} never purchased\n",
        store.customer_count(),
        scores.scored().len(),
        scores.never_purchased().len()
    );
    println!("{}", scores.grid());
    println!(
        "Segments, by share of revenue:\n{}\n",
        scores.segment_table()
    );
    println!(
        "Monetary quintiles (the top fifth's share of revenue is the 20/60 check):\n{}",
        scores.score_table(Measure::Monetary)
    );
    println!(
        "Recency quintiles:\n{}",
        scores.score_table(Measure::Recency)
    );

    let moves = Migration::between(&before.segment_assignment(), &scores.segment_assignment());
    // The scores are query terms when they ride in the query's context.
    let ctx = Context::new(today).with_terms(&scores);

    println!("Queries mixing scores and tags:");
    for text in [
        "rfm.r >= 4 AND vip EXCLUDE line",
        "rfm.segment = \"At risk\" AND vip",
        "rfm.segment = \"Can't lose them\" OR rfm.segment = \"At risk\"",
        "rfm.f = 5 AND rfm.m <= 2",
        "rfm.r IS NULL AND line",
        "rfm.segment = \"Champions\" AND monetary > 1500.00",
    ] {
        let q = Query::parse(text)?;
        println!("{:>8}  {text}", store.count(&q, &ctx)?);
    }

    let spend = store.attribute_id("monetary")?;
    let champions = store.select(&Query::parse("rfm.segment = \"Champions\"")?, &ctx)?;
    let s = audience::Summary::of(&store, spend, champions.bitmap())?;
    let q = audience::aggregate::quantiles(&store, spend, champions.bitmap(), &[0.5, 0.9])?;
    let money = |v: Option<Value>| match v {
        Some(Value::Decimal(d)) => d.grouped(),
        _ => "-".to_string(),
    };
    println!(
        "\nChampions' spend: {s}; median {}, 90th percentile {}",
        money(q.first().copied().flatten()),
        money(q.get(1).copied().flatten()),
    );

    let stayed = moves.rate("Champions", "Champions").unwrap_or(0.0);
    println!(
        "\nSegment moves from {last_month} to {today} ({:.1}% of Champions stayed Champions):\n{moves}",
        stayed * 100.0
    );
    let err = store
        .count(&Query::parse("rfm.segment = \"Champion\"")?, &ctx)
        .unwrap_err();
    println!("\nA typo is caught with a caret:\n{err}");

    // The segment table of the R `rfm` package, entered as analysts write it: ordered
    // rules over overlapping R, F and M score ranges, the first match naming the cell.
    let rule = |name: &str, r: (u8, u8), fm: (u8, u8)| {
        SegmentRule::new(name)
            .r(r.0..=r.1)
            .f(fm.0..=fm.1)
            .m(fm.0..=fm.1)
    };
    let table = FirstMatchMap::new("Others")
        .rule(rule("Champions", (4, 5), (4, 5)))
        .rule(rule("Loyal Customers", (2, 5), (3, 5)))
        .rule(rule("Potential Loyalist", (3, 5), (1, 3)))
        .rule(rule("New Customers", (4, 5), (1, 1)))
        .rule(rule("Promising", (3, 4), (1, 1)))
        .rule(rule("Need Attention", (2, 3), (2, 3)))
        .rule(rule("About To Sleep", (2, 3), (1, 2)))
        .rule(rule("At Risk", (1, 2), (2, 5)))
        .rule(rule("Can't Lose Them", (1, 1), (4, 5)))
        .rule(rule("Lost", (1, 2), (1, 2)));
    let by_table = RfmConfig::default()
        .first_match(Some(table))
        .score(&store, &Context::new(today))?;
    // As in the package's own reading, a rule whose cells all match an earlier one stays
    // empty ("New Customers" and "Promising" under "Potential Loyalist", "Can't Lose Them"
    // under "At Risk").
    println!("\nThe rfm package's segment table, first match wins:");
    for (name, members) in by_table.segments() {
        println!("{:>8}  {name}", members.len());
    }

    // Loyalty tiers by purchase count, written as tags; the change prints itself.
    let tiers = Tiers::new("purchase_count", "loyalty")
        .tier("gold", 10)?
        .tier("silver", 3)?
        .rest("bronze")?;
    let written = tiers.apply(&mut store, &Edit::new("crm", today))?;
    println!("\nLoyalty tiers by purchase count:\n{written}");
    Ok(())
}
