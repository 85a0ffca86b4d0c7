//! Secrets at rest — webhooks' signing secrets, the AI gateway's provider credentials —
//! (AES-256-GCM, bound to their owner) and the webhook delivery signature
//! (`v1,<base64(HMAC-SHA256(secret, "{delivery_id}.{timestamp}.{payload}"))>`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// Prefix of sealed values, naming the format so it can change later.
const SEALED_PREFIX: &str = "v1:";

/// A 32-byte key for sealing secrets. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses standard base64 of exactly 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| Error::invalid("the secrets key must be base64 of 32 bytes"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid("the secrets key must be base64 of exactly 32 bytes"))?;
        Ok(Self(bytes))
    }

    /// A new random key.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::internal("no randomness for a new secrets key"))?;
        Ok(Self(bytes))
    }

    /// A key for another purpose, derived from this one (HMAC-SHA256 of `purpose`), so every
    /// replica sharing the secrets key derives the same one.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::hmac::sign(&key, purpose.as_bytes()).as_ref());
        out
    }

    /// Standard base64 of the key (for writing the key file).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

/// Seals and opens secrets with one key.
pub struct SecretCipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(***)")
    }
}

impl SecretCipher {
    pub fn new(key: &SecretKey) -> Result<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, &key.0)
            .map_err(|_| Error::internal("invalid secrets key"))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    /// Encrypts `secret` for `owner` (a webhook's ID, a gateway secret's ID and name): the owner
    /// is authenticated, so a sealed value copied to another owner does not open.
    pub fn seal(&self, owner: &str, secret: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| Error::internal("no randomness for a nonce"))?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut data,
            )
            .map_err(|_| Error::internal("cannot encrypt a secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// Decrypts a value from [`Self::seal`]; fails (without details) on a wrong key or owner.
    pub fn open(&self, owner: &str, sealed: &str) -> Result<String> {
        let fail = || {
            Error::internal(
                "cannot decrypt a stored secret: the secrets key differs from the one it was \
                 stored with",
            )
        };
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or_else(fail)?;
        let bytes = STANDARD.decode(body).map_err(|_| fail())?;
        if bytes.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut data,
            )
            .map_err(|_| fail())?;
        String::from_utf8(plain.to_vec()).map_err(|_| fail())
    }
}

/// The `X-MLflow-Signature` value of a delivery, as the reference's `_generate_hmac_signature`.
pub fn signature(secret: &str, delivery_id: &str, timestamp: &str, payload: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut mac = ring::hmac::Context::with_key(&key);
    mac.update(delivery_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_known_answer() {
        // python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b"s3cret",
        //   b"9b2f3a4e-1c1d-4a8e-9f5e-2b7c1d0e3f4a.1735787045.{\"entity\": \"registered_model\"}",
        //   hashlib.sha256).digest()).decode())'
        let sig = signature(
            "s3cret",
            "9b2f3a4e-1c1d-4a8e-9f5e-2b7c1d0e3f4a",
            "1735787045",
            "{\"entity\": \"registered_model\"}",
        );
        assert_eq!(sig, format!("v1,{}", KNOWN_ANSWER));
    }

    const KNOWN_ANSWER: &str = "dHbSw5EkIfz8HgphXPCOjqE16gregvih6pJpTv3ZguA=";

    #[test]
    fn sealed_secrets_round_trip_and_are_bound_to_their_owner() {
        let key = SecretKey::generate().expect("key");
        let cipher = SecretCipher::new(&key).expect("cipher");
        let sealed = cipher.seal("hook-1", "top secret").expect("seal");
        assert!(!sealed.contains("top secret"));
        assert_ne!(sealed, cipher.seal("hook-1", "top secret").expect("seal"));
        assert_eq!(cipher.open("hook-1", &sealed).expect("open"), "top secret");
        assert!(cipher.open("hook-2", &sealed).is_err());
        let other = SecretCipher::new(&SecretKey::generate().expect("key")).expect("cipher");
        assert!(other.open("hook-1", &sealed).is_err());
        assert!(cipher.open("hook-1", "garbage").is_err());
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let key = SecretKey::generate().expect("key");
        let again = SecretKey::from_base64(&key.to_base64()).expect("parse");
        assert_eq!(again.0, key.0);
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
    }
}
