//! The taxonomy: names in five scripts, folding, dimensions and colours, rename, archive,
//! merge (with assignment days), delete, and the change log.

use audience::{
    Change, CustomerKey, Edit, Query, RoaringBitmap, Store, TagKind, TagSpec, dimensions,
};

use crate::support::day;

#[test]
fn names_in_five_scripts_resolve_and_fold() {
    let e = Edit::new("admin", day("2025-01-01"));
    let mut s = Store::new();
    let names = [
        ("ลูกค้าใหม่", dimensions::STAGE),               // Thai: new customer
        ("高消費力", dimensions::PURCHASING_POWER),   // Chinese: high spending power
        ("عميل مميز", dimensions::PURCHASING_POWER),  // Arabic: premium customer
        ("VIP клиент", dimensions::PURCHASING_POWER), // Russian
        ("Abandoned Cart", dimensions::STAGE),        // English
    ];
    let c = s.add_customer(CustomerKey::member("m1").unwrap()).unwrap();
    for (name, dim) in names {
        let id = s.create_tag(&e, TagSpec::new(name).dimension(dim)).unwrap();
        assert_eq!(s.tag(id).unwrap().name, name);
        assert_eq!(s.tag_id(name).unwrap(), id);
        s.add_tag(c, id, e.day).unwrap();
    }
    // Folding: case (Cyrillic and Latin), width, spaces.
    assert_eq!(
        s.tag_id("vip КЛИЕНТ").unwrap(),
        s.tag_id("VIP клиент").unwrap()
    );
    assert_eq!(
        s.tag_id("  abandoned   cart ").unwrap(),
        s.tag_id("Abandoned Cart").unwrap()
    );
    assert_eq!(
        s.tag_id("ＶＩＰ клиент").unwrap(),
        s.tag_id("VIP клиент").unwrap()
    );
    // Each can be queried, bare or quoted.
    for q in [
        "ลูกค้าใหม่ AND 高消費力",
        "\"عميل مميز\" AND \"VIP клиент\" AND \"abandoned cart\"",
        "stage:ลูกค้าใหม่",
    ] {
        assert_eq!(s.count(&Query::parse(q).unwrap(), e.day).unwrap(), 1, "{q}");
    }
    assert_eq!(s.tags_of(c).unwrap().len(), 5);
}

#[test]
fn dimensions_colours_kinds_and_ttl() {
    let e = Edit::new("admin", day("2025-01-01"));
    let mut s = Store::new();
    let web = s
        .create_tag(&e, TagSpec::new("website").dimension(dimensions::CHANNEL))
        .unwrap();
    s.create_tag(&e, TagSpec::new("Instagram").dimension(dimensions::CHANNEL))
        .unwrap();
    let active = s
        .create_tag(
            &e,
            TagSpec::new("active this week")
                .dimension(dimensions::ACTIVITY)
                .kind(TagKind::Dynamic)
                .ttl_days(7)
                .description("kept by the weekly rules"),
        )
        .unwrap();
    s.set_dimension_colour(&e, "Channel", Some("#1e90ff".into()))
        .unwrap();
    let channel = s.dimensions().iter().find(|d| d.name == "channel").unwrap();
    assert_eq!(channel.colour.as_deref(), Some("#1e90ff"));
    assert_eq!(s.dimensions().len(), 2, "dimension names fold too");
    let info = s.tag(active).unwrap();
    assert_eq!((info.kind, info.ttl_days), (TagKind::Dynamic, Some(7)));
    assert_eq!(info.description, "kept by the weekly rules");
    assert_eq!(info.qualified_name(), "activity:active this week");
    s.set_ttl(&e, active, None).unwrap();
    s.describe_tag(&e, web, TagKind::Static, "orders from the web shop")
        .unwrap();
    assert_eq!(s.tag(active).unwrap().ttl_days, None);
    assert_eq!(s.tag(web).unwrap().description, "orders from the web shop");
}

#[test]
fn rename_archive_merge_delete_and_the_log() {
    let e = Edit::new("alice", day("2025-01-01"));
    let mut s = Store::new();
    let ids = s
        .ensure_customers((0..6).map(|i| CustomerKey::member(format!("m{i}")).unwrap()))
        .unwrap();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5]);
    let ordered = s
        .create_tag(&e, TagSpec::new("ordered").dimension("stage"))
        .unwrap();
    let paid = s
        .create_tag(&e, TagSpec::new("paid").dimension("stage"))
        .unwrap();
    let set = |v: &[u32]| v.iter().copied().collect::<RoaringBitmap>();
    s.add_tag_bulk(ordered, &set(&[0, 1, 2]), day("2024-11-01"))
        .unwrap();
    s.add_tag_bulk(paid, &set(&[2, 3]), day("2024-12-01"))
        .unwrap();

    // "Unified naming": one of "ordered"/"paid" must go. Merge paid into ordered.
    let later = Edit::new("bob", day("2025-01-02")).because("same meaning as ordered");
    assert_eq!(s.merge_tags(&later, ordered, paid).unwrap(), 1);
    assert_eq!(s.members(ordered).unwrap(), &set(&[0, 1, 2, 3]));
    assert!(s.members(paid).is_err());
    assert!(s.tag_id("paid").is_err());
    // Customer 3 came from "paid" and keeps that assignment day; 2 keeps its "ordered" day.
    assert_eq!(s.assigned_day(3, ordered).unwrap(), Some(day("2024-12-01")));
    assert_eq!(s.assigned_day(2, ordered).unwrap(), Some(day("2024-11-01")));

    s.rename_tag(&later, ordered, "purchased").unwrap();
    assert_eq!(s.tag_id("purchased").unwrap(), ordered);
    assert!(s.tag_id("ordered").is_err());
    // The freed name can be used again.
    let again = s
        .create_tag(&later, TagSpec::new("ordered").dimension("stage"))
        .unwrap();
    assert_ne!(again, ordered);

    s.archive_tag(&later, again).unwrap();
    assert!(s.tag(again).unwrap().archived);
    s.unarchive_tag(&later, again).unwrap();
    assert_eq!(
        s.delete_tag(&later.clone().because("unused"), ordered)
            .unwrap(),
        4
    );
    assert!(s.tags_of(0).unwrap().is_empty());

    let log: Vec<(&str, &Change)> = s
        .change_log()
        .iter()
        .map(|l| (l.actor.as_str(), &l.change))
        .collect();
    assert_eq!(log.len(), 8);
    assert!(
        matches!(log[2], ("bob", Change::Merged { from_name, into_name, .. }) if from_name == "paid" && into_name == "ordered")
    );
    assert!(
        matches!(log[3], ("bob", Change::Renamed { from, to, .. }) if from == "ordered" && to == "purchased")
    );
    assert!(matches!(
        log[7],
        ("bob", Change::Deleted { members: 4, .. })
    ));
    assert_eq!(
        s.change_log()[2].reason.as_deref(),
        Some("same meaning as ordered")
    );
    assert_eq!(s.change_log()[2].day, day("2025-01-02"));
}

#[test]
fn overwrite_move_and_erase() {
    let e = Edit::new("admin", day("2025-01-01"));
    let mut s = Store::new();
    let c = s
        .add_customer(CustomerKey::phone("8613800138000").unwrap())
        .unwrap();
    let d = s
        .add_customer(CustomerKey::phone("971501234567").unwrap())
        .unwrap();
    let t: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| s.create_tag(&e, TagSpec::new(*n)).unwrap())
        .collect();
    s.add_tag(c, t[0], day("2024-01-01")).unwrap();
    s.add_tag(c, t[1], day("2024-01-01")).unwrap();
    let diff = s.set_tags(c, &[t[1], t[2]], day("2025-01-01")).unwrap();
    assert_eq!((diff.added, diff.removed), (vec![t[2]], vec![t[0]]));
    // Kept tags keep their day; new ones get the new day.
    assert_eq!(s.assigned_day(c, t[1]).unwrap(), Some(day("2024-01-01")));
    assert_eq!(s.assigned_day(c, t[2]).unwrap(), Some(day("2025-01-01")));

    // The bulk edit of CRM tagging guides: remove "silent" and add "high potential" in one step.
    let both: RoaringBitmap = [c, d].into_iter().collect();
    s.add_tag(d, t[1], day("2024-06-01")).unwrap();
    assert_eq!(
        s.move_tag_bulk(&both, t[1], t[0], day("2025-01-02"))
            .unwrap(),
        (2, 2)
    );
    assert_eq!(s.members(t[1]).unwrap().len(), 0);

    // "Forget me".
    let attr = s
        .define_attribute("purchase_count", audience::AttrKind::Int)
        .unwrap();
    s.set_value(c, attr, 3).unwrap();
    s.erase_customer(c).unwrap();
    assert_eq!(
        s.customer(&CustomerKey::phone("8613800138000").unwrap()),
        None
    );
    assert!(t.iter().all(|tag| !s.members(*tag).unwrap().contains(c)));
    assert!(!s.with_value(attr).unwrap().contains(c));
    assert_eq!(s.customers().len(), 1);
    // Ids are never reused: the same phone comes back with a new id.
    let back = s
        .add_customer(CustomerKey::phone("8613800138000").unwrap())
        .unwrap();
    assert_eq!(back, 2);
}

#[test]
fn a_customers_tag_names_and_a_stores_summary() {
    let today = crate::support::jun_18();
    let e = Edit::new("admin", today);
    let mut s = Store::new();
    let vip = s
        .create_tag(&e, TagSpec::new("VIP").dimension("power"))
        .unwrap();
    let new = s
        .create_tag(&e, TagSpec::new("新客戶").dimension("stage"))
        .unwrap();
    s.define_attribute("last", audience::AttrKind::Day).unwrap();
    let a = s
        .add_customer(CustomerKey::phone("85291234567").unwrap())
        .unwrap();
    let b = s.add_customer(CustomerKey::member("M-1").unwrap()).unwrap();
    s.add_tag(a, new, today).unwrap();
    s.add_tag(a, vip, today).unwrap();
    assert_eq!(s.tag_names_of(a).unwrap(), ["power:VIP", "stage:新客戶"]);
    assert!(s.tag_names_of(b).unwrap().is_empty());
    s.erase_customer(b).unwrap();
    assert_eq!(
        s.tag_names_of(b).unwrap_err().to_string(),
        s.tags_of(b).unwrap_err().to_string()
    );
    // Debug is a summary, never the customers (and makes `unwrap_err` on a load work).
    assert_eq!(
        format!("{s:?}"),
        "Store { customers: 1, id_space: 2, tags: 2, dimensions: 2, attributes: 1 }"
    );
    let err = audience::snapshot::read(&b"not a snapshot"[..]).unwrap_err();
    assert!(err.is_corrupt_input());
}

#[test]
fn tags_are_found_by_keyword_prefixes_first() {
    let e = Edit::new("mei", day("2025-03-03"));
    let mut s = Store::new();
    for (name, dimension) in [
        ("彩妝化妝品", "interest"),
        ("化妝品愛好者", "interest"),
        ("化妝品", "product"),
        ("護膚品", "product"),
        ("ＶＩＰ Gold", "power"),
        ("Silver VIP", "power"),
        ("old 化妝 campaign", "campaign"),
    ] {
        s.create_tag(&e, TagSpec::new(name).dimension(dimension))
            .unwrap();
    }
    let old = s.tag_id("old 化妝 campaign").unwrap();
    s.archive_tag(&e, old).unwrap();
    let names = |s: &Store, k: &str| -> Vec<String> {
        s.find_tags(k)
            .into_iter()
            .map(|t| format!("{}:{}", t.dimension, t.name))
            .collect()
    };
    // Prefix matches first (shortest first), then names containing it; archived left out.
    assert_eq!(
        names(&s, "化妝"),
        [
            "product:化妝品",
            "interest:化妝品愛好者",
            "interest:彩妝化妝品"
        ]
    );
    // Folded: case and full-width forms.
    assert_eq!(names(&s, "vip"), ["power:ＶＩＰ Gold", "power:Silver VIP"]);
    assert_eq!(names(&s, "  "), Vec::<String>::new());
    assert_eq!(names(&s, "香水"), Vec::<String>::new());
    // Bounded: a pick list, not a report.
    for i in 0..30 {
        s.create_tag(&e, TagSpec::new(format!("化妝 {i:02}")))
            .unwrap();
    }
    let found = names(&s, "化妝");
    assert_eq!(found.len(), audience::MAX_FOUND_TAGS);
    // Shortest in characters, whatever the script: three Chinese characters before five.
    assert_eq!(
        found[..3],
        ["product:化妝品", "general:化妝 00", "general:化妝 01"]
    );
    // Other scripts: Thai, Cyrillic (folded), Arabic.
    for (name, dimension) in [
        ("ลูกค้าใหม่", "stage"),
        ("ลูกค้าประจำ", "stage"),
        ("VIP Клиент", "power"),
        ("عميل مميز", "power"),
    ] {
        s.create_tag(&e, TagSpec::new(name).dimension(dimension))
            .unwrap();
    }
    assert_eq!(names(&s, "ลูกค้า"), ["stage:ลูกค้าใหม่", "stage:ลูกค้าประจำ"]);
    assert_eq!(names(&s, "КЛИЕНТ"), ["power:VIP Клиент"]);
    assert_eq!(names(&s, "مميز"), ["power:عميل مميز"]);
}

/// Strings of a few letters from two scripts (none that folding changes).
fn letters(len: std::ops::Range<usize>) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::strategy::Strategy;
    proptest::collection::vec(proptest::sample::select(vec!['a', 'b', '化', '妝']), len)
        .prop_map(|cs| cs.into_iter().collect())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    /// `find_tags` is the model: live tags whose name contains the keyword, by where it
    /// starts, then length (both in characters), then name, then creation order; at most
    /// MAX_FOUND_TAGS.
    #[test]
    fn find_tags_matches_a_model(
        tags in proptest::collection::vec((letters(1..7), 0usize..3, proptest::prelude::any::<bool>()), 0..60),
        keyword in letters(1..3),
    ) {
        let e = Edit::new("mei", day("2025-03-03"));
        let mut s = Store::new();
        let mut model: Vec<(usize, usize, String, usize, String)> = Vec::new();
        for (i, (name, dim, archived)) in tags.iter().enumerate() {
            let dimension = ["interest", "product", "campaign"][*dim];
            let Ok(id) = s.create_tag(&e, TagSpec::new(name.as_str()).dimension(dimension)) else {
                continue; // the same name twice in a dimension
            };
            if *archived {
                s.archive_tag(&e, id).unwrap();
                continue;
            }
            if let Some(at) = name.find(keyword.as_str()) {
                let qualified = format!("{dimension}:{name}");
                model.push((name[..at].chars().count(), name.chars().count(), name.clone(), i, qualified));
            }
        }
        model.sort();
        let want: Vec<String> = model.into_iter().take(audience::MAX_FOUND_TAGS).map(|m| m.4).collect();
        let got: Vec<String> = s
            .find_tags(&keyword)
            .into_iter()
            .map(|t| format!("{}:{}", t.dimension, t.name))
            .collect();
        proptest::prop_assert_eq!(got, want);
    }
}
