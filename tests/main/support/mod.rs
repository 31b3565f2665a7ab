//! Helpers shared by the test modules: days, bitmaps of customer ids, import errors, and
//! snapshots taken apart (`parts`).

pub mod parts;

use audience::import::ImportError;
use audience::{CustomerKey, Day, ErrorKind, RoaringBitmap, Store};

/// The day written `YYYY-MM-DD`.
pub fn day(s: &str) -> Day {
    s.parse().unwrap()
}

/// The day of year `y`, month `m` and day of the month `d`.
pub fn ymd(y: i32, m: u32, d: u32) -> Day {
    Day::from_ymd(y, m, d).unwrap()
}

/// Monday, 6 January 2025.
pub fn jan_6() -> Day {
    Day::from_ymd(2025, 1, 6).unwrap()
}

/// Monday, 3 March 2025.
pub fn mar_3() -> Day {
    Day::from_ymd(2025, 3, 3).unwrap()
}

/// Wednesday, 18 June 2025: "today" of the import, export and round-trip tests.
pub fn jun_18() -> Day {
    Day::from_ymd(2025, 6, 18).unwrap()
}

/// The set of these customer ids.
pub fn bits(ids: impl IntoIterator<Item = u32>) -> RoaringBitmap {
    ids.into_iter().collect()
}

/// A store of `n` customers with ids `0..n` (phone keys), for code that checks ids
/// against a store (a send log).
pub fn store_of(n: u64) -> Store {
    let mut s = Store::new();
    s.ensure_customers((0..n).map(|i| CustomerKey::Phone(85_290_000_000 + i)))
        .unwrap();
    s
}

/// The customer ids in `b`, ascending.
pub fn ids(b: &RoaringBitmap) -> Vec<u32> {
    b.iter().collect()
}

/// The import error inside `err`; panics on any other kind of error.
pub fn import_error(err: audience::Error) -> ImportError {
    match err.into_kind() {
        ErrorKind::Import(e) => e,
        other => panic!("expected an import error, got {other:?}"),
    }
}
