//! The sign-in cookie, PKCE and the checks made before any request to the identity provider
//! (the whole flow runs against a real provider in `e2e/test_oidc.py`).

use super::*;
use crate::oidc::{JwksSource, OidcSettings};

async fn client(key: [u8; 32]) -> SsoClient {
    let mut s = OidcSettings::new("https://idp.example.test", vec!["keel".into()]);
    s.jwks = JwksSource::File(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oidc/jwks.json"),
    );
    SsoClient {
        authorization_endpoint: "https://idp.example.test/authorize?tenant=1".into(),
        token_endpoint: "https://idp.example.test/token".into(),
        settings: SsoSettings {
            client_id: "keel".into(),
            client_secret: None,
            scopes: "profile email".into(),
            redirect_url: None,
        },
        verifier: Arc::new(JwtVerifier::new(s).await.expect("verifier")),
        key: hmac::Key::new(hmac::HMAC_SHA256, &key),
        http: crate::oidc::http_client().expect("client"),
        rng: SystemRandom::new(),
    }
}

fn params(url: &str) -> std::collections::HashMap<String, String> {
    let query = url.split_once('?').expect("query").1;
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn a_sign_in_asks_for_a_code_with_an_s256_challenge_of_the_sealed_verifier() {
    let sso = client([7; 32]).await;
    let begun = sso
        .begin(
            "https://keel.example/api/3.0/keel/auth/oidc/callback",
            "#/models",
            1000,
        )
        .expect("begin");
    let p = params(&begun.authorize_url);
    assert!(
        begun
            .authorize_url
            .starts_with("https://idp.example.test/authorize?tenant=1&")
    );
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["client_id"], "keel");
    assert_eq!(p["scope"], "openid profile email");
    assert_eq!(p["code_challenge_method"], "S256");
    let pending = sso.open(&begun.cookie).expect("the cookie opens");
    assert_eq!(p["state"], pending.state);
    assert_eq!(p["nonce"], pending.nonce);
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        pending.verifier.as_bytes(),
    ));
    assert_eq!(p["code_challenge"], challenge);
    assert!(
        !begun.authorize_url.contains(&pending.verifier),
        "the verifier stays secret"
    );
    assert_eq!(pending.return_to, "#/models");
    assert_eq!(pending.expires, 1000 + SIGN_IN_LIFETIME_SECS);
    // Every sign-in is different.
    let again = sso
        .begin("https://keel.example/cb", "#/", 1000)
        .expect("begin");
    assert_ne!(sso.open(&again.cookie).expect("opens").state, pending.state);
}

#[tokio::test]
async fn a_tampered_or_foreign_cookie_does_not_open() {
    let sso = client([7; 32]).await;
    let cookie = sso
        .begin("https://keel.example/cb", "#/", 1000)
        .expect("begin")
        .cookie;
    let (payload, tag) = cookie.split_once('.').expect("sealed");
    let mut forged: Vec<u8> = payload.bytes().collect();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let forged = format!("{}.{tag}", String::from_utf8(forged).expect("ascii"));
    assert!(sso.open(&forged).is_none());
    assert!(sso.open(payload).is_none());
    assert!(sso.open("not.base64!").is_none());
    let other = client([8; 32]).await;
    assert!(other.open(&cookie).is_none(), "another deployment's key");
}

#[tokio::test]
async fn callbacks_without_the_cookie_late_or_with_another_state_are_refused() {
    let sso = client([7; 32]).await;
    let begun = sso
        .begin("https://keel.example/cb", "#/", 1000)
        .expect("begin");
    let state = sso.open(&begun.cookie).expect("opens").state;
    let cb = "https://keel.example/cb";
    let err = sso
        .finish("code", &state, None, cb, 1001)
        .await
        .expect_err("no cookie");
    assert!(err.contains("not started here"), "{err}");
    let late = 1001 + SIGN_IN_LIFETIME_SECS;
    let err = sso
        .finish("code", &state, Some(&begun.cookie), cb, late)
        .await
        .expect_err("late");
    assert!(err.contains("too long"), "{err}");
    let err = sso
        .finish("code", "another-state", Some(&begun.cookie), cb, 1001)
        .await
        .expect_err("state");
    assert!(err.contains("state does not match"), "{err}");
    let huge = "c".repeat(MAX_CALLBACK_PARAM_BYTES + 1);
    let err = sso
        .finish(&huge, &state, Some(&begun.cookie), cb, 1001)
        .await
        .expect_err("code");
    assert!(err.contains("authorization code"), "{err}");
}

#[test]
fn only_ui_routes_are_returned_to() {
    for ok in ["#/", "#/models", "#/experiments/1/runs/abc?x=1"] {
        assert_eq!(safe_return_to(ok), ok);
    }
    for bad in [
        "https://evil.example",
        "//evil.example",
        "/api",
        "#/a b",
        "#/\n",
        "",
        "#x",
    ] {
        assert_eq!(safe_return_to(bad), "#/", "{bad}");
    }
}
