//! The AI gateway's secrets API: values sealed at rest and only ever shown masked, the
//! reference's validation and errors, Keel's bounds, workspace administrators only, and one
//! winner among concurrent creates of a name.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::authz::{bob, secured};
use crate::support::{TestApp, assert_error, assert_invalid};

const SECRETS: &str = "/api/3.0/mlflow/gateway/secrets";
const PLAINTEXT: &str = "sk-test-1234567890abcd-plaintext";

fn create_body(name: &str) -> Value {
    json!({
        "secret_name": name,
        "secret_value": {"api_key": PLAINTEXT, "org": "short"},
        "provider": "openai",
        "auth_config": {"api_base": "  https://8.8.8.8/v1  ", "organization": "org-1"},
        "created_by": "alice",
    })
}

async fn delete(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let raw = app
        .raw(
            Method::DELETE,
            &format!("{SECRETS}/delete"),
            Body::from(body.to_string()),
            Some("application/json"),
        )
        .await;
    (raw.status, raw.json())
}

/// Every file of the app's data directory (database, WAL) as bytes.
fn stored_bytes(app: &TestApp) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(app.data_dir())
        .expect("data dir")
        .flatten()
    {
        if entry.path().is_file() {
            all.extend(std::fs::read(entry.path()).expect("read"));
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_secret_is_created_shown_masked_rotated_and_deleted() {
    let app = TestApp::new().await;
    let (status, created) = app
        .post(&format!("{SECRETS}/create"), create_body("openai-key"))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let secret = &created["secret"];
    let id = secret["secret_id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("s-") && id.len() == 34, "{id}");
    assert_eq!(
        secret["masked_values"],
        json!({"api_key": "sk-...text", "org": "***"})
    );
    assert_eq!(
        secret["auth_config"],
        json!({"api_base": "https://8.8.8.8/v1", "organization": "org-1"})
    );
    assert_eq!(secret["created_by"], "alice");
    assert_eq!(secret["last_updated_by"], "alice");
    assert!(!created.to_string().contains(PLAINTEXT));

    let (status, got) = app.get(&format!("{SECRETS}/get?secret_id={id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, created);
    let (_, listed) = app.get(&format!("{SECRETS}/list?provider=openai")).await;
    assert_eq!(listed["secrets"], json!([secret]));
    let (_, none) = app.get(&format!("{SECRETS}/list?provider=anthropic")).await;
    assert_eq!(none, json!({}));

    // Rotation: a new mask; `last_updated_by` is always the update's author.
    let (status, rotated) = app
        .post(
            &format!("{SECRETS}/update"),
            json!({"secret_id": id, "secret_value": {"api_key": "sk-rotated-99998888"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(
        rotated["secret"]["masked_values"],
        json!({"api_key": "sk-...8888"})
    );
    assert_eq!(rotated["secret"]["created_by"], "alice");
    assert!(rotated["secret"].get("last_updated_by").is_none());
    assert_eq!(rotated["secret"]["auth_config"], secret["auth_config"]);

    // Neither the values nor their masks' source are stored in the clear.
    let bytes = stored_bytes(&app);
    assert!(!contains(&bytes, PLAINTEXT));
    assert!(!contains(&bytes, "sk-rotated-99998888"));

    assert_eq!(
        delete(&app, json!({"secret_id": id})).await.0,
        StatusCode::OK
    );
    let (status, body) = delete(&app, json!({"secret_id": id})).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(
        body["message"],
        format!("GatewaySecret not found (secret_id='{id}')")
    );
}

#[tokio::test]
async fn bad_secrets_are_refused_with_the_references_messages_and_keels_bounds() {
    let app = TestApp::new().await;
    let create = |body: Value| {
        let app = &app;
        async move { app.post(&format!("{SECRETS}/create"), body).await }
    };
    let (status, body) = create(json!({"secret_value": {"api_key": "x"}})).await;
    assert_invalid(
        status,
        &body,
        "Missing value for required parameter 'secret_name'",
    );
    let (status, body) =
        create(json!({"secret_name": "a", "auth_config": {"model_list": "x", "base_url": "y"}}))
            .await;
    assert_invalid(
        status,
        &body,
        "auth_config must not contain 'base_url', 'model_list': ",
    );
    let (status, body) =
        create(json!({"secret_name": "a", "secret_value": {"api_base": "x"}})).await;
    assert_invalid(status, &body, "secret_value must not contain 'api_base': ");
    let (status, body) =
        create(json!({"secret_name": "a", "auth_config": {"api_base": "ftp://example.com"}})).await;
    assert_invalid(
        status,
        &body,
        "Invalid Gateway secret api_base scheme: 'ftp'.",
    );
    let (status, body) = create(
        json!({"secret_name": "a", "auth_config": {"api_base": "https://u:p@example.com/v1"}}),
    )
    .await;
    assert_invalid(status, &body, "must not include embedded credentials");
    // Values must be strings (the reference silently drops others).
    let (status, body) = create(json!({"secret_name": "a", "secret_value": {"api_key": 5}})).await;
    assert_invalid(status, &body, "secret_value");
    // Keel's bounds on what one secret holds.
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (status, body) = create(json!({"secret_name": "a", "secret_value": many})).await;
    assert_invalid(
        status,
        &body,
        "secret_value may hold at most 32 keys, got 33.",
    );
    let (status, body) =
        create(json!({"secret_name": "a", "secret_value": {"api_key": "x".repeat(40_000)}})).await;
    assert_invalid(status, &body, "must be at most 32768 characters long");
    // None of these wrote anything.
    let (_, listed) = app.get(&format!("{SECRETS}/list")).await;
    assert_eq!(listed, json!({}));
    let (status, body) = app.get(&format!("{SECRETS}/get")).await;
    assert_invalid(
        status,
        &body,
        "Missing value for required parameter 'secret_id'",
    );
}

#[tokio::test]
async fn of_concurrent_creates_of_one_name_exactly_one_wins() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post(&format!("{SECRETS}/create"), create_body("shared"))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        let (status, body) = task.await.expect("task");
        if status == StatusCode::OK {
            won += 1;
        } else {
            assert_error(
                status,
                &body,
                StatusCode::BAD_REQUEST,
                "RESOURCE_ALREADY_EXISTS",
            );
            assert_eq!(body["message"], "Secret with name 'shared' already exists");
        }
    }
    assert_eq!(won, 1);
    let (_, listed) = app.get(&format!("{SECRETS}/list")).await;
    assert_eq!(listed["secrets"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn only_administrators_see_or_change_secrets() {
    let app = secured(keel_auth::Permission::Read).await;
    for (method, path, body) in [
        (Method::POST, "create", Some(create_body("x"))),
        (Method::GET, "list", None),
        (Method::GET, "get?secret_id=s-1", None),
        (Method::POST, "update", Some(json!({"secret_id": "s-1"}))),
        (Method::DELETE, "delete", Some(json!({"secret_id": "s-1"}))),
    ] {
        let raw = app
            .call_as(&bob(), method.clone(), &format!("{SECRETS}/{path}"), body)
            .await;
        assert_eq!(raw.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let raw = app
        .call_as(
            &crate::authz::admin(),
            Method::POST,
            &format!("{SECRETS}/create"),
            Some(create_body("x")),
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
}
