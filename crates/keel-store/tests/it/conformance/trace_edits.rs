//! Conformance checks for what is written to stored traces: tags, deletion (with everything that
//! hangs off a trace), links to runs and prompts, and assessments with overrides.

use std::collections::BTreeMap;

use keel_core::traces::{
    Assessment, AssessmentValue, SourceType, SpanId, SpanStatus, TraceDeletion, TraceId, TraceSpan,
    TraceSpans, TraceStore,
};
use serde_json::{Map, json};

use super::*;

fn trace_id(n: u8) -> TraceId {
    TraceId::from_otel([n; 16])
}

/// Stores trace `n` (one root span starting at `start_ms`) in `experiment`.
async fn trace(store: &Arc<dyn TraceStore>, experiment: &str, n: u8, start_ms: i64) {
    let span = TraceSpan {
        trace_id: trace_id(n),
        span_id: SpanId([1; 8]),
        parent_span_id: None,
        name: "root".into(),
        start_time_unix_nano: start_ms * 1_000_000,
        end_time_unix_nano: Some((start_ms + 1) * 1_000_000),
        status: SpanStatus::default(),
        attributes: Map::new(),
        events: Vec::new(),
    };
    store
        .log_spans(
            experiment,
            "mlflow-artifacts:/x",
            vec![TraceSpans {
                trace_id: trace_id(n),
                spans: vec![span],
                resource: Default::default(),
            }],
        )
        .await
        .expect("trace");
}

fn feedback(trace: u8, id: &str, value: serde_json::Value, overrides: Option<&str>) -> Assessment {
    Assessment {
        assessment_id: id.into(),
        trace_id: trace_id(trace),
        name: "correct".into(),
        span_id: None,
        source_type: SourceType::Human,
        source_id: "ann".into(),
        create_time_ms: T0,
        last_update_time_ms: T0,
        value: AssessmentValue::Feedback {
            value: Some(value),
            error: None,
        },
        rationale: None,
        metadata: BTreeMap::new(),
        overrides: overrides.map(str::to_owned),
        valid: true,
    }
}

async fn setup(f: &Fixture) -> (Arc<dyn TraceStore>, String) {
    let exp = experiment(&f.tracking(), "trace-edits").await;
    (f.trace_store(), exp)
}

pub async fn trace_tags_set_overwrite_and_delete(f: Fixture) {
    let (store, exp) = setup(&f).await;
    trace(&store, &exp, 1, 1_000).await;
    store
        .set_trace_tag(&trace_id(1), "k", "v1")
        .await
        .expect("set");
    store
        .set_trace_tag(&trace_id(1), "k", "v2")
        .await
        .expect("overwrite");
    let info = store
        .get_trace_info(&trace_id(1))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(info.tags["k"], "v2");
    store
        .delete_trace_tag(&trace_id(1), "k")
        .await
        .expect("delete");
    let err = store
        .delete_trace_tag(&trace_id(1), "k")
        .await
        .expect_err("gone");
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
    let err = store
        .set_trace_tag(&trace_id(9), "k", "v")
        .await
        .expect_err("no trace");
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
}

pub async fn deleting_traces_by_id_and_by_age(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let other = experiment(&f.tracking(), "trace-edits-other").await;
    for (n, start) in [(1, 1_000), (2, 2_000), (3, 3_000), (4, 4_000)] {
        trace(&store, &exp, n, start).await;
    }
    trace(&store, &other, 5, 500).await;
    store
        .create_assessment(&feedback(1, "a-1", json!(true), None))
        .await
        .expect("assessment");
    store
        .set_trace_tag(&trace_id(1), "k", "v")
        .await
        .expect("tag");

    let by_id = TraceDeletion {
        trace_ids: vec![trace_id(1), trace_id(5), trace_id(9)],
        ..Default::default()
    };
    assert_eq!(
        store.delete_traces(&exp, &by_id).await.expect("delete"),
        1,
        "only this experiment's"
    );
    assert!(
        store
            .get_trace_info(&trace_id(1))
            .await
            .expect("get")
            .is_none()
    );
    assert_eq!(store.count_spans(&trace_id(1)).await.expect("count"), 0);
    assert!(
        store
            .list_assessments(&[trace_id(1)])
            .await
            .expect("list")
            .is_empty()
    );

    let oldest = TraceDeletion {
        max_timestamp_ms: Some(3_500),
        max_traces: Some(1),
        ..Default::default()
    };
    assert_eq!(store.delete_traces(&exp, &oldest).await.expect("delete"), 1);
    assert!(
        store
            .get_trace_info(&trace_id(2))
            .await
            .expect("get")
            .is_none(),
        "the oldest goes first"
    );
    assert!(
        store
            .get_trace_info(&trace_id(3))
            .await
            .expect("get")
            .is_some()
    );
    let rest = TraceDeletion {
        max_timestamp_ms: Some(3_500),
        ..Default::default()
    };
    assert_eq!(store.delete_traces(&exp, &rest).await.expect("delete"), 1);
    assert!(
        store
            .get_trace_info(&trace_id(4))
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        store
            .get_trace_info(&trace_id(5))
            .await
            .expect("get")
            .is_some()
    );
}

/// The traces of `experiment` linked to `run_id` (explicitly or through their metadata).
async fn linked(f: &Fixture, experiment: &str, run_id: &str) -> Vec<String> {
    let traces = keel_core::traces::Traces::new(f.trace_store(), f.tracking());
    let page = traces
        .search_traces(keel_core::traces::SearchTraces {
            experiment_ids: vec![experiment.to_owned()],
            filter: Some(format!("run_id = '{run_id}'")),
            order_by: vec!["timestamp_ms ASC".into()],
            ..Default::default()
        })
        .await
        .expect("search");
    page.items.iter().map(|i| i.trace_id.to_string()).collect()
}

pub async fn links_are_idempotent_and_wait_for_their_trace(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let t = f.tracking();
    let other_exp = experiment(&t, "trace-edits-other").await;
    let (run_a, run_b) = (
        run_in(&t, &exp).await.info.run_id,
        run_in(&t, &exp).await.info.run_id,
    );
    let elsewhere = run_in(&t, &other_exp).await.info.run_id;
    trace(&store, &exp, 1, 1_000).await;
    trace(&store, &exp, 2, 2_000).await;
    store
        .link_traces_to_run(&[trace_id(1), trace_id(2)], &run_a)
        .await
        .expect("link");
    store
        .link_traces_to_run(&[trace_id(1)], &run_a)
        .await
        .expect("again");
    let ids = |ns: &[u8]| {
        ns.iter()
            .map(|n| trace_id(*n).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(linked(&f, &exp, &run_a).await, ids(&[1, 2]));

    // Links to traces that have not arrived: they hold once the trace is created in the run's
    // experiment, through its spans or through the client's info.
    store
        .link_traces_to_run(&[trace_id(1), trace_id(3), trace_id(4)], &run_b)
        .await
        .expect("link before the traces exist");
    store
        .link_traces_to_run(&[trace_id(3)], &run_b)
        .await
        .expect("pending link again");
    store
        .link_traces_to_run(&[trace_id(5)], &elsewhere)
        .await
        .expect("a run of another experiment");
    assert_eq!(linked(&f, &exp, &run_b).await, ids(&[1]));
    trace(&store, &exp, 3, 3_000).await;
    let mut info = keel_core::traces::TraceInfo::new_from_spans(trace_id(4), &exp, "loc".into());
    info.request_time_ms = 4_000;
    store.start_trace(info).await.expect("start trace 4");
    assert_eq!(linked(&f, &exp, &run_b).await, ids(&[1, 3, 4]));
    // A trace that arrives in another experiment than the run's is not linked to it.
    trace(&store, &exp, 5, 5_000).await;
    assert_eq!(
        linked(&f, &other_exp, &elsewhere).await,
        Vec::<String>::new()
    );
    assert_eq!(linked(&f, &exp, &elsewhere).await, Vec::<String>::new());

    // A deleted run drops its pending links: the trace arrives unlinked.
    let doomed = run_in(&t, &exp).await.info.run_id;
    store
        .link_traces_to_run(&[trace_id(6)], &doomed)
        .await
        .expect("link");
    t.delete_run(&doomed).await.expect("delete run");
    let garbage = t.find_garbage(0).await.expect("garbage");
    assert!(garbage.runs.iter().any(|(id, _)| *id == doomed));
    t.purge(&garbage).await.expect("purge");
    trace(&store, &exp, 6, 6_000).await;
    assert!(
        !linked(&f, &exp, &doomed)
            .await
            .contains(&trace_id(6).to_string())
    );

    let prompts = [("summarize".to_owned(), "2".to_owned())];
    store
        .link_prompts_to_trace(&trace_id(1), &prompts)
        .await
        .expect("prompts");
    store
        .link_prompts_to_trace(&trace_id(1), &prompts)
        .await
        .expect("prompts again");
    let err = store
        .link_prompts_to_trace(&trace_id(9), &prompts)
        .await
        .expect_err("no trace");
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
}

/// A link and the trace it names, sent at the same time: whichever commits first, the link
/// holds (on PostgreSQL both take the trace ID's lock).
pub async fn a_link_racing_its_trace_is_never_lost(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let run = run_in(&f.tracking(), &exp).await.info.run_id;
    let ns: Vec<u8> = (10..40).collect();
    for &n in &ns {
        let ids = [trace_id(n)];
        let (linked, _) = tokio::join!(
            store.link_traces_to_run(&ids, &run),
            trace(&store, &exp, n, i64::from(n) * 1_000),
        );
        linked.expect("link");
    }
    let want: Vec<String> = ns.iter().map(|n| trace_id(*n).to_string()).collect();
    assert_eq!(linked(&f, &exp, &run).await, want);
}

pub async fn assessments_override_update_and_delete(f: Fixture) {
    let (store, exp) = setup(&f).await;
    trace(&store, &exp, 1, 1_000).await;
    let first = feedback(1, "a-1", json!(true), None);
    store.create_assessment(&first).await.expect("create");
    let mut expectation = feedback(1, "a-2", json!(null), None);
    expectation.value = AssessmentValue::Expectation {
        value: json!({"answer": "Paris"}),
    };
    expectation.create_time_ms = T0 + 1;
    store
        .create_assessment(&expectation)
        .await
        .expect("expectation");
    let err = store
        .create_assessment(&feedback(1, "a-3", json!(false), Some("a-missing")))
        .await
        .expect_err("overrides a missing assessment");
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
    assert!(
        store
            .get_assessment(&trace_id(1), "a-3")
            .await
            .expect("get")
            .is_none(),
        "nothing written"
    );

    let mut override_ = feedback(1, "a-3", json!(false), Some("a-1"));
    override_.create_time_ms = T0 + 2;
    store.create_assessment(&override_).await.expect("override");
    assert!(
        !store
            .get_assessment(&trace_id(1), "a-1")
            .await
            .expect("get")
            .expect("exists")
            .valid
    );

    let mut changed = override_.clone();
    changed.rationale = Some("re-graded".into());
    changed.metadata.insert("k".into(), "v".into());
    changed.last_update_time_ms = T0 + 9;
    store.update_assessment(&changed).await.expect("update");
    assert_eq!(
        store
            .get_assessment(&trace_id(1), "a-3")
            .await
            .expect("get"),
        Some(changed)
    );
    let listed: Vec<String> = store
        .list_assessments(&[trace_id(1), trace_id(7)])
        .await
        .expect("list")
        .into_iter()
        .map(|a| a.assessment_id)
        .collect();
    assert_eq!(listed, ["a-1", "a-2", "a-3"]);
    assert_eq!(
        store
            .get_assessment(&trace_id(1), "a-2")
            .await
            .expect("get")
            .expect("exists")
            .value,
        expectation.value
    );

    assert!(
        store
            .delete_assessment(&trace_id(1), "a-3")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_assessment(&trace_id(1), "a-3")
            .await
            .expect("again")
    );
    assert!(
        store
            .get_assessment(&trace_id(1), "a-1")
            .await
            .expect("get")
            .expect("exists")
            .valid,
        "valid again"
    );
    let err = store
        .update_assessment(&feedback(1, "a-9", json!(1), None))
        .await
        .expect_err("missing");
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
    let err = store
        .create_assessment(&first)
        .await
        .expect_err("the ID is taken");
    assert_eq!(err.code, ErrorCode::ResourceAlreadyExists);
    let err = store
        .create_assessment(&feedback(9, "a-5", json!(1), None))
        .await
        .expect_err("no trace");
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
}

pub async fn old_traces_are_found_and_purged(f: Fixture) {
    let (store, exp) = setup(&f).await;
    let other = experiment(&f.tracking(), "trace-edits-retention").await;
    trace(&store, &exp, 1, 1_000).await;
    trace(&store, &other, 2, 2_000).await;
    trace(&store, &exp, 3, 9_000).await;
    store
        .set_trace_tag(&trace_id(1), "k", "v")
        .await
        .expect("tag");
    let old = store.traces_before(5_000, 10).await.expect("old");
    assert_eq!(
        old.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        [trace_id(1), trace_id(2)],
        "every experiment's, oldest first"
    );
    assert!(
        old[0]
            .1
            .as_deref()
            .is_some_and(|l| l.ends_with("/artifacts"))
    );
    assert_eq!(store.traces_before(5_000, 1).await.expect("limit").len(), 1);
    let ids: Vec<TraceId> = old.into_iter().map(|(id, _)| id).collect();
    assert_eq!(store.purge_traces(&ids).await.expect("purge"), 2);
    assert_eq!(store.purge_traces(&ids).await.expect("again"), 0);
    assert!(
        store
            .traces_before(5_000, 10)
            .await
            .expect("none")
            .is_empty()
    );
    assert!(
        store
            .get_trace_info(&trace_id(3))
            .await
            .expect("get")
            .is_some()
    );
}
