//! A simulated quarter of tag maintenance in a shop of 20,000 customers.
//!
//! Every day customers read and open messages, chat, put things in carts and order; the app
//! records that in attributes, expires memberships past their time-to-live, and runs the
//! "order succeeded" rule for each order as it happens (the event path). Every Monday it
//! runs the weekly rules (the five of CRM tagging guides, one that takes "at risk of churn" back from
//! customers who open again, and the lifecycle preset's five) over everyone.
//! At the end, a table shows how many customers each rule moved each week.
//!
//!     cargo run --release --example weekly_maintenance

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use audience::query::{all, attr, tag};
use audience::{
    AttrId, AttrKind, CustomerKey, Day, Edit, Error, Lifecycle, Period, Query, Rule, RuleSet, Run,
    Store, TagSpec, TagTemplate, Value, dimensions,
};

const CUSTOMERS: u32 = 20_000;
const WEEKS: i32 = 13;
const PRODUCTS: [&str; 4] = ["lipstick", "serum", "sunscreen", "toner"];
const POSITIVE: [&str; 3] = [
    "active customer",
    "highly active",
    "high potential - follow up",
];

/// A small deterministic random generator (SplitMix64), so every run prints the same.
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
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// How engaged a customer is this week: per-day chances to read, and to order.
#[derive(Clone, Copy)]
enum Engagement {
    High,
    Medium,
    Low,
}

impl Engagement {
    fn read(self) -> f64 {
        match self {
            Engagement::High => 0.5,
            Engagement::Medium => 0.08,
            Engagement::Low => 0.005,
        }
    }

    fn order(self) -> f64 {
        match self {
            Engagement::High => 0.012,
            Engagement::Medium => 0.003,
            Engagement::Low => 0.0003,
        }
    }

    fn draw(rng: &mut Rng) -> Engagement {
        match rng.below(10) {
            0..=1 => Engagement::High,
            2..=5 => Engagement::Medium,
            _ => Engagement::Low,
        }
    }
}

struct Attrs {
    count: AttrId,
    first: AttrId,
    read: AttrId,
    open: AttrId,
    interaction: AttrId,
}

fn weekly_rules() -> Result<RuleSet, Error> {
    let mut set = RuleSet::new()
        .group("positive", POSITIVE)
        // Listed first, but it reads what "at risk" writes: the run puts it after.
        .rule(
            Rule::new(
                "back from risk",
                tag("at risk of churn").and(attr("last_open").within(Period::weeks(1))),
            )
            .remove("at risk of churn"),
        )
        .rule(
            Rule::new("high value", Query::parse("purchase_count > 3")?).add("high value customer"),
        )
        .rule(
            Rule::new("highly active", attr("last_read").within(Period::weeks(1)))
                .add("highly active")
                .add("active customer")
                .remove("needs attention"),
        )
        .rule(
            Rule::new(
                "needs attention",
                attr("last_read").within(Period::weeks(2)).not(),
            )
            .remove("highly active")
            .add("needs attention"),
        )
        .rule(
            Rule::new("at risk", attr("last_open").within_days(60).not())
                .remove_group("positive")
                .add("at risk of churn"),
        )
        .rule(
            Rule::new(
                "follow up",
                attr("last_interaction")
                    .within_days(30)
                    .exclude(tag("ordered")),
            )
            .add("high potential - follow up")
            .remove("silent customer"),
        );
    set.extend(Lifecycle::default().rules());
    Ok(set)
}

fn on_order() -> RuleSet {
    RuleSet::new().rule(
        Rule::new("order succeeded", all())
            .remove("abandoned cart")
            .add("ordered")
            .add_template(
                TagTemplate::new("purchased-{date}+{product}")
                    .dimension(dimensions::STAGE)
                    .ttl_days(30),
            ),
    )
}

fn main() -> Result<(), Error> {
    let start = Day::from_ymd(2025, 1, 6)?; // a Monday
    let admin = Edit::new("admin", start - 1);
    let mut store = Store::new();
    let attrs = Attrs {
        count: store.define_attribute("purchase_count", AttrKind::Int)?,
        first: store.define_attribute("first_purchase_day", AttrKind::Day)?,
        read: store.define_attribute("last_read", AttrKind::Day)?,
        open: store.define_attribute("last_open", AttrKind::Day)?,
        interaction: store.define_attribute("last_interaction", AttrKind::Day)?,
    };
    for (name, dimension) in [
        ("active customer", dimensions::ACTIVITY),
        ("highly active", dimensions::ACTIVITY),
        ("needs attention", dimensions::ACTIVITY),
        ("at risk of churn", dimensions::ACTIVITY),
        ("silent customer", dimensions::ACTIVITY),
        ("high value customer", dimensions::PURCHASING_POWER),
        ("high potential - follow up", dimensions::STAGE),
        ("ordered", dimensions::STAGE),
    ] {
        store.create_tag(&admin, TagSpec::new(name).dimension(dimension))?;
    }
    // Carts are abandoned for a week at most.
    let cart = store.create_tag(
        &admin,
        TagSpec::new("abandoned cart")
            .dimension(dimensions::STAGE)
            .ttl_days(7),
    )?;
    let lifecycle = Lifecycle::default();
    // The preset's rules read three attributes: check them once, so that a missing one
    // names the setting to change (Lifecycle::attributes) rather than a rule.
    lifecycle.check(&store)?;
    let [new_customer, ..] = lifecycle.create_tags(&mut store, &admin)?;
    // "New customer" must go 60 days after the first purchase at the latest.
    store.set_ttl(&admin, new_customer, Some(60))?;

    // History before the quarter.
    let mut rng = Rng(2025);
    let mut engagement = Vec::with_capacity(CUSTOMERS as usize);
    let ordered = store.tag_id("ordered")?;
    let silent = store.tag_id("silent customer")?;
    for i in 0..CUSTOMERS {
        let c = store.add_customer(CustomerKey::phone_number(66_810_000_000 + u64::from(i))?)?;
        let e = Engagement::draw(&mut rng);
        engagement.push(e);
        let seen = start - 1 - rng.below(120) as i32;
        store.set_value(c, attrs.read, seen)?;
        store.set_value(c, attrs.open, seen - rng.below(30) as i32)?;
        store.set_value(c, attrs.interaction, seen)?;
        if seen < start - 30 {
            store.add_tag(c, silent, seen + 30)?;
        }
        let orders = match e {
            Engagement::High => rng.below(8),
            Engagement::Medium => rng.below(4),
            Engagement::Low => rng.below(2),
        };
        store.set_value(c, attrs.count, orders as i64)?;
        if orders > 0 {
            store.set_value(c, attrs.first, start - 1 - rng.below(400) as i32)?;
            store.add_tag(c, ordered, start - 1)?;
        }
    }

    let weekly = weekly_rules()?;
    let orders = on_order();
    println!(
        "{CUSTOMERS} customers; weekly rules in the order they run: {}",
        weekly.order(&store, &Run::new(start))?.join(" / ")
    );
    let preview = weekly.dry_run(&store, &Run::new(start))?;
    println!(
        "dry run before the first week: {} customers would change\n",
        preview.changed
    );

    let mut table: Vec<(String, Vec<u64>)> = Vec::new();
    let (mut expired, mut order_count) = (0u64, 0u64);
    for d in 0..WEEKS * 7 {
        let today = start + d;
        // Memberships past their time-to-live go first.
        expired += store
            .expire(today)
            .iter()
            .map(|(_, gone)| gone.len())
            .sum::<u64>();
        if d % 7 == 0 {
            let report = weekly.run(&mut store, &Run::new(today))?;
            println!(
                "week {:>2} ({today}): {:>5} customers changed; last week {:>5} memberships expired, {:>4} orders",
                d / 7,
                report.changed,
                expired,
                order_count
            );
            for r in &report.rules {
                match table.iter_mut().find(|(name, _)| *name == r.rule) {
                    Some((_, row)) => row.push(r.changed),
                    None => table.push((r.rule.clone(), vec![r.changed])),
                }
            }
            if d / 7 == WEEKS - 1 {
                println!("\nthe last weekly run:\n{report}");
            }
            (expired, order_count) = (0, 0);
            // Some customers change their habits every week.
            for e in engagement.iter_mut() {
                if rng.chance(0.05) {
                    *e = Engagement::draw(&mut rng);
                }
            }
        }
        // The day's events.
        for c in 0..CUSTOMERS {
            let e = engagement[c as usize];
            if rng.chance(e.read()) {
                store.set_value(c, attrs.read, today)?;
                store.set_value(c, attrs.interaction, today)?;
                if rng.chance(0.6) {
                    store.set_value(c, attrs.open, today)?;
                }
            }
            if rng.chance(e.order() * 2.0) {
                store.add_tag(c, cart, today)?;
            }
            if rng.chance(e.order()) {
                let count = match store.value(c, attrs.count)? {
                    Some(Value::Int(n)) => n,
                    _ => 0,
                };
                if count == 0 {
                    store.set_value(c, attrs.first, today)?;
                }
                store.set_value(c, attrs.count, count + 1)?;
                store.set_value(c, attrs.interaction, today)?;
                let product = PRODUCTS[rng.below(PRODUCTS.len() as u64) as usize];
                orders.run(
                    &mut store,
                    &Run::new(today).customer(c).var("product", product),
                )?;
                order_count += 1;
            }
        }
    }

    println!("customers each rule moved, per week:");
    print!("{:<35}", "rule");
    for w in 0..WEEKS {
        print!("{:>6}", format!("w{w}"));
    }
    println!();
    for (rule, row) in &table {
        print!("{rule:<35}");
        for n in row {
            print!("{n:>6}");
        }
        println!();
    }
    let purchased = store
        .tags()
        .filter(|t| t.name.starts_with("purchased-"))
        .count();
    println!(
        "\n{purchased} \"purchased-<date>+<product>\" tags were created on demand; {} tags in all",
        store.tag_count()
    );
    Ok(())
}
