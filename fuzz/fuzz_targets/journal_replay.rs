//! Journal bytes from anywhere, replayed onto a small store: replay never panics and never
//! allocates without bound (every count is checked against the record's bytes first); it
//! either refuses, leaving the store as it was, or applies whole batches: the bytes it
//! read (`valid_bytes`) replay to the same store, and the rest is reported as ignored.
//! Each input is tried as it is, then with every record's two CRC-32s recomputed, so that
//! mutations reach the operation decoders and the store's checks.
#![no_main]

use audience::{AttrKind, CustomerKey, Day, Edit, Store, TagSpec};
use libfuzzer_sys::fuzz_target;

fn small_store() -> Store {
    let day = Day::from_days(20_000).unwrap_or(Day::EPOCH);
    let edit = Edit::new("admin", day);
    let mut s = Store::new();
    for i in 0..8u64 {
        let _ = s.add_customer(CustomerKey::Phone(66_800_000_000 + i));
    }
    let _ = s.create_tag(&edit, TagSpec::new("vip"));
    let _ = s.create_tag(&edit, TagSpec::new("new").dimension("stage"));
    let _ = s.define_attribute("spend", AttrKind::Int);
    s
}

fn snapshot(s: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = audience::snapshot::write(s, &mut out);
    out
}

/// Recomputes both CRC-32s of every record, following the declared lengths.
fn fix_crcs(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut at = 0usize;
    while at + 19 <= out.len() {
        let head = crc32fast::hash(&out[at..at + 15]);
        out[at + 15..at + 19].copy_from_slice(&head.to_le_bytes());
        let len = u32::from_le_bytes([out[at + 3], out[at + 4], out[at + 5], out[at + 6]]) as usize;
        let end = at + 19 + len;
        if end + 4 > out.len() {
            break;
        }
        let body = crc32fast::hash(&out[at..end]);
        out[end..end + 4].copy_from_slice(&body.to_le_bytes());
        at = end + 4;
    }
    out
}

fn check(data: &[u8]) {
    let base = small_store();
    let before = snapshot(&base);
    let mut store = base.clone();
    match audience::journal::replay(&mut store, data) {
        Err(_) => assert_eq!(
            snapshot(&store),
            before,
            "a refused replay changed the store"
        ),
        Ok(report) => {
            assert_eq!(report.valid_bytes + report.bytes_ignored, data.len() as u64);
            assert_eq!(store.journal().seq(), report.last_seq);
            let mut again = base.clone();
            let whole = &data[..report.valid_bytes as usize];
            let r2 =
                audience::journal::replay(&mut again, whole).expect("the whole batches replay");
            assert_eq!(r2.records_applied, report.records_applied);
            assert_eq!(snapshot(&again), snapshot(&store));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let fixed = fix_crcs(data);
    if fixed != data {
        check(&fixed);
    }
});
