//! Snapshot bytes from anywhere: loading never panics and never allocates without bound;
//! whatever loads (a store and its extras) passes `check_loaded_with`. Each input is tried
//! as it is, then with every section's CRC-32 recomputed, so that mutations reach the
//! section parsers, the extras' included.
#![no_main]

use audience_fuzz::{check_loaded_with, fix_crcs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match audience::snapshot::read_with(data) {
        Ok((store, extras)) => check_loaded_with(data, &store, &extras),
        Err(e) => assert_eq!(audience::snapshot::read(data).err(), Some(e)),
    }
    let fixed = fix_crcs(data);
    if fixed != data {
        match audience::snapshot::read_with(&fixed[..]) {
            Ok((store, extras)) => check_loaded_with(&fixed, &store, &extras),
            Err(e) => assert_eq!(audience::snapshot::read(&fixed[..]).err(), Some(e)),
        }
    }
});
