//! Bitmaps an engine computed: the first byte picks the format (portable Roaring, ClickHouse
//! `groupBitmap` state, Doris/StarRocks `BITMAP`), the rest is decoded as it is and, as
//! text, through base64. Decoding never panics or allocates without bound; an error is
//! always `InvalidBitmap`; a set that decodes encodes to bytes that decode to it again.
#![no_main]

use audience::ErrorKind;
use audience::engine::{decode, decode_base64};
use audience::export::{BitmapFormat, base64};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let format = match pick % 3 {
        0 => BitmapFormat::Portable,
        1 => BitmapFormat::ClickHouse,
        _ => BitmapFormat::Doris,
    };
    match decode(format, bytes) {
        Ok(ids) => {
            let again = format.encode(&ids);
            assert_eq!(
                decode(format, &again).expect("re-encoded bytes decode"),
                ids
            );
            assert_eq!(
                decode_base64(format, &base64(bytes)).expect("the same bytes as base64"),
                ids
            );
        }
        Err(e) => assert!(matches!(e.kind(), ErrorKind::InvalidBitmap { .. }), "{e}"),
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Err(e) = decode_base64(format, text) {
            assert!(matches!(e.kind(), ErrorKind::InvalidBitmap { .. }), "{e}");
        }
    }
});
