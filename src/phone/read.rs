//! Reading a number against a set of expected countries: decorations (labels, country
//! letters, extensions), international dialling prefixes, the order of the readings, and
//! what a number read is ([`ParsedPhone`]: line type, reading, extension).

use super::*;

/// What kind of line a number is, as far as its leading digits tell (for the covered
/// countries; [`LineType::Unknown`] under the generic rule).
///
/// WhatsApp and LINE reach mobiles: the importer warns about a fixed line, a toll-free
/// and a shared-cost number (see [`LineType::is_mobile_unlikely`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum LineType {
    /// A mobile number.
    Mobile,
    /// A fixed line (landline).
    FixedLine,
    /// A toll-free number (`800` ranges).
    TollFree,
    /// A shared-cost or unified number (China's `400`, Saudi Arabia's `920`, the UAE's `600`).
    SharedCost,
    /// Internet telephony (Taiwan's `70`).
    Voip,
    /// A pager (Hong Kong's `71`-`79`).
    Pager,
    /// A personal number that follows its owner (Hong Kong's `81`-`83`).
    PersonalNumber,
    /// Not known: a country under the generic rule, or a range whose use is mixed.
    Unknown,
}

impl LineType {
    /// Whether the number is one that messaging apps almost never reach: a fixed line, a
    /// toll-free or a shared-cost number.
    ///
    /// ```
    /// use audience::phone::{read_phone, Country, LineType};
    ///
    /// let landline = read_phone("2123 4567", &[Country::HK])?;
    /// assert_eq!(landline.line_type, LineType::FixedLine);
    /// assert!(landline.line_type.is_mobile_unlikely());
    /// assert!(!read_phone("9123 4567", &[Country::HK])?.line_type.is_mobile_unlikely());
    /// # Ok::<(), audience::phone::PhoneError>(())
    /// ```
    pub const fn is_mobile_unlikely(self) -> bool {
        matches!(
            self,
            LineType::FixedLine | LineType::TollFree | LineType::SharedCost
        )
    }
}

impl fmt::Display for LineType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineType::Mobile => "mobile",
            LineType::FixedLine => "fixed line",
            LineType::TollFree => "toll-free",
            LineType::SharedCost => "shared-cost",
            LineType::Voip => "VoIP",
            LineType::Pager => "pager",
            LineType::PersonalNumber => "personal number",
            LineType::Unknown => "line type unknown",
        })
    }
}

/// How the digits of a number were read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reading {
    /// With `+` or `00` in front: country code first.
    International,
    /// The digits begin with a country code, without `+`: the canonical format, or digits
    /// that begin with an expected country's own code.
    CountryCode,
    /// The digits begin with the calling code of a country that is not expected and are
    /// valid that way, while no national reading is (`(852) 5653 0010` in a Thai list):
    /// the importer reports it.
    OtherCountryCode,
    /// Dialled from `from` with that country's international prefix (`002` from Taiwan,
    /// `8 10` from Russia).
    DiallingPrefix {
        /// The country whose prefix it is.
        from: Country,
        /// The prefix's digits.
        prefix: &'static str,
    },
    /// A national number of this expected country.
    National(Country),
    /// A national number of the country written in letters in front (`HK 9123 4567`).
    CountryLetters(Country),
}

/// An extension split off a number (`ext. 12`, `#12`, `доб. 12`, `ต่อ 12`, `轉 12`): its
/// digits, at most [`Extension::MAX_DIGITS`], in ASCII.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Extension {
    digits: [u8; Extension::MAX_DIGITS],
    len: u8,
}

impl Extension {
    /// The most digits an extension has.
    pub const MAX_DIGITS: usize = 8;

    /// The digits, in ASCII: `"12"`.
    pub fn as_str(&self) -> &str {
        let digits = self.digits.get(..usize::from(self.len)).unwrap_or(&[]);
        std::str::from_utf8(digits).unwrap_or("")
    }

    /// Reads what follows an extension marker: optional `.`, `:`, `=` and white space, then
    /// 1 to [`Extension::MAX_DIGITS`] digits, then only white space.
    pub(super) fn parse(after: &str) -> Option<Extension> {
        let mut ext = Extension {
            digits: [0; Extension::MAX_DIGITS],
            len: 0,
        };
        let mut chars = after
            .trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, '.' | ':' | '：' | '=' | '．')
            })
            .chars();
        for ch in chars.by_ref() {
            match digit_value(ch) {
                Some(d) => {
                    let slot = ext.digits.get_mut(usize::from(ext.len))?;
                    *slot = b'0' + d;
                    ext.len += 1;
                }
                None if ch.is_whitespace() => break,
                None => return None,
            }
        }
        (ext.len > 0 && chars.all(char::is_whitespace)).then_some(ext)
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extension({:?})", self.as_str())
    }
}

/// A number as [`read_phone`] read it: the phone, how it was read, its line type and its
/// extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ParsedPhone {
    /// The number in E.164 form.
    pub phone: Phone,
    /// The extension written after it, if any.
    pub extension: Option<Extension>,
    /// What kind of line it is.
    pub line_type: LineType,
    /// How its digits were read.
    pub read_as: Reading,
}

/// Normalises one phone number of a list whose numbers come from `countries` (the
/// *expected countries*; empty when every number must carry its country code).
///
/// A national number is read against each expected country: valid in exactly one, it is
/// taken; valid in several, it is [`PhoneError::AmbiguousCountry`]; valid in none,
/// [`PhoneError::NotInExpectedCountries`] says what it would be in each (or, with one
/// expected country and no better guess, that country's own error). The
/// [module documentation](crate::phone) has the order of the readings, the dialling prefixes and
/// the decorations taken off. An extension is dropped ([`read_phone`] returns it).
///
/// ```
/// use audience::phone::{normalize_phone_in, Country, PhoneError};
///
/// let list = [Country::HK, Country::TW, Country::CN, Country::TH];
/// assert_eq!(normalize_phone_in("2345 6789", &list)?.to_string(), "85223456789");
/// assert_eq!(normalize_phone_in("138 0013 8000", &list)?.to_string(), "8613800138000");
/// assert_eq!(normalize_phone_in("002 852 9123 4567", &[Country::TW])?.to_string(), "85291234567");
/// let err = normalize_phone_in("0912 345 678", &list).unwrap_err();
/// assert!(matches!(err, PhoneError::AmbiguousCountry { .. }));
/// # Ok::<(), PhoneError>(())
/// ```
pub fn normalize_phone_in(raw: &str, countries: &[Country]) -> Result<Phone, PhoneError> {
    read_phone(raw, countries).map(|parsed| parsed.phone)
}

/// Reads one phone number as [`normalize_phone_in`] does, and says how: the extension split
/// off, the line type and the reading.
///
/// ```
/// use audience::phone::{read_phone, Country, LineType, Reading};
///
/// let parsed = read_phone("Tel. 0912-345-678 轉 123", &[Country::TW, Country::HK])?;
/// assert_eq!(parsed.phone.to_string(), "886912345678");
/// assert_eq!(parsed.extension.map(|e| e.to_string()).as_deref(), Some("123"));
/// assert_eq!(parsed.line_type, LineType::Mobile);
/// assert_eq!(parsed.read_as, Reading::National(Country::TW));
///
/// let hk = read_phone("(852) 5653 0010", &[Country::TH])?;
/// assert_eq!(hk.phone.to_string(), "85256530010");
/// assert_eq!(hk.read_as, Reading::OtherCountryCode);
/// # Ok::<(), audience::phone::PhoneError>(())
/// ```
pub fn read_phone(raw: &str, countries: &[Country]) -> Result<ParsedPhone, PhoneError> {
    let scanned = scan(raw).map_err(|fault| fault.into_error(raw))?;
    if scanned.digits.num().len() == 0 {
        return Err(PhoneError::Empty);
    }
    let (read, read_as) = resolve(raw, &scanned, countries)?;
    Ok(ParsedPhone {
        phone: read.phone,
        extension: scanned.extension,
        line_type: read.kind,
        read_as,
    })
}

/// Whether `digits` begin with the calling code `code`.
fn starts_with_code(digits: Num<'_>, code: u16) -> bool {
    let len = match code {
        100.. => 3,
        10.. => 2,
        _ => 1,
    };
    digits
        .digits
        .get(..len)
        .is_some_and(|head| head.iter().fold(0u16, |acc, &d| acc * 10 + u16::from(d)) == code)
}

/// The readings found at one step, up to four distinct numbers (more can only be
/// ambiguous, which four already show).
struct Found {
    items: [(Read, Reading); 4],
    len: usize,
}

impl Found {
    fn new() -> Found {
        let none = (
            Read {
                phone: Phone(0),
                kind: LineType::Unknown,
            },
            Reading::International,
        );
        Found {
            items: [none; 4],
            len: 0,
        }
    }

    fn found(&self) -> &[(Read, Reading)] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, read: Read, reading: Reading) {
        if self.found().iter().any(|(r, _)| r.phone == read.phone) {
            return;
        }
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = (read, reading);
            self.len += 1;
        }
    }

    /// One phone: taken. Several: ambiguous.
    fn decide(&self, raw: &str) -> Result<Option<(Read, Reading)>, PhoneError> {
        match self.found() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            several => Err(PhoneError::AmbiguousCountry {
                input: kept(raw),
                candidates: several.iter().map(|(r, _)| r.phone).collect(),
            }),
        }
    }
}

fn kept(raw: &str) -> String {
    raw.chars().take(INPUT_KEPT).collect()
}

/// The readings in order (see the module documentation).
fn resolve(
    raw: &str,
    scanned: &Scanned,
    countries: &[Country],
) -> Result<(Read, Reading), PhoneError> {
    let digits = scanned.digits.num();
    let fail = |fault: Fault| fault.into_error(raw);
    if scanned.plus {
        let read = international(digits).map_err(fail)?;
        check_letters(raw, scanned.letters, read)?;
        return Ok((read, Reading::International));
    }
    let one;
    let countries: &[Country] = match scanned.letters {
        Some(country) => {
            one = [country];
            &one
        }
        None => countries,
    };
    let national_as = |country: Country| match scanned.letters {
        Some(_) => Reading::CountryLetters(country),
        None => Reading::National(country),
    };
    if let Some(rest) = digits.strip_prefix(&[0, 0]) {
        // `00` and a country code, when valid, is what was meant (so that `00` in front of
        // any number's E.164 digits reads it back); an expected country's longer prefix
        // beginning with `00` is tried only when it is not.
        let generic = match international(rest) {
            Ok(read) => {
                check_letters(raw, scanned.letters, read)?;
                return Ok((read, Reading::International));
            }
            Err(fault) => fault,
        };
        let mut found = Found::new();
        dialled(digits, countries, &mut found);
        return match found.decide(raw)? {
            Some(read) => Ok(read),
            None => Err(fail(generic)),
        };
    }
    if countries.is_empty() {
        return international(digits)
            .map(|read| (read, Reading::CountryCode))
            .map_err(|_| fail(Fault::NoCountryCode));
    }
    // Digits that begin with an expected country's own code, valid that way.
    for &country in countries {
        if starts_with_code(digits, country.0.code)
            && let Some(read) = international_ok(digits)
            && read.phone.country_code() == country.0.code
        {
            return Ok((read, Reading::CountryCode));
        }
    }
    // National numbers as written (with the trunk prefix where the country has one, or
    // mobiles where they are written without it), and the expected countries' dialling
    // prefixes.
    let mut found = Found::new();
    for &country in countries {
        if let Some(read) = as_written(country.0, digits) {
            found.push(read, national_as(country));
        }
    }
    dialled(digits, countries, &mut found);
    if let Some(read) = found.decide(raw)? {
        return Ok(read);
    }
    // National numbers written without the trunk prefix their country has.
    for &country in countries {
        let info = country.0;
        if as_written(info, digits).is_none()
            && let Some(read) = national_ok(info, digits)
        {
            found.push(read, national_as(country));
        }
    }
    if let Some(read) = found.decide(raw)? {
        return Ok(read);
    }
    // Another country's code in front, when no national reading fits.
    if scanned.letters.is_none()
        && let Some(read) = international_ok(digits)
    {
        return Ok((read, Reading::OtherCountryCode));
    }
    Err(no_reading(raw, digits, countries))
}

/// The national reading of `digits` in `info`'s country as people there write numbers:
/// with the trunk prefix, if the country has one, except the line types written without it
/// (mainland China's mobiles, `400` and `800` numbers; Thailand's `1800`; Saudi Arabia's
/// and the UAE's `800`, `920` and `600` numbers).
fn as_written(info: CodeInfo, digits: Num<'_>) -> Option<Read> {
    let read = national_ok(info, digits)?;
    let written = info.trunk == Trunk::None
        || digits.strip_prefix(info.trunk.digits()).is_some()
        || plan(info.code).is_some_and(|plan| plan.bare.contains(&read.kind));
    written.then_some(read)
}

/// Readings through the expected countries' international dialling prefixes.
fn dialled(digits: Num<'_>, countries: &[Country], found: &mut Found) {
    for &country in countries {
        let Some(plan) = plan(country.0.code) else {
            continue;
        };
        for &prefix in plan.dialling {
            // Most prefixes differ from the digits in their first two: compared first.
            if prefix.first() != digits.digits.first() || prefix.get(1) != digits.digits.get(1) {
                continue;
            }
            if let Some(rest) = digits.strip_prefix(prefix)
                && let Some(read) = international_ok(rest)
            {
                found.push(
                    read,
                    Reading::DiallingPrefix {
                        from: country,
                        prefix: prefix_str(prefix),
                    },
                );
            }
        }
    }
}

/// A dialling prefix's digits as text.
fn prefix_str(prefix: &[u8]) -> &'static str {
    match prefix {
        [0, 0, 1] => "001",
        [0, 0, 2] => "002",
        [0, 0, 3] => "003",
        [0, 0, 4] => "004",
        [0, 0, 5] => "005",
        [0, 0, 6] => "006",
        [0, 0, 7] => "007",
        [0, 0, 8] => "008",
        [0, 0, 9] => "009",
        [0, 1, 9] => "019",
        [0, 0, 3, 0] => "0030",
        [0, 0, 5, 0] => "0050",
        [0, 0, 5, 9] => "0059",
        [0, 0, 6, 0] => "0060",
        [8, 1, 0] => "810",
        _ => "00",
    }
}

/// A country in letters in front of a number written with `+` must be the number's.
fn check_letters(raw: &str, letters: Option<Country>, read: Read) -> Result<(), PhoneError> {
    match letters {
        Some(country) if country.0.code != read.phone.country_code() => {
            Err(PhoneError::CountryMismatch {
                input: kept(raw),
                letters_code: country.0.code,
                country_code: read.phone.country_code(),
            })
        }
        _ => Ok(()),
    }
}

/// Why no reading fits: each expected country's reason, and the covered countries where
/// the number would be a valid mobile number as written (with its trunk prefix, where the
/// country has one): customer lists are lists of mobiles, so that is the likely meaning.
fn no_reading(raw: &str, digits: Num<'_>, countries: &[Country]) -> PhoneError {
    let mut tried: Vec<PhoneError> = Vec::new();
    let mut codes: Vec<u16> = Vec::new();
    for &country in countries {
        let info = country.0;
        if codes.contains(&info.code) {
            continue;
        }
        codes.push(info.code);
        let fault = match national(info, digits) {
            Ok(_) => continue,
            Err(fault) => fault,
        };
        let fault = match plan(info.code).and_then(|p| p.area) {
            Some((subscriber, _))
                if digits.len() == usize::from(subscriber)
                    && digits.strip_prefix(info.trunk.digits()).is_none() =>
            {
                Fault::MissingAreaCode { code: info.code }
            }
            _ => fault,
        };
        tried.push(fault.into_error(raw));
    }
    let mut suggestions = Vec::new();
    for code in PLANNED {
        if codes.contains(&code) {
            continue;
        }
        let Some(info) = lookup(code) else { continue };
        if let Some(read) = as_written(info, digits)
            && read.kind == LineType::Mobile
        {
            suggestions.push(read.phone);
        }
    }
    if tried.len() == 1 && suggestions.is_empty() {
        return tried.swap_remove(0);
    }
    PhoneError::NotInExpectedCountries {
        input: kept(raw),
        tried,
        suggestions,
    }
}

/// Labels taken off the front of a number (compared without case): the longest first.
const LABELS: &[&str] = &[
    "telephone",
    "whatsapp",
    "mobile",
    "phone",
    "cell",
    "tel",
    "mob",
    "телефон",
    "моб",
    "тел",
    "電話號碼",
    "手機號碼",
    "电话号码",
    "手机号码",
    "電話",
    "电话",
    "手機",
    "手机",
    "โทรศัพท์",
    "มือถือ",
    "เบอร์",
    "โทร",
    "الهاتف",
    "هاتف",
    "جوال",
];

/// Whether `a` and `b` are the same character but for case.
fn same_ci(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// The byte length of a label at the start of `rest` with what follows it (`.`, `:`,
/// white space), or `None`. A label must not run on into letters (`telex`).
pub(super) fn label_len(rest: &str) -> Option<usize> {
    for label in LABELS {
        let mut chars = rest.char_indices();
        let mut end = 0;
        let mut matched = true;
        for want in label.chars() {
            match chars.next() {
                Some((at, ch)) if same_ci(ch, want) => end = at + ch.len_utf8(),
                _ => {
                    matched = false;
                    break;
                }
            }
        }
        if !matched {
            continue;
        }
        let after = rest.get(end..).unwrap_or("");
        if after.chars().next().is_some_and(char::is_alphabetic) {
            continue;
        }
        let tail = after.trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '.' | ':' | '：' | '．' | '-')
        });
        return Some(rest.len() - tail.len());
    }
    None
}

/// A two-letter country code at the start of `rest` (`HK`, `TW`, `CN`, `TH`, `RU`, `KZ`,
/// `SA`, `AE`, any case) that does not run on into letters, with its byte length.
pub(super) fn letters(rest: &str) -> Option<(Country, usize)> {
    let head = rest.get(..2)?;
    if rest
        .get(2..)
        .and_then(|after| after.chars().next())
        .is_some_and(char::is_alphabetic)
    {
        return None;
    }
    let country = match head.to_ascii_uppercase().as_str() {
        "HK" => Country::HK,
        "TW" => Country::TW,
        "CN" => Country::CN,
        "TH" => Country::TH,
        "RU" | "KZ" => Country::RU,
        "SA" => Country::SA,
        "AE" => Country::AE,
        _ => return None,
    };
    Some((country, 2))
}

/// Extension markers (compared without case): the longest first.
const EXTENSION_MARKERS: &[&str] = &[
    ";ext=",
    "extension",
    "ext",
    "доб",
    "ต่อ",
    "分機",
    "分机",
    "內線",
    "内线",
    "轉",
    "转",
    "#",
    "＃",
    "x",
    "ｘ",
];

/// The byte length of an extension marker at the start of `rest`, or `None`.
pub(super) fn extension_marker(rest: &str) -> Option<usize> {
    for marker in EXTENSION_MARKERS {
        let mut chars = rest.char_indices();
        let mut end = 0;
        let mut matched = true;
        for want in marker.chars() {
            match chars.next() {
                Some((at, ch)) if same_ci(ch, want) => end = at + ch.len_utf8(),
                _ => {
                    matched = false;
                    break;
                }
            }
        }
        if matched {
            return Some(end);
        }
    }
    None
}
