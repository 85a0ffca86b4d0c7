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

pub(crate) const TRACE: [u8; 16] = [0xab; 16];

pub(crate) fn trace_id() -> String {
    format!("tr-{}", "ab".repeat(16))
}

pub(crate) fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

pub(crate) fn span(id: u8, parent: Option<u8>, name: &str, attributes: Vec<KeyValue>) -> Span {
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

pub(crate) fn export_body(spans: Vec<Span>) -> Vec<u8> {
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

pub(crate) async fn export(
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

pub(crate) fn start_body(experiment: &str) -> Value {
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
        json!({"trace": {"trace_info": {"trace_id": "tr-x/y", "trace_location": {"mlflow_experiment": {"experiment_id": "0"}}}}}),
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

/// Stores one trace (a root span) in a new experiment; returns the experiment's ID.
async fn one_trace(app: &TestApp, name: &str) -> String {
    let exp = app.create_experiment(name).await;
    let raw = export(
        app,
        Some(&exp),
        export_body(vec![span(1, None, "root", vec![])]),
        "application/x-protobuf",
        None,
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    exp
}

pub(crate) async fn send_json(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let raw = app
        .raw(
            method,
            path,
            serde_json::to_vec(&body).expect("json"),
            Some("application/json"),
        )
        .await;
    (raw.status, raw.json())
}

#[tokio::test]
async fn tags_links_deletion_and_assessments_over_http() {
    let app = TestApp::new().await;
    let exp = one_trace(&app, "trace-edits-http").await;
    let tags = format!("traces/{}/tags", trace_id());

    let (status, body) = send_json(
        &app,
        Method::PATCH,
        &tags,
        json!({"key": "team", "value": "search"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for reserved in ["mlflow.trace.spansLocation", ""] {
        let (status, body) = send_json(
            &app,
            Method::PATCH,
            &tags,
            json!({"key": reserved, "value": "x"}),
        )
        .await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        );
    }
    let (status, body) = send_json(&app, Method::DELETE, &tags, json!({"key": "team"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send_json(&app, Method::DELETE, &tags, json!({"key": "team"})).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );

    // Assessments: create, read, update by mask, refuse a kind change, delete (twice).
    let path = format!("/api/3.0/mlflow/traces/{}/assessments", trace_id());
    let created = app
        .ok_post(
            &path,
            json!({"assessment": {"assessment_name": "relevance", "trace_id": "ignored",
                "source": {"source_type": "HUMAN", "source_id": "ann"},
                "feedback": {"value": 0.5}, "metadata": {"a": "1"}}}),
        )
        .await;
    let id = created["assessment"]["assessment_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(id.starts_with("a-"));
    assert_eq!(created["assessment"]["trace_id"], trace_id());
    let one = format!("{path}/{id}");
    let (status, body) = send_json(
        &app,
        Method::PATCH,
        &one,
        json!({"assessment": {"feedback": {"value": 0.9}, "metadata": {"b": "2"}},
               "update_mask": "feedback,metadata"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["assessment"]["feedback"]["value"], 0.9);
    assert_eq!(body["assessment"]["metadata"], json!({"a": "1", "b": "2"}));
    for (update, mask) in [
        (json!({"expectation": {"value": "x"}}), json!("expectation")),
        (json!({"source": {"source_type": "CODE"}}), json!("source")),
        (json!({"feedback": {"value": 1}}), json!("")),
    ] {
        let (status, body) = send_json(
            &app,
            Method::PATCH,
            &one,
            json!({"assessment": update, "update_mask": mask}),
        )
        .await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        );
    }
    let info = app
        .ok_get(&format!("/api/3.0/mlflow/traces/{}", trace_id()), &[])
        .await;
    assert_eq!(
        info["trace"]["trace_info"]["assessments"][0]["assessment_id"],
        id
    );
    for _ in 0..2 {
        let (status, body) = send_json(&app, Method::DELETE, &one, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = app.get(&one).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (status, body) = app
        .post(
            &format!("/api/3.0/mlflow/traces/tr-{}/assessments", "cd".repeat(16)),
            json!({"assessment": {"assessment_name": "x", "feedback": {"value": 1}}}),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );

    // Links and deletion.
    let run = app.create_run(&exp).await;
    app.ok_post(
        "traces/link-to-run",
        json!({"trace_ids": [trace_id()], "run_id": run}),
    )
    .await;
    let many: Vec<String> = (0..101).map(|_| trace_id()).collect();
    let (status, body) = app
        .post(
            "traces/link-to-run",
            json!({"trace_ids": many, "run_id": run}),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    app.ok_post(
        "traces/link-prompts",
        json!({"trace_id": trace_id(), "prompt_versions": [{"name": "p", "version": "1"}]}),
    )
    .await;
    let (status, body) = app
        .post("traces/delete-traces", json!({"experiment_id": exp}))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    let deleted = app
        .ok_post(
            "traces/delete-traces",
            json!({"experiment_id": exp, "request_ids": [trace_id()]}),
        )
        .await;
    assert_eq!(deleted["traces_deleted"], 1);
    let (status, _) = app
        .get(&format!("/api/3.0/mlflow/traces/{}", trace_id()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_run_header_links_exported_traces() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("trace-run-header").await;
    let run = app.create_run(&exp).await;
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("x-mlflow-experiment-id", &exp)
        .header("x-mlflow-run-id", "0123456789abcdef0123456789abcdef");
    let body = export_body(vec![span(1, None, "root", vec![])]);
    let raw = app
        .send(req.body(Body::from(body.clone())).expect("request"))
        .await;
    assert_eq!(raw.status, StatusCode::NOT_FOUND, "an unknown run");
    req = Request::builder()
        .method(Method::POST)
        .uri("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("x-mlflow-experiment-id", &exp)
        .header("x-mlflow-run-id", &run);
    let raw = app.send(req.body(Body::from(body)).expect("request")).await;
    assert_eq!(raw.status, StatusCode::OK);
}

#[tokio::test]
async fn a_thirty_thousand_span_trace_is_stored_and_streamed_back() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("big-trace").await;
    let total: u32 = 30_000;
    let root = span(1, None, "root", vec![]);
    let mut batch = vec![root];
    for i in 1..total {
        let mut s = span(1, Some(1), "step", vec![kv("i", &i.to_string())]);
        s.span_id = (u64::from(i) + 1).to_be_bytes().to_vec();
        s.start_time_unix_nano += u64::from(i);
        batch.push(s);
        if batch.len() == 2_000 || i == total - 1 {
            let raw = export(
                &app,
                Some(&exp),
                export_body(std::mem::take(&mut batch)),
                "application/x-protobuf",
                None,
            )
            .await;
            assert_eq!(raw.status, StatusCode::OK);
        }
    }
    let raw = app
        .raw(
            Method::GET,
            &format!("/api/3.0/mlflow/traces/get?trace_id={}", trace_id()),
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let v = raw.json();
    let spans = v["trace"]["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 30_000);
    assert_eq!(spans[0]["name"], "root");
    let mut ids: Vec<&str> = spans.iter().filter_map(|s| s["span_id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 30_000, "every span once");
    assert_eq!(v["trace"]["trace_info"]["trace_id"], trace_id());
}
