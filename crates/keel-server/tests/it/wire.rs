//! Wire facts: routing under both prefixes, methods, fallbacks, meta endpoints and JSON shapes.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use keel_server::routes::{Mount, table};
use serde_json::{Value, json};

use crate::support::*;

/// An empty request of `method` to `path` (an empty JSON object for POST).
async fn empty_request(app: &TestApp, method: &Method, path: &str) -> (StatusCode, Value) {
    if *method == Method::GET {
        app.get(path).await
    } else {
        let raw = app
            .raw(method.clone(), path, "{}", Some("application/json"))
            .await;
        (raw.status, raw.json())
    }
}

#[tokio::test]
async fn every_route_answers_at_every_mount_path() {
    // With workspaces on, so that their routes answer too (without, they are "not found").
    let app = TestApp::with_workspaces(None).await;
    for route in table() {
        for path in mount_paths(route.mount, route.path) {
            let (status, body) = empty_request(&app, &route.method, &path).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}: {body}");
            // 501 is the answer of the signed-URL routes on a local artifact store.
            assert!(
                !status.is_server_error() || status == StatusCode::NOT_IMPLEMENTED,
                "{path}: {status} {body}"
            );
            assert_ne!(body["error_code"], "ENDPOINT_NOT_FOUND", "{path}: {body}");
            if !status.is_success() {
                assert_error_shape_at(&path, &body);
            }
        }
    }
}

#[tokio::test]
async fn mlflow2_routes_exist_under_api_and_ajax_api() {
    let app = TestApp::new().await;
    let mlflow2: Vec<_> = table()
        .into_iter()
        .filter(|r| r.mount == Mount::Mlflow2)
        .collect();
    assert!(mlflow2.len() >= 20, "the table lost routes");
    for prefix in ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"] {
        let (status, body) = app
            .get(&format!("{prefix}experiments/get?experiment_id=0"))
            .await;
        assert_eq!(status, StatusCode::OK, "{prefix}: {body}");
        assert_eq!(body["experiment"]["name"], "Default");
    }
}

#[tokio::test]
async fn search_datasets_is_only_under_ajax_api() {
    let app = TestApp::new().await;
    let (status, body) = app
        .post(
            "/api/2.0/mlflow/experiments/search-datasets",
            json!({"experiment_ids": ["0"]}),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND");
    let (status, body) = app
        .post(
            "/ajax-api/2.0/mlflow/experiments/search-datasets",
            json!({"experiment_ids": ["0"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));
}

#[tokio::test]
async fn wrong_methods_get_405_json() {
    let app = TestApp::new().await;
    let routes = table();
    for route in &routes {
        for path in mount_paths(route.mount, route.path) {
            let served: Vec<Method> = routes
                .iter()
                .filter(|r| mount_paths(r.mount, r.path).contains(&path))
                .map(|r| r.method.clone())
                .collect();
            for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
                if served.contains(&method) {
                    continue;
                }
                let raw = app
                    .raw(method.clone(), &path, "{}", Some("application/json"))
                    .await;
                assert_eq!(
                    raw.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_error_shape(&raw.json());
            }
        }
    }
}

#[tokio::test]
async fn get_only_and_post_only_routes_spot_checks() {
    let app = TestApp::new().await;
    let (status, _) = app.post("runs/get", json!({"run_id": "x"})).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = app.get("runs/search").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = app.post("metrics/get-history", json!({})).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // experiments/search answers both.
    let (status, _) = app.get("experiments/search").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.post("experiments/search", json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_are_404_endpoint_not_found() {
    let app = TestApp::new().await;
    for path in [
        "/api/2.0/mlflow/nope",
        "/api/2.0/mlflow/runs/get/extra",
        "/api/2.0/mlflow/runs/",
        "/api/2.1/mlflow/runs/get",
        "/api/3.0/mlflow/runs/get",
        "/ajax-api/2.0/mlflow/experiments/nope",
        // `/` is the web UI's page now (tests/it/ui.rs); other non-API paths stay unknown.
        "/index.html",
        "/healthz",
        "/api/2.0/mlflow/../mlflow/runs/get",
        "/api/2.0/mlflow/%2e%2e/x",
    ] {
        for method in [Method::GET, Method::POST] {
            let raw = app
                .raw(method.clone(), path, "{}", Some("application/json"))
                .await;
            assert_error(
                raw.status,
                &raw.json(),
                StatusCode::NOT_FOUND,
                "ENDPOINT_NOT_FOUND",
            );
        }
    }
}

#[tokio::test]
async fn health_is_plain_ok() {
    let app = TestApp::new().await;
    let raw = app.raw(Method::GET, "/health", Body::empty(), None).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.body, b"OK");
    let ct = raw.headers["content-type"].to_str().unwrap_or_default();
    assert!(ct.starts_with("text/plain"), "{ct}");
}

#[tokio::test]
async fn version_is_the_compatible_mlflow_version() {
    let app = TestApp::new().await;
    let raw = app.raw(Method::GET, "/version", Body::empty(), None).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(String::from_utf8_lossy(&raw.body), "3.17.2");
    assert!(raw.headers.contains_key("x-keel-version"));
}

#[tokio::test]
async fn server_info_is_json_with_store_type() {
    let app = TestApp::new().await;
    for path in [
        "/api/3.0/mlflow/server-info",
        "/ajax-api/3.0/mlflow/server-info",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["store_type"], "SqlStore", "{body}");
        assert_eq!(body["workspaces_enabled"], false, "{body}");
        assert!(body["multipart_uploads_enabled"].is_boolean(), "{body}");
    }
}

#[tokio::test]
async fn default_experiment_shape() {
    let app = TestApp::new().await;
    let v = app
        .ok_get("experiments/get", &[("experiment_id", "0")])
        .await;
    let e = &v["experiment"];
    assert_eq!(e["experiment_id"], "0");
    assert_eq!(e["name"], "Default");
    assert_eq!(e["lifecycle_stage"], "active");
    assert_eq!(e["artifact_location"], "mlflow-artifacts:/0");
    assert!(e["creation_time"].is_i64(), "{e}");
    assert!(e["last_update_time"].is_i64(), "{e}");
    assert!(e.get("tags").is_none(), "empty tags must be omitted: {e}");
}

#[tokio::test]
async fn experiment_ids_are_strings_and_times_are_numbers() {
    let app = TestApp::new().await;
    let v = app
        .ok_post(
            "experiments/create",
            json!({"name": "e", "tags": [{"key": "k", "value": "v"}]}),
        )
        .await;
    assert_eq!(keys(&v), ["experiment_id"]);
    let id = v["experiment_id"].as_str().expect("string id");
    assert!(id.parse::<i64>().is_ok(), "{id}");
    let e = app
        .ok_get("experiments/get-by-name", &[("experiment_name", "e")])
        .await["experiment"]
        .clone();
    assert_eq!(e["experiment_id"], id);
    assert_eq!(e["tags"], json!([{"key": "k", "value": "v"}]));
    assert_eq!(e["artifact_location"], format!("mlflow-artifacts:/{id}"));
}

#[tokio::test]
async fn new_run_shape_omits_empty_fields() {
    let app = TestApp::new().await;
    let v = app
        .ok_post(
            "runs/create",
            json!({"experiment_id": "0", "start_time": 1234, "user_id": "alice"}),
        )
        .await;
    let run = &v["run"];
    let info = &run["info"];
    let run_id = info["run_id"].as_str().expect("run_id");
    assert_eq!(run_id.len(), 32);
    assert!(run_id.chars().all(|c| c.is_ascii_hexdigit()), "{run_id}");
    assert_eq!(info["run_uuid"], run_id);
    assert_eq!(info["experiment_id"], "0");
    assert_eq!(info["user_id"], "alice");
    assert_eq!(info["status"], "RUNNING");
    assert_eq!(info["lifecycle_stage"], "active");
    assert_eq!(info["start_time"], 1234);
    assert!(info["start_time"].is_i64());
    assert!(info.get("end_time").is_none(), "{info}");
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/0/{run_id}/artifacts")
    );
    let name = info["run_name"].as_str().expect("generated name");
    assert!(!name.is_empty() && name.len() <= 20, "{name}");
    assert!(run["data"].get("metrics").is_none(), "{run}");
    assert!(run["data"].get("params").is_none(), "{run}");
    assert_eq!(tag(&run["data"]["tags"], "mlflow.runName"), Some(name));
    assert_eq!(run["inputs"], json!({}));

    let got = app.run(run_id).await;
    assert!(got["info"].get("end_time").is_none());
    assert_eq!(got["info"]["run_name"], name);
}

#[tokio::test]
async fn writes_answer_empty_objects() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let id = json!(run);
    for (path, body) in [
        (
            "runs/log-metric",
            json!({"run_id": id, "key": "m", "value": 1.0, "timestamp": 1}),
        ),
        (
            "runs/log-parameter",
            json!({"run_id": id, "key": "p", "value": "v"}),
        ),
        (
            "runs/set-tag",
            json!({"run_id": id, "key": "t", "value": "v"}),
        ),
        ("runs/delete-tag", json!({"run_id": id, "key": "t"})),
        (
            "runs/log-batch",
            json!({"run_id": id, "params": [{"key": "q", "value": "1"}]}),
        ),
        ("runs/delete", json!({"run_id": id})),
        ("runs/restore", json!({"run_id": id})),
        (
            "experiments/set-experiment-tag",
            json!({"experiment_id": "0", "key": "k", "value": "v"}),
        ),
        (
            "experiments/delete-experiment-tag",
            json!({"experiment_id": "0", "key": "k"}),
        ),
        (
            "experiments/update",
            json!({"experiment_id": "0", "new_name": "Renamed"}),
        ),
    ] {
        let v = app.ok_post(path, body).await;
        assert_eq!(v, json!({}), "{path}");
    }
    let raw = app
        .raw(Method::POST, "runs/search", "{}", Some("application/json"))
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.body, b"{}");
}

#[tokio::test]
async fn update_returns_run_info_with_enum_names() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let v = app
        .ok_post(
            "runs/update",
            json!({"run_id": run, "status": "FINISHED", "end_time": 5000}),
        )
        .await;
    assert_eq!(keys(&v), ["run_info"]);
    assert_eq!(v["run_info"]["status"], "FINISHED");
    assert_eq!(v["run_info"]["end_time"], 5000);
    assert!(v["run_info"]["end_time"].is_i64());
    // Enum numbers are accepted on input and answered by name.
    let v = app
        .ok_post("runs/update", json!({"run_id": run, "status": 4}))
        .await;
    assert_eq!(v["run_info"]["status"], "FAILED");
    let v = app
        .ok_post("runs/update", json!({"run_id": run, "status": "5"}))
        .await;
    assert_eq!(v["run_info"]["status"], "KILLED");
    // Fields left out are left alone.
    let v = app.ok_post("runs/update", json!({"run_id": run})).await;
    assert_eq!(v["run_info"]["status"], "KILLED");
    assert_eq!(v["run_info"]["end_time"], 5000);
}

#[tokio::test]
async fn special_doubles_are_strings_and_round_trip() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    for (i, (key, value)) in [("nan", "NaN"), ("pinf", "Infinity"), ("ninf", "-Infinity")]
        .into_iter()
        .enumerate()
    {
        app.log_metric(&run, key, json!(value), 10, 0).await;
        let points = app.history(&run, key).await;
        assert_eq!(points.len(), 1, "{key}");
        assert_eq!(points[0]["value"], value, "{key}");
        let latest = app.run(&run).await["data"]["metrics"].clone();
        let m = array(&latest)
            .into_iter()
            .find(|m| m["key"] == key)
            .expect("latest");
        assert_eq!(m["value"], value, "{key}");
        assert_eq!(array(&latest).len(), i + 1);
    }
    // The bulk-interval read speaks the same encoding.
    let v = app
        .ok_get(
            "metrics/get-history-bulk-interval",
            &[("run_ids", &run), ("metric_key", "nan")],
        )
        .await;
    assert_eq!(v["metrics"][0]["value"], "NaN");
    assert_eq!(v["metrics"][0]["run_id"], run.as_str());
}

#[tokio::test]
async fn ordinary_doubles_stay_numbers() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.log_metric(&run, "a", json!(0.1), 1, 0).await;
    app.log_metric(&run, "b", json!("2.5"), 1, 0).await;
    app.log_metric(&run, "c", json!(-1e300), 1, 0).await;
    app.log_metric(&run, "d", json!(7), 1, 0).await;
    assert_eq!(app.history(&run, "a").await[0]["value"], 0.1);
    assert_eq!(app.history(&run, "b").await[0]["value"], 2.5);
    assert_eq!(app.history(&run, "c").await[0]["value"], -1e300);
    assert_eq!(app.history(&run, "d").await[0]["value"], 7.0);
}

#[tokio::test]
async fn int64_fields_accept_strings_and_answer_numbers() {
    let app = TestApp::new().await;
    let run = app
        .create_run_with(json!({"experiment_id": "0", "start_time": "1700000000000"}))
        .await;
    let info = app.run(&run).await["info"].clone();
    assert_eq!(info["start_time"], 1_700_000_000_000_i64);
    assert_eq!(info["experiment_id"], "0");
    app.ok_post(
        "runs/log-metric",
        json!({"run_id": run, "key": "m", "value": "1", "timestamp": "1005", "step": "-3"}),
    )
    .await;
    let p = &app.history(&run, "m").await[0];
    assert_eq!(p["timestamp"], 1005);
    assert_eq!(p["step"], -3);
    assert!(p["timestamp"].is_i64() && p["step"].is_i64(), "{p}");
    let v = app
        .ok_post("runs/update", json!({"run_id": run, "end_time": "99"}))
        .await;
    assert_eq!(v["run_info"]["end_time"], 99);
    // Large int64 values survive exactly.
    app.ok_post(
        "runs/log-metric",
        json!({"run_id": run, "key": "big", "value": 1, "timestamp": i64::MAX.to_string(),
               "step": i64::MIN}),
    )
    .await;
    let p = &app.history(&run, "big").await[0];
    assert_eq!(p["timestamp"], i64::MAX);
    assert_eq!(p["step"], i64::MIN);
}

#[tokio::test]
async fn run_uuid_is_accepted_in_place_of_run_id() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let (s, v) = app.get_q("runs/get", &[("run_uuid", &run)]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.ok_post(
        "runs/log-metric",
        json!({"run_uuid": run, "key": "m", "value": 1, "timestamp": 1}),
    )
    .await;
    app.ok_post(
        "runs/log-parameter",
        json!({"run_uuid": run, "key": "p", "value": "1"}),
    )
    .await;
    app.ok_post(
        "runs/set-tag",
        json!({"run_uuid": run, "key": "t", "value": "1"}),
    )
    .await;
    let v = app
        .ok_get(
            "metrics/get-history",
            &[("run_uuid", &run), ("metric_key", "m")],
        )
        .await;
    assert_eq!(array(&v["metrics"]).len(), 1);
    let v = app
        .ok_post(
            "runs/update",
            json!({"run_uuid": run, "status": "FINISHED"}),
        )
        .await;
    assert_eq!(v["run_info"]["status"], "FINISHED");
    // The client sends both; they agree.
    app.ok_post(
        "runs/log-metric",
        json!({"run_uuid": run, "run_id": run, "key": "m", "value": 2, "timestamp": 2}),
    )
    .await;
    let data = app.run(&run).await["data"].clone();
    assert_eq!(tag(&data["params"], "p"), Some("1"));
    assert_eq!(tag(&data["tags"], "t"), Some("1"));
    assert_eq!(app.history(&run, "m").await.len(), 2);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = TestApp::new().await;
    let v = app
        .ok_post(
            "experiments/create",
            json!({"name": "x", "surprise": {"deep": [1, 2]}, "workspace": "default"}),
        )
        .await;
    assert!(v["experiment_id"].is_string());
}

#[tokio::test]
async fn repeated_query_keys_are_lists() {
    let app = TestApp::new().await;
    let a = app.create_run("0").await;
    let b = app.create_run("0").await;
    app.log_metric(&a, "m", json!(1), 1, 0).await;
    app.log_metric(&b, "m", json!(2), 1, 0).await;
    let v = app
        .ok_get(
            "metrics/get-history-bulk-interval",
            &[("run_ids", &b), ("run_ids", &a), ("metric_key", "m")],
        )
        .await;
    let ids: Vec<Value> = array(&v["metrics"])
        .iter()
        .map(|m| m["run_id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(b), json!(a)], "grouped in request order");
}

#[tokio::test]
async fn error_bodies_are_json_with_content_type() {
    let app = TestApp::new().await;
    let raw = app
        .raw(Method::GET, "runs/get?run_id=nope", Body::empty(), None)
        .await;
    assert_eq!(raw.status, StatusCode::NOT_FOUND);
    let ct = raw.headers["content-type"].to_str().unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{ct}");
    assert_error(
        raw.status,
        &raw.json(),
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(raw.json()["message"], "Run with id=nope not found");
}

#[tokio::test]
async fn head_requests_read_the_query_like_get() {
    let app = TestApp::new().await;
    let raw = app
        .raw(
            Method::HEAD,
            "experiments/get?experiment_id=0",
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert!(raw.body.is_empty());
    let raw = app
        .raw(
            Method::HEAD,
            "experiments/get?experiment_id=424242",
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::NOT_FOUND);
}
