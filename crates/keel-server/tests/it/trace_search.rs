//! Trace search over HTTP: `POST /api/3.0/mlflow/traces/search` (SearchTracesV3) and the v2
//! `GET /api/2.0/mlflow/traces`, their wire shapes, paging and errors.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, array, assert_4xx, assert_error, assert_invalid};

fn trace_id(n: u8) -> String {
    format!("tr-{}", format!("{n:02x}").repeat(16))
}

/// Starts trace `n` in `experiment` at `n` seconds past 2023-11-14T22:13:20Z.
async fn start(app: &TestApp, experiment: &str, n: u8, state: &str, name: &str) {
    let body = json!({"trace": {"trace_info": {
        "trace_id": trace_id(n),
        "client_request_id": format!("req-{n}"),
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment}},
        "request_time": format!("2023-11-14T22:13:{:02}Z", 20 + n),
        "execution_duration": format!("{n}.250s"),
        "state": state,
        "trace_metadata": {"mlflow.sourceRun": format!("run-{}", n % 2)},
        "tags": {"mlflow.traceName": name, "n": n.to_string()}}}});
    app.ok_post("/api/3.0/mlflow/traces", body).await;
}

fn locations(ids: &[&str]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| json!({"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": id}}))
            .collect(),
    )
}

fn ids(body: &Value) -> Vec<String> {
    array(&body["traces"])
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn want(ns: &[u8]) -> Vec<String> {
    ns.iter().map(|n| trace_id(*n)).collect()
}

#[tokio::test]
async fn search_v3_filters_orders_and_pages() {
    let app = TestApp::new().await;
    let a = app.create_experiment("search-a").await;
    let b = app.create_experiment("search-b").await;
    start(&app, &a, 1, "OK", "agent").await;
    start(&app, &a, 2, "ERROR", "agent").await;
    start(&app, &a, 3, "OK", "tool").await;
    start(&app, &b, 4, "OK", "agent").await;

    let body = app
        .ok_post(
            "/api/3.0/mlflow/traces/search",
            json!({"locations": locations(&[&a, &b])}),
        )
        .await;
    assert_eq!(ids(&body), want(&[4, 3, 2, 1]));
    assert!(body.get("next_page_token").is_none());
    let info = &array(&body["traces"])[3];
    assert_eq!(
        info["trace_location"]["mlflow_experiment"]["experiment_id"],
        a
    );
    assert_eq!(info["request_time"], "2023-11-14T22:13:21.000Z");
    assert_eq!(info["execution_duration"], "1.250s");
    assert_eq!(info["state"], "OK");
    assert_eq!(info["client_request_id"], "req-1");
    assert_eq!(info["tags"]["mlflow.traceName"], "agent");
    assert_eq!(info["trace_metadata"]["mlflow.sourceRun"], "run-1");

    for (filter, expected) in [
        ("status = 'OK'", vec![4, 3, 1]),
        ("trace.name = 'agent' AND tags.n != '4'", vec![2, 1]),
        ("run_id = 'run-0'", vec![4, 2]),
        ("execution_time_ms > 2000", vec![4, 3, 2]),
        ("timestamp_ms <= 1700000002000", vec![2, 1]),
        ("client_request_id IN ('req-1', 'req-3')", vec![3, 1]),
        ("request_id RLIKE '0303'", vec![3]),
    ] {
        let body = app
            .ok_post(
                "/api/3.0/mlflow/traces/search",
                json!({"locations": locations(&[&a, &b]), "filter": filter}),
            )
            .await;
        let ns: Vec<u8> = expected;
        assert_eq!(ids(&body), want(&ns), "{filter}");
    }

    // Pages of 3 in timestamp order, through both mounts.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for prefix in ["/api/3.0", "/ajax-api/3.0"] {
        let mut req = json!({"locations": locations(&[&a, &b]), "max_results": 3,
                             "order_by": ["timestamp_ms ASC"]});
        if let Some(t) = &token {
            req["page_token"] = json!(t);
        }
        let body = app
            .ok_post(&format!("{prefix}/mlflow/traces/search"), req)
            .await;
        seen.extend(ids(&body));
        token = body["next_page_token"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, want(&[1, 2, 3, 4]));
    assert!(token.is_none());

    // Only experiment locations count; none means no traces.
    let body = app
        .ok_post(
            "/api/3.0/mlflow/traces/search",
            json!({"locations": [{"type": "INFERENCE_TABLE", "inference_table": {"full_table_name": "x"}}]}),
        )
        .await;
    assert_eq!(body, json!({"traces": []}));
}

#[tokio::test]
async fn search_v2_returns_v2_trace_infos() {
    let app = TestApp::new().await;
    let a = app.create_experiment("search-v2").await;
    start(&app, &a, 1, "OK", "agent").await;
    start(&app, &a, 2, "ERROR", "tool").await;
    let body = app
        .ok_get(
            "/api/2.0/mlflow/traces",
            &[
                ("experiment_ids", &a),
                ("filter", "status = 'ERROR'"),
                ("max_results", "10"),
            ],
        )
        .await;
    let traces = array(&body["traces"]);
    assert_eq!(traces.len(), 1);
    let t = &traces[0];
    assert_eq!(t["request_id"], trace_id(2));
    assert_eq!(t["experiment_id"], a);
    assert_eq!(t["timestamp_ms"], 1_700_000_002_000i64);
    assert_eq!(t["execution_time_ms"], 2250);
    assert_eq!(t["status"], "ERROR");
    assert!(array(&t["tags"]).contains(&json!({"key": "mlflow.traceName", "value": "tool"})));
    assert!(
        array(&t["request_metadata"])
            .contains(&json!({"key": "mlflow.sourceRun", "value": "run-0"}))
    );
    let body = app
        .ok_get(
            "/ajax-api/2.0/mlflow/traces",
            &[
                ("experiment_ids", &a),
                ("max_results", "1"),
                ("order_by", "timestamp_ms ASC"),
            ],
        )
        .await;
    assert_eq!(
        array(&body["traces"])[0]["request_id"],
        trace_id(1),
        "{body}"
    );
    assert!(body["next_page_token"].is_string());
}

#[tokio::test]
async fn search_errors_are_mlflow_errors() {
    let app = TestApp::new().await;
    let a = app.create_experiment("search-errors").await;
    start(&app, &a, 1, "OK", "agent").await;
    let search = |body: Value| {
        let app = &app;
        async move { app.post("/api/3.0/mlflow/traces/search", body).await }
    };
    let (status, body) = search(json!({})).await;
    assert_invalid(
        status,
        &body,
        "Missing value for required parameter 'locations'",
    );
    for (filter, needle) in [
        ("status = 'OK' OR status = 'ERROR'", "AND only"),
        ("foo.bar = 'x'", "Invalid entity type 'foo'"),
        ("nope = 1", "Invalid attribute key 'nope'"),
        ("span.kind = 'x'", "Invalid span attribute 'kind'"),
        ("status > 'OK'", "Invalid comparator '>'"),
        ("'unterminated", "unterminated"),
    ] {
        let (status, body) = search(json!({"locations": locations(&[&a]), "filter": filter})).await;
        assert_invalid(status, &body, needle);
    }
    let (status, body) =
        search(json!({"locations": locations(&[&a]), "order_by": ["span.name"]})).await;
    assert_invalid(status, &body, "Invalid identifier type 'span'");
    for max in [0, 501, -1] {
        let (status, body) =
            search(json!({"locations": locations(&[&a]), "max_results": max})).await;
        assert_invalid(status, &body, "max_results");
    }
    let (status, body) =
        search(json!({"locations": locations(&[&a]), "page_token": "garbage"})).await;
    assert_invalid(status, &body, "page token");
    let (status, body) = search(json!({"locations": locations(&["abc"])})).await;
    assert_invalid(status, &body, "Invalid experiment ID 'abc'");
    for bad in [
        json!({"locations": "x"}),
        json!({"locations": locations(&[&a]), "max_results": "many"}),
        json!({"locations": locations(&[&a]), "filter": {"a": 1}}),
        json!({"locations": locations(&[&a]), "order_by": [1, 2]}),
    ] {
        let (status, body) = search(bad.clone()).await;
        assert_4xx(status, &body, &bad.to_string());
    }
    let (status, body) = app.get("/api/2.0/mlflow/traces").await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    assert_invalid(status, &body, "experiment_ids");
}
