//! Tracking semantics over HTTP: params, latest metrics, run names, lifecycles, tags, inputs.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn params_are_immutable() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.ok_post(
        "runs/log-parameter",
        json!({"run_id": run, "key": "lr", "value": "0.1"}),
    )
    .await;
    app.ok_post(
        "runs/log-parameter",
        json!({"run_id": run, "key": "lr", "value": "0.1"}),
    )
    .await;
    let (status, v) = app
        .post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "lr", "value": "0.2"}),
        )
        .await;
    assert_invalid(status, &v, "Changing param values is not allowed");
    let message = v["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("0.1") && message.contains("0.2"),
        "{message}"
    );
    let r = app.run(&run).await;
    assert_eq!(r["data"]["params"], json!([{"key": "lr", "value": "0.1"}]));
    // A number value is refused, as on the reference (only log-batch stringifies it).
    let (status, body) = app
        .post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "n", "value": 5}),
        )
        .await;
    assert_invalid(
        status,
        &body,
        "Invalid value 5 for parameter 'value' supplied:  Hint",
    );
    app.ok_post(
        "runs/log-parameter",
        json!({"run_id": run, "key": "n", "value": "5"}),
    )
    .await;
}

#[tokio::test]
async fn latest_metric_is_the_max_of_step_timestamp_value() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.log_metric(&run, "m", json!(1), 100, 1).await;
    app.log_metric(&run, "m", json!(3), 50, 3).await;
    app.log_metric(&run, "m", json!(2), 200, 2).await;
    let latest = |r: Value| {
        array(&r["data"]["metrics"])
            .into_iter()
            .find(|m| m["key"] == "m")
            .expect("m")
    };
    let m = latest(app.run(&run).await);
    assert_eq!(
        (m["value"].clone(), m["step"].clone()),
        (json!(3.0), json!(3))
    );
    assert_eq!(m["timestamp"], 50);
    // Same step, later timestamp wins even with a smaller value.
    app.log_metric(&run, "m", json!(-1), 60, 3).await;
    assert_eq!(latest(app.run(&run).await)["value"], -1.0);
    // Same step and timestamp: the larger value wins.
    app.log_metric(&run, "m", json!(-0.5), 60, 3).await;
    assert_eq!(latest(app.run(&run).await)["value"], -0.5);
    app.log_metric(&run, "m", json!(-0.9), 60, 3).await;
    assert_eq!(latest(app.run(&run).await)["value"], -0.5);
    // Exact duplicates are stored once.
    app.log_metric(&run, "m", json!(-0.9), 60, 3).await;
    assert_eq!(app.history(&run, "m").await.len(), 6);
}

#[tokio::test]
async fn run_name_and_tag_stay_in_sync() {
    let app = TestApp::new().await;
    let name_of = |r: &Value| {
        (
            r["info"]["run_name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            tag(&r["data"]["tags"], "mlflow.runName").map(str::to_owned),
        )
    };
    // run_name on create sets the tag.
    let run = app
        .create_run_with(json!({"experiment_id": "0", "run_name": "alpha"}))
        .await;
    assert_eq!(
        name_of(&app.run(&run).await),
        ("alpha".into(), Some("alpha".into()))
    );
    // The tag alone on create sets the name.
    let run2 = app
        .create_run_with(
            json!({"experiment_id": "0", "tags": [{"key": "mlflow.runName", "value": "beta"}]}),
        )
        .await;
    assert_eq!(
        name_of(&app.run(&run2).await),
        ("beta".into(), Some("beta".into()))
    );
    // Both, agreeing, is fine; disagreeing is a 400.
    app.create_run_with(json!({"experiment_id": "0", "run_name": "g",
        "tags": [{"key": "mlflow.runName", "value": "g"}]}))
        .await;
    let (status, v) = app
        .post(
            "runs/create",
            json!({"experiment_id": "0", "run_name": "x",
                "tags": [{"key": "mlflow.runName", "value": "y"}]}),
        )
        .await;
    assert_invalid(status, &v, "mlflow.runName");
    // runs/update renames and updates the tag; an empty name changes nothing.
    let v = app
        .ok_post("runs/update", json!({"run_id": run, "run_name": "gamma"}))
        .await;
    assert_eq!(v["run_info"]["run_name"], "gamma");
    assert_eq!(
        name_of(&app.run(&run).await),
        ("gamma".into(), Some("gamma".into()))
    );
    app.ok_post("runs/update", json!({"run_id": run, "run_name": ""}))
        .await;
    assert_eq!(
        name_of(&app.run(&run).await),
        ("gamma".into(), Some("gamma".into()))
    );
    // set-tag renames.
    app.ok_post(
        "runs/set-tag",
        json!({"run_id": run, "key": "mlflow.runName", "value": "delta"}),
    )
    .await;
    assert_eq!(
        name_of(&app.run(&run).await),
        ("delta".into(), Some("delta".into()))
    );
    // log-batch tags rename.
    app.ok_post(
        "runs/log-batch",
        json!({"run_id": run, "tags": [{"key": "mlflow.runName", "value": "epsilon"}]}),
    )
    .await;
    assert_eq!(
        name_of(&app.run(&run).await),
        ("epsilon".into(), Some("epsilon".into()))
    );
    // Deleting the tag keeps the name.
    app.ok_post(
        "runs/delete-tag",
        json!({"run_id": run, "key": "mlflow.runName"}),
    )
    .await;
    assert_eq!(name_of(&app.run(&run).await), ("epsilon".into(), None));
    // Search sees the synced name.
    let ids = app
        .search_run_ids(
            json!({"experiment_ids": ["0"], "filter": "attributes.run_name = 'epsilon'"}),
        )
        .await;
    assert_eq!(ids, vec![run]);
}

#[tokio::test]
async fn nested_runs_are_found_by_parent_tag() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("nest").await;
    let parent = app.create_run(&exp).await;
    let child = app
        .create_run_with(json!({"experiment_id": exp,
            "tags": [{"key": "mlflow.parentRunId", "value": parent}]}))
        .await;
    let grandchild = app.create_run(&exp).await;
    app.ok_post(
        "runs/set-tag",
        json!({"run_id": grandchild, "key": "mlflow.parentRunId", "value": child}),
    )
    .await;
    let ids = app
        .search_run_ids(json!({"experiment_ids": [exp],
            "filter": format!("tags.mlflow.parentRunId = '{parent}'")}))
        .await;
    assert_eq!(ids, vec![child.clone()]);
    let ids = app
        .search_run_ids(json!({"experiment_ids": [exp],
            "filter": format!("tags.`mlflow.parentRunId` = '{child}'")}))
        .await;
    assert_eq!(ids, vec![grandchild]);
    let mut all = app
        .search_run_ids(json!({"experiment_ids": [exp], "filter": "tags.mlflow.parentRunId != ''"}))
        .await;
    all.sort();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn deleted_runs_are_visible_by_view_type() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("views").await;
    let keep = app.create_run(&exp).await;
    let gone = app.create_run(&exp).await;
    app.ok_post("runs/delete", json!({"run_id": gone})).await;
    app.ok_post("runs/delete", json!({"run_id": gone})).await;
    let ids = |view: Option<&str>| {
        let mut body = json!({"experiment_ids": [exp]});
        if let Some(v) = view {
            body["run_view_type"] = json!(v);
        }
        body
    };
    assert_eq!(app.search_run_ids(ids(None)).await, vec![keep.clone()]);
    assert_eq!(
        app.search_run_ids(ids(Some("ACTIVE_ONLY"))).await,
        vec![keep.clone()]
    );
    assert_eq!(
        app.search_run_ids(ids(Some("DELETED_ONLY"))).await,
        vec![gone.clone()]
    );
    assert_eq!(app.search_run_ids(ids(Some("ALL"))).await.len(), 2);
    let r = app.run(&gone).await;
    assert_eq!(r["info"]["lifecycle_stage"], "deleted");
    assert_eq!(r["info"]["status"], "RUNNING");
    assert!(r["info"].get("deleted_time").is_none());
    app.ok_post("runs/restore", json!({"run_id": gone})).await;
    app.ok_post("runs/restore", json!({"run_id": gone})).await;
    assert_eq!(app.search_run_ids(ids(None)).await.len(), 2);
    assert_eq!(app.run(&gone).await["info"]["lifecycle_stage"], "active");
}

#[tokio::test]
async fn experiment_lifecycle_and_view_types() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("lifecycle").await;
    let run = app.create_run(&exp).await;
    let names = |v: Value| -> Vec<String> {
        let mut n: Vec<String> = array(&v["experiments"])
            .iter()
            .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        n.sort();
        n
    };
    app.ok_post("experiments/delete", json!({"experiment_id": exp}))
        .await;
    let active = app.ok_post("experiments/search", json!({})).await;
    assert_eq!(names(active), ["Default"]);
    let deleted = app
        .ok_post("experiments/search", json!({"view_type": "DELETED_ONLY"}))
        .await;
    assert_eq!(names(deleted), ["lifecycle"]);
    let all = app
        .ok_get("experiments/search", &[("view_type", "ALL")])
        .await;
    assert_eq!(names(all), ["Default", "lifecycle"]);
    let e = app
        .ok_get("experiments/get", &[("experiment_id", &exp)])
        .await;
    assert_eq!(e["experiment"]["lifecycle_stage"], "deleted");
    // The runs went with it and come back with it.
    assert_eq!(app.run(&run).await["info"]["lifecycle_stage"], "deleted");
    let (status, v) = app.post("runs/create", json!({"experiment_id": exp})).await;
    assert_invalid(status, &v, "must be in the 'active' state");
    let (status, v) = app
        .post("experiments/delete", json!({"experiment_id": exp}))
        .await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    let (status, v) = app
        .post(
            "experiments/update",
            json!({"experiment_id": exp, "new_name": "x"}),
        )
        .await;
    assert_4xx(status, &v, "rename a deleted experiment");
    // The name is still taken.
    let (status, v) = app
        .post("experiments/create", json!({"name": "lifecycle"}))
        .await;
    assert_error(
        status,
        &v,
        StatusCode::BAD_REQUEST,
        "RESOURCE_ALREADY_EXISTS",
    );
    app.ok_post("experiments/restore", json!({"experiment_id": exp}))
        .await;
    assert_eq!(app.run(&run).await["info"]["lifecycle_stage"], "active");
    let (status, v) = app
        .post("experiments/restore", json!({"experiment_id": exp}))
        .await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn experiment_names_are_unique_and_renames_check() {
    let app = TestApp::new().await;
    let a = app.create_experiment("a").await;
    app.create_experiment("b").await;
    let (status, v) = app.post("experiments/create", json!({"name": "a"})).await;
    assert_error(
        status,
        &v,
        StatusCode::BAD_REQUEST,
        "RESOURCE_ALREADY_EXISTS",
    );
    let (status, v) = app
        .post(
            "experiments/update",
            json!({"experiment_id": a, "new_name": "b"}),
        )
        .await;
    assert_4xx(status, &v, "rename onto an existing name");
    for bad in [json!(""), json!("   "), json!("n".repeat(501))] {
        let (status, v) = app
            .post(
                "experiments/update",
                json!({"experiment_id": a, "new_name": bad}),
            )
            .await;
        assert_invalid(status, &v, "");
        let (status, v) = app.post("experiments/create", json!({"name": bad})).await;
        assert_invalid(status, &v, "");
    }
    app.ok_post(
        "experiments/update",
        json!({"experiment_id": a, "new_name": "a2"}),
    )
    .await;
    let e = app
        .ok_get("experiments/get", &[("experiment_id", &a)])
        .await;
    assert_eq!(e["experiment"]["name"], "a2");
    // The default experiment can be renamed like the reference's SQL store allows.
    app.ok_post(
        "experiments/update",
        json!({"experiment_id": "0", "new_name": "Zero"}),
    )
    .await;
}

#[tokio::test]
async fn experiment_tags_set_overwrite_and_delete() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("tags").await;
    let set = |k: &str, v: &str| json!({"experiment_id": exp, "key": k, "value": v});
    app.ok_post("experiments/set-experiment-tag", set("k", "1"))
        .await;
    app.ok_post("experiments/set-experiment-tag", set("k", "2"))
        .await;
    app.ok_post(
        "experiments/set-experiment-tag",
        set("mlflow.note.content", "hi"),
    )
    .await;
    let e = app
        .ok_get("experiments/get", &[("experiment_id", &exp)])
        .await;
    assert_eq!(tag(&e["experiment"]["tags"], "k"), Some("2"));
    assert_eq!(array(&e["experiment"]["tags"]).len(), 2);
    app.ok_post(
        "experiments/delete-experiment-tag",
        json!({"experiment_id": exp, "key": "k"}),
    )
    .await;
    let (status, v) = app
        .post(
            "experiments/delete-experiment-tag",
            json!({"experiment_id": exp, "key": "k"}),
        )
        .await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    let found = app
        .ok_post(
            "experiments/search",
            json!({"filter": "tags.`mlflow.note.content` = 'hi'"}),
        )
        .await;
    assert_eq!(array(&found["experiments"]).len(), 1);
}

/// The reference accepts experiment tag values up to 20000 characters
/// (`MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000` in mlflow/utils/validation.py); long experiment
/// descriptions live in `mlflow.note.content`.
#[tokio::test]

async fn experiment_tag_values_up_to_20000_chars_are_accepted() {
    let app = TestApp::new().await;
    let value = "d".repeat(20_000);
    app.ok_post(
        "experiments/set-experiment-tag",
        json!({"experiment_id": "0", "key": "mlflow.note.content", "value": value}),
    )
    .await;
    let (status, v) = app
        .post(
            "experiments/set-experiment-tag",
            json!({"experiment_id": "0", "key": "k", "value": "d".repeat(20_001)}),
        )
        .await;
    assert_invalid(status, &v, "20000");
}

/// The reference validates experiment tag keys with the same name rules as run tags
/// (`_validate_experiment_tag` calls `_validate_tag_name`).
#[tokio::test]

async fn experiment_tag_keys_follow_the_tag_name_rules() {
    let app = TestApp::new().await;
    for key in ["../x", "/abs", "a\\b", "a\0b", "a\nb", "a//b"] {
        let (status, v) = app
            .post(
                "experiments/set-experiment-tag",
                json!({"experiment_id": "0", "key": key, "value": "v"}),
            )
            .await;
        assert_invalid(status, &v, "");
        let (status, v) = app
            .post(
                "experiments/create",
                json!({"name": format!("e{}", key.len()), "tags": [{"key": key, "value": "v"}]}),
            )
            .await;
        assert_invalid(status, &v, "");
    }
}

/// The reference rejects `runs:/` artifact locations: "Artifact location cannot be a runs:/ URI".
#[tokio::test]

async fn runs_uri_artifact_locations_are_rejected() {
    let app = TestApp::new().await;
    let (status, v) = app
        .post(
            "experiments/create",
            json!({"name": "x", "artifact_location": "runs:/0123/artifacts"}),
        )
        .await;
    assert_invalid(status, &v, "runs:/");
}

#[tokio::test]
async fn run_tags_delete_and_missing_tag_is_404() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    app.ok_post(
        "runs/set-tag",
        json!({"run_id": run, "key": "t", "value": "1"}),
    )
    .await;
    app.ok_post(
        "runs/set-tag",
        json!({"run_id": run, "key": "t", "value": "2"}),
    )
    .await;
    assert_eq!(tag(&app.run(&run).await["data"]["tags"], "t"), Some("2"));
    app.ok_post("runs/delete-tag", json!({"run_id": run, "key": "t"}))
        .await;
    let (status, v) = app
        .post("runs/delete-tag", json!({"run_id": run, "key": "t"}))
        .await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(tag(&app.run(&run).await["data"]["tags"], "t"), None);
    // Over-long tag values are truncated to 8000 characters.
    app.ok_post(
        "runs/set-tag",
        json!({"run_id": run, "key": "long", "value": "x".repeat(9000)}),
    )
    .await;
    let long = tag(&app.run(&run).await["data"]["tags"], "long")
        .unwrap_or_default()
        .len();
    assert_eq!(long, 8000);
}

#[tokio::test]
async fn create_run_defaults() {
    let app = TestApp::new().await;
    // No experiment_id means the default experiment; no start_time means now.
    let v = app.ok_post("runs/create", json!({})).await;
    let info = &v["run"]["info"];
    assert_eq!(info["experiment_id"], "0");
    assert!(
        info["start_time"].as_i64().unwrap_or(0) > 1_600_000_000_000,
        "{info}"
    );
    assert!(info.get("user_id").is_none(), "{info}");
    // Tags given on create are stored, duplicates keep the last value.
    let run = app
        .create_run_with(json!({"experiment_id": "0", "tags": [
            {"key": "mlflow.user", "value": "u"},
            {"key": "k", "value": "1"},
            {"key": "k", "value": "2"},
        ]}))
        .await;
    let tags = app.run(&run).await["data"]["tags"].clone();
    assert_eq!(tag(&tags, "k"), Some("2"));
    assert_eq!(tag(&tags, "mlflow.user"), Some("u"));
    assert_eq!(array(&tags).len(), 3);
}

#[tokio::test]
async fn inputs_outputs_and_dataset_search() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("data").await;
    let run = app.create_run(&exp).await;
    let dataset = json!({"name": "iris", "digest": "abc123", "source_type": "local",
        "source": "{\"uri\": \"/data\"}", "schema": "{}"});
    app.ok_post(
        "runs/log-inputs",
        json!({"run_id": run, "datasets": [
            {"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": dataset},
        ], "models": [{"model_id": "m-1"}]}),
    )
    .await;
    // Logging the same dataset again does not duplicate it.
    app.ok_post(
        "runs/log-inputs",
        json!({"run_id": run, "datasets": [
            {"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": dataset},
        ]}),
    )
    .await;
    app.ok_post(
        "runs/outputs",
        json!({"run_id": run, "models": [{"model_id": "m-2", "step": "3"}]}),
    )
    .await;
    let r = app.run(&run).await;
    let inputs = array(&r["inputs"]["dataset_inputs"]);
    assert_eq!(inputs.len(), 1, "{r}");
    assert_eq!(inputs[0]["dataset"]["name"], "iris");
    assert_eq!(r["inputs"]["model_inputs"], json!([{"model_id": "m-1"}]));
    assert_eq!(
        r["outputs"]["model_outputs"],
        json!([{"model_id": "m-2", "step": 3}])
    );
    let v = app
        .ok_post(
            "/ajax-api/2.0/mlflow/experiments/search-datasets",
            json!({"experiment_ids": [exp]}),
        )
        .await;
    assert_eq!(
        v["dataset_summaries"],
        json!([{"experiment_id": exp, "name": "iris", "digest": "abc123", "context": "training"}])
    );
    let ids: Vec<String> = (0..21).map(|i| i.to_string()).collect();
    let (status, v) = app
        .post(
            "/ajax-api/2.0/mlflow/experiments/search-datasets",
            json!({"experiment_ids": ids}),
        )
        .await;
    assert_invalid(status, &v, "20");
    // Over-long dataset fields are rejected.
    let (status, v) = app
        .post(
            "runs/log-inputs",
            json!({"run_id": run, "datasets": [{"dataset": {"name": "d", "digest": "x".repeat(37),
                "source_type": "local", "source": "s"}}]}),
        )
        .await;
    assert_invalid(status, &v, "digest");
}
