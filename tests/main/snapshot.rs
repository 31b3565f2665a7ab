//! Snapshots: round trips, the golden file of format version 1, every error with its exact
//! text, every single-byte corruption and truncation detected, and a property test over
//! stores built by random operations.

use audience::snapshot::{FORMAT_VERSION, MAGIC, MAX_SECTION_BYTES};
use audience::{
    AttrKind, Change, CustomerKey, Day, Edit, ErrorKind, RoaringBitmap, Section, SnapshotProblem,
    Store, TagKind, TagSpec, Value,
};
use proptest::prelude::*;

use crate::support::parts::{self, Parts, crc};

// ----------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------

fn snapshot(store: &Store) -> Vec<u8> {
    let mut bytes = Vec::new();
    let n = audience::snapshot::write(store, &mut bytes).unwrap();
    assert_eq!(n, bytes.len() as u64);
    bytes
}

/// Every read the store offers agrees between `a` and `b`.
fn assert_same(a: &Store, b: &Store) {
    assert_eq!(a.customers(), b.customers());
    assert_eq!(a.id_space(), b.id_space());
    let keys_a: Vec<(u32, CustomerKey)> = a.keys().map(|(i, k)| (i, k.to_owned())).collect();
    let keys_b: Vec<(u32, CustomerKey)> = b.keys().map(|(i, k)| (i, k.to_owned())).collect();
    assert_eq!(keys_a, keys_b);
    for (id, k) in &keys_a {
        assert_eq!(b.customer(k), Some(*id));
    }
    let tags_a: Vec<_> = a.tags().cloned().collect();
    let tags_b: Vec<_> = b.tags().cloned().collect();
    assert_eq!(tags_a, tags_b);
    assert_eq!(a.dimensions(), b.dimensions());
    assert_eq!(a.change_log(), b.change_log());
    for t in &tags_a {
        assert_eq!(b.tag_id_in(&t.dimension, &t.name).unwrap(), t.id);
        assert_eq!(a.members(t.id).unwrap(), b.members(t.id).unwrap());
        assert_eq!(
            a.assignment_days(t.id).unwrap(),
            b.assignment_days(t.id).unwrap()
        );
        for c in a.members(t.id).unwrap() {
            assert_eq!(
                a.assigned_day(c, t.id).unwrap(),
                b.assigned_day(c, t.id).unwrap()
            );
        }
    }
    let attrs_a: Vec<_> = a.attributes().cloned().collect();
    let attrs_b: Vec<_> = b.attributes().cloned().collect();
    assert_eq!(attrs_a, attrs_b);
    for at in &attrs_a {
        assert_eq!(a.with_value(at.id).unwrap(), b.with_value(at.id).unwrap());
        for c in a.customers() {
            assert_eq!(a.value(c, at.id).unwrap(), b.value(c, at.id).unwrap());
        }
        let (lo, hi) = match at.kind {
            AttrKind::Int => (Value::Int(i64::MIN), Value::Int(i64::MAX)),
            AttrKind::Day => (Value::Day(Day::MIN), Value::Day(Day::MAX)),
            AttrKind::Decimal { scale } => (
                Value::Decimal(audience::Decimal::new(i64::MIN, scale).unwrap()),
                Value::Decimal(audience::Decimal::new(i64::MAX, scale).unwrap()),
            ),
        };
        assert_eq!(
            a.range(at.id, lo, hi).unwrap(),
            b.range(at.id, lo, hi).unwrap()
        );
        // Ranges up to and from a few stored values: the loaded bit-sliced index agrees.
        let pivots: Vec<Value> = a
            .with_value(at.id)
            .unwrap()
            .iter()
            .step_by(7)
            .take(12)
            .filter_map(|c| a.value(c, at.id).unwrap())
            .collect();
        for p in pivots {
            assert_eq!(
                a.range(at.id, lo, p).unwrap(),
                b.range(at.id, lo, p).unwrap()
            );
            assert_eq!(
                a.range(at.id, p, hi).unwrap(),
                b.range(at.id, p, hi).unwrap()
            );
        }
    }
    // The format is canonical: the loaded store writes the same bytes (at its own
    // journal position).
    assert_eq!(
        Parts::without_journal(&snapshot(a)),
        Parts::without_journal(&snapshot(b))
    );
}

/// Reads `bytes` as a stream and in place, which must agree: the same store or the same
/// error.
fn load(bytes: &[u8]) -> Result<Store, audience::Error> {
    let streamed = audience::snapshot::read(bytes);
    let in_place = audience::snapshot::read_slice(bytes);
    match (&streamed, &in_place) {
        (Ok(a), Ok(b)) => assert_same(a, b),
        (Err(a), Err(b)) => assert_eq!(a, b, "read and read_slice refuse alike"),
        _ => panic!(
            "read: {:?}, read_slice: {:?}",
            streamed.is_ok(),
            in_place.is_ok()
        ),
    }
    streamed
}

fn load_err(bytes: &[u8]) -> audience::Error {
    match load(bytes) {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    }
}

fn snapshot_error(bytes: &[u8]) -> audience::SnapshotError {
    match load(bytes) {
        Ok(_) => panic!("loaded"),
        Err(e) => match e.into_kind() {
            ErrorKind::Snapshot(s) => s,
            other => panic!("not a snapshot error: {other}"),
        },
    }
}

/// A small store with every feature: member and phone keys, an erased customer, tags in
/// five scripts and three dimensions with colours, an archived, a deleted and a merged
/// tag, a TTL, assignment days, every log change, day and number attributes with extreme
/// values and gaps.
fn sample_store() -> Store {
    let d = |y, m, dd| Day::from_ymd(y, m, dd).unwrap();
    let admin = Edit::new("admin", d(2025, 1, 6));
    let mut s = Store::new();
    let vip = s
        .create_tag(
            &admin,
            TagSpec::new("VIP")
                .dimension("purchasing_power")
                .description("top 5% by spend"),
        )
        .unwrap();
    let thai = s
        .create_tag(
            &admin,
            TagSpec::new("ลูกค้าใหม่")
                .dimension("stage")
                .kind(TagKind::Dynamic)
                .ttl_days(60),
        )
        .unwrap();
    let zh = s
        .create_tag(
            &admin,
            TagSpec::new("高消費力").dimension("purchasing_power"),
        )
        .unwrap();
    let ar = s
        .create_tag(&admin, TagSpec::new("عميل جديد").dimension("stage"))
        .unwrap();
    let ru = s
        .create_tag(&admin, TagSpec::new("VIP клиент").dimension("channel"))
        .unwrap();
    let gone = s
        .create_tag(&admin, TagSpec::new("spring limited"))
        .unwrap();
    let paid = s.create_tag(&admin, TagSpec::new("paid")).unwrap();
    let ordered = s.create_tag(&admin, TagSpec::new("ordered")).unwrap();
    s.set_dimension_colour(&admin, "channel", Some("#1e90ff".into()))
        .unwrap();
    s.set_dimension_colour(&admin, "stage", Some("green".into()))
        .unwrap();

    let mut ids = Vec::new();
    for i in 0..40u64 {
        let key = if i % 3 == 0 {
            CustomerKey::member(format!("M-{i:04}")).unwrap()
        } else {
            CustomerKey::Phone(85_291_230_000 + i)
        };
        ids.push(s.add_customer(key).unwrap());
    }
    s.add_customer(CustomerKey::member("会员-007 ✓").unwrap())
        .unwrap();
    s.erase_customer(ids[7]).unwrap();
    s.erase_customer(ids[9]).unwrap();

    let live = s.customers().clone();
    let set = |xs: &[usize]| -> RoaringBitmap {
        xs.iter()
            .map(|&i| ids[i])
            .filter(|id| live.contains(*id))
            .collect()
    };
    s.add_tag_bulk(vip, &set(&[0, 1, 2, 3, 4, 5]), d(2024, 12, 1))
        .unwrap();
    s.add_tag_bulk(vip, &set(&[4, 5, 6]), d(2025, 1, 2))
        .unwrap();
    s.add_tag(ids[8], vip, d(2025, 1, 5)).unwrap();
    s.add_tag_bulk(thai, &set(&[10, 11, 12, 13]), d(2024, 11, 20))
        .unwrap();
    s.add_tag_bulk(zh, &set(&(0..40).collect::<Vec<_>>()), d(2024, 6, 18))
        .unwrap();
    s.add_tag_bulk(ar, &set(&[20, 21]), d(2025, 1, 1)).unwrap();
    s.add_tag_bulk(ru, &set(&[22]), d(2025, 1, 3)).unwrap();
    s.add_tag_bulk(gone, &set(&[1, 2]), d(2024, 3, 1)).unwrap();
    s.add_tag_bulk(paid, &set(&[30, 31, 32]), d(2024, 10, 1))
        .unwrap();
    s.add_tag_bulk(ordered, &set(&[32, 33]), d(2024, 10, 2))
        .unwrap();

    let later = Edit::new("lead", d(2025, 1, 7)).because("weekly review");
    s.rename_tag(&later, ru, "VIP-клиент").unwrap();
    s.describe_tag(&later, zh, TagKind::Static, "high spender")
        .unwrap();
    s.set_ttl(&later, vip, Some(365)).unwrap();
    s.archive_tag(&later, ar).unwrap();
    s.unarchive_tag(&later, ar).unwrap();
    s.archive_tag(&later, ar).unwrap();
    s.delete_tag(&later, gone).unwrap();
    s.merge_tags(&later, paid, ordered).unwrap();
    s.record_use(vip, d(2025, 1, 6)).unwrap();

    let last = s
        .define_attribute("last_interaction", AttrKind::Day)
        .unwrap();
    let count = s.define_attribute("purchase_count", AttrKind::Int).unwrap();
    let cents = s.define_attribute("monetary_cents", AttrKind::Int).unwrap();
    s.define_attribute("never_set", AttrKind::Int).unwrap();
    for (i, &id) in ids.iter().enumerate() {
        if !s.customers().contains(id) {
            continue;
        }
        if i % 4 != 3 {
            s.set_value(id, last, d(2024, 1, 1) + i as i32 * 9).unwrap();
        }
        s.set_value(id, count, i as i64 % 7).unwrap();
    }
    s.set_value(ids[0], cents, i64::MIN).unwrap();
    s.set_value(ids[1], cents, i64::MAX).unwrap();
    s.set_value(ids[2], cents, 0).unwrap();
    s.set_value(ids[3], cents, -1).unwrap();
    s.clear_value(ids[3], cents).unwrap();
    s
}

// ----------------------------------------------------------------------------------------
// Round trips
// ----------------------------------------------------------------------------------------

#[test]
fn sample_store_round_trips() {
    let s = sample_store();
    let bytes = snapshot(&s);
    let loaded = load(&bytes).unwrap();
    assert_same(&s, &loaded);
    // Every log change kind is in the sample.
    let kinds: std::collections::BTreeSet<&str> = s
        .change_log()
        .iter()
        .map(|e| match e.change {
            Change::Created { .. } => "created",
            Change::Renamed { .. } => "renamed",
            Change::Archived { .. } => "archived",
            Change::Unarchived { .. } => "unarchived",
            Change::Deleted { .. } => "deleted",
            Change::Merged { .. } => "merged",
            Change::TtlChanged { .. } => "ttl",
            Change::Described { .. } => "described",
            Change::Coloured { .. } => "coloured",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds.len(), 9, "{kinds:?}");
    // The loaded store keeps working: writes, expiry, queries.
    let mut loaded = loaded;
    let vip = loaded.tag_id("vip").unwrap();
    let c = loaded
        .add_customer(CustomerKey::phone("66812345678").unwrap())
        .unwrap();
    assert_eq!(c, s.id_space() as u32);
    loaded
        .add_tag(c, vip, Day::from_ymd(2025, 1, 8).unwrap())
        .unwrap();
    let q = audience::Query::parse("VIP AND purchase_count >= 3").unwrap();
    assert_eq!(
        loaded.count(&q, Day::EPOCH).unwrap(),
        s.count(&q, Day::EPOCH).unwrap()
    );
    assert!(
        loaded
            .create_tag(
                &Edit::new("a", Day::EPOCH),
                TagSpec::new("vip ").dimension("purchasing_power")
            )
            .is_err()
    );
}

#[test]
fn empty_store_round_trips() {
    let s = Store::new();
    let bytes = snapshot(&s);
    // Header, directory, taxonomy, end.
    assert_eq!(
        bytes.len(),
        12 + (16 + 12) + (16 + 12) + (16 + 4),
        "{bytes:?}"
    );
    assert_same(&s, &load(&bytes).unwrap());
}

#[test]
fn reads_exactly_the_snapshot_and_nothing_after_it() {
    let s = sample_store();
    let mut bytes = snapshot(&s);
    let len = bytes.len();
    bytes.extend_from_slice(b"next record");
    let mut input = &bytes[..];
    let loaded = audience::snapshot::read(&mut input).unwrap();
    assert_eq!(input, b"next record");
    assert_eq!(bytes.len() - input.len(), len);
    assert_same(&s, &loaded);
    // In memory, the bytes after the snapshot are left alone too.
    assert_same(&s, &audience::snapshot::read_slice(&bytes).unwrap());
}

/// The golden snapshot of format version 1, written once by `write_golden_v1` below.
/// Later versions of the crate must keep loading it, with exactly this content.
const GOLDEN_V1: &[u8] = include_bytes!("../data/golden-v1.snap");

#[test]
fn golden_v1_still_loads() {
    let s = load(GOLDEN_V1).unwrap();
    let d = |y, m, dd| Day::from_ymd(y, m, dd).unwrap();
    assert_eq!(s.customer_count(), 39);
    assert_eq!(s.id_space(), 41);
    assert_eq!(s.customer(&CustomerKey::Phone(85_291_230_001)), Some(1));
    assert_eq!(s.customer(&CustomerKey::member("M-0000").unwrap()), Some(0));
    assert_eq!(
        s.customer(&CustomerKey::member("会员-007 ✓").unwrap()),
        Some(40)
    );
    assert_eq!(s.key(7), None, "erased");
    let names: Vec<String> = s.tags().map(|t| t.qualified_name()).collect();
    assert_eq!(
        names,
        [
            "purchasing_power:VIP",
            "stage:ลูกค้าใหม่",
            "purchasing_power:高消費力",
            "stage:عميل جديد",
            "channel:VIP-клиент",
            "general:paid",
        ]
    );
    let vip = s.tag_id("vip").unwrap();
    let info = s.tag(vip).unwrap();
    assert_eq!(info.ttl_days, Some(365));
    assert_eq!(info.description, "top 5% by spend");
    assert_eq!(info.last_used, Some(d(2025, 1, 6)));
    assert!(
        s.tag(s.tag_id_in("stage", "عميل جديد").unwrap())
            .unwrap()
            .archived
    );
    let colours: Vec<(String, Option<String>)> = s
        .dimensions()
        .iter()
        .map(|d| (d.name.clone(), d.colour.clone()))
        .collect();
    assert_eq!(
        colours,
        [
            ("purchasing_power".to_string(), None),
            ("stage".to_string(), Some("green".to_string())),
            ("channel".to_string(), Some("#1e90ff".to_string())),
            ("general".to_string(), None),
        ]
    );
    assert_eq!(s.change_log().len(), 18);
    assert_eq!(
        s.change_log()
            .last()
            .map(|e| (&e.actor, e.reason.as_deref())),
        Some((&"lead".to_string(), Some("weekly review")))
    );
    assert_eq!(
        s.members(vip).unwrap().iter().collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5, 6, 8]
    );
    assert_eq!(
        s.assignment_days(vip).unwrap(),
        [(d(2024, 12, 1), 4), (d(2025, 1, 2), 3), (d(2025, 1, 5), 1)]
    );
    let paid = s.tag_id("paid").unwrap();
    assert_eq!(s.assigned_day(33, paid).unwrap(), Some(d(2024, 10, 2)));
    let cents = s.attribute_id("monetary_cents").unwrap();
    assert_eq!(s.value(0, cents).unwrap(), Some(Value::Int(i64::MIN)));
    assert_eq!(s.value(1, cents).unwrap(), Some(Value::Int(i64::MAX)));
    assert_eq!(s.value(3, cents).unwrap(), None);
    let last = s.attribute_id("last_interaction").unwrap();
    assert_eq!(s.value(2, last).unwrap(), Some(Value::Day(d(2024, 1, 19))));
    assert_eq!(s.value(3, last).unwrap(), None);
    assert_eq!(
        s.with_value(s.attribute_id("never_set").unwrap())
            .unwrap()
            .len(),
        0
    );
    // This version still writes what it reads.
    assert_same(&sample_store(), &s);
}

/// Writes `tests/data/golden-v1.snap`. Run once, by hand, when the golden file is created:
/// `cargo test --test snapshot -- --ignored write_golden_v1`. Never regenerate it for a
/// later format version: add a new golden file next to it instead.
#[test]
#[ignore]
#[allow(clippy::disallowed_methods)]
fn write_golden_v1() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/golden-v1.snap");
    std::fs::write(path, snapshot(&sample_store())).unwrap();
}

// ----------------------------------------------------------------------------------------
// Errors, with their exact text
// ----------------------------------------------------------------------------------------

#[test]
fn header_errors() {
    let good = snapshot(&Store::new());
    let e = load_err(&b"PK\x03\x04 a zip file"[..]);
    assert_eq!(
        e.to_string(),
        "snapshot header (at byte 0): not a snapshot (wrong magic number)"
    );
    let e = snapshot_error(&[]);
    assert_eq!(
        (e.section, e.problem),
        (Section::Header, SnapshotProblem::Truncated)
    );
    let e = load_err(&good[..10]);
    assert_eq!(
        e.to_string(),
        "snapshot header (at byte 0): truncated: the input ends inside it"
    );

    let mut future = good.clone();
    future[8..12].copy_from_slice(&2u32.to_le_bytes());
    let e = load_err(&future[..]);
    assert_eq!(
        e.to_string(),
        "snapshot header (at byte 0): format version 2 is newer than this reader, which reads versions 1 to 1"
    );
    let mut zero = good.clone();
    zero[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        snapshot_error(&zero).problem,
        SnapshotProblem::UnknownVersion { found: 0 }
    );
    assert_eq!(&good[..8], &MAGIC);
    // The check value SNAPSHOT.md gives for its CRC-32.
    assert_eq!(crc(b"123456789"), 0xCBF4_3926);
    assert_eq!(
        u32::from_le_bytes(good[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
}

#[test]
fn framing_errors() {
    let good = snapshot(&sample_store());
    let parts = Parts::split(&good);

    // Truncated at a section boundary: the end section is missing.
    let mut no_end = parts.clone();
    no_end.sections.pop();
    let bytes = no_end.join();
    let e = load_err(&bytes[..]);
    assert_eq!(
        e.to_string(),
        format!(
            "snapshot end section #{} (at byte {}): missing: the input ends before it (truncated at a section boundary?)",
            no_end.sections.len(),
            bytes.len()
        )
    );

    // Truncated inside a section.
    let e = load_err(&good[..40]);
    assert_eq!(
        e.to_string(),
        "snapshot directory section #0 (at byte 12): truncated: the input ends inside it"
    );

    // A flipped bit in the directory.
    let mut flipped = good.clone();
    flipped[30] ^= 0x10;
    let e = snapshot_error(&flipped);
    assert_eq!(
        (e.section, e.index, e.offset),
        (Section::Directory, Some(0), 12)
    );
    assert!(matches!(e.problem, SnapshotProblem::Checksum { .. }), "{e}");
    assert!(
        e.to_string().starts_with(
            "snapshot directory section #0 (at byte 12): checksum mismatch (stored 0x"
        ),
        "{e}"
    );

    // A section declaring more than the limit.
    let mut huge = good.clone();
    huge[16..24].copy_from_slice(&(MAX_SECTION_BYTES + 1).to_le_bytes());
    let e = load_err(&huge[..]);
    assert_eq!(
        e.to_string(),
        "snapshot directory section #0 (at byte 12): declares 4294967297 bytes, more than the limit of 4294967296"
    );
    // Declaring the limit itself in a short input allocates nothing much: it is truncated.
    let mut big = good.clone();
    big[16..24].copy_from_slice(&MAX_SECTION_BYTES.to_le_bytes());
    assert_eq!(snapshot_error(&big).problem, SnapshotProblem::Truncated);

    // An unknown section that must not be skipped (a newer writer's), before the end.
    let mut newer = parts.clone();
    let at = newer.sections.len() - 1;
    newer.sections.insert(at, (0x0000_0042, vec![1, 2, 3]));
    newer.recount();
    let e = load_err(&newer.join()[..]);
    assert!(
        e.to_string().ends_with(
            "unknown kind 0x00000042, which must not be skipped: written by a newer version?"
        ),
        "{e}"
    );
    assert_eq!(
        snapshot_error(&newer.join()).section,
        Section::Unknown(0x42)
    );

    // An unknown optional section is skipped, wherever it is.
    let mut optional = parts.clone();
    optional
        .sections
        .insert(1, (0x8000_0042, b"writer notes".to_vec()));
    let at = optional.sections.len() - 1;
    optional.sections.insert(at, (0x8000_0043, vec![]));
    optional.recount();
    let loaded = load(&optional.join()).unwrap();
    assert_same(&sample_store(), &loaded);

    // The end section counts the sections before it.
    let mut dropped = parts.clone();
    dropped.sections.remove(parts.sections.len() - 2);
    let e = snapshot_error(&dropped.join());
    assert_eq!(e.section, Section::End);
    assert_eq!(
        e.problem,
        SnapshotProblem::Invalid(format!(
            "{} sections announced, {} read",
            parts.sections.len() - 1,
            parts.sections.len() - 2
        ))
    );
}

/// The sample's sections by kind: 1 directory, 2 taxonomy, 3 attribute, 4 members.
fn section_of(parts: &Parts, kind: u32, nth: usize) -> usize {
    parts
        .sections
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| *k == kind)
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap()
}

fn invalid(parts: &Parts) -> String {
    match snapshot_error(&parts.join()).problem {
        SnapshotProblem::Invalid(m) => m,
        other => panic!("{other}"),
    }
}

#[test]
fn content_errors_name_the_section_and_the_problem() {
    let s = sample_store();
    let parts = Parts::split(&snapshot(&s));
    let members = section_of(&parts, 4, 0);

    // Members of a tag that does not exist (tag 5 was deleted).
    let mut p = parts.clone();
    p.sections[members].1[..4].copy_from_slice(&5u32.to_le_bytes());
    let bytes = p.join();
    let e = load_err(&bytes[..]);
    let offset: usize = 12
        + parts.sections[..members]
            .iter()
            .map(|(_, p)| 16 + p.len())
            .sum::<usize>();
    assert_eq!(
        e.to_string(),
        format!(
            "snapshot members section #{members} (at byte {offset}): members of tag 5, which does not exist"
        )
    );
    p.sections[members].1[..4].copy_from_slice(&99u32.to_le_bytes());
    assert_eq!(invalid(&p), "members of tag 99, which does not exist");

    // A member that is not a live customer: customer 7 was erased.
    let vip = s.tag_id("vip").unwrap();
    let mut bad = s.members(vip).unwrap().clone();
    bad.insert(7);
    let mut payload = Vec::new();
    payload.extend_from_slice(&0u32.to_le_bytes());
    payload.extend_from_slice(&Day::EPOCH.as_i32().to_le_bytes());
    let mut bm = Vec::new();
    bad.serialize_into(&mut bm).unwrap();
    payload.extend_from_slice(&(bm.len() as u32).to_le_bytes());
    payload.extend_from_slice(&bm);
    payload.extend_from_slice(&0u32.to_le_bytes());
    let mut p = parts.clone();
    p.sections[members].1 = payload.clone();
    assert_eq!(
        invalid(&p),
        "tag 0 has member 7, which is not a live customer"
    );

    // Overlapping day buckets, a bucket for the base day, descending days.
    let bucket = |day: i32, ids: &[u32]| {
        let mut out = day.to_le_bytes().to_vec();
        let bm: RoaringBitmap = ids.iter().copied().collect();
        let mut b = Vec::new();
        bm.serialize_into(&mut b).unwrap();
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(&b);
        out
    };
    let members_payload = |buckets: &[Vec<u8>]| {
        let all: RoaringBitmap = [0u32, 1, 2, 3].into_iter().collect();
        let mut out = 0u32.to_le_bytes().to_vec();
        out.extend_from_slice(&0i32.to_le_bytes());
        let mut b = Vec::new();
        all.serialize_into(&mut b).unwrap();
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(&b);
        out.extend_from_slice(&(buckets.len() as u32).to_le_bytes());
        for x in buckets {
            out.extend_from_slice(x);
        }
        out
    };
    let mut p = parts.clone();
    p.sections[members].1 = members_payload(&[bucket(5, &[1, 2]), bucket(6, &[2])]);
    assert_eq!(
        invalid(&p),
        "tag 0: the bucket of 1970-01-07 overlaps an earlier one"
    );
    p.sections[members].1 = members_payload(&[bucket(0, &[1])]);
    assert_eq!(invalid(&p), "tag 0: a bucket for the base day 1970-01-01");
    p.sections[members].1 = members_payload(&[bucket(6, &[1]), bucket(5, &[2])]);
    assert_eq!(
        invalid(&p),
        "tag 0: bucket days must ascend, 1970-01-06 does not"
    );
    p.sections[members].1 = members_payload(&[bucket(6, &[9])]);
    assert_eq!(
        invalid(&p),
        "tag 0: the bucket of 1970-01-07 holds customers that are not members"
    );
    p.sections[members].1 = members_payload(&[bucket(6, &[])]);
    assert_eq!(invalid(&p), "tag 0: the bucket of 1970-01-07 is empty");
    // Members sections out of order.
    let mut p = parts.clone();
    p.sections.swap(members, members + 1);
    assert_eq!(
        invalid(&p),
        "members of tag 0 after those of tag 1 (tags must ascend)"
    );

    // A directory slot that is neither a phone, a member id nor erased.
    let mut p = parts.clone();
    let dir = &mut p.sections[0].1;
    let slots_at = dir.len() - 41 * 8;
    dir[slots_at + 8..slots_at + 16].copy_from_slice(&0u64.to_le_bytes());
    assert_eq!(invalid(&p), "customer id 1 has an invalid key slot 0x0");
    // Two ids with one key.
    let mut p = parts.clone();
    let dir = &mut p.sections[0].1;
    let two = dir[slots_at + 16..slots_at + 24].to_vec();
    dir[slots_at + 8..slots_at + 16].copy_from_slice(&two);
    assert_eq!(
        invalid(&p),
        "customer id 2 repeats the key of an earlier id"
    );
    // Member ids: M-0000 (id 0), M-0003 (id 3)... each a u16 length and its bytes after
    // the id space and the count.
    let first = 12 + 2;
    let second = first + 6 + 2;
    assert_eq!(&parts.sections[0].1[first..first + 6], b"M-0000");
    assert_eq!(&parts.sections[0].1[second..second + 6], b"M-0003");
    let mut p = parts.clone();
    p.sections[0].1[second..second + 6].copy_from_slice(b"M-0000");
    assert_eq!(
        invalid(&p),
        "customer id 3 repeats the key of an earlier id"
    );
    let mut p = parts.clone();
    p.sections[0].1[second + 2] = 0x07;
    assert_eq!(
        invalid(&p),
        "customer id 3: invalid customer key \"M-\\u{7}003\": a member id must not contain control characters"
    );
    // A phone slot (id 1) marked as a member id: one slot more than member ids stored.
    let mut p = parts.clone();
    let dir = &mut p.sections[0].1;
    dir[slots_at + 8..slots_at + 16].copy_from_slice(&(1u64 << 63).to_le_bytes());
    assert_eq!(
        invalid(&p),
        "15 slots hold member ids but 14 member ids are stored"
    );
    // An id space beyond the bytes present.
    let mut p = parts.clone();
    p.sections[0].1[..8].copy_from_slice(&u64::from(u32::MAX).to_le_bytes());
    let m = invalid(&p);
    assert!(
        m.starts_with("4294967295 id slots need 34359738360 bytes, only "),
        "{m}"
    );

    // Attributes: a value for an erased customer, a bad width, a day beyond days.
    let attr = section_of(&parts, 3, 2); // monetary_cents: ids 0, 1, 2
    let mut p = parts.clone();
    let a = &mut p.sections[attr].1;
    let name_len = u32::from_le_bytes(a[4..8].try_into().unwrap()) as usize;
    let kind_at = 8 + name_len;
    let n = u64::from_le_bytes(a[kind_at + 1..kind_at + 9].try_into().unwrap()) as usize;
    assert_eq!(n, 3);
    let width_at = kind_at + 9 + n.div_ceil(64) * 8 + 8;
    assert_eq!(a[width_at], 8);
    a[width_at] = 3;
    assert_eq!(
        invalid(&p),
        "attribute 2 has a value width of 3 bytes (1, 2, 4 or 8)"
    );
    // A value for customer 7, who was erased (purchase_count, attribute 1, has 40 slots).
    let count = section_of(&parts, 3, 1);
    let mut p = parts.clone();
    let a = &mut p.sections[count].1;
    let k = 8 + u32::from_le_bytes(a[4..8].try_into().unwrap()) as usize;
    assert_eq!(u64::from_le_bytes(a[k + 1..k + 9].try_into().unwrap()), 40);
    a[k + 9] |= 1 << 7;
    assert_eq!(
        invalid(&p),
        "attribute 1 has a value for customer id 7, which is not a live customer"
    );
    // Presence bits past the last slot, and slots beyond the id space.
    let mut p = parts.clone();
    p.sections[count].1[k + 9 + 5] |= 1 << 2; // id 42 > 40
    assert_eq!(
        invalid(&p),
        "attribute 1: the presence bits must end with the last value slot"
    );
    let mut p = parts.clone();
    p.sections[count].1[k + 1..k + 9].copy_from_slice(&1_000u64.to_le_bytes());
    assert_eq!(
        invalid(&p),
        "attribute 1 has 1000 value slots, more than the 64 ids handed out"
    );
    let mut p = parts.clone();
    p.sections[attr].1[kind_at] = 1;
    assert_eq!(
        invalid(&p),
        "attribute 2 holds days, and customer id 0 has a value beyond them"
    );
    let mut p = parts.clone();
    p.sections[attr].1[kind_at] = 7;
    assert_eq!(invalid(&p), "attribute 2 has an unknown kind 7");
    let mut p = parts.clone();
    p.sections[attr].1[..4].copy_from_slice(&3u32.to_le_bytes());
    assert_eq!(
        invalid(&p),
        "attribute 3 where attribute 2 was expected (ids are dense, in order)"
    );
    // The same attribute twice.
    let mut p = parts.clone();
    let first = section_of(&parts, 3, 0);
    let mut copy = p.sections[first].1.clone();
    copy[..4].copy_from_slice(&1u32.to_le_bytes());
    p.sections[first + 1].1 = copy;
    assert_eq!(invalid(&p), "attribute \"last_interaction\" appears twice");

    // Taxonomy: an unknown change code, a tag in a missing dimension, a duplicate name.
    let mut p = parts.clone();
    let tax = &mut p.sections[1].1;
    // The last entry: Merged { from: 7, "ordered", into: 6, "paid" } (code 6).
    let code_at = tax.len() - (1 + 4 + 4 + 7 + 4 + 4 + 4);
    assert_eq!(tax[code_at], 6);
    tax[code_at] = 42;
    assert_eq!(invalid(&p), "unknown change code 42 in the log");
    let mut p = parts.clone();
    let tax = &mut p.sections[1].1;
    let into_at = tax.len() - 12;
    tax[into_at..into_at + 4].copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(
        invalid(&p),
        "log entry 17 names tag 9, which was never created"
    );

    // A second directory; a taxonomy first.
    let mut p = parts.clone();
    let dir = p.sections[0].clone();
    p.sections.insert(2, dir);
    p.recount();
    assert_eq!(
        invalid(&p),
        "a second directory section (only one is allowed, right after the header)"
    );
    let mut p = parts.clone();
    p.sections.swap(0, 1);
    assert_eq!(invalid(&p), "expected the directory section first");
    // Trailing bytes in a section.
    let mut p = parts.clone();
    p.sections[1].1.push(0);
    assert_eq!(invalid(&p), "1 unexpected bytes after the content");
}

/// The load's shortcuts keep every check: with no erased id the members check compares
/// the largest member only, phone keys that ascend with their ids skip the duplicate
/// search, and attribute slots are decoded a word of 64 ids at a time.
#[test]
fn checks_hold_on_the_load_shortcuts() {
    let day = Day::from_days(20_000).unwrap();
    let mut s = Store::new();
    let tag = s
        .create_tag(&Edit::new("admin", day), TagSpec::new("t"))
        .unwrap();
    s.ensure_customers((0..200u64).map(|i| CustomerKey::Phone(66_800_000_000 + i)))
        .unwrap();
    s.add_tag_bulk(tag, &(0..150).collect(), day).unwrap();
    // Values for two ids of every three below 130: full, mixed and partial words.
    let n = s.define_attribute("n", AttrKind::Int).unwrap();
    let ids: Vec<u32> = (0..130).filter(|i| i % 3 != 0).collect();
    let values: Vec<Value> = ids
        .iter()
        .map(|&i| Value::Int(i64::from(i) * 1_000))
        .collect();
    s.set_values(n, &ids, &values).unwrap();
    // Days at the top of the range: their planes' bound reaches past the last day, their
    // values do not.
    let d = s.define_attribute("d", AttrKind::Day).unwrap();
    s.set_value(0, d, Day::MAX - 2).unwrap();
    s.set_value(1, d, Day::MAX).unwrap();
    let bytes = snapshot(&s);
    assert_same(&s, &load(&bytes).unwrap());
    let parts = Parts::split(&bytes);

    // A member at the id space, one past the last customer.
    let members = section_of(&parts, 4, 0);
    let mut p = parts.clone();
    let mut bad = s.members(tag).unwrap().clone();
    bad.insert(200);
    let mut payload = 0u32.to_le_bytes().to_vec();
    payload.extend_from_slice(&day.as_i32().to_le_bytes());
    let mut bm = Vec::new();
    bad.serialize_into(&mut bm).unwrap();
    payload.extend_from_slice(&(bm.len() as u32).to_le_bytes());
    payload.extend_from_slice(&bm);
    payload.extend_from_slice(&0u32.to_le_bytes());
    p.sections[members].1 = payload;
    assert_eq!(
        invalid(&p),
        "tag 0 has member 200, which is not a live customer"
    );

    // Ascending keys but one repeated.
    let mut p = parts.clone();
    let dir = &mut p.sections[0].1;
    let slots_at = dir.len() - 200 * 8;
    let key = dir[slots_at + 99 * 8..slots_at + 100 * 8].to_vec();
    dir[slots_at + 100 * 8..slots_at + 101 * 8].copy_from_slice(&key);
    assert_eq!(
        invalid(&p),
        "customer id 100 repeats the key of an earlier id"
    );

    // Attribute n: 129 slots (id 128 has the last value), base 1000 (id 1), four bytes each.
    let attr = section_of(&parts, 3, 0);
    let a = &parts.sections[attr].1;
    let k = 8 + u32::from_le_bytes(a[4..8].try_into().unwrap()) as usize;
    assert_eq!(u64::from_le_bytes(a[k + 1..k + 9].try_into().unwrap()), 129);
    let base_at = k + 9 + 3 * 8;
    assert_eq!(
        i64::from_le_bytes(a[base_at..base_at + 8].try_into().unwrap()),
        1_000
    );
    assert_eq!(a[base_at + 8], 4);
    let slot = |id: usize| base_at + 9 + id * 4;
    // A slot of id 3, which has no value, holds something.
    let mut p = parts.clone();
    p.sections[attr].1[slot(3)] = 1;
    assert_eq!(
        invalid(&p),
        "attribute 0: a customer without a value has a non-zero slot"
    );
    // A base so high that the largest value overflows.
    let mut p = parts.clone();
    p.sections[attr].1[base_at..base_at + 8].copy_from_slice(&(i64::MAX - 100_000).to_le_bytes());
    assert_eq!(invalid(&p), "attribute 0: a value does not fit in 64 bits");
    // The same base with every value fitting, but a huge slot for id 3, which has no value:
    // the slot is what is wrong.
    p.sections[attr].1[base_at..base_at + 8].copy_from_slice(&(i64::MAX - 200_000).to_le_bytes());
    p.sections[attr].1[slot(3)..slot(3) + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        invalid(&p),
        "attribute 0: a customer without a value has a non-zero slot"
    );
}

#[test]
fn io_errors_are_reported() {
    struct Failing;
    impl std::io::Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let e = audience::snapshot::write(&sample_store(), Failing).unwrap_err();
    assert_eq!(
        e.to_string(),
        "I/O error while writing a snapshot: disk full"
    );
    assert!(matches!(
        e.kind(),
        ErrorKind::Io {
            kind: std::io::ErrorKind::Other,
            ..
        }
    ));
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("connection reset"))
        }
    }
    let Err(e) = audience::snapshot::read(Broken) else {
        panic!("loaded")
    };
    assert_eq!(
        e.to_string(),
        "I/O error while reading a snapshot: connection reset"
    );
}

// ----------------------------------------------------------------------------------------
// Every corruption is detected
// ----------------------------------------------------------------------------------------

#[test]
fn every_single_byte_corruption_and_truncation_is_detected() {
    let bytes = snapshot(&sample_store());
    assert!(
        bytes.len() < 4096,
        "keep this snapshot small: {}",
        bytes.len()
    );
    parts::assert_every_damage_refused(&bytes, load);
}

// ----------------------------------------------------------------------------------------
// Random stores round-trip
// ----------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Add(u8),
    Erase(u8),
    Tag(u8, u8, i32),
    Untag(u8, u8),
    Bulk(u8, Vec<u8>, i32),
    Value(u8, u8, i64),
    Clear(u8, u8),
    Expire(i32),
    Create(u8),
    Delete(u8),
    Merge(u8, u8),
    Archive(u8),
    Rename(u8, u8),
    Colour(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0u8..24;
    let t = 0u8..6;
    let d = -5i32..40;
    let v = prop_oneof![
        -50i64..50,
        Just(i64::MIN),
        Just(i64::MAX),
        any::<i64>(),
        18_000i64..21_000
    ];
    prop_oneof![
        4 => c.clone().prop_map(Op::Add),
        1 => c.clone().prop_map(Op::Erase),
        4 => (c.clone(), t.clone(), d.clone()).prop_map(|(a, b, d)| Op::Tag(a, b, d)),
        1 => (c.clone(), t.clone()).prop_map(|(a, b)| Op::Untag(a, b)),
        2 => (t.clone(), prop::collection::vec(c.clone(), 0..10), d.clone()).prop_map(|(a, b, d)| Op::Bulk(a, b, d)),
        3 => (c.clone(), 0u8..3, v).prop_map(|(a, b, v)| Op::Value(a, b, v)),
        1 => (c, 0u8..3).prop_map(|(a, b)| Op::Clear(a, b)),
        1 => (0i32..60).prop_map(Op::Expire),
        1 => t.clone().prop_map(Op::Create),
        1 => t.clone().prop_map(Op::Delete),
        1 => (t.clone(), t.clone()).prop_map(|(a, b)| Op::Merge(a, b)),
        1 => t.clone().prop_map(Op::Archive),
        1 => (t.clone(), 0u8..4).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (0u8..4).prop_map(Op::Colour),
    ]
}

/// Applies an operation; errors (unknown customers, archived tags...) are part of the game.
fn apply(s: &mut Store, op: &Op) {
    let e = Edit::new("prop", Day::from_days(3).unwrap()).because("random");
    let key = |k: u8| {
        if k.is_multiple_of(2) {
            CustomerKey::Phone(66_800_000_000 + u64::from(k))
        } else {
            CustomerKey::member(format!("m{k}")).unwrap()
        }
    };
    let id = |s: &Store, k: u8| s.customer(&key(k)).unwrap_or(u32::MAX);
    let tag = |t: u8| audience::TagId::from_u32(u32::from(t));
    let attr = |s: &Store, a: u8| s.attributes().nth(a as usize).map(|i| i.id).unwrap();
    let dims = ["stage", "channel", "ความสนใจ", "général"];
    let _ = match op {
        Op::Add(k) => s.ensure_customer(key(*k)).map(|_| ()),
        Op::Erase(k) => s.erase_customer(id(s, *k)),
        Op::Tag(k, t, d) => s.add_tag(id(s, *k), tag(*t), Day::EPOCH.saturating_add(*d)),
        Op::Untag(k, t) => s.remove_tag(id(s, *k), tag(*t)).map(|_| ()),
        Op::Bulk(t, ks, d) => {
            let set: RoaringBitmap = ks
                .iter()
                .map(|k| id(s, *k))
                .filter(|i| *i != u32::MAX)
                .collect();
            s.add_tag_bulk(tag(*t), &set, Day::EPOCH.saturating_add(*d))
        }
        Op::Value(k, a, v) => {
            let at = attr(s, *a);
            let value = if *a == 2 {
                Value::Day(Day::EPOCH.saturating_add(*v as i32))
            } else {
                Value::Int(*v)
            };
            s.set_value(id(s, *k), at, value)
        }
        Op::Clear(k, a) => {
            let at = attr(s, *a);
            s.clear_value(id(s, *k), at).map(|_| ())
        }
        Op::Expire(today) => {
            s.expire(Day::EPOCH.saturating_add(*today));
            Ok(())
        }
        Op::Create(t) => s
            .create_tag(
                &e,
                TagSpec::new(format!("tag {t}"))
                    .dimension(dims[*t as usize % 4])
                    .ttl_days(u32::from(*t) * 5),
            )
            .map(|_| ()),
        Op::Delete(t) => s.delete_tag(&e, tag(*t)).map(|_| ()),
        Op::Merge(a, b) => s.merge_tags(&e, tag(*a), tag(*b)).map(|_| ()),
        Op::Archive(t) => s.archive_tag(&e, tag(*t)),
        Op::Rename(t, n) => s.rename_tag(&e, tag(*t), &format!("名前 {n}")),
        Op::Colour(d) => s.set_dimension_colour(&e, dims[*d as usize], Some(format!("#{d}{d}{d}"))),
    };
}

fn random_store(ops: &[Op]) -> Store {
    let mut s = Store::new();
    let e = Edit::new("prop", Day::from_days(0).unwrap());
    for t in 0..4 {
        s.create_tag(&e, TagSpec::new(format!("tag {t}")).ttl_days(t * 7))
            .unwrap();
    }
    s.define_attribute("a0", AttrKind::Int).unwrap();
    s.define_attribute("a1", AttrKind::Int).unwrap();
    s.define_attribute("seen", AttrKind::Day).unwrap();
    for op in ops {
        apply(&mut s, op);
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any store built by random operations loads back identical in every read, and
    /// writes identical bytes.
    #[test]
    fn random_stores_round_trip(ops in prop::collection::vec(op(), 0..120)) {
        let s = random_store(&ops);
        let loaded = load(&snapshot(&s)).unwrap();
        assert_same(&s, &loaded);
    }

    /// Random corruption (a few bytes set to random values) never loads and never panics.
    #[test]
    fn random_corruption_is_detected(
        ops in prop::collection::vec(op(), 0..60),
        hits in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let bytes = snapshot(&random_store(&ops));
        let mut bad = bytes.clone();
        for (at, x) in &hits {
            let i = at.index(bad.len());
            bad[i] ^= x;
        }
        prop_assume!(bad != bytes);
        prop_assert!(load(&bad).is_err());
    }
}

// ----------------------------------------------------------------------------------------
// Inputs found by fuzzing
// ----------------------------------------------------------------------------------------

/// Found by `fuzz/fuzz_targets/snapshot_load.rs`: a section length near 2^64 overflowed
/// the fuzz harness's own checksum fixer (`end + 4`), not the library. Kept as a
/// regression test of the library's side: the input itself and the same section behind a
/// valid header are refused.
#[test]
fn fuzz_regression_length_near_u64_max() {
    let input: &[u8] = &[
        0x00, 0x26, 0x94, 0x26, 0x94, 0x3f, 0xff, 0xff, 0x7e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x4d, 0xe5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ];
    assert_eq!(snapshot_error(input).problem, SnapshotProblem::NotASnapshot);
    let mut framed = MAGIC.to_vec();
    framed.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    framed.extend_from_slice(&input[8..]);
    let e = snapshot_error(&framed);
    assert_eq!(e.section, Section::Unknown(0xffff_ff7e));
    assert!(
        matches!(e.problem, SnapshotProblem::TooLarge { len, .. } if len > u64::MAX - 0x1_0000_0000_0000),
        "{e}"
    );
}

#[test]
fn governance_survives_a_snapshot() {
    use audience::{Edit, NamingRules, Policy, Store, TagSpec, TaxonomyAction};
    let day = Day::from_ymd(2025, 1, 6).unwrap();
    let admin = Edit::new("alice", day);
    let mut store = Store::new();
    store.create_tag(&admin, TagSpec::new("vip")).unwrap();
    let policy = Policy::administered_by(["alice", "bob"])
        .unwrap()
        .allow_anyone(TaxonomyAction::Describe)
        .with_naming(
            NamingRules::new()
                .max_chars(20)
                .unwrap()
                .forbid_chars("#@")
                .unwrap(),
        );
    store.set_policy(&admin, policy.clone()).unwrap();
    let mut bytes = Vec::new();
    audience::snapshot::write(&store, &mut bytes).unwrap();
    let loaded = load(&bytes).unwrap();
    assert_eq!(loaded.policy(), &policy);
    assert_eq!(loaded.change_log(), store.change_log());
    // Still enforced after the load.
    let mut loaded = loaded;
    let err = loaded
        .create_tag(&Edit::new("mallory", day), TagSpec::new("x"))
        .unwrap_err();
    assert!(
        err.to_string().starts_with("actor \"mallory\" may not"),
        "{err}"
    );
    // Canonical: writing the loaded store gives the same bytes.
    let mut again = Vec::new();
    audience::snapshot::write(&loaded, &mut again).unwrap();
    assert_eq!(again, bytes);
}
