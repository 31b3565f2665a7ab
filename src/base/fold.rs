//! Name folding: when are two tag names "the same name"?
//!
//! Users type tag names in any script, from phones and from Excel, on keyboards that write
//! the same text differently, so "VIP ", "vip", "ＶＩＰ", "Café" with a precomposed é and
//! "Café" with e + combining accent must be one tag. [`fold`] maps a name to its comparison
//! key, Unicode's compatibility caseless match (UAX #15 and the Unicode standard, D146):
//!
//! 1. **NFKC normalisation**, then **full case folding**, then NFKC again: composed and
//!    decomposed forms (Vietnamese, Thai, Hangul syllables and jamo) are one; full-width
//!    and half-width forms (ＶＩＰ, ｶﾀｶﾅ) are their usual forms; ligatures (ﬁ) are their
//!    letters; case is folded with Unicode's full case folding (ß and SS, final and
//!    medial sigma, Cyrillic, Greek, Latin with diacritics); scripts without case (Thai,
//!    Chinese, Arabic) are unchanged;
//! 2. joiners and selectors that change how a name is drawn but not which name it is
//!    (zero-width joiner and non-joiner, variation selectors, the combining grapheme
//!    joiner, tag characters) are dropped: a Persian name written with or without its
//!    ZWNJ is one name, and no two tags can differ only by an invisible joiner;
//! 3. every run of whitespace (the ideographic space included) becomes one ASCII space, and
//!    leading and trailing whitespace is removed.
//!
//! ASCII names take a fast path with the same result (lowercase, whitespace collapsed).
//! A name keeps the spelling its creator typed for display; only comparisons use the key.
//!
//! Names must not contain invisible or direction-changing characters at all
//! ([`check_name`]): zero-width space, soft hyphen, byte order mark, word joiner, bidi
//! marks, embeddings, overrides and isolates, fillers. Two tags could otherwise look
//! identical on screen (`vip` and `v` + U+200B + `ip`) and send a campaign to the wrong
//! audience.

/// The longest name accepted, in characters: of a tag, dimension, attribute, rule, rule
/// group, split group or channel; and of an actor (an [`Edit`](crate::Edit)'s, a policy's
/// administrator), a dimension's colour and a naming rule's prefix.
pub const MAX_NAME_CHARS: usize = 200;

/// The longest free text accepted, in characters: a tag's description, an
/// [`Edit`](crate::Edit)'s reason.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// The position of the first name that repeats an earlier one after folding (`"VIP"` and
/// `" vip "` are one name), or `None` when all are distinct. The one distinct-names check of
/// the crate: tiers, groups, segments, rules and split groups all use it.
pub(crate) fn first_repeat<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    let mut seen = std::collections::HashSet::new();
    names.into_iter().position(|name| !seen.insert(fold(name)))
}

/// The comparison key of a name (see the module docs).
pub(crate) fn fold(name: &str) -> String {
    use caseless::Caseless;
    use unicode_normalization::UnicodeNormalization;

    if name.is_ascii() {
        return collapse(name.chars().map(|c| c.to_ascii_lowercase()));
    }
    let folded: String = name.nfkc().default_case_fold().nfkc().collect();
    collapse(folded.chars().filter(|&c| !ignored(c)))
}

/// `chars` with runs of whitespace as one space, none at the ends.
fn collapse(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    for c in chars {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// Characters that change how a name is drawn, not which name it is: dropped by [`fold`].
fn ignored(c: char) -> bool {
    matches!(
        c,
        '\u{200C}' | '\u{200D}' // zero-width non-joiner and joiner
            | '\u{034F}' // combining grapheme joiner
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
            | '\u{E0020}'..='\u{E007F}' // tag characters (emoji flag sequences)
    )
}

/// The name of a character names must not contain, or `None` for any other character.
fn invisible(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{115F}' => "HANGUL CHOSEONG FILLER",
        '\u{1160}' => "HANGUL JUNGSEONG FILLER",
        '\u{17B4}' => "KHMER VOWEL INHERENT AQ",
        '\u{17B5}' => "KHMER VOWEL INHERENT AA",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}'..='\u{2064}' => "INVISIBLE OPERATOR",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{206A}'..='\u{206F}' => "DEPRECATED FORMAT CHARACTER",
        '\u{3164}' => "HANGUL FILLER",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE (BYTE ORDER MARK)",
        '\u{FFA0}' => "HALFWIDTH HANGUL FILLER",
        '\u{FFF9}'..='\u{FFFB}' => "INTERLINEAR ANNOTATION CHARACTER",
        '\u{1BCA0}'..='\u{1BCA3}' => "SHORTHAND FORMAT CONTROL",
        '\u{1D173}'..='\u{1D17A}' => "MUSICAL SYMBOL FORMAT CHARACTER",
        _ => return None,
    })
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

/// Checks a (tidied) name: not empty, at most [`MAX_NAME_CHARS`] characters, no control
/// characters, no invisible or direction-changing characters (see the module docs).
/// Returns the reason for refusing it.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    check_stored_name(name)?;
    if name.chars().all(|c| c.is_whitespace() || ignored(c)) {
        return Err("a name must not be empty (it has only joiners or selectors)".into());
    }
    if let Some((at, c, what)) = name
        .chars()
        .enumerate()
        .find_map(|(i, c)| invisible(c).map(|what| (i + 1, c, what)))
    {
        return Err(format!(
            "a name must not contain invisible or direction-changing characters (found U+{:04X} {what} at character {at})",
            c as u32
        ));
    }
    Ok(())
}

/// The characters a customer list separates tag names with inside its tags cell, as people
/// type them: the ASCII comma, the full-width comma `，`, the ideographic comma `、` and the
/// Arabic comma `،`. The importer splits a tags cell on them, so a tag name (or the name of
/// a dimension, which an export writes as `dimension:name`) must not contain one: an
/// exported list would be read back as two tags.
pub const TAG_SEPARATORS: [char; 4] = [',', '，', '、', '،'];

/// Checks that a new tag or dimension name (`what`) holds none of [`TAG_SEPARATORS`];
/// returns the reason for refusing it, naming the character and its position.
pub(crate) fn check_separators(name: &str, what: &str) -> Result<(), String> {
    let Some((at, c)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| TAG_SEPARATORS.contains(c))
    else {
        return Ok(());
    };
    let which = match c {
        ',' => "a comma",
        '，' => "a full-width comma",
        '、' => "an ideographic comma",
        _ => "an Arabic comma",
    };
    Err(format!(
        "{what} must not contain {which} '{c}' (found at character {}): customer lists \
         separate tag names with it, so the name would be read back from a list as two \
         tags; write it without, for example with parentheses or \" - \"",
        at + 1
    ))
}

/// The checks [`check_name`] made before invisible characters were refused: what names
/// read from an older snapshot must pass, so that it still loads.
pub(crate) fn check_stored_name(name: &str) -> Result<(), String> {
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

/// Names a suggestion index holds before it stops scanning every name exactly: below this
/// a miss compares with every name (at most this many bounded edit distances).
pub(crate) const EXACT_SCAN_NAMES: usize = 2_000;
/// Posting entries a lookup reads at most: the rarest bigrams of the name first.
const MAX_POSTINGS_PER_LOOKUP: usize = 32_768;
/// Candidates a lookup compares by edit distance at most: those sharing the most bigrams.
const MAX_VERIFIED_PER_LOOKUP: usize = 256;

/// A did-you-mean index over folded names: the padded character bigrams of every name, so
/// that a miss compares only with names that share enough of them (each edit destroys at
/// most two bigrams of the name looked up). Built once per change of the names; a lookup
/// reads at most [`MAX_POSTINGS_PER_LOOKUP`] (32,768) posting entries and computes at most
/// [`MAX_VERIFIED_PER_LOOKUP`] (256) edit distances, whatever the number of names, so the cost
/// of a miss is bounded. Suggestions stay best-effort: a name sharing no rare bigram with
/// the typo may be missed in a very large taxonomy.
#[derive(Debug, Default)]
pub(crate) struct NameIndex {
    /// Folded names, in the order they were given (ties go to the first).
    names: Vec<Box<str>>,
    /// Each name's length in characters.
    lens: Vec<u32>,
    /// Bigram -> the names containing it, ascending, each once.
    postings: hashbrown::HashMap<u64, Vec<u32>>,
}

/// The distinct padded bigrams of a folded name (`^a`, `ab`, ..., `z$`).
fn bigrams(key: &str) -> Vec<u64> {
    let chars: Vec<u32> = std::iter::once(0)
        .chain(key.chars().map(u32::from))
        .chain(std::iter::once(0))
        .collect();
    let mut grams: Vec<u64> = chars
        .windows(2)
        .map(|w| (u64::from(w[0]) << 32) | u64::from(w[1]))
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

impl NameIndex {
    /// An index over `names`, already folded; a repeated name is kept once (its first
    /// place).
    pub(crate) fn build<'a>(names: impl Iterator<Item = &'a str>) -> NameIndex {
        let mut index = NameIndex::default();
        let mut seen = std::collections::HashSet::new();
        for name in names {
            if !seen.insert(name) {
                continue;
            }
            let at = index.names.len() as u32;
            index.names.push(name.into());
            index.lens.push(name.chars().count() as u32);
            for g in bigrams(name) {
                index.postings.entry(g).or_default().push(at);
            }
        }
        index
    }

    /// The folded name nearest to `name` among those `accept` takes, within the distance
    /// [`suggest`] allows, or `None`. Ties go to the name given first.
    pub(crate) fn nearest(&self, name: &str, mut accept: impl FnMut(&str) -> bool) -> Option<&str> {
        let key = fold(name);
        let len = key.chars().count();
        let max = (len / 3).clamp(1, 3);
        let mut best: Option<(usize, u32)> = None;
        let mut consider = |at: u32, best: &mut Option<(usize, u32)>| {
            let Some(cand) = self.names.get(at as usize) else {
                return;
            };
            if !accept(cand) {
                return;
            }
            if let Some(d) = distance_within(&key, cand, max)
                && best.is_none_or(|(bd, ba)| (d, at) < (bd, ba))
            {
                *best = Some((d, at));
            }
        };
        let near_len = |at: u32| {
            self.lens
                .get(at as usize)
                .is_some_and(|&l| (l as usize).abs_diff(len) <= max)
        };
        if self.names.len() <= EXACT_SCAN_NAMES {
            for at in 0..self.names.len() as u32 {
                if near_len(at) {
                    consider(at, &mut best);
                }
            }
        } else {
            // Shared bigrams, reading the rarest posting lists first within the budget.
            let mut grams: Vec<&Vec<u32>> = bigrams(&key)
                .iter()
                .filter_map(|g| self.postings.get(g))
                .collect();
            grams.sort_by_key(|p| p.len());
            // Shared-bigram counts of the names touched, in a table the size of the budget
            // (foldhash: the lookups are the whole cost).
            let mut shared: hashbrown::HashMap<u32, u32> =
                hashbrown::HashMap::with_capacity(MAX_POSTINGS_PER_LOOKUP.min(self.names.len()));
            let mut budget = MAX_POSTINGS_PER_LOOKUP;
            for list in grams {
                let take = list.len().min(budget);
                for &at in list.iter().take(take) {
                    *shared.entry(at).or_default() += 1;
                }
                budget -= take;
                if budget == 0 {
                    break;
                }
            }
            let mut ranked: Vec<(u32, u32)> = shared
                .into_iter()
                .filter(|&(at, _)| near_len(at))
                .map(|(at, n)| (n, at))
                .collect();
            // Most shared bigrams first, then the name given first: only the best
            // MAX_VERIFIED_PER_LOOKUP are sorted.
            let order = |a: &(u32, u32), b: &(u32, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
            if ranked.len() > MAX_VERIFIED_PER_LOOKUP {
                ranked.select_nth_unstable_by(MAX_VERIFIED_PER_LOOKUP, order);
                ranked.truncate(MAX_VERIFIED_PER_LOOKUP);
            }
            ranked.sort_unstable_by(order);
            for &(_, at) in &ranked {
                consider(at, &mut best);
            }
        }
        best.and_then(|(_, at)| self.names.get(at as usize).map(|n| &**n))
    }
}

/// A [`NameIndex`] built on first use and dropped when the names change ([`LazyIndex::clear`]).
/// Clones share the built index.
#[derive(Default)]
pub(crate) struct LazyIndex(std::sync::RwLock<Option<std::sync::Arc<NameIndex>>>);

impl LazyIndex {
    /// The index, built from `names` (folded) if there is none.
    pub(crate) fn get<'a>(
        &self,
        names: impl FnOnce() -> Vec<&'a str>,
    ) -> std::sync::Arc<NameIndex> {
        if let Ok(guard) = self.0.read()
            && let Some(index) = guard.as_ref()
        {
            return index.clone();
        }
        let index = std::sync::Arc::new(NameIndex::build(names().into_iter()));
        if let Ok(mut guard) = self.0.write() {
            *guard = Some(index.clone());
        }
        index
    }

    /// Forgets the index (the names changed).
    pub(crate) fn clear(&mut self) {
        *self = LazyIndex::default();
    }
}

impl Clone for LazyIndex {
    fn clone(&self) -> LazyIndex {
        let inner = self.0.read().ok().and_then(|g| g.clone());
        LazyIndex(std::sync::RwLock::new(inner))
    }
}

impl std::fmt::Debug for LazyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let built = self.0.read().map(|g| g.is_some()).unwrap_or(false);
        f.debug_struct("LazyIndex").field("built", &built).finish()
    }
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

    /// Names like a shop's taxonomy: a prefix from a few dimensions and a word from a
    /// pseudo-random mix of syllables, in several scripts.
    fn names(n: usize) -> Vec<String> {
        let prefixes = ["interest/", "stage/", "power/", "ลูกค้า", "兴趣/", "канал/"];
        let syllables = [
            "ka", "lo", "mi", "ra", "su", "te", "vo", "ne", "di", "po", "กา", "มี", "美", "妆",
            "ки", "ро",
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..n)
            .map(|i| {
                let mut name = prefixes[i % prefixes.len()].to_string();
                for _ in 0..3 + (i % 4) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    name.push_str(syllables[(x % syllables.len() as u64) as usize]);
                }
                name.push_str(&(i % 97).to_string());
                name
            })
            .collect()
    }

    #[test]
    fn a_small_index_answers_like_the_linear_scan() {
        let all = names(1_500);
        let folded: Vec<String> = all.iter().map(|n| fold(n)).collect();
        let index = NameIndex::build(folded.iter().map(String::as_str));
        for (i, name) in all.iter().enumerate().step_by(7) {
            // Drop one character, swap in another: typos of every size of name.
            let mut typo: Vec<char> = name.chars().collect();
            typo.remove(i % typo.len());
            if i % 2 == 0 {
                typo.push('x');
            }
            let typo: String = typo.into_iter().collect();
            assert_eq!(
                index.nearest(&typo, |_| true).map(str::to_string),
                suggest(&typo, folded.iter().map(String::as_str)),
                "{typo}"
            );
        }
    }

    #[test]
    fn a_large_index_finds_typos_among_many_names() {
        let all = names(100_000);
        let folded: Vec<String> = all.iter().map(|n| fold(n)).collect();
        let index = NameIndex::build(folded.iter().map(String::as_str));
        let mut found = 0;
        let mut tried = 0;
        for (i, name) in folded.iter().enumerate().step_by(997) {
            let mut typo: Vec<char> = name.chars().collect();
            let at = 1 + i % (typo.len() - 1);
            typo.remove(at);
            let typo: String = typo.into_iter().collect();
            tried += 1;
            // Whatever it suggests is a real name within the allowed distance...
            if let Some(s) = index.nearest(&typo, |_| true) {
                let max = (typo.chars().count() / 3).clamp(1, 3);
                assert!(distance_within(&typo, s, max).is_some(), "{typo} -> {s}");
                found += 1;
            }
        }
        // ...and with one character dropped, the name is found every time.
        assert_eq!(found, tried);
        // A name far from everything gets no suggestion.
        assert_eq!(index.nearest("zzzzzzzzzzzz", |_| true), None);
        // The filter is honoured.
        let first = folded.first().map(String::as_str).unwrap_or_default();
        assert_ne!(index.nearest(first, |n| n != first), Some(first));
    }
}
