//! Exports: CSV and serde rows, hashed ad audiences, and bitmap bytes for ClickHouse, Doris
//! and StarRocks, checked byte for byte.

use audience::export::{
    AdPlatform, BitmapFormat, Cell, Export, ExportColumn, base64, write_hashed_phones,
    write_tag_bitmaps,
};
use audience::{AttrKind, CustomerKey, Edit, ErrorKind, RoaringBitmap, Store, TagSpec};

use crate::support::{bits, jun_18};

fn shop() -> Store {
    let e = Edit::new("admin", jun_18());
    let mut s = Store::new();
    let vip = s
        .create_tag(&e, TagSpec::new("VIP").dimension("power"))
        .unwrap();
    let quoted = s
        .create_tag(&e, TagSpec::new("say \"hi\"").dimension("stage"))
        .unwrap();
    let chan_vip = s
        .create_tag(&e, TagSpec::new("vip").dimension("channel"))
        .unwrap();
    let thai = s
        .create_tag(&e, TagSpec::new("ลูกค้าใหม่").dimension("stage"))
        .unwrap();
    let last = s.define_attribute("last_purchase", AttrKind::Day).unwrap();
    let count = s.define_attribute("purchase_count", AttrKind::Int).unwrap();
    let a = s
        .add_customer(CustomerKey::phone("85291234567").unwrap())
        .unwrap();
    let b = s
        .add_customer(CustomerKey::member("M-7, north").unwrap())
        .unwrap();
    let c = s
        .add_customer(CustomerKey::phone("66812345678").unwrap())
        .unwrap();
    for (who, t) in [(a, vip), (a, quoted), (a, chan_vip), (c, thai), (b, vip)] {
        s.add_tag(who, t, jun_18()).unwrap();
    }
    s.set_value(a, last, jun_18()).unwrap();
    s.set_value(a, count, 3).unwrap();
    s.set_value(c, count, 0).unwrap();
    s
}

fn csv(export: &Export, s: &Store, set: &RoaringBitmap) -> String {
    let mut out = Vec::new();
    export.write_csv(s, set, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn csv_rows_quote_what_needs_quoting() {
    let s = shop();
    let export = Export::new()
        .id_column()
        .attribute("last_purchase")
        .attribute("PURCHASE_COUNT");
    assert_eq!(
        csv(&export, &s, s.customers()),
        "id,key,tags,last_purchase,purchase_count\n\
         0,85291234567,\"power:VIP,say \"\"hi\"\",channel:vip\",2025-06-18,3\n\
         1,\"M-7, north\",power:VIP,,\n\
         2,66812345678,ลูกค้าใหม่,,0\n"
    );
}

#[test]
fn the_key_header_follows_the_keys() {
    let s = shop();
    let plain = Export::new().without_tags();
    // Phone numbers only (and no one at all): "phone"; member ids only: "member_id", the
    // name the importer looks for with KeyKind::MemberId; both: "key".
    assert_eq!(
        csv(&plain, &s, &bits([0, 2])),
        "phone\n85291234567\n66812345678\n"
    );
    assert_eq!(csv(&plain, &s, &RoaringBitmap::new()), "phone\n");
    assert_eq!(csv(&plain, &s, &bits([1])), "member_id\n\"M-7, north\"\n");
    assert_eq!(csv(&plain, &s, s.customers()).lines().next(), Some("key"));
    // A header the caller chose is kept whatever the keys.
    assert_eq!(
        csv(&plain.key_header("customer"), &s, &bits([1])),
        "customer\n\"M-7, north\"\n"
    );
    // Member ids exported go back in through the importer by their header alone.
    let out = csv(&Export::new(), &s, &bits([1]));
    let mut copy = s.clone();
    let report = audience::import::Importer::new()
        .key_kind(audience::import::KeyKind::MemberId)
        .import_str(&mut copy, &out, &Edit::new("import", jun_18()))
        .unwrap();
    assert_eq!((report.header_line, report.rows_imported), (Some(1), 1));
}

#[test]
fn csv_reads_back_with_the_csv_crate() {
    let s = shop();
    let text = csv(&Export::new(), &s, s.customers());
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["85291234567", "power:VIP,say \"hi\",channel:vip"],
            vec!["M-7, north", "power:VIP"],
            vec!["66812345678", "ลูกค้าใหม่"],
        ]
    );
}

#[test]
fn columns_headers_dimensions_and_subsets() {
    let s = shop();
    let set: RoaringBitmap = [0, 2, 99].into_iter().collect();
    let export = Export::new()
        .key_header("電話")
        .tags_header("標籤")
        .tag_dimension("STAGE");
    let mut out = Vec::new();
    let summary = export.write_csv(&s, &set, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "電話,標籤\n85291234567,\"say \"\"hi\"\"\"\n66812345678,ลูกค้าใหม่\n"
    );
    assert_eq!((summary.rows, summary.not_live), (2, 1));
    assert!(summary.tags_with_separators.is_empty());
    assert_eq!(
        summary.to_string(),
        "2 rows written; 1 id not live left out"
    );
    let many = audience::export::ExportSummary {
        rows: 1_204,
        not_live: 3,
        tags_with_separators: vec!["growth, low frequency".into()],
    };
    assert_eq!(
        many.to_string(),
        "1,204 rows written; 3 ids not live left out; 1 tag name with a separator (an import \
         splits it): \"growth, low frequency\""
    );

    let keys_only = Export::new().id_column().without_tags();
    assert_eq!(
        csv(&keys_only, &s, s.customers()),
        "id,key\n0,85291234567\n1,\"M-7, north\"\n2,66812345678\n"
    );
    let err = Export::new()
        .tag_dimension("nope")
        .write_csv(&s, s.customers(), Vec::new())
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown dimension \"nope\"");
    let err = Export::new()
        .attribute("last_purchse")
        .write_csv(&s, s.customers(), Vec::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown attribute \"last_purchse\" (did you mean \"last_purchase\"?)"
    );
}

#[test]
fn erased_customers_are_left_out() {
    let mut s = shop();
    let segment = s.customers().clone();
    s.erase_customer(1).unwrap();
    let mut out = Vec::new();
    let summary = Export::new().write_csv(&s, &segment, &mut out).unwrap();
    assert_eq!((summary.rows, summary.not_live), (2, 1));
    assert!(!String::from_utf8(out).unwrap().contains("M-7"));
}

#[test]
fn serde_rows() {
    let s = shop();
    let export = Export::new()
        .attribute("last_purchase")
        .column(ExportColumn::from_fn("first_name", |_, id| {
            (id == 0).then(|| Cell::Text("Mei".into()))
        }));
    let rows = export.rows(&s, s.customers()).unwrap();
    assert_eq!(rows.headers(), ["last_purchase", "first_name"]);
    let rows: Vec<_> = rows.collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].key, CustomerKey::Phone(85291234567));
    assert_eq!(rows[0].tags, ["power:VIP", "say \"hi\"", "channel:vip"]);
    assert_eq!(
        rows[0].values,
        [Some(Cell::Day(jun_18())), Some(Cell::Text("Mei".into()))]
    );
    assert_eq!(rows[2].values, [None, None]);
    let json = serde_json::to_string(&rows[1]).unwrap();
    assert_eq!(
        json,
        r#"{"id":1,"key":{"Member":"M-7, north"},"tags":["power:VIP"],"values":[null,null]}"#
    );
    let back: audience::export::ExportRow = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rows[1]);
}

/// Many customers across several 65,536-id blocks: rows and CSV agree with `tags_of`.
#[test]
fn large_exports_agree_with_tags_of() {
    let e = Edit::new("admin", jun_18());
    let mut s = Store::new();
    s.ensure_customers((0..200_000u64).map(|i| CustomerKey::Phone(66_800_000_000 + i)))
        .unwrap();
    let tags: Vec<_> = (0..5)
        .map(|i| s.create_tag(&e, TagSpec::new(format!("t{i}"))).unwrap())
        .collect();
    for (i, &t) in tags.iter().enumerate() {
        let set: RoaringBitmap = (0..200_000u32)
            .filter(|c| c % (i as u32 + 2) == 0)
            .collect();
        s.add_tag_bulk(t, &set, jun_18()).unwrap();
    }
    let set: RoaringBitmap = (0..200_000u32).filter(|c| c % 7 != 3).collect();
    let export = Export::new();
    let rows: Vec<_> = export.rows(&s, &set).unwrap().collect();
    assert_eq!(rows.len() as u64, set.len());
    for row in rows.iter().step_by(997) {
        let want: Vec<String> = s
            .tags_of(row.id)
            .unwrap()
            .into_iter()
            .map(|t| s.tag(t).unwrap().name.clone())
            .collect();
        assert_eq!(row.tags, want, "customer {}", row.id);
    }
    let text = csv(&export, &s, &set);
    assert_eq!(text.lines().count() as u64, set.len() + 1);
    assert_eq!(text.lines().nth(1), Some("66800000000,\"t0,t1,t2,t3,t4\""));
}

// -----------------------------------------------------------------------------------------
// Ad platforms
// -----------------------------------------------------------------------------------------

/// SHA-256 values computed independently with Python's hashlib:
/// `hashlib.sha256(b"85291234567").hexdigest()` and the same with a '+'.
#[test]
fn hashed_phone_numbers() {
    assert_eq!(
        AdPlatform::Meta.hash(85291234567),
        "01ee1402a8904af401329a98637b36f2db76d3b16f9d943a5d14a66806ab7f99"
    );
    assert_eq!(
        AdPlatform::Google.hash(85291234567),
        "e74628e5fabcff998369c817f6a7187913b81cd95dfd6af65e388288d8f58992"
    );
    let s = shop();
    let mut out = Vec::new();
    let summary = write_hashed_phones(&s, s.customers(), AdPlatform::Meta, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    // hashlib.sha256(b"66812345678").hexdigest()
    assert_eq!(
        text,
        "01ee1402a8904af401329a98637b36f2db76d3b16f9d943a5d14a66806ab7f99\n\
         9b82e4d000c636040b7b53ec8e3c3b90bdf0d4a5874073ce91f61420c04f05ed\n"
    );
    assert_eq!(
        (summary.written, summary.without_phone, summary.not_live),
        (2, 1, 0)
    );
    assert_eq!(
        summary.to_string(),
        "2 hashes written; left out: 1 customer keyed by a member id"
    );
    let one = audience::export::HashedSummary {
        written: 1,
        without_phone: 0,
        not_live: 2,
    };
    assert_eq!(one.to_string(), "1 hash written; left out: 2 ids not live");
}

// -----------------------------------------------------------------------------------------
// Bitmaps
// -----------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

/// The portable bytes, checked against CRoaring: every expected value below is
/// `BitMap(ids); run_optimize(); serialize()` from pyroaring 1.2.0 (CRoaring), so the
/// bytes are what ClickHouse and Doris themselves would write for these sets. (Beyond
/// these, 300 random sets of every density were compared during development: all equal.)
#[test]
fn portable_bytes_match_croaring() {
    let p = BitmapFormat::Portable;
    assert_eq!(hex(&p.encode(&bits([]))), "3a30000000000000");
    assert_eq!(
        hex(&p.encode(&bits([7]))),
        "3a3000000100000000000000100000000700"
    );
    assert_eq!(
        hex(&p.encode(&bits([0, 1, 2, 3]))),
        "3b3000000100000300010000000300"
    );
    assert_eq!(
        hex(&p.encode(&bits([1, 9_999_999]))),
        "3a300000020000000000000098000000180000001a00000001007f96"
    );
    assert_eq!(
        hex(&p.encode(&bits(0..32))),
        "3b3000000100001f00010000001f00"
    );
    assert_eq!(
        hex(&p.encode(&bits(0..100_000))),
        "3b300100030000ffff01009f8601000000ffff010000009f86"
    );
    let evens = p.encode(&bits((0..20_000).step_by(2)));
    assert_eq!(evens.len(), 8208);
    assert_eq!(
        hex(&evens[..24]),
        "3a3000000100000000000f27100000005555555555555555"
    );
    assert_eq!(
        sha256_hex(&evens),
        "da5a5c8db1676180b106c7cad4ea81c2969b2b63bb322ad85b8d78fa07e343a3"
    );
    // Five containers (a run, an array, a bitmap, a two-value array, a long run): the run
    // format with offsets.
    let mixed = bits(
        (0..70_000)
            .chain((0..100).map(|i| 131_072 + 7 * i))
            .chain((196_608..216_608).step_by(2))
            .chain([262_149, 262_150])
            .chain(327_680..331_680),
    );
    let bytes = p.encode(&mixed);
    assert_eq!(bytes.len(), 8467);
    assert_eq!(
        hex(&bytes[..40]),
        "3b300500230000ffff01006f110200630003000f270400010005009f0f350000003b000000410000"
    );
    assert_eq!(
        sha256_hex(&bytes),
        "0be0589b759590d99d16a86c522ce5d1d855f0da709a9c2fbb266a130bea76c7"
    );
    assert_eq!(RoaringBitmap::deserialize_from(&bytes[..]).unwrap(), mixed);
}

/// ClickHouse `AggregateFunction(groupBitmap, UInt32)`: kind 0, LEB128 count and raw
/// little-endian ids for at most 32 ids; kind 1, LEB128 byte length and portable bytes
/// beyond (`RoaringBitmapWithSmallSet<UInt32, 32>::write`).
#[test]
fn clickhouse_bytes() {
    let ch = BitmapFormat::ClickHouse;
    assert_eq!(ch.encode(&bits([])), [0, 0]);
    assert_eq!(
        ch.encode(&bits([1, 2, 3])),
        [0, 3, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]
    );
    let small = ch.encode(&bits(0..32));
    assert_eq!(small.len(), 2 + 32 * 4);
    assert_eq!(&small[..2], [0, 32]);
    assert_eq!(&small[small.len() - 4..], 31u32.to_le_bytes());
    // 33 ids: the roaring form, 15 portable bytes (one run), length 15 as one LEB128 byte.
    assert_eq!(
        hex(&ch.encode(&bits(0..33))),
        format!("010f{}", "3b3000000100002000010000002000")
    );
    // A big one: 8208 portable bytes, LEB128 0x90 0x40.
    let big = ch.encode(&bits((0..20_000).step_by(2)));
    assert_eq!(&big[..3], [1, 0x90, 0x40]);
    assert_eq!(big.len(), 3 + 8208);
    assert_eq!(
        sha256_hex(&big[3..]),
        "da5a5c8db1676180b106c7cad4ea81c2969b2b63bb322ad85b8d78fa07e343a3"
    );
    // The largest id fits.
    assert_eq!(ch.encode(&bits([u32::MAX])), [0, 1, 0xff, 0xff, 0xff, 0xff]);
}

/// Doris and StarRocks `BITMAP`: EMPTY (0), SINGLE32 (1) + u32 LE, BITMAP32 (2) + portable.
/// The base64 strings are the examples of Doris's and StarRocks's `bitmap_to_base64`
/// documentation (`bitmap_empty()`, `to_bitmap(1)`, `bitmap_from_string("1,9999999")`).
#[test]
fn doris_and_starrocks_bytes() {
    let d = BitmapFormat::Doris;
    assert_eq!(base64(&d.encode(&bits([]))), "AA==");
    assert_eq!(base64(&d.encode(&bits([1]))), "AQEAAAA=");
    assert_eq!(
        base64(&d.encode(&bits([1, 9_999_999]))),
        "AjowAAACAAAAAAAAAJgAAAAYAAAAGgAAAAEAf5Y="
    );
    assert_eq!(d.encode(&bits([u32::MAX])), [1, 0xff, 0xff, 0xff, 0xff]);
    // StarRocks documents bitmap_from_string("0, 1, 2, 3") as the array form; Doris and
    // ClickHouse run-optimise before storing, and so does this export: the run form, which
    // every reader takes too.
    let starrocks_doc = "AjowAAABAAAAAAADABAAAAAAAAEAAgADAA==";
    assert_eq!(
        hex(&d.encode(&bits(0..4))),
        format!("02{}", "3b3000000100000300010000000300")
    );
    let doc_bytes = decode_base64(starrocks_doc);
    assert_eq!(
        RoaringBitmap::deserialize_from(&doc_bytes[1..]).unwrap(),
        bits(0..4)
    );
    let big = d.encode(&bits(0..100_000));
    assert_eq!(
        hex(&big),
        "023b300100030000ffff01009f8601000000ffff010000009f86"
    );
}

fn decode_base64(s: &str) -> Vec<u8> {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.chars().filter(|&c| c != '=') {
        bits = bits << 6 | alphabet.find(c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn base64_is_rfc4648() {
    for (raw, want) in [
        (&b""[..], ""),
        (b"f", "Zg=="),
        (b"fo", "Zm8="),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg=="),
        (b"fooba", "Zm9vYmE="),
        (b"foobar", "Zm9vYmFy"),
        (b"\xff\xfe\xfd", "//79"),
    ] {
        assert_eq!(base64(raw), want);
        assert_eq!(decode_base64(want), raw);
    }
}

#[test]
fn tag_bitmaps_as_csv() {
    let s = shop();
    let mut out = Vec::new();
    let rows = write_tag_bitmaps(&s, BitmapFormat::Doris, &mut out).unwrap();
    assert_eq!(rows, 4);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "tag,dimension,members,bitmap\n\
         VIP,power,2,AjowAAABAAAAAAABABAAAAAAAAEA\n\
         \"say \"\"hi\"\"\",stage,1,AQAAAAA=\n\
         vip,channel,1,AQAAAAA=\n\
         ลูกค้าใหม่,stage,1,AQIAAAA=\n"
    );
}

#[test]
fn write_errors_are_io_errors() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let s = shop();
    for err in [
        Export::new()
            .write_csv(&s, s.customers(), Full)
            .unwrap_err(),
        write_hashed_phones(&s, s.customers(), AdPlatform::Google, Full).unwrap_err(),
        BitmapFormat::Portable
            .write(s.customers(), Full)
            .unwrap_err(),
        write_tag_bitmaps(&s, BitmapFormat::ClickHouse, Full).unwrap_err(),
    ] {
        assert_eq!(
            err.to_string(),
            "I/O error while reading input or writing output: disk full"
        );
        assert!(matches!(
            err.kind(),
            ErrorKind::Io {
                kind: std::io::ErrorKind::StorageFull,
                ..
            }
        ));
    }
}
