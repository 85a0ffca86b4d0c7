//! Conformance checks for trace search: every identifier family the store evaluates
//! (attributes, tags, metadata, spans), comparators, same-span semantics, ordering with missing
//! values last, paging without overlap or gaps, and several experiments.

use std::collections::BTreeMap;

use keel_core::traces::{
    SearchTraces, SpanId, SpanStatus, SpanStatusCode, TraceId, TraceInfo, TraceSpan, TraceSpans,
    TraceState, TraceStore, Traces,
};
use serde_json::{Map, json};

use super::*;

const LOCATION: &str = "mlflow-artifacts:/1";

/// What one test trace is made of.
struct Spec<'a> {
    n: u8,
    time: i64,
    duration: Option<i64>,
    state: TraceState,
    name: &'a str,
    tags: &'a [(&'a str, &'a str)],
    metadata: &'a [(&'a str, &'a str)],
    /// `(name, type, status)` of each span; the first is the root.
    spans: &'a [(&'a str, &'a str, SpanStatusCode)],
}

fn id(n: u8) -> String {
    TraceId::from_otel([n; 16]).to_string()
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn make(store: &Arc<dyn TraceStore>, exp: &str, s: Spec<'_>) {
    let trace_id = TraceId::from_otel([s.n; 16]);
    let mut tags = pairs(s.tags);
    tags.insert("mlflow.traceName".into(), s.name.into());
    store
        .start_trace(TraceInfo {
            trace_id: trace_id.clone(),
            experiment_id: exp.to_owned(),
            client_request_id: Some(format!("req-{}", s.n)),
            request_time_ms: s.time,
            execution_duration_ms: s.duration,
            state: s.state,
            request_preview: None,
            response_preview: None,
            metadata: pairs(s.metadata),
            tags,
        })
        .await
        .expect("start trace");
    let spans = s
        .spans
        .iter()
        .enumerate()
        .map(|(i, (name, kind, status))| {
            let mut attributes = Map::new();
            attributes.insert("mlflow.spanType".into(), json!(kind));
            attributes.insert(
                "mlflow.spanInputs".into(),
                json!({"q": format!("{name} input")}),
            );
            TraceSpan {
                trace_id: trace_id.clone(),
                span_id: SpanId((i as u64 + 1).to_be_bytes()),
                parent_span_id: (i > 0).then(|| SpanId(1u64.to_be_bytes())),
                name: (*name).to_owned(),
                start_time_unix_nano: s.time * 1_000_000,
                end_time_unix_nano: Some(s.time * 1_000_000 + 1),
                status: SpanStatus {
                    code: *status,
                    message: String::new(),
                },
                attributes,
                events: Vec::new(),
            }
        })
        .collect();
    store
        .log_spans(
            exp,
            LOCATION,
            vec![TraceSpans {
                trace_id: trace_id.clone(),
                spans,
                resource: Default::default(),
            }],
        )
        .await
        .expect("log spans");
}

use SpanStatusCode::{Error as SpanError, Ok as SpanOk, Unset};

/// Experiment A: traces 1..=4; experiment B: trace 5.
async fn corpus(f: &Fixture) -> (Traces, String, String) {
    let store = f.trace_store();
    let a = experiment(&f.tracking(), "search-a").await;
    let b = experiment(&f.tracking(), "search-b").await;
    make(
        &store,
        &a,
        Spec {
            n: 1,
            time: 1_000,
            duration: Some(50),
            state: TraceState::Ok,
            name: "agent",
            tags: &[("team", "x")],
            metadata: &[("mlflow.sourceRun", "run-1"), ("tier", "gold")],
            spans: &[("agent", "AGENT", SpanOk), ("llm", "LLM", SpanError)],
        },
    )
    .await;
    make(
        &store,
        &a,
        Spec {
            n: 2,
            time: 2_000,
            duration: None,
            state: TraceState::Error,
            name: "Agent-two",
            tags: &[],
            metadata: &[("tier", "basic")],
            spans: &[("llm", "CHAIN", SpanOk), ("tool", "TOOL", Unset)],
        },
    )
    .await;
    make(
        &store,
        &a,
        Spec {
            n: 3,
            time: 3_000,
            duration: Some(500),
            state: TraceState::InProgress,
            name: "retriever",
            tags: &[("team", "y")],
            metadata: &[],
            spans: &[("retrieve", "RETRIEVER", SpanOk)],
        },
    )
    .await;
    make(
        &store,
        &a,
        Spec {
            n: 4,
            time: 3_000,
            duration: Some(5),
            state: TraceState::Ok,
            name: "agent",
            tags: &[("team", "x")],
            metadata: &[("mlflow.sourceRun", "run-2")],
            spans: &[("agent", "AGENT", SpanOk)],
        },
    )
    .await;
    make(
        &store,
        &b,
        Spec {
            n: 5,
            time: 4_000,
            duration: Some(1),
            state: TraceState::Ok,
            name: "agent",
            tags: &[("team", "x")],
            metadata: &[],
            spans: &[("llm", "LLM", SpanOk)],
        },
    )
    .await;
    (Traces::new(store, f.tracking()), a, b)
}

fn req(exps: &[&str], filter: &str, order_by: &[&str]) -> SearchTraces {
    SearchTraces {
        experiment_ids: exps.iter().map(|e| (*e).to_owned()).collect(),
        filter: Some(filter.to_owned()),
        max_results: None,
        order_by: order_by.iter().map(|o| (*o).to_owned()).collect(),
        page_token: None,
    }
}

async fn found(t: &Traces, r: SearchTraces) -> Vec<String> {
    let page = t.search_traces(r).await.expect("search");
    page.items.iter().map(|i| i.trace_id.to_string()).collect()
}

fn ids(ns: &[u8]) -> Vec<String> {
    ns.iter().map(|n| id(*n)).collect()
}

pub async fn search_traces_filters_attributes_tags_and_metadata(f: Fixture) {
    let (t, a, b) = corpus(&f).await;
    let both = [a.as_str(), b.as_str()];
    let q = |filter: &str| found(&t, req(&both, filter, &[]));
    // Default order: newest first, then trace ID.
    assert_eq!(q("").await, ids(&[5, 3, 4, 2, 1]));
    assert_eq!(q("status = 'OK'").await, ids(&[5, 4, 1]));
    assert_eq!(q("trace.status != 'OK'").await, ids(&[3, 2]));
    assert_eq!(
        q("attributes.status IN ('ERROR', 'IN_PROGRESS')").await,
        ids(&[3, 2])
    );
    assert_eq!(q("status NOT IN ('OK')").await, ids(&[3, 2]));
    assert_eq!(q("status RLIKE '^IN_'").await, ids(&[3]));
    assert_eq!(q("timestamp_ms >= 3000").await, ids(&[5, 3, 4]));
    assert_eq!(q("timestamp < 3000 AND timestamp > 1000").await, ids(&[2]));
    assert_eq!(q("timestamp_ms = 3000").await, ids(&[3, 4]));
    assert_eq!(q("execution_time_ms > 40").await, ids(&[3, 1]));
    assert_eq!(q("execution_time <= 5").await, ids(&[5, 4]));
    assert_eq!(
        q("end_time_ms >= 3005").await,
        ids(&[5, 3, 4]),
        "end = time + duration"
    );
    assert_eq!(
        q("end_time = 2000").await,
        ids(&[2]),
        "no duration counts 0"
    );
    assert_eq!(q(&format!("request_id = '{}'", id(2))).await, ids(&[2]));
    assert_eq!(q("client_request_id LIKE 'req-_'").await.len(), 5);
    assert_eq!(q("trace.name = 'agent'").await, ids(&[5, 4, 1]));
    assert_eq!(
        q("name LIKE 'Agent%'").await,
        ids(&[2]),
        "LIKE is case-sensitive"
    );
    assert_eq!(q("name ILIKE 'agent%'").await, ids(&[5, 4, 2, 1]));
    assert_eq!(q("name RLIKE 'ever$'").await, ids(&[3]));
    assert_eq!(q("tags.team = 'x'").await, ids(&[5, 4, 1]));
    assert_eq!(
        q("tags.team != 'x'").await,
        ids(&[3]),
        "!= needs the tag present"
    );
    assert_eq!(q("tags.team IS NULL").await, ids(&[2]));
    assert_eq!(q("tag.`team` IS NOT NULL").await, ids(&[5, 3, 4, 1]));
    assert_eq!(q("metadata.tier = 'gold'").await, ids(&[1]));
    assert_eq!(q("request_metadata.tier LIKE '%a%'").await, ids(&[2]));
    assert_eq!(q("metadata.tier IS NULL").await, ids(&[5, 3, 4]));
    assert_eq!(q("run_id = 'run-1'").await, ids(&[1]));
    assert_eq!(
        q("metadata.`mlflow.sourceRun` LIKE 'run-%'").await,
        ids(&[4, 1])
    );
    assert_eq!(
        q("tags.team = 'x' AND status = 'OK' AND timestamp_ms < 4000").await,
        ids(&[4, 1])
    );
}

pub async fn search_traces_spans_match_one_span(f: Fixture) {
    let (t, a, b) = corpus(&f).await;
    let both = [a.as_str(), b.as_str()];
    let q = |filter: &str| found(&t, req(&both, filter, &[]));
    assert_eq!(q("span.name = 'llm'").await, ids(&[5, 2, 1]));
    assert_eq!(q("span.type = 'LLM'").await, ids(&[5, 1]));
    assert_eq!(
        q("span.name = 'llm' AND span.type = 'LLM'").await,
        ids(&[5, 1])
    );
    assert_eq!(
        q("span.name = 'tool' AND span.type = 'CHAIN'").await,
        ids(&[]),
        "trace 2 has both, on different spans"
    );
    assert_eq!(q("span.status = 'ERROR'").await, ids(&[1]));
    assert_eq!(
        q("span.status = 'ERROR' AND span.name = 'agent'").await,
        ids(&[])
    );
    assert_eq!(q("span.name IN ('tool', 'retrieve')").await, ids(&[3, 2]));
    assert_eq!(q("span.name NOT IN ('agent')").await, ids(&[5, 3, 2, 1]));
    assert_eq!(q("span.name RLIKE '^ret'").await, ids(&[3]));
    assert_eq!(q("span.type ILIKE 'llm'").await, ids(&[5, 1]));
    assert_eq!(q("trace.text LIKE '%tool input%'").await, ids(&[2]));
    assert_eq!(q("span.content ILIKE '%RETRIEVE INPUT%'").await, ids(&[3]));
    assert_eq!(
        q("text LIKE '%tool input%' AND span.name = 'llm'").await,
        ids(&[]),
        "text is a span clause too"
    );
}

pub async fn search_traces_orders_with_missing_values_last(f: Fixture) {
    let (t, a, b) = corpus(&f).await;
    let both = [a.as_str(), b.as_str()];
    let q = |order: &[&str]| found(&t, req(&both, "", order));
    assert_eq!(q(&["timestamp_ms ASC"]).await, ids(&[1, 2, 3, 4, 5]));
    assert_eq!(
        q(&["execution_time ASC"]).await,
        ids(&[5, 4, 1, 3, 2]),
        "NULL last"
    );
    assert_eq!(
        q(&["execution_time_ms DESC"]).await,
        ids(&[3, 1, 4, 5, 2]),
        "NULL last"
    );
    assert_eq!(q(&["end_time DESC"]).await, ids(&[5, 3, 4, 2, 1]));
    assert_eq!(
        q(&["status", "request_id DESC"]).await,
        ids(&[2, 3, 5, 4, 1])
    );
    assert_eq!(q(&["name"]).await, ids(&[2, 5, 4, 1, 3]));
    assert_eq!(q(&["tags.team DESC"]).await, ids(&[3, 5, 4, 1, 2]));
    assert_eq!(q(&["tags.team ASC"]).await, ids(&[5, 4, 1, 3, 2]));
    assert_eq!(q(&["metadata.tier"]).await, ids(&[2, 1, 5, 3, 4]));
    assert_eq!(q(&["run_id DESC"]).await, ids(&[4, 1, 5, 3, 2]));
    assert_eq!(
        q(&["experiment_id DESC", "timestamp ASC"]).await,
        ids(&[5, 1, 2, 3, 4])
    );
    assert_eq!(
        q(&["request_id DESC"]).await,
        ids(&[5, 4, 3, 2, 1]),
        "the tie-breaker yields"
    );
}

pub async fn search_traces_pages_without_overlap_or_gaps(f: Fixture) {
    let store = f.trace_store();
    let exp = experiment(&f.tracking(), "paging").await;
    // 23 traces, some sharing a timestamp, so ties are broken by ID.
    for n in 1..=23u8 {
        make(
            &store,
            &exp,
            Spec {
                n,
                time: 1_000 + i64::from(n / 3),
                duration: Some(i64::from(n % 4)),
                state: TraceState::Ok,
                name: "t",
                tags: &[],
                metadata: &[],
                spans: &[("root", "CHAIN", SpanOk)],
            },
        )
        .await;
    }
    let t = Traces::new(store, f.tracking());
    for order in [vec![], vec!["execution_time ASC"], vec!["name DESC"]] {
        let all = found(&t, req(&[&exp], "", &order)).await;
        assert_eq!(all.len(), 23);
        let mut paged = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            let page = t
                .search_traces(SearchTraces {
                    max_results: Some(5),
                    page_token: token,
                    ..req(&[&exp], "", &order)
                })
                .await
                .expect("page");
            assert!(page.items.len() <= 5);
            paged.extend(page.items.iter().map(|i| i.trace_id.to_string()));
            pages += 1;
            token = page.next_page_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(pages, 5);
        assert_eq!(paged, all, "pages in {order:?} tile the whole result");
    }
    let first = t
        .search_traces(SearchTraces {
            max_results: Some(23),
            ..req(&[&exp], "", &[])
        })
        .await
        .expect("exact page");
    assert_eq!(first.items.len(), 23);
    assert!(first.next_page_token.is_none());
}

pub async fn search_traces_spans_experiments_and_rejects_bad_input(f: Fixture) {
    let (t, a, b) = corpus(&f).await;
    assert_eq!(found(&t, req(&[&b], "", &[])).await, ids(&[5]));
    assert_eq!(found(&t, req(&[&a], "", &[])).await, ids(&[3, 4, 2, 1]));
    assert_eq!(
        found(&t, req(&[&a, &b], "name = 'agent'", &[])).await,
        ids(&[5, 4, 1])
    );
    assert_eq!(found(&t, req(&[], "", &[])).await, ids(&[]));
    assert_eq!(found(&t, req(&["987654"], "", &[])).await, ids(&[]));
    let infos = t.search_traces(req(&[&a], "", &[])).await.expect("search");
    let one = infos
        .items
        .iter()
        .find(|i| i.trace_id.as_str() == id(1))
        .expect("trace 1");
    assert_eq!(one.tags["team"], "x");
    assert_eq!(one.tags["mlflow.traceName"], "agent");
    assert_eq!(one.metadata["tier"], "gold");
    assert_eq!(one.execution_duration_ms, Some(50));
    assert_eq!(one.client_request_id.as_deref(), Some("req-1"));

    for (filter, order, max) in [
        ("status = 'OK' OR status = 'ERROR'", vec![], None),
        ("bogus = 'x'", vec![], None),
        ("span.kind = 'x'", vec![], None),
        ("", vec!["span.name"], None),
        ("", vec!["timestamp", "timestamp_ms"], None),
        ("", vec![], Some(0)),
        ("", vec![], Some(501)),
    ] {
        let r = SearchTraces {
            max_results: max,
            ..req(&[&a], filter, &order)
        };
        expect_err(t.search_traces(r).await, ErrorCode::InvalidParameterValue);
    }
    let bad_token = SearchTraces {
        page_token: Some("garbage".into()),
        ..req(&[&a], "", &[])
    };
    expect_err(
        t.search_traces(bad_token).await,
        ErrorCode::InvalidParameterValue,
    );
    let bad_id = req(&["x1"], "", &[]);
    expect_err(
        t.search_traces(bad_id).await,
        ErrorCode::InvalidParameterValue,
    );
}
