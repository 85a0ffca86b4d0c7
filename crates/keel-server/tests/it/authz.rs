//! Identity and access end to end, in-process: the whole route table against anonymous and
//! permission-less callers, credentials (good, bad, malformed, throttled), grants and their
//! resolution, the creator's MANAGE, DENY, operators' policies, and the auth REST API.

use axum::http::{Method, StatusCode};
use keel_auth::Capability;
use keel_auth::Permission;
use keel_auth::entities::AccountKind;
use serde_json::{Value, json};

use crate::support::{TestApp, basic};
use crate::traces::start_body;

const ADMIN_PASSWORD: &str = "admin-password-1";
pub(crate) const USER_PASSWORD: &str = "user-password-12";

/// A secured app with an administrator `admin` and a user `bob` who holds nothing.
pub(crate) async fn secured(default_permission: Permission) -> TestApp {
    let app = TestApp::secured(default_permission, None).await;
    app.auth
        .create_user("admin", Some(ADMIN_PASSWORD), true, AccountKind::User)
        .await
        .expect("admin");
    app.auth
        .create_user("bob", Some(USER_PASSWORD), false, AccountKind::User)
        .await
        .expect("bob");
    app
}

pub(crate) fn admin() -> String {
    basic("admin", ADMIN_PASSWORD)
}

pub(crate) fn bob() -> String {
    basic("bob", USER_PASSWORD)
}

/// What the administrator creates for the route-table tests to aim at.
pub(crate) struct Seeded {
    pub(crate) experiment: String,
    pub(crate) run: String,
    logged_model: String,
    trace: String,
}

/// The JSON of a response that must be a 200.
fn ok(raw: crate::support::Raw) -> Value {
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
    raw.json()
}

pub(crate) async fn seed(app: &TestApp) -> Seeded {
    let experiment = ok(app
        .call_as(
            &admin(),
            Method::POST,
            "experiments/create",
            Some(json!({"name": "seeded"})),
        )
        .await)["experiment_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let run = ok(app
        .call_as(
            &admin(),
            Method::POST,
            "runs/create",
            Some(json!({"experiment_id": experiment})),
        )
        .await)["run"]["info"]["run_id"]
        .as_str()
        .expect("run")
        .to_owned();
    let logged_model = ok(app
        .call_as(
            &admin(),
            Method::POST,
            "logged-models",
            Some(json!({"experiment_id": experiment, "name": "lm"})),
        )
        .await)["model"]["info"]["model_id"]
        .as_str()
        .expect("model")
        .to_owned();
    let started = ok(app
        .call_as(
            &admin(),
            Method::POST,
            "/api/3.0/mlflow/traces",
            Some(start_body(&experiment)),
        )
        .await);
    let trace = started["trace"]["trace_info"]["trace_id"]
        .as_str()
        .expect("trace")
        .to_owned();
    ok(app
        .call_as(
            &admin(),
            Method::POST,
            "registered-models/create",
            Some(json!({"name": "m"})),
        )
        .await);
    Seeded {
        experiment,
        run,
        logged_model,
        trace,
    }
}

/// A concrete request for a route: its path with parameters filled in from `seeded`, and the
/// IDs every locator may look for (in the query string for GET, in the body otherwise).
pub(crate) fn request_for(
    route: &keel_server::routes::Route,
    seeded: &Seeded,
) -> (Method, String, Option<Value>) {
    let path = route.mount.paths(route.path)[0]
        .replace("{model_id}", &seeded.logged_model)
        .replace("{trace_id}", &seeded.trace)
        .replace("{assessment_id}", "a-1")
        .replace("{span_id}", "0000000000000001")
        .replace("{webhook_id}", "wh-1")
        .replace("{upload_id}", "up-1")
        .replace("{part_number}", "1")
        .replace("{*tag_key}", "k")
        .replace(
            "{*path}",
            &format!("{}/{}/artifacts/f.txt", seeded.experiment, seeded.run),
        );
    let ids = json!({
        "experiment_id": seeded.experiment,
        "experiment_ids": [seeded.experiment],
        "experiment_name": "seeded",
        "run_id": seeded.run,
        "run_ids": [seeded.run],
        "name": "m",
        "version": "1",
        "trace_id": seeded.trace,
        "trace_ids": [seeded.trace],
        "username": "admin",
        "role_id": 1,
        "role_permission_id": 1,
        "workspace": "default",
        "resource_type": "experiment",
        "resource_id": seeded.experiment,
        "permission": "READ",
        "path": format!("{}/{}", seeded.experiment, seeded.run),
    });
    // GETs, and the upload whose body is data, name their resource in the query string.
    let in_query = route.method == Method::GET
        || route.meta.locate == keel_server::authz::locate::Locate::RunInQuery;
    if in_query {
        let query: Vec<String> = ids
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Array(a) => a[0].as_str().map_or(a[0].to_string(), str::to_owned),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                format!("{k}={v}")
            })
            .collect();
        (
            route.method.clone(),
            format!("{path}?{}", query.join("&")),
            None,
        )
    } else {
        (route.method.clone(), path, Some(ids))
    }
}

#[tokio::test]
async fn every_route_refuses_anonymous_callers_except_the_public_ones() {
    let app = secured(Permission::NoPermissions).await;
    let seeded = seed(&app).await;
    let mut public = Vec::new();
    for route in keel_server::routes::table() {
        let action = keel_auth::actions::find(route.meta.action)
            .unwrap_or_else(|| panic!("{} is not catalogued", route.meta.action));
        let (method, path, body) = request_for(&route, &seeded);
        let mut req = axum::http::Request::builder()
            .method(method.clone())
            .uri(&path);
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map_or_else(axum::body::Body::empty, |b| {
            axum::body::Body::from(serde_json::to_vec(&b).expect("json"))
        });
        let raw = app.send(req.body(body).expect("request")).await;
        if action.is_public() {
            assert_ne!(raw.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            public.push(route.path);
        } else {
            assert_eq!(raw.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(
                raw.json()["error_code"],
                "UNAUTHENTICATED",
                "{method} {path}"
            );
            // The challenge is left off the UI's Ajax calls (no browser dialog).
            let challenge = (!path.starts_with("/ajax-api/")).then_some("Basic realm=\"mlflow\"");
            assert_eq!(
                raw.headers
                    .get("www-authenticate")
                    .map(|v| v.to_str().expect("ascii")),
                challenge,
                "{method} {path}"
            );
        }
    }
    assert_eq!(
        public,
        [
            "/health",
            "/version",
            "/api/openapi.json",
            "/",
            "/static-files/{*path}",
            "auth/login",
            "auth/logout",
            "auth/options",
            "auth/oidc/login",
            "auth/oidc/callback",
            "mpu/part/{upload_id}/{part_number}"
        ]
    );
}

#[tokio::test]
async fn every_route_refuses_a_caller_without_permission() {
    let app = secured(Permission::NoPermissions).await;
    let seeded = seed(&app).await;
    let mut open_to_bob = Vec::new();
    for route in keel_server::routes::table() {
        let action = keel_auth::actions::find(route.meta.action).expect("catalogued");
        if action.is_public() {
            continue;
        }
        let (method, path, body) = request_for(&route, &seeded);
        let raw = app.call_as(&bob(), method.clone(), &path, body).await;
        assert_ne!(raw.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_ne!(
            raw.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{method} {path}: {}",
            String::from_utf8_lossy(&raw.body)
        );
        if raw.status == StatusCode::FORBIDDEN {
            assert_eq!(
                raw.json()["error_code"],
                "PERMISSION_DENIED",
                "{method} {path}"
            );
        } else {
            assert!(
                matches!(
                    action.capability,
                    Capability::Authenticated | Capability::OwnCredentials | Capability::Create
                ),
                "{method} {path} ({}) let a caller without permission through: {} {}",
                action.name,
                raw.status,
                String::from_utf8_lossy(&raw.body)
            );
            open_to_bob.push(format!("{method} {}", route.path));
        }
    }
    // Exactly these routes serve any authenticated caller (searches are filtered; GraphQL's
    // resolvers authorize each object; creators own what they create; the rest concern the
    // caller's own account).
    assert_eq!(
        open_to_bob,
        [
            "GET /metrics",
            "POST /graphql",
            "GET /graphql",
            "GET server-info",
            "GET workspaces",
            "GET workspaces/{workspace_name}",
            "POST experiments/create",
            "GET experiments/search",
            "POST experiments/search",
            "POST runs/search",
            "POST logged-models/search",
            "POST traces/search",
            "GET traces",
            "POST registered-models/create",
            "GET registered-models/search",
            "GET model-versions/search",
            "GET auth/session",
            "POST permissions/mine",
            // Checking the audit log as a witness would: checkpoints, the key, proofs.
            "GET audit/checkpoint",
            "GET audit/key",
            "GET audit/checkpoints",
            "GET audit/proofs/inclusion",
            "GET audit/proofs/consistency",
            "DELETE tokens/{token_id}",
            "GET users/current",
            "GET users/list",
            "GET users/current/permissions",
            // What the web UI asks before configuring the gateway.
            "GET gateway/supported-providers",
            "GET gateway/supported-models",
            "GET gateway/provider-config",
            // The AI gateway's calls: any identity may call (each call is audited).
            "POST /gateway/mlflow/v1/chat/completions",
            "GET /gateway/mlflow/v1/models",
            "POST /gateway/{endpoint_name}/mlflow/invocations",
            "POST /gateway/openai/v1/chat/completions",
            "POST /gateway/openai/v1/embeddings",
            "POST /gateway/openai/v1/responses",
            "POST /gateway/openai/v1/responses/compact",
            "POST /gateway/anthropic/v1/messages",
            "POST /gateway/gemini/v1beta/models/{endpoint_action}",
        ]
    );
}

#[tokio::test]
async fn credentials_good_bad_malformed_and_throttled() {
    let app = secured(Permission::NoPermissions).await;
    let raw = app
        .call_as(&admin(), Method::GET, "users/current", None)
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.json()["user"]["username"], "admin");
    assert_eq!(raw.json()["user"]["is_admin"], true);
    for bad in [
        basic("admin", "wrong-password!"),
        basic("nobody", "whatever-password"),
        "Basic !!!".to_owned(),
        "Bearer ".to_owned(),
        "Bearer keel_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.".to_owned(),
        "Digest username=admin".to_owned(),
        format!("Bearer {}", "a".repeat(10_000)),
    ] {
        let raw = app.call_as(&bad, Method::GET, "users/current", None).await;
        assert_eq!(raw.status, StatusCode::UNAUTHORIZED, "{bad:.40}");
        assert_eq!(raw.json()["error_code"], "UNAUTHENTICATED");
        assert!(!raw.json()["message"].as_str().expect("message").is_empty());
    }
    // Ten failures lock the username for the window, whatever the password.
    for _ in 0..10 {
        app.call_as(
            &basic("bob", "not-the-password"),
            Method::GET,
            "users/current",
            None,
        )
        .await;
    }
    let raw = app
        .call_as(&bob(), Method::GET, "users/current", None)
        .await;
    assert_eq!(raw.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(raw.headers.contains_key("retry-after"));
    // The Web UI's Ajax calls get no Basic challenge (no browser dialog over the login page).
    let raw = app
        .call_as(
            "Basic !!!",
            Method::GET,
            "/ajax-api/2.0/mlflow/users/current",
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::UNAUTHORIZED);
    assert!(!raw.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn concurrent_guesses_are_throttled_as_sequential_ones_and_a_burst_checks_once() {
    let app = secured(Permission::NoPermissions).await;
    // Fifty different wrong passwords at once: only the limit's worth (ten per user) are
    // checked, the rest wait for the window, as if they had come one after another.
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            let who = basic("bob", &format!("guess-number-{i}"));
            let app = &app;
            async move { app.call_as(&who, Method::GET, "users/current", None).await }
        })
        .collect();
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, throttled), (10, 40));
    // Another account's first burst of its right password (no verified entry yet): every
    // request is let in, one argon2 check serving them all.
    let burst: Vec<_> = (0..16)
        .map(|_| {
            let app = &app;
            async move {
                app.call_as(&admin(), Method::GET, "users/current", None)
                    .await
            }
        })
        .collect();
    for raw in futures_util::future::join_all(burst).await {
        assert_eq!(raw.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn tokens_authenticate_until_revoked_or_expired() {
    let app = secured(Permission::NoPermissions).await;
    let bot = app
        .auth
        .create_user("ci-bot", None, false, AccountKind::ServiceAccount)
        .await
        .expect("bot");
    let (token, text) = app
        .auth
        .issue_token(&bot, "ci", Vec::new(), None)
        .await
        .expect("token");
    let bearer = format!("Bearer {text}");
    let raw = app
        .call_as(&bearer, Method::GET, "users/current", None)
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.json()["user"]["username"], "ci-bot");
    // A service account has no password to sign in with.
    let raw = app
        .call_as(
            &basic("ci-bot", "anything-at-all"),
            Method::GET,
            "users/current",
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::UNAUTHORIZED);
    // A token with a wrong secret is refused.
    let forged = format!("Bearer {}x", &text[..text.len() - 1]);
    let raw = app
        .call_as(&forged, Method::GET, "users/current", None)
        .await;
    assert_eq!(raw.status, StatusCode::UNAUTHORIZED);
    app.auth
        .store()
        .revoke_token(&token.id, 1)
        .await
        .expect("revoke");
    let raw = app
        .call_as(&bearer, Method::GET, "users/current", None)
        .await;
    assert_eq!(raw.status, StatusCode::UNAUTHORIZED);
    let past = keel_core::clock::Clock::now_millis(&keel_core::clock::SystemClock) + 50;
    let (_, short) = app
        .auth
        .issue_token(&bot, "short", Vec::new(), Some(past))
        .await
        .expect("token");
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    let raw = app
        .call_as(
            &format!("Bearer {short}"),
            Method::GET,
            "users/current",
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn grants_creators_denies_and_defaults_decide() {
    let app = secured(Permission::NoPermissions).await;
    let seeded = seed(&app).await;
    let get_exp = format!("experiments/get?experiment_id={}", seeded.experiment);
    let log = json!({"run_id": seeded.run, "key": "m", "value": 1.0, "timestamp": 1, "step": 0});
    assert_eq!(
        app.call_as(&bob(), Method::GET, &get_exp, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // READ lets bob read, not write (MLflow's error code).
    let grant = |permission: &str| {
        json!({"username": "bob", "resource_type": "experiment",
               "resource_id": seeded.experiment, "permission": permission})
    };
    let raw = app
        .call_as(
            &admin(),
            Method::POST,
            "/api/3.0/mlflow/users/permissions/grant",
            Some(grant("READ")),
        )
        .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
    assert_eq!(
        app.call_as(&bob(), Method::GET, &get_exp, None)
            .await
            .status,
        StatusCode::OK
    );
    let raw = app
        .call_as(&bob(), Method::POST, "runs/log-metric", Some(log.clone()))
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    assert_eq!(raw.json()["error_code"], "PERMISSION_DENIED");
    // Bob may not grant himself more: granting needs MANAGE.
    let raw = app
        .call_as(
            &bob(),
            Method::POST,
            "/api/3.0/mlflow/users/permissions/revoke",
            Some(grant("READ")),
        )
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    // A type-wide DENY wins over the grant on the experiment's runs.
    app.auth
        .grant_user("bob", "run", "*", "DENY", "default")
        .await
        .expect("deny");
    let get_run = format!("runs/get?run_id={}", seeded.run);
    assert_eq!(
        app.call_as(&bob(), Method::GET, &get_run, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call_as(&bob(), Method::GET, &get_exp, None)
            .await
            .status,
        StatusCode::OK
    );
    // What bob creates, bob manages: he may log to his own experiment's runs.
    let raw = app
        .call_as(
            &bob(),
            Method::POST,
            "experiments/create",
            Some(json!({"name": "bobs"})),
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let mine = raw.json()["experiment_id"].as_str().expect("id").to_owned();
    let raw = app
        .call_as(
            &bob(),
            Method::POST,
            "experiments/update",
            Some(json!({"experiment_id": mine, "new_name": "bobs-renamed"})),
        )
        .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
    let raw = app
        .call_as(
            &bob(),
            Method::GET,
            "/api/3.0/mlflow/users/permissions/get?username=bob&resource_type=experiment&resource_id=",
            None,
        )
        .await;
    assert_eq!(
        raw.status,
        StatusCode::BAD_REQUEST,
        "an empty resource_id is refused"
    );
    let raw = app
        .call_as(
            &bob(),
            Method::GET,
            &format!("/api/3.0/mlflow/users/permissions/get?username=bob&resource_type=experiment&resource_id={mine}"),
            None,
        )
        .await;
    assert_eq!(raw.json(), json!({"allowed": true, "permission": "MANAGE"}));
}

#[tokio::test]
async fn a_read_default_gives_the_references_behaviour() {
    let app = secured(Permission::Read).await;
    let seeded = seed(&app).await;
    let get_run = format!("runs/get?run_id={}", seeded.run);
    assert_eq!(
        app.call_as(&bob(), Method::GET, &get_run, None)
            .await
            .status,
        StatusCode::OK
    );
    let raw = app
        .call_as(
            &bob(),
            Method::POST,
            "runs/set-tag",
            Some(json!({"run_id": seeded.run, "key": "k", "value": "v"})),
        )
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn operator_policies_apply_even_to_administrators() {
    let policy = r#"
        @id("no-deletes")
        forbid (principal, action in Keel::Action::"delete", resource);
    "#;
    let app = TestApp::secured(Permission::NoPermissions, Some(policy)).await;
    app.auth
        .create_user("admin", Some(ADMIN_PASSWORD), true, AccountKind::User)
        .await
        .expect("admin");
    let seeded = seed(&app).await;
    let raw = app
        .call_as(
            &admin(),
            Method::POST,
            "runs/delete",
            Some(json!({"run_id": seeded.run})),
        )
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    let raw = app
        .call_as(
            &admin(),
            Method::GET,
            &format!("runs/get?run_id={}", seeded.run),
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
}

#[tokio::test]
async fn the_auth_api_manages_users_roles_and_grants() {
    let app = secured(Permission::NoPermissions).await;
    let call = |who: String, method: Method, path: &'static str, body: Option<Value>| {
        let app = &app;
        async move { app.call_as(&who, method, path, body).await }
    };
    // Only administrators create users; short passwords are refused in the reference's words.
    let raw = call(
        bob(),
        Method::POST,
        "users/create",
        Some(json!({"username": "carol", "password": "carol-password-1"})),
    )
    .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    let raw = call(
        admin(),
        Method::POST,
        "users/create",
        Some(json!({"username": "carol", "password": "short"})),
    )
    .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        raw.json()["message"],
        "Password must be at least 12 characters."
    );
    let raw = call(
        admin(),
        Method::POST,
        "users/create",
        Some(json!({"username": "carol", "password": "carol-password-1"})),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.json()["user"]["username"], "carol");
    assert_eq!(raw.json()["user"]["is_admin"], false);
    let raw = call(
        admin(),
        Method::POST,
        "users/create",
        Some(json!({"username": "carol", "password": "carol-password-1"})),
    )
    .await;
    assert_eq!(raw.json()["error_code"], "RESOURCE_ALREADY_EXISTS");
    // Users read themselves, not others.
    let raw = app
        .call_as(&bob(), Method::GET, "users/get?username=bob", None)
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let raw = app
        .call_as(&bob(), Method::GET, "users/get?username=carol", None)
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    // Changing one's own password needs the current one.
    let raw = call(
        bob(),
        Method::PATCH,
        "users/update-password",
        Some(json!({"username": "bob", "password": "new-password-123"})),
    )
    .await;
    assert_eq!(
        raw.json()["message"],
        "Current password is required when changing your own password."
    );
    let raw = call(bob(), Method::PATCH, "users/update-password", Some(json!({"username": "bob", "password": "new-password-123", "current_password": "wrong-password-1"}))).await;
    assert_eq!(raw.json()["message"], "Current password does not match.");
    let raw = call(bob(), Method::PATCH, "users/update-password", Some(json!({"username": "bob", "password": "new-password-123", "current_password": USER_PASSWORD}))).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(
        app.call_as(&bob(), Method::GET, "users/current", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works (the cache is keyed by the stored hash)"
    );
    let bob2 = basic("bob", "new-password-123");
    assert_eq!(
        app.call_as(&bob2, Method::GET, "users/current", None)
            .await
            .status,
        StatusCode::OK
    );
    // Admin flags take booleans only; nobody deletes themselves.
    let raw = call(
        admin(),
        Method::PATCH,
        "users/update-admin",
        Some(json!({"username": "carol", "is_admin": "true"})),
    )
    .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    let raw = call(
        admin(),
        Method::DELETE,
        "users/delete",
        Some(json!({"username": "admin"})),
    )
    .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    // Roles: create, grant, assign; the assigned user gains the role's access.
    let raw = call(
        admin(),
        Method::POST,
        "/api/3.0/mlflow/roles/create",
        Some(json!({"workspace": "default", "name": "__user_9__"})),
    )
    .await;
    assert_eq!(
        raw.status,
        StatusCode::BAD_REQUEST,
        "the per-user prefix is reserved"
    );
    let raw = call(
        admin(),
        Method::POST,
        "/api/3.0/mlflow/roles/create",
        Some(json!({"workspace": "default", "name": "readers", "description": "read all"})),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    let role_id = raw.json()["role"]["id"].as_i64().expect("id");
    let raw = call(admin(), Method::POST, "/api/3.0/mlflow/roles/permissions/add", Some(json!({"role_id": role_id.to_string(), "resource_type": "experiment", "resource_pattern": "*", "permission": "READ"}))).await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
    assert_eq!(raw.json()["role_permission"]["permission"], "READ");
    let raw = call(admin(), Method::POST, "/api/3.0/mlflow/roles/permissions/add", Some(json!({"role_id": "x", "resource_type": "experiment", "resource_pattern": "*", "permission": "READ"}))).await;
    assert_eq!(
        raw.json()["message"],
        "Parameter 'role_id' must be an integer. Got: 'x'"
    );
    let carol = basic("carol", "carol-password-1");
    assert_eq!(
        app.call_as(&carol, Method::GET, "experiments/get?experiment_id=0", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let raw = call(
        admin(),
        Method::POST,
        "/api/3.0/mlflow/roles/assign",
        Some(json!({"username": "carol", "role_id": role_id})),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(
        app.call_as(&carol, Method::GET, "experiments/get?experiment_id=0", None)
            .await
            .status,
        StatusCode::OK
    );
    let raw = app
        .call_as(
            &carol,
            Method::GET,
            "/api/3.0/mlflow/users/current/permissions",
            None,
        )
        .await;
    assert_eq!(raw.json()["permissions"][0]["role_name"], "readers");
    assert_eq!(raw.json()["permissions"][0]["resource_pattern"], "*");
    // Carol may read her role; bob may not.
    let path = format!("/api/3.0/mlflow/roles/get?role_id={role_id}");
    assert_eq!(
        app.call_as(&carol, Method::GET, &path, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call_as(&bob2, Method::GET, &path, None).await.status,
        StatusCode::FORBIDDEN
    );
    let raw = call(
        admin(),
        Method::DELETE,
        "users/delete",
        Some(json!({"username": "carol"})),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(
        app.call_as(&carol, Method::GET, "users/current", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn searches_return_only_what_the_caller_may_read() {
    let app = secured(Permission::NoPermissions).await;
    let mut experiments = Vec::new();
    for i in 0..5 {
        let raw = app
            .call_as(
                &admin(),
                Method::POST,
                "experiments/create",
                Some(json!({"name": format!("e{i}")})),
            )
            .await;
        experiments.push(raw.json()["experiment_id"].as_str().expect("id").to_owned());
    }
    for name in ["m1", "m2"] {
        app.call_as(
            &admin(),
            Method::POST,
            "registered-models/create",
            Some(json!({"name": name})),
        )
        .await;
    }
    let names = |v: &Value, list: &str, field: &str| -> Vec<String> {
        let mut names: Vec<String> = v[list]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e[field].as_str().expect("field").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let search = || async {
        app.call_as(
            &bob(),
            Method::POST,
            "experiments/search",
            Some(json!({"max_results": 100})),
        )
        .await
        .json()
    };
    assert!(
        names(&search().await, "experiments", "name").is_empty(),
        "nothing granted, nothing seen"
    );
    for id in &experiments[1..3] {
        app.auth
            .grant_user("bob", "experiment", id, "READ", "default")
            .await
            .expect("grant");
    }
    assert_eq!(names(&search().await, "experiments", "name"), ["e1", "e2"]);
    // A run search over every experiment covers the readable ones only.
    for id in &experiments {
        app.call_as(
            &admin(),
            Method::POST,
            "runs/create",
            Some(json!({"experiment_id": id, "run_name": format!("r-{id}")})),
        )
        .await;
    }
    let runs = app
        .call_as(
            &bob(),
            Method::POST,
            "runs/search",
            Some(json!({"experiment_ids": experiments})),
        )
        .await;
    assert_eq!(runs.status, StatusCode::OK);
    let mut run_experiments: Vec<String> = runs.json()["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["info"]["experiment_id"].as_str().expect("id").to_owned())
        .collect();
    run_experiments.sort();
    let mut readable = experiments[1..3].to_vec();
    readable.sort();
    assert_eq!(run_experiments, readable);
    // Trace and logged-model searches likewise (v3, v2 and the logged-model search), where
    // an unreadable experiment among many once refused the whole search.
    for (i, id) in experiments.iter().enumerate() {
        let mut trace = start_body(id);
        trace["trace"]["trace_info"]["trace_id"] = json!(format!("tr-{:032x}", i + 1));
        ok(app
            .call_as(
                &admin(),
                Method::POST,
                "/api/3.0/mlflow/traces",
                Some(trace),
            )
            .await);
        ok(app
            .call_as(
                &admin(),
                Method::POST,
                "logged-models",
                Some(json!({"experiment_id": id, "name": format!("lm-{id}")})),
            )
            .await);
    }
    // The experiment of each item of `list`, found at `pointer` in it, sorted.
    let experiments_of = |v: &Value, list: &str, pointer: &str| -> Vec<String> {
        let mut ids: Vec<String> = v[list]
            .as_array()
            .expect("list")
            .iter()
            .map(|e| {
                e.pointer(pointer)
                    .and_then(Value::as_str)
                    .expect("experiment")
                    .to_owned()
            })
            .collect();
        ids.sort();
        ids
    };
    let locations: Vec<Value> = experiments
        .iter()
        .map(|id| json!({"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": id}}))
        .collect();
    let v3 = ok(app
        .call_as(
            &bob(),
            Method::POST,
            "/api/3.0/mlflow/traces/search",
            Some(json!({"locations": locations})),
        )
        .await);
    assert_eq!(
        experiments_of(
            &v3,
            "traces",
            "/trace_location/mlflow_experiment/experiment_id"
        ),
        readable
    );
    let query: Vec<String> = experiments
        .iter()
        .map(|id| format!("experiment_ids={id}"))
        .collect();
    let v2 = ok(app
        .call_as(
            &bob(),
            Method::GET,
            &format!("traces?{}", query.join("&")),
            None,
        )
        .await);
    assert_eq!(experiments_of(&v2, "traces", "/experiment_id"), readable);
    let models = ok(app
        .call_as(
            &bob(),
            Method::POST,
            "logged-models/search",
            Some(json!({"experiment_ids": experiments})),
        )
        .await);
    assert_eq!(
        experiments_of(&models, "models", "/info/experiment_id"),
        readable
    );
    // Nothing readable among them: an empty result, not a refusal.
    let unreadable = ok(app
        .call_as(
            &bob(),
            Method::POST,
            "logged-models/search",
            Some(json!({"experiment_ids": [experiments[0]]})),
        )
        .await);
    assert_eq!(
        unreadable["models"].as_array().map(Vec::len).unwrap_or(0),
        0
    );
    // A type-wide READ shows all but what a DENY hides.
    app.auth
        .grant_user("bob", "experiment", "*", "READ", "default")
        .await
        .expect("grant");
    app.auth
        .grant_user("bob", "experiment", &experiments[4], "DENY", "default")
        .await
        .expect("deny");
    let seen = names(&search().await, "experiments", "name");
    assert!(
        seen.contains(&"e0".to_owned()) && !seen.contains(&"e4".to_owned()),
        "{seen:?}"
    );
    // Pages hold only visible rows: two pages of two cover what bob may see.
    let raw = app
        .call_as(
            &bob(),
            Method::GET,
            "experiments/search?max_results=2",
            None,
        )
        .await;
    assert_eq!(raw.json()["experiments"].as_array().expect("page").len(), 2);
    // Registered models and their versions likewise.
    let models = app
        .call_as(&bob(), Method::GET, "registered-models/search", None)
        .await;
    assert!(names(&models.json(), "registered_models", "name").is_empty());
    app.auth
        .grant_user("bob", "registered_model", "m2", "READ", "default")
        .await
        .expect("grant");
    let models = app
        .call_as(&bob(), Method::GET, "registered-models/search", None)
        .await;
    assert_eq!(names(&models.json(), "registered_models", "name"), ["m2"]);
    let admin_view = app
        .call_as(&admin(), Method::GET, "registered-models/search", None)
        .await;
    assert_eq!(
        names(&admin_view.json(), "registered_models", "name"),
        ["m1", "m2"]
    );
}

#[tokio::test]
async fn permissions_mine_gives_the_callers_level_on_each_resource() {
    let app = secured(Permission::NoPermissions).await;
    let mut ids = Vec::new();
    for name in ["mine-read", "mine-edit", "mine-none"] {
        let raw = app
            .call_as(
                &admin(),
                Method::POST,
                "experiments/create",
                Some(json!({"name": name})),
            )
            .await;
        ids.push(raw.json()["experiment_id"].as_str().expect("id").to_owned());
    }
    app.auth
        .grant_user("bob", "experiment", &ids[0], "READ", "default")
        .await
        .expect("grant");
    app.auth
        .grant_user("bob", "experiment", &ids[1], "EDIT", "default")
        .await
        .expect("grant");
    let ask = |who: String, body: Value| {
        let app = &app;
        async move {
            app.call_as(
                &who,
                Method::POST,
                "/api/3.0/keel/permissions/mine",
                Some(body),
            )
            .await
        }
    };
    let raw = ask(
        bob(),
        json!({"resource_type": "experiment", "resource_ids": ids}),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    let levels: Vec<(String, bool, bool)> = raw.json()["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| {
            (
                p["permission"].as_str().expect("level").to_owned(),
                p["can_update"].as_bool().expect("bool"),
                p["can_delete"].as_bool().expect("bool"),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            ("READ".to_owned(), false, false),
            ("EDIT".to_owned(), true, false),
            ("NO_PERMISSIONS".to_owned(), false, false)
        ]
    );
    let raw = ask(
        admin(),
        json!({"resource_type": "experiment", "resource_ids": ids}),
    )
    .await;
    assert!(
        raw.json()["permissions"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|p| p["permission"] == "MANAGE")
    );

    for (body, needle) in [
        (json!({"resource_ids": ["1"]}), "resource_type"),
        (
            json!({"resource_type": "banana", "resource_ids": ["1"]}),
            "banana",
        ),
        (
            json!({"resource_type": "experiment", "resource_ids": vec!["1"; 1001]}),
            "At most 1000",
        ),
    ] {
        let raw = ask(bob(), body.clone()).await;
        assert_eq!(raw.status, StatusCode::BAD_REQUEST, "{body}");
        let message = raw.json()["message"].as_str().expect("message").to_owned();
        assert!(message.contains(needle), "{body}: {message}");
    }
}

#[tokio::test]
async fn who_has_access_is_shown_to_those_who_manage_the_resource() {
    let app = secured(Permission::NoPermissions).await;
    let raw = app
        .call_as(
            &admin(),
            Method::POST,
            "experiments/create",
            Some(json!({"name": "who-has-access"})),
        )
        .await;
    let id = raw.json()["experiment_id"].as_str().expect("id").to_owned();
    let holders_of = |who: String, query: String| {
        let app = &app;
        async move {
            let path = format!("/api/3.0/keel/permissions/holders?{query}");
            app.call_as(&who, Method::GET, &path, None).await
        }
    };
    let query = format!("resource_type=experiment&resource_id={id}");
    app.auth
        .grant_user("bob", "experiment", &id, "EDIT", "default")
        .await
        .expect("grant");
    // Editing is not managing: bob may not see who else has access.
    let raw = holders_of(bob(), query.clone()).await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN, "{:?}", raw.json());
    let raw = holders_of(admin(), query.clone()).await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    let body = raw.json();
    assert_eq!(body["absent_permission"], "NO_PERMISSIONS");
    assert_eq!(body["truncated"], false);
    let holders = body["holders"].as_array().expect("holders");
    let of = |user: &str| {
        holders
            .iter()
            .find(|h| h["users"] == json!([user]))
            .unwrap_or_else(|| panic!("{user} in {holders:?}"))
            .clone()
    };
    // The creator manages it; bob's own grant is a user grant, not a role.
    assert_eq!(of("admin")["permission"], "MANAGE");
    let bobs = of("bob");
    assert_eq!(bobs["kind"], "user");
    assert_eq!(bobs["permission"], "EDIT");
    assert_eq!(bobs["pattern"], json!(id));
    assert_eq!(bobs.get("role"), None);
    app.auth
        .revoke_user("bob", "experiment", &id, "default")
        .await
        .expect("revoke");
    app.auth
        .grant_user("bob", "experiment", &id, "MANAGE", "default")
        .await
        .expect("grant");
    let raw = holders_of(bob(), query).await;
    assert_eq!(raw.status, StatusCode::OK, "managers see it too");
    for (who, bad, needle) in [
        (admin(), format!("resource_id={id}"), "resource_type"),
        (
            admin(),
            "resource_type=experiment".to_owned(),
            "resource_id",
        ),
        (
            admin(),
            "resource_type=experiment&resource_id=*".to_owned(),
            "resource_id",
        ),
        (
            admin(),
            "resource_type=banana&resource_id=1".to_owned(),
            "banana",
        ),
    ] {
        let raw = holders_of(who, bad.clone()).await;
        assert_eq!(
            raw.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {:?}",
            raw.json()
        );
        let message = raw.json()["message"].as_str().unwrap_or("").to_owned();
        assert!(message.contains(needle), "{bad}: {message}");
    }
}
