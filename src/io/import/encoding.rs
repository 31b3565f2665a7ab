//! Refusing what is not UTF-8 text (UTF-16, GBK, binary), with the line of the first bad
//! byte.

use super::*;

/// Checks the bytes are UTF-8 text and strips a byte order mark.
pub(super) fn decode(bytes: &[u8]) -> Result<&str, ImportError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(ImportError::Utf16 {
            big_endian: bytes.starts_with(b"\xFE"),
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(ImportError::NotText {
            what: "an Excel workbook (.xlsx) or another zip archive",
            line: 1,
        });
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(ImportError::NotText {
            what: "an Excel 97-2003 workbook (.xls)",
            line: 1,
        });
    }
    if let Some(big_endian) = utf16(bytes) {
        return Err(ImportError::Utf16 { big_endian });
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(ImportError::NotText {
            what: "a binary file (it contains NUL bytes)",
            line: line_of(bytes, at),
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        ImportError::NotUtf8 {
            line: line_of(bytes, at),
            byte: bytes.get(at).copied().unwrap_or(0),
        }
    })
}

/// `Some(big_endian)` when bytes without byte order mark look like UTF-16: NUL bytes on
/// one side of many of the first 512 byte pairs (what UTF-16 does to ASCII digits,
/// separators and line breaks).
pub(super) fn utf16(bytes: &[u8]) -> Option<bool> {
    let head = bytes.get(..bytes.len().min(1024)).unwrap_or(bytes);
    let pairs = head.len() / 2;
    if pairs == 0 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        if let [a, b] = pair {
            even += usize::from(*a == 0);
            odd += usize::from(*b == 0);
        }
    }
    // Mostly ASCII in UTF-16: one side of every pair is NUL. A third is plenty to tell it
    // from a binary file, where NULs fall on both sides alike.
    if odd * 3 >= pairs && even * 10 < odd {
        Some(false)
    } else if even * 3 >= pairs && odd * 10 < even {
        Some(true)
    } else {
        None
    }
}

/// The 1-based line of byte `at`.
pub(super) fn line_of(bytes: &[u8], at: usize) -> u64 {
    let before = bytes.get(..at).unwrap_or(bytes);
    // A CR just before `at` may be the first half of a CRLF: count it only when it is not.
    let cr_pair = before.last() == Some(&b'\r') && bytes.get(at) == Some(&b'\n');
    line_ends(before) - u64::from(cr_pair) + 1
}
