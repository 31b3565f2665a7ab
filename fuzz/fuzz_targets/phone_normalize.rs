//! Phone numbers: normalising never panics; a result is canonical (its digits parse back to
//! itself, normalising them again changes nothing) and is a valid customer key.
#![no_main]

use audience::{CustomerKey, Phone, normalize_phone};
use audience_fuzz::COUNTRIES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let country = COUNTRIES[pick as usize % COUNTRIES.len()];
    let Ok(phone) = normalize_phone(text, country) else {
        return;
    };
    let digits = phone.to_string();
    assert_eq!(
        Phone::from_e164_digits(&digits).ok(),
        Some(phone),
        "{text:?}"
    );
    assert_eq!(
        Phone::from_u64(phone.as_u64()).ok(),
        Some(phone),
        "{text:?}"
    );
    assert_eq!(normalize_phone(&digits, None).ok(), Some(phone), "{text:?}");
    assert_eq!(
        normalize_phone(&format!("+{digits}"), country).ok(),
        Some(phone),
        "{text:?}"
    );
    assert!(CustomerKey::phone(&digits).is_ok(), "{text:?}");
});
