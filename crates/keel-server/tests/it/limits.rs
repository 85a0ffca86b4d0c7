//! Oversized searches and concurrent writers: reasonable sizes work, absurd sizes are a 4xx.
//!
//! The ignored tests are known bugs: SQLite's own limits (expression depth 1000, 64 tables per
//! join, 32766 bound variables, 1000-ish ORDER BY terms, 50000-byte LIKE patterns) surface as
//! `500 INTERNAL_ERROR` with the SQL text in the message, which also makes the Python client
//! retry seven times. The domain layer should cap these inputs (or the store should map the
//! errors) so the client gets a 400.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn large_but_reasonable_searches_work() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.log_metric(&run, "a", json!(1), 1, 0).await;
    let chain = vec!["metrics.a > 0"; 300].join(" AND ");
    assert_eq!(
        app.search_run_ids(json!({"experiment_ids": ["0"], "filter": chain}))
            .await,
        vec![run.clone()]
    );
    let ids: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(
        app.search_run_ids(json!({"experiment_ids": ids})).await,
        vec![run.clone()]
    );
    let order_by: Vec<String> = (0..20).map(|i| format!("params.p{i} DESC")).collect();
    assert_eq!(
        app.search_run_ids(json!({"experiment_ids": ["0"], "order_by": order_by}))
            .await,
        vec![run.clone()]
    );
    let distinct: Vec<String> = (0..100).map(|i| format!("metrics.m{i} > 0")).collect();
    let v = app
        .ok_post(
            "runs/search",
            json!({"experiment_ids": ["0"], "filter": distinct.join(" AND ")}),
        )
        .await;
    assert_eq!(v, json!({}));
}

/// Sends `body` to `path` and asserts a 4xx rather than SQLite's limit as a 500.
async fn assert_rejected(app: &TestApp, path: &str, body: serde_json::Value, what: &str) {
    let (status, v) = app.post(path, body).await;
    let shown: String = v.to_string().chars().take(200).collect();
    assert!(status.is_client_error(), "{what}: {status} {shown}");
}

#[tokio::test]

async fn long_filter_chains_are_a_4xx() {
    let app = TestApp::new().await;
    let chain = vec!["metrics.a > 0"; 1000].join(" AND ");
    assert_rejected(
        &app,
        "runs/search",
        json!({"experiment_ids": ["0"], "filter": chain}),
        "runs: 1000 clauses",
    )
    .await;
    let chain = vec!["name = 'x'"; 2000].join(" AND ");
    assert_rejected(
        &app,
        "experiments/search",
        json!({"filter": chain}),
        "experiments: 2000 clauses",
    )
    .await;
}

#[tokio::test]

async fn many_order_by_clauses_are_a_4xx() {
    let app = TestApp::new().await;
    let order_by: Vec<String> = (0..64).map(|i| format!("params.p{i}")).collect();
    assert_rejected(
        &app,
        "runs/search",
        json!({"experiment_ids": ["0"], "order_by": order_by}),
        "runs: 64 order_by",
    )
    .await;
    let order_by: Vec<&str> = vec!["name"; 2000];
    assert_rejected(
        &app,
        "experiments/search",
        json!({"order_by": order_by}),
        "experiments: 2000 order_by",
    )
    .await;
}

#[tokio::test]

async fn huge_id_lists_are_a_4xx() {
    let app = TestApp::new().await;
    let ids: Vec<String> = (0..32_766).map(|i| i.to_string()).collect();
    assert_rejected(
        &app,
        "runs/search",
        json!({"experiment_ids": ids}),
        "32766 experiment_ids",
    )
    .await;
    let values: Vec<String> = (0..40_000).map(|i| format!("'r{i}'")).collect();
    assert_rejected(
        &app,
        "runs/search",
        json!({"experiment_ids": ["0"],
            "filter": format!("attributes.run_id IN ({})", values.join(","))}),
        "40000 IN values",
    )
    .await;
}

#[tokio::test]

async fn huge_like_patterns_are_a_4xx() {
    let app = TestApp::new().await;
    assert_rejected(
        &app,
        "experiments/search",
        json!({"filter": format!("name LIKE '{}'", "%a".repeat(30_000))}),
        "60000-byte LIKE",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_all_succeed() {
    let app = Arc::new(TestApp::new().await);
    let run = app.create_run("0").await;
    let mut tasks = Vec::new();
    for i in 0..40_i64 {
        let app = app.clone();
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            let (s1, v1) = app
                .post(
                    "runs/log-metric",
                    json!({"run_id": run, "key": "m", "value": i, "timestamp": i, "step": i}),
                )
                .await;
            let (s2, v2) = app
                .post(
                    "runs/log-batch",
                    json!({"run_id": run, "params": [{"key": format!("p{i}"), "value": "v"}],
                        "tags": [{"key": "shared", "value": i.to_string()}]}),
                )
                .await;
            let (s3, v3) = app.get_q("runs/get", &[("run_id", &run)]).await;
            [(s1, v1), (s2, v2), (s3, v3)]
        }));
    }
    for task in tasks {
        for (status, v) in task.await.expect("task") {
            assert_eq!(status, StatusCode::OK, "{v}");
        }
    }
    assert_eq!(app.history(&run, "m").await.len(), 40);
    let r = app.run(&run).await;
    assert_eq!(array(&r["data"]["params"]).len(), 40);
    let latest = &r["data"]["metrics"][0];
    assert_eq!(latest["step"], 39);
}
