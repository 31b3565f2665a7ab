//! Random sequences of every mutating store operation, checked against a naive model
//! (`BTreeMap<customer, BTreeMap<tag, assignment day>>` plus attribute maps) after every
//! step, on every read the store offers.

use std::collections::{BTreeMap, BTreeSet};

use audience::{
    AttrId, AttrKind, CustomerKey, Day, Edit, RoaringBitmap, Store, TagId, TagSpec, Value,
};
use proptest::prelude::*;

const TAGS: usize = 4;
const TTL: [Option<u32>; TAGS] = [Some(10), Some(3), None, None];

#[derive(Clone, Debug)]
enum Op {
    AddCustomer(u8),
    Erase(u8),
    AddTag(u8, u8, i32),
    RemoveTag(u8, u8),
    AddBulk(u8, Vec<u8>, i32),
    RemoveBulk(u8, Vec<u8>),
    MoveBulk(Vec<u8>, u8, u8, i32),
    SetTags(u8, Vec<u8>, i32),
    SetValue(u8, u8, i64),
    SetValues(u8, Vec<(u8, i64)>),
    ClearValue(u8, u8),
    Expire(i32),
    Delete(u8),
    Merge(u8, u8),
    Archive(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0u8..10;
    let t = 0u8..TAGS as u8;
    let d = 0i32..40;
    let cs = prop::collection::vec(0u8..10, 0..8);
    let v = prop_oneof![
        -50i64..50,
        Just(i64::MIN),
        Just(i64::MAX),
        -1_000_000i64..1_000_000
    ];
    prop_oneof![
        4 => c.clone().prop_map(Op::AddCustomer),
        1 => c.clone().prop_map(Op::Erase),
        4 => (c.clone(), t.clone(), d.clone()).prop_map(|(a, b, d)| Op::AddTag(a, b, d)),
        2 => (c.clone(), t.clone()).prop_map(|(a, b)| Op::RemoveTag(a, b)),
        2 => (t.clone(), cs.clone(), d.clone()).prop_map(|(a, b, d)| Op::AddBulk(a, b, d)),
        1 => (t.clone(), cs.clone()).prop_map(|(a, b)| Op::RemoveBulk(a, b)),
        1 => (cs.clone(), t.clone(), t.clone(), d.clone()).prop_map(|(a, b, c, d)| Op::MoveBulk(a, b, c, d)),
        1 => (c.clone(), prop::collection::vec(0u8..TAGS as u8, 0..4), d.clone()).prop_map(|(a, b, d)| Op::SetTags(a, b, d)),
        3 => (c.clone(), 0u8..2, v.clone()).prop_map(|(a, b, v)| Op::SetValue(a, b, v)),
        1 => (0u8..2, prop::collection::vec((0u8..10, v.clone()), 0..10)).prop_map(|(a, b)| Op::SetValues(a, b)),
        1 => (c.clone(), 0u8..2).prop_map(|(a, b)| Op::ClearValue(a, b)),
        1 => (0i32..60).prop_map(Op::Expire),
        1 => t.clone().prop_map(Op::Delete),
        1 => (t.clone(), t.clone()).prop_map(|(a, b)| Op::Merge(a, b)),
        1 => t.prop_map(Op::Archive),
    ]
}

#[derive(Default, Debug)]
struct Model {
    /// key index -> id, for live customers.
    ids: BTreeMap<u8, u32>,
    next_id: u32,
    tags: BTreeMap<u32, BTreeMap<usize, Day>>,
    live_tags: BTreeSet<usize>,
    archived: BTreeSet<usize>,
    values: BTreeMap<(u32, u8), i64>,
}

fn key(k: u8) -> CustomerKey {
    CustomerKey::member(format!("member-{k}")).unwrap()
}

fn id_of(m: &Model, k: u8) -> u32 {
    // Unknown keys map to an id that is never live.
    m.ids.get(&k).copied().unwrap_or(u32::MAX - u32::from(k))
}

fn set_of(m: &Model, ks: &[u8]) -> RoaringBitmap {
    ks.iter().map(|k| id_of(m, *k)).collect()
}

fn all_live(m: &Model, ks: &[u8]) -> bool {
    ks.iter().all(|k| m.ids.contains_key(k))
}

fn check(store: &Store, m: &Model, tags: &[TagId], attrs: &[AttrId]) {
    let live: RoaringBitmap = m.ids.values().copied().collect();
    assert_eq!(store.customers(), &live);
    assert_eq!(store.customer_count(), m.ids.len() as u64);
    for (&k, &id) in &m.ids {
        assert_eq!(store.customer(&key(k)), Some(id));
        assert_eq!(store.key(id).map(|k| k.to_owned()), Some(key(k)));
    }
    for (t, &tag) in tags.iter().enumerate() {
        if !m.live_tags.contains(&t) {
            assert!(store.members(tag).is_err());
            continue;
        }
        let want: RoaringBitmap = m
            .tags
            .iter()
            .filter(|(_, ts)| ts.contains_key(&t))
            .map(|(c, _)| *c)
            .collect();
        assert_eq!(store.members(tag).unwrap(), &want, "tag {t}");
        for (&c, ts) in &m.tags {
            assert_eq!(store.assigned_day(c, tag).unwrap(), ts.get(&t).copied());
        }
        for cut in [0, 5, 17, 39] {
            let before: RoaringBitmap = m
                .tags
                .iter()
                .filter(|(_, ts)| {
                    ts.get(&t)
                        .is_some_and(|d| *d < Day::EPOCH.saturating_add(cut))
                })
                .map(|(c, _)| *c)
                .collect();
            assert_eq!(
                store
                    .assigned_before(tag, Day::EPOCH.saturating_add(cut))
                    .unwrap(),
                before
            );
        }
        let total: u64 = store
            .assignment_days(tag)
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(total, want.len());
    }
    for &id in m.ids.values() {
        let want: Vec<TagId> = m
            .tags
            .get(&id)
            .map(|ts| ts.keys().map(|t| tags[*t]).collect())
            .unwrap_or_default();
        assert_eq!(store.tags_of(id).unwrap(), want);
    }
    for (a, &attr) in attrs.iter().enumerate() {
        for &id in m.ids.values() {
            let want = m.values.get(&(id, a as u8)).map(|v| Value::Int(*v));
            assert_eq!(store.value(id, attr).unwrap(), want);
        }
        for (lo, hi) in [
            (-10, 10),
            (i64::MIN, i64::MAX),
            (0, 0),
            (i64::MIN, -20),
            (30, i64::MAX),
        ] {
            let want: RoaringBitmap = m
                .values
                .iter()
                .filter(|((_, aa), v)| *aa == a as u8 && **v >= lo && **v <= hi)
                .map(|((c, _), _)| *c)
                .collect();
            assert_eq!(
                store.range(attr, Value::Int(lo), Value::Int(hi)).unwrap(),
                want,
                "attr {a} {lo}..={hi}"
            );
        }
    }
}

fn apply(store: &mut Store, m: &mut Model, op: &Op, tags: &[TagId], attrs: &[AttrId]) {
    let e = Edit::new("admin", Day::from_days(0).unwrap()).because("test");
    let writable = |m: &Model, t: usize| m.live_tags.contains(&t) && !m.archived.contains(&t);
    match op {
        Op::AddCustomer(k) => {
            let r = store.ensure_customer(key(*k)).unwrap();
            if let Some(&id) = m.ids.get(k) {
                assert_eq!(r, (id, false));
            } else {
                assert_eq!(r, (m.next_id, true));
                m.ids.insert(*k, m.next_id);
                m.next_id += 1;
            }
        }
        Op::Erase(k) => {
            let id = id_of(m, *k);
            let r = store.erase_customer(id);
            assert_eq!(r.is_ok(), m.ids.remove(k).is_some());
            m.tags.remove(&id);
            m.values.retain(|(c, _), _| *c != id);
        }
        Op::AddTag(k, t, d) => {
            let (id, t) = (id_of(m, *k), *t as usize);
            let ok = m.ids.contains_key(k) && writable(m, t);
            assert_eq!(
                store
                    .add_tag(id, tags[t], Day::EPOCH.saturating_add(*d))
                    .is_ok(),
                ok
            );
            if ok {
                m.tags
                    .entry(id)
                    .or_default()
                    .insert(t, Day::EPOCH.saturating_add(*d));
            }
        }
        Op::RemoveTag(k, t) => {
            let (id, t) = (id_of(m, *k), *t as usize);
            let ok = m.ids.contains_key(k) && m.live_tags.contains(&t);
            let r = store.remove_tag(id, tags[t]);
            assert_eq!(r.is_ok(), ok);
            if ok {
                let had = m.tags.get_mut(&id).and_then(|ts| ts.remove(&t)).is_some();
                assert_eq!(r.unwrap(), had);
            }
        }
        Op::AddBulk(t, ks, d) => {
            let t = *t as usize;
            let ok = all_live(m, ks) && writable(m, t);
            assert_eq!(
                store
                    .add_tag_bulk(tags[t], &set_of(m, ks), Day::EPOCH.saturating_add(*d))
                    .is_ok(),
                ok
            );
            if ok {
                for k in ks {
                    m.tags
                        .entry(id_of(m, *k))
                        .or_default()
                        .insert(t, Day::EPOCH.saturating_add(*d));
                }
            }
        }
        Op::RemoveBulk(t, ks) => {
            let t = *t as usize;
            let ok = m.live_tags.contains(&t);
            let r = store.remove_tag_bulk(tags[t], &set_of(m, ks));
            assert_eq!(r.is_ok(), ok);
            if ok {
                let mut n = 0;
                for id in set_of(m, ks) {
                    if m.tags.get_mut(&id).and_then(|ts| ts.remove(&t)).is_some() {
                        n += 1;
                    }
                }
                assert_eq!(r.unwrap(), n);
            }
        }
        Op::MoveBulk(ks, from, to, d) => {
            let (from, to) = (*from as usize, *to as usize);
            let ok =
                from != to && all_live(m, ks) && m.live_tags.contains(&from) && writable(m, to);
            let r = store.move_tag_bulk(
                &set_of(m, ks),
                tags[from],
                tags[to],
                Day::EPOCH.saturating_add(*d),
            );
            assert_eq!(r.is_ok(), ok, "{r:?}");
            if ok {
                for k in ks {
                    let ts = m.tags.entry(id_of(m, *k)).or_default();
                    ts.remove(&from);
                    ts.insert(to, Day::EPOCH.saturating_add(*d));
                }
            }
        }
        Op::SetTags(k, ts, d) => {
            let id = id_of(m, *k);
            let want: BTreeSet<usize> = ts.iter().map(|t| *t as usize).collect();
            let current: BTreeSet<usize> = m
                .tags
                .get(&id)
                .map(|x| x.keys().copied().collect())
                .unwrap_or_default();
            let ok = m.ids.contains_key(k)
                && want.iter().all(|t| m.live_tags.contains(t))
                && want.difference(&current).all(|t| !m.archived.contains(t));
            let ids: Vec<TagId> = ts.iter().map(|t| tags[*t as usize]).collect();
            let r = store.set_tags(id, &ids, Day::EPOCH.saturating_add(*d));
            assert_eq!(r.is_ok(), ok, "{r:?}");
            if ok {
                let diff = r.unwrap();
                let added: Vec<TagId> = want.difference(&current).map(|t| tags[*t]).collect();
                let removed: Vec<TagId> = current.difference(&want).map(|t| tags[*t]).collect();
                assert_eq!((diff.added, diff.removed), (added, removed));
                let entry = m.tags.entry(id).or_default();
                entry.retain(|t, _| want.contains(t));
                for t in want {
                    entry.entry(t).or_insert(Day::EPOCH.saturating_add(*d));
                }
            }
        }
        Op::SetValue(k, a, v) => {
            let id = id_of(m, *k);
            let ok = m.ids.contains_key(k);
            assert_eq!(store.set_value(id, attrs[*a as usize], *v).is_ok(), ok);
            if ok {
                m.values.insert((id, *a), *v);
            }
        }
        Op::SetValues(a, pairs) => {
            let ids: Vec<u32> = pairs.iter().map(|(k, _)| id_of(m, *k)).collect();
            let vals: Vec<Value> = pairs.iter().map(|(_, v)| Value::Int(*v)).collect();
            let ok = pairs.iter().all(|(k, _)| m.ids.contains_key(k));
            assert_eq!(
                store.set_values(attrs[*a as usize], &ids, &vals).is_ok(),
                ok
            );
            if ok {
                for (id, v) in ids.iter().zip(vals) {
                    m.values.insert((*id, *a), v.raw());
                }
            }
        }
        Op::ClearValue(k, a) => {
            let id = id_of(m, *k);
            let r = store.clear_value(id, attrs[*a as usize]);
            assert_eq!(r.is_ok(), m.ids.contains_key(k));
            if let Ok(had) = r {
                assert_eq!(had, m.values.remove(&(id, *a)).is_some());
            }
        }
        Op::Expire(today) => {
            let removed = store.expire(Day::EPOCH.saturating_add(*today));
            let mut want: BTreeMap<TagId, RoaringBitmap> = BTreeMap::new();
            for (&c, ts) in m.tags.iter_mut() {
                ts.retain(|t, d| {
                    let expired = m.live_tags.contains(t)
                        && TTL[*t].is_some_and(|ttl| d.as_i32() + ttl as i32 <= *today);
                    if expired {
                        want.entry(tags[*t]).or_default().insert(c);
                    }
                    !expired
                });
            }
            let got: BTreeMap<TagId, RoaringBitmap> = removed.into_iter().collect();
            assert_eq!(got, want);
        }
        Op::Delete(t) => {
            let t = *t as usize;
            let ok = m.live_tags.contains(&t);
            let r = store.delete_tag(&e, tags[t]);
            assert_eq!(r.is_ok(), ok);
            if ok {
                m.live_tags.remove(&t);
                for ts in m.tags.values_mut() {
                    ts.remove(&t);
                }
            }
        }
        Op::Merge(into, from) => {
            let (into, from) = (*into as usize, *from as usize);
            let ok = into != from && writable(m, into) && m.live_tags.contains(&from);
            let r = store.merge_tags(&e, tags[into], tags[from]);
            assert_eq!(r.is_ok(), ok, "{r:?}");
            if ok {
                m.live_tags.remove(&from);
                for ts in m.tags.values_mut() {
                    if let Some(d) = ts.remove(&from) {
                        ts.entry(into).or_insert(d);
                    }
                }
            }
        }
        Op::Archive(t) => {
            let t = *t as usize;
            let r = store.archive_tag(&e, tags[t]);
            assert_eq!(r.is_ok(), m.live_tags.contains(&t));
            if r.is_ok() {
                m.archived.insert(t);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_model(ops in prop::collection::vec(op(), 10..80)) {
        let mut store = Store::new();
        let e = Edit::new("admin", Day::from_days(0).unwrap());
        let mut tags = Vec::new();
        for (i, ttl) in TTL.iter().enumerate() {
            let mut spec = TagSpec::new(format!("tag {i}"));
            if let Some(ttl) = ttl {
                spec = spec.ttl_days(*ttl);
            }
            tags.push(store.create_tag(&e, spec).unwrap());
        }
        let attrs = vec![
            store.define_attribute("a0", AttrKind::Int).unwrap(),
            store.define_attribute("a1", AttrKind::Int).unwrap(),
        ];
        let mut m = Model { live_tags: (0..TAGS).collect(), ..Model::default() };
        for k in 0..6 {
            apply(&mut store, &mut m, &Op::AddCustomer(k), &tags, &attrs);
        }
        for op in &ops {
            // A clone taken before the write must not see it (copy on write).
            let before = store.clone();
            let snapshot: Vec<RoaringBitmap> = tags.iter().filter_map(|t| before.members(*t).ok().cloned()).collect();
            apply(&mut store, &mut m, op, &tags, &attrs);
            let after: Vec<RoaringBitmap> = tags.iter().filter_map(|t| before.members(*t).ok().cloned()).collect();
            prop_assert_eq!(snapshot, after);
            check(&store, &m, &tags, &attrs);
        }
    }
}
