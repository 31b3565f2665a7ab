//! Names and texts quoted for messages, in every script.

/// A name or text in double quotes for messages. Unlike `{:?}`, it keeps every printable
/// character as it is (Thai vowel and tone marks, Arabic harakat, CJK), escaping only `"`,
/// `\` and control characters.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A character in single quotes for messages, escaped like [`quote`].
pub(crate) fn quote_char(c: char) -> String {
    if c.is_control() {
        format!("'{}'", c.escape_unicode())
    } else {
        format!("'{c}'")
    }
}

/// `1234567` -> `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    push_grouped(&mut out, &digits);
    out
}

/// Appends a run of ASCII digits with a comma before every group of three from the right.
pub(crate) fn push_grouped(out: &mut String, digits: &str) {
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
}

/// `1 customer`, `2,305 customers`: a count with its noun in the right number.
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The noun for `n` things: `one` for exactly one, `many` otherwise ("1 customer",
/// "0 customers", "2 customers").
pub(crate) fn noun(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// `n` and its noun: "1 row", "2 rows".
pub(crate) fn plural(n: u64, one: &'static str, many: &'static str) -> String {
    format!("{n} {}", noun(n, one, many))
}
