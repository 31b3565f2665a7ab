//! Snapshot bytes from anywhere: loading never panics and never allocates without bound;
//! whatever loads (a store and its extras) passes `check_loaded_with`. Each input is tried
//! as it is, then with every section's CRC-32 recomputed, so that mutations reach the
//! section parsers, the extras' included. Reading the bytes in place (`read_slice_with`)
//! must give the same result as reading them as a stream.
#![no_main]

use audience_fuzz::{check_loaded_with, fix_crcs, write_with};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8]) {
    let in_place = audience::snapshot::read_slice_with(data);
    match audience::snapshot::read_with(data) {
        Ok((store, extras)) => {
            check_loaded_with(data, &store, &extras);
            let (s, x) = in_place.expect("read_slice_with refused what read_with loaded");
            assert_eq!(x, extras, "read_slice_with loaded other extras");
            assert_eq!(
                write_with(&s, &x),
                write_with(&store, &extras),
                "read_slice_with loaded another store"
            );
        }
        Err(e) => {
            assert_eq!(audience::snapshot::read(data).err(), Some(e.clone()));
            assert_eq!(in_place.err(), Some(e));
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
