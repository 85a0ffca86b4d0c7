//! Regression tests for the reference's authorization advisories: each one's attack, replayed
//! against Keel (bob holds nothing, carol EDIT and dave READ on alice's experiment).

use axum::http::{Method, StatusCode};
use keel_auth::Permission;
use keel_auth::entities::AccountKind;
use serde_json::json;

use crate::support::TestApp;

/// Basic credentials of a test user, whose password is `<user>-password-1`.
fn basic(user: &str) -> String {
    crate::support::basic(user, &format!("{user}-password-1"))
}

struct World {
    app: TestApp,
    experiment: String,
    run: String,
}

/// alice owns an experiment with a run; carol may EDIT it, dave may READ it, bob holds nothing.
async fn world() -> World {
    let app = TestApp::secured(Permission::NoPermissions, None).await;
    for (name, admin) in [
        ("root", true),
        ("alice", false),
        ("bob", false),
        ("carol", false),
        ("dave", false),
    ] {
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
    let raw = app
        .call_as(
            &basic("alice"),
            Method::POST,
            "experiments/create",
            Some(json!({"name": "alices"})),
        )
        .await;
    let experiment = raw.json()["experiment_id"].as_str().expect("id").to_owned();
    let raw = app
        .call_as(
            &basic("alice"),
            Method::POST,
            "runs/create",
            Some(json!({"experiment_id": experiment})),
        )
        .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "the creator manages her experiment"
    );
    let run = raw.json()["run"]["info"]["run_id"]
        .as_str()
        .expect("run")
        .to_owned();
    for (user, level) in [("carol", "EDIT"), ("dave", "READ")] {
        app.auth
            .grant_user(user, "experiment", &experiment, level, "default")
            .await
            .expect("grant");
    }
    World {
        app,
        experiment,
        run,
    }
}

/// CVE-2023-6014: accounts could be created without credentials.
#[tokio::test]
async fn cve_2023_6014_nobody_creates_accounts_without_being_an_administrator() {
    let w = world().await;
    let body = json!({"username": "mallory", "password": "mallory-password"});
    for path in [
        "/api/2.0/mlflow/users/create",
        "/ajax-api/2.0/mlflow/users/create",
        "/health/../api/2.0/mlflow/users/create",
        "/static-files/../api/2.0/mlflow/users/create",
    ] {
        let raw = w
            .app
            .raw(
                Method::POST,
                path,
                serde_json::to_vec(&body).expect("json"),
                Some("application/json"),
            )
            .await;
        // Refused (401), or not a route at all (404, 405, 400): never served.
        assert!(
            matches!(
                raw.status,
                StatusCode::UNAUTHORIZED
                    | StatusCode::NOT_FOUND
                    | StatusCode::METHOD_NOT_ALLOWED
                    | StatusCode::BAD_REQUEST
            ),
            "{path}: {}",
            raw.status
        );
        let raw = w
            .app
            .call_as(&basic("bob"), Method::POST, path, Some(body.clone()))
            .await;
        assert_ne!(raw.status, StatusCode::OK, "{path}");
    }
    assert!(
        w.app
            .auth
            .store()
            .user_by_name("mallory")
            .await
            .expect("read")
            .is_none()
    );
}

/// CVE-2024-4263: an EDIT user could delete artifacts through the artifact proxy.
#[tokio::test]
async fn cve_2024_4263_deleting_artifacts_needs_manage() {
    let w = world().await;
    let path = format!(
        "/api/2.0/mlflow-artifacts/artifacts/{}/{}/artifacts/model.pkl",
        w.experiment, w.run
    );
    let raw = w
        .app
        .call_as(&basic("alice"), Method::PUT, &path, None)
        .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
    for user in ["carol", "dave", "bob"] {
        for mount in ["/api/", "/ajax-api/"] {
            let p = path.replacen("/api/", mount, 1);
            let raw = w.app.call_as(&basic(user), Method::DELETE, &p, None).await;
            assert_eq!(raw.status, StatusCode::FORBIDDEN, "{user} {p}");
        }
    }
    let raw = w
        .app
        .call_as(&basic("dave"), Method::GET, &path, None)
        .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "the artifact survived; READ reads it"
    );
    // A path naming no experiment resolves to nothing a non-administrator may touch.
    for bad in ["artifacts/x.txt", "artifacts/%2e/x"] {
        let raw = w
            .app
            .call_as(
                &basic("carol"),
                Method::PUT,
                &format!("/api/2.0/mlflow-artifacts/{bad}"),
                None,
            )
            .await;
        assert!(
            matches!(raw.status, StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST),
            "{bad}: {}",
            raw.status
        );
    }
    let raw = w
        .app
        .call_as(&basic("alice"), Method::DELETE, &path, None)
        .await;
    assert_eq!(raw.status, StatusCode::OK);
}

/// CVE-2025-14297: routes outside the reference's permission table (artifact downloads, bulk
/// metric history, dataset search, the Ajax twins) checked login only.
#[tokio::test]
async fn cve_2025_14297_side_routes_check_permissions_too() {
    let w = world().await;
    let (e, r) = (&w.experiment, &w.run);
    let reads = [
        format!("/get-artifact?run_id={r}&path=x"),
        format!("/api/2.0/mlflow/artifacts/list?run_id={r}"),
        format!("/ajax-api/2.0/mlflow/artifacts/list?run_id={r}"),
        format!("/api/2.0/mlflow/metrics/get-history?run_id={r}&metric_key=m"),
        format!("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={r}&metric_key=m"),
        format!("/api/2.0/mlflow-artifacts/artifacts?path={e}/{r}"),
        format!("/ajax-api/2.0/mlflow-artifacts/artifacts?path={e}/{r}"),
        "/model-versions/get-artifact?name=m&version=1&path=x".to_owned(),
    ];
    for path in &reads {
        let raw = w.app.call_as(&basic("bob"), Method::GET, path, None).await;
        assert_eq!(raw.status, StatusCode::FORBIDDEN, "{path}");
    }
    let raw = w
        .app
        .call_as(
            &basic("bob"),
            Method::POST,
            "/ajax-api/2.0/mlflow/experiments/search-datasets",
            Some(json!({"experiment_ids": [e]})),
        )
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    // A bulk read naming one readable and one unreadable run is refused as a whole.
    let raw = w
        .app
        .call_as(
            &basic("bob"),
            Method::POST,
            "experiments/create",
            Some(json!({"name": "bobs"})),
        )
        .await;
    let bobs = raw.json()["experiment_id"].as_str().expect("id").to_owned();
    let raw = w
        .app
        .call_as(
            &basic("bob"),
            Method::POST,
            "runs/create",
            Some(json!({"experiment_id": bobs})),
        )
        .await;
    let own_run = raw.json()["run"]["info"]["run_id"]
        .as_str()
        .expect("run")
        .to_owned();
    let path = format!(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={own_run}&run_ids={r}&metric_key=m"
    );
    let raw = w.app.call_as(&basic("bob"), Method::GET, &path, None).await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
}

/// CVE-2025-15381: traces and assessments had no permission checks.
#[tokio::test]
async fn cve_2025_15381_traces_and_assessments_follow_their_experiment() {
    let w = world().await;
    let raw = w
        .app
        .call_as(
            &basic("alice"),
            Method::POST,
            "/api/3.0/mlflow/traces",
            Some(crate::traces::start_body(&w.experiment)),
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let trace = raw.json()["trace"]["trace_info"]["trace_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let missing = format!("tr-{}", "0".repeat(32));
    for id in [&trace, &missing] {
        let raw = w
            .app
            .call_as(
                &basic("bob"),
                Method::GET,
                &format!("/api/3.0/mlflow/traces/{id}"),
                None,
            )
            .await;
        assert_eq!(
            raw.status,
            StatusCode::FORBIDDEN,
            "a forbidden and a missing trace look alike"
        );
        let raw = w
            .app
            .call_as(
                &basic("bob"),
                Method::POST,
                &format!("/api/3.0/mlflow/traces/{id}/assessments"),
                Some(json!({"assessment": {"assessment_name": "x", "trace_id": id,
                    "source": {"source_type": "HUMAN", "source_id": "bob"}, "feedback": {"value": 1}}})),
            )
            .await;
        assert_eq!(raw.status, StatusCode::FORBIDDEN);
    }
    for (user, status) in [
        ("bob", StatusCode::FORBIDDEN),
        ("dave", StatusCode::FORBIDDEN),
        ("carol", StatusCode::FORBIDDEN),
    ] {
        let raw = w
            .app
            .call_as(
                &basic(user),
                Method::POST,
                "/api/3.0/mlflow/traces/delete-traces",
                Some(json!({"experiment_id": w.experiment, "max_timestamp_millis": i64::MAX, "max_traces": 10})),
            )
            .await;
        assert_eq!(
            raw.status, status,
            "{user} may not delete traces (MANAGE only)"
        );
    }
    let raw = w
        .app
        .call_as(
            &basic("dave"),
            Method::GET,
            &format!("/api/3.0/mlflow/traces/{trace}"),
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK, "READ reads");
    let raw = w
        .app
        .call_as(
            &basic("bob"),
            Method::POST,
            "/api/3.0/mlflow/traces/search",
            Some(json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": w.experiment}}]})),
        )
        .await;
    // A search covers only experiments the caller may read: this one drops out.
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.json()["traces"].as_array().map_or(0, Vec::len), 0);
}

/// CVE-2026-2652: OTLP trace export took no credentials at all.
#[tokio::test]
async fn cve_2026_2652_otlp_export_authenticates_and_needs_edit() {
    let w = world().await;
    let export = |who: Option<String>| {
        let app = &w.app;
        let experiment = w.experiment.clone();
        async move {
            let mut req = axum::http::Request::builder()
                .method(Method::POST)
                .uri("/v1/traces")
                .header("content-type", "application/json")
                .header("x-mlflow-experiment-id", experiment);
            if let Some(a) = who {
                req = req.header("authorization", a);
            }
            let body = json!({"resourceSpans": []}).to_string();
            app.send(req.body(axum::body::Body::from(body)).expect("request"))
                .await
        }
    };
    assert_eq!(export(None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        export(Some(basic("bob"))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        export(Some(basic("dave"))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(export(Some(basic("carol"))).await.status, StatusCode::OK);
}

/// CVE-2026-0545: job routes took no credentials. Keel serves no job API: anonymous callers
/// get nothing but a 404, and nothing runs.
#[tokio::test]
async fn cve_2026_0545_unknown_routes_never_serve() {
    let w = world().await;
    for (method, path) in [
        (Method::POST, "/ajax-api/3.0/jobs/"),
        (Method::GET, "/ajax-api/3.0/jobs/1"),
        (Method::POST, "/ajax-api/3.0/jobs/search"),
        (Method::PATCH, "/ajax-api/3.0/jobs/cancel/1"),
    ] {
        let raw = w
            .app
            .raw(method.clone(), path, "{}", Some("application/json"))
            .await;
        assert!(
            matches!(raw.status, StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED),
            "{method} {path}: {}",
            raw.status
        );
    }
}

/// CVE-2026-3198: listings of sensitive objects were open to every user. Keel's listings of
/// webhooks (which hold signing secrets) are for administrators only.
#[tokio::test]
async fn cve_2026_3198_sensitive_listings_are_for_administrators() {
    let w = world().await;
    for path in ["/api/2.0/mlflow/webhooks", "/ajax-api/2.0/mlflow/webhooks"] {
        let raw = w
            .app
            .call_as(&basic("alice"), Method::GET, path, None)
            .await;
        assert_eq!(raw.status, StatusCode::FORBIDDEN, "{path}");
        let raw = w.app.call_as(&basic("root"), Method::GET, path, None).await;
        assert_eq!(raw.status, StatusCode::OK, "{path}");
    }
}
