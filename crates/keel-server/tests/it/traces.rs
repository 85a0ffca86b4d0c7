//! The trace routes over HTTP: OTLP export (protobuf, JSON, gzip, errors, partial success),
//! StartTraceV3 racing span export in both orders, GetTraceInfoV3, GetTrace and the batch reads.

use std::io::Write;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::{Value, json};

use crate::support::{Raw, TestApp, assert_error};

const TRACE: [u8; 16] = [0xab; 16];

fn trace_id() -> String {
    format!("tr-{}", "ab".repeat(16))
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn span(id: u8, parent: Option<u8>, name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(id) * 1_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        attributes,
        status: Some(Status {
            code: 1,
            message: String::new(),
        }),
        ..Default::default()
    }
}

fn export_body(spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

async fn export(
    app: &TestApp,
    experiment: Option<&str>,
    body: Vec<u8>,
    content_type: &str,
    encoding: Option<&str>,
) -> Raw {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/v1/traces")
        .header("content-type", content_type);
    if let Some(exp) = experiment {
        req = req.header("x-mlflow-experiment-id", exp);
    }
    if let Some(enc) = encoding {
        req = req.header("content-encoding", enc);
    }
    app.send(req.body(Body::from(body)).expect("request")).await
}

fn start_body(experiment: &str) -> Value {
    json!({"trace": {"trace_info": {
        "trace_id": trace_id(),
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment}},
        "request_time": "2023-11-14T22:13:20Z", "execution_duration": "0.500s", "state": "OK",
        "trace_metadata": {"mlflow.trace.sizeStats": "{\"num_spans\": 2}"},
        "tags": {"mlflow.traceName": "agent"},
        "request_preview": "hi"}}})
}

#[tokio::test]
async fn spans_then_start_trace_then_reads() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("traces-http").await;
    let root = span(
        1,
        None,
        "agent",
        vec![kv("openinference.span.kind", "AGENT")],
    );
    let raw = export(
        &app,
        Some(&exp),
        export_body(vec![root]),
        "application/x-protobuf",
        None,
    )
    .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
    assert_eq!(raw.headers["content-type"], "application/x-protobuf");
    let response = ExportTraceServiceResponse::decode(raw.body.as_slice()).expect("protobuf");
    assert!(response.partial_success.is_none());

    // The client's info arrives while a span is still missing: reads wait, then say so.
    let started = app
        .ok_post("/api/3.0/mlflow/traces", start_body(&exp))
        .await;
    let info = &started["trace"]["trace_info"];
    assert_eq!(info["tags"]["mlflow.trace.spansLocation"], "TRACKING_STORE");
    assert_eq!(info["request_time"], "2023-11-14T22:13:20.000Z");
    assert_eq!(info["execution_duration"], "0.500s");
    assert_eq!(info["trace_metadata"]["mlflow.trace.infoFinalized"], "true");
    assert!(
        info["tags"]["mlflow.artifactLocation"]
            .as_str()
            .expect("tag")
            .ends_with(&format!("/traces/{}/artifacts", trace_id()))
    );
    let (status, body) = app
        .get_q("/api/3.0/mlflow/traces/get", &[("trace_id", &trace_id())])
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("not fully exported")
    );
    let partial = app
        .ok_get(
            "/api/3.0/mlflow/traces/get",
            &[("trace_id", &trace_id()), ("allow_partial", "true")],
        )
        .await;
    assert_eq!(
        partial["trace"]["spans"].as_array().expect("spans").len(),
        1
    );
    let batch = app
        .ok_get(
            "/api/3.0/mlflow/traces/batchGet",
            &[("trace_ids", &trace_id())],
        )
        .await;
    assert_eq!(batch["traces"], json!([]), "incomplete traces are left out");

    let child = span(2, Some(1), "llm", vec![kv("gen_ai.operation.name", "chat")]);
    let raw = export(
        &app,
        Some(&exp),
        export_body(vec![child]),
        "application/x-protobuf",
        None,
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    let whole = app
        .ok_get("/api/3.0/mlflow/traces/get", &[("trace_id", &trace_id())])
        .await;
    let spans = whole["trace"]["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0]["name"], "agent");
    assert_eq!(spans[0]["span_id"], "AQEBAQEBAQE=");
    assert_eq!(spans[1]["parent_span_id"], "AQEBAQEBAQE=");
    let span_type = spans[1]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["key"] == "mlflow.spanType")
        .expect("span type")["value"]
        .clone();
    assert_eq!(span_type, json!({"string_value": "CHAT_MODEL"}));
    assert_eq!(whole["trace"]["trace_info"]["request_preview"], "hi");

    let info = app
        .ok_get(&format!("/api/3.0/mlflow/traces/{}", trace_id()), &[])
        .await;
    assert_eq!(info["trace"]["trace_info"]["trace_id"], trace_id());
    let batch = app
        .ok_get(
            "/api/3.0/mlflow/traces/batchGet",
            &[("trace_ids", &trace_id()), ("trace_ids", "tr-missing")],
        )
        .await;
    assert_eq!(batch["traces"].as_array().expect("traces").len(), 1);
    let infos = app
        .ok_post(
            "/api/3.0/mlflow/traces/batchGetInfos",
            json!({"trace_ids": [trace_id(), format!("tr-{}", "cd".repeat(16))]}),
        )
        .await;
    assert_eq!(infos["trace_infos"].as_array().expect("infos").len(), 1);
}

#[tokio::test]
async fn otlp_json_and_gzip_bodies_and_partial_success() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("traces-json").await;
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "ab".repeat(16), "spanId": "0101010101010101", "name": "root",
         "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000"},
        {"traceId": "", "spanId": "0202020202020202", "name": "no trace id"}
    ]}]}]});
    let raw = export(
        &app,
        Some(&exp),
        serde_json::to_vec(&body).expect("json"),
        "application/json",
        None,
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.headers["content-type"], "application/json");
    let v: Value = serde_json::from_slice(&raw.body).expect("json");
    // int64 may be a number or a decimal string in OTLP/JSON; receivers take both.
    assert_eq!(
        v["partialSuccess"]["rejectedSpans"]
            .to_string()
            .trim_matches('"'),
        "1"
    );
    assert!(
        v["partialSuccess"]["errorMessage"]
            .as_str()
            .expect("why")
            .contains("trace ID")
    );

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&export_body(vec![span(2, Some(1), "child", vec![])]))
        .expect("gzip");
    let raw = export(
        &app,
        Some(&exp),
        gz.finish().expect("gzip"),
        "application/x-protobuf",
        Some("gzip"),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    let trace = app
        .ok_get("/api/3.0/mlflow/traces/get", &[("trace_id", &trace_id())])
        .await;
    assert_eq!(trace["trace"]["spans"].as_array().expect("spans").len(), 2);
    assert_eq!(trace["trace"]["trace_info"]["execution_duration"], "1s");
}

#[tokio::test]
async fn bad_exports_get_clear_errors() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("traces-bad").await;
    let body = export_body(vec![span(1, None, "root", vec![])]);
    for (experiment, content_type, encoding, payload, want, needle) in [
        (
            None,
            "application/x-protobuf",
            None,
            body.clone(),
            StatusCode::BAD_REQUEST,
            "x-mlflow-experiment-id",
        ),
        (
            Some(exp.as_str()),
            "text/plain",
            None,
            body.clone(),
            StatusCode::BAD_REQUEST,
            "Content-Type",
        ),
        (
            Some(exp.as_str()),
            "application/x-protobuf",
            None,
            b"\xff\xff\xff".to_vec(),
            StatusCode::BAD_REQUEST,
            "protobuf",
        ),
        (
            Some(exp.as_str()),
            "application/x-protobuf",
            Some("br"),
            body.clone(),
            StatusCode::BAD_REQUEST,
            "Content-Encoding",
        ),
        (
            Some(exp.as_str()),
            "application/x-protobuf",
            Some("gzip"),
            b"not gzip".to_vec(),
            StatusCode::BAD_REQUEST,
            "gzip",
        ),
        (
            Some("424242"),
            "application/x-protobuf",
            None,
            body.clone(),
            StatusCode::NOT_FOUND,
            "424242",
        ),
        (
            Some("abc"),
            "application/x-protobuf",
            None,
            body.clone(),
            StatusCode::BAD_REQUEST,
            "experiment",
        ),
    ] {
        let raw = export(&app, experiment, payload, content_type, encoding).await;
        assert_eq!(
            raw.status,
            want,
            "{needle}: {}",
            String::from_utf8_lossy(&raw.body)
        );
        let v = raw.json();
        assert!(
            v["message"].as_str().expect("message").contains(needle),
            "{needle}: {v}"
        );
    }
    // A deleted experiment takes no traces.
    app.ok_post("experiments/delete", json!({"experiment_id": exp}))
        .await;
    let raw = export(&app, Some(&exp), body, "application/x-protobuf", None).await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);

    // A body over the limit once inflated is refused with 413.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 21 * 1024 * 1024]).expect("gzip");
    let raw = export(
        &app,
        Some("0"),
        gz.finish().expect("gzip"),
        "application/x-protobuf",
        Some("gzip"),
    )
    .await;
    assert_eq!(raw.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn trace_reads_and_start_trace_validate_input() {
    let app = TestApp::new().await;
    let (status, body) = app.get("/api/3.0/mlflow/traces/tr-0123").await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (status, body) = app.get("/api/3.0/mlflow/traces/get").await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    let (status, body) = app.get("/api/3.0/mlflow/traces/batchGet").await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    for bad in [
        json!({}),
        json!({"trace": {"trace_info": {"trace_id": "tr-xyz", "trace_location": {"mlflow_experiment": {"experiment_id": "0"}}}}}),
        json!({"trace": {"trace_info": {"trace_id": trace_id()}}}),
        json!({"trace": {"trace_info": {"trace_id": trace_id(), "trace_location": {"mlflow_experiment": {"experiment_id": "0"}}, "request_time": 12}}}),
        json!({"trace": {"trace_info": {"trace_id": trace_id(), "trace_location": {"mlflow_experiment": {"experiment_id": "0"}}, "execution_duration": "soon"}}}),
        json!({"trace": {"trace_info": {"trace_id": trace_id(), "trace_location": {"mlflow_experiment": {"experiment_id": "0"}}, "state": "DONE"}}}),
    ] {
        let (status, body) = app.post("/api/3.0/mlflow/traces", bad.clone()).await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        );
    }
    let mut unknown = start_body("424242");
    unknown["trace"]["trace_info"]["trace_metadata"] = json!({});
    let (status, body) = app.post("/api/3.0/mlflow/traces", unknown).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
}
