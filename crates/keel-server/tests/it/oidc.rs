//! Bearer JWTs through the whole app: a user seen for the first time by many concurrent
//! requests gets exactly one account, and every one of those requests is served.

use axum::http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keel_auth::Permission;
use keel_auth::oidc::{JwksSource, JwtVerifier, OidcSettings};

use crate::support::TestApp;

const ISSUER: &str = "https://idp.example.test";

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../keel-auth/tests/fixtures/oidc")
        .join(name)
}

fn token(sub: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = serde_json::json!({"iss": ISSUER, "aud": "keel", "sub": sub, "exp": now + 600});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    let pem = std::fs::read(fixture("rsa.pem")).expect("key");
    let key = EncodingKey::from_rsa_pem(&pem).expect("rsa key");
    jsonwebtoken::encode(&header, &claims, &key).expect("sign")
}

#[tokio::test]
async fn concurrent_first_requests_of_a_new_user_make_one_account() {
    let app = TestApp::secured(Permission::NoPermissions, None).await;
    let mut settings = OidcSettings::new(ISSUER, vec!["keel".into()]);
    settings.jwks = JwksSource::File(fixture("jwks.json"));
    let verifier = JwtVerifier::new(settings).await.expect("verifier");
    app.auth
        .set_oidc(std::sync::Arc::new(verifier))
        .expect("set");

    let bearer = format!("Bearer {}", token("newcomer"));
    let requests = (0..16).map(|_| {
        app.call_as(
            &bearer,
            Method::GET,
            "/api/2.0/mlflow/experiments/search?max_results=1",
            None,
        )
    });
    for raw in futures_util::future::join_all(requests).await {
        assert_eq!(raw.status, 200, "{}", raw.json());
    }
    let users = app.auth.store().list_users().await.expect("users");
    assert_eq!(users.iter().filter(|u| u.username == "newcomer").count(), 1);
    assert!(
        users
            .iter()
            .filter(|u| u.username == "newcomer")
            .all(|u| u.password_hash.is_none() && !u.is_admin),
        "created without a password, not an administrator"
    );

    // The same token after the account exists, and a replayed token: still the same account.
    let again = app
        .call_as(
            &bearer,
            Method::GET,
            "/api/2.0/mlflow/experiments/search",
            None,
        )
        .await;
    assert_eq!(again.status, 200);
}
