//! The customer directory through the store, against a model (key -> id map, id -> key
//! vector): bulk registration as `CustomerKey`s and as phone digits (small batches and
//! batches large enough to go in shard by shard), single registrations, erasures, snapshot
//! round trips, and the journal replayed onto an empty store.

use std::collections::HashMap;

use audience::journal::replay;
use audience::{CustomerKey, RoaringBitmap, Store};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Phones(Vec<u64>),
    Keys(Vec<CustomerKey>),
    /// `len` consecutive phone numbers from `66_800_000_000 + start`.
    Range(u64, u64),
    Add(CustomerKey),
    Erase(u32),
    RoundTrip,
}

fn phone() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => (0u64..50).prop_map(|p| 66_800_000_000 + p),
        1 => (0u64..9_000).prop_map(|p| 66_800_000_000 + p),
        1 => 1u64..50,
    ]
}

fn key() -> impl Strategy<Value = CustomerKey> {
    prop_oneof![
        3 => phone().prop_map(CustomerKey::Phone),
        1 => (0u8..20).prop_map(|m| CustomerKey::Member(format!("M-{m}"))),
        1 => (1u64..50).prop_map(|m| CustomerKey::Member(m.to_string())),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec(phone(), 0..40).prop_map(Op::Phones),
        3 => prop::collection::vec(key(), 0..40).prop_map(Op::Keys),
        1 => (0u64..9_000, 3_000u64..6_000).prop_map(|(s, n)| Op::Range(s, n)),
        2 => key().prop_map(Op::Add),
        2 => (0u32..200).prop_map(Op::Erase),
        1 => Just(Op::RoundTrip),
    ]
}

#[derive(Default)]
struct Model {
    ids: HashMap<CustomerKey, u32>,
    keys: Vec<Option<CustomerKey>>,
}

impl Model {
    fn ensure(&mut self, k: &CustomerKey) -> u32 {
        if let Some(&id) = self.ids.get(k) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.ids.insert(k.clone(), id);
        self.keys.push(Some(k.clone()));
        id
    }
}

fn check(s: &Store, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.id_space(), m.keys.len() as u64);
    prop_assert_eq!(s.customer_count(), m.ids.len() as u64);
    let live: RoaringBitmap = m.ids.values().copied().collect();
    prop_assert_eq!(s.customers(), &live);
    for (id, k) in m.keys.iter().enumerate() {
        prop_assert_eq!(s.key(id as u32).map(|k| k.to_owned()), k.clone());
    }
    for (k, &id) in &m.ids {
        prop_assert_eq!(s.customer(k), Some(id));
    }
    Ok(())
}

fn round_trip(s: &Store) -> Store {
    let mut bytes = Vec::new();
    audience::snapshot::write(s, &mut bytes).unwrap();
    audience::snapshot::read(&bytes[..]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn directory_matches_model(ops in prop::collection::vec(op(), 1..12)) {
        let mut s = Store::new();
        let mut m = Model::default();
        // The journal of every change, across round trips (a read store starts an empty one).
        let mut journal = Vec::new();
        for op in &ops {
            match op {
                Op::Phones(ps) => {
                    let want: Vec<u32> = ps.iter().map(|&p| m.ensure(&CustomerKey::Phone(p))).collect();
                    prop_assert_eq!(s.ensure_phones(ps).unwrap(), want);
                }
                Op::Keys(ks) => {
                    let want: Vec<u32> = ks.iter().map(|k| m.ensure(k)).collect();
                    prop_assert_eq!(s.ensure_customers(ks.iter().cloned()).unwrap(), want);
                }
                Op::Range(start, n) => {
                    let ps: Vec<u64> = (*start..start + n).map(|p| 66_800_000_000 + p).collect();
                    let want: Vec<u32> = ps.iter().map(|&p| m.ensure(&CustomerKey::Phone(p))).collect();
                    prop_assert_eq!(s.ensure_phones(&ps).unwrap(), want);
                }
                Op::Add(k) => {
                    let new = !m.ids.contains_key(k);
                    let got = s.add_customer(k.clone());
                    prop_assert_eq!(got.is_ok(), new);
                    let id = m.ensure(k);
                    if new {
                        prop_assert_eq!(got.unwrap(), id);
                    }
                }
                Op::Erase(id) => {
                    let live = m.keys.get(*id as usize).cloned().flatten();
                    prop_assert_eq!(s.erase_customer(*id).is_ok(), live.is_some());
                    if let Some(k) = live {
                        m.ids.remove(&k);
                        m.keys[*id as usize] = None;
                    }
                }
                Op::RoundTrip => {
                    journal.extend(s.journal_mut().take());
                    s = round_trip(&s);
                }
            }
            check(&s, &m)?;
        }
        journal.extend(s.journal_mut().take());
        let mut replayed = Store::new();
        replay(&mut replayed, &journal).unwrap();
        check(&replayed, &m)?;
    }
}

/// A bad key anywhere in a batch, even the last of a large one, refuses the whole batch
/// with the key's own message, and nothing changes: no id, no journal record.
#[test]
fn a_bad_key_refuses_the_whole_batch() {
    let mut s = Store::new();
    s.ensure_phones(&[85_290_000_000, 85_290_000_001]).unwrap();
    let pending = s.journal().pending_bytes();
    let mut ps: Vec<u64> = (0..10_000u64).map(|i| 66_800_000_000 + i).collect();
    ps.push(1_000_000_000_000_000);
    let e = s.ensure_phones(&ps).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid customer key \"1000000000000000\": a phone key is 1 to 15 digits (E.164 without '+')"
    );
    ps[5_000] = 0;
    let e = s.ensure_phones(&ps).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid customer key \"0\": a phone key is 1 to 15 digits (E.164 without '+')"
    );
    let mut ks: Vec<CustomerKey> = (0..10_000u64)
        .map(|i| CustomerKey::Phone(66_800_000_000 + i))
        .collect();
    ks.push(CustomerKey::Member(String::new()));
    let e = s.ensure_customers(ks).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid customer key \"\": a member id must not be empty"
    );
    assert_eq!(s.id_space(), 2);
    assert_eq!(s.customer_count(), 2);
    assert_eq!(s.customer(&CustomerKey::Phone(66_800_000_000)), None);
    assert_eq!(s.journal().pending_bytes(), pending);
}

/// A large batch with repeats and keys already present: the first occurrence of a new key
/// takes the next id, a repeat the same id, a present key its own; the new ids follow input
/// order whatever shard the keys fall in.
#[test]
fn large_batch_ids_follow_input_order() {
    let mut s = Store::new();
    let early: Vec<u64> = (0..100u64).map(|i| 66_800_000_000 + 3 * i).collect();
    assert_eq!(
        s.ensure_phones(&early).unwrap(),
        (0..100).collect::<Vec<u32>>()
    );
    let batch: Vec<u64> = (0..20_000u64).map(|i| 66_800_000_000 + i / 2).collect();
    let ids = s.ensure_phones(&batch).unwrap();
    let mut next = 100u32;
    for (i, &p) in batch.iter().enumerate() {
        let offset = p - 66_800_000_000;
        let want = if offset % 3 == 0 && offset < 300 {
            (offset / 3) as u32
        } else if i % 2 == 0 {
            next += 1;
            next - 1
        } else {
            ids[i - 1]
        };
        assert_eq!(ids[i], want, "key {p} at {i}");
    }
    assert_eq!(s.id_space(), 100 + 10_000 - 100);
    assert_eq!(s.customer_count(), s.id_space());
}
