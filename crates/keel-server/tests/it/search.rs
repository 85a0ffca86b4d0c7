//! Run and experiment search over HTTP: paging to exhaustion, ordering and filters.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::support::*;

/// Follows `next_page_token` from `body` until it runs out; returns every page's items.
async fn all_pages(app: &TestApp, path: &str, mut body: Value, items: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    for _ in 0..100 {
        let v = app.ok_post(path, body.clone()).await;
        pages.push(array(&v[items]));
        match v.get("next_page_token") {
            Some(Value::String(t)) => body["page_token"] = json!(t),
            Some(other) => panic!("token is not a string: {other}"),
            None => return pages,
        }
    }
    panic!("paging did not terminate");
}

#[tokio::test]
async fn run_search_pages_until_exhausted() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("paging").await;
    let mut created = HashSet::new();
    for i in 0..7 {
        let id = app
            .create_run_with(json!({"experiment_id": exp, "start_time": 1000 + i}))
            .await;
        created.insert(id);
    }
    let pages = all_pages(
        &app,
        "runs/search",
        json!({"experiment_ids": [exp], "max_results": 3}),
        "runs",
    )
    .await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let seen: Vec<String> = pages
        .iter()
        .flatten()
        .map(|r| r["info"]["run_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);
    assert_eq!(seen.len(), 7, "no duplicates across pages");
    // Default order is start_time DESC.
    let starts: Vec<i64> = pages
        .iter()
        .flatten()
        .map(|r| r["info"]["start_time"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(starts, (1000..1007).rev().collect::<Vec<i64>>());
    // An exact multiple ends without a dangling empty page... or with one empty page at most.
    let pages = all_pages(
        &app,
        "runs/search",
        json!({"experiment_ids": [exp], "max_results": 7}),
        "runs",
    )
    .await;
    assert_eq!(pages.len(), 1);
}

#[tokio::test]
async fn experiment_search_pages_until_exhausted() {
    let app = TestApp::new().await;
    for i in 0..5 {
        app.create_experiment(&format!("e{i}")).await;
    }
    let pages = all_pages(
        &app,
        "experiments/search",
        json!({"max_results": 2}),
        "experiments",
    )
    .await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 2]);
    let names: HashSet<String> = pages
        .iter()
        .flatten()
        .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names.len(), 6);
    assert!(names.contains("Default"));
    // The same token works over GET.
    let first = app
        .ok_get("experiments/search", &[("max_results", "2")])
        .await;
    let token = first["next_page_token"].as_str().expect("token").to_owned();
    let second = app
        .ok_get(
            "experiments/search",
            &[("max_results", "2"), ("page_token", &token)],
        )
        .await;
    assert_eq!(array(&second["experiments"]).len(), 2);
    assert_ne!(first["experiments"], second["experiments"]);
}

#[tokio::test]
async fn run_search_filters_and_orders() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("filters").await;
    let mut runs = Vec::new();
    for (i, acc) in [0.5, 0.9, 0.7].into_iter().enumerate() {
        let run = app
            .create_run_with(json!({"experiment_id": exp, "run_name": format!("r{i}")}))
            .await;
        app.log_metric(&run, "acc", json!(acc), 1, 0).await;
        app.ok_post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "model", "value": if i == 1 { "cnn" } else { "mlp" }}),
        )
        .await;
        runs.push(run);
    }
    let found = app
        .search_run_ids(
            json!({"experiment_ids": [exp], "filter": "metrics.acc > 0.6",
            "order_by": ["metrics.acc DESC"]}),
        )
        .await;
    assert_eq!(found, vec![runs[1].clone(), runs[2].clone()]);
    let found = app
        .search_run_ids(json!({"experiment_ids": [exp],
            "filter": "params.model = 'mlp' and metrics.acc < 0.6"}))
        .await;
    assert_eq!(found, vec![runs[0].clone()]);
    let found = app
        .search_run_ids(json!({"experiment_ids": [exp], "order_by": ["attributes.run_name ASC"]}))
        .await;
    assert_eq!(found, runs);
    let found = app
        .search_run_ids(
            json!({"experiment_ids": [exp], "filter": "attributes.status = 'RUNNING'",
            "order_by": ["metrics.acc"]}),
        )
        .await;
    assert_eq!(
        found,
        vec![runs[0].clone(), runs[2].clone(), runs[1].clone()]
    );
    let found = app
        .search_run_ids(json!({"experiment_ids": [exp],
            "filter": format!("attributes.run_id IN ('{}', 'nope')", runs[1])}))
        .await;
    assert_eq!(found, vec![runs[1].clone()]);
    // A quote in a value is data, not syntax.
    let found = app
        .search_run_ids(json!({"experiment_ids": [exp],
            "filter": "params.model = 'x'' OR 1=1 --'"}))
        .await;
    assert!(found.is_empty());
}

#[tokio::test]
async fn run_search_over_several_experiments() {
    let app = TestApp::new().await;
    let a = app.create_experiment("a").await;
    let b = app.create_experiment("b").await;
    let ra = app.create_run(&a).await;
    let rb = app.create_run(&b).await;
    let mut found = app
        .search_run_ids(json!({"experiment_ids": [a, b, "424242"]}))
        .await;
    found.sort();
    let mut want = vec![ra, rb];
    want.sort();
    assert_eq!(found, want);
    // Numbers are accepted as experiment IDs too.
    let n: i64 = a.parse().unwrap_or(-1);
    assert_eq!(
        app.search_run_ids(json!({"experiment_ids": [n]}))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn experiment_search_filters_and_orders() {
    let app = TestApp::new().await;
    app.create_experiment("alpha").await;
    app.create_experiment("beta").await;
    let v = app
        .ok_post(
            "experiments/search",
            json!({"filter": "name LIKE 'a%'", "order_by": ["name DESC"]}),
        )
        .await;
    let names: Vec<Value> = array(&v["experiments"])
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("alpha")]);
    let v = app
        .ok_post("experiments/search", json!({"order_by": ["name ASC"]}))
        .await;
    let names: Vec<Value> = array(&v["experiments"])
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Default"), json!("alpha"), json!("beta")]);
}
