//! Name folding: when are two tag names "the same name"?
//!
//! Users type tag names in any script, from phones and from Excel, so "VIP ", "vip", "ＶＩＰ"
//! and "V I P"... the first three must be one tag. [`fold`] maps a name to its comparison key:
//!
//! 1. full-width ASCII forms (U+FF01..U+FF5E) become their ASCII letters, digits and
//!    punctuation; the ideographic space (U+3000) becomes a space; half-width Katakana and
//!    Hangul forms (U+FF61..U+FFDC) are left alone;
//! 2. letters are lowercased with Unicode's full lowercase mapping (Cyrillic, Greek, Latin
//!    with diacritics: "ВИП" and "вип" fold alike); scripts without case (Thai, Chinese,
//!    Arabic) are unchanged;
//! 3. every run of whitespace becomes one ASCII space, and leading and trailing whitespace
//!    is removed.
//!
//! Not done: Unicode normalisation forms (NFC/NFKC) beyond the full-width block, so a name
//! typed with a precomposed "é" and one with "e" + combining accent stay different names.

/// The longest name accepted, in characters: of a tag, dimension, attribute, rule, rule
/// group, split group or channel; and of an actor (an [`Edit`](crate::Edit)'s, a policy's
/// administrator), a dimension's colour and a naming rule's prefix.
pub const MAX_NAME_CHARS: usize = 200;

/// The longest free text accepted, in characters: a tag's description, an
/// [`Edit`](crate::Edit)'s reason.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// The comparison key of a name (see the module docs).
/// The position of the first name that repeats an earlier one after folding (`"VIP"` and
/// `" vip "` are one name), or `None` when all are distinct. The one distinct-names check of
/// the crate: tiers, groups, segments, rules and split groups all use it.
pub(crate) fn first_repeat<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    let mut seen = std::collections::HashSet::new();
    names.into_iter().position(|name| !seen.insert(fold(name)))
}

pub(crate) fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_space = false;
    for c in name.chars() {
        let c = widen(c);
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Trims and collapses whitespace (the displayed form of a name keeps its case and width).
pub(crate) fn tidy(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name.split(|c: char| c.is_whitespace() || c == '\u{3000}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn widen(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Checks a (tidied) name: not empty, at most [`MAX_NAME_CHARS`] characters, no control
/// characters. Returns the reason for refusing it.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a name must not be empty".into());
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "a name has at most {MAX_NAME_CHARS} characters, this one has {chars}"
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "a name must not contain control characters (found U+{:04X})",
            c as u32
        ));
    }
    Ok(())
}

/// Edit distance (Levenshtein, by chars) bounded by `max`: `None` when it exceeds `max`.
/// Used for "did you mean" suggestions.
pub(crate) fn distance_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// The candidate nearest to `name` (compared folded), if it is close enough to be a likely
/// typo: within a third of the name's length, at most 3 edits. Ties go to the first.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let key = fold(name);
    let max = (key.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        if let Some(d) = distance_within(&key, &fold(cand), max)
            && best.is_none_or(|(bd, _)| d < bd)
        {
            best = Some((d, cand));
        }
    }
    best.map(|(_, s)| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_width_and_spaces() {
        assert_eq!(fold("VIP "), "vip");
        assert_eq!(fold("  Vip\t\tclient  "), "vip client");
        assert_eq!(fold("ＶＩＰ"), "vip");
        assert_eq!(fold("VIP\u{3000}客户"), "vip 客户");
        assert_eq!(fold("ВИП Клиент"), "вип клиент");
        assert_eq!(fold("ลูกค้าใหม่"), "ลูกค้าใหม่");
        assert_eq!(fold("عميل جديد"), "عميل جديد");
        assert_eq!(fold("高消費力"), "高消費力");
    }

    #[test]
    fn tidies_but_keeps_case() {
        assert_eq!(tidy("  New   Customer "), "New Customer");
        assert_eq!(tidy("VIP\u{3000}客户"), "VIP 客户");
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name(""), Err("a name must not be empty".into()));
        assert!(check_name(&"x".repeat(200)).is_ok());
        assert_eq!(
            check_name(&"x".repeat(201)),
            Err("a name has at most 200 characters, this one has 201".into())
        );
        assert_eq!(
            check_name("a\u{7}b"),
            Err("a name must not contain control characters (found U+0007)".into())
        );
    }

    #[test]
    fn suggestions() {
        let names = ["interest/cosmetics", "stage/purchased", "vip"];
        assert_eq!(
            suggest("interest/cosmetic", names.iter().copied()),
            Some("interest/cosmetics".into())
        );
        assert_eq!(suggest("VIP", names.iter().copied()), Some("vip".into()));
        assert_eq!(suggest("zzz", names.iter().copied()), None);
        assert_eq!(distance_within("kitten", "sitting", 3), Some(3));
        assert_eq!(distance_within("kitten", "sitting", 2), None);
    }
}
