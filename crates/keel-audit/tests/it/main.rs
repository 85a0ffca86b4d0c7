//! Integration tests of keel-audit: tree proofs against a naive RFC 9162 reference and published
//! vectors, signed notes, checkpoints, canonical JSON, and bundles under every kind of tampering.

mod bundle;
mod canonical;
mod checkpoint;
mod note;
mod reference;
mod tree;
mod vectors;

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of lowercase or uppercase hex.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A 32-byte hash from hex.
pub fn hash(s: &str) -> [u8; 32] {
    unhex(s).try_into().expect("32 bytes")
}
