//! The change journal: random sequences of every mutating operation (one by one, in batches
//! of the app's, and through the capabilities that write: imports, rule runs, tiers,
//! materialised queries), journaled; a snapshot at a random point; then for every byte
//! offset at which the journal could be cut, snapshot + replay of the prefix must equal the
//! store after the last whole batch before the cut, compared as snapshot bytes. Also:
//! flipped bytes before the tail are refused with the record's offset and leave the store
//! as it was, every error's text, and the golden journal of record version 1.

use audience::journal::{Tail, replay};
use audience::{
    AttrKind, CustomerKey, Day, Edit, ErrorKind, Importer, JournalProblem, Policy, Query,
    RoaringBitmap, Rule, RuleSet, Run, Store, TagKind, TagSpec, TagTemplate, Tiers, Value,
};
use proptest::prelude::*;

fn day(d: i32) -> Day {
    Day::from_ymd(2026, 1, 1).unwrap() + d
}

fn edit(d: i32) -> Edit {
    Edit::new("admin", day(d)).because("test")
}

fn snapshot(store: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    audience::snapshot::write(store, &mut out).unwrap();
    out
}

fn key(k: u8) -> CustomerKey {
    if k.is_multiple_of(3) {
        CustomerKey::Phone(66_800_000_000 + u64::from(k))
    } else {
        CustomerKey::member(format!("m-{k}")).unwrap()
    }
}

const NAMES: [&str; 6] = ["vip", "new", "ลูกค้าใหม่", "churn risk", "VIP ", "gold"];
const DIMS: [&str; 3] = ["general", "stage", "power"];

#[derive(Clone, Debug)]
enum Op {
    AddCustomer(u8),
    EnsureCustomers(Vec<u8>),
    Erase(u8),
    CreateTag(u8, u8, Option<u32>),
    Rename(u8, u8),
    Archive(u8, bool),
    Delete(u8),
    Merge(u8, u8),
    SetTtl(u8, Option<u32>),
    Describe(u8, bool),
    Colour(u8, Option<u8>),
    RecordUse(u8, i32),
    Policy(bool),
    AddTag(u8, u8, i32),
    RemoveTag(u8, u8),
    AddBulk(u8, Vec<u8>, i32),
    RemoveBulk(u8, Vec<u8>),
    MoveBulk(Vec<u8>, u8, u8, i32),
    SetTags(u8, Vec<u8>, i32),
    Expire(i32),
    Define(u8, bool),
    SetValue(u8, u8, i64),
    SetValues(u8, Vec<(u8, i64)>),
    DaysFromNumbers(u8, Vec<(u8, i64)>),
    Clear(u8, u8),
    /// `Store::clear_values` for the customers of the list (missing ones dropped).
    ClearMany(u8, Vec<u8>),
    /// A whole column: `16 + n` more customers, then a value for every live customer, in
    /// ascending order (the packed record), spread by the step of the given index.
    Column(u8, u8, i64, u8),
    /// `Store::set_column` from id 0: `None` is no value (a customer that had one loses
    /// it), values scaled by the step of the given index to cross every width.
    WholeColumn(u8, Vec<Option<i64>>, u8),
    Batch(Vec<Op>),
    Import(Vec<(u8, u8)>, i32),
    Rules(i32),
    Materialise(u8, i32),
    Tiers(i32),
}

fn simple() -> impl Strategy<Value = Op> {
    let c = 0u8..12;
    let t = 0u8..8;
    let d = 0i32..30;
    let cs = prop::collection::vec(0u8..12, 0..6);
    prop_oneof![
        4 => c.clone().prop_map(Op::AddCustomer),
        2 => cs.clone().prop_map(Op::EnsureCustomers),
        1 => c.clone().prop_map(Op::Erase),
        3 => (0u8..6, 0u8..3, prop::option::of(1u32..20)).prop_map(|(a, b, c)| Op::CreateTag(a, b, c)),
        1 => (t.clone(), 0u8..6).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (t.clone(), any::<bool>()).prop_map(|(a, b)| Op::Archive(a, b)),
        1 => t.clone().prop_map(Op::Delete),
        1 => (t.clone(), t.clone()).prop_map(|(a, b)| Op::Merge(a, b)),
        1 => (t.clone(), prop::option::of(1u32..20)).prop_map(|(a, b)| Op::SetTtl(a, b)),
        1 => (t.clone(), any::<bool>()).prop_map(|(a, b)| Op::Describe(a, b)),
        1 => (0u8..3, prop::option::of(0u8..3)).prop_map(|(a, b)| Op::Colour(a, b)),
        1 => (t.clone(), d.clone()).prop_map(|(a, b)| Op::RecordUse(a, b)),
        1 => any::<bool>().prop_map(Op::Policy),
        4 => (c.clone(), t.clone(), d.clone()).prop_map(|(a, b, d)| Op::AddTag(a, b, d)),
        2 => (c.clone(), t.clone()).prop_map(|(a, b)| Op::RemoveTag(a, b)),
        2 => (t.clone(), cs.clone(), d.clone()).prop_map(|(a, b, d)| Op::AddBulk(a, b, d)),
        1 => (t.clone(), cs.clone()).prop_map(|(a, b)| Op::RemoveBulk(a, b)),
        1 => (cs.clone(), t.clone(), t.clone(), d.clone()).prop_map(|(a, b, c, d)| Op::MoveBulk(a, b, c, d)),
        1 => (c.clone(), prop::collection::vec(0u8..8, 0..4), d.clone()).prop_map(|(a, b, d)| Op::SetTags(a, b, d)),
        1 => (0i32..60).prop_map(Op::Expire),
        1 => (0u8..3, any::<bool>()).prop_map(|(a, b)| Op::Define(a, b)),
        3 => (c.clone(), 0u8..3, -100i64..100).prop_map(|(a, b, v)| Op::SetValue(a, b, v)),
        1 => (0u8..3, prop::collection::vec((0u8..12, -100i64..100), 0..6)).prop_map(|(a, b)| Op::SetValues(a, b)),
        1 => (0u8..3, prop::collection::vec((0u8..12, -3i64..100), 0..6)).prop_map(|(a, b)| Op::DaysFromNumbers(a, b)),
        1 => (c.clone(), 0u8..3).prop_map(|(a, b)| Op::Clear(a, b)),
        1 => (0u8..3, cs.clone()).prop_map(|(a, b)| Op::ClearMany(a, b)),
        1 => (0u8..3, 0u8..8, -100i64..100, 0u8..6).prop_map(|(a, n, b, k)| Op::Column(a, n, b, k)),
        2 => (0u8..3, prop::collection::vec(prop::option::weighted(0.8, -100i64..100), 0..16), 0u8..5)
            .prop_map(|(a, v, k)| Op::WholeColumn(a, v, k)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => simple(),
        2 => prop::collection::vec(simple(), 0..4).prop_map(Op::Batch),
        1 => (prop::collection::vec((0u8..16, 0u8..6), 1..6), 0i32..30).prop_map(|(a, b)| Op::Import(a, b)),
        1 => (0i32..30).prop_map(Op::Rules),
        1 => (0u8..6, 0i32..30).prop_map(|(a, b)| Op::Materialise(a, b)),
        1 => (0i32..30).prop_map(Op::Tiers),
    ]
}

fn tag(s: &Store, i: u8) -> Option<audience::TagId> {
    let n = s.tag_count();
    (n > 0)
        .then(|| s.tags().nth(i as usize % n).map(|t| t.id))
        .flatten()
}

fn cust(s: &Store, k: u8) -> u32 {
    s.customer(&key(k)).unwrap_or(9_999)
}

fn set(s: &Store, ks: &[u8]) -> RoaringBitmap {
    ks.iter()
        .map(|&k| cust(s, k))
        .filter(|&c| c != 9_999)
        .collect()
}

/// Applies one operation; errors are part of the game (a refused change journals nothing).
fn apply(s: &mut Store, op: &Op) {
    let _ = try_apply(s, op);
}

fn try_apply(s: &mut Store, op: &Op) -> Result<(), audience::Error> {
    let missing = || audience::Error::from(ErrorKind::InvalidArgument("no tag".into()));
    match op {
        Op::AddCustomer(k) => {
            s.add_customer(key(*k))?;
        }
        Op::EnsureCustomers(ks) => {
            s.ensure_customers(ks.iter().map(|&k| key(k)))?;
        }
        Op::Erase(k) => s.erase_customer(cust(s, *k))?,
        Op::CreateTag(n, d, ttl) => {
            let mut spec = TagSpec::new(NAMES[*n as usize]).dimension(DIMS[*d as usize]);
            spec.ttl_days = *ttl;
            s.create_tag(&edit(0), spec)?;
        }
        Op::Rename(t, n) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            s.rename_tag(&edit(1), t, NAMES[*n as usize])?;
        }
        Op::Archive(t, on) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            if *on {
                s.archive_tag(&edit(2), t)?;
            } else {
                s.unarchive_tag(&edit(2), t)?;
            }
        }
        Op::Delete(t) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            s.delete_tag(&edit(3), t)?;
        }
        Op::Merge(a, b) => {
            let (a, b) = (
                tag(s, *a).ok_or_else(missing)?,
                tag(s, *b).ok_or_else(missing)?,
            );
            s.merge_tags(&edit(4), a, b)?;
        }
        Op::SetTtl(t, ttl) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            s.set_ttl(&edit(5), t, *ttl)?;
        }
        Op::Describe(t, dynamic) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            let kind = if *dynamic {
                TagKind::Dynamic
            } else {
                TagKind::Static
            };
            s.describe_tag(&edit(6), t, kind, "kept by hand")?;
        }
        Op::Colour(d, c) => {
            let colour = c.map(|c| ["red", "#00ff00", "ฟ้า"][c as usize].to_string());
            s.set_dimension_colour(&edit(7), DIMS[*d as usize], colour)?;
        }
        Op::RecordUse(t, d) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            s.record_use(t, day(*d))?;
        }
        Op::Policy(admins) => {
            let policy = if *admins {
                Policy::administered_by(["admin"])?
            } else {
                Policy::open()
            };
            s.set_policy(&edit(8), policy)?;
        }
        Op::AddTag(c, t, d) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            s.add_tag(cust(s, *c), t, day(*d))?;
        }
        Op::RemoveTag(c, t) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            s.remove_tag(cust(s, *c), t)?;
        }
        Op::AddBulk(t, cs, d) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            let set = set(s, cs);
            if cs.len() % 2 == 0 {
                s.add_tag_bulk(t, &set, day(*d))?;
            } else {
                s.add_tag_bulk_owned(t, set, day(*d))?;
            }
        }
        Op::RemoveBulk(t, cs) => {
            let t = tag(s, *t).ok_or_else(missing)?;
            let set = set(s, cs);
            s.remove_tag_bulk(t, &set)?;
        }
        Op::MoveBulk(cs, a, b, d) => {
            let (a, b) = (
                tag(s, *a).ok_or_else(missing)?,
                tag(s, *b).ok_or_else(missing)?,
            );
            let set = set(s, cs);
            s.move_tag_bulk(&set, a, b, day(*d))?;
        }
        Op::SetTags(c, ts, d) => {
            let ts: Vec<_> = ts.iter().filter_map(|&t| tag(s, t)).collect();
            s.set_tags(cust(s, *c), &ts, day(*d))?;
        }
        Op::Expire(d) => {
            s.expire(day(*d));
        }
        Op::Define(n, is_day) => {
            let kind = if *is_day {
                AttrKind::Day
            } else {
                AttrKind::Int
            };
            s.define_attribute(["spend", "last_seen", "visits"][*n as usize], kind)?;
        }
        Op::SetValue(c, a, v) => {
            let Some(info) = s.attributes().nth(*a as usize) else {
                return Err(missing());
            };
            let (id, value) = (info.id, value_of(info.kind, *v));
            s.set_value(cust(s, *c), id, value)?;
        }
        Op::SetValues(a, pairs) => {
            let Some(info) = s.attributes().nth(*a as usize) else {
                return Err(missing());
            };
            let (id, kind) = (info.id, info.kind);
            let cs: Vec<u32> = pairs.iter().map(|(c, _)| cust(s, *c)).collect();
            let vs: Vec<Value> = pairs.iter().map(|(_, v)| value_of(kind, *v)).collect();
            s.set_values(id, &cs, &vs)?;
        }
        Op::DaysFromNumbers(a, pairs) => {
            let Some(info) = s.attributes().nth(*a as usize) else {
                return Err(missing());
            };
            let id = info.id;
            let cs: Vec<u32> = pairs.iter().map(|(c, _)| cust(s, *c)).collect();
            let ns: Vec<i64> = pairs.iter().map(|(_, n)| *n).collect();
            // Days since 2000-01-01, -1 for "no value".
            s.set_days_from_numbers(id, &cs, &ns, day(0), Some(-1))?;
        }
        Op::Clear(c, a) => {
            let Some(info) = s.attributes().nth(*a as usize) else {
                return Err(missing());
            };
            let id = info.id;
            s.clear_value(cust(s, *c), id)?;
        }
        Op::ClearMany(a, cs) => {
            let Some(info) = s.attributes().nth(*a as usize) else {
                return Err(missing());
            };
            let id = info.id;
            s.clear_values(id, &set(s, cs))?;
        }
        Op::Column(a, n, base, step) => {
            let Some(info) = s.attributes().nth(*a as usize) else {
                return Err(missing());
            };
            let (id, kind) = (info.id, info.kind);
            s.batch(|s| {
                s.ensure_customers((100..116 + n).map(key))?;
                let cs: Vec<u32> = s.customers().iter().collect();
                let vs: Vec<Value> = (0..cs.len() as i64)
                    .map(|i| match (kind, step) {
                        (AttrKind::Day, _) => value_of(kind, base + i * i64::from(*step)),
                        // Both ends of i64: the widest distance there is.
                        (_, 5) => Value::Int(if i % 2 == 0 { i64::MIN } else { i64::MAX }),
                        _ => Value::Int(base + i * [0, 1, 300, 70_000, 1 << 40][*step as usize]),
                    })
                    .collect();
                s.set_values(id, &cs, &vs)
            })?;
        }
        Op::WholeColumn(a, vs, step) => {
            let Some(info) = s.attributes().nth(*a as usize) else {
                return Err(missing());
            };
            let (id, kind) = (info.id, info.kind);
            let scale = [1, 3, 300, 70_000, 1 << 40][*step as usize];
            match kind {
                AttrKind::Day => {
                    let days: Vec<Option<Day>> =
                        vs.iter().map(|v| v.map(|v| day(v as i32))).collect();
                    s.set_column(id, &days)?;
                }
                AttrKind::Int => {
                    let ints: Vec<Option<i64>> = vs.iter().map(|v| v.map(|v| v * scale)).collect();
                    s.set_column(id, &ints)?;
                }
                AttrKind::Decimal { scale: places } => {
                    let decs: Vec<Option<audience::Decimal>> = vs
                        .iter()
                        .map(|v| v.map(|v| audience::Decimal::new(v * scale, places).unwrap()))
                        .collect();
                    s.set_column(id, &decs)?;
                }
            }
        }
        Op::Batch(ops) => s.batch(|s| {
            for op in ops {
                apply(s, op);
            }
            Ok(())
        })?,
        Op::Import(rows, d) => {
            let mut csv = String::from("member_id,tags\n");
            for (k, t) in rows {
                csv.push_str(&format!("imp-{k},{}\n", NAMES[*t as usize].trim()));
            }
            Importer::new().import_str(s, &csv, &edit(*d))?;
        }
        Op::Rules(d) => {
            let rules = RuleSet::new()
                .rule(
                    Rule::new("vip", Query::parse("spend >= 10").unwrap())
                        .add_template(TagTemplate::new("big spender").dimension("stage")),
                )
                .rule(
                    Rule::new("quiet", Query::parse("NOT spend >= 0").unwrap())
                        .remove("stage:big spender"),
                );
            let run = Run::new(day(*d)).by(Edit::new("rules", day(*d)));
            rules.run(s, &run)?;
        }
        Op::Materialise(n, d) => {
            let q = Query::parse("ALL").unwrap();
            let spec = TagSpec::new(format!("snapshot {n}")).dimension("saved");
            audience::rules::materialise(s, &Edit::new("crm", day(*d)), spec, &q, &day(*d).into())?;
        }
        Op::Tiers(d) => {
            let tiers = Tiers::new("spend", "level")
                .tier("gold", 50)?
                .tier("silver", 0)?;
            tiers.apply(s, &Edit::new("crm", day(*d)))?;
        }
    }
    Ok(())
}

fn value_of(kind: AttrKind, v: i64) -> Value {
    match kind {
        AttrKind::Int => Value::Int(v),
        AttrKind::Day => Value::Day(day(v as i32)),
        AttrKind::Decimal { scale } => Value::Decimal(audience::Decimal::new(v, scale).unwrap()),
    }
}

/// The store after each operation, as snapshot bytes, beside the journal's length then.
struct Run_ {
    journal: Vec<u8>,
    /// (journal length, snapshot) after each whole operation, the start included.
    states: Vec<(usize, Vec<u8>)>,
    /// Which state the checkpoint snapshot holds.
    checkpoint: usize,
}

fn record(ops: &[Op], checkpoint_at: usize) -> Run_ {
    let mut s = Store::new();
    let mut journal = Vec::new();
    let mut states = vec![(0, snapshot(&s))];
    for op in ops {
        apply(&mut s, op);
        s.journal_mut().drain_into(&mut journal).unwrap();
        states.push((journal.len(), snapshot(&s)));
    }
    Run_ {
        journal,
        states,
        checkpoint: checkpoint_at.min(ops.len()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Cut anywhere: snapshot + replay of the prefix is the state after the last whole
    /// batch before the cut (or the snapshot's, when the cut is before it).
    #[test]
    fn replay_of_every_prefix_is_a_state_the_store_was_in(
        ops in prop::collection::vec(op(), 1..24),
        at in 0usize..24,
    ) {
        let run = record(&ops, at);
        let base = &run.states[run.checkpoint].1;
        for cut in 0..=run.journal.len() {
            let mut store = audience::snapshot::read(&base[..]).unwrap();
            let report = replay(&mut store, &run.journal[..cut]).unwrap();
            let last = run.states.iter().rposition(|(len, _)| *len <= cut).unwrap();
            let want = last.max(run.checkpoint);
            prop_assert_eq!(
                &snapshot(&store), &run.states[want].1,
                "cut at {} of {}, expected state {}", cut, run.journal.len(), want
            );
            prop_assert_eq!(report.valid_bytes, run.states[last].0 as u64);
            prop_assert_eq!(report.bytes_ignored, (cut - run.states[last].0) as u64);
            prop_assert_eq!(report.tail.is_some(), cut != run.states[last].0);
            // Twice is harmless.
            let again = replay(&mut store, &run.journal[..cut]).unwrap();
            prop_assert_eq!(again.records_applied, 0);
            prop_assert_eq!(&snapshot(&store), &run.states[want].1);
        }
    }

    /// A flipped byte before the last record is refused, naming the damaged record's
    /// offset, and the store is unchanged; in the last record it is refused (header) or
    /// ignored as a torn tail (payload).
    #[test]
    fn flipped_bytes_are_refused_with_their_record(
        ops in prop::collection::vec(op(), 2..12),
        bit in 0u8..8,
    ) {
        let run = record(&ops, 0);
        let records = record_offsets(&run.journal);
        prop_assume!(records.len() >= 2);
        let last = *records.last().unwrap();
        for at in 0..run.journal.len() {
            let mut bytes = run.journal.clone();
            bytes[at] ^= 1 << bit;
            let mut store = Store::new();
            let before = snapshot(&store);
            let owner = *records.iter().rfind(|&&r| r <= at).unwrap();
            match replay(&mut store, &bytes) {
                Err(e) => {
                    let ErrorKind::Journal(j) = e.kind() else { panic!("{e}") };
                    prop_assert_eq!(j.offset, owner as u64, "flip at {}: {}", at, e);
                    prop_assert_eq!(&snapshot(&store), &before);
                }
                Ok(report) => {
                    // The last record's payload: a torn tail, and with it the rest of its
                    // batch.
                    prop_assert!(owner == last && at >= last + 19, "flip at {} accepted", at);
                    prop_assert!(matches!(report.tail, Some(Tail::Checksum | Tail::OpenBatch)));
                    prop_assert!(report.valid_bytes <= last as u64);
                    prop_assert_eq!(report.valid_bytes + report.bytes_ignored, bytes.len() as u64);
                }
            }
        }
    }
}

/// The offset of every record of a well-formed journal.
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        out.push(at);
        let len = u32::from_le_bytes(bytes[at + 3..at + 7].try_into().unwrap()) as usize;
        at += 19 + len + 4;
    }
    out
}

// ----------------------------------------------------------------------------------------
// The golden journal of record version 1
// ----------------------------------------------------------------------------------------

/// Every operation code once or more, with Thai, Arabic and CJK text, a batch, an import
/// and a rule run: the content of `tests/data/golden-v1.journal`.
fn golden_store() -> Store {
    let d = |y, m, dd| Day::from_ymd(y, m, dd).unwrap();
    let admin = Edit::new("mei", d(2026, 3, 2)).because("weekly clean-up");
    let mut s = Store::new();
    let a = s
        .add_customer(CustomerKey::phone("66812345678").unwrap())
        .unwrap();
    s.ensure_customers([
        CustomerKey::member("会员-007").unwrap(),
        CustomerKey::Phone(85_291_230_001),
        CustomerKey::member("M-3").unwrap(),
    ])
    .unwrap();
    let (b, _) = s
        .ensure_customer(CustomerKey::member("عميل-4").unwrap())
        .unwrap();
    let vip = s
        .create_tag(&admin, TagSpec::new("VIP").dimension("power").ttl_days(365))
        .unwrap();
    let new = s
        .create_tag(&admin, TagSpec::new("ลูกค้าใหม่").dimension("stage"))
        .unwrap();
    let old = s.create_tag(&admin, TagSpec::new("old list")).unwrap();
    let gone = s.create_tag(&admin, TagSpec::new("to delete")).unwrap();
    s.rename_tag(&admin, old, "legacy list").unwrap();
    s.archive_tag(&admin, gone).unwrap();
    s.unarchive_tag(&admin, gone).unwrap();
    s.set_ttl(&admin, new, Some(30)).unwrap();
    s.describe_tag(&admin, vip, TagKind::Static, "top 5% by spend")
        .unwrap();
    s.set_dimension_colour(&admin, "power", Some("#d4af37".into()))
        .unwrap();
    s.record_use(vip, d(2026, 3, 2)).unwrap();
    s.add_tag(a, vip, d(2026, 3, 1)).unwrap();
    s.add_tag(b, vip, d(2026, 3, 1)).unwrap();
    s.remove_tag(b, vip).unwrap();
    s.add_tag_bulk(new, &RoaringBitmap::from_iter([0, 1, 2, 3]), d(2026, 3, 1))
        .unwrap();
    s.add_tag_bulk(old, &RoaringBitmap::from_iter([1, 2, 3, 4]), d(2026, 2, 1))
        .unwrap();
    s.remove_tag_bulk(old, &RoaringBitmap::from_iter([4]))
        .unwrap();
    s.move_tag_bulk(&RoaringBitmap::from_iter([3]), old, gone, d(2026, 3, 2))
        .unwrap();
    s.set_tags(2, &[vip, new], d(2026, 3, 2)).unwrap();
    s.merge_tags(&admin, old, gone).unwrap();
    let spend = s.define_attribute("spend", AttrKind::Int).unwrap();
    let seen = s.define_attribute("last_seen", AttrKind::Day).unwrap();
    s.set_value(a, spend, 12_500).unwrap();
    s.set_values(
        seen,
        &[0, 1, 2],
        &[
            d(2026, 3, 1).into(),
            d(2026, 2, 1).into(),
            d(2025, 12, 24).into(),
        ],
    )
    .unwrap();
    s.clear_value(1, seen).unwrap();
    s.batch(|s| {
        s.add_tag(1, vip, d(2026, 3, 2))?;
        s.set_value(1, spend, 9_000)
    })
    .unwrap();
    Importer::new()
        .import_str(
            &mut s,
            "phone,tags\n+66 81 234 5678,VIP\n+852 9123 0002,ลูกค้าใหม่\n",
            &Edit::new("import", d(2026, 3, 3)),
        )
        .unwrap();
    let rules = RuleSet::new().rule(
        Rule::new("big spender", Query::parse("spend >= 10000").unwrap())
            .add_template(TagTemplate::new("big spender").dimension("power")),
    );
    rules
        .run(
            &mut s,
            &Run::new(d(2026, 3, 3)).by(Edit::new("rules", d(2026, 3, 3))),
        )
        .unwrap();
    s.expire(d(2026, 4, 5));
    s.delete_tag(&admin, old).unwrap();
    s.erase_customer(4).unwrap();
    s.set_policy(&admin, Policy::administered_by(["mei"]).unwrap())
        .unwrap();
    s
}

/// The golden journal, written once by `write_golden_v1_journal` below. Later versions of
/// the crate must replay it, with exactly this result, and journal the same operations to
/// the same bytes.
const GOLDEN_V1: &[u8] = include_bytes!("../data/golden-v1.journal");

#[test]
fn golden_v1_journal_still_replays() {
    let mut written = golden_store();
    assert_eq!(
        written.journal_mut().take(),
        GOLDEN_V1,
        "the same operations journal to the same bytes"
    );
    let mut s = Store::new();
    let report = replay(&mut s, GOLDEN_V1).unwrap();
    assert_eq!(report.records_applied, written.journal().seq());
    assert_eq!(report.last_seq, written.journal().seq());
    assert_eq!(report.bytes_ignored, 0);
    assert_eq!(report.tail, None);
    assert_eq!(report.erased, 1);
    assert_eq!(snapshot(&s), snapshot(&written));
    // The content, spelled out.
    let names: Vec<String> = s.tags().map(|t| t.qualified_name()).collect();
    assert_eq!(names, ["power:VIP", "stage:ลูกค้าใหม่", "power:big spender"]);
    assert_eq!(s.customer_count(), 5);
    assert_eq!(
        s.customer(&CustomerKey::member("会员-007").unwrap()),
        Some(1)
    );
    assert_eq!(
        s.customer(&CustomerKey::member("عميل-4").unwrap()),
        None,
        "erased"
    );
    assert_eq!(
        s.tag_names_of(0).unwrap(),
        ["power:VIP", "power:big spender"]
    );
    assert_eq!(s.policy().administrators(), ["mei"]);
}

/// Writes `tests/data/golden-v1.journal`. Run once, by hand, when the golden file is
/// created: `cargo test --test main -- --ignored write_golden_v1_journal`. Never
/// regenerate it: add a new golden file for a new record version.
#[test]
#[ignore]
fn write_golden_v1_journal() {
    write_golden("golden-v1.journal", golden_store());
}

/// The operations of `tests/data/golden-v1-op24.journal`: 20 customers, then a whole
/// column of amounts and one of days, each a packed record (op 24).
fn golden_op24_store() -> Store {
    let mut s = Store::new();
    let ids = s
        .ensure_customers((0..20u32).map(|i| CustomerKey::member(format!("m{i}")).unwrap()))
        .unwrap();
    let spend = s.define_attribute("spend", AttrKind::Int).unwrap();
    let seen = s.define_attribute("last_seen", AttrKind::Day).unwrap();
    let amounts: Vec<Value> = (0..20).map(|i| Value::Int(i * 1_000 - 3)).collect();
    s.set_values(spend, &ids, &amounts).unwrap();
    let days: Vec<Value> = (0..20).map(|i| Value::Day(day(i))).collect();
    s.set_values(seen, &ids, &days).unwrap();
    s
}

/// Checks a golden journal against the store whose operations wrote it: the same
/// operations journal to the same bytes, its records are of the operations `ops` in
/// order, and it replays onto an empty store, every record applied, to the same store.
/// Returns the replayed store, for the content checks.
fn replayed_golden(mut written: Store, golden: &[u8], ops: &[u8]) -> Store {
    assert_eq!(
        written.journal_mut().take(),
        golden,
        "the same operations journal to the same bytes"
    );
    let at = record_offsets(golden);
    let found: Vec<u8> = at.iter().map(|&o| golden[o + 2]).collect();
    assert_eq!(found, ops);
    let mut s = Store::new();
    let report = replay(&mut s, golden).unwrap();
    let n = ops.len() as u64;
    assert_eq!((report.records_applied, report.last_seq), (n, n));
    assert_eq!(snapshot(&s), snapshot(&written));
    s
}

/// Writes a golden journal under `tests/data/`, once, by hand. Never regenerate one.
#[allow(clippy::disallowed_methods)]
fn write_golden(name: &str, mut store: Store) {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(path, store.journal_mut().take()).unwrap();
}

const GOLDEN_V1_OP24: &[u8] = include_bytes!("../data/golden-v1-op24.journal");

#[test]
fn golden_op24_journal_still_replays() {
    let s = replayed_golden(golden_op24_store(), GOLDEN_V1_OP24, &[1, 20, 20, 24, 24]);
    let spend = s.attribute_id("spend").unwrap();
    let seen = s.attribute_id("last_seen").unwrap();
    assert_eq!(s.value(19, spend).unwrap(), Some(Value::Int(18_997)));
    assert_eq!(s.value(0, spend).unwrap(), Some(Value::Int(-3)));
    assert_eq!(s.value(7, seen).unwrap(), Some(Value::Day(day(7))));
}

/// Writes `tests/data/golden-v1-op24.journal`, once, by hand:
/// `cargo test --test main -- --ignored write_golden_v1_op24_journal`. Never regenerate it.
#[test]
#[ignore]
fn write_golden_v1_op24_journal() {
    write_golden("golden-v1-op24.journal", golden_op24_store());
}

/// The operations of `tests/data/golden-v1-op25.journal`: 20 customers and a whole column
/// of scores (op 24), a reload that drops the odd customers' scores (op 24 for the kept,
/// op 25 for the dropped), then `clear_values` of customers 0 to 3 (op 25 for 0 and 2,
/// the two that still had one).
fn golden_op25_store() -> Store {
    let mut s = Store::new();
    s.ensure_customers((0..20u32).map(|i| CustomerKey::member(format!("m{i}")).unwrap()))
        .unwrap();
    let score = s.define_attribute("score", AttrKind::Int).unwrap();
    let all: Vec<i64> = (0..20).map(|i| i * 10).collect();
    s.set_column(score, &all).unwrap();
    let even: Vec<Option<i64>> = (0..20).map(|i| (i % 2 == 0).then_some(i * 10)).collect();
    s.set_column(score, &even).unwrap();
    s.clear_values(score, &(0..4).collect()).unwrap();
    s
}

const GOLDEN_V1_OP25: &[u8] = include_bytes!("../data/golden-v1-op25.journal");

#[test]
fn golden_op25_journal_still_replays() {
    let s = replayed_golden(
        golden_op25_store(),
        GOLDEN_V1_OP25,
        &[1, 20, 24, 24, 25, 25],
    );
    let score = s.attribute_id("score").unwrap();
    let kept: Vec<u32> = (0..20)
        .filter(|&c| s.value(c, score).unwrap().is_some())
        .collect();
    assert_eq!(kept, [4, 6, 8, 10, 12, 14, 16, 18]);
    assert_eq!(s.value(18, score).unwrap(), Some(Value::Int(180)));
}

/// Writes `tests/data/golden-v1-op25.journal`, once, by hand:
/// `cargo test --test main -- --ignored write_golden_v1_op25_journal`. Never regenerate it.
#[test]
#[ignore]
fn write_golden_v1_op25_journal() {
    write_golden("golden-v1-op25.journal", golden_op25_store());
}

// ----------------------------------------------------------------------------------------
// Errors and edges, with their texts
// ----------------------------------------------------------------------------------------

fn two_records() -> Vec<u8> {
    let mut s = Store::new();
    s.add_customer(CustomerKey::member("a").unwrap()).unwrap();
    s.add_customer(CustomerKey::member("b").unwrap()).unwrap();
    s.journal_mut().take()
}

fn journal_error(store: &mut Store, bytes: &[u8]) -> (audience::JournalError, String) {
    let e = replay(store, bytes).unwrap_err();
    assert!(e.is_corrupt_input());
    let ErrorKind::Journal(j) = e.kind() else {
        panic!("{e}")
    };
    (j.clone(), e.to_string())
}

#[test]
fn a_journal_that_does_not_follow_the_snapshot_is_refused() {
    let bytes = two_records();
    let first = record_offsets(&bytes)[1];
    let mut s = Store::new();
    let (j, text) = journal_error(&mut s, &bytes[first..]);
    assert_eq!(
        j.problem,
        JournalProblem::DoesNotFollow { store: 0, found: 2 }
    );
    assert_eq!(
        text,
        "journal record 2 (at byte 0): does not follow the store: the store holds changes up to 0, so the next record must be 1, not 2"
    );
    assert_eq!(s.customer_count(), 0);
}

#[test]
fn gaps_and_repeats_are_refused() {
    let bytes = two_records();
    let mut twice = bytes[..record_offsets(&bytes)[1]].to_vec();
    twice.extend_from_slice(&twice.clone());
    let (j, text) = journal_error(&mut Store::new(), &twice);
    assert_eq!(j.offset, record_offsets(&bytes)[1] as u64);
    assert_eq!(
        text,
        format!(
            "journal record 1 (at byte {}): sequence number 1 follows 1: a repeat",
            j.offset
        )
    );
    let mut gap = bytes.clone();
    gap.extend_from_slice(&bytes[record_offsets(&bytes)[1]..]);
    let (_, text) = journal_error(&mut Store::new(), &gap);
    assert!(
        text.ends_with("sequence number 2 follows 2: a repeat"),
        "{text}"
    );
    let mut s = Store::new();
    s.journal_mut().set_enabled(false);
    s.add_customer(CustomerKey::member("x").unwrap()).unwrap();
    s.add_customer(CustomerKey::member("x2").unwrap()).unwrap();
    s.journal_mut().set_enabled(true);
    s.add_customer(CustomerKey::member("y").unwrap()).unwrap();
    let mut skipped = bytes[..record_offsets(&bytes)[1]].to_vec();
    skipped.extend_from_slice(&s.journal_mut().take());
    let (_, text) = journal_error(&mut Store::new(), &skipped);
    assert_eq!(
        text,
        "journal record 3 (at byte 33): sequence number 3 follows 1: a gap"
    );
}

#[test]
fn checksum_texts() {
    let bytes = two_records();
    let mut bad = bytes.clone();
    bad[20] ^= 0xFF;
    let (j, text) = journal_error(&mut Store::new(), &bad);
    assert!(matches!(j.problem, JournalProblem::Checksum { .. }));
    assert!(
        text.starts_with("journal record 1 (at byte 0): checksum mismatch (stored 0x"),
        "{text}"
    );
    let mut bad = bytes.clone();
    bad[7] ^= 0xFF;
    let (_, text) = journal_error(&mut Store::new(), &bad);
    assert!(
        text.starts_with("journal record at byte 0: header checksum mismatch (stored 0x"),
        "{text}"
    );
}

/// Rewrites a record's header fields and both checksums, as a writer would have.
fn reseal(bytes: &mut [u8], at: usize, f: impl FnOnce(&mut [u8])) {
    f(&mut bytes[at..at + 15]);
    let head = crc32fast_hash(&bytes[at..at + 15]);
    bytes[at + 15..at + 19].copy_from_slice(&head.to_le_bytes());
    let len = u32::from_le_bytes(bytes[at + 3..at + 7].try_into().unwrap()) as usize;
    let end = at + 19 + len;
    let body = crc32fast_hash(&bytes[at..end]);
    bytes[end..end + 4].copy_from_slice(&body.to_le_bytes());
}

/// CRC-32 (IEEE), bit by bit: the tests check the format, not the crate's own code.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn versions_flags_operations_and_refusals_have_their_texts() {
    let bytes = two_records();
    let mut v2 = bytes.clone();
    reseal(&mut v2, 0, |h| h[0] = 2);
    let (_, text) = journal_error(&mut Store::new(), &v2);
    assert_eq!(
        text,
        "journal record 1 (at byte 0): record version 2 is not one this reader knows (it reads version 1)"
    );
    let mut flags = bytes.clone();
    reseal(&mut flags, 0, |h| h[1] = 0x82);
    let (_, text) = journal_error(&mut Store::new(), &flags);
    assert_eq!(text, "journal record 1 (at byte 0): unknown flags 0x82");
    let mut op = bytes.clone();
    reseal(&mut op, 0, |h| h[2] = 200);
    let (_, text) = journal_error(&mut Store::new(), &op);
    assert_eq!(text, "journal record 1 (at byte 0): unknown operation 200");
    // A store in another state refuses the change: "a" exists already.
    let mut s = Store::new();
    s.add_customer(CustomerKey::member("a").unwrap()).unwrap();
    let mut other = Store::new();
    other.journal_mut().set_enabled(false);
    other
        .add_customer(CustomerKey::member("z").unwrap())
        .unwrap();
    other.journal_mut().set_enabled(true);
    other
        .add_customer(CustomerKey::member("a").unwrap())
        .unwrap();
    let before = snapshot(&s);
    let (j, text) = journal_error(&mut s, &other.journal_mut().take());
    assert!(matches!(j.problem, JournalProblem::Refused(_)));
    assert_eq!(
        text,
        "journal record 2 (at byte 0): the store refuses the change: invalid argument: a customer key of the record is already in the store"
    );
    assert_eq!(snapshot(&s), before);
}

/// A column of many values, in ascending order of customers, is one packed record (op 24):
/// a bitmap of the customers, the smallest value, and each value's distance from it in as
/// few bytes as the largest needs; a few values, or customers out of order, keep the
/// pairs of op 22. Both replay to the same store.
#[test]
fn a_column_of_values_is_packed() {
    let mut s = Store::new();
    s.journal_mut().set_enabled(false);
    let ids = s
        .ensure_customers((0..1000u32).map(|i| CustomerKey::member(format!("m{i}")).unwrap()))
        .unwrap();
    let spend = s.define_attribute("spend", AttrKind::Int).unwrap();
    let start = snapshot(&s);
    s.journal_mut().set_enabled(true);
    // 1,000 values from -5 to 994 (a distance of 999 takes 2 bytes).
    let values: Vec<Value> = (0..1000).map(|i| Value::Int(i - 5)).collect();
    s.set_values(spend, &ids, &values).unwrap();
    let bytes = s.journal_mut().take();
    // Every customer from the first to the last: one run.
    let mut customers = RoaringBitmap::new();
    customers.insert_range(0..1000u32);
    let bitmap_len = customers.serialized_size();
    assert_eq!(bitmap_len, 15);
    assert_eq!(bytes[2], 24, "packed operation");
    let len = u32::from_le_bytes(bytes[3..7].try_into().unwrap()) as usize;
    assert_eq!(len, 4 + 4 + bitmap_len + 8 + 1 + 2 * 1000);
    assert_eq!(bytes.len(), 19 + len + 4);
    let p = &bytes[19..19 + len];
    assert_eq!(p[..4], spend_bytes(&s, "spend"));
    let after_bitmap = 8 + bitmap_len;
    assert_eq!(
        i64::from_le_bytes(p[after_bitmap..after_bitmap + 8].try_into().unwrap()),
        -5
    );
    assert_eq!(p[after_bitmap + 8], 2, "width");
    assert_eq!(p[after_bitmap + 9..after_bitmap + 11], [0, 0]);
    assert_eq!(p[len - 2..], 999u16.to_le_bytes());
    let mut r = audience::snapshot::read(&start[..]).unwrap();
    replay(&mut r, &bytes).unwrap();
    assert_eq!(snapshot(&r), snapshot(&s));
    assert_eq!(r.value(999, spend).unwrap(), Some(Value::Int(994)));

    // Out of order, or fewer than 16: the pairs, 12 bytes a value.
    let mut backwards = ids.clone();
    backwards.reverse();
    s.set_values(spend, &backwards, &values).unwrap();
    s.set_values(spend, &ids[..15], &values[..15]).unwrap();
    let bytes = s.journal_mut().take();
    let at = record_offsets(&bytes);
    assert_eq!((bytes[at[0] + 2], bytes[at[1] + 2]), (22, 22));
    assert_eq!(at[1] - at[0], 19 + 8 + 12 * 1000 + 4);
    replay(&mut r, &bytes).unwrap();
    assert_eq!(snapshot(&r), snapshot(&s));
}

/// A reload that drops values (a whole column of `Option`s) journals the dropped ones as
/// one record of the customers (op 25), not one record a customer.
#[test]
fn dropped_values_are_one_record() {
    let mut s = Store::new();
    s.journal_mut().set_enabled(false);
    s.ensure_customers((0..1000u32).map(|i| CustomerKey::member(format!("m{i}")).unwrap()))
        .unwrap();
    let spend = s.define_attribute("spend", AttrKind::Int).unwrap();
    let all: Vec<i64> = (0..1000).collect();
    s.set_column(spend, &all).unwrap();
    let start = snapshot(&s);
    s.journal_mut().set_enabled(true);
    // Every other customer keeps a value; 500 lose theirs.
    let half: Vec<Option<i64>> = (0..1000).map(|i| (i % 2 == 0).then_some(i)).collect();
    s.set_column(spend, &half).unwrap();
    let bytes = s.journal_mut().take();
    let at = record_offsets(&bytes);
    assert_eq!(at.len(), 2);
    assert_eq!((bytes[at[0] + 2], bytes[at[1] + 2]), (24, 25));
    let dropped: RoaringBitmap = (1..1000u32).step_by(2).collect();
    let len = u32::from_le_bytes(bytes[at[1] + 3..at[1] + 7].try_into().unwrap()) as usize;
    assert_eq!(len, 4 + 4 + dropped.serialized_size());
    assert_eq!(bytes.len() - at[1], 19 + len + 4);
    let mut r = audience::snapshot::read(&start[..]).unwrap();
    replay(&mut r, &bytes).unwrap();
    assert_eq!(snapshot(&r), snapshot(&s));
    assert_eq!(r.value(1, spend).unwrap(), None);
    assert_eq!(r.value(2, spend).unwrap(), Some(Value::Int(2)));

    // Clearing the same customers again changes nothing and writes nothing.
    assert_eq!(s.clear_values(spend, &dropped).unwrap(), 0);
    assert!(s.journal_mut().take().is_empty());
}

fn spend_bytes(s: &Store, name: &str) -> [u8; 4] {
    s.attribute_id(name).unwrap().as_u32().to_le_bytes()
}

#[test]
fn a_packed_column_with_a_wrong_width_or_length_is_refused() {
    let mut s = Store::new();
    s.journal_mut().set_enabled(false);
    let ids = s
        .ensure_customers((0..20u32).map(|i| CustomerKey::member(format!("m{i}")).unwrap()))
        .unwrap();
    let spend = s.define_attribute("spend", AttrKind::Int).unwrap();
    let start = snapshot(&s);
    s.journal_mut().set_enabled(true);
    let values: Vec<Value> = (0..20).map(Value::Int).collect();
    s.set_values(spend, &ids, &values).unwrap();
    let bytes = s.journal_mut().take();
    let mut customers = RoaringBitmap::new();
    customers.insert_range(0..20u32);
    let bitmap_len = customers.serialized_size();
    let width_at = 19 + 8 + bitmap_len + 8;
    assert_eq!(bytes[width_at], 1);
    for (width, text) in [
        (0, "value width 0 is not 1 to 8 bytes"),
        (9, "value width 9 is not 1 to 8 bytes"),
        (2, "20 values of 2 bytes do not take the 20 bytes left"),
    ] {
        let mut bad = bytes.clone();
        bad[width_at] = width;
        reseal(&mut bad, 0, |_| {});
        let mut r = audience::snapshot::read(&start[..]).unwrap();
        let (_, got) = journal_error(&mut r, &bad);
        assert_eq!(got, format!("journal record 3 (at byte 0): {text}"));
        assert_eq!(snapshot(&r), start);
    }
}

#[test]
fn a_batch_cut_between_records_is_ignored_whole() {
    let mut s = Store::new();
    s.batch(|s| {
        s.add_customer(CustomerKey::member("a")?)?;
        s.add_customer(CustomerKey::member("b")?)?;
        Ok(())
    })
    .unwrap();
    let bytes = s.journal_mut().take();
    let second = record_offsets(&bytes)[1];
    let mut r = Store::new();
    let report = replay(&mut r, &bytes[..second]).unwrap();
    assert_eq!(report.bytes_ignored, second as u64);
    assert_eq!(report.tail, Some(Tail::OpenBatch));
    assert_eq!((report.records_applied, report.valid_bytes), (0, 0));
    assert_eq!(r.customer_count(), 0);
    let report = replay(&mut r, &bytes).unwrap();
    assert_eq!(
        (
            report.records_applied,
            report.batches_applied,
            report.last_seq
        ),
        (2, 1, 2)
    );
}

#[test]
fn an_open_batch_stays_pending_and_clones_start_empty() {
    let mut s = Store::new();
    s.add_customer(CustomerKey::member("a").unwrap()).unwrap();
    let reader = s.clone();
    assert_eq!(reader.journal().pending_bytes(), 0);
    assert_eq!(reader.journal().seq(), 1);
    s.batch(|s| {
        s.add_customer(CustomerKey::member("b")?)?;
        // Inside a batch, a drain takes what came before it only.
        let before = s.journal().pending_bytes();
        let taken = s.journal_mut().take();
        assert!(!taken.is_empty() && taken.len() < before);
        s.add_customer(CustomerKey::member("c")?)?;
        Ok(())
    })
    .unwrap();
    assert_eq!(s.journal().pending_records(), 2);
    let mut out = Vec::new();
    assert_eq!(
        s.journal_mut().drain_into(&mut out).unwrap(),
        out.len() as u64
    );
    assert_eq!(s.journal().pending_bytes(), 0);
}

#[test]
fn checkpoint_counters_follow_erasures_and_bytes() {
    let mut s = Store::new();
    let c = s.add_customer(CustomerKey::member("a").unwrap()).unwrap();
    s.erase_customer(c).unwrap();
    assert_eq!(s.journal().erased_since_checkpoint(), 1);
    let bytes = s.journal().pending_bytes() as u64;
    assert_eq!(s.journal().bytes_since_checkpoint(), bytes);
    let file = s.journal_mut().take();
    assert_eq!(s.journal().bytes_since_checkpoint(), bytes, "taken or not");
    s.journal_mut().mark_checkpoint();
    assert_eq!(
        (
            s.journal().erased_since_checkpoint(),
            s.journal().bytes_since_checkpoint()
        ),
        (0, 0)
    );
    // A recovered store knows what its journal holds.
    let mut r = Store::new();
    replay(&mut r, &file).unwrap();
    assert_eq!(r.journal().erased_since_checkpoint(), 1);
    assert_eq!(r.journal().bytes_since_checkpoint(), bytes);
}

#[test]
fn snapshots_record_the_sequence_number() {
    let mut s = Store::new();
    let empty = snapshot(&s);
    s.add_customer(CustomerKey::member("a").unwrap()).unwrap();
    let one = snapshot(&s);
    assert_eq!(
        audience::snapshot::read(&empty[..])
            .unwrap()
            .journal()
            .seq(),
        0
    );
    assert_eq!(
        audience::snapshot::read(&one[..]).unwrap().journal().seq(),
        1
    );
    // Off, the number still moves.
    s.journal_mut().set_enabled(false);
    s.add_customer(CustomerKey::member("b").unwrap()).unwrap();
    assert_eq!((s.journal().seq(), s.journal().pending_records()), (2, 1));
}

/// Writes seeds for the `journal_replay` fuzz target (`fuzz/corpus/journal_replay/`):
/// journals that follow the target's small store (8 customers, tags `vip` and
/// `stage/new`, attribute `spend`), one per kind of values record. Run by hand when the
/// record kinds change: `cargo test --test main -- --ignored write_journal_replay_seeds`.
#[test]
#[ignore]
#[allow(clippy::disallowed_methods)]
fn write_journal_replay_seeds() {
    let day = Day::from_days(20_000).unwrap();
    let edit = Edit::new("admin", day);
    let mut s = Store::new();
    for i in 0..8u64 {
        s.add_customer(CustomerKey::Phone(66_800_000_000 + i))
            .unwrap();
    }
    let vip = s.create_tag(&edit, TagSpec::new("vip")).unwrap();
    s.create_tag(&edit, TagSpec::new("new").dimension("stage"))
        .unwrap();
    let spend = s.define_attribute("spend", AttrKind::Int).unwrap();
    s.journal_mut().take();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/journal_replay");
    std::fs::create_dir_all(dir).unwrap();
    let base = s.clone();
    let write = |name: &str, s: &mut Store| {
        let bytes = s.journal_mut().take();
        let mut replayed = base.clone();
        replay(&mut replayed, &bytes).unwrap();
        assert_eq!(
            snapshot(&replayed),
            snapshot(s),
            "{name} replays onto the small store"
        );
        std::fs::write(format!("{dir}/{name}"), bytes).unwrap();
    };
    // A whole column (op 24), a reload that drops values (ops 24 and 25), a clear of a
    // set (op 25), pairs (op 22), one value and its clear (ops 21 and 23), tags.
    let mut a = s.clone();
    a.set_column(spend, &[5i64, -3, 1_000, 0, 7, 7, 9, 12])
        .unwrap();
    a.set_column(
        spend,
        &[
            Some(5i64),
            None,
            Some(1),
            None,
            Some(7),
            None,
            None,
            Some(2),
        ],
    )
    .unwrap();
    a.clear_values(spend, &[0u32, 4].into_iter().collect())
        .unwrap();
    write("columns", &mut a);
    let mut b = s.clone();
    b.set_values(
        spend,
        &[6, 1, 3],
        &[Value::Int(1), Value::Int(-9), Value::Int(40)],
    )
    .unwrap();
    b.set_value(2, spend, Value::Int(77)).unwrap();
    b.clear_value(2, spend).unwrap();
    b.add_tag(3, vip, day).unwrap();
    b.add_tag_bulk(vip, &[1u32, 5, 6].into_iter().collect(), day)
        .unwrap();
    write("values_and_tags", &mut b);
}
