//! Bad input of every kind gets a 4xx MLflow error naming the problem, never a 5xx or a panic.

use axum::http::{Method, StatusCode};
use keel_server::routes::table;
use serde_json::{Value, json};

use crate::support::*;

/// Every POST path in the route table (one mount path each).
fn post_paths() -> Vec<String> {
    table()
        .into_iter()
        .filter(|r| r.method == Method::POST)
        .map(|r| mount_paths(r.mount, r.path)[0].clone())
        .collect()
}

#[tokio::test]
async fn malformed_json_is_400_on_every_post_route() {
    let app = TestApp::new().await;
    for path in post_paths() {
        for body in [
            &b"{"[..],
            b"{\"name\": }",
            b"{'name': 'x'}",
            b"not json",
            b"{\"a\":1}}",
            b"\xff\xfe\x00",
            b"[1,",
        ] {
            let (status, v) = app.post_bytes(&path, body.to_vec()).await;
            assert_4xx_at(&path, status, &v, &format!("{path} {body:?}"));
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        }
    }
}

#[tokio::test]
async fn lone_surrogates_in_read_fields_are_400() {
    let app = TestApp::new().await;
    let (status, v) = app
        .post_bytes("experiments/create", br#"{"name": "a\ud800b"}"#.to_vec())
        .await;
    assert_error(status, &v, StatusCode::BAD_REQUEST, "BAD_REQUEST");
    // A well-formed pair is one character.
    let v = app
        .ok_post("experiments/create", json!({"name": "a\u{1F600}b"}))
        .await;
    assert!(v["experiment_id"].is_string());
    let (status, v) = app
        .post_bytes(
            "experiments/create",
            br#"{"name": "a\ud83d\ude00b"}"#.to_vec(),
        )
        .await;
    assert_error(
        status,
        &v,
        StatusCode::BAD_REQUEST,
        "RESOURCE_ALREADY_EXISTS",
    );
}

#[tokio::test]
async fn trailing_bytes_after_the_body_are_400() {
    let app = TestApp::new().await;
    for body in [
        &b"{\"name\":\"a\"}}"[..],
        b"{\"name\":\"a\"} {\"name\":\"b\"}",
        b"{} x",
    ] {
        let (status, v) = app.post_bytes("experiments/create", body.to_vec()).await;
        assert_error(status, &v, StatusCode::BAD_REQUEST, "BAD_REQUEST");
    }
    // Whitespace around the object is fine.
    let v = app.ok_post("experiments/search", json!({})).await;
    assert!(v["experiments"].is_array());
    let (status, _) = app
        .post_bytes("experiments/create", b" \n{\"name\":\"ws\"}\r\n ".to_vec())
        .await;
    assert_eq!(status, StatusCode::OK);
    // Nothing was created by the rejected bodies.
    let (status, _) = app
        .get_q("experiments/get-by-name", &[("experiment_name", "a")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn non_object_json_is_4xx_on_every_post_route() {
    let app = TestApp::new().await;
    for path in post_paths() {
        for body in [
            json!([]),
            json!([{"name": "x"}]),
            json!(1),
            json!(-1.5),
            json!("string"),
            json!(true),
            json!(null),
        ] {
            let (status, v) = app.post(&path, body.clone()).await;
            assert_4xx_at(&path, status, &v, &format!("{path} {body}"));
        }
    }
}

#[tokio::test]
async fn content_types_other_than_json_do_not_break_parsing() {
    let app = TestApp::new().await;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let raw = app
            .raw(Method::POST, "experiments/create", "name=x", ct)
            .await;
        assert_4xx(raw.status, &raw.json(), &format!("{ct:?}"));
    }
    // Even a JSON body needs the JSON content type, as in the reference: browsers send
    // text/plain and form bodies cross-site without a preflight.
    let raw = app
        .raw(Method::POST, "experiments/create", r#"{"name":"nc"}"#, None)
        .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST, "{:?}", raw.json());
    let raw = app
        .raw(
            Method::POST,
            "experiments/create",
            r#"{"name":"nc"}"#,
            Some("application/json; charset=utf-8"),
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
}

#[tokio::test]
async fn wrong_field_types_name_the_field() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let cases = [
        ("runs/create", json!({"experiment_id": {}}), "experiment_id"),
        (
            "runs/create",
            json!({"experiment_id": [1]}),
            "experiment_id",
        ),
        ("runs/create", json!({"start_time": "abc"}), "start_time"),
        ("runs/create", json!({"start_time": 1.5}), "start_time"),
        ("runs/create", json!({"start_time": {}}), "start_time"),
        ("runs/create", json!({"tags": {"k": "v"}}), "tags"),
        ("runs/create", json!({"tags": [1]}), "tags"),
        ("runs/create", json!({"user_id": []}), "user_id"),
        ("experiments/create", json!({"name": {"a": 1}}), "name"),
        ("experiments/create", json!({"name": ["x"]}), "name"),
        (
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": "abc", "timestamp": 1}),
            "value",
        ),
        (
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": [1], "timestamp": 1}),
            "value",
        ),
        (
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": 1, "timestamp": "soon"}),
            "timestamp",
        ),
        (
            "runs/log-metric",
            json!({"run_id": run, "key": {}, "value": 1, "timestamp": 1}),
            "key",
        ),
        (
            "runs/log-metric",
            json!({"run_id": 7, "key": "m", "value": 1, "timestamp": 1}),
            "run_id",
        ),
        (
            "runs/log-parameter",
            json!({"run_id": run, "key": "p", "value": ["a"]}),
            "value",
        ),
        (
            "runs/set-tag",
            json!({"run_id": run, "key": "t", "value": {"a": 1}}),
            "value",
        ),
        (
            "runs/log-batch",
            json!({"run_id": run, "metrics": "many"}),
            "metrics",
        ),
        (
            "runs/log-batch",
            json!({"run_id": run, "metrics": [{"key": "m", "value": 1, "timestamp": "x"}]}),
            "metrics[0].timestamp",
        ),
        (
            "runs/log-batch",
            json!({"run_id": run, "params": [{"key": "p", "value": 1}, {"key": 2}]}),
            "params[1].key",
        ),
        (
            "runs/update",
            json!({"run_id": run, "end_time": "later"}),
            "end_time",
        ),
        ("runs/search", json!({"max_results": "ten"}), "max_results"),
        (
            "runs/search",
            json!({"experiment_ids": {"a": 1}}),
            "experiment_ids",
        ),
        ("runs/search", json!({"order_by": 5}), "order_by"),
        (
            "experiments/search",
            json!({"max_results": [1]}),
            "max_results",
        ),
        ("experiments/search", json!({"filter": 5}), "filter"),
    ];
    for (path, body, field) in cases {
        let (status, v) = app.post(path, body.clone()).await;
        assert_4xx(status, &v, &format!("{path} {body}"));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}");
        let message = v["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(field),
            "{path} {body}: message {message:?} does not name {field}"
        );
    }
    // Nothing was logged by any of them.
    let data = app.run(&run).await["data"].clone();
    assert!(data.get("metrics").is_none(), "{data}");
    assert!(data.get("params").is_none(), "{data}");
}

#[tokio::test]
async fn wrong_query_types_name_the_field() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    for (path, params, field) in [
        (
            "metrics/get-history",
            vec![
                ("run_id", run.as_str()),
                ("metric_key", "m"),
                ("max_results", "x"),
            ],
            "max_results",
        ),
        (
            "metrics/get-history-bulk-interval",
            vec![
                ("run_ids", run.as_str()),
                ("metric_key", "m"),
                ("start_step", "one"),
            ],
            "start_step",
        ),
        (
            "experiments/search",
            vec![("max_results", "1.5")],
            "max_results",
        ),
    ] {
        let (status, v) = app.get_q(path, &params).await;
        assert_4xx(status, &v, path);
        let message = v["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{path}: {message}");
    }
}

/// A GET path, its query pairs and the field its error must name.
type GetCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

#[tokio::test]
async fn missing_required_fields_are_named() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let posts = [
        ("experiments/create", json!({}), "name"),
        ("experiments/create", json!({"name": ""}), "name"),
        (
            "experiments/update",
            json!({"experiment_id": "0"}),
            "new_name",
        ),
        (
            "experiments/update",
            json!({"new_name": "x"}),
            "experiment_id",
        ),
        ("experiments/delete", json!({}), "experiment_id"),
        ("experiments/restore", json!({}), "experiment_id"),
        (
            "experiments/set-experiment-tag",
            json!({"experiment_id": "0"}),
            "key",
        ),
        (
            "experiments/delete-experiment-tag",
            json!({"key": "k"}),
            "experiment_id",
        ),
        ("runs/update", json!({"status": "FINISHED"}), "run_id"),
        ("runs/delete", json!({}), "run_id"),
        ("runs/restore", json!({"run_id": ""}), "run_id"),
        (
            "runs/log-metric",
            json!({"run_id": run, "value": 1, "timestamp": 1}),
            "key",
        ),
        (
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "timestamp": 1}),
            "value",
        ),
        (
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": 1}),
            "timestamp",
        ),
        (
            "runs/log-metric",
            json!({"key": "m", "value": 1, "timestamp": 1}),
            "run_id",
        ),
        (
            "runs/log-parameter",
            json!({"run_id": run, "value": "v"}),
            "key",
        ),
        ("runs/set-tag", json!({"run_id": run, "value": "v"}), "key"),
        ("runs/delete-tag", json!({"run_id": run}), "key"),
        ("runs/delete-tag", json!({"key": "k"}), "run_id"),
        ("runs/log-batch", json!({}), "run_id"),
        (
            "runs/log-batch",
            json!({"run_id": run, "metrics": [{"key": "m", "value": 1, "timestamp": 1}, {"key": "m", "value": 1}]}),
            "metrics[1].timestamp",
        ),
        (
            "runs/log-batch",
            json!({"run_id": run, "metrics": [{"value": 1, "timestamp": 1}]}),
            "metrics[0].key",
        ),
        (
            "runs/log-batch",
            json!({"run_id": run, "tags": [{"value": "v"}]}),
            "tags[0].key",
        ),
        ("runs/log-inputs", json!({}), "run_id"),
        (
            "runs/outputs",
            json!({"models": [{"model_id": "m"}]}),
            "run_id",
        ),
        (
            "runs/outputs",
            json!({"run_id": run, "models": [{"step": 1}]}),
            "model_id",
        ),
        (
            "runs/log-inputs",
            json!({"run_id": run, "datasets": [{"dataset": {"name": "d"}}]}),
            "digest",
        ),
        (
            "runs/log-inputs",
            json!({"run_id": run, "datasets": [{}]}),
            "dataset",
        ),
        (
            "/ajax-api/2.0/mlflow/experiments/search-datasets",
            json!({}),
            "experiment_id",
        ),
    ];
    for (path, body, field) in posts {
        let (status, v) = app.post(path, body.clone()).await;
        assert_invalid(status, &v, field);
        let _ = (path, body);
    }
    let gets: [GetCase; 6] = [
        ("experiments/get", vec![], "experiment_id"),
        ("experiments/get-by-name", vec![], "experiment_name"),
        ("runs/get", vec![], "run_id"),
        (
            "metrics/get-history",
            vec![("run_id", run.as_str())],
            "metric_key",
        ),
        ("metrics/get-history", vec![("metric_key", "m")], "run_id"),
        (
            "metrics/get-history-bulk-interval",
            vec![("metric_key", "m")],
            "run_ids",
        ),
    ];
    for (path, params, field) in gets {
        let (status, v) = app.get_q(path, &params).await;
        assert_invalid(status, &v, field);
    }
}

#[tokio::test]
async fn unknown_runs_are_404() {
    let app = TestApp::new().await;
    let ghost = "0123456789abcdef0123456789abcdef";
    let posts = [
        (
            "runs/update",
            json!({"run_id": ghost, "status": "FINISHED"}),
        ),
        ("runs/delete", json!({"run_id": ghost})),
        ("runs/restore", json!({"run_id": ghost})),
        (
            "runs/log-metric",
            json!({"run_id": ghost, "key": "m", "value": 1, "timestamp": 1}),
        ),
        (
            "runs/log-parameter",
            json!({"run_id": ghost, "key": "p", "value": "v"}),
        ),
        (
            "runs/set-tag",
            json!({"run_id": ghost, "key": "t", "value": "v"}),
        ),
        ("runs/delete-tag", json!({"run_id": ghost, "key": "t"})),
        (
            "runs/log-batch",
            json!({"run_id": ghost, "params": [{"key": "p", "value": "v"}]}),
        ),
        ("runs/log-batch", json!({"run_id": ghost})),
        ("runs/log-inputs", json!({"run_id": ghost})),
        (
            "runs/outputs",
            json!({"run_id": ghost, "models": [{"model_id": "m"}]}),
        ),
    ];
    for (path, body) in posts {
        let (status, v) = app.post(path, body).await;
        assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
        assert!(
            v["message"].as_str().unwrap_or_default().contains(ghost),
            "{path}: {v}"
        );
    }
    let (status, v) = app.get_q("runs/get", &[("run_id", ghost)]).await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    // As in the reference, an unknown run has an empty history rather than a 404.
    let v = app
        .ok_get(
            "metrics/get-history",
            &[("run_id", ghost), ("metric_key", "m")],
        )
        .await;
    assert_eq!(v, json!({}));
    let v = app
        .ok_get(
            "metrics/get-history-bulk-interval",
            &[("run_ids", ghost), ("metric_key", "m")],
        )
        .await;
    assert_eq!(v, json!({}));
}

#[tokio::test]
async fn unknown_experiments_are_404() {
    let app = TestApp::new().await;
    let posts = [
        ("runs/create", json!({"experiment_id": "424242"})),
        (
            "experiments/update",
            json!({"experiment_id": "424242", "new_name": "n"}),
        ),
        ("experiments/delete", json!({"experiment_id": "424242"})),
        ("experiments/restore", json!({"experiment_id": "424242"})),
        (
            "experiments/set-experiment-tag",
            json!({"experiment_id": "424242", "key": "k", "value": "v"}),
        ),
        (
            "experiments/delete-experiment-tag",
            json!({"experiment_id": "424242", "key": "k"}),
        ),
    ];
    for (path, body) in posts {
        let (status, v) = app.post(path, body).await;
        assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
        let _ = path;
    }
    let (status, v) = app
        .get_q("experiments/get", &[("experiment_id", "424242")])
        .await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(v["message"], "No Experiment with id=424242 exists");
    let (status, v) = app
        .get_q("experiments/get-by-name", &[("experiment_name", "nope 😀")])
        .await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(
        v["message"],
        "Could not find experiment with name 'nope 😀'"
    );
    // Searching runs of unknown experiments finds nothing.
    let v = app
        .ok_post("runs/search", json!({"experiment_ids": ["424242"]}))
        .await;
    assert_eq!(v, json!({}));
}

#[tokio::test]
async fn non_integer_experiment_ids_are_400() {
    let app = TestApp::new().await;
    for bad in [
        "abc",
        "-1",
        "1.5",
        " 1",
        "1 ",
        "0x10",
        "１",
        "99999999999999999999",
        "1;DROP",
    ] {
        let (status, v) = app
            .get_q("experiments/get", &[("experiment_id", bad)])
            .await;
        assert_invalid(status, &v, "");
        for (path, body) in [
            ("runs/create", json!({"experiment_id": bad})),
            ("runs/search", json!({"experiment_ids": ["0", bad]})),
            ("experiments/delete", json!({"experiment_id": bad})),
            (
                "experiments/update",
                json!({"experiment_id": bad, "new_name": "n"}),
            ),
            (
                "experiments/set-experiment-tag",
                json!({"experiment_id": bad, "key": "k", "value": "v"}),
            ),
            (
                "/ajax-api/2.0/mlflow/experiments/search-datasets",
                json!({"experiment_ids": [bad]}),
            ),
        ] {
            let (status, v) = app.post(path, body).await;
            assert_invalid(status, &v, "");
            assert!(
                v["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("xperiment"),
                "{path} {bad}: {v}"
            );
        }
    }
}

#[tokio::test]
async fn huge_bodies_are_rejected_without_a_5xx() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    // Over the 16 MiB body limit: a long string value.
    let mut body = format!(r#"{{"run_id":"{run}","key":"p","value":""#).into_bytes();
    body.extend(std::iter::repeat_n(b'a', 17 * 1024 * 1024));
    body.extend(br#""}"#);
    let (status, v) = app.post_bytes("runs/log-parameter", body).await;
    assert_4xx(status, &v, "17 MiB log-parameter");
    // log-batch over 1 MB but otherwise valid.
    let value = "v".repeat(5000);
    let params: Vec<Value> = (0..100)
        .map(|i| json!({"key": format!("p{i}"), "value": value}))
        .collect();
    let tags: Vec<Value> = (0..100)
        .map(|i| json!({"key": format!("t{i}"), "value": "x".repeat(6000)}))
        .collect();
    let body = json!({"run_id": run, "params": params, "tags": tags});
    assert!(serde_json::to_vec(&body).map(|b| b.len()).unwrap_or(0) > 1_000_000);
    let (status, v) = app.post("runs/log-batch", body).await;
    assert_invalid(status, &v, "1000000");
    assert!(app.run(&run).await["data"].get("params").is_none());
}

#[tokio::test]
async fn absurd_keys_are_rejected_everywhere() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let long = "k".repeat(251);
    let bad_keys = [
        long.as_str(),
        "../x",
        "a/../b",
        "/abs",
        "a/",
        "a//b",
        "./a",
        ".",
        "a\\b",
        "a\0b",
        "a\nb",
        "tab\tkey",
        "a;b",
        "a?b",
        "a#b",
        "a%2e",
        "key😀",
        "",
    ];
    for key in bad_keys {
        for (path, body) in [
            (
                "runs/log-metric",
                json!({"run_id": run, "key": key, "value": 1, "timestamp": 1}),
            ),
            (
                "runs/log-parameter",
                json!({"run_id": run, "key": key, "value": "v"}),
            ),
            (
                "runs/set-tag",
                json!({"run_id": run, "key": key, "value": "v"}),
            ),
            (
                "runs/log-batch",
                json!({"run_id": run, "metrics": [{"key": key, "value": 1, "timestamp": 1}]}),
            ),
            (
                "runs/log-batch",
                json!({"run_id": run, "params": [{"key": key, "value": "v"}]}),
            ),
            (
                "runs/log-batch",
                json!({"run_id": run, "tags": [{"key": key, "value": "v"}]}),
            ),
            (
                "runs/create",
                json!({"experiment_id": "0", "tags": [{"key": key, "value": "v"}]}),
            ),
        ] {
            let (status, v) = app.post(path, body).await;
            assert_invalid(status, &v, "");
            let _ = (path, key);
        }
    }
    let data = app.run(&run).await["data"].clone();
    assert!(
        data.get("metrics").is_none() && data.get("params").is_none(),
        "{data}"
    );
    assert_eq!(array(&data["tags"]).len(), 1, "only mlflow.runName: {data}");
}

#[tokio::test]
async fn keys_of_exactly_the_limit_and_legal_odd_keys_are_accepted() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let max = "k".repeat(250);
    for key in [
        max.as_str(),
        "a/b/c",
        "loss val",
        "x:y",
        "a.b-c_d",
        "..a",
        "a..b",
        "métrique",
        "损失",
    ] {
        app.ok_post(
            "runs/log-metric",
            json!({"run_id": run, "key": key, "value": 1, "timestamp": 1}),
        )
        .await;
        app.ok_post(
            "runs/log-parameter",
            json!({"run_id": run, "key": key, "value": key}),
        )
        .await;
        app.ok_post(
            "runs/set-tag",
            json!({"run_id": run, "key": key, "value": key}),
        )
        .await;
        assert_eq!(app.history(&run, key).await.len(), 1, "{key}");
    }
}

#[tokio::test]
async fn negative_timestamps_are_rejected_and_negative_steps_allowed() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let (status, v) = app
        .post(
            "runs/log-metric",
            json!({"run_id": run, "key": "loss", "value": 1, "timestamp": -1}),
        )
        .await;
    assert_invalid(status, &v, "timestamp");
    let (status, v) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run, "metrics": [{"key": "loss", "value": 1, "timestamp": i64::MIN}]}),
        )
        .await;
    assert_invalid(status, &v, "timestamp");
    app.log_metric(&run, "loss", json!(1), 0, -5).await;
    assert_eq!(app.history(&run, "loss").await[0]["step"], -5);
    // Odd run times are stored as given, never a 5xx.
    for body in [
        json!({"experiment_id": "0", "start_time": -1}),
        json!({"experiment_id": "0", "start_time": i64::MAX}),
    ] {
        let (status, v) = app.post("runs/create", body.clone()).await;
        assert!(!status.is_server_error(), "{body}: {v}");
    }
    let (status, v) = app
        .post("runs/update", json!({"run_id": run, "end_time": i64::MIN}))
        .await;
    assert!(!status.is_server_error(), "{v}");
}

#[tokio::test]
async fn out_of_range_numbers_are_400() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    for body in [
        r#"{"run_id":"RUN","key":"m","value":1,"timestamp":9223372036854775808}"#,
        r#"{"run_id":"RUN","key":"m","value":1,"timestamp":"9223372036854775808"}"#,
        r#"{"run_id":"RUN","key":"m","value":1,"timestamp":1e30}"#,
        r#"{"run_id":"RUN","key":"m","value":1e999,"timestamp":1}"#,
        r#"{"run_id":"RUN","key":"m","value":"1e999x","timestamp":1}"#,
        r#"{"run_id":"RUN","key":"m","value":1,"timestamp":1,"step":-9223372036854775809}"#,
    ] {
        let body = body.replace("RUN", &run);
        let (status, v) = app
            .post_bytes("runs/log-metric", body.clone().into_bytes())
            .await;
        assert_4xx(status, &v, &body);
    }
    assert!(app.history(&run, "m").await.is_empty());
}

#[tokio::test]
async fn invalid_view_types_and_statuses_are_400() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    for bad in [
        json!("BOGUS"),
        json!("active_only"),
        json!(0),
        json!(4),
        json!(""),
        json!(true),
    ] {
        let (status, v) = app
            .post(
                "runs/search",
                json!({"experiment_ids": ["0"], "run_view_type": bad}),
            )
            .await;
        assert_invalid(status, &v, "view type");
        let (status, v) = app
            .post("experiments/search", json!({"view_type": bad}))
            .await;
        assert_invalid(status, &v, "view type");
    }
    let (status, v) = app
        .get_q("experiments/search", &[("view_type", "NOPE")])
        .await;
    assert_invalid(status, &v, "NOPE");
    for bad in [
        json!("BOGUS"),
        json!("finished"),
        json!(0),
        json!(6),
        json!([]),
    ] {
        let (status, v) = app
            .post("runs/update", json!({"run_id": run, "status": bad}))
            .await;
        assert_4xx(status, &v, &bad.to_string());
    }
    assert_eq!(app.run(&run).await["info"]["status"], "RUNNING");
}

#[tokio::test]
async fn bad_page_tokens_are_400() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.log_metric(&run, "m", json!(1), 1, 0).await;
    for token in [
        "garbage",
        "!!!",
        "eyJvZmZzZXQiOiAxfQ==",
        "a2VlbDpvZmZzZXQ6LTE",
        "a2VlbDpvZmZzZXQ6",
        "😀",
        "%00",
    ] {
        let (status, v) = app
            .post(
                "runs/search",
                json!({"experiment_ids": ["0"], "page_token": token}),
            )
            .await;
        assert_invalid(status, &v, "page token");
        let (status, v) = app
            .post("experiments/search", json!({"page_token": token}))
            .await;
        assert_invalid(status, &v, "page token");
        let (status, v) = app
            .get_q(
                "metrics/get-history",
                &[("run_id", &run), ("metric_key", "m"), ("page_token", token)],
            )
            .await;
        assert_invalid(status, &v, "page token");
    }
}

#[tokio::test]
async fn huge_page_offsets_are_empty_pages_not_overflows() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.log_metric(&run, "m", json!(1), 1, 0).await;
    for offset in [i64::MAX, i64::MAX - 1, 1 << 62] {
        let token = keel_core::paging::encode(offset);
        let v = app
            .ok_post(
                "runs/search",
                json!({"experiment_ids": ["0"], "page_token": token, "max_results": 50000}),
            )
            .await;
        assert_eq!(v, json!({}));
        let v = app
            .ok_post(
                "experiments/search",
                json!({"page_token": token, "max_results": 50000}),
            )
            .await;
        assert_eq!(v, json!({}));
        for max in [None, Some("25000"), Some("1")] {
            let mut params = vec![
                ("run_id", run.as_str()),
                ("metric_key", "m"),
                ("page_token", &token),
            ];
            if let Some(max) = max {
                params.push(("max_results", max));
            }
            let v = app.ok_get("metrics/get-history", &params).await;
            assert_eq!(v, json!({}), "{offset} {max:?}");
        }
    }
}

#[tokio::test]
async fn bad_filters_name_the_offending_token() {
    let app = TestApp::new().await;
    for (filter, needle) in [
        ("metrics.acc >>> 1", ">"),
        ("bogus.x = 1", "bogus"),
        ("params.p = 'unterminated", "unterminated"),
        ("metrics.acc > 'abc'", "abc"),
        ("attributes.nonexistent = 'x'", "nonexistent"),
        ("params.p = 'a' AND", "AND"),
        ("params.p = 'a' OR params.q = 'b'", "OR"),
        ("metrics.acc = = 1", "="),
        ("tags.t LIKE 5", "5"),
        ("params.p IN ('a'", "("),
        (
            "(((((((((((((((((((((((((((((((((((((((((((((((((((((((",
            "(",
        ),
    ] {
        let (status, v) = app
            .post(
                "runs/search",
                json!({"experiment_ids": ["0"], "filter": filter}),
            )
            .await;
        assert_invalid(status, &v, "");
        let message = v["message"].as_str().unwrap_or_default();
        assert!(
            message.to_lowercase().contains(&needle.to_lowercase()),
            "{filter}: {message}"
        );
    }
    for filter in [
        "name = ",
        "bogus = 'x'",
        "tags.x = 'a' AND AND",
        "name LIKE 5",
    ] {
        let (status, v) = app
            .post("experiments/search", json!({"filter": filter}))
            .await;
        assert_invalid(status, &v, "");
    }
}

#[tokio::test]
async fn bad_order_by_is_400() {
    let app = TestApp::new().await;
    for clause in [
        "metrics.acc DESCC",
        "bogus.x",
        "metrics.",
        "start_time ASC DESC",
        "params.p = 1",
        "'",
    ] {
        let (status, v) = app
            .post(
                "runs/search",
                json!({"experiment_ids": ["0"], "order_by": [clause]}),
            )
            .await;
        assert_invalid(status, &v, clause);
        let (status, v) = app
            .post("experiments/search", json!({"order_by": [clause]}))
            .await;
        assert_invalid(status, &v, clause);
    }
}

#[tokio::test]
async fn max_results_bounds() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.log_metric(&run, "m", json!(1), 1, 0).await;
    for bad in [
        json!(0),
        json!(-1),
        json!(50001),
        json!(i64::MAX),
        json!("0"),
    ] {
        let (status, v) = app
            .post(
                "runs/search",
                json!({"experiment_ids": ["0"], "max_results": bad}),
            )
            .await;
        assert_invalid(status, &v, "max_results");
        let (status, v) = app
            .post("experiments/search", json!({"max_results": bad}))
            .await;
        assert_invalid(status, &v, "max_results");
    }
    for bad in ["0", "-5", "25001", "9223372036854775807"] {
        let (status, v) = app
            .get_q(
                "metrics/get-history",
                &[("run_id", &run), ("metric_key", "m"), ("max_results", bad)],
            )
            .await;
        assert_invalid(status, &v, "max_results");
    }
    for bad in ["0", "2501", "-1"] {
        let (status, v) = app
            .get_q(
                "metrics/get-history-bulk-interval",
                &[("run_ids", &run), ("metric_key", "m"), ("max_results", bad)],
            )
            .await;
        assert_invalid(status, &v, "max_results");
    }
    // The limits themselves are fine.
    app.ok_post(
        "runs/search",
        json!({"experiment_ids": ["0"], "max_results": 50000}),
    )
    .await;
    app.ok_post("experiments/search", json!({"max_results": "50000"}))
        .await;
}

#[tokio::test]
async fn unicode_values_round_trip() {
    let app = TestApp::new().await;
    let name = "实验 🧪 — naïve";
    let exp = app.create_experiment(name).await;
    let e = app
        .ok_get("experiments/get-by-name", &[("experiment_name", name)])
        .await;
    assert_eq!(e["experiment"]["experiment_id"], exp.as_str());
    let run = app
        .create_run_with(
            json!({"experiment_id": exp, "run_name": "прогон 🚀", "user_id": "ユーザー"}),
        )
        .await;
    app.ok_post(
        "runs/log-parameter",
        json!({"run_id": run, "key": "emoji", "value": "😀🚀\u{200d}👩‍🔬"}),
    )
    .await;
    app.ok_post(
        "runs/set-tag",
        json!({"run_id": run, "key": "note", "value": "\u{0007}bell, \"quotes\" \\ 改行\n"}),
    )
    .await;
    app.ok_post(
        "experiments/set-experiment-tag",
        json!({"experiment_id": exp, "key": "desc", "value": "🧪"}),
    )
    .await;
    let r = app.run(&run).await;
    assert_eq!(r["info"]["run_name"], "прогон 🚀");
    assert_eq!(r["info"]["user_id"], "ユーザー");
    assert_eq!(tag(&r["data"]["params"], "emoji"), Some("😀🚀\u{200d}👩‍🔬"));
    assert_eq!(
        tag(&r["data"]["tags"], "note"),
        Some("\u{0007}bell, \"quotes\" \\ 改行\n")
    );
    let ids = app
        .search_run_ids(
            json!({"experiment_ids": [exp], "filter": "params.emoji = '😀🚀\u{200d}👩‍🔬'"}),
        )
        .await;
    assert_eq!(ids, vec![run.clone()]);
    let ids = app
        .search_run_ids(
            json!({"experiment_ids": [exp], "filter": "attributes.run_name LIKE '%🚀'"}),
        )
        .await;
    assert_eq!(ids, vec![run.clone()]);
    let e = app
        .ok_post("experiments/search", json!({"filter": "name LIKE '%🧪%'"}))
        .await;
    assert_eq!(array(&e["experiments"]).len(), 1);
    // Param values are truncated by characters, not bytes.
    app.ok_post(
        "runs/log-parameter",
        json!({"run_id": run, "key": "long", "value": "é".repeat(6001)}),
    )
    .await;
    let r = app.run(&run).await;
    let long = tag(&r["data"]["params"], "long").unwrap_or_default();
    assert_eq!(long.chars().count(), 6000);
}

/// `upload-artifact` reads its body with the reference's 10 MB cap; a body that breaks off
/// mid-stream is a 400 naming the failed read (not the size), and writes nothing.
#[tokio::test]
async fn an_upload_artifact_body_that_breaks_off_is_400_and_writes_nothing() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("broken-upload").await;
    let run = app.create_run(&exp).await;
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
        Ok(bytes::Bytes::from_static(b"the first part")),
        Err(std::io::Error::other("connection reset")),
    ];
    let req = axum::http::Request::post(format!(
        "/ajax-api/2.0/mlflow/upload-artifact?run_uuid={run}&path=broken.txt"
    ))
    .body(axum::body::Body::from_stream(futures_util::stream::iter(
        chunks,
    )))
    .expect("request");
    let raw = app.send(req).await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    let message = raw.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("could not be read"), "{message}");
    let listed = app.ok_get("artifacts/list", &[("run_id", &run)]).await;
    assert_eq!(listed.get("files"), None, "{listed}");
}

/// The reference's UI helper routes refuse malformed and out-of-range input with a 4xx naming
/// it: a negative, non-numeric or overflowing `max_results`, and traces that do not exist.
#[tokio::test]
async fn ui_helper_routes_refuse_bad_input_by_name() {
    let app = TestApp::new().await;
    let bulk = "/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=r&metric_key=m&max_results=";
    for (max, needle) in [
        ("-1", "max_results must be between 0 and 25000"),
        ("abc", "'max_results'"),
        ("99999999999999999999", "'max_results'"),
    ] {
        let (status, body) = app.get(&format!("{bulk}{max}")).await;
        assert_invalid(status, &body, needle);
    }
    for query in ["request_id=nope", "request_id=tr-0&path=a.txt"] {
        let (status, body) = app
            .get(&format!("/ajax-api/3.0/mlflow/get-trace-artifact?{query}"))
            .await;
        assert_error(
            status,
            &body,
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        );
    }
}
