//! Phone number normalisation: realistic spellings per country, rejections with their exact
//! messages, and properties over arbitrary input.

use audience::phone::{Country, Phone, PhoneError, normalize_phone};
use proptest::prelude::*;

/// The default country for a table row: its calling code, or 0 for none.
fn default_country(code: u16) -> Option<Country> {
    match code {
        0 => None,
        code => Some(Country::from_calling_code(code).expect("assigned code")),
    }
}

/// Realistic spellings, with the default country's calling code (0: none) and the expected
/// E.164 digits.
///
/// Every row was checked against Google's libphonenumber through its Python port, the
/// `phonenumbers` package, version 9.0.43: `parse(input, region)` with the default country's
/// region (HK, TW, CN, TH, RU, SA, AE, GB, US, FR, HU, JP), or with `+` put in front of
/// the digits for rows without a default country that have no `+` (our canonical format),
/// then `format_number(.., E164)`, `is_possible_number` and `is_valid_number`. All rows give
/// the same E.164 digits and are possible and valid there, except these deliberate
/// differences:
///
/// * `("85212345", HK)`: libphonenumber gives the same 85285212345 but calls it invalid (no
///   Hong Kong range begins with 852); only the leading digit 8 is checked here.
/// * `("97180012", AE)`: the digits start with the UAE's code 971 and `+971 80012` is a
///   possible toll-free number, so they are read as international, as the guides' canonical
///   format asks. libphonenumber prefers the national reading, the Fujairah line
///   97197180012.
/// * `("+44 1234 567", none)`: libphonenumber calls it possible but invalid; the generic rule
///   checks the length (7 to 10 digits for +44) and nothing of the leading digits.
/// * `("4479111234", GB)`: the generic rule finds 8 digits after 44 a possible length, so the
///   digits are read as international; libphonenumber does not (8 digits is no UK length) and
///   reads them as the national number 444479111234, which it calls invalid.
const ACCEPTED: &[(&str, u16, &str)] = &[
    // Hong Kong (852): no trunk prefix.
    ("9123 4567", 852, "85291234567"),
    ("+852 9123 4567", 0, "85291234567"),
    ("+852-6123-4567", 0, "85261234567"),
    ("(+852) 5123 4567", 0, "85251234567"),
    ("(852) 9123-4567", 852, "85291234567"),
    ("00852 2123 4567", 0, "85221234567"),
    ("2123-4567", 852, "85221234567"),
    ("3123.4567", 852, "85231234567"),
    ("852.9123.4567", 0, "85291234567"),
    ("85291234567", 0, "85291234567"),
    ("85291234567", 852, "85291234567"),
    ("＋８５２ ９１２３ ４５６７", 0, "85291234567"),
    ("９１２３４５６７", 852, "85291234567"),
    ("800 123 456", 852, "852800123456"),
    ("tel:+852-9123-4567", 0, "85291234567"),
    ("TEL: +852 9123 4567", 0, "85291234567"),
    ("\u{202a}+852 9123 4567\u{202c}", 0, "85291234567"),
    ("+852\u{a0}9123\u{a0}4567", 0, "85291234567"),
    ("  9123 4567\r\n", 852, "85291234567"),
    ("85212345", 852, "85285212345"),
    // Taiwan (886): trunk prefix 0.
    ("0912 345 678", 886, "886912345678"),
    ("0912-345-678", 886, "886912345678"),
    ("0912.345.678", 886, "886912345678"),
    ("0912/345/678", 886, "886912345678"),
    ("+886 2 2345 6789", 0, "886223456789"),
    ("02/2345-6789", 886, "886223456789"),
    ("912345678", 886, "886912345678"),
    ("+886 912 345 678", 0, "886912345678"),
    ("+886 (0)912 345 678", 0, "886912345678"),
    ("+886-0912-345-678", 0, "886912345678"),
    ("00886 912345678", 0, "886912345678"),
    ("886912345678", 886, "886912345678"),
    ("886 912 345 678", 0, "886912345678"),
    ("０９１２３４５６７８", 886, "886912345678"),
    ("０９１２－３４５－６７８", 886, "886912345678"),
    ("(02) 2345-6789", 886, "886223456789"),
    ("02-2345-6789", 886, "886223456789"),
    ("04 2345 6789", 886, "886423456789"),
    ("07-123 4567", 886, "88671234567"),
    ("037 123456", 886, "88637123456"),
    ("0800 123 456", 886, "886800123456"),
    ("+886 70 1234 5678", 0, "8867012345678"),
    // Mainland China (86): trunk prefix 0 (fixed lines); mobiles are written without.
    ("138 1234 5678", 86, "8613812345678"),
    ("138-1234-5678", 86, "8613812345678"),
    ("138.1234.5678", 86, "8613812345678"),
    ("+86 138 1234 5678", 0, "8613812345678"),
    ("+86-138-1234-5678", 0, "8613812345678"),
    ("0086 13812345678", 0, "8613812345678"),
    ("8613812345678", 0, "8613812345678"),
    ("8613812345678", 86, "8613812345678"),
    ("１３８ １２３４ ５６７８", 86, "8613812345678"),
    ("(010) 6552 8888", 86, "861065528888"),
    ("021-6123-4567", 86, "862161234567"),
    ("+86 (0)21 6123 4567", 0, "862161234567"),
    ("+86 21 6123 4567", 0, "862161234567"),
    ("0755 8888 8888", 86, "8675588888888"),
    ("0371 6123 4567", 86, "8637161234567"),
    ("0310-234-5678", 86, "863102345678"),
    ("400 123 4567", 86, "864001234567"),
    ("800-123-4567", 86, "868001234567"),
    // Thailand (66): trunk prefix 0.
    ("081 234 5678", 66, "66812345678"),
    ("08-1234-5678", 66, "66812345678"),
    ("0812345678", 66, "66812345678"),
    ("081.234.5678", 66, "66812345678"),
    ("+66 2 123 4567", 0, "6621234567"),
    ("+66 81 234 5678", 0, "66812345678"),
    ("+66 (0)81 234 5678", 0, "66812345678"),
    ("0066 81 234 5678", 0, "66812345678"),
    ("66812345678", 66, "66812345678"),
    ("06 1234 5678", 66, "66612345678"),
    ("09 1234 5678", 66, "66912345678"),
    ("02 123 4567", 66, "6621234567"),
    ("(02) 123-4567", 66, "6621234567"),
    ("053 123 456", 66, "6653123456"),
    ("1800 123 456", 66, "661800123456"),
    ("๐๘๑ ๒๓๔ ๕๖๗๘", 66, "66812345678"),
    ("０８１ ２３４ ５６７８", 66, "66812345678"),
    // Russia and Kazakhstan (7): trunk prefix 8.
    ("8 (912) 345-67-89", 7, "79123456789"),
    ("8-912-345-67-89", 7, "79123456789"),
    ("89123456789", 7, "79123456789"),
    ("8.912.345.67.89", 7, "79123456789"),
    ("8 912 345 67 89", 7, "79123456789"),
    ("912 345 67 89", 7, "79123456789"),
    ("+7 912 345-67-89", 0, "79123456789"),
    ("+7 (912) 345 67 89", 0, "79123456789"),
    ("007 912 345 67 89", 0, "79123456789"),
    ("79123456789", 0, "79123456789"),
    ("79123456789", 7, "79123456789"),
    ("7 912 345 67 89", 7, "79123456789"),
    (
        "8\u{2011}912\u{2011}345\u{2011}67\u{2011}89",
        7,
        "79123456789",
    ),
    ("８ ９１２ ３４５ ６７ ８９", 7, "79123456789"),
    ("8 (495) 123-45-67", 7, "74951234567"),
    ("+7 495 123 45 67", 0, "74951234567"),
    ("8 800 555 35 35", 7, "78005553535"),
    ("800 555 35 35", 7, "78005553535"),
    ("+7 701 123 4567", 0, "77011234567"),
    ("8 (727) 258-12-34", 7, "77272581234"),
    ("7123456789", 7, "77123456789"),
    // Saudi Arabia (966): trunk prefix 0.
    ("050 123 4567", 966, "966501234567"),
    ("0501234567", 966, "966501234567"),
    ("050.123.4567", 966, "966501234567"),
    ("０５０ １２３ ４５６７", 966, "966501234567"),
    ("+966 11 234 5678", 0, "966112345678"),
    ("50 123 4567", 966, "966501234567"),
    ("+966 50 123 4567", 0, "966501234567"),
    ("+966 (0)50 123 4567", 0, "966501234567"),
    ("00966 50 123 4567", 0, "966501234567"),
    ("966501234567", 966, "966501234567"),
    ("966-50-123-4567", 0, "966501234567"),
    ("٠٥٠١٢٣٤٥٦٧", 966, "966501234567"),
    ("۰۵۰ ۱۲۳ ۴۵۶۷", 966, "966501234567"),
    ("+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧", 0, "966501234567"),
    ("011 234 5678", 966, "966112345678"),
    ("(012) 612-3456", 966, "966126123456"),
    ("800 123 4567", 966, "9668001234567"),
    ("9200 12345", 966, "966920012345"),
    // United Arab Emirates (971): trunk prefix 0.
    ("050 123 4567", 971, "971501234567"),
    ("055-123-4567", 971, "971551234567"),
    ("050.123.4567", 971, "971501234567"),
    ("＋９７１ ５０ １２３ ４５６７", 0, "971501234567"),
    ("+971 4 234 5678", 0, "97142345678"),
    ("+971 50 123 4567", 0, "971501234567"),
    ("+971-55-123-4567", 0, "971551234567"),
    ("+971 (0)50 123 4567", 0, "971501234567"),
    ("00971 50 123 4567", 0, "971501234567"),
    ("971501234567", 971, "971501234567"),
    ("971 50 123 4567", 0, "971501234567"),
    ("٠٥٠ ١٢٣ ٤٥٦٧", 971, "971501234567"),
    ("04 234 5678", 971, "97142345678"),
    ("(02) 234-5678", 971, "97122345678"),
    ("600 52 1234", 971, "971600521234"),
    ("800 123 456", 971, "971800123456"),
    ("97180012", 971, "97180012"),
    // Other country codes: the generic rule.
    ("+44 20 7946 0958", 0, "442079460958"),
    ("+44 1234 567", 0, "441234567"),
    ("4479111234", 44, "4479111234"),
    ("+44 (0)20 7946 0958", 0, "442079460958"),
    ("020 7946 0958", 44, "442079460958"),
    ("07911 123456", 44, "447911123456"),
    ("447911123456", 44, "447911123456"),
    ("+1 212-555-0123", 0, "12125550123"),
    ("(212) 555-0123", 1, "12125550123"),
    ("1 (212) 555-0123", 1, "12125550123"),
    ("12125550123", 0, "12125550123"),
    ("06 12 34 56 78", 33, "33612345678"),
    ("+33 6 12 34 56 78", 0, "33612345678"),
    ("06 30 123 4567", 36, "36301234567"),
    ("030/1234 5678", 49, "493012345678"),
    ("090-1234-5678", 81, "819012345678"),
    ("+81 90-1234-5678", 0, "819012345678"),
    ("+65 6123 4567", 0, "6561234567"),
    ("+39 06 1234 5678", 0, "390612345678"),
    ("+60 12-345 6789", 0, "60123456789"),
    ("+62 812-3456-7890", 0, "6281234567890"),
    ("+63 917 123 4567", 0, "639171234567"),
    ("+84 91 234 56 78", 0, "84912345678"),
    ("+91 98765 43210", 0, "919876543210"),
    ("+853 6612 3456", 0, "85366123456"),
    ("+82 10-1234-5678", 0, "821012345678"),
    ("+683 4002", 0, "6834002"),
    ("+800 1234 5678", 0, "80012345678"),
    // Extensions are split off (read_phone returns them) and the number kept.
    ("9123 4567 ext. 12", 852, "85291234567"),
    ("+852 9123 4567 x12", 0, "85291234567"),
    ("+852 9123 4567#12", 0, "85291234567"),
    ("+852 9123 4567 EXT 5", 0, "85291234567"),
    ("tel:+852-9123-4567;ext=12", 0, "85291234567"),
    ("WhatsApp: 9123 4567", 852, "85291234567"),
];

/// Numbers that must be refused, with the default country's calling code (0: none) and the
/// exact message.
///
/// libphonenumber (`phonenumbers` 9.0.43, checked as for [`ACCEPTED`]) refuses these too
/// (parse error, or not a valid number), except where it recovers what we refuse on purpose:
///
/// * an extension marker with no digits or other text behind it (`ext.`, `x12a`) or more
///   than 8 digits: libphonenumber drops or keeps such text as it can; here it is an error,
///   as nothing tells what was meant;
/// * text around the number (`"9123 4567a"`, `"x9123 4567"`, `"WhatsApp Business: 9123
///   4567"`; the labels and country letters of `phone_countries.rs` are taken off) and
///   `"9123*4567"`: libphonenumber skips what is not part of a number; we take no guess at
///   what such a cell means;
/// * `"1-800-FLOWERS"`: libphonenumber turns letters into keypad digits; we do not;
/// * `"++852 9123 4567"`: libphonenumber takes several leading pluses as one;
/// * `"+7 8 912 345 67 89"`: libphonenumber drops a trunk prefix written after any country
///   code when that helps; here only a `0` is dropped there, as `8` can begin Russian
///   numbers;
/// * `"8 029 123-45-67"` (Belarus, code 375): libphonenumber knows Belarus's national
///   `8 0` prefix; the generic rule knows only the trunk prefix `8` and refuses what is left.
const REJECTED: &[(&str, u16, &str)] = &[
    // No digits.
    ("", 0, "phone number is empty: it has no digits"),
    ("   ", 852, "phone number is empty: it has no digits"),
    ("+", 0, "phone number is empty: it has no digits"),
    ("( ) -", 852, "phone number is empty: it has no digits"),
    ("tel:", 0, "phone number is empty: it has no digits"),
    // No country code, no default country.
    (
        "91234567",
        0,
        "number \"91234567\" has no country code: write it with the country code, e.g. 85291234567, or set a default country",
    ),
    (
        "0912 345 678",
        0,
        "number \"0912 345 678\" has no country code: write it with the country code, e.g. 85291234567, or set a default country",
    ),
    (
        "8529123456",
        0,
        "number \"8529123456\" has no country code: write it with the country code, e.g. 85291234567, or set a default country",
    ),
    (
        "99912345678",
        0,
        "number \"99912345678\" has no country code: write it with the country code, e.g. 85291234567, or set a default country",
    ),
    // Extension markers without an extension behind them.
    (
        "9123 4567 ext.",
        852,
        "number \"9123 4567 ext.\" has an extension marker at position 11 that is not followed by 1 to 8 digits: write the extension as digits (ext. 12) or remove it",
    ),
    (
        "+852 9123 4567 x12a",
        0,
        "number \"+852 9123 4567 x12a\" has an extension marker at position 16 that is not followed by 1 to 8 digits: write the extension as digits (ext. 12) or remove it",
    ),
    (
        "+852 9123 4567 #123456789",
        0,
        "number \"+852 9123 4567 #123456789\" has an extension marker at position 16 that is not followed by 1 to 8 digits: write the extension as digits (ext. 12) or remove it",
    ),
    // Letters and other characters.
    (
        "9123 4567a",
        852,
        "number \"9123 4567a\" has an invalid character 'a' at position 10",
    ),
    (
        "WhatsApp Business: 9123 4567",
        852,
        "number \"WhatsApp Business: 9123 4567\" has an invalid character 'B' at position 10",
    ),
    (
        "1-800-FLOWERS",
        1,
        "number \"1-800-FLOWERS\" has an invalid character 'F' at position 7",
    ),
    (
        "x9123 4567",
        852,
        "number \"x9123 4567\" has an invalid character 'x' at position 1",
    ),
    (
        "9123 4567, 9876 5432",
        852,
        "number \"9123 4567, 9876 5432\" has an invalid character ',' at position 10",
    ),
    (
        "9123*4567",
        852,
        "number \"9123*4567\" has an invalid character '*' at position 5",
    ),
    (
        "tel:+852;phone-context=x",
        0,
        "number \"tel:+852;phone-context=x\" has an invalid character ';' at position 9",
    ),
    (
        "+852 9123 4567 (mobile, call after 6pm and ask for Mr Chan, not his wife)",
        0,
        "number \"+852 9123 4567 (mobile, call after 6pm and ask for Mr Chan, not \" has an invalid character 'm' at position 17",
    ),
    // Misplaced or repeated plus.
    (
        "852+9123 4567",
        0,
        "number \"852+9123 4567\" has a + at position 4: a + may only come once, before the country code (one number per cell)",
    ),
    (
        "++852 9123 4567",
        0,
        "number \"++852 9123 4567\" has a + at position 2: a + may only come once, before the country code (one number per cell)",
    ),
    (
        "+852 9123 4567 / +852 9876 5432",
        0,
        "number \"+852 9123 4567 / +852 9876 5432\" has a + at position 18: a + may only come once, before the country code (one number per cell)",
    ),
    // Unassigned country codes.
    (
        "+999 1234 5678",
        0,
        "number \"+999 1234 5678\" does not start with a valid country code: 999 is not a country code",
    ),
    (
        "+28 1234 5678",
        0,
        "number \"+28 1234 5678\" does not start with a valid country code: 28 is not a country code",
    ),
    (
        "+0912 345 678",
        0,
        "number \"+0912 345 678\" does not start with a valid country code: 0 is not a country code",
    ),
    (
        "000 912 345 678",
        886,
        "number \"000 912 345 678\" does not start with a valid country code: 0 is not a country code",
    ),
    (
        "+85",
        0,
        "number \"+85\" does not start with a valid country code: 85 is not a country code",
    ),
    // Leading digits no number of the country has.
    (
        "+852 1234 5678",
        0,
        "number \"+852 1234 5678\" is not valid for Hong Kong (+852): no number there starts with 1 after the country code",
    ),
    (
        "0 9123 4567",
        852,
        "number \"0 9123 4567\" is not valid for Hong Kong (+852): no number there starts with 0 after the country code",
    ),
    (
        "+886 1234 5678",
        0,
        "number \"+886 1234 5678\" is not valid for Taiwan (+886): no number there starts with 1 after the country code",
    ),
    (
        "+86 123 4567 8901",
        0,
        "number \"+86 123 4567 8901\" is not valid for mainland China (+86): no number there starts with 12 after the country code",
    ),
    (
        "01 2345 6789",
        66,
        "number \"01 2345 6789\" is not valid for Thailand (+66): no number there starts with 12 after the country code",
    ),
    (
        "8 (612) 345-67-89",
        7,
        "number \"8 (612) 345-67-89\" is not valid for Russia and Kazakhstan (+7): no number there starts with 6 after the country code",
    ),
    (
        "+7 8 912 345 67 89",
        0,
        "number \"+7 8 912 345 67 89\" is not valid for Russia and Kazakhstan (+7): no number there starts with 89 after the country code",
    ),
    (
        "+7 512 345 67 89",
        0,
        "number \"+7 512 345 67 89\" is not valid for Russia and Kazakhstan (+7): no number there starts with 5 after the country code",
    ),
    (
        "031 234 5678",
        966,
        "number \"031 234 5678\" is not valid for Saudi Arabia (+966): no number there starts with 3 after the country code",
    ),
    (
        "+971 51 123 4567",
        0,
        "number \"+971 51 123 4567\" is not valid for the United Arab Emirates (+971): no number there starts with 51 after the country code",
    ),
    (
        "+44 00 1234 5678",
        0,
        "number \"+44 00 1234 5678\" is not valid for country code +44: no number there starts with 0 after the country code",
    ),
    (
        "+1 112 555 0123",
        0,
        "number \"+1 112 555 0123\" is not valid for country code +1: no number there starts with 1 after the country code",
    ),
    (
        "8 029 123-45-67",
        375,
        "number \"8 029 123-45-67\" is not valid for country code +375: no number there starts with 0 after the country code",
    ),
    // Too short.
    (
        "9123 456",
        852,
        "number \"9123 456\" is too short for Hong Kong (+852): 7 digits after the country code, at least 8 are needed",
    ),
    (
        "+852",
        0,
        "number \"+852\" is too short for Hong Kong (+852): 0 digits after the country code, at least 8 are needed",
    ),
    (
        "0912 345 67",
        886,
        "number \"0912 345 67\" is too short for Taiwan (+886): 8 digits after the country code, at least 9 are needed",
    ),
    (
        "138 1234 567",
        86,
        "number \"138 1234 567\" is too short for mainland China (+86): 10 digits after the country code, at least 11 are needed",
    ),
    (
        "081 234 567",
        66,
        "number \"081 234 567\" is too short for Thailand (+66): 8 digits after the country code, at least 9 are needed",
    ),
    (
        "8 (912) 345-67-8",
        7,
        "number \"8 (912) 345-67-8\" is too short for Russia and Kazakhstan (+7): 9 digits after the country code, at least 10 are needed",
    ),
    (
        "050 123 456",
        966,
        "number \"050 123 456\" is too short for Saudi Arabia (+966): 8 digits after the country code, at least 9 are needed",
    ),
    (
        "+971 50 123 456",
        0,
        "number \"+971 50 123 456\" is too short for the United Arab Emirates (+971): 8 digits after the country code, at least 9 are needed",
    ),
    (
        "+44 123",
        0,
        "number \"+44 123\" is too short for country code +44: 3 digits after the country code, at least 7 are needed",
    ),
    (
        "+683 4",
        0,
        "number \"+683 4\" is too short for country code +683: 1 digit after the country code, at least 4 are needed",
    ),
    // Too long.
    (
        "+852 9123 45678",
        0,
        "number \"+852 9123 45678\" is too long for Hong Kong (+852): 9 digits after the country code, at most 8 are allowed",
    ),
    (
        "0912 345 6789",
        886,
        "number \"0912 345 6789\" is too long for Taiwan (+886): 10 digits after the country code, at most 9 are allowed",
    ),
    (
        "8 (912) 345-67-890",
        7,
        "number \"8 (912) 345-67-890\" is too long for Russia and Kazakhstan (+7): 11 digits after the country code, at most 10 are allowed",
    ),
    (
        "050 123 45678",
        971,
        "number \"050 123 45678\" is too long for the United Arab Emirates (+971): 10 digits after the country code, at most 9 are allowed",
    ),
    (
        "+44 20 7946 09581",
        0,
        "number \"+44 20 7946 09581\" is too long for country code +44: 11 digits after the country code, at most 10 are allowed",
    ),
    (
        "+49 1234 5678 9012 3456",
        0,
        "number \"+49 1234 5678 9012 3456\" is too long for country code +49: 16 digits after the country code, at most 13 are allowed",
    ),
    (
        "+852 9123 4567 8901 2345 6789 0123 4567",
        0,
        "number \"+852 9123 4567 8901 2345 6789 0123 4567\" is too long for Hong Kong (+852): 28 digits after the country code, at most 8 are allowed",
    ),
];

#[test]
fn accepted_spellings() {
    let mut failures = Vec::new();
    for &(input, code, expected) in ACCEPTED {
        match normalize_phone(input, default_country(code)) {
            Ok(phone) if phone.to_string() == expected => {}
            other => failures.push(format!(
                "{input:?} (default {code}): expected {expected}, got {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rejected_spellings() {
    let mut failures = Vec::new();
    for &(input, code, expected) in REJECTED {
        match normalize_phone(input, default_country(code)) {
            Err(err) if err.to_string() == expected => {}
            Err(err) => failures.push(format!(
                "{input:?} (default {code}):\n  expected {expected}\n  got      {err}"
            )),
            Ok(phone) => failures.push(format!(
                "{input:?} (default {code}): expected an error, got {phone}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_carry_typed_reasons() {
    let hk = Some(Country::HK);
    assert_eq!(normalize_phone(" ", hk), Err(PhoneError::Empty));
    assert_eq!(
        normalize_phone("9123 4567a", hk),
        Err(PhoneError::InvalidCharacter {
            input: "9123 4567a".into(),
            ch: 'a',
            position: 10
        })
    );
    assert_eq!(
        normalize_phone("9123 4567 x", hk),
        Err(PhoneError::Extension {
            input: "9123 4567 x".into(),
            position: 11
        })
    );
    assert_eq!(
        normalize_phone("852+91234567", None),
        Err(PhoneError::MisplacedPlus {
            input: "852+91234567".into(),
            position: 4
        })
    );
    assert_eq!(
        normalize_phone("91234567", None),
        Err(PhoneError::NoCountryCode {
            input: "91234567".into()
        })
    );
    assert_eq!(
        normalize_phone("+999 1234", None),
        Err(PhoneError::UnknownCountryCode {
            input: "+999 1234".into(),
            prefix: "999".into()
        })
    );
    assert_eq!(
        normalize_phone("1234 5678", hk),
        Err(PhoneError::InvalidPrefix {
            input: "1234 5678".into(),
            country_code: 852,
            prefix: "1".into()
        })
    );
    assert_eq!(
        normalize_phone("0912 345 67", Some(Country::TW)),
        Err(PhoneError::TooShort {
            input: "0912 345 67".into(),
            country_code: 886,
            digits: 8,
            min: 9
        })
    );
    assert_eq!(
        normalize_phone("+7 912 345 67 890", None),
        Err(PhoneError::TooLong {
            input: "+7 912 345 67 890".into(),
            country_code: 7,
            digits: 11,
            max: 10
        })
    );
    // Positions count characters, not bytes.
    assert_eq!(
        normalize_phone("９１２３ ４５６７ａ", hk),
        Err(PhoneError::InvalidCharacter {
            input: "９１２３ ４５６７ａ".into(),
            ch: 'ａ',
            position: 10
        })
    );
}

#[test]
fn canonical_form_is_strict() {
    let p = Phone::from_e164_digits("85291234567").unwrap();
    assert_eq!(p.as_u64(), 85291234567);
    assert_eq!("85291234567".parse::<Phone>(), Ok(p));
    assert_eq!(Phone::from_u64(85291234567), Ok(p));
    assert_eq!(Phone::try_from(85291234567u64), Ok(p));
    assert_eq!(u64::from(p), 85291234567);
    assert_eq!((p.country_code(), p.national_number()), (852, 91234567));

    let cases: &[(&str, &str)] = &[
        ("", "phone number is empty: it has no digits"),
        (
            "+85291234567",
            "number \"+85291234567\" has an invalid character '+' at position 1",
        ),
        (
            "852 9123 4567",
            "number \"852 9123 4567\" has an invalid character ' ' at position 4",
        ),
        (
            "８５２９１２３４５６７",
            "number \"８５２９１２３４５６７\" has an invalid character '８' at position 1",
        ),
        (
            "8860912345678",
            "number \"8860912345678\" is not valid for Taiwan (+886): no number there starts with 0 after the country code",
        ),
        (
            "0085291234567",
            "number \"0085291234567\" does not start with a valid country code: 0 is not a country code",
        ),
        (
            "99912345678",
            "number \"99912345678\" does not start with a valid country code: 999 is not a country code",
        ),
        (
            "852912345678",
            "number \"852912345678\" is too long for Hong Kong (+852): 9 digits after the country code, at most 8 are allowed",
        ),
        (
            "8529123456",
            "number \"8529123456\" is too short for Hong Kong (+852): 7 digits after the country code, at least 8 are needed",
        ),
    ];
    for &(input, message) in cases {
        assert_eq!(
            Phone::from_e164_digits(input).unwrap_err().to_string(),
            message,
            "{input:?}"
        );
        assert_eq!(
            input.parse::<Phone>().unwrap_err().to_string(),
            message,
            "{input:?}"
        );
    }

    assert_eq!(
        Phone::from_u64(0).unwrap_err().to_string(),
        "number \"0\" does not start with a valid country code: 0 is not a country code"
    );
    assert_eq!(
        Phone::from_u64(u64::MAX).unwrap_err().to_string(),
        "number \"18446744073709551615\" is too long for country code +1: 19 digits after the country code, at most 10 are allowed"
    );
}

#[test]
fn countries() {
    let covered = [
        (Country::HK, 852, None),
        (Country::TW, 886, Some("0")),
        (Country::CN, 86, Some("0")),
        (Country::TH, 66, Some("0")),
        (Country::RU, 7, Some("8")),
        (Country::SA, 966, Some("0")),
        (Country::AE, 971, Some("0")),
    ];
    for (country, code, trunk) in covered {
        assert_eq!(country.calling_code(), code);
        assert_eq!(country.trunk_prefix(), trunk);
        assert_eq!(Country::from_calling_code(code), Some(country));
        assert_eq!(u16::from(country), code);
    }
    let trunk = |code| Country::from_calling_code(code).unwrap().trunk_prefix();
    assert_eq!(trunk(1), Some("1"));
    assert_eq!(trunk(44), Some("0"));
    assert_eq!(trunk(36), Some("06"));
    assert_eq!(trunk(375), Some("8"));
    assert_eq!(trunk(39), None);
    assert_eq!(trunk(65), None);
    assert_eq!(trunk(800), None);
    for spare in [0, 2, 28, 210, 259, 388, 801, 969, 991, 999, 1000, u16::MAX] {
        assert_eq!(Country::from_calling_code(spare), None, "{spare}");
    }
    let assigned = (0..=u16::MAX)
        .filter(|&code| Country::from_calling_code(code).is_some())
        .count();
    assert_eq!(assigned, 215);
    assert_eq!(format!("{:?}", Country::HK), "Country(+852)");
    assert_eq!(
        Country::try_from(999).unwrap_err().to_string(),
        "number \"+999\" does not start with a valid country code: 999 is not a country code"
    );
}

#[cfg(feature = "serde")]
#[test]
fn serde_validates() {
    use serde::Deserialize;
    use serde::de::IntoDeserializer;
    use serde::de::value::Error as DeError;

    let phone =
        |v: u64| Phone::deserialize(v.into_deserializer()).map_err(|e: DeError| e.to_string());
    assert_eq!(
        phone(85291234567),
        Ok(Phone::from_u64(85291234567).unwrap())
    );
    assert_eq!(
        phone(91234567),
        Err("number \"91234567\" is too short for country code +91: 6 digits after the country code, at least 8 are needed".to_string())
    );
    let country =
        |v: u16| Country::deserialize(v.into_deserializer()).map_err(|e: DeError| e.to_string());
    assert_eq!(country(886), Ok(Country::TW));
    assert!(country(999).is_err());
}

/// Phone-like text: digits of several scripts, separators, pluses and a few letters.
fn phone_like() -> impl Strategy<Value = String> {
    "[0-9０-９٠-٩+＋ ()\\-./\u{a0}\u{3000}–#xe]{0,24}"
}

/// A valid phone, built from an assigned code and random national digits.
fn valid_phone() -> impl Strategy<Value = Phone> {
    let codes: Vec<u16> = (1..=999)
        .filter(|&c| Country::from_calling_code(c).is_some())
        .collect();
    (prop::sample::select(codes), "[0-9]{4,14}")
        .prop_filter_map("not a valid number", |(code, national)| {
            normalize_phone(&format!("+{code}{national}"), None).ok()
        })
}

fn defaults() -> impl Strategy<Value = Option<Country>> {
    prop::sample::select(vec![
        None,
        Some(Country::HK),
        Some(Country::TW),
        Some(Country::CN),
        Some(Country::TH),
        Some(Country::RU),
        Some(Country::SA),
        Some(Country::AE),
        Country::from_calling_code(1),
        Country::from_calling_code(44),
        Country::from_calling_code(36),
    ])
}

/// Whatever normalisation returns parses back from its digits and normalises to itself.
fn assert_stable(phone: Phone, default: Option<Country>) -> Result<(), TestCaseError> {
    let digits = phone.to_string();
    prop_assert_eq!(Phone::from_e164_digits(&digits), Ok(phone));
    prop_assert_eq!(Phone::from_u64(phone.as_u64()), Ok(phone));
    prop_assert_eq!(normalize_phone(&format!("+{digits}"), default), Ok(phone));
    prop_assert_eq!(normalize_phone(&format!("+{digits}"), None), Ok(phone));
    Ok(())
}

proptest! {
    #[test]
    fn never_panics_on_any_text(raw in any::<String>(), default in defaults()) {
        if let Ok(phone) = normalize_phone(&raw, default) {
            assert_stable(phone, default)?;
        }
        let _ = Phone::from_e164_digits(&raw);
    }

    #[test]
    fn never_panics_on_phone_like_text(raw in phone_like(), default in defaults()) {
        if let Ok(phone) = normalize_phone(&raw, default) {
            assert_stable(phone, default)?;
        }
        let _ = Phone::from_e164_digits(&raw);
    }

    #[test]
    fn any_u64(value in prop_oneof![any::<u64>(), 1_000_000..1_000_000_000_000_000u64]) {
        if let Ok(phone) = Phone::from_u64(value) {
            prop_assert_eq!(phone.as_u64(), value);
            assert_stable(phone, None)?;
        }
    }

    #[test]
    fn valid_phones_round_trip(phone in valid_phone(), default in defaults()) {
        assert_stable(phone, default)?;
        let digits = phone.to_string();
        prop_assert_eq!(digits.parse::<Phone>(), Ok(phone));
        // The canonical form without a default country, or with the number's own.
        prop_assert_eq!(normalize_phone(&digits, None), Ok(phone));
        let own = Country::from_calling_code(phone.country_code());
        prop_assert!(own.is_some());
        prop_assert_eq!(normalize_phone(&digits, own), Ok(phone));
        prop_assert_eq!(normalize_phone(&format!("00{digits}"), default), Ok(phone));
        // Code and national number put together give the digits back.
        let code = phone.country_code().to_string();
        prop_assert!(digits.starts_with(&code));
        prop_assert_eq!(digits[code.len()..].parse::<u64>().ok(), Some(phone.national_number()));
    }
}

#[test]
fn table_results_are_stable() {
    for &(input, code, _) in ACCEPTED {
        let phone = normalize_phone(input, default_country(code)).unwrap();
        assert_stable(phone, default_country(code)).unwrap();
    }
}
