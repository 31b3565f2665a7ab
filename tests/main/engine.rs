//! The `engine` module without an engine: decoding bitmaps (round trips, every malformed
//! input a clear error, never a panic), the settings of `Tables`, and what translation and
//! the table writers refuse, with the exact text of each error. The answers of the SQL are
//! checked by a real ClickHouse in `clickhouse.rs`.

use audience::engine::{MAX_SET_SQL_CHARS, Tables, decode, decode_base64, translate};
use audience::export::{BitmapFormat, base64};
use audience::{
    AttrKind, Context, CustomerKey, Day, Edit, ErrorKind, Query, RfmConfig, RoaringBitmap, Store,
    TagSpec, Value,
};
use proptest::prelude::*;

const FORMATS: [BitmapFormat; 3] = [
    BitmapFormat::Portable,
    BitmapFormat::ClickHouse,
    BitmapFormat::Doris,
];

fn bitmap() -> impl Strategy<Value = RoaringBitmap> {
    prop_oneof![
        prop::collection::vec(any::<u32>(), 0..40).prop_map(|v| v.into_iter().collect()),
        prop::collection::vec(0u32..200_000, 0..3_000).prop_map(|v| v.into_iter().collect()),
        (0u32..300_000, 0u32..150_000).prop_map(|(a, n)| (a..a + n).collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_format_reads_back_what_it_wrote(ids in bitmap()) {
        for format in FORMATS {
            let bytes = format.encode(&ids);
            prop_assert_eq!(&decode(format, &bytes).unwrap(), &ids);
            prop_assert_eq!(&decode_base64(format, &base64(&bytes)).unwrap(), &ids);
        }
    }

    #[test]
    fn damaged_bytes_are_an_error_or_a_set_never_a_panic(
        ids in bitmap(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        truncate in any::<prop::sample::Index>(),
    ) {
        for format in FORMATS {
            let mut bytes = format.encode(&ids);
            for (at, b) in &cuts {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
            let _ = decode(format, &bytes);
            let short = &bytes[..truncate.index(bytes.len())];
            // A cut that ends exactly after a whole small set or id is still a set.
            if let Err(e) = decode(format, short) {
                let invalid = matches!(e.kind(), ErrorKind::InvalidBitmap { .. });
                prop_assert!(invalid, "{}", e);
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        for format in FORMATS {
            let _ = decode(format, &bytes);
        }
    }
}

#[test]
fn malformed_bitmaps_say_what_is_wrong_and_where() {
    let ch = BitmapFormat::ClickHouse;
    let big: RoaringBitmap = (0..100).collect();
    let mut roaring_form = ch.encode(&big);
    roaring_form.push(0);
    let portable = BitmapFormat::Portable.encode(&big);
    let cases: Vec<(BitmapFormat, Vec<u8>, &str)> = vec![
        (
            ch,
            vec![],
            "invalid ClickHouse groupBitmap bitmap at byte 0: empty input; a state starts with a kind byte (0 or 1)",
        ),
        (
            ch,
            vec![7, 0],
            "invalid ClickHouse groupBitmap bitmap at byte 0: unknown kind 7: a state is a small set (0) or a roaring bitmap (1)",
        ),
        (
            ch,
            vec![0],
            "invalid ClickHouse groupBitmap bitmap at byte 1: the input ends inside a length (LEB128)",
        ),
        (
            ch,
            vec![0, 0x80],
            "invalid ClickHouse groupBitmap bitmap at byte 1: the input ends inside a length (LEB128)",
        ),
        (
            ch,
            vec![
                0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ],
            "invalid ClickHouse groupBitmap bitmap at byte 1: a length (LEB128) overflows 64 bits",
        ),
        (
            ch,
            vec![0, 33],
            "invalid ClickHouse groupBitmap bitmap at byte 1: a small set holds at most 32 ids, this one announces 33",
        ),
        (
            ch,
            vec![0, 2, 1, 0, 0, 0],
            "invalid ClickHouse groupBitmap bitmap at byte 6: 2 ids announced, the input ends after 1",
        ),
        (
            ch,
            vec![0, 1, 1, 0, 0, 0, 9],
            "invalid ClickHouse groupBitmap bitmap at byte 6: 1 bytes follow the 1 ids",
        ),
        (
            ch,
            vec![0, 2, 1, 0, 0, 0, 1, 0, 0, 0],
            "invalid ClickHouse groupBitmap bitmap at byte 6: id 1 appears twice in the small set",
        ),
        (
            ch,
            roaring_form,
            "invalid ClickHouse groupBitmap bitmap at byte 1: the roaring form announces 15 bytes, 16 follow",
        ),
        (
            ch,
            vec![1, 0],
            "invalid ClickHouse groupBitmap bitmap at byte 2: no bytes where a portable Roaring bitmap should start",
        ),
        (
            ch,
            vec![1, 4, 1, 2, 3, 4],
            "invalid ClickHouse groupBitmap bitmap at byte 2: the portable Roaring bitmap does not hold together (unknown cookie value)",
        ),
        (
            BitmapFormat::Portable,
            [portable.as_slice(), &[1, 2]].concat(),
            "invalid portable Roaring bitmap at byte 15: 2 bytes follow the end of the portable Roaring bitmap",
        ),
        (
            BitmapFormat::Doris,
            vec![],
            "invalid Doris/StarRocks bitmap at byte 0: empty input; a bitmap starts with a type byte",
        ),
        (
            BitmapFormat::Doris,
            vec![0, 0],
            "invalid Doris/StarRocks bitmap at byte 1: 1 bytes follow an EMPTY bitmap",
        ),
        (
            BitmapFormat::Doris,
            vec![1, 1, 2],
            "invalid Doris/StarRocks bitmap at byte 1: a SINGLE32 bitmap holds 4 bytes of id, got 2",
        ),
        (
            BitmapFormat::Doris,
            vec![3, 1, 0, 0, 0, 0, 0, 0, 0],
            "invalid Doris/StarRocks bitmap at byte 0: type 3 (SINGLE64) holds 64-bit ids; customer ids are 32-bit",
        ),
        (
            BitmapFormat::Doris,
            vec![4],
            "invalid Doris/StarRocks bitmap at byte 0: type 4 (BITMAP64) holds 64-bit ids; customer ids are 32-bit",
        ),
        (
            BitmapFormat::Doris,
            vec![10, 1],
            "invalid Doris/StarRocks bitmap at byte 0: type 10 is not one of EMPTY (0), SINGLE32 (1) or BITMAP32 (2); newer codes differ between Doris and StarRocks and are not read",
        ),
    ];
    for (format, bytes, want) in cases {
        let e = decode(format, &bytes).unwrap_err();
        assert_eq!(e.to_string(), want, "{bytes:?}");
        assert!(matches!(e.kind(), ErrorKind::InvalidBitmap { .. }));
    }
    assert_eq!(
        decode_base64(BitmapFormat::Doris, " AA==\n").unwrap(),
        RoaringBitmap::new()
    );
    let text_cases = [
        (
            "AQ*",
            "invalid ClickHouse groupBitmap bitmap at byte 2: '*' is not a base64 character",
        ),
        (
            "A",
            "invalid ClickHouse groupBitmap bitmap at byte 1: the base64 text ends one character into a byte",
        ),
        (
            "AA===",
            "invalid ClickHouse groupBitmap bitmap at byte 2: more than two '=' of padding",
        ),
    ];
    for (text, want) in text_cases {
        assert_eq!(decode_base64(ch, text).unwrap_err().to_string(), want);
    }
}

#[test]
fn table_settings_are_checked_where_they_are_made() {
    let cases = [
        (
            Tables::new().rfm_tags("rfm", ""),
            "invalid setting Tables::rfm_tags: a name must not be empty",
        ),
        (
            Tables::new().shards(0),
            "invalid setting Tables::shards: must be 1 to 4096, got 0",
        ),
        (
            Tables::new().shards(4097),
            "invalid setting Tables::shards: must be 1 to 4096, got 4097",
        ),
        (
            Tables::new().tags(""),
            "invalid setting Tables::tags: a name must not be empty",
        ),
        (
            Tables::new().customers("a\0b"),
            "invalid setting Tables::customers: a name must not contain NUL",
        ),
        (
            Tables::new().database(&"x".repeat(201)),
            "invalid setting Tables::database: a name has at most 200 characters",
        ),
    ];
    for (got, want) in cases {
        let e = got.unwrap_err();
        assert_eq!(e.to_string(), want);
        assert!(matches!(e.kind(), ErrorKind::InvalidSetting { .. }));
    }
    let t = Tables::new()
        .database("shop")
        .unwrap()
        .tags("tag `bitmaps`")
        .unwrap()
        .customers("顧客")
        .unwrap()
        .shards(8)
        .unwrap();
    assert_eq!(t.tags_table(), "shop.`tag \\`bitmaps\\``");
    assert_eq!(t.customers_table(), "shop.`顧客`");
    assert_eq!(t.shard_count(), 8);
}

fn shop() -> (Store, Day) {
    let today = Day::from_ymd(2025, 1, 1).unwrap();
    let mut store = Store::new();
    let e = Edit::new("admin", today);
    let vip = store
        .create_tag(
            &e,
            TagSpec::new("it's \"VIP\" \\ 高消費力").dimension("o'brien"),
        )
        .unwrap();
    let spend = store.define_attribute("spend", AttrKind::Int).unwrap();
    let seen = store.define_attribute("seen", AttrKind::Day).unwrap();
    for i in 0..100u32 {
        let c = store
            .add_customer(CustomerKey::member(format!("m{i}")).unwrap())
            .unwrap();
        if i % 2 == 0 {
            store.add_tag(c, vip, today - (i as i32)).unwrap();
        }
        store.set_value(c, spend, i64::from(i) * 100).unwrap();
        store
            .set_value(c, seen, Value::Day(today - i as i32))
            .unwrap();
    }
    (store, today)
}

#[test]
fn names_and_literals_are_escaped() {
    let (store, today) = shop();
    let q =
        Query::parse("\"it's \\\"VIP\\\" \\\\ 高消費力\" AND spend BETWEEN 100 AND 900").unwrap();
    let sql = translate(&store, &q, &Context::new(today), &Tables::new()).unwrap();
    let text = sql.count();
    assert!(
        text.contains("WHERE dimension = 'o\\'brien' AND tag = 'it\\'s \"VIP\" \\\\ 高消費力'"),
        "{text}"
    );
    assert!(text.contains("WHERE spend BETWEEN 100 AND 900"), "{text}");
}

#[test]
fn what_cannot_be_translated_is_a_typed_error() {
    let (store, today) = shop();
    let tables = Tables::new();
    let scores = RfmConfig::new("seen", "spend", "spend")
        .score(&store, &Context::new(today))
        .unwrap();
    let ctx = Context::new(today).with_terms(&scores);
    let e = translate(&store, &Query::parse("rfm.r >= 4").unwrap(), &ctx, &tables).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot translate \"rfm.r >= 4\" to ClickHouse: rfm.* terms are computed in this process; write them to tags (RfmScores::segment_assignment and score_assignment, then Assignment::write) and name their dimensions with Tables::rfm_tags"
    );
    assert!(matches!(e.kind(), ErrorKind::Untranslatable { .. }));

    // A set is embedded while it is small, refused when its SQL would be too long.
    let small: RoaringBitmap = (0..50).collect();
    let ctx = Context::new(today).with_set("picked", &small);
    let sql = translate(&store, &Query::parse("@picked").unwrap(), &ctx, &tables).unwrap();
    assert!(sql.count().contains("CAST(base64Decode('"));
    let mut big = Store::new();
    let ids = big
        .ensure_customers((0..500_000u64).map(|i| CustomerKey::Phone(66_800_000_000 + i)))
        .unwrap();
    assert_eq!(ids.len(), 500_000);
    let scattered: RoaringBitmap = (0..500_000).step_by(3).collect();
    let ctx = Context::new(today).with_set("picked", &scattered);
    let e = translate(&big, &Query::parse("@picked").unwrap(), &ctx, &tables).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot translate \"@picked\" to ClickHouse: the set takes "),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains(&format!("more than {MAX_SET_SQL_CHARS}; load it"))
    );

    // Binding errors are the crate's own.
    let e = translate(
        &store,
        &Query::parse("vipp").unwrap(),
        &Context::new(today),
        &tables,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        store
            .count(&Query::parse("vipp").unwrap(), today)
            .unwrap_err()
            .to_string()
    );
}

#[test]
fn days_outside_date32_and_clashing_columns_are_refused_before_writing() {
    let today = Day::from_ymd(2025, 1, 1).unwrap();
    let mut store = Store::new();
    let seen = store.define_attribute("seen", AttrKind::Day).unwrap();
    let c = store
        .add_customer(CustomerKey::member("m").unwrap())
        .unwrap();
    store
        .set_value(c, seen, Value::Day(Day::from_ymd(2400, 1, 1).unwrap()))
        .unwrap();
    let mut out = Vec::new();
    let e = Tables::new().write_customers(&store, &mut out).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot translate \"seen\" to ClickHouse: it holds 1 day outside ClickHouse's Date32 (1900-01-01 to 2299-12-31)"
    );
    assert!(out.is_empty());

    let tag = store
        .create_tag(&Edit::new("admin", today), TagSpec::new("old"))
        .unwrap();
    store
        .add_tag(c, tag, Day::from_ymd(1850, 1, 1).unwrap())
        .unwrap();
    let e = Tables::new().write_tags(&store, &mut out).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot translate \"members of tag general:old assigned on 1850-01-01\" to ClickHouse: ClickHouse's Date32 holds 1900-01-01 to 2299-12-31"
    );
    assert!(out.is_empty());

    let mut clash = Store::new();
    clash.define_attribute("key", AttrKind::Int).unwrap();
    let e = Tables::new().ddl(&clash).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot translate \"key\" to ClickHouse: the customers table's id and key columns have these names; rename the attribute"
    );
}

#[test]
fn pages_and_forms() {
    let (store, today) = shop();
    let sql = translate(
        &store,
        &Query::parse("spend > 0").unwrap(),
        &Context::new(today),
        &Tables::new(),
    )
    .unwrap();
    assert!(
        sql.ids_page(Some(u32::MAX), 10)
            .ends_with("SELECT emptyArrayUInt32() AS ids")
    );
    assert!(sql.ids_page(Some(9), 10).ends_with(
        "SELECT arraySort(bitmapToArray(bitmapSubsetLimit(`q-result`, toUInt32(10), toUInt32(10)))) AS ids"
    ));
    assert!(
        sql.keys_page(Some(9), 5)
            .ends_with("WHERE bitmapContains(`q-result`, id) AND id > 9 ORDER BY id LIMIT 5")
    );
    assert!(
        sql.bitmap()
            .ends_with("SELECT base64Encode(CAST(`q-result` AS String)) AS bitmap")
    );
}
