//! Snapshot bytes from anywhere: loading never panics and never allocates without bound;
//! whatever loads passes `check_loaded`. Each input is tried as it is, then with every
//! section's CRC-32 recomputed, so that mutations reach the section parsers.
#![no_main]

use audience::Store;
use audience_fuzz::{check_loaded, fix_crcs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(store) = Store::read_snapshot(data) {
        check_loaded(&store);
    }
    let fixed = fix_crcs(data);
    if fixed != data
        && let Ok(store) = Store::read_snapshot(&fixed[..])
    {
        check_loaded(&store);
    }
});
