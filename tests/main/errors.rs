//! The exact text of every error the core store returns: messages are part of the contract.

use audience::{
    AttrKind, CustomerKey, Day, Edit, ErrorKind, Query, RoaringBitmap, Store, TagSpec, Value,
};

fn setup() -> (Store, Edit) {
    let e = Edit::new("admin", Day::from_ymd(2025, 1, 1).unwrap());
    let mut s = Store::new();
    s.create_tag(&e, TagSpec::new("VIP").dimension("power"))
        .unwrap();
    s.create_tag(&e, TagSpec::new("ลูกค้าใหม่").dimension("stage"))
        .unwrap();
    s.define_attribute("purchase_count", AttrKind::Int).unwrap();
    s.add_customer(CustomerKey::phone("85291234567").unwrap())
        .unwrap();
    (s, e)
}

#[test]
fn customer_errors() {
    let (mut s, _) = setup();
    let dup = s
        .add_customer(CustomerKey::phone("85291234567").unwrap())
        .unwrap_err();
    assert_eq!(
        dup.to_string(),
        "customer 85291234567 exists already (id 0)"
    );
    assert!(matches!(
        dup.kind(),
        ErrorKind::DuplicateCustomer { id: 0, .. }
    ));
    let unknown = s
        .customer_id(&CustomerKey::member("M-1").unwrap())
        .unwrap_err();
    assert_eq!(unknown.to_string(), "unknown customer M-1");
    assert_eq!(
        s.erase_customer(7).unwrap_err().to_string(),
        "unknown customer id 7"
    );
    let vip = s.tag_id("vip").unwrap();
    let not_live: RoaringBitmap = [0, 5].into_iter().collect();
    assert_eq!(
        s.add_tag_bulk(vip, &not_live, Day::EPOCH)
            .unwrap_err()
            .to_string(),
        "unknown customer id 5"
    );
    // Nothing was applied.
    assert!(s.members(vip).unwrap().is_empty());
    let bad = s.add_customer(CustomerKey::Phone(0)).unwrap_err();
    assert_eq!(
        bad.to_string(),
        "invalid customer key \"0\": a phone key is 1 to 15 digits (E.164 without '+')"
    );
    let long = CustomerKey::member("x".repeat(300)).unwrap_err();
    assert_eq!(
        long.to_string(),
        format!(
            "invalid customer key \"{}\": a member id has at most 256 bytes, this one has 300",
            "x".repeat(64)
        )
    );
}

#[test]
fn taxonomy_errors() {
    let (mut s, e) = setup();
    let dup = s
        .create_tag(&e, TagSpec::new("ＶＩＰ ").dimension("Power"))
        .unwrap_err();
    assert_eq!(
        dup.to_string(),
        "tag \"ＶＩＰ\" clashes with existing tag \"VIP\" in dimension \"power\" (names are compared ignoring case, width and extra spaces)"
    );
    // The same name in another dimension is fine; then a bare name is ambiguous.
    s.create_tag(&e, TagSpec::new("vip").dimension("channel"))
        .unwrap();
    assert_eq!(
        s.tag_id("VIP").unwrap_err().to_string(),
        "tag name \"VIP\" is ambiguous: it exists in dimensions power, channel; write it as dimension:name"
    );
    assert_eq!(
        s.tag_id("ลูกค้าใหม").unwrap_err().to_string(),
        "unknown tag \"ลูกค้าใหม\" (did you mean \"ลูกค้าใหม่\"?)"
    );
    assert_eq!(
        s.create_tag(&e, TagSpec::new("   "))
            .unwrap_err()
            .to_string(),
        "invalid name \"\": a name must not be empty"
    );
    assert_eq!(
        s.create_tag(&e, TagSpec::new("x").dimension("a:b"))
            .unwrap_err()
            .to_string(),
        "invalid name \"a:b\": a dimension name must not contain ':'"
    );
    assert_eq!(
        s.tag(audience::TagId::from_u32(99))
            .unwrap_err()
            .to_string(),
        "unknown tag id 99"
    );
    let new = s.tag_id("ลูกค้าใหม่").unwrap();
    let vip = s.tag_id("power:VIP").unwrap();
    assert_eq!(
        s.merge_tags(&e, vip, vip).unwrap_err().to_string(),
        "a reason is required to merge tag \"VIP\""
    );
    assert_eq!(
        s.merge_tags(&e.clone().because("same meaning"), vip, vip)
            .unwrap_err()
            .to_string(),
        "merge needs two different tags, got \"VIP\" twice"
    );
    s.archive_tag(&e, new).unwrap();
    assert_eq!(
        s.add_tag(0, new, Day::EPOCH).unwrap_err().to_string(),
        "tag \"ลูกค้าใหม่\" is archived"
    );
    assert_eq!(
        s.count(&Query::parse("ลูกค้าใหม่").unwrap(), Day::EPOCH)
            .unwrap_err()
            .to_string(),
        "tag \"ลูกค้าใหม่\" is archived\n  ลูกค้าใหม่\n  ^^^^^^^"
    );
    let all: RoaringBitmap = [0].into_iter().collect();
    assert_eq!(
        s.move_tag_bulk(&all, vip, vip, Day::EPOCH)
            .unwrap_err()
            .to_string(),
        "move needs two different tags, got \"VIP\" twice"
    );
}

#[test]
fn attribute_errors() {
    let (mut s, _) = setup();
    let n = s.attribute_id("purchase_count").unwrap();
    assert_eq!(
        s.define_attribute("Purchase_Count", AttrKind::Int)
            .unwrap_err()
            .to_string(),
        "attribute \"Purchase_Count\" exists already"
    );
    assert_eq!(
        s.attribute_id("purchase_cnt").unwrap_err().to_string(),
        "unknown attribute \"purchase_cnt\" (did you mean \"purchase_count\"?)"
    );
    assert_eq!(
        s.set_value(0, n, Day::EPOCH).unwrap_err().to_string(),
        "attribute \"purchase_count\" holds number values, got day"
    );
    assert_eq!(
        s.set_values(n, &[0], &[]).unwrap_err().to_string(),
        "invalid argument: 1 customer but 0 values"
    );
    assert_eq!(
        s.define_attribute("1st", AttrKind::Int)
            .unwrap_err()
            .to_string(),
        "invalid name \"1st\": an attribute name must not start with a digit"
    );
    assert_eq!(
        s.define_attribute("rfm.r", AttrKind::Int)
            .unwrap_err()
            .to_string(),
        "invalid name \"rfm.r\": an attribute name has only letters, digits and '_'"
    );
    // A failed bulk set changes nothing.
    assert!(
        s.set_values(n, &[0, 9], &[Value::Int(1), Value::Int(2)])
            .is_err()
    );
    assert_eq!(s.value(0, n).unwrap(), None);
}

#[test]
fn limits_and_exhaustion() {
    let e = ErrorKind::LimitExceeded {
        what: "number of tags",
        limit: 1 << 20,
        actual: (1 << 20) + 1,
    };
    assert_eq!(
        e.to_string(),
        "number of tags exceeds the limit of 1048576 (got 1048577)"
    );
    assert_eq!(
        ErrorKind::IdSpaceExhausted(4_294_967_295).to_string(),
        "customer id space exhausted (4294967295 ids handed out)"
    );
    let (mut s, e) = setup();
    let long = "ก".repeat(201);
    assert_eq!(
        s.create_tag(&e, TagSpec::new(long.as_str()))
            .unwrap_err()
            .to_string(),
        format!(
            "invalid name \"{}\": a name has at most 200 characters, this one has 201",
            "ก".repeat(64)
        )
    );
}

#[test]
fn predicates_sort_errors_for_callers() {
    use audience::{Day, Edit, Policy, Query, Store, TagSpec};
    let day = Day::EPOCH;
    let mut store = Store::new();
    let unknown = store.count(&Query::parse("vip").unwrap(), day).unwrap_err();
    assert!(unknown.is_unknown_name() && !unknown.is_not_permitted());
    store
        .set_policy(
            &Edit::new("mei", day),
            Policy::administered_by(["mei"]).unwrap(),
        )
        .unwrap();
    let refused = store
        .create_tag(&Edit::new("intern", day), TagSpec::new("vip"))
        .unwrap_err();
    assert!(refused.is_not_permitted() && !refused.is_unknown_name());
    let deep = Query::parse(&"(".repeat(200)).unwrap_err();
    assert!(deep.is_limit_exceeded());
    let Err(corrupt) = audience::snapshot::read(&b"not a snapshot at all"[..]) else {
        panic!("text read as a snapshot");
    };
    assert!(corrupt.is_corrupt_input() && !corrupt.is_io());
    use std::error::Error as _;
    assert!(corrupt.source().is_none());
}
