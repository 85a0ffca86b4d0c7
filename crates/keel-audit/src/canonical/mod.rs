//! RFC 8785 (JCS) canonical JSON: the exact bytes of an audit entry, and a fast check of them.
//!
//! [`canonical_json`] produces the canonical bytes (via `serde_json_canonicalizer`).
//! [`is_canonical`] tells whether bytes are already canonical, i.e. whether
//! `canonical_json(parse(bytes)) == bytes`, without building a value: it validates the JSON in
//! one pass and checks the canonical form as it goes (no whitespace, sorted unique keys, minimal
//! string escapes, numbers as ECMAScript prints them), so verifying a bundle stays fast.

mod check;

use serde_json::Value;

use crate::Error;

/// The RFC 8785 canonical form of `value`.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, Error> {
    Ok(serde_json_canonicalizer::to_vec(value)?)
}

/// Whether `bytes` are RFC 8785 canonical JSON: exactly what [`canonical_json`] gives for the
/// value they parse to (with `serde_json`'s parser and its nesting limit of 127 levels).
pub fn is_canonical(bytes: &[u8]) -> bool {
    check::is_canonical(bytes)
}
