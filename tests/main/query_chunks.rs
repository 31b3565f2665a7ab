//! Queries over several 65,536-id chunks, where large unions run on dense word sets: every
//! shape of the peer queries (wide OR, nested AND/OR/NOT, ranges inside unions, small
//! candidate sets) checked against roaring's own set algebra. The random-query model test
//! uses small stores, which fit in one chunk; these stores span four, with chunks where a
//! tag has no members, array and bitset containers, and runs.

use audience::{AttrKind, Context, CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec};

const CUSTOMERS: u32 = 230_000;

/// A deterministic pseudo-random stream (SplitMix64).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

struct Shop {
    store: Store,
    today: Day,
    tags: Vec<(String, RoaringBitmap)>,
    /// Customers with `spend`, and their values.
    spend: Vec<(u32, i64)>,
}

fn shop() -> Shop {
    let today = Day::from_ymd(2026, 1, 1).unwrap();
    let e = Edit::new("admin", today);
    let mut store = Store::new();
    let keys = (0..u64::from(CUSTOMERS)).map(|i| CustomerKey::member(format!("m{i}")).unwrap());
    store.ensure_customers(keys).unwrap();
    let mut mix = Mix(7);
    // Densities from 0.05% (arrays) to 40% (bitsets); some tags skip whole chunks, one is
    // a run of ids.
    let densities = [5u64, 20, 60, 150, 300, 700, 1_500, 4_000, 30, 2_500, 9, 400];
    let mut tags = Vec::new();
    for (t, per_10k) in densities.iter().enumerate() {
        let name = format!("t{t}");
        let id = store.create_tag(&e, TagSpec::new(&name)).unwrap();
        let mut set: RoaringBitmap = (0..CUSTOMERS)
            .filter(|_| mix.next() % 10_000 < *per_10k)
            .collect();
        if t % 3 == 1 {
            set.remove_range(65_536..131_072);
        }
        if t == 8 {
            set.insert_range(100_000..140_000);
        }
        store.add_tag_bulk(id, &set, today).unwrap();
        tags.push((name, set));
    }
    let spend_attr = store.define_attribute("spend", AttrKind::Int).unwrap();
    let mut spend = Vec::new();
    for c in 0..CUSTOMERS {
        if !mix.next().is_multiple_of(3) {
            let v = (mix.next() % 1_000) as i64;
            store.set_value(c, spend_attr, v).unwrap();
            spend.push((c, v));
        }
    }
    Shop {
        store,
        today,
        tags,
        spend,
    }
}

impl Shop {
    fn tag(&self, i: usize) -> &RoaringBitmap {
        &self.tags[i].1
    }

    fn spend_between(&self, lo: i64, hi: i64) -> RoaringBitmap {
        self.spend
            .iter()
            .filter(|(_, v)| (lo..=hi).contains(v))
            .map(|(c, _)| *c)
            .collect()
    }

    fn all(&self) -> RoaringBitmap {
        (0..CUSTOMERS).collect()
    }

    fn check(&self, text: &str, want: &RoaringBitmap) {
        let q = Query::parse(text).unwrap();
        let ctx = Context::new(self.today);
        let plan = self.store.plan(&q, &ctx).unwrap();
        assert_eq!(plan.count(), want.len(), "count of {text}");
        assert_eq!(&plan.segment(), want, "members of {text}");
        assert_eq!(plan.explain().total, want.len(), "explain of {text}");
        // Inside candidate sets: a few customers (per-child intersections) and half of
        // everyone (dense, then narrowed).
        let few: RoaringBitmap = (0..CUSTOMERS).step_by(997).collect();
        assert_eq!(
            plan.segment_within(&few),
            want & &few,
            "{text} within a few"
        );
        let half: RoaringBitmap = (0..CUSTOMERS).step_by(2).collect();
        assert_eq!(
            plan.segment_within(&half),
            want & &half,
            "{text} within half"
        );
    }
}

#[test]
fn large_unions_across_chunks_agree_with_roaring() {
    let s = shop();
    let t = |i: usize| s.tag(i);

    // A wide OR of every tag.
    let wide = s
        .tags
        .iter()
        .fold(RoaringBitmap::new(), |acc, (_, b)| acc | b);
    let names: Vec<&str> = s.tags.iter().map(|(n, _)| n.as_str()).collect();
    s.check(&names.join(" OR "), &wide);

    // q03's shape: (A AND B) OR (C AND NOT D) OR E, minus a union, AND (F OR (G AND H)).
    let want = &(&(&(t(7) & t(5)) | &(t(6) - t(11))) | t(4)) - &(t(2) | t(10));
    let want = want & (t(9) | &(t(8) & t(7)));
    s.check(
        "((t7 AND t5) OR (t6 AND NOT t11) OR t4) AND NOT (t2 OR t10) AND (t9 OR (t8 AND t7))",
        &want,
    );

    // A range inside a union, and a union inside a range-led AND.
    let mid = s.spend_between(100, 599);
    s.check(
        "t3 OR t6 OR spend BETWEEN 100 AND 599",
        &(&(t(3) | t(6)) | &mid),
    );
    s.check(
        "spend >= 100 AND spend < 600 AND (t5 OR t6 OR t7)",
        &(&mid & &(&(t(5) | t(6)) | t(7))),
    );

    // NOT of a union, and NOT inside a union.
    s.check("NOT (t7 OR t6 OR t9)", &(s.all() - (&(t(7) | t(6)) | t(9))));
    s.check("t7 OR NOT t6 OR t0", &(&(t(7) | &(s.all() - t(6))) | t(0)));

    // A small tag first: the union is evaluated inside its members.
    s.check(
        "t0 AND (t5 OR t6 OR t7)",
        &(t(0) & &(&(t(5) | t(6)) | t(7))),
    );
    // Tags that skip a chunk, in AND and AND NOT with a union.
    s.check(
        "(t1 OR t4 OR t10) AND NOT (t7 OR t8)",
        &(&(&(t(1) | t(4)) | t(10)) - &(t(7) | t(8))),
    );
    s.check(
        "(t9 OR t8 OR t3) AND t1",
        &(&(&(t(9) | t(8)) | t(3)) & t(1)),
    );
}
