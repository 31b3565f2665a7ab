//! Reading back a set of customers that an engine computed: portable Roaring, ClickHouse
//! `groupBitmap` states and Doris/StarRocks `BITMAP` bytes.

// The bytes come from outside: decoding them may not panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use std::io::Cursor;

use roaring::RoaringBitmap;

use crate::error::{Error, ErrorKind};
use crate::io::export::BitmapFormat;

/// The most ids a ClickHouse `groupBitmap` small set holds (`RoaringBitmapWithSmallSet<UInt32,
/// 32>`): a state with more is always in the roaring form.
const CLICKHOUSE_SMALL: u64 = 32;

/// Decodes `bytes` written in `format` into a set of customer ids: the reverse of
/// [`BitmapFormat::encode`], and what an engine's own functions write
/// (ClickHouse's `groupBitmapState`, Doris's `bitmap_to_base64`, StarRocks's
/// `bitmap_to_base64`, after base64 decoding).
///
/// The input is checked in full: a wrong kind byte, a length that disagrees with the
/// bytes, unsorted or repeated ids, a Roaring header or container that does not hold
/// together, or bytes left over are each an [`ErrorKind::InvalidBitmap`] naming the format
/// and the byte offset; decoding never panics. Memory stays proportional to the input
/// (every length is checked against the bytes present before anything is allocated for
/// it), at most 8 KiB for each of roaring's 65,536 containers.
///
/// Accepted forms:
///
/// * [`BitmapFormat::Portable`]: the portable Roaring format, nothing after it.
/// * [`BitmapFormat::ClickHouse`]: kind `0` (a small set: a LEB128 count of at most 32, then
///   that many distinct little-endian `u32`s, in any order) or kind `1` (a LEB128 byte length,
///   then exactly that many bytes of portable Roaring).
/// * [`BitmapFormat::Doris`]: type `0` (empty), `1` (one `u32`), `2` (portable Roaring).
///   The other codes (64-bit ids, and the set and v2 forms that only newer Doris versions
///   write, which differ between Doris and StarRocks) are refused with their code named.
///
/// ```
/// use audience::RoaringBitmap;
/// use audience::engine::decode;
/// use audience::export::BitmapFormat;
///
/// // What ClickHouse's `SELECT groupBitmapState(toUInt32(number)) FROM numbers(3)` holds:
/// let state = [0, 3, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0];
/// let ids = decode(BitmapFormat::ClickHouse, &state)?;
/// assert_eq!(ids, (0..3).collect::<RoaringBitmap>());
///
/// let big: RoaringBitmap = (0..100_000).step_by(3).collect();
/// for format in [BitmapFormat::Portable, BitmapFormat::ClickHouse, BitmapFormat::Doris] {
///     assert_eq!(decode(format, &format.encode(&big))?, big);
/// }
///
/// let err = decode(BitmapFormat::ClickHouse, &[0, 2, 1, 0, 0, 0]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid ClickHouse groupBitmap bitmap at byte 6: 2 ids announced, the input ends after 1"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
pub fn decode(format: BitmapFormat, bytes: &[u8]) -> Result<RoaringBitmap, Error> {
    match format {
        BitmapFormat::ClickHouse => clickhouse(bytes),
        BitmapFormat::Doris => doris(bytes),
        _ => portable(PORTABLE, bytes, 0),
    }
}

/// Decodes base64 text (standard alphabet, `=` padding optional, as ClickHouse's
/// `base64Encode`, Doris's and StarRocks's `bitmap_to_base64` write it; ASCII whitespace
/// around it is ignored), then the bytes as [`decode`] does. An error in the text gives
/// its byte offset in the text; an error in the bytes, the offset in the decoded bytes.
///
/// ```
/// use audience::engine::decode_base64;
/// use audience::export::BitmapFormat;
///
/// let ids = decode_base64(BitmapFormat::ClickHouse, "AAMAAAAAAQAAAAIAAAA=")?;
/// assert_eq!(ids.iter().collect::<Vec<_>>(), vec![0, 1, 2]);
/// let err = decode_base64(BitmapFormat::Doris, "AQ*").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid Doris/StarRocks bitmap at byte 2: '*' is not a base64 character"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
pub fn decode_base64(format: BitmapFormat, text: &str) -> Result<RoaringBitmap, Error> {
    let name = match format {
        BitmapFormat::ClickHouse => CLICKHOUSE,
        BitmapFormat::Doris => DORIS,
        _ => PORTABLE,
    };
    let lead = text.len()
        - text
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .len();
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 {
        return invalid(name, lead + body.len(), "more than two '=' of padding");
    }
    let mut bytes = Vec::with_capacity(body.len() / 4 * 3 + 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for (i, c) in body.char_indices() {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' => 62,
            '/' => 63,
            other => {
                return invalid(
                    name,
                    lead + i,
                    format!(
                        "{} is not a base64 character",
                        crate::base::text::quote_char(other)
                    ),
                );
            }
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return invalid(
            name,
            lead + body.len(),
            "the base64 text ends one character into a byte",
        );
    }
    decode(format, &bytes)
}

const PORTABLE: &str = "portable Roaring";
const CLICKHOUSE: &str = "ClickHouse groupBitmap";
const DORIS: &str = "Doris/StarRocks";

fn invalid<T>(format: &'static str, offset: usize, reason: impl Into<String>) -> Result<T, Error> {
    Err(ErrorKind::InvalidBitmap {
        format,
        offset: offset as u64,
        reason: reason.into(),
    }
    .into())
}

/// The portable bitmap that is all of `bytes`; `base` is where `bytes` start in the input.
fn portable(format: &'static str, bytes: &[u8], base: usize) -> Result<RoaringBitmap, Error> {
    if bytes.is_empty() {
        return invalid(
            format,
            base,
            "no bytes where a portable Roaring bitmap should start",
        );
    }
    let mut cursor = Cursor::new(bytes);
    let bitmap = match RoaringBitmap::deserialize_from(&mut cursor) {
        Ok(b) => b,
        Err(e) => {
            return invalid(
                format,
                base,
                format!("the portable Roaring bitmap does not hold together ({e})"),
            );
        }
    };
    let used = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
    if used != bytes.len() {
        return invalid(
            format,
            base.saturating_add(used),
            format!(
                "{} bytes follow the end of the portable Roaring bitmap",
                bytes.len().saturating_sub(used)
            ),
        );
    }
    Ok(bitmap)
}

/// An unsigned LEB128 varint at `at`: (value, bytes read).
fn leb128(bytes: &[u8], at: usize) -> Result<(u64, usize), Error> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some(&b) = bytes.get(at.saturating_add(i)) else {
            return invalid(CLICKHOUSE, at, "the input ends inside a length (LEB128)");
        };
        let bits = u64::from(b & 0x7F);
        if i == 9 && b > 1 {
            return invalid(CLICKHOUSE, at, "a length (LEB128) overflows 64 bits");
        }
        value |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    invalid(CLICKHOUSE, at, "a length (LEB128) overflows 64 bits")
}

fn clickhouse(bytes: &[u8]) -> Result<RoaringBitmap, Error> {
    let Some((&kind, _)) = bytes.split_first() else {
        return invalid(
            CLICKHOUSE,
            0,
            "empty input; a state starts with a kind byte (0 or 1)",
        );
    };
    let (n, len) = leb128(bytes, 1)?;
    let start = 1 + len;
    let rest = bytes.get(start..).unwrap_or(&[]);
    match kind {
        0 => {
            if n > CLICKHOUSE_SMALL {
                return invalid(
                    CLICKHOUSE,
                    1,
                    format!(
                        "a small set holds at most {CLICKHOUSE_SMALL} ids, this one announces {n}"
                    ),
                );
            }
            let have = rest.len() / 4;
            if (have as u64) < n {
                return invalid(
                    CLICKHOUSE,
                    bytes.len(),
                    format!("{n} ids announced, the input ends after {have}"),
                );
            }
            let body = n as usize * 4;
            if rest.len() > body {
                return invalid(
                    CLICKHOUSE,
                    start + body,
                    format!("{} bytes follow the {n} ids", rest.len() - body),
                );
            }
            let mut out = RoaringBitmap::new();
            for (i, chunk) in rest.chunks_exact(4).enumerate() {
                let id = u32::from_le_bytes([
                    chunk.first().copied().unwrap_or(0),
                    chunk.get(1).copied().unwrap_or(0),
                    chunk.get(2).copied().unwrap_or(0),
                    chunk.get(3).copied().unwrap_or(0),
                ]);
                if !out.insert(id) {
                    return invalid(
                        CLICKHOUSE,
                        start + 4 * i,
                        format!("id {id} appears twice in the small set"),
                    );
                }
            }
            Ok(out)
        }
        1 => {
            if n != rest.len() as u64 {
                return invalid(
                    CLICKHOUSE,
                    1,
                    format!(
                        "the roaring form announces {n} bytes, {} follow",
                        rest.len()
                    ),
                );
            }
            // ClickHouse writes the roaring form only for more than 32 ids, but reads any.
            portable(CLICKHOUSE, rest, start)
        }
        other => invalid(
            CLICKHOUSE,
            0,
            format!("unknown kind {other}: a state is a small set (0) or a roaring bitmap (1)"),
        ),
    }
}

fn doris(bytes: &[u8]) -> Result<RoaringBitmap, Error> {
    let Some((&code, rest)) = bytes.split_first() else {
        return invalid(DORIS, 0, "empty input; a bitmap starts with a type byte");
    };
    match code {
        0 => match rest.len() {
            0 => Ok(RoaringBitmap::new()),
            n => invalid(DORIS, 1, format!("{n} bytes follow an EMPTY bitmap")),
        },
        1 => match *rest {
            [a, b, c, d] => Ok([u32::from_le_bytes([a, b, c, d])].into_iter().collect()),
            _ => invalid(
                DORIS,
                1,
                format!("a SINGLE32 bitmap holds 4 bytes of id, got {}", rest.len()),
            ),
        },
        2 => portable(DORIS, rest, 1),
        3 | 4 => invalid(
            DORIS,
            0,
            format!(
                "type {code} ({}) holds 64-bit ids; customer ids are 32-bit",
                if code == 3 { "SINGLE64" } else { "BITMAP64" }
            ),
        ),
        other => invalid(
            DORIS,
            0,
            format!(
                "type {other} is not one of EMPTY (0), SINGLE32 (1) or BITMAP32 (2); newer codes differ between Doris and StarRocks and are not read"
            ),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn leb128_edges() {
        assert_eq!(leb128(&[0, 0x7f], 1).unwrap(), (127, 1));
        assert_eq!(leb128(&[0, 0x80, 0x01], 1).unwrap(), (128, 2));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let mut b = vec![0];
        b.extend(max);
        assert_eq!(leb128(&b, 1).unwrap(), (u64::MAX, 10));
        b[10] = 2;
        assert!(leb128(&b, 1).is_err());
    }
}
