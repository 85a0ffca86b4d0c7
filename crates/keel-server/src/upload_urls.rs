//! Signed part URLs of proxied multipart uploads. The client PUTs parts without its tracking
//! credentials, so each part URL carries a signature binding the upload ID and part number to
//! the user who created the upload and an expiry: possessing an upload ID (it appears in logs)
//! is not enough, and a URL works for its part only, until it expires. The key is derived from
//! the secrets key, so every replica checks what another signed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keel_core::{Error, ErrorCode};
use ring::hmac;

/// How long a part URL stays valid.
pub const PART_URL_LIFETIME_SECS: i64 = 24 * 60 * 60;

/// Signs and checks part URLs.
#[derive(Clone)]
pub struct PartUrlSigner {
    key: hmac::Key,
}

impl std::fmt::Debug for PartUrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartUrlSigner(***)")
    }
}

impl PartUrlSigner {
    /// A signer with a key derived from the secrets key.
    pub fn new(secrets_key: &keel_core::webhooks::SecretKey) -> Self {
        Self {
            key: hmac::Key::new(
                hmac::HMAC_SHA256,
                &secrets_key.derive("keel multipart part urls v1"),
            ),
        }
    }

    fn message(upload_id: &str, part: i64, user_id: i64, expires: i64) -> String {
        format!("{upload_id}\n{part}\n{user_id}\n{expires}")
    }

    /// The query string authorizing `part` of `upload_id` for `user_id` until `expires` (Unix
    /// seconds).
    pub fn query(&self, upload_id: &str, part: i64, user_id: i64, expires: i64) -> String {
        let tag = hmac::sign(
            &self.key,
            Self::message(upload_id, part, user_id, expires).as_bytes(),
        );
        format!(
            "user={user_id}&expires={expires}&signature={}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Checks a part request's query string at `now` (Unix seconds).
    pub fn check(&self, upload_id: &str, part: i64, query: &str, now: i64) -> Result<(), Error> {
        let denied = |why: &str| {
            Error::new(
                ErrorCode::PermissionDenied,
                format!("This part upload URL is not valid: {why}."),
            )
        };
        let mut user = None;
        let mut expires = None;
        let mut signature = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "user" => user = v.parse::<i64>().ok(),
                "expires" => expires = v.parse::<i64>().ok(),
                "signature" => signature = URL_SAFE_NO_PAD.decode(v.as_bytes()).ok(),
                _ => {}
            }
        }
        let (Some(user), Some(expires), Some(signature)) = (user, expires, signature) else {
            return Err(denied("it is not signed"));
        };
        if now > expires {
            return Err(denied("it has expired"));
        }
        hmac::verify(
            &self.key,
            Self::message(upload_id, part, user, expires).as_bytes(),
            &signature,
        )
        .map_err(|_| denied("its signature does not match"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(byte: u8) -> PartUrlSigner {
        PartUrlSigner::new(&keel_core::webhooks::SecretKey::from_bytes([byte; 32]))
    }

    #[test]
    fn a_signed_part_url_works_for_its_part_only_until_it_expires() {
        let s = signer(1);
        let q = s.query("up-1", 3, 7, 1_000);
        assert!(s.check("up-1", 3, &q, 999).is_ok());
        assert!(s.check("up-1", 4, &q, 999).is_err(), "another part");
        assert!(s.check("up-2", 3, &q, 999).is_err(), "another upload");
        assert!(s.check("up-1", 3, &q, 1_001).is_err(), "expired");
        assert!(signer(2).check("up-1", 3, &q, 999).is_err(), "another key");
        assert!(
            s.check("up-1", 3, &q.replace("user=7", "user=8"), 999)
                .is_err()
        );
        assert!(s.check("up-1", 3, "", 999).is_err());
        assert!(
            s.check("up-1", 3, "user=7&expires=1000&signature=!!!", 999)
                .is_err()
        );
    }
}
