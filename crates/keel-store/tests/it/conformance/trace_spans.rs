//! Conformance checks for a trace's span skeleton (outlines read from the span columns, in read
//! order) and for reading one whole span, through the store and the trace service.

use keel_core::traces::{
    SpanEvent, SpanId, SpanOutline, SpanStatus, SpanStatusCode, TraceId, TraceSpan, TraceSpans,
    TraceStore, Traces,
};
use serde_json::{Map, Value, json};

use super::*;

const LOCATION: &str = "mlflow-artifacts:/1";

fn trace_id(n: u8) -> TraceId {
    TraceId::from_otel([n; 16])
}

fn span_id(n: u64) -> SpanId {
    SpanId(n.to_be_bytes())
}

/// A span of trace `trace` starting at `start_ns` and lasting 1 ms.
fn span(trace: u8, id: u64, parent: Option<u64>, start_ns: i64, attributes: Value) -> TraceSpan {
    TraceSpan {
        trace_id: trace_id(trace),
        span_id: span_id(id),
        parent_span_id: parent.map(span_id),
        name: format!("span-{id}"),
        start_time_unix_nano: start_ns,
        end_time_unix_nano: Some(start_ns + 1_000_000),
        status: SpanStatus::default(),
        attributes: attributes.as_object().cloned().unwrap_or_else(Map::new),
        events: Vec::new(),
    }
}

async fn log(store: &Arc<dyn TraceStore>, experiment: &str, trace: u8, spans: Vec<TraceSpan>) {
    store
        .log_spans(
            experiment,
            LOCATION,
            vec![TraceSpans {
                trace_id: trace_id(trace),
                spans,
                resource: Default::default(),
            }],
        )
        .await
        .expect("log spans");
}

/// A root with big content, children out of start order (two sharing a start time), a
/// grandchild, an open span and an error.
fn tree() -> Vec<TraceSpan> {
    const T0: i64 = 1_700_000_000_123_456_789;
    let mut root = span(
        1,
        1,
        None,
        T0,
        json!({"mlflow.spanType": "AGENT", "mlflow.spanInputs": {"q": "x".repeat(10_000)}}),
    );
    root.end_time_unix_nano = Some(T0 + 9_000_000_001);
    let mut failed = span(
        1,
        5,
        Some(1),
        T0 + 3_000,
        json!({"mlflow.spanType": "TOOL"}),
    );
    failed.status = SpanStatus {
        code: SpanStatusCode::Error,
        message: "tool broke".into(),
    };
    let mut open = span(1, 4, Some(2), T0 + 2_500, json!({}));
    open.end_time_unix_nano = None;
    let mut ok = span(1, 3, Some(1), T0 + 2_000, json!({"mlflow.spanType": "LLM"}));
    ok.status.code = SpanStatusCode::Ok;
    vec![
        failed,
        open,
        ok,
        span(
            1,
            2,
            Some(1),
            T0 + 2_000,
            json!({"mlflow.spanType": "CHAIN"}),
        ),
        root,
    ]
}

pub async fn span_skeleton_lists_outlines_in_read_order(f: Fixture) {
    let exp = experiment(&f.tracking(), "skeleton").await;
    let store = f.trace_store();
    let spans = tree();
    log(&store, &exp, 1, spans.clone()).await;

    let outlines = store
        .span_outlines(&trace_id(1))
        .await
        .expect("outlines")
        .expect("the trace exists");
    let ids: Vec<SpanId> = outlines.iter().map(|o| o.span_id).collect();
    assert_eq!(
        ids,
        [1, 2, 3, 4, 5].map(span_id),
        "root first, then by start time, then span ID"
    );
    let whole: Vec<SpanId> = store
        .get_spans(&trace_id(1), 0, 100)
        .await
        .expect("spans")
        .iter()
        .map(|s| s.span_id)
        .collect();
    assert_eq!(ids, whole, "the same order as the whole spans");
    for outline in &outlines {
        let from = spans
            .iter()
            .find(|s| s.span_id == outline.span_id)
            .expect("a logged span");
        assert_eq!(
            *outline,
            SpanOutline {
                span_id: from.span_id,
                parent_span_id: from.parent_span_id,
                name: from.name.clone(),
                span_type: from.span_type().to_owned(),
                status: from.status.code,
                start_time_unix_nano: from.start_time_unix_nano,
                end_time_unix_nano: from.end_time_unix_nano,
            }
        );
    }
    assert_eq!(outlines[0].parent_span_id, None);
    assert_eq!(outlines[3].parent_span_id, Some(span_id(2)));
    assert_eq!(outlines[3].span_type, "UNKNOWN");
    assert_eq!(outlines[3].end_time_unix_nano, None);
    assert_eq!(outlines[4].status, SpanStatusCode::Error);

    // A trace known only from the client's info has an empty skeleton; an unknown one none.
    let info = keel_core::traces::TraceInfo::new_from_spans(trace_id(2), &exp, LOCATION.into());
    store.start_trace(info).await.expect("client info");
    assert_eq!(
        store.span_outlines(&trace_id(2)).await.expect("outlines"),
        Some(Vec::new())
    );
    assert_eq!(
        store.span_outlines(&trace_id(9)).await.expect("outlines"),
        None
    );
}

pub async fn one_span_reads_back_whole(f: Fixture) {
    let exp = experiment(&f.tracking(), "one span").await;
    let store = f.trace_store();
    let mut spans = tree();
    spans[0].events.push(SpanEvent {
        name: "exception".into(),
        time_unix_nano: 1_700_000_000_123_460_000,
        attributes: json!({"exception.message": "tool broke"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    });
    log(&store, &exp, 1, spans.clone()).await;
    // Trace 2 reuses span ID 5 for another span.
    let other = span(2, 5, None, 7, json!({"mlflow.spanType": "RETRIEVER"}));
    log(&store, &exp, 2, vec![other.clone()]).await;

    for want in &spans {
        let got = store
            .get_span(&trace_id(1), &want.span_id)
            .await
            .expect("get span");
        assert_eq!(got.as_ref(), Some(want), "{}", want.name);
    }
    assert_eq!(
        store
            .get_span(&trace_id(2), &span_id(5))
            .await
            .expect("get"),
        Some(other),
        "a span of the trace asked for"
    );
    assert_eq!(
        store
            .get_span(&trace_id(1), &span_id(77))
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store
            .get_span(&trace_id(9), &span_id(1))
            .await
            .expect("get"),
        None
    );

    // Through the service: unknown traces and spans are not found, malformed span IDs invalid.
    let traces = Traces::new(store, f.tracking());
    let id = trace_id(1).to_string();
    assert_eq!(
        traces
            .get_span(&id, "0000000000000005")
            .await
            .expect("span"),
        spans[0]
    );
    let skeleton = traces.span_skeleton(&id).await.expect("skeleton");
    assert_eq!((skeleton.trace_id, skeleton.spans.len()), (trace_id(1), 5));
    let missing = trace_id(9).to_string();
    for result in [
        traces.span_skeleton(&missing).await.map(|_| ()),
        traces.span_skeleton("tr-nothex").await.map(|_| ()),
        traces
            .get_span(&missing, "0000000000000001")
            .await
            .map(|_| ()),
    ] {
        let e = expect_err(result, ErrorCode::ResourceDoesNotExist);
        assert!(e.message.contains("Trace with ID"), "{}", e.message);
    }
    let e = expect_err(
        traces.get_span(&id, "0000000000000077").await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert!(e.message.contains("Span with ID"), "{}", e.message);
    for bad in [
        "",
        "5",
        "zzzzzzzzzzzzzzzz",
        "0000000000000000",
        "00000000000000050",
    ] {
        expect_err(
            traces.get_span(&id, bad).await,
            ErrorCode::InvalidParameterValue,
        );
    }
}
