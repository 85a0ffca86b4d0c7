//! Tests of bearer JWT verification against the test-only keys in `tests/fixtures/oidc`.

use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

const ISSUER: &str = "https://idp.example.test";
const AUDIENCE: &str = "keel";
const RSA: &[u8] = include_bytes!("../../tests/fixtures/oidc/rsa.pem");
const EC: &[u8] = include_bytes!("../../tests/fixtures/oidc/ec.pem");
const OTHER_RSA: &[u8] = include_bytes!("../../tests/fixtures/oidc/other-rsa.pem");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oidc")
        .join(name)
}

async fn verifier() -> JwtVerifier {
    let mut s = OidcSettings::new(ISSUER, vec![AUDIENCE.into()]);
    s.jwks = JwksSource::File(fixture("jwks.json"));
    s.admin_groups = vec!["keel-admins".into()];
    s.leeway = Duration::from_secs(60);
    JwtVerifier::new(s).await.expect("verifier")
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let now = unix_now();
    let mut c = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 600, "iat": now,
        "groups": ["ml-team", "keel-admins"], "name": "Alice A.", "email": "alice@example.test",
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            if v.is_null() {
                c.remove(k);
            } else {
                c.insert(k.clone(), v.clone());
            }
        }
    }
    c
}

fn rs256(kid: &str, pem: &[u8], claims: &serde_json::Value) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_pem(pem).expect("rsa key");
    jsonwebtoken::encode(&h, claims, &key).expect("sign")
}

fn es256(claims: &serde_json::Value) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("ec-1".into());
    let key = EncodingKey::from_ec_pem(EC).expect("ec key");
    jsonwebtoken::encode(&h, claims, &key).expect("sign")
}

#[tokio::test]
async fn rs256_and_es256_tokens_name_their_user_and_groups() {
    let v = verifier().await;
    for token in [
        rs256("rsa-1", RSA, &claims(json!({}))),
        es256(&claims(json!({}))),
    ] {
        let id = v.verify(&token).await.expect("valid token");
        assert_eq!(id.username, "alice");
        assert_eq!(id.groups, vec!["keel-admins", "ml-team"]);
        assert!(id.is_admin);
        assert_eq!(id.display_name.as_deref(), Some("Alice A."));
        assert_eq!(id.email.as_deref(), Some("alice@example.test"));
    }
    let plain = v
        .verify(&rs256(
            "rsa-1",
            RSA,
            &claims(json!({"groups": "ml-team", "sub": "bob"})),
        ))
        .await
        .expect("valid");
    assert_eq!((plain.username.as_str(), plain.is_admin), ("bob", false));
    assert_eq!(plain.groups, vec!["ml-team"]);
}

#[tokio::test]
async fn bad_tokens_are_refused_with_a_reason() {
    let v = verifier().await;
    let now = unix_now();
    let cases = [
        (
            rs256("rsa-1", RSA, &claims(json!({"exp": now - 3600}))),
            "expired",
        ),
        (
            rs256("rsa-1", RSA, &claims(json!({"aud": "someone-else"}))),
            "audience",
        ),
        (
            rs256("rsa-1", RSA, &claims(json!({"iss": "https://evil.test"}))),
            "issuer",
        ),
        (
            rs256("rsa-1", RSA, &claims(json!({"nbf": now + 3600}))),
            "not valid yet",
        ),
        (rs256("rsa-1", RSA, &claims(json!({"exp": null}))), "'exp'"),
        (rs256("rsa-1", RSA, &claims(json!({"aud": null}))), "'aud'"),
        (rs256("rsa-1", OTHER_RSA, &claims(json!({}))), "signature"),
        (
            rs256("unknown", OTHER_RSA, &claims(json!({}))),
            "does not publish",
        ),
        (
            rs256("rsa-1", RSA, &claims(json!({"sub": null}))),
            "'sub' claim",
        ),
        (
            rs256("rsa-1", RSA, &claims(json!({"sub": "a:b"}))),
            "'sub' claim",
        ),
        ("not.a.jwt".to_owned(), "not a valid JWT"),
        ("garbage".to_owned(), "not a valid JWT"),
    ];
    for (token, expected) in cases {
        let err = v.verify(&token).await.expect_err(expected);
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[tokio::test]
async fn expiry_allows_the_configured_clock_skew() {
    let v = verifier().await;
    let now = unix_now();
    let token = rs256("rsa-1", RSA, &claims(json!({"exp": now - 20})));
    assert!(v.verify(&token).await.is_ok(), "within 60 s of skew");
}

#[tokio::test]
async fn unsigned_and_symmetric_tokens_are_refused() {
    let v = verifier().await;
    let body = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
    // `alg: none` with no signature.
    let none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
    );
    let err = v.verify(&none).await.expect_err("alg none");
    assert!(err.contains("algorithm"), "{err}");
    // HS256 keyed with the issuer's public key (the key-confusion attack).
    let jwks = std::fs::read(fixture("jwks.json")).expect("jwks");
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("rsa-1".into());
    let hs = jsonwebtoken::encode(
        &h,
        &claims(json!({})),
        &EncodingKey::from_secret(&jwks).expect("hmac key"),
    )
    .expect("sign");
    let err = v.verify(&hs).await.expect_err("HS256");
    assert!(err.contains("RS256 or ES256"), "{err}");
    // An RS256 header on an ES256 key ID.
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("ec-1".into());
    let wrong = jsonwebtoken::encode(
        &h,
        &claims(json!({})),
        &EncodingKey::from_rsa_pem(RSA).expect("key"),
    )
    .expect("sign");
    assert!(v.verify(&wrong).await.is_err());
}

#[tokio::test]
async fn groups_are_bounded_and_never_a_users_own_role() {
    let v = verifier().await;
    let many: Vec<String> = (0..(MAX_GROUPS + 50)).map(|i| format!("g{i:04}")).collect();
    let id = v
        .verify(&rs256("rsa-1", RSA, &claims(json!({"groups": many}))))
        .await
        .expect("valid");
    assert_eq!(id.groups.len(), MAX_GROUPS);
    let id = v
        .verify(&rs256(
            "rsa-1",
            RSA,
            &claims(json!({"groups": ["__user_1__", "", "x".repeat(MAX_GROUP_BYTES + 1), "ok"]})),
        ))
        .await
        .expect("valid");
    assert_eq!(id.groups, vec!["ok"]);
}

#[tokio::test]
async fn key_files_without_usable_keys_refuse_to_start() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).expect("write");
    let mut s = OidcSettings::new(ISSUER, vec![AUDIENCE.into()]);
    s.jwks = JwksSource::File(path);
    let err = JwtVerifier::new(s).await.expect_err("no usable key");
    assert!(err.message.contains("no RS256 or ES256"), "{}", err.message);
    let mut s = OidcSettings::new(ISSUER, Vec::new());
    s.jwks = JwksSource::File(fixture("jwks.json"));
    assert!(JwtVerifier::new(s).await.is_err(), "no audience");
}
