//! Multipart uploads shared by every store: unguessable upload IDs, part numbers and the check
//! of a completion's part list. Each store keeps its own staged parts; these types are what a
//! client may name, each validated strictly before a store sees it.

use keel_core::{Error, Result};

/// Most parts one upload may have (S3's limit, and MLflow's client never needs more).
pub const MAX_PARTS: u32 = 10_000;

/// An upload's ID: 128 random bits as 32 lowercase hex characters. The ID is the only thing a
/// part URL carries, so it must be unguessable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    /// A fresh ID from the operating system's random number generator.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::internal(format!("cannot generate an upload ID: {e}")))?;
        Ok(Self(hex(&bytes)))
    }

    /// Accepts exactly 32 lowercase hex characters.
    pub fn parse(raw: &str) -> Result<Self> {
        let valid = raw.len() == 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(format!(
                "Invalid upload_id '{}': expected the 32-character ID returned by mpu/create",
                shown(raw)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UploadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A part's number, 1 to [`MAX_PARTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartNumber(u32);

impl PartNumber {
    pub fn new(n: i64) -> Result<Self> {
        match u32::try_from(n) {
            Ok(n) if (1..=MAX_PARTS).contains(&n) => Ok(Self(n)),
            _ => Err(Error::invalid(format!(
                "Invalid part number {n}: expected 1 to {MAX_PARTS}"
            ))),
        }
    }

    /// Parses a part number from a URL segment (plain decimal digits only).
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.is_empty() || raw.len() > 5 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(format!(
                "Invalid part number '{}': expected 1 to {MAX_PARTS}",
                shown(raw)
            )));
        }
        Self::new(raw.parse::<i64>().unwrap_or(0))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Zero-based position of the part.
    pub fn index(self) -> usize {
        (self.0 - 1) as usize
    }
}

/// A part named in a completion request: its number and the ETag its upload returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: PartNumber,
    pub etag: String,
}

/// Checks a completion's part list: parts numbered 1..=N exactly once each, in order. Returns
/// the ETags with surrounding quotes removed, in part order.
pub fn ordered_etags(parts: &[CompletedPart]) -> Result<Vec<&str>> {
    let mut etags = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let expected = i + 1;
        if part.part_number.get() as usize != expected {
            return Err(Error::invalid(format!(
                "Parts must be numbered 1 to {} in order, each once; found part {} at position {expected}",
                parts.len(),
                part.part_number.get()
            )));
        }
        let etag = part.etag.trim();
        let etag = etag
            .strip_prefix('"')
            .and_then(|e| e.strip_suffix('"'))
            .unwrap_or(etag);
        if etag.is_empty() {
            return Err(Error::invalid(format!(
                "Part {expected} has no ETag; send the ETag its upload returned"
            )));
        }
        etags.push(etag);
    }
    Ok(etags)
}

/// The error for a completion naming a part that was not uploaded (or not with that ETag).
pub fn part_mismatch(upload: &UploadId, part: usize) -> Error {
    Error::invalid(format!(
        "Part {part} of upload {upload} was not uploaded, or its ETag does not match the one \
         its upload returned"
    ))
}

/// The error for an unknown (finished, aborted or never created) upload.
pub fn unknown_upload(upload: &UploadId) -> Error {
    Error::not_found(format!(
        "No multipart upload '{upload}' is in progress (it was completed, aborted or never created)"
    ))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// The inverse of [`hex`]; `None` for anything but an even number of lowercase hex digits.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?))
        .collect()
}

/// Client input for an error message: escaped and bounded.
fn shown(raw: &str) -> String {
    raw.chars()
        .take(80)
        .flat_map(char::escape_default)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_are_random_hex_and_parsed_strictly() {
        let a = UploadId::random().expect("random");
        let b = UploadId::random().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(UploadId::parse(a.as_str()).ok(), Some(a));
        for bad in [
            "",
            "abc",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcdef0",
            "../../0123456789abcdef0123456789",
            "0123456789abcdef/123456789abcdef",
        ] {
            assert!(UploadId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn part_numbers() {
        assert_eq!(PartNumber::parse("1").map(PartNumber::get).ok(), Some(1));
        assert_eq!(
            PartNumber::parse("10000").map(PartNumber::index).ok(),
            Some(9999)
        );
        for bad in [
            "0",
            "10001",
            "-1",
            "+1",
            "1.0",
            "",
            "99999999999",
            "1e3",
            " 1",
        ] {
            assert!(PartNumber::parse(bad).is_err(), "{bad}");
        }
        assert!(PartNumber::new(0).is_err());
        assert!(PartNumber::new(i64::MAX).is_err());
    }

    fn part(n: i64, etag: &str) -> CompletedPart {
        CompletedPart {
            part_number: PartNumber::new(n).expect("valid"),
            etag: etag.to_owned(),
        }
    }

    #[test]
    fn completions_need_every_part_in_order() {
        assert_eq!(
            ordered_etags(&[part(1, "\"a\""), part(2, "b")]).ok(),
            Some(vec!["a", "b"])
        );
        assert!(ordered_etags(&[part(2, "a")]).is_err());
        assert!(ordered_etags(&[part(1, "a"), part(1, "a")]).is_err());
        assert!(ordered_etags(&[part(2, "a"), part(1, "b")]).is_err());
        assert!(ordered_etags(&[part(1, "\"\"")]).is_err());
        assert_eq!(ordered_etags(&[]).ok(), Some(vec![]));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00abff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("AB"), None);
    }
}
