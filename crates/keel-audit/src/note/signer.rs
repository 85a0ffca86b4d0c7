//! Signing notes with an Ed25519 key, and reading or making that key as PKCS#8 PEM.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};

use super::{
    ALG_ED25519, MAX_NOTE_BYTES, NoteVerifier, SIG_PREFIX, check_name, check_no_controls, key_id,
};
use crate::Error;

/// Signs notes with one named Ed25519 key. Its `Debug` shows the name and key ID, never the key.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    key_id: u32,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer named `name` (non-empty, without spaces, `+` or control characters).
    pub fn new(name: &str, key: SigningKey) -> Result<Self, Error> {
        check_name(name)?;
        let key_id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// A fresh Ed25519 private key from the operating system's random generator, as the PKCS#8
    /// PEM `openssl genpkey -algorithm ed25519` writes (a v1 `PRIVATE KEY`, no public key).
    pub fn generate_pem() -> Result<String, Error> {
        // Written in place: KeypairBytes wipes its secret when dropped.
        let mut der = KeypairBytes {
            secret_key: [0u8; 32],
            public_key: None,
        };
        getrandom::fill(&mut der.secret_key).map_err(|e| Error::Random(e.to_string()))?;
        let pem = der
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::InvalidKey(e.to_string()))?;
        Ok(pem.as_str().to_owned())
    }

    /// A signer named `name` with the Ed25519 private key in `pem`: a PKCS#8 `PRIVATE KEY` PEM
    /// as openssl writes it (with or without the public key).
    pub fn from_pem(name: &str, pem: &str) -> Result<Self, Error> {
        let key = SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| Error::InvalidKey(format!("not a PKCS#8 PEM Ed25519 private key: {e}")))?;
        Self::new(name, key)
    }

    /// The key name: the name in signature lines and verifier keys.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The verifier key (`vkey`): `<name>+<8 hex digits key ID>+base64(0x01 || public key)`.
    pub fn verifier_key(&self) -> String {
        let mut key = Vec::with_capacity(33);
        key.push(ALG_ED25519);
        key.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(key))
    }

    /// The verifier of this signer's notes.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier::from_parts(self.name.clone(), self.key_id, self.key.verifying_key())
    }

    /// The note of `text` signed by this key: `text`, a blank line and the signature line.
    /// `text` must be non-empty, end with a newline and have no other control characters.
    pub fn sign(&self, text: &str) -> Result<String, Error> {
        if !text.ends_with('\n') {
            return Err(Error::MalformedNote(
                "the text of a note must be non-empty and end with a newline",
            ));
        }
        check_no_controls(text)?;
        let signature = self
            .key
            .try_sign(text.as_bytes())
            .map_err(|e| Error::InvalidKey(e.to_string()))?;
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&self.key_id.to_be_bytes());
        sig.extend_from_slice(&signature.to_bytes());
        let note = format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(sig)
        );
        if note.len() > MAX_NOTE_BYTES {
            return Err(Error::MalformedNote("the note would be larger than 1 MiB"));
        }
        Ok(note)
    }
}
