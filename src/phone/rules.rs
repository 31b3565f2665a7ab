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
/// `min..=max` digits.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rule {
    pub(super) width: u8,
    pub(super) lo: u16,
    pub(super) hi: u16,
    pub(super) min: u8,
    pub(super) max: u8,
}

pub(super) const fn r(width: u8, lo: u16, hi: u16, min: u8, max: u8) -> Rule {
    Rule {
        width,
        lo,
        hi,
        min,
        max,
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

pub(super) static HONG_KONG: Plan = Plan {
    name: "Hong Kong",
    rules: &[
        r(1, 2, 9, 8, 8),     // 2, 3 (58) fixed line; 4-9 mobile, pager, personal
        r(3, 800, 800, 9, 9), // toll-free
    ],
};

pub(super) static TAIWAN: Plan = Plan {
    name: "Taiwan",
    rules: &[
        r(1, 2, 6, 8, 9),     // fixed line
        r(2, 70, 70, 10, 11), // VoIP
        r(2, 71, 79, 8, 8),   // fixed line
        r(1, 8, 8, 8, 9),     // fixed line, toll-free
        r(1, 9, 9, 9, 9),     // mobile
    ],
};

pub(super) static CHINA: Plan = Plan {
    name: "mainland China",
    rules: &[
        r(2, 10, 10, 10, 10), // Beijing fixed line
        r(2, 13, 19, 11, 11), // mobile
        r(1, 2, 2, 10, 10),   // fixed line, two-digit area codes
        r(1, 3, 9, 10, 11),   // fixed line, three-digit area codes; 400, 800
    ],
};

pub(super) static THAILAND: Plan = Plan {
    name: "Thailand",
    rules: &[
        r(4, 1800, 1800, 10, 10), // toll-free
        r(1, 2, 5, 8, 8),         // fixed line
        r(1, 7, 7, 8, 8),         // fixed line
        r(1, 6, 6, 9, 9),         // mobile
        r(1, 8, 9, 9, 9),         // mobile
    ],
};

pub(super) static RUSSIA: Plan = Plan {
    name: "Russia and Kazakhstan",
    rules: &[
        r(1, 3, 4, 10, 10),   // Russian fixed line
        r(1, 7, 7, 10, 10),   // Kazakhstan
        r(2, 80, 87, 10, 10), // toll-free, non-geographic, fixed line
        r(1, 9, 9, 10, 10),   // Russian mobile
    ],
};

pub(super) static SAUDI_ARABIA: Plan = Plan {
    name: "Saudi Arabia",
    rules: &[
        r(1, 1, 1, 9, 9),       // fixed line
        r(1, 5, 5, 9, 9),       // mobile
        r(3, 800, 800, 10, 10), // toll-free
        r(3, 920, 920, 9, 9),   // unified numbers
    ],
};

pub(super) static UAE: Plan = Plan {
    name: "the United Arab Emirates",
    rules: &[
        r(1, 2, 4, 8, 8),      // fixed line
        r(1, 6, 7, 8, 8),      // fixed line
        r(1, 9, 9, 8, 8),      // fixed line
        r(2, 50, 50, 9, 9),    // mobile
        r(2, 52, 56, 9, 9),    // mobile
        r(2, 58, 58, 9, 9),    // mobile
        r(3, 600, 600, 9, 9),  // UAN
        r(3, 800, 800, 5, 12), // toll-free
    ],
};
