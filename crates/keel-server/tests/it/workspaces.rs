//! Workspaces in-process: the header, the workspace API and its errors, and isolation (a
//! resource in another workspace is "not found" to administrators and forbidden to others,
//! and searches never reach across).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keel_auth::Permission;
use keel_auth::entities::AccountKind;
use serde_json::{Value, json};

use crate::support::{Raw, TestApp, basic};

const WS: &str = "/api/3.0/mlflow/workspaces";

/// Sends `body` to `path` in `workspace` (no header when `None`) as `auth` (none when `None`).
async fn call(
    app: &TestApp,
    auth: Option<&str>,
    workspace: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Raw {
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/api/2.0/mlflow/{path}")
    };
    let mut req = Request::builder().method(method).uri(path);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(w) = workspace {
        req = req.header("x-mlflow-workspace", w);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.send(req.expect("request")).await
}

fn error_code(raw: &Raw) -> String {
    raw.json()["error_code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn create_experiment(
    app: &TestApp,
    auth: Option<&str>,
    ws: Option<&str>,
    name: &str,
) -> String {
    let raw = call(
        app,
        auth,
        ws,
        Method::POST,
        "experiments/create",
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
    raw.json()["experiment_id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn without_workspaces_the_header_and_the_api_are_refused() {
    let app = TestApp::new().await;
    let raw = call(
        &app,
        None,
        Some("team-a"),
        Method::GET,
        "experiments/search",
        None,
    )
    .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&raw), "FEATURE_DISABLED");
    // A blank header is no header.
    let raw = call(
        &app,
        None,
        Some("  "),
        Method::GET,
        "experiments/search?max_results=5",
        None,
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    let raw = call(&app, None, None, Method::GET, WS, None).await;
    assert_eq!(raw.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&raw), "ENDPOINT_NOT_FOUND");
    let info = call(
        &app,
        None,
        Some("bogus!"),
        Method::GET,
        "/api/3.0/mlflow/server-info",
        None,
    )
    .await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["workspaces_enabled"], json!(false));
}

#[tokio::test]
async fn the_workspace_api_creates_lists_updates_and_deletes() {
    let app = TestApp::with_workspaces(None).await;
    let info = call(
        &app,
        None,
        None,
        Method::GET,
        "/api/3.0/mlflow/server-info",
        None,
    )
    .await;
    assert_eq!(info.json()["workspaces_enabled"], json!(true));
    let created = call(
        &app,
        None,
        None,
        Method::POST,
        WS,
        Some(json!({"name": "team-a", "description": "A"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.json(),
        json!({"workspace": {"name": "team-a", "description": "A"}})
    );
    for (body, code, says) in [
        (
            json!({"name": "team-a"}),
            "RESOURCE_ALREADY_EXISTS",
            "already exists",
        ),
        (
            json!({"name": "default"}),
            "INVALID_PARAMETER_VALUE",
            "reserved",
        ),
        (
            json!({"name": "Team"}),
            "INVALID_PARAMETER_VALUE",
            "must match",
        ),
        (
            json!({"name": "api"}),
            "INVALID_PARAMETER_VALUE",
            "reserved",
        ),
        (json!({}), "INVALID_PARAMETER_VALUE", "'name'"),
        (
            json!({"name": "ok-name", "default_artifact_root": "s3://b/p?x=1"}),
            "INVALID_PARAMETER_VALUE",
            "fragments or params",
        ),
        (json!({"name": 5}), "INVALID_PARAMETER_VALUE", "name"),
    ] {
        let raw = call(&app, None, None, Method::POST, WS, Some(body.clone())).await;
        assert_eq!(raw.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&raw), code, "{body}");
        assert!(
            raw.json()["message"].as_str().unwrap_or("").contains(says),
            "{body}: {:?}",
            raw.json()
        );
    }
    let list = call(&app, None, None, Method::GET, WS, None).await.json();
    let names: Vec<&str> = list["workspaces"]
        .as_array()
        .expect("list")
        .iter()
        .map(|w| w["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["default", "team-a"]);
    let patched = call(
        &app,
        None,
        None,
        Method::PATCH,
        &format!("{WS}/team-a"),
        Some(json!({"default_artifact_root": "s3://bucket/a"})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        patched.json()["workspace"]["default_artifact_root"],
        json!("s3://bucket/a")
    );
    let empty = call(
        &app,
        None,
        None,
        Method::PATCH,
        &format!("{WS}/team-a"),
        Some(json!({})),
    )
    .await;
    assert!(
        empty.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains("at least one key")
    );
    let missing = call(&app, None, None, Method::GET, &format!("{WS}/nobody"), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // An experiment made there lands under the workspace's own root.
    let id = create_experiment(&app, None, Some("team-a"), "e").await;
    let got = call(
        &app,
        None,
        Some("team-a"),
        Method::GET,
        &format!("experiments/get?experiment_id={id}"),
        None,
    )
    .await;
    assert_eq!(
        got.json()["experiment"]["artifact_location"],
        json!(format!("s3://bucket/a/{id}"))
    );
    let located = call(
        &app,
        None,
        Some("team-a"),
        Method::POST,
        "experiments/create",
        Some(json!({"name": "f", "artifact_location": "s3://x/y"})),
    )
    .await;
    assert_eq!(located.status, StatusCode::BAD_REQUEST);
    // Deleting: the mode is exact, RESTRICT refuses while the experiment is there.
    let bad = call(
        &app,
        None,
        None,
        Method::DELETE,
        &format!("{WS}/team-a?mode=cascade"),
        None,
    )
    .await;
    assert!(
        bad.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains("Invalid deletion mode")
    );
    let refused = call(
        &app,
        None,
        None,
        Method::DELETE,
        &format!("{WS}/team-a"),
        None,
    )
    .await;
    assert_eq!(error_code(&refused), "INVALID_STATE");
    let default = call(
        &app,
        None,
        None,
        Method::DELETE,
        &format!("{WS}/default"),
        None,
    )
    .await;
    assert!(
        default.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot be deleted")
    );
    let gone = call(
        &app,
        None,
        None,
        Method::DELETE,
        &format!("{WS}/team-a?mode=CASCADE"),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(gone.body.is_empty());
    let after = call(
        &app,
        None,
        Some("team-a"),
        Method::GET,
        "experiments/search?max_results=5",
        None,
    )
    .await;
    assert_eq!(
        after.status,
        StatusCode::NOT_FOUND,
        "the deleted workspace is gone at once"
    );
}

#[tokio::test]
async fn resources_stay_in_their_workspace() {
    let app = TestApp::with_workspaces(None).await;
    call(
        &app,
        None,
        None,
        Method::POST,
        WS,
        Some(json!({"name": "team-a"})),
    )
    .await;
    for (header, status) in [
        (Some("nobody"), StatusCode::NOT_FOUND),
        (Some("Bad Name"), StatusCode::BAD_REQUEST),
    ] {
        let raw = call(
            &app,
            None,
            header,
            Method::GET,
            "experiments/search?max_results=5",
            None,
        )
        .await;
        assert_eq!(raw.status, status);
    }
    let here = create_experiment(&app, None, None, "same").await;
    let there = create_experiment(&app, None, Some("team-a"), "same").await;
    // By name: each workspace has its own.
    let by_name = call(
        &app,
        None,
        Some("team-a"),
        Method::GET,
        "experiments/get-by-name?experiment_name=same",
        None,
    )
    .await;
    assert_eq!(by_name.json()["experiment"]["experiment_id"], json!(there));
    // By ID across workspaces: not found, as the reference answers.
    let across = call(
        &app,
        None,
        Some("team-a"),
        Method::GET,
        &format!("experiments/get?experiment_id={here}"),
        None,
    )
    .await;
    assert_eq!(across.status, StatusCode::NOT_FOUND);
    assert!(
        across.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("No Experiment with id={here}"))
    );
    let run = call(
        &app,
        None,
        None,
        Method::POST,
        "runs/create",
        Some(json!({"experiment_id": here})),
    )
    .await
    .json()["run"]["info"]["run_id"]
        .as_str()
        .expect("run")
        .to_owned();
    let across = call(
        &app,
        None,
        Some("team-a"),
        Method::POST,
        "runs/log-metric",
        Some(json!({"run_id": run, "key": "m", "value": 1, "timestamp": 1})),
    )
    .await;
    assert_eq!(across.status, StatusCode::NOT_FOUND);
    assert!(
        across.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains("Run with id=")
    );
    let into = call(
        &app,
        None,
        Some("team-a"),
        Method::POST,
        "runs/create",
        Some(json!({"experiment_id": here})),
    )
    .await;
    assert_eq!(into.status, StatusCode::NOT_FOUND);
    // Searches: experiments of the workspace only; runs of other workspaces' experiments drop.
    let search = call(
        &app,
        None,
        Some("team-a"),
        Method::GET,
        "experiments/search?max_results=50",
        None,
    )
    .await
    .json();
    let ids: Vec<&str> = search["experiments"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["experiment_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, [there.as_str()]);
    let runs = call(
        &app,
        None,
        Some("team-a"),
        Method::POST,
        "runs/search",
        Some(json!({"experiment_ids": [here, there]})),
    )
    .await;
    assert_eq!(runs.status, StatusCode::OK);
    assert_eq!(runs.json().get("runs"), None, "{:?}", runs.json());
    let mine = call(
        &app,
        None,
        None,
        Method::POST,
        "runs/search",
        Some(json!({"experiment_ids": [here]})),
    )
    .await
    .json();
    assert_eq!(mine["runs"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn signed_in_users_see_their_workspaces_and_only_admins_change_them() {
    let app = TestApp::with_workspaces(Some(Permission::NoPermissions)).await;
    app.auth
        .create_user("admin", Some("admin-password-1"), true, AccountKind::User)
        .await
        .expect("admin");
    app.auth
        .create_user("bob", Some("bob-password-123"), false, AccountKind::User)
        .await
        .expect("bob");
    let (admin, bob) = (
        basic("admin", "admin-password-1"),
        basic("bob", "bob-password-123"),
    );
    // Unauthenticated callers learn nothing about workspaces, not even whether one exists.
    let anon = call(
        &app,
        None,
        Some("nobody"),
        Method::GET,
        "experiments/search",
        None,
    )
    .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    for body in [json!({"name": "team-a"}), json!({"name": "team-b"})] {
        let raw = call(&app, Some(&bob), None, Method::POST, WS, Some(body.clone())).await;
        assert_eq!(raw.status, StatusCode::FORBIDDEN);
        let raw = call(&app, Some(&admin), None, Method::POST, WS, Some(body)).await;
        assert_eq!(raw.status, StatusCode::CREATED);
    }
    let names = |raw: Raw| -> Vec<String> {
        raw.json()["workspaces"]
            .as_array()
            .expect("list")
            .iter()
            .map(|w| w["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        names(call(&app, Some(&bob), None, Method::GET, WS, None).await),
        ["default"]
    );
    assert_eq!(
        call(
            &app,
            Some(&bob),
            None,
            Method::GET,
            &format!("{WS}/team-a"),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // A member (the seeded `user` role) sees it and may create there; what they create is theirs.
    let roles = call(
        &app,
        Some(&admin),
        None,
        Method::GET,
        "/api/3.0/mlflow/roles/list?workspace=team-a",
        None,
    )
    .await
    .json();
    let user_role = roles["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["name"] == "user")
        .expect("seeded user role")["id"]
        .clone();
    let assigned = call(
        &app,
        Some(&admin),
        None,
        Method::POST,
        "/api/3.0/mlflow/roles/assign",
        Some(json!({"username": "bob", "role_id": user_role})),
    )
    .await;
    assert_eq!(assigned.status, StatusCode::OK, "{:?}", assigned.json());
    assert_eq!(
        names(call(&app, Some(&bob), None, Method::GET, WS, None).await),
        ["default", "team-a"]
    );
    let theirs = create_experiment(&app, Some(&bob), Some("team-a"), "bob's").await;
    // Not a member of team-b: nothing there, and nothing of team-a from there.
    let elsewhere = call(
        &app,
        Some(&bob),
        Some("team-b"),
        Method::POST,
        "experiments/create",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    let across = call(
        &app,
        Some(&bob),
        Some("team-b"),
        Method::GET,
        &format!("experiments/get?experiment_id={theirs}"),
        None,
    )
    .await;
    assert_eq!(
        across.status,
        StatusCode::FORBIDDEN,
        "non-administrators get the same answer as for a missing resource"
    );
    let home = call(
        &app,
        Some(&bob),
        Some("team-a"),
        Method::GET,
        &format!("experiments/get?experiment_id={theirs}"),
        None,
    )
    .await;
    assert_eq!(home.status, StatusCode::OK);
    let by_admin = call(
        &app,
        Some(&admin),
        Some("team-b"),
        Method::GET,
        &format!("experiments/get?experiment_id={theirs}"),
        None,
    )
    .await;
    assert_eq!(by_admin.status, StatusCode::NOT_FOUND);
    assert_eq!(
        call(
            &app,
            Some(&bob),
            None,
            Method::DELETE,
            &format!("{WS}/team-b"),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn artifacts_live_under_the_workspace_prefix_and_go_with_a_cascade() {
    let app = TestApp::with_workspaces(None).await;
    call(
        &app,
        None,
        None,
        Method::POST,
        WS,
        Some(json!({"name": "team-c"})),
    )
    .await;
    let id = create_experiment(&app, None, Some("team-c"), "files").await;
    let put = |ws: Option<&'static str>, path: String| {
        let app = &app;
        async move {
            let mut req = Request::builder()
                .method(Method::PUT)
                .uri(format!("/api/2.0/mlflow-artifacts/artifacts/{path}"));
            if let Some(w) = ws {
                req = req.header("x-mlflow-workspace", w);
            }
            app.send(req.body(Body::from("hello")).expect("request"))
                .await
        }
    };
    let stored = put(Some("team-c"), format!("workspaces/team-c/{id}/f.txt")).await;
    assert_eq!(
        stored.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&stored.body)
    );
    let file = app
        .data_dir()
        .join(format!("artifacts/workspaces/team-c/{id}/f.txt"));
    assert!(file.exists());
    // The prefix must name the request's workspace, and only `default` goes without one.
    for (ws, path) in [
        (Some("team-c"), format!("{id}/g.txt")),
        (None, format!("workspaces/team-c/{id}/g.txt")),
    ] {
        let refused = put(ws, path.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{ws:?} {path}");
    }
    let gone = call(
        &app,
        None,
        None,
        Method::DELETE,
        &format!("{WS}/team-c?mode=CASCADE"),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(!app.data_dir().join("artifacts/workspaces/team-c").exists());
}
