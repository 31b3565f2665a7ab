//! Phone numbers: reading never panics, under one default country or any set of expected
//! countries, with labels, country letters, dialling prefixes and extensions; a result is
//! canonical (its digits parse back to itself, reading them again with `+`, or bare with its
//! own country expected, changes nothing), the order of the countries does not matter, and
//! an extension is 1 to 8 ASCII digits.
#![no_main]

use audience::phone::{Country, normalize_phone_in, read_phone};
use audience::{CustomerKey, Phone, normalize_phone};
use audience_fuzz::{COUNTRIES, country_set};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [pick, bits, rest @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let country = COUNTRIES[*pick as usize % COUNTRIES.len()];
    if let Ok(phone) = normalize_phone(text, country) {
        check(phone, text);
    }
    let set = country_set(*bits);
    let parsed = read_phone(text, &set);
    let mut reversed = set.clone();
    reversed.reverse();
    assert_eq!(
        parsed.as_ref().ok().map(|p| p.phone),
        normalize_phone_in(text, &reversed).ok(),
        "{text:?} {set:?}"
    );
    let Ok(parsed) = parsed else {
        return;
    };
    check(parsed.phone, text);
    let digits = parsed.phone.to_string();
    assert_eq!(
        normalize_phone_in(&format!("+{digits}"), &set).ok(),
        Some(parsed.phone),
        "{text:?}"
    );
    let mut with_own = set.clone();
    with_own.push(Country::from_calling_code(parsed.phone.country_code()).unwrap());
    assert_eq!(
        normalize_phone_in(&digits, &with_own).ok(),
        Some(parsed.phone),
        "{text:?}"
    );
    if let Some(extension) = parsed.extension {
        let e = extension.as_str();
        assert!(
            (1..=8).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit()),
            "{text:?}"
        );
    }
});

fn check(phone: Phone, text: &str) {
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
    assert!(CustomerKey::phone(&digits).is_ok(), "{text:?}");
}
