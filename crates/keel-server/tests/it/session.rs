//! The web UI's sign-in: the session cookie's attributes, what it authenticates and what it
//! does not, sign-out, password changes, throttling and malformed or cross-site attempts.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keel_auth::Permission;
use keel_auth::entities::AccountKind;
use serde_json::{Value, json};

use crate::support::{Raw, TestApp};

const LOGIN: &str = "/ajax-api/3.0/keel/auth/login";
const LOGOUT: &str = "/ajax-api/3.0/keel/auth/logout";
const SESSION: &str = "/ajax-api/3.0/keel/auth/session";
const PASSWORD: &str = "carol-password-1";

async fn app() -> TestApp {
    let app = TestApp::secured(Permission::NoPermissions, None).await;
    app.auth
        .create_user("carol", Some(PASSWORD), false, AccountKind::User)
        .await
        .expect("carol");
    app
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Raw {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&v).expect("json"))
        }
        None => Body::empty(),
    };
    app.send(req.body(body).expect("request")).await
}

async fn login(app: &TestApp, username: &str, password: &str, headers: &[(&str, &str)]) -> Raw {
    let body = json!({"username": username, "password": password});
    send(app, Method::POST, LOGIN, Some(body), headers).await
}

fn set_cookie(raw: &Raw) -> String {
    raw.headers
        .get("set-cookie")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default()
}

/// `keel_session=<value>` from a login's Set-Cookie.
fn cookie_of(raw: &Raw) -> String {
    set_cookie(raw).split(';').next().expect("pair").to_owned()
}

async fn session_with(app: &TestApp, cookie: &str) -> Raw {
    send(app, Method::GET, SESSION, None, &[("cookie", cookie)]).await
}

#[tokio::test]
async fn a_login_sets_a_strict_httponly_cookie_that_authenticates_the_ui() {
    let app = app().await;
    let raw = login(&app, "carol", PASSWORD, &[]).await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    let body = raw.json();
    assert_eq!(body["user"]["username"], "carol");
    assert_eq!(body["method"], "session");
    assert!(body["expires_at"].as_i64().expect("expiry") > 0);
    let attributes = set_cookie(&raw);
    for want in [
        "keel_session=keel_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(attributes.contains(want), "{want} in {attributes}");
    }
    assert!(!attributes.contains("Secure"), "plain HTTP: {attributes}");
    assert_eq!(raw.headers["cache-control"], "no-store");

    let cookie = cookie_of(&raw);
    let me = session_with(&app, &cookie).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["user"]["username"], "carol");
    assert_eq!(me.json()["method"], "session");
    // Any API route accepts it; carol holds nothing, so the search is empty but allowed.
    let search = send(
        &app,
        Method::GET,
        "/ajax-api/2.0/mlflow/experiments/search?max_results=10",
        None,
        &[("cookie", &format!("theme=dark; {cookie}"))],
    )
    .await;
    assert_eq!(search.status, StatusCode::OK, "{:?}", search.json());
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure() {
    let app = app().await;
    let raw = login(&app, "carol", PASSWORD, &[("x-forwarded-proto", "https")]).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert!(
        set_cookie(&raw).contains("; Secure"),
        "{}",
        set_cookie(&raw)
    );
}

#[tokio::test]
async fn wrong_passwords_get_401_without_a_browser_challenge_and_are_throttled() {
    let app = app().await;
    let raw = login(&app, "carol", "wrong-password-1", &[]).await;
    assert_eq!(raw.status, StatusCode::UNAUTHORIZED);
    assert_eq!(raw.json()["message"], "Invalid username or password.");
    assert!(raw.headers.get("www-authenticate").is_none());
    assert!(raw.headers.get("set-cookie").is_none());
    let unknown = login(&app, "nobody", "wrong-password-1", &[]).await;
    assert_eq!(unknown.json()["message"], "Invalid username or password.");
    let mut last = StatusCode::OK;
    for _ in 0..12 {
        last = login(&app, "carol", "wrong-password-1", &[]).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Throttled even with the right password, until the lock expires.
    let locked = login(&app, "carol", PASSWORD, &[]).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn malformed_and_cross_site_logins_are_refused() {
    let app = app().await;
    for body in [
        json!({}),
        json!({"username": "carol"}),
        json!({"password": PASSWORD}),
    ] {
        let raw = send(&app, Method::POST, LOGIN, Some(body.clone()), &[]).await;
        assert_eq!(raw.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let typed = send(&app, Method::POST, LOGIN, Some(json!({"username": 7})), &[]).await;
    assert_eq!(typed.status, StatusCode::BAD_REQUEST);
    let huge = json!({"username": "carol", "password": "x".repeat(17 * 1024 * 1024)});
    let raw = send(&app, Method::POST, LOGIN, Some(huge), &[]).await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    // A page on another site cannot sign the browser in (login CSRF).
    let raw = login(
        &app,
        "carol",
        PASSWORD,
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    assert!(raw.headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let app = app().await;
    let cookie = cookie_of(&login(&app, "carol", PASSWORD, &[]).await);
    let out = send(&app, Method::POST, LOGOUT, None, &[("cookie", &cookie)]).await;
    assert_eq!(out.status, StatusCode::OK);
    let cleared = set_cookie(&out);
    assert!(
        cleared.starts_with("keel_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = session_with(&app, &cookie).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    // Signing out again, or without a session, is not an error.
    for headers in [vec![("cookie", cookie.as_str())], vec![]] {
        let again = send(&app, Method::POST, LOGOUT, None, &headers).await;
        assert_eq!(again.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn api_tokens_and_forged_values_are_not_sessions() {
    let app = app().await;
    let carol = app.auth.user("carol").await.expect("carol");
    let (_, token) = app
        .auth
        .issue_token(&carol, "ci", Vec::new(), None)
        .await
        .expect("token");
    let as_cookie = session_with(&app, &format!("keel_session={token}")).await;
    assert_eq!(as_cookie.status, StatusCode::UNAUTHORIZED);
    assert!(
        as_cookie.json()["message"]
            .as_str()
            .expect("msg")
            .contains("sign in again")
    );
    // Logging out with an API token in the cookie does not revoke it.
    send(
        &app,
        Method::POST,
        LOGOUT,
        None,
        &[("cookie", &format!("keel_session={token}"))],
    )
    .await;
    let bearer = format!("Bearer {token}");
    let still = send(
        &app,
        Method::GET,
        SESSION,
        None,
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(still.status, StatusCode::OK);
    assert_eq!(still.json()["method"], "token");

    let cookie = cookie_of(&login(&app, "carol", PASSWORD, &[]).await);
    let forged = format!("{}x", &cookie[..cookie.len() - 1]);
    assert_eq!(
        session_with(&app, &forged).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        session_with(&app, "keel_session=garbage").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_password_change_signs_out_every_session() {
    let app = app().await;
    let first = cookie_of(&login(&app, "carol", PASSWORD, &[]).await);
    let second = cookie_of(&login(&app, "carol", PASSWORD, &[]).await);
    let carol = app.auth.user("carol").await.expect("carol");
    app.auth
        .set_password(&carol, "carol-password-2", Some(PASSWORD))
        .await
        .expect("changed");
    for cookie in [first, second] {
        assert_eq!(
            session_with(&app, &cookie).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let fresh = login(&app, "carol", "carol-password-2", &[]).await;
    assert_eq!(
        session_with(&app, &cookie_of(&fresh)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_a_client_id_single_sign_on_is_not_offered() {
    let app = app().await;
    let options = send(
        &app,
        Method::GET,
        "/ajax-api/3.0/keel/auth/options",
        None,
        &[],
    )
    .await;
    assert_eq!(options.status, StatusCode::OK);
    assert_eq!(options.json(), json!({"sso": false}));
    for path in [
        "/api/3.0/keel/auth/oidc/login?return_to=%23/",
        "/api/3.0/keel/auth/oidc/callback?code=c&state=s",
    ] {
        let raw = send(&app, Method::GET, path, None, &[]).await;
        assert_eq!(raw.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            raw.json()["message"]
                .as_str()
                .expect("msg")
                .contains("oidc_client_id")
        );
    }
}

#[tokio::test]
async fn concurrent_logins_and_logouts_stay_consistent() {
    let app = app().await;
    // Sixteen sign-ins at once: sixteen distinct sessions, each valid.
    let logins = (0..16).map(|_| login(&app, "carol", PASSWORD, &[]));
    let cookies: Vec<String> = futures_util::future::join_all(logins)
        .await
        .iter()
        .map(|raw| {
            assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
            cookie_of(raw)
        })
        .collect();
    let distinct: std::collections::HashSet<_> = cookies.iter().collect();
    assert_eq!(distinct.len(), 16);
    for cookie in &cookies {
        assert_eq!(session_with(&app, cookie).await.status, StatusCode::OK);
    }
    // The same session signed out eight times at once: every answer is 200, and it is ended
    // while the others stay.
    let logouts = (0..8).map(|_| async {
        send(&app, Method::POST, LOGOUT, None, &[("cookie", &cookies[0])]).await
    });
    for raw in futures_util::future::join_all(logouts).await {
        assert_eq!(raw.status, StatusCode::OK);
    }
    assert_eq!(
        session_with(&app, &cookies[0]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(session_with(&app, &cookies[1]).await.status, StatusCode::OK);
}
