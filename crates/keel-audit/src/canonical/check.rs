//! A one-pass checker that bytes are RFC 8785 canonical JSON, equivalent to (and much faster
//! than) parsing them with `serde_json`, canonicalizing and comparing.
//!
//! Canonical JSON has no whitespace, object keys sorted by their UTF-16 code units and unique,
//! strings with only the escapes `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t` and `\u00xx` (lowercase,
//! for the other control characters), everything else literal, and numbers as ECMAScript's
//! `Number.prototype.toString` prints them. Integers of up to 15 digits are checked here; other
//! numbers (rare in audit entries) are checked by canonicalizing them.

use std::cmp::Ordering;
use std::str::Chars;

use serde_json::Value;

use super::canonical_json;

/// serde_json refuses the 128th nested array or object.
const MAX_DEPTH: usize = 127;

/// Integers with at most this many digits are exactly representable doubles (below 2^53).
const EXACT_DIGITS: usize = 15;

pub(super) fn is_canonical(bytes: &[u8]) -> bool {
    // Bytes of 0x80 and above can only be valid inside strings, where `string` checks they are
    // UTF-8; outside, they are not JSON.
    value(bytes, 0, 0) == Some(bytes.len())
}

// Each function checks what starts at position `i` of `b` and returns the position after it,
// or `None` if it is not canonical JSON. Positions travel in registers, which is faster than
// a parser struct.

fn at(b: &[u8], i: usize, c: u8) -> bool {
    b.get(i) == Some(&c)
}

fn value(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    match *b.get(i)? {
        b'{' => object(b, i + 1, depth + 1),
        b'[' => array(b, i + 1, depth + 1),
        b'"' => string(b, i + 1).map(|s| s.end + 1),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => number(b, i),
        _ => None,
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b.get(i..)?.starts_with(word).then_some(i + word.len())
}

/// An object, from just after its `{`.
fn object(b: &[u8], mut i: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    if at(b, i, b'}') {
        return Some(i + 1);
    }
    let mut previous: Option<Key<'_>> = None;
    loop {
        if !at(b, i, b'"') {
            return None;
        }
        let span = string(b, i + 1)?;
        let key = Key {
            raw: b.get(span.start..span.end)?,
            escaped: span.escaped,
        };
        if let Some(previous) = previous {
            if compare_keys(previous, key) != Ordering::Less {
                return None;
            }
        }
        previous = Some(key);
        i = span.end + 1;
        if !at(b, i, b':') {
            return None;
        }
        i = value(b, i + 1, depth)?;
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Some(i + 1),
            _ => return None,
        }
    }
}

/// An array, from just after its `[`.
fn array(b: &[u8], mut i: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    if at(b, i, b']') {
        return Some(i + 1);
    }
    loop {
        i = value(b, i, depth)?;
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b']') => return Some(i + 1),
            _ => return None,
        }
    }
}

/// A string, from just after its opening quote: where its raw contents are (`end` is the
/// closing quote).
#[inline(always)]
fn string(b: &[u8], start: usize) -> Option<Span> {
    let mut i = start;
    let mut escaped = false;
    loop {
        i = skip_plain(b, i);
        match *b.get(i)? {
            b'"' => {
                return Some(Span {
                    start,
                    end: i,
                    escaped,
                });
            }
            b'\\' => {
                escaped = true;
                i += escape_len(b.get(i + 1..)?)?;
            }
            0x80.. => i = skip_utf8(b, i)?,
            _ => return None,
        }
    }
}

fn number(b: &[u8], start: usize) -> Option<usize> {
    let negative = at(b, start, b'-');
    let digits_start = start + usize::from(negative);
    let mut i = match b.get(digits_start)? {
        b'0' => digits_start + 1,
        b'1'..=b'9' => skip_digits(b, digits_start),
        _ => return None,
    };
    let digits = i - digits_start;
    let mut plain = true;
    if at(b, i, b'.') {
        plain = false;
        i = some_digits(b, i + 1)?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        plain = false;
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = some_digits(b, i)?;
    }
    let token = b.get(start..i)?;
    if plain && digits <= EXACT_DIGITS {
        // An exactly representable integer prints as itself, except -0 (which prints 0).
        return (token != b"-0").then_some(i);
    }
    number_is_canonical(token).then_some(i)
}

fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b'0'..=b'9')) {
        i += 1;
    }
    i
}

/// At least one digit.
fn some_digits(b: &[u8], i: usize) -> Option<usize> {
    let end = skip_digits(b, i);
    (end > i).then_some(end)
}

/// The length of the canonical escape sequence starting after a backslash (`rest`), counting
/// the backslash, or `None` if it is not one canonical JSON would write.
fn escape_len(rest: &[u8]) -> Option<usize> {
    match rest.first()? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => match rest.get(1..5)? {
            // Only control characters are written as \u00xx, in lowercase, and only those
            // without a short escape.
            [
                b'0',
                b'0',
                hi @ (b'0' | b'1'),
                lo @ (b'0'..=b'9' | b'a'..=b'f'),
            ] => {
                let code = (hi - b'0') * 16 + hex_value(*lo);
                (!matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)).then_some(6)
            }
            _ => None,
        },
        _ => None,
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => digit.wrapping_sub(b'a').wrapping_add(10),
    }
}

/// Whether a JSON number token other than a short integer is canonical: whether canonicalizing
/// it (as a double, as RFC 8785 does) gives it back.
fn number_is_canonical(token: &[u8]) -> bool {
    serde_json::from_slice::<Value>(token)
        .ok()
        .and_then(|v| canonical_json(&v).ok())
        .is_some_and(|c| c == token)
}

/// Where a string's raw contents are, and whether they have escapes.
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

/// A raw (still escaped) object key.
#[derive(Clone, Copy)]
struct Key<'a> {
    raw: &'a [u8],
    escaped: bool,
}

/// The position of the first byte at or after `i` that ends a run of ASCII literal string
/// bytes: a quote, a backslash, a control character or a non-ASCII byte (or the end). Eight
/// bytes at a time.
#[inline(always)]
fn skip_plain(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(chunk) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(chunk);
        // Bytes below 0x20, and bytes equal to '"' or '\\' (zero after the xor). Each test
        // flags exactly the bytes up to its first hit, which is all that is used.
        let control = w.wrapping_sub(ONES * 0x20) & !w;
        let q = w ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let s = w ^ (ONES * u64::from(b'\\'));
        let backslash = s.wrapping_sub(ONES) & !s;
        let hits = (control | quote | backslash | w) & HIGHS;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c) {
            break;
        }
        i += 1;
    }
    i
}

/// Checks the run of non-ASCII bytes starting at `i` is valid UTF-8 and returns its end. A run
/// ends at an ASCII byte, which valid UTF-8 can only have at a character boundary.
fn skip_utf8(b: &[u8], i: usize) -> Option<usize> {
    let rest = b.get(i..)?;
    let len = rest.iter().position(u8::is_ascii).unwrap_or(rest.len());
    std::str::from_utf8(&rest[..len]).ok()?;
    Some(i + len)
}

/// Compares two raw (escaped, canonical) object keys by the UTF-16 code units of their values,
/// as RFC 8785 sorts them.
fn compare_keys(a: Key<'_>, b: Key<'_>) -> Ordering {
    if !a.escaped && !b.escaped {
        // UTF-8 bytes order as code points, and code points as UTF-16 code units except where
        // a supplementary character (lead byte F0..F4) meets one in U+E000..U+FFFF (EE, EF).
        let Some(d) = a.raw.iter().zip(b.raw).position(|(x, y)| x != y) else {
            return a.raw.len().cmp(&b.raw.len());
        };
        let (x, y) = (a.raw[d], b.raw[d]);
        let crosses = |x: u8, y: u8| x >= 0xf0 && (0xee..=0xef).contains(&y);
        if !crosses(x, y) && !crosses(y, x) {
            return x.cmp(&y);
        }
    }
    compare_decoded(a.raw, b.raw)
}

/// [`compare_keys`] by decoding the keys.
fn compare_decoded(a: &[u8], b: &[u8]) -> Ordering {
    let (Ok(a), Ok(b)) = (std::str::from_utf8(a), std::str::from_utf8(b)) else {
        return Ordering::Equal;
    };
    let mut a = Unescaped(a.chars());
    let mut b = Unescaped(b.chars());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => {
                // The first differing code units are those of the first differing characters:
                // their first units, or (same high surrogate) their low ones, which order as the
                // code points do.
                let (ux, uy) = (first_unit(x), first_unit(y));
                return if ux != uy { ux.cmp(&uy) } else { x.cmp(&y) };
            }
        }
    }
}

fn first_unit(c: char) -> u16 {
    let mut buf = [0u16; 2];
    c.encode_utf16(&mut buf)[0]
}

/// The characters of a raw JSON string with canonical escapes.
struct Unescaped<'a>(Chars<'a>);

impl Iterator for Unescaped<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let c = self.0.next()?;
        if c != '\\' {
            return Some(c);
        }
        Some(match self.0.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let mut code = 0u32;
                for _ in 0..4 {
                    code = code * 16 + self.0.next()?.to_digit(16)?;
                }
                char::from_u32(code)?
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical() {
        for ok in [
            "{}",
            "[]",
            "0",
            "-1",
            "123456789012345",
            "1.5",
            "1e+30",
            "true",
            "null",
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            r#""\u001f\n\"\\/""#,
            "\"\u{7f}\u{2028}\"",
            "{\"\\r\":1,\"1\":2,\"\u{80}\":3,\"\u{f6}\":4,\"\u{20ac}\":5,\"\u{1f600}\":6,\"\u{fb33}\":7}",
            r#"{"a":1,"aa":2,"b":3}"#,
        ] {
            assert!(is_canonical(ok.as_bytes()), "{ok}");
        }
    }

    #[test]
    fn refuses_non_canonical() {
        for bad in [
            "",
            " {}",
            "{} ",
            "{ }",
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a" :1}"#,
            "-0",
            "01",
            "1.0",
            "1E+30",
            "1e30",
            "9007199254740993",
            r#""\/""#,
            r#""\u0041""#,
            r#""\u000A""#,
            r#""\u000a""#,
            r#""\u001F""#,
            "\"\t\"",
            "[1,]",
            "[1 ]",
            "tru",
            "{\"a\":1",
            "{\"\u{fb33}\":1,\"\u{1f600}\":2}",
        ] {
            assert!(!is_canonical(bad.as_bytes()), "{bad}");
        }
        for bad in [
            &b"\"\xff\""[..],
            b"\"\xc3\"",
            b"\"a\xc3\xa9\xa9\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xe2\x82\"",
            b"\xc3\xa9",
            b"{\"\xc3\":1}",
            b"[1,\xff]",
        ] {
            assert!(!is_canonical(bad), "{bad:?}");
        }
        assert!(is_canonical(
            "\"a\u{e9}b\u{20ac}\u{1f600}c\u{e9}\"".as_bytes()
        ));
    }

    #[test]
    fn utf16_key_order() {
        let key = |raw: &'static str| Key {
            raw: raw.as_bytes(),
            escaped: raw.contains('\\'),
        };
        let cases = [
            // U+FB33 sorts after U+1F600 by code point, but before it by UTF-16 code units.
            ("\u{1f600}", "\u{fb33}", Ordering::Less),
            ("a\u{1f600}", "a\u{e000}", Ordering::Less),
            ("\u{ffff}", "\u{10000}", Ordering::Greater),
            ("\u{1f600}", "\u{1f601}", Ordering::Less),
            ("\u{e9}", "\u{fb33}", Ordering::Less),
            ("\\r", "1", Ordering::Less),
            ("\\b", "\\u0001", Ordering::Greater),
            ("\\u001f", " ", Ordering::Less),
            ("a\\\"", "a#", Ordering::Less),
            ("a", "ab", Ordering::Less),
            ("ab", "ab", Ordering::Equal),
            ("b", "ab", Ordering::Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_keys(key(a), key(b)), want, "{a:?} {b:?}");
            assert_eq!(
                compare_decoded(a.as_bytes(), b.as_bytes()),
                want,
                "{a:?} {b:?}"
            );
            assert_eq!(compare_keys(key(b), key(a)), want.reverse(), "{b:?} {a:?}");
        }
    }

    #[test]
    fn skip_plain_stops_at_the_first_special_byte() {
        let text = b"abcdefghijklmnopqrstuvwxyz\x7f~ !";
        for special in [b'"', b'\\', 0x00, 0x1f, b'\n', 0x80, 0xc3, 0xff] {
            for at in 0..text.len() {
                let mut t = text.to_vec();
                t[at] = special;
                if at + 1 < t.len() {
                    t[at + 1] = b'"';
                }
                for start in 0..=at {
                    assert_eq!(skip_plain(&t, start), at, "{special} at {at} from {start}");
                }
            }
        }
        assert_eq!(skip_plain(text, 0), text.len());
        assert_eq!(skip_plain(b"", 0), 0);
    }
}
