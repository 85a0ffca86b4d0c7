//! Keel's Ajax-only span endpoints over HTTP: the skeleton's rows (order, hex IDs, microsecond
//! times), one span exactly as `traces/get` lists it, errors, and the mount (`/ajax-api/3.0` only).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_error};
use crate::traces::{export, export_body, kv, span, start_body, trace_id};

const AJAX3: &str = "/ajax-api/3.0/mlflow";

/// A trace of three spans (root `01…`, children `02…` and `03…`) in a new experiment; the
/// client's info says five spans, so the trace is still receiving spans. Returns the experiment.
async fn seeded(app: &TestApp) -> String {
    let exp = app.create_experiment("span-skeleton").await;
    let mut failed = span(3, Some(1), "tool", vec![]);
    failed.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
        code: 2,
        message: "no such tool".into(),
    });
    failed.end_time_unix_nano = 0;
    let body = export_body(vec![
        failed,
        span(2, Some(1), "llm", vec![kv("gen_ai.operation.name", "chat")]),
        span(
            1,
            None,
            "agent",
            vec![kv("openinference.span.kind", "AGENT")],
        ),
    ]);
    let raw = export(app, Some(&exp), body, "application/x-protobuf", None).await;
    assert_eq!(raw.status, StatusCode::OK);
    let mut start = start_body(&exp);
    start["trace"]["trace_info"]["trace_metadata"]["mlflow.trace.sizeStats"] =
        json!("{\"num_spans\": 5}");
    app.ok_post("/api/3.0/mlflow/traces", start).await;
    exp
}

#[tokio::test]
async fn skeleton_rows_are_in_read_order_with_microseconds() {
    let app = TestApp::new().await;
    seeded(&app).await;
    let started = Instant::now();
    let (status, body) = app
        .get(&format!("{AJAX3}/traces/{}/spans", trace_id()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no waiting for the spans still on their way"
    );
    // Span n starts at 1_700_000_000_000_000_000 + n ms and ends at + 500 ms (span 3 is open).
    assert_eq!(
        body,
        json!({"trace_id": trace_id(), "spans": [
            ["0101010101010101", null, "agent", "AGENT", "OK", 1_700_000_000_001_000_i64, 1_700_000_000_500_000_i64],
            ["0202020202020202", "0101010101010101", "llm", "CHAT_MODEL", "OK", 1_700_000_000_002_000_i64, 1_700_000_000_500_000_i64],
            ["0303030303030303", "0101010101010101", "tool", "UNKNOWN", "ERROR", 1_700_000_000_003_000_i64, null],
        ]})
    );
    // Trace IDs are compared exactly, as on the reference: the bare or upper-case hex digits
    // name another trace.
    for other_form in [
        trace_id().trim_start_matches("tr-").to_owned(),
        trace_id().to_uppercase(),
    ] {
        let (status, _) = app.get(&format!("{AJAX3}/traces/{other_form}/spans")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other_form}");
    }

    // A trace known only from the client's info has no spans yet.
    let mut other = start_body("0");
    other["trace"]["trace_info"]["trace_id"] = json!(format!("tr-{}", "cd".repeat(16)));
    app.ok_post("/api/3.0/mlflow/traces", other).await;
    let (status, empty) = app
        .get(&format!("{AJAX3}/traces/tr-{}/spans", "cd".repeat(16)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["spans"], json!([]));
}

#[tokio::test]
async fn one_span_is_exactly_as_traces_get_lists_it() {
    let app = TestApp::new().await;
    seeded(&app).await;
    let whole = app
        .ok_get(
            "/api/3.0/mlflow/traces/get",
            &[("trace_id", &trace_id()), ("allow_partial", "true")],
        )
        .await;
    let listed = whole["trace"]["spans"].as_array().expect("spans").clone();
    assert_eq!(listed.len(), 3);
    for (hex, index) in [
        ("0101010101010101", 0),
        ("0202020202020202", 1),
        ("0303030303030303", 2),
    ] {
        let (status, body) = app
            .get(&format!("{AJAX3}/traces/{}/spans/{hex}", trace_id()))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"span": listed[index]}), "{hex}");
    }
    assert_eq!(listed[2]["status"]["message"], "no such tool");
    let (status, body) = app
        .get(&format!(
            "{AJAX3}/traces/{}/spans/03030303030303AB",
            trace_id()
        ))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

#[tokio::test]
async fn unknown_and_malformed_ids_get_mlflow_errors() {
    let app = TestApp::new().await;
    seeded(&app).await;
    let missing = format!("tr-{}", "ef".repeat(16));
    for path in [
        format!("{AJAX3}/traces/{missing}/spans"),
        format!("{AJAX3}/traces/tr-xyz/spans"),
        format!("{AJAX3}/traces/{missing}/spans/0101010101010101"),
        format!("{AJAX3}/traces/{}/spans/0909090909090909", trace_id()),
    ] {
        let (status, body) = app.get(&path).await;
        assert_error(
            status,
            &body,
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("not found"),
            "{path}: {body}"
        );
    }
    for bad in [
        "xyz",
        "010101010101010",
        "0000000000000000",
        "01010101010101010g",
    ] {
        let (status, body) = app
            .get(&format!("{AJAX3}/traces/{}/spans/{bad}", trace_id()))
            .await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        );
    }
}

#[tokio::test]
async fn span_endpoints_are_only_under_ajax_api_3() {
    let app = TestApp::new().await;
    let exp = seeded(&app).await;
    for prefix in ["/api/3.0/mlflow", "/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        for tail in ["spans", "spans/0101010101010101"] {
            let (status, body) = app
                .get(&format!("{prefix}/traces/{}/{tail}", trace_id()))
                .await;
            assert_error(status, &body, StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND");
        }
    }
    // The neighbouring trace routes still resolve as before under the Ajax prefix.
    let info = app
        .ok_get(&format!("{AJAX3}/traces/{}", trace_id()), &[])
        .await;
    assert_eq!(info["trace"]["trace_info"]["trace_id"], trace_id());
    let (status, body) = app
        .get_q(&format!("{AJAX3}/traces/get"), &[("trace_id", &trace_id())])
        .await;
    // Still incomplete (the client said five spans): traces/get waits and says so.
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let found: Value = app
        .ok_post(
            &format!("{AJAX3}/traces/search"),
            json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}]}),
        )
        .await;
    assert_eq!(found["traces"].as_array().map(Vec::len), Some(1), "{found}");
}
