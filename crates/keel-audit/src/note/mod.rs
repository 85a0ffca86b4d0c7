//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys (signature type 0x01).
//!
//! A note is a text ending in a newline, a blank line, and signature lines
//! `— <key name> base64(key ID || signature)`. A verifier key (`vkey`) is
//! `<name>+<hex key ID>+base64(0x01 || public key)`, and the key ID is the first four bytes of
//! `SHA-256(name || "\n" || 0x01 || public key)`, big-endian.

mod signer;
mod verifier;

use sha2::{Digest, Sha256};

pub use signer::NoteSigner;
pub use verifier::NoteVerifier;

use crate::Error;

/// The signature type byte of Ed25519 note signatures.
pub(crate) const ALG_ED25519: u8 = 0x01;
/// The largest note accepted or produced, in bytes.
pub(crate) const MAX_NOTE_BYTES: usize = 1 << 20;
/// The most signature lines a note may have.
pub(crate) const MAX_SIGNATURES: usize = 100;
/// What starts a signature line: an em dash and a space.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";

/// Whether `name` can name a note key: non-empty, no Unicode space, no `+`, no control character.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// Refuses a key name [`valid_name`] refuses.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidKeyName(name.to_owned()))
    }
}

/// The key ID of the Ed25519 key `public` named `name`.
pub(crate) fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Refuses text with an ASCII control character other than newline, as notes may not have any.
pub(crate) fn check_no_controls(text: &str) -> Result<(), Error> {
    if text.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(Error::MalformedNote(
            "a note must not contain control characters other than newline",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("example.com/log"));
        assert!(valid_name("PeterNeumann"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("a+b"));
        assert!(!valid_name("a\u{a0}b"));
        assert!(!valid_name("a\u{2028}b"));
        assert!(!valid_name("a\u{7f}b"));
        assert!(!valid_name("a\tb"));
    }
}
