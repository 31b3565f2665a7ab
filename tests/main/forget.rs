//! "Forget me": after the procedure, no written byte holds the erased customer's key, and
//! no extra holds its id.

use audience::campaign::{Hour, SendLog};
use audience::{CustomerKey, Extras, RoaringBitmap, Store, TagSpec};

use crate::support::jun_18;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn forget_me_reaches_every_written_byte() {
    let admin = audience::Edit::new("admin", jun_18());
    let mut store = Store::new();
    let vip = store.create_tag(&admin, TagSpec::new("VIP")).unwrap();
    let keep = store
        .add_customer(CustomerKey::phone("66812345678").unwrap())
        .unwrap();
    let phone = store
        .add_customer(CustomerKey::phone("85291234567").unwrap())
        .unwrap();
    let member = store
        .add_customer(CustomerKey::member("M-ERASE-ME-0042").unwrap())
        .unwrap();
    for c in [keep, phone, member] {
        store.add_tag(c, vip, jun_18()).unwrap();
    }
    let mut log = SendLog::new();
    log.record(
        &store,
        Hour::start_of(jun_18()),
        "line",
        &RoaringBitmap::from([keep, phone, member]),
    )
    .unwrap();
    let mut extras = Extras::new();
    extras.send_logs.insert("broadcasts".into(), log);

    let gone = RoaringBitmap::from([phone, member]);
    for c in &gone {
        store.erase_customer(c).unwrap();
    }
    // The snapshot leaves erased customers out of the extras even before the app forgets
    // them in memory...
    let mut early = Vec::new();
    audience::snapshot::write_with(&store, &extras, &mut early).unwrap();
    let (_, read_back) = audience::snapshot::read_with(&early[..]).unwrap();
    let messaged = |e: &Extras| {
        e.send_logs["broadcasts"]
            .received(Hour::start_of(jun_18()), 0, None, 1)
            .unwrap()
    };
    assert_eq!(messaged(&read_back), RoaringBitmap::from([keep]));
    assert_eq!(
        messaged(&extras),
        RoaringBitmap::from([keep, phone, member])
    );
    // ...and forgetting them in memory writes the same bytes.
    extras.forget(&gone);
    assert_eq!(messaged(&extras), RoaringBitmap::from([keep]));
    let mut bytes = Vec::new();
    audience::snapshot::write_with(&store, &extras, &mut bytes).unwrap();
    assert_eq!(bytes, early);
    // No byte sequence of the erased keys: the phone number as text and as its integer,
    // the member id as text.
    for needle in [
        b"85291234567".to_vec(),
        85_291_234_567u64.to_le_bytes().to_vec(),
        85_291_234_567u64.to_be_bytes().to_vec(),
        b"M-ERASE-ME-0042".to_vec(),
    ] {
        assert!(!contains(&bytes, &needle), "{needle:?}");
    }
    // The kept customer is there.
    assert!(contains(&bytes, &66_812_345_678u64.to_le_bytes()));
    // And no extra holds the erased ids.
    let (back, extras) = audience::snapshot::read_with(&bytes[..]).unwrap();
    assert_eq!(back.customers(), &RoaringBitmap::from([keep]));
    assert_eq!(messaged(&extras), RoaringBitmap::from([keep]));
}

/// Tiers and splits the app keeps forget erased customers too, and keep their shape.
#[test]
fn assignments_and_splits_forget_erased_customers() {
    use audience::campaign::{Size, SplitSpec, split};
    use audience::tiers::Assignment;

    let mut store = Store::new();
    let ids = store
        .ensure_customers((0..1_000u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))
        .unwrap();
    let audience: RoaringBitmap = ids.iter().copied().collect();
    let spec = SplitSpec::new(11)
        .holdout(Size::Percent(10))
        .unwrap()
        .group("A", Size::Count(300))
        .unwrap()
        .group("B", Size::Count(300))
        .unwrap();
    let mut s = split(&store, &audience, &spec).unwrap();
    let mut tiers = Assignment::new(vec![
        ("gold".into(), ids[..100].iter().copied().collect()),
        ("silver".into(), ids[100..400].iter().copied().collect()),
    ])
    .unwrap();
    // One customer from each part of the split.
    let pick = |b: &RoaringBitmap| b.min().unwrap();
    let gone: RoaringBitmap = [
        pick(s.holdout.as_ref().unwrap()),
        pick(s.group("A").unwrap()),
        pick(s.group("B").unwrap()),
        pick(&s.unassigned),
    ]
    .into_iter()
    .collect();
    for c in &gone {
        store.erase_customer(c).unwrap();
    }
    s.forget(&gone);
    tiers.forget(&gone);
    let parts = [
        s.holdout.clone().unwrap(),
        s.group("A").unwrap().clone(),
        s.group("B").unwrap().clone(),
        s.unassigned.clone(),
    ];
    assert_eq!(
        parts.iter().map(RoaringBitmap::len).collect::<Vec<_>>(),
        [99, 299, 299, 299]
    );
    let all: RoaringBitmap = parts.iter().fold(RoaringBitmap::new(), |a, b| a | b);
    assert_eq!(&all, store.customers());
    assert!(tiers.assigned().is_disjoint(&gone));
    assert_eq!(
        tiers.assigned().len(),
        400 - (&gone & &ids[..400].iter().copied().collect::<RoaringBitmap>()).len()
    );
    assert_eq!(tiers.len(), 2);
}
