//! Opaque page tokens: clients pass back what they were given, and nothing else is accepted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};

const PREFIX: &str = "keel:offset:";

/// Encodes the offset of the next page.
pub fn encode(offset: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{offset}"))
}

/// Decodes a token from a previous response; an absent or empty token means the first page.
pub fn decode(token: Option<&str>) -> Result<i64> {
    let token = match token {
        None | Some("") => return Ok(0),
        Some(t) => t,
    };
    let invalid = || {
        Error::invalid(format!(
            "Invalid page token '{token}'. It could not be decoded."
        ))
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let offset: i64 = text
        .strip_prefix(PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)?;
    if offset < 0 {
        return Err(invalid());
    }
    Ok(offset)
}

/// Turns `limit + 1` fetched rows into a page: the extra row only signals that more exist.
pub fn page_from<T>(mut rows: Vec<T>, offset: i64, limit: i64) -> crate::Page<T> {
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_page_token = if rows.len() > limit_usize {
        rows.truncate(limit_usize);
        Some(encode(offset + limit))
    } else {
        None
    };
    crate::Page {
        items: rows,
        next_page_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(decode(Some(&encode(1234))).ok(), Some(1234));
        assert_eq!(decode(None).ok(), Some(0));
        assert_eq!(decode(Some("")).ok(), Some(0));
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "x",
            "!!!",
            "a2VlbDpvZmZzZXQ6LTE",
            &URL_SAFE_NO_PAD.encode("offset:5"),
        ] {
            let err = decode(Some(bad)).err();
            assert!(err.is_some(), "{bad}");
        }
    }

    #[test]
    fn page_signals_more() {
        let page = page_from(vec![1, 2, 3], 0, 2);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(
            page.next_page_token
                .as_deref()
                .map(|t| decode(Some(t)).ok()),
            Some(Some(2))
        );
        assert_eq!(page_from(vec![1, 2], 0, 2).next_page_token, None);
    }
}
