//! Verifying notes against one verifier key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};

use super::{
    ALG_ED25519, MAX_NOTE_BYTES, MAX_SIGNATURES, SIG_PREFIX, check_no_controls, key_id, valid_name,
};
use crate::Error;

/// Verifies notes signed by one Ed25519 key, given as a verifier key (`vkey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// The verifier of the verifier key `vkey`: `<name>+<8 hex digits key ID>+base64(0x01 ||
    /// 32-byte Ed25519 public key)`, whose key ID must be the one the name and key give.
    pub fn parse(vkey: &str) -> Result<Self, Error> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::InvalidVerifierKey(
                "expected <name>+<key id>+<base64 key>",
            ));
        };
        if !valid_name(name) {
            return Err(Error::InvalidVerifierKey("invalid key name"));
        }
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidVerifierKey(
                "the key id must be 8 hexadecimal digits",
            ));
        }
        let id = u32::from_str_radix(id, 16)
            .map_err(|_| Error::InvalidVerifierKey("the key id must be 8 hexadecimal digits"))?;
        let key = STANDARD
            .decode(key)
            .map_err(|_| Error::InvalidVerifierKey("the key is not valid base64"))?;
        let Some((&alg, public)) = key.split_first() else {
            return Err(Error::InvalidVerifierKey("the key is empty"));
        };
        if alg != ALG_ED25519 {
            return Err(Error::InvalidVerifierKey(
                "unknown signature type (only Ed25519, 0x01, is supported)",
            ));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| Error::InvalidVerifierKey("an Ed25519 public key has 32 bytes"))?;
        if key_id(name, &public) != id {
            return Err(Error::InvalidVerifierKey(
                "the key id does not match the name and key",
            ));
        }
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| Error::InvalidVerifierKey("not an Ed25519 public key"))?;
        Ok(Self::from_parts(name.to_owned(), id, key))
    }

    pub(crate) fn from_parts(name: String, key_id: u32, key: VerifyingKey) -> Self {
        Self { name, key_id, key }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Verifies `note` and returns its text (with its final newline).
    ///
    /// Signatures by other keys (another name or key ID) are ignored, as the spec requires. The
    /// note is refused if it is malformed ([`Error::MalformedNote`]: not the signed-note format,
    /// a control character, over 1 MiB or over 100 signature lines), if a signature by this key
    /// does not verify ([`Error::InvalidSignature`]), or if it has no signature by this key
    /// ([`Error::UnverifiedNote`]).
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, Error> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(Error::MalformedNote("the note is larger than 1 MiB"));
        }
        check_no_controls(note)?;
        let Some(split) = note.rfind("\n\n") else {
            return Err(Error::MalformedNote("no blank line before the signatures"));
        };
        let text = &note[..split + 1];
        let sigs = &note[split + 2..];
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(Error::MalformedNote(
                "the signatures must end with a newline",
            ));
        };
        let mut verified = false;
        for (n, line) in sigs.split('\n').enumerate() {
            if n >= MAX_SIGNATURES {
                return Err(Error::MalformedNote("more than 100 signatures"));
            }
            let (name, id, sig) = parse_signature_line(line)?;
            if name != self.name || id != self.key_id {
                continue;
            }
            let ok = <[u8; 64]>::try_from(sig).is_ok_and(|sig| {
                self.key
                    .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
                    .is_ok()
            });
            if !ok {
                return Err(Error::InvalidSignature(format!(
                    "{}+{:08x}",
                    self.name, self.key_id
                )));
            }
            verified = true;
        }
        if !verified {
            return Err(Error::UnverifiedNote(format!(
                "{}+{:08x}",
                self.name, self.key_id
            )));
        }
        Ok(text)
    }
}

/// The key name, key ID and signature bytes of a signature line (without its newline).
fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), Error> {
    let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
        return Err(Error::MalformedNote(
            "a signature line must start with an em dash and a space",
        ));
    };
    let Some((name, b64)) = rest.split_once(' ') else {
        return Err(Error::MalformedNote(
            "a signature line must be \u{2014} <name> <signature>",
        ));
    };
    if !valid_name(name) {
        return Err(Error::MalformedNote("invalid key name in a signature line"));
    }
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| Error::MalformedNote("a signature is not valid base64"))?;
    if raw.len() < 5 {
        return Err(Error::MalformedNote("a signature is too short"));
    }
    let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    Ok((name, id, raw[4..].to_vec()))
}
