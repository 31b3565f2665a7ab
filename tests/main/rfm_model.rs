//! RFM scores against a straightforward sort-based implementation, over random shops:
//! quantiles (narrow value ranges for many ties, wide ones for distinct values), fixed
//! edges, bitmaps, segments, the grid, and the `rfm.*` query terms.

use audience::query::{CmpOp, Expr, Literal};
use audience::{
    AttrKind, Binning, Context, CustomerKey, Day, Measure, Query, RfmConfig, RfmScore, SegmentMap,
    SegmentRule, Store,
};
use proptest::prelude::*;

const TODAY: Day = Day::EPOCH.checked_add(20_000).unwrap();

#[derive(Clone, Debug)]
struct Cust {
    erased: bool,
    last: Option<i32>,
    count: Option<i64>,
    money: Option<i64>,
}

fn value(wide: bool) -> BoxedStrategy<i64> {
    if wide {
        // Wide spans (ranked by selection), with and without ties.
        prop_oneof![
            any::<i64>(),
            -1_000_000_000_000i64..1_000_000_000_000,
            prop::sample::select(vec![i64::MIN, -(1 << 40), 0, 1 << 40, i64::MAX]),
        ]
        .boxed()
    } else {
        (0i64..6).boxed()
    }
}

fn customers() -> impl Strategy<Value = Vec<Cust>> {
    any::<bool>().prop_flat_map(|wide| {
        let cust = (
            prop::bool::weighted(0.05),
            prop::option::weighted(0.85, if wide { 0i32..5000 } else { 0i32..4 }),
            prop::option::weighted(0.95, value(wide)),
            prop::option::weighted(0.95, value(wide)),
        )
            .prop_map(|(erased, last, count, money)| Cust {
                erased,
                last,
                count,
                money,
            });
        prop::collection::vec(cust, 0..120)
    })
}

fn binning() -> impl Strategy<Value = Binning> {
    prop_oneof![
        (3u8..=10).prop_map(Binning::Quantiles),
        prop::collection::btree_set(-3i64..8, 2..=9)
            .prop_map(|s| Binning::Edges(s.into_iter().collect())),
    ]
}

fn build(custs: &[Cust]) -> Store {
    let mut store = Store::new();
    let last = store
        .define_attribute("last_purchase", AttrKind::Day)
        .unwrap();
    let count = store
        .define_attribute("purchase_count", AttrKind::Int)
        .unwrap();
    let money = store.define_attribute("monetary", AttrKind::Int).unwrap();
    for (i, c) in custs.iter().enumerate() {
        let id = store
            .add_customer(CustomerKey::member(format!("c{i}")).unwrap())
            .unwrap();
        if let Some(d) = c.last {
            store.set_value(id, last, TODAY - d).unwrap();
        }
        if let Some(v) = c.count {
            store.set_value(id, count, v).unwrap();
        }
        if let Some(v) = c.money {
            store.set_value(id, money, v).unwrap();
        }
    }
    for (i, c) in custs.iter().enumerate() {
        if c.erased {
            store.erase_customer(i as u32).unwrap();
        }
    }
    store
}

/// The definition, written the obvious way: sort (value, id), NTILE group by rank, or
/// count the edges at or below the value.
fn reference(ids: &[u32], vals: &[i64], binning: &Binning, reverse: bool) -> Vec<u8> {
    let n = binning.bins();
    let mut out = vec![0u8; ids.len()];
    match binning {
        Binning::Edges(edges) => {
            for (o, v) in out.iter_mut().zip(vals) {
                let g = edges.iter().filter(|&&e| e <= *v).count();
                *o = if reverse { n - g } else { g + 1 } as u8;
            }
        }
        Binning::Quantiles(_) => {
            let mut order: Vec<usize> = (0..ids.len()).collect();
            order.sort_by_key(|&i| (vals[i], ids[i]));
            let len = ids.len();
            let (q, rem) = (len / n, len % n);
            // Group sizes, larger first, then walk.
            let sizes: Vec<usize> = (0..n).map(|g| q + usize::from(g < rem)).collect();
            let mut g = 0;
            let mut left = sizes[0];
            for &i in &order {
                while left == 0 {
                    g += 1;
                    left = sizes[g];
                }
                left -= 1;
                out[i] = if reverse { n - g } else { g + 1 } as u8;
            }
        }
    }
    out
}

fn naive_scores(custs: &[Cust], config: &RfmConfig) -> Vec<Option<RfmScore>> {
    let mut ids = Vec::new();
    let mut vals: [Vec<i64>; 3] = Default::default();
    for (i, c) in custs.iter().enumerate() {
        if let (false, Some(d), Some(f), Some(m)) = (c.erased, c.last, c.count, c.money) {
            ids.push(i as u32);
            vals[0].push(i64::from(d));
            vals[1].push(f);
            vals[2].push(m);
        }
    }
    let r = reference(&ids, &vals[0], &config.spec(Measure::Recency).binning, true);
    let f = reference(
        &ids,
        &vals[1],
        &config.spec(Measure::Frequency).binning,
        false,
    );
    let m = reference(
        &ids,
        &vals[2],
        &config.spec(Measure::Monetary).binning,
        false,
    );
    let mut out = vec![None; custs.len()];
    for (k, &id) in ids.iter().enumerate() {
        out[id as usize] = Some(RfmScore {
            r: r[k],
            f: f[k],
            m: m[k],
        });
    }
    out
}

/// A partition of any bins: split R at its middle, then F at its middle for the top half.
fn partition(bins: [u8; 3]) -> SegmentMap {
    let (rm, fm) = (bins[0] / 2, bins[1] / 2);
    SegmentMap::new()
        .rule(SegmentRule::new("low").r(1..=rm))
        .rule(SegmentRule::new("high rare").r(rm + 1..=bins[0]).f(1..=fm))
        .rule(
            SegmentRule::new("high frequent")
                .r(rm + 1..=bins[0])
                .f(fm + 1..=bins[1]),
        )
}

fn segment_name(s: RfmScore, bins: [u8; 3]) -> &'static str {
    if s.r <= bins[0] / 2 {
        "low"
    } else if s.f <= bins[1] / 2 {
        "high rare"
    } else {
        "high frequent"
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn scores_match_the_sort_based_reference(
        custs in customers(),
        bins in [binning(), binning(), binning()],
    ) {
        let store = build(&custs);
        let [br, bf, bm] = bins;
        let mut config = RfmConfig::default()
            .segments(None)
            .binning(Measure::Recency, br)
            .unwrap()
            .binning(Measure::Frequency, bf)
            .unwrap()
            .binning(Measure::Monetary, bm)
            .unwrap();
        let nbins = config.validate().unwrap();
        config = config.segments(Some(partition(nbins)));
        let scores = config.score(&store, &Context::new(TODAY)).unwrap();
        let want = naive_scores(&custs, &config);
        for (id, w) in want.iter().enumerate() {
            let id = id as u32;
            prop_assert_eq!(scores.score_of(id), *w, "customer {}", id);
            prop_assert_eq!(scores.scored().contains(id), w.is_some());
            prop_assert_eq!(
                scores.segment_of(id),
                w.map(|s| segment_name(s, nbins))
            );
            let c = &custs[id as usize];
            prop_assert_eq!(
                scores.never_purchased().contains(id),
                !c.erased && c.last.is_none()
            );
            prop_assert_eq!(
                scores.incomplete().contains(id),
                !c.erased && c.last.is_some() && w.is_none()
            );
        }
        // Bitmaps agree with the per-customer scores.
        for m in Measure::ALL {
            for s in 1..=scores.bins(m) {
                let bits = scores.customers(m, s).unwrap();
                let naive: Vec<u32> = (0..custs.len() as u32)
                    .filter(|&id| want[id as usize].is_some_and(|x| x.get(m) == s))
                    .collect();
                prop_assert_eq!(bits.iter().collect::<Vec<_>>(), naive);
            }
        }
        // Each score's lowest and highest measured value.
        for m in Measure::ALL {
            let table = scores.score_table(m);
            for row in &table.rows {
                let vals: Vec<i64> = custs
                    .iter()
                    .zip(&want)
                    .filter(|(_, w)| w.is_some_and(|x| x.get(m) == row.score))
                    .map(|(c, _)| match m {
                        Measure::Recency => i64::from(c.last.unwrap_or(0)),
                        Measure::Frequency => c.count.unwrap_or(0),
                        Measure::Monetary => c.money.unwrap_or(0),
                    })
                    .collect();
                prop_assert_eq!(
                    (row.min, row.max, row.count),
                    (vals.iter().min().copied(), vals.iter().max().copied(), vals.len() as u64),
                    "{:?} {}", m, row.score
                );
            }
        }
        // The grid counts every scored customer once.
        let grid = scores.grid();
        prop_assert_eq!(grid.cells.iter().map(|c| c.count).sum::<u64>(), scores.scored().len());
        let money: i128 = want
            .iter()
            .zip(&custs)
            .filter(|(w, _)| w.is_some())
            .map(|(_, c)| i128::from(c.money.unwrap_or(0)))
            .sum();
        prop_assert_eq!(grid.monetary, money);

        // Query terms against the per-customer scores.
        let ctx = Context::new(TODAY).with_terms(&scores);
        for (m, term) in [(Measure::Recency, "rfm.r"), (Measure::Frequency, "rfm.f"), (Measure::Monetary, "rfm.m")] {
            let n = scores.bins(m);
            for op in [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge] {
                for v in [1, n / 2 + 1, n] {
                    let q = Query::new(Expr::Cmp { attr: term.into(), op, value: Literal::Int(i64::from(v)) });
                    let hold = |s: u8| match op {
                        CmpOp::Eq => s == v,
                        CmpOp::Ne => s != v,
                        CmpOp::Lt => s < v,
                        CmpOp::Le => s <= v,
                        CmpOp::Gt => s > v,
                        CmpOp::Ge => s >= v,
                    };
                    let naive = want.iter().filter(|w| w.is_some_and(|x| hold(x.get(m)))).count() as u64;
                    prop_assert_eq!(store.count(&q, &ctx).unwrap(), naive, "{}", q);
                }
            }
        }
    }
}
