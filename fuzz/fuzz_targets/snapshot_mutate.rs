//! A store built by random operations, with extras (a send log, rules, tiers, an RFM
//! configuration) built from the same operations, round-trips through a snapshot; then the
//! snapshot is damaged (bytes flipped, truncated) and must fail to load, never panic, never
//! load as something else.
#![no_main]

use std::collections::BTreeSet;

use audience::campaign::{Hour, SendLog};
use audience::snapshot::Extras;
use audience::{
    AttrKind, CustomerKey, Day, Edit, Query, RfmConfig, RoaringBitmap, Rule, RuleSet, Store, TagId,
    TagSpec, Tiers, Value,
};
use audience_fuzz::{check_loaded_with, without_erased};
use libfuzzer_sys::fuzz_target;

fn build(ops: &[u8]) -> Store {
    let e = Edit::new("fuzz", Day::from_days(0).unwrap()).because("random");
    let mut s = Store::new();
    s.define_attribute("n", AttrKind::Int).unwrap();
    s.define_attribute("d", AttrKind::Day).unwrap();
    let mut it = ops.chunks_exact(4);
    for op in &mut it {
        let (a, b, c) = (op[1], op[2], op[3]);
        let id = |s: &Store, k: u8| s.customer(&key(k)).unwrap_or(u32::MAX);
        let tag = TagId::from_u32(u32::from(b % 8));
        let _ = match op[0] % 13 {
            0 | 1 => s.ensure_customer(key(a)).map(|_| ()),
            2 => s.erase_customer(id(&s, a)),
            3 | 4 => s.add_tag(id(&s, a), tag, Day::from_days(i32::from(c) - 100).unwrap()),
            5 => s.remove_tag(id(&s, a), tag).map(|_| ()),
            6 => {
                let set: RoaringBitmap = (0..a % 32)
                    .map(|k| id(&s, k.wrapping_mul(c)))
                    .filter(|i| *i != u32::MAX)
                    .collect();
                s.add_tag_bulk(tag, &set, Day::from_days(i32::from(c)).unwrap())
            }
            7 => s
                .create_tag(
                    &e,
                    TagSpec::new(format!("t{a}"))
                        .dimension(format!("d{}", b % 3))
                        .ttl_days(u32::from(c)),
                )
                .map(|_| ()),
            8 => s.delete_tag(&e, tag).map(|_| ()),
            9 => s
                .merge_tags(&e, tag, TagId::from_u32(u32::from(c % 8)))
                .map(|_| ()),
            10 => {
                let v = i64::from_le_bytes([a, b, c, a, b, c, a, b]);
                s.set_value(id(&s, a), s.attribute_id("n").unwrap(), v)
            }
            11 => s.set_value(
                id(&s, a),
                s.attribute_id("d").unwrap(),
                Value::Day(Day::EPOCH.saturating_add(i32::from_le_bytes([a, b, c, 0]))),
            ),
            _ => {
                s.expire(Day::from_days(i32::from(c)).unwrap());
                s.archive_tag(&e, tag)
            }
        };
    }
    s
}

/// Extras from the same operations: sends to the store's ids, rules over a few queries,
/// tier thresholds, RFM bins.
fn build_extras(ops: &[u8], store: &Store) -> Extras {
    const QUERIES: [&str; 7] = [
        "ALL",
        "t1 AND NOT t2",
        "n > 3 OR d WITHIN 30d",
        "d0:t3 ASSIGNED BEFORE 7d",
        "@capped EXCLUDE t5",
        "IN [t0, t1, \"VIP клиент\"]",
        "\"高消費力\" OR NOT (t4 AND n BETWEEN -5 AND 5)",
    ];
    let id_space = store.id_space();
    let mut log = SendLog::with_retention(1 + ops.len() as u32 % 200).unwrap();
    let mut rules = RuleSet::new().group("g", ["t6", "d1:t7"]);
    let mut thresholds = BTreeSet::new();
    for (i, op) in ops.chunks_exact(4).enumerate() {
        let (a, b, c) = (op[1], op[2], op[3]);
        match op[0] % 4 {
            0 if id_space > 0 => {
                let ids: RoaringBitmap = (0..=b % 4)
                    .map(|k| ((u64::from(a) + u64::from(k) * 7) % id_space) as u32)
                    .collect();
                let channel = ["whatsapp", "LINE", "sms"][usize::from(b % 3)];
                log.record(store, Hour(i64::from(c)), channel, &ids)
                    .unwrap();
            }
            1 => {
                let q = Query::parse(QUERIES[usize::from(a) % QUERIES.len()]).unwrap();
                let rule = Rule::new(format!("r{i}"), q).add(format!("t{}", b % 8));
                rules = rules.rule(if c % 2 == 0 {
                    rule.remove_group("g")
                } else {
                    rule
                });
            }
            2 => {
                thresholds.insert(i64::from_le_bytes([a, b, c, a, b, c, a, b]));
            }
            _ => {}
        }
    }
    let mut e = Extras::new();
    e.send_logs.insert("log".into(), log);
    if !rules.rules.is_empty() {
        e.rule_sets.insert("rules".into(), rules);
    }
    if !thresholds.is_empty() {
        let mut tiers = Tiers::new("n", "tier");
        for (i, v) in thresholds.into_iter().rev().enumerate() {
            tiers = tiers.tier(format!("tier {i}"), v).unwrap();
        }
        e.tiers.insert("tiers".into(), tiers.rest("rest").unwrap());
    }
    let bins = 3 + (ops.len() % 8) as u8;
    e.rfm.insert(
        "rfm".into(),
        RfmConfig::new("d", "n", "n")
            .segments(None)
            .bins(bins)
            .unwrap(),
    );
    e
}

fn key(k: u8) -> CustomerKey {
    if k.is_multiple_of(3) {
        CustomerKey::member(format!("m{k}")).unwrap()
    } else {
        CustomerKey::Phone(66_800_000_000 + u64::from(k))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&n_ops, rest)) = data.split_first() else {
        return;
    };
    let split = (usize::from(n_ops) * 4).min(rest.len());
    let (ops, damage) = rest.split_at(split);
    let store = build(ops);
    let extras = build_extras(ops, &store);
    let mut bytes = Vec::new();
    audience::snapshot::write_with(&store, &extras, &mut bytes).unwrap();
    let (loaded, loaded_extras) = audience::snapshot::read_with(&bytes[..]).unwrap();
    assert_eq!(loaded_extras, without_erased(&store, &extras));
    check_loaded_with(&bytes, &loaded, &loaded_extras);
    let mut again = Vec::new();
    audience::snapshot::write_with(&loaded, &loaded_extras, &mut again).unwrap();
    assert_eq!(bytes, again);

    // Damage: pairs of (position, xor); a zero xor truncates there instead.
    let mut bad = bytes.clone();
    for d in damage.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([d[0], d[1]])) % bad.len().max(1);
        if d[2] == 0 {
            bad.truncate(at);
        } else if let Some(b) = bad.get_mut(at) {
            *b ^= d[2];
        }
    }
    if bad != bytes {
        assert!(
            audience::snapshot::read_with(&bad[..]).is_err(),
            "damaged snapshot loaded"
        );
    }
});
