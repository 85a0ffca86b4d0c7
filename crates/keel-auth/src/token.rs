//! API tokens. A token reads `keel_<id>_<secret>`: the ID (12 hex digits) finds its row, the
//! secret (256 bits from the operating system, base64url) proves possession. Only the secret's
//! SHA-256 is stored; the token's text is shown once, when it is issued. A 256-bit secret needs
//! no slow hash: nobody can guess it, so a fast digest is enough and costs no CPU per request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use keel_core::{Error, Result};

const PREFIX: &str = "keel_";
const ID_HEX_DIGITS: usize = 12;
const SECRET_BYTES: usize = 32;

/// A freshly issued token: its text for the caller (once) and what the store keeps.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: String,
    /// The whole token, `keel_<id>_<secret>`.
    pub text: String,
    pub secret_sha256: Vec<u8>,
}

/// Issues a new token with a random ID and secret.
pub fn issue() -> Result<IssuedToken> {
    let rng = SystemRandom::new();
    let mut id = [0u8; ID_HEX_DIGITS / 2];
    let mut secret = [0u8; SECRET_BYTES];
    rng.fill(&mut id)
        .and_then(|()| rng.fill(&mut secret))
        .map_err(|_| Error::internal("the system's random source failed"))?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let secret = URL_SAFE_NO_PAD.encode(secret);
    Ok(IssuedToken {
        text: format!("{PREFIX}{id}_{secret}"),
        secret_sha256: sha256(&secret),
        id,
    })
}

/// Whether a bearer token is one of Keel's own (rather than, say, a JWT).
pub fn is_keel_token(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// A presented token split into its ID and secret, if it has a Keel token's shape.
pub fn parse(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_at_checked(ID_HEX_DIGITS)?;
    let secret = secret.strip_prefix('_')?;
    let well_formed = id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some((id, secret))
}

/// Whether a presented secret is the one whose digest was stored, compared in constant time.
pub fn secret_matches(secret: &str, stored_sha256: &[u8]) -> bool {
    sha256(secret).ct_eq(stored_sha256).into()
}

fn sha256(secret: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, secret.as_bytes())
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_and_match_only_themselves() {
        let a = issue().expect("issue");
        let b = issue().expect("issue");
        assert_ne!(a.text, b.text);
        let (id, secret) = parse(&a.text).expect("parses");
        assert_eq!(id, a.id);
        assert!(secret_matches(secret, &a.secret_sha256));
        assert!(!secret_matches(secret, &b.secret_sha256));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let good = issue().expect("issue").text;
        for bad in [
            "",
            "keel_",
            "keel_abc",
            &good[..good.len() - 1],
            &format!("{good}x"),
            &good.replacen("keel_", "kiel_", 1),
            &good.to_uppercase(),
            "keel_0123456789ab_ünïcödé",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
