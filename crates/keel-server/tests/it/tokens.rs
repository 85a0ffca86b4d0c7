//! API tokens over HTTP: issued once with their text, listed without it, usable as bearer
//! tokens until revoked; other accounts' tokens only for administrators; bad input refused.

use axum::http::{Method, StatusCode};
use keel_auth::Permission;
use keel_auth::entities::AccountKind;
use serde_json::{Value, json};

use crate::support::{Raw, TestApp, basic};

const TOKENS: &str = "/api/3.0/keel/tokens";

async fn app() -> TestApp {
    let app = TestApp::secured(Permission::NoPermissions, None).await;
    for (name, admin) in [("root", true), ("carol", false), ("bob", false)] {
        app.auth
            .create_user(
                name,
                Some(&format!("{name}-password-1")),
                admin,
                AccountKind::User,
            )
            .await
            .expect("user");
    }
    app.auth
        .create_user("pipeline", None, false, AccountKind::ServiceAccount)
        .await
        .expect("service account");
    app
}

fn as_user(name: &str) -> String {
    basic(name, &format!("{name}-password-1"))
}

async fn issue(app: &TestApp, who: &str, body: Value) -> Raw {
    app.call_as(&as_user(who), Method::POST, TOKENS, Some(body))
        .await
}

async fn ids(app: &TestApp, who: &str, query: &str) -> Vec<String> {
    let raw = app
        .call_as(
            &as_user(who),
            Method::GET,
            &format!("{TOKENS}{query}"),
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    raw.json()["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn whoami(app: &TestApp, token: &str) -> Raw {
    app.call_as(
        &format!("Bearer {token}"),
        Method::GET,
        "/api/3.0/keel/auth/session",
        None,
    )
    .await
}

#[tokio::test]
async fn a_token_is_shown_once_listed_without_its_text_and_works_until_revoked() {
    let app = app().await;
    let raw = issue(
        &app,
        "carol",
        json!({"name": "laptop", "expires_in_days": 30}),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    let body = raw.json();
    let text = body["text"].as_str().expect("text").to_owned();
    let id = body["token"]["id"].as_str().expect("id").to_owned();
    assert!(text.starts_with(&format!("keel_{id}_")));
    assert_eq!(body["token"]["username"], "carol");
    let expires = body["token"]["expires_at"].as_i64().expect("expiry");
    let created = body["token"]["created_at"].as_i64().expect("created");
    assert_eq!(expires - created, 30 * 24 * 3600 * 1000);

    let me = whoami(&app, &text).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["method"], "token");

    let listed = app
        .call_as(&as_user("carol"), Method::GET, TOKENS, None)
        .await;
    assert!(
        !String::from_utf8_lossy(&listed.body).contains(&text[10..]),
        "no secret listed"
    );
    assert_eq!(ids(&app, "carol", "").await, vec![id.clone()]);
    assert!(ids(&app, "bob", "").await.is_empty());

    let revoked = app
        .call_as(
            &as_user("carol"),
            Method::DELETE,
            &format!("{TOKENS}/{id}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(whoami(&app, &text).await.status, StatusCode::UNAUTHORIZED);
    let listed = app
        .call_as(&as_user("carol"), Method::GET, TOKENS, None)
        .await;
    assert!(listed.json()["tokens"][0]["revoked_at"].as_i64().is_some());
}

#[tokio::test]
async fn other_accounts_tokens_are_for_administrators_only() {
    let app = app().await;
    let carols = issue(&app, "carol", json!({"name": "ci"})).await.json();
    let id = carols["token"]["id"].as_str().expect("id").to_owned();
    let text = carols["text"].as_str().expect("text").to_owned();

    // bob: not listed, not revocable (reported as not found), not issuable for carol.
    let listed = app
        .call_as(
            &as_user("bob"),
            Method::GET,
            &format!("{TOKENS}?username=carol"),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN);
    let revoked = app
        .call_as(
            &as_user("bob"),
            Method::DELETE,
            &format!("{TOKENS}/{id}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NOT_FOUND);
    assert_eq!(whoami(&app, &text).await.status, StatusCode::OK);
    let for_carol = issue(&app, "bob", json!({"name": "x", "username": "carol"})).await;
    assert_eq!(for_carol.status, StatusCode::FORBIDDEN);

    // An administrator: lists and revokes carol's, and gives the service account a token.
    assert_eq!(ids(&app, "root", "?username=carol").await, vec![id.clone()]);
    let revoked = app
        .call_as(
            &as_user("root"),
            Method::DELETE,
            &format!("{TOKENS}/{id}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(whoami(&app, &text).await.status, StatusCode::UNAUTHORIZED);
    let bot = issue(
        &app,
        "root",
        json!({"name": "nightly", "username": "pipeline"}),
    )
    .await;
    assert_eq!(bot.status, StatusCode::OK, "{:?}", bot.json());
    let bot_text = bot.json()["text"].as_str().expect("text").to_owned();
    assert_eq!(
        whoami(&app, &bot_text).await.json()["user"]["username"],
        "pipeline"
    );
    let missing = issue(&app, "root", json!({"name": "x", "username": "nobody"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let unknown = app
        .call_as(
            &as_user("root"),
            Method::DELETE,
            &format!("{TOKENS}/0123456789ab"),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_token_requests_are_refused_with_a_reason() {
    let app = app().await;
    for (body, needle) in [
        (json!({}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "a\nb"}), "control characters"),
        (json!({"name": "x".repeat(256)}), "255 bytes"),
        (
            json!({"name": "x", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "expires_in_days": 3651}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "expires_in_days": "soon"}),
            "expires_in_days",
        ),
    ] {
        let raw = issue(&app, "carol", body.clone()).await;
        assert_eq!(raw.status, StatusCode::BAD_REQUEST, "{body}");
        let message = raw.json()["message"].as_str().expect("message").to_owned();
        assert!(message.contains(needle), "{body}: {message}");
    }
    assert!(
        ids(&app, "carol", "").await.is_empty(),
        "nothing was issued"
    );
    let anonymous = app
        .raw(
            Method::POST,
            TOKENS,
            r#"{"name":"x"}"#,
            Some("application/json"),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn concurrent_issues_and_revokes_of_tokens_stay_consistent() {
    let app = app().await;
    let issues = (0..12).map(|i| issue(&app, "carol", json!({"name": format!("t{i}")})));
    let texts: Vec<String> = futures_util::future::join_all(issues)
        .await
        .iter()
        .map(|raw| {
            assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
            raw.json()["text"].as_str().expect("text").to_owned()
        })
        .collect();
    assert_eq!(ids(&app, "carol", "").await.len(), 12);
    let id = texts[0]["keel_".len().."keel_".len() + 12].to_owned();
    let path = format!("{TOKENS}/{id}");
    let carol = as_user("carol");
    let revokes = (0..8).map(|_| app.call_as(&carol, Method::DELETE, &path, None));
    for raw in futures_util::future::join_all(revokes).await {
        assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    }
    assert_eq!(
        whoami(&app, &texts[0]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(whoami(&app, &texts[1]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_scoped_token_acts_only_within_its_scopes_and_cannot_widen_itself() {
    let app = app().await;
    let token = |raw: Raw| {
        assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
        let body = raw.json();
        (
            format!("Bearer {}", body["text"].as_str().expect("text")),
            body["token"]["scopes"].clone(),
        )
    };
    // Even an administrator's read-only token only reads.
    let (read, scopes) =
        token(issue(&app, "root", json!({"name": "ro", "scopes": ["read"]})).await);
    assert_eq!(scopes, json!(["read"]));
    let (full, _) = token(issue(&app, "root", json!({"name": "all"})).await);
    let created = app
        .call_as(
            &full,
            Method::POST,
            "experiments/create",
            Some(json!({"name": "scoped"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let experiment = created.json()["experiment_id"].clone();
    let get = format!(
        "experiments/get?experiment_id={}",
        experiment.as_str().expect("id")
    );
    assert_eq!(
        app.call_as(&read, Method::GET, &get, None).await.status,
        StatusCode::OK
    );
    let searched = app
        .call_as(&read, Method::POST, "experiments/search", Some(json!({})))
        .await;
    assert_eq!(searched.status, StatusCode::OK);
    let refused = [
        (Method::POST, "experiments/create", json!({"name": "nope"})),
        (
            Method::POST,
            "experiments/update",
            json!({"experiment_id": experiment, "new_name": "renamed"}),
        ),
        (
            Method::POST,
            "experiments/delete",
            json!({"experiment_id": experiment}),
        ),
        (
            Method::POST,
            "/api/2.0/mlflow/users/create",
            json!({"username": "mallory", "password": "mallory-password-1"}),
        ),
        // It cannot mint a wider token, revoke one, or change a password.
        (Method::POST, TOKENS, json!({"name": "wider"})),
        (
            Method::PATCH,
            "/api/2.0/mlflow/users/update-password",
            json!({"username": "root", "password": "another-password-9", "current_password": "root-password-1"}),
        ),
    ];
    for (method, path, body) in refused {
        let raw = app.call_as(&read, method.clone(), path, Some(body)).await;
        assert_eq!(raw.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(raw.json()["error_code"], "PERMISSION_DENIED");
    }
    let revoke = app
        .call_as(
            &read,
            Method::DELETE,
            &format!("{TOKENS}/000000000000"),
            None,
        )
        .await;
    assert_eq!(revoke.status, StatusCode::FORBIDDEN);
    // read + write: it writes but does not administer, and the owner's grants still decide.
    let (rw, scopes) = token(
        issue(
            &app,
            "root",
            json!({"name": "rw", "scopes": ["write", "read", "write"]}),
        )
        .await,
    );
    assert_eq!(
        scopes,
        json!(["read", "write"]),
        "known names, each once, in order"
    );
    let renamed = app
        .call_as(
            &rw,
            Method::POST,
            "experiments/update",
            Some(json!({"experiment_id": experiment, "new_name": "renamed"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    let admin_only = app
        .call_as(
            &rw,
            Method::POST,
            "/api/2.0/mlflow/users/create",
            Some(json!({"username": "mallory", "password": "mallory-password-1"})),
        )
        .await;
    assert_eq!(admin_only.status, StatusCode::FORBIDDEN);
    let (carol_rw, _) = token(
        issue(
            &app,
            "carol",
            json!({"name": "rw", "scopes": ["read", "write"]}),
        )
        .await,
    );
    let not_hers = app.call_as(&carol_rw, Method::GET, &get, None).await;
    assert_eq!(
        not_hers.status,
        StatusCode::FORBIDDEN,
        "scopes grant nothing"
    );
    // The unlimited token (and the password) still do everything.
    let (admin_scoped, _) =
        token(issue(&app, "root", json!({"name": "admin", "scopes": ["admin"]})).await);
    for who in [&full, &as_user("root"), &admin_scoped] {
        let raw = app
            .call_as(who, Method::GET, "/api/2.0/mlflow/webhooks", None)
            .await;
        assert_eq!(raw.status, StatusCode::OK);
    }
    let list_users = app
        .call_as(
            &admin_scoped,
            Method::GET,
            "/api/2.0/mlflow/users/list",
            None,
        )
        .await;
    assert_eq!(
        list_users.status,
        StatusCode::FORBIDDEN,
        "admin is not read"
    );
    // Unknown or reserved scopes are refused, saying which exist.
    for bad in [
        json!(["everything"]),
        json!(["session"]),
        json!("read"),
        json!([1]),
    ] {
        let raw = issue(&app, "root", json!({"name": "bad", "scopes": bad})).await;
        assert_eq!(raw.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(raw.json()["error_code"], "INVALID_PARAMETER_VALUE");
    }
    let raw = issue(&app, "root", json!({"name": "bad", "scopes": ["session"]})).await;
    assert!(
        raw.json()["message"]
            .as_str()
            .expect("message")
            .contains("read, use, write, manage, admin")
    );
}

#[tokio::test]
async fn administrators_create_service_accounts_over_http_and_issue_their_tokens() {
    let app = app().await;
    const ACCOUNTS: &str = "/api/3.0/keel/service-accounts";
    let body = json!({"username": "nightly"});
    let made = app
        .call_as(&as_user("root"), Method::POST, ACCOUNTS, Some(body.clone()))
        .await;
    assert_eq!(made.status, StatusCode::OK, "{:?}", made.json());
    assert_eq!(made.json()["user"]["username"], "nightly");
    let again = app
        .call_as(&as_user("root"), Method::POST, ACCOUNTS, Some(body))
        .await;
    assert_eq!(again.json()["error_code"], "RESOURCE_ALREADY_EXISTS");
    let refused = app
        .call_as(
            &as_user("carol"),
            Method::POST,
            ACCOUNTS,
            Some(json!({"username": "mine"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let missing = app
        .call_as(&as_user("root"), Method::POST, ACCOUNTS, Some(json!({})))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    // Oversized, control-character, `:`, blank and non-string names are 400; a request
    // without credentials is 401.
    for bad in [
        json!("x".repeat(256)),
        json!("a\nb"),
        json!("a:b"),
        json!(7),
        json!(" "),
    ] {
        let raw = app
            .call_as(
                &as_user("root"),
                Method::POST,
                ACCOUNTS,
                Some(json!({"username": bad})),
            )
            .await;
        assert_eq!(raw.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let anonymous = app
        .call_as(
            "",
            Method::POST,
            ACCOUNTS,
            Some(json!({"username": "anon"})),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // Eight creations of one name at once: exactly one account.
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let app = &app;
            async move {
                app.call_as(
                    &as_user("root"),
                    Method::POST,
                    ACCOUNTS,
                    Some(json!({"username": "racer"})),
                )
                .await
            }
        })
        .collect();
    let made = futures_util::future::join_all(racing)
        .await
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(made, 1);
    // Listed as a service account; it signs in only with the tokens issued for it.
    let listed = app
        .call_as(
            &as_user("root"),
            Method::GET,
            "/api/2.0/mlflow/users/list",
            None,
        )
        .await;
    let kinds: Vec<(String, String)> = listed.json()["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            (
                u["username"].as_str().expect("name").to_owned(),
                u["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect();
    assert!(kinds.contains(&("nightly".into(), "service_account".into())));
    assert!(kinds.contains(&("carol".into(), "user".into())));
    let issued = issue(&app, "root", json!({"name": "ci", "username": "nightly"})).await;
    assert_eq!(issued.status, StatusCode::OK);
    let text = issued.json()["text"].as_str().expect("text").to_owned();
    assert_eq!(
        whoami(&app, &text).await.json()["user"]["username"],
        "nightly"
    );
}
