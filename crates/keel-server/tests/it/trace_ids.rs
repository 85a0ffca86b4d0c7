//! Trace IDs a client chooses (`tr-1234`, the v2 API's bare hex digits), the deprecated v2 trace
//! routes (start, end, get info), and links to runs sent before their trace arrives.

use axum::http::{Method, StatusCode};
use keel_auth::Permission;
use serde_json::{Value, json};

use crate::authz::{admin, bob, secured, seed};
use crate::support::{TestApp, assert_error};
use crate::traces::{export, export_body, send_json, span, start_body, trace_id};

/// The request IDs of the v2 search of `experiment` with `filter`.
async fn search_ids(app: &TestApp, experiment: &str, filter: &str) -> Vec<String> {
    let filter: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    let (status, body) = app
        .get(&format!(
            "/api/2.0/mlflow/traces?experiment_ids={experiment}&filter={filter}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["traces"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|i| i["request_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_client_chosen_trace_id_is_kept_exactly() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("chosen-ids").await;
    let mut body = start_body(&exp);
    body["trace"]["trace_info"]["trace_id"] = json!("tr-1234");
    let started = app.ok_post("/api/3.0/mlflow/traces", body).await;
    let info = &started["trace"]["trace_info"];
    assert_eq!(info["trace_id"], "tr-1234");
    let location = info["tags"]["mlflow.artifactLocation"]
        .as_str()
        .expect("tag");
    assert!(
        location.ends_with("/traces/tr-1234/artifacts"),
        "{location}"
    );

    let (status, got) = app.get("/api/3.0/mlflow/traces/tr-1234").await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["trace"]["trace_info"]["trace_id"], "tr-1234");
    let (status, body) = send_json(
        &app,
        Method::PATCH,
        "/api/2.0/mlflow/traces/tr-1234/tags",
        json!({"key": "team", "value": "qa"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(search_ids(&app, &exp, "tag.team = 'qa'").await, ["tr-1234"]);

    // IDs that could not be stored safely (or name another trace) are refused or not found.
    for bad in ["tr-x/y", "tr 1", ".hidden", ""] {
        let mut body = start_body(&exp);
        body["trace"]["trace_info"]["trace_id"] = json!(bad);
        let (status, body) = app.post("/api/3.0/mlflow/traces", body).await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        );
    }
    let long = format!("tr-{}", "1".repeat(200));
    for missing in ["TR-1234", "tr-12345", long.as_str()] {
        let (status, body) = app.get(&format!("/api/3.0/mlflow/traces/{missing}")).await;
        assert_error(
            status,
            &body,
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        );
    }
}

#[tokio::test]
async fn the_v2_trace_routes_start_end_and_read_a_trace() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("v2-traces").await;
    let started = app
        .ok_post(
            "/api/2.0/mlflow/traces",
            json!({"experiment_id": exp, "timestamp_ms": 1_000,
                   "request_metadata": [{"key": "m", "value": "1"}],
                   "tags": [{"key": "t", "value": "a"}]}),
        )
        .await;
    let info = &started["trace_info"];
    let id = info["request_id"].as_str().expect("request_id").to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(info["experiment_id"], exp.as_str());
    assert_eq!(info["timestamp_ms"], 1_000);
    assert_eq!(info["execution_time_ms"], 0);
    assert_eq!(info["status"], "IN_PROGRESS");
    let has = |list: &Value, key: &str, value: &str| {
        list.as_array()
            .is_some_and(|l| l.contains(&json!({"key": key, "value": value})))
    };
    assert!(has(&info["tags"], "t", "a"), "{info}");
    assert!(has(&info["request_metadata"], "m", "1"), "{info}");

    let path = format!("/api/2.0/mlflow/traces/{id}");
    let (status, ended) = send_json(
        &app,
        Method::PATCH,
        &path,
        json!({"timestamp_ms": 1_500, "status": "OK",
               "request_metadata": [{"key": "n", "value": "2"}],
               "tags": [{"key": "t", "value": "b"}, {"key": "u", "value": "c"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    let ended = &ended["trace_info"];
    assert_eq!(ended["request_id"], id.as_str());
    assert_eq!(ended["execution_time_ms"], 500);
    assert_eq!(ended["status"], "OK");
    for (key, value) in [("t", "b"), ("u", "c")] {
        assert!(has(&ended["tags"], key, value), "{ended}");
    }
    for (key, value) in [("m", "1"), ("n", "2")] {
        assert!(has(&ended["request_metadata"], key, value), "{ended}");
    }
    let location = ended["tags"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["key"] == "mlflow.artifactLocation"))
        .expect("artifact location");
    assert!(
        location["value"]
            .as_str()
            .is_some_and(|v| v.ends_with(&format!("/traces/{id}/artifacts"))),
        "{location}"
    );

    let (status, got) = app.get(&format!("{path}/info")).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(&got["trace_info"], ended);
    // The same trace through the v3 API and the v2 search, under the same ID.
    let (status, v3) = app.get(&format!("/api/3.0/mlflow/traces/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{v3}");
    assert_eq!(v3["trace"]["trace_info"]["trace_id"], id.as_str());
    assert_eq!(search_ids(&app, &exp, "tag.u = 'c'").await, [id.as_str()]);

    // Bad requests.
    let missing = format!("/api/2.0/mlflow/traces/{}", "0".repeat(32));
    let (status, body) = send_json(&app, Method::PATCH, &missing, json!({"status": "OK"})).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (status, body) = app.get(&format!("{missing}/info")).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    for bad in [
        json!({"status": "DONE"}),
        json!({"timestamp_ms": "soon"}),
        json!({"tags": [{"value": "no key"}]}),
        json!({"request_metadata": [{"key": "", "value": "x"}]}),
    ] {
        let (status, body) = send_json(&app, Method::PATCH, &path, bad.clone()).await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        );
    }
    for (bad, code, want) in [
        (
            json!({}),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"experiment_id": "123456789"}),
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            json!({"experiment_id": exp, "tags": [{"value": "v"}]}),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        ),
    ] {
        let (status, body) = app.post("/api/2.0/mlflow/traces", bad.clone()).await;
        assert_error(status, &body, code, want);
    }
    // A failed end wrote nothing.
    let (_, again) = app.get(&format!("{path}/info")).await;
    assert_eq!(&again["trace_info"], ended);
}

#[tokio::test]
async fn a_link_sent_before_its_trace_holds_once_the_trace_arrives() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("early-links").await;
    let run = app.create_run(&exp).await;
    app.ok_post(
        "traces/link-to-run",
        json!({"trace_ids": [trace_id()], "run_id": run}),
    )
    .await;
    let filter = format!("run_id = '{run}'");
    assert!(search_ids(&app, &exp, &filter).await.is_empty());
    let raw = export(
        &app,
        Some(&exp),
        export_body(vec![span(1, None, "root", vec![])]),
        "application/x-protobuf",
        None,
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(search_ids(&app, &exp, &filter).await, [trace_id()]);
    // A run that does not exist is still refused.
    let (status, body) = app
        .post(
            "traces/link-to-run",
            json!({"trace_ids": ["tr-later"], "run_id": "0".repeat(32)}),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

#[tokio::test]
async fn an_early_link_needs_write_access_to_the_runs_experiment() {
    let app = secured(Permission::Read).await;
    let seeded = seed(&app).await;
    let (exp, run) = (seeded.experiment, seeded.run);
    let link = json!({"trace_ids": ["tr-not-yet"], "run_id": run});
    let raw = app
        .call_as(
            &bob(),
            Method::POST,
            "traces/link-to-run",
            Some(link.clone()),
        )
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    let raw = app
        .call_as(
            &admin(),
            Method::POST,
            "/api/3.0/mlflow/users/permissions/grant",
            Some(json!({"username": "bob", "resource_type": "experiment",
                        "resource_id": exp, "permission": "EDIT"})),
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let raw = app
        .call_as(&bob(), Method::POST, "traces/link-to-run", Some(link))
        .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
}

/// A JSON body over the 16 MiB limit, naming `field` (a string of 17 MiB).
fn oversized(field: &str) -> Vec<u8> {
    let mut body = format!(r#"{{"{field}":""#).into_bytes();
    body.extend(std::iter::repeat_n(b'a', 17 * 1024 * 1024));
    body.extend(br#""}"#);
    body
}

#[tokio::test]
async fn the_routes_of_this_issue_refuse_oversized_bodies_and_write_nothing() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("oversized").await;
    let (_, started) = app
        .post("/api/2.0/mlflow/traces", json!({"experiment_id": exp}))
        .await;
    let id = started["trace_info"]["request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let v2_end = format!("/api/2.0/mlflow/traces/{id}");
    for (method, path, field) in [
        (Method::POST, "/api/2.0/mlflow/traces", "experiment_id"),
        (Method::PATCH, v2_end.as_str(), "status"),
        (Method::POST, "traces/link-to-run", "run_id"),
        (
            Method::POST,
            "/api/3.0/mlflow/traces/metrics",
            "metric_name",
        ),
        (
            Method::POST,
            "/api/3.0/mlflow/traces/calculate-filter-correlation",
            "filter_string1",
        ),
        (Method::POST, "artifacts/presigned-upload-url", "path"),
        (Method::POST, "artifacts/presigned-download-url", "path"),
        (
            Method::POST,
            "/ajax-api/2.0/mlflow/runs/create-promptlab-run",
            "prompt_template",
        ),
    ] {
        let raw = app
            .raw(
                method.clone(),
                path,
                oversized(field),
                Some("application/json"),
            )
            .await;
        assert!(
            raw.status.is_client_error(),
            "{method} {path}: {}",
            raw.status
        );
    }
    // Nothing was written: one trace (the one started above), still in progress; no run.
    let (_, search) = app
        .get(&format!("/api/2.0/mlflow/traces?experiment_ids={exp}"))
        .await;
    let traces = search["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0]["status"], "IN_PROGRESS");
    let (_, runs) = app
        .post("runs/search", json!({"experiment_ids": [exp]}))
        .await;
    assert!(runs.get("runs").is_none(), "{runs}");
}

#[tokio::test]
async fn replayed_and_concurrent_v2_ends_lose_nothing() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("v2-concurrent").await;
    let started = app
        .ok_post(
            "/api/2.0/mlflow/traces",
            json!({"experiment_id": exp, "timestamp_ms": 1_000}),
        )
        .await;
    let id = started["trace_info"]["request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/2.0/mlflow/traces/{id}");
    let ends = (0..8).map(|i| {
        send_json(
            &app,
            Method::PATCH,
            &path,
            json!({"timestamp_ms": 1_500, "status": "OK",
                   "tags": [{"key": format!("t{i}"), "value": "x"}]}),
        )
    });
    for (status, body) in futures_util::future::join_all(ends).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A replay gives the same answer; no concurrent end's tag was lost.
    let (status, again) = send_json(
        &app,
        Method::PATCH,
        &path,
        json!({"timestamp_ms": 1_500, "status": "OK"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let info = &again["trace_info"];
    assert_eq!(info["execution_time_ms"], 500);
    let tags: Vec<&str> = info["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["key"].as_str())
        .filter(|k| k.starts_with('t'))
        .collect();
    assert_eq!(tags, ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"]);
}
