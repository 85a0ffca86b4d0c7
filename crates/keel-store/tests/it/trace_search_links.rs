//! Trace search over what other parts of the schema link to a trace (explicit run links, linked
//! prompt versions, assessments), on both backends. The rows are written with plain SQL, the way
//! the trace-link and assessment code stores them, so these checks do not depend on that code.

use std::sync::Arc;

use keel_core::traces::{
    SearchTraces, SpanId, SpanStatus, TraceId, TraceSpan, TraceSpans, TraceStore, Traces,
};
use keel_core::{ErrorCode, Tracking};
use keel_store::postgres::PostgresStore;
use keel_store::sqlite::SqliteStore;

use crate::conformance::{expect_err, experiment};

fn id(n: u8) -> String {
    TraceId::from_otel([n; 16]).to_string()
}

/// Traces 1..=4 (trace `n` starts at `n` seconds), each with one root span.
async fn traces(store: &Arc<dyn TraceStore>, exp: &str) {
    for n in 1..=4u8 {
        let trace_id = TraceId::from_otel([n; 16]);
        let span = TraceSpan {
            trace_id: trace_id.clone(),
            span_id: SpanId([n; 8]),
            parent_span_id: None,
            name: "root".into(),
            start_time_unix_nano: i64::from(n) * 1_000_000_000,
            end_time_unix_nano: Some(i64::from(n) * 1_000_000_000 + 1),
            status: SpanStatus::default(),
            attributes: serde_json::Map::new(),
            events: Vec::new(),
        };
        store
            .log_spans(
                exp,
                "mlflow-artifacts:/x",
                vec![TraceSpans {
                    trace_id,
                    spans: vec![span],
                    resource: Default::default(),
                }],
            )
            .await
            .expect("log spans");
    }
}

/// Links and assessments, in SQL both dialects accept.
fn link_statements() -> Vec<String> {
    let key = |n: u8| {
        format!(
            "(SELECT trace_key FROM traces WHERE trace_id = '{}')",
            id(n)
        )
    };
    let assessment = |aid: &str,
                      n: u8,
                      name: &str,
                      kind: &str,
                      value: &str,
                      num: &str,
                      valid: &str| {
        format!(
            "INSERT INTO assessments (assessment_id, trace_key, name, kind, value, numeric_value, \
             source_type, source_id, valid, create_time, last_update_time) \
             VALUES ('{aid}', {}, '{name}', '{kind}', {value}, {num}, 'HUMAN', 'u', {valid}, 0, 0)",
            key(n)
        )
    };
    vec![
        format!(
            "INSERT INTO trace_metadata (trace_key, key, value) VALUES ({}, 'mlflow.sourceRun', 'run-1')",
            key(1)
        ),
        format!(
            "INSERT INTO trace_run_links (trace_key, run_uuid) VALUES ({}, 'run-1')",
            key(3)
        ),
        format!(
            "INSERT INTO trace_run_links (trace_key, run_uuid) VALUES ({}, 'run-2')",
            key(4)
        ),
        format!(
            "INSERT INTO trace_prompt_links (trace_key, prompt_name, prompt_version) VALUES ({}, 'qa', '2')",
            key(2)
        ),
        assessment("a-1", 1, "correct", "feedback", "'\"yes\"'", "NULL", "TRUE"),
        assessment("a-2", 2, "correct", "feedback", "'false'", "0", "TRUE"),
        assessment("a-3", 2, "score", "feedback", "'0.9'", "0.9", "TRUE"),
        assessment("a-4", 3, "score", "feedback", "'0.2'", "0.2", "FALSE"),
        assessment("a-5", 4, "score", "feedback", "'0.4'", "0.4", "TRUE"),
        assessment(
            "a-6",
            4,
            "answer",
            "expectation",
            "'\"Paris\"'",
            "NULL",
            "TRUE",
        ),
    ]
}

async fn check(traces: Traces, exp: &str) {
    let q = |filter: &str| {
        let traces = traces.clone();
        let req = SearchTraces {
            experiment_ids: vec![exp.to_owned()],
            filter: Some(filter.to_owned()),
            ..Default::default()
        };
        async move {
            let page = traces.search_traces(req).await.expect("search");
            page.items
                .iter()
                .map(|i| i.trace_id.to_string())
                .collect::<Vec<_>>()
        }
    };
    let ids = |ns: &[u8]| ns.iter().map(|n| id(*n)).collect::<Vec<_>>();
    assert_eq!(
        q("run_id = 'run-1'").await,
        ids(&[3, 1]),
        "metadata or link"
    );
    assert_eq!(q("trace.run_id = 'run-2'").await, ids(&[4]));
    assert_eq!(
        q("run_id != 'run-1'").await,
        ids(&[]),
        "links count for = only"
    );
    assert_eq!(q("prompt = 'qa/2'").await, ids(&[2]));
    assert_eq!(q("trace.prompt = 'qa/3'").await, ids(&[]));
    assert_eq!(q("feedback.correct = 'yes'").await, ids(&[1]));
    assert_eq!(q("feedback.correct = 'false'").await, ids(&[2]));
    assert_eq!(q("feedback.correct != 'yes'").await, ids(&[2]));
    assert_eq!(q("feedback.correct LIKE '%ye%'").await, ids(&[1]));
    assert_eq!(q("feedback.correct RLIKE '^.no'").await, ids(&[]));
    assert_eq!(q("feedback.score > 0.3").await, ids(&[4, 2]));
    assert_eq!(
        q("feedback.score <= 0.2").await,
        ids(&[]),
        "invalid ones are ignored"
    );
    assert_eq!(q("feedback.score IS NULL").await, ids(&[3, 1]));
    assert_eq!(q("feedback.score IS NOT NULL").await, ids(&[4, 2]));
    assert_eq!(q("expectation.answer = 'Paris'").await, ids(&[4]));
    assert_eq!(q("feedback.answer IS NOT NULL").await, ids(&[]));
    assert_eq!(
        q("feedback.score > 0.3 AND run_id = 'run-2'").await,
        ids(&[4])
    );
    assert_eq!(q("issue.id = 'x'").await, ids(&[]));
    assert_eq!(q("request_id RLIKE '^tr-0[12]'").await, ids(&[2, 1]));
}

#[tokio::test]
async fn sqlite_links_prompts_and_assessments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keel.db");
    let store = SqliteStore::open(&path).await.expect("open");
    let tracking = Tracking::new(Arc::new(store.clone()));
    let exp = experiment(&tracking, "links").await;
    let trace_store: Arc<dyn TraceStore> = Arc::new(store.clone());
    traces(&trace_store, &exp).await;
    {
        let conn = rusqlite::Connection::open(&path).expect("raw connection");
        for sql in link_statements() {
            conn.execute(&sql, [])
                .unwrap_or_else(|e| panic!("{e}: {sql}"));
        }
    }
    let t = Traces::new(trace_store, tracking);
    check(t.clone(), &exp).await;
    // SQLite: an invalid pattern matches nothing, as in the reference's SQLite store.
    let bad = SearchTraces {
        experiment_ids: vec![exp.clone()],
        filter: Some("request_id RLIKE '(['".into()),
        ..Default::default()
    };
    assert!(t.search_traces(bad).await.expect("search").items.is_empty());
}

#[tokio::test]
async fn postgres_links_prompts_and_assessments() {
    let Some(db) = crate::postgres::TestDb::create().await else {
        return;
    };
    let store = PostgresStore::open(&db.config("")).await.expect("open");
    let tracking = Tracking::new(Arc::new(store.clone()));
    let exp = experiment(&tracking, "links").await;
    let trace_store: Arc<dyn TraceStore> = Arc::new(store.clone());
    traces(&trace_store, &exp).await;
    let mut conn = db.connect().await;
    for sql in link_statements() {
        sqlx::query(&sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    let t = Traces::new(trace_store, tracking);
    check(t.clone(), &exp).await;
    // PostgreSQL refuses an invalid pattern: that is the client's error, not the server's.
    let bad = SearchTraces {
        experiment_ids: vec![exp.clone()],
        filter: Some("request_id RLIKE '(['".into()),
        ..Default::default()
    };
    expect_err(t.search_traces(bad).await, ErrorCode::InvalidParameterValue);
}
