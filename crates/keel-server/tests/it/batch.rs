//! log-batch: count limits, and that a batch failing anywhere writes nothing at all.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

fn metrics(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"key": format!("m{}", i % 7), "value": i, "timestamp": i, "step": i}))
        .collect()
}

fn kvs(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"key": format!("{prefix}{i}"), "value": i.to_string()}))
        .collect()
}

/// Everything observable about a run's logged data.
async fn snapshot(app: &TestApp, run: &str) -> (Value, Vec<Vec<Value>>) {
    let r = app.run(run).await;
    let mut histories = Vec::new();
    for key in ["m0", "m1", "m4", "ok", "bad", "x"] {
        histories.push(app.history(run, key).await);
    }
    (r, histories)
}

#[tokio::test]
async fn batch_limits_are_enforced_with_the_reference_message() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let before = snapshot(&app, &run).await;
    for (body, needle) in [
        (
            json!({"run_id": run, "metrics": metrics(1001)}),
            "at most 1000 metrics",
        ),
        (
            json!({"run_id": run, "params": kvs("p", 101)}),
            "at most 100 params",
        ),
        (
            json!({"run_id": run, "tags": kvs("t", 101)}),
            "at most 100 tags",
        ),
        (
            json!({"run_id": run, "metrics": metrics(900), "params": kvs("p", 100), "tags": kvs("t", 1)}),
            "at most 1000 metrics, params, and tags",
        ),
    ] {
        let (status, v) = app.post("runs/log-batch", body).await;
        assert_invalid(status, &v, needle);
    }
    assert_eq!(snapshot(&app, &run).await, before);
}

#[tokio::test]
async fn batches_at_the_limits_are_accepted() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.ok_post(
        "runs/log-batch",
        json!({"run_id": run, "metrics": metrics(1000)}),
    )
    .await;
    app.ok_post(
        "runs/log-batch",
        json!({"run_id": run, "metrics": metrics(800), "params": kvs("p", 100), "tags": kvs("t", 100)}),
    )
    .await;
    let r = app.run(&run).await;
    assert_eq!(array(&r["data"]["params"]).len(), 100);
    assert_eq!(array(&r["data"]["tags"]).len(), 101);
    // 1000 + 800 points, identical ones deduplicated: m0 got indexes 0,7,..,994 twice.
    let m0 = app.history(&run, "m0").await;
    assert_eq!(m0.len(), 143);
}

#[tokio::test]
async fn an_invalid_fifth_metric_writes_nothing() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let before = snapshot(&app, &run).await;
    for bad in [
        json!({"key": "bad", "value": 1, "timestamp": -1}),
        json!({"key": "../bad", "value": 1, "timestamp": 1}),
        json!({"key": "bad", "value": 1}),
        json!({"key": "bad", "timestamp": 1}),
        json!({"key": "bad", "value": "one", "timestamp": 1}),
    ] {
        let mut ms = metrics(4);
        ms.push(bad.clone());
        ms.extend(metrics(3));
        let (status, v) = app
            .post(
                "runs/log-batch",
                json!({"run_id": run, "metrics": ms, "params": kvs("p", 2), "tags": kvs("t", 2)}),
            )
            .await;
        assert_4xx(status, &v, &bad.to_string());
        assert_eq!(snapshot(&app, &run).await, before, "{bad}");
    }
}

#[tokio::test]
async fn a_conflicting_param_writes_nothing() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.ok_post(
        "runs/log-parameter",
        json!({"run_id": run, "key": "lr", "value": "0.1"}),
    )
    .await;
    let before = snapshot(&app, &run).await;
    let (status, v) = app
        .post(
            "runs/log-batch",
            json!({
                "run_id": run,
                "metrics": [{"key": "ok", "value": 1, "timestamp": 1}],
                "params": [{"key": "fresh", "value": "1"}, {"key": "lr", "value": "0.9"}],
                "tags": [{"key": "x", "value": "y"}, {"key": "mlflow.runName", "value": "renamed"}],
            }),
        )
        .await;
    assert_invalid(status, &v, "Changing param values is not allowed");
    assert!(
        v["message"].as_str().unwrap_or_default().contains("lr"),
        "{v}"
    );
    let after = snapshot(&app, &run).await;
    assert_eq!(after, before);
    assert_ne!(after.0["info"]["run_name"], "renamed");
}

#[tokio::test]
async fn duplicate_params_in_one_batch_write_nothing() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let before = snapshot(&app, &run).await;
    let (status, v) = app
        .post(
            "runs/log-batch",
            json!({
                "run_id": run,
                "metrics": [{"key": "ok", "value": 1, "timestamp": 1}],
                "params": [{"key": "dup", "value": "1"}, {"key": "dup", "value": "2"}],
            }),
        )
        .await;
    assert_invalid(status, &v, "Duplicate parameter keys");
    assert_eq!(snapshot(&app, &run).await, before);
    // The same key with the same value twice is still a duplicate in one batch.
    let (status, v) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run, "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "1"}]}),
        )
        .await;
    assert_invalid(status, &v, "Duplicate parameter keys");
}

#[tokio::test]
async fn an_invalid_last_tag_writes_nothing() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let before = snapshot(&app, &run).await;
    let mut tags = kvs("t", 5);
    tags.push(json!({"key": "bad\\key", "value": "v"}));
    let (status, v) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run, "metrics": metrics(10), "params": kvs("p", 5), "tags": tags}),
        )
        .await;
    assert_invalid(status, &v, "bad\\key");
    assert_eq!(snapshot(&app, &run).await, before);
}

#[tokio::test]
async fn a_batch_to_a_deleted_run_writes_nothing() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.ok_post("runs/delete", json!({"run_id": run})).await;
    let before = snapshot(&app, &run).await;
    let (status, v) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run, "metrics": metrics(3), "params": kvs("p", 1), "tags": kvs("t", 1)}),
        )
        .await;
    assert_invalid(status, &v, "must be in the 'active' state");
    assert_eq!(snapshot(&app, &run).await, before);
    for (path, body) in [
        (
            "runs/log-metric",
            json!({"run_id": run, "key": "m0", "value": 1, "timestamp": 1}),
        ),
        (
            "runs/log-parameter",
            json!({"run_id": run, "key": "p", "value": "v"}),
        ),
        (
            "runs/set-tag",
            json!({"run_id": run, "key": "t", "value": "v"}),
        ),
        (
            "runs/delete-tag",
            json!({"run_id": run, "key": "mlflow.runName"}),
        ),
        ("runs/update", json!({"run_id": run, "status": "FINISHED"})),
    ] {
        let (status, v) = app.post(path, body).await;
        assert_invalid(status, &v, "must be in the 'active' state");
    }
    assert_eq!(snapshot(&app, &run).await, before);
}

#[tokio::test]
async fn an_empty_batch_is_ok_and_changes_nothing() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let before = snapshot(&app, &run).await;
    let v = app
        .ok_post(
            "runs/log-batch",
            json!({"run_id": run, "metrics": [], "params": [], "tags": []}),
        )
        .await;
    assert_eq!(v, json!({}));
    assert_eq!(snapshot(&app, &run).await, before);
}

#[tokio::test]
async fn a_good_batch_writes_everything() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.ok_post(
        "runs/log-batch",
        json!({
            "run_id": run,
            "metrics": [
                {"key": "x", "value": 1, "timestamp": 10, "step": 0},
                {"key": "x", "value": "NaN", "timestamp": 11, "step": 1},
                {"key": "x", "value": 3, "timestamp": 12, "step": 2},
            ],
            "params": [{"key": "p", "value": "1"}, {"key": "q"}],
            "tags": [{"key": "t", "value": "a"}, {"key": "t", "value": "b"}],
        }),
    )
    .await;
    let r = app.run(&run).await;
    assert_eq!(
        tag(&r["data"]["params"], "q"),
        Some(""),
        "absent value is empty"
    );
    assert_eq!(
        tag(&r["data"]["tags"], "t"),
        Some("b"),
        "last tag value wins"
    );
    let values: Vec<Value> = app
        .history(&run, "x")
        .await
        .iter()
        .map(|p| p["value"].clone())
        .collect();
    assert_eq!(values, vec![json!(1.0), json!("NaN"), json!(3.0)]);
    let (status, _) = app.post("runs/log-batch", json!({"run_id": run})).await;
    assert_eq!(status, StatusCode::OK);
}
