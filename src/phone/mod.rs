//! Phone numbers: messy spellings normalised to E.164 digits.
//!
//! Customer lists come from CSV and Excel files typed by people, and a shop's list holds
//! numbers of several countries (a Hong Kong shop's: Hong Kong, Taiwan, mainland and Thai
//! ones). [`read_phone`] reads one such cell against the list's expected countries into a
//! [`ParsedPhone`] (the number, its extension, its line type and how it was read);
//! [`normalize_phone_in`] and [`normalize_phone`] (one country or none) give the number
//! alone, a [`Phone`]: the number in E.164 form, kept and printed as its digits
//! with the country code, without `+` and without spaces (`85291234567`). That is the
//! canonical import format; [`Phone::from_e164_digits`] (and `str::parse`) reads exactly that
//! form and nothing else.
//!
//! ```
//! use audience::phone::{normalize_phone, Country};
//!
//! let tw = Some(Country::TW);
//! assert_eq!(normalize_phone("0912 345 678", tw)?.to_string(), "886912345678");
//! assert_eq!(normalize_phone("+852 9123 4567", None)?.to_string(), "85291234567");
//! assert_eq!(
//!     normalize_phone("91234567", None).unwrap_err().to_string(),
//!     "number \"91234567\" has no country code: write it with the country code, \
//!      e.g. 85291234567, or set a default country",
//! );
//! # Ok::<(), audience::phone::PhoneError>(())
//! ```
//!
//! Terms: the *country code* is the ITU country calling code (`852`); the *national number*
//! is what follows it in E.164 form (`91234567`); the *trunk prefix* is what a country puts
//! in front of the national number when dialling within the country (`0` in Taiwan, `8` in
//! Russia, none in Hong Kong).
//!
//! # What is accepted
//!
//! * Digits: ASCII `0`-`9`, full-width `０`-`９` (U+FF10-U+FF19), Arabic-Indic `٠`-`٩`
//!   (U+0660-U+0669), Eastern Arabic-Indic `۰`-`۹` (U+06F0-U+06F9) and Thai `๐`-`๙`
//!   (U+0E50-U+0E59).
//! * Separators, dropped wherever they are:
//!   - every Unicode white space character ([`char::is_whitespace`]: space, tab, line breaks,
//!     no-break space U+00A0, the U+2000-U+200A spaces, narrow no-break space U+202F,
//!     ideographic space U+3000, ...);
//!   - invisible formatting characters that copying from phones and chat apps leaves
//!     behind: soft hyphen U+00AD, U+200B-U+200F (zero-width spaces and joiners, direction
//!     marks), U+202A-U+202E (direction embeddings), U+2060 (word joiner), U+2066-U+2069
//!     (direction isolates) and U+FEFF (byte order mark);
//!   - dashes: `-`, U+2010-U+2015 (hyphen to horizontal bar), U+2212 (minus), U+30FC
//!     (`ー`), U+FE58, U+FE63, U+FF0D (`－`);
//!   - dots: `.` and `．` (U+FF0E);
//!   - parentheses and brackets: `(` `)` `（` `）` `[` `]` `［` `］`;
//!   - slashes: `/` and `／` (U+FF0F).
//! * A plus, `+` or full-width `＋` (U+FF0B), before the first digit (separators may come
//!   before it, as in `(+852) 9123 4567`), at most once.
//! * An international dialling prefix in front (see [the table](#international-dialling-prefixes)):
//!   `00` from anywhere, and the other prefixes of the expected countries (Taiwan's `002`,
//!   Thailand's `001`, Russia's `8 10`, ...).
//! * Before the number, once: a label (any case, then optional `.`, `:`, `：`, `-` and white
//!   space): `tel` (so `tel:` links as in RFC 3966, `tel:+852-9123-4567`), `phone`,
//!   `mobile`, `mob`, `cell`, `telephone`, `whatsapp`, `тел`, `телефон`, `моб`, `電話`,
//!   `电话`, `手機`, `手机`, `電話號碼`, `手機號碼`, `电话号码`, `手机号码`, `โทร`,
//!   `โทรศัพท์`, `มือถือ`, `เบอร์`, `هاتف`, `الهاتف`, `جوال`. A label does not run on into
//!   letters (`Telex` is refused).
//! * Before the number (after a label, if any): a covered country's two-letter code `HK`,
//!   `TW`, `CN`, `TH`, `RU`, `KZ`, `SA` or `AE` (any case): the number is that country's,
//!   whatever countries are expected ([`Reading::CountryLetters`]). With a `+` after the
//!   letters, the country code must be theirs ([`PhoneError::CountryMismatch`]).
//! * After the number: an extension, split off and returned by [`read_phone`]: a marker
//!   `ext`, `extension`, `;ext=`, `x`, `ｘ`, `#`, `＃`, `доб`, `ต่อ`, `轉`, `转`, `分機`,
//!   `分机`, `內線` or `内线` (any case), optional `.`, `:`, `=` and white space, then 1 to 8
//!   digits (of any script above) and nothing but white space.
//!
//! Anything else is an error with a typed reason, the first one found from left to right:
//! letters and other symbols are [`PhoneError::InvalidCharacter`]; an extension marker after
//! the first digit not followed by an extension as above is [`PhoneError::Extension`]; a `+`
//! after a digit or a second `+` is [`PhoneError::MisplacedPlus`]; no digit at all is
//! [`PhoneError::Empty`]. Positions in errors count characters (not bytes) from 1.
//!
//! # How a number is read
//!
//! A number is read against the *expected countries*: the countries a list's numbers come
//! from ([`normalize_phone_in`], [`read_phone`]; [`normalize_phone`] is the case of one
//! country or none). The readings are tried in this order, and the first step that finds a
//! valid number decides:
//!
//! 1. With a `+` in front, the digits are international: the country code comes first.
//!    The expected countries play no part.
//! 2. With `00` in front: `00` and a country code, when that gives a valid number (so
//!    `00` in front of any number's E.164 digits reads it back, and `00852 9123 4567` from
//!    Hong Kong is Hong Kong's mobile, where libphonenumber reads Hong Kong's prefix `008`
//!    and Mexico). Otherwise each expected country's longer prefixes that begin with `00`
//!    (Hong Kong's `001`, Thailand's `008`, ...): one number is taken, several are
//!    [`PhoneError::AmbiguousCountry`]. The cost: a number dialled with such a prefix whose
//!    digits also read as `00` and another valid number is read the `00` way
//!    (`008 66 81 234 5678` from Hong Kong is the mainland's `+86 6812345678`; written
//!    `+66 81 234 5678` it is read right).
//! 3. Without expected countries, the digits are read as the canonical format: country code
//!    first (`85291234567`). If they do not form a valid number that way, the error is
//!    [`PhoneError::NoCountryCode`] (`91234567` is not taken for an Indian `+91 234567`).
//! 4. Digits that start with an expected country's code and are valid that way are read
//!    as international (the canonical format): `85291234567` with Hong Kong expected.
//! 5. National numbers as people write them at home, in each expected country: with the
//!    trunk prefix where the country has one (`0912 345 678` in Taiwan, `8 (912) 345-67-89`
//!    in Russia), as they are where it has none (`9123 4567` in Hong Kong), and the line
//!    types written without the trunk prefix (mainland China's mobiles, `400` and `800`
//!    numbers; Thailand's `1800`; Saudi Arabia's and the UAE's `800`, `920` and `600`);
//!    and the expected countries' other dialling prefixes (Taiwan's `019`, Russia's `810`).
//!    Valid in exactly one country, the number is taken; valid in several, it is
//!    [`PhoneError::AmbiguousCountry`] with each reading (`0912 345 678` is a mobile both in
//!    Taiwan and in Thailand: with both expected, nothing tells which).
//! 6. National numbers written without the trunk prefix their country has (`81 234 5678`
//!    in Thailand, `912 345 67 89` in Russia), by the same rule.
//! 7. Digits that start with the code of a country that is not expected, valid that way
//!    ([`Reading::OtherCountryCode`]: `(852) 5653 0010` in a Thai list). The importer
//!    reports such numbers.
//!
//! Nothing valid: with one expected country, that country's reason
//! ([`PhoneError::InvalidPrefix`], [`PhoneError::TooShort`], [`PhoneError::TooLong`], or
//! [`PhoneError::MissingAreaCode`] for a local number of the subscriber length of the
//! country's largest city: `2345 6789` in Taiwan needs `02`); with several, or when the
//! number is a valid mobile as written in a covered country that is not expected,
//! [`PhoneError::NotInExpectedCountries`] with each country's reason and those mobile
//! readings (`081 234 5678` with Taiwan expected: "as written it is valid as 66812345678 in
//! Thailand (+66)").
//!
//! A national reading drops the country's trunk prefix (Russian national numbers may
//! themselves begin with the trunk prefix `8`, `800` toll-free, so for code 7 the digits are
//! taken whole when dropping the `8` leaves no valid number but keeping it does:
//! `800 123-45-67` is `78001234567`). Step 4 before step 5 can misread a national number
//! written without its trunk prefix that happens to begin with the country code: in the
//! United Arab Emirates `97180012` is read as the toll-free `+971 80012`, not as the
//! Fujairah line `+971 9718 0012` (written `09 718 0012`, with the trunk prefix, it is read
//! nationally). Among the covered countries this is the only overlap (a unit test searches
//! them all). Under the generic rule, with its looser lengths, there are more: with the UK
//! as default country, `4479111234` is read as `+44 7911 1234`.
//!
//! After a country code (in steps 1, 2, 4 and 7), a trunk prefix `0` written in front of the
//! national number is dropped, as in `+44 (0)20 7946 0958` or `+886 0912 345 678`: countries
//! whose trunk prefix is `0` have no national numbers beginning with `0` (libphonenumber knows
//! a few special freephone ranges in Japan, South Korea, Indonesia and Uruguay that do; they
//! are refused here). Other trunk prefixes (Russia's `8`) are not dropped there, since
//! national numbers may begin with them.
//! [`Phone::from_e164_digits`] never drops anything.
//!
//! # International dialling prefixes
//!
//! What people dial before a country code to call abroad, from the ITU's list as
//! libphonenumber 9.0.43 records it (carrier prefixes included). `00` is understood from
//! anywhere; the others only for the expected countries:
//!
//! | country | prefixes |
//! |---|---|
//! | Hong Kong | `00`, `001`, `002`, `006`, `0060`, `007`, `008`, `009`, `0030`, `0050`, `0059` |
//! | Taiwan | `002`, `005`, `006`, `007`, `009`, `019` |
//! | mainland China | `00` |
//! | Thailand | `001` to `009` |
//! | Russia and Kazakhstan | `8~10` (written `8~10`, `810`, `8 10`, `8-10`; the tilde, "wait for the tone", is read only there) |
//! | Saudi Arabia | `00` |
//! | the United Arab Emirates | `00` |
//!
//! (libphonenumber also knows China's carrier-selection `17951`-style prefixes before
//! `00`; they are not read here.)
//!
//! # What is validated
//!
//! Every number: at most 15 digits in all (E.164); the country code is one of the 215
//! assigned country calling codes (the ITU list as carried by Google's libphonenumber
//! 9.0.43, including the non-geographic codes 800, 808, 870, 878, 881, 882, 883, 888 and 979;
//! spare and reserved codes such as 28x, 999 and the trial code 991 are rejected).
//! [`Country::from_calling_code`] says whether a code is one of them; the table, with the
//! trunk prefix and length bounds of each code, is in this module's source.
//!
//! For the covered countries, the national number is checked against these leading digits
//! and lengths (digits after the country code, without trunk prefix); a number whose leading
//! digits fit no row is [`PhoneError::InvalidPrefix`], one whose leading digits fit but
//! whose length does not is [`PhoneError::TooShort`] or [`PhoneError::TooLong`]:
//!
//! | country (code, trunk prefix) | leading digits | digits | line type |
//! |---|---|---|---|
//! | Hong Kong (852, none) | 2, 3 | 8 | fixed line (`30`: shared-cost UAN) |
//! | | 4-6, 70, 84, 9 | 8 | mobile |
//! | | 71-79 | 8 | pager |
//! | | 81-83 | 8 | personal number |
//! | | other 8 | 8 | unknown |
//! | | 800 | 9 | toll-free |
//! | Taiwan (886, `0`) | 2 | 9 | Taipei fixed line: area code 2 and 8 digits |
//! | | 3-6 | 8-9 | fixed line |
//! | | 70 | 10-11 | VoIP |
//! | | 71-79 | 8 | fixed line |
//! | | 80 | 8-9 | toll-free |
//! | | 82-89 | 8-9 | fixed line |
//! | | 9 | 9 | mobile |
//! | mainland China (86, `0`) | 10 | 10 | Beijing fixed line |
//! | | 13-19 | 11 | mobile |
//! | | 2 | 10 | fixed line, two-digit area codes |
//! | | 400 | 10 | shared cost |
//! | | 800 | 10 | toll-free |
//! | | 3-9 | 10-11 | fixed line, three-digit area codes |
//! | Thailand (66, `0`) | 2-5, 7 | 8 | fixed line |
//! | | 6, 8, 9 | 9 | mobile |
//! | | 1800 | 10 | toll-free |
//! | Russia and Kazakhstan (7, `8`) | 3, 4 | 10 | Russian fixed line |
//! | | 70, 74-78 | 10 | Kazakh mobile |
//! | | 71, 72 | 10 | Kazakh fixed line |
//! | | other 7 | 10 | Kazakhstan, unknown |
//! | | 800 | 10 | toll-free |
//! | | 80-87 | 10 | fixed line, other non-geographic |
//! | | 9 | 10 | Russian mobile |
//! | Saudi Arabia (966, `0`) | 1 | 9 | fixed line |
//! | | 5 | 9 | mobile |
//! | | 800 | 10 | toll-free |
//! | | 920 | 9 | shared cost (unified numbers) |
//! | United Arab Emirates (971, `0`) | 2-4, 6, 7, 9 | 8 | fixed line |
//! | | 50, 52-56, 58 | 9 | mobile |
//! | | 600 | 9 | shared cost (UAN) |
//! | | 800 | 5-12 | toll-free |
//!
//! The line type is [`ParsedPhone::line_type`]; a number is valid when some row fits its
//! leading digits and length (rows are tried in order, so `800` in Hong Kong is toll-free).
//!
//! For every other country code (the generic rule): the national number's length lies within
//! that code's bounds (the shortest and longest national number of any type that
//! libphonenumber knows for the code, capped so that the whole number has at most 15 digits;
//! the North American code 1 is fixed at 10: `+44` takes 7 to 10 digits, `+49` 4 to 13,
//! `+65` 8 to 11, `+683` 4 to 7); where the country has a trunk
//! prefix, the national number does not begin with `0`, and where that prefix is `1` (North
//! America, Marshall Islands) not with `1` either.
//!
//! # What is not validated
//!
//! * Number ranges beyond the leading digits above: whether a range is allocated, to which
//!   carrier, whether it is in service. `+852 8521 2345` passes although no Hong Kong number
//!   begins with `852`.
//! * For the generic rule, leading digits (but the `0` and `1` above) and lengths inside the
//!   bounds: `+44 1234 567` passes although no UK number has 7 digits starting with 1.
//! * Whether a number can receive messages: fixed lines and toll-free numbers are valid
//!   phone numbers.
//! * Short codes, emergency numbers, premium-rate and other special numbers of the covered
//!   countries that are not in the table: they are rejected.
//! * National spellings with more in front than the trunk prefix are not recognised:
//!   carrier-selection codes (China's `17951`, Brazil's `0xx`), Belarus's `8 0`, and
//!   the international prefixes of countries outside the table above. They are refused,
//!   not misread, as far as the rules above can tell.
//!
//! # Performance
//!
//! Normalising allocates nothing unless it fails: digits are collected in a fixed buffer on
//! the stack, the country code is found by binary search in a sorted table, and the result is
//! a `u64`. Only an error allocates, to keep (at most 64 characters of) the input for its
//! message.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use std::fmt;

use crate::base::text::{quote, quote_char};
use std::str::FromStr;

/// The most digits an E.164 number has, country code included.
const MAX_DIGITS: usize = 15;

/// Digits kept while scanning input: enough for `00`, 15 digits and a trunk prefix, with
/// room to spare. Digits beyond it are only counted (such a number is too long anyway).
const BUF_LEN: usize = 24;

/// How many characters of the input an error keeps for its message.
const INPUT_KEPT: usize = 64;

/// A phone number in E.164 form, stored as its digits in a `u64`: country code first, at most
/// 15 digits, the first one not zero.
///
/// Every `Phone` is valid as described in the [module documentation](self): its country code
/// is assigned and its national number has a possible length (and, for the covered countries,
/// possible leading digits). It prints as its digits without `+` (`85291234567`), the
/// canonical import format, and [`FromStr`] reads back exactly that form. Ordering is by the
/// `u64` value. With the `serde` feature it serialises as that `u64` and deserialising
/// validates it.
///
/// ```
/// use audience::phone::Phone;
///
/// let p: Phone = "85291234567".parse()?;
/// assert_eq!(p.country_code(), 852);
/// assert_eq!(p.national_number(), 91234567);
/// assert_eq!(p.as_u64(), 85291234567);
/// assert_eq!(p.to_string(), "85291234567");
/// assert!("+85291234567".parse::<Phone>().is_err()); // only the canonical form
/// # Ok::<(), audience::phone::PhoneError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "u64", into = "u64")
)]
pub struct Phone(u64);

impl Phone {
    /// Reads the canonical form: ASCII digits only, country code first, no `+`, no
    /// separators, nothing dropped (`85291234567`).
    ///
    /// The number is validated as [`normalize_phone`] validates its result. Errors:
    /// [`PhoneError::Empty`] for `""`, [`PhoneError::InvalidCharacter`] for anything that is
    /// not an ASCII digit (a `+`, a space, a full-width digit), and the country and length
    /// errors of [`normalize_phone`]. A trunk prefix after the country code is an error here
    /// (`8860912345678` is [`PhoneError::InvalidPrefix`]), not dropped.
    pub fn from_e164_digits(digits: &str) -> Result<Phone, PhoneError> {
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut buf = DigitBuf::new();
        for (index, ch) in digits.chars().enumerate() {
            match ch.to_digit(10) {
                Some(d) => buf.push(d as u8),
                None => {
                    return Err(Fault::InvalidCharacter {
                        ch,
                        position: index.saturating_add(1),
                    }
                    .into_error(digits));
                }
            }
        }
        canonical(buf.num()).map_err(|fault| fault.into_error(digits))
    }

    /// Takes the digits of `value` as the canonical form (`85291234567`), validated as
    /// [`Phone::from_e164_digits`] validates them.
    ///
    /// ```
    /// use audience::phone::Phone;
    ///
    /// assert_eq!(Phone::from_u64(85291234567)?.to_string(), "85291234567");
    /// assert!(Phone::from_u64(99912345678).is_err()); // 999 is no country code
    /// # Ok::<(), audience::phone::PhoneError>(())
    /// ```
    pub fn from_u64(value: u64) -> Result<Phone, PhoneError> {
        let (buf, len) = decimal_digits(value);
        let digits = buf.get(buf.len().saturating_sub(len)..).unwrap_or(&[]);
        canonical(Num { digits, extra: 0 }).map_err(|fault| fault.into_error(&value.to_string()))
    }

    /// The digits as a number: `85291234567`.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The country calling code: `852` for `85291234567`.
    pub fn country_code(self) -> u16 {
        self.split().0
    }

    /// The national number (the digits after the country code) as a number: `91234567` for
    /// `85291234567`.
    ///
    /// A national number that begins with `0` (Italian fixed lines, `+39 06 ...`) loses its
    /// leading zeros here; take the digits of `to_string()` after the country code to keep
    /// them.
    pub fn national_number(self) -> u64 {
        self.split().1
    }

    /// (country code, national number).
    fn split(self) -> (u16, u64) {
        let total = decimal_len(self.0);
        for code_len in 1..=3 {
            let Some(scale) = total
                .checked_sub(code_len)
                .and_then(|n| 10u64.checked_pow(n as u32))
            else {
                break;
            };
            let code = self.0 / scale;
            if let Ok(code) = u16::try_from(code)
                && lookup(code).is_some()
            {
                return (code, self.0 % scale);
            }
        }
        // Not reached: every `Phone` starts with an assigned code.
        (0, self.0)
    }
}

impl fmt::Display for Phone {
    /// The E.164 digits without `+`: `85291234567`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Phone {
    type Err = PhoneError;

    /// Same as [`Phone::from_e164_digits`].
    fn from_str(s: &str) -> Result<Phone, PhoneError> {
        Phone::from_e164_digits(s)
    }
}

impl TryFrom<u64> for Phone {
    type Error = PhoneError;

    /// Same as [`Phone::from_u64`].
    fn try_from(value: u64) -> Result<Phone, PhoneError> {
        Phone::from_u64(value)
    }
}

impl From<Phone> for u64 {
    fn from(phone: Phone) -> u64 {
        phone.0
    }
}

/// The country whose national numbers a number without country code belongs to: its calling
/// code and its trunk prefix.
///
/// Strictly this is a calling-code area: [`Country::RU`] is code 7, which Russia shares with
/// Kazakhstan, and `Country::from_calling_code(1)` is the whole North American Numbering
/// Plan. The seven constants are the countries with detailed rules (see the
/// [module documentation](self)); [`Country::from_calling_code`] gives any assigned code,
/// validated by the generic rule.
///
/// With the `serde` feature it serialises as its calling code (`852`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "u16", into = "u16")
)]
pub struct Country(CodeInfo);

impl Country {
    /// Hong Kong: +852, no trunk prefix.
    pub const HK: Country = Country(c(852, T_NONE, 5, 11));
    /// Taiwan: +886, trunk prefix `0`.
    pub const TW: Country = Country(c(886, T_0, 7, 11));
    /// Mainland China: +86, trunk prefix `0`.
    pub const CN: Country = Country(c(86, T_0, 7, 12));
    /// Thailand: +66, trunk prefix `0`.
    pub const TH: Country = Country(c(66, T_0, 8, 13));
    /// Russia (and Kazakhstan, which shares the code): +7, trunk prefix `8`.
    pub const RU: Country = Country(c(7, T_8, 10, 14));
    /// Saudi Arabia: +966, trunk prefix `0`.
    pub const SA: Country = Country(c(966, T_0, 9, 10));
    /// United Arab Emirates: +971, trunk prefix `0`.
    pub const AE: Country = Country(c(971, T_0, 5, 12));

    /// The country for an assigned calling code, or `None` for a spare or reserved one.
    ///
    /// Its trunk prefix is the one libphonenumber records for the code: `0` for 103 codes
    /// (most countries that have a trunk prefix: the UK, France, Germany, Japan, India,
    /// Taiwan, mainland China, Thailand, Saudi Arabia, the UAE, ...), `1` for code 1 (North
    /// America) and 692 (Marshall Islands), `8` for 7 (Russia, Kazakhstan), 375 (Belarus) and
    /// 993 (Turkmenistan), `06` for 36 (Hungary), and none for the other 106 (Hong Kong,
    /// Macau, Singapore, Italy, Spain, Kuwait, Qatar, the non-geographic codes, ...).
    ///
    /// ```
    /// use audience::phone::Country;
    ///
    /// assert_eq!(Country::from_calling_code(852), Some(Country::HK));
    /// assert_eq!(Country::from_calling_code(44).and_then(|c| c.trunk_prefix()), Some("0"));
    /// assert_eq!(Country::from_calling_code(999), None);
    /// ```
    pub fn from_calling_code(code: u16) -> Option<Country> {
        lookup(code).map(Country)
    }

    /// The calling code: `852` for Hong Kong.
    pub const fn calling_code(self) -> u16 {
        self.0.code
    }

    /// The trunk prefix dropped from national numbers (`"0"` for Taiwan, `"8"` for Russia),
    /// or `None` when the country has none (Hong Kong).
    pub const fn trunk_prefix(self) -> Option<&'static str> {
        self.0.trunk.as_str()
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country(+{})", self.0.code)
    }
}

impl TryFrom<u16> for Country {
    type Error = PhoneError;

    /// Same as [`Country::from_calling_code`], with [`PhoneError::UnknownCountryCode`] for a
    /// code that is not assigned.
    fn try_from(code: u16) -> Result<Country, PhoneError> {
        Country::from_calling_code(code).ok_or_else(|| PhoneError::UnknownCountryCode {
            input: format!("+{code}"),
            prefix: code.to_string(),
        })
    }
}

impl From<Country> for u16 {
    fn from(country: Country) -> u16 {
        country.0.code
    }
}

/// Why a phone number was refused.
///
/// Every message names the input (at most 64 characters of it) and says what to fix, in
/// words meant for the person who keeps the customer list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum PhoneError {
    /// No digit at all: an empty or blank cell, or only separators and `+`.
    #[error("phone number is empty: it has no digits")]
    Empty,

    /// A character that cannot be part of a phone number: a letter, a symbol, or (for
    /// [`Phone::from_e164_digits`]) anything but an ASCII digit.
    #[error("number {} has an invalid character {} at position {position}", quote(input), quote_char(*ch))]
    InvalidCharacter {
        /// The input (at most 64 characters of it).
        input: String,
        /// The character.
        ch: char,
        /// Where it is, counting characters from 1.
        position: usize,
    },

    /// An extension marker (`ext.`, `x`, `#`, `;ext=`, `доб.`, `ต่อ`, `轉`, `分機`) after
    /// the number that is not followed by 1 to 8 digits and nothing else.
    #[error(
        "number {} has an extension marker at position {position} that is not followed by \
         1 to 8 digits: write the extension as digits (ext. 12) or remove it",
        quote(input)
    )]
    Extension {
        /// The input (at most 64 characters of it).
        input: String,
        /// Where the extension marker starts, counting characters from 1.
        position: usize,
    },

    /// A `+` after a digit, or a second `+`.
    #[error(
        "number {} has a + at position {position}: a + may only come once, before \
         the country code (one number per cell)",
        quote(input)
    )]
    MisplacedPlus {
        /// The input (at most 64 characters of it).
        input: String,
        /// Where the misplaced `+` is, counting characters from 1.
        position: usize,
    },

    /// Digits without `+` or `00`, no default country, and not a valid number when read with
    /// a country code in front.
    #[error(
        "number {} has no country code: write it with the country code, e.g. \
         85291234567, or set a default country",
        quote(input)
    )]
    NoCountryCode {
        /// The input (at most 64 characters of it).
        input: String,
    },

    /// The digits after `+` or `00` (or of the canonical form) do not begin with an assigned
    /// country calling code.
    #[error(
        "number {} does not start with a valid country code: {prefix} is not a country code",
        quote(input)
    )]
    UnknownCountryCode {
        /// The input (at most 64 characters of it).
        input: String,
        /// The shortest leading digits that no assigned code begins with (`999`, `28`, `0`),
        /// or all the digits when there are too few to hold a code.
        prefix: String,
    },

    /// The national number begins with digits that no number of that country begins with.
    #[error(
        "number {} is not valid for {}: no number there starts with {prefix} after the \
         country code", quote(input),
        Place(*country_code)
    )]
    InvalidPrefix {
        /// The input (at most 64 characters of it).
        input: String,
        /// The country code the number was read with.
        country_code: u16,
        /// The shortest leading digits of the national number that no valid number begins
        /// with.
        prefix: String,
    },

    /// The national number has fewer digits than any number of that country (with those
    /// leading digits).
    #[error(
        "number {} is too short for {}: {} after the country code, at least {min} \
         are needed", quote(input),
        Place(*country_code),
        Digits(*digits)
    )]
    TooShort {
        /// The input (at most 64 characters of it).
        input: String,
        /// The country code the number was read with.
        country_code: u16,
        /// How many digits the national number has.
        digits: usize,
        /// The fewest it may have.
        min: usize,
    },

    /// The national number has more digits than any number of that country (with those
    /// leading digits), or the whole number would have more than 15.
    #[error(
        "number {} is too long for {}: {} after the country code, at most {max} are \
         allowed", quote(input),
        Place(*country_code),
        Digits(*digits)
    )]
    TooLong {
        /// The input (at most 64 characters of it).
        input: String,
        /// The country code the number was read with.
        country_code: u16,
        /// How many digits the national number has.
        digits: usize,
        /// The most it may have.
        max: usize,
    },

    /// A number without country code that is valid in several of the expected countries.
    #[error(
        "number {} fits more than one expected country: {}; write it with its country code \
         ({}), or give the row's country",
        quote(input),
        Readings(candidates, " and "),
        Codes(candidates)
    )]
    AmbiguousCountry {
        /// The input (at most 64 characters of it).
        input: String,
        /// The number in each country where it is valid.
        candidates: Vec<Phone>,
    },

    /// A number without country code that is valid in none of the expected countries: why
    /// not in each, and the covered countries where it would be valid as written.
    #[error(
        "number {} is not valid in {}: {}{}",
        quote(input),
        if tried.len() == 1 { "the expected country" } else { "any expected country" },
        Tried(tried),
        Suggest(suggestions)
    )]
    NotInExpectedCountries {
        /// The input (at most 64 characters of it).
        input: String,
        /// Each expected country's reason ([`PhoneError::InvalidPrefix`],
        /// [`PhoneError::TooShort`], [`PhoneError::TooLong`],
        /// [`PhoneError::MissingAreaCode`]).
        tried: Vec<PhoneError>,
        /// The number in each covered country (not expected) where it is valid as written.
        suggestions: Vec<Phone>,
    },

    /// A fixed-line number written without its area code (`2345 6789` in Taipei).
    #[error(
        "number {} is missing its area code for {}: {} is a local number there; write the \
         area code in front ({})",
        quote(input),
        Place(*country_code),
        AreaDigits(*country_code),
        AreaHint(*country_code)
    )]
    MissingAreaCode {
        /// The input (at most 64 characters of it).
        input: String,
        /// The country code the number was read with.
        country_code: u16,
    },

    /// Country letters in front (`HK`) that name another country than the country code
    /// after `+`.
    #[error(
        "number {} is marked as {} but its country code is +{country_code}: fix one of them",
        quote(input),
        Place(*letters_code)
    )]
    CountryMismatch {
        /// The input (at most 64 characters of it).
        input: String,
        /// The calling code of the country in letters.
        letters_code: u16,
        /// The country code after `+`.
        country_code: u16,
    },
}

/// "886912345678 in Taiwan (+886)" for each phone, joined by `sep`.
struct Readings<'a>(&'a [Phone], &'static str);

impl fmt::Display for Readings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, phone) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(if i + 1 == self.0.len() { self.1 } else { ", " })?;
            }
            write!(f, "{phone} in {}", Place(phone.country_code()))?;
        }
        Ok(())
    }
}

/// "+886 or +66".
struct Codes<'a>(&'a [Phone]);

impl fmt::Display for Codes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, phone) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(if i + 1 == self.0.len() { " or " } else { ", " })?;
            }
            write!(f, "+{}", phone.country_code())?;
        }
        Ok(())
    }
}

/// Each expected country's reason, briefly.
struct Tried<'a>(&'a [PhoneError]);

impl fmt::Display for Tried<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match error {
                PhoneError::InvalidPrefix {
                    country_code,
                    prefix,
                    ..
                } => write!(
                    f,
                    "as a number of {} it would start with {prefix}, which no number there does",
                    Place(*country_code)
                )?,
                PhoneError::TooShort {
                    country_code,
                    digits,
                    min,
                    ..
                } => write!(
                    f,
                    "as a number of {} it has {} after the country code, at least {min} are needed",
                    Place(*country_code),
                    Digits(*digits)
                )?,
                PhoneError::TooLong {
                    country_code,
                    digits,
                    max,
                    ..
                } => write!(
                    f,
                    "as a number of {} it has {} after the country code, at most {max} are allowed",
                    Place(*country_code),
                    Digits(*digits)
                )?,
                PhoneError::MissingAreaCode { country_code, .. } => write!(
                    f,
                    "as a number of {} it misses the area code ({})",
                    Place(*country_code),
                    AreaHint(*country_code)
                )?,
                other => write!(f, "{other}")?,
            }
        }
        Ok(())
    }
}

/// The suggestion of a [`PhoneError::NotInExpectedCountries`], if any.
struct Suggest<'a>(&'a [Phone]);

impl fmt::Display for Suggest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(
            f,
            "; as written it is valid as {}: add that country to the expected countries or \
             write the number with its country code",
            Readings(self.0, " or as ")
        )
    }
}

/// "8 digits": the length of a local number without area code.
struct AreaDigits(u16);

impl fmt::Display for AreaDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match plan(self.0).and_then(|p| p.area) {
            Some((n, _)) => write!(f, "{}", Digits(usize::from(n))),
            None => f.write_str("this"),
        }
    }
}

/// "02 for Taipei".
struct AreaHint(u16);

impl fmt::Display for AreaHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match plan(self.0).and_then(|p| p.area) {
            Some((_, hint)) => f.write_str(hint),
            None => f.write_str("its area code"),
        }
    }
}

/// Normalises one phone number as typed in a customer list to its E.164 digits.
///
/// `default_country` is the country of numbers written without country code; `None` when the
/// list must carry country codes. The same as [`normalize_phone_in`] with that one country
/// (or none): the [module documentation](self) says exactly what is accepted, how the
/// digits are read and what is validated. An extension is split off and dropped
/// ([`read_phone`] returns it). Allocates only on error.
///
/// ```
/// use audience::phone::{normalize_phone, Country, PhoneError};
///
/// let ru = Some(Country::RU);
/// assert_eq!(normalize_phone("8 (912) 345-67-89", ru)?.to_string(), "79123456789");
/// assert_eq!(normalize_phone("+7 912 345 67 89", None)?.to_string(), "79123456789");
/// assert_eq!(normalize_phone("９１２３ ４５６７", Some(Country::HK))?.to_string(), "85291234567");
/// // Digits that already start with the default country's code are read as international.
/// assert_eq!(normalize_phone("85291234567", Some(Country::HK))?.to_string(), "85291234567");
/// // A label in front and an extension behind are taken off.
/// assert_eq!(normalize_phone("Tel. +852 9123 4567 ext. 12", None)?.to_string(), "85291234567");
/// assert_eq!(
///     normalize_phone("0912 345 67", Some(Country::TW)).unwrap_err().to_string(),
///     "number \"0912 345 67\" is too short for Taiwan (+886): 8 digits after the country \
///      code, at least 9 are needed",
/// );
/// # Ok::<(), PhoneError>(())
/// ```
pub fn normalize_phone(raw: &str, default_country: Option<Country>) -> Result<Phone, PhoneError> {
    match default_country {
        Some(country) => normalize_phone_in(raw, &[country]),
        None => normalize_phone_in(raw, &[]),
    }
}

/// Reads `digits` as country code and national number, dropping a trunk prefix `0` after the
/// code.
fn international(digits: Num<'_>) -> Result<Read, Fault> {
    let (info, mut rest) = split_country(digits)?;
    if info.trunk == Trunk::Zero
        && let Some(stripped) = rest.strip_prefix(&[0])
    {
        rest = stripped;
    }
    let kind = check_national(info, rest)?;
    compose(info.code, rest).map(|phone| Read { phone, kind })
}

/// Reads `digits` as a national number of `info`'s country.
fn national(info: CodeInfo, digits: Num<'_>) -> Result<Read, Fault> {
    if let Some(stripped) = digits.strip_prefix(info.trunk.digits())
        && stripped.len() < digits.len()
    {
        return match check_national(info, stripped) {
            Ok(kind) => compose(info.code, stripped).map(|phone| Read { phone, kind }),
            // Russia's national numbers may begin with its trunk prefix 8 (800 toll-free):
            // there, the whole digits are tried too. Elsewhere they never do, or (for the
            // generic rule) nothing would stop a mistyped number from passing that way.
            Err(fault) if plan(info.code).is_some() => match check_national(info, digits) {
                Ok(kind) => compose(info.code, digits).map(|phone| Read { phone, kind }),
                Err(_) => Err(fault),
            },
            Err(fault) => Err(fault),
        };
    }
    let kind = check_national(info, digits)?;
    compose(info.code, digits).map(|phone| Read { phone, kind })
}

/// [`national`] without the reason.
fn national_ok(info: CodeInfo, digits: Num<'_>) -> Option<Read> {
    let read = |national: Num<'_>| {
        let kind = check_fast(info, national)?;
        compose(info.code, national)
            .ok()
            .map(|phone| Read { phone, kind })
    };
    if let Some(stripped) = digits.strip_prefix(info.trunk.digits())
        && stripped.len() < digits.len()
    {
        return match read(stripped) {
            Some(found) => Some(found),
            None if plan(info.code).is_some() => read(digits),
            None => None,
        };
    }
    read(digits)
}

/// [`international`] without the reason.
fn international_ok(digits: Num<'_>) -> Option<Read> {
    let (info, mut rest) = split_country(digits).ok()?;
    if info.trunk == Trunk::Zero
        && let Some(stripped) = rest.strip_prefix(&[0])
    {
        rest = stripped;
    }
    let kind = check_fast(info, rest)?;
    compose(info.code, rest)
        .ok()
        .map(|phone| Read { phone, kind })
}

/// Reads the canonical form: country code and national number, nothing dropped.
fn canonical(digits: Num<'_>) -> Result<Phone, Fault> {
    let (info, rest) = split_country(digits)?;
    check_national(info, rest)?;
    compose(info.code, rest)
}

/// A number read one way: the phone and its line type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Read {
    phone: Phone,
    kind: LineType,
}

/// What went wrong, without the input: cheap to build, turned into a [`PhoneError`] (which
/// allocates) only at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    InvalidCharacter {
        ch: char,
        position: usize,
    },
    Extension {
        position: usize,
    },
    MisplacedPlus {
        position: usize,
    },
    NoCountryCode,
    UnknownCountryCode(Head),
    InvalidPrefix {
        code: u16,
        prefix: Head,
    },
    TooShort {
        code: u16,
        digits: usize,
        min: usize,
    },
    TooLong {
        code: u16,
        digits: usize,
        max: usize,
    },
    MissingAreaCode {
        code: u16,
    },
}

impl Fault {
    fn into_error(self, raw: &str) -> PhoneError {
        let input = || raw.chars().take(INPUT_KEPT).collect::<String>();
        match self {
            Fault::InvalidCharacter { ch, position } => PhoneError::InvalidCharacter {
                input: input(),
                ch,
                position,
            },
            Fault::Extension { position } => PhoneError::Extension {
                input: input(),
                position,
            },
            Fault::MisplacedPlus { position } => PhoneError::MisplacedPlus {
                input: input(),
                position,
            },
            Fault::NoCountryCode => PhoneError::NoCountryCode { input: input() },
            Fault::UnknownCountryCode(prefix) => PhoneError::UnknownCountryCode {
                input: input(),
                prefix: prefix.to_string(),
            },
            Fault::InvalidPrefix { code, prefix } => PhoneError::InvalidPrefix {
                input: input(),
                country_code: code,
                prefix: prefix.to_string(),
            },
            Fault::TooShort { code, digits, min } => PhoneError::TooShort {
                input: input(),
                country_code: code,
                digits,
                min,
            },
            Fault::TooLong { code, digits, max } => PhoneError::TooLong {
                input: input(),
                country_code: code,
                digits,
                max,
            },
            Fault::MissingAreaCode { code } => PhoneError::MissingAreaCode {
                input: input(),
                country_code: code,
            },
        }
    }
}

/// Up to four leading digits, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    digits: [u8; 4],
    len: usize,
}

impl Head {
    fn new(digits: &[u8]) -> Head {
        let mut head = Head {
            digits: [0; 4],
            len: 0,
        };
        for (slot, &d) in head.digits.iter_mut().zip(digits) {
            *slot = d;
            head.len += 1;
        }
        head
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &d in self.digits.iter().take(self.len) {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// "Hong Kong (+852)" for a covered country, "country code +44" for the others.
struct Place(u16);

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match plan(self.0) {
            Some(plan) => write!(f, "{} (+{})", plan.name, self.0),
            None => write!(f, "country code +{}", self.0),
        }
    }
}

/// "1 digit", "8 digits".
struct Digits(usize);

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 digit"),
            n => write!(f, "{n} digits"),
        }
    }
}

/// Digit values collected from the input, with a count of those that did not fit.
#[derive(Clone, Copy)]
struct DigitBuf {
    buf: [u8; BUF_LEN],
    stored: usize,
    extra: usize,
}

impl DigitBuf {
    fn new() -> DigitBuf {
        DigitBuf {
            buf: [0; BUF_LEN],
            stored: 0,
            extra: 0,
        }
    }

    fn push(&mut self, digit: u8) {
        match self.buf.get_mut(self.stored) {
            Some(slot) => {
                *slot = digit;
                self.stored += 1;
            }
            None => self.extra = self.extra.saturating_add(1),
        }
    }

    fn num(&self) -> Num<'_> {
        Num {
            digits: self.buf.get(..self.stored).unwrap_or(&[]),
            extra: self.extra,
        }
    }
}

/// A run of digits: the stored ones, then `extra` more that were only counted. Only a number
/// too long for any reading has `extra > 0`, and its leading digits are all stored.
#[derive(Clone, Copy, Debug)]
struct Num<'a> {
    digits: &'a [u8],
    extra: usize,
}

impl<'a> Num<'a> {
    fn len(self) -> usize {
        self.digits.len().saturating_add(self.extra)
    }

    fn strip_prefix(self, prefix: &[u8]) -> Option<Num<'a>> {
        // A loop, not `<[u8]>::strip_prefix`: prefixes are a few digits, and a call to
        // `memcmp` for each was a third of the time of reading against three countries.
        if self.digits.len() < prefix.len() || !self.digits.iter().zip(prefix).all(|(a, b)| a == b)
        {
            return None;
        }
        Some(Num {
            digits: self.digits.get(prefix.len()..)?,
            extra: self.extra,
        })
    }
}

/// The result of scanning the input: its digits, whether a `+` came before them, a country
/// written in letters in front, and an extension behind.
struct Scanned {
    digits: DigitBuf,
    plus: bool,
    letters: Option<Country>,
    extension: Option<Extension>,
}

/// Collects the digits, drops separators, a leading label and country letters, splits off
/// an extension, and finds the first character problem.
fn scan(raw: &str) -> Result<Scanned, Fault> {
    let mut out = Scanned {
        digits: DigitBuf::new(),
        plus: false,
        letters: None,
        extension: None,
    };
    let mut skip_to = 0;
    let mut seen_digit = false;
    let mut label_done = false;
    for (index, (offset, ch)) in raw.char_indices().enumerate() {
        if offset < skip_to {
            continue;
        }
        let position = index.saturating_add(1);
        let rest = raw.get(offset..).unwrap_or("");
        if let Some(d) = digit_value(ch) {
            out.digits.push(d);
            seen_digit = true;
        } else if is_separator(ch) {
            continue;
        } else if ch == '+' || ch == '\u{FF0B}' {
            if seen_digit || out.plus {
                return Err(Fault::MisplacedPlus { position });
            }
            out.plus = true;
        } else if is_tilde(ch)
            && !out.plus
            && out.digits.num().digits == [8]
            && then_10(rest.get(ch.len_utf8()..).unwrap_or(""))
        {
            // Russia's and Kazakhstan's `8~10`: the tilde is "wait for the tone".
            continue;
        } else if seen_digit {
            match extension_marker(rest) {
                Some(marker) => {
                    let after = rest.get(marker..).unwrap_or("");
                    out.extension =
                        Some(Extension::parse(after).ok_or(Fault::Extension { position })?);
                    return Ok(out);
                }
                None => return Err(Fault::InvalidCharacter { ch, position }),
            }
        } else if !out.plus
            && !label_done
            && let Some(len) = label_len(rest)
        {
            label_done = true;
            skip_to = offset.saturating_add(len);
        } else if !out.plus
            && out.letters.is_none()
            && let Some((country, len)) = letters(rest)
        {
            label_done = true;
            out.letters = Some(country);
            skip_to = offset.saturating_add(len);
        } else {
            return Err(Fault::InvalidCharacter { ch, position });
        }
    }
    Ok(out)
}

/// A tilde as written in `8~10`: ASCII, full-width or the wave dash.
fn is_tilde(ch: char) -> bool {
    matches!(ch, '~' | '\u{FF5E}' | '\u{301C}')
}

/// Whether the next digits of `rest`, past separators, are `1` and `0`.
fn then_10(rest: &str) -> bool {
    let mut digits = rest
        .chars()
        .filter(|&ch| !is_separator(ch))
        .map(digit_value);
    digits.next() == Some(Some(1)) && digits.next() == Some(Some(0))
}

/// The value of a decimal digit in one of the accepted scripts.
fn digit_value(ch: char) -> Option<u8> {
    let zero = match ch {
        '0'..='9' => '0',
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}', // full-width
        '\u{0660}'..='\u{0669}' => '\u{0660}', // Arabic-Indic
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}', // Eastern Arabic-Indic
        '\u{0E50}'..='\u{0E59}' => '\u{0E50}', // Thai
        _ => return None,
    };
    u8::try_from(u32::from(ch) - u32::from(zero)).ok()
}

/// Characters dropped wherever they are: white space, invisible formatting, dashes, dots,
/// parentheses, brackets and slashes.
fn is_separator(ch: char) -> bool {
    ch.is_whitespace()
        || matches!(
            ch,
            // invisible formatting
            '\u{00AD}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
                // dashes
                | '-'
                | '\u{2010}'..='\u{2015}'
                | '\u{2212}'
                | '\u{30FC}'
                | '\u{FE58}'
                | '\u{FE63}'
                | '\u{FF0D}'
                // dots
                | '.'
                | '\u{FF0E}'
                // parentheses and brackets
                | '('
                | ')'
                | '['
                | ']'
                | '\u{FF08}'
                | '\u{FF09}'
                | '\u{FF3B}'
                | '\u{FF3D}'
                // slashes
                | '/'
                | '\u{FF0F}'
        )
}

/// Splits off the country code.
fn split_country(digits: Num<'_>) -> Result<(CodeInfo, Num<'_>), Fault> {
    for code_len in 1..=3 {
        let Some(head) = digits.digits.get(..code_len) else {
            break;
        };
        if head.first() == Some(&0) {
            break;
        }
        let code = head.iter().fold(0u16, |acc, &d| acc * 10 + u16::from(d));
        if let Some(info) = lookup(code) {
            let rest = Num {
                digits: digits.digits.get(code_len..).unwrap_or(&[]),
                extra: digits.extra,
            };
            return Ok((info, rest));
        }
    }
    // The shortest head that no assigned code begins with; all the digits when they run out
    // first (codes form a prefix code, so three digits always decide).
    let mut unknown = Head::new(digits.digits.get(..3).unwrap_or(digits.digits));
    for code_len in 1..=3 {
        let Some(head) = digits.digits.get(..code_len) else {
            break;
        };
        if !CODES.iter().any(|info| {
            let (buf, len) = decimal_digits(u64::from(info.code));
            buf.get(buf.len().saturating_sub(len)..)
                .is_some_and(|code| code.starts_with(head))
        }) {
            unknown = Head::new(head);
            break;
        }
    }
    Err(Fault::UnknownCountryCode(unknown))
}

/// Checks a national number against its country's rules (see the module documentation) and
/// says what kind of line it is.
fn check_national(info: CodeInfo, national: Num<'_>) -> Result<LineType, Fault> {
    if let Some(kind) = check_fast(info, national) {
        return Ok(kind);
    }
    let n = national.len();
    let code = info.code;
    let Some(plan) = plan(code) else {
        // Where dialling at home puts a trunk prefix in front, national numbers do not begin
        // with 0 (nor with 1 behind a trunk prefix 1).
        if let Some(&d) = national.digits.first()
            && ((d == 0 && info.trunk != Trunk::None) || (d == 1 && info.trunk == Trunk::One))
        {
            return Err(Fault::InvalidPrefix {
                code,
                prefix: Head::new(&[d]),
            });
        }
        return check_length(code, n, usize::from(info.min), usize::from(info.max))
            .map(|()| LineType::Unknown);
    };
    let mut fits_any = false;
    let mut min = usize::MAX;
    let mut max = 0;
    for rule in plan.rules {
        let fit = rule.fit(national.digits);
        if fit == Fit::No {
            continue;
        }
        fits_any = true;
        let (lo, hi) = (usize::from(rule.min), usize::from(rule.max));
        if fit == Fit::Full && (lo..=hi).contains(&n) {
            return Ok(rule.kind);
        }
        min = min.min(lo);
        max = max.max(hi);
    }
    if !fits_any {
        // The shortest head that fits no rule (fitting depends on four digits at most).
        let mut prefix = Head::new(national.digits);
        for len in 1..=4 {
            let Some(head) = national.digits.get(..len) else {
                break;
            };
            if plan.rules.iter().all(|rule| rule.fit(head) == Fit::No) {
                prefix = Head::new(head);
                break;
            }
        }
        return Err(Fault::InvalidPrefix { code, prefix });
    }
    // Lengths allowed for a prefix form one range (a unit test checks this), so a length
    // inside `min..=max` has passed above.
    check_length(code, n, min, max).map(|()| LineType::Unknown)
}

/// [`check_national`] without the reason: the line type of a valid national number.
fn check_fast(info: CodeInfo, national: Num<'_>) -> Option<LineType> {
    let n = national.len();
    match plan(info.code) {
        Some(plan) => plan
            .rules
            .iter()
            .find(|rule| {
                (usize::from(rule.min)..=usize::from(rule.max)).contains(&n)
                    && rule.fit(national.digits) == Fit::Full
            })
            .map(|rule| rule.kind),
        None => {
            let first = national.digits.first().copied();
            let bad_lead = (first == Some(0) && info.trunk != Trunk::None)
                || (first == Some(1) && info.trunk == Trunk::One);
            (!bad_lead && (usize::from(info.min)..=usize::from(info.max)).contains(&n))
                .then_some(LineType::Unknown)
        }
    }
}

fn check_length(code: u16, digits: usize, min: usize, max: usize) -> Result<(), Fault> {
    if digits < min {
        Err(Fault::TooShort { code, digits, min })
    } else if digits > max {
        Err(Fault::TooLong { code, digits, max })
    } else {
        Ok(())
    }
}

/// The phone for a country code and a national number that passed [`check_national`].
fn compose(code: u16, national: Num<'_>) -> Result<Phone, Fault> {
    let too_long = || Fault::TooLong {
        code,
        digits: national.len(),
        max: MAX_DIGITS.saturating_sub(decimal_len(u64::from(code))),
    };
    if national.extra > 0 || decimal_len(u64::from(code)) + national.digits.len() > MAX_DIGITS {
        return Err(too_long());
    }
    national
        .digits
        .iter()
        .try_fold(u64::from(code), |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d))
        })
        .map(Phone)
        .ok_or_else(too_long)
}

/// The decimal digits of `value`, right-aligned in the buffer, and how many there are.
fn decimal_digits(mut value: u64) -> ([u8; 20], usize) {
    let mut buf = [0u8; 20];
    let mut len = 0;
    for slot in buf.iter_mut().rev() {
        *slot = (value % 10) as u8;
        value /= 10;
        len += 1;
        if value == 0 {
            break;
        }
    }
    (buf, len)
}

/// How many decimal digits `value` has (1 for 0).
fn decimal_len(value: u64) -> usize {
    decimal_digits(value).1
}

mod read;
mod rules;
mod table;

use read::*;
pub use read::{Extension, LineType, ParsedPhone, Reading, normalize_phone_in, read_phone};
use rules::*;
use table::*;

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn code_digits(code: u16) -> Vec<u8> {
        code.to_string().bytes().map(|b| b - b'0').collect()
    }

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn code_table_is_sorted_and_prefix_free() {
        assert_eq!(CODES.len(), 215);
        for pair in CODES.windows(2) {
            assert!(pair[0].code < pair[1].code, "{pair:?}");
        }
        for a in &CODES {
            for b in &CODES {
                if a.code != b.code {
                    assert!(
                        !code_digits(b.code).starts_with(&code_digits(a.code)),
                        "{a:?} {b:?}"
                    );
                }
            }
            assert!((1..=999).contains(&a.code));
            let room = MAX_DIGITS - code_digits(a.code).len();
            assert!(
                a.min >= 4 && a.min <= a.max && usize::from(a.max) <= room,
                "{a:?}"
            );
        }
        // Every three-digit head is decided: a code, or a head no code begins with.
        for head in 0..1000u16 {
            let d = digits(&format!("{head:03}"));
            let found = split_country(Num {
                digits: &d,
                extra: 0,
            });
            assert!(found.is_ok() || matches!(found, Err(Fault::UnknownCountryCode(_))));
        }
    }

    #[test]
    fn constants_match_the_table() {
        let all = [
            Country::HK,
            Country::TW,
            Country::CN,
            Country::TH,
            Country::RU,
            Country::SA,
            Country::AE,
        ];
        for country in all {
            assert_eq!(
                Country::from_calling_code(country.calling_code()),
                Some(country)
            );
            assert!(plan(country.calling_code()).is_some());
        }
        let with_plan = (0..=999).filter(|&code| plan(code).is_some()).count();
        assert_eq!(with_plan, all.len());
    }

    /// For any leading digits, the lengths the rules allow form one range: `check_national`
    /// relies on it for its error, and every length in that range passes.
    #[test]
    fn plan_lengths_are_contiguous_and_fit_e164() {
        for code in (0..=999).filter(|&code| plan(code).is_some()) {
            let rules = plan(code).unwrap().rules;
            let room = MAX_DIGITS - code_digits(code).len();
            for rule in rules {
                assert!(
                    rule.min > rule.width && rule.min <= rule.max,
                    "{code} {rule:?}"
                );
                assert!(usize::from(rule.max) <= room, "{code} {rule:?}");
            }
            for head in 0..10_000u32 {
                let head = digits(&format!("{head:04}"));
                let lengths: Vec<usize> = (4..=room)
                    .filter(|&n| {
                        let mut national = head.clone();
                        national.resize(n, 0);
                        check_national(
                            lookup(code).unwrap(),
                            Num {
                                digits: &national,
                                extra: 0,
                            },
                        )
                        .is_ok()
                    })
                    .collect();
                if let (Some(first), Some(last)) = (lengths.first(), lengths.last()) {
                    assert_eq!(
                        lengths.len(),
                        last - first + 1,
                        "{code} {head:?} {lengths:?}"
                    );
                }
            }
        }
    }

    /// Digits that start with the default country's code and are valid both as international
    /// and as national: the module documentation says which, and this finds them all.
    #[test]
    fn ambiguous_readings_are_the_documented_ones() {
        let mut found = Vec::new();
        for code in (0..=999).filter(|&code| plan(code).is_some()) {
            let info = lookup(code).unwrap();
            let cc = code_digits(code);
            let mut all = [0u8; MAX_DIGITS];
            all[..cc.len()].copy_from_slice(&cc);
            for head in 0..10_000u32 {
                let head = digits(&format!("{head:04}"));
                all[cc.len()..cc.len() + 4].copy_from_slice(&head);
                for n in 1..=MAX_DIGITS - cc.len() {
                    // The national part: `head`, cut or padded with zeros to `n` digits.
                    let num = Num {
                        digits: &all[..cc.len() + n],
                        extra: 0,
                    };
                    if international(num).is_ok() && national(info, num).is_ok() {
                        let key = (code, n, head[..3.min(n)].to_vec());
                        if !found.contains(&key) {
                            found.push(key);
                        }
                    }
                }
            }
        }
        assert_eq!(found, vec![(971, 5, vec![8, 0, 0])]);
    }

    #[test]
    fn digit_scripts_and_separators() {
        for (zero, nine) in [('0', '9'), ('０', '９'), ('٠', '٩'), ('۰', '۹'), ('๐', '๙')]
        {
            assert_eq!(digit_value(zero), Some(0));
            assert_eq!(digit_value(nine), Some(9));
        }
        assert_eq!(digit_value('a'), None);
        assert_eq!(digit_value('²'), None);
        for sep in [
            ' ', '\u{a0}', '\u{3000}', '\t', '-', '–', '—', '−', '.', '(', ')', '/', '\u{200e}',
        ] {
            assert!(is_separator(sep), "{sep:?}");
        }
        for other in ['+', '#', 'x', ',', ';', '*', '~', '_'] {
            assert!(!is_separator(other), "{other:?}");
        }
    }

    #[test]
    fn phone_parts() {
        let p = Phone::from_u64(390612345678).unwrap();
        assert_eq!((p.country_code(), p.national_number()), (39, 612345678));
        let p = Phone::from_u64(79123456789).unwrap();
        assert_eq!((p.country_code(), p.national_number()), (7, 9123456789));
        let p = Phone::from_u64(12125550100).unwrap();
        assert_eq!((p.country_code(), p.national_number()), (1, 2125550100));
    }
}
