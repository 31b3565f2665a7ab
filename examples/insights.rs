//! Growing the taxonomy from sales data, as marketing guides advise once a shop grows from
//! 5,000 to 20,000 customers: find the combination of tags worth a new tag, check it, and
//! turn it into one.
//!
//! A generated shop of 20,000 customers tagged by gender, age band, source channel and
//! interests, where women aged 25-34 rebuy three times as often as everyone else. The
//! example prints:
//!
//! 1. the rebuy rate inside every tag and every pair of tags from different dimensions
//!    (the pair "women + 25-34" comes first, lift near 3);
//! 2. what sets the rebuyers apart (the profile of a segment against everyone);
//! 3. the revenue view: which spend band and which tags bring more than their share;
//! 4. rebuyers against one-time buyers, both directions;
//! 5. the best finding materialised as a tag, and a rule that keeps tagging newcomers.
//!
//! Run with `cargo run --release --example insights`.

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use audience::insights::{
    Bands, Candidates, Comparison, InsightConfig, OutcomeRates, Profile, ValueShares,
};
use audience::{
    AttrKind, Context, CustomerKey, Day, Decimal, Edit, Query, Rule, RuleSet, Run, Store, TagSpec,
    rules,
};

const CUSTOMERS: u32 = 20_000;

/// A small deterministic generator (xorshift), so every run prints the same reports.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }

    /// An index drawn with the given weights (summing to 1).
    fn pick(&mut self, weights: &[f64]) -> usize {
        let mut u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }
}

fn main() -> Result<(), audience::Error> {
    let today = Day::from_ymd(2025, 3, 3)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut store = Store::new();
    let admin = Edit::new("admin", today);

    let dimension = |store: &mut Store, dim: &str, names: &[&str]| {
        names
            .iter()
            .map(|n| store.create_tag(&admin, TagSpec::new(*n).dimension(dim)))
            .collect::<Result<Vec<_>, _>>()
    };
    let gender = dimension(&mut store, "gender", &["women", "men"])?;
    let age = dimension(&mut store, "age", &["18-24", "25-34", "35-44", "45+"])?;
    let channel = dimension(&mut store, "channel", &["LINE", "website", "offline store"])?;
    let interest = dimension(
        &mut store,
        "interest",
        &["cosmetics", "3C", "mother & baby"],
    )?;
    let orders = store.define_attribute("purchase_count", AttrKind::Int)?;
    // Money with two decimal places: reports print 1,234.56 and band queries read the same.
    let spend = store.define_attribute("monetary", AttrKind::Decimal { scale: 2 })?;

    let keys = (0..CUSTOMERS).map(|i| CustomerKey::Phone(85_290_000_000 + u64::from(i)));
    for id in store.ensure_customers(keys)? {
        let g = rng.pick(&[0.52, 0.48]);
        let a = rng.pick(&[0.20, 0.25, 0.25, 0.30]);
        store.add_tag(id, gender[g], today)?;
        store.add_tag(id, age[a], today)?;
        store.add_tag(id, channel[rng.pick(&[0.45, 0.35, 0.20])], today)?;
        for (tag, share) in interest.iter().zip([0.30, 0.20, 0.15]) {
            if rng.chance(share) {
                store.add_tag(id, *tag, today)?;
            }
        }
        // Women aged 25-34 rebuy with probability 0.30, everyone else with 0.10.
        let rebuys = rng.chance(if g == 0 && a == 1 { 0.30 } else { 0.10 });
        let count = if rebuys {
            2 + (rng.next() % 4) as i64
        } else {
            1
        };
        store.set_value(id, orders, count)?;
        // Spend in baht and satang: a long tail, and more with every order.
        let baht = 300 + (rng.next() % 1_500) as i64 * (1 + (rng.next() % 4) as i64);
        let satang = baht * 100 + (rng.next() % 100) as i64;
        store.set_value(id, spend, Decimal::new(count * satang, 2)?)?;
    }

    let ctx = Context::new(today);
    let config = InsightConfig::default();
    let cands = Candidates::tags(&store).with_bands("monetary", &Bands::quantiles(5)?)?;

    println!("== 1. Who rebuys? Rates in every tag and every pair of tags ==\n");
    let rebuyers = Query::parse("purchase_count >= 2")?;
    let rates = OutcomeRates::build(&store, &rebuyers, &ctx, &Candidates::tags(&store), &config)?;
    println!("{rates}");

    println!("== 2. What sets the rebuyers apart ==\n");
    let rebuying = store.select(&rebuyers, &ctx)?;
    println!("{}", Profile::build(&store, &rebuying, &cands, &config)?);

    println!("== 3. Who brings the revenue ==\n");
    println!(
        "{}",
        ValueShares::build(&store, "monetary", &cands, &config)?
    );

    println!("== 4. Rebuyers against one-time buyers ==\n");
    let once = store.select(&Query::parse("purchase_count = 1")?, &ctx)?;
    println!(
        "{}",
        Comparison::build(&store, &rebuying, &once, &cands, &config)?
    );

    println!("== 5. From insight to tag ==\n");
    let best = &rates.findings[0];
    let query = Query::parse(&best.query)?;
    println!(
        "best finding: {} ({} customers, rebuy rate {:.1}% against {:.1}%, lift {:.2})",
        best.query,
        best.customers,
        100.0 * best.rate,
        100.0 * best.rest_rate,
        best.lift
    );
    let edit = Edit::new("mei", today).because("insights: women 25-34 rebuy 3x as often");
    let tag = rules::materialise(
        &mut store,
        &edit,
        TagSpec::new("women 25-34").dimension("segment"),
        &query,
        &ctx,
    )?;
    println!(
        "materialised as segment:women 25-34 for {} existing customers",
        store.members(tag)?.len()
    );
    // The rule keeps tagging the customers who qualify later.
    let keep_fresh =
        RuleSet::new().rule(Rule::new("women 25-34", query).add("segment:women 25-34"));
    let newcomer = store.add_customer(CustomerKey::Phone(85_291_000_000))?;
    store.add_tag(newcomer, gender[0], today)?;
    store.add_tag(newcomer, age[1], today)?;
    keep_fresh.run(&mut store, &Run::new(today))?;
    println!(
        "after a newcomer and the rule's run: {} customers carry it",
        store.members(tag)?.len()
    );
    Ok(())
}
