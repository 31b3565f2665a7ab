//! Per-country rules: trunk prefixes, and for the countries our users' customers come from
//! (Hong Kong, Taiwan, mainland China, Thailand, Russia, Saudi Arabia, the UAE) the lengths
//! of national numbers by their leading digits.

use super::*;

/// A country's trunk prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Trunk {
    None,
    Zero,
    One,
    Eight,
    ZeroSix,
}

impl Trunk {
    pub(super) const fn digits(self) -> &'static [u8] {
        match self {
            Trunk::None => &[],
            Trunk::Zero => &[0],
            Trunk::One => &[1],
            Trunk::Eight => &[8],
            Trunk::ZeroSix => &[0, 6],
        }
    }

    pub(super) const fn as_str(self) -> Option<&'static str> {
        match self {
            Trunk::None => None,
            Trunk::Zero => Some("0"),
            Trunk::One => Some("1"),
            Trunk::Eight => Some("8"),
            Trunk::ZeroSix => Some("06"),
        }
    }
}

pub(super) const T_NONE: Trunk = Trunk::None;
pub(super) const T_0: Trunk = Trunk::Zero;
pub(super) const T_1: Trunk = Trunk::One;
pub(super) const T_8: Trunk = Trunk::Eight;
pub(super) const T_06: Trunk = Trunk::ZeroSix;

/// An assigned country calling code: its trunk prefix and the bounds of its national numbers'
/// length under the generic rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct CodeInfo {
    pub(super) code: u16,
    pub(super) trunk: Trunk,
    pub(super) min: u8,
    pub(super) max: u8,
}

pub(super) const fn c(code: u16, trunk: Trunk, min: u8, max: u8) -> CodeInfo {
    CodeInfo {
        code,
        trunk,
        min,
        max,
    }
}

pub(super) fn lookup(code: u16) -> Option<CodeInfo> {
    let index = CODES.binary_search_by_key(&code, |info| info.code).ok()?;
    CODES.get(index).copied()
}

/// How a national number fits a rule's leading digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fit {
    /// Its first `width` digits are in range.
    Full,
    /// It is shorter than `width` and could still be extended into range.
    Partial,
    No,
}

/// National numbers whose first `width` digits, read as a number, lie in `lo..=hi` have
/// `min..=max` digits and are of line type `kind`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rule {
    pub(super) width: u8,
    pub(super) lo: u16,
    pub(super) hi: u16,
    pub(super) min: u8,
    pub(super) max: u8,
    pub(super) kind: LineType,
}

pub(super) const fn r(width: u8, lo: u16, hi: u16, min: u8, max: u8, kind: LineType) -> Rule {
    Rule {
        width,
        lo,
        hi,
        min,
        max,
        kind,
    }
}

impl Rule {
    pub(super) fn fit(&self, national: &[u8]) -> Fit {
        let width = usize::from(self.width);
        let head = national.get(..width).unwrap_or(national);
        let value = head.iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d));
        // The range of values `head` can still grow into.
        let scale = 10u32.pow((width - head.len()) as u32);
        let first = value * scale;
        let last = first + (scale - 1);
        let (lo, hi) = (u32::from(self.lo), u32::from(self.hi));
        if last < lo || first > hi {
            Fit::No
        } else if head.len() == width {
            Fit::Full
        } else {
            Fit::Partial
        }
    }
}

/// A covered country's rules.
pub(super) struct Plan {
    pub(super) name: &'static str,
    pub(super) rules: &'static [Rule],
    /// How many digits a subscriber number of its largest city has without area code (8 in
    /// Taipei, Beijing and Shanghai; 7 in Bangkok, Moscow, Riyadh and Dubai), with an example
    /// of the area code written in front; `None` where there are no area codes (Hong Kong).
    pub(super) area: Option<(u8, &'static str)>,
    /// The international dialling prefixes of the country besides `00` (ITU, as
    /// libphonenumber 9.0.43 records them), as digits.
    pub(super) dialling: &'static [&'static [u8]],
    /// The line types written without the trunk prefix at home.
    pub(super) bare: &'static [LineType],
}

pub(super) fn plan(code: u16) -> Option<&'static Plan> {
    match code {
        852 => Some(&HONG_KONG),
        886 => Some(&TAIWAN),
        86 => Some(&CHINA),
        66 => Some(&THAILAND),
        7 => Some(&RUSSIA),
        966 => Some(&SAUDI_ARABIA),
        971 => Some(&UAE),
        _ => None,
    }
}

/// The covered countries' calling codes, in the order messages list them.
pub(super) const PLANNED: [u16; 7] = [852, 886, 86, 66, 7, 966, 971];

use LineType::{
    FixedLine as F, Mobile as M, Pager as P, PersonalNumber as N, SharedCost as S, TollFree as T,
    Unknown as U, Voip as V,
};

pub(super) static HONG_KONG: Plan = Plan {
    name: "Hong Kong",
    rules: &[
        r(1, 2, 3, 8, 8, F),     // fixed line (30: shared-cost UAN)
        r(1, 4, 6, 8, 8, M),     // mobile
        r(2, 70, 70, 8, 8, M),   // mobile
        r(2, 71, 79, 8, 8, P),   // pager
        r(3, 800, 800, 9, 9, T), // toll-free
        r(2, 81, 83, 8, 8, N),   // personal numbers
        r(2, 84, 84, 8, 8, M),   // mobile
        r(1, 8, 8, 8, 8, U),     // other 8 ranges
        r(1, 9, 9, 8, 8, M),     // mobile
    ],
    area: None,
    dialling: &[
        &[0, 0, 1],
        &[0, 0, 2],
        &[0, 0, 6],
        &[0, 0, 6, 0],
        &[0, 0, 7],
        &[0, 0, 8],
        &[0, 0, 9],
        &[0, 0, 3, 0],
        &[0, 0, 5, 0],
        &[0, 0, 5, 9],
    ],
    bare: &[],
};

pub(super) static TAIWAN: Plan = Plan {
    name: "Taiwan",
    rules: &[
        r(1, 2, 2, 9, 9, F),     // Taipei: area code 2 and 8 digits
        r(1, 3, 6, 8, 9, F),     // fixed line
        r(2, 70, 70, 10, 11, V), // VoIP
        r(2, 71, 79, 8, 8, F),   // fixed line
        r(2, 80, 80, 8, 9, T),   // toll-free
        r(2, 82, 89, 8, 9, F),   // fixed line
        r(1, 9, 9, 9, 9, M),     // mobile
    ],
    area: Some((8, "02 for Taipei")),
    dialling: &[
        &[0, 0, 2],
        &[0, 0, 5],
        &[0, 0, 6],
        &[0, 0, 7],
        &[0, 0, 9],
        &[0, 1, 9],
    ],
    bare: &[],
};

pub(super) static CHINA: Plan = Plan {
    name: "mainland China",
    rules: &[
        r(2, 10, 10, 10, 10, F),   // Beijing fixed line
        r(2, 13, 19, 11, 11, M),   // mobile
        r(1, 2, 2, 10, 10, F),     // fixed line, two-digit area codes
        r(3, 400, 400, 10, 10, S), // shared cost
        r(3, 800, 800, 10, 10, T), // toll-free
        r(1, 3, 9, 10, 11, F),     // fixed line, three-digit area codes
    ],
    area: Some((8, "010 for Beijing, 021 for Shanghai")),
    dialling: &[],
    bare: &[M, S, T],
};

pub(super) static THAILAND: Plan = Plan {
    name: "Thailand",
    rules: &[
        r(4, 1800, 1800, 10, 10, T), // toll-free
        r(1, 2, 5, 8, 8, F),         // fixed line
        r(1, 7, 7, 8, 8, F),         // fixed line
        r(1, 6, 6, 9, 9, M),         // mobile
        r(1, 8, 9, 9, 9, M),         // mobile
    ],
    area: Some((7, "02 for Bangkok")),
    dialling: &[
        &[0, 0, 1],
        &[0, 0, 2],
        &[0, 0, 3],
        &[0, 0, 4],
        &[0, 0, 5],
        &[0, 0, 6],
        &[0, 0, 7],
        &[0, 0, 8],
        &[0, 0, 9],
    ],
    bare: &[T],
};

pub(super) static RUSSIA: Plan = Plan {
    name: "Russia and Kazakhstan",
    rules: &[
        r(1, 3, 4, 10, 10, F),     // Russian fixed line
        r(2, 70, 70, 10, 10, M),   // Kazakh mobile
        r(2, 71, 72, 10, 10, F),   // Kazakh fixed line
        r(2, 74, 78, 10, 10, M),   // Kazakh mobile (75: VoIP)
        r(1, 7, 7, 10, 10, U),     // other Kazakh ranges
        r(3, 800, 800, 10, 10, T), // toll-free
        r(2, 80, 87, 10, 10, F),   // fixed line, other non-geographic
        r(1, 9, 9, 10, 10, M),     // Russian mobile
    ],
    area: Some((7, "495 for Moscow")),
    dialling: &[&[8, 1, 0]],
    bare: &[],
};

pub(super) static SAUDI_ARABIA: Plan = Plan {
    name: "Saudi Arabia",
    rules: &[
        r(1, 1, 1, 9, 9, F),       // fixed line
        r(1, 5, 5, 9, 9, M),       // mobile
        r(3, 800, 800, 10, 10, T), // toll-free
        r(3, 920, 920, 9, 9, S),   // unified numbers
    ],
    area: Some((7, "011 for Riyadh")),
    dialling: &[],
    bare: &[T, S],
};

pub(super) static UAE: Plan = Plan {
    name: "the United Arab Emirates",
    rules: &[
        r(1, 2, 4, 8, 8, F),      // fixed line
        r(1, 6, 7, 8, 8, F),      // fixed line
        r(1, 9, 9, 8, 8, F),      // fixed line
        r(2, 50, 50, 9, 9, M),    // mobile
        r(2, 52, 56, 9, 9, M),    // mobile
        r(2, 58, 58, 9, 9, M),    // mobile
        r(3, 600, 600, 9, 9, S),  // UAN
        r(3, 800, 800, 5, 12, T), // toll-free
    ],
    area: Some((7, "04 for Dubai")),
    dialling: &[],
    bare: &[T, S],
};
