//! Metric history reads: full, paged, ordered, and the downsampled bulk-interval read.

use serde_json::{Value, json};

use crate::support::*;

/// Logs steps `0..n` of `key` (value = step, timestamp = 1000 + step) in one batch per 1000.
async fn log_steps(app: &TestApp, run: &str, key: &str, n: i64) {
    let points: Vec<Value> = (0..n)
        .map(|s| json!({"key": key, "value": s, "timestamp": 1000 + s, "step": s}))
        .collect();
    for chunk in points.chunks(1000) {
        app.ok_post("runs/log-batch", json!({"run_id": run, "metrics": chunk}))
            .await;
    }
}

fn steps(v: &Value) -> Vec<i64> {
    array(&v["metrics"])
        .iter()
        .map(|m| m["step"].as_i64().unwrap_or(i64::MIN))
        .collect()
}

#[tokio::test]
async fn history_without_max_results_is_everything_without_a_token() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    log_steps(&app, &run, "loss", 1500).await;
    let v = app
        .ok_get(
            "metrics/get-history",
            &[("run_id", &run), ("metric_key", "loss")],
        )
        .await;
    assert_eq!(steps(&v), (0..1500).collect::<Vec<i64>>());
    assert!(v.get("next_page_token").is_none());
    let m = &v["metrics"][0];
    assert_eq!(keys(m), ["key", "step", "timestamp", "value"]);
}

#[tokio::test]
async fn history_pages_with_max_results() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    log_steps(&app, &run, "loss", 25).await;
    let mut got = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = vec![
            ("run_id", run.as_str()),
            ("metric_key", "loss"),
            ("max_results", "10"),
        ];
        if let Some(t) = &token {
            params.push(("page_token", t));
        }
        let v = app.ok_get("metrics/get-history", &params).await;
        got.extend(steps(&v));
        pages += 1;
        match v["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
        assert!(pages < 10, "paging did not terminate");
    }
    assert_eq!(pages, 3);
    assert_eq!(got, (0..25).collect::<Vec<i64>>());
}

#[tokio::test]
async fn history_is_ordered_by_timestamp_step_value() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.log_metric(&run, "m", json!(3), 20, 0).await;
    app.log_metric(&run, "m", json!(2), 10, 5).await;
    app.log_metric(&run, "m", json!(1), 10, 5).await;
    app.log_metric(&run, "m", json!(9), 10, 1).await;
    let v = app
        .ok_get(
            "metrics/get-history",
            &[("run_id", &run), ("metric_key", "m")],
        )
        .await;
    let seen: Vec<(i64, i64, f64)> = array(&v["metrics"])
        .iter()
        .map(|m| {
            (
                m["timestamp"].as_i64().unwrap_or(0),
                m["step"].as_i64().unwrap_or(0),
                m["value"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![(10, 1, 9.0), (10, 5, 1.0), (10, 5, 2.0), (20, 0, 3.0)]
    );
    // An unknown key is an empty history.
    let v = app
        .ok_get(
            "metrics/get-history",
            &[("run_id", &run), ("metric_key", "nope")],
        )
        .await;
    assert_eq!(v, json!({}));
}

#[tokio::test]
async fn bulk_interval_downsamples_like_the_reference() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    log_steps(&app, &run, "acc", 25).await;
    let get = |max: &'static str| {
        let run = run.clone();
        let app = &app;
        async move {
            app.ok_get(
                "metrics/get-history-bulk-interval",
                &[
                    ("run_ids", &run),
                    ("metric_key", "acc"),
                    ("max_results", max),
                ],
            )
            .await
        }
    };
    assert_eq!(steps(&get("5").await), [0, 5, 10, 15, 24]);
    assert_eq!(steps(&get("1").await), [24]);
    // 25 rows in 4 NTILE buckets of 7, 6, 6, 6; the last point replaces the last bucket's first.
    assert_eq!(steps(&get("4").await), [0, 7, 13, 24]);
    assert_eq!(steps(&get("25").await), (0..25).collect::<Vec<i64>>());
    assert_eq!(steps(&get("2500").await).len(), 25);
    // Default max_results keeps everything here.
    let v = app
        .ok_get(
            "metrics/get-history-bulk-interval",
            &[("run_ids", &run), ("metric_key", "acc")],
        )
        .await;
    assert_eq!(steps(&v).len(), 25);
    let m = &v["metrics"][0];
    assert_eq!(keys(m), ["key", "run_id", "step", "timestamp", "value"]);
    assert_eq!(m["run_id"], run.as_str());
}

#[tokio::test]
async fn bulk_interval_step_window_is_inclusive_and_checked() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    log_steps(&app, &run, "acc", 25).await;
    let q = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![("run_ids", run.as_str()), ("metric_key", "acc")];
        p.extend_from_slice(extra);
        p
    };
    let refs = q(&[("start_step", "3"), ("end_step", "6")]);
    let v = app.ok_get("metrics/get-history-bulk-interval", &refs).await;
    assert_eq!(steps(&v), [3, 4, 5, 6]);
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("start_step", "3")], "both must be specified"),
        (&[("end_step", "3")], "both must be specified"),
        (&[("start_step", "6"), ("end_step", "3")], "start_step=6"),
    ];
    for (extra, needle) in cases {
        let (status, v) = app
            .get_q("metrics/get-history-bulk-interval", &q(extra))
            .await;
        assert_invalid(status, &v, needle);
    }
}

#[tokio::test]
async fn bulk_interval_groups_runs_and_caps_their_number() {
    let app = TestApp::new().await;
    let a = app.create_run("0").await;
    let b = app.create_run("0").await;
    log_steps(&app, &a, "m", 3).await;
    log_steps(&app, &b, "m", 2).await;
    let v = app
        .ok_get(
            "metrics/get-history-bulk-interval",
            &[
                ("run_ids", &b),
                ("run_ids", &a),
                ("run_ids", "ghost"),
                ("metric_key", "m"),
            ],
        )
        .await;
    let order: Vec<(String, i64)> = array(&v["metrics"])
        .iter()
        .map(|m| {
            (
                m["run_id"].as_str().unwrap_or_default().to_owned(),
                m["step"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (b.clone(), 0),
            (b.clone(), 1),
            (a.clone(), 0),
            (a.clone(), 1),
            (a.clone(), 2)
        ]
    );
    let many: Vec<String> = (0..101).map(|i| format!("r{i}")).collect();
    let mut params: Vec<(&str, &str)> = many.iter().map(|r| ("run_ids", r.as_str())).collect();
    params.push(("metric_key", "m"));
    let (status, v) = app
        .get_q("metrics/get-history-bulk-interval", &params)
        .await;
    assert_invalid(status, &v, "at most 100 run_ids");
}
