//! Logged-model routes on the wire: response shapes (enum names, `artifact_uri`), errors, tag
//! keys with slashes, search bodies as the client sends them, and `runs/log-model`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const MODELS: &str = "/api/2.0/mlflow/logged-models";

async fn create_model(app: &TestApp, body: Value) -> Value {
    app.ok_post(MODELS, body).await["model"].clone()
}

async fn send_json(app: &TestApp, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let raw = app
        .raw(method, path, body.to_string(), Some("application/json"))
        .await;
    (raw.status, raw.json())
}

#[tokio::test]
async fn create_get_and_finalize_have_the_reference_shape() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("wire-models").await;
    let run_id = app.create_run(&exp).await;
    let model = create_model(
        &app,
        json!({"experiment_id": exp, "name": "clf", "source_run_id": run_id, "model_type": "Agent",
               "params": [{"key": "a", "value": "1"}], "tags": [{"key": "t", "value": "v"}]}),
    )
    .await;
    let id = model["info"]["model_id"]
        .as_str()
        .expect("model_id")
        .to_owned();
    assert!(id.starts_with("m-") && id.len() == 34, "{id}");
    assert_eq!(model["info"]["status"], "LOGGED_MODEL_PENDING");
    assert_eq!(model["info"]["experiment_id"], exp);
    assert_eq!(
        model["info"]["artifact_uri"],
        format!("mlflow-artifacts:/{exp}/models/{id}/artifacts")
    );
    assert_eq!(model["info"]["tags"], json!([{"key": "t", "value": "v"}]));
    assert_eq!(model["data"]["params"], json!([{"key": "a", "value": "1"}]));

    let (status, body) = send_json(
        &app,
        Method::PATCH,
        &format!("{MODELS}/{id}"),
        json!({"model_id": id, "status": "LOGGED_MODEL_READY"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model"]["info"]["status"], "LOGGED_MODEL_READY");
    let (status, body) = send_json(
        &app,
        Method::PATCH,
        &format!("{MODELS}/{id}"),
        json!({"status": "READY"}),
    )
    .await;
    assert_invalid(status, &body, "status");

    let got = app.ok_get(&format!("{MODELS}/{id}"), &[]).await;
    assert_eq!(got["model"]["info"]["status"], "LOGGED_MODEL_READY");
    let (status, body) = app.get(&format!("{MODELS}/m-doesnotexist")).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

#[tokio::test]
async fn delete_hides_the_model_unless_allow_deleted() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("wire-delete").await;
    let id = create_model(&app, json!({"experiment_id": exp})).await["info"]["model_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) =
        send_json(&app, Method::DELETE, &format!("{MODELS}/{id}"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.get(&format!("{MODELS}/{id}")).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let got = app
        .ok_get(&format!("{MODELS}/{id}"), &[("allow_deleted", "true")])
        .await;
    assert_eq!(got["model"]["info"]["model_id"], id);
}

#[tokio::test]
async fn tags_with_slashes_in_keys_can_be_deleted() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("wire-tags").await;
    let id = create_model(&app, json!({"experiment_id": exp})).await["info"]["model_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = send_json(
        &app,
        Method::PATCH,
        &format!("{MODELS}/{id}/tags"),
        json!({"tags": [{"key": "a/b", "value": "1"}, {"key": "c", "value": "2"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send_json(
        &app,
        Method::DELETE,
        &format!("{MODELS}/{id}/tags/a/b"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = app.ok_get(&format!("{MODELS}/{id}"), &[]).await;
    assert_eq!(
        got["model"]["info"]["tags"],
        json!([{"key": "c", "value": "2"}])
    );
    let (status, body) = send_json(
        &app,
        Method::DELETE,
        &format!("{MODELS}/{id}/tags/a/b"),
        json!({}),
    )
    .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

#[tokio::test]
async fn search_takes_the_clients_body_and_rejects_bad_filters() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("wire-search").await;
    for name in ["b", "a", "c"] {
        create_model(&app, json!({"experiment_id": exp, "name": name})).await;
    }
    let body = app
        .ok_post(
            &format!("{MODELS}/search"),
            json!({"experiment_ids": [exp], "filter": "name != 'c'", "max_results": 1,
                   "order_by": [{"field_name": "name", "ascending": true}], "datasets": []}),
        )
        .await;
    let names: Vec<Value> = array(&body["models"])
        .iter()
        .map(|m| m["info"]["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("a")]);
    let token = body["next_page_token"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let body = app
        .ok_post(
            &format!("{MODELS}/search"),
            json!({"experiment_ids": [exp], "filter": "name != 'c'", "max_results": 1,
                   "order_by": [{"field_name": "name"}], "page_token": token}),
        )
        .await;
    assert_eq!(body["models"][0]["info"]["name"], "b");

    for (filter, needle) in [
        ("metrics.acc LIKE 'x'", "comparator"),
        ("name = 'a' OR name = 'b'", "filter"),
        ("nonsense = 'x'", "attribute"),
    ] {
        let (status, body) = app
            .post(
                &format!("{MODELS}/search"),
                json!({"experiment_ids": [exp], "filter": filter}),
            )
            .await;
        assert_invalid(status, &body, needle);
    }
    let (status, body) = app
        .post(
            &format!("{MODELS}/search"),
            json!({"experiment_ids": [exp], "order_by": [{"field_name": "tags.x"}]}),
        )
        .await;
    assert_invalid(status, &body, "order by");
}

#[tokio::test]
async fn runs_log_model_validates_and_appends() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("wire-log-model").await;
    let run_id = app.create_run(&exp).await;
    let model =
        json!({"artifact_path": "m", "flavors": {}, "utc_time_created": "t", "run_id": run_id});
    app.ok_post(
        "/api/2.0/mlflow/runs/log-model",
        json!({"run_id": run_id, "model_json": model.to_string()}),
    )
    .await;
    let run = app.run(&run_id).await;
    let history = tag(&run["data"]["tags"], "mlflow.log-model.history").expect("history tag");
    assert!(history.contains("\"artifact_path\":\"m\""), "{history}");
    let (status, body) = app
        .post(
            "/api/2.0/mlflow/runs/log-model",
            json!({"run_id": run_id, "model_json": "{nope"}),
        )
        .await;
    assert_invalid(status, &body, "not a valid JSON");
    let (status, body) = app
        .post("/api/2.0/mlflow/runs/log-model", json!({"run_id": run_id}))
        .await;
    assert_invalid(status, &body, "model_json");
}

#[tokio::test]
async fn model_artifacts_list_and_download_inside_the_models_folder() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("wire-model-artifacts").await;
    let model = create_model(&app, json!({"experiment_id": exp})).await;
    let id = model["info"]["model_id"].as_str().expect("id").to_owned();
    let root = model["info"]["artifact_uri"]
        .as_str()
        .and_then(|u| u.strip_prefix("mlflow-artifacts:/"))
        .expect("proxied artifact root")
        .to_owned();
    for (file, body) in [("MLmodel", "flavors: {}"), ("data/weights.bin", "0101")] {
        let raw = app
            .raw(
                Method::PUT,
                &format!("/api/2.0/mlflow-artifacts/artifacts/{root}/{file}"),
                body.to_owned(),
                None,
            )
            .await;
        assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    }

    let dirs = format!("{MODELS}/{id}/artifacts/directories");
    let listed = app.ok_get(&dirs, &[]).await;
    assert_eq!(listed["root_uri"], model["info"]["artifact_uri"]);
    let paths: Vec<Value> = array(&listed["files"])
        .iter()
        .map(|f| f["path"].clone())
        .collect();
    assert_eq!(paths, vec![json!("MLmodel"), json!("data")]);
    let nested = app
        .ok_get(&dirs, &[("artifact_directory_path", "data")])
        .await;
    assert_eq!(nested["files"][0]["path"], "data/weights.bin");
    assert_eq!(nested["files"][0]["file_size"], 4);

    let files = format!("/ajax-api/2.0/mlflow/logged-models/{id}/artifacts/files");
    let raw = app
        .raw(
            Method::GET,
            &format!(
                "{files}?{}",
                query(&[("artifact_file_path", "data/weights.bin")])
            ),
            "",
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.body, b"0101");
    let (status, body) = app.get(&files).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "BAD_REQUEST");
    for escape in ["../../../secret", "/etc/passwd", "a/../../b"] {
        let (status, body) = app.get_q(&files, &[("artifact_file_path", escape)]).await;
        assert_4xx(status, &body, escape);
        let (status, body) = app
            .get_q(&dirs, &[("artifact_directory_path", escape)])
            .await;
        assert_4xx(status, &body, escape);
    }
    let (status, body) = app
        .get(&format!("{MODELS}/m-unknown/artifacts/directories"))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
}
