//! Conformance checks for traces: spans stored in batches and in either order with the client's
//! trace info, the info derived from them, atomic batches, paging and concurrent writers.

use std::collections::BTreeMap;

use keel_core::traces::{
    SpanId, SpanStatus, SpanStatusCode, TraceId, TraceInfo, TraceSpan, TraceSpans, TraceState,
    TraceStore,
};
use serde_json::{Map, Value, json};

use super::*;

const LOCATION: &str = "mlflow-artifacts:/1";

fn trace_id(n: u8) -> TraceId {
    TraceId::from_otel([n; 16])
}

fn span(trace: u8, id: u64, parent: Option<u64>, start_ms: i64, attributes: Value) -> TraceSpan {
    TraceSpan {
        trace_id: trace_id(trace),
        span_id: SpanId(id.to_be_bytes()),
        parent_span_id: parent.map(|p| SpanId(p.to_be_bytes())),
        name: format!("span-{id}"),
        start_time_unix_nano: start_ms * 1_000_000,
        end_time_unix_nano: Some((start_ms + 10) * 1_000_000),
        status: SpanStatus::default(),
        attributes: attributes.as_object().cloned().unwrap_or_else(Map::new),
        events: Vec::new(),
    }
}

fn batch(trace: u8, spans: Vec<TraceSpan>) -> TraceSpans {
    TraceSpans {
        trace_id: trace_id(trace),
        spans,
        resource: std::sync::Arc::new(BTreeMap::from([(
            "service.name".to_owned(),
            "shop".to_owned(),
        )])),
    }
}

async fn setup(f: &Fixture) -> (Arc<dyn TraceStore>, String) {
    let exp = experiment(&f.tracking(), "traces").await;
    (f.trace_store(), exp)
}

fn client_info(trace: u8, experiment_id: &str) -> TraceInfo {
    TraceInfo {
        trace_id: trace_id(trace),
        experiment_id: experiment_id.to_owned(),
        client_request_id: Some("req-7".into()),
        request_time_ms: 5,
        execution_duration_ms: Some(99),
        state: TraceState::Ok,
        request_preview: Some("client request".into()),
        response_preview: None,
        metadata: BTreeMap::from([(
            "mlflow.trace.sizeStats".to_owned(),
            r#"{"num_spans": 2}"#.to_owned(),
        )]),
        tags: BTreeMap::from([("mlflow.traceName".to_owned(), "from-client".to_owned())]),
    }
}

pub async fn spans_in_batches_make_a_trace(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let child = span(
        1,
        2,
        Some(1),
        1_020,
        json!({"mlflow.spanType": "LLM", "mlflow.chat.tokenUsage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}}),
    );
    store
        .log_spans(&exp, LOCATION, vec![batch(1, vec![child])])
        .await
        .expect("child first");
    let partial = store
        .get_trace_info(&trace_id(1))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(partial.state, TraceState::InProgress);
    assert_eq!(partial.experiment_id, exp);

    let mut root = span(
        1,
        1,
        None,
        1_000,
        json!({"mlflow.spanInputs": {"question": "hi"}, "mlflow.spanOutputs": "hello",
               "mlflow.traceTag.team": "search"}),
    );
    root.end_time_unix_nano = Some(1_100 * 1_000_000);
    root.status = SpanStatus {
        code: SpanStatusCode::Error,
        message: "boom".into(),
    };
    store
        .log_spans(&exp, LOCATION, vec![batch(1, vec![root.clone()])])
        .await
        .expect("root");

    let info = store
        .get_trace_info(&trace_id(1))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (info.request_time_ms, info.execution_duration_ms),
        (1_000, Some(100))
    );
    assert_eq!(info.state, TraceState::Error);
    assert_eq!(
        info.request_preview.as_deref(),
        Some("{\"question\": \"hi\"}")
    );
    assert_eq!(info.response_preview.as_deref(), Some("\"hello\""));
    let tag = |k: &str| info.tags.get(k).map(String::as_str);
    assert_eq!(tag("mlflow.traceName"), Some("span-1"));
    assert_eq!(tag("mlflow.trace.spansLocation"), Some("TRACKING_STORE"));
    assert_eq!(
        tag("mlflow.artifactLocation"),
        Some(
            format!(
                "mlflow-artifacts:/1/traces/{}/artifacts",
                trace_id(1).as_str()
            )
            .as_str()
        )
    );
    assert_eq!(tag("team"), Some("search"));
    assert_eq!(tag("service.name"), Some("shop"));
    assert_eq!(
        info.metadata["mlflow.trace.tokenUsage"],
        r#"{"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}"#
    );

    assert_eq!(store.count_spans(&trace_id(1)).await.expect("count"), 2);
    let spans = store.get_spans(&trace_id(1), 0, 10).await.expect("spans");
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0], root, "the root first, read back exactly");
    assert_eq!(spans[1].span_type(), "LLM");
    assert!(
        store
            .get_spans(&trace_id(9), 0, 10)
            .await
            .expect("none")
            .is_empty()
    );
    assert!(
        store
            .get_trace_info(&trace_id(9))
            .await
            .expect("none")
            .is_none()
    );
}

pub async fn client_info_and_spans_merge_in_either_order(f: Fixture) {
    let (store, exp) = setup(&f).await;
    // Spans first, then the client's info: the client's fields win, the spans' location stays.
    store
        .log_spans(
            &exp,
            LOCATION,
            vec![batch(1, vec![span(1, 1, None, 1_000, json!({}))])],
        )
        .await
        .expect("spans");
    let merged = store
        .start_trace(client_info(1, &exp))
        .await
        .expect("start");
    assert_eq!(merged.request_time_ms, 5);
    assert_eq!(merged.execution_duration_ms, Some(99));
    assert_eq!(merged.state, TraceState::Ok);
    assert_eq!(merged.client_request_id.as_deref(), Some("req-7"));
    assert_eq!(merged.tags["mlflow.trace.spansLocation"], "TRACKING_STORE");
    assert_eq!(merged.tags["mlflow.traceName"], "from-client");
    assert_eq!(merged.metadata["mlflow.trace.infoFinalized"], "true");
    assert_eq!(merged.expected_span_count(), Some(2));
    // A late span no longer moves the client's figures.
    store
        .log_spans(
            &exp,
            LOCATION,
            vec![batch(1, vec![span(1, 2, Some(1), 10, json!({}))])],
        )
        .await
        .expect("late span");
    let info = store
        .get_trace_info(&trace_id(1))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (info.request_time_ms, info.execution_duration_ms),
        (5, Some(99))
    );
    assert_eq!(info, TraceInfo { ..merged.clone() }, "only spans changed");

    // The client's info first, then spans.
    let started = store
        .start_trace(client_info(2, &exp))
        .await
        .expect("start");
    assert!(!started.tags.contains_key("mlflow.trace.spansLocation"));
    store
        .log_spans(
            &exp,
            LOCATION,
            vec![batch(2, vec![span(2, 1, None, 1_000, json!({}))])],
        )
        .await
        .expect("spans");
    let info = store
        .get_trace_info(&trace_id(2))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(info.request_time_ms, 5);
    assert_eq!(info.tags["mlflow.trace.spansLocation"], "TRACKING_STORE");
}

pub async fn spans_are_replaced_by_id(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let mut open = span(1, 1, None, 1_000, json!({"v": 1}));
    open.end_time_unix_nano = None;
    store
        .log_spans(&exp, LOCATION, vec![batch(1, vec![open])])
        .await
        .expect("open span");
    let info = store
        .get_trace_info(&trace_id(1))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(info.execution_duration_ms, None);
    let closed = span(1, 1, None, 1_000, json!({"v": 2}));
    store
        .log_spans(
            &exp,
            LOCATION,
            vec![batch(1, vec![closed.clone(), closed.clone()])],
        )
        .await
        .expect("closed span, twice in one batch");
    assert_eq!(store.count_spans(&trace_id(1)).await.expect("count"), 1);
    assert_eq!(
        store.get_spans(&trace_id(1), 0, 5).await.expect("spans"),
        vec![closed]
    );
    let info = store
        .get_trace_info(&trace_id(1))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(info.execution_duration_ms, Some(10));
}

pub async fn a_rejected_batch_writes_nothing(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let other = experiment(&f.tracking(), "other").await;
    store
        .log_spans(
            &other,
            LOCATION,
            vec![batch(2, vec![span(2, 1, None, 1, json!({}))])],
        )
        .await
        .expect("trace 2 in the other experiment");
    let err = store
        .log_spans(
            &exp,
            LOCATION,
            vec![
                batch(1, vec![span(1, 1, None, 1, json!({}))]),
                batch(2, vec![span(2, 2, Some(1), 1, json!({}))]),
            ],
        )
        .await
        .expect_err("trace 2 belongs elsewhere");
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert!(
        store
            .get_trace_info(&trace_id(1))
            .await
            .expect("get")
            .is_none(),
        "nothing of the batch"
    );
    assert_eq!(store.count_spans(&trace_id(2)).await.expect("count"), 1);

    let missing = store
        .log_spans(
            "424242",
            LOCATION,
            vec![batch(3, vec![span(3, 1, None, 1, json!({}))])],
        )
        .await
        .expect_err("no such experiment");
    assert_eq!(missing.code, ErrorCode::ResourceDoesNotExist);
    let missing = store
        .start_trace(client_info(3, "424242"))
        .await
        .expect_err("no such experiment");
    assert_eq!(missing.code, ErrorCode::ResourceDoesNotExist);
}

pub async fn spans_page_in_read_order(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let mut spans: Vec<TraceSpan> = (2..=250u64)
        .map(|i| {
            span(
                1,
                i,
                Some(1),
                2_000 - i64::try_from(i).expect("small"),
                json!({}),
            )
        })
        .collect();
    spans.push(span(1, 1, None, 5_000, json!({})));
    store
        .log_spans(&exp, LOCATION, vec![batch(1, spans)])
        .await
        .expect("spans");
    let mut read = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .get_spans(&trace_id(1), offset, 100)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        offset += page.len() as u64;
        read.extend(page);
    }
    assert_eq!(read.len(), 250);
    assert!(read[0].is_root());
    let starts: Vec<i64> = read[1..].iter().map(|s| s.start_time_unix_nano).collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "children by start time"
    );
}

pub async fn concurrent_writers_of_one_trace_lose_nothing(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let mut tasks = Vec::new();
    for writer in 0..8u64 {
        let store = store.clone();
        let exp = exp.clone();
        tasks.push(tokio::spawn(async move {
            let spans = (0..10u64)
                .map(|i| span(1, 100 + writer * 10 + i, Some(1), 1_000, json!({})))
                .collect();
            store.log_spans(&exp, LOCATION, vec![batch(1, spans)]).await
        }));
    }
    let client = {
        let store = store.clone();
        let info = client_info(1, &exp);
        tokio::spawn(async move { store.start_trace(info).await })
    };
    for task in tasks {
        task.await.expect("task").expect("every batch is stored");
    }
    client
        .await
        .expect("task")
        .expect("the client's info is stored");
    assert_eq!(store.count_spans(&trace_id(1)).await.expect("count"), 80);
    let info = store
        .get_trace_info(&trace_id(1))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(info.metadata["mlflow.trace.infoFinalized"], "true");
    assert_eq!(info.tags["mlflow.trace.spansLocation"], "TRACKING_STORE");
}

/// Whole traces written at once (as the gateway writes its calls') are stored exactly as the
/// same spans and client info sent one after another; an ID already stored is skipped; an
/// unknown experiment writes nothing.
pub async fn whole_traces_are_stored_as_spans_then_info_would_be(f: Fixture) {
    use keel_core::traces::{CompleteTrace, trace_artifact_location};
    let (store, exp) = setup(&f).await;
    let spans_of = |trace: u8| {
        let mut root = span(
            trace,
            1,
            None,
            1_000,
            json!({"mlflow.spanInputs": {"q": "hi"}, "mlflow.spanOutputs": "yo",
                   "mlflow.traceTag.team": "gw"}),
        );
        root.end_time_unix_nano = Some(1_050 * 1_000_000);
        let child = span(
            trace,
            2,
            Some(1),
            1_010,
            json!({"mlflow.spanType": "LLM",
                   "mlflow.chat.tokenUsage": {"input_tokens": 2, "output_tokens": 5, "total_tokens": 7}}),
        );
        vec![root, child]
    };
    // The reference path: spans, then the client's info.
    let empty = std::sync::Arc::new(BTreeMap::new());
    store
        .log_spans(
            &exp,
            LOCATION,
            vec![TraceSpans {
                trace_id: trace_id(1),
                spans: spans_of(1),
                resource: empty,
            }],
        )
        .await
        .expect("spans");
    let via_steps = store.start_trace(client_info(1, &exp)).await.expect("info");
    // The same trace, whole, under another ID.
    let complete = |trace: u8| CompleteTrace {
        info: TraceInfo::of_complete_trace(
            TraceInfo {
                trace_id: trace_id(trace),
                ..client_info(trace, &exp)
            },
            &spans_of(trace),
            trace_artifact_location(LOCATION, &trace_id(trace)),
        ),
        spans: spans_of(trace),
    };
    let written = store
        .insert_complete_traces(&exp, vec![complete(2), complete(3)])
        .await
        .expect("whole");
    assert_eq!(written, 2);
    let whole = store
        .get_trace_info(&trace_id(2))
        .await
        .expect("get")
        .expect("stored");
    let mut expected = via_steps.clone();
    expected.trace_id = trace_id(2);
    expected.tags.insert(
        "mlflow.artifactLocation".into(),
        trace_artifact_location(LOCATION, &trace_id(2)),
    );
    assert_eq!(whole, expected);
    let spans = store.get_spans(&trace_id(2), 0, 10).await.expect("spans");
    assert_eq!(spans, spans_of(2));
    // Again: already stored, skipped, unchanged.
    assert_eq!(
        store
            .insert_complete_traces(&exp, vec![complete(2)])
            .await
            .expect("again"),
        0
    );
    assert_eq!(store.count_spans(&trace_id(2)).await.expect("count"), 2);
    // No such experiment: an error, nothing written.
    assert!(
        store
            .insert_complete_traces("987654", vec![complete(4)])
            .await
            .is_err()
    );
    assert!(
        store
            .get_trace_info(&trace_id(4))
            .await
            .expect("get")
            .is_none()
    );
}
